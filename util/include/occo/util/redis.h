/*
 * redis.h - the async Redis client on the process's libuv loop, and the embedded redis-server.
 *
 * Every library that keeps state (infobroker: the store, leases, events) talks to Redis through
 * one struct occo_redis bound to the loop. It is a thin layer over hiredis's async API and its
 * libuv adapter that adds what hiredis lacks:
 *
 * - Reconnection. The client connects in the background (never from inside occo_redis_open),
 *   runs a handshake (AUTH, SELECT, PING, and ROLE when it must reach a master) and is
 *   "connected" when the last of them answers. When a connect attempt fails or the connection
 *   drops, it tries again after a delay that starts at backoff_min_ms and doubles up to
 *   backoff_max_ms (with jitter: between half and all of it). Before each attempt it asks the
 *   resolver, if one is set, for the address: this is where a Redis Sentinel lookup of the
 *   current master plugs in (redis_sentinel.h).
 * - A queue. Commands issued while not connected are formatted at once and kept (at most
 *   max_queued of them), then sent in order when the connection is back.
 * - Deadlines. Every command gets its callback within cmd_timeout_ms of being issued: queued
 *   commands fail with -OCCO_ECONN (the server cannot be reached: the message says why) or
 *   -OCCO_ETIMEDOUT; a sent command whose reply is late fails with -OCCO_ETIMEDOUT and its
 *   reply, when it comes, is dropped.
 * - Clear errors: "redis at /var/lib/occopus/redis.sock: connection lost: Server closed the
 *   connection". When the server goes away, every command sent and not answered yet fails with
 *   -OCCO_ECONN; commands are never re-sent (they may have run).
 *
 * Commands are pipelined: hiredis writes them without waiting for replies, and replies come
 * back in order. A Redis error reply (REDIS_REPLY_ERROR, e.g. "WRONGTYPE ...") is a reply, not
 * an error: the caller decides what it means. The password is never logged.
 *
 * Not thread-safe: use a client from its loop's thread only. hiredis writes with write(2), so a
 * program that uses the client ignores SIGPIPE.
 */
#ifndef OCCO_UTIL_REDIS_H
#define OCCO_UTIL_REDIS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "occo/util/err.h"

struct occo_redis;

/* Where a server listens: a unix socket (path) or TCP (host, port). */
struct occo_redis_addr {
	const char *path; /* unix socket; when set, host and port are ignored */
	const char *host; /* a name (looked up with uv_getaddrinfo) or an IPv4/IPv6 address */
	int port; /* default 6379 */
};

/*
 * A resolver is asked for the address before every connect attempt. It answers, at once or
 * later on the loop, by calling occo_redis_resolved() exactly once. A pending answer delays
 * occo_redis_close() until it comes, so a resolver must answer within a bounded time.
 */
typedef void (*occo_redis_resolve_fn)(struct occo_redis *r, void *ud);

/*
 * Called once, from inside occo_redis_close(), to tell the resolver that the client is closing:
 * it answers a pending question soon (with an error) and must not touch the client afterwards.
 */
typedef void (*occo_redis_resolve_stop_fn)(struct occo_redis *r, void *ud);

/*
 * Called when the client becomes connected (connected = 1, err = NULL), when it loses its
 * connection, and when an attempt to connect fails (connected = 0, err says why). It may issue
 * commands and may close the client.
 */
typedef void (*occo_redis_state_fn)(struct occo_redis *r, int connected, const struct occo_err *err,
				    void *ud);

