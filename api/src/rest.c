/*
 * rest.c - libmicrohttpd on the libuv loop (see rest.h).
 *
 * libmicrohttpd runs in its "external epoll" mode: it keeps its sockets in an epoll set of its
 * own, whose descriptor the loop watches with uv_poll; when it is readable, or when the timeout
 * libmicrohttpd asks for has passed, MHD_run does the work that is ready, without waiting. A
 * request whose answer needs the store or the engine is suspended (MHD_suspend_connection)
 * until the handler replies; the reply resumes it and runs libmicrohttpd on the next turn.
 */
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "occo/api/rest.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/log.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_MAX_CONNS 4096
#define IDLE_TIMEOUT_S 60
/*
 * Serving gives way to the program's own work. At most REQUESTS_PER_TURN requests are handed
 * to the handler, and answers resumed, per turn of the loop; the others wait in line,
 * suspended, for the next turns, so one turn never serves a whole flood. While the program
 * yields (a maintenance pass runs), fewer, and libmicrohttpd runs for at most a tenth of the
 * time: after a run that took t, it waits 9t (100 ms at most) before the next, its sockets
 * unwatched; requests wait in their sockets meanwhile. A pass is then slowed by about a tenth
 * at most, whatever the flood of requests.
 */
#define REQUESTS_PER_TURN 32
#define REQUESTS_PER_TURN_YIELDING 4
#define YIELD_FACTOR 9
#define YIELD_MAX_PAUSE_NS (100 * 1000000ull) /* answers are late by this much at most */

struct api_rest {
	uv_loop_t *loop;
	struct MHD_Daemon *d;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_timer_t grace; /* stops the server a moment after the last answer */
	uv_prepare_t prep; /* a new turn: a new budget of requests */
	uv_idle_t soon; /* runs libmicrohttpd on the next turn, after the loop polled */
	unsigned budget; /* suspended connections that may still be resumed on this turn */
	struct api_rest_req *line_head, *line_tail; /* suspended, to be resumed in order */
	unsigned suspended; /* connections suspended now (none may be at MHD_stop_daemon) */
	int port;
	char *token; /* secret */
	char **cors; /* origins that browsers may call from (NULL-terminated), or NULL */
	int cors_any; /* "*" is one of them */
	char *cert, *key; /* PEM; libmicrohttpd reads them while it runs */
	size_t max_body;
	api_rest_handler_fn fn;
	void *ud;
	int (*yield)(void *ud);
	void *yield_ud;
	uint64_t not_before; /* uv_hrtime before which libmicrohttpd does not run (yielding) */
	int paused; /* the poll handle is stopped until not_before */
	struct api_rest_stats stats;
	int closing; /* 1: waiting for answers; 2: stopped */
	unsigned handles; /* closed handles still to come */
	void (*close_cb)(void *ud);
	void *close_ud;
};

struct api_rest_req {
	struct api_rest *r;
	struct MHD_Connection *c;
	char *method, *path;
	struct occo_buf body;
	uint64_t t0;
	int too_large, dispatched, in_handler, suspended, answered;
	int admitted; /* resumed from the line: its share of a turn's budget is taken */
	int in_line;
	struct api_rest_req *next_in_line;
	int status;
	struct MHD_Response *resp;
	struct api_rest_blob *blob; /* a shared answer (a reference is held) */
};

struct api_rest_blob {
	int refs;
	int status;
	char *ctype;
	char *text;
	size_t len;
	struct MHD_Response *resp; /* one reference; each queued request holds another */
};

static void stop(struct api_rest *r);

/* ---- running libmicrohttpd ---- */

static void on_timer(uv_timer_t *t);
static void on_poll(uv_poll_t *p, int status, int events);
static void on_soon(uv_idle_t *h);

/* Milliseconds until libmicrohttpd may run again (0: now). */
static uint64_t paused_ms(const struct api_rest *r)
{
	uint64_t now = uv_hrtime();

	return r->not_before > now ? (r->not_before - now) / 1000000 + 1 : 0;
}

