/*
 * infra.h - compiling an infrastructure description into its static description.
 *
 * The input is the user's YAML (OCCOPUS.md 3.1): user_id, infra_name, nodes, dependencies,
 * variables. The output is the JSON the infobroker stores:
 *
 *   { "infra_id": "...", "name": "...", "user_id": "...", "variables": {...},
 *     "nodes": [ { "name", "type", "scaling": {"min", "max"}, "filter", "variables",
 *                  "infra_id", "infra_name", "user_id",
 *                  "mappings": {"inbound": {dependee: [m...]}, "outbound": {dependent: [m...]}}
 *                } ... ],
 *     "edges": [ { "dependent", "dependee", "mappings": [ {"attributes": [a, b], "synch": false,
 *                  ...} ], ...extra keys of the dependency... } ... ],
 *     "levels": [ ["a"], ["b", "c"], ... ] }
 *
 * Node variables are the infrastructure's merged deeply with the node's (the node wins).
 * Levels are computed as Occopus computes them: repeatedly, the remaining nodes that depend on
 * no remaining node, in the order of `nodes`.
 *
 * Beyond Occopus: a dependency may name a node by its name as well as by YAML alias; duplicate
 * names, references to unknown nodes, min > max and non-integer scaling are errors; a cycle is
 * reported with its path (a -> b -> a); every problem of the file is reported, with its
 * position.
 */
#ifndef OCCO_COMPILER_INFRA_H
#define OCCO_COMPILER_INFRA_H

#include <jansson.h>

#include "occo/compiler/diag.h"
#include "occo/util/err.h"
#include "occo/util/yaml.h"

/*
 * Compile `doc`. infra_id NULL: a new UUID. Problems go to `diags` (errors and warnings); on
 * any error returns -OCCO_EINVAL with a summary in err and leaves *out alone. On success *out
 * is a new reference.
 */
int comp_infra_compile(const struct occo_ydoc *doc, const char *infra_id, struct comp_diags *diags,
		       json_t **out, struct occo_err *err);

/*
 * Why `name` is not a valid host name ("cannot contain '.' character", "is too long", "may
 * contain only [a-z,0-9,-] characters"), or NULL when it is. Node and infrastructure names must
 * be valid host names (OCCOPUS.md 3.1).
 */
const char *comp_hostname_problem(const char *name);

#endif
