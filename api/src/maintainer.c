/*
 * maintainer.c - the maintenance cycles of the infrastructures a process maintains, each
 * behind its lease (see maintainer.h). Shared by occopus-maintain and the REST service.
 *
 * Each infrastructure is an entry with its own timer. An entry is freed only when no pass and
 * no lease command of it is in flight, so every callback finds it alive; an entry being
 * removed that is added again is kept and starts over instead.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/api/maintainer.h"
#include "occo/infobroker/lease.h"
#include "occo/util/alloc.h"
#include "occo/util/log.h"

#define MIN_LEASE_MS 30000

struct ment {
	struct ment *next;
	struct api_maintainer *m;
	char *id;
	uv_timer_t timer;
	struct api_infra *inf;
	uint64_t t0; /* uv_hrtime at the start of the turn */
	int have_lease, busy, removing, readd, releasing, freeing;
	unsigned ops; /* lease commands in flight (renew, release) */
	api_maintainer_done_fn rm_cb;
	void *rm_ud;
};

struct api_maintainer {
	struct api_engine *e;
	struct api_maintainer_opts o;
	char *holder;
	struct ment *ents;
	uv_timer_t renew;
	size_t live; /* entries not freed yet */
	int closing;
	api_maintainer_done_fn close_cb;
	void *close_ud;
};

static void ent_start(struct ment *ent);
static void ent_tick(uv_timer_t *t);
static void ent_maybe_free(struct ment *ent);

static struct ment *ent_find(const struct api_maintainer *m, const char *id)
{
	struct ment *ent;

	for (ent = m->ents; ent; ent = ent->next)
		if (!strcmp(ent->id, id))
			return ent;
	return NULL;
}

static uint64_t interval_ms(const struct api_maintainer *m)
{
	return (uint64_t)(m->o.interval * 1000);
}

/* ---- leases ---- */

static void released(int ok, const char *holder, const struct occo_err *err, void *ud)
{
	struct ment *ent = ud;

	if (err)
		OCCO_WARN("cannot give the lease back", OCCO_KV("infra", ent->id),
			  OCCO_KV("error", err->msg));
	ent->ops--;
	ent->have_lease = 0;
	ent_maybe_free(ent);
}

/* Give the lease back once (if held), then free the entry when nothing is in flight. */
static void ent_release(struct ment *ent)
{
	struct api_maintainer *m = ent->m;
	struct occo_err e;

	if (!ent->releasing && ent->have_lease) {
		ent->releasing = 1;
		ent->ops++;
		if (ib_lease_release(m->e->app->redis, m->e->app->cfg.ns, ent->id, m->holder,
				     released, ent, &e) < 0) {
			ent->ops--;
			ent->have_lease = 0;
		}
	}
	ent_maybe_free(ent);
}

static void renewed(int ok, const char *holder, const struct occo_err *err, void *ud)
{
	struct ment *ent = ud;

	ent->ops--;
	if (!err && !ok && ent->have_lease && !ent->releasing) {
		ent->have_lease = 0;
		OCCO_WARN("lost the lease: another maintainer holds the infrastructure",
			  OCCO_KV("infra", ent->id), OCCO_KV("holder", holder));
	}
	ent_maybe_free(ent);
}

static void renew_all(uv_timer_t *t)
{
	struct api_maintainer *m = t->data;
	struct ment *ent;
	struct occo_err e;

	for (ent = m->ents; ent; ent = ent->next) {
		if (!ent->have_lease || ent->releasing)
			continue;
		ent->ops++;
		if (ib_lease_renew(m->e->app->redis, m->e->app->cfg.ns, ent->id, m->holder,
				   m->o.lease_ms, renewed, ent, &e) < 0)
			ent->ops--;
	}
}

/* ---- entries ---- */

static void maybe_closed(struct api_maintainer *m);

static void ent_closed(uv_handle_t *h)
{
	struct ment *ent = h->data;
	struct api_maintainer *m = ent->m;

	if (ent->rm_cb)
		ent->rm_cb(ent->rm_ud);
	free(ent->id);
	free(ent);
	m->live--;
	maybe_closed(m);
}

