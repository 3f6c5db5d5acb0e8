/*
 * test_ec2.c - the ec2 resource handler, through the core, against a real moto EC2 server that
 * checks SigV4 signatures: create/list/drop with tags and user data, idempotent creates,
 * paged lists, batched lookups and terminations, bad credentials, instances terminated behind
 * the handler's back, unknown ids, adoption of an instance by its token, and the cloud's own
 * errors.
 *
 * One moto_server for the file, reset before each test. Every log line of the handler is
 * captured (debug level) and must not hold a secret key. Nothing sleeps: the loop runs until
 * the callbacks a test waits for.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "moto.h"
#include "testutil.h"
#include "occo/resourcehandler/rh.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/http.h"
#include "occo/util/log.h"

#define INFRA "3f2a0000-infra"

static struct occo_test_moto moto;
static struct occo_buf logs; /* every line logged during a test */

struct fx {
	uv_loop_t loop;
	struct occo_http *http;
	struct rh *rh;
	char *ami;
	json_t *auth;
	char *epkey;
};

/* What one callback saw. */
struct res {
	int calls;
	int code;
	char msg[1024];
	char id[64];
	json_t *list; /* list: [{id, token, state, addresses, private, message}] */
};

static int done_count;

static void capture(int level, const char *line, void *ud)
{
	(void)level;
	(void)ud;
	occo_buf_appendf(&logs, NULL, "%s\n", line);
}

static void run_until(uv_loop_t *loop, const int *flag, int want)
{
	while (*flag < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && *flag < want)
			fail_msg("the loop ran dry before the event");
}

static void record(struct res *r, const struct occo_err *err)
{
	r->calls++;
	if (err) {
		r->code = err->code;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
	}
	done_count++;
}

static void on_created(const char *id, const struct occo_err *err, void *ud)
{
	struct res *r = ud;

	if (id)
		snprintf(r->id, sizeof(r->id), "%s", id);
	record(r, err);
}

static void on_dropped(const struct occo_err *err, void *ud)
{
	record(ud, err);
}

static void on_listed(const struct rh_instance *v, size_t n, const struct occo_err *err, void *ud)
{
	struct res *r = ud;
	size_t i;

	json_decref(r->list);
	r->list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(r->list,
				      json_pack("{s:s, s:s?, s:s, s:O, s:s?, s:s?}", "id",
						v[i].instance_id, "token", v[i].token, "state",
						rh_state_name(v[i].state), "addresses",
						v[i].addresses, "private", v[i].private_address,
						"message", v[i].message));
	record(r, err);
}

/* A fresh core (and HTTP client) with options o (may be NULL). */
static void fx_rh(struct fx *f, const struct rh_opts *o)
{
	struct rh_env env = { .loop = &f->loop, .ns = "t" };
	struct occo_err err;

	assert_int_equal(occo_http_new(&f->loop, NULL, &f->http, &err), 0);
	env.http = f->http;
	if (rh_new(&env, o, &f->rh, &err) < 0)
		fail_msg("%s", err.msg);
}

