/*
 * test_docker_tutorials.c - Occopus's tutorials docker-helloworld and docker-ping run by the
 * programs (occopus-import, -build, -maintain, -destroy) on a real Podman service and a real
 * redis-server.
 *
 * The tutorials are copied as they are; only what points outside this machine changes: the
 * endpoint placeholder becomes the Podman socket, and the image tarballs they import
 * (https://s3.lpds.sztaki.hu/docker/busybox_*.tar) are served from 127.0.0.1 instead, built
 * here as busybox-static root filesystems whose /root/start.sh does what the tutorial's
 * images do: the helloworld one stores $message in /tmp and prints it, the ping one pings
 * $target_ip. Commands, env, dependencies and health checks are Occopus's.
 *
 * What a user would check: the containers run with what the contextualisation said (the
 * message, the receiver's address handed to the sender by getip), a container killed behind
 * the orchestrator's back is replaced by occopus-maintain, occopus-build killed with SIGKILL
 * at random moments and followed by occopus-maintain leaves exactly the containers the store
 * knows, and after occopus-destroy no container of the infrastructure is left.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "podman.h"
#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"

#define CRASH_ROUNDS 6

static struct occo_test_podman pm;
static char *images; /* the directory the tarballs are served from */
static int file_port, file_pid;

static const struct occo_test_file helloworld_files[] = {
	{ "root/start.sh",
	  "#!/bin/sh\n"
	  "echo \"$message\" >/tmp/message.txt\n"
	  "echo \"$message\"\n"
	  "while :; do sleep 3600; done\n",
	  0755 },
	{ NULL, NULL, 0 },
};

static const struct occo_test_file ping_files[] = {
	{ "root/start.sh", "#!/bin/sh\nexec ping \"$target_ip\"\n", 0755 },
	{ NULL, NULL, 0 },
};

static int setup(void **state)
{
	struct occo_test_progs *f = occo_calloc(1, sizeof(*f));

	if (occo_test_progs_setup(f, "docker-tutorials", NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static void run_ok(struct occo_test_progs *f, const char *prog, const char *a1, const char *a2)
{
	char *out = NULL, *err = NULL;

	if (occo_test_progs_run(f, &out, &err, prog, a1, a2, NULL) != 0)
		fail_msg("occopus-%s %s %s failed:\n%s%s", prog, a1, a2 ? a2 : "", out, err);
	free(out);
	free(err);
}

/* Copy a tutorial into the test's directory, pointed at this machine; import its nodes. */
static void tutorial(struct occo_test_progs *f, const char *name)
{
	char *base = occo_asprintf("http://127.0.0.1:%d/", file_port), *defs;
	const char *const subst[][2] = {
		{ "replace_with_your_docker_endpoint", pm.endpoint },
		{ "https://s3.lpds.sztaki.hu/docker/", base },
	};

	if (!occo_test_have_shared())
		skip();
	occo_test_progs_tutorial(f, name, subst, sizeof(subst) / sizeof(subst[0]));
	defs = occo_asprintf("%s/nodes/node_definitions.yaml", name);
	run_ok(f, "import", defs, NULL);
	free(defs);
	free(base);
}

/* The containers of an infrastructure (all states): a JSON array of inspect objects. */
static json_t *containers(const char *id)
{
	char *label = occo_asprintf("occopus.infra_id=%s", id);
	json_t *ids = occo_test_podman_ids(&pm, label), *out = json_array(), *v;
	size_t i;

	json_array_foreach (ids, i, v) {
		char *path = occo_asprintf("/containers/%s/json", json_string_value(v));
		char *resp = NULL;

		if (occo_test_podman_api(&pm, "GET", path, NULL, &resp, NULL) == 200)
			json_array_append_new(out, json_loads(resp, 0, NULL));
		free(resp);
		free(path);
	}
	json_decref(ids);
	free(label);
	return out;
}

static const char *label_of(const json_t *c, const char *k)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(c, "Config"), "Labels"), k));
}

static int running(const json_t *c)
{
	return json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
}

/* The container of a node (the only one). */
static json_t *container_of(const json_t *list, const char *node)
{
	json_t *c;
	size_t i;

	json_array_foreach (list, i, c)
		if (!strcmp(label_of(c, "occopus.node_name"), node))
			return c;
	fail_msg("no container of node '%s'", node);
	return NULL;
}

static int has_env(const json_t *c, const char *kv)
{
	json_t *e;
	size_t i;

	json_array_foreach (json_object_get(json_object_get(c, "Config"), "Env"), i, e)
		if (!strcmp(json_string_value(e), kv))
			return 1;
	return 0;
}

