/*
 * redis_int.h - what the Redis client shares with the Sentinel lookup (redis_sentinel.c).
 */
#ifndef OCCO_UTIL_REDIS_INT_H
#define OCCO_UTIL_REDIS_INT_H

#include <hiredis/async.h>
#include <uv.h>

/*
 * Put a fresh hiredis context on the loop: its socket close-on-exec, the libuv adapter with
 * event hooks that let hiredis see a poll error (see redis.c). -1 when the socket cannot be
 * watched; the caller then frees the context with redisAsyncFree().
 */
int occo__redis_attach(redisAsyncContext *ac, uv_loop_t *loop);

/*
 * Send AUTH [username] password on a fresh context (Redis 6 ACL form when username is set); fn
 * (may be NULL) gets the reply. REDIS_OK or REDIS_ERR, as redisAsyncCommandArgv.
 */
int occo__redis_auth(redisAsyncContext *ac, const char *username, const char *password,
		     redisCallbackFn *fn, void *priv);

/*
 * What a context's ac->data points to starts with this, so the shared poll callback can tell
 * a client's connection (whose reads it notes, see cmd_timer_cb) from a sentinel's.
 */
enum { OCCO__AC_CLIENT = 1, OCCO__AC_SENTINEL = 2 };
struct occo__ac_data {
	int kind;
};

#endif
