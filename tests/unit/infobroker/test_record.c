/*
 * test_record.c - instance records in memory (record.h): what is stored comes back the same,
 * members of a newer version survive an update, bad members are named, text that is not
 * UTF-8 still gives valid JSON, and the set finds, removes and walks its records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testutil.h"
#include "occo/infobroker/record.h"

static const char full[] =
	"{\"node_id\": \"n1\", \"name\": \"web\", \"type\": \"web_t\", \"def_index\": 1,"
	" \"resource\": {\"type\": \"dummy\", \"flavor\": \"m1\"}, \"token\": \"occo-n1\","
	" \"instance_id\": \"i-1\", \"addresses\": [\"10.0.0.1\", \"10.0.0.2\"],"
	" \"state\": \"ready\", \"created_at\": 1700000000000,"
	" \"config_management\": {\"type\": \"dummy\"}, \"health_check\": {\"ping\": false},"
	" \"private_address\": \"192.168.0.1\", \"ready_at\": 1700000000500,"
	" \"published\": {\"80/tcp\": \"127.0.0.1:8080\"}, \"error\": \"was \\\"slow\\\"\","
	" \"health_failed\": true, \"health_failing\": true}";

/* The stored text of a record read from `text`, parsed back. */
static json_t *round_trip(const char *text, struct ib_records *s, const char *id)
{
	json_t *in = json_loads(text, 0, NULL);
	struct occo_buf b;
	json_t *out;

	assert_non_null(in);
	assert_int_equal(ib_records_put_json(s, id, in, NULL, NULL), 0);
	json_decref(in);
	occo_buf_init(&b, SIZE_MAX);
	assert_int_equal(ib_record_dump(ib_records_get(s, id), &b, NULL), 0);
	out = json_loads(occo_buf_str(&b), 0, NULL);
	assert_non_null(out); /* valid JSON, always */
	occo_buf_release(&b);
	return out;
}

static void test_ib_record__every_member_comes_back_as_stored(void **state)
{
	struct ib_records *s = ib_records_new();
	json_t *want = json_loads(full, 0, NULL), *got = round_trip(full, s, "n1"), *as_json;
	const struct ib_record *rec = ib_records_get(s, "n1");

	assert_true(json_equal(got, want));
	as_json = ib_record_to_json(rec);
	assert_true(json_equal(as_json, want));
	assert_string_equal(rec->state, "ready");
	assert_int_equal(rec->def_index, 1);
	assert_int_equal(rec->ready_at, 1700000000500ll);
	assert_true(rec->health_failed && rec->health_failing);
	json_decref(as_json);
	json_decref(got);
	json_decref(want);
	ib_records_free(s);
}

static void test_ib_record__members_it_does_not_know_survive_an_update(void **state)
{
	struct ib_records *s = ib_records_new();
	json_t *got = round_trip("{\"name\": \"db\", \"state\": \"pending\", \"zone\": \"eu-1\","
				 " \"labels\": {\"tier\": \"data\"}}",
				 s, "n2");
	struct ib_record *rec = ib_records_get(s, "n2");
	struct occo_buf b;

	assert_string_equal(json_string_value(json_object_get(got, "zone")), "eu-1");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(got, "labels"), "tier")), "data");
	/* what an older writer changes is written with what it did not understand */
	rec->state = ib_records_intern(s, "ready");
	occo_buf_init(&b, SIZE_MAX);
	assert_int_equal(ib_record_dump(rec, &b, NULL), 0);
	json_decref(got);
	got = json_loads(occo_buf_str(&b), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(got, "state")), "ready");
	assert_string_equal(json_string_value(json_object_get(got, "zone")), "eu-1");
	/* a record without an instance id yet says so, and has no addresses */
	assert_true(json_is_null(json_object_get(got, "instance_id")));
	assert_int_equal(json_array_size(json_object_get(got, "addresses")), 0);
	occo_buf_release(&b);
	json_decref(got);
	ib_records_free(s);
}

static void test_ib_records_put_json__names_a_bad_member_and_keeps_the_old_record(void **state)
{
	struct ib_records *s = ib_records_new();
	json_t *good = json_pack("{s:s,s:s}", "name", "web", "state", "ready");
	json_t *bad = json_pack("{s:s,s:i}", "name", "web", "state", 3);
	json_t *worse = json_pack("{s:s,s:s}", "name", "web", "created_at", "yesterday");
	json_t *arr = json_array();
	struct occo_err err;

	assert_int_equal(ib_records_put_json(s, "n1", good, NULL, NULL), 0);
	assert_int_equal(ib_records_put_json(s, "n1", bad, "redis: t:{x}:nodes", &err),
			 -OCCO_EPROTO);
	assert_string_equal(err.msg,
			    "redis: t:{x}:nodes: instance record 'n1': 'state' must be a string");
	assert_string_equal(ib_records_get(s, "n1")->state, "ready");
	assert_int_equal(ib_records_put_json(s, "n1", worse, NULL, &err), -OCCO_EPROTO);
	assert_string_equal(err.msg, "instance record 'n1': 'created_at' must be an integer");
	assert_int_equal(ib_records_put_json(s, "n3", arr, NULL, &err), -OCCO_EPROTO);
	assert_string_equal(err.msg, "instance record 'n3' is not a JSON object");
	assert_int_equal(ib_records_count(s), 1);
	/* leniently: the record is read without the bad member, and that is said */
	assert_int_equal(ib_records_put_json_ex(s, "n1", bad, NULL, IB_RECORD_LENIENT, &err), 1);
	assert_string_equal(err.msg, "instance record 'n1': 'state' must be a string");
	assert_null(ib_records_get(s, "n1")->state);
	assert_string_equal(ib_records_get(s, "n1")->name, "web");
	assert_int_equal(ib_records_put_json_ex(s, "n1", good, NULL, IB_RECORD_LENIENT, &err), 0);
	assert_int_equal(ib_records_put_json_ex(s, "n3", arr, NULL, IB_RECORD_LENIENT, &err),
			 -OCCO_EPROTO);
	json_decref(good);
	json_decref(bad);
	json_decref(worse);
	json_decref(arr);
	ib_records_free(s);
}

