/*
 * http_endpoint.c - the pure parts of the HTTP client: endpoint keys and loggable URLs, the
 * endpoint table (each endpoint with an occo_bucket of limit.h) and Retry-After arithmetic.
 *
 * Nothing here touches the loop or curl transfers, and time and randomness come in as
 * arguments, so the unit tests drive it directly (tests/unit/util/test_http_endpoint.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "occo/util/alloc.h"
#include "http_int.h"

#define HOST_MAX 255

/* Length of the scheme in front of "://" (RFC 3986: ALPHA *(ALPHA / DIGIT / + - .)), or 0. */
static size_t scheme_len(const char *url)
{
	size_t n = 0;

	if (!isalpha((unsigned char)url[0]))
		return 0;
	while (isalnum((unsigned char)url[n]) || (url[n] && strchr("+-.", url[n])))
		n++;
	return strncmp(url + n, "://", 3) ? 0 : n;
}

int occo__http_endpoint_key(const char *url, const char *unix_socket, char out[OCCO__HTTP_KEY_MAX],
			    struct occo_err *err)
{
	char safe[256];
	const char *sep, *auth, *end, *at, *host, *hend, *p;
	size_t slen, hlen, i;
	unsigned long port;
	int https;

	if (!url || !*url)
		return occo_err_set(err, OCCO_EINVAL, "no URL");
	occo__http_safe_url(url, safe, sizeof(safe));
	slen = scheme_len(url);
	if (!slen)
		return occo_err_set(err, OCCO_EINVAL, "URL '%s' has no scheme", safe);
	sep = url + slen;
	if (slen == 4 && !strncasecmp(url, "http", 4))
		https = 0;
	else if (slen == 5 && !strncasecmp(url, "https", 5))
		https = 1;
	else
		return occo_err_set(err, OCCO_ENOTSUP, "unsupported URL scheme '%.*s'",
				    (int)(slen > 32 ? 32 : slen), url);

	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	host = auth;
	for (at = auth; at < end; at++)
		if (*at == '@')
			host = at + 1;
	if (*host == '[') {
		p = memchr(host, ']', (size_t)(end - host));
		if (!p)
			return occo_err_set(err, OCCO_EINVAL, "URL '%s': unterminated IPv6 address",
					    safe);
		hend = p + 1;
	} else {
		hend = memchr(host, ':', (size_t)(end - host));
		if (!hend)
			hend = end;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0)
		return occo_err_set(err, OCCO_EINVAL, "URL '%s' has no host", safe);
	if (hlen > HOST_MAX)
		return occo_err_set(err, OCCO_EINVAL, "URL '%s': host name too long", safe);
	for (i = 0; i < hlen; i++)
		if ((unsigned char)host[i] <= ' ' || host[i] == 0x7f || host[i] == '\\')
			return occo_err_set(err, OCCO_EINVAL, "URL '%s': bad character in host",
					    safe);

	port = https ? 443 : 80;
	if (hend < end) {
		if (*hend != ':')
			return occo_err_set(err, OCCO_EINVAL, "URL '%s': bad host", safe);
		p = hend + 1;
		if (p < end) {
			port = 0;
			for (; p < end; p++) {
				if (!isdigit((unsigned char)*p) || port > 65535)
					return occo_err_set(err, OCCO_EINVAL, "URL '%s': bad port",
							    safe);
				port = port * 10 + (unsigned long)(*p - '0');
			}
			if (port == 0 || port > 65535)
				return occo_err_set(err, OCCO_EINVAL, "URL '%s': bad port", safe);
		}
	}

	if (unix_socket) {
		if (!*unix_socket || strlen(unix_socket) >= OCCO__HTTP_KEY_MAX - 5)
			return occo_err_set(err, OCCO_EINVAL, "bad unix socket path");
		snprintf(out, OCCO__HTTP_KEY_MAX, "unix:%s", unix_socket);
		return 0;
	}
	i = (size_t)snprintf(out, OCCO__HTTP_KEY_MAX, "%s://", https ? "https" : "http");
	for (p = host; p < hend; p++)
		out[i++] = (char)tolower((unsigned char)*p);
	snprintf(out + i, OCCO__HTTP_KEY_MAX - i, ":%lu", port);
	return 0;
}

