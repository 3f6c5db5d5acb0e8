/*
 * jobs.h - what the HTTP plugins (ec2, nova, docker) share about their requests: a job per
 * request with counted references, FIFO queues of jobs, batches of them that go out as one
 * call, and completing the request (private to the resource handler).
 *
 * A plugin embeds struct rh__job as the FIRST member of its own job, so that a struct rh__job *
 * converts to the plugin's job and back. The job outlives its request when the request is
 * completed early (cancelled, a deadline): every queue and every call in flight holds a
 * reference, and what answers later finds the job no longer live (rh__job_live) and lets it
 * go. The request holds one reference, released when it is completed; ops->free runs when the
 * last one goes.
 *
 * A request is completed at most once: rh__job_fail, _created, _dropped, _listed and
 * rh__job_abandon do nothing once the job's request was taken, so a late answer after a
 * cancel is harmless.
 *
 * Batches: the token lookups (and other calls that can serve many jobs) of one endpoint wait in
 * a struct rh__batch; when none of its calls is out, the live jobs at its head go out as one
 * call (rh__batch_start, then rh__jobq_head/rh__jobq_pop up to the call's limit), and the next
 * batch gathers until the plugin says the call is over (rh__batch_done). A struct rh__flush
 * sends them on the next turn of the loop.
 */
#ifndef OCCO_RH_JOBS_H
#define OCCO_RH_JOBS_H

#include <stddef.h>

#include <uv.h>

#include "occo/resourcehandler/rh.h"
#include "occo/util/err.h"

enum rh__job_kind { RH__JOB_CREATE, RH__JOB_DROP, RH__JOB_LIST };

struct rh__job;

/* What a plugin's jobs do beyond the shared part. */
struct rh__job_ops {
	/* Free the plugin's job: the last reference is gone. */
	void (*free)(struct rh__job *job);
	/* Optional: the job's request is being taken (completed or abandoned); once per job. */
	void (*take)(struct rh__job *job);
	/* Optional: whether the job still has someone to answer (default: its request). */
	int (*live)(const struct rh__job *job);
};

struct rh__job {
	struct rh_req *req; /* NULL once completed */
	const struct rh__job_ops *ops;
	enum rh__job_kind kind;
	int refs; /* the request's, a queue's, each call's */
	struct rh__job *qnext; /* in a queue */
};

/* The rh_ops.req_size of a plugin whose requests are jobs. */
#define RH__JOB_REQ_SIZE sizeof(struct rh__job *)

/*
 * Start a job with one reference, the request's. req may be NULL (a job that serves another
 * one); otherwise rh_req_data(req) keeps the job (RH__JOB_REQ_SIZE bytes), for
 * rh__job_cancel. job is the plugin's, zeroed or not: every field of struct rh__job is set.
 */
void rh__job_init(struct rh__job *job, const struct rh__job_ops *ops, struct rh_req *req,
		  enum rh__job_kind kind);
void rh__job_ref(struct rh__job *job);
/* Drop a reference; the last one frees the job through ops->free. */
void rh__job_unref(struct rh__job *job);
/* 1 while the job has someone to answer: ops->live, else whether its request is there. */
int rh__job_live(const struct rh__job *job);

/*
 * Complete the request, then drop its reference; nothing when it was completed already (the
 * first completion of a request calls ops->take before it answers).
 * rh__job_fail answers by the job's kind (err not NULL; RH_F_TRANSIENT in flags for the
 * core's retry); the others are the successes of their kind.
 */
void rh__job_fail(struct rh__job *job, const struct occo_err *err, unsigned flags);
void rh__job_created(struct rh__job *job, const char *instance_id);
void rh__job_dropped(struct rh__job *job);
/* v (n instances) is borrowed for the call. */
void rh__job_listed(struct rh__job *job, const struct rh_instance *v, size_t n);
/*
 * The op that made the job failed to start (it returns an error to the core, which never
 * hears of the request again): take the request without completing it, drop its reference.
 */
void rh__job_abandon(struct rh__job *job);
/* An rh_ops.cancel for requests that are jobs: fails the job with -OCCO_ECANCELED. */
void rh__job_cancel(struct rh_req *req);

/* A FIFO queue of jobs; zeroed is empty. Each queued job holds a reference for the queue. */
struct rh__jobq {
	struct rh__job *head, *tail;
};

/* Append the job, with a new reference for the queue. A job is in one queue at a time. */
void rh__jobq_push(struct rh__jobq *q, struct rh__job *job);
/* Take the first job, live or not, out of the queue with the queue's reference; or NULL. */
struct rh__job *rh__jobq_pop(struct rh__jobq *q);
/*
 * The first live job, left in the queue; the jobs before it that are not live are taken out
 * and released. NULL when no live job waits.
 */
struct rh__job *rh__jobq_head(struct rh__jobq *q);
/*
 * Empty the queue: each job still live is failed with err (unless err is NULL), in order, and
 * every job loses the queue's reference. A job failed here may queue jobs again (in q, too):
 * those stay queued.
 */
void rh__jobq_drain(struct rh__jobq *q, const struct occo_err *err, unsigned flags);

/* Jobs that go out together, one call at a time; zeroed is empty and idle. */
struct rh__batch {
	struct rh__jobq q;
	int busy; /* a call of the batch is out */
};

/*
 * Begin the next call of the batch: 0 when one is out already or no live job waits; else 1,
 * and rh__jobq_head(&b->q) is a live job. The batch is then busy until rh__batch_done.
 */
int rh__batch_start(struct rh__batch *b);
/* The batch's call is over: the next may start. */
void rh__batch_done(struct rh__batch *b);

/*
 * What sends the batches of a plugin: fn(ud) runs on the next turn of the loop after a kick,
 * once however often it was kicked meanwhile, so that the jobs queued during one turn go out
 * together.
 */
struct rh__flush {
	uv_timer_t timer; /* first: its callback finds the flush; timer.data is ud */
	void (*fn)(void *ud);
	int armed, closed;
};

void rh__flush_init(struct rh__flush *f, uv_loop_t *loop, void (*fn)(void *ud), void *ud);
/* Run fn on the next turn of the loop (nothing once closed). */
void rh__flush_kick(struct rh__flush *f);
/* fn never runs again; close_cb gets the timer's handle (its data is ud) once it is closed. */
void rh__flush_close(struct rh__flush *f, uv_close_cb close_cb);

#endif