/*
 * Run libmicrohttpd again when it wants to (a connection's timeout, work left over), and
 * while yielding not before not_before, its sockets unwatched until then.
 */
static void arm(struct api_rest *r)
{
	MHD_UNSIGNED_LONG_LONG ms;
	uint64_t wait = UINT64_MAX, pause;

	if (!r->d)
		return;
	if (MHD_get_timeout(r->d, &ms) == MHD_YES)
		wait = ms;
	pause = paused_ms(r);
	if (pause && !r->paused) {
		r->paused = 1;
		uv_poll_stop(&r->poll);
	} else if (!pause && r->paused) {
		r->paused = 0;
		uv_poll_start(&r->poll, UV_READABLE, on_poll);
	}
	if (pause) /* then nothing before the pause ends; at its end the sockets are watched again */
		wait = pause;
	/*
	 * "Now" goes through an idle handle, not a timer of 0: libuv 1.44 runs a timer started
	 * from a timer callback again in the same phase, and the loop would never poll.
	 */
	if (wait == 0) {
		uv_timer_stop(&r->timer);
		uv_idle_start(&r->soon, on_soon);
	} else if (wait != UINT64_MAX) {
		uv_timer_start(&r->timer, on_timer, wait, 0);
	} else {
		uv_timer_stop(&r->timer);
	}
}

static void run(struct api_rest *r)
{
	uint64_t t0, dt;

	if (!r->d)
		return;
	if (paused_ms(r)) {
		arm(r);
		return;
	}
	t0 = uv_hrtime();
	MHD_run(r->d);
	dt = uv_hrtime() - t0;
	r->not_before = 0;
	if (r->yield && r->yield(r->yield_ud))
		r->not_before = t0 + dt +
				(YIELD_FACTOR * dt < YIELD_MAX_PAUSE_NS ? YIELD_FACTOR * dt
									: YIELD_MAX_PAUSE_NS);
	arm(r);
}

static void on_timer(uv_timer_t *t)
{
	run(t->data);
}

static void on_soon(uv_idle_t *h)
{
	uv_idle_stop(h);
	run(h->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	run(p->data);
}

/* Run libmicrohttpd on the next turn (a resumed connection has an answer to send). */
static void kick(struct api_rest *r)
{
	uint64_t pause = paused_ms(r);

	if (!r->d)
		return;
	if (pause)
		uv_timer_start(&r->timer, on_timer, pause, 0);
	else
		uv_idle_start(&r->soon, on_soon);
}

static void suspend(struct api_rest_req *rq)
{
	rq->suspended = 1;
	rq->r->suspended++;
	MHD_suspend_connection(rq->c);
}

/* Resume the connections in line while this turn's budget lasts (all of them when closing). */
static void line_run(struct api_rest *r)
{
	struct api_rest_req *rq;
	int any = 0;

	while ((rq = r->line_head) && (r->budget || r->closing)) {
		r->line_head = rq->next_in_line;
		if (!r->line_head)
			r->line_tail = NULL;
		rq->next_in_line = NULL;
		rq->in_line = 0;
		rq->admitted = 1;
		rq->suspended = 0;
		r->suspended--;
		if (r->budget)
			r->budget--;
		MHD_resume_connection(rq->c);
		any = 1;
	}
	if (any)
		kick(r);
}

static void line_push(struct api_rest_req *rq)
{
	struct api_rest *r = rq->r;

	if (rq->in_line)
		return;
	rq->in_line = 1;
	if (r->line_tail)
		r->line_tail->next_in_line = rq;
	else
		r->line_head = rq;
	r->line_tail = rq;
	line_run(r);
}

static void on_prepare(uv_prepare_t *p)
{
	struct api_rest *r = p->data;

	r->budget =
		r->yield && r->yield(r->yield_ud) ? REQUESTS_PER_TURN_YIELDING : REQUESTS_PER_TURN;
	if (r->line_head)
		line_run(r);
}

/* ---- answers ---- */

static struct MHD_Response *make_response(int status, const char *ctype, const char *text,
					  size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);

	if (resp) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		if (status == MHD_HTTP_UNAUTHORIZED)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
						"Bearer realm=\"occopus\"");
	}
	return resp;
}

