/*
 * cli.c - shared pieces of the occopus-* programs.
 */
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>

#include "occo/api/cli.h"
#include "occo/util/log.h"
#include "occo/util/version.h"

static int json_mode;

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

void api_cli_json_mode(int on)
{
	json_mode = on;
}

int api_cli_json(void)
{
	return json_mode;
}

void api_cli_json_print(json_t *doc)
{
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(doc);
}

void api_cli_json_failure(const struct occo_err *err, const struct comp_diags *diags)
{
	char msg[OCCO_ERR_MSG_MAX];
	json_t *doc = json_pack("{s:b}", "ok", 0);

	if (err) {
		snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg : occo_code_str(err->code));
		json_object_set_new(doc, "error", json_string(occo_log_redact(msg)));
	} else if (diags && diags->nerrors) {
		json_object_set_new(doc, "error",
				    json_sprintf("%zu error%s in the input", diags->nerrors,
						 diags->nerrors == 1 ? "" : "s"));
	}
	if (diags && diags->n)
		json_object_set_new(doc, "diagnostics", comp_diags_json(diags));
	api_cli_json_print(doc);
}
