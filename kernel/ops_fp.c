// SPDX-License-Identifier: GPL-2.0
/*
 * MGPU_OP_VEC and MGPU_OP_XENT: the arithmetic of one step, in float.
 *
 * Like gemm_fp.c, this object alone is built with hard-float flags and
 * -ffp-contract=off (see Kbuild); its functions may only be called
 * between kernel_fpu_begin() and kernel_fpu_end(), on a bounded number
 * of elements (cmd.c: MGPU_OPS_STEP_ELEMS).  The math is in ops_math.h,
 * which the selftests and the fuzzer compile unchanged as the bitwise
 * reference.
 */
#include <linux/types.h>

#include "mgpu_drv.h"
#include "ops_math.h"

void mgpu_vec_f32(u32 op, const void *x, const void *y, void *z, u32 n,
		  u32 alpha)
{
	mgpu_vec_run(op, x, y, z, n, alpha);
}

u32 mgpu_xent_f32(const void *x, const s32 *t, void *g, void *loss,
		  u32 rows, u32 n, bool scale, u32 m, bool mean, u32 sum)
{
	float sc = scale ? 1.0f / (float)m : 1.0f, l, s = mgpu_u2f(sum);
	const float *xf = x;
	float *gf = g, *lf = loss;
	u32 i;

	for (i = 0; i < rows; i++) {
		l = mgpu_xent_row(xf + (size_t)i * n, n, t[i],
				  gf + (size_t)i * n, sc);
		if (mean)
			s = s + l;
		else
			lf[i] = l;
	}
	return mgpu_f2u(s);
}

u32 mgpu_xent_mean_f32(u32 sum, u32 m)
{
	return mgpu_f2u(mgpu_u2f(sum) / (float)m);
}
