/*
 * test_batch.c - the write batch and the event log against a real redis-server: coalescing
 * (1,000 puts cost one HSET, checked with the batch's counters and Redis's commandstats),
 * the order of writes to one field, error replies reaching the right callbacks, the capped
 * event stream, and the server killed in the middle of a flush.
 *
 * Each test runs its own loop and server and ends with uv_loop_close() == 0. Nothing sleeps:
 * the loop runs until the callbacks a test waits for.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <uv.h>

#include "testutil.h"
#include "occo/infobroker/batch.h"
#include "occo/infobroker/events.h"
#include "occo/infobroker/infra.h"
#include "occo/util/alloc.h"
#include "occo/util/redis.h"

#define NS "t"
#define ID "inf1"

struct fx {
	uv_loop_t loop;
	struct occo_test_redis srv;
	struct occo_redis *r;
	struct ib_batch *b;
	redisContext *sync; /* a blocking connection to look at the server */
};

/* What a write's callback saw. */
struct done {
	int calls;
	struct occo_err err;
};

static void on_done(const struct occo_err *err, void *ud)
{
	struct done *d = ud;

	d->calls++;
	if (err)
		occo_err_copy(&d->err, err);
}

static void run_until(uv_loop_t *loop, const int *flag, int want)
{
	while (*flag < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && *flag < want)
			fail_msg("the loop ran dry before the event");
}

/* Run until every entry of d[0..n) was called (each at most once). */
static void run_until_all(uv_loop_t *loop, struct done *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		run_until(loop, &d[i].calls, 1);
		assert_int_equal(d[i].calls, 1);
	}
}

static struct occo_redis *client_open(struct fx *f, unsigned cmd_timeout_ms)
{
	struct occo_redis_opts o;
	struct occo_redis *r = NULL;
	struct occo_err err;

	occo_redis_opts_init(&o);
	o.addr.path = f->srv.sock;
	o.cmd_timeout_ms = cmd_timeout_ms;
	o.quiet = 1;
	assert_int_equal(occo_redis_open(&f->loop, &o, &r, &err), 0);
	return r;
}

static void batch_open(struct fx *f, const struct ib_batch_opts *o)
{
	struct occo_err err;

	if (ib_batch_open(f->r, NS, o, &f->b, &err) < 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));

	assert_int_equal(uv_loop_init(&f->loop), 0);
	if (occo_test_redis_start(&f->srv) < 0)
		fail_msg("cannot start redis-server");
	f->r = client_open(f, 5000);
	f->sync = redisConnectUnix(f->srv.sock);
	assert_true(f->sync && !f->sync->err);
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
	int closed = 0, want = 0;

	if (f->b) {
		ib_batch_close(f->b, closed_cb, &closed);
		want++;
	}
	if (f->r) {
		occo_redis_close(f->r, closed_cb, &closed);
		want++;
	}
	run_until(&f->loop, &closed, want);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	redisFree(f->sync);
	occo_test_redis_stop(&f->srv);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static redisReply *sync_cmd(struct fx *f, const char *fmt, ...)
{
	va_list ap;
	redisReply *rep;

	va_start(ap, fmt);
	rep = redisvCommand(f->sync, fmt, ap);
	va_end(ap);
	if (!rep)
		fail_msg("sync command '%s' failed: %s", fmt, f->sync->errstr);
	return rep;
}

static long long sync_int(struct fx *f, const char *fmt, const char *arg)
{
	redisReply *rep = sync_cmd(f, fmt, arg);
	long long n = rep->integer;

	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	freeReplyObject(rep);
	return n;
}

/* How many times the server ran a command (INFO commandstats). */
static long long cmd_calls(struct fx *f, const char *cmd)
{
	redisReply *rep = sync_cmd(f, "INFO commandstats");
	char pat[64], *p;
	long long n = 0;

	snprintf(pat, sizeof(pat), "cmdstat_%s:calls=", cmd);
	p = strstr(rep->str, pat);
	if (p)
		n = atoll(p + strlen(pat));
	freeReplyObject(rep);
	return n;
}

