/*
 * http.c - the async HTTP client (see occo/util/http.h): libcurl's multi-socket API on libuv.
 *
 * curl tells us which sockets to watch (on_socket -> one uv_poll_t per socket) and when to
 * call it back (on_curl_timer -> one uv_timer_t); we report readiness with
 * curl_multi_socket_action() and collect finished transfers with curl_multi_info_read().
 *
 * A request is one allocation (the struct and copies of its strings and body) and moves
 * through these states; `active` and `waiting` in the counters follow them:
 *
 *   EP_QUEUE  (waiting) in its endpoint's FIFO, for a concurrency slot and a token
 *   GLOBAL    (active)  holds its endpoint slot, waits for one of max_transfers
 *   XFER      (active)  a curl easy handle of the pool is running it
 *   DEFER     (active)  could not be started; its error is delivered from the defer timer
 *   BACKOFF   (waiting) transient failure; its own timer puts it back into EP_QUEUE
 *   DONE                callback called (or being called)
 *
 * Easy handles are pooled (curl_easy_reset keeps their connections, DNS and TLS session
 * caches), so a request costs no curl_easy_init once the pool is warm.
 *
 * Every uv handle we own is counted in h->nhandles; the client is freed from the close
 * callback that brings the count to zero after occo_http_close().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "occo/util/alloc.h"
#include "occo/util/clock.h"
#include "occo/util/http.h"
#include "occo/util/id.h"
#include "occo/util/log.h"
#include "occo/util/version.h"
#include "http_int.h"

#define DEFAULT_MAX_TRANSFERS 256
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define DEFAULT_MAX_RETRIES 3
#define DEFAULT_BASE_MS 200
#define DEFAULT_CAP_MS 10000
#define POOL_MAX_UNLIMITED 256 /* easy handles kept when max_transfers is 0 */
#define SAFE_URL_MAX 256

enum req_state { EP_QUEUE, GLOBAL, XFER, DEFER, BACKOFF, DONE };

/* A pooled curl easy handle and the error buffer it writes to. */
struct http_easy {
	CURL *curl;
	struct http_easy *next;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_sock {
	uv_poll_t poll;
	struct occo__http_link link; /* h->socks */
	struct occo_http *h;
};

struct http_req {
	struct occo__http_link link; /* the queue of its state */
	struct occo__http_link all; /* h->reqs */
	struct occo_http *h;
	struct occo__http_ep *ep;
	enum req_state state;
	occo_http_cb cb;
	void *ud;
	struct http_easy *easy; /* while XFER, and during the callback of a response */
	struct curl_slist *hdrs; /* copies of the request headers */
	struct occo_buf body; /* the response body */
	const char *method, *url, *unix_socket, *ca_file, *aws_sigv4;
	char *username, *password; /* inside mem: wiped by req_free */
	const char *data; /* request body, inside mem */
	size_t data_len;
	size_t secrets_len; /* bytes of mem from username on that are wiped */
	unsigned flags, timeout_ms, connect_timeout_ms;
	struct occo_http_retry retry;
	unsigned attempts;
	unsigned too_big : 1, timer_inited : 1, head : 1, idempotent : 1, no_dns_cache : 1;
	CURLcode fail_cc; /* DEFER: why it could not start */
	const char *fail_what; /* DEFER: curl's text for it */
	uv_timer_t timer; /* BACKOFF */
	char mem[];
};

struct occo_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer; /* curl's timeout */
	uv_timer_t defer; /* delivers DEFER requests */
	struct occo_http_opts opts;
	struct occo__http_link reqs; /* every request not DONE */
	struct occo__http_link global_q; /* GLOBAL */
	struct occo__http_link defer_q; /* DEFER */
	struct occo__http_link socks; /* open socket watchers */
	struct occo__http_eptab eps;
	struct http_easy *pool;
	unsigned npool, pool_max;
	unsigned transfers; /* XFER */
	struct occo_http_stats total;
	unsigned nhandles;
	int closing;
	occo_http_close_cb close_cb;
	void *close_ud;
	char user_agent[48];
};

static void check_multi_info(struct occo_http *h);
static void ep_pump(struct occo__http_ep *ep);
static void global_pump(struct occo_http *h);

