/*
 * core.c - the resource handler core: what every plugin gets without writing it.
 *
 * An operation (rh_create/rh_drop/rh_list) is checked against its plugin's schema, copied, and
 * queued on its endpoint ("<type> <endpoint>[ <region>]"). The endpoint lets it through when a
 * slot (max_concurrent) and a token (the rate limit, limit.h) are free, FIFO. Each attempt is a
 * struct rh_req handed to the plugin, with a deadline; a transient failure (or a deadline) is
 * retried after a full-jitter backoff, up to max_retries; the final result goes to the caller
 * with the endpoint and the node in front of the message.
 *
 * Lifetimes. An operation (struct rh_op) is referenced by the core until its callback ran, by
 * each of its two timers until their close callbacks, and by each attempt the plugin has not
 * completed yet. An attempt (struct rh_req) is freed exactly once: when the plugin completes
 * it. When the core gives up on an attempt first (deadline, rh_free) it marks it abandoned
 * and asks the plugin to cancel; the completion of an abandoned attempt, early or late, only
 * frees it. So a plugin may always complete, and the node it reads stays valid until it does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "occo/compiler/diag.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/clock.h"
#include "occo/util/id.h"
#include "occo/util/limit.h"
#include "rh_int.h"

#define DEF_MAX_CONCURRENT 32
#define DEF_OP_TIMEOUT_MS 120000
#define DEF_MAX_RETRIES 4
#define DEF_BACKOFF_MS 500
#define BACKOFF_CAP_MS 60000

struct link {
	struct link *prev, *next;
};

static void link_init(struct link *l)
{
	l->prev = l;
	l->next = l;
}

static int link_empty(const struct link *head)
{
	return head->next == head;
}

static void link_add_tail(struct link *head, struct link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void link_del(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

#define ENTRY(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

enum op_kind { OP_CREATE, OP_DROP, OP_LIST };
enum op_state { OP_QUEUED, OP_RUNNING, OP_BACKOFF, OP_DONE };

static const char *const kind_names[] = { "create", "drop", "list" };

struct rh_ep {
	struct rh_ep *next;
	struct rh *rh;
	struct link queue; /* operations waiting for a slot or a token, FIFO */
	struct occo_bucket bucket;
	uv_timer_t timer; /* runs the queue: on the next turn, or when a token is due */
	struct rh_stats stats;
	unsigned max_active; /* attempts in flight at most */
	char key[];
};

struct rh {
	struct rh_env env;
	struct rh_opts o;
	struct rh_ep *eps;
	struct link ops; /* every operation whose callback has not run */
	void **pstate; /* per plugin of rh__plugins: what ops->start made */
	size_t nplugins;
	unsigned handles; /* endpoint timers not closed yet (while closing) */
	int closing;
	int max_set; /* the program set max_concurrent: it overrides the plugins' own */
};

struct rh_op {
	struct link link; /* in rh->ops */
	struct link qlink; /* in ep->queue while OP_QUEUED */
	struct rh *rh;
	struct rh_ep *ep;
	const struct rh_ops *ops;
	struct rh_env env; /* copies, so that a late plugin never reads a freed core */
	void *pstate;
	enum op_kind kind;
	enum op_state state;
	struct rh_node node; /* points into the copies below */
	char *infra_id, *node_id, *name, *token, *user_data, *instance_id;
	json_t *resource, *auth, *attributes;
	union {
		rh_create_fn create;
		rh_done_fn done;
		rh_list_fn list;
	} cb;
	void *ud;
	struct rh_req *req; /* the attempt in flight (OP_RUNNING) */
	uv_timer_t deadline, backoff;
	unsigned attempts;
	int refs;
};

struct rh_req {
	struct rh_op *op;
	unsigned attempt;
	int abandoned; /* the core gave up on it; the plugin's completion only frees it */
	max_align_t data[];
};

/* ---- the copied node ---- */

static char *dup_opt(const char *s)
{
	return s ? occo_strdup(s) : NULL;
}

