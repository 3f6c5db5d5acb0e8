/*
 * scaling_plan.c - one node's scaling in one maintenance pass (scaling.h): Occopus's
 * calc_target and select_nodes_to_drop (enactor/__init__.py, scaling.py) as a pure function.
 *
 * Occopus reads and writes Redis as it goes; here the requests are copied into a table, the
 * steps mark what they consume, and the plan lists the writes to make. Where Occopus turns an
 * address into a node_id it deletes the request and adds a new one; here the same field is
 * rewritten with the node_id, which is the same request under another uuid.
 *
 * One difference on purpose: when fewer instances are named than must be dropped, Occopus
 * drops only the named ones in this pass and the youngest in the next; the plan drops the
 * youngest in the same pass, which ends in the same state one pass sooner.
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "occo/infobroker/scaling.h"
#include "occo/util/alloc.h"

struct req {
	const char *field;
	const char *value; /* "" (anonymous or create), a node_id, or an address */
	int converted; /* value is the node_id an address named */
	int deleted;
};

struct reqs {
	struct req *v;
	size_t n;
};

struct ctx {
	const char *name;
	const struct ib_scaling_inst *inst;
	size_t ninst;
	struct ib_scaling_plan *plan;
};

static void warn(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = occo_vasprintf(fmt, ap);
	va_end(ap);
	json_array_append_new(c->plan->warnings, json_string(s));
	free(s);
}

static int cmp_req(const void *a, const void *b)
{
	return strcmp(((const struct req *)a)->field, ((const struct req *)b)->field);
}

/* The fields "<prefix><name>:<uuid>" of this node, sorted. */
static void collect(const json_t *fields, const char *prefix, const char *name, struct reqs *out)
{
	size_t plen = strlen(prefix), nlen = strlen(name);
	const char *field;
	json_t *v;

	out->v = occo_calloc(json_object_size(fields) + 1, sizeof(*out->v));
	out->n = 0;
	json_object_foreach ((json_t *)fields, field, v) {
		const char *rest;

		if (strncmp(field, prefix, plen) != 0 || strncmp(field + plen, name, nlen) != 0 ||
		    field[plen + nlen] != ':')
			continue;
		rest = field + plen + nlen + 1; /* the uuid */
		if (!*rest || strchr(rest, ':'))
			continue;
		out->v[out->n].field = field;
		out->v[out->n].value = json_is_string(v) ? json_string_value(v) : "";
		out->n++;
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_req);
}

/* 1 if a destroy request names an instance (its value is not ""). */
static int is_named(const struct req *r)
{
	return *r->value != '\0';
}

static int is_address(const char *v)
{
	int dots = 0;

	for (; *v; v++)
		dots += *v == '.';
	return dots > 2;
}

static int has_address(const struct ib_scaling_inst *in, const char *addr)
{
	size_t i;
	json_t *a;

	if (json_is_string(in->addresses))
		return strcmp(json_string_value(in->addresses), addr) == 0;
	json_array_foreach (in->addresses, i, a)
		if (json_is_string(a) && strcmp(json_string_value(a), addr) == 0)
			return 1;
	return 0;
}

/* The instance a destroy request's value names (by address or node_id), or -1. */
static long find_inst(const struct ctx *c, const char *value)
{
	int addr = is_address(value);
	size_t i;

	for (i = 0; i < c->ninst; i++) {
		if (addr ? has_address(&c->inst[i], value)
			 : (c->inst[i].node_id && strcmp(c->inst[i].node_id, value) == 0))
			return (long)i;
	}
	return -1;
}

/* An integer in a JSON object, or def when absent or not an integer. */
static long long get_int(const json_t *obj, const char *key, long long def)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

/* The stored target: node-count-<name> (absent or not an integer: 0). */
static long long stored_target(struct ctx *c, const json_t *fields)
{
	char *field = occo_asprintf("%s%s", IB_SCALING_COUNT, c->name);
	const char *s = json_string_value(json_object_get(fields, field));
	long long v = 0;
	char *end;

	free(field);
	if (!s)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end || errno) {
		warn(c, "Scaling: invalid target count '%s' ignored for node '%s'", s, c->name);
		return 0;
	}
	return v;
}

/*
 * Subtract the live destroy requests of one kind (named or anonymous) from *t, as
 * Occopus's process_drop_node_requests_*: returns 1 when there were any (t must be stored).
 */
static int apply_destroys(struct ctx *c, struct reqs *d, int named, long long *t)
{
	struct ib_scaling_plan *p = c->plan;
	size_t i, nvalid = 0;
	long long nt, surplus;

	for (i = 0; i < d->n; i++)
		if (!d->v[i].deleted && is_named(&d->v[i]) == named)
			nvalid++;
	if (!nvalid)
		return 0;
	nt = *t - (long long)nvalid;
	if (nt < p->min) {
		warn(c, "Scaling: request(s) ignored, minimum count (%d) reached for node '%s'",
		     p->min, c->name);
		surplus = p->min - nt;
		for (i = 0; i < d->n && surplus > 0; i++) {
			if (!d->v[i].deleted && is_named(&d->v[i]) == named) {
				d->v[i].deleted = 1;
				surplus--;
			}
		}
		nt = p->min;
	}
	*t = nt;
	return 1;
}

