/*
 * test_info.c - occopus-info: Occopus's information keys answered from the store and, for the
 * live ones, from the cloud (the dummy cloud, whose state is in Redis, outside the program).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"

static const char nodes_yaml[] = "'node_def:kv':\n"
				 "  - resource: {type: dummy, endpoint: east}\n"
				 "    health_check: {ping: false}\n"
				 "  - resource: {type: dummy, endpoint: west}\n"
				 "    health_check: {ping: false}\n"
				 "'node_def:worker':\n"
				 "  - resource: {type: dummy}\n"
				 "    health_check: {ping: false}\n";

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: facts\n"
				 "nodes:\n"
				 "  - {name: kv, type: kv}\n"
				 "  - {name: workers, type: worker, scaling: {min: 2}}\n"
				 "dependencies: [[workers, kv]]\n";

struct fx {
	struct occo_test_progs p;
	char *id; /* the infrastructure built by setup */
	json_t *report; /* its build report (--json) */
};

/* occopus-info KEY ARGS... that must succeed: its answer. */
static json_t *info(struct fx *f, const char *key, const char *a1, const char *a2)
{
	char *out, *err;
	json_error_t je;
	json_t *v;

	if (occo_test_progs_run(&f->p, &out, &err, "info", key, a1, a2, NULL) != 0)
		fail_msg("occopus-info %s failed:\n%s%s", key, out, err);
	v = json_loads(out, JSON_DECODE_ANY, &je);
	if (!v)
		fail_msg("occopus-info %s: not JSON (%s): %s", key, je.text, out);
	free(out);
	free(err);
	return v;
}

/* occopus-info that must fail with exit 1 and `what` in its message. */
static void info_fails(struct fx *f, const char *what, const char *key, const char *a1,
		       const char *a2)
{
	char *out, *err;

	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "info", key, a1, a2, NULL), 1);
	if (!strstr(err, what))
		fail_msg("expected '%s' in:\n%s", what, err);
	free(out);
	free(err);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	char *out, *err;

	if (occo_test_progs_setup(&f->p, "info", NULL) < 0)
		return -1;
	occo_test_write_file(f->p.dir, "nodes.yaml", nodes_yaml);
	occo_test_write_file(f->p.dir, "infra.yaml", infra_yaml);
	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "import", "nodes.yaml", NULL), 0);
	free(out);
	free(err);
	assert_int_equal(
		occo_test_progs_run(&f->p, &out, &err, "build", "--json", "infra.yaml", NULL), 0);
	f->report = json_loads(out, 0, NULL);
	assert_non_null(f->report);
	f->id = occo_strdup(json_string_value(json_object_get(f->report, "infra_id")));
	free(out);
	free(err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	json_decref(f->report);
	free(f->id);
	occo_test_progs_teardown(&f->p);
	free(f);
	return 0;
}

/* The node id of the (first) instance of `name` in the build report. */
static const char *node_id_of(struct fx *f, const char *name)
{
	void *it = json_object_iter(json_object_get(json_object_get(f->report, "nodes"), name));

	assert_non_null(it);
	return json_object_iter_key(it);
}

static void test_info__store_keys(void **state)
{
	struct fx *f = *state;
	char *infra = occo_asprintf("infra_id=%s", f->id);
	json_t *v;

	v = info(f, "infrastructure.name", infra, NULL);
	assert_string_equal(json_string_value(v), "facts");
	json_decref(v);

	v = info(f, "infrastructure.static_description", infra, NULL);
	assert_int_equal(json_array_size(json_object_get(v, "nodes")), 2);
	json_decref(v);

	v = info(f, "infrastructure.started", infra, NULL);
	assert_true(json_is_true(v));
	json_decref(v);

	v = info(f, "infrastructure.node_instances", infra, NULL);
	assert_int_equal(json_object_size(json_object_get(v, "workers")), 2);
	assert_int_equal(json_object_size(json_object_get(v, "kv")), 1);
	json_decref(v);

	v = info(f, "node.find", infra, "name=workers");
	assert_int_equal(json_array_size(v), 2);
	json_decref(v);

	v = info(f, "config_managers", infra, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "type")),
			    "dummy");
	json_decref(v);

	v = info(f, "node.definition.all", "node_type=kv", NULL);
	assert_int_equal(json_array_size(v), 2);
	json_decref(v);

	/* the filter keeps the west definition only, whatever the random choice */
	v = info(f, "node.definition", "node_type=kv", "filter={\"endpoint\": \"west\"}");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(v, "resource"), "endpoint")),
		"west");
	json_decref(v);

	v = info(f, "uds.backend_type", NULL, NULL);
	assert_string_equal(json_string_value(v), "redis");
	json_decref(v);
	free(infra);
}

