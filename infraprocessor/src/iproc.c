/*
 * iproc.c - create, drop and refresh instances of one infrastructure (see iproc.h).
 *
 * Lifetimes: the iproc_infra is reference counted. Every asynchronous step (a batch write, a
 * cloud call, the poll timer) holds a reference, so that a cloud answering after
 * iproc_infra_close() finds its context still there, sees it closed and only lets go. User
 * callbacks run once: at completion, or with -OCCO_ECANCELED when the infra is closed first.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/infobroker/batch.h"
#include "occo/infobroker/record.h"
#include "occo/infraprocessor/health.h"
#include "occo/infraprocessor/helpers.h"
#include "occo/infraprocessor/iproc.h"
#include "occo/infraprocessor/resolve.h"
#include "occo/util/alloc.h"
#include "occo/util/json.h"
#include "occo/util/clock.h"
#include "occo/util/config.h"
#include "occo/util/id.h"
#include "occo/util/log.h"

#define DEFAULT_POLL_MS 1000
#define FIRST_POLL_MS 20 /* the shortest delay between two polls */
/*
 * A waiting instance is looked at again after 1/POLL_SHARE of the time it has waited so far
 * (between FIRST_POLL_MS and poll_ms): the time lost between the moment it is ready and the
 * moment we see it stays under 1/POLL_SHARE of the cloud's own latency, for a number of polls
 * that grows only with the logarithm of the wait.
 */
#define POLL_SHARE 8
#define DEFAULT_CREATE_TIMEOUT_MS (600u * 1000u)
#define HEALTH_WINDOW 4096 /* health checks of a refresh out at once */

enum op_kind { OP_CREATE, OP_DROP };

/* A create or a drop in flight. */
struct op {
	enum op_kind kind;
	struct iproc_infra *in;
	struct op *prev, *next; /* in->ops */
	int refs;
	int done; /* the user callback ran */
	int waiting; /* create: the instance exists, waiting for ready */
	char node_id[OCCO_UUID_STRLEN + 1];
	char *name;
	char *token;
	char *endpoint;
	uint64_t deadline;
	uint64_t timeout_ms; /* the creation deadline, from now */
	uint64_t wait_since; /* create: when the cloud accepted it (monotonic ms) */
	struct iproc_resolved res;
	iproc_node_fn cb;
	void *ud;
};

struct iproc_infra {
	uv_loop_t *loop;
	const struct iproc_cloud *cloud;
	const struct iproc_cm *cm; /* may be NULL */
	struct hc *hc; /* may be NULL: no health checks */
	json_t *health; /* node_id -> {first_fail_ms, fails}: the failing ones */
	struct ib_batch *batch;
	const struct occo_config *cfg;
	struct iproc_opts o;
	json_t *desc, *defs;
	struct ib_records *records;
	struct occo_json_index by_name; /* node name -> node of the description */
	json_t *view; /* for getip & co.; NULL when records changed */
	const char *infra_id;
	struct iproc_helpers helpers;
	uv_timer_t poll;
	int polling; /* a poll is scheduled or lists are out */
	int lists_out; /* lists of the current poll not answered yet */
	struct op *ops;
	int refs;
	int closed;
};

static void in_ref(struct iproc_infra *in)
{
	in->refs++;
}

static void in_free(struct iproc_infra *in)
{
	json_decref(in->desc);
	ib_records_free(in->records);
	json_decref(in->defs);
	occo_json_index_release(&in->by_name);
	json_decref(in->view);
	json_decref(in->health);
	free(in);
}

static void in_unref(struct iproc_infra *in)
{
	if (--in->refs == 0)
		in_free(in);
}

static void op_unref(struct op *op)
{
	if (--op->refs > 0)
		return;
	iproc_resolved_release(&op->res);
	free(op->name);
	free(op->token);
	free(op->endpoint);
	in_unref(op->in);
	free(op);
}

static struct op *op_new(struct iproc_infra *in, enum op_kind kind, iproc_node_fn cb, void *ud)
{
	struct op *op = occo_calloc(1, sizeof(*op));

	op->kind = kind;
	op->in = in;
	op->refs = 1; /* the list's */
	op->cb = cb;
	op->ud = ud;
	in_ref(in);
	op->next = in->ops;
	if (in->ops)
		in->ops->prev = op;
	in->ops = op;
	return op;
}

/* Run the user callback once and take the op off the list. */
static void op_finish(struct op *op, const struct occo_err *err)
{
	struct iproc_infra *in = op->in;

	if (op->done)
		return;
	op->done = 1;
	op->waiting = 0;
	if (op->prev)
		op->prev->next = op->next;
	else
		in->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	if (op->cb)
		op->cb(op->node_id, err, op->ud);
	op_unref(op);
}

static struct ib_record *record_of(struct iproc_infra *in, const char *node_id)
{
	return ib_records_get(in->records, node_id);
}

