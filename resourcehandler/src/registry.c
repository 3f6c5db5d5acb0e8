/*
 * registry.c - the one list of resource handler plugins.
 */
#include <string.h>

#include "rh_int.h"

const struct rh_ops *const rh__plugins[] = {
	&rh__ec2_ops,	      &rh__nova_ops,
	&rh__azure_vm_ops,    &rh__azure_aci_ops,
	&rh__cloudbroker_ops, &rh__cloudsigma_ops,
	&rh__docker_ops,      &rh__dummy_ops,
	&rh__local_ops,	      NULL,
};

#define NPLUGINS (sizeof(rh__plugins) / sizeof(rh__plugins[0]) - 1)

static const struct comp_schema *schemas[NPLUGINS + 1];

const struct comp_schema *const *rh_schemas(void)
{
	size_t i;

	if (!schemas[0]) {
		for (i = 0; i < NPLUGINS; i++)
			schemas[i] = rh__plugins[i]->schema;
	}
	return schemas;
}

const struct rh_ops *rh_plugin(const char *type)
{
	size_t i;

	for (i = 0; type && i < NPLUGINS; i++)
		if (!strcmp(rh__plugins[i]->name, type))
			return rh__plugins[i];
	return NULL;
}
