/*
 * record.c - instance records in memory (record.h): the struct, the set that finds them by
 * node_id, the strings they share, and their stored JSON form.
 *
 * The set is an open-addressing table of record pointers (linear probing, deletion by
 * shifting back, so no tombstones), kept at most half full, plus the list of records in the
 * order added. Interned strings live in a second such table for the set's lifetime.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "occo/infobroker/record.h"
#include "occo/util/alloc.h"
#include "occo/util/json.h"

struct ib_records {
	struct ib_record **slots; /* cap entries, NULL: free */
	size_t cap; /* a power of two, or 0 */
	size_t n;
	struct ib_record *head, *tail;
	char **strs; /* interned strings */
	size_t scap, sn;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h ^ (h >> 29);
}

struct ib_records *ib_records_new(void)
{
	return occo_calloc(1, sizeof(struct ib_records));
}

static void record_free(struct ib_record *rec)
{
	json_decref(rec->resource);
	json_decref(rec->config_management);
	json_decref(rec->health_check);
	json_decref(rec->addresses);
	json_decref(rec->published);
	json_decref(rec->extra);
	free(rec->token);
	free(rec->instance_id);
	free(rec->private_address);
	free(rec->error);
	free(rec);
}

void ib_records_free(struct ib_records *s)
{
	struct ib_record *rec, *next;
	size_t i;

	if (!s)
		return;
	for (rec = s->head; rec; rec = next) {
		next = rec->next;
		record_free(rec);
	}
	for (i = 0; i < s->scap; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s->slots);
	free(s);
}

size_t ib_records_count(const struct ib_records *s)
{
	return s ? s->n : 0;
}

struct ib_record *ib_records_first(const struct ib_records *s)
{
	return s ? s->head : NULL;
}

/* The slot of `node_id`: its record's, or the free one where it would go. */
static size_t slot_of(const struct ib_records *s, const char *node_id)
{
	size_t i = hash_str(node_id) & (s->cap - 1);

	while (s->slots[i] && strcmp(s->slots[i]->node_id, node_id))
		i = (i + 1) & (s->cap - 1);
	return i;
}

struct ib_record *ib_records_get(const struct ib_records *s, const char *node_id)
{
	if (!s || !s->cap || !node_id)
		return NULL;
	return s->slots[slot_of(s, node_id)];
}

static void grow(struct ib_records *s)
{
	struct ib_record **old = s->slots;
	size_t ocap = s->cap, i;

	s->cap = ocap ? ocap * 2 : 64;
	s->slots = occo_calloc(s->cap, sizeof(*s->slots));
	for (i = 0; i < ocap; i++)
		if (old[i])
			s->slots[slot_of(s, old[i]->node_id)] = old[i];
	free(old);
}

static void unlink_rec(struct ib_records *s, struct ib_record *rec)
{
	if (rec->prev)
		rec->prev->next = rec->next;
	else
		s->head = rec->next;
	if (rec->next)
		rec->next->prev = rec->prev;
	else
		s->tail = rec->prev;
}

void ib_records_del(struct ib_records *s, const char *node_id)
{
	size_t i, j, home;
	struct ib_record *rec;

	if (!s || !s->cap || !node_id)
		return;
	i = slot_of(s, node_id);
	if (!(rec = s->slots[i]))
		return;
	s->slots[i] = NULL;
	/* shift back the entries after it that would no longer be found */
	for (j = (i + 1) & (s->cap - 1); s->slots[j]; j = (j + 1) & (s->cap - 1)) {
		home = hash_str(s->slots[j]->node_id) & (s->cap - 1);
		/* j's entry may move to i unless its home lies cyclically in (i, j] */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = NULL;
			i = j;
		}
	}
	s->n--;
	unlink_rec(s, rec);
	record_free(rec);
}

struct ib_record *ib_records_add(struct ib_records *s, const char *node_id)
{
	size_t len = strlen(node_id), i;
	struct ib_record *rec;

