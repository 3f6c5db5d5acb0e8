/*
 * events.h - the event log of an infrastructure: a capped Redis stream, <ns>:{<id>}:events.
 *
 * Events are Occopus's (OCCOPUS.md 7.4), written through the write batch (ib_batch_event()).
 * Each stream entry has three fields: event=<name>, ts=<epoch ms>, data=<JSON object>. The
 * stream is capped approximately (XADD MAXLEN ~ N): Redis trims whole macro nodes, so a stream
 * may hold somewhat more than N entries.
 */
#ifndef OCCO_INFOBROKER_EVENTS_H
#define OCCO_INFOBROKER_EVENTS_H

#include <stddef.h>

#include <jansson.h>

#include "occo/util/err.h"
#include "occo/util/redis.h"

#define IB_EV_INFRASTART "infrastart"
#define IB_EV_INFRAUPDATED "infraupdated"
#define IB_EV_INFRAREADY "infraready"
#define IB_EV_NODECREATING "nodecreating" /* {node_id, node_name, scaling_target_count} */
#define IB_EV_NODECREATED "nodecreated" /* {endpoint, node_id, node_name} */
#define IB_EV_NODEFAILED "nodefailed"
#define IB_EV_NODEDROPPING "nodedropping" /* {endpoint, node_id, node_name} */
#define IB_EV_NODEDROPPED "nodedropped" /* {endpoint, node_id, node_name} */
#define IB_EV_INFRADROP "infradrop"
/*
 * Not Occopus's: the guard against mass replacement tripped (plan.h), so health-failed nodes
 * are kept. {failed, instances, max_failed_share, node_ids, message}
 */
#define IB_EV_REPLACESUPPRESSED "replacementsuppressed"

/* 1 if name is one of the event names above, else 0. */
int ib_event_known(const char *name);

/*
 * Called once with the events, a new JSON array, oldest first, each
 * {"id": "<stream id>", "event": name, "ts": ms, "data": {...}} (NULL on error).
 */
typedef void (*ib_events_fn)(json_t *events, const struct occo_err *err, void *ud);

/*
 * Read the last `count` events of an infrastructure (XREVRANGE ... COUNT count; an unknown
 * infrastructure has none). An entry whose data is not JSON fails with -OCCO_EPROTO. cb runs
 * exactly once, later, on the loop; never when this call fails.
 */
int ib_events_last(struct occo_redis *r, const char *ns, const char *infra_id, size_t count,
		   ib_events_fn cb, void *ud, struct occo_err *err);

#endif
