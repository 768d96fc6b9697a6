// SPDX-License-Identifier: GPL-2.0
/*
 * A whole training step of the PTB LSTM language model on an mgpu vGPU:
 * see lstm.h.
 *
 * Layout.  Every activation is stored feature-major ("transposed"): a
 * layer's gates at time t are one [4H x B] matrix, so that the i, f, g
 * and o blocks are each one contiguous [H x B] block an elementwise VEC
 * command covers in one go.  The weights are stored as the products use
 * them:
 *   W_x, W_h [4H x H]   G = W_x . x^T + W_h . h + b . 1^T
 *   W_o      [H x V]    logits [B x V] = h^T . W_o + 1 . b_o^T
 *   E        [V x H]    the embedding: the word's row is its input
 * The logits are [B x V], one row a word, as XENT wants them.  A GEMM's
 * dimensions are at most MGPU_GEMM_MAX_DIM, so a vocabulary beyond it is
 * cut into column blocks of W_o (stored one after the other, each
 * [H x w]); the blocks' logits are then assembled into whole rows with
 * COPY commands for XENT and the gradient scattered back the same way.
 *
 * Per time step t and layer l (forward):
 *   G_t   = W_x . in_t^T + W_h . h_{t-1} + b . 1^T          (3 GEMMs)
 *   i, f, o = sigmoid, g = tanh                             (3 VEC)
 *   c_t   = f * c_{t-1} + i * g;  tc_t = tanh(c_t);  h_t = o * tc_t
 * then the output layer, XENT (mean loss over the batch, gradient / B)
 * and the output layer's gradients, which do not depend on time.
 * Backward, t from T-1 down, layers from the top:
 *   dh  = dh_next + (dlogits part, or the gradient of the layer above)
 *   dG_o = dh * tc * o (1 - o);  dc = dc_next + dh * o * (1 - tc^2)
 *   dG_i = dc * g * i (1 - i);  dG_g = dc * i * (1 - g^2)
 *   dG_f = dc * c_{t-1} * f (1 - f);  dc_next = dc * f
 *   dW_x += dG . in_t;  dW_h += dG . h_{t-1}^T;  db += dG . 1
 *   dh_next = W_h^T . dG;  d in_t = W_x^T . dG
 * and the embedding rows of the step's words get -lr * d in_t (VEC AXPY,
 * one per word).  Then every parameter gets W -= lr * dW (VEC AXPY), the
 * last hidden and cell states become the next step's first ones (COPY),
 * and a FENCE stores the step's number in VRAM.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lstm.h"

#define NONE		UINT64_MAX
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
/* Waiting for a step: poll the fence in VRAM; read the queue's status
 * only once the step took far longer than the last one, to notice a
 * queue stopped on an error without a trap per poll.
 */
#define WAIT_FIRST_CHECK_NS	2000000000ull
#define WAIT_CHECK_NS		1000000000ull
#define WAIT_TIMEOUT_NS		(600ull * 1000000000ull)

struct train_layer {
	uint64_t wx, wh, b, dwx, dwh, db;	/* parameters, gradients */
	uint64_t h0, c0;			/* carried state [H x B] */
	uint64_t g, c, tc, h;			/* T x [4H|H x B] */
	uint64_t dhn, dcn;			/* dh_next, dc_next */
};

struct ref_model;

struct lstm_train {
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	struct lstm_train_cfg cfg;
	unsigned int nb;		/* column blocks of W_o */
	unsigned int *v0, *w;		/* each block's first column, width */
	uint64_t arena;
	uint64_t used, size;
	/* VRAM offsets */
	uint64_t e, wo, dwo, bo, dbo, ones, lg, lgb, tgt, loss;
	uint64_t x0, dx0, dh, dc, tmp, dx, dg, dhtop;
	struct train_layer *ly;
	/* the command stream of one step */
	struct mgpu_cmd *cmds;
	unsigned int ncmds, cap;
	uint64_t flops;
	uint64_t seq;
	uint64_t last_ns;
	/* corpus: B streams of clen words */
	int32_t *corpus;
	unsigned int clen, pos;
	struct ref_model *ref;
	char err[200];
};