	ib_records_del(s, node_id);
	if (2 * (s->n + 1) > s->cap)
		grow(s);
	rec = occo_calloc(1, sizeof(*rec) + len + 1);
	memcpy(rec->node_id, node_id, len + 1);
	rec->def_index = -1;
	i = slot_of(s, node_id);
	s->slots[i] = rec;
	s->n++;
	rec->prev = s->tail;
	if (s->tail)
		s->tail->next = rec;
	else
		s->head = rec;
	s->tail = rec;
	return rec;
}

const char *ib_records_intern(struct ib_records *s, const char *str)
{
	size_t i;

	if (!str)
		return NULL;
	if (2 * (s->sn + 1) > s->scap) {
		char **old = s->strs;
		size_t ocap = s->scap, k;

		s->scap = ocap ? ocap * 2 : 64;
		s->strs = occo_calloc(s->scap, sizeof(*s->strs));
		for (k = 0; k < ocap; k++) {
			if (!old[k])
				continue;
			for (i = hash_str(old[k]) & (s->scap - 1); s->strs[i];
			     i = (i + 1) & (s->scap - 1))
				;
			s->strs[i] = old[k];
		}
		free(old);
	}
	for (i = hash_str(str) & (s->scap - 1); s->strs[i]; i = (i + 1) & (s->scap - 1))
		if (!strcmp(s->strs[i], str))
			return s->strs[i];
	s->strs[i] = occo_strdup(str);
	s->sn++;
	return s->strs[i];
}

void ib_record_set_str(char **slot, const char *v)
{
	char *old = *slot;

	*slot = v ? occo_strdup(v) : NULL;
	free(old);
}

void ib_record_set_json(json_t **slot, const json_t *v)
{
	json_t *old = *slot;

	*slot = json_incref((json_t *)v);
	json_decref(old);
}

/* ---- the stored form ---- */

enum member {
	M_NODE_ID,
	M_NAME,
	M_TYPE,
	M_DEF_INDEX,
	M_RESOURCE,
	M_TOKEN,
	M_INSTANCE_ID,
	M_ADDRESSES,
	M_STATE,
	M_CREATED_AT,
	M_CONFIG_MANAGEMENT,
	M_HEALTH_CHECK,
	M_PRIVATE_ADDRESS,
	M_READY_AT,
	M_PUBLISHED,
	M_ERROR,
	M_HEALTH_FAILED,
	M_HEALTH_FAILING,
	M_N
};

/* In the order they are written. */
static const char *const member_names[M_N] = {
	"node_id",
	"name",
	"type",
	"def_index",
	"resource",
	"token",
	"instance_id",
	"addresses",
	"state",
	"created_at",
	"config_management",
	"health_check",
	"private_address",
	"ready_at",
	"published",
	"error",
	"health_failed",
	"health_failing",
};

static int member_of(const char *k)
{
	int i;

	for (i = 0; i < M_N; i++)
		if (!strcmp(member_names[i], k))
			return i;
	return -1;
}

static int bad_member(const char *what, const char *node_id, const char *k, const char *want,
		      struct occo_err *err)
{
	if (what)
		return occo_err_set(err, OCCO_EPROTO, "%s: instance record '%s': '%s' must be %s",
				    what, node_id, k, want);
	return occo_err_set(err, OCCO_EPROTO, "instance record '%s': '%s' must be %s", node_id, k,
			    want);
}

/* What member m must be, or NULL when x will do. */
static const char *member_wants(int m, const json_t *x)
{
	if (json_is_null(x))
		return NULL;
	switch (m) {
	case M_NODE_ID:
	case M_NAME:
	case M_TYPE:
	case M_STATE:
	case M_TOKEN:
	case M_INSTANCE_ID:
	case M_PRIVATE_ADDRESS:
	case M_ERROR:
		return json_is_string(x) ? NULL : "a string";
	case M_DEF_INDEX:
	case M_CREATED_AT:
	case M_READY_AT:
		return json_is_integer(x) ? NULL : "an integer";
	case M_ADDRESSES:
		return json_is_array(x) ? NULL : "a list";
	case M_HEALTH_FAILED:
	case M_HEALTH_FAILING:
		return json_is_boolean(x) ? NULL : "true or false";
	default:
		return NULL;
	}
}

