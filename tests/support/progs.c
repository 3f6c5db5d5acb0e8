/*
 * progs.c - see progs.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/id.h"

/* The most arguments a program gets from the variadic functions. */
#define MAX_ARGS 14

char *occo_test_last_line(const char *out)
{
	const char *end = out + strlen(out), *p;

	while (end > out && end[-1] == '\n')
		end--;
	for (p = end; p > out && p[-1] != '\n'; p--)
		;
	return occo_strndup(p, (size_t)(end - p));
}

char *occo_test_redis_dump(redisContext *rc)
{
	struct occo_buf b;
	redisReply *keys = redisCommand(rc, "KEYS *");
	size_t i, k;

	occo_buf_init(&b, 256u << 20);
	for (i = 0; keys && i < keys->elements; i++) {
		const char *key = keys->element[i]->str;
		redisReply *t = redisCommand(rc, "TYPE %s", key), *v = NULL;

		occo_buf_appendf(&b, NULL, "%s\n", key);
		if (!strcmp(t->str, "string"))
			v = redisCommand(rc, "GET %s", key);
		else if (!strcmp(t->str, "hash"))
			v = redisCommand(rc, "HGETALL %s", key);
		else if (!strcmp(t->str, "set"))
			v = redisCommand(rc, "SMEMBERS %s", key);
		else if (!strcmp(t->str, "list"))
			v = redisCommand(rc, "LRANGE %s 0 -1", key);
		else if (!strcmp(t->str, "zset"))
			v = redisCommand(rc, "ZRANGE %s 0 -1", key);
		else if (!strcmp(t->str, "stream"))
			v = redisCommand(rc, "XRANGE %s - +", key);
		if (v && v->type == REDIS_REPLY_STRING)
			occo_buf_appendf(&b, NULL, "%s\n", v->str);
		for (k = 0; v && v->type == REDIS_REPLY_ARRAY && k < v->elements; k++) {
			const redisReply *e = v->element[k];
			size_t j;

			if (e->type == REDIS_REPLY_STRING)
				occo_buf_appendf(&b, NULL, "%s\n", e->str);
			/* a stream entry: [id, [field, value, ...]] */
			for (j = 0; e->type == REDIS_REPLY_ARRAY && j < e->elements; j++) {
				const redisReply *x = e->element[j];
				size_t y;

				if (x->type == REDIS_REPLY_STRING)
					occo_buf_appendf(&b, NULL, "%s\n", x->str);
				for (y = 0; x->type == REDIS_REPLY_ARRAY && y < x->elements; y++)
					occo_buf_appendf(&b, NULL, "%s\n", x->element[y]->str);
			}
		}
		freeReplyObject(v);
		freeReplyObject(t);
	}
	freeReplyObject(keys);
	return occo_buf_detach(&b, NULL);
}

