/*
 * test_yaml_dump.c - JSON written as YAML reads back as the same JSON.
 */
#include <string.h>

#include "testutil.h"
#include "occo/util/yaml.h"

static const char *const values[] = {
	"{\"packages\": [\"nginx\", \"curl\"], \"runcmd\": [\"echo hi\", \"systemctl start x\"]}",
	"[\"true\", \"no\", \"on\", \"null\", \"~\", \"\", \"123\", \"1.5\", \"0x1f\", \".inf\"]",
	"[true, false, null, 0, -7, 2.5, 1e+20]",
	"{\"a: b\": \"- x\", \"#hash\": \"x # y\", \"q\": \"it's \\\"quoted\\\"\"}",
	"{\"multi\": \"line one\\nline two\\n\", \"tab\": \"a\\tb\", \"uni\": \"árvíztűrő\"}",
	"{\"empty_map\": {}, \"empty_list\": [], \"nested\": [[1, [2]], {\"k\": {\"k\": 1}}]}",
	"\"just a string\"",
	"{\"write_files\": [{\"path\": \"/etc/x\", \"content\": \"{{ not rendered }}\"}]}",
};

static void test_occo_yaml_dump__round_trips(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json_t *v = json_loads(values[i], JSON_DECODE_ANY, NULL);
		struct occo_ydoc *doc;
		struct occo_buf b;
		struct occo_err err;

		assert_non_null(v);
		occo_buf_init(&b, 1 << 20);
		assert_int_equal(occo_yaml_dump(v, &b, &err), 0);
		if (occo_yaml_load_string(occo_buf_str(&b), b.len, "dump", NULL, NULL, &doc, &err))
			fail_msg("case %zu: %s\n%s", i, err.msg, occo_buf_str(&b));
		if (!json_equal(v, occo_ydoc_root(doc)))
			fail_msg("case %zu differs:\n%s", i, occo_buf_str(&b));
		occo_ydoc_free(doc);
		occo_buf_release(&b);
		json_decref(v);
	}
}

static void test_occo_yaml_dump__over_the_limit_leaves_the_buffer(void **state)
{
	json_t *v = json_loads("{\"a\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 0, NULL);
	struct occo_buf b;
	struct occo_err err;

	occo_buf_init(&b, 16);
	occo_buf_appends(&b, "keep", NULL);
	assert_int_equal(occo_yaml_dump(v, &b, &err), -OCCO_ETOOBIG);
	assert_string_equal(occo_buf_str(&b), "keep");
	occo_buf_release(&b);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_occo_yaml_dump__round_trips),
		cmocka_unit_test(test_occo_yaml_dump__over_the_limit_leaves_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
