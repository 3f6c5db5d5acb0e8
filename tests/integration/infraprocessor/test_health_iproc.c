/*
 * test_health_iproc.c - health checks in the infraprocessor, against a real Redis and real
 * TCP listeners of the test (one per instance address, 127.77.0.x, so that one instance can
 * fail while the others pass), with a cloud of the test's own and the fake clock (the failing
 * periods pass without waiting):
 *   - a created instance is ready only once its check passes (asked again at each poll);
 *   - one whose check keeps failing longer than its timeout fails, with the probe's words;
 *   - a refresh records a failing instance's first failure and count in the health hash, marks
 *     it failed (health_failed) once past its timeout, and ready again when it passes;
 *   - the failing period survives a restart (a new iproc_infra from what Redis holds).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "netns.h"
#include "fakecloud.h"
#include "testutil.h"
#include "occo/infobroker/batch.h"
#include "occo/infraprocessor/health.h"
#include "occo/infraprocessor/iproc.h"
#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/redis.h"

#define ID "11111111-2222-4333-8444-555555555555"
#define NMAX 8

/* ---- a cloud of the test's own (fakecloud.h): instance n is at 127.77.0.<10 + n> ---- */

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct occo_test_redis redis;
	struct occo_redis *r;
	redisContext *rc;
	struct ib_batch *batch;
	struct fakecloud cloud;
	struct iproc_cloud ops;
	struct hc *hc;
	struct iproc_infra *in;
	int port;
	int listener[NMAX + 1]; /* by instance number; -1: closed */
	int called;
	char node_id[64];
	struct occo_err err;
	int failed;
};

/* Listen (or stop listening) on the address of instance n. */
static void serve(struct fx *f, int n, int on)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	char addr[32];
	int one = 1;

	if (!on) {
		if (f->listener[n] >= 0)
			close(f->listener[n]);
		f->listener[n] = -1;
		return;
	}
	snprintf(addr, sizeof(addr), "127.77.0.%d", 10 + n);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	f->listener[n] = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(f->listener[n], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(f->listener[n], (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listener[n], 64), 0);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	struct occo_redis_opts o;
	struct hc_opts ho = { .port_timeout_ms = 500 };
	int i;

	uv_loop_init(&f->loop);
	if (occo_test_redis_start(&f->redis) < 0)
		return -1;
	occo_redis_opts_init(&o);
	o.addr.path = f->redis.sock;
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, NULL), 0);
	assert_int_equal(ib_batch_open(f->r, "t", NULL, &f->batch, NULL), 0);
	f->rc = redisConnectUnix(f->redis.sock);
	f->ops = fakecloud_init(&f->cloud, &f->loop);
	assert_int_equal(hc_new(&f->loop, NULL, &ho, &f->hc, NULL), 0);
	f->port = occo_test_free_port();
	for (i = 0; i <= NMAX; i++)
		f->listener[i] = -1;
	occo_clock_fake_set(1000000, 1700000000000ull);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int i;

	iproc_infra_close(f->in);
	hc_free(f->hc);
	ib_batch_close(f->batch, NULL, NULL);
	occo_redis_close(f->r, NULL, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	for (i = 0; i <= NMAX; i++)
		serve(f, i, 0);
	redisFree(f->rc);
	fakecloud_release(&f->cloud);
	occo_test_redis_stop(&f->redis);
	occo_clock_fake_clear();
	free(f);
	return 0;
}

static void open_infra(struct fx *f, struct ib_records *records, json_t *health)
{
	struct iproc_opts o = { .poll_ms = 20, .create_timeout_ms = 600000 };
	json_t *desc =
		json_pack("{s:s,s:s,s:[{s:s,s:s,s:{}}],s:[[s]]}", "infra_id", ID, "name", "t",
			  "nodes", "name", "web", "type", "web_t", "variables", "levels", "web");
	json_t *defs = json_pack("{s:[{s:{s:s},s:{s:b,s:[i],s:i}}]}", "web_t", "resource", "type",
				 "fake", "health_check", "ping", 0, "ports", f->port, "timeout", 1);

	assert_int_equal(iproc_infra_open(&f->loop, &f->ops, f->batch, NULL, &o, desc, records,
					  defs, &f->in, NULL),
			 0);
	iproc_infra_set_health(f->in, f->hc, health);
}

