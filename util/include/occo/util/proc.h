/*
 * proc.h - child processes on the libuv loop, their output captured to files.
 *
 * Used where the orchestrator runs programs: the embedded redis-server, local nodes (issue of
 * the local back-end), copkg start/stop scripts. A process started with `detached` runs in its
 * own session (so it and its children can be signalled as a group, and it outlives the
 * orchestrator) and does not keep the loop alive; it is still reaped if it exits while the
 * orchestrator runs.
 */
#ifndef OCCO_UTIL_PROC_H
#define OCCO_UTIL_PROC_H

#include <stdint.h>

#include <uv.h>

#include "occo/util/err.h"

struct occo_proc;

struct occo_proc_opts {
	const char *file; /* program to run; NULL: argv[0] (looked up on PATH) */
	char **argv; /* NULL-terminated; argv[0] required */
	char **env; /* NULL-terminated "K=V"; NULL: inherit the environment */
	const char *cwd; /* NULL: inherit */
	const char *stdout_path; /* appended to (created 0600); NULL: /dev/null */
	const char *stderr_path; /* appended to (created 0600); NULL: same file as stdout */
	int detached; /* own session, does not keep the loop alive */
	uint64_t timeout_ms; /* 0: none; else SIGTERM at the deadline, SIGKILL 2 s later */
};

/*
 * Called once when the process has exited: exit_status (or -1 if killed), term_signal (or 0).
 * timed_out is 1 when it was killed because of timeout_ms. The occo_proc is freed after the
 * callback returns.
 */
typedef void (*occo_proc_exit_cb)(struct occo_proc *p, int64_t exit_status, int term_signal,
				  int timed_out, void *ud);

/*
 * Start a process. On success *out (may be NULL) is the handle, valid until the exit callback
 * has returned, and cb (may be NULL) will run exactly once. On failure (program not found,
 * output file not writable) nothing runs and cb is never called.
 */
int occo_proc_spawn(uv_loop_t *loop, const struct occo_proc_opts *opts, occo_proc_exit_cb cb,
		    void *ud, struct occo_proc **out, struct occo_err *err);

int occo_proc_pid(const struct occo_proc *p);

/* Send a signal to the process (to its whole process group when detached). */
int occo_proc_kill(struct occo_proc *p, int sig, struct occo_err *err);

/*
 * Forget the process: the exit callback will not run and the handle is closed now, so this
 * loop no longer waits for (or reaps) the process, which keeps running. For a loop that must
 * close while a detached process lives on.
 */
void occo_proc_forget(struct occo_proc *p);

#endif
