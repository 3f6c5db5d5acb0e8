/*
 * nova.c - OpenStack: servers through Nova, floating IPs through Neutron, Keystone v3 tokens.
 *
 * Credentials (auth_data): `username` and `password` (password auth in the domain
 * `user_domain_name`, default "Default", scoped to the project `project_id`), or
 * `type: application_credential` with `id` and `secret`. A token is asked for once per
 * endpoint, region, project and credentials (a "group"), kept until 5 minutes before it
 * expires, and asked for again at once when a service answers 401. Its catalog gives the
 * compute, network and volume endpoints (public interface, in `region_name` when set).
 * `endpoint` is Keystone's; one without a /vN path gets /v3.
 *
 *   create  a lookup of the node's token first (a retry, or a build killed after the cloud
 *           was asked, meets its server and adopts it); otherwise POST /servers with the
 *           flavor found by name (or id), the image, base64 user data, `key_name`,
 *           `security_groups`, the network `network_id` (else "auto": the cloud's choice),
 *           metadata naming the infrastructure, the node, its id and its token, and the tags
 *           occopus-infra-<infra id> and occopus-token-<token> (what lists filter on). With
 *           `volume_size` the server boots from a new volume (size 0: the flavor's disk),
 *           deleted with the server unless `volume_persist`; a cloud whose catalog has no
 *           volume service is an error. With `floating_ip` the create waits until the
 *           server has a port (watching that the server does not go to ERROR meanwhile),
 *           then allocates a floating IP on the external network
 *           `floating_ip_pool` (else the first external one) for that port, described
 *           "occopus <token>" so that it is found again; while none is free it tries again
 *           (OCCOPUS_NOVA_FIP_TRIES times, default 60, OCCOPUS_NOVA_FIP_WAIT_MS apart,
 *           default 10000, as Occopus), then deletes the server and fails.
 *   drop    DELETE /servers/<id> (without an id: of every server the token tag names), and
 *           with `floating_ip` the release of the floating IPs described with the token. A
 *           server that is gone counts as dropped.
 *   list    one GET /servers/detail?tags=occopus-infra-<id> (pages followed), and when a
 *           server wants a floating IP (its metadata occopus_floating_ip_pool) one GET of the
 *           project's floating IPs. BUILD and the other busy states are pending, ACTIVE ready,
 *           ERROR failed (with the fault's message: Nova's list omits the fault of a server
 *           that never left cell0, so such a server is asked for it alone), DELETED,
 *           SOFT_DELETED and SHUTOFF shutdown, PAUSED, SUSPENDED, SHELVED* temp_failed.
 *           Addresses: the floating IPs first, then the fixed ones. An ACTIVE server that
 *           wants a floating IP and has none (a build killed before it was associated: the
 *           engine adopts the server by its token) gets one before the list answers.
 *
 * Calls are shared: the token lookups of the creates and drops waiting at a moment go out as
 * one GET /servers/detail?tags-any=... (up to MAX_BATCH tokens), the port waits of the creates
 * as one GET /v2.0/ports?device_id=..., and a group asks for its flavors once.
 *
 * Errors carry the service's own message (Nova's "message", Neutron's NeutronError, Keystone's
 * error): quota exceeded, "No valid host was found", bad credentials. 429, 502, 503, 504 and
 * transport failures are transient (the core retries). Every call names its microversion
 * (compute 2.52). Passwords, secrets and tokens are never logged nor put in a message.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/http.h"
#include "occo/util/json.h"
#include "occo/util/log.h"
#include "../jobs.h"
#include "../rh_int.h"
#include "ec2_query.h" /* base64 */

#define MICROVERSION "2.52"
#define MAX_BATCH 40 /* tokens or servers in one shared call */
#define MAX_USER_DATA 65535 /* what Nova takes, before base64 */
#define SMALL_BODY (4u << 20)
#define LIST_BODY (64u << 20)
#define PAGE_LIMIT 1000
#define MAX_PAGES 100
#define RENEW_S 300 /* a token is renewed this long before it expires */
#define PORT_WAIT_MS 500
#define PORT_TRIES 240
#define DEF_FIP_TRIES 60
#define DEF_FIP_WAIT_MS 10000
#define MAX_WORDS 500 /* bytes of a service's message we quote */
#define TAG_INFRA "occopus-infra-"
#define TAG_TOKEN "occopus-token-"
#define MD_INFRA "occopus_infra_id"
#define MD_NODE "occopus_node_name"
#define MD_NODE_ID "occopus_node_id"
#define MD_TOKEN "occopus_token"
#define MD_FIP "occopus_floating_ip_pool" /* the server wants a floating IP ("": any pool) */
#define FIP_DESC "occopus "

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "image_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "flavor_name", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "project_id", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "server_name", 0, COMP_T_STR, 0 },
	{ "key_name", 0, COMP_T_STR, 0 },
	{ "security_groups", 0, COMP_T_LIST, COMP_T_STR },
	{ "floating_ip", 0, COMP_T_ANY, 0 },
	{ "floating_ip_pool", 0, COMP_T_STR, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "tenant_name", 0, COMP_T_STR, 0 },
	{ "user_domain_name", 0, COMP_T_STR, 0 },
	{ "network_id", 0, COMP_T_STR, 0 },
	{ "region_name", 0, COMP_T_STR, 0 },
	{ "volume_size", 0, COMP_T_INT | COMP_T_STR, 0 },
	{ "volume_persist", 0, COMP_T_BOOL, 0 },
	{ NULL, 0, 0, 0 },
};

/* The value of volume_size, or -1 when it is not a number >= 0. */
static long long volume_size(const json_t *v)
{
	long long n;
	char *end;

	if (json_is_integer(v))
		return json_integer_value(v) < 0 ? -1 : (long long)json_integer_value(v);
	if (!json_is_string(v) || !json_string_length(v))
		return -1;
	n = strtoll(json_string_value(v), &end, 10);
	return *end || n < 0 ? -1 : n;
}

/* volume_size: an integer >= 0, also when written as a string (Occopus converts it). */
static void check(struct comp_check *c, const json_t *sec)
{
	const json_t *v = json_object_get(sec, "volume_size");
	long long n;
	char *end;

	if (!v)
		return;
	if (json_is_string(v)) {
		n = strtoll(json_string_value(v), &end, 10);
		if (!json_string_length(v) || *end) {
			comp_check_error(c, sec, "volume_size",
					 "could not convert volume_size value \"%s\" to integer",
					 json_string_value(v));
			return;
		}
	} else {
		n = (long long)json_integer_value(v);
	}
	if (n < 0)
		comp_check_error(c, sec, "volume_size",
				 "negative numbers for volume_size are prohibited");
}

static const struct comp_schema schema = { "resource", "nova", keys, check };

/* ---- state ---- */

enum svc { S_IDENTITY, S_COMPUTE, S_NETWORK };

struct job;
struct call;

/* One Keystone endpoint, region, project and set of credentials. */
struct grp {
	struct grp *next;
	char *auth_url, *project, *region, *user, *domain, *secret;
	int appcred;
	char *token; /* secret */
	time_t expires;
	char *compute, *network, *volume; /* from the catalog */
	int auth_busy;
	struct call *auth_wait, *auth_wait_tail; /* calls waiting for a token */
	json_t *flavors; /* [{id, name, disk}] once known */
	int flavors_busy;
	struct rh__jobq flavor_wait;
	json_t *pools; /* floating IP pool name ("" for the default) -> network id */
	struct rh__batch look, ports; /* creates/drops waiting for a token lookup, for a port */
};

struct delay;

struct nova {
	struct occo_http *http;
	uv_loop_t *loop;
	struct grp *groups;
	struct delay *delays;
	json_t *busy; /* token -> creates and repairs of it under way here */
	struct rh__flush flush; /* sends what the batches hold */
	unsigned fip_tries, fip_wait_ms;
	int refs; /* the core's (until stop), the timer's, one per call and delay */
	int stopped;
};

/* One request (jobs.h), or a repair of a list's server (no request of its own). */
struct job {
	struct rh__job base;
	struct nova *nv;
	struct grp *grp;
	int want_fip;
	char *server; /* create: the server (made or adopted) */
	char *port; /* create: its port */
	char **ids; /* drop: the servers to delete */
	size_t nids, next_id;
	unsigned tries; /* create: port lookups */
	unsigned fip_tries; /* create: floating IP allocations */
	json_t *servers; /* list: what the pages said */
	unsigned pages;
	char *token, *pool; /* the node's token, its floating_ip_pool ("": the default) */
	struct job *parent; /* a repair of a list (no request of its own) */
	unsigned repairs; /* list: repairs under way */
	int repaired; /* list: the answer was prepared once (repairs are not made twice) */
	int refetch; /* list: floating IPs were repaired, ask for them again */
	json_t *fips; /* list: the floating IPs */
	int watching; /* create: in the lookup for its server's state (watch_done) */
};

