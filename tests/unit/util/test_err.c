/*
 * test_err.c - the error record.
 */
#include <errno.h>
#include <string.h>

#include "testutil.h"
#include "occo/util/err.h"

static void test_occo_err_set__returns_negative_code_and_formats(void **state)
{
	struct occo_err err;

	occo_err_clear(&err);
	assert_int_equal(occo_err_set(&err, OCCO_EINVAL, "bad key '%s'", "nmae"), -OCCO_EINVAL);
	assert_int_equal(err.code, OCCO_EINVAL);
	assert_string_equal(err.msg, "bad key 'nmae'");
}

static void test_occo_err_set__null_err_still_returns_code(void **state)
{
	assert_int_equal(occo_err_set(NULL, OCCO_ETIMEDOUT, "x"), -OCCO_ETIMEDOUT);
}

static void test_occo_err_sys__appends_strerror(void **state)
{
	struct occo_err err;

	occo_err_sys(&err, OCCO_EIO, ENOENT, "cannot open '%s'", "/x");
	assert_int_equal(err.sys, ENOENT);
	assert_string_equal(err.msg, "cannot open '/x': No such file or directory");
}

static void test_occo_err_prefix__adds_context_in_front(void **state)
{
	struct occo_err err;

	occo_err_set(&err, OCCO_ECONN, "connection refused");
	assert_int_equal(occo_err_prefix(&err, "node '%s'", "web"), -OCCO_ECONN);
	assert_int_equal(occo_err_prefix(&err, "build"), -OCCO_ECONN);
	assert_string_equal(err.msg, "build: node 'web': connection refused");
}

static void test_occo_err_set__long_message_is_cut_not_overflowed(void **state)
{
	struct occo_err err;
	char big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	occo_err_set(&err, OCCO_EINVAL, "%s", big);
	assert_int_equal(strlen(err.msg), OCCO_ERR_MSG_MAX - 1);
	occo_err_prefix(&err, "%s", big);
	assert_int_equal(strlen(err.msg), OCCO_ERR_MSG_MAX - 1);
}

static void test_occo_code_str__every_code_has_a_name(void **state)
{
	int c;

	for (c = 0; c < OCCO_CODE_MAX; c++)
		assert_string_not_equal(occo_code_str(c), "unknown error");
	assert_string_equal(occo_code_str(-OCCO_ENOENT), "not found");
	assert_string_equal(occo_code_str(9999), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_err_set__returns_negative_code_and_formats),
		cmocka_unit_test(test_occo_err_set__null_err_still_returns_code),
		cmocka_unit_test(test_occo_err_sys__appends_strerror),
		cmocka_unit_test(test_occo_err_prefix__adds_context_in_front),
		cmocka_unit_test(test_occo_err_set__long_message_is_cut_not_overflowed),
		cmocka_unit_test(test_occo_code_str__every_code_has_a_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
