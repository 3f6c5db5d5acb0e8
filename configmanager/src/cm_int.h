/*
 * cm_int.h - what the config manager's files share: the plugins' exported tables.
 */
#ifndef OCCO_CM_INT_H
#define OCCO_CM_INT_H

#include "occo/compiler/schema.h"

extern const struct comp_schema cm__dummy_schema;
extern const struct comp_schema cm__chef_schema;
extern const struct comp_schema cm__puppet_solo_schema;

#endif
