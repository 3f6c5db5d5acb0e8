/*
 * local.c - the local back-end: a node is a process tree on this machine with its own loopback
 * address, so that getip(), port and URL checks work as they do on VMs.
 *
 * Files, under <state_dir>/local/:
 *
 *   .lock                      flock(2) held while an address is taken or given back
 *   .addresses/<127.a.b.c>     symlink to ../<infra_id>/<dir>: who holds the address
 *   <infra_id>/<dir>/          the runtime directory of one node (<dir> = its token, else its
 *                              node id; the instance id is <dir>), also its working directory:
 *       token, address         the idempotency token and the allocated address
 *       node.json              {infra_id, node_id, name, token, address, stop_grace_ms,
 *                               package, package_dir, created_ms}
 *       pid                    "<pid> <start time>" of the supervisor (from /proc/<pid>/stat)
 *       exit_status            the command's exit status ($?: 128+N when killed by signal N)
 *       stdout.log, stderr.log its output
 *
 * The node's environment: PATH, HOME, USER, LOGNAME, LANG, LC_ALL, LC_CTYPE, TZ and TMPDIR of
 * the orchestrator (nothing else of it: its credentials stay its own), OCCOPUS_ADDRESS,
 * OCCOPUS_NODE_ID, OCCOPUS_INFRA_ID, OCCOPUS_NODE_NAME, OCCOPUS_RUN_DIR (OCCOPUS_PACKAGE_DIR
 * for a package), then the `env` of the resource section, which may override the inherited
 * ones. States (list): running -> ready; exited 0 with processes of its group left -> ready
 * (a start script that put its service in the background); exited 0, or killed by a signal, or
 * its processes gone -> shutdown; exited non-zero -> failed "exited with status N: <last line
 * of stderr.log>"; no pid file -> pending for NEVER_STARTED_MS, then failed.
 *
 * The node runs under a supervisor, `/bin/sh -c '"$@"; echo $? >exit_status'`, started with
 * setsid (occo_proc detached): its own session and process group (pgid = the supervisor's pid),
 * so it outlives the orchestrator, and drop signals the whole tree. The supervisor reaps the
 * command and records how it ended. Processes are identified by pid and start time, so a pid
 * reused by an unrelated process is never taken for a node, nor signalled. A process that has
 * exited but was not reaped (a zombie, where PID 1 does not reap orphans) counts as gone.
 *
 * Operations (each a small state machine; everything that touches the file system or scans
 * /proc runs on libuv's thread pool):
 *
 *   create  [package: fetch and unpack it (copkg.c)] -> prepare the runtime directory and take
 *           an address (pool) -> spawn the supervisor (loop) -> write the pid file (pool)
 *   list    read every runtime directory of the infrastructure and scan /proc once (pool)
 *   drop    inspect (pool) -> [package: script.d/stop.sh --run=<dir>, with a timeout]
 *           -> SIGTERM to the group, poll until it is gone (timer + pool), SIGKILL after
 *           stop_grace_ms -> remove the runtime directory, give the address back (pool)
 *
 * Addresses are unique across infrastructures and orchestrator processes: one is taken by
 * creating its symlink (atomic), the lowest free one of the node's address_range first, under
 * the lock; a symlink whose runtime directory is gone (a crash) is taken over when the range
 * has no other address left.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/proc.h"
#include "../copkg.h"
#include "../rh_int.h"

#define DEF_RANGE "127.77.0.0/16"
#define DEF_GRACE_MS 5000
#define MAX_GRACE_MS 50000 /* stop.sh, then TERM..KILL: within the core's 120 s deadline */
#define MIN_STOP_SCRIPT_MS 1000
#define POLL_MS 25 /* how often drop looks whether the processes are gone */
#define KILL_WAIT_MS 5000 /* how long processes may take to die of SIGKILL */
#define NEVER_STARTED_MS 30000 /* a runtime directory without a pid file this old failed */
#define TAIL_BYTES 4096
#define MAX_MESSAGE 300
#define MAX_NAME 200
#define SMALL_FILE 65536

/*
 * The supervisor: runs "$@", then records its exit status (in one write: a reader that finds
 * the file empty looks at the processes instead). Only shell builtins: the node's `env` may
 * set a PATH without coreutils.
 */
static const char supervisor[] = "\"$@\"\n"
				 "echo $? >exit_status\n";

/* Inherited from the orchestrator's environment; the rest comes from `env`. */
static const char *const pass_env[] = { "PATH",	  "HOME",     "USER", "LOGNAME", "LANG",
					"LC_ALL", "LC_CTYPE", "TZ",   "TMPDIR" };

/* ---- the key schema ---- */

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", 0, COMP_T_STR, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "command", 0, COMP_T_STR | COMP_T_LIST, COMP_T_STR },
	{ "env", 0, COMP_T_MAP, 0 },
	{ "package", 0, COMP_T_MAP, 0 },
	{ "address_range", 0, COMP_T_STR, 0 },
	{ "stop_grace_ms", 0, COMP_T_INT, 0 },
	{ NULL, 0, 0, 0 },
};

/* A value the infraprocessor will render before create: checked then, not now. */
static int templated(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && (strstr(s, "{{") || strstr(s, "{%"));
}

/* Parse "127.a.b.c/n" into the first and last address a node may get (host order). */
static int range_parse(const char *s, uint32_t *first, uint32_t *last, struct occo_err *err)
{
	char addr[32], *end;
	const char *slash = strchr(s, '/');
	struct in_addr in;
	unsigned long n;
	uint32_t net, mask, bcast;

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return occo_err_set(err, OCCO_EINVAL, "'%s' is not an IPv4 CIDR range (a.b.c.d/n)",
				    s);
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || end == slash + 1 || *end || n > 32 || errno)
		return occo_err_set(err, OCCO_EINVAL, "'%s' is not an IPv4 CIDR range (a.b.c.d/n)",
				    s);
	net = ntohl(in.s_addr);
	if (n < 8 || (net >> 24) != 127)
		return occo_err_set(err, OCCO_EINVAL,
				    "'%s' is not inside 127.0.0.0/8 (the loopback addresses)", s);
	mask = n == 32 ? 0xffffffffu : ~(0xffffffffu >> n);
	net &= mask;
	bcast = net | ~mask;
	if (n >= 31) {
		*first = net;
		*last = bcast;
	} else {
		*first = net + 1;
		*last = bcast - 1;
	}
	return 0;
}

