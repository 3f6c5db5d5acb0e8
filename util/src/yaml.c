/*
 * yaml.c - YAML files into jansson trees that remember where every node came from (see
 * occo/util/yaml.h).
 *
 * One pass over libyaml's events builds the tree with an explicit stack of open containers, so
 * nesting costs heap (bounded by max_depth), never C stack. Beside the tree the document keeps
 * two side tables, small open-addressing hashes over dense entry arrays:
 *   - by node identity: the mark and tag of each object, array, string and number;
 *   - by position (parent, key or index): where a value and its key were written and the tag
 *     there, which also covers true/false/null (jansson singletons) and aliases.
 * A node that was recorded in the tables but is not part of the tree (an import mapping that
 * was replaced, an inline merge source) is kept alive in `discarded` until the document is
 * freed, so that its address cannot be reused by another node while the tables name it.
 *
 * An import is a nested parse of the imported file into the same document, with its own anchors
 * and the same node budget. Each import counts as one nesting level, so the recursion through
 * imports is bounded by max_depth as well.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/yaml.h"

#define YAML_MAX_FILE_SIZE_DEFAULT ((size_t)16 << 20)
#define YAML_MAX_DEPTH_DEFAULT 512u
#define YAML_MAX_NODES_DEFAULT ((size_t)10000000)
/* Table entries are indexed with 32 bits; a few per node fit under this budget. */
#define YAML_MAX_NODES_HARD ((size_t)1 << 30)

#define STD_TAG_PREFIX "tag:yaml.org,2002:"
#define TAG_YAML_IMPORT "!yaml_import"
#define TAG_TEXT_IMPORT "!text_import"
/* How much of a scalar an error message quotes. */
#define QUOTE_MAX 64
#define QUOTE(s, n) (int)((n) > QUOTE_MAX ? QUOTE_MAX : (n)), (s)

/* ---- open-addressing hash over a dense entry array owned by the caller ---- */

struct ytab_slot {
	uint32_t idx; /* entry index + 1; 0 = empty */
	uint32_t hash;
};

struct ytab {
	struct ytab_slot *slots;
	size_t mask; /* number of slots - 1, a power of two minus one */
	size_t n; /* entries, which are numbered 0..n-1 in insertion order */
};

typedef bool (*ytab_eq_fn)(const void *ents, uint32_t idx, const void *key);

static void ytab_release(struct ytab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->n = 0;
}

/* The slot holding `key`, or the empty slot where it would go (NULL if the table is empty). */
static struct ytab_slot *ytab_find(const struct ytab *t, uint32_t h, ytab_eq_fn eq,
				   const void *ents, const void *key)
{
	size_t i;

	if (!t->slots)
		return NULL;
	for (i = h & t->mask;; i = (i + 1) & t->mask) {
		struct ytab_slot *s = &t->slots[i];

		if (!s->idx || (s->hash == h && eq(ents, s->idx - 1, key)))
			return s;
	}
}

static void ytab_grow(struct ytab *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 64;
	struct ytab_slot *slots = occo_calloc(cap, sizeof(*slots));
	size_t i, j;

	for (i = 0; t->slots && i <= t->mask; i++) {
		if (!t->slots[i].idx)
			continue;
		for (j = t->slots[i].hash & (cap - 1); slots[j].idx; j = (j + 1) & (cap - 1))
			;
		slots[j] = t->slots[i];
	}
	free(t->slots);
	t->slots = slots;
	t->mask = cap - 1;
}

/*
 * Find `key` or add it: returns its entry index and sets *added when it is new, in which case
 * the caller fills in entry t->n - 1 of its array.
 */
static uint32_t ytab_put(struct ytab *t, uint32_t h, ytab_eq_fn eq, const void *ents,
			 const void *key, bool *added)
{
	struct ytab_slot *s;

	if (!t->slots || (t->n + 1) * 3 > (t->mask + 1) * 2)
		ytab_grow(t);
	s = ytab_find(t, h, eq, ents, key);
	*added = !s->idx;
	if (s->idx)
		return s->idx - 1;
	s->idx = (uint32_t)++t->n;
	s->hash = h;
	return s->idx - 1;
}

static uint32_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static uint64_t fnv64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Make room for entry n of a dense array that grows by doubling. */
static void *grow_for(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t c;

	if (n < *cap)
		return arr;
	c = *cap ? *cap * 2 : 16;
	arr = occo_reallocarray(arr, c, size);
	*cap = c;
	return arr;
}

/* ---- the document ---- */

struct ynode_ent {
	const json_t *node;
	struct occo_yaml_mark mark;
	const char *tag;
};

struct ychild_ent {
	const json_t *parent;
	const char *key; /* NULL for an array element */
	size_t index;
	struct occo_yaml_mark mark;
	struct occo_yaml_mark key_mark; /* .file NULL for an array element */
	const char *tag;
};

/* Strings that live as long as the document: keys and tags of the side tables. */
struct yarena {
	struct yarena *next;
	size_t used;
	size_t cap;
	char data[];
};
#define YARENA_CHUNK 65536

struct occo_ydoc {
	json_t *root;
	json_t *discarded; /* array: recorded nodes that are not in the tree (see top) */
	char **files;
	size_t files_cap;
	struct ytab file_tab;
	struct ynode_ent *nodes;
	size_t nodes_cap;
	struct ytab node_tab;
	struct ychild_ent *children;
	size_t children_cap;
	struct ytab child_tab;
	struct yarena *arena;
};

static const char *doc_strndup(struct occo_ydoc *doc, const char *s, size_t n)
{
	struct yarena *a = doc->arena;
	char *r;

	if (!a || a->cap - a->used <= n) {
		size_t cap = n >= YARENA_CHUNK / 4 ? n + 1 : YARENA_CHUNK;
		struct yarena *c = occo_malloc(sizeof(*c) + cap);

		c->used = 0;
		c->cap = cap;
		if (a && cap != YARENA_CHUNK) {
			/* a big string gets a chunk of its own behind the one being filled */
			c->next = a->next;
			a->next = c;
		} else {
			c->next = a;
			doc->arena = c;
		}
		a = c;
	}
	r = a->data + a->used;
	memcpy(r, s, n);
	r[n] = '\0';
	a->used += n + 1;
	return r;
}

