/*
 * template_value.c - run-time values of the template engine and what Python does with them.
 *
 * A value (struct tv) is a jansson tree plus what JSON cannot say (undefined, tuple, dict view,
 * range, function, method, loop). This file gives them Python's semantics, because the output
 * must be byte-identical to Jinja2's: str() and repr() (including float repr, the choice of
 * quotes and the escapes of repr), truth, == across int/float/bool, ordering and its TypeErrors,
 * int arithmetic with floor division and modulo as Python defines them, `in`, len() and
 * json.dumps(sort_keys=True) as Jinja2's tojson filter calls it.
 *
 * Python integers are unbounded; here they are 64 bits and an overflow is an error.
 */
#define _GNU_SOURCE
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "occo/util/alloc.h"
#include "template_int.h"

#define MAX_NESTING 500

/* ---- locales ------------------------------------------------------------------------------ */

static locale_t loc_c, loc_utf8;

static void locales_init(void)
{
	loc_c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	loc_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static void locales(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, locales_init);
}

double occo__strtod(const char *s, char **end)
{
	locales();
	return loc_c ? strtod_l(s, end, loc_c) : strtod(s, end);
}

uint32_t occo__py_upper(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
	locales();
	return loc_utf8 ? (uint32_t)towupper_l((wint_t)cp, loc_utf8) : cp;
}

uint32_t occo__py_lower(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	locales();
	return loc_utf8 ? (uint32_t)towlower_l((wint_t)cp, loc_utf8) : cp;
}

int occo__py_iscased_upper(uint32_t cp)
{
	return occo__py_lower(cp) != cp;
}

int occo__py_iscased_lower(uint32_t cp)
{
	return occo__py_upper(cp) != cp;
}

int occo__py_isalpha(uint32_t cp)
{
	if (cp < 0x80)
		return (cp | 32) >= 'a' && (cp | 32) <= 'z';
	locales();
	return loc_utf8 ? iswalpha_l((wint_t)cp, loc_utf8) != 0 : 0;
}

int occo__py_isdigit(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= '0' && cp <= '9';
	locales();
	return loc_utf8 ? iswdigit_l((wint_t)cp, loc_utf8) != 0 : 0;
}

int occo__py_isspace(uint32_t cp)
{
	switch (cp) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case 0x1c:
	case 0x1d:
	case 0x1e:
	case 0x1f:
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return 1;
	default:
		return cp >= 0x2000 && cp <= 0x200a;
	}
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */

uint32_t occo__u8_get(const char *s, size_t len, size_t i, size_t *n)
{
	const unsigned char *u = (const unsigned char *)s + i;
	size_t avail = len - i;

	if (u[0] < 0x80 || avail < 2) {
		*n = 1;
		return u[0];
	}
	if ((u[0] & 0xe0) == 0xc0) {
		*n = 2;
		return ((uint32_t)(u[0] & 0x1f) << 6) | (u[1] & 0x3f);
	}
	if ((u[0] & 0xf0) == 0xe0 && avail >= 3) {
		*n = 3;
		return ((uint32_t)(u[0] & 0x0f) << 12) | ((uint32_t)(u[1] & 0x3f) << 6) |
		       (u[2] & 0x3f);
	}
	if (avail >= 4) {
		*n = 4;
		return ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3f) << 12) |
		       ((uint32_t)(u[2] & 0x3f) << 6) | (u[3] & 0x3f);
	}
	*n = 1;
	return u[0];
}