int ib_records_put_json(struct ib_records *s, const char *node_id, const json_t *v,
			const char *what, struct occo_err *err)
{
	return ib_records_put_json_ex(s, node_id, v, what, 0, err);
}

int ib_records_put_json_ex(struct ib_records *s, const char *node_id, const json_t *v,
			   const char *what, unsigned flags, struct occo_err *err)
{
	struct ib_record *rec;
	const char *k, *want;
	int partial = 0;
	json_t *x;

	if (!json_is_object(v)) {
		if (what)
			return occo_err_set(err, OCCO_EPROTO,
					    "%s: instance record '%s' is not a JSON object", what,
					    node_id);
		return occo_err_set(err, OCCO_EPROTO, "instance record '%s' is not a JSON object",
				    node_id);
	}
	/* check first, so that a bad record leaves what was there */
	json_object_foreach ((json_t *)v, k, x) {
		if (!(want = member_wants(member_of(k), x)))
			continue;
		if (!(flags & IB_RECORD_LENIENT))
			return bad_member(what, node_id, k, want, err);
		if (!partial++) /* the first, for the caller's warning */
			bad_member(what, node_id, k, want, err);
	}
	rec = ib_records_add(s, node_id);
	json_object_foreach ((json_t *)v, k, x) {
		const char *str = json_string_value(x);

		if (member_wants(member_of(k), x))
			continue; /* lenient: left out */
		switch (member_of(k)) {
		case M_NODE_ID: /* the field is the key */
			break;
		case M_NAME:
			rec->name = ib_records_intern(s, str);
			break;
		case M_TYPE:
			rec->type = ib_records_intern(s, str);
			break;
		case M_STATE:
			rec->state = ib_records_intern(s, str);
			break;
		case M_DEF_INDEX:
			rec->def_index = json_is_integer(x) ? (int)json_integer_value(x) : -1;
			break;
		case M_RESOURCE:
			ib_record_set_json(&rec->resource, json_is_null(x) ? NULL : x);
			break;
		case M_CONFIG_MANAGEMENT:
			ib_record_set_json(&rec->config_management, json_is_null(x) ? NULL : x);
			break;
		case M_HEALTH_CHECK:
			ib_record_set_json(&rec->health_check, json_is_null(x) ? NULL : x);
			break;
		case M_PUBLISHED:
			ib_record_set_json(&rec->published, json_is_null(x) ? NULL : x);
			break;
		case M_ADDRESSES:
			ib_record_set_json(&rec->addresses, json_is_null(x) ? NULL : x);
			break;
		case M_TOKEN:
			ib_record_set_str(&rec->token, str);
			break;
		case M_INSTANCE_ID:
			ib_record_set_str(&rec->instance_id, str);
			break;
		case M_PRIVATE_ADDRESS:
			ib_record_set_str(&rec->private_address, str);
			break;
		case M_ERROR:
			ib_record_set_str(&rec->error, str);
			break;
		case M_CREATED_AT:
			rec->created_at = json_integer_value(x);
			break;
		case M_READY_AT:
			rec->ready_at = json_integer_value(x);
			break;
		case M_HEALTH_FAILED:
			rec->health_failed = json_is_true(x);
			break;
		case M_HEALTH_FAILING:
			rec->health_failing = json_is_true(x);
			break;
		default:
			if (!rec->extra)
				rec->extra = json_object();
			json_object_set(rec->extra, k, x);
			break;
		}
	}
	return partial ? 1 : 0;
}

