/*
 * test_rest.c - occopus-rest-service as a user drives it with curl, on the local back-end and
 * a real redis-server: POST a description (the build runs in the service), wait until every
 * node is ready, scale up, down and to a count, read the infrastructure (Occopus's shape, with
 * addresses that answer), an info key and the cost, then DELETE it (keys and processes gone).
 * Errors have their HTTP status and a JSON body: bad YAML (400, naming line and column), an
 * unknown id (404), a body too large (413), a mutating request without the token (401). TLS
 * with a self-signed certificate; SIGTERM exits 0. CORS for the origins of the configuration
 * (preflight without the token, the answers' headers, a reload).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "progs.h"
#include "rest.h"
#include "testutil.h"
#include "occo/util/alloc.h"

#define TOKEN "t0k3n-for-the-test"

static const char nodes_yaml[] =
	"'node_def:web':\n"
	"  - resource:\n"
	"      type: local\n"
	"      command: exec busybox httpd -f -p \"$OCCOPUS_ADDRESS:8080\" -h .\n"
	"    health_check: {ports: [8080], timeout: 30}\n";

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: rest-demo\n"
				 "nodes:\n"
				 "  - &DB {name: db, type: web}\n"
				 "  - &APP {name: app, type: web, scaling: {min: 1, max: 4}}\n"
				 "dependencies: [[*APP, *DB]]\n";

struct fx {
	struct occo_test_progs p;
	struct occo_test_svc svc;
	char *base; /* http://127.0.0.1:<port> */
	char *auth; /* -H argument */
};

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	char *cfg;

	if (!occo_test_have_program("redis-server") || !occo_test_have_program("curl") ||
	    !occo_test_have_program("busybox") || !occo_test_have_program("openssl")) {
		fprintf(stderr, "skipped: needs redis-server, curl, busybox and openssl\n");
		exit(OCCO_TEST_SKIP);
	}
	if (occo_test_progs_setup(&f->p, "rest", NULL) < 0)
		return -1;
	cfg = occo_asprintf("OCCOPUS_STATE_DIR=%s/state", f->p.dir);
	occo_test_progs_setenv(&f->p, cfg);
	free(cfg);
	f->auth = occo_strdup("Authorization: Bearer " TOKEN);
	occo_test_write_file(f->p.dir, "nodes.yaml", nodes_yaml);
	occo_test_write_file(f->p.dir, "infra.yaml", infra_yaml);
	cfg = occo_asprintf("rest:\n  token: %s\n  max_body: 65536\n"
			    "maintenance: {interval: 0.2, lease: 3}\n",
			    TOKEN);
	occo_test_write_file(f->p.dir, "occopus_config.yaml", cfg);
	free(cfg);
	assert_int_equal(occo_test_progs_run(&f->p, NULL, NULL, "import", "nodes.yaml", NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->svc.pid > 0)
		occo_test_svc_stop(&f->svc, SIGKILL);
	free(f->svc.log);
	occo_test_progs_teardown(&f->p);
	free(f->base);
	free(f->auth);
	free(f);
	return 0;
}

/* The service gets HOME, the store and the state directory (and logs at its own level). */
static void start_svc(struct fx *f, char *const args[], const char *scheme)
{
	char *home = occo_asprintf("HOME=%s", f->p.dir);
	char *url = occo_asprintf("OCCOPUS_REDIS_URL=unix://%s", f->p.redis.sock);
	char *state = occo_asprintf("OCCOPUS_STATE_DIR=%s/state", f->p.dir);
	char *env[] = { home, url, state, NULL };
	char *log = occo_asprintf("%s/svc.log", f->p.dir);

	assert_int_equal(occo_test_svc_start(&f->svc, f->p.dir, args, env, log), 0);
	free(f->base);
	f->base = occo_asprintf("%s://127.0.0.1:%d", scheme, f->svc.port);
	free(log);
	free(state);
	free(url);
	free(home);
}

