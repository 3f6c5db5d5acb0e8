/*
 * rest.h - the HTTP server of the REST service: libmicrohttpd driven from the process's libuv
 * loop (its epoll descriptor watched with uv_poll, its timeout on a uv_timer), so requests are
 * served between the steps of the maintenance passes and never hold them up.
 *
 * The server owns what every request shares: the size limit of bodies (413), the bearer token
 * that mutating requests (POST, PUT, PATCH, DELETE) must carry when one is configured (401,
 * compared in constant time, never logged), TLS (libmicrohttpd's, GnuTLS) when a certificate
 * is given, JSON answers, and one log line per request (method, path, status, duration).
 *
 * A handler gets each complete request once and answers it exactly once with
 * api_rest_reply*(), at once or later from any callback on the loop (the connection is
 * suspended in between, without a thread).
 */
#ifndef OCCO_API_REST_H
#define OCCO_API_REST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "occo/util/err.h"

struct api_rest;
struct api_rest_req;

struct api_rest_opts {
	const char *host; /* address to listen on (NULL: 127.0.0.1) */
	int port; /* 0: any free port (api_rest_port says which) */
	const char *token; /* NULL or "": no token needed; secret */
	const char *tls_cert, *tls_key; /* PEM text of both, or NULL: plain HTTP */
	size_t max_body; /* bytes (0: 1 MiB) */
	/*
	 * Origins whose pages a browser may call the service from (CORS): exact origins
	 * ("https://portal.example.org") or "*"; NULL-terminated, or NULL: none (browsers may not).
	 * A preflight (OPTIONS with Access-Control-Request-Method) is answered 204 here, without
	 * a token.
	 */
	const char *const *cors_origins;
	unsigned max_conns; /* connections at once (0: 4096) */
	/*
	 * Asked on every turn of the loop: 1 while the program has work that must not wait (a
	 * maintenance pass runs). Then serving takes at most a tenth of the loop's time and a few
	 * requests per turn; the rest wait in their sockets or, suspended, in line. NULL: never.
	 */
	int (*yield)(void *ud);
	void *yield_ud;
};

/* Called once per complete request; must lead to exactly one api_rest_reply*() for it. */
typedef void (*api_rest_handler_fn)(struct api_rest_req *rq, void *ud);

/*
 * Listen (now: a busy port fails here) and serve on `loop`. opts are copied. Fails with
 * -OCCO_EINVAL (a host that is not an address, bad TLS material) or -OCCO_EIO.
 */
int api_rest_start(uv_loop_t *loop, const struct api_rest_opts *opts, api_rest_handler_fn fn,
		   void *ud, struct api_rest **out, struct occo_err *err);

/* The port listened on. */
int api_rest_port(const struct api_rest *r);

/* Change the token (NULL or "": none) and the body limit (0: 1 MiB) of later requests. */
void api_rest_set_token(struct api_rest *r, const char *token);
void api_rest_set_max_body(struct api_rest *r, size_t max_body);
/* Change the CORS origins (as api_rest_opts.cors_origins; copied). */
void api_rest_set_cors(struct api_rest *r, const char *const *origins);

/* Requests answered so far, by class of status (index 1..5: 1xx..5xx). */
struct api_rest_stats {
	uint64_t by_class[6];
	uint64_t requests;
	unsigned in_flight; /* handed to the handler and not answered yet */
};
void api_rest_stats_get(const struct api_rest *r, struct api_rest_stats *out);

/*
 * Stop: accept no more connections, wait for the requests handed to the handler to be
 * answered (every handler answers in bounded time), close the rest, then call cb (once, on
 * the loop) and free the server.
 */
void api_rest_close(struct api_rest *r, void (*cb)(void *ud), void *ud);

/* ---- a request (valid until it is answered) ---- */

const char *api_rest_method(const struct api_rest_req *rq);
/* The path, percent-decoded, without the query string. */
const char *api_rest_path(const struct api_rest_req *rq);
/* The body (NUL-terminated; "" when none) and its length. */
const char *api_rest_body(const struct api_rest_req *rq, size_t *len);
/* The query string's arguments, a new object {name: value}. */
json_t *api_rest_query(const struct api_rest_req *rq);
/* A request header, or NULL. */
const char *api_rest_header(const struct api_rest_req *rq, const char *name);

/* Answer with `body` (taken; NULL: an empty object) as JSON. */
void api_rest_reply(struct api_rest_req *rq, int status, json_t *body);
/* Answer with text (copied) of the given content type. */
void api_rest_reply_text(struct api_rest_req *rq, int status, const char *content_type,
			 const char *text, size_t len);
/*
 * A prepared answer that many requests share without a copy (a cached GET): made once, given
 * to api_rest_reply_blob() any number of times, freed when no longer wanted (the requests
 * still sending it keep what they need).
 */
struct api_rest_blob;
struct api_rest_blob *api_rest_blob_new(int status, const char *content_type, const char *text,
					size_t len);
void api_rest_blob_free(struct api_rest_blob *b);
void api_rest_reply_blob(struct api_rest_req *rq, struct api_rest_blob *b);

/*
 * Answer an error: {"error": <error>, "message": <formatted>} with the status; the message is
 * redacted of registered secrets.
 */
void api_rest_error(struct api_rest_req *rq, int status, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