/* Wait until a container's log holds `text` (the process inside is a real one). */
static void wait_log(const json_t *c, const char *text)
{
	const char *id = json_string_value(json_object_get(c, "Id"));
	int i;

	for (i = 0; i < 300; i++) {
		size_t len = 0;
		char *log = occo_test_podman_logs(&pm, id, &len);
		int found = log && memmem(log, len, text, strlen(text)) != NULL;

		free(log);
		if (found)
			return;
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	fail_msg("'%s' never appeared in the log of container %.12s", text, id);
}

static void destroy_leaves_nothing(struct occo_test_progs *f, const char *id)
{
	json_t *left;

	run_ok(f, "destroy", "-i", id);
	left = containers(id);
	assert_int_equal(json_array_size(left), 0);
	json_decref(left);
}

static void test_docker_tutorials__helloworld(void **state)
{
	struct occo_test_progs *f = *state;
	char *id, *out = NULL, *err = NULL, *old;
	json_t *list, *c;
	const char *msg = "Hello World! I have been created by Occopus.";

	tutorial(f, "docker-helloworld");
	id = occo_test_progs_build(f, "docker-helloworld/infra-docker-helloworld.yaml", NULL);
	list = containers(id);
	assert_int_equal(json_array_size(list), 1);
	c = container_of(list, "helloworld");
	assert_true(running(c));
	{
		char *kv = occo_asprintf("message=%s", msg);

		assert_true(has_env(c, kv));
		free(kv);
	}
	wait_log(c, msg);

	/* the report names the instance and its address */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, "-r", NULL), 0);
	assert_non_null(strstr(out, "helloworld:"));
	assert_non_null(strstr(out, pm.subnet_prefix));
	free(out);
	free(err);

	/* killed behind the orchestrator's back: replaced by the next maintenance pass */
	old = occo_strdup(json_string_value(json_object_get(c, "Id")));
	{
		char *path = occo_asprintf("/containers/%s/kill?signal=KILL", old);

		assert_int_equal(occo_test_podman_api(&pm, "POST", path, NULL, NULL, NULL), 204);
		free(path);
	}
	json_decref(list);
	run_ok(f, "maintain", "-i", id);
	list = containers(id);
	assert_int_equal(json_array_size(list), 1);
	c = json_array_get(list, 0);
	assert_string_not_equal(json_string_value(json_object_get(c, "Id")), old);
	assert_true(running(c));
	wait_log(c, msg);
	json_decref(list);
	free(old);

	destroy_leaves_nothing(f, id);
	free(id);
}

static void test_docker_tutorials__ping(void **state)
{
	struct occo_test_progs *f = *state;
	char *id, *kv, *bytes;
	json_t *list, *rcv, *snd;
	const char *ip;

	tutorial(f, "docker-ping");
	id = occo_test_progs_build(f, "docker-ping/infra-docker-ping.yaml", NULL);
	list = containers(id);
	assert_int_equal(json_array_size(list), 2);
	rcv = container_of(list, "ping-receiver");
	snd = container_of(list, "ping-sender");
	assert_true(running(rcv));
	assert_true(running(snd));
	assert_true(has_env(rcv, "message=Hello World! I am the receiver node."));
	/* the sender got the receiver's address through getip, and reaches it */
	ip = json_string_value(json_object_get(
		json_object_get(
			json_object_get(json_object_get(rcv, "NetworkSettings"), "Networks"),
			pm.network),
		"IPAddress"));
	assert_non_null(ip);
	kv = occo_asprintf("target_ip=%s", ip);
	assert_true(has_env(snd, kv));
	bytes = occo_asprintf("bytes from %s", ip);
	wait_log(snd, bytes);
	free(bytes);
	free(kv);
	json_decref(list);

	destroy_leaves_nothing(f, id);
	free(id);
}

/* The tokens of the records of an infrastructure; *ready counts those ready. */
static json_t *record_tokens(struct occo_test_progs *f, const char *id, size_t *ready)
{
	redisReply *r = redisCommand(f->rc, "HVALS occo:{%s}:nodes", id);
	json_t *out = json_array();
	size_t i;

	*ready = 0;
	for (i = 0; r && i < r->elements; i++) {
		json_t *v = json_loads(r->element[i]->str, 0, NULL);
		const char *state = json_string_value(json_object_get(v, "state"));

		*ready += state && !strcmp(state, "ready");
		json_array_append(out, json_object_get(v, "token"));
		json_decref(v);
	}
	freeReplyObject(r);
	return out;
}

