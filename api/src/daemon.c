/*
 * daemon.c - the REST service (daemon.h): settings, the attached set and its scan, the
 * endpoints of Occopus (OCCOPUS.md 8) with real HTTP statuses, /metrics, /healthz, reload.
 *
 * Every endpoint is asynchronous: it issues its store commands (pipelined) and answers from
 * their callbacks, so the loop keeps turning the maintenance passes in between. Compiling a
 * posted description and reading the configuration again run on libuv's thread pool.
 * GET /infrastructures/<id> is answered from one pipelined read of the store; the rendered
 * answer is kept for a moment (until the next pass of the infrastructure ends here, a request
 * changes it, or a second has passed), and concurrent requests for it share one read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/daemon.h"
#include "occo/api/engine.h"
#include "occo/api/info.h"
#include "occo/api/maintainer.h"
#include "occo/api/rest.h"
#include "occo/compiler/infra.h"
#include "occo/infobroker/batch.h"
#include "occo/infobroker/infra.h"
#include "occo/infobroker/lease.h"
#include "occo/infobroker/scaling.h"
#include "occo/infobroker/store.h"
#include "occo/infraprocessor/health.h"
#include "occo/resourcehandler/rh.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/log.h"
#include "occo/util/yaml.h"

#define DEFAULT_PORT 5000
#define MAX_PEM (1u << 20)
#define MAX_ID 128
#define CACHE_MS 1000
#define DELETE_RETRY_MS 100

struct settings {
	char *host;
	int port;
	char *token; /* secret */
	char *tls_cert, *tls_key; /* paths */
	size_t max_body;
	char **cors; /* rest.cors_origins, NULL-terminated; NULL: none */
	double interval, lease; /* seconds */
};

/* A rendered GET /infrastructures/<id>, and the requests waiting for it. */
struct cent {
	struct cent *next;
	char *id;
	struct api_rest_blob *blob; /* NULL: none yet */
	uint64_t at; /* uv_now when rendered */
	unsigned gen; /* bumped by every invalidation */
	int loading;
	struct api_rest_req **waiting;
	size_t nwaiting, capwaiting;
};

/* The numbers of the last pass of an infrastructure maintained here. */
struct mstat {
	struct mstat *next;
	char *id;
	json_t *states; /* {state: count} */
	long health_failed;
	double seconds;
};

struct api_daemon {
	struct api_app *app;
	struct api_daemon_opts cli; /* what the command line overrides (host borrowed) */
	struct api_engine e;
	int engine_open;
	struct api_maintainer *mt;
	struct api_rest *rest;
	struct settings s;
	char *attached; /* <ns>:attached */
	char *holder; /* the lease holder of DELETE's teardowns */
	uv_timer_t scan;
	struct cent *cache;
	struct mstat *mstats;
	int scan_warned;
	int stopping;
	unsigned pending; /* asynchronous work that holds the daemon (reloads) */
	void (*stop_cb)(void *ud);
	void *stop_ud;
	/* counters for /metrics */
	uint64_t passes_ok, passes_failed, passes_busy;
	double pass_seconds_sum, pass_seconds_max;
	uint64_t store_reads; /* the service's own round trips to the store */
	uint64_t takeovers;
};

/* ---- settings ---- */

static void settings_release(struct settings *s)
{
	size_t i;

	free(s->host);
	if (s->token)
		occo_free_secret(s->token);
	free(s->tls_cert);
	free(s->tls_key);
	for (i = 0; s->cors && s->cors[i]; i++)
		free(s->cors[i]);
	free(s->cors);
	memset(s, 0, sizeof(*s));
}

static const json_t *child(const json_t *o, const char *k)
{
	return json_is_object(o) ? json_object_get(o, k) : NULL;
}

/* rest.<k> / maintenance.<k> / components.rest.<k>: one value, checked. */
static int get_string(const struct occo_ydoc *doc, const json_t *sec, const char *secname,
		      const char *k, char **out, struct occo_err *err)
{
	const json_t *v = child(sec, k);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return occo_yaml_err(err, occo_ydoc_child_mark(doc, sec, k, 0), OCCO_EINVAL,
				     "'%s.%s' must be a string", secname, k);
	free(*out);
	*out = occo_strdup(json_string_value(v));
	return 0;
}

static int get_number(const struct occo_ydoc *doc, const json_t *sec, const char *secname,
		      const char *k, double lo, double hi, double *out, struct occo_err *err)
{
	const json_t *v = child(sec, k);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v) || json_number_value(v) < lo || json_number_value(v) > hi)
		return occo_yaml_err(err, occo_ydoc_child_mark(doc, sec, k, 0), OCCO_EINVAL,
				     "'%s.%s' must be a number from %g to %g", secname, k, lo, hi);
	*out = json_number_value(v);
	return 0;
}

/* rest.cors_origins: a list of origins ("https://host[:port]") or "*", or one of them. */
static int get_origins(const struct occo_ydoc *doc, const json_t *sec, char ***out,
		       struct occo_err *err)
{
	const json_t *v = child(sec, "cors_origins"), *x;
	size_t i, n;

	if (!v || json_is_null(v))
		return 0;
	n = json_is_array(v) ? json_array_size(v) : 1;
	if (!json_is_array(v) && !json_is_string(v))
		return occo_yaml_err(err, occo_ydoc_child_mark(doc, sec, "cors_origins", 0),
				     OCCO_EINVAL,
				     "'rest.cors_origins' must be a list of origins or \"*\"");
	for (i = 0; i < n; i++) {
		const char *o;

		x = json_is_array(v) ? json_array_get(v, i) : v;
		o = json_string_value(x);
		if (!o ||
		    (strcmp(o, "*") && strncmp(o, "http://", 7) && strncmp(o, "https://", 8)) ||
		    (strcmp(o, "*") && o[strlen(o) - 1] == '/'))
			return occo_yaml_err(
				err,
				json_is_array(v)
					? occo_ydoc_child_mark(doc, v, NULL, i)
					: occo_ydoc_child_mark(doc, sec, "cors_origins", 0),
				OCCO_EINVAL,
				"'rest.cors_origins' item %zu must be \"*\" or an origin such as "
				"\"https://portal.example.org\" (scheme, host and port, no path)",
				i + 1);
	}
	*out = occo_calloc(n + 1, sizeof(**out));
	for (i = 0; i < n; i++)
		(*out)[i] =
			occo_strdup(json_string_value(json_is_array(v) ? json_array_get(v, i) : v));
	return 0;
}