static int env_name_ok(const char *k)
{
	const char *p;

	if (!*k || (*k >= '0' && *k <= '9'))
		return 0;
	for (p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

/* A key's value; an empty value (`key:`) is no value. */
static const json_t *get(const json_t *sec, const char *key)
{
	const json_t *v = json_object_get(sec, key);

	return json_is_null(v) ? NULL : v;
}

/* A scalar as the string a program gets (the schema lets numbers stand for strings). */
static char *scalar_str(const json_t *v)
{
	if (json_is_string(v))
		return occo_strdup(json_string_value(v));
	if (json_is_integer(v))
		return occo_asprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return occo_asprintf("%.17g", json_real_value(v));
	if (json_is_boolean(v))
		return occo_strdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

static void check(struct comp_check *c, const json_t *sec)
{
	const json_t *cmd = get(sec, "command"), *pkg = get(sec, "package");
	const json_t *env = get(sec, "env"), *v;
	const char *k;
	struct occo_err e;
	uint32_t a, b;
	size_t i;

	if (cmd && pkg)
		comp_check_error(c, sec, "package", "'command' and 'package' exclude each other");
	else if (!cmd && !pkg)
		comp_check_error(c, sec, NULL, "one of 'command' and 'package' is required");
	if (json_is_string(cmd) && !*json_string_value(cmd))
		comp_check_error(c, sec, "command", "'command' is empty");
	if (json_is_array(cmd)) {
		if (!json_array_size(cmd))
			comp_check_error(c, sec, "command", "'command' is an empty list");
		json_array_foreach (cmd, i, v)
			if (json_is_string(v) && !*json_string_value(v) && i == 0)
				comp_check_error(c, sec, "command",
						 "'command' starts with an empty program name");
	}
	json_object_foreach ((json_t *)env, k, v) {
		if (!env_name_ok(k))
			comp_check_error(c, sec, "env", "'env': '%s' is not a variable name", k);
		else if (!strncmp(k, "OCCOPUS_", 8))
			comp_check_error(c, sec, "env", "'env': '%s' is set by the local back-end",
					 k);
		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
			comp_check_error(c, sec, "env", "'env': the value of '%s' must be a string",
					 k);
	}
	if (json_is_object(pkg)) {
		const json_t *co = json_object_get(pkg, "coordinate");
		const json_t *re = json_object_get(pkg, "repository");

		json_object_foreach ((json_t *)pkg, k, v)
			if (strcmp(k, "coordinate") && strcmp(k, "repository"))
				comp_check_error(c, sec, "package", "unknown key '%s' in 'package'",
						 k);
		if (!co || !re) {
			comp_check_error(c, sec, "package", "'package' needs '%s'",
					 !co ? "coordinate" : "repository");
		}
		if (co && !json_is_string(co))
			comp_check_error(c, sec, "package",
					 "'package.coordinate' must be a string");
		else if (co && !templated(co) &&
			 rh__copkg_coord_check(json_string_value(co), &e) < 0)
			comp_check_error(c, sec, "package", "'package.coordinate': %s", e.msg);
		if (re && !json_is_string(re))
			comp_check_error(c, sec, "package",
					 "'package.repository' must be a string");
		else if (re && !templated(re) &&
			 rh__copkg_repo_check(json_string_value(re), &e) < 0)
			comp_check_error(c, sec, "package", "'package.repository': %s", e.msg);
	}
	v = get(sec, "address_range");
	if (json_is_string(v) && !templated(v) && range_parse(json_string_value(v), &a, &b, &e) < 0)
		comp_check_error(c, sec, "address_range", "'address_range': %s", e.msg);
	v = get(sec, "stop_grace_ms");
	if (json_is_integer(v) &&
	    (json_integer_value(v) < 0 || json_integer_value(v) > MAX_GRACE_MS))
		comp_check_error(c, sec, "stop_grace_ms",
				 "'stop_grace_ms' must be between 0 and %d", MAX_GRACE_MS);
}

static const struct comp_schema schema = { "resource", "local", keys, check };

/* ---- the plugin's state ---- */

/* A supervisor this process started and has not seen exit yet (it reaps it). */
struct lproc {
	struct lproc *next;
	struct local *l;
	struct occo_proc *p;
};

struct local {
	uv_loop_t *loop;
	char *root; /* <state_dir>/local */
	struct rh__copkg *pkgs;
	struct lproc *procs;
	int refs; /* the core's, and one per job */
};

static void local_unref(struct local *l)
{
	if (--l->refs == 0) {
		free(l->root);
		free(l);
	}
}

/* ---- small blocking helpers (thread pool only) ---- */

/* A small file's contents (NUL-terminated, malloc'd), or NULL (errno set). */
static char *slurp(const char *dir, const char *name)
{
	char *path = occo_asprintf("%s/%s", dir, name), *buf;
	struct stat st;
	ssize_t n;
	size_t len = 0, cap;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	cap = st.st_size > 0 && st.st_size < SMALL_FILE ? (size_t)st.st_size : SMALL_FILE;
	buf = occo_malloc(cap + 1);
	while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* Write dir/name atomically (0600: a node's files are its owner's). */
static int write_file(const char *dir, const char *name, const char *content, struct occo_err *err)
{
	char *path = occo_asprintf("%s/%s", dir, name);
	int rc = rh__write_atomic(path, content, 0600, err);

	free(path);
	return rc;
}

static void addr_str(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int addr_ok(const char *s)
{
	struct in_addr in;

	return s && inet_pton(AF_INET, s, &in) == 1 && (ntohl(in.s_addr) >> 24) == 127;
}

/* Hold <root>/.lock; returns the descriptor to close, or an error. */
static int lock_root(const char *root, struct occo_err *err)
{
	char *path = occo_asprintf("%s/.lock", root);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		occo_err_sys(err, OCCO_EIO, errno, "cannot open '%s'", path);
		free(path);
		return -OCCO_EIO;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			occo_err_sys(err, OCCO_EIO, errno, "cannot lock '%s'", path);
			close(fd);
			free(path);
			return -OCCO_EIO;
		}
	}
	free(path);
	return fd;
}

/*
 * Take the lowest free address of [first, last] for the runtime directory `target`
 * ("../<infra>/<dir>", relative to <root>/.addresses). A link whose runtime directory is gone
 * is taken over when no address is free.
 */
static int addr_take(const char *root, const char *target, uint32_t first, uint32_t last,
		     char out[16], struct occo_err *err)
{
	char *dir = occo_asprintf("%s/.addresses", root), *link = NULL;
	struct stat st;
	uint32_t a;
	int fd, rc = -OCCO_ENOENT, pass;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot create '%s'", dir);
		free(dir);
		return rc;
	}
	if ((fd = lock_root(root, err)) < 0) {
		free(dir);
		return fd;
	}
	for (pass = 0; pass < 2 && rc == -OCCO_ENOENT; pass++) {
		for (a = first;; a++) {
			addr_str(a, out);
			free(link);
			link = occo_asprintf("%s/%s", dir, out);
			if (pass == 1 && stat(link, &st) < 0 && errno == ENOENT)
				unlink(link); /* its runtime directory is gone */
			if (symlink(target, link) == 0) {
				rc = 0;
				break;
			}
			if (errno != EEXIST) {
				rc = occo_err_sys(err, OCCO_EIO, errno, "cannot create '%s'", link);
				break;
			}
			if (a == last)
				break;
		}
	}
	if (rc == -OCCO_ENOENT) {
		char f[16], l[16];

		addr_str(first, f);
		addr_str(last, l);
		rc = occo_err_set(err, OCCO_ELIMIT, "no free address between %s and %s", f, l);
	}
	close(fd);
	free(link);
	free(dir);
	return rc;
}

/* Is the address held for `target`? (Its link names it.) */
static int addr_held(const char *root, const char *addr, const char *target)
{
	char *link = occo_asprintf("%s/.addresses/%s", root, addr), buf[512];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);

	free(link);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return !strcmp(buf, target);
}

/* Give an address back, if `target` still holds it. */
static void addr_give(const char *root, const char *addr, const char *target)
{
	char *link;
	int fd;

	if (!addr_ok(addr) || (fd = lock_root(root, NULL)) < 0)
		return;
	if (addr_held(root, addr, target)) {
		link = occo_asprintf("%s/.addresses/%s", root, addr);
		unlink(link);
		free(link);
	}
	close(fd);
}

/* ---- the process table ---- */

struct pent {
	int pid, pgrp;
	unsigned long long start;
	char state;
};

struct ptab {
	struct pent *v;
	size_t n, cap;
};

/* Parse /proc/<pid>/stat: state, process group and start time. */
static int stat_parse(const char *buf, struct pent *e)
{
	const char *s = strrchr(buf, ')');
	unsigned long long f[20];
	char state;
	int i, n = 0;

	if (!s || s[1] != ' ')
		return -1;
	s += 2;
	state = *s;
	s++;
	for (i = 0; i < 20; i++) {
		char *end;

		while (*s == ' ')
			s++;
		f[i] = strtoull(s, &end, 10);
		if (end == s)
			break;
		s = end;
		n++;
	}
	if (n < 19) /* fields 4..22 */
		return -1;
	e->state = state;
	e->pgrp = (int)f[1]; /* field 5 */
	e->start = f[18]; /* field 22 */
	return 0;
}

static int proc_read(int pid, struct pent *e)
{
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	e->pid = pid;
	return stat_parse(buf, e);
}

static int dead(char state)
{
	return state == 'Z' || state == 'X' || state == 'x';
}

/* Read every process of the machine (one scan of /proc). */
static void ptab_scan(struct ptab *t)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct pent e;
	char *end;
	long pid;

	t->n = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || proc_read((int)pid, &e) < 0)
			continue;
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 512;
			t->v = occo_reallocarray(t->v, t->cap, sizeof(*t->v));
		}
		t->v[t->n++] = e;
	}
	closedir(d);
}

