/*
 * health_track.c - the health tracker: results in, a node's health state out (see health.h).
 *
 * Pure: the time is an argument, so the tests drive it with tables and no clock at all.
 */
#include "occo/infraprocessor/health.h"

const char *hc_state_name(enum hc_state s)
{
	switch (s) {
	case HC_READY:
		return "ready";
	case HC_FAILED:
		return "failed";
	case HC_PENDING:
		break;
	}
	return "pending";
}

enum hc_state hc_track_apply(struct hc_track *t, int ok, uint64_t now_ms, uint64_t timeout_ms)
{
	if (ok) {
		t->first_fail_ms = 0;
		t->fails = 0;
		t->passes++;
		return HC_READY;
	}
	t->passes = 0;
	if (t->fails < UINT32_MAX)
		t->fails++;
	if (!t->first_fail_ms)
		t->first_fail_ms = now_ms ? now_ms : 1;
	/* Occopus: failed when the failing period exceeds the timeout */
	if (now_ms > t->first_fail_ms && now_ms - t->first_fail_ms > timeout_ms)
		return HC_FAILED;
	return HC_PENDING;
}

void hc_track_from_json(const json_t *v, struct hc_track *out)
{
	const json_t *ff = json_object_get(v, "first_fail_ms");
	const json_t *n = json_object_get(v, "fails");

	out->first_fail_ms = 0;
	out->fails = 0;
	out->passes = 0;
	if (!json_is_integer(ff) || json_integer_value(ff) <= 0)
		return;
	out->first_fail_ms = (uint64_t)json_integer_value(ff);
	if (json_is_integer(n) && json_integer_value(n) > 0)
		out->fails = json_integer_value(n) < UINT32_MAX ? (unsigned)json_integer_value(n)
								: UINT32_MAX;
}

json_t *hc_track_to_json(const struct hc_track *t)
{
	return json_pack("{s:I,s:I}", "first_fail_ms", (json_int_t)t->first_fail_ms, "fails",
			 (json_int_t)t->fails);
}

uint64_t hc_timeout_ms(const json_t *section)
{
	const json_t *v = json_object_get(section, "timeout");

	/* the schema wants at least 1 s; stored data that says otherwise gets the default */
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)(UINT64_MAX / 1000))
		return HC_DEFAULT_TIMEOUT_MS;
	return (uint64_t)json_integer_value(v) * 1000;
}
