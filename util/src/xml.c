/*
 * xml.c - a small, bounded XML reader (see xml.h).
 *
 * One pass over the input. Names and decoded texts go to one arena allocated up front: neither
 * is ever longer than the markup it came from, so the arena never grows and the pointers into
 * it stay valid. Elements come from chunks of nodes. A text run of an element goes right after
 * the previous one in the arena, because only a child element (which drops the text) could
 * write something in between.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/xml.h"

#define CHUNK_NODES 256

struct chunk {
	struct chunk *next;
	size_t used;
	struct occo_xml_node nodes[CHUNK_NODES];
};

struct occo_xml {
	char *arena;
	size_t alen, acap;
	struct chunk *chunks;
	struct occo_xml_node *root;
};

/* The parser's state. */
struct px {
	struct occo_xml *x;
	const char *start, *p, *end;
	struct occo_xml_node *cur; /* the open element, NULL outside the root */
	struct occo_xml_node *tail[OCCO_XML_MAX_DEPTH + 1]; /* last child of each open level */
	size_t text_off[OCCO_XML_MAX_DEPTH + 1]; /* where the text of each open level starts */
	int has_text[OCCO_XML_MAX_DEPTH + 1];
	int depth;
	struct occo_err *err;
};

static int perr(struct px *s, const char *what)
{
	unsigned line = 1;
	const char *q;

	for (q = s->start; q < s->p && q < s->end; q++)
		line += *q == '\n';
	return occo_err_set(s->err, OCCO_EPROTO, "malformed XML: line %u: %s", line, what);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_name_char(char c)
{
	return !is_space(c) && c != '/' && c != '>' && c != '<' && c != '=' && c != '"' &&
	       c != '\'' && c != '&';
}

static int starts(const struct px *s, const char *lit)
{
	size_t n = strlen(lit);

	return (size_t)(s->end - s->p) >= n && !memcmp(s->p, lit, n);
}

/* Move past the first `lit` after p; 0, or -1 when there is none. */
static int skip_past(struct px *s, const char *lit)
{
	size_t n = strlen(lit);
	const char *q;

	for (q = s->p; (size_t)(s->end - q) >= n; q++) {
		if (!memcmp(q, lit, n)) {
			s->p = q + n;
			return 0;
		}
	}
	return -1;
}

static int arena_put(struct px *s, const char *data, size_t n)
{
	struct occo_xml *x = s->x;

	if (n > x->acap - x->alen)
		return perr(s, "document larger than its own text"); /* cannot happen */
	memcpy(x->arena + x->alen, data, n);
	x->alen += n;
	return 0;
}

static struct occo_xml_node *node_new(struct occo_xml *x)
{
	struct chunk *c = x->chunks;

	if (!c || c->used == CHUNK_NODES) {
		c = occo_calloc(1, sizeof(*c));
		c->next = x->chunks;
		x->chunks = c;
	}
	return &c->nodes[c->used++];
}

/* Append a code point as UTF-8 (never more bytes than its reference took). */
static int put_utf8(struct px *s, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return perr(s, "character reference to an invalid code point");
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return arena_put(s, b, n);
}

/* Decode the entity at s->p ('&') into the arena and move past it. */
static int put_entity(struct px *s)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {
		{ "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' }, { "quot;", '"' }, { "apos;", '\'' }
	};
	const char *q = s->p + 1;
	uint32_t cp = 0;
	size_t i;
	int digits = 0, hex;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		size_t n = strlen(named[i].name);

		if ((size_t)(s->end - q) >= n && !memcmp(q, named[i].name, n)) {
			s->p = q + n;
			return arena_put(s, &named[i].c, 1);
		}
	}
	if (q >= s->end || *q != '#')
		return perr(s, "unknown entity");
	q++;
	hex = q < s->end && *q == 'x';
	q += hex;
	for (; q < s->end && *q != ';'; q++, digits++) {
		unsigned d;

		if (*q >= '0' && *q <= '9')
			d = (unsigned)(*q - '0');
		else if (hex && *q >= 'a' && *q <= 'f')
			d = (unsigned)(*q - 'a' + 10);
		else if (hex && *q >= 'A' && *q <= 'F')
			d = (unsigned)(*q - 'A' + 10);
		else
			return perr(s, "bad character reference");
		cp = cp * (hex ? 16 : 10) + d;
		if (cp > 0x10ffff)
			return perr(s, "character reference to an invalid code point");
	}
	if (q >= s->end || !digits)
		return perr(s, "bad character reference");
	s->p = q + 1;
	return put_utf8(s, cp);
}

