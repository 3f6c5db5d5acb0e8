/*
 * docker.c - containers through the Docker Engine API (Docker, or Podman's compatible API).
 *
 * Keys of the resource section: Occopus's (`endpoint`, `origin`, `image`, `tag`, `name`) and
 * ours: `network` (the network to attach to), `ports` (published ports: 80, "80/udp",
 * "8080:80", "0.0.0.0:8080:80"; bound to 127.0.0.1 and a free host port unless said),
 * `labels` (added to ours), `init` (an init process as PID 1 that passes signals on, default
 * true) and `stop_timeout` (seconds between SIGTERM and SIGKILL on drop, default 10).
 *
 * endpoint  unix:///path (the API over a unix socket), tcp://host:port (plain HTTP),
 *           http(s)://host:port
 * origin    dockerhub: pulled (POST /images/create?fromImage=); local: used as it is;
 *           an http(s) URL: a tarball the daemon imports as <image>:<tag> (fromSrc=).
 *           An image is prepared once per endpoint and process; the creates that need it
 *           meanwhile wait for that one pull. A create that finds it gone again prepares it
 *           again (a transient failure the core retries).
 *
 * create    POST /containers/create?name=<name>, then POST /containers/<id>/start. The name
 *           comes from the idempotency token, "occopus-<infra_id[:8]>-<node name[:18]>-<token>",
 *           so a retried or repeated create of one token meets its own container: the daemon
 *           answers that the name is in use (Docker 409, Podman 500), the container's
 *           `occopus.token` label is ours, and it is adopted (and started if it is not
 *           running). A container of that name without our token is an error. The container
 *           gets the contextualisation's `env` (list of K=V) and `command` (a string split as
 *           a POSIX shell does without expansions, as docker-py's shlex.split; or a list), and
 *           the labels occopus.infra_id, occopus.node_id, occopus.node_name, occopus.token (and
 *           occopus.network when `network` is set).
 * list      one GET /containers/json?all=1&filters={"label":["occopus.infra_id=<id>"]}:
 *           running -> ready, restarting -> pending, paused -> temp_failed, anything else
 *           (created, exited, dead, ...) -> shutdown (OCCOPUS.md 4.3). Addresses: the
 *           container's IP on its network (as Occopus). Published ports are reported in
 *           rh_instance.published as {"80/tcp": "127.0.0.1:43041"}: where the container
 *           network is not reachable from the orchestrator (rootless, a remote daemon), that
 *           is where a probe of port 80 finds the container.
 * drop      POST /containers/<id>/stop?t=<stop_timeout>, then DELETE /containers/<id>?force=1;
 *           without an id, the containers labelled with the node's token. A container that is
 *           gone already counts as dropped.
 *
 * Errors carry the daemon's own words. Connection failures, timeouts and 502/503/504 are
 * transient (the core retries them), so is an image that vanished; the rest are final.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/http.h"
#include "occo/util/log.h"
#include "../jobs.h"
#include "../rh_int.h"

#define API_VERSION "/v1.41"
#define DEF_STOP_TIMEOUT 10
#define MAX_STOP_TIMEOUT 3600
#define MAX_WORDS 600 /* bytes of a daemon's message we quote */
#define PREPARE_TIMEOUT_MS (3600u * 1000) /* a pull streams until the image is there */
#define LIST_MAX_BODY ((size_t)64 << 20)
#define TEXT_MAX ((size_t)1 << 20) /* URLs and names we build */

/* Our labels. */
#define L_INFRA "occopus.infra_id"
#define L_NODE "occopus.node_id"
#define L_NAME "occopus.node_name"
#define L_TOKEN "occopus.token"
#define L_NETWORK "occopus.network"
#define L_PREFIX "occopus."

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "origin", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "image", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "tag", COMP_REQUIRED, COMP_T_STR | COMP_T_NUM, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	/* beyond Occopus */
	{ "network", 0, COMP_T_STR, 0 },
	{ "ports", 0, COMP_T_LIST, COMP_T_INT | COMP_T_STR },
	{ "labels", 0, COMP_T_MAP, 0 },
	{ "init", 0, COMP_T_BOOL, 0 },
	{ "stop_timeout", 0, COMP_T_INT, 0 },
	{ NULL, 0, 0, 0 },
};

/* ---- values of the resource section ---- */

/* A value still holding a template is checked once it is rendered (at create). */
static int templated(const char *s)
{
	return s && (strstr(s, "{{") || strstr(s, "{%"));
}

/* One published port: "[[ip:]hostport:]port[/proto]" or an integer. */
struct pmap {
	unsigned port, host_port; /* host_port 0: any free one */
	char proto[4];
	char host_ip[INET_ADDRSTRLEN];
};

static int parse_port_num(const char *s, size_t n, int zero_ok, unsigned *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5) {
		if (n == 0 && zero_ok) {
			*out = 0;
			return 0;
		}
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535 || (v == 0 && !zero_ok))
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Parse a `ports` item; why (n bytes) says what is wrong. */
static int pmap_parse(const json_t *v, struct pmap *pm, char *why, size_t n)
{
	const char *s, *slash, *c1, *c2, *port;
	size_t iplen;

	memset(pm, 0, sizeof(*pm));
	strcpy(pm->proto, "tcp");
	strcpy(pm->host_ip, "127.0.0.1");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 1 || json_integer_value(v) > 65535) {
			snprintf(why, n, "port %lld is not in 1-65535",
				 (long long)json_integer_value(v));
			return -1;
		}
		pm->port = (unsigned)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (!s) {
		snprintf(why, n, "a port must be an integer or a string");
		return -1;
	}
	slash = strchr(s, '/');
	if (slash) {
		if (strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp") &&
		    strcmp(slash + 1, "sctp")) {
			snprintf(why, n, "unknown protocol '%s' (tcp, udp or sctp)", slash + 1);
			return -1;
		}
		snprintf(pm->proto, sizeof(pm->proto), "%s", slash + 1);
	} else {
		slash = s + strlen(s);
	}
	c1 = memchr(s, ':', (size_t)(slash - s));
	c2 = c1 ? memchr(c1 + 1, ':', (size_t)(slash - c1 - 1)) : NULL;
	if (c2 && memchr(c2 + 1, ':', (size_t)(slash - c2 - 1)))
		goto bad; /* IPv6 host addresses are not supported */
	port = c2 ? c2 + 1 : c1 ? c1 + 1 : s;
	if (parse_port_num(port, (size_t)(slash - port), 0, &pm->port) < 0)
		goto bad;
	if (c2) {
		iplen = (size_t)(c1 - s);
		if (iplen == 0 || iplen >= sizeof(pm->host_ip))
			goto bad;
		memcpy(pm->host_ip, s, iplen);
		pm->host_ip[iplen] = '\0';
		{
			struct in_addr a;

			if (inet_pton(AF_INET, pm->host_ip, &a) != 1)
				goto bad;
		}
		if (parse_port_num(c1 + 1, (size_t)(c2 - c1 - 1), 1, &pm->host_port) < 0)
			goto bad;
	} else if (c1) {
		if (parse_port_num(s, (size_t)(c1 - s), 0, &pm->host_port) < 0)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, n,
		 "'%s' is not PORT[/PROTO], HOSTPORT:PORT[/PROTO] or IP:[HOSTPORT]:PORT[/PROTO]",
		 s);
	return -1;
}

