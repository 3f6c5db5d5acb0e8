/*
 * test_plan.c - the decisions of a maintenance pass: level-ordered creation (Occopus's own
 * trace), upkeep, removed nodes, scaling requests, the guard against mass replacement.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "occo/enactor/plan.h"

/* The diamond of Occopus's enactor fixture: B and C depend on A; D on nothing. */
static const char diamond[] =
	"{\"nodes\": [{\"name\": \"A\", \"scaling\": {\"min\": 1, \"max\": 1}},"
	"            {\"name\": \"B\", \"scaling\": {\"min\": 1, \"max\": 5}},"
	"            {\"name\": \"C\", \"scaling\": {\"min\": 2, \"max\": 5}},"
	"            {\"name\": \"D\", \"scaling\": {\"min\": 1, \"max\": 1}}],"
	" \"levels\": [[\"A\", \"D\"], [\"B\", \"C\"]]}";

static json_t *rec(const char *name, const char *state, long long created)
{
	return json_pack("{s:s,s:s,s:I,s:[s]}", "name", name, "state", state, "created_at",
			 (json_int_t)created, "addresses", "10.0.0.1");
}

/*
 * Plan with records given as they are stored ({node_id: record}), read into the set the engine
 * holds them in; the set outlives the plan (its drops borrow node_ids) until the next call.
 */
static struct ib_records *held;

static int plan(const json_t *desc, const json_t *nodes, const json_t *scaling,
		const struct enact_plan_opts *o, struct enact_plan *p, struct occo_err *err)
{
	ib_records_free(held);
	held = ib_records_new();
	assert_int_equal(ib_records_load_json(held, nodes, NULL), 0);
	return enact_plan_pass(desc, held, scaling, o, p, err);
}

static int free_held(void **state)
{
	ib_records_free(held);
	held = NULL;
	return 0;
}

/* "A:1 D:1": the creations of one level, in the trace format of Occopus's fixture. */
static void level_text(const struct enact_level *l, char *buf, size_t n)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n; i++)
		off += (size_t)snprintf(buf + off, n - off, "%s%s:%d", i ? " " : "", l->v[i].name,
					l->v[i].count);
}

static void test_enact_plan_pass__fresh_infrastructure_as_occopus_trace(void **state)
{
	json_t *desc = json_loads(diamond, 0, NULL), *nodes = json_object();
	struct enact_plan p;
	char buf[128];

	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_true(p.bootstrap);
	assert_int_equal(p.ndrops, 0);
	assert_int_equal(p.nlevels, 2);
	/* Occopus: "R A:1 B:0 C:0 D:1" then "R A:1 B:1 C:2 D:1" */
	level_text(&p.levels[0], buf, sizeof(buf));
	assert_string_equal(buf, "A:1 D:1");
	level_text(&p.levels[1], buf, sizeof(buf));
	assert_string_equal(buf, "B:1 C:2");
	assert_int_equal(p.ncreate, 5);
	enact_plan_release(&p);
	json_decref(nodes);
	json_decref(desc);
}

static void test_enact_plan_pass__nothing_to_do(void **state)
{
	json_t *desc = json_loads(diamond, 0, NULL);
	json_t *nodes = json_pack("{s:o,s:o,s:o,s:o,s:o}", "a1", rec("A", "ready", 1), "b1",
				  rec("B", "ready", 1), "c1", rec("C", "pending", 1), "c2",
				  rec("C", "temp_failed", 2), "d1", rec("D", "ready", 1));
	struct enact_plan p;

	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_false(p.bootstrap);
	assert_int_equal(p.ndrops, 0);
	assert_int_equal(p.ncreate, 0);
	assert_int_equal(p.nkeep, 5);
	enact_plan_release(&p);
	json_decref(nodes);
	json_decref(desc);
}

