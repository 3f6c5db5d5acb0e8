/*
 * cli.c - shared pieces of the occopus-* programs.
 */
#include <stdarg.h>
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