static json_t *copy_json(const json_t *v)
{
	return v ? json_deep_copy(v) : NULL;
}

/* Overwrite every string of a JSON value that nobody else holds (our deep copy). */
static void json_wipe(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		occo_wipe((char *)json_string_value(v), json_string_length(v));
	} else if (json_is_object(v)) {
		json_object_foreach (v, k, e)
			json_wipe(e);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, e)
			json_wipe(e);
	}
}

static void op_free(struct rh_op *op)
{
	free(op->infra_id);
	free(op->node_id);
	free(op->name);
	free(op->token);
	free(op->instance_id);
	occo_free_secret(op->user_data);
	json_decref(op->resource);
	json_decref(op->attributes);
	if (op->auth) {
		json_wipe(op->auth);
		json_decref(op->auth);
	}
	free(op);
}

static void op_unref(struct rh_op *op)
{
	if (--op->refs == 0)
		op_free(op);
}

static void on_op_timer_closed(uv_handle_t *h)
{
	op_unref(h->data);
}

static void req_release(struct rh_req *req)
{
	struct rh_op *op = req->op;

	free(req);
	op_unref(op);
}

/* ---- checks ---- */

static const struct rh_ops *resolve(const json_t *res, struct occo_err *err)
{
	const char *type = json_string_value(json_object_get(res, "type"));
	const struct rh_ops *ops;
	const struct comp_key *k;
	struct comp_diags d;
	struct comp_check c;
	struct occo_buf b;
	int rc, n = 0;

	if (!json_is_object(res))
		return occo_err_set(err, OCCO_EINVAL, "no resource section"), NULL;
	if (!type)
		return occo_err_set(err, OCCO_EINVAL, "the resource section has no 'type'"), NULL;
	ops = rh_plugin(type);
	if (!ops) {
		char *known = comp_schema_types(rh_schemas(), "resource");

		occo_err_set(err, OCCO_EINVAL, "unknown resource type '%s' (known: %s)", type,
			     known);
		free(known);
		return NULL;
	}
	if (!ops->create || !ops->drop || !ops->list) {
		occo_err_set(err, OCCO_ENOTSUP,
			     "resource handler '%s' is not available in occopus-c", type);
		return NULL;
	}
	occo_buf_init(&b, 4096);
	for (k = ops->schema->keys; k->name; k++) {
		if ((k->flags & COMP_REQUIRED) && !json_object_get(res, k->name)) {
			occo_buf_appendf(&b, NULL, "%s'%s'", n++ ? ", " : "", k->name);
		}
	}
	if (n) {
		occo_err_set(err, OCCO_EINVAL,
			     "missing required key%s %s in the '%s' resource section",
			     n > 1 ? "s" : "", occo_buf_str(&b), type);
		occo_buf_release(&b);
		return NULL;
	}
	occo_buf_release(&b);
	comp_diags_init(&d);
	c.doc = NULL;
	c.diags = &d;
	c.where = "in the resource section";
	comp_schema_check(ops->schema, res, &c);
	rc = comp_diags_to_err(&d, err);
	comp_diags_release(&d);
	return rc < 0 ? NULL : ops;
}

char *rh_endpoint_key(const json_t *resource)
{
	const char *type = json_string_value(json_object_get(resource, "type"));
	const char *ep = json_string_value(json_object_get(resource, "endpoint"));
	const char *region = json_string_value(json_object_get(resource, "regionname"));
	const struct rh_ops *ops;

	if (!type)
		return NULL;
	if (!region)
		region = json_string_value(json_object_get(resource, "region_name"));
	if (!ep && (ops = rh_plugin(type)))
		ep = ops->default_endpoint;
	return occo_asprintf("%s%s%s%s%s", type, ep ? " " : "", ep ? ep : "", region ? " " : "",
			     region ? region : "");
}

/* ---- endpoints ---- */

static void ep_pump(struct rh_ep *ep);

static void on_ep_timer(uv_timer_t *t)
{
	ep_pump(t->data);
}