/* A request to the service; returns the status, *doc the JSON answer (NULL if none). */
static int req(struct fx *f, const char *method, const char *path, const char *data, int auth,
	       json_t **doc)
{
	char *url = occo_asprintf("%s%s", f->base, path), *body = NULL;
	char *extra[] = { "-H", f->auth, NULL };
	char *file = data && data[0] == '@' && data[1] != '/'
			     ? occo_asprintf("@%s/%s", f->p.dir, data + 1)
			     : NULL;
	int st = occo_test_http(method, url, file ? file : data, auth ? extra : NULL, &body);

	free(file);
	if (doc)
		*doc = json_loads(body, 0, NULL);
	free(body);
	free(url);
	return st;
}

/* {"node": {"instances": {...}, "scaling": {...}}} of the infrastructure. */
static json_t *get_infra(struct fx *f, const char *id)
{
	char *path = occo_asprintf("/infrastructures/%s", id);
	json_t *doc = NULL;

	assert_int_equal(req(f, "GET", path, NULL, 0, &doc), 200);
	assert_non_null(doc);
	free(path);
	return doc;
}

/* Whether node `name` has exactly `n` instances, all ready. */
static int settled(const json_t *doc, const char *name, size_t n)
{
	json_t *insts = json_object_get(json_object_get(doc, name), "instances"), *i;
	const char *id;

	if (json_object_size(insts) != n)
		return 0;
	json_object_foreach (insts, id, i)
		if (strcmp(json_string_value(json_object_get(i, "state")) ?: "", "ready"))
			return 0;
	return 1;
}

/* Wait (60 s at most) until db has 1 ready instance and app `napp`. */
static json_t *wait_settled(struct fx *f, const char *id, size_t napp)
{
	json_t *doc = NULL;
	int i;

	for (i = 0; i < 600; i++) {
		json_decref(doc);
		doc = get_infra(f, id);
		if (settled(doc, "db", 1) && settled(doc, "app", napp))
			return doc;
		usleep(100 * 1000);
	}
	fail_msg("the infrastructure did not settle with %zu app instances: %s", napp,
		 json_dumps(doc, 0));
	return NULL;
}

/* The process group of a local node, from its runtime directory (0 when none). */
static int node_pgid(struct fx *f, const char *infra, const char *node_id)
{
	char *path = occo_asprintf("%s/state/local/%s/occo-%s/pid", f->p.dir, infra, node_id);
	FILE *p = fopen(path, "r");
	int pid = 0;

	if (p) {
		if (fscanf(p, "%d", &pid) != 1)
			pid = 0;
		fclose(p);
	}
	free(path);
	return pid;
}

static long long redis_int(struct fx *f, const char *fmt, const char *a, const char *b)
{
	redisReply *r = redisCommand(f->p.rc, fmt, a, b);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer
		      : r && r->type == REDIS_REPLY_ARRAY ? (long long)r->elements
							  : -1;

	freeReplyObject(r);
	return v;
}

static void expect_error(struct fx *f, const char *method, const char *path, const char *data,
			 int auth, int status, const char *in_message)
{
	json_t *doc = NULL;
	const char *msg;

	assert_int_equal(req(f, method, path, data, auth, &doc), status);
	assert_non_null(doc);
	assert_non_null(json_string_value(json_object_get(doc, "error")));
	msg = json_string_value(json_object_get(doc, "message"));
	assert_non_null(msg);
	if (in_message && !strstr(msg, in_message))
		fail_msg("'%s' not in the message '%s'", in_message, msg);
	json_decref(doc);
}