static int group_setup(void **state)
{
	(void)state;
	if (!occo_test_moto_available()) {
		fprintf(stderr, "moto_server is missing: skipped\n");
		exit(OCCO_TEST_SKIP);
	}
	if (occo_test_moto_start(&moto) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	occo_test_moto_stop(&moto);
	return 0;
}

static int setup(void **state)
{
	struct fx *f;

	if (occo_test_moto_reset(&moto) < 0)
		return -1;
	f = occo_calloc(1, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->ami = occo_test_moto_ami(&moto);
	assert_non_null(f->ami);
	f->auth = json_pack("{s:s, s:s}", "accesskey", moto.access, "secretkey", moto.secret);
	f->epkey = occo_asprintf("ec2 %s %s", moto.url, OCCO_TEST_MOTO_REGION);
	occo_buf_init(&logs, 64u << 20);
	occo_log_set_level(OCCO_LOG_DEBUG);
	occo_log_set_sink(capture, NULL);
	done_count = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rh_free(f->rh);
	occo_http_close(f->http, NULL, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	occo_log_set_sink(NULL, NULL);
	occo_log_set_level(OCCO_LOG_WARN);
	/* no secret key in any line logged by the handler, the HTTP client or the core */
	if (strstr(occo_buf_str(&logs), moto.secret))
		fail_msg("the secret key was logged");
	if (strstr(occo_buf_str(&logs), "wrong-secret-0123456789"))
		fail_msg("the wrong secret key was logged");
	occo_buf_release(&logs);
	json_decref(f->auth);
	free(f->ami);
	free(f->epkey);
	free(f);
	return 0;
}

/* The resource section of a test node. */
static json_t *resource(struct fx *f)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:f, s:b}}", "type", "ec2",
			 "endpoint", moto.url, "regionname", OCCO_TEST_MOTO_REGION, "image_id",
			 f->ami, "instance_type", "t2.micro", "tags", "team", "blue", "n", 3,
			 "ratio", 0.1, "on", 1);
}

static struct rh_node node(struct fx *f, const json_t *res, const char *token)
{
	struct rh_node n = { .infra_id = INFRA,
			     .node_id = token,
			     .name = "vm",
			     .token = token,
			     .resource = res,
			     .auth = f->auth };

	return n;
}

static void create(struct fx *f, const struct rh_node *n, struct res *r)
{
	struct occo_err err;

	if (rh_create(f->rh, n, on_created, r, &err) < 0)
		fail_msg("%s", err.msg);
}

static void drop(struct fx *f, const struct rh_node *n, struct res *r)
{
	struct occo_err err;

	if (rh_drop(f->rh, n, on_dropped, r, &err) < 0)
		fail_msg("%s", err.msg);
}

static void list(struct fx *f, const json_t *res, struct res *r)
{
	struct rh_node n = node(f, res, NULL);
	struct occo_err err;

	n.node_id = n.name = NULL;
	if (rh_list(f->rh, &n, on_listed, r, &err) < 0)
		fail_msg("%s", err.msg);
}

/* Create one node and wait for it; returns its instance id (static buffer of r). */
static const char *create_wait(struct fx *f, const json_t *res, const char *token, struct res *r)
{
	struct rh_node n = node(f, res, token);

	create(f, &n, r);
	run_until(&f->loop, &r->calls, 1);
	if (r->code)
		fail_msg("create: %s", r->msg);
	return r->id;
}

static json_t *list_wait(struct fx *f, const json_t *res)
{
	struct res r = { 0 };

	list(f, res, &r);
	run_until(&f->loop, &r.calls, 1);
	if (r.code)
		fail_msg("list: %s", r.msg);
	return r.list;
}

/* The listed instance with that id, or NULL (borrowed from l). */
static json_t *find(const json_t *l, const char *id)
{
	json_t *v;
	size_t i;

	json_array_foreach (l, i, v)
		if (!strcmp(json_string_value(json_object_get(v, "id")), id))
			return v;
	return NULL;
}

static const char *field(const json_t *v, const char *k)
{
	return json_string_value(json_object_get(v, k));
}

/* HTTP requests the handler has sent so far. */
static unsigned long sent(struct fx *f)
{
	struct occo_http_stats st;

	assert_int_equal(occo_http_stats_get(f->http, NULL, &st, NULL), 0);
	return (unsigned long)st.sent;
}

/*
 * Instances moto holds with tag key=value (key "prefix:name"; any state), and how many are not
 * terminated.
 */
