/*
 * alloc.h - allocation helpers.
 *
 * Like redis's zmalloc: an allocation failure of a small object is not an error a caller can
 * handle usefully, so these abort with a message instead of returning NULL. Sizes that come
 * from outside (files, the network) are bounded by the callers before they get here.
 */
#ifndef OCCO_UTIL_ALLOC_H
#define OCCO_UTIL_ALLOC_H

#include <stddef.h>
#include <stdarg.h>

void *occo_malloc(size_t n);
void *occo_calloc(size_t nmemb, size_t size);
void *occo_realloc(void *p, size_t n);
/* reallocarray: aborts on overflow of nmemb * size as on exhaustion. */
void *occo_reallocarray(void *p, size_t nmemb, size_t size);
char *occo_strdup(const char *s);
char *occo_strndup(const char *s, size_t n);
/* A newly allocated formatted string; the caller frees it. */
char *occo_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *occo_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Overwrite memory that held a secret before it is freed (not optimised away). */
void occo_wipe(void *p, size_t n);
/* occo_wipe(s, strlen(s)) then free(s); NULL is fine. */
void occo_free_secret(char *s);

#endif
