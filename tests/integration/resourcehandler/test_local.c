/*
 * test_local.c - the local back-end with real processes: nodes started from their resource
 * section with their own loopback address and environment, their states in list(), drop with
 * SIGTERM then SIGKILL, nodes that outlive (and are adopted after) a crashed orchestrator,
 * addresses unique across orchestrator processes, copkg packages from file:// and http://
 * repositories, and the errors of bad zips and bad resource sections.
 *
 * Each test has its own state directory, loop and address range (127.<x>.<y>.0/24 from the
 * pid, so parallel test programs do not meet) and kills whatever a failed test left running.
 * Waits are polls of real processes and servers; no test sleeps for a timer of the plugin.
 *
 * A node definition for the local back-end looks like this (the command may use getip() of
 * other nodes, rendered before create):
 *
 *   'node_def:web':
 *     - resource:
 *         type: local
 *         command: exec busybox httpd -f -p "$OCCOPUS_ADDRESS:8080" -h .
 *         env: { BACKEND: "{{ getip('db') }}" }
 *         stop_grace_ms: 2000
 *   'node_def:app':
 *     - resource:
 *         type: local
 *         package:
 *           coordinate: org.example:app:1.0
 *           repository: http://repo.example/copkg
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "localnode.h"
#include "testutil.h"
#include "occo/compiler/diag.h"
#include "occo/resourcehandler/rh.h"
#include "occo/util/alloc.h"
#include "occo/util/http.h"

#define INFRA "inf1"
#define WAIT_MS 10000

struct fx {
	uv_loop_t loop;
	char *state; /* the state directory */
	char *tmp; /* repositories, logs */
	struct occo_http *http;
	struct rh *rh;
	char range[32];
	char net[16]; /* "127.x.y." */
};

/* What one instance looked like in a list. */
struct inst {
	char id[128], token[128], addr[32], priv[32], msg[512];
	enum rh_state state;
	size_t naddrs;
};

struct res {
	int calls;
	int code;
	char msg[1024];
	char id[128];
	struct inst v[16];
	size_t n;
};

static void nap_ms(int ms)
{
	nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void run_until(uv_loop_t *loop, const int *flag, int want)
{
	while (*flag < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && *flag < want)
			fail_msg("the loop ran dry before the event");
}

static void record(struct res *r, const struct occo_err *err)
{
	r->calls++;
	if (err) {
		r->code = err->code;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
	}
}

static void on_created(const char *id, const struct occo_err *err, void *ud)
{
	struct res *r = ud;

	record(r, err);
	if (id)
		snprintf(r->id, sizeof(r->id), "%s", id);
}

static void on_dropped(const struct occo_err *err, void *ud)
{
	record(ud, err);
}

static void on_listed(const struct rh_instance *v, size_t n, const struct occo_err *err, void *ud)
{
	struct res *r = ud;
	size_t i;

	record(r, err);
	r->n = n;
	for (i = 0; i < n && i < 16; i++) {
		struct inst *x = &r->v[i];

		memset(x, 0, sizeof(*x));
		snprintf(x->id, sizeof(x->id), "%s", v[i].instance_id ? v[i].instance_id : "");
		snprintf(x->token, sizeof(x->token), "%s", v[i].token ? v[i].token : "");
		x->state = v[i].state;
		x->naddrs = json_array_size(v[i].addresses);
		if (x->naddrs)
			snprintf(x->addr, sizeof(x->addr), "%s",
				 json_string_value(json_array_get(v[i].addresses, 0)));
		snprintf(x->priv, sizeof(x->priv), "%s",
			 v[i].private_address ? v[i].private_address : "");
		snprintf(x->msg, sizeof(x->msg), "%s", v[i].message ? v[i].message : "");
	}
}

static void fx_rh(struct fx *f)
{
	struct rh_env env = { .loop = &f->loop, .http = f->http, .state_dir = f->state };
	struct occo_err err;

	if (rh_new(&env, NULL, &f->rh, &err) < 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	struct occo_err err;
	int pid = (int)getpid();

	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->state = occo_test_tmpdir("local-state");
	f->tmp = occo_test_tmpdir("local-tmp");
	snprintf(f->net, sizeof(f->net), "127.%d.%d.", 200 + pid % 50, (pid / 50) % 256);
	snprintf(f->range, sizeof(f->range), "%s0/24", f->net);
	assert_int_equal(occo_http_new(&f->loop, NULL, &f->http, &err), 0);
	fx_rh(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rh_free(f->rh);
	occo_http_close(f->http, NULL, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	occo_test_kill_nodes(f->state);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	occo_test_rmtree(f->state);
	occo_test_rmtree(f->tmp);
	free(f->state);
	free(f->tmp);
	free(f);
	return 0;
}

/* A resource section running `cmd` with the test's address range. */
static json_t *cmd_res(const struct fx *f, const char *cmd)
{
	return json_pack("{s:s, s:s, s:s, s:i}", "type", "local", "command", cmd, "address_range",
			 f->range, "stop_grace_ms", 2000);
}

static json_t *pkg_res(const struct fx *f, const char *coord, const char *repo)
{
	char *stops = occo_asprintf("%s/stops", f->tmp);
	json_t *r = json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s}}", "type", "local", "package",
			      "coordinate", coord, "repository", repo, "address_range", f->range,
			      "env", "STOP_LOG", stops);

	free(stops);
	return r;
}

static struct rh_node node_of(const char *infra, const json_t *res, const char *token)
{
	struct rh_node n = { .infra_id = infra,
			     .node_id = token ? token + 5 : NULL, /* "occo-<node_id>" */
			     .name = "web",
			     .token = token,
			     .resource = res };

	return n;
}

static void create_start(struct fx *f, const json_t *res, const char *token, struct res *r)
{
	struct rh_node n = node_of(INFRA, res, token);
	struct occo_err err;

	memset(r, 0, sizeof(*r));
	if (rh_create(f->rh, &n, on_created, r, &err) < 0)
		fail_msg("%s", err.msg);
}

/* Create a node and wait for the answer; its instance id is r->id. */
static void create(struct fx *f, const json_t *res, const char *token, struct res *r)
{
	create_start(f, res, token, r);
	run_until(&f->loop, &r->calls, 1);
}

static void create_ok(struct fx *f, const json_t *res, const char *token, struct res *r)
{
	create(f, res, token, r);
	if (r->code)
		fail_msg("create %s: %s", token, r->msg);
	assert_string_equal(r->id, token);
}

static void list_infra(struct fx *f, const char *infra, struct res *r)
{
	json_t *res = cmd_res(f, "true");
	struct rh_node n = node_of(infra, res, NULL);
	struct occo_err err;

	memset(r, 0, sizeof(*r));
	if (rh_list(f->rh, &n, on_listed, r, &err) < 0)
		fail_msg("%s", err.msg);
	run_until(&f->loop, &r->calls, 1);
	json_decref(res);
	if (r->code)
		fail_msg("list: %s", r->msg);
}

static const struct inst *find(const struct res *r, const char *token)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].token, token))
			return &r->v[i];
	return NULL;
}

