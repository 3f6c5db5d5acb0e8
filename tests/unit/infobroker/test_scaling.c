/*
 * test_scaling.c - ib_scaling_plan(): Occopus's target computation and drop selection
 * (OCCOPUS.md 6.3), one table row per rule. The node is always "w"; request fields use short
 * ids in place of uuids.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "occo/infobroker/scaling.h"

struct scase {
	const char *title;
	const char *scaling; /* the node's {min, max}; NULL: none */
	const char *fields; /* the scaling hash; NULL: empty */
	const char *inst; /* [[node_id, addresses, created_at], ...]; NULL: none */
	int min, max, target, store;
	const char *drop, *del, *put, *warnings; /* expected; NULL: [] / {} */
};

static const struct scase cases[] = {
	{ "defaults: one instance, nothing stored", NULL, NULL, NULL, 1, 1, 1, 0, NULL, NULL, NULL,
	  NULL },
	{ "min 0 is raised to 1, max defaults to min", "{\"min\": 0}", NULL, NULL, 1, 1, 1, 0, NULL,
	  NULL, NULL, NULL },
	{ "max below min becomes min", "{\"min\": 3, \"max\": 2}", NULL, NULL, 3, 3, 3, 0, NULL,
	  NULL, NULL, NULL },
	{ "no stored target: min", "{\"min\": 2, \"max\": 5}", NULL, NULL, 2, 5, 2, 0, NULL, NULL,
	  NULL, NULL },
	{ "stored target above max is clamped, not stored", "{\"min\": 1, \"max\": 3}",
	  "{\"node-count-w\": \"7\"}", NULL, 1, 3, 3, 0, NULL, NULL, NULL, NULL },
	{ "stored target below min is clamped", "{\"min\": 2, \"max\": 5}",
	  "{\"node-count-w\": \"0\"}", NULL, 2, 5, 2, 0, NULL, NULL, NULL, NULL },
	{ "a stored target that is not a number counts as 0", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"x\"}", NULL, 1, 5, 1, 0, NULL, NULL, NULL,
	  "[\"Scaling: invalid target count 'x' ignored for node 'w'\"]" },
	{ "create requests add to the target and are deleted", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-create:w:b\": \"\", \"node-create:w:a\": \"\"}", NULL,
	  1, 5, 4, 1, NULL, "[\"node-create:w:a\", \"node-create:w:b\"]", NULL, NULL },
	{ "create requests capped at max, with a warning", "{\"min\": 1, \"max\": 3}",
	  "{\"node-count-w\": \"2\", \"node-create:w:a\": \"\", \"node-create:w:b\": \"\", "
	  "\"node-create:w:c\": \"\"}",
	  NULL, 1, 3, 3, 1, NULL, "[\"node-create:w:a\", \"node-create:w:b\", \"node-create:w:c\"]",
	  NULL, "[\"Scaling: request(s) ignored, maximum count (3) reached for node 'w'\"]" },
	{ "other nodes' fields and malformed fields are ignored", "{\"min\": 1, \"max\": 5}",
	  "{\"node-create:w2:a\": \"\", \"node-create:web:a\": \"\", \"node-create:w:a:b\": \"\", "
	  "\"node-create:w:\": \"\", \"node-destroy:w2:a\": \"\", \"node-count-w2\": \"4\"}",
	  NULL, 1, 5, 1, 0, NULL, NULL, NULL, NULL },
	{ "create at max changes nothing: the named destroy is applied instead",
	  "{\"min\": 1, \"max\": 3}",
	  "{\"node-count-w\": \"3\", \"node-create:w:a\": \"\", \"node-destroy:w:x\": \"n1\"}",
	  "[[\"n1\", [], 1], [\"n2\", [], 2], [\"n3\", [], 3]]", 1, 3, 2, 1, "[\"n1\"]",
	  "[\"node-create:w:a\", \"node-destroy:w:x\"]", NULL,
	  "[\"Scaling: request(s) ignored, maximum count (3) reached for node 'w'\"]" },
	{ "a destroy request naming a node_id drops that instance", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"3\", \"node-destroy:w:x\": \"b\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2], [\"c\", [], 3]]", 1, 5, 2, 1, "[\"b\"]",
	  "[\"node-destroy:w:x\"]", NULL, NULL },
	{ "a destroy request naming an address drops the instance that has it",
	  "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"3\", \"node-destroy:w:x\": \"10.0.0.2\"}",
	  "[[\"a\", [\"10.0.0.1\"], 1], [\"b\", [\"192.168.1.9\", \"10.0.0.2\"], 2], "
	  "[\"c\", \"10.0.0.3\", 3]]",
	  1, 5, 2, 1, "[\"b\"]", "[\"node-destroy:w:x\"]", NULL, NULL },
	{ "an address becomes the node_id when nothing is dropped in this pass",
	  "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"3\", \"node-destroy:w:x\": \"10.0.0.2\"}",
	  "[[\"a\", [\"10.0.0.1\"], 1], [\"b\", [\"10.0.0.2\"], 2]]", 1, 5, 2, 1, NULL, NULL,
	  "{\"node-destroy:w:x\": \"b\"}", NULL },
	{ "unknown node ids and addresses are deleted and change nothing",
	  "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-destroy:w:x\": \"zzz\", "
	  "\"node-destroy:w:y\": \"10.9.9.9\"}",
	  "[[\"a\", [\"10.0.0.1\"], 1], [\"b\", [], 2]]", 1, 5, 2, 0, NULL,
	  "[\"node-destroy:w:x\", \"node-destroy:w:y\"]", NULL, NULL },
	{ "a value with two dots is a node id, not an address", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-destroy:w:x\": \"a.b.c\"}",
	  "[[\"a.b.c\", [], 1], [\"b\", [], 2]]", 1, 5, 1, 1, "[\"a.b.c\"]",
	  "[\"node-destroy:w:x\"]", NULL, NULL },
	{ "named destroys below min: warning, surplus deleted", "{\"min\": 2, \"max\": 5}",
	  "{\"node-count-w\": \"3\", \"node-destroy:w:x1\": \"a\", \"node-destroy:w:x2\": \"b\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2], [\"c\", [], 3]]", 2, 5, 2, 1, "[\"b\"]",
	  "[\"node-destroy:w:x1\", \"node-destroy:w:x2\"]", NULL,
	  "[\"Scaling: request(s) ignored, minimum count (2) reached for node 'w'\"]" },
	{ "named destroys at min change nothing: the anonymous ones are tried next",
	  "{\"min\": 2, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-destroy:w:x1\": \"a\", \"node-destroy:w:y1\": \"\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2]]", 2, 5, 2, 1, NULL,
	  "[\"node-destroy:w:x1\", \"node-destroy:w:y1\"]", NULL,
	  "[\"Scaling: request(s) ignored, minimum count (2) reached for node 'w'\", "
	  "\"Scaling: request(s) ignored, minimum count (2) reached for node 'w'\"]" },
	{ "anonymous destroys drop the youngest", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"3\", \"node-destroy:w:y1\": \"\", \"node-destroy:w:y2\": \"\"}",
	  "[[\"a\", [], 100], [\"b\", [], 300], [\"c\", [], 200]]", 1, 5, 1, 1, "[\"b\", \"c\"]",
	  "[\"node-destroy:w:y1\", \"node-destroy:w:y2\"]", NULL, NULL },
	{ "anonymous destroys below min: warning, all consumed", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-destroy:w:y1\": \"\", \"node-destroy:w:y2\": \"\", "
	  "\"node-destroy:w:y3\": \"\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2]]", 1, 5, 1, 1, "[\"b\"]",
	  "[\"node-destroy:w:y1\", \"node-destroy:w:y2\", \"node-destroy:w:y3\"]", NULL,
	  "[\"Scaling: request(s) ignored, minimum count (1) reached for node 'w'\"]" },
	{ "more instances than the target: the youngest go, nothing stored",
	  "{\"min\": 1, \"max\": 5}", "{\"node-count-w\": \"2\"}",
	  "[[\"a\", [], 1], [\"b\", [], 4], [\"c\", [], 3], [\"d\", [], 2]]", 1, 5, 2, 0,
	  "[\"b\", \"c\"]", NULL, NULL, NULL },
	{ "equal ages: the youngest by node_id order", "{\"min\": 1, \"max\": 5}", NULL,
	  "[[\"b\", [], 5], [\"a\", [], 5]]", 1, 5, 1, 0, "[\"a\"]", NULL, NULL, NULL },
	{ "named instances go first, then the youngest", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-destroy:w:x\": \"a\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2], [\"c\", [], 3], [\"d\", [], 4]]", 1, 5, 1, 1,
	  "[\"a\", \"d\", \"c\"]", "[\"node-destroy:w:x\"]", NULL, NULL },
	{ "two requests naming one instance count twice, drop it once", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"3\", \"node-destroy:w:x1\": \"a\", \"node-destroy:w:x2\": \"a\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2], [\"c\", [], 3]]", 1, 5, 1, 1, "[\"a\", \"c\"]",
	  "[\"node-destroy:w:x1\", \"node-destroy:w:x2\"]", NULL, NULL },
	{ "one kind per pass: creates applied, destroys kept for the next pass",
	  "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"2\", \"node-create:w:a\": \"\", \"node-destroy:w:y\": \"\", "
	  "\"node-destroy:w:x\": \"a\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2]]", 1, 5, 3, 1, NULL, "[\"node-create:w:a\"]", NULL,
	  NULL },
	{ "a drop with no named request consumes anonymous ones not applied",
	  "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"1\", \"node-create:w:a\": \"\", \"node-destroy:w:y\": \"\"}",
	  "[[\"a\", [], 1], [\"b\", [], 2], [\"c\", [], 3], [\"d\", [], 4]]", 1, 5, 2, 1,
	  "[\"d\", \"c\"]", "[\"node-create:w:a\", \"node-destroy:w:y\"]", NULL, NULL },
	{ "a drop with named requests keeps anonymous ones", "{\"min\": 1, \"max\": 5}",
	  "{\"node-count-w\": \"1\", \"node-create:w:a\": \"\", \"node-destroy:w:y\": \"\", "
	  "\"node-destroy:w:x\": \"10.0.0.1\"}",
	  "[[\"a\", [\"10.0.0.1\"], 1], [\"b\", [], 2], [\"c\", [], 3], [\"d\", [], 4]]", 1, 5, 2,
	  1, "[\"a\", \"d\"]", "[\"node-create:w:a\", \"node-destroy:w:x\"]", NULL, NULL },
};

