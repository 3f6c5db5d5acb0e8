/*
 * occopus-maintain - keep an infrastructure as its description says (OCCOPUS.md 1.3).
 *
 *   occopus-maintain -i INFRA_ID [-c [-t INTERVAL]]     one pass, or one every INTERVAL s
 *   occopus-maintain -i INFRA_ID -r [-o FILE] [-f FILTER]   report the nodes, their addresses
 *   occopus-maintain -l                                 list the infrastructures
 *
 * A pass replaces failed and vanished instances, applies scaling requests and creates what is
 * missing, level by level. Only the holder of the infrastructure's lease maintains it, so two
 * maintainers never act on one infrastructure; the lease is renewed while held and released on
 * exit. Unlike Occopus, the cyclic mode rides out errors (a cloud or Redis that goes away for a
 * while): it logs them and tries again at the next interval. SIGINT and SIGTERM let a running
 * pass finish, then exit 0.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/api/engine.h"
#include "occo/api/maintainer.h"
#include "occo/infobroker/infra.h"
#include "occo/util/log.h"

#define PROG "occopus-maintain"

static const char usage[] =
	"usage: occopus-maintain [-h] [--version] [--cfg CFG_PATH] [--auth_data_path PATH]\n"
	"                        [-i INFRA_ID] [-l] [-t INTERVAL] [-c] [-r] [--parallelize]\n"
	"                        [-o OUTPUT] [-f FILTER] [--json]\n";

static const char help[] =
	"\n"
	"Maintain an infrastructure: replace failed nodes, apply scaling, create what is missing.\n"
	"\n"
	"options:\n"
	"  -h, --help            show this help message and exit\n"
	"  --version             print the version and exit\n"
	"  --cfg CFG_PATH        path of occopus_config.yaml\n"
	"  --auth_data_path PATH path of auth_data.yaml\n"
	"  -i, --infraid INFRA_ID\n"
	"                        the infrastructure\n"
	"  -l, --list            list the infrastructures\n"
	"  -t, --interval INTERVAL\n"
	"                        seconds between passes with -c (default: 10)\n"
	"  -c, --cyclic          maintain until interrupted\n"
	"  -r, --report          report the nodes and their addresses instead of maintaining\n"
	"  -o, --output OUTPUT   with -r: write the addresses to a file, one line per instance\n"
	"  -f, --filter FILTER   with -r: only nodes whose name contains FILTER\n"
	"  --parallelize         accepted for compatibility (always concurrent)\n"
	"  --json                machine-readable output\n";

struct maintain {
	struct api_app app;
	struct api_engine e;
	struct api_maintainer *mt;
	struct api_infra *inf; /* -r */
	const char *id, *output, *filter;
	int list, cyclic, report, json;
	double interval;
	int stopping, passes, failures;
	uv_signal_t sigint, sigterm;
};

static void closed_handles(struct maintain *m)
{
	uv_close((uv_handle_t *)&m->sigint, NULL);
	uv_close((uv_handle_t *)&m->sigterm, NULL);
}

static void finished(void *ud)
{
	struct maintain *m = ud;

	m->mt = NULL;
	closed_handles(m);
	api_app_done(&m->app, m->failures && !m->cyclic ? API_EXIT_FAILED : API_EXIT_OK);
}

/* Let a running pass finish, give the lease back and end the program. */
static void finish(struct maintain *m)
{
	if (m->mt)
		api_maintainer_close(m->mt, finished, m);
	else
		finished(m);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct maintain *m = s->data;

	if (m->stopping)
		return;
	m->stopping = 1;
	fprintf(stderr, "%s: %s - exiting%s\n", PROG, signum == SIGINT ? "Ctrl+C" : "SIGTERM",
		m->mt && api_maintainer_has(m->mt, m->id) ? " after the running pass" : "");
	finish(m);
}

/*
 * --json: one document per pass, {"ok", "infra_id", "pass", "created", "dropped", "failed",
 * "error"?}; with -c one compact line per pass (JSON Lines).
 */
