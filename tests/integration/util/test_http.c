/*
 * test_http.c - the util HTTP client against a real HTTP server.
 *
 * The group setup starts tests/support/http_server.py (plain HTTP on a kernel-chosen port,
 * TLS on a second port with a self-signed certificate made here with the openssl CLI, and a
 * unix socket); the group teardown kills it. Each test gets a fresh loop and client and checks
 * at the end that closing the client releases every handle. Counts the server saw (/count)
 * tell how many attempts reached it and how many ran at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/http.h"
#include "testutil.h"

#define SERVER_PY OCCO_SOURCE_DIR "/tests/support/http_server.py"

struct server {
	pid_t pid;
	int stdin_fd; /* the server exits when this closes */
	int port, tls_port;
	char *dir, *sock, *cert, *key;
};

static struct server srv;

/* One test's loop and client. */
struct fix {
	uv_loop_t loop;
	struct occo_http *h;
	int closed;
};

/* What a callback saw. */
struct result {
	int calls;
	int status;
	int code; /* 0 or a positive occo code */
	char msg[OCCO_ERR_MSG_MAX];
	char *body;
	size_t len;
	unsigned attempts;
	char hdr[128]; /* the header named in want_hdr, "" if absent */
	const char *want_hdr;
};

/* Server */

static int make_cert(void)
{
	char *cmd;
	int rc;

	if (!occo_test_have_program("openssl"))
		return -1;
	srv.cert = occo_asprintf("%s/cert.pem", srv.dir);
	srv.key = occo_asprintf("%s/key.pem", srv.dir);
	cmd = occo_asprintf(
		"openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
		"-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1",
		srv.key, srv.cert);
	rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int server_start(void **state)
{
	int in[2], out[2];
	char line[64] = "";
	size_t n = 0;
	ssize_t r;
	struct pollfd pfd;
	int tls;

	(void)state;
	srv.dir = occo_test_tmpdir("http");
	srv.sock = occo_asprintf("%s/http.sock", srv.dir);
	tls = make_cert() == 0;
	if (pipe(in) < 0 || pipe(out) < 0)
		return -1;
	srv.pid = fork();
	if (srv.pid < 0)
		return -1;
	if (srv.pid == 0) {
		/* Debian's interpreter when there is one (the one the packages are tested with). */
		const char *py =
			access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";

		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (tls)
			execlp(py, py, SERVER_PY, "--unix", srv.sock, "--tls", srv.cert, srv.key,
			       (char *)NULL);
		else
			execlp(py, py, SERVER_PY, "--unix", srv.sock, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	srv.stdin_fd = in[1];
	pfd.fd = out[0];
	pfd.events = POLLIN;
	while (!strchr(line, '\n') && n < sizeof(line) - 1) {
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		r = read(out[0], line + n, sizeof(line) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		line[n] = '\0';
	}
	close(out[0]);
	if (sscanf(line, "%d %d", &srv.port, &srv.tls_port) != 2 || srv.port <= 0) {
		fprintf(stderr, "http_server.py did not start (said '%s')\n", line);
		return -1;
	}
	return 0;
}

static int server_stop(void **state)
{
	(void)state;
	if (srv.pid > 0) {
		close(srv.stdin_fd);
		kill(srv.pid, SIGTERM);
		waitpid(srv.pid, NULL, 0);
		srv.pid = 0;
	}
	occo_test_rmtree(srv.dir);
	free(srv.dir);
	free(srv.sock);
	free(srv.cert);
	free(srv.key);
	return 0;
}

/* Helpers */

static const char *url(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "http://127.0.0.1:<port>" + the formatted path; valid until the next call. */
static const char *url(const char *fmt, ...)
{
	static char buf[512];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "http://127.0.0.1:%d", srv.port);

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	return buf;
}

static int fix_open(struct fix *f, const struct occo_http_opts *opts)
{
	struct occo_err err;

	memset(f, 0, sizeof(*f));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	if (occo_http_new(&f->loop, opts, &f->h, &err) < 0)
		fail_msg("%s", err.msg);
	return 0;
}

static void on_closed(void *ud)
{
	*(int *)ud = 1;
}

static void fix_close(struct fix *f)
{
	occo_http_close(f->h, on_closed, &f->closed);
	while (!f->closed)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(uv_loop_close(&f->loop), 0); /* every handle was closed */
}

static int setup(void **state)
{
	struct fix *f = occo_malloc(sizeof(*f));

	fix_open(f, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	fix_close(f);
	free(f);
	return 0;
}

static void on_result(struct occo_http_response *resp, const struct occo_err *err, void *ud)
{
	struct result *r = ud;
	const char *v;

	r->calls++;
	if (err) {
		assert_null(resp);
		r->code = err->code;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
		return;
	}
	assert_non_null(resp);
	r->status = resp->status;
	r->attempts = resp->attempts;
	r->body = occo_buf_detach(&resp->body, &r->len);
	if (r->want_hdr) {
		v = occo_http_response_header(resp, r->want_hdr);
		snprintf(r->hdr, sizeof(r->hdr), "%s", v ? v : "");
	}
}

static void result_free(struct result *r)
{
	free(r->body);
	r->body = NULL;
}

/* Run the loop until every result in r[0..n) got its callback. */
static void wait_all(struct fix *f, struct result *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		while (!r[i].calls)
			uv_run(&f->loop, UV_RUN_ONCE);
}

static void fetch(struct fix *f, const struct occo_http_request *rq, struct result *r)
{
	struct occo_err err;

	if (occo_http_submit(f->h, rq, on_result, r, &err) < 0)
		fail_msg("submit: %s", err.msg);
	wait_all(f, r, 1);
	assert_int_equal(r->calls, 1);
}

static json_t *fetch_json(struct fix *f, const char *u)
{
	struct occo_http_request rq = { .url = u };
	struct result r = { 0 };
	json_t *j;

	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	result_free(&r);
	return j;
}

/* How many requests of key the server saw, and how many at most at once. */
static void server_count(struct fix *f, const char *key, int *count, int *max_inflight)
{
	json_t *j = fetch_json(f, url("/count?key=%s", key));

	*count = (int)json_integer_value(json_object_get(j, "count"));
	if (max_inflight)
		*max_inflight = (int)json_integer_value(json_object_get(j, "max_inflight"));
	json_decref(j);
}

static void unique_key(char *out, size_t n, const char *tag)
{
	static int seq;

	snprintf(out, n, "%s-%d-%d", tag, (int)getpid(), ++seq);
}

/* Tests */

static void test_submit__get_ok(void **state)
{
	struct fix *f = *state;
	struct occo_http_request rq = { .url = url("/ok") };
	struct result r = { .want_hdr = "CONTENT-TYPE" };

	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	assert_int_equal(r.len, 3);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.hdr, "text/plain");
	result_free(&r);
}

/* A host name (resolved on curl's resolver thread) rather than an address. */
static void test_submit__host_name(void **state)
{
	struct fix *f = *state;
	struct occo_http_request rq = { 0 };
	struct result r = { 0 };
	char u[128];

	snprintf(u, sizeof(u), "http://localhost:%d/ok", srv.port);
	rq.url = u;
	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 200);
	result_free(&r);
}

static void test_submit__methods_and_bodies(void **state)
{
	static const struct {
		const char *method, *body, *want_method;
	} cases[] = {
		{ NULL, NULL, "GET" },
		{ "GET", NULL, "GET" },
		{ "POST", "Action=DescribeInstances&Version=2016-11-15", "POST" },
		{ "POST", NULL, "POST" },
		{ "PUT", "{\"a\":1}", "PUT" },
		{ "DELETE", NULL, "DELETE" },
		{ "PATCH", "x", "PATCH" },
		{ "GET", "a body", "GET" },
	};
	struct fix *f = *state;
	const char *hdrs[] = { "X-Test: yes", "Content-Type: application/x-www-form-urlencoded",
			       NULL };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct occo_http_request rq = { .method = cases[i].method,
						.url = url("/echo?q=%zu", i),
						.headers = hdrs,
						.body = cases[i].body,
						.body_len =
							cases[i].body ? strlen(cases[i].body) : 0 };
		struct result r = { 0 };
		json_t *j, *h;

		fetch(f, &rq, &r);
		assert_int_equal(r.code, 0);
		assert_int_equal(r.status, 200);
		j = json_loads(r.body, 0, NULL);
		assert_non_null(j);
		assert_string_equal(json_string_value(json_object_get(j, "method")),
				    cases[i].want_method);
		assert_string_equal(json_string_value(json_object_get(j, "body")),
				    cases[i].body ? cases[i].body : "");
		h = json_object_get(j, "headers");
		assert_string_equal(json_string_value(json_object_get(h, "X-Test")), "yes");
		assert_non_null(
			strstr(json_string_value(json_object_get(h, "User-Agent")), "occopus-c/"));
		json_decref(j);
		result_free(&r);
	}
}

static void test_submit__head(void **state)
{
	struct fix *f = *state;
	struct occo_http_request rq = { .method = "HEAD",
					.url = url("/big?bytes=100000"),
					.max_body = 10 };
	struct result r = { .want_hdr = "content-length" };

	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_string_equal(r.hdr, "100000");
	result_free(&r);
}

static void test_submit__error_status_is_a_response(void **state)
{
	struct fix *f = *state;
	struct occo_http_request rq = { .url = url("/status?code=404") };
	struct result r = { 0 };

	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body, "status 404\n");
	result_free(&r);
}

static void test_submit__bad_requests_fail_without_callback(void **state)
{
	static const struct {
		const char *url;
		const char *header;
		int code;
	} cases[] = {
		{ NULL, NULL, OCCO_EINVAL },
		{ "", NULL, OCCO_EINVAL },
		{ "ftp://127.0.0.1/x", NULL, OCCO_ENOTSUP },
		{ "127.0.0.1/x", NULL, OCCO_EINVAL },
		{ "http:///x", NULL, OCCO_EINVAL },
		{ "http://127.0.0.1:99999/x", NULL, OCCO_EINVAL },
		{ "http://127.0.0.1/x", "X-No-Colon", OCCO_EINVAL },
		{ "http://127.0.0.1/x", "X-Split: a\r\nX-Evil: b", OCCO_EINVAL },
	};
	struct fix *f = *state;
	struct occo_err err;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *hdrs[] = { "X-Ok: 1", cases[i].header, NULL };
		struct occo_http_request rq = { .url = cases[i].url, .headers = hdrs };
		struct result r = { 0 };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r, &err), -cases[i].code);
		assert_int_equal(err.code, cases[i].code);
		uv_run(&f->loop, UV_RUN_NOWAIT);
		assert_int_equal(r.calls, 0);
	}
}