static size_t tagged(const char *key, const char *value, size_t *live)
{
	const char *colon = strchr(key, ':'); /* "occopus:token": encoded, or the signature fails */
	char *form = occo_asprintf("Action=DescribeInstances&Filter.1.Name=tag%%3A%.*s%%3A%s"
				   "&Filter.1.Value.1=%s",
				   (int)(colon - key), key, colon + 1, value);
	char *body = NULL;
	json_t *ids, *states, *s;
	size_t n, i;

	assert_int_equal(occo_test_moto_ec2(&moto, form, &body), 200);
	ids = occo_test_xml_texts(body, "instanceId");
	states = occo_test_xml_texts(body, "name"); /* instanceState/name, one per instance */
	n = json_array_size(ids);
	*live = 0;
	json_array_foreach (states, i, s)
		*live += strcmp(json_string_value(s), "terminated") != 0;
	json_decref(ids);
	json_decref(states);
	free(body);
	free(form);
	return n;
}

static void test_ec2__create_list_drop(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f), *l, *inst, *keys, *vals;
	struct rh_node n = node(f, res, "occo-tok-1");
	const char *ud = "#cloud-config\nwrite_files:\n- content: \"Hello, ünïcode & <xml>\"\n"
			 "  path: /tmp/x\n";
	struct res c = { 0 }, d = { 0 };
	char *body = NULL, *form, *b64;
	size_t i;

	fx_rh(f, NULL);
	n.node_id = "node-id-0001";
	n.user_data = ud;
	create(f, &n, &c);
	run_until(&f->loop, &c.calls, 1);
	assert_int_equal(c.code, 0);
	assert_true(!strncmp(c.id, "i-", 2));

	/* the list: one instance, running = ready, with its token and addresses */
	l = list_wait(f, res);
	assert_int_equal(json_array_size(l), 1);
	inst = find(l, c.id);
	assert_non_null(inst);
	assert_string_equal(field(inst, "token"), "occo-tok-1");
	assert_string_equal(field(inst, "state"), "ready");
	assert_int_equal(json_array_size(json_object_get(inst, "addresses")), 3);
	assert_non_null(
		strstr(json_string_value(json_array_get(json_object_get(inst, "addresses"), 0)),
		       "compute"));
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(inst, "addresses"), 2)),
		field(inst, "private"));

	/* the cloud's view: the tags and the user data */
	form = occo_asprintf("Action=DescribeInstances&InstanceId.1=%s", c.id);
	assert_int_equal(occo_test_moto_ec2(&moto, form, &body), 200);
	free(form);
	keys = occo_test_xml_texts(body, "key");
	vals = occo_test_xml_texts(body, "value");
	free(body);
	{
		static const char *const want_tags[][2] = {
			{ "occopus:infra_id", INFRA },
			{ "occopus:node_name", "vm" },
			{ "occopus:node_id", "node-id-0001" },
			{ "occopus:token", "occo-tok-1" },
			{ "team", "blue" },
			{ "n", "3" },
			{ "ratio", "0.1" },
			{ "on", "true" },
			{ "Name", "occopus-3f2a0000-vm-node-id-" },
		};
		size_t k;

		assert_int_equal(json_array_size(keys), 9);
		for (k = 0; k < sizeof(want_tags) / sizeof(want_tags[0]); k++) {
			for (i = 0; i < json_array_size(keys); i++)
				if (!strcmp(json_string_value(json_array_get(keys, i)),
					    want_tags[k][0]))
					break;
			assert_true(i < json_array_size(keys));
			assert_string_equal(json_string_value(json_array_get(vals, i)),
					    want_tags[k][1]);
		}
	}
	json_decref(keys);
	json_decref(vals);
	b64 = occo_test_moto_user_data(&moto, c.id);
	assert_non_null(b64);
	assert_string_equal(b64, ud);
	free(b64);
	json_decref(l);

	/* drop: terminated, listed as shutdown */
	n.instance_id = c.id;
	drop(f, &n, &d);
	run_until(&f->loop, &d.calls, 1);
	assert_int_equal(d.code, 0);
	l = list_wait(f, res);
	assert_string_equal(field(find(l, c.id), "state"), "shutdown");
	json_decref(l);
	json_decref(res);
}

