/*
 * test_health_probes.c - the health checker against real targets: busybox httpd on loopback
 * (files, CGI scripts that answer 500, redirect, loop, count hits or take their time), ports
 * nothing listens on, ICMP echo on loopback (raw socket, the ping program, and a datagram
 * socket in a network namespace of the test's own where ping_group_range allows it), and a
 * host in a network namespace whose link is taken down. Also: the order of the components, the
 * bound on probes in flight, and cancellation.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "netns.h"
#include "testutil.h"
#include "occo/infraprocessor/health.h"
#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/http.h"

/* ---- the web server of the whole group ---- */

static char *www; /* its root */
static struct occo_test_httpd httpd;
static int refused_port; /* nothing listens there */

static void script(const char *name, const char *body)
{
	char *path = occo_asprintf("%s/cgi-bin/%s", www, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	chmod(path, 0755);
	free(path);
}

static int group_setup(void **state)
{
	char *dir;

	if (!occo_test_have_program("busybox")) {
		fprintf(stderr, "skipped: busybox is not installed\n");
		exit(OCCO_TEST_SKIP);
	}
	www = occo_test_tmpdir("hc-www");
	dir = occo_asprintf("%s/cgi-bin", www);
	mkdir(dir, 0755);
	free(dir);
	dir = occo_asprintf("%s/dir", www);
	mkdir(dir, 0755);
	free(dir);
	dir = occo_asprintf("%s/hits", www);
	mkdir(dir, 0755);
	free(dir);
	occo_test_write_file(www, "index.html", "hello\n");
	occo_test_write_file(www, "dir/index.html", "in a directory\n");
	script("status", "printf 'HTTP/1.1 %s Status\\r\\nContent-Type: text/plain\\r\\n\\r\\n' "
			 "\"$QUERY_STRING\"\n");
	script("loop", "printf 'HTTP/1.1 302 Found\\r\\nLocation: /cgi-bin/loop\\r\\n\\r\\n'\n");
	script("to-index",
	       "printf 'HTTP/1.1 302 Found\\r\\nLocation: ../index.html\\r\\n\\r\\n'\n");
	{
		char *hit = occo_asprintf("touch '%s/hits/'\"$QUERY_STRING\"\n"
					  "printf 'HTTP/1.1 200 OK\\r\\n\\r\\n'\n",
					  www);

		script("hit", hit);
		free(hit);
	}
	script("slow", "sleep 2\nprintf 'HTTP/1.1 200 OK\\r\\n\\r\\n'\n");
	if (occo_test_httpd_start(&httpd, NULL, "127.0.0.1", 0, www) < 0)
		return -1;
	refused_port = occo_test_free_port();
	return 0;
}

static int group_teardown(void **state)
{
	occo_test_httpd_stop(&httpd);
	occo_test_rmtree(www);
	free(www);
	return 0;
}

/* ---- one test's loop, HTTP client and checker ---- */

struct fx {
	uv_loop_t loop;
	struct occo_http *http;
	struct hc *hc;
	json_t *vars, *inst;
};

static void fx_open(struct fx *f, const struct hc_opts *o)
{
	memset(f, 0, sizeof(*f));
	uv_loop_init(&f->loop);
	assert_int_equal(occo_http_new(&f->loop, NULL, &f->http, NULL), 0);
	assert_int_equal(hc_new(&f->loop, f->http, o, &f->hc, NULL), 0);
	f->vars = json_pack("{s:i}", "port", httpd.port);
	f->inst = json_pack("{s:s,s:s}", "node_id", "n-1", "page", "index.html");
}

static void fx_close(struct fx *f)
{
	hc_free(f->hc);
	occo_http_close(f->http, NULL, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	json_decref(f->vars);
	json_decref(f->inst);
}

struct res {
	int calls;
	int ok;
	int code; /* of err: cancelled */
	char probe[16];
	char msg[OCCO_ERR_MSG_MAX];
};

static void on_checked(const struct hc_result *r, const struct occo_err *err, void *ud)
{
	struct res *out = ud;

	out->calls++;
	if (err) {
		out->code = err->code;
		return;
	}
	out->ok = r->ok;
	snprintf(out->probe, sizeof(out->probe), "%s", r->probe ? r->probe : "");
	snprintf(out->msg, sizeof(out->msg), "%s", r->message ? r->message : "");
}

/* Submit a check of `section` (JSON text; NULL: none) against addr. */
static void submit(struct fx *f, const char *section, const char *addr, struct res *out)
{
	json_t *sec = section ? json_loads(section, 0, NULL) : NULL;
	struct hc_target t = { sec, addr, "n-1", f->vars, f->inst };

	if (section && !sec)
		fail_msg("bad JSON in the test: %s", section);
	memset(out, 0, sizeof(*out));
	assert_int_equal(hc_check(f->hc, &t, on_checked, out, NULL), 0);
	json_decref(sec);
	assert_int_equal(out->calls, 0); /* never from inside the call */
}

static void wait_for(struct fx *f, struct res *out)
{
	while (!out->calls)
		uv_run(&f->loop, UV_RUN_ONCE);
	assert_int_equal(out->calls, 1);
}

static void check(struct fx *f, const char *section, const char *addr, struct res *out)
{
	submit(f, section, addr, out);
	wait_for(f, out);
}

/* ---- ports ---- */

static void test_hc_check__ports(void **state)
{
	struct fx f;
	struct res r;
	char sec[128], want[128];

	fx_open(&f, NULL);
	snprintf(sec, sizeof(sec), "{\"ping\": false, \"ports\": [%d]}", httpd.port);
	check(&f, sec, "127.0.0.1", &r);
	assert_true(r.ok);

	/* the second port is refused: the message names it, as a user reads it */
	snprintf(sec, sizeof(sec), "{\"ping\": false, \"ports\": [%d, %d]}", httpd.port,
		 refused_port);
	check(&f, sec, "127.0.0.1", &r);
	assert_false(r.ok);
	assert_string_equal(r.probe, "ports");
	snprintf(want, sizeof(want), "port %d on 127.0.0.1: connection refused", refused_port);
	assert_string_equal(r.msg, want);

	/* a host name is resolved without blocking the loop */
	snprintf(sec, sizeof(sec), "{\"ping\": false, \"ports\": [%d]}", httpd.port);
	check(&f, sec, "localhost", &r);
	assert_true(r.ok);

	/* no address: nothing to connect to */
	check(&f, sec, NULL, &r);
	assert_false(r.ok);
	assert_string_equal(r.msg, "ports: the node has no address");
	fx_close(&f);
}

/* ---- urls ---- */

/* s with every "PORT" replaced by the server's port. */
static void with_port(const char *s, char *out, size_t n)
{
	size_t o = 0;

	while (*s && o + 8 < n) {
		if (!strncmp(s, "PORT", 4)) {
			o += (size_t)snprintf(out + o, n - o, "%d", httpd.port);
			s += 4;
		} else {
			out[o++] = *s++;
		}
	}
	out[o] = '\0';
}

static const struct {
	const char *url; /* a template; PORT is the server's port */
	int ok;
	const char *msg; /* PORT is the server's port */
} url_cases[] = {
	{ "http://127.0.0.1:PORT/index.html", 1, NULL },
	{ "http://{{ ip }}:{{ variables.port }}/{{ instance_data.page }}", 1, NULL },
	{ "http://127.0.0.1:PORT/missing", 0, "url http://127.0.0.1:PORT/missing: HTTP 404" },
	/* the query does not reach messages (it may hold a token) */
	{ "http://127.0.0.1:PORT/cgi-bin/status?500", 0,
	  "url http://127.0.0.1:PORT/cgi-bin/status: HTTP 500" },
	{ "http://127.0.0.1:PORT/cgi-bin/status?204", 1, NULL },
	/* busybox redirects a directory to its slash; a script to a relative location */
	{ "http://127.0.0.1:PORT/dir", 1, NULL },
	{ "http://127.0.0.1:PORT/cgi-bin/to-index", 1, NULL },
	{ "http://127.0.0.1:PORT/cgi-bin/loop", 0,
	  "url http://127.0.0.1:PORT/cgi-bin/loop: more than 10 redirects" },
	{ "http://user:hunter22@127.0.0.1:PORT/missing", 0,
	  "url http://127.0.0.1:PORT/missing: HTTP 404" },
};

static void test_hc_check__urls(void **state)
{
	struct fx f;
	struct res r;
	char url[256], sec[512], want[256];
	size_t i;

	fx_open(&f, NULL);
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		with_port(url_cases[i].url, url, sizeof(url));
		snprintf(sec, sizeof(sec), "{\"ping\": false, \"urls\": [\"%s\"]}", url);
		check(&f, sec, "127.0.0.1", &r);
		if (r.ok != url_cases[i].ok)
			fail_msg("%s: ok=%d (%s)", url, r.ok, r.msg);
		if (url_cases[i].msg) {
			with_port(url_cases[i].msg, want, sizeof(want));
			assert_string_equal(r.probe, "urls");
			assert_string_equal(r.msg, want);
		}
	}

	/* nothing listens */
	snprintf(sec, sizeof(sec), "{\"ping\": false, \"urls\": [\"http://127.0.0.1:%d/\"]}",
		 refused_port);
	check(&f, sec, "127.0.0.1", &r);
	assert_false(r.ok);
	snprintf(want, sizeof(want), "url http://127.0.0.1:%d/: connection refused", refused_port);
	assert_string_equal(r.msg, want);

	/* a template that does not render fails the check, saying where */
	check(&f, "{\"ping\": false, \"urls\": [\"http://{{ nope.x }}/\"]}", "127.0.0.1", &r);
	assert_false(r.ok);
	assert_string_equal(r.probe, "urls");
	assert_non_null(strstr(r.msg, "urls[1]"));
	fx_close(&f);
}

static void test_hc_check__url_timeout(void **state)
{
	struct hc_opts o = { .url_timeout_ms = 300 };
	struct fx f;
	struct res r;
	char sec[256];
	uint64_t t0;

	fx_open(&f, &o);
	snprintf(sec, sizeof(sec),
		 "{\"ping\": false, \"urls\": [\"http://127.0.0.1:%d/cgi-bin/slow\"]}", httpd.port);
	t0 = occo_clock_now_ms();
	check(&f, sec, "127.0.0.1", &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.msg, "timed out"));
	assert_true(occo_clock_now_ms() - t0 < 1500); /* not the 2 s the script takes */
	fx_close(&f);
}

