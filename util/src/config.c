/*
 * config.c - finding and reading occopus_config.yaml and auth_data.yaml, and the auth_data
 * selection rule of Occopus.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "occo/util/config.h"
#include "occo/util/log.h"
#include "occo/util/version.h"

#define DEFAULT_NS "occo"

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h && *h)
		return h;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir ? pw->pw_dir : "/";
}

char *occo_path_expand(const char *path)
{
	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
		return occo_asprintf("%s%s", home_dir(), path + 1);
	return occo_strdup(path);
}

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Make a path absolute against the working directory (as Occopus reports it). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return occo_path_expand(path);
	if (path[0] == '~')
		return occo_path_expand(path);
	return occo_asprintf("%s/%s", cwd, path);
}

/*
 * Find one of the two files. `given` (command line) must exist; otherwise the environment
 * variable and the default places are tried in order. *path_out stays NULL when none exists.
 */
static int find_file(const char *what, const char *given, const char *env, const char *name,
		     const char *argv0, char **path_out, enum occo_config_origin *origin,
		     struct occo_err *err)
{
	const char *e = getenv(env);
	char *cand[4];
	size_t i, n = 0;
	int rc = 0;

	*path_out = NULL;
	*origin = OCCO_CONFIG_NONE;
	if (given) {
		char *p = absolute(given);

		if (!file_exists(p)) {
			rc = occo_err_set(err, OCCO_ENOENT, "specified %s does not exist: '%s'",
					  what, p);
			free(p);
			return rc;
		}
		*path_out = p;
		*origin = OCCO_CONFIG_ARGUMENT;
		return 0;
	}
	if (e && *e && file_exists(e)) {
		*path_out = absolute(e);
		*origin = OCCO_CONFIG_ENV;
		return 0;
	}
	cand[n++] = occo_asprintf("%s/.occopus/%s", home_dir(), name);
	cand[n++] = absolute(name);
	cand[n++] = occo_asprintf("%s/occopus/%s", occo_sysconf_dir(), name);
	if (argv0 && strchr(argv0, '/')) {
		const char *slash = strrchr(argv0, '/');
		char *dir = occo_strndup(argv0, (size_t)(slash - argv0));

		cand[n++] = occo_asprintf("%s/%s", dir, name);
		free(dir);
	}
	for (i = 0; i < n; i++) {
		if (!*path_out && file_exists(cand[i])) {
			*path_out = cand[i];
			*origin = OCCO_CONFIG_SEARCH;
		} else {
			free(cand[i]);
		}
	}
	return 0;
}

void occo_config_redis_release(struct occo_config_redis *r)
{
	size_t i;

	free(r->host);
	free(r->socket);
	free(r->username);
	occo_free_secret(r->password);
	for (i = 0; i < r->nsentinels; i++)
		free(r->sentinels[i].host);
	free(r->sentinels);
	free(r->master);
	free(r->sentinel_username);
	occo_free_secret(r->sentinel_password);
	free(r->source);
	memset(r, 0, sizeof(*r));
}

