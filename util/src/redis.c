/*
 * redis.c - the async Redis client: hiredis's async API on the libuv loop, with reconnection,
 * a bounded queue, per-command deadlines and cancellation on close (see redis.h).
 *
 * The life of a connection (r->phase):
 *
 *   IDLE --conn_timer--> [RESOLVING] --> [LOOKUP] --> CONNECTING --PONG--> CONNECTED
 *    ^                                                    |                   |
 *    +---- conn_timer (backoff) <---- attempt_failed <----+-------------------+
 *
 * RESOLVING waits for the resolver, LOOKUP for uv_getaddrinfo (a host name: hiredis would look
 * it up blocking the loop). CONNECTING runs the handshake (AUTH, SELECT, PING) on a fresh
 * hiredis context under the connect deadline (conn_timer). Caller commands wait in the queue
 * until CONNECTED, so they never meet a half-authenticated connection.
 *
 * Every command not finished yet is on r->live in the order it was issued; as all commands
 * have the same timeout, that is also the order of their deadlines, so one timer (cmd_timer)
 * set for the head serves them all. A command is either queued (it holds its formatted bytes)
 * or sent (hiredis holds it as the privdata of its reply callback). A sent command whose
 * caller was already answered (deadline, close) is "done" and stays allocated until hiredis
 * calls back, with a reply or with NULL when the context goes away.
 *
 * Quirks of hiredis 0.14.1 this relies on or works around:
 * - A context dies inside hiredis (connect failure, read/write error, a server error with no
 *   command waiting): it calls every pending reply callback with NULL, then onDisconnect (only
 *   if the connection was ever established; a failed connect gets onConnect(REDIS_ERR) first
 *   instead), then frees the context. Both hooks detach the context from the client at once
 *   (ac->data = NULL, r->ac = NULL); later callbacks of a detached context are ignored.
 * - redisAsyncFree() from a reply callback is deferred by hiredis until the callback returns;
 *   from onConnect/onDisconnect it would free twice, so it is never called there (those
 *   contexts are detached before any code of ours or of a caller runs).
 * - redisLibuvAttach() sets the event hooks before uv_poll_init(); if that fails, ev.cleanup
 *   would be called with NULL, so it is cleared before the context is freed.
 * - libuv reports POLLERR (a connection reset while data was unread, e.g. a server killed
 *   before it accepted us) as a poll status and stops the handle; the adapter's callback
 *   ignores any status, so the connection would hang silently. The client replaces the
 *   adapter's four add/del hooks by ones that poll with ev_poll(), which lets hiredis read
 *   the error instead. Attach (the uv_poll_t) and cleanup (closing it) stay the adapter's.
 * - The adapter closes its uv_poll_t and frees it from its own close callback; the client
 *   closes its timers after the context, so by the time uv_run() returns after close_cb
 *   nothing of the connection is left.
 * - hiredis opens its socket without close-on-exec: the client sets it, so that a program we
 *   spawn (the embedded redis-server) does not keep our connections open.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

#include "occo/util/alloc.h"
#include "occo/util/log.h"
#include "occo/util/redis.h"
#include "redis_int.h"

#define DEF_PORT 6379
#define DEF_CMD_TIMEOUT_MS 5000
#define DEF_CONNECT_TIMEOUT_MS 2000
#define DEF_BACKOFF_MIN_MS 50
#define DEF_BACKOFF_MAX_MS 2000
#define DEF_MAX_QUEUED 100000

enum phase {
	PH_IDLE, /* not connected; conn_timer runs the next attempt */
	PH_RESOLVING, /* waiting for the resolver's answer */
	PH_LOOKUP, /* waiting for uv_getaddrinfo */
	PH_CONNECTING, /* r->ac exists, handshake running, conn_timer is its deadline */
	PH_CONNECTED,
};

/* Handshake steps: the privdata of their reply callbacks. */
enum { HS_AUTH = 1, HS_SELECT, HS_PING, HS_ROLE };

struct cmd {
	struct cmd *prev, *next; /* r->live (or a local list while its caller is answered) */
	struct occo_redis *r;
	occo_redis_reply_fn cb;
	void *ud;
	uint64_t deadline; /* loop time, ms */
	char *buf; /* the formatted command while queued */
	size_t len;
	int sent; /* handed to hiredis: freed from its reply callback */
	int done; /* the caller has been answered */
};

struct occo_redis {
	struct occo__ac_data tag; /* first: OCCO__AC_CLIENT (redis_int.h) */
	uv_loop_t *loop;
	struct occo_redis_opts o; /* the strings point to our copies below */
	char *path, *host, *username, *password;

