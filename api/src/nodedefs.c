/*
 * nodedefs.c - load and check node definition files.
 */
#include <stdlib.h>

#include "occo/api/nodedefs.h"
#include "occo/api/schemas.h"
#include "occo/compiler/nodedef.h"
#include "occo/util/buf.h"
#include "occo/util/yaml.h"

int api_nodedefs_check_file(const char *path, struct comp_diags *diags, json_t **defs,
			    struct occo_err *err)
{
	struct comp_nodedef_opts o = { .schemas = api_schemas() };
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
	json_object_foreach((json_t *)defs, type, v)
	{
		occo_buf_appendf(&b, NULL, "%s%s", first ? "" : ", ", type);
		first = 0;
	}
	return occo_buf_detach(&b, NULL);
}
