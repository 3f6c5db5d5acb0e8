/*
 * redis_sentinel.c - the resolver that asks Redis Sentinels where the master is, the ROLE check
 * and the "+switch-master" subscription (see redis_sentinel.h).
 *
 * Three parts, all owned by struct sentinel and all on the client's loop:
 * - The question. The client asks (resolve) before every connect attempt. The sentinels are
 *   asked one after the other, each through a short-lived quiet occo_redis client of its own
 *   (connect, AUTH, PING and the question within timeout_ms); the first good answer ends it.
 * - The check timer: every check_ms, ROLE through the client itself (at most one in flight);
 *   a server that says it is not a master is dropped (occo_redis_reconnect). The timer also
 *   (re)starts the subscription. It is unref'd: it never keeps the loop alive on its own.
 * - The subscription: a raw hiredis context to the sentinel that answered, SUBSCRIBE
 *   +switch-master; the leader of a failover publishes "<master> <old ip> <old port> <new ip>
 *   <new port>" there once the replica is promoted.
 *
 * The client tells us it closes (resolve_stop): a question in progress is answered at once
 * with -OCCO_ECANCELED, the timer and the subscription are closed, and struct sentinel frees
 * itself when the last of its handles and query clients is gone. The client waits for the
 * answer only, so nothing here touches it after that.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/async.h>

#include "occo/util/alloc.h"
#include "occo/util/log.h"
#include "occo/util/redis_sentinel.h"
#include "redis_int.h"

#define DEF_SENTINEL_PORT 26379
#define DEF_TIMEOUT_MS 1000
#define DEF_CHECK_MS 1000
#define MAX_HOST 255
#define SWITCH_CHANNEL "+switch-master"

enum sub_phase {
	SUB_NONE,
	SUB_LOOKUP, /* uv_getaddrinfo of the sentinel's host name */
	SUB_STARTING, /* connected or connecting, SUBSCRIBE not confirmed yet */
	SUB_ON,
};

struct query {
	struct sentinel *s;
	struct occo_redis *c; /* the client of one sentinel */
	size_t idx; /* which one */
	int over; /* answered or given up: later callbacks are ignored */
};

struct sentinel {
	struct occo__ac_data tag; /* first: OCCO__AC_SENTINEL (redis_int.h) */
	uv_loop_t *loop;
	struct occo_redis *r; /* the client; NULL once stopped and answered */
	struct occo_redis_addr *addrs; /* copies */
	char **labels; /* "host:port" of each, for messages */
	size_t n;
	char *master;
	char *username;
	char *password;
	unsigned timeout_ms;

	/* the question */
	int asking;
	size_t tried; /* sentinels asked so far in this round */
	size_t first; /* the one that answered last: asked first */
	int known; /* first has answered at least once */
	struct query *q; /* the sentinel being asked */
	char errs[OCCO_ERR_MSG_MAX / 2]; /* what each sentinel said, "; "-separated */
	char *last_addr; /* the last answer, to log a change */

	/* the ROLE check */
	uv_timer_t check;
	int checking;

	/* the subscription */
	enum sub_phase sub;
	size_t sub_idx;
	uint64_t sub_since; /* loop time the subscription was started */
	redisAsyncContext *sub_ac;
	uv_getaddrinfo_t sub_gai;
	int gai_busy; /* sub_gai is in flight (perhaps cancelled) */

	int stopped;
	int pending; /* open query clients, the timer, a lookup in flight */
};

static void sub_drop(struct sentinel *s);

static void maybe_free(struct sentinel *s)
{
	size_t i;

	if (!s->stopped || s->pending > 0 || s->asking)
		return;
	for (i = 0; i < s->n; i++) {
		free((char *)s->addrs[i].path);
		free((char *)s->addrs[i].host);
		free(s->labels[i]);
	}
	free(s->addrs);
	free(s->labels);
	free(s->master);
	occo_free_secret(s->password);
	free(s->username);
	free(s->last_addr);
	free(s);
}

/* ---- the question ---- */

static void answer(struct sentinel *s, const struct occo_redis_addr *addr, const struct occo_err *e)
{
	struct occo_redis *r = s->r;

	s->asking = 0;
	if (s->stopped)
		s->r = NULL; /* the client does not wait for anything else */
	occo_redis_resolved(r, addr, e);
	maybe_free(s);
}