static void test_submit__timeout(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry none = { 0 };
	struct occo_http_request rq = { .url = url("/slow?ms=3000&secret=x"),
					.timeout_ms = 200,
					.retry = &none };
	struct result r = { 0 };
	char want[256];
	uint64_t t0 = occo_clock_now_ms();

	fetch(f, &rq, &r);
	assert_int_equal(r.code, OCCO_ETIMEDOUT);
	assert_true(occo_clock_now_ms() - t0 < 2000);
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/slow: timed out after 200 ms",
		 srv.port);
	assert_string_equal(r.msg, want);
}

/* A timeout is retried for idempotent requests only. */
static void test_retry__timeouts_only_when_idempotent(void **state)
{
	static const struct {
		const char *method;
		unsigned flags;
		int want_count;
	} cases[] = {
		{ "GET", 0, 2 },
		{ "POST", 0, 1 },
		{ "POST", OCCO_HTTP_F_IDEMPOTENT, 2 },
	};
	struct fix *f = *state;
	struct occo_http_retry retry = { .max_retries = 1, .base_ms = 1, .cap_ms = 5 };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct occo_http_request rq = { .method = cases[i].method,
						.flags = cases[i].flags,
						.timeout_ms = 150,
						.retry = &retry };
		struct result r = { 0 };
		char key[64];
		int count;

		unique_key(key, sizeof(key), "tmo");
		rq.url = url("/slow?ms=1000&key=%s", key);
		fetch(f, &rq, &r);
		assert_int_equal(r.code, OCCO_ETIMEDOUT);
		assert_true((strstr(r.msg, "(after 2 attempts)") != NULL) ==
			    (cases[i].want_count == 2));
		server_count(f, key, &count, NULL);
		assert_int_equal(count, cases[i].want_count);
	}
}

