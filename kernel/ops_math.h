/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arithmetic of MGPU_OP_VEC and MGPU_OP_XENT, one element or one row
 * at a time, in plain C on float: compiled unchanged in the kernel
 * (ops_fp.c, hard-float flags, inside kernel_fpu_begin/end) and in
 * userspace (the selftests' and the fuzzer's bitwise reference).  Every
 * user builds it with -ffp-contract=off and without -ffast-math, on
 * x86-64 (SSE scalar or vector float, round to nearest, no FTZ/DAZ): each
 * operation is one IEEE float operation in the order written, so the
 * bits are the same everywhere.  No libm: exp, expm1 and log are range
 * reduction plus a polynomial.  Their measured error against double
 * precision is in Documentation/device-model.rst.
 *
 * Only int, unsigned int and float: no header is needed.
 */
#ifndef _MGPU_OPS_MATH_H
#define _MGPU_OPS_MATH_H

union mgpu_fbits {
	float f;
	unsigned int u;
};

static inline float mgpu_u2f(unsigned int u)
{
	union mgpu_fbits b = { .u = u };

	return b.f;
}

static inline unsigned int mgpu_f2u(float f)
{
	union mgpu_fbits b = { .f = f };

	return b.u;
}

#define MGPU_F_INF		0x7f800000U
#define MGPU_LN2_HI		0x3f317200U	/* ln 2, high 16 bits */
#define MGPU_LN2_LO		0x35bfbe8eU	/* ln 2 - MGPU_LN2_HI */

/* 2^e as a float, -126 <= e <= 127 */
static inline float mgpu_pow2f(int e)
{
	return mgpu_u2f((unsigned int)(e + 127) << 23);
}

/*
 * exp(r) for |r| <= ln(2)/2 (a little more after rounding): Taylor to
 * degree 7, Horner; the first term left out (exp(r) - 1) so that expm1
 * can use it without cancellation.
 */
static inline float mgpu_expm1_poly(float r)
{
	float p = 1.0f / 40320;

	p = 1.0f / 5040 + r * p;
	p = 1.0f / 720 + r * p;
	p = 1.0f / 120 + r * p;
	p = 1.0f / 24 + r * p;
	p = 1.0f / 6 + r * p;
	p = 0.5f + r * p;
	p = 1.0f + r * p;
	return r * p;
}

/* exp(x): x = k ln 2 + r (Cody-Waite), exp(x) = 2^k exp(r). */
static inline float mgpu_expf(float x)
{
	float kf, r, p;
	int k;

	if (x != x)
		return x + x;
	if (x > 88.7228317f)
		return mgpu_u2f(MGPU_F_INF);
	if (x < -103.972084f)
		return 0.0f;
	kf = x * 1.44269504f;
	k = (int)(kf >= 0 ? kf + 0.5f : kf - 0.5f);
	kf = (float)k;
	r = x - kf * mgpu_u2f(MGPU_LN2_HI);
	r = r - kf * mgpu_u2f(MGPU_LN2_LO);
	p = 1.0f + mgpu_expm1_poly(r);
	if (k > 127)
		return p * mgpu_pow2f(127) * 2.0f;
	if (k < -126)	/* a subnormal result: one rounding, at the end */
		return p * mgpu_pow2f(k + 100) * mgpu_pow2f(-100);
	return p * mgpu_pow2f(k);
}

/* exp(x) - 1, accurate near 0 as well. */
static inline float mgpu_expm1f(float x)
{
	if (x != x)
		return x + x;
	if (x > -0.34657359f && x < 0.34657359f)
		return mgpu_expm1_poly(x);
	return mgpu_expf(x) - 1.0f;
}

/*
 * log(x): x = 2^e m with sqrt(1/2) <= m < sqrt(2); log(m) = 2 atanh(s),
 * s = (m - 1) / (m + 1), |s| <= 0.172: the odd series to s^11.
 */
static inline float mgpu_logf(float x)
{
	unsigned int u = mgpu_f2u(x);
	float f, s, z, p, m, ef;
	int e = 0;

	if (x != x)
		return x + x;
	if (x < 0)
		return mgpu_u2f(0x7fc00000U);	/* the default NaN */
	if (x == 0)
		return -mgpu_u2f(MGPU_F_INF);
	if (u >= MGPU_F_INF)
		return x;			/* +Inf */
	if (u < 0x00800000U) {		/* subnormal: scale to normal */
		x = x * mgpu_pow2f(25);
		u = mgpu_f2u(x);
		e = -25;
	}
	e += (int)(u >> 23) - 127;
	u = (u & 0x007fffffU) | 0x3f800000U;	/* m in [1, 2) */
	if (u > 0x3fb504f3U) {			/* m > sqrt(2): halve it */
		u -= 0x00800000U;
		e++;
	}
	m = mgpu_u2f(u);
	f = m - 1.0f;
	s = f / (2.0f + f);
	z = s * s;
	p = 1.0f / 11;
	p = 1.0f / 9 + z * p;
	p = 1.0f / 7 + z * p;
	p = 1.0f / 5 + z * p;
	p = 1.0f / 3 + z * p;
	p = 2.0f * s + 2.0f * s * (z * p);
	ef = (float)e;
	return ef * mgpu_u2f(MGPU_LN2_HI) + (ef * mgpu_u2f(MGPU_LN2_LO) + p);
}

