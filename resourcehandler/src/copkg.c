/*
 * copkg.c - the copkg package store: fetch a package once, unpack it safely, never touch it
 * again (see copkg.h).
 *
 * One fetch per (coordinate, URL) in flight; requests for it wait on its list. A fetch is a
 * small state machine:
 *
 *   peek (pool: installed from this URL already?) -> done
 *     -> lock (loop: flock LOCK_NB on <version>.lock, retried every LOCK_RETRY_MS)
 *     -> install (pool: installed meanwhile? file:// read; check the digest, or unpack)
 *          -> http:// not read yet: GET on the loop (occo_http) -> install again with the bytes
 *     -> done: unlock, every request's callback
 *
 * Unpacking (libarchive) goes into a temporary directory beside the package, which is renamed
 * into place when complete, after the digest file was written: a crash leaves a temporary
 * directory or a digest without a package (both ignored), never half a package. Each entry is
 * checked before it is written: relative, without "..", a regular file, directory or symlink
 * whose target stays inside the package, under the limits of copkg.h; libarchive refuses to
 * write through symlinks (ARCHIVE_EXTRACT_SECURE_SYMLINKS). Files lose their write bits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "occo/util/alloc.h"
#include "occo/util/http.h"
#include "copkg.h"
#include "rh_int.h"

#define LOCK_RETRY_MS 50
#define FETCH_TIMEOUT_MS 300000
#define DIGEST_LINE_MAX (64 + 2 + 4096 + 2)

struct rh__copkg_want {
	struct rh__copkg_want *next;
	struct fetch *f;
	rh__copkg_cb cb;
	void *ud;
};

enum step { S_PEEK, S_INSTALL };
enum result { R_DONE, R_LOCK, R_FETCH, R_ERROR };

struct fetch {
	struct fetch *next; /* in s->fetches */
	struct rh__copkg *s;
	struct rh__copkg_want *wants;
	char *key; /* "<coordinate> <url>" */
	char *coord, *url;
	char *shown; /* url without user-info: for messages and the digest file */
	char *adir; /* <root>/<group path>/<artifact> */
	char *dir; /* adir/<version> */
	char *version;
	int is_http;
	int verified; /* this URL's bytes were found equal to the installed ones before */
	int lock_fd;
	int timer_init;
	uv_timer_t timer;
	uv_work_t work;
	/* between the loop and the pool */
	enum step step;
	enum result result;
	char *bytes; /* the zip, once read or fetched */
	size_t len;
	int newly_verified;
	struct occo_err err;
};

struct rh__copkg {
	uv_loop_t *loop;
	struct occo_http *http;
	char *root; /* <state_dir>/packages */
	struct fetch *fetches;
	json_t *verified; /* keys of (coordinate, URL) found equal to the installed package */
	int closing;
};

/* ---- names ---- */

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static int part_check(const char *coord, const char *what, const char *p, size_t n,
		      struct occo_err *err)
{
	size_t i;

	if (!n)
		return occo_err_set(err, OCCO_EINVAL, "coordinate '%s': empty %s", coord, what);
	if (p[0] == '.')
		return occo_err_set(err, OCCO_EINVAL, "coordinate '%s': %s starts with '.'", coord,
				    what);
	for (i = 0; i < n; i++) {
		if (!name_char(p[i]))
			return occo_err_set(err, OCCO_EINVAL,
					    "coordinate '%s': '%c' is not allowed in the %s", coord,
					    p[i], what);
		if (p[i] == '.' && i + 1 < n && p[i + 1] == '.')
			return occo_err_set(err, OCCO_EINVAL, "coordinate '%s': '..' in the %s",
					    coord, what);
	}
	return 0;
}

int rh__copkg_coord_check(const char *c, struct occo_err *err)
{
	const char *a, *v;
	int rc;

	if (!c)
		return occo_err_set(err, OCCO_EINVAL, "no coordinate");
	a = strchr(c, ':');
	v = a ? strchr(a + 1, ':') : NULL;
	if (!a || !v || strchr(v + 1, ':'))
		return occo_err_set(err, OCCO_EINVAL,
				    "coordinate '%s' is not of the form 'group:artifact:version'",
				    c);
	if ((rc = part_check(c, "group", c, (size_t)(a - c), err)) < 0 ||
	    (rc = part_check(c, "artifact", a + 1, (size_t)(v - a - 1), err)) < 0 ||
	    (rc = part_check(c, "version", v + 1, strlen(v + 1), err)) < 0)
		return rc;
	if (c[a - c - 1] == '.')
		return occo_err_set(err, OCCO_EINVAL, "coordinate '%s': group ends with '.'", c);
	return 0;
}