static bool file_eq(const void *ents, uint32_t idx, const void *key)
{
	return strcmp(((char *const *)ents)[idx], key) == 0;
}

/* The document's copy of a file name, added to its list of files on first use. */
static const char *doc_file(struct occo_ydoc *doc, const char *name)
{
	bool added;
	uint32_t i =
		ytab_put(&doc->file_tab, hash64(fnv64(name)), file_eq, doc->files, name, &added);

	if (added) {
		doc->files = grow_for(doc->files, &doc->files_cap, i, sizeof(*doc->files));
		doc->files[i] = occo_strdup(name);
	}
	return doc->files[i];
}

static bool node_eq(const void *ents, uint32_t idx, const void *key)
{
	return ((const struct ynode_ent *)ents)[idx].node == key;
}

static bool is_singleton(const json_t *v)
{
	return json_is_true(v) || json_is_false(v) || json_is_null(v);
}

static void node_put(struct occo_ydoc *doc, const json_t *node, const struct occo_yaml_mark *m,
		     const char *tag)
{
	struct ynode_ent *e;
	bool added;
	uint32_t i;

	if (is_singleton(node))
		return;
	i = ytab_put(&doc->node_tab, hash64((uintptr_t)node), node_eq, doc->nodes, node, &added);
	if (added)
		doc->nodes = grow_for(doc->nodes, &doc->nodes_cap, i, sizeof(*doc->nodes));
	e = &doc->nodes[i];
	e->node = node;
	e->mark = *m;
	e->tag = tag;
}

static const struct ynode_ent *node_get(const struct occo_ydoc *doc, const json_t *node)
{
	const struct ytab_slot *s;

	s = ytab_find(&doc->node_tab, hash64((uintptr_t)node), node_eq, doc->nodes, node);
	return s && s->idx ? &doc->nodes[s->idx - 1] : NULL;
}

struct ychild_key {
	const json_t *parent;
	const char *key;
	size_t index;
};

static bool child_eq(const void *ents, uint32_t idx, const void *key)
{
	const struct ychild_ent *e = &((const struct ychild_ent *)ents)[idx];
	const struct ychild_key *k = key;

	if (e->parent != k->parent)
		return false;
	if (k->key)
		return e->key && strcmp(e->key, k->key) == 0;
	return !e->key && e->index == k->index;
}

static uint32_t child_hash(const struct ychild_key *k)
{
	uint64_t x = (uintptr_t)k->parent * 0x9e3779b97f4a7c15ULL;

	return hash64(x ^ (k->key ? fnv64(k->key) : k->index));
}

/* Record parent[key] (key, a string of the document, NULL for an array) or parent[index]. */
static void child_put(struct occo_ydoc *doc, const json_t *parent, const char *key, size_t index,
		      const struct occo_yaml_mark *m, const struct occo_yaml_mark *key_mark,
		      const char *tag)
{
	struct ychild_key k = { parent, key, key ? 0 : index };
	struct ychild_ent *e;
	bool added;
	uint32_t i;

	i = ytab_put(&doc->child_tab, child_hash(&k), child_eq, doc->children, &k, &added);
	if (added)
		doc->children =
			grow_for(doc->children, &doc->children_cap, i, sizeof(*doc->children));
	e = &doc->children[i];
	e->parent = parent;
	e->key = key;
	e->index = k.index;
	e->mark = *m;
	if (key_mark)
		e->key_mark = *key_mark;
	else
		memset(&e->key_mark, 0, sizeof(e->key_mark));
	e->tag = tag;
}

static const struct ychild_ent *child_get(const struct occo_ydoc *doc, const json_t *parent,
					  const char *key, size_t index)
{
	struct ychild_key k = { parent, key, key ? 0 : index };
	const struct ytab_slot *s;

	s = ytab_find(&doc->child_tab, child_hash(&k), child_eq, doc->children, &k);
	return s && s->idx ? &doc->children[s->idx - 1] : NULL;
}

/* Keep a node that the tables name but the tree no longer holds (takes the reference). */
static void doc_discard(struct occo_ydoc *doc, json_t *v)
{
	if (!doc->discarded)
		doc->discarded = json_array();
	json_array_append_new(doc->discarded, v);
}

void occo_ydoc_free(struct occo_ydoc *doc)
{
	struct yarena *a, *next;
	size_t i;

	if (!doc)
		return;
	json_decref(doc->root);
	json_decref(doc->discarded);
	for (i = 0; i < doc->file_tab.n; i++)
		free(doc->files[i]);
	free(doc->files);
	ytab_release(&doc->file_tab);
	free(doc->nodes);
	ytab_release(&doc->node_tab);
	free(doc->children);
	ytab_release(&doc->child_tab);
	for (a = doc->arena; a; a = next) {
		next = a->next;
		free(a);
	}
	free(doc);
}

json_t *occo_ydoc_root(const struct occo_ydoc *doc)
{
	return doc->root;
}

const struct occo_yaml_mark *occo_ydoc_mark(const struct occo_ydoc *doc, const json_t *node)
{
	const struct ynode_ent *e = doc && node ? node_get(doc, node) : NULL;

	return e ? &e->mark : NULL;
}

const struct occo_yaml_mark *occo_ydoc_child_mark(const struct occo_ydoc *doc, const json_t *parent,
						  const char *key, size_t index)
{
	const struct ychild_ent *e = doc && parent ? child_get(doc, parent, key, index) : NULL;

	return e ? &e->mark : NULL;
}

const struct occo_yaml_mark *occo_ydoc_key_mark(const struct occo_ydoc *doc, const json_t *obj,
						const char *key)
{
	const struct ychild_ent *e = doc && obj && key ? child_get(doc, obj, key, 0) : NULL;

	return e && e->key_mark.file ? &e->key_mark : NULL;
}

const char *occo_ydoc_tag(const struct occo_ydoc *doc, const json_t *node)
{
	const struct ynode_ent *e = doc && node ? node_get(doc, node) : NULL;

	return e ? e->tag : NULL;
}

const char *occo_ydoc_child_tag(const struct occo_ydoc *doc, const json_t *parent, const char *key,
				size_t index)
{
	const struct ychild_ent *e = doc && parent ? child_get(doc, parent, key, index) : NULL;

	return e ? e->tag : NULL;
}

