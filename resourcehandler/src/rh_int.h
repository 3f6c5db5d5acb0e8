/*
 * rh_int.h - what the resource handler's files share: the plugins' exported tables.
 */
#ifndef OCCO_RH_INT_H
#define OCCO_RH_INT_H

#include "occo/compiler/schema.h"

extern const struct comp_schema rh__ec2_schema;
extern const struct comp_schema rh__nova_schema;
extern const struct comp_schema rh__azure_vm_schema;
extern const struct comp_schema rh__azure_aci_schema;
extern const struct comp_schema rh__cloudbroker_schema;
extern const struct comp_schema rh__cloudsigma_schema;
extern const struct comp_schema rh__docker_schema;

#endif
