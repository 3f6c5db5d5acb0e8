/*
 * test_log.c - log lines: format, levels, quoting, and that secrets never reach a line.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/log.h"

static char *last_line;
static int nlines;

static void capture(int level, const char *line, void *ud)
{
	(void)level;
	(void)ud;
	free(last_line);
	last_line = occo_strdup(line);
	nlines++;
}

static int setup(void **state)
{
	occo_clock_fake_set(1000, 1795000000123ull); /* 2026-11-18T11:06:40.123Z */
	occo_log_set_sink(capture, NULL);
	occo_log_set_level(OCCO_LOG_DEBUG);
	occo_log_set_format(OCCO_LOG_FMT_TEXT);
	nlines = 0;
	return 0;
}

static int teardown(void **state)
{
	occo_log_set_sink(NULL, NULL);
	occo_log_secret_clear();
	occo_clock_fake_clear();
	free(last_line);
	last_line = NULL;
	return 0;
}

static void test_occo_log_kv__logfmt_line(void **state)
{
	occo_log_set_level(OCCO_LOG_INFO);
	OCCO_INFO("node ready", OCCO_KV("infra", "abc"), OCCO_KV("node", "web server"));
	assert_string_equal(last_line, "ts=2026-11-18T11:06:40.123Z level=info msg=\"node ready\" "
				       "infra=abc node=\"web server\"");
}

static void test_occo_log_kv__quotes_and_escapes(void **state)
{
	occo_log_set_level(OCCO_LOG_INFO);
	OCCO_WARN("x", OCCO_KV("a", "say \"hi\"\n"), OCCO_KV("b", ""), OCCO_KV("c", "k=v"),
		  OCCO_KV("d", NULL));
	assert_non_null(strstr(last_line, "a=\"say \\\"hi\\\"\\n\""));
	assert_non_null(strstr(last_line, " b=\"\""));
	assert_non_null(strstr(last_line, " c=\"k=v\""));
	assert_non_null(strstr(last_line, " d=\"\""));
	assert_non_null(strstr(last_line, "level=warn msg=x "));
}

static void test_occo_log_kv__level_threshold_drops_lines(void **state)
{
	occo_log_set_level(OCCO_LOG_WARN);
	OCCO_INFO("hidden");
	OCCO_DEBUG("hidden");
	assert_int_equal(nlines, 0);
	OCCO_ERROR("shown");
	assert_int_equal(nlines, 1);
	assert_non_null(strstr(last_line, "level=error"));
}

static void test_occo_log_kv__debug_lines_name_their_source(void **state)
{
	OCCO_DEBUG("details");
	assert_non_null(strstr(last_line, "src=test_log.c:"));
}

static void test_occo_log_kv__marked_secret_is_redacted(void **state)
{
	OCCO_INFO("auth", OCCO_SECRET("x", "hunter2-value"), OCCO_KV("user", "bob"));
	assert_null(strstr(last_line, "hunter2-value"));
	assert_non_null(strstr(last_line, "x=***"));
	assert_non_null(strstr(last_line, "user=bob"));
}

static void test_occo_log_kv__secret_looking_keys_are_redacted(void **state)
{
	static const char *const keys[] = { "password",	     "secretkey",     "X-Auth-Token",
					    "client_secret", "Authorization", "accesskey" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		OCCO_INFO("m", OCCO_KV(keys[i], "plain-value-123"));
		assert_null(strstr(last_line, "plain-value-123"));
	}
}

static void test_occo_log_secret_add__redacted_everywhere(void **state)
{
	char msg[] = "login with wJalrXUtnFEMI failed";

	occo_log_secret_add("wJalrXUtnFEMI");
	OCCO_ERROR("request for wJalrXUtnFEMI failed", OCCO_KV("detail", "key=wJalrXUtnFEMI!"));
	assert_null(strstr(last_line, "wJalrXUtnFEMI"));
	assert_non_null(strstr(last_line, "msg=\"request for *** failed\""));
	assert_non_null(strstr(last_line, "detail=\"key=***!\""));
	assert_string_equal(occo_log_redact(msg), "login with *** failed");
	occo_logf(OCCO_LOG_ERROR, "formatted %s twice %s", "wJalrXUtnFEMI", "wJalrXUtnFEMI");
	assert_non_null(strstr(last_line, "formatted *** twice ***"));
}

static void test_occo_log_secret_add__short_strings_ignored(void **state)
{
	occo_log_secret_add("abc");
	OCCO_INFO("abc def");
	assert_non_null(strstr(last_line, "abc def"));
}

static void test_occo_log_kv__json_format(void **state)
{
	json_t *obj;
	json_error_t jerr;

	occo_log_set_format(OCCO_LOG_FMT_JSON);
	occo_log_set_level(OCCO_LOG_INFO);
	OCCO_INFO("built \"x\"", OCCO_KV("infra", "i1"), OCCO_SECRET("token", "tok-123456"));
	obj = json_loads(last_line, 0, &jerr);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(obj, "msg")), "built \"x\"");
	assert_string_equal(json_string_value(json_object_get(obj, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(obj, "infra")), "i1");
	assert_string_equal(json_string_value(json_object_get(obj, "token")), "***");
	assert_string_equal(json_string_value(json_object_get(obj, "ts")),
			    "2026-11-18T11:06:40.123Z");
	json_decref(obj);
}

static void test_occo_log_level_parse__names(void **state)
{
	assert_int_equal(occo_log_level_parse("debug"), OCCO_LOG_DEBUG);
	assert_int_equal(occo_log_level_parse("WARNING"), OCCO_LOG_WARN);
	assert_int_equal(occo_log_level_parse("Error"), OCCO_LOG_ERROR);
	assert_int_equal(occo_log_level_parse("loud"), -1);
	assert_int_equal(occo_log_level_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_occo_log_kv__logfmt_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_kv__quotes_and_escapes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_kv__level_threshold_drops_lines,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_kv__debug_lines_name_their_source,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_kv__marked_secret_is_redacted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_kv__secret_looking_keys_are_redacted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_secret_add__redacted_everywhere,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_secret_add__short_strings_ignored,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_occo_log_kv__json_format, setup, teardown),
		cmocka_unit_test(test_occo_log_level_parse__names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
