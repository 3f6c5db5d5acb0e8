/*
 * http_int.h - internals of the HTTP client shared by http.c (the client on the loop) and
 * http_endpoint.c (URL parsing, the endpoint table, Retry-After; the token bucket and backoff
 * arithmetic are in limit.h).
 *
 * The pure parts live in http_endpoint.c so that unit tests can drive them with injected time
 * and injected random numbers.
 */
#ifndef OCCO_UTIL_HTTP_INT_H
#define OCCO_UTIL_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "occo/util/err.h"
#include "occo/util/http.h"
#include "occo/util/limit.h"

/* An intrusive doubly linked circular list (a head is a link pointing to itself when empty). */
struct occo__http_link {
	struct occo__http_link *prev, *next;
};

static inline void occo__http_link_init(struct occo__http_link *l)
{
	l->prev = l;
	l->next = l;
}

static inline int occo__http_link_empty(const struct occo__http_link *head)
{
	return head->next == head;
}

static inline void occo__http_link_add_tail(struct occo__http_link *head, struct occo__http_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static inline void occo__http_link_del(struct occo__http_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	occo__http_link_init(l);
}

#define OCCO__HTTP_ENTRY(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Longest endpoint key: "https://" + a 253-byte host in brackets + ":65535", or a socket path. */
#define OCCO__HTTP_KEY_MAX 320

/* One endpoint: its limits, its queue, its token bucket and its counters. */
struct occo__http_ep {
	struct occo__http_ep *hnext; /* hash chain */
	struct occo_http *h; /* the client it belongs to (set by http.c) */
	struct occo__http_link queue; /* requests waiting for a slot or a token, FIFO */
	struct occo_http_limits lim;
	struct occo_bucket bucket; /* lim.rate and lim.burst as a token bucket */
	uv_timer_t timer; /* wakes the queue when the bucket has a token again */
	int timer_inited;
	struct occo_http_stats stats;
	char key[]; /* "https://host:443" or "unix:/path" */
};

/* Endpoints by key (chained hash table). */
struct occo__http_eptab {
	struct occo__http_ep **b;
	size_t nb; /* buckets, a power of two (0 before the first insert) */
	size_t n;
};

/*
 * The endpoint key of a request: "unix:<path>" when unix_socket is set (the URL is still
 * checked), else "<scheme>://<host>:<port>" with scheme and host lowercased and the default
 * port filled in. Only http and https are accepted.
 */
int occo__http_endpoint_key(const char *url, const char *unix_socket, char out[OCCO__HTTP_KEY_MAX],
			    struct occo_err *err);

/* 1 if the endpoint key names an IP address or a unix socket (nothing to resolve), else 0. */
int occo__http_key_is_address(const char *key);

/*
 * The URL as it may appear in a message or a log line: without user-info, query string and
 * fragment; cut (ending in "...") to fit n bytes.
 */
void occo__http_safe_url(const char *url, char *out, size_t n);

struct occo__http_ep *occo__http_eptab_find(const struct occo__http_eptab *t, const char *key);
/* Add a new endpoint (key must not be there yet) with the given limits and a full bucket. */
struct occo__http_ep *occo__http_eptab_add(struct occo__http_eptab *t, const char *key,
					   const struct occo_http_limits *lim, uint64_t now_ms);
/* Free every endpoint (their timers must be closed already) and the table. */
void occo__http_eptab_release(struct occo__http_eptab *t);

/* Change the limits of an endpoint; the bucket keeps its level, cut to the new burst. */
void occo__http_ep_set_limits(struct occo__http_ep *ep, const struct occo_http_limits *lim,
			      uint64_t now_ms);

/*
 * A Retry-After header value (delay-seconds or an HTTP date) in milliseconds from now_wall_ms,
 * capped at cap_ms; -1 when it cannot be parsed.
 */
int64_t occo__http_retry_after_ms(const char *value, uint64_t now_wall_ms, unsigned cap_ms);

#endif
