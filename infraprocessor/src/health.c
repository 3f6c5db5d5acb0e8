/*
 * health.c - the checker: checks walk their components, probes wait in one FIFO queue for a
 * slot (see health.h and health_int.h). The probes themselves are in health_<kind>.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/template.h"
#include "health_int.h"

#define DEFAULT_MAX_CONCURRENT 256
#define MAX_CONCURRENT 65535
#define DEFAULT_PING_MS 1000
#define DEFAULT_PORT_MS 5000
#define DEFAULT_URL_MS 10000
#define DEFAULT_MYSQL_MS 10000
#define DEFAULT_MYSQL_PORT 3306
#define MAX_RENDERED 8192 /* bytes of a rendered URL, database name, user or password */

static const char *const comp_names[HC__NCOMP] = { "ping", "ports", "urls", "mysqldbs" };

/* ---- lists ---- */

void hc__link_init(struct hc__link *l)
{
	l->prev = l;
	l->next = l;
}

void hc__link_add_tail(struct hc__link *head, struct hc__link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

void hc__link_del(struct hc__link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	hc__link_init(l);
}

/* ---- small things ---- */

void hc__secs(unsigned ms, char out[24])
{
	snprintf(out, 24, "%g s", ms / 1000.0);
}

void hc__scrub(char *msg, size_t size, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0, o = 0;
	const char *p = msg;
	char *tmp;

	if (!n || !size || !strstr(msg, secret))
		return;
	tmp = occo_calloc(1, size);
	while (o + 1 < size && *p) {
		if (!strncmp(p, secret, n)) {
			o += (size_t)snprintf(tmp + o, size - o, "***");
			p += n;
		} else {
			tmp[o++] = *p++;
		}
		if (o >= size)
			o = size - 1;
	}
	tmp[o] = '\0';
	memcpy(msg, tmp, o + 1);
	occo_wipe(tmp, size);
	free(tmp);
}

void hc__ref(struct hc *h)
{
	h->refs++;
}

void hc__unref(struct hc *h)
{
	if (--h->refs > 0)
		return;
	free(h->ping.inflight);
	free(h);
}

static void handle_closed(uv_handle_t *hd)
{
	hc__unref(hd->data);
}

/* ---- checks ---- */

static void free_results(struct hc__check *c)
{
	size_t i;

	for (i = 0; i < c->nresults; i++)
		free(c->msg[i]);
	free(c->msg);
	free(c->ok);
	c->msg = NULL;
	c->ok = NULL;
	c->nresults = 0;
}

static void check_unref(struct hc__check *c)
{
	size_t i;

	if (--c->refs > 0)
		return;
	free_results(c);
	free(c->address);
	free(c->ip);
	free(c->ports);
	for (i = 0; i < c->nurls; i++)
		free(c->urls[i]);
	free(c->urls);
	for (i = 0; i < c->ndbs; i++) {
		free(c->dbs[i].name);
		free(c->dbs[i].user);
		occo_free_secret(c->dbs[i].pass);
	}
	free(c->dbs);
	for (i = 0; i < HC__NCOMP; i++)
		free(c->render_error[i]);
	hc__unref(c->h);
	free(c);
}

/* Call the callback (once) and let go of the check. */
static void check_finish(struct hc__check *c, int ok, int comp, const char *msg)
{
	struct hc_result res = { ok, ok ? NULL : comp_names[comp], ok ? NULL : msg };

	if (c->finished)
		return;
	c->finished = 1;
	hc__link_del(&c->link);
	c->h->stats.checks++;
	c->cb(&res, NULL, c->ud);
	check_unref(c);
}

static void check_cancel(struct hc__check *c)
{
	struct occo_err err;

	if (c->finished)
		return;
	c->finished = 1;
	hc__link_del(&c->link);
	c->h->stats.checks++;
	occo_err_set(&err, OCCO_ECANCELED, "health check cancelled: the checker was closed");
	c->cb(NULL, &err, c->ud);
	check_unref(c);
}

/* Items of a component (render errors count as one: the component fails with it). */
static size_t comp_items(const struct hc__check *c, int comp)
{
	if (c->render_error[comp])
		return 1;
	switch (comp) {
	case HC__PING:
		return c->ping ? 1 : 0;
	case HC__PORTS:
		return c->nports;
	case HC__URLS:
		return c->nurls;
	case HC__DBS:
		return c->ndbs;
	}
	return 0;
}

static void pump(struct hc *h);

/* Go on to the next component that has something to probe, or finish. */
static void check_advance(struct hc__check *c)
{
	size_t n, i;

	free_results(c);
	while (++c->comp < HC__NCOMP) {
		n = comp_items(c, c->comp);
		if (!n)
			continue;
		if (c->render_error[c->comp]) {
			check_finish(c, 0, c->comp, c->render_error[c->comp]);
			return;
		}
		if (c->comp != HC__URLS && !c->ip) {
			char msg[64];

			snprintf(msg, sizeof(msg), "%s: the node has no address",
				 comp_names[c->comp]);
			check_finish(c, 0, c->comp, msg);
			return;
		}
		c->nresults = n;
		c->outstanding = n;
		c->ok = occo_calloc(n, sizeof(*c->ok));
		c->msg = occo_calloc(n, sizeof(*c->msg));
		for (i = 0; i < n; i++) {
			switch (c->comp) {
			case HC__PING:
				hc__ping_probe(c);
				break;
			case HC__PORTS:
				hc__port_probe(c, i);
				break;
			case HC__URLS:
				hc__url_probe(c, i);
				break;
			case HC__DBS:
				hc__db_probe(c, i);
				break;
			}
		}
		return;
	}
	check_finish(c, 1, 0, NULL);
}

/* The address as a socket address; 0, or -1 when it is not numeric. */
static int parse_ip(const char *s, struct sockaddr_storage *sa)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct hc__check *c = req->data;
	struct hc *h = c->h;
	char ip[INET6_ADDRSTRLEN] = "", msg[512];

	c->resolving = 0;
	if (status == 0 && res) {
		memcpy(&c->sa, res->ai_addr, res->ai_addrlen);
		if (res->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip,
				  sizeof(ip));
		else
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, ip,
				  sizeof(ip));
		c->ip = occo_strdup(ip);
	}
	uv_freeaddrinfo(res);
	if (!c->finished && !h->closing) {
		hc__ref(h);
		if (!c->ip) {
			snprintf(msg, sizeof(msg), "address '%s': cannot resolve: %s", c->address,
				 uv_strerror(status));
			/* the first component that needs an address fails with it */
			check_finish(c, 0,
				     c->ping	 ? HC__PING
				     : c->nports ? HC__PORTS
						 : HC__DBS,
				     msg);
		} else {
			check_advance(c);
		}
		pump(h);
		hc__unref(h);
	}
	check_unref(c);
}

