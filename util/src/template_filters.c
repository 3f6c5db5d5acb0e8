/*
 * template_filters.c - Jinja2's filters and tests, the str/dict/list methods templates call,
 * the built-in globals (range, dict), slicing and Python's two string formatting languages
 * (`fmt % args` and str.format).
 *
 * Each filter is written after its Python source in jinja2/filters.py (3.1) so that corner
 * cases come out the same: what an undefined value does (|length is 0, |int is an error),
 * when a default is returned (|int, |float), the quirks of |indent and |title. The arguments
 * are bound to the Python parameter names, so keyword arguments work as they do in Jinja2.
 * b64encode/b64decode are the filters Occopus adds (base64 of the UTF-8 text).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "template_int.h"

#define MAXP 6

/* ---- argument binding --------------------------------------------------------------------- */

/*
 * Bind the arguments of `fname` to its parameters `names` (after the value the filter
 * applies to): out[i] is the argument or NULL when it was not given.
 */
static int bind(struct tvctx *c, const char *fname, struct targs *a, const char *const *names,
		size_t n, const struct tv **out)
{
	size_t i, k;

	for (i = 0; i < n; i++)
		out[i] = NULL;
	if (a->npos > n)
		return occo__tv_fail(c, OCCO_EINVAL,
				     "%s() takes at most %zu argument%s (%zu given)", fname, n,
				     n == 1 ? "" : "s", a->npos);
	for (i = 0; i < a->npos; i++)
		out[i] = &a->pos[i];
	for (k = 0; k < a->nkw; k++) {
		for (i = 0; i < n; i++)
			if (!strcmp(names[i], a->kwname[k]))
				break;
		if (i == n)
			return occo__tv_fail(c, OCCO_EINVAL,
					     "%s() got an unexpected keyword argument '%s'", fname,
					     a->kwname[k]);
		if (out[i])
			return occo__tv_fail(c, OCCO_EINVAL,
					     "%s() got multiple values for argument '%s'", fname,
					     names[i]);
		out[i] = &a->kw[k];
	}
	return 0;
}

#define BIND(fname, ...)                                                                      \
	static const char *const names_[] = { __VA_ARGS__ };                                  \
	const struct tv *arg[sizeof(names_) / sizeof(names_[0])];                             \
	do {                                                                                  \
		int rc_ = bind(c, fname, a, names_, sizeof(names_) / sizeof(names_[0]), arg); \
		if (rc_ < 0)                                                                  \
			return rc_;                                                           \
	} while (0)

static int no_args(struct tvctx *c, const char *fname, struct targs *a)
{
	if (a->npos || a->nkw)
		return occo__tv_fail(c, OCCO_EINVAL, "%s() takes no arguments", fname);
	return 0;
}

static int want_int(struct tvctx *c, const char *what, const struct tv *v, json_int_t *out)
{
	if (!occo__tv_is_int(v)) {
		if (v->kind == TV_UNDEF)
			return occo__tv_undef_fail(c, v);
		return occo__tv_fail(c, OCCO_EINVAL, "%s: an integer is required, not '%s'", what,
				     occo__tv_typename(v));
	}
	*out = json_is_integer(v->j) ? json_integer_value(v->j) : json_is_true(v->j);
	return 0;
}

static int want_str(struct tvctx *c, const char *what, const struct tv *v)
{
	if (occo__tv_is_str(v))
		return 0;
	if (v->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, v);
	return occo__tv_fail(c, OCCO_EINVAL, "%s: must be str, not %s", what, occo__tv_typename(v));
}

static int truth_arg(const struct tv *v, int dflt)
{
	return v ? occo__tv_truth(v) : dflt;
}

static const char *sv(const struct tv *v)
{
	return json_string_value(v->j);
}

static size_t sl(const struct tv *v)
{
	return json_string_length(v->j);
}

/* A new list value from an array (stolen); tuples: its elements are tuples. */
static struct tv list_take(json_t *arr, int tuples)
{
	struct tv r = occo__tv_take(arr);

	if (tuples)
		r.flags |= TVF_TUPLES;
	return r;
}

/* ---- string helpers ----------------------------------------------------------------------- */

enum { CASE_UPPER, CASE_LOWER, CASE_CAPITALIZE, CASE_TITLE_FILTER, CASE_TITLE_METHOD, CASE_SWAP };

static int is_title_sep(uint32_t cp)
{
	return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' ||
	       occo__py_isspace(cp);
}

static struct tv str_case(struct tvctx *c, const char *s, size_t len, int how)
{
	struct occo_buf b;
	size_t i = 0, n;
	int prev_sep = -1, prev_cased = 0;
	char u8[4];

	occo_buf_init(&b, (size_t)-2);
	while (i < len) {
		uint32_t cp = occo__u8_get(s, len, i, &n), out = cp;

		switch (how) {
		case CASE_UPPER:
			out = occo__py_upper(cp);
			break;
		case CASE_LOWER:
			out = occo__py_lower(cp);
			break;
		case CASE_CAPITALIZE:
			out = i == 0 ? occo__py_upper(cp) : occo__py_lower(cp);
			break;
		case CASE_TITLE_FILTER: {
			/* re.split(r"([-\s({\[<]+)"): each run starts upper, goes on lower */
			int sep = is_title_sep(cp);

			out = sep == prev_sep ? occo__py_lower(cp) : occo__py_upper(cp);
			prev_sep = sep;
			break;
		}
		case CASE_TITLE_METHOD:
			out = prev_cased ? occo__py_lower(cp) : occo__py_upper(cp);
			prev_cased = occo__py_iscased_upper(cp) || occo__py_iscased_lower(cp);
			break;
		case CASE_SWAP:
			out = occo__py_iscased_upper(cp) ? occo__py_lower(cp) : occo__py_upper(cp);
			break;
		}
		occo_buf_append(&b, u8, occo__u8_put(out, u8), NULL);
		i += n;
	}
	return occo__tv_from_buf(c, &b);
}

/* Is cp among the code points of chars? */
static int in_chars(uint32_t cp, const char *chars, size_t clen)
{
	size_t i = 0, n;

	while (i < clen) {
		if (occo__u8_get(chars, clen, i, &n) == cp)
			return 1;
		i += n;
	}
	return 0;
}

/* str.strip/lstrip/rstrip: chars NULL for whitespace. */
static struct tv str_strip(const char *s, size_t len, const char *chars, size_t clen, int left,
			   int right)
{
	size_t start = 0, end = len, i, n;

	if (left) {
		while (start < len) {
			uint32_t cp = occo__u8_get(s, len, start, &n);

			if (chars ? !in_chars(cp, chars, clen) : !occo__py_isspace(cp))
				break;
			start += n;
		}
	}
	if (right) {
		size_t keep = start;

		for (i = start; i < len; i += n) {
			uint32_t cp = occo__u8_get(s, len, i, &n);

			if (chars ? !in_chars(cp, chars, clen) : !occo__py_isspace(cp))
				keep = i + n;
		}
		end = keep;
	}
	return occo__tv_str(s + start, end - start);
}

/* str.replace(old, new, count) */
static int str_replace(struct tvctx *c, const char *s, size_t len, const char *old, size_t olen,
		       const char *new, size_t nlen, json_int_t count, struct tv *out)
{
	struct occo_buf b;
	size_t i = 0, n;
	json_int_t done = 0;

	occo__tv_buf(c, &b);
	if (olen == 0) {
		/* "abc".replace("", "-") == "-a-b-c-" */
		for (;;) {
			if ((count < 0 || done < count) && occo_buf_append(&b, new, nlen, NULL) < 0)
				goto big;
			done++;
			if (i >= len)
				break;
			occo__u8_get(s, len, i, &n);
			if (occo_buf_append(&b, s + i, n, NULL) < 0)
				goto big;
			i += n;
		}
		*out = occo__tv_from_buf(c, &b);
		return 0;
	}
	while (i < len) {
		const char *hit =
			(count < 0 || done < count) ? memmem(s + i, len - i, old, olen) : NULL;

		if (!hit) {
			if (occo_buf_append(&b, s + i, len - i, NULL) < 0)
				goto big;
			break;
		}
		if (occo_buf_append(&b, s + i, (size_t)(hit - (s + i)), NULL) < 0 ||
		    occo_buf_append(&b, new, nlen, NULL) < 0)
			goto big;
		i = (size_t)(hit - s) + olen;
		done++;
	}
	*out = occo__tv_from_buf(c, &b);
	return 0;
big:
	occo_buf_release(&b);
	return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
			     c->max_value);
}

/* The length of the line break at s[i] for str.splitlines, 0 if none. */
static size_t line_break_at(const char *s, size_t len, size_t i)
{
	size_t n;
	uint32_t cp = occo__u8_get(s, len, i, &n);

	if (cp == '\r' && i + 1 < len && s[i + 1] == '\n')
		return 2;
	if (cp == '\n' || cp == '\r' || cp == 0x0b || cp == 0x0c || cp == 0x1c || cp == 0x1d ||
	    cp == 0x1e || cp == 0x85 || cp == 0x2028 || cp == 0x2029)
		return n;
	return 0;
}

/* str.splitlines(keepends) as an array. */
static json_t *str_splitlines(const char *s, size_t len, int keepends)
{
	json_t *arr = json_array();
	size_t i = 0, start = 0, n, br;

	while (i < len) {
		br = line_break_at(s, len, i);
		if (br) {
			json_array_append_new(
				arr,
				json_stringn_nocheck(s + start, i - start + (keepends ? br : 0)));
			i += br;
			start = i;
			continue;
		}
		occo__u8_get(s, len, i, &n);
		i += n;
	}
	if (start < len)
		json_array_append_new(arr, json_stringn_nocheck(s + start, len - start));
	return arr;
}

/* The start of the character before byte offset i (valid UTF-8, i > 0). */
static size_t prev_start(const char *s, size_t i)
{
	do
		i--;
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80);
	return i;
}

/* str.split(sep, maxsplit) / rsplit. */
static int str_split(struct tvctx *c, const char *s, size_t len, const struct tv *sep,
		     json_int_t maxsplit, int reverse, struct tv *out)
{
	json_t *arr = json_array();

	if (sep && sep->kind == TV_JSON && json_is_null(sep->j))
		sep = NULL;
	if (sep) {
		const char *p = sv(sep);
		size_t plen = sl(sep), i;
		json_int_t done = 0;

		if (plen == 0) {
			json_decref(arr);
			return occo__tv_fail(c, OCCO_EINVAL, "empty separator");
		}
		if (!reverse) {
			i = 0;
			for (;;) {
				const char *hit = (maxsplit < 0 || done < maxsplit)
							  ? memmem(s + i, len - i, p, plen)
							  : NULL;

				if (!hit) {
					json_array_append_new(arr,
							      json_stringn_nocheck(s + i, len - i));
					break;
				}
				json_array_append_new(
					arr, json_stringn_nocheck(s + i, (size_t)(hit - s) - i));
				i = (size_t)(hit - s) + plen;
				done++;
			}
		} else {
			size_t end = len;

			for (;;) {
				const char *hit = NULL;

				if (maxsplit < 0 || done < maxsplit) {
					for (size_t k = end; k >= plen; k--) {
						if (!memcmp(s + k - plen, p, plen)) {
							hit = s + k - plen;
							break;
						}
					}
				}
				if (!hit) {
					json_array_insert_new(arr, 0, json_stringn_nocheck(s, end));
					break;
				}
				json_array_insert_new(
					arr, 0,
					json_stringn_nocheck(hit + plen,
							     end - (size_t)(hit - s) - plen));
				end = (size_t)(hit - s);
				done++;
			}
		}
	} else if (!reverse) {
		/* Python's split_whitespace: the rest after maxsplit keeps its trailing space */
		json_int_t left = maxsplit < 0 ? INT64_MAX : maxsplit;
		size_t i = 0, j, n;

		while (left-- > 0) {
			while (i < len && occo__py_isspace(occo__u8_get(s, len, i, &n)))
				i += n;
			if (i >= len)
				break;
			j = i;
			while (i < len && !occo__py_isspace(occo__u8_get(s, len, i, &n)))
				i += n;
			json_array_append_new(arr, json_stringn_nocheck(s + j, i - j));
		}
		while (i < len && occo__py_isspace(occo__u8_get(s, len, i, &n)))
			i += n;
		if (i < len)
			json_array_append_new(arr, json_stringn_nocheck(s + i, len - i));
	} else {
		/* rsplit_whitespace, from the end: i is the end of the part not yet split */
		json_int_t left = maxsplit < 0 ? INT64_MAX : maxsplit;
		size_t i = len, j, n;

		while (left-- > 0) {
			while (i > 0 &&
			       occo__py_isspace(occo__u8_get(s, len, prev_start(s, i), &n)))
				i = prev_start(s, i);
			if (i == 0)
				break;
			j = i;
			while (i > 0 &&
			       !occo__py_isspace(occo__u8_get(s, len, prev_start(s, i), &n)))
				i = prev_start(s, i);
			json_array_insert_new(arr, 0, json_stringn_nocheck(s + i, j - i));
		}
		while (i > 0 && occo__py_isspace(occo__u8_get(s, len, prev_start(s, i), &n)))
			i = prev_start(s, i);
		if (i > 0)
			json_array_insert_new(arr, 0, json_stringn_nocheck(s, i));
	}
	*out = occo__tv_take(arr);
	return 0;
}

/* ---- indexing and slicing ----------------------------------------------------------------- */

int occo__tv_index(struct tvctx *c, const struct tv *v, json_int_t i, struct tv *out, int *found)
{
	json_t *arr;
	int tuples, rc;
	size_t n;

	*found = 0;
	if (occo__tv_is_str(v)) {
		const char *s = sv(v);
		size_t len = sl(v), k = 0, cl;
		json_int_t count = (json_int_t)occo__u8_count(s, len);

		if (i < 0)
			i += count;
		if (i < 0 || i >= count)
			return 0;
		for (json_int_t x = 0;; x++) {
			occo__u8_get(s, len, k, &cl);
			if (x == i)
				break;
			k += cl;
		}
		*out = occo__tv_str(s + k, cl);
		*found = 1;
		return 0;
	}
	rc = occo__tv_iter(c, v, &arr, &tuples);
	if (rc < 0)
		return rc;
	n = json_array_size(arr);
	if (i < 0)
		i += (json_int_t)n;
	if (i >= 0 && (size_t)i < n) {
		*out = occo__tv_elem(arr, (size_t)i, tuples || v->kind == TV_VIEW);
		if (v->flags & TVF_TUPLES && json_is_array(out->j))
			out->kind = TV_TUPLE;
		*found = 1;
	}
	json_decref(arr);
	return 0;
}

static int slice_bound(struct tvctx *c, const struct tv *v, int *has, json_int_t *out)
{
	*has = 0;
	if (!v || (v->kind == TV_JSON && json_is_null(v->j)))
		return 0;
	if (!occo__tv_is_int(v)) {
		if (v->kind == TV_UNDEF)
			return occo__tv_undef_fail(c, v);
		return occo__tv_fail(c, OCCO_EINVAL,
				     "slice indices must be integers or None or have an __index__ "
				     "method");
	}
	*has = 1;
	*out = json_is_integer(v->j) ? json_integer_value(v->j) : json_is_true(v->j);
	return 0;
}

