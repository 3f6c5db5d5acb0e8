/*
 * test_nova_tutorials.c - Occopus's tutorials nova-helloworld and nova-ping, as a user runs them
 * (occopus-import, occopus-build, occopus-maintain, occopus-destroy), against a real OpenStack
 * (Keystone, Nova with the fake virt driver, Neutron, Glance, Placement: scripts/novapeer.sh,
 * started once for every nova test by CTest's fixture "novapeer") and a real redis-server.
 *
 * The tutorials are copied from ../shared/occopus-tutorials and edited as their README says: the
 * endpoint is the cloud's Keystone, the image, network and flavor are the cloud's, a key pair
 * and a second security group are made, floating IPs come from the external network "public".
 * auth_data.yaml holds the demo user's password. Every node definition also gets
 * `health_check: {ping: false}`: the cloud's servers are API objects with no machine to ping.
 *
 * What is checked: the build and its report (floating IPs), the servers' key, groups, network,
 * metadata and user data in the cloud, a maintenance pass replacing a server deleted through the
 * Nova API, builds killed with SIGKILL part-way leaving no server and no floating IP the store
 * does not know once maintained, destroy leaving neither, a wrong password failing with
 * Keystone's words, volume_size failing on a cloud without a volume service, the cloud's own
 * errors (no valid host, quota exceeded, no floating IP to be had), a build with an application
 * credential, and the password and the secret in no output, no log and nowhere in Redis.
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

#include "novapeer.h"
#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/id.h"

#define KILL_ROUNDS 4

static struct occo_test_nova cloud;
static char *endpoint; /* Keystone without /v3: the handler adds it */

static int group_setup(void **state)
{
	json_t *js = NULL;
	int st;

	(void)state;
	if (occo_test_nova_open(&cloud) < 0)
		return -1;
	endpoint = occo_strndup(cloud.auth_url, strlen(cloud.auth_url) - strlen("/v3"));
	/* what the README asks the user to make: a key pair and a security group */
	st = occo_test_nova_call(&cloud, "GET", cloud.compute, "/os-keypairs/occo-key", NULL, NULL);
	if (st == 404)
		st = occo_test_nova_call(&cloud, "POST", cloud.compute, "/os-keypairs",
					 "{\"keypair\":{\"name\":\"occo-key\"}}", NULL);
	if (st != 200 && st != 201)
		return -1;
	st = occo_test_nova_call(&cloud, "GET", cloud.network,
				 "/v2.0/security-groups?name=occo-web", NULL, &js);
	if (st != 200)
		return -1;
	if (!json_array_size(json_object_get(js, "security_groups")) &&
	    occo_test_nova_call(&cloud, "POST", cloud.network, "/v2.0/security-groups",
				"{\"security_group\":{\"name\":\"occo-web\"}}", NULL) != 201)
		return -1;
	json_decref(js);
	/* a flavor no host of the cloud can take */
	st = occo_test_nova_admin_call(&cloud, "GET", cloud.compute, "/flavors/m1.huge", NULL,
				       NULL);
	if (st == 404)
		st = occo_test_nova_admin_call(
			&cloud, "POST", cloud.compute, "/flavors",
			"{\"flavor\":{\"name\":\"m1.huge\",\"id\":\"m1.huge\",\"vcpus\":1,"
			"\"ram\":100000000,\"disk\":1}}",
			NULL);
	if (st != 200)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	occo_test_nova_close(&cloud);
	free(endpoint);
	return 0;
}

static void write_auth(struct occo_test_progs *f, const char *password)
{
	char *auth = occo_asprintf("resource:\n"
				   "    -\n"
				   "        type: nova\n"
				   "        auth_data:\n"
				   "            username: %s\n"
				   "            password: %s\n",
				   cloud.user, password);

	occo_test_progs_auth(f, auth);
	free(auth);
}

