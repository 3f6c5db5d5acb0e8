/*
 * record.h - instance records in memory.
 *
 * An instance record is stored as the JSON value of one field of <ns>:{<id>}:nodes (infra.h):
 *
 *   {"node_id", "name", "type", "def_index", "resource", "token", "instance_id", "addresses",
 *    "state", "created_at", "ready_at", "config_management", "health_check",
 *    "private_address", "published", "error", "health_failed", "health_failing"}
 *
 * In memory each is one C struct (struct ib_record), not a JSON object: a JSON object of
 * fifteen members costs some thirty allocations and about 2 KB, which at 100,000 instances is
 * most of an orchestrator's memory. Names, types and states repeat across records and are
 * kept once, in the set (ib_records_intern). Members this version does not know are kept as
 * they were read (`extra`) and written back with the record, so a record written by a newer
 * version loses nothing when an older one updates it.
 *
 * A set (struct ib_records) finds a record by node_id in O(1) and walks them in the order they
 * were added. It owns its records.
 */
#ifndef OCCO_INFOBROKER_RECORD_H
#define OCCO_INFOBROKER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"

struct ib_record {
	struct ib_record *prev, *next; /* in the set, in the order added */
	const char *name; /* interned in the set, or NULL */
	const char *type; /* interned, or NULL */
	const char *state; /* interned, or NULL */
	int def_index; /* -1: none */
	unsigned health_failed : 1; /* failed its health check for longer than its timeout */
	unsigned health_failing : 1; /* failing, not for long enough yet */
	json_t *resource, *config_management, *health_check; /* or NULL */
	json_t *addresses; /* an array of strings, or NULL (written as []) */
	json_t *published; /* host ports of the instance's ports, or NULL */
	char *token, *instance_id, *private_address, *error; /* or NULL */
	int64_t created_at, ready_at; /* wall clock ms; 0: none */
	json_t *extra; /* members not known here, as read; or NULL */
	char node_id[]; /* the set's key */
};

struct ib_records;

struct ib_records *ib_records_new(void);

/* Free a set and its records; NULL is fine. */
void ib_records_free(struct ib_records *s);

size_t ib_records_count(const struct ib_records *s);

/* The record of `node_id`, or NULL. */
struct ib_record *ib_records_get(const struct ib_records *s, const char *node_id);

/* The first record in the order added (then rec->next), or NULL. */
struct ib_record *ib_records_first(const struct ib_records *s);

#define ib_records_foreach(s, rec) for ((rec) = ib_records_first(s); (rec); (rec) = (rec)->next)

/*
 * A new empty record for `node_id` (def_index -1, everything else none), added last; one
 * already there under that id is freed first.
 */
struct ib_record *ib_records_add(struct ib_records *s, const char *node_id);

/* Remove and free the record of `node_id`; an unknown id is not an error. */
void ib_records_del(struct ib_records *s, const char *node_id);

/* One lasting copy of a string, shared by the set's records (NULL gives NULL). */
const char *ib_records_intern(struct ib_records *s, const char *str);

/* Replace an owned string member (`*slot`) with a copy of `v` (NULL: none). */
void ib_record_set_str(char **slot, const char *v);

/* Replace a JSON member (`*slot`) with a new reference to `v` (NULL: none). */
void ib_record_set_json(json_t **slot, const json_t *v);

/*
 * Read a stored record (a JSON object) into the set under `node_id`, replacing one there.
 * A member of the wrong type fails with -OCCO_EPROTO naming the member; `what` (the key and
 * field, for messages) may be NULL.
 */
int ib_records_put_json(struct ib_records *s, const char *node_id, const json_t *v,
			const char *what, struct occo_err *err);

enum ib_record_flags {
	/*
	 * A member of the wrong type is left out instead of failing the record (for a destroy,
	 * which must be able to tear down what a hand edit broke); the record is read in part.
	 */
	IB_RECORD_LENIENT = 1u << 0,
};

/*
 * ib_records_put_json() with flags. With IB_RECORD_LENIENT, returns 1 when members were left
 * out, err saying what the first was (for a warning), 0 when none was.
 */
int ib_records_put_json_ex(struct ib_records *s, const char *node_id, const json_t *v,
			   const char *what, unsigned flags, struct occo_err *err);

/* ib_records_put_json() for every member of {node_id: record}. */
int ib_records_load_json(struct ib_records *s, const json_t *obj, struct occo_err *err);

/* The record as a new JSON object, as it is stored. */
json_t *ib_record_to_json(const struct ib_record *rec);

/* Every record, as a new {node_id: record}. */
json_t *ib_records_to_json(const struct ib_records *s);

/* Append the record's stored form (compact JSON text) to `out`. */
int ib_record_dump(const struct ib_record *rec, struct occo_buf *out, struct occo_err *err);

/*
 * Records grouped by node name: fill an array of refs (name, record, order: its place among
 * them), sort it, and each node's records are one run, in the order they were put in.
 */
struct ib_record_ref {
	const char *name;
	const struct ib_record *rec;
	size_t order;
};

void ib_record_refs_sort(struct ib_record_ref *v, size_t n);

/* The run of `name` in the sorted v[0..n): its first index in *first; returns its length. */
size_t ib_record_refs_run(const struct ib_record_ref *v, size_t n, const char *name, size_t *first);

#endif
