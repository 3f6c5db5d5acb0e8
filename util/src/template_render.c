/*
 * template_render.c - rendering a compiled template: statements, expressions and scopes.
 *
 * Scopes follow what Jinja2's compiler does: the template has one frame; each iteration of a
 * for loop, the body of a {% set %} block and a {% with %} block get a fresh frame of their
 * own, so a {% set %} inside them does not leak out (and does not survive into the next
 * iteration), while an {% if %} shares the frame it is in. A name is looked up in the frames
 * from the innermost out, then among the caller's helpers, then in the context, then among the
 * built-in globals (range, dict); what is not found is undefined.
 *
 * Attribute access tries the attribute (a method of the value's Python type: d.items,
 * s.upper) before the item (d['items']); subscription tries the item first, as Jinja2's
 * environment.getattr/getitem do. A missing attribute or item is undefined, not an error.
 *
 * Work is counted as it is done (occo__tv_charge): loop iterations, and the size of what
 * operators, filters and calls go through and make. Past lim.max_steps the rendering stops
 * with an error, so that no template keeps the process busy for long.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "template_int.h"

struct var {
	const char *name;
	struct tv val;
};

struct frame {
	struct var *vars;
	size_t n, cap;
};

struct rctx {
	const struct occo_tmpl *t;
	const json_t *ctx;
	const struct occo_tmpl_env *env;
	struct occo_err *err;
	struct frame *frames;
	size_t nframes, capframes;
	unsigned long steps; /* work done, against lim.max_steps */
	struct occo_buf *out;
};

#define TVC(r, n)                                                              \
	{                                                                      \
		(r)->t, (r)->err, (n)->pos, (r)->t->lim.max_value, &(r)->steps \
	}

static int eval(struct rctx *r, const struct tnode *n, struct tv *out);
static int run(struct rctx *r, struct tnode *const *body, size_t n);
static int loop_method(struct tvctx *c, struct tloop *l, const char *name, struct targs *a,
		       struct tv *out);

/* ---- frames ------------------------------------------------------------------------------- */

static void frame_push(struct rctx *r)
{
	if (r->nframes == r->capframes) {
		r->capframes = r->capframes ? r->capframes * 2 : 8;
		r->frames = occo_reallocarray(r->frames, r->capframes, sizeof(*r->frames));
	}
	memset(&r->frames[r->nframes++], 0, sizeof(struct frame));
}

static void frame_pop(struct rctx *r)
{
	struct frame *f = &r->frames[--r->nframes];

	for (size_t i = 0; i < f->n; i++)
		occo__tv_release(&f->vars[i].val);
	free(f->vars);
}

/* Bind name in the innermost frame; takes the value. */
static void frame_set(struct rctx *r, const char *name, struct tv val)
{
	struct frame *f = &r->frames[r->nframes - 1];

	for (size_t i = 0; i < f->n; i++) {
		if (!strcmp(f->vars[i].name, name)) {
			occo__tv_release(&f->vars[i].val);
			f->vars[i].val = val;
			return;
		}
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->vars = occo_reallocarray(f->vars, f->cap, sizeof(*f->vars));
	}
	f->vars[f->n].name = name;
	f->vars[f->n].val = val;
	f->n++;
}

static struct tv lookup(struct rctx *r, const char *name)
{
	json_t *j;
	int id;

	for (size_t i = r->nframes; i-- > 0;) {
		const struct frame *f = &r->frames[i];

		for (size_t k = 0; k < f->n; k++)
			if (!strcmp(f->vars[k].name, name))
				return occo__tv_dup(&f->vars[k].val);
	}
	if (r->env) {
		for (size_t i = 0; i < r->env->nfuncs; i++) {
			const struct occo_tmpl_func *fn = &r->env->funcs[i];

			if (strcmp(fn->name, name) != 0)
				continue;
			if (!strcmp(name, "cmd") && !(r->env->flags & OCCO_TMPL_ALLOW_CMD))
				break;
			return (struct tv){ TV_FUNC, 0, -1, NULL, fn->name, fn };
		}
	}
	if (r->ctx && (j = json_object_get(r->ctx, name)) != NULL)
		return occo__tv_ref(j);
	if (!strcmp(name, "cmd"))
		return (struct tv){ TV_UNDEF, 0, UNDEF_CMD, NULL, "cmd", NULL };
	id = occo__builtin_find(name);
	if (id >= 0)
		return (struct tv){ TV_FUNC, 0, id, NULL, occo__builtin_name(id), NULL };
	return (struct tv){ TV_UNDEF, 0, UNDEF_NAME, NULL, name, NULL };
}

