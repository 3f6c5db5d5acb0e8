/*
 * occopus-build - deploy an infrastructure described in YAML (OCCOPUS.md 1.2).
 *
 * This version knows its flags and its version; deployment arrives with the engine.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "occo/api/cli.h"

static const char usage[] =
	"usage: occopus-build [-h] [--version] [--cfg CFG_PATH] [--auth_data_path AUTH_DATA_PATH]\n"
	"                     [--parallelize] [-i INFRA_ID] [--json] [--plan] infra_def\n";

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
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hi:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return API_EXIT_OK;
		case 'V':
			api_cli_version("occopus-build");
			return API_EXIT_OK;
		case 'C':
		case 'A':
		case 'P':
		case 'i':
		case 'J':
		case 'p':
			break;
		case ':':
			return api_cli_usage_error("occopus-build", usage,
						   "argument %s: expected one argument",
						   argv[optind - 1]);
		default:
			return api_cli_usage_error("occopus-build", usage,
						   "unrecognized arguments: %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return api_cli_usage_error("occopus-build", usage,
					   "the following arguments are required: infra_def");
	fprintf(stderr, "occopus-build: deployment is not available in occopus-c yet\n");
	return API_EXIT_FAILED;
}
