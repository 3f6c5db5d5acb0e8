/*
 * rh.h - the resource handlers: how a node's instance is created on a cloud, dropped, and
 * seen.
 *
 * A plugin (dummy, ec2, nova, docker, ...) is one `const struct rh_ops` in the registry: a name,
 * the key schema of its `resource` section and three asynchronous operations:
 *
 *   create  start one instance for a node; the cloud tags it with the node's idempotency token
 *   drop    remove one instance (by instance id, or by token when the id was never learnt);
 *           an instance that is already gone counts as dropped
 *   list    every instance of one infrastructure on one endpoint, with state and addresses:
 *           ONE call per endpoint per pass, never one per node; it is also how the instances
 *           of a crashed build are found again (by their tokens)
 *
 * Plugins only speak their cloud's API. The core (struct rh) does the rest for every plugin:
 * the schema check, a per-endpoint concurrency limit and token-bucket rate limit, a deadline
 * per operation, retries with backoff of transient failures (RH_F_TRANSIENT), and errors
 * prefixed with the plugin's name and the node. Callers use the core, never the ops directly.
 *
 * Rules for plugins (as for every async API here): an op either returns an error and never
 * completes, or returns 0 and completes exactly once, later, on the loop, through
 * rh_req_created / rh_req_dropped / rh_req_listed. The request and everything it points to is
 * valid until then. A plugin keeps per-request state in rh_req_data() (ops->req_size bytes,
 * zeroed), and may implement `cancel` to finish an op early with -OCCO_ECANCELED.
 */
#ifndef OCCO_RESOURCEHANDLER_RH_H
#define OCCO_RESOURCEHANDLER_RH_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "occo/compiler/schema.h"
#include "occo/util/err.h"

struct occo_redis;
struct occo_http;

/* The states of Occopus (OCCOPUS.md 6.1), as a cloud reports them for an instance. */
enum rh_state {
	RH_UNKNOWN = 0,
	RH_PENDING,
	RH_READY,
	RH_SHUTDOWN,
	RH_FAILED,
	RH_TEMP_FAILED,
};

/* "pending", "ready", ...; "unknown" for anything else. */
const char *rh_state_name(enum rh_state s);
/* The state of a name, RH_UNKNOWN when it is none. */
enum rh_state rh_state_parse(const char *name);

/* What plugins work with; owned by the program, shared by every request. */
struct rh_env {
	uv_loop_t *loop;
	struct occo_redis *redis; /* the state store (the dummy cloud keeps its state there) */
	const char *ns; /* its key namespace */
	struct occo_http *http; /* the shared HTTP client (may be NULL for plugins without HTTP) */
	const char *state_dir; /* the local back-end's runtime directories live here */
};

/* One node's instance, as the plugins see it. Everything is borrowed for the request. */
struct rh_node {
	const char *infra_id;
	const char *node_id;
	const char *name; /* the node's name in the infrastructure */
	const char *token; /* idempotency token: what the cloud is asked to tag it with */
	const json_t *resource; /* the rendered resource section (type, endpoint, ...) */
	const json_t *auth; /* the selected auth_data, or NULL */
	const char *user_data; /* the rendered contextualisation (cloud-init), or NULL */
	const json_t *attributes; /* contextualisation attributes (docker env, command), or NULL */
	const char *instance_id; /* drop: the cloud's id, or NULL to drop by token */
};

/* What a cloud says of one instance (rh_req_listed). Borrowed during the callback. */
struct rh_instance {
	const char *instance_id;
	const char *token; /* the node's token as tagged, or NULL when not ours */
	enum rh_state state;
	const json_t *addresses; /* JSON array of strings, public first; may be empty */
	const char *private_address; /* or NULL */
	const char *message; /* the cloud's own words when failed, or NULL */
	/*
	 * Ports published on a host, or NULL: {"80/tcp": "127.0.0.1:43041"} (docker). Where the
	 * instance's own address cannot be reached, its port 80 is found there.
	 */
	const json_t *published;
};

struct rh_req;

struct rh_ops {
	const char *name; /* the `type` of the resource section */
	const struct comp_schema *schema; /* its keys */
	size_t req_size; /* bytes of rh_req_data() */
	int (*create)(struct rh_req *req, struct occo_err *err);
	int (*drop)(struct rh_req *req, struct occo_err *err);
	int (*list)(struct rh_req *req, struct occo_err *err);
	/* Optional: finish the op now with -OCCO_ECANCELED (through the usual completion). */
	void (*cancel)(struct rh_req *req);
	/* The endpoint of a resource section without an `endpoint` key, or NULL. */
	const char *default_endpoint;
	/*
	 * Operations in flight per endpoint when the program sets no limit (rh_opts), or 0 for
	 * the core's default: a simulated cloud needs none, a real one may know its own.
	 */
	unsigned max_concurrent;
	/*
	 * Optional: state the plugin keeps for one core (rh_req_state()), made by rh_new() and
	 * handed to stop() by rh_free() after every request was cancelled. stop() may finish
	 * releasing it later, on the loop.
	 */
	int (*start)(const struct rh_env *env, void **state, struct occo_err *err);
	void (*stop)(void *state);
};