/* ---- assignment --------------------------------------------------------------------------- */

static int assign(struct rctx *r, const struct tnode *target, struct tv *val)
{
	struct tvctx c = TVC(r, target);
	json_t *arr;
	int tuples, rc;
	size_t n;

	if (target->kind == N_NAME) {
		frame_set(r, target->s, *val);
		*val = TV_UNDEFINED;
		return 0;
	}
	/* unpack into a tuple of targets */
	if (val->kind == TV_UNDEF)
		return occo__tv_undef_fail(&c, val);
	rc = occo__tv_iter(&c, val, &arr, &tuples);
	if (rc < 0)
		return rc;
	n = json_array_size(arr);
	if (n != target->nargs) {
		json_decref(arr);
		if (n > target->nargs)
			return occo__tv_fail(&c, OCCO_EINVAL,
					     "too many values to unpack (expected %zu)",
					     target->nargs);
		return occo__tv_fail(&c, OCCO_EINVAL,
				     "not enough values to unpack (expected %zu, got %zu)",
				     target->nargs, n);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct tv e = occo__tv_elem(arr, i, tuples);

		rc = assign(r, target->args[i], &e);
		occo__tv_release(&e);
	}
	json_decref(arr);
	return rc;
}

/* ---- arguments ---------------------------------------------------------------------------- */

static void args_push(struct targs *a, const char *kwname, struct tv v)
{
	if (kwname) {
		a->kw = occo_reallocarray(a->kw, a->nkw + 1, sizeof(*a->kw));
		a->kwname = occo_reallocarray(a->kwname, a->nkw + 1, sizeof(*a->kwname));
		a->kwname[a->nkw] = occo_strdup(kwname);
		a->kw[a->nkw++] = v;
	} else {
		a->pos = occo_reallocarray(a->pos, a->npos + 1, sizeof(*a->pos));
		a->pos[a->npos++] = v;
	}
}

static void args_release(struct targs *a)
{
	for (size_t i = 0; i < a->npos; i++)
		occo__tv_release(&a->pos[i]);
	for (size_t i = 0; i < a->nkw; i++) {
		occo__tv_release(&a->kw[i]);
		free((char *)a->kwname[i]);
	}
	free(a->pos);
	free(a->kw);
	free(a->kwname);
	memset(a, 0, sizeof(*a));
}

static int eval_args(struct rctx *r, const struct tnode *n, struct targs *a)
{
	struct tvctx c = TVC(r, n);
	struct tv v;
	int rc;

	memset(a, 0, sizeof(*a));
	for (size_t i = 0; i < n->nargs; i++) {
		rc = eval(r, n->args[i], &v);
		if (rc < 0)
			goto fail;
		args_push(a, NULL, v);
		if ((rc = occo__tv_charge_value(&c, &v)) < 0)
			goto fail;
	}
	if (n->dyn_args) {
		json_t *arr;
		int tuples;

		rc = eval(r, n->dyn_args, &v);
		if (rc < 0)
			goto fail;
		rc = occo__tv_iter(&c, &v, &arr, &tuples);
		occo__tv_release(&v);
		if (rc < 0)
			goto fail;
		for (size_t i = 0; i < json_array_size(arr); i++)
			args_push(a, NULL, occo__tv_elem(arr, i, tuples));
		json_decref(arr);
	}
	for (size_t i = 0; i < n->nkw; i++) {
		rc = eval(r, n->kw[i]->a, &v);
		if (rc < 0)
			goto fail;
		args_push(a, n->kw[i]->s, v);
		if ((rc = occo__tv_charge_value(&c, &v)) < 0)
			goto fail;
	}
	if (n->dyn_kwargs) {
		const char *k;
		json_t *x;

		rc = eval(r, n->dyn_kwargs, &v);
		if (rc < 0)
			goto fail;
		if (!occo__tv_is_dict(&v)) {
			rc = occo__tv_fail(&c, OCCO_EINVAL, "argument after ** must be a mapping");
			occo__tv_release(&v);
			goto fail;
		}
		json_object_foreach (v.j, k, x)
			args_push(a, k, occo__tv_ref(x));
		occo__tv_release(&v);
	}
	return 0;
fail:
	args_release(a);
	return rc;
}

/* ---- calls -------------------------------------------------------------------------------- */

