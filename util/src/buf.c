/*
 * buf.c - growable buffer with a hard maximum.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"

void occo_buf_init(struct occo_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void occo_buf_release(struct occo_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void occo_buf_reset(struct occo_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminator. */
static int buf_reserve(struct occo_buf *b, size_t n, struct occo_err *err)
{
	size_t need, cap;

	/* len + n + 1 must fit too: with max = SIZE_MAX the terminator is what overflows */
	if (n > b->max || b->len > b->max - n || b->len + n == SIZE_MAX)
		return occo_err_set(err, OCCO_ETOOBIG, "data exceeds the limit of %zu bytes",
				    b->max);
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	b->data = occo_realloc(b->data, cap);
	b->cap = cap;
	return 0;
}

int occo_buf_append(struct occo_buf *b, const void *data, size_t n, struct occo_err *err)
{
	int rc = buf_reserve(b, n, err);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int occo_buf_appends(struct occo_buf *b, const char *s, struct occo_err *err)
{
	return occo_buf_append(b, s, strlen(s), err);
}

int occo_buf_vappendf(struct occo_buf *b, struct occo_err *err, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return occo_err_set(err, OCCO_EINVAL, "bad format string");
	rc = buf_reserve(b, (size_t)n, err);
	if (rc < 0)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int occo_buf_appendf(struct occo_buf *b, struct occo_err *err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = occo_buf_vappendf(b, err, fmt, ap);
	va_end(ap);
	return rc;
}

const char *occo_buf_str(const struct occo_buf *b)
{
	return b->data ? b->data : "";
}

char *occo_buf_detach(struct occo_buf *b, size_t *len_out)
{
	char *p = b->data ? b->data : occo_strdup("");

	if (len_out)
		*len_out = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
