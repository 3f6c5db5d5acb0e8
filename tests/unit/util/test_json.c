/*
 * test_json.c - occo_json_share(): equal small values become one, and nothing else changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/util/json.h"

static char *dump(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* A description-like tree: two nodes repeating the infrastructure's values. */
static json_t *two_nodes(void)
{
	json_error_t e;
	json_t *v =
		json_loads("{\"infra_id\": \"7e7c\", \"nodes\": ["
			   "{\"name\": \"a\", \"infra_id\": \"7e7c\", \"scaling\": {\"min\": 1, "
			   "\"max\": 1}, \"variables\": {}, \"weight\": 0.5, \"tags\": []},"
			   "{\"name\": \"b\", \"infra_id\": \"7e7c\", \"scaling\": {\"min\": 1, "
			   "\"max\": 1}, \"variables\": {}, \"weight\": 0.5, \"tags\": []}]}",
			   0, &e);

	assert_non_null(v);
	return v;
}

static void test_occo_json_share__equal_values_become_one(void **state)
{
	json_t *v = two_nodes(), *a, *b;
	struct occo_json_share_stats st;
	char *before = dump(v), *after;

	occo_json_share(v, &st);
	a = json_array_get(json_object_get(v, "nodes"), 0);
	b = json_array_get(json_object_get(v, "nodes"), 1);
	assert_ptr_equal(json_object_get(a, "scaling"), json_object_get(b, "scaling"));
	assert_ptr_equal(json_object_get(a, "variables"), json_object_get(b, "variables"));
	assert_ptr_equal(json_object_get(a, "tags"), json_object_get(b, "tags"));
	assert_ptr_equal(json_object_get(a, "weight"), json_object_get(b, "weight"));
	assert_ptr_equal(json_object_get(a, "infra_id"), json_object_get(v, "infra_id"));
	assert_ptr_not_equal(json_object_get(a, "name"), json_object_get(b, "name"));
	assert_ptr_not_equal(a, b);
	/* the members of the shared scaling were shared first: 1 and 1 are one value */
	assert_ptr_equal(json_object_get(json_object_get(a, "scaling"), "min"),
			 json_object_get(json_object_get(a, "scaling"), "max"));
	assert_true(st.shared >= 6);
	assert_true(st.values > st.shared);
	after = dump(v);
	assert_string_equal(before, after); /* same document, same key order */
	free(before);
	free(after);
	json_decref(v);
}

static void test_occo_json_share__key_order_and_type_matter(void **state)
{
	json_error_t e;
	json_t *v =
		json_loads("[{\"min\": 1, \"max\": 2}, {\"max\": 2, \"min\": 1}, \"1\", 1, 1.0, "
			   "[1, 2], [2, 1]]",
			   0, &e);
	size_t i, j;

	assert_non_null(v);
	occo_json_share(v, NULL);
	for (i = 0; i < json_array_size(v); i++)
		for (j = i + 1; j < json_array_size(v); j++)
			assert_ptr_not_equal(json_array_get(v, i), json_array_get(v, j));
	json_decref(v);
}

static void test_occo_json_share__large_values_are_left_alone(void **state)
{
	char big[400], key[8];
	json_t *v = json_array(), *o1 = json_object(), *o2 = json_object();
	int i;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	json_array_append_new(v, json_string(big));
	json_array_append_new(v, json_string(big));
	for (i = 0; i < 9; i++) { /* more members than a shared container has */
		snprintf(key, sizeof(key), "k%d", i);
		json_object_set_new(o1, key, json_integer(i));
		json_object_set_new(o2, key, json_integer(i));
	}
	json_array_append_new(v, o1);
	json_array_append_new(v, o2);
	occo_json_share(v, NULL);
	assert_ptr_not_equal(json_array_get(v, 0), json_array_get(v, 1));
	assert_ptr_not_equal(json_array_get(v, 2), json_array_get(v, 3));
	/* their small members are still shared */
	assert_ptr_equal(json_object_get(o1, "k3"), json_object_get(o2, "k3"));
	assert_true(json_equal(o1, o2));
	assert_string_equal(json_string_value(json_array_get(v, 1)), big);
	json_decref(v);
}

static void test_occo_json_sharer_put__keeps_one_copy_across_calls(void **state)
{
	struct occo_json_sharer *sh = occo_json_sharer_new();
	json_t *a = occo_json_sharer_put(sh, json_string("infra"));
	json_t *b = occo_json_sharer_put(sh, json_string("infra"));
	json_t *c = occo_json_sharer_put(sh, json_pack("{s:i}", "min", 1));
	json_t *d = occo_json_sharer_put(sh, json_pack("{s:i}", "min", 1));
	struct occo_json_share_stats st;

	assert_ptr_equal(a, b);
	assert_ptr_equal(c, d);
	assert_null(occo_json_sharer_put(sh, NULL));
	occo_json_sharer_free(sh, &st);
	assert_int_equal(st.shared, 3); /* "infra", 1 and {"min": 1} */
	/* the caller's references outlive the sharer */
	assert_string_equal(json_string_value(a), "infra");
	assert_int_equal(json_integer_value(json_object_get(d, "min")), 1);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_json_share__equal_values_become_one),
		cmocka_unit_test(test_occo_json_share__key_order_and_type_matter),
		cmocka_unit_test(test_occo_json_share__large_values_are_left_alone),
		cmocka_unit_test(test_occo_json_sharer_put__keeps_one_copy_across_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
