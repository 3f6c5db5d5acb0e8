/*
 * test_json.c - the sharer (equal small values become one, and nothing else changes), the
 * sharing parser and the index by member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/util/json.h"

/* Share a whole tree (its root stays itself). */
static void share_all(json_t *v, struct occo_json_share_stats *st)
{
	struct occo_json_sharer *sh = occo_json_sharer_new();

	json_decref(occo_json_sharer_put(sh, json_incref(v)));
	occo_json_sharer_free(sh, st);
}

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

static void test_occo_json_sharer_put__equal_values_become_one(void **state)
{
	json_t *v = two_nodes(), *a, *b;
	struct occo_json_share_stats st;
	char *before = dump(v), *after;

	share_all(v, &st);
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

static void test_occo_json_sharer_put__key_order_and_type_matter(void **state)
{
	json_error_t e;
	json_t *v =
		json_loads("[{\"min\": 1, \"max\": 2}, {\"max\": 2, \"min\": 1}, \"1\", 1, 1.0, "
			   "[1, 2], [2, 1]]",
			   0, &e);
	size_t i, j;

	assert_non_null(v);
	share_all(v, NULL);
	for (i = 0; i < json_array_size(v); i++)
		for (j = i + 1; j < json_array_size(v); j++)
			assert_ptr_not_equal(json_array_get(v, i), json_array_get(v, j));
	json_decref(v);
}

static void test_occo_json_sharer_put__large_values_are_left_alone(void **state)
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
	share_all(v, NULL);
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

static void test_occo_json_load_shared__same_document_as_jansson(void **state)
{
	static const char *const docs[] = {
		"{\"infra_id\": \"x\", \"nodes\": [{\"name\": \"a\", \"scaling\": {\"min\": 1}, "
		"\"deep\": {\"l\": [1, [2, {\"z\": null}]]}}, {\"name\": \"b\", \"scaling\": "
		"{\"min\": 1}}], \"levels\": [[\"a\"], [\"b\"]], \"e\": {}, \"f\": [] }",
		" [ 1 , -2.5e3 , \"s\\u00e9\" , true , false , null , [ ] , { } ] ",
		"\"just a string\"",
		"42",
		"{\"dup\": 1, \"dup\": 2}",
	};
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct occo_json_sharer *sh = occo_json_sharer_new();
		json_error_t e;
		json_t *want = json_loads(docs[i], JSON_DECODE_ANY, &e), *got = NULL;

		assert_non_null(want);
		assert_int_equal(occo_json_load_shared(docs[i], strlen(docs[i]), sh, &got, &e), 0);
		assert_true(json_equal(want, got));
		json_decref(want);
		json_decref(got);
		occo_json_sharer_free(sh, NULL);
	}
}

static void test_occo_json_load_shared__shares_what_repeats(void **state)
{
	const char *doc = "{\"nodes\": [{\"id\": \"7e7c\", \"s\": {\"min\": 1}}, "
			  "{\"id\": \"7e7c\", \"s\": {\"min\": 1}}]}";
	struct occo_json_sharer *sh = occo_json_sharer_new();
	json_t *v = NULL, *a, *b;
	json_error_t e;

	assert_int_equal(occo_json_load_shared(doc, strlen(doc), sh, &v, &e), 0);
	occo_json_sharer_free(sh, NULL);
	a = json_array_get(json_object_get(v, "nodes"), 0);
	b = json_array_get(json_object_get(v, "nodes"), 1);
	assert_ptr_equal(a, b); /* equal objects of few members are one */
	assert_ptr_equal(json_object_get(a, "s"), json_object_get(b, "s"));
	json_decref(v);
}

static void test_occo_json_load_shared__errors_name_line_and_column(void **state)
{
	static const struct {
		const char *doc;
		int line, column;
	} bad[] = {
		{ "{\"a\": 1,\n \"b\" 2}", 2, 6 },
		{ "[1, 2", 1, 6 },
		{ "{\"a\": [1, 2}", 1, 12 },
		{ "", 1, 1 },
		{ "[1] x", 1, 5 },
		{ "{\"a\": \"unterminated}", 1, 21 },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct occo_json_sharer *sh = occo_json_sharer_new();
		json_error_t e;
		json_t *v = NULL;

		assert_int_equal(occo_json_load_shared(bad[i].doc, strlen(bad[i].doc), sh, &v, &e),
				 -1);
		assert_null(v);
		assert_true(e.text[0] != '\0');
		assert_int_equal(e.line, bad[i].line);
		assert_int_equal(e.column, bad[i].column);
		occo_json_sharer_free(sh, NULL);
	}
}

