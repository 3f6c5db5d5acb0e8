/*
 * occopus-build - deploy an infrastructure described in YAML (OCCOPUS.md 1.2).
 *
 *   occopus-build [--cfg CFG_PATH] [--auth_data_path PATH] [--parallelize] [-i INFRA_ID]
 *                 [--plan] [--json] infra_def
 *
 * The description is compiled first; every problem of the file is reported with its position
 * and the exit code is 1. --plan prints what a build would create, level by level, and changes
 * nothing. The deployment itself arrives with the engine.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/cli.h"
#include "occo/api/infra.h"
#include "occo/util/version.h"

#define PROG "occopus-build"

static const char usage[] =
	"usage: occopus-build [-h] [--version] [--cfg CFG_PATH] [--auth_data_path AUTH_DATA_PATH]\n"
	"                     [--parallelize] [-i INFRA_ID] [--plan] [--json] infra_def\n";

static const char help[] =
	"\n"
	"Deploy an infrastructure.\n"
	"\n"
	"positional arguments:\n"
	"  infra_def             infrastructure description (YAML)\n"
	"\n"
	"options:\n"
	"  -h, --help            show this help message and exit\n"
	"  --version             print the version and exit\n"
	"  --cfg CFG_PATH        path of occopus_config.yaml\n"
	"  --auth_data_path AUTH_DATA_PATH\n"
	"                        path of auth_data.yaml\n"
	"  --parallelize         accepted for compatibility: nodes of a level are always\n"
	"                        created concurrently\n"
	"  -i, --infra_id INFRA_ID\n"
	"                        update the infrastructure with this id (or create it)\n"
	"  --plan                print what would be created, level by level; change nothing\n"
	"  --json                machine-readable output\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' },
		{ "auth_data_path", required_argument, NULL, 'A' },
		{ "parallelize", no_argument, NULL, 'P' },
		{ "infra_id", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'J' },
		{ "plan", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *infra_id = NULL;
	int c, plan = 0, json = 0, rc;
	struct comp_diags diags;
	struct occo_err err;
	json_t *desc = NULL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (strlen(optarg) > 64)
				return api_cli_usage_error(
					PROG, usage, "argument -i: infrastructure id too long");
			infra_id = optarg;
			break;
		case 'p':
			plan = 1;
			break;
		case 'J':
			json = 1;
			break;
		case 'C': /* the configuration is read when the engine needs it */
		case 'A':
		case 'P':
			break;
		default:
			if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
				return rc;
		}
	}
	if ((rc = api_cli_one_positional(PROG, usage, "infra_def", argc, argv)) >= 0)
		return rc;

	comp_diags_init(&diags);
	rc = api_infra_compile_file(argv[optind], infra_id, &diags, &desc, &err);
	comp_diags_print(&diags, stderr);
	if (rc < 0 && !diags.nerrors)
		fprintf(stderr, "%s: %s\n", PROG, err.msg);
	comp_diags_release(&diags);
	if (rc < 0)
		return API_EXIT_FAILED;
	if (plan) {
		json_t *p = api_infra_plan(desc);

		if (json) {
			json_dumpf(p, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			fputc('\n', stdout);
		} else {
			api_infra_plan_print(p, stdout);
		}
		json_decref(p);
		json_decref(desc);
		return API_EXIT_OK;
	}
	json_decref(desc);
	fprintf(stderr,
		"%s: the description is valid, but deployment is not available in "
		"occopus-c %s yet (try --plan)\n",
		PROG, occo_version());
	return API_EXIT_FAILED;
}