size_t occo_ydoc_nfiles(const struct occo_ydoc *doc)
{
	return doc->file_tab.n;
}

const char *occo_ydoc_file(const struct occo_ydoc *doc, size_t i)
{
	return i < doc->file_tab.n ? doc->files[i] : NULL;
}

/* ---- errors ---- */

__attribute__((format(printf, 4, 0))) static int yaml_verr(struct occo_err *err,
							   const struct occo_yaml_mark *mark,
							   int code, const char *fmt, va_list ap)
{
	char msg[OCCO_ERR_MSG_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!mark)
		return occo_err_set(err, code, "%s", msg);
	return occo_err_set(err, code, "%s:%u:%u: %s", mark->file ? mark->file : "<unknown>",
			    mark->line, mark->col, msg);
}

int occo_yaml_err(struct occo_err *err, const struct occo_yaml_mark *mark, int code,
		  const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = yaml_verr(err, mark, code, fmt, ap);
	va_end(ap);
	return rc;
}

/* ---- loading ---- */

/* A file being loaded, for cycle detection. */
struct ychain_link {
	dev_t dev;
	ino_t ino;
	const char *file;
};

/* One load call: the document, the limits, and what all of its files share. */
struct yload {
	struct occo_ydoc *doc;
	unsigned flags;
	size_t max_file_size;
	unsigned max_depth;
	size_t max_nodes;
	size_t nodes; /* counted so far, aliases expanded */
	struct ychain_link *chain;
	size_t nchain;
	size_t chain_cap;
	struct occo_err *err;
};

/* What a file (or an import) loaded to. */
struct yresult {
	json_t *root; /* a new reference */
	const char *tag;
	size_t count; /* nodes, aliases expanded */
};

struct yanchor {
	char *name;
	json_t *value; /* NULL while the anchored node is still open */
	size_t count;
	const char *tag;
};

enum yimport { IMPORT_NONE, IMPORT_YAML, IMPORT_TEXT };

/* An open mapping or sequence. */
struct yframe {
	json_t *node;
	struct occo_yaml_mark mark;
	const char *tag; /* kept tag or NULL */
	long anchor; /* index in the anchors, -1 if none */
	size_t count; /* nodes in this subtree so far, aliases expanded */
	bool is_map;
	enum yimport import;
	/* mappings: the key whose value comes next, NULL while a key is expected */
	const char *key;
	struct occo_yaml_mark key_mark;
	bool merge_pending; /* that key is '<<' */
	json_t *merges; /* values of '<<', merged at the end */
};

/* The parse of one file or string. */
struct yparse {
	struct yload *ld;
	const char *file; /* the document's copy */
	const char *dir; /* relative imports start here; NULL: the working directory */
	bool can_import;
	unsigned base_depth; /* nesting of the import site */
	yaml_parser_t parser;
	struct yframe *stack;
	size_t depth;
	size_t stack_cap;
	struct yanchor *anchors;
	size_t anchors_cap;
	struct ytab anchor_tab;
	json_t *root;
	const char *root_tag;
	size_t root_count;
};

__attribute__((format(printf, 4, 5))) static int
perr(struct yparse *p, const struct occo_yaml_mark *m, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = yaml_verr(p->ld->err, m, code, fmt, ap);
	va_end(ap);
	return rc;
}