/* Run the queue on the next turn of the loop (never from inside a caller's call). */
static void ep_kick(struct rh_ep *ep)
{
	if (!ep->rh->closing)
		uv_timer_start(&ep->timer, on_ep_timer, 0, 0);
}

static struct rh_ep *ep_find(const struct rh *rh, const char *key)
{
	struct rh_ep *ep;

	for (ep = rh->eps; ep; ep = ep->next)
		if (!strcmp(ep->key, key))
			return ep;
	return NULL;
}

static struct rh_ep *ep_get(struct rh *rh, const char *key, const struct rh_ops *ops)
{
	struct rh_ep *ep = ep_find(rh, key);
	size_t n = strlen(key);

	if (ep)
		return ep;
	ep = occo_calloc(1, sizeof(*ep) + n + 1);
	memcpy(ep->key, key, n + 1);
	ep->rh = rh;
	ep->max_active =
		!rh->max_set && ops->max_concurrent ? ops->max_concurrent : rh->o.max_concurrent;
	link_init(&ep->queue);
	occo_bucket_init(&ep->bucket, rh->o.rate, rh->o.burst, uv_now(rh->env.loop));
	uv_timer_init(rh->env.loop, &ep->timer);
	ep->timer.data = ep;
	ep->next = rh->eps;
	rh->eps = ep;
	return ep;
}

/* ---- attempts ---- */

static uint32_t random_u32(void)
{
	uint32_t r = 0;

	if (occo_random_bytes(&r, sizeof(r), NULL) < 0)
		r = (uint32_t)occo_clock_now_ms() * 2654435761u;
	return r;
}

/* The operation is over: its callback runs, with the endpoint and node in front of errors. */
static void op_finish(struct rh_op *op, const struct occo_err *err, const char *id,
		      const struct rh_instance *v, size_t n)
{
	struct occo_err e;

	link_del(&op->link);
	op->state = OP_DONE;
	uv_close((uv_handle_t *)&op->deadline, on_op_timer_closed);
	uv_close((uv_handle_t *)&op->backoff, on_op_timer_closed);
	if (err) {
		op->ep->stats.failures++;
		occo_err_copy(&e, err);
		if (!e.code)
			e.code = OCCO_EREMOTE;
		if (op->name)
			occo_err_prefix(&e, "%s: node '%s'", op->ep->key, op->name);
		else
			occo_err_prefix(&e, "%s: infrastructure '%s'", op->ep->key,
					op->infra_id ? op->infra_id : "");
		err = &e;
	}
	switch (op->kind) {
	case OP_CREATE:
		op->cb.create(err ? NULL : id, err, op->ud);
		break;
	case OP_DROP:
		op->cb.done(err, op->ud);
		break;
	case OP_LIST:
		op->cb.list(err ? NULL : v, err ? 0 : n, err, op->ud);
		break;
	}
	op_unref(op);
}

static void on_backoff(uv_timer_t *t)
{
	struct rh_op *op = t->data;

	op->state = OP_QUEUED;
	link_add_tail(&op->ep->queue, &op->qlink);
	op->ep->stats.waiting++;
	ep_pump(op->ep);
}

/* An attempt is over (op->req is already NULL): retry it, or finish the operation. */
static void attempt_done(struct rh_op *op, const struct occo_err *err, unsigned flags,
			 const char *id, const struct rh_instance *v, size_t n)
{
	struct rh_ep *ep = op->ep;
	struct rh *rh = op->rh;

	uv_timer_stop(&op->deadline);
	ep->stats.active--;
	if (err && (flags & RH_F_TRANSIENT) && op->attempts <= rh->o.max_retries && !rh->closing) {
		ep->stats.retries++;
		op->state = OP_BACKOFF;
		uv_timer_start(&op->backoff, on_backoff,
			       occo_backoff_ms(rh->o.backoff_ms, BACKOFF_CAP_MS, op->attempts,
					       random_u32()),
			       0);
	} else {
		op_finish(op, err, id, v, n);
	}
	ep_kick(ep); /* a slot is free */
}