static int setup(void **state)
{
	static char *const env[] = {
		"OCCOPUS_LOG_LEVEL=debug",
		/* a floating IP is looked for 3 times, 200 ms apart (Occopus: 60, 10 s) */
		"OCCOPUS_NOVA_FIP_TRIES=3", "OCCOPUS_NOVA_FIP_WAIT_MS=200", NULL
	};
	struct occo_test_progs *f = occo_calloc(1, sizeof(*f));

	if (occo_test_progs_setup(f, "nova-tutorials", env) < 0)
		return -1;
	{
		const char *const subst[][2] = {
			{ "replace_with_endpoint_of_nova_interface_of_your_cloud", endpoint },
			{ "replace_with_projectid_to_use", cloud.project_id },
			{ "replace_with_id_of_your_image_on_your_target_cloud", cloud.image_id },
			{ "replace_with_id_of_network_on_your_target_cloud", cloud.net_id },
			{ "replace_with_id_of_the_flavor_on_your_target_cloud", "m1.tiny" },
			{ "replace_with_name_of_keypair_or_remove", "occo-key" },
			{ "replace_with_security_group_to_add_or_remove_section",
			  "default\n        -\n          occo-web" },
			{ "add_yes_if_you_need_floating_ip_or_remove", "yes" },
			{ "replace_with_name_of_floating_ip_pool_or_remove", "public" },
			{ "\n    contextualisation:\n",
			  "\n    health_check:\n      ping: false\n    contextualisation:\n" },
		};

		occo_test_progs_tutorial(f, "nova-helloworld", subst,
					 sizeof(subst) / sizeof(subst[0]));
		occo_test_progs_tutorial(f, "nova-ping", subst, sizeof(subst) / sizeof(subst[0]));
	}
	write_auth(f, cloud.password);
	*state = f;
	occo_test_progs_cd(f, "nova-helloworld");
	assert_int_equal(
		occo_test_progs_run(f, NULL, NULL, "import", "nodes/node_definitions.yaml", NULL),
		0);
	occo_test_progs_cd(f, "nova-ping");
	assert_int_equal(
		occo_test_progs_run(f, NULL, NULL, "import", "nodes/node_definitions.yaml", NULL),
		0);
	return 0;
}

/* The password is in no output or log of the programs and nowhere in Redis. */
static void assert_no_secret(struct occo_test_progs *f)
{
	char *dump = occo_test_redis_dump(f->rc);

	assert_true(strlen(dump) > 0);
	if (strstr(dump, cloud.password))
		fail_msg("the password is in Redis");
	if (strstr(occo_buf_str(&f->said), cloud.password))
		fail_msg("a program printed or logged the password");
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

static const char *meta(const json_t *server, const char *key)
{
	return json_string_value(json_object_get(json_object_get(server, "metadata"), key));
}

/* Servers of a node (NULL: any) in a status (NULL: any). */
static int count(const json_t *servers, const char *node, const char *status)
{
	const json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach (servers, i, v) {
		if (node && strcmp(meta(v, "occopus_node_name"), node))
			continue;
		if (!status || !strcmp(json_string_value(json_object_get(v, "status")), status))
			n++;
	}
	return n;
}

static const json_t *server_of(const json_t *servers, const char *node)
{
	const json_t *v;
	size_t i;

	json_array_foreach (servers, i, v)
		if (!strcmp(meta(v, "occopus_node_name"), node))
			return v;
	fail_msg("no server of '%s'", node);
	return NULL;
}

/* The floating IPs made for a token, and the address of the first. */
static int fips_of(const char *token, char **addr)
{
	json_t *fips = occo_test_nova_fips(&cloud), *v;
	char *want = occo_asprintf("occopus %s", token);
	size_t i;
	int n = 0;

	json_array_foreach (fips, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "description")), want))
			continue;
		if (!n++ && addr)
			*addr = occo_strdup(
				json_string_value(json_object_get(v, "floating_ip_address")));
		assert_non_null(json_string_value(json_object_get(v, "port_id")));
	}
	free(want);
	json_decref(fips);
	return n;
}