static int cmp_young(const void *a, const void *b, void *arg)
{
	const struct ib_scaling_inst *inst = arg;
	const struct ib_scaling_inst *x = &inst[*(const size_t *)a], *y = &inst[*(const size_t *)b];

	if (x->created_at != y->created_at)
		return x->created_at > y->created_at ? -1 : 1;
	return strcmp(x->node_id, y->node_id);
}

/* Choose the instances to drop (Occopus's select_nodes_to_drop, then the youngest). */
static void select_drops(struct ctx *c, struct reqs *d, size_t count)
{
	char *chosen = occo_calloc(c->ninst + 1, 1);
	size_t *order = occo_calloc(c->ninst + 1, sizeof(*order));
	size_t i, ndrop = 0, nnamed = 0;
	long k;

	for (i = 0; i < d->n; i++) {
		if (d->v[i].deleted || !is_named(&d->v[i]))
			continue;
		nnamed++;
		d->v[i].deleted = 1;
		k = find_inst(c, d->v[i].value);
		if (k >= 0 && !chosen[k] && ndrop < count) {
			chosen[k] = 1;
			ndrop++;
			json_array_append_new(c->plan->drop, json_string(c->inst[k].node_id));
		}
	}
	if (!nnamed)
		for (i = 0; i < d->n; i++)
			d->v[i].deleted = 1;
	for (i = 0; i < c->ninst; i++)
		order[i] = i;
	qsort_r(order, c->ninst, sizeof(*order), cmp_young, (void *)c->inst);
	for (i = 0; i < c->ninst && ndrop < count; i++) {
		if (!chosen[order[i]]) {
			chosen[order[i]] = 1;
			ndrop++;
			json_array_append_new(c->plan->drop,
					      json_string(c->inst[order[i]].node_id));
		}
	}
	free(order);
	free(chosen);
}

static void emit_writes(struct ib_scaling_plan *p, const struct reqs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->v[i].deleted)
			json_array_append_new(p->del, json_string(r->v[i].field));
		else if (r->v[i].converted)
			json_object_set_new(p->put, r->v[i].field, json_string(r->v[i].value));
	}
}

int ib_scaling_plan(const char *name, const json_t *scaling, const json_t *fields,
		    const struct ib_scaling_inst *inst, size_t n, struct ib_scaling_plan *out,
		    struct occo_err *err)
{
	struct ib_scaling_plan p = { 0 };
	struct ctx c = { name, inst, n, &p };
	struct reqs cr, d;
	long long smin, smax, t, nt;
	int changed = 0;
	size_t i;

	if (!name || !*name)
		return occo_err_set(err, OCCO_EINVAL, "no node name");
	if (fields && !json_is_object(fields))
		return occo_err_set(err, OCCO_EINVAL, "the scaling fields are not an object");
	for (i = 0; i < n; i++)
		if (!inst[i].node_id)
			return occo_err_set(err, OCCO_EINVAL, "an instance of '%s' has no node_id",
					    name);
	p.drop = json_array();
	p.del = json_array();
	p.put = json_object();
	p.warnings = json_array();

	smin = get_int(scaling, "min", 1);
	smin = smin < 1 ? 1 : smin > INT_MAX ? INT_MAX : smin;
	smax = get_int(scaling, "max", smin);
	smax = smax < smin ? smin : smax > INT_MAX ? INT_MAX : smax;
	p.min = (int)smin;
	p.max = (int)smax;

	t = stored_target(&c, fields);
	t = t < smin ? smin : t > smax ? smax : t;
	collect(fields, IB_SCALING_CREATE, name, &cr);
	collect(fields, IB_SCALING_DESTROY, name, &d);

	/* 1. create requests */
	if (cr.n) {
		nt = t + (long long)cr.n;
		if (nt > smax) {
			warn(&c,
			     "Scaling: request(s) ignored, maximum count (%d) reached for node "
			     "'%s'",
			     p.max, name);
			nt = smax;
		}
		for (i = 0; i < cr.n; i++)
			cr.v[i].deleted = 1;
		p.store_target = 1;
		changed = nt != t;
		t = nt;
	}
	/* 2. destroy requests naming an instance: addresses become node_ids, unknown go */
	if (!changed) {
		for (i = 0; i < d.n; i++) {
			long k;

			if (!is_named(&d.v[i]))
				continue;
			k = find_inst(&c, d.v[i].value);
			if (k < 0) {
				d.v[i].deleted = 1;
			} else if (is_address(d.v[i].value)) {
				d.v[i].value = inst[k].node_id;
				d.v[i].converted = 1;
			}
		}
		nt = t;
		if (apply_destroys(&c, &d, 1, &nt)) {
			p.store_target = 1;
			changed = nt != t;
			t = nt;
		}
	}
	/* 3. anonymous destroy requests */
	if (!changed) {
		nt = t;
		if (apply_destroys(&c, &d, 0, &nt)) {
			p.store_target = 1;
			t = nt;
		}
	}
	p.target = (int)t;
	if ((long long)n > t)
		select_drops(&c, &d, n - (size_t)t);

	emit_writes(&p, &cr); /* "node-create:..." sorts before "node-destroy:..." */
	emit_writes(&p, &d);
	free(cr.v);
	free(d.v);
	*out = p;
	return 0;
}

void ib_scaling_plan_release(struct ib_scaling_plan *plan)
{
	if (!plan)
		return;
	json_decref(plan->drop);
	json_decref(plan->del);
	json_decref(plan->put);
	json_decref(plan->warnings);
	memset(plan, 0, sizeof(*plan));
}