typedef void (*call_done_fn)(struct call *c, int status, json_t *js, const struct occo_err *err);

/* One HTTP call, with the jobs it serves. */
struct call {
	struct nova *nv;
	struct grp *grp;
	enum svc svc;
	char *method, *url, *body; /* url: relative to the service's endpoint */
	size_t body_len;
	size_t max_body;
	int no_retry, reauthed;
	struct job **jobs;
	size_t njobs;
	call_done_fn done;
	struct call *qnext;
};

struct delay {
	uv_timer_t t;
	struct nova *nv;
	struct job *job;
	void (*fn)(struct job *job);
	struct delay *prev, *next;
};

static const char *str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void nova_unref(struct nova *nv)
{
	struct grp *g, *next;

	if (--nv->refs > 0)
		return;
	for (g = nv->groups; g; g = next) {
		next = g->next;
		free(g->auth_url);
		free(g->project);
		free(g->region);
		occo_free_secret(g->user);
		free(g->domain);
		occo_free_secret(g->secret);
		occo_free_secret(g->token);
		free(g->compute);
		free(g->network);
		free(g->volume);
		json_decref(g->flavors);
		json_decref(g->pools);
		free(g);
	}
	json_decref(nv->busy);
	free(nv);
}

/* Count a token in or out of the creates under way (a list does not repair those). */
static void busy_add(struct nova *nv, const char *token, int d)
{
	json_int_t n;

	if (!token || !*token)
		return;
	n = json_integer_value(json_object_get(nv->busy, token)) + d;
	if (n > 0)
		json_object_set_new(nv->busy, token, json_integer(n));
	else
		json_object_del(nv->busy, token);
}

/* The job still has someone to answer: its request, or the list it repairs for. */
static int job_live(const struct rh__job *base)
{
	const struct job *job = (const struct job *)base;

	return job->base.req || (job->parent && job->parent->base.req);
}

/* A create's request is over: its token is no longer under way here. */
static void job_take(struct rh__job *base)
{
	struct job *job = (struct job *)base;

	if (job->base.kind == RH__JOB_CREATE)
		busy_add(job->nv, job->token, -1);
}

static void job_free(struct rh__job *base)
{
	struct job *job = (struct job *)base;
	size_t i;

	for (i = 0; i < job->nids; i++)
		free(job->ids[i]);
	free(job->ids);
	free(job->server);
	free(job->port);
	json_decref(job->servers);
	json_decref(job->fips);
	free(job->token);
	free(job->pool);
	if (job->parent)
		rh__job_unref(&job->parent->base);
	free(job);
}

static const struct rh__job_ops job_ops = { .free = job_free, .take = job_take, .live = job_live };

/* ---- completing requests ---- */

static void repair_done(struct job *list);

static void job_fail(struct job *job, const struct occo_err *err, unsigned flags)
{
	if (job->parent && job->token) {
		OCCO_WARN("nova: associating a missing floating IP failed",
			  OCCO_KV("server", job->server), OCCO_KV("error", err->msg));
		busy_add(job->nv, job->token, -1);
		free(job->token);
		job->token = NULL; /* once */
		repair_done(job->parent);
		rh__job_unref(&job->base);
		return;
	}
	rh__job_fail(&job->base, err, flags);
}

