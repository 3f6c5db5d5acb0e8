/*
 * infra.c - the infrastructure description compiler (schema check, references, variables,
 * mappings, topological levels).
 *
 * The check goes on after a problem is found, so one run reports every problem of the file;
 * only the steps that need a sound input (levels need valid nodes and edges) are skipped.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "occo/compiler/infra.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/id.h"
#include "occo/util/json.h"

struct cnode {
	const char *name; /* borrowed from the document, NULL if missing */
	json_t *src; /* the node's mapping in the document */
	json_t *out; /* the compiled node */
	int level; /* -1 until placed */
};

struct cedge {
	size_t dependent, dependee;
	const json_t *item; /* the dependency in the document (for positions) */
	json_t *out;
};

struct compiler {
	const struct occo_ydoc *doc;
	struct comp_diags *diags;
	const json_t *root;
	struct cnode *nodes;
	size_t nnodes;
	struct cedge *edges;
	size_t nedges;
	json_t *by_name; /* node name -> index (an object used as a hash map) */
	struct occo_json_sharer *sh; /* equal small values of the output are one (util/json.h) */
	json_t *empty; /* the shared [] of the mappings between nodes that have none */
	int nodes_ok; /* every node has a valid, unique name */
};

/* A new value of the output: an equal one made before, if any (takes v's reference). */
static json_t *share(struct compiler *c, json_t *v)
{
	return occo_json_sharer_put(c->sh, v);
}

static const char *const top_keys[] = { "user_id",	"infra_name", "nodes",
					"dependencies", "variables",  NULL };
static const char *const node_keys[] = { "name", "type", "scaling", "filter", "variables", NULL };

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

static void error_at(struct compiler *c, const json_t *parent, const char *key, size_t index,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* An error at parent[key] / parent[index]; parent alone when key is NULL and index is -1. */
static void error_at(struct compiler *c, const json_t *parent, const char *key, size_t index,
		     const char *fmt, ...)
{
	const struct occo_yaml_mark *m;
	va_list ap;
	char *msg;

	if (key || (json_is_array(parent) && index != (size_t)-1))
		m = occo_ydoc_child_mark(c->doc, parent, key, index);
	else
		m = occo_ydoc_mark(c->doc, parent);
	va_start(ap, fmt);
	msg = occo_vasprintf(fmt, ap);
	va_end(ap);
	comp_diag_add(c->diags, COMP_ERROR, m, "%s", msg);
	free(msg);
}

const char *comp_hostname_problem(const char *name)
{
	const char *p;

	if (strchr(name, '.'))
		return "cannot contain '.' character";
	if (strlen(name) > 63)
		return "is too long (at most 63 characters)";
	if (!*name)
		return "must not be empty";
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return "may contain only [a-z,0-9,-] characters";
	return NULL;
}

/* A deep copy of a that b overrides key by key, recursively for mappings. */
static json_t *merge_vars(const json_t *a, const json_t *b)
{
	json_t *out, *v, *cur;
	const char *k;

	if (!json_is_object(a) && !json_is_object(b))
		return json_object();
	if (!json_is_object(a) || !json_is_object(b))
		return json_deep_copy(json_is_object(b) ? b : a);
	out = json_deep_copy(a);
	json_object_foreach ((json_t *)b, k, v) {
		cur = json_object_get(out, k);
		if (json_is_object(cur) && json_is_object(v))
			json_object_set_new(out, k, merge_vars(cur, v));
		else
			json_object_set_new(out, k, json_deep_copy(v));
	}
	return out;
}

static void check_top(struct compiler *c)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)c->root, k, v) {
		if (!in_list(top_keys, k))
			comp_diag_add(c->diags, COMP_ERROR, occo_ydoc_key_mark(c->doc, c->root, k),
				      "unknown key '%s' in infrastructure description (allowed: "
				      "user_id, infra_name, nodes, dependencies, variables)",
				      k);
	}
}

