/*
 * test_resolve.c - node resolution: choosing a definition, rendering what the cloud gets.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/compiler/infra.h"
#include "occo/infraprocessor/helpers.h"
#include "occo/infraprocessor/resolve.h"
#include "occo/util/alloc.h"
#include "occo/util/yaml.h"

static json_t *load(const char *rel)
{
	char *path = occo_test_shared_path(rel);
	struct occo_ydoc *doc;
	struct occo_err err;
	json_t *root;

	if (occo_yaml_load_file(path, NULL, &doc, &err) < 0)
		fail_msg("%s", err.msg);
	root = json_incref(occo_ydoc_root(doc));
	occo_ydoc_free(doc);
	free(path);
	return root;
}

static json_t *compile(const char *rel)
{
	char *path = occo_test_shared_path(rel);
	struct occo_ydoc *doc;
	struct comp_diags d;
	struct occo_err err;
	json_t *desc;

	assert_int_equal(occo_yaml_load_file(path, NULL, &doc, &err), 0);
	comp_diags_init(&d);
	if (comp_infra_compile(doc, "3f2a1b4c-0000-4000-8000-000000000000", &d, &desc, &err) < 0)
		fail_msg("%s", err.msg);
	comp_diags_release(&d);
	occo_ydoc_free(doc);
	free(path);
	return desc;
}

static const json_t *node_named(const json_t *desc, const char *name)
{
	const json_t *n;
	size_t i;

	json_array_foreach (json_object_get(desc, "nodes"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "name")), name))
			return n;
	return NULL;
}

static void test_iproc_resolve__docker_ping_tutorial(void **state)
{
	json_t *defs, *desc, *view;
	struct iproc_helpers h;
	struct iproc_resolved r;
	struct occo_err err;

	if (!occo_test_have_shared())
		skip();
	defs = load("occopus-tutorials/docker-ping/nodes/node_definitions.yaml");
	desc = compile("occopus-tutorials/docker-ping/infra-docker-ping.yaml");
	view = json_loads("{\"ping-receiver\": [{\"addresses\": [\"10.88.0.7\"]}]}", 0, NULL);
	iproc_helpers_init(&h, view);

	assert_int_equal(iproc_resolve(node_named(desc, "ping-sender"),
				       json_object_get(defs, "node_def:docker_ping_sender_node"),
				       "node-1", iproc_helpers_env(&h), &r, &err),
			 0);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(r.attributes, "env"), 0)),
		"target_ip=10.88.0.7");
	assert_string_equal(json_string_value(json_object_get(r.attributes, "command")),
			    "sh -c /root/start.sh");
	assert_string_equal(json_string_value(json_object_get(r.resource, "image")),
			    "busybox_ping");
	assert_null(r.user_data);
	assert_non_null(r.health_check);
	iproc_resolved_release(&r);

	/* the receiver's variables come from the infrastructure description */
	assert_int_equal(iproc_resolve(node_named(desc, "ping-receiver"),
				       json_object_get(defs, "node_def:docker_ping_receiver_node"),
				       "node-2", iproc_helpers_env(&h), &r, &err),
			 0);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(r.attributes, "env"), 0)),
		"message=Hello World! I am the receiver node.");
	iproc_resolved_release(&r);

	/* the sender before the receiver has an address: a clear error */
	json_object_set_new(view, "ping-receiver", json_array());
	assert_int_equal(iproc_resolve(node_named(desc, "ping-sender"),
				       json_object_get(defs, "node_def:docker_ping_sender_node"),
				       "node-3", iproc_helpers_env(&h), &r, &err),
			 -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "node 'ping-sender'"));
	assert_non_null(strstr(err.msg, "no node exists with the given name 'ping-receiver'"));
	json_decref(view);
	json_decref(defs);
	json_decref(desc);
}

static void test_iproc_resolve__ec2_ping_cloud_init(void **state)
{
	json_t *defs, *desc, *view;
	struct iproc_helpers h;
	struct iproc_resolved r;
	struct occo_err err;

	if (!occo_test_have_shared())
		skip();
	defs = load("occopus-tutorials/ec2-ping/nodes/node_definitions.yaml");
	desc = compile("occopus-tutorials/ec2-ping/infra-ec2-ping.yaml");
	view = json_loads("{\"ping-receiver\": [{\"addresses\": [\"198.51.100.4\"]}]}", 0, NULL);
	iproc_helpers_init(&h, view);
	assert_int_equal(iproc_resolve(node_named(desc, "ping-sender"),
				       json_object_get(defs, "node_def:ec2_ping_sender_node"),
				       "n-1", iproc_helpers_env(&h), &r, &err),
			 0);
	assert_non_null(r.user_data);
	assert_true(strncmp(r.user_data, "#cloud-config", 13) == 0);
	assert_non_null(strstr(r.user_data, "198.51.100.4"));
	assert_null(strstr(r.user_data, "{{"));
	assert_null(json_object_get(r.contextualisation, "context_template"));
	iproc_resolved_release(&r);
	json_decref(view);
	json_decref(defs);
	json_decref(desc);
}

