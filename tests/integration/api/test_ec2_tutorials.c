/*
 * test_ec2_tutorials.c - Occopus's tutorials ec2-helloworld and ec2-ping, as a user runs them
 * (occopus-import, occopus-build, occopus-maintain, occopus-destroy), against a real moto EC2
 * server that checks signatures and a real redis-server.
 *
 * The tutorials are copied from ../shared/occopus-tutorials and edited as their README says:
 * the endpoint is moto, the image an AMI of moto's list, the key pair, security groups and
 * subnet are made in moto; auth_data.yaml holds the IAM key. Every node definition also gets
 * `health_check: {ping: false}`: moto's instances are API objects with no machine to ping.
 *
 * What is checked: the build and its report, the instances' key, subnet, groups and user data
 * in the cloud, a maintenance pass replacing an instance terminated through the EC2 API, builds
 * killed with SIGKILL part-way leaving no instance the store does not know once maintained,
 * destroy leaving no live instance, and the secret key in no output and nowhere in Redis.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "moto.h"
#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/id.h"

#define KILL_ROUNDS 8

static struct occo_test_moto moto;

static char *ec2_text(const char *form, const char *name)
{
	char *body = NULL, *v;

	if (occo_test_moto_ec2(&moto, form, &body) != 200)
		fail_msg("%s: %s", form, body);
	v = occo_test_xml_text(body, name);
	if (!v)
		fail_msg("%s: no <%s> in %s", form, name, body);
	free(body);
	return v;
}

static int group_setup(void **state)
{
	(void)state;
	if (!occo_test_moto_available()) {
		fprintf(stderr, "moto_server is missing: skipped\n");
		exit(OCCO_TEST_SKIP);
	}
	return occo_test_moto_start(&moto) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	occo_test_moto_stop(&moto);
	return 0;
}

static int setup(void **state)
{
	static char *const env[] = { "OCCOPUS_LOG_LEVEL=debug", NULL };
	struct occo_test_progs *f;
	char *vpc, *subnet, *sg1, *sg2, *ami, *form, *auth;

	if (occo_test_moto_reset(&moto) < 0)
		return -1;
	f = occo_calloc(1, sizeof(*f));
	if (occo_test_progs_setup(f, "ec2-tutorials", env) < 0)
		return -1;

	/* what the README asks the user to look up or make on the cloud */
	vpc = ec2_text("Action=DescribeVpcs&Filter.1.Name=isDefault&Filter.1.Value.1=true",
		       "vpcId");
	form = occo_asprintf("Action=DescribeSubnets&Filter.1.Name=vpc-id&Filter.1.Value.1=%s",
			     vpc);
	subnet = ec2_text(form, "subnetId");
	free(form);
	form = occo_asprintf(
		"Action=DescribeSecurityGroups&Filter.1.Name=vpc-id"
		"&Filter.1.Value.1=%s&Filter.2.Name=group-name&Filter.2.Value.1=default",
		vpc);
	sg1 = ec2_text(form, "groupId");
	free(form);
	form = occo_asprintf("Action=CreateSecurityGroup&GroupName=occo-web"
			     "&GroupDescription=web&VpcId=%s",
			     vpc);
	sg2 = ec2_text(form, "groupId");
	free(form);
	free(ec2_text("Action=CreateKeyPair&KeyName=occo-key", "keyName"));
	ami = occo_test_moto_ami(&moto);
	assert_non_null(ami);
	{
		const char *const subst[][2] = {
			{ "replace_with_endpoint_of_ec2_interface_of_your_cloud", moto.url },
			{ "replace_with_regionname_of_your_ec2_interface", OCCO_TEST_MOTO_REGION },
			{ "replace_with_id_of_your_image_on_your_target_cloud", ami },
			{ "replace_with_instance_type_of_your_image_on_your_target_cloud",
			  "t2.micro" },
			{ "replace_with_key_name_on_your_target_cloud", "occo-key" },
			{ "replace_with_security_group_id1_on_your_target_cloud", sg1 },
			{ "replace_with_security_group_id2_on_your_target_cloud", sg2 },
			{ "replace_with_subnet_id_on_your_target_cloud", subnet },
			{ "\n    contextualisation:\n",
			  "\n    health_check:\n      ping: false\n    contextualisation:\n" },
		};

		occo_test_progs_tutorial(f, "ec2-helloworld", subst,
					 sizeof(subst) / sizeof(subst[0]));
		occo_test_progs_tutorial(f, "ec2-ping", subst, sizeof(subst) / sizeof(subst[0]));
	}
	auth = occo_asprintf("resource:\n"
			     "    -\n"
			     "        type: ec2\n"
			     "        auth_data:\n"
			     "            accesskey: %s\n"
			     "            secretkey: %s\n",
			     moto.access, moto.secret);
	occo_test_progs_auth(f, auth);
	free(auth);
	free(vpc);
	free(ami);
	free(sg1);
	free(sg2);
	*state = f;
	occo_test_progs_cd(f, "ec2-helloworld");
	assert_int_equal(
		occo_test_progs_run(f, NULL, NULL, "import", "nodes/node_definitions.yaml", NULL),
		0);
	occo_test_progs_cd(f, "ec2-ping");
	assert_int_equal(
		occo_test_progs_run(f, NULL, NULL, "import", "nodes/node_definitions.yaml", NULL),
		0);
	free(subnet);
	return 0;
}