/* Poll list() until the node of `token` is in `state`; its entry goes to *out. */
static void wait_state(struct fx *f, const char *infra, const char *token, enum rh_state state,
		       struct inst *out)
{
	uint64_t t0 = now_ms();
	const struct inst *x = NULL;
	struct res r;

	for (;;) {
		list_infra(f, infra, &r);
		x = find(&r, token);
		if (x && x->state == state)
			break;
		if (now_ms() - t0 > WAIT_MS)
			fail_msg("node %s: state %s (%s), not %s", token,
				 x ? rh_state_name(x->state) : "absent", x ? x->msg : "",
				 rh_state_name(state));
		nap_ms(20);
	}
	if (out)
		*out = *x;
}

static void drop_node(struct fx *f, const char *infra, const json_t *res, const char *token,
		      const char *instance_id)
{
	struct rh_node n = node_of(infra, res, token);
	struct occo_err err;
	struct res r = { 0 };

	n.instance_id = instance_id;
	if (rh_drop(f->rh, &n, on_dropped, &r, &err) < 0)
		fail_msg("%s", err.msg);
	run_until(&f->loop, &r.calls, 1);
	if (r.code)
		fail_msg("drop %s: %s", token, r.msg);
}

static char *run_path(const struct fx *f, const char *infra, const char *dir, const char *file)
{
	return occo_asprintf("%s/local/%s/%s%s%s", f->state, infra, dir, file ? "/" : "",
			     file ? file : "");
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Read a file a node writes, waiting for it to appear. */
static char *wait_file(const char *path)
{
	uint64_t t0 = now_ms();
	char *s;

	while (!(s = occo_test_read_file(path)) || !*s) {
		free(s);
		if (now_ms() - t0 > WAIT_MS)
			fail_msg("'%s' did not appear", path);
		nap_ms(20);
	}
	return s;
}

static int pid_of(const char *path)
{
	char *s = wait_file(path);
	int pid = atoi(s);

	free(s);
	return pid;
}

/* The supervisor's pid (= the process group) of a node. */
static int node_pgid(const struct fx *f, const char *infra, const char *dir)
{
	char *p = run_path(f, infra, dir, "pid");
	int pid = pid_of(p);

	free(p);
	return pid;
}

/* Everything a dropped node had is gone: processes, runtime directory, address. */
static void assert_gone(const struct fx *f, const char *infra, const char *dir, int pgid,
			const char *addr)
{
	char *rd = run_path(f, infra, dir, NULL);
	char *link = occo_asprintf("%s/local/.addresses/%s", f->state, addr);

	assert_int_equal(occo_test_group_running(pgid), 0);
	assert_false(exists(rd));
	assert_false(exists(link));
	free(rd);
	free(link);
}

static char *sha256_of(const char *path)
{
	char *argv[] = { "sha256sum", (char *)path, NULL }, *out = NULL;

	assert_int_equal(occo_test_run(NULL, argv, NULL, &out, NULL), 0);
	out[64] = '\0';
	return out;
}

/* ---- command nodes ---- */

static void test_create__runs_with_env_and_address(void **state)
{
	struct fx *f = *state;
	json_t *res = cmd_res(f, "env | grep ^OCCOPUS_ | sort > env.txt\n"
				 "echo \"$GREETING\" > greeting.txt\n"
				 "exec busybox httpd -f -p \"$OCCOPUS_ADDRESS:18080\" -h .");
	char *rd = run_path(f, INFRA, "occo-n1", NULL), *envf, *env, *body, *want, *token;
	struct inst x;
	struct res r;
	uint64_t t0;
	int pgid;

	json_object_set_new(res, "env", json_pack("{s:s}", "GREETING", "hello"));
	create_ok(f, res, "occo-n1", &r);
	wait_state(f, INFRA, "occo-n1", RH_READY, &x);
	want = occo_asprintf("%s1", f->net);
	assert_string_equal(x.addr, want);
	assert_int_equal(x.naddrs, 1);
	assert_string_equal(x.priv, want);
	assert_string_equal(x.id, "occo-n1");
	assert_string_equal(x.msg, "");

	/* it listens on its own address, in its runtime directory */
	assert_int_equal(occo_test_tcp_wait(x.addr, 18080, WAIT_MS), 0);
	body = occo_test_http_get(x.addr, 18080, "/greeting.txt");
	assert_non_null(body);
	assert_string_equal(body, "hello\n");
	free(body);
	envf = run_path(f, INFRA, "occo-n1", "env.txt");
	env = wait_file(envf);
	free(want);
	want = occo_asprintf("OCCOPUS_ADDRESS=%s\nOCCOPUS_INFRA_ID=%s\nOCCOPUS_NODE_ID=n1\n"
			     "OCCOPUS_NODE_NAME=web\nOCCOPUS_RUN_DIR=%s\n",
			     x.addr, INFRA, rd);
	assert_string_equal(env, want);

	/* what the runtime directory holds */
	token = run_path(f, INFRA, "occo-n1", "token");
	body = occo_test_read_file(token);
	assert_string_equal(body, "occo-n1");
	pgid = node_pgid(f, INFRA, "occo-n1");
	assert_true(occo_test_group_running(pgid) >= 1);

	/* a create of the same token again starts nothing new */
	create_ok(f, res, "occo-n1", &r);
	assert_int_equal(node_pgid(f, INFRA, "occo-n1"), pgid);

	/* a process that obeys SIGTERM is dropped at once */
	t0 = now_ms();
	drop_node(f, INFRA, res, "occo-n1", x.id);
	assert_true(now_ms() - t0 < 1500);
	assert_gone(f, INFRA, "occo-n1", pgid, x.addr);
	assert_int_equal(occo_test_tcp_wait(x.addr, 18080, 0), -1);

	free(body);
	free(token);
	free(env);
	free(envf);
	free(want);
	free(rd);
	json_decref(res);
}

static void test_create__addresses_distinct_and_reused(void **state)
{
	struct fx *f = *state;
	json_t *res = cmd_res(f, "exec sleep 600");
	struct res ra, rb, rc;
	struct inst a, b, c;

	create_start(f, res, "occo-a", &ra);
	create_start(f, res, "occo-b", &rb);
	run_until(&f->loop, &ra.calls, 1);
	run_until(&f->loop, &rb.calls, 1);
	assert_int_equal(ra.code, 0);
	assert_int_equal(rb.code, 0);
	wait_state(f, INFRA, "occo-a", RH_READY, &a);
	wait_state(f, INFRA, "occo-b", RH_READY, &b);
	assert_string_not_equal(a.addr, b.addr);
	assert_memory_equal(a.addr, f->net, strlen(f->net));
	assert_memory_equal(b.addr, f->net, strlen(f->net));

	/* a's address is free again once a is dropped */
	drop_node(f, INFRA, res, "occo-a", a.id);
	create_ok(f, res, "occo-c", &rc);
	wait_state(f, INFRA, "occo-c", RH_READY, &c);
	assert_string_equal(c.addr, a.addr);

	drop_node(f, INFRA, res, "occo-b", b.id);
	drop_node(f, INFRA, res, "occo-c", c.id);
	json_decref(res);
}

static void test_list__exit_status(void **state)
{
	struct fx *f = *state;
	json_t *bad = cmd_res(f, "echo starting\n"
				 "echo 'warming up' >&2\n"
				 "echo 'cannot reach the database at 10.0.0.9' >&2\n"
				 "exit 3");
	json_t *good = cmd_res(f, "echo done");
	struct inst x, y;
	struct res r;
	int pgid;

	create_ok(f, bad, "occo-bad", &r);
	create_ok(f, good, "occo-good", &r);
	wait_state(f, INFRA, "occo-bad", RH_FAILED, &x);
	assert_string_equal(x.msg, "exited with status 3: cannot reach the database at 10.0.0.9");
	wait_state(f, INFRA, "occo-good", RH_SHUTDOWN, &y);
	assert_string_equal(y.msg, "exited with status 0");
	assert_string_not_equal(x.addr, "");
	pgid = node_pgid(f, INFRA, "occo-bad");

	drop_node(f, INFRA, bad, "occo-bad", x.id);
	drop_node(f, INFRA, good, "occo-good", y.id);
	assert_gone(f, INFRA, "occo-bad", pgid, x.addr);
	json_decref(bad);
	json_decref(good);
}

static void test_list__killed_behind_our_back(void **state)
{
	struct fx *f = *state;
	json_t *res = cmd_res(f, "echo $$ > main.pid; exec sleep 600");
	char *p;
	struct inst x, y;
	struct res r;
	int pid, pgid;

	create_ok(f, res, "occo-k1", &r);
	create_ok(f, res, "occo-k2", &r);
	wait_state(f, INFRA, "occo-k1", RH_READY, NULL);
	wait_state(f, INFRA, "occo-k2", RH_READY, NULL);

	/* the command is killed: its supervisor says how */
	p = run_path(f, INFRA, "occo-k1", "main.pid");
	pid = pid_of(p);
	free(p);
	assert_int_equal(kill(pid, SIGKILL), 0);
	wait_state(f, INFRA, "occo-k1", RH_SHUTDOWN, &x);
	assert_string_equal(x.msg, "killed by signal 9 (Killed)");

	/* the whole process group is killed: nobody is left to say anything */
	pgid = node_pgid(f, INFRA, "occo-k2");
	assert_int_equal(kill(-pgid, SIGKILL), 0);
	wait_state(f, INFRA, "occo-k2", RH_SHUTDOWN, &y);
	assert_string_equal(y.msg, "its processes are gone");

	/* dropping what is gone already succeeds, twice */
	drop_node(f, INFRA, res, "occo-k1", x.id);
	drop_node(f, INFRA, res, "occo-k2", y.id);
	drop_node(f, INFRA, res, "occo-k2", y.id);
	assert_gone(f, INFRA, "occo-k2", pgid, y.addr);
	json_decref(res);
}

static void test_drop__kills_what_ignores_term(void **state)
{
	struct fx *f = *state;
	json_t *res = cmd_res(f, "trap '' TERM; echo $$ > main.pid; while :; do sleep 1; done");
	char *p, *infra_dir;
	struct inst x;
	struct res r;
	uint64_t t0, took;
	int pid, pgid;

	json_object_set_new(res, "stop_grace_ms", json_integer(400));
	create_ok(f, res, "occo-stubborn", &r);
	wait_state(f, INFRA, "occo-stubborn", RH_READY, &x);
	p = run_path(f, INFRA, "occo-stubborn", "main.pid");
	pid = pid_of(p);
	free(p);
	pgid = node_pgid(f, INFRA, "occo-stubborn");
	assert_true(occo_test_pid_running(pid));

	t0 = now_ms();
	drop_node(f, INFRA, res, "occo-stubborn", x.id);
	took = now_ms() - t0;
	assert_true(took >= 400);
	assert_true(took < 400 + 3000);
	assert_false(occo_test_pid_running(pid));
	assert_gone(f, INFRA, "occo-stubborn", pgid, x.addr);
	/* the last node of the infrastructure takes its directory with it */
	infra_dir = run_path(f, INFRA, "", NULL);
	assert_false(exists(infra_dir));
	free(infra_dir);
	json_decref(res);
}

/* ---- other orchestrator processes ---- */

/*
 * In a child process: an orchestrator of its own that creates `n` nodes of `infra` from `res`,
 * then writes one byte to `fd` and, if `crash`, waits to be killed, else closes everything and
 * exits.
 */
static void child_orchestrator(const struct fx *f, const json_t *res, const char *infra, int n,
			       int fd, int crash)
{
	uv_loop_t loop;
	struct rh_env env = { .loop = &loop, .state_dir = f->state };
	struct occo_http *http;
	struct rh *rh;
	struct occo_err err;
	struct res r[8];
	char tokens[8][32];
	int i, done = 0;

	if (uv_loop_init(&loop) || occo_http_new(&loop, NULL, &http, &err) < 0)
		_exit(2);
	env.http = http;
	if (rh_new(&env, NULL, &rh, &err) < 0)
		_exit(2);
	for (i = 0; i < n; i++) {
		struct rh_node nd;

		snprintf(tokens[i], sizeof(tokens[i]), "occo-%s-%d", infra, i);
		nd = node_of(infra, res, tokens[i]);
		memset(&r[i], 0, sizeof(r[i]));
		if (rh_create(rh, &nd, on_created, &r[i], &err) < 0)
			_exit(3);
	}
	while (done < n) {
		uv_run(&loop, UV_RUN_ONCE);
		for (done = 0, i = 0; i < n; i++)
			done += r[i].calls;
	}
	for (i = 0; i < n; i++)
		if (r[i].code)
			_exit(4);
	if (write(fd, "x", 1) != 1)
		_exit(5);
	if (crash)
		for (;;)
			pause();
	rh_free(rh);
	occo_http_close(http, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	_exit(uv_loop_close(&loop) ? 6 : 0);
}

static void test_adopt__after_a_crashed_orchestrator(void **state)
{
	struct fx *f = *state;
	json_t *res = cmd_res(f, "exec sleep 600");
	int fds[2], status, pg0, pg1;
	struct inst a, b;
	struct res r;
	char c;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		child_orchestrator(f, res, "crashy", 2, fds[1], 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	/* the orchestrator dies without a word; its nodes run on */
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	assert_true(WIFSIGNALED(status));

	/* a new one finds them by their tokens, in one list */
	list_infra(f, "crashy", &r);
	assert_int_equal(r.n, 2);
	wait_state(f, "crashy", "occo-crashy-0", RH_READY, &a);
	wait_state(f, "crashy", "occo-crashy-1", RH_READY, &b);
	assert_string_not_equal(a.addr, b.addr);
	pg0 = node_pgid(f, "crashy", "occo-crashy-0");
	pg1 = node_pgid(f, "crashy", "occo-crashy-1");
	assert_true(occo_test_group_running(pg0) >= 1);
	assert_true(occo_test_group_running(pg1) >= 1);

	/* and drops them by token, never having learnt an instance id */
	drop_node(f, "crashy", res, "occo-crashy-0", NULL);
	drop_node(f, "crashy", res, "occo-crashy-1", NULL);
	assert_gone(f, "crashy", "occo-crashy-0", pg0, a.addr);
	assert_gone(f, "crashy", "occo-crashy-1", pg1, b.addr);
	json_decref(res);
}

static void test_create__addresses_unique_across_processes(void **state)
{
	struct fx *f = *state;
	json_t *res = cmd_res(f, "exec sleep 600");
	const char *infras[2] = { "p1", "p2" };
	char addrs[8][32], tok[32], c;
	int fds[2], rfd[2], status, i, j, k = 0;
	pid_t pids[2];
	struct res r;
	struct inst x;

	for (i = 0; i < 2; i++) {
		assert_int_equal(pipe(fds), 0);
		fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[0]);
			child_orchestrator(f, res, infras[i], 4, fds[1], 0);
		}
		close(fds[1]);
		rfd[i] = fds[0];
	}
	/* both ran at once: the first was not waited for before the second started */
	for (i = 0; i < 2; i++) {
		assert_int_equal(read(rfd[i], &c, 1), 1);
		close(rfd[i]);
	}
	for (i = 0; i < 2; i++) {
		/* the "programs" exit normally; their nodes outlive them */
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (i = 0; i < 2; i++) {
		list_infra(f, infras[i], &r);
		assert_int_equal(r.n, 4);
		for (j = 0; j < 4; j++) {
			snprintf(tok, sizeof(tok), "occo-%s-%d", infras[i], j);
			wait_state(f, infras[i], tok, RH_READY, &x);
			snprintf(addrs[k++], sizeof(addrs[0]), "%s", x.addr);
		}
	}
	for (i = 0; i < 8; i++)
		for (j = i + 1; j < 8; j++)
			assert_string_not_equal(addrs[i], addrs[j]);
	for (i = 0; i < 2; i++)
		for (j = 0; j < 4; j++) {
			snprintf(tok, sizeof(tok), "occo-%s-%d", infras[i], j);
			drop_node(f, infras[i], res, tok, NULL);
		}
	json_decref(res);
}

/* ---- copkg packages ---- */

#define START_SH "#!/bin/sh\necho \"$@\" > started\n"
#define STOP_SH "#!/bin/sh\necho \"$@\" >> \"$STOP_LOG\"\n"

static void make_pkg(const char *repo, const char *coord, const char *start, const char *extra)
{
	char *zip = occo_test_copkg_path(repo, coord);
	const struct occo_test_zip_entry v[] = {
		{ "./", NULL, 0, NULL },
		{ "script.d/", NULL, 0, NULL },
		{ "script.d/start.sh", start, 0755, NULL },
		{ "script.d/stop.sh", STOP_SH, 0755, NULL },
		{ "bin/hello", "#!/bin/sh\necho hello\n", 0755, NULL },
		{ "etc/hello.conf", extra ? extra : "greeting=hi\n", 0, NULL },
		{ "lib/www/index.html", "hello from copkg\n", 0, NULL },
		{ "lib/www/same.html", NULL, 0, "index.html" },
		{ "lib/www/up.html", NULL, 0, "../www/./index.html" },
	};

	assert_int_equal(occo_test_zip(zip, v, sizeof(v) / sizeof(v[0])), 0);
	free(zip);
}

static void test_copkg__file_repository(void **state)
{
	struct fx *f = *state;
	char *repo = occo_asprintf("%s/repo", f->tmp), *url = occo_asprintf("file://%s", repo);
	char *zip, *sha, *digest, *dfile, *pkg, *p, *s, *rd, *want, *stops;
	json_t *res = pkg_res(f, "org.example:hello:1.0", url);
	struct stat st;
	struct inst x;
	struct res r;

	make_pkg(repo, "org.example:hello:1.0",
		 START_SH "exec busybox httpd -f -p \"$OCCOPUS_ADDRESS:18081\" "
			  "-h \"$(dirname \"$0\")/../lib/www\"\n",
		 NULL);
	create_ok(f, res, "occo-pkg", &r);
	wait_state(f, INFRA, "occo-pkg", RH_READY, &x);
	{
		/* a package the repository lacks */
		json_t *bad = pkg_res(f, "org.example:hello:1.1", url);
		struct res rb;

		create(f, bad, "occo-missing", &rb);
		assert_int_equal(rb.code, OCCO_ENOENT);
		assert_non_null(strstr(rb.msg, "package 'org.example:hello:1.1': cannot open '"));
		assert_non_null(strstr(rb.msg, "/org/example/hello/1.1/hello-1.1-copkg.zip'"));
		json_decref(bad);
	}

	/* started as copkg says, serving files of the package on its own address */
	rd = run_path(f, INFRA, "occo-pkg", NULL);
	p = run_path(f, INFRA, "occo-pkg", "started");
	s = wait_file(p);
	want = occo_asprintf("--run=%s\n", rd);
	assert_string_equal(s, want);
	free(s);
	free(p);
	assert_int_equal(occo_test_tcp_wait(x.addr, 18081, WAIT_MS), 0);
	s = occo_test_http_get(x.addr, 18081, "/same.html");
	assert_non_null(s);
	assert_string_equal(s, "hello from copkg\n");
	free(s);
	s = occo_test_http_get(x.addr, 18081, "/up.html");
	assert_non_null(s);
	assert_string_equal(s, "hello from copkg\n");
	free(s);

	/* unpacked once, read-only, with the zip's digest beside it */
	pkg = occo_asprintf("%s/packages/org/example/hello/1.0", f->state);
	p = occo_asprintf("%s/script.d/start.sh", pkg);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0222, 0);
	assert_int_equal(st.st_mode & 0111, 0111);
	free(p);
	zip = occo_test_copkg_path(repo, "org.example:hello:1.0");
	sha = sha256_of(zip);
	dfile = occo_asprintf("%s.sha256", pkg);
	digest = occo_test_read_file(dfile);
	free(want);
	want = occo_asprintf("%s  file://%s\n", sha, zip);
	assert_string_equal(digest, want);

	/* drop runs stop.sh --run=<dir> first */
	drop_node(f, INFRA, res, "occo-pkg", x.id);
	stops = occo_asprintf("%s/stops", f->tmp);
	s = occo_test_read_file(stops);
	free(want);
	want = occo_asprintf("--run=%s\n", rd);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
	assert_false(exists(rd));
	assert_true(exists(pkg));

	free(stops);
	free(want);
	free(rd);
	free(digest);
	free(dfile);
	free(sha);
	free(zip);
	free(pkg);
	free(repo);
	free(url);
	json_decref(res);
}

static void test_copkg__http_fetched_once(void **state)
{
	struct fx *f = *state;
	char *repo = occo_asprintf("%s/repo", f->tmp), *log = occo_asprintf("%s/http.log", f->tmp);
	char *url, *p, *s, *want;
	const char *toks[3] = { "occo-w1", "occo-w2", "occo-w3" };
	struct occo_test_http_repo srv = { 0 };
	const char *get = "GET /org/example/web/2.0/web-2.0-copkg.zip";
	struct res r[3], r9;
	struct inst x[3];
	json_t *res, *bad;
	int i;

	make_pkg(repo, "org.example:web:2.0", START_SH "exec sleep 600\n", NULL);
	assert_int_equal(occo_test_http_repo_start(&srv, repo, log), 0);
	/* credentials in the URL never reach a message or a file */
	url = occo_asprintf("http://occo:s3cret@127.0.0.1:%d/", srv.port);
	res = pkg_res(f, "org.example:web:2.0", url);

	/* two nodes at once: one fetch */
	create_start(f, res, toks[0], &r[0]);
	create_start(f, res, toks[1], &r[1]);
	run_until(&f->loop, &r[0].calls, 1);
	run_until(&f->loop, &r[1].calls, 1);
	assert_int_equal(r[0].code, 0);
	assert_int_equal(r[1].code, 0);
	/* a third, later: none */
	create_ok(f, res, toks[2], &r[2]);
	/* a package the repository lacks */
	bad = pkg_res(f, "org.example:web:9.9", url);
	create(f, bad, "occo-w9", &r9);
	assert_int_equal(r9.code, OCCO_ENOENT);
	want = occo_asprintf("fetching package 'org.example:web:9.9': GET "
			     "http://127.0.0.1:%d/org/example/web/9.9/web-9.9-copkg.zip: HTTP 404",
			     srv.port);
	if (!strstr(r9.msg, want) || strstr(r9.msg, "s3cret"))
		fail_msg("%s", r9.msg);
	free(want);
	json_decref(bad);
	p = occo_asprintf("%s/packages/org/example/web/2.0.sha256", f->state);
	s = occo_test_read_file(p);
	want = occo_asprintf("  http://127.0.0.1:%d/org/example/web/2.0/web-2.0-copkg.zip\n",
			     srv.port);
	assert_non_null(s);
	assert_string_equal(s + 64, want);
	free(want);
	free(s);
	free(p);
	for (i = 0; i < 3; i++) {
		wait_state(f, INFRA, toks[i], RH_READY, &x[i]);
		p = run_path(f, INFRA, toks[i], "started");
		s = wait_file(p);
		free(p);
		p = run_path(f, INFRA, toks[i], NULL);
		want = occo_asprintf("--run=%s\n", p);
		assert_string_equal(s, want);
		free(want);
		free(p);
		free(s);
	}
	assert_int_equal(occo_test_count_lines(log, get), 1);

	for (i = 0; i < 3; i++)
		drop_node(f, INFRA, res, toks[i], x[i].id);
	p = occo_asprintf("%s/stops", f->tmp);
	assert_int_equal(occo_test_count_lines(p, "--run="), 3);
	free(p);
	occo_test_http_repo_stop(&srv);
	free(url);
	free(log);
	free(repo);
	json_decref(res);
}

static void test_copkg__fetched_once_across_processes(void **state)
{
	struct fx *f = *state;
	char *repo = occo_asprintf("%s/repo", f->tmp), *log = occo_asprintf("%s/http.log", f->tmp);
	char *url, tok[32], c;
	const char *infras[2] = { "q1", "q2" };
	struct occo_test_http_repo srv = { .delay_ms = 500 };
	int fds[2], rfd[2], status, i;
	pid_t pids[2];
	json_t *res;

	make_pkg(repo, "org.example:shared:1.0", START_SH "exec sleep 600\n", NULL);
	assert_int_equal(occo_test_http_repo_start(&srv, repo, log), 0);
	url = occo_asprintf("http://127.0.0.1:%d", srv.port);
	res = pkg_res(f, "org.example:shared:1.0", url);
	/* two orchestrators at once; the repository answers slowly, so they meet */
	for (i = 0; i < 2; i++) {
		assert_int_equal(pipe(fds), 0);
		fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(fds[0]);
			child_orchestrator(f, res, infras[i], 1, fds[1], 0);
		}
		close(fds[1]);
		rfd[i] = fds[0];
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(read(rfd[i], &c, 1), 1);
		close(rfd[i]);
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(
		occo_test_count_lines(log, "GET /org/example/shared/1.0/shared-1.0-copkg.zip"), 1);
	for (i = 0; i < 2; i++) {
		snprintf(tok, sizeof(tok), "occo-%s-0", infras[i]);
		wait_state(f, infras[i], tok, RH_READY, NULL);
		drop_node(f, infras[i], res, tok, NULL);
	}
	occo_test_http_repo_stop(&srv);
	json_decref(res);
	free(url);
	free(log);
	free(repo);
}

static void test_copkg__coordinate_is_immutable(void **state)
{
	struct fx *f = *state;
	char *ra = occo_asprintf("%s/a", f->tmp), *rb = occo_asprintf("%s/b", f->tmp);
	char *rc = occo_asprintf("%s/c", f->tmp), *ua = occo_asprintf("file://%s", ra);
	char *ub = occo_asprintf("file://%s", rb), *uc = occo_asprintf("file://%s", rc);
	char *za, *zb, *zc, *sa, *sb, *conf, *s;
	char *argv[4] = { "cp", NULL, NULL, NULL };
	json_t *res;
	struct res r;
	struct inst x;

	make_pkg(ra, "org.example:app:1.0", START_SH "exec sleep 600\n", "greeting=a\n");
	make_pkg(rb, "org.example:app:1.0", START_SH "exec sleep 600\n", "greeting=b\n");
	za = occo_test_copkg_path(ra, "org.example:app:1.0");
	zb = occo_test_copkg_path(rb, "org.example:app:1.0");
	zc = occo_test_copkg_path(rc, "org.example:app:1.0");
	s = occo_asprintf("%s/org/example/app/1.0", rc);
	argv[0] = "mkdir";
	argv[1] = "-p";
	argv[2] = s;
	assert_int_equal(occo_test_run(NULL, argv, NULL, NULL, NULL), 0);
	free(s);
	argv[0] = "cp";
	argv[1] = za;
	argv[2] = zc;
	assert_int_equal(occo_test_run(NULL, argv, NULL, NULL, NULL), 0);
	sa = sha256_of(za);
	sb = sha256_of(zb);

	res = pkg_res(f, "org.example:app:1.0", ua);
	create_ok(f, res, "occo-i1", &r);
	wait_state(f, INFRA, "occo-i1", RH_READY, &x);
	drop_node(f, INFRA, res, "occo-i1", x.id);
	json_decref(res);

	/* other bytes under the same coordinate */
	res = pkg_res(f, "org.example:app:1.0", ub);
	create(f, res, "occo-i2", &r);
	assert_int_equal(r.code, OCCO_EINVAL);
	assert_non_null(strstr(r.msg, "package 'org.example:app:1.0'"));
	assert_non_null(strstr(r.msg, sa));
	assert_non_null(strstr(r.msg, sb));
	json_decref(res);

	/* the same bytes from another repository are fine */
	res = pkg_res(f, "org.example:app:1.0", uc);
	create_ok(f, res, "occo-i3", &r);
	wait_state(f, INFRA, "occo-i3", RH_READY, &x);
	drop_node(f, INFRA, res, "occo-i3", x.id);
	json_decref(res);

	/* and the package is the first one still */
	conf = occo_asprintf("%s/packages/org/example/app/1.0/etc/hello.conf", f->state);
	s = occo_test_read_file(conf);
	assert_string_equal(s, "greeting=a\n");
	free(s);
	free(conf);
	free(sa);
	free(sb);
	free(za);
	free(zb);
	free(zc);
	free(ra);
	free(rb);
	free(rc);
	free(ua);
	free(ub);
	free(uc);
}

static void test_copkg__unsafe_zip_rejected(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *artifact;
		struct occo_test_zip_entry bad;
		const char *msg;
	} cases[] = {
		{ "slip",
		  { "../../evil.sh", "#!/bin/sh\n", 0755, NULL },
		  "unsafe entry '../../evil.sh'" },
		{ "deepslip",
		  { "lib/../../../../evil.sh", "x", 0, NULL },
		  "unsafe entry 'lib/../../../../evil.sh'" },
		{ "absolute",
		  { "/tmp/occo-test-evil.sh", "x", 0, NULL },
		  "unsafe entry '/tmp/occo-test-evil.sh'" },
		{ "uplink",
		  { "lib/up", NULL, 0, "../../../../../etc" },
		  "symlink 'lib/up' points outside the package ('../../../../../etc')" },
		{ "abslink",
		  { "lib/passwd", NULL, 0, "/etc/passwd" },
		  "symlink 'lib/passwd' points outside the package ('/etc/passwd')" },
		{ "climb",
		  { "lib/via", NULL, 0, "x/../../.." },
		  "symlink 'lib/via' points outside the package ('x/../../..')" },
		{ "dotlink",
		  { "lib/./.", NULL, 0, ".." },
		  "symlink 'lib/./.' points outside the package ('..')" },
		{ "nostart",
		  { "script.d/start.sh/", NULL, 0, NULL },
		  "is not a copkg: it needs the files 'script.d/start.sh' and "
		  "'script.d/stop.sh'" },
	};
	char *repo = occo_asprintf("%s/repo", f->tmp), *url = occo_asprintf("file://%s", repo);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *coord = occo_asprintf("org.example:%s:1.0", cases[i].artifact);
		char *zip = occo_test_copkg_path(repo, coord), *adir, *rd, *evil;
		const struct occo_test_zip_entry v[] = {
			{ "script.d/stop.sh", STOP_SH, 0755, NULL },
			{ "lib/x", "x", 0, NULL },
			cases[i].bad,
			{ "script.d/start.sh", START_SH, 0755, NULL },
		};
		size_t nv = !strcmp(cases[i].artifact, "nostart") ? 3 : 4;
		json_t *res = pkg_res(f, coord, url);
		struct res r;

		assert_int_equal(occo_test_zip(zip, v, nv), 0);
		create(f, res, "occo-evil", &r);
		if (r.code != OCCO_EINVAL || !strstr(r.msg, cases[i].msg))
			fail_msg("%s: %d %s", cases[i].artifact, r.code, r.msg);
		assert_non_null(strstr(r.msg, coord));
		/* nothing installed, nothing left over, nothing written outside, no node */
		adir = occo_asprintf("%s/packages/org/example/%s", f->state, cases[i].artifact);
		rd = run_path(f, INFRA, "occo-evil", NULL);
		evil = occo_asprintf("%s/packages/org/evil.sh", f->state);
		{
			char *argv[] = { "find", adir,	  "-mindepth", "1",
					 "-not", "-name", "1.0.lock",  NULL },
			     *out = NULL;

			assert_int_equal(occo_test_run(NULL, argv, NULL, &out, NULL), 0);
			if (*out)
				fail_msg("%s: left behind: %s", cases[i].artifact, out);
			free(out);
		}
		assert_false(exists(rd));
		assert_false(exists(evil));
		assert_false(exists("/tmp/occo-test-evil.sh"));
		free(evil);
		free(rd);
		free(adir);
		free(zip);
		free(coord);
		json_decref(res);
	}
	free(repo);
	free(url);
}

