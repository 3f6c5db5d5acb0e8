/*
 * test_template.c - the template engine's own contract: where errors point, the limits that
 * stop hostile templates, cmd() refused, helpers and their errors, the output buffer on
 * failure. What the engine renders is checked against Jinja2 itself in
 * tests/integration/util/test_template_jinja.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"
#include "occo/util/template.h"
#include "testutil.h"

/* Render text with ctx (JSON text or NULL) into a fresh buffer; returns rc, *out the output. */
static int render(const char *text, const char *ctx_json, const struct occo_tmpl_env *env,
		  const struct occo_tmpl_limits *lim, char **out, struct occo_err *err)
{
	struct occo_tmpl *t = NULL;
	struct occo_buf b;
	json_t *ctx = ctx_json ? json_loads(ctx_json, 0, NULL) : NULL;
	int rc;

	occo_err_clear(err);
	occo_buf_init(&b, 1u << 20);
	rc = occo_tmpl_compile("t.yaml", text, strlen(text), lim, &t, err);
	if (rc == 0)
		rc = occo_tmpl_render(t, ctx, env, &b, err);
	occo_tmpl_free(t);
	json_decref(ctx);
	*out = occo_buf_detach(&b, NULL);
	return rc;
}

/* ---- error positions ---------------------------------------------------------------------- */

static const struct {
	const char *text;
	int code;
	const char *msg; /* the whole message */
} errors[] = {
	{ "{{ }}", OCCO_EINVAL,
	  "t.yaml:1:4: expected an expression, got 'end of print statement'" },
	{ "line\n  {{ 1 + }}", OCCO_EINVAL, "t.yaml:2:10: unexpected 'end of print statement'" },
	{ "a\nb\n{% if x %}\n", OCCO_EINVAL,
	  "t.yaml:3:11: unexpected end of template, expected 'elif' or 'else' or 'endif'" },
	{ "{% foo %}", OCCO_EINVAL, "t.yaml:1:4: encountered unknown tag 'foo'" },
	{ "x {{ (1 }", OCCO_EINVAL, "t.yaml:1:9: unexpected '}', expected ')'" },
	{ "\n\n   {{ 'abc }}", OCCO_EINVAL, "t.yaml:3:7: unexpected char '''" },
	{ "{{ x|nosuch }}", OCCO_EINVAL, "t.yaml:1:6: no filter named 'nosuch'" },
	{ "{{ x is nosuch }}", OCCO_EINVAL, "t.yaml:1:6: no test named 'nosuch'" },
	{ "{# open", OCCO_EINVAL, "t.yaml:1:1: missing end of comment tag" },
	{ "é {{ ! }}", OCCO_EINVAL, "t.yaml:1:6: unexpected char '!'" },
	{ "{% macro m() %}{% endmacro %}", OCCO_EINVAL,
	  "t.yaml:1:4: tag 'macro' is not supported" },
	/* at run time */
	{ "line\n  {{ nope.x }}", OCCO_EINVAL, "t.yaml:2:6: 'nope' is undefined" },
	{ "{% for x in [1] %}\n{{ x + 'a' }}{% endfor %}", OCCO_EINVAL,
	  "t.yaml:2:4: unsupported operand type(s) for +: 'int' and 'str'" },
	{ "{{ 1 // 0 }}", OCCO_EINVAL, "t.yaml:1:4: integer division by zero" },
	{ "{{ nofunc(1) }}", OCCO_EINVAL, "t.yaml:1:4: 'nofunc' is undefined" },
	{ "{{ 2 ** 64 }}", OCCO_EINVAL, "t.yaml:1:4: integer overflow (integers are 64-bit here)" },
	{ "{{ \"\\xff\"|b64decode }}", OCCO_EINVAL,
	  "t.yaml:1:11: b64decode: invalid base64 or not UTF-8 text" },
};

