/*
 * test_yaml.c - YAML loading: scalars by the core schema, marks, anchors, merge keys, imports,
 * Occopus's own files, and the limits that stop hostile input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/yaml.h"
#include "testutil.h"

#define NAME "t.yaml"

static struct occo_ydoc *load_ok(const char *text, const struct occo_yaml_opts *opts)
{
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };
	int rc = occo_yaml_load_string(text, strlen(text), NAME, NULL, opts, &doc, &err);

	if (rc < 0)
		fail_msg("loading '%s': %s", text, err.msg);
	return doc;
}

static struct occo_ydoc *load_file_ok(const char *path, const struct occo_yaml_opts *opts)
{
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };

	if (occo_yaml_load_file(path, opts, &doc, &err) < 0)
		fail_msg("loading %s: %s", path, err.msg);
	return doc;
}

static void expect_mark(const struct occo_yaml_mark *m, const char *file, unsigned line,
			unsigned col)
{
	if (!m) {
		fail_msg("no mark, expected %u:%u", line, col);
		return;
	}
	if (file)
		assert_string_equal(m->file, file);
	if (m->line != line || m->col != col)
		fail_msg("mark %s:%u:%u, expected %u:%u", m->file, m->line, m->col, line, col);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Walk "a.b.0.c" (numbers index arrays). */
static json_t *at(json_t *root, const char *path)
{
	char *copy = occo_strdup(path), *save = NULL, *part;
	json_t *v = root;

	for (part = strtok_r(copy, ".", &save); part && v; part = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(part, NULL, 10))
				     : json_object_get(v, part);
	free(copy);
	if (!v)
		fail_msg("no '%s' in the tree", path);
	return v;
}

