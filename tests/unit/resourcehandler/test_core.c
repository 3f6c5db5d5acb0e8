/*
 * test_core.c - the parts of the resource handler core that need no cloud: endpoint keys,
 * state names, the registry, and the checks rh_create makes before anything is queued.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "testutil.h"
#include "occo/resourcehandler/rh.h"

static void test_rh_endpoint_key__cases(void **state)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "{\"type\":\"ec2\",\"endpoint\":\"https://ec2\",\"regionname\":\"eu-west-1\"}",
		  "ec2 https://ec2 eu-west-1" },
		{ "{\"type\":\"nova\",\"endpoint\":\"http://k:5000\",\"region_name\":\"R1\"}",
		  "nova http://k:5000 R1" },
		{ "{\"type\":\"docker\",\"endpoint\":\"unix:///run/d.sock\"}",
		  "docker unix:///run/d.sock" },
		{ "{\"type\":\"dummy\"}", "dummy dummy" },
		{ "{\"type\":\"dummy\",\"endpoint\":\"e2\"}", "dummy e2" },
		{ "{\"type\":\"nope\"}", "nope" },
		{ "{\"endpoint\":\"x\"}", NULL },
		{ "[]", NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = json_loads(cases[i].json, 0, NULL);
		char *k = rh_endpoint_key(r);

		if (cases[i].want)
			assert_string_equal(k, cases[i].want);
		else
			assert_null(k);
		free(k);
		json_decref(r);
	}
}

static void test_rh_state_name__round_trip(void **state)
{
	enum rh_state s;

	(void)state;
	for (s = RH_UNKNOWN; s <= RH_TEMP_FAILED; s++)
		assert_int_equal(rh_state_parse(rh_state_name(s)), s);
	assert_string_equal(rh_state_name(RH_TEMP_FAILED), "temp_failed");
	assert_string_equal(rh_state_name((enum rh_state)99), "unknown");
	assert_int_equal(rh_state_parse("bogus"), RH_UNKNOWN);
	assert_int_equal(rh_state_parse(NULL), RH_UNKNOWN);
}

static void test_rh_plugin__registry(void **state)
{
	const struct comp_schema *const *s = rh_schemas();
	static const char *const order[] = { "ec2",	  "nova",	 "azure_vm",
					     "azure_aci", "cloudbroker", "cloudsigma",
					     "docker",	  "dummy",	 "local" };
	size_t i;

	(void)state;
	for (i = 0; i < 9; i++) {
		assert_non_null(s[i]);
		assert_string_equal(s[i]->type, order[i]);
		assert_ptr_equal(rh_plugin(order[i])->schema, s[i]);
	}
	assert_null(s[9]);
	assert_null(rh_plugin("nope"));
	assert_non_null(rh_plugin("dummy")->create);
	assert_non_null(rh_plugin("ec2")->create);
	assert_null(rh_plugin("azure_vm")->create);
}

static void never(const char *id, const struct occo_err *err, void *ud)
{
	(void)id;
	(void)err;
	(void)ud;
	fail_msg("a callback ran for a call that failed");
}

static void test_rh_create__refused_at_once(void **state)
{
	static const struct {
		const char *json;
		int code;
		const char *msg;
	} cases[] = {
		{ "{\"type\":\"azure_vm\",\"endpoint\":\"e\"}", OCCO_ENOTSUP,
		  "node 'n1': resource handler 'azure_vm' is not available in occopus-c" },
		{ "{\"type\":\"cloudsigma\"}", OCCO_ENOTSUP, "'cloudsigma' is not available" },
		{ "{\"type\":\"nope\"}", OCCO_EINVAL,
		  "unknown resource type 'nope' (known: ec2, nova, azure_vm, azure_aci" },
		{ "{\"endpoint\":\"x\"}", OCCO_EINVAL, "no 'type'" },
		{ "{\"type\":\"ec2\",\"endpoint\":\"e\"}", OCCO_EINVAL,
		  "missing required keys 'regionname', 'image_id', 'instance_type' in the 'ec2'" },
		{ "{\"type\":\"ec2\",\"endpoint\":\"e\",\"regionname\":\"r\",\"image_id\":\"i\","
		  "\"instance_type\":\"t\",\"tags\":{\"occopus:token\":\"x\"}}",
		  OCCO_EINVAL, "tag 'occopus:token' of 'tags' is reserved" },
		{ "{\"type\":\"ec2\",\"endpoint\":\"e\",\"regionname\":\"r\",\"image_id\":\"i\","
		  "\"instance_type\":\"\",\"tags\":{\"a\":[1]}}",
		  OCCO_EINVAL, "'instance_type' must not be empty" },
		{ "{\"type\":\"dummy\",\"fail_rate\":1.5}", OCCO_EINVAL,
		  "'fail_rate' must be between 0 and 1" },
		{ "{\"type\":\"dummy\",\"create_latency_ms\":-1}", OCCO_EINVAL,
		  "'create_latency_ms' must be between 0" },
		{ "{\"type\":\"dummy\",\"seed\":\"x\"}", OCCO_EINVAL, "'seed' must be" },
		{ "{\"type\":\"dummy\",\"bogus\":1}", OCCO_EINVAL, "unknown key 'bogus'" },
	};
	uv_loop_t loop;
	struct rh_env env = { 0 };
	struct rh *rh = NULL;
	struct occo_err err;
	struct rh_stats st;
	size_t i;

	(void)state;
	uv_loop_init(&loop);
	env.loop = &loop;
	assert_int_equal(rh_new(&env, NULL, &rh, &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = json_loads(cases[i].json, 0, NULL);
		struct rh_node n = {
			.infra_id = "i", .node_id = "x", .name = "n1", .token = "t", .resource = r
		};

		occo_err_clear(&err);
		assert_int_equal(rh_create(rh, &n, never, NULL, &err), -cases[i].code);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
		json_decref(r);
	}
	assert_int_equal(rh_stats_get(rh, "dummy dummy", &st, &err), -OCCO_ENOENT);
	rh_free(rh);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rh_endpoint_key__cases),
		cmocka_unit_test(test_rh_state_name__round_trip),
		cmocka_unit_test(test_rh_plugin__registry),
		cmocka_unit_test(test_rh_create__refused_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