size_t occo__u8_put(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t occo__u8_count(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* ---- errors ------------------------------------------------------------------------------- */

int occo__tv_fail(struct tvctx *c, int code, const char *fmt, ...)
{
	char msg[OCCO_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return occo__tmpl_err_at(c->t, c->pos, c->err, code, "%s", msg);
}

int occo__tv_undef_fail(struct tvctx *c, const struct tv *v)
{
	switch (v->sub) {
	case UNDEF_NAME:
		return occo__tv_fail(c, OCCO_EINVAL, "'%s' is undefined", v->name);
	case UNDEF_ATTR:
		return occo__tv_fail(c, OCCO_EINVAL, "'%s object' has no attribute '%s'",
				     (const char *)v->p, v->name);
	case UNDEF_ITEM:
		return occo__tv_fail(c, OCCO_EINVAL, "'%s object' has no such item",
				     (const char *)v->p);
	case UNDEF_CMD:
		return occo__tv_fail(
			c, OCCO_ENOTSUP,
			"cmd() is disabled: it would run a command on the Occopus host");
	default:
		return occo__tv_fail(c, OCCO_EINVAL, "%s",
				     v->name ? v->name : "undefined value used");
	}
}

/* ---- constructors ------------------------------------------------------------------------- */

void occo__tv_release(struct tv *v)
{
	json_decref(v->j);
	v->j = NULL;
	v->kind = TV_UNDEF;
}

/*
 * Jinja2 lets a list or dict hold Undefined ([x], map(attribute=...) of a missing key). JSON
 * cannot, so an undefined stored in a container is this one string, known by its address:
 * wrapping it again (occo__tv_take/ref) gives back an undefined value, repr() prints it as
 * "Undefined", and it never reaches the caller (helpers refuse it, tojson fails on it).
 */
static json_t *undef_sentinel;

static void sentinel_init(void)
{
	undef_sentinel = json_stringn_nocheck("\0occo:undefined\0", 16);
}

static json_t *json_undefined(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, sentinel_init);
	return undef_sentinel;
}

int occo__json_is_undefined(const json_t *j)
{
	return j && j == undef_sentinel;
}

int occo__json_has_undefined(const json_t *j, int depth)
{
	const char *k;
	json_t *x;
	size_t i;

	if (occo__json_is_undefined(j))
		return 1;
	if (depth > MAX_NESTING)
		return 0;
	if (json_is_array(j)) {
		json_array_foreach (j, i, x)
			if (occo__json_has_undefined(x, depth + 1))
				return 1;
	} else if (json_is_object(j)) {
		json_object_foreach ((json_t *)j, k, x)
			if (occo__json_has_undefined(x, depth + 1))
				return 1;
	}
	return 0;
}

struct tv occo__tv_take(json_t *j)
{
	if (!j)
		abort();
	if (occo__json_is_undefined(j)) {
		json_decref(j);
		return TV_UNDEFINED;
	}
	return (struct tv){ TV_JSON, 0, 0, j, NULL, NULL };
}

struct tv occo__tv_ref(json_t *j)
{
	return occo__tv_take(json_incref(j));
}

struct tv occo__tv_str(const char *s, size_t n)
{
	return occo__tv_take(json_stringn_nocheck(s, n));
}

struct tv occo__tv_int(json_int_t i)
{
	return occo__tv_take(json_integer(i));
}

struct tv occo__tv_real(double d)
{
	/* JSON has no inf and nan: callers check with occo__tv_real_checked; never abort */
	if (!isfinite(d))
		return (struct tv){ TV_UNDEF, 0, UNDEF_HINT, NULL, "inf and nan are not supported",
				    NULL };
	return occo__tv_take(json_real(d));
}

int occo__tv_real_checked(struct tvctx *c, double d, struct tv *out)
{
	if (!isfinite(d))
		return occo__tv_fail(c, OCCO_ENOTSUP, "float result %s is not supported here",
				     isnan(d) ? "nan" : "inf");
	*out = occo__tv_real(d);
	return 0;
}

struct tv occo__tv_bool(int b)
{
	return occo__tv_take(json_boolean(b));
}

struct tv occo__tv_none(void)
{
	return occo__tv_take(json_null());
}

struct tv occo__tv_dup(const struct tv *v)
{
	struct tv r = *v;

	json_incref(r.j);
	return r;
}

void occo__tv_buf(struct tvctx *c, struct occo_buf *b)
{
	occo_buf_init(b, c->max_value);
}

int occo__tv_charge(struct tvctx *c, size_t steps)
{
	if (!c->steps)
		return 0;
	*c->steps += steps;
	if (*c->steps > c->t->lim.max_steps)
		return occo__tv_fail(c, OCCO_ETOOBIG, "too much work (limit %lu steps)",
				     c->t->lim.max_steps);
	return 0;
}

/* Items plus 32-byte chunks of text in j, counted up to cap. */
static size_t json_weight(const json_t *j, size_t cap, int depth)
{
	size_t w = 1, i;
	const char *k;
	json_t *x;

	if (json_is_string(j))
		return 1 + json_string_length(j) / 32;
	if (depth > MAX_NESTING)
		return w;
	if (json_is_array(j)) {
		json_array_foreach (j, i, x) {
			if (w >= cap)
				break;
			w += json_weight(x, cap - w, depth + 1);
		}
	} else if (json_is_object(j)) {
		json_object_foreach ((json_t *)j, k, x) {
			if (w >= cap)
				break;
			w += 1 + json_weight(x, cap - w, depth + 1);
		}
	}
	return w;
}

int occo__tv_charge_value(struct tvctx *c, const struct tv *v)
{
	size_t w = 1;

	if (!c->steps)
		return 0;
	if (v->kind == TV_JSON || v->kind == TV_TUPLE)
		w = json_weight(v->j, c->t->lim.max_steps, 0);
	else if (v->kind == TV_VIEW && v->sub != VIEW_RANGE)
		w = 1 + json_object_size(v->j);
	return occo__tv_charge(c, w);
}

struct tv occo__tv_from_buf(struct tvctx *c, struct occo_buf *b)
{
	struct tv r = occo__tv_str(occo_buf_str(b), b->len);

	/* checked at the next loop iteration: one string costs at most max_value */
	if (c->steps)
		*c->steps += b->len / 32;

	occo_buf_release(b);
	return r;
}

/* ---- types -------------------------------------------------------------------------------- */

int occo__tv_is_str(const struct tv *v)
{
	return v->kind == TV_JSON && json_is_string(v->j);
}

int occo__tv_is_int(const struct tv *v)
{
	return v->kind == TV_JSON && (json_is_integer(v->j) || json_is_boolean(v->j));
}

int occo__tv_is_num(const struct tv *v)
{
	return v->kind == TV_JSON && (json_is_number(v->j) || json_is_boolean(v->j));
}

int occo__tv_is_seq(const struct tv *v)
{
	return (v->kind == TV_JSON && json_is_array(v->j)) || v->kind == TV_TUPLE;
}

int occo__tv_is_dict(const struct tv *v)
{
	return v->kind == TV_JSON && json_is_object(v->j);
}

static const char *json_typename(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "dict";
	case JSON_ARRAY:
		return "list";
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "NoneType";
	}
}

const char *occo__tv_typename(const struct tv *v)
{
	static const char *const views[] = { "?", "dict_items", "dict_keys", "dict_values",
					     "range" };

	switch (v->kind) {
	case TV_UNDEF:
		return "Undefined";
	case TV_JSON:
		return json_typename(v->j);
	case TV_TUPLE:
		return "tuple";
	case TV_VIEW:
		return views[v->sub];
	case TV_FUNC:
		return "function";
	case TV_METHOD:
		return "builtin_function_or_method";
	case TV_LOOP:
		return "LoopContext";
	}
	return "?";
}

static double num_val(const json_t *j)
{
	if (json_is_integer(j))
		return (double)json_integer_value(j);
	if (json_is_real(j))
		return json_real_value(j);
	return json_is_true(j) ? 1.0 : 0.0;
}

static json_int_t int_val(const json_t *j)
{
	return json_is_integer(j) ? json_integer_value(j) : json_is_true(j) ? 1 : 0;
}

static int is_num(const json_t *j)
{
	return json_is_number(j) || json_is_boolean(j);
}

static int range_len(const json_t *r, size_t *out)
{
	json_int_t start = json_integer_value(json_array_get(r, 0));
	json_int_t stop = json_integer_value(json_array_get(r, 1));
	json_int_t step = json_integer_value(json_array_get(r, 2));
	long double n;

	if (step > 0)
		n = stop > start ? ((long double)stop - start + step - 1) / step : 0;
	else
		n = start > stop ? ((long double)start - stop - step - 1) / -(long double)step : 0;
	*out = (size_t)n;
	return 0;
}

/* ---- truth -------------------------------------------------------------------------------- */

int occo__tv_truth(const struct tv *v)
{
	size_t n;

	switch (v->kind) {
	case TV_UNDEF:
		return 0;
	case TV_TUPLE:
		return json_array_size(v->j) > 0;
	case TV_VIEW:
		if (v->sub == VIEW_RANGE) {
			range_len(v->j, &n);
			return n > 0;
		}
		return json_object_size(v->j) > 0;
	case TV_JSON:
		break;
	default:
		return 1;
	}
	switch (json_typeof(v->j)) {
	case JSON_OBJECT:
		return json_object_size(v->j) > 0;
	case JSON_ARRAY:
		return json_array_size(v->j) > 0;
	case JSON_STRING:
		return json_string_length(v->j) > 0;
	case JSON_INTEGER:
		return json_integer_value(v->j) != 0;
	case JSON_REAL:
		return json_real_value(v->j) != 0.0;
	case JSON_TRUE:
		return 1;
	default:
		return 0;
	}
}

/* ---- str() and repr() --------------------------------------------------------------------- */

void occo__py_float_repr(double d, char *buf)
{
	char tmp[40], digits[20];
	int prec, nd = 0, exp10, decpt, k = 0, neg;
	const char *p;

	if (isnan(d)) {
		strcpy(buf, "nan");
		return;
	}
	if (isinf(d)) {
		strcpy(buf, d < 0 ? "-inf" : "inf");
		return;
	}
	if (d == 0) {
		strcpy(buf, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (occo__strtod(tmp, NULL) == d)
			break;
	}
	p = tmp;
	neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	decpt = exp10 + 1;
	if (neg)
		buf[k++] = '-';
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			buf[k++] = '0';
			buf[k++] = '.';
			for (int i = 0; i < -decpt; i++)
				buf[k++] = '0';
			for (int i = 0; i < nd; i++)
				buf[k++] = digits[i];
		} else if (decpt >= nd) {
			for (int i = 0; i < nd; i++)
				buf[k++] = digits[i];
			for (int i = nd; i < decpt; i++)
				buf[k++] = '0';
			buf[k++] = '.';
			buf[k++] = '0';
		} else {
			for (int i = 0; i < nd; i++) {
				if (i == decpt)
					buf[k++] = '.';
				buf[k++] = digits[i];
			}
		}
		buf[k] = '\0';
		return;
	}
	buf[k++] = digits[0];
	if (nd > 1) {
		buf[k++] = '.';
		for (int i = 1; i < nd; i++)
			buf[k++] = digits[i];
	}
	snprintf(buf + k, 12, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
}

static int put(struct tvctx *c, struct occo_buf *b, const char *s, size_t n)
{
	struct occo_err e;
	int rc = occo_buf_append(b, s, n, &e);

	if (rc < 0)
		return occo__tv_fail(c, OCCO_ETOOBIG, "%s", e.msg);
	return 0;
}

static int puts_(struct tvctx *c, struct occo_buf *b, const char *s)
{
	return put(c, b, s, strlen(s));
}

/* Python's repr of a str. */
static int write_str_repr(struct tvctx *c, const char *s, size_t len, struct occo_buf *b)
{
	char q = '\'';
	size_t i = 0, n;

	if (memchr(s, '\'', len) && !memchr(s, '"', len))
		q = '"';
	if (put(c, b, &q, 1) < 0)
		return -OCCO_ETOOBIG;
	while (i < len) {
		uint32_t cp = occo__u8_get(s, len, i, &n);
		char esc[16];
		const char *out = esc;
		size_t olen;

		if (cp == (uint32_t)q || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			olen = 2;
		} else if (cp == '\n') {
			out = "\\n";
			olen = 2;
		} else if (cp == '\r') {
			out = "\\r";
			olen = 2;
		} else if (cp == '\t') {
			out = "\\t";
			olen = 2;
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && !occo__py_isprintable(cp))) {
			if (cp < 0x100)
				snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
			else if (cp < 0x10000)
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			else
				snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)cp);
			olen = strlen(esc);
		} else {
			out = s + i;
			olen = n;
		}
		if (put(c, b, out, olen) < 0)
			return -OCCO_ETOOBIG;
		i += n;
	}
	return put(c, b, &q, 1);
}

