/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Create and remove costs of mgpu against the kernel's mtty sample
 * (create.c).
 */
#ifndef _MGPU_BENCH_CREATE_H
#define _MGPU_BENCH_CREATE_H

/* Instances per round, and measured rounds per kind (after a warm-up). */
#define BENCH_CREATE_N		8
#define BENCH_CREATE_ROUNDS	7

/**
 * struct bench_create_fig - one figure over the rounds
 * @median_us: median of the per-round medians, microseconds
 * @min_us: the fastest round
 * @max_us: the slowest round
 */
struct bench_create_fig {
	double median_us;
	double min_us;
	double max_us;
};

/**
 * struct bench_create_result - what bench_create_remove() measured
 * @mgpu_create: mgpu-1_16 (the smallest slice)
 * @mgpu_remove: mgpu-1_16
 * @mtty_create: mtty-1 (the kernel's sample)
 * @mtty_remove: mtty-1
 * @big_create: mgpu-passthrough (the whole VRAM)
 * @big_remove: mgpu-passthrough
 */
struct bench_create_result {
	struct bench_create_fig mgpu_create, mgpu_remove;
	struct bench_create_fig mtty_create, mtty_remove;
	struct bench_create_fig big_create, big_remove;
};

int bench_create_remove(const char *parent, const char *mtty_ko,
			struct bench_create_result *res);

#endif /* _MGPU_BENCH_CREATE_H */
