// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM, fp32 and int8: the kernels of gemm_fp.c with AVX2 vectors (8
 * lanes), for CPUs that have AVX2 (cmd.c chooses).  Built with -mavx2 and
 * without FMA (see Kbuild): the same bits as the SSE2 kernel.
 */
#include <linux/types.h>

#include "mgpu_drv.h"

#define MGPU_VEC_W	8
#define MGPU_MR		6
#define MGPU_NV		2
#define MGPU_GEMM_FN	mgpu_gemm_f32_avx2
#include "gemm_fp_tmpl.h"
#undef MGPU_GEMM_FN

#define MGPU_INT8
#define MGPU_GEMM_FN	mgpu_gemm_i8_avx2
#include "gemm_fp_tmpl.h"