static void test_occo_yaml_load_string__scalars(void **state)
{
	static const struct {
		const char *yaml;
		const char *json;
	} cases[] = {
		{ "", "null" },
		{ "~", "null" },
		{ "null", "null" },
		{ "Null", "null" },
		{ "NULL", "null" },
		{ "true", "true" },
		{ "True", "true" },
		{ "TRUE", "true" },
		{ "false", "false" },
		{ "False", "false" },
		{ "FALSE", "false" },
		{ "0", "0" },
		{ "12", "12" },
		{ "-12", "-12" },
		{ "+12", "12" },
		{ "0123", "123" },
		{ "0o17", "15" },
		{ "0x1F", "31" },
		{ "0xff", "255" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "-9223372036854775808", "-9223372036854775808" },
		{ "1.5", "1.5" },
		{ "-1.5", "-1.5" },
		{ "1e3", "1000.0" },
		{ "1E-2", "0.01" },
		{ "+2.5e+2", "250.0" },
		{ ".5", "0.5" },
		{ "-.5", "-0.5" },
		{ "1.", "1.0" },
		{ "yes", "\"yes\"" },
		{ "on", "\"on\"" },
		{ "nULL", "\"nULL\"" },
		{ "tRUE", "\"tRUE\"" },
		{ "0b101", "\"0b101\"" },
		{ "1_000", "\"1_000\"" },
		{ "0x", "\"0x\"" },
		{ "0o8", "\"0o8\"" },
		{ "-0x1F", "\"-0x1F\"" },
		{ "1.2.3", "\"1.2.3\"" },
		{ ".", "\".\"" },
		{ "+", "\"+\"" },
		{ "1e", "\"1e\"" },
		{ "2001-12-14", "\"2001-12-14\"" },
		{ "hello world", "\"hello world\"" },
		{ "'12'", "\"12\"" },
		{ "\"true\"", "\"true\"" },
		{ "''", "\"\"" },
		{ "\"null\"", "\"null\"" },
		{ "|\n  text\n", "\"text\\n\"" },
		{ "\"\\u00e9t\\u00e9\"", "\"\\u00e9t\\u00e9\"" },
		{ "!!str 12", "\"12\"" },
		{ "!!str true", "\"true\"" },
		{ "! 12", "\"12\"" },
		{ "!!int '12'", "12" },
		{ "!!int 0x10", "16" },
		{ "!!float 1", "1.0" },
		{ "!!float '2.5'", "2.5" },
		{ "!!bool \"false\"", "false" },
		{ "!!null ''", "null" },
		{ "!!null ~", "null" },
		{ "!Custom 12", "12" },
		{ "!Custom '12'", "\"12\"" },
		{ "!!seq [1]", "[1]" },
		{ "!!map {a: 1}", "{\"a\": 1}" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = occo_asprintf("v: %s", cases[i].yaml);
		json_t *want = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		struct occo_ydoc *doc = load_ok(text, NULL);
		json_t *got = json_object_get(occo_ydoc_root(doc), "v");

		assert_non_null(want);
		if (!json_equal(got, want)) {
			char *s = json_dumps(got, JSON_ENCODE_ANY);

			fail_msg("'%s' loaded as %s, expected %s", text, s, cases[i].json);
		}
		json_decref(want);
		occo_ydoc_free(doc);
		free(text);
	}
}

static void test_occo_yaml_load_string__errors(void **state)
{
	static const struct {
		const char *yaml;
		int code;
		const char *msg;
	} cases[] = {
		{ "a: b: c\n", OCCO_EINVAL,
		  "t.yaml:1:5: mapping values are not allowed in this context" },
		{ "v: [1, 2\nw: 3\n", OCCO_EINVAL,
		  "t.yaml:2:2: did not find expected ',' or ']' while parsing a flow sequence" },
		{ "a: *nope\n", OCCO_EINVAL, "t.yaml:1:4: unknown alias '*nope'" },
		{ "*nope : 1\n", OCCO_EINVAL, "t.yaml:1:1: unknown alias '*nope'" },
		{ "&a [1, *a]\n", OCCO_EINVAL,
		  "t.yaml:1:8: alias '*a' refers to a node that contains it" },
		{ "v: 9223372036854775808", OCCO_EINVAL,
		  "t.yaml:1:4: integer '9223372036854775808' is out of range" },
		{ "v: -9223372036854775809", OCCO_EINVAL,
		  "t.yaml:1:4: integer '-9223372036854775809' is out of range" },
		{ "v: 0x8000000000000000", OCCO_EINVAL,
		  "t.yaml:1:4: integer '0x8000000000000000' is out of range" },
		{ "v: 0o1000000000000000000000", OCCO_EINVAL,
		  "t.yaml:1:4: integer '0o1000000000000000000000' is out of range" },
		{ "v: .inf", OCCO_ENOTSUP,
		  "t.yaml:1:4: number '.inf' is not finite, which JSON cannot hold" },
		{ "v: -.Inf", OCCO_ENOTSUP,
		  "t.yaml:1:4: number '-.Inf' is not finite, which JSON cannot hold" },
		{ "v: .NaN", OCCO_ENOTSUP,
		  "t.yaml:1:4: number '.NaN' is not finite, which JSON cannot hold" },
		{ "v: 1e999", OCCO_ENOTSUP,
		  "t.yaml:1:4: number '1e999' is not finite, which JSON cannot hold" },
		{ "v: !!int abc", OCCO_EINVAL,
		  "t.yaml:1:4: value 'abc' does not match its tag '!!int'" },
		{ "v: !!int 1.5", OCCO_EINVAL,
		  "t.yaml:1:4: value '1.5' does not match its tag '!!int'" },
		{ "v: !!float x", OCCO_EINVAL,
		  "t.yaml:1:4: value 'x' does not match its tag '!!float'" },
		{ "v: !!bool yes", OCCO_EINVAL,
		  "t.yaml:1:4: value 'yes' does not match its tag '!!bool'" },
		{ "v: !!null 0", OCCO_EINVAL,
		  "t.yaml:1:4: value '0' does not match its tag '!!null'" },
		{ "v: !!str {a: 1}", OCCO_EINVAL,
		  "t.yaml:1:4: tag '!!str' cannot be used on a mapping" },
		{ "v: !!map [1]", OCCO_EINVAL,
		  "t.yaml:1:4: tag '!!map' cannot be used on a sequence" },
		{ "v: !!map 12", OCCO_EINVAL,
		  "t.yaml:1:4: tag '!!map' cannot be used on a scalar" },
		{ "a: 1\nb: 2\na: 3\n", OCCO_EINVAL, "t.yaml:3:1: duplicate key 'a'" },
		{ "{x: 1, 'x': 2}", OCCO_EINVAL, "t.yaml:1:8: duplicate key 'x'" },
		{ "? [a]\n: 1\n", OCCO_EINVAL,
		  "t.yaml:1:3: a mapping key must be a scalar, not a sequence" },
		{ "{a: 1}: 2\n", OCCO_EINVAL,
		  "t.yaml:1:1: a mapping key must be a scalar, not a mapping" },
		{ "a: 1\n---\nb: 2\n", OCCO_EINVAL,
		  "t.yaml:2:1: a second document: only one is allowed per file" },
		{ "<<: 1\n", OCCO_EINVAL,
		  "t.yaml:1:5: merge key '<<' needs a mapping or a sequence of mappings" },
		{ "<<: [{a: 1}, 2]\n", OCCO_EINVAL,
		  "t.yaml:1:14: merge key '<<' needs mappings, but item 2 is not a mapping" },
		{ "<<: {a: 1}\n<<: {b: 1}\n", OCCO_EINVAL, "t.yaml:2:1: duplicate key '<<'" },
		{ "v: !yaml_import file://x.yaml", OCCO_EINVAL,
		  "t.yaml:1:4: '!yaml_import' must tag a mapping with a 'url' key" },
		{ "v: !text_import [file://x]", OCCO_EINVAL,
		  "t.yaml:1:4: '!text_import' must tag a mapping with a 'url' key" },
		{ "v: !yaml_import {url: file://x.yaml}", OCCO_ENOTSUP,
		  "t.yaml:1:4: '!yaml_import' is not allowed in 't.yaml', which has no directory" },
		{ "a: \xff\n", OCCO_EINVAL, "t.yaml:1:4: invalid leading UTF-8 octet (0xff)" },
		{ "a: b\nc: \xc3\x28\n", OCCO_EINVAL,
		  "t.yaml:2:5: invalid trailing UTF-8 octet (0x28)" },
		{ "a: \"\\ud800\"\n", OCCO_EINVAL,
		  "t.yaml:1:7: found invalid Unicode character escape code while parsing a quoted "
		  "scalar" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct occo_ydoc *doc = NULL;
		struct occo_err err = { 0 };
		int rc = occo_yaml_load_string(cases[i].yaml, strlen(cases[i].yaml), NAME, NULL,
					       NULL, &doc, &err);

		if (rc != -cases[i].code || strcmp(err.msg, cases[i].msg) != 0)
			fail_msg("'%s': rc %d '%s', expected %d '%s'", cases[i].yaml, rc, err.msg,
				 -cases[i].code, cases[i].msg);
		assert_null(doc);
	}
}

static void test_occo_yaml_load_string__empty_is_null(void **state)
{
	static const char *const texts[] = { "", "\n", "# only a comment\n", "---\n", "--- ~\n" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct occo_ydoc *doc = load_ok(texts[i], NULL);

		assert_true(json_is_null(occo_ydoc_root(doc)));
		assert_int_equal(occo_ydoc_nfiles(doc), 1);
		assert_string_equal(occo_ydoc_file(doc, 0), NAME);
		assert_null(occo_ydoc_file(doc, 1));
		occo_ydoc_free(doc);
	}
}

static void test_occo_ydoc_mark__nodes_keys_children(void **state)
{
	static const char text[] = "name: web\n"
				   "count: 3\n"
				   "flag: true\n"
				   "list:\n"
				   "  - a\n"
				   "  - 1\n"
				   "  - false\n"
				   "nested:\n"
				   "  inner: {x: 1, y: [2, 3]}\n"
				   "quoted: \"q\"\n";
	enum { NODE, CHILD, KEY };
	static const struct {
		int what;
		const char *path; /* the node, or the parent of a child or key */
		const char *key;
		size_t index;
		unsigned line, col;
	} cases[] = {
		{ NODE, "", NULL, 0, 1, 1 },
		{ NODE, "name", NULL, 0, 1, 7 },
		{ KEY, "", "name", 0, 1, 1 },
		{ CHILD, "", "name", 0, 1, 7 },
		{ NODE, "count", NULL, 0, 2, 8 },
		{ CHILD, "", "flag", 0, 3, 7 },
		{ KEY, "", "flag", 0, 3, 1 },
		{ NODE, "list", NULL, 0, 5, 3 },
		{ KEY, "", "list", 0, 4, 1 },
		{ NODE, "list.0", NULL, 0, 5, 5 },
		{ CHILD, "list", NULL, 1, 6, 5 },
		{ CHILD, "list", NULL, 2, 7, 5 },
		{ NODE, "nested", NULL, 0, 9, 3 },
		{ KEY, "nested", "inner", 0, 9, 3 },
		{ NODE, "nested.inner", NULL, 0, 9, 10 },
		{ KEY, "nested.inner", "x", 0, 9, 11 },
		{ CHILD, "nested.inner", "x", 0, 9, 14 },
		{ KEY, "nested.inner", "y", 0, 9, 17 },
		{ NODE, "nested.inner.y", NULL, 0, 9, 20 },
		{ NODE, "nested.inner.y.0", NULL, 0, 9, 21 },
		{ CHILD, "nested.inner.y", NULL, 1, 9, 24 },
		{ NODE, "quoted", NULL, 0, 10, 9 },
	};
	struct occo_ydoc *doc = load_ok(text, NULL);
	json_t *root = occo_ydoc_root(doc);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *n = cases[i].path[0] ? at(root, cases[i].path) : root;
		const struct occo_yaml_mark *m;

		if (cases[i].what == NODE)
			m = occo_ydoc_mark(doc, n);
		else if (cases[i].what == CHILD)
			m = occo_ydoc_child_mark(doc, n, cases[i].key, cases[i].index);
		else
			m = occo_ydoc_key_mark(doc, n, cases[i].key);
		if (!m)
			fail_msg("case %zu (%s): no mark", i, cases[i].path);
		expect_mark(m, NAME, cases[i].line, cases[i].col);
	}
	/* singletons have no mark of their own, unknown positions have none */
	assert_null(occo_ydoc_mark(doc, json_object_get(root, "flag")));
	assert_null(occo_ydoc_child_mark(doc, root, "nope", 0));
	assert_null(occo_ydoc_key_mark(doc, at(root, "list"), "x"));
	assert_null(occo_ydoc_child_mark(doc, at(root, "list"), NULL, 3));
	assert_null(occo_ydoc_tag(doc, root));
	occo_ydoc_free(doc);
}

static void test_occo_ydoc_mark__alias_shares_identity(void **state)
{
	static const char text[] = "base: &b {cpu: 1}\n"
				   "a: *b\n"
				   "list: [&s str, *s, &n null, *n]\n"
				   "rh: !RH &rh {p: 1}\n"
				   "x: *rh\n"
				   "&k key: *k\n";
	struct occo_ydoc *doc = load_ok(text, NULL);
	json_t *root = occo_ydoc_root(doc);
	json_t *list = at(root, "list");

	(void)state;
	assert_ptr_equal(at(root, "a"), at(root, "base"));
	expect_mark(occo_ydoc_mark(doc, at(root, "a")), NAME, 1, 7);
	expect_mark(occo_ydoc_child_mark(doc, root, "a", 0), NAME, 2, 4);
	assert_ptr_equal(json_array_get(list, 1), json_array_get(list, 0));
	expect_mark(occo_ydoc_mark(doc, json_array_get(list, 1)), NAME, 3, 8);
	expect_mark(occo_ydoc_child_mark(doc, list, NULL, 1), NAME, 3, 16);
	assert_true(json_is_null(json_array_get(list, 3)));
	expect_mark(occo_ydoc_child_mark(doc, list, NULL, 2), NAME, 3, 20);
	expect_mark(occo_ydoc_child_mark(doc, list, NULL, 3), NAME, 3, 29);
	assert_ptr_equal(at(root, "x"), at(root, "rh"));
	assert_string_equal(occo_ydoc_tag(doc, at(root, "rh")), "!RH");
	assert_string_equal(occo_ydoc_child_tag(doc, root, "rh", 0), "!RH");
	assert_string_equal(occo_ydoc_child_tag(doc, root, "x", 0), "!RH");
	assert_string_equal(json_string_value(at(root, "key")), "key");
	occo_ydoc_free(doc);
}

static void test_occo_yaml_load_string__merge_keys(void **state)
{
	static const char text[] = "base: &base {a: 1, b: 2}\n"
				   "over: &over {b: 20, c: 30}\n"
				   "m1:\n"
				   "  <<: *base\n"
				   "  a: 10\n"
				   "m2:\n"
				   "  d: 4\n"
				   "  <<: [*over, *base]\n"
				   "m3:\n"
				   "  <<: {z: 26}\n"
				   "m4: {'<<': 1}\n";
	static const struct {
		const char *path;
		const char *json;
	} cases[] = {
		{ "m1", "{\"a\": 10, \"b\": 2}" },
		{ "m2", "{\"d\": 4, \"b\": 20, \"c\": 30, \"a\": 1}" },
		{ "m3", "{\"z\": 26}" },
		{ "m4", "{\"<<\": 1}" },
	};
	struct occo_ydoc *doc = load_ok(text, NULL);
	json_t *root = occo_ydoc_root(doc);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *want = json_loads(cases[i].json, 0, NULL);

		if (!json_equal(at(root, cases[i].path), want))
			fail_msg("%s is %s", cases[i].path, json_dumps(at(root, cases[i].path), 0));
		json_decref(want);
	}
	/* merged values are shared and keep the marks of where they were written */
	assert_ptr_equal(at(root, "m1.b"), at(root, "base.b"));
	expect_mark(occo_ydoc_key_mark(doc, at(root, "m1"), "b"), NAME, 1, 20);
	expect_mark(occo_ydoc_child_mark(doc, at(root, "m1"), "b", 0), NAME, 1, 23);
	expect_mark(occo_ydoc_key_mark(doc, at(root, "m1"), "a"), NAME, 5, 3);
	expect_mark(occo_ydoc_key_mark(doc, at(root, "m3"), "z"), NAME, 10, 8);
	occo_ydoc_free(doc);
}