static int origin_ok(const char *o)
{
	return !strcmp(o, "dockerhub") || !strcmp(o, "local") || !strncmp(o, "http://", 7) ||
	       !strncmp(o, "https://", 8) || templated(o);
}

static void check(struct comp_check *c, const json_t *sec)
{
	const json_t *v = json_object_get(sec, "ports"), *e;
	const char *k, *o = json_string_value(json_object_get(sec, "origin"));
	char why[256];
	struct pmap pm;
	size_t i;

	if (o && !origin_ok(o))
		comp_check_error(c, sec, "origin",
				 "'origin' must be 'dockerhub', 'local' or the http(s) URL of an "
				 "image tarball, not '%s'",
				 o);
	json_array_foreach (v, i, e) {
		if (templated(json_string_value(e)))
			continue;
		if (pmap_parse(e, &pm, why, sizeof(why)) < 0)
			comp_check_error(c, v, NULL, "item %zu of 'ports': %s", i + 1, why);
	}
	v = json_object_get(sec, "labels");
	json_object_foreach ((json_t *)v, k, e) {
		if (!strncmp(k, L_PREFIX, strlen(L_PREFIX)))
			comp_check_error(c, v, k,
					 "label '%s' of 'labels': names beginning with '%s' "
					 "are occopus's own",
					 k, L_PREFIX);
		else if (!json_is_string(e) && !json_is_number(e) && !json_is_boolean(e))
			comp_check_error(c, v, k,
					 "label '%s' of 'labels' must be a string, a "
					 "number or a boolean",
					 k);
	}
	v = json_object_get(sec, "stop_timeout");
	if (json_is_integer(v) &&
	    (json_integer_value(v) < 0 || json_integer_value(v) > MAX_STOP_TIMEOUT))
		comp_check_error(c, sec, "stop_timeout", "'stop_timeout' must be between 0 and %d",
				 MAX_STOP_TIMEOUT);
}

static const struct comp_schema schema = { "resource", "docker", keys, check };

/* A scalar as the text Python's str() gives (tags, label values). */
static void scalar_text(const json_t *v, char *buf, size_t n)
{
	int prec;

	if (json_is_string(v)) {
		snprintf(buf, n, "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		/* the shortest text that reads back as the same number, as repr() */
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, n, "%.*g", prec, json_real_value(v));
			if (strtod(buf, NULL) == json_real_value(v))
				break;
		}
		if (!strpbrk(buf, ".en"))
			snprintf(buf + strlen(buf), n - strlen(buf), ".0");
	} else if (json_is_boolean(v)) {
		snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
	} else {
		snprintf(buf, n, "%s", "");
	}
}

/* ---- the endpoint ---- */

struct ep {
	char *base; /* "http://d/v1.41", "http://host:2375/v1.41" */
	char *sock; /* the unix socket, or NULL */
};

static void ep_release(struct ep *ep)
{
	free(ep->base);
	free(ep->sock);
	memset(ep, 0, sizeof(*ep));
}

static int ep_parse(const char *s, struct ep *ep, struct occo_err *err)
{
	size_t n;

	memset(ep, 0, sizeof(*ep));
	if (!s)
		return occo_err_set(err, OCCO_EINVAL, "no 'endpoint'");
	if (!strncmp(s, "unix://", 7)) {
		if (s[7] != '/' || !s[8])
			goto bad;
		ep->sock = occo_strdup(s + 7);
		ep->base = occo_strdup("http://d" API_VERSION);
		return 0;
	}
	if (!strncmp(s, "tcp://", 6) || !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8)) {
		const char *host = strstr(s, "://") + 3;

		if (!*host || *host == '/' || strpbrk(host, " ?#@"))
			goto bad;
		n = strlen(host);
		while (n && host[n - 1] == '/')
			n--;
		ep->base =
			occo_asprintf("%s://%.*s" API_VERSION,
				      !strncmp(s, "https://", 8) ? "https" : "http", (int)n, host);
		return 0;
	}
bad:
	return occo_err_set(err, OCCO_EINVAL,
			    "invalid endpoint '%s' (want unix:///path, tcp://host:port or "
			    "http(s)://host:port)",
			    s);
}

/* Append s percent-encoded (RFC 3986 unreserved characters kept). */
static void append_escaped(struct occo_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			occo_buf_append(b, p, 1, NULL);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			occo_buf_append(b, e, 3, NULL);
		}
	}
}

/* The ?filters= value selecting one label (percent-encoded JSON). */
static char *label_filter(const char *label, const char *value)
{
	char *kv = occo_asprintf("%s=%s", label, value), *js;
	json_t *f = json_pack("{s:[s]}", "label", kv);
	struct occo_buf b;

	js = json_dumps(f, JSON_COMPACT);
	occo_buf_init(&b, TEXT_MAX);
	append_escaped(&b, js);
	free(js);
	free(kv);
	json_decref(f);
	return occo_buf_detach(&b, NULL);
}

/* ---- what a daemon says ---- */