static void terr(struct lstm_train *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static float frnd(uint32_t *s, float scale)
{
	return scale * ((float)(rnd(s) & 0xffff) / 32768.0f - 1.0f);
}

void lstm_train_default_cfg(struct lstm_train_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->batch = 20;
	cfg->hidden = 200;
	cfg->vocab = 10000;
	cfg->steps = 20;
	cfg->layers = 2;
	cfg->lr = 1.0f;
	cfg->seed = 2024;
}

static unsigned int vblocks(unsigned int v)
{
	return (v + MGPU_GEMM_MAX_DIM - 1) / MGPU_GEMM_MAX_DIM;
}

/* Floats of each buffer, in allocation order; see lstm_train_init(). */
static uint64_t floats_needed(const struct lstm_train_cfg *c)
{
	uint64_t B = c->batch, H = c->hidden, V = c->vocab, T = c->steps;
	uint64_t L = c->layers, HB = H * B, n;

	n = 3 * V * H + 2 * V;				/* E, W_o, dW_o, b_o, db_o */
	n += L * (4 * 4 * H * H + 2 * 4 * H + 2 * HB + T * 7 * HB + 2 * HB);
	n += B + 2 * B * V + T * B + T + 2;		/* ones, logits, tgt, loss, fence */
	n += T * B * H + B * H + 4 * HB + 4 * HB + T * HB;
	return n;
}

uint64_t lstm_train_vram_bytes(const struct lstm_train_cfg *cfg)
{
	/* each buffer is 64-byte aligned: at most 64 of them per layer */
	return floats_needed(cfg) * 4 + 64 * (32 + 16 * (uint64_t)cfg->layers);
}

static uint64_t carve(struct lstm_train *t, uint64_t floats)
{
	uint64_t off = t->arena + t->used;

	t->used += (floats * 4 + 63) & ~63ull;
	return off;
}

#define F(off, i)	((off) + 4 * (uint64_t)(i))

static struct mgpu_cmd *next_cmd(struct lstm_train *t)
{
	return &t->cmds[t->ncmds++];
}

static void gemm(struct lstm_train *t, uint32_t flags, uint64_t a, uint64_t b,
		 uint64_t c, uint32_t m, uint32_t n, uint32_t k, float beta)
{
	mgpu_cmd_gemm_f32_trans(next_cmd(t), flags, a, b, c, m, n, k, 1.0f,
				beta);
	t->flops += 2ull * m * n * k;
}

static void vec(struct lstm_train *t, uint32_t op, uint64_t x, uint64_t y,
		uint64_t z, uint32_t n, float alpha)
{
	mgpu_cmd_vec(next_cmd(t), op, x, y, z, n, alpha);
}

static void copy(struct lstm_train *t, uint64_t dst, uint64_t src,
		 uint64_t bytes)
{
	mgpu_cmd_copy(next_cmd(t), dst, src, bytes, 0);
}

static int32_t word(const struct lstm_train *t, unsigned int b,
		    unsigned int i)
{
	return t->corpus[(uint64_t)b * t->clen + i % t->clen];
}

/* ---------------------------------------------------------------------- */
/* The command stream of one step                                         */

static void build_forward(struct lstm_train *t)
{
	const unsigned int B = t->cfg.batch, H = t->cfg.hidden;
	const unsigned int V = t->cfg.vocab, T = t->cfg.steps;
	const unsigned int L = t->cfg.layers, HB = H * B;
	struct train_layer *top = &t->ly[L - 1];
	unsigned int s, l, b, j;

	/* the step's words' embeddings: x0[t] is [B x H] */
	for (s = 0; s < T; s++)
		for (b = 0; b < B; b++)
			copy(t, F(t->x0, ((uint64_t)s * B + b) * H),
			     F(t->e, (uint64_t)word(t, b, t->pos + s) * H),
			     4ull * H);

	for (s = 0; s < T; s++) {
		for (l = 0; l < L; l++) {
			struct train_layer *y = &t->ly[l];
			uint64_t g = F(y->g, (uint64_t)s * 4 * HB);
			uint64_t c = F(y->c, (uint64_t)s * HB);
			uint64_t tc = F(y->tc, (uint64_t)s * HB);
			uint64_t h = F(y->h, (uint64_t)s * HB);
			uint64_t hp = s ? F(y->h, (uint64_t)(s - 1) * HB) : y->h0;
			uint64_t cp = s ? F(y->c, (uint64_t)(s - 1) * HB) : y->c0;

			if (l == 0)
				gemm(t, MGPU_F_GEMM_TRANS_B, y->wx,
				     F(t->x0, (uint64_t)s * B * H), g, 4 * H, B,
				     H, 0.0f);
			else
				gemm(t, 0, y->wx, F(t->ly[l - 1].h,
						    (uint64_t)s * HB),
				     g, 4 * H, B, H, 0.0f);
			gemm(t, 0, y->wh, hp, g, 4 * H, B, H, 1.0f);
			gemm(t, 0, y->b, t->ones, g, 4 * H, B, 1, 1.0f);
			vec(t, MGPU_VEC_SIGMOID, g, 0, g, 2 * HB, 0);
			vec(t, MGPU_VEC_TANH, F(g, 2 * HB), 0, F(g, 2 * HB),
			    HB, 0);
			vec(t, MGPU_VEC_SIGMOID, F(g, 3 * HB), 0, F(g, 3 * HB),
			    HB, 0);
			vec(t, MGPU_VEC_MUL, F(g, HB), cp, c, HB, 0);
			vec(t, MGPU_VEC_MUL, g, F(g, 2 * HB), t->tmp, HB, 0);
			vec(t, MGPU_VEC_ADD, c, t->tmp, c, HB, 0);
			vec(t, MGPU_VEC_TANH, c, 0, tc, HB, 0);
			vec(t, MGPU_VEC_MUL, F(g, 3 * HB), tc, h, HB, 0);
		}

		/* output layer: logits, loss, and its gradients */
		for (j = 0; j < t->nb; j++) {
			uint64_t out = t->nb == 1 ? t->lg :
				F(t->lgb, (uint64_t)B * t->v0[j]);

			gemm(t, MGPU_F_GEMM_TRANS_A, F(top->h, (uint64_t)s * HB),
			     F(t->wo, (uint64_t)H * t->v0[j]), out, B, t->w[j],
			     H, 0.0f);
			gemm(t, 0, t->ones, F(t->bo, t->v0[j]), out, B, t->w[j],
			     1, 1.0f);
		}
		for (b = 0; t->nb > 1 && b < B; b++)
			for (j = 0; j < t->nb; j++)
				copy(t, F(t->lg, (uint64_t)b * V + t->v0[j]),
				     F(t->lgb, (uint64_t)B * t->v0[j] +
				       (uint64_t)b * t->w[j]), 4ull * t->w[j]);
		mgpu_cmd_xent(next_cmd(t), t->lg, F(t->tgt, (uint64_t)s * B),
			      t->lg, F(t->loss, s), B, V,
			      MGPU_F_XENT_MEAN | MGPU_F_XENT_SCALE);
		for (b = 0; t->nb > 1 && b < B; b++)
			for (j = 0; j < t->nb; j++)
				copy(t, F(t->lgb, (uint64_t)B * t->v0[j] +
					  (uint64_t)b * t->w[j]),
				     F(t->lg, (uint64_t)b * V + t->v0[j]),
				     4ull * t->w[j]);
		for (j = 0; j < t->nb; j++) {
			uint64_t dl = t->nb == 1 ? t->lg :
				F(t->lgb, (uint64_t)B * t->v0[j]);

			gemm(t, 0, F(top->h, (uint64_t)s * HB), dl,
			     F(t->dwo, (uint64_t)H * t->v0[j]), H, t->w[j], B,
			     s ? 1.0f : 0.0f);
			gemm(t, 0, t->ones, dl, F(t->dbo, t->v0[j]), 1, t->w[j],
			     B, s ? 1.0f : 0.0f);
			gemm(t, MGPU_F_GEMM_TRANS_B,
			     F(t->wo, (uint64_t)H * t->v0[j]), dl,
			     F(t->dhtop, (uint64_t)s * HB), H, B, t->w[j],
			     j ? 1.0f : 0.0f);
		}
	}
}

static void build_backward(struct lstm_train *t)
{
	const unsigned int B = t->cfg.batch, H = t->cfg.hidden;
	const unsigned int T = t->cfg.steps, L = t->cfg.layers, HB = H * B;
	const float lr = t->cfg.lr;
	unsigned int s, l, b;

	for (l = 0; l < L; l++) {
		mgpu_cmd_fill(next_cmd(t), t->ly[l].dhn, 4ull * HB, 0, 0);
		mgpu_cmd_fill(next_cmd(t), t->ly[l].dcn, 4ull * HB, 0, 0);
	}
	for (s = T; s-- > 0;) {
		for (l = L; l-- > 0;) {
			struct train_layer *y = &t->ly[l];
			uint64_t g = F(y->g, (uint64_t)s * 4 * HB);
			uint64_t tc = F(y->tc, (uint64_t)s * HB);
			uint64_t hp = s ? F(y->h, (uint64_t)(s - 1) * HB) : y->h0;
			uint64_t cp = s ? F(y->c, (uint64_t)(s - 1) * HB) : y->c0;
			uint64_t above = l == L - 1 ?
				F(t->dhtop, (uint64_t)s * HB) : t->dx;
			uint64_t gi = g, gf = F(g, HB), gg = F(g, 2 * HB);
			uint64_t go = F(g, 3 * HB), dg = t->dg;
			float beta = s == T - 1 ? 0.0f : 1.0f;

			vec(t, MGPU_VEC_ADD, y->dhn, above, t->dh, HB, 0);
			vec(t, MGPU_VEC_MUL, t->dh, tc, F(dg, 3 * HB), HB, 0);
			vec(t, MGPU_VEC_DSIGMOID, go, F(dg, 3 * HB),
			    F(dg, 3 * HB), HB, 0);
			vec(t, MGPU_VEC_MUL, t->dh, go, t->tmp, HB, 0);
			vec(t, MGPU_VEC_DTANH, tc, t->tmp, t->tmp, HB, 0);
			vec(t, MGPU_VEC_ADD, y->dcn, t->tmp, t->dc, HB, 0);
			vec(t, MGPU_VEC_MUL, t->dc, gg, dg, HB, 0);
			vec(t, MGPU_VEC_DSIGMOID, gi, dg, dg, HB, 0);
			vec(t, MGPU_VEC_MUL, t->dc, gi, F(dg, 2 * HB), HB, 0);
			vec(t, MGPU_VEC_DTANH, gg, F(dg, 2 * HB),
			    F(dg, 2 * HB), HB, 0);
			vec(t, MGPU_VEC_MUL, t->dc, cp, F(dg, HB), HB, 0);
			vec(t, MGPU_VEC_DSIGMOID, gf, F(dg, HB), F(dg, HB), HB,
			    0);
			vec(t, MGPU_VEC_MUL, t->dc, gf, y->dcn, HB, 0);

			if (l == 0)
				gemm(t, 0, dg, F(t->x0, (uint64_t)s * B * H),
				     y->dwx, 4 * H, H, B, beta);
			else
				gemm(t, MGPU_F_GEMM_TRANS_B, dg,
				     F(t->ly[l - 1].h, (uint64_t)s * HB),
				     y->dwx, 4 * H, H, B, beta);
			gemm(t, MGPU_F_GEMM_TRANS_B, dg, hp, y->dwh, 4 * H, H,
			     B, beta);
			gemm(t, 0, dg, t->ones, y->db, 4 * H, 1, B, beta);
			gemm(t, MGPU_F_GEMM_TRANS_A, y->wh, dg, y->dhn, H, B,
			     4 * H, 0.0f);
			if (l) {
				gemm(t, MGPU_F_GEMM_TRANS_A, y->wx, dg, t->dx, H,
				     B, 4 * H, 0.0f);
				continue;
			}
			/* the embedding: [B x H] = dG^T . W_x, then SGD rows */
			gemm(t, MGPU_F_GEMM_TRANS_A, dg, y->wx, t->dx0, B, H,
			     4 * H, 0.0f);
			for (b = 0; b < B; b++) {
				uint64_t row = F(t->e, (uint64_t)word(t, b, t->pos + s) * H);

				vec(t, MGPU_VEC_AXPY, F(t->dx0, (uint64_t)b * H),
				    row, row, H, -lr);
			}
		}
	}
}

static void build_update(struct lstm_train *t)
{
	const unsigned int H = t->cfg.hidden, V = t->cfg.vocab;
	const unsigned int T = t->cfg.steps, HB = H * t->cfg.batch;
	const float lr = t->cfg.lr;
	unsigned int l;

	for (l = 0; l < t->cfg.layers; l++) {
		struct train_layer *y = &t->ly[l];

		vec(t, MGPU_VEC_AXPY, y->dwx, y->wx, y->wx, 4 * H * H, -lr);
		vec(t, MGPU_VEC_AXPY, y->dwh, y->wh, y->wh, 4 * H * H, -lr);
		vec(t, MGPU_VEC_AXPY, y->db, y->b, y->b, 4 * H, -lr);
		copy(t, y->h0, F(y->h, (uint64_t)(T - 1) * HB), 4ull * HB);
		copy(t, y->c0, F(y->c, (uint64_t)(T - 1) * HB), 4ull * HB);
	}
	vec(t, MGPU_VEC_AXPY, t->dwo, t->wo, t->wo, H * V, -lr);
	vec(t, MGPU_VEC_AXPY, t->dbo, t->bo, t->bo, V, -lr);
}

/* Commands of one step, an upper bound for the ring. */
static unsigned int cmds_needed(const struct lstm_train_cfg *c,
				unsigned int nb)
{
	uint64_t B = c->batch, T = c->steps, L = c->layers, n;

	n = T * B + T * L * 11 + T * (2 * nb + 1 + 3 * nb);
	if (nb > 1)
		n += T * 2 * B * nb;
	n += 2 * L + T * L * 19 + T * B + L * 5 + 2 + 1;
	return n > 65000 ? 0 : (unsigned int)n;
}

/* ---------------------------------------------------------------------- */
/* The CPU reference, in double precision                                 */

struct ref_model {
	unsigned int B, H, V, T, L;
	float *e, *wo, *bo;		/* same layouts as on the device */
	float *e0;			/* E before the step */
	float **wx, **wh, **b;
	float **h0, **c0;		/* [B][H] here: per word */
	double **g, **c, **h, **tc;	/* per layer: [T][B][4H or H] */
	double *dhtop;			/* [T][B][H] */
	double *dwo, *dbo, **dwx, **dwh, **db, *de;
	double *p;			/* [V] */
	double *dh, *dc, *dhn, *dcn, *dx, *dz; /* [B][H], dz [B][4H] */
};

static void *zalloc(size_t n, size_t size, int *fail)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		*fail = 1;
	return p;
}