static int settings_read(const struct occo_ydoc *doc, struct settings *s, struct occo_err *err)
{
	const json_t *root = doc ? occo_ydoc_root(doc) : NULL;
	const json_t *crest = child(child(root, "components"), "rest");
	const json_t *rest = child(root, "rest"), *maint = child(root, "maintenance");
	double port = DEFAULT_PORT, max_body = 1 << 20, v;
	int rc;

	memset(s, 0, sizeof(*s));
	s->host = occo_strdup("127.0.0.1");
	if (rest && !json_is_object(rest))
		return occo_yaml_err(err, occo_ydoc_child_mark(doc, root, "rest", 0), OCCO_EINVAL,
				     "'rest' must be a mapping");
	if (maint && !json_is_object(maint))
		return occo_yaml_err(err, occo_ydoc_child_mark(doc, root, "maintenance", 0),
				     OCCO_EINVAL, "'maintenance' must be a mapping");
	if ((rc = get_string(doc, crest, "components.rest", "host", &s->host, err)) < 0 ||
	    (rc = get_number(doc, crest, "components.rest", "port", 0, 65535, &port, err)) < 0 ||
	    (rc = get_string(doc, rest, "rest", "host", &s->host, err)) < 0 ||
	    (rc = get_number(doc, rest, "rest", "port", 0, 65535, &port, err)) < 0 ||
	    (rc = get_string(doc, rest, "rest", "token", &s->token, err)) < 0 ||
	    (rc = get_string(doc, rest, "rest", "tls_cert", &s->tls_cert, err)) < 0 ||
	    (rc = get_string(doc, rest, "rest", "tls_key", &s->tls_key, err)) < 0 ||
	    (rc = get_number(doc, rest, "rest", "max_body", 1, 1 << 30, &max_body, err)) < 0 ||
	    (rc = get_origins(doc, rest, &s->cors, err)) < 0 ||
	    (rc = get_number(doc, maint, "maintenance", "interval", 0.01, 86400, &s->interval,
			     err)) < 0 ||
	    (rc = get_number(doc, maint, "maintenance", "lease", 0.1, 86400, &s->lease, err)) < 0)
		return rc;
	if (!!s->tls_cert != !!s->tls_key)
		return occo_yaml_err(err, occo_ydoc_child_mark(doc, root, "rest", 0), OCCO_EINVAL,
				     "'rest.tls_cert' and 'rest.tls_key' go together");
	if (s->token)
		occo_log_secret_add(s->token);
	v = port;
	s->port = (int)v;
	s->max_body = (size_t)max_body;
	return 0;
}

/* The command line wins over the file; then the defaults that depend on other settings. */
static void settings_override(struct settings *s, const struct api_daemon_opts *o)
{
	if (o->host) {
		free(s->host);
		s->host = occo_strdup(o->host);
	}
	if (o->port >= 0)
		s->port = o->port;
	if (o->interval > 0)
		s->interval = o->interval;
	if (o->lease > 0)
		s->lease = o->lease;
	if (!(s->interval > 0))
		s->interval = 10;
	if (!(s->lease > 0))
		s->lease = s->interval * 3 > 30 ? s->interval * 3 : 30;
}

/* Read a PEM file whole (at start-up). */
static int read_pem(const char *path, char **out, struct occo_err *err)
{
	char *p = occo_path_expand(path), buf[4096];
	struct occo_buf b;
	FILE *f = fopen(p, "r");
	size_t n;

	if (!f) {
		occo_err_set(err, OCCO_EIO, "cannot read '%s': %s", p, strerror(errno));
		free(p);
		return -OCCO_EIO;
	}
	occo_buf_init(&b, MAX_PEM);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (occo_buf_append(&b, buf, n, err) < 0) {
			fclose(f);
			occo_buf_release(&b);
			occo_err_prefix(err, "'%s'", p);
			free(p);
			return -OCCO_EINVAL;
		}
	}
	fclose(f);
	free(p);
	*out = occo_buf_detach(&b, NULL);
	return 0;
}

/* ---- small helpers ---- */

static int valid_id(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || n > MAX_ID)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == '/' || s[i] == '{' || s[i] == '}')
			return 0;
	return 1;
}

static int status_of(const struct occo_err *err)
{
	switch (err->code) {
	case OCCO_ENOENT:
		return 404;
	case OCCO_EINVAL:
		return 400;
	case OCCO_EEXIST:
	case OCCO_EBUSY:
		return 409;
	case OCCO_ECONN:
	case OCCO_ETIMEDOUT:
		return 503;
	default:
		return 500;
	}
}

static const char *error_name(int status)
{
	switch (status) {
	case 400:
		return "bad request";
	case 404:
		return "not found";
	case 409:
		return "conflict";
	case 503:
		return "unavailable";
	default:
		return "internal error";
	}
}

static void reply_err(struct api_rest_req *rq, const struct occo_err *err)
{
	int st = status_of(err);

	api_rest_error(rq, st, error_name(st), "%s",
		       err->msg[0] ? err->msg : occo_code_str(err->code));
}

static void not_found(struct api_rest_req *rq, const char *id)
{
	api_rest_error(rq, 404, "not found", "infrastructure '%s' does not exist", id);
}

/* ---- the GET cache ---- */

static struct cent *cent_get(struct api_daemon *d, const char *id, int create)
{
	struct cent *c;

	for (c = d->cache; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	if (!create)
		return NULL;
	c = occo_calloc(1, sizeof(*c));
	c->id = occo_strdup(id);
	c->next = d->cache;
	d->cache = c;
	return c;
}

static void invalidate(struct api_daemon *d, const char *id)
{
	struct cent *c = cent_get(d, id, 0);

	if (!c)
		return;
	api_rest_blob_free(c->blob);
	c->blob = NULL;
	c->gen++;
}

static void cache_free(struct api_daemon *d)
{
	struct cent *c, *next;

	for (c = d->cache; c; c = next) {
		next = c->next;
		api_rest_blob_free(c->blob);
		free(c->waiting);
		free(c->id);
		free(c);
	}
	d->cache = NULL;
}

/* Occopus's answer: {node: {instances: {node_id: {resource_address, state}}, scaling}}. */
static json_t *render_infra(const struct ib_snapshot *snap)
{
	json_t *out = json_object(), *n, *v;
	const struct ib_record *rec;
	const char *field;
	size_t i;

	json_array_foreach (json_object_get(snap->desc, "nodes"), i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));

		if (name)
			json_object_set_new(out, name,
					    json_pack("{s:{}, s:{s:i, s:i, s:i, s:i}}", "instances",
						      "scaling", "actual", 0, "target", 0, "min", 1,
						      "max", 1));
	}
	ib_records_foreach (snap->records, rec) {
		json_t *node = rec->name ? json_object_get(out, rec->name) : NULL;
		json_t *addrs = rec->addresses, *addr;

		if (!node)
			continue;
		if (json_array_size(addrs) == 1)
			addr = json_incref(json_array_get(addrs, 0));
		else if (json_array_size(addrs) > 1)
			addr = json_incref(addrs);
		else
			addr = json_null();
		json_object_set_new(
			json_object_get(node, "instances"), rec->node_id,
			json_pack("{s:o, s:s?}", "resource_address", addr, "state", rec->state));
	}
	json_array_foreach (json_object_get(snap->desc, "nodes"), i, n) {
		const char *name = json_string_value(json_object_get(n, "name"));
		json_t *node = name ? json_object_get(out, name) : NULL;
		const json_t *sc = json_object_get(n, "scaling");
		json_int_t min = json_integer_value(json_object_get(sc, "min"));
		json_int_t max = json_integer_value(json_object_get(sc, "max"));
		json_int_t actual, target, creates = 0, destroys = 0;
		size_t nl;

		if (!node)
			continue;
		nl = strlen(name);
		min = min < 1 ? 1 : min;
		max = max < min ? min : max;
		actual = (json_int_t)json_object_size(json_object_get(node, "instances"));
		target = actual;
		json_object_foreach (snap->scaling, field, v) {
			const char *rest = NULL;

			if (!strncmp(field, IB_SCALING_CREATE, strlen(IB_SCALING_CREATE)))
				rest = field + strlen(IB_SCALING_CREATE);
			else if (!strncmp(field, IB_SCALING_DESTROY, strlen(IB_SCALING_DESTROY)))
				rest = field + strlen(IB_SCALING_DESTROY);
			if (rest && !strncmp(rest, name, nl) && rest[nl] == ':') {
				if (field[5] == 'c')
					creates++;
				else
					destroys++;
			} else if (!strncmp(field, IB_SCALING_COUNT, strlen(IB_SCALING_COUNT)) &&
				   !strcmp(field + strlen(IB_SCALING_COUNT), name)) {
				target = strtoll(json_string_value(v) ? json_string_value(v) : "0",
						 NULL, 10);
			}
		}
		target += creates - destroys;
		target = target < min ? min : target > max ? max : target;
		json_object_set_new(node, "scaling",
				    json_pack("{s:I, s:I, s:I, s:I}", "actual", actual, "target",
					      target, "min", min, "max", max));
	}
	return out;
}

