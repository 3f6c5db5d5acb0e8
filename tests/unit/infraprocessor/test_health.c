/*
 * test_health.c - the health tracker (pure: results and times in, states out), its stored
 * form and the timeout of a health_check section. Times are given, so nothing waits.
 */
#include <string.h>

#include "testutil.h"
#include "occo/infraprocessor/health.h"

#define T0 1700000000000ull /* a wall time, ms */

/* One result at T0 + at_ms, and what the tracker says then. */
struct step {
	int ok;
	uint64_t at_ms;
	enum hc_state want;
	unsigned fails;
	uint64_t first_fail; /* offset from T0; ~0 for "no failing period" */
};

#define NONE (~0ull)

static const struct {
	const char *name;
	uint64_t timeout_ms;
	struct step steps[8];
	size_t n;
} cases[] = {
	{ "passes at once: ready", 600000, { { 1, 0, HC_READY, 0, NONE } }, 1 },
	{ "starting and failing: pending, not failed before the timeout",
	  600000,
	  { { 0, 0, HC_PENDING, 1, 0 },
	    { 0, 10000, HC_PENDING, 2, 0 },
	    { 0, 600000, HC_PENDING, 3, 0 }, /* exactly the timeout: not exceeded yet */
	    { 0, 600001, HC_FAILED, 4, 0 } },
	  4 },
	{ "a pass ends the failing period; the next failure starts a new one",
	  1000,
	  { { 0, 0, HC_PENDING, 1, 0 },
	    { 0, 900, HC_PENDING, 2, 0 },
	    { 1, 950, HC_READY, 0, NONE },
	    { 0, 1500, HC_PENDING, 1, 1500 },
	    { 0, 2400, HC_PENDING, 2, 1500 },
	    { 0, 2501, HC_FAILED, 3, 1500 } },
	  6 },
	{ "failed recovers when it passes again",
	  1000,
	  { { 0, 0, HC_PENDING, 1, 0 },
	    { 0, 5000, HC_FAILED, 2, 0 },
	    { 0, 6000, HC_FAILED, 3, 0 },
	    { 1, 7000, HC_READY, 0, NONE } },
	  4 },
	{ "a clock that goes back counts as no time",
	  1000,
	  { { 0, 5000, HC_PENDING, 1, 5000 }, { 0, 1000, HC_PENDING, 2, 5000 } },
	  2 },
};

static void test_hc_track_apply__table(void **state)
{
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hc_track t = { 0 };

		for (j = 0; j < cases[i].n; j++) {
			const struct step *s = &cases[i].steps[j];
			enum hc_state got =
				hc_track_apply(&t, s->ok, T0 + s->at_ms, cases[i].timeout_ms);

			if (got != s->want || t.fails != s->fails ||
			    t.first_fail_ms != (s->first_fail == NONE ? 0 : T0 + s->first_fail))
				fail_msg("%s, step %zu: state %s (want %s), fails %u (want %u), "
					 "first failure %llu",
					 cases[i].name, j + 1, hc_state_name(got),
					 hc_state_name(s->want), t.fails, s->fails,
					 (unsigned long long)t.first_fail_ms);
		}
	}
}

/* What is stored survives a restart: the period goes on where it was. */
static void test_hc_track__stored_form_round_trip(void **state)
{
	struct hc_track t = { 0 }, u;
	json_t *v;

	hc_track_apply(&t, 0, T0, 1000);
	hc_track_apply(&t, 0, T0 + 500, 1000);
	v = hc_track_to_json(&t);
	assert_int_equal(json_integer_value(json_object_get(v, "first_fail_ms")), (json_int_t)T0);
	assert_int_equal(json_integer_value(json_object_get(v, "fails")), 2);
	hc_track_from_json(v, &u);
	json_decref(v);
	assert_int_equal(u.first_fail_ms, T0);
	assert_int_equal(u.fails, 2);
	assert_int_equal(hc_track_apply(&u, 0, T0 + 1001, 1000), HC_FAILED);
	assert_int_equal(u.fails, 3);
}

/* Bad data in the store gives a fresh track, never a failed node. */
static void test_hc_track_from_json__malformed(void **state)
{
	static const char *const bad[] = { "null", "[]", "{\"first_fail_ms\": \"x\"}",
					   "{\"first_fail_ms\": -5, \"fails\": 3}",
					   "{\"fails\": 9}" };
	struct hc_track t;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *v = json_loads(bad[i], JSON_DECODE_ANY, NULL);

		memset(&t, 0xff, sizeof(t));
		hc_track_from_json(v, &t);
		json_decref(v);
		assert_int_equal(t.first_fail_ms, 0);
		assert_int_equal(t.fails, 0);
		assert_int_equal(hc_track_apply(&t, 0, T0, 1000), HC_PENDING);
	}
	hc_track_from_json(NULL, &t);
	assert_int_equal(t.first_fail_ms, 0);
}

static void test_hc_timeout_ms__section(void **state)
{
	static const struct {
		const char *section;
		uint64_t want;
	} t[] = {
		{ "null", 600000 },
		{ "{}", 600000 },
		{ "{\"timeout\": 1}", 1000 },
		{ "{\"timeout\": 30}", 30000 },
		{ "{\"timeout\": 0}", 600000 },
		{ "{\"timeout\": \"5\"}", 600000 },
		{ "{\"timeout\": -3}", 600000 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_t *v = json_loads(t[i].section, JSON_DECODE_ANY, NULL);

		assert_int_equal(hc_timeout_ms(v), t[i].want);
		json_decref(v);
	}
}

static void test_hc_state_name__names(void **state)
{
	assert_string_equal(hc_state_name(HC_PENDING), "pending");
	assert_string_equal(hc_state_name(HC_READY), "ready");
	assert_string_equal(hc_state_name(HC_FAILED), "failed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hc_track_apply__table),
		cmocka_unit_test(test_hc_track__stored_form_round_trip),
		cmocka_unit_test(test_hc_track_from_json__malformed),
		cmocka_unit_test(test_hc_timeout_ms__section),
		cmocka_unit_test(test_hc_state_name__names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