static void job_failf(struct job *job, int code, unsigned flags, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void job_failf(struct job *job, int code, unsigned flags, const char *fmt, ...)
{
	struct occo_err e;
	char msg[OCCO_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	occo_err_set(&e, code, "%s", msg);
	job_fail(job, &e, flags);
}

static void job_created(struct job *job)
{
	if (job->parent && job->token) {
		OCCO_INFO("nova: floating IP associated to a server that lacked it",
			  OCCO_KV("server", job->server));
		busy_add(job->nv, job->token, -1);
		free(job->token);
		job->token = NULL;
		repair_done(job->parent);
		rh__job_unref(&job->base);
		return;
	}
	if (job->base.req)
		OCCO_DEBUG("nova server ready to report", OCCO_KV("server", job->server),
			   OCCO_KV("node_id", rh_req_node(job->base.req)->node_id));
	rh__job_created(&job->base, job->server);
}

/* ---- delays ---- */

static void on_delay_closed(uv_handle_t *h)
{
	struct delay *d = h->data;
	struct nova *nv = d->nv;

	rh__job_unref(&d->job->base);
	free(d);
	nova_unref(nv);
}

static void delay_unlink(struct delay *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		d->nv->delays = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->prev = d->next = NULL;
}

static void on_delay(uv_timer_t *t)
{
	struct delay *d = t->data;

	delay_unlink(d);
	if (rh__job_live(&d->job->base) && !d->nv->stopped)
		d->fn(d->job);
	uv_close((uv_handle_t *)&d->t, on_delay_closed);
}

/* Call fn(job) in ms milliseconds (not when the job was completed meanwhile). */
static void delay(struct job *job, unsigned ms, void (*fn)(struct job *job))
{
	struct nova *nv = job->nv;
	struct delay *d = occo_calloc(1, sizeof(*d));

	d->nv = nv;
	d->job = job;
	d->fn = fn;
	rh__job_ref(&job->base);
	nv->refs++;
	uv_timer_init(nv->loop, &d->t);
	d->t.data = d;
	d->next = nv->delays;
	if (nv->delays)
		nv->delays->prev = d;
	nv->delays = d;
	uv_timer_start(&d->t, on_delay, ms, 0);
}

/* ---- errors ---- */

/* The message of an OpenStack error body (Nova, Neutron, Keystone), or NULL. */
static const char *os_message(const json_t *js)
{
	const json_t *v;
	const char *k;

	if (!json_is_object(js))
		return NULL;
	if ((v = json_object_get(js, "NeutronError")) && str(v, "message"))
		return str(v, "message");
	if ((v = json_object_get(js, "error")) && str(v, "message"))
		return str(v, "message");
	if (str(js, "message"))
		return str(js, "message");
	json_object_foreach ((json_t *)js, k, v)
		if (json_is_object(v) && str(v, "message"))
			return str(v, "message");
	return NULL;
}

static int transient_status(int status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Fail a job with what a call got: a transport error, or a status and the body's message. */
static void job_fail_call(struct job *job, const char *what, int status, const json_t *js,
			  const struct occo_err *err)
{
	const char *m = os_message(js);

	if (err) {
		job_failf(job, err->code,
			  err->code == OCCO_ETIMEDOUT || err->code == OCCO_ECONN ? RH_F_TRANSIENT
										 : 0,
			  "%s: %s", what, err->msg);
		return;
	}
	job_failf(job,
		  status == 401			   ? OCCO_EAUTH
		  : status == 403 || status == 413 ? OCCO_ELIMIT
		  : status == 404		   ? OCCO_ENOENT
						   : OCCO_EREMOTE,
		  transient_status(status) ? RH_F_TRANSIENT : 0, "%s: HTTP %d%s%.*s", what, status,
		  m ? ": " : "", MAX_WORDS, m ? m : "");
}

/* ---- calls ---- */

static void on_http(struct occo_http_response *resp, const struct occo_err *err, void *ud);
static void grp_auth(struct nova *nv, struct grp *g);

static struct call *call_new(struct nova *nv, struct grp *g, enum svc svc, const char *method,
			     call_done_fn done)
{
	struct call *c = occo_calloc(1, sizeof(*c));

	c->nv = nv;
	c->grp = g;
	c->svc = svc;
	c->method = occo_strdup(method);
	c->done = done;
	c->max_body = SMALL_BODY;
	nv->refs++;
	return c;
}

/* Add a job; its reference moves to the call. */
static void call_take(struct call *c, struct job *job)
{
	c->jobs = occo_reallocarray(c->jobs, c->njobs + 1, sizeof(*c->jobs));
	c->jobs[c->njobs++] = job;
}

/* Add a job (a new reference). */
static void call_add(struct call *c, struct job *job)
{
	rh__job_ref(&job->base);
	call_take(c, job);
}

static void call_free(struct call *c)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		rh__job_unref(&c->jobs[i]->base);
	free(c->jobs);
	free(c->method);
	free(c->url);
	if (c->body)
		occo_wipe(c->body, c->body_len);
	free(c->body);
	nova_unref(c->nv);
	free(c);
}

static void call_body(struct call *c, json_t *body)
{
	c->body = json_dumps(body, JSON_COMPACT);
	c->body_len = c->body ? strlen(c->body) : 0;
	json_decref(body);
}

static int token_valid(const struct grp *g)
{
	return g->token && time(NULL) + RENEW_S < g->expires;
}

static const char *svc_url(const struct grp *g, enum svc svc)
{
	switch (svc) {
	case S_IDENTITY:
		return g->auth_url;
	case S_COMPUTE:
		return g->compute;
	case S_NETWORK:
		return g->network;
	}
	return NULL;
}

/* Finish a call: its done function, then free. */
static void call_end(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	c->nv->refs++;
	c->done(c, status, js, err);
	nova_unref(c->nv);
	call_free(c);
}

static void call_endf(struct call *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void call_endf(struct call *c, int code, const char *fmt, ...)
{
	struct occo_err e;
	char msg[OCCO_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	occo_err_set(&e, code, "%s", msg);
	call_end(c, 0, NULL, &e);
}

/* Send a call now (the group has a token, or it is the token's call). */
static void call_send(struct call *c)
{
	static const struct occo_http_retry no_retry = { 0, 0, 0 };
	struct grp *g = c->grp;
	const char *base = svc_url(g, c->svc);
	char *url, *auth = NULL;
	const char *headers[6];
	struct occo_http_request rq = { 0 };
	struct occo_err e;
	size_t nh = 0;
	int rc;

	if (!base) {
		call_endf(c, OCCO_ENOTSUP, "the catalog of '%s' has no %s service", g->auth_url,
			  c->svc == S_NETWORK ? "network" : "compute");
		return;
	}
	url = occo_asprintf("%s%s", base, c->url);
	headers[nh++] = "Content-Type: application/json";
	headers[nh++] = "Accept: application/json";
	if (c->svc != S_IDENTITY) {
		auth = occo_asprintf("X-Auth-Token: %s", g->token);
		headers[nh++] = auth;
	}
	if (c->svc == S_COMPUTE) {
		headers[nh++] = "OpenStack-API-Version: compute " MICROVERSION;
		headers[nh++] = "X-OpenStack-Nova-API-Version: " MICROVERSION;
	}
	headers[nh] = NULL;
	rq.method = c->method;
	rq.url = url;
	rq.headers = headers;
	rq.body = c->body;
	rq.body_len = c->body_len;
	rq.max_body = c->max_body;
	if (c->no_retry)
		rq.retry = &no_retry;
	else if (!strcmp(c->method, "DELETE") || !strcmp(c->method, "PUT"))
		rq.flags = OCCO_HTTP_F_IDEMPOTENT;
	OCCO_DEBUG("nova call", OCCO_KV("method", c->method), OCCO_KV("url", url));
	rc = occo_http_submit(c->nv->http, &rq, on_http, c, &e);
	occo_free_secret(auth);
	free(url);
	if (rc < 0)
		call_end(c, 0, NULL, &e);
}

/* Send a call when the group has a token; ask for one first if need be. */
static void call_go(struct call *c)
{
	struct grp *g = c->grp;

	if (c->svc == S_IDENTITY || token_valid(g)) {
		call_send(c);
		return;
	}
	c->qnext = NULL;
	if (g->auth_wait_tail)
		g->auth_wait_tail->qnext = c;
	else
		g->auth_wait = c;
	g->auth_wait_tail = c;
	grp_auth(c->nv, g);
}

static void on_http(struct occo_http_response *resp, const struct occo_err *err, void *ud)
{
	struct call *c = ud;
	json_t *js = NULL;

	if (err) {
		call_end(c, 0, NULL, err);
		return;
	}
	if (resp->status == 401 && c->svc != S_IDENTITY && !c->reauthed && !c->nv->stopped) {
		/* the token expired or was revoked: a new one, and the call once more */
		occo_free_secret(c->grp->token);
		c->grp->token = NULL;
		c->reauthed = 1;
		call_go(c);
		return;
	}
	if (resp->body.len)
		js = json_loadb(resp->body.data, resp->body.len, 0, NULL);
	if (c->svc == S_IDENTITY && resp->status >= 200 && resp->status < 300) {
		/* the token: kept beside the body for the done function */
		const char *t = occo_http_response_header(resp, "X-Subject-Token");

		if (js && t)
			json_object_set_new(js, "x-subject-token", json_string(t));
	}
	call_end(c, resp->status, js, NULL);
	if (js) {
		json_t *t = json_object_get(js, "x-subject-token");

		if (t)
			occo_wipe((char *)json_string_value(t), json_string_length(t));
		json_decref(js);
	}
}

/* ---- keystone ---- */

static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return timegm(&tm);
}

/* The public URL of a service type in the catalog (in the region when one is set), or NULL. */
static char *catalog_url(const json_t *catalog, const char *type, const char *region)
{
	const json_t *svc, *ep;
	size_t i, k;

	json_array_foreach (catalog, i, svc) {
		if (!str(svc, "type") || strcmp(str(svc, "type"), type))
			continue;
		json_array_foreach (json_object_get(svc, "endpoints"), k, ep) {
			const char *iface = str(ep, "interface"), *url = str(ep, "url");
			const char *r =
				str(ep, "region_id") ? str(ep, "region_id") : str(ep, "region");
			size_t n;

			if (!url || !iface || strcmp(iface, "public"))
				continue;
			if (region && *region && (!r || strcmp(r, region)))
				continue;
			n = strlen(url);
			while (n > 0 && url[n - 1] == '/')
				n--;
			return occo_strndup(url, n);
		}
	}
	return NULL;
}

static void auth_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct grp *g = c->grp;
	struct call *w, *next;
	const json_t *tok = json_object_get(js, "token");
	const char *t = str(js, "x-subject-token");
	struct occo_err e;
	int ok = 0;

	g->auth_busy = 0;
	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "keystone '%s'", g->auth_url);
	} else if (status == 401) {
		const char *m = os_message(js);

		occo_err_set(&e, OCCO_EAUTH, "bad credentials for '%s': %.*s", g->auth_url,
			     MAX_WORDS, m ? m : "HTTP 401");
	} else if (status < 200 || status >= 300) {
		const char *m = os_message(js);

		occo_err_set(&e, status == 403 ? OCCO_EAUTH : OCCO_EREMOTE,
			     "keystone '%s': HTTP %d%s%.*s", g->auth_url, status, m ? ": " : "",
			     MAX_WORDS, m ? m : "");
	} else if (!t || !json_is_object(tok)) {
		occo_err_set(&e, OCCO_EPROTO, "keystone '%s' answered no token", g->auth_url);
	} else {
		const json_t *cat = json_object_get(tok, "catalog");

		occo_free_secret(g->token);
		g->token = occo_strdup(t);
		g->expires = parse_time(str(tok, "expires_at"));
		if (g->expires <= time(NULL) + RENEW_S)
			g->expires = time(NULL) + RENEW_S + 60; /* a short-lived token: used once */
		free(g->compute);
		free(g->network);
		free(g->volume);
		g->compute = catalog_url(cat, "compute", g->region);
		g->network = catalog_url(cat, "network", g->region);
		g->volume = catalog_url(cat, "volumev3", g->region);
		if (!g->volume)
			g->volume = catalog_url(cat, "block-storage", g->region);
		if (!g->volume)
			g->volume = catalog_url(cat, "volumev2", g->region);
		if (!g->compute)
			occo_err_set(&e, OCCO_ENOTSUP,
				     "the catalog of '%s' has no compute service%s%s%s",
				     g->auth_url, *g->region ? " in region '" : "", g->region,
				     *g->region ? "'" : "");
		else
			ok = 1;
		OCCO_DEBUG("keystone token", OCCO_KV("endpoint", g->auth_url),
			   OCCO_KV("compute", g->compute), OCCO_KV("network", g->network));
	}
	/* the calls that waited: sent, or ended with the failure */
	w = g->auth_wait;
	g->auth_wait = g->auth_wait_tail = NULL;
	for (; w; w = next) {
		next = w->qnext;
		if (ok && !c->nv->stopped)
			call_send(w);
		else if (ok)
			call_endf(w, OCCO_ECANCELED, "cancelled");
		else
			call_end(w, 0, NULL, &e);
	}
}

