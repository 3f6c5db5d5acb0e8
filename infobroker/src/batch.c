/*
 * batch.c - the write batch (batch.h): queued hash writes coalesced per key and field, events
 * in order, flushed on the next turn of the loop.
 *
 * What is queued since the last flush is a `struct pending`: the hash keys written, in the
 * order first written, each with its fields in the order first written; a field holds its last
 * value (NULL: deleted) and the callbacks of every write queued to it. Two hash tables find a
 * key and a (key, field) in O(1). A flush takes the pending set out of the batch, so that
 * callbacks run during the flush (a command that cannot be issued) may queue again, and turns
 * it into commands; each command carries the callbacks of its fields (a `struct fcmd`), so a
 * command in flight needs nothing of the batch.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "infobroker_int.h"
#include "occo/infobroker/batch.h"
#include "occo/infobroker/events.h"
#include "occo/util/alloc.h"
#include "occo/util/clock.h"

#define DEF_EVENTS_MAXLEN 10000
#define DEF_MAX_FIELDS 4096

/* ---- a small hash table of entries that hold their own key bytes ---- */

struct hent {
	char *hk;
	size_t hlen;
	uint64_t hash;
};

struct htab {
	struct hent **slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct hent *htab_find(const struct htab *t, const char *k, size_t n, uint64_t h)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = h & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1)) {
		const struct hent *e = t->slots[i];

		if (e->hash == h && e->hlen == n && memcmp(e->hk, k, n) == 0)
			return t->slots[i];
	}
	return NULL;
}

static void htab_put(struct htab *t, struct hent *e);

static void htab_grow(struct htab *t)
{
	struct htab old = *t;
	size_t i;

	t->cap = old.cap ? old.cap * 2 : 64;
	t->slots = occo_calloc(t->cap, sizeof(*t->slots));
	t->n = 0;
	for (i = 0; i < old.cap; i++)
		if (old.slots[i])
			htab_put(t, old.slots[i]);
	free(old.slots);
}

/* Add an entry known not to be in the table. */
static void htab_put(struct htab *t, struct hent *e)
{
	size_t i;

	if (2 * (t->n + 1) > t->cap)
		htab_grow(t);
	for (i = e->hash & (t->cap - 1); t->slots[i]; i = (i + 1) & (t->cap - 1))
		;
	t->slots[i] = e;
	t->n++;
}

/* ---- what is queued ---- */

struct wcb {
	struct wcb *next;
	ib_done_fn cb;
	void *ud;
};

struct field {
	struct hent h; /* hk = "<key>\0<field>" */
	const char *name; /* points into h.hk */
	char *value; /* NULL: delete */
	struct wcb *cbs, **cbs_tail;
	size_t ncbs;
	struct field *next; /* in its key, in the order first written */
};

struct hkey {
	struct hent h; /* hk = key */
	struct field *fields, **fields_tail;
	size_t nput, ndel;
	struct hkey *next;
};

struct event {
	struct event *next;
	char *key;
	char *name;
	char *data;
	uint64_t ts;
	struct wcb cb;
};

struct pending {
	struct htab keys, fields;
	struct hkey *khead, **ktail;
	struct event *ehead, **etail;
	size_t nwrites;
};

struct ib_batch {
	struct occo_redis *r;
	char *ns;
	struct ib_batch_opts o;
	uv_check_t check; /* flushes after this turn's I/O callbacks */
	uv_idle_t idle; /* keeps the loop from blocking in poll meanwhile */
	int closing;
	int handles_open;
	ib_batch_close_fn close_cb;
	void *close_ud;
	struct pending p;
	struct ib_batch_stats stats;
};

static void pending_init(struct pending *p)
{
	memset(p, 0, sizeof(*p));
	p->ktail = &p->khead;
	p->etail = &p->ehead;
}

static void wcb_free_list(struct wcb *c)
{
	struct wcb *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
}

/* The value of a put once it is sent: hiredis has its own copy, ours is freed at once. */
static char sent_value[] = "";

