/*
 * dummy.c - the config manager that configures nothing: every node is configured at once.
 * It is what a node definition without config_management gets; unlike Occopus, naming it
 * explicitly (`type: dummy`) is accepted too.
 */
#include "../cm_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", 0, COMP_T_STR, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_schema schema = { "config_management", "dummy", keys, NULL };

/* Nothing to configure: ready as soon as asked. */
static int node_state(struct cm *cm, const struct cm_node *node, cm_state_fn cb, void *ud,
		      struct occo_err *err)
{
	cm_defer(cm, cb, ud, "ready");
	return 0;
}

const struct cm_ops cm__dummy_ops = { "dummy", &schema, node_state };
