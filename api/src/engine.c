/*
 * engine.c - wiring the engine's libraries together for the programs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/engine.h"
#include "occo/infobroker/batch.h"
#include "occo/infobroker/infra.h"
#include "occo/infobroker/store.h"
#include "occo/configmanager/cm.h"
#include "occo/infraprocessor/health.h"
#include "occo/resourcehandler/rh.h"
#include "occo/util/alloc.h"
#include "occo/util/http.h"

/* ---- the resource handlers as the infraprocessor's clouds ---- */

static void rh_node_of(const struct iproc_node *n, struct rh_node *r)
{
	r->infra_id = n->infra_id;
	r->node_id = n->node_id;
	r->name = n->name;
	r->token = n->token;
	r->resource = n->resource;
	r->auth = n->auth;
	r->user_data = n->user_data;
	r->attributes = n->attributes;
	r->instance_id = n->instance_id;
}

static int cloud_create(void *impl, const struct iproc_node *node, iproc_created_fn cb, void *ud,
			struct occo_err *err)
{
	struct rh_node r;

	rh_node_of(node, &r);
	return rh_create(impl, &r, cb, ud, err);
}

static int cloud_drop(void *impl, const struct iproc_node *node, iproc_dropped_fn cb, void *ud,
		      struct occo_err *err)
{
	struct rh_node r;

	rh_node_of(node, &r);
	return rh_drop(impl, &r, cb, ud, err);
}

struct list_call {
	iproc_listed_fn cb;
	void *ud;
};

static void cloud_listed(const struct rh_instance *v, size_t n, const struct occo_err *err,
			 void *ud)
{
	struct list_call *lc = ud;
	struct iproc_seen *seen = occo_calloc(n + 1, sizeof(*seen));
	size_t i;

	for (i = 0; i < n; i++) {
		seen[i].instance_id = v[i].instance_id;
		seen[i].token = v[i].token;
		seen[i].state = rh_state_name(v[i].state);
		seen[i].addresses = v[i].addresses;
		seen[i].private_address = v[i].private_address;
		seen[i].message = v[i].message;
		seen[i].published = v[i].published;
	}
	lc->cb(seen, n, err, lc->ud);
	free(seen);
	free(lc);
}

static int cloud_list(void *impl, const struct iproc_node *node, iproc_listed_fn cb, void *ud,
		      struct occo_err *err)
{
	struct list_call *lc = occo_calloc(1, sizeof(*lc));
	struct rh_node r;
	int rc;

	lc->cb = cb;
	lc->ud = ud;
	rh_node_of(node, &r);
	rc = rh_list(impl, &r, cloud_listed, lc, err);
	if (rc < 0)
		free(lc);
	return rc;
}

static char *cloud_endpoint(void *impl, const json_t *resource)
{
	return rh_endpoint_key(resource);
}

/* ---- the config managers as the infraprocessor's ---- */

static int cms_state(void *impl, const struct iproc_node *node, const json_t *section,
		     iproc_cm_fn cb, void *ud, struct occo_err *err)
{
	struct cm_node n = { node->infra_id, node->node_id, node->name, section };

	return cm_node_state(impl, &n, cb, ud, err);
}

/* ---- the infraprocessor as the enactor's ops ---- */

static int ops_refresh(void *impl, enact_done_fn cb, void *ud, struct occo_err *err)
{
	return iproc_refresh(impl, cb, ud, err);
}

static int ops_create(void *impl, const char *name, enact_node_fn cb, void *ud,
		      struct occo_err *err)
{
	return iproc_create_node(impl, name, cb, ud, err);
}

static int ops_drop(void *impl, const char *node_id, enact_node_fn cb, void *ud,
		    struct occo_err *err)
{
	return iproc_drop_node(impl, node_id, cb, ud, err);
}

static const struct ib_records *ops_records(void *impl)
{
	return iproc_infra_records(impl);
}

/* ---- the engine ---- */

/* occopus_config.yaml: health_checks: {concurrency: N, max_failed_share: X} */
static int health_settings(const struct occo_config *cfg, struct hc_opts *ho, double *share,
			   struct occo_err *err)
{
	const json_t *root = cfg->doc ? occo_ydoc_root(cfg->doc) : NULL;
	const json_t *sec = json_is_object(root) ? json_object_get(root, "health_checks") : NULL;
	const char *k;
	json_t *v;

