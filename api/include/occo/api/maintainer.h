/*
 * maintainer.h - keeping infrastructures alive: one maintenance pass per infrastructure every
 * interval, only while this process holds the infrastructure's lease (infobroker/lease.h).
 * What `occopus-maintain -c` and the REST service share.
 *
 * Each infrastructure has its own cycle: take (or keep) the lease, load the infrastructure, run
 * a pass (enactor/pass.h), wait `interval`, again. Held leases are renewed every third of their
 * time to live by one timer, independently of the passes, so a long pass never loses its lease.
 * When another maintainer holds the lease, the cycle only tries again at the next interval:
 * when that maintainer dies, its lease expires and this one takes the infrastructure over
 * within lease_ms + interval. Removing an infrastructure (or closing the maintainer) lets a
 * running pass finish, then gives the lease back.
 *
 * Everything runs on the engine's loop; nothing blocks it.
 */
#ifndef OCCO_API_MAINTAINER_H
#define OCCO_API_MAINTAINER_H

#include <jansson.h>

#include "occo/api/engine.h"
#include "occo/enactor/pass.h"

struct api_maintainer;

/* What one turn of an infrastructure's cycle did; everything is borrowed for the call. */
struct api_pass_info {
	const char *infra_id;
	const struct enact_result *res; /* NULL when no pass ran (no lease, load failed) */
	const struct occo_err *err; /* NULL: the pass went well */
	int busy; /* 1: another maintainer holds the lease (err says who); not a failure */
	double seconds; /* from taking the lease to the end of the pass */
	const json_t *desc; /* the static description, or NULL when none was loaded */
	const struct ib_records *records; /* the instance records after the pass, or NULL */
};

/* Called after every turn; may call api_maintainer_remove/_close (not _free). */
typedef void (*api_pass_fn)(const struct api_pass_info *p, void *ud);
typedef void (*api_maintainer_done_fn)(void *ud);

struct api_maintainer_opts {
	double interval; /* seconds between two passes of one infrastructure (0: 10) */
	unsigned lease_ms; /* the lease's time to live (0: 3 * interval, at least 30 s) */
	api_pass_fn on_pass; /* may be NULL */
	void *ud;
};

/* A maintainer on the engine's loop (the engine must outlive it). opts are copied. */
int api_maintainer_new(struct api_engine *e, const struct api_maintainer_opts *opts,
		       struct api_maintainer **out, struct occo_err *err);

/*
 * Maintain `infra_id` (copied) from now on; its first pass starts on the next loop turn.
 * Adding one that is maintained already only starts its next pass now when it is idle
 * (after a build request or a scaling request, the work need not wait for the interval).
 * Returns 1 when it was added, 0 when it was there already.
 */
int api_maintainer_add(struct api_maintainer *m, const char *infra_id);

/*
 * Stop maintaining `infra_id`: a running pass finishes, then the lease is given back; cb (may
 * be NULL) runs once afterwards, on the loop. Returns 0, or -OCCO_ENOENT (cb not called) when
 * the infrastructure is not maintained here.
 */
int api_maintainer_remove(struct api_maintainer *m, const char *infra_id, api_maintainer_done_fn cb,
			  void *ud, struct occo_err *err);

/*
 * Make the set of maintained infrastructures `ids` (a JSON array of strings, borrowed): add the
 * new ones, remove the others.
 */
void api_maintainer_sync(struct api_maintainer *m, const json_t *ids);

/* 1 when `infra_id` is maintained here, 2 when besides its lease is held now, else 0. */
int api_maintainer_has(const struct api_maintainer *m, const char *infra_id);

/* How many infrastructures are maintained here, and how many of their leases are held. */
void api_maintainer_counts(const struct api_maintainer *m, size_t *maintained, size_t *held);

/* How many passes (with their lease and load) are running now. */
size_t api_maintainer_running(const struct api_maintainer *m);

/* Change the interval (from the next wait on). */
void api_maintainer_set_interval(struct api_maintainer *m, double interval);

/*
 * Stop: every running pass finishes, every lease is given back, then cb runs (once, on the
 * loop) and the maintainer is freed. No other call may follow.
 */
void api_maintainer_close(struct api_maintainer *m, api_maintainer_done_fn cb, void *ud);

#endif