/*
 * The Keystone request, written here rather than with jansson: its buffers would keep copies
 * of the secret that are freed without being wiped. This one is the only copy, and the call
 * wipes it (call_free).
 */
static void auth_body(struct call *c, const struct grp *g)
{
	const char *v[4] = { g->user, g->appcred ? g->secret : g->domain,
			     g->appcred ? NULL : g->secret, g->appcred ? NULL : g->project };
	char *e[4] = { NULL };
	size_t room = 256, i;

	for (i = 0; i < 4; i++) {
		if (!v[i])
			continue;
		room += OCCO_JSON_ESCAPED_MAX(strlen(v[i]));
		e[i] = occo_malloc(OCCO_JSON_ESCAPED_MAX(strlen(v[i])));
		occo_json_escape(e[i], v[i], strlen(v[i]));
	}
	c->body = occo_malloc(room);
	if (g->appcred)
		snprintf(c->body, room,
			 "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],"
			 "\"application_credential\":{\"id\":%s,\"secret\":%s}}}}",
			 e[0], e[1]);
	else
		snprintf(c->body, room,
			 "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":"
			 "{\"user\":{\"name\":%s,\"domain\":{\"name\":%s},\"password\":%s}}},"
			 "\"scope\":{\"project\":{\"id\":%s}}}}",
			 e[0], e[1], e[2], e[3]);
	c->body_len = strlen(c->body);
	for (i = 0; i < 4; i++)
		if (e[i])
			occo_free_secret(e[i]);
}

static void grp_auth(struct nova *nv, struct grp *g)
{
	struct call *c;

	if (g->auth_busy)
		return;
	g->auth_busy = 1;
	c = call_new(nv, g, S_IDENTITY, "POST", auth_done);
	c->url = occo_strdup("/auth/tokens");
	c->max_body = LIST_BODY; /* the catalog */
	auth_body(c, g);
	call_send(c);
}

/* ---- lookups by token (shared) ---- */

static int tag_ok(const char *prefix, const char *v)
{
	return v && *v && strlen(prefix) + strlen(v) <= 60 && !strpbrk(v, ",/");
}

static const char *md(const json_t *server, const char *key)
{
	return str(json_object_get(server, "metadata"), key);
}

static void step_flavor(struct job *job);
static void step_fip(struct job *job);
static void step_delete(struct job *job);

/*
 * Nova's list of servers names no fault for a server that never left cell0 (no valid host):
 * one GET /servers/<id> of such a server says why it failed.
 */
static int fault_missing(const json_t *server)
{
	const char *st = str(server, "status");

	return st && !strcmp(st, "ERROR") && !str(json_object_get(server, "fault"), "message");
}

static void watch_fault_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const char *m = str(json_object_get(json_object_get(js, "server"), "fault"), "message");

	if (!rh__job_live(&job->base))
		return;
	(void)err;
	job_failf(job, OCCO_EREMOTE, 0, "server '%s' is in state ERROR: %.*s", job->server,
		  MAX_WORDS, status == 200 && m ? m : "(no fault given)");
}

/*
 * A create waiting for its server's port saw none yet: the server's state, from the shared
 * lookup. One in ERROR fails the create with Nova's words, one gone fails it too.
 */
static void watch_done(struct job *job, const json_t *servers)
{
	const json_t *s, *found = NULL;
	const char *st;
	size_t k;

	job->watching = 0;
	json_array_foreach (servers, k, s)
		if (str(s, "id") && !strcmp(str(s, "id"), job->server))
			found = s;
	st = str(found, "status");
	if (!found || (st && !strcmp(st, "DELETED"))) {
		job_failf(job, OCCO_ENOENT, 0,
			  "server '%s' was deleted before it had a floating IP", job->server);
	} else if (fault_missing(found)) {
		struct call *c = call_new(job->nv, job->grp, S_COMPUTE, "GET", watch_fault_done);

		c->url = occo_asprintf("/servers/%s", job->server);
		call_add(c, job);
		call_go(c);
	} else if (st && !strcmp(st, "ERROR")) {
		const char *m = str(json_object_get(found, "fault"), "message");

		job_failf(job, OCCO_EREMOTE, 0, "server '%s' is in state ERROR: %.*s", job->server,
			  MAX_WORDS, m ? m : "(no fault given)");
	} else {
		rh__jobq_push(&job->grp->ports.q, &job->base);
		rh__flush_kick(&job->nv->flush);
	}
}

/* Look at the server again (watch_done), then for its port. */
static void step_watch(struct job *job)
{
	job->watching = 1;
	rh__jobq_push(&job->grp->look.q, &job->base);
	rh__flush_kick(&job->nv->flush);
}

static void look_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	const json_t *servers = json_object_get(js, "servers"), *s;
	size_t i, k;

	rh__batch_done(&c->grp->look);
	rh__flush_kick(&c->nv->flush);
	for (i = 0; i < c->njobs; i++) {
		struct job *job = c->jobs[i];
		const char *token = rh__job_live(&job->base) ? job->token : NULL;

		if (!token)
			continue;
		if (err || status != 200) {
			job_fail_call(job, "GET /servers/detail", status, js, err);
			continue;
		}
		if (job->watching) {
			watch_done(job, servers);
			continue;
		}
		json_array_foreach (servers, k, s) {
			const char *st = str(s, "status"), *id = str(s, "id");

			if (!id || !md(s, MD_TOKEN) || strcmp(md(s, MD_TOKEN), token) ||
			    (st && !strcmp(st, "DELETED")))
				continue;
			if (job->base.kind == RH__JOB_DROP) {
				job->ids = occo_reallocarray(job->ids, job->nids + 1,
							     sizeof(*job->ids));
				job->ids[job->nids++] = occo_strdup(id);
			} else if (!job->server) {
				job->server = occo_strdup(id);
			}
		}
		if (job->base.kind == RH__JOB_DROP) {
			step_delete(job);
		} else if (job->server) {
			OCCO_DEBUG("nova server found by its token", OCCO_KV("server", job->server),
				   OCCO_KV("node_id", rh_req_node(job->base.req)->node_id));
			step_fip(job);
		} else {
			step_flavor(job);
		}
	}
}

/*
 * One GET for up to MAX_BATCH jobs waiting in batch bt: url, then for each job `first` (the
 * first job) or `each` (the others) followed by its token or, with by_server, its server id.
 */
static void flush_batch(struct nova *nv, struct grp *g, struct rh__batch *bt, enum svc svc,
			call_done_fn done, const char *url, const char *first, const char *each,
			int by_server, size_t max_body)
{
	struct call *c;
	struct occo_buf b;
	struct job *job;

	if (!rh__batch_start(bt))
		return;
	c = call_new(nv, g, svc, "GET", done);
	occo_buf_init(&b, SMALL_BODY);
	occo_buf_appends(&b, url, NULL);
	while (c->njobs < MAX_BATCH && rh__jobq_head(&bt->q)) {
		job = (struct job *)rh__jobq_pop(&bt->q);
		occo_buf_appendf(&b, NULL, "%s%s", c->njobs ? each : first,
				 by_server ? job->server : job->token);
		call_take(c, job);
	}
	c->url = occo_buf_detach(&b, NULL);
	if (max_body)
		c->max_body = max_body;
	call_go(c);
	occo_buf_release(&b);
}

static void flush_look(struct nova *nv, struct grp *g)
{
	flush_batch(nv, g, &g->look, S_COMPUTE, look_done, "/servers/detail?tags-any=", TAG_TOKEN,
		    "," TAG_TOKEN, 0, LIST_BODY);
}

/* ---- create ---- */

static const json_t *find_flavor(const json_t *flavors, const char *want)
{
	const json_t *f;
	size_t i;

	json_array_foreach (flavors, i, f)
		if (str(f, "name") && !strcmp(str(f, "name"), want))
			return f;
	json_array_foreach (flavors, i, f)
		if (str(f, "id") && !strcmp(str(f, "id"), want))
			return f;
	return NULL;
}

static void step_post(struct job *job);

static void flavors_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct grp *g = c->grp;
	const json_t *fl = json_object_get(js, "flavors");
	struct job *job;

	g->flavors_busy = 0;
	if (!err && status == 200 && json_is_array(fl)) {
		json_decref(g->flavors);
		g->flavors = json_incref((json_t *)fl);
	}
	while ((job = (struct job *)rh__jobq_pop(&g->flavor_wait))) {
		if (job->base.req && g->flavors)
			step_post(job);
		else if (job->base.req)
			job_fail_call(job, "GET /flavors/detail", status, js, err);
		rh__job_unref(&job->base);
	}
}