int occo__tv_slice(struct tvctx *c, const struct tv *v, const struct tv *start,
		   const struct tv *stop, const struct tv *step, struct tv *out)
{
	json_int_t b, e, st = 1, len;
	int hb, he, hs, tuples = 0, rc;
	json_t *arr = NULL, *res;
	const char *s = NULL;
	size_t *offs = NULL;

	if ((rc = slice_bound(c, start, &hb, &b)) < 0 || (rc = slice_bound(c, stop, &he, &e)) < 0 ||
	    (rc = slice_bound(c, step, &hs, &st)) < 0)
		return rc;
	if (!hs)
		st = 1;
	if (st == 0)
		return occo__tv_fail(c, OCCO_EINVAL, "slice step cannot be zero");
	if (occo__tv_is_str(v)) {
		size_t slen = sl(v), i, n, k = 0;

		s = sv(v);
		len = (json_int_t)occo__u8_count(s, slen);
		offs = occo_calloc((size_t)len + 1, sizeof(*offs));
		for (i = 0; i < slen; i += n) {
			occo__u8_get(s, slen, i, &n);
			offs[k++] = i;
		}
		offs[k] = slen;
	} else if (v->kind == TV_VIEW && v->sub == VIEW_RANGE) {
		size_t rl;

		rc = occo__tv_len(c, v, &rl);
		if (rc < 0)
			return rc;
		len = (json_int_t)rl;
	} else if (occo__tv_is_seq(v)) {
		rc = occo__tv_iter(c, v, &arr, &tuples);
		if (rc < 0)
			return rc;
		len = (json_int_t)json_array_size(arr);
	} else {
		return occo__tv_fail(c, OCCO_EINVAL, "'%s' object is not subscriptable",
				     occo__tv_typename(v));
	}
	/* PySlice_AdjustIndices */
	if (!hb)
		b = st < 0 ? len - 1 : 0;
	else if (b < 0) {
		b += len;
		if (b < 0)
			b = st < 0 ? -1 : 0;
	} else if (b >= len)
		b = st < 0 ? len - 1 : len;
	if (!he)
		e = st < 0 ? -1 : len;
	else if (e < 0) {
		e += len;
		if (e < 0)
			e = st < 0 ? -1 : 0;
	} else if (e >= len)
		e = st < 0 ? len - 1 : len;
	if (s) {
		struct occo_buf buf;

		occo_buf_init(&buf, (size_t)-2);
		for (json_int_t i = b; st > 0 ? i < e : i > e; i += st)
			occo_buf_append(&buf, s + offs[i], offs[i + 1] - offs[i], NULL);
		free(offs);
		*out = occo__tv_from_buf(c, &buf);
		return 0;
	}
	if (!arr) {
		/* range(a, b, s)[i:j:k] == range(a + i*s, a + j*s, s*k) */
		json_int_t rs = json_integer_value(json_array_get(v->j, 0));
		json_int_t rst = json_integer_value(json_array_get(v->j, 2));
		json_int_t x, y, z;
		json_t *r;

		if (__builtin_mul_overflow(b, rst, &x) || __builtin_add_overflow(rs, x, &x) ||
		    __builtin_mul_overflow(e, rst, &y) || __builtin_add_overflow(rs, y, &y) ||
		    __builtin_mul_overflow(rst, st, &z))
			return occo__tv_fail(c, OCCO_EINVAL,
					     "integer overflow (integers are 64-bit here)");
		r = json_array();
		json_array_append_new(r, json_integer(x));
		json_array_append_new(r, json_integer(y));
		json_array_append_new(r, json_integer(z));
		*out = (struct tv){ TV_VIEW, 0, VIEW_RANGE, r, NULL, NULL };
		return 0;
	}
	res = json_array();
	for (json_int_t i = b; st > 0 ? i < e : i > e; i += st)
		json_array_append(res, json_array_get(arr, (size_t)i));
	json_decref(arr);
	*out = list_take(res, tuples);
	if (v->kind == TV_TUPLE)
		out->kind = TV_TUPLE;
	return 0;
}

/* ---- attribute getters of filters (make_attrgetter) --------------------------------------- */

static struct tv lower_if_str(struct tvctx *c, struct tv v)
{
	if (occo__tv_is_str(&v)) {
		struct tv l = str_case(c, sv(&v), sl(&v), CASE_LOWER);

		occo__tv_release(&v);
		return l;
	}
	return v;
}

/* item.a.b.0 for attribute "a.b.0" (digits are indexes); attr NULL: the item itself. */
static int attr_get(struct tvctx *c, const struct tv *item, const char *attr, int ignore_case,
		    struct tv *out)
{
	struct tv cur = occo__tv_dup(item), next, key;
	const char *p = attr;

	while (p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		int digits = n > 0;
		int rc;

		for (size_t i = 0; i < n; i++)
			if (p[i] < '0' || p[i] > '9')
				digits = 0;
		key = digits ? occo__tv_int(strtoll(p, NULL, 10)) : occo__tv_str(p, n);
		rc = occo__tv_getitem(c, &cur, &key, &next);
		occo__tv_release(&key);
		occo__tv_release(&cur);
		if (rc < 0)
			return rc;
		cur = next;
		p = dot ? dot + 1 : NULL;
	}
	*out = ignore_case ? lower_if_str(c, cur) : cur;
	return 0;
}

/* The attribute argument of a filter: a string, or a non-negative integer (an index). */
static const char *attr_arg(struct tvctx *c, const struct tv *v, char *buf, size_t n, int *rc)
{
	*rc = 0;
	if (!v || (v->kind == TV_JSON && json_is_null(v->j)))
		return NULL;
	if (occo__tv_is_str(v))
		return sv(v);
	if (v->kind == TV_JSON && json_is_integer(v->j) && json_integer_value(v->j) >= 0) {
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v->j));
		return buf;
	}
	*rc = occo__tv_fail(c, OCCO_ENOTSUP, "only string or index attributes are supported here");
	return NULL;
}

/* ---- sorting ------------------------------------------------------------------------------ */

struct sort_item {
	struct tv key; /* a tuple of keys (sort by "a,b") or one key */
	size_t idx;
};

struct sorter {
	struct tvctx *c;
	int reverse;
	int failed;
	int eq_first; /* sort compares [key] lists: equal keys (even undefined) are not ordered */
};

static int key_cmp(struct sorter *st, const struct sort_item *x, const struct sort_item *y)
{
	int res = 0;

	if (st->failed)
		return 0;
	if (st->eq_first && occo__tv_eq(&x->key, &y->key))
		return 0;
	if (occo__tv_cmp(st->c, &x->key, &y->key, &res) < 0) {
		st->failed = 1;
		return 0;
	}
	if (res == 2)
		res = 0;
	return st->reverse ? -res : res;
}

/* A stable merge sort (Python's sort is stable, also with reverse=True). */
static void merge_sort(struct sorter *st, struct sort_item *v, struct sort_item *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(st, v, tmp, mid);
	merge_sort(st, v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = key_cmp(st, &v[j], &v[i]) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

/*
 * The keys of the items of arr: attr may list several attributes separated by commas (then
 * the key is a tuple).
 */
static int make_keys(struct tvctx *c, json_t *arr, int tuples, const char *attr, int ignore_case,
		     int multi, struct sort_item *items)
{
	size_t n = json_array_size(arr);
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples);

		items[i].idx = i;
		items[i].key = TV_UNDEFINED;
		if (multi && attr && strchr(attr, ',')) {
			json_t *t = json_array();
			char *copy = occo_strdup(attr), *save = NULL, *part;

			for (part = strtok_r(copy, ",", &save); part && rc == 0;
			     part = strtok_r(NULL, ",", &save)) {
				struct tv k;
				json_t *j;

				rc = attr_get(c, &e, part, ignore_case, &k);
				if (rc == 0) {
					rc = occo__tv_to_json(c, &k, &j);
					occo__tv_release(&k);
				}
				if (rc == 0)
					json_array_append_new(t, j);
			}
			free(copy);
			items[i].key = (struct tv){ TV_TUPLE, 0, 0, t, NULL, NULL };
		} else {
			rc = attr_get(c, &e, attr, ignore_case, &items[i].key);
		}
		occo__tv_release(&e);
		if (rc < 0) {
			for (size_t k = 0; k <= i; k++)
				occo__tv_release(&items[k].key);
			return rc;
		}
	}
	return 0;
}

/* make_keys() for every item of arr, into a new array; on failure arr is released too. */
static int keys_of(struct tvctx *c, json_t *arr, int tuples, const char *attr, int ignore_case,
		   int multi, struct sort_item **out)
{
	struct sort_item *keys = occo_calloc(json_array_size(arr) + 1, sizeof(*keys));
	int rc = make_keys(c, arr, tuples, attr, ignore_case, multi, keys);

	if (rc < 0) {
		free(keys);
		json_decref(arr);
		return rc;
	}
	*out = keys;
	return 0;
}

static void keys_release(struct sort_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		occo__tv_release(&items[i].key);
	free(items);
}

/*
 * Sort the items of `arr` by their keys (stable) and hand out the sorted list. Takes keys and
 * arr.
 */
static int sorted_take(struct tvctx *c, struct sorter *st, struct sort_item *keys, json_t *arr,
		       size_t n, int tuples, struct tv *out)
{
	struct sort_item *tmp = occo_calloc(n + 1, sizeof(*tmp));
	json_t *res;

	merge_sort(st, keys, tmp, n);
	free(tmp);
	res = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(res, json_array_get(arr, keys[i].idx));
	keys_release(keys, n);
	json_decref(arr);
	if (st->failed) {
		json_decref(res);
		return -(c->err->code ? c->err->code : OCCO_EINVAL);
	}
	*out = list_take(res, tuples);
	return 0;
}

/* ---- filters ------------------------------------------------------------------------------ */

typedef int (*filter_fn)(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out);

static int f_abs(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	int rc = no_args(c, "abs", a);

	if (rc < 0)
		return rc;
	if (!occo__tv_is_num(v))
		return occo__tv_fail(c, OCCO_EINVAL, "bad operand type for abs(): '%s'",
				     occo__tv_typename(v));
	if (json_is_real(v->j)) {
		*out = occo__tv_real(fabs(json_real_value(v->j)));
		return 0;
	}
	if (json_is_integer(v->j) && json_integer_value(v->j) < 0)
		return occo__tv_neg(c, v, 1, out);
	*out = occo__tv_int(json_is_integer(v->j) ? json_integer_value(v->j) : json_is_true(v->j));
	return 0;
}