static void pass_json(struct maintain *m, const struct enact_result *res,
		      const struct occo_err *err)
{
	char msg[OCCO_ERR_MSG_MAX];
	json_t *doc = json_pack("{s:b, s:s, s:i, s:I, s:I, s:I}", "ok", !err, "infra_id", m->id,
				"pass", m->passes, "created", (json_int_t)(res ? res->created : 0),
				"dropped", (json_int_t)(res ? res->dropped : 0), "failed",
				(json_int_t)(res ? res->failed : 0));

	if (err) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		json_object_set_new(doc, "error", json_string(occo_log_redact(msg)));
	}
	if (res && res->failures && json_array_size(res->failures))
		json_object_set(doc, "failures", res->failures);
	if (m->cyclic) {
		json_dumpf(doc, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(doc);
	} else {
		api_cli_json_print(doc);
	}
}

/* After each turn of the maintainer's cycle. */
static void on_pass(const struct api_pass_info *p, void *ud)
{
	struct maintain *m = ud;
	const struct enact_result *res = p->res;
	char c[24], d[24], f[24];

	if (res && (res->created || res->dropped || res->failed)) {
		snprintf(c, sizeof(c), "%zu", res->created);
		snprintf(d, sizeof(d), "%zu", res->dropped);
		snprintf(f, sizeof(f), "%zu", res->failed);
		OCCO_INFO("maintenance pass", OCCO_KV("infra", m->id), OCCO_KV("created", c),
			  OCCO_KV("dropped", d), OCCO_KV("failed", f));
	}
	m->passes++;
	if (m->json)
		pass_json(m, res, p->err);
	if (p->err) {
		m->failures++;
		if (m->cyclic)
			OCCO_ERROR("maintenance pass failed", OCCO_KV("infra", m->id),
				   OCCO_KV("error", p->err->msg));
		else if (!m->json)
			api_app_report(&m->app, p->err);
	}
	if (!m->cyclic && !m->stopping) {
		m->stopping = 1;
		finish(m);
	}
}

static void after_report(struct maintain *m, const struct occo_err *err)
{
	if (err) {
		m->failures++;
		if (m->json)
			api_cli_json_failure(err, NULL);
		else
			api_app_report(&m->app, err);
	}
	api_infra_close(m->inf);
	m->inf = NULL;
	finish(m);
}

/* ---- -r: the report, with the live states ---- */

static void report_write(struct maintain *m)
{
	json_t *rep = api_infra_report_json(m->inf->desc, iproc_infra_records(m->inf->in));
	json_t *nodes = json_object_get(rep, "nodes"), *insts, *inst, *a;
	const char *name, *id;
	FILE *f = stdout;
	size_t i;

	if (m->filter) {
		json_t *kept = json_object();

		json_object_foreach (nodes, name, insts)
			if (strstr(name, m->filter))
				json_object_set(kept, name, insts);
		json_object_set_new(rep, "nodes", kept);
		nodes = kept;
	}
	if (m->json) {
		json_object_set_new(rep, "ok", json_true());
		api_cli_json_print(json_incref(rep));
	} else if (m->output) {
		fprintf(stderr, "Saving list of node addresses to file \"%s\"...\n", m->output);
		f = fopen(m->output, "w");
		if (!f) {
			fprintf(stderr, "%s: cannot write '%s'\n", PROG, m->output);
			m->failures++;
		}
		json_object_foreach (nodes, name, insts) {
			json_object_foreach (insts, id, inst) {
				json_array_foreach (json_object_get(inst, "addresses"), i, a)
					if (f)
						fprintf(f, "%s%s", i ? " " : "",
							json_string_value(a));
				if (f)
					fputc('\n', f);
			}
		}
		if (f)
			fclose(f);
		fprintf(stderr, "Done.\n");
	} else {
		printf("Report list of nodes/instances/addresses:\n");
		json_object_foreach (nodes, name, insts) {
			printf("%s:\n", name);
			json_object_foreach (insts, id, inst) {
				printf("  %s: %s\n", id,
				       json_string_value(json_object_get(inst, "state")));
				json_array_foreach (json_object_get(inst, "addresses"), i, a)
					printf("    %s\n", json_string_value(a));
			}
		}
	}
	json_decref(rep);
}

static void report_refreshed(const struct occo_err *err, void *ud)
{
	struct maintain *m = ud;

	if (!err)
		report_write(m);
	after_report(m, err);
}

