/*
 * occopus-build - deploy an infrastructure described in YAML (OCCOPUS.md 1.2).
 *
 *   occopus-build [--cfg CFG_PATH] [--auth_data_path PATH] [--parallelize] [-i INFRA_ID]
 *                 [--plan] [--json] infra_def
 *
 * The description is compiled first; every problem of the file is reported with its position
 * and the exit code is 1. --plan prints what a build would create, level by level, and changes
 * nothing. Otherwise the description is stored and one pass creates the nodes level by level;
 * the report of Occopus follows, and the infrastructure id is the last line on stdout.
 *
 * When instances fail, those are dropped and the rest is kept (the exit code is 1 and the
 * cloud's own message is printed); --rollback tears the whole infrastructure down instead, as
 * Occopus does. With -i an existing infrastructure is updated (or created with that id).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/api/engine.h"
#include "occo/infobroker/infra.h"
#include "occo/api/infra.h"
#include "occo/util/alloc.h"

#define PROG "occopus-build"

static const char usage[] =
	"usage: occopus-build [-h] [--version] [--cfg CFG_PATH] [--auth_data_path AUTH_DATA_PATH]\n"
	"                     [--parallelize] [-i INFRA_ID] [--plan] [--rollback] [--json]\n"
	"                     infra_def\n";

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
	"  --rollback            on failure, tear the whole infrastructure down\n"
	"  --json                machine-readable output\n";

struct build {
	struct api_app app;
	struct api_engine e;
	struct api_infra *inf;
	json_t *desc; /* compiled; handed to the engine once stored */
	char *id;
	int update, rollback, json;
	int failed;
	struct occo_err err;
	json_t *failures;
	json_t *rollback_error; /* --json: why --rollback could not finish */
};

static const char *infra_id_of(const struct build *b)
{
	return b->id;
}

static void finish(struct build *b)
{
	const struct ib_records *records = b->inf ? iproc_infra_records(b->inf->in) : NULL;
	const json_t *desc = b->inf ? b->inf->desc : b->desc;
	int torn_down = b->failed && b->rollback;

	if (b->json) {
		json_t *rep = api_infra_report_json(desc, torn_down ? NULL : records);

		json_object_set_new(rep, "ok", json_boolean(!b->failed));
		if (b->failed)
			json_object_set_new(rep, "error", json_string(b->err.msg));
		if (b->failures)
			json_object_set(rep, "failures", b->failures);
		if (b->rollback)
			json_object_set_new(rep, "rolled_back", json_boolean(torn_down));
		if (b->rollback_error)
			json_object_set_new(rep, "rollback_error", b->rollback_error);
		b->rollback_error = NULL;
		api_cli_json_print(rep);
	} else {
		if (records && !torn_down)
			api_infra_report(desc, records, stdout);
		if (b->failed)
			api_app_report(&b->app, &b->err);
		if (!torn_down)
			printf("%s\n", infra_id_of(b));
	}
	api_infra_close(b->inf);
	b->inf = NULL;
	json_decref(b->failures);
	b->failures = NULL;
	api_app_done(&b->app, b->failed ? API_EXIT_FAILED : API_EXIT_OK);
}

static void fail(struct build *b, const struct occo_err *err)
{
	b->failed = 1;
	occo_err_copy(&b->err, err);
	finish(b);
}

/* --rollback: drop every instance, then the infrastructure's keys. */
static void rolled_back(const struct occo_err *err, void *ud)
{
	struct build *b = ud;

	if (err && b->json)
		b->rollback_error = json_string(err->msg);
	else if (err)
		api_app_report(&b->app, err);
	else if (!b->json)
		fprintf(stderr, "%s: the partially built infrastructure has been torn down\n",
			PROG);
	finish(b);
}

static void rollback(struct build *b)
{
	struct occo_err e;

	if (api_infra_destroy(b->inf, rolled_back, b, &e) < 0)
		rolled_back(&e, b);
}

static void progress(size_t level, size_t created, size_t failed, void *ud)
{
	struct build *b = ud;

	if (!b->json && isatty(2))
		fprintf(stderr, "level %zu: %zu created, %zu failed\n", level, created, failed);
}

