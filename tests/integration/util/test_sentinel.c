/*
 * test_sentinel.c - the Redis client behind Redis Sentinel, against real servers on loopback:
 * a master, its replica and three sentinels (tests/support/sentinel.h). The client finds the
 * master through the sentinels, follows it when it is killed and when the sentinels move it
 * (SENTINEL FAILOVER), refuses a server that is not a master, and says clearly when the
 * sentinels do not know the master or cannot be reached.
 *
 * Every test runs its own loop and ends with uv_loop_close() == 0. Waiting is for the servers
 * (polling them), never for a timer of the client.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <uv.h>

#include "sentinel.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/redis_sentinel.h"

#define MASTER "occo-master"
#define FOLLOW_MAX_MS 15000

struct fx {
	uv_loop_t loop;
	struct occo_test_sentinels srv;
	int have_srv;
	struct occo_redis *r;
	struct occo_err down; /* the last error of on_state */
};

static int setup_loop(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));

	assert_int_equal(uv_loop_init(&f->loop), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	struct fx *f;

	setup_loop(state);
	f = *state;
	if (occo_test_sentinels_start(&f->srv, MASTER) < 0) {
		occo_test_sentinels_stop(&f->srv);
		fail_msg("cannot start the master, the replica and the sentinels");
	}
	f->have_srv = 1;
	return 0;
}

static void closed_cb(void *ud)
{
	*(int *)ud = 1;
}

static void client_close(struct fx *f)
{
	int closed = 0;

	if (!f->r)
		return;
	occo_redis_close(f->r, closed_cb, &closed);
	while (!closed)
		uv_run(&f->loop, UV_RUN_ONCE);
	f->r = NULL;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	client_close(f);
	/* what is left closing: the sentinels' query clients, the subscription */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	if (f->have_srv)
		occo_test_sentinels_stop(&f->srv);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static void on_state(struct occo_redis *r, int connected, const struct occo_err *err, void *ud)
{
	struct fx *f = ud;

	(void)r;
	if (!connected)
		occo_err_copy(&f->down, err);
}

/* Open a client through the fixture's sentinels (ports) or the given ones. */
static struct occo_redis *open_via(struct fx *f, const int *ports, size_t n, const char *master,
				   unsigned cmd_timeout_ms)
{
	struct occo_redis_addr addrs[OCCO_TEST_SENTINELS + 2] = { 0 };
	struct occo_redis_sentinel_opts so;
	struct occo_redis_opts o;
	struct occo_redis *r = NULL;
	struct occo_err err;
	size_t i;

	for (i = 0; i < n; i++) {
		addrs[i].host = "127.0.0.1";
		addrs[i].port = ports[i];
	}
	occo_redis_opts_init(&o);
	o.cmd_timeout_ms = cmd_timeout_ms;
	o.on_state = on_state;
	o.state_ud = f;
	occo_redis_sentinel_opts_init(&so);
	so.sentinels = addrs;
	so.nsentinels = n;
	so.master = master;
	so.timeout_ms = 500;
	if (occo_redis_sentinel_open(&f->loop, &o, &so, &r, &err) < 0)
		fail_msg("occo_redis_sentinel_open: %s", err.msg);
	return r;
}

/* SET key val through the client; 0, or the error's code (err filled). */
static int try_set(struct occo_redis *r, const char *key, const char *val, struct occo_err *err)
{
	redisReply *rep = NULL;
	int rc = occo_redis_command_wait(r, &rep, err, "SET %s %s", key, val);

	if (rc == 0 && rep->type != REDIS_REPLY_STATUS) {
		rc = occo_err_set(err, OCCO_EREMOTE, "SET answered %s",
				  rep->type == REDIS_REPLY_ERROR ? rep->str : "something else");
	}
	if (rep)
		freeReplyObject(rep);
	return rc;
}

static char *get(struct occo_redis *r, const char *key)
{
	redisReply *rep = NULL;
	struct occo_err err;
	char *v;

	if (occo_redis_command_wait(r, &rep, &err, "GET %s", key) < 0)
		fail_msg("GET %s: %s", key, err.msg);
	v = rep->type == REDIS_REPLY_STRING ? occo_strdup(rep->str) : NULL;
	freeReplyObject(rep);
	return v;
}

static void expect_name(struct occo_redis *r, int port)
{
	char want[64];

	snprintf(want, sizeof(want), "redis at 127.0.0.1:%d", port);
	assert_string_equal(occo_redis_name(r), want);
}

/* Write through the client, replicated (WAIT), before the master goes away. */
static void write_replicated(struct fx *f)
{
	redisReply *rep = NULL;
	struct occo_err err;

	if (try_set(f->r, "before", "v1", &err) < 0)
		fail_msg("SET before the failover: %s", err.msg);
	expect_name(f->r, f->srv.master_port);
	assert_int_equal(occo_redis_command_wait(f->r, &rep, &err, "WAIT 1 5000"), 0);
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	assert_int_equal(rep->integer, 1);
	freeReplyObject(rep);
}

/* The port of the server the client is connected to (its name ends with ":PORT"). */
static int name_port(const struct occo_redis *r)
{
	const char *colon = strrchr(occo_redis_name(r), ':');

	return colon ? atoi(colon + 1) : -1;
}

/*
 * Write again and again (to the old master while it still is one) until a write succeeds on the
 * promoted replica; the time it took.
 */
static uint64_t write_until_followed(struct fx *f)
{
	uint64_t t0 = uv_hrtime(), ms = 0;
	struct occo_err err;
	int failures = 0;

	for (;;) {
		ms = (uv_hrtime() - t0) / 1000000;
		if (ms > FOLLOW_MAX_MS)
			fail_msg("the client did not follow the failover within %d ms: %s",
				 FOLLOW_MAX_MS, err.msg);
		if (try_set(f->r, "after", "v2", &err) < 0)
			failures++; /* -OCCO_ECONN or -OCCO_ETIMEDOUT while the master moves */
		else if (name_port(f->r) == f->srv.replica_port)
			break;
	}
	fprintf(stderr, "# followed the master to port %d in %llu ms (%d writes failed)\n",
		f->srv.replica_port, (unsigned long long)ms, failures);
	return ms;
}

/* ---- following the master ---- */

static void test_occo_redis_sentinel_open__follows_a_killed_master(void **state)
{
	struct fx *f = *state;
	char *v;

	f->r = open_via(f, f->srv.sentinel_port, OCCO_TEST_SENTINELS, MASTER, 1000);
	write_replicated(f);

	kill(f->srv.master_pid, SIGKILL);
	waitpid(f->srv.master_pid, NULL, 0);
	f->srv.master_pid = 0;

	assert_true(write_until_followed(f) < FOLLOW_MAX_MS);
	expect_name(f->r, f->srv.replica_port);
	v = get(f->r, "before");
	assert_non_null(v);
	assert_string_equal(v, "v1");
	free(v);
	v = get(f->r, "after");
	assert_string_equal(v, "v2");
	free(v);
}

static void test_occo_redis_sentinel_open__follows_a_manual_failover(void **state)
{
	struct fx *f = *state;
	redisReply *rep;
	char *role, *v;

	f->r = open_via(f, f->srv.sentinel_port, OCCO_TEST_SENTINELS, MASTER, 1000);
	write_replicated(f);

	/* the old master stays up and becomes a replica of the new one */
	rep = occo_test_tcp_command(f->srv.sentinel_port[1], "SENTINEL FAILOVER %s", MASTER);
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);

	assert_true(write_until_followed(f) < FOLLOW_MAX_MS);
	v = get(f->r, "before");
	assert_string_equal(v, "v1");
	free(v);
	role = occo_test_info_field(f->srv.replica_port, "replication", "role");
	assert_string_equal(role, "master");
	free(role);
}

