/*
 * log.c - logfmt/JSON log lines with secret redaction.
 *
 * Every piece of a line (message and values) is redacted before it is formatted: values marked
 * secret or under a secret-looking key become "***", and registered secret strings are cut out
 * wherever they appear. Formatting happens into a bounded buffer; an overlong line is cut.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/clock.h"
#include "occo/util/log.h"

#define LINE_MAX_BYTES (64 * 1024)
#define REDACTED "***"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_level = -1; /* -1: not read from the environment yet */
static enum occo_log_format log_format = OCCO_LOG_FMT_TEXT;
static occo_log_sink_fn log_sink;
static void *log_sink_ud;
static char **secrets;
static size_t nsecrets;

/* Substrings of key names whose values are secret whatever the caller says. */
static const char *const secret_keys[] = {
	"password",   "passwd",	       "secret",  "token",  "credential",
	"accesskey",  "access_key",    "api_key", "apikey", "private_key",
	"client_key", "authorization", "cookie",
};

int occo_log_level_parse(const char *name)
{
	if (!name)
		return -1;
	if (!strcasecmp(name, "error"))
		return OCCO_LOG_ERROR;
	if (!strcasecmp(name, "warn") || !strcasecmp(name, "warning"))
		return OCCO_LOG_WARN;
	if (!strcasecmp(name, "info"))
		return OCCO_LOG_INFO;
	if (!strcasecmp(name, "debug"))
		return OCCO_LOG_DEBUG;
	return -1;
}

static const char *level_name(int level)
{
	switch (level) {
	case OCCO_LOG_ERROR:
		return "error";
	case OCCO_LOG_WARN:
		return "warn";
	case OCCO_LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void occo_log_set_level(int level)
{
	log_level = level;
}

int occo_log_get_level(void)
{
	if (log_level < 0) {
		int l = occo_log_level_parse(getenv("OCCOPUS_LOG_LEVEL"));

		log_level = l < 0 ? OCCO_LOG_INFO : l;
	}
	return log_level;
}

void occo_log_set_format(enum occo_log_format fmt)
{
	log_format = fmt;
}

void occo_log_set_sink(occo_log_sink_fn fn, void *ud)
{
	pthread_mutex_lock(&log_lock);
	log_sink = fn;
	log_sink_ud = ud;
	pthread_mutex_unlock(&log_lock);
}

void occo_log_secret_add(const char *secret)
{
	size_t i;

	if (!secret || strlen(secret) < 4)
		return;
	pthread_mutex_lock(&log_lock);
	for (i = 0; i < nsecrets; i++)
		if (!strcmp(secrets[i], secret))
			goto out;
	secrets = occo_reallocarray(secrets, nsecrets + 1, sizeof(*secrets));
	secrets[nsecrets++] = occo_strdup(secret);
out:
	pthread_mutex_unlock(&log_lock);
}

void occo_log_secret_clear(void)
{
	size_t i;

	pthread_mutex_lock(&log_lock);
	for (i = 0; i < nsecrets; i++)
		occo_free_secret(secrets[i]);
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
	pthread_mutex_unlock(&log_lock);
}

/* Redact with the lock held. */
static char *redact_locked(char *s)
{
	size_t i, slen, rlen = strlen(REDACTED);
	char *p;

	for (i = 0; i < nsecrets; i++) {
		slen = strlen(secrets[i]);
		p = s;
		while ((p = strstr(p, secrets[i])) != NULL) {
			memcpy(p, REDACTED, rlen);
			memmove(p + rlen, p + slen, strlen(p + slen) + 1);
			p += rlen;
		}
	}
	return s;
}

char *occo_log_redact(char *s)
{
	if (!s)
		return s;
	pthread_mutex_lock(&log_lock);
	redact_locked(s);
	pthread_mutex_unlock(&log_lock);
	return s;
}

static int key_is_secret(const char *key)
{
	size_t i, n = strlen(key);
	char low[128];

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (strstr(low, secret_keys[i]))
			return 1;
	return 0;
}

/* logfmt: quote when empty or when the value holds a space, '=', '"' or a control char. */
static void put_logfmt_value(struct occo_buf *b, const char *v)
{
	const unsigned char *p;
	int quote = !*v;

	for (p = (const unsigned char *)v; *p && !quote; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f)
			quote = 1;
	if (!quote) {
		occo_buf_appends(b, v, NULL);
		return;
	}
	occo_buf_append(b, "\"", 1, NULL);
	for (p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			occo_buf_appendf(b, NULL, "\\%c", *p);
		else if (*p == '\n')
			occo_buf_appends(b, "\\n", NULL);
		else if (*p == '\t')
			occo_buf_appends(b, "\\t", NULL);
		else if (*p < ' ' || *p == 0x7f)
			occo_buf_appendf(b, NULL, "\\x%02x", *p);
		else
			occo_buf_append(b, p, 1, NULL);
	}
	occo_buf_append(b, "\"", 1, NULL);
}

static void default_sink(int level, const char *line, void *ud)
{
	(void)level;
	(void)ud;
	fprintf(stderr, "%s\n", line);
}

void occo_log_kv(int level, const char *file, int line, const char *msg, const struct occo_kv *kv)
{
	struct occo_buf b;
	char ts[32], src[256];
	char *m, *v;
	json_t *obj = NULL;
	const struct occo_kv *k;

	if (level > occo_log_get_level())
		return;
	occo_clock_format(occo_clock_wall_ms(), ts);
	occo_buf_init(&b, LINE_MAX_BYTES);
	pthread_mutex_lock(&log_lock);
	m = redact_locked(occo_strdup(msg ? msg : ""));
	if (log_format == OCCO_LOG_FMT_JSON) {
		obj = json_object();
		json_object_set_new(obj, "ts", json_string(ts));
		json_object_set_new(obj, "level", json_string(level_name(level)));
		json_object_set_new(obj, "msg", json_string(m));
	} else {
		occo_buf_appendf(&b, NULL, "ts=%s level=%s msg=", ts, level_name(level));
		put_logfmt_value(&b, m);
	}
	free(m);
	for (k = kv; k && k->key; k++) {
		if ((k->flags & OCCO_KV_F_SECRET) || key_is_secret(k->key))
			v = occo_strdup(REDACTED);
		else
			v = redact_locked(occo_strdup(k->val ? k->val : ""));
		if (obj) {
			json_object_set_new(obj, k->key, json_string(v));
		} else {
			occo_buf_appendf(&b, NULL, " %s=", k->key);
			put_logfmt_value(&b, v);
		}
		free(v);
	}
	if (level >= OCCO_LOG_DEBUG && file) {
		const char *base = strrchr(file, '/');

		snprintf(src, sizeof(src), "%s:%d", base ? base + 1 : file, line);
		if (obj) {
			json_object_set_new(obj, "src", json_string(src));
		} else {
			occo_buf_appends(&b, " src=", NULL);
			occo_buf_appends(&b, src, NULL);
		}
	}
	if (obj) {
		char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);

		occo_buf_appends(&b, s ? s : "{}", NULL);
		free(s);
		json_decref(obj);
	}
	(log_sink ? log_sink : default_sink)(level, occo_buf_str(&b), log_sink_ud);
	pthread_mutex_unlock(&log_lock);
	occo_buf_release(&b);
}

void occo_logf(int level, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (level > occo_log_get_level())
		return;
	va_start(ap, fmt);
	m = occo_vasprintf(fmt, ap);
	va_end(ap);
	occo_log_kv(level, NULL, 0, m, NULL);
	free(m);
}