static void ref_free(struct ref_model *r)
{
	unsigned int l;

	if (!r)
		return;
	for (l = 0; l < r->L; l++) {
		if (r->wx)
			free(r->wx[l]);
		if (r->wh)
			free(r->wh[l]);
		if (r->b)
			free(r->b[l]);
		if (r->h0)
			free(r->h0[l]);
		if (r->c0)
			free(r->c0[l]);
		if (r->g)
			free(r->g[l]);
		if (r->c)
			free(r->c[l]);
		if (r->h)
			free(r->h[l]);
		if (r->tc)
			free(r->tc[l]);
		if (r->dwx)
			free(r->dwx[l]);
		if (r->dwh)
			free(r->dwh[l]);
		if (r->db)
			free(r->db[l]);
	}
	void *all[] = { r->e0, r->wx, r->wh, r->b, r->h0, r->c0, r->g, r->c, r->h,
			r->tc, r->dwx, r->dwh, r->db, r->e, r->wo, r->bo,
			r->dhtop, r->dwo, r->dbo, r->de, r->p, r->dh, r->dc,
			r->dhn, r->dcn, r->dx, r->dz, r };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all); i++)
		free(all[i]);
}

static struct ref_model *ref_alloc(const struct lstm_train_cfg *c)
{
	const size_t B = c->batch, H = c->hidden, V = c->vocab, T = c->steps;
	const size_t L = c->layers;
	struct ref_model *r = calloc(1, sizeof(*r));
	int fail = 0;
	size_t l;