/* Note what the sentinel of q said, for the error when none gives the address. */
static void note(struct sentinel *s, struct query *q, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct sentinel *s, struct query *q, const char *fmt, ...)
{
	size_t len = strlen(s->errs);
	char msg[OCCO_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (len + 2 >= sizeof(s->errs))
		return;
	snprintf(s->errs + len, sizeof(s->errs) - len, "%ssentinel %s: %s", len ? "; " : "",
		 s->labels[q->idx], msg);
}

/* The message of a query client's error without its "redis at ADDR: " prefix. */
static const char *bare(const struct query *q, const struct occo_err *e)
{
	const char *name = occo_redis_name(q->c);
	size_t n = strlen(name);

	if (!strncmp(e->msg, name, n) && !strncmp(e->msg + n, ": ", 2))
		return e->msg + n + 2;
	return e->msg;
}

static void ask_next(struct sentinel *s);

static void query_closed(void *ud)
{
	struct query *q = ud;
	struct sentinel *s = q->s;

	free(q);
	s->pending--;
	maybe_free(s);
}

/* End a query: close its client (its pending command is cancelled and ignored). */
static void query_end(struct query *q)
{
	struct sentinel *s = q->s;

	q->over = 1;
	if (s->q == q)
		s->q = NULL;
	occo_redis_close(q->c, query_closed, q);
}

static void query_failed(struct query *q)
{
	struct sentinel *s = q->s;

	query_end(q);
	ask_next(s);
}

static void sub_start(struct sentinel *s, size_t idx);

static void query_state(struct occo_redis *c, int connected, const struct occo_err *err, void *ud)
{
	struct query *q = ud;

	(void)c;
	if (connected || q->over)
		return;
	note(q->s, q, "%s", bare(q, err));
	query_failed(q);
}

/* Parse "SENTINEL get-master-addr-by-name": [host, port], or nil for an unknown master. */
static void query_reply(struct occo_redis *c, const redisReply *rep, const struct occo_err *err,
			void *ud)
{
	struct query *q = ud;
	struct sentinel *s = q->s;
	struct occo_redis_addr addr = { 0 };
	char host[MAX_HOST + 1], *end, *label;
	const redisReply *h, *p;
	long port;

	(void)c;
	if (q->over)
		return;
	if (err) {
		note(s, q, "%s", bare(q, err));
		query_failed(q);
		return;
	}
	if (rep->type == REDIS_REPLY_NIL) {
		note(s, q, "no master named '%s'", s->master);
		query_failed(q);
		return;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		note(s, q, "refused: %.200s", rep->str);
		query_failed(q);
		return;
	}
	h = rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 ? rep->element[0] : NULL;
	p = h ? rep->element[1] : NULL;
	if (!h || !p || h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING ||
	    h->len == 0 || h->len > MAX_HOST || p->len == 0 || p->len > 5) {
		note(s, q, "unexpected answer to SENTINEL get-master-addr-by-name");
		query_failed(q);
		return;
	}
	memcpy(host, h->str, h->len);
	host[h->len] = '\0';
	port = strtol(p->str, &end, 10);
	if (*end || port < 1 || port > 65535 || strlen(host) != h->len) {
		note(s, q, "unexpected answer to SENTINEL get-master-addr-by-name");
		query_failed(q);
		return;
	}
	s->first = q->idx;
	s->known = 1;
	query_end(q);

	label = strchr(host, ':') ? occo_asprintf("[%s]:%ld", host, port)
				  : occo_asprintf("%s:%ld", host, port);
	if (!s->last_addr || strcmp(s->last_addr, label))
		OCCO_INFO(s->last_addr ? "redis sentinel: the master moved"
				       : "redis sentinel: found the master",
			  OCCO_KV("master", s->master), OCCO_KV("redis", label),
			  OCCO_KV("sentinel", s->labels[s->first]));
	free(s->last_addr);
	s->last_addr = label;
	if (!s->stopped && s->sub == SUB_NONE)
		sub_start(s, s->first);
	addr.host = host;
	addr.port = (int)port;
	answer(s, &addr, NULL);
}

static void ask_next(struct sentinel *s)
{
	struct occo_redis_opts o;
	struct occo_err e;
	struct query *q;
	size_t i;

	if (s->stopped) {
		occo_err_set(&e, OCCO_ECANCELED, "the client was closed");
		answer(s, NULL, &e);
		return;
	}
	if (s->tried == s->n) {
		occo_err_set(&e, OCCO_ECONN, "no sentinel gave the address of master '%s': %s",
			     s->master, s->errs);
		answer(s, NULL, &e);
		return;
	}
	i = (s->first + s->tried++) % s->n;
	occo_redis_opts_init(&o);
	o.addr = s->addrs[i];
	o.username = s->username;
	o.password = s->password;
	o.cmd_timeout_ms = s->timeout_ms;
	o.connect_timeout_ms = s->timeout_ms;
	/* the first failed attempt ends the query: no second one within its deadline */
	o.backoff_min_ms = o.backoff_max_ms = 2 * s->timeout_ms;
	o.max_queued = 1;
	o.quiet = 1;
	q = occo_calloc(1, sizeof(*q));
	q->s = s;
	q->idx = i;
	o.on_state = query_state;
	o.state_ud = q;
	if (occo_redis_open(s->loop, &o, &q->c, &e) < 0) {
		note(s, q, "%s", e.msg);
		free(q);
		ask_next(s);
		return;
	}
	s->pending++;
	s->q = q;
	if (occo_redis_command(q->c, query_reply, q, &e, "SENTINEL get-master-addr-by-name %s",
			       s->master) < 0) {
		note(s, q, "%s", bare(q, &e));
		query_failed(q);
	}
}

static void sentinel_resolve(struct occo_redis *r, void *ud)
{
	struct sentinel *s = ud;

	(void)r;
	s->asking = 1;
	s->tried = 0;
	s->errs[0] = '\0';
	ask_next(s);
}

/* ---- the subscription ---- */

static void sub_drop(struct sentinel *s)
{
	redisAsyncContext *ac = s->sub_ac;

	if (s->sub == SUB_LOOKUP) {
		uv_cancel((uv_req_t *)&s->sub_gai); /* lookup_done sees SUB_NONE */
	} else if (ac) {
		s->sub_ac = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	s->sub = SUB_NONE;
}

/* A message on +switch-master: "<master> <old ip> <old port> <new ip> <new port>". */
static void sub_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sentinel *s = ac->data;
	const redisReply *rep = reply, *kind, *msg;
	char payload[2 * MAX_HOST + 64], *ip, *port, *cur;
	size_t n;

	(void)priv;
	if (!s || !rep || s->sub_ac != ac)
		return;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 || !rep->element[0] ||
	    !rep->element[2] || rep->element[0]->type != REDIS_REPLY_STRING) {
		/* an error (NOAUTH, not a sentinel): tried again by the timer */
		OCCO_DEBUG("redis sentinel: cannot subscribe",
			   OCCO_KV("sentinel", s->labels[s->sub_idx]));
		sub_drop(s);
		return;
	}
	kind = rep->element[0];
	msg = rep->element[2];
	if (kind->len == 9 && !memcmp(kind->str, "subscribe", 9)) {
		s->sub = SUB_ON;
		return;
	}
	n = strlen(s->master);
	if (kind->len != 7 || memcmp(kind->str, "message", 7) || msg->type != REDIS_REPLY_STRING ||
	    msg->len <= n || memcmp(msg->str, s->master, n) || msg->str[n] != ' ')
		return;
	/* "<master> <old ip> <old port> <new ip> <new port>": the last two words */
	if (msg->len >= sizeof(payload) || !s->r)
		return;
	memcpy(payload, msg->str, msg->len);
	payload[msg->len] = '\0';
	port = strrchr(payload, ' ');
	if (!port || port == payload)
		return;
	*port++ = '\0';
	ip = strrchr(payload, ' ');
	if (!ip)
		return;
	ip++;
	cur = strchr(ip, ':') ? occo_asprintf("redis at [%s]:%s", ip, port)
			      : occo_asprintf("redis at %s:%s", ip, port);
	/* the announcing sentinel knows the new address: ask it first */
	s->first = s->sub_idx;
	if (!occo_redis_is_connected(s->r) || strcmp(occo_redis_name(s->r), cur)) {
		OCCO_INFO("redis sentinel: a new master was announced",
			  OCCO_KV("master", s->master), OCCO_KV("redis", cur + 9),
			  OCCO_KV("sentinel", s->labels[s->sub_idx]));
		occo_redis_reconnect(s->r, "a sentinel announced a new master");
	}
	free(cur);
}