	/* the address of the current or last attempt */
	char *cur_path, *cur_host;
	int cur_port;
	char *addr; /* "/path" or "host:port", for logs */
	char *name; /* "redis at <addr>", the subject of messages */

	enum phase phase;
	redisAsyncContext *ac;
	uv_timer_t conn_timer;
	uv_timer_t cmd_timer;
	uv_getaddrinfo_t gai;
	int open_handles;

	struct cmd *head, *tail; /* live commands, oldest first */
	size_t nqueued; /* live commands not sent */
	size_t inflight; /* sent on this connection, not answered yet */
	struct occo_redis_stats st;

	unsigned backoff; /* next reconnect delay before jitter */
	uint64_t rng; /* xorshift state for the jitter */
	struct occo_err last; /* why the last attempt failed (without the name) */
	uint64_t last_rx_ms; /* the loop's time when data last came from the server */
	int warned; /* an outage was logged at warn level */

	int closing;
	occo_redis_close_fn close_cb;
	void *close_ud;
};

static void conn_timer_cb(uv_timer_t *t);
static void close_maybe_done(struct occo_redis *r);

/* ---- commands ---- */

static void live_append(struct occo_redis *r, struct cmd *c)
{
	c->next = NULL;
	c->prev = r->tail;
	if (r->tail)
		r->tail->next = c;
	else
		r->head = c;
	r->tail = c;
}

static void live_unlink(struct occo_redis *r, struct cmd *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		r->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		r->tail = c->prev;
	c->prev = c->next = NULL;
}

/*
 * Answer a command that is off r->live with an error. One that hiredis does not hold is freed
 * first; one it holds stays, marked done, until hiredis calls back.
 */
static void cmd_fail(struct occo_redis *r, struct cmd *c, const struct occo_err *e)
{
	occo_redis_reply_fn cb = c->cb;
	void *ud = c->ud;

	c->done = 1;
	if (!c->sent) {
		r->nqueued--;
		redisFreeCommand(c->buf);
		free(c);
	} else if (r->inflight) {
		r->inflight--; /* its late reply, if any, is not waited for */
	}
	if (cb)
		cb(r, NULL, e, ud);
}

/*
 * Answer a list of commands (linked through next, already off r->live) with an error.
 * Callbacks may issue new commands: those go to r->live and are not touched here.
 */
static void fail_list(struct occo_redis *r, struct cmd *list, const struct occo_err *e)
{
	struct cmd *next;

	for (; list; list = next) {
		next = list->next;
		cmd_fail(r, list, e);
	}
}

/* Detach the commands of r->live that match (queued only, or all) into a list. */
static struct cmd *live_take(struct occo_redis *r, int queued_only)
{
	struct cmd *c, *next, *head = NULL, **tail = &head;

	for (c = r->head; c; c = next) {
		next = c->next;
		if (queued_only && c->sent)
			continue;
		live_unlink(r, c);
		*tail = c;
		tail = &c->next;
	}
	return head;
}

static int can_send(const struct occo_redis *r)
{
	return r->phase == PH_CONNECTED && r->ac &&
	       !(r->ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING));
}

/* hiredis's reply callback of a caller's command. */
static void cmd_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct cmd *c = priv;
	struct occo_redis *r = c->r;
	occo_redis_reply_fn cb;
	struct occo_err e;
	void *ud;

	if (c->done) {
		/* answered already (deadline or close): r may be gone */
		free(c);
		return;
	}
	live_unlink(r, c);
	c->done = 1;
	if (r->inflight)
		r->inflight--;
	cb = c->cb;
	ud = c->ud;
	free(c);
	if (!cb)
		return;
	if (reply) {
		cb(r, reply, NULL, ud);
		return;
	}
	if (ac->c.err && ac->c.errstr[0])
		occo_err_set(&e, OCCO_ECONN, "%s: connection lost: %s", r->name, ac->c.errstr);
	else
		occo_err_set(&e, OCCO_ECONN, "%s: connection lost", r->name);
	cb(r, NULL, &e, ud);
}

static void cmd_send(struct occo_redis *r, struct cmd *c)
{
	if (redisAsyncFormattedCommand(r->ac, cmd_reply, c, c->buf, c->len) != REDIS_OK)
		return; /* the context is going away: stays queued for the next one */
	c->sent = 1;
	redisFreeCommand(c->buf);
	c->buf = NULL;
	r->nqueued--;
	r->st.commands++;
	if (r->inflight++ == 0) /* nothing to overlap with: the client waits for this one */
		r->st.round_trips++;
}

void occo_redis_stats_get(const struct occo_redis *r, struct occo_redis_stats *out)
{
	*out = r->st;
}