static int write_json(struct tvctx *c, const json_t *j, struct occo_buf *b, int repr, int tuples,
		      int depth);

static int write_seq(struct tvctx *c, const json_t *arr, struct occo_buf *b, int tuple,
		     int elem_tuples, int depth)
{
	size_t i, n = json_array_size(arr);

	if (puts_(c, b, tuple ? "(" : "[") < 0)
		return -OCCO_ETOOBIG;
	for (i = 0; i < n; i++) {
		if (i && puts_(c, b, ", ") < 0)
			return -OCCO_ETOOBIG;
		if (write_json(c, json_array_get(arr, i), b, 1, elem_tuples, depth + 1) < 0)
			return -OCCO_ETOOBIG;
	}
	if (tuple && n == 1 && puts_(c, b, ",") < 0)
		return -OCCO_ETOOBIG;
	return puts_(c, b, tuple ? ")" : "]");
}

/* tuples: arrays print as tuples (elements of a list of pairs). */
static int write_json(struct tvctx *c, const json_t *j, struct occo_buf *b, int repr, int tuples,
		      int depth)
{
	char tmp[40];
	const char *k;
	json_t *v;
	int first = 1;

	if (depth > MAX_NESTING)
		return occo__tv_fail(c, OCCO_ETOOBIG, "value nested too deeply");
	if (occo__json_is_undefined(j))
		return repr ? puts_(c, b, "Undefined") : 0;
	switch (json_typeof(j)) {
	case JSON_STRING:
		if (repr)
			return write_str_repr(c, json_string_value(j), json_string_length(j), b);
		return put(c, b, json_string_value(j), json_string_length(j));
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return puts_(c, b, tmp);
	case JSON_REAL:
		occo__py_float_repr(json_real_value(j), tmp);
		return puts_(c, b, tmp);
	case JSON_TRUE:
		return puts_(c, b, "True");
	case JSON_FALSE:
		return puts_(c, b, "False");
	case JSON_NULL:
		return puts_(c, b, "None");
	case JSON_ARRAY:
		return write_seq(c, j, b, tuples, 0, depth);
	case JSON_OBJECT:
		if (puts_(c, b, "{") < 0)
			return -OCCO_ETOOBIG;
		json_object_foreach ((json_t *)j, k, v) {
			if (!first && puts_(c, b, ", ") < 0)
				return -OCCO_ETOOBIG;
			first = 0;
			if (write_str_repr(c, k, strlen(k), b) < 0 || puts_(c, b, ": ") < 0 ||
			    write_json(c, v, b, 1, 0, depth + 1) < 0)
				return -OCCO_ETOOBIG;
		}
		return puts_(c, b, "}");
	}
	return 0;
}

