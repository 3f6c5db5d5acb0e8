/*
 * test_jobs.c - the jobs the HTTP plugins share (resourcehandler/src/jobs.h): queues keep
 * their order, a drain fails every live job once, references free a job exactly once, a
 * request is completed at most once, batches go out one call at a time, and the flush runs
 * once a turn.
 *
 * The requests are this file's: it defines struct rh_req and the four functions of rh.h that
 * jobs.c calls (rh_req_data and the completions), so the linker takes them from here and no
 * core is needed; each request records how it was completed.
 */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "testutil.h"
#include "../../../resourcehandler/src/jobs.h"
#include "occo/util/alloc.h"

/* ---- requests that record their completion ---- */

enum done { NOT_DONE, CREATED, DROPPED, LISTED };

struct rh_req {
	void *data[1]; /* rh_req_data: the job */
	int completions;
	enum done how;
	int code; /* of the error, 0 for success */
	unsigned flags;
	char id[64];
	size_t n;
	void (*on_done)(struct rh_req *req); /* what the request's owner does then */
};

void *rh_req_data(struct rh_req *req)
{
	return req->data;
}

static void record(struct rh_req *req, enum done how, const struct occo_err *err, unsigned flags)
{
	req->completions++;
	req->how = how;
	req->code = err ? err->code : 0;
	req->flags = flags;
	if (req->on_done)
		req->on_done(req);
}

void rh_req_created(struct rh_req *req, const char *instance_id, const struct occo_err *err,
		    unsigned err_flags)
{
	snprintf(req->id, sizeof(req->id), "%s", instance_id ? instance_id : "(null)");
	record(req, CREATED, err, err_flags);
}

void rh_req_dropped(struct rh_req *req, const struct occo_err *err, unsigned err_flags)
{
	record(req, DROPPED, err, err_flags);
}

void rh_req_listed(struct rh_req *req, const struct rh_instance *v, size_t n,
		   const struct occo_err *err, unsigned err_flags)
{
	(void)v;
	req->n = n;
	record(req, LISTED, err, err_flags);
}

/* ---- a plugin's job ---- */

struct tjob {
	struct rh__job base;
	int *freed; /* counts the frees of the test's jobs */
	int takes;
	int alive; /* for live_ops: live without a request */
};

static void tjob_free(struct rh__job *base)
{
	struct tjob *j = (struct tjob *)base;

	(*j->freed)++;
	free(j);
}

static void tjob_take(struct rh__job *base)
{
	((struct tjob *)base)->takes++;
}

static int tjob_live(const struct rh__job *base)
{
	return base->req || ((const struct tjob *)base)->alive;
}

static const struct rh__job_ops ops = { .free = tjob_free, .take = tjob_take };
static const struct rh__job_ops live_ops = { .free = tjob_free, .live = tjob_live };

static struct tjob *tjob_new(struct rh_req *req, enum rh__job_kind kind, int *freed)
{
	struct tjob *j = occo_calloc(1, sizeof(*j));

	if (req)
		memset(req, 0, sizeof(*req));
	rh__job_init(&j->base, &ops, req, kind);
	j->freed = freed;
	return j;
}

/* ---- tests ---- */

static void test_rh__jobq_pop__fifo_with_a_reference_each(void **state)
{
	struct rh_req req[3];
	struct tjob *j[3];
	struct rh__jobq q = { 0 };
	struct rh__job *got;
	int freed = 0, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		j[i] = tjob_new(&req[i], RH__JOB_CREATE, &freed);
		rh__jobq_push(&q, &j[i]->base);
		assert_int_equal(j[i]->base.refs, 2);
	}
	for (i = 0; i < 3; i++) {
		got = rh__jobq_pop(&q);
		assert_ptr_equal(got, &j[i]->base);
		rh__job_unref(got); /* the queue's */
	}
	assert_null(rh__jobq_pop(&q));
	/* emptied, it queues again from the start */
	rh__jobq_push(&q, &j[1]->base);
	rh__jobq_push(&q, &j[0]->base);
	assert_ptr_equal(rh__jobq_pop(&q), &j[1]->base);
	assert_ptr_equal(rh__jobq_pop(&q), &j[0]->base);
	assert_null(rh__jobq_pop(&q));
	rh__job_unref(&j[1]->base);
	rh__job_unref(&j[0]->base);
	assert_int_equal(freed, 0); /* the requests still hold theirs */
	for (i = 0; i < 3; i++)
		rh__job_abandon(&j[i]->base);
	assert_int_equal(freed, 3);
}