/* The subscription's context failed to connect or went away: hiredis frees it after this. */
static void sub_gone(const redisAsyncContext *cac)
{
	redisAsyncContext *ac = (redisAsyncContext *)cac;
	struct sentinel *s = ac->data;

	if (!s)
		return;
	ac->data = NULL;
	s->sub_ac = NULL;
	s->sub = SUB_NONE; /* the timer subscribes again */
}

static void sub_on_connect(const redisAsyncContext *cac, int status)
{
	if (status != REDIS_OK)
		sub_gone(cac);
}

static void sub_on_disconnect(const redisAsyncContext *cac, int status)
{
	(void)status;
	sub_gone(cac);
}

static void sub_connect(struct sentinel *s, const char *ip)
{
	const struct occo_redis_addr *a = &s->addrs[s->sub_idx];
	redisAsyncContext *ac;

	ac = a->path ? redisAsyncConnectUnix(a->path) : redisAsyncConnect(ip, a->port);
	s->sub = SUB_NONE;
	if (!ac)
		return;
	if (ac->err || occo__redis_attach(ac, s->loop) < 0) {
		redisAsyncFree(ac);
		return;
	}
	ac->data = s;
	s->sub_ac = ac;
	s->sub = SUB_STARTING;
	redisAsyncSetConnectCallback(ac, sub_on_connect);
	redisAsyncSetDisconnectCallback(ac, sub_on_disconnect);
	if (s->password && occo__redis_auth(ac, s->username, s->password, NULL, NULL) != REDIS_OK) {
		sub_drop(s);
		return;
	}
	if (redisAsyncCommand(ac, sub_reply, NULL, "SUBSCRIBE %s", SWITCH_CHANNEL) != REDIS_OK)
		sub_drop(s);
}

