/*
 * occopus-scale - ask for more or fewer instances of a node (OCCOPUS.md 1.4).
 *
 *   occopus-scale -i INFRA_ID -n NODE (-c N | -s N | -f FILTER)
 *
 * Only records requests; the next maintenance pass (occopus-maintain, the REST service)
 * applies them within the node's min and max. -c N adds N instances (N < 0 removes |N|, the
 * youngest first), -s N sets the target, -f removes the instance with that node id or address.
 * Unlike Occopus, the infrastructure and the node must exist, and a zero or negative value
 * where none makes sense is a usage error (exit 2), not a silent success.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/app.h"
#include "occo/api/cli.h"
#include "occo/infobroker/infra.h"
#include "occo/infobroker/scaling.h"

#define PROG "occopus-scale"

static const char usage[] =
	"usage: occopus-scale [-h] [--version] [--cfg CFG_PATH] [--auth_data_path AUTH_DATA_PATH]\n"
	"                     -i INFRA_ID -n NODE [-c CHANGESCALE] [-s SETSCALE] [-f FILTER]\n"
	"                     [--json]\n";

static const char help[] =
	"\n"
	"Ask for more or fewer instances of a node; the next maintenance pass applies it.\n"
	"\n"
	"options:\n"
	"  -h, --help            show this help message and exit\n"
	"  --version             print the version and exit\n"
	"  --cfg CFG_PATH        path of occopus_config.yaml\n"
	"  -i, --infraid INFRA_ID\n"
	"  -n, --node NODE       the node's name in the infrastructure\n"
	"  -c, --changescale N   add N instances (negative: remove)\n"
	"  -s, --setscale N      set the number of instances\n"
	"  -f, --filter FILTER   remove the instance with this node id or address\n"
	"  --json                machine-readable output\n";

struct scale {
	struct api_app app;
	const char *id, *node, *filter;
	long change, set;
	int have_c, have_s, json;
};

static void recorded(const struct occo_err *err, void *ud)
{
	struct scale *s = ud;

	if (err) {
		api_app_report(&s->app, err);
		api_app_done(&s->app, API_EXIT_FAILED);
		return;
	}
	if (s->json) {
		json_t *doc =
			json_pack("{s:b, s:s, s:s}", "ok", 1, "infra_id", s->id, "node", s->node);

		if (s->have_c)
			json_object_set_new(doc, "change", json_integer(s->change));
		else if (s->have_s)
			json_object_set_new(doc, "target", json_integer(s->set));
		else
			json_object_set_new(doc, "filter", json_string(s->filter));
		api_cli_json_print(doc);
	}
	api_app_done(&s->app, API_EXIT_OK);
}

static void snapshot(struct ib_snapshot *snap, const struct occo_err *err, void *ud)
{
	struct scale *s = ud;
	struct occo_err e;
	const json_t *n;
	size_t i;
	int found = 0, rc;

	if (err) {
		recorded(err, s);
		return;
	}
	json_array_foreach (json_object_get(snap->desc, "nodes"), i, n)
		found |= !strcmp(json_string_value(json_object_get(n, "name")), s->node);
	ib_snapshot_free(snap);
	if (!found) {
		occo_err_set(&e, OCCO_ENOENT, "node '%s' does not exist in infrastructure '%s'",
			     s->node, s->id);
		recorded(&e, s);
		return;
	}
	if (s->have_c && s->change > 0) {
		if (!s->json)
			printf("Scaling up node '%s' with %ld instances...\n", s->node, s->change);
		rc = ib_scaling_request_create(s->app.redis, s->app.cfg.ns, s->id, s->node,
					       (int)s->change, recorded, s, &e);
	} else if (s->have_c) {
		if (!s->json)
			printf("Scaling down node '%s' with %ld instances...\n", s->node,
			       -s->change);
		rc = ib_scaling_request_destroy(s->app.redis, s->app.cfg.ns, s->id, s->node,
						(int)-s->change, recorded, s, &e);
	} else if (s->have_s) {
		if (!s->json)
			printf("Scaling node '%s' to %ld instances...\n", s->node, s->set);
		rc = ib_scaling_set_target(s->app.redis, s->app.cfg.ns, s->id, s->node, (int)s->set,
					   recorded, s, &e);
	} else {
		if (!s->json)
			printf("Scaling down instance(s) of node '%s' filtered by '%s'...\n",
			       s->node, s->filter);
		rc = ib_scaling_request_destroy_node(s->app.redis, s->app.cfg.ns, s->id, s->node,
						     s->filter, recorded, s, &e);
	}
	if (rc < 0)
		recorded(&e, s);
}

static int parse_long(const char *s, long *out)
{
	char *end;

	*out = strtol(s, &end, 10);
	return *s && !*end && *out > -IB_SCALING_MAX_REQUESTS && *out < IB_SCALING_MAX_REQUESTS;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "cfg", required_argument, NULL, 'C' },
		{ "auth_data_path", required_argument, NULL, 'A' },
		{ "infraid", required_argument, NULL, 'i' },
		{ "node", required_argument, NULL, 'n' },
		{ "changescale", required_argument, NULL, 'c' },
		{ "setscale", required_argument, NULL, 's' },
		{ "filter", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0], .no_auth = 1 };
	struct scale s = { 0 };
	struct occo_err err;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hi:n:c:s:f:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			s.id = optarg;
			break;
		case 'n':
			s.node = optarg;
			break;
		case 'c':
			if (!parse_long(optarg, &s.change) || s.change == 0)
				return api_cli_usage_error(PROG, usage,
							   "argument -c: a non-zero integer is "
							   "needed, not '%s'",
							   optarg);
			s.have_c = 1;
			break;
		case 's':
			if (!parse_long(optarg, &s.set) || s.set < 1)
				return api_cli_usage_error(PROG, usage,
							   "argument -s: a positive integer is "
							   "needed, not '%s'",
							   optarg);
			s.have_s = 1;
			break;
		case 'f':
			s.filter = optarg;
			break;
		case 'C':
			args.cfg_path = optarg;
			break;
		case 'A':
			break;
		case 'J':
			s.json = 1;
			break;
		default:
			if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return api_cli_usage_error(PROG, usage, "unrecognized arguments: %s", argv[optind]);
	if (!s.id || !s.node)
		return api_cli_usage_error(PROG, usage,
					   "the following arguments are required: -i, -n");
	if (s.have_c + s.have_s + !!s.filter > 1)
		return api_cli_usage_error(PROG, usage,
					   "too many arguments: only one of -c, -s and -f");
	if (s.have_c + s.have_s + !!s.filter == 0)
		return api_cli_usage_error(PROG, usage,
					   "too few arguments: at least -c, -s or -f must be "
					   "specified");
	api_cli_json_mode(s.json);
	rc = api_app_open(&s.app, PROG, &args, &err);
	if (rc == 0)
		rc = ib_snapshot_load(s.app.redis, s.app.cfg.ns, s.id, snapshot, &s, &err);
	rc = api_app_main_loop(&s.app, rc, &err);
	api_app_release(&s.app);
	return rc;
}
