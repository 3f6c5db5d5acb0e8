/*
 * schema.c - key schemas of contextualisation and health_check (OCCOPUS.md 4.4, 4.6).
 */
#include <string.h>

#include "occo/infraprocessor/schema.h"

static const struct comp_key cloudinit_keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "context_template", COMP_REQUIRED, COMP_T_STR | COMP_T_MAP, 0 },
	{ "attributes", 0, COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_key docker_keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "env", COMP_REQUIRED, COMP_T_LIST, COMP_T_STR },
	{ "command", 0, COMP_T_STR | COMP_T_LIST, 0 },
	{ "context_variables", 0, COMP_T_STR | COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_key basic_keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "attributes", COMP_REQUIRED, COMP_T_MAP, 0 },
	{ NULL, 0, 0, 0 },
};

static const struct comp_key health_keys[] = {
	{ "type", 0, COMP_T_STR, 0 },
	{ "ping", 0, COMP_T_BOOL, 0 },
	{ "ports", 0, COMP_T_LIST, COMP_T_INT },
	{ "urls", 0, COMP_T_LIST, COMP_T_STR },
	{ "mysqldbs", 0, COMP_T_LIST, COMP_T_MAP },
	{ "timeout", 0, COMP_T_INT, 0 },
	{ NULL, 0, 0, 0 },
};

static void health_check(struct comp_check *c, const json_t *sec)
{
	static const char *const db_keys[] = { "name", "user", "pass" };
	const json_t *v = json_object_get(sec, "ports");
	const char *k;
	json_t *e, *x;
	size_t i, j;

	json_array_foreach (v, i, e) {
		if (json_is_integer(e) &&
		    (json_integer_value(e) < 1 || json_integer_value(e) > 65535))
			comp_check_error(c, v, NULL, "invalid port %lld (must be 1-65535)",
					 (long long)json_integer_value(e));
	}
	v = json_object_get(sec, "timeout");
	if (json_is_integer(v) && json_integer_value(v) < 1)
		comp_check_error(c, sec, "timeout", "timeout must be at least 1 second");
	v = json_object_get(sec, "mysqldbs");
	json_array_foreach (v, i, e) {
		if (!json_is_object(e))
			continue;
		for (j = 0; j < sizeof(db_keys) / sizeof(db_keys[0]); j++)
			if (!json_is_string(json_object_get(e, db_keys[j])))
				comp_check_error(c, e, NULL,
						 "missing key '%s' (a string) in mysqldbs item %zu",
						 db_keys[j], i + 1);
		json_object_foreach (e, k, x) {
			int known = 0;

			for (j = 0; j < sizeof(db_keys) / sizeof(db_keys[0]); j++)
				known |= !strcmp(k, db_keys[j]);
			if (!known)
				comp_check_error(c, e, k,
						 "unknown key '%s' in mysqldbs item %zu (allowed: "
						 "name, user, pass)",
						 k, i + 1);
		}
	}
}

static const struct comp_schema cloudinit = { "contextualisation", "cloudinit", cloudinit_keys,
					      NULL };
static const struct comp_schema docker = { "contextualisation", "docker", docker_keys, NULL };
static const struct comp_schema basic = { "contextualisation", "basic", basic_keys, NULL };
static const struct comp_schema health = { "health_check", "basic", health_keys, health_check };

static const struct comp_schema *const schemas[] = { &cloudinit, &docker, &basic, &health, NULL };

const struct comp_schema *const *iproc_schemas(void)
{
	return schemas;
}