static void test_retry__flaky_succeeds(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry retry = { .max_retries = 3, .base_ms = 10, .cap_ms = 100 };
	struct occo_http_request rq = { .retry = &retry };
	struct occo_http_stats st;
	struct result r = { 0 };
	char key[64];
	int count;

	unique_key(key, sizeof(key), "flaky");
	rq.url = url("/flaky?key=%s&fail=2", key);
	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "recovered\n");
	assert_int_equal(r.attempts, 3);
	server_count(f, key, &count, NULL);
	assert_int_equal(count, 3);
	assert_int_equal(occo_http_stats_get(f->h, url("/"), &st, NULL), 0);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.sent, 3 + 1); /* + the /count request */
	result_free(&r);
}

static void test_retry__exhausted_gives_last_response(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry retry = { .max_retries = 2, .base_ms = 5, .cap_ms = 20 };
	struct occo_http_request rq = { .retry = &retry };
	struct result r = { 0 };
	char key[64];
	int count;

	unique_key(key, sizeof(key), "exhausted");
	rq.url = url("/flaky?key=%s&fail=100", key);
	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "unavailable\n");
	assert_int_equal(r.attempts, 3);
	server_count(f, key, &count, NULL);
	assert_int_equal(count, 3);
	result_free(&r);
}

