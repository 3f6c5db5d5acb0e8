/*
 * sentinel.c - a master, a replica and three sentinels for the tests (see sentinel.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "netns.h"
#include "sentinel.h"
#include "testutil.h"

#define WAIT_MS 20000

redisReply *occo_test_tcp_command(int port, const char *fmt, ...)
{
	struct timeval tv = { 0, 500000 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *rep = NULL;
	va_list ap;

	if (!c)
		return NULL;
	if (!c->err) {
		redisSetTimeout(c, (struct timeval){ 2, 0 });
		va_start(ap, fmt);
		rep = redisvCommand(c, fmt, ap);
		va_end(ap);
	}
	redisFree(c);
	return rep;
}

char *occo_test_info_field(int port, const char *section, const char *field)
{
	redisReply *rep = occo_test_tcp_command(port, "INFO %s", section);
	char *key = occo_asprintf("\n%s:", field), *p, *end, *v = NULL;

	if (rep && rep->type == REDIS_REPLY_STRING && (p = strstr(rep->str, key))) {
		p += strlen(key);
		end = p + strcspn(p, "\r\n");
		v = occo_strndup(p, (size_t)(end - p));
	}
	if (rep)
		freeReplyObject(rep);
	free(key);
	return v;
}

/* Start redis-server with args (NULL-terminated) in dir/name, output to dir/name.log. */
static int spawn(struct occo_test_sentinels *t, const char *name, char **args)
{
	char *sub = occo_asprintf("%s/%s", t->dir, name);
	char *log = occo_asprintf("%s.log", sub);
	char *argv[32];
	pid_t pid;
	int i, n = 0;

	mkdir(sub, 0700);
	argv[n++] = "redis-server";
	for (i = 0; args[i] && n < 30; i++)
		argv[n++] = args[i];
	argv[n++] = "--dir";
	argv[n++] = sub;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	free(sub);
	free(log);
	return pid > 0 ? pid : -1;
}

static void nap(void)
{
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
}

/* Poll until ok(t, arg) or WAIT_MS. */
static int wait_for(struct occo_test_sentinels *t, int (*ok)(struct occo_test_sentinels *, int),
		    int arg, const char *what)
{
	int i;

	for (i = 0; i < WAIT_MS / 20; i++) {
		if (ok(t, arg))
			return 0;
		nap();
	}
	fprintf(stderr, "sentinel fixture: %s did not happen within %d ms (logs in %s)\n", what,
		WAIT_MS, t->dir);
	return -1;
}

static int answers(struct occo_test_sentinels *t, int port)
{
	redisReply *rep = occo_test_tcp_command(port, "PING");
	int ok = rep && rep->type == REDIS_REPLY_STATUS;

	(void)t;
	if (rep)
		freeReplyObject(rep);
	return ok;
}

static int in_sync(struct occo_test_sentinels *t, int port)
{
	char *v = occo_test_info_field(port, "replication", "master_link_status");
	int ok = v && !strcmp(v, "up");

	(void)t;
	free(v);
	return ok;
}

/* The sentinel at port knows the replica and the two other sentinels. */
static int sentinel_ready(struct occo_test_sentinels *t, int port)
{
	redisReply *rep = occo_test_tcp_command(port, "SENTINEL master %s", t->master_name);
	int slaves = -1, others = -1;
	size_t i;

	for (i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2) {
		if (rep->element[i]->type != REDIS_REPLY_STRING ||
		    rep->element[i + 1]->type != REDIS_REPLY_STRING)
			continue;
		if (!strcmp(rep->element[i]->str, "num-slaves"))
			slaves = atoi(rep->element[i + 1]->str);
		else if (!strcmp(rep->element[i]->str, "num-other-sentinels"))
			others = atoi(rep->element[i + 1]->str);
	}
	if (rep)
		freeReplyObject(rep);
	return slaves == 1 && others == OCCO_TEST_SENTINELS - 1;
}

int occo_test_sentinels_start(struct occo_test_sentinels *t, const char *master_name)
{
	char mport[16], rport[16], sport[16], name[32];
	int i;

	memset(t, 0, sizeof(*t));
	t->dir = occo_test_tmpdir("sentinel");
	t->master_name = master_name;
	t->master_port = occo_test_free_port();
	t->replica_port = occo_test_free_port();
	snprintf(mport, sizeof(mport), "%d", t->master_port);
	snprintf(rport, sizeof(rport), "%d", t->replica_port);

	t->master_pid = spawn(t, "master",
			      (char *[]){ "--port", mport, "--bind", "127.0.0.1", "--save", "",
					  "--appendonly", "no", NULL });
	if (t->master_pid < 0 || wait_for(t, answers, t->master_port, "the master answering") < 0)
		return -1;
	t->replica_pid =
		spawn(t, "replica",
		      (char *[]){ "--port", rport, "--bind", "127.0.0.1", "--save", "",
				  "--appendonly", "no", "--replicaof", "127.0.0.1", mport, NULL });
	if (t->replica_pid < 0 || wait_for(t, in_sync, t->replica_port, "the replica in sync") < 0)
		return -1;

	for (i = 0; i < OCCO_TEST_SENTINELS; i++) {
		char *conf;

		t->sentinel_port[i] = occo_test_free_port();
		snprintf(name, sizeof(name), "sentinel%d.conf", i);
		conf = occo_asprintf("port %d\n"
				     "bind 127.0.0.1\n"
				     "sentinel monitor %s 127.0.0.1 %d 2\n"
				     "sentinel down-after-milliseconds %s 1000\n"
				     "sentinel failover-timeout %s 3000\n"
				     "sentinel parallel-syncs %s 1\n",
				     t->sentinel_port[i], master_name, t->master_port, master_name,
				     master_name, master_name);
		occo_test_write_file(t->dir, name, conf);
		free(conf);
		conf = occo_asprintf("%s/%s", t->dir, name);
		snprintf(sport, sizeof(sport), "s%d", i);
		t->sentinel_pid[i] = spawn(t, sport, (char *[]){ conf, "--sentinel", NULL });
		free(conf);
		if (t->sentinel_pid[i] < 0)
			return -1;
	}
	for (i = 0; i < OCCO_TEST_SENTINELS; i++)
		if (wait_for(t, sentinel_ready, t->sentinel_port[i],
			     "a sentinel knowing the replica and the other sentinels") < 0)
			return -1;
	return 0;
}

static void kill_one(int *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
	}
	*pid = 0;
}

void occo_test_sentinels_stop(struct occo_test_sentinels *t)
{
	int i;

	for (i = 0; i < OCCO_TEST_SENTINELS; i++)
		kill_one(&t->sentinel_pid[i]);
	kill_one(&t->master_pid);
	kill_one(&t->replica_pid);
	if (t->dir)
		occo_test_rmtree(t->dir);
	free(t->dir);
	t->dir = NULL;
}
