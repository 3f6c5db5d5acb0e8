/*
 * localnode.h - helpers for the tests of the local back-end: copkg zips (written by Python's
 * zipfile, tests/support/copkg_zip.py), an http:// package repository (`python3 -m
 * http.server`), and what the process table says of a node's processes.
 */
#ifndef OCCO_TEST_LOCALNODE_H
#define OCCO_TEST_LOCALNODE_H

#include <stddef.h>

/* One entry of a zip: a file (content, mode) or, with link set, a symlink. */
struct occo_test_zip_entry {
	const char *name;
	const char *content;
	unsigned mode; /* 0: 0644 */
	const char *link;
};

/* Write a zip (parent directories created); 0 or -1 with a message on stderr. */
int occo_test_zip(const char *path, const struct occo_test_zip_entry *v, size_t n);

/* Where a repository directory keeps a coordinate's zip, as copkg names it; malloc'd. */
char *occo_test_copkg_path(const char *repo, const char *coordinate);

/*
 * A package repository served over HTTP on 127.0.0.1 (`python3 -m http.server`); each request
 * is a line of `log`. With delay_ms set (before start), every GET waits that long first, so
 * that fetches from several clients overlap.
 */
struct occo_test_http_repo {
	int pid;
	int port;
	int delay_ms;
	char *log;
};

/* Serve `dir`, wait until it accepts connections; 0 or -1. */
int occo_test_http_repo_start(struct occo_test_http_repo *r, const char *dir, const char *log);
void occo_test_http_repo_stop(struct occo_test_http_repo *r);

/* Lines of a file that contain `s` (0 when the file is missing). */
int occo_test_count_lines(const char *path, const char *s);

/* A file's contents (malloc'd), or NULL. */
char *occo_test_read_file(const char *path);

/* 1 if the process runs (exists and is not a zombie). */
int occo_test_pid_running(int pid);
/* Processes of a process group that are not zombies. */
int occo_test_group_running(int pgid);
/* SIGKILL every process group named by a pid file under dir/local/<infra>/<node>/pid. */
void occo_test_kill_nodes(const char *state_dir);

/* Connect to addr:port over TCP within timeout_ms (polling); 0 or -1. */
int occo_test_tcp_wait(const char *addr, int port, int timeout_ms);
/* GET http://addr:port/path; the body (malloc'd) of a 200, else NULL. */
char *occo_test_http_get(const char *addr, int port, const char *path);

#endif
