/*
 * template.c - compiling a template: Jinja2's lexer and parser, rule for rule.
 *
 * The lexer follows jinja2/lexer.py (3.1): newlines are normalised to \n and one trailing
 * newline is dropped before anything else; text runs up to the first "{{", "{%" or "{#"; a "-"
 * after the opening delimiter strips the whitespace before the tag and one before the closing
 * delimiter strips the whitespace after it; inside a tag the closing delimiter is only seen
 * while brackets are balanced; {% raw %} is handled here. The parser follows jinja2/parser.py:
 * the same precedence climbing (note that ** is left-associative and a unary minus binds
 * tighter than ** in Jinja2), the same tuple rules and the same statements. Unknown filters and
 * tests are errors here, except inside an if or a conditional expression, where Jinja2 defers
 * them to the moment they are called.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/template.h"
#include "template_int.h"

#define DEFAULT_MAX_DEPTH 100
#define DEFAULT_MAX_STEPS 1000000ul
#define DEFAULT_MAX_VALUE (1u << 20)

/* ---- errors ------------------------------------------------------------------------------- */

void occo__tmpl_where(const struct occo_tmpl *t, size_t pos, char *buf, size_t n)
{
	unsigned line = 1, col = 1;

	if (pos > t->srclen)
		pos = t->srclen;
	for (size_t i = 0; i < pos; i++) {
		if (t->src[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)t->src[i] & 0xc0) != 0x80) {
			col++;
		}
	}
	snprintf(buf, n, "%s:%u:%u", t->name, line, col);
}

int occo__tmpl_err_at(const struct occo_tmpl *t, size_t pos, struct occo_err *err, int code,
		      const char *fmt, ...)
{
	char msg[OCCO_ERR_MSG_MAX], where[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	occo__tmpl_where(t, pos, where, sizeof(where));
	return occo_err_set(err, code, "%s: %s", where, msg);
}

/* ---- tokens ------------------------------------------------------------------------------- */

enum tok_type {
	T_DATA,
	T_VAR_BEGIN,
	T_VAR_END,
	T_BLOCK_BEGIN,
	T_BLOCK_END,
	T_NAME,
	T_STRING,
	T_INT,
	T_FLOAT,
	T_OP,
	T_EOF
};

struct tok {
	enum tok_type type;
	int op;
	size_t pos;
	char *s; /* owned: text, name or string value */
	size_t slen;
	json_int_t ival;
	double fval;
};

struct lexer {
	struct occo_tmpl *t;
	struct tok *toks;
	size_t n, cap;
	char *bal; /* the bracket balancing stack: expected closers */
	size_t nbal, capbal;
	struct occo_err *err;
};

static struct tok *lex_push(struct lexer *lx, enum tok_type type, size_t pos)
{
	struct tok *tk;

	if (lx->n == lx->cap) {
		lx->cap = lx->cap ? lx->cap * 2 : 64;
		lx->toks = occo_reallocarray(lx->toks, lx->cap, sizeof(*lx->toks));
	}
	tk = &lx->toks[lx->n++];
	memset(tk, 0, sizeof(*tk));
	tk->type = type;
	tk->pos = pos;
	return tk;
}

static void toks_free(struct tok *toks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(toks[i].s);
	free(toks);
}

/* Length of the Python whitespace character at s[i], 0 if none. */
static size_t space_at(const char *s, size_t len, size_t i)
{
	size_t n;

	if (i >= len)
		return 0;
	if ((unsigned char)s[i] < 0x80)
		return occo__py_isspace((unsigned char)s[i]) ? 1 : 0;
	return occo__py_isspace(occo__u8_get(s, len, i, &n)) ? n : 0;
}

static size_t skip_space(const char *s, size_t len, size_t i)
{
	size_t n;

	while ((n = space_at(s, len, i)) > 0)
		i += n;
	return i;
}

/* The end of s[start, end) without trailing whitespace (str.rstrip()). */
static size_t rstrip_end(const char *s, size_t start, size_t end)
{
	size_t i = start, keep = start, n;

	while (i < end) {
		n = space_at(s, end, i);
		if (n) {
			i += n;
		} else {
			occo__u8_get(s, end, i, &n);
			i += n;
			keep = i;
		}
	}
	return keep;
}

static int lex_data(struct lexer *lx, size_t start, size_t end)
{
	struct tok *tk;

	if (end <= start)
		return 0;
	tk = lex_push(lx, T_DATA, start);
	tk->s = occo_malloc(end - start + 1); /* text may hold NUL bytes: no strndup */
	memcpy(tk->s, lx->t->src + start, end - start);
	tk->s[end - start] = '\0';
	tk->slen = end - start;
	return 0;
}

static int starts(const char *s, size_t len, size_t i, const char *lit)
{
	size_t n = strlen(lit);

	return i + n <= len && memcmp(s + i, lit, n) == 0;
}

/*
 * A block end at i: "+%}", "-%}" (and the whitespace after it) or "%}". Returns the position
 * after it, or 0 if there is none.
 */
static size_t block_end_at(const char *s, size_t len, size_t i, int allow_plus)
{
	if (allow_plus && starts(s, len, i, "+%}"))
		return i + 3;
	if (starts(s, len, i, "-%}"))
		return skip_space(s, len, i + 3);
	if (starts(s, len, i, "%}"))
		return i + 2;
	return 0;
}

/* "{%" [-+] ws* WORD ws* block-end at i: returns the end, *sign gets the sign. */
static size_t word_tag_at(const char *s, size_t len, size_t i, const char *word, int allow_plus,
			  char *sign)
{
	size_t j, wl = strlen(word);

	if (!starts(s, len, i, "{%"))
		return 0;
	j = i + 2;
	*sign = 0;
	if (j < len && (s[j] == '-' || s[j] == '+'))
		*sign = s[j++];
	j = skip_space(s, len, j);
	if (!starts(s, len, j, word))
		return 0;
	j = skip_space(s, len, j + wl);
	return block_end_at(s, len, j, allow_plus);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the body of a string literal as Jinja2 does:
 * value.encode("ascii", "backslashreplace").decode("unicode-escape").
 */
static int lex_unescape(struct lexer *lx, size_t pos, const char *s, size_t len, struct tok *tk)
{
	struct occo_buf b;
	struct occo_err *err = lx->err;
	size_t i = 0, n;
	char u8[4];

	occo_buf_init(&b, len * 4 + 16);
	while (i < len) {
		unsigned char ch = (unsigned char)s[i];
		uint32_t cp;

		if (ch != '\\') {
			size_t j = i;

			while (j < len && s[j] != '\\')
				j++;
			occo_buf_append(&b, s + i, j - i, NULL);
			i = j;
			continue;
		}
		if (i + 1 >= len) {
			occo_buf_release(&b);
			return occo__tmpl_err_at(lx->t, pos, err, OCCO_EINVAL,
						 "\\ at end of string");
		}
		ch = (unsigned char)s[i + 1];
		if (ch >= 0x80) {
			/* backslashreplace turned the character into an escape of its own */
			char esc[16];

			cp = occo__u8_get(s, len, i + 1, &n);
			if (cp < 0x100)
				snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)cp);
			else if (cp < 0x10000)
				snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)cp);
			else
				snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)cp);
			occo_buf_append(&b, esc, strlen(esc), NULL);
			i += 1 + n;
			continue;
		}
		i += 2;
		switch (ch) {
		case '\n':
			continue;
		case '\\':
		case '\'':
		case '"':
			occo_buf_append(&b, &ch, 1, NULL);
			continue;
		case 'a':
			occo_buf_append(&b, "\a", 1, NULL);
			continue;
		case 'b':
			occo_buf_append(&b, "\b", 1, NULL);
			continue;
		case 'f':
			occo_buf_append(&b, "\f", 1, NULL);
			continue;
		case 'n':
			occo_buf_append(&b, "\n", 1, NULL);
			continue;
		case 'r':
			occo_buf_append(&b, "\r", 1, NULL);
			continue;
		case 't':
			occo_buf_append(&b, "\t", 1, NULL);
			continue;
		case 'v':
			occo_buf_append(&b, "\v", 1, NULL);
			continue;
		case 'x':
		case 'u':
		case 'U': {
			int want = ch == 'x' ? 2 : ch == 'u' ? 4 : 8;

			cp = 0;
			for (int k = 0; k < want; k++) {
				int h = i + k < len ? hexval((unsigned char)s[i + k]) : -1;

				if (h < 0) {
					occo_buf_release(&b);
					return occo__tmpl_err_at(lx->t, pos, err, OCCO_EINVAL,
								 "truncated \\%c escape", ch);
				}
				cp = cp * 16 + (uint32_t)h;
			}
			i += want;
			break;
		}
		case 'N':
			occo_buf_release(&b);
			return occo__tmpl_err_at(lx->t, pos, err, OCCO_EINVAL,
						 "\\N{...} escapes are not supported");
		default:
			if (ch >= '0' && ch <= '7') {
				cp = ch - '0';
				for (int k = 0; k < 2 && i < len && s[i] >= '0' && s[i] <= '7'; k++)
					cp = cp * 8 + (uint32_t)(s[i++] - '0');
				break;
			}
			/* an unknown escape stays as it is */
			occo_buf_append(&b, s + i - 2, 2, NULL);
			continue;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			occo_buf_release(&b);
			return occo__tmpl_err_at(lx->t, pos, err, OCCO_EINVAL,
						 "illegal Unicode character in string");
		}
		n = occo__u8_put(cp, u8);
		occo_buf_append(&b, u8, n, NULL);
	}
	tk->slen = b.len;
	tk->s = occo_buf_detach(&b, NULL);
	return 0;
}