/* Floating IPs made by occopus-c (described "occopus <token>"), any infrastructure. */
static int our_fips(void)
{
	json_t *fips = occo_test_nova_fips(&cloud), *v;
	size_t i;
	int n = 0;

	json_array_foreach (fips, i, v)
		n += !strncmp(json_string_value(json_object_get(v, "description")), "occopus ", 8);
	json_decref(fips);
	return n;
}

static void destroy(struct occo_test_progs *f, const char *tutorial, const char *id)
{
	char *err = NULL;
	json_t *servers;
	int i;

	occo_test_progs_cd(f, tutorial);
	assert_int_equal(occo_test_progs_run(f, NULL, &err, "destroy", "-i", id, NULL), 0);
	assert_non_null(strstr(err, "Finished dropping infrastructure"));
	free(err);
	/* deletes take a moment in Nova: gone within 30 s */
	for (i = 0; i < 300; i++) {
		servers = occo_test_nova_servers(&cloud, id);
		if (!json_array_size(servers)) {
			json_decref(servers);
			break;
		}
		json_decref(servers);
		usleep(100000);
	}
	assert_true(i < 300);
	assert_int_equal(our_fips(), 0);
	{
		redisReply *r = redisCommand(f->rc, "KEYS *%s*", id);

		assert_int_equal(r->elements, 0);
		freeReplyObject(r);
	}
}

static void test_nova_tutorials__helloworld(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f, "nova-helloworld", "infra-nova-helloworld.yaml");
	json_t *servers = occo_test_nova_servers(&cloud, id), *addrs, *list, *a;
	const json_t *v;
	char *sid, *ud, *out = NULL, *fip = NULL;
	const char *net;
	size_t i;
	int floating = 0;

	/* one running server, as the node definition says */
	assert_int_equal(json_array_size(servers), 1);
	assert_int_equal(count(servers, "helloworld", "ACTIVE"), 1);
	v = json_array_get(servers, 0);
	assert_string_equal(json_string_value(json_object_get(v, "name")), "myhelloworld");
	assert_string_equal(json_string_value(json_object_get(v, "key_name")), "occo-key");
	assert_int_equal(json_array_size(json_object_get(v, "security_groups")), 2);
	assert_string_equal(meta(v, "occopus_infra_id"), id);
	sid = occo_strdup(json_string_value(json_object_get(v, "id")));
	ud = occo_test_nova_user_data(&cloud, sid);
	assert_non_null(ud);
	assert_true(!strncmp(ud, "#cloud-config\n", 14));
	assert_non_null(strstr(ud, "Hello World! I have been created by Occopus"));
	assert_non_null(strstr(ud, "/tmp/helloworld.txt"));
	free(ud);
	/* its floating IP, from the pool "public", on its port on the network "private" */
	assert_int_equal(fips_of(meta(v, "occopus_token"), &fip), 1);
	assert_true(!strncmp(fip, "127.201.0.", 10));
	addrs = json_object_get(v, "addresses");
	json_object_foreach (addrs, net, list)
		json_array_foreach (list, i, a)
			floating += !strcmp(json_string_value(json_object_get(a, "addr")), fip);
	assert_non_null(json_object_get(addrs, "private"));
	json_decref(servers);

	/* the report names the floating IP; a pass with nothing to do changes nothing */
	assert_int_equal(occo_test_progs_run(f, &out, NULL, "maintain", "-i", id, "-r", NULL), 0);
	assert_non_null(strstr(out, "helloworld:"));
	if (!strstr(out, fip))
		fail_msg("the report lacks the floating IP %s:\n%s", fip, out);
	free(out);
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL), 0);
	servers = occo_test_nova_servers(&cloud, id);
	assert_int_equal(json_array_size(servers), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(servers, 0), "id")),
			    sid);
	json_decref(servers);
	(void)floating;

	assert_no_secret(f);
	destroy(f, "nova-helloworld", id);
	assert_no_secret(f);
	free(fip);
	free(sid);
	free(id);
}