struct cload {
	struct api_daemon *d;
	struct cent *c;
	unsigned gen;
};

static void cache_loaded(struct ib_snapshot *snap, const struct occo_err *err, void *ud)
{
	struct cload *cl = ud;
	struct api_daemon *d = cl->d;
	struct cent *c = cl->c;
	struct api_rest_blob *blob = NULL;
	char *text;
	size_t i, n;

	c->loading = 0;
	if (snap) {
		json_t *out = render_infra(snap);

		text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(out);
		blob = api_rest_blob_new(200, "application/json", text, strlen(text));
		free(text);
	}
	n = c->nwaiting;
	c->nwaiting = 0;
	for (i = 0; i < n; i++) {
		if (blob)
			api_rest_reply_blob(c->waiting[i], blob);
		else if (err->code == OCCO_ENOENT)
			not_found(c->waiting[i], c->id);
		else
			reply_err(c->waiting[i], err);
	}
	if (blob && cl->gen == c->gen) {
		api_rest_blob_free(c->blob);
		c->blob = blob;
		c->at = uv_now(&d->app->loop);
	} else {
		api_rest_blob_free(blob);
	}
	ib_snapshot_free(snap);
	free(cl);
}

static void get_infra(struct api_daemon *d, struct api_rest_req *rq, const char *id)
{
	struct cent *c = cent_get(d, id, 1);
	struct cload *cl;
	struct occo_err e;

	if (c->blob && uv_now(&d->app->loop) - c->at < CACHE_MS) {
		api_rest_reply_blob(rq, c->blob);
		return;
	}
	if (c->nwaiting == c->capwaiting) {
		c->capwaiting = c->capwaiting ? 2 * c->capwaiting : 16;
		c->waiting = occo_reallocarray(c->waiting, c->capwaiting, sizeof(*c->waiting));
	}
	c->waiting[c->nwaiting++] = rq;
	if (c->loading)
		return;
	cl = occo_calloc(1, sizeof(*cl));
	cl->d = d;
	cl->c = c;
	cl->gen = c->gen;
	c->loading = 1;
	d->store_reads++;
	/* the answer shows nodes and instances: the description's edges are not read */
	if (ib_snapshot_load_ex(d->app->redis, d->app->cfg.ns, id, NULL, IB_SNAPSHOT_NO_EDGES,
				cache_loaded, cl, &e) < 0) {
		c->loading = 0;
		c->nwaiting--;
		free(cl);
		reply_err(rq, &e);
	}
}

/* ---- a request's context for the multi-step endpoints ---- */

struct op {
	struct api_daemon *d;
	struct api_rest_req *rq;
	char *id;
	char *node; /* scale: the node's name */
	char *arg; /* scale: the count or node id */
	const char *what; /* scaleup, scaledown, scaleto, attach, detach, delete, notify, cost */
	json_t *json; /* notify: the body; post: the description */
	struct api_infra *inf; /* delete */
	uint64_t deadline; /* delete: until when the lease is waited for */
	uv_timer_t timer; /* delete: the next try for the lease */
	struct comp_diags diags; /* post */
	int rc; /* post: the compilation's outcome */
	struct occo_err err;
	char *body; /* post: a copy of the body */
	size_t len;
};

static struct op *op_new(struct api_daemon *d, struct api_rest_req *rq, const char *id,
			 const char *what)
{
	struct op *o = occo_calloc(1, sizeof(*o));

	o->d = d;
	o->rq = rq;
	o->id = id ? occo_strdup(id) : NULL;
	o->what = what;
	return o;
}

static void op_free(struct op *o)
{
	free(o->id);
	free(o->node);
	free(o->arg);
	free(o->body);
	json_decref(o->json);
	free(o);
}

/* ---- the attached set ---- */

/* SADD (add = 1) or SREM the id; cb as a redis reply. */
static int attached_change(struct api_daemon *d, const char *id, int add, occo_redis_reply_fn cb,
			   void *ud, struct occo_err *err)
{
	return occo_redis_command(d->app->redis, cb, ud, err, add ? "SADD %s %s" : "SREM %s %s",
				  d->attached, id);
}

static void scanned(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    void *ud)
{
	struct api_daemon *d = ud;
	json_t *ids;
	size_t i;

	if (d->stopping)
		return;
	if (err || !reply || reply->type != REDIS_REPLY_ARRAY) {
		if (!d->scan_warned++)
			OCCO_WARN("cannot read the attached infrastructures",
				  OCCO_KV("key", d->attached),
				  OCCO_KV("error", err ? err->msg : "unexpected reply"));
		return;
	}
	d->scan_warned = 0;
	ids = json_array();
	for (i = 0; i < reply->elements; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			json_array_append_new(
				ids, json_stringn(reply->element[i]->str, reply->element[i]->len));
	api_maintainer_sync(d->mt, ids);
	json_decref(ids);
}

static void scan(uv_timer_t *t)
{
	struct api_daemon *d = t->data;
	struct occo_err e;

	d->store_reads++;
	if (occo_redis_command(d->app->redis, scanned, d, &e, "SMEMBERS %s", d->attached) < 0)
		OCCO_WARN("cannot read the attached infrastructures", OCCO_KV("error", e.msg));
}

/* ---- maintenance ---- */

static struct mstat *mstat_get(struct api_daemon *d, const char *id, int create)
{
	struct mstat *s;

	for (s = d->mstats; s; s = s->next)
		if (!strcmp(s->id, id))
			return s;
	if (!create)
		return NULL;
	s = occo_calloc(1, sizeof(*s));
	s->id = occo_strdup(id);
	s->states = json_object();
	s->next = d->mstats;
	d->mstats = s;
	return s;
}

static void mstats_free(struct api_daemon *d)
{
	struct mstat *s, *next;

	for (s = d->mstats; s; s = next) {
		next = s->next;
		json_decref(s->states);
		free(s->id);
		free(s);
	}
	d->mstats = NULL;
}

static void forgotten(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		      void *ud)
{
}

static void on_pass(const struct api_pass_info *p, void *ud)
{
	struct api_daemon *d = ud;
	const struct enact_result *res = p->res;
	struct mstat *s;
	struct occo_err e;
	const struct ib_record *rec;
	char c[24], dr[24], f[24], secs[32];

	invalidate(d, p->infra_id);
	if (p->busy) {
		d->passes_busy++;
		return;
	}
	if (p->err && p->err->code == OCCO_ENOENT && !p->desc) {
		/* destroyed elsewhere (occopus-destroy, another service): forget it */
		OCCO_INFO("infrastructure gone: no longer maintained",
			  OCCO_KV("infra", p->infra_id));
		attached_change(d, p->infra_id, 0, forgotten, NULL, &e);
		api_maintainer_remove(d->mt, p->infra_id, NULL, NULL, &e);
		return;
	}
	snprintf(secs, sizeof(secs), "%.3f", p->seconds);
	if (p->err) {
		d->passes_failed++;
		OCCO_ERROR("maintenance pass failed", OCCO_KV("infra", p->infra_id),
			   OCCO_KV("error", p->err->msg), OCCO_KV("seconds", secs));
	} else {
		d->passes_ok++;
	}
	if (res && (res->created || res->dropped || res->failed)) {
		snprintf(c, sizeof(c), "%zu", res->created);
		snprintf(dr, sizeof(dr), "%zu", res->dropped);
		snprintf(f, sizeof(f), "%zu", res->failed);
		OCCO_INFO("maintenance pass", OCCO_KV("infra", p->infra_id), OCCO_KV("created", c),
			  OCCO_KV("dropped", dr), OCCO_KV("failed", f), OCCO_KV("seconds", secs));
	} else {
		OCCO_DEBUG("maintenance pass", OCCO_KV("infra", p->infra_id),
			   OCCO_KV("seconds", secs));
	}
	if (!res)
		return;
	d->pass_seconds_sum += p->seconds;
	if (p->seconds > d->pass_seconds_max)
		d->pass_seconds_max = p->seconds;
	s = mstat_get(d, p->infra_id, 1);
	s->seconds = p->seconds;
	json_object_clear(s->states);
	s->health_failed = 0;
	ib_records_foreach (p->records, rec) {
		const char *st = rec->state;

		if (!st)
			continue;
		json_object_set_new(
			s->states, st,
			json_integer(json_integer_value(json_object_get(s->states, st)) + 1));
		s->health_failed += rec->health_failed;
	}
}

/* ---- /metrics ---- */

static void prom_label(struct occo_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			occo_buf_appendf(b, NULL, "\\%c", *v);
		else if (*v == '\n')
			occo_buf_appends(b, "\\n", NULL);
		else
			occo_buf_append(b, v, 1, NULL);
	}
}

