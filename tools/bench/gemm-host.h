/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What gemm-host calls in kernel/gemm_fp*.c, declared
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

#define MGPU_GEMM_WORK		((96 * 128 + 128 * 32) * 4)
void mgpu_gemm_f32_sse2(const void *a, u32 lda, const void *b, void *c,
			void *work, u32 rows, u32 n, u32 np, bool first,
			u32 alpha, u32 beta);
void mgpu_gemm_f32_avx2(const void *a, u32 lda, const void *b, void *c,
			void *work, u32 rows, u32 n, u32 np, bool first,
			u32 alpha, u32 beta);
void mgpu_gemm_f32_avx512(const void *a, u32 lda, const void *b, void *c,
			  void *work, u32 rows, u32 n, u32 np, bool first,
			  u32 alpha, u32 beta);
void mgpu_gemm_i8_sse2(const void *a, u32 lda, const void *b, void *c,
		       void *work, u32 rows, u32 n, u32 np, bool first,
		       u32 alpha, u32 beta);
void mgpu_gemm_i8_avx2(const void *a, u32 lda, const void *b, void *c,
		       void *work, u32 rows, u32 n, u32 np, bool first,
		       u32 alpha, u32 beta);
void mgpu_gemm_i8_avx512(const void *a, u32 lda, const void *b, void *c,
			 void *work, u32 rows, u32 n, u32 np, bool first,
			 u32 alpha, u32 beta);

#endif