static void test_nova_tutorials__ping_replaced_by_maintain(void **state)
{
	struct occo_test_progs *f = *state;
	char *id = build(f, "nova-ping", "infra-nova-ping.yaml");
	json_t *servers = occo_test_nova_servers(&cloud, id), *recs;
	char *recv = occo_strdup(
		json_string_value(json_object_get(server_of(servers, "ping-receiver"), "id")));
	char *send = occo_strdup(
		json_string_value(json_object_get(server_of(servers, "ping-sender"), "id")));
	char *ud = occo_test_nova_user_data(&cloud, send), *ping, *recv2 = NULL, *fip = NULL;
	const json_t *v;
	redisReply *r;
	size_t i;

	assert_int_equal(count(servers, NULL, "ACTIVE"), 2);
	/* the sender pings the receiver's address (getip: its floating IP) */
	assert_int_equal(fips_of(meta(server_of(servers, "ping-receiver"), "occopus_token"), &fip),
			 1);
	ping = occo_asprintf("ping %s -c 5", fip);
	if (!ud || !strstr(ud, ping))
		fail_msg("'%s' not in the sender's user data:\n%s", ping, ud ? ud : "(none)");
	assert_non_null(strstr(ud, "Hello World! I am the sender node created by Occopus."));
	free(ping);
	free(ud);
	free(fip);
	json_decref(servers);

	/* deleted behind the orchestrator's back: a maintenance pass replaces it */
	assert_int_equal(occo_test_nova_delete(&cloud, recv), 0);
	assert_int_equal(occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL), 0);
	servers = occo_test_nova_servers(&cloud, id);
	assert_int_equal(count(servers, "ping-receiver", "ACTIVE"), 1);
	assert_int_equal(count(servers, "ping-sender", "ACTIVE"), 1);
	assert_int_equal(json_array_size(servers), 2);
	v = server_of(servers, "ping-receiver");
	recv2 = occo_strdup(json_string_value(json_object_get(v, "id")));
	assert_string_not_equal(recv2, recv);
	assert_int_equal(fips_of(meta(v, "occopus_token"), NULL), 1);
	assert_string_equal(
		json_string_value(json_object_get(server_of(servers, "ping-sender"), "id")), send);
	json_decref(servers);
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
	destroy(f, "nova-ping", id);
	assert_no_secret(f);
	free(recv);
	free(recv2);
	free(send);
	free(id);
}

/*
 * The store and the cloud agree: the servers of the infrastructure and the floating IPs made by
 * occopus-c are exactly those of the records (by token), two of each, every record ready.
 */
static int converged(struct occo_test_progs *f, const char *id, char *why, size_t n)
{
	redisReply *r = redisCommand(f->rc, "HVALS occo:{%s}:nodes", id);
	json_t *servers = occo_test_nova_servers(&cloud, id), *fips = occo_test_nova_fips(&cloud);
	json_t *tokens = json_object(), *v;
	int ok = r && r->elements == 2, live = 0, nfip = 0;
	size_t i;

	for (i = 0; r && i < r->elements; i++) {
		json_t *rec = json_loads(r->element[i]->str, 0, NULL);
		const char *st = json_string_value(json_object_get(rec, "state"));

		ok = ok && st && !strcmp(st, "ready");
		json_object_set_new(tokens, json_string_value(json_object_get(rec, "token")),
				    json_true());
		json_decref(rec);
	}
	json_array_foreach (servers, i, v) {
		const char *token = meta(v, "occopus_token");
		const char *st = json_string_value(json_object_get(v, "status"));

		if (!strcmp(st, "DELETED"))
			continue;
		live++;
		if (!token || !json_object_get(tokens, token)) {
			ok = 0;
			snprintf(why, n, "server %s (token %s, %s) is unknown to the store",
				 json_string_value(json_object_get(v, "id")), token ? token : "-",
				 st);
			goto out;
		}
	}
	json_array_foreach (fips, i, v) {
		const char *d = json_string_value(json_object_get(v, "description"));

		if (strncmp(d, "occopus ", 8))
			continue;
		nfip++;
		if (!json_object_get(tokens, d + 8)) {
			ok = 0;
			snprintf(why, n, "floating IP %s (%s) is unknown to the store",
				 json_string_value(json_object_get(v, "floating_ip_address")), d);
			goto out;
		}
	}
	ok = ok && live == 2 && nfip == 2;
	snprintf(why, n, "%zu records, %d live servers, %d floating IPs", r ? r->elements : 0, live,
		 nfip);
out:
	json_decref(tokens);
	json_decref(servers);
	json_decref(fips);
	freeReplyObject(r);
	return ok;
}

