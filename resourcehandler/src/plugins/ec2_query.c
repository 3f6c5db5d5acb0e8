/*
 * ec2_query.c - form encoding, base64, and reading the XML answers of the EC2 Query API (see
 * ec2_query.h). Pure functions: the ec2 plugin does the talking.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "occo/util/alloc.h"
#include "occo/util/xml.h"
#include "ec2_query.h"

#define MSG_MAX 400 /* bytes of a cloud's error message we keep */

/* ---- the form ---- */

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static int put_encoded(struct occo_buf *b, const char *s, struct occo_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	const unsigned char *run;
	int rc;

	for (p = (const unsigned char *)s; *p;) {
		for (run = p; *p && unreserved(*p); p++)
			;
		if (p > run && (rc = occo_buf_append(b, run, (size_t)(p - run), err)) < 0)
			return rc;
		if (*p) {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			if ((rc = occo_buf_append(b, e, 3, err)) < 0)
				return rc;
			p++;
		}
	}
	return 0;
}

int rh__ec2_param(struct occo_buf *b, const char *key, const char *value, struct occo_err *err)
{
	int rc;

	if (b->len && (rc = occo_buf_append(b, "&", 1, err)) < 0)
		return rc;
	if ((rc = put_encoded(b, key, err)) < 0 || (rc = occo_buf_append(b, "=", 1, err)) < 0)
		return rc;
	return put_encoded(b, value ? value : "", err);
}