static void test_occo_tmpl__errors_name_template_line_and_column(void **state)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		struct occo_err err;
		char *out;
		int rc = render(errors[i].text, NULL, NULL, NULL, &out, &err);

		if (rc != -errors[i].code || strcmp(err.msg, errors[i].msg) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", errors[i].text, rc, err.msg,
				 -errors[i].code, errors[i].msg);
		free(out);
	}
}

static void test_occo_tmpl_compile__rejects_invalid_utf8(void **state)
{
	struct occo_tmpl *t = NULL;
	struct occo_err err;

	assert_int_equal(occo_tmpl_compile("t", "ok\n\xc3(", 5, NULL, &t, &err), -OCCO_EINVAL);
	assert_null(t);
	assert_string_equal(err.msg, "t:2:1: invalid UTF-8");
}

static void test_occo_tmpl_compile__err_may_be_null(void **state)
{
	struct occo_tmpl *t = NULL;

	assert_int_equal(occo_tmpl_compile("t", "{{", 2, NULL, &t, NULL), -OCCO_EINVAL);
	assert_int_equal(occo_tmpl_compile("t", "{{ 1 }}", 7, NULL, &t, NULL), 0);
	assert_string_equal(occo_tmpl_name(t), "t");
	occo_tmpl_free(t);
}

/* ---- limits ------------------------------------------------------------------------------- */

/* head, then open n times, mid, close n times, tail */
static char *nest(const char *head, const char *open, size_t n, const char *mid, const char *close,
		  const char *tail)
{
	size_t hl = strlen(head), ol = strlen(open), ml = strlen(mid), cl = strlen(close);
	char *s = malloc(hl + (ol + cl) * n + ml + strlen(tail) + 1), *p = s;

	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++, p += ol)
		memcpy(p, open, ol);
	memcpy(p, mid, ml);
	p += ml;
	for (size_t i = 0; i < n; i++, p += cl)
		memcpy(p, close, cl);
	strcpy(p, tail);
	return s;
}

static void test_occo_tmpl_compile__nesting_limit(void **state)
{
	/* deep nesting of every kind fails with an error, not with a blown stack */
	char *deep[] = {
		nest("{{ ", "(", 100000, "1", ")", " }}"),
		nest("{{ ", "[", 100000, "", "]", " }}"),
		nest("{{ 1", " + 1", 100000, "", "", " }}"),
		nest("{{ a", ".b", 100000, "", "", " }}"),
		nest("{{ a", "|upper", 100000, "", "", " }}"),
		nest("{{ ", "not ", 100000, "1", "", " }}"),
		nest("{{ ", "-", 100000, "1", "", " }}"),
		nest("", "{% if 1 %}", 100000, "", "{% endif %}", ""),
		nest("{{ 1", " if 1 else 2", 100000, "", "", " }}"),
		nest("{% if 1 %}", "{% elif 1 %}", 100000, "", "", "{% endif %}"),
		nest("{{ ", "f(", 100000, "", ")", " }}"),
		nest("{{ ", "{'a': ", 100000, "1", "}", " }}"),
		nest("", "{% for x in [1] %}", 100000, "", "{% endfor %}", ""),
	};

	for (size_t i = 0; i < sizeof(deep) / sizeof(deep[0]); i++) {
		struct occo_err err;
		char *out;
		int rc = render(deep[i], NULL, NULL, NULL, &out, &err);

		/* the elif chain is flat and fine; everything else is too deep */
		if ((i == 9) != (rc == 0) ||
		    (rc && (rc != -OCCO_ETOOBIG || !strstr(err.msg, "nested too deeply"))))
			fail_msg("case %zu: %d %s", i, rc, err.msg);
		free(out);
		free(deep[i]);
	}
}

