/*
 * scaling.h - scaling requests and targets with Occopus's semantics (OCCOPUS.md 6.3), in the
 * hash <ns>:{<id>}:scaling with Occopus's field names:
 *   node-count-<name>              the stored target count (an integer)
 *   node-create:<name>:<uuid>      ""    one request to add an instance
 *   node-destroy:<name>:<uuid>     ""    one request to remove an instance (the youngest),
 *                                  or a node_id, or an IP address: remove that instance
 *
 * Requests are written here (occopus-scale, the REST service); a maintenance pass reads them
 * through a snapshot (infra.h), computes what to do with ib_scaling_plan() (pure: no I/O) and
 * writes the outcome through the write batch (batch.h).
 */
#ifndef OCCO_INFOBROKER_SCALING_H
#define OCCO_INFOBROKER_SCALING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "occo/infobroker/store.h"
#include "occo/util/err.h"
#include "occo/util/redis.h"

#define IB_SCALING_COUNT "node-count-"
#define IB_SCALING_CREATE "node-create:"
#define IB_SCALING_DESTROY "node-destroy:"

/* The most requests one call may add. */
#define IB_SCALING_MAX_REQUESTS 10000

/*
 * Add `count` (1..IB_SCALING_MAX_REQUESTS) create requests for node `name`: as many fields
 * node-create:<name>:<uuid4>, in one HSET. cb runs exactly once, later, on the loop; never
 * when this call fails (-OCCO_EINVAL: bad name or count; the client's errors).
 */
int ib_scaling_request_create(struct occo_redis *r, const char *ns, const char *infra_id,
			      const char *name, int count, ib_done_fn cb, void *ud,
			      struct occo_err *err);

/* Add `count` anonymous destroy requests (node-destroy:<name>:<uuid4> = ""). As above. */
int ib_scaling_request_destroy(struct occo_redis *r, const char *ns, const char *infra_id,
			       const char *name, int count, ib_done_fn cb, void *ud,
			       struct occo_err *err);

/* Add one destroy request naming an instance: `target` is its node_id or an IP address. */
int ib_scaling_request_destroy_node(struct occo_redis *r, const char *ns, const char *infra_id,
				    const char *name, const char *target, ib_done_fn cb, void *ud,
				    struct occo_err *err);

/* Overwrite the stored target of node `name` (occopus-scale -s); clamped on the next pass. */
int ib_scaling_set_target(struct occo_redis *r, const char *ns, const char *infra_id,
			  const char *name, int target, ib_done_fn cb, void *ud,
			  struct occo_err *err);

/* What ib_scaling_plan() needs of an existing instance of the node (all borrowed). */
struct ib_scaling_inst {
	const char *node_id;
	const json_t *addresses; /* a list of strings, a string, or NULL */
	uint64_t created_at; /* epoch ms: the largest is the youngest */
};

/* The outcome of one node's scaling in one pass; every member is owned by the plan. */
struct ib_scaling_plan {
	int min, max; /* the limits as Occopus computes them */
	int target; /* the target count of this pass */
	int store_target; /* 1: write node-count-<name> = target */
	json_t *drop; /* node_ids to drop now, in order (array) */
	json_t *del; /* scaling fields to delete (array, sorted) */
	json_t *put; /* scaling fields to rewrite: {field: node_id} (an address became an id) */
	json_t *warnings; /* messages to log at warning level (array of strings) */
};

/*
 * Compute one node's scaling for one pass, as Occopus does:
 *   - limits: min = max(scaling.min or 1, 1); max = max(scaling.max or min, min);
 *   - t = the stored node-count-<name> (absent: 0) clamped to [min, max];
 *   - then exactly one kind of request is applied, the first that changes t: create requests
 *     (t += count, capped at max with a warning; all deleted), destroy requests with a value
 *     (an address, i.e. a value with more than two dots, becomes the node_id of the instance
 *     that has it; unknown ids and addresses are deleted; t -= count; below min a warning, and
 *     the surplus requests are deleted), anonymous destroy requests (same arithmetic). Each
 *     kind that is present stores t, even when t did not change;
 *   - when there are more instances than t, the surplus is dropped: the instances named by
 *     destroy requests first (all named requests are then deleted), then the youngest by
 *     created_at; when no request names an instance, the anonymous ones are deleted.
 * Requests of a kind are taken in the order of their field names. `name` is the node's name,
 * `scaling` its {min, max} (NULL: defaults), `fields` the snapshot's scaling hash (other
 * nodes' fields are ignored; NULL: empty), `inst` its n existing instances. Fails only on bad
 * arguments (-OCCO_EINVAL); on success *out is filled and released with
 * ib_scaling_plan_release().
 */
int ib_scaling_plan(const char *name, const json_t *scaling, const json_t *fields,
		    const struct ib_scaling_inst *inst, size_t n, struct ib_scaling_plan *out,
		    struct occo_err *err);

void ib_scaling_plan_release(struct ib_scaling_plan *plan);

#endif