static void ent_maybe_free(struct ment *ent)
{
	struct api_maintainer *m = ent->m;
	struct ment **pp;

	if (!ent->removing || ent->busy || ent->ops || ent->freeing)
		return;
	if (ent->have_lease && !ent->releasing)
		return; /* ent_release issues it */
	if (ent->readd && !m->closing) { /* added again while leaving: start over */
		api_maintainer_done_fn cb = ent->rm_cb;

		ent->removing = ent->readd = ent->releasing = 0;
		ent->rm_cb = NULL;
		if (cb)
			cb(ent->rm_ud);
		uv_timer_start(&ent->timer, ent_tick, 0, 0);
		return;
	}
	ent->freeing = 1;
	for (pp = &m->ents; *pp; pp = &(*pp)->next) {
		if (*pp == ent) {
			*pp = ent->next;
			break;
		}
	}
	uv_close((uv_handle_t *)&ent->timer, ent_closed);
}

static void ent_remove(struct ment *ent)
{
	ent->removing = 1;
	ent->readd = 0;
	uv_timer_stop(&ent->timer);
	if (!ent->busy)
		ent_release(ent);
}

/* ---- one turn: lease, load, pass ---- */

static void ent_end(struct ment *ent, const struct enact_result *res, const struct occo_err *err,
		    int busy)
{
	struct api_maintainer *m = ent->m;
	struct api_pass_info p = {
		.infra_id = ent->id,
		.res = res,
		.err = err,
		.busy = busy,
		.seconds = (double)(uv_hrtime() - ent->t0) / 1e9,
		.desc = ent->inf ? ent->inf->desc : NULL,
		.records = ent->inf ? iproc_infra_records(ent->inf->in) : NULL,
	};

	if (m->o.on_pass)
		m->o.on_pass(&p, m->o.ud);
	api_infra_close(ent->inf);
	ent->inf = NULL;
	ent->busy = 0;
	if (ent->removing)
		ent_release(ent);
	else
		uv_timer_start(&ent->timer, ent_tick, interval_ms(m), 0);
}

static void passed(const struct enact_result *res, const struct occo_err *err, void *ud)
{
	ent_end(ud, res, err, 0);
}

static void loaded(struct api_infra *inf, const struct occo_err *err, void *ud)
{
	struct ment *ent = ud;
	struct api_engine *e = ent->m->e;
	struct enact_pass_opts o = { .mode = ENACT_MAINTAIN,
				     .max_failed_share = e->max_failed_share };
	struct occo_err perr;

	if (err) {
		ent_end(ent, NULL, err, 0);
		return;
	}
	ent->inf = inf;
	if (enact_pass(&inf->ops, inf->desc, inf->scaling, e->batch, &o, passed, ent, &perr) < 0)
		ent_end(ent, NULL, &perr, 0);
}

static void acquired(int ok, const char *holder, const struct occo_err *err, void *ud)
{
	struct ment *ent = ud;
	struct occo_err e;

	if (err) {
		ent_end(ent, NULL, err, 0);
		return;
	}
	if (!ok) {
		ent->have_lease = 0;
		occo_err_set(&e, OCCO_EBUSY, "infrastructure '%s' is maintained by %s", ent->id,
			     holder ? holder : "another maintainer");
		ent_end(ent, NULL, &e, 1);
		return;
	}
	if (!ent->have_lease)
		OCCO_INFO("took the lease", OCCO_KV("infra", ent->id),
			  OCCO_KV("holder", ent->m->holder));
	ent->have_lease = 1;
	if (ent->removing) { /* asked to leave while the lease was asked for */
		ent_end(ent, NULL, NULL, 0);
		return;
	}
	if (api_infra_load(ent->m->e, ent->id, loaded, ent, &e) < 0)
		ent_end(ent, NULL, &e, 0);
}

static void ent_start(struct ment *ent)
{
	struct api_maintainer *m = ent->m;
	struct occo_err e;

	if (ent->removing || ent->busy)
		return;
	ent->busy = 1;
	ent->t0 = uv_hrtime();
	if (ib_lease_acquire(m->e->app->redis, m->e->app->cfg.ns, ent->id, m->holder, m->o.lease_ms,
			     acquired, ent, &e) < 0)
		ent_end(ent, NULL, &e, 0);
}

static void ent_tick(uv_timer_t *t)
{
	ent_start(t->data);
}

/* ---- the maintainer ---- */

int api_maintainer_new(struct api_engine *e, const struct api_maintainer_opts *opts,
		       struct api_maintainer **out, struct occo_err *err)
{
	struct api_maintainer *m = occo_calloc(1, sizeof(*m));
	int rc;