/* The end of (\d+_)*\d+ at i, or i if there is no digit. */
static size_t scan_digits(const char *s, size_t len, size_t i)
{
	size_t j = i;

	if (j >= len || !isdigit((unsigned char)s[j]))
		return i;
	for (;;) {
		while (j < len && isdigit((unsigned char)s[j]))
			j++;
		if (j + 1 < len && s[j] == '_' && isdigit((unsigned char)s[j + 1]))
			j++;
		else
			return j;
	}
}

static char *strip_underscores(const char *s, size_t n)
{
	char *out = occo_malloc(n + 1);
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			out[k++] = s[i];
	out[k] = '\0';
	return out;
}

/* A float literal at i (jinja2's float_re); returns its end or i. */
static size_t scan_float(const char *s, size_t len, size_t i)
{
	size_t d, j, k;

	if (i > 0 && s[i - 1] == '.')
		return i;
	d = scan_digits(s, len, i);
	if (d == i)
		return i;
	/* (\.digits)? e[+-]?digits */
	j = d;
	if (j < len && s[j] == '.') {
		k = scan_digits(s, len, j + 1);
		if (k > j + 1)
			j = k;
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		k = j + 1;
		if (k < len && (s[k] == '+' || s[k] == '-'))
			k++;
		if (scan_digits(s, len, k) > k)
			return scan_digits(s, len, k);
	}
	/* \.digits */
	if (d < len && s[d] == '.') {
		k = scan_digits(s, len, d + 1);
		if (k > d + 1)
			return k;
	}
	return i;
}

/* An integer literal at i (jinja2's integer_re); returns its end, *base its base. */
static size_t scan_int(const char *s, size_t len, size_t i, int *base)
{
	size_t j;

	if (i >= len || !isdigit((unsigned char)s[i]))
		return i;
	if (s[i] == '0' && i + 1 < len) {
		char p = (char)tolower((unsigned char)s[i + 1]);
		const char *digits = p == 'b'	? "01"
				     : p == 'o' ? "01234567"
				     : p == 'x' ? "0123456789abcdefABCDEF"
						: NULL;

		if (digits) {
			j = i + 2;
			for (;;) {
				size_t k = j;

				if (k < len && s[k] == '_')
					k++;
				if (k < len && s[k] && strchr(digits, s[k]))
					j = k + 1;
				else
					break;
			}
			if (j > i + 2) {
				*base = p == 'b' ? 2 : p == 'o' ? 8 : 16;
				return j;
			}
		}
	}
	*base = 10;
	j = i + 1;
	for (;;) {
		size_t k = j;

		if (k < len && s[k] == '_')
			k++;
		if (k < len && isdigit((unsigned char)s[k]) && (s[i] != '0' || s[k] == '0'))
			j = k + 1;
		else
			break;
	}
	return j;
}

static const struct {
	const char *text;
	int op;
} operators[] = {
	{ "//", OP_FLOORDIV }, { "**", OP_POW },      { "==", OP_EQ },	  { "!=", OP_NE },
	{ ">=", OP_GTEQ },     { "<=", OP_LTEQ },     { "+", OP_ADD },	  { "-", OP_SUB },
	{ "/", OP_DIV },       { "*", OP_MUL },	      { "%", OP_MOD },	  { "~", OP_TILDE },
	{ "[", OP_LBRACKET },  { "]", OP_RBRACKET },  { "(", OP_LPAREN }, { ")", OP_RPAREN },
	{ "{", OP_LBRACE },    { "}", OP_RBRACE },    { ">", OP_GT },	  { "<", OP_LT },
	{ "=", OP_ASSIGN },    { ".", OP_DOT },	      { ":", OP_COLON },  { "|", OP_PIPE },
	{ ",", OP_COMMA },     { ";", OP_SEMICOLON },
};

static int is_name_byte(unsigned char c)
{
	return isalnum(c) || c == '_' || c >= 0x80;
}

