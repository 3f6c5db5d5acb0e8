/*
 * health.h - health checks of nodes (OCCOPUS.md 4.6, 6.1): probes that measure, and a pure
 * tracker that turns their results into a node's health state (STYLE.md rule 7). What to do
 * about a failed node is the enactor's policy (plan.h, with its guard against mass
 * replacement); the infraprocessor (iproc.h) runs the checks and records the states.
 *
 * A check of one node runs the probes of its `health_check` section in Occopus's order and
 * stops at the first component that fails:
 *
 *   ping      (default true) one ICMP echo to the node's first address; no reply within the
 *             ping timeout (1 s, as Occopus's `ping -c 1 -W 1`) fails. Natively on one shared
 *             socket: a datagram ICMP socket where net.ipv4.ping_group_range allows it, else a
 *             raw one (root); without either, the `ping` program is run.
 *   ports     a TCP connection to each port of the address, each with a timeout (Occopus has
 *             none).
 *   urls      Jinja templates (context: ip, node_id, variables, instance_data), each sent an
 *             HTTP HEAD through the util HTTP client on a fresh connection; redirects are
 *             followed; a 2xx answer is up; 10 s timeout.
 *   mysqldbs  a real login to each database (name, user and pass are templates) with
 *             libmariadb's non-blocking API, so the loop never waits for the server; port
 *             3306 of the address. Passwords never reach a message or a log line.
 *
 * The probes of one component run at once; at most `max_concurrent` probes of all checks are
 * in flight, the rest wait in FIFO order. Nothing blocks the loop (a host name is resolved
 * with uv_getaddrinfo). A failed check says what failed as a user reads it:
 *   "port 8080 on 127.0.0.5: connection refused", "ping 10.231.7.2: no reply within 1 s",
 *   "url http://127.0.0.1:8080/health: HTTP 404"
 *
 * The tracker (hc_track_*) is pure: the time is an argument. A failing check starts a failing
 * period (its first failure's wall time is kept, with the count of consecutive failures, in
 * the <ns>:{<id>}:health hash so that it survives a restart); a passing check ends it. A node
 * is ready when its check passes, failed when it has been failing continuously for longer than
 * the section's `timeout` (600 s by default, as Occopus), and pending in between (also while
 * it is starting and has not passed yet).
 */
#ifndef OCCO_INFRAPROCESSOR_HEALTH_H
#define OCCO_INFRAPROCESSOR_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "occo/util/err.h"

struct occo_http;

/* ---- the tracker (pure) ---- */

enum hc_state {
	HC_PENDING = 0, /* not passed yet, or failing for no longer than the timeout */
	HC_READY = 1, /* the last check passed */
	HC_FAILED = 2, /* failing continuously for longer than the timeout */
};

/* "pending", "ready", "failed". */
const char *hc_state_name(enum hc_state s);

struct hc_track {
	uint64_t first_fail_ms; /* wall time of the failing period's first failure; 0: passing */
	unsigned fails; /* consecutive failed checks */
	unsigned passes; /* consecutive passed checks (not stored) */
};

#define HC_DEFAULT_TIMEOUT_MS (600u * 1000u)

/*
 * Take one result measured at `now_ms` (wall ms) and return the node's health state. A failing
 * period longer than `timeout_ms` is failed; a clock that went back counts as no time.
 */
enum hc_state hc_track_apply(struct hc_track *t, int ok, uint64_t now_ms, uint64_t timeout_ms);

/*
 * A track from its stored form {first_fail_ms, fails} (NULL or malformed data: a fresh track,
 * since bad data in the store must not fail a node).
 */
void hc_track_from_json(const json_t *v, struct hc_track *out);
/* The stored form of a failing track (new reference): {first_fail_ms, fails}. */
json_t *hc_track_to_json(const struct hc_track *t);

/* The failing period a node is allowed, from its health_check section: `timeout` s or 600 s. */
uint64_t hc_timeout_ms(const json_t *section);

/* ---- the checker ---- */

enum hc_ping_mode {
	HC_PING_AUTO = 0, /* datagram ICMP socket, else raw socket, else the ping program */
	HC_PING_DGRAM, /* only a datagram ICMP socket (tests) */
	HC_PING_RAW, /* only a raw socket (tests) */
	HC_PING_SPAWN, /* always run `ping -c 1 -W <s> <address>` */
};

/* Options: zero fields take the defaults in parentheses. */
struct hc_opts {
	unsigned max_concurrent; /* probes in flight at once, all checks (256, at most 65535) */
	unsigned ping_timeout_ms; /* (1000) */
	unsigned port_timeout_ms; /* a TCP connection (5000) */
	unsigned url_timeout_ms; /* one HEAD request, per redirect (10000) */
	unsigned mysql_timeout_ms; /* one login (10000) */
	unsigned mysql_port; /* (3306) */
	enum hc_ping_mode ping_mode;
};

/* One checker per loop; it holds the shared ICMP socket and the queue of probes. */
struct hc;

/*
 * Create a checker on `loop`. URL checks go through `http` (borrowed: it must outlive the
 * checker, and be closed after it). `opts` may be NULL.
 */
int hc_new(uv_loop_t *loop, struct occo_http *http, const struct hc_opts *opts, struct hc **out,
	   struct occo_err *err);

/*
 * Cancel every check in flight (their callbacks run now, with -OCCO_ECANCELED) and release the
 * checker. Memory is released from libuv close callbacks, so the loop must run afterwards.
 * NULL is fine.
 */
void hc_free(struct hc *h);

/* What is checked. Everything is borrowed for the call only. */
struct hc_target {
	const json_t *section; /* the node's health_check section; NULL: the defaults (ping) */
	const char *address; /* the node's first address; NULL when it has none */
	const char *node_id;
	const json_t *variables; /* the node's variables (templates), or NULL */
	const json_t *instance_data; /* the instance record (templates), or NULL */
};

/* The result of a check. Valid only during the callback. */
struct hc_result {
	int ok; /* every probe passed */
	const char *probe; /* the failed component: "ping", "ports", "urls", "mysqldbs"; or NULL */
	const char *message; /* what failed, in a user's words; NULL when ok */
};

/*
 * Called once per check: with the result (err NULL), or with res NULL and err -OCCO_ECANCELED
 * when the checker was freed first.
 */
typedef void (*hc_check_fn)(const struct hc_result *res, const struct occo_err *err, void *ud);

/*
 * Check a node. Templates are rendered now (a template that fails to render fails the check
 * when its component is reached). cb runs exactly once, later, on the loop; never when this
 * call fails (-OCCO_ESTATE: the checker is being freed).
 */
int hc_check(struct hc *h, const struct hc_target *t, hc_check_fn cb, void *ud,
	     struct occo_err *err);

/* Counters, for benchmarks and tests. */
struct hc_stats {
	uint64_t checks; /* checks completed (cancelled included) */
	uint64_t probes; /* probes started */
	unsigned running; /* probes in flight now */
	unsigned max_running; /* the most probes in flight at once so far */
	enum hc_ping_mode ping_mode; /* what pings use: HC_PING_AUTO before the first ping */
};

void hc_stats_get(const struct hc *h, struct hc_stats *out);

#endif
