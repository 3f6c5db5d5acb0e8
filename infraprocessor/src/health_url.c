/*
 * health_url.c - the URL probe: an HTTP HEAD through the util HTTP client on a fresh
 * connection, without retries (a probe measures once), following redirects; a 2xx answer is
 * up (Occopus: requests.head with a 10 s timeout). URLs in messages lose their user-info,
 * query and fragment, as in the HTTP client's own messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "occo/util/alloc.h"
#include "occo/util/http.h"
#include "health_int.h"

#define MAX_REDIRECTS 10
#define MAX_BODY 65536

struct url_probe {
	struct hc__probe p;
	char *url; /* the one asked now (after redirects) */
	unsigned redirects;
};

/* The URL as messages show it. */
static void safe_url(const char *url, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *s = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		curl_url_set(u, CURLUPART_USER, NULL, 0);
		curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
		curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
		if (curl_url_get(u, CURLUPART_URL, &s, 0) != CURLUE_OK)
			s = NULL;
	}
	if (s)
		snprintf(out, n, "%s", s);
	else
		snprintf(out, n, "%.*s", (int)strcspn(url, "?#@"), url);
	curl_free(s);
	curl_url_cleanup(u);
}

/* Where a redirect goes: `location` read against `base`; NULL when it makes no URL. */
static char *follow(const char *base, const char *location)
{
	CURLU *u = curl_url();
	char *s = NULL, *r = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
		r = occo_strdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return r;
}

/* The probe failed: "url <url>: <what>". */
static void fail(struct url_probe *up, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct url_probe *up, const char *fmt, ...)
{
	char url[512], what[OCCO_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	safe_url(up->url, url, sizeof(url));
	hc__probe_done(&up->p, 0, "url %s: %s", url, what);
}

static void release(struct url_probe *up)
{
	free(up->url);
	hc__probe_release(&up->p);
}

static int submit(struct url_probe *up);

static void answered(struct occo_http_response *resp, const struct occo_err *err, void *ud)
{
	struct url_probe *up = ud;
	const char *loc, *what;
	char *next;

	if (up->p.done) { /* cancelled */
		release(up);
		return;
	}
	if (err) {
		/* "HEAD <url>: what": the URL is said once, by us */
		what = strstr(err->msg, ": ");
		fail(up, "%s", what ? what + 2 : err->msg);
	} else if (resp->status >= 200 && resp->status < 300) {
		hc__probe_done(&up->p, 1, NULL);
	} else if (resp->status >= 300 && resp->status < 400 &&
		   (loc = occo_http_response_header(resp, "location"))) {
		if (up->redirects >= MAX_REDIRECTS) {
			fail(up, "more than %d redirects", MAX_REDIRECTS);
		} else if (!(next = follow(up->url, loc))) {
			fail(up, "a redirect to something that is not a URL");
		} else {
			free(up->url);
			up->url = next;
			up->redirects++;
			if (submit(up) == 0)
				return;
		}
	} else {
		fail(up, "HTTP %d", resp->status);
	}
	release(up);
}

/* Ask; 0, or -1 when the request could not be made (the probe has failed then). */
static int submit(struct url_probe *up)
{
	struct hc *h = up->p.h;
	struct occo_http_retry once = { 0, 0, 0 };
	struct occo_http_request rq = { 0 };
	struct occo_err err;

	if (!h->http) {
		fail(up, "no HTTP client");
		return -1;
	}
	rq.method = "HEAD";
	rq.url = up->url;
	rq.flags = OCCO_HTTP_F_FRESH_CONNECT;
	rq.timeout_ms = h->o.url_timeout_ms;
	rq.connect_timeout_ms = h->o.url_timeout_ms;
	rq.max_body = MAX_BODY;
	rq.retry = &once;
	if (occo_http_submit(h->http, &rq, answered, up, &err) < 0) {
		fail(up, "%s", err.msg);
		return -1;
	}
	return 0;
}

static void start(struct hc__probe *p)
{
	struct url_probe *up = (struct url_probe *)p;

	up->url = occo_strdup(p->c->urls[p->index]);
	if (submit(up) < 0)
		release(up);
}

static void cancel(struct hc__probe *p)
{
	/* the HTTP client answers every request it took (cancelled when it closes) */
}

static const struct hc__probe_ops ops = { start, cancel };

void hc__url_probe(struct hc__check *c, size_t index)
{
	hc__probe_new(c, sizeof(struct url_probe), &ops, index);
}
