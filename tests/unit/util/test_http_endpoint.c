/*
 * test_http_endpoint.c - the pure parts of the HTTP client (util/src/http_endpoint.c):
 * endpoint keys, URLs fit for messages, each endpoint's token bucket (limit.h) and the
 * backoff of its retry policy with injected time and random numbers, and Retry-After.
 */
#include <stdlib.h>
#include <string.h>

/* Internals of occo_util, not its API: only this test reaches for them. */
#include "../../../util/src/http_int.h"
#include "testutil.h"

static void test_endpoint_key__cases(void **state)
{
	static const struct {
		const char *url, *sock, *key;
		int rc;
	} cases[] = {
		{ "http://127.0.0.1:8080/x?y=1", NULL, "http://127.0.0.1:8080", 0 },
		{ "HTTPS://EC2.eu-west-1.AmazonAWS.com/", NULL,
		  "https://ec2.eu-west-1.amazonaws.com:443", 0 },
		{ "http://example.org", NULL, "http://example.org:80", 0 },
		{ "http://example.org:", NULL, "http://example.org:80", 0 },
		{ "http://user:p@ss@h:81/p", NULL, "http://h:81", 0 },
		{ "http://[::1]:9000/a", NULL, "http://[::1]:9000", 0 },
		{ "http://[::1]/a", NULL, "http://[::1]:80", 0 },
		{ "http://d/v1.41/containers/json", "/run/podman/podman.sock",
		  "unix:/run/podman/podman.sock", 0 },
		{ "http://h?x", NULL, "http://h:80", 0 },
		{ NULL, NULL, NULL, -OCCO_EINVAL },
		{ "", NULL, NULL, -OCCO_EINVAL },
		{ "no-scheme/x", NULL, NULL, -OCCO_EINVAL },
		{ "file:///etc/passwd", NULL, NULL, -OCCO_ENOTSUP },
		{ "gopher://h/", NULL, NULL, -OCCO_ENOTSUP },
		{ "http:///x", NULL, NULL, -OCCO_EINVAL },
		{ "http://h:0/", NULL, NULL, -OCCO_EINVAL },
		{ "http://h:65536/", NULL, NULL, -OCCO_EINVAL },
		{ "http://h:12a/", NULL, NULL, -OCCO_EINVAL },
		{ "http://[::1/", NULL, NULL, -OCCO_EINVAL },
		{ "http://h h/", NULL, NULL, -OCCO_EINVAL },
		{ "http://d/", "", NULL, -OCCO_EINVAL },
		{ "user:p@ss@h://x", NULL, NULL, -OCCO_EINVAL },
	};
	char key[OCCO__HTTP_KEY_MAX];
	struct occo_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = occo__http_endpoint_key(cases[i].url, cases[i].sock, key, &err);

		assert_int_equal(rc, cases[i].rc);
		if (rc == 0)
			assert_string_equal(key, cases[i].key);
		else
			assert_null(strstr(err.msg, "p@ss"));
	}
}

