/*
 * template.h - the Jinja2 subset that Occopus node definitions and cloud-init files use.
 *
 * Occopus renders cloud-init files and the strings of node definitions with a plain
 * jinja2.Template (autoescape off, no trim_blocks/lstrip_blocks, a single trailing newline of
 * the template dropped). This engine renders the same templates to the same bytes:
 *
 *   {{ expr }}  {% if %}/{% elif %}/{% else %}  {% for x in xs [if cond] %}...{% else %}
 *   {% set x = expr %}  {% set x %}...{% endset %}  {% with %}  {% raw %}  {# comment #}
 *   whitespace control with {%- -%} {{- -}} {#- -#}
 *
 * Expressions: literals (strings with Python escapes, ints, floats, lists, tuples, dicts,
 * true/false/none), attribute and item access (a.b falls back to a['b']), slices, calls with
 * positional and keyword arguments, filters, tests, arithmetic, comparisons, `in`, `~`,
 * and/or/not with Python's value semantics, `a if c else b`; loop.index & co; range() and
 * dict(); the common str and dict methods. Values print as Python prints them (True, None,
 * 1.0, ['a', 1], {'k': 'v'}). An undefined name prints as ""; using it further (x.y, x + 1)
 * is an error, as with Jinja2's default Undefined.
 *
 * A template is compiled once and rendered many times. Rendering needs the context (a JSON
 * object: its keys are the template's names) and the helpers the caller supplies as named
 * functions (Occopus: getip, getprivip, getipall, cut, ibget). `cmd()` runs commands on the
 * Occopus host in Occopus; here it is refused unless the caller enables it with
 * OCCO_TMPL_ALLOW_CMD *and* supplies a function named "cmd".
 *
 * Errors name the template, line and column: "cloud_init.yaml:12:7: unexpected '}'".
 * Limits (nesting depth, the work of a rendering, the size of strings and lists made while
 * rendering, and the output through the bounded buffer) make a hostile template fail with an
 * error instead of a crash or a hang.
 *
 * Not there (an error where Jinja2 would render): macros, include/import/extends/block, the
 * filter tag, recursive loops, namespace(), methods that change a value (list.append), the
 * groupby/slice/pprint/urlize/... filters, integers beyond 64 bits, inf and nan, dict keys
 * that are not strings, \N{name} escapes. Printed differently: a tuple held by a list prints
 * as a list, functions and methods cannot be printed, case mapping is one character to one
 * (Python's 'ß'.upper() is 'SS').
 */
#ifndef OCCO_UTIL_TEMPLATE_H
#define OCCO_UTIL_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"

/* A compiled template. Rendering does not change it. */
struct occo_tmpl;

struct occo_tmpl_limits {
	unsigned max_depth; /* nesting of expressions and blocks; 0 = 100 */
	/* work in one rendering: a loop iteration is a step, and so is every item or 32 bytes
	 * a filter or an operator goes through; 0 = 1,000,000 */
	unsigned long max_steps;
	size_t max_value; /* bytes of a string, items of a list made; 0 = 1 MiB */
};

/*
 * A helper the template can call by name. `args` is a JSON array of the positional arguments,
 * `kwargs` a JSON object of the keyword arguments (both borrowed). On success the function
 * sets *result to a new reference and returns 0; on failure it returns -OCCO_E... with err
 * set (the engine adds the template position). An undefined argument is an error before the
 * call.
 */
typedef int (*occo_tmpl_fn)(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
			    struct occo_err *err);

struct occo_tmpl_func {
	const char *name;
	occo_tmpl_fn fn;
	void *ud;
};

enum occo_tmpl_flags {
	OCCO_TMPL_ALLOW_CMD = 1u << 0, /* a supplied "cmd" function may be called */
};

/* What a rendering may call. Helpers hide context keys of the same name. */
struct occo_tmpl_env {
	const struct occo_tmpl_func *funcs;
	size_t nfuncs;
	unsigned flags; /* enum occo_tmpl_flags */
};

/*
 * Compile `len` bytes of template text (UTF-8). `name` is what errors call the template
 * (e.g. "cloud_init.yaml"). `lim` may be NULL for the defaults. On success *out is a new
 * template freed with occo_tmpl_free. Syntax errors, unknown filters and tests (outside an
 * if) and invalid UTF-8 fail here with -OCCO_EINVAL, too deep nesting with -OCCO_ETOOBIG.
 */
int occo_tmpl_compile(const char *name, const char *text, size_t len,
		      const struct occo_tmpl_limits *lim, struct occo_tmpl **out,
		      struct occo_err *err);

void occo_tmpl_free(struct occo_tmpl *t);

/* The name given to occo_tmpl_compile. */
const char *occo_tmpl_name(const struct occo_tmpl *t);

/*
 * Render with `ctx` (a JSON object or NULL; borrowed) and `env` (may be NULL: no helpers),
 * appending the output to `out`. On failure `out` is left as it was and the error says where:
 * -OCCO_EINVAL for template errors (undefined, type errors, unknown function), -OCCO_ETOOBIG
 * when the output exceeds the buffer's maximum or a limit is hit, -OCCO_ENOTSUP for cmd()
 * when not allowed and for what this engine does not do; a helper's own code otherwise.
 */
int occo_tmpl_render(const struct occo_tmpl *t, const json_t *ctx, const struct occo_tmpl_env *env,
		     struct occo_buf *out, struct occo_err *err);

/* Compile and render in one go (for templates used once). */
int occo_tmpl_render_string(const char *name, const char *text, const json_t *ctx,
			    const struct occo_tmpl_env *env, struct occo_buf *out,
			    struct occo_err *err);

/*
 * Append Python's str() of a JSON value (how a template prints it: True, None, 1.0,
 * ['a', 1], {'k': 'v'}). For the places where Occopus formats values with str() itself
 * (puppet attributes).
 */
int occo_tmpl_pystr(const json_t *v, struct occo_buf *out, struct occo_err *err);

#endif