	memset(ho, 0, sizeof(*ho));
	*share = 0;
	if (!sec)
		return 0;
	if (!json_is_object(sec))
		return occo_yaml_err(err, occo_ydoc_child_mark(cfg->doc, root, "health_checks", 0),
				     OCCO_EINVAL, "'health_checks' must be a mapping");
	json_object_foreach ((json_t *)sec, k, v) {
		const struct occo_yaml_mark *m = occo_ydoc_child_mark(cfg->doc, sec, k, 0);

		if (!strcmp(k, "concurrency")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 65535)
				return occo_yaml_err(err, m, OCCO_EINVAL,
						     "'health_checks.concurrency' must be an "
						     "integer from 1 to 65535");
			ho->max_concurrent = (unsigned)json_integer_value(v);
		} else if (!strcmp(k, "max_failed_share")) {
			if (!json_is_number(v) || !(json_number_value(v) > 0) ||
			    json_number_value(v) > 1)
				return occo_yaml_err(err, m, OCCO_EINVAL,
						     "'health_checks.max_failed_share' must be a "
						     "number above 0 and at most 1");
			*share = json_number_value(v);
		} else {
			return occo_yaml_err(err, occo_ydoc_key_mark(cfg->doc, sec, k), OCCO_EINVAL,
					     "unknown key '%s' in 'health_checks' (expected "
					     "'concurrency', 'max_failed_share')",
					     k);
		}
	}
	return 0;
}

int api_engine_open(struct api_app *app, struct api_engine *e, struct occo_err *err)
{
	struct rh_env env = { 0 };
	struct occo_http_opts ho;
	struct hc_opts hco;
	int rc;

	memset(e, 0, sizeof(*e));
	e->app = app;
	occo_http_opts_init(&ho);
	if ((rc = occo_http_new(&app->loop, &ho, &e->http, err)) < 0)
		return rc;
	if ((rc = ib_batch_open(app->redis, app->cfg.ns, NULL, &e->batch, err)) < 0)
		return rc;
	env.loop = &app->loop;
	env.redis = app->redis;
	env.ns = app->cfg.ns;
	env.http = e->http;
	env.state_dir = app->cfg.state_dir;
	if ((rc = rh_new(&env, NULL, &e->rh, err)) < 0)
		return rc;
	e->cloud =
		(struct iproc_cloud){ e->rh, cloud_create, cloud_drop, cloud_list, cloud_endpoint };
	if ((rc = cm_new(&app->loop, &e->cm, err)) < 0)
		return rc;
	e->cms = (struct iproc_cm){ e->cm, cms_state };
	if ((rc = health_settings(&app->cfg, &hco, &e->max_failed_share, err)) < 0)
		return rc;
	return hc_new(&app->loop, e->http, &hco, &e->hc, err);
}

void api_engine_close(struct api_engine *e)
{
	redisReply *reply = NULL;
	struct occo_err err;

	if (e->rh)
		rh_free(e->rh); /* the plugins flush what they hold (the dummy cloud's writes) */
	if (e->cm)
		cm_free(e->cm);
	if (e->batch)
		ib_batch_close(e->batch, NULL, NULL); /* issues what is queued */
	/*
	 * Nothing written may be lost when the program ends: replies come back in order, so once
	 * a PING sent now has its answer, every write issued before it has been applied.
	 */
	if (e->app && e->app->redis) {
		if (occo_redis_command_wait(e->app->redis, &reply, &err, "PING") < 0)
			api_app_report(e->app, &err);
		if (reply)
			freeReplyObject(reply);
	}
	hc_free(e->hc); /* before the HTTP client its URL checks use */
	if (e->http)
		occo_http_close(e->http, NULL, NULL);
	memset(e, 0, sizeof(*e));
}

/* ---- loading an infrastructure ---- */

struct load {
	struct api_engine *e;
	api_infra_fn cb;
	void *ud;
	struct ib_snapshot *snap;
	json_t *defs;
	size_t out;
	int failed;
	struct occo_err err;
};

static void load_finish(struct load *l)
{
	struct api_infra *inf = NULL;
	struct occo_err err;
	struct ib_records *records;
	json_t *desc;

	if (!l->failed) {
		inf = occo_calloc(1, sizeof(*inf));
		inf->e = l->e;
		desc = json_incref(l->snap->desc);
		records = l->snap->records; /* taken */
		l->snap->records = NULL;
		inf->scaling = json_incref(l->snap->scaling);
		if (iproc_infra_open(&l->e->app->loop, &l->e->cloud, l->e->batch, &l->e->app->cfg,
				     &l->e->iopts, desc, records, json_incref(l->defs), &inf->in,
				     &err) < 0) {
			json_decref(inf->scaling);
			free(inf);
			inf = NULL;
			l->failed = 1;
			occo_err_copy(&l->err, &err);
		} else {
			inf->desc = desc;
			iproc_infra_set_cm(inf->in, &l->e->cms);
			iproc_infra_set_health(inf->in, l->e->hc, json_incref(l->snap->health));
			inf->ops = (struct enact_ops){ inf->in, ops_refresh, ops_create, ops_drop,
						       ops_records };
		}
	}
	l->cb(inf, l->failed ? &l->err : NULL, l->ud);
	if (l->snap)
		ib_snapshot_free(l->snap);
	json_decref(l->defs);
	free(l);
}