/* ping -> ports -> urls -> mysqldbs, stopping at the first that fails */
static void test_hc_check__stops_at_first_failing_component(void **state)
{
	struct fx f;
	struct res r;
	char sec[512], *hit = occo_asprintf("%s/hits/order", www);

	fx_open(&f, NULL);
	unlink(hit);
	snprintf(sec, sizeof(sec),
		 "{\"ports\": [%d], \"urls\": [\"http://127.0.0.1:%d/cgi-bin/hit?order\"],"
		 " \"mysqldbs\": [{\"name\": \"x\", \"user\": \"u\", \"pass\": \"p\"}]}",
		 refused_port, httpd.port);
	check(&f, sec, "127.0.0.1", &r);
	assert_false(r.ok);
	assert_string_equal(r.probe, "ports");
	assert_int_equal(access(hit, F_OK), -1); /* the URL was never asked */

	/* ports pass: the URL is asked, then the database (no such database here) */
	snprintf(sec, sizeof(sec),
		 "{\"ports\": [%d], \"urls\": [\"http://127.0.0.1:%d/cgi-bin/hit?order\"],"
		 " \"mysqldbs\": [{\"name\": \"x\", \"user\": \"u\", \"pass\": \"p\"}]}",
		 httpd.port, httpd.port);
	check(&f, sec, "127.0.0.1", &r);
	assert_false(r.ok);
	assert_string_equal(r.probe, "mysqldbs");
	assert_non_null(strstr(r.msg, "mysql database 'x' on 127.0.0.1 as user 'u': "));
	assert_int_equal(access(hit, F_OK), 0);

	/* nothing at all to probe: passes */
	check(&f, "{\"ping\": false}", NULL, &r);
	assert_true(r.ok);
	fx_close(&f);
	free(hit);
}

