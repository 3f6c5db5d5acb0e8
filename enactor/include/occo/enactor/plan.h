/*
 * plan.h - what one maintenance pass must do, decided without I/O (OCCOPUS.md 6.2, 6.3).
 *
 * Input: the static description, the instance records (each with the state its cloud reported
 * in this pass, after crash leftovers were adopted) and the scaling hash. Output: the instances
 * to drop, with why, and the instances to create, level by level (a level starts when every
 * node of the previous one is ready), plus the scaling hash's updates.
 *
 *   upkeep   failed and shutdown instances are dropped (and so replaced: they no longer count);
 *            a record still `creating` (its create never answered and no instance carries its
 *            token) or `dropping` is dropped again; temp_failed and pending instances count
 *   guard    except instances that failed their health checks (health_failed) when more
 *            than a share (max_failed_share, 0.5) of the infrastructure's instances, and at
 *            least two, fail them at once (health_failed, or health_failing: within their
 *            timeout yet): a network partition looks like that, and replacing
 *            what cannot be reached would not help (and might double the infrastructure when
 *            the partition heals). Those are kept (they count, nothing replaces them), and the
 *            plan lists them in `suppressed`
 *   removed  instances of nodes that the description no longer has are dropped
 *   scaling  each node's target is computed by ib_scaling_plan (requests, min, max); the
 *            surplus is dropped (named instances first, then the youngest)
 *   create   target - existing instances of each node, in the description's levels
 *
 * Unlike Occopus, shutdown instances are dropped through the cloud rather than forgotten, so
 * nothing a cloud still holds is left unaccounted for.
 */
#ifndef OCCO_ENACTOR_PLAN_H
#define OCCO_ENACTOR_PLAN_H

#include <stddef.h>

#include <jansson.h>

#include "occo/infobroker/record.h"
#include "occo/util/err.h"

enum enact_drop_reason {
	ENACT_DROP_FAILED = 0,
	ENACT_DROP_SHUTDOWN,
	ENACT_DROP_UNFINISHED, /* a create or drop a crash interrupted */
	ENACT_DROP_REMOVED, /* the node is no longer in the description */
	ENACT_DROP_SCALING, /* over the target */
};

/* Options of a plan; zero fields take the defaults. */
struct enact_plan_opts {
	double max_failed_share; /* the guard's share, in (0, 1] (0.5) */
};

#define ENACT_DEFAULT_MAX_FAILED_SHARE 0.5

/*
 * The guard against mass replacement (pure): 1 when `failed` instances that failed their
 * health checks, out of the infrastructure's `total`, must not be replaced: more than
 * `max_failed_share` of them (0 or less: the default) and at least two (one failing instance
 * is never taken for a partition).
 */
int enact_guard_trips(size_t failed, size_t total, double max_failed_share);

/* "failed", "shutdown", "unfinished", "removed", "scaling". */
const char *enact_drop_reason_name(enum enact_drop_reason r);

struct enact_drop {
	const char *node_id; /* borrowed from the records */
	const char *name; /* the node's name (borrowed) */
	enum enact_drop_reason reason;
};

struct enact_create {
	const char *name; /* borrowed from the description */
	int count;
};

struct enact_level {
	struct enact_create *v; /* only nodes with something to create */
	size_t n;
};

struct enact_plan {
	struct enact_drop *drops;
	size_t ndrops;
	struct enact_level *levels; /* one per level of the description, possibly empty */
	size_t nlevels;
	size_t ncreate; /* instances to create, all levels */
	size_t nkeep; /* instances that stay */
	int bootstrap; /* nothing is recorded yet: the infrastructure starts now */
	json_t *targets; /* {name: target}: node-count-<name> values to store */
	json_t *scaling_del; /* scaling fields to delete */
	json_t *scaling_put; /* {field: value}: scaling fields to rewrite */
	json_t *warnings; /* messages to log at warning level */
	/* the guard tripped: the health-failed instances kept (node_ids), else empty */
	json_t *suppressed;
	size_t nhealth_failed; /* instances failing their health checks (failed or not yet) */
	size_t ninstances; /* instances of the infrastructure (not being created or dropped) */
};

/*
 * Plan one pass. `desc` is the static description, `nodes` the instance records (record.h:
 * name, state, health_failed, created_at, addresses, ...), `scaling` the scaling hash
 * (may be NULL), `opts` may be NULL. All are borrowed and must outlive the plan. Fails only on
 * malformed input (-OCCO_EPROTO).
 */
int enact_plan_pass(const json_t *desc, const struct ib_records *nodes, const json_t *scaling,
		    const struct enact_plan_opts *opts, struct enact_plan *out,
		    struct occo_err *err);
void enact_plan_release(struct enact_plan *plan);

#endif
