/*
 * test_lease.c - the maintainer's lease against a real redis-server: one holder at a time,
 * renew and release only by the holder, expiry handing the infrastructure to another
 * maintainer. Waiting for the expiry is a uv_timer on the loop, not a sleep.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "testutil.h"
#include "occo/infobroker/lease.h"
#include "occo/util/alloc.h"
#include "occo/util/redis.h"

#define NS "t"
#define ID "inf1"

struct fx {
	uv_loop_t loop;
	struct occo_test_redis srv;
	struct occo_redis *r;
};

struct got {
	int calls;
	int ok;
	char holder[128];
	struct occo_err err;
};

static void on_lease(int ok, const char *holder, const struct occo_err *err, void *ud)
{
	struct got *g = ud;

	g->calls++;
	g->ok = ok;
	snprintf(g->holder, sizeof(g->holder), "%s", holder ? holder : "(none)");
	if (err)
		occo_err_copy(&g->err, err);
}

static void run_until(uv_loop_t *loop, const int *flag, int want)
{
	while (*flag < want)
		if (uv_run(loop, UV_RUN_ONCE) == 0 && *flag < want)
			fail_msg("the loop ran dry before the event");
}

static int setup(void **state)
{
	struct fx *f = occo_calloc(1, sizeof(*f));
	struct occo_redis_opts o;
	struct occo_err err;

	assert_int_equal(uv_loop_init(&f->loop), 0);
	if (occo_test_redis_start(&f->srv) < 0)
		fail_msg("cannot start redis-server");
	occo_redis_opts_init(&o);
	o.addr.path = f->srv.sock;
	assert_int_equal(occo_redis_open(&f->loop, &o, &f->r, &err), 0);
	*state = f;
	return 0;
}

static void closed_cb(void *ud)
{
	*(int *)ud = 1;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int closed = 0;

	occo_redis_close(f->r, closed_cb, &closed);
	run_until(&f->loop, &closed, 1);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	occo_test_redis_stop(&f->srv);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

enum op { ACQUIRE, RENEW, RELEASE, HOLDER };

/* Run one lease operation to its callback; returns ok, fills g. */
static int lease(struct fx *f, enum op op, const char *holder, unsigned ttl_ms, struct got *g)
{
	struct occo_err err;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	switch (op) {
	case ACQUIRE:
		rc = ib_lease_acquire(f->r, NS, ID, holder, ttl_ms, on_lease, g, &err);
		break;
	case RENEW:
		rc = ib_lease_renew(f->r, NS, ID, holder, ttl_ms, on_lease, g, &err);
		break;
	case RELEASE:
		rc = ib_lease_release(f->r, NS, ID, holder, on_lease, g, &err);
		break;
	case HOLDER:
		rc = ib_lease_holder(f->r, NS, ID, on_lease, g, &err);
		break;
	}
	if (rc < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(g->calls, 0); /* never from inside the call */
	run_until(&f->loop, &g->calls, 1);
	assert_int_equal(g->calls, 1);
	if (g->err.code)
		fail_msg("%s", g->err.msg);
	return g->ok;
}

static void test_ib_lease_acquire__one_holder_at_a_time(void **state)
{
	struct fx *f = *state;
	struct got g;

	assert_int_equal(lease(f, HOLDER, NULL, 0, &g), 0);
	assert_string_equal(g.holder, "(none)");
	assert_int_equal(lease(f, ACQUIRE, "a", 60000, &g), 1);
	assert_string_equal(g.holder, "a");
	assert_int_equal(lease(f, ACQUIRE, "b", 60000, &g), 0);
	assert_string_equal(g.holder, "a");
	/* the holder acquiring again keeps it */
	assert_int_equal(lease(f, ACQUIRE, "a", 60000, &g), 1);
	assert_int_equal(lease(f, HOLDER, NULL, 0, &g), 1);
	assert_string_equal(g.holder, "a");
}

static void test_ib_lease_renew__only_by_the_holder(void **state)
{
	struct fx *f = *state;
	struct got g;

	assert_int_equal(lease(f, RENEW, "a", 60000, &g), 0); /* nobody holds it */
	assert_string_equal(g.holder, "(none)");
	assert_int_equal(lease(f, ACQUIRE, "a", 60000, &g), 1);
	assert_int_equal(lease(f, RENEW, "b", 60000, &g), 0);
	assert_string_equal(g.holder, "a");
	assert_int_equal(lease(f, RENEW, "a", 60000, &g), 1);
	assert_string_equal(g.holder, "a");
}

static void test_ib_lease_release__only_by_the_holder(void **state)
{
	struct fx *f = *state;
	struct got g;

	assert_int_equal(lease(f, ACQUIRE, "a", 60000, &g), 1);
	assert_int_equal(lease(f, RELEASE, "b", 0, &g), 0);
	assert_string_equal(g.holder, "a");
	assert_int_equal(lease(f, HOLDER, NULL, 0, &g), 1);
	assert_int_equal(lease(f, RELEASE, "a", 0, &g), 1);
	assert_string_equal(g.holder, "(none)");
	assert_int_equal(lease(f, ACQUIRE, "b", 60000, &g), 1);
}

static void on_timer(uv_timer_t *t)
{
	(*(int *)t->data)++;
}

static void timer_closed(uv_handle_t *h)
{
}

/* Run the loop for ms milliseconds (a timer on the loop, no sleep). */
static void wait_ms(struct fx *f, unsigned ms)
{
	uv_timer_t t;
	int fired = 0;

	uv_timer_init(&f->loop, &t);
	t.data = &fired;
	uv_timer_start(&t, on_timer, ms, 0);
	run_until(&f->loop, &fired, 1);
	uv_close((uv_handle_t *)&t, timer_closed);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_ib_lease__expiry_hands_over(void **state)
{
	struct fx *f = *state;
	struct got g;

	assert_int_equal(lease(f, ACQUIRE, "a", 200, &g), 1);
	assert_int_equal(lease(f, ACQUIRE, "b", 200, &g), 0);
	wait_ms(f, 300);
	/* "a" did not renew in time: "b" takes over, "a" cannot renew any more */
	assert_int_equal(lease(f, ACQUIRE, "b", 60000, &g), 1);
	assert_int_equal(lease(f, RENEW, "a", 200, &g), 0);
	assert_string_equal(g.holder, "b");
}

static void test_ib_lease_renew__keeps_it_past_the_first_ttl(void **state)
{
	struct fx *f = *state;
	struct got g;
	int i;

	assert_int_equal(lease(f, ACQUIRE, "a", 200, &g), 1);
	for (i = 0; i < 3; i++) {
		wait_ms(f, 100);
		assert_int_equal(lease(f, RENEW, "a", 200, &g), 1);
	}
	assert_int_equal(lease(f, ACQUIRE, "b", 200, &g), 0);
}

static void test_ib_lease__bad_arguments(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };
	struct occo_err err;

	assert_int_equal(ib_lease_acquire(f->r, NS, ID, "", 100, on_lease, &g, &err), -OCCO_EINVAL);
	assert_int_equal(ib_lease_acquire(f->r, NS, ID, "a", 0, on_lease, &g, &err), -OCCO_EINVAL);
	assert_int_equal(ib_lease_renew(f->r, NS, "", "a", 100, on_lease, &g, &err), -OCCO_EINVAL);
	assert_int_equal(g.calls, 0);
}

static void test_ib_lease_holder_new__host_pid_random(void **state)
{
	char *a = NULL, *b = NULL, host[256], *want;

	assert_int_equal(ib_lease_holder_new(&a, NULL), 0);
	assert_int_equal(ib_lease_holder_new(&b, NULL), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	want = occo_asprintf("%s:%ld:", host, (long)getpid());
	assert_int_equal(strncmp(a, want, strlen(want)), 0);
	assert_int_equal(strlen(a), strlen(want) + 8);
	free(want);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ib_lease_acquire__one_holder_at_a_time, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_lease_renew__only_by_the_holder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_lease_release__only_by_the_holder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ib_lease__expiry_hands_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_lease_renew__keeps_it_past_the_first_ttl,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_lease__bad_arguments, setup, teardown),
		cmocka_unit_test(test_ib_lease_holder_new__host_pid_random),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