struct occo_redis_opts {
	struct occo_redis_addr addr; /* where to connect, unless a resolver is set */
	int db; /* SELECT this database on connect when > 0 */
	const char *username; /* AUTH username password (Redis 6 ACL); NULL: default user */
	const char *password; /* AUTH on connect when set; secret: never logged, wiped */
	unsigned cmd_timeout_ms; /* deadline of a command from the moment it is issued (5000) */
	unsigned connect_timeout_ms; /* one attempt: connect and handshake (2000) */
	unsigned backoff_min_ms; /* first delay before connecting again (50) */
	unsigned backoff_max_ms; /* largest delay (2000) */
	size_t max_queued; /* commands waiting for a connection (100000) */
	int quiet; /* log connection problems at debug level only (probes) */
	int require_master; /* the handshake ends with ROLE, which must say "master" */
	occo_redis_resolve_fn resolve; /* NULL: always connect to addr */
	occo_redis_resolve_stop_fn resolve_stop; /* NULL: not told */
	void *resolve_ud;
	occo_redis_state_fn on_state; /* NULL: not told */
	void *state_ud;
};

/*
 * Called exactly once per accepted command, on the loop, never from inside the call that issued
 * it. On success reply is set (valid only during the callback; a Redis error reply included)
 * and err is NULL. On failure reply is NULL and err says what failed: -OCCO_ECONN (cannot
 * connect, connection lost), -OCCO_EAUTH (the password was refused), -OCCO_EREMOTE (SELECT was
 * refused; after these two, commands waiting for a connection fail at once), -OCCO_ETIMEDOUT
 * (cmd_timeout_ms passed), -OCCO_ECANCELED (the client was closed).
 * The callback may issue commands and may close the client.
 */
typedef void (*occo_redis_reply_fn)(struct occo_redis *r, const redisReply *reply,
				    const struct occo_err *err, void *ud);

/* Called when a closed client has released everything. */
typedef void (*occo_redis_close_fn)(void *ud);

/* What a client has sent, for benchmarks. */
struct occo_redis_stats {
	uint64_t commands; /* sent to a server */
	/*
	 * Commands sent while none was waiting for its reply: each costs at least one network
	 * round trip, while the commands pipelined behind it overlap it.
	 */
	uint64_t round_trips;
};

/* Fill opts with the defaults above (no address: set addr.path or addr.host). */
void occo_redis_opts_init(struct occo_redis_opts *opts);

/*
 * Create a client on a loop and start connecting in the background. opts are copied (strings
 * included); zero fields take the defaults. Fails with -OCCO_EINVAL when there is neither an
 * address nor a resolver, or the unix socket path is too long. The caller closes the client
 * with occo_redis_close().
 */
int occo_redis_open(uv_loop_t *loop, const struct occo_redis_opts *opts, struct occo_redis **out,
		    struct occo_err *err);

/*
 * Close a client: every command not finished yet gets its callback with -OCCO_ECANCELED,
 * synchronously, before this returns; later commands fail with -OCCO_ESTATE. The memory is
 * released from libuv close callbacks, so the loop must run afterwards; close_cb (may be NULL)
 * is called when it is done. May be called from any callback of the client. NULL is fine.
 */
void occo_redis_close(struct occo_redis *r, occo_redis_close_fn close_cb, void *ud);

/* The client's counters since it was opened. */
void occo_redis_stats_get(const struct occo_redis *r, struct occo_redis_stats *out);

/*
 * Issue a command given as a hiredis format ("SET %s %b", key, val, len; see
 * redisFormatCommand). cb (may be NULL) runs exactly once, later, on the loop. Fails without
 * calling cb on a bad format (-OCCO_EINVAL), a full queue (-OCCO_ECONN) or a closing client
 * (-OCCO_ESTATE).
 */
int occo_redis_command(struct occo_redis *r, occo_redis_reply_fn cb, void *ud, struct occo_err *err,
		       const char *fmt, ...);
int occo_redis_vcommand(struct occo_redis *r, occo_redis_reply_fn cb, void *ud,
			struct occo_err *err, const char *fmt, va_list ap);

/*
 * Issue a command given as argc binary-safe arguments (argvlen NULL: each is a C string). The
 * arguments are copied before this returns. Otherwise as occo_redis_command().
 */
int occo_redis_command_argv(struct occo_redis *r, int argc, const char *const *argv,
			    const size_t *argvlen, occo_redis_reply_fn cb, void *ud,
			    struct occo_err *err);

