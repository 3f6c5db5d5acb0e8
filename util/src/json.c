/*
 * json.c - the sharer: hash-consing of the small values of a jansson tree.
 *
 * The tree is walked bottom-up. Each value that may be shared is hashed: strings and numbers
 * by type and contents; arrays and objects by their keys and the *addresses* of their members,
 * which by then are the shared ones, so equal containers are found without comparing their
 * contents again (members are compared by address). The first value of its kind goes into an
 * open-addressing table of (hash, value), which holds a reference until the sharer is freed;
 * a later equal value is replaced in its parent by the first. The table keeps no copy of any
 * key: 16 bytes per distinct value.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/json.h"

#define STR_MAX 256 /* strings longer than this are left alone */
#define MEMBERS_MAX 8 /* and so are arrays and objects with more members */

struct entry {
	uint64_t hash; /* 0: empty */
	json_t *v; /* a reference of the table's */
};

struct occo_json_sharer {
	struct entry *e;
	size_t cap; /* a power of two */
	size_t n;
	struct occo_json_share_stats st;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) { /* FNV-1a */
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void grow(struct occo_json_sharer *t)
{
	struct entry *old = t->e;
	size_t oldcap = t->cap, i;

	t->cap = oldcap ? oldcap * 2 : 1024;
	t->e = occo_calloc(t->cap, sizeof(*t->e));
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].hash)
			continue;
		for (j = old[i].hash & (t->cap - 1); t->e[j].hash; j = (j + 1) & (t->cap - 1))
			;
		t->e[j] = old[i];
	}
	free(old);
}

/* a and b have the same type, contents and (containers) the very same members in order. */
static int same(const json_t *a, const json_t *b)
{
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	case JSON_INTEGER:
		return json_integer_value(a) == json_integer_value(b);
	case JSON_REAL:
		return !memcmp(&(double){ json_real_value(a) }, &(double){ json_real_value(b) },
			       sizeof(double));
	case JSON_ARRAY: {
		size_t i;

		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (json_array_get(a, i) != json_array_get(b, i))
				return 0;
		return 1;
	}
	case JSON_OBJECT: {
		void *x = json_object_iter((json_t *)a), *y = json_object_iter((json_t *)b);

		if (json_object_size(a) != json_object_size(b))
			return 0;
		for (; x && y; x = json_object_iter_next((json_t *)a, x),
			       y = json_object_iter_next((json_t *)b, y))
			if (json_object_iter_value(x) != json_object_iter_value(y) ||
			    strcmp(json_object_iter_key(x), json_object_iter_key(y)))
				return 0;
		return !x && !y;
	}
	default:
		return a == b;
	}
}

/* The value already in the table equal to v, or v after putting it there. */
static json_t *intern(struct occo_json_sharer *t, json_t *v, uint64_t h)
{
	size_t j;

	h = h ? h : 1;
	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	for (j = h & (t->cap - 1); t->e[j].hash; j = (j + 1) & (t->cap - 1))
		if (t->e[j].hash == h && same(t->e[j].v, v))
			return t->e[j].v;
	t->e[j].hash = h;
	t->e[j].v = json_incref(v);
	t->n++;
	return v;
}

/*
 * Share the members of v, then v itself. Returns the value to keep in v's place (v, or an
 * equal value seen before); *shareable says whether that value is one of the table's (or a
 * jansson singleton), which a parent needs for its own hash.
 */