static void sub_lookup_done(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct sentinel *s = req->data;
	char ip[64];

	s->pending--;
	s->gai_busy = 0;
	if (status == 0 && uv_ip_name(res->ai_addr, ip, sizeof(ip)) != 0)
		status = UV_EAI_ADDRFAMILY;
	uv_freeaddrinfo(res);
	if (s->stopped || s->sub != SUB_LOOKUP || status != 0) {
		if (s->sub == SUB_LOOKUP)
			s->sub = SUB_NONE;
		maybe_free(s);
		return;
	}
	sub_connect(s, ip);
}

/* Subscribe to +switch-master on sentinel idx (looking its name up first). */
static void sub_start(struct sentinel *s, size_t idx)
{
	const struct occo_redis_addr *a = &s->addrs[idx];
	struct addrinfo hints;
	unsigned char bin[16];

	if (s->gai_busy)
		return;
	s->sub_idx = idx;
	s->sub_since = uv_now(s->loop);
	if (a->path || uv_inet_pton(AF_INET, a->host, bin) == 0 ||
	    uv_inet_pton(AF_INET6, a->host, bin) == 0) {
		sub_connect(s, a->host);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	s->sub_gai.data = s;
	if (uv_getaddrinfo(s->loop, &s->sub_gai, sub_lookup_done, a->host, NULL, &hints) < 0)
		return;
	s->sub = SUB_LOOKUP;
	s->gai_busy = 1;
	s->pending++;
}

/* ---- the ROLE check ---- */

static void role_reply(struct occo_redis *r, const redisReply *rep, const struct occo_err *err,
		       void *ud)
{
	struct sentinel *s = ud;
	const redisReply *first;
	char why[64];

	s->checking = 0;
	if (err || s->stopped)
		return; /* a lost connection is the client's business */
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 || !rep->element[0])
		return;
	first = rep->element[0];
	if (first->type == REDIS_REPLY_STRING && first->len == 6 &&
	    !memcmp(first->str, "master", 6))
		return;
	snprintf(why, sizeof(why), "the server is no longer a master (role '%.16s')",
		 first->type == REDIS_REPLY_STRING ? first->str : "?");
	occo_redis_reconnect(r, why);
}

static void check_cb(uv_timer_t *t)
{
	struct sentinel *s = t->data;
	struct occo_err e;

	if (s->stopped)
		return;
	if (s->sub == SUB_STARTING && uv_now(s->loop) - s->sub_since > s->timeout_ms)
		sub_drop(s); /* no confirmation in time: try again */
	/* the last one went away or would not subscribe: the next sentinel */
	if (s->sub == SUB_NONE && s->known)
		sub_start(s, (s->sub_idx + 1) % s->n);
	if (s->checking || !occo_redis_is_connected(s->r))
		return;
	if (occo_redis_command(s->r, role_reply, s, &e, "ROLE") == 0)
		s->checking = 1;
}

