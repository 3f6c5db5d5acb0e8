/*
 * limit.c - token bucket and backoff arithmetic (see limit.h).
 */
#include <math.h>

#include "occo/util/limit.h"

static double bucket_size(double burst)
{
	return burst >= 1.0 ? burst : 1.0;
}

static void bucket_refill(struct occo_bucket *b, uint64_t now_ms)
{
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->size)
			b->tokens = b->size;
	}
	b->last_ms = now_ms;
}

void occo_bucket_init(struct occo_bucket *b, double rate, double burst, uint64_t now_ms)
{
	b->rate = rate;
	b->size = bucket_size(burst);
	b->tokens = b->size;
	b->last_ms = now_ms;
}

void occo_bucket_set(struct occo_bucket *b, double rate, double burst, uint64_t now_ms)
{
	if (b->rate > 0)
		bucket_refill(b, now_ms);
	else
		b->tokens = bucket_size(burst);
	b->rate = rate;
	b->size = bucket_size(burst);
	b->last_ms = now_ms;
	if (b->tokens > b->size)
		b->tokens = b->size;
}

int occo_bucket_take(struct occo_bucket *b, uint64_t now_ms, uint64_t *wait_ms)
{
	double need;

	if (!(b->rate > 0))
		return 1;
	bucket_refill(b, now_ms);
	/* The clock has millisecond steps: a token 1e-9 short is a token. */
	if (b->tokens >= 1.0 - 1e-9) {
		b->tokens -= 1.0;
		return 1;
	}
	need = ceil((1.0 - b->tokens) * 1000.0 / b->rate);
	*wait_ms = need < 1.0 ? 1 : (uint64_t)need;
	return 0;
}

uint64_t occo_backoff_ms(unsigned base_ms, unsigned cap_ms, unsigned retry, uint32_t rnd)
{
	uint64_t ceiling = base_ms;
	unsigned i;

	for (i = 1; i < retry && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	return ((uint64_t)rnd * (ceiling + 1)) >> 32;
}
