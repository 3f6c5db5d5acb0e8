/*
 * copkg.h - the copkg package store of the local back-end (private to the resource handler).
 *
 * A copkg package is a zip holding bin/, etc/, lib/ and script.d/{start,stop}.sh, named by a
 * coordinate "group:artifact:version" and found in a repository (file:// or http://) at
 *
 *   <repository>/<group, '.' -> '/'>/<artifact>/<version>/<artifact>-<version>-copkg.zip
 *
 * The store fetches it once and unpacks it into
 * <state_dir>/packages/<group path>/<artifact>/<version>/, which is never modified afterwards;
 * the SHA-256 of the zip and where it came from are recorded beside it, in <version>.sha256
 * ("<hex>  <url>", as sha256sum writes it). The same coordinate fetched from another
 * repository must have the same bytes; different bytes are an error naming both digests.
 *
 * Concurrent requests for one package share one fetch: in-process by a table of fetches in
 * flight, across processes by flock(2) on <version>.lock beside the package (tried without
 * blocking, again on a timer). Reading and unpacking run on libuv's thread pool; the loop
 * never blocks.
 */
#ifndef OCCO_RH_COPKG_H
#define OCCO_RH_COPKG_H

#include <uv.h>

#include "occo/util/err.h"

struct occo_http;

/* Hard limits of a package (a zip from a repository is untrusted input). */
#define RH_COPKG_MAX_ZIP (256u << 20) /* bytes of the zip */
#define RH_COPKG_MAX_UNPACKED (1024ull << 20) /* bytes of all its files */
#define RH_COPKG_MAX_ENTRIES 10000u
#define RH_COPKG_MAX_PATH 1024u

/*
 * Check a coordinate "group:artifact:version": three non-empty parts of letters, digits, '.',
 * '_' and '-', none starting with '.', and no ".." in the group. 0 or -OCCO_EINVAL saying
 * what is wrong.
 */
int rh__copkg_coord_check(const char *coordinate, struct occo_err *err);

/* Check a repository URL: "file:///<absolute path>" or "http://<host>...". */
int rh__copkg_repo_check(const char *repository, struct occo_err *err);

/* The store of one state directory, used from one loop. */
struct rh__copkg;

/*
 * A store for <state_dir>/packages. `http` (may be NULL: http:// repositories then fail) and
 * what the pointers name must outlive it. Allocation failure aborts, so this cannot fail.
 */
struct rh__copkg *rh__copkg_new(uv_loop_t *loop, struct occo_http *http, const char *state_dir);

/*
 * Free the store. Requests still waiting never get their callback (rh__copkg_want_cancel
 * them first if they must); fetches in flight finish on the loop and release what is left
 * then, so the loop must run afterwards.
 */
void rh__copkg_free(struct rh__copkg *s);

/* Called once with the package directory (borrowed for the call), or with an error. */
typedef void (*rh__copkg_cb)(const char *dir, const struct occo_err *err, void *ud);

struct rh__copkg_want;

/*
 * Make sure the package of `coordinate` from `repository` is unpacked, then call cb (later, on
 * the loop, exactly once unless cancelled). *out (may be NULL) is the request, valid until its
 * callback runs or it is cancelled. Fails without calling cb on a bad coordinate or repository.
 */
int rh__copkg_get(struct rh__copkg *s, const char *coordinate, const char *repository,
		  rh__copkg_cb cb, void *ud, struct rh__copkg_want **out, struct occo_err *err);

/* Forget a request: its callback will not run. The fetch goes on for the others. */
void rh__copkg_want_cancel(struct rh__copkg_want *w);

#endif
