/*
 * redis_embedded.c - the embedded default: a private redis-server in the state directory.
 *
 * When the configuration names no Redis, the programs keep their state in a redis-server of
 * their own that listens on <state dir>/redis.sock only (--port 0), with the append-only file
 * on, and that outlives them (--daemonize yes) so the next program reuses it. Starting it:
 *
 *   lock (flock LOCK_NB on redis.lock, retried on a timer)
 *     -> the pidfile names a live redis-server: wait for its PING (it may be loading)
 *     -> else: uv_spawn redis-server, which forks and exits; wait for its PING
 *   -> unlock, answer
 *
 * The lock is held until the server answers, so a second starter (another process, or another
 * call on the same loop: flock conflicts between open files, not processes) waits and then
 * finds the server running. Waiting for PING is the Redis client itself (a quiet one that
 * reconnects every 25-50 ms, with the deadline as its command timeout). A server that dies
 * while we wait (the daemonizing parent exits non-zero, or the pidfile names a dead process)
 * fails the start at once; the error ends with the tail of its log.
 *
 * The daemon is not our child once its parent exited, so nothing here reaps it: a process that
 * has exited but was not reaped (a zombie, when PID 1 does not reap) counts as dead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "occo/util/log.h"
#include "occo/util/redis.h"

#define DEF_TIMEOUT_MS 10000
#define LOCK_RETRY_MS 20
#define STOP_POLL_MS 20
#define PROBE_BACKOFF_MS 50
#define LOG_TAIL_BYTES 600

/* The files of one state directory. */
struct paths {
	char *dir, *sock, *pidfile, *logfile, *lockfile;
};

static void paths_release(struct paths *p)
{
	free(p->dir);
	free(p->sock);
	free(p->pidfile);
	free(p->logfile);
	free(p->lockfile);
}

static int mkdir_p(const char *dir, struct occo_err *err)
{
	char *p = occo_strdup(dir);
	char *s = p;
	int rc = 0;
	char c;

	do {
		s += strspn(s, "/");
		s += strcspn(s, "/");
		c = *s;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST) {
			rc = occo_err_sys(err, OCCO_EIO, errno, "cannot create '%s'", p);
			break;
		}
		*s = c;
	} while (c);
	free(p);
	return rc;
}

/*
 * Name the files of a state directory, created first if `create` (absolute paths: redis-server
 * changes to --dir before it opens the others).
 */
static int paths_init(struct paths *p, const char *state_dir, int create, struct occo_err *err)
{
	struct sockaddr_un sun;
	char real[PATH_MAX];
	int rc;

	memset(p, 0, sizeof(*p));
	if (!state_dir || !*state_dir)
		return occo_err_set(err, OCCO_EINVAL, "embedded redis: no state directory");
	if (create && mkdir_p(state_dir, err) < 0)
		return occo_err_prefix(err, "embedded redis");
	if (!realpath(state_dir, real)) {
		if (create || strlen(state_dir) >= sizeof(real))
			return occo_err_sys(err, OCCO_EIO, errno,
					    "embedded redis: cannot resolve '%s'", state_dir);
		snprintf(real, sizeof(real), "%s", state_dir); /* missing: nothing runs there */
	}
	p->dir = occo_strdup(real);
	p->sock = occo_asprintf("%s/redis.sock", real);
	p->pidfile = occo_asprintf("%s/redis.pid", real);
	p->logfile = occo_asprintf("%s/redis.log", real);
	p->lockfile = occo_asprintf("%s/redis.lock", real);
	if (strlen(p->sock) >= sizeof(sun.sun_path)) {
		rc = occo_err_set(err, OCCO_EINVAL,
				  "embedded redis: state directory '%s' is too long for a unix "
				  "socket path (%zu bytes at most)",
				  real, sizeof(sun.sun_path) - sizeof("/redis.sock"));
		paths_release(p);
		return rc;
	}
	return 0;
}

/* The pid a pidfile names, or 0. */
static pid_t read_pidfile(const char *path)
{
	char buf[32];
	ssize_t n;
	long pid;
	char *end;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (end == buf || pid <= 1 || pid > INT_MAX)
		return 0;
	return (pid_t)pid;
}

/* Running, and not a zombie. */
static int pid_alive(pid_t pid)
{
	char path[64], buf[512], *s;
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1; /* no /proc: trust kill() */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	s = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return !(s && s[1] == ' ' && (s[2] == 'Z' || s[2] == 'X'));
}

/*
 * A live process that runs the server program: a pidfile left by a server that died may name
 * an unrelated process by now, which must be neither reused nor signalled.
 */
