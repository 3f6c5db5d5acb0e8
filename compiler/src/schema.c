/*
 * schema.c - walking a section against its key table.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "occo/compiler/schema.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"

unsigned comp_type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return COMP_T_STR;
	case JSON_INTEGER:
		return COMP_T_INT;
	case JSON_REAL:
		return COMP_T_REAL;
	case JSON_TRUE:
	case JSON_FALSE:
		return COMP_T_BOOL;
	case JSON_ARRAY:
		return COMP_T_LIST;
	case JSON_OBJECT:
		return COMP_T_MAP;
	default:
		return COMP_T_NULL;
	}
}

const char *comp_type_name(unsigned t)
{
	static const struct {
		unsigned t;
		const char *name;
	} names[] = {
		{ COMP_T_STR, "a string" },
		{ COMP_T_INT, "an integer" },
		{ COMP_T_NUM, "a number" },
		{ COMP_T_REAL, "a number" },
		{ COMP_T_BOOL, "true or false" },
		{ COMP_T_LIST, "a list" },
		{ COMP_T_MAP, "a mapping" },
		{ COMP_T_NULL, "empty" },
		{ COMP_T_STR | COMP_T_INT, "a string or an integer" },
		{ COMP_T_STR | COMP_T_NUM, "a string or a number" },
		{ COMP_T_STR | COMP_T_MAP, "a string or a mapping" },
		{ COMP_T_STR | COMP_T_LIST, "a string or a list" },
		{ COMP_T_SCALAR, "a string, a number or a boolean" },
		{ COMP_T_STR | COMP_T_BOOL, "a string or a boolean" },
		{ COMP_T_INT | COMP_T_BOOL, "an integer or a boolean" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].name;
	return "of another type";
}

void comp_check_error(struct comp_check *c, const json_t *parent, const char *key, const char *fmt,
		      ...)
{
	const struct occo_yaml_mark *m;
	va_list ap;
	char *msg;

	m = key ? occo_ydoc_child_mark(c->doc, parent, key, 0) : occo_ydoc_mark(c->doc, parent);
	va_start(ap, fmt);
	msg = occo_vasprintf(fmt, ap);
	va_end(ap);
	comp_diag_add(c->diags, COMP_ERROR, m, "%s %s", msg, c->where);
	free(msg);
}

void comp_check_subkeys(struct comp_check *c, const json_t *section, const char *sub,
			const char *const *keys, size_t n)
{
	const json_t *m = json_object_get(section, sub);
	size_t i;

	for (i = 0; json_is_object(m) && i < n; i++)
		if (!json_object_get(m, keys[i]))
			comp_check_error(c, section, sub, "missing key '%s' in %s", keys[i], sub);
}

static const struct comp_key *find_key(const struct comp_key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (!strcmp(keys->name, name))
			return keys;
	return NULL;
}

static int has_required(const struct comp_key *keys)
{
	for (; keys->name; keys++)
		if (keys->flags & COMP_REQUIRED)
			return 1;
	return 0;
}

static void append_key_list(struct occo_buf *b, const struct comp_key *keys, int required)
{
	int first = 1;

	for (; keys->name; keys++) {
		if (!!(keys->flags & COMP_REQUIRED) != required)
			continue;
		occo_buf_appendf(b, NULL, "%s%s", first ? "" : ", ", keys->name);
		first = 0;
	}
	if (first)
		occo_buf_appends(b, "none", NULL);
}

/*
 * What a key accepts beyond its table entry: a string key takes a number (an id such as
 * `flavor_name: 3`), and an optional key may be left empty (`key_name:`, a placeholder in many
 * tutorials), which means unset.
 */
static unsigned accepted(unsigned types, unsigned flags)
{
	if (types & COMP_T_STR)
		types |= COMP_T_NUM;
	if (types && !(flags & COMP_REQUIRED))
		types |= COMP_T_NULL;
	return types;
}

void comp_schema_check(const struct comp_schema *s, const json_t *section, struct comp_check *c)
{
	const struct comp_key *k;
	const char *name;
	json_t *v, *e;
	size_t i;

	for (k = s->keys; k->name; k++) {
		const json_t *val = json_object_get(section, k->name);

		if (!(k->flags & COMP_REQUIRED))
			continue;
		if (!val)
			comp_check_error(c, section, NULL, "missing key '%s'", k->name);
		else if (json_is_null(val))
			comp_check_error(c, section, k->name, "key '%s' needs a value", k->name);
	}
	json_object_foreach ((json_t *)section, name, v) {
		k = find_key(s->keys, name);
		if (!k) {
			struct occo_buf b;

			occo_buf_init(&b, 4096);
			if (has_required(s->keys)) {
				occo_buf_appends(&b, "required: ", NULL);
				append_key_list(&b, s->keys, 1);
				occo_buf_appends(&b, "; optional: ", NULL);
			} else {
				occo_buf_appends(&b, "allowed: ", NULL);
			}
			append_key_list(&b, s->keys, 0);
			comp_diag_add(c->diags, COMP_ERROR,
				      occo_ydoc_key_mark(c->doc, section, name),
				      "unknown key '%s' %s (%s)", name, c->where, occo_buf_str(&b));
			occo_buf_release(&b);
			continue;
		}
		if (k->types && !(comp_type_of(v) & accepted(k->types, k->flags))) {
			comp_check_error(c, section, name, "'%s' must be %s", name,
					 comp_type_name(k->types));
			continue;
		}
		if (k->elems && json_is_array(v)) {
			json_array_foreach (v, i, e) {
				if (comp_type_of(e) & accepted(k->elems, COMP_REQUIRED))
					continue;
				comp_diag_add(c->diags, COMP_ERROR,
					      occo_ydoc_child_mark(c->doc, v, NULL, i),
					      "item %zu of '%s' must be %s %s", i + 1, name,
					      comp_type_name(k->elems), c->where);
			}
		}
	}
	if (s->check)
		s->check(c, section);
}

const struct comp_schema *comp_schema_find(const struct comp_schema *const *list,
					   const char *section, const char *type)
{
	for (; list && *list; list++)
		if (!strcmp((*list)->section, section) && !strcmp((*list)->type, type))
			return *list;
	return NULL;
}

char *comp_schema_types(const struct comp_schema *const *list, const char *section)
{
	struct occo_buf b;
	int first = 1;

	occo_buf_init(&b, 4096);
	for (; list && *list; list++) {
		if (strcmp((*list)->section, section))
			continue;
		occo_buf_appendf(&b, NULL, "%s%s", first ? "" : ", ", (*list)->type);
		first = 0;
	}
	return occo_buf_detach(&b, NULL);
}
