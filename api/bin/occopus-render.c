/*
 * occopus-render - render a template (a cloud-init file, a node definition string) the way a
 * build would, to check it before deploying anything.
 *
 *   occopus-render [--cfg CFG_PATH] [--context FILE] TEMPLATE
 *
 * cmd() works only when occopus_config.yaml sets templates.allow_cmd: true.
 *
 * The context (YAML or JSON) holds the names the template uses (infra_id, node_id, variables,
 * ...). Its `nodes:` key says what getip() and friends answer:
 *
 *   nodes:
 *     db: 10.0.0.5                              one instance, one address
 *     web: [10.0.0.6, 10.0.0.7]                 two instances
 *     lb: {ip: 203.0.113.1, privip: 10.0.0.1}   one instance with a private address
 *     workers: [{ip: 10.0.0.8}, {ip: [10.0.0.9, 192.0.2.9], privip: 10.1.0.9}]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/cli.h"
#include "occo/infraprocessor/helpers.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/config.h"
#include "occo/util/template.h"
#include "occo/util/yaml.h"

#define PROG "occopus-render"
#define MAX_TEMPLATE (16u << 20)
#define MAX_OUTPUT (64u << 20)
#define CMD_TIMEOUT_MS 30000

static const char usage[] =
	"usage: occopus-render [-h] [--version] [--cfg CFG_PATH] [--context FILE] TEMPLATE\n";

static const char help[] =
	"\n"
	"Render a template as a build would, and print the result.\n"
	"\n"
	"positional arguments:\n"
	"  TEMPLATE        the template file (e.g. a cloud-init file)\n"
	"\n"
	"options:\n"
	"  -h, --help      show this help message and exit\n"
	"  --version       print the version and exit\n"
	"  --cfg CFG_PATH  path of occopus_config.yaml (templates.allow_cmd enables cmd())\n"
	"  --context FILE  YAML or JSON with the template's names; its 'nodes' map says what\n"
	"                  getip(), getprivip() and getipall() answer\n";

/* One instance of the context's `nodes:` in the helpers' form. */
static json_t *instance_view(const json_t *v)
{
	const json_t *ip = v, *priv = NULL;
	json_t *inst = json_object(), *addrs;

	if (json_is_object(v)) {
		ip = json_object_get(v, "ip");
		priv = json_object_get(v, "privip");
	}
	addrs = json_is_array(ip) ? json_deep_copy(ip) : json_array();
	if (json_is_string(ip))
		json_array_append(addrs, (json_t *)ip);
	json_object_set_new(inst, "addresses", addrs);
	if (json_is_string(priv))
		json_object_set(inst, "private", (json_t *)priv);
	return inst;
}

static json_t *nodes_view(const json_t *nodes)
{
	json_t *view = json_object(), *v, *e;
	const char *name;
	size_t i;

	json_object_foreach ((json_t *)nodes, name, v) {
		json_t *list = json_array();

		if (json_is_array(v))
			json_array_foreach (v, i, e)
				json_array_append_new(list, instance_view(e));
		else
			json_array_append_new(list, instance_view(v));
		json_object_set_new(view, name, list);
	}
	return view;
}

static int read_file(const char *path, struct occo_buf *b, struct occo_err *err)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	if (!f)
		return occo_err_sys(err, OCCO_EIO, errno, "cannot open '%s'", path);
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = occo_buf_append(b, chunk, n, err);
	fclose(f);
	if (rc < 0)
		return occo_err_prefix(err, "%s", path);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "context", required_argument, NULL, 'c' },
		{ "cfg", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct occo_config_args args = { .argv0 = argv[0], .no_auth = 1 };
	const char *context_path = NULL;
	struct occo_config cfg;
	struct occo_ydoc *doc = NULL;
	struct iproc_helpers helpers;
	struct occo_buf text, out;
	struct occo_err err;
	json_t *ctx, *view;
	int c, rc, allow_cmd;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'c')
			context_path = optarg;
		else if (c == 'C')
			args.cfg_path = optarg;
		else if ((rc = api_cli_common_option(PROG, c, usage, help, argv)) >= 0)
			return rc;
	}
	if ((rc = api_cli_one_positional(PROG, usage, "TEMPLATE", argc, argv)) >= 0)
		return rc;

	rc = occo_config_load(&cfg, &args, &err);
	allow_cmd = cfg.allow_cmd;
	occo_config_release(&cfg);
	if (rc < 0)
		goto fail;
	if (context_path) {
		if (occo_yaml_load_file(context_path, NULL, &doc, &err) < 0)
			goto fail;
		if (!json_is_object(occo_ydoc_root(doc)) && !json_is_null(occo_ydoc_root(doc))) {
			occo_yaml_err(&err, occo_ydoc_mark(doc, occo_ydoc_root(doc)), OCCO_EINVAL,
				      "the context must be a mapping of names");
			goto fail;
		}
	}
	ctx = doc && json_is_object(occo_ydoc_root(doc)) ? json_deep_copy(occo_ydoc_root(doc))
							 : json_object();
	view = nodes_view(json_object_get(ctx, "nodes"));
	json_object_del(ctx, "nodes");
	iproc_helpers_init(&helpers, view);
	if (allow_cmd)
		iproc_helpers_allow_cmd(&helpers, CMD_TIMEOUT_MS, MAX_OUTPUT);

	occo_buf_init(&text, MAX_TEMPLATE);
	occo_buf_init(&out, MAX_OUTPUT);
	rc = read_file(argv[optind], &text, &err);
	if (rc == 0)
		rc = occo_tmpl_render_string(argv[optind], occo_buf_str(&text), ctx,
					     iproc_helpers_env(&helpers), &out, &err);
	if (rc == 0)
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	occo_buf_release(&text);
	occo_buf_release(&out);
	json_decref(view);
	json_decref(ctx);
	occo_ydoc_free(doc);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err.msg);
		return API_EXIT_FAILED;
	}
	return API_EXIT_OK;
fail:
	fprintf(stderr, "%s: %s\n", PROG, err.msg);
	occo_ydoc_free(doc);
	return API_EXIT_FAILED;
}
