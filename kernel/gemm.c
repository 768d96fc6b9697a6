// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM in int8 with int32 accumulation: integer only, no FPU.
 *
 * The engine calls the kernel for one row of C and a range of the inner
 * dimension at a time, so that one call is short and a long GEMM can be
 * interrupted between calls (scheduling, watchdog, reset).
 */
#include <linux/types.h>

#include "mgpu_drv.h"

/**
 * mgpu_gemm_i8_row() - one row of C = alpha * A x B + beta * C, int8
 * @a: row i of A (k int8 values)
 * @b: B (k x n int8 values, row major)
 * @c: row i of C (n int32 values)
 * @n: columns of B and C
 * @p0: first inner index of this call; 0 applies beta to C first
 * @p1: inner index to stop at
 * @alpha: scale of A x B
 * @beta: scale of C
 *
 * Arithmetic wraps modulo 2^32, like the int32 accumulators of hardware.
 */
void mgpu_gemm_i8_row(const s8 *a, const s8 *b, s32 *c, u32 n, u32 p0,
		      u32 p1, s32 alpha, s32 beta)
{
	u32 j, p;

	if (!p0)
		for (j = 0; j < n; j++)
			c[j] = (u32)beta * (u32)c[j];
	for (p = p0; p < p1; p++) {
		u32 ap = (u32)alpha * (u32)(s32)a[p];
		const s8 *brow = b + (size_t)p * n;

		for (j = 0; j < n; j++)
			c[j] = (u32)c[j] + ap * (u32)(s32)brow[j];
	}
}
