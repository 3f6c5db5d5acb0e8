/*
 * info.h - the information keys of Occopus's info broker (OCCOPUS.md 7.1), answered from the
 * state store and, for the live ones, from the clouds (one list per endpoint, as a
 * maintenance pass asks). What `occopus-info` prints and the REST service's /info/<key> serves.
 *
 * Occopus passes a whole instance_data to the per-node keys; here a node is named by
 * `infra_id` and `node_id` (the instance's id, as reports print it). Arguments are strings in
 * a JSON object, as they arrive from a command line or a query string.
 *
 *   key                                   arguments                    answer
 *   node.definition.all                   node_type                    [definitions] ([] when none)
 *   node.definition                       node_type [, filter (JSON)]  one definition, chosen at random
 *   infrastructure.static_description     infra_id                     the compiled description
 *   infrastructure.name                   infra_id                     its name
 *   infrastructure.started                infra_id                     whether it has instances
 *   infrastructure.node_instances         infra_id                     {node name: {node_id: record}}
 *   infrastructure.state                  infra_id                     the same, live: state, resource_address
 *   infrastructure.userinfo               infra_id                     {node name: {node_id: first address}}
 *   config_managers                       infra_id                     distinct config_management sections
 *   node.find                             infra_id [, name, node_id]   [records]
 *   node.find_one                         infra_id [, name, node_id]   the first record
 *   node.state                            infra_id, node_id            the live state
 *   node.resource.state                   infra_id, node_id            the cloud's state, live
 *   node.resource.address                 infra_id, node_id            [addresses], live
 *   node.resource.ip_address              infra_id, node_id            the private address, live
 *   node.address                          infra_id, node_id            the first address
 *   uds.backend_type                      -                            "redis"
 *
 * Errors: an unknown key -OCCO_ENOENT ("unknown key ..."), a missing or bad argument
 * -OCCO_EINVAL naming it, an unknown infrastructure or node -OCCO_ENOENT.
 */
#ifndef OCCO_API_INFO_H
#define OCCO_API_INFO_H

#include <jansson.h>

#include "occo/api/engine.h"

/* The answer (a new reference, taken by the callee) or the error. */
typedef void (*api_info_fn)(json_t *value, const struct occo_err *err, void *ud);

/*
 * Answer `key` with `args` ({name: string}; borrowed, may be NULL). cb runs once, on the loop;
 * never when this call fails (an unknown key, a missing argument).
 */
int api_info_get(struct api_engine *e, const char *key, const json_t *args, api_info_fn cb,
		 void *ud, struct occo_err *err);

/* The keys, NULL-terminated (for help texts and /info listings). */
const char *const *api_info_keys(void);

#endif
