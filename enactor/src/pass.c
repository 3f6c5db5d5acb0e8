/*
 * pass.c - running one pass: refresh -> plan -> drops -> levels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/enactor/pass.h"
#include "occo/enactor/plan.h"
#include "occo/infobroker/batch.h"
#include "occo/infobroker/events.h"
#include "occo/util/alloc.h"
#include "occo/util/log.h"

struct pass {
	const struct enact_ops *ops;
	const json_t *desc, *scaling;
	struct ib_batch *batch;
	struct enact_pass_opts o;
	enact_pass_fn cb;
	void *ud;
	const char *infra_id;
	struct enact_plan plan;
	int planned;
	struct enact_result res;
	size_t level; /* the level being created */
	size_t out; /* operations in flight */
	size_t level_failed;
	json_t *failed_ids; /* instances of this level that failed (a build drops them) */
	int cleanup; /* dropping the failed instances of a build */
	struct occo_err err;
	int has_err;
};

static void pass_end(struct pass *p)
{
	struct occo_err e;

	if (!p->has_err && p->res.failed) {
		const json_t *f = json_array_get(p->res.failures, 0);

		occo_err_set(&e, OCCO_EREMOTE, "%zu instance%s failed; the first: %s",
			     p->res.failed, p->res.failed == 1 ? "" : "s",
			     json_string_value(json_object_get(f, "error")));
		p->cb(&p->res, &e, p->ud);
	} else {
		p->cb(&p->res, p->has_err ? &p->err : NULL, p->ud);
	}
	if (!p->has_err && !p->res.failed)
		ib_batch_event(p->batch, p->infra_id, "infraready", NULL, NULL, NULL, NULL);
	if (p->planned)
		enact_plan_release(&p->plan);
	json_decref(p->res.failures);
	json_decref(p->res.warnings);
	json_decref(p->failed_ids);
	free(p);
}

static void fail_node(struct pass *p, const char *name, const char *node_id,
		      const struct occo_err *err)
{
	p->res.failed++;
	json_array_append_new(p->res.failures, json_pack("{s:s?,s:s?,s:s}", "node", name, "node_id",
							 node_id, "error", err->msg));
	OCCO_ERROR("node failed", OCCO_KV("infra", p->infra_id), OCCO_KV("node", name),
		   OCCO_KV("node_id", node_id), OCCO_KV("error", err->msg));
}

static void next_level(struct pass *p);

/* A failed build level: drop what failed, keep the rest, stop. */
static void cleanup_done(const char *node_id, const struct occo_err *err, void *ud)
{
	struct pass *p = ud;

	if (err)
		OCCO_WARN("cannot drop a failed instance", OCCO_KV("infra", p->infra_id),
			  OCCO_KV("node_id", node_id), OCCO_KV("error", err->msg));
	if (--p->out == 0)
		pass_end(p);
}

static void level_over(struct pass *p)
{
	size_t i;

	if (p->o.progress)
		p->o.progress(p->level, p->plan.levels[p->level].n ? p->res.created : 0,
			      p->level_failed, p->o.progress_ud);
	if (!p->level_failed) {
		p->res.levels_done++;
		p->level++;
		next_level(p);
		return;
	}
	if (p->o.mode != ENACT_BUILD || !json_array_size(p->failed_ids)) {
		pass_end(p);
		return;
	}
	p->out = 1;
	for (i = 0; i < json_array_size(p->failed_ids); i++) {
		struct occo_err e;
		const char *id = json_string_value(json_array_get(p->failed_ids, i));

		p->out++;
		if (p->ops->drop(p->ops->impl, id, cleanup_done, p, &e) < 0) {
			p->out--;
			OCCO_WARN("cannot drop a failed instance", OCCO_KV("node_id", id),
				  OCCO_KV("error", e.msg));
		}
	}
	if (--p->out == 0)
		pass_end(p);
}

static void created(const char *node_id, const struct occo_err *err, void *ud)
{
	struct pass *p = ud;

	if (err) {
		const struct ib_record *rec =
			ib_records_get(p->ops->records(p->ops->impl), node_id);

		p->level_failed++;
		fail_node(p, rec ? rec->name : NULL, node_id, err);
		if (rec)
			json_array_append_new(p->failed_ids, json_string(node_id));
	} else {
		p->res.created++;
	}
	if (--p->out == 0)
		level_over(p);
}

static void next_level(struct pass *p)
{
	const struct enact_level *l;
	size_t i;
	int k;

	if (p->level >= p->plan.nlevels) {
		pass_end(p);
		return;
	}
	l = &p->plan.levels[p->level];
	p->level_failed = 0;
	json_array_clear(p->failed_ids);
	p->out = 1; /* held while the level's creations are started */
	for (i = 0; i < l->n; i++) {
		for (k = 0; k < l->v[i].count; k++) {
			struct occo_err e;

			p->out++;
			if (p->ops->create(p->ops->impl, l->v[i].name, created, p, &e) < 0) {
				p->out--;
				p->level_failed++;
				fail_node(p, l->v[i].name, NULL, &e);
			}
		}
	}
	if (--p->out == 0)
		level_over(p);
}