static void step_flavor(struct job *job)
{
	struct grp *g = job->grp;
	struct call *c;

	if (g->flavors) {
		step_post(job);
		return;
	}
	rh__jobq_push(&g->flavor_wait, &job->base);
	if (g->flavors_busy)
		return;
	g->flavors_busy = 1;
	c = call_new(job->nv, g, S_COMPUTE, "GET", flavors_done);
	c->url = occo_strdup("/flavors/detail?is_public=None");
	c->max_body = LIST_BODY;
	call_go(c);
}

static void post_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const char *id = str(json_object_get(js, "server"), "id");

	if (!job->base.req)
		return;
	if (err || status != 202 || !id) {
		if (!err && status == 202)
			job_failf(job, OCCO_EPROTO, 0, "POST /servers: the answer names no server");
		else
			job_fail_call(job, "POST /servers", status, js, err);
		return;
	}
	job->server = occo_strdup(id);
	OCCO_DEBUG("nova server created", OCCO_KV("server", id),
		   OCCO_KV("node_id", rh_req_node(job->base.req)->node_id));
	step_fip(job);
}

static void step_post(struct job *job)
{
	const struct rh_node *n = rh_req_node(job->base.req);
	const json_t *res = n->resource, *v, *flavor;
	const char *fname = str(res, "flavor_name");
	json_t *srv, *md_, *tags, *sgs;
	struct call *c;
	size_t i;

	if (json_object_get(res, "volume_size") && !job->grp->volume) {
		job_failf(job, OCCO_ENOTSUP, 0,
			  "volume_size needs a volume service (cinder), and the catalog of \"%s\" "
			  "has none: remove volume_size to boot from the image",
			  str(res, "endpoint"));
		return;
	}
	flavor = find_flavor(job->grp->flavors, fname);
	if (!flavor) {
		job_failf(job, OCCO_ENOENT, 0, "no flavor named '%s' on '%s'", fname,
			  job->grp->compute);
		return;
	}
	srv = json_object();
	if (str(res, "server_name"))
		json_object_set_new(srv, "name", json_string(str(res, "server_name")));
	else
		json_object_set_new(srv, "name",
				    json_sprintf("occopus-%.8s-%.18s-%.8s", n->infra_id, n->name,
						 n->node_id ? n->node_id : ""));
	json_object_set_new(srv, "flavorRef", json_string(str(flavor, "id")));
	v = json_object_get(res, "volume_size");
	if (v) {
		long long size = volume_size(v);
		json_t *bdm = json_pack("{s:i,s:s,s:s,s:s,s:b}", "boot_index", 0, "uuid",
					str(res, "image_id"), "source_type", "image",
					"destination_type", "volume", "delete_on_termination",
					!json_is_true(json_object_get(res, "volume_persist")));

		if (size == 0)
			size = json_integer_value(json_object_get(flavor, "disk"));
		json_object_set_new(bdm, "volume_size", json_integer(size > 0 ? size : 1));
		json_object_set_new(srv, "imageRef", json_string(""));
		json_object_set_new(srv, "block_device_mapping_v2", json_pack("[o]", bdm));
	} else {
		json_object_set_new(srv, "imageRef", json_string(str(res, "image_id")));
	}
	if (n->user_data && *n->user_data) {
		char *ud = rh__ec2_base64(n->user_data, strlen(n->user_data));

		json_object_set_new(srv, "user_data", json_string(ud));
		occo_free_secret(ud);
	}
	md_ = json_pack("{s:s,s:s,s:s}", MD_INFRA, n->infra_id, MD_NODE, n->name ? n->name : "",
			MD_TOKEN, n->token);
	if (n->node_id)
		json_object_set_new(md_, MD_NODE_ID, json_string(n->node_id));
	if (job->want_fip)
		json_object_set_new(md_, MD_FIP, json_string(job->pool));
	json_object_set_new(srv, "metadata", md_);
	tags = json_array();
	if (tag_ok(TAG_INFRA, n->infra_id))
		json_array_append_new(tags, json_sprintf(TAG_INFRA "%s", n->infra_id));
	if (tag_ok(TAG_TOKEN, n->token))
		json_array_append_new(tags, json_sprintf(TAG_TOKEN "%s", n->token));
	json_object_set_new(srv, "tags", tags);
	if (str(res, "key_name"))
		json_object_set_new(srv, "key_name", json_string(str(res, "key_name")));
	sgs = json_array();
	json_array_foreach (json_object_get(res, "security_groups"), i, v)
		json_array_append_new(sgs, json_pack("{s:s}", "name", json_string_value(v)));
	if (json_array_size(sgs))
		json_object_set_new(srv, "security_groups", sgs);
	else
		json_decref(sgs);
	if (str(res, "network_id") && *str(res, "network_id"))
		json_object_set_new(srv, "networks",
				    json_pack("[{s:s}]", "uuid", str(res, "network_id")));
	else
		json_object_set_new(srv, "networks", json_string("auto"));
	c = call_new(job->nv, job->grp, S_COMPUTE, "POST", post_done);
	c->url = occo_strdup("/servers");
	c->no_retry = 1; /* a resend must look for the token first: the core's retry does */
	call_body(c, json_pack("{s:o}", "server", srv));
	call_add(c, job);
	call_go(c);
}

/* Floating IPs: the server's port, then one described with the token, or a new one. */

static void ports_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	const json_t *ports = json_object_get(js, "ports"), *p;
	size_t i, k;

	rh__batch_done(&c->grp->ports);
	rh__flush_kick(&c->nv->flush);
	for (i = 0; i < c->njobs; i++) {
		struct job *job = c->jobs[i];

		if (!rh__job_live(&job->base))
			continue;
		if (err || status != 200) {
			job_fail_call(job, "GET /v2.0/ports", status, js, err);
			continue;
		}
		json_array_foreach (ports, k, p)
			if (str(p, "device_id") && !strcmp(str(p, "device_id"), job->server) &&
			    str(p, "id") && !job->port)
				job->port = occo_strdup(str(p, "id"));
		if (job->port) {
			step_fip(job);
		} else if (++job->tries >= PORT_TRIES) {
			job_failf(job, OCCO_ETIMEDOUT, 0,
				  "server '%s' has no port on a network: no floating IP can be "
				  "associated (is network_id set?)",
				  job->server);
		} else {
			delay(job, PORT_WAIT_MS, step_watch);
		}
	}
}

static void flush_ports(struct nova *nv, struct grp *g)
{
	flush_batch(nv, g, &g->ports, S_NETWORK, ports_done,
		    "/v2.0/ports?fields=id&fields=device_id", "&device_id=", "&device_id=", 1, 0);
}

static char *fip_desc(const struct job *job)
{
	return occo_asprintf(FIP_DESC "%s", job->token ? job->token : "");
}

static char *urlenc(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = occo_malloc(strlen(s) * 3 + 1), *p = out;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch)) {
			*p++ = (char)ch;
		} else {
			*p++ = '%';
			*p++ = hex[ch >> 4];
			*p++ = hex[ch & 15];
		}
	}
	*p = 0;
	return out;
}

static void fip_post(struct job *job);

static void fire_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	(void)c;
	(void)js;
	if (err || (status >= 300 && status != 404))
		OCCO_WARN("nova: deleting a server whose floating IP failed did not work",
			  OCCO_KV("status", err ? err->msg : "HTTP error"));
}

/* A DELETE of a server that serves no request. */
static void fire_delete(struct nova *nv, struct grp *g, const char *server)
{
	struct call *c = call_new(nv, g, S_COMPUTE, "DELETE", fire_done);

	c->url = occo_asprintf("/servers/%s", server);
	call_go(c);
}

static void fip_created(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const char *m = os_message(js);
	const char *pool = job->pool;

	if (!rh__job_live(&job->base))
		return;
	if (!err && (status == 201 || status == 200)) {
		OCCO_DEBUG("nova floating ip",
			   OCCO_KV("address",
				   str(json_object_get(js, "floatingip"), "floating_ip_address")),
			   OCCO_KV("server", job->server));
		job_created(job);
		return;
	}
	/* none free (exhausted pool, quota): again later, then give up */
	if (!err && (status == 409 || status == 404 || status == 403) && m &&
	    (strstr(m, "No more IP addresses") || strstr(m, "exhausted") || strstr(m, "uota") ||
	     strstr(m, "IpAddressGenerationFailure") || strstr(m, "No more"))) {
		if (++job->fip_tries < job->nv->fip_tries) {
			OCCO_DEBUG("nova: no free floating ip yet", OCCO_KV("server", job->server));
			delay(job, job->nv->fip_wait_ms, fip_post);
			return;
		}
		{
			struct occo_err e;

			occo_err_set(&e, OCCO_ELIMIT,
				     "cannot find unused floating ip address%s%s%s (%u attempts: "
				     "%.*s); server '%s' deleted",
				     *pool ? " in pool \"" : "", pool, *pool ? "\"" : "",
				     job->fip_tries, MAX_WORDS, m, job->server);
			/* as Occopus: the server goes */
			fire_delete(job->nv, job->grp, job->server);
			job_fail(job, &e, 0);
		}
		return;
	}
	job_fail_call(job, "POST /v2.0/floatingips", status, js, err);
}