static void test_occo_tmpl_render__work_limit(void **state)
{
	const struct occo_tmpl_limits lim = { .max_steps = 100 };
	static const char *const hostile[] = {
		/* 10^10 iterations */
		"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
		/* cheap loops doing expensive things */
		"{% for i in range(100000) %}{% set x = 'a' * 1000000 %}{% endfor %}",
		"{% for i in range(100000) %}{% set x = range(1000000)|sum %}{% endfor %}",
		"{% set s = 'ab' * 500000 %}{% for i in range(100000) %}{% set x = s|replace('a', "
		"'c') %}"
		"{% endfor %}",
	};
	struct occo_err err;
	char *out;

	/* range(6) is 6 items and 6 iterations; each inner loop as much again: 6 * 12 + 12 */
	assert_int_equal(
		render("{% for i in range(6) %}{% for j in range(6) %}{% endfor %}{% endfor %}",
		       NULL, NULL, &lim, &out, &err),
		0);
	free(out);
	assert_int_equal(
		render("{% for i in range(7) %}{% for j in range(7) %}{% endfor %}{% endfor %}",
		       NULL, NULL, &lim, &out, &err),
		-OCCO_ETOOBIG);
	assert_string_equal(err.msg, "t.yaml:1:36: too much work (limit 100 steps)");
	free(out);
	/* the defaults stop what would take hours */
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		if (render(hostile[i], NULL, NULL, NULL, &out, &err) != -OCCO_ETOOBIG)
			fail_msg("%s: %s", hostile[i], err.msg);
		free(out);
	}
}

static void test_occo_tmpl_render__value_limit(void **state)
{
	const struct occo_tmpl_limits lim = { .max_value = 1000 };
	static const char *const big[] = {
		"{{ 'x' * 1001 }}",
		"{{ [1] * 1001 }}",
		"{{ range(1001)|list }}",
		"{% set s = 'x' * 600 %}{{ s + s }}",
		"{% set s = 'x' * 600 %}{{ s ~ s }}",
		"{{ ('x' * 600)|replace('x', 'yy') }}",
		"{{ 'x'|center(1001) }}",
		"{{ '{:>1001}'.format(1) }}",
		"{{ '%1001s' % 1 }}",
		"{{ range(600)|join(',') }}",
	};

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		struct occo_err err;
		char *out;

		if (render(big[i], NULL, NULL, &lim, &out, &err) != -OCCO_ETOOBIG)
			fail_msg("%s: %s", big[i], err.msg);
		free(out);
	}
}

static void test_occo_tmpl_render__output_limit_keeps_buffer(void **state)
{
	struct occo_tmpl *t;
	struct occo_err err;
	struct occo_buf b;

	assert_int_equal(occo_tmpl_compile("t", "{% for i in range(100) %}xxxxxxxxxx{% endfor %}",
					   47, NULL, &t, &err),
			 0);
	occo_buf_init(&b, 100);
	assert_int_equal(occo_buf_appends(&b, "keep", &err), 0);
	assert_int_equal(occo_tmpl_render(t, NULL, NULL, &b, &err), -OCCO_ETOOBIG);
	assert_string_equal(occo_buf_str(&b), "keep");
	assert_non_null(strstr(err.msg, "exceeds the limit of 100 bytes"));
	occo_buf_release(&b);
	occo_tmpl_free(t);
}

static void test_occo_tmpl_render__deep_context_value(void **state)
{
	/* a context nested deeper than anything sane: printing it is an error, not a crash */
	json_t *ctx = json_object(), *v = json_array(), *inner;
	struct occo_tmpl *t;
	struct occo_err err;
	struct occo_buf b;

	inner = v;
	for (int i = 0; i < 5000; i++) {
		json_t *x = json_array();

		json_array_append_new(inner, x);
		inner = x;
	}
	json_object_set_new(ctx, "v", v);
	assert_int_equal(occo_tmpl_compile("t", "{{ v }}", 7, NULL, &t, &err), 0);
	occo_buf_init(&b, 1u << 20);
	assert_int_equal(occo_tmpl_render(t, ctx, NULL, &b, &err), -OCCO_ETOOBIG);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	occo_buf_release(&b);
	occo_tmpl_free(t);
	json_decref(ctx);
}