static int write_tv(struct tvctx *c, const struct tv *v, struct occo_buf *b, int repr)
{
	char tmp[96];
	json_t *arr;
	int rc, tuples;

	switch (v->kind) {
	case TV_UNDEF:
		return repr ? puts_(c, b, "Undefined") : 0;
	case TV_JSON:
		if (json_is_array(v->j))
			return write_seq(c, v->j, b, 0, (v->flags & TVF_TUPLES) != 0, 0);
		return write_json(c, v->j, b, repr, 0, 0);
	case TV_TUPLE:
		return write_seq(c, v->j, b, 1, 0, 0);
	case TV_VIEW:
		if (v->sub == VIEW_RANGE) {
			json_int_t step = json_integer_value(json_array_get(v->j, 2));

			if (step == 1)
				snprintf(tmp, sizeof(tmp),
					 "range(%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
					 ")",
					 json_integer_value(json_array_get(v->j, 0)),
					 json_integer_value(json_array_get(v->j, 1)));
			else
				snprintf(tmp, sizeof(tmp),
					 "range(%" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
					 ", %" JSON_INTEGER_FORMAT ")",
					 json_integer_value(json_array_get(v->j, 0)),
					 json_integer_value(json_array_get(v->j, 1)), step);
			return puts_(c, b, tmp);
		}
		rc = occo__tv_iter(c, v, &arr, &tuples);
		if (rc < 0)
			return rc;
		rc = puts_(c, b, occo__tv_typename(v));
		if (rc == 0)
			rc = puts_(c, b, "(");
		if (rc == 0)
			rc = write_seq(c, arr, b, 0, tuples, 0);
		if (rc == 0)
			rc = puts_(c, b, ")");
		json_decref(arr);
		return rc;
	case TV_LOOP: {
		const struct tloop *l = v->p;

		snprintf(tmp, sizeof(tmp), "<LoopContext %zu/%zu>", l->index0 + 1, l->length);
		return puts_(c, b, tmp);
	}
	case TV_FUNC:
		return occo__tv_fail(c, OCCO_EINVAL, "cannot print the function '%s'", v->name);
	case TV_METHOD:
		return occo__tv_fail(c, OCCO_EINVAL, "cannot print the method '%s'", v->name);
	}
	return 0;
}

int occo__tv_write_str(struct tvctx *c, const struct tv *v, struct occo_buf *b)
{
	return write_tv(c, v, b, 0);
}

int occo__tv_write_repr(struct tvctx *c, const struct tv *v, struct occo_buf *b)
{
	return write_tv(c, v, b, 1);
}

int occo__tv_to_str(struct tvctx *c, const struct tv *v, struct tv *out)
{
	struct occo_buf b;
	int rc;

	if (occo__tv_is_str(v)) {
		*out = occo__tv_dup(v);
		out->flags &= TVF_MARKUP;
		return 0;
	}
	occo__tv_buf(c, &b);
	rc = occo__tv_write_str(c, v, &b);
	if (rc < 0) {
		occo_buf_release(&b);
		return rc;
	}
	*out = occo__tv_from_buf(c, &b);
	return 0;
}

/* ---- conversions -------------------------------------------------------------------------- */

static int range_materialise(struct tvctx *c, const json_t *r, json_t **out)
{
	json_int_t start = json_integer_value(json_array_get(r, 0));
	json_int_t step = json_integer_value(json_array_get(r, 2));
	size_t n;
	json_t *arr;

	range_len(r, &n);
	if (n > c->max_value)
		return occo__tv_fail(c, OCCO_ETOOBIG, "range of %zu items exceeds the limit of %zu",
				     n, c->max_value);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_integer(start + (json_int_t)i * step));
	*out = arr;
	return 0;
}

static int iter(struct tvctx *c, const struct tv *v, json_t **arr, int *tuples);

int occo__tv_iter(struct tvctx *c, const struct tv *v, json_t **arr, int *tuples)
{
	int rc = iter(c, v, arr, tuples);

	/* making a new list is work; going through a list one has is charged by the caller */
	if (rc == 0 && *arr != v->j && (rc = occo__tv_charge(c, json_array_size(*arr))) < 0)
		json_decref(*arr);
	return rc;
}

static int iter(struct tvctx *c, const struct tv *v, json_t **arr, int *tuples)
{
	const char *k, *s;
	json_t *x, *a;
	size_t i, n, len;

	*tuples = 0;
	switch (v->kind) {
	case TV_UNDEF:
		*arr = json_array();
		return 0;
	case TV_TUPLE:
		*arr = json_incref(v->j);
		return 0;
	case TV_VIEW:
		if (v->sub == VIEW_RANGE)
			return range_materialise(c, v->j, arr);
		a = json_array();
		json_object_foreach (v->j, k, x) {
			if (v->sub == VIEW_KEYS) {
				json_array_append_new(a, json_string_nocheck(k));
			} else if (v->sub == VIEW_VALUES) {
				json_array_append(a, x);
			} else {
				json_t *pair = json_array();

				json_array_append_new(pair, json_string_nocheck(k));
				json_array_append(pair, x);
				json_array_append_new(a, pair);
			}
		}
		*tuples = v->sub == VIEW_ITEMS;
		*arr = a;
		return 0;
	case TV_JSON:
		break;
	default:
		return occo__tv_fail(c, OCCO_EINVAL, "'%s' object is not iterable",
				     occo__tv_typename(v));
	}
	switch (json_typeof(v->j)) {
	case JSON_ARRAY:
		*arr = json_incref(v->j);
		*tuples = (v->flags & TVF_TUPLES) != 0;
		return 0;
	case JSON_OBJECT:
		a = json_array();
		json_object_foreach (v->j, k, x)
			json_array_append_new(a, json_string_nocheck(k));
		*arr = a;
		return 0;
	case JSON_STRING:
		s = json_string_value(v->j);
		len = json_string_length(v->j);
		if (occo__u8_count(s, len) > c->max_value)
			return occo__tv_fail(c, OCCO_ETOOBIG, "too many characters to go through");
		a = json_array();
		for (i = 0; i < len; i += n) {
			occo__u8_get(s, len, i, &n);
			json_array_append_new(a, json_stringn_nocheck(s + i, n));
		}
		*arr = a;
		return 0;
	default:
		return occo__tv_fail(c, OCCO_EINVAL, "'%s' object is not iterable",
				     occo__tv_typename(v));
	}
}

