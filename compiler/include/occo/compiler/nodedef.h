/*
 * nodedef.h - checking node definition files (OCCOPUS.md 4.1, 4.7).
 *
 *   'node_def:<type>':
 *     - resource: {type: <plugin>, ...}          required
 *       contextualisation: {type: ..., ...}      optional (default basic)
 *       config_management: {type: ..., ...}     optional (default dummy)
 *       health_check: {ping, ports, urls, ...}   optional
 *     - ...                                      alternatives of the same type
 *
 * Every section is checked against the schema table of its type among those the caller
 * passes (the plugin libraries own them). Template strings are left as they are.
 */
#ifndef OCCO_COMPILER_NODEDEF_H
#define OCCO_COMPILER_NODEDEF_H

#include <jansson.h>

#include "occo/compiler/diag.h"
#include "occo/compiler/schema.h"
#include "occo/util/err.h"
#include "occo/util/yaml.h"

#define COMP_NODEDEF_PREFIX "node_def:"

/*
 * A hook run on every string of every entry (to check template syntax, for instance): report
 * problems through comp_diag_add with the string's mark. May be NULL.
 */
typedef void (*comp_string_check_fn)(const struct occo_ydoc *doc, const json_t *parent,
				     const char *key, size_t index, const char *value,
				     struct comp_diags *diags, void *ud);

struct comp_nodedef_opts {
	const struct comp_schema *const *schemas; /* NULL-terminated */
	comp_string_check_fn check_string;
	void *check_string_ud;
};

/*
 * Check a node definition document. On success *out is a new object {"<type>": [entries]},
 * each entry a copy with `health_check.type: basic` added where a health_check has no type (as
 * Occopus stores it). On any error returns -OCCO_EINVAL (details in diags).
 */
int comp_nodedefs_check(const struct occo_ydoc *doc, const struct comp_nodedef_opts *opts,
			struct comp_diags *diags, json_t **out, struct occo_err *err);

#endif
