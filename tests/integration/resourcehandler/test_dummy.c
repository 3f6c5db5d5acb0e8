/*
 * test_dummy.c - the resource handler core driving the dummy cloud against a real
 * redis-server: coalesced creates, list states from one HGETALL, failures and overrides, drops,
 * the concurrency and rate limits, retries of transient errors, deadlines, and rh_free with
 * operations in flight.
 *
 * Each test runs its own loop and server and ends with uv_loop_close() == 0. Nothing sleeps:
 * the loop runs until the callbacks a test waits for.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <uv.h>

#include "testutil.h"
#include "occo/resourcehandler/rh.h"
#include "occo/util/alloc.h"
#include "occo/util/redis.h"

#define NS "t"
#define INFRA "inf1"
#define HASH NS ":dummycloud:{" INFRA "}:nodes"
#define EPKEY "dummy dummy"

struct fx {
	uv_loop_t loop;
	struct occo_test_redis srv;
	struct occo_redis *r;
	struct rh *rh;
	redisContext *sync;
};

/* What one callback saw. */
struct res {
	int calls;
	int code;
	char msg[512];
	char id[64];
	size_t n;
	enum rh_state states[4];
	char addr[32];
	char imsg[64];
};

static void run_until(uv_loop_t *loop, const int *flag, int want)
{
	while (*flag < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && *flag < want)
			fail_msg("the loop ran dry before the event");
}

static void record(struct res *r, const struct occo_err *err)
{
	r->calls++;
	if (err) {
		r->code = err->code;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
	}
}

static int done_count; /* callbacks of the current test */

static void on_created(const char *id, const struct occo_err *err, void *ud)
{
	struct res *r = ud;

	record(r, err);
	if (id)
		snprintf(r->id, sizeof(r->id), "%s", id);
	done_count++;
}

static void on_dropped(const struct occo_err *err, void *ud)
{
	record(ud, err);
	done_count++;
}

static void on_listed(const struct rh_instance *v, size_t n, const struct occo_err *err, void *ud)
{
	struct res *r = ud;
	size_t i;

	record(r, err);
	r->n = n;
	for (i = 0; i < n && i < 4; i++) {
		r->states[i] = v[i].state;
		if (json_array_size(v[i].addresses))
			snprintf(r->addr, sizeof(r->addr), "%s",
				 json_string_value(json_array_get(v[i].addresses, 0)));
		if (v[i].message)
			snprintf(r->imsg, sizeof(r->imsg), "%s", v[i].message);
	}
	done_count++;
}

static void fx_rh(struct fx *f, const struct rh_opts *o)
{
	struct rh_env env = { .loop = &f->loop, .redis = f->r, .ns = NS };
	struct occo_err err;

	if (rh_new(&env, o, &f->rh, &err) < 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	struct occo_redis_opts o;
	struct occo_err err;

	assert_int_equal(uv_loop_init(&f->loop), 0);
	if (occo_test_redis_start(&f->srv) < 0)
		fail_msg("cannot start redis-server");
	occo_redis_opts_init(&o);
	o.addr.path = f->srv.sock;
	o.quiet = 1;
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, &err), 0);
	f->sync = redisConnectUnix(f->srv.sock);
	assert_true(f->sync && !f->sync->err);
	done_count = 0;
	*state = f;
	return 0;
}