/* A positioned error about a system call: "...: strerror(sys)", with err->sys kept. */
__attribute__((format(printf, 5, 6))) static int
sys_err(struct yload *ld, const struct occo_yaml_mark *m, int code, int sys, const char *fmt, ...)
{
	char msg[OCCO_ERR_MSG_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = occo_yaml_err(ld->err, m, code, "%s: %s", msg, strerror(sys));
	if (ld->err)
		ld->err->sys = sys;
	return rc;
}

/* A size limit was hit. */
__attribute__((format(printf, 3, 4))) static int
limit_err(struct yload *ld, const struct occo_yaml_mark *m, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = yaml_verr(ld->err, m, OCCO_ETOOBIG, fmt, ap);
	va_end(ap);
	return rc;
}

static int nomem(struct yparse *p, const struct occo_yaml_mark *m)
{
	return perr(p, m, OCCO_ENOMEM, "out of memory");
}

static struct occo_yaml_mark ymark(const struct yparse *p, const yaml_mark_t *m)
{
	struct occo_yaml_mark r = { p->file, (unsigned)m->line + 1, (unsigned)m->column + 1 };

	return r;
}

static int count_nodes(struct yload *ld, size_t n, const struct occo_yaml_mark *m)
{
	if (n > ld->max_nodes - ld->nodes)
		return limit_err(ld, m, "more than %zu nodes (aliases expanded)", ld->max_nodes);
	ld->nodes += n;
	return 0;
}

/* ---- anchors (per file) ---- */

static bool anchor_eq(const void *ents, uint32_t idx, const void *key)
{
	return strcmp(((const struct yanchor *)ents)[idx].name, key) == 0;
}

/* Define (or redefine) an anchor whose node is still open; returns its index. */
static long anchor_open(struct yparse *p, const char *name)
{
	bool added;
	uint32_t i =
		ytab_put(&p->anchor_tab, hash64(fnv64(name)), anchor_eq, p->anchors, name, &added);

	if (added) {
		p->anchors = grow_for(p->anchors, &p->anchors_cap, i, sizeof(*p->anchors));
		p->anchors[i].name = occo_strdup(name);
	} else {
		json_decref(p->anchors[i].value);
	}
	p->anchors[i].value = NULL;
	p->anchors[i].count = 0;
	p->anchors[i].tag = NULL;
	return i;
}

static void anchor_set(struct yparse *p, long i, json_t *v, size_t count, const char *tag)
{
	struct yanchor *a = &p->anchors[i];

	json_decref(a->value);
	a->value = json_incref(v);
	a->count = count;
	a->tag = tag;
}

static const struct yanchor *anchor_get(const struct yparse *p, const char *name)
{
	const struct ytab_slot *s;

	s = ytab_find(&p->anchor_tab, hash64(fnv64(name)), anchor_eq, p->anchors, name);
	return s && s->idx ? &p->anchors[s->idx - 1] : NULL;
}

/* ---- tags and scalars ---- */

enum ytag {
	YTAG_NONE, /* no tag, or one that is kept: the value loads as if untagged */
	YTAG_BANG, /* "!": the non-specific tag, a string for a scalar */
	YTAG_STR,
	YTAG_INT,
	YTAG_FLOAT,
	YTAG_BOOL,
	YTAG_NULL,
	YTAG_MAP,
	YTAG_SEQ,
	YTAG_YAML_IMPORT,
	YTAG_TEXT_IMPORT,
};

static const struct {
	const char *name;
	enum ytag kind;
} std_tags[] = {
	{ "str", YTAG_STR },   { "int", YTAG_INT },   { "float", YTAG_FLOAT },
	{ "bool", YTAG_BOOL }, { "null", YTAG_NULL }, { "map", YTAG_MAP },
	{ "seq", YTAG_SEQ },   { "set", YTAG_MAP }, /* a mapping whose values are null */
	{ "omap", YTAG_SEQ },  { "pairs", YTAG_SEQ },
};

/* A tag as written: "tag:yaml.org,2002:str" is shown as "!!str". */
static const char *tag_show(const char *tag, char *buf, size_t n)
{
	size_t plen = strlen(STD_TAG_PREFIX);

	if (strncmp(tag, STD_TAG_PREFIX, plen) != 0)
		return tag;
	snprintf(buf, n, "!!%s", tag + plen);
	return buf;
}

/* What a tag asks for; *kept is the document's copy of a tag that is kept (NULL otherwise). */
static int tag_classify(struct yparse *p, const yaml_char_t *utag, const struct occo_yaml_mark *m,
			enum ytag *kind, const char **kept)
{
	const char *tag = (const char *)utag;
	size_t plen = strlen(STD_TAG_PREFIX);
	char buf[256];
	size_t i;

	*kind = YTAG_NONE;
	*kept = NULL;
	if (!tag)
		return 0;
	if (strcmp(tag, "!") == 0) {
		*kind = YTAG_BANG;
		return 0;
	}
	if (strcmp(tag, TAG_YAML_IMPORT) == 0) {
		*kind = YTAG_YAML_IMPORT;
		return 0;
	}
	if (strcmp(tag, TAG_TEXT_IMPORT) == 0) {
		*kind = YTAG_TEXT_IMPORT;
		return 0;
	}
	if (strncmp(tag, STD_TAG_PREFIX, plen) == 0) {
		for (i = 0; i < sizeof(std_tags) / sizeof(std_tags[0]); i++) {
			if (strcmp(tag + plen, std_tags[i].name) == 0) {
				*kind = std_tags[i].kind;
				return 0;
			}
		}
	}
	tag = tag_show(tag, buf, sizeof(buf));
	if (p->ld->flags & OCCO_YAML_STRICT_TAGS)
		return perr(p, m, OCCO_EINVAL, "unknown tag '%s'", tag);
	*kept = doc_strndup(p->ld->doc, tag, strlen(tag));
	return 0;
}

static bool text_is(const char *s, size_t len, const char *const *words)
{
	for (; *words; words++) {
		if (strlen(*words) == len && memcmp(s, *words, len) == 0)
			return true;
	}
	return false;
}

static size_t span_digits(const char *s, size_t len, size_t i, int base)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t n = base == 16 ? sizeof(hex) - 1 : (size_t)base;

	while (i < len && memchr(hex, s[i], n))
		i++;
	return i;
}

/* `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` of the core schema. */
static bool is_float_text(const char *s, size_t len)
{
	size_t i = 0, j, digits, frac = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	j = span_digits(s, len, i, 10);
	digits = j - i;
	i = j;
	if (i < len && s[i] == '.') {
		j = span_digits(s, len, i + 1, 10);
		frac = j - (i + 1);
		i = j;
	}
	if (!digits && !frac)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		j = span_digits(s, len, i, 10);
		if (j == i)
			return false;
		i = j;
	}
	return i == len;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* strtod that reads '.' as the decimal point whatever the process's locale. */
static double strtod_c(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale ? strtod_l(s, end, c_locale) : strtod(s, end);
}

enum yscalar { YS_STR, YS_NULL, YS_BOOL, YS_INT, YS_FLOAT };

static int not_finite(struct yparse *p, const struct occo_yaml_mark *m, const char *s, size_t len)
{
	return perr(p, m, OCCO_ENOTSUP, "number '%.*s' is not finite, which JSON cannot hold",
		    QUOTE(s, len));
}

/*
 * Resolve scalar text by the YAML 1.2 core schema. *out gets the value (a new reference) for
 * everything but a string (*kind YS_STR, *out NULL). The text is NUL-terminated at len, as
 * libyaml leaves it.
 */
static int scalar_resolve(struct yparse *p, const char *s, size_t len,
			  const struct occo_yaml_mark *m, enum yscalar *kind, json_t **out)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const infs[] = { ".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
					    "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
					    ".NaN",  ".NAN",  NULL };
	static const char starts[] = "0123456789+-.~nNtTfF";
	size_t i = 0;
	int base = 10;
	char *end;

	*kind = YS_STR;
	*out = NULL;
	if (len == 0 || text_is(s, len, nulls)) {
		*kind = YS_NULL;
		*out = json_null();
		return 0;
	}
	if (!memchr(starts, s[0], sizeof(starts) - 1))
		return 0;
	if (text_is(s, len, trues) || text_is(s, len, falses)) {
		*kind = YS_BOOL;
		*out = json_boolean(s[0] == 't' || s[0] == 'T');
		return 0;
	}
	if (len > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		base = s[1] == 'o' ? 8 : 16;
		i = 2;
	} else if (s[0] == '-' || s[0] == '+') {
		i = 1;
	}
	if (i < len && span_digits(s, len, i, base) == len) {
		long long v;

		errno = 0;
		if (base == 10) {
			v = strtoll(s, &end, 10);
		} else {
			unsigned long long u = strtoull(s + 2, &end, base);

			if (u > LLONG_MAX)
				errno = ERANGE;
			v = (long long)u;
		}
		if (errno == ERANGE)
			return perr(p, m, OCCO_EINVAL, "integer '%.*s' is out of range",
				    QUOTE(s, len));
		*kind = YS_INT;
		*out = json_integer(v);
		return *out ? 0 : nomem(p, m);
	}
	if (is_float_text(s, len)) {
		double d = strtod_c(s, &end);

		if (!isfinite(d))
			return not_finite(p, m, s, len);
		*kind = YS_FLOAT;
		*out = json_real(d);
		return *out ? 0 : nomem(p, m);
	}
	if (text_is(s, len, infs))
		return not_finite(p, m, s, len);
	return 0;
}

