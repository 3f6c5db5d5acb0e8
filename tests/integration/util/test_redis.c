/*
 * test_redis.c - the async Redis client and the embedded redis-server, against real
 * redis-servers: commands, pipelining, the server killed mid-pipeline and restarted, the queue
 * and its deadline, close, TCP, AUTH, SELECT, the resolver and a forced reconnect, and
 * starting/reusing/stopping the embedded server.
 *
 * Every test runs its own loop and ends with uv_loop_close() == 0: nothing of a client is left.
 * Nothing sleeps: the loop runs until the event a test waits for.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/log.h"
#include "occo/util/redis.h"

struct fx {
	uv_loop_t loop;
	struct occo_test_redis srv;
	struct occo_redis *r;
	int ups, downs; /* state callbacks */
	struct occo_err last_state_err;
};

/* Run the loop until *flag is set (the test fails if the loop runs dry first). */
static void run_until(uv_loop_t *loop, const int *flag)
{
	while (!*flag)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && !*flag)
			fail_msg("the loop ran dry before the event");
}

static void on_state(struct occo_redis *r, int connected, const struct occo_err *err, void *ud)
{
	struct fx *f = ud;

	if (connected) {
		f->ups++;
	} else {
		f->downs++;
		occo_err_copy(&f->last_state_err, err);
	}
}

static struct occo_redis *client_open(struct fx *f, struct occo_redis_opts *o)
{
	struct occo_redis *r = NULL;
	struct occo_err err;

	if (!o->addr.path && !o->addr.host)
		o->addr.path = f->srv.sock;
	o->on_state = on_state;
	o->state_ud = f;
	assert_int_equal(occo_redis_open(&f->loop, o, &r, &err), 0);
	return r;
}

static void closed_cb(void *ud)
{
	*(int *)ud = 1;
}

static void client_close(struct fx *f, struct occo_redis *r)
{
	int closed = 0;

	occo_redis_close(r, closed_cb, &closed);
	run_until(&f->loop, &closed);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	struct occo_redis_opts o;

	assert_int_equal(uv_loop_init(&f->loop), 0);
	if (occo_test_redis_start(&f->srv) < 0)
		fail_msg("cannot start redis-server");
	occo_redis_opts_init(&o);
	f->r = client_open(f, &o);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->r)
		client_close(f, f->r);
	/* what is left closing (hiredis's poll handles); a test that failed may leave more */
	uv_run(&f->loop, UV_RUN_NOWAIT);
	occo_test_redis_stop(&f->srv);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* Run a command given as space-separated words and return its reply (the test fails on error). */
