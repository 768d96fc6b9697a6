// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests: the training commands (MGPU_OP_VEC,
 * MGPU_OP_XENT, GEMM with MGPU_F_GEMM_TRANS_A/_B), each against two CPU
 * references: the device's own arithmetic (kernel/ops_math.h compiled
 * here unchanged, which must give the same bits) and double precision
 * with the tolerances of Documentation/device-model.rst.  NaN and Inf
 * inputs, n = 1, odd sizes, sizes that cross steps, the largest sizes,
 * and the errors that stop a queue.
 *
 * One of the mgpu_engine_*_test programs; lib/mgpu_engine.h has what
 * they share.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "mgpu_engine.h"
#include "../../kernel/ops_math.h"

FIXTURE(ops) {
	struct eng_base b;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	uint64_t vram;
};

FIXTURE_SETUP(ops)
{
	/* 1/2 of the parent: room for a VEC of MGPU_VEC_MAX_N in place. */
	if (!eng_can_create(_metadata, "mgpu-1_2", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_2", true);
	self->dev = self->b.dev[0];
	self->vram = mgpu_vram_size(self->dev);
	self->q = qopen(_metadata, self->dev, 0, 256, 0);
	mgpu_test_rnd_seed(0x5eed0ae5);
}

FIXTURE_TEARDOWN_PARENT(ops)
{
	eng_remove_all(&self->b.inst);
}

/* ---------------------------------------------------------------------- */

static float f_of(uint32_t u)
{
	return mgpu_u2f(u);
}

/* Both NaN, or the same bits. */
static bool same(float a, float b)
{
	return (isnan(a) && isnan(b)) || mgpu_f2u(a) == mgpu_f2u(b);
}

/* @r is within @tol of @ref; both NaN, or equal infinities, also pass. */
static bool near(float r, double ref, double tol)
{
	if (isnan(ref) || isnan(r))
		return isnan(ref) && isnan(r);
	if (isinf(ref) || isinf(r))
		return (double)r == ref;
	return fabs((double)r - ref) <= tol;
}

/* Submit @cmd; the queue must stop with @code; then restart it. */
static void expect_err(struct __test_metadata *_metadata,
		       struct mgpu_queue *q, const void *cmd, uint32_t code,
		       const char *what)
{
	uint32_t err = 0, head = 0;
	int ret;

	ret = run(q, cmd, 1);
	EXPECT_EQ(-EIO, ret) TH_LOG("%s: ran (%s), expected %s", what,
				    mgpu_strerror(ret),
				    mgpu_queue_error_str(code));
	mgpu_queue_error(q, &err, &head);
	EXPECT_EQ(code, err) TH_LOG("%s: %s, expected %s", what,
				    mgpu_queue_error_str(err),
				    mgpu_queue_error_str(code));
	ASSERT_EQ(0, mgpu_queue_reset(q));
}

/* ---------------------------------------------------------------------- */
/* VEC                                                                    */

static const char *const vec_name[] = {
	"add", "mul", "sigmoid", "tanh", "dsigmoid", "dtanh", "axpy",
};

/* libmgpu's builder: y and alpha are 0 where the op does not use them. */
static void vec_cmd(struct mgpu_cmd_vec *v, uint32_t op, uint64_t x,
		    uint64_t y, uint64_t z, uint32_t n, float alpha)
{
	mgpu_cmd_vec((struct mgpu_cmd *)v, op, x, y, z, n, alpha);
}

/* Double precision, and how far from it a float result may be. */
static double vec_ref(uint32_t op, float xf, float yf, float al, double *tol)
{
	double x = xf, y = yf, a = al, r;

	switch (op) {
	case MGPU_VEC_ADD:
		r = x + y;
		*tol = fabs(r) * 0x1p-24 + 0x1p-150;
		break;
	case MGPU_VEC_MUL:
		r = x * y;
		*tol = fabs(r) * 0x1p-24 + 0x1p-150;
		break;
	case MGPU_VEC_SIGMOID:
		r = 1 / (1 + exp(-x));
		*tol = fabs(r) * 4 * 0x1p-24 + 4 * 0x1p-149;
		break;
	case MGPU_VEC_TANH:
		r = tanh(x);
		*tol = fabs(r) * 5 * 0x1p-24 + 0x1p-149;
		break;
	case MGPU_VEC_DSIGMOID:
		r = y * (x * (1 - x));
		*tol = fabs(y) * (fabs(x) + x * x) * 4 * 0x1p-24 + 0x1p-149;
		break;
	case MGPU_VEC_DTANH:
		r = y * (1 - x * x);
		*tol = fabs(y) * (1 + x * x) * 3 * 0x1p-24 + 0x1p-149;
		break;
	default:
		r = a * x + y;
		*tol = (fabs(a * x) + fabs(y)) * 2 * 0x1p-24 + 0x1p-149;
		break;
	}
	return r;
}

/* Special inputs: every pairing of these appears in the special test. */
static const uint32_t specials[] = {
	0x7fc00000, 0xffc00001, 0x7f800000, 0xff800000, 0x00000000,
	0x80000000, 0x00000001, 0x807fffff, 0x7f7fffff, 0xff7fffff,
	0x3f800000, 0xbf800000, 0x42b17218, 0xc2cff1b5, 0x41100000,
	0x3e800000,
};
#define NSPEC	ARRAY_SIZE(specials)

static float vec_input(uint32_t op, bool y)
{
	float r = mgpu_test_rnd_float();

	if (!y && (op == MGPU_VEC_DSIGMOID || op == MGPU_VEC_DTANH))
		return op == MGPU_VEC_DSIGMOID ? (r + 2) / 4 : r / 2;
	if (!y && (op == MGPU_VEC_SIGMOID || op == MGPU_VEC_TANH))
		return r * 20;
	return r;
}

/*
 * One VEC of @n elements on fresh VRAM: random inputs, or (@special)
 * every pairing of specials[]; z separate, or in place on x or y
 * (@inplace 1, 2).  z is padded on both sides: nothing else is written.
 */
static void vec_one(struct __test_metadata *_metadata, struct mgpu_dev *dev,
		    struct mgpu_queue *q, uint32_t op, uint32_t n,
		    bool special, int inplace)
{
	uint64_t bytes = (uint64_t)n * 4, x, y, z, zbuf;
	float *px, *py, *pz, *rx, *ry, al = -0.75f, want;
	struct mgpu_cmd_vec v;
	uint32_t i, bad = 0, badref = 0, first = ~0U;
	double ref, tol;
	bool skip;

	x = vram_get(_metadata, dev, bytes + 4, 64) + 4;
	y = vram_get(_metadata, dev, bytes, 64);
	zbuf = vram_get(_metadata, dev, bytes + 8, 64);
	z = inplace == 1 ? x : inplace == 2 ? y : zbuf + 4;
	px = vptr(dev, x);
	py = vptr(dev, y);
	pz = vptr(dev, z);
	rx = malloc(bytes);
	ry = malloc(bytes);
	ASSERT_NE(NULL, rx);
	ASSERT_NE(NULL, ry);
	memset(vptr(dev, zbuf), 0xa5, bytes + 8);
	for (i = 0; i < n; i++) {
		if (special) {
			rx[i] = f_of(specials[i % NSPEC]);
			ry[i] = f_of(specials[(i / NSPEC) % NSPEC]);
		} else {
			rx[i] = vec_input(op, false);
			ry[i] = vec_input(op, true);
		}
		px[i] = rx[i];
		py[i] = ry[i];
	}
	vec_cmd(&v, op, x, y, z, n, al);
	ASSERT_RUN(q, (struct mgpu_cmd *)&v, 1);
	for (i = 0; i < n; i++) {
		want = mgpu_vec_elem(op, rx[i], ry[i], al);
		ref = vec_ref(op, rx[i], ry[i], al, &tol);
		if (!same(pz[i], want)) {
			bad++;
			if (first == ~0U)
				first = i;
		}
		/* Finite inputs may overflow in float and not in double. */
		skip = special && isfinite(rx[i]) && isfinite(ry[i]) &&
		       !isfinite(pz[i]) && isfinite(ref);
		if (!skip && !near(pz[i], ref, tol)) {
			if (!badref)
				TH_LOG("%s[%u](%a, %a) = %a, double %a", vec_name[op],
				       i, rx[i], ry[i], pz[i], ref);
			badref++;
		}
	}
	EXPECT_EQ(0, bad) TH_LOG("%s n %u: %u not the reference's bits, first %u",
				 vec_name[op], n, bad, first);
	EXPECT_EQ(0, badref) TH_LOG("%s n %u%s: %u beyond the tolerance",
				    vec_name[op], n, special ? " specials" : "",
				    badref);
	if (!inplace) {
		EXPECT_TRUE(mem_is(vptr(dev, zbuf), 0xa5, 4));
		EXPECT_TRUE(mem_is((uint8_t *)pz + bytes, 0xa5, 4));
	}
	free(rx);
	free(ry);
	mgpu_vram_free(dev, x - 4);
	mgpu_vram_free(dev, y);
	mgpu_vram_free(dev, zbuf);
}

/* Every op; n = 1, odd sizes, a step (16384) and across steps. */
TEST_F(ops, vec_sizes)
{
	static const uint32_t sizes[] = { 1, 3, 17, 16384, 16385, 100003 };
	uint32_t op, i;

	for (op = 0; op <= MGPU_VEC_OP_LAST; op++)
		for (i = 0; i < ARRAY_SIZE(sizes); i++)
			vec_one(_metadata, self->dev, self->q, op, sizes[i],
				false, 0);
}

/* NaN, Inf, -0, subnormals, the largest floats, exp's limits. */
TEST_F(ops, vec_specials)
{
	uint32_t op;

	for (op = 0; op <= MGPU_VEC_OP_LAST; op++)
		vec_one(_metadata, self->dev, self->q, op, NSPEC * NSPEC, true,
			0);
}

/* z = x and z = y are allowed (SGD's y += alpha * x is z = y). */
TEST_F(ops, vec_in_place)
{
	uint32_t op;

	for (op = 0; op <= MGPU_VEC_OP_LAST; op++) {
		vec_one(_metadata, self->dev, self->q, op, 20000, false, 1);
		if (op != MGPU_VEC_SIGMOID && op != MGPU_VEC_TANH)
			vec_one(_metadata, self->dev, self->q, op, 20000, false,
				2);
	}
}

/* n = MGPU_VEC_MAX_N (in place, if the VRAM holds it); one more is refused. */
TEST_F(ops, vec_max)
{
	uint64_t bytes = (uint64_t)MGPU_VEC_MAX_N * 4, x;
	struct mgpu_cmd_vec v;
	char saved[32] = "";
	bool budget;
	float *p;
	uint32_t i;
	int ret;

	vec_cmd(&v, MGPU_VEC_ADD, 0, 0, 0, MGPU_VEC_MAX_N + 1, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "n > max");
	if (self->vram < bytes + 1024 * KiB) {
		TH_LOG("VRAM %llu bytes: n = MGPU_VEC_MAX_N not run",
		       (unsigned long long)self->vram);
		return;
	}
	x = vram_get(_metadata, self->dev, bytes, 4096);
	p = vptr(self->dev, x);
	for (i = 0; i < MGPU_VEC_MAX_N; i++)
		p[i] = (float)(i & 0xffff);
	vec_cmd(&v, MGPU_VEC_ADD, x, x, x, MGPU_VEC_MAX_N, 0);
	/* 192 MiB moved under TCG (and KASAN): more than the 5 s default. */
	budget = mgpu_test_read_attr(ENG_BUDGET, saved, sizeof(saved)) > 0 &&
		 !mgpu_test_write_attr(ENG_BUDGET, "60000");
	ret = run(self->q, (struct mgpu_cmd *)&v, 1);
	if (budget)
		EXPECT_EQ(0, mgpu_test_write_attr(ENG_BUDGET, saved));
	ASSERT_EQ(0, ret) TH_LOG("VEC of MGPU_VEC_MAX_N: %s", mgpu_strerror(ret));
	for (i = 0; i < MGPU_VEC_MAX_N; i++)
		if (p[i] != (float)(i & 0xffff) * 2)
			break;
	EXPECT_EQ(MGPU_VEC_MAX_N, i);
	mgpu_vram_free(self->dev, x);
}

TEST_F(ops, vec_errors)
{
	uint64_t V = self->vram, buf = vram_get(_metadata, self->dev, 4096, 64);
	struct mgpu_cmd_vec v;
	unsigned int i;

	vec_cmd(&v, MGPU_VEC_ADD, buf, buf + 1024, buf + 2048, 0, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "n = 0");
	vec_cmd(&v, MGPU_VEC_OP_LAST + 1, buf, buf + 1024, buf + 2048, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "bad op");
	vec_cmd(&v, MGPU_VEC_ADD, buf, buf + 1024, buf + 2048, 4, 0);
	v.flags = MGPU_F_IRQ;
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "flags");
	for (i = 0; i < ARRAY_SIZE(v.reserved); i++) {
		vec_cmd(&v, MGPU_VEC_ADD, buf, buf + 1024, buf + 2048, 4, 0);
		v.reserved[i] = 1U << i;
		expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "reserved");
	}
	vec_cmd(&v, MGPU_VEC_ADD, buf, buf + 1024, buf + 2048, 4, 0);
	v.alpha = mgpu_f2u(1.0f);
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "alpha, not AXPY");
	vec_cmd(&v, MGPU_VEC_TANH, buf, 0, buf + 2048, 4, 0);
	v.y = buf + 1024;
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "y for TANH");
	vec_cmd(&v, MGPU_VEC_ADD, buf, buf + 1024, buf + 4, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "z overlaps x");
	vec_cmd(&v, MGPU_VEC_ADD, buf, buf + 1024, buf + 1020, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_BAD_CMD, "z overlaps y");
	vec_cmd(&v, MGPU_VEC_ADD, buf + 2, buf + 1024, buf + 2048, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_ALIGN, "x misaligned");
	vec_cmd(&v, MGPU_VEC_AXPY, buf, buf + 1025, buf + 2048, 4, 1);
	expect_err(_metadata, self->q, &v, MGPU_ERR_ALIGN, "y misaligned");
	vec_cmd(&v, MGPU_VEC_MUL, buf, buf + 1024, buf + 2051, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_ALIGN, "z misaligned");
	vec_cmd(&v, MGPU_VEC_ADD, V - 12, buf + 1024, buf + 2048, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_VRAM_RANGE, "x past VRAM");
	vec_cmd(&v, MGPU_VEC_SIGMOID, buf, 0, V - 12, 4, 0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_VRAM_RANGE, "z past VRAM");
	vec_cmd(&v, MGPU_VEC_ADD, buf, 0xfffffffffffffff0ULL, buf + 2048, 8,
		0);
	expect_err(_metadata, self->q, &v, MGPU_ERR_VRAM_RANGE, "y wraps");
	/* The last 16 bytes of VRAM are fine; the queue runs again. */
	vec_cmd(&v, MGPU_VEC_ADD, V - 16, V - 16, V - 16, 4, 0);
	ASSERT_RUN(self->q, (struct mgpu_cmd *)&v, 1);
	mgpu_vram_free(self->dev, buf);
}