/*
 * When a sent command is late. Its reply is late when nothing has come from the server for
 * cmd_timeout_ms since the command was issued: a large reply that is still arriving (the
 * records of 100,000 nodes), or a reply waiting behind one that our own callback took long to
 * handle, is not.
 */
static uint64_t due(const struct occo_redis *r, const struct cmd *c)
{
	uint64_t idle = r->last_rx_ms + r->o.cmd_timeout_ms;

	return c->sent && idle > c->deadline ? idle : c->deadline;
}

/*
 * Timers run before the loop polls for input, so after a long callback the next reply may be
 * waiting in the socket while its deadline passes: read what the server has sent (hiredis
 * reads 16 KiB a call) before calling anything late.
 */
static void drain_input(struct occo_redis *r, uint64_t now)
{
	struct pollfd p;

	while (!r->closing && r->ac && r->head && due(r, r->head) <= now) {
		if (!r->head->sent)
			break;
		p.fd = r->ac->c.fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
			break;
		r->last_rx_ms = now;
		redisAsyncHandleRead(r->ac);
	}
}

static void cmd_timer_cb(uv_timer_t *t)
{
	struct occo_redis *r = t->data;
	uint64_t now = uv_now(r->loop);
	unsigned tmo = r->o.cmd_timeout_ms;
	struct occo_err e;
	struct cmd *c;

	drain_input(r, now);
	while (!r->closing && (c = r->head) && due(r, c) <= now) {
		if (c->sent)
			occo_err_set(&e, OCCO_ETIMEDOUT, "%s: no reply within %u ms", r->name, tmo);
		else if (r->last.code)
			occo_err_set(&e, OCCO_ECONN, "%s: not connected within %u ms: %s", r->name,
				     tmo, r->last.msg);
		else
			occo_err_set(&e, OCCO_ETIMEDOUT, "%s: not connected within %u ms", r->name,
				     tmo);
		/* commands issued by the callback have later deadlines: the loop ends */
		live_unlink(r, c);
		cmd_fail(r, c, &e);
	}
	if (!r->closing && r->head) {
		now = uv_now(r->loop); /* callbacks may have moved it (cmd_issue) */
		uint64_t at = due(r, r->head);

		uv_timer_start(&r->cmd_timer, cmd_timer_cb, at > now ? at - now : 0, 0);
	}
}

/* Queue a formatted command (taken: freed with redisFreeCommand) and send it if connected. */
static int cmd_issue(struct occo_redis *r, char *buf, size_t len, occo_redis_reply_fn cb, void *ud,
		     struct occo_err *err)
{
	struct cmd *c;

	if (r->closing) {
		redisFreeCommand(buf);
		return occo_err_set(err, OCCO_ESTATE, "%s: the client is closing", r->name);
	}
	if (!can_send(r) && r->nqueued >= r->o.max_queued) {
		redisFreeCommand(buf);
		return occo_err_set(err, OCCO_ECONN,
				    "%s: not connected and %zu commands are waiting", r->name,
				    r->nqueued);
	}
	/* the loop's clock stands still while a callback (or code outside the loop) runs */
	uv_update_time(r->loop);
	c = occo_calloc(1, sizeof(*c));
	c->r = r;
	c->cb = cb;
	c->ud = ud;
	c->buf = buf;
	c->len = len;
	c->deadline = uv_now(r->loop) + r->o.cmd_timeout_ms;
	live_append(r, c);
	r->nqueued++;
	if (can_send(r))
		cmd_send(r, c);
	if (!uv_is_active((uv_handle_t *)&r->cmd_timer))
		uv_timer_start(&r->cmd_timer, cmd_timer_cb, r->o.cmd_timeout_ms, 0);
	return 0;
}

int occo_redis_vcommand(struct occo_redis *r, occo_redis_reply_fn cb, void *ud,
			struct occo_err *err, const char *fmt, va_list ap)
{
	char *buf = NULL;
	va_list aq;
	int len;

	va_copy(aq, ap);
	len = redisvFormatCommand(&buf, fmt, aq);
	va_end(aq);
	if (len < 0)
		return occo_err_set(err, OCCO_EINVAL, "%s: invalid command format '%s'", r->name,
				    fmt);
	if (len <= 4) { /* "*0\r\n": hiredis asserts on a command without a name */
		redisFreeCommand(buf);
		return occo_err_set(err, OCCO_EINVAL, "%s: empty command", r->name);
	}
	return cmd_issue(r, buf, (size_t)len, cb, ud, err);
}

int occo_redis_command(struct occo_redis *r, occo_redis_reply_fn cb, void *ud, struct occo_err *err,
		       const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = occo_redis_vcommand(r, cb, ud, err, fmt, ap);
	va_end(ap);
	return rc;
}

