/*
 * test_cm.c - the config manager core: the dummy plugin answers ready on the loop, unknown and
 * unavailable plugins are refused at once, pending answers are cancelled by cm_free.
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "occo/configmanager/cm.h"

struct got {
	int calls;
	char state[16];
	int code;
};

static void answered(const char *state, const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->calls++;
	snprintf(g->state, sizeof(g->state), "%s", state ? state : "");
	g->code = err ? err->code : 0;
}

static void test_cm_node_state__dummy_is_ready_on_the_loop(void **state)
{
	uv_loop_t loop;
	struct cm *cm;
	struct got g[3] = { 0 };
	json_t *dummy = json_pack("{s:s}", "type", "dummy");
	struct cm_node without = { "i", "n1", "web", NULL }, with = { "i", "n2", "web", dummy };
	int i;

	uv_loop_init(&loop);
	assert_int_equal(cm_new(&loop, &cm, NULL), 0);
	assert_int_equal(cm_node_state(cm, &without, answered, &g[0], NULL), 0);
	assert_int_equal(cm_node_state(cm, &with, answered, &g[1], NULL), 0);
	assert_int_equal(cm_node_state(cm, &with, answered, &g[2], NULL), 0);
	assert_int_equal(g[0].calls + g[1].calls + g[2].calls, 0); /* never inside the call */
	uv_run(&loop, UV_RUN_NOWAIT);
	for (i = 0; i < 3; i++) {
		assert_int_equal(g[i].calls, 1);
		assert_string_equal(g[i].state, "ready");
	}
	cm_free(cm);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	json_decref(dummy);
}

static void test_cm_node_state__unknown_and_unavailable(void **state)
{
	uv_loop_t loop;
	struct cm *cm;
	struct got g = { 0 };
	struct occo_err err;
	json_t *chef = json_pack("{s:s}", "type", "chef");
	json_t *nope = json_pack("{s:s}", "type", "ansible");
	struct cm_node n1 = { "i", "n", "db", chef }, n2 = { "i", "n", "db", nope };

	uv_loop_init(&loop);
	assert_int_equal(cm_new(&loop, &cm, NULL), 0);
	assert_int_equal(cm_node_state(cm, &n1, answered, &g, &err), -OCCO_ENOTSUP);
	assert_non_null(strstr(err.msg, "node 'db': config manager 'chef' is not available"));
	assert_int_equal(cm_node_state(cm, &n2, answered, &g, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "unknown config manager 'ansible'"));
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(g.calls, 0);
	cm_free(cm);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	json_decref(chef);
	json_decref(nope);
}

static void test_cm_free__cancels_pending_answers(void **state)
{
	uv_loop_t loop;
	struct cm *cm;
	struct got g = { 0 };
	struct cm_node n = { "i", "n", "web", NULL };

	uv_loop_init(&loop);
	assert_int_equal(cm_new(&loop, &cm, NULL), 0);
	assert_int_equal(cm_node_state(cm, &n, answered, &g, NULL), 0);
	cm_free(cm);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.code, OCCO_ECANCELED);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(g.calls, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cm_node_state__dummy_is_ready_on_the_loop),
		cmocka_unit_test(test_cm_node_state__unknown_and_unavailable),
		cmocka_unit_test(test_cm_free__cancels_pending_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
