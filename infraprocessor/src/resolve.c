/*
 * resolve.c - choosing a node definition and rendering its templates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/infraprocessor/resolve.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/id.h"
#include "occo/util/yaml.h"

#define MAX_RENDERED (16u << 20)

int iproc_candidates(const char *type, const json_t *defs, const json_t *filter, json_t **out,
		     struct occo_err *err)
{
	json_t *idx = json_array(), *def, *v;
	const char *k;
	size_t i;

	json_array_foreach (defs, i, def) {
		const json_t *res = json_object_get(def, "resource");
		int match = 1;

		json_object_foreach ((json_t *)filter, k, v) {
			if (!json_equal(json_object_get(res, k), v)) {
				match = 0;
				break;
			}
		}
		if (match)
			json_array_append_new(idx, json_integer((json_int_t)i));
	}
	if (json_array_size(idx) == 0) {
		char *f = filter ? json_dumps(filter, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		json_decref(idx);
		if (!json_array_size(defs))
			occo_err_set(err, OCCO_ENOENT,
				     "no node definition of type '%s' is imported (run "
				     "occopus-import)",
				     type);
		else
			occo_err_set(err, OCCO_ENOENT,
				     "none of the %zu node definitions of type '%s' matches the "
				     "filter %s",
				     json_array_size(defs), type, f ? f : "{}");
		free(f);
		return -OCCO_ENOENT;
	}
	*out = idx;
	return 0;
}

static int has_syntax(const char *s)
{
	return strstr(s, "{{") || strstr(s, "{%") || strstr(s, "{#");
}

static int render_text(const char *name, const char *text, const json_t *ctx,
		       const struct occo_tmpl_env *env, struct occo_buf *out, struct occo_err *err)
{
	return occo_tmpl_render_string(name, text, ctx, env, out, err);
}

/*
 * `v` with every string that holds template syntax rendered: a new tree where something was
 * rendered, else `v` itself (a new reference: a hundred thousand instances of a definition
 * without templates share one section). `path` names where it is for messages ("resource",
 * "resource.endpoint", "attributes.env[2]").
 */
static int render_tree(const json_t *v, const char *path, const json_t *ctx,
		       const struct occo_tmpl_env *env, json_t **out, struct occo_err *err)
{
	char sub[256];
	const char *k;
	json_t *x, *copy, *r;
	size_t i;
	int rc, changed = 0;

	if (json_is_string(v)) {
		struct occo_buf b;

		if (!has_syntax(json_string_value(v))) {
			*out = json_incref((json_t *)v);
			return 0;
		}
		occo_buf_init(&b, MAX_RENDERED);
		rc = render_text(path, json_string_value(v), ctx, env, &b, err);
		if (rc == 0)
			*out = json_stringn(occo_buf_str(&b), b.len);
		occo_buf_release(&b);
		return rc;
	}
	if (json_is_object(v)) {
		copy = json_object();
		json_object_foreach ((json_t *)v, k, x) {
			snprintf(sub, sizeof(sub), "%s.%s", path, k);
			if ((rc = render_tree(x, sub, ctx, env, &r, err)) < 0) {
				json_decref(copy);
				return rc;
			}
			changed |= r != x;
			json_object_set_new(copy, k, r);
		}
		*out = changed ? copy : json_incref((json_t *)v);
		if (!changed)
			json_decref(copy);
		return 0;
	}
	if (json_is_array(v)) {
		copy = json_array();
		json_array_foreach (v, i, x) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			if ((rc = render_tree(x, sub, ctx, env, &r, err)) < 0) {
				json_decref(copy);
				return rc;
			}
			changed |= r != x;
			json_array_append_new(copy, r);
		}
		*out = changed ? copy : json_incref((json_t *)v);
		if (!changed)
			json_decref(copy);
		return 0;
	}
	*out = json_incref((json_t *)v);
	return 0;
}

/* The cloud-init user data: a template (text, or a mapping sent as #cloud-config YAML). */
static int render_cloud_init(const json_t *tmpl, const json_t *ctx, const struct occo_tmpl_env *env,
			     char **out, struct occo_err *err)
{
	struct occo_buf text, b;
	struct occo_ydoc *doc;
	int rc;

	occo_buf_init(&text, MAX_RENDERED);
	occo_buf_init(&b, MAX_RENDERED);
	if (json_is_string(tmpl)) {
		rc = occo_buf_appends(&text, json_string_value(tmpl), err);
	} else {
		rc = occo_buf_appends(&text, "#cloud-config\n", err);
		if (rc == 0)
			rc = occo_yaml_dump(tmpl, &text, err);
	}
	if (rc == 0)
		rc = render_text("context_template", occo_buf_str(&text), ctx, env, &b, err);
	if (rc == 0 && !strncmp(occo_buf_str(&b), "#cloud-config", 13)) {
		rc = occo_yaml_load_string(
			occo_buf_str(&b), b.len, "rendered cloud-init", NULL,
			&(struct occo_yaml_opts){ .flags = OCCO_YAML_NO_IMPORTS }, &doc, err);
		if (rc < 0)
			occo_err_prefix(err, "the rendered #cloud-config is not valid YAML");
		else
			occo_ydoc_free(doc);
	}
	if (rc == 0)
		*out = occo_buf_detach(&b, NULL);
	occo_buf_release(&text);
	occo_buf_release(&b);
	return rc;
}