/* Store a record (and an event when `event` is set); `cb` (may be NULL) when it is stored. */
static void store(struct iproc_infra *in, const char *node_id, const char *event, ib_done_fn cb,
		  void *ud)
{
	struct ib_record *rec = record_of(in, node_id);
	struct occo_err err;

	if (ib_batch_record_put(in->batch, in->infra_id, rec, cb, ud, &err) < 0) {
		OCCO_ERROR("cannot store an instance record", OCCO_KV("infra", in->infra_id),
			   OCCO_KV("node_id", node_id), OCCO_KV("error", err.msg));
		if (cb)
			cb(&err, ud);
		return;
	}
	if (event) {
		json_t *data = json_pack("{s:s,s:s?}", "node_id", node_id, "node_name", rec->name);

		ib_batch_event(in->batch, in->infra_id, event, data, NULL, NULL, NULL);
		json_decref(data);
	}
}

static void set_state(struct iproc_infra *in, struct ib_record *rec, const char *state)
{
	rec->state = ib_records_intern(in->records, state);
}

static const char *state_of(const struct ib_record *rec)
{
	return rec->state ? rec->state : "";
}

/* Addresses changed: what getip & co. answer must be built again. */
static void view_changed(struct iproc_infra *in)
{
	json_decref(in->view);
	in->view = NULL;
}

/* Does a definition use templates at all (else its rendering needs no view)? */
static int has_templates(const json_t *v)
{
	const char *k, *str;
	json_t *x;
	size_t i;

	if (json_is_string(v)) {
		str = json_string_value(v);
		return strstr(str, "{{") || strstr(str, "{%");
	}
	if (json_is_object(v)) {
		json_object_foreach ((json_t *)v, k, x)
			if (has_templates(x))
				return 1;
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			if (has_templates(x))
				return 1;
	}
	return 0;
}

/*
 * What a list said, found by token or instance id: an open-addressing hash of indexes into v
 * (16 bytes a slot, against some 200 for a JSON object's member), built for each answer.
 */
struct seen_index {
	const struct iproc_seen *v;
	size_t mask;
	const char **keys; /* borrowed from v */
	size_t *at;
};

static size_t key_hash(const char *k)
{
	size_t h = 1469598103934665603ull;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h ^ (h >> 29);
}

static void index_put(struct seen_index *ix, const char *key, size_t i)
{
	size_t s = key_hash(key) & ix->mask;

	while (ix->keys[s] && strcmp(ix->keys[s], key))
		s = (s + 1) & ix->mask;
	ix->keys[s] = key;
	ix->at[s] = i;
}

static void index_build(struct seen_index *ix, const struct iproc_seen *v, size_t n)
{
	size_t size = 16, i;

	while (size < 4 * n) /* two keys an instance, at most half full */
		size *= 2;
	ix->v = v;
	ix->mask = size - 1;
	ix->keys = occo_calloc(size, sizeof(*ix->keys));
	ix->at = occo_malloc(size * sizeof(*ix->at));
	for (i = 0; i < n; i++) {
		if (v[i].token)
			index_put(ix, v[i].token, i);
		if (v[i].instance_id)
			index_put(ix, v[i].instance_id, i);
	}
}

static void index_release(struct seen_index *ix)
{
	free(ix->keys);
	free(ix->at);
}

static const struct iproc_seen *lookup(const struct seen_index *ix, const char *key)
{
	size_t s;

	if (!key)
		return NULL;
	for (s = key_hash(key) & ix->mask; ix->keys[s]; s = (s + 1) & ix->mask)
		if (!strcmp(ix->keys[s], key))
			return &ix->v[ix->at[s]];
	return NULL;
}

/* ---- the view getip & co. answer from ---- */

static int by_created(const void *a, const void *b)
{
	const struct ib_record *x = *(const struct ib_record *const *)a;
	const struct ib_record *y = *(const struct ib_record *const *)b;

	return x->created_at < y->created_at ? -1 : x->created_at > y->created_at;
}

static const json_t *view_of(struct iproc_infra *in)
{
	const struct ib_record **recs, *rec;
	size_t n = 0, i;

	if (in->view)
		return in->view;
	recs = occo_calloc(ib_records_count(in->records) + 1, sizeof(*recs));
	ib_records_foreach (in->records, rec)
		recs[n++] = rec;
	qsort(recs, n, sizeof(*recs), by_created);
	in->view = json_object();
	for (i = 0; i < n; i++) {
		const char *name = recs[i]->name;
		const json_t *addrs = recs[i]->addresses;
		json_t *list;

		if (!name || !json_array_size(addrs))
			continue;
		list = json_object_get(in->view, name);
		if (!list) {
			list = json_array();
			json_object_set_new(in->view, name, list);
		}
		json_array_append_new(list, json_pack("{s:O,s:s?}", "addresses", addrs, "private",
						      recs[i]->private_address));
	}
	free(recs);
	return in->view;
}

/* ---- open, close ---- */

static void poll_closed(uv_handle_t *h)
{
	in_unref(h->data);
}

int iproc_infra_open(uv_loop_t *loop, const struct iproc_cloud *cloud, struct ib_batch *batch,
		     const struct occo_config *cfg, const struct iproc_opts *opts, json_t *desc,
		     struct ib_records *records, json_t *defs, struct iproc_infra **out,
		     struct occo_err *err)
{
	struct iproc_infra *in;
	const char *id = json_string_value(json_object_get(desc, "infra_id"));

