/*
 * test_import.c - occopus-import as a user runs it, against a real redis-server: what it
 * prints, its exit codes, what it stores and what it leaves alone.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"

/* The programs log at the default level: what the user sees. */
static char *const env_info[] = { "OCCOPUS_LOG_LEVEL=info", NULL };

static int setup(void **state)
{
	struct occo_test_progs *f = occo_calloc(1, sizeof(*f));

	if (occo_test_progs_setup(f, "home", env_info) < 0)
		return -1;
	*state = f;
	return 0;
}

static json_t *stored(struct occo_test_progs *f, const char *type)
{
	redisReply *r = redisCommand(f->rc, "GET occo:nodedef:%s", type);
	json_t *v = NULL;

	if (r && r->type == REDIS_REPLY_STRING)
		v = json_loadb(r->str, r->len, 0, NULL);
	freeReplyObject(r);
	return v;
}

static long long nkeys(struct occo_test_progs *f)
{
	redisReply *r = redisCommand(f->rc, "DBSIZE");
	long long n = r ? r->integer : -1;

	freeReplyObject(r);
	return n;
}

static void test_import__stores_and_prints_as_occopus(void **state)
{
	struct occo_test_progs *f = *state;
	char *path, *out, *err;
	json_t *defs;

	if (!occo_test_have_shared())
		skip();
	path = occo_test_shared_path("occopus-tutorials/docker-ping/nodes/node_definitions.yaml");
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", path, NULL), 0);
	assert_string_equal(out, "Successfully imported nodes: docker_ping_receiver_node, "
				 "docker_ping_sender_node\n");
	defs = stored(f, "docker_ping_receiver_node");
	assert_non_null(defs);
	assert_int_equal(json_array_size(defs), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(defs, 0), "resource"), "type")),
			    "docker");
	json_decref(defs);
	free(out);
	free(err);
	free(path);
}

static void test_import__every_tutorial_imports(void **state)
{
	struct occo_test_progs *f = *state;
	char *dir;
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (!occo_test_have_shared())
		skip();
	dir = occo_test_shared_path("occopus-tutorials");
	d = opendir(dir);
	while ((e = readdir(d)) != NULL) {
		char *path = occo_asprintf("%s/%s/nodes/node_definitions.yaml", dir, e->d_name);
		char *out, *err;

		if (e->d_name[0] != '.' && access(path, R_OK) == 0) {
			int rc = occo_test_progs_run(f, &out, &err, "import", path, NULL);

			if (rc != 0 || !strstr(out, "Successfully imported nodes: "))
				fail_msg("%s: rc %d\n%s%s", path, rc, out, err);
			free(out);
			free(err);
			n++;
		}
		free(path);
	}
	closedir(d);
	free(dir);
	assert_true(n >= 31);
	assert_true(nkeys(f) >= 31);
}

static void test_import__reimport_replaces_the_list(void **state)
{
	struct occo_test_progs *f = *state;
	json_t *defs;

	occo_test_write_file(f->dir, "a.yaml",
			     "'node_def:web':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: a, "
			     "tag: '1'}\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: b, "
			     "tag: '1'}\n");
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "import", "a.yaml", NULL), 0);
	defs = stored(f, "web");
	assert_int_equal(json_array_size(defs), 2);
	json_decref(defs);
	occo_test_write_file(f->dir, "a.yaml",
			     "'node_def:web':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: c, "
			     "tag: '2'}\n");
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "import", "a.yaml", NULL), 0);
	defs = stored(f, "web");
	assert_int_equal(json_array_size(defs), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(defs, 0), "resource"), "image")),
			    "c");
	json_decref(defs);
}

static void test_import__errors_exit_1_and_store_nothing(void **state)
{
	struct occo_test_progs *f = *state;
	char *out, *err;

	occo_test_write_file(f->dir, "good.yaml",
			     "'node_def:keep':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: a, "
			     "tag: '1'}\n");
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "import", "good.yaml", NULL), 0);
	/* one good type and one bad: all or nothing */
	occo_test_write_file(f->dir, "bad.yaml",
			     "'node_def:keep':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: NEW, "
			     "tag: '1'}\n"
			     "'node_def:broken':\n"
			     "  - resource: {type: ec2, endpoint: e}\n");
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "bad.yaml", NULL), 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "bad.yaml:4:15: error: missing key 'regionname'"));
	assert_non_null(strstr(err, "occopus-import: nothing was imported"));
	assert_null(stored(f, "broken"));
	{
		json_t *defs = stored(f, "keep");

		assert_string_equal(
			json_string_value(json_object_get(
				json_object_get(json_array_get(defs, 0), "resource"), "image")),
			"a");
		json_decref(defs);
	}
	free(out);
	free(err);
	/* a YAML error and a missing import name file:line:column */
	occo_test_write_file(f->dir, "syntax.yaml", "'node_def:x': [\n  {resource: \n");
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "syntax.yaml", NULL), 1);
	assert_non_null(strstr(err, "syntax.yaml:"));
	free(out);
	free(err);
	occo_test_write_file(f->dir, "imp.yaml",
			     "'node_def:x':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: a, "
			     "tag: '1'}\n"
			     "    contextualisation:\n"
			     "      type: cloudinit\n"
			     "      context_template: !yaml_import {url: file://missing.yaml}\n");
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "imp.yaml", NULL), 1);
	assert_non_null(strstr(err, "imp.yaml:5:25:"));
	assert_non_null(strstr(err, "missing.yaml"));
	free(out);
	free(err);
}