static void test_rh__jobq_drain__fails_every_live_job_once(void **state)
{
	static const enum rh__job_kind kinds[] = { RH__JOB_CREATE, RH__JOB_DROP, RH__JOB_LIST,
						   RH__JOB_CREATE };
	static const enum done how[] = { CREATED, DROPPED, LISTED, CREATED };
	struct rh_req req[4];
	struct tjob *j[4];
	struct rh__jobq q = { 0 };
	struct occo_err e;
	int freed = 0, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		j[i] = tjob_new(&req[i], kinds[i], &freed);
		rh__jobq_push(&q, &j[i]->base);
	}
	rh__job_created(&j[3]->base, "i-3"); /* completed while queued */
	occo_err_set(&e, OCCO_ECONN, "the endpoint does not answer");
	rh__jobq_drain(&q, &e, RH_F_TRANSIENT);
	assert_null(q.head);
	assert_null(q.tail);
	for (i = 0; i < 3; i++) {
		assert_int_equal(req[i].completions, 1);
		assert_int_equal(req[i].how, how[i]);
		assert_int_equal(req[i].code, OCCO_ECONN);
		assert_int_equal(req[i].flags, RH_F_TRANSIENT);
	}
	assert_string_equal(req[0].id, "(null)");
	assert_int_equal(req[3].completions, 1);
	assert_int_equal(req[3].code, 0);
	assert_string_equal(req[3].id, "i-3");
	assert_int_equal(freed, 4); /* no reference left anywhere */
}

static void test_rh__jobq_drain__without_error_only_releases(void **state)
{
	struct rh_req req;
	struct tjob *j;
	struct rh__jobq q = { 0 };
	int freed = 0;

	(void)state;
	j = tjob_new(&req, RH__JOB_DROP, &freed);
	rh__jobq_push(&q, &j->base);
	rh__jobq_push(&q, &tjob_new(NULL, RH__JOB_DROP, &freed)->base);
	rh__job_unref(q.tail); /* the second one's own reference: the queue holds the last */
	rh__jobq_drain(&q, NULL, 0);
	assert_null(q.head);
	assert_int_equal(req.completions, 0);
	assert_int_equal(freed, 1);
	assert_int_equal(j->base.refs, 1);
	rh__job_dropped(&j->base);
	assert_int_equal(req.how, DROPPED);
	assert_int_equal(freed, 2);
}

/* The request's owner queues the job it gets back (as a retry would) while q drains. */
static struct rh__jobq *requeue_q;
static struct rh__job *requeue_job;

static void requeue(struct rh_req *req)
{
	(void)req;
	rh__jobq_push(requeue_q, requeue_job);
}

static void test_rh__jobq_drain__what_failures_queue_stays(void **state)
{
	struct rh_req req, other;
	struct tjob *j, *k;
	struct rh__jobq q = { 0 };
	struct occo_err e;
	int freed = 0;

	(void)state;
	j = tjob_new(&req, RH__JOB_CREATE, &freed);
	k = tjob_new(&other, RH__JOB_CREATE, &freed);
	req.on_done = requeue;
	requeue_q = &q;
	requeue_job = &k->base;
	rh__jobq_push(&q, &j->base);
	occo_err_set(&e, OCCO_ECANCELED, "cancelled");
	rh__jobq_drain(&q, &e, 0);
	assert_int_equal(req.completions, 1);
	assert_int_equal(other.completions, 0);
	assert_ptr_equal(q.head, &k->base);
	assert_ptr_equal(rh__jobq_pop(&q), &k->base);
	rh__job_unref(&k->base);
	rh__job_fail(&k->base, &e, 0);
	assert_int_equal(other.completions, 1);
	assert_int_equal(freed, 2);
}

