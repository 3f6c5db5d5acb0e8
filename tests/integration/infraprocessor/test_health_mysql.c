/*
 * test_health_mysql.c - the mysqldbs health check against a real MariaDB server the group
 * starts (Debian's mariadbd with its own data directory, TCP on 127.0.0.1): the right
 * password passes, a wrong one and an unknown database fail with the server's words and never
 * the password (not in the message, not in any log line), templates, several databases,
 * logins at once, a refused port and a server that never answers.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "mariadb.h"
#include "netns.h"
#include "testutil.h"
#include "occo/infraprocessor/health.h"
#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/log.h"

#define PASSWORD "s3cret-Pass-42"

static struct occo_test_mariadb db;

static int group_setup(void **state)
{
	if (!occo_test_have_mariadb()) {
		fprintf(stderr, "skipped: mariadbd, mariadb-install-db or the mariadb client is "
				"not installed\n");
		exit(OCCO_TEST_SKIP);
	}
	if (occo_test_mariadb_start(&db, "127.0.0.1", occo_test_free_port()) < 0)
		return -1;
	return occo_test_mariadb_sql(&db, "CREATE DATABASE wp; CREATE DATABASE shop;"
					  "CREATE USER 'wpuser'@'%' IDENTIFIED BY '" PASSWORD "';"
					  "GRANT ALL ON wp.* TO 'wpuser'@'%';"
					  "GRANT ALL ON shop.* TO 'wpuser'@'%';"
					  "CREATE USER 'ops'@'%' IDENTIFIED BY '" PASSWORD "';"
					  "GRANT SELECT ON *.* TO 'ops'@'%';");
}

static int group_teardown(void **state)
{
	occo_test_mariadb_stop(&db);
	return 0;
}

/* Every log line, to look for the password in. */
static char logged[65536];

static void sink(int level, const char *line, void *ud)
{
	size_t n = strlen(logged);

	snprintf(logged + n, sizeof(logged) - n, "%s\n", line);
}

struct fx {
	uv_loop_t loop;
	struct hc *hc;
	json_t *vars;
};

static void fx_open(struct fx *f, unsigned port, unsigned timeout_ms)
{
	struct hc_opts o = { .mysql_port = port, .mysql_timeout_ms = timeout_ms };

	memset(f, 0, sizeof(*f));
	uv_loop_init(&f->loop);
	assert_int_equal(hc_new(&f->loop, NULL, &o, &f->hc, NULL), 0);
	f->vars = json_pack("{s:s,s:s}", "dbuser", "wpuser", "dbpass", PASSWORD);
	logged[0] = '\0';
	occo_log_set_sink(sink, NULL);
	occo_log_set_level(OCCO_LOG_DEBUG);
}

static void fx_close(struct fx *f)
{
	hc_free(f->hc);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	json_decref(f->vars);
	occo_log_set_sink(NULL, NULL);
	occo_log_set_level(OCCO_LOG_WARN);
	assert_null(strstr(logged, PASSWORD));
}

struct res {
	int calls, ok;
	char probe[16];
	char msg[OCCO_ERR_MSG_MAX];
};

static void on_checked(const struct hc_result *r, const struct occo_err *err, void *ud)
{
	struct res *out = ud;

	out->calls++;
	assert_null(err);
	out->ok = r->ok;
	snprintf(out->probe, sizeof(out->probe), "%s", r->probe ? r->probe : "");
	snprintf(out->msg, sizeof(out->msg), "%s", r->message ? r->message : "");
}

static void submit(struct fx *f, const char *dbs, struct res *out)
{
	char *text = occo_asprintf("{\"ping\": false, \"mysqldbs\": %s}", dbs);
	json_t *sec = json_loads(text, 0, NULL);
	struct hc_target t = { sec, "127.0.0.1", "n-1", f->vars, NULL };

	assert_non_null(sec);
	memset(out, 0, sizeof(*out));
	assert_int_equal(hc_check(f->hc, &t, on_checked, out, NULL), 0);
	json_decref(sec);
	free(text);
}

static void check(struct fx *f, const char *dbs, struct res *out)
{
	submit(f, dbs, out);
	while (!out->calls)
		uv_run(&f->loop, UV_RUN_ONCE);
	/* whatever happened, the password is not in what the user reads */
	assert_null(strstr(out->msg, PASSWORD));
}