static void test_enact_plan_pass__upkeep_replaces_failed_and_shutdown(void **state)
{
	json_t *desc = json_loads(diamond, 0, NULL);
	json_t *nodes = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "a1", rec("A", "failed", 1), "b1",
				  rec("B", "ready", 1), "c1", rec("C", "shutdown", 1), "c2",
				  rec("C", "ready", 2), "d1", rec("D", "creating", 1), "x1",
				  rec("X", "ready", 1));
	struct enact_plan p;
	char buf[128];
	size_t i;
	int seen = 0;

	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_int_equal(p.ndrops, 4);
	for (i = 0; i < p.ndrops; i++) {
		const char *id = p.drops[i].node_id;
		enum enact_drop_reason r = p.drops[i].reason;

		if (!strcmp(id, "a1") && r == ENACT_DROP_FAILED)
			seen |= 1;
		if (!strcmp(id, "c1") && r == ENACT_DROP_SHUTDOWN)
			seen |= 2;
		if (!strcmp(id, "d1") && r == ENACT_DROP_UNFINISHED)
			seen |= 4;
		if (!strcmp(id, "x1") && r == ENACT_DROP_REMOVED)
			seen |= 8;
	}
	assert_int_equal(seen, 15);
	level_text(&p.levels[0], buf, sizeof(buf));
	assert_string_equal(buf, "A:1 D:1");
	level_text(&p.levels[1], buf, sizeof(buf));
	assert_string_equal(buf, "C:1");
	assert_string_equal(enact_drop_reason_name(ENACT_DROP_REMOVED), "removed");
	enact_plan_release(&p);
	json_decref(nodes);
	json_decref(desc);
}

static void test_enact_plan_pass__scaling_requests(void **state)
{
	json_t *desc = json_loads(diamond, 0, NULL);
	json_t *nodes = json_pack("{s:o,s:o,s:o,s:o,s:o}", "a1", rec("A", "ready", 1), "b1",
				  rec("B", "ready", 1), "c1", rec("C", "ready", 1), "c2",
				  rec("C", "ready", 5), "d1", rec("D", "ready", 1));
	json_t *scaling =
		json_pack("{s:s,s:s,s:s,s:s,s:s}", "node-create:B:1", "", "node-create:B:2", "",
			  "node-destroy:C:1", "", "node-create:A:1", "", "node-count-D", "7");
	struct enact_plan p;
	char buf[128];

	assert_int_equal(plan(desc, nodes, scaling, NULL, &p, NULL), 0);
	/* B: 1 + 2 = 3; A stays at its max 1 (warning); C would go below min 2 (warning) */
	level_text(&p.levels[1], buf, sizeof(buf));
	assert_string_equal(buf, "B:2");
	assert_int_equal(json_integer_value(json_object_get(p.targets, "B")), 3);
	assert_int_equal(p.ndrops, 0);
	assert_true(json_array_size(p.warnings) >= 2);
	assert_true(json_array_size(p.scaling_del) >= 4);
	enact_plan_release(&p);
	json_decref(scaling);

	/* scaling C down to its minimum from 3: the youngest goes */
	json_object_set_new(nodes, "c3", rec("C", "ready", 9));
	scaling = json_pack("{s:s}", "node-destroy:C:1", "");
	assert_int_equal(plan(desc, nodes, scaling, NULL, &p, NULL), 0);
	assert_int_equal(p.ndrops, 1);
	assert_string_equal(p.drops[0].node_id, "c3");
	assert_int_equal(p.drops[0].reason, ENACT_DROP_SCALING);
	assert_int_equal(p.ncreate, 0);
	enact_plan_release(&p);
	json_decref(scaling);
	json_decref(nodes);
	json_decref(desc);
}

static void test_enact_plan_pass__malformed_description(void **state)
{
	json_t *desc = json_loads("{\"nodes\": [], \"levels\": [[\"ghost\"]]}", 0, NULL);
	json_t *nodes = json_object();
	struct enact_plan p;
	struct occo_err err;

	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, &err), -OCCO_EPROTO);
	assert_non_null(strstr(err.msg, "unknown node 'ghost'"));
	json_decref(desc);
	desc = json_object();
	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, &err), -OCCO_EPROTO);
	json_decref(desc);
	json_decref(nodes);
}