int occo_redis_command_argv(struct occo_redis *r, int argc, const char *const *argv,
			    const size_t *argvlen, occo_redis_reply_fn cb, void *ud,
			    struct occo_err *err)
{
	char *buf = NULL;
	int len;

	if (argc < 1 || !argv)
		return occo_err_set(err, OCCO_EINVAL, "%s: empty command", r->name);
	len = redisFormatCommandArgv(&buf, argc, (const char **)argv, argvlen);
	if (len < 0)
		return occo_err_set(err, OCCO_ENOMEM, "%s: cannot format a command", r->name);
	return cmd_issue(r, buf, (size_t)len, cb, ud, err);
}

/* ---- waiting for one command (tests, simple programs) ---- */

struct waiter {
	int done;
	redisReply *reply;
	struct occo_err err;
};

/* A deep copy that freeReplyObject() can free. */
static redisReply *reply_dup(const redisReply *src)
{
	redisReply *d = occo_calloc(1, sizeof(*d));
	size_t i;

	d->type = src->type;
	d->integer = src->integer;
	d->len = src->len;
	if (src->str) {
		d->str = occo_malloc(src->len + 1);
		memcpy(d->str, src->str, src->len);
		d->str[src->len] = '\0';
	}
	if (src->element) {
		d->elements = src->elements;
		d->element = occo_calloc(src->elements, sizeof(redisReply *));
		for (i = 0; i < src->elements; i++)
			if (src->element[i])
				d->element[i] = reply_dup(src->element[i]);
	}
	return d;
}

static void wait_cb(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		    void *ud)
{
	struct waiter *w = ud;

	w->done = 1;
	if (err)
		occo_err_copy(&w->err, err);
	else
		w->reply = reply_dup(reply);
}

static int wait_run(struct occo_redis *r, struct waiter *w, redisReply **reply,
		    struct occo_err *err)
{
	/* the command's deadline keeps the loop alive until its callback */
	while (!w->done)
		uv_run(r->loop, UV_RUN_ONCE);
	if (w->err.code)
		return occo_err_copy(err, &w->err);
	*reply = w->reply;
	return 0;
}

int occo_redis_command_wait(struct occo_redis *r, redisReply **reply, struct occo_err *err,
			    const char *fmt, ...)
{
	struct waiter w = { 0 };
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = occo_redis_vcommand(r, wait_cb, &w, err, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return rc;
	return wait_run(r, &w, reply, err);
}

int occo_redis_command_argv_wait(struct occo_redis *r, int argc, const char *const *argv,
				 const size_t *argvlen, redisReply **reply, struct occo_err *err)
{
	struct waiter w = { 0 };
	int rc;

	rc = occo_redis_command_argv(r, argc, argv, argvlen, wait_cb, &w, err);
	if (rc < 0)
		return rc;
	return wait_run(r, &w, reply, err);
}

/* ---- the connection ---- */

static void ev_poll(uv_poll_t *h, int status, int events)
{
	redisLibuvEvents *p = h->data;
	struct occo__ac_data *d = p && p->context ? p->context->data : NULL;

	if (d && d->kind == OCCO__AC_CLIENT && (events & UV_READABLE)) {
		struct occo_redis *r = (struct occo_redis *)d;

		r->last_rx_ms = uv_now(r->loop); /* a reply is coming in: see cmd_timer_cb */
	}
	/* on an error, reading tells hiredis what it was (writing could raise SIGPIPE) */
	redisLibuvPoll(h, 0, status < 0 ? UV_READABLE : events);
}

static void ev_update(void *privdata, int add, int del)
{
	redisLibuvEvents *p = privdata;

	p->events = (p->events | add) & ~del;
	if (p->events)
		uv_poll_start(&p->handle, p->events, ev_poll);
	else
		uv_poll_stop(&p->handle);
}

static void ev_add_read(void *privdata)
{
	ev_update(privdata, UV_READABLE, 0);
}

static void ev_del_read(void *privdata)
{
	ev_update(privdata, 0, UV_READABLE);
}

static void ev_add_write(void *privdata)
{
	ev_update(privdata, UV_WRITABLE, 0);
}

static void ev_del_write(void *privdata)
{
	ev_update(privdata, 0, UV_WRITABLE);
}

int occo__redis_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
	if (ac->c.fd >= 0)
		fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);
	if (redisLibuvAttach(ac, loop) != REDIS_OK) {
		if (!ac->ev.data)
			ac->ev.cleanup = NULL;
		return -1;
	}
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	return 0;
}

