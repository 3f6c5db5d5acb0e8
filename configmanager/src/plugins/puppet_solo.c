/*
 * puppet_solo.c - masterless Puppet: modules, manifests and attributes handed to the node's
 * cloud-init, which runs `puppet apply` itself.
 */
#include "../cm_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "manifests", COMP_REQUIRED, COMP_T_LIST | COMP_T_STR, 0 },
	{ "modules", 0, COMP_T_LIST | COMP_T_STR, 0 },
	{ "attributes", 0, COMP_T_LIST | COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_schema schema = { "config_management", "puppet_solo", keys, NULL };

/* No operations yet: cm_node_state() says the plugin is not available. */
const struct cm_ops cm__puppet_solo_ops = { "puppet_solo", &schema, NULL };