/* ---- what is refused ---- */

/*
 * A master demoted behind the client's back (REPLICAOF does not close its clients) is dropped
 * by the periodic ROLE check, and not connected to again while it is not a master.
 */
static void test_occo_redis_sentinel_open__a_demoted_master_is_dropped(void **state)
{
	struct fx *f = *state;
	uint64_t t0;
	redisReply *rep;

	f->r = open_via(f, f->srv.sentinel_port, OCCO_TEST_SENTINELS, MASTER, 1000);
	write_replicated(f);
	rep = occo_test_tcp_command(f->srv.master_port, "REPLICAOF 127.0.0.1 %d",
				    occo_test_free_port());
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_STATUS);
	freeReplyObject(rep);

	/* the check runs every second */
	t0 = uv_hrtime();
	while (!f->down.code && (uv_hrtime() - t0) / 1000000 < 5000)
		uv_run(&f->loop, UV_RUN_ONCE);
	if (!strstr(f->down.msg, "connection dropped: the server is no longer a master (role "
				 "'slave')"))
		fail_msg("unexpected: '%s'", f->down.msg);
	occo_err_clear(&f->down);
	while (!f->down.code && (uv_hrtime() - t0) / 1000000 < 5000)
		uv_run(&f->loop, UV_RUN_ONCE);
	if (!strstr(f->down.msg, "not a master: its role is 'slave'"))
		fail_msg("unexpected: '%s'", f->down.msg);
	assert_false(occo_redis_is_connected(f->r));
}