	if (!id) {
		json_decref(desc);
		ib_records_free(records);
		json_decref(defs);
		return occo_err_set(err, OCCO_EINVAL, "the static description has no infra_id");
	}
	in = occo_calloc(1, sizeof(*in));
	in->loop = loop;
	in->cloud = cloud;
	in->batch = batch;
	in->cfg = cfg;
	in->o.poll_ms = opts && opts->poll_ms ? opts->poll_ms : DEFAULT_POLL_MS;
	in->o.create_timeout_ms = opts && opts->create_timeout_ms ? opts->create_timeout_ms
								  : DEFAULT_CREATE_TIMEOUT_MS;
	in->desc = desc;
	in->records = records ? records : ib_records_new();
	in->defs = defs ? defs : json_object();
	in->infra_id = id;
	occo_json_index_init(&in->by_name, json_object_get(desc, "nodes"), "name");
	in->refs = 2; /* the owner's and the timer's */
	uv_timer_init(loop, &in->poll);
	in->poll.data = in;
	*out = in;
	return 0;
}

void iproc_infra_close(struct iproc_infra *in)
{
	struct occo_err err;

	if (!in)
		return;
	in->closed = 1;
	occo_err_set(&err, OCCO_ECANCELED, "infrastructure '%s': cancelled", in->infra_id);
	while (in->ops)
		op_finish(in->ops, &err);
	uv_close((uv_handle_t *)&in->poll, poll_closed);
	in_unref(in);
}

void iproc_infra_set_cm(struct iproc_infra *in, const struct iproc_cm *cm)
{
	in->cm = cm;
}

void iproc_infra_set_health(struct iproc_infra *in, struct hc *hc, json_t *health)
{
	in->hc = hc;
	json_decref(in->health);
	in->health = json_is_object(health) ? health : json_object();
	if (health && in->health != health)
		json_decref(health);
}

const struct ib_records *iproc_infra_records(const struct iproc_infra *in)
{
	return in->records;
}

const char *iproc_infra_id(const struct iproc_infra *in)
{
	return in->infra_id;
}

/* The cloud's view of a record (borrowing from it). */
static void node_of(struct iproc_infra *in, const char *node_id, const struct ib_record *rec,
		    struct iproc_node *node, struct occo_err *err)
{
	const json_t *auth = NULL;

	memset(node, 0, sizeof(*node));
	node->infra_id = in->infra_id;
	node->node_id = node_id;
	if (rec) {
		node->name = rec->name;
		node->token = rec->token;
		node->resource = rec->resource;
		node->instance_id = rec->instance_id;
	}
	if (in->cfg && occo_config_auth_select(in->cfg, "resource", node->resource, &auth, err) < 0)
		auth = NULL;
	node->auth = auth;
}

/* ---- the poller ---- */

static void schedule_poll(struct iproc_infra *in, unsigned delay_ms);
static unsigned next_delay(struct iproc_infra *in);

struct poll_list {
	struct iproc_infra *in;
	char *endpoint;
};

/* ---- health ---- */

/*
 * What the checker needs of a record (borrowed from it and the description). The record as
 * JSON is built only for a section with templates that may read it (urls, mysqldbs); the
 * caller lets it go (json_decref) after hc_check().
 */
static json_t *target_of(struct iproc_infra *in, const char *node_id, const struct ib_record *rec,
			 struct hc_target *t)
{
	const json_t *node = occo_json_index_get(&in->by_name, rec->name);
	json_t *data = NULL;

	t->section = rec->health_check;
	t->address = json_string_value(json_array_get(rec->addresses, 0));
	t->node_id = node_id;
	t->variables = json_object_get(node, "variables");
	if (json_object_get(t->section, "urls") || json_object_get(t->section, "mysqldbs"))
		data = ib_record_to_json(rec);
	t->instance_data = data;
	return data;
}

/*
 * Track a result (OCCOPUS.md 6.1): a failing node's first failure and count go to the health
 * hash, through the write batch so that they survive a restart; a passing one is taken out.
 */
static enum hc_state health_apply(struct iproc_infra *in, const char *node_id,
				  const struct ib_record *rec, const struct hc_result *res)
{
	json_t *stored = json_object_get(in->health, node_id), *v;
	struct hc_track t;
	enum hc_state st;

	hc_track_from_json(stored, &t);
	st = hc_track_apply(&t, res->ok, occo_clock_wall_ms(), hc_timeout_ms(rec->health_check));
	if (res->ok) {
		if (stored) {
			json_object_del(in->health, node_id);
			ib_batch_health_del(in->batch, in->infra_id, node_id, NULL, NULL, NULL);
		}
		return st;
	}
	v = hc_track_to_json(&t);
	json_object_set_new(v, "error", json_string(res->message));
	ib_batch_health_put(in->batch, in->infra_id, node_id, v, NULL, NULL, NULL);
	json_object_set_new(in->health, node_id, v);
	return st;
}