/* Start the text of the open element, unless it has children (then its text is ""). */
static int text_begin(struct px *s)
{
	if (!s->cur)
		return perr(s, "text outside the root element");
	if (s->cur->child)
		return 0;
	if (!s->has_text[s->depth]) {
		s->has_text[s->depth] = 1;
		s->text_off[s->depth] = s->x->alen;
	}
	return 1;
}

/* A run of character data up to the next '<'. */
static int text_run(struct px *s)
{
	const char *q = s->p;
	int rc;

	while (q < s->end && *q != '<')
		q++;
	if (!s->cur) {
		for (; s->p < q; s->p++)
			if (!is_space(*s->p))
				return perr(s, "text outside the root element");
		return 0;
	}
	if ((rc = text_begin(s)) <= 0) {
		s->p = q;
		return rc;
	}
	while (s->p < q) {
		const char *amp = memchr(s->p, '&', (size_t)(q - s->p));
		const char *stop = amp ? amp : q;

		if ((rc = arena_put(s, s->p, (size_t)(stop - s->p))) < 0)
			return rc;
		s->p = stop;
		if (amp && (rc = put_entity(s)) < 0)
			return rc;
	}
	return 0;
}

static int cdata(struct px *s)
{
	const char *from = s->p + 9; /* "<![CDATA[" */
	int rc;

	if (skip_past(s, "]]>") < 0)
		return perr(s, "CDATA section without its end");
	if ((rc = text_begin(s)) <= 0)
		return rc;
	return arena_put(s, from, (size_t)(s->p - 3 - from));
}

/* Read a name at p into the arena (without its prefix); *out points to it. */
static int read_name(struct px *s, const char **out, size_t *len)
{
	const char *from = s->p, *local;

	while (s->p < s->end && is_name_char(*s->p))
		s->p++;
	if (s->p == from)
		return perr(s, "element without a name");
	local = memchr(from, ':', (size_t)(s->p - from));
	local = local ? local + 1 : from;
	*out = local;
	*len = (size_t)(s->p - local);
	return 0;
}

static void skip_space(struct px *s)
{
	while (s->p < s->end && is_space(*s->p))
		s->p++;
}

static int open_tag(struct px *s)
{
	struct occo_xml_node *n;
	const char *name;
	size_t nlen;
	int rc, empty = 0;

	s->p++;
	if ((rc = read_name(s, &name, &nlen)) < 0)
		return rc;
	for (;;) { /* attributes: skipped */
		skip_space(s);
		if (s->p >= s->end)
			return perr(s, "unexpected end inside a tag");
		if (*s->p == '>') {
			s->p++;
			break;
		}
		if (*s->p == '/' && s->p + 1 < s->end && s->p[1] == '>') {
			s->p += 2;
			empty = 1;
			break;
		}
		while (s->p < s->end && is_name_char(*s->p))
			s->p++;
		skip_space(s);
		if (s->p >= s->end || *s->p != '=')
			return perr(s, "attribute without a value");
		s->p++;
		skip_space(s);
		if (s->p >= s->end || (*s->p != '"' && *s->p != '\''))
			return perr(s, "attribute value without quotes");
		{
			const char *q = memchr(s->p + 1, *s->p, (size_t)(s->end - s->p - 1));

			if (!q)
				return perr(s, "attribute value without its end");
			s->p = q + 1;
		}
	}
	if (!s->cur && s->x->root)
		return perr(s, "more than one root element");
	if (s->depth >= OCCO_XML_MAX_DEPTH)
		return perr(s, "elements nested too deeply");
	n = node_new(s->x);
	n->text = "";
	n->name = s->x->arena + s->x->alen;
	if ((rc = arena_put(s, name, nlen)) < 0 || (rc = arena_put(s, "", 1)) < 0)
		return rc;
	n->parent = s->cur;
	if (!s->cur) {
		s->x->root = n;
	} else {
		if (s->tail[s->depth])
			s->tail[s->depth]->next = n;
		else
			s->cur->child = n;
		s->tail[s->depth] = n;
		s->has_text[s->depth] = 0; /* a container: its text is dropped */
	}
	if (empty)
		return 0;
	s->cur = n;
	s->depth++;
	s->tail[s->depth] = NULL;
	s->has_text[s->depth] = 0;
	return 0;
}