/* The credentials are in no output of the programs and nowhere in Redis. */
static void assert_no_secret(struct occo_test_progs *f)
{
	char *dump = occo_test_redis_dump(f->rc);

	assert_true(strlen(dump) > 0);
	if (strstr(dump, moto.secret))
		fail_msg("the secret key is in Redis");
	if (strstr(dump, moto.access))
		fail_msg("the access key is in Redis");
	if (strstr(occo_buf_str(&f->said), moto.secret))
		fail_msg("a program printed the secret key");
	free(dump);
}

/* Build a tutorial (the programs run in its directory from now on); returns the id. */
static char *build(struct occo_test_progs *f, const char *tutorial, const char *infra_file)
{
	char *out, *id;

	occo_test_progs_cd(f, tutorial);
	id = occo_test_progs_build(f, infra_file, &out);
	assert_non_null(strstr(out, "List of nodes/instances/addresses:\n"));
	free(out);
	return id;
}

static int count(const json_t *insts, const char *node, const char *state)
{
	const json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach (insts, i, v) {
		const char *s = json_string_value(json_object_get(v, "state"));

		if (node && strcmp(json_string_value(json_object_get(v, "node")), node))
			continue;
		if (!state ? strcmp(s, "terminated") != 0 : !strcmp(s, state))
			n++;
	}
	return n;
}

/* The id of the live instance of a node (there must be one). */
static char *live_id(const json_t *insts, const char *node)
{
	const json_t *v;
	size_t i;

	json_array_foreach (insts, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "node")), node) &&
		    strcmp(json_string_value(json_object_get(v, "state")), "terminated"))
			return occo_strdup(json_string_value(json_object_get(v, "id")));
	fail_msg("no live instance of '%s'", node);
	return NULL;
}

static void destroy(struct occo_test_progs *f, const char *tutorial, const char *id)
{
	char *err = NULL;
	json_t *insts;

	occo_test_progs_cd(f, tutorial);
	assert_int_equal(occo_test_progs_run(f, NULL, &err, "destroy", "-i", id, NULL), 0);
	assert_non_null(strstr(err, "Finished dropping infrastructure"));
	free(err);
	insts = occo_test_moto_instances(&moto, id);
	assert_true(json_array_size(insts) > 0);
	assert_int_equal(count(insts, NULL, NULL), 0); /* all terminated */
	json_decref(insts);
	{
		redisReply *r = redisCommand(f->rc, "KEYS *%s*", id);

		assert_int_equal(r->elements, 0);
		freeReplyObject(r);
	}
}