static void check_start(struct hc__check *c)
{
	struct hc *h = c->h;
	struct addrinfo hints;
	int rc;

	hc__link_add_tail(&h->checks, &c->link);
	if (c->address && !c->ip && (c->ping || c->nports || c->ndbs)) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		c->gai.data = c;
		c->resolving = 1;
		c->refs++;
		rc = uv_getaddrinfo(h->loop, &c->gai, resolved, c->address, NULL, &hints);
		if (rc == 0)
			return;
		c->resolving = 0;
		c->refs--;
	}
	check_advance(c);
}

/* ---- the probe queue ---- */

struct hc__probe *hc__probe_new(struct hc__check *c, size_t size, const struct hc__probe_ops *ops,
				size_t index)
{
	struct hc__probe *p = occo_calloc(1, size);

	p->h = c->h;
	p->c = c;
	p->ops = ops;
	p->index = index;
	c->refs++;
	hc__ref(c->h);
	hc__link_add_tail(&c->h->queue, &p->link);
	return p;
}

void hc__probe_release(struct hc__probe *p)
{
	struct hc__check *c = p->c;
	struct hc *h = p->h;

	free(p);
	check_unref(c);
	hc__unref(h);
}

void hc__probe_done(struct hc__probe *p, int ok, const char *fmt, ...)
{
	struct hc__check *c = p->c;
	struct hc *h = p->h;
	va_list ap;
	size_t i;

	if (p->done)
		return;
	p->done = 1;
	hc__link_del(&p->link);
	h->running--;
	if (c->finished || h->closing)
		return;
	c->ok[p->index] = ok;
	if (!ok) {
		va_start(ap, fmt);
		c->msg[p->index] = occo_vasprintf(fmt, ap);
		va_end(ap);
	}
	hc__ref(h);
	if (--c->outstanding == 0) {
		for (i = 0; i < c->nresults && c->ok[i]; i++)
			;
		c->refs++;
		if (i < c->nresults)
			check_finish(c, 0, c->comp, c->msg[i]);
		else
			check_advance(c);
		check_unref(c);
	}
	pump(h); /* the slot is free for the next probe waiting */
	hc__unref(h);
}