static int parse_int(const char *s, size_t n, long min, long max, long *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

#define SENTINEL_URL "redis+sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]"
#define MAX_SENTINELS 32
#define MAX_MASTER_NAME 128

/* One sentinel, "host[:port]" or "[v6][:port]" (n bytes at p), appended to r->sentinels. */
static int parse_sentinel(const char *p, size_t n, const char *source, struct occo_config_redis *r,
			  struct occo_err *err)
{
	const char *host = p, *colon = NULL, *close;
	size_t hlen = n, i;
	long port = 26379;

	if (n && p[0] == '[') {
		close = memchr(p, ']', n);
		if (!close || close == p + 1 || (close + 1 < p + n && close[1] != ':'))
			goto bad;
		host = p + 1;
		hlen = (size_t)(close - host);
		colon = close + 1 < p + n ? close + 1 : NULL;
	} else {
		colon = memchr(p, ':', n);
		hlen = colon ? (size_t)(colon - p) : n;
	}
	if (colon && parse_int(colon + 1, (size_t)(p + n - colon - 1), 1, 65535, &port))
		goto bad;
	if (!hlen)
		goto bad;
	for (i = 0; i < hlen; i++)
		if (!isgraph((unsigned char)host[i]) || strchr("/?@[]", host[i]))
			goto bad;
	if (r->nsentinels == MAX_SENTINELS)
		return occo_err_set(err, OCCO_EINVAL, "%s: more than %d sentinels in redis url",
				    source, MAX_SENTINELS);
	r->sentinels = occo_realloc(r->sentinels, (r->nsentinels + 1) * sizeof(*r->sentinels));
	r->sentinels[r->nsentinels].host = occo_strndup(host, hlen);
	r->sentinels[r->nsentinels].port = (int)port;
	r->nsentinels++;
	return 0;
bad:
	return occo_err_set(err, OCCO_EINVAL,
			    "%s: bad sentinel address '%.*s' in redis url (expected HOST:PORT)",
			    source, (int)(n > 200 ? 200 : n), p);
}

/* "[user]:password" of a URL (p up to at): the user (when not empty) and the password. */
static void userinfo(const char *p, const char *at, struct occo_config_redis *r)
{
	const char *colon = memchr(p, ':', (size_t)(at - p));

	if ((colon ? colon : at) > p)
		r->username = occo_strndup(p, (size_t)((colon ? colon : at) - p));
	if (colon && colon + 1 < at)
		r->password = occo_strndup(colon + 1, (size_t)(at - colon - 1));
}

/* What follows redis+sentinel:// (see config.h); fills r, which the caller releases. */
static int parse_sentinel_url(const char *p, const char *source, struct occo_config_redis *r,
			      struct occo_err *err)
{
	const char *q = strchr(p, '?'), *end = q ? q : p + strlen(p);
	const char *slash = memchr(p, '/', (size_t)(end - p));
	const char *hosts_end = slash ? slash : end, *at, *comma, *name, *db;
	size_t nlen, i;
	long v;
	int rc;

	at = memchr(p, '@', (size_t)(hosts_end - p));
	if (at) {
		userinfo(p, at, r);
		p = at + 1;
	}
	if (p == hosts_end)
		return occo_err_set(err, OCCO_EINVAL,
				    "%s: redis url names no sentinel (expected " SENTINEL_URL ")",
				    source);
	while (p <= hosts_end) {
		comma = memchr(p, ',', (size_t)(hosts_end - p));
		if ((rc = parse_sentinel(p, (size_t)((comma ? comma : hosts_end) - p), source, r,
					 err)) < 0)
			return rc;
		if (!comma)
			break;
		p = comma + 1;
	}

	name = slash ? slash + 1 : end;
	db = memchr(name, '/', (size_t)(end - name));
	nlen = (size_t)((db ? db : end) - name);
	if (!nlen)
		return occo_err_set(err, OCCO_EINVAL,
				    "%s: redis url names no master (expected " SENTINEL_URL ")",
				    source);
	for (i = 0; i < nlen; i++)
		if (!isgraph((unsigned char)name[i]))
			break;
	if (i < nlen || nlen > MAX_MASTER_NAME)
		return occo_err_set(err, OCCO_EINVAL, "%s: bad master name '%.*s' in redis url",
				    source, (int)(nlen > 200 ? 200 : nlen), name);
	r->master = occo_strndup(name, nlen);
	if (db && db + 1 < end) {
		if (parse_int(db + 1, (size_t)(end - db - 1), 0, 65535, &v))
			return occo_err_set(err, OCCO_EINVAL,
					    "%s: bad database number '%.*s' in redis url", source,
					    (int)(end - db - 1 > 200 ? 200 : end - db - 1), db + 1);
		r->db = (int)v;
	}

	/* the query may hold a secret: the messages quote only a parameter's key */
	for (p = q; p && *p; p = strchr(p + 1, '&')) {
		const char *k = p + 1, *amp = strchr(k, '&');
		size_t klen = strcspn(k, "=&"), vlen;
		char **slot = NULL;

		if (k[klen] == '=' && klen == 17 && !strncmp(k, "sentinel_password", 17))
			slot = &r->sentinel_password;
		else if (k[klen] == '=' && klen == 17 && !strncmp(k, "sentinel_username", 17))
			slot = &r->sentinel_username;
		vlen = (size_t)((amp ? amp : k + strlen(k)) - (k + klen + 1));
		if (!slot || *slot || !vlen)
			return occo_err_set(err, OCCO_EINVAL,
					    "%s: bad query parameter '%.*s' in redis url (expected "
					    "sentinel_username=USER and sentinel_password=SECRET, "
					    "each once)",
					    source, (int)(klen > 64 ? 64 : klen), k);
		*slot = occo_strndup(k + klen + 1, vlen);
	}
	return 0;
}

int occo_config_redis_parse(const char *url, const char *source, struct occo_config_redis *out,
			    struct occo_err *err)
{
	struct occo_config_redis r = { 0 };
	const char *p, *at, *slash, *colon, *q;
	long v;
	int rc;

	if (!strncmp(url, "redis+sentinel://", 17) || !strncmp(url, "sentinel://", 11)) {
		rc = parse_sentinel_url(strstr(url, "://") + 3, source, &r, err);
		if (rc < 0) {
			occo_config_redis_release(&r);
			return rc;
		}
	} else if (!strncmp(url, "unix://", 7)) {
		p = url + 7;
		q = strchr(p, '?');
		if (p[0] != '/')
			return occo_err_set(err, OCCO_EINVAL,
					    "%s: unix socket url must name an absolute path "
					    "(unix:///path/to/redis.sock)",
					    source);
		r.socket = q ? occo_strndup(p, (size_t)(q - p)) : occo_strdup(p);
		if (q) {
			if (strncmp(q, "?db=", 4) ||
			    parse_int(q + 4, strlen(q + 4), 0, 65535, &v)) {
				free(r.socket);
				return occo_err_set(
					err, OCCO_EINVAL,
					"%s: bad query '%s' in redis url (expected ?db=N)", source,
					q);
			}
			r.db = (int)v;
		}
	} else if (!strncmp(url, "redis://", 8)) {
		p = url + 8;
		slash = strchr(p, '/');
		at = memchr(p, '@', slash ? (size_t)(slash - p) : strlen(p));
		if (at) {
			userinfo(p, at, &r);
			p = at + 1;
		}
		colon = memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p));
		if (colon) {
			size_t plen = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);

			if (parse_int(colon + 1, plen, 1, 65535, &v))
				goto bad_port;
			r.port = (int)v;
			r.host = occo_strndup(p, (size_t)(colon - p));
		} else {
			r.port = 6379;
			r.host = slash ? occo_strndup(p, (size_t)(slash - p)) : occo_strdup(p);
		}
		if (!r.host[0]) {
			occo_config_redis_release(&r);
			return occo_err_set(err, OCCO_EINVAL, "%s: redis url names no host",
					    source);
		}
		if (slash && slash[1]) {
			if (parse_int(slash + 1, strlen(slash + 1), 0, 65535, &v)) {
				occo_config_redis_release(&r);
				return occo_err_set(err, OCCO_EINVAL,
						    "%s: bad database number '%s' in redis url",
						    source, slash + 1);
			}
			r.db = (int)v;
		}
	} else {
		return occo_err_set(err, OCCO_EINVAL,
				    "%s: unsupported redis url (expected redis://HOST:PORT/DB, "
				    "unix:///PATH or " SENTINEL_URL ")",
				    source);
	}
	r.source = occo_strdup(source);
	*out = r;
	return 0;