struct def_get {
	struct load *l;
	char *type;
};

static void def_got(json_t *defs, const struct occo_err *err, void *ud)
{
	struct def_get *g = ud;
	struct load *l = g->l;

	if (err && !l->failed) {
		l->failed = 1;
		occo_err_copy(&l->err, err);
	} else if (defs) {
		json_object_set(l->defs, g->type, defs);
	}
	json_decref(defs);
	free(g->type);
	free(g);
	if (--l->out == 0)
		load_finish(l);
}

static void snapshot_loaded(struct ib_snapshot *snap, const struct occo_err *err, void *ud)
{
	struct load *l = ud;
	struct occo_err e;
	json_t *n;
	size_t i;

	if (err) {
		l->failed = 1;
		occo_err_copy(&l->err, err);
		load_finish(l);
		return;
	}
	l->snap = snap;
	l->out = 1;
	json_array_foreach (json_object_get(snap->desc, "nodes"), i, n) {
		const char *type = json_string_value(json_object_get(n, "type"));
		struct def_get *g;

		if (!type || json_object_get(l->defs, type))
			continue;
		json_object_set_new(l->defs, type, json_array()); /* none imported yet */
		g = occo_calloc(1, sizeof(*g));
		g->l = l;
		g->type = occo_strdup(type);
		l->out++;
		if (ib_nodedef_get(l->e->app->redis, l->e->app->cfg.ns, type, def_got, g, &e) < 0) {
			l->out--;
			free(g->type);
			free(g);
			l->failed = 1;
			occo_err_copy(&l->err, &e);
			break;
		}
	}
	if (--l->out == 0)
		load_finish(l);
}

static int infra_load(struct api_engine *e, const char *infra_id, json_t *desc, api_infra_fn cb,
		      void *ud, struct occo_err *err)
{
	struct load *l = occo_calloc(1, sizeof(*l));
	int rc;

	l->e = e;
	l->cb = cb;
	l->ud = ud;
	l->defs = json_object();
	rc = ib_snapshot_load_ex(e->app->redis, e->app->cfg.ns, infra_id, desc,
				 (e->lean ? IB_SNAPSHOT_NO_EDGES : 0) |
					 (e->lenient ? IB_SNAPSHOT_LENIENT_RECORDS : 0),
				 snapshot_loaded, l, err);
	if (rc < 0) {
		json_decref(l->defs);
		free(l);
	}
	return rc;
}

int api_infra_load(struct api_engine *e, const char *infra_id, api_infra_fn cb, void *ud,
		   struct occo_err *err)
{
	return infra_load(e, infra_id, NULL, cb, ud, err);
}

int api_infra_load_desc(struct api_engine *e, const char *infra_id, json_t *desc, api_infra_fn cb,
			void *ud, struct occo_err *err)
{
	return infra_load(e, infra_id, desc, cb, ud, err);
}

void api_infra_close(struct api_infra *inf)
{
	if (!inf)
		return;
	iproc_infra_close(inf->in);
	json_decref(inf->scaling);
	free(inf);
}

/* ---- teardown ---- */

/* Drops in flight at once: enough to keep every cloud busy, few enough to bound memory. */
#define DESTROY_WINDOW 4096

struct destroy {
	struct api_infra *inf;
	api_done_fn cb;
	void *ud;
	char **ids; /* every node_id, started in order */
	size_t nids;
	size_t next; /* the first not started */
	size_t out, failed;
	struct occo_err err;
};

static void destroy_removed(const struct occo_err *err, void *ud)
{
	struct destroy *d = ud;

	d->cb(err, d->ud);
	free(d);
}

