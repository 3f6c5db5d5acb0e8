/*
 * test_example.c - the README's main job, as a newcomer runs it: examples/local-demo on the
 * local back-end with the embedded Redis. The front page reports the work of every worker
 * (reached through getip()), a worker killed behind the orchestrator's back is replaced by
 * occopus-maintain, scaling adds workers that start working, and destroy leaves no process,
 * runtime directory or record behind.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"

struct fx {
	struct occo_test_progs p; /* p.dir: the state directory (embedded Redis, runtime dirs) */
	char *id;
};

static void run_ok(struct fx *f, const char *prog, const char *a1, const char *a2, const char *a3,
		   const char *a4)
{
	char *out, *err;

	if (occo_test_progs_run(&f->p, &out, &err, prog, a1, a2, a3, a4, NULL) != 0)
		fail_msg("occopus-%s failed:\n%s%s", prog, out, err);
	free(out);
	free(err);
}

/* {node name: {node_id: first address}} */
static json_t *userinfo(struct fx *f)
{
	char *arg = occo_asprintf("infra_id=%s", f->id), *out, *err;
	json_t *v;

	if (occo_test_progs_run(&f->p, &out, &err, "info", "infrastructure.userinfo", arg, NULL) !=
	    0)
		fail_msg("occopus-info failed:\n%s%s", out, err);
	v = json_loads(out, 0, NULL);
	assert_non_null(v);
	free(out);
	free(err);
	free(arg);
	return v;
}

/* The front page (curl), or NULL when it does not answer. */
static char *front_page(struct fx *f)
{
	json_t *ui = userinfo(f);
	void *it = json_object_iter(json_object_get(ui, "front"));
	char *url = occo_asprintf("http://%s:8080/cgi-bin/status",
				  json_string_value(json_object_iter_value(it)));
	char *argv[] = { "curl", "-fsS", "-m", "5", url, NULL };
	char *out, *err;
	int rc = occo_test_run(NULL, argv, NULL, &out, &err);

	free(err);
	free(url);
	json_decref(ui);
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Wait (up to 20 s) until every worker address has done at least one job on the front page. */
static void wait_all_workers_seen(struct fx *f)
{
	json_t *ui, *workers, *addr;
	const char *id;
	char *page = NULL;
	int i, all = 0;

	for (i = 0; i < 200 && !all; i++) {
		free(page);
		page = front_page(f);
		ui = userinfo(f);
		workers = json_object_get(ui, "workers");
		all = page != NULL && json_object_size(workers) > 0;
		json_object_foreach (workers, id, addr) {
			char *line = occo_asprintf("%s\t", json_string_value(addr));

			all &= page && strstr(page, line) != NULL;
			free(line);
		}
		json_decref(ui);
		if (!all)
			usleep(100 * 1000);
	}
	if (!all)
		fail_msg("the front page does not report every worker:\n%s",
			 page ? page : "(none)");
	free(page);
}

static int setup(void **state)
{
	static char *const env[] = { "OCCOPUS_REDIS_URL=", NULL };
	struct fx *f = occo_calloc(1, sizeof(*f));
	char *out, *e;

	if (!occo_test_have_program("redis-server") || !occo_test_have_program("busybox") ||
	    !occo_test_have_program("curl")) {
		fprintf(stderr, "skipped: needs redis-server, busybox and curl\n");
		exit(OCCO_TEST_SKIP);
	}
	if (occo_test_progs_setup(&f->p, "example", env) < 0)
		return -1;
	e = occo_asprintf("OCCOPUS_STATE_DIR=%s", f->p.dir);
	occo_test_progs_setenv(&f->p, e);
	free(e);
	e = occo_asprintf("%s/examples/local-demo", OCCO_SOURCE_DIR);
	occo_test_progs_cd(&f->p, e);
	free(e);
	run_ok(f, "import", "nodes.yaml", NULL, NULL, NULL);
	f->id = occo_test_progs_build(&f->p, "infra.yaml", &out);
	assert_non_null(strstr(out, "workers:\n"));
	free(out);
	*state = f;
	return 0;
}

/* Destroy (idempotent), then stop the embedded Redis. */
static int teardown(void **state)
{
	struct fx *f = *state;
	char *pidfile = occo_asprintf("%s/redis.pid", f->p.dir), *out, *err;
	FILE *p;
	int pid = 0;

	if (f->id && occo_test_progs_run(&f->p, &out, &err, "destroy", "-i", f->id, NULL) == 0) {
		free(out);
		free(err);
	}
	if ((p = fopen(pidfile, "r"))) {
		if (fscanf(p, "%d", &pid) == 1 && pid > 0)
			kill(pid, SIGTERM);
		fclose(p);
	}
	for (int i = 0; pid > 0 && i < 100 && kill(pid, 0) == 0; i++)
		usleep(50 * 1000);
	occo_test_progs_teardown(&f->p);
	free(pidfile);
	free(f->id);
	free(f);
	return 0;
}

/* The pid of a node's process group, from its runtime directory. */
static int node_pgid(struct fx *f, const char *node_id)
{
	char *path = occo_asprintf("%s/local/%s/occo-%s/pid", f->p.dir, f->id, node_id);
	FILE *p = fopen(path, "r");
	int pid = 0;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &pid), 1);
	fclose(p);
	free(path);
	return pid;
}

