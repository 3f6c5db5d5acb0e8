/*
 * test_config.c - finding occopus_config.yaml and auth_data.yaml where Occopus finds them,
 * our settings, and the auth_data selection rule.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/config.h"
#include "occo/util/log.h"

struct env {
	char *home;
	char *cwd;
	char *old_cwd;
};

/* A fresh HOME and working directory, and none of the variables that would steer the search. */
static int setup(void **state)
{
	struct env *e = occo_calloc(1, sizeof(*e));

	e->old_cwd = getcwd(NULL, 0);
	e->home = occo_test_tmpdir("home");
	e->cwd = occo_test_tmpdir("cwd");
	setenv("HOME", e->home, 1);
	assert_int_equal(chdir(e->cwd), 0);
	unsetenv("OCCOPUS_CONFIG_PATH");
	unsetenv("OCCOPUS_AUTH_DATA_PATH");
	unsetenv("OCCOPUS_REDIS_URL");
	unsetenv("OCCOPUS_STATE_DIR");
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	assert_int_equal(chdir(e->old_cwd), 0);
	occo_test_rmtree(e->home);
	occo_test_rmtree(e->cwd);
	free(e->home);
	free(e->cwd);
	free(e->old_cwd);
	free(e);
	occo_log_secret_clear();
	return 0;
}

static void test_occo_config_load__defaults_without_any_file(void **state)
{
	struct env *e = *state;
	struct occo_config_args args = { 0 };
	struct occo_config cfg;
	char *want;

	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_null(cfg.path);
	assert_int_equal(cfg.origin, OCCO_CONFIG_NONE);
	assert_null(cfg.auth_path);
	assert_true(cfg.redis.embedded);
	assert_false(cfg.allow_cmd);
	assert_string_equal(cfg.ns, "occo");
	want = occo_asprintf("%s/.occopus/state", e->home);
	assert_string_equal(cfg.state_dir, want);
	free(want);
	want = occo_asprintf("%s/.occopus/state/redis.sock", e->home);
	assert_string_equal(cfg.redis.socket, want);
	free(want);
	occo_config_release(&cfg);
}

static void test_occo_config_load__search_order(void **state)
{
	struct env *e = *state;
	struct occo_config_args args = { 0 };
	struct occo_config cfg;
	char *dotdir = occo_asprintf("%s/.occopus", e->home);
	char *envfile;

	/* ./occopus_config.yaml */
	occo_test_write_file(e->cwd, "occopus_config.yaml", "namespace: from-cwd\n");
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.ns, "from-cwd");
	assert_int_equal(cfg.origin, OCCO_CONFIG_SEARCH);
	occo_config_release(&cfg);
	/* ~/.occopus/ comes before ./ */
	mkdir(dotdir, 0700);
	occo_test_write_file(dotdir, "occopus_config.yaml", "namespace: from-home\n");
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.ns, "from-home");
	occo_config_release(&cfg);
	/* $OCCOPUS_CONFIG_PATH before both */
	occo_test_write_file(e->cwd, "other.yaml", "namespace: from-env\n");
	envfile = occo_asprintf("%s/other.yaml", e->cwd);
	setenv("OCCOPUS_CONFIG_PATH", envfile, 1);
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.ns, "from-env");
	assert_int_equal(cfg.origin, OCCO_CONFIG_ENV);
	occo_config_release(&cfg);
	/* --cfg (relative to the working directory) before everything */
	occo_test_write_file(e->cwd, "given.yaml", "namespace: from-arg\n");
	args.cfg_path = "given.yaml";
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.ns, "from-arg");
	assert_int_equal(cfg.origin, OCCO_CONFIG_ARGUMENT);
	assert_non_null(strstr(cfg.path, "/given.yaml"));
	assert_true(cfg.path[0] == '/');
	occo_config_release(&cfg);
	free(dotdir);
	free(envfile);
}

static void test_occo_config_load__given_file_must_exist(void **state)
{
	struct occo_config_args args = { .cfg_path = "nope.yaml" };
	struct occo_config cfg;
	struct occo_err err;

	assert_int_equal(occo_config_load(&cfg, &args, &err), -OCCO_ENOENT);
	assert_non_null(strstr(err.msg, "specified config file does not exist: '"));
	assert_non_null(strstr(err.msg, "nope.yaml'"));
	occo_config_release(&cfg);
	args.cfg_path = NULL;
	args.auth_data_path = "/no/such/auth.yaml";
	assert_int_equal(occo_config_load(&cfg, &args, &err), -OCCO_ENOENT);
	assert_non_null(strstr(
		err.msg, "specified authentication file does not exist: '/no/such/auth.yaml'"));
	occo_config_release(&cfg);
}

