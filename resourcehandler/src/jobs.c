/*
 * jobs.c - the jobs of the HTTP plugins: references, completion, queues and batches (jobs.h).
 */
#include "jobs.h"

void rh__job_init(struct rh__job *job, const struct rh__job_ops *ops, struct rh_req *req,
		  enum rh__job_kind kind)
{
	job->req = req;
	job->ops = ops;
	job->kind = kind;
	job->refs = 1; /* the request's */
	job->qnext = NULL;
	if (req)
		*(struct rh__job **)rh_req_data(req) = job;
}

void rh__job_ref(struct rh__job *job)
{
	job->refs++;
}

void rh__job_unref(struct rh__job *job)
{
	if (--job->refs > 0)
		return;
	job->ops->free(job);
}

int rh__job_live(const struct rh__job *job)
{
	return job->ops->live ? job->ops->live(job) : job->req != NULL;
}

/* Take the job's request to complete it (NULL when it was taken already). */
static struct rh_req *job_take(struct rh__job *job)
{
	struct rh_req *req = job->req;

	if (!req)
		return NULL;
	if (job->ops->take)
		job->ops->take(job);
	job->req = NULL;
	return req;
}

void rh__job_fail(struct rh__job *job, const struct occo_err *err, unsigned flags)
{
	struct rh_req *req = job_take(job);

	if (!req)
		return;
	switch (job->kind) {
	case RH__JOB_CREATE:
		rh_req_created(req, NULL, err, flags);
		break;
	case RH__JOB_DROP:
		rh_req_dropped(req, err, flags);
		break;
	case RH__JOB_LIST:
		rh_req_listed(req, NULL, 0, err, flags);
		break;
	}
	rh__job_unref(job);
}

void rh__job_created(struct rh__job *job, const char *instance_id)
{
	struct rh_req *req = job_take(job);

	if (req) {
		rh_req_created(req, instance_id, NULL, 0);
		rh__job_unref(job);
	}
}

void rh__job_dropped(struct rh__job *job)
{
	struct rh_req *req = job_take(job);

	if (req) {
		rh_req_dropped(req, NULL, 0);
		rh__job_unref(job);
	}
}

void rh__job_listed(struct rh__job *job, const struct rh_instance *v, size_t n)
{
	struct rh_req *req = job_take(job);

	if (req) {
		rh_req_listed(req, v, n, NULL, 0);
		rh__job_unref(job);
	}
}

void rh__job_abandon(struct rh__job *job)
{
	if (job_take(job))
		rh__job_unref(job);
}

void rh__job_cancel(struct rh_req *req)
{
	struct occo_err e;

	occo_err_set(&e, OCCO_ECANCELED, "cancelled");
	rh__job_fail(*(struct rh__job **)rh_req_data(req), &e, 0);
}

/* ---- queues ---- */

void rh__jobq_push(struct rh__jobq *q, struct rh__job *job)
{
	job->refs++;
	job->qnext = NULL;
	if (q->tail)
		q->tail->qnext = job;
	else
		q->head = job;
	q->tail = job;
}

struct rh__job *rh__jobq_pop(struct rh__jobq *q)
{
	struct rh__job *job = q->head;

	if (job) {
		q->head = job->qnext;
		if (!q->head)
			q->tail = NULL;
		job->qnext = NULL;
	}
	return job;
}

struct rh__job *rh__jobq_head(struct rh__jobq *q)
{
	while (q->head && !rh__job_live(q->head))
		rh__job_unref(rh__jobq_pop(q));
	return q->head;
}

void rh__jobq_drain(struct rh__jobq *q, const struct occo_err *err, unsigned flags)
{
	struct rh__jobq mine = *q;
	struct rh__job *job;

	/* what the failures queue again goes to q, not into this loop */
	q->head = q->tail = NULL;
	while ((job = rh__jobq_pop(&mine))) {
		if (err)
			rh__job_fail(job, err, flags);
		rh__job_unref(job);
	}
}

/* ---- batches ---- */

int rh__batch_start(struct rh__batch *b)
{
	if (b->busy || !rh__jobq_head(&b->q))
		return 0;
	b->busy = 1;
	return 1;
}

void rh__batch_done(struct rh__batch *b)
{
	b->busy = 0;
}

/* ---- sending batches ---- */

static void on_flush(uv_timer_t *t)
{
	struct rh__flush *f = (struct rh__flush *)t;

	f->armed = 0;
	f->fn(t->data);
}

void rh__flush_init(struct rh__flush *f, uv_loop_t *loop, void (*fn)(void *ud), void *ud)
{
	uv_timer_init(loop, &f->timer);
	f->timer.data = ud;
	f->fn = fn;
	f->armed = f->closed = 0;
}

void rh__flush_kick(struct rh__flush *f)
{
	if (!f->closed && !f->armed) {
		f->armed = 1;
		uv_timer_start(&f->timer, on_flush, 0, 0);
	}
}

void rh__flush_close(struct rh__flush *f, uv_close_cb close_cb)
{
	f->closed = 1;
	uv_close((uv_handle_t *)&f->timer, close_cb);
}
