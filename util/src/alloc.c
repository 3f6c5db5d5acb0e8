/*
 * alloc.c - allocation that aborts on exhaustion, and wiping of secrets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"

static void oom(size_t n)
{
	fprintf(stderr, "occopus: out of memory allocating %zu bytes\n", n);
	abort();
}

void *occo_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *occo_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *occo_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

void *occo_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > (size_t)-1 / size)
		oom((size_t)-1);
	return occo_realloc(p, nmemb * size);
}

char *occo_strdup(const char *s)
{
	return occo_strndup(s, strlen(s));
}

char *occo_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = occo_malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *occo_vasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		n = 0;
	p = occo_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *occo_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = occo_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void occo_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

void occo_free_secret(char *s)
{
	if (!s)
		return;
	occo_wipe(s, strlen(s));
	free(s);
}
