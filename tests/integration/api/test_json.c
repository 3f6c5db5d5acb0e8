/*
 * test_json.c - --json as a script uses it: every program prints exactly one JSON document on
 * stdout (maintain -c: one line per pass), {"ok": true, ...} or {"ok": false, "error": ...},
 * with the exit code saying the same; input errors come with their positions.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"

static const char nodes_yaml[] = "'node_def:kv':\n"
				 "  - resource: {type: dummy}\n"
				 "    health_check: {ping: false}\n"
				 "'node_def:worker':\n"
				 "  - resource: {type: dummy}\n"
				 "    health_check: {ping: false}\n";

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: js\n"
				 "nodes:\n"
				 "  - {name: kv, type: kv}\n"
				 "  - {name: workers, type: worker, scaling: {min: 2, max: 4}}\n"
				 "dependencies: [[workers, kv]]\n";

/* line 4 has an unknown key, line 5 a bad scaling value */
static const char bad_infra_yaml[] = "user_id: me\n"
				     "infra_name: js\n"
				     "nodes:\n"
				     "  - {name: kv, type: kv, colour: red}\n"
				     "  - {name: w, type: worker, scaling: {min: many}}\n";

static const char bad_nodes_yaml[] = "'node_def:kv':\n"
				     "  - resource: {type: dummy, create_latency_ms: -5}\n";

static int setup(void **state)
{
	struct occo_test_progs *f = occo_calloc(1, sizeof(*f));

	if (occo_test_progs_setup(f, "json", NULL) < 0)
		return -1;
	occo_test_write_file(f->dir, "nodes.yaml", nodes_yaml);
	occo_test_write_file(f->dir, "infra.yaml", infra_yaml);
	occo_test_write_file(f->dir, "bad-infra.yaml", bad_infra_yaml);
	occo_test_write_file(f->dir, "bad-nodes.yaml", bad_nodes_yaml);
	*state = f;
	return 0;
}

/*
 * Run occopus-<prog> with `url` as the state store (NULL: the test's) and the arguments that
 * follow (NULL-terminated, at most 8); *doc gets stdout parsed as one JSON document (the test
 * fails when it is not one). Returns the exit code.
 */
static int run_json(struct occo_test_progs *f, const char *url, json_t **doc, const char *prog, ...)
{
	char *args[9], *out, *err;
	json_error_t je;
	va_list ap;
	size_t n = 0;
	int rc;

	va_start(ap, prog);
	while (n < 8 && (args[n] = va_arg(ap, char *)))
		n++;
	args[n] = NULL;
	va_end(ap);
	if (url) {
		char *e = occo_asprintf("OCCOPUS_REDIS_URL=%s", url);

		occo_test_progs_setenv(f, e);
		free(e);
	}
	rc = occo_test_progs_runv(f, &out, &err, prog, args);
	if (url) {
		char *e = occo_asprintf("OCCOPUS_REDIS_URL=unix://%s", f->redis.sock);

		occo_test_progs_setenv(f, e);
		free(e);
	}
	*doc = json_loads(out, 0, &je);
	if (!*doc)
		fail_msg("occopus-%s: stdout is not one JSON document (%s):\n%s\nstderr:\n%s", prog,
			 je.text, out, err);
	free(out);
	free(err);
	return rc;
}

static void assert_ok(const json_t *doc, int ok)
{
	const json_t *v = json_object_get(doc, "ok");

	assert_true(json_is_boolean(v));
	assert_int_equal(json_is_true(v), ok);
	if (!ok)
		assert_true(json_string_length(json_object_get(doc, "error")) > 0);
}

static size_t instances(const json_t *rep, const char *node)
{
	return json_object_size(json_object_get(json_object_get(rep, "nodes"), node));
}