static void on_deadline(uv_timer_t *t)
{
	struct rh_op *op = t->data;
	struct rh_req *req = op->req;
	struct occo_err e;

	req->abandoned = 1;
	op->req = NULL;
	if (op->ops->cancel)
		op->ops->cancel(req); /* may complete (and free) req now */
	occo_err_set(&e, OCCO_ETIMEDOUT, "%s timed out after %u ms", kind_names[op->kind],
		     op->rh->o.op_timeout_ms);
	attempt_done(op, &e, RH_F_TRANSIENT, NULL, NULL, 0);
}

static void attempt_start(struct rh_op *op)
{
	struct rh_ep *ep = op->ep;
	struct rh_req *req = occo_calloc(1, sizeof(*req) + op->ops->req_size);
	struct occo_err err;
	int rc = 0;

	req->op = op;
	req->attempt = ++op->attempts;
	op->refs++;
	op->req = req;
	op->state = OP_RUNNING;
	ep->stats.active++;
	uv_timer_start(&op->deadline, on_deadline, op->rh->o.op_timeout_ms, 0);
	occo_err_clear(&err);
	switch (op->kind) {
	case OP_CREATE:
		ep->stats.creates++;
		rc = op->ops->create(req, &err);
		break;
	case OP_DROP:
		ep->stats.drops++;
		rc = op->ops->drop(req, &err);
		break;
	case OP_LIST:
		ep->stats.lists++;
		rc = op->ops->list(req, &err);
		break;
	}
	if (rc < 0) {
		/* It never started: the plugin will not complete it. */
		if (!err.code)
			occo_err_set(&err, -rc, "%s failed", kind_names[op->kind]);
		op->req = NULL;
		attempt_done(op, &err, 0, NULL, NULL, 0);
		req_release(req);
	}
}

static void ep_pump(struct rh_ep *ep)
{
	struct rh *rh = ep->rh;
	struct rh_op *op;
	uint64_t wait = 0;

	while (!rh->closing && !link_empty(&ep->queue)) {
		if (ep->stats.active >= ep->max_active)
			return;
		if (!occo_bucket_take(&ep->bucket, uv_now(rh->env.loop), &wait)) {
			uv_timer_start(&ep->timer, on_ep_timer, wait, 0);
			return;
		}
		op = ENTRY(ep->queue.next, struct rh_op, qlink);
		link_del(&op->qlink);
		ep->stats.waiting--;
		attempt_start(op);
	}
}

/* ---- completions from the plugins ---- */

const struct rh_node *rh_req_node(const struct rh_req *req)
{
	return &req->op->node;
}

const struct rh_env *rh_req_env(const struct rh_req *req)
{
	return &req->op->env;
}

void *rh_req_data(struct rh_req *req)
{
	return req->data;
}

void *rh_req_state(const struct rh_req *req)
{
	return req->op->pstate;
}

unsigned rh_req_attempt(const struct rh_req *req)
{
	return req->attempt;
}

void rh_req_created(struct rh_req *req, const char *instance_id, const struct occo_err *err,
		    unsigned err_flags)
{
	if (!req->abandoned) {
		req->op->req = NULL;
		attempt_done(req->op, err, err_flags, instance_id ? instance_id : "", NULL, 0);
	}
	req_release(req);
}

void rh_req_dropped(struct rh_req *req, const struct occo_err *err, unsigned err_flags)
{
	if (!req->abandoned) {
		req->op->req = NULL;
		attempt_done(req->op, err, err_flags, NULL, NULL, 0);
	}
	req_release(req);
}

void rh_req_listed(struct rh_req *req, const struct rh_instance *v, size_t n,
		   const struct occo_err *err, unsigned err_flags)
{
	if (!req->abandoned) {
		req->op->req = NULL;
		attempt_done(req->op, err, err_flags, NULL, v, n);
	}
	req_release(req);
}

/* ---- the core ---- */