/* Start queued probes while slots are free. */
static void pump(struct hc *h)
{
	struct hc__probe *p;

	if (h->pumping)
		return;
	h->pumping = 1;
	hc__ref(h);
	while (!h->closing && h->running < h->o.max_concurrent && h->queue.next != &h->queue) {
		p = HC__ENTRY(h->queue.next, struct hc__probe, link);
		hc__link_del(&p->link);
		hc__link_add_tail(&h->running_list, &p->link);
		h->running++;
		if (h->running > h->stats.max_running)
			h->stats.max_running = h->running;
		h->stats.probes++;
		p->started = 1;
		p->ops->start(p);
	}
	h->pumping = 0;
	hc__unref(h);
}

static void kicked(uv_timer_t *t)
{
	struct hc *h = t->data;
	struct hc__check *c;

	h->kick_armed = 0;
	hc__ref(h);
	while (!h->closing && h->starting.next != &h->starting) {
		c = HC__ENTRY(h->starting.next, struct hc__check, link);
		hc__link_del(&c->link);
		check_start(c);
	}
	pump(h);
	hc__unref(h);
}

/* ---- the public side ---- */

int hc_new(uv_loop_t *loop, struct occo_http *http, const struct hc_opts *opts, struct hc **out,
	   struct occo_err *err)
{
	struct hc *h = occo_calloc(1, sizeof(*h));

	h->loop = loop;
	h->http = http;
	if (opts)
		h->o = *opts;
	if (!h->o.max_concurrent)
		h->o.max_concurrent = DEFAULT_MAX_CONCURRENT;
	if (h->o.max_concurrent > MAX_CONCURRENT)
		h->o.max_concurrent = MAX_CONCURRENT;
	h->o.ping_timeout_ms = h->o.ping_timeout_ms ?: DEFAULT_PING_MS;
	h->o.port_timeout_ms = h->o.port_timeout_ms ?: DEFAULT_PORT_MS;
	h->o.url_timeout_ms = h->o.url_timeout_ms ?: DEFAULT_URL_MS;
	h->o.mysql_timeout_ms = h->o.mysql_timeout_ms ?: DEFAULT_MYSQL_MS;
	h->o.mysql_port = h->o.mysql_port ?: DEFAULT_MYSQL_PORT;
	if (h->o.mysql_port > 65535 || h->o.ping_mode > HC_PING_SPAWN) {
		free(h);
		return occo_err_set(err, OCCO_EINVAL, "bad health check options");
	}
	hc__link_init(&h->starting);
	hc__link_init(&h->checks);
	hc__link_init(&h->queue);
	hc__link_init(&h->running_list);
	h->ping.fd = -1;
	if (h->o.ping_mode == HC_PING_SPAWN)
		h->ping.mode = HC_PING_SPAWN;
	h->refs = 2; /* the owner's and the kick timer's */
	uv_timer_init(loop, &h->kick);
	h->kick.data = h;
	*out = h;
	return 0;
}

void hc_free(struct hc *h)
{
	struct hc__link *l, *next;

	if (!h || h->closing)
		return;
	h->closing = 1;
	hc__ref(h);
	while (h->starting.next != &h->starting)
		check_cancel(HC__ENTRY(h->starting.next, struct hc__check, link));
	while (h->checks.next != &h->checks) {
		struct hc__check *c = HC__ENTRY(h->checks.next, struct hc__check, link);

		if (c->resolving)
			uv_cancel((uv_req_t *)&c->gai);
		check_cancel(c);
	}
	while (h->queue.next != &h->queue) {
		struct hc__probe *p = HC__ENTRY(h->queue.next, struct hc__probe, link);

		hc__link_del(&p->link);
		hc__probe_release(p);
	}
	for (l = h->running_list.next; l != &h->running_list; l = next) {
		struct hc__probe *p = HC__ENTRY(l, struct hc__probe, link);

		next = l->next;
		hc__link_del(&p->link);
		p->done = 1;
		p->ops->cancel(p);
	}
	h->running = 0;
	uv_close((uv_handle_t *)&h->kick, handle_closed);
	hc__ping_close(h);
	h->refs--; /* the owner's (ours is still held) */
	hc__unref(h); /* ours */
}

void hc_stats_get(const struct hc *h, struct hc_stats *out)
{
	*out = h->stats;
	out->running = h->running;
	out->ping_mode = h->ping.mode;
}