static void closed_cb(void *ud)
{
	(*(int *)ud)++;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int closed = 0;

	rh_free(f->rh);
	occo_redis_close(f->r, closed_cb, &closed);
	run_until(&f->loop, &closed, 1);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	redisFree(f->sync);
	occo_test_redis_stop(&f->srv);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static long long cmd_calls(struct fx *f, const char *cmd)
{
	redisReply *rep = redisCommand(f->sync, "INFO commandstats");
	char pat[64], *p;
	long long n = 0;

	assert_non_null(rep);
	snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", cmd);
	p = strstr(rep->str, pat);
	if (p)
		n = atoll(p + strlen(pat));
	freeReplyObject(rep);
	return n;
}

static long long hlen(struct fx *f)
{
	redisReply *rep = redisCommand(f->sync, "HLEN %s", HASH);
	long long n = rep->integer;

	freeReplyObject(rep);
	return n;
}

/* A node of the dummy cloud; res holds the resource section (owned by the caller). */
static struct rh_node node(const json_t *res, const char *token)
{
	struct rh_node n = {
		.infra_id = INFRA, .node_id = token, .name = "vm", .token = token, .resource = res
	};

	return n;
}

static void create(struct fx *f, const json_t *res, const char *token, struct res *r)
{
	struct rh_node n = node(res, token);
	struct occo_err err;

	if (rh_create(f->rh, &n, on_created, r, &err) < 0)
		fail_msg("%s", err.msg);
}

static void list(struct fx *f, const json_t *res, struct res *r)
{
	struct rh_node n = node(res, NULL);
	struct occo_err err;

	if (rh_list(f->rh, &n, on_listed, r, &err) < 0)
		fail_msg("%s", err.msg);
}

static void on_wait(uv_timer_t *t)
{
	(*(int *)t->data)++;
}

static void on_wait_closed(uv_handle_t *h)
{
	(void)h;
}

/* Let the loop run for ms milliseconds (a timer, not a sleep). */
static void run_for(struct fx *f, uint64_t ms)
{
	uv_timer_t t;
	int fired = 0;

	uv_timer_init(&f->loop, &t);
	t.data = &fired;
	uv_timer_start(&t, on_wait, ms, 0);
	run_until(&f->loop, &fired, 1);
	uv_close((uv_handle_t *)&t, on_wait_closed);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_create__thousand_coalesced(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .max_concurrent = 1000 };
	json_t *res = json_pack("{s:s}", "type", "dummy");
	struct res *r = occo_calloc(1000, sizeof(*r));
	struct rh_stats st;
	char tok[32];
	int i;

	fx_rh(f, &o);
	freeReplyObject(redisCommand(f->sync, "CONFIG RESETSTAT"));
	for (i = 0; i < 1000; i++) {
		snprintf(tok, sizeof(tok), "tok%d", i);
		create(f, res, tok, &r[i]);
	}
	run_until(&f->loop, &done_count, 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(tok, sizeof(tok), "dummy-tok%d", i);
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].code, 0);
		assert_string_equal(r[i].id, tok);
	}
	assert_int_equal(hlen(f), 1000);
	assert_true(cmd_calls(f, "hset") <= 3);
	assert_int_equal(rh_stats_get(f->rh, EPKEY, &st, NULL), 0);
	assert_int_equal(st.creates, 1000);
	assert_int_equal(st.active + st.waiting + st.retries + st.failures, 0);
	free(r);
	json_decref(res);
}

static void test_list__pending_then_ready(void **state)
{
	struct fx *f = *state;
	json_t *res = json_pack("{s:s, s:i}", "type", "dummy", "ready_after_ms", 100);
	struct res c = { 0 }, l1 = { 0 }, l2 = { 0 };

	fx_rh(f, NULL);
	create(f, res, "a", &c);
	run_until(&f->loop, &c.calls, 1);
	freeReplyObject(redisCommand(f->sync, "CONFIG RESETSTAT"));
	list(f, res, &l1);
	run_until(&f->loop, &l1.calls, 1);
	assert_int_equal(l1.code, 0);
	assert_int_equal(l1.n, 1);
	assert_int_equal(l1.states[0], RH_PENDING);
	run_for(f, 120);
	list(f, res, &l2);
	run_until(&f->loop, &l2.calls, 1);
	assert_int_equal(l2.n, 1);
	assert_int_equal(l2.states[0], RH_READY);
	/* a loopback address outside 127.0.0.0/16: a ping of it never leaves the machine */
	assert_true(!strncmp(l2.addr, "127.", 4));
	assert_false(!strncmp(l2.addr, "127.0.", 6));
	assert_int_equal(cmd_calls(f, "hgetall"), 2);
	json_decref(res);
}

