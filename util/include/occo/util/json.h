/*
 * json.h - helpers for the large JSON trees the engine keeps: sharing equal small values.
 *
 * An infrastructure description of 100,000 node types repeats the same small values in every
 * node: the infrastructure's id and name, `{"min": 1, "max": 1}`, `{}`, `[]`, the node-type
 * names again in the levels and the edges. jansson gives every one of them its own allocation
 * (a string costs about 80 bytes, an object about 400). A sharer makes equal values
 * one value, held by reference from every place that had a copy, so a description takes about
 * half the memory.
 *
 * A shared tree is read-only: a value may now have several parents, so changing a value in
 * place would change it everywhere. Code that needs to change part of such a tree changes a
 * copy (json_deep_copy) or replaces the child (json_object_set) instead.
 */
#ifndef OCCO_UTIL_JSON_H
#define OCCO_UTIL_JSON_H

#include <stddef.h>

#include <jansson.h>

/* What a sharer did, for tests and benchmarks. */
struct occo_json_share_stats {
	size_t values; /* values looked at */
	size_t shared; /* values replaced by an equal value seen before */
};

/*
 * A sharer replaces, bottom-up, every value that equals one seen before by that value:
 * strings of up to 256 bytes, numbers, and arrays and objects of up to 8 members that are all
 * shared values. The values seen so far are remembered between calls, so a builder can share
 * each part as soon as it is complete and the copies it made are freed at once. A sharer holds
 * a reference to every value it remembers until it is freed. A tree must not hold a cycle
 * (jansson cannot build one without json_object_set on itself).
 */
struct occo_json_sharer;

struct occo_json_sharer *occo_json_sharer_new(void);

/*
 * Share the members of v, then v itself: returns a reference to keep in v's place (an equal
 * value seen before, or v). Takes over the caller's reference to v, so that
 * `json_object_set_new(o, k, occo_json_sharer_put(sh, json_string(s)))` keeps one copy of s.
 * NULL gives NULL.
 */
json_t *occo_json_sharer_put(struct occo_json_sharer *sh, json_t *v);

/*
 * Parse the JSON text buf[0..len) into *out, sharing as it goes: the members of the top-level
 * value and of its arrays and objects are parsed one at a time and shared at once, so a large
 * document never exists unshared (a 100,000-type description: 400 MB parsed whole, under
 * 200 MB this way). Any JSON value is accepted at the top. On a syntax error returns -1 with
 * `e` set as jansson sets it (line, column and position counted from the start of buf).
 */
int occo_json_load_shared(const char *buf, size_t len, struct occo_json_sharer *sh, json_t **out,
			  json_error_t *e);

/* Forget every value (dropping the sharer's references); st (may be NULL) gets the counts. */
void occo_json_sharer_free(struct occo_json_sharer *sh, struct occo_json_share_stats *st);

/*
 * An index of an array of objects by one of their string members (a description's nodes by
 * name): 16 bytes an element, where a jansson object used as a map takes about 100. Elements
 * that are not objects or lack the member are left out; with equal members, one of them is
 * found. The index borrows the array, which must outlive it and not change.
 */
struct occo_json_index {
	struct occo_json_index_entry {
		const char *value; /* the member's */
		const json_t *elem;
	} * v; /* sorted by value */
	size_t n;
};

void occo_json_index_init(struct occo_json_index *ix, const json_t *array, const char *key);
/* The element whose member is value, or NULL. */
const json_t *occo_json_index_get(const struct occo_json_index *ix, const char *value);
void occo_json_index_release(struct occo_json_index *ix);

/* The room occo_json_escape() needs for a string of n bytes, its quotes and a NUL included. */
#define OCCO_JSON_ESCAPED_MAX(n) (6 * (n) + 3)

/*
 * Write the n bytes at s as a JSON string, quotes included, into out (which has room for
 * OCCO_JSON_ESCAPED_MAX(n) bytes), NUL-terminated; returns its length. Quotes, backslashes and
 * control characters are escaped; bytes that are not UTF-8 (a message cut in the middle of a
 * character) become U+FFFD, so the text is always valid JSON. For text that must not pass
 * through jansson, whose buffers are freed without being wiped (a password).
 */
size_t occo_json_escape(char *out, const char *s, size_t n);

#endif