/* 1 / (1 + exp(-x)); for x < 0 as e / (1 + e), e = exp(x): no overflow. */
static inline float mgpu_sigmoidf(float x)
{
	float e;

	if (x != x)
		return x + x;
	if (x < 0) {
		e = mgpu_expf(x);
		return e / (1.0f + e);
	}
	return 1.0f / (1.0f + mgpu_expf(-x));
}

/* tanh(|x|) = e / (e + 2), e = expm1(2|x|); the sign of x (and of -0). */
static inline float mgpu_tanhf(float x)
{
	unsigned int sign = mgpu_f2u(x) & 0x80000000U;
	float a = mgpu_u2f(mgpu_f2u(x) & 0x7fffffffU), e, t;

	if (x != x)
		return x + x;
	if (a > 9.1f)		/* tanh(9.1) rounds to 1 */
		t = 1.0f;
	else {
		e = mgpu_expm1f(2.0f * a);
		t = e / (e + 2.0f);
	}
	return mgpu_u2f(mgpu_f2u(t) | sign);
}

/* One element of MGPU_OP_VEC; @op is valid (MGPU_VEC_*). */
static inline float mgpu_vec_elem(unsigned int op, float x, float y,
				  float alpha)
{
	switch (op) {
	case 0:				/* MGPU_VEC_ADD */
		return x + y;
	case 1:				/* MGPU_VEC_MUL */
		return x * y;
	case 2:				/* MGPU_VEC_SIGMOID */
		return mgpu_sigmoidf(x);
	case 3:				/* MGPU_VEC_TANH */
		return mgpu_tanhf(x);
	case 4:				/* MGPU_VEC_DSIGMOID */
		return y * (x * (1.0f - x));
	case 5:				/* MGPU_VEC_DTANH */
		return y * (1.0f - x * x);
	default:			/* MGPU_VEC_AXPY */
		return alpha * x + y;
	}
}

/*
 * MGPU_OP_VEC on @n elements: z[i] = op(x[i], y[i]).  @y is not read by
 * SIGMOID and TANH (it may be NULL then).  @z may be @x or @y.
 */
static inline void mgpu_vec_run(unsigned int op, const float *x,
				const float *y, float *z, unsigned int n,
				unsigned int alpha)
{
	float al = mgpu_u2f(alpha);
	unsigned int i;

	if (op == 2 || op == 3) {
		for (i = 0; i < n; i++)
			z[i] = mgpu_vec_elem(op, x[i], 0.0f, al);
		return;
	}
	for (i = 0; i < n; i++)
		z[i] = mgpu_vec_elem(op, x[i], y[i], al);
}

/*
 * One row of MGPU_OP_XENT: @n logits @x, target @t (0 <= t < n, checked
 * by the caller), the gradient (softmax(x) - onehot(t)) * @scale to @g
 * (which may be @x), and the loss log(sum exp(x)) - x[t] returned.
 *
 *	mx = the largest x[j] (NaN if one is NaN);
 *	s = sum over j, in order, of exp(x[j] - mx);
 *	loss = (mx - x[t]) + log(s);
 *	g[j] = (exp(x[j] - mx) / s - (j == t)) * scale.
 */
static inline float mgpu_xent_row(const float *x, unsigned int n,
				  unsigned int t, float *g, float scale)
{
	float mx = x[0], s = 0.0f, loss, p;
	unsigned int j;

	for (j = 1; j < n; j++)
		if (x[j] > mx || x[j] != x[j])
			mx = x[j];
	for (j = 0; j < n; j++)
		s = s + mgpu_expf(x[j] - mx);
	loss = (mx - x[t]) + mgpu_logf(s);
	for (j = 0; j < n; j++) {
		p = mgpu_expf(x[j] - mx) / s;
		if (j == t)
			p = p - 1.0f;
		g[j] = p * scale;
	}
	return loss;
}

#endif /* _MGPU_OPS_MATH_H */
