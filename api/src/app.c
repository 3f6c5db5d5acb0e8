/*
 * app.c - the set-up every program shares: configuration, loop, state store.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/util/alloc.h"
#include "occo/util/log.h"
#include "occo/util/redis_sentinel.h"

int api_app_init(struct api_app *app, const char *prog, const struct occo_config_args *args,
		 struct occo_err *err)
{
	int rc;

	memset(app, 0, sizeof(*app));
	app->prog = prog;
	signal(SIGPIPE, SIG_IGN); /* hiredis writes with write(2) */
	uv_loop_init(&app->loop);
	rc = occo_config_load(&app->cfg, args, err);
	app->cfg_loaded = 1;
	if (rc < 0)
		return rc;
	if (app->cfg.path && app->cfg.origin != OCCO_CONFIG_ARGUMENT)
		fprintf(stderr, "Using default configuration file: '%s'\n", app->cfg.path);
	if (app->cfg.auth_path && app->cfg.auth_origin != OCCO_CONFIG_ARGUMENT)
		fprintf(stderr, "Using default authentication file: '%s'\n", app->cfg.auth_path);
	return 0;
}

struct connect_wait {
	struct api_app *app;
	int finished;
	int rc;
	struct occo_err err;
	char *sock;
};

static void embedded_started(const char *sock_path, const struct occo_err *err, void *ud)
{
	struct connect_wait *w = ud;

	w->finished = 1;
	if (err) {
		w->rc = occo_err_copy(&w->err, err);
		return;
	}
	w->sock = occo_strdup(sock_path);
}

int api_app_connect(struct api_app *app, struct occo_err *err)
{
	const struct occo_config_redis *rc_cfg = &app->cfg.redis;
	struct connect_wait w = { .app = app };
	struct occo_redis_opts o;
	redisReply *reply = NULL;
	int rc;

	occo_redis_opts_init(&o);
	if (rc_cfg->embedded) {
		rc = occo_redis_embedded_start(&app->loop, app->cfg.state_dir, NULL,
					       embedded_started, &w, err);
		if (rc < 0)
			return occo_err_prefix(err, "cannot start the embedded redis-server");
		while (!w.finished && uv_run(&app->loop, UV_RUN_ONCE))
			;
		if (w.rc < 0) {
			occo_err_copy(err, &w.err);
			return occo_err_prefix(err,
					       "cannot start the embedded redis-server in '%s'",
					       app->cfg.state_dir);
		}
		o.addr.path = w.sock;
	} else {
		o.addr.path = rc_cfg->socket;
		o.addr.host = rc_cfg->host;
		o.addr.port = rc_cfg->port;
		o.db = rc_cfg->db;
		o.username = rc_cfg->username;
		o.password = rc_cfg->password;
	}
	o.quiet = 1;
	if (rc_cfg->nsentinels) {
		struct occo_redis_addr addrs[OCCO_REDIS_SENTINEL_MAX] = { 0 };
		struct occo_redis_sentinel_opts so;
		size_t i;

		occo_redis_sentinel_opts_init(&so);
		for (i = 0; i < rc_cfg->nsentinels && i < OCCO_REDIS_SENTINEL_MAX; i++) {
			addrs[i].host = rc_cfg->sentinels[i].host;
			addrs[i].port = rc_cfg->sentinels[i].port;
		}
		so.sentinels = addrs;
		so.nsentinels = rc_cfg->nsentinels;
		so.master = rc_cfg->master;
		so.username = rc_cfg->sentinel_username;
		so.password = rc_cfg->sentinel_password;
		rc = occo_redis_sentinel_open(&app->loop, &o, &so, &app->redis, err);
	} else {
		rc = occo_redis_open(&app->loop, &o, &app->redis, err);
	}
	free(w.sock);
	if (rc < 0)
		return rc;
	rc = occo_redis_command_wait(app->redis, &reply, err, "PING");
	if (reply)
		freeReplyObject(reply);
	if (rc < 0)
		return occo_err_prefix(err, "cannot reach the state store (configured by %s)",
				       rc_cfg->source);
	return 0;
}

int api_app_open(struct api_app *app, const char *prog, const struct occo_config_args *args,
		 struct occo_err *err)
{
	int rc = api_app_init(app, prog, args, err);

	return rc < 0 ? rc : api_app_connect(app, err);
}

int api_app_main_loop(struct api_app *app, int rc, const struct occo_err *err)
{
	if (rc < 0) {
		api_app_report(app, err);
		return API_EXIT_FAILED;
	}
	return api_app_run(app);
}

int api_app_run(struct api_app *app)
{
	while (!app->done && uv_run(&app->loop, UV_RUN_ONCE))
		;
	return app->rc;
}

void api_app_done(struct api_app *app, int rc)
{
	app->done = 1;
	app->rc = rc;
}

void api_app_release(struct api_app *app)
{
	if (app->redis) {
		struct occo_redis_stats st;

		/* for benchmarks (tests/bench/engine.sh): what it cost the state store */
		if (getenv("OCCOPUS_REDIS_STATS")) {
			occo_redis_stats_get(app->redis, &st);
			fprintf(stderr, "state store: %llu commands, %llu round trips\n",
				(unsigned long long)st.commands,
				(unsigned long long)st.round_trips);
		}
		occo_redis_close(app->redis, NULL, NULL);
	}
	app->redis = NULL;
	uv_run(&app->loop, UV_RUN_DEFAULT);
	uv_loop_close(&app->loop);
	if (app->cfg_loaded)
		occo_config_release(&app->cfg);
	occo_log_secret_clear();
}

void api_app_report(const struct api_app *app, const struct occo_err *err)
{
	char msg[OCCO_ERR_MSG_MAX];

	if (api_cli_json()) {
		api_cli_json_failure(err, NULL);
		return;
	}
	snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg : occo_code_str(err->code));
	fprintf(stderr, "%s: %s\n", app->prog, occo_log_redact(msg));
}