static json_t *share(struct occo_json_sharer *t, json_t *v, int *shareable)
{
	uint64_t h = 1469598103934665603ULL;
	int all = 1, ok;
	json_t *m, *r;

	t->st.values++;
	*shareable = 0;
	switch (json_typeof(v)) {
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		*shareable = 1; /* singletons already */
		return v;
	case JSON_STRING:
		if (json_string_length(v) > STR_MAX)
			return v;
		h = mix(h, "s", 1);
		h = mix(h, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		h = mix(mix(h, "i", 1), &i, sizeof(i));
		break;
	}
	case JSON_REAL: {
		double d = json_real_value(v);

		h = mix(mix(h, "r", 1), &d, sizeof(d));
		break;
	}
	case JSON_ARRAY: {
		size_t i;

		h = mix(h, "[", 1);
		json_array_foreach (v, i, m) {
			r = share(t, m, &ok);
			if (r != m)
				json_array_set(v, i, r);
			all = all && ok;
			h = mix(h, &r, sizeof(r));
		}
		all = all && json_array_size(v) <= MEMBERS_MAX;
		break;
	}
	case JSON_OBJECT: {
		void *it;

		h = mix(h, "{", 1);
		for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			const char *k = json_object_iter_key(it);

			m = json_object_iter_value(it);
			r = share(t, m, &ok);
			if (r != m)
				json_object_iter_set(v, it, r);
			all = all && ok;
			h = mix(mix(h, k, strlen(k) + 1), &r, sizeof(r));
		}
		all = all && json_object_size(v) <= MEMBERS_MAX;
		break;
	}
	}
	if (!all)
		return v;
	r = intern(t, v, h);
	if (r != v)
		t->st.shared++;
	*shareable = 1;
	return r;
}

struct occo_json_sharer *occo_json_sharer_new(void)
{
	return occo_calloc(1, sizeof(struct occo_json_sharer));
}

json_t *occo_json_sharer_put(struct occo_json_sharer *sh, json_t *v)
{
	json_t *r;
	int ok;

	if (!v)
		return NULL;
	r = share(sh, v, &ok);
	if (r != v) {
		json_incref(r);
		json_decref(v);
	}
	return r;
}

/* ---- parsing with sharing ---- */

#define SPLIT_DEPTH 2 /* containers this deep are parsed here; deeper values by jansson */

struct lp {
	const char *buf;
	size_t len, pos;
	struct occo_json_sharer *sh;
	json_error_t *e;
};

static void lp_ws(struct lp *p)
{
	while (p->pos < p->len && (p->buf[p->pos] == ' ' || p->buf[p->pos] == '\t' ||
				   p->buf[p->pos] == '\n' || p->buf[p->pos] == '\r'))
		p->pos++;
}

/* An error at the current position, in jansson's terms. */
static int lp_fail(struct lp *p, const char *what)
{
	size_t i;
	int line = 1, col = 0;

	for (i = 0; i < p->pos && i < p->len; i++) {
		if (p->buf[i] == '\n') {
			line++;
			col = 0;
		} else {
			col++;
		}
	}
	p->e->line = line;
	p->e->column = col + 1;
	p->e->position = (int)p->pos;
	snprintf(p->e->source, sizeof(p->e->source), "<buffer>");
	snprintf(p->e->text, sizeof(p->e->text), "%s", what);
	return -1;
}

/* One value parsed by jansson from the current position, which moves past it. */
static json_t *lp_jansson(struct lp *p)
{
	json_error_t e;
	json_t *v = json_loadb(p->buf + p->pos, p->len - p->pos,
			       JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &e);
	size_t i;

	if (!v) {
		for (i = 0; i < (size_t)e.position && p->pos < p->len; i++)
			p->pos++;
		lp_fail(p, e.text);
		return NULL;
	}
	p->pos += (size_t)e.position;
	return v;
}