static const struct pent *ptab_find(const struct ptab *t, int pid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return &t->v[i];
	return NULL;
}

/*
 * Does the group our supervisor (pid, start) led still have a live process (other than the
 * supervisor when `but_leader`)? When /proc shows another process under that pid, the group is
 * gone: the kernel does not reuse a pid while a process group of that number exists.
 */
static int group_live(const struct ptab *t, int pid, unsigned long long start, int but_leader)
{
	const struct pent *lead = ptab_find(t, pid);
	size_t i;

	if (lead && start && lead->start != start)
		return 0;
	for (i = 0; i < t->n; i++)
		if (t->v[i].pgrp == pid && !dead(t->v[i].state) &&
		    !(but_leader && t->v[i].pid == pid))
			return 1;
	return 0;
}

/* The same for one group without a full table: kill(-pgid, 0) first. */
static int group_live_now(int pid, unsigned long long start)
{
	struct ptab t = { 0 };
	int live;

	if (kill(-pid, 0) < 0 && errno == ESRCH)
		return 0;
	ptab_scan(&t);
	live = group_live(&t, pid, start, 0);
	free(t.v);
	return live;
}

/* "<pid> <start>" of a pid file; 0 when missing or unreadable. */
static int pid_read(const char *dir, int *pid, unsigned long long *start)
{
	char *s = slurp(dir, "pid");
	int ok = s && sscanf(s, "%d %llu", pid, start) == 2 && *pid > 1;

	free(s);
	return ok;
}

/* ---- jobs ---- */

enum kind { K_CREATE, K_DROP, K_LIST };
enum step { S_PREP, S_PIDFILE, S_UNDO, S_INSPECT, S_CHECK, S_REMOVE, S_LIST };

/* What list found of one runtime directory (strings owned). */
struct seen {
	char *dir, *token, *address, *message;
	enum rh_state state;
};

/*
 * One operation. It may outlive its request (a cancel): it is freed once the request is
 * completed and its last pending step (pool work, timer, stop script, package) has ended.
 */