static void test_occo_config_load__stock_occopus_config_names_its_redis(void **state)
{
	struct occo_config_args args = { 0 };
	struct occo_config cfg;
	struct occo_err err;
	char *path;

	if (!occo_test_have_shared())
		skip();
	path = occo_test_shared_path("occopus-tutorials/.occopus/occopus_config.yaml");
	args.cfg_path = path;
	assert_int_equal(occo_config_load(&cfg, &args, &err), 0);
	assert_false(cfg.redis.embedded);
	assert_string_equal(cfg.redis.host, "localhost");
	assert_int_equal(cfg.redis.port, 6379);
	assert_int_equal(cfg.redis.db, 0);
	assert_non_null(strstr(cfg.redis.source, "components.uds"));
	assert_int_equal(json_integer_value(occo_config_lookup(&cfg, "components.rest.port")),
			 5000);
	assert_string_equal(occo_ydoc_tag(cfg.doc, occo_config_lookup(&cfg, "components.uds")),
			    "!UDS");
	assert_null(occo_config_lookup(&cfg, "components.nothing.here"));
	occo_config_release(&cfg);
	free(path);
}

static void test_occo_config_load__our_settings_and_the_environment(void **state)
{
	struct env *e = *state;
	struct occo_config_args args = { .cfg_path = "c.yaml" };
	struct occo_config cfg;

	occo_test_write_file(e->cwd, "c.yaml",
			     "redis: {url: 'redis://:s3cr3t-pw@10.0.0.5:6380/2'}\n"
			     "state_dir: ~/st\nnamespace: prod\ntemplates: {allow_cmd: true}\n"
			     "components: {uds: {protocol: redis, host: ignored, port: 1}}\n");
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.redis.host, "10.0.0.5");
	assert_int_equal(cfg.redis.port, 6380);
	assert_int_equal(cfg.redis.db, 2);
	assert_string_equal(cfg.redis.password, "s3cr3t-pw");
	assert_non_null(strstr(cfg.redis.source, "c.yaml:1:14: redis.url"));
	assert_null(strstr(cfg.redis.source, "s3cr3t"));
	assert_string_equal(cfg.ns, "prod");
	assert_true(cfg.allow_cmd);
	assert_true(strncmp(cfg.state_dir, e->home, strlen(e->home)) == 0);
	occo_config_release(&cfg);

	setenv("OCCOPUS_REDIS_URL", "unix:///run/r.sock?db=4", 1);
	setenv("OCCOPUS_STATE_DIR", "/var/lib/x", 1);
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.redis.socket, "/run/r.sock");
	assert_int_equal(cfg.redis.db, 4);
	assert_null(cfg.redis.host);
	assert_string_equal(cfg.state_dir, "/var/lib/x");
	occo_config_release(&cfg);
}

static const struct {
	const char *url;
	const char *expect; /* NULL: valid */
} urls[] = {
	{ "redis://localhost", NULL },
	{ "redis://127.0.0.1:7000/15", NULL },
	{ "redis://user:pw@h:1/0", NULL },
	{ "unix:///tmp/r.sock", NULL },
	{ "http://h:1", "unsupported redis url" },
	{ "redis://h:0", "bad port" },
	{ "redis://h:99999", "bad port" },
	{ "redis://h:12ab", "bad port" },
	{ "redis://:7000", "names no host" },
	{ "redis://h/x", "bad database number 'x'" },
	{ "unix://relative.sock", "absolute path" },
	{ "unix:///r.sock?database=1", "bad query" },
	{ "redis+sentinel://h", "names no master" },
	{ "redis+sentinel://h/", "names no master" },
	{ "redis+sentinel:///m", "names no sentinel" },
	{ "redis+sentinel://:pw@/m", "names no sentinel" },
	{ "redis+sentinel://h1,/m", "bad sentinel address '' " },
	{ "redis+sentinel://h1,,h2/m", "bad sentinel address ''" },
	{ "redis+sentinel://h1:0/m", "bad sentinel address 'h1:0'" },
	{ "redis+sentinel://h1:26379x/m", "bad sentinel address 'h1:26379x'" },
	{ "redis+sentinel://[::1/m", "bad sentinel address '[::1'" },
	{ "redis+sentinel://[]:1/m", "bad sentinel address '[]:1'" },
	{ "redis+sentinel://[::1]x/m", "bad sentinel address '[::1]x'" },
	{ "redis+sentinel://h/m/x", "bad database number 'x'" },
	{ "redis+sentinel://h/m/70000", "bad database number '70000'" },
	{ "sentinel://h/m?password=hunter2", "bad query parameter 'password'" },
	{ "sentinel://h/m?sentinel_password=", "bad query parameter 'sentinel_password'" },
	{ "sentinel://h/m?sentinel_password=a&db=1", "bad query parameter 'db'" },
	{ "sentinel://h/m?sentinel_password=a&sentinel_password=b",
	  "bad query parameter 'sentinel_password'" },
	{ "sentinel://h/m?sentinel_username=&sentinel_password=b",
	  "bad query parameter 'sentinel_username'" },
	{ "sentinel://h/m\tx", "bad master name" },
};

