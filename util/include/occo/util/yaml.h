/*
 * yaml.h - YAML files loaded into jansson trees that remember where every node came from.
 *
 * A document is loaded with libyaml's event parser into a json_t tree (mappings -> objects,
 * sequences -> arrays, scalars -> strings/integers/reals/true/false/null by the YAML 1.2 core
 * schema, as ruamel.yaml resolves them for Occopus). Beside the tree, the document keeps the
 * source mark (file, line, column; 1-based) of every node and of every mapping key, so that a
 * later check can say "infra.yaml:12:5: unknown key 'nmae'".
 *
 * - Anchors and aliases resolve to the *same* json_t (a reference, not a copy): Occopus
 *   dependencies name nodes by alias, and the compiler matches them by identity.
 * - Merge keys (`<<: *base`, `<<: [*a, *b]`) copy the keys that the mapping does not set itself.
 * - `!yaml_import {url: file://PATH}` is replaced by the tree of another YAML file and
 *   `!text_import {url: file://PATH}` by that file's text; a relative PATH is relative to the
 *   directory of the including file. Other URL schemes are errors, and so are import cycles.
 * - Any other tag (Occopus's `!python_import`, `!ResourceHandler`, ...) loads as its plain
 *   value with the tag kept (occo_ydoc_tag), so a stock occopus_config.yaml loads.
 * - Limits: file size, nesting depth and the node count after alias expansion are bounded, so a
 *   hostile file ("billion laughs", 50 MB of junk) fails with an error instead of exhausting
 *   memory or the stack.
 *
 * Every error message starts with "FILE:LINE:COL: ".
 */
#ifndef OCCO_UTIL_YAML_H
#define OCCO_UTIL_YAML_H

#include <stddef.h>

#include <jansson.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"

/* Where a node or key was written. `file` lives as long as the document. */
struct occo_yaml_mark {
	const char *file;
	unsigned line; /* 1-based */
	unsigned col; /* 1-based */
};

enum occo_yaml_flags {
	OCCO_YAML_NO_IMPORTS = 1u << 0, /* !yaml_import / !text_import are errors (REST bodies) */
	OCCO_YAML_STRICT_TAGS = 1u << 1, /* unknown tags are errors instead of being kept */
};

struct occo_yaml_opts {
	unsigned flags; /* enum occo_yaml_flags */
	size_t max_file_size; /* bytes per file; 0 = 16 MiB */
	unsigned max_depth; /* nesting depth; 0 = 512 */
	size_t max_nodes; /* nodes counted with aliases expanded; 0 = 10 million */
};

/* A loaded document: the tree plus its marks and tags. */
struct occo_ydoc;

/*
 * Load the YAML file at `path` (opts may be NULL for the defaults). On success *out is a new
 * document the caller frees with occo_ydoc_free. An empty file loads as JSON null.
 */
int occo_yaml_load_file(const char *path, const struct occo_yaml_opts *opts, struct occo_ydoc **out,
			struct occo_err *err);

/*
 * Load YAML text. `name` is what marks and errors call the source (e.g. "<request body>");
 * `base_dir` is where relative imports are looked up (NULL: imports are errors).
 */
int occo_yaml_load_string(const char *text, size_t len, const char *name, const char *base_dir,
			  const struct occo_yaml_opts *opts, struct occo_ydoc **out,
			  struct occo_err *err);

void occo_ydoc_free(struct occo_ydoc *doc);

/* The tree (borrowed: lives as long as the document; json_incref to keep it longer). */
json_t *occo_ydoc_root(const struct occo_ydoc *doc);

/*
 * The mark of a node found in the tree, by identity. Works for objects, arrays, strings and
 * numbers. For true/false/null (jansson singletons) use occo_ydoc_child_mark. A node reached
 * through an alias has the mark of its anchor. NULL if the node is not from this document.
 */
const struct occo_yaml_mark *occo_ydoc_mark(const struct occo_ydoc *doc, const json_t *node);

/*
 * The mark of the value written at parent[key] (parent an object; index ignored) or at
 * parent[index] (parent an array; key NULL). For an alias this is where the alias was written.
 */
const struct occo_yaml_mark *occo_ydoc_child_mark(const struct occo_ydoc *doc, const json_t *parent,
						  const char *key, size_t index);

/* The mark of the key `key` itself in object `obj`. */
const struct occo_yaml_mark *occo_ydoc_key_mark(const struct occo_ydoc *doc, const json_t *obj,
						const char *key);

/*
 * The tag written on a node ("!ResourceHandler", "!python_import"), or NULL if it had none.
 * Standard tags (!!str, !!int, ...) are applied, not kept. occo_ydoc_child_tag looks the tag up
 * by position, as occo_ydoc_child_mark does, which also works for true/false/null.
 */
const char *occo_ydoc_tag(const struct occo_ydoc *doc, const json_t *node);
const char *occo_ydoc_child_tag(const struct occo_ydoc *doc, const json_t *parent, const char *key,
				size_t index);

/* The files the document was loaded from, the main file first (for messages and --check). */
size_t occo_ydoc_nfiles(const struct occo_ydoc *doc);
const char *occo_ydoc_file(const struct occo_ydoc *doc, size_t i);

/*
 * Append the YAML text of a JSON value to `out` (block style, keys in their order, strings
 * quoted where YAML would read them as something else). For cloud-init files written as
 * mappings, which are sent as "#cloud-config" YAML text.
 */
int occo_yaml_dump(const json_t *v, struct occo_buf *out, struct occo_err *err);

/*
 * Record an error positioned at `mark`: "FILE:LINE:COL: message". A NULL mark gives the
 * message alone. Returns -code.
 */
int occo_yaml_err(struct occo_err *err, const struct occo_yaml_mark *mark, int code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
