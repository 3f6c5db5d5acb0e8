/*
 * infra.c - infrastructures in Redis (infra.h): add, update, exists, list, remove and the
 * snapshot of one maintenance pass.
 *
 * Add and remove touch the infrastructure's keys and <ns>:infras together; each is one Lua
 * script rather than MULTI/EXEC because a script is one command: it cannot be left half-issued
 * on the shared pipelined connection (MULTI accepted, EXEC refused by a full queue), which
 * would pull other callers' commands into the transaction.
 */
#include <stdlib.h>
#include <string.h>

#include "infobroker_int.h"
#include "occo/infobroker/infra.h"
#include "occo/util/alloc.h"
#include "occo/util/json.h"
#include "occo/util/log.h"

/*
 * Every key an infrastructure has; removal deletes these. A new part of the key layout must be
 * added here, or a removed infrastructure leaves it behind.
 */
static const char *const parts[] = { "desc",   "nodes", "scaling",     "health",
				     "events", "lease", "notification" };
#define NPARTS (sizeof(parts) / sizeof(parts[0]))

static const char add_lua[] = "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then\n"
			      "  redis.call('SADD', KEYS[2], ARGV[2])\n"
			      "  return 1\n"
			      "end\n"
			      "return 0\n";

static const char remove_lua[] = "redis.call('DEL', unpack(KEYS, 1, #KEYS - 1))\n"
				 "redis.call('SREM', KEYS[#KEYS], ARGV[1])\n"
				 "return 1\n";

struct op {
	char *infra_id;
	const char *what; /* the start of messages: "cannot add infrastructure" */
	ib_done_fn done;
	ib_exists_fn exists;
	ib_ids_fn ids;
	void *ud;
};

static struct op *op_new(const char *infra_id, const char *what, void *ud)
{
	struct op *op = occo_calloc(1, sizeof(*op));

	op->infra_id = infra_id ? occo_strdup(infra_id) : NULL;
	op->what = what;
	op->ud = ud;
	return op;
}

static void op_free(struct op *op)
{
	free(op->infra_id);
	free(op);
}

static int check_id(const char *infra_id, struct occo_err *err)
{
	if (!infra_id || !*infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	return 0;
}

/* Issue argv with op as the context; the op is freed when the command cannot be issued. */
static int issue(struct occo_redis *r, int argc, const char *const *argv, const size_t *argvlen,
		 occo_redis_reply_fn cb, struct op *op, struct occo_err *err)
{
	int rc = occo_redis_command_argv(r, argc, argv, argvlen, cb, op, err);

	if (rc < 0) {
		occo_err_prefix(err, "%s", op->what);
		op_free(op);
	}
	return rc;
}

/* ---- add, update ---- */

static void add_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		      void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	char what[256];

	snprintf(what, sizeof(what), "%s '%s'", op->what, op->infra_id);
	if (ib__reply_check(r, reply, err, &e, what) < 0)
		op->done(&e, op->ud);
	else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
		op->done(NULL, op->ud);
	else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
		occo_err_set(&e, OCCO_EEXIST, "infrastructure '%s' exists already", op->infra_id);
		op->done(&e, op->ud);
	} else {
		ib__reply_unexpected(r, reply, &e, what);
		op->done(&e, op->ud);
	}
	op_free(op);
}

static char *dump_desc(const json_t *desc, struct occo_err *err)
{
	char *s;

	if (!json_is_object(desc)) {
		occo_err_set(err, OCCO_EINVAL, "the static description is not an object");
		return NULL;
	}
	s = ib__json_dump(desc);
	if (!s)
		occo_err_set(err, OCCO_EINVAL, "the static description cannot be encoded as JSON");
	return s;
}

