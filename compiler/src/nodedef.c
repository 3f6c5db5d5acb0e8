/*
 * nodedef.c - node definition files: structure, sections, per-type key schemas.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/compiler/nodedef.h"
#include "occo/util/alloc.h"

static const char *const sections[] = { "resource", "contextualisation", "config_management",
					"health_check", NULL };

/* The type a section has when it does not say: health checks are all of one kind. */
static const char *default_type(const char *section)
{
	return !strcmp(section, "health_check") ? "basic" : NULL;
}

static void check_section(const struct occo_ydoc *doc, const struct comp_nodedef_opts *o,
			  struct comp_diags *diags, const json_t *entry, const char *section,
			  const char *where)
{
	const json_t *sec = json_object_get(entry, section);
	const json_t *type;
	const struct comp_schema *s;
	struct comp_check chk = { .doc = doc, .diags = diags, .where = where };
	const char *tname;

	if (!json_is_object(sec)) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_child_mark(doc, entry, section, 0),
			      "'%s' must be a mapping %s", section, where);
		return;
	}
	type = json_object_get(sec, "type");
	if (!type && !default_type(section)) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_child_mark(doc, entry, section, 0),
			      "missing key 'type' %s", where);
		return;
	}
	if (type && !json_is_string(type)) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_child_mark(doc, sec, "type", 0),
			      "'type' must be a string %s", where);
		return;
	}
	tname = type ? json_string_value(type) : default_type(section);
	s = comp_schema_find(o->schemas, section, tname);
	if (!s) {
		char *known = comp_schema_types(o->schemas, section);

		comp_diag_add(diags, COMP_ERROR,
			      type ? occo_ydoc_child_mark(doc, sec, "type", 0)
				   : occo_ydoc_child_mark(doc, entry, section, 0),
			      "unknown %s type '%s' %s (known: %s)", section, tname, where,
			      known[0] ? known : "none");
		free(known);
		return;
	}
	comp_schema_check(s, sec, &chk);
}

/* Run the string hook on every string below node. */
static void walk_strings(const struct occo_ydoc *doc, const struct comp_nodedef_opts *o,
			 struct comp_diags *diags, const json_t *node)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_object(node)) {
		json_object_foreach ((json_t *)node, k, v) {
			if (json_is_string(v))
				o->check_string(doc, node, k, 0, json_string_value(v), diags,
						o->check_string_ud);
			else
				walk_strings(doc, o, diags, v);
		}
	} else if (json_is_array(node)) {
		json_array_foreach (node, i, v) {
			if (json_is_string(v))
				o->check_string(doc, node, NULL, i, json_string_value(v), diags,
						o->check_string_ud);
			else
				walk_strings(doc, o, diags, v);
		}
	}
}

static void check_entry(const struct occo_ydoc *doc, const struct comp_nodedef_opts *o,
			struct comp_diags *diags, const json_t *list, size_t i, const char *name)
{
	const json_t *entry = json_array_get(list, i);
	const char *k, *const *s;
	json_t *v;
	char *where;

	if (!json_is_object(entry)) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_child_mark(doc, list, NULL, i),
			      "node definition '%s'[%zu] must be a mapping of sections (resource, "
			      "contextualisation, config_management, health_check)",
			      name, i);
		return;
	}
	json_object_foreach ((json_t *)entry, k, v) {
		int known = 0;

		if (!strcmp(k, "create_timeout")) {
			/* seconds until an instance must be ready (Occopus's name; it has no way to
			 * set it): a positive integer */
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 7 * 24 * 3600)
				comp_diag_add(
					diags, COMP_ERROR, occo_ydoc_child_mark(doc, entry, k, 0),
					"'create_timeout' of node definition '%s'[%zu] must be "
					"a number of seconds between 1 and 604800",
					name, i);
			continue;
		}
		for (s = sections; *s; s++)
			known |= !strcmp(*s, k);
		if (!known)
			comp_diag_add(diags, COMP_ERROR, occo_ydoc_key_mark(doc, entry, k),
				      "invalid section '%s' in node definition '%s'[%zu] (allowed: "
				      "resource, contextualisation, config_management, "
				      "health_check, create_timeout)",
				      k, name, i);
	}
	if (!json_object_get(entry, "resource"))
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_mark(doc, entry),
			      "missing 'resource' section in node definition '%s'[%zu]", name, i);
	for (s = sections; *s; s++) {
		if (!json_object_get(entry, *s))
			continue;
		where = occo_asprintf("in '%s' section of node definition '%s'[%zu]", *s, name, i);
		check_section(doc, o, diags, entry, *s, where);
		free(where);
	}
	if (o->check_string)
		walk_strings(doc, o, diags, entry);
}

int comp_nodedefs_check(const struct occo_ydoc *doc, const struct comp_nodedef_opts *opts,
			struct comp_diags *diags, json_t **out, struct occo_err *err)
{
	const json_t *root = occo_ydoc_root(doc);
	size_t before = diags->nerrors, prefix = strlen(COMP_NODEDEF_PREFIX), i;
	const char *key;
	json_t *list, *result;

	if (!json_is_object(root) || json_object_size(root) == 0) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_mark(doc, root),
			      "a node definition file must be a mapping of 'node_def:<type>' keys");
		return comp_diags_to_err(diags, err);
	}
	json_object_foreach ((json_t *)root, key, list) {
		const char *name = key + prefix;

		if (strncmp(key, COMP_NODEDEF_PREFIX, prefix) || !*name) {
			comp_diag_add(diags, COMP_ERROR, occo_ydoc_key_mark(doc, root, key),
				      "node definition '%s' must begin with 'node_def:<type>'",
				      key);
			continue;
		}
		if (!json_is_array(list) || json_array_size(list) == 0) {
			comp_diag_add(diags, COMP_ERROR, occo_ydoc_child_mark(doc, root, key, 0),
				      "node definition '%s' must be a non-empty list of mappings",
				      name);
			continue;
		}
		for (i = 0; i < json_array_size(list); i++)
			check_entry(doc, opts, diags, list, i, name);
	}
	if (diags->nerrors != before)
		return comp_diags_to_err(diags, err);

	result = json_object();
	json_object_foreach ((json_t *)root, key, list) {
		json_t *copy = json_deep_copy(list), *entry, *hc;

		json_array_foreach (copy, i, entry) {
			hc = json_object_get(entry, "health_check");
			if (json_is_object(hc) && !json_object_get(hc, "type"))
				json_object_set_new(hc, "type", json_string("basic"));
		}
		json_object_set_new(result, key + prefix, copy);
	}
	*out = result;
	return 0;
}
