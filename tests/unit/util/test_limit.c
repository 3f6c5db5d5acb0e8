/*
 * test_limit.c - the token bucket and full-jitter backoff of limit.h, with injected time and
 * injected random numbers.
 */
#include <stdint.h>

#include "testutil.h"
#include "occo/util/limit.h"

static void test_bucket_take__burst_then_rate(void **state)
{
	struct occo_bucket b;
	uint64_t wait = 0;

	(void)state;
	occo_bucket_init(&b, 10, 2, 5000);
	assert_true(occo_bucket_take(&b, 5000, &wait));
	assert_true(occo_bucket_take(&b, 5000, &wait));
	assert_false(occo_bucket_take(&b, 5000, &wait));
	assert_int_equal(wait, 100);
	assert_false(occo_bucket_take(&b, 5090, &wait));
	assert_int_equal(wait, 10);
	assert_true(occo_bucket_take(&b, 5100, &wait));
	/* A long idle time refills the burst, no more. */
	assert_true(occo_bucket_take(&b, 99000, &wait));
	assert_true(occo_bucket_take(&b, 99000, &wait));
	assert_false(occo_bucket_take(&b, 99000, &wait));
	/* Time going backwards does not add tokens. */
	assert_false(occo_bucket_take(&b, 1000, &wait));
}

static void test_bucket_take__unlimited(void **state)
{
	struct occo_bucket b;
	uint64_t wait = 0;
	int i;

	(void)state;
	occo_bucket_init(&b, 0, 0, 0);
	for (i = 0; i < 10000; i++)
		assert_true(occo_bucket_take(&b, 0, &wait));
}

static void test_bucket_set__keeps_level_and_cuts(void **state)
{
	struct occo_bucket b;
	uint64_t wait = 0;

	(void)state;
	/* Unlimited -> limited: starts full; burst 0 counts as 1. */
	occo_bucket_init(&b, 0, 0, 0);
	occo_bucket_set(&b, 1, 0, 10);
	assert_true(occo_bucket_take(&b, 10, &wait));
	assert_false(occo_bucket_take(&b, 10, &wait));
	assert_int_equal(wait, 1000);
	/* Limited -> faster: keeps its (empty) level, refills at the new rate. */
	occo_bucket_set(&b, 100, 5, 10);
	assert_false(occo_bucket_take(&b, 10, &wait));
	assert_int_equal(wait, 10);
	/* A full bucket cut to a smaller burst. */
	occo_bucket_init(&b, 1, 10, 0);
	occo_bucket_set(&b, 1, 2, 0);
	assert_true(occo_bucket_take(&b, 0, &wait));
	assert_true(occo_bucket_take(&b, 0, &wait));
	assert_false(occo_bucket_take(&b, 0, &wait));
}

static void test_backoff_ms__full_jitter(void **state)
{
	static const struct {
		unsigned base, cap, retry;
		uint32_t rnd;
		uint64_t want;
	} cases[] = {
		{ 500, 60000, 1, 0, 0 },
		{ 500, 60000, 1, UINT32_MAX, 500 },
		{ 500, 60000, 2, UINT32_MAX, 1000 },
		{ 500, 60000, 4, UINT32_MAX / 2, 2000 },
		{ 500, 3000, 4, UINT32_MAX, 3000 },
		{ 1, 10, 1000, UINT32_MAX, 10 },
		{ 0, 10, 3, UINT32_MAX, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
			occo_backoff_ms(cases[i].base, cases[i].cap, cases[i].retry, cases[i].rnd),
			cases[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_take__burst_then_rate),
		cmocka_unit_test(test_bucket_take__unlimited),
		cmocka_unit_test(test_bucket_set__keeps_level_and_cuts),
		cmocka_unit_test(test_backoff_ms__full_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
