/*
 * scaling.c - writing scaling requests and targets (scaling.h). What a pass does with them is
 * scaling_plan.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "infobroker_int.h"
#include "occo/infobroker/scaling.h"
#include "occo/util/alloc.h"
#include "occo/util/id.h"

struct op {
	char *what;
	ib_done_fn cb;
	void *ud;
};

static void op_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		     void *ud)
{
	struct op *op = ud;
	struct occo_err e;

	if (ib__reply_check(r, reply, err, &e, op->what) < 0)
		op->cb(&e, op->ud);
	else
		op->cb(NULL, op->ud);
	free(op->what);
	free(op);
}

static int check(const char *infra_id, const char *name, struct occo_err *err)
{
	if (!infra_id || !*infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if (!name || !*name || strchr(name, ':'))
		return occo_err_set(err, OCCO_EINVAL, "invalid node name '%s'", name ? name : "");
	return 0;
}

/*
 * HSET <scaling key> <prefix><name>:<uuid> <value> ... with `count` new fields, or the one
 * field `field` when prefix is NULL.
 */
static int hset(struct occo_redis *r, const char *ns, const char *infra_id, const char *prefix,
		const char *field, const char *name, int count, const char *value, const char *what,
		ib_done_fn cb, void *ud, struct occo_err *err)
{
	size_t argc = 2 + 2 * (size_t)count, i;
	const char **argv = occo_calloc(argc, sizeof(*argv));
	char **fields = occo_calloc((size_t)count, sizeof(*fields));
	char uuid[OCCO_UUID_STRLEN + 1];
	char *key = ib_key_infra(ns, infra_id, "scaling");
	struct op *op = NULL;
	int rc = 0, k;

	argv[0] = "HSET";
	argv[1] = key;
	for (k = 0; k < count; k++) {
		if (prefix) {
			if ((rc = occo_uuid4(uuid, err)) < 0)
				goto out;
			fields[k] = occo_asprintf("%s%s:%s", prefix, name, uuid);
		} else {
			fields[k] = occo_strdup(field);
		}
		argv[2 + 2 * k] = fields[k];
		argv[3 + 2 * k] = value;
	}
	op = occo_calloc(1, sizeof(*op));
	op->what = occo_asprintf("cannot %s of node '%s' in infrastructure '%s'", what, name,
				 infra_id);
	op->cb = cb;
	op->ud = ud;
	rc = occo_redis_command_argv(r, (int)argc, argv, NULL, op_reply, op, err);
	if (rc < 0) {
		occo_err_prefix(err, "%s", op->what);
		free(op->what);
		free(op);
	}
out:
	for (i = 0; i < (size_t)count; i++)
		free(fields[i]);
	free(fields);
	free(argv);
	free(key);
	return rc;
}

static int check_count(int count, struct occo_err *err)
{
	if (count < 1 || count > IB_SCALING_MAX_REQUESTS)
		return occo_err_set(err, OCCO_EINVAL, "invalid request count %d (must be 1 to %d)",
				    count, IB_SCALING_MAX_REQUESTS);
	return 0;
}

int ib_scaling_request_create(struct occo_redis *r, const char *ns, const char *infra_id,
			      const char *name, int count, ib_done_fn cb, void *ud,
			      struct occo_err *err)
{
	int rc;

	if ((rc = check(infra_id, name, err)) < 0 || (rc = check_count(count, err)) < 0)
		return rc;
	return hset(r, ns, infra_id, IB_SCALING_CREATE, NULL, name, count, "", "request instances",
		    cb, ud, err);
}

int ib_scaling_request_destroy(struct occo_redis *r, const char *ns, const char *infra_id,
			       const char *name, int count, ib_done_fn cb, void *ud,
			       struct occo_err *err)
{
	int rc;

	if ((rc = check(infra_id, name, err)) < 0 || (rc = check_count(count, err)) < 0)
		return rc;
	return hset(r, ns, infra_id, IB_SCALING_DESTROY, NULL, name, count, "",
		    "request the removal of instances", cb, ud, err);
}

int ib_scaling_request_destroy_node(struct occo_redis *r, const char *ns, const char *infra_id,
				    const char *name, const char *target, ib_done_fn cb, void *ud,
				    struct occo_err *err)
{
	int rc;

	if ((rc = check(infra_id, name, err)) < 0)
		return rc;
	if (!target || !*target)
		return occo_err_set(err, OCCO_EINVAL, "no node id or address to remove");
	return hset(r, ns, infra_id, IB_SCALING_DESTROY, NULL, name, 1, target,
		    "request the removal of an instance", cb, ud, err);
}

int ib_scaling_set_target(struct occo_redis *r, const char *ns, const char *infra_id,
			  const char *name, int target, ib_done_fn cb, void *ud,
			  struct occo_err *err)
{
	char value[24], *field;
	int rc;

	if ((rc = check(infra_id, name, err)) < 0)
		return rc;
	if (target < 0)
		return occo_err_set(err, OCCO_EINVAL, "invalid target count %d", target);
	snprintf(value, sizeof(value), "%d", target);
	field = occo_asprintf("%s%s", IB_SCALING_COUNT, name);
	rc = hset(r, ns, infra_id, NULL, field, name, 1, value, "set the target count", cb, ud,
		  err);
	free(field);
	return rc;
}
