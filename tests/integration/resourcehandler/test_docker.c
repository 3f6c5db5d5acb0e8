/*
 * test_docker.c - the docker resource handler through the core, against a real Podman service
 * (its Docker-compatible API) that the program starts: create, list and drop; the node's env
 * and command reaching the container (busybox httpd serving what the env said, through the
 * published port); labels; a killed container seen as shutdown; a name held by someone else;
 * an unknown image; an endpoint that does not answer; adoption by token after a crash; an image
 * imported from a URL once for many creates; a pull that fails; networks; a tcp:// endpoint;
 * resource sections and contextualisations that are refused, with the field named.
 *
 * Each test runs its own loop, HTTP client and core, on an infrastructure id of its own, and
 * removes its containers at the end. Nothing sleeps for a timer: the loop runs until the
 * callbacks come; only the wait for httpd inside a container polls the real server.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "podman.h"
#include "testutil.h"
#include "occo/resourcehandler/rh.h"
#include "occo/util/alloc.h"
#include "occo/util/http.h"
#include "occo/util/id.h"

static struct occo_test_podman pm;

struct fx {
	uv_loop_t loop;
	struct occo_http *http;
	struct rh *rh;
	char infra[40];
};

/* What one callback saw. */
struct res {
	int calls;
	int code;
	char msg[1024];
	char id[80];
	size_t n;
	struct {
		enum rh_state state;
		char id[80], token[80], addr[40], priv[40], message[256], published[128];
	} v[4];
};

static int done;

static void run_until(uv_loop_t *loop, int want)
{
	while (done < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && done < want)
			fail_msg("the loop ran dry before the event");
}

static void record(struct res *r, const struct occo_err *err)
{
	r->calls++;
	if (err) {
		r->code = err->code;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
	}
	done++;
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

	r->n = n;
	for (i = 0; i < n && i < 4; i++) {
		r->v[i].state = v[i].state;
		snprintf(r->v[i].id, sizeof(r->v[i].id), "%s", v[i].instance_id);
		snprintf(r->v[i].token, sizeof(r->v[i].token), "%s", v[i].token ? v[i].token : "");
		snprintf(r->v[i].addr, sizeof(r->v[i].addr), "%s",
			 json_array_size(v[i].addresses)
				 ? json_string_value(json_array_get(v[i].addresses, 0))
				 : "");
		snprintf(r->v[i].priv, sizeof(r->v[i].priv), "%s",
			 v[i].private_address ? v[i].private_address : "");
		snprintf(r->v[i].message, sizeof(r->v[i].message), "%s",
			 v[i].message ? v[i].message : "");
		if (v[i].published) {
			char *s = json_dumps(v[i].published, JSON_COMPACT | JSON_SORT_KEYS);

			snprintf(r->v[i].published, sizeof(r->v[i].published), "%s", s);
			free(s);
		}
	}
	record(r, err);
}

static void fx_open(struct fx *f, const struct rh_opts *ro, const struct occo_http_opts *ho)
{
	struct rh_env env = { .loop = &f->loop };
	struct occo_err err;

	if (!f->http && occo_http_new(&f->loop, ho, &f->http, &err) < 0)
		fail_msg("%s", err.msg);
	env.http = f->http;
	if (rh_new(&env, ro, &f->rh, &err) < 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	unsigned char r[4];

	assert_int_equal(uv_loop_init(&f->loop), 0);
	occo_random_bytes(r, sizeof(r), NULL);
	snprintf(f->infra, sizeof(f->infra), "%02x%02x%02x%02x-test-infra", r[0], r[1], r[2], r[3]);
	fx_open(f, NULL, NULL);
	done = 0;
	*state = f;
	return 0;
}

static void on_http_closed(void *ud)
{
	(*(int *)ud)++;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char *label = occo_asprintf("occopus.infra_id=%s", f->infra);
	int closed = 0;

	rh_free(f->rh);
	occo_http_close(f->http, on_http_closed, &closed);
	while (!closed)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	occo_test_podman_remove(&pm, label);
	free(label);
	free(f);
	return 0;
}

/* A resource section on the test's service with the local busybox image, plus `extra`. */
static json_t *resource(const char *extra)
{
	json_t *res = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "docker", "endpoint",
				pm.endpoint, "origin", "local", "image", pm.image, "tag", pm.tag);

	if (extra) {
		json_t *x = json_loads(extra, 0, NULL);

		if (!x)
			fail_msg("bad JSON in the test: %s", extra);
		json_object_update(res, x);
		json_decref(x);
	}
	return res;
}