static void prom_head(struct occo_buf *b, const char *name, const char *type, const char *help)
{
	occo_buf_appendf(b, NULL, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void cloud_stats(const char *ep, const struct rh_stats *s, void *ud)
{
	struct occo_buf *b = ud;
	static const char *const ops[] = { "create", "drop", "list" };
	unsigned long v[] = { s->creates, s->drops, s->lists };
	size_t i;

	for (i = 0; i < 3; i++) {
		occo_buf_appends(b, "occopus_cloud_calls_total{endpoint=\"", NULL);
		prom_label(b, ep);
		occo_buf_appendf(b, NULL, "\",op=\"%s\"} %lu\n", ops[i], v[i]);
	}
	occo_buf_appends(b, "occopus_cloud_retries_total{endpoint=\"", NULL);
	prom_label(b, ep);
	occo_buf_appendf(b, NULL, "\"} %lu\n", s->retries);
	occo_buf_appends(b, "occopus_cloud_errors_total{endpoint=\"", NULL);
	prom_label(b, ep);
	occo_buf_appendf(b, NULL, "\"} %lu\n", s->failures);
	occo_buf_appends(b, "occopus_cloud_calls_in_flight{endpoint=\"", NULL);
	prom_label(b, ep);
	occo_buf_appendf(b, NULL, "\"} %u\n", s->active);
}

static void metrics(struct api_daemon *d, struct api_rest_req *rq)
{
	struct occo_buf b;
	struct api_rest_stats rs;
	struct hc_stats hs;
	struct mstat *s;
	size_t maintained, held, i;
	const char *st;
	json_t *n;
	char *text;
	size_t len;

	occo_buf_init(&b, 64u << 20);
	api_maintainer_counts(d->mt, &maintained, &held);
	prom_head(&b, "occopus_infrastructures_attached", "gauge",
		  "infrastructures this service maintains or stands by for");
	occo_buf_appendf(&b, NULL, "occopus_infrastructures_attached %zu\n", maintained);
	prom_head(&b, "occopus_leases_held", "gauge", "leases this service holds");
	occo_buf_appendf(&b, NULL, "occopus_leases_held %zu\n", held);
	prom_head(&b, "occopus_nodes", "gauge",
		  "node instances by state after the last pass here, per infrastructure");
	for (s = d->mstats; s; s = s->next) {
		json_object_foreach (s->states, st, n) {
			occo_buf_appends(&b, "occopus_nodes{infra=\"", NULL);
			prom_label(&b, s->id);
			occo_buf_appends(&b, "\",state=\"", NULL);
			prom_label(&b, st);
			occo_buf_appendf(&b, NULL, "\"} %lld\n", (long long)json_integer_value(n));
		}
	}
	prom_head(&b, "occopus_nodes_health_failed", "gauge",
		  "instances failed by their health check, per infrastructure");
	for (s = d->mstats; s; s = s->next) {
		occo_buf_appends(&b, "occopus_nodes_health_failed{infra=\"", NULL);
		prom_label(&b, s->id);
		occo_buf_appendf(&b, NULL, "\"} %ld\n", s->health_failed);
	}
	prom_head(&b, "occopus_pass_last_seconds", "gauge",
		  "duration of the last maintenance pass, per infrastructure");
	for (s = d->mstats; s; s = s->next) {
		occo_buf_appends(&b, "occopus_pass_last_seconds{infra=\"", NULL);
		prom_label(&b, s->id);
		occo_buf_appendf(&b, NULL, "\"} %.6f\n", s->seconds);
	}
	prom_head(&b, "occopus_pass_seconds", "summary", "durations of the maintenance passes");
	occo_buf_appendf(&b, NULL, "occopus_pass_seconds_sum %.6f\n", d->pass_seconds_sum);
	occo_buf_appendf(&b, NULL, "occopus_pass_seconds_count %llu\n",
			 (unsigned long long)(d->passes_ok + d->passes_failed));
	prom_head(&b, "occopus_pass_seconds_max", "gauge", "the longest pass so far");
	occo_buf_appendf(&b, NULL, "occopus_pass_seconds_max %.6f\n", d->pass_seconds_max);
	prom_head(&b, "occopus_passes_total", "counter", "maintenance passes by outcome");
	occo_buf_appendf(&b, NULL, "occopus_passes_total{result=\"ok\"} %llu\n",
			 (unsigned long long)d->passes_ok);
	occo_buf_appendf(&b, NULL, "occopus_passes_total{result=\"failed\"} %llu\n",
			 (unsigned long long)d->passes_failed);
	occo_buf_appendf(&b, NULL, "occopus_passes_total{result=\"leased_elsewhere\"} %llu\n",
			 (unsigned long long)d->passes_busy);
	prom_head(&b, "occopus_cloud_calls_total", "counter",
		  "cloud API calls started, by endpoint and operation");
	prom_head(&b, "occopus_cloud_retries_total", "counter", "transient failures retried");
	prom_head(&b, "occopus_cloud_errors_total", "counter", "operations that failed in the end");
	prom_head(&b, "occopus_cloud_calls_in_flight", "gauge", "calls in flight now");
	rh_stats_foreach(d->e.rh, cloud_stats, &b);
	hc_stats_get(d->e.hc, &hs);
	prom_head(&b, "occopus_health_checks_total", "counter", "health checks completed");
	occo_buf_appendf(&b, NULL, "occopus_health_checks_total %llu\n",
			 (unsigned long long)hs.checks);
	prom_head(&b, "occopus_health_probes_total", "counter", "health probes started");
	occo_buf_appendf(&b, NULL, "occopus_health_probes_total %llu\n",
			 (unsigned long long)hs.probes);
	prom_head(&b, "occopus_health_probes_running", "gauge", "health probes in flight");
	occo_buf_appendf(&b, NULL, "occopus_health_probes_running %u\n", hs.running);
	prom_head(&b, "occopus_store_reads_total", "counter",
		  "round trips to Redis made by the service itself (answers, scans, health)");
	occo_buf_appendf(&b, NULL, "occopus_store_reads_total %llu\n",
			 (unsigned long long)d->store_reads);
	prom_head(&b, "occopus_store_up", "gauge", "1 when Redis is connected");
	occo_buf_appendf(&b, NULL, "occopus_store_up %d\n", occo_redis_is_connected(d->app->redis));
	api_rest_stats_get(d->rest, &rs);
	prom_head(&b, "occopus_http_requests_total", "counter", "HTTP requests answered, by class");
	for (i = 1; i < 6; i++)
		occo_buf_appendf(&b, NULL, "occopus_http_requests_total{code=\"%zuxx\"} %llu\n", i,
				 (unsigned long long)rs.by_class[i]);
	prom_head(&b, "occopus_http_requests_in_flight", "gauge", "requests being answered");
	occo_buf_appendf(&b, NULL, "occopus_http_requests_in_flight %u\n", rs.in_flight);
	text = occo_buf_detach(&b, &len);
	api_rest_reply_text(rq, 200, "text/plain; version=0.0.4", text ? text : "", text ? len : 0);
	free(text);
}

/* ---- /healthz ---- */

static void pinged(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		   void *ud)
{
	struct api_rest_req *rq = ud;

	if (err || !reply || reply->type == REDIS_REPLY_ERROR)
		api_rest_error(rq, 503, "unavailable", "the state store does not answer: %s",
			       err     ? err->msg
			       : reply ? reply->str
				       : "no reply");
	else
		api_rest_reply(rq, 200, json_pack("{s:s, s:s}", "status", "ok", "store", "ok"));
}

static void healthz(struct api_daemon *d, struct api_rest_req *rq)
{
	struct occo_err e;

	d->store_reads++;
	if (occo_redis_command(d->app->redis, pinged, rq, &e, "PING") < 0)
		api_rest_error(rq, 503, "unavailable", "%s", e.msg);
}

/* ---- GET /infrastructures/ ---- */

static void listed(json_t *ids, const struct occo_err *err, void *ud)
{
	struct api_rest_req *rq = ud;

	if (err) {
		reply_err(rq, err);
		return;
	}
	api_rest_reply(rq, 200, json_pack("{s:o}", "infrastructures", ids));
}

/* ---- POST /infrastructures/ ---- */

static void post_attached(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			  void *ud)
{
	struct op *o = ud;

	if (err) {
		reply_err(o->rq, err);
	} else {
		api_maintainer_add(o->d->mt, o->id); /* the build is its first passes */
		OCCO_INFO("infrastructure submitted", OCCO_KV("infra", o->id));
		api_rest_reply(o->rq, 200, json_pack("{s:s}", "infraid", o->id));
	}
	op_free(o);
}

static void post_stored(const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	struct occo_err e;

	if (err) {
		reply_err(o->rq, err);
		op_free(o);
		return;
	}
	if (attached_change(o->d, o->id, 1, post_attached, o, &e) < 0) {
		reply_err(o->rq, &e);
		op_free(o);
	}
}

static void post_compile(uv_work_t *w)
{
	struct op *o = w->data;
	struct occo_yaml_opts yo = { .flags = OCCO_YAML_NO_IMPORTS | OCCO_YAML_STRICT_TAGS,
				     .max_file_size = o->len + 1 };
	struct occo_ydoc *doc = NULL;

	comp_diags_init(&o->diags);
	o->rc = occo_yaml_load_string(o->body, o->len, "<request body>", NULL, &yo, &doc, &o->err);
	if (o->rc == 0)
		o->rc = comp_infra_compile(doc, NULL, &o->diags, &o->json, &o->err);
	occo_ydoc_free(doc);
}

static void post_compiled(uv_work_t *w, int status)
{
	struct op *o = w->data;
	struct occo_err e;
	char *text;

	free(w);
	if (o->rc < 0) {
		text = o->diags.nerrors ? comp_diags_text(&o->diags) : NULL;
		api_rest_reply(o->rq, 400,
			       json_pack("{s:s, s:s, s:o}", "error", "invalid description",
					 "message", text ? text : o->err.msg, "diagnostics",
					 comp_diags_json(&o->diags)));
		free(text);
		comp_diags_release(&o->diags);
		op_free(o);
		return;
	}
	comp_diags_release(&o->diags);
	o->id = occo_strdup(json_string_value(json_object_get(o->json, "infra_id")));
	if (ib_infra_add(o->d->app->redis, o->d->app->cfg.ns, o->id, o->json, post_stored, o, &e) <
	    0) {
		reply_err(o->rq, &e);
		op_free(o);
	}
}

static void post_infra(struct api_daemon *d, struct api_rest_req *rq)
{
	size_t len;
	const char *body = api_rest_body(rq, &len);
	struct op *o;
	uv_work_t *w;

	if (!len) {
		api_rest_error(rq, 400, "bad request",
			       "empty body: POST the infrastructure description (YAML or JSON)");
		return;
	}
	o = op_new(d, rq, NULL, "post");
	o->body = occo_strndup(body, len);
	o->len = len;
	w = occo_calloc(1, sizeof(*w));
	w->data = o;
	uv_queue_work(&d->app->loop, w, post_compile, post_compiled);
}

/* ---- endpoints that need the description first ---- */

static void with_desc_done(struct op *o, const json_t *desc);

static void desc_got(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		     void *ud)
{
	struct op *o = ud;
	json_t *desc;

	if (err) {
		reply_err(o->rq, err);
		op_free(o);
		return;
	}
	if (!reply || reply->type != REDIS_REPLY_STRING) {
		not_found(o->rq, o->id);
		op_free(o);
		return;
	}
	desc = json_loadb(reply->str, reply->len, 0, NULL);
	if (!json_is_object(desc)) {
		api_rest_error(o->rq, 500, "internal error",
			       "the stored description of '%s' is not JSON", o->id);
		json_decref(desc);
		op_free(o);
		return;
	}
	with_desc_done(o, desc);
	json_decref(desc);
}

/* Read the description of o->id (404 when there is none), then with_desc_done. */
static void with_desc(struct op *o)
{
	char *key = ib_key_infra(o->d->app->cfg.ns, o->id, "desc");
	struct occo_err e;

	o->d->store_reads++;
	if (occo_redis_command(o->d->app->redis, desc_got, o, &e, "GET %s", key) < 0) {
		reply_err(o->rq, &e);
		op_free(o);
	}
	free(key);
}

static int has_node(const json_t *desc, const char *name)
{
	const json_t *n;
	size_t i;

	json_array_foreach (json_object_get(desc, "nodes"), i, n)
		if (json_is_string(json_object_get(n, "name")) &&
		    !strcmp(json_string_value(json_object_get(n, "name")), name))
			return 1;
	return 0;
}

static void scaled(const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	json_t *doc;

	if (err) {
		reply_err(o->rq, err);
		op_free(o);
		return;
	}
	invalidate(o->d, o->id);
	if (api_maintainer_has(o->d->mt, o->id))
		api_maintainer_add(o->d->mt, o->id); /* a pass now, not at the next interval */
	doc = json_pack("{s:s, s:s, s:s}", "method", o->what, "infraid", o->id, "nodename",
			o->node);
	if (!strcmp(o->what, "scaledown"))
		json_object_set_new(doc, "nodeid", o->arg ? json_string(o->arg) : json_null());
	else
		json_object_set_new(doc, "count", json_integer(o->arg ? atoi(o->arg) : 1));
	api_rest_reply(o->rq, 200, doc);
	op_free(o);
}

static void attach_done(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			void *ud)
{
	struct op *o = ud;
	int attach = !strcmp(o->what, "attach");
	struct occo_err e;

	if (err) {
		reply_err(o->rq, err);
	} else if (reply->type != REDIS_REPLY_INTEGER) {
		api_rest_error(o->rq, 500, "internal error", "unexpected reply of redis");
	} else if (reply->integer == 0) {
		api_rest_error(o->rq, 409, "conflict",
			       attach ? "infrastructure '%s' is already being maintained"
				      : "infrastructure '%s' is not maintained",
			       o->id);
	} else {
		if (attach)
			api_maintainer_add(o->d->mt, o->id);
		else
			api_maintainer_remove(o->d->mt, o->id, NULL, NULL, &e);
		OCCO_INFO(attach ? "infrastructure attached" : "infrastructure detached",
			  OCCO_KV("infra", o->id));
		api_rest_reply(o->rq, 200, json_pack("{s:s}", "infraid", o->id));
	}
	op_free(o);
}

static void notified(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		     void *ud)
{
	struct op *o = ud;

	if (err)
		reply_err(o->rq, err);
	else
		api_rest_reply(o->rq, 200, json_pack("{s:s}", "infraid", o->id));
	op_free(o);
}

/* Credentials in a notification spec (an FCM api_key, ...) never reach Redis in the clear. */
static void redact_secrets(json_t *v)
{
	static const char *const words[] = { "key", "token", "password", "secret", NULL };
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach (v, i, x)
			redact_secrets(x);
		return;
	}
	json_object_foreach (v, k, x) {
		int secret = 0;

		for (i = 0; words[i]; i++)
			secret |= strstr(k, words[i]) != NULL;
		if (secret && json_is_string(x))
			json_object_set_new(v, k, json_string("***"));
		else
			redact_secrets(x);
	}
}

static void with_desc_done(struct op *o, const json_t *desc)
{
	struct api_daemon *d = o->d;
	const char *ns = d->app->cfg.ns;
	struct occo_err e;
	int rc = 0;

	if (o->node && !has_node(desc, o->node)) {
		api_rest_error(o->rq, 404, "not found",
			       "node '%s' does not exist in infrastructure '%s'", o->node, o->id);
		op_free(o);
		return;
	}
	if (!strcmp(o->what, "scaleup")) {
		rc = ib_scaling_request_create(d->app->redis, ns, o->id, o->node,
					       o->arg ? atoi(o->arg) : 1, scaled, o, &e);
	} else if (!strcmp(o->what, "scaledown") && o->arg) {
		rc = ib_scaling_request_destroy_node(d->app->redis, ns, o->id, o->node, o->arg,
						     scaled, o, &e);
	} else if (!strcmp(o->what, "scaledown")) {
		rc = ib_scaling_request_destroy(d->app->redis, ns, o->id, o->node, 1, scaled, o,
						&e);
	} else if (!strcmp(o->what, "scaleto")) {
		rc = ib_scaling_set_target(d->app->redis, ns, o->id, o->node, atoi(o->arg), scaled,
					   o, &e);
	} else if (!strcmp(o->what, "attach") || !strcmp(o->what, "detach")) {
		rc = attached_change(d, o->id, o->what[0] == 'a', attach_done, o, &e);
	} else if (!strcmp(o->what, "notify")) {
		char *key = ib_key_infra(ns, o->id, "notification");
		char *text;

		redact_secrets(o->json);
		text = json_dumps(o->json, JSON_COMPACT);

		rc = occo_redis_command(d->app->redis, notified, o, &e, "SET %s %s", key, text);
		free(text);
		free(key);
	}
	if (rc < 0) {
		reply_err(o->rq, &e);
		op_free(o);
	}
}

/* A positive count from a path segment, or 0. */
static int count_of(const char *s, int lo)
{
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < lo || v > IB_SCALING_MAX_REQUESTS)
		return -1;
	return (int)v;
}

