/*
 * daemon.h - the REST service of occopus-c (occopus-rest-service; OCCOPUS.md 1.6 and 8): one
 * libuv loop that maintains every infrastructure this process holds a lease on (maintainer.h)
 * and serves Occopus's REST API (rest.h) beside it.
 *
 * The infrastructures to maintain are the set <ns>:attached in Redis (POST, attach and detach
 * change it), so a restarted service maintains again what it maintained before, and two
 * services on one Redis share the infrastructures by lease: each scans the set every interval
 * and takes the leases that are free, so when one dies the other takes its infrastructures over
 * within one lease period.
 *
 * Settings (occopus_config.yaml; the command line overrides host and port):
 *   components: {rest: {host, port}}    Occopus's place for them
 *   rest:
 *     host: 127.0.0.1                   where to listen (default 127.0.0.1)
 *     port: 5000                        (default 5000; 0: any free port)
 *     token: ...                        mutating requests need "Authorization: Bearer <token>"
 *     tls_cert: /path/cert.pem          with tls_key: serve HTTPS
 *     tls_key: /path/key.pem
 *     max_body: 1048576                 bytes of a request body (default 1 MiB)
 *   maintenance:
 *     interval: 10                      seconds between two passes of an infrastructure
 *     lease: 30                         seconds a lease lives unless renewed (default
 *                                       max(3 * interval, 30))
 */
#ifndef OCCO_API_DAEMON_H
#define OCCO_API_DAEMON_H

#include "occo/api/app.h"

struct api_daemon;

/* What the command line says; NULL / negative / 0: the configuration decides. */
struct api_daemon_opts {
	const char *host;
	int port; /* -1: from the configuration */
	double interval; /* seconds */
	double lease; /* seconds */
};

/*
 * Start the service on a connected app (api_app_connect done): the engine, the maintainer, the
 * HTTP server (listening when this returns). The error names the setting at fault.
 */
int api_daemon_start(struct api_app *app, const struct api_daemon_opts *opts,
		     struct api_daemon **out, struct occo_err *err);

/* The port the service listens on. */
int api_daemon_port(const struct api_daemon *d);

/*
 * Read occopus_config.yaml again (off the loop) and apply what can change without a restart:
 * the token, max_body, the interval. Listening address, TLS and Redis need a restart (a
 * warning says so).
 */
void api_daemon_reload(struct api_daemon *d);

/*
 * Stop: accept no more requests, let the answers in progress and the running passes finish,
 * give every lease back; then cb (once, on the loop).
 */
void api_daemon_stop(struct api_daemon *d, void (*cb)(void *ud), void *ud);

/* After the loop has stopped: flush the writes, close the engine, free the daemon. */
void api_daemon_free(struct api_daemon *d);

#endif