	if ((rc = ib_lease_holder_new(&m->holder, err)) < 0) {
		free(m);
		return rc;
	}
	m->e = e;
	m->o = *opts;
	if (!(m->o.interval > 0))
		m->o.interval = 10;
	if (!m->o.lease_ms) {
		m->o.lease_ms = (unsigned)(m->o.interval * 3000);
		if (m->o.lease_ms < MIN_LEASE_MS)
			m->o.lease_ms = MIN_LEASE_MS;
	}
	uv_timer_init(&e->app->loop, &m->renew);
	m->renew.data = m;
	uv_timer_start(&m->renew, renew_all, m->o.lease_ms / 3, m->o.lease_ms / 3);
	*out = m;
	return 0;
}

int api_maintainer_add(struct api_maintainer *m, const char *infra_id)
{
	struct ment *ent = ent_find(m, infra_id);

	if (m->closing)
		return 0;
	if (ent) {
		if (ent->removing)
			ent->readd = 1;
		else if (!ent->busy)
			uv_timer_start(&ent->timer, ent_tick, 0, 0);
		return 0;
	}
	ent = occo_calloc(1, sizeof(*ent));
	ent->m = m;
	ent->id = occo_strdup(infra_id);
	uv_timer_init(&m->e->app->loop, &ent->timer);
	ent->timer.data = ent;
	ent->next = m->ents;
	m->ents = ent;
	m->live++;
	uv_timer_start(&ent->timer, ent_tick, 0, 0);
	return 1;
}

int api_maintainer_remove(struct api_maintainer *m, const char *infra_id, api_maintainer_done_fn cb,
			  void *ud, struct occo_err *err)
{
	struct ment *ent = ent_find(m, infra_id);

	if (!ent || ent->removing)
		return occo_err_set(err, OCCO_ENOENT, "infrastructure '%s' is not maintained here",
				    infra_id);
	ent->rm_cb = cb;
	ent->rm_ud = ud;
	ent_remove(ent);
	return 0;
}

void api_maintainer_sync(struct api_maintainer *m, const json_t *ids)
{
	struct ment *ent, *next;
	json_t *want = json_object(), *v;
	size_t i;

	json_array_foreach (ids, i, v)
		if (json_is_string(v))
			json_object_set(want, json_string_value(v), json_true());
	for (ent = m->ents; ent; ent = next) {
		next = ent->next;
		if (!json_object_get(want, ent->id) && !ent->removing)
			ent_remove(ent);
	}
	json_array_foreach (ids, i, v) {
		if (!json_is_string(v))
			continue;
		ent = ent_find(m, json_string_value(v));
		if (!ent)
			api_maintainer_add(m, json_string_value(v));
		else if (ent->removing)
			ent->readd = 1;
	}
	json_decref(want);
}

int api_maintainer_has(const struct api_maintainer *m, const char *infra_id)
{
	const struct ment *ent = ent_find(m, infra_id);

	if (!ent || (ent->removing && !ent->readd))
		return 0;
	return ent->have_lease ? 2 : 1;
}

void api_maintainer_counts(const struct api_maintainer *m, size_t *maintained, size_t *held)
{
	const struct ment *ent;

	*maintained = *held = 0;
	for (ent = m->ents; ent; ent = ent->next) {
		if (ent->removing && !ent->readd)
			continue;
		(*maintained)++;
		*held += ent->have_lease != 0;
	}
}

size_t api_maintainer_running(const struct api_maintainer *m)
{
	const struct ment *ent;
	size_t n = 0;

	for (ent = m->ents; ent; ent = ent->next)
		n += ent->busy != 0;
	return n;
}

void api_maintainer_set_interval(struct api_maintainer *m, double interval)
{
	if (interval > 0)
		m->o.interval = interval;
}

static void renew_closed(uv_handle_t *h)
{
	struct api_maintainer *m = h->data;

	if (m->close_cb)
		m->close_cb(m->close_ud);
	free(m->holder);
	free(m);
}

static void maybe_closed(struct api_maintainer *m)
{
	if (m->closing == 1 && m->live == 0) {
		m->closing = 2;
		uv_close((uv_handle_t *)&m->renew, renew_closed);
	}
}

void api_maintainer_close(struct api_maintainer *m, api_maintainer_done_fn cb, void *ud)
{
	struct ment *ent, *next;

	m->closing = 1;
	m->close_cb = cb;
	m->close_ud = ud;
	for (ent = m->ents; ent; ent = next) {
		next = ent->next;
		if (!ent->removing)
			ent_remove(ent);
		else
			ent->readd = 0;
	}
	maybe_closed(m);
}
