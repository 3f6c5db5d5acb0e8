/*
 * test_template_jinja.c - the template engine against Python's Jinja2, byte for byte.
 *
 * tests/template/oracle.py renders every case with Debian's python3-jinja2 the way Occopus
 * does (jinja2.Template, autoescape off) and prints the cases with their results: the corpus
 * of tests/template/corpus.json and every template of Occopus's tutorials (cloud-init files
 * and the template strings of node definitions). This test renders the same cases with the C
 * engine and the same helpers, and asserts that each output is identical and that each case
 * Jinja2 refuses is refused here too. A difference is printed with both outputs.
 *
 * Skipped (77) when /usr/bin/python3 or its jinja2 module is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"
#include "occo/util/template.h"
#include "testutil.h"

#define PYTHON "/usr/bin/python3"
#define ORACLE_MAX (256u << 20)

/* ---- the helpers, answering as the oracle's do -------------------------------------------- */

static const json_t *first_node(const json_t *nodes, const json_t *args, struct occo_err *err)
{
	const json_t *name = json_array_get(args, 0), *list;

	if (json_array_size(args) != 1 || !json_is_string(name)) {
		occo_err_set(err, OCCO_EINVAL, "expects one node name");
		return NULL;
	}
	list = json_object_get(nodes, json_string_value(name));
	if (!json_array_size(list)) {
		occo_err_set(err, OCCO_ENOENT, "no node exists with the given name '%s'",
			     json_string_value(name));
		return NULL;
	}
	return list;
}

static int h_getip(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		   struct occo_err *err)
{
	const json_t *list = first_node(ud, args, err);

	if (!list)
		return -err->code;
	*res = json_incref(json_object_get(json_array_get(list, 0), "ip"));
	return 0;
}

static int h_getprivip(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		       struct occo_err *err)
{
	const json_t *list = first_node(ud, args, err);

	if (!list)
		return -err->code;
	*res = json_incref(json_object_get(json_array_get(list, 0), "privip"));
	return 0;
}

static int h_getipall(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		      struct occo_err *err)
{
	const json_t *list = first_node(ud, args, err);
	size_t i;
	json_t *n;

	if (!list)
		return -err->code;
	*res = json_array();
	json_array_foreach (list, i, n)
		json_array_append(*res, json_object_get(n, "ip"));
	return 0;
}

/* cut(s, a, b): s[a:b] on code points, with Python's clamping */
static int h_cut(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		 struct occo_err *err)
{
	const json_t *s = json_array_get(args, 0);
	json_int_t a, b, n = 0;
	const char *p;
	size_t len, i, start = 0, end;

	if (json_array_size(args) != 3 || !json_is_string(s) ||
	    !json_is_integer(json_array_get(args, 1)) || !json_is_integer(json_array_get(args, 2)))
		return occo_err_set(err, OCCO_EINVAL, "cut(str, int, int) expected");
	p = json_string_value(s);
	len = json_string_length(s);
	for (i = 0; i < len; i++)
		n += ((unsigned char)p[i] & 0xc0) != 0x80;
	a = json_integer_value(json_array_get(args, 1));
	b = json_integer_value(json_array_get(args, 2));
	a = a < 0 ? (a + n < 0 ? 0 : a + n) : (a > n ? n : a);
	b = b < 0 ? (b + n < 0 ? 0 : b + n) : (b > n ? n : b);
	if (b < a)
		b = a;
	end = len;
	for (i = 0, n = 0; i <= len; i++) {
		if (i < len && ((unsigned char)p[i] & 0xc0) == 0x80)
			continue;
		if (n == a)
			start = i;
		if (n == b) {
			end = i;
			break;
		}
		n++;
	}
	*res = json_stringn(p + start, end - start);
	return 0;
}

/* "a|b;k=v" (fmtargs) or "key:a:b:k=v" (ibget), str() of each */
static int joined(const json_t *args, const json_t *kwargs, const char *sep, const char *kwsep,
		  const char *kwlist, json_t **res, struct occo_err *err)
{
	struct occo_buf b;
	const char *k;
	json_t *v;
	size_t i;
	int first = 1;

	occo_buf_init(&b, 1u << 20);
	json_array_foreach (args, i, v) {
		if (i)
			occo_buf_appends(&b, sep, err);
		occo_tmpl_pystr(v, &b, err);
	}
	occo_buf_appends(&b, kwsep, err);
	json_object_foreach ((json_t *)kwargs, k, v) {
		if (!first)
			occo_buf_appends(&b, kwlist, err);
		first = 0;
		occo_buf_appendf(&b, err, "%s=", k);
		occo_tmpl_pystr(v, &b, err);
	}
	*res = json_stringn(occo_buf_str(&b), b.len);
	occo_buf_release(&b);
	return 0;
}

static int h_fmtargs(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		     struct occo_err *err)
{
	return joined(args, kwargs, "|", ";", ",", res, err);
}

