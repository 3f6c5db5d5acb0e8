/*
 * infra.h - reading an infrastructure description as the programs do, and the build plan.
 */
#ifndef OCCO_API_INFRA_H
#define OCCO_API_INFRA_H

#include <stdio.h>

#include <jansson.h>

#include "occo/compiler/diag.h"
#include "occo/util/err.h"

/*
 * Load (with import tags) and compile `path`. infra_id NULL: a new id. Problems go to diags. On
 * success *desc is the static description (a new reference).
 */
int api_infra_compile_file(const char *path, const char *infra_id, struct comp_diags *diags,
			   json_t **desc, struct occo_err *err);

/*
 * The plan of a new infrastructure: per level, each node with the instances it starts with
 * (its scaling minimum). {"infra_id", "name", "levels": [[{"name", "type", "create", "min",
 * "max"}]], "instances": N}. A new reference.
 */
json_t *api_infra_plan(const json_t *desc);

/* Print a plan for people. */
void api_infra_plan_print(const json_t *plan, FILE *f);

#endif
