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
 * mgpu_gemm_i8_row() - part of one row of C = alpha * A x B + beta * C, int8
 * @a: @np values of row i of A, from the first inner index of this call
 * @b: the @np rows of B (n int8 values each) with those inner indexes
 * @c: row i of C (n int32 values)
 * @n: columns of B and C
 * @np: inner indexes in this call
 * @first: this call starts row i: apply beta to C first
 * @alpha: scale of A x B
 * @beta: scale of C
 *
 * Arithmetic wraps modulo 2^32, like the int32 accumulators of hardware.
 */
void mgpu_gemm_i8_row(const s8 *a, const s8 *b, s32 *c, u32 n, u32 np,
		      bool first, s32 alpha, s32 beta)
{
	u32 j, p;

	if (first)
		for (j = 0; j < n; j++)
			c[j] = (u32)beta * (u32)c[j];
	for (p = 0; p < np; p++) {
		u32 ap = (u32)alpha * (u32)(s32)a[p];
		const s8 *brow = b + (size_t)p * n;

		for (j = 0; j < n; j++)
			c[j] = (u32)c[j] + ap * (u32)(s32)brow[j];
	}
}