struct tv occo__tv_elem(json_t *arr, size_t i, int tuples)
{
	struct tv r = occo__tv_ref(json_array_get(arr, i));

	if (tuples && json_is_array(r.j))
		r.kind = TV_TUPLE;
	return r;
}

int occo__tv_to_json(struct tvctx *c, const struct tv *v, json_t **out)
{
	int tuples;

	switch (v->kind) {
	case TV_JSON:
	case TV_TUPLE:
		*out = json_incref(v->j);
		return 0;
	case TV_VIEW:
		return occo__tv_iter(c, v, out, &tuples);
	case TV_UNDEF:
		*out = json_incref(json_undefined());
		return 0;
	default:
		return occo__tv_fail(c, OCCO_EINVAL, "a %s cannot be used as a value here",
				     occo__tv_typename(v));
	}
}

/* ---- equality and ordering ---------------------------------------------------------------- */

/* Compare two numbers exactly as Python does: -1, 0, 1, or 2 if unordered (nan). */
static int num_cmp(const json_t *a, const json_t *b)
{
	if (!json_is_real(a) && !json_is_real(b)) {
		json_int_t x = int_val(a), y = int_val(b);

		return x < y ? -1 : x > y;
	}
	if (json_is_real(a) && json_is_real(b)) {
		double x = json_real_value(a), y = json_real_value(b);

		if (isnan(x) || isnan(y))
			return 2;
		return x < y ? -1 : x > y;
	}
	{
		int swap = json_is_real(a);
		json_int_t x = int_val(swap ? b : a);
		double y = json_real_value(swap ? a : b), fy;
		int r;

		if (isnan(y))
			return 2;
		if (y >= 9223372036854775808.0)
			r = -1;
		else if (y < -9223372036854775808.0)
			r = 1;
		else {
			fy = floor(y);
			if (x < (json_int_t)fy)
				r = -1;
			else if (x > (json_int_t)fy)
				r = 1;
			else
				r = y == fy ? 0 : -1;
		}
		return swap ? -r : r;
	}
}

static int json_eq_depth(const json_t *a, const json_t *b, int depth)
{
	const char *k;
	json_t *x;
	size_t i, n;

	if (a == b)
		return 1;
	if (depth > MAX_NESTING)
		return 0;
	if (is_num(a) && is_num(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
			       0;
	case JSON_NULL:
		return 1;
	case JSON_ARRAY:
		n = json_array_size(a);
		if (n != json_array_size(b))
			return 0;
		for (i = 0; i < n; i++)
			if (!json_eq_depth(json_array_get(a, i), json_array_get(b, i), depth + 1))
				return 0;
		return 1;
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach ((json_t *)a, k, x) {
			json_t *y = json_object_get(b, k);

			if (!y || !json_eq_depth(x, y, depth + 1))
				return 0;
		}
		return 1;
	default:
		return 0;
	}
}

static int json_eq(const json_t *a, const json_t *b)
{
	return json_eq_depth(a, b, 0);
}

int occo__tv_eq(const struct tv *a, const struct tv *b)
{
	if (a->kind == TV_UNDEF || b->kind == TV_UNDEF)
		return a->kind == b->kind;
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case TV_JSON:
	case TV_TUPLE:
		return json_eq(a->j, b->j);
	case TV_VIEW:
		return a->sub == b->sub && json_eq(a->j, b->j);
	case TV_FUNC:
	case TV_LOOP:
		return a->p == b->p && a->sub == b->sub;
	default:
		return 0;
	}
}

static int cmp_depth(struct tvctx *c, const json_t *a, int atuple, const json_t *b, int btuple,
		     int *res, int depth);

static int unorderable(struct tvctx *c, const char *x, const char *y)
{
	return occo__tv_fail(c, OCCO_EINVAL, "'<' not supported between instances of '%s' and '%s'",
			     x, y);
}

static int cmp_depth(struct tvctx *c, const json_t *a, int atuple, const json_t *b, int btuple,
		     int *res, int depth)
{
	size_t i, na, nb, la, lb;
	int r;

	if (depth > MAX_NESTING)
		return occo__tv_fail(c, OCCO_ETOOBIG, "value nested too deeply");
	if (occo__json_is_undefined(a) || occo__json_is_undefined(b))
		return occo__tv_fail(c, OCCO_EINVAL, "an undefined value cannot be ordered");
	if (is_num(a) && is_num(b)) {
		*res = num_cmp(a, b);
		return 0;
	}
	if (json_is_string(a) && json_is_string(b)) {
		la = json_string_length(a);
		lb = json_string_length(b);
		r = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		*res = r < 0 ? -1 : r > 0 ? 1 : la < lb ? -1 : la > lb;
		return 0;
	}
	if (json_is_array(a) && json_is_array(b) && atuple == btuple) {
		na = json_array_size(a);
		nb = json_array_size(b);
		for (i = 0; i < na && i < nb; i++) {
			const json_t *x = json_array_get(a, i), *y = json_array_get(b, i);

			if (json_eq_depth(x, y, depth + 1))
				continue;
			return cmp_depth(c, x, 0, y, 0, res, depth + 1);
		}
		*res = na < nb ? -1 : na > nb;
		return 0;
	}
	return unorderable(c, atuple ? "tuple" : json_typename(a),
			   btuple ? "tuple" : json_typename(b));
}

int occo__tv_cmp(struct tvctx *c, const struct tv *a, const struct tv *b, int *res)
{
	if (a->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, a);
	if (b->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, b);
	if ((a->kind != TV_JSON && a->kind != TV_TUPLE) ||
	    (b->kind != TV_JSON && b->kind != TV_TUPLE))
		return unorderable(c, occo__tv_typename(a), occo__tv_typename(b));
	return cmp_depth(c, a->j, a->kind == TV_TUPLE, b->j, b->kind == TV_TUPLE, res, 0);
}

/* ---- arithmetic --------------------------------------------------------------------------- */

static int overflow(struct tvctx *c)
{
	return occo__tv_fail(c, OCCO_EINVAL, "integer overflow (integers are 64-bit here)");
}

static int zerodiv(struct tvctx *c, int isfloat, int op)
{
	if (op == OP_MOD)
		return occo__tv_fail(c, OCCO_EINVAL, "%s modulo", isfloat ? "float" : "integer");
	return occo__tv_fail(c, OCCO_EINVAL, "%s division by zero",
			     op == OP_DIV ? "division"
			     : isfloat	  ? "float floor"
					  : "integer");
}