static void report_loaded(struct api_infra *inf, const struct occo_err *err, void *ud)
{
	struct maintain *m = ud;
	struct occo_err e;

	if (err) {
		after_report(m, err);
		return;
	}
	m->inf = inf;
	if (iproc_refresh(inf->in, report_refreshed, m, &e) < 0)
		after_report(m, &e);
}

/* ---- -l ---- */

static void listed(json_t *ids, const struct occo_err *err, void *ud)
{
	struct maintain *m = ud;
	json_t *id;
	size_t i;

	if (err) {
		api_app_report(&m->app, err);
		m->failures++;
	} else if (m->json) {
		api_cli_json_print(json_pack("{s:b, s:O}", "ok", 1, "infrastructures", ids));
	} else if (!json_array_size(ids)) {
		printf("No active infrastructure!\n");
	} else {
		printf("List of active infrastructure:\n");
		json_array_foreach (ids, i, id)
			printf("%s\n", json_string_value(id));
	}
	json_decref(ids);
	closed_handles(m);
	api_app_done(&m->app, m->failures ? API_EXIT_FAILED : API_EXIT_OK);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' },
		{ "auth_data_path", required_argument, NULL, 'A' },
		{ "infraid", required_argument, NULL, 'i' },
		{ "list", no_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 't' },
		{ "cyclic", no_argument, NULL, 'c' },
		{ "report", no_argument, NULL, 'r' },
		{ "parallelize", no_argument, NULL, 'P' },
		{ "output", required_argument, NULL, 'o' },
		{ "filter", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0] };
	struct maintain m = { .interval = 10 };
	struct occo_err err;
	char *end;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hi:lt:cro:f:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			m.id = optarg;
			break;
		case 'l':
			m.list = 1;
			break;
		case 't':
			m.interval = strtod(optarg, &end);
			if (*end || !(m.interval > 0) || m.interval > 86400)
				return api_cli_usage_error(
					PROG, usage, "argument -t: invalid interval '%s'", optarg);
			break;
		case 'c':
			m.cyclic = 1;
			break;
		case 'r':
			m.report = 1;
			break;
		case 'o':
			m.output = optarg;
			break;
		case 'f':
			m.filter = optarg;
			break;
		case 'J':
			m.json = 1;
			break;
		case 'C':
			args.cfg_path = optarg;
			break;
		case 'A':
			args.auth_data_path = optarg;
			break;
		case 'P':
			break;
		default:
			if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return api_cli_usage_error(PROG, usage, "unrecognized arguments: %s", argv[optind]);
	if (!m.id && !m.list)
		return api_cli_usage_error(PROG, usage, "no infra_id (-i) specified");
	if (m.id && m.list)
		m.list = 0; /* as Occopus: -l with -i is ignored */

	api_cli_json_mode(m.json);
	rc = api_app_open(&m.app, PROG, &args, &err);
	if (rc == 0) {
		rc = api_engine_open(&m.app, &m.e, &err);
		m.e.lean = 1; /* passes only */
	}
	if (rc < 0) {
		api_app_report(&m.app, &err);
		m.app.rc = API_EXIT_FAILED;
		goto out;
	}
	uv_signal_init(&m.app.loop, &m.sigint);
	uv_signal_init(&m.app.loop, &m.sigterm);
	m.sigint.data = m.sigterm.data = &m;
	uv_signal_start(&m.sigint, on_signal, SIGINT);
	uv_signal_start(&m.sigterm, on_signal, SIGTERM);
	if (m.list)
		rc = ib_infra_list(m.app.redis, m.app.cfg.ns, listed, &m, &err);
	else if (m.report)
		rc = api_infra_load(&m.e, m.id, report_loaded, &m, &err);
	else {
		struct api_maintainer_opts mo = { .interval = m.interval,
						  .on_pass = on_pass,
						  .ud = &m };

		rc = api_maintainer_new(&m.e, &mo, &m.mt, &err);
		if (rc == 0)
			api_maintainer_add(m.mt, m.id);
	}
	if (rc < 0) {
		api_app_report(&m.app, &err);
		closed_handles(&m);
		m.app.rc = API_EXIT_FAILED;
	} else {
		api_app_run(&m.app);
	}
out:
	rc = m.app.rc;
	api_infra_close(m.inf);
	api_engine_close(&m.e);
	api_app_release(&m.app);
	return rc;
}