int ib_infra_add(struct occo_redis *r, const char *ns, const char *infra_id, const json_t *desc,
		 ib_done_fn cb, void *ud, struct occo_err *err)
{
	char *key_desc, *key_infras, *json;
	struct op *op;
	int rc;

	if ((rc = check_id(infra_id, err)) < 0)
		return rc;
	if (!(json = dump_desc(desc, err)))
		return -OCCO_EINVAL;
	key_desc = ib_key_infra(ns, infra_id, "desc");
	key_infras = ib_key_infras(ns);
	{
		const char *argv[] = { "EVAL", add_lua, "2", key_desc, key_infras, json, infra_id };

		op = op_new(infra_id, "cannot add infrastructure", ud);
		op->done = cb;
		rc = issue(r, 7, argv, NULL, add_reply, op, err);
	}
	free(key_desc);
	free(key_infras);
	free(json);
	return rc;
}

static void update_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			 void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	char what[256];

	snprintf(what, sizeof(what), "%s '%s'", op->what, op->infra_id);
	if (ib__reply_check(r, reply, err, &e, what) < 0)
		op->done(&e, op->ud);
	else if (reply->type == REDIS_REPLY_STATUS)
		op->done(NULL, op->ud);
	else if (reply->type == REDIS_REPLY_NIL) {
		occo_err_set(&e, OCCO_ENOENT, "unknown infrastructure '%s'", op->infra_id);
		op->done(&e, op->ud);
	} else {
		ib__reply_unexpected(r, reply, &e, what);
		op->done(&e, op->ud);
	}
	op_free(op);
}

int ib_infra_update_desc(struct occo_redis *r, const char *ns, const char *infra_id,
			 const json_t *desc, ib_done_fn cb, void *ud, struct occo_err *err)
{
	char *key, *json;
	struct op *op;
	int rc;

	if ((rc = check_id(infra_id, err)) < 0)
		return rc;
	if (!(json = dump_desc(desc, err)))
		return -OCCO_EINVAL;
	key = ib_key_infra(ns, infra_id, "desc");
	{
		const char *argv[] = { "SET", key, json, "XX" };

		op = op_new(infra_id, "cannot update the description of infrastructure", ud);
		op->done = cb;
		rc = issue(r, 4, argv, NULL, update_reply, op, err);
	}
	free(key);
	free(json);
	return rc;
}

/* ---- exists, list ---- */

static void exists_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			 void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	char what[256];

	snprintf(what, sizeof(what), "%s '%s'", op->what, op->infra_id);
	if (ib__reply_check(r, reply, err, &e, what) < 0)
		op->exists(0, &e, op->ud);
	else if (reply->type == REDIS_REPLY_INTEGER)
		op->exists(reply->integer > 0, NULL, op->ud);
	else {
		ib__reply_unexpected(r, reply, &e, what);
		op->exists(0, &e, op->ud);
	}
	op_free(op);
}

int ib_infra_exists(struct occo_redis *r, const char *ns, const char *infra_id, ib_exists_fn cb,
		    void *ud, struct occo_err *err)
{
	char *key;
	struct op *op;
	int rc;

	if ((rc = check_id(infra_id, err)) < 0)
		return rc;
	key = ib_key_infra(ns, infra_id, "desc");
	{
		const char *argv[] = { "EXISTS", key };

		op = op_new(infra_id, "cannot look up infrastructure", ud);
		op->exists = cb;
		rc = issue(r, 2, argv, NULL, exists_reply, op, err);
	}
	free(key);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void list_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		       void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	const char **v;
	json_t *ids;
	size_t i;

	if (ib__reply_check(r, reply, err, &e, op->what) < 0) {
		op->ids(NULL, &e, op->ud);
	} else if (reply->type != REDIS_REPLY_ARRAY) {
		ib__reply_unexpected(r, reply, &e, op->what);
		op->ids(NULL, &e, op->ud);
	} else {
		v = occo_calloc(reply->elements + 1, sizeof(*v));
		for (i = 0; i < reply->elements; i++)
			v[i] = reply->element[i]->str ? reply->element[i]->str : "";
		qsort(v, reply->elements, sizeof(*v), cmp_str);
		ids = json_array();
		for (i = 0; i < reply->elements; i++)
			json_array_append_new(ids, json_string(v[i]));
		free(v);
		op->ids(ids, NULL, op->ud);
	}
	op_free(op);
}

