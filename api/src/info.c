/*
 * info.c - the information keys (info.h): a table of keys, each with the arguments it needs,
 * whether it needs the clouds' live view, and the function that makes the answer.
 *
 * Every key of an infrastructure costs one snapshot (one round trip); the live ones add one
 * list per cloud endpoint (iproc_refresh), exactly as a maintenance pass would.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/api/info.h"
#include "occo/infobroker/store.h"
#include "occo/infraprocessor/resolve.h"
#include "occo/util/alloc.h"

enum {
	A_INFRA = 1u << 0, /* infra_id required */
	A_NODE = 1u << 1, /* node_id required */
	A_TYPE = 1u << 2, /* node_type required */
	LIVE = 1u << 3, /* refresh from the clouds first */
};

struct query;

struct key {
	const char *name;
	unsigned flags;
	/* the answer, from q->inf (loaded, refreshed when LIVE) or q->defs */
	json_t *(*answer)(struct query *q, struct occo_err *err);
};

struct query {
	struct api_engine *e;
	const struct key *key;
	json_t *args;
	api_info_fn cb;
	void *ud;
	struct api_infra *inf;
	json_t *defs; /* node.definition*: what is stored for the type */
	json_t *records; /* the records as JSON, made when first asked for */
	json_t *record; /* node_id's record as JSON, made when first asked for */
	uv_timer_t timer; /* answers that need no store still come later, on the loop */
};

static const char *arg(const struct query *q, const char *name)
{
	return json_string_value(json_object_get(q->args, name));
}

/* All the records as stored ({node_id: record}), for the keys of the whole infrastructure. */
static const json_t *records(struct query *q)
{
	if (!q->records)
		q->records = ib_records_to_json(iproc_infra_records(q->inf->in));
	return q->records;
}

/* Is there a record of node_id? Else an error. */
static int has_record(const struct query *q, struct occo_err *err)
{
	if (ib_records_get(iproc_infra_records(q->inf->in), arg(q, "node_id")))
		return 1;
	occo_err_set(err, OCCO_ENOENT, "no node instance '%s' in infrastructure '%s'",
		     arg(q, "node_id"), arg(q, "infra_id"));
	return 0;
}

/* The record of node_id as stored (that one alone made into JSON), or an error. */
static const json_t *record(struct query *q, struct occo_err *err)
{
	const struct ib_record *rec;

	if (!has_record(q, err))
		return NULL;
	rec = ib_records_get(iproc_infra_records(q->inf->in), arg(q, "node_id"));
	if (!q->record)
		q->record = ib_record_to_json(rec);
	return q->record;
}

/* {node name: {}} for every node of the description, in its order. */
static json_t *by_name(const struct query *q)
{
	json_t *out = json_object(), *n;
	size_t i;

	json_array_foreach (json_object_get(q->inf->desc, "nodes"), i, n)
		json_object_set_new(out, json_string_value(json_object_get(n, "name")),
				    json_object());
	return out;
}

/* Put `v` (taken) under out[record's name][node_id]. */
static void put(json_t *out, const char *node_id, const json_t *rec, json_t *v)
{
	const char *name = json_string_value(json_object_get(rec, "name"));
	json_t *m = json_object_get(out, name ? name : "");

	if (!m) {
		m = json_object();
		json_object_set_new(out, name ? name : "", m);
	}
	json_object_set_new(m, node_id, v);
}

static json_t *a_defs_all(struct query *q, struct occo_err *err)
{
	return q->defs ? json_incref(q->defs) : json_array();
}

static json_t *a_def(struct query *q, struct occo_err *err)
{
	const char *type = arg(q, "node_type"), *fs = arg(q, "filter");
	json_t *filter = NULL, *out = NULL;
	json_error_t je;
	size_t i;

	if (fs)
		filter = json_loads(fs, 0, &je);
	if (fs && !json_is_object(filter))
		occo_err_set(err, OCCO_EINVAL, "argument 'filter': a JSON object is needed");
	else if (iproc_choose(type, q->defs, filter, &i, err) == 0)
		out = json_incref(json_array_get(q->defs, i));
	json_decref(filter);
	return out;
}

static json_t *a_desc(struct query *q, struct occo_err *err)
{
	return json_incref(q->inf->desc);
}

static json_t *a_name(struct query *q, struct occo_err *err)
{
	return json_incref(json_object_get(q->inf->desc, "name"));
}

static json_t *a_started(struct query *q, struct occo_err *err)
{
	return json_boolean(ib_records_count(iproc_infra_records(q->inf->in)) > 0);
}