static struct rh_node node(struct fx *f, const char *name, const char *token, const json_t *res,
			   const json_t *attrs)
{
	struct rh_node n = { .infra_id = f->infra,
			     .node_id = token,
			     .name = name,
			     .token = token,
			     .resource = res,
			     .attributes = attrs };

	return n;
}

static void create(struct fx *f, const struct rh_node *n, struct res *r)
{
	struct occo_err err;

	if (rh_create(f->rh, n, on_created, r, &err) < 0)
		fail_msg("%s", err.msg);
}

/* Create one node and wait for the answer. */
static void create_wait(struct fx *f, const struct rh_node *n, struct res *r)
{
	memset(r, 0, sizeof(*r));
	create(f, n, r);
	run_until(&f->loop, done + 1);
}

static void list_wait(struct fx *f, const json_t *res, struct res *r)
{
	struct rh_node n = node(f, NULL, NULL, res, NULL);
	struct occo_err err;

	memset(r, 0, sizeof(*r));
	if (rh_list(f->rh, &n, on_listed, r, &err) < 0)
		fail_msg("%s", err.msg);
	run_until(&f->loop, done + 1);
	if (r->code)
		fail_msg("list failed: %s", r->msg);
}

static void drop_wait(struct fx *f, const json_t *res, const char *token, const char *id,
		      struct res *r)
{
	struct rh_node n = node(f, "x", token, res, NULL);
	struct occo_err err;

	n.instance_id = id;
	memset(r, 0, sizeof(*r));
	if (rh_drop(f->rh, &n, on_dropped, r, &err) < 0)
		fail_msg("%s", err.msg);
	run_until(&f->loop, done + 1);
}

static void assert_contains(const char *s, const char *part)
{
	if (!strstr(s, part))
		fail_msg("'%s' not in '%s'", part, s);
}

/* GET http://<hostport>/ until it answers 200 (httpd may still be starting); the body. */
static char *http_get(const char *hostport)
{
	char *url = occo_asprintf("http://%s/", hostport);
	char *body = NULL;
	int i;

	for (i = 0; i < 200; i++) {
		int status = 0;
		size_t len;
		FILE *f;
		CURL *c = curl_easy_init();

		free(body);
		body = NULL;
		f = open_memstream(&body, &len);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 2L);
		if (curl_easy_perform(c) == CURLE_OK) {
			long code;

			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
			status = (int)code;
		}
		curl_easy_cleanup(c);
		fclose(f);
		if (status == 200)
			break;
		nanosleep(&(struct timespec){ 0, 25 * 1000 * 1000 }, NULL);
	}
	free(url);
	return body;
}

/* The JSON of GET /containers/<id>/json, or NULL when it is not there. */
static json_t *inspect(const char *id)
{
	char *path = occo_asprintf("/containers/%s/json", id), *resp = NULL;
	json_t *j = NULL;

	if (occo_test_podman_api(&pm, "GET", path, NULL, &resp, NULL) == 200)
		j = json_loads(resp, 0, NULL);
	free(resp);
	free(path);
	return j;
}

static const char *label_of(const json_t *c, const char *k)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(c, "Config"), "Labels"), k));
}

static size_t count_label(const char *k, const char *v)
{
	char *label = occo_asprintf("%s=%s", k, v);
	json_t *ids = occo_test_podman_ids(&pm, label);
	size_t n = json_array_size(ids);

	json_decref(ids);
	free(label);
	return n;
}

static unsigned long http_sent(struct fx *f)
{
	struct occo_http_stats st;

	if (occo_http_stats_get(f->http, pm.sock, &st, NULL) < 0)
		return 0;
	return (unsigned long)st.sent;
}

