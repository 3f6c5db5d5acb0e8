/*
 * registry.c - the one list of config manager plugins.
 */
#include "occo/configmanager/cm.h"
#include "cm_int.h"

static const struct comp_schema *const schemas[] = {
	&cm__dummy_schema,
	&cm__chef_schema,
	&cm__puppet_solo_schema,
	NULL,
};

const struct comp_schema *const *cm_schemas(void)
{
	return schemas;
}
