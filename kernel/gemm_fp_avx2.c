// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM in fp32: the kernel of gemm_fp.c with AVX2 vectors (8 floats),
 * for CPUs that have AVX2 (cmd.c chooses).  Built with -mavx2 and
 * without FMA (see Kbuild): the same bits as the SSE2 kernel.
 */
#include <linux/types.h>

#include "mgpu_drv.h"

#define MGPU_VEC_W	8
#define MGPU_MR		6
#define MGPU_NV		2
#define MGPU_GEMM_FN	mgpu_gemm_f32_avx2
#include "gemm_fp_tmpl.h"
