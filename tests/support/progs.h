/*
 * progs.h - what the tests that drive the programs share: the last line of an output (the
 * infrastructure id occopus-build prints), every string Redis holds (to look for secrets), a
 * program started in the background (to be killed part-way) and a look at the records.
 */
#ifndef OCCO_TEST_PROGS_H
#define OCCO_TEST_PROGS_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

/* The last non-empty line of out, malloc'd ("" when there is none). */
char *occo_test_last_line(const char *out);

/*
 * Every key of the server and every string it holds (values of strings, hashes, sets, lists,
 * sorted sets, and the fields of stream entries), one a line, malloc'd: a test greps it for
 * what must not be stored (a password, a token).
 */
char *occo_test_redis_dump(redisContext *rc);

/*
 * Start a program in the background in cwd, with env_add (NAME=value strings, NULL-ended)
 * added to the environment and its output (stdout and stderr) in the file log (NULL: thrown
 * away). Returns its pid: the test waits for it or kills it.
 */
pid_t occo_test_start(const char *cwd, char *const argv[], char *const env_add[], const char *log);

/* 1 if a record of the infrastructure (in <ns>:{<id>}:nodes) is in that state. */
int occo_test_record_in_state(redisContext *rc, const char *ns, const char *id, const char *state);

#endif