/* Render one template; on failure *errmsg gets "<what>: <error>" (unless set already). */
static char *render(const char *what, const json_t *tmpl, const json_t *ctx, char **errmsg)
{
	struct occo_buf b;
	struct occo_err e;

	if (*errmsg)
		return NULL;
	if (!json_is_string(tmpl)) {
		*errmsg = occo_asprintf("%s: not a string", what);
		return NULL;
	}
	occo_buf_init(&b, MAX_RENDERED);
	if (occo_tmpl_render_string(what, json_string_value(tmpl), ctx, NULL, &b, &e) < 0) {
		occo_buf_release(&b);
		*errmsg = occo_asprintf("%s", e.msg);
		return NULL;
	}
	return occo_buf_detach(&b, NULL);
}

/* Read the section into the check, rendering its templates. */
static void check_read(struct hc__check *c, const struct hc_target *t)
{
	const json_t *sec = t->section, *v, *x;
	json_t *ctx;
	char what[64];
	size_t i;

	v = json_object_get(sec, "ping");
	c->ping = !json_is_boolean(v) || json_is_true(v);

	v = json_object_get(sec, "ports");
	if (v && !json_is_array(v))
		c->render_error[HC__PORTS] = occo_strdup("ports: not a list");
	c->ports = occo_calloc(json_array_size(v) + 1, sizeof(*c->ports));
	json_array_foreach (v, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 1 ||
		    json_integer_value(x) > 65535) {
			if (!c->render_error[HC__PORTS])
				c->render_error[HC__PORTS] = occo_asprintf(
					"ports: item %zu is not a port number (1-65535)", i + 1);
			continue;
		}
		c->ports[c->nports++] = (int)json_integer_value(x);
	}

	ctx = json_pack("{s:s?,s:s?,s:O?,s:O?}", "ip", t->address, "node_id", t->node_id,
			"variables", t->variables, "instance_data", t->instance_data);
	if (!ctx)
		ctx = json_object();
	v = json_object_get(sec, "urls");
	if (v && !json_is_array(v))
		c->render_error[HC__URLS] = occo_strdup("urls: not a list");
	c->urls = occo_calloc(json_array_size(v) + 1, sizeof(*c->urls));
	json_array_foreach (v, i, x) {
		char *u;

		snprintf(what, sizeof(what), "urls[%zu]", i + 1);
		u = render(what, x, ctx, &c->render_error[HC__URLS]);
		if (u)
			c->urls[c->nurls++] = u;
	}

	v = json_object_get(sec, "mysqldbs");
	if (v && !json_is_array(v))
		c->render_error[HC__DBS] = occo_strdup("mysqldbs: not a list");
	c->dbs = occo_calloc(json_array_size(v) + 1, sizeof(*c->dbs));
	json_array_foreach (v, i, x) {
		struct hc__db *d = &c->dbs[c->ndbs];

		snprintf(what, sizeof(what), "mysqldbs[%zu].name", i + 1);
		d->name = render(what, json_object_get(x, "name"), ctx, &c->render_error[HC__DBS]);
		snprintf(what, sizeof(what), "mysqldbs[%zu].user", i + 1);
		d->user = render(what, json_object_get(x, "user"), ctx, &c->render_error[HC__DBS]);
		snprintf(what, sizeof(what), "mysqldbs[%zu].pass", i + 1);
		d->pass = render(what, json_object_get(x, "pass"), ctx, &c->render_error[HC__DBS]);
		if (d->name && d->user && d->pass) {
			c->ndbs++;
		} else {
			free(d->name);
			free(d->user);
			occo_free_secret(d->pass);
			memset(d, 0, sizeof(*d));
		}
	}
	json_decref(ctx);
}

int hc_check(struct hc *h, const struct hc_target *t, hc_check_fn cb, void *ud,
	     struct occo_err *err)
{
	struct hc__check *c;

	if (h->closing)
		return occo_err_set(err, OCCO_ESTATE, "the health checker is closing");
	c = occo_calloc(1, sizeof(*c));
	c->h = h;
	c->cb = cb;
	c->ud = ud;
	c->refs = 1;
	c->comp = -1;
	hc__ref(h);
	if (t->address && *t->address) {
		c->address = occo_strdup(t->address);
		if (parse_ip(t->address, &c->sa) == 0)
			c->ip = occo_strdup(t->address);
	}
	check_read(c, t);
	hc__link_add_tail(&h->starting, &c->link);
	if (!h->kick_armed) {
		h->kick_armed = 1;
		uv_timer_start(&h->kick, kicked, 0, 0);
	}
	return 0;
}