/* The daemon's own words from an error response: its JSON "message", else its text. */
static void daemon_words(const struct occo_http_response *resp, char *out, size_t n)
{
	const char *body = occo_buf_str(&resp->body);
	json_t *j = json_loadb(body, resp->body.len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "message"));
	size_t len;

	if (!m)
		m = body;
	snprintf(out, n, "%s", *m ? m : "(no message)");
	len = strlen(out);
	while (len && isspace((unsigned char)out[len - 1]))
		out[--len] = '\0';
	json_decref(j);
}

/*
 * The first error in a stream of JSON progress objects (a pull or an import answers 200
 * and reports failures inside the stream), or NULL. The text is copied into out.
 */
static const char *stream_error(const struct occo_http_response *resp, char *out, size_t n)
{
	const char *p = occo_buf_str(&resp->body), *end = p + resp->body.len;
	const char *found = NULL;

	while (p < end && !found) {
		json_error_t je;
		json_t *j;

		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end)
			break;
		j = json_loadb(p, (size_t)(end - p), JSON_DISABLE_EOF_CHECK, &je);
		if (!j)
			break;
		if (json_string_value(json_object_get(j, "error"))) {
			snprintf(out, n, "%s", json_string_value(json_object_get(j, "error")));
			found = out;
		}
		json_decref(j);
		if (je.position <= 0)
			break;
		p += je.position;
	}
	return found;
}

static int status_transient(int status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

/* A name conflict: Docker says 409, Podman 500 with its own words. */
static int name_conflict(const struct occo_http_response *resp)
{
	char words[MAX_WORDS];

	if (resp->status == 409)
		return 1;
	if (resp->status != 500)
		return 0;
	daemon_words(resp, words, sizeof(words));
	return strstr(words, "already in use") != NULL;
}

/* ---- plugin state: the images prepared on each endpoint ---- */

enum img_state { IMG_PREPARING, IMG_READY };

struct image {
	struct image *next;
	struct docker *d; /* NULL once forgotten (failed, vanished, plugin stopped) */
	char *key; /* "<endpoint> <origin> <ref>" */
	char *what; /* "cannot pull image 'x:1'", for messages */
	enum img_state state;
	struct rh__jobq waiters; /* creates waiting for it */
	int refs; /* the list, and the preparing request */
};

struct docker {
	struct image *images;
};

static void image_unref(struct image *img)
{
	if (--img->refs == 0) {
		rh__jobq_drain(&img->waiters, NULL, 0);
		free(img->key);
		free(img->what);
		free(img);
	}
}

/* Take img out of its plugin's list (if still in one). */
static void image_forget(struct image *img)
{
	struct image **pp;

	if (!img->d)
		return;
	for (pp = &img->d->images; *pp; pp = &(*pp)->next) {
		if (*pp == img) {
			*pp = img->next;
			break;
		}
	}
	img->d = NULL;
	image_unref(img);
}

/* ---- one operation ---- */

/*
 * One operation's state machine (jobs.h). It outlives its request when cancelled: freed when
 * no HTTP request of it is in flight and no image is waited for any more.
 */
struct job {
	struct rh__job base;
	struct ep ep;
	char *endpoint; /* as written (the core puts it in front of our messages) */
	/* create */
	char *name, *ref, *token;
	json_t *body;
	int local;
	/* create, drop */
	char *id;
	/* drop */
	json_t *ids; /* containers to remove (by token) */
	size_t next;
	unsigned stop_timeout;
	/* create: the error that a clean-up reports when done */
	struct occo_err saved;
};

static void job_free(struct rh__job *base)
{
	struct job *job = (struct job *)base;

	ep_release(&job->ep);
	free(job->endpoint);
	free(job->name);
	free(job->ref);
	free(job->token);
	free(job->id);
	json_decref(job->body);
	json_decref(job->ids);
	free(job);
}

static const struct rh__job_ops job_ops = { .free = job_free };

/* Complete the request (if it is still there) with err (NULL: success). */
static void job_finish(struct job *job, const struct occo_err *err, unsigned flags)
{
	if (err)
		rh__job_fail(&job->base, err, flags);
	else if (job->base.kind == RH__JOB_CREATE)
		rh__job_created(&job->base, job->id);
	else
		rh__job_dropped(&job->base);
}

static int job_new(struct rh_req *req, enum rh__job_kind kind, struct job **out,
		   struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	const char *endpoint = json_string_value(json_object_get(n->resource, "endpoint"));
	struct job *job;
	struct ep ep;
	int rc;

	if (!rh_req_env(req)->http)
		return occo_err_set(err, OCCO_ENOTSUP, "the docker plugin needs the HTTP client");
	if ((rc = ep_parse(endpoint, &ep, err)) < 0)
		return rc;
	job = occo_calloc(1, sizeof(*job));
	rh__job_init(&job->base, &job_ops, req, kind);
	job->ep = ep;
	job->endpoint = occo_strdup(endpoint);
	*out = job;
	return 0;
}

/* The HTTP answer of a job: NULL when its request is gone (the job is then released). */
static struct job *job_back(void *ud)
{
	struct job *job = ud;
	int live = rh__job_live(&job->base);

	rh__job_unref(&job->base); /* the call's: a live job's request still holds one */
	return live ? job : NULL;
}

/* Send one API call: path (already escaped) under the API base, body JSON or NULL. */
static int job_call(struct job *job, const char *method, const char *path, const json_t *body,
		    unsigned flags, unsigned timeout_ms, size_t max_body, occo_http_cb cb,
		    struct occo_err *err)
{
	static const char *const json_hdr[] = { "Content-Type: application/json", NULL };
	char *url = occo_asprintf("%s%s", job->ep.base, path);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct occo_http_request rq = {
		.method = method,
		.url = url,
		.headers = body ? json_hdr : NULL,
		.body = text,
		.body_len = text ? strlen(text) : 0,
		.unix_socket = job->ep.sock,
		.flags = flags,
		.timeout_ms = timeout_ms,
		.max_body = max_body,
	};
	int rc;

	rc = occo_http_submit(rh_req_env(job->base.req)->http, &rq, cb, job, err);
	free(url);
	free(text);
	if (rc == 0)
		rh__job_ref(&job->base);
	return rc;
}

/* A transport failure: the endpoint does not answer (transient) or answers nonsense. */
static void job_fail_transport(struct job *job, const char *what, const struct occo_err *he)
{
	struct occo_err e;

	occo_err_copy(&e, he);
	if (he->code == OCCO_ECONN || he->code == OCCO_ETIMEDOUT) {
		occo_err_prefix(&e, "%s: the endpoint does not answer", what);
		job_finish(job, &e, RH_F_TRANSIENT);
	} else {
		occo_err_prefix(&e, "%s", what);
		job_finish(job, &e, 0);
	}
}

/* An HTTP error status: the daemon's words, transient for 429/502/503/504. */
static void job_fail_status(struct job *job, const char *what,
			    const struct occo_http_response *resp)
{
	char words[MAX_WORDS];
	struct occo_err e;

	daemon_words(resp, words, sizeof(words));
	occo_err_set(&e, status_transient(resp->status) ? OCCO_ECONN : OCCO_EREMOTE,
		     "%s: %s (HTTP %d)", what, words, resp->status);
	job_finish(job, &e, status_transient(resp->status) ? RH_F_TRANSIENT : 0);
}

/* ---- create ---- */

/* Split a command as a POSIX shell does, without expansions (Python's shlex.split). */
static int split_command(const char *s, json_t *out, struct occo_err *err)
{
	struct occo_buf w;
	int in_word = 0, rc = 0;
	const char *p;

	occo_buf_init(&w, strlen(s) + 1); /* no word is longer than the command */
	for (p = s;; p++) {
		if (!*p || isspace((unsigned char)*p)) {
			if (in_word)
				json_array_append_new(out, json_string(occo_buf_str(&w)));
			occo_buf_reset(&w);
			in_word = 0;
			if (!*p)
				break;
			continue;
		}
		in_word = 1;
		if (*p == '\'') {
			const char *q = strchr(p + 1, '\'');

			if (!q) {
				rc = occo_err_set(err, OCCO_EINVAL,
						  "'command' has an unterminated single quote");
				break;
			}
			occo_buf_append(&w, p + 1, (size_t)(q - p - 1), NULL);
			p = q;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1] && strchr("\\\"$`\n", p[1])) {
					p++;
					if (*p == '\n')
						continue;
				}
				occo_buf_append(&w, p, 1, NULL);
			}
			if (!*p) {
				rc = occo_err_set(err, OCCO_EINVAL,
						  "'command' has an unterminated double quote");
				break;
			}
		} else if (*p == '\\') {
			if (!p[1]) {
				rc = occo_err_set(err, OCCO_EINVAL,
						  "'command' ends with a lone backslash");
				break;
			}
			p++;
			if (*p != '\n')
				occo_buf_append(&w, p, 1, NULL);
		} else {
			occo_buf_append(&w, p, 1, NULL);
		}
	}
	occo_buf_release(&w);
	return rc;
}

/* Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]* in names. */
static void append_name_part(struct occo_buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++) {
		char c = isalnum((unsigned char)s[i]) || strchr("_.-", s[i]) ? s[i] : '_';

		occo_buf_append(b, &c, 1, NULL);
	}
}

static char *container_name(const struct rh_node *n)
{
	struct occo_buf b;

	occo_buf_init(&b, TEXT_MAX);
	occo_buf_appends(&b, "occopus-", NULL);
	append_name_part(&b, n->infra_id ? n->infra_id : "", 8);
	occo_buf_appends(&b, "-", NULL);
	append_name_part(&b, n->name ? n->name : "", 18);
	occo_buf_appends(&b, "-", NULL);
	append_name_part(&b, n->token, 128);
	return occo_buf_detach(&b, NULL);
}

static void label_set(json_t *labels, const char *k, const char *v)
{
	if (v)
		json_object_set_new(labels, k, json_string(v));
}

/* The body of POST /containers/create. */
static int create_body(const struct rh_node *n, const char *ref, json_t **out, struct occo_err *err)
{
	const json_t *res = n->resource, *a = n->attributes, *v, *e;
	const char *network = json_string_value(json_object_get(res, "network")), *k;
	json_t *body, *labels, *host, *exposed, *bindings, *list;
	char text[256];
	size_t i;
	int rc = 0;

	body = json_pack("{s:s}", "Image", ref);
	/* the contextualisation */
	v = json_object_get(a, "command");
	if (json_is_string(v)) {
		list = json_array();
		rc = split_command(json_string_value(v), list, err);
		json_object_set_new(body, "Cmd", list);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, e)
			if (!json_is_string(e))
				rc = occo_err_set(err, OCCO_EINVAL,
						  "item %zu of 'command' is not a string", i + 1);
		json_object_set(body, "Cmd", (json_t *)v);
	} else if (v && !json_is_null(v)) {
		rc = occo_err_set(err, OCCO_EINVAL, "'command' must be a string or a list");
	}
	v = json_object_get(a, "env");
	if (json_is_array(v)) {
		json_array_foreach (v, i, e)
			if (!json_is_string(e))
				rc = occo_err_set(err, OCCO_EINVAL,
						  "item %zu of 'env' is not a string", i + 1);
		json_object_set(body, "Env", (json_t *)v);
	} else if (v && !json_is_null(v)) {
		rc = occo_err_set(err, OCCO_EINVAL, "'env' must be a list of K=V strings");
	}
	/* labels: the user's, then ours */
	labels = json_object();
	json_object_foreach ((json_t *)json_object_get(res, "labels"), k, v) {
		scalar_text(v, text, sizeof(text));
		json_object_set_new(labels, k, json_string(text));
	}
	label_set(labels, L_INFRA, n->infra_id);
	label_set(labels, L_NODE, n->node_id);
	label_set(labels, L_NAME, n->name);
	label_set(labels, L_TOKEN, n->token);
	label_set(labels, L_NETWORK, network);
	json_object_set_new(body, "Labels", labels);
	/* the host: init, network, published ports */
	v = json_object_get(res, "init");
	host = json_pack("{s:b}", "Init", !json_is_false(v));
	if (network)
		json_object_set_new(host, "NetworkMode", json_string(network));
	v = json_object_get(res, "stop_timeout");
	json_object_set_new(
		body, "StopTimeout",
		json_integer(json_is_integer(v) ? json_integer_value(v) : DEF_STOP_TIMEOUT));
	exposed = json_object();
	bindings = json_object();
	json_array_foreach (json_object_get(res, "ports"), i, e) {
		struct pmap pm;
		char key[16], hp[8] = "";

		if (pmap_parse(e, &pm, text, sizeof(text)) < 0) {
			rc = occo_err_set(err, OCCO_EINVAL, "item %zu of 'ports': %s", i + 1, text);
			continue;
		}
		snprintf(key, sizeof(key), "%u/%s", pm.port, pm.proto);
		if (pm.host_port)
			snprintf(hp, sizeof(hp), "%u", pm.host_port);
		json_object_set_new(exposed, key, json_object());
		list = json_object_get(bindings, key);
		if (!list) {
			list = json_array();
			json_object_set_new(bindings, key, list);
		}
		json_array_append_new(
			list, json_pack("{s:s, s:s}", "HostIp", pm.host_ip, "HostPort", hp));
	}
	json_object_set_new(body, "ExposedPorts", exposed);
	json_object_set_new(host, "PortBindings", bindings);
	json_object_set_new(body, "HostConfig", host);
	if (rc < 0) {
		json_decref(body);
		return rc;
	}
	*out = body;
	return 0;
}

