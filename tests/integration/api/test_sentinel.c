/*
 * test_sentinel.c - the programs reach a state store behind Redis Sentinel: occopus-import with
 * $OCCOPUS_REDIS_URL=redis+sentinel://... stores its node definitions on the master the
 * sentinels name, and says clearly (without the sentinels' password) when no sentinel answers.
 */
#include <stdlib.h>
#include <string.h>

#include "progs.h"
#include "sentinel.h"
#include "testutil.h"
#include "occo/util/alloc.h"

#define MASTER "occo-master"

static const char nodes_yaml[] = "'node_def:a':\n"
				 "  - resource: {type: dummy}\n";

/*
 * The fixture for a store of the test's own (no private server): HOME with nodes.yaml, the
 * default log level, so that a secret said at any level shows.
 */
static void progs_setup(struct occo_test_progs *p, const char *name)
{
	static char *const env[] = { "OCCOPUS_REDIS_URL=", "OCCOPUS_LOG_LEVEL=info", NULL };

	assert_int_equal(occo_test_progs_setup(p, name, env), 0);
	occo_test_write_file(p->dir, "nodes.yaml", nodes_yaml);
}

/* occopus-import nodes.yaml with the store at url; *err_out gets its stderr. */
static int run_import(struct occo_test_progs *p, const char *url, char **err_out)
{
	char *env_url = occo_asprintf("OCCOPUS_REDIS_URL=%s", url);

	occo_test_progs_setenv(p, env_url);
	free(env_url);
	return occo_test_progs_run(p, NULL, err_out, "import", "nodes.yaml", NULL);
}

static void test_api_app_connect__through_sentinels(void **state)
{
	struct occo_test_sentinels t;
	struct occo_test_progs p;
	char *url, *err = NULL;
	redisReply *rep;
	int rc;

	(void)state;
	progs_setup(&p, "sentinel-app");
	if (occo_test_sentinels_start(&t, MASTER) < 0) {
		occo_test_sentinels_stop(&t);
		fail_msg("cannot start the master, the replica and the sentinels");
	}
	/* the first sentinel is down: the next ones are asked */
	url = occo_asprintf("redis+sentinel://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/" MASTER,
			    occo_test_free_port(), t.sentinel_port[0], t.sentinel_port[1]);
	rc = run_import(&p, url, &err);
	if (rc != 0)
		fail_msg("occopus-import exited %d: %s", rc, err);
	free(err);
	rep = occo_test_tcp_command(t.master_port, "DBSIZE");
	assert_non_null(rep);
	assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
	assert_true(rep->integer > 0);
	freeReplyObject(rep);

	free(url);
	occo_test_sentinels_stop(&t);
	occo_test_progs_teardown(&p);
}

static void test_api_app_connect__no_sentinel_answers(void **state)
{
	struct occo_test_progs p;
	char *url, *err = NULL;
	int p1 = occo_test_free_port(), p2 = occo_test_free_port();
	char want[128];

	(void)state;
	progs_setup(&p, "sentinel-app");
	url = occo_asprintf("sentinel://127.0.0.1:%d,127.0.0.1:%d/" MASTER
			    "?sentinel_password=hunter2-secret",
			    p1, p2);
	assert_int_not_equal(run_import(&p, url, &err), 0);
	assert_non_null(strstr(err, "cannot reach the state store (configured by "
				    "$OCCOPUS_REDIS_URL)"));
	assert_non_null(strstr(err, "no sentinel gave the address of master '" MASTER "'"));
	snprintf(want, sizeof(want), "sentinel 127.0.0.1:%d: cannot connect", p2);
	assert_non_null(strstr(err, want));
	assert_null(strstr(err, "hunter2"));
	free(err);
	free(url);
	occo_test_progs_teardown(&p);
}

/* ACL SETUSER on the server at port; fails the test unless it says OK. */
static void acl_user(int port, const char *user, const char *pass)
{
	redisReply *rep =
		occo_test_tcp_command(port, "ACL SETUSER %s on >%s ~* &* +@all", user, pass);

	assert_non_null(rep);
	if (rep->type != REDIS_REPLY_STATUS)
		fail_msg("ACL SETUSER on port %d: %s", port, rep->str ? rep->str : "?");
	freeReplyObject(rep);
}

/*
 * Redis 6 ACL users, the master's in the URL's user part and the sentinels' in the query: with
 * the right passwords the import reaches the master; a wrong one fails, which shows that the
 * user was named (the default user, which has no password here, would let any password in).
 */
static void test_api_app_connect__acl_users(void **state)
{
	struct occo_test_sentinels t;
	struct occo_test_progs p;
	char *url, *err = NULL;
	int i, rc;

	(void)state;
	progs_setup(&p, "sentinel-acl");
	if (occo_test_sentinels_start(&t, MASTER) < 0) {
		occo_test_sentinels_stop(&t);
		fail_msg("cannot start the master, the replica and the sentinels");
	}
	acl_user(t.master_port, "occo", "m-pw");
	acl_user(t.replica_port, "occo", "m-pw");
	for (i = 0; i < OCCO_TEST_SENTINELS; i++)
		acl_user(t.sentinel_port[i], "watcher", "w-pw");

	url = occo_asprintf("redis+sentinel://occo:m-pw@127.0.0.1:%d/" MASTER
			    "?sentinel_username=watcher&sentinel_password=w-pw",
			    t.sentinel_port[0]);
	rc = run_import(&p, url, &err);
	if (rc != 0)
		fail_msg("occopus-import exited %d: %s", rc, err);
	free(err);
	free(url);

	/* the master's user with a wrong password */
	url = occo_asprintf("redis+sentinel://occo:not-it@127.0.0.1:%d/" MASTER
			    "?sentinel_username=watcher&sentinel_password=w-pw",
			    t.sentinel_port[0]);
	assert_int_not_equal(run_import(&p, url, &err), 0);
	assert_non_null(strstr(err, "authentication failed"));
	assert_null(strstr(err, "not-it"));
	free(err);
	free(url);

	/* the sentinels' user with a wrong password: no sentinel answers */
	url = occo_asprintf("redis+sentinel://occo:m-pw@127.0.0.1:%d/" MASTER
			    "?sentinel_username=watcher&sentinel_password=not-it",
			    t.sentinel_port[0]);
	assert_int_not_equal(run_import(&p, url, &err), 0);
	assert_non_null(strstr(err, "no sentinel gave the address of master '" MASTER "'"));
	assert_null(strstr(err, "not-it"));
	free(err);
	free(url);

	occo_test_sentinels_stop(&t);
	occo_test_progs_teardown(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_app_connect__through_sentinels),
		cmocka_unit_test(test_api_app_connect__no_sentinel_answers),
		cmocka_unit_test(test_api_app_connect__acl_users),
	};

	if (!occo_test_have_program("redis-server"))
		return OCCO_TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