static void test_ec2__create_is_idempotent(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f);
	struct res a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	size_t live;

	fx_rh(f, NULL);
	create_wait(f, res, "occo-same", &a);
	create_wait(f, res, "occo-same", &b);
	assert_string_equal(a.id, b.id);
	assert_int_equal(tagged("occopus:token", "occo-same", &live), 1);
	/* gone since: the token still names that instance, as a ClientToken would */
	assert_int_equal(occo_test_moto_terminate(&moto, a.id), 0);
	create_wait(f, res, "occo-same", &c);
	assert_string_equal(c.id, a.id);
	/* another token is another instance */
	create_wait(f, res, "occo-other", &d);
	assert_string_not_equal(d.id, a.id);
	assert_int_equal(tagged("occopus:infra_id", INFRA, &live), 2);
	assert_int_equal(live, 1);
	json_decref(res);
}

static void test_ec2__list_follows_pages(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f), *l, *v, *tokens = json_object();
	struct res r[12];
	struct rh_node n[12];
	char tok[12][32];
	unsigned long before;
	size_t i;
	int k;

	setenv("OCCOPUS_EC2_PAGE_SIZE", "5", 1);
	fx_rh(f, NULL);
	unsetenv("OCCOPUS_EC2_PAGE_SIZE");
	memset(r, 0, sizeof(r));
	for (k = 0; k < 12; k++) {
		snprintf(tok[k], sizeof(tok[k]), "occo-page-%02d", k);
		n[k] = node(f, res, tok[k]);
		create(f, &n[k], &r[k]);
	}
	run_until(&f->loop, &done_count, 12);
	for (k = 0; k < 12; k++)
		assert_int_equal(r[k].code, 0);
	/* twelve creates started together: one lookup of their tokens, twelve RunInstances */
	assert_int_equal(sent(f), 13);
	before = sent(f);
	l = list_wait(f, res);
	assert_int_equal(sent(f) - before, 3); /* 5 + 5 + 2 */
	assert_int_equal(json_array_size(l), 12);
	json_array_foreach (l, i, v)
		json_object_set_new(tokens, field(v, "token"), json_true());
	assert_int_equal(json_object_size(tokens), 12);
	json_decref(tokens);
	json_decref(l);
	json_decref(res);
}

static void test_ec2__drops_are_batched(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f);
	struct res c[10], d[11];
	struct rh_node n[11];
	char tok[10][32];
	unsigned long before;
	size_t live;
	int k;

	fx_rh(f, NULL);
	memset(c, 0, sizeof(c));
	memset(d, 0, sizeof(d));
	for (k = 0; k < 10; k++) {
		snprintf(tok[k], sizeof(tok[k]), "occo-drop-%02d", k);
		n[k] = node(f, res, tok[k]);
		create(f, &n[k], &c[k]);
	}
	run_until(&f->loop, &done_count, 10);
	done_count = 0;
	before = sent(f);
	for (k = 0; k < 10; k++) {
		n[k].instance_id = c[k].id;
		drop(f, &n[k], &d[k]);
	}
	run_until(&f->loop, &done_count, 10);
	for (k = 0; k < 10; k++)
		assert_int_equal(d[k].code, 0);
	assert_int_equal(sent(f) - before, 1); /* one TerminateInstances */
	assert_int_equal(tagged("occopus:infra_id", INFRA, &live), 10);
	assert_int_equal(live, 0);

	/* a batch with an id EC2 does not know fails as a whole: each is sent again alone */
	done_count = 0;
	for (k = 0; k < 3; k++) {
		memset(&c[k], 0, sizeof(c[k]));
		memset(&d[k], 0, sizeof(d[k]));
		snprintf(tok[k], sizeof(tok[k]), "occo-again-%02d", k);
		n[k] = node(f, res, tok[k]);
		create(f, &n[k], &c[k]);
	}
	run_until(&f->loop, &done_count, 3);
	done_count = 0;
	for (k = 0; k < 3; k++) {
		n[k].instance_id = c[k].id;
		drop(f, &n[k], &d[k]);
	}
	n[10] = node(f, res, "occo-unknown");
	n[10].instance_id = "i-0123456789abcdef0";
	memset(&d[10], 0, sizeof(d[10]));
	drop(f, &n[10], &d[10]);
	run_until(&f->loop, &done_count, 4);
	for (k = 0; k < 3; k++)
		assert_int_equal(d[k].code, 0);
	assert_int_equal(d[10].code, 0);
	assert_int_equal(tagged("occopus:infra_id", INFRA, &live), 13);
	assert_int_equal(live, 0);
	json_decref(res);
}

