/*
 * template_int.h - internals shared by the files of the template engine (template*.c).
 *
 *   template.c         lexer and parser: text -> AST (struct tnode), compile-time errors
 *   template_render.c  the evaluator: statements, expressions, scopes, loops, calls
 *   template_value.c   run-time values (struct tv): Python's str()/repr(), truth, equality,
 *                      ordering, arithmetic, UTF-8 and tojson
 *   template_filters.c filters, tests, string/dict methods and the built-in globals
 *
 * Values are jansson trees wrapped in a small struct (struct tv) that adds what JSON lacks and
 * Jinja2 has: undefined, tuples, dict views, range objects, functions, bound methods and the
 * loop object.
 */
#ifndef OCCO_TEMPLATE_INT_H
#define OCCO_TEMPLATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"
#include "occo/util/template.h"

/* ---- AST ---------------------------------------------------------------------------------- */

enum tnode_kind {
	/* statements */
	S_DATA, /* s, slen: literal text */
	S_OUT, /* a: expression to print */
	S_IF, /* args: the branches (S_IF with a: test, body); els: the else body */
	S_FOR, /* a: target; b: iterable; c: filter condition or NULL; body; els */
	S_SET, /* a: target; b: value */
	S_SETBLOCK, /* a: target; c: filter chain (innermost N_FILTER has a == NULL) or NULL; body */
	S_WITH, /* args: targets; kw: values (parallel); body */
	/* expressions */
	N_CONST, /* cval */
	N_NAME, /* s */
	N_GETATTR, /* a, s */
	N_GETITEM, /* a[b] */
	N_SLICE, /* a:b:c, each may be NULL */
	N_CALL, /* a(args, kw, dyn_args, dyn_kwargs) */
	N_FILTER, /* a|s(args...); a NULL inside a filter block */
	N_TEST, /* a is s(args...) */
	N_LIST, /* args */
	N_TUPLE, /* args */
	N_DICT, /* args: key, value, key, value, ... */
	N_NEG, /* -a */
	N_POS, /* +a */
	N_NOT, /* not a */
	N_BIN, /* a op b (arithmetic) */
	N_AND, /* a and b */
	N_OR, /* a or b */
	N_COMPARE, /* a, args: N_OPERAND nodes (op, a) */
	N_OPERAND,
	N_CONCAT, /* args joined with ~ */
	N_COND, /* b if a else c (c may be NULL) */
	N_KEYWORD /* s = a (a keyword argument) */
};

/* Operators (token codes and operator codes of nodes). */
enum top {
	OP_NONE,
	OP_ADD,
	OP_SUB,
	OP_DIV,
	OP_FLOORDIV,
	OP_MUL,
	OP_MOD,
	OP_POW,
	OP_TILDE,
	OP_LBRACKET,
	OP_RBRACKET,
	OP_LPAREN,
	OP_RPAREN,
	OP_LBRACE,
	OP_RBRACE,
	OP_EQ,
	OP_NE,
	OP_GT,
	OP_GTEQ,
	OP_LT,
	OP_LTEQ,
	OP_ASSIGN,
	OP_DOT,
	OP_COLON,
	OP_PIPE,
	OP_COMMA,
	OP_SEMICOLON,
	OP_IN,
	OP_NOTIN
};

struct tnode {
	enum tnode_kind kind;
	int op; /* enum top, for N_BIN and N_OPERAND */
	size_t pos; /* offset in the (normalised) source, for error messages */
	char *s; /* name, attribute, filter or test name, text */
	size_t slen;
	json_t *cval;
	struct tnode *a, *b, *c;
	struct tnode **args;
	size_t nargs;
	struct tnode **kw;
	size_t nkw;
	struct tnode *dyn_args, *dyn_kwargs;
	struct tnode **body;
	size_t nbody;
	struct tnode **els;
	size_t nels;
	int fidx; /* filter or test: index in the table, -1 if unknown (checked when run) */
};

struct occo_tmpl {
	char *name;
	char *src; /* normalised source: newlines are \n, one trailing newline removed */
	size_t srclen;
	struct tnode **body;
	size_t nbody;
	struct occo_tmpl_limits lim;
};