static void set_name(struct occo_redis *r)
{
	free(r->addr);
	free(r->name);
	if (r->cur_path)
		r->addr = occo_strdup(r->cur_path);
	else if (r->cur_host && strchr(r->cur_host, ':'))
		r->addr = occo_asprintf("[%s]:%d", r->cur_host, r->cur_port);
	else if (r->cur_host)
		r->addr = occo_asprintf("%s:%d", r->cur_host, r->cur_port);
	else
		r->addr = occo_strdup("(unresolved)");
	r->name = occo_asprintf("redis at %s", r->addr);
}

static void set_addr(struct occo_redis *r, const struct occo_redis_addr *a)
{
	char *path = a->path ? occo_strdup(a->path) : NULL;
	char *host = !a->path && a->host ? occo_strdup(a->host) : NULL;

	/* a may point to our own copies: replace them only now */
	free(r->cur_path);
	free(r->cur_host);
	r->cur_path = path;
	r->cur_host = host;
	r->cur_port = a->port > 0 ? a->port : DEF_PORT;
	set_name(r);
}

/* Forget the context and free it (deferred by hiredis when inside one of its callbacks). */
static void drop_ac(struct occo_redis *r)
{
	redisAsyncContext *ac = r->ac;

	if (!ac)
		return;
	r->ac = NULL;
	ac->data = NULL;
	redisAsyncFree(ac);
}

static unsigned jitter(struct occo_redis *r, unsigned ms)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return ms / 2 + (unsigned)(r->rng % (ms / 2 + 1));
}

/*
 * An attempt failed or the connection was lost (e: what happened, without the name). Waits for
 * the next attempt; the callers' callbacks run last, so they may close the client.
 */
static void attempt_failed(struct occo_redis *r, const struct occo_err *e)
{
	int was_connected = r->phase == PH_CONNECTED;
	struct cmd *doomed = NULL;
	struct occo_err full;
	unsigned delay;

	r->phase = PH_IDLE;
	occo_err_copy(&r->last, e);
	occo_err_copy(&full, e);
	occo_err_prefix(&full, "%s", r->name);
	if (r->closing)
		return;
	/* a refused password or database will not fix itself before the deadline */
	if (e->code == OCCO_EAUTH || e->code == OCCO_EREMOTE)
		doomed = live_take(r, 1);

	delay = jitter(r, r->backoff);
	r->backoff = r->backoff * 2 > r->o.backoff_max_ms ? r->o.backoff_max_ms : r->backoff * 2;
	uv_timer_start(&r->conn_timer, conn_timer_cb, delay, 0);

	if (!r->warned && !r->o.quiet) {
		OCCO_WARN(was_connected ? "redis connection lost" : "cannot connect to redis",
			  OCCO_KV("redis", r->addr), OCCO_KV("error", e->msg));
		r->warned = 1;
	} else {
		OCCO_DEBUG("redis connect attempt failed", OCCO_KV("redis", r->addr),
			   OCCO_KV("error", e->msg));
	}
	fail_list(r, doomed, &full);
	if (r->o.on_state && !r->closing)
		r->o.on_state(r, 0, &full, r->o.state_ud);
}

static void connected(struct occo_redis *r)
{
	struct cmd *c, *next;

	uv_timer_stop(&r->conn_timer);
	r->phase = PH_CONNECTED;
	r->inflight = 0;
	r->backoff = r->o.backoff_min_ms;
	occo_err_clear(&r->last);
	if (r->warned && !r->o.quiet)
		OCCO_INFO("redis connected", OCCO_KV("redis", r->addr));
	else
		OCCO_DEBUG("redis connected", OCCO_KV("redis", r->addr));
	r->warned = 0;
	for (c = r->head; c && can_send(r); c = next) {
		next = c->next;
		if (!c->sent)
			cmd_send(r, c);
	}
	if (r->o.on_state)
		r->o.on_state(r, 1, NULL, r->o.state_ud);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct occo_redis *r = ac->data;
	struct occo_err e;

	if (!r || status == REDIS_OK)
		return;
	/* hiredis frees the context after this returns */
	r->ac = NULL;
	ac->data = NULL;
	occo_err_set(&e, OCCO_ECONN, "cannot connect: %s",
		     ac->c.err && ac->c.errstr[0] ? ac->c.errstr : "unknown error");
	attempt_failed(r, &e);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct occo_redis *r = ac->data;
	struct occo_err e;

	if (!r)
		return;
	r->ac = NULL;
	ac->data = NULL;
	if (r->phase == PH_CONNECTED)
		occo_err_set(&e, OCCO_ECONN, "connection lost: %s",
			     ac->c.err && ac->c.errstr[0] ? ac->c.errstr : "closed");
	else
		occo_err_set(&e, OCCO_ECONN, "cannot connect: %s",
			     ac->c.err && ac->c.errstr[0] ? ac->c.errstr : "connection closed");
	attempt_failed(r, &e);
}

