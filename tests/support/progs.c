/*
 * progs.c - see progs.h.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"

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