static json_t *scalar_string(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return json_string(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return json_string(buf);
	}
	return NULL;
}

/* scaling: {min, max}, integers, 0 <= min <= max; Occopus's defaults applied. */
static json_t *compile_scaling(struct compiler *c, const json_t *node, const char *name)
{
	const json_t *s = json_object_get(node, "scaling");
	const json_t *jmin, *jmax;
	json_int_t min = 1, max;
	const char *k;
	json_t *v;
	int ok = 1;

	if (!s || json_is_null(s)) {
		max = min;
		goto out;
	}
	if (!json_is_object(s)) {
		error_at(c, node, "scaling", 0,
			 "scaling of node '%s' must be a mapping with 'min' and 'max'", name);
		return NULL;
	}
	json_object_foreach ((json_t *)s, k, v) {
		if (strcmp(k, "min") && strcmp(k, "max")) {
			comp_diag_add(
				c->diags, COMP_ERROR, occo_ydoc_key_mark(c->doc, s, k),
				"unknown key '%s' in scaling of node '%s' (allowed: min, max)", k,
				name);
			ok = 0;
		}
	}
	jmin = json_object_get(s, "min");
	jmax = json_object_get(s, "max");
	if (jmin && !json_is_integer(jmin)) {
		error_at(c, s, "min", 0, "scaling min of node '%s' must be an integer", name);
		ok = 0;
	}
	if (jmax && !json_is_integer(jmax)) {
		error_at(c, s, "max", 0, "scaling max of node '%s' must be an integer", name);
		ok = 0;
	}
	if (!ok)
		return NULL;
	if (jmin && json_integer_value(jmin) < 0) {
		error_at(c, s, "min", 0, "scaling min of node '%s' must not be negative", name);
		return NULL;
	}
	if (jmax && json_integer_value(jmax) < 1) {
		error_at(c, s, "max", 0, "scaling max of node '%s' must be at least 1", name);
		return NULL;
	}
	if (jmin && jmax && json_integer_value(jmin) > json_integer_value(jmax)) {
		error_at(c, s, "min", 0,
			 "scaling min (%lld) of node '%s' is greater than max (%lld)",
			 (long long)json_integer_value(jmin), name,
			 (long long)json_integer_value(jmax));
		return NULL;
	}
	if (jmin && json_integer_value(jmin) == 0)
		comp_diag_add(
			c->diags, COMP_WARNING, occo_ydoc_child_mark(c->doc, s, "min", 0),
			"scaling min 0 of node '%s' is raised to 1, as in Occopus (a node has "
			"at least one instance)",
			name);
	if (jmin && json_integer_value(jmin) > 1)
		min = json_integer_value(jmin);
	max = jmax ? json_integer_value(jmax) : min;
	if (max < min)
		max = min;
out:
	return json_pack("{s:I,s:I}", "min", (json_int_t)min, "max", (json_int_t)max);
}

