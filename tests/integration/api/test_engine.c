/*
 * test_engine.c - the programs as a user runs them, on the dummy cloud (whose state is in
 * Redis, outside the programs) and a real redis-server: build, report, a failed instance
 * replaced by maintain, scaling, two maintainers, partial failure and --rollback, destroy
 * leaving nothing behind.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"

static const char nodes_yaml[] =
	"'node_def:kv':\n"
	"  - resource: {type: dummy, ready_after_ms: 30}\n"
	"'node_def:worker':\n"
	"  - resource: {type: dummy, ready_after_ms: 10}\n"
	"    contextualisation:\n"
	"      type: cloudinit\n"
	"      context_template: \"#cloud-config\\nruncmd: ['echo {{ getip(\\\"kv\\\") }}']\\n\"\n"
	"'node_def:front':\n"
	"  - resource: {type: dummy}\n"
	"'node_def:broken':\n"
	"  - resource: {type: dummy, fail_rate: 1}\n";

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: demo\n"
				 "nodes:\n"
				 "  - &KV {name: kv, type: kv}\n"
				 "  - &W {name: workers, type: worker, scaling: {min: 2, max: 4}}\n"
				 "  - &F {name: front, type: front}\n"
				 "dependencies: [[*W, *KV], [*F, *W]]\n";

static const char broken_yaml[] = "user_id: me\n"
				  "infra_name: half\n"
				  "nodes:\n"
				  "  - {name: kv, type: kv}\n"
				  "  - {name: bad, type: broken, scaling: {min: 2}}\n"
				  "  - {name: later, type: front}\n"
				  "dependencies: [[bad, kv], [later, bad]]\n";

static int setup(void **state)
{
	struct occo_test_progs *f = occo_calloc(1, sizeof(*f));

	if (occo_test_progs_setup(f, "engine", NULL) < 0)
		return -1;
	occo_test_write_file(f->dir, "nodes.yaml", nodes_yaml);
	occo_test_write_file(f->dir, "infra.yaml", infra_yaml);
	occo_test_write_file(f->dir, "broken.yaml", broken_yaml);
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "import", "nodes.yaml", NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct occo_test_progs *f = *state;

	occo_test_progs_teardown(f);
	free(f);
	return 0;
}

static long long hlen(struct occo_test_progs *f, const char *fmt, const char *id)
{
	redisReply *r = redisCommand(f->rc, fmt, id);
	long long n = r ? r->integer : -1;

	freeReplyObject(r);
	return n;
}

static long long cloud_count(struct occo_test_progs *f, const char *id)
{
	return hlen(f, "HLEN occo:dummycloud:{%s}:nodes", id);
}

static long long record_count(struct occo_test_progs *f, const char *id)
{
	return hlen(f, "HLEN occo:{%s}:nodes", id);
}

/* The infrastructure id of a build of infra.yaml, whose report lists the nodes. */
static char *build(struct occo_test_progs *f)
{
	char *out, *id = occo_test_progs_build(f, "infra.yaml", &out);

	assert_non_null(strstr(out, "List of nodes/instances/addresses:\nkv:\n"));
	free(out);
	return id;
}

/* Make an instance of the dummy cloud fail, as a VM dying behind the orchestrator's back. */
static void break_one(struct occo_test_progs *f, const char *id)
{
	redisReply *keys = redisCommand(f->rc, "HKEYS occo:dummycloud:{%s}:nodes", id);
	redisReply *v = redisCommand(f->rc, "HGET occo:dummycloud:{%s}:nodes %s", id,
				     keys->element[0]->str);
	json_t *inst = json_loads(v->str, 0, NULL);
	char *s;

	json_object_set_new(inst, "state", json_string("failed"));
	s = json_dumps(inst, JSON_COMPACT);
	freeReplyObject(redisCommand(f->rc, "HSET occo:dummycloud:{%s}:nodes %s %s", id,
				     keys->element[0]->str, s));
	free(s);
	json_decref(inst);
	freeReplyObject(v);
	freeReplyObject(keys);
}

