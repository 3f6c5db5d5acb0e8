/*
 * progs.h - what the tests that drive the programs share: a fixture (a private redis-server, a
 * temporary HOME that is also the working directory, the environment the programs get, a
 * blocking connection) with ways to run, build and look at the records; the last line of an
 * output (the infrastructure id occopus-build prints), every string Redis holds (to look for
 * secrets), a program started in the background (to be killed part-way).
 */
#ifndef OCCO_TEST_PROGS_H
#define OCCO_TEST_PROGS_H

#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "testutil.h"
#include "occo/util/buf.h"

/* The most environment entries a fixture holds (the terminating NULL included). */
#define OCCO_TEST_PROGS_ENV 16

/*
 * What a test of the occopus-* programs runs them in. The environment is HOME=<dir>,
 * OCCOPUS_REDIS_URL=unix://<the private server>, OCCOPUS_CONFIG_PATH= (no configuration file)
 * and OCCOPUS_LOG_LEVEL=warn, changed by the extra entries given to setup and by
 * occo_test_progs_setenv at any time.
 */
struct occo_test_progs {
	struct occo_test_redis redis; /* not started when the test names its own store */
	char *dir; /* the temporary HOME, removed by teardown */
	char *cwd; /* where the programs run: dir unless occo_test_progs_cd said otherwise */
	char *env[OCCO_TEST_PROGS_ENV]; /* "NAME=value" entries, malloc'd, NULL-ended */
	redisContext *rc; /* a blocking connection to the private server (NULL: none) */
	struct occo_buf said; /* everything the programs run by occo_test_progs_run printed */
};

/*
 * Make the directory (tagged `name`), start the private redis-server and connect to it; the
 * entries of extra_env ("NAME=value", NULL-ended, may be NULL) are set after the defaults.
 * When extra_env sets OCCOPUS_REDIS_URL itself (an empty one: the embedded Redis), no server
 * is started. Returns 0, or -1 with a message on stderr (for a cmocka setup to return).
 */
int occo_test_progs_setup(struct occo_test_progs *p, const char *name, char *const extra_env[]);

/* Close the connection, stop the server, remove the directory, free everything. */
void occo_test_progs_teardown(struct occo_test_progs *p);

/* A cmocka teardown for a test whose state is a fixture it allocated: tears it down, frees it. */
int occo_test_progs_free(void **state);

/* Set an environment entry ("NAME=value"), replacing the one of that name if there is one. */
void occo_test_progs_setenv(struct occo_test_progs *p, const char *entry);

/* Run the programs in `where`: a path relative to dir, or an absolute one. */
void occo_test_progs_cd(struct occo_test_progs *p, const char *where);

/*
 * Run occopus-<prog> with the arguments that follow (NULL-ended, at most 14) in the fixture's
 * directory and environment; *out and *err (may be NULL) get what it printed (malloc'd).
 * Returns its exit code (128 + the signal that killed it).
 */
int occo_test_progs_run(struct occo_test_progs *p, char **out, char **err, const char *prog, ...);

/* The same with the arguments in an array (NULL-ended). */
int occo_test_progs_runv(struct occo_test_progs *p, char **out, char **err, const char *prog,
			 char *const args[]);

/*
 * occopus-build infra_file: fails the test with the output unless it succeeds and its last
 * line is a uuid. Returns that id (malloc'd); *out (may be NULL) gets the output.
 */
char *occo_test_progs_build(struct occo_test_progs *p, const char *infra_file, char **out);

/*
 * Start occopus-<prog> with the arguments that follow (NULL-ended, at most 14) in the
 * background, in the fixture's directory and environment, its output in the file log (NULL:
 * thrown away). Returns its pid: the test waits for it or kills it.
 */
pid_t occo_test_progs_start(struct occo_test_progs *p, const char *log, const char *prog, ...);

/*
 * Copy Occopus's tutorial `name` (occopus-tutorials/<name> of the shared directory) into dir,
 * writable, and fill in its nodes/node_definitions.yaml as its README tells the user: every
 * subst[i][0] (i < n) replaced by subst[i][1]; the test fails if a "replace_with" placeholder
 * is left.
 */
void occo_test_progs_tutorial(struct occo_test_progs *p, const char *name,
			      const char *const (*subst)[2], size_t n);

/* Write ~/.occopus/auth_data.yaml (mode 0600) with that content. */
void occo_test_progs_auth(struct occo_test_progs *p, const char *yaml);

/*
 * Start `occopus-build -i id infra_file` (its output in the file log, then added to p->said; NULL:
 * thrown away) and
 * kill it with SIGKILL after_ms after it started or, with after_record, after_ms after it stored
 * a record in state `creating` (waiting at most wait_ms for one). Returns 1 when its description
 * was stored (the infrastructure is known), 0 when not.
 */
int occo_test_progs_kill_build(struct occo_test_progs *p, const char *log, const char *infra_file,
			       const char *id, int after_record, unsigned wait_ms,
			       unsigned after_ms);

/* The records of an infrastructure (the hash occo:{<id>}:nodes): {node_id: record}. */
json_t *occo_test_progs_records(struct occo_test_progs *p, const char *id);

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

/* The content of a file, malloc'd (1 MiB at most); the test fails if it cannot be read. */
char *occo_test_slurp(const char *path);

/* s (malloc'd, freed) with every `from` replaced by `to`, malloc'd. */
char *occo_test_replace(char *s, const char *from, const char *to);

/*
 * 1 if a process of group pgid runs (a local node's processes; zombies, left where PID 1 does
 * not reap, do not count).
 */
int occo_test_group_alive(int pgid);

/* 1 if a record of the infrastructure (in <ns>:{<id>}:nodes) is in that state. */
int occo_test_record_in_state(redisContext *rc, const char *ns, const char *id, const char *state);

#endif