static void compile_nodes(struct compiler *c, const json_t *infra_vars)
{
	const json_t *list = json_object_get(c->root, "nodes");
	const char *k, *problem;
	json_t *node, *v;
	size_t i, j;

	c->nodes_ok = 1;
	if (!list) {
		comp_diag_add(c->diags, COMP_ERROR, occo_ydoc_mark(c->doc, c->root),
			      "nodes section must be defined in infrastructure description");
		c->nodes_ok = 0;
		return;
	}
	if (!json_is_array(list) || json_array_size(list) == 0) {
		error_at(c, c->root, "nodes", 0, "'nodes' must be a non-empty list of nodes");
		c->nodes_ok = 0;
		return;
	}
	c->nnodes = json_array_size(list);
	c->nodes = occo_calloc(c->nnodes, sizeof(*c->nodes));
	json_array_foreach (list, i, node) {
		struct cnode *n = &c->nodes[i];
		const json_t *name, *type, *filter, *vars;
		json_t *scaling;

		n->src = node;
		n->level = -1;
		if (!json_is_object(node)) {
			error_at(c, list, NULL, i, "node %zu must be a mapping", i + 1);
			c->nodes_ok = 0;
			continue;
		}
		name = json_object_get(node, "name");
		if (!name) {
			error_at(c, node, NULL, (size_t)-1, "missing key 'name' in node %zu",
				 i + 1);
			c->nodes_ok = 0;
		} else if (!json_is_string(name)) {
			error_at(c, node, "name", 0, "node name must be a string");
			c->nodes_ok = 0;
		} else {
			n->name = json_string_value(name);
			problem = comp_hostname_problem(n->name);
			if (problem) {
				error_at(c, node, "name", 0, "node \"%s\" %s", n->name, problem);
				c->nodes_ok = 0;
			}
			j = json_object_get(c->by_name, n->name)
				    ? (size_t)json_integer_value(
					      json_object_get(c->by_name, n->name))
				    : i;
			if (j != i) {
				const struct occo_yaml_mark *m =
					occo_ydoc_child_mark(c->doc, c->nodes[j].src, "name", 0);

				error_at(c, node, "name", 0,
					 "duplicate node name '%s' (first defined at line %u)",
					 n->name, m ? m->line : 0);
				c->nodes_ok = 0;
			} else {
				json_object_set_new(c->by_name, n->name,
						    json_integer((json_int_t)i));
			}
		}
		json_object_foreach (node, k, v) {
			if (!in_list(node_keys, k))
				comp_diag_add(c->diags, COMP_ERROR,
					      occo_ydoc_key_mark(c->doc, node, k),
					      "unknown key '%s' in node '%s' (allowed: name, type, "
					      "scaling, filter, variables)",
					      k, n->name ? n->name : "?");
		}
		type = json_object_get(node, "type");
		if (!type)
			error_at(c, node, NULL, (size_t)-1, "missing key 'type' in node '%s'",
				 n->name ? n->name : "?");
		else if (!json_is_string(type) || !json_string_length(type))
			error_at(c, node, "type", 0, "type of node '%s' must be a non-empty string",
				 n->name ? n->name : "?");
		filter = json_object_get(node, "filter");
		if (filter && !json_is_object(filter))
			error_at(c, node, "filter", 0,
				 "filter of node '%s' must be a mapping of resource keys",
				 n->name ? n->name : "?");
		vars = json_object_get(node, "variables");
		if (vars && !json_is_object(vars) && !json_is_null(vars))
			error_at(c, node, "variables", 0,
				 "variables of node '%s' must be a mapping",
				 n->name ? n->name : "?");
		scaling = compile_scaling(c, node, n->name ? n->name : "?");
		n->out = json_object();
		json_object_set_new(n->out, "name", share(c, json_string(n->name ? n->name : "")));
		json_object_set_new(
			n->out, "type",
			share(c, json_string(json_is_string(type) ? json_string_value(type) : "")));
		json_object_set_new(n->out, "scaling", share(c, scaling ? scaling : json_object()));
		if (json_is_object(filter))
			json_object_set_new(n->out, "filter", share(c, json_deep_copy(filter)));
		json_object_set_new(
			n->out, "variables",
			share(c, merge_vars(infra_vars, json_is_object(vars) ? vars : NULL)));
	}
}

/*
 * Find the node a dependency names: the node mapping itself (a YAML alias), a mapping equal to
 * one, or a node's name. Returns its index, or -1 after reporting.
 */
static long resolve_ref(struct compiler *c, const json_t *pair, size_t idx)
{
	const json_t *ref = json_array_get(pair, idx);
	const char *name = NULL;
	const json_t *found;

	/* an alias is the node's own mapping: names are unique, so its name finds it */
	if (json_is_string(ref))
		name = json_string_value(ref);
	else if (json_is_object(ref) && json_is_string(json_object_get(ref, "name")))
		name = json_string_value(json_object_get(ref, "name"));
	if (name) {
		found = json_object_get(c->by_name, name);
		if (found)
			return (long)json_integer_value(found);
		error_at(c, pair, NULL, idx, "dependency names unknown node '%s'", name);
		return -1;
	}
	error_at(c, pair, NULL, idx,
		 "dependency must name a node by alias (*node) or by its name, not %s",
		 json_is_null(ref) ? "an empty value" : "this value");
	return -1;
}

