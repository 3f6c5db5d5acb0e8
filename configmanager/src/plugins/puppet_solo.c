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

const struct comp_schema cm__puppet_solo_schema = { "config_management", "puppet_solo", keys,
						    NULL };
