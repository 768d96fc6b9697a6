/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What gemm-host calls in kernel/gemm_fp*.c and kernel/gemm.c, declared
 * for userspace: those files are compiled against tools/fuzz's shim
 * headers, gemm-host.c against the system's (cblas.h).  The prototypes
 * are those of kernel/mgpu_drv.h.
 */
#ifndef _MGPU_GEMM_HOST_H
#define _MGPU_GEMM_HOST_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t u32;
typedef int32_t s32;
typedef int8_t s8;

#define MGPU_GEMM_F32_WORK	(48 * 256)
void mgpu_gemm_f32_sse2(const void *a, u32 lda, const void *b, void *c,
			void *work, u32 rows, u32 n, u32 np, bool first,
			u32 alpha_bits, u32 beta_bits);
void mgpu_gemm_f32_avx2(const void *a, u32 lda, const void *b, void *c,
			void *work, u32 rows, u32 n, u32 np, bool first,
			u32 alpha_bits, u32 beta_bits);
void mgpu_gemm_f32_avx512(const void *a, u32 lda, const void *b, void *c,
			  void *work, u32 rows, u32 n, u32 np, bool first,
			  u32 alpha_bits, u32 beta_bits);
void mgpu_gemm_i8_row(const s8 *a, const s8 *b, s32 *c, u32 n, u32 np,
		      bool first, s32 alpha, s32 beta);

#endif
