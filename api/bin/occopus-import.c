/*
 * occopus-import - check node definitions and store them in the state store (OCCOPUS.md 1.1).
 *
 *   occopus-import [--cfg CFG_PATH] [--check] datafile
 *
 * Prints "Successfully imported nodes: a, b" as Occopus does (integrators grep for it). Unlike
 * Occopus it exits 1 on any error, schema errors included, and reports every problem of the
 * file with its position. --check validates without storing or needing Redis.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/api/nodedefs.h"
#include "occo/infobroker/store.h"

#define PROG "occopus-import"

static const char usage[] = "usage: occopus-import [-h] [--version] [--cfg CFG_PATH] [--check] "
			    "[--json] datafile\n";

static const char help[] = "\n"
			   "Check node definitions and store them in the state store.\n"
			   "\n"
			   "positional arguments:\n"
			   "  datafile         node definition file ('node_def:<type>': [...])\n"
			   "\n"
			   "options:\n"
			   "  -h, --help       show this help message and exit\n"
			   "  --version        print the version and exit\n"
			   "  --cfg CFG_PATH   path of occopus_config.yaml\n"
			   "  --check          only check the file: store nothing, need no Redis\n"
			   "  --json           machine-readable output\n";

struct import {
	struct api_app app;
	char *names;
	json_t *types; /* --json: the types, in file order */
	json_t *warnings; /* --json: the diagnostics of a valid file */
};

/* --json: {"ok": true, "node_types": [...], "stored": bool, "diagnostics"?: [warnings]} */
static void print_json(const struct import *im, int stored)
{
	json_t *doc =
		json_pack("{s:b, s:O, s:b}", "ok", 1, "node_types", im->types, "stored", stored);

	if (im->warnings)
		json_object_set(doc, "diagnostics", im->warnings);
	api_cli_json_print(doc);
}

static void stored(const struct occo_err *err, void *ud)
{
	struct import *im = ud;

	if (err) {
		api_app_report(&im->app, err);
		api_app_done(&im->app, API_EXIT_FAILED);
		return;
	}
	if (im->types)
		print_json(im, 1);
	else
		printf("Successfully imported nodes: %s\n", im->names);
	api_app_done(&im->app, API_EXIT_OK);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },	 { "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' }, { "check", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'J' },	 { NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0], .no_auth = 1 };
	struct import im = { 0 };
	struct comp_diags diags;
	struct occo_err err;
	json_t *defs = NULL;
	int c, check_only = 0, json = 0, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'C')
			args.cfg_path = optarg;
		else if (c == 'k')
			check_only = 1;
		else if (c == 'J')
			json = 1;
		else if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
			return rc;
	}
	if ((rc = api_cli_one_positional(PROG, usage, "datafile", argc, argv)) >= 0)
		return rc;

	api_cli_json_mode(json);
	comp_diags_init(&diags);
	rc = api_nodedefs_check_file(argv[optind], &diags, &defs, &err);
	if (json && rc < 0) {
		api_cli_json_failure(diags.nerrors ? NULL : &err, &diags);
	} else if (!json) {
		comp_diags_print(&diags, stderr);
		if (rc < 0 && !diags.nerrors) /* the file itself could not be read */
			fprintf(stderr, "%s: %s\n", PROG, err.msg);
	}
	if (rc < 0) {
		comp_diags_release(&diags);
		if (!json)
			fprintf(stderr, "%s: nothing was imported\n", PROG);
		return API_EXIT_FAILED;
	}
	if (json) {
		const char *type;
		json_t *v;

		im.types = json_array();
		json_object_foreach (defs, type, v)
			json_array_append_new(im.types, json_string(type));
		if (diags.n)
			im.warnings = comp_diags_json(&diags);
	}
	comp_diags_release(&diags);
	im.names = api_nodedefs_names(defs);
	if (check_only) {
		if (json)
			print_json(&im, 0);
		else
			printf("Node definitions are valid: %s\n", im.names);
		free(im.names);
		json_decref(im.types);
		json_decref(im.warnings);
		json_decref(defs);
		return API_EXIT_OK;
	}
	rc = api_app_open(&im.app, PROG, &args, &err);
	if (rc == 0)
		rc = ib_nodedefs_put(im.app.redis, im.app.cfg.ns, defs, stored, &im, &err);
	rc = api_app_main_loop(&im.app, rc, &err);
	api_app_release(&im.app);
	free(im.names);
	json_decref(im.types);
	json_decref(im.warnings);
	json_decref(defs);
	return rc;
}