/* ---- the key schema ---- */

static void test_schema__errors_name_the_field(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{ "{}", "one of 'command' and 'package' is required" },
		{ "{'command': 'x', 'package': {'coordinate': 'a:b:1', 'repository': 'file:///r'}}",
		  "'command' and 'package' exclude each other" },
		{ "{'command': 'x', 'address_range': '10.0.0.0/8'}",
		  "'address_range': '10.0.0.0/8' is not inside 127.0.0.0/8" },
		{ "{'command': 'x', 'address_range': '127.0.0.1'}",
		  "'address_range': '127.0.0.1' is not an IPv4 CIDR range" },
		{ "{'command': 'x', 'address_range': '127.0.0.0/33'}",
		  "'address_range': '127.0.0.0/33' is not an IPv4 CIDR range" },
		{ "{'package': {'coordinate': 'org.example:hello', 'repository': 'file:///r'}}",
		  "'package.coordinate': coordinate 'org.example:hello' is not of the form "
		  "'group:artifact:version'" },
		{ "{'package': {'coordinate': 'org..x:a:1', 'repository': 'file:///r'}}",
		  "'package.coordinate': coordinate 'org..x:a:1': '..' in the group" },
		{ "{'package': {'coordinate': 'g:a/b:1', 'repository': 'file:///r'}}",
		  "'/' is not allowed in the artifact" },
		{ "{'package': {'coordinate': 'g:a:1', 'repository': 'ftp://r'}}",
		  "'package.repository': repository 'ftp://r' is neither a file:// nor an http:// "
		  "URL" },
		{ "{'package': {'coordinate': 'g:a:1', 'repository': 'file://r'}}",
		  "needs an absolute path" },
		{ "{'package': {'coordinate': 'g:a:1'}}", "'package' needs 'repository'" },
		{ "{'package': {'coordinate': 'g:a:1', 'repository': 'file:///r', 'sha': 'x'}}",
		  "unknown key 'sha' in 'package'" },
		{ "{'command': 'x', 'stop_grace_ms': -1}",
		  "'stop_grace_ms' must be between 0 and" },
		{ "{'command': 'x', 'env': {'OCCOPUS_ADDRESS': '1'}}",
		  "'env': 'OCCOPUS_ADDRESS' is set by the local back-end" },
		{ "{'command': 'x', 'env': {'A-B': '1'}}", "'env': 'A-B' is not a variable name" },
		{ "{'command': 'x', 'env': {'A': [1]}}",
		  "'env': the value of 'A' must be a string" },
		{ "{'command': []}", "'command' is an empty list" },
		{ "{'command': ''}", "'command' is empty" },
		{ "{'command': {'a': 1}}", "'command' must be" },
		{ "{'command': ['sh', {}]}", "item 2 of 'command' must be a string" },
		{ "{'command': null, 'package': null}",
		  "one of 'command' and 'package' is required" },
		{ "{'command': 'x', 'image': 'y'}", "unknown key 'image'" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *js = occo_strdup(cases[i].json), *p;
		json_t *res;
		struct rh_node n;
		struct occo_err err;
		struct res r = { 0 };
		int rc;

		for (p = js; *p; p++)
			if (*p == '\'')
				*p = '"';
		res = json_loads(js, 0, NULL);
		assert_non_null(res);
		json_object_set_new(res, "type", json_string("local"));
		n = node_of(INFRA, res, "occo-x");
		occo_err_clear(&err);
		rc = rh_create(f->rh, &n, on_created, &r, &err);
		json_decref(res);
		free(js);
		if (rc != -OCCO_EINVAL || !strstr(err.msg, cases[i].msg))
			fail_msg("%s: %d '%s', wanted '%s'", cases[i].json, rc, err.msg,
				 cases[i].msg);
	}
}