/* ---- CORS ---- */

/* What Access-Control-Allow-Origin says to the request's Origin, or NULL: nothing. */
static const char *cors_allow(struct api_rest_req *rq)
{
	const char *origin = api_rest_header(rq, "Origin");
	char **o;

	if (!origin || !rq->r->cors)
		return NULL;
	if (rq->r->cors_any)
		return "*";
	for (o = rq->r->cors; *o; o++)
		if (!strcmp(*o, origin))
			return origin;
	return NULL;
}

static void cors_headers(struct api_rest_req *rq, struct MHD_Response *resp)
{
	const char *allow = resp ? cors_allow(rq) : NULL;

	if (!allow)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, allow);
	if (strcmp(allow, "*"))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
}

void api_rest_set_cors(struct api_rest *r, const char *const *origins)
{
	size_t n = 0, i;

	for (i = 0; r->cors && r->cors[i]; i++)
		free(r->cors[i]);
	free(r->cors);
	r->cors = NULL;
	r->cors_any = 0;
	while (origins && origins[n])
		n++;
	if (!n)
		return;
	r->cors = occo_calloc(n + 1, sizeof(*r->cors));
	for (i = 0; i < n; i++) {
		r->cors[i] = occo_strdup(origins[i]);
		r->cors_any |= !strcmp(origins[i], "*");
	}
}

/* A browser asks whether it may send a request (a preflight): 204, and what it may send. */
static void preflight(struct api_rest_req *rq)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);

	rq->answered = 1;
	rq->status = MHD_HTTP_NO_CONTENT;
	rq->resp = resp;
	if (!resp || !cors_allow(rq))
		return;
	cors_headers(rq, resp);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS,
				"GET, POST, PUT, DELETE, OPTIONS");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS,
				"Authorization, Content-Type");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, "600");
}

/* The answer is set: queue it now (inside the handler) or resume the connection for it. */
static void answered(struct api_rest_req *rq)
{
	struct api_rest *r = rq->r;

	if (rq->dispatched && !rq->in_handler)
		r->stats.in_flight--;
	if (rq->suspended)
		line_push(rq);
	if (r->closing == 1 && r->suspended == 0)
		stop(r);
}

static void set_response(struct api_rest_req *rq, int status, const char *ctype, const char *text,
			 size_t len)
{
	if (rq->answered)
		return;
	rq->answered = 1;
	rq->status = status;
	rq->resp = make_response(status, ctype, text, len);
	cors_headers(rq, rq->resp);
	answered(rq);
}

void api_rest_reply_text(struct api_rest_req *rq, int status, const char *content_type,
			 const char *text, size_t len)
{
	set_response(rq, status, content_type, text, len);
}

struct api_rest_blob *api_rest_blob_new(int status, const char *content_type, const char *text,
					size_t len)
{
	struct api_rest_blob *b = occo_calloc(1, sizeof(*b));

	b->refs = 1;
	b->status = status;
	b->ctype = occo_strdup(content_type);
	b->text = occo_strndup(text, len);
	b->len = len;
	b->resp = make_response(status, content_type, text, len);
	return b;
}

void api_rest_blob_free(struct api_rest_blob *b)
{
	if (!b || --b->refs > 0)
		return;
	if (b->resp)
		MHD_destroy_response(b->resp);
	free(b->ctype);
	free(b->text);
	free(b);
}

void api_rest_reply_blob(struct api_rest_req *rq, struct api_rest_blob *b)
{
	/* a shared answer has no headers of one request's: a browser's gets its own copy */
	if (!b->resp || cors_allow(rq)) {
		set_response(rq, b->status, b->ctype, b->text, b->len);
		return;
	}
	if (rq->answered)
		return;
	rq->answered = 1;
	rq->status = b->status;
	rq->resp = b->resp;
	rq->blob = b;
	b->refs++;
	answered(rq);
}