static int pid_is_server(pid_t pid, const char *server)
{
	const char *base = strrchr(server, '/') ? strrchr(server, '/') + 1 : server;
	char path[64], comm[32];
	ssize_t n;
	int fd;

	if (!pid_alive(pid))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1; /* no /proc: trust the pidfile */
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	/* the kernel keeps 15 bytes of the name */
	return strncmp(comm, base, 15) == 0;
}

/* Append "; log: <last lines>" of the server's log to an error. */
static void add_log_tail(struct occo_err *err, const char *logfile)
{
	char buf[LOG_TAIL_BYTES + 1], *s;
	size_t len;
	off_t size;
	ssize_t n;
	int fd;

	fd = open(logfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > LOG_TAIL_BYTES)
		lseek(fd, size - LOG_TAIL_BYTES, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, LOG_TAIL_BYTES);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	s = buf;
	if (size > LOG_TAIL_BYTES && strchr(s, '\n'))
		s = strchr(s, '\n') + 1; /* drop the cut first line */
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	for (char *q = s; *q; q++)
		if (*q == '\n')
			*q = '|';
	if (*s) {
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, "; log %s: %s", logfile, s);
	}
}

/* ---- start ---- */

struct emb {
	uv_loop_t *loop;
	struct paths p;
	char *server;
	unsigned timeout_ms;
	uint64_t lock_deadline;
	int lock_fd;
	uv_timer_t timer; /* lock retries */
	uv_process_t proc;
	int proc_open; /* proc is initialised and not closed */
	pid_t reuse_pid; /* the live server the pidfile named, or 0 */
	int spawned;
	struct occo_redis *probe;
	int pending; /* handles and probes not closed yet: freed at 0 after finishing */
	int finished;
	occo_redis_embedded_fn cb;
	void *ud;
};

static void emb_maybe_free(struct emb *e)
{
	if (!e->finished || e->pending > 0)
		return;
	paths_release(&e->p);
	free(e->server);
	free(e);
}

static void emb_handle_closed(uv_handle_t *h)
{
	struct emb *e = h->data;

	e->pending--;
	emb_maybe_free(e);
}

static void emb_probe_closed(void *ud)
{
	struct emb *e = ud;

	e->pending--;
	emb_maybe_free(e);
}

static void emb_close_probe(struct emb *e)
{
	struct occo_redis *probe = e->probe;

	if (!probe)
		return;
	e->probe = NULL;
	e->pending++;
	occo_redis_close(probe, emb_probe_closed, e); /* its PING gets ECANCELED: ignored */
}

/* Release the lock, answer the caller once, and let everything close. */
static void emb_finish(struct emb *e, const struct occo_err *err)
{
	if (e->finished)
		return;
	e->finished = 1;
	close(e->lock_fd); /* releases the flock */
	e->lock_fd = -1;
	emb_close_probe(e);
	uv_close((uv_handle_t *)&e->timer, emb_handle_closed);
	/* the daemonizing parent exits at once; proc_exited closes its handle */
	if (e->proc_open && err)
		uv_process_kill(&e->proc, SIGKILL);
	if (err) {
		e->cb(NULL, err, e->ud);
	} else {
		pid_t pid = read_pidfile(e->p.pidfile);
		char spid[16];

		snprintf(spid, sizeof(spid), "%d", (int)pid);
		if (e->spawned)
			OCCO_INFO("embedded redis started", OCCO_KV("socket", e->p.sock),
				  OCCO_KV("pid", spid));
		else
			OCCO_DEBUG("embedded redis reused", OCCO_KV("socket", e->p.sock),
				   OCCO_KV("pid", spid));
		e->cb(e->p.sock, NULL, e->ud);
	}
	emb_maybe_free(e);
}

static void emb_fail(struct emb *e, struct occo_err *err, int with_log)
{
	if (with_log)
		add_log_tail(err, e->p.logfile);
	emb_finish(e, err);
}

static void emb_spawn(struct emb *e);

static void probe_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			void *ud)
{
	struct emb *e = ud;
	struct occo_err fe;

	if (e->finished || r != e->probe)
		return;
	if (reply && reply->type == REDIS_REPLY_STATUS) {
		emb_finish(e, NULL);
		return;
	}
	if (reply)
		occo_err_set(&fe, OCCO_EPROTO, "embedded redis: PING on %s answered '%s'",
			     e->p.sock, reply->str ? reply->str : "?");
	else
		occo_err_set(&fe, err->code, "embedded redis: %s", err->msg);
	emb_fail(e, &fe, 1);
}

