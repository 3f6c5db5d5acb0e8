/*
 * redis_sentinel.h - a Redis client that finds its master through Redis Sentinel and follows it
 * across a failover.
 *
 * It is an ordinary struct occo_redis (redis.h) with a resolver: before every connect attempt
 * the sentinels are asked in turn, each within timeout_ms, "SENTINEL get-master-addr-by-name
 * <master>"; the first that answers gives the address, and is asked first next time (the
 * Sentinel client guidelines). The handshake ends with ROLE, so a server that is no longer a
 * master (a stale answer) is never used: the attempt fails and the sentinels are asked again.
 *
 * Following a failover:
 * - A master that dies drops the connection; the client reconnects, asking the sentinels, until
 *   they name the promoted replica (within backoff_max_ms of their switch).
 * - A master that Sentinel demotes is told to close its clients (CLIENT KILL), which does the
 *   same; a ROLE check every check_ms catches one that was demoted without that.
 * - A sentinel (the first that answered; the next one when it goes away) is subscribed to
 *   "+switch-master": when it announces a new address of the master, the client drops its
 *   connection and connects there at once, asking that sentinel first.
 * Commands sent to the old master and not answered fail with -OCCO_ECONN (they may have run);
 * commands issued while no master is known wait in the client's queue (cmd_timeout_ms).
 *
 * When no sentinel answers, the attempt fails with an error that names each sentinel and what
 * went wrong with it ("no sentinel gave the address of master 'mymaster': sentinel
 * 10.0.0.1:26379: cannot connect: Connection refused; ..."); the client goes on trying.
 */
#ifndef OCCO_UTIL_REDIS_SENTINEL_H
#define OCCO_UTIL_REDIS_SENTINEL_H

#include <stddef.h>

#include <uv.h>

#include "occo/util/err.h"
#include "occo/util/redis.h"

/* At most this many sentinels. */
#define OCCO_REDIS_SENTINEL_MAX 32

struct occo_redis_sentinel_opts {
	const struct occo_redis_addr *sentinels; /* asked in turn; port 0: 26379 */
	size_t nsentinels;
	const char *master; /* the name the sentinels monitor the master under */
	const char *username; /* the sentinels' ACL user (AUTH user password), or NULL */
	const char *password; /* AUTH to the sentinels when set; secret: never logged, wiped */
	unsigned timeout_ms; /* one sentinel: connect and answer (1000) */
	unsigned check_ms; /* ask the connected master its ROLE this often (1000) */
};

/* Fill opts with the defaults above (no sentinels, no master name). */
void occo_redis_sentinel_opts_init(struct occo_redis_sentinel_opts *opts);

/*
 * Create a client of the master that sentinels name, as occo_redis_open() does: opts are as
 * there (addr, resolve, resolve_stop, resolve_ud and require_master are set by this function),
 * sopts say where the sentinels are; both are copied. Fails with -OCCO_EINVAL when there is no
 * sentinel, more than OCCO_REDIS_SENTINEL_MAX, a sentinel without an address, or no master name.
 * The client is closed with occo_redis_close(), which also stops everything of the Sentinel
 * lookup (the loop must run afterwards until its handles are closed, as for any client).
 */
int occo_redis_sentinel_open(uv_loop_t *loop, const struct occo_redis_opts *opts,
			     const struct occo_redis_sentinel_opts *sopts, struct occo_redis **out,
			     struct occo_err *err);

#endif
