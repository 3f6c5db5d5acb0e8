/*
 * chef.c - Chef: roles and nodes registered on a Chef server; the node's chef-client
 * configures it.
 */
#include "../cm_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "run_list", COMP_REQUIRED, COMP_T_LIST, COMP_T_STR },
	{ NULL, 0, 0, 0 },
};

static const struct comp_schema schema = { "config_management", "chef", keys, NULL };

/* No operations yet: cm_node_state() says the plugin is not available. */
const struct cm_ops cm__chef_ops = { "chef", &schema, NULL };
