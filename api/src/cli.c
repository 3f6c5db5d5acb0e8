/*
 * cli.c - shared pieces of the occopus-* programs.
 */
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>

#include "occo/api/cli.h"
#include "occo/util/version.h"

void api_cli_version(const char *prog)
{
	printf("%s (occopus-c) %s\n", prog, occo_version());
}

int api_cli_usage_error(const char *prog, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s", usage);
	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return API_EXIT_USAGE;
}

int api_cli_common_option(const char *prog, int c, const char *usage, const char *help, char **argv)
{
	switch (c) {
	case 'h':
		printf("%s%s", usage, help);
		return API_EXIT_OK;
	case 'V':
		api_cli_version(prog);
		return API_EXIT_OK;
	case ':':
		return api_cli_usage_error(prog, usage, "argument %s: expected one argument",
					   argv[optind - 1]);
	case '?':
		return api_cli_usage_error(prog, usage, "unrecognized arguments: %s",
					   argv[optind - 1]);
	default:
		return -1;
	}
}

int api_cli_one_positional(const char *prog, const char *usage, const char *name, int argc,
			   char **argv)
{
	if (optind >= argc)
		return api_cli_usage_error(prog, usage, "the following arguments are required: %s",
					   name);
	if (optind + 1 < argc)
		return api_cli_usage_error(prog, usage, "unrecognized arguments: %s",
					   argv[optind + 1]);
	return -1;
}
