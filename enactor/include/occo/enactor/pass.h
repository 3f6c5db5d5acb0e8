/*
 * pass.h - one maintenance pass of an infrastructure (OCCOPUS.md 6.2), also the whole of a
 * build: learn the live state, decide (plan.h), drop, then create level by level, each level
 * starting when every instance of the previous one is ready.
 *
 * The enactor drives the infraprocessor through enact_ops, which the program wires in (the
 * libraries of one tier do not link each other; Occopus too hands its enactor the
 * infraprocessor).
 *
 * When the guard against mass replacement trips (plan.h), the pass says so in the log
 * (warning), in the result's warnings and in the event log (replacementsuppressed).
 *
 * When instances of a level fail, later levels are not started (their nodes depend on what
 * failed). A build (ENACT_BUILD) drops the instances that failed, keeps the rest and reports
 * what failed and why; a maintenance pass leaves them to the next pass's upkeep.
 */
#ifndef OCCO_ENACTOR_PASS_H
#define OCCO_ENACTOR_PASS_H

#include <stddef.h>

#include <jansson.h>

#include "occo/util/err.h"

struct ib_batch;

typedef void (*enact_done_fn)(const struct occo_err *err, void *ud);
typedef void (*enact_node_fn)(const char *node_id, const struct occo_err *err, void *ud);

/* The infraprocessor of one infrastructure, as the enactor needs it (see iproc.h). */
struct enact_ops {
	void *impl;
	int (*refresh)(void *impl, enact_done_fn cb, void *ud, struct occo_err *err);
	int (*create)(void *impl, const char *name, enact_node_fn cb, void *ud,
		      struct occo_err *err);
	int (*drop)(void *impl, const char *node_id, enact_node_fn cb, void *ud,
		    struct occo_err *err);
	const struct ib_records *(*records)(void *impl);
};

enum enact_mode {
	ENACT_MAINTAIN = 0,
	ENACT_BUILD = 1,
};

/* What a pass did. */
struct enact_result {
	size_t created, dropped;
	size_t failed; /* instances that could not be created or dropped */
	size_t levels_done; /* levels whose creations all succeeded */
	json_t *failures; /* [{"node", "node_id", "error"}] */
	json_t *warnings; /* scaling warnings (strings) */
};

/* Progress, for a terminal: called after each level with its counts. */
typedef void (*enact_progress_fn)(size_t level, size_t created, size_t failed, void *ud);

struct enact_pass_opts {
	enum enact_mode mode;
	enact_progress_fn progress; /* may be NULL */
	void *progress_ud;
	double max_failed_share; /* the guard against mass replacement (plan.h; 0: 0.5) */
};

/* Called once when the pass is over: err set when it could not run (or nothing failed). */
typedef void (*enact_pass_fn)(const struct enact_result *res, const struct occo_err *err, void *ud);

/*
 * Run one pass. `desc` and `scaling` (the snapshot's scaling hash, may be NULL) are borrowed
 * until cb; scaling updates and events go through `batch`. cb runs exactly once, on the loop,
 * never from inside this call; err is set when the pass could not be carried out (the live
 * state could not be learnt) or when instances failed (res says which).
 */
int enact_pass(const struct enact_ops *ops, const json_t *desc, const json_t *scaling,
	       struct ib_batch *batch, const struct enact_pass_opts *opts, enact_pass_fn cb,
	       void *ud, struct occo_err *err);

#endif