static void node_done(const char *node_id, const struct occo_err *err, void *ud)
{
	struct fx *f = ud;

	f->called++;
	snprintf(f->node_id, sizeof(f->node_id), "%s", node_id ? node_id : "");
	f->failed = err != NULL;
	if (err)
		occo_err_copy(&f->err, err);
}

static void refreshed(const struct occo_err *err, void *ud)
{
	node_done(NULL, err, ud);
}

static void run_until(struct fx *f, int calls)
{
	while (f->called < calls)
		uv_run(&f->loop, UV_RUN_ONCE);
}

static void refresh(struct fx *f)
{
	int want = f->called + 1;

	assert_int_equal(iproc_refresh(f->in, refreshed, f, NULL), 0);
	run_until(f, want);
	assert_false(f->failed);
}

/* What Redis holds under hash `what` ("nodes", "health") for node_id, once flushed. */
static json_t *stored(struct fx *f, const char *what, const char *node_id)
{
	redisReply *r;
	json_t *v;

	ib_batch_flush(f->batch);
	/* a PING behind the flushed writes on their connection: answered once they are done */
	assert_int_equal(occo_redis_command_wait(f->r, &r, NULL, "PING"), 0);
	freeReplyObject(r);
	r = redisCommand(f->rc, "HGET t:{" ID "}:%s %s", what, node_id);
	v = r && r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL) : NULL;
	freeReplyObject(r);
	return v;
}

static const char *state_of(struct fx *f, const char *node_id)
{
	const struct ib_record *rec = ib_records_get(iproc_infra_records(f->in), node_id);

	return rec ? rec->state : NULL;
}

/* Create `web` (instance n); returns once the create answered. */
static void create(struct fx *f)
{
	int want = f->called + 1;

	assert_int_equal(iproc_create_node(f->in, "web", node_done, f, NULL), 0);
	run_until(f, want);
}