/* The value of a scalar event (a new reference); *kept its kept tag. */
static int make_scalar(struct yparse *p, const yaml_event_t *ev, const struct occo_yaml_mark *m,
		       json_t **out, const char **kept)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	enum yscalar ys = YS_STR, want;
	enum ytag kind;
	json_t *v = NULL;
	char buf[256];
	int rc;

	rc = tag_classify(p, ev->data.scalar.tag, m, &kind, kept);
	if (rc < 0)
		return rc;
	switch (kind) {
	case YTAG_NONE:
		if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			break;
		/* fall through */
	case YTAG_INT:
	case YTAG_FLOAT:
	case YTAG_BOOL:
	case YTAG_NULL:
		rc = scalar_resolve(p, s, len, m, &ys, &v);
		if (rc < 0)
			return rc;
		break;
	case YTAG_BANG:
	case YTAG_STR:
		break;
	case YTAG_MAP:
	case YTAG_SEQ:
		return perr(p, m, OCCO_EINVAL, "tag '%s' cannot be used on a scalar",
			    tag_show((const char *)ev->data.scalar.tag, buf, sizeof(buf)));
	case YTAG_YAML_IMPORT:
	case YTAG_TEXT_IMPORT:
		return perr(p, m, OCCO_EINVAL, "'%s' must tag a mapping with a 'url' key",
			    (const char *)ev->data.scalar.tag);
	}
	if (kind == YTAG_FLOAT && ys == YS_INT) {
		json_t *r = json_real((double)json_integer_value(v));

		json_decref(v);
		if (!r)
			return nomem(p, m);
		v = r;
		ys = YS_FLOAT;
	}
	want = kind == YTAG_INT	    ? YS_INT
	       : kind == YTAG_FLOAT ? YS_FLOAT
	       : kind == YTAG_BOOL  ? YS_BOOL
	       : kind == YTAG_NULL  ? YS_NULL
				    : ys;
	if (ys != want) {
		json_decref(v);
		return perr(p, m, OCCO_EINVAL, "value '%.*s' does not match its tag '%s'",
			    QUOTE(s, len),
			    tag_show((const char *)ev->data.scalar.tag, buf, sizeof(buf)));
	}
	if (!v) {
		v = json_stringn(s, len);
		if (!v)
			return perr(p, m, OCCO_EINVAL, "string '%.*s' is not valid UTF-8",
				    QUOTE(s, len));
	}
	*out = v;
	return 0;
}

/* ---- building the tree ---- */

static struct yframe *top(struct yparse *p)
{
	return p->depth ? &p->stack[p->depth - 1] : NULL;
}

static bool expecting_key(struct yparse *p)
{
	struct yframe *f = top(p);

	return f && f->is_map && !f->key;
}

static int map_key(struct yparse *p, struct yframe *f, const char *s, size_t len,
		   const struct occo_yaml_mark *m, bool merge)
{
	if (memchr(s, '\0', len))
		return perr(p, m, OCCO_EINVAL, "key '%.*s' contains a NUL character",
			    QUOTE(s, len));
	if (merge ? f->merges != NULL : json_object_get(f->node, s) != NULL)
		return perr(p, m, OCCO_EINVAL, "duplicate key '%.*s'", QUOTE(s, len));
	f->key = doc_strndup(p->ld->doc, s, len);
	f->key_mark = *m;
	f->merge_pending = merge;
	return 0;
}

/* The value of '<<': a mapping or a sequence of mappings, kept for the end of the mapping. */
static int merge_add(struct yparse *p, struct yframe *f, json_t *v, const struct occo_yaml_mark *m)
{
	const struct ychild_ent *ce;
	json_t *e;
	size_t i;
	int rc;

	if (json_is_array(v)) {
		json_array_foreach (v, i, e) {
			if (json_is_object(e))
				continue;
			ce = child_get(p->ld->doc, v, NULL, i);
			rc = perr(p, ce ? &ce->mark : m, OCCO_EINVAL,
				  "merge key '<<' needs mappings, but item %zu is not a mapping",
				  i + 1);
			json_decref(v);
			return rc;
		}
	} else if (!json_is_object(v)) {
		json_decref(v);
		return perr(p, m, OCCO_EINVAL,
			    "merge key '<<' needs a mapping or a sequence of mappings");
	}
	if (!f->merges)
		f->merges = json_array();
	if (!f->merges || json_array_append_new(f->merges, v))
		return nomem(p, m);
	return 0;
}

/* Copy the keys of src that obj does not have, with their marks and tags. */
static int merge_one(struct yparse *p, const struct yframe *f, json_t *src)
{
	struct occo_ydoc *doc = p->ld->doc;
	const struct ychild_ent *ce;
	struct ychild_ent c;
	const char *k;
	json_t *v;

	json_object_foreach (src, k, v) {
		if (json_object_get(f->node, k))
			continue;
		if (json_object_set(f->node, k, v))
			return nomem(p, &f->mark);
		ce = child_get(doc, src, k, 0);
		if (!ce)
			continue;
		c = *ce; /* child_put may move the entries */
		child_put(doc, f->node, doc_strndup(doc, k, strlen(k)), 0, &c.mark, &c.key_mark,
			  c.tag);
	}
	return 0;
}

/* YAML 1.1 merge: keys written in the mapping win, then earlier merged mappings. */
static int merge_apply(struct yparse *p, const struct yframe *f)
{
	json_t *mv, *src;
	size_t i, j;
	int rc = 0;

	json_array_foreach (f->merges, i, mv) {
		if (json_is_object(mv)) {
			rc = merge_one(p, f, mv);
		} else {
			json_array_foreach (mv, j, src) {
				rc = merge_one(p, f, src);
				if (rc < 0)
					break;
			}
		}
		if (rc < 0)
			break;
	}
	return rc;
}