static void scale(struct api_daemon *d, struct api_rest_req *rq, const char *id, const char *what,
		  const char *node, const char *arg)
{
	struct op *o;

	if (!strcmp(what, "scaleto") && !arg) {
		api_rest_error(rq, 404, "not found",
			       "scaleto needs a count: scaleto/<node>/<count>");
		return;
	}
	if (arg && strcmp(what, "scaledown") &&
	    count_of(arg, !strcmp(what, "scaleto") ? 0 : 1) < 0) {
		api_rest_error(rq, 400, "bad request", "bad count '%s' (an integer from %d to %d)",
			       arg, !strcmp(what, "scaleto") ? 0 : 1, IB_SCALING_MAX_REQUESTS);
		return;
	}
	o = op_new(d, rq, id, what);
	o->node = occo_strdup(node);
	o->arg = arg ? occo_strdup(arg) : NULL;
	with_desc(o);
}

/* ---- GET /infrastructures/<id>/cost ---- */

static void cost_loaded(struct ib_snapshot *snap, const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	const struct ib_record *rec;
	json_t *out, *n;
	size_t i;

	if (err) {
		if (err->code == OCCO_ENOENT)
			not_found(o->rq, o->id);
		else
			reply_err(o->rq, err);
		op_free(o);
		return;
	}
	out = json_pack("{s:f}", "totalcost", 0.0);
	json_array_foreach (json_object_get(snap->desc, "nodes"), i, n)
		json_object_set_new(out, json_string_value(json_object_get(n, "name")),
				    json_object());
	ib_records_foreach (snap->records, rec) {
		json_t *by = rec->name ? json_object_get(out, rec->name) : NULL;

		if (json_is_object(by)) /* no back-end tells a cost */
			json_object_set_new(by, rec->node_id, json_real(0.0));
	}
	api_rest_reply(o->rq, 200, out);
	ib_snapshot_free(snap);
	op_free(o);
}

