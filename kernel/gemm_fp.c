// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM in fp32.
 *
 * This object alone is built with hard-float flags (see Kbuild), like
 * amdgpu's display code.  Its functions may only be called between
 * kernel_fpu_begin() and kernel_fpu_end(), and each call is short: the
 * engine bounds the work of one call (see engine.c), because preemption
 * is off inside an FPU section.  Nothing here may call into the rest of
 * the kernel.
 */
#include <linux/types.h>

#include "mgpu_drv.h"

/**
 * mgpu_gemm_f32_row() - part of one row of C = alpha * A x B + beta * C
 * @a: @np floats of row i of A, from the first inner index of this call
 * @b: the @np rows of B (n floats each) with those inner indexes
 * @c: row i of C (n floats)
 * @n: columns of B and C
 * @np: inner indexes in this call
 * @first: this call starts row i: apply beta to C first
 * @alpha_bits: alpha, as the bits of a float
 * @beta_bits: beta, as the bits of a float; with beta == 0, C is not
 *	read (a NaN left in C does not survive), as in BLAS
 */
void mgpu_gemm_f32_row(const void *a, const void *b, void *c, u32 n, u32 np,
		       bool first, u32 alpha_bits, u32 beta_bits)
{
	union { u32 u; float f; } alpha = { .u = alpha_bits },
				  beta = { .u = beta_bits };
	const float *fa = a, *fb = b;
	float *fc = c;
	u32 j, p;

	if (first) {
		if (beta.f == 0.0f)
			for (j = 0; j < n; j++)
				fc[j] = 0.0f;
		else
			for (j = 0; j < n; j++)
				fc[j] *= beta.f;
	}
	for (p = 0; p < np; p++) {
		float ap = alpha.f * fa[p];
		const float *brow = fb + (size_t)p * n;

		for (j = 0; j < n; j++)
			fc[j] += ap * brow[j];
	}
}