/* Put a finished value (the reference is taken) where the open container wants it. */
static int attach(struct yparse *p, json_t *v, const struct occo_yaml_mark *m, const char *tag,
		  size_t count)
{
	struct yframe *f = top(p);
	size_t i;

	if (!f) {
		p->root = v;
		p->root_tag = tag;
		p->root_count = count;
		return 0;
	}
	f->count += count;
	if (!f->is_map) {
		i = json_array_size(f->node);
		if (json_array_append_new(f->node, v))
			return nomem(p, m);
		child_put(p->ld->doc, f->node, NULL, i, m, NULL, tag);
		return 0;
	}
	if (f->merge_pending) {
		f->key = NULL;
		f->merge_pending = false;
		return merge_add(p, f, v, m);
	}
	if (json_object_set_new(f->node, f->key, v))
		return perr(p, &f->key_mark, OCCO_EINVAL, "key '%s' cannot be stored", f->key);
	child_put(p->ld->doc, f->node, f->key, 0, m, &f->key_mark, tag);
	f->key = NULL;
	return 0;
}

static int on_key_scalar(struct yparse *p, const yaml_event_t *ev, const struct occo_yaml_mark *m)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	const char *tag = NULL;
	json_t *v = NULL;
	int rc;

	if (ev->data.scalar.tag || anchor) {
		/* check the tag; an anchored key can be aliased as a value */
		rc = make_scalar(p, ev, m, &v, &tag);
		if (rc < 0)
			return rc;
		if (anchor) {
			node_put(p->ld->doc, v, m, tag);
			anchor_set(p, anchor_open(p, anchor), v, 1, tag);
			doc_discard(p->ld->doc, v);
		} else {
			json_decref(v);
		}
	}
	return map_key(p, top(p), s, len, m,
		       !ev->data.scalar.tag && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			       len == 2 && memcmp(s, "<<", 2) == 0);
}

static int on_scalar(struct yparse *p, const yaml_event_t *ev)
{
	struct occo_yaml_mark m = ymark(p, &ev->start_mark);
	const char *anchor = (const char *)ev->data.scalar.anchor;
	const char *tag = NULL;
	json_t *v = NULL;
	int rc;

	rc = count_nodes(p->ld, 1, &m);
	if (rc < 0)
		return rc;
	if (expecting_key(p))
		return on_key_scalar(p, ev, &m);
	rc = make_scalar(p, ev, &m, &v, &tag);
	if (rc < 0)
		return rc;
	node_put(p->ld->doc, v, &m, tag);
	if (anchor)
		anchor_set(p, anchor_open(p, anchor), v, 1, tag);
	return attach(p, v, &m, tag, 1);
}

static int on_alias(struct yparse *p, const yaml_event_t *ev)
{
	struct occo_yaml_mark m = ymark(p, &ev->start_mark);
	const char *name = (const char *)ev->data.alias.anchor;
	const struct yanchor *a = anchor_get(p, name);
	int rc;

	if (!a)
		return perr(p, &m, OCCO_EINVAL, "unknown alias '*%s'", name);
	if (!a->value)
		return perr(p, &m, OCCO_EINVAL, "alias '*%s' refers to a node that contains it",
			    name);
	rc = count_nodes(p->ld, a->count, &m);
	if (rc < 0)
		return rc;
	if (expecting_key(p)) {
		if (!json_is_string(a->value))
			return perr(p, &m, OCCO_EINVAL,
				    "alias '*%s' is used as a key, but is not a string", name);
		return map_key(p, top(p), json_string_value(a->value), json_string_length(a->value),
			       &m, false);
	}
	return attach(p, json_incref(a->value), &m, a->tag, a->count);
}

static int on_start(struct yparse *p, const yaml_event_t *ev, bool is_map)
{
	struct occo_yaml_mark m = ymark(p, &ev->start_mark);
	const yaml_char_t *utag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	const yaml_char_t *anchor =
		is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
	const char *what = is_map ? "mapping" : "sequence";
	enum yimport import = IMPORT_NONE;
	const char *kept;
	enum ytag kind;
	struct yframe *f;
	char buf[256];
	json_t *node;
	int rc;

	if (expecting_key(p))
		return perr(p, &m, OCCO_EINVAL, "a mapping key must be a scalar, not a %s", what);
	if (p->base_depth + p->depth >= p->ld->max_depth)
		return perr(p, &m, OCCO_ETOOBIG, "nesting is deeper than the limit of %u levels",
			    p->ld->max_depth);
	rc = tag_classify(p, utag, &m, &kind, &kept);
	if (rc < 0)
		return rc;
	if (kind == YTAG_YAML_IMPORT || kind == YTAG_TEXT_IMPORT) {
		if (!is_map)
			return perr(p, &m, OCCO_EINVAL, "'%s' must tag a mapping with a 'url' key",
				    (const char *)utag);
		if (p->ld->flags & OCCO_YAML_NO_IMPORTS)
			return perr(p, &m, OCCO_ENOTSUP, "'%s' is not allowed here",
				    (const char *)utag);
		if (!p->can_import)
			return perr(p, &m, OCCO_ENOTSUP,
				    "'%s' is not allowed in '%s', which has no directory",
				    (const char *)utag, p->file);
		import = kind == YTAG_YAML_IMPORT ? IMPORT_YAML : IMPORT_TEXT;
	} else if (kind != YTAG_NONE && kind != YTAG_BANG &&
		   kind != (is_map ? YTAG_MAP : YTAG_SEQ)) {
		return perr(p, &m, OCCO_EINVAL, "tag '%s' cannot be used on a %s",
			    tag_show((const char *)utag, buf, sizeof(buf)), what);
	}
	rc = count_nodes(p->ld, 1, &m);
	if (rc < 0)
		return rc;
	node = is_map ? json_object() : json_array();
	if (!node)
		return nomem(p, &m);
	node_put(p->ld->doc, node, &m, kept);
	p->stack = grow_for(p->stack, &p->stack_cap, p->depth, sizeof(*p->stack));
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->node = node;
	f->mark = m;
	f->tag = kept;
	f->anchor = anchor ? anchor_open(p, (const char *)anchor) : -1;
	f->count = 1;
	f->is_map = is_map;
	f->import = import;
	return 0;
}