/* A Sentinel URL and what it is parsed into. */
static void test_occo_config_redis_parse__sentinel_urls(void **state)
{
	struct occo_config_redis r;
	struct occo_err err;

	(void)state;
	assert_int_equal(occo_config_redis_parse("redis+sentinel://:m-pw@10.0.0.1:26380,"
						 "[fd00::2],s3.example:5000/my.master-1/3"
						 "?sentinel_password=s-pw",
						 "$OCCOPUS_REDIS_URL", &r, &err),
			 0);
	assert_int_equal(r.nsentinels, 3);
	assert_string_equal(r.sentinels[0].host, "10.0.0.1");
	assert_int_equal(r.sentinels[0].port, 26380);
	assert_string_equal(r.sentinels[1].host, "fd00::2");
	assert_int_equal(r.sentinels[1].port, 26379);
	assert_string_equal(r.sentinels[2].host, "s3.example");
	assert_int_equal(r.sentinels[2].port, 5000);
	assert_string_equal(r.master, "my.master-1");
	assert_int_equal(r.db, 3);
	assert_string_equal(r.password, "m-pw");
	assert_string_equal(r.sentinel_password, "s-pw");
	assert_null(r.host);
	assert_null(r.socket);
	assert_false(r.embedded);
	assert_string_equal(r.source, "$OCCOPUS_REDIS_URL");
	occo_config_redis_release(&r);

	/* ACL users: the master's before the password, the sentinels' in the query */
	assert_int_equal(
		occo_config_redis_parse("redis+sentinel://occo:m-pw@h1/m?sentinel_username="
					"watcher&sentinel_password=s-pw",
					"t", &r, &err),
		0);
	assert_string_equal(r.username, "occo");
	assert_string_equal(r.password, "m-pw");
	assert_string_equal(r.sentinel_username, "watcher");
	assert_string_equal(r.sentinel_password, "s-pw");
	occo_config_redis_release(&r);

	/* and a plain URL's */
	assert_int_equal(
		occo_config_redis_parse("redis://alice:a-pw@10.0.0.5:6380/1", "t", &r, &err), 0);
	assert_string_equal(r.username, "alice");
	assert_string_equal(r.password, "a-pw");
	assert_string_equal(r.host, "10.0.0.5");
	occo_config_redis_release(&r);

	/* sentinel:// is the same; no password, no database */
	assert_int_equal(occo_config_redis_parse("sentinel://127.0.0.1/mymaster", "t", &r, &err),
			 0);
	assert_int_equal(r.nsentinels, 1);
	assert_string_equal(r.sentinels[0].host, "127.0.0.1");
	assert_int_equal(r.sentinels[0].port, 26379);
	assert_string_equal(r.master, "mymaster");
	assert_int_equal(r.db, 0);
	assert_null(r.password);
	assert_null(r.sentinel_password);
	assert_null(r.username);
	assert_null(r.sentinel_username);
	occo_config_redis_release(&r);

	/* errors name the source and never quote the secret */
	assert_true(occo_config_redis_parse("sentinel://h/m?sentinel_pw=hunter2", "redis.url", &r,
					    &err) < 0);
	assert_int_equal(err.code, OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "redis.url: bad query parameter 'sentinel_pw'"));
	assert_null(strstr(err.msg, "hunter2"));
}

