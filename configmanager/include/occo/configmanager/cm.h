/*
 * cm.h - the config managers: what configures a node once its instance runs (OCCOPUS.md 4.5).
 *
 * A node definition without `config_management` gets the dummy config manager, which has
 * nothing to do: the node is configured as soon as it runs (Occopus's default). Chef and
 * puppet_solo contribute their schemas; their operations come later. Each plugin is one
 * `const struct cm_ops` in the registry; callers go through the core (struct cm).
 */
#ifndef OCCO_CONFIGMANAGER_CM_H
#define OCCO_CONFIGMANAGER_CM_H

#include <jansson.h>
#include <uv.h>

#include "occo/compiler/schema.h"
#include "occo/util/err.h"

/* One node, as a config manager sees it. Borrowed for the call. */
struct cm_node {
	const char *infra_id;
	const char *node_id;
	const char *name;
	const json_t *section; /* the rendered config_management section; NULL: dummy */
};

/* Called once with the node's configuration state: "ready", "pending" or "unknown". */
typedef void (*cm_state_fn)(const char *state, const struct occo_err *err, void *ud);

struct cm;

struct cm_ops {
	const char *name;
	const struct comp_schema *schema;
	/* The state of a node's configuration; NULL: the plugin is not available. */
	int (*node_state)(struct cm *cm, const struct cm_node *node, cm_state_fn cb, void *ud,
			  struct occo_err *err);
};

/* The schemas of the `config_management` section of every known plugin, NULL-terminated. */
const struct comp_schema *const *cm_schemas(void);

/* The plugin of a type, or NULL. */
const struct cm_ops *cm_plugin(const char *type);

int cm_new(uv_loop_t *loop, struct cm **out, struct occo_err *err);
/* Answer what is pending with -OCCO_ECANCELED, then free (from the timer's close callback). */
void cm_free(struct cm *cm);

/*
 * Ask the configuration state of a node through its plugin (the section's type; dummy when
 * there is no section). cb runs exactly once, later, on the loop; never when this call fails
 * (an unknown or unavailable type).
 */
int cm_node_state(struct cm *cm, const struct cm_node *node, cm_state_fn cb, void *ud,
		  struct occo_err *err);

/* For plugins: answer cb with `state` on the next loop turn (never from inside the call). */
void cm_defer(struct cm *cm, cm_state_fn cb, void *ud, const char *state);

#endif
