/*
 * store.h - the state store in Redis: the key layout and the node definitions.
 *
 * Keys (DESIGN.md, "State in Redis"); <ns> is the configured namespace, the infrastructure id
 * is a hash tag so that one infrastructure's keys live on one Redis Cluster slot:
 *   <ns>:nodedef:<type>     string  JSON list of the node definitions of that type
 *   <ns>:infras             set     ids of known infrastructures
 *   <ns>:{<id>}:<part>      ...     desc, nodes, scaling, health, events, lease
 * Values are JSON.
 */
#ifndef OCCO_INFOBROKER_STORE_H
#define OCCO_INFOBROKER_STORE_H

#include <jansson.h>

#include "occo/util/err.h"
#include "occo/util/redis.h"

/* "<ns>:nodedef:<type>"; the caller frees it. */
char *ib_key_nodedef(const char *ns, const char *type);
/* "<ns>:infras"; the caller frees it. */
char *ib_key_infras(const char *ns);
/* "<ns>:{<infra_id>}:<part>"; the caller frees it. */
char *ib_key_infra(const char *ns, const char *infra_id, const char *part);

/* Called once when a store operation is done (err NULL) or failed. */
typedef void (*ib_done_fn)(const struct occo_err *err, void *ud);

/*
 * Store node definitions: `defs` is {"<type>": [definition, ...], ...}; each type's list
 * replaces the one stored before, all types in one atomic MSET (all or nothing). cb runs once,
 * on the loop; never when this call fails.
 */
int ib_nodedefs_put(struct occo_redis *r, const char *ns, const json_t *defs, ib_done_fn cb,
		    void *ud, struct occo_err *err);

/* Called once with the definitions of a type (a new reference; NULL when none are stored). */
typedef void (*ib_nodedef_fn)(json_t *defs, const struct occo_err *err, void *ud);

/* Load the definitions of one type. cb runs once, on the loop; never when this call fails. */
int ib_nodedef_get(struct occo_redis *r, const char *ns, const char *type, ib_nodedef_fn cb,
		   void *ud, struct occo_err *err);

#endif