static void test_rest__occopus_workflow(void **state)
{
	struct fx *f = *state;
	char *args[] = { "--cfg", "occopus_config.yaml", NULL };
	json_t *doc, *v;
	char *id, *path, *page, *url;
	const char *nid, *addr;
	int groups[8], ngroups = 0, i;

	start_svc(f, args, "http");

	/* POST a build: the id at once, the nodes come with the passes */
	assert_int_equal(req(f, "POST", "/infrastructures/", "@infra.yaml", 1, &doc), 200);
	id = occo_strdup(json_string_value(json_object_get(doc, "infraid")));
	assert_non_null(id);
	json_decref(doc);
	doc = wait_settled(f, id, 1);
	v = json_object_get(json_object_get(doc, "app"), "scaling");
	assert_int_equal(json_integer_value(json_object_get(v, "actual")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "min")), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "max")), 4);
	json_decref(doc);

	/* listed under the key spelt right */
	assert_int_equal(req(f, "GET", "/infrastructures/", NULL, 0, &doc), 200);
	v = json_object_get(doc, "infrastructures");
	assert_true(json_is_array(v));
	assert_string_equal(json_string_value(json_array_get(v, 0)), id);
	json_decref(doc);

	/* scaleup by 2, scaledown by 1, scaleto 1 */
	path = occo_asprintf("/infrastructures/%s/scaleup/app/2", id);
	assert_int_equal(req(f, "POST", path, NULL, 1, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "method")), "scaleup");
	assert_int_equal(json_integer_value(json_object_get(doc, "count")), 2);
	json_decref(doc);
	free(path);
	json_decref(wait_settled(f, id, 3));
	path = occo_asprintf("/infrastructures/%s/scaledown/app", id);
	assert_int_equal(req(f, "POST", path, NULL, 1, &doc), 200);
	assert_true(json_is_null(json_object_get(doc, "nodeid")));
	json_decref(doc);
	free(path);
	json_decref(wait_settled(f, id, 2));
	path = occo_asprintf("/infrastructures/%s/scaleto/app/1", id);
	assert_int_equal(req(f, "POST", path, NULL, 1, &doc), 200);
	json_decref(doc);
	free(path);
	doc = wait_settled(f, id, 1);

	/* the addresses are real: each node's web server answers on its own */
	json_object_foreach (json_object_get(json_object_get(doc, "db"), "instances"), nid, v) {
		addr = json_string_value(json_object_get(v, "resource_address"));
		assert_non_null(addr);
		assert_int_equal(strncmp(addr, "127.", 4), 0);
		url = occo_asprintf("http://%s:8080/", addr);
		assert_int_not_equal(occo_test_http("GET", url, NULL, NULL, &page), 0);
		free(page);
		free(url);
	}
	{
		const char *name;
		json_t *node;

		json_object_foreach (doc, name, node)
			json_object_foreach (json_object_get(node, "instances"), nid, v)
				if (ngroups < 8)
					groups[ngroups++] = node_pgid(f, id, nid);
	}
	json_decref(doc);
	assert_int_equal(ngroups, 2);
	for (i = 0; i < ngroups; i++)
		assert_true(occo_test_group_alive(groups[i]));

	/* an info key, the cost */
	path = occo_asprintf("/info/infrastructure.name?infra_id=%s", id);
	assert_int_equal(req(f, "GET", path, NULL, 0, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "result")), "rest-demo");
	json_decref(doc);
	free(path);
	path = occo_asprintf("/infrastructures/%s/cost", id);
	assert_int_equal(req(f, "GET", path, NULL, 0, &doc), 200);
	assert_true(json_is_number(json_object_get(doc, "totalcost")));
	assert_int_equal(json_object_size(json_object_get(doc, "app")), 1);
	json_decref(doc);
	free(path);

	/* attach and detach: 409 when there is nothing to change */
	path = occo_asprintf("/infrastructures/%s/attach", id);
	expect_error(f, "POST", path, NULL, 1, 409, "already being maintained");
	free(path);
	path = occo_asprintf("/infrastructures/%s/detach", id);
	assert_int_equal(req(f, "POST", path, NULL, 1, NULL), 200);
	assert_int_equal(redis_int(f, "SISMEMBER %s %s", "occo:attached", id), 0);
	expect_error(f, "POST", path, NULL, 1, 409, "not maintained");
	free(path);
	path = occo_asprintf("/infrastructures/%s/attach", id);
	assert_int_equal(req(f, "POST", path, NULL, 1, NULL), 200);
	assert_int_equal(redis_int(f, "SISMEMBER %s %s", "occo:attached", id), 1);
	free(path);

	/* notify: stored, its credentials masked */
	path = occo_asprintf("/infrastructures/%s/notify", id);
	assert_int_equal(req(f, "POST", path,
			     "{\"type\": \"fcm\", \"fcm\": {\"api_key\": \"AAAA-fcm-secret\", "
			     "\"reg_id\": \"r1\"}}",
			     1, NULL),
			 200);
	free(path);
	{
		redisReply *r = redisCommand(f->p.rc, "GET occo:{%s}:notification", id);

		assert_int_equal(r->type, REDIS_REPLY_STRING);
		assert_non_null(strstr(r->str, "\"r1\""));
		assert_null(strstr(r->str, "AAAA-fcm-secret"));
		freeReplyObject(r);
	}

	/* errors: their status and a JSON body */
	expect_error(f, "POST", "/infrastructures/", "nodes:\n  - {name: a, type: b\n", 1, 400,
		     "<request body>:3:1");
	expect_error(f, "POST", "/infrastructures/", "nodes: [{name: a, type: b}]\n", 1, 400,
		     "<request body>:");
	expect_error(f, "POST", "/infrastructures/",
		     "infra_name: x\nnodes: !yaml_import {url: 'file:///etc/passwd'}\n", 1, 400,
		     NULL);
	expect_error(f, "GET", "/infrastructures/no-such-infra", NULL, 0, 404, "no-such-infra");
	expect_error(f, "DELETE", "/infrastructures/no-such-infra", NULL, 1, 404, NULL);
	path = occo_asprintf("/infrastructures/%s/scaleup/nosuchnode", id);
	expect_error(f, "POST", path, NULL, 1, 404, "nosuchnode");
	free(path);
	expect_error(f, "POST", "/infrastructures/", "@infra.yaml", 0, 401, "Bearer");
	{
		char *big = occo_malloc(70001), *bigpath;
		char *extra[] = { "-H", f->auth, "-D", "-", NULL };

		memset(big, '#', 70000);
		big[70000] = 0;
		occo_test_write_file(f->p.dir, "big.yaml", big);
		free(big);
		bigpath = occo_asprintf("@%s/big.yaml", f->p.dir);
		expect_error(f, "POST", "/infrastructures/", bigpath, 1, 413, "65536");
		url = occo_asprintf("%s/infrastructures/", f->base);
		/* 401 says how to authenticate */
		assert_int_equal(occo_test_http("POST", url, "x: 1", extra + 2, &page), 401);
		assert_non_null(strstr(page, "WWW-Authenticate: Bearer"));
		free(page);
		free(url);
		free(bigpath);
	}
	assert_int_equal(redis_int(f, "SCARD %s", "occo:infras", NULL), 1);

	/* DELETE: the keys and the processes are gone */
	path = occo_asprintf("/infrastructures/%s", id);
	assert_int_equal(req(f, "DELETE", path, NULL, 1, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "infraid")), id);
	json_decref(doc);
	free(path);
	{
		char *pattern = occo_asprintf("occo:{%s}:*", id);

		assert_int_equal(redis_int(f, "KEYS %s", pattern, NULL), 0);
		free(pattern);
	}
	assert_int_equal(redis_int(f, "SISMEMBER %s %s", "occo:attached", id), 0);
	assert_int_equal(redis_int(f, "SISMEMBER %s %s", "occo:infras", id), 0);
	for (i = 0; i < ngroups; i++)
		assert_false(occo_test_group_alive(groups[i]));

	/* /metrics and /healthz */
	url = occo_asprintf("%s/metrics", f->base);
	assert_int_equal(occo_test_http("GET", url, NULL, NULL, &page), 200);
	assert_non_null(strstr(page, "occopus_passes_total{result=\"ok\"}"));
	assert_non_null(strstr(page, "occopus_cloud_calls_total{endpoint="));
	free(page);
	free(url);
	assert_int_equal(req(f, "GET", "/healthz", NULL, 0, NULL), 200);

	/* SIGHUP: the configuration is read again (a new token) */
	{
		char *cfg = occo_asprintf("rest:\n  token: %s-2\n  max_body: 65536\n"
					  "maintenance: {interval: 0.2, lease: 3}\n",
					  TOKEN);
		char *old = f->auth;

		occo_test_write_file(f->p.dir, "occopus_config.yaml", cfg);
		free(cfg);
		kill(f->svc.pid, SIGHUP);
		for (i = 0;
		     i < 100 && req(f, "POST", "/infrastructures/x/attach", NULL, 1, NULL) != 401;
		     i++)
			usleep(50 * 1000);
		assert_int_equal(req(f, "POST", "/infrastructures/x/attach", NULL, 1, NULL), 401);
		f->auth = occo_strdup("Authorization: Bearer " TOKEN "-2");
		free(old);
		assert_int_equal(req(f, "POST", "/infrastructures/x/attach", NULL, 1, NULL), 404);
		assert_true(occo_test_svc_log_count(&f->svc, "configuration reloaded") >= 1);
	}

	/* one log line per request; the token never in the log */
	assert_true(occo_test_svc_log_count(&f->svc, "msg=request method=DELETE") >= 1);
	assert_int_equal(occo_test_svc_log_count(&f->svc, TOKEN), 0);
	assert_int_equal(occo_test_svc_stop(&f->svc, SIGTERM), 0);
	free(id);
}