void occo_http_opts_init(struct occo_http_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->max_transfers = DEFAULT_MAX_TRANSFERS;
	opts->timeout_ms = DEFAULT_TIMEOUT_MS;
	opts->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	opts->max_body = DEFAULT_MAX_BODY;
	opts->retry.max_retries = DEFAULT_MAX_RETRIES;
	opts->retry.base_ms = DEFAULT_BASE_MS;
	opts->retry.cap_ms = DEFAULT_CAP_MS;
}

/* Handles and freeing */

static void client_free(struct occo_http *h)
{
	occo_http_close_cb cb = h->close_cb;
	void *ud = h->close_ud;
	struct http_easy *e;

	/* closing is set: curl's socket and timer callbacks return at once from here on. */
	curl_multi_cleanup(h->multi);
	while ((e = h->pool)) {
		h->pool = e->next;
		curl_easy_cleanup(e->curl);
		free(e);
	}
	occo__http_eptab_release(&h->eps);
	free(h);
	curl_global_cleanup();
	if (cb)
		cb(ud);
}

static void handle_closed(uv_handle_t *handle)
{
	struct occo_http *h = handle->data;

	if (--h->nhandles == 0 && h->closing)
		client_free(h);
}

static void sock_closed(uv_handle_t *handle)
{
	struct http_sock *s = OCCO__HTTP_ENTRY(handle, struct http_sock, poll);
	struct occo_http *h = s->h;

	free(s);
	if (--h->nhandles == 0 && h->closing)
		client_free(h);
}

static void sock_close(struct http_sock *s)
{
	occo__http_link_del(&s->link);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static struct http_easy *easy_get(struct occo_http *h)
{
	struct http_easy *e = h->pool;

	if (e) {
		h->pool = e->next;
		h->npool--;
		return e;
	}
	e = occo_malloc(sizeof(*e));
	e->curl = curl_easy_init();
	if (!e->curl) {
		free(e);
		return NULL;
	}
	return e;
}

static void easy_put(struct occo_http *h, struct http_easy *e)
{
	if (h->npool >= h->pool_max) {
		curl_easy_cleanup(e->curl);
		free(e);
		return;
	}
	curl_easy_reset(e->curl);
	e->next = h->pool;
	h->pool = e;
	h->npool++;
}

static void req_mem_closed(uv_handle_t *handle)
{
	struct http_req *req = OCCO__HTTP_ENTRY(handle, struct http_req, timer);
	struct occo_http *h = req->h;

	free(req);
	if (--h->nhandles == 0 && h->closing)
		client_free(h);
}

/* Free a request that is DONE and on no list. */
static void req_free(struct http_req *req)
{
	struct curl_slist *l;

	if (req->easy)
		easy_put(req->h, req->easy);
	for (l = req->hdrs; l; l = l->next)
		occo_wipe(l->data, strlen(l->data)); /* tokens travel in headers */
	curl_slist_free_all(req->hdrs);
	occo_buf_release(&req->body);
	if (req->secrets_len)
		occo_wipe(req->username ? req->username : req->password, req->secrets_len);
	if (req->timer_inited)
		uv_close((uv_handle_t *)&req->timer, req_mem_closed);
	else
		free(req);
}

/* States and counters */

static int state_active(enum req_state s)
{
	return s == GLOBAL || s == XFER || s == DEFER;
}

static int state_waiting(enum req_state s)
{
	return s == EP_QUEUE || s == BACKOFF;
}

static void req_set_state(struct http_req *req, enum req_state to)
{
	struct occo_http_stats *es = &req->ep->stats, *ts = &req->h->total;
	enum req_state from = req->state;

	if (state_active(from)) {
		es->active--;
		ts->active--;
	} else if (state_waiting(from)) {
		es->waiting--;
		ts->waiting--;
	}
	if (state_active(to)) {
		es->active++;
		ts->active++;
	} else if (state_waiting(to)) {
		es->waiting++;
		ts->waiting++;
	}
	req->state = to;
}

/* Errors */

static void req_safe_url(const struct http_req *req, char out[SAFE_URL_MAX])
{
	occo__http_safe_url(req->url, out, SAFE_URL_MAX);
}

/* Map a finished transfer's CURLcode to our error record, once, here. */
static int map_curl_error(struct http_req *req, CURLcode cc, struct occo_err *err)
{
	const char *detail =
		req->easy && req->easy->errbuf[0] ? req->easy->errbuf : curl_easy_strerror(cc);
	long os_errno = 0;
	curl_off_t connected = 0;

	if (req->easy) {
		curl_easy_getinfo(req->easy->curl, CURLINFO_OS_ERRNO, &os_errno);
		curl_easy_getinfo(req->easy->curl, CURLINFO_CONNECT_TIME_T, &connected);
	}
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		if (os_errno == ECONNREFUSED)
			return occo_err_set(err, OCCO_ECONN, "connection refused");
		if (os_errno)
			return occo_err_sys(err, OCCO_ECONN, (int)os_errno, "cannot connect");
		return occo_err_set(err, OCCO_ECONN, "cannot connect: %s", detail);
	case CURLE_COULDNT_RESOLVE_HOST:
		return occo_err_set(err, OCCO_ECONN, "cannot resolve host");
	case CURLE_OPERATION_TIMEDOUT:
		if (!connected)
			return occo_err_set(err, OCCO_ETIMEDOUT, "connect timed out after %u ms",
					    req->connect_timeout_ms);
		return occo_err_set(err, OCCO_ETIMEDOUT, "timed out after %u ms", req->timeout_ms);
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (req->too_big || cc == CURLE_FILESIZE_EXCEEDED)
			return occo_err_set(err, OCCO_ETOOBIG,
					    "response body exceeds the limit of %zu bytes",
					    req->body.max);
		return occo_err_set(err, OCCO_EPROTO, "%s", detail);
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return occo_err_set(err, OCCO_ECONN, "tls: %s", detail);
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return occo_err_set(err, OCCO_ECONN, "connection lost: %s", detail);
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return occo_err_set(err, OCCO_EINVAL, "bad URL: %s", detail);
	case CURLE_OUT_OF_MEMORY:
		return occo_err_set(err, OCCO_ENOMEM, "%s", detail);
	default:
		return occo_err_set(err, OCCO_EPROTO, "%s", detail);
	}
}