/* ---------------------------------------------------------------------- */
/* XENT                                                                   */

struct xent_bufs {
	uint64_t x, t, g, loss;
	float *px, *pg, *pl;
	int32_t *pt;
};

static void xent_cmd(struct mgpu_cmd_xent *c, const struct xent_bufs *b,
		     uint32_t m, uint32_t n, uint32_t flags)
{
	mgpu_cmd_xent((struct mgpu_cmd *)c, b->x, b->t, b->g, b->loss, m, n,
		      flags);
}

/*
 * One XENT of @m x @n: logits random (scaled by @amp) with the specials
 * of @kind in some rows (1: +Inf, 2: all -Inf, 3: NaN, 4: -Inf at the
 * target); checked bit for bit against ops_math.h and against double.
 */
static void xent_one(struct __test_metadata *_metadata, struct mgpu_dev *dev,
		     struct mgpu_queue *q, uint32_t m, uint32_t n,
		     uint32_t flags, float amp, bool g_on_x)
{
	uint64_t xb = (uint64_t)m * n * 4;
	struct mgpu_cmd_xent c;
	struct xent_bufs b;
	float *x0, *g, *l, sc, sum = 0, want;
	double mx, s, ref, dl, dsum = 0, dabs = 0, e = (n + 8) * 0x1p-24;
	uint32_t i, j, bad = 0, badref = 0, kind;
	bool mean = flags & MGPU_F_XENT_MEAN;

	b.x = vram_get(_metadata, dev, xb, 64);
	b.t = vram_get(_metadata, dev, (uint64_t)m * 4, 64);
	b.g = g_on_x ? b.x : vram_get(_metadata, dev, xb, 64);
	b.loss = vram_get(_metadata, dev, (uint64_t)m * 4 + 4, 64);
	b.px = vptr(dev, b.x);
	b.pt = vptr(dev, b.t);
	b.pg = vptr(dev, b.g);
	b.pl = vptr(dev, b.loss);
	x0 = malloc(xb);
	g = malloc(xb);
	l = malloc((size_t)m * 4);
	ASSERT_NE(NULL, x0);
	ASSERT_NE(NULL, g);
	ASSERT_NE(NULL, l);
	memset(b.pl, 0xa5, (size_t)m * 4 + 4);
	for (i = 0; i < m; i++) {
		b.pt[i] = mgpu_test_rnd() % n;
		kind = !mean && m > 8 && n > 1 ? i % 11 : 0;
		for (j = 0; j < n; j++) {
			float v = mgpu_test_rnd_float() * amp;

			if (kind == 1 && j == (i * 7) % n)
				v = INFINITY;
			else if (kind == 2)
				v = -INFINITY;
			else if (kind == 3 && j == (i * 3) % n)
				v = NAN;
			else if (kind == 4 && j == (uint32_t)b.pt[i])
				v = -INFINITY;
			x0[(size_t)i * n + j] = b.px[(size_t)i * n + j] = v;
		}
	}
	xent_cmd(&c, &b, m, n, flags);
	ASSERT_RUN(q, (struct mgpu_cmd *)&c, 1);

	/* The device's arithmetic, on the CPU: the same bits. */
	sc = flags & MGPU_F_XENT_SCALE ? 1.0f / (float)m : 1.0f;
	for (i = 0; i < m; i++) {
		l[i] = mgpu_xent_row(x0 + (size_t)i * n, n, b.pt[i],
				     g + (size_t)i * n, sc);
		sum = sum + l[i];
	}
	for (i = 0; i < m * n; i++)
		if (!same(b.pg[i], g[i]))
			bad++;
	if (mean) {
		want = sum / (float)m;
		if (!same(b.pl[0], want))
			bad++;
		EXPECT_TRUE(mem_is(b.pl + 1, 0xa5, 4));
	} else {
		for (i = 0; i < m; i++)
			if (!same(b.pl[i], l[i]))
				bad++;
		EXPECT_TRUE(mem_is(b.pl + m, 0xa5, 4));
	}
	EXPECT_EQ(0, bad) TH_LOG("xent %ux%u flags %#x: %u not the reference's bits",
				 m, n, flags, bad);

	/* Double precision. */
	for (i = 0; i < m; i++) {
		const float *xr = x0 + (size_t)i * n;

		mx = xr[0];
		for (j = 1; j < n; j++)
			if (xr[j] > mx || isnan(xr[j]))
				mx = isnan(mx) ? mx : xr[j];
		s = 0;
		for (j = 0; j < n; j++)
			s += exp(xr[j] - mx);
		dl = (mx - xr[b.pt[i]]) + log(s);
		dsum += dl;
		dabs += fabs(dl);
		if (!mean && !near(b.pl[i], dl, e + 2e-7 * fabs(dl) + 1e-7 *
				   fabs(mx - xr[b.pt[i]]))) {
			if (!badref)
				TH_LOG("loss[%u] = %a, double %a", i, b.pl[i], dl);
			badref++;
		}
		for (j = 0; j < n; j++) {
			ref = (exp(xr[j] - mx) / s - (j == (uint32_t)b.pt[i])) *
			      sc;
			if (!near(b.pg[(size_t)i * n + j], ref,
				  (fabs(ref) + sc) * e)) {
				if (!badref)
					TH_LOG("g[%u][%u] = %a, double %a", i, j,
					       b.pg[(size_t)i * n + j], ref);
				badref++;
			}
		}
	}
	if (mean && !near(b.pl[0], dsum / m, (dabs / m + 1) * (e + m * 0x1p-24))) {
		TH_LOG("mean loss %a, double %a", b.pl[0], dsum / m);
		badref++;
	}
	EXPECT_EQ(0, badref) TH_LOG("xent %ux%u flags %#x: %u beyond the tolerance",
				    m, n, flags, badref);
	free(x0);
	free(g);
	free(l);
	mgpu_vram_free(dev, b.x);
	mgpu_vram_free(dev, b.t);
	if (!g_on_x)
		mgpu_vram_free(dev, b.g);
	mgpu_vram_free(dev, b.loss);
}

