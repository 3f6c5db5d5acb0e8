/*
 * test_id.c - UUIDs and the clock formatting.
 */
#include <string.h>

#include "testutil.h"
#include "occo/util/clock.h"
#include "occo/util/id.h"

static void test_occo_uuid4__version_and_variant(void **state)
{
	char u[OCCO_UUID_STRLEN + 1];
	int i;

	for (i = 0; i < 200; i++) {
		assert_int_equal(occo_uuid4(u, NULL), 0);
		assert_int_equal(strlen(u), 36);
		assert_true(occo_uuid_valid(u));
		assert_int_equal(u[14], '4');
		assert_non_null(strchr("89ab", u[19]));
	}
}

static void test_occo_uuid4__distinct(void **state)
{
	char a[OCCO_UUID_STRLEN + 1], b[OCCO_UUID_STRLEN + 1];

	occo_uuid4(a, NULL);
	occo_uuid4(b, NULL);
	assert_string_not_equal(a, b);
}

static void test_occo_uuid_valid__rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"not-a-uuid",
		"3f2a1b4c-0000-4000-8000-00000000000",
		"3f2a1b4c00000-4000-8000-000000000000",
		"3f2a1b4c-0000-4000-8000-00000000000g",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(occo_uuid_valid(bad[i]));
	assert_false(occo_uuid_valid(NULL));
	assert_true(occo_uuid_valid("3f2a1b4c-0000-4000-8000-00000000000A"));
}

static void test_occo_clock_format__rfc3339_utc(void **state)
{
	char ts[32];

	occo_clock_format(0, ts);
	assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
	occo_clock_format(1795000000123ull, ts);
	assert_string_equal(ts, "2026-11-18T11:06:40.123Z");
}

static void test_occo_clock_fake__set_and_advance(void **state)
{
	occo_clock_fake_set(500, 10000);
	occo_clock_fake_advance(250);
	assert_int_equal(occo_clock_now_ms(), 750);
	assert_int_equal(occo_clock_wall_ms(), 10250);
	occo_clock_fake_clear();
	assert_true(occo_clock_wall_ms() > 1700000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_uuid4__version_and_variant),
		cmocka_unit_test(test_occo_uuid4__distinct),
		cmocka_unit_test(test_occo_uuid_valid__rejects_malformed),
		cmocka_unit_test(test_occo_clock_format__rfc3339_utc),
		cmocka_unit_test(test_occo_clock_fake__set_and_advance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