static json_t *lp_value(struct lp *p, int depth)
{
	json_t *v, *m;
	char close;

	lp_ws(p);
	if (p->pos >= p->len) {
		lp_fail(p, "'[' or '{' or a value expected near end of file");
		return NULL;
	}
	close = p->buf[p->pos] == '{' ? '}' : p->buf[p->pos] == '[' ? ']' : 0;
	if (!close || depth >= SPLIT_DEPTH)
		return occo_json_sharer_put(p->sh, lp_jansson(p));
	v = close == '}' ? json_object() : json_array();
	p->pos++;
	lp_ws(p);
	if (p->pos < p->len && p->buf[p->pos] == close) {
		p->pos++;
		return occo_json_sharer_put(p->sh, v);
	}
	for (;;) {
		json_t *key = NULL;

		if (close == '}') {
			lp_ws(p);
			if (p->pos >= p->len || p->buf[p->pos] != '"') {
				lp_fail(p, "string or '}' expected");
				goto fail;
			}
			if (!(key = lp_jansson(p)))
				goto fail;
			lp_ws(p);
			if (p->pos >= p->len || p->buf[p->pos] != ':') {
				json_decref(key);
				lp_fail(p, "':' expected");
				goto fail;
			}
			p->pos++;
		}
		if (!(m = lp_value(p, depth + 1))) {
			json_decref(key);
			goto fail;
		}
		if (key) {
			json_object_setn_new(v, json_string_value(key), json_string_length(key), m);
			json_decref(key);
		} else {
			json_array_append_new(v, m);
		}
		lp_ws(p);
		if (p->pos < p->len && p->buf[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->buf[p->pos] == close) {
			p->pos++;
			return occo_json_sharer_put(p->sh, v);
		}
		lp_fail(p, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
		goto fail;
	}
fail:
	json_decref(v);
	return NULL;
}

int occo_json_load_shared(const char *buf, size_t len, struct occo_json_sharer *sh, json_t **out,
			  json_error_t *e)
{
	struct lp p = { buf, len, 0, sh, e };
	json_t *v = lp_value(&p, 0);

	if (!v)
		return -1;
	lp_ws(&p);
	if (p.pos < p.len) {
		json_decref(v);
		return lp_fail(&p, "end of file expected");
	}
	*out = v;
	return 0;
}

void occo_json_sharer_free(struct occo_json_sharer *sh, struct occo_json_share_stats *st)
{
	size_t i;

	if (!sh)
		return;
	for (i = 0; i < sh->cap; i++)
		if (sh->e[i].hash)
			json_decref(sh->e[i].v);
	if (st)
		*st = sh->st;
	free(sh->e);
	free(sh);
}

/* ---- an index of objects by a member ---- */

static int index_cmp(const void *a, const void *b)
{
	return strcmp(((const struct occo_json_index_entry *)a)->value,
		      ((const struct occo_json_index_entry *)b)->value);
}

void occo_json_index_init(struct occo_json_index *ix, const json_t *array, const char *key)
{
	const json_t *e;
	size_t i;

	ix->v = occo_calloc(json_array_size(array) + 1, sizeof(*ix->v));
	ix->n = 0;
	json_array_foreach (array, i, e) {
		const char *value = json_string_value(json_object_get(e, key));

		if (value)
			ix->v[ix->n++] = (struct occo_json_index_entry){ value, e };
	}
	qsort(ix->v, ix->n, sizeof(*ix->v), index_cmp);
}

const json_t *occo_json_index_get(const struct occo_json_index *ix, const char *value)
{
	size_t lo = 0, hi = ix->n;

	if (!value)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(ix->v[mid].value, value);

		if (!c)
			return ix->v[mid].elem;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void occo_json_index_release(struct occo_json_index *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->n = 0;
}

/* ---- JSON strings written directly ---- */

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return len;
}

size_t occo_json_escape(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, len;

	out[o++] = '"';
	while (i < n) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			out[o++] = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			len = utf8_len(p + i, n - i);
			if (len) {
				memcpy(out + o, p + i, len);
				o += len;
				i += len;
			} else { /* U+FFFD, as its UTF-8 bytes */
				memcpy(out + o, "\xef\xbf\xbd", 3);
				o += 3;
				i++;
			}
			continue;
		}
		out[o++] = '\\';
		switch (c) {
		case '"':
		case '\\':
			out[o++] = (char)c;
			break;
		case '\n':
			out[o++] = 'n';
			break;
		case '\r':
			out[o++] = 'r';
			break;
		case '\t':
			out[o++] = 't';
			break;
		case '\b':
			out[o++] = 'b';
			break;
		case '\f':
			out[o++] = 'f';
			break;
		default:
			out[o++] = 'u';
			out[o++] = '0';
			out[o++] = '0';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
		i++;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}