int ib_infra_list(struct occo_redis *r, const char *ns, ib_ids_fn cb, void *ud,
		  struct occo_err *err)
{
	char *key = ib_key_infras(ns);
	const char *argv[] = { "SMEMBERS", key };
	struct op *op = op_new(NULL, "cannot list infrastructures", ud);
	int rc;

	op->ids = cb;
	rc = issue(r, 2, argv, NULL, list_reply, op, err);
	free(key);
	return rc;
}

/* ---- remove ---- */

static void remove_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
			 void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	char what[256];

	snprintf(what, sizeof(what), "%s '%s'", op->what, op->infra_id);
	if (ib__reply_check(r, reply, err, &e, what) < 0)
		op->done(&e, op->ud);
	else
		op->done(NULL, op->ud);
	op_free(op);
}

int ib_infra_remove(struct occo_redis *r, const char *ns, const char *infra_id, ib_done_fn cb,
		    void *ud, struct occo_err *err)
{
	/* EVAL script numkeys <parts...> <infras> infra_id */
	const char *argv[3 + NPARTS + 2];
	char *keys[NPARTS + 1], numkeys[16];
	struct op *op;
	size_t i;
	int rc;

	if ((rc = check_id(infra_id, err)) < 0)
		return rc;
	for (i = 0; i < NPARTS; i++)
		keys[i] = ib_key_infra(ns, infra_id, parts[i]);
	keys[NPARTS] = ib_key_infras(ns);
	snprintf(numkeys, sizeof(numkeys), "%zu", NPARTS + 1);
	argv[0] = "EVAL";
	argv[1] = remove_lua;
	argv[2] = numkeys;
	for (i = 0; i <= NPARTS; i++)
		argv[3 + i] = keys[i];
	argv[3 + NPARTS + 1] = infra_id;
	op = op_new(infra_id, "cannot remove infrastructure", ud);
	op->done = cb;
	rc = issue(r, (int)(3 + NPARTS + 2), argv, NULL, remove_reply, op, err);
	for (i = 0; i <= NPARTS; i++)
		free(keys[i]);
	return rc;
}

/* ---- snapshot ---- */

enum { SN_DESC, SN_NODES, SN_SCALING, SN_HEALTH, SN_N };
static const char *const sn_parts[SN_N] = { "desc", "nodes", "scaling", "health" };

struct snap_op {
	struct ib_snapshot *snap;
	char *keys[SN_N];
	int issued; /* commands issued */
	int answered;
	int abandoned; /* issuing failed: the caller was told, cb is never called */
	struct occo_err err; /* the first failure */
	ib_snapshot_fn cb;
	void *ud;
	struct occo_json_sharer *sh; /* the description and the records share small values */
	unsigned flags; /* ib_snapshot_flags */
};

void ib_snapshot_free(struct ib_snapshot *snap)
{
	if (!snap)
		return;
	free(snap->infra_id);
	json_decref(snap->desc);
	ib_records_free(snap->records);
	json_decref(snap->scaling);
	json_decref(snap->health);
	free(snap);
}

static void snap_op_free(struct snap_op *op)
{
	int i;

	for (i = 0; i < SN_N; i++)
		free(op->keys[i]);
	occo_json_sharer_free(op->sh, NULL);
	ib_snapshot_free(op->snap);
	free(op);
}

