/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The GEMM block kernels, written once for every SIMD width and both
 * types: the including file defines MGPU_VEC_W (32-bit lanes per
 * vector), MGPU_MR (rows of the register tile) and MGPU_NV (vectors per
 * row of the register tile), then includes this file once with
 * MGPU_INT8 undefined and MGPU_GEMM_FN the fp32 function's name, and
 * once with MGPU_INT8 defined and MGPU_GEMM_FN the int8 one's; it is
 * compiled with the matching target flags (see Kbuild).  GCC's and
 * clang's vector extensions, no intrinsics: no header of the compiler's
 * is needed.
 *
 * fp32: every element of C gets exactly the arithmetic of the plain loop
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
 *
 * int8: the same loop on int8 A and B and int32 C, modulo 2^32 (u32
 * arithmetic), c = beta * c even when beta is 0 (an integer has no NaN).
 * B is widened to 32 bits into a packed panel as it is used.
 */

#ifdef MGPU_INT8
#define MGPU_T		u32		/* an element of C, a lane */
#define MGPU_TB		s8		/* an element of A and B */
#define MGPU_S(name)	name##_i8	/* this instance's helpers */
#else
#define MGPU_T		float
#define MGPU_TB		float
#define MGPU_S(name)	name##_f32
#endif
#define mgpu_v		MGPU_S(mgpu_v)
#define mgpu_vu		MGPU_S(mgpu_vu)
#define mgpu_vload	MGPU_S(mgpu_vload)
#define mgpu_vstore	MGPU_S(mgpu_vstore)
#define mgpu_tile	MGPU_S(mgpu_tile)
#define mgpu_tile_cols	MGPU_S(mgpu_tile_cols)
#define mgpu_piece	MGPU_S(mgpu_piece)
#define mgpu_tile_any	MGPU_S(mgpu_tile_any)
#define mgpu_pack	MGPU_S(mgpu_pack)
#define mgpu_tiles	MGPU_S(mgpu_tiles)
#define mgpu_tile_cols_any	MGPU_S(mgpu_tile_cols_any)
#define mgpu_block	MGPU_S(mgpu_block)

/* Vectors of W lanes: aligned for registers, unaligned for memory. */
typedef MGPU_T mgpu_v __attribute__((vector_size(MGPU_VEC_W * 4)));
typedef MGPU_T mgpu_vu __attribute__((vector_size(MGPU_VEC_W * 4),
				      aligned(4), may_alias));

#define MGPU_NR		(MGPU_NV * MGPU_VEC_W)
/* Inner indexes per pass: a panel of B of MGPU_KC rows stays in L1. */
#define MGPU_KC		128
/* Rows packed at a time: the rows that one panel of B serves from L1. */
#define MGPU_MC		96
/*
 * fp32: whether mgpu_block() copies each panel of B (kc x MGPU_NR) into
 * the work space before its tiles read it: when more than one tile reads
 * the panel and its rows would evict each other from L1.  Rows of B a
 * multiple of 2^x bytes apart (x = 6..12) fall into 4096 / 2^x sets of
 * L1 (64-byte lines, 4 KiB a way), 8 lines a set at least: more than
 * 8 * 4096 / 2^x rows do not stay, at n = 1024 more than 8.  Else the
 * tiles read B in place, and the copy is not worth its cost.
 */
#define MGPU_PACK_B(mc, n, kc) \
	((mc) > MGPU_MR && \
	 (u64)(kc) * min_t(u32, (n) * 4 & -((n) * 4), 4096) > 8 * 4096)

/* The work space: alpha * A packed (MC x KC), a panel of B packed. */
_Static_assert((MGPU_MC * MGPU_KC + MGPU_KC * MGPU_NR) * 4 <= MGPU_GEMM_WORK,
	       "MGPU_GEMM_WORK is too small for these kernels");

static __always_inline mgpu_v mgpu_vload(const MGPU_T *p)
{
	return *(const mgpu_vu *)p;
}

static __always_inline void mgpu_vstore(MGPU_T *p, mgpu_v v)
{
	*(mgpu_vu *)p = v;
}

/*
 * The register tile: @mr rows by @nv vectors of C, over @kc inner
 * indexes.  @ap: alpha * A, packed: @mr values for each p; @b: B, @ldb
 * lanes from one p to the next.  @mr and @nv are constants at every
 * call, so the accumulators live in registers.
 */