/* Lex the inside of a {{ }} or {% %} tag from *pos; on return *pos is after its end. */
static int lex_tag(struct lexer *lx, size_t *pos, int block)
{
	const char *s = lx->t->src;
	size_t len = lx->t->srclen, i = *pos, j, n;
	struct tok *tk;

	lx->nbal = 0;
	while (i < len) {
		if (lx->nbal == 0) {
			if (block) {
				j = block_end_at(s, len, i, 1);
			} else if (starts(s, len, i, "-}}")) {
				j = skip_space(s, len, i + 3);
			} else {
				j = starts(s, len, i, "}}") ? i + 2 : 0;
			}
			if (j) {
				lex_push(lx, block ? T_BLOCK_END : T_VAR_END, i);
				*pos = j;
				return 0;
			}
		}
		n = space_at(s, len, i);
		if (n) {
			i += n;
			continue;
		}
		j = scan_float(s, len, i);
		if (j > i) {
			char *txt = strip_underscores(s + i, j - i);

			tk = lex_push(lx, T_FLOAT, i);
			tk->fval = occo__strtod(txt, NULL);
			free(txt);
			if (!isfinite(tk->fval))
				return occo__tmpl_err_at(
					lx->t, i, lx->err, OCCO_ENOTSUP,
					"float literal out of range (inf is not supported)");
			i = j;
			continue;
		}
		{
			int base;

			j = scan_int(s, len, i, &base);
			if (j > i) {
				size_t off = base == 10 ? 0 : 2;
				char *txt = strip_underscores(s + i + off, j - i - off);
				unsigned long long v;
				char *end;

				errno = 0;
				v = strtoull(txt, &end, base);
				free(txt);
				if (errno || v > (unsigned long long)INT64_MAX)
					return occo__tmpl_err_at(lx->t, i, lx->err, OCCO_EINVAL,
								 "integer literal too large");
				tk = lex_push(lx, T_INT, i);
				tk->ival = (json_int_t)v;
				i = j;
				continue;
			}
		}
		if (is_name_byte((unsigned char)s[i])) {
			j = i;
			while (j < len && is_name_byte((unsigned char)s[j]) &&
			       !space_at(s, len, j)) {
				occo__u8_get(s, len, j, &n);
				j += n;
			}
			tk = lex_push(lx, T_NAME, i);
			tk->s = occo_strndup(s + i, j - i);
			tk->slen = j - i;
			i = j;
			continue;
		}
		if (s[i] == '\'' || s[i] == '"') {
			char q = s[i];

			j = i + 1;
			while (j < len && s[j] != q)
				j += s[j] == '\\' ? 2 : 1;
			if (j < len) {
				tk = lex_push(lx, T_STRING, i);
				if (lex_unescape(lx, i, s + i + 1, j - i - 1, tk) < 0)
					return -OCCO_EINVAL;
				i = j + 1;
				continue;
			}
		}
		for (size_t k = 0; k < sizeof(operators) / sizeof(operators[0]); k++) {
			size_t ol = strlen(operators[k].text);
			int op = operators[k].op;
			char close = 0;

			if (!starts(s, len, i, operators[k].text))
				continue;
			if (op == OP_LBRACE || op == OP_LPAREN || op == OP_LBRACKET) {
				if (lx->nbal == lx->capbal) {
					lx->capbal = lx->capbal ? lx->capbal * 2 : 16;
					lx->bal = occo_realloc(lx->bal, lx->capbal);
				}
				lx->bal[lx->nbal++] = op == OP_LBRACE	? '}'
						      : op == OP_LPAREN ? ')'
									: ']';
			} else if (op == OP_RBRACE || op == OP_RPAREN || op == OP_RBRACKET) {
				close = operators[k].text[0];
				if (!lx->nbal)
					return occo__tmpl_err_at(lx->t, i, lx->err, OCCO_EINVAL,
								 "unexpected '%c'", close);
				if (lx->bal[lx->nbal - 1] != close)
					return occo__tmpl_err_at(lx->t, i, lx->err, OCCO_EINVAL,
								 "unexpected '%c', expected '%c'",
								 close, lx->bal[lx->nbal - 1]);
				lx->nbal--;
			}
			tk = lex_push(lx, T_OP, i);
			tk->op = op;
			i += ol;
			goto next;
		}
		occo__u8_get(s, len, i, &n);
		return occo__tmpl_err_at(lx->t, i, lx->err, OCCO_EINVAL, "unexpected char '%.*s'",
					 (int)n, s + i);
	next:;
	}
	*pos = i;
	return 0;
}

static int lex(struct lexer *lx)
{
	const char *s = lx->t->src;
	size_t len = lx->t->srclen, pos = 0, p, j, end;
	int rc;

	for (;;) {
		char kind = 0, sign = 0;

		/* the next tag start */
		for (p = pos; p + 1 < len; p++)
			if (s[p] == '{' && (s[p + 1] == '{' || s[p + 1] == '%' || s[p + 1] == '#'))
				break;
		if (p + 1 >= len) {
			lex_data(lx, pos, len);
			break;
		}
		if (p + 2 < len && (s[p + 2] == '-' || s[p + 2] == '+'))
			sign = s[p + 2];
		kind = s[p + 1];
		if (kind == '%' && (end = word_tag_at(s, len, p, "raw", 0, &sign)) > 0) {
			size_t q, c = end, cend = 0;
			char esign = 0;

			lex_data(lx, pos, sign == '-' ? rstrip_end(s, pos, p) : p);
			for (q = c; q < len; q++) {
				if (s[q] == '{' &&
				    (cend = word_tag_at(s, len, q, "endraw", 1, &esign)) > 0)
					break;
			}
			/* as in Jinja2: only text after an unclosed raw block is an error */
			if (q >= len && c < len)
				return occo__tmpl_err_at(lx->t, p, lx->err, OCCO_EINVAL,
							 "missing end of raw directive");
			if (q >= len)
				break;
			lex_data(lx, c, esign == '-' ? rstrip_end(s, c, q) : q);
			pos = cend;
			continue;
		}
		lex_data(lx, pos, sign == '-' ? rstrip_end(s, pos, p) : p);
		j = p + 2 + (sign ? 1 : 0);
		if (kind == '#') {
			for (; j < len; j++) {
				if (starts(s, len, j, "+#}")) {
					pos = j + 3;
					break;
				}
				if (starts(s, len, j, "-#}")) {
					pos = skip_space(s, len, j + 3);
					break;
				}
				if (starts(s, len, j, "#}")) {
					pos = j + 2;
					break;
				}
			}
			if (j >= len && p + 2 + (sign ? 1 : 0) < len)
				return occo__tmpl_err_at(lx->t, p, lx->err, OCCO_EINVAL,
							 "missing end of comment tag");
			if (j >= len)
				break;
			continue;
		}
		lex_push(lx, kind == '%' ? T_BLOCK_BEGIN : T_VAR_BEGIN, p);
		pos = j;
		rc = lex_tag(lx, &pos, kind == '%');
		if (rc < 0)
			return rc;
	}
	lex_push(lx, T_EOF, len);
	return 0;
}

/* ---- AST ---------------------------------------------------------------------------------- */

static void nodes_free(struct tnode **v, size_t n);

static void tnode_free(struct tnode *n)
{
	if (!n)
		return;
	free(n->s);
	json_decref(n->cval);
	tnode_free(n->a);
	tnode_free(n->b);
	tnode_free(n->c);
	nodes_free(n->args, n->nargs);
	nodes_free(n->kw, n->nkw);
	tnode_free(n->dyn_args);
	tnode_free(n->dyn_kwargs);
	nodes_free(n->body, n->nbody);
	nodes_free(n->els, n->nels);
	free(n);
}

static void nodes_free(struct tnode **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tnode_free(v[i]);
	free(v);
}

static struct tnode *tnode_new(enum tnode_kind kind, size_t pos)
{
	struct tnode *n = occo_calloc(1, sizeof(*n));

	n->kind = kind;
	n->pos = pos;
	n->fidx = -1;
	return n;
}

static void nodes_push(struct tnode ***v, size_t *n, struct tnode *x)
{
	/* grow in powers of two */
	if ((*n & (*n - 1)) == 0)
		*v = occo_reallocarray(*v, *n ? *n * 2 : 1, sizeof(**v));
	(*v)[(*n)++] = x;
}

/* ---- parser ------------------------------------------------------------------------------- */

struct parser {
	struct occo_tmpl *t;
	struct tok *toks;
	size_t n, cur;
	unsigned depth;
	struct occo_err *err;
};

static struct tok *cur(struct parser *p)
{
	return &p->toks[p->cur];
}

static struct tok *look(struct parser *p)
{
	return &p->toks[p->cur + 1 < p->n ? p->cur + 1 : p->cur];
}

static void advance(struct parser *p)
{
	if (p->cur + 1 < p->n)
		p->cur++;
}

static int is_op(struct tok *tk, int op)
{
	return tk->type == T_OP && tk->op == op;
}

static int is_name(struct tok *tk, const char *name)
{
	return tk->type == T_NAME && strcmp(tk->s, name) == 0;
}

static const char *op_text(int op)
{
	for (size_t k = 0; k < sizeof(operators) / sizeof(operators[0]); k++)
		if (operators[k].op == op)
			return operators[k].text;
	return "?";
}