/* ---- DELETE /infrastructures/<id> ---- */

static void delete_try(struct op *o);
static void delete_tick(uv_timer_t *t);

static void op_free_timer(uv_handle_t *h)
{
	op_free(h->data);
}

static void destroyed(const struct occo_err *err, void *ud)
{
	struct op *o = ud;

	invalidate(o->d, o->id);
	if (err) {
		api_rest_error(o->rq, 500, "internal error",
			       "%s; the infrastructure is detached: DELETE again to finish",
			       err->msg);
	} else {
		OCCO_INFO("infrastructure destroyed", OCCO_KV("infra", o->id));
		api_rest_reply(o->rq, 200, json_pack("{s:s}", "infraid", o->id));
	}
	api_infra_close(o->inf);
	o->inf = NULL;
	uv_close((uv_handle_t *)&o->timer, op_free_timer);
}

static void delete_loaded(struct api_infra *inf, const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	struct occo_err e;

	if (err) {
		if (err->code == OCCO_ENOENT)
			not_found(o->rq, o->id);
		else
			reply_err(o->rq, err);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
		return;
	}
	o->inf = inf;
	if (api_infra_destroy(inf, destroyed, o, &e) < 0)
		destroyed(&e, o);
}

static void delete_leased(int ok, const char *holder, const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	struct occo_err e;

	if (err) {
		reply_err(o->rq, err);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
		return;
	}
	if (!ok) {
		if (uv_now(&o->d->app->loop) < o->deadline) {
			uv_timer_start(&o->timer, delete_tick, DELETE_RETRY_MS, 0);
			return;
		}
		api_rest_error(o->rq, 409, "conflict",
			       "infrastructure '%s' is still maintained by %s; try again", o->id,
			       holder ? holder : "another service");
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
		return;
	}
	if (api_infra_load(&o->d->e, o->id, delete_loaded, o, &e) < 0) {
		reply_err(o->rq, &e);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
	}
}

