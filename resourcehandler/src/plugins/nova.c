/*
 * nova.c - OpenStack Nova (Keystone v3 auth, Neutron floating IPs).
 */
#include <stdlib.h>

#include "../rh_int.h"

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "image_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "flavor_name", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "project_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "server_name", 0, COMP_T_STR, 0 },
	{ "key_name", 0, COMP_T_STR, 0 },
	{ "security_groups", 0, COMP_T_LIST, COMP_T_STR },
	{ "floating_ip", 0, COMP_T_ANY, 0 },
	{ "floating_ip_pool", 0, COMP_T_STR, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "tenant_name", 0, COMP_T_STR, 0 },
	{ "user_domain_name", 0, COMP_T_STR, 0 },
	{ "network_id", 0, COMP_T_STR, 0 },
	{ "region_name", 0, COMP_T_STR, 0 },
	{ "volume_size", 0, COMP_T_INT | COMP_T_STR, 0 },
	{ "volume_persist", 0, COMP_T_BOOL, 0 },
	{ NULL, 0, 0, 0 },
};

/* volume_size: an integer >= 0, also when written as a string (Occopus converts it). */
static void check(struct comp_check *c, const json_t *sec)
{
	const json_t *v = json_object_get(sec, "volume_size");
	long long n;
	char *end;

	if (!v)
		return;
	if (json_is_string(v)) {
		n = strtoll(json_string_value(v), &end, 10);
		if (!json_string_length(v) || *end) {
			comp_check_error(c, sec, "volume_size",
					 "could not convert volume_size value \"%s\" to integer",
					 json_string_value(v));
			return;
		}
	} else {
		n = (long long)json_integer_value(v);
	}
	if (n < 0)
		comp_check_error(c, sec, "volume_size",
				 "negative numbers for volume_size are prohibited");
}

static const struct comp_schema schema = { "resource", "nova", keys, check };

/* No operations yet: rh_create() says the handler is not available. */
const struct rh_ops rh__nova_ops = {
	.name = "nova",
	.schema = &schema,
};