static void test_example__builds_heals_scales_and_goes(void **state)
{
	struct fx *f = *state;
	json_t *ui;
	char *victim, *local;
	int pgid;

	ui = userinfo(f);
	assert_int_equal(json_object_size(json_object_get(ui, "kv")), 1);
	assert_int_equal(json_object_size(json_object_get(ui, "workers")), 2);
	assert_int_equal(json_object_size(json_object_get(ui, "front")), 1);
	victim =
		occo_strdup(json_object_iter_key(json_object_iter(json_object_get(ui, "workers"))));
	json_decref(ui);
	wait_all_workers_seen(f);

	/* a worker dies behind the orchestrator's back: the next pass replaces it */
	pgid = node_pgid(f, victim);
	assert_int_equal(kill(-pgid, SIGKILL), 0);
	run_ok(f, "maintain", "-i", f->id, NULL, NULL);
	ui = userinfo(f);
	assert_int_equal(json_object_size(json_object_get(ui, "workers")), 2);
	assert_null(json_object_get(json_object_get(ui, "workers"), victim));
	json_decref(ui);
	wait_all_workers_seen(f);

	/* two more workers, and they work */
	{
		char *out, *err;

		assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "scale", "-i", f->id, "-n",
						     "workers", "-c", "2", NULL),
				 0);
		free(out);
		free(err);
	}
	run_ok(f, "maintain", "-i", f->id, NULL, NULL);
	ui = userinfo(f);
	assert_int_equal(json_object_size(json_object_get(ui, "workers")), 4);
	wait_all_workers_seen(f);

	/* destroy: no process of any node is left, nor its runtime directory */
	{
		const char *name, *id;
		json_t *nodes, *addr;
		int groups[16], n = 0, i;

		json_object_foreach (ui, name, nodes)
			json_object_foreach (nodes, id, addr)
				if (n < 16)
					groups[n++] = node_pgid(f, id);
		assert_int_equal(n, 6);
		for (i = 0; i < n; i++)
			assert_true(occo_test_group_alive(groups[i]));
		run_ok(f, "destroy", "-i", f->id, NULL, NULL);
		for (i = 0; i < n; i++)
			assert_false(occo_test_group_alive(groups[i]));
	}
	json_decref(ui);
	local = occo_asprintf("%s/local/%s", f->p.dir, f->id);
	assert_int_equal(access(local, F_OK), -1);
	free(local);
	free(victim);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_example__builds_heals_scales_and_goes, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