/* At import, templated values are left for the check after rendering. */
static void test_schema__templates_checked_after_rendering(void **state)
{
	const struct comp_schema *s = comp_schema_find(rh_schemas(), "resource", "local");
	json_t *res = json_pack("{s:s, s:s, s:s, s:{s:s}}", "type", "local", "address_range",
				"{{ variables.range }}", "command", "x", "env", "DB",
				"{{ getip('db') }}");
	struct comp_diags d;
	struct comp_check c = { NULL, &d, "in the resource section" };
	struct occo_err err;

	(void)state;
	assert_non_null(s);
	assert_non_null(res);
	comp_diags_init(&d);
	comp_schema_check(s, res, &c);
	assert_int_equal(comp_diags_to_err(&d, &err), 0);
	comp_diags_release(&d);
	json_decref(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create__runs_with_env_and_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create__addresses_distinct_and_reused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list__exit_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list__killed_behind_our_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop__kills_what_ignores_term, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_adopt__after_a_crashed_orchestrator, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_create__addresses_unique_across_processes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_copkg__file_repository, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copkg__http_fetched_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copkg__fetched_once_across_processes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_copkg__coordinate_is_immutable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_copkg__unsafe_zip_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema__errors_name_the_field, setup,
						teardown),
		cmocka_unit_test(test_schema__templates_checked_after_rendering),
	};

	if (!occo_test_have_program("busybox") || !occo_test_have_program("python3"))
		return OCCO_TEST_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