static int unsupported(struct tvctx *c, int op, const struct tv *a, const struct tv *b)
{
	static const char *const names[] = {
		[OP_ADD] = "+", [OP_SUB] = "-", [OP_DIV] = "/",		 [OP_FLOORDIV] = "//",
		[OP_MUL] = "*", [OP_MOD] = "%", [OP_POW] = "** or pow()"
	};

	return occo__tv_fail(c, OCCO_EINVAL, "unsupported operand type(s) for %s: '%s' and '%s'",
			     names[op], occo__tv_typename(a), occo__tv_typename(b));
}

static int int_pow(struct tvctx *c, json_int_t base, json_int_t e, json_int_t *out)
{
	json_int_t r = 1;

	while (e > 0) {
		if (e & 1 && __builtin_mul_overflow(r, base, &r))
			return overflow(c);
		e >>= 1;
		if (e && __builtin_mul_overflow(base, base, &base))
			return overflow(c);
	}
	*out = r;
	return 0;
}

static int float_op(struct tvctx *c, int op, double x, double y, struct tv *out)
{
	double r, mod, div, fd;

	switch (op) {
	case OP_ADD:
		r = x + y;
		break;
	case OP_SUB:
		r = x - y;
		break;
	case OP_MUL:
		r = x * y;
		break;
	case OP_DIV:
		if (y == 0)
			return zerodiv(c, 1, op);
		r = x / y;
		break;
	case OP_FLOORDIV:
	case OP_MOD:
		if (y == 0)
			return zerodiv(c, 1, op);
		mod = fmod(x, y);
		div = (x - mod) / y;
		if (mod) {
			if ((y < 0) != (mod < 0)) {
				mod += y;
				div -= 1.0;
			}
		} else {
			mod = copysign(0.0, y);
		}
		if (div) {
			fd = floor(div);
			if (div - fd > 0.5)
				fd += 1.0;
		} else {
			fd = copysign(0.0, x / y);
		}
		r = op == OP_MOD ? mod : fd;
		break;
	case OP_POW:
		if (y == 0) {
			r = 1.0;
			break;
		}
		if (x == 0 && y < 0)
			return occo__tv_fail(c, OCCO_EINVAL,
					     "0.0 cannot be raised to a negative power");
		if (x < 0 && isfinite(x) && isfinite(y) && floor(y) != y)
			return occo__tv_fail(c, OCCO_EINVAL,
					     "a negative number to a fractional power is complex");
		r = pow(x, y);
		if (isinf(r) && isfinite(x) && isfinite(y))
			return occo__tv_fail(c, OCCO_EINVAL, "numerical result out of range");
		break;
	default:
		return -OCCO_EINVAL;
	}
	return occo__tv_real_checked(c, r, out);
}

static int int_op(struct tvctx *c, int op, json_int_t x, json_int_t y, struct tv *out)
{
	json_int_t r = 0;

	switch (op) {
	case OP_ADD:
		if (__builtin_add_overflow(x, y, &r))
			return overflow(c);
		break;
	case OP_SUB:
		if (__builtin_sub_overflow(x, y, &r))
			return overflow(c);
		break;
	case OP_MUL:
		if (__builtin_mul_overflow(x, y, &r))
			return overflow(c);
		break;
	case OP_DIV:
		if (y == 0)
			return zerodiv(c, 0, op);
		*out = occo__tv_real((double)x / (double)y);
		return 0;
	case OP_FLOORDIV:
		if (y == 0)
			return zerodiv(c, 0, op);
		if (y == -1) {
			if (__builtin_sub_overflow((json_int_t)0, x, &r))
				return overflow(c);
			break;
		}
		r = x / y;
		if (x % y != 0 && ((x < 0) != (y < 0)))
			r--;
		break;
	case OP_MOD:
		if (y == 0)
			return zerodiv(c, 0, op);
		if (y == -1) {
			r = 0;
			break;
		}
		r = x % y;
		if (r != 0 && ((r < 0) != (y < 0)))
			r += y;
		break;
	case OP_POW:
		if (y < 0)
			return float_op(c, op, (double)x, (double)y, out);
		if (int_pow(c, x, y, &r) < 0)
			return -OCCO_EINVAL;
		break;
	default:
		return -OCCO_EINVAL;
	}
	*out = occo__tv_int(r);
	return 0;
}

/* s * n for strings and sequences. */
static int repeat(struct tvctx *c, const struct tv *seq, json_int_t n, struct tv *out)
{
	size_t len, total;

	if (n < 0)
		n = 0;
	if (occo__tv_charge(c, (size_t)n) < 0)
		return -OCCO_ETOOBIG;
	if (occo__tv_is_str(seq)) {
		struct occo_buf b;

		len = json_string_length(seq->j);
		if (__builtin_mul_overflow(len, (size_t)n, &total) || total > c->max_value)
			return occo__tv_fail(c, OCCO_ETOOBIG,
					     "string exceeds the limit of %zu bytes", c->max_value);
		occo__tv_buf(c, &b);
		for (json_int_t i = 0; i < n; i++)
			occo_buf_append(&b, json_string_value(seq->j), len, NULL);
		*out = occo__tv_from_buf(c, &b);
		return 0;
	}
	len = json_array_size(seq->j);
	if (__builtin_mul_overflow(len, (size_t)n, &total) || total > c->max_value)
		return occo__tv_fail(c, OCCO_ETOOBIG, "list exceeds the limit of %zu items",
				     c->max_value);
	{
		json_t *arr = json_array();

		for (json_int_t i = 0; i < n; i++)
			json_array_extend(arr, seq->j);
		*out = occo__tv_take(arr);
		out->kind = seq->kind;
	}
	return 0;
}

int occo__html_escape(struct occo_buf *b, const char *s, size_t len)
{
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0; i++) {
		switch (s[i]) {
		case '&':
			rc = occo_buf_append(b, "&amp;", 5, NULL);
			break;
		case '<':
			rc = occo_buf_append(b, "&lt;", 4, NULL);
			break;
		case '>':
			rc = occo_buf_append(b, "&gt;", 4, NULL);
			break;
		case '"':
			rc = occo_buf_append(b, "&#34;", 5, NULL);
			break;
		case '\'':
			rc = occo_buf_append(b, "&#39;", 5, NULL);
			break;
		default:
			rc = occo_buf_append(b, s + i, 1, NULL);
		}
	}
	return rc;
}

