/*
 * cm_int.h - what the config manager's files share: the plugins' exported tables.
 */
#ifndef OCCO_CM_INT_H
#define OCCO_CM_INT_H

#include "occo/configmanager/cm.h"

extern const struct cm_ops cm__dummy_ops;
extern const struct cm_ops cm__chef_ops;
extern const struct cm_ops cm__puppet_solo_ops;

#endif