static redisReply *cmd_wait(struct occo_redis *r, const char *words)
{
	const char *argv[16];
	char *copy = occo_strdup(words), *save = NULL, *w;
	redisReply *rep = NULL;
	struct occo_err err;
	int argc = 0;

	for (w = strtok_r(copy, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	if (occo_redis_command_argv_wait(r, argc, argv, NULL, &rep, &err) < 0)
		fail_msg("%s: %s", words, err.msg);
	free(copy);
	return rep;
}

static void expect_status(struct occo_redis *r, const char *words, const char *status)
{
	redisReply *rep = cmd_wait(r, words);

	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	assert_string_equal(rep->str, status);
	freeReplyObject(rep);
}

/* ---- commands ---- */

static void test_occo_redis_command_argv__binary_set_get_hgetall(void **state)
{
	struct fx *f = *state;
	static const char bin[] = { 'a', '\0', 'b', '\xff', '\r', '\n' };
	const char *set[] = { "SET", "k\0ey", bin };
	size_t setlen[] = { 3, 4, sizeof(bin) };
	const char *get[] = { "GET", "k\0ey" };
	size_t getlen[] = { 3, 4 };
	const char *hset[] = { "HSET", "h", "f1", "v1", "f2", bin };
	size_t hsetlen[] = { 4, 1, 2, 2, 2, sizeof(bin) };
	const char *hgetall[] = { "HGETALL", "h" };
	redisReply *rep = NULL;
	struct occo_err err;
	size_t i;

	assert_int_equal(occo_redis_command_argv_wait(f->r, 3, set, setlen, &rep, &err), 0);
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);

	assert_int_equal(occo_redis_command_argv_wait(f->r, 2, get, getlen, &rep, &err), 0);
	assert_int_equal(rep->type, REDIS_REPLY_STRING);
	assert_int_equal(rep->len, sizeof(bin));
	assert_memory_equal(rep->str, bin, sizeof(bin));
	freeReplyObject(rep);

	assert_int_equal(occo_redis_command_argv_wait(f->r, 6, hset, hsetlen, &rep, &err), 0);
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	assert_int_equal(rep->integer, 2);
	freeReplyObject(rep);

	assert_int_equal(occo_redis_command_argv_wait(f->r, 2, hgetall, NULL, &rep, &err), 0);
	assert_int_equal(rep->type, REDIS_REPLY_ARRAY);
	assert_int_equal(rep->elements, 4);
	for (i = 0; i < 4; i += 2) {
		if (strcmp(rep->element[i]->str, "f1") == 0) {
			assert_string_equal(rep->element[i + 1]->str, "v1");
		} else {
			assert_string_equal(rep->element[i]->str, "f2");
			assert_int_equal(rep->element[i + 1]->len, sizeof(bin));
			assert_memory_equal(rep->element[i + 1]->str, bin, sizeof(bin));
		}
	}
	freeReplyObject(rep);
}

static void test_occo_redis_command__printf_format_and_error_reply(void **state)
{
	struct fx *f = *state;
	redisReply *rep = NULL;
	struct occo_err err;

	assert_int_equal(
		occo_redis_command_wait(f->r, &rep, &err, "SET %s %b", "pk", "x\0y", (size_t)3), 0);
	freeReplyObject(rep);
	assert_int_equal(occo_redis_command_wait(f->r, &rep, &err, "STRLEN %s", "pk"), 0);
	assert_int_equal(rep->integer, 3);
	freeReplyObject(rep);
	/* a Redis error is a reply: the caller decides */
	assert_int_equal(occo_redis_command_wait(f->r, &rep, &err, "HGET %s f", "pk"), 0);
	assert_int_equal(rep->type, REDIS_REPLY_ERROR);
	assert_non_null(strstr(rep->str, "WRONGTYPE"));
	freeReplyObject(rep);
	/* bad calls fail at once and never call back */
	assert_int_equal(occo_redis_command(f->r, NULL, NULL, &err, ""), -OCCO_EINVAL);
	assert_int_equal(occo_redis_command_argv(f->r, 0, NULL, NULL, NULL, NULL, &err),
			 -OCCO_EINVAL);
}

struct pipe {
	int n, calls, errors, in_order;
	int *seen;
	long long last;
};

static void incr_cb(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    void *ud)
{
	struct pipe *p = ud;

	assert_null(err);
	assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
	if (reply->integer != p->last + 1)
		p->in_order = 0;
	p->last = reply->integer;
	p->calls++;
}

static void test_occo_redis_command__10000_pipelined_in_order(void **state)
{
	struct fx *f = *state;
	struct pipe p = { .in_order = 1 };
	struct occo_redis_stats st;
	struct occo_err err;
	int i, done;

	for (i = 0; i < 10000; i++)
		assert_int_equal(occo_redis_command(f->r, incr_cb, &p, &err, "INCR ctr"), 0);
	done = 0;
	while (!done) {
		uv_run(&f->loop, UV_RUN_ONCE);
		done = p.calls == 10000;
	}
	assert_true(p.in_order);
	assert_int_equal(p.last, 10000);
	/* one wait for the server: the other 9,999 went out behind the first */
	occo_redis_stats_get(f->r, &st);
	assert_int_equal(st.commands, 10000);
	assert_int_equal(st.round_trips, 1);
	/* one more once all are answered: a second wait */
	assert_int_equal(occo_redis_command(f->r, incr_cb, &p, &err, "INCR ctr"), 0);
	while (p.calls < 10001)
		uv_run(&f->loop, UV_RUN_ONCE);
	occo_redis_stats_get(f->r, &st);
	assert_int_equal(st.commands, 10001);
	assert_int_equal(st.round_trips, 2);
}

/* ---- the server goes away ---- */

struct kill_run {
	struct fx *f;
	int n, kill_at;
	int *calls;
	int ok, errors, wrong_code;
	int done;
};

struct kill_slot {
	struct kill_run *k;
	int i;
};

static void kill_cb(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    void *ud)
{
	struct kill_slot *s = ud;
	struct kill_run *k = s->k;

	k->calls[s->i]++;
	if (err) {
		k->errors++;
		if (err->code != OCCO_ECONN || !strstr(err->msg, "connection lost") ||
		    !strstr(err->msg, k->f->srv.sock))
			k->wrong_code++;
	} else {
		k->ok++;
		if (k->ok == k->kill_at)
			occo_test_redis_kill(&k->f->srv); /* mid-pipeline */
	}
	if (k->ok + k->errors == k->n)
		k->done = 1;
}

static void test_occo_redis__server_killed_mid_pipeline(void **state)
{
	struct fx *f = *state;
	struct kill_run k = { .f = f, .n = 5000, .kill_at = 100 };
	struct kill_slot *slots = occo_calloc(k.n, sizeof(*slots));
	struct occo_err err;
	redisReply *rep;
	int i;

	k.calls = occo_calloc(k.n, sizeof(int));
	expect_status(f->r, "PING", "PONG");
	for (i = 0; i < k.n; i++) {
		slots[i].k = &k;
		slots[i].i = i;
		/* the server blocks on BLPOP: everything after it is pending when it dies */
		if (i == k.kill_at)
			assert_int_equal(occo_redis_command(f->r, kill_cb, &slots[i], &err,
							    "BLPOP nothing 0"),
					 0);
		else
			assert_int_equal(
				occo_redis_command(f->r, kill_cb, &slots[i], &err, "SET k%d v", i),
				0);
	}
	run_until(&f->loop, &k.done);
	for (i = 0; i < k.n; i++)
		assert_int_equal(k.calls[i], 1);
	assert_int_equal(k.ok, k.kill_at);
	assert_int_equal(k.errors, k.n - k.kill_at);
	assert_int_equal(k.wrong_code, 0);

	/* same client, server back on the same socket */
	assert_int_equal(occo_test_redis_start(&f->srv), 0);
	rep = cmd_wait(f->r, "SET after restart");
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	assert_true(f->downs >= 1);
	assert_int_equal(f->ups, 2);
	free(k.calls);
	free(slots);
}

struct done_count {
	int n, ok, errors, code, closed;
	char msg[OCCO_ERR_MSG_MAX];
	uint64_t at;
	uv_loop_t *loop;
};

static void count_cb(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		     void *ud)
{
	struct done_count *d = ud;

	d->n++;
	d->at = uv_now(d->loop);
	if (err) {
		d->errors++;
		d->code = err->code;
		snprintf(d->msg, sizeof(d->msg), "%s", err->msg);
	} else if (reply->type != REDIS_REPLY_ERROR) {
		d->ok++;
	}
}

static void wait_down(struct fx *f)
{
	int downs = f->downs;

	while (f->downs == downs)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_false(occo_redis_is_connected(f->r));
}

static void test_occo_redis__queued_while_down_sent_after_restart(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_err err;
	redisReply *rep;
	int i, all = 0;

	expect_status(f->r, "PING", "PONG");
	occo_test_redis_kill(&f->srv);
	wait_down(f);
	for (i = 0; i < 100; i++)
		assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "RPUSH q %d", i), 0);
	assert_int_equal(occo_test_redis_start(&f->srv), 0);
	while (!all) {
		uv_run(&f->loop, UV_RUN_ONCE);
		all = d.n == 100;
	}
	assert_int_equal(d.ok, 100);
	rep = cmd_wait(f->r, "LRANGE q 0 -1");
	assert_int_equal(rep->elements, 100);
	assert_string_equal(rep->element[0]->str, "0");
	assert_string_equal(rep->element[99]->str, "99");
	freeReplyObject(rep);
}