/* In the file, with the password of redis.password for the master and the secrets registered. */
static void test_occo_config_load__sentinel_url_in_the_file(void **state)
{
	struct env *e = *state;
	struct occo_config_args args = { .cfg_path = "c.yaml" };
	struct occo_config cfg;
	struct occo_err err;
	char line[] = "m-pw-123 s-pw-456";

	occo_test_write_file(e->cwd, "c.yaml",
			     "redis:\n"
			     "  url: 'redis+sentinel://a:1,b:2/mm?sentinel_password=s-pw-456'\n"
			     "  password: m-pw-123\n");
	assert_int_equal(occo_config_load(&cfg, &args, &err), 0);
	assert_int_equal(cfg.redis.nsentinels, 2);
	assert_string_equal(cfg.redis.master, "mm");
	assert_string_equal(cfg.redis.password, "m-pw-123");
	assert_string_equal(cfg.redis.sentinel_password, "s-pw-456");
	assert_non_null(strstr(cfg.redis.source, "c.yaml:2:8: redis.url"));
	assert_string_equal(occo_log_redact(line), "*** ***");
	occo_config_release(&cfg);

	occo_test_write_file(e->cwd, "c.yaml", "redis: {url: 'sentinel://a:1'}\n");
	assert_true(occo_config_load(&cfg, &args, &err) < 0);
	assert_non_null(strstr(err.msg, "c.yaml:1:14: redis.url: redis url names no master"));
	occo_config_release(&cfg);
}

static void test_occo_config_redis_parse__urls(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct occo_config_redis r;
		struct occo_err err;
		int rc = occo_config_redis_parse(urls[i].url, "test", &r, &err);

		if (!urls[i].expect) {
			if (rc != 0)
				fail_msg("%s: %s", urls[i].url, err.msg);
			occo_config_redis_release(&r);
		} else if (rc == 0 || !strstr(err.msg, urls[i].expect)) {
			fail_msg("%s: wanted '%s', got rc %d '%s'", urls[i].url, urls[i].expect, rc,
				 rc ? err.msg : "");
		}
	}
}

static const struct {
	const char *text;
	const char *expect;
} bad_configs[] = {
	{ "namespace: 'a b'\n", "c.yaml:1:12: namespace 'a b' may contain only" },
	{ "redis: {host: x}\n", "c.yaml:1:9: unknown key 'host' in 'redis'" },
	{ "redis: [1]\n", "c.yaml:1:8: 'redis' must be a mapping" },
	{ "redis: {url: 5}\n", "c.yaml:1:14: 'redis.url' must be a string" },
	{ "redis: {url: 'ftp://x'}\n", "c.yaml:1:14: redis.url: unsupported redis url" },
	{ "state_dir: [a]\n", "c.yaml:1:12: 'state_dir' must be a string" },
	{ "templates: {allow_cmd: 1}\n",
	  "c.yaml:1:24: 'templates.allow_cmd' must be true or false" },
	{ "templates: {allowcmd: true}\n", "c.yaml:1:13: unknown key 'allowcmd' in 'templates'" },
	{ "- a list\n", "the configuration must be a mapping" },
	{ "key: [unclosed\n", "c.yaml:2:1:" },
};

static void test_occo_config_load__bad_settings_are_positioned(void **state)
{
	struct env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		struct occo_config_args args = { .cfg_path = "c.yaml" };
		struct occo_config cfg;
		struct occo_err err;

		occo_test_write_file(e->cwd, "c.yaml", bad_configs[i].text);
		if (occo_config_load(&cfg, &args, &err) == 0 ||
		    !strstr(err.msg, bad_configs[i].expect))
			fail_msg("case %zu: wanted '%s', got '%s'", i, bad_configs[i].expect,
				 err.msg);
		occo_config_release(&cfg);
	}
}

static const char auth_text[] = "resource:\n"
				"  - type: ec2\n"
				"    endpoint: https://ec2.eu.example\n"
				"    auth_data: {accesskey: AKIAEU, secretkey: eu-secret-key}\n"
				"  - type: ec2\n"
				"    endpoint: https://ec2.us.example\n"
				"    auth_data: {accesskey: AKIAUS, secretkey: us-secret-key}\n"
				"  - type: nova\n"
				"    auth_data: {username: bob, password: nova-password}\n"
				"  - type: nova\n"
				"    auth_data: {username: alice, password: other-password}\n"
				"config_management:\n"
				"  - type: chef\n"
				"    auth_data: {client_name: c, client_key: chef-key-pem}\n";

