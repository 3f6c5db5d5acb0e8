/*
 * test_infra.c - compiling infrastructure descriptions: Occopus's levels (its own fixtures),
 * variables, mappings, references, and one positioned error per problem.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/compiler/infra.h"
#include "occo/util/alloc.h"
#include "occo/util/yaml.h"

/* Compile YAML text; returns the rc, fills *desc on success and the diagnostics text. */
static int compile_text(const char *text, json_t **desc, char **diag_text)
{
	struct occo_ydoc *doc;
	struct comp_diags d;
	struct occo_err err;
	int rc;

	*desc = NULL;
	rc = occo_yaml_load_string(text, strlen(text), "infra.yaml", NULL, NULL, &doc, &err);
	if (rc < 0) {
		*diag_text = occo_strdup(err.msg);
		return rc;
	}
	comp_diags_init(&d);
	rc = comp_infra_compile(doc, "11111111-2222-4333-8444-555555555555", &d, desc, &err);
	*diag_text = comp_diags_text(&d);
	comp_diags_release(&d);
	occo_ydoc_free(doc);
	return rc;
}

static json_t *node_named(json_t *desc, const char *name)
{
	json_t *n;
	size_t i;

	json_array_foreach (json_object_get(desc, "nodes"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "name")), name))
			return n;
	return NULL;
}

/* The fixture's infrastructures use Occopus's older node schema: rebuild each in ours. */
static void test_comp_infra_compile__occopus_level_fixtures(void **state)
{
	struct occo_ydoc *fx;
	struct occo_err err;
	json_t *infra;
	char *path;
	size_t i, nchecked = 0;

	if (!occo_test_have_shared())
		skip();
	path = occo_test_shared_path("occopus-fixtures/compiler/test-config.yaml");
	assert_int_equal(occo_yaml_load_file(path, NULL, &fx, &err), 0);
	json_array_foreach (json_object_get(occo_ydoc_root(fx), "infrastructures"), i, infra) {
		json_t *in = json_object(), *nodes = json_array(), *deps = json_array();
		json_t *n, *dep, *desc, *levels, *expected;
		size_t j, k;
		char *text, *diags;

		json_object_set_new(in, "infra_name",
				    json_string(json_string_value(json_object_get(infra, "name"))));
		json_object_set_new(in, "user_id", json_string("tester"));
		json_array_foreach (json_object_get(infra, "nodes"), j, n) {
			json_t *copy = json_pack("{s:O,s:s}", "name", json_object_get(n, "name"),
						 "type", "t");

			if (json_object_get(n, "scaling"))
				json_object_set(copy, "scaling", json_object_get(n, "scaling"));
			json_array_append_new(nodes, copy);
		}
		json_array_foreach (json_object_get(infra, "dependencies"), j, dep) {
			/* aliases become names; the connection form keeps its mappings */
			json_t *pair =
				json_is_array(dep) ? dep : json_object_get(dep, "connection");
			json_t *names =
				json_pack("[O,O]", json_object_get(json_array_get(pair, 0), "name"),
					  json_object_get(json_array_get(pair, 1), "name"));

			if (json_is_array(dep)) {
				json_array_append_new(deps, names);
			} else {
				json_t *c = json_deep_copy(dep);

				json_object_set_new(c, "connection", names);
				json_array_append_new(deps, c);
			}
		}
		json_object_set_new(in, "nodes", nodes);
		json_object_set_new(in, "dependencies", deps);
		text = json_dumps(in, 0); /* JSON is YAML */
		assert_int_equal(compile_text(text, &desc, &diags), 0);
		levels = json_object_get(desc, "levels");
		expected = json_object_get(infra, "expected_output");
		assert_int_equal(json_array_size(levels), json_array_size(expected));
		for (j = 0; j < json_array_size(expected); j++) {
			json_t *want = json_array_get(expected, j); /* a !!set: keys */
			json_t *got = json_array_get(levels, j);

			assert_int_equal(json_array_size(got), json_object_size(want));
			for (k = 0; k < json_array_size(got); k++)
				assert_non_null(json_object_get(
					want, json_string_value(json_array_get(got, k))));
		}
		nchecked++;
		json_decref(desc);
		json_decref(in);
		free(text);
		free(diags);
	}
	assert_int_equal(nchecked, 6);
	occo_ydoc_free(fx);
	free(path);
}