static json_t *a_instances(struct query *q, struct occo_err *err)
{
	json_t *out = by_name(q), *rec;
	const char *id;

	json_object_foreach ((json_t *)records(q), id, rec)
		put(out, id, rec, json_incref(rec));
	return out;
}

static json_t *a_state(struct query *q, struct occo_err *err)
{
	json_t *out = by_name(q), *rec, *copy;
	const char *id;

	json_object_foreach ((json_t *)records(q), id, rec) {
		copy = json_copy(rec);
		json_object_set(copy, "resource_address", json_object_get(rec, "addresses"));
		put(out, id, rec, copy);
	}
	return out;
}

static json_t *a_userinfo(struct query *q, struct occo_err *err)
{
	json_t *out = by_name(q), *rec, *first;
	const char *id;

	json_object_foreach ((json_t *)records(q), id, rec) {
		first = json_array_get(json_object_get(rec, "addresses"), 0);
		put(out, id, rec, first ? json_incref(first) : json_null());
	}
	return out;
}

static json_t *a_cms(struct query *q, struct occo_err *err)
{
	json_t *out = json_array(), *rec, *cm, *x;
	const char *id;
	size_t i;
	int seen;

	json_object_foreach ((json_t *)records(q), id, rec) {
		cm = json_object_get(rec, "config_management");
		seen = 0;
		json_array_foreach (out, i, x)
			seen |= json_equal(x, cm);
		if (cm && !seen)
			json_array_append(out, cm);
	}
	if (!json_array_size(out))
		json_array_append_new(out,
				      json_pack("{s:s,s:s}", "type", "dummy", "endpoint", "null"));
	return out;
}

static int matches(const struct query *q, const char *id, const json_t *rec)
{
	const char *name = arg(q, "name"), *node_id = arg(q, "node_id");

	return (!name || !strcmp(name, json_string_value(json_object_get(rec, "name")))) &&
	       (!node_id || !strcmp(node_id, id));
}

static json_t *a_find(struct query *q, struct occo_err *err)
{
	json_t *out = json_array(), *rec;
	const char *id;

	json_object_foreach ((json_t *)records(q), id, rec)
		if (matches(q, id, rec))
			json_array_append(out, rec);
	return out;
}

static json_t *a_find_one(struct query *q, struct occo_err *err)
{
	json_t *all = a_find(q, err), *first = json_incref(json_array_get(all, 0));

	json_decref(all);
	if (!first)
		occo_err_set(err, OCCO_ENOENT, "no node instance matches in infrastructure '%s'",
			     arg(q, "infra_id"));
	return first;
}

/* The value of one field of the node's record (null when it has none). */
static json_t *field(struct query *q, const char *name, struct occo_err *err)
{
	const json_t *rec = record(q, err), *v;

	if (!rec)
		return NULL;
	v = json_object_get(rec, name);
	return v ? json_incref((json_t *)v) : json_null();
}

static json_t *a_node_state(struct query *q, struct occo_err *err)
{
	return field(q, "state", err);
}

static json_t *a_resource_state(struct query *q, struct occo_err *err)
{
	const json_t *rec = record(q, err);
	const char *s;

	if (!rec)
		return NULL;
	s = json_string_value(json_object_get(rec, "state"));
	return json_string(s ? s : "unknown");
}

static json_t *a_addresses(struct query *q, struct occo_err *err)
{
	json_t *v = field(q, "addresses", err);

	if (v && !json_is_array(v)) {
		json_decref(v);
		v = json_array();
	}
	return v;
}

static json_t *a_private(struct query *q, struct occo_err *err)
{
	return field(q, "private_address", err);
}

static json_t *a_first_address(struct query *q, struct occo_err *err)
{
	json_t *all = a_addresses(q, err), *first;

	if (!all)
		return NULL;
	first = json_array_get(all, 0);
	first = first ? json_incref(first) : json_null();
	json_decref(all);
	return first;
}

static json_t *a_backend(struct query *q, struct occo_err *err)
{
	return json_string("redis");
}

static const struct key keys[] = {
	{ "node.definition.all", A_TYPE, a_defs_all },
	{ "node.definition", A_TYPE, a_def },
	{ "infrastructure.static_description", A_INFRA, a_desc },
	{ "infrastructure.name", A_INFRA, a_name },
	{ "infrastructure.started", A_INFRA, a_started },
	{ "infrastructure.node_instances", A_INFRA, a_instances },
	{ "infrastructure.state", A_INFRA | LIVE, a_state },
	{ "infrastructure.userinfo", A_INFRA | LIVE, a_userinfo },
	{ "config_managers", A_INFRA, a_cms },
	{ "node.find", A_INFRA, a_find },
	{ "node.find_one", A_INFRA, a_find_one },
	{ "node.state", A_INFRA | A_NODE | LIVE, a_node_state },
	{ "node.resource.state", A_INFRA | A_NODE | LIVE, a_resource_state },
	{ "node.resource.address", A_INFRA | A_NODE | LIVE, a_addresses },
	{ "node.resource.ip_address", A_INFRA | A_NODE | LIVE, a_private },
	{ "node.address", A_INFRA | A_NODE | LIVE, a_first_address },
	{ "uds.backend_type", 0, a_backend },
	{ NULL, 0, NULL },
};