/* ---- helpers and cmd() -------------------------------------------------------------------- */

struct calls {
	int n;
	char last[256];
};

static int h_echo(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		  struct occo_err *err)
{
	struct calls *c = ud;
	char *a = json_dumps(args, JSON_COMPACT), *k = json_dumps(kwargs, JSON_COMPACT);

	c->n++;
	snprintf(c->last, sizeof(c->last), "%s %s", a, k);
	free(a);
	free(k);
	*res = json_string(c->last);
	return 0;
}

static int h_fail(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		  struct occo_err *err)
{
	return occo_err_set(err, OCCO_ENOENT, "no node exists with the name '%s'",
			    json_string_value(json_array_get(args, 0)));
}

static int h_none(void *ud, const json_t *args, const json_t *kwargs, json_t **res,
		  struct occo_err *err)
{
	*res = NULL;
	return 0;
}

static void test_occo_tmpl_render__calls_helpers(void **state)
{
	struct calls calls = { 0 };
	const struct occo_tmpl_func funcs[] = {
		{ "getip", h_echo, &calls },
		{ "getprivip", h_fail, NULL },
		{ "nothing", h_none, NULL },
	};
	const struct occo_tmpl_env env = { funcs, 3, 0 };
	struct occo_err err;
	char *out;

	assert_int_equal(render("{{ getip('m', 1, [true, none], x=1.5, y={'k': 'v'}) }}", NULL,
				&env, NULL, &out, &err),
			 0);
	assert_string_equal(out, "[\"m\",1,[true,null]] {\"x\":1.5,\"y\":{\"k\":\"v\"}}");
	free(out);
	/* helpers hide context keys of the same name; the context is used otherwise */
	assert_int_equal(render("{{ getip(node) }}|{{ nothing() }}",
				"{\"getip\": 1, \"node\": \"n\"}", &env, NULL, &out, &err),
			 0);
	assert_string_equal(out, "[\"n\"] {}|None");
	free(out);
	assert_int_equal(calls.n, 2);
	/* a helper's error keeps its code and gets the position and the name */
	assert_int_equal(render("x\n {{ getprivip('db') }}", NULL, &env, NULL, &out, &err),
			 -OCCO_ENOENT);
	assert_string_equal(err.msg, "t.yaml:2:5: getprivip(): no node exists with the name 'db'");
	free(out);
	/* an undefined argument is an error before the call */
	assert_int_equal(render("{{ getip(nope) }}", NULL, &env, NULL, &out, &err), -OCCO_EINVAL);
	assert_string_equal(err.msg, "t.yaml:1:4: 'nope' is undefined");
	assert_int_equal(calls.n, 2);
	free(out);
}

static void test_occo_tmpl_render__cmd_refused_unless_enabled(void **state)
{
	struct calls calls = { 0 };
	const struct occo_tmpl_func funcs[] = { { "cmd", h_echo, &calls } };
	const struct occo_tmpl_env off = { funcs, 1, 0 };
	const struct occo_tmpl_env on = { funcs, 1, OCCO_TMPL_ALLOW_CMD };
	const struct occo_tmpl_env flag_only = { NULL, 0, OCCO_TMPL_ALLOW_CMD };
	const struct occo_tmpl_env *envs[] = { NULL, &off, &flag_only };
	struct occo_err err;
	char *out;

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(render("{{ cmd('ls /') }}", NULL, envs[i], NULL, &out, &err),
				 -OCCO_ENOTSUP);
		assert_string_equal(err.msg, "t.yaml:1:4: cmd() is disabled: it would run a "
					     "command on the Occopus host");
		free(out);
		/* and it is not defined, as in Jinja2 when Occopus does not supply it */
		assert_int_equal(render("{{ cmd is defined }}", NULL, envs[i], NULL, &out, &err),
				 0);
		assert_string_equal(out, "False");
		free(out);
	}
	assert_int_equal(calls.n, 0);
	assert_int_equal(render("{{ cmd('ls /') }}", NULL, &on, NULL, &out, &err), 0);
	assert_string_equal(out, "[\"ls /\"] {}");
	assert_int_equal(calls.n, 1);
	free(out);
}

