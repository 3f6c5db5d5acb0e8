/*
 * sentinel.h - a Redis master, its replica and three Redis Sentinels on loopback TCP, for the
 * tests of the Sentinel client: redis-server started with --replicaof and with --sentinel (the
 * redis-sentinel program is the same binary), each in a directory of its own under one
 * temporary directory.
 */
#ifndef OCCO_TEST_SENTINEL_H
#define OCCO_TEST_SENTINEL_H

#include <hiredis/hiredis.h>

#include "netns.h" /* occo_test_free_port() */

#define OCCO_TEST_SENTINELS 3

struct occo_test_sentinels {
	char *dir;
	const char *master_name;
	int master_port, replica_port;
	int master_pid, replica_pid;
	int sentinel_port[OCCO_TEST_SENTINELS];
	int sentinel_pid[OCCO_TEST_SENTINELS];
};

/*
 * Start the master and its replica, wait until the replica is in sync, then start the sentinels
 * (quorum 2, down-after 1000 ms, failover-timeout 3000 ms) watching master_name (borrowed) and
 * wait until each knows the replica and the other two. 0, or -1 with a message on stderr.
 */
int occo_test_sentinels_start(struct occo_test_sentinels *t, const char *master_name);

/* SIGKILL every process still running and remove the directory. */
void occo_test_sentinels_stop(struct occo_test_sentinels *t);

/* A command to 127.0.0.1:port over a blocking connection: the reply, or NULL. */
redisReply *occo_test_tcp_command(int port, const char *fmt, ...);

/* The value of "field:" in INFO's answer of the server at port, malloc'd, or NULL. */
char *occo_test_info_field(int port, const char *section, const char *field);

#endif
