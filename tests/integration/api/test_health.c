/*
 * test_health.c - health checks as a user meets them, through the programs, on the dummy cloud
 * (its instances have loopback addresses, so the default ping is answered here) and a real
 * redis-server. Each instance's health check asks a URL of busybox httpd on 127.0.0.1 that
 * names the instance; a CGI script answers 503 for the instances the test marks down.
 *   - an instance failing longer than its timeout (1 s) is failed and replaced by a
 *     maintenance pass, which says why in its log;
 *   - when most instances fail at once, the guard keeps them (no replacement) and says so in
 *     the log and the event log; when they answer again they are ready;
 *   - the guard's share is a setting of occopus_config.yaml.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "netns.h"
#include "progs.h"
#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/clock.h"

static const char infra_yaml[] = "user_id: me\n"
				 "infra_name: checked\n"
				 "nodes:\n"
				 "  - {name: w, type: w, scaling: {min: 4, max: 4}}\n";

struct fx {
	struct occo_test_progs p;
	struct occo_test_httpd httpd;
	char *www;
};

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	char *nodes, *script, *path, *out, *err;

	if (!occo_test_have_program("busybox")) {
		fprintf(stderr, "skipped: busybox is not installed\n");
		exit(OCCO_TEST_SKIP);
	}
	if (occo_test_progs_setup(&f->p, "health", NULL) < 0)
		return -1;
	f->www = occo_asprintf("%s/www", f->p.dir);
	path = occo_asprintf("%s/cgi-bin", f->www);
	mkdir(f->www, 0755);
	mkdir(path, 0755);
	free(path);
	path = occo_asprintf("%s/down", f->p.dir);
	mkdir(path, 0755);
	free(path);
	script = occo_asprintf("#!/bin/sh\n"
			       "if [ -e '%s/down/'\"$QUERY_STRING\" ]; then\n"
			       "  printf 'HTTP/1.1 503 Down\\r\\n\\r\\n'\n"
			       "else\n"
			       "  printf 'HTTP/1.1 200 OK\\r\\n\\r\\n'\n"
			       "fi\n",
			       f->p.dir);
	occo_test_write_file(f->www, "cgi-bin/h", script);
	free(script);
	path = occo_asprintf("%s/cgi-bin/h", f->www);
	chmod(path, 0755);
	free(path);
	if (occo_test_httpd_start(&f->httpd, NULL, "127.0.0.1", 0, f->www) < 0)
		return -1;
	nodes = occo_asprintf("'node_def:w':\n"
			      "  - resource: {type: dummy}\n"
			      "    health_check:\n"
			      "      urls: ['http://127.0.0.1:%d/cgi-bin/h?{{ node_id }}']\n"
			      "      timeout: 1\n",
			      f->httpd.port);
	occo_test_write_file(f->p.dir, "nodes.yaml", nodes);
	free(nodes);
	occo_test_write_file(f->p.dir, "infra.yaml", infra_yaml);
	if (occo_test_progs_run(&f->p, &out, &err, "import", "nodes.yaml", NULL) != 0) {
		fprintf(stderr, "import failed: %s%s", out, err);
		return -1;
	}
	free(out);
	free(err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	occo_test_httpd_stop(&f->httpd);
	occo_test_progs_teardown(&f->p);
	free(f->www);
	free(f);
	return 0;
}

static long long hlen(struct fx *f, const char *key_fmt, const char *id)
{
	redisReply *r = redisCommand(f->p.rc, key_fmt, id);
	long long n = r ? r->integer : -1;

	freeReplyObject(r);
	return n;
}

/* Mark an instance's service down (1) or up (0). */
static void mark(struct fx *f, const char *node_id, int down)
{
	char *rel = occo_asprintf("down/%s", node_id),
	     *path = occo_asprintf("%s/%s", f->p.dir, rel);

	if (down)
		occo_test_write_file(f->p.dir, rel, "");
	else
		unlink(path);
	free(rel);
	free(path);
}

/* The names of the events, in order, as one string "a b c". */
static char *events(struct fx *f, const char *id)
{
	redisReply *r = redisCommand(f->p.rc, "XRANGE occo:{%s}:events - +", id);
	size_t i, n = 0;
	char *s = occo_calloc(1, 65536);

	for (i = 0; r && i < r->elements; i++)
		n += (size_t)snprintf(s + n, 65536 - n, "%s ",
				      r->element[i]->element[1]->element[1]->str);
	freeReplyObject(r);
	return s;
}