/* An HGETALL reply into {field: value}; values parsed as JSON unless `raw`. */
static int parse_hash(struct occo_redis *r, const redisReply *reply, const char *key, int raw,
		      json_t **out, struct occo_err *err)
{
	json_t *obj, *v;
	size_t i;
	int rc;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2)
		return ib__reply_unexpected(r, reply, err, key);
	obj = json_object();
	for (i = 0; i < reply->elements; i += 2) {
		const redisReply *f = reply->element[i], *val = reply->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING) {
			json_decref(obj);
			return ib__reply_unexpected(r, f, err, key);
		}
		if (raw) {
			v = json_stringn(val->str, val->len);
		} else if ((rc = ib__json_parse(r, val->str, val->len, key, f->str, &v, err)) < 0) {
			json_decref(obj);
			return rc;
		}
		if (!v || json_object_set_new(obj, f->str, v) < 0) {
			json_decref(obj);
			return occo_err_set(err, OCCO_EPROTO,
					    "%s: %s field '%s' is not valid UTF-8",
					    occo_redis_name(r), key, f->str);
		}
		/*
		 * The reply of 100,000 records is tens of MB: give each field back as soon as it
		 * is parsed (hiredis frees the rest, and skips what is NULL, after this callback).
		 */
		freeReplyObject(reply->element[i]);
		freeReplyObject(reply->element[i + 1]);
		((redisReply *)reply)->element[i] = NULL;
		((redisReply *)reply)->element[i + 1] = NULL;
	}
	*out = obj;
	return 0;
}

/*
 * An HGETALL reply of instance records into a set. Each value is parsed, its sections shared
 * with the other records' (a resource section is one object for all the instances of a node;
 * the rest of a record is its own, and is not remembered by the sharer), read into its struct,
 * and let go at once with its part of the reply.
 */
static int parse_records(struct occo_redis *r, const redisReply *reply, const char *key,
			 struct occo_json_sharer *sh, unsigned flags, struct ib_records **out,
			 struct occo_err *err)
{
	static const char *const sections[] = { "resource", "health_check", "config_management" };
	struct ib_records *set;
	char what[512];
	json_t *v;
	size_t i, k;
	int rc;

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2)
		return ib__reply_unexpected(r, reply, err, key);
	set = ib_records_new();
	snprintf(what, sizeof(what), "%s: %s", occo_redis_name(r), key);
	for (i = 0; i < reply->elements; i += 2) {
		const redisReply *f = reply->element[i], *val = reply->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING ||
		    strlen(f->str) != f->len) {
			ib_records_free(set);
			return ib__reply_unexpected(r, f, err, key);
		}
		if ((rc = ib__json_parse(r, val->str, val->len, key, f->str, &v, err)) < 0) {
			ib_records_free(set);
			return rc;
		}
		for (k = 0; k < sizeof(sections) / sizeof(sections[0]); k++) {
			json_t *sec = json_object_get(v, sections[k]);

			if (json_is_object(sec))
				json_object_set_new(v, sections[k],
						    occo_json_sharer_put(sh, json_incref(sec)));
		}
		rc = ib_records_put_json_ex(
			set, f->str, v, what,
			flags & IB_SNAPSHOT_LENIENT_RECORDS ? IB_RECORD_LENIENT : 0, err);
		json_decref(v);
		if (rc > 0)
			OCCO_WARN("instance record read in part", OCCO_KV("error", err->msg));
		if (rc < 0) {
			ib_records_free(set);
			return rc;
		}
		freeReplyObject(reply->element[i]);
		freeReplyObject(reply->element[i + 1]);
		((redisReply *)reply)->element[i] = NULL;
		((redisReply *)reply)->element[i + 1] = NULL;
	}
	*out = set;
	return 0;
}

static int snap_part(struct snap_op *op, struct occo_redis *r, int part, const redisReply *reply,
		     struct occo_err *err)
{
	struct ib_snapshot *s = op->snap;
	const char *key = op->keys[part];
	int rc;

