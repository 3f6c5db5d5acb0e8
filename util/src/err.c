/*
 * err.c - the error record: set, prefix, copy, and the names of the codes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "occo/util/err.h"

static const char *const code_names[OCCO_CODE_MAX] = {
	[OCCO_OK] = "ok",
	[OCCO_EINVAL] = "invalid input",
	[OCCO_ENOMEM] = "out of memory",
	[OCCO_EIO] = "i/o error",
	[OCCO_ENOENT] = "not found",
	[OCCO_EEXIST] = "already exists",
	[OCCO_ETIMEDOUT] = "timed out",
	[OCCO_ECONN] = "connection failed",
	[OCCO_EPROTO] = "protocol error",
	[OCCO_EREMOTE] = "remote error",
	[OCCO_ECANCELED] = "cancelled",
	[OCCO_ETOOBIG] = "too large",
	[OCCO_EBUSY] = "busy",
	[OCCO_EAUTH] = "authentication failed",
	[OCCO_ELIMIT] = "limit exceeded",
	[OCCO_ENOTSUP] = "not supported",
	[OCCO_ECYCLE] = "cycle",
	[OCCO_ESTATE] = "wrong state",
};

const char *occo_code_str(int code)
{
	if (code < 0)
		code = -code;
	if (code >= OCCO_CODE_MAX || !code_names[code])
		return "unknown error";
	return code_names[code];
}

void occo_err_clear(struct occo_err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->sys = 0;
	err->msg[0] = '\0';
}

static int err_vset(struct occo_err *err, int code, int sys, const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = OCCO_EINVAL;
	if (!err)
		return -code;
	err->code = code;
	err->sys = sys;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -code;
}

int occo_err_set(struct occo_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = err_vset(err, code, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int occo_err_sys(struct occo_err *err, int code, int sys, const char *fmt, ...)
{
	va_list ap;
	int rc;
	size_t n;

	va_start(ap, fmt);
	rc = err_vset(err, code, sys, fmt, ap);
	va_end(ap);
	if (err && sys) {
		n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(sys));
	}
	return rc;
}

int occo_err_prefix(struct occo_err *err, const char *fmt, ...)
{
	char head[OCCO_ERR_MSG_MAX];
	char old[OCCO_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return -OCCO_EINVAL;
	if (!err->code)
		err->code = OCCO_EINVAL;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	if (old[0])
		snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old);
	else
		snprintf(err->msg, sizeof(err->msg), "%s", head);
	return -err->code;
}

int occo_err_copy(struct occo_err *dst, const struct occo_err *src)
{
	if (dst && dst != src)
		memcpy(dst, src, sizeof(*dst));
	return -(src->code ? src->code : OCCO_EINVAL);
}
