/*
 * config.h - occopus_config.yaml, auth_data.yaml, and the settings of occopus-c.
 *
 * The files are found where Occopus looks for them (OCCOPUS.md 1.0):
 *   occopus_config.yaml: --cfg, $OCCOPUS_CONFIG_PATH, ~/.occopus/occopus_config.yaml,
 *     ./occopus_config.yaml, <sysconfdir>/occopus/occopus_config.yaml,
 *     <dir of the program>/occopus_config.yaml
 *   auth_data.yaml: --auth_data_path, $OCCOPUS_AUTH_DATA_PATH, ~/.occopus/auth_data.yaml,
 *     ./auth_data.yaml, <sysconfdir>/occopus/auth_data.yaml, <dir of the program>/auth_data.yaml
 * A path given on the command line must exist; the others are tried in order. Unlike Occopus,
 * a missing configuration file is not an error: the built-in defaults apply (embedded Redis).
 *
 * A stock Occopus occopus_config.yaml loads as it is (its Python tags are kept, not run). The
 * settings of occopus-c are top-level keys of the same file:
 *
 *   redis:
 *     url: redis://127.0.0.1:6379/0   # or unix:///run/redis.sock?db=0; absent: embedded
 *       # or, behind Redis Sentinel: redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster/0
 *     password: ...                   # optional; never logged
 *   state_dir: ~/.occopus/state       # embedded Redis, local nodes, locks
 *   namespace: occo                   # prefix of every Redis key
 *   templates:
 *     allow_cmd: false                # true: templates may call cmd() (runs a command here)
 *   health_checks:                    # read by the engine (api/engine.h)
 *     concurrency: 256                # probes in flight at once
 *     max_failed_share: 0.5           # more failing at once: not replaced (enactor/plan.h)
 *
 * Without a `redis:` section, a stock `components.uds` of protocol redis (host, port, db) names
 * the server, so a user's existing Occopus configuration keeps pointing at their Redis. Neither
 * given: the embedded server. The environment overrides the file: $OCCOPUS_REDIS_URL,
 * $OCCOPUS_STATE_DIR.
 */
#ifndef OCCO_UTIL_CONFIG_H
#define OCCO_UTIL_CONFIG_H

#include <jansson.h>

#include "occo/util/err.h"
#include "occo/util/yaml.h"

/* How a file was found: what a program tells the user ("Using default configuration file"). */
enum occo_config_origin {
	OCCO_CONFIG_NONE = 0, /* not found: built-in defaults */
	OCCO_CONFIG_ARGUMENT, /* named on the command line */
	OCCO_CONFIG_ENV, /* named by the environment variable */
	OCCO_CONFIG_SEARCH, /* found in one of the default places */
};

/* A sentinel of a redis+sentinel:// URL. */
struct occo_config_sentinel {
	char *host;
	int port; /* default 26379 */
};

/* Where the state store is. */
struct occo_config_redis {
	int embedded; /* 1: start/reuse the private server in state_dir */
	char *host; /* TCP host, or NULL */
	int port; /* TCP port */
	char *socket; /* unix socket path, or NULL (for embedded: <state_dir>/redis.sock) */
	int db; /* database number */
	char *username; /* the ACL user (Redis 6+), or NULL: the default user */
	char *password; /* secret, or NULL */
	struct occo_config_sentinel *sentinels; /* behind Redis Sentinel: ask these, else NULL */
	size_t nsentinels;
	char *master; /* the name the sentinels know the master by (with sentinels) */
	char *sentinel_username; /* the sentinels' ACL user, or NULL */
	char *sentinel_password; /* AUTH to the sentinels: secret, or NULL */
	char *source; /* what set it, for messages: "redis.url (FILE:LINE:COL)", "$OCCOPUS_REDIS_URL" */
};

struct occo_config {
	char *path; /* occopus_config.yaml that was loaded, or NULL */
	enum occo_config_origin origin;
	struct occo_ydoc *doc; /* its contents, or NULL */

	struct occo_config_redis redis;
	char *state_dir;
	char *ns; /* namespace of Redis keys */
	int allow_cmd; /* templates.allow_cmd */

	char *auth_path; /* auth_data.yaml that was loaded, or NULL */
	enum occo_config_origin auth_origin;
	struct occo_ydoc *auth; /* its contents, or NULL */
	int auth_world_readable; /* 1 if group or others may read it (a warning was logged) */
};

/* What the command line said; any field may be NULL. */
struct occo_config_args {
	const char *cfg_path; /* --cfg */
	const char *auth_data_path; /* --auth_data_path */
	const char *argv0; /* the program's argv[0], for the last search place */
	int no_auth; /* 1: do not look for auth_data.yaml (occopus-import) */
};

/*
 * Find and load both files and resolve the settings into `cfg` (which the caller releases with
 * occo_config_release, also after a failure). Every string of the auth data's `auth_data`
 * sections is registered with occo_log_secret_add. Errors name FILE:LINE:COL.
 */
int occo_config_load(struct occo_config *cfg, const struct occo_config_args *args,
		     struct occo_err *err);
void occo_config_release(struct occo_config *cfg);

/* A value of occopus_config.yaml by dotted path ("components.rest.port"), or NULL. Borrowed. */
const json_t *occo_config_lookup(const struct occo_config *cfg, const char *path);

/*
 * Parse a Redis URL: redis://[[user]:password@]host[:port][/db], unix://PATH[?db=N], or (Redis
 * Sentinel) redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/master[/db]
 * [?sentinel_username=USER&sentinel_password=SECRET] (also sentinel://; a host may be an [IPv6]
 * address; the port of a sentinel defaults to 26379; the user and password are the master's).
 * A user names a Redis 6 ACL user (AUTH user password); without one, the default user. Fills `out` (release with
 * occo_config_redis_release). `source` names it in error messages, which never quote a password.
 */
int occo_config_redis_parse(const char *url, const char *source, struct occo_config_redis *out,
			    struct occo_err *err);
void occo_config_redis_release(struct occo_config_redis *r);

/*
 * Choose the credentials for a node (OCCOPUS.md 2.2). `section` is "resource" or
 * "config_management", `subject` the node's rendered section of that name. Every entry of the
 * auth data's section whose keys other than `auth_data` all appear in `subject` with equal
 * values matches. One match: *out = its `auth_data` (borrowed from cfg). None: *out = NULL and 0
 * is returned (the plugin says which credentials are missing). More than one: an error naming
 * the matching entries.
 */
int occo_config_auth_select(const struct occo_config *cfg, const char *section,
			    const json_t *subject, const json_t **out, struct occo_err *err);

/* Expand a leading "~/" with $HOME. Returns a new string. */
char *occo_path_expand(const char *path);

#endif