/* One attribute mapping: [src, dst] or {attributes: [src, dst], synch: bool, ...}. */
static json_t *compile_mapping(struct compiler *c, const json_t *list, size_t i)
{
	const json_t *m = json_array_get(list, i);
	const json_t *attrs, *synch;
	json_t *out;

	if (json_is_array(m)) {
		if (json_array_size(m) != 2) {
			error_at(c, list, NULL, i,
				 "a mapping must be a pair [source, destination]");
			return NULL;
		}
		return json_pack("{s:o,s:b}", "attributes", json_deep_copy(m), "synch", 0);
	}
	if (!json_is_object(m)) {
		error_at(c, list, NULL, i,
			 "a mapping must be a pair [source, destination] or a mapping with "
			 "'attributes'");
		return NULL;
	}
	attrs = json_object_get(m, "attributes");
	if (!json_is_array(attrs) || json_array_size(attrs) != 2) {
		error_at(c, list, NULL, i,
			 "'attributes' of a mapping must be a pair [source, "
			 "destination]");
		return NULL;
	}
	synch = json_object_get(m, "synch");
	if (synch && !json_is_boolean(synch)) {
		error_at(c, m, "synch", 0, "'synch' must be true or false");
		return NULL;
	}
	out = json_deep_copy(m);
	if (!synch)
		json_object_set_new(out, "synch", json_false());
	return out;
}

static void compile_edges(struct compiler *c)
{
	const json_t *deps = json_object_get(c->root, "dependencies");
	const json_t *item, *pair, *maps;
	size_t i, j;

	if (!deps || json_is_null(deps))
		return;
	if (json_is_object(deps) && json_object_size(deps) == 0)
		return; /* `dependencies: {}` means none, as in Occopus */
	if (!json_is_array(deps)) {
		error_at(c, c->root, "dependencies", 0, "'dependencies' must be a list");
		return;
	}
	c->edges = occo_calloc(json_array_size(deps) + 1, sizeof(*c->edges));
	json_array_foreach (deps, i, item) {
		const char *k;
		json_t *v, *mlist;
		long a, b;
		int ok = 1;

		maps = NULL;
		if (json_is_array(item)) {
			pair = item;
		} else if (json_is_object(item)) {
			pair = json_object_get(item, "connection");
			if (!pair) {
				error_at(
					c, deps, NULL, i,
					"dependency %zu has no 'connection: [dependent, dependee]'",
					i + 1);
				continue;
			}
			maps = json_object_get(item, "mappings");
			if (maps && !json_is_array(maps)) {
				error_at(c, item, "mappings", 0, "'mappings' must be a list");
				ok = 0;
			}
		} else {
			error_at(c, deps, NULL, i,
				 "dependency %zu must be a pair [dependent, dependee] or a mapping "
				 "with 'connection'",
				 i + 1);
			continue;
		}
		if (!json_is_array(pair) || json_array_size(pair) != 2) {
			error_at(c, json_is_object(item) ? item : deps,
				 json_is_object(item) ? "connection" : NULL, i,
				 "a dependency must be a pair [dependent, dependee]");
			continue;
		}
		if (!c->nodes_ok)
			continue;
		a = resolve_ref(c, pair, 0);
		b = resolve_ref(c, pair, 1);
		if (a < 0 || b < 0 || !ok)
			continue;
		mlist = json_array();
		if (maps) {
			for (j = 0; j < json_array_size(maps); j++) {
				json_t *m = compile_mapping(c, maps, j);

				if (m)
					json_array_append_new(mlist, m);
			}
		}
		c->edges[c->nedges].dependent = (size_t)a;
		c->edges[c->nedges].dependee = (size_t)b;
		c->edges[c->nedges].item = item;
		c->edges[c->nedges].out = json_object();
		if (json_is_object(item)) {
			json_object_foreach ((json_t *)item, k, v) {
				if (strcmp(k, "connection") && strcmp(k, "mappings"))
					json_object_set_new(c->edges[c->nedges].out, k,
							    json_deep_copy(v));
			}
		}
		json_object_set_new(c->edges[c->nedges].out, "dependent",
				    share(c, json_string(c->nodes[a].name)));
		json_object_set_new(c->edges[c->nedges].out, "dependee",
				    share(c, json_string(c->nodes[b].name)));
		json_object_set_new(c->edges[c->nedges].out, "mappings", share(c, mlist));
		c->nedges++;
	}
}