/* ---- ping ---- */

static void test_hc_check__ping_loopback(void **state)
{
	static const enum hc_ping_mode modes[] = { HC_PING_AUTO, HC_PING_RAW, HC_PING_SPAWN };
	struct hc_stats st;
	struct res r[20];
	size_t m, i;

	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct hc_opts o = { .ping_mode = modes[m] };
		struct fx f;

		if (modes[m] == HC_PING_RAW && geteuid() != 0)
			continue; /* a raw socket needs root */
		fx_open(&f, &o);
		/* the default section is a ping; many at once share the socket */
		for (i = 0; i < 20; i++) {
			char addr[32];

			snprintf(addr, sizeof(addr), "127.%zu.0.%zu", 1 + m, 1 + i);
			submit(&f, NULL, addr, &r[i]);
		}
		for (i = 0; i < 20; i++) {
			wait_for(&f, &r[i]);
			if (!r[i].ok)
				fail_msg("mode %d, ping %zu: %s", modes[m], i, r[i].msg);
		}
		hc_stats_get(f.hc, &st);
		if (modes[m] != HC_PING_AUTO)
			assert_int_equal(st.ping_mode, modes[m]);
		assert_int_equal(st.probes, 20);
		fx_close(&f);
	}
}

/*
 * A datagram ICMP socket, in a network namespace of a child process where the test may allow
 * it (ping_group_range is per namespace): the host's own setting is left alone.
 */
