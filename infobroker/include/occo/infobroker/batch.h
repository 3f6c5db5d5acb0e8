/*
 * batch.h - the write batch: how the engine writes records, scaling fields, health and events.
 *
 * Callers queue writes; the batch coalesces them and flushes on the next turn of the loop
 * (a uv_check after the I/O callbacks of this turn, with a uv_idle so the loop does not block
 * waiting for I/O first), or when ib_batch_flush() is called. A flush issues, pipelined:
 *   - one HSET per hash key, with every field put since the last flush;
 *   - one HDEL per hash key, with every field deleted since the last flush;
 *   - one XADD per event (capped with MAXLEN ~ events_maxlen), in the order queued.
 * So creating 1,000 instance records costs one HSET, not 1,000. (A key with more than
 * max_fields fields is split into several commands of at most max_fields fields.)
 *
 * Per field, the last write queued wins: a put then a delete of the same field deletes it, a
 * delete then a put writes it; the value written is the last one put. Writes to different
 * fields are independent (no order between them is promised). Events are written after the
 * hash writes of the same flush.
 *
 * Each queued write may carry a callback; it runs exactly once, on the loop, never from inside
 * the call that queued it: when the reply of the command that carried its field arrives (err
 * NULL), or with the error of that command (a Redis error reply such as WRONGTYPE is
 * -OCCO_EREMOTE; a lost connection -OCCO_ECONN; ...). The callback of a write that a later one
 * replaced runs with the later one's command.
 *
 * A read issued directly on the client (infra.h) after ib_batch_flush() sees the flushed
 * writes (the client keeps the order of commands); a read issued before does not.
 */
#ifndef OCCO_INFOBROKER_BATCH_H
#define OCCO_INFOBROKER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "occo/infobroker/record.h"
#include "occo/infobroker/store.h"
#include "occo/util/err.h"
#include "occo/util/redis.h"

struct ib_batch;

struct ib_batch_opts {
	size_t events_maxlen; /* MAXLEN ~ of each events stream (10000) */
	size_t max_fields; /* fields per HSET/HDEL command at most (4096) */
};

/* Counters, for benchmarks and tests. */
struct ib_batch_stats {
	uint64_t writes; /* writes queued (events included) */
	uint64_t flushes; /* flushes that issued at least one command */
	uint64_t commands; /* commands issued (HSET, HDEL, XADD) */
};

/* Called when a closed batch has released everything. */
typedef void (*ib_batch_close_fn)(void *ud);

/*
 * Create a batch writing through client r (which must outlive it) under namespace ns. opts
 * may be NULL; zero fields take the defaults. Close it with ib_batch_close().
 */
int ib_batch_open(struct occo_redis *r, const char *ns, const struct ib_batch_opts *opts,
		  struct ib_batch **out, struct occo_err *err);

/*
 * Flush what is queued, then close: later writes fail with -OCCO_ESTATE. Commands already
 * issued still call their callbacks (they do not need the batch). Memory is released from
 * libuv close callbacks, so the loop must run; close_cb (may be NULL) is called then. NULL is
 * fine.
 */
void ib_batch_close(struct ib_batch *b, ib_batch_close_fn close_cb, void *ud);

/* Issue what is queued now. The writes' callbacks run later, as described above. */
void ib_batch_flush(struct ib_batch *b);

/* Writes queued and not flushed yet. */
size_t ib_batch_pending(const struct ib_batch *b);

void ib_batch_stats(const struct ib_batch *b, struct ib_batch_stats *out);

/*
 * The writes. Each fails without queueing (and without calling cb) on bad arguments
 * (-OCCO_EINVAL: an empty id, a value that cannot be encoded as JSON) or a closed batch
 * (-OCCO_ESTATE). cb may be NULL. JSON values are borrowed: serialised before the call
 * returns.
 */

/* Put an instance record (infra.h documents its fields) under its node_id. */
int ib_batch_node_put(struct ib_batch *b, const char *infra_id, const char *node_id,
		      const json_t *record, ib_done_fn cb, void *ud, struct occo_err *err);
/* Delete the record of a node_id. */
/* ib_batch_node_put() of an instance record held in memory (record.h), under its node_id. */
int ib_batch_record_put(struct ib_batch *b, const char *infra_id, const struct ib_record *rec,
			ib_done_fn cb, void *ud, struct occo_err *err);

int ib_batch_node_del(struct ib_batch *b, const char *infra_id, const char *node_id, ib_done_fn cb,
		      void *ud, struct occo_err *err);

/* Put a field of the scaling hash (scaling.h names them). */
int ib_batch_scaling_put(struct ib_batch *b, const char *infra_id, const char *field,
			 const char *value, ib_done_fn cb, void *ud, struct occo_err *err);
/* Store the target count of a node: node-count-<name> = target. */
int ib_batch_scaling_target(struct ib_batch *b, const char *infra_id, const char *name, int target,
			    ib_done_fn cb, void *ud, struct occo_err *err);
/* Delete a field of the scaling hash (a consumed request). */
int ib_batch_scaling_del(struct ib_batch *b, const char *infra_id, const char *field, ib_done_fn cb,
			 void *ud, struct occo_err *err);

/* Put the health of a node_id: {first_fail_ms, fails}. */
int ib_batch_health_put(struct ib_batch *b, const char *infra_id, const char *node_id,
			const json_t *health, ib_done_fn cb, void *ud, struct occo_err *err);
/* Delete the health of a node_id (it is healthy again, or gone). */
int ib_batch_health_del(struct ib_batch *b, const char *infra_id, const char *node_id,
			ib_done_fn cb, void *ud, struct occo_err *err);

/*
 * Append an event to the infrastructure's log: fields event=<name>, ts=<epoch ms, now>,
 * data=<JSON of data; {} when NULL>. name must be one of events.h's (-OCCO_EINVAL otherwise).
 */
int ib_batch_event(struct ib_batch *b, const char *infra_id, const char *name, const json_t *data,
		   ib_done_fn cb, void *ud, struct occo_err *err);

#endif