/*
 * Each node's mappings: inbound by dependee, outbound by dependent (OCCOPUS.md 3.2). Most
 * edges carry none: their lists are all one shared [], never extended (a list that gets
 * mappings is a new one).
 */
static void add_mappings(struct compiler *c, json_t *node, const char *dir, const char *other,
			 json_t *maps)
{
	json_t *side = json_object_get(json_object_get(node, "mappings"), dir);
	json_t *list = json_object_get(side, other);

	if (!c->empty)
		c->empty = share(c, json_array());
	if (!json_array_size(maps)) {
		if (!list)
			json_object_set(side, other, c->empty);
		return;
	}
	if (!list || list == c->empty) {
		list = json_array();
		json_object_set_new(side, other, list);
	}
	json_array_extend(list, maps);
}

static void attach_mappings(struct compiler *c)
{
	size_t i, e;

	for (i = 0; i < c->nnodes; i++)
		json_object_set_new(c->nodes[i].out, "mappings",
				    json_pack("{s:o,s:o}", "inbound", json_object(), "outbound",
					      json_object()));
	for (e = 0; e < c->nedges; e++) {
		const struct cedge *g = &c->edges[e];
		json_t *maps = json_object_get(g->out, "mappings");

		add_mappings(c, c->nodes[g->dependent].out, "inbound", c->nodes[g->dependee].name,
			     maps);
		add_mappings(c, c->nodes[g->dependee].out, "outbound", c->nodes[g->dependent].name,
			     maps);
	}
	for (i = 0; i < c->nnodes; i++) {
		json_t *m = json_object_get(c->nodes[i].out, "mappings");

		json_object_set_new(m, "inbound",
				    share(c, json_incref(json_object_get(m, "inbound"))));
		json_object_set_new(m, "outbound",
				    share(c, json_incref(json_object_get(m, "outbound"))));
	}
}

/* Adjacency of the dependency graph in compressed form: the edges of node i are
   edge[first[i] .. first[i + 1]). */
struct adjacency {
	size_t *first;
	size_t *edge; /* indexes into c->edges */
};

static void adjacency_build(const struct compiler *c, int by_dependee, struct adjacency *a)
{
	size_t i, *fill;

	a->first = occo_calloc(c->nnodes + 1, sizeof(*a->first));
	a->edge = occo_calloc(c->nedges + 1, sizeof(*a->edge));
	for (i = 0; i < c->nedges; i++)
		a->first[(by_dependee ? c->edges[i].dependee : c->edges[i].dependent) + 1]++;
	for (i = 0; i < c->nnodes; i++)
		a->first[i + 1] += a->first[i];
	fill = occo_calloc(c->nnodes + 1, sizeof(*fill));
	for (i = 0; i < c->nedges; i++) {
		size_t n = by_dependee ? c->edges[i].dependee : c->edges[i].dependent;

		a->edge[a->first[n] + fill[n]++] = i;
	}
	free(fill);
}

static void adjacency_release(struct adjacency *a)
{
	free(a->first);
	free(a->edge);
}

/*
 * Report a cycle among the nodes not placed in a level: walk "depends on" edges from one of
 * them until a node repeats (each has an unplaced dependee, or it would have been placed).
 */