static void test_engine__build_report_destroy(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f), *out, *err;
	json_t *rep;

	assert_int_equal(cloud_count(f, id), 4); /* kv, 2 workers, front */
	assert_int_equal(record_count(f, id), 4);
	/* what the build wrote last is in Redis once it has exited: every record ready, and the
	   events of the whole build (infrastart, 4 x nodecreating/nodecreated, infraready) */
	{
		redisReply *r = redisCommand(f->rc, "HVALS occo:{%s}:nodes", id);
		size_t k;

		for (k = 0; k < r->elements; k++)
			assert_non_null(strstr(r->element[k]->str, "\"state\":\"ready\""));
		freeReplyObject(r);
		r = redisCommand(f->rc, "XLEN occo:{%s}:events", id);
		assert_int_equal(r->integer, 10);
		freeReplyObject(r);
	}
	/* the report, as JSON, with every instance ready and addressed */
	assert_int_equal(
		occo_test_progs_run(f, &out, &err, "maintain", "-i", id, "-r", "--json", NULL), 0);
	rep = json_loads(out, 0, NULL);
	assert_non_null(rep);
	assert_int_equal(
		json_object_size(json_object_get(json_object_get(rep, "nodes"), "workers")), 2);
	json_decref(rep);
	free(out);
	free(err);
	/* -o writes one line per instance */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, "-r", "-o",
					     "addrs.txt", NULL),
			 0);
	free(out);
	free(err);
	/* destroy: nothing of it is left, in the cloud or in Redis */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "destroy", "-i", id, NULL), 0);
	assert_non_null(strstr(err, "Finished dropping infrastructure"));
	free(out);
	free(err);
	assert_int_equal(cloud_count(f, id), 0);
	{
		redisReply *r = redisCommand(f->rc, "KEYS *%s*", id);

		assert_int_equal(r->elements, 0);
		freeReplyObject(r);
	}
	/* again: idempotent */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "destroy", "-i", id, NULL), 0);
	free(out);
	free(err);
	free(id);
}

static void test_engine__maintain_replaces_and_scales(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f), *out, *err;

	break_one(f, id);
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, NULL), 0);
	free(out);
	free(err);
	assert_int_equal(cloud_count(f, id), 4);
	assert_int_equal(record_count(f, id), 4);
	/* scale up past max: capped at 4 workers */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "scale", "-i", id, "-n", "workers",
					     "-c", "5", NULL),
			 0);
	assert_non_null(strstr(out, "Scaling up node 'workers' with 5 instances..."));
	free(out);
	free(err);
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, NULL), 0);
	free(out);
	free(err);
	assert_int_equal(record_count(f, id), 6);
	/* set to 3: one goes */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "scale", "-i", id, "-n", "workers",
					     "-s", "3", NULL),
			 0);
	free(out);
	free(err);
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, NULL), 0);
	free(out);
	free(err);
	assert_int_equal(record_count(f, id), 5);
	assert_int_equal(cloud_count(f, id), 5);
	/* a usage error is exit 2 */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "scale", "-i", id, "-n", "workers",
					     "-c", "0", NULL),
			 2);
	free(out);
	free(err);
	free(id);
}

/* Start `occopus-maintain -i id -c -t 0.05` in the background; returns its pid. */
static pid_t start_cyclic(struct occo_test_progs *f, const char *id)
{
	return occo_test_progs_start(f, NULL, "maintain", "-i", id, "-c", "-t", "0.05", NULL);
}

/* Wait until the dummy cloud holds `want` instances, none of them failed. */
static int wait_healthy(struct occo_test_progs *f, const char *id, long long want)
{
	int i;

	for (i = 0; i < 300; i++) {
		redisReply *r = redisCommand(f->rc, "HVALS occo:dummycloud:{%s}:nodes", id);
		int failed = 0;
		size_t k;

		for (k = 0; r && k < r->elements; k++)
			failed += strstr(r->element[k]->str, "\"failed\"") != NULL;
		freeReplyObject(r);
		if (!failed && cloud_count(f, id) == want)
			return 1;
		usleep(20000);
	}
	return 0;
}