static void test_occo_yaml_load_string__tags(void **state)
{
	static const char text[] = "a: !Foo 12\n"
				   "b: !Bar\n"
				   "c: !!binary aGk=\n"
				   "d: !Seq [1]\n"
				   "e: !<tag:example.com,2000:x> s\n";
	struct occo_yaml_opts strict = { .flags = OCCO_YAML_STRICT_TAGS };
	struct occo_ydoc *doc = load_ok(text, NULL);
	json_t *root = occo_ydoc_root(doc);
	struct occo_err err = { 0 };

	(void)state;
	assert_int_equal(json_integer_value(at(root, "a")), 12);
	assert_string_equal(occo_ydoc_tag(doc, at(root, "a")), "!Foo");
	assert_true(json_is_null(at(root, "b")));
	assert_string_equal(occo_ydoc_child_tag(doc, root, "b", 0), "!Bar");
	assert_string_equal(occo_ydoc_child_tag(doc, root, "c", 0), "!!binary");
	assert_string_equal(occo_ydoc_tag(doc, at(root, "d")), "!Seq");
	assert_string_equal(occo_ydoc_tag(doc, at(root, "e")), "tag:example.com,2000:x");
	assert_null(occo_ydoc_child_tag(doc, at(root, "d"), NULL, 0));
	occo_ydoc_free(doc);

	doc = NULL;
	assert_int_equal(occo_yaml_load_string(text, strlen(text), NAME, NULL, &strict, &doc, &err),
			 -OCCO_EINVAL);
	assert_string_equal(err.msg, "t.yaml:1:4: unknown tag '!Foo'");
	assert_null(doc);
	doc = load_ok("a: !!str 1\nb: !!int 2\n", &strict);
	occo_ydoc_free(doc);
}