static void test_ec2_tutorials__helloworld(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f, "ec2-helloworld", "infra-ec2-helloworld.yaml");
	char *iid, *ud, *out = NULL;
	json_t *insts = occo_test_moto_instances(&moto, id), *v;

	/* one running instance, as the node definition says */
	assert_int_equal(json_array_size(insts), 1);
	assert_int_equal(count(insts, "helloworld", "running"), 1);
	v = json_array_get(insts, 0);
	assert_string_equal(json_string_value(json_object_get(v, "key_name")), "occo-key");
	assert_true(!strncmp(json_string_value(json_object_get(v, "subnet_id")), "subnet-", 7));
	assert_int_equal(json_array_size(json_object_get(v, "groups")), 2);
	iid = occo_strdup(json_string_value(json_object_get(v, "id")));
	ud = occo_test_moto_user_data(&moto, iid);
	assert_non_null(ud);
	assert_true(!strncmp(ud, "#cloud-config\n", 14));
	assert_non_null(strstr(ud, "Hello World! I have been created by Occopus"));
	assert_non_null(strstr(ud, "/tmp/helloworld.txt"));
	free(ud);
	json_decref(insts);

	/* the report; a pass with nothing to do changes nothing */
	assert_int_equal(occo_test_progs_run(f, &out, NULL, "maintain", "-i", id, "-r", NULL), 0);
	assert_non_null(strstr(out, "helloworld:"));
	assert_non_null(strstr(out, ".compute-1.amazonaws.com"));
	free(out);
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL), 0);
	insts = occo_test_moto_instances(&moto, id);
	assert_int_equal(json_array_size(insts), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(insts, 0), "id")),
			    iid);
	json_decref(insts);

	assert_no_secret(f);
	destroy(f, "ec2-helloworld", id);
	assert_no_secret(f);
	free(iid);
	free(id);
}

static void test_ec2_tutorials__ping_replaced_by_maintain(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f, "ec2-ping", "infra-ec2-ping.yaml");
	json_t *insts = occo_test_moto_instances(&moto, id), *recs;
	char *recv = live_id(insts, "ping-receiver"), *send = live_id(insts, "ping-sender");
	char *ud = occo_test_moto_user_data(&moto, send), *ping, *recv2, *send2;
	redisReply *r;
	size_t i;

	assert_int_equal(count(insts, NULL, "running"), 2);
	/* the sender pings the receiver's address (getip: its public DNS name) */
	for (i = 0; i < json_array_size(insts); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(insts, i), "id")),
			    recv))
			break;
	ping = occo_asprintf("ping %s -c 5",
			     json_string_value(json_object_get(json_array_get(insts, i), "dns")));
	if (!strstr(ud, ping))
		fail_msg("'%s' not in the sender's user data:\n%s", ping, ud);
	assert_non_null(strstr(ud, "Hello World! I am the sender node created by Occopus."));
	free(ping);
	free(ud);
	json_decref(insts);

	/* terminated behind the orchestrator's back: a maintenance pass replaces it */
	assert_int_equal(occo_test_moto_terminate(&moto, recv), 0);
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL), 0);
	insts = occo_test_moto_instances(&moto, id);
	assert_int_equal(count(insts, "ping-receiver", "running"), 1);
	assert_int_equal(count(insts, "ping-receiver", "terminated"), 1);
	assert_int_equal(count(insts, "ping-sender", "running"), 1);
	recv2 = live_id(insts, "ping-receiver");
	assert_string_not_equal(recv2, recv);
	send2 = live_id(insts, "ping-sender");
	assert_string_equal(send2, send);
	free(send2);
	json_decref(insts);
	/* the store knows the new one, ready */
	r = redisCommand(f->rc, "HVALS occo:{%s}:nodes", id);
	assert_int_equal(r->elements, 2);
	recs = json_array();
	for (i = 0; i < r->elements; i++) {
		json_t *rec = json_loads(r->element[i]->str, 0, NULL);

		assert_string_equal(json_string_value(json_object_get(rec, "state")), "ready");
		json_array_append(recs, json_object_get(rec, "instance_id"));
		json_decref(rec);
	}
	freeReplyObject(r);
	{
		char *s = json_dumps(recs, JSON_COMPACT);

		assert_non_null(strstr(s, recv2));
		assert_non_null(strstr(s, send));
		free(s);
	}
	json_decref(recs);
	assert_no_secret(f);
	destroy(f, "ec2-ping", id);
	assert_no_secret(f);
	free(recv);
	free(recv2);
	free(send);
	free(id);
}

