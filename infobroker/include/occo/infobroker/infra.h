/*
 * infra.h - infrastructures in Redis: the list of ids, the static description, removal of
 * everything an infrastructure has, and the snapshot one maintenance pass starts from.
 *
 * Keys of one infrastructure (store.h for the names; <id> is a Redis Cluster hash tag):
 *   <ns>:infras          set     ids of known infrastructures
 *   <ns>:{<id>}:desc     string  the static description (JSON, from comp_infra_compile():
 *                                {infra_id, name, user_id, variables, nodes, edges, levels})
 *   <ns>:{<id>}:nodes    hash    node_id -> instance record (JSON object):
 *       node_id      string   uuid4 of the instance
 *       name         string   the node's name in the description
 *       type         string   the node's type (node_def:<type>)
 *       def_index    integer  which definition of the type was chosen
 *       resource     object   the rendered resource section
 *       token        string   idempotency token handed to the cloud (DESIGN.md, "Crash safety")
 *       instance_id  string   the cloud's id; null until the cloud answered
 *       addresses    list     of strings (IP addresses or host names)
 *       state        string   "creating", "pending", "ready", "failed", "shutdown",
 *                             "temp_failed" or "dropping"
 *       created_at   integer  epoch ms when the record was first written
 *       ready_at     integer  epoch ms when it became ready (absent or null before)
 *       error        string   the cloud's message, or the health check's (optional)
 *       health_failed boolean true when `failed` because its health check kept failing for
 *                             longer than its timeout (optional)
 *   <ns>:{<id>}:scaling  hash    Occopus's fields (scaling.h)
 *   <ns>:{<id>}:health   hash    node_id -> {first_fail_ms, fails, error} (JSON) of the nodes
 *                                whose health check is failing
 *   <ns>:{<id>}:events   stream  the event log (events.h)
 *   <ns>:{<id>}:lease    string  the maintainer holding the infrastructure (lease.h)
 *   <ns>:{<id>}:notification string  the notification spec posted to the REST service (JSON)
 * This layer stores the records it is given; it does not interpret them.
 *
 * Writes of records, scaling fields, health and events go through a write batch (batch.h).
 * Every function here issues its commands at once, pipelined on the client: a read issued
 * after a batch was flushed sees the batch's writes.
 */
#ifndef OCCO_INFOBROKER_INFRA_H
#define OCCO_INFOBROKER_INFRA_H

#include <jansson.h>

#include "occo/infobroker/record.h"
#include "occo/infobroker/store.h"
#include "occo/util/err.h"
#include "occo/util/redis.h"

/*
 * Add an infrastructure: its description and its id in <ns>:infras, atomically (one Lua
 * script). Fails with -OCCO_EEXIST when the id is known already (nothing is changed). `desc`
 * is borrowed (serialised before this returns). cb runs exactly once, later, on the loop;
 * never when this call fails (-OCCO_EINVAL: desc is not an object; or the client's errors).
 */
int ib_infra_add(struct occo_redis *r, const char *ns, const char *infra_id, const json_t *desc,
		 ib_done_fn cb, void *ud, struct occo_err *err);

/*
 * Replace the description of a known infrastructure (SET XX): -OCCO_ENOENT "unknown
 * infrastructure '<id>'" when it is not known. Otherwise as ib_infra_add().
 */
int ib_infra_update_desc(struct occo_redis *r, const char *ns, const char *infra_id,
			 const json_t *desc, ib_done_fn cb, void *ud, struct occo_err *err);

/* Called once with 1 when the infrastructure is known, 0 when not (err NULL), or an error. */
typedef void (*ib_exists_fn)(int exists, const struct occo_err *err, void *ud);

/* Is the infrastructure known (its description exists)? cb as for ib_infra_add(). */
int ib_infra_exists(struct occo_redis *r, const char *ns, const char *infra_id, ib_exists_fn cb,
		    void *ud, struct occo_err *err);

/* Called once with the ids, a new JSON array of strings, sorted (NULL on error). */
typedef void (*ib_ids_fn)(json_t *ids, const struct occo_err *err, void *ud);

/* The ids of all known infrastructures (SMEMBERS). cb as for ib_infra_add(). */
int ib_infra_list(struct occo_redis *r, const char *ns, ib_ids_fn cb, void *ud,
		  struct occo_err *err);

/*
 * Remove an infrastructure: every key of it (desc, nodes, scaling, health, events, lease) and
 * its id in <ns>:infras, atomically (one Lua script). Removing an unknown id is not an error.
 * cb as for ib_infra_add().
 */
int ib_infra_remove(struct occo_redis *r, const char *ns, const char *infra_id, ib_done_fn cb,
		    void *ud, struct occo_err *err);

/* What a maintenance pass starts from; every member is owned by the snapshot. */
struct ib_snapshot {
	char *infra_id;
	json_t *desc; /* the static description (an object) */
	struct ib_records *records; /* the instance records (record.h) */
	json_t *scaling; /* {field: "value"}: the scaling hash as it is */
	json_t *health; /* {node_id: {first_fail_ms, fails}} */
};

/* Free a snapshot and what it holds; NULL is fine. */
void ib_snapshot_free(struct ib_snapshot *snap);

/*
 * Called once with a snapshot that the callee owns (frees with ib_snapshot_free()), or NULL
 * and an error.
 */
typedef void (*ib_snapshot_fn)(struct ib_snapshot *snap, const struct occo_err *err, void *ud);

/*
 * Load one infrastructure's description, records, scaling fields and health in one round trip
 * (GET and three HGETALL, pipelined). Errors: -OCCO_ENOENT "unknown infrastructure '<id>'";
 * -OCCO_EPROTO when a stored value is not JSON (the message names the key and field); the
 * client's errors. cb as for ib_infra_add().
 */
int ib_snapshot_load(struct occo_redis *r, const char *ns, const char *infra_id, ib_snapshot_fn cb,
		     void *ud, struct occo_err *err);

enum ib_snapshot_flags {
	/*
	 * Leave the description's `edges` out as soon as it is parsed: programs that only run
	 * passes never read them, and a large tree spends much memory on them.
	 */
	IB_SNAPSHOT_NO_EDGES = 1u << 0,
	/*
	 * Read instance records leniently (record.h, IB_RECORD_LENIENT), with a warning for each
	 * one read in part: occopus-destroy tears down what a hand edit broke.
	 */
	IB_SNAPSHOT_LENIENT_RECORDS = 1u << 1,
};

/*
 * ib_snapshot_load() with flags (ib_snapshot_flags), for a caller that may hold the
 * description already (occopus-build, which has just stored it): with desc, the snapshot's
 * desc is a new reference to it, and the stored copy is only checked to exist (EXISTS instead
 * of GET), so a large description is neither sent back nor parsed a second time. The flags
 * apply to it as to a description read from the store.
 */
int ib_snapshot_load_ex(struct occo_redis *r, const char *ns, const char *infra_id, json_t *desc,
			unsigned flags, ib_snapshot_fn cb, void *ud, struct occo_err *err);

#endif
