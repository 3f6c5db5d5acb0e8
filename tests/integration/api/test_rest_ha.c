/*
 * test_rest_ha.c - occopus-rest-service highly available, on the dummy cloud (whose state is in
 * Redis, so it outlives a killed service) and a real redis-server:
 *   - two services on one Redis share an infrastructure by lease; when the one holding it is
 *     killed (SIGKILL), the other takes it over within one lease period and replaces a node
 *     that failed meanwhile;
 *   - Redis and the service restarted: the service maintains again what was attached before
 *     (from the store), and replaces a node that fails afterwards.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "progs.h"
#include "rest.h"
#include "testutil.h"
#include "occo/util/alloc.h"

#define LEASE_S 2.0

static const char nodes_yaml[] = "'node_def:d':\n"
				 "  - resource: {type: dummy, ready_after_ms: 20}\n"
				 "    health_check: {ping: false}\n";

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: ha\n"
				 "nodes:\n"
				 "  - {name: n, type: d, scaling: {min: 3, max: 3}}\n";

static const char cfg_yaml[] = "maintenance: {interval: 0.2, lease: 2}\n";

struct fx {
	struct occo_test_progs p;
	struct occo_test_svc a, b;
};

static void reconnect(struct fx *f)
{
	if (f->p.rc)
		redisFree(f->p.rc);
	f->p.rc = redisConnectUnix(f->p.redis.sock);
	assert_non_null(f->p.rc);
	assert_int_equal(f->p.rc->err, 0);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	if (!occo_test_have_program("redis-server") || !occo_test_have_program("curl")) {
		fprintf(stderr, "skipped: needs redis-server and curl\n");
		exit(OCCO_TEST_SKIP);
	}
	if (occo_test_progs_setup(&f->p, "restha", NULL) < 0)
		return -1;
	occo_test_write_file(f->p.dir, "nodes.yaml", nodes_yaml);
	occo_test_write_file(f->p.dir, "infra.yaml", infra_yaml);
	occo_test_write_file(f->p.dir, "occopus_config.yaml", cfg_yaml);
	assert_int_equal(occo_test_progs_run(&f->p, NULL, NULL, "import", "nodes.yaml", NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->a.pid > 0)
		occo_test_svc_stop(&f->a, SIGKILL);
	if (f->b.pid > 0)
		occo_test_svc_stop(&f->b, SIGKILL);
	free(f->a.log);
	free(f->b.log);
	occo_test_progs_teardown(&f->p);
	free(f);
	return 0;
}

static void start(struct fx *f, struct occo_test_svc *s, const char *name)
{
	char *args[] = { "--cfg", "occopus_config.yaml", NULL };
	char *home = occo_asprintf("HOME=%s", f->p.dir);
	char *url = occo_asprintf("OCCOPUS_REDIS_URL=unix://%s", f->p.redis.sock);
	char *env[] = { home, url, NULL }; /* the service logs at its own level */
	char *log = occo_asprintf("%s/%s.log", f->p.dir, name);

	free(s->log);
	assert_int_equal(occo_test_svc_start(s, f->p.dir, args, env, log), 0);
	free(log);
	free(url);
	free(home);
}

static char *post(struct fx *f, const struct occo_test_svc *s)
{
	char *url = occo_asprintf("http://127.0.0.1:%d/infrastructures/", s->port);
	char *data = occo_asprintf("@%s/infra.yaml", f->p.dir), *body;
	json_t *doc;
	char *id;

	assert_int_equal(occo_test_http("POST", url, data, NULL, &body), 200);
	doc = json_loads(body, 0, NULL);
	id = occo_strdup(json_string_value(json_object_get(doc, "infraid")));
	assert_non_null(id);
	json_decref(doc);
	free(body);
	free(data);
	free(url);
	return id;
}

/* Wait (30 s at most) until there are 3 ready records and none is `gone`. */
static void wait_ready(struct fx *f, const char *id, const char *gone)
{
	json_t *recs = NULL, *rec;
	const char *nid;
	int i, ok = 0;

	for (i = 0; i < 300 && !ok; i++) {
		json_decref(recs);
		recs = occo_test_progs_records(&f->p, id);
		ok = json_object_size(recs) == 3 && (!gone || !json_object_get(recs, gone));
		json_object_foreach (recs, nid, rec)
			ok &= !strcmp(json_string_value(json_object_get(rec, "state")) ?: "",
				      "ready");
		if (!ok)
			usleep(100 * 1000);
	}
	if (!ok)
		fail_msg("not 3 ready instances%s%s: %s", gone ? " without " : "", gone ? gone : "",
			 json_dumps(recs, 0));
	json_decref(recs);
}