int occo__http_key_is_address(const char *key)
{
	const char *host = strstr(key, "://"), *colon;
	char buf[OCCO__HTTP_KEY_MAX];
	struct in_addr a4;

	if (!host)
		return !strncmp(key, "unix:", 5);
	host += 3;
	if (*host == '[')
		return 1;
	colon = strrchr(host, ':');
	if (!colon || (size_t)(colon - host) >= sizeof(buf))
		return 0;
	memcpy(buf, host, (size_t)(colon - host));
	buf[colon - host] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1;
}

void occo__http_safe_url(const char *url, char *out, size_t n)
{
	const char *sep, *auth, *end, *at;
	size_t o = 0, len;

	if (n == 0)
		return;
	out[0] = '\0';
	if (!url)
		return;
	sep = url + scheme_len(url);
	auth = url;
	if (sep > url) {
		len = (size_t)(sep + 3 - url);
		if (len >= n)
			len = n - 1;
		memcpy(out, url, len);
		o = len;
		auth = sep + 3;
	}
	/* Without a scheme too: "user:pw@host/x" still loses "user:pw@". */
	end = auth + strcspn(auth, "/?#");
	for (at = auth; at < end; at++)
		if (*at == '@')
			auth = at + 1;
	len = strcspn(auth, "?#");
	if (o + len >= n) {
		len = n - 1 - o;
		memcpy(out + o, auth, len);
		o += len;
		if (n > 4)
			memcpy(out + n - 4, "...", 3);
	} else {
		memcpy(out + o, auth, len);
		o += len;
	}
	out[o] = '\0';
}

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

struct occo__http_ep *occo__http_eptab_find(const struct occo__http_eptab *t, const char *key)
{
	struct occo__http_ep *ep;

	if (!t->nb)
		return NULL;
	for (ep = t->b[key_hash(key) & (t->nb - 1)]; ep; ep = ep->hnext)
		if (!strcmp(ep->key, key))
			return ep;
	return NULL;
}

static void eptab_grow(struct occo__http_eptab *t)
{
	size_t nb = t->nb ? t->nb * 2 : 16, i;
	struct occo__http_ep **b = occo_calloc(nb, sizeof(struct occo__http_ep *));
	struct occo__http_ep *ep, *next;

	for (i = 0; i < t->nb; i++) {
		for (ep = t->b[i]; ep; ep = next) {
			size_t j = key_hash(ep->key) & (nb - 1);

			next = ep->hnext;
			ep->hnext = b[j];
			b[j] = ep;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

struct occo__http_ep *occo__http_eptab_add(struct occo__http_eptab *t, const char *key,
					   const struct occo_http_limits *lim, uint64_t now_ms)
{
	size_t klen = strlen(key);
	struct occo__http_ep *ep = occo_calloc(1, sizeof(*ep) + klen + 1);
	size_t j;

	memcpy(ep->key, key, klen + 1);
	occo__http_link_init(&ep->queue);
	ep->lim = *lim;
	occo_bucket_init(&ep->bucket, lim->rate, lim->burst, now_ms);
	if (t->n >= t->nb)
		eptab_grow(t);
	j = key_hash(key) & (t->nb - 1);
	ep->hnext = t->b[j];
	t->b[j] = ep;
	t->n++;
	return ep;
}

void occo__http_eptab_release(struct occo__http_eptab *t)
{
	struct occo__http_ep *ep, *next;
	size_t i;

	for (i = 0; i < t->nb; i++) {
		for (ep = t->b[i]; ep; ep = next) {
			next = ep->hnext;
			free(ep);
		}
	}
	free(t->b);
	t->b = NULL;
	t->nb = 0;
	t->n = 0;
}

void occo__http_ep_set_limits(struct occo__http_ep *ep, const struct occo_http_limits *lim,
			      uint64_t now_ms)
{
	ep->lim = *lim;
	occo_bucket_set(&ep->bucket, lim->rate, lim->burst, now_ms);
}

int64_t occo__http_retry_after_ms(const char *value, uint64_t now_wall_ms, unsigned cap_ms)
{
	uint64_t secs = 0;
	int64_t ms;
	time_t when;
	const char *p = value;

	if (!p)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		for (; isdigit((unsigned char)*p); p++) {
			if (secs < 1000000000u)
				secs = secs * 10 + (uint64_t)(*p - '0');
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p)
			return -1;
		ms = (int64_t)(secs * 1000u);
	} else {
		when = curl_getdate(p, NULL);
		if (when == (time_t)-1)
			return -1;
		ms = (int64_t)when * 1000 - (int64_t)now_wall_ms;
		if (ms < 0)
			ms = 0;
	}
	return ms > (int64_t)cap_ms ? (int64_t)cap_ms : ms;
}