static int call_helper(struct rctx *r, const struct tnode *n, const struct occo_tmpl_func *fn,
		       struct targs *a, struct tv *out)
{
	struct tvctx c = TVC(r, n);
	json_t *jargs = json_array(), *jkw = json_object(), *res = NULL, *x;
	struct occo_err ferr;
	int rc = 0;

	for (size_t i = 0; i < a->npos + a->nkw && rc == 0; i++) {
		const struct tv *v = i < a->npos ? &a->pos[i] : &a->kw[i - a->npos];

		/* undefined arguments stop here: helpers get plain JSON */
		if (v->kind == TV_UNDEF) {
			rc = occo__tv_undef_fail(&c, v);
			break;
		}
		rc = occo__tv_to_json(&c, v, &x);
		if (rc == 0 && occo__json_has_undefined(x, 0)) {
			json_decref(x);
			rc = occo__tv_fail(&c, OCCO_EINVAL,
					   "an undefined value cannot be passed to %s()", fn->name);
		}
		if (rc == 0 && i < a->npos)
			json_array_append_new(jargs, x);
		else if (rc == 0)
			json_object_set_new(jkw, a->kwname[i - a->npos], x);
	}
	if (rc == 0) {
		occo_err_clear(&ferr);
		rc = fn->fn(fn->ud, jargs, jkw, &res, &ferr);
		if (rc < 0) {
			char where[256];
			int code = ferr.code ? ferr.code : (-rc > 0 ? -rc : OCCO_EINVAL);

			occo__tmpl_where(r->t, n->pos, where, sizeof(where));
			rc = occo_err_set(r->err, code, "%s: %s(): %s", where, fn->name,
					  ferr.msg[0] ? ferr.msg : occo_code_str(code));
		} else {
			*out = occo__tv_take(res ? res : json_null());
		}
	}
	json_decref(jargs);
	json_decref(jkw);
	return rc;
}

static int call_value(struct rctx *r, const struct tnode *n, struct tv *callee, struct targs *a,
		      struct tv *out)
{
	struct tvctx c = TVC(r, n);

	switch (callee->kind) {
	case TV_FUNC:
		if (callee->p)
			return call_helper(r, n, callee->p, a, out);
		return occo__builtin_call(&c, callee->sub, a, out);
	case TV_METHOD:
		if (callee->p)
			return loop_method(&c, (struct tloop *)callee->p, callee->name, a, out);
		{
			struct tv self = { (enum tv_kind)callee->sub,
					   0,
					   (int)callee->flags,
					   callee->j,
					   NULL,
					   NULL };

			return occo__method_call(&c, &self, callee->name, a, out);
		}
	case TV_UNDEF:
		return occo__tv_undef_fail(&c, callee);
	default:
		return occo__tv_fail(&c, OCCO_EINVAL, "'%s' object is not callable",
				     occo__tv_typename(callee));
	}
}

/* ---- attribute and item access ------------------------------------------------------------ */

/* A bound method: name is static (from occo__method_name). */
static struct tv method_of(const struct tv *obj, const char *name)
{
	return (struct tv){ TV_METHOD,	    obj->kind == TV_VIEW ? (unsigned)obj->sub : 0,
			    (int)obj->kind, json_incref(obj->j),
			    name,	    NULL };
}

static struct tv undef_attr(const struct tv *obj, const char *name, int how)
{
	return (struct tv){ TV_UNDEF, 0, how, NULL, name, occo__tv_typename(obj) };
}

static int getattr(struct rctx *r, const struct tnode *n, const struct tv *obj, const char *name,
		   struct tv *out)
{
	struct tvctx c = TVC(r, n);
	const char *mname;
	json_t *j;

	if (obj->kind == TV_UNDEF)
		return occo__tv_undef_fail(&c, obj);
	if (obj->kind == TV_LOOP) {
		if (!strcmp(name, "cycle") || !strcmp(name, "changed")) {
			*out = (struct tv){
				TV_METHOD, 0, 0, NULL, !strcmp(name, "cycle") ? "cycle" : "changed",
				obj->p
			};
			return 0;
		}
		return occo__loop_attr(&c, obj->p, name, out);
	}
	if ((mname = occo__method_name(obj, name)) != NULL) {
		*out = method_of(obj, mname);
		return 0;
	}
	if (occo__tv_is_dict(obj) && (j = json_object_get(obj->j, name)) != NULL) {
		*out = occo__tv_ref(j);
		return 0;
	}
	if (occo__tv_is_num(obj) && (!strcmp(name, "real") || !strcmp(name, "imag"))) {
		/* the attributes of Python's numbers that templates meet */
		int isreal = json_is_real(obj->j);

		if (name[0] == 'i')
			*out = isreal ? occo__tv_real(0.0) : occo__tv_int(0);
		else if (isreal)
			*out = occo__tv_dup(obj);
		else
			*out = occo__tv_int(json_is_integer(obj->j) ? json_integer_value(obj->j)
								    : json_is_true(obj->j));
		return 0;
	}
	*out = undef_attr(obj, n->s, UNDEF_ATTR);
	return 0;
}