static void test_comp_infra_compile__aliases_variables_and_mappings(void **state)
{
	static const char text[] = "user_id: me@example.com\n"
				   "infra_name: wp\n"
				   "variables: {region: eu, db: {port: 3306, engine: maria}}\n"
				   "nodes:\n"
				   "  - &DB\n"
				   "    name: db\n"
				   "    type: mysql_node\n"
				   "    variables: {db: {port: 3307}}\n"
				   "  - &WEB\n"
				   "    name: web\n"
				   "    type: wp_node\n"
				   "    scaling: {min: 2, max: 4}\n"
				   "dependencies:\n"
				   "  - connection: [*WEB, *DB]\n"
				   "    mappings:\n"
				   "      - [fqdn, wordpress.db.host]\n"
				   "      - {attributes: [a, b], synch: true, any: x}\n"
				   "    note: kept\n";
	json_t *desc, *db, *web, *edge;
	char *diags;

	assert_int_equal(compile_text(text, &desc, &diags), 0);
	assert_string_equal(json_string_value(json_object_get(desc, "infra_id")),
			    "11111111-2222-4333-8444-555555555555");
	db = node_named(desc, "db");
	web = node_named(desc, "web");
	/* deep merge: the node's db.port wins, db.engine and region are inherited */
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(db, "variables"), "db"), "port")),
			 3307);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_object_get(db, "variables"), "db"), "engine")),
		"maria");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(web, "variables"), "region")),
		"eu");
	/* Occopus's scaling defaults: no scaling = 1..1 */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(db, "scaling"), "min")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(db, "scaling"), "max")),
			 1);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(web, "scaling"), "max")), 4);
	/* the edge and the nodes' views of it */
	edge = json_array_get(json_object_get(desc, "edges"), 0);
	assert_string_equal(json_string_value(json_object_get(edge, "dependent")), "web");
	assert_string_equal(json_string_value(json_object_get(edge, "dependee")), "db");
	assert_string_equal(json_string_value(json_object_get(edge, "note")), "kept");
	assert_int_equal(json_array_size(json_object_get(edge, "mappings")), 2);
	assert_true(json_is_false(
		json_object_get(json_array_get(json_object_get(edge, "mappings"), 0), "synch")));
	assert_true(json_is_true(
		json_object_get(json_array_get(json_object_get(edge, "mappings"), 1), "synch")));
	assert_non_null(json_object_get(
		json_object_get(json_object_get(web, "mappings"), "inbound"), "db"));
	assert_non_null(json_object_get(
		json_object_get(json_object_get(db, "mappings"), "outbound"), "web"));
	assert_string_equal(json_string_value(json_array_get(
				    json_array_get(json_object_get(desc, "levels"), 1), 0)),
			    "web");
	assert_string_equal(json_string_value(json_object_get(web, "infra_name")), "wp");
	json_decref(desc);
	free(diags);
}

static void test_comp_infra_compile__names_as_strings(void **state)
{
	static const char text[] = "infra_name: x\nuser_id: u\n"
				   "nodes: [{name: a, type: t}, {name: b, type: t}]\n"
				   "dependencies: [[b, a]]\n";
	json_t *desc;
	char *diags;

	assert_int_equal(compile_text(text, &desc, &diags), 0);
	assert_int_equal(json_array_size(json_object_get(desc, "levels")), 2);
	json_decref(desc);
	free(diags);
}

static void test_comp_infra_compile__cycle_prints_its_path(void **state)
{
	static const char text[] = "infra_name: x\nuser_id: u\n"
				   "nodes: [{name: a, type: t}, {name: b, type: t}, "
				   "{name: c, type: t}, {name: d, type: t}]\n"
				   "dependencies:\n"
				   "  - [d, a]\n"
				   "  - [a, b]\n"
				   "  - [b, c]\n"
				   "  - [c, a]\n";
	json_t *desc;
	char *diags;

	assert_int_equal(compile_text(text, &desc, &diags), -OCCO_EINVAL);
	assert_null(desc);
	assert_non_null(strstr(diags, "dependency cycle: a -> b -> c -> a"));
	free(diags);
}

/* Each broken input: the text, and what the diagnostics must say (position included). */
static const struct {
	const char *text;
	const char *expect;
} broken[] = {
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\nextra: 1\n",
	  "infra.yaml:4:1: error: unknown key 'extra' in infrastructure description" },
	{ "user_id: u\nnodes: [{name: a, type: t}]\n", "error: infra_name must be defined" },
	{ "infra_name: my.infra\nuser_id: u\nnodes: [{name: a, type: t}]\n",
	  "infra.yaml:1:13: error: infra_name \"my.infra\" cannot contain '.' character" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a_b, type: t}]\n",
	  "infra.yaml:3:16: error: node \"a_b\" may contain only [a-z,0-9,-] characters" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - name: a\n    type: t\n  - name: a\n    type: t\n",
	  "infra.yaml:6:11: error: duplicate node name 'a' (first defined at line 4)" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - name: a\n    type: t\n    nmae: b\n",
	  "infra.yaml:6:5: error: unknown key 'nmae' in node 'a'" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - name: a\n", "missing key 'type' in node 'a'" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - type: t\n", "missing key 'name' in node 1" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - {name: a, type: t, scaling: {min: 3, max: 2}}\n",
	  "scaling min (3) of node 'a' is greater than max (2)" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - {name: a, type: t, scaling: {min: one}}\n",
	  "infra.yaml:4:39: error: scaling min of node 'a' must be an integer" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - {name: a, type: t, scaling: {min: 1.5}}\n",
	  "scaling min of node 'a' must be an integer" },
	{ "infra_name: x\nuser_id: u\nnodes:\n  - {name: a, type: t, scaling: {mni: 1}}\n",
	  "unknown key 'mni' in scaling of node 'a'" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\ndependencies: [[a, zz]]\n",
	  "infra.yaml:4:20: error: dependency names unknown node 'zz'" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\ndependencies: [[a]]\n",
	  "a dependency must be a pair [dependent, dependee]" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\ndependencies: [{mappings: "
	  "[]}]\n",
	  "has no 'connection: [dependent, dependee]'" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\ndependencies: [[a, a]]\n",
	  "dependency cycle: a -> a" },
	{ "infra_name: x\nuser_id: u\nnodes: []\n", "'nodes' must be a non-empty list" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t, filter: [1]}]\n",
	  "filter of node 'a' must be a mapping" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}]\nvariables: [1, 2]\n",
	  "'variables' must be a mapping" },
	{ "- just\n- a list\n", "must be a mapping" },
	{ "infra_name: x\nuser_id: u\nnodes: [{name: a, type: t}, {name: b, type: t}]\n"
	  "dependencies:\n  - connection: [b, a]\n    mappings: [[only-one]]\n",
	  "a mapping must be a pair [source, destination]" },
};