static int close_tag(struct px *s)
{
	struct occo_xml_node *n = s->cur;
	const char *name;
	size_t nlen;
	int rc;

	s->p += 2;
	if ((rc = read_name(s, &name, &nlen)) < 0)
		return rc;
	skip_space(s);
	if (s->p >= s->end || *s->p != '>')
		return perr(s, "unexpected end inside a closing tag");
	s->p++;
	if (!n || strlen(n->name) != nlen || memcmp(n->name, name, nlen))
		return perr(s, "closing tag does not match the open element");
	if (s->has_text[s->depth] && !n->child) {
		n->text = s->x->arena + s->text_off[s->depth];
		if ((rc = arena_put(s, "", 1)) < 0)
			return rc;
	}
	s->depth--;
	s->cur = n->parent;
	return 0;
}

static int parse(struct px *s)
{
	int rc = 0;

	if (starts(s, "\xef\xbb\xbf"))
		s->p += 3;
	while (s->p < s->end && rc == 0) {
		if (*s->p != '<')
			rc = text_run(s);
		else if (starts(s, "<?"))
			rc = skip_past(s, "?>") < 0
				     ? perr(s, "processing instruction without its end")
				     : 0;
		else if (starts(s, "<!--"))
			rc = skip_past(s, "-->") < 0 ? perr(s, "comment without its end") : 0;
		else if (starts(s, "<![CDATA["))
			rc = s->cur ? cdata(s) : perr(s, "text outside the root element");
		else if (starts(s, "<!"))
			rc = perr(s, "a DTD is not supported");
		else if (starts(s, "</"))
			rc = close_tag(s);
		else
			rc = open_tag(s);
	}
	if (rc < 0)
		return rc;
	if (s->cur)
		return perr(s, "unexpected end: an element is not closed");
	if (!s->x->root)
		return perr(s, "no root element");
	return 0;
}

int occo_xml_parse(const char *text, size_t len, struct occo_xml **out, struct occo_err *err)
{
	struct occo_xml *x = occo_calloc(1, sizeof(*x));
	struct px *s = occo_calloc(1, sizeof(*s));
	int rc;

	x->acap = len + 16;
	x->arena = occo_malloc(x->acap);
	s->x = x;
	s->start = s->p = text;
	s->end = text + len;
	s->err = err;
	rc = parse(s);
	free(s);
	if (rc < 0) {
		occo_xml_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

void occo_xml_free(struct occo_xml *x)
{
	struct chunk *c, *next;

	if (!x)
		return;
	for (c = x->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(x->arena);
	free(x);
}

const struct occo_xml_node *occo_xml_root(const struct occo_xml *x)
{
	return x->root;
}

const struct occo_xml_node *occo_xml_child(const struct occo_xml_node *n, const char *name)
{
	const struct occo_xml_node *c;

	for (c = n ? n->child : NULL; c; c = c->next)
		if (!name || !strcmp(c->name, name))
			return c;
	return NULL;
}

const struct occo_xml_node *occo_xml_next(const struct occo_xml_node *n)
{
	const struct occo_xml_node *c;

	for (c = n ? n->next : NULL; c; c = c->next)
		if (!strcmp(c->name, n->name))
			return c;
	return NULL;
}

const struct occo_xml_node *occo_xml_find(const struct occo_xml_node *n, const char *path)
{
	char step[128];
	const char *slash;
	size_t len;

	while (n && path && *path) {
		slash = strchr(path, '/');
		len = slash ? (size_t)(slash - path) : strlen(path);
		if (len >= sizeof(step))
			return NULL;
		memcpy(step, path, len);
		step[len] = '\0';
		n = occo_xml_child(n, step);
		path = slash ? slash + 1 : NULL;
	}
	return n;
}

const char *occo_xml_text(const struct occo_xml_node *n, const char *path)
{
	n = occo_xml_find(n, path);
	return n ? n->text : NULL;
}