/*
 * The node failed its health check for longer than its timeout: state failed, with why. Said
 * (event nodefailed, a warning) when it happens, not again at each refresh of a node that the
 * enactor's guard keeps.
 */
static void health_failed(struct iproc_infra *in, const char *node_id, const char *msg,
			  struct occo_err *err)
{
	struct ib_record *rec = record_of(in, node_id);
	const char *name = rec->name;
	int again = rec->health_failed;

	occo_err_set(err, OCCO_EREMOTE, "health check failing for more than %u s: %s",
		     (unsigned)(hc_timeout_ms(rec->health_check) / 1000), msg);
	set_state(in, rec, "failed");
	rec->health_failed = 1;
	ib_record_set_str(&rec->error, err->msg);
	store(in, node_id, again ? NULL : "nodefailed", NULL, NULL);
	if (!again)
		OCCO_WARN("node failed its health check", OCCO_KV("infra", in->infra_id),
			  OCCO_KV("node", name), OCCO_KV("node_id", node_id),
			  OCCO_KV("error", err->msg));
	occo_err_prefix(err, "node '%s'", name ? name : "?");
}

/* The instance is ready: done. */
static void mark_ready(struct op *op)
{
	struct ib_record *rec = record_of(op->in, op->node_id);

	set_state(op->in, rec, "ready");
	rec->ready_at = (int64_t)occo_clock_wall_ms();
	store(op->in, op->node_id, "nodecreated", NULL, NULL);
	op_finish(op, NULL);
}

static void fail_op(struct op *op, const struct occo_err *err)
{
	struct ib_record *rec = record_of(op->in, op->node_id);

	set_state(op->in, rec, "failed");
	ib_record_set_str(&rec->error, err->msg);
	store(op->in, op->node_id, "nodefailed", NULL, NULL);
	op_finish(op, err);
}

static void op_checked(const struct hc_result *res, const struct occo_err *err, void *ud)
{
	struct op *op = ud;
	struct iproc_infra *in = op->in;
	struct occo_err e;
	enum hc_state st;

	if (err || op->done || in->closed) {
		op_unref(op);
		return;
	}
	st = health_apply(in, op->node_id, record_of(in, op->node_id), res);
	if (st == HC_READY) {
		mark_ready(op);
	} else if (st == HC_FAILED) {
		health_failed(in, op->node_id, res->message, &e);
		op_finish(op, &e);
	} else if (occo_clock_now_ms() >= op->deadline) {
		occo_err_set(&e, OCCO_ETIMEDOUT, "node '%s': not ready after %u s: %s", op->name,
			     (unsigned)(op->timeout_ms / 1000), res->message);
		fail_op(op, &e);
	} else {
		op->waiting = 1; /* look again at the next poll */
		schedule_poll(in, next_delay(in));
	}
	op_unref(op);
}

/* Running and configured: ready once the health check passes (without a checker, at once). */
static void check_health(struct op *op)
{
	struct iproc_infra *in = op->in;
	struct hc_target t;
	struct occo_err err;
	json_t *data;
	int rc;

	if (!in->hc) {
		mark_ready(op);
		return;
	}
	op->waiting = 0;
	data = target_of(in, op->node_id, record_of(in, op->node_id), &t);
	op->refs++;
	rc = hc_check(in->hc, &t, op_checked, op, &err);
	json_decref(data);
	if (rc < 0) {
		op->refs--;
		occo_err_prefix(&err, "node '%s': health check", op->name);
		fail_op(op, &err);
	}
}

static void configured(const char *state, const struct occo_err *err, void *ud)
{
	struct op *op = ud;
	struct iproc_infra *in = op->in;
	struct occo_err e;

	if (op->done || in->closed) {
		op_unref(op);
		return;
	}
	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "node '%s': config manager", op->name);
		set_state(in, record_of(in, op->node_id), "failed");
		store(in, op->node_id, "nodefailed", NULL, NULL);
		op_finish(op, &e);
	} else if (!strcmp(state, "ready")) {
		check_health(op);
	} else {
		op->waiting = 1; /* not configured yet: look again at the next poll */
		schedule_poll(in, next_delay(in));
	}
	op_unref(op);
}

/* The cloud says the instance runs: ready once the config manager agrees. */
static void running(struct op *op)
{
	struct iproc_infra *in = op->in;
	struct iproc_node node;
	struct occo_err err;

	if (!in->cm) {
		check_health(op);
		return;
	}
	op->waiting = 0;
	node_of(in, op->node_id, record_of(in, op->node_id), &node, &err);
	op->refs++;
	if (in->cm->state(in->cm->impl, &node, op->res.config_management, configured, op, &err) <
	    0) {
		op->refs--;
		occo_err_prefix(&err, "node '%s': config manager", op->name);
		set_state(in, record_of(in, op->node_id), "failed");
		store(in, op->node_id, "nodefailed", NULL, NULL);
		op_finish(op, &err);
	}
}

