/*
 * iproc.h - the infraprocessor's commands on one infrastructure: create a node's instance,
 * drop one, and learn the live state of all of them (OCCOPUS.md 6.4, DESIGN.md "Data flow",
 * "Crash safety").
 *
 * An iproc_infra holds what the commands share: the infrastructure's records (node_id ->
 * instance record, kept up to date in memory and written through the write batch), the node
 * definitions of the types it creates, the view the template helpers answer from, and one
 * poller that asks each cloud endpoint for the state of all its waiting instances at once.
 *
 * Create, for one instance of a node:
 *   resolve (choose a definition, render)  ->  record {state: creating, token} stored
 *   ->  cloud create (through the rh core)  ->  record {state: pending, instance_id}
 *   ->  wait until the cloud says ready (the poller), then the config manager (dummy: at
 *       once) and the health checks (health.h; asked again at each poll until they pass)
 *   ->  record {state: ready}, event nodecreated
 * A cloud state of failed or shutdown, the creation deadline, or a health check failing for
 * longer than its timeout fails the command with the cloud's or the probe's own words; the
 * record stays (state failed) for the caller to drop.
 * Drop: record {state: dropping}  ->  cloud drop (by instance id, or by token when the id was
 * never learnt)  ->  record deleted, event nodedropped.
 * Refresh: one list per endpoint; records get the states and addresses the clouds report; a
 * record without an instance id whose token a cloud lists is adopted; an instance that its
 * cloud no longer lists is `shutdown`. Then every ready instance is health-checked (a few
 * thousand checks out at a time; the checker bounds the probes in flight): a failing one gets its first failure and
 * count in the health hash, and when it has been failing for longer than its timeout, state
 * `failed` with `health_failed: true` and the probe's words in `error` (event nodefailed), so
 * that the enactor replaces it; one that passes again is ready and out of the health hash.
 *
 * Every callback runs exactly once, on the loop, never from inside the call that started it.
 */
#ifndef OCCO_INFRAPROCESSOR_IPROC_H
#define OCCO_INFRAPROCESSOR_IPROC_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "occo/infobroker/record.h"
#include "occo/util/err.h"

struct hc;
struct ib_batch;
struct occo_config;

/*
 * The clouds, as the infraprocessor needs them. The libraries of one tier do not link each
 * other: the program wires the resource handlers in (api), and tests may wire anything.
 */

/* One instance, as a cloud is asked about it. Everything is borrowed for the call. */
struct iproc_node {
	const char *infra_id;
	const char *node_id;
	const char *name;
	const char *token; /* the idempotency token the cloud tags it with */
	const json_t *resource; /* the rendered resource section */
	const json_t *auth; /* the selected auth_data, or NULL */
	const char *user_data; /* the rendered cloud-init, or NULL */
	const json_t *attributes; /* contextualisation attributes, or NULL */
	const char *instance_id; /* the cloud's id, or NULL when never learnt */
};

/* One instance, as a cloud reports it. Borrowed during the callback. */
struct iproc_seen {
	const char *instance_id;
	const char *token; /* or NULL when the instance is not ours */
	const char *state; /* "pending", "ready", "failed", "shutdown", "temp_failed", "unknown" */
	const json_t *addresses;
	const char *private_address;
	const char *message; /* the cloud's words on a failure, or NULL */
	/* host ports the instance's ports are published on ({"80/tcp": "127.0.0.1:43041"}), or
	   NULL; kept in the record as `published` */
	const json_t *published;
};

typedef void (*iproc_created_fn)(const char *instance_id, const struct occo_err *err, void *ud);
typedef void (*iproc_dropped_fn)(const struct occo_err *err, void *ud);
typedef void (*iproc_listed_fn)(const struct iproc_seen *v, size_t n, const struct occo_err *err,
				void *ud);

/* Each op calls its callback exactly once, later, or returns an error and never calls it. */
struct iproc_cloud {
	void *impl;
	int (*create)(void *impl, const struct iproc_node *node, iproc_created_fn cb, void *ud,
		      struct occo_err *err);
	int (*drop)(void *impl, const struct iproc_node *node, iproc_dropped_fn cb, void *ud,
		    struct occo_err *err);
	/* every instance of node->infra_id on the endpoint of node->resource */
	int (*list)(void *impl, const struct iproc_node *node, iproc_listed_fn cb, void *ud,
		    struct occo_err *err);
	/* which resource sections are listed together; the caller frees it */
	char *(*endpoint_key)(void *impl, const json_t *resource);
};

/* The config managers, as the infraprocessor needs them (the program wires them in). */
typedef void (*iproc_cm_fn)(const char *state, const struct occo_err *err, void *ud);

struct iproc_cm {
	void *impl;
	/* the configuration state of a running instance: "ready", "pending", "unknown" */
	int (*state)(void *impl, const struct iproc_node *node, const json_t *section,
		     iproc_cm_fn cb, void *ud, struct occo_err *err);
};

struct iproc_opts {
	unsigned poll_ms; /* between two state polls of waiting instances (1000) */
	unsigned create_timeout_ms; /* an instance not ready by then fails (600000) */
};

struct iproc_infra;

/*
 * Start working on an infrastructure. `desc` is its static description and `records` its
 * instance records (both taken: the iproc_infra keeps them up to date and releases them;
 * records NULL: none yet). `defs` is {type: [definitions]} for the types that may be created (taken).
 * `cloud`, `batch` and `cfg` (auth_data) are borrowed and must outlive it.
 */
int iproc_infra_open(uv_loop_t *loop, const struct iproc_cloud *cloud, struct ib_batch *batch,
		     const struct occo_config *cfg, const struct iproc_opts *opts, json_t *desc,
		     struct ib_records *records, json_t *defs, struct iproc_infra **out,
		     struct occo_err *err);

/*
 * Ask `cm` (borrowed) whether an instance is configured once its cloud says it runs; without
 * one, running is ready.
 */
void iproc_infra_set_cm(struct iproc_infra *in, const struct iproc_cm *cm);

/*
 * Health-check the instances with `hc` (borrowed; it must outlive the infra): on creation after
 * the config manager, and at each refresh. `health` is the infrastructure's stored health hash
 * {node_id: {first_fail_ms, fails}} (taken; NULL: none), so that a failing period outlives the
 * process. Without a checker, instances are not health-checked.
 */
void iproc_infra_set_health(struct iproc_infra *in, struct hc *hc, json_t *health);

/* Cancel what is in flight (callbacks run with -OCCO_ECANCELED), then release. */
void iproc_infra_close(struct iproc_infra *in);

/* The records as they are now (borrowed). */
const struct ib_records *iproc_infra_records(const struct iproc_infra *in);
const char *iproc_infra_id(const struct iproc_infra *in);

typedef void (*iproc_done_fn)(const struct occo_err *err, void *ud);
typedef void (*iproc_node_fn)(const char *node_id, const struct occo_err *err, void *ud);

/* Create one instance of node `name`; cb gets its node_id (also on failure, once known). */
int iproc_create_node(struct iproc_infra *in, const char *name, iproc_node_fn cb, void *ud,
		      struct occo_err *err);

/* Drop the instance `node_id` (it must be in the records). */
int iproc_drop_node(struct iproc_infra *in, const char *node_id, iproc_node_fn cb, void *ud,
		    struct occo_err *err);

/* Learn the live state of every record (one list per endpoint), adopting crash leftovers. */
int iproc_refresh(struct iproc_infra *in, iproc_done_fn cb, void *ud, struct occo_err *err);

#endif