static void test_nova_tutorials__killed_builds_leave_nothing_unknown(void **state)
{
	struct occo_test_progs *f = *state;
	unsigned seed = (unsigned)time(NULL);
	char *log = occo_asprintf("%s/build.log", f->dir);
	int round;

	occo_test_progs_cd(f, "nova-ping");
	srand(seed);
	for (round = 0; round < KILL_ROUNDS; round++) {
		/*
		 * A build takes a few seconds here. Even rounds kill it at a random moment of
		 * it; odd rounds right after it stored a record in state `creating` (the cloud
		 * is being asked, or about to be), plus up to 1.5 s (the floating IP).
		 */
		useconds_t at = (useconds_t)(300 + round * 500 + rand() % 500) * 1000;
		char id[OCCO_UUID_STRLEN + 1], why[256];
		int pass, known;

		occo_uuid4(id, NULL);
		if (round % 2)
			at = (useconds_t)(rand() % 1500) * 1000;
		known = occo_test_progs_kill_build(f, log, "infra-nova-ping.yaml", id, round % 2,
						   10000, (unsigned)(at / 1000));
		if (!known) {
			/* killed before the description was stored: the cloud has nothing */
			json_t *servers = occo_test_nova_servers(&cloud, id);

			if (json_array_size(servers))
				fail_msg("seed %u round %d: servers of an unknown infrastructure",
					 seed, round);
			json_decref(servers);
			continue;
		}
		for (pass = 0; pass < 4 && !converged(f, id, why, sizeof(why)); pass++)
			occo_test_progs_run(f, NULL, NULL, "maintain", "-i", id, NULL);
		if (!converged(f, id, why, sizeof(why)))
			fail_msg("seed %u round %d (killed at %u ms%s): %s", seed, round,
				 (unsigned)(at / 1000), round % 2 ? " after a record" : "", why);
		destroy(f, "nova-ping", id);
	}
	assert_no_secret(f);
	free(log);
}

static void test_nova_tutorials__wrong_password_fails_clearly(void **state)
{
	struct occo_test_progs *f = *state;
	char *out = NULL, *err = NULL;
	const char *wrong = "not-the-Pa55word";

	write_auth(f, wrong);
	occo_test_progs_cd(f, "nova-helloworld");
	assert_int_not_equal(
		occo_test_progs_run(f, &out, &err, "build", "infra-nova-helloworld.yaml", NULL), 0);
	if (!strstr(err, "bad credentials for 'http://127.0.0.1:15735/v3'") ||
	    !strstr(err, "The request you have made requires authentication"))
		fail_msg("no clear message:\n%s%s", out, err);
	if (strstr(out, wrong) || strstr(err, wrong))
		fail_msg("the wrong password was printed");
	free(out);
	free(err);
	{
		char *dump = occo_test_redis_dump(f->rc);

		assert_null(strstr(dump, wrong));
		free(dump);
	}
}