static void test_occo_yaml_load_file__import_fixtures(void **state)
{
	static const struct {
		const char *file;
		const char *control;
		size_t nfiles;
	} cases[] = {
		{ "parent.yaml", "control.yaml", 3 },
		{ "parent_text.yaml", "control_text.yaml", 2 },
	};
	char *dir;
	size_t i;

	(void)state;
	if (!occo_test_have_shared())
		skip();
	dir = occo_test_shared_path("occopus-fixtures/util/import_test");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = occo_asprintf("%s/%s", dir, cases[i].file);
		char *cpath = occo_asprintf("%s/%s", dir, cases[i].control);
		struct occo_ydoc *doc = load_file_ok(path, NULL);
		struct occo_ydoc *control = load_file_ok(cpath, NULL);

		if (!json_equal(occo_ydoc_root(doc), occo_ydoc_root(control)))
			fail_msg("%s: %s", cases[i].file, json_dumps(occo_ydoc_root(doc), 0));
		assert_int_equal(occo_ydoc_nfiles(doc), cases[i].nfiles);
		assert_string_equal(occo_ydoc_file(doc, 0), path);
		/* the import site is in the parent, the imported nodes in their own files */
		expect_mark(occo_ydoc_child_mark(doc, occo_ydoc_root(doc), "child1", 0), path, 2,
			    9);
		occo_ydoc_free(control);
		free(cpath);
		if (i == 0) {
			json_t *c1 = at(occo_ydoc_root(doc), "child1");
			const struct occo_yaml_mark *m = occo_ydoc_mark(doc, c1);

			expect_mark(m, NULL, 1, 1);
			assert_true(ends_with(m->file, "/inner/c1.yaml"));
			expect_mark(occo_ydoc_key_mark(doc, c1, "child2"), m->file, 2, 1);
			expect_mark(occo_ydoc_child_mark(doc, c1, "child2", 0), m->file, 2, 9);
			m = occo_ydoc_mark(doc, at(c1, "child2.dataaa"));
			expect_mark(m, NULL, 2, 9);
			assert_true(ends_with(m->file, "c2.yaml"));
		} else {
			const struct occo_yaml_mark *m =
				occo_ydoc_mark(doc, at(occo_ydoc_root(doc), "child1"));

			expect_mark(m, NULL, 1, 1);
			assert_true(ends_with(m->file, "/c1_text.yaml"));
		}
		occo_ydoc_free(doc);
		free(path);
	}
	free(dir);
}

