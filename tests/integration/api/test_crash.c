/*
 * test_crash.c - crash safety: occopus-build is killed with SIGKILL at 20 random moments;
 * occopus-maintain afterwards must converge to the description, with no instance in the
 * (dummy) cloud that the store does not know and none the store knows that the cloud lacks.
 *
 * The dummy cloud keeps its state in Redis, outside the killed process, as a real cloud would.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"

#define ROUNDS 20
#define WANT 7 /* 1 + 5 + 1 instances */

static const char nodes_yaml[] =
	"'node_def:a':\n"
	"  - resource: {type: dummy, create_latency_ms: 15, ready_after_ms: 20}\n"
	"'node_def:b':\n"
	"  - resource: {type: dummy, create_latency_ms: 25, ready_after_ms: 10, drop_latency_ms: "
	"5}\n"
	"'node_def:c':\n"
	"  - resource: {type: dummy, create_latency_ms: 5}\n";

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: crash\n"
				 "nodes:\n"
				 "  - {name: a, type: a}\n"
				 "  - {name: b, type: b, scaling: {min: 5, max: 5}}\n"
				 "  - {name: c, type: c}\n"
				 "dependencies: [[b, a], [c, b]]\n";

static int setup(void **state)
{
	struct occo_test_progs *f = occo_calloc(1, sizeof(*f));

	if (occo_test_progs_setup(f, "crash", NULL) < 0)
		return -1;
	occo_test_write_file(f->dir, "nodes.yaml", nodes_yaml);
	occo_test_write_file(f->dir, "infra.yaml", infra_yaml);
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "import", "nodes.yaml", NULL), 0);
	*state = f;
	return 0;
}

/* The tokens of a hash's JSON values (records or the dummy cloud's instances), sorted. */
static json_t *tokens(struct occo_test_progs *f, const char *fmt, const char *id, int need_ready)
{
	redisReply *r = redisCommand(f->rc, fmt, id);
	json_t *out = json_array();
	size_t i;

	for (i = 0; r && i < r->elements; i++) {
		json_t *v = json_loads(r->element[i]->str, 0, NULL);
		const char *state = json_string_value(json_object_get(v, "state"));

		if (need_ready && (!state || strcmp(state, "ready")))
			json_array_append_new(out, json_string("(not ready)"));
		else
			json_array_append(out, json_object_get(v, "token"));
		json_decref(v);
	}
	freeReplyObject(r);
	return out;
}

static int contains(const json_t *list, const json_t *x)
{
	const json_t *v;
	size_t i;

	json_array_foreach (list, i, v)
		if (json_equal(v, x))
			return 1;
	return 0;
}

/* Records and cloud hold the same instances, WANT of them, all ready. */
static int converged(struct occo_test_progs *f, const char *id, char *why, size_t n)
{
	json_t *recs = tokens(f, "HVALS occo:{%s}:nodes", id, 1);
	json_t *cloud = tokens(f, "HVALS occo:dummycloud:{%s}:nodes", id, 0);
	const json_t *t;
	size_t i;
	int ok = json_array_size(recs) == WANT && json_array_size(cloud) == WANT;

	json_array_foreach (recs, i, t)
		ok = ok && contains(cloud, t);
	json_array_foreach (cloud, i, t)
		ok = ok && contains(recs, t);
	snprintf(why, n, "%zu records, %zu cloud instances", json_array_size(recs),
		 json_array_size(cloud));
	json_decref(recs);
	json_decref(cloud);
	return ok;
}

static void test_crash__killed_builds_converge(void **state)
{
	struct occo_test_progs *f = *state;
	unsigned seed = (unsigned)time(NULL);
	int round;

	srand(seed);
	for (round = 0; round < ROUNDS; round++) {
		char id[OCCO_UUID_STRLEN + 1], why[128];
		useconds_t at = (useconds_t)(rand() % 250) * 1000; /* a build takes about 200 ms */
		int pass, known;

		occo_uuid4(id, NULL);
		known = occo_test_progs_kill_build(f, NULL, "infra.yaml", id, 0, 0,
						   (unsigned)(at / 1000));
		/* whatever was left: maintain until it matches the description */
		for (pass = 0; pass < 4; pass++) {
			if (!known) {
				/* killed before the description was stored: the cloud has nothing */
				redisReply *c =
					redisCommand(f->rc, "HLEN occo:dummycloud:{%s}:nodes", id);

				if (c->integer != 0)
					fail_msg("seed %u round %d: %lld instances of an unknown "
						 "infrastructure",
						 seed, round, c->integer);
				freeReplyObject(c);
				break;
			}
			if (converged(f, id, why, sizeof(why)))
				break;
			occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL);
		}
		if (pass == 4 && !converged(f, id, why, sizeof(why)))
			fail_msg("seed %u round %d (killed at %u ms): not converged: %s", seed,
				 round, (unsigned)(at / 1000), why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_crash__killed_builds_converge, setup,
						occo_test_progs_free),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