bad_port:
	occo_config_redis_release(&r);
	return occo_err_set(err, OCCO_EINVAL, "%s: bad port in redis url", source);
}

const json_t *occo_config_lookup(const struct occo_config *cfg, const char *path)
{
	const json_t *node = cfg->doc ? occo_ydoc_root(cfg->doc) : NULL;
	const char *p = path, *dot;
	char key[256];
	size_t n;

	while (node && *p) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key) || !json_is_object(node))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		node = json_object_get(node, key);
		p = dot ? dot + 1 : p + n;
	}
	return node;
}

/* The mark of cfg's value at parent[key], formatted for a message. */
static char *where(const struct occo_ydoc *doc, const json_t *parent, const char *key)
{
	const struct occo_yaml_mark *m = occo_ydoc_child_mark(doc, parent, key, 0);

	if (!m)
		return occo_strdup("?");
	return occo_asprintf("%s:%u:%u", m->file, m->line, m->col);
}

static int expect_string(const struct occo_ydoc *doc, const json_t *parent, const char *key,
			 const char *name, struct occo_err *err)
{
	const json_t *v = json_object_get(parent, key);

	if (!v || json_is_string(v))
		return 0;
	return occo_yaml_err(err, occo_ydoc_child_mark(doc, parent, key, 0), OCCO_EINVAL,
			     "'%s' must be a string", name);
}