pid_t occo_test_start(const char *cwd, char *const argv[], char *const env_add[], const char *log)
{
	pid_t pid;
	size_t i;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = log ? open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)
			     : open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		if (chdir(cwd) < 0)
			_exit(126);
		for (i = 0; env_add && env_add[i]; i++)
			putenv(env_add[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int occo_test_record_in_state(redisContext *rc, const char *ns, const char *id, const char *state)
{
	redisReply *r = redisCommand(rc, "HVALS %s:{%s}:nodes", ns, id);
	char *want = occo_asprintf("\"state\":\"%s\"", state);
	int yes = 0;
	size_t i;

	for (i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
		yes |= strstr(r->element[i]->str, want) != NULL;
	freeReplyObject(r);
	free(want);
	return yes;
}

void occo_test_progs_setenv(struct occo_test_progs *p, const char *entry)
{
	size_t name = strcspn(entry, "="), i;

	for (i = 0; p->env[i]; i++)
		if (!strncmp(p->env[i], entry, name + 1))
			break;
	if (i + 1 >= OCCO_TEST_PROGS_ENV)
		fail_msg("too many environment entries for %s", entry);
	free(p->env[i]);
	p->env[i] = occo_strdup(entry);
}

int occo_test_progs_setup(struct occo_test_progs *p, const char *name, char *const extra_env[])
{
	char *e;
	size_t i;
	int own_store = 0;

	memset(p, 0, sizeof(*p));
	for (i = 0; extra_env && extra_env[i]; i++)
		own_store |= !strncmp(extra_env[i], "OCCOPUS_REDIS_URL=", 18);
	if (!own_store && occo_test_redis_start(&p->redis) < 0)
		return -1;
	if (!own_store && !(p->rc = redisConnectUnix(p->redis.sock))) {
		fprintf(stderr, "cannot connect to %s\n", p->redis.sock);
		return -1;
	}
	if (!own_store && p->rc->err) {
		fprintf(stderr, "cannot connect to %s: %s\n", p->redis.sock, p->rc->errstr);
		return -1;
	}
	p->dir = occo_test_tmpdir(name);
	p->cwd = occo_strdup(p->dir);
	occo_buf_init(&p->said, 64u << 20);
	e = occo_asprintf("HOME=%s", p->dir);
	occo_test_progs_setenv(p, e);
	free(e);
	if (!own_store) {
		e = occo_asprintf("OCCOPUS_REDIS_URL=unix://%s", p->redis.sock);
		occo_test_progs_setenv(p, e);
		free(e);
	}
	occo_test_progs_setenv(p, "OCCOPUS_CONFIG_PATH=");
	occo_test_progs_setenv(p, "OCCOPUS_LOG_LEVEL=warn");
	for (i = 0; extra_env && extra_env[i]; i++)
		occo_test_progs_setenv(p, extra_env[i]);
	return 0;
}

void occo_test_progs_teardown(struct occo_test_progs *p)
{
	size_t i;

	if (p->rc)
		redisFree(p->rc);
	if (p->redis.dir)
		occo_test_redis_stop(&p->redis);
	if (p->dir)
		occo_test_rmtree(p->dir);
	for (i = 0; p->env[i]; i++)
		free(p->env[i]);
	occo_buf_release(&p->said);
	free(p->cwd);
	free(p->dir);
	memset(p, 0, sizeof(*p));
}

int occo_test_progs_free(void **state)
{
	occo_test_progs_teardown(*state);
	free(*state);
	return 0;
}

void occo_test_progs_cd(struct occo_test_progs *p, const char *where)
{
	free(p->cwd);
	p->cwd = where[0] == '/' ? occo_strdup(where) : occo_asprintf("%s/%s", p->dir, where);
}

/* argv for occopus-<prog> and the arguments (the path malloc'd, the rest borrowed). */
static void make_argv(char *argv[MAX_ARGS + 2], const char *prog, char *const args[])
{
	size_t n = 0;

	argv[0] = occo_asprintf("%s/api/occopus-%s", OCCO_BINARY_DIR, prog);
	while (args && args[n]) {
		if (n == MAX_ARGS)
			fail_msg("occopus-%s: more than %d arguments", prog, MAX_ARGS);
		argv[n + 1] = args[n];
		n++;
	}
	argv[n + 1] = NULL;
}

/* The variadic arguments after prog into args (NULL-ended). */
static void collect_args(char *args[MAX_ARGS + 1], const char *prog, va_list ap)
{
	size_t n = 0;

	while ((args[n] = va_arg(ap, char *)))
		if (++n == MAX_ARGS + 1)
			fail_msg("occopus-%s: more than %d arguments", prog, MAX_ARGS);
}

int occo_test_progs_runv(struct occo_test_progs *p, char **out, char **err, const char *prog,
			 char *const args[])
{
	char *argv[MAX_ARGS + 2], *o = NULL, *e = NULL;
	int rc;

	make_argv(argv, prog, args);
	rc = occo_test_run(p->cwd, argv, p->env, &o, &e);
	occo_buf_appendf(&p->said, NULL, "%s\n%s\n", o, e);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	free(argv[0]);
	return rc;
}

int occo_test_progs_run(struct occo_test_progs *p, char **out, char **err, const char *prog, ...)
{
	char *args[MAX_ARGS + 1];
	va_list ap;

	va_start(ap, prog);
	collect_args(args, prog, ap);
	va_end(ap);
	return occo_test_progs_runv(p, out, err, prog, args);
}

char *occo_test_progs_build(struct occo_test_progs *p, const char *infra_file, char **out)
{
	char *o = NULL, *e = NULL, *id;

	if (occo_test_progs_run(p, &o, &e, "build", infra_file, NULL) != 0)
		fail_msg("occopus-build %s failed:\n%s%s", infra_file, o, e);
	id = occo_test_last_line(o);
	if (!occo_uuid_valid(id))
		fail_msg("occopus-build %s: the last line is no id: '%s'", infra_file, id);
	if (out)
		*out = o;
	else
		free(o);
	free(e);
	return id;
}

pid_t occo_test_progs_start(struct occo_test_progs *p, const char *log, const char *prog, ...)
{
	char *args[MAX_ARGS + 1], *argv[MAX_ARGS + 2];
	va_list ap;
	pid_t pid;

	va_start(ap, prog);
	collect_args(args, prog, ap);
	va_end(ap);
	make_argv(argv, prog, args);
	pid = occo_test_start(p->cwd, argv, p->env, log);
	free(argv[0]);
	return pid;
}

int occo_test_progs_kill_build(struct occo_test_progs *p, const char *log, const char *infra_file,
			       const char *id, int after_record, unsigned wait_ms,
			       unsigned after_ms)
{
	pid_t pid = occo_test_progs_start(p, log, "build", "-i", id, infra_file, NULL);
	unsigned waited = 0;
	redisReply *r;
	char *said;
	int status, known;

	while (after_record && waited < wait_ms &&
	       !occo_test_record_in_state(p->rc, "occo", id, "creating")) {
		usleep(1000);
		waited++;
	}
	usleep((useconds_t)after_ms * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (log) {
		said = occo_test_slurp(log);
		occo_buf_appendf(&p->said, NULL, "%s\n", said);
		free(said);
	}
	r = redisCommand(p->rc, "EXISTS occo:{%s}:desc", id);
	known = r && r->integer == 1;
	freeReplyObject(r);
	return known;
}

json_t *occo_test_progs_records(struct occo_test_progs *p, const char *id)
{
	redisReply *r = redisCommand(p->rc, "HGETALL occo:{%s}:nodes", id);
	json_t *o = json_object();
	size_t i;

	for (i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		json_object_set_new(o, r->element[i]->str,
				    json_loads(r->element[i + 1]->str, 0, NULL));
	freeReplyObject(r);
	return o;
}

char *occo_test_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct occo_buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		fail_msg("cannot read '%s'", path);
	occo_buf_init(&b, 1u << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (occo_buf_append(&b, chunk, n, NULL) < 0)
			fail_msg("'%s' is larger than 1 MiB", path);
	fclose(f);
	return occo_buf_detach(&b, NULL);
}

char *occo_test_replace(char *s, const char *from, const char *to)
{
	struct occo_buf b;
	const char *p = s, *q;

	occo_buf_init(&b, 1u << 20);
	while ((q = strstr(p, from))) {
		occo_buf_append(&b, p, (size_t)(q - p), NULL);
		occo_buf_appends(&b, to, NULL);
		p = q + strlen(from);
	}
	occo_buf_appends(&b, p, NULL);
	free(s);
	return occo_buf_detach(&b, NULL);
}

void occo_test_progs_tutorial(struct occo_test_progs *p, const char *name,
			      const char *const (*subst)[2], size_t n)
{
	char *from = occo_asprintf("%s/occopus-tutorials/%s", OCCO_SHARED_DIR, name);
	char *to = occo_asprintf("%s/%s", p->dir, name);
	char *cp[] = { "cp", "-r", from, to, NULL }, *chmod[] = { "chmod", "-R", "u+w", to, NULL };
	char *rel = occo_asprintf("%s/nodes/node_definitions.yaml", name);
	char *path = occo_asprintf("%s/%s", p->dir, rel), *text;
	size_t i;

	if (occo_test_run(NULL, cp, NULL, NULL, NULL) != 0 ||
	    occo_test_run(NULL, chmod, NULL, NULL, NULL) != 0)
		fail_msg("cannot copy the tutorial '%s' to %s", from, to);
	text = occo_test_slurp(path);
	for (i = 0; i < n; i++)
		text = occo_test_replace(text, subst[i][0], subst[i][1]);
	if (strstr(text, "replace_with"))
		fail_msg("a placeholder is left in %s:\n%s", path, strstr(text, "replace_with"));
	occo_test_write_file(p->dir, rel, text);
	free(text);
	free(path);
	free(rel);
	free(to);
	free(from);
}

void occo_test_progs_auth(struct occo_test_progs *p, const char *yaml)
{
	char *dir = occo_asprintf("%s/.occopus", p->dir);
	char *path = occo_asprintf("%s/auth_data.yaml", dir);
	int fd;

	mkdir(dir, 0700);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml))
		fail_msg("cannot write '%s'", path);
	close(fd);
	free(path);
	free(dir);
}

int occo_test_group_alive(int pgid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int alive = 0;

	assert_non_null(d);
	while (!alive && (e = readdir(d))) {
		char path[64], buf[512], *p, st;
		int pgrp = 0;
		FILE *fp;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(fp = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), fp) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %c %*d %d", &st, &pgrp) == 2 && pgrp == pgid && st != 'Z')
			alive = 1;
		fclose(fp);
	}
	closedir(d);
	return alive;
}
