/*
 * nodedefs.c - load and check node definition files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/api/nodedefs.h"
#include "occo/api/schemas.h"
#include "occo/compiler/nodedef.h"
#include "occo/util/buf.h"
#include "occo/util/template.h"
#include "occo/util/yaml.h"

/*
 * Every string with template syntax is compiled, so a broken template is found at import, not
 * when a node is created. The error names the string's position, then the position inside the
 * template (line and column of the value, after the key's name).
 */
static void check_template(const struct occo_ydoc *doc, const json_t *parent, const char *key,
			   size_t index, const char *value, struct comp_diags *diags, void *ud)
{
	struct occo_tmpl *t;
	struct occo_err err;
	char name[64];

	if (!strstr(value, "{{") && !strstr(value, "{%") && !strstr(value, "{#"))
		return;
	if (key)
		snprintf(name, sizeof(name), "%s", key);
	else
		snprintf(name, sizeof(name), "item %zu", index + 1);
	if (occo_tmpl_compile(name, value, strlen(value), NULL, &t, &err) < 0) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_child_mark(doc, parent, key, index),
			      "bad template: %s", err.msg);
		return;
	}
	occo_tmpl_free(t);
}

int api_nodedefs_check_file(const char *path, struct comp_diags *diags, json_t **defs,
			    struct occo_err *err)
{
	struct comp_nodedef_opts o = { .schemas = api_schemas(), .check_string = check_template };
	struct occo_ydoc *doc;
	int rc;

	rc = occo_yaml_load_file(path, NULL, &doc, err);
	if (rc < 0)
		return rc;
	rc = comp_nodedefs_check(doc, &o, diags, defs, err);
	occo_ydoc_free(doc);
	return rc;
}

char *api_nodedefs_names(const json_t *defs)
{
	struct occo_buf b;
	const char *type;
	json_t *v;
	int first = 1;

	occo_buf_init(&b, (size_t)1 << 20);
	json_object_foreach ((json_t *)defs, type, v) {
		occo_buf_appendf(&b, NULL, "%s%s", first ? "" : ", ", type);
		first = 0;
	}
	return occo_buf_detach(&b, NULL);
}