static void test_docker__create_list_drop(void **state)
{
	struct fx *f = *state;
	json_t *res = resource("{\"ports\": [80], \"labels\": {\"tier\": \"front\", \"n\": 3}}");
	json_t *attrs = json_pack(
		"{s:[s], s:s}", "env", "MSG=hello from env", "command",
		"sh -c 'mkdir -p /w && echo \"$MSG\" >/w/index.html && exec httpd -f -p 80 -h /w'");
	struct rh_node n = node(f, "web", "tok-web-1", res, attrs);
	struct res c, l, d;
	char *body, *name, *key, *hostport;
	json_t *ins, *pub;
	unsigned long sent;
	struct rh_stats st;

	create_wait(f, &n, &c);
	if (c.code)
		fail_msg("create failed: %s", c.msg);
	assert_int_equal(strlen(c.id), 64);

	/* one list call: the container, ready, with its address and published port */
	sent = http_sent(f);
	list_wait(f, res, &l);
	assert_int_equal(http_sent(f) - sent, 1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].id, c.id);
	assert_int_equal(l.v[0].state, RH_READY);
	assert_string_equal(l.v[0].token, "tok-web-1");
	assert_true(!strncmp(l.v[0].addr, pm.subnet_prefix, strlen(pm.subnet_prefix)));
	assert_string_equal(l.v[0].priv, l.v[0].addr);
	pub = json_loads(l.v[0].published, 0, NULL);
	hostport = occo_strdup(json_string_value(json_object_get(pub, "80/tcp")));
	json_decref(pub);
	assert_true(!strncmp(hostport, "127.0.0.1:", 10));

	/* env and command reached it: httpd serves what $MSG said, on the published port and on
	   the container's own address */
	body = http_get(hostport);
	assert_string_equal(body, "hello from env\n");
	free(body);
	key = occo_asprintf("%s:80", l.v[0].addr);
	body = http_get(key);
	assert_string_equal(body, "hello from env\n");
	free(body);
	free(key);

	/* its name and labels */
	ins = inspect(c.id);
	assert_non_null(ins);
	name = occo_asprintf("occopus-%.8s-web-tok-web-1", f->infra);
	{
		const char *got = json_string_value(json_object_get(ins, "Name"));

		assert_string_equal(got + (*got == '/'), name); /* Docker puts a slash in front */
	}
	free(name);
	assert_string_equal(label_of(ins, "occopus.infra_id"), f->infra);
	assert_string_equal(label_of(ins, "occopus.node_id"), "tok-web-1");
	assert_string_equal(label_of(ins, "occopus.node_name"), "web");
	assert_string_equal(label_of(ins, "occopus.token"), "tok-web-1");
	assert_string_equal(label_of(ins, "tier"), "front");
	assert_string_equal(label_of(ins, "n"), "3");
	json_decref(ins);

	/* drop: gone from the daemon and from the list */
	drop_wait(f, res, "tok-web-1", c.id, &d);
	if (d.code)
		fail_msg("drop failed: %s", d.msg);
	ins = inspect(c.id);
	assert_null(ins);
	list_wait(f, res, &l);
	assert_int_equal(l.n, 0);

	key = rh_endpoint_key(res);
	assert_int_equal(rh_stats_get(f->rh, key, &st, NULL), 0);
	assert_int_equal(st.creates, 1);
	assert_int_equal(st.drops, 1);
	assert_int_equal(st.lists, 2);
	assert_int_equal(st.failures, 0);
	free(key);
	free(hostport);
	json_decref(res);
	json_decref(attrs);
}