static char *hget(struct fx *f, const char *key, const char *field)
{
	redisReply *rep = sync_cmd(f, "HGET %s %s", key, field);
	char *s = rep->type == REDIS_REPLY_STRING ? occo_strdup(rep->str) : NULL;

	freeReplyObject(rep);
	return s;
}

static json_t *record(int i)
{
	char id[32];

	snprintf(id, sizeof(id), "n%04d", i);
	return json_pack("{s:s, s:s, s:s, s:i, s:{s:s}, s:s, s:n, s:[], s:s, s:I}", "node_id", id,
			 "name", "worker", "type", "docker_w", "def_index", 0, "resource", "image",
			 "busybox", "token", id, "instance_id", "addresses", "state", "creating",
			 "created_at", (json_int_t)1700000000000 + i);
}

/* ---- coalescing ---- */

static void test_ib_batch__thousand_puts_one_hset(void **state)
{
	struct fx *f = *state;
	struct done *d = occo_calloc(1000, sizeof(*d));
	struct ib_batch_stats st;
	struct occo_err err;
	long long before, after;
	char id[32], *v;
	int i;

	batch_open(f, NULL);
	before = cmd_calls(f, "hset");
	for (i = 0; i < 1000; i++) {
		json_t *rec = record(i);

		snprintf(id, sizeof(id), "n%04d", i);
		assert_int_equal(ib_batch_node_put(f->b, ID, id, rec, on_done, &d[i], &err), 0);
		json_decref(rec);
	}
	/* nothing was called from inside the queueing calls, nothing issued yet */
	for (i = 0; i < 1000; i++)
		assert_int_equal(d[i].calls, 0);
	assert_int_equal(ib_batch_pending(f->b), 1000);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.commands, 0);

	/* the next turn of the loop flushes */
	run_until_all(&f->loop, d, 1000);
	for (i = 0; i < 1000; i++)
		assert_int_equal(d[i].err.code, 0);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.writes, 1000);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.commands, 1);
	after = cmd_calls(f, "hset");
	assert_int_equal(after - before, 1);
	assert_int_equal(sync_int(f, "HLEN %s", NS ":{" ID "}:nodes"), 1000);
	v = hget(f, NS ":{" ID "}:nodes", "n0999");
	assert_non_null(strstr(v, "\"created_at\":1700000000999"));
	free(v);
	free(d);
}

static void test_ib_batch__max_fields_splits_commands(void **state)
{
	struct fx *f = *state;
	struct ib_batch_opts o = { .max_fields = 100 };
	struct done d[250] = { 0 };
	struct ib_batch_stats st;
	json_t *rec = json_object();
	char id[32];
	int i;

	batch_open(f, &o);
	for (i = 0; i < 250; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		assert_int_equal(ib_batch_node_put(f->b, ID, id, rec, on_done, &d[i], NULL), 0);
	}
	json_decref(rec);
	ib_batch_flush(f->b);
	assert_int_equal(ib_batch_pending(f->b), 0);
	run_until_all(&f->loop, d, 250);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.commands, 3);
	assert_int_equal(sync_int(f, "HLEN %s", NS ":{" ID "}:nodes"), 250);
}