/* Which statuses and methods are retried: 503 always, 500 only when idempotent, 404 never. */
static void test_retry__by_status_and_method(void **state)
{
	static const struct {
		const char *method;
		unsigned flags;
		int code;
		int want_count;
	} cases[] = {
		{ "GET", 0, 500, 3 },
		{ "POST", 0, 500, 1 },
		{ "POST", OCCO_HTTP_F_IDEMPOTENT, 500, 3 },
		{ "POST", 0, 503, 3 },
		{ "POST", 0, 502, 1 },
		{ "GET", 0, 504, 3 },
		{ "GET", 0, 404, 1 },
		{ "GET", 0, 501, 1 },
	};
	struct fix *f = *state;
	struct occo_http_retry retry = { .max_retries = 2, .base_ms = 1, .cap_ms = 5 };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct occo_http_request rq = { .method = cases[i].method,
						.flags = cases[i].flags,
						.retry = &retry };
		struct result r = { 0 };
		char key[64];
		int count;

		unique_key(key, sizeof(key), "bystatus");
		rq.url = url("/status?code=%d&key=%s", cases[i].code, key);
		fetch(f, &rq, &r);
		assert_int_equal(r.code, 0);
		assert_int_equal(r.status, cases[i].code);
		server_count(f, key, &count, NULL);
		assert_int_equal(count, cases[i].want_count);
		result_free(&r);
	}
}

static void test_retry__honours_retry_after(void **state)
{
	static const struct {
		const char *after;
		unsigned cap_ms;
		uint64_t min_ms, max_ms;
	} cases[] = {
		{ "1", 5000, 900, 4000 }, /* waits the second the server asked for */
		{ "60", 200, 150, 1500 }, /* capped */
	};
	struct fix *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct occo_http_retry retry = { .max_retries = 3,
						 .base_ms = 1,
						 .cap_ms = cases[i].cap_ms };
		struct occo_http_request rq = { .retry = &retry };
		struct result r = { 0 };
		char key[64];
		uint64_t t0, dt;

		unique_key(key, sizeof(key), "after");
		rq.url = url("/ratelimited?key=%s&n=1&after=%s", key, cases[i].after);
		t0 = occo_clock_now_ms();
		fetch(f, &rq, &r);
		dt = occo_clock_now_ms() - t0;
		assert_int_equal(r.status, 200);
		assert_int_equal(r.attempts, 2);
		assert_true(dt >= cases[i].min_ms);
		assert_true(dt <= cases[i].max_ms);
		result_free(&r);
	}
}

