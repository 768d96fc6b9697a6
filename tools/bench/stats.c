// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-bench's statistics: interleaved repeats, medians and spread, and
 * the host's noise.
 *
 * One figure is not a measurement on a TCG guest of a shared host: a
 * slow phase of the host (another guest, a build) lands on whatever runs
 * then.  So every ratio comes from repeats of both sides taken in turns
 * (A B B A A B ...: which side goes first alternates, so that neither
 * always runs on a warm cache), after a warm-up of each, and is printed
 * as the median of the per-repeat ratios with their lowest and highest.
 *
 * A thread that sleeps 2 ms at a time sees the host's stalls of the
 * guest's vCPUs as oversleep (the scheduler selftest does the same): the
 * time lost, as a fraction of a row's window, says whether the row can
 * be trusted; above BENCH_NOISY the row is marked noisy.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "mgpu_test.h"
#include "stats.h"

#define TICK_US		2000

static pthread_t noise_thread;
/* Shared with the monitor: __atomic accesses. */
static bool noise_stop;
static uint64_t noise_lost;

static void *noise_fn(void *arg)
{
	uint64_t t, dt;

	(void)arg;
	while (!__atomic_load_n(&noise_stop, __ATOMIC_RELAXED)) {
		t = mgpu_test_now_ns();
		usleep(TICK_US);
		dt = mgpu_test_now_ns() - t;
		/* more than 3 ticks late: the vCPU was not running */
		if (dt > 4 * TICK_US * 1000ULL)
			__atomic_fetch_add(&noise_lost, dt - TICK_US * 1000ULL,
					   __ATOMIC_RELAXED);
	}
	return NULL;
}

void bench_noise_start(void)
{
	__atomic_store_n(&noise_stop, false, __ATOMIC_RELAXED);
	__atomic_store_n(&noise_lost, 0, __ATOMIC_RELAXED);
	pthread_create(&noise_thread, NULL, noise_fn, NULL);
}

void bench_noise_stop(void)
{
	__atomic_store_n(&noise_stop, true, __ATOMIC_RELAXED);
	pthread_join(noise_thread, NULL);
}

uint64_t bench_noise_lost_ns(void)
{
	return __atomic_load_n(&noise_lost, __ATOMIC_RELAXED);
}

void bench_interleave(struct bench_pair *p, int reps, bench_fn fa, void *aa,
		      bench_fn fb, void *ab)
{
	uint64_t t0, l0;
	int i;

	if (reps > BENCH_REPS_MAX)
		reps = BENCH_REPS_MAX;
	fa(aa);				/* warm-up */
	fb(ab);
	t0 = mgpu_test_now_ns();
	l0 = bench_noise_lost_ns();
	for (i = 0; i < reps; i++) {
		if (i & 1) {
			p->b[i] = fb(ab);
			p->a[i] = fa(aa);
		} else {
			p->a[i] = fa(aa);
			p->b[i] = fb(ab);
		}
	}
	p->n = reps;
	p->lost = (double)(bench_noise_lost_ns() - l0) /
		  (mgpu_test_now_ns() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(const double *v, int n)
{
	double s[BENCH_REPS_MAX * 4];
	int i;

	if (n <= 0)
		return 0;
	if (n > (int)ARRAY_SIZE(s))
		n = ARRAY_SIZE(s);
	for (i = 0; i < n; i++)
		s[i] = v[i];
	qsort(s, n, sizeof(s[0]), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void bench_minmax(const double *v, int n, double *lo, double *hi)
{
	int i;

	*lo = *hi = n > 0 ? v[0] : 0;
	for (i = 1; i < n; i++) {
		if (v[i] < *lo)
			*lo = v[i];
		if (v[i] > *hi)
			*hi = v[i];
	}
}

void bench_summarize(const struct bench_pair *p, struct bench_summary *s)
{
	double r[BENCH_REPS_MAX];
	int i;

	for (i = 0; i < p->n; i++)
		r[i] = p->b[i] ? p->a[i] / p->b[i] : 0;
	s->ratio = bench_median(r, p->n);
	bench_minmax(r, p->n, &s->lo, &s->hi);
	s->a = bench_median(p->a, p->n);
	s->b = bench_median(p->b, p->n);
}