/* Apply what a list said to the waiting creates of its endpoint. */
static void apply_poll(struct iproc_infra *in, const char *endpoint, const struct iproc_seen *v,
		       size_t n)
{
	uint64_t now = occo_clock_now_ms();
	struct seen_index idx;
	struct op *op, *next;

	index_build(&idx, v, n);
	for (op = in->ops; op; op = next) {
		const struct iproc_seen *found;
		struct ib_record *rec;
		struct occo_err err;

		next = op->next;
		if (op->kind != OP_CREATE || !op->waiting || strcmp(op->endpoint, endpoint))
			continue;
		rec = record_of(in, op->node_id);
		found = lookup(&idx, op->token);
		if (found && !strcmp(found->state, "ready")) {
			ib_record_set_json(&rec->addresses, found->addresses);
			if (found->private_address)
				ib_record_set_str(&rec->private_address, found->private_address);
			if (found->published)
				ib_record_set_json(&rec->published, found->published);
			view_changed(in);
			running(op);
		} else if (found &&
			   (!strcmp(found->state, "failed") || !strcmp(found->state, "shutdown"))) {
			set_state(in, rec, found->state);
			occo_err_set(&err, OCCO_EREMOTE, "node '%s': instance %s is %s%s%s",
				     op->name, rec->instance_id ? rec->instance_id : "?",
				     found->state, found->message ? ": " : "",
				     found->message ? found->message : "");
			ib_record_set_str(&rec->error, err.msg);
			store(in, op->node_id, "nodefailed", NULL, NULL);
			op_finish(op, &err);
		} else if (now >= op->deadline) {
			set_state(in, rec, "failed");
			occo_err_set(&err, OCCO_ETIMEDOUT, "node '%s': not ready after %u s",
				     op->name, (unsigned)(op->timeout_ms / 1000));
			ib_record_set_str(&rec->error, err.msg);
			store(in, op->node_id, "nodefailed", NULL, NULL);
			op_finish(op, &err);
		}
	}
	index_release(&idx);
}

static int any_waiting(const struct iproc_infra *in)
{
	const struct op *op;

	for (op = in->ops; op; op = op->next)
		if (op->kind == OP_CREATE && op->waiting)
			return 1;
	return 0;
}

/* The delay before the next poll: a share of the shortest wait so far (POLL_SHARE). */
static unsigned next_delay(struct iproc_infra *in)
{
	uint64_t now = occo_clock_now_ms(), youngest = UINT64_MAX, d;
	const struct op *op;

	for (op = in->ops; op; op = op->next)
		if (op->kind == OP_CREATE && op->waiting && now - op->wait_since < youngest)
			youngest = now - op->wait_since;
	d = youngest == UINT64_MAX ? in->o.poll_ms : youngest / POLL_SHARE;
	if (d < FIRST_POLL_MS)
		d = FIRST_POLL_MS;
	return d < in->o.poll_ms ? (unsigned)d : in->o.poll_ms;
}

static void poll_listed(const struct iproc_seen *v, size_t n, const struct occo_err *err, void *ud)
{
	struct poll_list *pl = ud;
	struct iproc_infra *in = pl->in;

	if (!in->closed) {
		if (err)
			OCCO_WARN("cannot learn the state of instances",
				  OCCO_KV("infra", in->infra_id), OCCO_KV("endpoint", pl->endpoint),
				  OCCO_KV("error", err->msg));
		else
			apply_poll(in, pl->endpoint, v, n);
		if (--in->lists_out == 0) {
			in->polling = 0;
			if (any_waiting(in))
				schedule_poll(in, next_delay(in));
		}
	}
	free(pl->endpoint);
	free(pl);
	in_unref(in);
}

/* One list per endpoint with waiting creates. */
static void poll_now(uv_timer_t *t)
{
	struct iproc_infra *in = t->data;
	json_t *seen = json_object();
	struct op *op;

	for (op = in->ops; op; op = op->next) {
		struct poll_list *pl;
		struct iproc_node node;
		struct occo_err err;

		if (op->kind != OP_CREATE || !op->waiting || json_object_get(seen, op->endpoint))
			continue;
		json_object_set_new(seen, op->endpoint, json_true());
		node_of(in, op->node_id, record_of(in, op->node_id), &node, &err);
		pl = occo_calloc(1, sizeof(*pl));
		pl->in = in;
		pl->endpoint = occo_strdup(op->endpoint);
		in_ref(in);
		in->lists_out++;
		if (in->cloud->list(in->cloud->impl, &node, poll_listed, pl, &err) < 0) {
			OCCO_WARN("cannot list instances", OCCO_KV("infra", in->infra_id),
				  OCCO_KV("error", err.msg));
			in->lists_out--;
			free(pl->endpoint);
			free(pl);
			in_unref(in);
		}
	}
	json_decref(seen);
	if (in->lists_out == 0) {
		in->polling = 0;
		if (any_waiting(in))
			schedule_poll(in, next_delay(in));
	}
}

static void schedule_poll(struct iproc_infra *in, unsigned delay_ms)
{
	if (in->polling || in->closed)
		return;
	in->polling = 1;
	uv_timer_start(&in->poll, poll_now, delay_ms, 0);
}

/* ---- create ---- */

