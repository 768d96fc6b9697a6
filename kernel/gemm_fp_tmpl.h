/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fp32 GEMM block kernel, written once for every SIMD width: the
 * including file defines MGPU_VEC_W (floats per vector), MGPU_MR (rows
 * of the register tile), MGPU_NV (vectors per row of the register
 * tile) and MGPU_GEMM_FN (the function's name), and is compiled with
 * the matching target flags (see Kbuild).  GCC's and clang's vector
 * extensions, no intrinsics: no header of the compiler's is needed.
 *
 * Every element of C gets exactly the arithmetic of the plain loop
 *
 *	c = beta == 0 ? 0 : c * beta;
 *	for (p = 0; p < k; p++)
 *		c = c + (alpha * a[i][p]) * b[p][j];
 *
 * in that order, each operation rounded to float (multiply, then add:
 * never a fused multiply-add, the objects are built with
 * -ffp-contract=off).  Blocking, the width of the vectors and where the
 * engine's steps cut the inner dimension change only which elements are
 * computed together, never the result: every path gives the same bits.
 */

/* Vectors of W floats: aligned for registers, unaligned for memory. */
typedef float mgpu_vf __attribute__((vector_size(MGPU_VEC_W * 4)));
typedef float mgpu_vfu __attribute__((vector_size(MGPU_VEC_W * 4),
				      aligned(4), may_alias));

#define MGPU_NR		(MGPU_NV * MGPU_VEC_W)
/* Inner indexes per pass: a panel of B of MGPU_KC rows stays in cache. */
#define MGPU_KC		256
/* Rows packed at a time: the rows that one panel of B serves from L1. */
#define MGPU_MC		48

static __always_inline mgpu_vf mgpu_vload(const float *p)
{
	return *(const mgpu_vfu *)p;
}

static __always_inline void mgpu_vstore(float *p, mgpu_vf v)
{
	*(mgpu_vfu *)p = v;
}

/*
 * The register tile: @mr rows by @nv vectors of C, over @kc inner
 * indexes.  @ap: alpha * A, packed: @mr floats for each p.  @mr and @nv
 * are constants at every call, so the accumulators live in registers.
 */
static __always_inline void mgpu_tile(const float *ap, const float *b,
				      u32 ldb, float *c, u32 ldc, u32 kc,
				      const int mr, const int nv)
{
	mgpu_vf acc[MGPU_MR][MGPU_NV], bv[MGPU_NV];
	u32 p;
	int i, v;

#pragma GCC unroll 16
	for (i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (v = 0; v < nv; v++)
			acc[i][v] = mgpu_vload(c + i * ldc + v * MGPU_VEC_W);
	for (p = 0; p < kc; p++) {
#pragma GCC unroll 4
		for (v = 0; v < nv; v++)
			bv[v] = mgpu_vload(b + v * MGPU_VEC_W);
#pragma GCC unroll 16
		for (i = 0; i < mr; i++) {
			float s = ap[i];

#pragma GCC unroll 4
			for (v = 0; v < nv; v++)
				acc[i][v] = acc[i][v] + bv[v] * s;
		}
		ap += mr;
		b += ldb;
	}
#pragma GCC unroll 16
	for (i = 0; i < mr; i++)
#pragma GCC unroll 4
		for (v = 0; v < nv; v++)
			mgpu_vstore(c + i * ldc + v * MGPU_VEC_W, acc[i][v]);
}

/*
 * The last columns of @mr rows, fewer than a vector: one at a time, the
 * rows side by side (independent sums: no chain of dependent adds).
 */
static void mgpu_tile_cols(const float *ap, const float *b, u32 ldb,
			   float *c, u32 ldc, u32 kc, u32 mr, u32 cols)
{
	float s[MGPU_MR];
	u32 i, j, p;

	for (j = 0; j < cols; j++) {
		for (i = 0; i < mr; i++)
			s[i] = c[i * ldc + j];
		for (p = 0; p < kc; p++)
			for (i = 0; i < mr; i++)
				s[i] = s[i] + b[p * ldb + j] * ap[p * mr + i];
		for (i = 0; i < mr; i++)
			c[i * ldc + j] = s[i];
	}
}

/* Rows in the next piece of a block of @left rows: a whole tile or 4, 2, 1. */
static __always_inline u32 mgpu_piece(u32 left)
{
	return left >= MGPU_MR ? MGPU_MR : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

/* The tile of @mr rows (MGPU_MR, 4, 2 or 1) and @nv vectors (MGPU_NV, 1). */
static __always_inline void mgpu_tile_any(const float *ap, const float *b,
					  float *c, u32 n, u32 kc, u32 mr,
					  const int nv)
{
	if (mr == MGPU_MR)
		mgpu_tile(ap, b, n, c, n, kc, MGPU_MR, nv);
	else if (mr == 4)
		mgpu_tile(ap, b, n, c, n, kc, 4, nv);
	else if (mr == 2)
		mgpu_tile(ap, b, n, c, n, kc, 2, nv);
	else
		mgpu_tile(ap, b, n, c, n, kc, 1, nv);
}

/*
 * @mc rows of C, all n columns, @kc inner indexes: column by column of
 * tiles, so that a tile's panel of B (kc x MGPU_NR) stays in L1 for all
 * the rows.  @ap: alpha * A, packed piece by piece (mgpu_piece()).
 */
static void mgpu_block(const float *ap, const float *b, float *c, u32 n,
		       u32 kc, u32 mc)
{
	u32 i, j, r;

	for (j = 0; j + MGPU_NR <= n; j += MGPU_NR)
		for (i = 0; i < mc; i += r) {
			r = mgpu_piece(mc - i);
			mgpu_tile_any(ap + i * kc, b + j, c + i * n + j, n, kc,
				      r, MGPU_NV);
		}
	for (; j + MGPU_VEC_W <= n; j += MGPU_VEC_W)
		for (i = 0; i < mc; i += r) {
			r = mgpu_piece(mc - i);
			mgpu_tile_any(ap + i * kc, b + j, c + i * n + j, n, kc,
				      r, 1);
		}
	if (j < n)
		for (i = 0; i < mc; i += r) {
			r = mgpu_piece(mc - i);
			mgpu_tile_cols(ap + i * kc, b + j, n, c + i * n + j, n,
				       kc, r, n - j);
		}
}

/**
 * MGPU_GEMM_FN() - a block of C = alpha * A x B + beta * C, fp32
 * @a: @rows rows of A (@lda floats apart), from the first inner index of
 *	this call: @np floats each
 * @lda: floats from one row of @a to the next
 * @b: the @np rows of B (@n floats each, packed) with those inner indexes
 * @c: @rows rows of C (@n floats each, packed)
 * @work: MGPU_GEMM_F32_WORK floats of scratch (alpha * A, packed)
 * @rows: rows of C in this call
 * @n: columns of B and C
 * @np: inner indexes in this call
 * @first: this call starts these rows: apply beta to C first
 * @alpha_bits: alpha, as the bits of a float
 * @beta_bits: beta, as the bits of a float; with beta == 0, C is not
 *	read (a NaN left in C does not survive), as in BLAS
 *
 * Only between kernel_fpu_begin() and kernel_fpu_end().
 */
void MGPU_GEMM_FN(const void *a, u32 lda, const void *b, void *c,
		  void *work, u32 rows, u32 n, u32 np, bool first,
		  u32 alpha_bits, u32 beta_bits)
{
	union { u32 u; float f; } alpha = { .u = alpha_bits },
				  beta = { .u = beta_bits };
	const float *fa = a, *fb = b;
	float *fc = c, *ap = work, *ci;
	u32 i, i0, j, p, p0, kc, mc, r;

	if (first) {
		for (i = 0; i < rows; i++) {
			ci = fc + (size_t)i * n;
			j = 0;
			if (beta.f != 0.0f)
				for (; j + MGPU_VEC_W <= n; j += MGPU_VEC_W)
					mgpu_vstore(ci + j,
						    mgpu_vload(ci + j) * beta.f);
			for (; j < n; j++)
				ci[j] = beta.f == 0.0f ? 0.0f : ci[j] * beta.f;
		}
	}
	for (p0 = 0; p0 < np; p0 += kc) {
		kc = min_t(u32, np - p0, MGPU_KC);
		for (i0 = 0; i0 < rows; i0 += mc) {
			mc = min_t(u32, rows - i0, MGPU_MC);
			for (i = 0; i < mc; i += r) {
				r = mgpu_piece(mc - i);
				for (p = 0; p < kc; p++)
					for (j = 0; j < r; j++)
						ap[i * kc + p * r + j] = alpha.f *
							fa[(size_t)(i0 + i + j) * lda +
							   p0 + p];
			}
			mgpu_block(ap, fb + (size_t)p0 * n,
				   fc + (size_t)i0 * n, n, kc, mc);
		}
	}
}

#undef MGPU_NR
#undef MGPU_KC
#undef MGPU_MC