/* Take the lease (the maintainers let go of it once they see the infrastructure detached). */
static void delete_try(struct op *o)
{
	struct api_daemon *d = o->d;
	struct occo_err e;

	if (ib_lease_acquire(d->app->redis, d->app->cfg.ns, o->id, d->holder,
			     (unsigned)(d->s.lease * 1000), delete_leased, o, &e) < 0) {
		reply_err(o->rq, &e);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
	}
}

static void delete_tick(uv_timer_t *t)
{
	delete_try(t->data);
}

static void delete_unmaintained(void *ud)
{
	delete_try(ud);
}

static void delete_detached(struct occo_redis *r, const redisReply *reply,
			    const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	struct occo_err e;

	if (err) {
		reply_err(o->rq, err);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
		return;
	}
	if (api_maintainer_remove(o->d->mt, o->id, delete_unmaintained, o, &e) < 0)
		delete_try(o);
}

static void delete_existed(int exists, const struct occo_err *err, void *ud)
{
	struct op *o = ud;
	struct occo_err e;

	if (err || !exists) {
		if (err)
			reply_err(o->rq, err);
		else
			not_found(o->rq, o->id);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
		return;
	}
	if (attached_change(o->d, o->id, 0, delete_detached, o, &e) < 0) {
		reply_err(o->rq, &e);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
	}
}

/*
 * DELETE: detach (so that no service maintains it any more), wait for this service's pass to
 * finish, take the lease (another service lets go of it at its next scan), drop everything.
 */
static void delete_infra(struct api_daemon *d, struct api_rest_req *rq, const char *id)
{
	struct op *o = op_new(d, rq, id, "delete");
	struct occo_err e;

	uv_timer_init(&d->app->loop, &o->timer);
	o->timer.data = o;
	o->deadline = uv_now(&d->app->loop) + (uint64_t)((d->s.lease + 2 * d->s.interval) * 1000);
	d->store_reads++;
	if (ib_infra_exists(d->app->redis, d->app->cfg.ns, id, delete_existed, o, &e) < 0) {
		reply_err(rq, &e);
		uv_close((uv_handle_t *)&o->timer, op_free_timer);
	}
}

/* ---- /info/<key> ---- */

struct info_call {
	struct api_rest_req *rq;
	char *key;
};

static void info_got(json_t *value, const struct occo_err *err, void *ud)
{
	struct info_call *ic = ud;

	if (err) {
		int st = err->code == OCCO_ENOENT ? 404 : err->code == OCCO_EINVAL ? 400 : 500;

		api_rest_error(ic->rq, st, st == 404 ? "not found" : error_name(st), "%s",
			       err->msg);
	} else {
		api_rest_reply(ic->rq, 200, json_pack("{s:o}", "result", value));
	}
	free(ic->key);
	free(ic);
}

static void info(struct api_daemon *d, struct api_rest_req *rq, const char *key)
{
	struct info_call *ic = occo_calloc(1, sizeof(*ic));
	json_t *args = api_rest_query(rq);
	struct occo_err e;

	ic->rq = rq;
	ic->key = occo_strdup(key);
	if (api_info_get(&d->e, key, args, info_got, ic, &e) < 0) {
		free(ic->key);
		free(ic);
		reply_err(rq, &e);
	}
	json_decref(args);
}

/* ---- routing ---- */

#define MAX_SEGS 8

static void handle(struct api_rest_req *rq, void *ud)
{
	struct api_daemon *d = ud;
	const char *method = api_rest_method(rq), *path = api_rest_path(rq);
	char *copy = occo_strdup(path), *save = NULL, *tok;
	const char *seg[MAX_SEGS];
	size_t n = 0, i;
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	int post = !strcmp(method, "POST"), del = !strcmp(method, "DELETE");

	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS) {
			n++;
			break;
		}
		seg[n++] = tok;
	}
	if (d->stopping) {
		api_rest_error(rq, 503, "unavailable", "the service is stopping");
		goto out;
	}
	if (n > MAX_SEGS)
		goto unknown;
	for (i = 1; i < n; i++)
		if (!valid_id(seg[i]))
			goto unknown;
	if (n == 1 && !strcmp(seg[0], "healthz") && get) {
		healthz(d, rq);
	} else if (n == 1 && !strcmp(seg[0], "metrics") && get) {
		metrics(d, rq);
	} else if (n == 2 && !strcmp(seg[0], "info") && get) {
		info(d, rq, seg[1]);
	} else if (n >= 1 && !strcmp(seg[0], "infrastructures")) {
		if (n == 1 && get) {
			struct occo_err e;

			d->store_reads++;
			if (ib_infra_list(d->app->redis, d->app->cfg.ns, listed, rq, &e) < 0)
				reply_err(rq, &e);
		} else if (n == 1 && post) {
			post_infra(d, rq);
		} else if (n == 2 && get) {
			get_infra(d, rq, seg[1]);
		} else if (n == 2 && del) {
			delete_infra(d, rq, seg[1]);
		} else if (n == 3 && get && !strcmp(seg[2], "cost")) {
			struct op *o = op_new(d, rq, seg[1], "cost");
			struct occo_err e;

			d->store_reads++;
			if (ib_snapshot_load(d->app->redis, d->app->cfg.ns, seg[1], cost_loaded, o,
					     &e) < 0) {
				reply_err(rq, &e);
				op_free(o);
			}
		} else if (n == 3 && post &&
			   (!strcmp(seg[2], "attach") || !strcmp(seg[2], "detach"))) {
			with_desc(op_new(d, rq, seg[1],
					 !strcmp(seg[2], "attach") ? "attach" : "detach"));
		} else if (n == 3 && post && !strcmp(seg[2], "notify")) {
			size_t len;
			const char *body = api_rest_body(rq, &len);
			json_error_t je;
			json_t *spec = json_loadb(body, len, 0, &je);
			struct op *o;

			if (!json_is_object(spec)) {
				api_rest_error(rq, 400, "bad request",
					       "the notification must be a JSON object (line %d, "
					       "column %d: %s)",
					       je.line, je.column,
					       spec ? "not an object" : je.text);
				json_decref(spec);
				goto out;
			}
			o = op_new(d, rq, seg[1], "notify");
			o->json = spec;
			with_desc(o);
		} else if ((n == 4 || n == 5) && post &&
			   (!strcmp(seg[2], "scaleup") || !strcmp(seg[2], "scaledown") ||
			    !strcmp(seg[2], "scaleto"))) {
			scale(d, rq, seg[1],
			      !strcmp(seg[2], "scaleup")     ? "scaleup"
			      : !strcmp(seg[2], "scaledown") ? "scaledown"
							     : "scaleto",
			      seg[3], n == 5 ? seg[4] : NULL);
		} else {
			goto unknown;
		}
	} else {
		goto unknown;
	}
out:
	free(copy);
	return;
unknown:
	api_rest_error(rq, 404, "not found", "no endpoint %s %s", method, path);
	free(copy);
}

/* ---- life cycle ---- */

