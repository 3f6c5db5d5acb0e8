/*
 * rest.c - the REST service in the background and curl for the tests (rest.h).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rest.h"
#include "testutil.h"
#include "occo/util/alloc.h"

static char *slurp(const char *path)
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

int occo_test_svc_start(struct occo_test_svc *s, const char *cwd, char *const args[],
			char *const env_add[], const char *log)
{
	char *prog = occo_test_program("api/occopus-rest-service");
	char *argv[32] = { prog };
	size_t n = 1;
	pid_t pid;
	int i;

	for (; args && *args && n < 29; args++)
		argv[n++] = *args;
	argv[n++] = "--port";
	argv[n++] = "0";
	s->log = occo_strdup(log);
	s->port = 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(prog);
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int fi = open("/dev/null", O_RDONLY);

		dup2(fi, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (cwd && chdir(cwd) < 0)
			_exit(126);
		putenv("OCCOPUS_LOG_LEVEL=info");
		for (; env_add && *env_add; env_add++)
			putenv(*env_add);
		execv(argv[0], argv);
		_exit(127);
	}
	free(prog);
	s->pid = pid;
	for (i = 0; i < 1000; i++) {
		char *text = slurp(log), *p, *last = NULL;
		int status;

		/* the last "listening" line: the log may hold earlier runs */
		for (p = strstr(text, "msg=listening"); p; p = strstr(p + 1, "msg=listening"))
			last = p;
		if (last && (p = strstr(last, "port=")) && strchr(last, '\n')) {
			s->port = atoi(p + 5);
			free(text);
			return s->port > 0 ? 0 : -1;
		}
		free(text);
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr,
				"occopus-rest-service exited early (status %d); its log:\n%s\n",
				status, (text = slurp(log)));
			free(text);
			s->pid = 0;
			return -1;
		}
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "occopus-rest-service did not say where it listens\n");
	return -1;
}

int occo_test_svc_stop(struct occo_test_svc *s, int sig)
{
	int status = 0;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, sig);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int occo_test_svc_log_count(const struct occo_test_svc *s, const char *needle)
{
	char *text = slurp(s->log), *p;
	int n = 0;

	for (p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	free(text);
	return n;
}

int occo_test_http(const char *method, const char *url, const char *data, char *const extra[],
		   char **body)
{
	char *argv[40] = {
		"curl", "-sS", "-m", "30", "-X", (char *)method, "-w", "\n%{http_code}"
	};
	size_t n = 8;
	char *out = NULL, *err = NULL, *nl;
	int rc, status = 0;

	if (data) {
		argv[n++] = "--data-binary";
		argv[n++] = (char *)data;
		argv[n++] = "-H";
		argv[n++] = "Content-Type: application/x-yaml";
	}
	for (; extra && *extra && n < 38; extra++)
		argv[n++] = *extra;
	argv[n++] = (char *)url;
	argv[n] = NULL;
	rc = occo_test_run(NULL, argv, NULL, &out, &err);
	nl = strrchr(out, '\n');
	if (rc == 0 && nl) {
		status = atoi(nl + 1);
		*nl = 0;
	}
	if (body)
		*body = out;
	else
		free(out);
	free(err);
	return status;
}