int occo__tv_getitem(struct tvctx *c, const struct tv *obj, const struct tv *key, struct tv *out)
{
	const char *mname;
	json_t *j;
	int found = 0;

	if (obj->kind == TV_UNDEF)
		return occo__tv_undef_fail(c, obj);
	if (occo__tv_is_dict(obj)) {
		if (occo__tv_is_str(key) &&
		    (j = json_object_getn(obj->j, json_string_value(key->j),
					  json_string_length(key->j))) != NULL) {
			*out = occo__tv_ref(j);
			return 0;
		}
	} else if (occo__tv_is_int(key) && (occo__tv_is_str(obj) || occo__tv_is_seq(obj) ||
					    (obj->kind == TV_VIEW && obj->sub == VIEW_RANGE))) {
		json_int_t i =
			json_is_integer(key->j) ? json_integer_value(key->j) : json_is_true(key->j);
		int rc = occo__tv_index(c, obj, i, out, &found);

		if (rc < 0 || found)
			return rc;
	}
	if (occo__tv_is_str(key) && obj->kind != TV_LOOP &&
	    (mname = occo__method_name(obj, json_string_value(key->j))) != NULL) {
		*out = method_of(obj, mname);
		return 0;
	}
	*out = undef_attr(obj, NULL, UNDEF_ITEM);
	return 0;
}

/* ---- expressions -------------------------------------------------------------------------- */

static int apply_filter(struct rctx *r, const struct tnode *n, struct tv *input, struct tv *out)
{
	struct tvctx c = TVC(r, n);
	struct targs a;
	struct tv v;
	int rc;

	/* in the filter chain of a {% set x | f | g %} block the innermost filter gets input */
	if (!n->a)
		rc = (v = input ? occo__tv_dup(input) : TV_UNDEFINED, 0);
	else if (input && n->a->kind == N_FILTER)
		rc = apply_filter(r, n->a, input, &v);
	else
		rc = eval(r, n->a, &v);
	if (rc < 0)
		return rc;
	if (n->fidx < 0 || (rc = occo__tv_charge_value(&c, &v)) < 0) {
		occo__tv_release(&v);
		return rc < 0 ? rc : occo__tv_fail(&c, OCCO_EINVAL, "no filter named '%s'", n->s);
	}
	rc = eval_args(r, n, &a);
	if (rc == 0) {
		rc = occo__filter_call(&c, n->fidx, &v, &a, out);
		args_release(&a);
		/* what a filter makes is work too (a split, a sorted copy) */
		if (rc == 0 && (rc = occo__tv_charge_value(&c, out)) < 0)
			occo__tv_release(out);
	}
	occo__tv_release(&v);
	return rc;
}

static int eval_compare(struct rctx *r, const struct tnode *n, struct tv *out)
{
	struct tv left, right;
	int rc, res = 1, x;

	rc = eval(r, n->a, &left);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n->nargs && res; i++) {
		const struct tnode *o = n->args[i];
		struct tvctx c = TVC(r, o);

		rc = eval(r, o->a, &right);
		if (rc < 0)
			break;
		/* comparing and searching go through both sides */
		if ((rc = occo__tv_charge_value(&c, &left)) < 0 ||
		    (rc = occo__tv_charge_value(&c, &right)) < 0) {
			occo__tv_release(&right);
			break;
		}
		switch (o->op) {
		case OP_EQ:
			res = occo__tv_eq(&left, &right);
			break;
		case OP_NE:
			res = !occo__tv_eq(&left, &right);
			break;
		case OP_IN:
		case OP_NOTIN:
			rc = occo__tv_contains(&c, &right, &left, &res);
			if (o->op == OP_NOTIN)
				res = !res;
			break;
		default:
			rc = occo__tv_cmp(&c, &left, &right, &x);
			if (x == 2)
				res = 0;
			else if (o->op == OP_LT)
				res = x < 0;
			else if (o->op == OP_LTEQ)
				res = x <= 0;
			else if (o->op == OP_GT)
				res = x > 0;
			else
				res = x >= 0;
		}
		occo__tv_release(&left);
		left = right;
		if (rc < 0)
			break;
	}
	occo__tv_release(&left);
	if (rc < 0)
		return rc;
	*out = occo__tv_bool(res);
	return 0;
}