/* How a token is described in messages. */
static void describe(struct tok *tk, char *buf, size_t n)
{
	switch (tk->type) {
	case T_DATA:
		snprintf(buf, n, "template data");
		break;
	case T_VAR_BEGIN:
		snprintf(buf, n, "begin of print statement");
		break;
	case T_VAR_END:
		snprintf(buf, n, "end of print statement");
		break;
	case T_BLOCK_BEGIN:
		snprintf(buf, n, "begin of statement block");
		break;
	case T_BLOCK_END:
		snprintf(buf, n, "end of statement block");
		break;
	case T_NAME:
		snprintf(buf, n, "%s", tk->s);
		break;
	case T_STRING:
		snprintf(buf, n, "string");
		break;
	case T_INT:
		snprintf(buf, n, "integer");
		break;
	case T_FLOAT:
		snprintf(buf, n, "float");
		break;
	case T_OP:
		snprintf(buf, n, "%s", op_text(tk->op));
		break;
	case T_EOF:
		snprintf(buf, n, "end of template");
		break;
	}
}

static struct tnode *fail(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static struct tnode *fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	occo__tmpl_err_at(p->t, pos, p->err, OCCO_EINVAL, "%s", msg);
	return NULL;
}

static struct tnode *unexpected(struct parser *p)
{
	char d[128];

	describe(cur(p), d, sizeof(d));
	if (cur(p)->type == T_EOF)
		return fail(p, cur(p)->pos, "unexpected end of template");
	return fail(p, cur(p)->pos, "unexpected '%s'", d);
}

/* Expect an operator (op) or a token type (op == 0); 0 or -1 with the error set. */
static int expect(struct parser *p, enum tok_type type, int op)
{
	char d[128], want[64];
	struct tok tk = { 0 };

	if (cur(p)->type == type && (type != T_OP || cur(p)->op == op)) {
		advance(p);
		return 0;
	}
	tk.type = type;
	tk.op = op;
	describe(&tk, want, sizeof(want));
	describe(cur(p), d, sizeof(d));
	if (cur(p)->type == T_EOF)
		fail(p, cur(p)->pos, "unexpected end of template, expected '%s'", want);
	else
		fail(p, cur(p)->pos, "expected token '%s', got '%s'", want, d);
	return -1;
}

static int expect_name(struct parser *p, const char *name)
{
	char d[128];

	if (is_name(cur(p), name)) {
		advance(p);
		return 0;
	}
	describe(cur(p), d, sizeof(d));
	fail(p, cur(p)->pos, "expected token '%s', got '%s'", name, d);
	return -1;
}

static int enter(struct parser *p)
{
	if (++p->depth > p->t->lim.max_depth) {
		occo__tmpl_err_at(p->t, cur(p)->pos, p->err, OCCO_ETOOBIG,
				  "template nested too deeply (limit %u)", p->t->lim.max_depth);
		return -1;
	}
	return 0;
}

static struct tnode *parse_expression(struct parser *p, int with_condexpr);
static struct tnode *parse_tuple(struct parser *p, int simplified, int with_condexpr,
				 int explicit_parens);
static struct tnode *parse_unary(struct parser *p, int with_filter);
static struct tnode *parse_primary(struct parser *p);
static struct tnode *parse_postfix(struct parser *p, struct tnode *node);

#define CHECK(x)                   \
	do {                       \
		if (!(x))          \
			goto fail; \
	} while (0)

static struct tnode *parse_condexpr(struct parser *p)
{
	unsigned depth = p->depth;
	struct tnode *e1, *e2 = NULL, *n;

	if (enter(p) < 0)
		return NULL;
	e1 = parse_expression(p, 0);
	if (!e1)
		return NULL;
	while (is_name(cur(p), "if")) {
		size_t pos = cur(p)->pos;

		advance(p);
		if (enter(p) < 0)
			goto fail;
		e2 = parse_expression(p, 0);
		CHECK(e2);
		n = tnode_new(N_COND, pos);
		n->a = e2;
		n->b = e1;
		e1 = n;
		e2 = NULL;
		if (is_name(cur(p), "else")) {
			advance(p);
			n->c = parse_condexpr(p);
			CHECK(n->c);
		}
	}
	p->depth = depth;
	return e1;
fail:
	tnode_free(e1);
	return NULL;
}

static struct tnode *parse_not(struct parser *p);

static struct tnode *parse_binary_chain(struct parser *p, int level);

/* A left-associative chain `sub (kw sub)*` of one keyword operator ("and", "or"). */
static struct tnode *parse_keyword_chain(struct parser *p, const char *kw, enum tnode_kind type,
					 struct tnode *(*sub)(struct parser *p))
{
	unsigned depth = p->depth;
	struct tnode *l = sub(p), *r, *n;

	while (l && is_name(cur(p), kw)) {
		size_t pos = cur(p)->pos;

		advance(p);
		if (enter(p) < 0) {
			tnode_free(l);
			return NULL;
		}
		r = sub(p);
		if (!r) {
			tnode_free(l);
			return NULL;
		}
		n = tnode_new(type, pos);
		n->a = l;
		n->b = r;
		l = n;
	}
	p->depth = depth;
	return l;
}

static struct tnode *parse_and(struct parser *p)
{
	return parse_keyword_chain(p, "and", N_AND, parse_not);
}

static struct tnode *parse_or(struct parser *p)
{
	return parse_keyword_chain(p, "or", N_OR, parse_and);
}

static struct tnode *parse_expression(struct parser *p, int with_condexpr)
{
	return with_condexpr ? parse_condexpr(p) : parse_or(p);
}

static struct tnode *parse_not(struct parser *p)
{
	struct tnode *n, *x;
	size_t pos;

	if (!is_name(cur(p), "not"))
		return parse_binary_chain(p, 0);
	pos = cur(p)->pos;
	advance(p);
	if (enter(p) < 0)
		return NULL;
	x = parse_not(p);
	p->depth--;
	if (!x)
		return NULL;
	n = tnode_new(N_NOT, pos);
	n->a = x;
	return n;
}

/*
 * The binary levels below `not`, from loosest to tightest:
 *   0 compare (== != < <= > >= in, not in)   1 + -   2 ~   3 * / // %   4 **
 */
static struct tnode *parse_binary_chain(struct parser *p, int level)
{
	struct tnode *l, *r, *n = NULL;
	size_t pos = cur(p)->pos;
	unsigned depth = p->depth;

