/*
 * rh_int.h - what the resource handler's files share: the plugins' exported tables, listed in
 * registry.c.
 */
#ifndef OCCO_RH_INT_H
#define OCCO_RH_INT_H

#include <sys/types.h>

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

/*
 * File helpers of the local back-end and its package store (fs.c). They block: thread pool
 * only. rh__rmtree succeeds when nothing was there; rh__write_atomic writes through a temporary
 * file and rename(2), so a reader sees all of it or nothing.
 */
int rh__mkdir_p(const char *dir, mode_t mode, struct occo_err *err);
int rh__rmtree(const char *path, struct occo_err *err);
int rh__write_atomic(const char *path, const char *content, mode_t mode, struct occo_err *err);

/* The registry: every plugin, NULL-terminated, in the order of rh_schemas(). */
extern const struct rh_ops *const rh__plugins[];

#endif