static void test_create__ready_once_the_check_passes(void **state)
{
	struct fx *f = *state;
	json_t *h;
	int i;

	open_infra(f, NULL, NULL);
	assert_int_equal(iproc_create_node(f->in, "web", node_done, f, NULL), 0);
	/* nothing listens yet: the instance waits (the clock stands still, so no timeout) */
	for (i = 0; i < 2000 && !(h = stored(f, "health", f->node_id)); i++) {
		const struct ib_record *rec;

		ib_records_foreach (iproc_infra_records(f->in), rec)
			snprintf(f->node_id, sizeof(f->node_id), "%s", rec->node_id);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_non_null(h);
	assert_int_equal(f->called, 0);
	assert_string_equal(state_of(f, f->node_id), "pending");
	assert_int_equal(json_integer_value(json_object_get(h, "first_fail_ms")), 1700000000000ll);
	assert_non_null(strstr(json_string_value(json_object_get(h, "error")),
			       "on 127.77.0.11: connection refused"));
	json_decref(h);
	serve(f, 1, 1);
	run_until(f, 1);
	assert_false(f->failed);
	assert_string_equal(state_of(f, f->node_id), "ready");
	h = stored(f, "health", f->node_id);
	assert_null(h); /* passing: out of the health hash */
}

static void test_create__fails_when_failing_past_its_timeout(void **state)
{
	struct fx *f = *state;
	json_t *rec, *h = NULL;
	char want[128];
	int i;

	open_infra(f, NULL, NULL);
	assert_int_equal(iproc_create_node(f->in, "web", node_done, f, NULL), 0);
	for (i = 0; i < 2000 && !h; i++) {
		const struct ib_record *r;

		ib_records_foreach (iproc_infra_records(f->in), r)
			h = stored(f, "health", r->node_id);
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	assert_non_null(h);
	json_decref(h);
	occo_clock_fake_advance(1001); /* the timeout is 1 s: now it is exceeded */
	run_until(f, 1);
	assert_true(f->failed);
	snprintf(want, sizeof(want),
		 "node 'web': health check failing for more than 1 s: port %d on 127.77.0.11: "
		 "connection refused",
		 f->port);
	assert_string_equal(f->err.msg, want);
	rec = stored(f, "nodes", f->node_id);
	assert_string_equal(json_string_value(json_object_get(rec, "state")), "failed");
	assert_true(json_is_true(json_object_get(rec, "health_failed")));
	json_decref(rec);
}

static void test_refresh__tracks_fails_and_recovers(void **state)
{
	struct fx *f = *state;
	char a[64], b[64];
	json_t *h, *rec;

	serve(f, 1, 1);
	serve(f, 2, 1);
	open_infra(f, NULL, NULL);
	create(f);
	snprintf(a, sizeof(a), "%s", f->node_id);
	create(f);
	snprintf(b, sizeof(b), "%s", f->node_id);
	assert_false(f->failed);

	/* b's service stops: a refresh notices, remembers when, but it is not failed yet */
	serve(f, 2, 0);
	refresh(f);
	assert_string_equal(state_of(f, a), "ready");
	assert_string_equal(state_of(f, b), "ready");
	assert_null(stored(f, "health", a));
	h = stored(f, "health", b);
	assert_int_equal(json_integer_value(json_object_get(h, "first_fail_ms")), 1700000000000ll);
	assert_int_equal(json_integer_value(json_object_get(h, "fails")), 1);
	json_decref(h);

	occo_clock_fake_advance(600);
	refresh(f);
	assert_string_equal(state_of(f, b), "ready");
	h = stored(f, "health", b);
	assert_int_equal(json_integer_value(json_object_get(h, "first_fail_ms")), 1700000000000ll);
	assert_int_equal(json_integer_value(json_object_get(h, "fails")), 2);
	json_decref(h);

	/* failing for longer than its timeout: failed, for the enactor to replace */
	occo_clock_fake_advance(600);
	refresh(f);
	assert_string_equal(state_of(f, a), "ready");
	assert_string_equal(state_of(f, b), "failed");
	rec = stored(f, "nodes", b);
	assert_true(json_is_true(json_object_get(rec, "health_failed")));
	assert_non_null(strstr(json_string_value(json_object_get(rec, "error")),
			       "health check failing for more than 1 s: port "));
	json_decref(rec);
	{
		redisReply *r = redisCommand(f->rc, "XRANGE t:{" ID "}:events - +");
		size_t i;
		int failed = 0;

		for (i = 0; r && i < r->elements; i++)
			failed += strstr(r->element[i]->element[1]->element[1]->str,
					 "nodefailed") != NULL;
		freeReplyObject(r);
		assert_int_equal(failed, 1);
	}

	/* it answers again (the guard kept it, say): ready, and out of the health hash */
	serve(f, 2, 1);
	refresh(f);
	assert_string_equal(state_of(f, b), "ready");
	rec = stored(f, "nodes", b);
	assert_null(json_object_get(rec, "health_failed"));
	assert_null(json_object_get(rec, "error"));
	json_decref(rec);
	assert_null(stored(f, "health", b));
}

/* HGETALL of a hash as {field: JSON}. */
static json_t *hash_of(struct fx *f, const char *what)
{
	redisReply *r = redisCommand(f->rc, "HGETALL t:{" ID "}:%s", what);
	json_t *o = json_object();
	size_t i;

	for (i = 0; r && i + 1 < r->elements; i += 2)
		json_object_set_new(o, r->element[i]->str,
				    json_loads(r->element[i + 1]->str, 0, NULL));
	freeReplyObject(r);
	return o;
}

static void test_refresh__failing_period_survives_a_restart(void **state)
{
	struct fx *f = *state;
	char a[64];

	serve(f, 1, 1);
	open_infra(f, NULL, NULL);
	create(f);
	snprintf(a, sizeof(a), "%s", f->node_id);
	serve(f, 1, 0);
	refresh(f); /* the first failure, stored */
	json_decref(stored(f, "health", a));
	iproc_infra_close(f->in);
	f->in = NULL;

	/* another process takes over later: its first check finds the period long over */
	occo_clock_fake_advance(5000);
	{ /* the records as the engine reads them back */
		struct ib_records *recs = ib_records_new();
		json_t *stored_recs = hash_of(f, "nodes");

		assert_int_equal(ib_records_load_json(recs, stored_recs, NULL), 0);
		json_decref(stored_recs);
		open_infra(f, recs, hash_of(f, "health"));
	}
	refresh(f);
	assert_string_equal(state_of(f, a), "failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create__ready_once_the_check_passes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create__fails_when_failing_past_its_timeout,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh__tracks_fails_and_recovers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refresh__failing_period_survives_a_restart,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