int occo__tv_binop(struct tvctx *c, int op, const struct tv *a, const struct tv *b, struct tv *out)
{
	if (a->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, a);
	if (b->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, b);
	if (occo__tv_is_num(a) && occo__tv_is_num(b)) {
		if (json_is_real(a->j) || json_is_real(b->j))
			return float_op(c, op, num_val(a->j), num_val(b->j), out);
		return int_op(c, op, int_val(a->j), int_val(b->j), out);
	}
	if (op == OP_ADD && occo__tv_is_str(a) && occo__tv_is_str(b)) {
		struct occo_buf buf;
		unsigned markup = (a->flags | b->flags) & TVF_MARKUP;
		size_t la = json_string_length(a->j), lb = json_string_length(b->j);

		if (la + lb > c->max_value)
			return occo__tv_fail(c, OCCO_ETOOBIG,
					     "string exceeds the limit of %zu bytes", c->max_value);
		occo_buf_init(&buf, (size_t)-2);
		/* Markup + str escapes the str */
		if (markup && !(a->flags & TVF_MARKUP))
			occo__html_escape(&buf, json_string_value(a->j), la);
		else
			occo_buf_append(&buf, json_string_value(a->j), la, NULL);
		if (markup && !(b->flags & TVF_MARKUP))
			occo__html_escape(&buf, json_string_value(b->j), lb);
		else
			occo_buf_append(&buf, json_string_value(b->j), lb, NULL);
		*out = occo__tv_from_buf(c, &buf);
		out->flags = markup;
		return 0;
	}
	if (op == OP_ADD && occo__tv_is_seq(a) && occo__tv_is_seq(b) && a->kind == b->kind) {
		json_t *arr;

		if (json_array_size(a->j) + json_array_size(b->j) > c->max_value)
			return occo__tv_fail(c, OCCO_ETOOBIG, "list exceeds the limit of %zu items",
					     c->max_value);
		arr = json_array();
		json_array_extend(arr, a->j);
		json_array_extend(arr, b->j);
		*out = occo__tv_take(arr);
		out->kind = a->kind;
		return 0;
	}
	if (op == OP_MUL) {
		if ((occo__tv_is_str(a) || occo__tv_is_seq(a)) && occo__tv_is_int(b))
			return repeat(c, a, int_val(b->j), out);
		if ((occo__tv_is_str(b) || occo__tv_is_seq(b)) && occo__tv_is_int(a))
			return repeat(c, b, int_val(a->j), out);
	}
	return unsupported(c, op, a, b);
}

int occo__tv_neg(struct tvctx *c, const struct tv *a, int neg, struct tv *out)
{
	if (a->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, a);
	if (!occo__tv_is_num(a))
		return occo__tv_fail(c, OCCO_EINVAL, "bad operand type for unary %c: '%s'",
				     neg ? '-' : '+', occo__tv_typename(a));
	if (json_is_real(a->j)) {
		*out = occo__tv_real(neg ? -json_real_value(a->j) : json_real_value(a->j));
		return 0;
	}
	if (neg && int_val(a->j) == INT64_MIN)
		return overflow(c);
	*out = occo__tv_int(neg ? -int_val(a->j) : int_val(a->j));
	return 0;
}

/* ---- in, len ------------------------------------------------------------------------------ */

static int hashable(const struct tv *v)
{
	if (v->kind == TV_TUPLE) {
		for (size_t i = 0; i < json_array_size(v->j); i++) {
			json_t *x = json_array_get(v->j, i);

			if (json_is_array(x) || json_is_object(x))
				return 0;
		}
		return 1;
	}
	return v->kind != TV_JSON || !(json_is_array(v->j) || json_is_object(v->j));
}

int occo__tv_contains(struct tvctx *c, const struct tv *b, const struct tv *a, int *res)
{
	json_t *arr;
	int tuples, rc;

	*res = 0;
	if (b->kind == TV_UNDEF)
		return 0;
	if (occo__tv_is_str(b)) {
		const char *hay = json_string_value(b->j), *needle;
		size_t hl = json_string_length(b->j), nl;

		if (!occo__tv_is_str(a))
			return occo__tv_fail(
				c, OCCO_EINVAL,
				"'in <string>' requires string as left operand, not %s",
				occo__tv_typename(a));
		needle = json_string_value(a->j);
		nl = json_string_length(a->j);
		*res = nl == 0 || (nl <= hl && memmem(hay, hl, needle, nl) != NULL);
		return 0;
	}
	if (occo__tv_is_dict(b) || (b->kind == TV_VIEW && b->sub == VIEW_KEYS)) {
		if (!hashable(a))
			return occo__tv_fail(c, OCCO_EINVAL, "unhashable type: '%s'",
					     occo__tv_typename(a));
		*res = occo__tv_is_str(a) && json_object_getn(b->j, json_string_value(a->j),
							      json_string_length(a->j)) != NULL;
		return 0;
	}
	if (b->kind == TV_JSON && !json_is_array(b->j))
		return occo__tv_fail(c, OCCO_EINVAL, "argument of type '%s' is not iterable",
				     occo__tv_typename(b));
	rc = occo__tv_iter(c, b, &arr, &tuples);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < json_array_size(arr) && !*res; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples);

		/* a list cannot hold a tuple here (it became a list): match it by content */
		if (a->kind == TV_TUPLE && e.kind == TV_JSON && json_is_array(e.j))
			e.kind = TV_TUPLE;
		*res = occo__tv_eq(&e, a);
		occo__tv_release(&e);
	}
	json_decref(arr);
	return 0;
}

int occo__tv_len(struct tvctx *c, const struct tv *v, size_t *out)
{
	switch (v->kind) {
	case TV_UNDEF:
		*out = 0;
		return 0;
	case TV_TUPLE:
		*out = json_array_size(v->j);
		return 0;
	case TV_VIEW:
		if (v->sub == VIEW_RANGE)
			return range_len(v->j, out);
		*out = json_object_size(v->j);
		return 0;
	case TV_JSON:
		if (json_is_string(v->j)) {
			*out = occo__u8_count(json_string_value(v->j), json_string_length(v->j));
			return 0;
		}
		if (json_is_array(v->j)) {
			*out = json_array_size(v->j);
			return 0;
		}
		if (json_is_object(v->j)) {
			*out = json_object_size(v->j);
			return 0;
		}
		break;
	default:
		break;
	}
	return occo__tv_fail(c, OCCO_EINVAL, "object of type '%s' has no len()",
			     occo__tv_typename(v));
}