static void drop_done(const char *node_id, const struct occo_err *err, void *ud)
{
	struct pass *p = ud;

	if (err) {
		const struct ib_record *rec =
			ib_records_get(p->ops->records(p->ops->impl), node_id);

		fail_node(p, rec ? rec->name : NULL, node_id, err);
	} else
		p->res.dropped++;
	if (--p->out == 0)
		next_level(p);
}

static void scaling_writes(struct pass *p)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach (p->plan.targets, k, v)
		ib_batch_scaling_target(p->batch, p->infra_id, k, (int)json_integer_value(v), NULL,
					NULL, NULL);
	json_array_foreach (p->plan.scaling_del, i, v)
		ib_batch_scaling_del(p->batch, p->infra_id, json_string_value(v), NULL, NULL, NULL);
	json_object_foreach (p->plan.scaling_put, k, v)
		ib_batch_scaling_put(p->batch, p->infra_id, k, json_string_value(v), NULL, NULL,
				     NULL);
	json_array_foreach (p->plan.warnings, i, v)
		OCCO_WARN(json_string_value(v), OCCO_KV("infra", p->infra_id));
}

/* The guard tripped: say so where a user looks (the log, the result, the event log). */
static void guard_report(struct pass *p)
{
	size_t n = json_array_size(p->plan.suppressed);
	double share =
		p->o.max_failed_share > 0 ? p->o.max_failed_share : ENACT_DEFAULT_MAX_FAILED_SHARE;
	char failed[24], total[24], pct[24], *msg;
	json_t *data;

	if (!n)
		return;
	snprintf(failed, sizeof(failed), "%zu", p->plan.nhealth_failed);
	snprintf(total, sizeof(total), "%zu", p->plan.ninstances);
	snprintf(pct, sizeof(pct), "%g%%", share * 100);
	msg = occo_asprintf("%zu of %zu instances failed their health checks at once (more than "
			    "%s): not replacing them, as a network partition looks like this",
			    p->plan.nhealth_failed, p->plan.ninstances, pct);
	OCCO_WARN("replacement of failed instances suppressed", OCCO_KV("infra", p->infra_id),
		  OCCO_KV("failed", failed), OCCO_KV("instances", total),
		  OCCO_KV("max_failed_share", pct), OCCO_KV("why", msg));
	json_array_append_new(p->res.warnings, json_string(msg));
	data = json_pack("{s:I,s:I,s:f,s:O,s:s}", "failed", (json_int_t)p->plan.nhealth_failed,
			 "instances", (json_int_t)p->plan.ninstances, "max_failed_share", share,
			 "node_ids", p->plan.suppressed, "message", msg);
	ib_batch_event(p->batch, p->infra_id, IB_EV_REPLACESUPPRESSED, data, NULL, NULL, NULL);
	json_decref(data);
	free(msg);
}

static void refreshed(const struct occo_err *err, void *ud)
{
	struct pass *p = ud;
	struct enact_plan_opts po = { p->o.max_failed_share };
	size_t i;

	if (err) {
		occo_err_copy(&p->err, err);
		occo_err_prefix(&p->err, "cannot learn the state of the instances");
		p->has_err = 1;
		pass_end(p);
		return;
	}
	if (enact_plan_pass(p->desc, p->ops->records(p->ops->impl), p->scaling, &po, &p->plan,
			    &p->err) < 0) {
		p->has_err = 1;
		pass_end(p);
		return;
	}
	p->planned = 1;
	json_array_extend(p->res.warnings, p->plan.warnings);
	scaling_writes(p);
	guard_report(p);
	if (p->plan.bootstrap)
		ib_batch_event(p->batch, p->infra_id, "infrastart", NULL, NULL, NULL, NULL);
	p->out = 1;
	for (i = 0; i < p->plan.ndrops; i++) {
		const struct enact_drop *d = &p->plan.drops[i];
		struct occo_err e;

		OCCO_INFO("dropping instance", OCCO_KV("infra", p->infra_id),
			  OCCO_KV("node", d->name), OCCO_KV("node_id", d->node_id),
			  OCCO_KV("reason", enact_drop_reason_name(d->reason)));
		p->out++;
		if (p->ops->drop(p->ops->impl, d->node_id, drop_done, p, &e) < 0) {
			p->out--;
			fail_node(p, d->name, d->node_id, &e);
		}
	}
	if (--p->out == 0)
		next_level(p);
}

int enact_pass(const struct enact_ops *ops, const json_t *desc, const json_t *scaling,
	       struct ib_batch *batch, const struct enact_pass_opts *opts, enact_pass_fn cb,
	       void *ud, struct occo_err *err)
{
	struct pass *p;
	const char *id = json_string_value(json_object_get(desc, "infra_id"));
	int rc;

	if (!id)
		return occo_err_set(err, OCCO_EINVAL, "the static description has no infra_id");
	p = occo_calloc(1, sizeof(*p));
	p->ops = ops;
	p->desc = desc;
	p->scaling = scaling;
	p->batch = batch;
	if (opts)
		p->o = *opts;
	p->cb = cb;
	p->ud = ud;
	p->infra_id = id;
	p->res.failures = json_array();
	p->res.warnings = json_array();
	p->failed_ids = json_array();
	rc = ops->refresh(ops->impl, refreshed, p, err);
	if (rc < 0) {
		json_decref(p->res.failures);
		json_decref(p->res.warnings);
		json_decref(p->failed_ids);
		free(p);
	}
	return rc;
}
