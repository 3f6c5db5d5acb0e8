/*
 * test_proc.c - child processes: exit status, captured output, deadlines, process groups.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/proc.h"

struct result {
	int called;
	int64_t status;
	int sig;
	int timed_out;
};

static void on_exit_cb(struct occo_proc *p, int64_t status, int sig, int timed_out, void *ud)
{
	struct result *r = ud;

	r->called++;
	r->status = status;
	r->sig = sig;
	r->timed_out = timed_out;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = occo_calloc(1, 4096);

	if (f) {
		size_t n = fread(s, 1, 4095, f);

		s[n] = '\0';
		fclose(f);
	}
	return s;
}

static void test_occo_proc_spawn__exit_status_and_output_files(void **state)
{
	uv_loop_t loop;
	struct result r = { 0 };
	char *dir = occo_test_tmpdir("proc");
	char *out = occo_asprintf("%s/out.log", dir), *err = occo_asprintf("%s/err.log", dir);
	char *argv[] = { "sh", "-c", "echo hello; echo oops >&2; exit 3", NULL };
	struct occo_proc_opts o = { .argv = argv, .stdout_path = out, .stderr_path = err };
	char *s;

	uv_loop_init(&loop);
	assert_int_equal(occo_proc_spawn(&loop, &o, on_exit_cb, &r, NULL, NULL), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.called, 1);
	assert_int_equal(r.status, 3);
	assert_int_equal(r.sig, 0);
	s = slurp(out);
	assert_string_equal(s, "hello\n");
	free(s);
	s = slurp(err);
	assert_string_equal(s, "oops\n");
	free(s);
	assert_int_equal(uv_loop_close(&loop), 0);
	occo_test_rmtree(dir);
	free(out);
	free(err);
	free(dir);
}

static void test_occo_proc_spawn__output_is_appended_and_stderr_defaults_to_stdout(void **state)
{
	uv_loop_t loop;
	struct result r = { 0 };
	char *dir = occo_test_tmpdir("proc");
	char *out = occo_asprintf("%s/both.log", dir);
	char *argv[] = { "sh", "-c", "echo a; echo b >&2", NULL };
	struct occo_proc_opts o = { .argv = argv, .stdout_path = out };
	char *s;

	uv_loop_init(&loop);
	occo_test_write_file(dir, "both.log", "before\n");
	assert_int_equal(occo_proc_spawn(&loop, &o, on_exit_cb, &r, NULL, NULL), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	s = slurp(out);
	assert_string_equal(s, "before\na\nb\n");
	free(s);
	uv_loop_close(&loop);
	occo_test_rmtree(dir);
	free(out);
	free(dir);
}

static void test_occo_proc_spawn__deadline_kills(void **state)
{
	uv_loop_t loop;
	struct result r = { 0 };
	char *argv[] = { "sleep", "30", NULL };
	struct occo_proc_opts o = { .argv = argv, .timeout_ms = 50 };

	uv_loop_init(&loop);
	assert_int_equal(occo_proc_spawn(&loop, &o, on_exit_cb, &r, NULL, NULL), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.called, 1);
	assert_int_equal(r.timed_out, 1);
	assert_int_equal(r.sig, SIGTERM);
	assert_int_equal(r.status, -1);
	uv_loop_close(&loop);
}

struct group_test {
	struct occo_proc *p;
	struct result *r;
	int killed;
};

/* Kill the group once, then keep the loop alive until the exit callback has run. */
static void kill_group_cb(uv_timer_t *t)
{
	struct group_test *g = t->data;

	if (!g->killed) {
		assert_int_equal(occo_proc_kill(g->p, SIGTERM, NULL), 0);
		g->killed = 1;
	} else if (g->r->called) {
		uv_close((uv_handle_t *)t, NULL);
	}
}

static void test_occo_proc_kill__detached_signals_the_whole_group(void **state)
{
	uv_loop_t loop;
	uv_timer_t t;
	struct result r = { 0 };
	struct group_test g = { 0 };
	struct occo_proc *p;
	char *dir = occo_test_tmpdir("proc");
	char *pidfile = occo_asprintf("%s/child.pid", dir);
	char *script = occo_asprintf("sleep 30 & echo $! > %s; wait", pidfile);
	char *argv[] = { "sh", "-c", script, NULL };
	struct occo_proc_opts o = { .argv = argv, .detached = 1 };
	char *s;
	int child, i;

	uv_loop_init(&loop);
	assert_int_equal(occo_proc_spawn(&loop, &o, on_exit_cb, &r, &p, NULL), 0);
	assert_true(occo_proc_pid(p) > 0);
	for (i = 0; i < 200; i++) { /* wait for the grandchild to write its pid */
		s = slurp(pidfile);
		child = atoi(s);
		free(s);
		if (child > 0)
			break;
		usleep(10000);
	}
	assert_true(child > 0);
	/* detached processes do not keep the loop alive: hold it with a timer that kills them */
	uv_timer_init(&loop, &t);
	g.p = p;
	g.r = &r;
	t.data = &g;
	uv_timer_start(&t, kill_group_cb, 10, 10);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.called, 1);
	assert_int_equal(r.sig, SIGTERM);
	for (i = 0; i < 200 && kill(child, 0) == 0; i++)
		usleep(10000);
	assert_int_not_equal(kill(child, 0), 0); /* the grandchild got the signal too */
	uv_loop_close(&loop);
	occo_test_rmtree(dir);
	free(pidfile);
	free(script);
	free(dir);
}

static void test_occo_proc_spawn__missing_program_is_an_error_without_callback(void **state)
{
	uv_loop_t loop;
	struct result r = { 0 };
	struct occo_err err;
	char *argv[] = { "occo-no-such-program", NULL };
	struct occo_proc_opts o = { .argv = argv };

	uv_loop_init(&loop);
	assert_int_equal(occo_proc_spawn(&loop, &o, on_exit_cb, &r, NULL, &err), -OCCO_ENOENT);
	assert_non_null(strstr(err.msg, "cannot start 'occo-no-such-program'"));
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(r.called, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_occo_proc_spawn__unwritable_output_is_an_error(void **state)
{
	uv_loop_t loop;
	struct occo_err err;
	char *argv[] = { "true", NULL };
	struct occo_proc_opts o = { .argv = argv, .stdout_path = "/nonexistent-dir/x.log" };

	uv_loop_init(&loop);
	assert_int_equal(occo_proc_spawn(&loop, &o, NULL, NULL, NULL, &err), -OCCO_EIO);
	assert_non_null(strstr(err.msg, "'/nonexistent-dir/x.log'"));
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_proc_spawn__exit_status_and_output_files),
		cmocka_unit_test(
			test_occo_proc_spawn__output_is_appended_and_stderr_defaults_to_stdout),
		cmocka_unit_test(test_occo_proc_spawn__deadline_kills),
		cmocka_unit_test(test_occo_proc_kill__detached_signals_the_whole_group),
		cmocka_unit_test(
			test_occo_proc_spawn__missing_program_is_an_error_without_callback),
		cmocka_unit_test(test_occo_proc_spawn__unwritable_output_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
