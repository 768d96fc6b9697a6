// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM in fp32: the kernel of gemm_fp.c with AVX-512 vectors (16
 * floats), for CPUs that have AVX512F (cmd.c chooses).  Built with
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
