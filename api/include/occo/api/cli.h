/*
 * cli.h - what every occopus-* program shares: --version, usage errors, exit codes.
 *
 * Exit codes of every program: 0 done, 1 failed, 2 usage.
 */
#ifndef OCCO_API_CLI_H
#define OCCO_API_CLI_H

#include <jansson.h>

#include "occo/compiler/diag.h"
#include "occo/util/err.h"

enum api_exit {
	API_EXIT_OK = 0,
	API_EXIT_FAILED = 1,
	API_EXIT_USAGE = 2,
};

/* Print "<prog> (occopus-c) <version>" on stdout. */
void api_cli_version(const char *prog);

/*
 * Report a usage error as argparse does: the usage line, then "<prog>: error: <message>", on
 * stderr. Returns API_EXIT_USAGE.
 */
int api_cli_usage_error(const char *prog, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The cases every program's getopt_long loop shares, for option codes 'h' (help), 'V'
 * (--version), ':' (missing argument) and anything unknown. Returns -1 when `c` is none of
 * these (the program handles it), else the exit code to return now. Call getopt_long with a
 * leading ':' in its short options and opterr = 0.
 */
int api_cli_common_option(const char *prog, int c, const char *usage, const char *help,
			  char **argv);

/*
 * Check that exactly one positional argument (named `name` in messages) follows the options.
 * Returns -1 when it does, else the usage error's exit code.
 */
int api_cli_one_positional(const char *prog, const char *usage, const char *name, int argc,
			   char **argv);

/*
 * --json: the program writes exactly one JSON document on stdout, {"ok": true, ...} or
 * {"ok": false, "error": "<message>", ...}, whatever happens (usage errors excepted: those stay
 * argparse's text and exit 2). The mode is process-wide; api_app_report() follows it.
 */
void api_cli_json_mode(int on);
int api_cli_json(void);

/* Write `doc` (taken) on stdout, indented, with a newline. */
void api_cli_json_print(json_t *doc);

/*
 * The failure document {"ok": false, "error": msg, "diagnostics": [...]}, printed. `err` (its
 * message redacted of secrets) and `diags` may be NULL; errors of diags are the message then.
 */
void api_cli_json_failure(const struct occo_err *err, const struct comp_diags *diags);

#endif
