/*
 * id.c - random UUIDs (RFC 4122 version 4) from OpenSSL's CSPRNG.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "occo/util/id.h"

int occo_random_bytes(void *buf, size_t n, struct occo_err *err)
{
	if (n > (size_t)0x7fffffff)
		return occo_err_set(err, OCCO_EINVAL, "too many random bytes requested");
	if (RAND_bytes(buf, (int)n) != 1)
		return occo_err_set(err, OCCO_EIO, "cannot get random bytes: openssl error %lu",
				    ERR_get_error());
	return 0;
}

int occo_uuid4(char out[OCCO_UUID_STRLEN + 1], struct occo_err *err)
{
	unsigned char b[16];
	int rc = occo_random_bytes(b, sizeof(b), err);

	if (rc < 0)
		return rc;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
	snprintf(out, OCCO_UUID_STRLEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

int occo_uuid_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != OCCO_UUID_STRLEN)
		return 0;
	for (i = 0; i < OCCO_UUID_STRLEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}