static void fip_post(struct job *job)
{
	const char *pool = json_string_value(json_object_get(job->grp->pools, job->pool));
	struct call *c = call_new(job->nv, job->grp, S_NETWORK, "POST", fip_created);
	char *desc = fip_desc(job);

	c->url = occo_strdup("/v2.0/floatingips");
	call_body(c, json_pack("{s:{s:s,s:s,s:s}}", "floatingip", "floating_network_id", pool,
			       "port_id", job->port, "description", desc));
	free(desc);
	call_add(c, job);
	call_go(c);
}

static void pool_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const json_t *nets = json_object_get(js, "networks");
	const char *pool;

	if (!rh__job_live(&job->base))
		return;
	pool = job->pool;
	if (err || status != 200) {
		job_fail_call(job, "GET /v2.0/networks", status, js, err);
		return;
	}
	if (!json_array_size(nets) || !str(json_array_get(nets, 0), "id")) {
		if (*pool)
			job_failf(job, OCCO_ENOENT, 0,
				  "cannot find the floating ip pool \"%s\": no external network of "
				  "that name or id",
				  pool);
		else
			job_failf(job, OCCO_ENOENT, 0,
				  "cannot find an external network to allocate a floating ip from "
				  "(set floating_ip_pool)");
		return;
	}
	if (!job->grp->pools)
		job->grp->pools = json_object();
	json_object_set_new(job->grp->pools, pool, json_string(str(json_array_get(nets, 0), "id")));
	fip_post(job);
}

static void fip_found(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const json_t *fips = json_object_get(js, "floatingips"), *f;
	struct call *d;
	size_t i;

	if (!rh__job_live(&job->base))
		return;
	if (err || status != 200) {
		job_fail_call(job, "GET /v2.0/floatingips", status, js, err);
		return;
	}
	json_array_foreach (fips, i, f) {
		if (str(f, "port_id") && !strcmp(str(f, "port_id"), job->port)) {
			job_created(job); /* adopted, associated already */
			return;
		}
	}
	if (json_array_size(fips) && str(json_array_get(fips, 0), "id")) {
		/* ours, not associated (a build killed between the two): associate it */
		d = call_new(job->nv, job->grp, S_NETWORK, "PUT", fip_created);
		d->url = occo_asprintf("/v2.0/floatingips/%s", str(json_array_get(fips, 0), "id"));
		call_body(d, json_pack("{s:{s:s}}", "floatingip", "port_id", job->port));
		call_add(d, job);
		call_go(d);
		return;
	}
	if (json_object_get(job->grp->pools, job->pool)) {
		fip_post(job);
		return;
	}
	d = call_new(job->nv, job->grp, S_NETWORK, "GET", pool_done);
	if (*job->pool) {
		char *e = urlenc(job->pool);

		/* a name, or an id */
		d->url = occo_asprintf("/v2.0/networks?router:external=true&fields=id&name=%s", e);
		if (strlen(job->pool) == 36 && strchr(job->pool, '-')) {
			free(d->url);
			d->url = occo_asprintf(
				"/v2.0/networks?router:external=true&fields=id&id=%s", e);
		}
		free(e);
	} else {
		d->url = occo_strdup("/v2.0/networks?router:external=true&fields=id");
	}
	call_add(d, job);
	call_go(d);
}

/* The next step of a create that has its server. */
static void step_fip(struct job *job)
{
	struct call *c;
	char *desc, *e;

	if (!job->want_fip) {
		job_created(job);
		return;
	}
	if (!job->port) {
		rh__jobq_push(&job->grp->ports.q, &job->base);
		rh__flush_kick(&job->nv->flush);
		return;
	}
	desc = fip_desc(job);
	e = urlenc(desc);
	c = call_new(job->nv, job->grp, S_NETWORK, "GET", fip_found);
	c->url = occo_asprintf("/v2.0/floatingips?description=%s", e);
	free(e);
	free(desc);
	call_add(c, job);
	call_go(c);
}

/* ---- drop ---- */

static void fip_release_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];

	if (!job->base.req)
		return;
	if (err || (status >= 300 && status != 404)) {
		job_fail_call(job, "DELETE /v2.0/floatingips", status, js, err);
		return;
	}
	if (job->next_id < job->nids) {
		struct call *d = call_new(job->nv, job->grp, S_NETWORK, "DELETE", fip_release_done);

		d->url = occo_asprintf("/v2.0/floatingips/%s", job->ids[job->next_id++]);
		call_add(d, job);
		call_go(d);
		return;
	}
	rh__job_dropped(&job->base);
}

static void fips_of_drop(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const json_t *f;
	size_t i;

	if (!job->base.req)
		return;
	if (err || status != 200) {
		job_fail_call(job, "GET /v2.0/floatingips", status, js, err);
		return;
	}
	/* the servers' ids are not needed any more: the list now holds floating IPs */
	for (i = 0; i < job->nids; i++)
		free(job->ids[i]);
	job->nids = job->next_id = 0;
	json_array_foreach (json_object_get(js, "floatingips"), i, f) {
		if (!str(f, "id"))
			continue;
		job->ids = occo_reallocarray(job->ids, job->nids + 1, sizeof(*job->ids));
		job->ids[job->nids++] = occo_strdup(str(f, "id"));
	}
	fip_release_done(c, 204, NULL, NULL);
}

static void delete_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];

	if (!job->base.req)
		return;
	if (err || (status >= 300 && status != 404)) {
		job_fail_call(job, "DELETE /servers", status, js, err);
		return;
	}
	step_delete(job);
}

/* Delete the next server of a drop, then release its floating IPs. */
static void step_delete(struct job *job)
{
	struct call *c;

	if (job->next_id < job->nids) {
		c = call_new(job->nv, job->grp, S_COMPUTE, "DELETE", delete_done);
		c->url = occo_asprintf("/servers/%s", job->ids[job->next_id++]);
		call_add(c, job);
		call_go(c);
		return;
	}
	if (job->want_fip && job->token && *job->token) {
		char *desc = fip_desc(job), *e = urlenc(desc);

		c = call_new(job->nv, job->grp, S_NETWORK, "GET", fips_of_drop);
		c->url = occo_asprintf("/v2.0/floatingips?fields=id&description=%s", e);
		free(e);
		free(desc);
		call_add(c, job);
		call_go(c);
		return;
	}
	rh__job_dropped(&job->base);
}

/* ---- list ---- */

static enum rh_state map_state(const char *s)
{
	static const char *const pending[] = {
		"BUILD",     "REBUILD", "RESIZE",      "VERIFY_RESIZE", "REVERT_RESIZE",
		"MIGRATING", "REBOOT",	"HARD_REBOOT", "PASSWORD",	NULL
	};
	static const char *const shutdown[] = { "DELETED", "SOFT_DELETED", "SHUTOFF", NULL };
	static const char *const temp[] = { "PAUSED", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED",
					    "RESCUE", NULL };
	size_t i;

	if (!s)
		return RH_UNKNOWN;
	if (!strcmp(s, "ACTIVE"))
		return RH_READY;
	if (!strcmp(s, "ERROR"))
		return RH_FAILED;
	for (i = 0; pending[i]; i++)
		if (!strcmp(s, pending[i]))
			return RH_PENDING;
	for (i = 0; shutdown[i]; i++)
		if (!strcmp(s, shutdown[i]))
			return RH_SHUTDOWN;
	for (i = 0; temp[i]; i++)
		if (!strcmp(s, temp[i]))
			return RH_TEMP_FAILED;
	return RH_UNKNOWN;
}

static void list_fips(struct job *job);
static void list_finish(struct job *job, const json_t *fips);

/*
 * A server that should have a floating IP and has none (a build killed before it was
 * associated; the engine adopts the server by its token): associate one now, then answer.
 */
