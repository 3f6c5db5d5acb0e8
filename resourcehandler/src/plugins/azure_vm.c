/*
 * azure_vm.c - Azure virtual machines. Only the schema is here: node definitions written for
 * Azure import and check, but occopus-c cannot create Azure nodes.
 */
#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "resource_group", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "location", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "vm_size", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "publisher", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "offer", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "sku", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "version", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "username", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "password", 0, COMP_T_STR, 0 },
	{ "ssh_key_data", 0, COMP_T_STR, 0 },
	{ "public_ip_needed", 0, COMP_T_BOOL, 0 },
	{ "vnet_name", 0, COMP_T_STR, 0 },
	{ "subnet_name", 0, COMP_T_STR, 0 },
	{ "customdata", 0, COMP_T_ANY, 0 },
	{ "server_name", 0, COMP_T_STR, 0 },
	{ NULL, 0, 0, 0 },
};

static void check(struct comp_check *c, const json_t *sec)
{
	if (!json_object_get(sec, "password") && !json_object_get(sec, "ssh_key_data"))
		comp_check_error(
			c, sec, NULL,
			"missing key: either 'password' or 'ssh_key_data' must be defined");
}

static const struct comp_schema schema = { "resource", "azure_vm", keys, check };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__azure_vm_ops = {
	.name = "azure_vm",
	.schema = &schema,
};
