/*
 * resolve.h - node resolution: from a node of the infrastructure and the definitions of its
 * type to what the cloud is asked to create (OCCOPUS.md 4.4, 4.8, 5).
 *
 * For each new instance: the definitions whose `resource` section holds every key of the
 * node's `filter` with an equal value are candidates, and one is chosen at random (as Occopus
 * does, so instances of one node may land on different clouds). Its templates are rendered
 * with the context of Occopus: node_id, the node's keys (name, type, scaling, filter,
 * variables, infra_id, infra_name, user_id, mappings), the definition's sections, and the
 * helpers (getip & co.):
 *   - every string of `resource` and `config_management`;
 *   - the cloud-init `context_template` (text, or a mapping sent as "#cloud-config" YAML),
 *     which must be valid YAML when it starts with "#cloud-config";
 *   - `attributes`, and for docker contextualisation `env` and `command` (into attributes),
 *     after `context_variables` (rendered, then read as YAML) joined the context.
 * Health-check URLs are rendered when they are checked, not here.
 */
#ifndef OCCO_INFRAPROCESSOR_RESOLVE_H
#define OCCO_INFRAPROCESSOR_RESOLVE_H

#include <stddef.h>

#include <jansson.h>

#include "occo/util/err.h"
#include "occo/util/template.h"

struct iproc_resolved {
	size_t def_index; /* which definition of the type was chosen */
	json_t *resource; /* rendered */
	json_t *config_management; /* rendered, or NULL (the dummy config manager) */
	json_t *contextualisation; /* the section without its template, or NULL */
	json_t *health_check; /* as defined, or NULL */
	json_t *attributes; /* rendered attributes (docker: env, command), or NULL */
	char *user_data; /* the rendered cloud-init, or NULL */
};

/*
 * The candidates of a node: the indexes of `defs` whose resource matches `filter` (NULL: all),
 * as a JSON array. An error when there is none (naming the type and the filter).
 */
int iproc_candidates(const char *type, const json_t *defs, const json_t *filter, json_t **out,
		     struct occo_err *err);

/*
 * Choose one of the candidates uniformly at random (OCCOPUS.md 4.8): its index in `defs`.
 * The errors of iproc_candidates.
 */
int iproc_choose(const char *type, const json_t *defs, const json_t *filter, size_t *index,
		 struct occo_err *err);

/*
 * Resolve `node` (a node of the static description) for the instance `node_id`: choose among
 * `defs` (the definitions of its type) and render. `env` holds the helpers (may be NULL). On
 * success fills *out (released with iproc_resolved_release); errors name the node, the
 * section and the template position.
 */
int iproc_resolve(const json_t *node, const json_t *defs, const char *node_id,
		  const struct occo_tmpl_env *env, struct iproc_resolved *out,
		  struct occo_err *err);

void iproc_resolved_release(struct iproc_resolved *r);

#endif
