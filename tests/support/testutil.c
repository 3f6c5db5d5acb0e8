/*
 * testutil.c - shared test helpers (see testutil.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "occo/util/alloc.h"
#include "testutil.h"

char *occo_test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *path = occo_asprintf("%s/occo-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);

	if (!mkdtemp(path)) {
		fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
		abort();
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void occo_test_rmtree(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void occo_test_write_file(const char *dir, const char *name, const char *content)
{
	char *path = occo_asprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
	fputs(content, f);
	fclose(f);
	free(path);
}

char *occo_test_shared_path(const char *rel)
{
	return occo_asprintf("%s/%s", OCCO_SHARED_DIR, rel);
}

int occo_test_have_shared(void)
{
	struct stat st;

	return stat(OCCO_SHARED_DIR "/occopus-fixtures", &st) == 0 && S_ISDIR(st.st_mode);
}

int occo_test_have_program(const char *name)
{
	char *cmd = occo_asprintf("command -v %s >/dev/null 2>&1", name);
	int rc = system(cmd);

	free(cmd);
	return rc == 0;
}

static int redis_ping(const char *sock)
{
	struct timeval tv = { 0, 200000 };
	redisContext *c = redisConnectUnixWithTimeout(sock, tv);
	redisReply *rep;
	int ok = 0;

	if (!c)
		return 0;
	if (!c->err) {
		rep = redisCommand(c, "PING");
		ok = rep && rep->type == REDIS_REPLY_STATUS;
		if (rep)
			freeReplyObject(rep);
	}
	redisFree(c);
	return ok;
}

int occo_test_redis_start(struct occo_test_redis *r)
{
	pid_t pid;
	int i;

	if (!r->dir) {
		r->dir = occo_test_tmpdir("redis");
		r->sock = occo_asprintf("%s/redis.sock", r->dir);
	}
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", r->sock,
		       "--unixsocketperm", "700", "--dir", r->dir, "--save", "", "--appendonly",
		       "no", "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	r->pid = pid;
	for (i = 0; i < 500; i++) {
		int status;

		if (redis_ping(r->sock))
			return 0;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "redis-server exited early (status %d)\n", status);
			r->pid = 0;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "redis-server did not answer on %s\n", r->sock);
	return -1;
}

void occo_test_redis_kill(struct occo_test_redis *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
}

void occo_test_redis_stop(struct occo_test_redis *r)
{
	occo_test_redis_kill(r);
	occo_test_rmtree(r->dir);
	free(r->dir);
	free(r->sock);
	r->dir = NULL;
	r->sock = NULL;
}

static char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, len = 0, n;
	char *s = occo_malloc(cap);

	while (f && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			s = occo_realloc(s, cap);
		}
	}
	s[len] = '\0';
	if (f)
		fclose(f);
	return s;
}

int occo_test_run(const char *cwd, char *const argv[], char *const env_add[], char **out,
		  char **err)
{
	char *dir = occo_test_tmpdir("run");
	char *opath = occo_asprintf("%s/out", dir), *epath = occo_asprintf("%s/err", dir);
	int status = 0, rc;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fi = open("/dev/null", O_RDONLY);

		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		for (; env_add && *env_add; env_add++)
			putenv(*env_add);
		execvp(argv[0], argv);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (out)
		*out = slurp_file(opath);
	if (err)
		*err = slurp_file(epath);
	occo_test_rmtree(dir);
	free(opath);
	free(epath);
	free(dir);
	return rc;
}

char *occo_test_program(const char *rel)
{
	return occo_asprintf("%s/%s", OCCO_BINARY_DIR, rel);
}