static void test_docker__killed_container_is_shutdown(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(NULL);
	json_t *attrs = json_pack("{s:[], s:s}", "env", "command", "sleep 1000");
	struct rh_node n = node(f, "sleeper", "tok-kill", res, attrs);
	struct res c, l, d;
	char *path;

	create_wait(f, &n, &c);
	if (c.code)
		fail_msg("create failed: %s", c.msg);
	path = occo_asprintf("/containers/%s/kill?signal=KILL", c.id);
	assert_int_equal(occo_test_podman_api(&pm, "POST", path, NULL, NULL, NULL), 204);
	free(path);
	list_wait(f, res, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, RH_SHUTDOWN);
	assert_contains(l.v[0].message, "container exited");
	assert_string_equal(l.v[0].addr, "");

	drop_wait(f, res, "tok-kill", c.id, &d);
	assert_int_equal(d.code, 0);
	assert_int_equal(count_label("occopus.token", "tok-kill"), 0);
	/* a container that is gone already counts as dropped */
	drop_wait(f, res, "tok-kill", c.id, &d);
	assert_int_equal(d.code, 0);
	json_decref(res);
	json_decref(attrs);
}

static void test_docker__name_taken_by_a_foreign_container(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(NULL);
	struct rh_node n = node(f, "web", "tok-foreign", res, NULL);
	char *path =
		occo_asprintf("/containers/create?name=occopus-%.8s-web-tok-foreign", f->infra);
	char *body = occo_asprintf("{\"Image\": \"%s:%s\", \"Cmd\": [\"sleep\", \"1\"], "
				   "\"Labels\": {\"occopus.infra_id\": \"%s\"}}",
				   pm.image, pm.tag, f->infra);
	struct res c;

	assert_int_equal(occo_test_podman_api(&pm, "POST", path, body, NULL, NULL), 201);
	create_wait(f, &n, &c);
	assert_int_equal(c.code, OCCO_EEXIST);
	assert_contains(c.msg, "docker unix://");
	assert_contains(c.msg, "node 'web'");
	assert_contains(c.msg, "is taken by container");
	assert_contains(c.msg, "which is not this node's");
	/* the other container is left alone */
	assert_int_equal(count_label("occopus.infra_id", f->infra), 1);
	free(path);
	free(body);
	json_decref(res);
}

static void test_docker__unknown_image(void **state)
{
	struct fx *f = *state;
	json_t *res = resource("{\"image\": \"localhost/no-such-image\", \"tag\": 1}");
	struct rh_node n = node(f, "web", "tok-noimage", res, NULL);
	struct res c, l;

	create_wait(f, &n, &c);
	assert_int_equal(c.code, OCCO_EREMOTE);
	assert_contains(c.msg, "cannot create container");
	assert_contains(c.msg, "localhost/no-such-image:1");
	assert_contains(c.msg, "image not known"); /* Podman's own words */
	assert_contains(c.msg, "HTTP 404");
	list_wait(f, res, &l);
	assert_int_equal(l.n, 0);
	json_decref(res);
}

static void test_docker__endpoint_that_does_not_answer(void **state)
{
	struct fx *f = *state;
	struct rh_opts ro = { .max_retries = 1, .backoff_ms = 1 };
	struct occo_http_opts ho;
	char *dir = occo_test_tmpdir("nodocker");
	char *ep = occo_asprintf("{\"endpoint\": \"unix://%s/docker.sock\"}", dir);
	json_t *res = resource(ep);
	struct rh_node n = node(f, "web", "tok-down", res, NULL);
	struct res c, l;
	struct occo_err err;

	/* a core and client that give up soon */
	rh_free(f->rh);
	occo_http_opts_init(&ho);
	ho.retry.max_retries = 0;
	{
		struct occo_http *old = f->http;

		f->http = NULL;
		occo_http_close(old, NULL, NULL);
	}
	fx_open(f, &ro, &ho);
	create_wait(f, &n, &c);
	assert_int_equal(c.code, OCCO_ECONN);
	assert_contains(c.msg, "does not answer");
	assert_contains(c.msg, dir);
	memset(&l, 0, sizeof(l));
	n.token = NULL;
	n.name = NULL;
	assert_int_equal(rh_list(f->rh, &n, on_listed, &l, &err), 0);
	run_until(&f->loop, done + 1);
	assert_int_equal(l.code, OCCO_ECONN);
	assert_contains(l.msg, "infrastructure '");
	assert_contains(l.msg, "does not answer");
	occo_test_rmtree(dir);
	free(dir);
	free(ep);
	json_decref(res);
}