	if (level == 5)
		return parse_unary(p, 1);
	l = parse_binary_chain(p, level + 1);
	if (!l)
		return NULL;
	for (;;) {
		struct tok *tk = cur(p);
		int op = OP_NONE;

		if (level == 0) {
			if (tk->type == T_OP &&
			    (tk->op == OP_EQ || tk->op == OP_NE || tk->op == OP_LT ||
			     tk->op == OP_LTEQ || tk->op == OP_GT || tk->op == OP_GTEQ)) {
				op = tk->op;
				advance(p);
			} else if (is_name(tk, "in")) {
				op = OP_IN;
				advance(p);
			} else if (is_name(tk, "not") && is_name(look(p), "in")) {
				op = OP_NOTIN;
				advance(p);
				advance(p);
			}
		} else if (tk->type == T_OP) {
			if ((level == 1 && (tk->op == OP_ADD || tk->op == OP_SUB)) ||
			    (level == 2 && tk->op == OP_TILDE) ||
			    (level == 3 && (tk->op == OP_MUL || tk->op == OP_DIV ||
					    tk->op == OP_FLOORDIV || tk->op == OP_MOD)) ||
			    (level == 4 && tk->op == OP_POW)) {
				op = tk->op;
				advance(p);
			}
		}
		if (op == OP_NONE)
			break;
		if (enter(p) < 0)
			goto fail;
		r = parse_binary_chain(p, level + 1);
		if (!r)
			goto fail;
		if (level == 0) {
			struct tnode *o = tnode_new(N_OPERAND, tk->pos);

			o->op = op;
			o->a = r;
			if (!n) {
				n = tnode_new(N_COMPARE, pos);
				n->a = l;
			}
			nodes_push(&n->args, &n->nargs, o);
		} else if (level == 2) {
			if (!n) {
				n = tnode_new(N_CONCAT, pos);
				nodes_push(&n->args, &n->nargs, l);
			}
			nodes_push(&n->args, &n->nargs, r);
		} else {
			n = tnode_new(N_BIN, pos);
			n->op = op;
			n->a = l;
			n->b = r;
			l = n;
			n = NULL;
		}
	}
	p->depth = depth;
	return n ? n : l;
fail:
	if (n)
		tnode_free(n);
	else
		tnode_free(l);
	return NULL;
}

/* Call arguments "(...)" into n->args, n->kw, n->dyn_args, n->dyn_kwargs. */
static int parse_call_args(struct parser *p, struct tnode *n)
{
	int require_comma = 0;
	size_t pos = cur(p)->pos;

	if (expect(p, T_OP, OP_LPAREN) < 0)
		return -1;
	while (!is_op(cur(p), OP_RPAREN)) {
		if (require_comma) {
			if (expect(p, T_OP, OP_COMMA) < 0)
				return -1;
			if (is_op(cur(p), OP_RPAREN))
				break;
		}
		if (is_op(cur(p), OP_MUL)) {
			if (n->dyn_args || n->dyn_kwargs)
				goto bad;
			advance(p);
			n->dyn_args = parse_expression(p, 1);
			if (!n->dyn_args)
				return -1;
		} else if (is_op(cur(p), OP_POW)) {
			if (n->dyn_kwargs)
				goto bad;
			advance(p);
			n->dyn_kwargs = parse_expression(p, 1);
			if (!n->dyn_kwargs)
				return -1;
		} else if (cur(p)->type == T_NAME && is_op(look(p), OP_ASSIGN)) {
			struct tnode *k;

			if (n->dyn_kwargs)
				goto bad;
			for (size_t i = 0; i < n->nkw; i++)
				if (!strcmp(n->kw[i]->s, cur(p)->s)) {
					fail(p, cur(p)->pos, "keyword argument repeated: %s",
					     cur(p)->s);
					return -1;
				}
			k = tnode_new(N_KEYWORD, cur(p)->pos);
			k->s = occo_strdup(cur(p)->s);
			advance(p);
			advance(p);
			nodes_push(&n->kw, &n->nkw, k);
			k->a = parse_expression(p, 1);
			if (!k->a)
				return -1;
		} else {
			struct tnode *x;

			if (n->dyn_args || n->dyn_kwargs || n->nkw)
				goto bad;
			x = parse_expression(p, 1);
			if (!x)
				return -1;
			nodes_push(&n->args, &n->nargs, x);
		}
		require_comma = 1;
	}
	return expect(p, T_OP, OP_RPAREN);
bad:
	fail(p, pos, "invalid syntax for function call expression");
	return -1;
}

static struct tnode *parse_call(struct parser *p, struct tnode *callee)
{
	/* errors of a call, an attribute or an item point at the start of the expression */
	struct tnode *n = tnode_new(N_CALL, callee->pos);

	n->a = callee;
	if (parse_call_args(p, n) < 0) {
		tnode_free(n);
		return NULL;
	}
	return n;
}

/* A dotted filter or test name. */
static char *parse_dotted_name(struct parser *p)
{
	char *name;

	if (cur(p)->type != T_NAME) {
		expect(p, T_NAME, 0);
		return NULL;
	}
	name = occo_strdup(cur(p)->s);
	advance(p);
	while (is_op(cur(p), OP_DOT)) {
		char *x;

		advance(p);
		if (cur(p)->type != T_NAME) {
			free(name);
			expect(p, T_NAME, 0);
			return NULL;
		}
		x = occo_asprintf("%s.%s", name, cur(p)->s);
		free(name);
		name = x;
		advance(p);
	}
	return name;
}

/* Filters after node ("|f|g(x)"); with start_inline the first "|" is already gone. */
static struct tnode *parse_filter(struct parser *p, struct tnode *node, int start_inline)
{
	unsigned depth = p->depth;

	while (is_op(cur(p), OP_PIPE) || start_inline) {
		struct tnode *f;

		if (enter(p) < 0)
			goto fail;

		if (!start_inline)
			advance(p);
		f = tnode_new(N_FILTER, cur(p)->pos);
		f->a = node;
		node = f;
		f->s = parse_dotted_name(p);
		if (!f->s)
			goto fail;
		if (is_op(cur(p), OP_LPAREN) && parse_call_args(p, f) < 0)
			goto fail;
		start_inline = 0;
	}
	p->depth = depth;
	return node;
fail:
	tnode_free(node);
	return NULL;
}

static struct tnode *parse_test(struct parser *p, struct tnode *node)
{
	size_t pos = cur(p)->pos;
	int negated = 0;
	struct tnode *t = tnode_new(N_TEST, pos), *x;
	struct tok *tk;

	t->a = node;
	advance(p); /* is */
	if (is_name(cur(p), "not")) {
		advance(p);
		negated = 1;
	}
	t->s = parse_dotted_name(p);
	if (!t->s)
		goto fail;
	tk = cur(p);
	if (is_op(tk, OP_LPAREN)) {
		if (parse_call_args(p, t) < 0)
			goto fail;
	} else if ((tk->type == T_NAME || tk->type == T_STRING || tk->type == T_INT ||
		    tk->type == T_FLOAT || is_op(tk, OP_LBRACKET) || is_op(tk, OP_LBRACE)) &&
		   !is_name(tk, "else") && !is_name(tk, "or") && !is_name(tk, "and")) {
		if (is_name(tk, "is")) {
			fail(p, tk->pos, "you cannot chain multiple tests with is");
			goto fail;
		}
		x = parse_primary(p);
		if (x)
			x = parse_postfix(p, x);
		if (!x)
			goto fail;
		nodes_push(&t->args, &t->nargs, x);
	}
	if (negated) {
		x = tnode_new(N_NOT, pos);
		x->a = t;
		return x;
	}
	return t;
fail:
	tnode_free(t);
	return NULL;
}

static struct tnode *parse_filter_expr(struct parser *p, struct tnode *node)
{
	unsigned depth = p->depth;

	while (node) {
		if (enter(p) < 0) {
			tnode_free(node);
			return NULL;
		}
		if (is_op(cur(p), OP_PIPE))
			node = parse_filter(p, node, 0);
		else if (is_name(cur(p), "is"))
			node = parse_test(p, node);
		else if (is_op(cur(p), OP_LPAREN))
			node = parse_call(p, node);
		else
			break;
	}
	p->depth = depth;
	return node;
}

/* One subscript: an expression or a slice. */
static struct tnode *parse_subscribed(struct parser *p)
{
	struct tnode *n, *x = NULL;
	size_t pos = cur(p)->pos;