static __always_inline void mgpu_tile(const MGPU_T *ap, const MGPU_T *b,
				      u32 ldb, MGPU_T *c, u32 ldc, u32 kc,
				      const int mr, const int nv)
{
	mgpu_v acc[MGPU_MR][MGPU_NV], bv[MGPU_NV];
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
			MGPU_T s = ap[i];

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
 * @b: B as it is in memory, @ldb elements from one p to the next.  @mr
 * is a constant at every call (mgpu_piece()), so the sums live in
 * registers.
 */
static __always_inline void mgpu_tile_cols(const MGPU_T *ap,
					   const MGPU_TB *b, u32 ldb,
					   MGPU_T *c, u32 ldc, u32 kc,
					   const int mr, u32 cols)
{
	MGPU_T s[MGPU_MR], bs;
	u32 j, p;
	int i;

	for (j = 0; j < cols; j++) {
#pragma GCC unroll 16
		for (i = 0; i < mr; i++)
			s[i] = c[i * ldc + j];
		for (p = 0; p < kc; p++) {
			bs = (MGPU_T)b[p * ldb + j];
#pragma GCC unroll 16
			for (i = 0; i < mr; i++)
				s[i] = s[i] + bs * ap[p * mr + i];
		}
#pragma GCC unroll 16
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
static __always_inline void mgpu_tile_any(const MGPU_T *ap, const MGPU_T *b,
					  u32 ldb, MGPU_T *c, u32 n, u32 kc,
					  u32 mr, const int nv)
{
	if (mr == MGPU_MR)
		mgpu_tile(ap, b, ldb, c, n, kc, MGPU_MR, nv);
	else if (mr == 4)
		mgpu_tile(ap, b, ldb, c, n, kc, 4, nv);
	else if (mr == 2)
		mgpu_tile(ap, b, ldb, c, n, kc, 2, nv);
	else
		mgpu_tile(ap, b, ldb, c, n, kc, 1, nv);
}

/*
 * The tiles of @mc rows of C (@ldc elements a row) and @nv vectors, over
 * one panel of B (@ldb elements from one p to the next).
 */
static __always_inline void mgpu_tiles(const MGPU_T *ap, const MGPU_T *b,
				       u32 ldb, MGPU_T *c, u32 ldc, u32 kc,
				       u32 mc, const int nv)
{
	u32 i, r;

	for (i = 0; i < mc; i += r) {
		r = mgpu_piece(mc - i);
		mgpu_tile_any(ap + i * kc, b, ldb, c + i * ldc, ldc, kc, r, nv);
	}
}

#ifndef MGPU_INT8
/* A panel of B, @kc rows of MGPU_NR lanes (@ldb apart), into @bp. */
static __always_inline void mgpu_pack(MGPU_T *bp, const MGPU_T *b, u32 ldb,
				      u32 kc)
{
	u32 p;
	int v;

	for (p = 0; p < kc; p++) {
#pragma GCC unroll 4
		for (v = 0; v < MGPU_NV; v++)
			mgpu_vstore(bp + v * MGPU_VEC_W,
				    mgpu_vload(b + v * MGPU_VEC_W));
		bp += MGPU_NR;
		b += ldb;
	}
}
#endif

/* mgpu_tile_cols() for @mr rows (MGPU_MR, 4, 2 or 1). */
static void mgpu_tile_cols_any(const MGPU_T *ap, const MGPU_TB *b, u32 ldb,
			       MGPU_T *c, u32 ldc, u32 kc, u32 mr, u32 cols)
{
	if (mr == MGPU_MR)
		mgpu_tile_cols(ap, b, ldb, c, ldc, kc, MGPU_MR, cols);
	else if (mr == 4)
		mgpu_tile_cols(ap, b, ldb, c, ldc, kc, 4, cols);
	else if (mr == 2)
		mgpu_tile_cols(ap, b, ldb, c, ldc, kc, 2, cols);
	else
		mgpu_tile_cols(ap, b, ldb, c, ldc, kc, 1, cols);
}

/*
 * @mc rows of C, all n columns, @kc inner indexes: column by column of
 * tiles, so that a tile's panel of B (kc x MGPU_NR) stays in L1 for all
 * the rows.  @ap: alpha * A, packed piece by piece (mgpu_piece()).
 * @bp (MGPU_KC x MGPU_NR lanes) takes each panel of B, widened (int8) or
 * copied (fp32, when MGPU_PACK_B()).
 */
static void mgpu_block(const MGPU_T *ap, const MGPU_TB *b, MGPU_T *c, u32 n,
		       u32 kc, u32 mc, MGPU_T *bp)
{
	u32 i, j, r, w;

	for (j = 0; j + MGPU_VEC_W <= n; j += w) {
		w = j + MGPU_NR <= n ? MGPU_NR : MGPU_VEC_W;
#ifdef MGPU_INT8
		{
			u32 p, l;

			for (p = 0; p < kc; p++)
				for (l = 0; l < w; l++)
					bp[p * w + l] = (u32)(s32)b[p * n + j + l];
		}
		if (w == MGPU_NR)
			mgpu_tiles(ap, bp, MGPU_NR, c + j, n, kc, mc, MGPU_NV);
		else
			mgpu_tiles(ap, bp, MGPU_VEC_W, c + j, n, kc, mc, 1);
#else
		/* Separate calls: each gets its own copy, ldb a constant */
		if (w == MGPU_NR && MGPU_PACK_B(mc, n, kc)) {
			mgpu_pack(bp, b + j, n, kc);
			mgpu_tiles(ap, bp, MGPU_NR, c + j, n, kc, mc, MGPU_NV);
		} else if (w == MGPU_NR) {
			mgpu_tiles(ap, b + j, n, c + j, n, kc, mc, MGPU_NV);
		} else {
			mgpu_tiles(ap, b + j, n, c + j, n, kc, mc, 1);
		}
#endif
	}
	if (j < n)
		for (i = 0; i < mc; i += r) {
			r = mgpu_piece(mc - i);
			mgpu_tile_cols_any(ap + i * kc, b + j, n,
					   c + i * n + j, n, kc, r, n - j);
		}
}

/**
 * MGPU_GEMM_FN() - a block of C = alpha * A x B + beta * C
 * @a: @rows rows of A (@lda elements apart), from the first inner index
 *	of this call: @np elements each (float, or int8)
 * @lda: elements from one row of @a to the next
 * @b: the @np rows of B (@n elements each, packed) with those inner
 *	indexes
 * @c: @rows rows of C (@n floats or int32 each, packed)
 * @work: MGPU_GEMM_WORK bytes of scratch (alpha * A, packed; int8: a
 *	panel of B widened)
 * @rows: rows of C in this call
 * @n: columns of B and C
 * @np: inner indexes in this call
 * @first: this call starts these rows: apply beta to C first
 * @alpha: alpha, as the bits of a float or an int32
 * @beta: beta, as the bits of a float or an int32; fp32: with beta == 0,
 *	C is not read (a NaN left in C does not survive), as in BLAS
 *
 * Only between kernel_fpu_begin() and kernel_fpu_end().
 */
void MGPU_GEMM_FN(const void *a, u32 lda, const void *b, void *c,
		  void *work, u32 rows, u32 n, u32 np, bool first, u32 alpha,
		  u32 beta)
{
	const MGPU_TB *ta = a, *tb = b;
	MGPU_T *tc = c, *ap = work, *ci;
	MGPU_T *bp = ap + MGPU_MC * MGPU_KC;
	u32 i, i0, j, p, p0, kc, mc, r;
#ifdef MGPU_INT8
	MGPU_T al = alpha, be = beta;
#else
	union { u32 u; float f; } ua = { .u = alpha }, ub = { .u = beta };
	MGPU_T al = ua.f, be = ub.f;
#endif

	if (first) {
		for (i = 0; i < rows; i++) {
			ci = tc + (size_t)i * n;
			j = 0;
#ifndef MGPU_INT8
			if (be == 0.0f) {
				for (; j < n; j++)
					ci[j] = 0.0f;
				continue;
			}
#endif
			for (; j + MGPU_VEC_W <= n; j += MGPU_VEC_W)
				mgpu_vstore(ci + j, mgpu_vload(ci + j) * be);
			for (; j < n; j++)
				ci[j] = ci[j] * be;
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
						ap[i * kc + p * r + j] = al *
							(MGPU_T)ta[(size_t)(i0 + i + j) * lda +
								   p0 + p];
			}
			mgpu_block(ap, tb + (size_t)p0 * n,
				   tc + (size_t)i0 * n, n, kc, mc, bp);
		}
	}
}

#undef MGPU_NR
#undef MGPU_KC
#undef MGPU_MC
#undef MGPU_PACK_B
#undef MGPU_T
#undef MGPU_TB
#undef MGPU_S
#undef mgpu_v
#undef mgpu_vu
#undef mgpu_vload
#undef mgpu_vstore
#undef mgpu_tile
#undef mgpu_tile_cols
#undef mgpu_piece
#undef mgpu_tile_any
#undef mgpu_pack
#undef mgpu_tiles
#undef mgpu_tile_cols_any
#undef mgpu_block
