/*
 * test_infra.c - infrastructures in a real redis-server: add, list, update, remove (leaving no
 * key behind), the snapshot of a pass (unknown ids, corrupt values, after batched writes), and
 * scaling requests written, read back through a snapshot, planned and consumed.
 *
 * Each test runs its own loop and server and ends with uv_loop_close() == 0.
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
#include "occo/infobroker/lease.h"
#include "occo/infobroker/scaling.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"
#include "occo/util/redis.h"

#define NS "t"

struct fx {
	uv_loop_t loop;
	struct occo_test_redis srv;
	struct occo_redis *r;
	struct ib_batch *b;
	redisContext *sync;
};

/* What a callback saw. */
struct got {
	int calls;
	struct occo_err err;
	int flag; /* exists, lease ok */
	json_t *json; /* ids */
	struct ib_snapshot *snap;
};

static void on_done(const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->calls++;
	if (err)
		occo_err_copy(&g->err, err);
}

static void on_exists(int exists, const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->flag = exists;
	on_done(err, ud);
}

static void on_ids(json_t *ids, const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->json = ids;
	on_done(err, ud);
}

static void on_snap(struct ib_snapshot *snap, const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->snap = snap;
	on_done(err, ud);
}

static void on_lease(int ok, const char *holder, const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->flag = ok;
	on_done(err, ud);
}

static void run_until(uv_loop_t *loop, const int *flag, int want)
{
	while (*flag < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && *flag < want)
			fail_msg("the loop ran dry before the event");
}

/* Wait for one callback into g (reset first by the caller) and check it ran once. */
static void wait_got(struct fx *f, struct got *g)
{
	run_until(&f->loop, &g->calls, 1);
	assert_int_equal(g->calls, 1);
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
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, &err), 0);
	assert_int_equal(ib_batch_open(f->r, NS, NULL, &f->b, &err), 0);
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
	int closed = 0;

	ib_batch_close(f->b, closed_cb, &closed);
	occo_redis_close(f->r, closed_cb, &closed);
	run_until(&f->loop, &closed, 2);
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

/* Every key in the server, sorted, space-separated (malloc'd). */
static char *all_keys(struct fx *f)
{
	redisReply *rep = sync_cmd(f, "KEYS *");
	json_t *arr = json_array();
	char *out = occo_strdup(""), *tmp;
	size_t i, j;

	for (i = 0; i < rep->elements; i++)
		json_array_append_new(arr, json_string(rep->element[i]->str));
	/* tiny insertion sort: a handful of keys */
	for (i = 1; i < json_array_size(arr); i++)
		for (j = i; j > 0 && strcmp(json_string_value(json_array_get(arr, j - 1)),
					    json_string_value(json_array_get(arr, j))) > 0;
		     j--) {
			json_t *a = json_incref(json_array_get(arr, j - 1));

			json_array_set(arr, j - 1, json_array_get(arr, j));
			json_array_set_new(arr, j, a);
		}
	for (i = 0; i < json_array_size(arr); i++) {
		tmp = occo_asprintf("%s%s%s", out, i ? " " : "",
				    json_string_value(json_array_get(arr, i)));
		free(out);
		out = tmp;
	}
	json_decref(arr);
	freeReplyObject(rep);
	return out;
}

static json_t *desc(const char *id, int min, int max)
{
	return json_pack("{s:s, s:s, s:s, s:{}, s:[{s:s, s:s, s:{s:i, s:i}}], s:[], s:[[s]]}",
			 "infra_id", id, "name", "demo", "user_id", "u", "variables", "nodes",
			 "name", "worker", "type", "docker_w", "scaling", "min", min, "max", max,
			 "edges", "levels", "worker");
}

static void add(struct fx *f, const char *id)
{
	struct got g = { 0 };
	struct occo_err err;
	json_t *d = desc(id, 1, 5);

	if (ib_infra_add(f->r, NS, id, d, on_done, &g, &err) < 0)
		fail_msg("%s", err.msg);
	json_decref(d);
	wait_got(f, &g);
	if (g.err.code)
		fail_msg("%s", g.err.msg);
}

static struct ib_snapshot *snapshot(struct fx *f, const char *id, struct got *g)
{
	memset(g, 0, sizeof(*g));
	assert_int_equal(ib_snapshot_load(f->r, NS, id, on_snap, g, NULL), 0);
	wait_got(f, g);
	return g->snap;
}

