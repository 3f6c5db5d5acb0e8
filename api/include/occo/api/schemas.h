/*
 * schemas.h - every node definition schema the program knows: the resource handlers', the
 * config managers' and the infraprocessor's tables, joined for the compiler.
 */
#ifndef OCCO_API_SCHEMAS_H
#define OCCO_API_SCHEMAS_H

#include "occo/compiler/schema.h"

/* NULL-terminated; static storage. */
const struct comp_schema *const *api_schemas(void);

#endif
