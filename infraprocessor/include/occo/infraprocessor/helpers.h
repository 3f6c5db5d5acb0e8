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
 *   cmd('prog args') only when enabled (iproc_helpers_allow_cmd): runs the program (split on
 *                    white space, no shell) and gives what it printed; a failure is an error
 *                    (Occopus renders a fixed message instead). It waits for the program: use
 *                    it where blocking is fine (occopus-render), never on the engine's loop.
 */
#ifndef OCCO_INFRAPROCESSOR_HELPERS_H
#define OCCO_INFRAPROCESSOR_HELPERS_H

#include <jansson.h>

#include "occo/util/template.h"

#define IPROC_NHELPERS 5

struct iproc_cmd_limits {
	unsigned timeout_ms;
	size_t max_output;
};

struct iproc_helpers {
	const json_t *view; /* borrowed */
	struct iproc_cmd_limits cmd;
	struct occo_tmpl_func funcs[IPROC_NHELPERS];
	struct occo_tmpl_env env;
};

/* Bind the helpers to a view (borrowed: it must outlive the renderings). */
void iproc_helpers_init(struct iproc_helpers *h, const json_t *view);

/*
 * Let templates call cmd(): each call may run `timeout_ms` (then it is killed) and print at most
 * `max_output` bytes.
 */
void iproc_helpers_allow_cmd(struct iproc_helpers *h, unsigned timeout_ms, size_t max_output);

/* The environment to render with (points into h). */
const struct occo_tmpl_env *iproc_helpers_env(const struct iproc_helpers *h);

#endif