/* Callbacks and completion */

/*
 * Take the request off every list, call its callback with the response (cc CURLE_OK and not
 * cancelled) or the error, and free it.
 */
static void req_deliver(struct http_req *req, int status, CURLcode cc, int cancelled)
{
	struct occo_http *h = req->h;
	struct occo_http_stats *es = &req->ep->stats;
	struct occo_http_response resp;
	struct occo_err err;
	char url[SAFE_URL_MAX];

	occo__http_link_del(&req->all);
	req_set_state(req, DONE);
	if (!cancelled && cc == CURLE_OK && !req->fail_what) {
		es->responses++;
		h->total.responses++;
		resp.status = status;
		resp.body = req->body;
		resp.attempts = req->attempts;
		resp.priv = req;
		occo_buf_init(&req->body, resp.body.max);
		req->cb(&resp, NULL, req->ud);
		occo_buf_release(&resp.body);
		req_free(req);
		return;
	}
	es->errors++;
	h->total.errors++;
	occo_err_clear(&err);
	if (cancelled)
		occo_err_set(&err, OCCO_ECANCELED, "cancelled: the client was closed");
	else if (req->fail_what)
		occo_err_set(&err, cc == CURLE_OUT_OF_MEMORY ? OCCO_ENOMEM : OCCO_EIO,
			     "cannot start the transfer: %s", req->fail_what);
	else
		map_curl_error(req, cc, &err);
	if (req->attempts > 1 && !cancelled) {
		size_t n = strlen(err.msg);

		snprintf(err.msg + n, sizeof(err.msg) - n, " (after %u attempts)", req->attempts);
	}
	req_safe_url(req, url);
	if (req->unix_socket)
		occo_err_prefix(&err, "%s %s (unix socket %s)", req->method, url, req->unix_socket);
	else
		occo_err_prefix(&err, "%s %s", req->method, url);
	req->cb(NULL, &err, req->ud);
	req_free(req);
}

/* Cancel a request in any state but DONE and call its callback. */
static void req_cancel(struct http_req *req)
{
	switch (req->state) {
	case XFER:
		curl_multi_remove_handle(req->h->multi, req->easy->curl);
		req->h->transfers--;
		break;
	case BACKOFF:
		uv_timer_stop(&req->timer);
		break;
	case EP_QUEUE:
	case GLOBAL:
	case DEFER:
		occo__http_link_del(&req->link);
		break;
	case DONE:
		return;
	}
	req_deliver(req, 0, CURLE_OK, 1);
}