/* Maintenance first: while a pass runs, serving yields (see rest.h). */
static int yield(void *ud)
{
	struct api_daemon *d = ud;

	return d->mt && !d->stopping && api_maintainer_running(d->mt) > 0;
}

int api_daemon_start(struct api_app *app, const struct api_daemon_opts *opts,
		     struct api_daemon **out, struct occo_err *err)
{
	struct api_daemon *d = occo_calloc(1, sizeof(*d));
	struct api_maintainer_opts mo = { 0 };
	struct api_rest_opts ro = { 0 };
	char *cert = NULL, *key = NULL;
	char port[16];
	int rc;

	d->app = app;
	d->cli = *opts;
	if ((rc = settings_read(app->cfg.doc, &d->s, err)) < 0)
		goto fail;
	settings_override(&d->s, opts);
	if (d->s.lease <= d->s.interval) {
		rc = occo_err_set(err, OCCO_EINVAL,
				  "the lease (%g s) must be longer than the interval (%g s)",
				  d->s.lease, d->s.interval);
		goto fail;
	}
	if (d->s.tls_cert && ((rc = read_pem(d->s.tls_cert, &cert, err)) < 0 ||
			      (rc = read_pem(d->s.tls_key, &key, err)) < 0))
		goto fail;
	d->attached = occo_asprintf("%s:attached", app->cfg.ns);
	if ((rc = ib_lease_holder_new(&d->holder, err)) < 0)
		goto fail;
	if ((rc = api_engine_open(app, &d->e, err)) < 0)
		goto fail;
	d->engine_open = 1;
	mo.interval = d->s.interval;
	mo.lease_ms = (unsigned)(d->s.lease * 1000);
	mo.on_pass = on_pass;
	mo.ud = d;
	if ((rc = api_maintainer_new(&d->e, &mo, &d->mt, err)) < 0)
		goto fail;
	ro.host = d->s.host;
	ro.port = d->s.port;
	ro.token = d->s.token;
	ro.cors_origins = (const char *const *)d->s.cors;
	ro.tls_cert = cert;
	ro.tls_key = key;
	ro.max_body = d->s.max_body;
	ro.yield = yield;
	ro.yield_ud = d;
	rc = api_rest_start(&app->loop, &ro, handle, d, &d->rest, err);
	if (key)
		occo_free_secret(key);
	free(cert);
	cert = key = NULL;
	if (rc < 0)
		goto fail;
	uv_timer_init(&app->loop, &d->scan);
	d->scan.data = d;
	uv_timer_start(&d->scan, scan, 0, (uint64_t)(d->s.interval * 1000));
	snprintf(port, sizeof(port), "%d", api_rest_port(d->rest));
	OCCO_INFO("listening", OCCO_KV("host", d->s.host), OCCO_KV("port", port),
		  OCCO_KV("tls", d->s.tls_cert ? "on" : "off"),
		  OCCO_KV("auth", d->s.token ? "bearer" : "none"));
	*out = d;
	return 0;
fail:
	if (key)
		occo_free_secret(key);
	free(cert);
	if (d->mt)
		api_maintainer_close(d->mt, NULL, NULL);
	d->mt = NULL;
	api_daemon_free(d);
	return rc;
}

int api_daemon_port(const struct api_daemon *d)
{
	return api_rest_port(d->rest);
}

/* ---- reload ---- */

static void stop_finish(struct api_daemon *d);

struct reload {
	struct api_daemon *d;
	char *path;
	struct occo_ydoc *doc;
	int rc;
	struct occo_err err;
};

static void reload_read(uv_work_t *w)
{
	struct reload *rl = w->data;

	rl->rc = occo_yaml_load_file(rl->path, NULL, &rl->doc, &rl->err);
}

static void reload_done(uv_work_t *w, int status)
{
	struct reload *rl = w->data;
	struct api_daemon *d = rl->d;
	struct settings s;
	struct occo_err e;

	d->pending--;
	if (rl->rc < 0) {
		OCCO_ERROR("cannot reload the configuration", OCCO_KV("error", rl->err.msg));
	} else if (settings_read(rl->doc, &s, &e) < 0) {
		OCCO_ERROR("cannot reload the configuration", OCCO_KV("error", e.msg));
		settings_release(&s);
	} else {
		settings_override(&s, &d->cli);
		if (strcmp(s.host, d->s.host) || s.port != d->s.port ||
		    !!s.tls_cert != !!d->s.tls_cert ||
		    (s.tls_cert && strcmp(s.tls_cert, d->s.tls_cert)))
			OCCO_WARN("the listening address and TLS change only with a restart");
		api_rest_set_token(d->rest, s.token);
		api_rest_set_max_body(d->rest, s.max_body);
		api_rest_set_cors(d->rest, (const char *const *)s.cors);
		{
			char **old = d->s.cors;

			d->s.cors = s.cors;
			s.cors = old; /* released with s */
		}
		if (s.interval != d->s.interval) {
			api_maintainer_set_interval(d->mt, s.interval);
			d->s.interval = s.interval;
			uv_timer_set_repeat(&d->scan, (uint64_t)(s.interval * 1000));
		}
		if (d->s.token)
			occo_free_secret(d->s.token);
		d->s.token = s.token;
		s.token = NULL;
		d->s.max_body = s.max_body;
		settings_release(&s);
		OCCO_INFO("configuration reloaded", OCCO_KV("file", rl->path));
	}
	occo_ydoc_free(rl->doc);
	free(rl->path);
	free(rl);
	free(w);
	if (d->stopping && !d->pending && !d->mt)
		stop_finish(d);
}

void api_daemon_reload(struct api_daemon *d)
{
	struct reload *rl;
	uv_work_t *w;

	if (!d->app->cfg.path) {
		OCCO_WARN("no configuration file to reload");
		return;
	}
	if (d->stopping)
		return;
	rl = occo_calloc(1, sizeof(*rl));
	rl->d = d;
	rl->path = occo_strdup(d->app->cfg.path);
	w = occo_calloc(1, sizeof(*w));
	w->data = rl;
	d->pending++;
	uv_queue_work(&d->app->loop, w, reload_read, reload_done);
}

/* ---- stop ---- */

static void stop_finish(struct api_daemon *d)
{
	void (*cb)(void *ud) = d->stop_cb;

	d->stop_cb = NULL;
	OCCO_INFO("stopped: every lease given back");
	if (cb)
		cb(d->stop_ud);
}

static void maintainer_closed(void *ud)
{
	struct api_daemon *d = ud;

	d->mt = NULL;
	if (!d->pending) /* else when the reload in progress is done */
		stop_finish(d);
}

static void rest_closed(void *ud)
{
	struct api_daemon *d = ud;

	d->rest = NULL;
	api_maintainer_close(d->mt, maintainer_closed, d);
}

void api_daemon_stop(struct api_daemon *d, void (*cb)(void *ud), void *ud)
{
	if (d->stopping)
		return;
	d->stopping = 1;
	d->stop_cb = cb;
	d->stop_ud = ud;
	OCCO_INFO("stopping: finishing the answers and passes in progress");
	uv_close((uv_handle_t *)&d->scan, NULL);
	d->scan.data = NULL;
	api_rest_close(d->rest, rest_closed, d);
}

void api_daemon_free(struct api_daemon *d)
{
	if (!d)
		return;
	if (d->engine_open)
		api_engine_close(&d->e);
	cache_free(d);
	mstats_free(d);
	settings_release(&d->s);
	free(d->attached);
	free(d->holder);
	free(d);
}