static void report_cycle(struct compiler *c)
{
	size_t *path = occo_calloc(c->nnodes + 1, sizeof(*path));
	size_t *seen_at = occo_calloc(c->nnodes, sizeof(*seen_at));
	size_t len = 0, cur, e = 0, k, start = 0, i;
	const json_t *closing = NULL;
	struct adjacency deps;
	struct occo_buf b;

	adjacency_build(c, 0, &deps);
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].level < 0)
			break;
	cur = i;
	for (;;) {
		if (seen_at[cur]) {
			start = seen_at[cur] - 1;
			break;
		}
		seen_at[cur] = len + 1;
		path[len++] = cur;
		for (k = deps.first[cur]; k < deps.first[cur + 1]; k++) {
			e = deps.edge[k];
			if (c->nodes[c->edges[e].dependee].level < 0)
				break;
		}
		closing = c->edges[e].item;
		cur = c->edges[e].dependee;
	}
	occo_buf_init(&b, 64 * 1024);
	for (i = start; i < len; i++)
		occo_buf_appendf(&b, NULL, "%s -> ", c->nodes[path[i]].name);
	occo_buf_appends(&b, c->nodes[cur].name, NULL);
	comp_diag_add(c->diags, COMP_ERROR, closing ? occo_ydoc_mark(c->doc, closing) : NULL,
		      "dependency cycle: %s", occo_buf_str(&b));
	occo_buf_release(&b);
	adjacency_release(&deps);
	free(path);
	free(seen_at);
}

/*
 * Occopus's levels: repeatedly, the remaining nodes that depend on no remaining node, in the
 * order of `nodes`. That puts each node one level below its deepest dependee, which Kahn's
 * algorithm computes in O(nodes + edges).
 */
static json_t *compute_levels(struct compiler *c)
{
	size_t *pending = occo_calloc(c->nnodes + 1, sizeof(*pending));
	size_t *queue = occo_calloc(c->nnodes + 1, sizeof(*queue));
	int *deepest = occo_calloc(c->nnodes + 1, sizeof(*deepest)); /* level so far */
	size_t head = 0, tail = 0, i, k;
	struct adjacency dependents;
	json_t *levels = NULL;
	int maxlevel = 0;

	adjacency_build(c, 1, &dependents);
	for (i = 0; i < c->nedges; i++)
		pending[c->edges[i].dependent]++;
	for (i = 0; i < c->nnodes; i++) {
		c->nodes[i].level = -1; /* not placed */
		if (!pending[i]) {
			c->nodes[i].level = 0;
			queue[tail++] = i;
		}
	}
	while (head < tail) {
		size_t u = queue[head++];

		for (k = dependents.first[u]; k < dependents.first[u + 1]; k++) {
			size_t v = c->edges[dependents.edge[k]].dependent;

			if (c->nodes[u].level + 1 > deepest[v])
				deepest[v] = c->nodes[u].level + 1;
			if (--pending[v] == 0) {
				c->nodes[v].level = deepest[v];
				queue[tail++] = v;
			}
		}
	}
	if (tail < c->nnodes) {
		report_cycle(c);
		goto out;
	}
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].level > maxlevel)
			maxlevel = c->nodes[i].level;
	levels = json_array();
	for (k = 0; k <= (size_t)maxlevel; k++)
		json_array_append_new(levels, json_array());
	for (i = 0; i < c->nnodes; i++)
		json_array_append_new(json_array_get(levels, (size_t)c->nodes[i].level),
				      share(c, json_string(c->nodes[i].name)));
out:
	adjacency_release(&dependents);
	free(pending);
	free(queue);
	free(deepest);
	return levels;
}

static void compiler_release(struct compiler *c)
{
	size_t i;

	for (i = 0; i < c->nnodes; i++)
		json_decref(c->nodes[i].out);
	for (i = 0; i < c->nedges; i++)
		json_decref(c->edges[i].out);
	free(c->nodes);
	free(c->edges);
	json_decref(c->by_name);
	json_decref(c->empty);
	occo_json_sharer_free(c->sh, NULL);
}