struct job {
	struct rh_req *req; /* NULL once completed or cancelled */
	struct local *l;
	enum kind kind;
	int refs; /* the request, and each pending step */
	/* the node, copied (steps may run after the request is gone) */
	char *infra_id, *node_id, *name, *token;
	char *infradir; /* <root>/<infra_id> */
	char *dirname, *rundir, *target; /* target: "../<infra>/<dir>" */
	char **argv; /* the command (NULL for a package) */
	char **env; /* "K=V" of `env` */
	char *coord, *repo, *pkgdir;
	uint32_t first, last;
	uint64_t grace_ms;
	struct rh__copkg_want *want;
	/* pool <-> loop */
	uv_work_t work;
	enum step step;
	struct occo_err err;
	struct occo_err undo_err; /* why a create is being undone */
	int failed;
	char address[16];
	int pid;
	unsigned long long start;
	int exists, running, live;
	int script_exec; /* the package's start.sh (create) or stop.sh (drop) is executable */
	struct seen *seen;
	size_t nseen;
	/* drop */
	int timer_init;
	uv_timer_t timer;
	uint64_t t_term, t_kill;
	int killed;
	struct occo_proc *stop_proc;
};

static struct job *job_of(struct rh_req *req)
{
	return *(struct job **)rh_req_data(req);
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void job_unref(struct job *job)
{
	size_t i;

	if (--job->refs)
		return;
	free(job->infra_id);
	free(job->node_id);
	free(job->name);
	free(job->token);
	free(job->infradir);
	free(job->dirname);
	free(job->rundir);
	free(job->target);
	strv_free(job->argv);
	strv_free(job->env);
	free(job->coord);
	free(job->repo);
	free(job->pkgdir);
	for (i = 0; i < job->nseen; i++) {
		free(job->seen[i].dir);
		free(job->seen[i].token);
		free(job->seen[i].address);
		free(job->seen[i].message);
	}
	free(job->seen);
	local_unref(job->l);
	free(job);
}

/* Complete the request (if it still has one); err NULL is success. */
static void job_complete(struct job *job, const struct occo_err *err, unsigned flags)
{
	struct rh_req *req = job->req;
	struct rh_instance *v;
	json_t **addrs;
	size_t i;

	if (!req)
		return;
	job->req = NULL;
	switch (job->kind) {
	case K_CREATE:
		rh_req_created(req, err ? NULL : job->dirname, err, flags);
		break;
	case K_DROP:
		rh_req_dropped(req, err, flags);
		break;
	case K_LIST:
		if (err) {
			rh_req_listed(req, NULL, 0, err, flags);
			break;
		}
		v = occo_calloc(job->nseen + 1, sizeof(*v));
		addrs = occo_calloc(job->nseen + 1, sizeof(*addrs));
		for (i = 0; i < job->nseen; i++) {
			const struct seen *s = &job->seen[i];

			addrs[i] = json_array();
			if (s->address)
				json_array_append_new(addrs[i], json_string(s->address));
			v[i].instance_id = s->dir;
			v[i].token = s->token;
			v[i].state = s->state;
			v[i].addresses = addrs[i];
			v[i].private_address = s->address;
			v[i].message = s->message;
		}
		rh_req_listed(req, v, job->nseen, NULL, 0);
		for (i = 0; i < job->nseen; i++)
			json_decref(addrs[i]);
		free(addrs);
		free(v);
		break;
	}
	job_unref(job); /* the request's reference */
}

static void job_fail(struct job *job, const struct occo_err *err)
{
	job_complete(job, err, 0);
}

static void after_work(uv_work_t *w, int status);
static void do_work(uv_work_t *w);

static void job_queue(struct job *job, enum step step)
{
	job->step = step;
	job->work.data = job;
	job->refs++;
	uv_queue_work(job->l->loop, &job->work, do_work, after_work);
}

/* A runtime directory name: letters, digits, '.', '_', '-'; not starting with '.'. */
static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0, i;