static void test_docker__adopted_by_token_after_a_crash(void **state)
{
	struct fx *f = *state;
	json_t *res = resource(NULL);
	json_t *attrs = json_pack("{s:[], s:[s, s]}", "env", "command", "sleep", "1000");
	struct rh_node n = node(f, "db", "tok-crash", res, attrs);
	struct res c, again, l, d;
	char *path;

	create_wait(f, &n, &c);
	if (c.code)
		fail_msg("create failed: %s", c.msg);
	/* the orchestrator dies before it writes the id down; a new one creates the same token */
	rh_free(f->rh);
	fx_open(f, NULL, NULL);
	create_wait(f, &n, &again);
	if (again.code)
		fail_msg("create again failed: %s", again.msg);
	assert_string_equal(again.id, c.id);
	assert_int_equal(count_label("occopus.token", "tok-crash"), 1);

	/* it died too, before it was started: adopted and started */
	path = occo_asprintf("/containers/%s/stop?t=0", c.id);
	assert_int_equal(occo_test_podman_api(&pm, "POST", path, NULL, NULL, NULL), 204);
	free(path);
	list_wait(f, res, &l);
	assert_int_equal(l.v[0].state, RH_SHUTDOWN);
	rh_free(f->rh);
	fx_open(f, NULL, NULL);
	create_wait(f, &n, &again);
	assert_int_equal(again.code, 0);
	assert_string_equal(again.id, c.id);
	list_wait(f, res, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, RH_READY);

	/* dropped by its token (no id known) */
	drop_wait(f, res, "tok-crash", NULL, &d);
	assert_int_equal(d.code, 0);
	assert_int_equal(count_label("occopus.token", "tok-crash"), 0);
	drop_wait(f, res, "tok-crash", NULL, &d);
	assert_int_equal(d.code, 0);
	json_decref(res);
	json_decref(attrs);
}

static void test_docker__image_from_url_imported_once(void **state)
{
	struct fx *f = *state;
	static const struct occo_test_file files[] = {
		{ "root/start.sh",
		  "#!/bin/sh\nmkdir -p /w\necho \"$message\" >/w/index.html\n"
		  "exec httpd -f -p 80 -h /w\n",
		  0755 },
		{ NULL, NULL, 0 },
	};
	char *dir = occo_test_tmpdir("images"), *tar = occo_asprintf("%s/img.tar", dir);
	char *extra, *tag = occo_asprintf("v%.8s", f->infra), *ref;
	int port, pid, i;
	json_t *res, *attrs, *bad;
	struct res c[3], l, e;
	unsigned long sent;

	assert_int_equal(occo_test_busybox_tar(tar, files), 0);
	assert_int_equal(occo_test_file_server_start(dir, &port, &pid), 0);
	extra = occo_asprintf("{\"origin\": \"http://127.0.0.1:%d/img.tar\", \"image\": "
			      "\"occo-imported\", \"tag\": \"%s\"}",
			      port, tag);
	res = resource(extra);
	attrs = json_pack("{s:[s], s:[s, s, s]}", "env", "message=imported", "command", "sh", "-c",
			  "/root/start.sh");

	/* three creates at once: one import, then a create and a start each */
	sent = http_sent(f);
	for (i = 0; i < 3; i++) {
		char tok[32];
		struct rh_node n;

		snprintf(tok, sizeof(tok), "tok-url-%d", i);
		n = node(f, "imp", tok, res, attrs);
		memset(&c[i], 0, sizeof(c[i]));
		create(f, &n, &c[i]);
	}
	run_until(&f->loop, done + 3);
	for (i = 0; i < 3; i++)
		if (c[i].code)
			fail_msg("create %d failed: %s", i, c[i].msg);
	assert_int_equal(http_sent(f) - sent, 1 + 3 * 2);
	list_wait(f, res, &l);
	assert_int_equal(l.n, 3);
	{
		char *hp = occo_asprintf("%s:80", l.v[0].addr);
		char *body = http_get(hp);

		assert_string_equal(body, "imported\n");
		free(body);
		free(hp);
	}
	ref = occo_asprintf("/images/occo-imported:%s/json", tag);
	assert_int_equal(occo_test_podman_api(&pm, "GET", ref, NULL, NULL, NULL), 200);

	/* a tarball that is not there: the daemon's words */
	bad = json_deep_copy(res);
	{
		char *u = occo_asprintf("http://127.0.0.1:%d/missing.tar", port);

		json_object_set_new(bad, "origin", json_string(u));
		free(u);
	}
	json_object_set_new(bad, "tag", json_string("missing"));
	{
		struct rh_node n = node(f, "imp", "tok-url-bad", bad, attrs);

		create_wait(f, &n, &e);
	}
	assert_int_equal(e.code, OCCO_EREMOTE);
	assert_contains(e.msg,
			"cannot import image 'occo-imported:missing' from 'http://127.0.0.1:");
	assert_contains(e.msg, "/missing.tar");
	assert_contains(e.msg, "HTTP 500");
	assert_int_equal(count_label("occopus.token", "tok-url-bad"), 0);

	occo_test_podman_remove(&pm, "occopus.node_name=imp");
	{
		char *del = occo_asprintf("/images/occo-imported:%s?force=1", tag);

		occo_test_podman_api(&pm, "DELETE", del, NULL, NULL, NULL);
		free(del);
	}
	occo_test_file_server_stop(pid);
	occo_test_rmtree(dir);
	free(ref);
	free(dir);
	free(tar);
	free(tag);
	free(extra);
	json_decref(bad);
	json_decref(res);
	json_decref(attrs);
}