int rh_new(const struct rh_env *env, const struct rh_opts *opts, struct rh **out,
	   struct occo_err *err)
{
	struct rh *rh;
	size_t i;
	int rc;

	if (!env || !env->loop)
		return occo_err_set(err, OCCO_EINVAL, "the resource handler needs a loop");
	rh = occo_calloc(1, sizeof(*rh));
	rh->env = *env;
	if (opts)
		rh->o = *opts;
	rh->max_set = rh->o.max_concurrent != 0;
	if (!rh->o.max_concurrent)
		rh->o.max_concurrent = DEF_MAX_CONCURRENT;
	if (!rh->o.op_timeout_ms)
		rh->o.op_timeout_ms = DEF_OP_TIMEOUT_MS;
	if (!rh->o.max_retries)
		rh->o.max_retries = DEF_MAX_RETRIES;
	if (!rh->o.backoff_ms)
		rh->o.backoff_ms = DEF_BACKOFF_MS;
	link_init(&rh->ops);
	while (rh__plugins[rh->nplugins])
		rh->nplugins++;
	rh->pstate = occo_calloc(rh->nplugins, sizeof(void *));
	for (i = 0; i < rh->nplugins; i++) {
		const struct rh_ops *ops = rh__plugins[i];

		if (!ops->start)
			continue;
		rc = ops->start(env, &rh->pstate[i], err);
		if (rc < 0) {
			while (i-- > 0)
				if (rh__plugins[i]->stop && rh->pstate[i])
					rh__plugins[i]->stop(rh->pstate[i]);
			free(rh->pstate);
			free(rh);
			return occo_err_prefix(err, "resource handler '%s'", ops->name);
		}
	}
	*out = rh;
	return 0;
}

static void rh_release(struct rh *rh)
{
	free(rh->pstate);
	free(rh);
}

static void on_ep_closed(uv_handle_t *h)
{
	struct rh_ep *ep = h->data;
	struct rh *rh = ep->rh;

	free(ep);
	if (--rh->handles == 0)
		rh_release(rh);
}

void rh_free(struct rh *rh)
{
	struct rh_ep *ep, *next;
	struct rh_op *op;
	struct rh_req *req;
	struct occo_err e;
	size_t i;

	if (!rh || rh->closing)
		return;
	rh->closing = 1;
	while (!link_empty(&rh->ops)) {
		op = ENTRY(rh->ops.next, struct rh_op, link);
		switch (op->state) {
		case OP_QUEUED:
			link_del(&op->qlink);
			op->ep->stats.waiting--;
			break;
		case OP_RUNNING:
			req = op->req;
			req->abandoned = 1;
			op->req = NULL;
			uv_timer_stop(&op->deadline);
			op->ep->stats.active--;
			if (op->ops->cancel)
				op->ops->cancel(req);
			break;
		case OP_BACKOFF:
			uv_timer_stop(&op->backoff);
			break;
		case OP_DONE:
			break;
		}
		occo_err_set(&e, OCCO_ECANCELED, "%s cancelled: the resource handler is closing",
			     kind_names[op->kind]);
		op_finish(op, &e, NULL, NULL, 0);
	}
	for (i = 0; i < rh->nplugins; i++)
		if (rh__plugins[i]->stop && rh->pstate[i])
			rh__plugins[i]->stop(rh->pstate[i]);
	for (ep = rh->eps; ep; ep = next) {
		next = ep->next;
		rh->handles++;
		uv_close((uv_handle_t *)&ep->timer, on_ep_closed);
	}
	rh->eps = NULL;
	if (!rh->handles)
		rh_release(rh);
}

