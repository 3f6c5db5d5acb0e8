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

const struct comp_schema cm__chef_schema = { "config_management", "chef", keys, NULL };