static void passed(const struct enact_result *res, const struct occo_err *err, void *ud)
{
	struct build *b = ud;

	if (!err) {
		finish(b);
		return;
	}
	b->failed = 1;
	occo_err_copy(&b->err, err);
	b->failures = json_incref(res->failures);
	if (b->rollback) {
		fprintf(stderr, "%s: %s; tearing the infrastructure down\n", PROG, err->msg);
		rollback(b);
	} else {
		finish(b);
	}
}

static void loaded(struct api_infra *inf, const struct occo_err *err, void *ud)
{
	struct build *b = ud;
	struct enact_pass_opts o = { .mode = ENACT_BUILD,
				     .progress = progress,
				     .progress_ud = b,
				     .max_failed_share = b->e.max_failed_share };
	struct occo_err e;

	if (err) {
		fail(b, err);
		return;
	}
	b->inf = inf;
	json_decref(b->desc); /* the engine holds it now */
	b->desc = NULL;
	if (enact_pass(&inf->ops, inf->desc, inf->scaling, b->e.batch, &o, passed, b, &e) < 0)
		fail(b, &e);
}

static void stored(const struct occo_err *err, void *ud)
{
	struct build *b = ud;
	struct occo_err e;

	if (err) {
		fail(b, err);
		return;
	}
	fprintf(stderr, "%s infrastructure: '%s'\n", b->update ? "Updating" : "Submitted",
		infra_id_of(b));
	if (api_infra_load_desc(&b->e, infra_id_of(b), b->desc, loaded, b, &e) < 0)
		fail(b, &e);
}

static void existed(int exists, const struct occo_err *err, void *ud)
{
	struct build *b = ud;
	struct occo_err e;
	int rc;

	if (err) {
		fail(b, err);
		return;
	}
	b->update = exists;
	if (exists)
		rc = ib_infra_update_desc(b->app.redis, b->app.cfg.ns, infra_id_of(b), b->desc,
					  stored, b, &e);
	else
		rc = ib_infra_add(b->app.redis, b->app.cfg.ns, infra_id_of(b), b->desc, stored, b,
				  &e);
	if (rc < 0)
		fail(b, &e);
}

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
		{ "rollback", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0] };
	struct build b = { 0 };
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
		case 'R':
			b.rollback = 1;
			break;
		case 'C':
			args.cfg_path = optarg;
			break;
		case 'A':
			args.auth_data_path = optarg;
			break;
		case 'P': /* nodes of a level are always created concurrently */
			break;
		default:
			if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
				return rc;
		}
	}
	if ((rc = api_cli_one_positional(PROG, usage, "infra_def", argc, argv)) >= 0)
		return rc;

	api_cli_json_mode(json);
	comp_diags_init(&diags);
	rc = api_infra_compile_file(argv[optind], infra_id, &diags, &desc, &err);
	if (json && (rc < 0 || diags.n)) {
		if (rc < 0)
			api_cli_json_failure(diags.nerrors ? NULL : &err, &diags);
	} else {
		comp_diags_print(&diags, stderr);
		if (rc < 0 && !diags.nerrors)
			fprintf(stderr, "%s: %s\n", PROG, err.msg);
	}
	comp_diags_release(&diags);
	if (rc < 0)
		return API_EXIT_FAILED;
	if (plan) {
		json_t *p = api_infra_plan(desc);

		if (json) {
			json_object_set_new(p, "ok", json_true());
			api_cli_json_print(p);
		} else {
			api_infra_plan_print(p, stdout);
			json_decref(p);
		}
		json_decref(desc);
		return API_EXIT_OK;
	}
	b.json = json;
	b.desc = desc;
	b.id = occo_strdup(json_string_value(json_object_get(desc, "infra_id")));
	rc = api_app_open(&b.app, PROG, &args, &err);
	if (rc == 0) {
		rc = api_engine_open(&b.app, &b.e, &err);
		b.e.lean = 1; /* passes only */
	}
	if (rc == 0)
		rc = ib_infra_exists(b.app.redis, b.app.cfg.ns, infra_id_of(&b), existed, &b, &err);
	rc = api_app_main_loop(&b.app, rc, &err);
	api_engine_close(&b.e);
	api_app_release(&b.app);
	json_decref(b.desc);
	free(b.id);
	return rc;
}