static void test_hc_check__ping_datagram_socket(void **state)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* no cmocka here: a failed assertion would run the parent's tests in this child */
		struct hc_opts o = { .ping_mode = HC_PING_DGRAM };
		struct res r1, r2;
		json_t *none = json_object();
		struct hc_target t = { NULL, "127.0.0.1", "n-1", none, none };
		uv_loop_t loop;
		struct hc *hc;
		int fd, bad;

		if (unshare(CLONE_NEWNET) < 0 || system("ip link set lo up") != 0)
			_exit(OCCO_TEST_SKIP);
		fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
		if (fd < 0 || write(fd, "0 2147483647", 12) != 12)
			_exit(OCCO_TEST_SKIP);
		close(fd);
		memset(&r1, 0, sizeof(r1));
		memset(&r2, 0, sizeof(r2));
		uv_loop_init(&loop);
		if (hc_new(&loop, NULL, &o, &hc, NULL) < 0 ||
		    hc_check(hc, &t, on_checked, &r1, NULL) < 0)
			_exit(2);
		/* no route in this namespace: said at once, in words */
		t.address = "10.231.1.1";
		if (hc_check(hc, &t, on_checked, &r2, NULL) < 0)
			_exit(2);
		while (!r1.calls || !r2.calls)
			uv_run(&loop, UV_RUN_ONCE);
		bad = !r1.ok || r2.ok ||
		      strcmp(r2.msg, "ping 10.231.1.1: network is unreachable") != 0;
		if (bad)
			fprintf(stderr, "datagram ping: '%s' '%s'\n", r1.msg, r2.msg);
		hc_free(hc);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		json_decref(none);
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == OCCO_TEST_SKIP)
		skip(); /* no namespace of our own here (not root) */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- a host in a network namespace, whose link goes down ---- */