static void test_docker__pull_that_fails(void **state)
{
	struct fx *f = *state;
	/* a registry on a loopback port nobody listens on: nothing leaves the machine */
	json_t *res = resource("{\"origin\": \"dockerhub\", \"image\": \"127.0.0.1:1/nothing\", "
			       "\"tag\": \"1.0\"}");
	struct rh_node n = node(f, "web", "tok-pull", res, NULL);
	struct res c;

	create_wait(f, &n, &c);
	assert_int_equal(c.code, OCCO_EREMOTE);
	assert_contains(c.msg, "cannot pull image '127.0.0.1:1/nothing:1.0'");
	assert_contains(c.msg, "connection refused");
	assert_int_equal(count_label("occopus.token", "tok-pull"), 0);
	json_decref(res);
}

static void test_docker__networks(void **state)
{
	struct fx *f = *state;
	char *extra = occo_asprintf("{\"network\": \"%s\"}", pm.side_network);
	json_t *res = resource(extra), *none = resource("{\"network\": \"no-such-net\"}");
	json_t *attrs = json_pack("{s:[], s:s}", "env", "command", "sleep 1000");
	struct rh_node n = node(f, "side", "tok-side", res, attrs);
	struct res c, l;

	create_wait(f, &n, &c);
	if (c.code)
		fail_msg("create failed: %s", c.msg);
	list_wait(f, res, &l);
	assert_int_equal(l.n, 1);
	assert_true(!strncmp(l.v[0].addr, pm.side_prefix, strlen(pm.side_prefix)));

	n = node(f, "side", "tok-nonet", none, attrs);
	create_wait(f, &n, &c);
	assert_int_not_equal(c.code, 0);
	assert_contains(c.msg, "no-such-net");
	assert_int_equal(count_label("occopus.token", "tok-nonet"), 0);
	free(extra);
	json_decref(res);
	json_decref(none);
	json_decref(attrs);
}

static void test_docker__tcp_endpoint(void **state)
{
	struct fx *f = *state;
	json_t *res, *attrs = json_pack("{s:[], s:s}", "env", "command", "sleep 1000");
	char *extra;
	struct rh_node n;
	struct res c, l, d;

	if (!pm.tcp_endpoint && occo_test_podman_listen_tcp(&pm) < 0)
		fail_msg("cannot listen on tcp");
	extra = occo_asprintf("{\"endpoint\": \"%s\"}", pm.tcp_endpoint);
	res = resource(extra);
	n = node(f, "overtcp", "tok-tcp", res, attrs);
	create_wait(f, &n, &c);
	if (c.code)
		fail_msg("create failed: %s", c.msg);
	list_wait(f, res, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].state, RH_READY);
	drop_wait(f, res, "tok-tcp", c.id, &d);
	assert_int_equal(d.code, 0);
	assert_int_equal(count_label("occopus.token", "tok-tcp"), 0);
	free(extra);
	json_decref(res);
	json_decref(attrs);
}

