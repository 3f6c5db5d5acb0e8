/*
 * engine.h - the engine of the programs: the resource handlers, the write batch, and per
 * infrastructure the infraprocessor and the enactor, wired together here (the libraries of
 * one tier do not know each other).
 */
#ifndef OCCO_API_ENGINE_H
#define OCCO_API_ENGINE_H

#include <jansson.h>

#include "occo/api/app.h"
#include "occo/enactor/pass.h"
#include "occo/infraprocessor/iproc.h"

struct hc;
struct rh;
struct cm;
struct ib_batch;
struct occo_http;

struct api_engine {
	struct api_app *app;
	struct occo_http *http;
	struct rh *rh;
	struct cm *cm;
	struct ib_batch *batch;
	struct iproc_cloud cloud; /* the resource handlers, as the infraprocessor sees them */
	struct iproc_cm cms; /* the config managers, as the infraprocessor sees them */
	struct iproc_opts iopts;
	struct hc *hc; /* the health checker of every infrastructure */
	double max_failed_share; /* health_checks.max_failed_share: the enactor's guard (0.5) */
	/*
	 * Set by programs that only run passes (build, maintain, destroy): loaded descriptions
	 * leave out their `edges`, which no pass reads (the levels and the nodes' mappings hold
	 * what they say); a 100,000-type tree spends about 50 MB on them. The stored description
	 * keeps them.
	 */
	int lean;
	int lenient; /* instance records read in part rather than refused (destroy) */
};

/*
 * Start the engine of a connected program (api_app_connect done). The `health_checks` section
 * of occopus_config.yaml may set `concurrency` (probes in flight at once, 256) and
 * `max_failed_share` (the guard against mass replacement, 0.5; see enactor/plan.h).
 */
int api_engine_open(struct api_app *app, struct api_engine *e, struct occo_err *err);
/* Stop it: flush the batch; the loop must run afterwards (api_app_release does). */
void api_engine_close(struct api_engine *e);

/* One infrastructure loaded for work. */
struct api_infra {
	struct api_engine *e;
	json_t *desc; /* the static description (borrowed from the iproc) */
	json_t *scaling; /* the scaling hash of the snapshot */
	struct iproc_infra *in;
	struct enact_ops ops; /* the infraprocessor, as the enactor sees it */
};

typedef void (*api_infra_fn)(struct api_infra *inf, const struct occo_err *err, void *ud);

/*
 * Load an infrastructure: its snapshot (one round trip) and the node definitions of its types,
 * then open its infraprocessor. cb gets a new api_infra (closed with api_infra_close) or the
 * error (-OCCO_ENOENT for an unknown id).
 */
int api_infra_load(struct api_engine *e, const char *infra_id, api_infra_fn cb, void *ud,
		   struct occo_err *err);
/*
 * The same with the description the caller holds (it must be the stored one, as
 * occopus-build has just written it): the engine keeps a reference instead of reading and
 * parsing a second copy.
 */
int api_infra_load_desc(struct api_engine *e, const char *infra_id, json_t *desc, api_infra_fn cb,
			void *ud, struct occo_err *err);
void api_infra_close(struct api_infra *inf);

typedef void (*api_done_fn)(const struct occo_err *err, void *ud);

/*
 * Tear an infrastructure down: drop every instance at once, then (when all are gone) remove
 * its keys. When an instance cannot be dropped, the keys stay (so nothing is forgotten) and
 * err says which failed; destroying again finishes the job.
 */
int api_infra_destroy(struct api_infra *inf, api_done_fn cb, void *ud, struct occo_err *err);

/* Print the report of Occopus: "<node>:", "  <node_id>:", "    <address>" lines. */
void api_infra_report(const json_t *desc, const struct ib_records *records, FILE *f);
/*
 * The same as JSON: {"infra_id", "name", "nodes": {name: {node_id: {state, addresses}}}}.
 * records NULL: none.
 */
json_t *api_infra_report_json(const json_t *desc, const struct ib_records *records);

#endif