static int load_yaml(struct yload *ld, const char *path, const struct occo_yaml_mark *site,
		     unsigned base_depth, struct yresult *res);
static int load_text(struct yload *ld, const char *path, const struct occo_yaml_mark *site,
		     struct yresult *res);

/* Load what an import mapping names. */
static int import_load(struct yparse *p, const struct yframe *f, struct yresult *res)
{
	const char *what = f->import == IMPORT_YAML ? TAG_YAML_IMPORT : TAG_TEXT_IMPORT;
	const struct ychild_ent *ue = child_get(p->ld->doc, f->node, "url", 0);
	json_t *url = json_object_get(f->node, "url");
	const char *u, *rel;
	char *path;
	int rc;

	if (!json_is_string(url))
		return perr(p, ue ? &ue->mark : &f->mark, OCCO_ENOTSUP,
			    "'%s' needs a 'url' key: only file://PATH is supported", what);
	u = json_string_value(url);
	if (strncmp(u, "file://", 7) != 0 || !u[7])
		return perr(p, ue ? &ue->mark : &f->mark, OCCO_ENOTSUP,
			    "unsupported URL '%s' in '%s': only file://PATH is supported", u, what);
	rel = u + 7;
	if (rel[0] == '/' || !p->dir)
		path = occo_strdup(rel);
	else
		path = occo_asprintf("%s/%s", p->dir, rel);
	if (f->import == IMPORT_YAML)
		rc = load_yaml(p->ld, path, &f->mark, p->base_depth + p->depth + 1, res);
	else
		rc = load_text(p->ld, path, &f->mark, res);
	free(path);
	return rc;
}

static int on_end(struct yparse *p)
{
	struct yframe f = p->stack[--p->depth];
	struct yresult res = { f.node, f.tag, f.count };
	int rc = 0;

	if (f.merges) {
		rc = merge_apply(p, &f);
		doc_discard(p->ld->doc, f.merges);
	}
	if (rc == 0 && f.import) {
		rc = import_load(p, &f, &res);
		if (rc == 0)
			doc_discard(p->ld->doc, f.node);
	}
	if (rc < 0) {
		json_decref(f.node);
		return rc;
	}
	if (f.anchor >= 0)
		anchor_set(p, f.anchor, res.root, res.count, res.tag);
	return attach(p, res.root, &f.mark, res.tag, res.count);
}

/* Line and column of a byte offset (libyaml's reader errors give only the offset). */
static struct occo_yaml_mark offset_mark(const struct yparse *p, const char *text, size_t len,
					 size_t off)
{
	struct occo_yaml_mark m = { p->file, 1, 1 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			m.line++;
			m.col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			m.col++;
		}
	}
	return m;
}

static int parser_error(struct yparse *p, const char *text, size_t len)
{
	const yaml_parser_t *yp = &p->parser;
	struct occo_yaml_mark m = ymark(p, &yp->problem_mark);
	const char *problem = yp->problem ? yp->problem : "syntax error";

	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		return perr(p, NULL, OCCO_ENOMEM, "out of memory while parsing '%s'", p->file);
	case YAML_READER_ERROR:
		m = offset_mark(p, text, len, yp->problem_offset);
		if (yp->problem_value != -1)
			return perr(p, &m, OCCO_EINVAL, "%s (0x%02x)", problem, yp->problem_value);
		return perr(p, &m, OCCO_EINVAL, "%s", problem);
	default:
		if (yp->context)
			return perr(p, &m, OCCO_EINVAL, "%s %s", problem, yp->context);
		return perr(p, &m, OCCO_EINVAL, "%s", problem);
	}
}

static void parse_release(struct yparse *p)
{
	size_t i;

	for (i = 0; i < p->depth; i++) {
		json_decref(p->stack[i].node);
		json_decref(p->stack[i].merges);
	}
	free(p->stack);
	for (i = 0; i < p->anchor_tab.n; i++) {
		free(p->anchors[i].name);
		json_decref(p->anchors[i].value);
	}
	free(p->anchors);
	ytab_release(&p->anchor_tab);
	json_decref(p->root);
	yaml_parser_delete(&p->parser);
}

/* Parse one file's text into the document. */
static int parse_text(struct yload *ld, const char *text, size_t len, const char *file,
		      const char *dir, bool can_import, unsigned base_depth, struct yresult *res)
{
	struct yparse p = { .ld = ld,
			    .file = file,
			    .dir = dir,
			    .can_import = can_import,
			    .base_depth = base_depth };
	struct occo_yaml_mark m;
	yaml_event_t ev;
	bool done = false;
	int ndocs = 0;
	int rc = 0;

	if (!yaml_parser_initialize(&p.parser))
		return occo_err_set(ld->err, OCCO_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&p.parser, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p.parser, &ev)) {
			rc = parser_error(&p, text, len);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (ndocs++) {
				m = ymark(&p, &ev.start_mark);
				rc = perr(&p, &m, OCCO_EINVAL,
					  "a second document: only one is allowed per file");
			}
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(&p, &ev);
			break;
		case YAML_ALIAS_EVENT:
			rc = on_alias(&p, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = on_start(&p, &ev, false);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = on_start(&p, &ev, true);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = on_end(&p);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (rc == 0) {
		res->root = p.root ? p.root : json_null();
		res->tag = p.root_tag;
		res->count = p.root_count;
		p.root = NULL;
	}
	parse_release(&p);
	return rc;
}

/* ---- files ---- */

/* Open a file and check its size against the limit before anything is read. */
static int file_open(struct yload *ld, const char *path, const struct occo_yaml_mark *site,
		     int *fd_out, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e;

	if (fd < 0) {
		e = errno;
		return sys_err(ld, site, e == ENOENT ? OCCO_ENOENT : OCCO_EIO, e,
			       "cannot open '%s'", path);
	}
	if (fstat(fd, st) < 0) {
		e = errno;
		close(fd);
		return sys_err(ld, site, OCCO_EIO, e, "cannot stat '%s'", path);
	}
	if (S_ISREG(st->st_mode) && (uintmax_t)st->st_size > ld->max_file_size) {
		close(fd);
		return limit_err(ld, site, "'%s' is %jd bytes, over the limit of %zu bytes", path,
				 (intmax_t)st->st_size, ld->max_file_size);
	}
	*fd_out = fd;
	return 0;
}

static int file_read(struct yload *ld, int fd, const char *path, const struct occo_yaml_mark *site,
		     struct occo_buf *out)
{
	char chunk[16384];
	ssize_t n;

	occo_buf_init(out, ld->max_file_size);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			occo_buf_release(out);
			return sys_err(ld, site, OCCO_EIO, errno, "cannot read '%s'", path);
		}
		if (n == 0)
			return 0;
		if (occo_buf_append(out, chunk, (size_t)n, NULL) < 0) {
			occo_buf_release(out);
			return limit_err(ld, site, "'%s' is over the limit of %zu bytes", path,
					 ld->max_file_size);
		}
	}
}