/* A server that is not a master (a stale answer of a sentinel) is never used. */
static void test_occo_redis_open__require_master_refuses_a_replica(void **state)
{
	struct fx *f = *state;
	struct occo_redis_opts o;
	redisReply *rep = NULL;
	struct occo_err err;

	occo_redis_opts_init(&o);
	o.addr.host = "127.0.0.1";
	o.addr.port = f->srv.replica_port;
	o.require_master = 1;
	o.quiet = 1;
	o.cmd_timeout_ms = 1000;
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, &err), 0);
	assert_true(occo_redis_command_wait(f->r, &rep, &err, "PING") < 0);
	assert_int_equal(err.code, OCCO_ECONN);
	assert_non_null(strstr(err.msg, "not a master: its role is 'slave'"));
	client_close(f);

	/* the master itself passes */
	o.addr.port = f->srv.master_port;
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, &err), 0);
	assert_int_equal(occo_redis_command_wait(f->r, &rep, &err, "PING"), 0);
	freeReplyObject(rep);
}

static void test_occo_redis_sentinel_open__unknown_master_is_reported(void **state)
{
	struct fx *f = *state;
	redisReply *rep = NULL;
	struct occo_err err;
	char want[128];
	int i;

	f->r = open_via(f, f->srv.sentinel_port, OCCO_TEST_SENTINELS, "no-such-master", 1500);
	assert_true(occo_redis_command_wait(f->r, &rep, &err, "PING") < 0);
	assert_int_equal(err.code, OCCO_ECONN);
	assert_non_null(strstr(err.msg, "no sentinel gave the address of master 'no-such-master'"));
	for (i = 0; i < OCCO_TEST_SENTINELS; i++) {
		snprintf(want, sizeof(want),
			 "sentinel 127.0.0.1:%d: no master named 'no-such-master'",
			 f->srv.sentinel_port[i]);
		if (!strstr(err.msg, want))
			fail_msg("'%s' not in '%s'", want, err.msg);
	}
}

static void test_occo_redis_sentinel_open__all_sentinels_down_names_them(void **state)
{
	struct fx *f = *state;
	int ports[2] = { occo_test_free_port(), occo_test_free_port() };
	redisReply *rep = NULL;
	struct occo_err err;
	uint64_t t0 = uv_hrtime();
	char want[128];
	int i;

	f->r = open_via(f, ports, 2, MASTER, 1500);
	assert_true(occo_redis_command_wait(f->r, &rep, &err, "PING") < 0);
	/* the command's deadline, not longer */
	assert_true((uv_hrtime() - t0) / 1000000 < 3000);
	assert_int_equal(err.code, OCCO_ECONN);
	assert_non_null(strstr(err.msg, "no sentinel gave the address of master '" MASTER "'"));
	for (i = 0; i < 2; i++) {
		snprintf(want, sizeof(want), "sentinel 127.0.0.1:%d: cannot connect: ", ports[i]);
		if (!strstr(err.msg, want))
			fail_msg("'%s' not in '%s'", want, err.msg);
	}
}

static void test_occo_redis_sentinel_open__bad_options_are_refused(void **state)
{
	struct fx *f = *state;
	struct occo_redis_addr addrs[OCCO_REDIS_SENTINEL_MAX + 1] = { { 0 } };
	struct occo_redis_sentinel_opts so;
	struct occo_redis_opts o;
	struct occo_redis *r = NULL;
	struct occo_err err;

	occo_redis_opts_init(&o);
	occo_redis_sentinel_opts_init(&so);
	so.sentinels = addrs;
	so.nsentinels = 1;
	assert_int_equal(occo_redis_sentinel_open(&f->loop, &o, &so, &r, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "no master name"));
	so.master = "m";
	assert_int_equal(occo_redis_sentinel_open(&f->loop, &o, &so, &r, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "sentinel 1 has no address"));
	so.nsentinels = 0;
	assert_int_equal(occo_redis_sentinel_open(&f->loop, &o, &so, &r, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "no sentinel to ask for 'm'"));
	so.nsentinels = OCCO_REDIS_SENTINEL_MAX + 1;
	assert_int_equal(occo_redis_sentinel_open(&f->loop, &o, &so, &r, &err), -OCCO_EINVAL);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_occo_redis_sentinel_open__follows_a_killed_master, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_sentinel_open__follows_a_manual_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_sentinel_open__a_demoted_master_is_dropped, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_open__require_master_refuses_a_replica, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_sentinel_open__unknown_master_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_sentinel_open__all_sentinels_down_names_them, setup_loop,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_redis_sentinel_open__bad_options_are_refused, setup_loop,
			teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (!occo_test_have_program("redis-server"))
		return OCCO_TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
