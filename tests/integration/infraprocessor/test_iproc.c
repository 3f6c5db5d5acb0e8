/*
 * test_iproc.c - the infraprocessor's commands against a real Redis, with a cloud of the
 * test's own that answers on the loop as a real one would: records written before the cloud
 * is asked, getip from earlier instances, failures with the cloud's words, deadlines, drops,
 * adoption of a crash's leftovers, cancellation.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "fakecloud.h"
#include "testutil.h"
#include "occo/util/clock.h"
#include "occo/infobroker/batch.h"
#include "occo/infraprocessor/iproc.h"
#include "occo/util/alloc.h"
#include "occo/util/redis.h"

/* ---- a cloud of the test's own (fakecloud.h), which checks that records come first ---- */

struct fake {
	struct fakecloud cloud;
	redisContext *check; /* to see that the record was stored before the create */
	char *key; /* the records' hash */
	int stored_before_create;
};

static void check_stored(struct fakecloud *c, const struct iproc_node *node)
{
	struct fake *f = c->ud;
	redisReply *r = redisCommand(f->check, "HEXISTS %s %s", f->key, node->node_id);

	f->stored_before_create += r && r->integer == 1;
	freeReplyObject(r);
}

/* ---- fixture ---- */

static const char desc_text[] =
	"{\"infra_id\": \"11111111-2222-4333-8444-555555555555\", \"name\": \"t\","
	" \"nodes\": [{\"name\": \"db\", \"type\": \"db_t\", \"variables\": {}},"
	"             {\"name\": \"web\", \"type\": \"web_t\", \"variables\": {\"port\": 80}}],"
	" \"levels\": [[\"db\"], [\"web\"]]}";

static const char defs_text[] =
	"{\"db_t\": [{\"resource\": {\"type\": \"fake\", \"endpoint\": \"e1\"}}],"
	" \"web_t\": [{\"resource\": {\"type\": \"fake\", \"endpoint\": \"e1\","
	"              \"db\": \"{{ getip('db') }}:{{ variables.port }}\"}}]}";

struct fx {
	uv_loop_t loop;
	struct occo_test_redis redis;
	struct occo_redis *r;
	struct ib_batch *batch;
	struct fake fake;
	struct iproc_cloud cloud;
	struct iproc_infra *in;
	int called;
	char node_id[64];
	struct occo_err err;
	int failed;
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
	f->cloud = fakecloud_init(&f->fake.cloud, &f->loop);
	f->fake.cloud.address = "10.9.0.1";
	f->fake.cloud.on_create = check_stored;
	f->fake.cloud.ud = &f->fake;
	f->fake.check = redisConnectUnix(f->redis.sock);
	f->fake.key = occo_strdup("t:{11111111-2222-4333-8444-555555555555}:nodes");
	*state = f;
	return 0;
}

/* The records as stored ({node_id: record}, taken), read into a set. */
static struct ib_records *records_of(json_t *stored)
{
	struct ib_records *s = ib_records_new();

	assert_int_equal(ib_records_load_json(s, stored, NULL), 0);
	json_decref(stored);
	return s;
}

static const struct ib_record *record(struct fx *f, const char *node_id)
{
	return ib_records_get(iproc_infra_records(f->in), node_id);
}

