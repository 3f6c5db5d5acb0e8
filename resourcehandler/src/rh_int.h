/*
 * rh_int.h - what the resource handler's files share: the plugins' exported tables, listed in
 * registry.c.
 */
#ifndef OCCO_RH_INT_H
#define OCCO_RH_INT_H

#include "occo/resourcehandler/rh.h"

extern const struct rh_ops rh__ec2_ops;
extern const struct rh_ops rh__nova_ops;
extern const struct rh_ops rh__azure_vm_ops;
extern const struct rh_ops rh__azure_aci_ops;
extern const struct rh_ops rh__cloudbroker_ops;
extern const struct rh_ops rh__cloudsigma_ops;
extern const struct rh_ops rh__docker_ops;
extern const struct rh_ops rh__dummy_ops;
extern const struct rh_ops rh__local_ops;

/* The registry: every plugin, NULL-terminated, in the order of rh_schemas(). */
extern const struct rh_ops *const rh__plugins[];

#endif