static void test_list__failed_and_overridden(void **state)
{
	struct fx *f = *state;
	json_t *bad = json_pack("{s:s, s:f}", "type", "dummy", "fail_rate", 1.0);
	json_t *good = json_pack("{s:s}", "type", "dummy");
	struct res c1 = { 0 }, c2 = { 0 }, l = { 0 }, l2 = { 0 };
	redisReply *rep;
	json_t *rec;
	char *s;

	fx_rh(f, NULL);
	create(f, bad, "f", &c1);
	run_until(&f->loop, &c1.calls, 1);
	list(f, bad, &l);
	run_until(&f->loop, &l.calls, 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.states[0], RH_FAILED);
	assert_string_equal(l.imsg, "simulated failure");

	/* A test breaks an instance by hand: its state says so. */
	freeReplyObject(redisCommand(f->sync, "DEL %s", HASH));
	create(f, good, "g", &c2);
	run_until(&f->loop, &c2.calls, 1);
	rep = redisCommand(f->sync, "HGET %s dummy-g", HASH);
	rec = json_loads(rep->str, 0, NULL);
	freeReplyObject(rep);
	json_object_set_new(rec, "state", json_string("shutdown"));
	s = json_dumps(rec, 0);
	freeReplyObject(redisCommand(f->sync, "HSET %s dummy-g %s", HASH, s));
	free(s);
	json_decref(rec);
	list(f, good, &l2);
	run_until(&f->loop, &l2.calls, 1);
	assert_int_equal(l2.n, 1);
	assert_int_equal(l2.states[0], RH_SHUTDOWN);
	json_decref(bad);
	json_decref(good);
}

static void test_drop__removes_and_unknown_is_fine(void **state)
{
	struct fx *f = *state;
	json_t *res = json_pack("{s:s, s:i}", "type", "dummy", "drop_latency_ms", 5);
	struct res c = { 0 }, d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
	struct rh_node n;
	struct occo_err err;

	fx_rh(f, NULL);
	create(f, res, "a", &c);
	create(f, res, "b", &c);
	run_until(&f->loop, &c.calls, 2);
	assert_int_equal(hlen(f), 2);
	n = node(res, "a");
	n.instance_id = "dummy-a";
	assert_int_equal(rh_drop(f->rh, &n, on_dropped, &d1, &err), 0);
	n = node(res, "b"); /* by token */
	assert_int_equal(rh_drop(f->rh, &n, on_dropped, &d2, &err), 0);
	n = node(res, "never");
	n.instance_id = "dummy-never";
	assert_int_equal(rh_drop(f->rh, &n, on_dropped, &d3, &err), 0);
	run_until(&f->loop, &done_count, 5);
	assert_int_equal(d1.calls + d2.calls + d3.calls, 3);
	assert_int_equal(d1.code + d2.code + d3.code, 0);
	assert_int_equal(hlen(f), 0);
	json_decref(res);
}

static void test_create__concurrency_limit(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .max_concurrent = 10 };
	json_t *res = json_pack("{s:s, s:i}", "type", "dummy", "create_latency_ms", 50);
	struct res r[100];
	struct rh_stats st;
	unsigned max_active = 0;
	char tok[16];
	int i;

	memset(r, 0, sizeof(r));
	fx_rh(f, &o);
	for (i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "c%d", i);
		create(f, res, tok, &r[i]);
	}
	while (done_count < 100) {
		uv_run(&f->loop, UV_RUN_ONCE);
		assert_int_equal(rh_stats_get(f->rh, EPKEY, &st, NULL), 0);
		if (st.active > max_active)
			max_active = st.active;
		assert_true(st.active <= 10);
	}
	assert_int_equal(max_active, 10);
	for (i = 0; i < 100; i++)
		assert_int_equal(r[i].calls, 1);
	json_decref(res);
}

/* Without a limit from the program, the plugin's own applies: none for a simulated cloud. */
static void test_create__plugin_limit_when_the_program_sets_none(void **state)
{
	struct fx *f = *state;
	json_t *res = json_pack("{s:s, s:i}", "type", "dummy", "create_latency_ms", 200);
	struct res r[100];
	struct rh_stats st;
	unsigned max_active = 0;
	char tok[16];
	int i;

	memset(r, 0, sizeof(r));
	fx_rh(f, NULL);
	for (i = 0; i < 100; i++) {
		snprintf(tok, sizeof(tok), "p%d", i);
		create(f, res, tok, &r[i]);
	}
	while (done_count < 100) {
		uv_run(&f->loop, UV_RUN_ONCE);
		assert_int_equal(rh_stats_get(f->rh, EPKEY, &st, NULL), 0);
		if (st.active > max_active)
			max_active = st.active;
	}
	assert_int_equal(max_active, 100); /* the core's default of 32 would hold 68 back */
	json_decref(res);
}