static void test_ec2__wrong_secret_is_bad_credentials(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .backoff_ms = 1 };
	json_t *res = resource(f);
	json_t *bad = json_pack("{s:s, s:s}", "accesskey", moto.access, "secretkey",
				"wrong-secret-0123456789");
	struct rh_node n = node(f, res, "occo-denied");
	struct res c = { 0 }, l = { 0 };
	struct rh_stats st;
	struct occo_err err;
	char *want = occo_asprintf("bad credentials for '%s'", moto.url);
	size_t live;

	fx_rh(f, &o);
	n.auth = bad;
	create(f, &n, &c);
	run_until(&f->loop, &c.calls, 1);
	assert_int_equal(c.code, OCCO_EAUTH);
	if (!strstr(c.msg, want) || !strstr(c.msg, "AuthFailure"))
		fail_msg("unclear: %s", c.msg);
	assert_null(strstr(c.msg, "wrong-secret-0123456789"));
	assert_null(strstr(c.msg, moto.access));
	n.node_id = n.name = NULL;
	assert_int_equal(rh_list(f->rh, &n, on_listed, &l, &err), 0);
	run_until(&f->loop, &l.calls, 1);
	assert_int_equal(l.code, OCCO_EAUTH);
	assert_non_null(strstr(l.msg, want));
	/* not retried: credentials do not get better by waiting */
	assert_int_equal(rh_stats_get(f->rh, f->epkey, &st, NULL), 0);
	assert_int_equal(st.retries, 0);
	assert_int_equal(tagged("occopus:infra_id", INFRA, &live), 0);
	json_decref(l.list);
	free(want);
	json_decref(bad);
	json_decref(res);
}

static void test_ec2__terminated_behind_our_back(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f), *l;
	struct res c = { 0 };

	fx_rh(f, NULL);
	create_wait(f, res, "occo-victim", &c);
	assert_int_equal(occo_test_moto_terminate(&moto, c.id), 0);
	l = list_wait(f, res);
	assert_string_equal(field(find(l, c.id), "state"), "shutdown");
	assert_string_equal(field(find(l, c.id), "token"), "occo-victim");
	json_decref(l);
	json_decref(res);
}

static void test_ec2__drop_of_unknown_id_succeeds(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f);
	struct rh_node n = node(f, res, "occo-never");
	struct res d = { 0 }, t = { 0 };

	fx_rh(f, NULL);
	n.instance_id = "i-0123456789abcdef0";
	drop(f, &n, &d);
	run_until(&f->loop, &d.calls, 1);
	assert_int_equal(d.code, 0);
	/* by a token nothing carries: nothing to do */
	n.instance_id = NULL;
	drop(f, &n, &t);
	run_until(&f->loop, &t.calls, 1);
	assert_int_equal(t.code, 0);
	json_decref(res);
}