/* The rendering context of Occopus: node_id, the node's keys, the definition's sections. */
static json_t *make_context(const json_t *node, const json_t *def, const char *node_id)
{
	json_t *ctx = json_object(), *v;
	const char *k;

	json_object_set_new(ctx, "node_id", json_string(node_id));
	json_object_foreach ((json_t *)node, k, v)
		json_object_set(ctx, k, v);
	json_object_foreach ((json_t *)def, k, v)
		json_object_set(ctx, k, v);
	return ctx;
}

/* Docker: context_variables join the context (rendered, then read as YAML). */
static int docker_variables(const json_t *cv, json_t *ctx, const struct occo_tmpl_env *env,
			    struct occo_err *err)
{
	struct occo_ydoc *doc;
	json_t *vars = NULL, *v;
	const char *k;
	int rc;

	if (json_is_string(cv)) {
		struct occo_buf b;

		occo_buf_init(&b, MAX_RENDERED);
		rc = render_text("context_variables", json_string_value(cv), ctx, env, &b, err);
		if (rc == 0)
			rc = occo_yaml_load_string(
				occo_buf_str(&b), b.len, "context_variables", NULL,
				&(struct occo_yaml_opts){ .flags = OCCO_YAML_NO_IMPORTS }, &doc,
				err);
		occo_buf_release(&b);
		if (rc < 0)
			return rc;
		vars = json_incref(occo_ydoc_root(doc));
		occo_ydoc_free(doc);
	} else if ((rc = render_tree(cv, "context_variables", ctx, env, &vars, err)) < 0) {
		return rc;
	}
	json_object_set(ctx, "context_variables", vars);
	if (json_is_object(vars))
		json_object_foreach (vars, k, v)
			json_object_set(ctx, k, v);
	json_decref(vars);
	return 0;
}

int iproc_choose(const char *type, const json_t *defs, const json_t *filter, size_t *index,
		 struct occo_err *err)
{
	json_t *candidates;
	uint32_t r;
	int rc = iproc_candidates(type, defs, filter, &candidates, err);

	if (rc < 0)
		return rc;
	rc = occo_random_bytes(&r, sizeof(r), err);
	if (rc == 0)
		*index = (size_t)json_integer_value(
			json_array_get(candidates, r % json_array_size(candidates)));
	json_decref(candidates);
	return rc;
}

int iproc_resolve(const json_t *node, const json_t *defs, const char *node_id,
		  const struct occo_tmpl_env *env, struct iproc_resolved *out, struct occo_err *err)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	const char *type = json_string_value(json_object_get(node, "type"));
	struct iproc_resolved r = { 0 };
	const json_t *def, *ctxz, *cm, *sec;
	json_t *ctx, *attrs = NULL;
	int rc;

	rc = iproc_choose(type ? type : "?", defs, json_object_get(node, "filter"), &r.def_index,
			  err);
	if (rc < 0)
		return occo_err_prefix(err, "node '%s'", name ? name : "?");
	def = json_array_get(defs, r.def_index);
	ctx = make_context(node, def, node_id);
	ctxz = json_object_get(def, "contextualisation");
	cm = json_object_get(def, "config_management");
	sec = json_object_get(ctxz, "type");

	if (sec && !strcmp(json_string_value(sec), "docker") &&
	    json_object_get(ctxz, "context_variables"))
		rc = docker_variables(json_object_get(ctxz, "context_variables"), ctx, env, err);
	if (rc == 0)
		rc = render_tree(json_object_get(def, "resource"), "resource", ctx, env,
				 &r.resource, err);
	if (rc == 0 && cm)
		rc = render_tree(cm, "config_management", ctx, env, &r.config_management, err);
	if (rc == 0 && json_object_get(ctxz, "attributes"))
		rc = render_tree(json_object_get(ctxz, "attributes"), "attributes", ctx, env,
				 &attrs, err);
	if (rc == 0 && sec && !strcmp(json_string_value(sec), "docker")) {
		static const char *const keys[] = { "env", "command" };
		size_t i;

		if (!attrs)
			attrs = json_object();
		for (i = 0; rc == 0 && i < 2; i++) {
			json_t *v;

			if (!json_object_get(ctxz, keys[i]))
				continue;
			rc = render_tree(json_object_get(ctxz, keys[i]), keys[i], ctx, env, &v,
					 err);
			if (rc == 0)
				json_object_set_new(attrs, keys[i], v);
		}
	}
	if (rc == 0 && json_object_get(ctxz, "context_template"))
		rc = render_cloud_init(json_object_get(ctxz, "context_template"), ctx, env,
				       &r.user_data, err);
	json_decref(ctx);
	if (rc < 0) {
		json_decref(attrs);
		iproc_resolved_release(&r);
		return occo_err_prefix(err, "node '%s'", name ? name : "?");
	}
	r.attributes = attrs;
	if (ctxz) {
		r.contextualisation = json_deep_copy(ctxz);
		json_object_del(r.contextualisation, "context_template");
	}
	if (json_object_get(def, "health_check"))
		r.health_check = json_incref(json_object_get(def, "health_check")); /* read only */
	*out = r;
	return 0;
}

void iproc_resolved_release(struct iproc_resolved *r)
{
	json_decref(r->resource);
	json_decref(r->config_management);
	json_decref(r->contextualisation);
	json_decref(r->health_check);
	json_decref(r->attributes);
	free(r->user_data);
	memset(r, 0, sizeof(*r));
}