int ib_records_load_json(struct ib_records *s, const json_t *obj, struct occo_err *err)
{
	const char *id;
	json_t *v;
	int rc;

	if (!json_is_object(obj))
		return occo_err_set(err, OCCO_EPROTO, "the instance records are not a JSON object");
	json_object_foreach ((json_t *)obj, id, v)
		if ((rc = ib_records_put_json(s, id, v, NULL, err)) < 0)
			return rc;
	return 0;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_t *x = v ? json_string(v) : json_null();

	if (!x) { /* not UTF-8 (a cloud's message cut short): what dump() writes, U+FFFD */
		size_t n = strlen(v);
		char *text = occo_malloc(OCCO_JSON_ESCAPED_MAX(n));

		occo_json_escape(text, v, n);
		x = json_loads(text, JSON_DECODE_ANY, NULL);
		free(text);
	}
	json_object_set_new(o, k, x ? x : json_null());
}

json_t *ib_record_to_json(const struct ib_record *rec)
{
	json_t *o = json_object();
	const char *k;
	json_t *x;

	json_object_set_new(o, "node_id", json_string(rec->node_id));
	if (rec->name)
		set_str(o, "name", rec->name);
	if (rec->type)
		set_str(o, "type", rec->type);
	if (rec->def_index >= 0)
		json_object_set_new(o, "def_index", json_integer(rec->def_index));
	if (rec->resource)
		json_object_set(o, "resource", rec->resource);
	if (rec->token)
		set_str(o, "token", rec->token);
	set_str(o, "instance_id", rec->instance_id);
	json_object_set_new(o, "addresses",
			    rec->addresses ? json_incref(rec->addresses) : json_array());
	if (rec->state)
		set_str(o, "state", rec->state);
	if (rec->created_at)
		json_object_set_new(o, "created_at", json_integer(rec->created_at));
	if (rec->config_management)
		json_object_set(o, "config_management", rec->config_management);
	if (rec->health_check)
		json_object_set(o, "health_check", rec->health_check);
	if (rec->private_address)
		set_str(o, "private_address", rec->private_address);
	if (rec->ready_at)
		json_object_set_new(o, "ready_at", json_integer(rec->ready_at));
	if (rec->published)
		json_object_set(o, "published", rec->published);
	if (rec->error)
		set_str(o, "error", rec->error);
	if (rec->health_failed)
		json_object_set_new(o, "health_failed", json_true());
	if (rec->health_failing)
		json_object_set_new(o, "health_failing", json_true());
	json_object_foreach (rec->extra, k, x)
		if (!json_object_get(o, k))
			json_object_set(o, k, x);
	return o;
}

json_t *ib_records_to_json(const struct ib_records *s)
{
	json_t *o = json_object();
	struct ib_record *rec;

	ib_records_foreach (s, rec)
		json_object_set_new(o, rec->node_id, ib_record_to_json(rec));
	return o;
}

/* ---- compact JSON text, written directly ---- */

/* A JSON string; bytes that are not UTF-8 become U+FFFD (util/json.h). */
static int put_string(struct occo_buf *b, const char *s, struct occo_err *err)
{
	size_t n = strlen(s), need = OCCO_JSON_ESCAPED_MAX(n);
	char stack[512], *text = need <= sizeof(stack) ? stack : occo_malloc(need);
	int rc = occo_buf_append(b, text, occo_json_escape(text, s, n), err);

	if (text != stack)
		free(text);
	return rc;
}

struct dump_ctx {
	struct occo_buf *b;
	struct occo_err *err;
	int rc;
};

static int dump_cb(const char *buf, size_t size, void *data)
{
	struct dump_ctx *d = data;

	if ((d->rc = occo_buf_append(d->b, buf, size, d->err)) < 0)
		return -1;
	return 0;
}