static void open_infra(struct fx *f, json_t *records, unsigned poll_ms, unsigned timeout_ms)
{
	struct iproc_opts o = { .poll_ms = poll_ms, .create_timeout_ms = timeout_ms };

	assert_int_equal(iproc_infra_open(&f->loop, &f->cloud, f->batch, NULL, &o,
					  json_loads(desc_text, 0, NULL), records_of(records),
					  json_loads(defs_text, 0, NULL), &f->in, NULL),
			 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	iproc_infra_close(f->in);
	ib_batch_close(f->batch, NULL, NULL);
	occo_redis_close(f->r, NULL, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	redisFree(f->fake.check);
	free(f->fake.key);
	fakecloud_release(&f->fake.cloud);
	occo_test_redis_stop(&f->redis);
	free(f);
	return 0;
}

static void node_done(const char *node_id, const struct occo_err *err, void *ud)
{
	struct fx *f = ud;

	f->called++;
	snprintf(f->node_id, sizeof(f->node_id), "%s", node_id);
	f->failed = err != NULL;
	if (err)
		occo_err_copy(&f->err, err);
}

static void run_until(struct fx *f, int calls)
{
	while (f->called < calls)
		uv_run(&f->loop, UV_RUN_ONCE);
}

static json_t *stored(struct fx *f, const char *node_id)
{
	redisReply *r = redisCommand(f->fake.check, "HGET %s %s", f->fake.key, node_id);
	json_t *v = r && r->type == REDIS_REPLY_STRING ? json_loads(r->str, 0, NULL) : NULL;

	freeReplyObject(r);
	return v;
}

static void test_iproc_create_node__records_first_then_ready(void **state)
{
	struct fx *f = *state;
	char db_id[64];
	const struct ib_record *rec;
	json_t *stored_rec;

	open_infra(f, json_object(), 20, 10000);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	assert_int_equal(f->called, 0); /* never from inside the call */
	run_until(f, 1);
	assert_false(f->failed);
	assert_int_equal(f->fake.stored_before_create, 1);
	snprintf(db_id, sizeof(db_id), "%s", f->node_id);
	rec = record(f, db_id);
	assert_string_equal(rec->state, "ready");
	{
		char *token = occo_asprintf("occo-%s", db_id);

		assert_string_equal(rec->token, token);
		free(token);
	}
	/* the second level's template sees the first level's address */
	assert_int_equal(iproc_create_node(f->in, "web", node_done, f, NULL), 0);
	run_until(f, 2);
	assert_false(f->failed);
	rec = record(f, f->node_id);
	assert_string_equal(json_string_value(json_object_get(rec->resource, "db")), "10.9.0.1:80");
	/* what Redis holds is what memory holds, once the batch is flushed */
	ib_batch_flush(f->batch);
	{ /* a PING behind the flushed writes on their connection: answered once they are done */
		redisReply *ping = NULL;

		assert_int_equal(occo_redis_command_wait(f->r, &ping, NULL, "PING"), 0);
		freeReplyObject(ping);
	}
	stored_rec = stored(f, db_id);
	assert_non_null(stored_rec);
	assert_string_equal(json_string_value(json_object_get(stored_rec, "state")), "ready");
	assert_string_equal(json_string_value(json_object_get(stored_rec, "instance_id")), "i-1");
	{
		json_t *mem = ib_record_to_json(record(f, db_id));

		assert_true(json_equal(stored_rec, mem));
		json_decref(mem);
	}
	json_decref(stored_rec);
}

static void test_iproc_create_node__failure_carries_the_cloud_message(void **state)
{
	struct fx *f = *state;

	f->fake.cloud.new_state = "failed";
	open_infra(f, json_object(), 20, 10000);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	run_until(f, 1);
	assert_true(f->failed);
	assert_non_null(strstr(f->err.msg, "node 'db': instance i-1 is failed: disk on fire"));
	assert_string_equal(record(f, f->node_id)->state, "failed");
}

static void test_iproc_create_node__deadline(void **state)
{
	struct fx *f = *state;

	f->fake.cloud.new_state = "pending";
	open_infra(f, json_object(), 10, 60);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	run_until(f, 1);
	assert_true(f->failed);
	assert_int_equal(f->err.code, OCCO_ETIMEDOUT);
	assert_true(f->fake.cloud.lists >= 2);
}

/* A definition's create_timeout wins over the program's (fake clock: nothing sleeps). */
static void test_iproc_create_node__deadline_of_the_definition(void **state)
{
	struct fx *f = *state;
	struct iproc_opts o = { .poll_ms = 10, .create_timeout_ms = 600000 };
	json_t *defs = json_loads(defs_text, 0, NULL);

	json_object_set_new(json_array_get(json_object_get(defs, "db_t"), 0), "create_timeout",
			    json_integer(2));
	occo_clock_fake_set(1000000, 1700000000000ull);
	f->fake.cloud.new_state = "pending";
	assert_int_equal(iproc_infra_open(&f->loop, &f->cloud, f->batch, NULL, &o,
					  json_loads(desc_text, 0, NULL), NULL, defs, &f->in, NULL),
			 0);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	while (f->fake.cloud.lists < 3)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(f->called, 0); /* 600 s would be long: still waiting */
	occo_clock_fake_advance(2001);
	run_until(f, 1);
	occo_clock_fake_clear();
	assert_true(f->failed);
	assert_int_equal(f->err.code, OCCO_ETIMEDOUT);
	assert_non_null(strstr(f->err.msg, "not ready after 2 s"));
}

static void test_iproc_create_node__errors_before_anything_starts(void **state)
{
	struct fx *f = *state;
	struct occo_err err;

	open_infra(f, json_object(), 20, 10000);
	assert_int_equal(iproc_create_node(f->in, "nope", node_done, f, &err), -OCCO_ENOENT);
	/* web before db: getip has nothing to answer */
	assert_int_equal(iproc_create_node(f->in, "web", node_done, f, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "no node exists with the given name 'db'"));
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->called, 0);
	assert_int_equal(f->fake.cloud.creates, 0);
}

static void test_iproc_drop_node__removes_record_and_instance(void **state)
{
	struct fx *f = *state;
	json_t *rec;

	open_infra(f, json_object(), 20, 10000);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	run_until(f, 1);
	assert_int_equal(iproc_drop_node(f->in, f->node_id, node_done, f, NULL), 0);
	run_until(f, 2);
	assert_false(f->failed);
	assert_int_equal(json_object_size(f->fake.cloud.instances), 0);
	assert_null(record(f, f->node_id));
	rec = stored(f, f->node_id);
	assert_null(rec);
}

static void refreshed(const struct occo_err *err, void *ud)
{
	struct fx *f = ud;

	f->called++;
	f->failed = err != NULL;
}

static void test_iproc_refresh__adopts_and_notices_gone(void **state)
{
	struct fx *f = *state;
	json_t *recs = json_object();

	/* a: its instance is gone; b: a crash hit between the cloud's create and our record */
	json_object_set_new(recs, "a",
			    json_pack("{s:s,s:s,s:{s:s,s:s},s:s,s:s,s:[]}", "name", "db", "token",
				      "occo-a", "resource", "type", "fake", "endpoint", "e1",
				      "instance_id", "i-gone", "state", "ready", "addresses"));
	json_object_set_new(recs, "b",
			    json_pack("{s:s,s:s,s:{s:s,s:s},s:n,s:s,s:[]}", "name", "db", "token",
				      "occo-b", "resource", "type", "fake", "endpoint", "e1",
				      "instance_id", "state", "creating", "addresses"));
	json_object_set_new(f->fake.cloud.instances, "i-77",
			    json_pack("{s:s,s:s,s:[s]}", "token", "occo-b", "state", "ready",
				      "addresses", "10.9.9.9"));
	open_infra(f, recs, 20, 10000);
	assert_int_equal(iproc_refresh(f->in, refreshed, f, NULL), 0);
	run_until(f, 1);
	assert_false(f->failed);
	assert_int_equal(f->fake.cloud.lists, 1); /* one list for the endpoint, not one per node */
	assert_string_equal(record(f, "a")->state, "shutdown");
	assert_string_equal(record(f, "b")->instance_id, "i-77");
	assert_string_equal(record(f, "b")->state, "ready");
}

static void test_iproc_infra_close__cancels_once(void **state)
{
	struct fx *f = *state;

	f->fake.cloud.new_state = "pending";
	open_infra(f, json_object(), 20, 10000);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	assert_int_equal(iproc_create_node(f->in, "db", node_done, f, NULL), 0);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	iproc_infra_close(f->in);
	f->in = NULL;
	assert_int_equal(f->called, 2);
	assert_int_equal(f->err.code, OCCO_ECANCELED);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(f->called, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_iproc_create_node__records_first_then_ready,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_iproc_create_node__failure_carries_the_cloud_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iproc_create_node__deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iproc_create_node__deadline_of_the_definition,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_iproc_create_node__errors_before_anything_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iproc_drop_node__removes_record_and_instance,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_iproc_refresh__adopts_and_notices_gone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_iproc_infra_close__cancels_once, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