static void destroy_end(struct destroy *d)
{
	struct occo_err e;
	struct api_engine *en = d->inf->e;

	while (d->nids)
		free(d->ids[--d->nids]);
	free(d->ids);
	d->ids = NULL;
	if (d->failed) {
		occo_err_prefix(&d->err, "%zu instance%s could not be dropped; the first",
				d->failed, d->failed == 1 ? "" : "s");
		d->cb(&d->err, d->ud);
		free(d);
		return;
	}
	ib_batch_flush(en->batch);
	if (ib_infra_remove(en->app->redis, en->app->cfg.ns, iproc_infra_id(d->inf->in),
			    destroy_removed, d, &e) < 0)
		destroy_removed(&e, d);
}

static void destroy_dropped(const char *node_id, const struct occo_err *err, void *ud);

/* Start drops until the window is full or every one is started. */
static void destroy_more(struct destroy *d)
{
	struct occo_err e;

	while (d->out < DESTROY_WINDOW && d->next < d->nids) {
		d->out++;
		if (iproc_drop_node(d->inf->in, d->ids[d->next++], destroy_dropped, d, &e) < 0) {
			d->out--;
			if (d->failed++ == 0)
				occo_err_copy(&d->err, &e);
		}
	}
}

static void destroy_dropped(const char *node_id, const struct occo_err *err, void *ud)
{
	struct destroy *d = ud;

	if (err && d->failed++ == 0)
		occo_err_copy(&d->err, err);
	d->out--;
	destroy_more(d); /* their callbacks come later, never from inside */
	if (d->out == 0)
		destroy_end(d);
}

static void destroy_idle(uv_timer_t *t)
{
	destroy_end(t->data);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

int api_infra_destroy(struct api_infra *inf, api_done_fn cb, void *ud, struct occo_err *err)
{
	struct destroy *d = occo_calloc(1, sizeof(*d));
	const struct ib_records *recs = iproc_infra_records(inf->in);
	const struct ib_record *rec;

	d->inf = inf;
	d->cb = cb;
	d->ud = ud;
	d->ids = occo_calloc(ib_records_count(recs) + 1, sizeof(*d->ids));
	ib_records_foreach (recs, rec)
		d->ids[d->nids++] = occo_strdup(rec->node_id);
	d->out = 1; /* held while the drops are started */
	destroy_more(d);
	if (--d->out == 0) { /* nothing was in flight: finish on the next loop turn */
		uv_timer_t *t = occo_calloc(1, sizeof(*t));

		uv_timer_init(&inf->e->app->loop, t);
		t->data = d;
		uv_timer_start(t, destroy_idle, 0, 0);
	}
	return 0;
}

/* ---- reports ---- */

json_t *api_infra_report_json(const json_t *desc, const struct ib_records *records)
{
	json_t *nodes = json_object(), *n;
	const struct ib_record *rec;
	size_t i;

	json_array_foreach (json_object_get(desc, "nodes"), i, n)
		json_object_set_new(nodes, json_string_value(json_object_get(n, "name")),
				    json_object());
	ib_records_foreach (records, rec) {
		json_t *by = rec->name ? json_object_get(nodes, rec->name) : NULL;

		if (by)
			json_object_set_new(by, rec->node_id,
					    json_pack("{s:s?,s:o}", "state", rec->state,
						      "addresses",
						      rec->addresses ? json_incref(rec->addresses)
								     : json_array()));
	}
	return json_pack("{s:O,s:O,s:o}", "infra_id", json_object_get(desc, "infra_id"), "name",
			 json_object_get(desc, "name"), "nodes", nodes);
}

void api_infra_report(const json_t *desc, const struct ib_records *records, FILE *f)
{
	/* printed from the records sorted by node name: no second tree of a large infrastructure */
	size_t n = 0, i, k, lo, run;
	struct ib_record_ref *rows = occo_calloc(ib_records_count(records) + 1, sizeof(*rows));
	const struct ib_record *rec;
	const json_t *node, *a;

	ib_records_foreach (records, rec) {
		if (rec->name) {
			rows[n] = (struct ib_record_ref){ rec->name, rec, n };
			n++;
		}
	}
	ib_record_refs_sort(rows, n);
	fprintf(f, "List of nodes/instances/addresses:\n");
	json_array_foreach (json_object_get(desc, "nodes"), i, node) {
		const char *name = json_string_value(json_object_get(node, "name"));

		if (!name)
			continue;
		fprintf(f, "%s:\n", name);
		for (run = ib_record_refs_run(rows, n, name, &lo); run; run--, lo++) {
			fprintf(f, "  %s:\n", rows[lo].rec->node_id);
			json_array_foreach (rows[lo].rec->addresses, k, a)
				fprintf(f, "    %s\n", json_string_value(a));
		}
	}
	free(rows);
}