/* "master", "slave", "sentinel"; NULL when ROLE's reply is not one we know (bounded: 16). */
static const char *role_of(const redisReply *rep, char *buf, size_t size)
{
	const redisReply *first;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || !rep->element[0])
		return NULL;
	first = rep->element[0];
	if ((first->type != REDIS_REPLY_STRING && first->type != REDIS_REPLY_STATUS) ||
	    first->len >= size)
		return NULL;
	memcpy(buf, first->str, first->len);
	buf[first->len] = '\0';
	return buf;
}

static void handshake_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct occo_redis *r = ac->data;
	redisReply *rep = reply;
	int step = (int)(intptr_t)priv;
	const char *role;
	struct occo_err e;
	char buf[16];

	/* NULL: the context is going away and onConnect/onDisconnect handle that */
	if (!r || !rep || r->ac != ac)
		return;
	if (step == HS_ROLE && rep->type != REDIS_REPLY_ERROR) {
		role = role_of(rep, buf, sizeof(buf));
		if (role && !strcmp(role, "master")) {
			connected(r);
			return;
		}
		occo_err_set(&e, OCCO_ECONN, "not a master: its role is '%s'",
			     role ? role : "unknown");
		drop_ac(r);
		attempt_failed(r, &e);
		return;
	}
	if (rep->type != REDIS_REPLY_ERROR) {
		if (step == HS_PING && !r->o.require_master)
			connected(r);
		return;
	}
	if (step == HS_AUTH)
		occo_err_set(&e, OCCO_EAUTH, "authentication failed: %s", rep->str);
	else if (step == HS_SELECT)
		occo_err_set(&e, OCCO_EREMOTE, "cannot select database %d: %s", r->o.db, rep->str);
	else if (step == HS_ROLE)
		occo_err_set(&e, OCCO_EREMOTE, "cannot check the role: %s", rep->str);
	else
		occo_err_set(&e, OCCO_ECONN, "not ready: %s", rep->str); /* e.g. LOADING */
	drop_ac(r);
	attempt_failed(r, &e);
}

int occo__redis_auth(redisAsyncContext *ac, const char *username, const char *password,
		     redisCallbackFn *fn, void *priv)
{
	const char *argv[3] = { "AUTH" };
	int argc = 1;

	if (username)
		argv[argc++] = username;
	argv[argc++] = password;
	return redisAsyncCommandArgv(ac, fn, priv, argc, argv, NULL);
}

static int handshake(struct occo_redis *r, redisAsyncContext *ac)
{
	if (r->password && occo__redis_auth(ac, r->username, r->password, handshake_reply,
					    (void *)(intptr_t)HS_AUTH) != REDIS_OK)
		return -1;
	if (r->o.db > 0 && redisAsyncCommand(ac, handshake_reply, (void *)(intptr_t)HS_SELECT,
					     "SELECT %d", r->o.db) != REDIS_OK)
		return -1;
	/* PING last: it also fails while the server loads its data (-LOADING) */
	if (redisAsyncCommand(ac, handshake_reply, (void *)(intptr_t)HS_PING, "PING") != REDIS_OK)
		return -1;
	/* a Sentinel's answer may be stale: a demoted master is a replica now */
	if (r->o.require_master &&
	    redisAsyncCommand(ac, handshake_reply, (void *)(intptr_t)HS_ROLE, "ROLE") != REDIS_OK)
		return -1;
	return 0;
}

/* Open a hiredis context to r->cur_path, or to ip and r->cur_port. */
static void connect_to(struct occo_redis *r, const char *ip)
{
	redisAsyncContext *ac;
	struct occo_err e;

	ac = r->cur_path ? redisAsyncConnectUnix(r->cur_path) : redisAsyncConnect(ip, r->cur_port);
	if (!ac) {
		occo_err_set(&e, OCCO_ENOMEM, "cannot connect: out of memory");
		attempt_failed(r, &e);
		return;
	}
	if (ac->err) {
		occo_err_set(&e, OCCO_ECONN, "cannot connect: %s", ac->c.errstr);
		redisAsyncFree(ac);
		attempt_failed(r, &e);
		return;
	}
	if (occo__redis_attach(ac, r->loop) < 0) {
		redisAsyncFree(ac);
		occo_err_set(&e, OCCO_EIO, "cannot connect: cannot watch the socket");
		attempt_failed(r, &e);
		return;
	}
	ac->data = r;
	r->ac = ac;
	r->phase = PH_CONNECTING;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (handshake(r, ac) < 0) {
		drop_ac(r);
		occo_err_set(&e, OCCO_ECONN, "cannot connect: cannot send the handshake");
		attempt_failed(r, &e);
		return;
	}
	uv_timer_start(&r->conn_timer, conn_timer_cb, r->o.connect_timeout_ms, 0);
}