/* Each failed connect attempt of the probe: has the server died meanwhile? */
static void probe_state(struct occo_redis *r, int connected, const struct occo_err *err, void *ud)
{
	struct emb *e = ud;
	struct occo_err fe;
	pid_t pid;

	if (connected || e->finished || r != e->probe)
		return;
	if (e->reuse_pid && !pid_alive(e->reuse_pid)) {
		/* the server we meant to reuse went away: start one */
		OCCO_DEBUG("embedded redis exited while checked", OCCO_KV("socket", e->p.sock));
		e->reuse_pid = 0;
		emb_close_probe(e);
		emb_spawn(e);
		return;
	}
	pid = e->spawned ? read_pidfile(e->p.pidfile) : 0;
	if (pid && !pid_alive(pid)) {
		occo_err_set(&fe, OCCO_ECONN, "embedded redis: redis-server (pid %d) exited", pid);
		emb_fail(e, &fe, 1);
	}
}

/* Wait until the server answers PING, at most timeout_ms. */
static void emb_probe(struct emb *e)
{
	struct occo_redis_opts o;
	struct occo_err err;

	occo_redis_opts_init(&o);
	o.addr.path = e->p.sock;
	o.cmd_timeout_ms = e->timeout_ms;
	o.backoff_min_ms = PROBE_BACKOFF_MS;
	o.backoff_max_ms = PROBE_BACKOFF_MS;
	o.quiet = 1;
	o.on_state = probe_state;
	o.state_ud = e;
	if (occo_redis_open(e->loop, &o, &e->probe, &err) < 0 ||
	    occo_redis_command(e->probe, probe_reply, e, &err, "PING") < 0) {
		occo_err_prefix(&err, "embedded redis");
		emb_fail(e, &err, 0);
	}
}

static void proc_exited(uv_process_t *h, int64_t status, int sig)
{
	struct emb *e = h->data;
	struct occo_err err;

	e->proc_open = 0;
	uv_close((uv_handle_t *)h, emb_handle_closed);
	if (e->finished || (status == 0 && sig == 0))
		return; /* the daemon runs on: the probe waits for it */
	if (sig)
		occo_err_set(&err, OCCO_EIO, "embedded redis: %s killed by signal %d", e->server,
			     sig);
	else
		occo_err_set(&err, OCCO_EIO, "embedded redis: %s exited with status %d", e->server,
			     (int)status);
	emb_fail(e, &err, 1);
}

static void emb_spawn(struct emb *e)
{
	/* clang-format off */
	char *args[] = {
		e->server,
		"--port", "0",
		"--unixsocket", e->p.sock,
		"--unixsocketperm", "700",
		"--dir", e->p.dir,
		"--appendonly", "yes",
		"--pidfile", e->p.pidfile,
		"--logfile", e->p.logfile,
		"--daemonize", "yes",
		NULL,
	};
	/* clang-format on */
	uv_process_options_t po;
	uv_stdio_container_t stdio[3];
	struct occo_err err;
	int logfd, rc;

	/* what the parent prints before the log is open (config errors) goes to the log too */
	logfd = open(e->p.logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		occo_err_sys(&err, OCCO_EIO, errno, "embedded redis: cannot open '%s'",
			     e->p.logfile);
		emb_fail(e, &err, 0);
		return;
	}
	/* a pidfile that appears from now on is the new server's */
	unlink(e->p.pidfile);
	memset(&po, 0, sizeof(po));
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = logfd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = logfd;
	po.file = e->server;
	po.args = args;
	po.stdio = stdio;
	po.stdio_count = 3;
	po.exit_cb = proc_exited;
	e->proc.data = e;
	rc = uv_spawn(e->loop, &e->proc, &po);
	close(logfd);
	e->pending++; /* uv_spawn leaves an initialised handle behind even when it fails */
	if (rc < 0) {
		uv_close((uv_handle_t *)&e->proc, emb_handle_closed);
		occo_err_set(&err, rc == UV_ENOENT ? OCCO_ENOENT : OCCO_EIO,
			     "embedded redis: cannot run '%s': %s", e->server, uv_strerror(rc));
		emb_fail(e, &err, 0);
		return;
	}
	e->proc_open = 1;
	e->spawned = 1;
	OCCO_DEBUG("starting embedded redis", OCCO_KV("socket", e->p.sock),
		   OCCO_KV("server", e->server));
	emb_probe(e);
}