/* ---- rendering ---------------------------------------------------------------------------- */

static void test_occo_tmpl_render__compile_once_render_many(void **state)
{
	const char *text = "{% for n in nodes %}{{ n.name }}={{ n.ip }}{{ ',' if not loop.last }}"
			   "{% endfor %}\n";
	json_t *c1 = json_pack("{s:[{s:s,s:s},{s:s,s:s}]}", "nodes", "name", "a", "ip", "10.0.0.1",
			       "name", "b", "ip", "10.0.0.2");
	json_t *c2 = json_pack("{s:[]}", "nodes");
	struct occo_tmpl *t;
	struct occo_err err;
	struct occo_buf b;

	assert_int_equal(occo_tmpl_compile("t", text, strlen(text), NULL, &t, &err), 0);
	occo_buf_init(&b, 4096);
	for (int i = 0; i < 3; i++) {
		occo_buf_reset(&b);
		assert_int_equal(occo_tmpl_render(t, c1, NULL, &b, &err), 0);
		assert_string_equal(occo_buf_str(&b), "a=10.0.0.1,b=10.0.0.2");
		occo_buf_reset(&b);
		assert_int_equal(occo_tmpl_render(t, c2, NULL, &b, &err), 0);
		assert_string_equal(occo_buf_str(&b), "");
	}
	json_decref(c2);
	c2 = json_array();
	assert_int_equal(occo_tmpl_render(t, c2, NULL, &b, &err), -OCCO_EINVAL);
	occo_buf_release(&b);
	occo_tmpl_free(t);
	json_decref(c1);
	json_decref(c2);
}

static void test_occo_tmpl_render__binary_safe(void **state)
{
	/* the text is taken by length: a NUL byte is data like any other */
	const char text[] = "a\0b{{ 'c\\x00d' }}";
	struct occo_tmpl *t;
	struct occo_err err;
	struct occo_buf b;

	assert_int_equal(occo_tmpl_compile("t", text, sizeof(text) - 1, NULL, &t, &err), 0);
	occo_buf_init(&b, 4096);
	assert_int_equal(occo_tmpl_render(t, NULL, NULL, &b, &err), 0);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "a\0bc\0d", 6);
	occo_buf_release(&b);
	occo_tmpl_free(t);
}

static void test_occo_tmpl_render_string__renders(void **state)
{
	json_t *ctx = json_pack("{s:{s:s}}", "variables", "message", "hi");
	struct occo_err err;
	struct occo_buf b;

	occo_buf_init(&b, 4096);
	assert_int_equal(occo_tmpl_render_string("t", "say {{ variables.message|upper }}\n", ctx,
						 NULL, &b, &err),
			 0);
	assert_string_equal(occo_buf_str(&b), "say HI");
	occo_buf_release(&b);
	json_decref(ctx);
}

static void test_occo_tmpl_pystr__prints_as_python(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "\"text\"", "text" },
		{ "1", "1" },
		{ "1.0", "1.0" },
		{ "1e20", "1e+20" },
		{ "0.1", "0.1" },
		{ "true", "True" },
		{ "null", "None" },
		{ "[\"a\", 1, [], {}]", "['a', 1, [], {}]" },
		{ "{\"dbuser\": \"x\", \"k\": [true, null]}",
		  "{'dbuser': 'x', 'k': [True, None]}" },
		{ "[\"it's\", \"a\\nb\"]", "[\"it's\", 'a\\nb']" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
		struct occo_buf b;

		occo_buf_init(&b, 4096);
		assert_int_equal(occo_tmpl_pystr(v, &b, NULL), 0);
		assert_string_equal(occo_buf_str(&b), cases[i].want);
		occo_buf_release(&b);
		json_decref(v);
	}
}