static void test_rest__tls(void **state)
{
	struct fx *f = *state;
	char *key = occo_asprintf("%s/key.pem", f->p.dir),
	     *cert = occo_asprintf("%s/cert.pem", f->p.dir);
	char *argv[] = { "openssl",  "req",
			 "-x509",    "-newkey",
			 "rsa:2048", "-nodes",
			 "-keyout",  key,
			 "-out",     cert,
			 "-days",    "1",
			 "-subj",    "/CN=127.0.0.1",
			 "-addext",  "subjectAltName=IP:127.0.0.1",
			 NULL };
	char *cfg = occo_asprintf("rest: {tls_cert: %s, tls_key: %s}\n", cert, key);
	char *args[] = { "--cfg", "tls.yaml", NULL };
	char *cacert[] = { "--cacert", cert, NULL };
	char *out, *err, *url, *plain, *body;

	assert_int_equal(occo_test_run(f->p.dir, argv, NULL, &out, &err), 0);
	free(out);
	free(err);
	occo_test_write_file(f->p.dir, "tls.yaml", cfg);
	start_svc(f, args, "https");
	url = occo_asprintf("%s/healthz", f->base);
	assert_int_equal(occo_test_http("GET", url, NULL, cacert, &body), 200);
	assert_non_null(strstr(body, "\"ok\""));
	free(body);
	/* a client that does not trust the certificate fails, and so does plain HTTP */
	assert_int_equal(occo_test_http("GET", url, NULL, NULL, NULL), 0);
	plain = occo_asprintf("http://127.0.0.1:%d/healthz", f->svc.port);
	assert_true(occo_test_http("GET", plain, NULL, NULL, NULL) != 200);
	assert_int_equal(occo_test_svc_stop(&f->svc, SIGTERM), 0);
	free(plain);
	free(url);
	free(cfg);
	free(key);
	free(cert);
}