static void test_comp_infra_compile__broken_inputs_are_positioned_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		json_t *desc;
		char *diags;
		int rc = compile_text(broken[i].text, &desc, &diags);

		if (rc != -OCCO_EINVAL || !strstr(diags, broken[i].expect))
			fail_msg("case %zu: rc %d, wanted '%s' in:\n%s", i, rc, broken[i].expect,
				 diags);
		assert_null(desc);
		free(diags);
	}
}

static void test_comp_infra_compile__reports_every_error_in_one_run(void **state)
{
	static const char text[] = "infra_name: bad.name\n"
				   "nodes:\n"
				   "  - {name: a, type: t, colour: red}\n"
				   "  - {name: a, type: t}\n"
				   "  - {name: b, scaling: {min: 5, max: 1}}\n"
				   "dependencies: [[b, nowhere]]\n"
				   "typo: 1\n";
	json_t *desc;
	char *diags, *p;
	int lines = 0;

	assert_int_equal(compile_text(text, &desc, &diags), -OCCO_EINVAL);
	for (p = diags; (p = strstr(p, ": error: ")) != NULL; p++)
		lines++;
	/* bad name, unknown key, duplicate, missing type, min > max, unknown top key; the
	   dependency is not resolved while the node list itself is broken */
	assert_true(lines >= 6);
	assert_non_null(strstr(diags, "warning: user_id is not defined"));
	free(diags);
}

/* Every infrastructure description of Occopus's tutorials compiles. */
static void test_comp_infra_compile__every_tutorial_compiles(void **state)
{
	char *dir;
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (!occo_test_have_shared())
		skip();
	dir = occo_test_shared_path("occopus-tutorials");
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char *sub = occo_asprintf("%s/%s", dir, e->d_name);
		DIR *sd = e->d_name[0] != '.' ? opendir(sub) : NULL;
		struct dirent *f;

		while (sd && (f = readdir(sd)) != NULL) {
			struct occo_ydoc *doc;
			struct occo_err err;
			struct comp_diags dg;
			json_t *desc;
			char *path;
			size_t len = strlen(f->d_name);

			if (len < 6 || strcmp(f->d_name + len - 5, ".yaml"))
				continue;
			path = occo_asprintf("%s/%s", sub, f->d_name);
			assert_int_equal(occo_yaml_load_file(path, NULL, &doc, &err), 0);
			if (!json_object_get(occo_ydoc_root(doc), "infra_name")) {
				occo_ydoc_free(doc);
				free(path);
				continue;
			}
			comp_diags_init(&dg);
			if (comp_infra_compile(doc, NULL, &dg, &desc, &err) < 0) {
				comp_diags_print(&dg, stderr);
				fail_msg("%s does not compile: %s", path, err.msg);
			}
			assert_int_equal(dg.nerrors, 0);
			json_decref(desc);
			comp_diags_release(&dg);
			occo_ydoc_free(doc);
			free(path);
			n++;
		}
		if (sd)
			closedir(sd);
		free(sub);
	}
	closedir(d);
	free(dir);
	assert_true(n >= 31);
}

static void test_comp_hostname_problem__rules(void **state)
{
	char long_name[70];

	assert_null(comp_hostname_problem("web-1"));
	assert_null(comp_hostname_problem("Web-1"));
	assert_non_null(comp_hostname_problem(""));
	assert_string_equal(comp_hostname_problem("a.b"), "cannot contain '.' character");
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	assert_non_null(strstr(comp_hostname_problem(long_name), "too long"));
	long_name[63] = '\0';
	assert_null(comp_hostname_problem(long_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comp_infra_compile__occopus_level_fixtures),
		cmocka_unit_test(test_comp_infra_compile__aliases_variables_and_mappings),
		cmocka_unit_test(test_comp_infra_compile__names_as_strings),
		cmocka_unit_test(test_comp_infra_compile__cycle_prints_its_path),
		cmocka_unit_test(test_comp_infra_compile__broken_inputs_are_positioned_errors),
		cmocka_unit_test(test_comp_infra_compile__reports_every_error_in_one_run),
		cmocka_unit_test(test_comp_infra_compile__every_tutorial_compiles),
		cmocka_unit_test(test_comp_hostname_problem__rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