static uint32_t random_u32(void)
{
	uint32_t r = 0;

	if (occo_random_bytes(&r, sizeof(r), NULL) < 0)
		r = (uint32_t)occo_clock_now_ms() * 2654435761u;
	return r;
}

/*
 * How long to wait before retrying a finished attempt, or -1 not to retry. Reads the response
 * headers, so it runs while the easy handle is still the request's.
 */
static int64_t retry_delay(struct http_req *req, CURLcode cc, int status)
{
	struct curl_header *hd;
	curl_off_t pretransfer = 0;
	int64_t after = -1;
	int again = 0;

	if (req->attempts > req->retry.max_retries)
		return -1;
	if (cc != CURLE_OK) {
		/* Nothing sent yet: safe to repeat whatever the method. */
		curl_easy_getinfo(req->easy->curl, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
		switch (cc) {
		case CURLE_COULDNT_CONNECT:
			again = 1;
			break;
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			again = req->idempotent || pretransfer == 0;
			break;
		default:
			break;
		}
	} else if (status == 429 || status == 503) {
		again = 1;
		if (curl_easy_header(req->easy->curl, "Retry-After", 0, CURLH_HEADER, -1, &hd) ==
		    CURLHE_OK)
			after = occo__http_retry_after_ms(hd->value, occo_clock_wall_ms(),
							  req->retry.cap_ms);
	} else if (status == 500 || status == 502 || status == 504) {
		again = req->idempotent;
	}
	if (!again)
		return -1;
	if (after >= 0)
		return after;
	return (int64_t)occo_backoff_ms(req->retry.base_ms, req->retry.cap_ms, req->attempts,
					random_u32());
}

static void on_backoff(uv_timer_t *t)
{
	struct http_req *req = t->data;

	req_set_state(req, EP_QUEUE);
	occo__http_link_add_tail(&req->ep->queue, &req->link);
	ep_pump(req->ep);
}

static void req_backoff(struct http_req *req, uint64_t delay)
{
	struct occo_http *h = req->h;
	char url[SAFE_URL_MAX];

	if (!req->timer_inited) {
		uv_timer_init(h->loop, &req->timer);
		req->timer.data = req;
		req->timer_inited = 1;
		h->nhandles++;
	}
	req->ep->stats.retries++;
	h->total.retries++;
	req_set_state(req, BACKOFF);
	uv_timer_start(&req->timer, on_backoff, delay, 0);
	if (OCCO_LOG_DEBUG <= occo_log_get_level()) {
		char attempt[16], ms[24];

		req_safe_url(req, url);
		snprintf(attempt, sizeof(attempt), "%u", req->attempts + 1);
		snprintf(ms, sizeof(ms), "%llu", (unsigned long long)delay);
		OCCO_DEBUG("http retry", OCCO_KV("method", req->method), OCCO_KV("url", url),
			   OCCO_KV("attempt", attempt), OCCO_KV("delay_ms", ms));
	}
}

/* A transfer of curl's is done: retry, or deliver. */
static void req_done(struct http_req *req, CURLcode cc)
{
	struct occo_http *h = req->h;
	struct occo__http_ep *ep = req->ep;
	long status = 0;
	int64_t delay;

	curl_multi_remove_handle(h->multi, req->easy->curl);
	h->transfers--;
	if (cc == CURLE_OK)
		curl_easy_getinfo(req->easy->curl, CURLINFO_RESPONSE_CODE, &status);
	delay = retry_delay(req, cc, (int)status);
	if (delay >= 0) {
		easy_put(h, req->easy);
		req->easy = NULL;
		req_backoff(req, (uint64_t)delay);
	} else {
		req_deliver(req, (int)status, cc, 0);
	}
	if (h->closing)
		return;
	ep_pump(ep);
}

static void check_multi_info(struct occo_http *h)
{
	CURLMsg *msg;
	int left;
	void *p;

	while (!h->closing && (msg = curl_multi_info_read(h->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		req_done(p, msg->data.result);
	}
}

/* Starting transfers */

static size_t on_write(char *data, size_t size, size_t n, void *ud)
{
	struct http_req *req = ud;

	if (occo_buf_append(&req->body, data, size * n, NULL) < 0) {
		req->too_big = 1;
		return 0;
	}
	return size * n;
}

static CURLcode req_setopts(struct http_req *req)
{
	CURL *c = req->easy->curl;
	CURLcode cc = CURLE_OK;

#define SET(opt, val)                                           \
	do {                                                    \
		if (cc == CURLE_OK)                             \
			cc = curl_easy_setopt(c, (opt), (val)); \
	} while (0)

	req->easy->errbuf[0] = '\0';
	SET(CURLOPT_ERRORBUFFER, req->easy->errbuf);
	SET(CURLOPT_PRIVATE, req);
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NOSIGNAL, 1L);
	/*
	 * curl 7.88 walks its whole DNS cache after every transfer; with thousands of distinct
	 * hosts that is quadratic. Addresses need no resolving, so they stay out of it.
	 */
	if (req->no_dns_cache)
		SET(CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	/*
	 * A transfer that ends while its resolver thread still runs (a DNS timeout, a cancel)
	 * would otherwise join that thread, blocking the loop; the thread frees itself instead.
	 */
	SET(CURLOPT_QUICK_EXIT, 1L);
	if (req->flags & OCCO_HTTP_F_FRESH_CONNECT) {
		SET(CURLOPT_FRESH_CONNECT, 1L);
		SET(CURLOPT_FORBID_REUSE, 1L);
	}
	SET(CURLOPT_USERAGENT, req->h->user_agent);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, req);
	SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
	if (req->head) {
		SET(CURLOPT_NOBODY, 1L);
	} else {
		/* Refuses a too large Content-Length before reading the body. */
		if ((uint64_t)req->body.max <= (uint64_t)INT64_MAX) /* curl_off_t */
			SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->body.max);
		/* A body turns curl's default into POST: other methods are named. */
		if (!strcmp(req->method, "POST"))
			SET(CURLOPT_POST, 1L);
		else if (req->data || strcmp(req->method, "GET") != 0)
			SET(CURLOPT_CUSTOMREQUEST, req->method);
		/* A POST without a body must not fall back to reading stdin. */
		if (req->data || !strcmp(req->method, "POST")) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->data_len);
			SET(CURLOPT_POSTFIELDS, req->data ? req->data : "");
		}
	}
	if (req->hdrs)
		SET(CURLOPT_HTTPHEADER, req->hdrs);
	if (req->unix_socket)
		SET(CURLOPT_UNIX_SOCKET_PATH, req->unix_socket);
	if (req->ca_file)
		SET(CURLOPT_CAINFO, req->ca_file);
	if (req->flags & OCCO_HTTP_F_INSECURE) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->username)
		SET(CURLOPT_USERNAME, req->username);
	if (req->password)
		SET(CURLOPT_PASSWORD, req->password);
	if (req->aws_sigv4)
		SET(CURLOPT_AWS_SIGV4, req->aws_sigv4);
	else if (req->username || req->password)
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
#undef SET
	return cc;
}