static void test_ec2__adopts_by_token(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(f), *l;
	struct rh_node n = node(f, res, "occo-orphan");
	struct res c = { 0 }, d = { 0 };
	char *form, *body = NULL, *id;
	size_t live;

	fx_rh(f, NULL);
	/* a build killed after its RunInstances reached the cloud left this behind */
	form = occo_asprintf("Action=RunInstances&ImageId=%s&InstanceType=t2.micro&MinCount=1"
			     "&MaxCount=1&TagSpecification.1.ResourceType=instance"
			     "&TagSpecification.1.Tag.1.Key=occopus%%3Ainfra_id"
			     "&TagSpecification.1.Tag.1.Value=%s"
			     "&TagSpecification.1.Tag.2.Key=occopus%%3Atoken"
			     "&TagSpecification.1.Tag.2.Value=occo-orphan",
			     f->ami, INFRA);
	assert_int_equal(occo_test_moto_ec2(&moto, form, &body), 200);
	id = occo_test_xml_text(body, "instanceId");
	free(form);
	free(body);
	/* the list finds it by its token */
	l = list_wait(f, res);
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(field(find(l, id), "token"), "occo-orphan");
	json_decref(l);
	/* creating the node again adopts it instead of making another */
	create(f, &n, &c);
	run_until(&f->loop, &c.calls, 1);
	assert_int_equal(c.code, 0);
	assert_string_equal(c.id, id);
	assert_int_equal(tagged("occopus:token", "occo-orphan", &live), 1);
	/* and a drop by token (no id known) terminates it */
	drop(f, &n, &d);
	run_until(&f->loop, &d.calls, 1);
	assert_int_equal(d.code, 0);
	assert_int_equal(tagged("occopus:token", "occo-orphan", &live), 1);
	assert_int_equal(live, 0);
	free(id);
	json_decref(res);
}

static void test_ec2__cloud_errors(void **state)
{
	struct fx *f = *state;
	struct rh_opts o = { .backoff_ms = 1, .max_retries = 2 };
	json_t *res = resource(f), *dead;
	struct rh_node n = node(f, res, "occo-err");
	struct res a = { 0 }, b = { 0 }, e = { 0 };
	struct rh_stats st;
	char *key;
	int port;

	fx_rh(f, &o);
	/* the cloud's own code and message, not retried */
	json_object_set_new(res, "image_id", json_string("ami-00000000"));
	create(f, &n, &a);
	run_until(&f->loop, &a.calls, 1);
	assert_int_equal(a.code, OCCO_EREMOTE);
	if (!strstr(a.msg, "RunInstances: InvalidAMIID.NotFound: ") || !strstr(a.msg, "ami-0000"))
		fail_msg("unclear: %s", a.msg);
	assert_int_equal(rh_stats_get(f->rh, f->epkey, &st, NULL), 0);
	assert_int_equal(st.retries, 0);
	/* no credentials for the endpoint */
	n.auth = NULL;
	create(f, &n, &b);
	run_until(&f->loop, &b.calls, 1);
	assert_int_equal(b.code, OCCO_EINVAL);
	assert_non_null(strstr(b.msg, "cannot find credentials for 'http://127.0.0.1:"));
	/* an endpoint that does not answer: transient, retried, then a clear error */
	n.auth = f->auth;
	dead = json_deep_copy(res);
	port = moto.port == 1 ? 2 : 1; /* nothing listens on port 1 here */
	key = occo_asprintf("http://127.0.0.1:%d/", port);
	json_object_set_new(dead, "endpoint", json_string(key));
	n.resource = dead;
	create(f, &n, &e);
	run_until(&f->loop, &e.calls, 1);
	assert_int_equal(e.code, OCCO_ECONN);
	assert_non_null(strstr(e.msg, "DescribeInstances: "));
	free(key);
	key = occo_asprintf("ec2 http://127.0.0.1:%d/ %s", port, OCCO_TEST_MOTO_REGION);
	assert_int_equal(rh_stats_get(f->rh, key, &st, NULL), 0);
	assert_int_equal(st.retries, 2);
	free(key);
	json_decref(dead);
	json_decref(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ec2__create_list_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec2__create_is_idempotent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec2__list_follows_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec2__drops_are_batched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec2__wrong_secret_is_bad_credentials, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ec2__terminated_behind_our_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ec2__drop_of_unknown_id_succeeds, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ec2__adopts_by_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec2__cloud_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