/* Free a flushed pending set (its callbacks were copied into the commands). */
static void pending_release(struct pending *p)
{
	struct hkey *k, *knext;
	struct field *f, *fnext;
	struct event *e, *enext;

	for (k = p->khead; k; k = knext) {
		knext = k->next;
		for (f = k->fields; f; f = fnext) {
			fnext = f->next;
			wcb_free_list(f->cbs);
			free(f->h.hk);
			if (f->value != sent_value)
				free(f->value);
			free(f);
		}
		free(k->h.hk);
		free(k);
	}
	for (e = p->ehead; e; e = enext) {
		enext = e->next;
		free(e->key);
		free(e->name);
		free(e->data);
		free(e);
	}
	free(p->keys.slots);
	free(p->fields.slots);
	pending_init(p);
}

/* ---- commands in flight ---- */

struct fcmd {
	const char *verb; /* for messages: "cannot <verb> <key>" */
	const char *key; /* stored after cbs, in the same allocation */
	size_t n;
	struct wcb cbs[]; /* the callbacks of the writes it carries */
};

static void fcmd_finish(struct fcmd *c, const struct occo_err *err)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		c->cbs[i].cb(err, c->cbs[i].ud);
	free(c);
}

static void fcmd_reply(struct occo_redis *r, const redisReply *reply, const struct occo_err *err,
		       void *ud)
{
	struct fcmd *c = ud;
	struct occo_err e;
	char what[OCCO_ERR_MSG_MAX];

	snprintf(what, sizeof(what), "cannot %s %s", c->verb, c->key);
	if (ib__reply_check(r, reply, err, &e, what) < 0)
		fcmd_finish(c, &e);
	else
		fcmd_finish(c, NULL);
}

/* Issue a command carrying the callbacks collected in c (taken). */
static void issue(struct ib_batch *b, int argc, const char **argv, const size_t *argvlen,
		  struct fcmd *c)
{
	struct occo_err e;

	if (occo_redis_command_argv(b->r, argc, argv, argvlen, fcmd_reply, c, &e) < 0) {
		occo_err_prefix(&e, "cannot %s %s", c->verb, c->key);
		fcmd_finish(c, &e);
		return;
	}
	b->stats.commands++;
}

static struct fcmd *fcmd_new(size_t ncbs, const char *verb, const char *key)
{
	size_t klen = strlen(key);
	struct fcmd *c = occo_calloc(1, sizeof(*c) + ncbs * sizeof(struct wcb) + klen + 1);
	char *k = (char *)&c->cbs[ncbs];

	memcpy(k, key, klen + 1);
	c->verb = verb;
	c->key = k;
	return c;
}

static void fcmd_take(struct fcmd *c, struct field *f)
{
	struct wcb *w;

	for (w = f->cbs; w; w = w->next)
		c->cbs[c->n++] = *w;
}

/* 1 if the last write of f is a put (puts = 1) or a delete (puts = 0). */
static int of_kind(const struct field *f, int puts)
{
	return (f->value != NULL) == (puts != 0);
}

/*
 * HSET (puts) or HDEL (deletes) of one key: the fields whose last write is of that kind, in
 * commands of at most max_fields fields.
 */
static void flush_key(struct ib_batch *b, struct hkey *k, int puts)
{
	size_t total = puts ? k->nput : k->ndel, per = puts ? 2 : 1;
	size_t chunk = total < b->o.max_fields ? total : b->o.max_fields;
	const char **argv = occo_calloc(2 + per * chunk, sizeof(*argv));
	size_t *argvlen = occo_calloc(2 + per * chunk, sizeof(*argvlen));
	struct field *f = k->fields;
	size_t done = 0;

	argv[0] = puts ? "HSET" : "HDEL";
	argvlen[0] = strlen(argv[0]);
	argv[1] = k->h.hk;
	argvlen[1] = k->h.hlen;
	while (done < total) {
		size_t n = 0, ncbs = 0, argc = 2;
		struct field *start = f, *first = f;
		struct fcmd *c;

		for (; f && n < chunk; f = f->next) {
			if (of_kind(f, puts)) {
				n++;
				ncbs += f->ncbs;
			}
		}
		c = fcmd_new(ncbs, puts ? "write" : "delete from", k->h.hk);
		for (; start != f; start = start->next) {
			if (!of_kind(start, puts))
				continue;
			argv[argc] = start->name;
			argvlen[argc++] = strlen(start->name);
			if (puts) {
				argv[argc] = start->value;
				argvlen[argc++] = strlen(start->value);
			}
			fcmd_take(c, start);
		}
		issue(b, (int)argc, argv, argvlen, c);
		for (start = first; puts && start != f; start = start->next) {
			if (of_kind(start, 1) && start->value != sent_value) {
				free(start->value); /* 100,000 records: not twice in memory */
				start->value = sent_value;
			}
		}
		done += n;
	}
	free(argv);
	free(argvlen);
}