/* For plugins: what a request is about. */
const struct rh_node *rh_req_node(const struct rh_req *req);
const struct rh_env *rh_req_env(const struct rh_req *req);
void *rh_req_data(struct rh_req *req);
/* The plugin's state made by ops->start (NULL without one). */
void *rh_req_state(const struct rh_req *req);
/* Which attempt of the operation this request is: 1, then 2 for the first retry, ... */
unsigned rh_req_attempt(const struct rh_req *req);

/*
 * For plugins: complete a request. err NULL is success. Set RH_F_TRANSIENT in err_flags when
 * the failure may go away by itself (throttling, 5xx, a timeout): the core retries those.
 */
#define RH_F_TRANSIENT 1u
void rh_req_created(struct rh_req *req, const char *instance_id, const struct occo_err *err,
		    unsigned err_flags);
void rh_req_dropped(struct rh_req *req, const struct occo_err *err, unsigned err_flags);
void rh_req_listed(struct rh_req *req, const struct rh_instance *v, size_t n,
		   const struct occo_err *err, unsigned err_flags);

/* The registry: the plugin of a type, or NULL. */
const struct rh_ops *rh_plugin(const char *type);

/* The schemas of the `resource` section of every known plugin, NULL-terminated. */
const struct comp_schema *const *rh_schemas(void);

/*
 * Where a resource section's instances live: nodes with equal keys are listed together and
 * share one concurrency limit and rate limit ("<type> <endpoint>", plus the region where the
 * plugin has one). The caller frees it.
 */
char *rh_endpoint_key(const json_t *resource);

/* Limits of the core; zero fields take the defaults. */
struct rh_opts {
	unsigned max_concurrent; /* operations in flight per endpoint (default 32) */
	double rate; /* operations started per second per endpoint (default: no limit) */
	double burst; /* token bucket size (default 1 when rate is set) */
	unsigned op_timeout_ms; /* deadline of one create/drop/list attempt (default 120000) */
	unsigned max_retries; /* transient failures retried (default 4) */
	unsigned backoff_ms; /* first retry delay, doubled each time with jitter (default 500) */
};

/* The core. */
struct rh;

/* env (copied; what it points to must outlive the core) and opts (may be NULL) are borrowed. */
int rh_new(const struct rh_env *env, const struct rh_opts *opts, struct rh **out,
	   struct occo_err *err);
/*
 * Cancel every operation, then free. The callbacks of the cancelled operations run from inside
 * this call, each once, with -OCCO_ECANCELED; later calls of rh_create/rh_drop/rh_list made from
 * them fail with -OCCO_ESTATE. Memory is released from libuv close callbacks, so the loop must
 * run afterwards. May be called from inside one of the core's callbacks.
 */
void rh_free(struct rh *rh);

typedef void (*rh_create_fn)(const char *instance_id, const struct occo_err *err, void *ud);
typedef void (*rh_done_fn)(const struct occo_err *err, void *ud);
typedef void (*rh_list_fn)(const struct rh_instance *v, size_t n, const struct occo_err *err,
			   void *ud);

/*
 * Create, drop, list through the core. `node` (and what it points to) is copied. Each
 * callback runs exactly once, on the loop, never from inside the call; never when the call
 * returns an error (-OCCO_EINVAL: unknown plugin type, a resource section that fails its
 * schema; -OCCO_ENOTSUP: a plugin occopus-c cannot drive; -OCCO_ESTATE: the core is being
 * freed). A failure the callback gets reads "<type> <endpoint>: node '<name>': <message>"; an
 * attempt past op_timeout_ms fails with -OCCO_ETIMEDOUT and is retried like other transient
 * failures.
 */
int rh_create(struct rh *rh, const struct rh_node *node, rh_create_fn cb, void *ud,
	      struct occo_err *err);
int rh_drop(struct rh *rh, const struct rh_node *node, rh_done_fn cb, void *ud,
	    struct occo_err *err);
/* List the instances of node->infra_id on the endpoint of node->resource (node_id unused). */
int rh_list(struct rh *rh, const struct rh_node *node, rh_list_fn cb, void *ud,
	    struct occo_err *err);

/*
 * Counters per endpoint, for benchmarks and /metrics: attempts started, transient failures
 * retried, operations that failed in the end, attempts in flight, operations waiting for a
 * slot or a token.
 */
struct rh_stats {
	unsigned long creates, drops, lists; /* operations started (attempts) */
	unsigned long retries, failures;
	unsigned active, waiting;
};
/* The counters of an endpoint key (rh_endpoint_key()); -OCCO_ENOENT when it was never used. */
int rh_stats_get(const struct rh *rh, const char *endpoint_key, struct rh_stats *out,
		 struct occo_err *err);
/* Call fn with the counters of every endpoint used so far (for /metrics). */
void rh_stats_foreach(const struct rh *rh,
		      void (*fn)(const char *endpoint_key, const struct rh_stats *s, void *ud),
		      void *ud);

#endif
