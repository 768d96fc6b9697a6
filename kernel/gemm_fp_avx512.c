// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM, fp32 and int8: the kernels of gemm_fp.c with AVX-512 vectors
 * (16 lanes), for CPUs that have AVX512F (cmd.c chooses).  Built with
 * -mavx512f and -ffp-contract=off (see Kbuild): the same bits as the
 * SSE2 kernel.
 */
#include <linux/types.h>

#include "mgpu_drv.h"

#define MGPU_VEC_W	16
#define MGPU_MR		8
#define MGPU_NV		2
#define MGPU_GEMM_FN	mgpu_gemm_f32_avx512
#include "gemm_fp_tmpl.h"
#undef MGPU_GEMM_FN

#define MGPU_INT8
#define MGPU_GEMM_FN	mgpu_gemm_i8_avx512
#include "gemm_fp_tmpl.h"
