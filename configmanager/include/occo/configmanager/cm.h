/*
 * cm.h - the config managers: what configures a node once it runs (chef, puppet_solo, or
 * nothing: dummy, the default when a node definition has no config_management section).
 *
 * So far a plugin contributes the key schema of its `config_management` section; the
 * asynchronous operations come with the engine.
 */
#ifndef OCCO_CONFIGMANAGER_CM_H
#define OCCO_CONFIGMANAGER_CM_H

#include "occo/compiler/schema.h"

/* The schemas of the `config_management` section of every known plugin, NULL-terminated. */
const struct comp_schema *const *cm_schemas(void);

#endif
