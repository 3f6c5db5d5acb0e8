/*
 * testutil.h - what the tests share: cmocka, temporary directories, fixture paths, a real
 * redis-server of their own, and a way to skip a test when the machine lacks something.
 */
#ifndef OCCO_TESTUTIL_H
#define OCCO_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The exit code CTest counts as "skipped". */
#define OCCO_TEST_SKIP 77

/* Make a fresh directory under $TMPDIR (or /tmp); the caller frees the path. */
char *occo_test_tmpdir(const char *tag);
/* rm -rf the directory (and free nothing). */
void occo_test_rmtree(const char *path);
/* Write a file, creating it; aborts the test on failure. */
void occo_test_write_file(const char *dir, const char *name, const char *content);
/* A path under the shared conformance directory (../shared), malloc'd. */
char *occo_test_shared_path(const char *rel);
/* 1 if the shared directory exists. */
int occo_test_have_shared(void);
/* 1 if an executable of that name is on PATH. */
int occo_test_have_program(const char *name);

/* A private redis-server on a unix socket in its own directory. */
struct occo_test_redis {
	char *dir;
	char *sock;
	int pid;
};
/* Start it and wait until it answers PING; 0 or -1 (with a message on stderr). */
int occo_test_redis_start(struct occo_test_redis *r);
/* SIGKILL it and wait for it to exit (the directory stays). */
void occo_test_redis_kill(struct occo_test_redis *r);
/* Stop it (if running) and remove its directory. */
void occo_test_redis_stop(struct occo_test_redis *r);

/*
 * Run a program to completion with extra environment entries ("K=V", NULL-terminated; may be
 * NULL), in `cwd` (NULL: inherit). *out and *err (may be NULL) get what it printed (malloc'd).
 * Returns its exit code, or 128 + the signal that killed it.
 */
int occo_test_run(const char *cwd, char *const argv[], char *const env_add[], char **out,
		  char **err);
/* The path of a program built in this tree (e.g. "api/occopus-import"); malloc'd. */
char *occo_test_program(const char *rel);

#endif
