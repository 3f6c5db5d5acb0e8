/*
 * log.h - logging with levels and key=value context.
 *
 * One line per event, logfmt by default:
 *   ts=2026-11-22T10:00:00.123Z level=info msg="node ready" infra=3f2a... node=worker
 * or one JSON object per line (occo_log_set_format). Levels are syslog's.
 *
 * Secrets never reach a line: a value passed with OCCO_SECRET() is written as "***", values of
 * keys that name a secret (password, secret, token, ...) are too, and every string registered
 * with occo_log_secret_add() (the credentials of auth_data.yaml) is replaced by "***" wherever
 * it appears in a line, message included.
 *
 *   OCCO_INFO("node ready", OCCO_KV("infra", id), OCCO_KV("node", name));
 *   OCCO_WARN("cannot reach redis");
 */
#ifndef OCCO_UTIL_LOG_H
#define OCCO_UTIL_LOG_H

#include <stddef.h>

enum occo_log_level {
	OCCO_LOG_ERROR = 3,
	OCCO_LOG_WARN = 4,
	OCCO_LOG_INFO = 6,
	OCCO_LOG_DEBUG = 7,
};

enum occo_log_format {
	OCCO_LOG_FMT_TEXT = 0, /* logfmt */
	OCCO_LOG_FMT_JSON = 1,
};

#define OCCO_KV_F_SECRET 1u

struct occo_kv {
	const char *key; /* NULL ends a list */
	const char *val; /* NULL is written as an empty value */
	unsigned flags;
};

#define OCCO_KV(k, v)       \
	{                   \
		(k), (v), 0 \
	}
#define OCCO_SECRET(k, v)                  \
	{                                  \
		(k), (v), OCCO_KV_F_SECRET \
	}

/* Called with each finished line (no trailing newline). */
typedef void (*occo_log_sink_fn)(int level, const char *line, void *ud);

/* Lines above this level are dropped (default OCCO_LOG_INFO, or $OCCOPUS_LOG_LEVEL). */
void occo_log_set_level(int level);
int occo_log_get_level(void);
/* "error", "warn"/"warning", "info", "debug" -> level; -1 if unknown. */
int occo_log_level_parse(const char *name);
void occo_log_set_format(enum occo_log_format fmt);
/* NULL restores the default sink (stderr). */
void occo_log_set_sink(occo_log_sink_fn fn, void *ud);

/*
 * Register a secret value (copied): it is replaced by "***" wherever it appears in a log line.
 * Strings shorter than 4 bytes are ignored (they would blank out ordinary words).
 */
void occo_log_secret_add(const char *secret);
/* Forget all registered secrets (wiping the copies). */
void occo_log_secret_clear(void);
/*
 * Replace every registered secret in `s` by "***", in place, and return s. The result is never
 * longer than the input. For text that leaves the process by another way than the log (an
 * error printed by a program's main, a REST error body).
 */
char *occo_log_redact(char *s);

/* Write one line. `kv` ends with an entry whose key is NULL. Use the macros below. */
void occo_log_kv(int level, const char *file, int line, const char *msg, const struct occo_kv *kv);
/* Write one line whose message is formatted, without context. */
void occo_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define OCCO_LOG(lvl, msg, ...)                                                                   \
	do {                                                                                      \
		if ((lvl) <= occo_log_get_level())                                                \
			occo_log_kv((lvl), __FILE__, __LINE__, (msg),                             \
				    (const struct occo_kv[]){ __VA_ARGS__ __VA_OPT__(, ){ 0 } }); \
	} while (0)

#define OCCO_ERROR(msg, ...) OCCO_LOG(OCCO_LOG_ERROR, msg __VA_OPT__(, ) __VA_ARGS__)
#define OCCO_WARN(msg, ...) OCCO_LOG(OCCO_LOG_WARN, msg __VA_OPT__(, ) __VA_ARGS__)
#define OCCO_INFO(msg, ...) OCCO_LOG(OCCO_LOG_INFO, msg __VA_OPT__(, ) __VA_ARGS__)
#define OCCO_DEBUG(msg, ...) OCCO_LOG(OCCO_LOG_DEBUG, msg __VA_OPT__(, ) __VA_ARGS__)

#endif
