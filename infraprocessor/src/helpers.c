/*
 * helpers.c - getip & co. over a view of the nodes.
 */
#include <string.h>

#include "occo/infraprocessor/helpers.h"

/* The instances of node `name`, or an error that says which node is missing. */
static const json_t *instances(const json_t *view, const json_t *args, struct occo_err *err)
{
	const json_t *name = json_array_get(args, 0);
	const json_t *list;

	if (json_array_size(args) != 1 || !json_is_string(name)) {
		occo_err_set(err, OCCO_EINVAL, "takes one node name");
		return NULL;
	}
	list = json_object_get(view, json_string_value(name));
	if (!json_is_array(list) || json_array_size(list) == 0) {
		occo_err_set(err, OCCO_EINVAL, "no node exists with the given name '%s'",
			     json_string_value(name));
		return NULL;
	}
	return list;
}

static const json_t *first_address(const json_t *inst)
{
	const json_t *a = json_object_get(inst, "addresses");

	if (json_is_array(a))
		a = json_array_get(a, 0);
	return json_is_string(a) ? a : NULL;
}

static int no_address(const json_t *args, struct occo_err *err)
{
	return occo_err_set(err, OCCO_EINVAL, "node '%s' has no address yet",
			    json_string_value(json_array_get(args, 0)));
}

static int fn_getip(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		    struct occo_err *err)
{
	const json_t *list = instances(ud, args, err);
	const json_t *a;

	if (!list)
		return -OCCO_EINVAL;
	a = first_address(json_array_get(list, 0));
	if (!a)
		return no_address(args, err);
	*result = json_incref((json_t *)a);
	return 0;
}

static int fn_getprivip(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
			struct occo_err *err)
{
	const json_t *list = instances(ud, args, err);
	const json_t *a;

	if (!list)
		return -OCCO_EINVAL;
	a = json_object_get(json_array_get(list, 0), "private");
	if (!json_is_string(a))
		a = first_address(json_array_get(list, 0));
	if (!a)
		return no_address(args, err);
	*result = json_incref((json_t *)a);
	return 0;
}

static int fn_getipall(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		       struct occo_err *err)
{
	const json_t *list = instances(ud, args, err), *inst, *a;
	json_t *out;
	size_t i;

	if (!list)
		return -OCCO_EINVAL;
	out = json_array();
	json_array_foreach(list, i, inst)
	{
		a = first_address(inst);
		if (a)
			json_array_append(out, (json_t *)a);
	}
	*result = out;
	return 0;
}

/* Python's slice bound: negative counts from the end, then clamp to [0, len]. */
static size_t slice_bound(json_int_t v, size_t len)
{
	if (v < 0)
		v += (json_int_t)len;
	if (v < 0)
		return 0;
	return (size_t)v > len ? len : (size_t)v;
}

/* cut(s, start, end) = s[start:end], counted in characters (UTF-8). */
static int fn_cut(void *ud, const json_t *args, const json_t *kwargs, json_t **result,
		  struct occo_err *err)
{
	const json_t *s = json_array_get(args, 0);
	const json_t *a = json_array_get(args, 1), *b = json_array_get(args, 2);
	const char *str, *p;
	size_t nchars = 0, from, to, i, start_byte = 0, end_byte;

	if (json_array_size(args) != 3 || !json_is_string(s) ||
	    !(json_is_integer(a) || json_is_null(a)) || !(json_is_integer(b) || json_is_null(b)))
		return occo_err_set(err, OCCO_EINVAL, "cut() takes a string and two integers");
	str = json_string_value(s);
	for (p = str; *p; p++)
		nchars += ((unsigned char)*p & 0xc0) != 0x80;
	from = json_is_null(a) ? 0 : slice_bound(json_integer_value(a), nchars);
	to = json_is_null(b) ? nchars : slice_bound(json_integer_value(b), nchars);
	if (to < from)
		to = from;
	end_byte = strlen(str);
	for (i = 0, p = str; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (i == from)
			start_byte = (size_t)(p - str);
		if (i == to) {
			end_byte = (size_t)(p - str);
			break;
		}
		i++;
	}
	if (from == nchars)
		start_byte = strlen(str);
	*result = json_stringn(str + start_byte, end_byte - start_byte);
	return 0;
}

void iproc_helpers_init(struct iproc_helpers *h, const json_t *view)
{
	h->view = view;
	h->funcs[0] = (struct occo_tmpl_func){ "getip", fn_getip, (void *)view };
	h->funcs[1] = (struct occo_tmpl_func){ "getprivip", fn_getprivip, (void *)view };
	h->funcs[2] = (struct occo_tmpl_func){ "getipall", fn_getipall, (void *)view };
	h->funcs[3] = (struct occo_tmpl_func){ "cut", fn_cut, NULL };
	h->env.funcs = h->funcs;
	h->env.nfuncs = IPROC_NHELPERS;
	h->env.flags = 0;
}

const struct occo_tmpl_env *iproc_helpers_env(const struct iproc_helpers *h)
{
	return &h->env;
}
