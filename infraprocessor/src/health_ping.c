/*
 * health_ping.c - the ping probe: one ICMP echo request, a reply within the ping timeout.
 *
 * All pings of a checker share one socket, opened at the first ping: a datagram ICMP socket
 * (Linux "ping socket", allowed for the groups in net.ipv4.ping_group_range; the kernel sets the
 * echo id and hands us only replies to it), else a raw ICMP socket (root; every ICMP packet of
 * the host arrives, so replies are matched by our id and a random cookie in the payload). Both
 * match a reply to its request by sequence number and source address. The socket is watched
 * with a uv_poll while pings are in flight; each ping has its own timer. Without either socket,
 * or for an address that is not IPv4, the `ping` program is run (`ping -c 1 -W <s> -n <addr>`)
 * through util/proc.h.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "occo/util/id.h"
#include "occo/util/log.h"
#include "occo/util/proc.h"
#include "health_int.h"

#define NSEQ 65536
#define PAYLOAD 16
#define MAX_READS 4096 /* packets read in one wakeup at most */

struct hc__ping_probe {
	struct hc__probe p;
	struct sockaddr_in to;
	uint16_t seq;
	int inflight;
	int timer_open;
	uv_timer_t timer;
	struct occo_proc *proc;
};

static struct hc__ping_probe *pp_of(struct hc__probe *p)
{
	return (struct hc__ping_probe *)p;
}