static int op_start(struct rh *rh, enum op_kind kind, const struct rh_node *node, void *cb,
		    void *ud, struct occo_err *err)
{
	const struct rh_ops *ops;
	struct rh_op *op;
	char *key;
	size_t i;

	if (rh->closing)
		return occo_err_set(err, OCCO_ESTATE, "the resource handler is closing");
	if (!node || !cb)
		return occo_err_set(err, OCCO_EINVAL, "no node or no callback");
	ops = resolve(node->resource, err);
	if (!ops) {
		if (node->name)
			occo_err_prefix(err, "node '%s'", node->name);
		return -(err && err->code ? err->code : OCCO_EINVAL);
	}
	op = occo_calloc(1, sizeof(*op));
	op->rh = rh;
	op->ops = ops;
	op->env = rh->env;
	for (i = 0; i < rh->nplugins; i++)
		if (rh__plugins[i] == ops)
			op->pstate = rh->pstate[i];
	op->kind = kind;
	op->node.infra_id = op->infra_id = dup_opt(node->infra_id);
	op->node.node_id = op->node_id = dup_opt(node->node_id);
	op->node.name = op->name = dup_opt(node->name);
	op->node.token = op->token = dup_opt(node->token);
	op->node.user_data = op->user_data = dup_opt(node->user_data);
	op->node.instance_id = op->instance_id = dup_opt(node->instance_id);
	op->node.resource = op->resource = copy_json(node->resource);
	op->node.auth = op->auth = copy_json(node->auth);
	op->node.attributes = op->attributes = copy_json(node->attributes);
	switch (kind) {
	case OP_CREATE:
		op->cb.create = (rh_create_fn)cb;
		break;
	case OP_DROP:
		op->cb.done = (rh_done_fn)cb;
		break;
	case OP_LIST:
		op->cb.list = (rh_list_fn)cb;
		break;
	}
	op->ud = ud;
	op->refs = 3; /* the core, and the two timers until they are closed */
	uv_timer_init(rh->env.loop, &op->deadline);
	uv_timer_init(rh->env.loop, &op->backoff);
	op->deadline.data = op;
	op->backoff.data = op;
	key = rh_endpoint_key(node->resource);
	op->ep = ep_get(rh, key, op->ops);
	free(key);
	link_add_tail(&rh->ops, &op->link);
	op->state = OP_QUEUED;
	link_add_tail(&op->ep->queue, &op->qlink);
	op->ep->stats.waiting++;
	ep_kick(op->ep);
	return 0;
}

int rh_create(struct rh *rh, const struct rh_node *node, rh_create_fn cb, void *ud,
	      struct occo_err *err)
{
	return op_start(rh, OP_CREATE, node, (void *)cb, ud, err);
}

int rh_drop(struct rh *rh, const struct rh_node *node, rh_done_fn cb, void *ud,
	    struct occo_err *err)
{
	return op_start(rh, OP_DROP, node, (void *)cb, ud, err);
}

int rh_list(struct rh *rh, const struct rh_node *node, rh_list_fn cb, void *ud,
	    struct occo_err *err)
{
	return op_start(rh, OP_LIST, node, (void *)cb, ud, err);
}

int rh_stats_get(const struct rh *rh, const char *endpoint_key, struct rh_stats *out,
		 struct occo_err *err)
{
	const struct rh_ep *ep = endpoint_key ? ep_find(rh, endpoint_key) : NULL;

	if (!ep)
		return occo_err_set(err, OCCO_ENOENT, "no operations on endpoint '%s'",
				    endpoint_key ? endpoint_key : "");
	*out = ep->stats;
	return 0;
}

void rh_stats_foreach(const struct rh *rh,
		      void (*fn)(const char *endpoint_key, const struct rh_stats *s, void *ud),
		      void *ud)
{
	const struct rh_ep *ep;

	for (ep = rh->eps; ep; ep = ep->next)
		fn(ep->key, &ep->stats, ud);
}

static const char *const state_names[] = {
	[RH_UNKNOWN] = "unknown",   [RH_PENDING] = "pending", [RH_READY] = "ready",
	[RH_SHUTDOWN] = "shutdown", [RH_FAILED] = "failed",   [RH_TEMP_FAILED] = "temp_failed",
};

const char *rh_state_name(enum rh_state s)
{
	if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[s];
	return "unknown";
}

enum rh_state rh_state_parse(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(state_names[i], name))
			return (enum rh_state)i;
	return RH_UNKNOWN;
}
