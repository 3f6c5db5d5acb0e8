/*
 * clock.c - monotonic and wall clocks, with a fake for tests.
 */
#include <stdio.h>
#include <time.h>

#include "occo/util/clock.h"

static int fake;
static uint64_t fake_mono, fake_wall;

static uint64_t ts_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t occo_clock_now_ms(void)
{
	return fake ? fake_mono : ts_ms(CLOCK_MONOTONIC);
}

uint64_t occo_clock_wall_ms(void)
{
	return fake ? fake_wall : ts_ms(CLOCK_REALTIME);
}

void occo_clock_fake_set(uint64_t mono_ms, uint64_t wall_ms)
{
	fake = 1;
	fake_mono = mono_ms;
	fake_wall = wall_ms;
}

void occo_clock_fake_advance(uint64_t ms)
{
	fake_mono += ms;
	fake_wall += ms;
}

void occo_clock_fake_clear(void)
{
	fake = 0;
}

void occo_clock_format(uint64_t wall_ms, char out[32])
{
	time_t secs = (time_t)(wall_ms / 1000u);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000u));
}