static int eval_seq(struct rctx *r, const struct tnode *n, struct tv *out)
{
	struct tvctx c = TVC(r, n);
	json_t *arr = n->kind == N_DICT ? json_object() : json_array(), *x;
	struct tv v, k;
	int rc = 0;

	for (size_t i = 0; i < n->nargs && rc == 0; i++) {
		if (n->kind == N_DICT) {
			rc = eval(r, n->args[i++], &k);
			if (rc < 0)
				break;
			if (!occo__tv_is_str(&k)) {
				c.pos = n->args[i - 1]->pos;
				rc = k.kind == TV_UNDEF
					     ? occo__tv_undef_fail(&c, &k)
					     : occo__tv_fail(
						       &c, OCCO_ENOTSUP,
						       "dict keys must be strings here, not '%s'",
						       occo__tv_typename(&k));
				occo__tv_release(&k);
				break;
			}
		}
		rc = eval(r, n->args[i], &v);
		if (rc == 0) {
			c.pos = n->args[i]->pos;
			rc = occo__tv_to_json(&c, &v, &x);
			occo__tv_release(&v);
		}
		if (rc == 0 && n->kind == N_DICT)
			json_object_setn_new_nocheck(arr, json_string_value(k.j),
						     json_string_length(k.j), x);
		else if (rc == 0)
			json_array_append_new(arr, x);
		if (n->kind == N_DICT)
			occo__tv_release(&k);
	}
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = occo__tv_take(arr);
	if (n->kind == N_TUPLE)
		out->kind = TV_TUPLE;
	return 0;
}