	if (!n || n > MAX_NAME || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

static char *dup_opt(const char *s)
{
	return s ? occo_strdup(s) : NULL;
}

/* A job for req with the node's names; the directory is set when `dir` is given. */
static struct job *job_new(struct rh_req *req, enum kind kind, const char *dir,
			   struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct local *l = rh_req_state(req);
	struct job *job;

	if (!l) {
		occo_err_set(err, OCCO_ENOTSUP, "the local back-end needs a state directory");
		return NULL;
	}
	if (!name_ok(n->infra_id)) {
		occo_err_set(err, OCCO_EINVAL, "infrastructure id '%s' cannot name a directory",
			     n->infra_id ? n->infra_id : "");
		return NULL;
	}
	if (dir && !name_ok(dir)) {
		occo_err_set(err, OCCO_EINVAL, "instance '%s' cannot name a runtime directory",
			     dir);
		return NULL;
	}
	job = occo_calloc(1, sizeof(*job));
	job->req = req;
	job->l = l;
	l->refs++;
	job->kind = kind;
	job->refs = 1;
	job->infra_id = occo_strdup(n->infra_id);
	job->node_id = dup_opt(n->node_id);
	job->name = dup_opt(n->name);
	job->token = dup_opt(n->token);
	job->infradir = occo_asprintf("%s/%s", l->root, n->infra_id);
	if (dir) {
		job->dirname = occo_strdup(dir);
		job->rundir = occo_asprintf("%s/%s", job->infradir, dir);
		job->target = occo_asprintf("../%s/%s", n->infra_id, dir);
	}
	job->pid = -1;
	*(struct job **)rh_req_data(req) = job;
	return job;
}

/* The settings of a resource section (already checked by the core against the schema). */
static int cfg_read(struct job *job, const json_t *res, struct occo_err *err)
{
	const json_t *cmd = get(res, "command"), *env = get(res, "env"), *pkg = get(res, "package");
	const json_t *v;
	const char *range = json_string_value(get(res, "address_range")), *k;
	char *val;
	size_t i, n;
	int rc;

	if ((rc = range_parse(range ? range : DEF_RANGE, &job->first, &job->last, err)) < 0)
		return occo_err_prefix(err, "'address_range'");
	v = get(res, "stop_grace_ms");
	job->grace_ms = json_is_integer(v) ? (uint64_t)json_integer_value(v) : DEF_GRACE_MS;
	if (json_is_array(cmd)) {
		n = json_array_size(cmd);
		job->argv = occo_calloc(n + 1, sizeof(char *));
		json_array_foreach (cmd, i, v)
			if (!(job->argv[i] = scalar_str(v)))
				job->argv[i] = occo_strdup("");
	} else if ((val = scalar_str(cmd))) {
		job->argv = occo_calloc(4, sizeof(char *));
		job->argv[0] = occo_strdup("/bin/sh");
		job->argv[1] = occo_strdup("-c");
		job->argv[2] = val;
	} else if (json_is_object(pkg)) {
		job->coord = dup_opt(json_string_value(json_object_get(pkg, "coordinate")));
		job->repo = dup_opt(json_string_value(json_object_get(pkg, "repository")));
	}
	n = json_object_size(env);
	job->env = occo_calloc(n + 1, sizeof(char *));
	i = 0;
	json_object_foreach ((json_t *)env, k, v) {
		if ((val = scalar_str(v))) {
			job->env[i++] = occo_asprintf("%s=%s", k, val);
			free(val);
		}
	}
	if (!job->argv && (!job->coord || !job->repo))
		return occo_err_set(err, OCCO_EINVAL, "one of 'command' and 'package' is required");
	return 0;
}

/* The environment of the node's processes (and of its stop script). */
static char **node_env(const struct job *job)
{
	size_t n = 0, i, cap = 16 + sizeof(pass_env) / sizeof(pass_env[0]);
	char **v, *s;

	for (i = 0; job->env && job->env[i]; i++)
		cap++;
	v = occo_calloc(cap, sizeof(char *));
	for (i = 0; i < sizeof(pass_env) / sizeof(pass_env[0]); i++)
		if ((s = getenv(pass_env[i])))
			v[n++] = occo_asprintf("%s=%s", pass_env[i], s);
	v[n++] = occo_asprintf("OCCOPUS_ADDRESS=%s", job->address);
	v[n++] = occo_asprintf("OCCOPUS_NODE_ID=%s", job->node_id ? job->node_id : "");
	v[n++] = occo_asprintf("OCCOPUS_INFRA_ID=%s", job->infra_id);
	v[n++] = occo_asprintf("OCCOPUS_NODE_NAME=%s", job->name ? job->name : "");
	v[n++] = occo_asprintf("OCCOPUS_RUN_DIR=%s", job->rundir);
	if (job->pkgdir)
		v[n++] = occo_asprintf("OCCOPUS_PACKAGE_DIR=%s", job->pkgdir);
	/* `env` last: it overrides what was inherited (uv_spawn takes the first match) */
	for (i = 0; job->env && job->env[i]; i++) {
		size_t klen = strcspn(job->env[i], "=") + 1, j;

		for (j = 0; j < n; j++) {
			if (!strncmp(v[j], job->env[i], klen)) {
				free(v[j]);
				v[j] = v[--n];
				v[n] = NULL;
				break;
			}
		}
		v[n++] = occo_strdup(job->env[i]);
	}
	return v;
}

/* argv for a package script: run it directly when executable, else with /bin/sh. */
static char **script_argv(const struct job *job, const char *script, int exec)
{
	char **v = occo_calloc(4, sizeof(char *));
	size_t n = 0;

	if (!exec)
		v[n++] = occo_strdup("/bin/sh");
	v[n++] = occo_asprintf("%s/script.d/%s", job->pkgdir, script);
	v[n++] = occo_asprintf("--run=%s", job->rundir);
	return v;
}

/* ---- create ---- */

/* Pool: the runtime directory and the address (the command is not started here). */
static void create_prep(struct job *job)
{
	struct occo_err *err = &job->err;
	char *s, *script;
	json_t *meta;
	int fresh = 0, took = 0, rc, tries, made;

	/* the drop of the infrastructure's last node may remove infradir in between */
	for (tries = 0;; tries++) {
		if (rh__mkdir_p(job->infradir, 0700, err) < 0)
			return;
		made = mkdir(job->rundir, 0700) == 0 ? 0 : errno;
		if (made != ENOENT || tries == 2)
			break;
	}
	if (made == 0) {
		fresh = 1;
	} else if (made != EEXIST) {
		occo_err_sys(err, OCCO_EIO, made, "cannot create '%s'", job->rundir);
		return;
	} else if (pid_read(job->rundir, &job->pid, &job->start)) {
		/* created before (a retry, or a crashed build): never start it twice */
		s = slurp(job->rundir, "address");
		snprintf(job->address, sizeof(job->address), "%s", s ? s : "");
		job->address[strcspn(job->address, "\n")] = '\0';
		free(s);
		job->running = 1;
		return;
	} else if ((s = slurp(job->rundir, "address"))) {
		/* prepared, never started: keep its address */
		s[strcspn(s, "\n")] = '\0';
		if (addr_ok(s) && addr_held(job->l->root, s, job->target))
			snprintf(job->address, sizeof(job->address), "%s", s);
		free(s);
	}
	if (!*job->address) {
		if (addr_take(job->l->root, job->target, job->first, job->last, job->address, err) <
		    0)
			goto fail;
		took = 1;
	}
	if (job->pkgdir) {
		script = occo_asprintf("%s/script.d/start.sh", job->pkgdir);
		job->script_exec = access(script, X_OK) == 0;
		free(script);
	}
	s = occo_asprintf("%s\n", job->address);
	rc = write_file(job->rundir, "address", s, err);
	free(s);
	if (rc < 0 ||
	    write_file(job->rundir, "token", job->token ? job->token : job->dirname, err) < 0)
		goto fail;
	meta = json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:I, s:s?, s:s?, s:I}", "infra_id",
			 job->infra_id, "node_id", job->node_id, "name", job->name, "token",
			 job->token ? job->token : job->dirname, "address", job->address,
			 "stop_grace_ms", (json_int_t)job->grace_ms, "package", job->coord,
			 "package_dir", job->pkgdir, "created_ms",
			 (json_int_t)occo_clock_wall_ms());
	s = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	rc = write_file(job->rundir, "node.json", s, err);
	free(s);
	if (rc == 0)
		return;
fail:
	/* leave nothing behind that this call made */
	if (took)
		addr_give(job->l->root, job->address, job->target);
	if (fresh)
		rh__rmtree(job->rundir, NULL);
}

static void on_supervisor_exit(struct occo_proc *p, int64_t status, int sig, int timed_out,
			       void *ud)
{
	struct lproc *lp = ud, **pp;
	struct local *l = lp->l;

	(void)p;
	(void)status;
	(void)sig;
	(void)timed_out;
	for (pp = &l->procs; *pp; pp = &(*pp)->next) {
		if (*pp == lp) {
			*pp = lp->next;
			break;
		}
	}
	free(lp);
	local_unref(l);
}

