/*
 * test_buf.c - the bounded buffer.
 */
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "testutil.h"
#include "occo/util/buf.h"

static void test_occo_buf_append__grows_and_terminates(void **state)
{
	struct occo_buf b;
	int i;

	occo_buf_init(&b, 1 << 20);
	assert_string_equal(occo_buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		assert_int_equal(occo_buf_appends(&b, "abc", NULL), 0);
	assert_int_equal(b.len, 3000);
	assert_int_equal(b.data[3000], '\0');
	assert_memory_equal(b.data + 2997, "abc", 3);
	occo_buf_release(&b);
}

static void test_occo_buf_append__over_max_fails_and_keeps_contents(void **state)
{
	struct occo_buf b;
	struct occo_err err;

	occo_buf_init(&b, 10);
	assert_int_equal(occo_buf_appends(&b, "0123456789", &err), 0);
	assert_int_equal(occo_buf_appends(&b, "x", &err), -OCCO_ETOOBIG);
	assert_int_equal(err.code, OCCO_ETOOBIG);
	assert_non_null(strstr(err.msg, "10 bytes"));
	assert_string_equal(occo_buf_str(&b), "0123456789");
	assert_true(b.cap <= 11);
	occo_buf_release(&b);
}

static void test_occo_buf_append__no_limit_at_all(void **state)
{
	struct occo_buf b;
	int i;

	occo_buf_init(&b, SIZE_MAX); /* max + 1 overflows: the buffer must still grow */
	for (i = 0; i < 100; i++)
		assert_int_equal(occo_buf_append(&b, "0123456789", 10, NULL), 0);
	assert_int_equal(b.len, 1000);
	assert_int_equal(strlen(occo_buf_str(&b)), 1000);
	assert_memory_equal(occo_buf_str(&b) + 990, "0123456789", 10);
	assert_int_equal(occo_buf_append(&b, "x", SIZE_MAX - 1000, NULL), -OCCO_ETOOBIG);
	assert_int_equal(b.len, 1000);
	occo_buf_release(&b);
}

static void test_occo_buf_appendf__formats_within_limit(void **state)
{
	struct occo_buf b;

	occo_buf_init(&b, 16);
	assert_int_equal(occo_buf_appendf(&b, NULL, "%s=%d", "port", 5000), 0);
	assert_string_equal(occo_buf_str(&b), "port=5000");
	assert_int_equal(occo_buf_appendf(&b, NULL, "%0100d", 1), -OCCO_ETOOBIG);
	assert_string_equal(occo_buf_str(&b), "port=5000");
	occo_buf_release(&b);
}

static void test_occo_buf_detach__hands_over_and_empties(void **state)
{
	struct occo_buf b;
	size_t len;
	char *s;

	occo_buf_init(&b, 100);
	s = occo_buf_detach(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	occo_buf_append(&b, "a\0b", 3, NULL);
	s = occo_buf_detach(&b, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(s);
}

static void test_occo_buf_reset__keeps_memory(void **state)
{
	struct occo_buf b;
	char *before;

	occo_buf_init(&b, 100);
	occo_buf_appends(&b, "hello", NULL);
	before = b.data;
	occo_buf_reset(&b);
	assert_string_equal(occo_buf_str(&b), "");
	assert_ptr_equal(b.data, before);
	occo_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_buf_append__grows_and_terminates),
		cmocka_unit_test(test_occo_buf_append__over_max_fails_and_keeps_contents),
		cmocka_unit_test(test_occo_buf_append__no_limit_at_all),
		cmocka_unit_test(test_occo_buf_appendf__formats_within_limit),
		cmocka_unit_test(test_occo_buf_detach__hands_over_and_empties),
		cmocka_unit_test(test_occo_buf_reset__keeps_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