static void test_occo_yaml_load_file__occopus_config_keeps_tags(void **state)
{
	struct occo_ydoc *doc;
	json_t *root, *comp, *subs;
	char *path;

	(void)state;
	if (!occo_test_have_shared())
		skip();
	path = occo_test_shared_path("occopus-tutorials/.occopus/occopus_config.yaml");
	doc = load_file_ok(path, NULL);
	root = occo_ydoc_root(doc);
	comp = at(root, "components");
	subs = at(comp, "infobroker.sub_providers");
	assert_string_equal(occo_ydoc_child_tag(doc, root, "plugins", 0), "!python_import");
	assert_string_equal(occo_ydoc_tag(doc, at(root, "plugins")), "!python_import");
	assert_string_equal(occo_ydoc_tag(doc, at(comp, "uds")), "!UDS");
	assert_string_equal(occo_ydoc_child_tag(doc, comp, "uds", 0), "!UDS");
	assert_string_equal(occo_ydoc_tag(doc, at(comp, "resourcehandler")), "!ResourceHandler");
	assert_string_equal(json_string_value(at(comp, "uds.protocol")), "redis");
	assert_int_equal(json_integer_value(at(comp, "uds.port")), 6379);
	assert_true(json_is_false(at(comp, "dry_run")));
	/* *uds and *rh are the anchored nodes themselves */
	assert_ptr_equal(json_array_get(subs, 4), at(comp, "uds"));
	assert_ptr_equal(at(subs, "0.resource_handler"), at(comp, "resourcehandler"));
	assert_string_equal(occo_ydoc_child_tag(doc, subs, NULL, 4), "!UDS");
	assert_string_equal(occo_ydoc_child_tag(doc, subs, NULL, 3), "!SynchronizationProvider");
	assert_true(json_is_null(json_array_get(subs, 3)));
	occo_ydoc_free(doc);
	free(path);
}

static int tutorial_files;
static int tutorial_failures;

static int load_one_tutorial(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };

	(void)st;
	(void)ftw;
	if (flag != FTW_F || !ends_with(path, ".yaml"))
		return 0;
	tutorial_files++;
	if (occo_yaml_load_file(path, NULL, &doc, &err) < 0) {
		print_error("%s\n", err.msg);
		tutorial_failures++;
	}
	occo_ydoc_free(doc);
	return 0;
}

static void test_occo_yaml_load_file__every_tutorial_loads(void **state)
{
	char *dir;

	(void)state;
	if (!occo_test_have_shared())
		skip();
	dir = occo_test_shared_path("occopus-tutorials");
	tutorial_files = tutorial_failures = 0;
	assert_int_equal(nftw(dir, load_one_tutorial, 16, FTW_PHYS), 0);
	assert_true(tutorial_files > 50);
	assert_int_equal(tutorial_failures, 0);
	free(dir);
}

/* Write files into a fresh directory, load the first, and check the error. */
struct file_case {
	const char *files[3][2]; /* name, content */
	unsigned flags;
	int code;
	size_t max_file_size;
	const char *msg; /* each '@' stands for the directory */
};

static char *subst_dir(const char *tmpl, const char *dir)
{
	struct occo_buf b;
	const char *at_sign;

	occo_buf_init(&b, 4096);
	while ((at_sign = strchr(tmpl, '@'))) {
		occo_buf_append(&b, tmpl, (size_t)(at_sign - tmpl), NULL);
		occo_buf_appends(&b, dir, NULL);
		tmpl = at_sign + 1;
	}
	occo_buf_appends(&b, tmpl, NULL);
	return occo_buf_detach(&b, NULL);
}

