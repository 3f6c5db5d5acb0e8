/*
 * proc.c - uv_spawn with output files, deadlines and process-group signals.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "occo/util/log.h"
#include "occo/util/proc.h"

#define KILL_GRACE_MS 2000

struct occo_proc {
	uv_process_t handle;
	uv_timer_t timer;
	occo_proc_exit_cb cb;
	void *ud;
	int detached;
	int timed_out;
	int open_handles; /* handles not yet closed; freed at 0 */
};

static void proc_handle_closed(uv_handle_t *h)
{
	struct occo_proc *p = h->data;

	if (--p->open_handles == 0)
		free(p);
}

static void proc_close(struct occo_proc *p)
{
	uv_close((uv_handle_t *)&p->handle, proc_handle_closed);
	uv_close((uv_handle_t *)&p->timer, proc_handle_closed);
}

static void proc_exited(uv_process_t *h, int64_t status, int sig)
{
	struct occo_proc *p = h->data;

	uv_timer_stop(&p->timer);
	if (p->cb)
		p->cb(p, sig ? -1 : status, sig, p->timed_out, p->ud);
	proc_close(p);
}

static void proc_signal(struct occo_proc *p, int sig)
{
	pid_t pid = p->handle.pid;

	if (pid <= 0)
		return;
	if (p->detached)
		kill(-pid, sig);
	else
		kill(pid, sig);
}

static void proc_kill_timer(uv_timer_t *t)
{
	proc_signal(t->data, SIGKILL);
}

static void proc_deadline(uv_timer_t *t)
{
	struct occo_proc *p = t->data;

	p->timed_out = 1;
	proc_signal(p, SIGTERM);
	uv_timer_start(&p->timer, proc_kill_timer, KILL_GRACE_MS, 0);
}

static int open_out(const char *path, struct occo_err *err)
{
	int fd = open(path ? path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return occo_err_sys(err, OCCO_EIO, errno, "cannot open '%s'",
				    path ? path : "/dev/null");
	return fd;
}

int occo_proc_spawn(uv_loop_t *loop, const struct occo_proc_opts *o, occo_proc_exit_cb cb, void *ud,
		    struct occo_proc **out, struct occo_err *err)
{
	uv_process_options_t uo;
	uv_stdio_container_t stdio[3];
	struct occo_proc *p;
	int fd_out, fd_err = -1, fd_in, rc;

	if (!o->argv || !o->argv[0])
		return occo_err_set(err, OCCO_EINVAL, "no program to run");
	fd_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd_in < 0)
		return occo_err_sys(err, OCCO_EIO, errno, "cannot open '/dev/null'");
	fd_out = open_out(o->stdout_path, err);
	if (fd_out < 0) {
		close(fd_in);
		return fd_out;
	}
	if (o->stderr_path) {
		fd_err = open_out(o->stderr_path, err);
		if (fd_err < 0) {
			close(fd_in);
			close(fd_out);
			return fd_err;
		}
	}
	p = occo_calloc(1, sizeof(*p));
	p->cb = cb;
	p->ud = ud;
	p->detached = o->detached;
	memset(&uo, 0, sizeof(uo));
	uo.exit_cb = proc_exited;
	uo.file = o->file ? o->file : o->argv[0];
	uo.args = o->argv;
	uo.env = o->env;
	uo.cwd = o->cwd;
	uo.flags = o->detached ? UV_PROCESS_DETACHED : 0;
	stdio[0].flags = UV_INHERIT_FD;
	stdio[0].data.fd = fd_in;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fd_out;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fd_err >= 0 ? fd_err : fd_out;
	uo.stdio = stdio;
	uo.stdio_count = 3;
	p->handle.data = p;
	rc = uv_spawn(loop, &p->handle, &uo);
	close(fd_in);
	close(fd_out);
	if (fd_err >= 0)
		close(fd_err);
	if (rc < 0) {
		/* uv_spawn leaves an initialised handle behind even when it fails */
		p->open_handles = 1;
		uv_close((uv_handle_t *)&p->handle, proc_handle_closed);
		return occo_err_set(err, rc == UV_ENOENT ? OCCO_ENOENT : OCCO_EIO,
				    "cannot start '%s': %s", uo.file, uv_strerror(rc));
	}
	uv_timer_init(loop, &p->timer);
	p->timer.data = p;
	p->open_handles = 2;
	if (o->timeout_ms)
		uv_timer_start(&p->timer, proc_deadline, o->timeout_ms, 0);
	if (o->detached) {
		uv_unref((uv_handle_t *)&p->handle);
		uv_unref((uv_handle_t *)&p->timer);
	}
	OCCO_DEBUG("process started", OCCO_KV("program", uo.file));
	if (out)
		*out = p;
	return 0;
}

int occo_proc_pid(const struct occo_proc *p)
{
	return p->handle.pid;
}

int occo_proc_kill(struct occo_proc *p, int sig, struct occo_err *err)
{
	pid_t pid = p->handle.pid;
	int rc = p->detached ? kill(-pid, sig) : kill(pid, sig);

	if (rc < 0 && errno != ESRCH)
		return occo_err_sys(err, OCCO_EIO, errno, "cannot signal process %d", (int)pid);
	return 0;
}

void occo_proc_forget(struct occo_proc *p)
{
	p->cb = NULL;
	uv_timer_stop(&p->timer);
	proc_close(p);
}