/* Loop: start the supervisor and, under it, the node's command. */
static void create_spawn(struct job *job)
{
	struct occo_proc_opts o = { 0 };
	struct lproc *lp;
	struct pent pe;
	char **cmd = job->argv, **argv, **env, *out, *errp;
	size_t n = 0, i;
	int rc;

	if (!cmd)
		cmd = script_argv(job, "start.sh", job->script_exec);
	while (cmd[n])
		n++;
	argv = occo_calloc(n + 5, sizeof(char *));
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = (char *)supervisor;
	argv[3] = "occopus-node";
	for (i = 0; i < n; i++)
		argv[4 + i] = cmd[i];
	env = node_env(job);
	out = occo_asprintf("%s/stdout.log", job->rundir);
	errp = occo_asprintf("%s/stderr.log", job->rundir);
	o.argv = argv;
	o.env = env;
	o.cwd = job->rundir;
	o.stdout_path = out;
	o.stderr_path = errp;
	o.detached = 1;
	lp = occo_calloc(1, sizeof(*lp));
	lp->l = job->l;
	rc = occo_proc_spawn(job->l->loop, &o, on_supervisor_exit, lp, &lp->p, &job->err);
	if (rc == 0) {
		job->l->refs++;
		lp->next = job->l->procs;
		job->l->procs = lp;
		job->pid = occo_proc_pid(lp->p);
		/* not reaped before the loop runs again: /proc still shows it */
		job->start = proc_read(job->pid, &pe) == 0 ? pe.start : 0;
	} else {
		free(lp);
		job->failed = 1;
	}
	free(out);
	free(errp);
	strv_free(env);
	free(argv);
	if (cmd != job->argv)
		strv_free(cmd);
}

static void on_package(const char *dir, const struct occo_err *err, void *ud)
{
	struct job *job = ud;

	job->want = NULL;
	if (err) {
		job_complete(job, err,
			     err->code == OCCO_ECONN || err->code == OCCO_ETIMEDOUT ? RH_F_TRANSIENT
										    : 0);
		job_unref(job); /* the package's reference */
		return;
	}
	job->pkgdir = occo_strdup(dir);
	if (job->req)
		job_queue(job, S_PREP);
	job_unref(job);
}

static int local_create(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	const char *dir = n->token && *n->token ? n->token : n->node_id;
	struct job *job;
	int rc;

	if (!(job = job_new(req, K_CREATE, dir ? dir : "", err)))
		return -(err && err->code ? err->code : OCCO_EINVAL);
	if ((rc = cfg_read(job, n->resource, err)) < 0) {
		job->req = NULL;
		job_unref(job);
		return rc;
	}
	if (job->coord) {
		rc = rh__copkg_get(job->l->pkgs, job->coord, job->repo, on_package, job, &job->want,
				   err);
		if (rc < 0) {
			job->req = NULL;
			job_unref(job);
			return rc;
		}
		job->refs++;
		return 0;
	}
	job_queue(job, S_PREP);
	return 0;
}

/* ---- list ---- */

/* The last line of stderr.log, cut to MAX_MESSAGE bytes; "" when empty. */
static char *stderr_tail(const char *dir)
{
	char *path = occo_asprintf("%s/stderr.log", dir), buf[TAIL_BYTES + 1], *end, *line, *p;
	struct stat st;
	ssize_t n = 0;
	off_t from;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		from = st.st_size > TAIL_BYTES ? st.st_size - TAIL_BYTES : 0;
		n = pread(fd, buf, TAIL_BYTES, from);
	}
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	end = buf + strlen(buf);
	while (end > buf && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		*--end = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	if (strlen(line) > MAX_MESSAGE)
		line[MAX_MESSAGE] = '\0';
	return occo_strdup(line);
}

static int age_ms(const char *dir, const char *name, uint64_t *age)
{
	char *path = occo_asprintf("%s/%s", dir, name);
	struct stat st;
	int rc = stat(path, &st);
	uint64_t now = occo_clock_wall_ms(), t;

	free(path);
	if (rc < 0)
		return -1;
	t = (uint64_t)st.st_mtim.tv_sec * 1000 + (uint64_t)st.st_mtim.tv_nsec / 1000000;
	*age = now > t ? now - t : 0;
	return 0;
}

/* The state of one runtime directory. */
static void seen_read(struct seen *s, const char *dir, const struct ptab *t)
{
	char *meta = slurp(dir, "node.json"), *st;
	json_t *m = meta ? json_loads(meta, 0, NULL) : NULL;
	const char *tok = json_string_value(json_object_get(m, "token"));
	const char *addr = json_string_value(json_object_get(m, "address"));
	unsigned long long start;
	uint64_t age;
	int pid, code, have_meta = m != NULL;

	s->token = occo_strdup(tok && *tok ? tok : s->dir);
	s->address = addr_ok(addr) ? occo_strdup(addr) : NULL;
	json_decref(m);
	free(meta);
	if (!pid_read(dir, &pid, &start)) {
		if (age_ms(dir, have_meta ? "node.json" : ".", &age) == 0 &&
		    age < NEVER_STARTED_MS) {
			s->state = RH_PENDING;
		} else {
			s->state = RH_FAILED;
			s->message = occo_asprintf(
				"the node was never started (no pid file in '%s')", dir);
		}
		return;
	}
	st = slurp(dir, "exit_status");
	if (!st || sscanf(st, "%d", &code) != 1) {
		free(st);
		if (group_live(t, pid, start, 0)) {
			s->state = RH_READY;
		} else {
			s->state = RH_SHUTDOWN;
			s->message = occo_strdup("its processes are gone");
		}
		return;
	}
	free(st);
	if (code == 0) {
		if (group_live(t, pid, start, 1)) {
			s->state = RH_READY; /* the command left its service running */
		} else {
			s->state = RH_SHUTDOWN;
			s->message = occo_strdup("exited with status 0");
		}
	} else if (code > 128 && code < 128 + 65) {
		s->state = RH_SHUTDOWN;
		s->message = occo_asprintf("killed by signal %d (%s)", code - 128,
					   strsignal(code - 128));
	} else {
		char *tail = stderr_tail(dir);

		s->state = RH_FAILED;
		s->message =
			occo_asprintf("exited with status %d%s%s", code, *tail ? ": " : "", tail);
		free(tail);
	}
}

