/*
 * id.h - identifiers: random UUIDs (version 4) from OpenSSL's RAND_bytes.
 */
#ifndef OCCO_UTIL_ID_H
#define OCCO_UTIL_ID_H

#include "occo/util/err.h"

#define OCCO_UUID_STRLEN 36 /* without the terminator */

/* Write a new lowercase "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" into out (37 bytes). */
int occo_uuid4(char out[OCCO_UUID_STRLEN + 1], struct occo_err *err);

/* 1 if s is a canonical lowercase or uppercase UUID string, else 0. */
int occo_uuid_valid(const char *s);

/* Fill buf with n cryptographically random bytes. */
int occo_random_bytes(void *buf, size_t n, struct occo_err *err);

#endif