static json_t *load(const char *text, const char *def)
{
	json_error_t jerr;
	json_t *v = json_loads(text ? text : def, JSON_DECODE_ANY, &jerr);

	if (!v)
		fail_msg("bad test JSON '%s': %s", text, jerr.text);
	return v;
}

static void expect_json(const struct scase *c, const char *what, const json_t *got,
			const char *want_text, const char *def)
{
	json_t *want = load(want_text, def);

	if (!json_equal(want, got)) {
		char *g = json_dumps(got, JSON_ENCODE_ANY), *w = json_dumps(want, JSON_ENCODE_ANY);

		fail_msg("%s: %s: got %s, want %s", c->title, what, g, w);
	}
	json_decref(want);
}

static void run_case(const struct scase *c)
{
	json_t *scaling = c->scaling ? load(c->scaling, NULL) : NULL;
	json_t *fields = load(c->fields, "{}"), *inst = load(c->inst, "[]"), *row;
	struct ib_scaling_inst in[16];
	struct ib_scaling_plan p;
	struct occo_err err;
	size_t i, n = json_array_size(inst);

	assert_true(n <= 16);
	json_array_foreach (inst, i, row) {
		in[i].node_id = json_string_value(json_array_get(row, 0));
		in[i].addresses = json_array_get(row, 1);
		in[i].created_at = (uint64_t)json_integer_value(json_array_get(row, 2));
	}
	if (ib_scaling_plan("w", scaling, fields, in, n, &p, &err) < 0)
		fail_msg("%s: %s", c->title, err.msg);
	if (p.min != c->min || p.max != c->max || p.target != c->target ||
	    p.store_target != c->store)
		fail_msg("%s: min %d max %d target %d store %d, want %d %d %d %d", c->title, p.min,
			 p.max, p.target, p.store_target, c->min, c->max, c->target, c->store);
	expect_json(c, "drop", p.drop, c->drop, "[]");
	expect_json(c, "del", p.del, c->del, "[]");
	expect_json(c, "put", p.put, c->put, "{}");
	expect_json(c, "warnings", p.warnings, c->warnings, "[]");
	ib_scaling_plan_release(&p);
	json_decref(scaling);
	json_decref(fields);
	json_decref(inst);
}

