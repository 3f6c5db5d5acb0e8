/*
 * registry.c - the one list of resource handler plugins.
 */
#include "occo/resourcehandler/rh.h"
#include "rh_int.h"

static const struct comp_schema *const schemas[] = {
	&rh__ec2_schema,	 &rh__nova_schema,
	&rh__azure_vm_schema,	 &rh__azure_aci_schema,
	&rh__cloudbroker_schema, &rh__cloudsigma_schema,
	&rh__docker_schema,	 NULL,
};

const struct comp_schema *const *rh_schemas(void)
{
	return schemas;
}