static void test_key_is_address__cases(void **state)
{
	static const struct {
		const char *key;
		int want;
	} cases[] = {
		{ "http://127.0.0.1:80", 1 },
		{ "https://10.1.2.3:443", 1 },
		{ "http://[::1]:80", 1 },
		{ "unix:/run/podman/podman.sock", 1 },
		{ "http://localhost:80", 0 },
		{ "https://ec2.eu-west-1.amazonaws.com:443", 0 },
		{ "http://127.0.0.1.nip.io:80", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(occo__http_key_is_address(cases[i].key), cases[i].want);
}

static void test_safe_url__strips_secrets(void **state)
{
	static const struct {
		const char *url, *want;
		size_t n;
	} cases[] = {
		{ "http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x", 256 },
		{ "http://user:pw@h/x?token=abc#frag", "http://h/x", 256 },
		{ "https://h/a/b#f", "https://h/a/b", 256 },
		{ "http://h?q=1", "http://h", 256 },
		{ "weird/path?x", "weird/path", 256 },
		{ "user:pw@host/x?y", "host/x", 256 },
		{ "http://a@b@host:1/p", "http://host:1/p", 256 },
		{ "http://h/0123456789", "http://h/0...", 14 },
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		occo__http_safe_url(cases[i].url, out, cases[i].n);
		assert_string_equal(out, cases[i].want);
	}
}

static struct occo__http_ep *ep_new(struct occo__http_eptab *t, double rate, unsigned burst,
				    uint64_t now)
{
	struct occo_http_limits lim = { .rate = rate, .burst = burst };

	return occo__http_eptab_add(t, "http://h:80", &lim, now);
}

static void test_bucket_take__rate_and_burst(void **state)
{
	struct occo__http_eptab t = { 0 };
	struct occo__http_ep *ep = ep_new(&t, 20, 3, 1000);
	uint64_t wait = 0;

	(void)state;
	/* A full bucket: the burst goes at once, then one every 50 ms. */
	assert_true(occo_bucket_take(&ep->bucket, 1000, &wait));
	assert_true(occo_bucket_take(&ep->bucket, 1000, &wait));
	assert_true(occo_bucket_take(&ep->bucket, 1000, &wait));
	assert_false(occo_bucket_take(&ep->bucket, 1000, &wait));
	assert_int_equal(wait, 50);
	assert_false(occo_bucket_take(&ep->bucket, 1030, &wait));
	assert_int_equal(wait, 20);
	assert_true(occo_bucket_take(&ep->bucket, 1050, &wait));
	/* Idle for long: never more than the burst. */
	assert_true(occo_bucket_take(&ep->bucket, 100000, &wait));
	assert_true(occo_bucket_take(&ep->bucket, 100000, &wait));
	assert_true(occo_bucket_take(&ep->bucket, 100000, &wait));
	assert_false(occo_bucket_take(&ep->bucket, 100000, &wait));
	occo__http_eptab_release(&t);
}

static void test_bucket_take__unlimited_and_changed(void **state)
{
	struct occo__http_eptab t = { 0 };
	struct occo__http_ep *ep = ep_new(&t, 0, 0, 0);
	struct occo_http_limits lim = { .rate = 1, .burst = 0 };
	uint64_t wait = 0;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_true(occo_bucket_take(&ep->bucket, 0, &wait));
	occo__http_ep_set_limits(ep, &lim, 10);
	assert_true(occo_bucket_take(&ep->bucket, 10, &wait)); /* burst 0 counts as 1 */
	assert_false(occo_bucket_take(&ep->bucket, 10, &wait));
	assert_int_equal(wait, 1000);
	assert_ptr_equal(occo__http_eptab_find(&t, "http://h:80"), ep);
	assert_null(occo__http_eptab_find(&t, "http://h:81"));
	occo__http_eptab_release(&t);
}

static void test_eptab__many(void **state)
{
	struct occo__http_eptab t = { 0 };
	struct occo_http_limits lim = { 0 };
	char key[64];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "http://10.0.%d.%d:80", i / 256, i % 256);
		occo__http_eptab_add(&t, key, &lim, 0);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "http://10.0.%d.%d:80", i / 256, i % 256);
		assert_non_null(occo__http_eptab_find(&t, key));
		assert_string_equal(occo__http_eptab_find(&t, key)->key, key);
	}
	assert_int_equal(t.n, 5000);
	occo__http_eptab_release(&t);
}

static void test_backoff_ms__full_jitter(void **state)
{
	static const struct {
		unsigned retry;
		uint32_t rnd;
		uint64_t want;
	} cases[] = {
		{ 1, 0, 0 },
		{ 1, UINT32_MAX, 200 },
		{ 2, UINT32_MAX, 400 },
		{ 3, UINT32_MAX, 800 },
		{ 3, UINT32_MAX / 2, 400 },
		{ 7, UINT32_MAX, 10000 }, /* 12800 capped */
		{ 60, UINT32_MAX, 10000 }, /* no overflow */
	};
	struct occo_http_retry r = { .max_retries = 3, .base_ms = 200, .cap_ms = 10000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(occo_backoff_ms(r.base_ms, r.cap_ms, cases[i].retry, cases[i].rnd),
				 cases[i].want);
}

static void test_retry_after_ms__cases(void **state)
{
	static const struct {
		const char *v;
		int64_t want;
	} cases[] = {
		{ "0", 0 },
		{ "2", 2000 },
		{ " 3 ", 3000 },
		{ "120", 10000 },
		{ "99999999999999999999", 10000 },
		{ "Sun, 06 Nov 1994 08:49:40 GMT", 5000 },
		{ "Sun, 06 Nov 1994 08:49:30 GMT", 0 }, /* in the past */
		{ "soon", -1 },
		{ "5s", -1 },
		{ NULL, -1 },
	};
	/* 1994-11-06T08:49:35Z */
	uint64_t now = 784111775000ull;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(occo__http_retry_after_ms(cases[i].v, now, 10000), cases[i].want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoint_key__cases),
		cmocka_unit_test(test_key_is_address__cases),
		cmocka_unit_test(test_safe_url__strips_secrets),
		cmocka_unit_test(test_bucket_take__rate_and_burst),
		cmocka_unit_test(test_bucket_take__unlimited_and_changed),
		cmocka_unit_test(test_eptab__many),
		cmocka_unit_test(test_backoff_ms__full_jitter),
		cmocka_unit_test(test_retry_after_ms__cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