static void test_occo_redis__queued_fails_at_deadline_when_down(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_redis_opts o;
	struct occo_err err;
	uint64_t t0;

	client_close(f, f->r);
	occo_redis_opts_init(&o);
	o.cmd_timeout_ms = 200;
	f->r = client_open(f, &o);
	expect_status(f->r, "PING", "PONG");
	occo_test_redis_kill(&f->srv);
	wait_down(f);
	t0 = uv_now(&f->loop);
	assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "PING"), 0);
	while (d.n == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.code, OCCO_ECONN);
	assert_true(d.at - t0 >= 200);
	assert_non_null(strstr(d.msg, "not connected within 200 ms"));
	assert_non_null(strstr(d.msg, f->srv.sock));
	assert_int_equal(f->last_state_err.code, OCCO_ECONN);
}

static void test_occo_redis__reply_late_times_out(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_redis_opts o;
	struct occo_err err;

	client_close(f, f->r);
	occo_redis_opts_init(&o);
	o.cmd_timeout_ms = 200;
	f->r = client_open(f, &o);
	expect_status(f->r, "PING", "PONG");
	/* the server answers after 250 ms */
	assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "BLPOP nothing 0.25"), 0);
	while (d.n == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(d.code, OCCO_ETIMEDOUT);
	assert_non_null(strstr(d.msg, "no reply within 200 ms"));
	/* the late reply is dropped; the connection goes on */
	expect_status(f->r, "PING", "PONG");
}