static int eval(struct rctx *r, const struct tnode *n, struct tv *out)
{
	struct tvctx c = TVC(r, n);
	struct tv a, b, s[3];
	struct targs args;
	int rc, res;

	switch (n->kind) {
	case N_CONST:
		*out = occo__tv_ref(n->cval);
		return 0;
	case N_NAME:
		*out = lookup(r, n->s);
		return 0;
	case N_GETATTR:
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		rc = getattr(r, n, &a, n->s, out);
		occo__tv_release(&a);
		return rc;
	case N_GETITEM:
		rc = eval(r, n->a, &a);
		if (rc == 0 && occo__tv_is_str(&a) && (rc = occo__tv_charge_value(&c, &a)) < 0)
			occo__tv_release(&a);
		if (rc < 0)
			return rc;
		if (n->b->kind == N_SLICE) {
			const struct tnode *sl = n->b;
			const struct tnode *parts[3] = { sl->a, sl->b, sl->c };
			int k;

			for (k = 0; k < 3; k++) {
				s[k] = TV_UNDEFINED;
				if (parts[k] && (rc = eval(r, parts[k], &s[k])) < 0)
					break;
			}
			if (rc == 0) {
				if (a.kind == TV_UNDEF)
					rc = occo__tv_undef_fail(&c, &a);
				else
					rc = occo__tv_slice(&c, &a, sl->a ? &s[0] : NULL,
							    sl->b ? &s[1] : NULL,
							    sl->c ? &s[2] : NULL, out);
				k = 3;
			}
			while (k-- > 0)
				occo__tv_release(&s[k]);
			occo__tv_release(&a);
			return rc;
		}
		rc = eval(r, n->b, &b);
		if (rc == 0) {
			rc = occo__tv_getitem(&c, &a, &b, out);
			occo__tv_release(&b);
		}
		occo__tv_release(&a);
		return rc;
	case N_CALL:
		if (n->a->kind == N_GETATTR) {
			/* obj.method(...) */
			rc = eval(r, n->a->a, &a);
			if (rc < 0)
				return rc;
			rc = getattr(r, n->a, &a, n->a->s, &b);
			if (rc == 0 && b.kind == TV_METHOD &&
			    (rc = occo__tv_charge_value(&c, &a)) < 0)
				occo__tv_release(&b);
			occo__tv_release(&a);
		} else {
			rc = eval(r, n->a, &b);
		}
		if (rc < 0)
			return rc;
		rc = eval_args(r, n, &args);
		if (rc == 0) {
			rc = call_value(r, n, &b, &args, out);
			args_release(&args);
			if (rc == 0 && (rc = occo__tv_charge_value(&c, out)) < 0)
				occo__tv_release(out);
		}
		occo__tv_release(&b);
		return rc;
	case N_FILTER:
		return apply_filter(r, n, NULL, out);
	case N_TEST:
		if (n->fidx < 0)
			return occo__tv_fail(&c, OCCO_EINVAL, "no test named '%s'", n->s);
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		rc = occo__tv_charge_value(&c, &a);
		if (rc == 0)
			rc = eval_args(r, n, &args);
		if (rc == 0) {
			rc = occo__test_call(&c, n->fidx, &a, &args, &res);
			args_release(&args);
			if (rc == 0)
				*out = occo__tv_bool(res);
		}
		occo__tv_release(&a);
		return rc;
	case N_LIST:
	case N_TUPLE:
	case N_DICT:
		return eval_seq(r, n, out);
	case N_NEG:
	case N_POS:
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		rc = occo__tv_neg(&c, &a, n->kind == N_NEG, out);
		occo__tv_release(&a);
		return rc;
	case N_NOT:
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		*out = occo__tv_bool(!occo__tv_truth(&a));
		occo__tv_release(&a);
		return 0;
	case N_BIN:
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		rc = eval(r, n->b, &b);
		if (rc == 0 && ((rc = occo__tv_charge_value(&c, &a)) < 0 ||
				(rc = occo__tv_charge_value(&c, &b)) < 0))
			occo__tv_release(&b);
		if (rc == 0) {
			if (n->op == OP_MOD && occo__tv_is_str(&a) && a.kind != TV_UNDEF)
				rc = occo__str_percent(&c, &a, &b, out);
			else
				rc = occo__tv_binop(&c, n->op, &a, &b, out);
			occo__tv_release(&b);
		}
		occo__tv_release(&a);
		return rc;
	case N_AND:
	case N_OR:
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		if (occo__tv_truth(&a) == (n->kind == N_OR)) {
			*out = a;
			return 0;
		}
		occo__tv_release(&a);
		return eval(r, n->b, out);
	case N_COMPARE:
		return eval_compare(r, n, out);
	case N_CONCAT: {
		struct occo_buf buf;

		occo__tv_buf(&c, &buf);
		for (size_t i = 0; i < n->nargs; i++) {
			rc = eval(r, n->args[i], &a);
			if (rc == 0) {
				c.pos = n->args[i]->pos;
				rc = occo__tv_write_str(&c, &a, &buf);
				occo__tv_release(&a);
			}
			if (rc < 0) {
				occo_buf_release(&buf);
				return rc;
			}
		}
		*out = occo__tv_from_buf(&c, &buf);
		return 0;
	}
	case N_COND:
		rc = eval(r, n->a, &a);
		if (rc < 0)
			return rc;
		res = occo__tv_truth(&a);
		occo__tv_release(&a);
		if (res)
			return eval(r, n->b, out);
		if (n->c)
			return eval(r, n->c, out);
		*out = (struct tv){ TV_UNDEF,
				    0,
				    UNDEF_HINT,
				    NULL,
				    "the inline if-expression evaluated to false and no else "
				    "section was defined",
				    NULL };
		return 0;
	default:
		return occo__tv_fail(&c, OCCO_EINVAL, "cannot evaluate this node");
	}
}

/* ---- the loop object ---------------------------------------------------------------------- */

int occo__loop_attr(struct tvctx *c, const struct tloop *l, const char *name, struct tv *out)
{
	size_t i = l->index0, n = l->length;

	if (!strcmp(name, "index"))
		*out = occo__tv_int((json_int_t)i + 1);
	else if (!strcmp(name, "index0"))
		*out = occo__tv_int((json_int_t)i);
	else if (!strcmp(name, "revindex"))
		*out = occo__tv_int((json_int_t)(n - i));
	else if (!strcmp(name, "revindex0"))
		*out = occo__tv_int((json_int_t)(n - i - 1));
	else if (!strcmp(name, "first"))
		*out = occo__tv_bool(i == 0);
	else if (!strcmp(name, "last"))
		*out = occo__tv_bool(i + 1 == n);
	else if (!strcmp(name, "length"))
		*out = occo__tv_int((json_int_t)n);
	else if (!strcmp(name, "depth"))
		*out = occo__tv_int(1);
	else if (!strcmp(name, "depth0"))
		*out = occo__tv_int(0);
	else if (!strcmp(name, "previtem") && i > 0)
		*out = occo__tv_elem(l->items, i - 1, l->tuples);
	else if (!strcmp(name, "previtem"))
		*out =
			(struct tv){ TV_UNDEF, 0, UNDEF_HINT, NULL, "there is no previous item",
				     NULL };
	else if (!strcmp(name, "nextitem") && i + 1 < n)
		*out = occo__tv_elem(l->items, i + 1, l->tuples);
	else if (!strcmp(name, "nextitem"))
		*out = (struct tv){ TV_UNDEF, 0, UNDEF_HINT, NULL, "there is no next item", NULL };
	else
		*out = (struct tv){ TV_UNDEF, 0, UNDEF_ATTR, NULL, name, "LoopContext" };
	(void)c;
	return 0;
}

