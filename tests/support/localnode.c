/*
 * localnode.c - helpers for the tests of the local back-end (see localnode.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "occo/util/alloc.h"
#include "localnode.h"
#include "testutil.h"

static void nap_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

int occo_test_zip(const char *path, const struct occo_test_zip_entry *v, size_t n)
{
	char *dir = occo_test_tmpdir("zip"), *spec = occo_asprintf("%s/spec.json", dir);
	char *script = occo_asprintf("%s/tests/support/copkg_zip.py", OCCO_SOURCE_DIR), *err = NULL;
	json_t *list = json_array();
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		json_t *e = json_pack("{s:s, s:s, s:i}", "name", v[i].name, "content",
				      v[i].content ? v[i].content : "", "mode",
				      v[i].mode ? (int)v[i].mode : 0644);

		if (v[i].link)
			json_object_set_new(e, "link", json_string(v[i].link));
		json_array_append_new(list, e);
	}
	rc = json_dump_file(list, spec, 0);
	json_decref(list);
	if (rc == 0) {
		char *argv[] = { "python3", script, (char *)path, spec, NULL };

		rc = occo_test_run(NULL, argv, NULL, NULL, &err);
		if (rc)
			fprintf(stderr, "copkg_zip.py %s: exit %d: %s\n", path, rc, err);
	}
	free(err);
	occo_test_rmtree(dir);
	free(dir);
	free(spec);
	free(script);
	return rc ? -1 : 0;
}

char *occo_test_copkg_path(const char *repo, const char *coordinate)
{
	char *g = occo_strdup(coordinate), *a, *v, *p, *path;

	a = strchr(g, ':');
	*a++ = '\0';
	v = strchr(a, ':');
	*v++ = '\0';
	for (p = g; *p; p++)
		if (*p == '.')
			*p = '/';
	path = occo_asprintf("%s/%s/%s/%s/%s-%s-copkg.zip", repo, g, a, v, a, v);
	free(g);
	return path;
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* http.server's handler with a delay before each GET: argv = port, directory, seconds. */
static const char slow_server[] =
	"import functools, http.server, sys, time\n"
	"class H(http.server.SimpleHTTPRequestHandler):\n"
	"    def do_GET(self):\n"
	"        time.sleep(float(sys.argv[3]))\n"
	"        super().do_GET()\n"
	"h = functools.partial(H, directory=sys.argv[2])\n"
	"http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h).serve_forever()\n";

int occo_test_http_repo_start(struct occo_test_http_repo *r, const char *dir, const char *log)
{
	char port[16];
	pid_t pid;

	r->port = free_port();
	r->log = occo_strdup(log);
	if (r->port < 0)
		return -1;
	snprintf(port, sizeof(port), "%d", r->port);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int in = open("/dev/null", O_RDONLY);

		dup2(in, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		setpgid(0, 0); /* python3 may be a shim that forks the interpreter */
		setenv("PYTHONUNBUFFERED", "1", 1);
		if (r->delay_ms > 0) {
			char delay[32];

			snprintf(delay, sizeof(delay), "%g", r->delay_ms / 1000.0);
			execlp("python3", "python3", "-c", slow_server, port, dir, delay,
			       (char *)NULL);
		} else {
			execlp("python3", "python3", "-m", "http.server", port, "--bind",
			       "127.0.0.1", "--directory", dir, (char *)NULL);
		}
		_exit(127);
	}
	r->pid = pid;
	if (occo_test_tcp_wait("127.0.0.1", r->port, 10000) < 0) {
		occo_test_http_repo_stop(r);
		return -1;
	}
	return 0;
}

void occo_test_http_repo_stop(struct occo_test_http_repo *r)
{
	if (r->pid > 0) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	free(r->log);
	r->log = NULL;
}

char *occo_test_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, len = 0, n;
	char *s;

	if (!f)
		return NULL;
	s = occo_malloc(cap);
	while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			s = occo_realloc(s, cap);
		}
	}
	s[len] = '\0';
	fclose(f);
	return s;
}

int occo_test_count_lines(const char *path, const char *s)
{
	char *text = occo_test_read_file(path), *line, *save = NULL;
	int n = 0;

	if (!text)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, s))
			n++;
	free(text);
	return n;
}

/* State and process group of a pid from /proc, or -1. */
static int proc_stat(int pid, char *state, int *pgrp)
{
	char path[64], buf[1024], *s;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 2, "%c %*d %d", state, pgrp) != 2)
		return -1;
	return 0;
}

int occo_test_pid_running(int pid)
{
	char state;
	int pgrp;

	return pid > 0 && proc_stat(pid, &state, &pgrp) == 0 && state != 'Z' && state != 'X';
}

int occo_test_group_running(int pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0, pgrp;
	char state;

	while (d && (de = readdir(d))) {
		int pid = atoi(de->d_name);

		if (pid > 0 && proc_stat(pid, &state, &pgrp) == 0 && pgrp == pgid && state != 'Z' &&
		    state != 'X')
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

void occo_test_kill_nodes(const char *state_dir)
{
	char *pat = occo_asprintf("%s/local/*/*/pid", state_dir);
	glob_t g;
	size_t i;

	if (glob(pat, 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++) {
			char *s = occo_test_read_file(g.gl_pathv[i]);
			int pid = s ? atoi(s) : 0;

			if (pid > 1)
				kill(-pid, SIGKILL);
			free(s);
		}
		globfree(&g);
	}
	free(pat);
}

static int tcp_connect(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int occo_test_tcp_wait(const char *addr, int port, int timeout_ms)
{
	int waited, fd;

	for (waited = 0; waited <= timeout_ms; waited += 20) {
		if ((fd = tcp_connect(addr, port)) >= 0) {
			close(fd);
			return 0;
		}
		nap_ms(20);
	}
	return -1;
}

char *occo_test_http_get(const char *addr, int port, const char *path)
{
	char req[512], *buf, *body = NULL;
	size_t cap = 65536, len = 0;
	ssize_t n;
	int fd = tcp_connect(addr, port);

	if (fd < 0)
		return NULL;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return NULL;
	}
	buf = occo_malloc(cap);
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	if (!strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 8, " 200", 4)) {
		char *p = strstr(buf, "\r\n\r\n");

		if (p)
			body = occo_strdup(p + 4);
	}
	free(buf);
	return body;
}