static void lookup_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct occo_redis *r = req->data;
	struct occo_err e;
	char ip[64];

	r->phase = PH_IDLE;
	if (r->closing) {
		uv_freeaddrinfo(res);
		close_maybe_done(r);
		return;
	}
	if (status == 0 && uv_ip_name(res->ai_addr, ip, sizeof(ip)) != 0)
		status = UV_EAI_ADDRFAMILY;
	uv_freeaddrinfo(res);
	if (status != 0) {
		occo_err_set(&e, OCCO_ECONN, "cannot look up '%s': %s", r->cur_host,
			     uv_strerror(status));
		attempt_failed(r, &e);
		return;
	}
	connect_to(r, ip);
}

static void attempt_addr(struct occo_redis *r, const struct occo_redis_addr *a)
{
	struct addrinfo hints;
	unsigned char bin[16];
	struct occo_err e;
	int rc;

	set_addr(r, a);
	if (r->cur_path) {
		connect_to(r, NULL);
		return;
	}
	if (!r->cur_host) {
		occo_err_set(&e, OCCO_EINVAL, "no address to connect to");
		attempt_failed(r, &e);
		return;
	}
	if (uv_inet_pton(AF_INET, r->cur_host, bin) == 0 ||
	    uv_inet_pton(AF_INET6, r->cur_host, bin) == 0) {
		connect_to(r, r->cur_host);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = uv_getaddrinfo(r->loop, &r->gai, lookup_done, r->cur_host, NULL, &hints);
	if (rc < 0) {
		occo_err_set(&e, OCCO_ECONN, "cannot look up '%s': %s", r->cur_host,
			     uv_strerror(rc));
		attempt_failed(r, &e);
		return;
	}
	r->phase = PH_LOOKUP;
}

static void attempt_start(struct occo_redis *r)
{
	if (r->o.resolve) {
		r->phase = PH_RESOLVING;
		r->o.resolve(r, r->o.resolve_ud); /* may answer at once */
		return;
	}
	attempt_addr(r, &r->o.addr);
}

void occo_redis_resolved(struct occo_redis *r, const struct occo_redis_addr *addr,
			 const struct occo_err *err)
{
	struct occo_err e;

	if (r->phase != PH_RESOLVING) {
		OCCO_WARN("redis resolver answered unasked", OCCO_KV("redis", r->addr));
		return;
	}
	r->phase = PH_IDLE;
	if (r->closing) {
		close_maybe_done(r);
		return;
	}
	if (addr) {
		attempt_addr(r, addr);
		return;
	}
	if (err && err->code)
		occo_err_copy(&e, err);
	else
		occo_err_set(&e, OCCO_ECONN, "no address");
	occo_err_prefix(&e, "cannot resolve the address");
	attempt_failed(r, &e);
}

static void conn_timer_cb(uv_timer_t *t)
{
	struct occo_redis *r = t->data;
	struct occo_err e;

	if (r->phase == PH_IDLE) {
		attempt_start(r);
	} else if (r->phase == PH_CONNECTING) {
		drop_ac(r);
		occo_err_set(&e, OCCO_ETIMEDOUT, "cannot connect: no answer within %u ms",
			     r->o.connect_timeout_ms);
		attempt_failed(r, &e);
	}
}

/* ---- open and close ---- */

static char *dup_or_null(const char *s)
{
	return s ? occo_strdup(s) : NULL;
}

void occo_redis_opts_init(struct occo_redis_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->addr.port = DEF_PORT;
	o->cmd_timeout_ms = DEF_CMD_TIMEOUT_MS;
	o->connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	o->backoff_min_ms = DEF_BACKOFF_MIN_MS;
	o->backoff_max_ms = DEF_BACKOFF_MAX_MS;
	o->max_queued = DEF_MAX_QUEUED;
}

int occo_redis_open(uv_loop_t *loop, const struct occo_redis_opts *opts, struct occo_redis **out,
		    struct occo_err *err)
{
	struct sockaddr_un sun;
	struct occo_redis *r;

	if (!opts->resolve && !opts->addr.path && !opts->addr.host)
		return occo_err_set(err, OCCO_EINVAL, "redis: no address to connect to");
	if (opts->addr.path && strlen(opts->addr.path) >= sizeof(sun.sun_path))
		return occo_err_set(err, OCCO_EINVAL, "redis: socket path too long: '%s'",
				    opts->addr.path);

	r = occo_calloc(1, sizeof(*r));
	r->tag.kind = OCCO__AC_CLIENT;
	r->loop = loop;
	r->o = *opts;
	r->path = dup_or_null(opts->addr.path);
	r->host = dup_or_null(opts->addr.host);
	r->username = dup_or_null(opts->username);
	r->password = dup_or_null(opts->password);
	r->o.addr.path = r->path;
	r->o.addr.host = r->host;
	r->o.username = r->username;
	r->o.password = r->password;
	if (!r->o.cmd_timeout_ms)
		r->o.cmd_timeout_ms = DEF_CMD_TIMEOUT_MS;
	if (!r->o.connect_timeout_ms)
		r->o.connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	if (!r->o.backoff_min_ms)
		r->o.backoff_min_ms = DEF_BACKOFF_MIN_MS;
	if (!r->o.backoff_max_ms)
		r->o.backoff_max_ms = DEF_BACKOFF_MAX_MS;
	if (r->o.backoff_max_ms < r->o.backoff_min_ms)
		r->o.backoff_max_ms = r->o.backoff_min_ms;
	if (!r->o.max_queued)
		r->o.max_queued = DEF_MAX_QUEUED;
	r->backoff = r->o.backoff_min_ms;
	r->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)r;
	if (!r->rng)
		r->rng = 1;
	if (opts->resolve)
		set_name(r);
	else
		set_addr(r, &r->o.addr);

	uv_timer_init(loop, &r->conn_timer);
	uv_timer_init(loop, &r->cmd_timer);
	r->conn_timer.data = r;
	r->cmd_timer.data = r;
	r->gai.data = r;
	r->open_handles = 2;
	/* the first attempt runs on the loop: no callback from inside this call */
	uv_timer_start(&r->conn_timer, conn_timer_cb, 0, 0);
	*out = r;
	return 0;
}