/* A reply callback that takes its time (a program parsing a large description). */
static void slow_cb(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    void *ud)
{
	count_cb(r, reply, err, ud);
	usleep(400 * 1000);
}

static void test_occo_redis__a_reply_waiting_behind_a_slow_callback_is_not_late(void **state)
{
	struct fx *f = *state;
	struct done_count first = { .loop = &f->loop }, second = { .loop = &f->loop };
	struct occo_redis_opts o;
	struct occo_err err;
	char *big = occo_malloc(2 << 20);
	const char *set[] = { "SET", "big", big };
	size_t setlen[] = { 3, 3, 2 << 20 };
	redisReply *rep = NULL;

	memset(big, 'x', 2 << 20);
	assert_int_equal(occo_redis_command_argv_wait(f->r, 3, set, setlen, &rep, &err), 0);
	freeReplyObject(rep);
	free(big);
	client_close(f, f->r);
	occo_redis_opts_init(&o);
	o.cmd_timeout_ms = 200;
	f->r = client_open(f, &o);
	expect_status(f->r, "PING", "PONG");
	/* two large replies: the second is still in the socket when the first's callback ends,
	   400 ms later, past the second's deadline; the server was not late, we were */
	assert_int_equal(occo_redis_command(f->r, slow_cb, &first, &err, "GET big"), 0);
	assert_int_equal(occo_redis_command(f->r, count_cb, &second, &err, "GET big"), 0);
	while (second.n == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(first.ok, 1);
	assert_int_equal(second.errors, 0);
	assert_int_equal(second.ok, 1);
}

static void test_occo_redis__server_that_never_answers(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct done_count d = { .loop = &f->loop };
	char *path = occo_asprintf("%s/mute.sock", f->srv.dir);
	struct occo_redis_opts o;
	struct occo_redis *t;
	struct occo_err err;
	int fd;

	/* listens, never accepts: connect() succeeds, the handshake gets no answer */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 16), 0);

	occo_redis_opts_init(&o);
	o.addr.path = path;
	o.connect_timeout_ms = 100;
	o.cmd_timeout_ms = 300;
	o.max_queued = 2;
	t = client_open(f, &o);
	assert_int_equal(occo_redis_command(t, count_cb, &d, &err, "PING"), 0);
	assert_int_equal(occo_redis_command(t, count_cb, &d, &err, "PING"), 0);
	assert_int_equal(occo_redis_command(t, count_cb, &d, &err, "PING"), -OCCO_ECONN);
	assert_non_null(strstr(err.msg, "2 commands are waiting"));
	while (d.n < 2)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(d.code, OCCO_ECONN);
	assert_non_null(strstr(d.msg, "not connected within 300 ms: cannot connect: no answer "
				      "within 100 ms"));
	assert_int_equal(f->last_state_err.code, OCCO_ETIMEDOUT);
	client_close(f, t);
	close(fd);
	free(path);
}

/* ---- close ---- */

static void test_occo_redis_close__pending_and_queued_get_ecanceled(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_err err;
	int i, closed = 0;

	expect_status(f->r, "PING", "PONG");
	/* sent and blocked behind BLPOP, or still in hiredis's buffer */
	assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "BLPOP nothing 0"), 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "SET c%d x", i), 0);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	occo_redis_close(f->r, closed_cb, &closed);
	/* answered before close returns */
	assert_int_equal(d.n, 1001);
	assert_int_equal(d.errors, 1001);
	assert_int_equal(d.code, OCCO_ECANCELED);
	assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "PING"), -OCCO_ESTATE);
	run_until(&f->loop, &closed);
	f->r = NULL;
}