static const struct {
	const char *dbs;
	int ok;
	const char *msg; /* a part of the message */
} cases[] = {
	{ "[{\"name\": \"wp\", \"user\": \"wpuser\", \"pass\": \"" PASSWORD "\"}]", 1, NULL },
	/* templates, as Occopus renders them */
	{ "[{\"name\": \"{{ 'w' ~ 'p' }}\", \"user\": \"{{ variables.dbuser }}\","
	  " \"pass\": \"{{ variables.dbpass }}\"}]",
	  1, NULL },
	{ "[{\"name\": \"wp\", \"user\": \"wpuser\", \"pass\": \"" PASSWORD "\"},"
	  " {\"name\": \"shop\", \"user\": \"wpuser\", \"pass\": \"" PASSWORD "\"}]",
	  1, NULL },
	{ "[{\"name\": \"wp\", \"user\": \"wpuser\", \"pass\": \"wrong-" PASSWORD "\"}]", 0,
	  "mysql database 'wp' on 127.0.0.1 as user 'wpuser': Access denied for user 'wpuser'" },
	{ "[{\"name\": \"nope\", \"user\": \"wpuser\", \"pass\": \"" PASSWORD "\"}]", 0,
	  "mysql database 'nope' on 127.0.0.1 as user 'wpuser': " },
	/* the second of two fails: the message is the second's */
	{ "[{\"name\": \"wp\", \"user\": \"wpuser\", \"pass\": \"" PASSWORD "\"},"
	  " {\"name\": \"other\", \"user\": \"wpuser\", \"pass\": \"" PASSWORD "\"}]",
	  0, "mysql database 'other' on 127.0.0.1 as user 'wpuser': " },
	{ "[{\"name\": \"wp\", \"user\": \"nobody\", \"pass\": \"x\"}]", 0,
	  "Access denied for user 'nobody'" },
};

static void test_hc_check__mysqldbs(void **state)
{
	struct fx f;
	struct res r;
	size_t i;

	fx_open(&f, (unsigned)db.port, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		check(&f, cases[i].dbs, &r);
		if (r.ok != cases[i].ok)
			fail_msg("case %zu: ok=%d: %s", i, r.ok, r.msg);
		if (cases[i].msg) {
			assert_string_equal(r.probe, "mysqldbs");
			if (!strstr(r.msg, cases[i].msg))
				fail_msg("case %zu: '%s' lacks '%s'", i, r.msg, cases[i].msg);
		}
	}
	/* a user that may see every database learns that it does not exist */
	check(&f, "[{\"name\": \"nope\", \"user\": \"ops\", \"pass\": \"" PASSWORD "\"}]", &r);
	assert_false(r.ok);
	assert_string_equal(r.msg, "mysql database 'nope' on 127.0.0.1 as user 'ops': Unknown "
				   "database 'nope'");
	fx_close(&f);
}

/* Logins run at once on the loop (the non-blocking API), not one after the other. */
static void test_hc_check__mysqldbs_at_once(void **state)
{
	struct fx f;
	struct res r[16];
	struct hc_stats st;
	size_t i;

	fx_open(&f, (unsigned)db.port, 0);
	for (i = 0; i < 16; i++)
		submit(&f, i % 2 ? cases[0].dbs : cases[3].dbs, &r[i]);
	for (i = 0; i < 16; i++) {
		while (!r[i].calls)
			uv_run(&f.loop, UV_RUN_ONCE);
		assert_int_equal(r[i].ok, i % 2 == 1);
	}
	hc_stats_get(f.hc, &st);
	assert_true(st.max_running > 1);
	fx_close(&f);
}

static void test_hc_check__mysqldbs_refused_and_silent(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct fx f;
	struct res r;
	uint64_t t0;
	int lfd;

	/* nothing listens */
	fx_open(&f, (unsigned)occo_test_free_port(), 500);
	check(&f, cases[0].dbs, &r);
	assert_false(r.ok);
	assert_non_null(strstr(r.msg, "mysql database 'wp' on 127.0.0.1 as user 'wpuser': "));
	fx_close(&f);

	/* a listener that never says a word: the probe's timeout ends it */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	fx_open(&f, ntohs(sa.sin_port), 500);
	t0 = occo_clock_now_ms();
	check(&f, cases[0].dbs, &r);
	assert_false(r.ok);
	assert_string_equal(r.msg, "mysql database 'wp' on 127.0.0.1 as user 'wpuser': no answer "
				   "within 0.5 s");
	assert_true(occo_clock_now_ms() - t0 < 2000);
	fx_close(&f);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hc_check__mysqldbs),
		cmocka_unit_test(test_hc_check__mysqldbs_at_once),
		cmocka_unit_test(test_hc_check__mysqldbs_refused_and_silent),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