static void flush_event(struct ib_batch *b, struct event *e)
{
	char maxlen[32], ts[32];
	const char *argv[] = { "XADD",	e->key,	 "MAXLEN", "~", maxlen, "*",
			       "event", e->name, "ts",	   ts,	"data", e->data };
	struct fcmd *c = fcmd_new(e->cb.cb ? 1 : 0, "append to", e->key);

	snprintf(maxlen, sizeof(maxlen), "%zu", b->o.events_maxlen);
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)e->ts);
	if (e->cb.cb)
		c->cbs[c->n++] = e->cb;
	issue(b, 12, argv, NULL, c);
	free(e->data); /* sent: hiredis has its own copy */
	e->data = NULL;
}

void ib_batch_flush(struct ib_batch *b)
{
	struct pending p;
	struct hkey *k;
	struct event *e;

	if (!b)
		return;
	uv_check_stop(&b->check);
	uv_idle_stop(&b->idle);
	if (!b->p.nwrites)
		return;
	p = b->p;
	pending_init(&b->p);
	b->stats.flushes++;
	for (k = p.khead; k; k = k->next) {
		if (k->nput)
			flush_key(b, k, 1);
		if (k->ndel)
			flush_key(b, k, 0);
	}
	for (e = p.ehead; e; e = e->next)
		flush_event(b, e);
	pending_release(&p);
}

static void on_check(uv_check_t *h)
{
	ib_batch_flush(h->data);
}

static void on_idle(uv_idle_t *h)
{
	/* nothing: an active idle handle makes the loop poll without blocking */
}

/* ---- queueing ---- */

static int can_queue(struct ib_batch *b, const char *infra_id, const char *field,
		     struct occo_err *err)
{
	if (b->closing)
		return occo_err_set(err, OCCO_ESTATE, "the write batch is closed");
	if (!infra_id || !*infra_id)
		return occo_err_set(err, OCCO_EINVAL, "no infrastructure id");
	if (field && !*field)
		return occo_err_set(err, OCCO_EINVAL, "empty hash field");
	return 0;
}

static void queued(struct ib_batch *b)
{
	b->p.nwrites++;
	b->stats.writes++;
	uv_check_start(&b->check, on_check);
	uv_idle_start(&b->idle, on_idle);
}

static struct hkey *key_get(struct pending *p, const char *key)
{
	size_t n = strlen(key);
	uint64_t h = hash_bytes(key, n);
	struct hkey *k = (struct hkey *)htab_find(&p->keys, key, n, h);

	if (k)
		return k;
	k = occo_calloc(1, sizeof(*k));
	k->h.hk = occo_strdup(key);
	k->h.hlen = n;
	k->h.hash = h;
	k->fields_tail = &k->fields;
	htab_put(&p->keys, &k->h);
	*p->ktail = k;
	p->ktail = &k->next;
	return k;
}