int rh__copkg_repo_check(const char *r, struct occo_err *err)
{
	if (!r)
		return occo_err_set(err, OCCO_EINVAL, "no repository");
	if (!strncmp(r, "file://", 7)) {
		if (r[7] != '/')
			return occo_err_set(err, OCCO_EINVAL,
					    "repository '%s': a file:// URL needs an absolute path "
					    "(file:///...)",
					    r);
		return 0;
	}
	if (!strncmp(r, "http://", 7)) {
		if (!r[7] || r[7] == '/')
			return occo_err_set(err, OCCO_EINVAL, "repository '%s' has no host", r);
		return 0;
	}
	return occo_err_set(err, OCCO_EINVAL,
			    "repository '%s' is neither a file:// nor an http:// URL", r);
}

/* A URL without its user-info ("http://user:secret@host/x" -> "http://host/x"); malloc'd. */
static char *url_shown(const char *url)
{
	const char *host = strstr(url, "://"), *at, *end;

	if (!host)
		return occo_strdup(url);
	host += 3;
	end = host + strcspn(host, "/");
	at = memrchr(host, '@', (size_t)(end - host));
	if (!at)
		return occo_strdup(url);
	return occo_asprintf("%.*s%s", (int)(host - url), url, at + 1);
}

/* ---- blocking helpers (thread pool) ---- */

/*
 * Is the package installed? 1 with its digest and URL (hex: 65 bytes, *url malloc'd), 0 if not,
 * or an error.
 */
static int installed(const struct fetch *f, char hex[65], char **url, struct occo_err *err)
{
	char *path = occo_asprintf("%s.sha256", f->dir), line[DIGEST_LINE_MAX];
	struct stat st;
	FILE *fp;
	int rc = 0;
	size_t n;

	if (lstat(f->dir, &st) < 0) {
		rc = errno == ENOENT
			     ? 0
			     : occo_err_sys(err, OCCO_EIO, errno, "cannot inspect '%s'", f->dir);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = occo_err_set(err, OCCO_EIO, "'%s' is not a directory", f->dir);
		goto out;
	}
	fp = fopen(path, "re");
	if (!fp) {
		rc = occo_err_sys(err, OCCO_EIO, errno,
				  "package '%s' in '%s' has no readable digest '%s' (remove the "
				  "directory to fetch it again)",
				  f->coord, f->dir, path);
		goto out;
	}
	n = fread(line, 1, sizeof(line) - 1, fp);
	fclose(fp);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (n < 67 || strspn(line, "0123456789abcdef") != 64 || strncmp(line + 64, "  ", 2)) {
		rc = occo_err_set(err, OCCO_EIO, "digest file '%s' is not '<sha256>  <url>'", path);
		goto out;
	}
	memcpy(hex, line, 64);
	hex[64] = '\0';
	*url = occo_strdup(line + 66);
	rc = 1;
out:
	free(path);
	return rc;
}

static void sha256_hex(const char *p, size_t n, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0, i;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	for (i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

static int read_file(const char *path, char **out, size_t *len, struct occo_err *err)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return occo_err_sys(err, errno == ENOENT ? OCCO_ENOENT : OCCO_EIO, errno,
				    "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return occo_err_set(err, OCCO_EIO, "'%s' is not a regular file", path);
	}
	if ((uint64_t)st.st_size > RH_COPKG_MAX_ZIP) {
		close(fd);
		return occo_err_set(err, OCCO_ETOOBIG, "'%s' is larger than %u bytes", path,
				    RH_COPKG_MAX_ZIP);
	}
	buf = occo_malloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(buf);
		return occo_err_set(err, OCCO_EIO, "cannot read '%s'", path);
	}
	*out = buf;
	*len = got;
	return 0;
}

/* ---- unpacking ---- */

/*
 * Is a path from the zip safe to write under the package root: relative, without ".."? 1 and
 * *depth, the number of directories above the entry; 2 for the root itself ("./"); 0 if not.
 */