static int f_case(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out, int how,
		  const char *fname)
{
	struct tv s;
	int rc = no_args(c, fname, a);

	if (rc < 0 || (rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	*out = str_case(c, sv(&s), sl(&s), how);
	occo__tv_release(&s);
	return 0;
}

static int f_upper(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return f_case(c, v, a, out, CASE_UPPER, "upper");
}

static int f_lower(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return f_case(c, v, a, out, CASE_LOWER, "lower");
}

static int f_capitalize(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return f_case(c, v, a, out, CASE_CAPITALIZE, "capitalize");
}

static int f_title(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return f_case(c, v, a, out, CASE_TITLE_FILTER, "title");
}

static int f_center(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("center", "width");
	struct tv s;
	json_int_t width = 80, len, marg, left;
	struct occo_buf b;
	int rc;

	if (arg[0] && (rc = want_int(c, "center", arg[0], &width)) < 0)
		return rc;
	if ((rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	len = (json_int_t)occo__u8_count(sv(&s), sl(&s));
	if (width <= len) {
		*out = s;
		return 0;
	}
	if ((size_t)width > c->max_value) {
		occo__tv_release(&s);
		return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
				     c->max_value);
	}
	marg = width - len;
	left = marg / 2 + (marg & width & 1);
	occo_buf_init(&b, (size_t)-2);
	for (json_int_t i = 0; i < left; i++)
		occo_buf_append(&b, " ", 1, NULL);
	occo_buf_append(&b, sv(&s), sl(&s), NULL);
	for (json_int_t i = 0; i < marg - left; i++)
		occo_buf_append(&b, " ", 1, NULL);
	occo__tv_release(&s);
	*out = occo__tv_from_buf(c, &b);
	return 0;
}

static int f_default(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("default", "default_value", "boolean");

	if (v->kind == TV_UNDEF || (truth_arg(arg[1], 0) && !occo__tv_truth(v))) {
		*out = arg[0] ? occo__tv_dup(arg[0]) : occo__tv_str("", 0);
		return 0;
	}
	*out = occo__tv_dup(v);
	return 0;
}

static int f_dictsort(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("dictsort", "case_sensitive", "by", "reverse");
	struct sorter st = { c, truth_arg(arg[2], 0), 0, 0 };
	json_int_t rev;
	struct tv items = { TV_VIEW, 0, VIEW_ITEMS, v->j, NULL, NULL };
	struct sort_item *keys;
	const char *by = "0";
	json_t *arr;
	int tuples, rc;
	size_t n;

	if (arg[2] && (rc = want_int(c, "dictsort", arg[2], &rev)) < 0)
		return rc;
	if (!occo__tv_is_dict(v)) {
		if (v->kind == TV_UNDEF)
			return occo__tv_undef_fail(c, v);
		return occo__tv_fail(c, OCCO_EINVAL,
				     "dictsort: '%s' object has no attribute 'items'",
				     occo__tv_typename(v));
	}
	if (arg[1]) {
		if (occo__tv_is_str(arg[1]) && !strcmp(sv(arg[1]), "key"))
			by = "0";
		else if (occo__tv_is_str(arg[1]) && !strcmp(sv(arg[1]), "value"))
			by = "1";
		else
			return occo__tv_fail(c, OCCO_EINVAL,
					     "you can only sort by either \"key\" or \"value\"");
	}
	rc = occo__tv_iter(c, &items, &arr, &tuples);
	if (rc < 0)
		return rc;
	n = json_array_size(arr);
	if ((rc = keys_of(c, arr, 1, by, !truth_arg(arg[0], 0), 0, &keys)) < 0)
		return rc;
	return sorted_take(c, &st, keys, arr, n, 1, out);
}

static int f_escape(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	struct occo_buf b;
	struct tv s;
	int rc = no_args(c, "escape", a);

	if (rc < 0)
		return rc;
	if (v->flags & TVF_MARKUP) {
		*out = occo__tv_dup(v);
		return 0;
	}
	if ((rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	occo__tv_buf(c, &b);
	rc = occo__html_escape(&b, sv(&s), sl(&s));
	occo__tv_release(&s);
	if (rc < 0) {
		occo_buf_release(&b);
		return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
				     c->max_value);
	}
	*out = occo__tv_from_buf(c, &b);
	out->flags |= TVF_MARKUP;
	return 0;
}

static int f_safe(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	int rc = no_args(c, "safe", a);

	if (rc < 0 || (rc = occo__tv_to_str(c, v, out)) < 0)
		return rc;
	out->flags |= TVF_MARKUP;
	return 0;
}

static int f_string(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	int rc = no_args(c, "string", a);

	return rc < 0 ? rc : occo__tv_to_str(c, v, out);
}

static int f_first(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	json_t *arr;
	int tuples, rc = no_args(c, "first", a);

	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	if (json_array_size(arr))
		*out = occo__tv_elem(arr, 0, tuples);
	else
		*out = (struct tv){
			TV_UNDEF, 0, UNDEF_HINT, NULL, "No first item, sequence was empty.", NULL
		};
	json_decref(arr);
	return 0;
}

static int f_last(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	json_t *arr;
	int tuples, rc = no_args(c, "last", a);
	size_t n;

	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	n = json_array_size(arr);
	if (n)
		*out = occo__tv_elem(arr, n - 1, tuples);
	else
		*out = (struct tv){
			TV_UNDEF, 0, UNDEF_HINT, NULL, "No last item, sequence was empty.", NULL
		};
	json_decref(arr);
	return 0;
}

/* Python's float(str): 1 and *out on success, 0 if it is no float. */
static int parse_py_float(const char *s, size_t len, double *out)
{
	size_t i = 0, e = len, n, k = 0;
	char *buf;
	int digits = 0, ok = 1;

	while (i < len && occo__py_isspace(occo__u8_get(s, len, i, &n)))
		i += n;
	while (e > i) {
		size_t j = i, last = i;

		while (j < e) {
			occo__u8_get(s, e, j, &n);
			last = j;
			j += n;
		}
		if (!occo__py_isspace(occo__u8_get(s, e, last, &n)))
			break;
		e = last;
	}
	if (i >= e)
		return 0;
	buf = occo_malloc(e - i + 1);
	{
		size_t j = i;
		const char *w;

		if (s[j] == '+' || s[j] == '-')
			buf[k++] = s[j++];
		w = s + j;
		if ((e - j == 3 && !strncasecmp(w, "inf", 3)) ||
		    (e - j == 8 && !strncasecmp(w, "infinity", 8)) ||
		    (e - j == 3 && !strncasecmp(w, "nan", 3))) {
			memcpy(buf + k, w, e - j);
			buf[k + e - j] = '\0';
			*out = occo__strtod(buf, NULL);
			free(buf);
			return 1;
		}
		/* digits with single underscores between digits, '.', exponent */
		{
			int state = 0; /* 0 int part, 1 fraction, 2 exponent */
			int prev_digit = 0, exp_digits = 0;

			for (; j < e && ok; j++) {
				char ch = s[j];

				if (ch >= '0' && ch <= '9') {
					buf[k++] = ch;
					prev_digit = 1;
					if (state < 2)
						digits = 1;
					else
						exp_digits = 1;
				} else if (ch == '_') {
					if (!prev_digit || j + 1 >= e || s[j + 1] < '0' ||
					    s[j + 1] > '9')
						ok = 0;
					prev_digit = 0;
				} else if (ch == '.' && state == 0) {
					buf[k++] = ch;
					state = 1;
					prev_digit = 0;
				} else if ((ch == 'e' || ch == 'E') && state < 2 && digits) {
					buf[k++] = ch;
					state = 2;
					prev_digit = 0;
					if (j + 1 < e && (s[j + 1] == '+' || s[j + 1] == '-'))
						buf[k++] = s[++j];
				} else {
					ok = 0;
				}
			}
			if (state == 2 && !exp_digits)
				ok = 0;
		}
	}
	buf[k] = '\0';
	if (ok && digits)
		*out = occo__strtod(buf, NULL);
	free(buf);
	return ok && digits;
}

/* Python's int(str, base): 1 and *out on success, 0 if invalid, -1 on overflow. */
static int parse_py_int(const char *s, size_t len, int base, json_int_t *out)
{
	size_t i = 0, e = len, n;
	int neg = 0, any = 0, prev_digit = 0;
	unsigned long long v = 0;

	while (i < len && occo__py_isspace(occo__u8_get(s, len, i, &n)))
		i += n;
	while (e > i && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' ||
			 s[e - 1] == '\r' || s[e - 1] == '\v' || s[e - 1] == '\f'))
		e--;
	if (i < e && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (e - i >= 2 && s[i] == '0') {
		char p = (char)(s[i + 1] | 32);

		if ((p == 'x' && (base == 16 || base == 0)) ||
		    (p == 'o' && (base == 8 || base == 0)) ||
		    (p == 'b' && (base == 2 || base == 0))) {
			base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
			i += 2;
			prev_digit = 1; /* "0x_1f" is valid */
		}
	}
	if (base == 0)
		base = 10;
	for (; i < e; i++) {
		int d;
		char ch = s[i];

		if (ch == '_') {
			if (!prev_digit || i + 1 >= e)
				return 0;
			prev_digit = 0;
			continue;
		}
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if ((ch | 32) >= 'a' && (ch | 32) <= 'z')
			d = (ch | 32) - 'a' + 10;
		else
			return 0;
		if (d >= base)
			return 0;
		if (__builtin_mul_overflow(v, (unsigned long long)base, &v) ||
		    __builtin_add_overflow(v, (unsigned long long)d, &v))
			return -1;
		any = 1;
		prev_digit = 1;
	}
	if (!any)
		return 0;
	if (v > (unsigned long long)INT64_MAX + (neg ? 1 : 0))
		return -1;
	*out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
	return 1;
}

static int float_to_int(struct tvctx *c, double d, struct tv *out)
{
	if (isinf(d))
		return occo__tv_fail(c, OCCO_EINVAL, "cannot convert float infinity to integer");
	if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		return occo__tv_fail(c, OCCO_EINVAL, "integer overflow (integers are 64-bit here)");
	*out = occo__tv_int((json_int_t)d);
	return 0;
}

static int f_int(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("int", "default", "base");
	json_int_t base = 10, iv;
	double d;
	int rc;

	if (arg[1] && (rc = want_int(c, "int", arg[1], &base)) < 0)
		return rc;
	if (v->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, v);
	if (occo__tv_is_str(v)) {
		if (base != 0 && (base < 2 || base > 36))
			return occo__tv_fail(c, OCCO_EINVAL,
					     "int() base must be >= 2 and <= 36, or 0");
		rc = parse_py_int(sv(v), sl(v), (int)base, &iv);
		if (rc < 0)
			return occo__tv_fail(c, OCCO_EINVAL,
					     "integer overflow (integers are 64-bit here)");
		if (rc > 0) {
			*out = occo__tv_int(iv);
			return 0;
		}
		if (parse_py_float(sv(v), sl(v), &d)) {
			if (isnan(d))
				goto dflt;
			return float_to_int(c, d, out);
		}
		goto dflt;
	}
	if (occo__tv_is_num(v)) {
		if (json_is_real(v->j)) {
			if (isnan(json_real_value(v->j)))
				goto dflt;
			return float_to_int(c, json_real_value(v->j), out);
		}
		*out = occo__tv_int(json_is_integer(v->j) ? json_integer_value(v->j)
							  : json_is_true(v->j));
		return 0;
	}
dflt:
	*out = arg[0] ? occo__tv_dup(arg[0]) : occo__tv_int(0);
	return 0;
}

static int f_float(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("float", "default");
	double d;

	if (v->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, v);
	if (occo__tv_is_num(v)) {
		*out = occo__tv_real(json_is_real(v->j)
					     ? json_real_value(v->j)
					     : (double)(json_is_integer(v->j)
								? json_integer_value(v->j)
								: json_is_true(v->j)));
		return 0;
	}
	if (occo__tv_is_str(v) && parse_py_float(sv(v), sl(v), &d))
		return occo__tv_real_checked(c, d, out);
	*out = arg[0] ? occo__tv_dup(arg[0]) : occo__tv_real(0.0);
	return 0;
}

static int f_indent(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("indent", "width", "first", "blank");
	struct occo_buf ind, b;
	json_t *lines;
	int rc, blank = truth_arg(arg[2], 0);
	size_t n;

	if (!occo__tv_is_str(v)) {
		if (v->kind == TV_UNDEF)
			return occo__tv_undef_fail(c, v);
		return occo__tv_fail(c, OCCO_EINVAL,
				     "unsupported operand type(s) for +=: '%s' and 'str'",
				     occo__tv_typename(v));
	}
	occo_buf_init(&ind, c->max_value);
	if (arg[0] && occo__tv_is_str(arg[0])) {
		occo_buf_append(&ind, sv(arg[0]), sl(arg[0]), NULL);
	} else {
		json_int_t w = 4;

		if (arg[0] && (rc = want_int(c, "indent", arg[0], &w)) < 0)
			return rc;
		for (json_int_t i = 0; i < w; i++)
			if (occo_buf_append(&ind, " ", 1, NULL) < 0) {
				occo_buf_release(&ind);
				return occo__tv_fail(c, OCCO_ETOOBIG, "indent too wide");
			}
	}
	{
		/* s += "\n"; lines = s.splitlines() */
		struct occo_buf s2;

		occo_buf_init(&s2, (size_t)-2);
		occo_buf_append(&s2, sv(v), sl(v), NULL);
		occo_buf_append(&s2, "\n", 1, NULL);
		lines = str_splitlines(occo_buf_str(&s2), s2.len, 0);
		occo_buf_release(&s2);
	}
	n = json_array_size(lines);
	occo__tv_buf(c, &b);
	rc = 0;
	if (truth_arg(arg[1], 0))
		rc |= occo_buf_append(&b, occo_buf_str(&ind), ind.len, NULL);
	for (size_t i = 0; i < n; i++) {
		json_t *l = json_array_get(lines, i);

		if (i > 0) {
			rc |= occo_buf_append(&b, "\n", 1, NULL);
			if (blank || json_string_length(l))
				rc |= occo_buf_append(&b, occo_buf_str(&ind), ind.len, NULL);
		}
		rc |= occo_buf_append(&b, json_string_value(l), json_string_length(l), NULL);
	}
	json_decref(lines);
	occo_buf_release(&ind);
	if (rc < 0) {
		occo_buf_release(&b);
		return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
				     c->max_value);
	}
	*out = occo__tv_from_buf(c, &b);
	out->flags = v->flags & TVF_MARKUP;
	return 0;
}

static int f_items(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	struct tv view = { TV_VIEW, 0, VIEW_ITEMS, v->j, NULL, NULL };
	json_t *arr;
	int tuples, rc = no_args(c, "items", a);

	if (rc < 0)
		return rc;
	if (v->kind == TV_UNDEF) {
		*out = occo__tv_take(json_array());
		return 0;
	}
	if (!occo__tv_is_dict(v))
		return occo__tv_fail(c, OCCO_EINVAL, "can only get item pairs from a mapping");
	rc = occo__tv_iter(c, &view, &arr, &tuples);
	if (rc == 0)
		*out = list_take(arr, 1);
	return rc;
}

static int f_join(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("join", "d", "attribute");
	struct occo_buf b;
	json_t *arr;
	struct tv d = TV_UNDEFINED;
	const char *attr;
	char abuf[32];
	int tuples, rc;

	attr = attr_arg(c, arg[1], abuf, sizeof(abuf), &rc);
	if (rc == 0)
		rc = arg[0] ? occo__tv_to_str(c, arg[0], &d) : (d = occo__tv_str("", 0), 0);
	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0) {
		occo__tv_release(&d);
		return rc;
	}
	occo__tv_buf(c, &b);
	for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples), x;

		if (i)
			rc = occo__tv_write_str(c, &d, &b);
		if (rc == 0 && attr) {
			rc = attr_get(c, &e, attr, 0, &x);
			if (rc == 0) {
				rc = occo__tv_write_str(c, &x, &b);
				occo__tv_release(&x);
			}
		} else if (rc == 0) {
			rc = occo__tv_write_str(c, &e, &b);
		}
		occo__tv_release(&e);
	}
	json_decref(arr);
	occo__tv_release(&d);
	if (rc < 0) {
		occo_buf_release(&b);
		return rc;
	}
	*out = occo__tv_from_buf(c, &b);
	return 0;
}

static int f_length(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	size_t n;
	int rc = no_args(c, "length", a);

	if (rc < 0 || (rc = occo__tv_len(c, v, &n)) < 0)
		return rc;
	*out = occo__tv_int((json_int_t)n);
	return 0;
}

static int f_list(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	json_t *arr;
	int tuples, rc = no_args(c, "list", a);

	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	*out = list_take(json_copy(arr), tuples);
	json_decref(arr);
	return 0;
}

static int minmax(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out, int max)
{
	BIND(max ? "max" : "min", "case_sensitive", "attribute");
	struct sort_item *keys;
	struct sorter st = { c, 0, 0, 0 };
	const char *attr;
	char abuf[32];
	json_t *arr;
	int tuples, rc;
	size_t n, best = 0;

	attr = attr_arg(c, arg[1], abuf, sizeof(abuf), &rc);
	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	n = json_array_size(arr);
	if (!n) {
		json_decref(arr);
		*out = (struct tv){
			TV_UNDEF, 0, UNDEF_HINT, NULL, "No aggregated item, sequence was empty.",
			NULL
		};
		return 0;
	}
	keys = occo_calloc(n, sizeof(*keys));
	rc = make_keys(c, arr, tuples, attr, !truth_arg(arg[0], 0), 0, keys);
	if (rc < 0) {
		free(keys);
		json_decref(arr);
		return rc;
	}
	for (size_t i = 1; i < n && !st.failed; i++) {
		int r = key_cmp(&st, &keys[i], &keys[best]);

		if (max ? r > 0 : r < 0)
			best = i;
	}
	keys_release(keys, n);
	if (!st.failed)
		*out = occo__tv_elem(arr, best, tuples);
	json_decref(arr);
	return st.failed ? -(c->err->code ? c->err->code : OCCO_EINVAL) : 0;
}

static int f_max(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return minmax(c, v, a, out, 1);
}

static int f_min(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return minmax(c, v, a, out, 0);
}