static void created(const char *instance_id, const struct occo_err *err, void *ud)
{
	struct op *op = ud;
	struct iproc_infra *in = op->in;
	struct ib_record *rec;

	if (op->done || in->closed) {
		op_unref(op);
		return;
	}
	rec = record_of(in, op->node_id);
	if (err) {
		set_state(in, rec, "failed");
		ib_record_set_str(&rec->error, err->msg);
		store(in, op->node_id, "nodefailed", NULL, NULL);
		op_finish(op, err);
	} else {
		ib_record_set_str(&rec->instance_id, instance_id);
		set_state(in, rec, "pending");
		store(in, op->node_id, NULL, NULL, NULL);
		op->waiting = 1;
		op->wait_since = occo_clock_now_ms();
		/* the first look at once: fast clouds are ready by then */
		schedule_poll(in, 0);
	}
	op_unref(op);
}

/* The record is stored: now the cloud may be asked (DESIGN.md, "Crash safety"). */
static void record_stored(const struct occo_err *err, void *ud)
{
	struct op *op = ud;
	struct iproc_infra *in = op->in;
	struct iproc_node node;
	struct occo_err e;

	if (op->done || in->closed) {
		op_unref(op);
		return;
	}
	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "node '%s': cannot store its record", op->name);
		ib_records_del(in->records, op->node_id);
		op_finish(op, &e);
		op_unref(op);
		return;
	}
	node_of(in, op->node_id, record_of(in, op->node_id), &node, &e);
	node.user_data = op->res.user_data;
	node.attributes = op->res.attributes;
	op->refs++;
	if (in->cloud->create(in->cloud->impl, &node, created, op, &e) < 0) {
		op->refs--;
		created(NULL, &e, op); /* the same path as a failure of the cloud */
		return;
	}
	op_unref(op);
}

int iproc_create_node(struct iproc_infra *in, const char *name, iproc_node_fn cb, void *ud,
		      struct occo_err *err)
{
	const json_t *node = occo_json_index_get(&in->by_name, name);
	const char *type;
	struct op *op;
	struct ib_record *rec;
	int rc;

	if (in->closed)
		return occo_err_set(err, OCCO_ESTATE, "the infrastructure is closed");
	if (!node)
		return occo_err_set(err, OCCO_ENOENT, "no node '%s' in infrastructure '%s'", name,
				    in->infra_id);
	type = json_string_value(json_object_get(node, "type"));
	op = op_new(in, OP_CREATE, cb, ud);
	op->name = occo_strdup(name);
	if ((rc = occo_uuid4(op->node_id, err)) < 0)
		goto fail;
	op->token = occo_asprintf("occo-%s", op->node_id);
	iproc_helpers_init(&in->helpers,
			   has_templates(json_object_get(in->defs, type)) ? view_of(in) : NULL);
	rc = iproc_resolve(node, json_object_get(in->defs, type), op->node_id,
			   iproc_helpers_env(&in->helpers), &op->res, err);
	if (rc < 0)
		goto fail;
	op->endpoint = in->cloud->endpoint_key(in->cloud->impl, op->res.resource);
	{
		/* the definition's own create_timeout (seconds), else the program's */
		const json_t *t = json_object_get(
			json_array_get(json_object_get(in->defs, type), op->res.def_index),
			"create_timeout");

		op->timeout_ms = json_integer_value(t) > 0 ? (uint64_t)json_integer_value(t) * 1000
							   : in->o.create_timeout_ms;
	}
	op->deadline = occo_clock_now_ms() + op->timeout_ms;
	rec = ib_records_add(in->records, op->node_id);
	rec->name = ib_records_intern(in->records, name);
	rec->type = ib_records_intern(in->records, type);
	rec->def_index = (int)op->res.def_index;
	ib_record_set_json(&rec->resource, op->res.resource);
	ib_record_set_str(&rec->token, op->token);
	set_state(in, rec, "creating");
	rec->created_at = (int64_t)occo_clock_wall_ms();
	ib_record_set_json(&rec->config_management, op->res.config_management);
	ib_record_set_json(&rec->health_check, op->res.health_check);
	OCCO_DEBUG("creating node", OCCO_KV("infra", in->infra_id), OCCO_KV("node", name),
		   OCCO_KV("node_id", op->node_id));
	op->refs++;
	store(in, op->node_id, "nodecreating", record_stored, op);
	return 0;
fail:
	/* nothing started: no callback */
	op->cb = NULL;
	op_finish(op, NULL);
	return rc;
}

/* ---- drop ---- */

static void drop_forgotten(const struct occo_err *err, void *ud)
{
	struct op *op = ud;

	if (!op->done && !op->in->closed)
		op_finish(op, err);
	op_unref(op);
}