/*
 * What a browser on `origin` gets for a request (curl -i: the status line and the headers,
 * then the body): the status; *head the whole answer.
 */
static int browser(struct fx *f, const char *method, const char *path, const char *origin,
		   const char *asks, int auth, char **head)
{
	char *url = occo_asprintf("%s%s", f->base, path);
	char *o = occo_asprintf("Origin: %s", origin);
	char *m = asks ? occo_asprintf("Access-Control-Request-Method: %s", asks) : NULL;
	char *extra[8] = { "-i", "-H", o };
	size_t n = 3;
	int st;

	if (m) {
		extra[n++] = "-H";
		extra[n++] = m;
	}
	if (auth) {
		extra[n++] = "-H";
		extra[n++] = f->auth;
	}
	extra[n] = NULL;
	st = occo_test_http(method, url, NULL, extra, head);
	free(url);
	free(o);
	free(m);
	return st;
}

/* The value of header `name` in a curl -i answer (case-insensitive name), or NULL. */
static char *header(const char *head, const char *name)
{
	const char *p = head;
	size_t n = strlen(name);

	while (p && *p) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = v + strcspn(v, "\r\n");
			return occo_strndup(v, (size_t)(e - v));
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

static void assert_header(const char *head, const char *name, const char *want)
{
	char *v = header(head, name);

	if (!want) {
		if (v)
			fail_msg("unexpected %s: %s in:\n%s", name, v, head);
		return;
	}
	if (!v || strcmp(v, want))
		fail_msg("%s: want '%s', got '%s' in:\n%s", name, want, v ? v : "(none)", head);
	free(v);
}

/*
 * A portal in a browser: the origins of rest.cors_origins may call the service (a preflight
 * without the token, then the request with it); others get no CORS headers, so their browsers
 * refuse; a reload changes the list.
 */
static void test_rest__cors(void **state)
{
	struct fx *f = *state;
	char *args[] = { "--cfg", "cors.yaml", NULL };
	const char *portal = "https://portal.example.org";
	char *head, *path, *id;
	json_t *doc = NULL;
	int i;

	occo_test_write_file(
		f->p.dir, "cors.yaml",
		"rest:\n  token: " TOKEN "\n"
		"  cors_origins: ['https://portal.example.org', 'http://127.0.0.1:8000']\n");
	start_svc(f, args, "http");
	/* the preflight of a POST: 204 and what may be sent, no token needed */
	assert_int_equal(browser(f, "OPTIONS", "/infrastructures", portal, "POST", 0, &head), 204);
	assert_header(head, "Access-Control-Allow-Origin", portal);
	assert_header(head, "Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
	assert_header(head, "Access-Control-Allow-Headers", "Authorization, Content-Type");
	assert_header(head, "Vary", "Origin");
	free(head);
	/* a page elsewhere: no CORS headers, so its browser refuses the answer */
	assert_int_equal(
		browser(f, "OPTIONS", "/infrastructures", "https://evil.example", "POST", 0, &head),
		204);
	assert_header(head, "Access-Control-Allow-Origin", NULL);
	free(head);
	/* the requests themselves, the service's errors and its cached answers included */
	assert_int_equal(req(f, "POST", "/infrastructures", "@infra.yaml", 1, &doc), 200);
	id = occo_strdup(json_string_value(json_object_get(doc, "infraid")));
	json_decref(doc);
	path = occo_asprintf("/infrastructures/%s", id);
	for (i = 0; i < 2; i++) { /* the second from the cache */
		assert_int_equal(browser(f, "GET", path, portal, NULL, 0, &head), 200);
		assert_header(head, "Access-Control-Allow-Origin", portal);
		assert_non_null(strstr(head, "\"instances\""));
		free(head);
	}
	assert_int_equal(browser(f, "GET", path, "https://evil.example", NULL, 0, &head), 200);
	assert_header(head, "Access-Control-Allow-Origin", NULL);
	free(head);
	assert_int_equal(browser(f, "GET", "/infrastructures/nope", portal, NULL, 0, &head), 404);
	assert_header(head, "Access-Control-Allow-Origin", portal);
	free(head);
	assert_int_equal(browser(f, "DELETE", path, portal, NULL, 0, &head), 401);
	assert_header(head, "Access-Control-Allow-Origin", portal);
	free(head);
	assert_int_equal(browser(f, "DELETE", path, portal, NULL, 1, &head), 200);
	assert_header(head, "Access-Control-Allow-Origin", portal);
	free(head);
	/* SIGHUP: any origin now */
	occo_test_write_file(f->p.dir, "cors.yaml",
			     "rest:\n  token: " TOKEN "\n  cors_origins: '*'\n");
	kill(f->svc.pid, SIGHUP);
	for (i = 0; i < 100 && occo_test_svc_log_count(&f->svc, "configuration reloaded") < 1; i++)
		usleep(50 * 1000);
	assert_int_equal(browser(f, "GET", "/healthz", "https://evil.example", NULL, 0, &head),
			 200);
	assert_header(head, "Access-Control-Allow-Origin", "*");
	assert_header(head, "Vary", NULL);
	free(head);
	/* a bad list is refused with the file, line and column; the service keeps the old one */
	occo_test_write_file(f->p.dir, "cors.yaml",
			     "rest:\n  token: " TOKEN "\n  cors_origins: [portal.example.org]\n");
	kill(f->svc.pid, SIGHUP);
	for (i = 0; i < 100 && occo_test_svc_log_count(&f->svc, "cannot reload") < 1; i++)
		usleep(50 * 1000);
	assert_int_equal(occo_test_svc_log_count(&f->svc, "cors.yaml:3:18: 'rest.cors_origins' "
							  "item 1 must be"),
			 1);
	assert_int_equal(browser(f, "GET", "/healthz", "https://evil.example", NULL, 0, &head),
			 200);
	assert_header(head, "Access-Control-Allow-Origin", "*");
	free(head);
	assert_int_equal(occo_test_svc_stop(&f->svc, SIGTERM), 0);
	free(path);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rest__occopus_workflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest__tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest__cors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