static int entry_path_ok(const char *p, int *depth)
{
	const char *s = p, *e;
	int names = 0;

	if (!*p || *p == '/' || strlen(p) > RH_COPKG_MAX_PATH)
		return 0;
	while (*s) {
		e = s + strcspn(s, "/");
		if (e - s == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		if (e - s && !(e - s == 1 && s[0] == '.'))
			names++;
		s = *e ? e + 1 : e;
	}
	*depth = names - 1;
	return names ? 1 : 2;
}

/*
 * Does a symlink at depth `depth` with this target stay inside the package? ".." may only
 * lead the target (so no other symlink is climbed out of), at most `depth` of them.
 */
static int link_target_ok(const char *t, int depth)
{
	const char *s = t, *e;
	int names = 0;

	if (!*t || *t == '/')
		return 0;
	while (*s) {
		e = s + strcspn(s, "/");
		if (e - s == 2 && s[0] == '.' && s[1] == '.') {
			if (names || --depth < 0)
				return 0;
		} else if (e - s && !(e - s == 1 && s[0] == '.')) {
			names++;
		}
		s = *e ? e + 1 : e;
	}
	return 1;
}

static int ar_err(struct occo_err *err, const char *coord, struct archive *a, const char *what)
{
	const char *m = archive_error_string(a);

	return occo_err_set(err, OCCO_EINVAL, "package '%s': %s: %s", coord, what,
			    m ? m : "unknown libarchive error");
}

/* Unpack a zip into dir (an existing, empty, symlink-free absolute path). */
static int unpack(const char *coord, const char *zip, size_t len, const char *dir,
		  struct occo_err *err)
{
	struct archive *a = archive_read_new(), *w = archive_write_disk_new();
	struct archive_entry *e;
	unsigned long long total = 0;
	unsigned entries = 0;
	const void *buf;
	size_t size;
	int64_t off;
	int rc = 0, r, depth, ok;

	archive_read_support_format_zip(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						  ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						  ARCHIVE_EXTRACT_NO_OVERWRITE);
	if (archive_read_open_memory(a, zip, len) != ARCHIVE_OK) {
		rc = ar_err(err, coord, a, "not a zip file");
		goto out;
	}
	for (;;) {
		const char *path;
		char *full;
		unsigned type;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = ar_err(err, coord, a, "cannot read the zip");
			goto out;
		}
		if (++entries > RH_COPKG_MAX_ENTRIES) {
			rc = occo_err_set(err, OCCO_ETOOBIG,
					  "package '%s' has more than %u entries", coord,
					  RH_COPKG_MAX_ENTRIES);
			goto out;
		}
		path = archive_entry_pathname(e);
		ok = path ? entry_path_ok(path, &depth) : 0;
		if (ok == 2 && archive_entry_filetype(e) == AE_IFDIR)
			continue; /* "./": the package root */
		if (ok != 1) {
			rc = occo_err_set(
				err, OCCO_EINVAL,
				"package '%s': unsafe entry '%s' (absolute, empty or with "
				"'..')",
				coord, path ? path : "");
			goto out;
		}
		type = archive_entry_filetype(e);
		if (archive_entry_hardlink(e) ||
		    (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)) {
			rc = occo_err_set(err, OCCO_EINVAL,
					  "package '%s': entry '%s' is not a file, directory or "
					  "symlink",
					  coord, path);
			goto out;
		}
		if (type == AE_IFLNK) {
			const char *t = archive_entry_symlink(e);

			if (!t || !link_target_ok(t, depth)) {
				rc = occo_err_set(err, OCCO_EINVAL,
						  "package '%s': symlink '%s' points outside the "
						  "package ('%s')",
						  coord, path, t ? t : "");
				goto out;
			}
		}
		if (archive_entry_size_is_set(e) &&
		    (uint64_t)archive_entry_size(e) > RH_COPKG_MAX_UNPACKED - total) {
			rc = occo_err_set(err, OCCO_ETOOBIG,
					  "package '%s' unpacks to more than %llu bytes", coord,
					  RH_COPKG_MAX_UNPACKED);
			goto out;
		}
		if (type == AE_IFREG)
			archive_entry_set_perm(e, archive_entry_perm(e) & 0111 ? 0555 : 0444);
		else if (type == AE_IFDIR)
			archive_entry_set_perm(e, 0755);
		full = occo_asprintf("%s/%s", dir, path);
		archive_entry_set_pathname(e, full);
		free(full);
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			rc = ar_err(err, coord, w, "cannot unpack");
			goto out;
		}
		while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
			if (size > RH_COPKG_MAX_UNPACKED - total) {
				rc = occo_err_set(err, OCCO_ETOOBIG,
						  "package '%s' unpacks to more than %llu bytes",
						  coord, RH_COPKG_MAX_UNPACKED);
				goto out;
			}
			total += size;
			if (archive_write_data_block(w, buf, size, off) != ARCHIVE_OK) {
				rc = ar_err(err, coord, w, "cannot unpack");
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			rc = ar_err(err, coord, a, "cannot read the zip");
			goto out;
		}
		if (archive_write_finish_entry(w) != ARCHIVE_OK) {
			rc = ar_err(err, coord, w, "cannot unpack");
			goto out;
		}
	}
	if (archive_write_close(w) != ARCHIVE_OK)
		rc = ar_err(err, coord, w, "cannot unpack");
