/*
 * events.c - the event log (events.h): event names and reading the last events. Writing is the
 * batch's (batch.c).
 */
#include <stdlib.h>
#include <string.h>

#include "infobroker_int.h"
#include "occo/infobroker/events.h"
#include "occo/infobroker/store.h"
#include "occo/util/alloc.h"

static const char *const names[] = {
	IB_EV_INFRASTART,  IB_EV_INFRAUPDATED,	    IB_EV_INFRAREADY,	IB_EV_NODECREATING,
	IB_EV_NODECREATED, IB_EV_NODEFAILED,	    IB_EV_NODEDROPPING, IB_EV_NODEDROPPED,
	IB_EV_INFRADROP,   IB_EV_REPLACESUPPRESSED,
};

int ib_event_known(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

struct op {
	char *key;
	ib_events_fn cb;
	void *ud;
};

/* One stream entry [id, [field, value, ...]] into {id, event, ts, data}. */
static int parse_entry(struct occo_redis *r, const char *key, const redisReply *entry, json_t **out,
		       struct occo_err *err)
{
	const redisReply *id, *fields;
	json_t *ev, *data = NULL;
	size_t i;
	int rc;

	if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
	    (id = entry->element[0])->type != REDIS_REPLY_STRING ||
	    (fields = entry->element[1])->type != REDIS_REPLY_ARRAY || fields->elements % 2)
		return ib__reply_unexpected(r, entry, err, key);
	ev = json_pack("{s:s%}", "id", id->str, id->len);
	for (i = 0; i < fields->elements; i += 2) {
		const redisReply *f = fields->element[i], *v = fields->element[i + 1];

		if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(f->str, "event") == 0) {
			json_object_set_new(ev, "event", json_stringn(v->str, v->len));
		} else if (strcmp(f->str, "ts") == 0) {
			json_object_set_new(ev, "ts", json_integer(strtoll(v->str, NULL, 10)));
		} else if (strcmp(f->str, "data") == 0) {
			rc = ib__json_parse(r, v->str, v->len, key, id->str, &data, err);
			if (rc < 0) {
				json_decref(ev);
				return occo_err_prefix(err, "event %s", id->str);
			}
			json_object_set_new(ev, "data", data);
		}
	}
	*out = ev;
	return 0;
}

static void last_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		       void *ud)
{
	struct op *op = ud;
	struct occo_err e;
	char what[256];
	json_t *events = NULL, *ev = NULL;
	size_t i;

	snprintf(what, sizeof(what), "cannot read the events of %s", op->key);
	if (ib__reply_check(r, reply, err, &e, what) < 0)
		goto fail;
	if (reply->type != REDIS_REPLY_ARRAY) {
		ib__reply_unexpected(r, reply, &e, what);
		goto fail;
	}
	events = json_array();
	/* XREVRANGE answers newest first */
	for (i = reply->elements; i-- > 0;) {
		if (parse_entry(r, op->key, reply->element[i], &ev, &e) < 0)
			goto fail;
		json_array_append_new(events, ev);
	}
	op->cb(events, NULL, op->ud);
	goto out;
fail:
	json_decref(events);
	op->cb(NULL, &e, op->ud);
out:
	free(op->key);
	free(op);
}

int ib_events_last(struct occo_redis *r, const char *ns, const char *infra_id, size_t count,
		   ib_events_fn cb, void *ud, struct occo_err *err)
{
	struct op *op;
	char n[32];
	int rc;

	if (!infra_id || !*infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if (count == 0)
		return occo_err_set(err, OCCO_EINVAL, "no events asked for");
	op = occo_calloc(1, sizeof(*op));
	op->key = ib_key_infra(ns, infra_id, "events");
	op->cb = cb;
	op->ud = ud;
	snprintf(n, sizeof(n), "%zu", count);
	{
		const char *argv[] = { "XREVRANGE", op->key, "+", "-", "COUNT", n };

		rc = occo_redis_command_argv(r, 6, argv, NULL, last_reply, op, err);
	}
	if (rc < 0) {
		occo_err_prefix(err, "cannot read the events of infrastructure '%s'", infra_id);
		free(op->key);
		free(op);
	}
	return rc;
}