static void on_container_created(struct occo_http_response *resp, const struct occo_err *herr,
				 void *ud);
static int start_call(struct job *job, struct occo_err *err);

static int create_call(struct job *job, struct occo_err *err)
{
	struct occo_buf path;
	int rc;

	occo_buf_init(&path, TEXT_MAX);
	occo_buf_appends(&path, "/containers/create?name=", NULL);
	append_escaped(&path, job->name);
	rc = job_call(job, "POST", occo_buf_str(&path), job->body, 0, 0, 0, on_container_created,
		      err);
	occo_buf_release(&path);
	return rc;
}

/* An image is prepared (err NULL) or cannot be: every create waiting for it goes on. */
static void image_done(struct image *img, const struct occo_err *err, unsigned flags)
{
	struct rh__job *w;
	struct occo_err e;

	if (err) {
		image_forget(img); /* the next create tries again */
		rh__jobq_drain(&img->waiters, err, flags);
		return;
	}
	img->state = IMG_READY;
	while ((w = rh__jobq_pop(&img->waiters))) {
		if (rh__job_live(w) && create_call((struct job *)w, &e) < 0)
			rh__job_fail(w, &e, 0);
		rh__job_unref(w);
	}
}

static void on_image_prepared(struct occo_http_response *resp, const struct occo_err *herr,
			      void *ud)
{
	struct image *img = ud;
	char words[MAX_WORDS];
	struct occo_err e;

	if (!img->d) { /* the plugin stopped: nobody waits */
		image_unref(img);
		return;
	}
	if (herr) {
		occo_err_copy(&e, herr);
		occo_err_prefix(&e, "%s", img->what);
		image_done(img, &e,
			   herr->code == OCCO_ECONN || herr->code == OCCO_ETIMEDOUT ? RH_F_TRANSIENT
										    : 0);
	} else if (resp->status != 200) {
		daemon_words(resp, words, sizeof(words));
		occo_err_set(&e, OCCO_EREMOTE, "%s: %s (HTTP %d)", img->what, words, resp->status);
		image_done(img, &e, status_transient(resp->status) ? RH_F_TRANSIENT : 0);
	} else if (stream_error(resp, words, sizeof(words))) {
		occo_err_set(&e, OCCO_EREMOTE, "%s: %s", img->what, words);
		image_done(img, &e, 0);
	} else {
		image_done(img, NULL, 0);
	}
	image_unref(img);
}

/*
 * Pull or import the job's image once per endpoint and process; the job creates its container
 * when the image is there.
 */
static int image_need(struct job *job, const char *origin, const char *image, const char *tag,
		      struct occo_err *err)
{
	struct docker *d = rh_req_state(job->base.req);
	char *key = occo_asprintf("%s %s %s", job->endpoint, origin, job->ref);
	struct occo_http_request rq = { 0 };
	struct occo_buf path;
	struct image *img;
	int rc;

	for (img = d->images; img; img = img->next)
		if (!strcmp(img->key, key))
			break;
	if (img) {
		free(key);
		if (img->state == IMG_READY)
			return create_call(job, err);
		rh__jobq_push(&img->waiters, &job->base);
		return 0;
	}
	occo_buf_init(&path, TEXT_MAX);
	occo_buf_appendf(&path, NULL, "%s/images/create?", job->ep.base);
	if (!strcmp(origin, "dockerhub")) {
		occo_buf_appends(&path, "fromImage=", NULL);
		append_escaped(&path, image);
		occo_buf_appends(&path, "&tag=", NULL);
		append_escaped(&path, tag);
	} else {
		/* the repository may carry the tag (Podman ignores a separate one) */
		occo_buf_appends(&path, "fromSrc=", NULL);
		append_escaped(&path, origin);
		occo_buf_appends(&path, "&repo=", NULL);
		append_escaped(&path, job->ref);
	}
	img = occo_calloc(1, sizeof(*img));
	img->d = d;
	img->key = key;
	img->what = !strcmp(origin, "dockerhub")
			    ? occo_asprintf("cannot pull image '%s'", job->ref)
			    : occo_asprintf("cannot import image '%s' from '%s'", job->ref, origin);
	img->state = IMG_PREPARING;
	img->refs = 2; /* the list, the request */
	rq.method = "POST";
	rq.url = occo_buf_str(&path);
	rq.unix_socket = job->ep.sock;
	rq.flags = OCCO_HTTP_F_IDEMPOTENT;
	rq.timeout_ms = PREPARE_TIMEOUT_MS;
	rc = occo_http_submit(rh_req_env(job->base.req)->http, &rq, on_image_prepared, img, err);
	occo_buf_release(&path);
	if (rc < 0) {
		free(img->key);
		free(img->what);
		free(img);
		return rc;
	}
	img->next = d->images;
	d->images = img;
	rh__jobq_push(&img->waiters, &job->base);
	OCCO_DEBUG("preparing image", OCCO_KV("endpoint", job->endpoint),
		   OCCO_KV("image", job->ref), OCCO_KV("origin", origin));
	return 0;
}