/* Sections the handler refuses: the field is named, nothing is created. */
static const struct {
	const char *resource, *attributes, *expect;
} refused[] = {
	{ "{\"ports\": [\"80:http\"]}", NULL,
	  "item 1 of 'ports': '80:http' is not PORT[/PROTO], HOSTPORT:PORT[/PROTO]" },
	{ "{\"ports\": [80, 70000]}", NULL, "item 2 of 'ports': port 70000 is not in 1-65535" },
	{ "{\"ports\": [\"80/icmp\"]}", NULL, "unknown protocol 'icmp'" },
	{ "{\"labels\": {\"occopus.token\": \"x\"}}", NULL,
	  "label 'occopus.token' of 'labels': names beginning with 'occopus.' are occopus's" },
	{ "{\"labels\": {\"a\": [1]}}", NULL,
	  "label 'a' of 'labels' must be a string, a number or a boolean" },
	{ "{\"origin\": \"ftp://x/y.tar\"}", NULL, "'origin' must be 'dockerhub', 'local' or" },
	{ "{\"stop_timeout\": -1}", NULL, "'stop_timeout' must be between 0 and 3600" },
	{ "{\"init\": \"yes\"}", NULL, "'init' must be" },
	{ "{\"endpoint\": \"replace_with_your_docker_endpoint\"}", NULL,
	  "invalid endpoint 'replace_with_your_docker_endpoint' (want unix:///path" },
	{ "{\"endpoint\": \"unix://relative.sock\"}", NULL, "invalid endpoint" },
	{ NULL, "{\"env\": [], \"command\": \"sh -c 'unterminated\"}",
	  "'command' has an unterminated single quote" },
	{ NULL, "{\"env\": [], \"command\": \"echo \\\"open\"}",
	  "'command' has an unterminated double quote" },
	{ NULL, "{\"env\": [\"A=1\", 2]}", "item 2 of 'env' is not a string" },
	{ NULL, "{\"env\": [], \"command\": 7}", "'command' must be a string or a list" },
};

static void test_docker__refused_sections_name_the_field(void **state)
{
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *res = resource(refused[i].resource);
		json_t *attrs =
			refused[i].attributes ? json_loads(refused[i].attributes, 0, NULL) : NULL;
		struct rh_node n = node(f, "bad", "tok-bad", res, attrs);
		struct occo_err err;
		struct res c;
		const char *msg;

		memset(&c, 0, sizeof(c));
		if (rh_create(f->rh, &n, on_created, &c, &err) < 0) {
			msg = err.msg;
		} else {
			run_until(&f->loop, done + 1);
			msg = c.msg;
		}
		if (!strstr(msg, refused[i].expect))
			fail_msg("case %zu: wanted '%s' in '%s'", i, refused[i].expect, msg);
		json_decref(res);
		json_decref(attrs);
	}
	assert_int_equal(count_label("occopus.infra_id", f->infra), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_docker__create_list_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker__killed_container_is_shutdown, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_docker__name_taken_by_a_foreign_container,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker__unknown_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker__endpoint_that_does_not_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_docker__adopted_by_token_after_a_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_docker__image_from_url_imported_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_docker__pull_that_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker__networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker__tcp_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker__refused_sections_name_the_field, setup,
						teardown),
	};
	int rc = occo_test_podman_start(&pm);

	if (rc != 0) {
		occo_test_podman_stop(&pm);
		return rc == OCCO_TEST_SKIP ? OCCO_TEST_SKIP : 1;
	}
	if (getenv("OCCO_TEST_FILTER"))
		cmocka_set_test_filter(getenv("OCCO_TEST_FILTER"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	occo_test_podman_stop(&pm);
	return rc;
}
