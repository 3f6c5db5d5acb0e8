/*
 * lease.h - which maintainer holds an infrastructure: <ns>:{<id>}:lease, a string holding the
 * holder's id, with an expiry (PX).
 *
 * A maintainer acquires the lease before a pass and renews it well within its time to live;
 * when it dies, the lease expires and another maintainer takes the infrastructure over. Every
 * operation is one atomic command (a Lua script comparing the holder): a maintainer never
 * renews or releases a lease another one holds.
 *
 * Not getting the lease is an outcome, not an error: the callback's `ok` says whether the
 * operation took effect and `holder` who holds the lease afterwards (NULL: nobody). Errors are
 * the client's (-OCCO_ECONN, ...) and unexpected replies (-OCCO_EPROTO).
 */
#ifndef OCCO_INFOBROKER_LEASE_H
#define OCCO_INFOBROKER_LEASE_H

#include "occo/util/err.h"
#include "occo/util/redis.h"

/*
 * Called once. ok: acquired / renewed / released / (ib_lease_holder) somebody holds it.
 * holder is borrowed: valid during the call.
 */
typedef void (*ib_lease_fn)(int ok, const char *holder, const struct occo_err *err, void *ud);

/* A new holder id, "<hostname>:<pid>:<8 random hex digits>" (malloc'd into *out). */
int ib_lease_holder_new(char **out, struct occo_err *err);

/*
 * Take the lease for ttl_ms when nobody holds it (SET PX when GET finds nothing, in one
 * script, which also answers who holds it otherwise); when `holder` holds it already, its
 * expiry is reset to ttl_ms and ok is 1 too. cb runs exactly once, later, on the loop;
 * never when this call fails (-OCCO_EINVAL: empty holder, ttl_ms 0; the client's errors).
 */
int ib_lease_acquire(struct occo_redis *r, const char *ns, const char *infra_id, const char *holder,
		     unsigned ttl_ms, ib_lease_fn cb, void *ud, struct occo_err *err);

/* Reset the expiry to ttl_ms, only if `holder` holds the lease (else ok = 0). As above. */
int ib_lease_renew(struct occo_redis *r, const char *ns, const char *infra_id, const char *holder,
		   unsigned ttl_ms, ib_lease_fn cb, void *ud, struct occo_err *err);

/* Give the lease up, only if `holder` holds it (else ok = 0). As above. */
int ib_lease_release(struct occo_redis *r, const char *ns, const char *infra_id, const char *holder,
		     ib_lease_fn cb, void *ud, struct occo_err *err);

/* Who holds the lease: ok = 1 and holder set, or ok = 0 and holder NULL. As above. */
int ib_lease_holder(struct occo_redis *r, const char *ns, const char *infra_id, ib_lease_fn cb,
		    void *ud, struct occo_err *err);

#endif