/*
 * Run maintenance passes (each a run of occopus-maintain) until cond holds or 20 s pass; the
 * stderr of all of them is appended to *log.
 */
static int maintain_until(struct fx *f, const char *id, int (*cond)(struct fx *, const char *),
			  char **log)
{
	uint64_t end = occo_clock_now_ms() + 20000;
	size_t n = 0;

	*log = occo_calloc(1, 1);
	while (occo_clock_now_ms() < end) {
		char *out, *err;

		occo_test_progs_run(&f->p, &out, &err, "maintain", "-i", id, NULL);
		*log = occo_realloc(*log, n + strlen(err) + 1);
		memcpy(*log + n, err, strlen(err) + 1);
		n += strlen(err);
		free(out);
		free(err);
		if (cond(f, id))
			return 1;
		usleep(100000);
	}
	return 0;
}

static char victim[64];

/* The marked instance is gone, and four instances are ready again. */
static int replaced(struct fx *f, const char *id)
{
	json_t *recs = occo_test_progs_records(&f->p, id), *rec;
	const char *k;
	int ready = 0;

	json_object_foreach (recs, k, rec)
		ready += !strcmp(json_string_value(json_object_get(rec, "state")), "ready");
	ready = ready == 4 && !json_object_get(recs, victim);
	json_decref(recs);
	return ready;
}

static void test_health__failing_instance_is_replaced(void **state)
{
	struct fx *f = *state;
	char *id = occo_test_progs_build(&f->p, "infra.yaml", NULL), *log, *ev, want[256];
	json_t *recs = occo_test_progs_records(&f->p, id);
	void *it = json_object_iter(recs);

	assert_int_equal(json_object_size(recs), 4);
	snprintf(victim, sizeof(victim), "%s", json_object_iter_key(it));
	json_decref(recs);
	mark(f, victim, 1);
	assert_true(maintain_until(f, id, replaced, &log));
	/* the pass that replaced it said why, in the probe's words */
	snprintf(want, sizeof(want),
		 "health check failing for more than 1 s: url http://127.0.0.1:%d/cgi-bin/h: HTTP "
		 "503",
		 f->httpd.port);
	if (!strstr(log, want))
		fail_msg("the log does not say '%s':\n%s", want, log);
	assert_non_null(strstr(log, victim));
	assert_int_equal(hlen(f, "HLEN occo:dummycloud:{%s}:nodes", id), 4);
	assert_int_equal(hlen(f, "HLEN occo:{%s}:health", id), 0);
	ev = events(f, id);
	assert_non_null(strstr(ev, "nodefailed"));
	assert_non_null(strstr(ev, "nodedropping"));
	assert_null(strstr(ev, "replacementsuppressed"));
	free(ev);
	free(log);
	free(id);
}

/* Three of four are failed (health), none was replaced. */
static int kept_failed(struct fx *f, const char *id)
{
	json_t *recs = occo_test_progs_records(&f->p, id), *rec;
	const char *k;
	int failed = 0;

	json_object_foreach (recs, k, rec)
		failed += json_is_true(json_object_get(rec, "health_failed"));
	json_decref(recs);
	return failed == 3;
}

static int all_ready(struct fx *f, const char *id)
{
	json_t *recs = occo_test_progs_records(&f->p, id), *rec;
	const char *k;
	int ready = 0;

	json_object_foreach (recs, k, rec)
		ready += !strcmp(json_string_value(json_object_get(rec, "state")), "ready");
	json_decref(recs);
	return ready == 4 && hlen(f, "HLEN occo:{%s}:health", id) == 0;
}

static void test_health__guard_keeps_most_failing_at_once(void **state)
{
	struct fx *f = *state;
	char *id = occo_test_progs_build(&f->p, "infra.yaml", NULL), *log, *ev, *out, *err;
	json_t *recs = occo_test_progs_records(&f->p, id), *before = json_object(), *rec;
	const char *k;
	int n = 0;

	json_object_foreach (recs, k, rec) {
		json_object_set_new(before, k, json_true());
		if (n++ < 3)
			mark(f, k, 1); /* a partition: three of four unreachable at once */
	}
	json_decref(recs);
	assert_true(maintain_until(f, id, kept_failed, &log));
	/* one more pass: still nothing replaced */
	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "maintain", "-i", id, NULL), 0);
	assert_non_null(strstr(err, "replacement of failed instances suppressed"));
	assert_non_null(strstr(err, "3 of 4 instances failed their health checks at once"));
	free(out);
	free(err);
	recs = occo_test_progs_records(&f->p, id);
	assert_int_equal(json_object_size(recs), 4);
	json_object_foreach (recs, k, rec)
		assert_non_null(json_object_get(before, k)); /* the same instances */
	json_decref(recs);
	assert_int_equal(hlen(f, "HLEN occo:dummycloud:{%s}:nodes", id), 4);
	ev = events(f, id);
	assert_non_null(strstr(ev, "replacementsuppressed"));
	assert_null(strstr(ev, "nodedropping"));
	free(ev);
	free(log);

	/* the partition heals: the same instances are ready again */
	json_object_foreach (before, k, rec)
		mark(f, k, 0);
	assert_true(maintain_until(f, id, all_ready, &log));
	recs = occo_test_progs_records(&f->p, id);
	json_object_foreach (recs, k, rec)
		assert_non_null(json_object_get(before, k));
	json_decref(recs);
	json_decref(before);
	free(log);
	free(id);
}