/* ---- tojson ------------------------------------------------------------------------------- */

static int json_str_out(struct tvctx *c, const char *s, size_t len, struct occo_buf *b)
{
	size_t i = 0, n;
	char esc[16];

	if (put(c, b, "\"", 1) < 0)
		return -OCCO_ETOOBIG;
	while (i < len) {
		uint32_t cp = occo__u8_get(s, len, i, &n);
		const char *out = esc;

		switch (cp) {
		case '"':
			out = "\\\"";
			break;
		case '\\':
			out = "\\\\";
			break;
		case '\n':
			out = "\\n";
			break;
		case '\r':
			out = "\\r";
			break;
		case '\t':
			out = "\\t";
			break;
		case '\b':
			out = "\\b";
			break;
		case '\f':
			out = "\\f";
			break;
		default:
			if (cp >= 0x20 && cp < 0x7f && cp != '<' && cp != '>' && cp != '&' &&
			    cp != '\'') {
				esc[0] = (char)cp;
				esc[1] = '\0';
			} else if (cp < 0x10000) {
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			} else {
				uint32_t v = cp - 0x10000;

				snprintf(esc, sizeof(esc), "\\u%04x\\u%04x",
					 (unsigned)(0xd800 | (v >> 10)),
					 (unsigned)(0xdc00 | (v & 0x3ff)));
			}
		}
		if (puts_(c, b, out) < 0)
			return -OCCO_ETOOBIG;
		i += n;
	}
	return put(c, b, "\"", 1);
}

static int newline_indent(struct tvctx *c, struct occo_buf *b, int indent, int level)
{
	if (indent < 0)
		return 0;
	if (put(c, b, "\n", 1) < 0)
		return -OCCO_ETOOBIG;
	for (int i = 0; i < indent * level; i++)
		if (put(c, b, " ", 1) < 0)
			return -OCCO_ETOOBIG;
	return 0;
}

static int key_order(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;

	return strcmp(a, b);
}

static int tojson_rec(struct tvctx *c, const json_t *j, int indent, int level, struct occo_buf *b)
{
	char tmp[40];
	const char *sep = indent < 0 ? ", " : ",";
	size_t i, n;

	if (level > MAX_NESTING)
		return occo__tv_fail(c, OCCO_ETOOBIG, "value nested too deeply");
	if (occo__json_is_undefined(j))
		return occo__tv_fail(c, OCCO_EINVAL,
				     "object of type Undefined is not JSON serializable");
	switch (json_typeof(j)) {
	case JSON_STRING:
		return json_str_out(c, json_string_value(j), json_string_length(j), b);
	case JSON_INTEGER:
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return puts_(c, b, tmp);
	case JSON_REAL: {
		double d = json_real_value(j);

		if (isnan(d))
			return puts_(c, b, "NaN");
		if (isinf(d))
			return puts_(c, b, d < 0 ? "-Infinity" : "Infinity");
		occo__py_float_repr(d, tmp);
		return puts_(c, b, tmp);
	}
	case JSON_TRUE:
		return puts_(c, b, "true");
	case JSON_FALSE:
		return puts_(c, b, "false");
	case JSON_NULL:
		return puts_(c, b, "null");
	case JSON_ARRAY:
		n = json_array_size(j);
		if (n == 0)
			return puts_(c, b, "[]");
		if (puts_(c, b, "[") < 0)
			return -OCCO_ETOOBIG;
		for (i = 0; i < n; i++) {
			if ((i && puts_(c, b, sep) < 0) ||
			    newline_indent(c, b, indent, level + 1) < 0 ||
			    tojson_rec(c, json_array_get(j, i), indent, level + 1, b) < 0)
				return -OCCO_ETOOBIG;
		}
		if (newline_indent(c, b, indent, level) < 0)
			return -OCCO_ETOOBIG;
		return puts_(c, b, "]");
	case JSON_OBJECT: {
		const char **keys;
		const char *k;
		json_t *v;
		int rc = 0;

		n = json_object_size(j);
		if (n == 0)
			return puts_(c, b, "{}");
		keys = occo_calloc(n, sizeof(*keys));
		i = 0;
		json_object_foreach ((json_t *)j, k, v)
			keys[i++] = k;
		qsort(keys, n, sizeof(*keys), key_order);
		rc = puts_(c, b, "{");
		for (i = 0; i < n && rc == 0; i++) {
			if ((i && puts_(c, b, sep) < 0) ||
			    newline_indent(c, b, indent, level + 1) < 0 ||
			    json_str_out(c, keys[i], strlen(keys[i]), b) < 0 ||
			    puts_(c, b, ": ") < 0 ||
			    tojson_rec(c, json_object_get(j, keys[i]), indent, level + 1, b) < 0)
				rc = -OCCO_ETOOBIG;
		}
		free(keys);
		if (rc == 0)
			rc = newline_indent(c, b, indent, level);
		return rc < 0 ? rc : puts_(c, b, "}");
	}
	}
	return 0;
}

int occo__tv_tojson(struct tvctx *c, const struct tv *v, int indent, struct occo_buf *b)
{
	if (v->kind == TV_UNDEF)
		return occo__tv_fail(c, OCCO_EINVAL,
				     "object of type Undefined is not JSON serializable");
	if (v->kind != TV_JSON && v->kind != TV_TUPLE)
		return occo__tv_fail(c, OCCO_EINVAL, "object of type %s is not JSON serializable",
				     occo__tv_typename(v));
	return tojson_rec(c, v->j, indent, 0, b);
}

/* ---- public helper ------------------------------------------------------------------------ */

int occo_tmpl_pystr(const json_t *v, struct occo_buf *out, struct occo_err *err)
{
	static const struct occo_tmpl t = { .name = "<value>", .src = "", .srclen = 0 };
	struct occo_err lerr;
	struct tvctx c = { &t, &lerr, 0, (size_t)-2, NULL };
	size_t len = out->len;
	int rc;

	rc = write_json(&c, v, out, 0, 0, 0);
	if (rc < 0) {
		out->len = len;
		if (out->data)
			out->data[len] = '\0';
		return occo_err_copy(err, &lerr);
	}
	return 0;
}