static void test_retry__exhausted_429_keeps_headers(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry retry = { .max_retries = 1, .base_ms = 1, .cap_ms = 5 };
	struct occo_http_request rq = { .retry = &retry };
	struct result r = { .want_hdr = "retry-after" };
	char key[64];

	unique_key(key, sizeof(key), "429");
	rq.url = url("/ratelimited?key=%s&n=10&after=0", key);
	fetch(f, &rq, &r);
	assert_int_equal(r.status, 429);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(r.hdr, "0");
	result_free(&r);
}

static void test_submit__body_over_limit(void **state)
{
	static const char *const paths[] = {
		"/big?bytes=100000", /* refused by Content-Length */
		"/big?bytes=100000&chunked=1", /* cut while reading */
	};
	struct fix *f = *state;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct occo_http_request rq = { .url = url("%s", paths[i]), .max_body = 1000 };
		struct result r = { 0 };

		fetch(f, &rq, &r);
		assert_int_equal(r.code, OCCO_ETOOBIG);
		assert_non_null(strstr(r.msg, "exceeds the limit of 1000 bytes"));
	}
	/* At the limit exactly is fine. */
	{
		struct occo_http_request rq = { .url = url("/big?bytes=1000&chunked=1"),
						.max_body = 1000 };
		struct result r = { 0 };

		fetch(f, &rq, &r);
		assert_int_equal(r.code, 0);
		assert_int_equal(r.len, 1000);
		result_free(&r);
	}
}

/* A port nothing listens on: bind one, note it, close it. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_retry__connection_refused(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry retry = { .max_retries = 2, .base_ms = 5, .cap_ms = 20 };
	struct occo_http_request rq = { .method = "POST", .retry = &retry };
	struct occo_http_stats st;
	struct result r = { 0 };
	char u[128], want[256];
	int port = closed_port();

	snprintf(u, sizeof(u), "http://user:pw@127.0.0.1:%d/x?token=abc", port);
	rq.url = u;
	fetch(f, &rq, &r);
	assert_int_equal(r.code, OCCO_ECONN);
	snprintf(want, sizeof(want),
		 "POST http://127.0.0.1:%d/x: connection refused (after 3 attempts)", port);
	assert_string_equal(r.msg, want);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d", port);
	assert_int_equal(occo_http_stats_get(f->h, u, &st, NULL), 0);
	assert_int_equal(st.sent, 3);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.responses, 0);
	assert_int_equal(st.active + st.waiting, 0);
}

static void test_submit__fresh_connections(void **state)
{
	struct fix *f = *state;
	struct occo_http_request rq = { .method = "HEAD",
					.url = url("/ok"),
					.flags = OCCO_HTTP_F_FRESH_CONNECT };
	int i;

	for (i = 0; i < 3; i++) {
		struct result r = { 0 };

		fetch(f, &rq, &r);
		assert_int_equal(r.code, 0);
		assert_int_equal(r.status, 200);
		result_free(&r);
	}
}

/* Zeroed options: no retries, unlimited transfers, and the default timeouts and body limit. */
static void test_new__zero_opts(void **state)
{
	struct fix *f = *state;
	struct occo_http_opts opts = { 0 };
	struct occo_http_request rq = { 0 };
	struct result r = { 0 };

	fix_close(f);
	fix_open(f, &opts);
	rq.url = url("/big?bytes=100000");
	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.len, 100000);
	result_free(&r);
}