static void on_defer(uv_timer_t *t)
{
	struct occo_http *h = t->data;
	struct http_req *req;
	struct occo__http_ep *ep;

	while (!h->closing && !occo__http_link_empty(&h->defer_q)) {
		req = OCCO__HTTP_ENTRY(h->defer_q.next, struct http_req, link);
		ep = req->ep;
		occo__http_link_del(&req->link);
		req_deliver(req, 0, req->fail_cc, 0);
		if (!h->closing)
			ep_pump(ep);
	}
}

/* Hand a request to curl; a failure is delivered later, from the defer timer. */
static void req_start(struct http_req *req)
{
	struct occo_http *h = req->h;
	CURLMcode mc;
	CURLcode cc;

	req->attempts++;
	req->too_big = 0;
	occo_buf_reset(&req->body);
	req->easy = easy_get(h);
	if (!req->easy) {
		req->fail_cc = CURLE_FAILED_INIT;
		req->fail_what = "curl_easy_init failed";
		goto defer;
	}
	cc = req_setopts(req);
	if (cc != CURLE_OK) {
		req->fail_cc = cc;
		req->fail_what = curl_easy_strerror(cc);
		goto defer;
	}
	mc = curl_multi_add_handle(h->multi, req->easy->curl);
	if (mc != CURLM_OK) {
		req->fail_cc = CURLE_FAILED_INIT;
		req->fail_what = curl_multi_strerror(mc);
		goto defer;
	}
	req_set_state(req, XFER);
	h->transfers++;
	req->ep->stats.sent++;
	h->total.sent++;
	return;
defer:
	if (req->easy) {
		easy_put(h, req->easy);
		req->easy = NULL;
	}
	req_set_state(req, DEFER);
	occo__http_link_add_tail(&h->defer_q, &req->link);
	uv_timer_start(&h->defer, on_defer, 0, 0);
}