static uint16_t checksum(const unsigned char *b, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)(b[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- the socket ---- */

static void poll_closed(uv_handle_t *hd)
{
	struct hc *h = hd->data;

	free(hd);
	hc__unref(h);
}

void hc__ping_close(struct hc *h)
{
	struct hc__ping_sock *s = &h->ping;

	if (s->poll) {
		uv_close((uv_handle_t *)s->poll, poll_closed);
		s->poll = NULL;
	}
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

static void take_reply(struct hc *h, const unsigned char *icmp, size_t n,
		       const struct sockaddr_in *from);

static void readable(uv_poll_t *poll, int status, int events)
{
	struct hc *h = poll->data;
	struct hc__ping_sock *s = &h->ping;
	unsigned char buf[1500];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	size_t off;
	int i;

	hc__ref(h);
	for (i = 0; i < MAX_READS && s->fd >= 0; i++) {
		fl = sizeof(from);
		n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			continue; /* an ICMP error reported on the socket; the timer tells */
		}
		off = 0;
		if (s->mode == HC_PING_RAW) {
			if (n < 20)
				continue;
			off = (size_t)(buf[0] & 0x0f) * 4;
		}
		if ((size_t)n < off + 8 + PAYLOAD || fl < sizeof(from) ||
		    from.sin_family != AF_INET)
			continue;
		take_reply(h, buf + off, (size_t)n - off, &from);
	}
	hc__unref(h);
}

/* Open the socket this host allows; 0 (mode set, maybe HC_PING_SPAWN) or an error. */
static int ping_open(struct hc *h, struct occo_err *err)
{
	struct hc__ping_sock *s = &h->ping;
	enum hc_ping_mode want = h->o.ping_mode;
	int fd = -1, e = 0, rcvbuf = 1 << 20;

	if (s->fd >= 0 || s->mode == HC_PING_SPAWN)
		return 0;
	if (want == HC_PING_SPAWN) {
		s->mode = HC_PING_SPAWN;
		return 0;
	}
	if (want == HC_PING_AUTO || want == HC_PING_DGRAM) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (fd >= 0)
			s->mode = HC_PING_DGRAM;
		else
			e = errno;
	}
	if (fd < 0 && (want == HC_PING_AUTO || want == HC_PING_RAW)) {
		fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (fd >= 0) {
			struct icmp_filter filt = { ~(1u << ICMP_ECHOREPLY) };

			s->mode = HC_PING_RAW;
			/* only echo replies reach us, not the host's other ICMP traffic */
			setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof(filt));
		} else {
			e = errno;
		}
	}
	if (fd < 0) {
		if (want != HC_PING_AUTO)
			return occo_err_sys(err, OCCO_EIO, e, "cannot open an ICMP socket");
		OCCO_DEBUG("no ICMP socket allowed: pings run the ping program",
			   OCCO_KV("error", strerror(e)));
		s->mode = HC_PING_SPAWN;
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (occo_random_bytes(s->cookie, sizeof(s->cookie), NULL) < 0 ||
	    occo_random_bytes(&s->ident, sizeof(s->ident), NULL) < 0)
		s->ident = (uint16_t)getpid();
	s->fd = fd;
	if (!s->inflight)
		s->inflight = occo_calloc(NSEQ, sizeof(*s->inflight));
	s->poll = occo_calloc(1, sizeof(*s->poll));
	if (uv_poll_init_socket(h->loop, s->poll, fd) < 0) {
		free(s->poll);
		s->poll = NULL;
		close(fd);
		s->fd = -1;
		return occo_err_set(err, OCCO_EIO, "cannot watch the ICMP socket");
	}
	s->poll->data = h;
	hc__ref(h); /* the poll handle's */
	return 0;
}

/* ---- one ping over the socket ---- */

static void timer_closed(uv_handle_t *hd)
{
	hc__probe_release(hd->data);
}

/* Take the probe out of the socket's table; stop watching when none is left. */
static void unregister(struct hc__ping_probe *pp)
{
	struct hc__ping_sock *s = &pp->p.h->ping;

	if (!pp->inflight)
		return;
	pp->inflight = 0;
	s->inflight[pp->seq] = NULL;
	if (--s->ninflight == 0 && s->poll)
		uv_poll_stop(s->poll);
}

static void end(struct hc__ping_probe *pp)
{
	unregister(pp);
	uv_close((uv_handle_t *)&pp->timer, timer_closed);
}

static void take_reply(struct hc *h, const unsigned char *icmp, size_t n,
		       const struct sockaddr_in *from)
{
	struct hc__ping_sock *s = &h->ping;
	struct hc__ping_probe *pp;
	uint16_t id = (uint16_t)(icmp[4] << 8 | icmp[5]);
	uint16_t seq = (uint16_t)(icmp[6] << 8 | icmp[7]);

	if (icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0 ||
	    memcmp(icmp + 8, s->cookie, sizeof(s->cookie)))
		return;
	if (s->mode == HC_PING_RAW && id != s->ident)
		return;
	pp = s->inflight[seq];
	if (!pp || pp->to.sin_addr.s_addr != from->sin_addr.s_addr)
		return;
	hc__probe_done(&pp->p, 1, NULL);
	end(pp);
}

static void timed_out(uv_timer_t *t)
{
	struct hc__ping_probe *pp = t->data;
	char secs[24];

	hc__secs(pp->p.h->o.ping_timeout_ms, secs);
	hc__probe_done(&pp->p, 0, "ping %s: no reply within %s", pp->p.c->ip, secs);
	end(pp);
}

static void send_echo(struct hc__ping_probe *pp)
{
	struct hc *h = pp->p.h;
	struct hc__ping_sock *s = &h->ping;
	unsigned char pkt[8 + PAYLOAD] = { ICMP_ECHO, 0 };
	uint16_t sum;
	unsigned i;

	for (i = 0; i < NSEQ && s->inflight[s->next_seq]; i++)
		s->next_seq++;
	if (i == NSEQ) {
		hc__probe_done(&pp->p, 0, "ping %s: too many pings in flight", pp->p.c->ip);
		uv_close((uv_handle_t *)&pp->timer, timer_closed);
		return;
	}
	pp->seq = s->next_seq++;
	pkt[4] = (unsigned char)(s->ident >> 8);
	pkt[5] = (unsigned char)s->ident;
	pkt[6] = (unsigned char)(pp->seq >> 8);
	pkt[7] = (unsigned char)pp->seq;
	memcpy(pkt + 8, s->cookie, sizeof(s->cookie));
	sum = checksum(pkt, sizeof(pkt));
	pkt[2] = (unsigned char)(sum >> 8);
	pkt[3] = (unsigned char)sum;
	if (sendto(s->fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)&pp->to, sizeof(pp->to)) <
	    0) {
		hc__probe_done(&pp->p, 0, "ping %s: %s", pp->p.c->ip,
			       uv_strerror(uv_translate_sys_error(errno)));
		uv_close((uv_handle_t *)&pp->timer, timer_closed);
		return;
	}
	s->inflight[pp->seq] = pp;
	pp->inflight = 1;
	if (s->ninflight++ == 0)
		uv_poll_start(s->poll, UV_READABLE, readable);
	uv_timer_start(&pp->timer, timed_out, h->o.ping_timeout_ms, 0);
}