static int contains(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach (list, i, v)
		if (s && !strcmp(json_string_value(v), s))
			return 1;
	return 0;
}

/*
 * The containers are exactly those the store knows, all running, the records all ready, as
 * many as the description wants.
 */
static int converged(struct occo_test_progs *f, const char *id, size_t want, char *why, size_t n)
{
	size_t ready, i, unknown = 0, stopped = 0;
	json_t *recs = record_tokens(f, id, &ready), *list = containers(id), *c;
	int ok;

	json_array_foreach (list, i, c) {
		unknown += !contains(recs, label_of(c, "occopus.token"));
		stopped += !running(c);
	}
	ok = json_array_size(recs) == want && ready == want && json_array_size(list) == want &&
	     !unknown && !stopped;
	snprintf(why, n, "%zu records (%zu ready), %zu containers (%zu unknown, %zu stopped)",
		 json_array_size(recs), ready, json_array_size(list), unknown, stopped);
	json_decref(recs);
	json_decref(list);
	return ok;
}

static void test_docker_tutorials__killed_builds_leave_nothing_unknown(void **state)
{
	struct occo_test_progs *f = *state;
	unsigned seed = (unsigned)time(NULL);
	struct timespec t0, t1;
	long full_ms;
	int round;

	tutorial(f, "docker-ping");
	/* how long a whole build takes here, to kill the next ones inside it */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	{
		char *id = occo_test_progs_build(f, "docker-ping/infra-docker-ping.yaml", NULL);

		clock_gettime(CLOCK_MONOTONIC, &t1);
		destroy_leaves_nothing(f, id);
		free(id);
	}
	full_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	srand(seed);
	for (round = 0; round < CRASH_ROUNDS; round++) {
		char id[OCCO_UUID_STRLEN + 1], why[160];
		long at = full_ms > 0 ? rand() % full_ms : 0;
		int pass, known;

		occo_uuid4(id, NULL);
		known = occo_test_progs_kill_build(f, NULL, "docker-ping/infra-docker-ping.yaml",
						   id, 0, 0, (unsigned)at);
		for (pass = 0; pass < 4; pass++) {
			if (!known) {
				/* killed before the description was stored: nothing was created */
				json_t *list = containers(id);

				if (json_array_size(list))
					fail_msg("seed %u round %d: %zu containers of an unknown "
						 "infrastructure",
						 seed, round, json_array_size(list));
				json_decref(list);
				break;
			}
			if (converged(f, id, 2, why, sizeof(why)))
				break;
			run_ok(f, "maintain", "-i", id);
		}
		print_message("round %d: killed at %ld of %ld ms: %s, %d maintenance passes\n",
			      round, at, full_ms, known ? "stored" : "nothing stored", pass);
		if (pass == 4 && !converged(f, id, 2, why, sizeof(why)))
			fail_msg("seed %u round %d (killed at %ld of %ld ms): not converged: %s",
				 seed, round, at, full_ms, why);
		{
			redisReply *r = redisCommand(f->rc, "EXISTS occo:{%s}:desc", id);

			if (r && r->integer == 1)
				destroy_leaves_nothing(f, id);
			freeReplyObject(r);
		}
	}
}

static int group_setup(void **state)
{
	char *tar;

	(void)state;
	images = occo_test_tmpdir("docker-images");
	tar = occo_asprintf("%s/busybox_helloworld.tar", images);
	if (occo_test_busybox_tar(tar, helloworld_files) < 0)
		return -1;
	free(tar);
	tar = occo_asprintf("%s/busybox_ping.tar", images);
	if (occo_test_busybox_tar(tar, ping_files) < 0)
		return -1;
	free(tar);
	return occo_test_file_server_start(images, &file_port, &file_pid);
}

static int group_teardown(void **state)
{
	(void)state;
	occo_test_file_server_stop(file_pid);
	occo_test_rmtree(images);
	free(images);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_docker_tutorials__helloworld, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_docker_tutorials__ping, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(
			test_docker_tutorials__killed_builds_leave_nothing_unknown, setup,
			occo_test_progs_free),
	};
	int rc = occo_test_podman_start(&pm);

	if (rc != 0) {
		occo_test_podman_stop(&pm);
		return rc == OCCO_TEST_SKIP ? OCCO_TEST_SKIP : 1;
	}
	if (getenv("OCCO_TEST_FILTER"))
		cmocka_set_test_filter(getenv("OCCO_TEST_FILTER"));
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	occo_test_podman_stop(&pm);
	return rc;
}