/*
 * The store and the cloud agree: the live instances of the infrastructure are exactly those of
 * the records (by token), two of them, every record ready.
 */
static int converged(struct occo_test_progs *f, const char *id, char *why, size_t n)
{
	redisReply *r = redisCommand(f->rc, "HVALS occo:{%s}:nodes", id);
	json_t *insts = occo_test_moto_instances(&moto, id), *tokens = json_object(), *v;
	int ok = r && r->elements == 2, live = 0;
	size_t i;

	for (i = 0; r && i < r->elements; i++) {
		json_t *rec = json_loads(r->element[i]->str, 0, NULL);
		const char *st = json_string_value(json_object_get(rec, "state"));

		ok = ok && st && !strcmp(st, "ready");
		json_object_set_new(tokens, json_string_value(json_object_get(rec, "token")),
				    json_true());
		json_decref(rec);
	}
	json_array_foreach (insts, i, v) {
		const char *token = json_string_value(json_object_get(v, "token"));

		if (!strcmp(json_string_value(json_object_get(v, "state")), "terminated"))
			continue;
		live++;
		if (!token || !json_object_get(tokens, token)) {
			ok = 0;
			snprintf(why, n, "instance %s (token %s) is unknown to the store",
				 json_string_value(json_object_get(v, "id")), token ? token : "-");
			goto out;
		}
	}
	ok = ok && live == 2;
	snprintf(why, n, "%zu records, %d live instances", r ? r->elements : 0, live);
out:
	json_decref(tokens);
	json_decref(insts);
	freeReplyObject(r);
	return ok;
}

static void test_ec2_tutorials__killed_builds_leave_nothing_unknown(void **state)
{
	struct occo_test_progs *f = *state;
	unsigned seed = (unsigned)time(NULL);
	char *log = occo_asprintf("%s/build.log", f->dir);
	int round;

	occo_test_progs_cd(f, "ec2-ping");
	srand(seed);
	for (round = 0; round < KILL_ROUNDS; round++) {
		/*
		 * A build takes about half a second here. Even rounds kill it at a random
		 * moment of it; odd rounds right after it stored a record in state `creating`
		 * (the cloud is being asked, or about to be), plus up to 20 ms.
		 */
		useconds_t at = (useconds_t)(100 + round * 60 + rand() % 60) * 1000;
		char id[OCCO_UUID_STRLEN + 1], why[256];
		int pass, known;

		occo_uuid4(id, NULL);
		if (round % 2)
			at = (useconds_t)(rand() % 20) * 1000;
		known = occo_test_progs_kill_build(f, log, "infra-ec2-ping.yaml", id, round % 2,
						   5000, (unsigned)(at / 1000));
		if (!known) {
			/* killed before the description was stored: the cloud has nothing */
			json_t *insts = occo_test_moto_instances(&moto, id);

			if (json_array_size(insts))
				fail_msg("seed %u round %d: instances of an unknown infrastructure",
					 seed, round);
			json_decref(insts);
			continue;
		}
		for (pass = 0; pass < 3 && !converged(f, id, why, sizeof(why)); pass++)
			occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL);
		if (!converged(f, id, why, sizeof(why)))
			fail_msg("seed %u round %d (killed at %u ms%s): %s", seed, round,
				 (unsigned)(at / 1000), round % 2 ? " after a record" : "", why);
		destroy(f, "ec2-ping", id);
	}
	assert_no_secret(f);
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ec2_tutorials__helloworld, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_ec2_tutorials__ping_replaced_by_maintain,
						setup, occo_test_progs_free),
		cmocka_unit_test_setup_teardown(
			test_ec2_tutorials__killed_builds_leave_nothing_unknown, setup,
			occo_test_progs_free),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