	switch (part) {
	case SN_DESC:
		if (s->desc) { /* given by the caller: EXISTS answers 1 or 0 */
			if (reply->type != REDIS_REPLY_INTEGER)
				return ib__reply_unexpected(r, reply, err, key);
			if (reply->integer == 0)
				return occo_err_set(err, OCCO_ENOENT, "unknown infrastructure '%s'",
						    s->infra_id);
			return 0;
		}
		if (reply->type == REDIS_REPLY_NIL)
			return occo_err_set(err, OCCO_ENOENT, "unknown infrastructure '%s'",
					    s->infra_id);
		if (reply->type != REDIS_REPLY_STRING)
			return ib__reply_unexpected(r, reply, err, key);
		if ((rc = ib__json_parse_shared(r, reply->str, reply->len, key, NULL, op->sh,
						&s->desc, err)) < 0)
			return rc;
		if (!json_is_object(s->desc))
			return occo_err_set(err, OCCO_EPROTO, "%s: %s is not a JSON object",
					    occo_redis_name(r), key);
		if (op->flags & IB_SNAPSHOT_NO_EDGES)
			json_object_del(s->desc, "edges");
		/* what it remembers of the description is no use for the records: let it go */
		occo_json_sharer_free(op->sh, NULL);
		op->sh = occo_json_sharer_new();
		return 0;
	case SN_NODES:
		return parse_records(r, reply, key, op->sh, op->flags, &s->records, err);
	case SN_SCALING:
		return parse_hash(r, reply, key, 1, &s->scaling, err);
	default:
		return parse_hash(r, reply, key, 0, &s->health, err);
	}
}

static void snap_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		       void *ud)
{
	struct snap_op *op = ud;
	int part = op->answered++;
	struct occo_err e;
	char what[256];

	if (!op->abandoned && !op->err.code) {
		snprintf(what, sizeof(what), "cannot load infrastructure '%s'", op->snap->infra_id);
		if (ib__reply_check(r, reply, err, &e, what) < 0 ||
		    snap_part(op, r, part, reply, &e) < 0)
			occo_err_copy(&op->err, &e);
	}
	if (op->answered < op->issued)
		return;
	if (!op->abandoned) {
		if (op->err.code) {
			op->cb(NULL, &op->err, op->ud);
		} else {
			struct ib_snapshot *s = op->snap;

			op->snap = NULL;
			op->cb(s, NULL, op->ud);
		}
	}
	snap_op_free(op);
}

int ib_snapshot_load_ex(struct occo_redis *r, const char *ns, const char *infra_id, json_t *desc,
			unsigned flags, ib_snapshot_fn cb, void *ud, struct occo_err *err)
{
	struct snap_op *op;
	int i, rc;

	if ((rc = check_id(infra_id, err)) < 0)
		return rc;
	if (desc && !json_is_object(desc))
		return occo_err_set(
			err, OCCO_EINVAL,
			"cannot load infrastructure '%s': the description is not an object",
			infra_id);
	op = occo_calloc(1, sizeof(*op));
	op->snap = occo_calloc(1, sizeof(*op->snap));
	op->snap->infra_id = occo_strdup(infra_id);
	op->snap->desc = json_incref(desc);
	if (desc && (flags & IB_SNAPSHOT_NO_EDGES))
		json_object_del(desc, "edges");
	op->sh = occo_json_sharer_new();
	op->flags = flags;
	op->cb = cb;
	op->ud = ud;
	for (i = 0; i < SN_N; i++)
		op->keys[i] = ib_key_infra(ns, infra_id, sn_parts[i]);
	for (i = 0; i < SN_N; i++) {
		const char *argv[] = { i != SN_DESC ? "HGETALL"
				       : desc	    ? "EXISTS"
						    : "GET",
				       op->keys[i] };

		rc = occo_redis_command_argv(r, 2, argv, NULL, snap_reply, op, err);
		if (rc < 0)
			break;
		op->issued++;
	}
	if (rc < 0) {
		occo_err_prefix(err, "cannot load infrastructure '%s'", infra_id);
		if (op->issued == 0)
			snap_op_free(op);
		else
			op->abandoned = 1; /* freed by the last reply of what was issued */
	}
	return rc;
}

int ib_snapshot_load(struct occo_redis *r, const char *ns, const char *infra_id, ib_snapshot_fn cb,
		     void *ud, struct occo_err *err)
{
	return ib_snapshot_load_ex(r, ns, infra_id, NULL, 0, cb, ud, err);
}