static void test_occo_redis_close__while_down_and_before_first_connect(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_redis_opts o;
	struct occo_redis *r2;
	struct occo_err err;

	/* never ran the loop: the first attempt has not even started */
	occo_redis_opts_init(&o);
	r2 = client_open(f, &o);
	assert_int_equal(occo_redis_command(r2, count_cb, &d, &err, "PING"), 0);
	client_close(f, r2);
	assert_int_equal(d.code, OCCO_ECANCELED);

	/* down, waiting for the next attempt */
	occo_test_redis_kill(&f->srv);
	wait_down(f);
	assert_int_equal(occo_redis_command(f->r, count_cb, &d, &err, "PING"), 0);
	client_close(f, f->r);
	f->r = NULL;
	assert_int_equal(d.n, 2);
	assert_int_equal(d.code, OCCO_ECANCELED);
}

static void close_in_cb(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			void *ud)
{
	struct done_count *d = ud;

	count_cb(r, reply, err, ud);
	if (d->n == 1)
		occo_redis_close(r, closed_cb, &d->closed);
}

static void test_occo_redis_close__from_a_reply_callback(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_err err;
	int i;

	for (i = 0; i < 50; i++)
		assert_int_equal(occo_redis_command(f->r, close_in_cb, &d, &err, "PING"), 0);
	while (d.n < 50)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(d.ok, 1);
	assert_int_equal(d.errors, 49);
	assert_int_equal(d.code, OCCO_ECANCELED);
	run_until(&f->loop, &d.closed);
	f->r = NULL;
}

/* ---- TCP, AUTH, SELECT ---- */

static int free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void test_occo_redis_open__tcp_by_address_and_name(void **state)
{
	struct fx *f = *state;
	const char *hosts[] = { "127.0.0.1", "localhost" };
	struct occo_redis_opts o;
	struct occo_redis *t;
	redisReply *rep;
	char cmd[64];
	int port = free_port();
	size_t i;

	/* the test's server listens on the unix socket only: open a loopback port too */
	expect_status(f->r, "CONFIG SET bind 127.0.0.1", "OK");
	snprintf(cmd, sizeof(cmd), "CONFIG SET port %d", port);
	expect_status(f->r, cmd, "OK");
	for (i = 0; i < 2; i++) {
		occo_redis_opts_init(&o);
		o.addr.host = hosts[i];
		o.addr.port = port;
		t = client_open(f, &o);
		expect_status(t, "SET tcp yes", "OK");
		rep = cmd_wait(t, "GET tcp");
		assert_string_equal(rep->str, "yes");
		freeReplyObject(rep);
		snprintf(cmd, sizeof(cmd), "redis at %s:%d", hosts[i], port);
		assert_string_equal(occo_redis_name(t), cmd);
		client_close(f, t);
	}
}

static int secret_logged;

static void watch_log(int level, const char *line, void *ud)
{
	if (strstr(line, "wrong-pw-123") || strstr(line, "right-pw-456"))
		secret_logged = 1;
}