static void test_submit__unix_socket(void **state)
{
	struct fix *f = *state;
	struct occo_http_request rq = { .url = "http://d/echo", .unix_socket = srv.sock };
	struct occo_http_stats st;
	struct result r = { 0 };
	json_t *j;

	fetch(f, &rq, &r);
	assert_int_equal(r.code, 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "headers"), "Host")), "d");
	json_decref(j);
	result_free(&r);
	assert_int_equal(occo_http_stats_get(f->h, srv.sock, &st, NULL), 0);
	assert_int_equal(st.responses, 1);
}

static void test_submit__unix_socket_missing(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry none = { 0 };
	char *path = occo_asprintf("%s/nothing.sock", srv.dir);
	struct occo_http_request rq = { .url = "http://d/v1.41/containers/json?all=1",
					.unix_socket = path,
					.retry = &none };
	struct result r = { 0 };
	char *want = occo_asprintf("GET http://d/v1.41/containers/json (unix socket %s): cannot "
				   "connect: No such file or directory",
				   path);

	fetch(f, &rq, &r);
	assert_int_equal(r.code, OCCO_ECONN);
	assert_string_equal(r.msg, want);
	free(want);
	free(path);
}

static void test_tls__verify(void **state)
{
	struct fix *f = *state;
	struct occo_http_retry none = { 0 };
	char u[128];

	if (!srv.tls_port)
		skip();
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/ok", srv.tls_port);
	{
		struct occo_http_request rq = { .url = u, .ca_file = srv.cert };
		struct result r = { 0 };

		fetch(f, &rq, &r);
		assert_int_equal(r.code, 0);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "ok\n");
		result_free(&r);
	}
	{
		struct occo_http_request rq = { .url = u, .retry = &none };
		struct result r = { 0 };

		fetch(f, &rq, &r);
		assert_int_equal(r.code, OCCO_ECONN);
		assert_non_null(strstr(r.msg, ": tls: "));
	}
	{
		struct occo_http_request rq = { .url = u, .flags = OCCO_HTTP_F_INSECURE };
		struct result r = { 0 };

		fetch(f, &rq, &r);
		assert_int_equal(r.code, 0);
		assert_int_equal(r.status, 200);
		result_free(&r);
	}
}

static void test_auth__sigv4_and_basic(void **state)
{
	static const char secret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
	static const char body[] = "Action=DescribeInstances&Version=2016-11-15";
	struct fix *f = *state;
	const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	struct occo_http_request rq = { .method = "POST",
					.url = url("/echo"),
					.headers = hdrs,
					.body = body,
					.body_len = sizeof(body) - 1,
					.aws_sigv4 = "aws:amz:us-east-1:ec2",
					.username = "AKID",
					.password = secret };
	struct result r = { 0 };
	const char *auth;
	json_t *j, *h;

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body, 0, NULL);
	h = json_object_get(j, "headers");
	auth = json_string_value(json_object_get(h, "Authorization"));
	assert_non_null(auth);
	assert_true(!strncmp(auth, "AWS4-HMAC-SHA256 Credential=AKID/",
			     strlen("AWS4-HMAC-SHA256 Credential=AKID/")));
	assert_non_null(strstr(auth, "/us-east-1/ec2/aws4_request"));
	assert_null(strstr(auth, secret));
	assert_null(strstr(r.body, secret));
	assert_non_null(json_object_get(h, "X-Amz-Date"));
	json_decref(j);
	result_free(&r);

	rq.aws_sigv4 = NULL;
	rq.username = "alice";
	rq.password = "s3cret";
	memset(&r, 0, sizeof(r));
	fetch(f, &rq, &r);
	j = json_loads(r.body, 0, NULL);
	auth = json_string_value(json_object_get(json_object_get(j, "headers"), "Authorization"));
	assert_string_equal(auth, "Basic YWxpY2U6czNjcmV0");
	json_decref(j);
	result_free(&r);
}