void api_rest_reply(struct api_rest_req *rq, int status, json_t *body)
{
	char *text;

	if (!body)
		body = json_object();
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	set_response(rq, status, "application/json", text ? text : "{}", text ? strlen(text) : 2);
	free(text);
	json_decref(body);
}

void api_rest_error(struct api_rest_req *rq, int status, const char *error, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_rest_reply(rq, status,
		       json_pack("{s:s, s:s}", "error", error, "message", occo_log_redact(msg)));
}

static enum MHD_Result queue(struct api_rest_req *rq)
{
	enum MHD_Result ret;

	if (!rq->resp)
		return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
	ret = MHD_queue_response(rq->c, (unsigned)rq->status, rq->resp);
	if (rq->blob) /* the queue holds its own reference to the response now */
		api_rest_blob_free(rq->blob);
	else
		MHD_destroy_response(rq->resp);
	rq->blob = NULL;
	rq->resp = NULL;
	return ret;
}

/* ---- requests ---- */

static int mutating(const char *method)
{
	return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS");
}

/* Compare in a time that depends on the token's length only, never on where they differ. */
static int token_ok(const char *given, const char *want)
{
	size_t n = strlen(want), m = strlen(given), i;
	unsigned char d = n != m;

	for (i = 0; i < n; i++)
		d |= (unsigned char)want[i] ^ (unsigned char)(i < m ? given[i] : 0);
	return d == 0;
}

static int authorized(struct api_rest_req *rq)
{
	const char *h = api_rest_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);

	if (!rq->r->token)
		return 1;
	if (!h || strncasecmp(h, "Bearer ", 7))
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	return token_ok(h, rq->r->token);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct api_rest *r = cls;
	struct api_rest_req *rq = *con_cls;
	const char *cl;

	if (!rq) {
		rq = occo_calloc(1, sizeof(*rq));
		rq->r = r;
		rq->c = c;
		rq->method = occo_strdup(method);
		rq->path = occo_strdup(url);
		rq->t0 = uv_hrtime();
		occo_buf_init(&rq->body, r->max_body);
		*con_cls = rq;
		if (!strcmp(method, "OPTIONS") &&
		    api_rest_header(rq, "Access-Control-Request-Method")) {
			preflight(rq);
			return queue(rq);
		}
		if (mutating(method) && !authorized(rq)) {
			api_rest_error(rq, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				       "%s needs the header 'Authorization: Bearer <token>' with "
				       "the service's token",
				       method);
			return queue(rq);
		}
		cl = api_rest_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > r->max_body) {
			api_rest_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "too large",
				       "the body has %s bytes; at most %zu are accepted", cl,
				       r->max_body);
			return queue(rq);
		}
		return MHD_YES;
	}
	if (rq->resp)
		return queue(rq);
	if (*upload_size) {
		if (!rq->too_large && !rq->answered &&
		    occo_buf_append(&rq->body, upload, *upload_size, NULL) < 0) {
			rq->too_large = 1;
			occo_buf_release(&rq->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->dispatched || rq->answered)
		return MHD_YES;
	if (!rq->admitted && !r->budget && !r->closing) {
		/* this turn's budget is spent: wait in line, suspended, for a later turn */
		suspend(rq);
		line_push(rq);
		return MHD_YES;
	}
	if (!rq->admitted && r->budget)
		r->budget--;
	rq->dispatched = 1;
	if (rq->too_large) {
		api_rest_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "too large",
			       "the body is larger than %zu bytes", r->max_body);
		return queue(rq);
	}
	rq->in_handler = 1;
	r->fn(rq, r->ud);
	rq->in_handler = 0;
	if (rq->resp)
		return queue(rq);
	if (!rq->answered) {
		r->stats.in_flight++;
		suspend(rq);
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_rest *r = cls;
	struct api_rest_req *rq = *con_cls;
	char status[8], ms[32];

	if (!rq)
		return;
	*con_cls = NULL;
	snprintf(status, sizeof(status), "%d", rq->answered ? rq->status : 0);
	snprintf(ms, sizeof(ms), "%.3f", (double)(uv_hrtime() - rq->t0) / 1e6);
	if (rq->answered) {
		r->stats.requests++;
		if (rq->status >= 100 && rq->status < 600)
			r->stats.by_class[rq->status / 100]++;
	}
	OCCO_INFO("request", OCCO_KV("method", rq->method), OCCO_KV("path", rq->path),
		  OCCO_KV("status", status), OCCO_KV("ms", ms),
		  OCCO_KV("end", toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "ok" : "aborted"));
	if (rq->blob)
		api_rest_blob_free(rq->blob);
	else if (rq->resp)
		MHD_destroy_response(rq->resp);
	occo_buf_release(&rq->body);
	free(rq->method);
	free(rq->path);
	free(rq);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	OCCO_DEBUG("http server", OCCO_KV("detail", msg));
}

const char *api_rest_method(const struct api_rest_req *rq)
{
	return rq->method;
}

const char *api_rest_path(const struct api_rest_req *rq)
{
	return rq->path;
}

const char *api_rest_body(const struct api_rest_req *rq, size_t *len)
{
	*len = rq->body.len;
	return rq->body.len ? occo_buf_str(&rq->body) : "";
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	json_object_set_new(cls, key, json_string(value ? value : ""));
	return MHD_YES;
}

json_t *api_rest_query(const struct api_rest_req *rq)
{
	json_t *args = json_object();

	MHD_get_connection_values(rq->c, MHD_GET_ARGUMENT_KIND, add_arg, args);
	return args;
}

const char *api_rest_header(const struct api_rest_req *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, name);
}