static void test_rh__job_unref__frees_once_at_the_last_reference(void **state)
{
	struct rh_req req;
	struct tjob *j;
	int freed = 0;

	(void)state;
	j = tjob_new(&req, RH__JOB_LIST, &freed);
	assert_int_equal(j->base.refs, 1);
	rh__job_ref(&j->base); /* a call's */
	rh__job_ref(&j->base); /* another's */
	rh__job_listed(&j->base, NULL, 7);
	assert_int_equal(req.how, LISTED);
	assert_int_equal(req.n, 7);
	assert_int_equal(freed, 0);
	rh__job_unref(&j->base);
	assert_int_equal(freed, 0);
	rh__job_unref(&j->base);
	assert_int_equal(freed, 1);
}

static void test_rh__job_fail__completes_at_most_once(void **state)
{
	struct rh_req req;
	struct tjob *j;
	struct occo_err e;
	int freed = 0;

	(void)state;
	j = tjob_new(&req, RH__JOB_CREATE, &freed);
	rh__job_ref(&j->base); /* an HTTP call still out */
	assert_true(rh__job_live(&j->base));
	rh__job_cancel(&req);
	assert_int_equal(req.completions, 1);
	assert_int_equal(req.how, CREATED);
	assert_int_equal(req.code, OCCO_ECANCELED);
	assert_string_equal(req.id, "(null)");
	assert_false(rh__job_live(&j->base));
	assert_int_equal(j->takes, 1);
	/* the call's late answer: nothing happens */
	rh__job_created(&j->base, "i-1");
	occo_err_set(&e, OCCO_EREMOTE, "late");
	rh__job_fail(&j->base, &e, 0);
	rh__job_abandon(&j->base);
	assert_int_equal(req.completions, 1);
	assert_int_equal(req.code, OCCO_ECANCELED);
	assert_int_equal(j->takes, 1);
	assert_int_equal(freed, 0);
	rh__job_unref(&j->base); /* the call ends */
	assert_int_equal(freed, 1);
}

static void test_rh__job_created__success_of_each_kind(void **state)
{
	struct rh_req req[2];
	struct tjob *c, *d;
	int freed = 0;

	(void)state;
	c = tjob_new(&req[0], RH__JOB_CREATE, &freed);
	d = tjob_new(&req[1], RH__JOB_DROP, &freed);
	rh__job_created(&c->base, "i-42");
	rh__job_dropped(&d->base);
	assert_int_equal(req[0].how, CREATED);
	assert_string_equal(req[0].id, "i-42");
	assert_int_equal(req[0].code, 0);
	assert_int_equal(req[1].how, DROPPED);
	assert_int_equal(req[1].code, 0);
	assert_int_equal(freed, 2);
}

static void test_rh__job_abandon__no_completion(void **state)
{
	struct rh_req req;
	struct tjob *j;
	int freed = 0;

	(void)state;
	j = tjob_new(&req, RH__JOB_CREATE, &freed);
	rh__job_abandon(&j->base);
	assert_int_equal(req.completions, 0);
	assert_int_equal(freed, 1);
}

static void test_rh__jobq_head__releases_dead_jobs_before_a_live_one(void **state)
{
	struct rh_req req[3];
	struct tjob *j[3], *helper;
	struct rh__jobq q = { 0 };
	int freed = 0, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		j[i] = tjob_new(&req[i], RH__JOB_DROP, &freed);
		rh__jobq_push(&q, &j[i]->base);
	}
	rh__job_dropped(&j[0]->base);
	rh__job_dropped(&j[1]->base);
	assert_int_equal(freed, 0); /* the queue holds them */
	assert_ptr_equal(rh__jobq_head(&q), &j[2]->base);
	assert_int_equal(freed, 2);
	assert_ptr_equal(rh__jobq_head(&q), &j[2]->base); /* left in the queue */
	/* a job without a request that its live hook keeps live (a helper of another job) */
	helper = occo_calloc(1, sizeof(*helper));
	rh__job_init(&helper->base, &live_ops, NULL, RH__JOB_CREATE);
	helper->freed = &freed;
	helper->alive = 1;
	rh__jobq_push(&q, &helper->base);
	rh__job_dropped(&j[2]->base);
	assert_ptr_equal(rh__jobq_head(&q), &helper->base);
	assert_int_equal(freed, 3);
	helper->alive = 0;
	assert_null(rh__jobq_head(&q));
	assert_null(q.tail);
	assert_int_equal(freed, 3); /* its own reference is left */
	rh__job_unref(&helper->base);
	assert_int_equal(freed, 4);
}

