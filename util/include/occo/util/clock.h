/*
 * clock.h - time, injectable for tests.
 *
 * Code that needs "now" for its own logic (deadlines, health-check periods, backoff) asks
 * occo_clock_now_ms()/occo_clock_wall_ms(), never the system directly, so that a test can set
 * the time instead of sleeping.
 */
#ifndef OCCO_UTIL_CLOCK_H
#define OCCO_UTIL_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds (arbitrary origin). */
uint64_t occo_clock_now_ms(void);
/* Wall-clock milliseconds since the epoch. */
uint64_t occo_clock_wall_ms(void);

/* Tests: make both clocks return fixed values (advanced with occo_clock_fake_advance). */
void occo_clock_fake_set(uint64_t mono_ms, uint64_t wall_ms);
void occo_clock_fake_advance(uint64_t ms);
/* Tests: back to the system clocks. */
void occo_clock_fake_clear(void);

/* Format a wall time as RFC 3339 UTC with milliseconds: "2026-11-22T10:00:00.123Z". */
void occo_clock_format(uint64_t wall_ms, char out[32]);

#endif
