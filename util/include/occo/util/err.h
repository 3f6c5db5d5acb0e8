/*
 * err.h - the one error type of occopus-c.
 *
 * A function that can fail returns int (0, or a count, on success; -OCCO_E... on failure) and
 * takes `struct occo_err *err` as its last parameter. The error is recorded where it happens
 * (occo_err_set), gets context on the way up (occo_err_prefix), and is logged once, at the top
 * (a program's main, the maintenance cycle, a REST handler). Foreign errors (errno, libuv,
 * CURLcode, hiredis, HTTP status) are mapped once, at the boundary where they are met.
 *
 * `err` may be NULL everywhere: the code is still returned, the message is dropped.
 */
#ifndef OCCO_UTIL_ERR_H
#define OCCO_UTIL_ERR_H

#include <stddef.h>

/* Append-only: codes are stored in logs and Redis events, so values never change. */
enum occo_code {
	OCCO_OK = 0,
	OCCO_EINVAL = 1, /* bad input: a file, a template, an argument, a REST body */
	OCCO_ENOMEM = 2, /* out of memory or over a hard size limit */
	OCCO_EIO = 3, /* a system call failed (err->sys holds errno) */
	OCCO_ENOENT = 4, /* a file, key or object does not exist */
	OCCO_EEXIST = 5, /* it exists already */
	OCCO_ETIMEDOUT = 6, /* a deadline passed */
	OCCO_ECONN = 7, /* a peer (Redis, a cloud API) cannot be reached or went away */
	OCCO_EPROTO = 8, /* a peer answered something we cannot understand */
	OCCO_EREMOTE = 9, /* a peer answered with an error of its own (its message is kept) */
	OCCO_ECANCELED = 10, /* the operation was cancelled (shutdown, close) */
	OCCO_ETOOBIG = 11, /* a size limit was hit (response body, buffer, file) */
	OCCO_EBUSY = 12, /* held by someone else (a lease, a lock) */
	OCCO_EAUTH = 13, /* credentials were refused */
	OCCO_ELIMIT = 14, /* a peer's quota or rate limit */
	OCCO_ENOTSUP = 15, /* not supported (a URL scheme, a plugin feature) */
	OCCO_ECYCLE = 16, /* a cycle (imports, dependencies) */
	OCCO_ESTATE = 17, /* the operation does not fit the current state */
	OCCO_CODE_MAX
};

#define OCCO_ERR_MSG_MAX 1024

struct occo_err {
	int code; /* enum occo_code, positive; 0 = no error */
	int sys; /* errno or the foreign code it was mapped from, 0 if none */
	char msg[OCCO_ERR_MSG_MAX];
};

/* Clear an error record. */
void occo_err_clear(struct occo_err *err);

/*
 * Record an error: sets err->code, formats err->msg and returns -code, so that a failing
 * function can `return occo_err_set(err, OCCO_EINVAL, "bad thing '%s'", x);`.
 */
int occo_err_set(struct occo_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As occo_err_set, and also keeps `sys` (an errno) and appends ": strerror(sys)". */
int occo_err_sys(struct occo_err *err, int code, int sys, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Add context in front of the message on the way up: "context: old message". Returns -code of
 * the recorded error (or -OCCO_EINVAL if none was recorded), so callers can return it.
 */
int occo_err_prefix(struct occo_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy one record into another (dst may be NULL). Returns -src->code. */
int occo_err_copy(struct occo_err *dst, const struct occo_err *src);

/* The fixed name of a code, e.g. "invalid input". Never NULL. */
const char *occo_code_str(int code);

#endif