static void test_rh__batch_start__one_call_at_a_time(void **state)
{
	struct rh_req req[3];
	struct tjob *j[3];
	struct rh__batch b = { 0 };
	int freed = 0, i;

	(void)state;
	assert_false(rh__batch_start(&b)); /* nothing waits */
	for (i = 0; i < 3; i++) {
		j[i] = tjob_new(&req[i], RH__JOB_CREATE, &freed);
		rh__jobq_push(&b.q, &j[i]->base);
	}
	rh__job_abandon(&j[0]->base);
	assert_true(rh__batch_start(&b));
	assert_int_equal(freed, 1); /* the dead head went */
	assert_ptr_equal(rh__jobq_head(&b.q), &j[1]->base);
	rh__job_unref(rh__jobq_pop(&b.q)); /* the call takes one */
	assert_false(rh__batch_start(&b)); /* while it is out, the rest waits */
	rh__batch_done(&b);
	rh__job_abandon(&j[2]->base);
	assert_false(rh__batch_start(&b)); /* only a dead job waits */
	assert_null(b.q.head);
	assert_false(b.busy);
	rh__job_abandon(&j[1]->base);
	assert_int_equal(freed, 3);
}

struct flush_count {
	struct rh__flush f;
	int runs, closed, kick_again;
};

static void count_run(void *ud)
{
	struct flush_count *fc = ud;

	fc->runs++;
	if (fc->kick_again) {
		fc->kick_again = 0;
		rh__flush_kick(&fc->f);
	}
}

static void count_closed(uv_handle_t *h)
{
	((struct flush_count *)h->data)->closed++;
}

static void test_rh__flush_kick__once_a_turn(void **state)
{
	struct flush_count fc = { 0 };
	uv_loop_t loop;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	rh__flush_init(&fc.f, &loop, count_run, &fc);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(fc.runs, 0);
	rh__flush_kick(&fc.f);
	rh__flush_kick(&fc.f);
	assert_int_equal(fc.runs, 0); /* never from inside the kick */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(fc.runs, 1);
	fc.kick_again = 1; /* a kick while it runs: once more, later */
	rh__flush_kick(&fc.f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(fc.runs, 3);
	rh__flush_kick(&fc.f);
	rh__flush_close(&fc.f, count_closed);
	rh__flush_kick(&fc.f);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(fc.runs, 3);
	assert_int_equal(fc.closed, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rh__jobq_pop__fifo_with_a_reference_each),
		cmocka_unit_test(test_rh__jobq_drain__fails_every_live_job_once),
		cmocka_unit_test(test_rh__jobq_drain__without_error_only_releases),
		cmocka_unit_test(test_rh__jobq_drain__what_failures_queue_stays),
		cmocka_unit_test(test_rh__job_unref__frees_once_at_the_last_reference),
		cmocka_unit_test(test_rh__job_fail__completes_at_most_once),
		cmocka_unit_test(test_rh__job_created__success_of_each_kind),
		cmocka_unit_test(test_rh__job_abandon__no_completion),
		cmocka_unit_test(test_rh__jobq_head__releases_dead_jobs_before_a_live_one),
		cmocka_unit_test(test_rh__batch_start__one_call_at_a_time),
		cmocka_unit_test(test_rh__flush_kick__once_a_turn),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