/* Our own settings: redis, state_dir, namespace. */
static int resolve_settings(struct occo_config *cfg, struct occo_err *err)
{
	const json_t *root = cfg->doc ? occo_ydoc_root(cfg->doc) : NULL;
	const json_t *redis = root ? json_object_get(root, "redis") : NULL;
	const json_t *uds = occo_config_lookup(cfg, "components.uds");
	const char *env_url = getenv("OCCOPUS_REDIS_URL");
	const char *env_dir = getenv("OCCOPUS_STATE_DIR");
	const char *s;
	char *src;
	int rc;

	if (root && !json_is_object(root) && !json_is_null(root))
		return occo_yaml_err(err, occo_ydoc_mark(cfg->doc, root), OCCO_EINVAL,
				     "the configuration must be a mapping");
	if (root && json_is_object(root)) {
		if ((rc = expect_string(cfg->doc, root, "state_dir", "state_dir", err)) < 0 ||
		    (rc = expect_string(cfg->doc, root, "namespace", "namespace", err)) < 0)
			return rc;
		if (redis && !json_is_object(redis))
			return occo_yaml_err(
				err, occo_ydoc_child_mark(cfg->doc, root, "redis", 0), OCCO_EINVAL,
				"'redis' must be a mapping with 'url' (and 'password')");
		if (redis) {
			const char *k;
			json_t *v;

			json_object_foreach ((json_t *)redis, k, v) {
				if (strcmp(k, "url") && strcmp(k, "password"))
					return occo_yaml_err(
						err, occo_ydoc_key_mark(cfg->doc, redis, k),
						OCCO_EINVAL,
						"unknown key '%s' in 'redis' (expected 'url', "
						"'password')",
						k);
			}
			if ((rc = expect_string(cfg->doc, redis, "url", "redis.url", err)) < 0 ||
			    (rc = expect_string(cfg->doc, redis, "password", "redis.password",
						err)) < 0)
				return rc;
		}
	}

	/* templates: {allow_cmd: bool} */
	if (root && json_is_object(root) && json_object_get(root, "templates")) {
		const json_t *t = json_object_get(root, "templates");
		const json_t *ac = json_object_get(t, "allow_cmd");
		const char *k;
		json_t *v;

		if (!json_is_object(t))
			return occo_yaml_err(err,
					     occo_ydoc_child_mark(cfg->doc, root, "templates", 0),
					     OCCO_EINVAL, "'templates' must be a mapping");
		json_object_foreach ((json_t *)t, k, v) {
			if (strcmp(k, "allow_cmd"))
				return occo_yaml_err(err, occo_ydoc_key_mark(cfg->doc, t, k),
						     OCCO_EINVAL,
						     "unknown key '%s' in 'templates' (expected "
						     "'allow_cmd')",
						     k);
		}
		if (ac && !json_is_boolean(ac))
			return occo_yaml_err(err, occo_ydoc_child_mark(cfg->doc, t, "allow_cmd", 0),
					     OCCO_EINVAL,
					     "'templates.allow_cmd' must be true or false");
		cfg->allow_cmd = json_is_true(ac);
	}

	/* the namespace: [A-Za-z0-9_.-]+ so it cannot break the key layout */
	s = root && json_is_object(root) ? json_string_value(json_object_get(root, "namespace"))
					 : NULL;
	if (s) {
		const char *c;

		for (c = s; *c; c++)
			if (!isalnum((unsigned char)*c) && !strchr("_.-", *c))
				break;
		if (!*s || *c)
			return occo_yaml_err(
				err, occo_ydoc_child_mark(cfg->doc, root, "namespace", 0),
				OCCO_EINVAL,
				"namespace '%s' may contain only letters, digits, '_', "
				"'.' and '-'",
				s);
	}
	cfg->ns = occo_strdup(s ? s : DEFAULT_NS);

	/* the state directory */
	s = root && json_is_object(root) ? json_string_value(json_object_get(root, "state_dir"))
					 : NULL;
	if (env_dir && *env_dir)
		s = env_dir;
	cfg->state_dir = s ? occo_path_expand(s) : occo_asprintf("%s/.occopus/state", home_dir());

	/* the state store: environment, redis.url, components.uds, else embedded */
	if (env_url && *env_url) {
		rc = occo_config_redis_parse(env_url, "$OCCOPUS_REDIS_URL", &cfg->redis, err);
	} else if (redis && json_object_get(redis, "url")) {
		src = where(cfg->doc, redis, "url");
		s = json_string_value(json_object_get(redis, "url"));
		{
			char *label = occo_asprintf("%s: redis.url", src);

			rc = occo_config_redis_parse(s, label, &cfg->redis, err);
			free(label);
		}
		free(src);
	} else if (json_is_object(uds) && json_is_string(json_object_get(uds, "protocol")) &&
		   !strcmp(json_string_value(json_object_get(uds, "protocol")), "redis")) {
		const json_t *host = json_object_get(uds, "host");
		const json_t *port = json_object_get(uds, "port");
		const json_t *db = json_object_get(uds, "db");
		long p = 6379;

		if (json_is_integer(port))
			p = (long)json_integer_value(port);
		else if (json_is_string(port))
			p = strtol(json_string_value(port), NULL, 10);
		if (p < 1 || p > 65535)
			return occo_yaml_err(err, occo_ydoc_child_mark(cfg->doc, uds, "port", 0),
					     OCCO_EINVAL, "bad redis port in components.uds");
		src = where(cfg->doc, (json_t *)occo_config_lookup(cfg, "components"), "uds");
		cfg->redis.host =
			occo_strdup(json_is_string(host) ? json_string_value(host) : "localhost");
		cfg->redis.port = (int)p;
		cfg->redis.db = json_is_integer(db) ? (int)json_integer_value(db) : 0;
		cfg->redis.source = occo_asprintf("%s: components.uds", src);
		free(src);
		rc = 0;
	} else {
		cfg->redis.embedded = 1;
		cfg->redis.socket = occo_asprintf("%s/redis.sock", cfg->state_dir);
		cfg->redis.source = occo_strdup("embedded");
		rc = 0;
	}
	if (rc < 0)
		return rc;
	if (redis && json_is_string(json_object_get(redis, "password")) && !cfg->redis.password) {
		cfg->redis.password =
			occo_strdup(json_string_value(json_object_get(redis, "password")));
	}
	if (cfg->redis.password)
		occo_log_secret_add(cfg->redis.password);
	if (cfg->redis.sentinel_password)
		occo_log_secret_add(cfg->redis.sentinel_password);
	return 0;
}

