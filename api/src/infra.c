/*
 * infra.c - compile an infrastructure file; the plan of a build.
 */
#include <string.h>

#include "occo/api/infra.h"
#include "occo/compiler/infra.h"
#include "occo/util/json.h"
#include "occo/util/yaml.h"

int api_infra_compile_file(const char *path, const char *infra_id, struct comp_diags *diags,
			   json_t **desc, struct occo_err *err)
{
	struct occo_ydoc *doc;
	int rc;

	rc = occo_yaml_load_file(path, NULL, &doc, err);
	if (rc < 0)
		return rc;
	rc = comp_infra_compile(doc, infra_id, diags, desc, err);
	occo_ydoc_free(doc);
	return rc;
}

json_t *api_infra_plan(const json_t *desc)
{
	json_t *plan = json_object(), *levels = json_array(), *level, *name;
	struct occo_json_index by_name;
	const json_t *n;
	json_int_t total = 0;
	size_t i, j;

	occo_json_index_init(&by_name, json_object_get(desc, "nodes"), "name");

	json_object_set(plan, "infra_id", json_object_get(desc, "infra_id"));
	json_object_set(plan, "name", json_object_get(desc, "name"));
	json_array_foreach (json_object_get(desc, "levels"), i, level) {
		json_t *out = json_array();

		json_array_foreach (level, j, name) {
			const json_t *sc;

			n = occo_json_index_get(&by_name, json_string_value(name));
			sc = json_object_get(n, "scaling");
			json_int_t min = json_integer_value(json_object_get(sc, "min"));

			json_array_append_new(
				out,
				json_pack("{s:O,s:O,s:I,s:I,s:I}", "name", name, "type",
					  json_object_get(n, "type"), "create", min, "min", min,
					  "max", json_integer_value(json_object_get(sc, "max"))));
			total += min;
		}
		json_array_append_new(levels, out);
	}
	json_object_set_new(plan, "levels", levels);
	json_object_set_new(plan, "instances", json_integer(total));
	occo_json_index_release(&by_name);
	return plan;
}

void api_infra_plan_print(const json_t *plan, FILE *f)
{
	const json_t *level, *n;
	size_t i, j;
	int wname = 4, wtype = 4;

	json_array_foreach (json_object_get(plan, "levels"), i, level) {
		json_array_foreach (level, j, n) {
			int a = (int)strlen(json_string_value(json_object_get(n, "name")));
			int b = (int)strlen(json_string_value(json_object_get(n, "type")));

			wname = a > wname ? a : wname;
			wtype = b > wtype ? b : wtype;
		}
	}
	fprintf(f, "Plan of infrastructure '%s' (%s): %lld instances in %zu levels\n",
		json_string_value(json_object_get(plan, "name")),
		json_string_value(json_object_get(plan, "infra_id")),
		(long long)json_integer_value(json_object_get(plan, "instances")),
		json_array_size(json_object_get(plan, "levels")));
	json_array_foreach (json_object_get(plan, "levels"), i, level) {
		fprintf(f, "level %zu:\n", i);
		json_array_foreach (level, j, n) {
			long long c = (long long)json_integer_value(json_object_get(n, "create"));
			long long mn = (long long)json_integer_value(json_object_get(n, "min"));
			long long mx = (long long)json_integer_value(json_object_get(n, "max"));

			fprintf(f, "  + %-*s  %-*s  %lld instance%s", wname,
				json_string_value(json_object_get(n, "name")), wtype,
				json_string_value(json_object_get(n, "type")), c,
				c == 1 ? "" : "s");
			if (mn != mx)
				fprintf(f, " (scaling %lld..%lld)", mn, mx);
			fputc('\n', f);
		}
	}
}