static void test_ib_batch__last_write_per_field_wins(void **state)
{
	struct fx *f = *state;
	struct done d[7] = { 0 };
	struct ib_batch_stats st;
	json_t *v1 = json_pack("{s:i}", "v", 1), *v2 = json_pack("{s:i}", "v", 2);
	long long hset0 = cmd_calls(f, "hset"), hdel0 = cmd_calls(f, "hdel");
	char *s;
	int i;

	batch_open(f, NULL);
	freeReplyObject(sync_cmd(f, "HSET %s keep x gone x", NS ":{" ID "}:nodes"));
	/* put then delete: deleted */
	ib_batch_node_put(f->b, ID, "a", v1, on_done, &d[0], NULL);
	ib_batch_node_del(f->b, ID, "a", on_done, &d[1], NULL);
	/* delete then put: written */
	ib_batch_node_del(f->b, ID, "b", on_done, &d[2], NULL);
	ib_batch_node_put(f->b, ID, "b", v1, on_done, &d[3], NULL);
	/* put twice: the second value */
	ib_batch_node_put(f->b, ID, "c", v1, on_done, &d[4], NULL);
	ib_batch_node_put(f->b, ID, "c", v2, on_done, &d[5], NULL);
	/* a field that existed before */
	ib_batch_node_del(f->b, ID, "gone", on_done, &d[6], NULL);
	json_decref(v1);
	json_decref(v2);
	run_until_all(&f->loop, d, 7);
	for (i = 0; i < 7; i++)
		assert_int_equal(d[i].err.code, 0);

	assert_null(hget(f, NS ":{" ID "}:nodes", "a"));
	assert_null(hget(f, NS ":{" ID "}:nodes", "gone"));
	s = hget(f, NS ":{" ID "}:nodes", "b");
	assert_string_equal(s, "{\"v\":1}");
	free(s);
	s = hget(f, NS ":{" ID "}:nodes", "c");
	assert_string_equal(s, "{\"v\":2}");
	free(s);
	s = hget(f, NS ":{" ID "}:nodes", "keep");
	assert_string_equal(s, "x");
	free(s);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.commands, 2);
	assert_int_equal(cmd_calls(f, "hset") - hset0, 2); /* ours + the sync one above */
	assert_int_equal(cmd_calls(f, "hdel") - hdel0, 1);
}

static void test_ib_batch__keys_kinds_and_flush_turns(void **state)
{
	struct fx *f = *state;
	struct done d[6] = { 0 };
	struct ib_batch_stats st;
	json_t *h = json_pack("{s:I, s:i}", "first_fail_ms", (json_int_t)1000, "fails", 2);
	json_t *rec = json_object();
	char *s;

	batch_open(f, NULL);
	ib_batch_node_put(f->b, ID, "n1", rec, on_done, &d[0], NULL);
	ib_batch_node_put(f->b, "inf2", "n1", rec, on_done, &d[1], NULL);
	ib_batch_health_put(f->b, ID, "n1", h, on_done, &d[2], NULL);
	ib_batch_scaling_target(f->b, ID, "worker", 3, on_done, &d[3], NULL);
	ib_batch_scaling_put(f->b, ID, "node-destroy:worker:u1", "n1", NULL, NULL, NULL);
	ib_batch_event(f->b, ID, IB_EV_INFRASTART, NULL, on_done, &d[4], NULL);
	run_until_all(&f->loop, d, 5);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.flushes, 1);
	assert_int_equal(st.commands, 5); /* 4 keys, 1 event */

	/* later writes go in a flush of their own, again on the next turn of the loop */
	ib_batch_health_del(f->b, ID, "n1", on_done, &d[5], NULL);
	ib_batch_scaling_del(f->b, ID, "node-destroy:worker:u1", NULL, NULL, NULL);
	run_until_all(&f->loop, &d[5], 1);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.flushes, 2);
	assert_null(hget(f, NS ":{" ID "}:health", "n1"));
	assert_null(hget(f, NS ":{" ID "}:scaling", "node-destroy:worker:u1"));
	s = hget(f, NS ":{" ID "}:scaling", "node-count-worker");
	assert_string_equal(s, "3");
	free(s);
	assert_int_equal(sync_int(f, "HLEN %s", NS ":{inf2}:nodes"), 1);
	json_decref(h);
	json_decref(rec);
}

static void test_ib_batch__bad_writes_are_refused(void **state)
{
	struct fx *f = *state;
	struct occo_err err;
	json_t *rec = json_object();

	batch_open(f, NULL);
	assert_int_equal(ib_batch_node_put(f->b, "", "n", rec, on_done, NULL, &err), -OCCO_EINVAL);
	assert_int_equal(ib_batch_node_put(f->b, ID, NULL, rec, on_done, NULL, &err), -OCCO_EINVAL);
	assert_int_equal(ib_batch_node_put(f->b, ID, "n", NULL, on_done, NULL, &err), -OCCO_EINVAL);
	assert_int_equal(ib_batch_event(f->b, ID, "nodeexploded", NULL, on_done, NULL, &err),
			 -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "unknown event 'nodeexploded'"));
	assert_int_equal(ib_batch_pending(f->b), 0);
	json_decref(rec);
}