/* ---- one ping through the program ---- */

static void exited(struct occo_proc *proc, int64_t status, int sig, int timed_out_, void *ud)
{
	struct hc__ping_probe *pp = ud;
	char secs[24];

	hc__secs(pp->p.h->o.ping_timeout_ms, secs);
	if (status == 0)
		hc__probe_done(&pp->p, 1, NULL);
	else
		hc__probe_done(&pp->p, 0, "ping %s: no reply within %s", pp->p.c->ip, secs);
	pp->proc = NULL;
	hc__probe_release(&pp->p);
}

static void spawn_ping(struct hc__ping_probe *pp)
{
	struct hc *h = pp->p.h;
	char secs[16];
	char *argv[] = { "ping", "-c", "1", "-W", secs, "-n", "-q", pp->p.c->ip, NULL };
	struct occo_proc_opts o = { 0 };
	struct occo_err err;

	/* -W takes whole seconds in older iputils */
	snprintf(secs, sizeof(secs), "%u", (h->o.ping_timeout_ms + 999) / 1000);
	o.argv = argv;
	o.timeout_ms = h->o.ping_timeout_ms + 2000;
	if (occo_proc_spawn(h->loop, &o, exited, pp, &pp->proc, &err) < 0) {
		hc__probe_done(&pp->p, 0, "ping %s: cannot run ping: %s", pp->p.c->ip, err.msg);
		hc__probe_release(&pp->p);
	}
}

/* ---- the probe ---- */

static void start(struct hc__probe *p)
{
	struct hc__ping_probe *pp = pp_of(p);
	struct hc *h = p->h;
	struct occo_err err;

	if (p->c->sa.ss_family != AF_INET || h->o.ping_mode == HC_PING_SPAWN) {
		spawn_ping(pp);
		return;
	}
	if (ping_open(h, &err) < 0) {
		hc__probe_done(p, 0, "ping %s: %s", p->c->ip, err.msg);
		hc__probe_release(p);
		return;
	}
	if (h->ping.mode == HC_PING_SPAWN) {
		spawn_ping(pp);
		return;
	}
	memcpy(&pp->to, &p->c->sa, sizeof(pp->to));
	pp->to.sin_port = 0;
	uv_timer_init(h->loop, &pp->timer);
	pp->timer.data = pp;
	pp->timer_open = 1;
	send_echo(pp);
}

static void cancel(struct hc__probe *p)
{
	struct hc__ping_probe *pp = pp_of(p);
	struct occo_err err;

	if (pp->proc) {
		occo_proc_kill(pp->proc, SIGKILL, &err); /* released when it has exited */
		return;
	}
	if (pp->timer_open && !uv_is_closing((uv_handle_t *)&pp->timer))
		end(pp);
}

static const struct hc__probe_ops ops = { start, cancel };

void hc__ping_probe(struct hc__check *c)
{
	hc__probe_new(c, sizeof(struct hc__ping_probe), &ops, 0);
}