out:
	archive_read_free(a);
	archive_write_free(w);
	return rc;
}

static int has_script(const char *dir, const char *name)
{
	char *p = occo_asprintf("%s/script.d/%s", dir, name);
	struct stat st;
	int ok = lstat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return ok;
}

/* Unpack the fetched zip into f->dir: temporary directory, digest file, rename. */
static int install(struct fetch *f, const char *hex, struct occo_err *err)
{
	char *tmpl = occo_asprintf("%s/.%s.tmp.XXXXXX", f->adir, f->version), *line = NULL,
	     *digest = NULL, real[PATH_MAX];
	int rc;

	if (!mkdtemp(tmpl)) {
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot create a directory in '%s'",
				  f->adir);
		free(tmpl);
		return rc;
	}
	if (!realpath(tmpl, real) || chmod(real, 0755) < 0) {
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot prepare '%s'", tmpl);
		goto out;
	}
	if ((rc = unpack(f->coord, f->bytes, f->len, real, err)) < 0)
		goto out;
	if (!has_script(real, "start.sh") || !has_script(real, "stop.sh")) {
		rc = occo_err_set(err, OCCO_EINVAL,
				  "package '%s' from '%s' is not a copkg: it needs the files "
				  "'script.d/start.sh' and 'script.d/stop.sh'",
				  f->coord, f->shown);
		goto out;
	}
	digest = occo_asprintf("%s.sha256", f->dir);
	line = occo_asprintf("%s  %s\n", hex, f->shown);
	if ((rc = rh__write_atomic(digest, line, 0644, err)) < 0)
		goto out;
	if (rename(real, f->dir) < 0)
		rc = occo_err_sys(err, OCCO_EIO, errno, "cannot move the package into '%s'",
				  f->dir);
out:
	if (rc < 0)
		rh__rmtree(tmpl, NULL);
	free(tmpl);
	free(digest);
	free(line);
	return rc;
}

/* The pool's part of a step. */
static void fetch_work(uv_work_t *w)
{
	struct fetch *f = w->data;
	char have[65], hex[65], *have_url = NULL;
	int rc;

	occo_err_clear(&f->err);
	f->result = R_ERROR;
	if (f->step == S_PEEK && rh__mkdir_p(f->adir, 0755, &f->err) < 0)
		return;
	rc = installed(f, have, &have_url, &f->err);
	if (rc < 0)
		return;
	if (rc && (f->verified || !strcmp(have_url, f->shown))) {
		f->result = R_DONE;
		goto out;
	}
	if (f->step == S_PEEK) {
		f->result = R_LOCK;
		goto out;
	}
	if (!f->bytes) {
		if (f->is_http) {
			f->result = R_FETCH;
			goto out;
		}
		if (read_file(f->url + 7, &f->bytes, &f->len, &f->err) < 0) {
			occo_err_prefix(&f->err, "package '%s'", f->coord);
			goto out;
		}
	}
	sha256_hex(f->bytes, f->len, hex);
	if (rc) {
		if (strcmp(hex, have)) {
			occo_err_set(&f->err, OCCO_EINVAL,
				     "package '%s' from '%s' differs from the one installed from "
				     "'%s': sha256 %s, installed %s (a coordinate names one "
				     "immutable package)",
				     f->coord, f->shown, have_url, hex, have);
			goto out;
		}
		f->newly_verified = 1;
		f->result = R_DONE;
		goto out;
	}
	if (install(f, hex, &f->err) == 0)
		f->result = R_DONE;
out:
	free(have_url);
}

