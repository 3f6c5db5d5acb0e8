/*
 * health_port.c - the port probe: a TCP connection to one port of the node's address, within
 * the port timeout (Occopus waits as long as the system does). The connection is closed as
 * soon as it is made: a probe measures that a client can connect, nothing more.
 */
#include <string.h>

#include "health_int.h"

struct port_probe {
	struct hc__probe p;
	uv_tcp_t tcp;
	uv_connect_t req;
	uv_timer_t timer;
	int handles; /* open: the connection and the timer */
	int port;
};

static void closed(uv_handle_t *hd)
{
	struct port_probe *pp = hd->data;

	if (--pp->handles == 0)
		hc__probe_release(&pp->p);
}

static void end(struct port_probe *pp)
{
	if (!uv_is_closing((uv_handle_t *)&pp->tcp)) {
		uv_close((uv_handle_t *)&pp->tcp, closed);
		uv_close((uv_handle_t *)&pp->timer, closed);
	}
}

static void connected(uv_connect_t *req, int status)
{
	struct port_probe *pp = req->data;

	if (status == UV_ECANCELED)
		return; /* closed by the timer or a cancel, which reported */
	if (status == 0)
		hc__probe_done(&pp->p, 1, NULL);
	else
		hc__probe_done(&pp->p, 0, "port %d on %s: %s", pp->port, pp->p.c->ip,
			       uv_strerror(status));
	end(pp);
}

static void timed_out(uv_timer_t *t)
{
	struct port_probe *pp = t->data;
	char secs[24];

	hc__secs(pp->p.h->o.port_timeout_ms, secs);
	hc__probe_done(&pp->p, 0, "port %d on %s: no answer within %s", pp->port, pp->p.c->ip,
		       secs);
	end(pp);
}

static void start(struct hc__probe *p)
{
	struct port_probe *pp = (struct port_probe *)p;
	struct sockaddr_storage sa = p->c->sa;
	int rc;

	pp->port = p->c->ports[p->index];
	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)pp->port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)pp->port);
	uv_tcp_init(p->h->loop, &pp->tcp);
	uv_timer_init(p->h->loop, &pp->timer);
	pp->tcp.data = pp;
	pp->timer.data = pp;
	pp->req.data = pp;
	pp->handles = 2;
	rc = uv_tcp_connect(&pp->req, &pp->tcp, (const struct sockaddr *)&sa, connected);
	if (rc < 0) {
		hc__probe_done(p, 0, "port %d on %s: %s", pp->port, p->c->ip, uv_strerror(rc));
		end(pp);
		return;
	}
	uv_timer_start(&pp->timer, timed_out, p->h->o.port_timeout_ms, 0);
}

static void cancel(struct hc__probe *p)
{
	end((struct port_probe *)p);
}

static const struct hc__probe_ops ops = { start, cancel };

void hc__port_probe(struct hc__check *c, size_t index)
{
	hc__probe_new(c, sizeof(struct port_probe), &ops, index);
}
