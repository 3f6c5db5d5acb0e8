/*
 * app.h - what every occopus-* program sets up: the configuration, logging, the libuv loop and
 * the connection to the state store (starting the embedded Redis when none is configured).
 *
 * The programs are short sequences of asynchronous steps; api_app_run() runs the loop until a
 * step calls api_app_done().
 */
#ifndef OCCO_API_APP_H
#define OCCO_API_APP_H

#include <uv.h>

#include "occo/util/config.h"
#include "occo/util/err.h"
#include "occo/util/redis.h"

struct api_app {
	const char *prog;
	uv_loop_t loop;
	struct occo_config cfg;
	int cfg_loaded;
	struct occo_redis *redis; /* after api_app_connect */
	int done; /* set by api_app_done */
	int rc; /* the exit code api_app_done was given */
};

/*
 * Prepare a program: ignore SIGPIPE, start the loop, load the configuration (telling the user on
 * stderr which file was found, as Occopus does). On failure err says why; the caller still
 * calls api_app_release.
 */
int api_app_init(struct api_app *app, const char *prog, const struct occo_config_args *args,
		 struct occo_err *err);

/*
 * Reach the state store: start (or reuse) the embedded redis-server, or connect to the
 * configured one, and wait until it answers. The error names the server and what configured it.
 */
int api_app_connect(struct api_app *app, struct occo_err *err);

/* api_app_init, then api_app_connect: what a program that needs the store starts with. */
int api_app_open(struct api_app *app, const char *prog, const struct occo_config_args *args,
		 struct occo_err *err);

/*
 * The end of a program's start-up: when rc < 0 (the start failed), report err and return the
 * failure's exit code; else run the loop until api_app_done and return its code.
 */
int api_app_main_loop(struct api_app *app, int rc, const struct occo_err *err);

/* Run the loop until api_app_done is called; returns the code given to it. */
int api_app_run(struct api_app *app);
void api_app_done(struct api_app *app, int rc);

/* Close the connection, let the loop finish, release everything. */
void api_app_release(struct api_app *app);

/*
 * Report an error at the top, once: "<prog>: <message>" on stderr, secrets redacted.
 */
void api_app_report(const struct api_app *app, const struct occo_err *err);

#endif