static void dropped(const struct occo_err *err, void *ud)
{
	struct op *op = ud;
	struct iproc_infra *in = op->in;
	json_t *data;

	if (op->done || in->closed) {
		op_unref(op);
		return;
	}
	if (err) {
		op_finish(op, err); /* the record stays `dropping`: the next pass tries again */
		op_unref(op);
		return;
	}
	data = json_pack("{s:s,s:s?}", "node_id", op->node_id, "node_name", op->name);
	ib_records_del(in->records, op->node_id);
	view_changed(in);
	json_object_del(in->health, op->node_id);
	ib_batch_health_del(in->batch, in->infra_id, op->node_id, NULL, NULL, NULL);
	ib_batch_event(in->batch, in->infra_id, "nodedropped", data, NULL, NULL, NULL);
	json_decref(data);
	if (ib_batch_node_del(in->batch, in->infra_id, op->node_id, drop_forgotten, op, NULL) < 0) {
		op_finish(op, NULL);
		op_unref(op);
	}
}

int iproc_drop_node(struct iproc_infra *in, const char *node_id, iproc_node_fn cb, void *ud,
		    struct occo_err *err)
{
	struct ib_record *rec = record_of(in, node_id);
	struct iproc_node node;
	struct op *op;
	int rc;

	if (in->closed)
		return occo_err_set(err, OCCO_ESTATE, "the infrastructure is closed");
	if (!rec)
		return occo_err_set(err, OCCO_ENOENT, "no instance '%s' in infrastructure '%s'",
				    node_id, in->infra_id);
	op = op_new(in, OP_DROP, cb, ud);
	snprintf(op->node_id, sizeof(op->node_id), "%s", node_id);
	op->name = occo_strdup(rec->name ? rec->name : "?");
	set_state(in, rec, "dropping");
	store(in, node_id, "nodedropping", NULL, NULL);
	node_of(in, op->node_id, rec, &node, err);
	op->refs++;
	rc = in->cloud->drop(in->cloud->impl, &node, dropped, op, err);
	if (rc < 0) {
		op->refs--;
		op->cb = NULL;
		op_finish(op, NULL);
		return rc;
	}
	return 0;
}

/* ---- refresh ---- */

struct refresh {
	struct iproc_infra *in;
	iproc_done_fn cb;
	void *ud;
	int out;
	int failed;
	int checked; /* the health checks were started */
	struct occo_err err;
	char **ids; /* the instances to health-check: ready when the refresh began */
	size_t nids, next; /* next: the first not started */
};

struct refresh_list {
	struct refresh *rf;
	json_t *ids; /* node_ids of this endpoint */
};

static void refresh_apply(struct iproc_infra *in, const json_t *ids, const struct iproc_seen *v,
			  size_t n)
{
	struct seen_index idx;
	json_t *idv;
	size_t k;

	index_build(&idx, v, n);
	json_array_foreach (ids, k, idv) {
		const char *node_id = json_string_value(idv);
		struct ib_record *rec = record_of(in, node_id);
		const char *old, *iid;
		const struct iproc_seen *found;

		if (!rec)
			continue;
		iid = rec->instance_id;
		found = lookup(&idx, iid);
		if (!found)
			found = lookup(&idx, rec->token);
		old = state_of(rec); /* interned: stays valid */
		if (!strcmp(old, "dropping"))
			continue;
		if (found) {
			if (!iid) /* a crash came between the cloud's create and our record */
				ib_record_set_str(&rec->instance_id, found->instance_id);
			ib_record_set_json(&rec->addresses, found->addresses);
			if (found->published)
				ib_record_set_json(&rec->published, found->published);
			if (strcmp(found->state, "unknown"))
				set_state(in, rec, found->state);
			/* running: its health check says again whether it failed (refresh_health) */
			if (strcmp(found->state, "ready") && strcmp(found->state, "unknown"))
				rec->health_failed = 0;
		} else if (iid) {
			set_state(in, rec, "shutdown"); /* the cloud no longer has it */
			rec->health_failed = 0;
		}
		if (strcmp(old, state_of(rec)) || !iid)
			store(in, node_id, NULL, NULL, NULL);
	}
	index_release(&idx);
	view_changed(in);
}

static void refresh_end(struct refresh *rf);
static void health_more(struct refresh *rf);

struct refresh_check {
	struct refresh *rf;
	char *node_id;
};

static void refresh_checked(const struct hc_result *res, const struct occo_err *err, void *ud)
{
	struct refresh_check *rc = ud;
	struct refresh *rf = rc->rf;
	struct iproc_infra *in = rf->in;
	struct ib_record *rec = in->closed ? NULL : record_of(in, rc->node_id);
	struct occo_err e;
	enum hc_state st;

	if (!err && rec && !strcmp(state_of(rec), "ready")) {
		st = health_apply(in, rc->node_id, rec, res);
		/* failing, not for long enough to be failed yet: what the enactor's guard counts
		 * too (kept in memory, the health hash has the lasting account) */
		rec->health_failing = st == HC_PENDING && !res->ok;
		if (st == HC_FAILED) {
			health_failed(in, rc->node_id, res->message, &e);
		} else if (st == HC_READY && rec->health_failed) {
			rec->health_failed = 0;
			ib_record_set_str(&rec->error, NULL);
			store(in, rc->node_id, NULL, NULL, NULL);
		}
	}
	free(rc->node_id);
	free(rc);
	rf->out--;
	health_more(rf); /* their callbacks come later, never from inside */
	if (rf->out == 0)
		refresh_end(rf);
}