/*
 * For tests and simple programs: issue a command and run the loop until its callback. On
 * success *reply is a copy of the reply (a Redis error reply included) that the caller frees
 * with freeReplyObject(). Never call these from a callback running on the loop.
 */
int occo_redis_command_wait(struct occo_redis *r, redisReply **reply, struct occo_err *err,
			    const char *fmt, ...);
int occo_redis_command_argv_wait(struct occo_redis *r, int argc, const char *const *argv,
				 const size_t *argvlen, redisReply **reply, struct occo_err *err);

/*
 * The resolver's answer (see occo_redis_resolve_fn): the address to connect to now (copied), or
 * err when there is none; the attempt then fails with that error and is tried again later.
 */
void occo_redis_resolved(struct occo_redis *r, const struct occo_redis_addr *addr,
			 const struct occo_err *err);

/*
 * Drop the current connection, or cut short the wait before the next attempt, and connect again
 * soon, asking the resolver anew (a Sentinel saw the master change). Commands sent and not
 * answered fail with -OCCO_ECONN; queued ones wait for the new connection. `why` (may be NULL)
 * goes into the error. Nothing happens while an address is being resolved or looked up, or
 * when the client is closing.
 */
void occo_redis_reconnect(struct occo_redis *r, const char *why);

/* 1 when the handshake of the current connection is done, else 0. */
int occo_redis_is_connected(const struct occo_redis *r);

/* "redis at <path>" or "redis at <host>:<port>": the subject of the client's messages. */
const char *occo_redis_name(const struct occo_redis *r);

uv_loop_t *occo_redis_loop(const struct occo_redis *r);

/*
 * The embedded default: a private redis-server on a unix socket in the state directory, with
 * the append-only file on. Its files there: redis.sock, redis.pid, redis.log, redis.lock (held
 * with flock while one process checks or starts the server), appendonlydir/ and dump.rdb.
 */
struct occo_redis_embedded_opts {
	const char *server; /* the redis-server program; NULL: "redis-server" found on PATH */
	unsigned timeout_ms; /* wait for the lock, then for the server to answer (10000) */
};

/* Called once when the embedded server answers (sock_path set) or cannot be started (err). */
typedef void (*occo_redis_embedded_fn)(const char *sock_path, const struct occo_err *err, void *ud);
/* Called once when an embedded server is stopped (err NULL) or could not be (err). */
typedef void (*occo_redis_done_fn)(const struct occo_err *err, void *ud);

/*
 * Make sure the embedded redis-server of state_dir (created 0700 if missing) runs, and call cb
 * with its socket path (borrowed: valid during the callback). A server that a live pidfile names
 * and that answers PING is reused; otherwise a new one is started (--daemonize yes) and waited
 * for; when it does not answer within timeout_ms, the error ends with the tail of its log. Two
 * processes (or two calls on one loop) starting at once start one server. opts may be NULL. cb
 * runs exactly once, on the loop, never from inside this call; it is never called when this
 * call fails (state_dir cannot be created or is too long for a unix socket path).
 */
int occo_redis_embedded_start(uv_loop_t *loop, const char *state_dir,
			      const struct occo_redis_embedded_opts *opts,
			      occo_redis_embedded_fn cb, void *ud, struct occo_err *err);

/*
 * Stop the embedded redis-server of state_dir, if one runs: SIGTERM to the pid its pidfile
 * names (only if that process is a redis-server), then wait until it has exited; after
 * timeout_ms (opts may be NULL: 10000) SIGKILL it and report -OCCO_ETIMEDOUT. Not running is
 * not an error. cb runs exactly once, on the loop, never from inside this call.
 */
int occo_redis_embedded_stop(uv_loop_t *loop, const char *state_dir,
			     const struct occo_redis_embedded_opts *opts, occo_redis_done_fn cb,
			     void *ud, struct occo_err *err);

#endif