/* The image of the job is not there (any more): forget we had prepared it. */
static void image_vanished(struct job *job)
{
	struct docker *d = rh_req_state(job->base.req);
	char *key = occo_asprintf(
		"%s %s %s", job->endpoint,
		json_string_value(json_object_get(rh_req_node(job->base.req)->resource, "origin")),
		job->ref);
	struct image *img;

	for (img = d->images; img; img = img->next) {
		if (!strcmp(img->key, key) && img->state == IMG_READY) {
			image_forget(img);
			break;
		}
	}
	free(key);
}

static void on_cleaned_up(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);

	(void)resp;
	(void)herr;
	if (job)
		job_finish(job, &job->saved, 0);
}

static void on_started(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);
	char words[MAX_WORDS], path[128], what[256];
	struct occo_err e;

	if (!job)
		return;
	snprintf(what, sizeof(what), "cannot start container '%s'", job->name);
	if (herr) {
		job_fail_transport(job, what, herr);
	} else if (resp->status == 204 || resp->status == 304) {
		job_finish(job, NULL, 0);
	} else if (resp->status == 404) { /* removed meanwhile: the next attempt creates it */
		daemon_words(resp, words, sizeof(words));
		occo_err_set(&e, OCCO_ENOENT, "%s: %s (HTTP 404)", what, words);
		job_finish(job, &e, RH_F_TRANSIENT);
	} else if (status_transient(resp->status)) {
		job_fail_status(job, what, resp);
	} else {
		/* it will never run: remove it, then say why */
		daemon_words(resp, words, sizeof(words));
		occo_err_set(&job->saved, OCCO_EREMOTE, "%s: %s (HTTP %d)", what, words,
			     resp->status);
		snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", job->id);
		if (job_call(job, "DELETE", path, NULL, OCCO_HTTP_F_IDEMPOTENT, 0, 0, on_cleaned_up,
			     &e) < 0)
			job_finish(job, &job->saved, 0);
	}
}

static int start_call(struct job *job, struct occo_err *err)
{
	char path[128];

	snprintf(path, sizeof(path), "/containers/%s/start", job->id);
	return job_call(job, "POST", path, NULL, 0, 0, 0, on_started, err);
}

/* A container id as the daemon gives it: hex (Docker, Podman). */
static int id_ok(const char *id)
{
	size_t n = id ? strspn(id, "0123456789abcdefABCDEF") : 0;

	return n > 0 && n <= 64 && !id[n];
}

/* The container that holds our name: ours (adopt it) or someone else's (an error). */
static void on_inspected(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);
	json_t *j = NULL;
	const char *id, *token;
	struct occo_err e;
	char what[256];

	if (!job)
		return;
	snprintf(what, sizeof(what), "cannot inspect container '%s'", job->name);
	if (herr) {
		job_fail_transport(job, what, herr);
		return;
	}
	if (resp->status == 404) { /* removed meanwhile: create again */
		occo_err_set(&e, OCCO_ESTATE, "container '%s' vanished while adopted", job->name);
		job_finish(job, &e, RH_F_TRANSIENT);
		return;
	}
	if (resp->status != 200) {
		job_fail_status(job, what, resp);
		return;
	}
	j = json_loadb(occo_buf_str(&resp->body), resp->body.len, 0, NULL);
	id = json_string_value(json_object_get(j, "Id"));
	token = json_string_value(
		json_object_get(json_object_get(json_object_get(j, "Config"), "Labels"), L_TOKEN));
	if (!id_ok(id)) {
		occo_err_set(&e, OCCO_EPROTO, "%s: no container id in the answer", what);
		job_finish(job, &e, 0);
	} else if (!token || strcmp(token, job->token)) {
		occo_err_set(&e, OCCO_EEXIST,
			     "container name '%s' is taken by container %.12s, which is "
			     "not this node's (%s%s%s)",
			     job->name, id, token ? "its " L_TOKEN " label is '" : "it has no ",
			     token ? token : L_TOKEN " label", token ? "'" : "");
		job_finish(job, &e, 0);
	} else {
		/* ours, from an earlier attempt or a run that crashed */
		free(job->id);
		job->id = occo_strdup(id);
		OCCO_DEBUG("adopting container", OCCO_KV("endpoint", job->endpoint),
			   OCCO_KV("container", job->name));
		if (json_is_true(json_object_get(json_object_get(j, "State"), "Running")))
			job_finish(job, NULL, 0);
		else if (start_call(job, &e) < 0)
			job_finish(job, &e, 0);
	}
	json_decref(j);
}

static void on_container_created(struct occo_http_response *resp, const struct occo_err *herr,
				 void *ud)
{
	struct job *job = job_back(ud);
	struct occo_buf path;
	struct occo_err e;
	char what[512];
	json_t *j;
	int rc;

	if (!job)
		return;
	snprintf(what, sizeof(what), "cannot create container '%s' from image '%s'", job->name,
		 job->ref);
	if (herr) {
		job_fail_transport(job, what, herr);
	} else if (resp->status == 201 || resp->status == 200) {
		j = json_loadb(occo_buf_str(&resp->body), resp->body.len, 0, NULL);
		if (!id_ok(json_string_value(json_object_get(j, "Id")))) {
			occo_err_set(&e, OCCO_EPROTO, "%s: no container id in the answer", what);
			job_finish(job, &e, 0);
		} else {
			job->id = occo_strdup(json_string_value(json_object_get(j, "Id")));
			if (start_call(job, &e) < 0)
				job_finish(job, &e, 0);
		}
		json_decref(j);
	} else if (name_conflict(resp)) {
		occo_buf_init(&path, TEXT_MAX);
		occo_buf_appends(&path, "/containers/", NULL);
		append_escaped(&path, job->name);
		occo_buf_appends(&path, "/json", NULL);
		rc = job_call(job, "GET", occo_buf_str(&path), NULL, 0, 0, 0, on_inspected, &e);
		occo_buf_release(&path);
		if (rc < 0)
			job_finish(job, &e, 0);
	} else if (resp->status == 404 && !job->local) {
		char words[MAX_WORDS];

		/* the image we prepared is gone: prepare it again on the next attempt */
		image_vanished(job);
		daemon_words(resp, words, sizeof(words));
		occo_err_set(&e, OCCO_ENOENT, "%s: %s (HTTP 404)", what, words);
		job_finish(job, &e, RH_F_TRANSIENT);
	} else {
		job_fail_status(job, what, resp);
	}
}

