/*
 * dummy.c - a simulated cloud, for benchmarks and fault tests.
 *
 * Its state lives in Redis, so it outlives a killed orchestrator: one hash per infrastructure,
 * "<ns>:dummycloud:{<infra_id>}:nodes" (the key the write batch makes of namespace
 * "<ns>:dummycloud"), field = instance id = "dummy-<token>" (a repeated create of one token is
 * the same instance), value = JSON {token, node_id, name, created_ms, ready_ms, fails, address,
 * private_address} plus an optional `state` ("failed", "shutdown", ...) that tests set to
 * simulate a broken instance. Writes go through an ib_batch, so a thousand creates in one turn
 * of the loop cost one HSET; a list is one HGETALL.
 *
 * Every random decision (a create that fails transiently, an instance that ends failed, its
 * addresses) is a hash of the seed, the token (and the attempt), so results do not depend on
 * the order in which things happen.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "occo/infobroker/batch.h"
#include "occo/util/alloc.h"
#include "occo/util/buf.h"
#include "occo/util/clock.h"
#include "occo/util/redis.h"
#include "../rh_int.h"

#define DUMMY_MAX_RECORD 65536 /* bytes of one record we parse at most */

static const struct comp_key keys[] = {
	{ "type", COMP_REQUIRED, COMP_T_STR, 0 },
	{ "endpoint", 0, COMP_T_STR, 0 },
	{ "name", 0, COMP_T_STR, 0 },
	{ "create_latency_ms", 0, COMP_T_INT, 0 },
	{ "drop_latency_ms", 0, COMP_T_INT, 0 },
	{ "ready_after_ms", 0, COMP_T_INT, 0 },
	{ "fail_rate", 0, COMP_T_NUM, 0 },
	{ "create_error_rate", 0, COMP_T_NUM, 0 },
	{ "seed", 0, COMP_T_INT, 0 },
	{ NULL, 0, 0, 0 },
};

static const char *const ms_keys[] = { "create_latency_ms", "drop_latency_ms", "ready_after_ms" };
static const char *const rate_keys[] = { "fail_rate", "create_error_rate" };

static void check(struct comp_check *c, const json_t *sec)
{
	const json_t *v;
	double x;
	size_t i;

	for (i = 0; i < sizeof(ms_keys) / sizeof(ms_keys[0]); i++) {
		v = json_object_get(sec, ms_keys[i]);
		if (json_is_integer(v) &&
		    (json_integer_value(v) < 0 || json_integer_value(v) > 24LL * 3600 * 1000))
			comp_check_error(c, sec, ms_keys[i], "'%s' must be between 0 and 86400000",
					 ms_keys[i]);
	}
	for (i = 0; i < sizeof(rate_keys) / sizeof(rate_keys[0]); i++) {
		v = json_object_get(sec, rate_keys[i]);
		x = json_number_value(v);
		if (json_is_number(v) && !(x >= 0.0 && x <= 1.0))
			comp_check_error(c, sec, rate_keys[i], "'%s' must be between 0 and 1",
					 rate_keys[i]);
	}
}

static const struct comp_schema schema = { "resource", "dummy", keys, check };

/* One core's dummy cloud. */
struct dummy {
	struct ib_batch *b;
	struct occo_redis *r;
	char *prefix; /* "<ns>:dummycloud" */
};

struct cfg {
	uint64_t create_latency, drop_latency, ready_after;
	double fail_rate, create_error_rate;
	long long seed;
};

enum job_kind { J_CREATE, J_DROP, J_LIST };

/*
 * One operation. It outlives its request when cancelled: freed when its timer is closed and
 * the Redis reply or batch callback it waits for has come.
 */
struct job {
	struct rh_req *req; /* NULL once completed (or cancelled) */
	enum job_kind kind;
	int refs;
	int timer_on;
	uv_timer_t timer;
	char *id; /* instance id */
	struct cfg cfg;
};

static void cfg_read(const json_t *res, struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->create_latency = (uint64_t)json_integer_value(json_object_get(res, "create_latency_ms"));
	c->drop_latency = (uint64_t)json_integer_value(json_object_get(res, "drop_latency_ms"));
	c->ready_after = (uint64_t)json_integer_value(json_object_get(res, "ready_after_ms"));
	c->fail_rate = json_number_value(json_object_get(res, "fail_rate"));
	c->create_error_rate = json_number_value(json_object_get(res, "create_error_rate"));
	c->seed = json_integer_value(json_object_get(res, "seed"));
}