int comp_infra_compile(const struct occo_ydoc *doc, const char *infra_id, struct comp_diags *diags,
		       json_t **out, struct occo_err *err)
{
	struct compiler c = {
		.doc = doc,
		.diags = diags,
		.root = occo_ydoc_root(doc),
		.by_name = json_object(),
		.sh = occo_json_sharer_new(),
	};
	const json_t *name, *user, *vars;
	const char *problem;
	json_t *desc = NULL, *levels = NULL, *arr;
	char id[OCCO_UUID_STRLEN + 1];
	size_t before = diags->nerrors, i;
	int rc;

	if (!json_is_object(c.root)) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_mark(doc, c.root),
			      "an infrastructure description must be a mapping (with infra_name "
			      "and nodes)");
		compiler_release(&c);
		return comp_diags_to_err(diags, err);
	}
	check_top(&c);
	user = json_object_get(c.root, "user_id");
	if (!user)
		comp_diag_add(diags, COMP_WARNING, occo_ydoc_mark(doc, c.root),
			      "user_id is not defined in infrastructure description");
	else if (!json_is_string(user) && !json_is_integer(user))
		error_at(&c, c.root, "user_id", 0, "user_id must be a string");
	name = json_object_get(c.root, "infra_name");
	if (!name) {
		comp_diag_add(diags, COMP_ERROR, occo_ydoc_mark(doc, c.root),
			      "infra_name must be defined in infrastructure description");
	} else if (!json_is_string(name)) {
		error_at(&c, c.root, "infra_name", 0, "infra_name must be a string");
	} else if ((problem = comp_hostname_problem(json_string_value(name))) != NULL) {
		error_at(&c, c.root, "infra_name", 0, "infra_name \"%s\" %s",
			 json_string_value(name), problem);
	}
	vars = json_object_get(c.root, "variables");
	if (vars && !json_is_object(vars) && !json_is_null(vars)) {
		error_at(&c, c.root, "variables", 0, "'variables' must be a mapping");
		vars = NULL;
	}
	if (json_is_null(vars))
		vars = NULL;
	compile_nodes(&c, vars);
	compile_edges(&c);
	if (diags->nerrors == before)
		levels = compute_levels(&c);
	if (diags->nerrors != before) {
		rc = comp_diags_to_err(diags, err);
		goto out;
	}
	if (infra_id) {
		snprintf(id, sizeof(id), "%s", infra_id);
	} else if ((rc = occo_uuid4(id, err)) < 0) {
		json_decref(levels);
		goto out;
	}
	attach_mappings(&c);
	desc = json_object();
	json_object_set_new(desc, "infra_id", json_string(id));
	json_object_set_new(desc, "name", json_string(json_string_value(name)));
	json_object_set_new(desc, "user_id", user ? scalar_string(user) : json_string(""));
	json_object_set_new(desc, "variables", vars ? json_deep_copy(vars) : json_object());
	arr = json_array();
	for (i = 0; i < c.nnodes; i++) {
		json_object_set(c.nodes[i].out, "infra_id", json_object_get(desc, "infra_id"));
		json_object_set(c.nodes[i].out, "infra_name", json_object_get(desc, "name"));
		json_object_set(c.nodes[i].out, "user_id", json_object_get(desc, "user_id"));
		json_array_append(arr, c.nodes[i].out);
	}
	json_object_set_new(desc, "nodes", arr);
	arr = json_array();
	for (i = 0; i < c.nedges; i++)
		json_array_append(arr, c.edges[i].out);
	json_object_set_new(desc, "edges", arr);
	json_object_set_new(desc, "levels", levels);
	/* read-only from here on: equal small values are one */
	json_decref(occo_json_sharer_put(c.sh, json_incref(desc)));
	*out = desc;
	rc = 0;
out:
	compiler_release(&c);
	return rc;
}