/*
 * Start checks until HEALTH_WINDOW are out or every one is started. The checker bounds the
 * probes that run; the window bounds the checks that wait for them, so that checking 100,000
 * instances holds a few thousand checks at a time, not 100,000.
 */
static void health_more(struct refresh *rf)
{
	struct iproc_infra *in = rf->in;

	while (rf->out < HEALTH_WINDOW && rf->next < rf->nids && !in->closed) {
		const char *id = rf->ids[rf->next++];
		struct ib_record *rec = record_of(in, id);
		struct refresh_check *rc;
		struct hc_target t;
		struct occo_err err;
		json_t *data;
		int failed;

		if (!rec || strcmp(state_of(rec), "ready")) /* dropped or failed meanwhile */
			continue;
		rc = occo_calloc(1, sizeof(*rc));
		rc->rf = rf;
		rc->node_id = occo_strdup(id);
		data = target_of(in, id, rec, &t);
		rf->out++;
		failed = hc_check(in->hc, &t, refresh_checked, rc, &err) < 0;
		json_decref(data);
		if (failed) {
			rf->out--;
			free(rc->node_id);
			free(rc);
			rf->next = rf->nids; /* the checker is closing: no more */
		}
	}
}

/* Check every ready instance (HEALTH_WINDOW at a time; the checker bounds the probes). */
static void refresh_health(struct refresh *rf)
{
	struct iproc_infra *in = rf->in;
	struct ib_record *rec;

	rf->checked = 1;
	rf->ids = occo_calloc(ib_records_count(in->records) + 1, sizeof(*rf->ids));
	ib_records_foreach (in->records, rec)
		if (!strcmp(state_of(rec), "ready"))
			rf->ids[rf->nids++] = occo_strdup(rec->node_id);
	rf->out = 1; /* held while the first checks are started */
	health_more(rf);
	if (--rf->out == 0)
		refresh_end(rf);
}

static void refresh_end(struct refresh *rf)
{
	struct iproc_infra *in = rf->in;

	if (!in->closed && !rf->failed && in->hc && !rf->checked) {
		refresh_health(rf); /* comes back here when every check answered */
		return;
	}
	if (!in->closed)
		rf->cb(rf->failed ? &rf->err : NULL, rf->ud);
	while (rf->nids)
		free(rf->ids[--rf->nids]);
	free(rf->ids);
	free(rf);
	in_unref(in);
}

static void refresh_listed(const struct iproc_seen *v, size_t n, const struct occo_err *err,
			   void *ud)
{
	struct refresh_list *rl = ud;
	struct refresh *rf = rl->rf;

	if (err && !rf->failed) {
		rf->failed = 1;
		occo_err_copy(&rf->err, err);
	} else if (!err && !rf->in->closed) {
		refresh_apply(rf->in, rl->ids, v, n);
	}
	json_decref(rl->ids);
	free(rl);
	if (--rf->out == 0)
		refresh_end(rf);
}

/* Finish a refresh with nothing to list on the next loop turn (never inside the call). */
static void refresh_idle(uv_timer_t *t)
{
	refresh_end(t->data);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

int iproc_refresh(struct iproc_infra *in, iproc_done_fn cb, void *ud, struct occo_err *err)
{
	json_t *groups = json_object(), *ids;
	struct ib_record *rec;
	struct refresh *rf;
	const char *ep;
	int rc = 0;

	if (in->closed)
		return occo_err_set(err, OCCO_ESTATE, "the infrastructure is closed");
	ib_records_foreach (in->records, rec) {
		char *key = in->cloud->endpoint_key(in->cloud->impl, rec->resource);

		ids = json_object_get(groups, key);
		if (!ids) {
			ids = json_array();
			json_object_set_new(groups, key, ids);
		}
		json_array_append_new(ids, json_string(rec->node_id));
		free(key);
	}
	rf = occo_calloc(1, sizeof(*rf));
	rf->in = in;
	rf->cb = cb;
	rf->ud = ud;
	rf->out = 1; /* held until every list is issued */
	in_ref(in);
	json_object_foreach (groups, ep, ids) {
		struct refresh_list *rl = occo_calloc(1, sizeof(*rl));
		const char *first = json_string_value(json_array_get(ids, 0));
		struct iproc_node node;

		node_of(in, first, record_of(in, first), &node, err);
		rl->rf = rf;
		rl->ids = json_incref(ids);
		rf->out++;
		if ((rc = in->cloud->list(in->cloud->impl, &node, refresh_listed, rl, err)) < 0) {
			rf->out--;
			json_decref(rl->ids);
			free(rl);
			break;
		}
	}
	json_decref(groups);
	if (rc < 0) {
		/* lists already issued answer later; the failure is reported through cb */
		rf->failed = 1;
		occo_err_copy(&rf->err, err);
	}
	if (--rf->out == 0) {
		uv_timer_t *t = occo_calloc(1, sizeof(*t));

		uv_timer_init(in->loop, t);
		t->data = rf;
		uv_timer_start(t, refresh_idle, 0, 0);
	}
	return 0;
}