const char *const *api_info_keys(void)
{
	static const char *names[sizeof(keys) / sizeof(keys[0])];
	size_t i;

	for (i = 0; keys[i].name; i++)
		names[i] = keys[i].name;
	return names;
}

static void timer_closed(uv_handle_t *h)
{
	struct query *q = h->data;

	json_decref(q->args);
	json_decref(q->defs);
	json_decref(q->records);
	json_decref(q->record);
	free(q);
}

/* Answer (or fail with `failure`), then release everything. */
static void finish(struct query *q, const struct occo_err *failure)
{
	struct occo_err err;
	json_t *v = NULL;

	if (!failure) {
		memset(&err, 0, sizeof(err));
		v = q->key->answer(q, &err);
		if (!v) {
			occo_err_prefix(&err, "%s", q->key->name);
			failure = &err;
		}
	}
	q->cb(v, failure, q->ud);
	api_infra_close(q->inf);
	q->inf = NULL;
	uv_close((uv_handle_t *)&q->timer, timer_closed);
}

static void refreshed(const struct occo_err *err, void *ud)
{
	finish(ud, err);
}

static void loaded(struct api_infra *inf, const struct occo_err *err, void *ud)
{
	struct query *q = ud;
	struct occo_err e;

	q->inf = inf;
	if (err) {
		occo_err_copy(&e, err);
		if (e.code == OCCO_ENOENT)
			occo_err_set(&e, OCCO_ENOENT, "unknown infrastructure '%s'",
				     arg(q, "infra_id"));
		finish(q, &e);
		return;
	}
	if (!(q->key->flags & LIVE) || (q->key->flags & A_NODE && !has_record(q, &e)))
		finish(q, (q->key->flags & LIVE) ? &e : NULL);
	else if (iproc_refresh(inf->in, refreshed, q, &e) < 0)
		finish(q, &e);
}

static void defs_got(json_t *defs, const struct occo_err *err, void *ud)
{
	struct query *q = ud;

	q->defs = defs;
	finish(q, err);
}

static void on_timer(uv_timer_t *t)
{
	finish(t->data, NULL);
}

int api_info_get(struct api_engine *e, const char *key, const json_t *args, api_info_fn cb,
		 void *ud, struct occo_err *err)
{
	static const struct {
		unsigned flag;
		const char *name;
	} required[] = { { A_INFRA, "infra_id" }, { A_NODE, "node_id" }, { A_TYPE, "node_type" } };
	const struct key *k;
	struct query *q;
	const char *name;
	json_t *v;
	size_t i;
	int rc;

	for (k = keys; k->name && strcmp(k->name, key); k++)
		;
	if (!k->name)
		return occo_err_set(err, OCCO_ENOENT, "unknown key '%s'", key);
	json_object_foreach ((json_t *)args, name, v)
		if (!json_is_string(v))
			return occo_err_set(err, OCCO_EINVAL, "%s: argument '%s' must be a string",
					    key, name);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if ((k->flags & required[i].flag) &&
		    !json_string_length(json_object_get(args, required[i].name)))
			return occo_err_set(err, OCCO_EINVAL, "%s: argument '%s' is required", key,
					    required[i].name);
	q = occo_calloc(1, sizeof(*q));
	q->e = e;
	q->key = k;
	q->args = args ? json_deep_copy(args) : json_object();
	q->cb = cb;
	q->ud = ud;
	uv_timer_init(&e->app->loop, &q->timer);
	q->timer.data = q;
	if (k->flags & A_INFRA)
		rc = api_infra_load(e, arg(q, "infra_id"), loaded, q, err);
	else if (k->flags & A_TYPE)
		rc = ib_nodedef_get(e->app->redis, e->app->cfg.ns, arg(q, "node_type"), defs_got, q,
				    err);
	else
		rc = uv_timer_start(&q->timer, on_timer, 0, 0) < 0
			     ? occo_err_set(err, OCCO_EIO, "cannot start a timer")
			     : 0;
	if (rc < 0) {
		q->cb = NULL;
		uv_close((uv_handle_t *)&q->timer, timer_closed);
	}
	return rc;
}