/* m = 1, n = 1, odd shapes, rows per step changing, a row per step. */
TEST_F(ops, xent_shapes)
{
	static const uint32_t shapes[][2] = {
		{ 1, 1 }, { 1, 7 }, { 5, 1 }, { 13, 10 }, { 37, 1000 },
		{ 3, 16383 }, { 2, 16384 }, { 100, 333 },
	};
	static const uint32_t flags[] = {
		0, MGPU_F_XENT_MEAN, MGPU_F_XENT_SCALE,
		MGPU_F_XENT_MEAN | MGPU_F_XENT_SCALE,
	};
	uint32_t i, f;

	for (i = 0; i < ARRAY_SIZE(shapes); i++)
		for (f = 0; f < ARRAY_SIZE(flags); f++)
			xent_one(_metadata, self->dev, self->q, shapes[i][0],
				 shapes[i][1], flags[f], 4.0f, f == 3);
}

/* Large logits (exp overflows without the max), gradient on x. */
TEST_F(ops, xent_large_logits)
{
	xent_one(_metadata, self->dev, self->q, 50, 200, 0, 50.0f, true);
	xent_one(_metadata, self->dev, self->q, 50, 200, MGPU_F_XENT_MEAN,
		 50.0f, false);
}

/* The largest shapes: n = MGPU_XENT_MAX_N, and m = MGPU_XENT_MAX_M. */
TEST_F(ops, xent_max)
{
	xent_one(_metadata, self->dev, self->q, 2, MGPU_XENT_MAX_N,
		 MGPU_F_XENT_SCALE, 4.0f, false);
	xent_one(_metadata, self->dev, self->q, MGPU_XENT_MAX_M, 3,
		 MGPU_F_XENT_MEAN | MGPU_F_XENT_SCALE, 4.0f, false);
}