/* ---- the loop's part ---- */

static void store_maybe_free(struct rh__copkg *s)
{
	if (s->closing && !s->fetches) {
		json_decref(s->verified);
		free(s->root);
		free(s);
	}
}

static void fetch_release(struct fetch *f)
{
	struct rh__copkg *s = f->s;

	free(f->key);
	free(f->coord);
	free(f->url);
	free(f->shown);
	free(f->adir);
	free(f->dir);
	free(f->version);
	free(f->bytes);
	free(f);
	store_maybe_free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
	fetch_release(h->data);
}

/* The fetch is over: unlock, answer every request, free. */
static void fetch_finish(struct fetch *f, const struct occo_err *err)
{
	struct rh__copkg *s = f->s;
	struct fetch **pp;
	struct rh__copkg_want *w;

	if (f->lock_fd >= 0)
		close(f->lock_fd);
	f->lock_fd = -1;
	for (pp = &s->fetches; *pp; pp = &(*pp)->next) {
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	}
	while ((w = f->wants)) {
		f->wants = w->next;
		w->cb(err ? NULL : f->dir, err, w->ud);
		free(w);
	}
	if (f->timer_init)
		uv_close((uv_handle_t *)&f->timer, on_timer_closed);
	else
		fetch_release(f);
}

static void fetch_after(uv_work_t *w, int status);

static void fetch_queue(struct fetch *f, enum step step)
{
	f->step = step;
	f->work.data = f;
	uv_queue_work(f->s->loop, &f->work, fetch_work, fetch_after);
}

static void try_lock(struct fetch *f);

static void on_lock_timer(uv_timer_t *t)
{
	try_lock(t->data);
}

static void try_lock(struct fetch *f)
{
	char *path;
	struct occo_err e;

	if (f->s->closing || !f->wants) {
		occo_err_set(&e, OCCO_ECANCELED, "cancelled");
		fetch_finish(f, &e);
		return;
	}
	if (f->lock_fd < 0) {
		path = occo_asprintf("%s.lock", f->dir);
		f->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (f->lock_fd < 0) {
			occo_err_sys(&e, OCCO_EIO, errno, "cannot open '%s'", path);
			free(path);
			fetch_finish(f, &e);
			return;
		}
		free(path);
	}
	if (flock(f->lock_fd, LOCK_EX | LOCK_NB) == 0) {
		fetch_queue(f, S_INSTALL);
		return;
	}
	if (errno != EWOULDBLOCK && errno != EINTR) {
		occo_err_sys(&e, OCCO_EIO, errno, "cannot lock '%s.lock'", f->dir);
		fetch_finish(f, &e);
		return;
	}
	if (!f->timer_init) {
		uv_timer_init(f->s->loop, &f->timer);
		f->timer.data = f;
		f->timer_init = 1;
	}
	uv_timer_start(&f->timer, on_lock_timer, LOCK_RETRY_MS, 0);
}

static void on_fetched(struct occo_http_response *resp, const struct occo_err *err, void *ud)
{
	struct fetch *f = ud;
	struct occo_err e;

	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "fetching package '%s'", f->coord);
		fetch_finish(f, &e);
		return;
	}
	if (resp->status != 200) {
		occo_err_set(&e, resp->status == 404 ? OCCO_ENOENT : OCCO_EREMOTE,
			     "fetching package '%s': GET %s: HTTP %d", f->coord, f->shown,
			     resp->status);
		fetch_finish(f, &e);
		return;
	}
	if (f->s->closing || !f->wants) {
		occo_err_set(&e, OCCO_ECANCELED, "cancelled");
		fetch_finish(f, &e);
		return;
	}
	f->bytes = occo_buf_detach(&resp->body, &f->len);
	fetch_queue(f, S_INSTALL);
}

static void fetch_http(struct fetch *f)
{
	struct occo_http_request rq = { 0 };
	struct occo_err e;

	rq.method = "GET";
	rq.url = f->url;
	rq.max_body = RH_COPKG_MAX_ZIP;
	rq.timeout_ms = FETCH_TIMEOUT_MS;
	if (occo_http_submit(f->s->http, &rq, on_fetched, f, &e) < 0) {
		occo_err_prefix(&e, "fetching package '%s'", f->coord);
		fetch_finish(f, &e);
	}
}

