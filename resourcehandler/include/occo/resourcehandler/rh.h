/*
 * rh.h - the resource handlers: how a node is created on a cloud.
 *
 * Each plugin (ec2, nova, docker, ...) lives in src/plugins/<name>.c and is known through the
 * registry. So far a plugin contributes the key schema of its `resource` section; the
 * asynchronous operations (create, drop, state, address) come with the engine.
 */
#ifndef OCCO_RESOURCEHANDLER_RH_H
#define OCCO_RESOURCEHANDLER_RH_H

#include "occo/compiler/schema.h"

/* The schemas of the `resource` section of every known plugin, NULL-terminated. */
const struct comp_schema *const *rh_schemas(void);

#endif