TEST_F(ops, xent_errors)
{
	uint64_t V = self->vram, buf = vram_get(_metadata, self->dev, 8192, 64);
	struct xent_bufs b = {
		.x = buf, .g = buf + 2048, .t = buf + 4096, .loss = buf + 6144,
	};
	struct mgpu_cmd_xent c;
	int32_t *t = vptr(self->dev, b.t);
	float *l = vptr(self->dev, b.loss);
	unsigned int i;

	memset(vptr(self->dev, buf), 0, 8192);
	xent_cmd(&c, &b, 0, 4, 0);
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "m = 0");
	xent_cmd(&c, &b, 4, 0, 0);
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "n = 0");
	xent_cmd(&c, &b, 1, MGPU_XENT_MAX_N + 1, 0);
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "n > max");
	xent_cmd(&c, &b, MGPU_XENT_MAX_M + 1, 1, 0);
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "m > max");
	xent_cmd(&c, &b, 4, 4, MGPU_F_IRQ);
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "flags");
	for (i = 0; i < ARRAY_SIZE(c.reserved); i++) {
		xent_cmd(&c, &b, 4, 4, 0);
		c.reserved[i] = 0x80000000U >> i;
		expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "reserved");
	}
	xent_cmd(&c, &b, 4, 4, 0);
	c.g = buf + 4;
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "g overlaps x");
	xent_cmd(&c, &b, 4, 4, 0);
	c.loss = b.t + 12;
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "loss on t");
	xent_cmd(&c, &b, 4, 4, 0);
	c.loss = b.g + 60;
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "loss on g");
	xent_cmd(&c, &b, 4, 4, 0);
	c.t = b.g + 32;
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "t on g");
	xent_cmd(&c, &b, 4, 4, 0);
	c.t += 2;
	expect_err(_metadata, self->q, &c, MGPU_ERR_ALIGN, "t misaligned");
	xent_cmd(&c, &b, 4, 4, 0);
	c.loss += 1;
	expect_err(_metadata, self->q, &c, MGPU_ERR_ALIGN, "loss misaligned");
	xent_cmd(&c, &b, 4, 4, 0);
	c.x = V - 32;
	expect_err(_metadata, self->q, &c, MGPU_ERR_VRAM_RANGE, "x past VRAM");
	xent_cmd(&c, &b, 4, 4, 0);
	c.loss = V;
	expect_err(_metadata, self->q, &c, MGPU_ERR_VRAM_RANGE, "loss at VRAM end");
	xent_cmd(&c, &b, 4, 4, 0);
	c.g = 0xffffffffffffffc0ULL;
	expect_err(_metadata, self->q, &c, MGPU_ERR_VRAM_RANGE, "g wraps");
	/* The mean is one float: at the very end of VRAM is fine. */
	xent_cmd(&c, &b, 4, 4, MGPU_F_XENT_MEAN);
	c.loss = V - 4;
	ASSERT_RUN(self->q, (struct mgpu_cmd *)&c, 1);

	/* A target out of range stops the queue when its row comes. */
	for (i = 0; i < 4; i++)
		t[i] = i;
	t[2] = 4;
	memset(l, 0xa5, 16);
	xent_cmd(&c, &b, 4, 4, 0);
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "target n");
	t[2] = -1;
	expect_err(_metadata, self->q, &c, MGPU_ERR_BAD_CMD, "target -1");
	t[2] = 3;
	ASSERT_RUN(self->q, (struct mgpu_cmd *)&c, 1);
	for (i = 0; i < 4; i++)
		EXPECT_TRUE(near(l[i], log(4.0), 1e-6)) TH_LOG("loss %a", l[i]);
	mgpu_vram_free(self->dev, buf);
}

