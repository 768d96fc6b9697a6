/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgpu-bench's statistics (stats.c): interleaved repeats of two
 * measurements, their ratio's median and spread, and how much of the
 * measuring window the host stole from the guest.
 */
#ifndef _MGPU_BENCH_STATS_H
#define _MGPU_BENCH_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Measured repeats of each side (after one warm-up of each), at most. */
#define BENCH_REPS		5
#define BENCH_REPS_MAX		16
/* A window that lost more than this to vCPU stalls is marked noisy. */
#define BENCH_NOISY		0.02

/**
 * struct bench_pair - two figures measured A B A B ...
 * @a: the measured side, one value per repeat
 * @b: the baseline, one value per repeat
 * @n: repeats
 * @lost: fraction of the wall time of the repeats lost to vCPU stalls
 */
struct bench_pair {
	double a[BENCH_REPS_MAX];
	double b[BENCH_REPS_MAX];
	int n;
	double lost;
};

/* A measurement: one figure (a rate, a time) of @arg. */
typedef double (*bench_fn)(void *arg);

/* Start and stop the stall monitor (a thread that sleeps 2 ms at a time). */
void bench_noise_start(void);
void bench_noise_stop(void);
/* Nanoseconds lost to stalls so far, for a window of one's own. */
uint64_t bench_noise_lost_ns(void);

/*
 * bench_interleave() - one warm-up of each, then @reps rounds of
 * @fa(@aa) and @fb(@ab), alternating which goes first, into @p.
 */
void bench_interleave(struct bench_pair *p, int reps, bench_fn fa, void *aa,
		      bench_fn fb, void *ab);

/**
 * struct bench_summary - what a row prints
 * @ratio: median of the per-repeat ratios a[i] / b[i]
 * @lo: lowest per-repeat ratio
 * @hi: highest per-repeat ratio
 * @a: median of @a
 * @b: median of @b
 */
struct bench_summary {
	double ratio, lo, hi, a, b;
};

void bench_summarize(const struct bench_pair *p, struct bench_summary *s);
double bench_median(const double *v, int n);
void bench_minmax(const double *v, int n, double *lo, double *hi);

#endif /* _MGPU_BENCH_STATS_H */