static void repair_start(struct job *list, const char *server, const char *token, const char *pool)
{
	struct job *r = occo_calloc(1, sizeof(*r));

	rh__job_init(&r->base, &job_ops, NULL, RH__JOB_CREATE); /* its own reference */
	r->nv = list->nv;
	r->grp = list->grp;
	r->want_fip = 1;
	r->server = occo_strdup(server);
	r->token = occo_strdup(token);
	r->pool = occo_strdup(pool);
	r->parent = list;
	rh__job_ref(&list->base);
	list->repairs++;
	busy_add(list->nv, token, 1);
	OCCO_INFO("nova: server without its floating IP", OCCO_KV("server", server));
	step_fip(r);
}

/* The repairs and fault lookups of a list are over: its answer. */
static void finish_again(struct job *list)
{
	if (list->refetch)
		list_fips(list);
	else
		list_finish(list, list->fips);
}

static void repair_done(struct job *list)
{
	if (--list->repairs > 0 || !list->base.req)
		return;
	finish_again(list);
}

static void fault_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const json_t *srv = json_object_get(js, "server"), *s;
	size_t i;

	(void)err;
	if (!job->base.req)
		return;
	json_array_foreach (job->servers, i, s)
		if (status == 200 && str(s, "id") && str(srv, "id") &&
		    !strcmp(str(s, "id"), str(srv, "id")) && json_object_get(srv, "fault"))
			json_object_set((json_t *)s, "fault", json_object_get(srv, "fault"));
	repair_done(job);
}

static void list_finish(struct job *job, const json_t *fips)
{
	const struct rh_node *n = rh_req_node(job->base.req);
	size_t ns = json_array_size(job->servers), i, k, j, m = 0;
	struct rh_instance *v = occo_calloc(ns + 1, sizeof(*v));
	json_t *addrs = json_array(), *s, *fipmap = json_object(), *f;
	int first = !job->repaired, started = 0;

	if (fips != job->fips) {
		json_decref(job->fips);
		job->fips = json_incref((json_t *)fips);
	}
	job->repaired = 1;
	job->repairs++; /* held while the servers are gone through */
	json_array_foreach (fips, i, f) {
		const char *d = str(f, "description"), *a = str(f, "floating_ip_address");

		if (d && a && !strncmp(d, FIP_DESC, strlen(FIP_DESC)) && str(f, "port_id"))
			json_object_set_new(fipmap, d + strlen(FIP_DESC), json_string(a));
	}
	json_array_foreach (job->servers, i, s) {
		const json_t *nets = json_object_get(s, "addresses"), *list, *a;
		const char *net, *token = md(s, MD_TOKEN);
		json_t *mine = json_array(), *fixed = json_array();
		const char *fip = token ? str(fipmap, token) : NULL;

		if (!md(s, MD_INFRA) || strcmp(md(s, MD_INFRA), n->infra_id) || !str(s, "id")) {
			json_decref(mine);
			json_decref(fixed);
			continue;
		}
		v[m].state = map_state(str(s, "status"));
		v[m].message = str(json_object_get(s, "fault"), "message");
		if (first && fault_missing(s)) {
			struct call *c = call_new(job->nv, job->grp, S_COMPUTE, "GET", fault_done);

			c->url = occo_asprintf("/servers/%s", str(s, "id"));
			call_add(c, job);
			job->repairs++;
			started++;
			call_go(c);
		}
		if (md(s, MD_FIP) && !fip && token && v[m].state == RH_READY && job->grp->network) {
			if (json_object_get(job->nv->busy, token)) {
				v[m].state = RH_PENDING; /* a create of ours is associating it */
			} else if (first) {
				repair_start(job, str(s, "id"), token, md(s, MD_FIP));
				job->refetch = 1;
				started++;
			} else {
				v[m].state = RH_FAILED;
				v[m].message = "it has no floating IP, and associating one failed";
			}
		}
		if (fip)
			json_array_append_new(mine, json_string(fip));
		json_object_foreach ((json_t *)nets, net, list) {
			json_array_foreach (list, k, a) {
				const char *ip = str(a, "addr"), *type = str(a, "OS-EXT-IPS:type");
				int dup = 0;
				json_t *x;

				if (!ip)
					continue;
				json_array_foreach (mine, j, x)
					dup |= !strcmp(json_string_value(x), ip);
				if (dup)
					continue;
				if (type && !strcmp(type, "floating"))
					json_array_insert_new(mine, fip ? 1 : 0, json_string(ip));
				else
					json_array_append_new(fixed, json_string(ip));
			}
		}
		v[m].private_address = json_string_value(json_array_get(fixed, 0));
		json_array_extend(mine, fixed);
		json_array_append_new(addrs, mine);
		json_array_append_new(addrs, fixed);
		v[m].instance_id = str(s, "id");
		v[m].token = token;
		v[m].addresses = mine;
		m++;
	}
	if (started) {
		/* answered when the repairs are over (repair_done) */
		json_decref(addrs);
		json_decref(fipmap);
		free(v);
		if (--job->repairs == 0)
			finish_again(job); /* they were over at once */
		return;
	}
	job->repairs--;
	rh__job_listed(&job->base, v, m);
	json_decref(addrs);
	json_decref(fipmap);
	free(v);
}

static void list_fips_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];

	if (!job->base.req)
		return;
	if (err || status != 200) {
		job_fail_call(job, "GET /v2.0/floatingips", status, js, err);
		return;
	}
	list_finish(job, json_object_get(js, "floatingips"));
}

static void list_fips(struct job *job)
{
	struct call *d;

	d = call_new(job->nv, job->grp, S_NETWORK, "GET", list_fips_done);
	d->url = occo_strdup("/v2.0/floatingips?fields=description&fields=floating_ip_address"
			     "&fields=port_id");
	d->max_body = LIST_BODY;
	call_add(d, job);
	call_go(d);
}

static void list_page(struct job *job, const char *marker);

static void list_done(struct call *c, int status, json_t *js, const struct occo_err *err)
{
	struct job *job = c->jobs[0];
	const json_t *servers = json_object_get(js, "servers"), *links, *s;
	size_t i;
	int more = 0, want = 0;

	if (!job->base.req)
		return;
	if (err || status != 200 || !json_is_array(servers)) {
		if (!err && status == 200)
			job_failf(job, OCCO_EPROTO, 0,
				  "GET /servers/detail: no servers in the answer");
		else
			job_fail_call(job, "GET /servers/detail", status, js, err);
		return;
	}
	json_array_extend(job->servers, (json_t *)servers);
	links = json_object_get(js, "servers_links");
	for (i = 0; i < json_array_size(links); i++)
		more |= str(json_array_get(links, i), "rel") &&
			!strcmp(str(json_array_get(links, i), "rel"), "next");
	if (more && json_array_size(servers) && ++job->pages < MAX_PAGES) {
		list_page(job, str(json_array_get(servers, json_array_size(servers) - 1), "id"));
		return;
	}
	/* the floating IPs, when a server wants one */
	json_array_foreach (job->servers, i, s)
		want |= md(s, MD_FIP) != NULL;
	if (!want || !job->grp->network) {
		list_finish(job, NULL);
		return;
	}
	list_fips(job);
}

static void list_page(struct job *job, const char *marker)
{
	const struct rh_node *n = rh_req_node(job->base.req);
	struct call *c = call_new(job->nv, job->grp, S_COMPUTE, "GET", list_done);
	char *m = marker ? urlenc(marker) : NULL;

	if (tag_ok(TAG_INFRA, n->infra_id))
		c->url = occo_asprintf("/servers/detail?limit=%d&tags=" TAG_INFRA "%s%s%s",
				       PAGE_LIMIT, n->infra_id, m ? "&marker=" : "", m ? m : "");
	else
		c->url = occo_asprintf("/servers/detail?limit=%d%s%s", PAGE_LIMIT,
				       m ? "&marker=" : "", m ? m : "");
	free(m);
	c->max_body = LIST_BODY;
	call_add(c, job);
	call_go(c);
}

/* ---- flush ---- */

static void on_flush(void *ud)
{
	struct nova *nv = ud;
	struct grp *g;

	nv->refs++;
	for (g = nv->groups; g && !nv->stopped; g = g->next) {
		flush_look(nv, g);
		if (!nv->stopped)
			flush_ports(nv, g);
	}
	nova_unref(nv);
}

/* ---- the operations ---- */

