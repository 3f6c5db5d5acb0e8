/*
 * schema.h - the sections the infraprocessor interprets itself: contextualisation (how a node's
 * templates are rendered: cloudinit, docker, basic) and health_check.
 */
#ifndef OCCO_INFRAPROCESSOR_SCHEMA_H
#define OCCO_INFRAPROCESSOR_SCHEMA_H

#include "occo/compiler/schema.h"

/* The schemas of `contextualisation` and `health_check`, NULL-terminated. */
const struct comp_schema *const *iproc_schemas(void);

#endif
