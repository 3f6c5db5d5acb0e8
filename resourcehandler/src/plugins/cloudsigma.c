/*
 * cloudsigma.c - CloudSigma. Only the schema is here (see azure_vm.c).
 */
#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "libdrive_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "description", COMP_REQUIRED, COMP_T_MAP, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ NULL, 0, 0, 0 },
};

static void check(struct comp_check *c, const json_t *sec)
{
	static const char *const need[] = { "cpu", "mem", "vnc_password" };

	comp_check_subkeys(c, sec, "description", need, sizeof(need) / sizeof(need[0]));
}

static const struct comp_schema schema = { "resource", "cloudsigma", keys, check };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__cloudsigma_ops = {
	.name = "cloudsigma",
	.schema = &schema,
};