static void test_limits__concurrency(void **state)
{
	struct fix *f = *state;
	struct occo_http_limits lim = { .max_concurrent = 2 };
	struct occo_err err;
	struct result r[10];
	char key[64];
	int count, maxin;
	size_t i;

	memset(r, 0, sizeof(r));
	unique_key(key, sizeof(key), "conc");
	assert_int_equal(occo_http_set_limits(f->h, url("/"), &lim, &err), 0);
	for (i = 0; i < 10; i++) {
		struct occo_http_request rq = { .url = url("/slow?ms=100&key=%s", key) };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r[i], &err), 0);
	}
	wait_all(f, r, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].status, 200);
		result_free(&r[i]);
	}
	server_count(f, key, &count, &maxin);
	assert_int_equal(count, 10);
	assert_int_equal(maxin, 2);
}

static void test_limits__rate(void **state)
{
	struct fix *f = *state;
	struct occo_http_limits lim = { .rate = 20, .burst = 1 };
	struct occo_err err;
	struct result r[10];
	uint64_t t0, dt;
	size_t i;

	memset(r, 0, sizeof(r));
	assert_int_equal(occo_http_set_limits(f->h, url("/"), &lim, &err), 0);
	t0 = occo_clock_now_ms();
	for (i = 0; i < 10; i++) {
		struct occo_http_request rq = { .url = url("/ok") };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r[i], &err), 0);
	}
	wait_all(f, r, 10);
	dt = occo_clock_now_ms() - t0;
	for (i = 0; i < 10; i++) {
		assert_int_equal(r[i].status, 200);
		result_free(&r[i]);
	}
	assert_true(dt >= 445); /* 9 waits of 50 ms */
	assert_true(dt < 3000);
}

static void on_tick(uv_timer_t *t)
{
	(void)t; /* a one-shot timer: its firing is all we wait for */
}

/* Cancellation on close: in transfer, queued behind a limit, in a backoff delay. */
static void test_close__cancels_everything_once(void **state)
{
	struct fix *f = *state;
	struct occo_http_limits lim = { .max_concurrent = 3 };
	struct occo_http_retry slow_retry = { .max_retries = 5, .base_ms = 60000, .cap_ms = 60000 };
	struct occo_err err;
	struct result r[8], late = { 0 };
	uv_timer_t t;
	char key[64];
	size_t i;
	int count = 0;

	memset(r, 0, sizeof(r));
	unique_key(key, sizeof(key), "close");
	assert_int_equal(occo_http_set_limits(f->h, url("/"), &lim, &err), 0);
	for (i = 0; i < 7; i++) {
		struct occo_http_request rq = { .url = url("/slow?ms=5000&key=%s", key) };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r[i], &err), 0);
	}
	{
		char *u = occo_asprintf("http://127.0.0.1:%d/x", closed_port());
		struct occo_http_request rq = { .url = u, .retry = &slow_retry };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r[7], &err), 0);
		free(u);
	}
	/* Let the first three reach the server and the refused one go into backoff. */
	uv_timer_init(&f->loop, &t);
	uv_timer_start(&t, on_tick, 300, 0);
	while (uv_is_active((uv_handle_t *)&t))
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	for (i = 0; i < 8; i++)
		assert_int_equal(r[i].calls, 0);

	occo_http_close(f->h, on_closed, &f->closed);
	for (i = 0; i < 8; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].code, OCCO_ECANCELED);
	}
	assert_non_null(strstr(r[0].msg, "cancelled"));
	{
		struct occo_http_request rq = { .url = url("/ok") };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &late, &err), -OCCO_ESTATE);
	}
	while (!f->closed)
		uv_run(&f->loop, UV_RUN_ONCE);
	for (i = 0; i < 8; i++)
		assert_int_equal(r[i].calls, 1);
	assert_int_equal(late.calls, 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);

	/* A new client on a new loop: the server saw the three that were let through. */
	fix_open(f, NULL);
	server_count(f, key, &count, NULL);
	assert_int_equal(count, 3);
}

