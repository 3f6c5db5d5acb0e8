/*
 * xml.h - a small, bounded XML reader for the answers of XML APIs (the EC2 Query API).
 *
 * It reads a whole document into a tree of elements and nothing more: names lose their
 * namespace prefix, attributes are skipped, processing instructions and comments are ignored,
 * CDATA is text, the five predefined entities and character references are decoded. A DTD is
 * refused (no entity of a peer's is ever expanded). The text of an element is its character
 * data when it has no child elements, else "". Nesting is limited to OCCO_XML_MAX_DEPTH; the
 * size of the input is bounded by the caller (the HTTP client's max_body), and the tree costs
 * at most a few times that.
 *
 *   struct occo_xml *x;
 *   if (occo_xml_parse(body, len, &x, err) < 0) ...
 *   for (it = occo_xml_child(occo_xml_root(x), "item"); it; it = occo_xml_next(it))
 *           id = occo_xml_text(it, "instanceId");
 *   occo_xml_free(x);
 */
#ifndef OCCO_UTIL_XML_H
#define OCCO_UTIL_XML_H

#include <stddef.h>

#include "occo/util/err.h"

#define OCCO_XML_MAX_DEPTH 64

/* An element; everything is owned by its document. */
struct occo_xml_node {
	const char *name; /* local name, without a namespace prefix */
	const char *text; /* decoded character data when it has no child elements, else "" */
	struct occo_xml_node *parent, *child, *next; /* first child, next sibling */
};

struct occo_xml;

/*
 * Parse `len` bytes of text (not necessarily NUL-terminated; copied). *out is the document,
 * freed with occo_xml_free. A malformed document is -OCCO_EPROTO with "line N: what".
 */
int occo_xml_parse(const char *text, size_t len, struct occo_xml **out, struct occo_err *err);
void occo_xml_free(struct occo_xml *x);

/* The root element; never NULL for a parsed document. */
const struct occo_xml_node *occo_xml_root(const struct occo_xml *x);

/* The first child element of n named `name` (any child when name is NULL), or NULL. */
const struct occo_xml_node *occo_xml_child(const struct occo_xml_node *n, const char *name);

/* The next sibling of n with the same name, or NULL. */
const struct occo_xml_node *occo_xml_next(const struct occo_xml_node *n);

/*
 * The element at a path of child names separated by '/' ("instanceState/name") below n, or
 * NULL; the first match at each step.
 */
const struct occo_xml_node *occo_xml_find(const struct occo_xml_node *n, const char *path);

/* The text of occo_xml_find(n, path), or NULL when there is no such element. */
const char *occo_xml_text(const struct occo_xml_node *n, const char *path);

#endif