	if (!r)
		return NULL;
	r->B = B;
	r->H = H;
	r->V = V;
	r->T = T;
	r->L = L;
	r->e = zalloc(V * H, sizeof(float), &fail);
	r->e0 = zalloc(V * H, sizeof(float), &fail);
	r->wo = zalloc(H * V, sizeof(float), &fail);
	r->bo = zalloc(V, sizeof(float), &fail);
	r->dhtop = zalloc(T * B * H, sizeof(double), &fail);
	r->dwo = zalloc(H * V, sizeof(double), &fail);
	r->dbo = zalloc(V, sizeof(double), &fail);
	r->de = zalloc(V * H, sizeof(double), &fail);
	r->p = zalloc(V, sizeof(double), &fail);
	r->dh = zalloc(B * H, sizeof(double), &fail);
	r->dc = zalloc(B * H, sizeof(double), &fail);
	r->dhn = zalloc(L * B * H, sizeof(double), &fail);
	r->dcn = zalloc(L * B * H, sizeof(double), &fail);
	r->dx = zalloc(B * H, sizeof(double), &fail);
	r->dz = zalloc(B * 4 * H, sizeof(double), &fail);
#define PERLAYER(f, n, sz)						\
	do {								\
		r->f = zalloc(L, sizeof(*r->f), &fail);			\
		for (l = 0; r->f && l < L; l++)				\
			r->f[l] = zalloc(n, sz, &fail);			\
	} while (0)
	PERLAYER(wx, 4 * H * H, sizeof(float));
	PERLAYER(wh, 4 * H * H, sizeof(float));
	PERLAYER(b, 4 * H, sizeof(float));
	PERLAYER(h0, B * H, sizeof(float));
	PERLAYER(c0, B * H, sizeof(float));
	PERLAYER(g, T * B * 4 * H, sizeof(double));
	PERLAYER(c, T * B * H, sizeof(double));
	PERLAYER(h, T * B * H, sizeof(double));
	PERLAYER(tc, T * B * H, sizeof(double));
	PERLAYER(dwx, 4 * H * H, sizeof(double));
	PERLAYER(dwh, 4 * H * H, sizeof(double));
	PERLAYER(db, 4 * H, sizeof(double));
#undef PERLAYER
	if (fail) {
		ref_free(r);
		return NULL;
	}
	return r;
}

