/*
 * buf.h - a growable byte buffer with a hard maximum (after curl's dynbuf).
 *
 * The buffer is always NUL-terminated (the terminator is not counted in len), so text can be
 * used in place. Appending past `max` fails with -OCCO_ETOOBIG and leaves the buffer as it
 * was: a response body or a file that is too large is an error, never an unbounded allocation.
 */
#ifndef OCCO_UTIL_BUF_H
#define OCCO_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "occo/util/err.h"

struct occo_buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t max; /* hard limit of len */
};

/* Start an empty buffer that may hold at most `max` bytes. Allocates nothing. */
void occo_buf_init(struct occo_buf *b, size_t max);
/* Free the memory; the buffer is empty and can be used again with the same max. */
void occo_buf_release(struct occo_buf *b);
/* Forget the contents, keep the memory. */
void occo_buf_reset(struct occo_buf *b);

int occo_buf_append(struct occo_buf *b, const void *data, size_t n, struct occo_err *err);
int occo_buf_appends(struct occo_buf *b, const char *s, struct occo_err *err);
int occo_buf_appendf(struct occo_buf *b, struct occo_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int occo_buf_vappendf(struct occo_buf *b, struct occo_err *err, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* The contents as a C string ("" when empty). Borrowed: valid until the next change. */
const char *occo_buf_str(const struct occo_buf *b);

/*
 * Take the contents: returns a malloc'd NUL-terminated string (never NULL, "" if empty) that
 * the caller frees, and leaves the buffer empty. *len_out (may be NULL) gets its length.
 */
char *occo_buf_detach(struct occo_buf *b, size_t *len_out);

#endif
