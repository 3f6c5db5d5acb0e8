/*
 * json.c - occo_json_share(): hash-consing of the small values of a jansson tree.
 *
 * The tree is walked bottom-up. Each value that may be shared gets a canonical key: its type
 * and contents for strings and numbers; for arrays and objects, their keys and the *addresses*
 * of their members, which by then are the shared ones, so equal containers have equal keys
 * without comparing their contents again. The first value with a key goes into an
 * open-addressing table (which holds a reference until the walk ends); a later value with the
 * same key is replaced in its parent by the first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/json.h"

#define KEY_MAX 256 /* bytes of a canonical key; larger values are left alone */

struct entry {
	uint64_t hash; /* 0: empty */
	size_t off; /* key in the arena */
	size_t len;
	json_t *v; /* a reference of the table's */
};

struct occo_json_sharer {
	struct entry *e;
	size_t cap; /* a power of two */
	size_t n;
	char *arena; /* the keys, one after the other */
	size_t used, size;
	struct occo_json_share_stats st;
};

static uint64_t hash_bytes(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h ? h : 1;
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

/* The value already in the table under this key, or v after putting it there. */
static json_t *intern(struct occo_json_sharer *t, json_t *v, const unsigned char *key, size_t len)
{
	uint64_t h = hash_bytes(key, len);
	size_t j;

	if ((t->n + 1) * 2 > t->cap)
		grow(t);
	for (j = h & (t->cap - 1); t->e[j].hash; j = (j + 1) & (t->cap - 1)) {
		if (t->e[j].hash == h && t->e[j].len == len &&
		    !memcmp(t->arena + t->e[j].off, key, len))
			return t->e[j].v;
	}
	if (t->used + len > t->size) {
		t->size = t->size ? t->size * 2 : 65536;
		while (t->used + len > t->size)
			t->size *= 2;
		t->arena = occo_realloc(t->arena, t->size);
	}
	memcpy(t->arena + t->used, key, len);
	t->e[j].hash = h;
	t->e[j].off = t->used;
	t->e[j].len = len;
	t->e[j].v = json_incref(v);
	t->used += len;
	t->n++;
	return v;
}

static int put(unsigned char *key, size_t *len, const void *p, size_t n)
{
	if (*len + n > KEY_MAX)
		return -1;
	memcpy(key + *len, p, n);
	*len += n;
	return 0;
}

/*
 * Share the members of v, then v itself. Returns the value to keep in v's place (v, or an
 * equal value seen before); *shareable says whether that value is one of the table's (or a
 * jansson singleton), which a parent needs for its own key.
 */
static json_t *share(struct occo_json_sharer *t, json_t *v, int *shareable)
{
	unsigned char key[KEY_MAX];
	size_t len = 0;
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
	case JSON_STRING: {
		size_t n = json_string_length(v);

		key[len++] = 's';
		if (put(key, &len, json_string_value(v), n) < 0)
			return v;
		break;
	}
	case JSON_INTEGER: {
		json_int_t i = json_integer_value(v);

		key[len++] = 'i';
		put(key, &len, &i, sizeof(i));
		break;
	}
	case JSON_REAL: {
		double d = json_real_value(v);

		key[len++] = 'r';
		put(key, &len, &d, sizeof(d));
		break;
	}
	case JSON_ARRAY: {
		size_t i;

		key[len++] = '[';
		json_array_foreach (v, i, m) {
			r = share(t, m, &ok);
			if (r != m)
				json_array_set(v, i, r);
			if (!ok || put(key, &len, &r, sizeof(r)) < 0)
				all = 0;
		}
		break;
	}
	case JSON_OBJECT: {
		void *it;

		key[len++] = '{';
		for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			const char *k = json_object_iter_key(it);
			size_t kl = strlen(k);
			uint16_t kl16 = (uint16_t)kl;

			m = json_object_iter_value(it);
			r = share(t, m, &ok);
			if (r != m)
				json_object_iter_set(v, it, r);
			if (!ok || kl > KEY_MAX || put(key, &len, &kl16, sizeof(kl16)) < 0 ||
			    put(key, &len, k, kl) < 0 || put(key, &len, &r, sizeof(r)) < 0)
				all = 0;
		}
		break;
	}
	}
	if (!all)
		return v;
	r = intern(t, v, key, len);
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
	free(sh->arena);
	free(sh);
}

void occo_json_share(json_t *root, struct occo_json_share_stats *st)
{
	struct occo_json_sharer *sh = occo_json_sharer_new();

	if (root && (json_is_object(root) || json_is_array(root)))
		json_decref(occo_json_sharer_put(sh, json_incref(root)));
	occo_json_sharer_free(sh, st);
}