static int by_dir(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->dir, ((const struct seen *)b)->dir);
}

/* Pool: every runtime directory of the infrastructure, and /proc once. */
static void list_scan(struct job *job)
{
	DIR *d = opendir(job->infradir);
	struct ptab t = { 0 };
	struct dirent *de;
	size_t cap = 0, i;
	char *dir;

	if (!d) {
		if (errno != ENOENT)
			occo_err_sys(&job->err, OCCO_EIO, errno, "cannot read '%s'", job->infradir);
		return;
	}
	while ((de = readdir(d))) {
		if (!name_ok(de->d_name) || de->d_type == DT_REG || de->d_type == DT_LNK)
			continue;
		if (job->nseen == cap) {
			cap = cap ? 2 * cap : 16;
			job->seen = occo_reallocarray(job->seen, cap, sizeof(*job->seen));
		}
		memset(&job->seen[job->nseen], 0, sizeof(*job->seen));
		job->seen[job->nseen++].dir = occo_strdup(de->d_name);
	}
	closedir(d);
	if (!job->nseen)
		return;
	qsort(job->seen, job->nseen, sizeof(*job->seen), by_dir);
	ptab_scan(&t);
	for (i = 0; i < job->nseen; i++) {
		dir = occo_asprintf("%s/%s", job->infradir, job->seen[i].dir);
		seen_read(&job->seen[i], dir, &t);
		free(dir);
	}
	free(t.v);
}

static int local_list(struct rh_req *req, struct occo_err *err)
{
	struct job *job = job_new(req, K_LIST, NULL, err);

	if (!job)
		return -(err && err->code ? err->code : OCCO_EINVAL);
	job_queue(job, S_LIST);
	return 0;
}

/* ---- drop ---- */

/* Pool: does the node exist, what runs, what was it started from. */
static void drop_inspect(struct job *job)
{
	struct stat st;
	char *meta;
	json_t *m, *v;
	struct pent pe;

	if (lstat(job->rundir, &st) < 0) {
		if (errno != ENOENT)
			occo_err_sys(&job->err, OCCO_EIO, errno, "cannot inspect '%s'",
				     job->rundir);
		return; /* gone already */
	}
	job->exists = 1;
	if ((meta = slurp(job->rundir, "node.json"))) {
		m = json_loads(meta, 0, NULL);
		free(meta);
		v = json_object_get(m, "address");
		if (addr_ok(json_string_value(v)))
			snprintf(job->address, sizeof(job->address), "%s", json_string_value(v));
		v = json_object_get(m, "stop_grace_ms");
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= MAX_GRACE_MS)
			job->grace_ms = (uint64_t)json_integer_value(v);
		v = json_object_get(m, "package_dir");
		if (json_is_string(v)) {
			char *script = occo_asprintf("%s/script.d/stop.sh", json_string_value(v));

			free(job->pkgdir);
			job->pkgdir = occo_strdup(json_string_value(v));
			job->script_exec = access(script, X_OK) == 0;
			free(script);
		}
		if (!job->node_id)
			job->node_id = dup_opt(json_string_value(json_object_get(m, "node_id")));
		if (!job->name)
			job->name = dup_opt(json_string_value(json_object_get(m, "name")));
		json_decref(m);
	}
	if (!*job->address) {
		char *s = slurp(job->rundir, "address");

		if (s) {
			s[strcspn(s, "\n")] = '\0';
			if (addr_ok(s))
				snprintf(job->address, sizeof(job->address), "%s", s);
			free(s);
		}
	}
	if (pid_read(job->rundir, &job->pid, &job->start)) {
		/* a pid now used by another process: our group is gone, never signal it */
		if (proc_read(job->pid, &pe) == 0 && job->start && pe.start != job->start)
			job->pid = -1;
		else
			job->live = group_live_now(job->pid, job->start);
	} else {
		job->pid = -1;
	}
}

static void drop_remove(struct job *job)
{
	if (rh__rmtree(job->rundir, &job->err) < 0)
		return;
	if (*job->address)
		addr_give(job->l->root, job->address, job->target);
	rmdir(job->infradir); /* the last node of the infrastructure; fails otherwise */
}

static void drop_term(struct job *job);

static void on_timer_closed(uv_handle_t *h)
{
	job_unref(h->data);
}

static void on_poll(uv_timer_t *t)
{
	struct job *job = t->data;

	job_queue(job, S_CHECK);
}

static void drop_close_timer(struct job *job)
{
	if (job->timer_init) {
		job->timer_init = 0;
		uv_close((uv_handle_t *)&job->timer, on_timer_closed);
	}
}

static void on_stop_script(struct occo_proc *p, int64_t status, int sig, int timed_out, void *ud)
{
	struct job *job = ud;

	(void)p;
	(void)status;
	(void)sig;
	(void)timed_out;
	job->stop_proc = NULL;
	if (job->req)
		drop_term(job);
	job_unref(job);
}

/* Loop: run script.d/stop.sh --run=<dir> (output to the node's logs), then go on. */
static int drop_stop_script(struct job *job)
{
	struct occo_proc_opts o = { 0 };
	char **argv = script_argv(job, "stop.sh", job->script_exec), **env = node_env(job);
	char *out = occo_asprintf("%s/stdout.log", job->rundir);
	char *errp = occo_asprintf("%s/stderr.log", job->rundir);
	int rc;

	o.argv = argv;
	o.env = env;
	o.cwd = job->rundir;
	o.stdout_path = out;
	o.stderr_path = errp;
	o.detached = 1;
	o.timeout_ms = job->grace_ms > MIN_STOP_SCRIPT_MS ? job->grace_ms : MIN_STOP_SCRIPT_MS;
	rc = occo_proc_spawn(job->l->loop, &o, on_stop_script, job, &job->stop_proc, NULL);
	if (rc == 0)
		job->refs++;
	strv_free(argv);
	strv_free(env);
	free(out);
	free(errp);
	return rc;
}

/* Loop: SIGTERM to the group, then poll until it is gone. */
static void drop_term(struct job *job)
{
	if (kill(-job->pid, SIGTERM) < 0 && errno == ESRCH) {
		job_queue(job, S_REMOVE);
		return;
	}
	job->t_term = uv_now(job->l->loop);
	uv_timer_init(job->l->loop, &job->timer);
	job->timer.data = job;
	job->timer_init = 1;
	job->refs++;
	uv_timer_start(&job->timer, on_poll, POLL_MS, 0);
}