/* The pid in the lease's holder ("<host>:<pid>:<random>"), 0 when nobody holds it. */
static int lease_pid(struct fx *f, const char *id)
{
	redisReply *r = redisCommand(f->p.rc, "GET occo:{%s}:lease", id);
	int pid = 0;

	if (r && r->type == REDIS_REPLY_STRING && strchr(r->str, ':'))
		pid = atoi(strchr(r->str, ':') + 1);
	freeReplyObject(r);
	return pid;
}

/* Fail one instance in the dummy cloud, behind the services' backs; returns its node_id. */
static char *break_one(struct fx *f, const char *id)
{
	redisReply *keys = redisCommand(f->p.rc, "HKEYS occo:dummycloud:{%s}:nodes", id);
	redisReply *v;
	json_t *inst, *recs;
	const char *nid, *iid;
	json_t *rec;
	char *s, *victim = NULL;

	assert_true(keys->elements > 0);
	v = redisCommand(f->p.rc, "HGET occo:dummycloud:{%s}:nodes %s", id, keys->element[0]->str);
	inst = json_loads(v->str, 0, NULL);
	json_object_set_new(inst, "state", json_string("failed"));
	s = json_dumps(inst, JSON_COMPACT);
	freeReplyObject(redisCommand(f->p.rc, "HSET occo:dummycloud:{%s}:nodes %s %s", id,
				     keys->element[0]->str, s));
	/* which record that instance is */
	recs = occo_test_progs_records(&f->p, id);
	json_object_foreach (recs, nid, rec) {
		iid = json_string_value(json_object_get(rec, "instance_id"));
		if (iid && !strcmp(iid, keys->element[0]->str))
			victim = occo_strdup(nid);
	}
	assert_non_null(victim);
	json_decref(recs);
	free(s);
	json_decref(inst);
	freeReplyObject(v);
	freeReplyObject(keys);
	return victim;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_rest_ha__takeover_within_a_lease(void **state)
{
	struct fx *f = *state;
	struct occo_test_svc *holder, *other;
	char *id, *victim;
	double t0, took = 0;
	int i, pid = 0;

	start(f, &f->a, "a");
	start(f, &f->b, "b");
	id = post(f, &f->a);
	wait_ready(f, id, NULL);
	for (i = 0; i < 100 && !(pid = lease_pid(f, id)); i++)
		usleep(50 * 1000);
	assert_true(pid == f->a.pid || pid == f->b.pid);
	holder = pid == f->a.pid ? &f->a : &f->b;
	other = holder == &f->a ? &f->b : &f->a;

	/* the holder dies; a node fails meanwhile */
	assert_int_equal(occo_test_svc_stop(holder, SIGKILL), 128 + SIGKILL);
	t0 = now_s();
	victim = break_one(f, id);
	for (i = 0; i < 1000; i++) {
		if (lease_pid(f, id) == other->pid) {
			took = now_s() - t0;
			break;
		}
		usleep(10 * 1000);
	}
	if (!(took > 0))
		fail_msg("the other service did not take the lease over");
	/* the lease expires at most LEASE_S after the last renewal; an interval or two to notice */
	if (took > LEASE_S + 0.9)
		fail_msg("the takeover took %.2f s (lease %.1f s)", took, LEASE_S);
	fprintf(stderr, "takeover after %.2f s (lease %.1f s)\n", took, LEASE_S);
	wait_ready(f, id, victim);
	assert_true(occo_test_svc_log_count(other, "msg=\"took the lease\"") >= 1);
	assert_int_equal(occo_test_svc_stop(other, SIGTERM), 0);
	/* a clean stop gives the lease back at once */
	assert_int_equal(lease_pid(f, id), 0);
	free(victim);
	free(id);
}

static void test_rest_ha__restart_redis_and_service(void **state)
{
	struct fx *f = *state;
	char *id, *victim;
	int i, pid = 0;

	start(f, &f->a, "a");
	id = post(f, &f->a);
	wait_ready(f, id, NULL);

	/* Redis (its data saved as a persistent server would) and the service go down */
	freeReplyObject(redisCommand(f->p.rc, "SAVE"));
	assert_int_equal(occo_test_svc_stop(&f->a, SIGKILL), 128 + SIGKILL);
	occo_test_redis_kill(&f->p.redis);
	assert_int_equal(occo_test_redis_start(&f->p.redis), 0);
	reconnect(f);
	start(f, &f->a, "a");

	/* it maintains again what was attached: it takes the lease and replaces a failure */
	for (i = 0; i < 500 && (pid = lease_pid(f, id)) != f->a.pid; i++)
		usleep(20 * 1000);
	assert_int_equal(pid, f->a.pid);
	victim = break_one(f, id);
	wait_ready(f, id, victim);
	assert_int_equal(occo_test_svc_stop(&f->a, SIGTERM), 0);
	free(victim);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rest_ha__takeover_within_a_lease, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rest_ha__restart_redis_and_service, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
