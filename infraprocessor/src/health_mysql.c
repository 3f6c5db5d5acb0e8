/*
 * health_mysql.c - the mysqldbs probe: a real login to one database (Occopus: MySQLdb.connect
 * with host, user, passwd and db), with libmariadb's non-blocking API.
 *
 * mysql_real_connect_start() and _cont() run the login as a coroutine inside libmariadb; when
 * it would wait, they return what to wait for (read, write) on mysql_get_socket(), which a
 * uv_poll watches. A login that succeeds is closed the same way (mysql_close_start/_cont, so
 * the server sees a clean COM_QUIT). One timer bounds the whole probe; on it, the connection is
 * cut (mariadb_cancel, so that mysql_close sends nothing) and freed. The host is the node's
 * numeric address, so libmariadb never resolves a name (which would block).
 *
 * The password is handed to libmariadb only; messages are libmariadb's own ("Access denied for
 * user 'u'@'h' (using password: YES)", "Unknown database 'x'"), and any text equal to the
 * password is blanked in them all the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "occo/util/alloc.h"
#include "health_int.h"

enum phase { CONNECT, CLOSE };

struct db_probe {
	struct hc__probe p;
	MYSQL *my;
	enum phase phase;
	uv_poll_t *poll; /* on the connection's socket while waiting */
	int poll_fd;
	uv_timer_t timer;
	int handles; /* open: the timer and the poll */
	int ended;
};

static void closed(uv_handle_t *hd)
{
	struct db_probe *dp = hd->data;

	if ((uv_handle_t *)dp->poll != hd && hd != (uv_handle_t *)&dp->timer)
		free(hd); /* a poll of an earlier socket */
	if (--dp->handles == 0)
		hc__probe_release(&dp->p);
}

static void close_poll(struct db_probe *dp)
{
	if (dp->poll) {
		uv_close((uv_handle_t *)dp->poll, closed);
		dp->poll = NULL; /* freed in closed() */
	}
}

/* Let go of the connection and the handles (once). */
static void end(struct db_probe *dp)
{
	if (dp->ended)
		return;
	dp->ended = 1;
	close_poll(dp);
	if (dp->my) {
		/* an operation may be half done: cut the connection so that closing sends nothing */
		mariadb_cancel(dp->my);
		mysql_close(dp->my);
		dp->my = NULL;
	}
	uv_close((uv_handle_t *)&dp->timer, closed);
}

/* The login failed: say which database, where and as whom, then libmariadb's words. */
static void what(struct db_probe *dp, const char *msg)
{
	const struct hc__db *d = &dp->p.c->dbs[dp->p.index];
	char m[OCCO_ERR_MSG_MAX];

	snprintf(m, sizeof(m), "%s", msg);
	hc__scrub(m, sizeof(m), d->pass);
	hc__probe_done(&dp->p, 0, "mysql database '%s' on %s as user '%s': %s", d->name,
		       dp->p.c->ip, d->user, m);
}

static void step(struct db_probe *dp, int status);

static void ready(uv_poll_t *poll, int status, int events)
{
	struct db_probe *dp = poll->data;
	int st = 0;

	uv_poll_stop(poll);
	if (status < 0) {
		st = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE; /* let libmariadb find the error */
	} else {
		if (events & UV_READABLE)
			st |= MYSQL_WAIT_READ;
		if (events & UV_WRITABLE)
			st |= MYSQL_WAIT_WRITE;
		if (events & UV_PRIORITIZED)
			st |= MYSQL_WAIT_EXCEPT;
	}
	if (dp->phase == CONNECT) {
		MYSQL *ret = NULL;

		st = mysql_real_connect_cont(&ret, dp->my, st);
		if (st == 0) {
			if (!ret) {
				what(dp, mysql_error(dp->my));
				end(dp);
				return;
			}
			hc__probe_done(&dp->p, 1, NULL);
			dp->phase = CLOSE;
			st = mysql_close_start(dp->my);
		}
	} else {
		st = mysql_close_cont(dp->my, st);
	}
	step(dp, st);
}

/* libmariadb said what it waits for (st), or that it is done closing (0). */
static void step(struct db_probe *dp, int st)
{
	int fd, ev = 0;

	if (st == 0) { /* closed: the MYSQL is freed */
		dp->my = NULL;
		end(dp);
		return;
	}
	if (st & MYSQL_WAIT_READ)
		ev |= UV_READABLE;
	if (st & MYSQL_WAIT_WRITE)
		ev |= UV_WRITABLE;
	if (st & MYSQL_WAIT_EXCEPT)
		ev |= UV_PRIORITIZED;
	if (!ev)
		return; /* only a timeout to wait for: the probe's own timer decides */
	fd = (int)mysql_get_socket(dp->my);
	if (dp->poll && dp->poll_fd != fd)
		close_poll(dp); /* another socket (a second address was tried) */
	if (!dp->poll) {
		dp->poll = occo_calloc(1, sizeof(*dp->poll));
		if (fd < 0 || uv_poll_init_socket(dp->p.h->loop, dp->poll, fd) < 0) {
			free(dp->poll);
			dp->poll = NULL;
			if (dp->phase == CONNECT)
				what(dp, "cannot watch the connection");
			end(dp);
			return;
		}
		dp->poll->data = dp;
		dp->poll_fd = fd;
		dp->handles++;
	}
	uv_poll_start(dp->poll, ev, ready);
}

static void timed_out(uv_timer_t *t)
{
	struct db_probe *dp = t->data;
	char secs[24], msg[64];

	hc__secs(dp->p.h->o.mysql_timeout_ms, secs);
	snprintf(msg, sizeof(msg), "no answer within %s", secs);
	if (dp->phase == CONNECT)
		what(dp, msg);
	end(dp);
}

static void start(struct hc__probe *p)
{
	struct db_probe *dp = (struct db_probe *)p;
	const struct hc__db *d = &p->c->dbs[p->index];
	unsigned secs = (p->h->o.mysql_timeout_ms + 999) / 1000;
	MYSQL *ret = NULL;
	int st;

	uv_timer_init(p->h->loop, &dp->timer);
	dp->timer.data = dp;
	dp->handles = 1;
	uv_timer_start(&dp->timer, timed_out, p->h->o.mysql_timeout_ms, 0);
	dp->my = mysql_init(NULL);
	if (!dp->my) {
		what(dp, "out of memory");
		end(dp);
		return;
	}
	mysql_options(dp->my, MYSQL_OPT_NONBLOCK, 0);
	mysql_options(dp->my, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
	mysql_options(dp->my, MYSQL_OPT_READ_TIMEOUT, &secs);
	mysql_options(dp->my, MYSQL_OPT_WRITE_TIMEOUT, &secs);
	st = mysql_real_connect_start(&ret, dp->my, p->c->ip, d->user, d->pass, d->name,
				      p->h->o.mysql_port, NULL, 0);
	if (st == 0) {
		if (!ret) {
			what(dp, mysql_error(dp->my));
			end(dp);
			return;
		}
		hc__probe_done(p, 1, NULL);
		dp->phase = CLOSE;
		st = mysql_close_start(dp->my);
	}
	step(dp, st);
}

static void cancel(struct hc__probe *p)
{
	end((struct db_probe *)p);
}

static const struct hc__probe_ops ops = { start, cancel };

void hc__db_probe(struct hc__check *c, size_t index)
{
	hc__probe_new(c, sizeof(struct db_probe), &ops, index);
}