static void test_info__live_keys_follow_the_cloud(void **state)
{
	struct fx *f = *state;
	char *infra = occo_asprintf("infra_id=%s", f->id);
	char *node = occo_asprintf("node_id=%s", node_id_of(f, "kv"));
	const json_t *built = json_object_get(
		json_object_get(json_object_get(f->report, "nodes"), "kv"), node_id_of(f, "kv"));
	redisContext *rc = f->p.rc;
	redisReply *keys, *r;
	json_t *v, *inst;
	char *s;
	size_t i;

	v = info(f, "node.state", infra, node);
	assert_string_equal(json_string_value(v), "ready");
	json_decref(v);

	v = info(f, "node.resource.address", infra, node);
	assert_true(json_equal(v, json_object_get(built, "addresses")));
	json_decref(v);

	v = info(f, "node.address", infra, node);
	assert_true(json_equal(v, json_array_get(json_object_get(built, "addresses"), 0)));
	json_decref(v);

	v = info(f, "infrastructure.userinfo", infra, NULL);
	assert_true(json_equal(json_object_get(json_object_get(v, "kv"), node_id_of(f, "kv")),
			       json_array_get(json_object_get(built, "addresses"), 0)));
	json_decref(v);

	/* every instance dies behind the orchestrator's back: the live keys say so */
	keys = redisCommand(rc, "HKEYS occo:dummycloud:{%s}:nodes", f->id);
	for (i = 0; i < keys->elements; i++) {
		r = redisCommand(rc, "HGET occo:dummycloud:{%s}:nodes %s", f->id,
				 keys->element[i]->str);
		inst = json_loads(r->str, 0, NULL);
		json_object_set_new(inst, "state", json_string("failed"));
		s = json_dumps(inst, JSON_COMPACT);
		freeReplyObject(redisCommand(rc, "HSET occo:dummycloud:{%s}:nodes %s %s", f->id,
					     keys->element[i]->str, s));
		free(s);
		json_decref(inst);
		freeReplyObject(r);
	}
	freeReplyObject(keys);

	v = info(f, "node.state", infra, node);
	assert_string_equal(json_string_value(v), "failed");
	json_decref(v);
	v = info(f, "infrastructure.state", infra, NULL);
	inst = json_object_get(json_object_get(v, "workers"), node_id_of(f, "workers"));
	assert_string_equal(json_string_value(json_object_get(inst, "state")), "failed");
	assert_non_null(json_object_get(inst, "resource_address"));
	json_decref(v);
	free(node);
	free(infra);
}

static void test_info__errors_name_what_is_wrong(void **state)
{
	struct fx *f = *state;
	char *infra = occo_asprintf("infra_id=%s", f->id);
	char *out, *err;

	info_fails(f, "unknown key 'node.colour'", "node.colour", infra, NULL);
	info_fails(f, "argument 'node_id' is required", "node.state", infra, NULL);
	info_fails(f, "unknown infrastructure 'nope'", "infrastructure.state", "infra_id=nope",
		   NULL);
	info_fails(f, "no node instance 'ghost'", "node.state", infra, "node_id=ghost");
	info_fails(f, "'filter'", "node.definition", "node_type=kv", "filter=[1");
	info_fails(f, "no node definition of type 'nothing'", "node.definition",
		   "node_type=nothing", NULL);
	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "info", "node.state", "junk", NULL),
			 2);
	free(out);
	free(err);
	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "info", "--keys", NULL), 0);
	assert_non_null(strstr(out, "infrastructure.state\n"));
	free(out);
	free(err);
	free(infra);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info__store_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info__live_keys_follow_the_cloud, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_info__errors_name_what_is_wrong, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
