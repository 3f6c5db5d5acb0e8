/*
 * test_helpers.c - getip, getprivip, getipall and cut, as templates call them.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/infraprocessor/helpers.h"

static const char view_text[] =
	"{\"db\": [{\"addresses\": [\"203.0.113.5\", \"db.example\"], \"private\": \"10.0.0.5\"}],"
	" \"web\": [{\"addresses\": [\"10.0.0.6\"]}, {\"addresses\": [\"10.0.0.7\"]},"
	"           {\"addresses\": []}],"
	" \"empty\": []}";

static const struct {
	const char *tmpl;
	const char *want; /* NULL: an error containing `err` */
	const char *err;
} cases[] = {
	{ "{{ getip('db') }}", "203.0.113.5", NULL },
	{ "{{ getprivip('db') }}", "10.0.0.5", NULL },
	{ "{{ getprivip('web') }}", "10.0.0.6", NULL },
	{ "{{ getipall('web') }}", "['10.0.0.6', '10.0.0.7']", NULL },
	{ "{{ getipall('web') | join(' ') }}", "10.0.0.6 10.0.0.7", NULL },
	{ "{{ getip('nope') }}", NULL, "no node exists with the given name 'nope'" },
	{ "{{ getip('empty') }}", NULL, "no node exists with the given name 'empty'" },
	{ "{{ getip() }}", NULL, "takes one node name" },
	{ "{{ cut('0123456789', 0, 4) }}", "0123", NULL },
	{ "{{ cut('0123456789', -3, 10) }}", "789", NULL },
	{ "{{ cut('0123456789', 2, -2) }}", "234567", NULL },
	{ "{{ cut('0123456789', 8, 2) }}", "", NULL },
	{ "{{ cut('0123456789', 5, 100) }}", "56789", NULL },
	{ "{{ cut('0123456789', -100, 2) }}", "01", NULL },
	{ "{{ cut('0123456789', 10, 12) }}", "", NULL },
	{ "{{ cut('áéíóú', 1, 3) }}", "éí", NULL },
	{ "{{ cut(infra_id, 0, 8) }}", "3f2a1b4c", NULL },
	{ "{{ cut(5, 0, 1) }}", NULL, "takes a string and two integers" },
};

static void test_iproc_helpers__as_templates_call_them(void **state)
{
	json_t *view = json_loads(view_text, 0, NULL);
	json_t *ctx = json_pack("{s:s}", "infra_id", "3f2a1b4c-0000-4000-8000-000000000000");
	struct iproc_helpers h;
	size_t i;

	assert_non_null(view);
	iproc_helpers_init(&h, view);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct occo_buf out;
		struct occo_err err;
		int rc;

		occo_buf_init(&out, 4096);
		rc = occo_tmpl_render_string("t", cases[i].tmpl, ctx, iproc_helpers_env(&h), &out,
					     &err);
		if (cases[i].want) {
			if (rc != 0 || strcmp(occo_buf_str(&out), cases[i].want))
				fail_msg("%s: rc %d, got '%s' (%s), want '%s'", cases[i].tmpl, rc,
					 occo_buf_str(&out), rc ? err.msg : "", cases[i].want);
		} else if (rc == 0 || !strstr(err.msg, cases[i].err)) {
			fail_msg("%s: want error '%s', got rc %d '%s'", cases[i].tmpl, cases[i].err,
				 rc, rc ? err.msg : occo_buf_str(&out));
		}
		occo_buf_release(&out);
	}
	json_decref(ctx);
	json_decref(view);
}

static int render(struct iproc_helpers *h, const char *tmpl, struct occo_buf *out,
		  struct occo_err *err)
{
	occo_buf_init(out, 4096);
	return occo_tmpl_render_string("t", tmpl, NULL, iproc_helpers_env(h), out, err);
}

static void test_iproc_helpers_allow_cmd__runs_without_a_shell(void **state)
{
	struct iproc_helpers h;
	struct occo_buf out;
	struct occo_err err;

	iproc_helpers_init(&h, NULL);
	/* refused until allowed */
	assert_int_equal(render(&h, "{{ cmd('echo hi') }}", &out, &err), -OCCO_ENOTSUP);
	occo_buf_release(&out);
	iproc_helpers_allow_cmd(&h, 2000, 16);
	assert_int_equal(render(&h, "[{{ cmd('echo  a   b') | trim }}]", &out, &err), 0);
	assert_string_equal(occo_buf_str(&out), "[a b]");
	occo_buf_release(&out);
	/* no shell: the ';' is an argument of echo */
	assert_int_equal(render(&h, "{{ cmd('echo x;id') | trim }}", &out, &err), 0);
	assert_string_equal(occo_buf_str(&out), "x;id");
	occo_buf_release(&out);
	assert_int_equal(render(&h, "{{ cmd('false') }}", &out, &err), -OCCO_EREMOTE);
	assert_non_null(strstr(err.msg, "'false' failed (exit status 1)"));
	occo_buf_release(&out);
	assert_int_equal(render(&h, "{{ cmd('no-such-program-here') }}", &out, &err), -OCCO_ENOENT);
	assert_non_null(strstr(err.msg, "cannot run 'no-such-program-here'"));
	occo_buf_release(&out);
	assert_int_equal(render(&h, "{{ cmd('seq 1 1000') }}", &out, &err), -OCCO_ETOOBIG);
	occo_buf_release(&out);
	iproc_helpers_allow_cmd(&h, 100, 16);
	assert_int_equal(render(&h, "{{ cmd('sleep 5') }}", &out, &err), -OCCO_ETIMEDOUT);
	assert_non_null(strstr(err.msg, "took longer than 100 ms"));
	occo_buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iproc_helpers__as_templates_call_them),
		cmocka_unit_test(test_iproc_helpers_allow_cmd__runs_without_a_shell),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