static double sigm(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* W_o's element (p, v) in the block layout of the device. */
static size_t wo_at(const struct lstm_train *t, size_t p, size_t v)
{
	unsigned int j = 0;

	while (j + 1 < t->nb && v >= t->v0[j + 1])
		j++;
	return (size_t)t->cfg.hidden * t->v0[j] + p * t->w[j] + (v - t->v0[j]);
}

/*
 * Start the reference from the device's parameters and carried state, so
 * that each step is compared from the same point (rounding differences
 * would otherwise grow along the training trajectory).
 */
static void ref_sync(struct lstm_train *t)
{
	struct ref_model *r = t->ref;
	const size_t B = r->B, H = r->H, V = r->V;
	const float *h0, *c0;
	size_t l, b, k;

	memcpy(r->e, mgpu_vram_ptr(t->dev, t->e), 4 * V * H);
	memcpy(r->e0, r->e, 4 * V * H);
	memcpy(r->wo, mgpu_vram_ptr(t->dev, t->wo), 4 * H * V);
	memcpy(r->bo, mgpu_vram_ptr(t->dev, t->bo), 4 * V);
	for (l = 0; l < r->L; l++) {
		memcpy(r->wx[l], mgpu_vram_ptr(t->dev, t->ly[l].wx), 16 * H * H);
		memcpy(r->wh[l], mgpu_vram_ptr(t->dev, t->ly[l].wh), 16 * H * H);
		memcpy(r->b[l], mgpu_vram_ptr(t->dev, t->ly[l].b), 16 * H);
		h0 = mgpu_vram_ptr(t->dev, t->ly[l].h0);
		c0 = mgpu_vram_ptr(t->dev, t->ly[l].c0);
		for (b = 0; b < B; b++)
			for (k = 0; k < H; k++) {
				r->h0[l][b * H + k] = h0[k * B + b];
				r->c0[l][b * H + k] = c0[k * B + b];
			}
	}
}

/* One step on the CPU; returns the mean loss a word. */
static double ref_step(struct lstm_train *t)
{
	struct ref_model *r = t->ref;
	const size_t B = r->B, H = r->H, V = r->V, T = r->T, L = r->L;
	const double lr = t->cfg.lr;
	double loss = 0;
	size_t s, l, b, k, p, v;

	memset(r->dwo, 0, H * V * sizeof(double));
	memset(r->dbo, 0, V * sizeof(double));
	memset(r->de, 0, V * H * sizeof(double));
	for (l = 0; l < L; l++) {
		memset(r->dwx[l], 0, 4 * H * H * sizeof(double));
		memset(r->dwh[l], 0, 4 * H * H * sizeof(double));
		memset(r->db[l], 0, 4 * H * sizeof(double));
	}
	for (s = 0; s < T; s++) {
		for (b = 0; b < B; b++) {
			int32_t w = word(t, b, t->pos + s);
			int32_t tg = word(t, b, t->pos + s + 1);
			double *htop, mx, sum;

			for (l = 0; l < L; l++) {
				double *g = r->g[l] + (s * B + b) * 4 * H;
				double *c = r->c[l] + (s * B + b) * H;
				double *h = r->h[l] + (s * B + b) * H;
				double *tc = r->tc[l] + (s * B + b) * H;
				double in[4096], hp[4096], cp;

				for (p = 0; p < H; p++) {
					in[p] = l ? r->h[l - 1][(s * B + b) * H + p] :
						r->e[(size_t)w * H + p];
					hp[p] = s ? r->h[l][((s - 1) * B + b) * H + p] :
						r->h0[l][b * H + p];
				}
				for (k = 0; k < 4 * H; k++) {
					double z = r->b[l][k];

					for (p = 0; p < H; p++)
						z += (double)r->wx[l][k * H + p] * in[p] +
						     (double)r->wh[l][k * H + p] * hp[p];
					g[k] = (k >= 2 * H && k < 3 * H) ? tanh(z) : sigm(z);
				}
				for (k = 0; k < H; k++) {
					cp = s ? r->c[l][((s - 1) * B + b) * H + k] :
						r->c0[l][b * H + k];
					c[k] = g[H + k] * cp + g[k] * g[2 * H + k];
					tc[k] = tanh(c[k]);
					h[k] = g[3 * H + k] * tc[k];
				}
			}
			htop = r->h[L - 1] + (s * B + b) * H;
			mx = -INFINITY;
			for (v = 0; v < V; v++) {
				double z = r->bo[v];

				for (p = 0; p < H; p++)
					z += htop[p] * r->wo[wo_at(t, p, v)];
				r->p[v] = z;
				if (z > mx)
					mx = z;
			}
			sum = 0;
			for (v = 0; v < V; v++) {
				r->p[v] = exp(r->p[v] - mx);
				sum += r->p[v];
			}
			loss += log(sum) - (r->p[tg] > 0 ? log(r->p[tg]) : -INFINITY);
			for (p = 0; p < H; p++)
				r->dhtop[(s * B + b) * H + p] = 0;
			for (v = 0; v < V; v++) {
				double d = (r->p[v] / sum - (v == (size_t)tg)) / B;

				r->dbo[v] += d;
				for (p = 0; p < H; p++) {
					size_t at = wo_at(t, p, v);

					r->dwo[at] += htop[p] * d;
					r->dhtop[(s * B + b) * H + p] += r->wo[at] * d;
				}
			}
		}
	}

	/* backward through time */
	memset(r->dhn, 0, L * B * H * sizeof(double));
	memset(r->dcn, 0, L * B * H * sizeof(double));
	for (s = T; s-- > 0;) {
		for (l = L; l-- > 0;) {
			double *dhn = r->dhn + l * B * H, *dcn = r->dcn + l * B * H;

			for (b = 0; b < B; b++) {
				const double *g = r->g[l] + (s * B + b) * 4 * H;
				const double *tc = r->tc[l] + (s * B + b) * H;
				double *dz = r->dz + b * 4 * H;

				for (k = 0; k < H; k++) {
					double dh = dhn[b * H + k] + (l == L - 1 ?
						r->dhtop[(s * B + b) * H + k] :
						r->dx[b * H + k]);
					double i = g[k], f = g[H + k], gg = g[2 * H + k];
					double o = g[3 * H + k], cp, dc;

					cp = s ? r->c[l][((s - 1) * B + b) * H + k] :
						r->c0[l][b * H + k];
					dc = dcn[b * H + k] + dh * o * (1 - tc[k] * tc[k]);
					dz[3 * H + k] = dh * tc[k] * o * (1 - o);
					dz[k] = dc * gg * i * (1 - i);
					dz[2 * H + k] = dc * i * (1 - gg * gg);
					dz[H + k] = dc * cp * f * (1 - f);
					dcn[b * H + k] = dc * f;
				}
			}
			for (b = 0; b < B; b++) {
				const double *dz = r->dz + b * 4 * H;
				int32_t w = word(t, b, t->pos + s);

				for (k = 0; k < 4 * H; k++) {
					r->db[l][k] += dz[k];
					for (p = 0; p < H; p++) {
						double in = l ?
							r->h[l - 1][(s * B + b) * H + p] :
							r->e[(size_t)w * H + p];
						double hp = s ?
							r->h[l][((s - 1) * B + b) * H + p] :
							r->h0[l][b * H + p];

						r->dwx[l][k * H + p] += dz[k] * in;
						r->dwh[l][k * H + p] += dz[k] * hp;
					}
				}
				for (p = 0; p < H; p++) {
					double sx = 0, sh = 0;

					for (k = 0; k < 4 * H; k++) {
						sx += r->wx[l][k * H + p] * dz[k];
						sh += r->wh[l][k * H + p] * dz[k];
					}
					dhn[b * H + p] = sh;
					if (l)
						r->dx[b * H + p] = sx;
					else
						r->de[(size_t)w * H + p] += sx;
				}
			}
		}
	}

	/* SGD, and the state carried to the next step */
	for (l = 0; l < L; l++) {
		for (k = 0; k < 4 * H * H; k++) {
			r->wx[l][k] = (float)(r->wx[l][k] - lr * r->dwx[l][k]);
			r->wh[l][k] = (float)(r->wh[l][k] - lr * r->dwh[l][k]);
		}
		for (k = 0; k < 4 * H; k++)
			r->b[l][k] = (float)(r->b[l][k] - lr * r->db[l][k]);
		for (k = 0; k < B * H; k++) {
			r->h0[l][k] = (float)r->h[l][(T - 1) * B * H + k];
			r->c0[l][k] = (float)r->c[l][(T - 1) * B * H + k];
		}
	}
	for (k = 0; k < H * V; k++)
		r->wo[k] = (float)(r->wo[k] - lr * r->dwo[k]);
	for (k = 0; k < V; k++)
		r->bo[k] = (float)(r->bo[k] - lr * r->dbo[k]);
	for (k = 0; k < V * H; k++)
		r->e[k] = (float)(r->e[k] - lr * r->de[k]);
	return loss / (T * B);
}

/* ---------------------------------------------------------------------- */

/* The corpus: B streams of a seeded Markov chain (see lstm.h). */
static int make_corpus(struct lstm_train *t)
{
	const unsigned int B = t->cfg.batch, V = t->cfg.vocab;
	uint32_t s = t->cfg.seed * 2654435761u + 1, *succ;
	unsigned int b, i, v, cur;

	t->clen = 64 * t->cfg.steps + 1;
	t->corpus = calloc((size_t)B * t->clen, sizeof(*t->corpus));
	succ = calloc((size_t)V * 3, sizeof(*succ));
	if (!t->corpus || !succ) {
		free(succ);
		return -ENOMEM;
	}
	for (v = 0; v < V * 3; v++)
		succ[v] = rnd(&s) % V;
	for (b = 0; b < B; b++) {
		cur = rnd(&s) % V;
		for (i = 0; i < t->clen; i++) {
			uint32_t u = rnd(&s) % 10;

			t->corpus[(size_t)b * t->clen + i] = cur;
			cur = succ[cur * 3 + (u < 6 ? 0 : u < 9 ? 1 : 2)];
		}
	}
	free(succ);
	return 0;
}

static int check_cfg(const struct lstm_train_cfg *c, char *msg, size_t len)
{
	const char *why = NULL;

	if (!c->batch || !c->hidden || !c->vocab || !c->steps || !c->layers)
		why = "every dimension must be at least 1";
	else if (c->hidden > 2048 || 4 * c->hidden > MGPU_GEMM_MAX_DIM)
		why = "hidden is at most 2048";
	else if (c->batch > MGPU_GEMM_MAX_DIM)
		why = "batch is too large";
	else if (c->vocab > MGPU_XENT_MAX_N)
		why = "vocab is at most MGPU_XENT_MAX_N (16384)";
	else if (c->layers > 8 || c->steps > 1000)
		why = "at most 8 layers and 1000 time steps";
	else if (!(c->lr > 0 && c->lr < 100))
		why = "lr must be in (0, 100)";
	else if (!cmds_needed(c, vblocks(c->vocab)))
		why = "one step would need more than 65000 commands";
	if (why)
		snprintf(msg, len, "%s", why);
	return why ? -EINVAL : 0;
}

int lstm_train_init(struct mgpu_dev *dev, const struct lstm_train_cfg *cfg,
		    struct lstm_train **tp, char *msg, size_t len)
{
	const unsigned int B = cfg->batch, H = cfg->hidden, V = cfg->vocab;
	const unsigned int T = cfg->steps, L = cfg->layers, HB = H * B;
	unsigned int entries = 2, need, j, l, qflags = 0;
	struct lstm_train *t;
	uint32_t rs;
	float *f;
	uint64_t i;
	int ret;

	*tp = NULL;
	ret = check_cfg(cfg, msg, len);
	if (ret)
		return ret;
	if (!(mgpu_caps(dev) & MGPU_CAP_TRAIN_OPS)) {
		snprintf(msg, len, "the device lacks MGPU_CAP_TRAIN_OPS (device version %#x)",
			 mgpu_hw_version(dev));
		return -EOPNOTSUPP;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	t->dev = dev;
	t->cfg = *cfg;
	t->arena = NONE;
	t->nb = vblocks(V);
	t->v0 = calloc(t->nb, sizeof(*t->v0));
	t->w = calloc(t->nb, sizeof(*t->w));
	need = cmds_needed(cfg, t->nb);
	t->cap = need;
	t->cmds = calloc(need, sizeof(*t->cmds));
	t->ly = calloc(L, sizeof(*t->ly));
	if (!t->v0 || !t->w || !t->cmds || !t->ly || make_corpus(t)) {
		snprintf(msg, len, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	for (j = 0; j < t->nb; j++) {
		t->v0[j] = (uint64_t)V * j / t->nb;
		t->w[j] = (uint64_t)V * (j + 1) / t->nb - t->v0[j];
	}

	t->size = lstm_train_vram_bytes(cfg);
	ret = mgpu_vram_alloc(dev, t->size, 64, &t->arena);
	if (ret) {
		snprintf(msg, len, "%llu MiB of VRAM for the model: %s %s",
			 (unsigned long long)(t->size >> 20), mgpu_strerror(ret),
			 mgpu_last_error());
		t->arena = NONE;
		goto fail;
	}
	t->e = carve(t, (uint64_t)V * H);
	t->wo = carve(t, (uint64_t)H * V);
	t->dwo = carve(t, (uint64_t)H * V);
	t->bo = carve(t, V);
	t->dbo = carve(t, V);
	for (l = 0; l < L; l++) {
		struct train_layer *y = &t->ly[l];

		y->wx = carve(t, 4ull * H * H);
		y->wh = carve(t, 4ull * H * H);
		y->dwx = carve(t, 4ull * H * H);
		y->dwh = carve(t, 4ull * H * H);
		y->b = carve(t, 4ull * H);
		y->db = carve(t, 4ull * H);
		y->h0 = carve(t, HB);
		y->c0 = carve(t, HB);
		y->g = carve(t, (uint64_t)T * 4 * HB);
		y->c = carve(t, (uint64_t)T * HB);
		y->tc = carve(t, (uint64_t)T * HB);
		y->h = carve(t, (uint64_t)T * HB);
		y->dhn = carve(t, HB);
		y->dcn = carve(t, HB);
	}
	t->ones = carve(t, B);
	t->lg = carve(t, (uint64_t)B * V);
	t->lgb = carve(t, (uint64_t)B * V);
	t->tgt = carve(t, (uint64_t)T * B);
	t->loss = carve(t, T);
	t->x0 = carve(t, (uint64_t)T * B * H);
	t->dx0 = carve(t, (uint64_t)B * H);
	t->dh = carve(t, HB);
	t->dc = carve(t, HB);
	t->tmp = carve(t, HB);
	t->dx = carve(t, HB);
	t->dg = carve(t, 4ull * HB);
	t->dhtop = carve(t, (uint64_t)T * HB);
	if (t->used > t->size) {
		snprintf(msg, len, "internal: VRAM layout overflows (%llu > %llu)",
			 (unsigned long long)t->used, (unsigned long long)t->size);
		ret = -EOVERFLOW;
		goto fail;
	}

	/* Zaremba et al.: uniform in [-0.1, 0.1]; biases 0. */
	memset(mgpu_vram_ptr(dev, t->arena), 0, t->used);
	rs = cfg->seed;
	f = mgpu_vram_ptr(dev, t->e);
	for (i = 0; i < (uint64_t)V * H; i++)
		f[i] = frnd(&rs, 0.1f);
	f = mgpu_vram_ptr(dev, t->wo);
	for (i = 0; i < (uint64_t)H * V; i++)
		f[i] = frnd(&rs, 0.1f);
	for (l = 0; l < L; l++) {
		f = mgpu_vram_ptr(dev, t->ly[l].wx);
		for (i = 0; i < 4ull * H * H; i++)
			f[i] = frnd(&rs, 0.1f);
		f = mgpu_vram_ptr(dev, t->ly[l].wh);
		for (i = 0; i < 4ull * H * H; i++)
			f[i] = frnd(&rs, 0.1f);
	}
	f = mgpu_vram_ptr(dev, t->ones);
	for (i = 0; i < B; i++)
		f[i] = 1.0f;

	if (cfg->reference) {
		t->ref = ref_alloc(cfg);
		if (!t->ref) {
			snprintf(msg, len, "out of memory for the CPU reference");
			ret = -ENOMEM;
			goto fail;
		}
	}

	if (cfg->irq) {
		ret = mgpu_irq_enable(dev);
		if (!ret && mgpu_irq_mode(dev) != MGPU_IRQ_MSI)
			ret = -EOPNOTSUPP;
		if (ret) {
			snprintf(msg, len, "completion by interrupt needs MSI through VFIO: %s",
				 mgpu_strerror(ret));
			goto fail;
		}
	}
	while (entries < need + 3)
		entries *= 2;
	if (mgpu_caps(dev) & MGPU_CAP_TAIL_POLL)
		qflags |= MGPU_QUEUE_TAIL_POLL;
	ret = mgpu_queue_open(dev, cfg->queue, entries, qflags, &t->q);
	if (ret) {
		snprintf(msg, len, "queue %u with %u entries: %s %s", cfg->queue,
			 entries, mgpu_strerror(ret), mgpu_last_error());
		goto fail;
	}
	*tp = t;
	return 0;
fail:
	lstm_train_free(t);
	return ret;
}

/* Consume the eventfd's count, if any; true if there was one. */
static bool irq_take(struct lstm_train *t, int timeout_ms)
{
	struct pollfd pfd = { .fd = mgpu_irq_fd(t->dev), .events = POLLIN };
	uint64_t count;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	return read(pfd.fd, &count, sizeof(count)) == sizeof(count);
}

/*
 * Wait for the step's fence in VRAM.  Polled: spin, then sleep with a
 * backoff (see cap_us).  With @irq: sleep on the interrupt eventfd;
 * once the fence is there, acknowledge its MSI (INT_STATUS, the step's
 * one trap) so that the next fence raises one again.  Either way the queue's error
 * register is read only when the step runs long (WAIT_FIRST_CHECK_NS),
 * or after an interrupt that brought no fence (a queue stopped).
 */
static int wait_step(struct lstm_train *t, uint64_t seq, uint64_t start,
		     unsigned int *reads)
{
	uint64_t first = t->last_ns * 4 > WAIT_FIRST_CHECK_NS ?
		t->last_ns * 4 : WAIT_FIRST_CHECK_NS;
	uint64_t check = start + first, now;
	unsigned int sleep_us = 20, spins = 0, cap_us, grace;
	bool woke = false;
	struct timespec ts;
	uint32_t code, head;
	int ret;

	/*
	 * The backoff's longest sleep: a thousandth of the last step (1 to
	 * 50 ms), so that a long step costs about a thousand wake-ups, not
	 * one a millisecond: in a nested guest under TCG each wake-up is
	 * emulated on the vCPUs the engine needs.  It adds 0.05 % of a step
	 * on average.
	 */
	cap_us = t->last_ns / 1000000;
	cap_us = cap_us < 1000 ? 1000 : cap_us > 50000 ? 50000 : cap_us;
	for (;;) {
		if (mgpu_fence_signaled(t->q, seq))
			break;
		now = now_ns();
		if (now >= check) {
			(*reads)++;
			ret = mgpu_queue_error(t->q, &code, NULL);
			if (ret) {
				terr(t, "reading the queue's error: %s",
				     mgpu_strerror(ret));
				return ret;
			}
			if (mgpu_fence_signaled(t->q, seq))
				break;
			if (code != MGPU_ERR_NONE) {
				(*reads)++;
				if (mgpu_queue_error(t->q, &code, &head))
					head = UINT32_MAX;
				terr(t, "the queue stopped at ring entry %u: error %u",
				     head, code);
				return -EIO;
			}
			if (now - start > WAIT_TIMEOUT_NS) {
				terr(t, "no fence after %llu s",
				     (unsigned long long)(WAIT_TIMEOUT_NS / 1000000000ull));
				return -ETIMEDOUT;
			}
			check = now + WAIT_CHECK_NS;
		}
		if (t->cfg.irq) {
			if (!irq_take(t, 1000))
				continue;
			woke = true;
			/* the fence's MSI, or an error's: give it 10 ms */
			for (grace = 0; grace < 10 &&
			     !mgpu_fence_signaled(t->q, seq); grace++) {
				ts.tv_sec = 0;
				ts.tv_nsec = 1000000;
				nanosleep(&ts, NULL);
			}
			if (!mgpu_fence_signaled(t->q, seq))
				check = now_ns();
			continue;
		}
		if (spins++ < 64) {
			sched_yield();
			continue;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = sleep_us * 1000l;
		nanosleep(&ts, NULL);
		if (sleep_us < cap_us)
			sleep_us *= 2;
	}
	if (!t->cfg.irq)
		return 0;
	/* The MSI may trail the fence's store: wait for it, then ack. */
	if (!woke && !irq_take(t, 1000)) {
		terr(t, "the fence signalled but no interrupt came within 1 s");
		return -ETIMEDOUT;
	}
	ret = mgpu_reg_write(t->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	if (ret)
		terr(t, "acknowledging the interrupt: %s", mgpu_strerror(ret));
	return ret;
}

int lstm_train_step(struct lstm_train *t, struct lstm_step_result *r)
{
	const unsigned int B = t->cfg.batch, T = t->cfg.steps;
	int32_t *tgt = mgpu_vram_ptr(t->dev, t->tgt);
	float *loss = mgpu_vram_ptr(t->dev, t->loss);
	uint64_t start;
	unsigned int s, b;
	double sum = 0;
	int ret;

	memset(r, 0, sizeof(*r));
	t->err[0] = 0;
	t->ncmds = 0;
	t->flops = 0;
	for (s = 0; s < T; s++)
		for (b = 0; b < B; b++)
			tgt[s * B + b] = word(t, b, t->pos + s + 1);
	build_forward(t);
	build_backward(t);
	build_update(t);
	if (t->ncmds > t->cap) {
		terr(t, "internal: %u commands for a ring of %u", t->ncmds,
		     t->cap);
		return -EOVERFLOW;
	}

	if (t->ref)
		ref_sync(t);
	start = now_ns();
	ret = mgpu_submit_fence(t->q, t->cmds, t->ncmds, &t->seq);
	if (ret) {
		terr(t, "submit: %s %s", mgpu_strerror(ret), mgpu_last_error());
		return ret;
	}
	ret = wait_step(t, t->seq, start, &r->status_reads);
	r->ns = now_ns() - start;
	if (ret)
		return ret;
	t->last_ns = r->ns;
	r->flops = t->flops;
	r->commands = t->ncmds + 1;
	for (s = 0; s < T; s++)
		sum += loss[s];
	r->loss = sum / T;
	if (t->ref) {
		r->ref_loss = ref_step(t);
		r->param_diff = lstm_train_param_diff(t);
		r->grad_diff = lstm_train_grad_diff(t);
	}
	t->pos += T;
	return 0;
}

const char *lstm_train_error(const struct lstm_train *t)
{
	return t->err;
}

static double diff(const float *dev, const float *ref, uint64_t n)
{
	double m = 0, e;
	uint64_t i;

	for (i = 0; i < n; i++) {
		e = fabs((double)dev[i] - ref[i]) / (1.0 + fabs(ref[i]));
		if (!(e <= m))
			m = e;
	}
	return m;
}

double lstm_train_param_diff(struct lstm_train *t)
{
	const uint64_t H = t->cfg.hidden, V = t->cfg.vocab;
	double m = 0, e;
	unsigned int l;

	if (!t->ref)
		return NAN;
#define CMP(off, arr, n) do {						\
		e = diff(mgpu_vram_ptr(t->dev, off), arr, n);		\
		if (!(e <= m))						\
			m = e;						\
	} while (0)
	CMP(t->e, t->ref->e, V * H);
	CMP(t->wo, t->ref->wo, H * V);
	CMP(t->bo, t->ref->bo, V);
	for (l = 0; l < t->cfg.layers; l++) {
		CMP(t->ly[l].wx, t->ref->wx[l], 4 * H * H);
		CMP(t->ly[l].wh, t->ref->wh[l], 4 * H * H);
		CMP(t->ly[l].b, t->ref->b[l], 4 * H);
	}
#undef CMP
	return m;
}

/*
 * The largest error of the device's gradient of one tensor against the
 * reference's (double), relative to the largest of the reference's.
 */
static double grad_err(const float *dev, const double *ref, uint64_t n)
{
	double scale = 0, err = 0, e;
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (fabs(ref[i]) > scale)
			scale = fabs(ref[i]);
		e = fabs(dev[i] - ref[i]);
		if (!(e <= err))
			err = e;
	}
	return scale > 0 ? err / scale : err;
}

double lstm_train_grad_diff(struct lstm_train *t)
{
	struct ref_model *r = t->ref;
	const uint64_t H = t->cfg.hidden, V = t->cfg.vocab;
	const float *e;
	double m = 0, x, scale = 0, err = 0, upd;
	unsigned int l;
	uint64_t i;

	if (!r)
		return NAN;
#define GRAD(off, arr, n) do {						\
		x = grad_err(mgpu_vram_ptr(t->dev, off), arr, n);	\
		if (!(x <= m))						\
			m = x;						\
	} while (0)
	GRAD(t->dwo, r->dwo, H * V);
	GRAD(t->dbo, r->dbo, V);
	for (l = 0; l < t->cfg.layers; l++) {
		GRAD(t->ly[l].dwx, r->dwx[l], 4 * H * H);
		GRAD(t->ly[l].dwh, r->dwh[l], 4 * H * H);
		GRAD(t->ly[l].db, r->db[l], 4 * H);
	}
#undef GRAD
	/* E is updated row by row on the device: compare the updates. */
	e = mgpu_vram_ptr(t->dev, t->e);
	for (i = 0; i < V * H; i++) {
		upd = -t->cfg.lr * r->de[i];
		if (fabs(upd) > scale)
			scale = fabs(upd);
		x = fabs((double)(e[i] - r->e0[i]) - upd);
		if (!(x <= err))
			err = x;
	}
	x = scale > 0 ? err / scale : err;
	return x > m ? x : m;
}

void lstm_train_free(struct lstm_train *t)
{
	if (!t)
		return;
	mgpu_queue_close(t->q);
	if (t->cfg.irq)
		mgpu_irq_disable(t->dev);
	if (t->arena != NONE)
		mgpu_vram_free(t->dev, t->arena);
	ref_free(t->ref);
	free(t->v0);
	free(t->w);
	free(t->cmds);
	free(t->ly);
	free(t->corpus);
	free(t);
}
