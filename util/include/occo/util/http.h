/*
 * http.h - the async HTTP client: libcurl's multi-socket API driven by the process's libuv loop.
 *
 * Every cloud plugin (EC2 Query API with SigV4, the Docker Engine API over a unix socket, Nova
 * with X-Auth-Token) and the URL health checks go through one struct occo_http bound to the
 * loop. Nothing blocks: sockets are watched with uv_poll_t, curl's timeouts and the retry and
 * rate-limit delays run on uv_timer_t.
 *
 * The life of a request:
 *
 *   submit -> endpoint queue (FIFO) -> global queue (FIFO) -> transfer -> callback
 *                  ^ concurrency + token bucket     ^ max_transfers       |
 *                  +----------- backoff timer <----- transient failure <--+
 *
 * - An endpoint is scheme+host+port of the URL (http://127.0.0.1:80), or the unix socket path
 *   when one is given. Each endpoint has a concurrency limit (a semaphore: requests beyond it
 *   wait in FIFO order) and a token bucket (rate per second, burst), both unlimited unless
 *   set in occo_http_opts.endpoint or with occo_http_set_limits().
 * - A request that passed its endpoint waits for one of the client's max_transfers slots.
 * - timeout_ms covers one attempt of the transfer, from the moment it is handed to curl: time
 *   spent in the queues or in a backoff delay does not count. A caller that needs a deadline
 *   over everything sets max_retries and the limits accordingly, or closes the client.
 * - Transient failures are retried with exponential backoff and full jitter
 *   (delay = random(0, min(cap_ms, base_ms * 2^(retry-1)))), or after the server's Retry-After
 *   (seconds or an HTTP date, capped at cap_ms) on 429 and 503:
 *     always:             connect errors (refused, connect timeout: nothing was sent), 429, 503
 *     idempotent only:    timeouts, connections reset or closed mid-transfer, 500, 502, 504
 *   GET, HEAD and OPTIONS are idempotent; for other methods set OCCO_HTTP_F_IDEMPOTENT (EC2
 *   calls with a ClientToken, Docker DELETE, ...). Name resolution failures, TLS failures and
 *   other 4xx/5xx are not retried.
 * - An HTTP error status (4xx, 5xx, also when retries are exhausted: the last response) is a
 *   response, not an error: the caller decides what a status means. Errors are transport
 *   failures only. Redirects are not followed (a 3xx is a response too).
 * - Response bodies are held in an occo_buf bounded by max_body; a larger body aborts the
 *   transfer with -OCCO_ETOOBIG.
 *
 * The callback of a request runs exactly once, on the loop, never from inside
 * occo_http_submit(), and never when occo_http_submit() returned an error. Credentials are
 * never logged and never appear in error messages; URLs in messages and logs lose their
 * user-info, query string and fragment.
 *
 * Not thread-safe: use a client from its loop's thread only.
 */
#ifndef OCCO_UTIL_HTTP_H
#define OCCO_UTIL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "occo/util/buf.h"
#include "occo/util/err.h"

struct occo_http;

/* Retry policy of a client (occo_http_opts.retry) or of one request (occo_http_request.retry). */
struct occo_http_retry {
	unsigned max_retries; /* attempts after the first; 0 = never retry (default 3) */
	unsigned base_ms; /* first backoff ceiling (default 200) */
	unsigned cap_ms; /* largest delay, Retry-After included (default 10000) */
};

/* Limits of one endpoint. 0 means unlimited. */
struct occo_http_limits {
	unsigned max_concurrent; /* requests of the endpoint in flight at once */
	double rate; /* requests started per second (token bucket refill) */
	unsigned burst; /* bucket size: requests that may start at once (min 1) */
};

/*
 * Client options: start from occo_http_opts_init() (the defaults in parentheses), then change
 * what you need. A 0 timeout or max_body also means the default.
 */
struct occo_http_opts {
	/*
	 * Transfers in flight over all endpoints; 0 = unlimited (256: each holds a file
	 * descriptor, and as many idle connections are kept for reuse).
	 */
	unsigned max_transfers;
	unsigned timeout_ms; /* per-attempt timeout of a request that sets none (30000) */
	unsigned connect_timeout_ms; /* connect timeout of a request that sets none (10000) */
	size_t max_body; /* body limit of a request that sets none (16 MiB) */
	struct occo_http_retry retry; /* see above (3 retries, 200 ms, 10 s) */
	struct occo_http_limits endpoint; /* limits of endpoints not set explicitly (unlimited) */
};

/* Request flags. */
#define OCCO_HTTP_F_IDEMPOTENT 0x1u /* safe to send twice: retry timeouts and 500/502/504 */
#define OCCO_HTTP_F_INSECURE 0x2u /* TLS without verifying the peer (tests only) */
/*
 * A new connection, closed after the transfer: for probes of many distinct hosts, where a
 * kept connection is never reused and a full connection cache costs time on every transfer
 * (10,000 probes of 10,000 hosts: ~1 s with it, several without). Also what a probe should
 * measure: that a client can connect.
 */
#define OCCO_HTTP_F_FRESH_CONNECT 0x4u

/*
 * What to send. Everything is copied by occo_http_submit() (body included), so the caller may
 * free or reuse it as soon as the call returns. NULL/0 fields take the defaults.
 */