	if (!is_op(cur(p), OP_COLON)) {
		x = parse_expression(p, 1);
		if (!x || !is_op(cur(p), OP_COLON))
			return x;
	}
	advance(p); /* : */
	n = tnode_new(N_SLICE, pos);
	n->a = x;
	if (!is_op(cur(p), OP_COLON) && !is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA)) {
		n->b = parse_expression(p, 1);
		CHECK(n->b);
	}
	if (is_op(cur(p), OP_COLON)) {
		advance(p);
		if (!is_op(cur(p), OP_RBRACKET) && !is_op(cur(p), OP_COMMA)) {
			n->c = parse_expression(p, 1);
			CHECK(n->c);
		}
	}
	return n;
fail:
	tnode_free(n);
	return NULL;
}

static struct tnode *parse_subscript(struct parser *p, struct tnode *node)
{
	struct tok *tk = cur(p);
	struct tnode *n;

	if (is_op(tk, OP_DOT)) {
		struct tok *at;

		advance(p);
		at = cur(p);
		if (at->type == T_NAME) {
			n = tnode_new(N_GETATTR, node->pos);
			n->a = node;
			n->s = occo_strdup(at->s);
			advance(p);
			return n;
		}
		if (at->type != T_INT) {
			tnode_free(node);
			return fail(p, at->pos, "expected name or number");
		}
		n = tnode_new(N_GETITEM, node->pos);
		n->a = node;
		n->b = tnode_new(N_CONST, at->pos);
		n->b->cval = json_integer(at->ival);
		advance(p);
		return n;
	}
	/* [ */
	advance(p);
	n = tnode_new(N_GETITEM, node->pos);
	n->a = node;
	{
		struct tnode *tuple = NULL, *x;

		while (!is_op(cur(p), OP_RBRACKET)) {
			if (n->b) {
				if (expect(p, T_OP, OP_COMMA) < 0)
					goto fail;
				if (!tuple) {
					tuple = tnode_new(N_TUPLE, tk->pos);
					nodes_push(&tuple->args, &tuple->nargs, n->b);
					n->b = tuple;
				}
			}
			x = parse_subscribed(p);
			CHECK(x);
			if (tuple)
				nodes_push(&tuple->args, &tuple->nargs, x);
			else
				n->b = x;
		}
		if (expect(p, T_OP, OP_RBRACKET) < 0)
			goto fail;
		if (!n->b) {
			n->b = tnode_new(N_TUPLE, tk->pos);
		}
	}
	return n;
fail:
	tnode_free(n);
	return NULL;
}

static struct tnode *parse_postfix(struct parser *p, struct tnode *node)
{
	unsigned depth = p->depth;

	while (node) {
		if (enter(p) < 0) {
			tnode_free(node);
			return NULL;
		}
		if (is_op(cur(p), OP_DOT) || is_op(cur(p), OP_LBRACKET))
			node = parse_subscript(p, node);
		else if (is_op(cur(p), OP_LPAREN))
			node = parse_call(p, node);
		else
			break;
	}
	p->depth = depth;
	return node;
}

static struct tnode *parse_unary(struct parser *p, int with_filter)
{
	struct tnode *node;
	size_t pos = cur(p)->pos;

	if (is_op(cur(p), OP_SUB) || is_op(cur(p), OP_ADD)) {
		int neg = cur(p)->op == OP_SUB;
		struct tnode *x;

		advance(p);
		if (enter(p) < 0)
			return NULL;
		x = parse_unary(p, 0);
		p->depth--;
		if (!x)
			return NULL;
		node = tnode_new(neg ? N_NEG : N_POS, pos);
		node->a = x;
	} else {
		node = parse_primary(p);
	}
	node = parse_postfix(p, node);
	if (with_filter)
		node = parse_filter_expr(p, node);
	return node;
}

static struct tnode *parse_list_or_dict(struct parser *p, int dict)
{
	struct tnode *n = tnode_new(dict ? N_DICT : N_LIST, cur(p)->pos), *x;
	int close = dict ? OP_RBRACE : OP_RBRACKET;

	advance(p);
	while (!is_op(cur(p), close)) {
		if (n->nargs) {
			if (expect(p, T_OP, OP_COMMA) < 0)
				goto fail;
			if (is_op(cur(p), close))
				break;
		}
		x = parse_expression(p, 1);
		CHECK(x);
		nodes_push(&n->args, &n->nargs, x);
		if (dict) {
			if (expect(p, T_OP, OP_COLON) < 0)
				goto fail;
			x = parse_expression(p, 1);
			CHECK(x);
			nodes_push(&n->args, &n->nargs, x);
		}
	}
	if (expect(p, T_OP, close) < 0)
		goto fail;
	return n;
fail:
	tnode_free(n);
	return NULL;
}

static struct tnode *parse_primary(struct parser *p)
{
	struct tok *tk = cur(p);
	struct tnode *n;

	switch (tk->type) {
	case T_NAME:
		n = tnode_new(N_CONST, tk->pos);
		if (!strcmp(tk->s, "true") || !strcmp(tk->s, "True")) {
			n->cval = json_true();
		} else if (!strcmp(tk->s, "false") || !strcmp(tk->s, "False")) {
			n->cval = json_false();
		} else if (!strcmp(tk->s, "none") || !strcmp(tk->s, "None")) {
			n->cval = json_null();
		} else {
			n->kind = N_NAME;
			n->s = occo_strdup(tk->s);
		}
		advance(p);
		return n;
	case T_STRING: {
		struct occo_buf b;

		occo_buf_init(&b, (size_t)-2);
		while (cur(p)->type == T_STRING) {
			occo_buf_append(&b, cur(p)->s, cur(p)->slen, NULL);
			advance(p);
		}
		n = tnode_new(N_CONST, tk->pos);
		n->cval = json_stringn_nocheck(occo_buf_str(&b), b.len);
		occo_buf_release(&b);
		return n;
	}
	case T_INT:
	case T_FLOAT:
		n = tnode_new(N_CONST, tk->pos);
		n->cval = tk->type == T_INT ? json_integer(tk->ival) : json_real(tk->fval);
		advance(p);
		return n;
	case T_OP:
		if (tk->op == OP_LPAREN) {
			advance(p);
			n = parse_tuple(p, 0, 1, 1);
			if (n && expect(p, T_OP, OP_RPAREN) < 0) {
				tnode_free(n);
				return NULL;
			}
			return n;
		}
		if (tk->op == OP_LBRACKET || tk->op == OP_LBRACE)
			return parse_list_or_dict(p, tk->op == OP_LBRACE);
		break;
	default:
		break;
	}
	return unexpected(p);
}

static int is_tuple_end(struct parser *p)
{
	struct tok *tk = cur(p);

	return tk->type == T_VAR_END || tk->type == T_BLOCK_END || is_op(tk, OP_RPAREN);
}

static struct tnode *parse_tuple(struct parser *p, int simplified, int with_condexpr,
				 int explicit_parens)
{
	struct tnode *n = tnode_new(N_TUPLE, cur(p)->pos), *x;
	int is_tuple = 0;

	for (;;) {
		if (n->nargs && expect(p, T_OP, OP_COMMA) < 0)
			goto fail;
		if (is_tuple_end(p))
			break;
		if (simplified)
			x = parse_primary(p);
		else
			x = parse_expression(p, with_condexpr);
		CHECK(x);
		nodes_push(&n->args, &n->nargs, x);
		if (is_op(cur(p), OP_COMMA))
			is_tuple = 1;
		else
			break;
	}
	if (!is_tuple) {
		if (n->nargs) {
			x = n->args[0];
			n->nargs = 0;
			tnode_free(n);
			return x;
		}
		if (!explicit_parens) {
			char d[128];

			describe(cur(p), d, sizeof(d));
			fail(p, cur(p)->pos, "expected an expression, got '%s'", d);
			goto fail;
		}
	}
	return n;
fail:
	tnode_free(n);
	return NULL;
}

