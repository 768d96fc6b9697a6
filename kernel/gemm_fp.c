// SPDX-License-Identifier: GPL-2.0
/*
 * GEMM, fp32 and int8: the SSE2 kernels, which every x86-64 CPU runs.
 *
 * This object alone (with gemm_fp_avx2.o and gemm_fp_avx512.o, the same
 * kernels for wider vectors, chosen at run time by cmd.c) is built with
 * hard-float flags (see Kbuild), like amdgpu's display code.  Its
 * functions may only be called between kernel_fpu_begin() and
 * kernel_fpu_end(), and each call is short: the engine bounds the work
 * of one call (MGPU_STEP_MACS, see cmd.c), because preemption is off
 * inside an FPU section.  Nothing here may call into the rest of the
 * kernel.  The kernels themselves are in gemm_fp_tmpl.h.
 */
#include <linux/types.h>

#include "mgpu_drv.h"

#define MGPU_VEC_W	4
#define MGPU_MR		4
#define MGPU_NV		2
#define MGPU_GEMM_FN	mgpu_gemm_f32_sse2
#include "gemm_fp_tmpl.h"
#undef MGPU_GEMM_FN

#define MGPU_INT8
#define MGPU_GEMM_FN	mgpu_gemm_i8_sse2
#include "gemm_fp_tmpl.h"
