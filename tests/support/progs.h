/*
 * progs.h - what the tests that drive the programs share: the last line of an output (the
 * infrastructure id occopus-build prints) and every string Redis holds (to look for secrets).
 */
#ifndef OCCO_TEST_PROGS_H
#define OCCO_TEST_PROGS_H

#include <hiredis/hiredis.h>

/* The last non-empty line of out, malloc'd ("" when there is none). */
char *occo_test_last_line(const char *out);

/*
 * Every key of the server and every string it holds (values of strings, hashes, sets, lists,
 * sorted sets, and the fields of stream entries), one a line, malloc'd: a test greps it for
 * what must not be stored (a password, a token).
 */
char *occo_test_redis_dump(redisContext *rc);

#endif
