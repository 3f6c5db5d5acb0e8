/*
 * lease.c - the maintainer's lease on an infrastructure (lease.h). Each operation is one Lua
 * script answering {ok, holder after}, so the check of the holder and the change are atomic.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "infobroker_int.h"
#include "occo/infobroker/lease.h"
#include "occo/infobroker/store.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"

static const char acquire_lua[] = "local cur = redis.call('GET', KEYS[1])\n"
				  "if not cur then\n"
				  "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
				  "  return {1, ARGV[1]}\n"
				  "elseif cur == ARGV[1] then\n"
				  "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
				  "  return {1, cur}\n"
				  "end\n"
				  "return {0, cur}\n";

static const char renew_lua[] = "local cur = redis.call('GET', KEYS[1])\n"
				"if cur == ARGV[1] then\n"
				"  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
				"  return {1, cur}\n"
				"end\n"
				"return {0, cur}\n";

static const char release_lua[] = "local cur = redis.call('GET', KEYS[1])\n"
				  "if cur == ARGV[1] then\n"
				  "  redis.call('DEL', KEYS[1])\n"
				  "  return {1, false}\n"
				  "end\n"
				  "return {0, cur}\n";

int ib_lease_holder_new(char **out, struct occo_err *err)
{
	char host[256];
	unsigned char rnd[4];
	int rc;

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((rc = occo_random_bytes(rnd, sizeof(rnd), err)) < 0)
		return rc;
	*out = occo_asprintf("%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), rnd[0], rnd[1],
			     rnd[2], rnd[3]);
	return 0;
}

struct op {
	char *what;
	ib_lease_fn cb;
	void *ud;
};

static void op_free(struct op *op)
{
	free(op->what);
	free(op);
}

/* A script's {ok, holder} (ok_holder = 1), or GET's holder or nil. */
static void lease_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			void *ud, int ok_holder)
{
	struct op *op = ud;
	const redisReply *h;
	struct occo_err e;
	int ok;

	if (ib__reply_check(r, reply, err, &e, op->what) < 0)
		goto fail;
	if (ok_holder) {
		if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
		    reply->element[0]->type != REDIS_REPLY_INTEGER)
			goto unexpected;
		ok = reply->element[0]->integer == 1;
		h = reply->elements > 1 ? reply->element[1] : NULL;
	} else {
		h = reply;
		ok = reply->type == REDIS_REPLY_STRING;
	}
	if (h && h->type != REDIS_REPLY_STRING && h->type != REDIS_REPLY_NIL)
		goto unexpected;
	op->cb(ok, h && h->type == REDIS_REPLY_STRING ? h->str : NULL, NULL, op->ud);
	op_free(op);
	return;
unexpected:
	ib__reply_unexpected(r, reply, &e, op->what);
fail:
	op->cb(0, NULL, &e, op->ud);
	op_free(op);
}

static void script_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			 void *ud)
{
	lease_reply(r, reply, err, ud, 1);
}

static void get_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		      void *ud)
{
	lease_reply(r, reply, err, ud, 0);
}

/* Run a lease script (script NULL: GET the holder). */
static int run(struct occo_redis *r, const char *ns, const char *infra_id, const char *script,
	       const char *holder, unsigned ttl_ms, const char *verb, ib_lease_fn cb, void *ud,
	       struct occo_err *err)
{
	char ttl[24], *key;
	struct op *op;
	int rc;

	if (!infra_id || !*infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if (script && (!holder || !*holder))
		return occo_err_set(err, OCCO_EINVAL, "no lease holder");
	key = ib_key_infra(ns, infra_id, "lease");
	op = occo_calloc(1, sizeof(*op));
	op->what = occo_asprintf("cannot %s the lease of infrastructure '%s'", verb, infra_id);
	op->cb = cb;
	op->ud = ud;
	snprintf(ttl, sizeof(ttl), "%u", ttl_ms);
	if (script) {
		const char *argv[] = { "EVAL", script, "1", key, holder, ttl };

		rc = occo_redis_command_argv(r, 6, argv, NULL, script_reply, op, err);
	} else {
		const char *argv[] = { "GET", key };

		rc = occo_redis_command_argv(r, 2, argv, NULL, get_reply, op, err);
	}
	if (rc < 0) {
		occo_err_prefix(err, "%s", op->what);
		op_free(op);
	}
	free(key);
	return rc;
}

int ib_lease_acquire(struct occo_redis *r, const char *ns, const char *infra_id, const char *holder,
		     unsigned ttl_ms, ib_lease_fn cb, void *ud, struct occo_err *err)
{
	if (!ttl_ms)
		return occo_err_set(err, OCCO_EINVAL, "a lease needs a time to live");
	return run(r, ns, infra_id, acquire_lua, holder, ttl_ms, "acquire", cb, ud, err);
}

int ib_lease_renew(struct occo_redis *r, const char *ns, const char *infra_id, const char *holder,
		   unsigned ttl_ms, ib_lease_fn cb, void *ud, struct occo_err *err)
{
	if (!ttl_ms)
		return occo_err_set(err, OCCO_EINVAL, "a lease needs a time to live");
	return run(r, ns, infra_id, renew_lua, holder, ttl_ms, "renew", cb, ud, err);
}

int ib_lease_release(struct occo_redis *r, const char *ns, const char *infra_id, const char *holder,
		     ib_lease_fn cb, void *ud, struct occo_err *err)
{
	return run(r, ns, infra_id, release_lua, holder, 0, "release", cb, ud, err);
}

int ib_lease_holder(struct occo_redis *r, const char *ns, const char *infra_id, ib_lease_fn cb,
		    void *ud, struct occo_err *err)
{
	return run(r, ns, infra_id, NULL, NULL, 0, "read", cb, ud, err);
}
