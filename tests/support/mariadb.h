/*
 * mariadb.h - a private MariaDB server for the mysqldbs health check tests (BACKENDS.md):
 * Debian's mariadbd with its own data directory (made by mariadb-install-db), a unix socket
 * in that directory for the test's own SQL (as root, by socket authentication), and TCP on
 * ip:port for the health checks.
 */
#ifndef OCCO_TEST_MARIADB_H
#define OCCO_TEST_MARIADB_H

#include <stddef.h>

struct occo_test_mariadb {
	char *dir;
	char *sock;
	char ip[16];
	int port;
	int pid;
};

/* 1 when mariadbd, mariadb-install-db and the mariadb client are installed. */
int occo_test_have_mariadb(void);

/*
 * Initialise a data directory and start the server on ip:port; wait until it answers. 0, or
 * -1 with a message on stderr (everything made is removed again).
 */
int occo_test_mariadb_start(struct occo_test_mariadb *m, const char *ip, int port);

/* Run SQL as root over the unix socket; 0 when the client succeeded. */
int occo_test_mariadb_sql(struct occo_test_mariadb *m, const char *sql);

/* Stop the server (if running) and remove its directory. */
void occo_test_mariadb_stop(struct occo_test_mariadb *m);

#endif