static void test_occo_json_index__finds_objects_by_member(void **state)
{
	json_error_t e;
	json_t *nodes = json_loads("[{\"name\": \"web\", \"n\": 1}, {\"name\": \"db\", \"n\": 2}, "
				   "{\"nameless\": 1}, 7, {\"name\": 3}, {\"name\": \"app\", "
				   "\"n\": 3}]",
				   0, &e);
	struct occo_json_index ix;

	assert_non_null(nodes);
	occo_json_index_init(&ix, nodes, "name");
	assert_int_equal(ix.n, 3); /* the others have no string name */
	assert_ptr_equal(occo_json_index_get(&ix, "web"), json_array_get(nodes, 0));
	assert_ptr_equal(occo_json_index_get(&ix, "db"), json_array_get(nodes, 1));
	assert_ptr_equal(occo_json_index_get(&ix, "app"), json_array_get(nodes, 5));
	assert_null(occo_json_index_get(&ix, "cache"));
	assert_null(occo_json_index_get(&ix, ""));
	assert_null(occo_json_index_get(&ix, NULL));
	occo_json_index_release(&ix);
	occo_json_index_init(&ix, NULL, "name"); /* not an array: an empty index */
	assert_int_equal(ix.n, 0);
	assert_null(occo_json_index_get(&ix, "web"));
	occo_json_index_release(&ix);
	json_decref(nodes);
}

/* The escaped text, parsed by jansson: the string it holds (malloc'd), or NULL. */
static char *escaped_then_parsed(const char *s, size_t n)
{
	char *out = malloc(OCCO_JSON_ESCAPED_MAX(n)), *r = NULL;
	size_t len = occo_json_escape(out, s, n);
	json_t *v;

	assert_int_equal(len, strlen(out));
	assert_true(len < OCCO_JSON_ESCAPED_MAX(n));
	v = json_loads(out, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (v && json_is_string(v))
		r = strndup(json_string_value(v), json_string_length(v));
	json_decref(v);
	free(out);
	return r;
}

static void test_occo_json_escape__any_bytes_give_json_that_means_them(void **state)
{
	const char *ok[] = { "",
			     "plain",
			     "quo\"te and back\\slash",
			     "tab\tnew\nline\r\b\f",
			     "\x01\x1f\x7f",
			     "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80" };
	unsigned char rnd[64];
	size_t i, k;
	char *r;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		r = escaped_then_parsed(ok[i], strlen(ok[i]));
		assert_non_null(r);
		assert_string_equal(r, ok[i]);
		free(r);
	}
	/* not UTF-8: a character cut short, a lone continuation byte, an overlong form, a
	 * surrogate, and past U+10FFFF each become U+FFFD */
	r = escaped_then_parsed("a\xc3", 2);
	assert_string_equal(r, "a\xef\xbf\xbd");
	free(r);
	{
		static const char bad[] = "\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80";

		r = escaped_then_parsed(bad, sizeof(bad) - 1);
	}
	assert_non_null(r);
	assert_null(strstr(r, "\x80|")); /* nothing of the bad bytes is left as it was */
	assert_true(!strncmp(r, "\xef\xbf\xbd|", 4));
	free(r);
	/* random bytes, the worst for the size: always valid JSON */
	srand(7);
	for (k = 0; k < 2000; k++) {
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)(rand() & 0xff);
		r = escaped_then_parsed((const char *)rnd, sizeof(rnd));
		assert_non_null(r);
		free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_json_sharer_put__equal_values_become_one),
		cmocka_unit_test(test_occo_json_sharer_put__key_order_and_type_matter),
		cmocka_unit_test(test_occo_json_sharer_put__large_values_are_left_alone),
		cmocka_unit_test(test_occo_json_sharer_put__keeps_one_copy_across_calls),
		cmocka_unit_test(test_occo_json_load_shared__same_document_as_jansson),
		cmocka_unit_test(test_occo_json_load_shared__shares_what_repeats),
		cmocka_unit_test(test_occo_json_load_shared__errors_name_line_and_column),
		cmocka_unit_test(test_occo_json_index__finds_objects_by_member),
		cmocka_unit_test(test_occo_json_escape__any_bytes_give_json_that_means_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