static void test_json__the_whole_workflow(void **state)
{
	struct occo_test_progs *f = *state;
	json_t *doc, *v;
	char *id;
	size_t i;
	int found = 0;

	assert_int_equal(run_json(f, NULL, &doc, "import", "--json", "nodes.yaml", NULL), 0);
	assert_ok(doc, 1);
	assert_int_equal(json_array_size(json_object_get(doc, "node_types")), 2);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(doc, "node_types"), 0)), "kv");
	assert_true(json_is_true(json_object_get(doc, "stored")));
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "build", "--plan", "--json", "infra.yaml", NULL),
			 0);
	assert_ok(doc, 1);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "build", "--json", "infra.yaml", NULL), 0);
	assert_ok(doc, 1);
	id = occo_strdup(json_string_value(json_object_get(doc, "infra_id")));
	assert_true(occo_uuid_valid(id));
	assert_int_equal(instances(doc, "kv"), 1);
	assert_int_equal(instances(doc, "workers"), 2);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "maintain", "--json", "-i", id, NULL), 0);
	assert_ok(doc, 1);
	assert_string_equal(json_string_value(json_object_get(doc, "infra_id")), id);
	assert_int_equal(json_integer_value(json_object_get(doc, "created")), 0);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "scale", "--json", "-i", id, "-n", "workers", "-c",
				  "1", NULL),
			 0);
	assert_ok(doc, 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "change")), 1);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "maintain", "--json", "-i", id, NULL), 0);
	assert_ok(doc, 1);
	assert_int_equal(json_integer_value(json_object_get(doc, "created")), 1);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "maintain", "--json", "-r", "-i", id, NULL), 0);
	assert_ok(doc, 1);
	assert_int_equal(instances(doc, "workers"), 3);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "maintain", "--json", "-l", NULL), 0);
	assert_ok(doc, 1);
	json_array_foreach (json_object_get(doc, "infrastructures"), i, v)
		found |= !strcmp(json_string_value(v), id);
	assert_true(found);
	json_decref(doc);

	/* a node that does not exist: a failure document, exit 1 */
	assert_int_equal(
		run_json(f, NULL, &doc, "scale", "--json", "-i", id, "-n", "nope", "-c", "1", NULL),
		1);
	assert_ok(doc, 0);
	assert_non_null(strstr(json_string_value(json_object_get(doc, "error")), "'nope'"));
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "destroy", "--json", "-i", id, NULL), 0);
	assert_ok(doc, 1);
	assert_true(json_is_true(json_object_get(doc, "existed")));
	json_decref(doc);
	assert_int_equal(run_json(f, NULL, &doc, "destroy", "--json", "-i", id, NULL), 0);
	assert_ok(doc, 1);
	assert_true(json_is_false(json_object_get(doc, "existed")));
	json_decref(doc);
	free(id);
}

/* The diagnostic of `doc` whose message contains `what`, or NULL. */
static const json_t *diag(const json_t *doc, const char *what)
{
	const json_t *d;
	size_t i;

	json_array_foreach (json_object_get(doc, "diagnostics"), i, d)
		if (strstr(json_string_value(json_object_get(d, "message")), what))
			return d;
	return NULL;
}

static void test_json__input_errors_carry_positions(void **state)
{
	struct occo_test_progs *f = *state;
	const json_t *d;
	json_t *doc;

	assert_int_equal(run_json(f, NULL, &doc, "build", "--json", "bad-infra.yaml", NULL), 1);
	assert_ok(doc, 0);
	d = diag(doc, "colour");
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "severity")), "error");
	assert_non_null(strstr(json_string_value(json_object_get(d, "file")), "bad-infra.yaml"));
	assert_int_equal(json_integer_value(json_object_get(d, "line")), 4);
	assert_true(json_integer_value(json_object_get(d, "column")) > 0);
	assert_true(json_array_size(json_object_get(doc, "diagnostics")) >= 2);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "import", "--json", "bad-nodes.yaml", NULL), 1);
	assert_ok(doc, 0);
	d = diag(doc, "create_latency_ms");
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "line")), 2);
	json_decref(doc);

	assert_int_equal(run_json(f, NULL, &doc, "import", "--json", "missing.yaml", NULL), 1);
	assert_ok(doc, 0);
	assert_non_null(strstr(json_string_value(json_object_get(doc, "error")), "missing.yaml"));
	json_decref(doc);
}

static void test_json__unreachable_store_is_a_failure_document(void **state)
{
	struct occo_test_progs *f = *state;
	char *url = occo_asprintf("unix://%s/no-such.sock", f->dir);
	json_t *doc;

	assert_int_equal(run_json(f, url, &doc, "build", "--json", "infra.yaml", NULL), 1);
	assert_ok(doc, 0);
	json_decref(doc);
	assert_int_equal(run_json(f, url, &doc, "maintain", "--json", "-i", "x", NULL), 1);
	assert_ok(doc, 0);
	json_decref(doc);
	assert_int_equal(run_json(f, url, &doc, "destroy", "--json", "-i", "x", NULL), 1);
	assert_ok(doc, 0);
	json_decref(doc);
	assert_int_equal(
		run_json(f, url, &doc, "scale", "--json", "-i", "x", "-n", "w", "-s", "2", NULL),
		1);
	assert_ok(doc, 0);
	json_decref(doc);
	assert_int_equal(run_json(f, url, &doc, "import", "--json", "nodes.yaml", NULL), 1);
	assert_ok(doc, 0);
	json_decref(doc);
	free(url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_json__the_whole_workflow, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_json__input_errors_carry_positions, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_json__unreachable_store_is_a_failure_document,
						setup, occo_test_progs_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