int rh__ec2_paramf(struct occo_buf *b, const char *value, struct occo_err *err, const char *fmt,
		   ...)
{
	char key[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	return rh__ec2_param(b, key, value, err);
}

char *rh__ec2_base64(const void *data, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	char *out = occo_malloc((n + 2) / 3 * 4 + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i += 3) {
		unsigned long x = (unsigned long)p[i] << 16;

		if (i + 1 < n)
			x |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			x |= p[i + 2];
		*o++ = tab[(x >> 18) & 63];
		*o++ = tab[(x >> 12) & 63];
		*o++ = i + 1 < n ? tab[(x >> 6) & 63] : '=';
		*o++ = i + 2 < n ? tab[x & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* ---- instances ---- */

enum rh_state rh__ec2_state(const char *name)
{
	static const struct {
		const char *ec2;
		enum rh_state s;
	} map[] = {
		{ "pending", RH_PENDING },	  { "running", RH_READY },
		{ "shutting-down", RH_SHUTDOWN }, { "terminated", RH_SHUTDOWN },
		{ "stopping", RH_TEMP_FAILED },	  { "stopped", RH_TEMP_FAILED },
	};
	size_t i;

	for (i = 0; name && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].ec2, name))
			return map[i].s;
	return RH_UNKNOWN;
}

void rh__ec2_inst_release(struct rh__ec2_inst *v)
{
	free(v->id);
	free(v->token);
	free(v->state_name);
	json_decref(v->addresses);
	free(v->private_address);
	free(v->message);
	memset(v, 0, sizeof(*v));
}

void rh__ec2_insts_release(struct rh__ec2_insts *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		rh__ec2_inst_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static char *dup_nonempty(const char *s)
{
	return s && *s ? occo_strdup(s) : NULL;
}

static void add_address(json_t *list, const char *a)
{
	const json_t *v;
	size_t i;

	if (!a || !*a)
		return;
	json_array_foreach (list, i, v)
		if (!strcmp(json_string_value(v), a))
			return;
	json_array_append_new(list, json_string(a));
}

static void read_instance(const struct occo_xml_node *it, struct rh__ec2_inst *v)
{
	const struct occo_xml_node *tag;
	const char *reason;

	v->id = occo_strdup(occo_xml_text(it, "instanceId"));
	v->state_name = dup_nonempty(occo_xml_text(it, "instanceState/name"));
	v->state = rh__ec2_state(v->state_name);
	for (tag = occo_xml_find(it, "tagSet/item"); tag; tag = occo_xml_next(tag)) {
		const char *k = occo_xml_text(tag, "key");

		if (k && !strcmp(k, RH__EC2_TAG_TOKEN) && !v->token)
			v->token = dup_nonempty(occo_xml_text(tag, "value"));
	}
	v->addresses = json_array();
	add_address(v->addresses, occo_xml_text(it, "dnsName"));
	add_address(v->addresses, occo_xml_text(it, "ipAddress"));
	add_address(v->addresses, occo_xml_text(it, "privateIpAddress"));
	v->private_address = dup_nonempty(occo_xml_text(it, "privateIpAddress"));
	reason = occo_xml_text(it, "stateReason/message");
	if (v->state == RH_UNKNOWN)
		v->message =
			occo_asprintf("unknown EC2 state '%s'", v->state_name ? v->state_name : "");
	else if (v->state != RH_PENDING && v->state != RH_READY && reason && *reason)
		v->message = occo_strdup(reason);
}

static int add_items(const struct occo_xml_node *set, struct rh__ec2_insts *out, size_t max,
		     struct occo_err *err)
{
	const struct occo_xml_node *it;

	for (it = occo_xml_child(set, "item"); it; it = occo_xml_next(it)) {
		if (!occo_xml_text(it, "instanceId") || !*occo_xml_text(it, "instanceId"))
			continue;
		if (out->n >= max)
			return occo_err_set(err, OCCO_ETOOBIG, "more than %zu instances", max);
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->v = occo_reallocarray(out->v, out->cap, sizeof(*out->v));
		}
		memset(&out->v[out->n], 0, sizeof(out->v[0]));
		read_instance(it, &out->v[out->n++]);
	}
	return 0;
}

int rh__ec2_parse_instances(const char *body, size_t len, struct rh__ec2_insts *out, size_t max,
			    char **next_token, struct occo_err *err)
{
	const struct occo_xml_node *root, *res;
	struct occo_xml *x;
	int rc = 0;

	*next_token = NULL;
	if ((rc = occo_xml_parse(body, len, &x, err)) < 0)
		return rc;
	root = occo_xml_root(x);
	if (!strcmp(root->name, "DescribeInstancesResponse")) {
		for (res = occo_xml_find(root, "reservationSet/item"); res && rc == 0;
		     res = occo_xml_next(res))
			rc = add_items(occo_xml_child(res, "instancesSet"), out, max, err);
		if (rc == 0)
			*next_token = dup_nonempty(occo_xml_text(root, "nextToken"));
	} else if (!strcmp(root->name, "RunInstancesResponse")) {
		rc = add_items(occo_xml_child(root, "instancesSet"), out, max, err);
	} else {
		rc = occo_err_set(err, OCCO_EPROTO, "unexpected answer <%s>", root->name);
	}
	occo_xml_free(x);
	return rc;
}

/* ---- errors ---- */

static int in_list(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(code, *list))
			return 1;
	return 0;
}

/* A cloud's text, cut and cleaned for a message. */
static void clean(char *dst, size_t n, const char *src)
{
	size_t i;

	snprintf(dst, n, "%s", src ? src : "");
	for (i = 0; dst[i]; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

enum rh__ec2_fault rh__ec2_error(int status, const char *body, size_t len, const char *action,
				 const char *endpoint, struct occo_err *err)
{
	static const char *const auth[] = { "AuthFailure",
					    "SignatureDoesNotMatch",
					    "InvalidClientTokenId",
					    "IncompleteSignature",
					    "MissingAuthenticationToken",
					    "InvalidAccessKeyId",
					    "UnrecognizedClientException",
					    NULL };
	static const char *const limit[] = {
		"RequestLimitExceeded",	       "Throttling",
		"ThrottlingException",	       "InsufficientInstanceCapacity",
		"InsufficientHostCapacity",    "InsufficientReservedInstanceCapacity",
		"InsufficientAddressCapacity", NULL
	};
	static const char *const busy[] = { "InternalError", "InternalFailure",
					    "ServiceUnavailable", "Unavailable", NULL };
	char code[128] = "", msg[MSG_MAX] = "";
	const struct occo_xml_node *e = NULL;
	struct occo_xml *x = NULL;
	int server = status >= 500 || status == 429;

	if (body && len && occo_xml_parse(body, len, &x, NULL) == 0) {
		e = occo_xml_find(occo_xml_root(x), "Errors/Error");
		if (!e)
			e = occo_xml_child(occo_xml_root(x), "Error");
		if (e) {
			clean(code, sizeof(code), occo_xml_text(e, "Code"));
			clean(msg, sizeof(msg), occo_xml_text(e, "Message"));
		}
		occo_xml_free(x);
	}
	/* a 403 UnauthorizedOperation is a missing permission, said in the cloud's words below */
	if (in_list(code, auth) ||
	    ((status == 401 || status == 403) && strcmp(code, "UnauthorizedOperation"))) {
		if (*code)
			occo_err_set(err, OCCO_EAUTH, "%s: bad credentials for '%s' (%s: %s)",
				     action, endpoint, code, msg);
		else
			occo_err_set(err, OCCO_EAUTH, "%s: bad credentials for '%s' (HTTP %d)",
				     action, endpoint, status);
		return RH__EC2_F_AUTH;
	}
	if (!*code) {
		occo_err_set(err, server ? OCCO_EREMOTE : OCCO_EPROTO, "%s: HTTP %d from '%s'",
			     action, status, endpoint);
		return server ? RH__EC2_F_TRANSIENT : RH__EC2_F_OTHER;
	}
	if (in_list(code, limit)) {
		occo_err_set(err, OCCO_ELIMIT, "%s: %s: %s", action, code, msg);
		return RH__EC2_F_TRANSIENT;
	}
	occo_err_set(err, OCCO_EREMOTE, "%s: %s: %s", action, code, msg);
	if (server || in_list(code, busy))
		return RH__EC2_F_TRANSIENT;
	if (!strcmp(code, "InvalidInstanceID.NotFound"))
		return RH__EC2_F_NOT_FOUND;
	return RH__EC2_F_OTHER;
}

void rh__ec2_scrub(char *msg, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (n < 4)
		return;
	while ((p = strstr(msg, secret))) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + n, strlen(p + n) + 1);
	}
}