static int f_replace(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("replace", "old", "new", "count");
	struct tv s, o = TV_UNDEFINED, nw = TV_UNDEFINED;
	json_int_t count = -1;
	int rc;

	if (!arg[0] || !arg[1])
		return occo__tv_fail(c, OCCO_EINVAL, "replace() missing required arguments");
	if (arg[2] && !(arg[2]->kind == TV_JSON && json_is_null(arg[2]->j)) &&
	    (rc = want_int(c, "replace", arg[2], &count)) < 0)
		return rc;
	if ((rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	if ((rc = occo__tv_to_str(c, arg[0], &o)) == 0 &&
	    (rc = occo__tv_to_str(c, arg[1], &nw)) == 0)
		rc = str_replace(c, sv(&s), sl(&s), sv(&o), sl(&o), sv(&nw), sl(&nw), count, out);
	occo__tv_release(&s);
	occo__tv_release(&o);
	occo__tv_release(&nw);
	return rc;
}

static int f_reverse(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	json_t *arr, *res;
	int tuples, rc = no_args(c, "reverse", a);

	if (rc < 0)
		return rc;
	if (occo__tv_is_str(v)) {
		struct tv none = occo__tv_none(), step = occo__tv_int(-1);

		rc = occo__tv_slice(c, v, &none, &none, &step, out);
		occo__tv_release(&none);
		occo__tv_release(&step);
		return rc;
	}
	if (v->kind == TV_JSON && !json_is_array(v->j) && !json_is_object(v->j))
		return occo__tv_fail(c, OCCO_EINVAL, "argument must be iterable");
	if ((rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	res = json_array();
	for (size_t i = json_array_size(arr); i-- > 0;)
		json_array_append(res, json_array_get(arr, i));
	json_decref(arr);
	*out = list_take(res, tuples);
	return 0;
}

/* round(x, nd) for floats, correctly rounded as Python does (half to even on the exact value). */
static double py_round(double x, json_int_t nd)
{
	char buf[512];

	if (!isfinite(x) || nd > 300)
		return x;
	if (nd >= 0) {
		snprintf(buf, sizeof(buf), "%.*f", (int)nd, x);
		return occo__strtod(buf, NULL);
	}
	if (nd < -308)
		return copysign(0.0, x);
	{
		/* round the exact decimal expansion at 10**-nd, half to even */
		char *dot, *p;
		size_t intlen, pos;
		int up = 0, neg = x < 0;

		snprintf(buf, sizeof(buf) - 2, "%.60f", fabs(x));
		dot = strchr(buf, '.');
		if (!dot)
			dot = buf + strlen(buf);
		intlen = (size_t)(dot - buf);
		if ((json_int_t)intlen < -nd)
			return copysign(0.0, x);
		pos = intlen - (size_t)-nd; /* first digit dropped */
		{
			int first = buf[pos] - '0', rest = 0;

			for (p = buf + pos + 1; *p; p++)
				if (*p >= '1' && *p <= '9')
					rest = 1;
			if (first > 5 || (first == 5 && rest))
				up = 1;
			else if (first == 5)
				up = pos > 0 && (buf[pos - 1] - '0') % 2 == 1;
		}
		for (size_t i = pos; i < intlen; i++)
			buf[i] = '0';
		buf[intlen] = '\0';
		if (up) {
			size_t i = pos;

			while (i > 0) {
				if (buf[i - 1] == '9') {
					buf[i - 1] = '0';
					i--;
				} else {
					buf[i - 1]++;
					break;
				}
			}
			if (i == 0) {
				memmove(buf + 1, buf, strlen(buf) + 1);
				buf[0] = '1';
			}
		}
		return neg ? -occo__strtod(buf, NULL) : occo__strtod(buf, NULL);
	}
}

static int int_pow_10(json_int_t e, json_int_t *out)
{
	json_int_t r = 1;

	for (json_int_t i = 0; i < e; i++)
		if (__builtin_mul_overflow(r, 10, &r))
			return -1;
	*out = r;
	return 0;
}

static int f_round(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("round", "precision", "method");
	json_int_t prec = 0;
	const char *method = "common";
	int rc;

	if (arg[1]) {
		method = occo__tv_is_str(arg[1]) ? sv(arg[1]) : "?";
	}
	if (strcmp(method, "common") && strcmp(method, "ceil") && strcmp(method, "floor"))
		return occo__tv_fail(c, OCCO_EINVAL, "method must be common, ceil or floor");
	if (arg[0] && (rc = want_int(c, "round", arg[0], &prec)) < 0)
		return rc;
	if (!occo__tv_is_num(v)) {
		if (v->kind == TV_UNDEF && !strcmp(method, "common"))
			return occo__tv_fail(c, OCCO_EINVAL,
					     "type Undefined doesn't define __round__ method");
		if (v->kind == TV_UNDEF)
			return occo__tv_undef_fail(c, v);
		return occo__tv_fail(c, OCCO_EINVAL, "type %s doesn't define __round__ method",
				     occo__tv_typename(v));
	}
	if (!strcmp(method, "common")) {
		if (!json_is_real(v->j)) {
			json_int_t x = json_is_integer(v->j) ? json_integer_value(v->j)
							     : json_is_true(v->j);

			if (prec < 0) {
				/* round(int, -n): to a multiple of 10**n, half to even */
				json_int_t p10 = 1, q, r;

				for (json_int_t i = 0; i < -prec; i++) {
					if (__builtin_mul_overflow(p10, 10, &p10)) {
						*out = occo__tv_int(0);
						return 0;
					}
				}
				q = x / p10;
				r = x % p10;
				if (r < 0) {
					r += p10;
					q--;
				}
				if (r * 2 > p10 || (r * 2 == p10 && (q & 1)))
					q++;
				if (__builtin_mul_overflow(q, p10, &x))
					return occo__tv_fail(c, OCCO_EINVAL, "integer overflow");
			}
			*out = occo__tv_int(x);
			return 0;
		}
		*out = occo__tv_real(py_round(json_real_value(v->j), prec));
		return 0;
	}
	{
		/* math.ceil(value * 10**precision) / 10**precision */
		double x = json_is_real(v->j)
				   ? json_real_value(v->j)
				   : (double)(json_is_integer(v->j) ? json_integer_value(v->j)
								    : json_is_true(v->j));
		double p10 = pow(10, (double)prec), y = x * p10;

		if (!json_is_real(v->j) && prec >= 0) {
			json_int_t ip, iy;
			struct tv r;

			if (int_pow_10(prec, &ip) < 0 ||
			    __builtin_mul_overflow(json_is_integer(v->j)
							   ? json_integer_value(v->j)
							   : (json_int_t)json_is_true(v->j),
						   ip, &iy))
				return occo__tv_fail(c, OCCO_EINVAL, "integer overflow");
			r = occo__tv_real((double)iy / (double)ip);
			*out = r;
			return 0;
		}
		if (!isfinite(y))
			return occo__tv_fail(c, OCCO_EINVAL, "cannot convert float %s to integer",
					     isnan(y) ? "NaN" : "infinity");
		y = !strcmp(method, "ceil") ? ceil(y) : floor(y);
		if (p10 == 0)
			return occo__tv_fail(c, OCCO_EINVAL, "float division by zero");
		return occo__tv_real_checked(c, y / p10, out);
	}
}

static int f_sort(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("sort", "reverse", "case_sensitive", "attribute");
	struct sorter st = { c, truth_arg(arg[0], 0), 0, 1 };
	struct sort_item *keys;
	const char *attr;
	char abuf[32];
	json_t *arr;
	json_int_t rev;
	int tuples, rc;
	size_t n;

	/* sorted(reverse=...) takes an integer */
	if (arg[0] && (rc = want_int(c, "sort", arg[0], &rev)) < 0)
		return rc;

	attr = attr_arg(c, arg[2], abuf, sizeof(abuf), &rc);
	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	n = json_array_size(arr);
	if ((rc = keys_of(c, arr, tuples, attr, !truth_arg(arg[1], 0), 1, &keys)) < 0)
		return rc;
	return sorted_take(c, &st, keys, arr, n, tuples, out);
}

static int f_unique(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("unique", "case_sensitive", "attribute");
	struct sort_item *keys;
	const char *attr;
	char abuf[32];
	json_t *arr, *res;
	int tuples, rc;
	size_t n;

	attr = attr_arg(c, arg[1], abuf, sizeof(abuf), &rc);
	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	n = json_array_size(arr);
	if ((rc = keys_of(c, arr, tuples, attr, !truth_arg(arg[0], 0), 0, &keys)) < 0)
		return rc;
	res = json_array();
	for (size_t i = 0; i < n; i++) {
		int seen = 0;

		if (keys[i].key.kind == TV_JSON &&
		    (json_is_array(keys[i].key.j) || json_is_object(keys[i].key.j))) {
			rc = occo__tv_fail(c, OCCO_EINVAL, "unhashable type: '%s'",
					   occo__tv_typename(&keys[i].key));
			break;
		}
		for (size_t k = 0; k < i && !seen; k++)
			seen = occo__tv_eq(&keys[k].key, &keys[i].key);
		if (!seen)
			json_array_append(res, json_array_get(arr, i));
	}
	keys_release(keys, n);
	json_decref(arr);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = list_take(res, tuples);
	return 0;
}

static int f_sum(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("sum", "attribute", "start");
	struct tv acc = arg[1] ? occo__tv_dup(arg[1]) : occo__tv_int(0), x, next;
	const char *attr;
	char abuf[32];
	json_t *arr;
	int tuples, rc;

	attr = attr_arg(c, arg[0], abuf, sizeof(abuf), &rc);
	if (rc < 0 || (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0) {
		occo__tv_release(&acc);
		return rc;
	}
	if (occo__tv_is_str(&acc)) {
		json_decref(arr);
		occo__tv_release(&acc);
		return occo__tv_fail(c, OCCO_EINVAL,
				     "sum() can't sum strings [use ''.join(seq) instead]");
	}
	for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples);

		rc = attr_get(c, &e, attr, 0, &x);
		occo__tv_release(&e);
		if (rc < 0)
			break;
		rc = occo__tv_binop(c, OP_ADD, &acc, &x, &next);
		occo__tv_release(&x);
		if (rc == 0) {
			occo__tv_release(&acc);
			acc = next;
		}
	}
	json_decref(arr);
	if (rc < 0) {
		occo__tv_release(&acc);
		return rc;
	}
	*out = acc;
	return 0;
}

static int f_tojson(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("tojson", "indent");
	json_int_t indent = -1;
	struct occo_buf b;
	int rc;

	if (arg[0] && !(arg[0]->kind == TV_JSON && json_is_null(arg[0]->j)) &&
	    (rc = want_int(c, "tojson", arg[0], &indent)) < 0)
		return rc;
	if (indent > 64)
		indent = 64;
	occo__tv_buf(c, &b);
	rc = occo__tv_tojson(c, v, indent < 0 ? -1 : (int)indent, &b);
	if (rc < 0) {
		occo_buf_release(&b);
		return rc;
	}
	*out = occo__tv_from_buf(c, &b);
	out->flags |= TVF_MARKUP;
	return 0;
}

static int f_trim(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("trim", "chars");
	struct tv s;
	int rc;

	if (arg[0] && !(arg[0]->kind == TV_JSON && json_is_null(arg[0]->j)) &&
	    (rc = want_str(c, "strip arg", arg[0])) < 0)
		return rc;
	if ((rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	if (arg[0] && occo__tv_is_str(arg[0]))
		*out = str_strip(sv(&s), sl(&s), sv(arg[0]), sl(arg[0]), 1, 1);
	else
		*out = str_strip(sv(&s), sl(&s), NULL, 0, 1, 1);
	occo__tv_release(&s);
	return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int f_b64encode(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	struct occo_buf b;
	struct tv s;
	const unsigned char *p;
	size_t n, i;
	int rc = no_args(c, "b64encode", a);

	if (rc < 0 || (rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	p = (const unsigned char *)sv(&s);
	n = sl(&s);
	occo__tv_buf(c, &b);
	for (i = 0; i < n && rc == 0; i += 3) {
		unsigned x = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		char q[4] = { b64chars[(x >> 18) & 63], b64chars[(x >> 12) & 63],
			      i + 1 < n ? b64chars[(x >> 6) & 63] : '=',
			      i + 2 < n ? b64chars[x & 63] : '=' };

		rc = occo_buf_append(&b, q, 4, NULL);
	}
	occo__tv_release(&s);
	if (rc < 0) {
		occo_buf_release(&b);
		return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
				     c->max_value);
	}
	*out = occo__tv_from_buf(c, &b);
	return 0;
}

static size_t utf8_bad(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char ch = (unsigned char)s[i];
		size_t n = ch < 0x80		 ? 1
			   : (ch & 0xe0) == 0xc0 ? 2
			   : (ch & 0xf0) == 0xe0 ? 3
			   : (ch & 0xf8) == 0xf0 ? 4
						 : 0;
		uint32_t cp;

		if (!n || i + n > len)
			return 1;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return 1;
		cp = occo__u8_get(s, len, i, &n);
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 1;
		i += n;
	}
	return 0;
}

static int f_b64decode(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	struct occo_buf b;
	struct tv s;
	const char *p;
	size_t n, i;
	int rc = no_args(c, "b64decode", a);

	if (rc < 0 || (rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	p = sv(&s);
	n = sl(&s);
	occo_buf_init(&b, (size_t)-2);
	if (n % 4)
		goto bad;
	for (i = 0; i < n; i += 4) {
		int d[4], pad = 0;
		unsigned x = 0;

		for (int k = 0; k < 4; k++) {
			const char *q = p[i + k] ? strchr(b64chars, p[i + k]) : NULL;

			if (p[i + k] == '=' && i + 4 == n && k >= 2) {
				d[k] = 0;
				pad++;
			} else if (q && !pad) {
				d[k] = (int)(q - b64chars);
			} else {
				goto bad;
			}
			x = x << 6 | (unsigned)d[k];
		}
		{
			char o[3] = { (char)(x >> 16), (char)(x >> 8), (char)x };

			occo_buf_append(&b, o, (size_t)(3 - pad), NULL);
		}
	}
	if (utf8_bad(occo_buf_str(&b), b.len))
		goto bad;
	occo__tv_release(&s);
	*out = occo__tv_from_buf(c, &b);
	return 0;
bad:
	occo_buf_release(&b);
	occo__tv_release(&s);
	return occo__tv_fail(c, OCCO_EINVAL, "b64decode: invalid base64 or not UTF-8 text");
}

static int f_format(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	struct tv s, args;
	int rc;

	if (a->npos && a->nkw)
		return occo__tv_fail(
			c, OCCO_EINVAL,
			"can't handle positional and keyword arguments at the same time");
	if ((rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	if (a->nkw) {
		json_t *d = json_object(), *x;

		for (size_t i = 0; i < a->nkw && rc == 0; i++) {
			rc = occo__tv_to_json(c, &a->kw[i], &x);
			if (rc == 0)
				json_object_set_new(d, a->kwname[i], x);
		}
		args = occo__tv_take(d);
	} else {
		json_t *t = json_array(), *x;

		for (size_t i = 0; i < a->npos && rc == 0; i++) {
			rc = occo__tv_to_json(c, &a->pos[i], &x);
			if (rc == 0)
				json_array_append_new(t, x);
		}
		args = (struct tv){ TV_TUPLE, 0, 0, t, NULL, NULL };
	}
	if (rc == 0)
		rc = occo__str_percent(c, &s, &args, out);
	occo__tv_release(&args);
	occo__tv_release(&s);
	return rc;
}

static int f_truncate(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("truncate", "length", "killwords", "end", "leeway");
	json_int_t length = 255, leeway = 5, len, endlen;
	struct tv end = arg[2] ? occo__tv_dup(arg[2]) : occo__tv_str("...", 3), head, none, stop;
	struct occo_buf b;
	size_t n;
	int rc = 0;

	if ((arg[0] && (rc = want_int(c, "truncate", arg[0], &length)) < 0) ||
	    (arg[3] && !(arg[3]->kind == TV_JSON && json_is_null(arg[3]->j)) &&
	     (rc = want_int(c, "truncate", arg[3], &leeway)) < 0) ||
	    (rc = want_str(c, "truncate end", &end)) < 0 || (rc = occo__tv_len(c, v, &n)) < 0)
		goto out;
	endlen = (json_int_t)occo__u8_count(sv(&end), sl(&end));
	if (length < endlen || leeway < 0) {
		rc = occo__tv_fail(c, OCCO_EINVAL, "truncate: bad length or leeway");
		goto out;
	}
	len = (json_int_t)n;
	if (len <= length + leeway) {
		*out = occo__tv_dup(v);
		goto out;
	}
	if ((rc = want_str(c, "truncate", v)) < 0)
		goto out;
	none = occo__tv_none();
	stop = occo__tv_int(length - endlen);
	rc = occo__tv_slice(c, v, &none, &stop, NULL, &head);
	occo__tv_release(&stop);
	occo__tv_release(&none);
	if (rc < 0)
		goto out;
	occo__tv_buf(c, &b);
	if (truth_arg(arg[1], 0)) {
		occo_buf_append(&b, sv(&head), sl(&head), NULL);
	} else {
		/* s[:length - len(end)].rsplit(" ", 1)[0] */
		const char *h = sv(&head);
		size_t hl = sl(&head), cut = hl;

		for (size_t k = hl; k > 0; k--)
			if (h[k - 1] == ' ') {
				cut = k - 1;
				break;
			}
		occo_buf_append(&b, h, cut, NULL);
	}
	occo_buf_append(&b, sv(&end), sl(&end), NULL);
	occo__tv_release(&head);
	*out = occo__tv_from_buf(c, &b);
out:
	occo__tv_release(&end);
	return rc;
}

static int f_wordcount(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	struct tv s;
	size_t i = 0, n;
	json_int_t words = 0;
	int in = 0, rc = no_args(c, "wordcount", a);

	if (rc < 0 || (rc = occo__tv_to_str(c, v, &s)) < 0)
		return rc;
	while (i < sl(&s)) {
		uint32_t cp = occo__u8_get(sv(&s), sl(&s), i, &n);
		int w = cp == '_' || occo__py_isalpha(cp) || occo__py_isdigit(cp);

		if (w && !in)
			words++;
		in = w;
		i += n;
	}
	occo__tv_release(&s);
	*out = occo__tv_int(words);
	return 0;
}

static int f_batch(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("batch", "linecount", "fill_with");
	json_int_t count;
	json_t *arr, *res, *cur = NULL, *x;
	int tuples, rc;

	if (!arg[0])
		return occo__tv_fail(c, OCCO_EINVAL,
				     "batch() missing required argument 'linecount'");
	if ((rc = want_int(c, "batch", arg[0], &count)) < 0 ||
	    (rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	res = json_array();
	cur = json_array();
	for (size_t i = 0; i < json_array_size(arr); i++) {
		if ((json_int_t)json_array_size(cur) == count) {
			json_array_append_new(res, cur);
			cur = json_array();
		}
		json_array_append(cur, json_array_get(arr, i));
	}
	json_decref(arr);
	if (!json_array_size(cur)) {
		json_decref(cur);
		cur = NULL;
	}
	if (cur) {
		if (arg[1] && !(arg[1]->kind == TV_JSON && json_is_null(arg[1]->j))) {
			rc = occo__tv_to_json(c, arg[1], &x);
			while (rc == 0 && (json_int_t)json_array_size(cur) < count)
				json_array_append(cur, x);
			if (rc == 0)
				json_decref(x);
		}
		json_array_append_new(res, cur);
	}
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = occo__tv_take(res);
	return 0;
}

/* select/reject (test on the item) and selectattr/rejectattr (test on an attribute). */
static int select_common(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out,
			 int attr_mode, int want)
{
	const char *attr = NULL, *test = NULL;
	struct targs targs = { 0 };
	size_t first = 0;
	json_t *arr, *res;
	int tuples, rc, tidx = -1;

	if (a->nkw)
		return occo__tv_fail(c, OCCO_EINVAL, "keyword arguments are not supported here");
	if (attr_mode) {
		if (a->npos < 1 || !occo__tv_is_str(&a->pos[0]))
			return occo__tv_fail(c, OCCO_EINVAL, "missing attribute name");
		attr = sv(&a->pos[0]);
		first = 1;
	}
	if (a->npos > first) {
		if (!occo__tv_is_str(&a->pos[first]))
			return occo__tv_fail(c, OCCO_EINVAL, "the test name must be a string");
		test = sv(&a->pos[first]);
		tidx = occo__test_find(test);
		targs.pos = a->pos + first + 1;
		targs.npos = a->npos - first - 1;
	}
	if ((rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	res = json_array();
	for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples), x;
		int ok = 0;

		rc = test && tidx < 0 ? occo__tv_fail(c, OCCO_EINVAL, "no test named '%s'", test)
				      : attr_get(c, &e, attr, 0, &x);
		if (rc == 0) {
			if (tidx >= 0)
				rc = occo__test_call(c, tidx, &x, &targs, &ok);
			else
				ok = occo__tv_truth(&x);
			occo__tv_release(&x);
		}
		if (rc == 0 && ok == want)
			json_array_append(res, json_array_get(arr, i));
		occo__tv_release(&e);
	}
	json_decref(arr);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = list_take(res, tuples);
	return 0;
}

static int f_select(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return select_common(c, v, a, out, 0, 1);
}

static int f_reject(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return select_common(c, v, a, out, 0, 0);
}

static int f_selectattr(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return select_common(c, v, a, out, 1, 1);
}

static int f_rejectattr(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	return select_common(c, v, a, out, 1, 0);
}

static int f_map(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	json_t *arr, *res, *j;
	int tuples, rc, fidx = -1;
	const char *attr = NULL;
	const struct tv *dflt = NULL;
	struct targs fargs = { 0 };

	if (!a->npos) {
		for (size_t i = 0; i < a->nkw; i++) {
			if (!strcmp(a->kwname[i], "attribute") && occo__tv_is_str(&a->kw[i]))
				attr = sv(&a->kw[i]);
			else if (!strcmp(a->kwname[i], "default"))
				dflt = &a->kw[i];
			else
				return occo__tv_fail(c, OCCO_EINVAL,
						     "map: unexpected argument '%s'", a->kwname[i]);
		}
		if (!attr)
			return occo__tv_fail(c, OCCO_EINVAL, "map requires a filter argument");
	} else {
		if (!occo__tv_is_str(&a->pos[0]))
			return occo__tv_fail(c, OCCO_EINVAL,
					     "map: the filter name must be a string");
		fidx = occo__filter_find(sv(&a->pos[0]));
		fargs = *a;
		fargs.pos++;
		fargs.npos--;
	}
	if ((rc = occo__tv_iter(c, v, &arr, &tuples)) < 0)
		return rc;
	res = json_array();
	for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples), x;

		if (!attr && fidx < 0)
			rc = occo__tv_fail(c, OCCO_EINVAL, "no filter named '%s'", sv(&a->pos[0]));
		else if (!attr)
			rc = occo__filter_call(c, fidx, &e, &fargs, &x);
		else
			rc = attr_get(c, &e, attr, 0, &x);
		if (rc < 0) {
			occo__tv_release(&e);
			break;
		}
		occo__tv_release(&e);
		if (x.kind == TV_UNDEF && dflt) {
			occo__tv_release(&x);
			x = occo__tv_dup(dflt);
		}
		rc = occo__tv_to_json(c, &x, &j);
		occo__tv_release(&x);
		if (rc == 0)
			json_array_append_new(res, j);
	}
	json_decref(arr);
	if (rc < 0) {
		json_decref(res);
		return rc;
	}
	*out = occo__tv_take(res);
	return 0;
}

/* attr(name): the attribute only, never the item (methods are the attributes here) */
static int f_attr(struct tvctx *c, struct tv *v, struct targs *a, struct tv *out)
{
	BIND("attr", "name");
	const char *m;

	if (!arg[0] || !occo__tv_is_str(arg[0]))
		return occo__tv_fail(c, OCCO_EINVAL, "attr() needs an attribute name");
	if (v->kind == TV_LOOP)
		return occo__loop_attr(c, v->p, sv(arg[0]), out);
	if (v->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, v);
	m = occo__method_name(v, sv(arg[0]));
	if (m)
		*out = (struct tv){ TV_METHOD,
				    v->kind == TV_VIEW ? (unsigned)v->sub : 0,
				    (int)v->kind,
				    json_incref(v->j),
				    m,
				    NULL };
	else
		*out = (struct tv){ TV_UNDEF, 0, UNDEF_HINT, NULL, "no such attribute", NULL };
	return 0;
}

static const struct {
	const char *name;
	filter_fn fn;
} filters[] = {
	{ "abs", f_abs },
	{ "attr", f_attr },
	{ "b64decode", f_b64decode },
	{ "b64encode", f_b64encode },
	{ "batch", f_batch },
	{ "capitalize", f_capitalize },
	{ "center", f_center },
	{ "count", f_length },
	{ "d", f_default },
	{ "default", f_default },
	{ "dictsort", f_dictsort },
	{ "e", f_escape },
	{ "escape", f_escape },
	{ "first", f_first },
	{ "float", f_float },
	{ "format", f_format },
	{ "indent", f_indent },
	{ "int", f_int },
	{ "items", f_items },
	{ "join", f_join },
	{ "last", f_last },
	{ "length", f_length },
	{ "list", f_list },
	{ "lower", f_lower },
	{ "map", f_map },
	{ "max", f_max },
	{ "min", f_min },
	{ "reject", f_reject },
	{ "rejectattr", f_rejectattr },
	{ "replace", f_replace },
	{ "reverse", f_reverse },
	{ "round", f_round },
	{ "safe", f_safe },
	{ "select", f_select },
	{ "selectattr", f_selectattr },
	{ "sort", f_sort },
	{ "string", f_string },
	{ "sum", f_sum },
	{ "title", f_title },
	{ "tojson", f_tojson },
	{ "trim", f_trim },
	{ "truncate", f_truncate },
	{ "unique", f_unique },
	{ "upper", f_upper },
	{ "wordcount", f_wordcount },
};

int occo__filter_find(const char *name)
{
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (!strcmp(filters[i].name, name))
			return (int)i;
	return -1;
}

int occo__filter_call(struct tvctx *c, int idx, struct tv *v, struct targs *a, struct tv *out)
{
	return filters[idx].fn(c, v, a, out);
}

/* ---- tests -------------------------------------------------------------------------------- */

enum {
	T_DEFINED,
	T_UNDEFINED,
	T_NONE,
	T_BOOLEAN,
	T_FALSE,
	T_TRUE,
	T_INTEGER,
	T_FLOAT,
	T_NUMBER,
	T_STRING,
	T_MAPPING,
	T_SEQUENCE,
	T_ITERABLE,
	T_CALLABLE,
	T_SAMEAS,
	T_ESCAPED,
	T_LOWER,
	T_UPPER,
	T_ODD,
	T_EVEN,
	T_DIVISIBLEBY,
	T_IN,
	T_EQ,
	T_NE,
	T_GT,
	T_GE,
	T_LT,
	T_LE,
	T_FILTER,
	T_TEST
};

static const struct {
	const char *name;
	int id;
	int nargs;
} tests[] = {
	{ "defined", T_DEFINED, 0 },
	{ "undefined", T_UNDEFINED, 0 },
	{ "none", T_NONE, 0 },
	{ "boolean", T_BOOLEAN, 0 },
	{ "false", T_FALSE, 0 },
	{ "true", T_TRUE, 0 },
	{ "integer", T_INTEGER, 0 },
	{ "float", T_FLOAT, 0 },
	{ "number", T_NUMBER, 0 },
	{ "string", T_STRING, 0 },
	{ "mapping", T_MAPPING, 0 },
	{ "sequence", T_SEQUENCE, 0 },
	{ "iterable", T_ITERABLE, 0 },
	{ "callable", T_CALLABLE, 0 },
	{ "sameas", T_SAMEAS, 1 },
	{ "escaped", T_ESCAPED, 0 },
	{ "lower", T_LOWER, 0 },
	{ "upper", T_UPPER, 0 },
	{ "odd", T_ODD, 0 },
	{ "even", T_EVEN, 0 },
	{ "divisibleby", T_DIVISIBLEBY, 1 },
	{ "in", T_IN, 1 },
	{ "==", T_EQ, 1 },
	{ "eq", T_EQ, 1 },
	{ "equalto", T_EQ, 1 },
	{ "!=", T_NE, 1 },
	{ "ne", T_NE, 1 },
	{ ">", T_GT, 1 },
	{ "gt", T_GT, 1 },
	{ "greaterthan", T_GT, 1 },
	{ ">=", T_GE, 1 },
	{ "ge", T_GE, 1 },
	{ "<", T_LT, 1 },
	{ "lt", T_LT, 1 },
	{ "lessthan", T_LT, 1 },
	{ "<=", T_LE, 1 },
	{ "le", T_LE, 1 },
	{ "filter", T_FILTER, 0 },
	{ "test", T_TEST, 0 },
};

int occo__test_find(const char *name)
{
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (!strcmp(tests[i].name, name))
			return (int)i;
	return -1;
}

/* value % num == want (odd, even, divisibleby) */
static int mod_test(struct tvctx *c, struct tv *v, struct tv *num, json_int_t want, int *res)
{
	struct tv r, w = occo__tv_int(want);
	int rc = occo__tv_binop(c, OP_MOD, v, num, &r);

	if (rc == 0) {
		*res = occo__tv_eq(&r, &w);
		occo__tv_release(&r);
	}
	occo__tv_release(&w);
	return rc;
}

static int str_case_test(struct tvctx *c, struct tv *v, int upper, int *res)
{
	struct tv s;
	size_t i = 0, n;
	int cased = 0, ok = 1, rc = occo__tv_to_str(c, v, &s);

	if (rc < 0)
		return rc;
	while (i < sl(&s)) {
		uint32_t cp = occo__u8_get(sv(&s), sl(&s), i, &n);

		if (occo__py_iscased_upper(cp)) {
			cased = 1;
			if (!upper)
				ok = 0;
		} else if (occo__py_iscased_lower(cp)) {
			cased = 1;
			if (upper)
				ok = 0;
		}
		i += n;
	}
	occo__tv_release(&s);
	*res = cased && ok;
	return 0;
}

int occo__test_call(struct tvctx *c, int idx, struct tv *v, struct targs *a, int *res)
{
	int id = tests[idx].id, rc, x;
	struct tv *arg = a->npos ? &a->pos[0] : a->nkw ? &a->kw[0] : NULL;
	struct tv two;

	if ((size_t)tests[idx].nargs != a->npos + a->nkw)
		return occo__tv_fail(c, OCCO_EINVAL, "test '%s' takes %d argument%s",
				     tests[idx].name, tests[idx].nargs,
				     tests[idx].nargs == 1 ? "" : "s");
	*res = 0;
	switch (id) {
	case T_DEFINED:
		*res = v->kind != TV_UNDEF;
		return 0;
	case T_UNDEFINED:
		*res = v->kind == TV_UNDEF;
		return 0;
	case T_NONE:
		*res = v->kind == TV_JSON && json_is_null(v->j);
		return 0;
	case T_BOOLEAN:
		*res = v->kind == TV_JSON && json_is_boolean(v->j);
		return 0;
	case T_FALSE:
		*res = v->kind == TV_JSON && json_is_false(v->j);
		return 0;
	case T_TRUE:
		*res = v->kind == TV_JSON && json_is_true(v->j);
		return 0;
	case T_INTEGER:
		*res = v->kind == TV_JSON && json_is_integer(v->j);
		return 0;
	case T_FLOAT:
		*res = v->kind == TV_JSON && json_is_real(v->j);
		return 0;
	case T_NUMBER:
		*res = occo__tv_is_num(v);
		return 0;
	case T_STRING:
		*res = occo__tv_is_str(v);
		return 0;
	case T_MAPPING:
		*res = occo__tv_is_dict(v);
		return 0;
	case T_SEQUENCE:
		*res = v->kind == TV_UNDEF || v->kind == TV_TUPLE ||
		       (v->kind == TV_VIEW && v->sub == VIEW_RANGE) ||
		       (v->kind == TV_JSON &&
			(json_is_string(v->j) || json_is_array(v->j) || json_is_object(v->j)));
		return 0;
	case T_ITERABLE:
		*res = v->kind == TV_UNDEF || v->kind == TV_TUPLE || v->kind == TV_VIEW ||
		       v->kind == TV_LOOP ||
		       (v->kind == TV_JSON &&
			(json_is_string(v->j) || json_is_array(v->j) || json_is_object(v->j)));
		return 0;
	case T_CALLABLE:
		*res = v->kind == TV_FUNC || v->kind == TV_METHOD;
		return 0;
	case T_SAMEAS:
		if (v->kind == TV_JSON && arg->kind == TV_JSON &&
		    (json_is_null(v->j) || json_is_boolean(v->j)))
			*res = json_typeof(v->j) == json_typeof(arg->j);
		else
			*res = v->kind == arg->kind && v->j == arg->j && v->p == arg->p &&
			       (v->j || v->p);
		return 0;
	case T_ESCAPED:
		*res = (v->flags & TVF_MARKUP) != 0;
		return 0;
	case T_LOWER:
	case T_UPPER:
		return str_case_test(c, v, id == T_UPPER, res);
	case T_ODD:
	case T_EVEN:
		two = occo__tv_int(2);
		rc = mod_test(c, v, &two, id == T_ODD, res);
		occo__tv_release(&two);
		return rc;
	case T_DIVISIBLEBY:
		return mod_test(c, v, arg, 0, res);
	case T_IN:
		return occo__tv_contains(c, arg, v, res);
	case T_EQ:
		*res = occo__tv_eq(v, arg);
		return 0;
	case T_NE:
		*res = !occo__tv_eq(v, arg);
		return 0;
	case T_FILTER:
	case T_TEST:
		*res = occo__tv_is_str(v) &&
		       (id == T_FILTER ? occo__filter_find(sv(v)) : occo__test_find(sv(v))) >= 0;
		return 0;
	default:
		rc = occo__tv_cmp(c, v, arg, &x);
		if (rc < 0)
			return rc;
		*res = x != 2 && (id == T_GT   ? x > 0
				  : id == T_GE ? x >= 0
				  : id == T_LT ? x < 0
					       : x <= 0);
		return 0;
	}
}

/* ---- number and string formatting (str % args, str.format) -------------------------------- */

/* Append `body` padded to `width` code points with fill, aligned as align ('<', '>', '^', '='). */
static int pad_out(struct tvctx *c, struct occo_buf *b, const char *prefix, const char *body,
		   size_t blen, uint32_t fill, char align, json_int_t width)
{
	size_t plen = strlen(prefix);
	json_int_t len = (json_int_t)(occo__u8_count(prefix, plen) + occo__u8_count(body, blen));
	json_int_t pad = width > len ? width - len : 0, left = 0, right = 0;
	char f[4];
	size_t fl = occo__u8_put(fill, f);
	int rc = 0;

	if ((size_t)pad > c->max_value)
		return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
				     c->max_value);
	if (align == '<')
		right = pad;
	else if (align == '^') {
		left = pad / 2;
		right = pad - left;
	} else
		left = pad;
	if (align != '=')
		for (json_int_t i = 0; i < left && rc == 0; i++)
			rc = occo_buf_append(b, f, fl, NULL);
	if (rc == 0)
		rc = occo_buf_append(b, prefix, plen, NULL);
	if (align == '=')
		for (json_int_t i = 0; i < left && rc == 0; i++)
			rc = occo_buf_append(b, f, fl, NULL);
	if (rc == 0)
		rc = occo_buf_append(b, body, blen, NULL);
	for (json_int_t i = 0; i < right && rc == 0; i++)
		rc = occo_buf_append(b, f, fl, NULL);
	if (rc < 0)
		return occo__tv_fail(c, OCCO_ETOOBIG, "string exceeds the limit of %zu bytes",
				     c->max_value);
	return 0;
}

/* Digits of |v| in base (2, 8, 10, 16), upper for X. */
static void int_digits(json_int_t v, int base, int upper, char *out)
{
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	char tmp[80];
	int n = 0;
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		tmp[n++] = dig[u % (unsigned)base];
		u /= (unsigned)base;
	} while (u);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

/* Insert a separator every `every` digits of the integer part of s (in place, s large enough). */
static void group_digits(char *s, char sep, int every)
{
	size_t start = 0, end, len = strlen(s), n;
	char tmp[512];
	size_t k = 0;

	while (start < len && !(s[start] >= '0' && s[start] <= '9') &&
	       !(s[start] >= 'a' && s[start] <= 'f') && !(s[start] >= 'A' && s[start] <= 'F'))
		start++;
	end = start;
	while (end < len && ((s[end] >= '0' && s[end] <= '9') || (s[end] >= 'a' && s[end] <= 'f') ||
			     (s[end] >= 'A' && s[end] <= 'F')))
		end++;
	n = end - start;
	if (len + n / (size_t)every + 2 > sizeof(tmp))
		return;
	memcpy(tmp, s, start);
	k = start;
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % (size_t)every == 0)
			tmp[k++] = sep;
		tmp[k++] = s[start + i];
	}
	memcpy(tmp + k, s + end, len - end + 1);
	strcpy(s, tmp);
}

/*
 * Group the digits of body; with zero padding (format's "0" flag) the zeros are grouped too,
 * as Python does: format(12345, "08,d") == "0,012,345".
 */
static void group_padded(char *body, char group, int every, int zero_pad, json_int_t need)
{
	char raw[600], tmp[600];

	if (strlen(body) >= 400)
		return;
	strcpy(raw, body);
	for (;;) {
		strcpy(tmp, raw);
		group_digits(tmp, group, every);
		if (!zero_pad || need >= 400 || (json_int_t)strlen(tmp) >= need)
			break;
		memmove(raw + 1, raw, strlen(raw) + 1);
		raw[0] = '0';
	}
	strcpy(body, tmp);
}

/* printf of a double for conversion e/f/g (and upper case) with precision; no sign. */
static void float_body(double d, char conv, json_int_t prec, int alt, char *out, size_t n)
{
	d = fabs(d);
	if (isinf(d) || isnan(d)) {
		snprintf(out, n, "%s",
			 isinf(d) ? (conv >= 'a' ? "inf" : "INF") : (conv >= 'a' ? "nan" : "NAN"));
		return;
	}
	if (prec > 300)
		prec = 300;
	switch (conv) {
	case 'e':
		alt ? snprintf(out, n, "%#.*e", (int)prec, d)
		    : snprintf(out, n, "%.*e", (int)prec, d);
		break;
	case 'E':
		alt ? snprintf(out, n, "%#.*E", (int)prec, d)
		    : snprintf(out, n, "%.*E", (int)prec, d);
		break;
	case 'f':
	case 'F':
		alt ? snprintf(out, n, "%#.*f", (int)prec, d)
		    : snprintf(out, n, "%.*f", (int)prec, d);
		break;
	case 'G':
		alt ? snprintf(out, n, "%#.*G", (int)prec, d)
		    : snprintf(out, n, "%.*G", (int)prec, d);
		break;
	default:
		alt ? snprintf(out, n, "%#.*g", (int)prec, d)
		    : snprintf(out, n, "%.*g", (int)prec, d);
	}
}

static int str_char(struct tvctx *c, const struct tv *v, char *out, size_t *olen)
{
	if (occo__tv_is_str(v) && occo__u8_count(sv(v), sl(v)) == 1) {
		memcpy(out, sv(v), sl(v));
		*olen = sl(v);
		return 0;
	}
	if (occo__tv_is_int(v)) {
		json_int_t i =
			json_is_integer(v->j) ? json_integer_value(v->j) : json_is_true(v->j);

		if (i < 0 || i > 0x10ffff || (i >= 0xd800 && i <= 0xdfff))
			return occo__tv_fail(c, OCCO_EINVAL, "%%c arg not in range(0x110000)");
		*olen = occo__u8_put((uint32_t)i, out);
		return 0;
	}
	return occo__tv_fail(c, OCCO_EINVAL, "%%c requires int or char");
}

int occo__str_percent(struct tvctx *c, const struct tv *fmt, const struct tv *args, struct tv *out)
{
	const char *s = sv(fmt);
	size_t len = sl(fmt), i = 0;
	size_t argi = 0, nargs;
	int is_tuple = args->kind == TV_TUPLE;
	int mapping = !is_tuple &&
		      (occo__tv_is_dict(args) ||
		       (args->kind == TV_JSON && json_is_array(args->j)) || args->kind == TV_UNDEF);
	struct occo_buf b;
	int rc = 0, used_single = 0, markup = (fmt->flags & TVF_MARKUP) != 0;

	nargs = is_tuple ? json_array_size(args->j) : 1;
	occo__tv_buf(c, &b);
	while (i < len && rc == 0) {
		const char *pct = memchr(s + i, '%', len - i);
		int left = 0, plus = 0, space = 0, alt = 0, zero = 0;
		json_int_t width = -1, prec = -1;
		struct tv val = TV_UNDEFINED;
		char conv, body[512], prefix[8] = "";

		if (!pct) {
			rc = occo_buf_append(&b, s + i, len - i, NULL);
			break;
		}
		rc = occo_buf_append(&b, s + i, (size_t)(pct - (s + i)), NULL);
		i = (size_t)(pct - s) + 1;
		if (i < len && s[i] == '(') {
			size_t k = i + 1, depth = 1;

			while (k < len && depth) {
				if (s[k] == '(')
					depth++;
				else if (s[k] == ')')
					depth--;
				k++;
			}
			if (depth) {
				rc = occo__tv_fail(c, OCCO_EINVAL, "incomplete format key");
				break;
			}
			if (!occo__tv_is_dict(args)) {
				rc = occo__tv_fail(c, OCCO_EINVAL, "format requires a mapping");
				break;
			}
			{
				json_t *j = json_object_getn(args->j, s + i + 1, k - i - 2);

				if (!j) {
					rc = occo__tv_fail(c, OCCO_EINVAL, "KeyError: '%.*s'",
							   (int)(k - i - 2), s + i + 1);
					break;
				}
				val = occo__tv_ref(j);
			}
			i = k;
		}
		for (; i < len; i++) {
			if (s[i] == '-')
				left = 1;
			else if (s[i] == '+')
				plus = 1;
			else if (s[i] == ' ')
				space = 1;
			else if (s[i] == '#')
				alt = 1;
			else if (s[i] == '0')
				zero = 1;
			else
				break;
		}
		if (i < len && s[i] == '*') {
			rc = occo__tv_fail(c, OCCO_ENOTSUP, "* width is not supported");
			occo__tv_release(&val);
			break;
		}
		while (i < len && s[i] >= '0' && s[i] <= '9')
			width = (width < 0 ? 0 : width) * 10 + (s[i++] - '0');
		if (i < len && s[i] == '.') {
			prec = 0;
			i++;
			while (i < len && s[i] >= '0' && s[i] <= '9')
				prec = prec * 10 + (s[i++] - '0');
		}
		while (i < len && (s[i] == 'h' || s[i] == 'l' || s[i] == 'L'))
			i++;
		if (i >= len) {
			occo__tv_release(&val);
			rc = occo__tv_fail(c, OCCO_EINVAL, "incomplete format");
			break;
		}
		conv = s[i++];
		if (conv == '%') {
			occo__tv_release(&val);
			rc = occo_buf_append(&b, "%", 1, NULL);
			continue;
		}
		if (val.kind == TV_UNDEF && !val.name) {
			if (is_tuple) {
				if (argi >= nargs) {
					rc = occo__tv_fail(
						c, OCCO_EINVAL,
						"not enough arguments for format string");
					break;
				}
				val = occo__tv_elem(args->j, argi++, 0);
			} else {
				if (used_single) {
					rc = occo__tv_fail(
						c, OCCO_EINVAL,
						"not enough arguments for format string");
					break;
				}
				used_single = 1;
				val = occo__tv_dup(args);
			}
		}
		if (width > (json_int_t)c->max_value) {
			occo__tv_release(&val);
			rc = occo__tv_fail(c, OCCO_ETOOBIG, "format width too large");
			break;
		}
		switch (conv) {
		case 's':
		case 'r':
		case 'a': {
			struct occo_buf t;
			size_t tl;

			occo__tv_buf(c, &t);
			rc = conv == 's' ? occo__tv_write_str(c, &val, &t)
					 : occo__tv_write_repr(c, &val, &t);
			if (rc == 0 && markup && !(val.flags & TVF_MARKUP)) {
				/* Markup % args escapes the arguments */
				struct occo_buf e;

				occo__tv_buf(c, &e);
				if (occo__html_escape(&e, occo_buf_str(&t), t.len) < 0)
					rc = occo__tv_fail(c, OCCO_ETOOBIG, "string too long");
				occo_buf_release(&t);
				t = e;
			}
			if (rc == 0) {
				tl = t.len;
				if (prec >= 0) {
					size_t k = 0, n;
					json_int_t cnt = 0;

					while (k < tl && cnt < prec) {
						occo__u8_get(occo_buf_str(&t), tl, k, &n);
						k += n;
						cnt++;
					}
					tl = k;
				}
				rc = pad_out(c, &b, "", occo_buf_str(&t), tl, ' ', left ? '<' : '>',
					     width);
			}
			occo_buf_release(&t);
			break;
		}
		case 'c': {
			char ch[4];
			size_t cl;

			rc = str_char(c, &val, ch, &cl);
			if (rc == 0)
				rc = pad_out(c, &b, "", ch, cl, ' ', left ? '<' : '>', width);
			break;
		}
		case 'd':
		case 'i':
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			json_int_t iv;
			int neg;

			if (!occo__tv_is_num(&val)) {
				rc = val.kind == TV_UNDEF
					     ? occo__tv_undef_fail(c, &val)
					     : occo__tv_fail(
						       c, OCCO_EINVAL,
						       "%%%c format: a number is required, not %s",
						       conv, occo__tv_typename(&val));
				break;
			}
			if (json_is_real(val.j)) {
				double d = json_real_value(val.j);

				if (conv == 'x' || conv == 'X' || conv == 'o') {
					rc = occo__tv_fail(
						c, OCCO_EINVAL,
						"%%%c format: an integer is required, not float",
						conv);
					break;
				}
				if (!isfinite(d) || d >= 9223372036854775808.0 ||
				    d < -9223372036854775808.0) {
					rc = occo__tv_fail(c, OCCO_EINVAL,
							   "cannot convert float to integer");
					break;
				}
				iv = (json_int_t)d;
			} else {
				iv = json_is_integer(val.j) ? json_integer_value(val.j)
							    : json_is_true(val.j);
			}
			neg = iv < 0;
			int_digits(iv,
				   conv == 'o'			  ? 8
				   : (conv == 'x' || conv == 'X') ? 16
								  : 10,
				   conv == 'X', body);
			if (prec > 0 && (size_t)prec > strlen(body) && prec < 400) {
				size_t bl = strlen(body), padn = (size_t)prec - bl;

				memmove(body + padn, body, bl + 1);
				memset(body, '0', padn);
			}
			snprintf(prefix, sizeof(prefix), "%s%s",
				 neg	 ? "-"
				 : plus	 ? "+"
				 : space ? " "
					 : "",
				 !alt	       ? ""
				 : conv == 'o' ? "0o"
				 : conv == 'x' ? "0x"
				 : conv == 'X' ? "0X"
					       : "");
			rc = pad_out(c, &b, prefix, body, strlen(body), zero && !left ? '0' : ' ',
				     left   ? '<'
				     : zero ? '='
					    : '>',
				     width);
			break;
		}
		case 'e':
		case 'E':
		case 'f':
		case 'F':
		case 'g':
		case 'G': {
			double d;

			if (!occo__tv_is_num(&val)) {
				rc = val.kind == TV_UNDEF
					     ? occo__tv_undef_fail(c, &val)
					     : occo__tv_fail(c, OCCO_EINVAL,
							     "must be real number, not %s",
							     occo__tv_typename(&val));
				break;
			}
			d = json_is_real(val.j)
				    ? json_real_value(val.j)
				    : (double)(json_is_integer(val.j) ? json_integer_value(val.j)
								      : json_is_true(val.j));
			float_body(d, conv, prec < 0 ? 6 : prec, alt, body, sizeof(body));
			snprintf(prefix, sizeof(prefix), "%s",
				 signbit(d) && !isnan(d) ? "-"
				 : plus			 ? "+"
				 : space		 ? " "
							 : "");
			rc = pad_out(c, &b, prefix, body, strlen(body),
				     zero && !left && isfinite(d) ? '0' : ' ',
				     left		   ? '<'
				     : zero && isfinite(d) ? '='
							   : '>',
				     width);
			break;
		}
		default:
			rc = occo__tv_fail(c, OCCO_EINVAL,
					   "unsupported format character '%c' (0x%x)", conv, conv);
		}
		occo__tv_release(&val);
	}
	if (rc == 0 && ((is_tuple && argi < nargs) || (!is_tuple && !mapping && !used_single)))
		rc = occo__tv_fail(c, OCCO_EINVAL,
				   "not all arguments converted during string formatting");
	if (rc < 0) {
		occo_buf_release(&b);
		return rc < 0 && c->err->code ? -c->err->code
					      : occo__tv_fail(c, OCCO_ETOOBIG, "string too long");
	}
	*out = occo__tv_from_buf(c, &b);
	out->flags = markup ? TVF_MARKUP : 0;
	return 0;
}

/* format(value, spec) for str.format. */
static int format_value(struct tvctx *c, const struct tv *v, const char *spec, size_t slen,
			struct occo_buf *b)
{
	uint32_t fill = ' ';
	char align = 0, sign = '-', group = 0, type = 0, body[600], prefix[8] = "";
	int alt = 0, zero = 0;
	json_int_t width = -1, prec = -1;
	size_t i = 0, n;

	if (slen == 0)
		return occo__tv_write_str(c, v, b);
	if (slen >= 2) {
		uint32_t cp = occo__u8_get(spec, slen, 0, &n);

		if (n < slen && strchr("<>=^", spec[n])) {
			fill = cp;
			align = spec[n];
			i = n + 1;
		}
	}
	if (!align && strchr("<>=^", spec[0])) {
		align = spec[0];
		i = 1;
	}
	if (i < slen && strchr("+- ", spec[i]))
		sign = spec[i++];
	if (i < slen && spec[i] == 'z')
		i++;
	if (i < slen && spec[i] == '#') {
		alt = 1;
		i++;
	}
	if (i < slen && spec[i] == '0') {
		zero = 1;
		i++;
	}
	while (i < slen && spec[i] >= '0' && spec[i] <= '9') {
		width = (width < 0 ? 0 : width) * 10 + (spec[i++] - '0');
		if (width > (json_int_t)c->max_value)
			return occo__tv_fail(c, OCCO_ETOOBIG, "format width too large");
	}
	if (i < slen && (spec[i] == ',' || spec[i] == '_'))
		group = spec[i++];
	if (i < slen && spec[i] == '.') {
		i++;
		if (i >= slen || spec[i] < '0' || spec[i] > '9')
			return occo__tv_fail(c, OCCO_EINVAL, "format specifier missing precision");
		prec = 0;
		while (i < slen && spec[i] >= '0' && spec[i] <= '9')
			prec = prec * 10 + (spec[i++] - '0');
	}
	if (i < slen)
		type = spec[i++];
	if (i < slen || (type && !strchr("bcdeEfFgGnosxX%", type)))
		return occo__tv_fail(c, OCCO_EINVAL, "invalid format specifier");
	if (zero && !align) {
		fill = '0';
		align = '=';
	}
	if (occo__tv_is_str(v)) {
		size_t bl = sl(v);

		if (type && type != 's')
			return occo__tv_fail(c, OCCO_EINVAL,
					     "unknown format code '%c' for object of type 'str'",
					     type);
		if (sign != '-' || alt || group || align == '=')
			return occo__tv_fail(c, OCCO_EINVAL,
					     "invalid format specifier for a string");
		if (prec >= 0) {
			size_t k = 0;
			json_int_t cnt = 0;

			while (k < bl && cnt < prec) {
				occo__u8_get(sv(v), bl, k, &n);
				k += n;
				cnt++;
			}
			bl = k;
		}
		return pad_out(c, b, "", sv(v), bl, fill, align ? align : '<', width);
	}
	if (!occo__tv_is_num(v))
		return occo__tv_fail(c, OCCO_EINVAL,
				     "unsupported format string passed to %s.__format__",
				     occo__tv_typename(v));
	if (!json_is_real(v->j) && (!type || strchr("bcdnoxX", type))) {
		json_int_t iv =
			json_is_integer(v->j) ? json_integer_value(v->j) : json_is_true(v->j);
		int base = type == 'b'			  ? 2
			   : type == 'o'		  ? 8
			   : (type == 'x' || type == 'X') ? 16
							  : 10;

		if (prec >= 0)
			return occo__tv_fail(c, OCCO_EINVAL,
					     "precision not allowed in integer format specifier");
		if (type == 'c') {
			char ch[4];
			size_t cl;

			if (str_char(c, v, ch, &cl) < 0)
				return -OCCO_EINVAL;
			return pad_out(c, b, "", ch, cl, fill, align ? align : '<', width);
		}
		if (group == ',' && base != 10)
			return occo__tv_fail(c, OCCO_EINVAL, "cannot specify ',' with '%c'", type);
		int_digits(iv, base, type == 'X', body);
		snprintf(prefix, sizeof(prefix), "%s%s",
			 iv < 0	       ? "-"
			 : sign == '+' ? "+"
			 : sign == ' ' ? " "
				       : "",
			 !alt	       ? ""
			 : base == 2   ? "0b"
			 : base == 8   ? "0o"
			 : type == 'X' ? "0X"
			 : base == 16  ? "0x"
				       : "");
		if (group)
			group_padded(body, group, base == 10 ? 3 : 4, fill == '0' && align == '=',
				     width - (json_int_t)strlen(prefix));
		return pad_out(c, b, prefix, body, strlen(body), fill, align ? align : '>', width);
	}
	{
		double d = json_is_real(v->j)
				   ? json_real_value(v->j)
				   : (double)(json_is_integer(v->j) ? json_integer_value(v->j)
								    : json_is_true(v->j));

		if (type && !strchr("eEfFgGn%", type))
			return occo__tv_fail(c, OCCO_EINVAL,
					     "unknown format code '%c' for object of type 'float'",
					     type);
		if (!type && prec < 0) {
			occo__py_float_repr(fabs(d), body);
			if (isnan(d))
				strcpy(body, "nan");
		} else if (!type) {
			float_body(d, 'g', prec ? prec : 1, alt, body, sizeof(body));
			if (isfinite(d) && !strchr(body, '.') && !strchr(body, 'e'))
				strcat(body, ".0");
		} else if (type == '%') {
			float_body(d * 100, 'f', prec < 0 ? 6 : prec, alt, body, sizeof(body) - 1);
			strcat(body, "%");
		} else {
			float_body(d, type == 'n' ? 'g' : type, prec < 0 ? 6 : prec, alt, body,
				   sizeof(body));
		}
		snprintf(prefix, sizeof(prefix), "%s",
			 signbit(d) && !isnan(d) ? "-"
			 : sign == '+'		 ? "+"
			 : sign == ' '		 ? " "
						 : "");
		if (group && isfinite(d))
			group_padded(body, group, 3, fill == '0' && align == '=',
				     width - (json_int_t)strlen(prefix));
		return pad_out(c, b, prefix, body, strlen(body), fill, align ? align : '>', width);
	}
}

static int all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

static int str_format(struct tvctx *c, const struct tv *fmt, struct targs *a, struct tv *out)
{
	const char *s = sv(fmt);
	size_t len = sl(fmt), i = 0;
	int numbering = 0; /* 1 automatic, 2 manual */
	size_t next = 0;
	struct occo_buf b;
	int rc = 0;

	occo__tv_buf(c, &b);
	while (i < len && rc == 0) {
		char ch = s[i];

		if (ch == '}' || (ch == '{' && i + 1 < len && s[i + 1] == '{')) {
			if (ch == '}' && !(i + 1 < len && s[i + 1] == '}')) {
				rc = occo__tv_fail(c, OCCO_EINVAL,
						   "single '}' encountered in format string");
				break;
			}
			rc = occo_buf_append(&b, &ch, 1, NULL);
			i += 2;
			continue;
		}
		if (ch != '{') {
			size_t k = i;

			while (k < len && s[k] != '{' && s[k] != '}')
				k++;
			rc = occo_buf_append(&b, s + i, k - i, NULL);
			i = k;
			continue;
		}
		{
			size_t k = i + 1, name_end, conv_at = 0, spec_at = 0, end;
			struct tv val, key, next_val;
			char conv = 0;

			while (k < len && s[k] != '}' && s[k] != '{')
				k++;
			if (k >= len || s[k] == '{') {
				rc = occo__tv_fail(
					c, k >= len ? OCCO_EINVAL : OCCO_ENOTSUP,
					k >= len ? "expected '}' before end of string"
						 : "nested replacement fields are not supported");
				break;
			}
			end = k;
			for (k = i + 1; k < end; k++) {
				if (s[k] == '!' && !conv_at && !spec_at)
					conv_at = k;
				else if (s[k] == ':' && !spec_at)
					spec_at = k;
			}
			name_end = conv_at ? conv_at : spec_at ? spec_at : end;
			if (conv_at) {
				if (conv_at + 2 != (spec_at ? spec_at : end)) {
					rc = occo__tv_fail(c, OCCO_EINVAL, "invalid conversion");
					break;
				}
				conv = s[conv_at + 1];
				if (conv != 'r' && conv != 's' && conv != 'a') {
					rc = occo__tv_fail(c, OCCO_EINVAL,
							   "unknown conversion specifier %c", conv);
					break;
				}
			}
			/* the argument: "", digits or a name, then [key] accessors */
			k = i + 1;
			while (k < name_end && s[k] != '[' && s[k] != '.')
				k++;
			if (k == i + 1) {
				if (numbering == 2) {
					rc = occo__tv_fail(
						c, OCCO_EINVAL,
						"cannot switch from manual field specification "
						"to automatic field numbering");
					break;
				}
				numbering = 1;
				if (next >= a->npos) {
					rc = occo__tv_fail(c, OCCO_EINVAL,
							   "replacement index %zu out of range",
							   next);
					break;
				}
				val = occo__tv_dup(&a->pos[next++]);
			} else if (all_digits(s + i + 1, k - i - 1)) {
				size_t idx = (size_t)strtoul(s + i + 1, NULL, 10);

				if (numbering == 1) {
					rc = occo__tv_fail(
						c, OCCO_EINVAL,
						"cannot switch from automatic field numbering "
						"to manual field specification");
					break;
				}
				numbering = 2;
				if (idx >= a->npos) {
					rc = occo__tv_fail(c, OCCO_EINVAL,
							   "replacement index %zu out of range",
							   idx);
					break;
				}
				val = occo__tv_dup(&a->pos[idx]);
			} else {
				size_t kk;

				for (kk = 0; kk < a->nkw; kk++)
					if (strlen(a->kwname[kk]) == k - i - 1 &&
					    !memcmp(a->kwname[kk], s + i + 1, k - i - 1))
						break;
				if (kk == a->nkw) {
					rc = occo__tv_fail(c, OCCO_EINVAL, "KeyError: '%.*s'",
							   (int)(k - i - 1), s + i + 1);
					break;
				}
				val = occo__tv_dup(&a->kw[kk]);
			}
			while (rc == 0 && k < name_end) {
				size_t ke;
				int found = 0;

				if (s[k] != '[') {
					rc = occo__tv_fail(c, OCCO_ENOTSUP,
							   "attribute access in format fields is "
							   "not supported");
					break;
				}
				ke = k + 1;
				while (ke < name_end && s[ke] != ']')
					ke++;
				if (ke >= name_end) {
					rc = occo__tv_fail(c, OCCO_EINVAL,
							   "missing ']' in format string");
					break;
				}
				{
					int digits = ke > k + 1;

					for (size_t d = k + 1; d < ke; d++)
						if (s[d] < '0' || s[d] > '9')
							digits = 0;
					key = digits ? occo__tv_int(strtoll(s + k + 1, NULL, 10))
						     : occo__tv_str(s + k + 1, ke - k - 1);
				}
				if (occo__tv_is_dict(&val) && occo__tv_is_str(&key)) {
					json_t *j = json_object_getn(val.j, sv(&key), sl(&key));

					if (j) {
						next_val = occo__tv_ref(j);
						found = 1;
					}
				} else if (occo__tv_is_int(&key)) {
					rc = occo__tv_index(c, &val, json_integer_value(key.j),
							    &next_val, &found);
				}
				occo__tv_release(&key);
				if (rc == 0 && !found)
					rc = occo__tv_fail(c, OCCO_EINVAL,
							   "no item '%.*s' in format field",
							   (int)(ke - k - 1), s + k + 1);
				if (rc < 0)
					break;
				occo__tv_release(&val);
				val = next_val;
				k = ke + 1;
			}
			if (rc == 0 && conv && conv != 's') {
				struct occo_buf t;

				occo__tv_buf(c, &t);
				rc = occo__tv_write_repr(c, &val, &t);
				occo__tv_release(&val);
				val = occo__tv_from_buf(c, &t);
			} else if (rc == 0 && conv == 's') {
				struct tv sv2;

				rc = occo__tv_to_str(c, &val, &sv2);
				occo__tv_release(&val);
				val = sv2;
			}
			if (rc == 0)
				rc = format_value(c, &val, spec_at ? s + spec_at + 1 : "",
						  spec_at ? end - spec_at - 1 : 0, &b);
			occo__tv_release(&val);
			i = end + 1;
		}
	}
	if (rc < 0) {
		occo_buf_release(&b);
		return c->err->code ? -c->err->code
				    : occo__tv_fail(c, OCCO_ETOOBIG,
						    "string exceeds the limit of %zu bytes",
						    c->max_value);
	}
	*out = occo__tv_from_buf(c, &b);
	return 0;
}

/* ---- methods ------------------------------------------------------------------------------ */

static const char *const dict_methods[] = { "clear",	  "copy",   "fromkeys", "get",
					    "items",	  "keys",   "pop",	"popitem",
					    "setdefault", "update", "values",	NULL };
static const char *const str_methods[] = {
	"capitalize",	"casefold",    "center",    "count",	  "encode",	  "endswith",
	"expandtabs",	"find",	       "format",    "format_map", "index",	  "isalnum",
	"isalpha",	"isascii",     "isdecimal", "isdigit",	  "isidentifier", "islower",
	"isnumeric",	"isprintable", "isspace",   "istitle",	  "isupper",	  "join",
	"ljust",	"lower",       "lstrip",    "maketrans",  "partition",	  "removeprefix",
	"removesuffix", "replace",     "rfind",	    "rindex",	  "rjust",	  "rpartition",
	"rsplit",	"rstrip",      "split",	    "splitlines", "startswith",	  "strip",
	"swapcase",	"title",       "translate", "upper",	  "zfill",	  NULL
};
static const char *const list_methods[] = { "append", "clear",	 "copy",   "count",
					    "extend", "index",	 "insert", "pop",
					    "remove", "reverse", "sort",   NULL };
static const char *const tuple_methods[] = { "count", "index", NULL };

const char *occo__method_name(const struct tv *self, const char *name)
{
	const char *const *list = NULL;

	if (occo__tv_is_dict(self))
		list = dict_methods;
	else if (occo__tv_is_str(self))
		list = str_methods;
	else if (self->kind == TV_JSON && json_is_array(self->j))
		list = list_methods;
	else if (self->kind == TV_TUPLE)
		list = tuple_methods;
	if (!list)
		return NULL;
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], name))
			return list[i];
	return NULL;
}

/* The code point index of byte offset off in s. */
static json_int_t cp_index(const char *s, size_t off)
{
	return (json_int_t)occo__u8_count(s, off);
}

static int str_pad_method(struct tvctx *c, const struct tv *self, struct targs *a, char align,
			  const char *name, struct tv *out)
{
	BIND(name, "width", "fillchar");
	json_int_t width;
	uint32_t fill = ' ';
	struct occo_buf b;
	size_t n;
	int rc;

	if (!arg[0])
		return occo__tv_fail(c, OCCO_EINVAL, "%s() takes at least 1 argument", name);
	if ((rc = want_int(c, name, arg[0], &width)) < 0)
		return rc;
	if (arg[1]) {
		if (!occo__tv_is_str(arg[1]) || occo__u8_count(sv(arg[1]), sl(arg[1])) != 1)
			return occo__tv_fail(
				c, OCCO_EINVAL,
				"the fill character must be exactly one character long");
		fill = occo__u8_get(sv(arg[1]), sl(arg[1]), 0, &n);
	}
	occo__tv_buf(c, &b);
	if (align == '^') {
		/* str.center puts the extra character on the right unless... as Python does */
		json_int_t len = (json_int_t)occo__u8_count(sv(self), sl(self));
		json_int_t marg = width - len, left;
		char f[4];
		size_t fl = occo__u8_put(fill, f);

		if (marg <= 0) {
			occo_buf_release(&b);
			*out = occo__tv_dup(self);
			return 0;
		}
		if ((size_t)marg > c->max_value) {
			occo_buf_release(&b);
			return occo__tv_fail(c, OCCO_ETOOBIG, "string too long");
		}
		left = marg / 2 + (marg & width & 1);
		for (json_int_t i = 0; i < left; i++)
			occo_buf_append(&b, f, fl, NULL);
		occo_buf_append(&b, sv(self), sl(self), NULL);
		for (json_int_t i = 0; i < marg - left; i++)
			occo_buf_append(&b, f, fl, NULL);
		*out = occo__tv_from_buf(c, &b);
		return 0;
	}
	rc = pad_out(c, &b, "", sv(self), sl(self), fill, align, width);
	if (rc < 0) {
		occo_buf_release(&b);
		return rc;
	}
	*out = occo__tv_from_buf(c, &b);
	return 0;
}

static int prefix_test(struct tvctx *c, const struct tv *self, const struct tv *p, int suffix,
		       int *res)
{
	if (p->kind == TV_TUPLE) {
		*res = 0;
		for (size_t i = 0; i < json_array_size(p->j) && !*res; i++) {
			struct tv e = occo__tv_elem(p->j, i, 0);
			int rc = prefix_test(c, self, &e, suffix, res);

			occo__tv_release(&e);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (!occo__tv_is_str(p))
		return occo__tv_fail(c, OCCO_EINVAL,
				     "%s first arg must be str or a tuple of str, not %s",
				     suffix ? "endswith" : "startswith", occo__tv_typename(p));
	*res = sl(p) <= sl(self) &&
	       !memcmp(sv(self) + (suffix ? sl(self) - sl(p) : 0), sv(p), sl(p));
	return 0;
}

static int str_method(struct tvctx *c, const struct tv *self, const char *name, struct targs *a,
		      struct tv *out)
{
	const char *s = sv(self);
	size_t len = sl(self);
	int rc = 0;

	if (!strcmp(name, "upper") || !strcmp(name, "lower") || !strcmp(name, "title") ||
	    !strcmp(name, "capitalize") || !strcmp(name, "swapcase")) {
		if ((rc = no_args(c, name, a)) < 0)
			return rc;
		*out = str_case(c, s, len,
				name[0] == 'u'	 ? CASE_UPPER
				: name[0] == 'l' ? CASE_LOWER
				: name[0] == 't' ? CASE_TITLE_METHOD
				: name[0] == 's' ? CASE_SWAP
						 : CASE_CAPITALIZE);
		return 0;
	}
	if (!strcmp(name, "strip") || !strcmp(name, "lstrip") || !strcmp(name, "rstrip")) {
		BIND(name, "chars");
		int l = name[0] != 'r', r = name[0] != 'l';

		if (arg[0] && !(arg[0]->kind == TV_JSON && json_is_null(arg[0]->j))) {
			if ((rc = want_str(c, name, arg[0])) < 0)
				return rc;
			*out = str_strip(s, len, sv(arg[0]), sl(arg[0]), l, r);
		} else {
			*out = str_strip(s, len, NULL, 0, l, r);
		}
		return 0;
	}
	if (!strcmp(name, "split") || !strcmp(name, "rsplit")) {
		BIND(name, "sep", "maxsplit");
		json_int_t maxsplit = -1;

		if (arg[1] && (rc = want_int(c, name, arg[1], &maxsplit)) < 0)
			return rc;
		if (arg[0] && !(arg[0]->kind == TV_JSON && json_is_null(arg[0]->j)) &&
		    (rc = want_str(c, name, arg[0])) < 0)
			return rc;
		return str_split(c, s, len, arg[0], maxsplit, name[0] == 'r', out);
	}
	if (!strcmp(name, "splitlines")) {
		BIND(name, "keepends");

		*out = occo__tv_take(str_splitlines(s, len, truth_arg(arg[0], 0)));
		return 0;
	}
	if (!strcmp(name, "replace")) {
		BIND(name, "old", "new", "count");
		json_int_t count = -1;

		if (!arg[0] || !arg[1])
			return occo__tv_fail(c, OCCO_EINVAL,
					     "replace() takes at least 2 arguments");
		if ((rc = want_str(c, name, arg[0])) < 0 || (rc = want_str(c, name, arg[1])) < 0 ||
		    (arg[2] && (rc = want_int(c, name, arg[2], &count)) < 0))
			return rc;
		return str_replace(c, s, len, sv(arg[0]), sl(arg[0]), sv(arg[1]), sl(arg[1]), count,
				   out);
	}
	if (!strcmp(name, "startswith") || !strcmp(name, "endswith")) {
		int res;

		if (a->npos != 1 || a->nkw)
			return occo__tv_fail(c, OCCO_ENOTSUP,
					     "%s() with start/end is not supported", name);
		rc = prefix_test(c, self, &a->pos[0], name[0] == 'e', &res);
		if (rc == 0)
			*out = occo__tv_bool(res);
		return rc;
	}
	if (!strcmp(name, "removeprefix") || !strcmp(name, "removesuffix")) {
		int res, suffix = name[6] == 's';

		if (a->npos != 1 || a->nkw || (rc = want_str(c, name, &a->pos[0])) < 0)
			return a->npos != 1 || a->nkw
				       ? occo__tv_fail(c, OCCO_EINVAL, "%s() takes one argument",
						       name)
				       : rc;
		prefix_test(c, self, &a->pos[0], suffix, &res);
		if (!res)
			*out = occo__tv_dup(self);
		else
			*out = occo__tv_str(s + (suffix ? 0 : sl(&a->pos[0])),
					    len - sl(&a->pos[0]));
		return 0;
	}
	if (!strcmp(name, "join")) {
		struct targs ja = { 0 };

		if (a->npos != 1 || a->nkw)
			return occo__tv_fail(c, OCCO_EINVAL, "join() takes exactly one argument");
		{
			/* every item must be a str */
			json_t *arr;
			int tuples;

			if ((rc = occo__tv_iter(c, &a->pos[0], &arr, &tuples)) < 0)
				return rc;
			for (size_t i = 0; i < json_array_size(arr); i++)
				if (!json_is_string(json_array_get(arr, i)) || tuples ||
				    occo__json_is_undefined(json_array_get(arr, i))) {
					json_decref(arr);
					return occo__tv_fail(
						c, OCCO_EINVAL,
						"sequence item %zu: expected str instance", i);
				}
			json_decref(arr);
		}
		ja.pos = (struct tv *)self;
		ja.npos = 1;
		return f_join(c, &a->pos[0], &ja, out);
	}
	if (!strcmp(name, "find") || !strcmp(name, "rfind") || !strcmp(name, "index") ||
	    !strcmp(name, "rindex") || !strcmp(name, "count")) {
		const char *p, *hit = NULL;
		size_t pl;

		if (a->npos != 1 || a->nkw)
			return occo__tv_fail(c, OCCO_ENOTSUP,
					     "%s() with start/end is not supported", name);
		if ((rc = want_str(c, name, &a->pos[0])) < 0)
			return rc;
		p = sv(&a->pos[0]);
		pl = sl(&a->pos[0]);
		if (!strcmp(name, "count")) {
			json_int_t n = 0;
			size_t i = 0;

			if (pl == 0) {
				*out = occo__tv_int((json_int_t)occo__u8_count(s, len) + 1);
				return 0;
			}
			while (i + pl <= len && (hit = memmem(s + i, len - i, p, pl)) != NULL) {
				n++;
				i = (size_t)(hit - s) + pl;
			}
			*out = occo__tv_int(n);
			return 0;
		}
		if (name[0] == 'r') {
			for (size_t k = len + 1; k-- > 0;)
				if (k + pl <= len && !memcmp(s + k, p, pl)) {
					hit = s + k;
					break;
				}
		} else {
			hit = pl == 0 ? s : memmem(s, len, p, pl);
		}
		if (!hit && (!strcmp(name, "index") || !strcmp(name, "rindex")))
			return occo__tv_fail(c, OCCO_EINVAL, "substring not found");
		*out = occo__tv_int(hit ? cp_index(s, (size_t)(hit - s)) : -1);
		return 0;
	}
	if (!strcmp(name, "format"))
		return str_format(c, self, a, out);
	if (!strcmp(name, "ljust"))
		return str_pad_method(c, self, a, '<', name, out);
	if (!strcmp(name, "rjust"))
		return str_pad_method(c, self, a, '>', name, out);
	if (!strcmp(name, "center"))
		return str_pad_method(c, self, a, '^', name, out);
	if (!strcmp(name, "zfill")) {
		BIND(name, "width");
		json_int_t width, n = (json_int_t)occo__u8_count(s, len);
		struct occo_buf b;
		size_t signlen = len && (s[0] == '+' || s[0] == '-');

		if (!arg[0])
			return occo__tv_fail(c, OCCO_EINVAL, "zfill() takes exactly one argument");
		if ((rc = want_int(c, name, arg[0], &width)) < 0)
			return rc;
		if (width <= n) {
			*out = occo__tv_dup(self);
			return 0;
		}
		if ((size_t)width > c->max_value)
			return occo__tv_fail(c, OCCO_ETOOBIG, "string too long");
		occo_buf_init(&b, (size_t)-2);
		occo_buf_append(&b, s, signlen, NULL);
		for (json_int_t i = 0; i < width - n; i++)
			occo_buf_append(&b, "0", 1, NULL);
		occo_buf_append(&b, s + signlen, len - signlen, NULL);
		*out = occo__tv_from_buf(c, &b);
		return 0;
	}
	if (!strcmp(name, "partition") || !strcmp(name, "rpartition")) {
		const char *hit = NULL, *p;
		size_t pl;
		json_t *t = json_array();

		if (a->npos != 1 || a->nkw || (rc = want_str(c, name, &a->pos[0])) < 0) {
			json_decref(t);
			return a->npos != 1 || a->nkw
				       ? occo__tv_fail(c, OCCO_EINVAL, "%s() takes one argument",
						       name)
				       : rc;
		}
		p = sv(&a->pos[0]);
		pl = sl(&a->pos[0]);
		if (pl == 0) {
			json_decref(t);
			return occo__tv_fail(c, OCCO_EINVAL, "empty separator");
		}
		if (name[0] == 'r') {
			for (size_t k = len + 1; k-- > 0;)
				if (k + pl <= len && !memcmp(s + k, p, pl)) {
					hit = s + k;
					break;
				}
		} else {
			hit = memmem(s, len, p, pl);
		}
		if (!hit) {
			json_array_append_new(t, json_stringn_nocheck(name[0] == 'r' ? "" : s,
								      name[0] == 'r' ? 0 : len));
			json_array_append_new(t, json_string(""));
			json_array_append_new(t, json_stringn_nocheck(name[0] == 'r' ? s : "",
								      name[0] == 'r' ? len : 0));
		} else {
			json_array_append_new(t, json_stringn_nocheck(s, (size_t)(hit - s)));
			json_array_append_new(t, json_stringn_nocheck(p, pl));
			json_array_append_new(
				t, json_stringn_nocheck(hit + pl, len - (size_t)(hit - s) - pl));
		}
		*out = (struct tv){ TV_TUPLE, 0, 0, t, NULL, NULL };
		return 0;
	}
	if (!strncmp(name, "is", 2) &&
	    (!strcmp(name, "isdigit") || !strcmp(name, "isalpha") || !strcmp(name, "isalnum") ||
	     !strcmp(name, "isspace") || !strcmp(name, "islower") || !strcmp(name, "isupper"))) {
		size_t i = 0, n;
		int ok = len > 0, res;

		if ((rc = no_args(c, name, a)) < 0)
			return rc;
		if (!strcmp(name, "islower") || !strcmp(name, "isupper")) {
			rc = str_case_test(c, (struct tv *)self, name[2] == 'u', &res);
			if (rc == 0)
				*out = occo__tv_bool(res);
			return rc;
		}
		while (i < len && ok) {
			uint32_t cp = occo__u8_get(s, len, i, &n);

			if (name[2] == 'd')
				ok = occo__py_isdigit(cp);
			else if (!strcmp(name, "isalpha"))
				ok = occo__py_isalpha(cp);
			else if (!strcmp(name, "isalnum"))
				ok = occo__py_isalpha(cp) || occo__py_isdigit(cp);
			else
				ok = occo__py_isspace(cp);
			i += n;
		}
		*out = occo__tv_bool(ok);
		return 0;
	}
	return occo__tv_fail(c, OCCO_ENOTSUP, "str.%s() is not supported", name);
}

static int dict_method(struct tvctx *c, const struct tv *self, const char *name, struct targs *a,
		       struct tv *out)
{
	int rc;

	if (!strcmp(name, "items") || !strcmp(name, "keys") || !strcmp(name, "values")) {
		if ((rc = no_args(c, name, a)) < 0)
			return rc;
		*out = (struct tv){ TV_VIEW,
				    0,
				    name[0] == 'i'   ? VIEW_ITEMS
				    : name[0] == 'k' ? VIEW_KEYS
						     : VIEW_VALUES,
				    json_incref(self->j),
				    NULL,
				    NULL };
		return 0;
	}
	if (!strcmp(name, "get")) {
		json_t *j = NULL;

		if (a->nkw || a->npos < 1 || a->npos > 2)
			return occo__tv_fail(c, OCCO_EINVAL, "get expected 1 or 2 arguments");
		if (occo__tv_is_str(&a->pos[0]))
			j = json_object_getn(self->j, sv(&a->pos[0]), sl(&a->pos[0]));
		else if (a->pos[0].kind == TV_JSON &&
			 (json_is_array(a->pos[0].j) || json_is_object(a->pos[0].j)))
			return occo__tv_fail(c, OCCO_EINVAL, "unhashable type: '%s'",
					     occo__tv_typename(&a->pos[0]));
		if (j)
			*out = occo__tv_ref(j);
		else
			*out = a->npos == 2 ? occo__tv_dup(&a->pos[1]) : occo__tv_none();
		return 0;
	}
	if (!strcmp(name, "copy")) {
		if ((rc = no_args(c, name, a)) < 0)
			return rc;
		*out = occo__tv_take(json_copy(self->j));
		return 0;
	}
	return occo__tv_fail(c, OCCO_ENOTSUP, "dict.%s() is not supported", name);
}

static int seq_method(struct tvctx *c, const struct tv *self, const char *name, struct targs *a,
		      struct tv *out)
{
	size_t n = json_array_size(self->j);
	json_int_t count = 0;

	if (!strcmp(name, "copy") && self->kind == TV_JSON) {
		int rc = no_args(c, name, a);

		if (rc == 0)
			*out = list_take(json_copy(self->j), (self->flags & TVF_TUPLES) != 0);
		return rc;
	}
	if (!strcmp(name, "count") || !strcmp(name, "index")) {
		if (a->npos != 1 || a->nkw)
			return occo__tv_fail(c, OCCO_EINVAL, "%s() takes exactly one argument",
					     name);
		for (size_t i = 0; i < n; i++) {
			struct tv e = occo__tv_elem(self->j, i, (self->flags & TVF_TUPLES) != 0);
			int eq = occo__tv_eq(&e, &a->pos[0]);

			occo__tv_release(&e);
			if (eq && name[0] == 'i') {
				*out = occo__tv_int((json_int_t)i);
				return 0;
			}
			count += eq;
		}
		if (name[0] == 'i')
			return occo__tv_fail(c, OCCO_EINVAL, "x not in list");
		*out = occo__tv_int(count);
		return 0;
	}
	return occo__tv_fail(c, OCCO_ENOTSUP,
			     "%s.%s() is not supported (templates do not change values)",
			     occo__tv_typename(self), name);
}

int occo__method_call(struct tvctx *c, const struct tv *self, const char *name, struct targs *a,
		      struct tv *out)
{
	if (occo__tv_is_str(self))
		return str_method(c, self, name, a, out);
	if (occo__tv_is_dict(self))
		return dict_method(c, self, name, a, out);
	if (occo__tv_is_seq(self))
		return seq_method(c, self, name, a, out);
	return occo__tv_fail(c, OCCO_EINVAL, "'%s' object has no method '%s'",
			     occo__tv_typename(self), name);
}

/* ---- built-in globals --------------------------------------------------------------------- */

enum { B_RANGE, B_DICT };

static const char *const builtins[] = { "range", "dict" };

int occo__builtin_find(const char *name)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(builtins[i], name))
			return (int)i;
	return -1;
}

const char *occo__builtin_name(int id)
{
	return builtins[id];
}

int occo__builtin_call(struct tvctx *c, int id, struct targs *a, struct tv *out)
{
	json_int_t v[3] = { 0, 0, 1 };
	int rc;

	switch (id) {
	case B_RANGE:
		if (a->nkw)
			return occo__tv_fail(c, OCCO_EINVAL, "range() takes no keyword arguments");
		if (a->npos < 1 || a->npos > 3)
			return occo__tv_fail(c, OCCO_EINVAL,
					     "range expected 1 to 3 arguments, got %zu", a->npos);
		for (size_t i = 0; i < a->npos; i++) {
			json_int_t x;

			if ((rc = want_int(c, "range", &a->pos[i], &x)) < 0)
				return rc;
			if (a->npos == 1)
				v[1] = x;
			else
				v[i] = x;
		}
		if (v[2] == 0)
			return occo__tv_fail(c, OCCO_EINVAL, "range() arg 3 must not be zero");
		{
			json_t *r = json_array();

			for (int i = 0; i < 3; i++)
				json_array_append_new(r, json_integer(v[i]));
			*out = (struct tv){ TV_VIEW, 0, VIEW_RANGE, r, NULL, NULL };
		}
		return 0;
	case B_DICT: {
		json_t *d;

		if (a->npos > 1)
			return occo__tv_fail(c, OCCO_EINVAL, "dict expected at most 1 argument");
		if (a->npos == 1) {
			if (occo__tv_is_dict(&a->pos[0])) {
				d = json_copy(a->pos[0].j);
			} else {
				json_t *arr;
				int tuples;

				if ((rc = occo__tv_iter(c, &a->pos[0], &arr, &tuples)) < 0)
					return rc;
				d = json_object();
				for (size_t i = 0; i < json_array_size(arr); i++) {
					json_t *p = json_array_get(arr, i);

					if (!json_is_array(p) || json_array_size(p) != 2 ||
					    !json_is_string(json_array_get(p, 0))) {
						json_decref(arr);
						json_decref(d);
						return occo__tv_fail(
							c, OCCO_EINVAL,
							"dict() needs pairs with string keys");
					}
					json_object_set(d, json_string_value(json_array_get(p, 0)),
							json_array_get(p, 1));
				}
				json_decref(arr);
			}
		} else {
			d = json_object();
		}
		for (size_t i = 0; i < a->nkw; i++) {
			json_t *x;

			if ((rc = occo__tv_to_json(c, &a->kw[i], &x)) < 0) {
				json_decref(d);
				return rc;
			}
			json_object_set_new(d, a->kwname[i], x);
		}
		*out = occo__tv_take(d);
		return 0;
	}
	default:
		return occo__tv_fail(c, OCCO_EINVAL, "unknown built-in");
	}
}