static int loop_method(struct tvctx *c, struct tloop *l, const char *name, struct targs *a,
		       struct tv *out)
{
	if (a->nkw)
		return occo__tv_fail(c, OCCO_EINVAL, "loop.%s() takes no keyword arguments", name);
	if (!strcmp(name, "cycle")) {
		if (!a->npos)
			return occo__tv_fail(c, OCCO_EINVAL, "no items for cycling given");
		*out = occo__tv_dup(&a->pos[l->index0 % a->npos]);
		return 0;
	}
	{
		/* changed(*values): True when the values differ from the last call's */
		struct tv now = { TV_TUPLE, 0, 0, json_array(), NULL, NULL };
		json_t *x;
		int rc = 0;

		for (size_t i = 0; i < a->npos && rc == 0; i++) {
			rc = occo__tv_to_json(c, &a->pos[i], &x);
			if (rc == 0)
				json_array_append_new(now.j, x);
		}
		if (rc < 0) {
			occo__tv_release(&now);
			return rc;
		}
		if (l->has_changed && occo__tv_eq(&l->last_changed, &now)) {
			occo__tv_release(&now);
			*out = occo__tv_bool(0);
			return 0;
		}
		occo__tv_release(&l->last_changed);
		l->last_changed = now;
		l->has_changed = 1;
		*out = occo__tv_bool(1);
		return 0;
	}
}

/* ---- statements --------------------------------------------------------------------------- */

static int emit(struct rctx *r, const struct tnode *n, const char *s, size_t len)
{
	struct occo_err e;

	if (occo_buf_append(r->out, s, len, &e) < 0)
		return occo__tmpl_err_at(r->t, n->pos, r->err, OCCO_ETOOBIG, "output: %s", e.msg);
	return 0;
}

static int count_iteration(struct rctx *r, const struct tnode *n)
{
	struct tvctx c = TVC(r, n);

	return occo__tv_charge(&c, 1);
}

static int run_for(struct rctx *r, const struct tnode *n)
{
	struct tvctx c = TVC(r, n);
	struct tloop loop = { 0 };
	json_t *items = NULL, *kept;
	struct tv it;
	int tuples, rc;
	size_t i;

	rc = eval(r, n->b, &it);
	if (rc < 0)
		return rc;
	c.pos = n->b->pos;
	rc = occo__tv_iter(&c, &it, &items, &tuples);
	occo__tv_release(&it);
	if (rc < 0)
		return rc;
	if (n->c) {
		/* for x in xs if cond: filter first, so that loop.length counts what is kept */
		kept = json_array();
		for (i = 0; i < json_array_size(items) && rc == 0; i++) {
			struct tv e = occo__tv_elem(items, i, tuples), cond;

			rc = count_iteration(r, n);
			if (rc < 0) {
				occo__tv_release(&e);
				break;
			}
			frame_push(r);
			rc = assign(r, n->a, &e);
			if (rc == 0)
				rc = eval(r, n->c, &cond);
			if (rc == 0) {
				if (occo__tv_truth(&cond))
					json_array_append(kept, json_array_get(items, i));
				occo__tv_release(&cond);
			}
			frame_pop(r);
			occo__tv_release(&e);
		}
		json_decref(items);
		items = kept;
		if (rc < 0)
			goto out;
	}
	loop.items = items;
	loop.tuples = tuples;
	loop.length = json_array_size(items);
	for (i = 0; i < loop.length; i++) {
		struct tv e = occo__tv_elem(items, i, tuples);

		rc = count_iteration(r, n);
		if (rc < 0) {
			occo__tv_release(&e);
			break;
		}
		loop.index0 = i;
		frame_push(r);
		frame_set(r, "loop", (struct tv){ TV_LOOP, 0, 0, NULL, NULL, &loop });
		rc = assign(r, n->a, &e);
		if (rc == 0)
			rc = run(r, n->body, n->nbody);
		frame_pop(r);
		occo__tv_release(&e);
		if (rc < 0)
			break;
	}
	if (rc == 0 && loop.length == 0 && n->nels) {
		frame_push(r);
		rc = run(r, n->els, n->nels);
		frame_pop(r);
	}
out:
	occo__tv_release(&loop.last_changed);
	json_decref(items);
	return rc;
}

