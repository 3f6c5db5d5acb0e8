/*
 * health_int.h - internals of the checker shared by health.c (checks, the probe queue) and the
 * probes: health_ping.c, health_port.c, health_url.c, health_mysql.c.
 *
 * A check walks the components ping -> ports -> urls -> mysqldbs. For the current component it
 * makes one probe per item and queues them; the queue starts probes while fewer than
 * max_concurrent are in flight. A probe measures and reports once (hc__probe_done), then lets
 * go of its handles and, when they are closed, of itself (hc__probe_release). A check is freed
 * when its callback ran and its last probe was released, so a late probe finds it still there.
 */
#ifndef OCCO_INFRAPROCESSOR_HEALTH_INT_H
#define OCCO_INFRAPROCESSOR_HEALTH_INT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "occo/infraprocessor/health.h"

/* An intrusive doubly linked circular list (a head points to itself when empty). */
struct hc__link {
	struct hc__link *prev, *next;
};

void hc__link_init(struct hc__link *l);
void hc__link_add_tail(struct hc__link *head, struct hc__link *l);
void hc__link_del(struct hc__link *l);

#define HC__ENTRY(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

enum hc__comp { HC__PING = 0, HC__PORTS, HC__URLS, HC__DBS, HC__NCOMP };

struct hc__db {
	char *name, *user, *pass; /* rendered; pass is wiped when freed */
};

struct hc__check {
	struct hc *h;
	struct hc__link link; /* h->checks, or h->starting before it started */
	hc_check_fn cb;
	void *ud;
	int refs; /* 1 until the callback ran, + 1 per probe alive */
	int finished; /* the callback ran */
	int comp; /* the component being probed, -1 before the first */
	char *address; /* as given (for messages and templates); NULL: none */
	char *ip; /* the numeric address, once resolved */
	struct sockaddr_storage sa; /* ip as a socket address (port 0) */
	int resolving;
	uv_getaddrinfo_t gai;
	int ping;
	int *ports;
	size_t nports;
	char **urls;
	size_t nurls;
	struct hc__db *dbs;
	size_t ndbs;
	char *render_error[HC__NCOMP]; /* a template of the component did not render */
	/* results of the current component's probes, by index */
	size_t outstanding;
	size_t nresults;
	int *ok;
	char **msg;
};

struct hc__probe;

struct hc__probe_ops {
	/* start measuring; report with hc__probe_done (possibly at once) */
	void (*start)(struct hc__probe *p);
	/* the checker is being freed: report (done is ignored then) and let go soon */
	void (*cancel)(struct hc__probe *p);
};

/* The head of every probe; each kind embeds it first. */
struct hc__probe {
	struct hc__link link; /* h->queue while waiting, h->running_list while running */
	struct hc *h;
	struct hc__check *c;
	const struct hc__probe_ops *ops;
	size_t index; /* which item of the component */
	int started;
	int done;
};

/* The shared ICMP socket (health_ping.c). */
struct hc__ping_sock {
	enum hc_ping_mode mode; /* what works here: AUTO until the first ping */
	int fd;
	uv_poll_t *poll;
	uint16_t ident; /* the echo id (raw socket; the kernel sets it on a datagram socket) */
	uint16_t next_seq;
	unsigned char cookie[8]; /* in every request's payload */
	struct hc__ping_probe **inflight; /* by sequence number, 65536 slots */
	unsigned ninflight;
};

struct hc {
	uv_loop_t *loop;
	struct occo_http *http;
	struct hc_opts o;
	struct hc__link starting; /* checks submitted, not started */
	struct hc__link checks; /* checks started */
	struct hc__link queue; /* probes waiting for a slot */
	struct hc__link running_list; /* probes holding a slot */
	unsigned running;
	uv_timer_t kick;
	int kick_armed;
	int pumping;
	int refs; /* 1 (the owner's) + 1 per probe and check alive + 1 per open handle */
	int closing;
	struct hc__ping_sock ping;
	struct hc_stats stats;
};

void hc__ref(struct hc *h);
void hc__unref(struct hc *h);

/*
 * Make a probe of `size` bytes (its kind's struct, head first) for item `index` of check c and
 * queue it. The queue starts it when a slot is free.
 */
struct hc__probe *hc__probe_new(struct hc__check *c, size_t size, const struct hc__probe_ops *ops,
				size_t index);

/*
 * The probe measured: ok, or failed with a message (printf-style). Only the first report
 * counts; the slot is freed at once.
 */
void hc__probe_done(struct hc__probe *p, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The probe let go of everything: free it. */
void hc__probe_release(struct hc__probe *p);

/* Make and queue the probes of a component: the ping, or item `index` of the list. */
void hc__ping_probe(struct hc__check *c);
void hc__port_probe(struct hc__check *c, size_t index);
void hc__url_probe(struct hc__check *c, size_t index);
void hc__db_probe(struct hc__check *c, size_t index);

/* Close the ICMP socket (hc_free). */
void hc__ping_close(struct hc *h);

/* "1 s", "1.5 s": a timeout as a message says it. */
void hc__secs(unsigned ms, char out[24]);

/* Replace every occurrence of `secret` (when not empty) in msg (of `size` bytes) by "***". */
void hc__scrub(char *msg, size_t size, const char *secret);

#endif
