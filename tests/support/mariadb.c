/*
 * mariadb.c - a private MariaDB server for the tests (see mariadb.h).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "occo/util/alloc.h"
#include "mariadb.h"
#include "testutil.h"

int occo_test_have_mariadb(void)
{
	return occo_test_have_program("mariadbd") && occo_test_have_program("mariadb-install-db") &&
	       occo_test_have_program("mariadb-admin") && occo_test_have_program("mariadb");
}

static int answers(struct occo_test_mariadb *m)
{
	char *argv[] = { "mariadb-admin", "--no-defaults",	 "-S",	 m->sock, "-u",
			 "root",	  "--connect-timeout=1", "ping", NULL };

	return occo_test_run(NULL, argv, NULL, NULL, NULL) == 0;
}

int occo_test_mariadb_start(struct occo_test_mariadb *m, const char *ip, int port)
{
	char *data, *log, *err = NULL, *datadir_arg, *pid_arg, *log_arg, *sock_arg, *port_arg;
	char *bind_arg;
	pid_t pid;
	int i, rc;

	memset(m, 0, sizeof(*m));
	m->dir = occo_test_tmpdir("mariadb");
	m->sock = occo_asprintf("%s/mysqld.sock", m->dir);
	snprintf(m->ip, sizeof(m->ip), "%s", ip);
	m->port = port;
	data = occo_asprintf("%s/data", m->dir);
	log = occo_asprintf("%s/error.log", m->dir);
	datadir_arg = occo_asprintf("--datadir=%s", data);
	{
		char *argv[] = { "mariadb-install-db",
				 "--no-defaults",
				 datadir_arg,
				 "--user=root",
				 "--auth-root-authentication-method=socket",
				 "--skip-test-db",
				 "--skip-name-resolve",
				 NULL };

		rc = occo_test_run(NULL, argv, NULL, NULL, &err);
	}
	if (rc != 0) {
		fprintf(stderr, "mariadb-install-db failed (%d): %s\n", rc, err ? err : "");
		free(err);
		goto fail;
	}
	free(err);
	pid_arg = occo_asprintf("--pid-file=%s/mysqld.pid", m->dir);
	log_arg = occo_asprintf("--log-error=%s", log);
	sock_arg = occo_asprintf("--socket=%s", m->sock);
	port_arg = occo_asprintf("--port=%d", port);
	bind_arg = occo_asprintf("--bind-address=%s", ip);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("mariadbd", "mariadbd", "--no-defaults", datadir_arg, sock_arg, port_arg,
		       bind_arg, "--user=root", pid_arg, log_arg, "--skip-name-resolve",
		       "--innodb-buffer-pool-size=16M", (char *)NULL);
		_exit(127);
	}
	free(pid_arg);
	free(log_arg);
	free(sock_arg);
	free(port_arg);
	free(bind_arg);
	if (pid < 0)
		goto fail;
	m->pid = pid;
	for (i = 0; i < 300; i++) {
		int status;

		if (answers(m)) {
			free(datadir_arg);
			free(data);
			free(log);
			return 0;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			m->pid = 0;
			fprintf(stderr, "mariadbd exited (status %d); see %s\n", status, log);
			goto fail;
		}
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	fprintf(stderr, "mariadbd did not answer on %s\n", m->sock);
fail:
	free(datadir_arg);
	free(data);
	free(log);
	occo_test_mariadb_stop(m);
	return -1;
}

int occo_test_mariadb_sql(struct occo_test_mariadb *m, const char *sql)
{
	char *argv[] = { "mariadb", "--no-defaults", "-S", m->sock, "-u", "root",
			 "-e",	    (char *)sql,     NULL };
	char *err = NULL;
	int rc = occo_test_run(NULL, argv, NULL, NULL, &err);

	if (rc != 0)
		fprintf(stderr, "mariadb: %s", err ? err : "");
	free(err);
	return rc == 0 ? 0 : -1;
}

void occo_test_mariadb_stop(struct occo_test_mariadb *m)
{
	int i, status;

	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		for (i = 0; i < 200 && waitpid(m->pid, &status, WNOHANG) == 0; i++)
			nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
		if (i == 200) {
			kill(m->pid, SIGKILL);
			waitpid(m->pid, NULL, 0);
		}
		m->pid = 0;
	}
	if (m->dir)
		occo_test_rmtree(m->dir);
	free(m->dir);
	free(m->sock);
	m->dir = NULL;
	m->sock = NULL;
}