/* ---------------------------------------------------------------------- */
/* Transposed GEMM                                                        */

/*
 * C = alpha * op(A) op(B) + beta * C with A or B stored transposed: the
 * same bits as the plain GEMM on the transposes, which the engine
 * computed from A and B as given (checked by mgpu_engine_cmd_test).
 */
static void gemm_t_one(struct __test_metadata *_metadata,
		       struct mgpu_dev *dev, struct mgpu_queue *q, uint32_t m,
		       uint32_t n, uint32_t k, uint32_t flags)
{
	bool i8 = flags & MGPU_F_GEMM_INT8, ta = flags & MGPU_F_GEMM_TRANS_A;
	bool tb = flags & MGPU_F_GEMM_TRANS_B;
	uint64_t es = i8 ? 1 : 4, a, b, at, bt, c, c2, cb = (uint64_t)m * n * 4;
	uint8_t *pa, *pb, *pat, *pbt;
	struct mgpu_cmd_gemm g;
	uint32_t i, j, al, be;

	a = vram_get(_metadata, dev, (uint64_t)m * k * es, 64);
	b = vram_get(_metadata, dev, (uint64_t)k * n * es, 64);
	at = vram_get(_metadata, dev, (uint64_t)m * k * es, 64);
	bt = vram_get(_metadata, dev, (uint64_t)k * n * es, 64);
	c = vram_get(_metadata, dev, cb, 64);
	c2 = vram_get(_metadata, dev, cb, 64);
	pa = vptr(dev, a);
	pb = vptr(dev, b);
	pat = vptr(dev, at);
	pbt = vptr(dev, bt);
	for (i = 0; i < m * k; i++)
		if (i8)
			pa[i] = mgpu_test_rnd();
		else
			((float *)pa)[i] = mgpu_test_rnd_float();
	for (i = 0; i < k * n; i++)
		if (i8)
			pb[i] = mgpu_test_rnd();
		else
			((float *)pb)[i] = mgpu_test_rnd_float();
	/* A^T stored k x m, B^T stored n x k. */
	for (i = 0; i < m; i++)
		for (j = 0; j < k; j++)
			memcpy(pat + ((size_t)j * m + i) * es,
			       pa + ((size_t)i * k + j) * es, es);
	for (i = 0; i < k; i++)
		for (j = 0; j < n; j++)
			memcpy(pbt + ((size_t)j * k + i) * es,
			       pb + ((size_t)i * n + j) * es, es);
	for (i = 0; i < m * n; i++)
		((float *)vptr(dev, c))[i] = ((float *)vptr(dev, c2))[i] =
			mgpu_test_rnd_float();
	al = i8 ? 3 : mgpu_f2u(-1.5f);
	be = i8 ? (uint32_t)-2 : mgpu_f2u(0.25f);
	memset(&g, 0, sizeof(g));
	g.opcode = MGPU_OP_GEMM;
	g.flags = flags & MGPU_F_GEMM_INT8;
	g.a = a;
	g.b = b;
	g.c = c;
	g.m = m;
	g.n = n;
	g.k = k;
	g.alpha = al;
	g.beta = be;
	ASSERT_RUN(q, (struct mgpu_cmd *)&g, 1);
	g.flags = flags;
	g.a = ta ? at : a;
	g.b = tb ? bt : b;
	g.c = c2;
	ASSERT_RUN(q, (struct mgpu_cmd *)&g, 1);
	EXPECT_EQ(0, memcmp(vptr(dev, c), vptr(dev, c2), cb))
		TH_LOG("%ux%ux%u flags %#x: not the plain GEMM's bits", m, n,
		       k, flags);
	mgpu_vram_free(dev, a);
	mgpu_vram_free(dev, b);
	mgpu_vram_free(dev, at);
	mgpu_vram_free(dev, bt);
	mgpu_vram_free(dev, c);
	mgpu_vram_free(dev, c2);
}