/* FNV-1a of "<seed>/<token>/<salt>/<n>", then a splitmix64 finaliser. */
static uint64_t hash(long long seed, const char *token, const char *salt, unsigned n)
{
	char buf[64];
	uint64_t h = 1469598103934665603ull;
	const char *parts[3];
	size_t i;
	const unsigned char *p;

	snprintf(buf, sizeof(buf), "%lld/%u", seed, n);
	parts[0] = buf;
	parts[1] = token;
	parts[2] = salt;
	for (i = 0; i < 3; i++) {
		for (p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
		h = (h ^ '/') * 1099511628211ull;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* A number in [0, 1) from a hash. */
static double unit(uint64_t h)
{
	return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

static struct job *job_of(struct rh_req *req)
{
	return *(struct job **)rh_req_data(req);
}

static void job_unref(struct job *job)
{
	if (--job->refs == 0) {
		free(job->id);
		free(job);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	job_unref(h->data);
}

static void job_close_timer(struct job *job)
{
	if (job->timer_on) {
		job->timer_on = 0;
		uv_close((uv_handle_t *)&job->timer, on_timer_closed);
	}
}

/* Complete the job's request (if it still has one) with err (NULL: success). */
static void job_complete(struct job *job, const struct occo_err *err, unsigned flags)
{
	struct rh_req *req = job->req;

	if (!req)
		return;
	job->req = NULL;
	switch (job->kind) {
	case J_CREATE:
		rh_req_created(req, err ? NULL : job->id, err, flags);
		break;
	case J_DROP:
		rh_req_dropped(req, err, flags);
		break;
	case J_LIST:
		rh_req_listed(req, NULL, 0, err, flags);
		break;
	}
}

/* A job for req (id taken), with the request's settings. */
static struct job *job_new(struct rh_req *req, enum job_kind kind, char *id)
{
	struct job *job = occo_calloc(1, sizeof(*job));

	job->req = req;
	job->kind = kind;
	job->id = id;
	cfg_read(rh_req_node(req)->resource, &job->cfg);
	*(struct job **)rh_req_data(req) = job;
	return job;
}

/* Run cb after delay_ms (0: on the next turn); the timer holds a reference until closed. */
static void job_arm(struct rh_req *req, struct job *job, uint64_t delay_ms, uv_timer_cb cb)
{
	uv_timer_init(rh_req_env(req)->loop, &job->timer);
	job->timer.data = job;
	job->timer_on = 1;
	job->refs++;
	uv_timer_start(&job->timer, cb, delay_ms, 0);
}

static int need_state(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);

	if (!rh_req_state(req))
		return occo_err_set(err, OCCO_ENOTSUP, "the dummy cloud needs the state store");
	if (!n->infra_id || !*n->infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	return 0;
}

/* A batch write carrying a create or a drop is done. */
static void on_written(const struct occo_err *err, void *ud)
{
	struct job *job = ud;

	job_complete(job, err, err ? RH_F_TRANSIENT : 0);
	job_unref(job);
}

/* The create call answers, create_latency_ms after the instance appeared. */
static void on_create_done(uv_timer_t *t)
{
	struct job *job = t->data;

	job_close_timer(job);
	job_complete(job, NULL, 0);
}

/* The instance is in the cloud; the call itself takes create_latency_ms more. */
static void on_registered(const struct occo_err *err, void *ud)
{
	struct job *job = ud;

	if (err) {
		job_close_timer(job);
		job_complete(job, err, RH_F_TRANSIENT);
	} else if (job->timer_on && job->req) {
		uv_timer_start(&job->timer, on_create_done, job->cfg.create_latency, 0);
	}
	job_unref(job);
}

/*
 * As a real cloud does, the instance exists (pending) from the start of the call, and the call
 * answers later: an orchestrator killed in between finds an instance it never heard of, which
 * it must find again by its token.
 */
static void on_create_timer(uv_timer_t *t)
{
	struct job *job = t->data;
	struct rh_req *req = job->req;
	const struct rh_node *n = rh_req_node(req);
	struct dummy *d = rh_req_state(req);
	uint64_t now = occo_clock_wall_ms(), ha = hash(job->cfg.seed, n->token, "address", 0);
	char addr[16], priv[16];
	struct occo_err e;
	json_t *rec;
	int rc;

	if (unit(hash(job->cfg.seed, n->token, "create-error", rh_req_attempt(req))) <
	    job->cfg.create_error_rate) {
		job_close_timer(job);
		occo_err_set(&e, OCCO_EREMOTE, "simulated create error");
		job_complete(job, &e, RH_F_TRANSIENT);
		return;
	}
	/*
	 * Loopback addresses outside 127.0.0.0/16, so that a health check of a simulated instance
	 * (a ping by default) is answered by this machine and never leaves it.
	 */
	snprintf(addr, sizeof(addr), "127.%u.%u.%u", 1 + (unsigned)(ha >> 16) % 254,
		 (unsigned)(ha >> 8) & 255, 1 + (unsigned)(ha & 255) % 254);
	snprintf(priv, sizeof(priv), "127.%u.%u.%u", 1 + (unsigned)(ha >> 24) % 254,
		 (unsigned)(ha >> 32) & 255, 1 + (unsigned)(ha >> 40) % 254);
	rec = json_pack("{s:s, s:s?, s:s?, s:I, s:I, s:b, s:s, s:s}", "token", n->token, "node_id",
			n->node_id, "name", n->name, "created_ms", (json_int_t)now, "ready_ms",
			(json_int_t)(now + job->cfg.create_latency + job->cfg.ready_after), "fails",
			unit(hash(job->cfg.seed, n->token, "fail", 0)) < job->cfg.fail_rate,
			"address", addr, "private_address", priv);
	rc = ib_batch_node_put(d->b, n->infra_id, job->id, rec, on_registered, job, &e);
	json_decref(rec);
	if (rc < 0) {
		job_close_timer(job);
		job_complete(job, &e, 0);
		return;
	}
	job->refs++;
}

static int dummy_create(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct job *job;
	int rc;

	if ((rc = need_state(req, err)) < 0)
		return rc;
	if (!n->token || !*n->token)
		return occo_err_set(err, OCCO_EINVAL, "no idempotency token");
	job = job_new(req, J_CREATE, occo_asprintf("dummy-%s", n->token));
	job_arm(req, job, 0, on_create_timer);
	return 0;
}

static void on_drop_timer(uv_timer_t *t)
{
	struct job *job = t->data;
	const struct rh_node *n = rh_req_node(job->req);
	struct dummy *d = rh_req_state(job->req);
	struct occo_err e;

	job_close_timer(job);
	if (ib_batch_node_del(d->b, n->infra_id, job->id, on_written, job, &e) < 0) {
		job_complete(job, &e, 0);
		return;
	}
	job->refs++;
}

static int dummy_drop(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct job *job;
	char *id;
	int rc;

	if ((rc = need_state(req, err)) < 0)
		return rc;
	if (n->instance_id && *n->instance_id)
		id = occo_strdup(n->instance_id);
	else if (n->token && *n->token)
		id = occo_asprintf("dummy-%s", n->token);
	else
		return occo_err_set(err, OCCO_EINVAL, "no instance id and no token");
	job = job_new(req, J_DROP, id);
	job_arm(req, job, job->cfg.drop_latency, on_drop_timer);
	return 0;
}

/* The state of one record at wall time now; *msg set for failures. */
static enum rh_state record_state(const json_t *rec, uint64_t now, const char **msg)
{
	const char *over = json_string_value(json_object_get(rec, "state"));

	*msg = NULL;
	if (over)
		return rh_state_parse(over);
	if (now < (uint64_t)json_integer_value(json_object_get(rec, "ready_ms")))
		return RH_PENDING;
	if (json_is_true(json_object_get(rec, "fails"))) {
		*msg = "simulated failure";
		return RH_FAILED;
	}
	return RH_READY;
}

#define NO_STRING ((size_t)-1)

/*
 * Copy a string that must outlive the record it came from into `arena` and return its offset
 * (NO_STRING for NULL): one allocation for the strings of a whole list, so that a list of
 * 100,000 instances does not keep 100,000 parsed records alive.
 */
static size_t keep(struct occo_buf *arena, const char *s)
{
	size_t off = arena->len;

	if (!s || occo_buf_append(arena, s, strlen(s) + 1, NULL) < 0)
		return NO_STRING;
	return off;
}

static const char *at(const struct occo_buf *arena, size_t off)
{
	return off == NO_STRING ? NULL : occo_buf_str(arena) + off;
}

static void on_list_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			  void *ud)
{
	struct job *job = ud;
	struct rh_instance *v = NULL;
	json_t **addrs = NULL, *rec;
	struct occo_buf arena;
	struct occo_err e;
	uint64_t now = occo_clock_wall_ms();
	size_t i, n = 0, *offs = NULL; /* token and private address of each, in the arena */

	(void)r;
	if (!job->req) {
		job_unref(job);
		return;
	}
	if (err) {
		job_complete(job, err, RH_F_TRANSIENT);
		job_unref(job);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY) {
		occo_err_set(&e, OCCO_EPROTO, "HGETALL of the dummy cloud: not an array");
		job_complete(job, &e, 0);
		job_unref(job);
		return;
	}
	n = reply->elements / 2;
	v = occo_calloc(n ? n : 1, sizeof(*v));
	addrs = occo_calloc(n ? n : 1, sizeof(*addrs));
	offs = occo_calloc(2 * (n ? n : 1), sizeof(*offs));
	occo_buf_init(&arena, (size_t)1 << 30);
	for (i = 0; i < n; i++) {
		const redisReply *f = reply->element[2 * i], *val = reply->element[2 * i + 1];
		const char *a, *msg = NULL;

		addrs[i] = json_array();
		v[i].addresses = addrs[i];
		v[i].instance_id = f->type == REDIS_REPLY_STRING ? f->str : "";
		v[i].state = RH_UNKNOWN;
		offs[2 * i] = offs[2 * i + 1] = NO_STRING;
		rec = NULL;
		if (val->type != REDIS_REPLY_STRING || val->len > DUMMY_MAX_RECORD ||
		    !(rec = json_loadb(val->str, val->len, 0, NULL)) || !json_is_object(rec)) {
			v[i].message = "unreadable record";
			json_decref(rec);
			continue;
		}
		v[i].state = record_state(rec, now, &msg);
		v[i].message = msg; /* a constant */
		offs[2 * i] = keep(&arena, json_string_value(json_object_get(rec, "token")));
		if ((a = json_string_value(json_object_get(rec, "address"))))
			json_array_append_new(addrs[i], json_string(a));
		offs[2 * i + 1] =
			keep(&arena, json_string_value(json_object_get(rec, "private_address")));
		json_decref(rec);
	}
	for (i = 0; i < n; i++) {
		v[i].token = at(&arena, offs[2 * i]);
		v[i].private_address = at(&arena, offs[2 * i + 1]);
	}
	{
		struct rh_req *req = job->req;

		job->req = NULL;
		rh_req_listed(req, v, n, NULL, 0);
	}
	for (i = 0; i < n; i++)
		json_decref(addrs[i]);
	occo_buf_release(&arena);
	free(offs);
	free(v);
	free(addrs);
	job_unref(job);
}

static int dummy_list(struct rh_req *req, struct occo_err *err)
{
	const struct rh_node *n = rh_req_node(req);
	struct dummy *d = rh_req_state(req);
	struct job *job;
	char *key;
	int rc;

	if ((rc = need_state(req, err)) < 0)
		return rc;
	key = occo_asprintf("%s:{%s}:nodes", d->prefix, n->infra_id);
	{
		const char *argv[] = { "HGETALL", key };

		job = job_new(req, J_LIST, NULL);
		job->refs = 1; /* the reply */
		rc = occo_redis_command_argv(d->r, 2, argv, NULL, on_list_reply, job, err);
	}
	free(key);
	if (rc < 0)
		job_unref(job);
	return rc;
}

static void dummy_cancel(struct rh_req *req)
{
	struct job *job = job_of(req);
	struct occo_err e;

	job_close_timer(job);
	occo_err_set(&e, OCCO_ECANCELED, "cancelled");
	job_complete(job, &e, 0);
}

static int dummy_start(const struct rh_env *env, void **state, struct occo_err *err)
{
	struct dummy *d;
	int rc;

	*state = NULL;
	if (!env->redis)
		return 0; /* the plugin says so when it is used */
	d = occo_calloc(1, sizeof(*d));
	d->r = env->redis;
	d->prefix = occo_asprintf("%s:dummycloud", env->ns && *env->ns ? env->ns : "occo");
	rc = ib_batch_open(env->redis, d->prefix, NULL, &d->b, err);
	if (rc < 0) {
		free(d->prefix);
		free(d);
		return rc;
	}
	*state = d;
	return 0;
}

static void dummy_stop(void *state)
{
	struct dummy *d = state;

	ib_batch_close(d->b, NULL, NULL);
	free(d->prefix);
	free(d);
}

const struct rh_ops rh__dummy_ops = {
	.name = "dummy",
	.schema = &schema,
	.req_size = sizeof(struct job *),
	.create = dummy_create,
	.drop = dummy_drop,
	.list = dummy_list,
	.cancel = dummy_cancel,
	.default_endpoint = "dummy",
	.max_concurrent = 1000000, /* a simulated cloud: no limit of its own */
	.start = dummy_start,
	.stop = dummy_stop,
};