static void test_nova_tutorials__volume_size_needs_a_volume_service(void **state)
{
	struct occo_test_progs *f = *state;
	char *out = NULL, *err = NULL, *path, *text;
	int fips = our_fips();

	path = occo_asprintf("%s/nova-helloworld/nodes/node_definitions.yaml", f->dir);
	text = occo_test_replace(occo_test_slurp(path), "      server_name: myhelloworld\n",
				 "      server_name: myhelloworld\n      volume_size: 1\n");
	occo_test_write_file(f->dir, "nova-helloworld/nodes/node_definitions.yaml", text);
	free(text);
	free(path);
	occo_test_progs_cd(f, "nova-helloworld");
	assert_int_equal(
		occo_test_progs_run(f, NULL, NULL, "import", "nodes/node_definitions.yaml", NULL),
		0);
	assert_int_not_equal(
		occo_test_progs_run(f, &out, &err, "build", "infra-nova-helloworld.yaml", NULL), 0);
	if (!strstr(err, "volume_size needs a volume service (cinder)"))
		fail_msg("no clear message:\n%s%s", out, err);
	free(out);
	free(err);
	assert_int_equal(our_fips(), fips);
	assert_no_secret(f);
}

static void test_nova_tutorials__application_credential(void **state)
{
	struct occo_test_progs *f = *state;
	json_t *js = NULL, *servers;
	char *path, *auth, *id, *secret, *cred_id, *dump;
	const char *uid;

	/* an application credential of the demo user, in its project */
	assert_int_equal(occo_test_nova_admin_call(&cloud, "GET", cloud.auth_url,
						   "/users?name=demo", NULL, &js),
			 200);
	uid = json_string_value(
		json_object_get(json_array_get(json_object_get(js, "users"), 0), "id"));
	assert_non_null(uid);
	path = occo_asprintf("/users/%s/application_credentials", uid);
	json_decref(js);
	js = NULL;
	id = occo_asprintf("{\"application_credential\":{\"name\":\"occo-%ld\"}}",
			   (long)time(NULL) ^ (long)getpid());
	assert_int_equal(occo_test_nova_call(&cloud, "POST", cloud.auth_url, path, id, &js), 201);
	free(id);
	free(path);
	cred_id = occo_strdup(json_string_value(
		json_object_get(json_object_get(js, "application_credential"), "id")));
	secret = occo_strdup(json_string_value(
		json_object_get(json_object_get(js, "application_credential"), "secret")));
	json_decref(js);
	auth = occo_asprintf("resource:\n"
			     "    -\n"
			     "        type: nova\n"
			     "        auth_data:\n"
			     "            type: application_credential\n"
			     "            id: %s\n"
			     "            secret: %s\n",
			     cred_id, secret);
	occo_test_progs_auth(f, auth);
	free(auth);

	id = build(f, "nova-helloworld", "infra-nova-helloworld.yaml");
	servers = occo_test_nova_servers(&cloud, id);
	assert_int_equal(count(servers, "helloworld", "ACTIVE"), 1);
	assert_int_equal(fips_of(meta(json_array_get(servers, 0), "occopus_token"), NULL), 1);
	json_decref(servers);
	destroy(f, "nova-helloworld", id);
	dump = occo_test_redis_dump(f->rc);
	assert_null(strstr(dump, secret));
	assert_null(strstr(occo_buf_str(&f->said), secret));
	free(dump);
	free(id);
	free(secret);
	free(cred_id);
}

/* Use another flavor in the helloworld tutorial. */
static void set_flavor(struct occo_test_progs *f, const char *from, const char *flavor)
{
	char *path = occo_asprintf("%s/nova-helloworld/nodes/node_definitions.yaml", f->dir);
	char *was = occo_asprintf("flavor_name: %s\n", from);
	char *to = occo_asprintf("flavor_name: %s\n", flavor);
	char *text = occo_test_replace(occo_test_slurp(path), was, to);

	assert_non_null(strstr(text, to));
	occo_test_write_file(f->dir, "nova-helloworld/nodes/node_definitions.yaml", text);
	free(text);
	free(was);
	free(to);
	free(path);
	occo_test_progs_cd(f, "nova-helloworld");
	assert_int_equal(
		occo_test_progs_run(f, NULL, NULL, "import", "nodes/node_definitions.yaml", NULL),
		0);
}

