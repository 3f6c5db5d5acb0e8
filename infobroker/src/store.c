/*
 * store.c - key names and node definitions in Redis.
 */
#include <stdlib.h>
#include <string.h>

#include "occo/infobroker/store.h"
#include "occo/util/alloc.h"

char *ib_key_nodedef(const char *ns, const char *type)
{
	return occo_asprintf("%s:nodedef:%s", ns, type);
}

char *ib_key_infras(const char *ns)
{
	return occo_asprintf("%s:infras", ns);
}

char *ib_key_infra(const char *ns, const char *infra_id, const char *part)
{
	return occo_asprintf("%s:{%s}:%s", ns, infra_id, part);
}

struct op {
	ib_done_fn done;
	ib_nodedef_fn got;
	void *ud;
	char *subject; /* for messages */
};

static void op_free(struct op *op)
{
	free(op->subject);
	free(op);
}

static void put_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		      void *ud)
{
	struct op *op = ud;
	struct occo_err e;

	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "cannot store node definitions");
		op->done(&e, op->ud);
	} else if (reply->type == REDIS_REPLY_ERROR) {
		occo_err_set(&e, OCCO_EREMOTE, "cannot store node definitions: %s: %s",
			     occo_redis_name(r), reply->str);
		op->done(&e, op->ud);
	} else {
		op->done(NULL, op->ud);
	}
	op_free(op);
}

int ib_nodedefs_put(struct occo_redis *r, const char *ns, const json_t *defs, ib_done_fn cb,
		    void *ud, struct occo_err *err)
{
	size_t n = json_object_size(defs), i = 0, k;
	const char **argv;
	size_t *argvlen;
	const char *type;
	json_t *list;
	struct op *op;
	int rc;

	if (!json_is_object(defs) || n == 0)
		return occo_err_set(err, OCCO_EINVAL, "no node definitions to store");
	argv = occo_calloc(1 + 2 * n, sizeof(*argv));
	argvlen = occo_calloc(1 + 2 * n, sizeof(*argvlen));
	argv[i] = "MSET";
	argvlen[i++] = 4;
	json_object_foreach ((json_t *)defs, type, list) {
		argv[i] = ib_key_nodedef(ns, type);
		argvlen[i] = strlen(argv[i]);
		i++;
		argv[i] = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		argvlen[i] = strlen(argv[i]);
		i++;
	}
	op = occo_calloc(1, sizeof(*op));
	op->done = cb;
	op->ud = ud;
	rc = occo_redis_command_argv(r, (int)i, argv, argvlen, put_reply, op, err);
	for (k = 1; k < i; k++)
		free((char *)argv[k]);
	free(argv);
	free(argvlen);
	if (rc < 0)
		op_free(op);
	return rc;
}

static void get_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		      void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	json_error_t jerr;
	json_t *defs;

	if (err) {
		occo_err_copy(&e, err);
		occo_err_prefix(&e, "cannot load node definitions of '%s'", op->subject);
		op->got(NULL, &e, op->ud);
	} else if (reply->type == REDIS_REPLY_NIL) {
		op->got(NULL, NULL, op->ud);
	} else if (reply->type != REDIS_REPLY_STRING) {
		occo_err_set(&e, OCCO_EPROTO, "%s: node definitions of '%s': unexpected reply %s",
			     occo_redis_name(r), op->subject,
			     reply->type == REDIS_REPLY_ERROR ? reply->str : "type");
		op->got(NULL, &e, op->ud);
	} else if (!(defs = json_loadb(reply->str, reply->len, 0, &jerr)) || !json_is_array(defs)) {
		json_decref(defs);
		occo_err_set(
			&e, OCCO_EPROTO,
			"%s: node definitions of '%s' are not a JSON list (%s); import them again",
			occo_redis_name(r), op->subject, jerr.text);
		op->got(NULL, &e, op->ud);
	} else {
		op->got(defs, NULL, op->ud);
	}
	op_free(op);
}

int ib_nodedef_get(struct occo_redis *r, const char *ns, const char *type, ib_nodedef_fn cb,
		   void *ud, struct occo_err *err)
{
	char *key = ib_key_nodedef(ns, type);
	const char *argv[2] = { "GET", key };
	struct op *op = occo_calloc(1, sizeof(*op));
	int rc;

	op->got = cb;
	op->ud = ud;
	op->subject = occo_strdup(type);
	rc = occo_redis_command_argv(r, 2, argv, NULL, get_reply, op, err);
	free(key);
	if (rc < 0)
		op_free(op);
	return rc;
}
