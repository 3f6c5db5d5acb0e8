/*
 * nodedefs.h - reading a node definition file as occopus-import does: load (with import tags),
 * check every section against the plugins' schemas and every template's syntax.
 */
#ifndef OCCO_API_NODEDEFS_H
#define OCCO_API_NODEDEFS_H

#include <jansson.h>

#include "occo/compiler/diag.h"
#include "occo/util/err.h"

/*
 * Load and check `path`. Problems (errors and warnings, with positions) go to diags. On success
 * *defs is a new object {"<type>": [definitions]} ready to store.
 */
int api_nodedefs_check_file(const char *path, struct comp_diags *diags, json_t **defs,
			    struct occo_err *err);

/* "a, b, c": the types of a checked file, in file order. The caller frees it. */
char *api_nodedefs_names(const json_t *defs);

#endif
