/*
 * occopus-destroy - tear an infrastructure down (OCCOPUS.md 1.5).
 *
 *   occopus-destroy [--cfg CFG_PATH] [--auth_data_path PATH] [--json] -i INFRA_ID
 *
 * Every instance is dropped at once, then the infrastructure's keys are removed. Destroying an
 * infrastructure that does not exist (any more) is not an error: the command is idempotent.
 * When an instance cannot be dropped, nothing is forgotten: the exit code is 1 and running the
 * command again finishes the job.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/api/engine.h"
#include "occo/infobroker/infra.h"

#define PROG "occopus-destroy"

static const char usage[] = "usage: occopus-destroy [-h] [--version] [--cfg CFG_PATH] "
			    "[--auth_data_path AUTH_DATA_PATH] [--json] -i INFRA_ID\n";

static const char help[] =
	"\n"
	"Tear an infrastructure down: drop every node, then forget the infrastructure.\n"
	"\n"
	"options:\n"
	"  -h, --help            show this help message and exit\n"
	"  --version             print the version and exit\n"
	"  --cfg CFG_PATH        path of occopus_config.yaml\n"
	"  --auth_data_path AUTH_DATA_PATH\n"
	"                        path of auth_data.yaml\n"
	"  -i INFRA_ID           the infrastructure to destroy\n"
	"  --json                machine-readable output\n";

struct destroy {
	struct api_app app;
	struct api_engine e;
	struct api_infra *inf;
	const char *id;
	int json;
};

/* --json: {"ok": true, "infra_id": ..., "existed": ...} */
static void done_json(struct destroy *d, int existed)
{
	api_cli_json_print(
		json_pack("{s:b, s:s, s:b}", "ok", 1, "infra_id", d->id, "existed", existed));
}

static void destroyed(const struct occo_err *err, void *ud)
{
	struct destroy *d = ud;

	if (err) {
		api_app_report(&d->app, err);
		api_app_done(&d->app, API_EXIT_FAILED);
	} else {
		if (d->json)
			done_json(d, 1);
		else
			fprintf(stderr, "Finished dropping infrastructure %s\n", d->id);
		api_app_done(&d->app, API_EXIT_OK);
	}
}

static void loaded(struct api_infra *inf, const struct occo_err *err, void *ud)
{
	struct destroy *d = ud;
	struct occo_err e;

	if (err && err->code == OCCO_ENOENT) {
		if (d->json)
			done_json(d, 0);
		else
			fprintf(stderr, "Unknown infrastructure: \"%s\" (nothing to destroy)\n",
				d->id);
		api_app_done(&d->app, API_EXIT_OK);
		return;
	}
	if (err) {
		destroyed(err, d);
		return;
	}
	d->inf = inf;
	if (!d->json)
		fprintf(stderr, "Start dropping infrastructure %s\n", d->id);
	if (api_infra_destroy(inf, destroyed, d, &e) < 0)
		destroyed(&e, d);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' },
		{ "auth_data_path", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0] };
	struct destroy d = { 0 };
	struct occo_err err;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hi:", opts, NULL)) != -1) {
		if (c == 'i')
			d.id = optarg;
		else if (c == 'C')
			args.cfg_path = optarg;
		else if (c == 'A')
			args.auth_data_path = optarg;
		else if (c == 'J')
			d.json = 1;
		else if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
			return rc;
	}
	if (optind < argc)
		return api_cli_usage_error(PROG, usage, "unrecognized arguments: %s", argv[optind]);
	if (!d.id)
		return api_cli_usage_error(PROG, usage, "the following arguments are required: -i");
	api_cli_json_mode(d.json);
	rc = api_app_open(&d.app, PROG, &args, &err);
	if (rc == 0) {
		rc = api_engine_open(&d.app, &d.e, &err);
		d.e.lean = 1; /* passes only */
		d.e.lenient = 1; /* a record a hand edit broke does not stop the teardown */
	}
	if (rc == 0)
		rc = api_infra_load(&d.e, d.id, loaded, &d, &err);
	rc = api_app_main_loop(&d.app, rc, &err);
	api_infra_close(d.inf);
	api_engine_close(&d.e);
	api_app_release(&d.app);
	return rc;
}