/* ---- the server ---- */

static int sockaddr_of(const char *host, int port, struct sockaddr_storage *ss, int *v6,
		       struct occo_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char portstr[16];
	int rc;

	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res)
		return occo_err_set(err, OCCO_EINVAL, "cannot listen on '%s': %s", host,
				    rc ? gai_strerror(rc) : "no address");
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*v6 = res->ai_family == AF_INET6;
	freeaddrinfo(res);
	return 0;
}

static void rest_free(struct api_rest *r)
{
	api_rest_set_token(r, NULL);
	api_rest_set_cors(r, NULL);
	free(r->cert);
	if (r->key)
		occo_free_secret(r->key);
	free(r);
}

int api_rest_start(uv_loop_t *loop, const struct api_rest_opts *opts, api_rest_handler_fn fn,
		   void *ud, struct api_rest **out, struct occo_err *err)
{
	struct api_rest *r;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	const char *host = opts->host && *opts->host ? opts->host : "127.0.0.1";
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	unsigned conns = opts->max_conns ? opts->max_conns : DEFAULT_MAX_CONNS;
	int v6 = 0, rc;

	if (opts->port < 0 || opts->port > 65535)
		return occo_err_set(err, OCCO_EINVAL, "bad port %d", opts->port);
	if (!!opts->tls_cert != !!opts->tls_key)
		return occo_err_set(err, OCCO_EINVAL,
				    "TLS needs both a certificate and its key ('tls_cert', "
				    "'tls_key')");
	if ((rc = sockaddr_of(host, opts->port, &ss, &v6, err)) < 0)
		return rc;
	r = occo_calloc(1, sizeof(*r));
	r->loop = loop;
	r->fn = fn;
	r->ud = ud;
	r->yield = opts->yield;
	r->yield_ud = opts->yield_ud;
	api_rest_set_token(r, opts->token);
	api_rest_set_cors(r, opts->cors_origins);
	api_rest_set_max_body(r, opts->max_body);
	if (v6)
		flags |= MHD_USE_IPv6;
	if (opts->tls_cert) {
		flags |= MHD_USE_TLS;
		r->cert = occo_strdup(opts->tls_cert);
		r->key = occo_strdup(opts->tls_key);
		/* the logger first, so that no message of the start goes to libmicrohttpd's own */
		r->d = MHD_start_daemon(
			flags, (uint16_t)opts->port, NULL, NULL, on_access, r,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, r, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
			MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
			(unsigned)IDLE_TIMEOUT_S, MHD_OPTION_HTTPS_MEM_CERT, r->cert,
			MHD_OPTION_HTTPS_MEM_KEY, r->key, MHD_OPTION_END);
	} else {
		r->d = MHD_start_daemon(
			flags, (uint16_t)opts->port, NULL, NULL, on_access, r,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, r, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
			MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
			(unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
	}
	if (!r->d) {
		occo_err_set(
			err, OCCO_EIO,
			"cannot listen on %s port %d%s (in use, not an address of this host%s)",
			host, opts->port, opts->tls_cert ? " with TLS" : "",
			opts->tls_cert ? ", or a certificate or key that is not valid PEM" : "");
		rest_free(r);
		return -OCCO_EIO;
	}
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	r->port = info ? info->port : opts->port;
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_EPOLL_FD);
	uv_timer_init(loop, &r->timer);
	uv_timer_init(loop, &r->grace);
	uv_prepare_init(loop, &r->prep);
	uv_idle_init(loop, &r->soon);
	r->timer.data = r->grace.data = r->prep.data = r->soon.data = r;
	r->budget = REQUESTS_PER_TURN;
	uv_prepare_start(&r->prep, on_prepare);
	uv_poll_init(loop, &r->poll, info->epoll_fd);
	r->poll.data = r;
	uv_poll_start(&r->poll, UV_READABLE, on_poll);
	arm(r);
	*out = r;
	return 0;
}

int api_rest_port(const struct api_rest *r)
{
	return r->port;
}

void api_rest_set_token(struct api_rest *r, const char *token)
{
	if (r->token)
		occo_free_secret(r->token);
	r->token = token && *token ? occo_strdup(token) : NULL;
}

void api_rest_set_max_body(struct api_rest *r, size_t max_body)
{
	r->max_body = max_body ? max_body : DEFAULT_MAX_BODY;
}

void api_rest_stats_get(const struct api_rest *r, struct api_rest_stats *out)
{
	*out = r->stats;
}

static void handle_closed(uv_handle_t *h)
{
	struct api_rest *r = h->data;

	if (--r->handles)
		return;
	if (r->close_cb)
		r->close_cb(r->close_ud);
	rest_free(r);
}

static void stop_now(uv_timer_t *t)
{
	struct api_rest *r = t->data;

	if (r->closing > 1)
		return;
	r->closing = 2;
	uv_poll_stop(&r->poll);
	uv_timer_stop(&r->timer);
	uv_timer_stop(&r->grace);
	MHD_stop_daemon(r->d); /* closes what is left; completion callbacks run here */
	r->d = NULL;
	r->handles = 5;
	uv_close((uv_handle_t *)&r->soon, handle_closed);
	uv_close((uv_handle_t *)&r->prep, handle_closed);
	uv_close((uv_handle_t *)&r->poll, handle_closed);
	uv_close((uv_handle_t *)&r->timer, handle_closed);
	uv_close((uv_handle_t *)&r->grace, handle_closed);
}

/* Stop on a later turn: the last answer is sent by the run that the resume asked for first. */
static void stop(struct api_rest *r)
{
	if (r->closing == 1)
		uv_timer_start(&r->grace, stop_now, 50, 0);
}

void api_rest_close(struct api_rest *r, void (*cb)(void *ud), void *ud)
{
	MHD_socket fd;

	r->closing = 1;
	r->close_cb = cb;
	r->close_ud = ud;
	fd = MHD_quiesce_daemon(r->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	line_run(r); /* the requests waiting in line are answered now (503: stopping) */
	if (r->suspended == 0)
		stop(r); /* else when the last answer is given */
}