static void test_enact_guard_trips__table(void **state)
{
	static const struct {
		size_t failed, total;
		double share;
		int want;
	} t[] = {
		{ 0, 0, 0, 0 },	     { 1, 1, 0, 0 }, /* one failing instance is never a partition */
		{ 1, 2, 0, 0 },	     { 2, 4, 0, 0 }, /* half is not more than half */
		{ 3, 4, 0, 1 },	     { 2, 3, 0, 1 },   { 2, 2, 0, 1 },
		{ 3, 4, 0.8, 0 },    { 4, 4, 0.8, 1 }, { 2, 2, 1.0, 0 }, /* never more than all */
		{ 2, 100, 0.01, 1 }, { 5, 10, -1, 0 }, /* out of range: the default 0.5 */
		{ 60, 100, 0.5, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (enact_guard_trips(t[i].failed, t[i].total, t[i].share) != t[i].want)
			fail_msg("%zu of %zu at %g: want %d", t[i].failed, t[i].total, t[i].share,
				 t[i].want);
}

static json_t *health_failed(long long created)
{
	json_t *r = rec("W", "failed", created);

	json_object_set_new(r, "health_failed", json_true());
	return r;
}

static void test_enact_plan_pass__guard(void **state)
{
	json_t *desc = json_loads("{\"nodes\": [{\"name\": \"W\", \"scaling\": {\"min\": 5, "
				  "\"max\": 5}}], \"levels\": [[\"W\"]]}",
				  0, NULL);
	json_t *nodes = json_pack("{s:o,s:o,s:o,s:o,s:o}", "w1", health_failed(1), "w2",
				  rec("W", "ready", 2), "w3", rec("W", "ready", 3), "w4",
				  rec("W", "ready", 4), "w5", rec("W", "ready", 5));
	struct enact_plan_opts o = { 0.8 };
	struct enact_plan p;

	/* one of five failed its health checks: replaced */
	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_int_equal(p.ndrops, 1);
	assert_string_equal(p.drops[0].node_id, "w1");
	assert_int_equal(p.drops[0].reason, ENACT_DROP_FAILED);
	assert_int_equal(p.ncreate, 1);
	assert_int_equal(json_array_size(p.suppressed), 0);
	enact_plan_release(&p);

	/* three of five at once, and one that its cloud says failed: only that one is replaced */
	json_object_set_new(nodes, "w2", health_failed(2));
	json_object_set_new(nodes, "w3", health_failed(3));
	json_object_set_new(nodes, "w5", rec("W", "failed", 5));
	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_int_equal(p.nhealth_failed, 3);
	assert_int_equal(p.ninstances, 5);
	assert_int_equal(json_array_size(p.suppressed), 3);
	assert_int_equal(p.ndrops, 1);
	assert_string_equal(p.drops[0].node_id, "w5");
	assert_int_equal(p.ncreate, 1);
	assert_int_equal(p.nkeep, 4);
	enact_plan_release(&p);

	/* a share of 0.8: three of five is not a partition, all four failed ones go */
	assert_int_equal(plan(desc, nodes, NULL, &o, &p, NULL), 0);
	assert_int_equal(json_array_size(p.suppressed), 0);
	assert_int_equal(p.ndrops, 4);
	assert_int_equal(p.ncreate, 4);
	enact_plan_release(&p);

	/*
	 * A partition: one is past its timeout, two more fail within theirs (health_failing),
	 * the cloud says nothing is wrong. Three of five fail at once: the one is kept.
	 */
	json_object_set_new(nodes, "w2", rec("W", "ready", 2));
	json_object_set_new(nodes, "w3", rec("W", "ready", 3));
	json_object_set_new(nodes, "w5", rec("W", "ready", 5));
	json_object_set_new(json_object_get(nodes, "w2"), "health_failing", json_true());
	json_object_set_new(json_object_get(nodes, "w3"), "health_failing", json_true());
	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_int_equal(p.nhealth_failed, 3);
	assert_int_equal(json_array_size(p.suppressed), 1);
	assert_int_equal(p.ndrops, 0);
	enact_plan_release(&p);
	/* one failing within its timeout besides the failed one: two of five, replaced */
	json_object_del(json_object_get(nodes, "w3"), "health_failing");
	assert_int_equal(plan(desc, nodes, NULL, NULL, &p, NULL), 0);
	assert_int_equal(json_array_size(p.suppressed), 0);
	assert_int_equal(p.ndrops, 1);
	assert_string_equal(p.drops[0].node_id, "w1");
	enact_plan_release(&p);
	json_decref(nodes);
	json_decref(desc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enact_plan_pass__fresh_infrastructure_as_occopus_trace),
		cmocka_unit_test(test_enact_plan_pass__nothing_to_do),
		cmocka_unit_test(test_enact_plan_pass__upkeep_replaces_failed_and_shutdown),
		cmocka_unit_test(test_enact_plan_pass__scaling_requests),
		cmocka_unit_test(test_enact_plan_pass__malformed_description),
		cmocka_unit_test(test_enact_guard_trips__table),
		cmocka_unit_test(test_enact_plan_pass__guard),
	};
	return cmocka_run_group_tests(tests, NULL, free_held);
}
