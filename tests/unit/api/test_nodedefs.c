/*
 * test_nodedefs.c - node definition files checked against every plugin's real schema table:
 * Occopus's tutorials import, broken definitions give positioned errors.
 */
#include <dirent.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "occo/api/schemas.h"
#include "occo/compiler/nodedef.h"
#include "occo/util/alloc.h"

static int check_text(const char *text, json_t **defs, char **diag_text)
{
	struct comp_nodedef_opts o = { .schemas = api_schemas() };
	struct occo_ydoc *doc;
	struct comp_diags d;
	struct occo_err err;
	int rc;

	*defs = NULL;
	rc = occo_yaml_load_string(text, strlen(text), "nodes.yaml", NULL, NULL, &doc, &err);
	if (rc < 0) {
		*diag_text = occo_strdup(err.msg);
		return rc;
	}
	comp_diags_init(&d);
	rc = comp_nodedefs_check(doc, &o, &d, defs, &err);
	*diag_text = comp_diags_text(&d);
	comp_diags_release(&d);
	occo_ydoc_free(doc);
	return rc;
}

static void test_comp_nodedefs_check__every_tutorial_imports(void **state)
{
	struct comp_nodedef_opts o = { .schemas = api_schemas() };
	char *dir;
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (!occo_test_have_shared())
		skip();
	dir = occo_test_shared_path("occopus-tutorials");
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		struct occo_ydoc *doc;
		struct occo_err err;
		struct comp_diags dg;
		json_t *defs;
		char *path;

		if (e->d_name[0] == '.')
			continue;
		path = occo_asprintf("%s/%s/nodes/node_definitions.yaml", dir, e->d_name);
		if (access(path, R_OK)) {
			free(path);
			continue;
		}
		assert_int_equal(occo_yaml_load_file(path, NULL, &doc, &err), 0);
		comp_diags_init(&dg);
		if (comp_nodedefs_check(doc, &o, &dg, &defs, &err) < 0) {
			comp_diags_print(&dg, stderr);
			fail_msg("%s does not import: %s", path, err.msg);
		}
		assert_true(json_object_size(defs) >= 1);
		json_decref(defs);
		comp_diags_release(&dg);
		occo_ydoc_free(doc);
		free(path);
		n++;
	}
	closedir(d);
	free(dir);
	assert_true(n >= 31);
}

static void test_comp_nodedefs_check__health_check_gets_type_basic(void **state)
{
	static const char text[] =
		"'node_def:web':\n"
		"  - resource: {type: docker, endpoint: 'unix:///d.sock', origin: local,\n"
		"               image: busybox, tag: latest}\n"
		"    contextualisation: {type: docker, env: ['A=1'], command: 'httpd -f'}\n"
		"    health_check: {ping: false, ports: [80], timeout: 30}\n";
	json_t *defs, *hc;
	char *diags;

	assert_int_equal(check_text(text, &defs, &diags), 0);
	hc = json_object_get(json_array_get(json_object_get(defs, "web"), 0), "health_check");
	assert_string_equal(json_string_value(json_object_get(hc, "type")), "basic");
	json_decref(defs);
	free(diags);
}

static const struct {
	const char *text;
	const char *expect;
} broken[] = {
	{ "'nodedef:x':\n  - resource: {type: ec2}\n",
	  "nodes.yaml:1:1: error: node definition 'nodedef:x' must begin with 'node_def:<type>'" },
	{ "'node_def:x': {resource: {}}\n", "must be a non-empty list of mappings" },
	{ "'node_def:x':\n  - contextualisation: {type: basic, attributes: {}}\n",
	  "missing 'resource' section in node definition 'x'[0]" },
	{ "'node_def:x':\n  - resource: {endpoint: e}\n",
	  "nodes.yaml:2:15: error: missing key 'type' in 'resource' section" },
	{ "'node_def:x':\n  - resource: {type: vmware}\n",
	  "nodes.yaml:2:22: error: unknown resource type 'vmware' in 'resource' section of node "
	  "definition 'x'[0] (known: ec2, nova" },
	{ "'node_def:x':\n  - resource:\n      type: ec2\n      endpoint: e\n      regionname: r\n"
	  "      image_id: i\n",
	  "missing key 'instance_type' in 'resource' section of node definition 'x'[0]" },
	{ "'node_def:x':\n  - resource:\n      type: ec2\n      endpoint: e\n      regionname: r\n"
	  "      image_id: i\n      instance_type: t\n      colour: red\n",
	  "nodes.yaml:8:7: error: unknown key 'colour' in 'resource' section of node definition "
	  "'x'[0] (required: type, endpoint, regionname, image_id, instance_type; "
	  "optional: key_name" },
	{ "'node_def:x':\n  - resource:\n      type: ec2\n      endpoint: e\n      regionname: r\n"
	  "      image_id: i\n      instance_type: t\n      security_group_ids: sg-1\n",
	  "nodes.yaml:8:27: error: 'security_group_ids' must be a list" },
	{ "'node_def:x':\n  - resource: {type: nova, endpoint: e, image_id: i, flavor_name: f,\n"
	  "                project_id: p, volume_size: -1}\n",
	  "negative numbers for volume_size are prohibited" },
	{ "'node_def:x':\n  - resource: {type: nova, endpoint: e, image_id: i, flavor_name: f,\n"
	  "                project_id: p, volume_size: big}\n",
	  "could not convert volume_size value \"big\" to integer" },
	{ "'node_def:x':\n  - resource: {type: azure_vm, endpoint: e, resource_group: g,\n"
	  "      location: l, vm_size: s, publisher: p, offer: o, sku: k, version: v,\n"
	  "      username: u}\n",
	  "either 'password' or 'ssh_key_data' must be defined" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    health_check: {ports: [80, http]}\n",
	  "nodes.yaml:3:32: error: item 2 of 'ports' must be an integer in 'health_check'" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    health_check: {ping: maybe}\n",
	  "'ping' must be true or false in 'health_check' section" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    health_check: {mysqldbs: [{name: wp, user: u}]}\n",
	  "missing key 'pass' (a string) in mysqldbs item 1" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    health_check: {ports: [0]}\n",
	  "invalid port 0 (must be 1-65535)" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    contextualisation: {type: cloudinit}\n",
	  "missing key 'context_template' in 'contextualisation' section" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    config_management: {type: chef, endpoint: e}\n",
	  "missing key 'run_list' in 'config_management' section" },
	{ "'node_def:x':\n  - resource: {type: docker, endpoint: e, origin: local, image: i, "
	  "tag: t}\n    extras: {}\n",
	  "nodes.yaml:3:5: error: invalid section 'extras' in node definition 'x'[0]" },
	{ "'node_def:x':\n  - 42\n", "node definition 'x'[0] must be a mapping of sections" },
};

static void test_comp_nodedefs_check__broken_definitions_are_positioned_errors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		json_t *defs;
		char *diags;
		int rc = check_text(broken[i].text, &defs, &diags);

		if (rc != -OCCO_EINVAL || !strstr(diags, broken[i].expect))
			fail_msg("case %zu: rc %d, wanted '%s' in:\n%s", i, rc, broken[i].expect,
				 diags);
		assert_null(defs);
		free(diags);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comp_nodedefs_check__every_tutorial_imports),
		cmocka_unit_test(test_comp_nodedefs_check__health_check_gets_type_basic),
		cmocka_unit_test(
			test_comp_nodedefs_check__broken_definitions_are_positioned_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
