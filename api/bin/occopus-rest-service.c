/*
 * occopus-rest-service - the REST service of Occopus (OCCOPUS.md 1.6, 8) as a daemon that also
 * maintains the infrastructures (api/daemon.h).
 *
 *   occopus-rest-service [--cfg CFG_PATH] [--auth_data_path PATH] [--host HOST] [--port PORT]
 *                        [--interval SECONDS] [--lease SECONDS] [--parallelize]
 *
 * Runs in the foreground and logs to stderr. SIGTERM and SIGINT stop it cleanly (no new
 * requests; the answers and passes in progress finish; leases are given back) with exit code
 * 0; SIGHUP reads the configuration again.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/api/daemon.h"
#include "occo/util/log.h"

#define PROG "occopus-rest-service"

static const char usage[] =
	"usage: occopus-rest-service [-h] [--version] [--cfg CFG_PATH]\n"
	"                            [--auth_data_path AUTH_DATA_PATH] [--host HOST]\n"
	"                            [--port PORT] [--interval SECONDS] [--lease SECONDS]\n"
	"                            [--parallelize]\n";

static const char help[] =
	"\n"
	"Serve the REST API of Occopus and maintain the attached infrastructures.\n"
	"\n"
	"options:\n"
	"  -h, --help            show this help message and exit\n"
	"  --version             print the version and exit\n"
	"  --cfg CFG_PATH        path of occopus_config.yaml\n"
	"  --auth_data_path AUTH_DATA_PATH\n"
	"                        path of auth_data.yaml\n"
	"  --host HOST           address to listen on (default: components.rest.host or\n"
	"                        rest.host of the configuration, else 127.0.0.1)\n"
	"  --port PORT           port to listen on (default: components.rest.port or\n"
	"                        rest.port, else 5000; 0: any free port)\n"
	"  --interval SECONDS    between two maintenance passes of an infrastructure\n"
	"                        (default: maintenance.interval, else 10)\n"
	"  --lease SECONDS       lifetime of a maintenance lease (default: maintenance.lease,\n"
	"                        else max(3 * interval, 30))\n"
	"  --parallelize         accepted for compatibility (always concurrent)\n";

struct svc {
	struct api_app app;
	struct api_daemon *d;
	uv_signal_t sigint, sigterm, sighup;
};

static void stopped(void *ud)
{
	struct svc *s = ud;

	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);
	api_app_done(&s->app, API_EXIT_OK);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct svc *s = sig->data;

	if (signum == SIGHUP)
		api_daemon_reload(s->d);
	else
		api_daemon_stop(s->d, stopped, s);
}

static int parse_seconds(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return *s && !*end && *out > 0 && *out <= 86400;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' },
		{ "auth_data_path", required_argument, NULL, 'A' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "interval", required_argument, NULL, 't' },
		{ "lease", required_argument, NULL, 'L' },
		{ "parallelize", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0] };
	struct api_daemon_opts dopts = { .port = -1 };
	struct svc s = { 0 };
	struct occo_err err;
	char *end;
	long port;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			args.cfg_path = optarg;
			break;
		case 'A':
			args.auth_data_path = optarg;
			break;
		case 'H':
			dopts.host = optarg;
			break;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (!*optarg || *end || port < 0 || port > 65535)
				return api_cli_usage_error(PROG, usage,
							   "argument --port: invalid int value: "
							   "'%s'",
							   optarg);
			dopts.port = (int)port;
			break;
		case 't':
			if (!parse_seconds(optarg, &dopts.interval))
				return api_cli_usage_error(
					PROG, usage, "argument --interval: invalid value '%s'",
					optarg);
			break;
		case 'L':
			if (!parse_seconds(optarg, &dopts.lease))
				return api_cli_usage_error(PROG, usage,
							   "argument --lease: invalid value '%s'",
							   optarg);
			break;
		case 'P':
			break;
		default:
			if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return api_cli_usage_error(PROG, usage, "unrecognized arguments: %s", argv[optind]);

	rc = api_app_open(&s.app, PROG, &args, &err);
	if (rc == 0) {
		char pid[24];

		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		OCCO_INFO("starting up", OCCO_KV("pid", pid));
		rc = api_daemon_start(&s.app, &dopts, &s.d, &err);
	}
	if (rc == 0) {
		uv_signal_init(&s.app.loop, &s.sigint);
		uv_signal_init(&s.app.loop, &s.sigterm);
		uv_signal_init(&s.app.loop, &s.sighup);
		s.sigint.data = s.sigterm.data = s.sighup.data = &s;
		uv_signal_start(&s.sigint, on_signal, SIGINT);
		uv_signal_start(&s.sigterm, on_signal, SIGTERM);
		uv_signal_start(&s.sighup, on_signal, SIGHUP);
	}
	rc = api_app_main_loop(&s.app, rc, &err);
	api_daemon_free(s.d);
	api_app_release(&s.app);
	return rc;
}