static void fetch_after(uv_work_t *w, int status)
{
	struct fetch *f = w->data;
	struct occo_err e;

	(void)status;
	if (f->newly_verified)
		json_object_set_new(f->s->verified, f->key, json_true());
	switch (f->result) {
	case R_DONE:
		fetch_finish(f, NULL);
		break;
	case R_LOCK:
		try_lock(f);
		break;
	case R_FETCH:
		if (f->s->closing || !f->wants) {
			occo_err_set(&e, OCCO_ECANCELED, "cancelled");
			fetch_finish(f, &e);
		} else {
			fetch_http(f);
		}
		break;
	case R_ERROR:
		fetch_finish(f, &f->err);
		break;
	}
}

/* ---- the store ---- */

struct rh__copkg *rh__copkg_new(uv_loop_t *loop, struct occo_http *http, const char *state_dir)
{
	struct rh__copkg *s = occo_calloc(1, sizeof(*s));

	s->loop = loop;
	s->http = http;
	s->root = occo_asprintf("%s/packages", state_dir);
	s->verified = json_object();
	return s;
}

void rh__copkg_free(struct rh__copkg *s)
{
	struct fetch *f;
	struct rh__copkg_want *w;

	if (!s)
		return;
	s->closing = 1;
	for (f = s->fetches; f; f = f->next) {
		while ((w = f->wants)) {
			f->wants = w->next;
			free(w);
		}
		/* a fetch waiting for its lock finishes now; the others when their step ends */
		if (f->timer_init && uv_is_active((uv_handle_t *)&f->timer)) {
			uv_timer_stop(&f->timer);
			uv_timer_start(&f->timer, on_lock_timer, 0, 0);
		}
	}
	store_maybe_free(s);
}

int rh__copkg_get(struct rh__copkg *s, const char *coordinate, const char *repository,
		  rh__copkg_cb cb, void *ud, struct rh__copkg_want **out, struct occo_err *err)
{
	struct rh__copkg_want *w;
	struct fetch *f;
	char *key, *url, *gpath, *p;
	const char *a, *v;
	size_t rl;
	int rc;

	if ((rc = rh__copkg_coord_check(coordinate, err)) < 0 ||
	    (rc = rh__copkg_repo_check(repository, err)) < 0)
		return rc;
	if (!strncmp(repository, "http://", 7) && !s->http)
		return occo_err_set(err, OCCO_ENOTSUP,
				    "package '%s': http:// repositories need the HTTP client",
				    coordinate);
	a = strchr(coordinate, ':');
	v = strchr(a + 1, ':');
	gpath = occo_strndup(coordinate, (size_t)(a - coordinate));
	for (p = gpath; *p; p++)
		if (*p == '.')
			*p = '/';
	rl = strlen(repository);
	while (rl > 8 && repository[rl - 1] == '/')
		rl--;
	url = occo_asprintf("%.*s/%s/%.*s/%s/%.*s-%s-copkg.zip", (int)rl, repository, gpath,
			    (int)(v - a - 1), a + 1, v + 1, (int)(v - a - 1), a + 1, v + 1);
	key = occo_asprintf("%s %s", coordinate, url);
	for (f = s->fetches; f; f = f->next)
		if (!strcmp(f->key, key))
			break;
	if (f) {
		free(key);
		free(url);
		free(gpath);
	} else {
		f = occo_calloc(1, sizeof(*f));
		f->s = s;
		f->key = key;
		f->url = url;
		f->shown = url_shown(url);
		f->coord = occo_strdup(coordinate);
		f->version = occo_strdup(v + 1);
		f->adir = occo_asprintf("%s/%s/%.*s", s->root, gpath, (int)(v - a - 1), a + 1);
		f->dir = occo_asprintf("%s/%s", f->adir, v + 1);
		f->is_http = !strncmp(url, "http://", 7);
		f->verified = json_object_get(s->verified, key) != NULL;
		f->lock_fd = -1;
		f->next = s->fetches;
		s->fetches = f;
		free(gpath);
		fetch_queue(f, S_PEEK);
	}
	w = occo_calloc(1, sizeof(*w));
	w->f = f;
	w->cb = cb;
	w->ud = ud;
	w->next = f->wants;
	f->wants = w;
	if (out)
		*out = w;
	return 0;
}

void rh__copkg_want_cancel(struct rh__copkg_want *w)
{
	struct rh__copkg_want **pp;

	for (pp = &w->f->wants; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			free(w);
			return;
		}
	}
}