static void register_secrets(const json_t *node)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(node)) {
		occo_log_secret_add(json_string_value(node));
	} else if (json_is_object(node)) {
		json_object_foreach ((json_t *)node, k, v)
			register_secrets(v);
	} else if (json_is_array(node)) {
		json_array_foreach (node, i, v)
			register_secrets(v);
	}
}

/* auth_data.yaml: sections of entries, each a mapping with an `auth_data` mapping. */
static int check_auth(struct occo_config *cfg, struct occo_err *err)
{
	const json_t *root = occo_ydoc_root(cfg->auth);
	const char *sec;
	json_t *list, *entry;
	size_t i;

	if (json_is_null(root))
		return 0;
	if (!json_is_object(root))
		return occo_yaml_err(err, occo_ydoc_mark(cfg->auth, root), OCCO_EINVAL,
				     "auth data must be a mapping of sections ('resource', "
				     "'config_management')");
	json_object_foreach ((json_t *)root, sec, list) {
		if (strcmp(sec, "resource") && strcmp(sec, "config_management"))
			return occo_yaml_err(
				err, occo_ydoc_key_mark(cfg->auth, root, sec), OCCO_EINVAL,
				"unknown section '%s' in auth data (expected 'resource' "
				"or 'config_management')",
				sec);
		if (json_is_null(list))
			continue;
		if (!json_is_array(list))
			return occo_yaml_err(err, occo_ydoc_child_mark(cfg->auth, root, sec, 0),
					     OCCO_EINVAL, "section '%s' must be a list of entries",
					     sec);
		json_array_foreach (list, i, entry) {
			const json_t *ad = json_object_get(entry, "auth_data");

			if (!json_is_object(entry))
				return occo_yaml_err(
					err, occo_ydoc_child_mark(cfg->auth, list, NULL, i),
					OCCO_EINVAL, "entry %zu of '%s' must be a mapping", i + 1,
					sec);
			if (!ad)
				return occo_yaml_err(
					err, occo_ydoc_mark(cfg->auth, entry), OCCO_EINVAL,
					"entry %zu of '%s' has no 'auth_data'", i + 1, sec);
			register_secrets(ad);
		}
	}
	return 0;
}