static int chain_check(struct yload *ld, const char *path, const struct occo_yaml_mark *site,
		       const struct stat *st)
{
	struct occo_buf b;
	size_t i, j;
	int rc;

	for (i = 0; i < ld->nchain; i++) {
		if (ld->chain[i].dev == st->st_dev && ld->chain[i].ino == st->st_ino)
			break;
	}
	if (i == ld->nchain)
		return 0;
	occo_buf_init(&b, OCCO_ERR_MSG_MAX);
	for (j = i; j < ld->nchain; j++)
		occo_buf_appendf(&b, NULL, "%s -> ", ld->chain[j].file);
	occo_buf_appends(&b, path, NULL);
	rc = occo_yaml_err(ld->err, site, OCCO_ECYCLE, "import cycle: %s", occo_buf_str(&b));
	occo_buf_release(&b);
	return rc;
}

/* The directory part of a path, NULL for a bare file name. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return NULL;
	if (slash == path)
		return occo_strdup("/");
	return occo_strndup(path, (size_t)(slash - path));
}

/* Load a YAML file into the document; `site` is the import tag (NULL for the main file). */
static int load_yaml(struct yload *ld, const char *path, const struct occo_yaml_mark *site,
		     unsigned base_depth, struct yresult *res)
{
	struct occo_buf text = { 0 };
	struct stat st;
	const char *name;
	char *dir;
	int fd = -1, rc;

	rc = file_open(ld, path, site, &fd, &st);
	if (rc < 0)
		return rc;
	rc = chain_check(ld, path, site, &st);
	if (rc == 0)
		rc = file_read(ld, fd, path, site, &text);
	close(fd);
	if (rc < 0)
		return rc;
	name = doc_file(ld->doc, path);
	dir = dir_of(name);
	ld->chain = grow_for(ld->chain, &ld->chain_cap, ld->nchain, sizeof(*ld->chain));
	ld->chain[ld->nchain++] = (struct ychain_link){ st.st_dev, st.st_ino, name };
	rc = parse_text(ld, occo_buf_str(&text), text.len, name, dir, true, base_depth, res);
	ld->nchain--;
	free(dir);
	occo_buf_release(&text);
	return rc;
}

static int load_text(struct yload *ld, const char *path, const struct occo_yaml_mark *site,
		     struct yresult *res)
{
	struct occo_yaml_mark m = { NULL, 1, 1 };
	struct occo_buf text = { 0 };
	struct stat st;
	json_t *s;
	int fd = -1, rc;

	rc = file_open(ld, path, site, &fd, &st);
	if (rc < 0)
		return rc;
	rc = file_read(ld, fd, path, site, &text);
	close(fd);
	if (rc < 0)
		return rc;
	rc = count_nodes(ld, 1, site);
	s = rc == 0 ? json_stringn(occo_buf_str(&text), text.len) : NULL;
	occo_buf_release(&text);
	if (rc < 0)
		return rc;
	if (!s)
		return occo_yaml_err(ld->err, site, OCCO_EINVAL, "'%s' is not valid UTF-8 text",
				     path);
	m.file = doc_file(ld->doc, path);
	node_put(ld->doc, s, &m, NULL);
	res->root = s;
	res->tag = NULL;
	res->count = 1;
	return 0;
}

static void load_init(struct yload *ld, const struct occo_yaml_opts *opts, struct occo_err *err)
{
	memset(ld, 0, sizeof(*ld));
	ld->doc = occo_calloc(1, sizeof(*ld->doc));
	ld->err = err;
	ld->flags = opts ? opts->flags : 0;
	ld->max_file_size =
		opts && opts->max_file_size ? opts->max_file_size : YAML_MAX_FILE_SIZE_DEFAULT;
	ld->max_depth = opts && opts->max_depth ? opts->max_depth : YAML_MAX_DEPTH_DEFAULT;
	ld->max_nodes = opts && opts->max_nodes ? opts->max_nodes : YAML_MAX_NODES_DEFAULT;
	if (ld->max_nodes > YAML_MAX_NODES_HARD)
		ld->max_nodes = YAML_MAX_NODES_HARD;
}

static int load_finish(struct yload *ld, int rc, const struct yresult *res, struct occo_ydoc **out)
{
	free(ld->chain);
	if (rc < 0) {
		occo_ydoc_free(ld->doc);
		return rc;
	}
	ld->doc->root = res->root;
	*out = ld->doc;
	return 0;
}

int occo_yaml_load_file(const char *path, const struct occo_yaml_opts *opts, struct occo_ydoc **out,
			struct occo_err *err)
{
	struct yresult res = { 0 };
	struct yload ld;
	int rc;

	load_init(&ld, opts, err);
	rc = load_yaml(&ld, path, NULL, 0, &res);
	return load_finish(&ld, rc, &res, out);
}

int occo_yaml_load_string(const char *text, size_t len, const char *name, const char *base_dir,
			  const struct occo_yaml_opts *opts, struct occo_ydoc **out,
			  struct occo_err *err)
{
	struct yresult res = { 0 };
	struct yload ld;
	const char *file;
	int rc;

	load_init(&ld, opts, err);
	file = doc_file(ld.doc, name ? name : "<string>");
	if (len > ld.max_file_size)
		rc = limit_err(&ld, NULL, "'%s' is %zu bytes, over the limit of %zu bytes", file,
			       len, ld.max_file_size);
	else
		rc = parse_text(&ld, text ? text : "", len, file, base_dir, base_dir != NULL, 0,
				&res);
	return load_finish(&ld, rc, &res, out);
}