/* Queue a put (value taken; NULL: delete) of a field of "<ns>:{<infra_id>}:<part>". */
static void hash_write(struct ib_batch *b, const char *infra_id, const char *part, const char *name,
		       char *value, ib_done_fn cb, void *ud)
{
	char *key = ib_key_infra(b->ns, infra_id, part);
	struct hkey *k = key_get(&b->p, key);
	size_t klen = k->h.hlen, nlen = strlen(name), n = klen + 1 + nlen;
	char *hk = occo_malloc(n + 1);
	uint64_t h;
	struct field *f;

	free(key);
	memcpy(hk, k->h.hk, klen + 1);
	memcpy(hk + klen + 1, name, nlen + 1);
	h = hash_bytes(hk, n);
	f = (struct field *)htab_find(&b->p.fields, hk, n, h);
	if (f) {
		free(hk);
		if (f->value)
			k->nput--;
		else
			k->ndel--;
		free(f->value);
	} else {
		f = occo_calloc(1, sizeof(*f));
		f->h.hk = hk;
		f->h.hlen = n;
		f->h.hash = h;
		f->name = hk + klen + 1;
		f->cbs_tail = &f->cbs;
		htab_put(&b->p.fields, &f->h);
		*k->fields_tail = f;
		k->fields_tail = &f->next;
	}
	f->value = value;
	if (value)
		k->nput++;
	else
		k->ndel++;
	if (cb) {
		struct wcb *w = occo_calloc(1, sizeof(*w));

		w->cb = cb;
		w->ud = ud;
		*f->cbs_tail = w;
		f->cbs_tail = &w->next;
		f->ncbs++;
	}
	queued(b);
}

static int json_write(struct ib_batch *b, const char *infra_id, const char *part, const char *name,
		      const json_t *v, ib_done_fn cb, void *ud, struct occo_err *err)
{
	char *s;
	int rc;

	if ((rc = can_queue(b, infra_id, name, err)) < 0)
		return rc;
	if (!name)
		return occo_err_set(err, OCCO_EINVAL, "no node id");
	if (!v || !(s = ib__json_dump(v)))
		return occo_err_set(err, OCCO_EINVAL,
				    "the %s value of '%s' cannot be encoded as JSON", part, name);
	hash_write(b, infra_id, part, name, s, cb, ud);
	return 0;
}

static int del_write(struct ib_batch *b, const char *infra_id, const char *part, const char *name,
		     ib_done_fn cb, void *ud, struct occo_err *err)
{
	int rc;

	if ((rc = can_queue(b, infra_id, name, err)) < 0)
		return rc;
	if (!name)
		return occo_err_set(err, OCCO_EINVAL, "no hash field");
	hash_write(b, infra_id, part, name, NULL, cb, ud);
	return 0;
}

int ib_batch_node_put(struct ib_batch *b, const char *infra_id, const char *node_id,
		      const json_t *record, ib_done_fn cb, void *ud, struct occo_err *err)
{
	return json_write(b, infra_id, "nodes", node_id, record, cb, ud, err);
}

int ib_batch_record_put(struct ib_batch *b, const char *infra_id, const struct ib_record *rec,
			ib_done_fn cb, void *ud, struct occo_err *err)
{
	struct occo_buf text;
	int rc;

	if ((rc = can_queue(b, infra_id, rec ? rec->node_id : NULL, err)) < 0)
		return rc;
	if (!rec)
		return occo_err_set(err, OCCO_EINVAL, "no node id");
	occo_buf_init(&text, SIZE_MAX);
	if ((rc = ib_record_dump(rec, &text, err)) < 0) {
		occo_buf_release(&text);
		return rc;
	}
	{
		size_t len;
		char *v = occo_buf_detach(&text, &len);

		/* held until the flush: no more than it needs */
		hash_write(b, infra_id, "nodes", rec->node_id, occo_realloc(v, len + 1), cb, ud);
	}
	return 0;
}

int ib_batch_node_del(struct ib_batch *b, const char *infra_id, const char *node_id, ib_done_fn cb,
		      void *ud, struct occo_err *err)
{
	return del_write(b, infra_id, "nodes", node_id, cb, ud, err);
}

int ib_batch_health_put(struct ib_batch *b, const char *infra_id, const char *node_id,
			const json_t *health, ib_done_fn cb, void *ud, struct occo_err *err)
{
	return json_write(b, infra_id, "health", node_id, health, cb, ud, err);
}

int ib_batch_health_del(struct ib_batch *b, const char *infra_id, const char *node_id,
			ib_done_fn cb, void *ud, struct occo_err *err)
{
	return del_write(b, infra_id, "health", node_id, cb, ud, err);
}