static void run_file_case(const struct file_case *c)
{
	struct occo_yaml_opts opts = { .flags = c->flags, .max_file_size = c->max_file_size };
	char *dir = occo_test_tmpdir("yaml");
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };
	char *path, *want;
	size_t i;
	int rc;

	for (i = 0; i < 3 && c->files[i][0]; i++)
		occo_test_write_file(dir, c->files[i][0], c->files[i][1]);
	path = occo_asprintf("%s/%s", dir, c->files[0][0]);
	rc = occo_yaml_load_file(path, &opts, &doc, &err);
	want = subst_dir(c->msg, dir);
	if (rc != -c->code || strcmp(err.msg, want) != 0)
		fail_msg("%s: rc %d '%s', expected %d '%s'", c->files[0][0], rc, err.msg, -c->code,
			 want);
	assert_null(doc);
	free(want);
	free(path);
	occo_test_rmtree(dir);
	free(dir);
}

static void test_occo_yaml_load_file__import_errors(void **state)
{
	static const struct file_case cases[] = {
		{ { { "a.yaml", "x: !yaml_import\n  url: file://b.yaml\n" },
		    { "b.yaml", "y: [1, !yaml_import {url: file://a.yaml}]\n" } },
		  0,
		  OCCO_ECYCLE,
		  0,
		  "@/b.yaml:1:8: import cycle: @/a.yaml -> @/b.yaml -> @/a.yaml" },
		{ { { "self.yaml", "x: !text_import {url: file://t.txt}\n"
				   "y: !yaml_import {url: file://self.yaml}\n" },
		    { "t.txt", "text" } },
		  0,
		  OCCO_ECYCLE,
		  0,
		  "@/self.yaml:2:4: import cycle: @/self.yaml -> @/self.yaml" },
		{ { { "h.yaml", "x: !yaml_import {url: http://example.com/a.yaml}\n" } },
		  0,
		  OCCO_ENOTSUP,
		  0,
		  "@/h.yaml:1:23: unsupported URL 'http://example.com/a.yaml' in "
		  "'!yaml_import': only file://PATH is supported" },
		{ { { "h.yaml", "x: !text_import\n  url: https://example.com/a\n" } },
		  0,
		  OCCO_ENOTSUP,
		  0,
		  "@/h.yaml:2:8: unsupported URL 'https://example.com/a' in '!text_import': "
		  "only file://PATH is supported" },
		{ { { "h.yaml", "x: !yaml_import {url: ftp://x/y}\n" } },
		  0,
		  OCCO_ENOTSUP,
		  0,
		  "@/h.yaml:1:23: unsupported URL 'ftp://x/y' in '!yaml_import': only "
		  "file://PATH is supported" },
		{ { { "h.yaml", "x: !yaml_import {uri: file://x}\n" } },
		  0,
		  OCCO_ENOTSUP,
		  0,
		  "@/h.yaml:1:4: '!yaml_import' needs a 'url' key: only file://PATH is "
		  "supported" },
		{ { { "h.yaml", "x: !yaml_import {url: file://}\n" } },
		  0,
		  OCCO_ENOTSUP,
		  0,
		  "@/h.yaml:1:23: unsupported URL 'file://' in '!yaml_import': only "
		  "file://PATH is supported" },
		{ { { "m.yaml", "a: 1\nx: !text_import {url: file://nope.txt}\n" } },
		  0,
		  OCCO_ENOENT,
		  0,
		  "@/m.yaml:2:4: cannot open '@/nope.txt': No such file or directory" },
		{ { { "m.yaml", "x: !yaml_import {url: file://sub/nope.yaml}\n" } },
		  0,
		  OCCO_ENOENT,
		  0,
		  "@/m.yaml:1:4: cannot open '@/sub/nope.yaml': No such file or directory" },
		{ { { "n.yaml", "x: !yaml_import {url: file://c.yaml}\n" },
		    { "c.yaml", "a: 1\n" } },
		  OCCO_YAML_NO_IMPORTS,
		  OCCO_ENOTSUP,
		  0,
		  "@/n.yaml:1:4: '!yaml_import' is not allowed here" },
		{ { { "n.yaml", "x: !yaml_import {url: file://c.yaml}\n" },
		    { "c.yaml", "a: 1\nb: [\n" } },
		  0,
		  OCCO_EINVAL,
		  0,
		  "@/c.yaml:3:1: did not find expected node content while parsing a flow node" },
		{ { { "n.yaml", "x: !yaml_import {url: file://c.yaml}\n" },
		    { "c.yaml", "a: *x\n" } },
		  0,
		  OCCO_EINVAL,
		  0,
		  "@/c.yaml:1:4: unknown alias '*x'" },
		{ { { "big.yaml", "a: 1\nb: 2\n" } },
		  0,
		  OCCO_ETOOBIG,
		  8,
		  "'@/big.yaml' is 10 bytes, over the limit of 8 bytes" },
		{ { { "s.yaml", "x: !yaml_import {url: file://c.yaml}\n" },
		    { "c.yaml", "a: 1\nb: 2\nc: 3\nd: 4\nxxxxxxxxxxxxxxxxxxxxxx: 5\n" } },
		  0,
		  OCCO_ETOOBIG,
		  40,
		  "@/s.yaml:1:4: '@/c.yaml' is 46 bytes, over the limit of 40 bytes" },
		{ { { "s.yaml", "x: !text_import {url: file://c.txt}\n" },
		    { "c.txt", "0123456789012345678901234567890123456789\n" } },
		  0,
		  OCCO_ETOOBIG,
		  40,
		  "@/s.yaml:1:4: '@/c.txt' is 41 bytes, over the limit of 40 bytes" },
		{ { { "u.yaml", "x: !text_import {url: file://c.bin}\n" },
		    { "c.bin", "\xff\xfe" } },
		  0,
		  OCCO_EINVAL,
		  0,
		  "@/u.yaml:1:4: '@/c.bin' is not valid UTF-8 text" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_file_case(&cases[i]);
}

static void test_occo_yaml_load_file__missing_file(void **state)
{
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };

	(void)state;
	assert_int_equal(occo_yaml_load_file("/nonexistent/x.yaml", NULL, &doc, &err),
			 -OCCO_ENOENT);
	assert_string_equal(err.msg,
			    "cannot open '/nonexistent/x.yaml': No such file or directory");
	assert_int_equal(err.sys, ENOENT);
	assert_null(doc);
}

static void test_occo_yaml_load_file__imports_resolve_paths(void **state)
{
	char *dir = occo_test_tmpdir("yaml");
	char *sub = occo_asprintf("%s/sub", dir);
	char *parent, *path, *want_file;
	struct occo_ydoc *doc;
	json_t *root, *want;

	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	occo_test_write_file(sub, "t.txt", "raw: text\n");
	occo_test_write_file(sub, "c.yaml", "k: &a [1]\nl: !text_import {url: file://t.txt}\n");
	/* an absolute file:/// URL, an anchor name reused across files, a merged import */
	parent = occo_asprintf("abs: !yaml_import {url: 'file://%s/sub/c.yaml'}\n"
			       "rel: !yaml_import {url: file://sub/c.yaml}\n"
			       "a: &a 2\n"
			       "b: *a\n"
			       "m: {<<: !yaml_import {url: file://sub/c.yaml}, k: 0}\n",
			       dir);
	occo_test_write_file(dir, "p.yaml", parent);
	path = occo_asprintf("%s/p.yaml", dir);
	doc = load_file_ok(path, NULL);
	root = occo_ydoc_root(doc);
	want = json_pack("{s{s[i]s:s}s{s[i]s:s}s:i,s:i,s{s:i,s:s}}", "abs", "k", 1, "l",
			 "raw: text\n", "rel", "k", 1, "l", "raw: text\n", "a", 2, "b", 2, "m", "k",
			 0, "l", "raw: text\n");
	if (!json_equal(root, want))
		fail_msg("loaded %s", json_dumps(root, 0));
	json_decref(want);
	assert_int_equal(occo_ydoc_nfiles(doc), 3);
	want_file = occo_asprintf("%s/sub/c.yaml", dir);
	expect_mark(occo_ydoc_mark(doc, at(root, "abs.k")), want_file, 1, 4);
	free(want_file);
	want_file = occo_asprintf("%s/sub/t.txt", dir);
	expect_mark(occo_ydoc_mark(doc, at(root, "rel.l")), want_file, 1, 1);
	free(want_file);
	expect_mark(occo_ydoc_child_mark(doc, at(root, "rel"), "l", 0), NULL, 2, 4);
	occo_ydoc_free(doc);

	/* a string with a base directory imports relative to it */
	{
		static const char text[] = "c: !yaml_import {url: file://sub/c.yaml}\n";
		struct occo_err err = { 0 };

		doc = NULL;
		assert_int_equal(
			occo_yaml_load_string(text, strlen(text), "<body>", dir, NULL, &doc, &err),
			0);
		assert_int_equal(json_integer_value(at(occo_ydoc_root(doc), "c.k.0")), 1);
		assert_string_equal(occo_ydoc_file(doc, 0), "<body>");
		expect_mark(occo_ydoc_child_mark(doc, occo_ydoc_root(doc), "c", 0), "<body>", 1, 4);
		occo_ydoc_free(doc);
	}
	free(parent);
	free(path);
	free(sub);
	occo_test_rmtree(dir);
	free(dir);
}

static void expect_limit(const char *text, const struct occo_yaml_opts *opts, const char *msg)
{
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };
	int rc = occo_yaml_load_string(text, strlen(text), NAME, NULL, opts, &doc, &err);

	if (rc != -OCCO_ETOOBIG || strcmp(err.msg, msg) != 0)
		fail_msg("rc %d '%s', expected '%s'", rc, err.msg, msg);
	assert_null(doc);
}