static void test_import__check_needs_no_redis(void **state)
{
	struct occo_test_progs *f = *state;
	char *out, *err;

	occo_test_write_file(f->dir, "good.yaml",
			     "'node_def:checked':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: a, "
			     "tag: '1'}\n");
	occo_test_progs_setenv(f, "OCCOPUS_REDIS_URL=unix:///nonexistent/redis.sock");
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "--check", "good.yaml", NULL),
			 0);
	assert_string_equal(out, "Node definitions are valid: checked\n");
	free(out);
	free(err);
	/* without --check the unreachable store is an error that says what configured it */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "good.yaml", NULL), 1);
	assert_non_null(strstr(err, "cannot reach the state store (configured by "
				    "$OCCOPUS_REDIS_URL)"));
	assert_non_null(strstr(err, "/nonexistent/redis.sock"));
	assert_null(stored(f, "checked"));
	free(out);
	free(err);
}

static void test_import__usage_errors_exit_2(void **state)
{
	struct occo_test_progs *f = *state;
	char *out, *err;

	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", NULL), 2);
	assert_non_null(strstr(err, "the following arguments are required: datafile"));
	free(out);
	free(err);
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "--nope", NULL), 2);
	assert_non_null(strstr(err, "unrecognized arguments: --nope"));
	free(out);
	free(err);
	assert_int_equal(occo_test_progs_run(f, &out, &err, "import", "--version", NULL), 0);
	assert_non_null(strstr(out, "occopus-import (occopus-c) "));
	free(out);
	free(err);
}

static void test_import__embedded_redis_by_default(void **state)
{
	struct occo_test_progs *f = *state;
	char *prog = occo_test_program("api/occopus-import");
	char *home = occo_asprintf("HOME=%s", f->dir);
	char *argv[] = { prog, "good.yaml", NULL };
	char *env[] = { home, "OCCOPUS_CONFIG_PATH=", NULL }; /* no OCCOPUS_REDIS_URL at all */
	char *out, *err, *pidfile, *sock;
	FILE *pf;
	int pid = 0;

	unsetenv("OCCOPUS_REDIS_URL");
	occo_test_write_file(f->dir, "good.yaml",
			     "'node_def:emb':\n"
			     "  - resource: {type: docker, endpoint: e, origin: local, image: a, "
			     "tag: '1'}\n");
	assert_int_equal(occo_test_run(f->dir, argv, env, &out, &err), 0);
	assert_string_equal(out, "Successfully imported nodes: emb\n");
	free(out);
	free(err);
	/* the private server lives in ~/.occopus/state and holds the definitions */
	sock = occo_asprintf("%s/.occopus/state/redis.sock", f->dir);
	{
		redisContext *c = redisConnectUnix(sock);
		redisReply *r = redisCommand(c, "EXISTS occo:nodedef:emb");

		assert_int_equal(r->integer, 1);
		freeReplyObject(r);
		redisFree(c);
	}
	pidfile = occo_asprintf("%s/.occopus/state/redis.pid", f->dir);
	pf = fopen(pidfile, "r");
	assert_non_null(pf);
	assert_int_equal(fscanf(pf, "%d", &pid), 1);
	fclose(pf);
	/* stop it and wait until it is gone: removing its directory while it saves on shutdown
	   would make Redis refuse to exit */
	kill(pid, SIGTERM);
	{
		int i;

		for (i = 0; i < 500 && access(pidfile, F_OK) == 0; i++)
			usleep(10000);
		assert_int_not_equal(access(pidfile, F_OK), 0);
	}
	free(pidfile);
	free(sock);
	free(home);
	free(prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import__stores_and_prints_as_occopus, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_import__every_tutorial_imports, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_import__reimport_replaces_the_list, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_import__errors_exit_1_and_store_nothing, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_import__check_needs_no_redis, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_import__usage_errors_exit_2, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_import__embedded_redis_by_default, setup,
						occo_test_progs_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
