/*
 * ec2.c - Amazon EC2 (and EC2-compatible clouds) through the EC2 Query API.
 */
#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "regionname", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "image_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "instance_type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "key_name", 0, COMP_T_STR, 0 },
	{ "security_group_ids", 0, COMP_T_LIST, COMP_T_STR },
	{ "subnet_id", 0, COMP_T_STR, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "tags", 0, COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_schema schema = { "resource", "ec2", keys, NULL };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__ec2_ops = {
	.name = "ec2",
	.schema = &schema,
};