struct close_in_cb {
	struct occo_http *h;
	int calls, cancelled;
	int *closed;
};

static void on_close_in_cb(struct occo_http_response *resp, const struct occo_err *err, void *ud)
{
	struct close_in_cb *c = ud;

	c->calls++;
	if (err && err->code == OCCO_ECANCELED)
		c->cancelled++;
	else
		occo_http_close(c->h, on_closed, c->closed);
}

static void test_close__from_a_callback(void **state)
{
	struct fix *f = *state;
	struct close_in_cb c = { .h = f->h, .closed = &f->closed };
	struct occo_http_request rq = { 0 };
	struct occo_err err;
	int i;

	rq.url = url("/ok");
	assert_int_equal(occo_http_submit(f->h, &rq, on_close_in_cb, &c, &err), 0);
	rq.url = url("/slow?ms=5000");
	for (i = 0; i < 3; i++)
		assert_int_equal(occo_http_submit(f->h, &rq, on_close_in_cb, &c, &err), 0);
	while (!f->closed)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(c.calls, 4);
	assert_int_equal(c.cancelled, 3);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	fix_open(f, NULL); /* for the teardown */
}

static void test_submit__thousand_concurrent(void **state)
{
	enum { N = 1000 };
	struct fix *f = *state;
	struct occo_http_opts opts;
	struct occo_http_stats st;
	struct occo_err err;
	struct result *r = occo_calloc(N, sizeof(*r));
	size_t i;

	fix_close(f);
	occo_http_opts_init(&opts);
	opts.max_transfers = 0; /* unlimited */
	fix_open(f, &opts);
	for (i = 0; i < N; i++) {
		struct occo_http_request rq = { .method = i % 2 ? "HEAD" : "GET",
						.url = url("/ok?i=%zu", i) };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r[i], &err), 0);
	}
	wait_all(f, r, N);
	for (i = 0; i < N; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].code, 0);
		assert_int_equal(r[i].status, 200);
		result_free(&r[i]);
	}
	assert_int_equal(occo_http_stats_get(f->h, NULL, &st, NULL), 0);
	assert_int_equal(st.responses, N);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.active + st.waiting, 0);
	free(r);
}

/* The global limit holds while many endpoints-worth of requests wait. */
static void test_submit__global_limit(void **state)
{
	enum { N = 12 };
	struct fix *f = *state;
	struct occo_http_opts opts;
	struct occo_err err;
	struct result r[N];
	char key[64];
	int count, maxin;
	size_t i;

	memset(r, 0, sizeof(r));
	fix_close(f);
	occo_http_opts_init(&opts);
	opts.max_transfers = 3;
	fix_open(f, &opts);
	unique_key(key, sizeof(key), "global");
	for (i = 0; i < N; i++) {
		struct occo_http_request rq = { .url = url("/slow?ms=50&key=%s", key) };

		assert_int_equal(occo_http_submit(f->h, &rq, on_result, &r[i], &err), 0);
	}
	wait_all(f, r, N);
	for (i = 0; i < N; i++) {
		assert_int_equal(r[i].status, 200);
		result_free(&r[i]);
	}
	server_count(f, key, &count, &maxin);
	assert_int_equal(count, N);
	assert_int_equal(maxin, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_submit__get_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__host_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__methods_and_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__error_status_is_a_response, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_submit__bad_requests_fail_without_callback,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry__timeouts_only_when_idempotent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry__flaky_succeeds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry__exhausted_gives_last_response, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry__by_status_and_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry__honours_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry__exhausted_429_keeps_headers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_submit__body_over_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry__connection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__fresh_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new__zero_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__unix_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__unix_socket_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls__verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth__sigv4_and_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits__concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits__rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close__cancels_everything_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close__from_a_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__thousand_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit__global_limit, setup, teardown),
	};

	if (!occo_test_have_program("python3")) {
		fprintf(stderr, "python3 not found: skipping the HTTP client tests\n");
		return OCCO_TEST_SKIP;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, server_start, server_stop);
}