static void test_occo_config_auth_select__occopus_rule(void **state)
{
	struct env *e = *state;
	struct occo_config_args args = { .auth_data_path = "auth_data.yaml" };
	struct occo_config cfg;
	struct occo_err err;
	const json_t *ad;
	json_t *res;

	occo_test_write_file(e->cwd, "auth_data.yaml", auth_text);
	chmod("auth_data.yaml", 0600);
	assert_int_equal(occo_config_load(&cfg, &args, &err), 0);
	assert_false(cfg.auth_world_readable);
	/* every key of the entry (but auth_data) must be in the resource with an equal value */
	res = json_pack("{s:s,s:s,s:s}", "type", "ec2", "endpoint", "https://ec2.us.example",
			"image_id", "ami-1");
	assert_int_equal(occo_config_auth_select(&cfg, "resource", res, &ad, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ad, "accesskey")), "AKIAUS");
	json_decref(res);
	/* no match: no credentials, and no error (the plugin says what is missing) */
	res = json_pack("{s:s,s:s}", "type", "ec2", "endpoint", "https://elsewhere");
	assert_int_equal(occo_config_auth_select(&cfg, "resource", res, &ad, &err), 0);
	assert_null(ad);
	json_decref(res);
	/* two matches: an error that names them */
	res = json_pack("{s:s}", "type", "nova");
	assert_int_equal(occo_config_auth_select(&cfg, "resource", res, &ad, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "more than one entry of 'resource'"));
	assert_non_null(strstr(err.msg, "entries 3 at line 8 and 4 at line 10"));
	assert_null(strstr(err.msg, "password"));
	json_decref(res);
	res = json_pack("{s:s}", "type", "chef");
	assert_int_equal(occo_config_auth_select(&cfg, "config_management", res, &ad, &err), 0);
	assert_non_null(ad);
	json_decref(res);
	/* the secrets are known to the log */
	{
		char line[] = "key eu-secret-key and nova-password and chef-key-pem";

		assert_string_equal(occo_log_redact(line), "key *** and *** and ***");
	}
	occo_config_release(&cfg);
}

static void test_occo_config_load__auth_readable_by_others_is_flagged(void **state)
{
	struct env *e = *state;
	struct occo_config_args args = { 0 };
	struct occo_config cfg;
	char *dotdir = occo_asprintf("%s/.occopus", e->home);
	char *path = occo_asprintf("%s/auth_data.yaml", dotdir);

	mkdir(dotdir, 0700);
	occo_test_write_file(dotdir, "auth_data.yaml", auth_text);
	chmod(path, 0644);
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_string_equal(cfg.auth_path, path);
	assert_int_equal(cfg.auth_origin, OCCO_CONFIG_SEARCH);
	assert_true(cfg.auth_world_readable);
	occo_config_release(&cfg);
	/* occopus-import does not look for it */
	args.no_auth = 1;
	assert_int_equal(occo_config_load(&cfg, &args, NULL), 0);
	assert_null(cfg.auth_path);
	occo_config_release(&cfg);
	free(dotdir);
	free(path);
}

static const struct {
	const char *text;
	const char *expect;
} bad_auth[] = {
	{ "resources: []\n", "a.yaml:1:1: unknown section 'resources' in auth data" },
	{ "resource: {type: ec2}\n", "a.yaml:1:11: section 'resource' must be a list" },
	{ "resource: [3]\n", "a.yaml:1:12: entry 1 of 'resource' must be a mapping" },
	{ "resource:\n  - type: ec2\n", "a.yaml:2:5: entry 1 of 'resource' has no 'auth_data'" },
	{ "[1, 2]\n", "auth data must be a mapping" },
};

static void test_occo_config_load__bad_auth_data_is_positioned(void **state)
{
	struct env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(bad_auth) / sizeof(bad_auth[0]); i++) {
		struct occo_config_args args = { .auth_data_path = "a.yaml" };
		struct occo_config cfg;
		struct occo_err err;

		occo_test_write_file(e->cwd, "a.yaml", bad_auth[i].text);
		if (occo_config_load(&cfg, &args, &err) == 0 ||
		    !strstr(err.msg, bad_auth[i].expect))
			fail_msg("case %zu: wanted '%s', got '%s'", i, bad_auth[i].expect, err.msg);
		occo_config_release(&cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_occo_config_load__defaults_without_any_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_config_load__search_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_occo_config_load__given_file_must_exist, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_config_load__stock_occopus_config_names_its_redis, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_config_load__our_settings_and_the_environment, setup, teardown),
		cmocka_unit_test(test_occo_config_redis_parse__urls),
		cmocka_unit_test(test_occo_config_redis_parse__sentinel_urls),
		cmocka_unit_test_setup_teardown(test_occo_config_load__sentinel_url_in_the_file,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_config_load__bad_settings_are_positioned,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_config_auth_select__occopus_rule, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_occo_config_load__auth_readable_by_others_is_flagged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_config_load__bad_auth_data_is_positioned,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
