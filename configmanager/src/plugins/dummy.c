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

const struct comp_schema cm__dummy_schema = { "config_management", "dummy", keys, NULL };
