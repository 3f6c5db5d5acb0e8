/*
 * cloudbroker.c - the CloudBroker platform. Only the schema is here (see azure_vm.c).
 */
#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "description", COMP_REQUIRED, COMP_T_MAP, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "start_in_vpc", 0, COMP_T_ANY, 0 },
	{ NULL, 0, 0, 0 },
};

static void check(struct comp_check *c, const json_t *sec)
{
	static const char *const need[] = { "deployment_id", "instance_type_id" };

	comp_check_subkeys(c, sec, "description", need, sizeof(need) / sizeof(need[0]));
}

static const struct comp_schema schema = { "resource", "cloudbroker", keys, check };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__cloudbroker_ops = {
	.name = "cloudbroker",
	.schema = &schema,
};