/* ---- errors ---- */

static void test_ib_batch__error_reply_reaches_its_callbacks(void **state)
{
	struct fx *f = *state;
	struct done d[4] = { 0 };
	json_t *rec = json_object();

	batch_open(f, NULL);
	freeReplyObject(sync_cmd(f, "SET %s string", NS ":{" ID "}:nodes"));
	ib_batch_node_put(f->b, ID, "n1", rec, on_done, &d[0], NULL);
	ib_batch_node_put(f->b, ID, "n2", rec, on_done, &d[1], NULL);
	ib_batch_node_del(f->b, ID, "n2", on_done, &d[2], NULL); /* replaces the put of n2 */
	ib_batch_health_put(f->b, ID, "n1", rec, on_done, &d[3], NULL);
	run_until_all(&f->loop, d, 4);
	assert_int_equal(d[0].err.code, OCCO_EREMOTE);
	assert_non_null(strstr(d[0].err.msg, "cannot write t:{inf1}:nodes: redis at "));
	assert_non_null(strstr(d[0].err.msg, "WRONGTYPE"));
	assert_int_equal(d[1].err.code, OCCO_EREMOTE);
	assert_non_null(strstr(d[1].err.msg, "cannot delete from t:{inf1}:nodes"));
	assert_int_equal(d[2].err.code, OCCO_EREMOTE);
	assert_int_equal(d[3].err.code, 0); /* another key of the same flush */
	json_decref(rec);
}

static void test_ib_batch__server_killed_mid_flush(void **state)
{
	struct fx *f = *state;
	struct done *d = occo_calloc(1000, sizeof(*d)), *e = occo_calloc(1000, sizeof(*e));
	struct done late = { 0 };
	json_t *rec = record(1);
	char id[32];
	int i;

	/* a short deadline: the write queued while the server is gone must not hang */
	occo_redis_close(f->r, NULL, NULL);
	f->r = client_open(f, 300);
	batch_open(f, NULL);
	assert_int_equal(ib_batch_health_put(f->b, ID, "x", rec, on_done, &late, NULL), 0);
	run_until(&f->loop, &late.calls, 1); /* connected and working */
	memset(&late, 0, sizeof(late));

	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "n%d", i);
		ib_batch_node_put(f->b, ID, id, rec, on_done, &d[i], NULL);
		ib_batch_event(f->b, ID, IB_EV_NODECREATING, rec, on_done, &e[i], NULL);
	}
	ib_batch_flush(f->b);
	occo_test_redis_kill(&f->srv);
	run_until_all(&f->loop, d, 1000);
	run_until_all(&f->loop, e, 1000);
	for (i = 0; i < 1000; i++) {
		assert_true(d[i].err.code == OCCO_ECONN || d[i].err.code == OCCO_ETIMEDOUT);
		assert_true(e[i].err.code == OCCO_ECONN || e[i].err.code == OCCO_ETIMEDOUT);
	}
	assert_non_null(strstr(d[0].err.msg, "cannot write t:{inf1}:nodes: redis at "));
	assert_non_null(strstr(e[0].err.msg, "cannot append to t:{inf1}:events: redis at "));

	assert_int_equal(ib_batch_node_put(f->b, ID, "later", rec, on_done, &late, NULL), 0);
	run_until(&f->loop, &late.calls, 1);
	assert_int_equal(late.calls, 1);
	assert_true(late.err.code == OCCO_ECONN || late.err.code == OCCO_ETIMEDOUT);
	json_decref(rec);
	free(d);
	free(e);
}