static void test_hc_check__netns_host_link_down(void **state)
{
	struct hc_opts o = { .port_timeout_ms = 500 };
	struct occo_test_netns ns;
	struct occo_test_httpd nh = { 0 };
	char why[256], want[128];
	struct fx f;
	struct res r;
	uint64_t t0;

	if (occo_test_netns_create(&ns, why, sizeof(why)) < 0) {
		fprintf(stderr, "skipped: %s\n", why);
		skip();
	}
	if (occo_test_httpd_start(&nh, &ns, ns.ip, 80, www) < 0) {
		occo_test_netns_destroy(&ns);
		fail_msg("cannot start busybox httpd in %s", ns.name);
	}
	fx_open(&f, &o);
	check(&f, "{\"ports\": [80], \"urls\": [\"http://{{ ip }}/index.html\"]}", ns.ip, &r);
	if (!r.ok)
		fail_msg("%s", r.msg);

	assert_int_equal(occo_test_netns_link(&ns, 0), 0);
	t0 = occo_clock_now_ms();
	check(&f, "{\"ports\": [80]}", ns.ip, &r);
	assert_false(r.ok);
	assert_string_equal(r.probe, "ping"); /* first, and the ports are not tried */
	snprintf(want, sizeof(want), "ping %s: ", ns.ip);
	assert_memory_equal(r.msg, want, strlen(want));
	assert_true(occo_clock_now_ms() - t0 < 2000);

	check(&f, "{\"ping\": false, \"ports\": [80]}", ns.ip, &r);
	assert_false(r.ok);
	snprintf(want, sizeof(want), "port 80 on %s: no answer within 0.5 s", ns.ip);
	assert_string_equal(r.msg, want);

	/* back up: healthy again */
	assert_int_equal(occo_test_netns_link(&ns, 1), 0);
	check(&f, "{\"ports\": [80]}", ns.ip, &r);
	if (!r.ok)
		fail_msg("after the link came back: %s", r.msg);
	fx_close(&f);
	occo_test_httpd_stop(&nh);
	occo_test_netns_destroy(&ns);
}

/* ---- the queue and cancellation ---- */

static void test_hc_check__probes_in_flight_are_bounded(void **state)
{
	struct hc_opts o = { .max_concurrent = 4 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct hc_stats st;
	struct res *r = occo_calloc(100, sizeof(*r));
	char sec[128];
	struct fx f;
	size_t i;
	int lfd;

	/* a listener of the test's own that the kernel completes connections for at once */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1024), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	fx_open(&f, &o);
	snprintf(sec, sizeof(sec), "{\"ping\": false, \"ports\": [%d, %d]}", ntohs(sa.sin_port),
		 ntohs(sa.sin_port));
	for (i = 0; i < 100; i++)
		submit(&f, sec, "127.0.0.1", &r[i]);
	for (i = 0; i < 100; i++) {
		wait_for(&f, &r[i]);
		if (!r[i].ok)
			fail_msg("check %zu: %s", i, r[i].msg);
	}
	hc_stats_get(f.hc, &st);
	assert_int_equal(st.probes, 200);
	assert_int_equal(st.checks, 100);
	assert_int_equal(st.max_running, 4);
	assert_int_equal(st.running, 0);
	fx_close(&f);
	close(lfd);
	free(r);
}

static void test_hc_free__cancels_checks_in_flight(void **state)
{
	struct fx f;
	struct res r[3];
	char sec[256];

	fx_open(&f, NULL);
	snprintf(sec, sizeof(sec),
		 "{\"ping\": false, \"urls\": [\"http://127.0.0.1:%d/cgi-bin/slow\"]}", httpd.port);
	submit(&f, sec, "127.0.0.1", &r[0]);
	submit(&f, NULL, "127.0.0.1", &r[1]);
	submit(&f, "{\"ping\": false, \"ports\": [9]}", "127.0.0.1", &r[2]);
	uv_run(&f.loop, UV_RUN_NOWAIT); /* started, not answered */
	assert_int_equal(r[0].calls, 0);
	hc_free(f.hc);
	f.hc = NULL;
	assert_int_equal(r[0].calls, 1);
	assert_int_equal(r[0].code, OCCO_ECANCELED);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[2].calls, 1);
	fx_close(&f); /* every handle is released */
	assert_int_equal(r[0].calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hc_check__ports),
		cmocka_unit_test(test_hc_check__urls),
		cmocka_unit_test(test_hc_check__url_timeout),
		cmocka_unit_test(test_hc_check__stops_at_first_failing_component),
		cmocka_unit_test(test_hc_check__ping_loopback),
		cmocka_unit_test(test_hc_check__ping_datagram_socket),
		cmocka_unit_test(test_hc_check__netns_host_link_down),
		cmocka_unit_test(test_hc_check__probes_in_flight_are_bounded),
		cmocka_unit_test(test_hc_free__cancels_checks_in_flight),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