struct occo_http_request {
	const char *method; /* "GET" (default), "HEAD", "POST", "PUT", "DELETE", ... */
	const char *url; /* http:// or https://; over a unix socket the host is a dummy */
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const void *body; /* request body (POST/PUT/...); may be NULL */
	size_t body_len;
	const char *unix_socket; /* connect to this unix socket path instead of host:port */
	const char *ca_file; /* PEM bundle to verify the server with (else the system's) */
	unsigned flags; /* OCCO_HTTP_F_* */
	unsigned timeout_ms; /* one attempt, whole transfer (default: the client's) */
	unsigned connect_timeout_ms; /* one attempt, connect phase (default: the client's) */
	size_t max_body; /* response body limit (default: the client's) */
	const struct occo_http_retry *retry; /* NULL: the client's policy */
	/*
	 * AWS Signature V4 provider string as curl takes it, "aws:amz:<region>:<service>" (e.g.
	 * "aws:amz:eu-west-1:ec2"); username is then the access key and password the secret key.
	 * Without it, username/password are sent as HTTP basic auth.
	 */
	const char *aws_sigv4;
	const char *username; /* secret: never logged; our copy is wiped when done */
	const char *password; /* secret: never logged; our copy is wiped when done */
};

/*
 * A response. Valid only inside the callback (like a hiredis reply); the body may be taken
 * with occo_buf_detach(&resp->body), everything else is copied by the caller if needed.
 */
struct occo_http_response {
	int status; /* HTTP status code, e.g. 200, 404, 503 */
	struct occo_buf body; /* NUL-terminated; empty for HEAD */
	unsigned attempts; /* 1 + retries made */
	void *priv; /* the client's; do not touch */
};

/*
 * Called exactly once per accepted request: on success resp is set and err is NULL; on
 * failure resp is NULL and err says what failed ("GET http://h:80/x: connection refused"):
 * -OCCO_ECONN (cannot connect or resolve, TLS failure, connection lost), -OCCO_ETIMEDOUT,
 * -OCCO_ETOOBIG (body over max_body), -OCCO_ECANCELED (the client was closed), -OCCO_EINVAL,
 * -OCCO_EPROTO (anything else curl reports). The callback may submit new requests and may
 * close the client.
 */
typedef void (*occo_http_cb)(struct occo_http_response *resp, const struct occo_err *err, void *ud);

/* Called when a closed client has released everything. */
typedef void (*occo_http_close_cb)(void *ud);

/* Fill opts with the defaults above. */
void occo_http_opts_init(struct occo_http_opts *opts);

/*
 * Create a client on a loop. opts (copied; NULL: the defaults) are fixed for its life, except
 * endpoint limits (occo_http_set_limits). The caller closes it with occo_http_close().
 */
int occo_http_new(uv_loop_t *loop, const struct occo_http_opts *opts, struct occo_http **out,
		  struct occo_err *err);

/*
 * Close a client: every request not finished yet gets its callback with -OCCO_ECANCELED,
 * synchronously, before this returns; later submits fail with -OCCO_ESTATE. The memory is
 * released from libuv close callbacks, so the loop must run afterwards; close_cb (may be
 * NULL) is called when it is done. May be called from a request's callback. NULL is fine.
 */
void occo_http_close(struct occo_http *h, occo_http_close_cb close_cb, void *ud);

/*
 * Submit a request (copied, see struct occo_http_request). cb runs exactly once, later, on the
 * loop. Fails without calling cb on a bad request (-OCCO_EINVAL: no URL, unparsable URL,
 * header without ':'; -OCCO_ENOTSUP: scheme other than http/https) or a closing client
 * (-OCCO_ESTATE).
 */
int occo_http_submit(struct occo_http *h, const struct occo_http_request *rq, occo_http_cb cb,
		     void *ud, struct occo_err *err);

/*
 * The value of a response header (name case-insensitive; the first one if repeated), or NULL.
 * Headers are those of the final response. Valid as long as resp.
 */
const char *occo_http_response_header(const struct occo_http_response *resp, const char *name);

/*
 * Set the limits of one endpoint, given as a URL (only scheme, host and port are used:
 * "https://ec2.eu-west-1.amazonaws.com") or as an absolute unix socket path. Requests already
 * waiting are subject to the new limits at once.
 */
int occo_http_set_limits(struct occo_http *h, const char *endpoint,
			 const struct occo_http_limits *lim, struct occo_err *err);

/* Counters, for metrics. */
struct occo_http_stats {
	uint64_t sent; /* attempts handed to curl, retries included */
	uint64_t retries; /* attempts scheduled again after a transient failure */
	uint64_t responses; /* requests that ended with a response (any status) */
	uint64_t errors; /* requests that ended with an error (cancelled included) */
	unsigned active; /* requests holding a concurrency slot (in transfer or about to be) */
	unsigned waiting; /* requests in a queue or a backoff delay */
};

/*
 * Read the counters of one endpoint (named as for occo_http_set_limits; -OCCO_ENOENT if no
 * request and no occo_http_set_limits named it yet) or, with endpoint NULL, the totals of the
 * client. An endpoint is kept, with its counters, for the life of the client (a small record
 * per distinct scheme+host+port or socket).
 */
int occo_http_stats_get(const struct occo_http *h, const char *endpoint,
			struct occo_http_stats *out, struct occo_err *err);

#endif
