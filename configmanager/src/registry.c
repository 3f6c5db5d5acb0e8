/*
 * registry.c - the one list of config manager plugins.
 */
#include <string.h>

#include "cm_int.h"

static const struct cm_ops *const plugins[] = {
	&cm__dummy_ops,
	&cm__chef_ops,
	&cm__puppet_solo_ops,
};

#define NPLUGINS (sizeof(plugins) / sizeof(plugins[0]))

const struct cm_ops *cm_plugin(const char *type)
{
	size_t i;

	for (i = 0; type && i < NPLUGINS; i++)
		if (!strcmp(plugins[i]->name, type))
			return plugins[i];
	return NULL;
}

const struct comp_schema *const *cm_schemas(void)
{
	static const struct comp_schema *schemas[NPLUGINS + 1];
	size_t i;

	for (i = 0; i < NPLUGINS; i++)
		schemas[i] = plugins[i]->schema;
	schemas[NPLUGINS] = NULL;
	return schemas;
}
