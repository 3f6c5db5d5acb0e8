/*
 * schema.h - key schemas of node definition sections, as tables.
 *
 * A node definition entry has four sections (OCCOPUS.md 4.1): resource, contextualisation,
 * config_management, health_check. What keys a section may hold depends on its `type`, and
 * each type belongs to a plugin: the resource handlers own the `resource` rows, the config
 * managers `config_management`, the infraprocessor `contextualisation` and `health_check`.
 * Each plugin library exports its rows as `struct comp_schema` tables; the program hands the
 * compiler the list, and the compiler walks it without knowing any plugin by name. A new
 * back-end adds a row, nothing else.
 */
#ifndef OCCO_COMPILER_SCHEMA_H
#define OCCO_COMPILER_SCHEMA_H

#include <jansson.h>

#include "occo/compiler/diag.h"
#include "occo/util/yaml.h"

/* Types a value may have (a bit set). */
enum comp_type {
	COMP_T_STR = 1u << 0,
	COMP_T_INT = 1u << 1,
	COMP_T_REAL = 1u << 2,
	COMP_T_BOOL = 1u << 3,
	COMP_T_LIST = 1u << 4,
	COMP_T_MAP = 1u << 5,
	COMP_T_NULL = 1u << 6,
};
#define COMP_T_ANY 0u
#define COMP_T_NUM (COMP_T_INT | COMP_T_REAL)
#define COMP_T_SCALAR (COMP_T_STR | COMP_T_NUM | COMP_T_BOOL)

enum comp_key_flags {
	COMP_REQUIRED = 1u << 0,
};

struct comp_key {
	const char *name; /* NULL ends a table */
	unsigned flags; /* enum comp_key_flags */
	unsigned types; /* allowed types of the value (enum comp_type); 0: any */
	unsigned elems; /* for lists: allowed types of the elements; 0: any */
};

struct comp_check;

struct comp_schema {
	const char *section; /* "resource", "contextualisation", ... */
	const char *type; /* the value of the section's `type` key */
	const struct comp_key *keys; /* every key the section may hold, `type` included */
	/* Checks a table cannot say (one of two keys, value ranges); may be NULL. */
	void (*check)(struct comp_check *c, const json_t *section);
};

/* Where a check reports (handed to comp_schema.check). */
struct comp_check {
	const struct occo_ydoc *doc;
	struct comp_diags *diags;
	const char *where; /* "in 'resource' section of node definition 'x'[0]" */
};

/*
 * Report an error about parent[key] (key NULL: about parent itself) at its position, as
 * "<message> <where>".
 */
void comp_check_error(struct comp_check *c, const json_t *parent, const char *key, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

/*
 * Report every key of `keys` (n of them) missing from the mapping section[sub], when that is a
 * mapping ("missing key 'cpu' in description").
 */
void comp_check_subkeys(struct comp_check *c, const json_t *section, const char *sub,
			const char *const *keys, size_t n);

/* Check one section against its table: missing, unknown and mistyped keys, then .check. */
void comp_schema_check(const struct comp_schema *s, const json_t *section, struct comp_check *c);

/* The schema of (section, type) in a NULL-terminated list, or NULL. */
const struct comp_schema *comp_schema_find(const struct comp_schema *const *list,
					   const char *section, const char *type);

/* "ec2, nova, docker": the types a list knows for a section. The caller frees it. */
char *comp_schema_types(const struct comp_schema *const *list, const char *section);

/* "a string", "an integer or a string": for messages. Static storage. */
const char *comp_type_name(unsigned types);

/* The comp_type bit of a value. */
unsigned comp_type_of(const json_t *v);

#endif