static void test_create__rate_limit(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .rate = 50, .burst = 1 };
	json_t *res = json_pack("{s:s}", "type", "dummy");
	struct res r[10];
	uint64_t t0;
	char tok[16];
	int i;

	memset(r, 0, sizeof(r));
	fx_rh(f, &o);
	uv_update_time(&f->loop);
	t0 = uv_now(&f->loop);
	for (i = 0; i < 10; i++) {
		snprintf(tok, sizeof(tok), "r%d", i);
		create(f, res, tok, &r[i]);
	}
	run_until(&f->loop, &done_count, 10);
	/* One token at once, then one every 20 ms: nine waits. */
	assert_true(uv_now(&f->loop) - t0 >= 170);
	json_decref(res);
}

static void test_create__transient_errors_retried(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .max_retries = 30, .backoff_ms = 1 };
	json_t *res =
		json_pack("{s:s, s:f, s:i}", "type", "dummy", "create_error_rate", 0.5, "seed", 7);
	struct res r[20];
	struct rh_stats st;
	char tok[16];
	int i;

	memset(r, 0, sizeof(r));
	fx_rh(f, &o);
	for (i = 0; i < 20; i++) {
		snprintf(tok, sizeof(tok), "e%d", i);
		create(f, res, tok, &r[i]);
	}
	run_until(&f->loop, &done_count, 20);
	for (i = 0; i < 20; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].code, 0);
	}
	assert_int_equal(hlen(f), 20);
	assert_int_equal(rh_stats_get(f->rh, EPKEY, &st, NULL), 0);
	assert_true(st.retries > 0);
	assert_int_equal(st.creates, 20 + st.retries);
	assert_int_equal(st.failures, 0);
	json_decref(res);
}

static void test_create__deadline(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .op_timeout_ms = 20, .max_retries = 2, .backoff_ms = 1 };
	json_t *res = json_pack("{s:s, s:i}", "type", "dummy", "create_latency_ms", 500);
	struct res r = { 0 };
	struct rh_stats st;

	fx_rh(f, &o);
	create(f, res, "slow", &r);
	run_until(&f->loop, &r.calls, 1);
	assert_int_equal(r.code, OCCO_ETIMEDOUT);
	assert_non_null(strstr(r.msg, "dummy dummy: node 'vm': create timed out after 20 ms"));
	assert_int_equal(rh_stats_get(f->rh, EPKEY, &st, NULL), 0);
	assert_int_equal(st.creates, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.failures, 1);
	run_for(f, 30);
	assert_int_equal(r.calls, 1);
	/* as with a real cloud, the instance exists although the call timed out: the next pass
	   finds it by its token */
	assert_int_equal(hlen(f), 1);
	json_decref(res);
}

static void test_free__cancels_in_flight(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .max_concurrent = 3 };
	json_t *res = json_pack("{s:s, s:i}", "type", "dummy", "create_latency_ms", 10000);
	struct res r[6], l = { 0 };
	struct rh_stats st;
	char tok[16];
	int i;

	memset(r, 0, sizeof(r));
	fx_rh(f, &o);
	for (i = 0; i < 6; i++) {
		snprintf(tok, sizeof(tok), "x%d", i);
		create(f, res, tok, &r[i]);
	}
	list(f, res, &l);
	do {
		uv_run(&f->loop, UV_RUN_ONCE);
		assert_int_equal(rh_stats_get(f->rh, EPKEY, &st, NULL), 0);
	} while (st.active < 3);
	assert_int_equal(st.waiting, 4);
	rh_free(f->rh);
	f->rh = NULL;
	for (i = 0; i < 6; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].code, OCCO_ECANCELED);
	}
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.code, OCCO_ECANCELED);
	run_for(f, 20);
	for (i = 0; i < 6; i++)
		assert_int_equal(r[i].calls, 1);
	json_decref(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create__thousand_coalesced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list__pending_then_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list__failed_and_overridden, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop__removes_and_unknown_is_fine, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create__concurrency_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_create__plugin_limit_when_the_program_sets_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create__rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create__transient_errors_retried, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create__deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free__cancels_in_flight, setup, teardown),
	};

	if (!occo_test_have_program("redis-server"))
		return OCCO_TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