/* Write something into every part of an infrastructure. */
static void fill(struct fx *f, const char *id)
{
	json_t *rec = json_pack("{s:s}", "state", "ready");
	struct got g = { 0 }, l = { 0 };

	ib_batch_node_put(f->b, id, "n1", rec, NULL, NULL, NULL);
	ib_batch_health_put(f->b, id, "n1", rec, NULL, NULL, NULL);
	ib_batch_scaling_target(f->b, id, "worker", 2, NULL, NULL, NULL);
	ib_batch_event(f->b, id, IB_EV_INFRASTART, NULL, on_done, &g, NULL);
	assert_int_equal(ib_lease_acquire(f->r, NS, id, "me", 60000, on_lease, &l, NULL), 0);
	wait_got(f, &g);
	wait_got(f, &l);
	assert_int_equal(l.flag, 1);
	json_decref(rec);
}

/* ---- add, list, update, remove ---- */

static void test_ib_infra__add_list_remove_leaves_no_key(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	char *keys;

	add(f, "b2");
	add(f, "a1");
	fill(f, "a1");
	fill(f, "b2");
	assert_int_equal(ib_infra_list(f->r, NS, on_ids, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(json_array_size(g.json), 2);
	assert_string_equal(json_string_value(json_array_get(g.json, 0)), "a1");
	assert_string_equal(json_string_value(json_array_get(g.json, 1)), "b2");
	json_decref(g.json);

	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_infra_remove(f->r, NS, "a1", on_done, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.err.code, 0);
	keys = all_keys(f);
	assert_string_equal(keys, "t:infras t:{b2}:desc t:{b2}:events t:{b2}:health "
				  "t:{b2}:lease t:{b2}:nodes t:{b2}:scaling");
	free(keys);

	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_infra_remove(f->r, NS, "b2", on_done, &g, NULL), 0);
	wait_got(f, &g);
	keys = all_keys(f);
	assert_string_equal(keys, "");
	free(keys);

	/* removing again is not an error; the list is empty */
	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_infra_remove(f->r, NS, "b2", on_done, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.err.code, 0);
	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_infra_list(f->r, NS, on_ids, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(json_array_size(g.json), 0);
	json_decref(g.json);
}

static void test_ib_infra_add__existing_id_is_eexist(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	json_t *d = desc("a1", 1, 1);
	redisReply *rep;

	add(f, "a1");
	json_object_set_new(d, "name", json_string("other"));
	assert_int_equal(ib_infra_add(f->r, NS, "a1", d, on_done, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.err.code, OCCO_EEXIST);
	assert_string_equal(g.err.msg, "infrastructure 'a1' exists already");
	rep = sync_cmd(f, "GET t:{a1}:desc");
	assert_non_null(strstr(rep->str, "\"name\":\"demo\""));
	freeReplyObject(rep);
	json_decref(d);
}

static void test_ib_infra_update_desc__known_and_unknown(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	struct occo_err err;
	json_t *d = desc("a1", 2, 3);

	assert_int_equal(ib_infra_update_desc(f->r, NS, "a1", d, on_done, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.err.code, OCCO_ENOENT);
	assert_string_equal(g.err.msg, "unknown infrastructure 'a1'");

	add(f, "a1");
	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_infra_update_desc(f->r, NS, "a1", d, on_done, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.err.code, 0);
	snapshot(f, "a1", &g);
	assert_true(json_equal(g.snap->desc, d));
	ib_snapshot_free(g.snap);

	/* refused before anything is issued */
	json_decref(d);
	d = json_array();
	assert_int_equal(ib_infra_update_desc(f->r, NS, "a1", d, on_done, &g, &err), -OCCO_EINVAL);
	assert_int_equal(ib_infra_add(f->r, NS, "", d, on_done, &g, &err), -OCCO_EINVAL);
	json_decref(d);
}

static void test_ib_infra_exists__before_and_after(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };

	assert_int_equal(ib_infra_exists(f->r, NS, "a1", on_exists, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.flag, 0);
	add(f, "a1");
	memset(&g, 0, sizeof(g));
	assert_int_equal(ib_infra_exists(f->r, NS, "a1", on_exists, &g, NULL), 0);
	wait_got(f, &g);
	assert_int_equal(g.flag, 1);
}

/* ---- snapshot ---- */

static void test_ib_snapshot_load__unknown_id(void **state)
{
	struct fx *f = *state;
	struct got g;

	assert_null(snapshot(f, "nope", &g));
	assert_int_equal(g.err.code, OCCO_ENOENT);
	assert_string_equal(g.err.msg, "unknown infrastructure 'nope'");
}

static void test_ib_snapshot_load__after_batched_writes(void **state)
{
	struct fx *f = *state;
	json_t *r1 = json_pack("{s:s, s:s, s:[s]}", "node_id", "n1", "state", "ready", "addresses",
			       "10.0.0.1");
	json_t *r2 =
		json_pack("{s:s, s:s, s:n}", "node_id", "n2", "state", "creating", "instance_id");
	json_t *h = json_pack("{s:I, s:i}", "first_fail_ms", (json_int_t)5, "fails", 1);
	const struct ib_record *rec;
	struct ib_snapshot *s;
	struct got g;

	add(f, "a1");
	ib_batch_node_put(f->b, "a1", "n1", r1, NULL, NULL, NULL);
	ib_batch_node_put(f->b, "a1", "n2", r2, NULL, NULL, NULL);
	ib_batch_health_put(f->b, "a1", "n1", h, NULL, NULL, NULL);
	ib_batch_scaling_target(f->b, "a1", "worker", 2, NULL, NULL, NULL);
	/* flushed first, so the snapshot (issued after, same connection) sees the writes */
	ib_batch_flush(f->b);
	s = snapshot(f, "a1", &g);
	assert_non_null(s);
	assert_string_equal(s->infra_id, "a1");
	assert_string_equal(json_string_value(json_object_get(s->desc, "name")), "demo");
	assert_int_equal(ib_records_count(s->records), 2);
	rec = ib_records_get(s->records, "n1");
	assert_non_null(rec);
	assert_string_equal(rec->state, "ready");
	assert_true(json_equal(rec->addresses, json_object_get(r1, "addresses")));
	assert_null(rec->instance_id);
	rec = ib_records_get(s->records, "n2");
	assert_non_null(rec);
	assert_string_equal(rec->state, "creating");
	assert_int_equal(json_array_size(rec->addresses), 0);
	assert_true(json_equal(json_object_get(s->health, "n1"), h));
	assert_int_equal(json_object_size(s->scaling), 1);
	assert_string_equal(json_string_value(json_object_get(s->scaling, "node-count-worker")),
			    "2");
	ib_snapshot_free(s);
	json_decref(r1);
	json_decref(r2);
	json_decref(h);
}

static void test_ib_snapshot_load__empty_parts(void **state)
{
	struct fx *f = *state;
	struct ib_snapshot *s;
	struct got g;

	add(f, "a1");
	s = snapshot(f, "a1", &g);
	assert_non_null(s);
	assert_true(s->records && ib_records_count(s->records) == 0);
	assert_true(json_is_object(s->scaling) && json_object_size(s->scaling) == 0);
	assert_true(json_is_object(s->health) && json_object_size(s->health) == 0);
	ib_snapshot_free(s);
}

static void test_ib_snapshot_load__corrupt_json(void **state)
{
	struct fx *f = *state;
	struct got g;

	add(f, "a1");
	freeReplyObject(sync_cmd(f, "HSET t:{a1}:nodes good {} bad {\"state\":"));
	assert_null(snapshot(f, "a1", &g));
	assert_int_equal(g.err.code, OCCO_EPROTO);
	assert_non_null(strstr(g.err.msg, "t:{a1}:nodes field 'bad' is not valid JSON"));

	freeReplyObject(sync_cmd(f, "DEL t:{a1}:nodes"));
	freeReplyObject(sync_cmd(f, "HSET t:{a1}:health n1 nope"));
	assert_null(snapshot(f, "a1", &g));
	assert_int_equal(g.err.code, OCCO_EPROTO);
	assert_non_null(strstr(g.err.msg, "t:{a1}:health field 'n1'"));

	freeReplyObject(sync_cmd(f, "SET t:{a1}:desc [1,"));
	assert_null(snapshot(f, "a1", &g));
	assert_int_equal(g.err.code, OCCO_EPROTO);
	assert_non_null(strstr(g.err.msg, "t:{a1}:desc is not valid JSON"));

	freeReplyObject(sync_cmd(f, "SET t:{a1}:desc [1]"));
	assert_null(snapshot(f, "a1", &g));
	assert_int_equal(g.err.code, OCCO_EPROTO);
	assert_non_null(strstr(g.err.msg, "t:{a1}:desc is not a JSON object"));

	/* a part of the wrong type */
	freeReplyObject(sync_cmd(f, "SET t:{a1}:desc {}"));
	freeReplyObject(sync_cmd(f, "DEL t:{a1}:health"));
	freeReplyObject(sync_cmd(f, "SET t:{a1}:scaling x"));
	assert_null(snapshot(f, "a1", &g));
	assert_int_equal(g.err.code, OCCO_EREMOTE);
	assert_non_null(strstr(g.err.msg, "WRONGTYPE"));
}

/* ---- scaling requests ---- */

static void test_ib_scaling_requests__round_trip(void **state)
{
	struct fx *f = *state;
	struct got g[4] = { { 0 } };
	struct ib_scaling_inst inst[3];
	struct ib_scaling_plan p;
	struct ib_snapshot *s;
	struct got sg;
	json_t *addr = json_pack("[s]", "10.0.0.2");
	json_t *lim = json_pack("{s:i, s:i}", "min", 1, "max", 5);
	const char *field;
	json_t *v;
	int ncreate = 0, ndestroy = 0, named = 0, i;

	add(f, "a1");
	assert_int_equal(
		ib_scaling_request_create(f->r, NS, "a1", "worker", 3, on_done, &g[0], NULL), 0);
	assert_int_equal(
		ib_scaling_request_destroy(f->r, NS, "a1", "worker", 2, on_done, &g[1], NULL), 0);
	assert_int_equal(ib_scaling_request_destroy_node(f->r, NS, "a1", "worker", "10.0.0.2",
							 on_done, &g[2], NULL),
			 0);
	assert_int_equal(ib_scaling_set_target(f->r, NS, "a1", "worker", 3, on_done, &g[3], NULL),
			 0);
	for (i = 0; i < 4; i++) {
		wait_got(f, &g[i]);
		assert_int_equal(g[i].err.code, 0);
	}

	s = snapshot(f, "a1", &sg);
	assert_non_null(s);
	json_object_foreach (s->scaling, field, v) {
		if (strncmp(field, "node-create:worker:", 19) == 0) {
			assert_true(occo_uuid_valid(field + 19));
			assert_string_equal(json_string_value(v), "");
			ncreate++;
		} else if (strncmp(field, "node-destroy:worker:", 20) == 0) {
			assert_true(occo_uuid_valid(field + 20));
			named += strcmp(json_string_value(v), "10.0.0.2") == 0;
			ndestroy++;
		} else {
			assert_string_equal(field, "node-count-worker");
			assert_string_equal(json_string_value(v), "3");
		}
	}
	assert_int_equal(ncreate, 3);
	assert_int_equal(ndestroy, 3);
	assert_int_equal(named, 1);

	/* one pass: the creates win (3 + 3 capped at max 5), the destroys wait */
	inst[0] = (struct ib_scaling_inst){ "n1", NULL, 1 };
	inst[1] = (struct ib_scaling_inst){ "n2", addr, 2 };
	inst[2] = (struct ib_scaling_inst){ "n3", NULL, 3 };
	assert_int_equal(
		ib_scaling_plan(
			"worker",
			json_object_get(json_array_get(json_object_get(s->desc, "nodes"), 0),
					"scaling"),
			s->scaling, inst, 3, &p, NULL),
		0);
	assert_int_equal(p.target, 5);
	assert_int_equal(json_array_size(p.del), 3);
	assert_int_equal(json_array_size(p.warnings), 1);
	ib_batch_scaling_target(f->b, "a1", "worker", p.target, NULL, NULL, NULL);
	json_array_foreach (p.del, i, v)
		ib_batch_scaling_del(f->b, "a1", json_string_value(v), NULL, NULL, NULL);
	ib_scaling_plan_release(&p);
	ib_snapshot_free(s);
	ib_batch_flush(f->b);

	/* the next pass sees the target and the destroys only */
	s = snapshot(f, "a1", &sg);
	assert_non_null(s);
	assert_int_equal(json_object_size(s->scaling), 4);
	assert_string_equal(json_string_value(json_object_get(s->scaling, "node-count-worker")),
			    "5");
	assert_int_equal(ib_scaling_plan("worker", lim, s->scaling, inst, 3, &p, NULL), 0);
	assert_int_equal(p.target, 4); /* the named destroy: its address became n2 */
	assert_int_equal(json_array_size(p.drop), 0);
	assert_int_equal(json_object_size(p.put), 1);
	json_object_foreach (p.put, field, v)
		assert_string_equal(json_string_value(v), "n2");
	ib_scaling_plan_release(&p);
	ib_snapshot_free(s);
	json_decref(addr);
	json_decref(lim);
}

static void test_ib_scaling_requests__bad_arguments(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	struct occo_err err;

	assert_int_equal(ib_scaling_request_create(f->r, NS, "a1", "worker", 0, on_done, &g, &err),
			 -OCCO_EINVAL);
	assert_int_equal(ib_scaling_request_create(f->r, NS, "a1", "wo:rker", 1, on_done, &g, &err),
			 -OCCO_EINVAL);
	assert_int_equal(ib_scaling_request_destroy(f->r, NS, "a1", "worker",
						    IB_SCALING_MAX_REQUESTS + 1, on_done, &g, &err),
			 -OCCO_EINVAL);
	assert_int_equal(
		ib_scaling_request_destroy_node(f->r, NS, "a1", "worker", "", on_done, &g, &err),
		-OCCO_EINVAL);
	assert_int_equal(ib_scaling_set_target(f->r, NS, "a1", "worker", -1, on_done, &g, &err),
			 -OCCO_EINVAL);
	assert_int_equal(g.calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ib_infra__add_list_remove_leaves_no_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_infra_add__existing_id_is_eexist, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_infra_update_desc__known_and_unknown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_infra_exists__before_and_after, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_snapshot_load__unknown_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_snapshot_load__after_batched_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_snapshot_load__empty_parts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_snapshot_load__corrupt_json, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_scaling_requests__round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_scaling_requests__bad_arguments, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