static void test_occo_redis_open__wrong_password_is_a_clear_error(void **state)
{
	struct fx *f = *state;
	struct done_count d = { .loop = &f->loop };
	struct occo_redis_opts o;
	struct occo_redis *t;
	struct occo_err err;
	redisReply *rep;

	occo_log_set_sink(watch_log, NULL);
	occo_log_set_level(OCCO_LOG_DEBUG);
	expect_status(f->r, "CONFIG SET requirepass right-pw-456", "OK");

	occo_redis_opts_init(&o);
	o.password = "wrong-pw-123";
	t = client_open(f, &o);
	assert_int_equal(occo_redis_command(t, count_cb, &d, &err, "PING"), 0);
	while (d.n == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(d.code, OCCO_EAUTH);
	assert_non_null(strstr(d.msg, "authentication failed"));
	assert_non_null(strstr(d.msg, f->srv.sock));
	assert_null(strstr(d.msg, "wrong-pw-123"));
	assert_int_equal(f->last_state_err.code, OCCO_EAUTH);
	client_close(f, t);

	occo_redis_opts_init(&o);
	o.password = "right-pw-456";
	t = client_open(f, &o);
	expect_status(t, "PING", "PONG");
	assert_int_equal(occo_redis_command_wait(t, &rep, &err, "CONFIG SET requirepass %s", ""),
			 0); /* off again */
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	client_close(f, t);

	occo_log_set_sink(NULL, NULL);
	occo_log_set_level(OCCO_LOG_WARN);
	assert_false(secret_logged);
}

static void test_occo_redis_open__selects_the_database(void **state)
{
	struct fx *f = *state;
	struct occo_redis_opts o;
	struct occo_redis *t;
	redisReply *rep;

	occo_redis_opts_init(&o);
	o.db = 3;
	t = client_open(f, &o);
	expect_status(t, "SET only3 x", "OK");
	client_close(f, t);
	rep = cmd_wait(f->r, "EXISTS only3");
	assert_int_equal(rep->integer, 0);
	freeReplyObject(rep);
	rep = cmd_wait(f->r, "SELECT 3");
	freeReplyObject(rep);
	rep = cmd_wait(f->r, "EXISTS only3");
	assert_int_equal(rep->integer, 1);
	freeReplyObject(rep);
}

/* A resolver that answers later, from a timer, with the test server's socket. */
struct resolver {
	uv_timer_t timer;
	struct occo_redis *r;
	const char *sock;
	int asked;
	int stopped; /* resolve_stop calls */
};

static void resolver_answer(uv_timer_t *t)
{
	struct resolver *res = t->data;
	struct occo_redis_addr a = { .path = res->sock };

	occo_redis_resolved(res->r, &a, NULL);
}

static void resolve(struct occo_redis *r, void *ud)
{
	struct resolver *res = ud;

	res->asked++;
	res->r = r;
	uv_timer_start(&res->timer, resolver_answer, 1, 0);
}

static void test_occo_redis_open__asks_the_resolver_each_attempt(void **state)
{
	struct fx *f = *state;
	struct resolver res = { .sock = f->srv.sock };
	struct occo_redis_opts o;
	struct occo_redis *t;

	uv_timer_init(&f->loop, &res.timer);
	res.timer.data = &res;
	occo_redis_opts_init(&o);
	o.resolve = resolve;
	o.resolve_ud = &res;
	t = client_open(f, &o);
	expect_status(t, "PING", "PONG");
	assert_int_equal(res.asked, 1);
	assert_non_null(strstr(occo_redis_name(t), f->srv.sock));
	occo_test_redis_kill(&f->srv);
	while (occo_redis_is_connected(t))
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(occo_test_redis_start(&f->srv), 0);
	expect_status(t, "PING", "PONG");
	assert_true(res.asked >= 2);
	client_close(f, t);
	uv_close((uv_handle_t *)&res.timer, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* res is on this stack frame */
}

static void resolver_stop(struct occo_redis *r, void *ud)
{
	struct resolver *res = ud;

	(void)r;
	res->stopped++;
}

/*
 * occo_redis_reconnect (a Sentinel announced a new master): the command in flight fails with
 * -OCCO_ECONN, the resolver is asked again, later commands run on the new connection; close
 * tells the resolver.
 */
static void test_occo_redis_reconnect__drops_and_asks_the_resolver_again(void **state)
{
	struct fx *f = *state;
	struct resolver res = { .sock = f->srv.sock };
	struct done_count d = { .loop = &f->loop };
	struct occo_redis_opts o;
	struct occo_redis *t;
	struct occo_err err;
	int downs;

	uv_timer_init(&f->loop, &res.timer);
	res.timer.data = &res;
	occo_redis_opts_init(&o);
	o.resolve = resolve;
	o.resolve_stop = resolver_stop;
	o.resolve_ud = &res;
	t = client_open(f, &o);
	expect_status(t, "PING", "PONG");
	assert_int_equal(res.asked, 1);

	/* the server holds BLPOP: it is in flight when the connection is dropped */
	assert_int_equal(occo_redis_command(t, count_cb, &d, &err, "BLPOP nothing 0"), 0);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	downs = f->downs;
	occo_redis_reconnect(t, "the master moved");
	while (d.n == 0)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(d.code, OCCO_ECONN);
	assert_int_equal(f->downs, downs + 1);
	assert_non_null(strstr(f->last_state_err.msg, "connection dropped: the master moved"));
	expect_status(t, "PING", "PONG");
	assert_int_equal(res.asked, 2);

	assert_int_equal(res.stopped, 0);
	client_close(f, t);
	assert_int_equal(res.stopped, 1);
	uv_close((uv_handle_t *)&res.timer, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT); /* res is on this stack frame */
}

/* ---- the embedded server ---- */

struct emb_result {
	int done;
	int code;
	char sock[256];
	char msg[OCCO_ERR_MSG_MAX];
};

static void emb_cb(const char *sock, const struct occo_err *err, void *ud)
{
	struct emb_result *e = ud;

	e->done = 1;
	if (err) {
		e->code = err->code;
		snprintf(e->msg, sizeof(e->msg), "%s", err->msg);
	} else {
		snprintf(e->sock, sizeof(e->sock), "%s", sock);
	}
}

static void stop_cb(const struct occo_err *err, void *ud)
{
	*(int *)ud = err ? -err->code : 1;
}

static int read_pid(const char *dir)
{
	char *path = occo_asprintf("%s/redis.pid", dir);
	FILE *fp = fopen(path, "r");
	int pid = 0;

	free(path);
	if (!fp)
		return 0;
	if (fscanf(fp, "%d", &pid) != 1)
		pid = 0;
	fclose(fp);
	return pid;
}

/* How many processes are redis-servers on that socket ("redis-server unixsocket:<sock>"). */
static int count_servers(const char *sock)
{
	char path[64], buf[512], *want = occo_asprintf("unixsocket:%s", sock);
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0, fd;
	ssize_t len;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (strstr(buf, want))
			n++;
	}
	if (d)
		closedir(d);
	free(want);
	return n;
}

static void embedded_stop(uv_loop_t *loop, const char *dir)
{
	struct occo_err err;
	int stopped = 0;

	assert_int_equal(occo_redis_embedded_stop(loop, dir, NULL, stop_cb, &stopped, &err), 0);
	run_until(loop, &stopped);
	assert_int_equal(stopped, 1);
}

static void test_occo_redis_embedded_start__starts_reuses_and_stops(void **state)
{
	struct fx *f = *state;
	char *dir = occo_test_tmpdir("emb");
	char *state_dir = occo_asprintf("%s/state/sub", dir); /* created */
	struct emb_result a = { 0 }, b = { 0 };
	struct occo_redis_opts o;
	struct occo_redis *t;
	struct occo_err err;
	struct stat st;
	char *aof;
	int pid;

	assert_int_equal(occo_redis_embedded_start(&f->loop, state_dir, NULL, emb_cb, &a, &err), 0);
	assert_int_equal(a.done, 0); /* never from inside the call */
	run_until(&f->loop, &a.done);
	assert_int_equal(a.code, 0);
	assert_non_null(strstr(a.sock, "/state/sub/redis.sock"));
	pid = read_pid(state_dir);
	assert_true(pid > 0);

	occo_redis_opts_init(&o);
	o.addr.path = a.sock;
	t = client_open(f, &o);
	expect_status(t, "SET persisted yes", "OK");
	client_close(f, t);
	aof = occo_asprintf("%s/appendonlydir/appendonly.aof.manifest", state_dir);
	assert_int_equal(stat(aof, &st), 0);
	free(aof);
	assert_int_equal(stat(a.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* a second start reuses it */
	assert_int_equal(occo_redis_embedded_start(&f->loop, state_dir, NULL, emb_cb, &b, &err), 0);
	run_until(&f->loop, &b.done);
	assert_int_equal(b.code, 0);
	assert_string_equal(a.sock, b.sock);
	assert_int_equal(read_pid(state_dir), pid);
	assert_int_equal(count_servers(a.sock), 1);

	embedded_stop(&f->loop, state_dir);
	assert_int_equal(count_servers(a.sock), 0);
	/* stopping what does not run is fine */
	embedded_stop(&f->loop, state_dir);

	/* started again, the data is back from the AOF */
	memset(&a, 0, sizeof(a));
	assert_int_equal(occo_redis_embedded_start(&f->loop, state_dir, NULL, emb_cb, &a, &err), 0);
	run_until(&f->loop, &a.done);
	assert_int_equal(a.code, 0);
	assert_int_not_equal(read_pid(state_dir), pid);
	occo_redis_opts_init(&o);
	o.addr.path = a.sock;
	t = client_open(f, &o);
	expect_status(t, "PING", "PONG");
	{
		redisReply *rep = cmd_wait(t, "GET persisted");

		assert_string_equal(rep->str, "yes");
		freeReplyObject(rep);
	}
	client_close(f, t);
	embedded_stop(&f->loop, state_dir);

	occo_test_rmtree(dir);
	free(state_dir);
	free(dir);
}

static void test_occo_redis_embedded_start__concurrent_starts_make_one_server(void **state)
{
	struct fx *f = *state;
	char *dir = occo_test_tmpdir("emb2");
	struct emb_result r[3] = { { 0 } };
	struct occo_err err;
	int i, all = 0, status;
	char mypid[16];
	pid_t child;

	/* a stale pidfile naming a live process that is no redis-server (this one) */
	snprintf(mypid, sizeof(mypid), "%d\n", (int)getpid());
	occo_test_write_file(dir, "redis.pid", mypid);
	/* another process starts too, with its own loop */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct emb_result c = { 0 };
		uv_loop_t loop;

		uv_loop_init(&loop);
		if (occo_redis_embedded_start(&loop, dir, NULL, emb_cb, &c, &err) < 0)
			_exit(2);
		while (!c.done)
			uv_run(&loop, UV_RUN_ONCE);
		_exit(c.code ? 1 : 0);
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(
			occo_redis_embedded_start(&f->loop, dir, NULL, emb_cb, &r[i], &err), 0);
	while (!all) {
		uv_run(&f->loop, UV_RUN_ONCE);
		all = r[0].done && r[1].done && r[2].done;
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].code, 0);
		assert_string_equal(r[i].sock, r[0].sock);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(count_servers(r[0].sock), 1);
	assert_int_not_equal(read_pid(dir), getpid());
	embedded_stop(&f->loop, dir);
	occo_test_rmtree(dir);
	free(dir);
}

static void test_occo_redis_embedded_start__failures_are_reported(void **state)
{
	struct fx *f = *state;
	char *dir = occo_test_tmpdir("emb3");
	struct occo_redis_embedded_opts eo = { .server = "/nonexistent/redis-server" };
	struct emb_result r = { 0 };
	struct occo_err err;
	char *longdir;

	assert_int_equal(occo_redis_embedded_start(&f->loop, dir, &eo, emb_cb, &r, &err), 0);
	run_until(&f->loop, &r.done);
	assert_int_equal(r.code, OCCO_ENOENT);
	assert_non_null(strstr(r.msg, "/nonexistent/redis-server"));

	/* a server that exits at once: its output ends the message */
	occo_test_write_file(dir, "fake-server",
			     "#!/bin/sh\necho 'fatal: bad config' >&2\nexit 3\n");
	eo.server = occo_asprintf("%s/fake-server", dir);
	chmod(eo.server, 0755);
	memset(&r, 0, sizeof(r));
	assert_int_equal(occo_redis_embedded_start(&f->loop, dir, &eo, emb_cb, &r, &err), 0);
	run_until(&f->loop, &r.done);
	assert_int_equal(r.code, OCCO_EIO);
	assert_non_null(strstr(r.msg, "exited with status 3"));
	assert_non_null(strstr(r.msg, "fatal: bad config"));
	free((char *)eo.server);

	/* too long for a unix socket path: fails at once */
	longdir = occo_asprintf("%s/%0120d", dir, 0);
	assert_int_equal(occo_redis_embedded_start(&f->loop, longdir, NULL, emb_cb, &r, &err),
			 -OCCO_EINVAL);
	free(longdir);
	occo_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_occo_redis_command_argv__binary_set_get_hgetall, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_command__printf_format_and_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis_command__10000_pipelined_in_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis__server_killed_mid_pipeline, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis__queued_while_down_sent_after_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis__queued_fails_at_deadline_when_down,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis__reply_late_times_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis__a_reply_waiting_behind_a_slow_callback_is_not_late, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis__server_that_never_answers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_close__pending_and_queued_get_ecanceled, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_close__while_down_and_before_first_connect, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis_close__from_a_reply_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis_open__tcp_by_address_and_name,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_open__wrong_password_is_a_clear_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_redis_open__selects_the_database, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_open__asks_the_resolver_each_attempt, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_reconnect__drops_and_asks_the_resolver_again, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_embedded_start__starts_reuses_and_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_embedded_start__concurrent_starts_make_one_server, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_embedded_start__failures_are_reported, setup, teardown),
	};

	if (!occo_test_have_program("redis-server")) {
		fprintf(stderr, "redis-server is not installed: skipped\n");
		return OCCO_TEST_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getenv("OCCO_TEST_FILTER"))
		cmocka_set_test_filter(getenv("OCCO_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