static void test_ib_record_dump__text_that_is_not_utf8_still_gives_json(void **state)
{
	struct ib_records *s = ib_records_new();
	struct ib_record *rec = ib_records_add(s, "n1");
	struct occo_buf b;
	json_t *got, *as_json;

	/* a cloud's message cut in the middle of a character, with quotes and a newline */
	ib_record_set_str(&rec->error, "d\xc3\xa9j\xc3 \"vu\"\n\x01");
	occo_buf_init(&b, SIZE_MAX);
	assert_int_equal(ib_record_dump(rec, &b, NULL), 0);
	got = json_loads(occo_buf_str(&b), 0, NULL);
	assert_non_null(got);
	assert_string_equal(json_string_value(json_object_get(got, "error")),
			    "d\xc3\xa9j\xef\xbf\xbd \"vu\"\n\x01");
	as_json = ib_record_to_json(rec);
	assert_true(json_equal(json_object_get(as_json, "error"), json_object_get(got, "error")));
	occo_buf_release(&b);
	json_decref(got);
	json_decref(as_json);
	ib_records_free(s);
}

static void test_ib_records__find_remove_and_walk_in_order(void **state)
{
	struct ib_records *s = ib_records_new();
	const struct ib_record *rec;
	char id[32];
	int i, n, expect;

	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "node-%d", i);
		ib_records_add(s, id)->created_at = i;
	}
	/* remove every third: the others must still be found (the table shifts entries back) */
	for (i = 0; i < 5000; i += 3) {
		snprintf(id, sizeof(id), "node-%d", i);
		ib_records_del(s, id);
	}
	ib_records_del(s, "not-there");
	assert_int_equal(ib_records_count(s), 5000 - 1667);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "node-%d", i);
		rec = ib_records_get(s, id);
		if (i % 3 == 0) {
			assert_null(rec);
		} else {
			assert_non_null(rec);
			assert_string_equal(rec->node_id, id);
		}
	}
	/* the walk is in the order added */
	n = 0;
	expect = 1;
	ib_records_foreach (s, rec) {
		assert_int_equal(rec->created_at, expect);
		expect += expect % 3 == 1 ? 1 : 2;
		n++;
	}
	assert_int_equal(n, 5000 - 1667);
	/* adding an id that is there replaces its record */
	ib_records_add(s, "node-1")->created_at = 99999;
	assert_int_equal(ib_records_count(s), 5000 - 1667);
	assert_int_equal(ib_records_get(s, "node-1")->created_at, 99999);
	ib_records_free(s);
}

static void test_ib_records_intern__one_copy_of_each_string(void **state)
{
	struct ib_records *s = ib_records_new();
	char buf[16];
	const char *a, *b;
	int i;

	a = ib_records_intern(s, "ready");
	snprintf(buf, sizeof(buf), "%s", "ready");
	b = ib_records_intern(s, buf);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(b, buf);
	assert_null(ib_records_intern(s, NULL));
	for (i = 0; i < 1000; i++) { /* through the table's growth */
		snprintf(buf, sizeof(buf), "n%d", i);
		ib_records_intern(s, buf);
	}
	assert_ptr_equal(ib_records_intern(s, "ready"), a);
	assert_string_equal(ib_records_intern(s, "n999"), "n999");
	ib_records_free(s);
}

static void test_ib_record_refs__a_node_s_records_are_one_run_in_order(void **state)
{
	static const char *const names[] = { "web", "db", "web", "lb", "db", "web" };
	struct ib_records *s = ib_records_new();
	struct ib_record_ref v[6];
	const struct ib_record *rec;
	size_t n = 0, first, run;
	char id[16];

	for (n = 0; n < 6; n++) {
		snprintf(id, sizeof(id), "i%zu", n);
		ib_records_add(s, id)->name = ib_records_intern(s, names[n]);
	}
	n = 0;
	ib_records_foreach (s, rec) {
		v[n] = (struct ib_record_ref){ rec->name, rec, n };
		n++;
	}
	ib_record_refs_sort(v, n);
	run = ib_record_refs_run(v, n, "web", &first);
	assert_int_equal(run, 3);
	assert_string_equal(v[first].rec->node_id, "i0");
	assert_string_equal(v[first + 1].rec->node_id, "i2");
	assert_string_equal(v[first + 2].rec->node_id, "i5");
	run = ib_record_refs_run(v, n, "db", &first);
	assert_int_equal(run, 2);
	assert_int_equal(first, 0);
	assert_string_equal(v[1].rec->node_id, "i4");
	assert_int_equal(ib_record_refs_run(v, n, "cache", &first), 0);
	assert_int_equal(ib_record_refs_run(v, 0, "web", &first), 0);
	ib_records_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ib_record__every_member_comes_back_as_stored),
		cmocka_unit_test(test_ib_record__members_it_does_not_know_survive_an_update),
		cmocka_unit_test(
			test_ib_records_put_json__names_a_bad_member_and_keeps_the_old_record),
		cmocka_unit_test(test_ib_record_dump__text_that_is_not_utf8_still_gives_json),
		cmocka_unit_test(test_ib_records__find_remove_and_walk_in_order),
		cmocka_unit_test(test_ib_records_intern__one_copy_of_each_string),
		cmocka_unit_test(test_ib_record_refs__a_node_s_records_are_one_run_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
