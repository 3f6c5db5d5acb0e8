/*
 * helpers.h - the functions Occopus templates call: getip, getprivip, getipall, cut.
 *
 * They answer from a view of the infrastructure's nodes:
 *   { "<node name>": [ {"addresses": ["203.0.113.5", ...], "private": "10.0.0.5"}, ... ] }
 * one entry per instance, oldest first. The engine builds the view from the state store; the
 * occopus-render program from the user's context file.
 *
 *   getip(name)      the first address of the first instance of node `name`
 *   getprivip(name)  its private address (the first address when none is known)
 *   getipall(name)   the first address of every instance, as a list
 *   cut(s, a, b)     Python's s[a:b]
 */
#ifndef OCCO_INFRAPROCESSOR_HELPERS_H
#define OCCO_INFRAPROCESSOR_HELPERS_H

#include <jansson.h>

#include "occo/util/template.h"

#define IPROC_NHELPERS 4

struct iproc_helpers {
	const json_t *view; /* borrowed */
	struct occo_tmpl_func funcs[IPROC_NHELPERS];
	struct occo_tmpl_env env;
};

/* Bind the helpers to a view (borrowed: it must outlive the renderings). */
void iproc_helpers_init(struct iproc_helpers *h, const json_t *view);

/* The environment to render with (points into h). */
const struct occo_tmpl_env *iproc_helpers_env(const struct iproc_helpers *h);

#endif