static void test_ib_scaling_plan__table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

static void test_ib_scaling_plan__pure_input_untouched(void **state)
{
	json_t *fields = json_pack("{s:s, s:s}", "node-count-w", "1", "node-create:w:a", "");
	json_t *copy = json_deep_copy(fields);
	struct ib_scaling_plan p;

	assert_int_equal(ib_scaling_plan("w", NULL, fields, NULL, 0, &p, NULL), 0);
	assert_true(json_equal(fields, copy));
	ib_scaling_plan_release(&p);
	/* a second run on the same input gives the same plan: nothing was consumed */
	assert_int_equal(ib_scaling_plan("w", NULL, fields, NULL, 0, &p, NULL), 0);
	assert_int_equal(json_array_size(p.del), 1);
	ib_scaling_plan_release(&p);
	json_decref(fields);
	json_decref(copy);
}

static void test_ib_scaling_plan__bad_arguments(void **state)
{
	struct ib_scaling_inst in = { NULL, NULL, 0 };
	struct ib_scaling_plan p;
	struct occo_err err;
	json_t *arr = json_array();

	assert_int_equal(ib_scaling_plan(NULL, NULL, NULL, NULL, 0, &p, &err), -OCCO_EINVAL);
	assert_int_equal(ib_scaling_plan("w", NULL, arr, NULL, 0, &p, &err), -OCCO_EINVAL);
	assert_int_equal(ib_scaling_plan("w", NULL, NULL, &in, 1, &p, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "no node_id"));
	json_decref(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ib_scaling_plan__table),
		cmocka_unit_test(test_ib_scaling_plan__pure_input_untouched),
		cmocka_unit_test(test_ib_scaling_plan__bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