static json_t *two_clouds(void)
{
	return json_loads("[{\"resource\": {\"type\": \"dummy\", \"endpoint\": \"eu\", \"name\": "
			  "\"{{ name }}-{{ cut(node_id, 0, 4) }}\"}},"
			  " {\"resource\": {\"type\": \"dummy\", \"endpoint\": \"us\"}}]",
			  0, NULL);
}

static void test_iproc_resolve__filter_and_random_choice(void **state)
{
	json_t *defs = two_clouds();
	json_t *node = json_loads("{\"name\": \"web\", \"type\": \"w\"}", 0, NULL);
	struct iproc_helpers h;
	struct iproc_resolved r;
	struct occo_err err;
	int seen[2] = { 0, 0 }, i;

	iproc_helpers_init(&h, NULL);
	for (i = 0; i < 200; i++) {
		assert_int_equal(
			iproc_resolve(node, defs, "abcdef", iproc_helpers_env(&h), &r, &err), 0);
		seen[r.def_index]++;
		if (r.def_index == 0)
			assert_string_equal(json_string_value(json_object_get(r.resource, "name")),
					    "web-abcd");
		iproc_resolved_release(&r);
	}
	assert_true(seen[0] > 0 && seen[1] > 0);

	json_object_set_new(node, "filter", json_pack("{s:s}", "endpoint", "us"));
	for (i = 0; i < 20; i++) {
		assert_int_equal(iproc_resolve(node, defs, "x", iproc_helpers_env(&h), &r, &err),
				 0);
		assert_int_equal(r.def_index, 1);
		iproc_resolved_release(&r);
	}
	json_object_set_new(node, "filter", json_pack("{s:s}", "endpoint", "asia"));
	assert_int_equal(iproc_resolve(node, defs, "x", iproc_helpers_env(&h), &r, &err),
			 -OCCO_ENOENT);
	assert_non_null(strstr(err.msg, "none of the 2 node definitions of type 'w' matches the "
					"filter {\"endpoint\":\"asia\"}"));
	json_decref(defs);
	defs = json_array();
	assert_int_equal(iproc_resolve(node, defs, "x", iproc_helpers_env(&h), &r, &err),
			 -OCCO_ENOENT);
	assert_non_null(strstr(err.msg, "no node definition of type 'w' is imported"));
	json_decref(defs);
	json_decref(node);
}

static void test_iproc_resolve__cloud_init_mapping_and_errors(void **state)
{
	json_t *node = json_loads("{\"name\": \"db\", \"type\": \"d\", \"variables\": "
				  "{\"pkg\": \"mariadb-server\"}}",
				  0, NULL);
	json_t *defs = json_loads(
		"[{\"resource\": {\"type\": \"dummy\"}, \"contextualisation\": {\"type\": "
		"\"cloudinit\", \"context_template\": {\"packages\": [\"{{ variables.pkg }}\"], "
		"\"runcmd\": [\"echo yes\", \"true\"]}}}]",
		0, NULL);
	struct iproc_resolved r;
	struct occo_ydoc *doc;
	struct occo_err err;

	assert_int_equal(iproc_resolve(node, defs, "n", NULL, &r, &err), 0);
	assert_true(strncmp(r.user_data, "#cloud-config\n", 14) == 0);
	assert_int_equal(occo_yaml_load_string(r.user_data, strlen(r.user_data), "u", NULL, NULL,
					       &doc, &err),
			 0);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(occo_ydoc_root(doc), "packages"), 0)),
			    "mariadb-server");
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(occo_ydoc_root(doc), "runcmd"), 1)),
			    "true");
	occo_ydoc_free(doc);
	iproc_resolved_release(&r);
	json_decref(defs);

	/* a rendered #cloud-config that is not YAML */
	defs = json_loads("[{\"resource\": {\"type\": \"dummy\"}, \"contextualisation\": "
			  "{\"type\": \"cloudinit\", \"context_template\": \"#cloud-config\\n"
			  "runcmd: [{{ variables.pkg }}\\n\"}}]",
			  0, NULL);
	assert_int_equal(iproc_resolve(node, defs, "n", NULL, &r, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "node 'db': the rendered #cloud-config is not valid YAML"));
	json_decref(defs);

	/* a template error names the node and where the string is */
	defs = json_loads("[{\"resource\": {\"type\": \"dummy\", \"endpoint\": \"{{ nope.x }}\"}}]",
			  0, NULL);
	assert_int_equal(iproc_resolve(node, defs, "n", NULL, &r, &err), -OCCO_EINVAL);
	assert_non_null(strstr(err.msg, "node 'db': resource.endpoint:1:4: 'nope' is undefined"));
	json_decref(defs);
	json_decref(node);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iproc_resolve__docker_ping_tutorial),
		cmocka_unit_test(test_iproc_resolve__ec2_ping_cloud_init),
		cmocka_unit_test(test_iproc_resolve__filter_and_random_choice),
		cmocka_unit_test(test_iproc_resolve__cloud_init_mapping_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