static void test_engine__two_maintainers(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f), *out, *err;
	pid_t pid = start_cyclic(f, id);
	int status, i;

	/* wait until the cyclic maintainer holds the lease */
	for (i = 0; i < 200; i++) {
		redisReply *r = redisCommand(f->rc, "GET occo:{%s}:lease", id);
		int held = r && r->type == REDIS_REPLY_STRING;

		freeReplyObject(r);
		if (held)
			break;
		usleep(20000);
	}
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, NULL), 1);
	assert_non_null(strstr(err, "is maintained by"));
	free(out);
	free(err);
	/* the cyclic maintainer repairs a failure; SIGTERM lets it finish and release */
	break_one(f, id);
	assert_true(wait_healthy(f, id, 4));
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	{
		redisReply *r = redisCommand(f->rc, "EXISTS occo:{%s}:lease", id);

		assert_int_equal(r->integer, 0); /* released */
		freeReplyObject(r);
	}
	free(id);
}

static void test_engine__maintain_rides_out_a_redis_restart(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f);
	pid_t pid = start_cyclic(f, id);
	int status;

	usleep(200000);
	/* Redis goes away for a while (the data is kept: SAVE writes it for the restart) */
	freeReplyObject(redisCommand(f->rc, "SAVE"));
	occo_test_redis_kill(&f->redis);
	usleep(300000);
	assert_int_equal(occo_test_redis_start(&f->redis), 0);
	redisFree(f->rc);
	f->rc = redisConnectUnix(f->redis.sock);
	/* the maintainer is still there, and still repairs */
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	break_one(f, id);
	assert_true(wait_healthy(f, id, 4));
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free(id);
}

static void test_engine__partial_failure_and_rollback(void **state)
{
	struct occo_test_progs *f = *state;
	char *out, *err, *id;

	assert_int_equal(occo_test_progs_run(f, &out, &err, "build", "broken.yaml", NULL), 1);
	assert_non_null(strstr(err, "2 instances failed; the first: node 'bad': instance"));
	assert_non_null(strstr(err, "simulated failure"));
	id = occo_test_last_line(out);
	/* the failed instances are dropped, kv is kept, the next level was not started */
	assert_int_equal(record_count(f, id), 1);
	assert_int_equal(cloud_count(f, id), 1);
	free(out);
	free(err);
	free(id);

	assert_int_equal(
		occo_test_progs_run(f, &out, &err, "build", "--rollback", "broken.yaml", NULL), 1);
	assert_non_null(strstr(err, "torn down"));
	{
		redisReply *r = redisCommand(f->rc, "SCARD occo:infras");

		assert_int_equal(r->integer, 1); /* only the first, kept one */
		freeReplyObject(r);
	}
	free(out);
	free(err);
}

/*
 * A record a hand edit broke (its state a number): maintain refuses the infrastructure and
 * names the record and the member; destroy warns, reads what it can, and tears it all down.
 */
static void test_engine__destroy_tears_down_a_broken_record(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f), *out, *err, want[160];
	redisReply *keys = redisCommand(f->rc, "HKEYS occo:{%s}:nodes", id);
	redisReply *v = redisCommand(f->rc, "HGET occo:{%s}:nodes %s", id, keys->element[0]->str);
	json_t *rec = json_loads(v->str, 0, NULL);
	char *s;

	json_object_set_new(rec, "state", json_integer(5));
	s = json_dumps(rec, JSON_COMPACT);
	freeReplyObject(
		redisCommand(f->rc, "HSET occo:{%s}:nodes %s %s", id, keys->element[0]->str, s));
	snprintf(want, sizeof(want), "instance record '%s': 'state' must be a string",
		 keys->element[0]->str);
	assert_int_equal(occo_test_progs_run(f, &out, &err, "maintain", "-i", id, NULL), 1);
	if (!strstr(err, want))
		fail_msg("maintain does not say '%s':\n%s", want, err);
	free(out);
	free(err);
	assert_int_equal(record_count(f, id), 4); /* nothing lost */
	assert_int_equal(occo_test_progs_run(f, &out, &err, "destroy", "-i", id, NULL), 0);
	assert_non_null(strstr(err, "instance record read in part"));
	assert_non_null(strstr(err, want));
	free(out);
	free(err);
	assert_int_equal(cloud_count(f, id), 0);
	assert_int_equal(record_count(f, id), 0);
	free(s);
	json_decref(rec);
	freeReplyObject(v);
	freeReplyObject(keys);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_engine__build_report_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine__maintain_replaces_and_scales, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_engine__two_maintainers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine__destroy_tears_down_a_broken_record,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine__partial_failure_and_rollback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_engine__maintain_rides_out_a_redis_restart,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
