/*
 * azure_aci.c - Azure container instances. Only the schema is here (see azure_vm.c).
 */
#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "resource_group", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "location", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "cpu_cores", COMP_REQUIRED, COMP_T_NUM | COMP_T_STR, 0 },
	{ "memory", COMP_REQUIRED, COMP_T_NUM | COMP_T_STR, 0 },
	{ "image", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "os_type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "network_type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "gpu_type", 0, COMP_T_STR, 0 },
	{ "gpu_count", 0, COMP_T_INT, 0 },
	{ "ports", 0, COMP_T_LIST, COMP_T_INT | COMP_T_STR },
	{ "vnet_name", 0, COMP_T_STR, 0 },
	{ "subnet_name", 0, COMP_T_STR, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_schema schema = { "resource", "azure_aci", keys, NULL };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__azure_aci_ops = {
	.name = "azure_aci",
	.schema = &schema,
};