static void global_pump(struct occo_http *h)
{
	struct http_req *req;

	while (!occo__http_link_empty(&h->global_q) &&
	       (!h->opts.max_transfers || h->transfers < h->opts.max_transfers)) {
		req = OCCO__HTTP_ENTRY(h->global_q.next, struct http_req, link);
		occo__http_link_del(&req->link);
		req_start(req);
	}
}

static void on_ep_timer(uv_timer_t *t)
{
	ep_pump(t->data);
}

/*
 * Let the endpoint's queue through as far as its slots and tokens allow, then start what the
 * global limit allows (also for other endpoints: a slot may have been freed).
 */
static void ep_pump(struct occo__http_ep *ep)
{
	struct occo_http *h = ep->h;
	struct http_req *req;
	uint64_t wait_ms = 0;

	while (!occo__http_link_empty(&ep->queue)) {
		if (ep->lim.max_concurrent && ep->stats.active >= ep->lim.max_concurrent)
			break;
		if (!occo_bucket_take(&ep->bucket, occo_clock_now_ms(), &wait_ms)) {
			if (!ep->timer_inited) {
				uv_timer_init(h->loop, &ep->timer);
				ep->timer.data = ep;
				ep->timer_inited = 1;
				h->nhandles++;
			}
			uv_timer_start(&ep->timer, on_ep_timer, wait_ms, 0);
			break;
		}
		req = OCCO__HTTP_ENTRY(ep->queue.next, struct http_req, link);
		occo__http_link_del(&req->link);
		req_set_state(req, GLOBAL);
		occo__http_link_add_tail(&h->global_q, &req->link);
	}
	global_pump(h);
}

/* curl <-> libuv */

static void on_poll(uv_poll_t *poll, int status, int events)
{
	struct http_sock *s = OCCO__HTTP_ENTRY(poll, struct http_sock, poll);
	struct occo_http *h = s->h;
	int flags = 0, running;
	uv_os_fd_t fd;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	if (uv_fileno((uv_handle_t *)poll, &fd) < 0)
		return;
	curl_multi_socket_action(h->multi, fd, flags, &running);
	check_multi_info(h);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct occo_http *h = userp;
	struct http_sock *s = socketp;
	int events = 0, rc;

	if (h->closing)
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(h->multi, fd, NULL);
			sock_close(s);
		}
		return 0;
	}
	if (!s) {
		s = occo_malloc(sizeof(*s));
		rc = uv_poll_init_socket(h->loop, &s->poll, fd);
		if (rc < 0) {
			OCCO_WARN("http: cannot watch a socket", OCCO_KV("error", uv_strerror(rc)));
			free(s);
			return -1;
		}
		s->h = h;
		h->nhandles++;
		occo__http_link_add_tail(&h->socks, &s->link);
		curl_multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	rc = uv_poll_start(&s->poll, events, on_poll);
	if (rc < 0) {
		OCCO_WARN("http: cannot watch a socket", OCCO_KV("error", uv_strerror(rc)));
		return -1;
	}
	return 0;
}