static void close_maybe_done(struct occo_redis *r)
{
	occo_redis_close_fn cb = r->close_cb;
	void *ud = r->close_ud;

	if (r->open_handles > 0 || r->phase == PH_RESOLVING || r->phase == PH_LOOKUP)
		return;
	free(r->path);
	free(r->host);
	free(r->username);
	occo_free_secret(r->password);
	free(r->cur_path);
	free(r->cur_host);
	free(r->addr);
	free(r->name);
	free(r);
	if (cb)
		cb(ud);
}

static void handle_closed(uv_handle_t *h)
{
	struct occo_redis *r = h->data;

	r->open_handles--;
	close_maybe_done(r);
}

void occo_redis_close(struct occo_redis *r, occo_redis_close_fn close_cb, void *ud)
{
	struct occo_err e;

	if (!r || r->closing)
		return;
	r->closing = 1;
	r->close_cb = close_cb;
	r->close_ud = ud;
	uv_timer_stop(&r->conn_timer);
	uv_timer_stop(&r->cmd_timer);
	occo_err_set(&e, OCCO_ECANCELED, "%s: the client was closed", r->name);
	fail_list(r, live_take(r, 0), &e);
	/* hiredis calls back every sent command (all done now) with NULL and frees them */
	drop_ac(r);
	if (r->phase == PH_CONNECTING || r->phase == PH_CONNECTED)
		r->phase = PH_IDLE;
	if (r->phase == PH_LOOKUP)
		uv_cancel((uv_req_t *)&r->gai);
	uv_close((uv_handle_t *)&r->conn_timer, handle_closed);
	uv_close((uv_handle_t *)&r->cmd_timer, handle_closed);
	/* last: the resolver may answer a pending question from inside this call */
	if (r->o.resolve_stop)
		r->o.resolve_stop(r, r->o.resolve_ud);
}

void occo_redis_reconnect(struct occo_redis *r, const char *why)
{
	struct occo_err e;

	if (r->closing)
		return;
	r->backoff = r->o.backoff_min_ms;
	if (r->phase == PH_IDLE) {
		uv_timer_start(&r->conn_timer, conn_timer_cb, 0, 0);
		return;
	}
	if (r->phase != PH_CONNECTING && r->phase != PH_CONNECTED)
		return;
	/* hiredis answers the commands it holds with NULL: "connection lost" */
	drop_ac(r);
	occo_err_set(&e, OCCO_ECONN, "connection dropped: %s", why ? why : "asked to reconnect");
	attempt_failed(r, &e);
}

int occo_redis_is_connected(const struct occo_redis *r)
{
	return r->phase == PH_CONNECTED;
}

const char *occo_redis_name(const struct occo_redis *r)
{
	return r->name;
}

uv_loop_t *occo_redis_loop(const struct occo_redis *r)
{
	return r->loop;
}