/* Four instances, none of the three marked ones left. */
static int marked_gone(struct fx *f, const char *id)
{
	json_t *recs = occo_test_progs_records(&f->p, id), *rec;
	const char *k;
	int ok = json_object_size(recs) == 4;

	json_object_foreach (recs, k, rec) {
		char *path = occo_asprintf("%s/down/%s", f->p.dir, k);

		ok &= access(path, F_OK) != 0 &&
		      !strcmp(json_string_value(json_object_get(rec, "state")), "ready");
		free(path);
	}
	json_decref(recs);
	return ok;
}

static void test_health__guard_share_is_a_setting(void **state)
{
	struct fx *f = *state;
	char *id = occo_test_progs_build(&f->p, "infra.yaml", NULL), *log, *cfg;
	json_t *recs = occo_test_progs_records(&f->p, id), *rec;
	const char *k;
	int n = 0;

	occo_test_write_file(f->p.dir, "occopus_config.yaml",
			     "health_checks:\n  max_failed_share: 0.9\n");
	cfg = occo_asprintf("OCCOPUS_CONFIG_PATH=%s/occopus_config.yaml", f->p.dir);
	occo_test_progs_setenv(&f->p, cfg);
	free(cfg);
	json_object_foreach (recs, k, rec)
		if (n++ < 3)
			mark(f, k, 1);
	json_decref(recs);
	/* three of four is not more than 90%: they are replaced */
	assert_true(maintain_until(f, id, marked_gone, &log));
	assert_null(strstr(log, "suppressed"));
	free(log);
	free(id);
}

/*
 * A process of the test's own that accepts TCP connections on every address (the dummy cloud's
 * instances have loopback addresses) and closes them: an open port for the instances' checks.
 */
static pid_t acceptor(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0), c;
	pid_t pid;

	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4096), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			if ((c = accept(s, NULL, NULL)) >= 0)
				close(c);
	}
	close(s);
	return pid;
}

/*
 * Every ready instance is checked at each pass, however many there are: the checks of a pass
 * go out a few thousand at a time, and the last ones are not forgotten.
 */
static void test_health__every_instance_of_many_is_checked(void **state)
{
	struct fx *f = *state;
	int port = occo_test_free_port(), n = 5000;
	pid_t pid = acceptor(port);
	char *nodes = occo_asprintf("'node_def:p':\n"
				    "  - resource: {type: dummy}\n"
				    "    health_check: {ping: false, ports: [%d], timeout: 600}\n",
				    port);
	char *infra = occo_asprintf("user_id: me\ninfra_name: many\n"
				    "nodes:\n  - {name: p, type: p, scaling: {min: %d, max: %d}}\n",
				    n, n);
	char *out, *err, *id;

	occo_test_write_file(f->p.dir, "many-nodes.yaml", nodes);
	occo_test_write_file(f->p.dir, "infra.yaml", infra);
	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "import", "many-nodes.yaml", NULL),
			 0);
	free(out);
	free(err);
	id = occo_test_progs_build(&f->p, "infra.yaml", NULL); /* every check passes: all ready */
	assert_int_equal(hlen(f, "HLEN occo:{%s}:nodes", id), n);
	/* the port closes: one pass finds every instance failing (not failed yet: 600 s) */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(occo_test_progs_run(&f->p, &out, &err, "maintain", "-i", id, NULL), 0);
	assert_int_equal(hlen(f, "HLEN occo:{%s}:health", id), n);
	free(out);
	free(err);
	free(id);
	free(nodes);
	free(infra);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_health__failing_instance_is_replaced, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_health__guard_keeps_most_failing_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_health__guard_share_is_a_setting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_health__every_instance_of_many_is_checked,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