static int can_assign(const struct tnode *n)
{
	if (n->kind == N_NAME)
		return 1;
	if (n->kind != N_TUPLE)
		return 0;
	for (size_t i = 0; i < n->nargs; i++)
		if (!can_assign(n->args[i]))
			return 0;
	return 1;
}

static struct tnode *parse_assign_target(struct parser *p, int with_ns)
{
	struct tnode *t;

	if (with_ns && cur(p)->type == T_NAME && is_op(look(p), OP_DOT))
		return fail(p, cur(p)->pos, "namespace assignments are not supported");
	t = parse_tuple(p, 1, 1, 0);
	if (t && !can_assign(t)) {
		fail(p, t->pos, "can't assign to '%s'",
		     t->kind == N_CONST ? "const" : "expression");
		tnode_free(t);
		return NULL;
	}
	return t;
}

static int subparse(struct parser *p, const char *const *ends, struct tnode ***body, size_t *nbody);

/* Parse statements up to one of `ends` (a NULL-terminated list of tag names). */
static int parse_statements(struct parser *p, const char *const *ends, int drop_needle,
			    struct tnode ***body, size_t *nbody)
{
	if (is_op(cur(p), OP_COLON))
		advance(p);
	if (expect(p, T_BLOCK_END, 0) < 0)
		return -1;
	if (subparse(p, ends, body, nbody) < 0)
		return -1;
	if (cur(p)->type == T_EOF) {
		char want[256] = "";

		for (size_t i = 0; ends[i]; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s'%s'",
				 i ? " or " : "", ends[i]);
		fail(p, cur(p)->pos, "unexpected end of template, expected %s", want);
		return -1;
	}
	if (drop_needle)
		advance(p);
	return 0;
}

static const char *const ends_for[] = { "endfor", "else", NULL };
static const char *const ends_endfor[] = { "endfor", NULL };
static const char *const ends_if[] = { "elif", "else", "endif", NULL };
static const char *const ends_endif[] = { "endif", NULL };
static const char *const ends_set[] = { "endset", NULL };
static const char *const ends_with[] = { "endwith", NULL };

static int assigns_loop(const struct tnode *t)
{
	if (t->kind == N_NAME)
		return !strcmp(t->s, "loop");
	for (size_t i = 0; i < t->nargs; i++)
		if (assigns_loop(t->args[i]))
			return 1;
	return 0;
}

static struct tnode *parse_for(struct parser *p)
{
	struct tnode *n = tnode_new(S_FOR, cur(p)->pos);

	advance(p); /* for */
	/*
	 * Jinja2 3.1 hands its "in" end rule to Token.test_any as one tuple, so it never matches:
	 * "{% for x, in xs %}" is a syntax error there, and it is here.
	 */
	n->a = parse_assign_target(p, 0);
	CHECK(n->a);
	if (assigns_loop(n->a)) {
		fail(p, n->a->pos, "can't assign to special loop variable in for-loop target");
		goto fail;
	}
	if (expect_name(p, "in") < 0)
		goto fail;
	n->b = parse_tuple(p, 0, 0, 0);
	CHECK(n->b);
	if (is_name(cur(p), "if")) {
		advance(p);
		n->c = parse_expression(p, 1);
		CHECK(n->c);
	}
	if (is_name(cur(p), "recursive")) {
		fail(p, cur(p)->pos, "recursive loops are not supported");
		goto fail;
	}
	if (parse_statements(p, ends_for, 0, &n->body, &n->nbody) < 0)
		goto fail;
	if (is_name(cur(p), "endfor")) {
		advance(p);
	} else {
		advance(p);
		if (parse_statements(p, ends_endfor, 1, &n->els, &n->nels) < 0)
			goto fail;
	}
	return n;
fail:
	tnode_free(n);
	return NULL;
}

/* An if with its elifs: args holds one S_IF per branch (a: test, body), els the else body. */
static struct tnode *parse_if(struct parser *p)
{
	struct tnode *result = tnode_new(S_IF, cur(p)->pos), *node;

	advance(p); /* if */
	for (;;) {
		node = tnode_new(S_IF, cur(p)->pos);
		nodes_push(&result->args, &result->nargs, node);
		node->a = parse_tuple(p, 0, 0, 0);
		CHECK(node->a);
		if (parse_statements(p, ends_if, 0, &node->body, &node->nbody) < 0)
			goto fail;
		if (is_name(cur(p), "elif")) {
			advance(p);
			continue;
		}
		if (is_name(cur(p), "else")) {
			advance(p);
			if (parse_statements(p, ends_endif, 1, &result->els, &result->nels) < 0)
				goto fail;
		} else {
			advance(p); /* endif */
		}
		break;
	}
	return result;
fail:
	tnode_free(result);
	return NULL;
}

static struct tnode *parse_set(struct parser *p)
{
	struct tnode *n = tnode_new(S_SET, cur(p)->pos);

	advance(p); /* set */
	n->a = parse_assign_target(p, 1);
	CHECK(n->a);
	if (is_op(cur(p), OP_ASSIGN)) {
		advance(p);
		n->b = parse_tuple(p, 0, 1, 0);
		CHECK(n->b);
		return n;
	}
	n->kind = S_SETBLOCK;
	if (is_op(cur(p), OP_PIPE)) {
		n->c = parse_filter(p, NULL, 0);
		CHECK(n->c);
	}
	if (parse_statements(p, ends_set, 1, &n->body, &n->nbody) < 0)
		goto fail;
	return n;
fail:
	tnode_free(n);
	return NULL;
}

static struct tnode *parse_with(struct parser *p)
{
	struct tnode *n = tnode_new(S_WITH, cur(p)->pos), *x;

	advance(p); /* with */
	while (cur(p)->type != T_BLOCK_END) {
		if (n->nargs && expect(p, T_OP, OP_COMMA) < 0)
			goto fail;
		x = parse_assign_target(p, 0);
		CHECK(x);
		nodes_push(&n->args, &n->nargs, x);
		if (expect(p, T_OP, OP_ASSIGN) < 0)
			goto fail;
		x = parse_expression(p, 1);
		CHECK(x);
		nodes_push(&n->kw, &n->nkw, x);
	}
	if (parse_statements(p, ends_with, 1, &n->body, &n->nbody) < 0)
		goto fail;
	return n;
fail:
	tnode_free(n);
	return NULL;
}

/* {% print a, b %}: one S_OUT per expression, returned in *body. */
static int parse_print(struct parser *p, struct tnode ***body, size_t *nbody)
{
	size_t count = 0;

	advance(p); /* print */
	while (cur(p)->type != T_BLOCK_END) {
		struct tnode *o, *x;

		if (count++ && expect(p, T_OP, OP_COMMA) < 0)
			return -1;
		x = parse_expression(p, 1);
		if (!x)
			return -1;
		o = tnode_new(S_OUT, x->pos);
		o->a = x;
		nodes_push(body, nbody, o);
	}
	return 0;
}