static void on_timeout(uv_timer_t *t)
{
	struct occo_http *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(h);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct occo_http *h = userp;

	if (h->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

/* The client */

int occo_http_new(uv_loop_t *loop, const struct occo_http_opts *opts, struct occo_http **out,
		  struct occo_err *err)
{
	struct occo_http *h;
	CURLcode cc;

	cc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cc != CURLE_OK)
		return occo_err_set(err, OCCO_EIO, "cannot initialise libcurl: %s",
				    curl_easy_strerror(cc));
	h = occo_calloc(1, sizeof(*h));
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		curl_global_cleanup();
		return occo_err_set(err, OCCO_ENOMEM, "cannot create a curl multi handle");
	}
	h->loop = loop;
	occo_http_opts_init(&h->opts);
	if (opts) {
		h->opts = *opts;
		if (!h->opts.timeout_ms)
			h->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
		if (!h->opts.connect_timeout_ms)
			h->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
		if (!h->opts.max_body)
			h->opts.max_body = DEFAULT_MAX_BODY;
	}
	h->pool_max = h->opts.max_transfers ? h->opts.max_transfers : POOL_MAX_UNLIMITED;
	snprintf(h->user_agent, sizeof(h->user_agent), "occopus-c/%s", occo_version());
	occo__http_link_init(&h->reqs);
	occo__http_link_init(&h->global_q);
	occo__http_link_init(&h->defer_q);
	occo__http_link_init(&h->socks);
	uv_timer_init(loop, &h->timer);
	uv_timer_init(loop, &h->defer);
	h->timer.data = h;
	h->defer.data = h;
	h->nhandles = 2;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	/* Idle connections kept for reuse: each holds a file descriptor. */
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->pool_max);
	*out = h;
	return 0;
}

void occo_http_close(struct occo_http *h, occo_http_close_cb close_cb, void *ud)
{
	struct occo__http_ep *ep;
	size_t i;

	if (!h || h->closing)
		return;
	h->closing = 1;
	h->close_cb = close_cb;
	h->close_ud = ud;
	/* Stop watching the sockets while curl still has them open. */
	while (!occo__http_link_empty(&h->socks))
		sock_close(OCCO__HTTP_ENTRY(h->socks.next, struct http_sock, link));
	uv_close((uv_handle_t *)&h->timer, handle_closed);
	uv_close((uv_handle_t *)&h->defer, handle_closed);
	for (i = 0; i < h->eps.nb; i++)
		for (ep = h->eps.b[i]; ep; ep = ep->hnext)
			if (ep->timer_inited) {
				ep->timer.data = h;
				uv_close((uv_handle_t *)&ep->timer, handle_closed);
			}
	while (!occo__http_link_empty(&h->reqs))
		req_cancel(OCCO__HTTP_ENTRY(h->reqs.next, struct http_req, all));
}

static struct occo__http_ep *ep_get(struct occo_http *h, const char *key)
{
	struct occo__http_ep *ep = occo__http_eptab_find(&h->eps, key);

	if (!ep) {
		ep = occo__http_eptab_add(&h->eps, key, &h->opts.endpoint, occo_clock_now_ms());
		ep->h = h;
	}
	return ep;
}

static int method_idempotent(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "OPTIONS");
}

/* Copy s into the request's memory at *p; NULL stays NULL. */
static char *put_str(char **p, const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = memcpy(*p, s, n);
	*p += n;
	return d;
}