static int run_setblock(struct rctx *r, const struct tnode *n)
{
	struct tvctx c = TVC(r, n);
	struct occo_buf buf, *saved = r->out;
	struct tv v;
	int rc;

	occo_buf_init(&buf, r->t->lim.max_value);
	r->out = &buf;
	frame_push(r);
	rc = run(r, n->body, n->nbody);
	frame_pop(r);
	r->out = saved;
	if (rc < 0) {
		occo_buf_release(&buf);
		return rc;
	}
	v = occo__tv_from_buf(&c, &buf);
	if (n->c) {
		struct tv f;

		rc = apply_filter(r, n->c, &v, &f);
		occo__tv_release(&v);
		if (rc < 0)
			return rc;
		v = f;
	}
	rc = assign(r, n->a, &v);
	occo__tv_release(&v);
	return rc;
}

static int run_with(struct rctx *r, const struct tnode *n)
{
	/* the values are evaluated in the outer scope, then bound in a frame of their own */
	struct tv *vals = occo_calloc(n->nkw ? n->nkw : 1, sizeof(*vals));
	size_t i;
	int rc = 0;

	for (i = 0; i < n->nkw && rc == 0; i++)
		rc = eval(r, n->kw[i], &vals[i]);
	if (rc == 0) {
		frame_push(r);
		for (i = 0; i < n->nargs && rc == 0; i++)
			rc = assign(r, n->args[i], &vals[i]);
		if (rc == 0)
			rc = run(r, n->body, n->nbody);
		frame_pop(r);
	}
	for (i = 0; i < n->nkw; i++)
		occo__tv_release(&vals[i]);
	free(vals);
	return rc;
}

static int run(struct rctx *r, struct tnode *const *body, size_t nbody)
{
	for (size_t i = 0; i < nbody; i++) {
		const struct tnode *n = body[i];
		struct tvctx c = TVC(r, n);
		struct tv v;
		int rc = 0;

		switch (n->kind) {
		case S_DATA:
			rc = emit(r, n, n->s, n->slen);
			break;
		case S_OUT: {
			size_t len = r->out->len;
			struct occo_buf *b = r->out;

			rc = eval(r, n->a, &v);
			if (rc < 0)
				break;
			rc = occo__tv_write_str(&c, &v, b);
			occo__tv_release(&v);
			if (rc < 0) {
				b->len = len;
				if (b->data)
					b->data[len] = '\0';
			}
			break;
		}
		case S_IF: {
			size_t k;

			for (k = 0; k < n->nargs; k++) {
				rc = eval(r, n->args[k]->a, &v);
				if (rc < 0)
					break;
				if (occo__tv_truth(&v)) {
					occo__tv_release(&v);
					rc = run(r, n->args[k]->body, n->args[k]->nbody);
					break;
				}
				occo__tv_release(&v);
			}
			if (rc == 0 && k == n->nargs)
				rc = run(r, n->els, n->nels);
			break;
		}
		case S_FOR:
			rc = run_for(r, n);
			break;
		case S_SET:
			rc = eval(r, n->b, &v);
			if (rc == 0) {
				rc = assign(r, n->a, &v);
				occo__tv_release(&v);
			}
			break;
		case S_SETBLOCK:
			rc = run_setblock(r, n);
			break;
		case S_WITH:
			rc = run_with(r, n);
			break;
		default:
			rc = occo__tv_fail(&c, OCCO_EINVAL, "cannot run this node");
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int occo_tmpl_render(const struct occo_tmpl *t, const json_t *ctx, const struct occo_tmpl_env *env,
		     struct occo_buf *out, struct occo_err *err)
{
	struct occo_err lerr;
	struct rctx r = { 0 };
	size_t start = out->len;
	int rc;

	occo_err_clear(&lerr);
	if (ctx && !json_is_object(ctx))
		return occo_err_set(err, OCCO_EINVAL, "%s: the context is not an object", t->name);
	r.t = t;
	r.ctx = ctx;
	r.env = env;
	r.err = &lerr;
	r.out = out;
	frame_push(&r);
	rc = run(&r, t->body, t->nbody);
	while (r.nframes)
		frame_pop(&r);
	free(r.frames);
	if (rc < 0) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
		return occo_err_copy(err, &lerr);
	}
	return 0;
}
