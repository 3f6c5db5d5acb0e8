/*
 * occopus-info - ask the info broker one of Occopus's information keys (OCCOPUS.md 7.1; the
 * keys are listed in occo/api/info.h), as the REST service's /info/<key> does.
 *
 *   occopus-info [--cfg CFG_PATH] [--auth_data_path PATH] KEY [NAME=VALUE ...]
 *   occopus-info --keys
 *
 * The answer is printed as JSON on stdout. An unknown key, a missing argument, an unknown
 * infrastructure or node: a message on stderr and exit 1 (with --json: {"ok": false, ...}).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/api/engine.h"
#include "occo/api/info.h"

#define PROG "occopus-info"

static const char usage[] = "usage: occopus-info [-h] [--version] [--cfg CFG_PATH] "
			    "[--auth_data_path AUTH_DATA_PATH]\n"
			    "                    [--json] [--keys] KEY [NAME=VALUE ...]\n";

static const char help[] =
	"\n"
	"Print the answer of an information key as JSON.\n"
	"\n"
	"positional arguments:\n"
	"  KEY                   e.g. infrastructure.state, node.resource.address\n"
	"  NAME=VALUE            its arguments, e.g. infra_id=... node_id=...\n"
	"\n"
	"options:\n"
	"  -h, --help            show this help message and exit\n"
	"  --version             print the version and exit\n"
	"  --cfg CFG_PATH        path of occopus_config.yaml\n"
	"  --auth_data_path AUTH_DATA_PATH\n"
	"                        path of auth_data.yaml\n"
	"  --keys                list the keys and exit\n"
	"  --json                wrap the answer: {\"ok\": true, \"key\": ..., \"value\": ...}\n";

struct info {
	struct api_app app;
	struct api_engine e;
	const char *key;
	int json;
};

static void answered(json_t *value, const struct occo_err *err, void *ud)
{
	struct info *in = ud;

	if (err) {
		api_app_report(&in->app, err);
		api_app_done(&in->app, API_EXIT_FAILED);
		return;
	}
	if (in->json)
		api_cli_json_print(
			json_pack("{s:b, s:s, s:o}", "ok", 1, "key", in->key, "value", value));
	else
		api_cli_json_print(value);
	api_app_done(&in->app, API_EXIT_OK);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' },
		{ "auth_data_path", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'J' },
		{ "keys", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0] };
	const char *const *k;
	struct info in = { 0 };
	struct occo_err err;
	json_t *kv;
	int c, rc, i;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'C') {
			args.cfg_path = optarg;
		} else if (c == 'A') {
			args.auth_data_path = optarg;
		} else if (c == 'J') {
			in.json = 1;
		} else if (c == 'K') {
			for (k = api_info_keys(); *k; k++)
				printf("%s\n", *k);
			return API_EXIT_OK;
		} else if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0) {
			return rc;
		}
	}
	if (optind >= argc)
		return api_cli_usage_error(PROG, usage,
					   "the following arguments are required: KEY");
	in.key = argv[optind];
	kv = json_object();
	for (i = optind + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');

		if (!eq || eq == argv[i]) {
			json_decref(kv);
			return api_cli_usage_error(PROG, usage,
						   "argument '%s': NAME=VALUE is needed", argv[i]);
		}
		json_object_setn_new(kv, argv[i], (size_t)(eq - argv[i]), json_string(eq + 1));
	}
	api_cli_json_mode(in.json);
	rc = api_app_open(&in.app, PROG, &args, &err);
	if (rc == 0)
		rc = api_engine_open(&in.app, &in.e, &err);
	if (rc == 0)
		rc = api_info_get(&in.e, in.key, kv, answered, &in, &err);
	rc = api_app_main_loop(&in.app, rc, &err);
	json_decref(kv);
	api_engine_close(&in.e);
	api_app_release(&in.app);
	return rc;
}