/* "NAME:LINE:COL" of a source position. */
void occo__tmpl_where(const struct occo_tmpl *t, size_t pos, char *buf, size_t n);
/* Record an error at a source position: "NAME:LINE:COL: message". Returns -code. */
int occo__tmpl_err_at(const struct occo_tmpl *t, size_t pos, struct occo_err *err, int code,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- values ------------------------------------------------------------------------------- */

enum tv_kind {
	TV_UNDEF, /* Jinja2's Undefined; name/sub say why (for the message) */
	TV_JSON, /* j: any JSON value */
	TV_TUPLE, /* j: array, printed as a tuple */
	TV_VIEW, /* j: dict (sub: VIEW_ITEMS/KEYS/VALUES) or [start, stop, step] (VIEW_RANGE) */
	TV_FUNC, /* p: a struct occo_tmpl_func (caller's) or a built-in (sub = builtin id) */
	TV_METHOD, /* j: the object, sub: its kind, flags: its view type, name: the method (static);
		      p: the loop for loop.cycle/loop.changed */
	TV_LOOP /* p: struct tloop */
};

enum { VIEW_ITEMS = 1, VIEW_KEYS, VIEW_VALUES, VIEW_RANGE };
enum { UNDEF_NAME = 0, UNDEF_ATTR, UNDEF_ITEM, UNDEF_HINT, UNDEF_CMD /* cmd, not enabled */ };
enum { TVF_MARKUP = 1u << 0, TVF_TUPLES = 1u << 1 /* array elements that are arrays are tuples */ };

struct tv {
	enum tv_kind kind;
	unsigned flags;
	int sub;
	json_t *j; /* owned reference (or NULL) */
	const char *name; /* borrowed: lives as long as the template or is static */
	const void *p;
};

#define TV_UNDEFINED ((struct tv){ TV_UNDEF, 0, UNDEF_HINT, NULL, NULL, NULL })

/* Things value operations need: where errors go, the size limit and the work counter. */
struct tvctx {
	const struct occo_tmpl *t;
	struct occo_err *err;
	size_t pos; /* position of the node being evaluated */
	size_t max_value;
	unsigned long *steps; /* the rendering's work so far; NULL: not counted */
};

/*
 * Count work against lim.max_steps (a loop iteration is one step, an item or 32 bytes gone
 * through another). Fails with -OCCO_ETOOBIG past the limit. Called where work repeats: loop
 * iterations, materialising iterables, repeating sequences.
 */
int occo__tv_charge(struct tvctx *c, size_t steps);
/* Count an operand as work: its items and the 32-byte chunks of its text, all the way down. */
int occo__tv_charge_value(struct tvctx *c, const struct tv *v);

int occo__tv_fail(struct tvctx *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The error of using an undefined value. */
int occo__tv_undef_fail(struct tvctx *c, const struct tv *v);

void occo__tv_release(struct tv *v);
struct tv occo__tv_take(json_t *j); /* steals j (NULL aborts) */
struct tv occo__tv_ref(json_t *j); /* takes a new reference */
struct tv occo__tv_str(const char *s, size_t n);
struct tv occo__tv_int(json_int_t i);
struct tv occo__tv_real(double d); /* finite d only (else an undefined) */
/* A float value, or an error for inf and nan (JSON, and so the engine, has neither). */
int occo__tv_real_checked(struct tvctx *c, double d, struct tv *out);
struct tv occo__tv_bool(int b);
struct tv occo__tv_none(void);
struct tv occo__tv_dup(const struct tv *v);

/* Type predicates. */
int occo__tv_is_str(const struct tv *v);
int occo__tv_is_num(const struct tv *v); /* int, float or bool */
int occo__tv_is_int(const struct tv *v); /* int or bool */
int occo__tv_is_seq(const struct tv *v); /* list or tuple */
int occo__tv_is_dict(const struct tv *v);
const char *occo__tv_typename(const struct tv *v); /* "dict object", "str object", ... */

/* Python truth value. */
int occo__tv_truth(const struct tv *v);
/* str(v) and repr(v) appended to b. */
int occo__tv_write_str(struct tvctx *c, const struct tv *v, struct occo_buf *b);
int occo__tv_write_repr(struct tvctx *c, const struct tv *v, struct occo_buf *b);
/* str(v) as a new string value (undefined -> ""). */
int occo__tv_to_str(struct tvctx *c, const struct tv *v, struct tv *out);
/* 1 if j stands for an undefined value held by a list or dict (see template_value.c). */
int occo__json_is_undefined(const json_t *j);
/* 1 if j is or holds the undefined stand-in. */
int occo__json_has_undefined(const json_t *j, int depth);
/* A JSON value for storing v in a list or dict (undefined becomes the stand-in). */
int occo__tv_to_json(struct tvctx *c, const struct tv *v, json_t **out);
/* Materialise an iterable: a new reference to an array; *tuples says elements are tuples. */
int occo__tv_iter(struct tvctx *c, const struct tv *v, json_t **arr, int *tuples);
/* Wrap an element of such an array. */
struct tv occo__tv_elem(json_t *arr, size_t i, int tuples);
/* Python ==. */
int occo__tv_eq(const struct tv *a, const struct tv *b);
/* Python a < b etc.: *res = -1/0/1 for ordering; fails on unorderable types. */
int occo__tv_cmp(struct tvctx *c, const struct tv *a, const struct tv *b, int *res);
/* Arithmetic: op is OP_ADD ... OP_POW. */
int occo__tv_binop(struct tvctx *c, int op, const struct tv *a, const struct tv *b, struct tv *out);
int occo__tv_neg(struct tvctx *c, const struct tv *a, int neg, struct tv *out);
/* Python `a in b`. */
int occo__tv_contains(struct tvctx *c, const struct tv *b, const struct tv *a, int *res);
/* len(v). */
int occo__tv_len(struct tvctx *c, const struct tv *v, size_t *out);
/* json.dumps(v, sort_keys=True) as Jinja2's tojson does (HTML-safe). indent < 0: none. */
int occo__tv_tojson(struct tvctx *c, const struct tv *v, int indent, struct occo_buf *b);
/* Python float repr. buf must hold 32 bytes. */
void occo__py_float_repr(double d, char *buf);
/* A new empty buffer bounded by the value limit. */
void occo__tv_buf(struct tvctx *c, struct occo_buf *b);
/* Turn a buffer into a string value (releases the buffer); its size counts as work. */
struct tv occo__tv_from_buf(struct tvctx *c, struct occo_buf *b);

/* ---- UTF-8 and Python string helpers ------------------------------------------------------ */

/* Decode the code point at s[i] (valid UTF-8); *n gets its length in bytes. */
uint32_t occo__u8_get(const char *s, size_t len, size_t i, size_t *n);
/* Encode cp into out (4 bytes); returns the length. */
size_t occo__u8_put(uint32_t cp, char *out);
size_t occo__u8_count(const char *s, size_t len);
/* strtod in the C locale (whatever the process's locale is). */
double occo__strtod(const char *s, char **end);
/* 1 if Python's str.isprintable() holds for cp (template_unicode.c). */
int occo__py_isprintable(uint32_t cp);
/* 1 if cp is whitespace for Python (str.isspace). */
int occo__py_isspace(uint32_t cp);
uint32_t occo__py_upper(uint32_t cp);
uint32_t occo__py_lower(uint32_t cp);
int occo__py_iscased_upper(uint32_t cp);
int occo__py_iscased_lower(uint32_t cp);
int occo__py_isalpha(uint32_t cp);
int occo__py_isdigit(uint32_t cp);

/* ---- filters, tests, methods, globals (template_filters.c) -------------------------------- */

struct targs {
	struct tv *pos; /* positional arguments */
	size_t npos;
	const char **kwname;
	struct tv *kw;
	size_t nkw;
};

/* A filter or test: index by name, or -1. */
int occo__filter_find(const char *name);
int occo__test_find(const char *name);
int occo__filter_call(struct tvctx *c, int idx, struct tv *v, struct targs *a, struct tv *out);
int occo__test_call(struct tvctx *c, int idx, struct tv *v, struct targs *a, int *res);
/*
 * If `name` is a method of the value's Python type (so that getattr yields a bound method),
 * the method's name as a static string, else NULL.
 */
const char *occo__method_name(const struct tv *self, const char *name);
int occo__method_call(struct tvctx *c, const struct tv *self, const char *name, struct targs *a,
		      struct tv *out);
/* Built-in globals (range, dict, ...): id or -1. */
int occo__builtin_find(const char *name);
const char *occo__builtin_name(int id);
int occo__builtin_call(struct tvctx *c, int id, struct targs *a, struct tv *out);
/* markupsafe.escape: & < > " ' as entities. 0 or -OCCO_ETOOBIG (the buffer's limit). */
int occo__html_escape(struct occo_buf *b, const char *s, size_t len);
/* Python's `str % args` (printf-style formatting). */
int occo__str_percent(struct tvctx *c, const struct tv *fmt, const struct tv *args, struct tv *out);
/* Python slicing of strings and sequences: missing bounds are NULL. */
int occo__tv_slice(struct tvctx *c, const struct tv *v, const struct tv *start,
		   const struct tv *stop, const struct tv *step, struct tv *out);
/* Jinja2's environment.getitem: obj[key], else a method named key, else undefined. */
int occo__tv_getitem(struct tvctx *c, const struct tv *obj, const struct tv *key, struct tv *out);
/* Python index of a string or sequence (negative from the end); *found = 0 when out of range. */
int occo__tv_index(struct tvctx *c, const struct tv *v, json_int_t i, struct tv *out, int *found);

/* ---- the loop object (template_render.c) -------------------------------------------------- */

struct tloop {
	json_t *items; /* the items iterated */
	int tuples;
	size_t index0;
	size_t length;
	int has_changed;
	struct tv last_changed;
};

int occo__loop_attr(struct tvctx *c, const struct tloop *l, const char *name, struct tv *out);

#endif