/* Keystone's URL of an endpoint: without a /vN path it gets /v3; no trailing slash. */
static char *auth_url(const char *ep)
{
	size_t n = strlen(ep);
	const char *slash;

	while (n > 0 && ep[n - 1] == '/')
		n--;
	slash = memrchr(ep, '/', n);
	if (slash && slash[1] == 'v' && slash[2] >= '0' && slash[2] <= '9' &&
	    (size_t)(slash - ep) > strlen("https://"))
		return occo_strndup(ep, n);
	return occo_asprintf("%.*s/v3", (int)n, ep);
}

static int prepare(struct rh_req *req, enum rh__job_kind kind, struct job **out,
		   struct occo_err *err)
{
	struct nova *nv = rh_req_state(req);
	const struct rh_node *n = rh_req_node(req);
	const char *ep = str(n->resource, "endpoint"), *project = str(n->resource, "project_id");
	const char *region = str(n->resource, "region_name"), *type, *user, *secret;
	const char *domain = str(n->resource, "user_domain_name");
	int appcred;
	char *url;
	struct grp *g;
	struct job *job;

	if (!nv)
		return occo_err_set(err, OCCO_ENOTSUP,
				    "the nova resource handler needs the HTTP client");
	if (!ep || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)))
		return occo_err_set(
			err, OCCO_EINVAL,
			"'endpoint' must be Keystone's http:// or https:// URL, not '%s'",
			ep ? ep : "");
	if (!project || !*project)
		return occo_err_set(err, OCCO_EINVAL, "'project_id' must not be empty");
	if (!n->auth)
		return occo_err_set(
			err, OCCO_EINVAL,
			"cannot find credentials for \"%s\": no 'resource' entry of the "
			"auth data matches it",
			ep);
	type = str(n->auth, "type");
	appcred = type && !strcmp(type, "application_credential");
	if (type && !appcred)
		return occo_err_set(err, OCCO_EINVAL,
				    "auth_data type '%s' for \"%s\" is not supported (use username "
				    "and password, or type: application_credential)",
				    type, ep);
	user = str(n->auth, appcred ? "id" : "username");
	secret = str(n->auth, appcred ? "secret" : "password");
	if (!user || !*user || !secret || !*secret)
		return occo_err_set(err, OCCO_EINVAL,
				    "the credentials for \"%s\" have no '%s' (auth_data: %s)", ep,
				    !user || !*user ? (appcred ? "id" : "username")
						    : (appcred ? "secret" : "password"),
				    appcred ? "type: application_credential, id, secret"
					    : "username, password");
	if (!domain || !*domain)
		domain = "Default";
	if (!region)
		region = "";
	url = auth_url(ep);
	for (g = nv->groups; g; g = g->next)
		if (!strcmp(g->auth_url, url) && !strcmp(g->project, project) &&
		    !strcmp(g->region, region) && !strcmp(g->user, user) &&
		    !strcmp(g->domain, domain) && !strcmp(g->secret, secret) &&
		    g->appcred == appcred)
			break;
	if (!g) {
		g = occo_calloc(1, sizeof(*g));
		g->auth_url = url;
		url = NULL;
		g->project = occo_strdup(project);
		g->region = occo_strdup(region);
		g->user = occo_strdup(user);
		g->domain = occo_strdup(domain);
		g->secret = occo_strdup(secret);
		g->appcred = appcred;
		g->next = nv->groups;
		nv->groups = g;
		occo_log_secret_add(secret);
	}
	free(url);
	job = occo_calloc(1, sizeof(*job));
	rh__job_init(&job->base, &job_ops, req, kind);
	job->nv = nv;
	job->grp = g;
	job->want_fip = json_object_get(n->resource, "floating_ip") != NULL &&
			!json_is_null(json_object_get(n->resource, "floating_ip")) &&
			!json_is_false(json_object_get(n->resource, "floating_ip"));
	job->token = occo_strdup(n->token ? n->token : "");
	job->pool = occo_strdup(
		str(n->resource, "floating_ip_pool") ? str(n->resource, "floating_ip_pool") : "");
	if (kind == RH__JOB_CREATE)
		busy_add(nv, job->token, 1);
	*out = job;
	return 0;
}

static int nova_create(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct job *job;
	int rc;

	if (!n->token || !*n->token)
		return occo_err_set(err, OCCO_EINVAL, "no idempotency token");
	if (!n->infra_id || !*n->infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if (n->user_data && strlen(n->user_data) > MAX_USER_DATA)
		return occo_err_set(err, OCCO_EINVAL,
				    "the user data (contextualisation) is %zu bytes; Nova takes at "
				    "most %d",
				    strlen(n->user_data), MAX_USER_DATA);
	if ((rc = prepare(req, RH__JOB_CREATE, &job, err)) < 0)
		return rc;
	if (json_object_get(n->resource, "volume_size") && job->grp->compute && !job->grp->volume) {
		/* known already: a cloud without a volume service (else checked after the token) */
		rh__job_abandon(&job->base); /* no completion: the call fails */
		return occo_err_set(
			err, OCCO_ENOTSUP,
			"volume_size needs a volume service (cinder), and the catalog of "
			"\"%s\" has none: remove volume_size to boot from the image",
			str(n->resource, "endpoint"));
	}
	rh__jobq_push(&job->grp->look.q, &job->base);
	rh__flush_kick(&job->nv->flush);
	return 0;
}

static int nova_drop(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct job *job;
	int rc;

	if ((!n->instance_id || !*n->instance_id) && (!n->token || !*n->token))
		return occo_err_set(err, OCCO_EINVAL, "no instance id and no token");
	if ((rc = prepare(req, RH__JOB_DROP, &job, err)) < 0)
		return rc;
	if (n->instance_id && *n->instance_id) {
		job->ids = occo_calloc(1, sizeof(*job->ids));
		job->ids[job->nids++] = occo_strdup(n->instance_id);
		rh__job_ref(&job->base); /* step_delete runs from here: keep it past a completion */
		step_delete(job);
		rh__job_unref(&job->base);
	} else {
		rh__jobq_push(&job->grp->look.q, &job->base);
		rh__flush_kick(&job->nv->flush);
	}
	return 0;
}

static int nova_list(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct job *job;
	int rc;

	if (!n->infra_id || !*n->infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if ((rc = prepare(req, RH__JOB_LIST, &job, err)) < 0)
		return rc;
	job->servers = json_array();
	list_page(job, NULL);
	return 0;
}

static unsigned env_uint(const char *name, unsigned def, unsigned lo, unsigned hi)
{
	const char *s = getenv(name);
	long v;

	if (!s || !*s)
		return def;
	v = strtol(s, NULL, 10);
	return (unsigned)(v < (long)lo ? lo : v > (long)hi ? hi : v);
}

static int nova_start(const struct rh_env *env, void **state, struct occo_err *err)
{
	struct nova *nv;

	(void)err;
	*state = NULL;
	if (!env->http)
		return 0;
	nv = occo_calloc(1, sizeof(*nv));
	nv->http = env->http;
	nv->loop = env->loop;
	nv->busy = json_object();
	nv->fip_tries = env_uint("OCCOPUS_NOVA_FIP_TRIES", DEF_FIP_TRIES, 1, 1000);
	nv->fip_wait_ms = env_uint("OCCOPUS_NOVA_FIP_WAIT_MS", DEF_FIP_WAIT_MS, 10, 600000);
	rh__flush_init(&nv->flush, env->loop, on_flush, nv);
	nv->refs = 2;
	*state = nv;
	return 0;
}

static void on_flush_closed(uv_handle_t *h)
{
	nova_unref(h->data);
}

static void nova_stop(void *state)
{
	struct nova *nv = state;
	struct grp *g;
	struct delay *d;

	nv->stopped = 1;
	for (g = nv->groups; g; g = g->next) {
		rh__jobq_drain(&g->look.q, NULL, 0);
		rh__jobq_drain(&g->ports.q, NULL, 0);
		rh__jobq_drain(&g->flavor_wait, NULL, 0);
	}
	while ((d = nv->delays)) {
		delay_unlink(d);
		uv_timer_stop(&d->t);
		uv_close((uv_handle_t *)&d->t, on_delay_closed);
	}
	rh__flush_close(&nv->flush, on_flush_closed);
	nova_unref(nv);
}

const struct rh_ops rh__nova_ops = {
	.name = "nova",
	.schema = &schema,
	.req_size = RH__JOB_REQ_SIZE,
	.create = nova_create,
	.drop = nova_drop,
	.list = nova_list,
	.cancel = rh__job_cancel,
	.start = nova_start,
	.stop = nova_stop,
};