static int load_auth(struct occo_config *cfg, const struct occo_config_args *args,
		     struct occo_err *err)
{
	struct stat st;
	int rc;

	rc = find_file("authentication file", args->auth_data_path, "OCCOPUS_AUTH_DATA_PATH",
		       "auth_data.yaml", args->argv0, &cfg->auth_path, &cfg->auth_origin, err);
	if (rc < 0 || !cfg->auth_path)
		return rc;
	rc = occo_yaml_load_file(cfg->auth_path, NULL, &cfg->auth, err);
	if (rc < 0)
		return rc;
	rc = check_auth(cfg, err);
	if (rc < 0)
		return rc;
	if (stat(cfg->auth_path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
		cfg->auth_world_readable = 1;
		OCCO_WARN("authentication file is readable by group or others; run chmod 600 on it",
			  OCCO_KV("file", cfg->auth_path));
	}
	return 0;
}

int occo_config_load(struct occo_config *cfg, const struct occo_config_args *args,
		     struct occo_err *err)
{
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	rc = find_file("config file", args->cfg_path, "OCCOPUS_CONFIG_PATH", "occopus_config.yaml",
		       args->argv0, &cfg->path, &cfg->origin, err);
	if (rc < 0)
		return rc;
	if (cfg->path) {
		rc = occo_yaml_load_file(cfg->path, NULL, &cfg->doc, err);
		if (rc < 0)
			return rc;
	}
	rc = resolve_settings(cfg, err);
	if (rc < 0)
		return rc;
	if (!args->no_auth)
		rc = load_auth(cfg, args, err);
	return rc;
}

void occo_config_release(struct occo_config *cfg)
{
	free(cfg->path);
	occo_ydoc_free(cfg->doc);
	occo_config_redis_release(&cfg->redis);
	free(cfg->state_dir);
	free(cfg->ns);
	free(cfg->auth_path);
	occo_ydoc_free(cfg->auth);
	memset(cfg, 0, sizeof(*cfg));
}

int occo_config_auth_select(const struct occo_config *cfg, const char *section,
			    const json_t *subject, const json_t **out, struct occo_err *err)
{
	const json_t *list, *entry, *found = NULL;
	const char *k;
	json_t *v;
	size_t i, first = 0;

	*out = NULL;
	if (!cfg->auth)
		return 0;
	list = json_object_get(occo_ydoc_root(cfg->auth), section);
	if (!json_is_array(list))
		return 0;
	json_array_foreach (list, i, entry) {
		int match = 1;

		json_object_foreach ((json_t *)entry, k, v) {
			if (!strcmp(k, "auth_data"))
				continue;
			if (!json_equal(json_object_get(subject, k), v)) {
				match = 0;
				break;
			}
		}
		if (!match)
			continue;
		if (found) {
			const struct occo_yaml_mark *m1 = occo_ydoc_mark(cfg->auth, found);
			const struct occo_yaml_mark *m2 = occo_ydoc_mark(cfg->auth, entry);

			return occo_err_set(err, OCCO_EINVAL,
					    "cannot determine credentials: more than one entry of "
					    "'%s' in %s matches (entries %zu at line %u and %zu at "
					    "line %u); add a key such as 'endpoint' to tell them "
					    "apart",
					    section, cfg->auth_path, first + 1, m1 ? m1->line : 0,
					    i + 1, m2 ? m2->line : 0);
		}
		found = entry;
		first = i;
	}
	if (found)
		*out = json_object_get(found, "auth_data");
	return 0;
}