/* A build that must fail with `words` in what it says. */
static void build_fails(struct occo_test_progs *f, const char *words)
{
	char *out = NULL, *err = NULL;

	occo_test_progs_cd(f, "nova-helloworld");
	assert_int_not_equal(
		occo_test_progs_run(f, &out, &err, "build", "infra-nova-helloworld.yaml", NULL), 0);
	if (!strstr(err, words))
		fail_msg("'%s' not said; the end of it:\n%s", words,
			 err + (strlen(err) > 700 ? strlen(err) - 700 : 0));
	free(out);
	free(err);
}

static void test_nova_tutorials__the_clouds_own_errors(void **state)
{
	struct occo_test_progs *f = *state;
	char *path = occo_asprintf("/os-quota-sets/%s", cloud.project_id), *body;
	int fips = our_fips();
	json_t *servers;

	/* no host for the flavor: the server goes to ERROR, the build says Nova's words */
	set_flavor(f, "m1.tiny", "m1.huge");
	build_fails(f, "No valid host was found");
	set_flavor(f, "m1.huge", "m1.tiny");

	/* no instances left in the project's quota */
	assert_int_equal(
		occo_test_nova_admin_call(&cloud, "PUT", cloud.compute, path,
					  "{\"quota_set\":{\"instances\":0,\"force\":true}}", NULL),
		200);
	build_fails(f, "Quota exceeded for instances");
	assert_int_equal(
		occo_test_nova_admin_call(&cloud, "DELETE", cloud.compute, path, NULL, NULL), 202);
	free(path);

	/*
	 * no floating IP to be had (the project's quota is 0): tried 3 times, then a clear
	 * error, and the server is deleted
	 */
	path = occo_asprintf("/v2.0/quotas/%s", cloud.project_id);
	assert_int_equal(occo_test_nova_admin_call(&cloud, "PUT", cloud.network, path,
						   "{\"quota\":{\"floatingip\":0}}", NULL),
			 200);
	build_fails(f, "cannot find unused floating ip address in pool \"public\"");
	assert_int_equal(
		occo_test_nova_admin_call(&cloud, "DELETE", cloud.network, path, NULL, NULL), 204);
	free(path);
	assert_int_equal(our_fips(), fips);
	body = occo_asprintf("/servers/detail?name=myhelloworld");
	{
		json_t *js = NULL;
		size_t i;
		const json_t *v;
		int live = 0;

		assert_int_equal(occo_test_nova_call(&cloud, "GET", cloud.compute, body, NULL, &js),
				 200);
		servers = json_object_get(js, "servers");
		/* deleted, or on its way out */
		json_array_foreach (servers, i, v)
			live += strcmp(json_string_value(json_object_get(v, "status")), "ACTIVE") ==
					0 &&
				json_string_value(json_object_get(v, "OS-EXT-STS:task_state")) ==
					NULL;
		json_decref(js);
		assert_int_equal(live, 0);
	}
	free(body);
	assert_no_secret(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nova_tutorials__helloworld, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_nova_tutorials__ping_replaced_by_maintain,
						setup, occo_test_progs_free),
		cmocka_unit_test_setup_teardown(
			test_nova_tutorials__killed_builds_leave_nothing_unknown, setup,
			occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_nova_tutorials__wrong_password_fails_clearly,
						setup, occo_test_progs_free),
		cmocka_unit_test_setup_teardown(
			test_nova_tutorials__volume_size_needs_a_volume_service, setup,
			occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_nova_tutorials__the_clouds_own_errors, setup,
						occo_test_progs_free),
		cmocka_unit_test_setup_teardown(test_nova_tutorials__application_credential, setup,
						occo_test_progs_free),
	};
	if (getenv("OCCO_TEST_FILTER")) /* e.g. "*clouds_own*" */
		cmocka_set_test_filter(getenv("OCCO_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