static size_t str_size(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

int occo_http_submit(struct occo_http *h, const struct occo_http_request *rq, occo_http_cb cb,
		     void *ud, struct occo_err *err)
{
	char key[OCCO__HTTP_KEY_MAX];
	const char *method = rq->method && *rq->method ? rq->method : "GET";
	const char *const *hp;
	struct curl_slist *hdrs = NULL, *l;
	struct http_req *req;
	size_t size;
	char *p;
	int rc;

	if (h->closing)
		return occo_err_set(err, OCCO_ESTATE, "the HTTP client is closing");
	if (!cb)
		return occo_err_set(err, OCCO_EINVAL, "no callback");
	rc = occo__http_endpoint_key(rq->url, rq->unix_socket, key, err);
	if (rc < 0)
		return rc;
	if (strcspn(method, " \t\r\n:") != strlen(method))
		return occo_err_set(err, OCCO_EINVAL, "bad HTTP method");
	if (rq->body && rq->body_len > ((size_t)-1) / 2)
		return occo_err_set(err, OCCO_EINVAL, "request body too large");
	for (hp = rq->headers; hp && *hp; hp++) {
		if (!strchr(*hp, ':') || strpbrk(*hp, "\r\n")) {
			/* Not quoted: the header may hold a token. */
			for (l = hdrs; l; l = l->next)
				occo_wipe(l->data, strlen(l->data));
			curl_slist_free_all(hdrs);
			return occo_err_set(err, OCCO_EINVAL,
					    "bad request header: no ':' or a newline");
		}
		l = curl_slist_append(hdrs, *hp);
		if (!l)
			abort(); /* out of memory, as occo_malloc does */
		hdrs = l;
	}

	size = sizeof(*req) + str_size(method) + str_size(rq->url) + str_size(rq->unix_socket) +
	       str_size(rq->ca_file) + str_size(rq->aws_sigv4) + str_size(rq->username) +
	       str_size(rq->password) + (rq->body ? rq->body_len + 1 : 0);
	req = occo_malloc(size);
	memset(req, 0, sizeof(*req));
	p = req->mem;
	req->method = put_str(&p, method);
	req->url = put_str(&p, rq->url);
	req->unix_socket = put_str(&p, rq->unix_socket);
	req->ca_file = put_str(&p, rq->ca_file);
	req->aws_sigv4 = put_str(&p, rq->aws_sigv4);
	req->username = put_str(&p, rq->username);
	req->password = put_str(&p, rq->password);
	req->secrets_len = str_size(rq->username) + str_size(rq->password);
	if (rq->body) {
		memcpy(p, rq->body, rq->body_len);
		p[rq->body_len] = '\0';
		req->data = p;
		req->data_len = rq->body_len;
	}
	req->h = h;
	req->ep = ep_get(h, key);
	req->cb = cb;
	req->ud = ud;
	req->hdrs = hdrs;
	req->flags = rq->flags;
	req->timeout_ms = rq->timeout_ms ? rq->timeout_ms : h->opts.timeout_ms;
	req->connect_timeout_ms =
		rq->connect_timeout_ms ? rq->connect_timeout_ms : h->opts.connect_timeout_ms;
	req->retry = rq->retry ? *rq->retry : h->opts.retry;
	req->head = !strcmp(method, "HEAD");
	req->idempotent = (rq->flags & OCCO_HTTP_F_IDEMPOTENT) || method_idempotent(method);
	req->no_dns_cache = occo__http_key_is_address(key);
	occo_buf_init(&req->body, rq->max_body ? rq->max_body : h->opts.max_body);
	req->state = DONE; /* counted from the next line on */
	occo__http_link_add_tail(&h->reqs, &req->all);
	req_set_state(req, EP_QUEUE);
	occo__http_link_add_tail(&req->ep->queue, &req->link);
	ep_pump(req->ep);
	return 0;
}

const char *occo_http_response_header(const struct occo_http_response *resp, const char *name)
{
	const struct http_req *req = resp->priv;
	struct curl_header *hd;

	if (!req || !req->easy)
		return NULL;
	if (curl_easy_header(req->easy->curl, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	return hd->value;
}

static int endpoint_arg_key(const char *endpoint, char key[OCCO__HTTP_KEY_MAX],
			    struct occo_err *err)
{
	if (!endpoint)
		return occo_err_set(err, OCCO_EINVAL, "no endpoint");
	if (endpoint[0] == '/')
		return occo__http_endpoint_key("http://localhost/", endpoint, key, err);
	return occo__http_endpoint_key(endpoint, NULL, key, err);
}

int occo_http_set_limits(struct occo_http *h, const char *endpoint,
			 const struct occo_http_limits *lim, struct occo_err *err)
{
	char key[OCCO__HTTP_KEY_MAX];
	struct occo__http_ep *ep;
	int rc;

	if (h->closing)
		return occo_err_set(err, OCCO_ESTATE, "the HTTP client is closing");
	if (!lim || !(lim->rate >= 0))
		return occo_err_set(err, OCCO_EINVAL, "bad endpoint limits");
	rc = endpoint_arg_key(endpoint, key, err);
	if (rc < 0)
		return rc;
	ep = ep_get(h, key);
	occo__http_ep_set_limits(ep, lim, occo_clock_now_ms());
	if (ep->timer_inited)
		uv_timer_stop(&ep->timer);
	ep_pump(ep);
	return 0;
}

int occo_http_stats_get(const struct occo_http *h, const char *endpoint,
			struct occo_http_stats *out, struct occo_err *err)
{
	char key[OCCO__HTTP_KEY_MAX];
	const struct occo__http_ep *ep;
	int rc;

	if (!endpoint) {
		*out = h->total;
		return 0;
	}
	rc = endpoint_arg_key(endpoint, key, err);
	if (rc < 0)
		return rc;
	ep = occo__http_eptab_find(&h->eps, key);
	if (!ep)
		return occo_err_set(err, OCCO_ENOENT, "no requests went to endpoint '%s' yet", key);
	*out = ep->stats;
	return 0;
}
