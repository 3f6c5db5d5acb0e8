/*
 * test_pass.c - whole passes with an infraprocessor of the test's own (instances appear on
 * the loop after a delay) and the scaling writes going to a real Redis: the level barrier,
 * a build's partial failure, upkeep, and a pass that cannot learn the live state.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "testutil.h"
#include "occo/enactor/pass.h"
#include "occo/infobroker/batch.h"
#include "occo/util/alloc.h"
#include "occo/util/redis.h"

static const char diamond[] =
	"{\"infra_id\": \"11111111-2222-4333-8444-555555555555\","
	" \"nodes\": [{\"name\": \"A\", \"scaling\": {\"min\": 1, \"max\": 1}},"
	"            {\"name\": \"B\", \"scaling\": {\"min\": 1, \"max\": 5}},"
	"            {\"name\": \"C\", \"scaling\": {\"min\": 2, \"max\": 5}},"
	"            {\"name\": \"D\", \"scaling\": {\"min\": 1, \"max\": 1}}],"
	" \"levels\": [[\"A\", \"D\"], [\"B\", \"C\"]]}";

struct fake {
	uv_loop_t *loop;
	struct ib_records *records;
	const char *fail_name; /* creations of this node fail */
	int refresh_fails;
	int seq; /* creations started */
	json_t *log; /* "create A", "ready A", ... in order */
	int creates_in_flight, max_in_flight;
};

struct call {
	struct fake *f;
	char *name, *node_id;
	int kind; /* 0 create, 1 drop, 2 refresh */
	void *cb, *ud;
};

static void put_record(struct fake *f, const char *node_id, const char *name, const char *state)
{
	struct ib_record *rec = ib_records_add(f->records, node_id);

	rec->name = ib_records_intern(f->records, name);
	rec->state = ib_records_intern(f->records, state);
	rec->created_at = f->seq;
}