static int parse_statement(struct parser *p, struct tnode ***body, size_t *nbody)
{
	static const char *const unsupported[] = { "block",	 "extends", "macro", "include",
						   "import",	 "from",    "call",  "filter",
						   "autoescape", NULL };
	struct tok *tk = cur(p);
	struct tnode *n = NULL;
	int rc = -1;

	if (tk->type != T_NAME) {
		fail(p, tk->pos, "tag name expected");
		return -1;
	}
	if (enter(p) < 0)
		return -1;
	if (!strcmp(tk->s, "for")) {
		n = parse_for(p);
	} else if (!strcmp(tk->s, "if")) {
		n = parse_if(p);
	} else if (!strcmp(tk->s, "set")) {
		n = parse_set(p);
	} else if (!strcmp(tk->s, "with")) {
		n = parse_with(p);
	} else if (!strcmp(tk->s, "print")) {
		rc = parse_print(p, body, nbody);
		goto out;
	} else {
		for (size_t i = 0; unsupported[i]; i++)
			if (!strcmp(tk->s, unsupported[i])) {
				fail(p, tk->pos, "tag '%s' is not supported", tk->s);
				goto out;
			}
		fail(p, tk->pos, "encountered unknown tag '%s'", tk->s);
		goto out;
	}
	if (n) {
		nodes_push(body, nbody, n);
		rc = 0;
	}
out:
	p->depth--;
	return rc;
}

static int ends_match(struct tok *tk, const char *const *ends)
{
	if (!ends || tk->type != T_NAME)
		return 0;
	for (size_t i = 0; ends[i]; i++)
		if (!strcmp(tk->s, ends[i]))
			return 1;
	return 0;
}

static int subparse(struct parser *p, const char *const *ends, struct tnode ***body, size_t *nbody)
{
	while (cur(p)->type != T_EOF) {
		struct tok *tk = cur(p);
		struct tnode *n, *x;

		switch (tk->type) {
		case T_DATA:
			n = tnode_new(S_DATA, tk->pos);
			n->s = tk->s;
			n->slen = tk->slen;
			tk->s = NULL;
			nodes_push(body, nbody, n);
			advance(p);
			break;
		case T_VAR_BEGIN:
			advance(p);
			x = parse_tuple(p, 0, 1, 0);
			if (!x)
				return -1;
			n = tnode_new(S_OUT, tk->pos);
			n->a = x;
			nodes_push(body, nbody, n);
			if (expect(p, T_VAR_END, 0) < 0)
				return -1;
			break;
		case T_BLOCK_BEGIN:
			advance(p);
			if (ends_match(cur(p), ends))
				return 0;
			if (parse_statement(p, body, nbody) < 0)
				return -1;
			if (expect(p, T_BLOCK_END, 0) < 0)
				return -1;
			break;
		default:
			unexpected(p);
			return -1;
		}
	}
	return 0;
}

/*
 * Resolve filter and test names. `soft` is set inside if statements and conditional
 * expressions, where Jinja2 lets an unknown name pass until it is used.
 */
static int resolve(struct parser *p, struct tnode *n, int soft);

static int resolve_all(struct parser *p, struct tnode **v, size_t n, int soft)
{
	for (size_t i = 0; i < n; i++)
		if (resolve(p, v[i], soft) < 0)
			return -1;
	return 0;
}

static int resolve(struct parser *p, struct tnode *n, int soft)
{
	int inner = soft;

	if (!n)
		return 0;
	switch (n->kind) {
	case S_IF:
	case N_COND:
		soft = inner = 1;
		break;
	case S_FOR:
	case S_WITH:
		inner = 0;
		break;
	case N_FILTER:
	case N_TEST:
		n->fidx = n->kind == N_FILTER ? occo__filter_find(n->s) : occo__test_find(n->s);
		if (n->fidx < 0 && !soft) {
			occo__tmpl_err_at(p->t, n->pos, p->err, OCCO_EINVAL, "no %s named '%s'",
					  n->kind == N_FILTER ? "filter" : "test", n->s);
			return -1;
		}
		break;
	default:
		break;
	}
	if (resolve(p, n->a, soft) < 0 || resolve(p, n->b, soft) < 0 ||
	    resolve(p, n->c, soft) < 0 || resolve_all(p, n->args, n->nargs, soft) < 0 ||
	    resolve_all(p, n->kw, n->nkw, soft) < 0 || resolve(p, n->dyn_args, soft) < 0 ||
	    resolve(p, n->dyn_kwargs, soft) < 0)
		return -1;
	return resolve_all(p, n->body, n->nbody, inner) < 0 ||
			       resolve_all(p, n->els, n->nels, inner) < 0
		       ? -1
		       : 0;
}

/* ---- the public API ----------------------------------------------------------------------- */

/* Check UTF-8: 0 or the offset + 1 of the first bad byte. */
static size_t utf8_bad(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = u[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 2;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return i + 1;
		}
		if (i + n > len)
			return i + 1;
		for (size_t k = 1; k < n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return i + 1;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i + 1;
		i += n;
	}
	return 0;
}

/* Jinja2's newline handling: \r\n and \r become \n; one trailing newline goes. */
static char *normalise(const char *text, size_t len, size_t *outlen)
{
	char *out = occo_malloc(len + 1);
	size_t k = 0;

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\r') {
			out[k++] = '\n';
			if (i + 1 < len && text[i + 1] == '\n')
				i++;
		} else {
			out[k++] = text[i];
		}
	}
	if (k > 0 && out[k - 1] == '\n')
		k--;
	out[k] = '\0';
	*outlen = k;
	return out;
}

int occo_tmpl_compile(const char *name, const char *text, size_t len,
		      const struct occo_tmpl_limits *lim, struct occo_tmpl **out,
		      struct occo_err *err)
{
	struct occo_tmpl *t = occo_calloc(1, sizeof(*t));
	struct lexer lx = { 0 };
	struct parser p = { 0 };
	struct occo_err lerr;
	size_t bad;
	int rc;

	occo_err_clear(&lerr);
	t->name = occo_strdup(name ? name : "<template>");
	if (lim)
		t->lim = *lim;
	if (!t->lim.max_depth)
		t->lim.max_depth = DEFAULT_MAX_DEPTH;
	if (!t->lim.max_steps)
		t->lim.max_steps = DEFAULT_MAX_STEPS;
	if (!t->lim.max_value)
		t->lim.max_value = DEFAULT_MAX_VALUE;
	t->src = normalise(text, len, &t->srclen);
	bad = utf8_bad(t->src, t->srclen);
	if (bad) {
		rc = occo__tmpl_err_at(t, bad - 1, &lerr, OCCO_EINVAL, "invalid UTF-8");
		goto fail;
	}
	lx.t = t;
	lx.err = &lerr;
	rc = lex(&lx);
	free(lx.bal);
	if (rc < 0)
		goto fail;
	p.t = t;
	p.toks = lx.toks;
	p.n = lx.n;
	p.err = &lerr;
	rc = subparse(&p, NULL, &t->body, &t->nbody);
	if (rc == 0)
		rc = resolve_all(&p, t->body, t->nbody, 0);
	if (rc < 0) {
		rc = -(lerr.code ? lerr.code : OCCO_EINVAL);
		goto fail;
	}
	toks_free(lx.toks, lx.n);
	*out = t;
	return 0;
fail:
	toks_free(lx.toks, lx.n);
	occo_tmpl_free(t);
	return occo_err_copy(err, &lerr);
}

void occo_tmpl_free(struct occo_tmpl *t)
{
	if (!t)
		return;
	nodes_free(t->body, t->nbody);
	free(t->name);
	free(t->src);
	free(t);
}

const char *occo_tmpl_name(const struct occo_tmpl *t)
{
	return t->name;
}

int occo_tmpl_render_string(const char *name, const char *text, const json_t *ctx,
			    const struct occo_tmpl_env *env, struct occo_buf *out,
			    struct occo_err *err)
{
	struct occo_tmpl *t;
	int rc = occo_tmpl_compile(name, text, strlen(text), NULL, &t, err);

	if (rc < 0)
		return rc;
	rc = occo_tmpl_render(t, ctx, env, out, err);
	occo_tmpl_free(t);
	return rc;
}