static void test_ib_batch_close__flushes_then_refuses(void **state)
{
	struct fx *f = *state;
	struct done d = { 0 };
	struct occo_err err;
	json_t *rec = json_object();
	int closed = 0;

	batch_open(f, NULL);
	ib_batch_node_put(f->b, ID, "n1", rec, on_done, &d, NULL);
	ib_batch_close(f->b, closed_cb, &closed);
	assert_int_equal(ib_batch_node_put(f->b, ID, "n2", rec, on_done, NULL, &err), -OCCO_ESTATE);
	f->b = NULL;
	run_until(&f->loop, &closed, 1);
	run_until(&f->loop, &d.calls, 1);
	assert_int_equal(d.err.code, 0);
	assert_int_equal(sync_int(f, "HLEN %s", NS ":{" ID "}:nodes"), 1);
	json_decref(rec);
}

/* ---- events ---- */

struct events_got {
	int calls;
	json_t *events;
	struct occo_err err;
};

static void on_events(json_t *events, const struct occo_err *err, void *ud)
{
	struct events_got *g = ud;

	g->calls++;
	g->events = events;
	if (err)
		occo_err_copy(&g->err, err);
}

static void test_ib_batch_event__capped_and_read_back(void **state)
{
	struct fx *f = *state;
	struct ib_batch_opts o = { .events_maxlen = 100 };
	struct events_got g = { 0 };
	struct done last = { 0 };
	struct ib_batch_stats st;
	long long len;
	json_t *data, *ev;
	int i;

	batch_open(f, &o);
	for (i = 0; i < 1000; i++) {
		data = json_pack("{s:s, s:i}", "node_name", "worker", "i", i);
		assert_int_equal(ib_batch_event(f->b, ID,
						i % 2 ? IB_EV_NODECREATED : IB_EV_NODECREATING,
						data, i == 999 ? on_done : NULL, &last, NULL),
				 0);
		json_decref(data);
	}
	run_until(&f->loop, &last.calls, 1);
	ib_batch_stats(f->b, &st);
	assert_int_equal(st.commands, 1000);
	len = sync_int(f, "XLEN %s", NS ":{" ID "}:events");
	/* MAXLEN ~: trimmed by whole macro nodes (100 entries each by default) */
	assert_true(len >= 100 && len <= 300);

	assert_int_equal(ib_events_last(f->r, NS, ID, 3, on_events, &g, NULL), 0);
	run_until(&f->loop, &g.calls, 1);
	assert_int_equal(g.err.code, 0);
	assert_int_equal(json_array_size(g.events), 3);
	for (i = 0; i < 3; i++) { /* oldest first: 997, 998, 999 */
		ev = json_array_get(g.events, i);
		assert_int_equal(
			json_integer_value(json_object_get(json_object_get(ev, "data"), "i")),
			997 + i);
		assert_string_equal(json_string_value(json_object_get(ev, "event")),
				    (997 + i) % 2 ? "nodecreated" : "nodecreating");
		assert_true(json_integer_value(json_object_get(ev, "ts")) > 1600000000000LL);
		assert_true(json_is_string(json_object_get(ev, "id")));
	}
	json_decref(g.events);
}

static void test_ib_events_last__corrupt_and_missing(void **state)
{
	struct fx *f = *state;
	struct events_got g = { 0 };

	assert_int_equal(ib_events_last(f->r, NS, "none", 10, on_events, &g, NULL), 0);
	run_until(&f->loop, &g.calls, 1);
	assert_int_equal(json_array_size(g.events), 0);
	json_decref(g.events);

	freeReplyObject(
		sync_cmd(f, "XADD %s * event infrastart ts 1 data {oops", NS ":{" ID "}:events"));
	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_events_last(f->r, NS, ID, 10, on_events, &g, NULL), 0);
	run_until(&f->loop, &g.calls, 1);
	assert_null(g.events);
	assert_int_equal(g.err.code, OCCO_EPROTO);
	assert_non_null(strstr(g.err.msg, "t:{inf1}:events"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ib_batch__thousand_puts_one_hset, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch__max_fields_splits_commands, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch__last_write_per_field_wins, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch__keys_kinds_and_flush_turns, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch__bad_writes_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch__error_reply_reaches_its_callbacks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch__server_killed_mid_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch_close__flushes_then_refuses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_batch_event__capped_and_read_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_events_last__corrupt_and_missing, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