/* ---- open and stop ---- */

static void check_closed(uv_handle_t *h)
{
	struct sentinel *s = h->data;

	s->pending--;
	maybe_free(s);
}

static void sentinel_stop(struct occo_redis *r, void *ud)
{
	struct sentinel *s = ud;

	(void)r;
	s->stopped = 1;
	if (!s->asking)
		s->r = NULL;
	sub_drop(s);
	uv_close((uv_handle_t *)&s->check, check_closed);
	if (s->q)
		query_failed(s->q); /* ask_next answers -OCCO_ECANCELED */
}

void occo_redis_sentinel_opts_init(struct occo_redis_sentinel_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = DEF_TIMEOUT_MS;
	o->check_ms = DEF_CHECK_MS;
}

int occo_redis_sentinel_open(uv_loop_t *loop, const struct occo_redis_opts *opts,
			     const struct occo_redis_sentinel_opts *sopts, struct occo_redis **out,
			     struct occo_err *err)
{
	struct occo_redis_opts o = *opts;
	struct sentinel *s;
	unsigned check_ms;
	size_t i;
	int rc;

	if (!sopts->master || !sopts->master[0])
		return occo_err_set(err, OCCO_EINVAL, "redis sentinel: no master name");
	if (!sopts->nsentinels || !sopts->sentinels)
		return occo_err_set(err, OCCO_EINVAL, "redis sentinel: no sentinel to ask for '%s'",
				    sopts->master);
	if (sopts->nsentinels > OCCO_REDIS_SENTINEL_MAX)
		return occo_err_set(err, OCCO_EINVAL, "redis sentinel: %zu sentinels (at most %d)",
				    sopts->nsentinels, OCCO_REDIS_SENTINEL_MAX);
	for (i = 0; i < sopts->nsentinels; i++)
		if (!sopts->sentinels[i].path &&
		    (!sopts->sentinels[i].host || !sopts->sentinels[i].host[0]))
			return occo_err_set(err, OCCO_EINVAL,
					    "redis sentinel: sentinel %zu has no address", i + 1);

	s = occo_calloc(1, sizeof(*s));
	s->tag.kind = OCCO__AC_SENTINEL;
	s->loop = loop;
	s->n = sopts->nsentinels;
	s->addrs = occo_calloc(s->n, sizeof(*s->addrs));
	s->labels = occo_calloc(s->n, sizeof(*s->labels));
	for (i = 0; i < s->n; i++) {
		const struct occo_redis_addr *a = &sopts->sentinels[i];
		int port = a->port > 0 ? a->port : DEF_SENTINEL_PORT;

		if (a->path) {
			s->addrs[i].path = occo_strdup(a->path);
			s->labels[i] = occo_strdup(a->path);
		} else {
			s->addrs[i].host = occo_strdup(a->host);
			s->labels[i] = strchr(a->host, ':')
					       ? occo_asprintf("[%s]:%d", a->host, port)
					       : occo_asprintf("%s:%d", a->host, port);
		}
		s->addrs[i].port = port;
	}
	s->master = occo_strdup(sopts->master);
	s->password = sopts->password ? occo_strdup(sopts->password) : NULL;
	s->username = sopts->username ? occo_strdup(sopts->username) : NULL;
	s->timeout_ms = sopts->timeout_ms ? sopts->timeout_ms : DEF_TIMEOUT_MS;
	check_ms = sopts->check_ms ? sopts->check_ms : DEF_CHECK_MS;

	memset(&o.addr, 0, sizeof(o.addr));
	o.require_master = 1;
	o.resolve = sentinel_resolve;
	o.resolve_stop = sentinel_stop;
	o.resolve_ud = s;
	rc = occo_redis_open(loop, &o, &s->r, err);
	if (rc < 0) {
		s->stopped = 1;
		maybe_free(s);
		return rc;
	}
	uv_timer_init(loop, &s->check);
	s->check.data = s;
	uv_timer_start(&s->check, check_cb, check_ms, check_ms);
	uv_unref((uv_handle_t *)&s->check);
	s->pending++;
	*out = s->r;
	return 0;
}