static void test_occo_yaml_load_string__depth_limit(void **state)
{
	struct occo_yaml_opts three = { .max_depth = 3 };
	char *deep = occo_malloc(100001);
	struct occo_ydoc *doc;

	(void)state;
	memset(deep, '[', 100000);
	deep[100000] = '\0';
	expect_limit(deep, NULL, "t.yaml:1:513: nesting is deeper than the limit of 512 levels");
	free(deep);
	doc = load_ok("a: {b: {c: 1}}", &three);
	occo_ydoc_free(doc);
	expect_limit("a: {b: {c: [1]}}", &three,
		     "t.yaml:1:12: nesting is deeper than the limit of 3 levels");
}

static void test_occo_yaml_load_string__node_limit(void **state)
{
	static const char laughs[] = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
				     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
				     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
				     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
				     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
				     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
				     "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
				     "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	struct occo_yaml_opts small = { .max_nodes = 10 };
	struct occo_ydoc *doc;
	struct occo_err err = { 0 };

	(void)state;
	doc = NULL;
	assert_int_equal(
		occo_yaml_load_string(laughs, strlen(laughs), NAME, NULL, NULL, &doc, &err),
		-OCCO_ETOOBIG);
	assert_non_null(strstr(err.msg, "more than 10000000 nodes (aliases expanded)"));
	assert_null(doc);
	/* 8 nodes; with b an alias of the list's 4 nodes, 11 */
	doc = load_ok("a: &l [1, 2, 3]\nb: 1\n", &small);
	occo_ydoc_free(doc);
	expect_limit("a: &l [1, 2, 3]\nb: *l\n", &small,
		     "t.yaml:2:4: more than 10 nodes (aliases expanded)");
}