static int docker_create(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	const char *origin = json_string_value(json_object_get(n->resource, "origin"));
	const char *image = json_string_value(json_object_get(n->resource, "image"));
	char tag[128];
	struct job *job;
	int rc;

	if (!n->token || !*n->token)
		return occo_err_set(err, OCCO_EINVAL, "no idempotency token");
	if (!origin || !origin_ok(origin) || templated(origin))
		return occo_err_set(err, OCCO_EINVAL,
				    "'origin' must be 'dockerhub', 'local' or the http(s) URL of "
				    "an image tarball, not '%s'",
				    origin ? origin : "");
	if (!image || !*image)
		return occo_err_set(err, OCCO_EINVAL, "no 'image'");
	scalar_text(json_object_get(n->resource, "tag"), tag, sizeof(tag));
	if (!*tag)
		return occo_err_set(err, OCCO_EINVAL, "no 'tag'");
	if ((rc = job_new(req, RH__JOB_CREATE, &job, err)) < 0)
		return rc;
	job->ref = occo_asprintf("%s:%s", image, tag);
	job->name = container_name(n);
	job->token = occo_strdup(n->token);
	job->local = !strcmp(origin, "local");
	rc = create_body(n, job->ref, &job->body, err);
	if (rc == 0)
		rc = job->local ? create_call(job, err) : image_need(job, origin, image, tag, err);
	if (rc < 0)
		rh__job_abandon(&job->base);
	return rc;
}

/* ---- drop ---- */

static void on_stopped(struct occo_http_response *resp, const struct occo_err *herr, void *ud);

/* Stop and remove the next container of the job, or finish. */
static int drop_next(struct job *job, struct occo_err *err)
{
	const char *id = json_string_value(json_array_get(job->ids, job->next));
	char path[160];

	if (job->next >= json_array_size(job->ids)) {
		job_finish(job, NULL, 0);
		return 0;
	}
	free(job->id);
	job->id = occo_strdup(id);
	snprintf(path, sizeof(path), "/containers/%s/stop?t=%u", id, job->stop_timeout);
	return job_call(job, "POST", path, NULL, OCCO_HTTP_F_IDEMPOTENT,
			(job->stop_timeout + 30) * 1000, 0, on_stopped, err);
}

static void on_removed(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);
	struct occo_err e;
	char what[128];

	if (!job)
		return;
	snprintf(what, sizeof(what), "cannot remove container %.12s", job->id);
	if (herr) {
		job_fail_transport(job, what, herr);
	} else if (resp->status == 409) { /* a removal already in progress: see it through */
		char words[MAX_WORDS];

		daemon_words(resp, words, sizeof(words));
		occo_err_set(&e, OCCO_EBUSY, "%s: %s (HTTP 409)", what, words);
		job_finish(job, &e, RH_F_TRANSIENT);
	} else if (resp->status < 300 || resp->status == 404) {
		job->next++;
		if (drop_next(job, &e) < 0)
			job_finish(job, &e, 0);
	} else {
		job_fail_status(job, what, resp);
	}
}

static void on_stopped(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);
	struct occo_err e;
	char path[160], what[64];

	if (!job)
		return;
	if (herr) {
		snprintf(what, sizeof(what), "cannot stop container %.12s", job->id);
		job_fail_transport(job, what, herr);
		return;
	}
	if (resp->status == 404) { /* gone already */
		job->next++;
		if (drop_next(job, &e) < 0)
			job_finish(job, &e, 0);
		return;
	}
	/* whatever the stop said (stopped, not running, in a state it cannot stop), remove it */
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", job->id);
	if (job_call(job, "DELETE", path, NULL, OCCO_HTTP_F_IDEMPOTENT, 0, 0, on_removed, &e) < 0)
		job_finish(job, &e, 0);
}

/* The containers labelled with the token, to drop. */
static void on_found(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);
	json_t *j, *c;
	struct occo_err e;
	size_t i;

	if (!job)
		return;
	if (herr) {
		job_fail_transport(job, "cannot list containers", herr);
		return;
	}
	if (resp->status != 200) {
		job_fail_status(job, "cannot list containers", resp);
		return;
	}
	j = json_loadb(occo_buf_str(&resp->body), resp->body.len, 0, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		occo_err_set(&e, OCCO_EPROTO, "cannot list containers: not a JSON list");
		job_finish(job, &e, 0);
		return;
	}
	json_array_foreach (j, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));

		if (id_ok(id))
			json_array_append_new(job->ids, json_string(id));
	}
	json_decref(j);
	if (drop_next(job, &e) < 0)
		job_finish(job, &e, 0);
}

static int docker_drop(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	const json_t *st = json_object_get(n->resource, "stop_timeout");
	struct job *job;
	char *filter, *path;
	int rc;

	if (n->instance_id && *n->instance_id && !id_ok(n->instance_id))
		return occo_err_set(err, OCCO_EINVAL, "invalid container id '%s'", n->instance_id);
	if ((!n->instance_id || !*n->instance_id) && (!n->token || !*n->token))
		return occo_err_set(err, OCCO_EINVAL, "no container id and no token");
	if ((rc = job_new(req, RH__JOB_DROP, &job, err)) < 0)
		return rc;
	job->ids = json_array();
	job->stop_timeout = DEF_STOP_TIMEOUT;
	if (json_is_integer(st) && json_integer_value(st) >= 0 &&
	    json_integer_value(st) <= MAX_STOP_TIMEOUT)
		job->stop_timeout = (unsigned)json_integer_value(st);
	if (n->instance_id && *n->instance_id) {
		json_array_append_new(job->ids, json_string(n->instance_id));
		rc = drop_next(job, err);
	} else {
		filter = label_filter(L_TOKEN, n->token);
		path = occo_asprintf("/containers/json?all=1&filters=%s", filter);
		rc = job_call(job, "GET", path, NULL, 0, 0, 0, on_found, err);
		free(path);
		free(filter);
	}
	if (rc < 0)
		rh__job_abandon(&job->base);
	return rc;
}

