/*
 * limit.h - the arithmetic of rate limits: a token bucket and full-jitter exponential backoff.
 *
 * Shared by the HTTP client (per HTTP endpoint) and the resource handler core (per cloud
 * endpoint). Both are pure: time and random numbers are arguments, so tests inject them.
 */
#ifndef OCCO_UTIL_LIMIT_H
#define OCCO_UTIL_LIMIT_H

#include <stdint.h>

/* A token bucket: `rate` tokens a second, at most `size` held. rate <= 0: unlimited. */
struct occo_bucket {
	double rate;
	double size;
	double tokens;
	uint64_t last_ms; /* when tokens was last brought up to date */
};

/* A full bucket at now_ms. burst below 1 counts as 1. */
void occo_bucket_init(struct occo_bucket *b, double rate, double burst, uint64_t now_ms);

/*
 * Change rate and burst at now_ms: a limited bucket keeps its level (cut to the new size); one
 * that was unlimited starts full.
 */
void occo_bucket_set(struct occo_bucket *b, double rate, double burst, uint64_t now_ms);

/*
 * Take one token at now_ms: 1 if taken; 0 if the bucket is empty, with *wait_ms set to how long
 * until it holds a token again (at least 1). Always 1 when unlimited.
 */
int occo_bucket_take(struct occo_bucket *b, uint64_t now_ms, uint64_t *wait_ms);

/*
 * Full-jitter backoff before retry number `retry` (1 for the first): rnd scaled into
 * [0, min(cap_ms, base_ms * 2^(retry-1))].
 */
uint64_t occo_backoff_ms(unsigned base_ms, unsigned cap_ms, unsigned retry, uint32_t rnd);

#endif