/* ---- robustness --------------------------------------------------------------------------- */

/* Templates made of random pieces: whatever they are, compiling and rendering them returns. */
static void test_occo_tmpl__survives_random_templates(void **state)
{
	static const char *const pieces[] = {
		"{{",	   "}}",    "{%",     "%}",	   "{#",      "#}",    "-",	 "+",
		" ",	   "\n",    "if",     "elif",	   "else",    "endif", "for",	 "in",
		"endfor",  "set",   "endset", "with",	   "endwith", "raw",   "endraw", "x",
		"xs",	   "d",	    "s",      "loop",	   ".",	      "[",     "]",	 "(",
		")",	   "{",	    "}",      ",",	   ":",	      "|",     "upper",	 "join",
		"default", "sort",  "map",    "attribute", "=",	      "==",    "is",	 "not",
		"defined", "and",   "or",     "~",	   "*",	      "**",    "/",	 "//",
		"%",	   "'a'",   "\"b\"",  "'\\x",	   "1",	      "0",     "1.5",	 "-1",
		"range",   "items", "()",     "none",	   "true",    "'%s'",  "'{}'",	 "format",
		"getip",   "cmd",   "é",      "\\",
	};
	json_t *ctx =
		json_pack("{s:[i,i,s],s:{s:i},s:s}", "xs", 1, 2, "z", "d", "a", 1, "s", "str");
	const struct occo_tmpl_limits lim = { .max_steps = 1000, .max_value = 10000 };
	unsigned seed = 12345;
	char text[512];

	for (int round = 0; round < 20000; round++) {
		struct occo_tmpl *t = NULL;
		struct occo_buf b;
		size_t len = 0;
		int n;

		seed = seed * 1103515245 + 12345;
		n = 1 + (int)((seed >> 16) % 24);
		text[0] = '\0';
		for (int i = 0; i < n; i++) {
			const char *p;

			seed = seed * 1103515245 + 12345;
			p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
			if (len + strlen(p) + 1 >= sizeof(text))
				break;
			memcpy(text + len, p, strlen(p) + 1);
			len += strlen(p);
		}
		if (occo_tmpl_compile("fuzz", text, len, &lim, &t, NULL) < 0)
			continue;
		occo_buf_init(&b, 100000);
		(void)occo_tmpl_render(t, ctx, NULL, &b, NULL);
		occo_buf_release(&b);
		occo_tmpl_free(t);
	}
	json_decref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_tmpl__errors_name_template_line_and_column),
		cmocka_unit_test(test_occo_tmpl_compile__rejects_invalid_utf8),
		cmocka_unit_test(test_occo_tmpl_compile__err_may_be_null),
		cmocka_unit_test(test_occo_tmpl_compile__nesting_limit),
		cmocka_unit_test(test_occo_tmpl_render__work_limit),
		cmocka_unit_test(test_occo_tmpl_render__value_limit),
		cmocka_unit_test(test_occo_tmpl_render__output_limit_keeps_buffer),
		cmocka_unit_test(test_occo_tmpl_render__deep_context_value),
		cmocka_unit_test(test_occo_tmpl_render__calls_helpers),
		cmocka_unit_test(test_occo_tmpl_render__cmd_refused_unless_enabled),
		cmocka_unit_test(test_occo_tmpl_render__compile_once_render_many),
		cmocka_unit_test(test_occo_tmpl_render__binary_safe),
		cmocka_unit_test(test_occo_tmpl_render_string__renders),
		cmocka_unit_test(test_occo_tmpl_pystr__prints_as_python),
		cmocka_unit_test(test_occo_tmpl__survives_random_templates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