/* ---- list ---- */

static enum rh_state state_of(const char *s)
{
	if (!s)
		return RH_UNKNOWN;
	if (!strcmp(s, "running"))
		return RH_READY;
	if (!strcmp(s, "restarting"))
		return RH_PENDING;
	if (!strcmp(s, "paused"))
		return RH_TEMP_FAILED;
	return RH_SHUTDOWN; /* created, exited, dead, removing, stopped, configured, ... */
}

/* The container's IP: on the network it was created on, else on the first that has one. */
static const char *address_of(const json_t *c, const char *network)
{
	const json_t *nets = json_object_get(json_object_get(c, "NetworkSettings"), "Networks");
	const char *k, *ip;
	json_t *v;

	if (network && !strcmp(network, "host"))
		return "127.0.0.1";
	if (network) {
		ip = json_string_value(
			json_object_get(json_object_get(nets, network), "IPAddress"));
		if (ip && *ip)
			return ip;
	}
	json_object_foreach ((json_t *)nets, k, v) {
		ip = json_string_value(json_object_get(v, "IPAddress"));
		if (ip && *ip)
			return ip;
	}
	return NULL;
}

/* {"80/tcp": "127.0.0.1:43041"} of the list's "Ports", or NULL when none is published. */
static json_t *published_of(const json_t *c)
{
	const json_t *ports = json_object_get(c, "Ports"), *p;
	json_t *out = NULL;
	char key[32], val[80];
	size_t i;

	json_array_foreach (ports, i, p) {
		json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
		json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
		const char *type = json_string_value(json_object_get(p, "Type"));
		const char *ip = json_string_value(json_object_get(p, "IP"));

		if (priv <= 0 || priv > 65535 || pub <= 0 || pub > 65535)
			continue;
		if (ip && strchr(ip, ':')) /* the IPv6 twin of a binding */
			continue;
		snprintf(key, sizeof(key), "%lld/%.8s", (long long)priv, type ? type : "tcp");
		snprintf(val, sizeof(val), "%s:%lld", ip && *ip ? ip : "0.0.0.0", (long long)pub);
		if (!out)
			out = json_object();
		if (!json_object_get(out, key))
			json_object_set_new(out, key, json_string(val));
	}
	return out;
}

static void on_listed(struct occo_http_response *resp, const struct occo_err *herr, void *ud)
{
	struct job *job = job_back(ud);
	struct rh_instance *v;
	json_t *j, *c, **addrs, **pubs;
	struct occo_err e;
	char **msgs;
	size_t i, n = 0;

	if (!job)
		return;
	if (herr) {
		job_fail_transport(job, "cannot list containers", herr);
		return;
	}
	if (resp->status != 200) {
		job_fail_status(job, "cannot list containers", resp);
		return;
	}
	j = json_loadb(occo_buf_str(&resp->body), resp->body.len, 0, NULL);
	if (!json_is_array(j)) {
		json_decref(j);
		occo_err_set(&e, OCCO_EPROTO, "cannot list containers: not a JSON list");
		job_finish(job, &e, 0);
		return;
	}
	v = occo_calloc(json_array_size(j) + 1, sizeof(*v));
	addrs = occo_calloc(json_array_size(j) + 1, sizeof(*addrs));
	pubs = occo_calloc(json_array_size(j) + 1, sizeof(*pubs));
	msgs = occo_calloc(json_array_size(j) + 1, sizeof(*msgs));
	json_array_foreach (j, i, c) {
		const json_t *labels = json_object_get(c, "Labels");
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *state = json_string_value(json_object_get(c, "State"));
		const char *status = json_string_value(json_object_get(c, "Status"));
		const char *ip;

		if (!id)
			continue;
		v[n].instance_id = id;
		v[n].token = json_string_value(json_object_get(labels, L_TOKEN));
		v[n].state = state_of(state);
		addrs[n] = json_array();
		ip = address_of(c, json_string_value(json_object_get(labels, L_NETWORK)));
		if (ip && v[n].state == RH_READY) {
			json_array_append_new(addrs[n], json_string(ip));
			v[n].private_address = ip;
		}
		v[n].addresses = addrs[n];
		pubs[n] = published_of(c);
		v[n].published = pubs[n];
		if (v[n].state != RH_READY) {
			msgs[n] = occo_asprintf("container %s%s%s", state ? state : "in no state",
						status ? ": " : "", status ? status : "");
			v[n].message = msgs[n];
		}
		n++;
	}
	rh__job_listed(&job->base, v, n);
	for (i = 0; i < n; i++) {
		json_decref(addrs[i]);
		json_decref(pubs[i]);
		free(msgs[i]);
	}
	free(v);
	free(addrs);
	free(pubs);
	free(msgs);
	json_decref(j);
}

static int docker_list(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct job *job;
	char *filter, *path;
	int rc;

	if (!n->infra_id || !*n->infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if ((rc = job_new(req, RH__JOB_LIST, &job, err)) < 0)
		return rc;
	filter = label_filter(L_INFRA, n->infra_id);
	path = occo_asprintf("/containers/json?all=1&filters=%s", filter);
	rc = job_call(job, "GET", path, NULL, 0, 0, LIST_MAX_BODY, on_listed, err);
	free(path);
	free(filter);
	if (rc < 0)
		rh__job_abandon(&job->base);
	return rc;
}

/* ---- the plugin ---- */

static int docker_start(const struct rh_env *env, void **state, struct occo_err *err)
{
	(void)env;
	(void)err;
	*state = occo_calloc(1, sizeof(struct docker));
	return 0;
}

static void docker_stop(void *state)
{
	struct docker *d = state;

	while (d->images) {
		/* every request was cancelled: nobody waits */
		rh__jobq_drain(&d->images->waiters, NULL, 0);
		image_forget(d->images);
	}
	free(d);
}

const struct rh_ops rh__docker_ops = {
	.name = "docker",
	.schema = &schema,
	.req_size = RH__JOB_REQ_SIZE,
	.create = docker_create,
	.drop = docker_drop,
	.list = docker_list,
	.cancel = rh__job_cancel,
	.start = docker_start,
	.stop = docker_stop,
};