static void test_occo_yaml_load_string__binary_junk(void **state)
{
	unsigned char junk[4096];
	unsigned x = 12345;
	int round;
	size_t i;

	(void)state;
	for (round = 0; round < 64; round++) {
		struct occo_ydoc *doc = NULL;
		struct occo_err err = { 0 };
		int rc;

		for (i = 0; i < sizeof(junk); i++) {
			x = x * 1103515245u + 12345u;
			junk[i] = (unsigned char)(x >> 16);
		}
		rc = occo_yaml_load_string((const char *)junk, sizeof(junk), NAME, NULL, NULL, &doc,
					   &err);
		assert_true(rc < 0);
		assert_null(doc);
		assert_true(strncmp(err.msg, "t.yaml:", 7) == 0);
	}
}

static void test_occo_yaml_load_string__too_big(void **state)
{
	struct occo_yaml_opts opts = { .max_file_size = 4 };
	struct occo_ydoc *doc = NULL;
	struct occo_err err = { 0 };

	(void)state;
	assert_int_equal(occo_yaml_load_string("a: 12", 5, NAME, NULL, &opts, &doc, &err),
			 -OCCO_ETOOBIG);
	assert_string_equal(err.msg, "'t.yaml' is 5 bytes, over the limit of 4 bytes");
	assert_null(doc);
}

/* Many nodes: the side tables must stay fast and right at scale. */
static void test_occo_yaml_load_string__large_document(void **state)
{
	enum { N = 50000 };
	struct occo_buf b;
	struct occo_ydoc *doc;
	json_t *root;
	char key[32];
	size_t i;

	(void)state;
	occo_buf_init(&b, (size_t)64 << 20);
	for (i = 0; i < N; i++)
		assert_int_equal(occo_buf_appendf(&b, NULL,
						  "k%zu: {name: n%zu, v: [1, 2.5, true, null]}\n",
						  i, i),
				 0);
	doc = load_ok(occo_buf_str(&b), NULL);
	root = occo_ydoc_root(doc);
	assert_int_equal(json_object_size(root), N);
	for (i = 0; i < N; i += 997) {
		json_t *e;

		snprintf(key, sizeof(key), "k%zu", i);
		e = json_object_get(root, key);
		expect_mark(occo_ydoc_key_mark(doc, root, key), NAME, (unsigned)i + 1, 1);
		expect_mark(occo_ydoc_child_mark(doc, at(e, "v"), NULL, 3), NAME, (unsigned)i + 1,
			    2 * (unsigned)strlen(key) + 30);
	}
	occo_ydoc_free(doc);
	occo_buf_release(&b);
}

static void test_occo_yaml_err__format(void **state)
{
	struct occo_yaml_mark m = { "x.yaml", 3, 7 };
	struct occo_err err = { 0 };

	(void)state;
	assert_int_equal(occo_yaml_err(&err, &m, OCCO_EINVAL, "unknown key '%s'", "nmae"),
			 -OCCO_EINVAL);
	assert_string_equal(err.msg, "x.yaml:3:7: unknown key 'nmae'");
	assert_int_equal(occo_yaml_err(&err, NULL, OCCO_ENOENT, "plain"), -OCCO_ENOENT);
	assert_string_equal(err.msg, "plain");
	assert_int_equal(occo_yaml_err(NULL, &m, OCCO_EINVAL, "dropped"), -OCCO_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_yaml_load_string__scalars),
		cmocka_unit_test(test_occo_yaml_load_string__errors),
		cmocka_unit_test(test_occo_yaml_load_string__empty_is_null),
		cmocka_unit_test(test_occo_ydoc_mark__nodes_keys_children),
		cmocka_unit_test(test_occo_ydoc_mark__alias_shares_identity),
		cmocka_unit_test(test_occo_yaml_load_string__merge_keys),
		cmocka_unit_test(test_occo_yaml_load_string__tags),
		cmocka_unit_test(test_occo_yaml_load_file__import_fixtures),
		cmocka_unit_test(test_occo_yaml_load_file__occopus_config_keeps_tags),
		cmocka_unit_test(test_occo_yaml_load_file__every_tutorial_loads),
		cmocka_unit_test(test_occo_yaml_load_file__import_errors),
		cmocka_unit_test(test_occo_yaml_load_file__missing_file),
		cmocka_unit_test(test_occo_yaml_load_file__imports_resolve_paths),
		cmocka_unit_test(test_occo_yaml_load_string__depth_limit),
		cmocka_unit_test(test_occo_yaml_load_string__node_limit),
		cmocka_unit_test(test_occo_yaml_load_string__binary_junk),
		cmocka_unit_test(test_occo_yaml_load_string__too_big),
		cmocka_unit_test(test_occo_yaml_load_string__large_document),
		cmocka_unit_test(test_occo_yaml_err__format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