TEST_F(ops, gemm_transposed)
{
	static const uint32_t shapes[][3] = {
		{ 1, 1, 1 }, { 17, 33, 257 }, { 2, 37, 4099 }, { 20, 600, 100 },
		{ 49, 35, 3 }, { 5, 3000, 70 },
	};
	static const uint32_t flags[] = {
		MGPU_F_GEMM_TRANS_A, MGPU_F_GEMM_TRANS_B,
		MGPU_F_GEMM_TRANS_A | MGPU_F_GEMM_TRANS_B,
	};
	uint32_t i, f;

	for (i = 0; i < ARRAY_SIZE(shapes); i++)
		for (f = 0; f < ARRAY_SIZE(flags); f++) {
			gemm_t_one(_metadata, self->dev, self->q, shapes[i][0],
				   shapes[i][1], shapes[i][2], flags[f]);
			gemm_t_one(_metadata, self->dev, self->q, shapes[i][0],
				   shapes[i][1], shapes[i][2],
				   flags[f] | MGPU_F_GEMM_INT8);
		}
}

/* An fp32 A^T B against double precision, as in the backward pass. */
TEST_F(ops, gemm_at_b_double)
{
	const uint32_t m = 24, n = 40, k = 300;
	uint64_t a = vram_get(_metadata, self->dev, m * k * 4, 64);
	uint64_t b = vram_get(_metadata, self->dev, k * n * 4, 64);
	uint64_t c = vram_get(_metadata, self->dev, m * n * 4, 64);
	float *pa = vptr(self->dev, a), *pb = vptr(self->dev, b);
	float *pc = vptr(self->dev, c);
	struct mgpu_cmd g;
	uint32_t i, j, p, bad = 0;
	double s, sa;

	for (i = 0; i < m * k; i++)
		pa[i] = mgpu_test_rnd_float();
	for (i = 0; i < k * n; i++)
		pb[i] = mgpu_test_rnd_float();
	mgpu_cmd_gemm_f32_trans(&g, MGPU_F_GEMM_TRANS_A | MGPU_F_GEMM_TRANS_B,
				a, b, c, m, n, k, 1.0f, 0.0f);
	ASSERT_RUN(self->q, &g, 1);
	for (i = 0; i < m; i++)
		for (j = 0; j < n; j++) {
			s = sa = 0;
			for (p = 0; p < k; p++) {
				s += (double)pa[p * m + i] * pb[j * k + p];
				sa += fabs((double)pa[p * m + i] * pb[j * k + p]);
			}
			if (fabs(pc[i * n + j] - s) > sa * k * 0x1p-24)
				bad++;
		}
	EXPECT_EQ(0, bad);
	mgpu_vram_free(self->dev, a);
	mgpu_vram_free(self->dev, b);
	mgpu_vram_free(self->dev, c);
}

TEST_F(ops, gemm_transposed_errors)
{
	uint64_t buf = vram_get(_metadata, self->dev, 4096, 64);
	struct mgpu_cmd_gemm g = {
		.opcode = MGPU_OP_GEMM, .flags = MGPU_F_GEMM_TRANS_A |
		(1U << 8), .a = buf, .b = buf + 1024, .c = buf + 2048,
		.m = 4, .n = 4, .k = 4,
	};

	expect_err(_metadata, self->q, &g, MGPU_ERR_BAD_CMD, "unknown flag");
	g.flags = MGPU_F_GEMM_TRANS_B;
	g.b = self->vram - 60;
	expect_err(_metadata, self->q, &g, MGPU_ERR_VRAM_RANGE, "B^T past VRAM");
	g.b = buf + 1026;
	expect_err(_metadata, self->q, &g, MGPU_ERR_ALIGN, "B^T misaligned");
	mgpu_vram_free(self->dev, buf);
}

MGPU_TEST_HARNESS_MAIN