/* Loop: after a check of the group. */
static void drop_checked(struct job *job)
{
	uint64_t now = uv_now(job->l->loop);
	struct occo_err e;

	if (!job->live) {
		drop_close_timer(job);
		job_queue(job, S_REMOVE);
		return;
	}
	if (!job->killed && now - job->t_term >= job->grace_ms) {
		kill(-job->pid, SIGKILL);
		job->killed = 1;
		job->t_kill = now;
	} else if (job->killed && now - job->t_kill >= KILL_WAIT_MS) {
		drop_close_timer(job);
		occo_err_set(
			&e, OCCO_EBUSY,
			"processes of group %d still run %d ms after SIGKILL (runtime directory "
			"'%s' kept)",
			job->pid, KILL_WAIT_MS, job->rundir);
		job_fail(job, &e);
		return;
	}
	uv_timer_start(&job->timer, on_poll, POLL_MS, 0);
}

static void drop_inspected(struct job *job)
{
	if (!job->exists) {
		job_complete(job, NULL, 0);
		return;
	}
	if (job->pid < 0 || !job->live) {
		job_queue(job, S_REMOVE);
		return;
	}
	if (job->pkgdir && drop_stop_script(job) == 0)
		return;
	drop_term(job);
}

static int local_drop(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	const char *dir = n->instance_id && *n->instance_id ? n->instance_id
			  : n->token && *n->token	    ? n->token
							    : n->node_id;
	struct job *job;
	int rc;

	if (!dir || !*dir)
		return occo_err_set(err, OCCO_EINVAL, "no instance id, token or node id");
	if (!(job = job_new(req, K_DROP, dir, err)))
		return -(err && err->code ? err->code : OCCO_EINVAL);
	if ((rc = cfg_read(job, n->resource, err)) < 0) {
		job->req = NULL;
		job_unref(job);
		return rc;
	}
	job_queue(job, S_INSPECT);
	return 0;
}

/* ---- the pool's part, and what follows it on the loop ---- */

static void do_work(uv_work_t *w)
{
	struct job *job = w->data;

	occo_err_clear(&job->err);
	switch (job->step) {
	case S_PREP:
		create_prep(job);
		break;
	case S_PIDFILE: {
		char line[64];

		snprintf(line, sizeof(line), "%d %llu\n", job->pid, job->start);
		write_file(job->rundir, "pid", line, &job->err);
		break;
	}
	case S_INSPECT:
		drop_inspect(job);
		break;
	case S_CHECK:
		job->live = group_live_now(job->pid, job->start);
		break;
	case S_REMOVE:
	case S_UNDO:
		drop_remove(job);
		break;
	case S_LIST:
		list_scan(job);
		break;
	}
}

static void after_work(uv_work_t *w, int status)
{
	struct job *job = w->data;
	int ok = job->err.code == 0;

	(void)status;
	if (!job->req) {
		/* cancelled: a started node still gets its pid file (written already) */
		if (job->step == S_CHECK)
			drop_close_timer(job);
		job_unref(job);
		return;
	}
	switch (job->step) {
	case S_PREP:
		if (!ok) {
			job_fail(job, &job->err);
		} else if (job->running) {
			job_complete(job, NULL, 0);
		} else {
			create_spawn(job);
			if (job->failed) {
				occo_err_copy(&job->undo_err, &job->err);
				job_queue(job, S_UNDO);
			} else {
				job_queue(job, S_PIDFILE);
			}
		}
		break;
	case S_PIDFILE:
		if (ok) {
			job_complete(job, NULL, 0);
			break;
		}
		kill(-job->pid, SIGKILL); /* a node nobody could find again */
		occo_err_copy(&job->undo_err, &job->err);
		job_queue(job, S_UNDO);
		break;
	case S_UNDO:
		job_fail(job, &job->undo_err);
		break;
	case S_REMOVE:
	case S_LIST:
		job_complete(job, ok ? NULL : &job->err, 0);
		break;
	case S_INSPECT:
		if (!ok)
			job_fail(job, &job->err);
		else
			drop_inspected(job);
		break;
	case S_CHECK:
		drop_checked(job);
		break;
	}
	job_unref(job); /* the step's reference */
}

static void local_cancel(struct rh_req *req)
{
	struct job *job = job_of(req);
	struct occo_err e;

	if (job->want) {
		rh__copkg_want_cancel(job->want);
		job->want = NULL;
		job_unref(job);
	}
	if (job->stop_proc) {
		occo_proc_kill(job->stop_proc, SIGKILL, NULL);
		occo_proc_forget(job->stop_proc);
		job->stop_proc = NULL;
		job_unref(job);
	}
	if (job->timer_init && uv_is_active((uv_handle_t *)&job->timer))
		drop_close_timer(job);
	occo_err_set(&e, OCCO_ECANCELED, "cancelled");
	job_complete(job, &e, 0);
}

static int local_start(const struct rh_env *env, void **state, struct occo_err *err)
{
	struct local *l;

	(void)err;
	*state = NULL;
	if (!env->state_dir || !*env->state_dir)
		return 0; /* the plugin says so when it is used */
	l = occo_calloc(1, sizeof(*l));
	l->loop = env->loop;
	l->root = occo_asprintf("%s/local", env->state_dir);
	l->pkgs = rh__copkg_new(env->loop, env->http, env->state_dir);
	l->refs = 1;
	*state = l;
	return 0;
}

/* The nodes live on; this process just stops waiting for its supervisors. */
static void local_stop(void *state)
{
	struct local *l = state;
	struct lproc *lp;

	while ((lp = l->procs)) {
		l->procs = lp->next;
		occo_proc_forget(lp->p);
		free(lp);
		local_unref(l);
	}
	rh__copkg_free(l->pkgs);
	l->pkgs = NULL;
	local_unref(l);
}

const struct rh_ops rh__local_ops = {
	.name = "local",
	.schema = &schema,
	.req_size = sizeof(struct job *),
	.create = local_create,
	.drop = local_drop,
	.list = local_list,
	.cancel = local_cancel,
	.default_endpoint = "localhost",
	.start = local_start,
	.stop = local_stop,
};