int ib_batch_scaling_put(struct ib_batch *b, const char *infra_id, const char *field,
			 const char *value, ib_done_fn cb, void *ud, struct occo_err *err)
{
	int rc;

	if ((rc = can_queue(b, infra_id, field, err)) < 0)
		return rc;
	if (!field || !value)
		return occo_err_set(err, OCCO_EINVAL, "no scaling field or value");
	hash_write(b, infra_id, "scaling", field, occo_strdup(value), cb, ud);
	return 0;
}

int ib_batch_scaling_target(struct ib_batch *b, const char *infra_id, const char *name, int target,
			    ib_done_fn cb, void *ud, struct occo_err *err)
{
	char *field, value[24];
	int rc;

	if (!name || !*name)
		return occo_err_set(err, OCCO_EINVAL, "no node name");
	field = occo_asprintf("node-count-%s", name);
	snprintf(value, sizeof(value), "%d", target);
	rc = ib_batch_scaling_put(b, infra_id, field, value, cb, ud, err);
	free(field);
	return rc;
}

int ib_batch_scaling_del(struct ib_batch *b, const char *infra_id, const char *field, ib_done_fn cb,
			 void *ud, struct occo_err *err)
{
	return del_write(b, infra_id, "scaling", field, cb, ud, err);
}

int ib_batch_event(struct ib_batch *b, const char *infra_id, const char *name, const json_t *data,
		   ib_done_fn cb, void *ud, struct occo_err *err)
{
	struct event *e;
	char *s;
	int rc;

	if ((rc = can_queue(b, infra_id, NULL, err)) < 0)
		return rc;
	if (!ib_event_known(name))
		return occo_err_set(err, OCCO_EINVAL, "unknown event '%s'", name ? name : "");
	s = data ? ib__json_dump(data) : occo_strdup("{}");
	if (!s)
		return occo_err_set(err, OCCO_EINVAL, "the data of event '%s' cannot be encoded",
				    name);
	e = occo_calloc(1, sizeof(*e));
	e->key = ib_key_infra(b->ns, infra_id, "events");
	e->name = occo_strdup(name);
	e->data = s;
	e->ts = occo_clock_wall_ms();
	e->cb.cb = cb;
	e->cb.ud = ud;
	*b->p.etail = e;
	b->p.etail = &e->next;
	queued(b);
	return 0;
}

/* ---- life cycle ---- */

int ib_batch_open(struct occo_redis *r, const char *ns, const struct ib_batch_opts *opts,
		  struct ib_batch **out, struct occo_err *err)
{
	struct ib_batch *b;

	if (!r || !ns || !*ns)
		return occo_err_set(err, OCCO_EINVAL,
				    "a write batch needs a client and a namespace");
	b = occo_calloc(1, sizeof(*b));
	b->r = r;
	b->ns = occo_strdup(ns);
	if (opts)
		b->o = *opts;
	if (!b->o.events_maxlen)
		b->o.events_maxlen = DEF_EVENTS_MAXLEN;
	if (!b->o.max_fields)
		b->o.max_fields = DEF_MAX_FIELDS;
	pending_init(&b->p);
	uv_check_init(occo_redis_loop(r), &b->check);
	uv_idle_init(occo_redis_loop(r), &b->idle);
	b->check.data = b;
	b->idle.data = b;
	b->handles_open = 2;
	*out = b;
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	struct ib_batch *b = h->data;
	ib_batch_close_fn cb;
	void *ud;

	if (--b->handles_open > 0)
		return;
	cb = b->close_cb;
	ud = b->close_ud;
	free(b->ns);
	free(b);
	if (cb)
		cb(ud);
}

void ib_batch_close(struct ib_batch *b, ib_batch_close_fn close_cb, void *ud)
{
	if (!b || b->closing)
		return;
	/* callbacks run by this flush (a command that cannot be issued) are refused */
	b->closing = 1;
	ib_batch_flush(b);
	b->close_cb = close_cb;
	b->close_ud = ud;
	uv_check_stop(&b->check);
	uv_idle_stop(&b->idle);
	uv_close((uv_handle_t *)&b->check, on_closed);
	uv_close((uv_handle_t *)&b->idle, on_closed);
}

size_t ib_batch_pending(const struct ib_batch *b)
{
	return b->p.nwrites;
}

void ib_batch_stats(const struct ib_batch *b, struct ib_batch_stats *out)
{
	*out = b->stats;
}