static int put_json(struct occo_buf *b, const json_t *v, struct occo_err *err)
{
	struct dump_ctx d = { b, err, 0 };

	if (json_dump_callback(v, dump_cb, &d, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
		return d.rc < 0 ? d.rc : occo_err_set(err, OCCO_EINVAL, "cannot encode a value");
	return 0;
}

/* ,"key": */
static int put_key(struct occo_buf *b, int *first, const char *k, struct occo_err *err)
{
	int rc;

	if (!*first && (rc = occo_buf_append(b, ",", 1, err)) < 0)
		return rc;
	*first = 0;
	if ((rc = put_string(b, k, err)) < 0)
		return rc;
	return occo_buf_append(b, ":", 1, err);
}

int ib_record_dump(const struct ib_record *rec, struct occo_buf *b, struct occo_err *err)
{
	int first = 1, rc = 0, m;
	const char *k;
	json_t *x;

	if ((rc = occo_buf_append(b, "{", 1, err)) < 0)
		return rc;
	for (m = 0; m < M_N && rc == 0; m++) {
		const char *str = NULL;
		const json_t *js = NULL;
		int64_t num = 0;
		int have = 1, kind = 0; /* 0 string (NULL: null), 1 JSON, 2 integer, 3 true */

		switch (m) {
		case M_NODE_ID:
			str = rec->node_id;
			break;
		case M_NAME:
			have = (str = rec->name) != NULL;
			break;
		case M_TYPE:
			have = (str = rec->type) != NULL;
			break;
		case M_DEF_INDEX:
			have = rec->def_index >= 0, kind = 2, num = rec->def_index;
			break;
		case M_RESOURCE:
			have = (js = rec->resource) != NULL, kind = 1;
			break;
		case M_TOKEN:
			have = (str = rec->token) != NULL;
			break;
		case M_INSTANCE_ID:
			str = rec->instance_id; /* null until the cloud gives one */
			break;
		case M_ADDRESSES:
			kind = 1, js = rec->addresses;
			break;
		case M_STATE:
			have = (str = rec->state) != NULL;
			break;
		case M_CREATED_AT:
			have = rec->created_at != 0, kind = 2, num = rec->created_at;
			break;
		case M_CONFIG_MANAGEMENT:
			have = (js = rec->config_management) != NULL, kind = 1;
			break;
		case M_HEALTH_CHECK:
			have = (js = rec->health_check) != NULL, kind = 1;
			break;
		case M_PRIVATE_ADDRESS:
			have = (str = rec->private_address) != NULL;
			break;
		case M_READY_AT:
			have = rec->ready_at != 0, kind = 2, num = rec->ready_at;
			break;
		case M_PUBLISHED:
			have = (js = rec->published) != NULL, kind = 1;
			break;
		case M_ERROR:
			have = (str = rec->error) != NULL;
			break;
		case M_HEALTH_FAILED:
			have = rec->health_failed, kind = 3;
			break;
		case M_HEALTH_FAILING:
			have = rec->health_failing, kind = 3;
			break;
		}
		if (!have)
			continue;
		if ((rc = put_key(b, &first, member_names[m], err)) < 0)
			break;
		if (kind == 0)
			rc = str ? put_string(b, str, err) : occo_buf_appends(b, "null", err);
		else if (kind == 1)
			rc = js ? put_json(b, js, err) : occo_buf_appends(b, "[]", err);
		else if (kind == 2)
			rc = occo_buf_appendf(b, err, "%" PRId64, num);
		else
			rc = occo_buf_appends(b, "true", err);
	}
	json_object_foreach (rec->extra, k, x) {
		if (rc < 0)
			break;
		if (member_of(k) >= 0)
			continue;
		if ((rc = put_key(b, &first, k, err)) == 0)
			rc = put_json(b, x, err);
	}
	if (rc < 0)
		return rc;
	return occo_buf_append(b, "}", 1, err);
}

/* ---- grouped by node name ---- */

static int ref_cmp(const void *a, const void *b)
{
	const struct ib_record_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

void ib_record_refs_sort(struct ib_record_ref *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), ref_cmp);
}

size_t ib_record_refs_run(const struct ib_record_ref *v, size_t n, const char *name, size_t *first)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = lo;
	while (hi < n && !strcmp(v[hi].name, name))
		hi++;
	return hi - lo;
}