static void lock_retry(uv_timer_t *t)
{
	struct emb *e = t->data;
	struct occo_err err;

	if (flock(e->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			occo_err_sys(&err, OCCO_EIO, errno, "embedded redis: cannot lock '%s'",
				     e->p.lockfile);
			emb_fail(e, &err, 0);
		} else if (uv_now(e->loop) >= e->lock_deadline) {
			occo_err_set(&err, OCCO_EBUSY,
				     "embedded redis: '%s' is locked by another process for more "
				     "than %u ms",
				     e->p.lockfile, e->timeout_ms);
			emb_fail(e, &err, 0);
		} else {
			uv_timer_start(&e->timer, lock_retry, LOCK_RETRY_MS, 0);
		}
		return;
	}
	e->reuse_pid = read_pidfile(e->p.pidfile);
	if (e->reuse_pid && pid_is_server(e->reuse_pid, e->server)) {
		emb_probe(e);
		return;
	}
	e->reuse_pid = 0;
	emb_spawn(e);
}

int occo_redis_embedded_start(uv_loop_t *loop, const char *state_dir,
			      const struct occo_redis_embedded_opts *opts,
			      occo_redis_embedded_fn cb, void *ud, struct occo_err *err)
{
	struct paths p;
	struct emb *e;
	int fd;

	if (paths_init(&p, state_dir, 1, err) < 0)
		return -err->code;
	fd = open(p.lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		occo_err_sys(err, OCCO_EIO, errno, "embedded redis: cannot open '%s'", p.lockfile);
		paths_release(&p);
		return -OCCO_EIO;
	}
	e = occo_calloc(1, sizeof(*e));
	e->loop = loop;
	e->p = p;
	e->server = occo_strdup(opts && opts->server ? opts->server : "redis-server");
	e->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEF_TIMEOUT_MS;
	uv_update_time(loop);
	e->lock_deadline = uv_now(loop) + e->timeout_ms;
	e->lock_fd = fd;
	e->cb = cb;
	e->ud = ud;
	uv_timer_init(loop, &e->timer);
	e->timer.data = e;
	e->pending = 1;
	uv_timer_start(&e->timer, lock_retry, 0, 0);
	return 0;
}

/* ---- stop ---- */

struct emb_stop {
	uv_timer_t timer;
	pid_t pid;
	uint64_t deadline;
	unsigned timeout_ms;
	occo_redis_done_fn cb;
	void *ud;
};

static void stop_closed(uv_handle_t *h)
{
	free(h->data);
}

static void stop_tick(uv_timer_t *t)
{
	struct emb_stop *s = t->data;
	struct occo_err err;

	if (s->pid && pid_alive(s->pid) && uv_now(t->loop) < s->deadline) {
		uv_timer_start(t, stop_tick, STOP_POLL_MS, 0);
		return;
	}
	uv_close((uv_handle_t *)t, stop_closed);
	if (s->pid && pid_alive(s->pid)) {
		kill(s->pid, SIGKILL);
		occo_err_set(&err, OCCO_ETIMEDOUT,
			     "embedded redis: redis-server (pid %d) did not stop within %u ms; "
			     "killed",
			     (int)s->pid, s->timeout_ms);
		s->cb(&err, s->ud);
		return;
	}
	if (s->pid) {
		char spid[16];

		snprintf(spid, sizeof(spid), "%d", (int)s->pid);
		OCCO_INFO("embedded redis stopped", OCCO_KV("pid", spid));
	}
	s->cb(NULL, s->ud);
}

int occo_redis_embedded_stop(uv_loop_t *loop, const char *state_dir,
			     const struct occo_redis_embedded_opts *opts, occo_redis_done_fn cb,
			     void *ud, struct occo_err *err)
{
	const char *server = opts && opts->server ? opts->server : "redis-server";
	struct emb_stop *s;
	struct paths p;
	pid_t pid;

	if (paths_init(&p, state_dir, 0, err) < 0)
		return -err->code;
	pid = read_pidfile(p.pidfile);
	if (pid && !pid_is_server(pid, server))
		pid = 0; /* stale pidfile: nothing of ours runs */
	if (pid && kill(pid, SIGTERM) < 0) {
		occo_err_sys(err, OCCO_EIO, errno, "embedded redis: cannot stop pid %d", (int)pid);
		paths_release(&p);
		return -OCCO_EIO;
	}
	paths_release(&p);
	s = occo_calloc(1, sizeof(*s));
	s->pid = pid;
	s->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEF_TIMEOUT_MS;
	uv_update_time(loop);
	s->deadline = uv_now(loop) + s->timeout_ms;
	s->cb = cb;
	s->ud = ud;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	uv_timer_start(&s->timer, stop_tick, 0, 0);
	return 0;
}