static int h_ibget(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		   struct occo_err *err)
{
	if (!json_array_size(args))
		return occo_err_set(err, OCCO_EINVAL, "ibget needs a key");
	return joined(args, kwargs, ":", json_object_size(kwargs) ? ":" : "", ":", res, err);
}

/* ---- running the oracle ------------------------------------------------------------------- */

static int have_jinja2(void)
{
	if (access(PYTHON, X_OK) != 0)
		return 0;
	return system(PYTHON " -c 'import jinja2' >/dev/null 2>&1") == 0;
}

/* The oracle's answer, parsed; aborts the test when it cannot run. */
static json_t *run_oracle(void)
{
	char cmd[4096], *tut = NULL;
	struct occo_buf b;
	json_error_t jerr;
	char chunk[65536];
	json_t *cases;
	size_t n;
	FILE *f;
	int st;

	if (occo_test_have_shared())
		tut = occo_test_shared_path("occopus-tutorials");
	/* the paths are the build's own (no quotes in them) */
	snprintf(cmd, sizeof(cmd),
		 "%s '%s/tests/template/oracle.py' --corpus '%s/tests/template/corpus.json'%s%s%s",
		 PYTHON, OCCO_SOURCE_DIR, OCCO_SOURCE_DIR, tut ? " --tutorials '" : "",
		 tut ? tut : "", tut ? "'" : "");
	free(tut);
	f = popen(cmd, "r");
	assert_non_null(f);
	occo_buf_init(&b, ORACLE_MAX);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(occo_buf_append(&b, chunk, n, NULL), 0);
	st = pclose(f);
	if (st != 0)
		fail_msg("the oracle failed (%d): %s", st, cmd);
	cases = json_loadb(occo_buf_str(&b), b.len, JSON_ALLOW_NUL, &jerr);
	if (!cases)
		fail_msg("cannot parse the oracle's output: %s (line %d)", jerr.text, jerr.line);
	occo_buf_release(&b);
	assert_true(json_is_array(cases));
	return cases;
}

static void print_text(const char *label, const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	fprintf(stderr, "    %s: %s\n", label, d ? d : "(not UTF-8)");
	free(d);
	json_decref(j);
}

/* Render one case; 1 if the result matches the oracle's. */
static int check_case(const json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const json_t *tmpl = json_object_get(c, "template");
	json_t *nodes = json_object_get(c, "nodes");
	int want_ok = json_is_true(json_object_get(c, "ok"));
	const json_t *want = json_object_get(c, "out");
	const struct occo_tmpl_func funcs[] = {
		{ "getip", h_getip, nodes },	   { "getprivip", h_getprivip, nodes },
		{ "getipall", h_getipall, nodes }, { "cut", h_cut, nodes },
		{ "ibget", h_ibget, nodes },	   { "fmtargs", h_fmtargs, nodes },
	};
	const struct occo_tmpl_env env = { funcs, sizeof(funcs) / sizeof(funcs[0]), 0 };
	struct occo_tmpl *t = NULL;
	struct occo_err err;
	struct occo_buf out;
	int rc, same;

	occo_err_clear(&err);
	occo_buf_init(&out, 64u << 20);
	rc = occo_tmpl_compile(name, json_string_value(tmpl), json_string_length(tmpl), NULL, &t,
			       &err);
	if (rc == 0)
		rc = occo_tmpl_render(t, json_object_get(c, "context"), &env, &out, &err);
	occo_tmpl_free(t);
	if (want_ok)
		same = rc == 0 && out.len == json_string_length(want) &&
		       memcmp(occo_buf_str(&out), json_string_value(want), out.len) == 0;
	else
		same = rc < 0;
	if (!same) {
		fprintf(stderr, "DIFFERS: %s\n", name);
		print_text("template", json_string_value(tmpl), json_string_length(tmpl));
		if (want_ok)
			print_text("jinja2  ", json_string_value(want), json_string_length(want));
		else
			fprintf(stderr, "    jinja2  : error %s\n",
				json_string_value(json_object_get(c, "error")));
		if (rc == 0)
			print_text("occo    ", occo_buf_str(&out), out.len);
		else
			fprintf(stderr, "    occo    : error %s\n", err.msg);
	}
	occo_buf_release(&out);
	return same;
}

static void test_template__matches_jinja2(void **state)
{
	json_t *cases = run_oracle(), *c;
	size_t i, bad = 0, corpus = 0, tutorials = 0, errors = 0;

	json_array_foreach (cases, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));

		if (!strncmp(name, "corpus:", 7))
			corpus++;
		else
			tutorials++;
		if (!json_is_true(json_object_get(c, "ok")))
			errors++;
		if (!check_case(c))
			bad++;
	}
	fprintf(stderr,
		"%zu cases (%zu corpus, %zu from the tutorials, %zu errors in Jinja2): %zu "
		"differ\n",
		json_array_size(cases), corpus, tutorials, errors, bad);
	json_decref(cases);
	assert_true(corpus >= 120);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template__matches_jinja2),
	};

	if (!have_jinja2()) {
		fprintf(stderr, "skipped: %s with the jinja2 module is needed\n", PYTHON);
		return OCCO_TEST_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