static void answer(uv_timer_t *t)
{
	struct call *c = t->data;
	struct fake *f = c->f;
	struct occo_err err;

	if (c->kind == 0) {
		f->creates_in_flight--;
		if (f->fail_name && !strcmp(c->name, f->fail_name)) {
			put_record(f, c->node_id, c->name, "failed");
			occo_err_set(&err, OCCO_EREMOTE, "node '%s': instance is failed: no luck",
				     c->name);
			((enact_node_fn)c->cb)(c->node_id, &err, c->ud);
		} else {
			put_record(f, c->node_id, c->name, "ready");
			json_array_append_new(f->log, json_sprintf("ready %s", c->name));
			((enact_node_fn)c->cb)(c->node_id, NULL, c->ud);
		}
	} else if (c->kind == 1) {
		ib_records_del(f->records, c->node_id);
		json_array_append_new(f->log, json_sprintf("drop %s", c->node_id));
		((enact_node_fn)c->cb)(c->node_id, NULL, c->ud);
	} else {
		occo_err_set(&err, OCCO_ECONN, "cloud unreachable");
		((enact_done_fn)c->cb)(f->refresh_fails ? &err : NULL, c->ud);
	}
	free(c->name);
	free(c->node_id);
	free(c);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void later(struct fake *f, int kind, const char *name, const char *node_id, void *cb,
		  void *ud, unsigned ms)
{
	struct call *c = occo_calloc(1, sizeof(*c));
	uv_timer_t *t = occo_calloc(1, sizeof(*t));

	c->f = f;
	c->kind = kind;
	c->name = name ? occo_strdup(name) : NULL;
	c->node_id = node_id ? occo_strdup(node_id) : NULL;
	c->cb = cb;
	c->ud = ud;
	uv_timer_init(f->loop, t);
	t->data = c;
	uv_timer_start(t, answer, ms, 0);
}

static int f_refresh(void *impl, enact_done_fn cb, void *ud, struct occo_err *err)
{
	later(impl, 2, NULL, NULL, cb, ud, 1);
	return 0;
}

static int f_create(void *impl, const char *name, enact_node_fn cb, void *ud, struct occo_err *err)
{
	struct fake *f = impl;
	char id[32];

	snprintf(id, sizeof(id), "%s-%d", name, ++f->seq);
	json_array_append_new(f->log, json_sprintf("create %s", name));
	if (++f->creates_in_flight > f->max_in_flight)
		f->max_in_flight = f->creates_in_flight;
	/* later nodes answer sooner: the barrier, not luck, must order the levels */
	later(f, 0, name, id, cb, ud, (unsigned)(30 - f->seq * 3 > 1 ? 30 - f->seq * 3 : 1));
	return 0;
}

static int f_drop(void *impl, const char *node_id, enact_node_fn cb, void *ud, struct occo_err *err)
{
	later(impl, 1, NULL, node_id, cb, ud, 1);
	return 0;
}

static const struct ib_records *f_records(void *impl)
{
	return ((struct fake *)impl)->records;
}

struct fx {
	uv_loop_t loop;
	struct occo_test_redis redis;
	struct occo_redis *r;
	struct ib_batch *batch;
	struct fake fake;
	struct enact_ops ops;
	json_t *desc;
	int done;
	size_t created, dropped, failed, levels_done;
	struct occo_err err;
	int has_err;
};

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	struct occo_redis_opts o;

	uv_loop_init(&f->loop);
	if (occo_test_redis_start(&f->redis) < 0)
		return -1;
	occo_redis_opts_init(&o);
	o.addr.path = f->redis.sock;
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, NULL), 0);
	assert_int_equal(ib_batch_open(f->r, "t", NULL, &f->batch, NULL), 0);
	f->fake.loop = &f->loop;
	f->fake.records = ib_records_new();
	f->fake.log = json_array();
	f->ops = (struct enact_ops){ &f->fake, f_refresh, f_create, f_drop, f_records };
	f->desc = json_loads(diamond, 0, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ib_batch_close(f->batch, NULL, NULL);
	occo_redis_close(f->r, NULL, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	ib_records_free(f->fake.records);
	json_decref(f->fake.log);
	json_decref(f->desc);
	occo_test_redis_stop(&f->redis);
	free(f);
	return 0;
}

static void pass_done(const struct enact_result *res, const struct occo_err *err, void *ud)
{
	struct fx *f = ud;

	f->done = 1;
	f->created = res->created;
	f->dropped = res->dropped;
	f->failed = res->failed;
	f->levels_done = res->levels_done;
	f->has_err = err != NULL;
	if (err)
		occo_err_copy(&f->err, err);
}

static void run_pass(struct fx *f, enum enact_mode mode, const json_t *scaling)
{
	struct enact_pass_opts o = { .mode = mode };

	f->done = 0;
	assert_int_equal(enact_pass(&f->ops, f->desc, scaling, f->batch, &o, pass_done, f, NULL),
			 0);
	assert_false(f->done);
	while (!f->done)
		uv_run(&f->loop, UV_RUN_ONCE);
}

/* Index of the first log line starting with `what`. */
static long first(const json_t *log, const char *what)
{
	size_t i;

	for (i = 0; i < json_array_size(log); i++)
		if (!strncmp(json_string_value(json_array_get(log, i)), what, strlen(what)))
			return (long)i;
	return -1;
}

static long last(const json_t *log, const char *what)
{
	long i;

	for (i = (long)json_array_size(log) - 1; i >= 0; i--)
		if (!strncmp(json_string_value(json_array_get(log, (size_t)i)), what, strlen(what)))
			return i;
	return -1;
}

static void test_enact_pass__build_levels_behind_a_barrier(void **state)
{
	struct fx *f = *state;
	long ready_a;

	run_pass(f, ENACT_BUILD, NULL);
	assert_false(f->has_err);
	assert_int_equal(f->created, 5);
	assert_int_equal(f->levels_done, 2);
	assert_int_equal(ib_records_count(f->fake.records), 5);
	ready_a = last(f->fake.log, "ready A");
	/* no creation of level 1 starts before every instance of level 0 is ready */
	assert_true(last(f->fake.log, "ready D") < first(f->fake.log, "create B"));
	assert_true(ready_a < first(f->fake.log, "create C"));
	/* a level's creations run together */
	assert_true(f->fake.max_in_flight >= 3);

	/* a second pass has nothing to do */
	json_array_clear(f->fake.log);
	run_pass(f, ENACT_MAINTAIN, NULL);
	assert_false(f->has_err);
	assert_int_equal(f->created + f->dropped, 0);
}

static void test_enact_pass__build_partial_failure_keeps_the_rest(void **state)
{
	struct fx *f = *state;
	const struct ib_record *rec;

	f->fake.fail_name = "C";
	run_pass(f, ENACT_BUILD, NULL);
	assert_true(f->has_err);
	assert_int_equal(f->failed, 2);
	assert_non_null(strstr(f->err.msg, "2 instances failed; the first: node 'C': instance is "
					   "failed: no luck"));
	assert_int_equal(f->created, 3); /* A, D, B */
	/* the failed instances were dropped; the others are kept */
	ib_records_foreach (f->fake.records, rec)
		assert_string_not_equal(rec->name, "C");
	assert_int_equal(ib_records_count(f->fake.records), 3);
}

static void test_enact_pass__failed_level_stops_later_levels(void **state)
{
	struct fx *f = *state;

	f->fake.fail_name = "A";
	run_pass(f, ENACT_MAINTAIN, NULL);
	assert_true(f->has_err);
	assert_int_equal(f->levels_done, 0);
	assert_int_equal(first(f->fake.log, "create B"), -1);
	/* maintenance leaves the failed instance for the next pass's upkeep */
	f->fake.fail_name = NULL;
	run_pass(f, ENACT_MAINTAIN, NULL);
	assert_false(f->has_err);
	assert_int_equal(f->dropped, 1);
	assert_int_equal(ib_records_count(f->fake.records), 5);
}

static void test_enact_pass__scaling_requests_are_consumed(void **state)
{
	struct fx *f = *state;
	redisContext *c;
	redisReply *r;
	json_t *scaling;

	run_pass(f, ENACT_BUILD, NULL);
	c = redisConnectUnix(f->redis.sock);
	freeReplyObject(redisCommand(c, "HSET t:{11111111-2222-4333-8444-555555555555}:scaling "
					"node-create:B:x \"\""));
	scaling = json_pack("{s:s}", "node-create:B:x", "");
	run_pass(f, ENACT_MAINTAIN, scaling);
	assert_false(f->has_err);
	assert_int_equal(f->created, 1);
	ib_batch_flush(f->batch);
	{ /* a PING behind the flushed writes on their connection: answered once they are done */
		redisReply *ping = NULL;

		assert_int_equal(occo_redis_command_wait(f->r, &ping, NULL, "PING"), 0);
		freeReplyObject(ping);
	}
	r = redisCommand(c, "HGETALL t:{11111111-2222-4333-8444-555555555555}:scaling");
	assert_int_equal(r->elements, 2); /* the request is gone, the target is stored */
	assert_string_equal(r->element[0]->str, "node-count-B");
	assert_string_equal(r->element[1]->str, "2");
	freeReplyObject(r);
	redisFree(c);
	json_decref(scaling);
}

static void test_enact_pass__no_live_state_no_action(void **state)
{
	struct fx *f = *state;

	f->fake.refresh_fails = 1;
	run_pass(f, ENACT_MAINTAIN, NULL);
	assert_true(f->has_err);
	assert_non_null(strstr(f->err.msg, "cannot learn the state of the instances: cloud "
					   "unreachable"));
	assert_int_equal(json_array_size(f->fake.log), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enact_pass__build_levels_behind_a_barrier,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_enact_pass__build_partial_failure_keeps_the_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enact_pass__failed_level_stops_later_levels,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_enact_pass__scaling_requests_are_consumed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_enact_pass__no_live_state_no_action, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
