// SPDX-License-Identifier: GPL-2.0
/*
 * The LSTM language-model step on an mgpu vGPU: see lstm.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lstm.h"

void lstm_default_cfg(struct lstm_cfg *cfg)
{
	cfg->batch = 20;
	cfg->hidden = 200;
	cfg->input = 200;
	cfg->vocab = 10000;
	cfg->steps = 20;
	cfg->verify = 0;
	cfg->verify_rows = 0;
}

static unsigned int nblocks(const struct lstm_cfg *cfg)
{
	return (cfg->vocab + LSTM_VBLOCK - 1) / LSTM_VBLOCK;
}

static unsigned int block_cols(const struct lstm_cfg *cfg, unsigned int j)
{
	unsigned int left = cfg->vocab - j * LSTM_VBLOCK;

	return left < LSTM_VBLOCK ? left : LSTM_VBLOCK;
}

uint64_t lstm_vram_bytes(const struct lstm_cfg *cfg)
{
	uint64_t B = cfg->batch, H = cfg->hidden, I = cfg->input;
	uint64_t V = cfg->vocab, T = cfg->steps;

	/* W_x, W_h, W_out, x, h, gates, logits; plus alignment slack */
	return 4 * (I * 4 * H + H * 4 * H + H * V + T * B * I + B * H +
		    B * 4 * H + B * V) + 64 * (8 + 2 * nblocks(cfg));
}

static uint32_t rs;

static float frand(float scale)
{
	rs = rs * 1103515245u + 12345u;
	return scale * ((float)((rs >> 8) & 0xffff) / 32768.0f - 1.0f);
}

static double sigm(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* c, h: B x H; gates: B x 4H (i, f, g, o blocks) */
static void cell(unsigned int B, unsigned int H, const float *gates,
		 double *c, double *hout)
{
	unsigned int b, j;

	for (b = 0; b < B; b++) {
		const float *g = gates + (size_t)b * 4 * H;

		for (j = 0; j < H; j++) {
			double i = sigm(g[j]), f = sigm(g[H + j]);
			double gg = tanh(g[2 * H + j]), o = sigm(g[3 * H + j]);
			double *cc = &c[(size_t)b * H + j];

			*cc = f * *cc + i * gg;
			hout[(size_t)b * H + j] = o * tanh(*cc);
		}
	}
}

#define NONE UINT64_MAX

#define TRY(expr, what) do {						\
	ret = (expr);							\
	if (ret) {							\
		snprintf(res->msg, sizeof(res->msg), "%s: %s %s", what,	\
			 mgpu_strerror(ret), mgpu_last_error());	\
		goto out;						\
	}								\
} while (0)

int lstm_run(struct mgpu_dev *dev, struct mgpu_queue *q,
	     const struct lstm_cfg *cfg, struct lstm_result *res)
{
	const unsigned int B = cfg->batch, H = cfg->hidden, I = cfg->input;
	const unsigned int V = cfg->vocab, T = cfg->steps, G = 4 * H;
	const unsigned int nb = nblocks(cfg);
	uint64_t owx = NONE, owh = NONE, ox = NONE, oh = NONE, og = NONE;
	uint64_t *owo = NULL, *olg = NULL;
	float *wx, *wh, *x, *h, *gates;
	double *c = NULL, *hd = NULL, *cr = NULL, *hr = NULL, *gr = NULL;
	struct mgpu_cmd *cmds = NULL;
	unsigned int t, j, b, p, n, VR;
	uint64_t t0, seq;
	size_t i;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	owo = malloc(nb * sizeof(*owo));
	olg = malloc(nb * sizeof(*olg));
	for (j = 0; owo && olg && j < nb; j++)
		owo[j] = olg[j] = NONE;
	cmds = calloc(nb + 2, sizeof(*cmds));
	c = calloc((size_t)B * H, sizeof(*c));
	hd = calloc((size_t)B * H, sizeof(*hd));
	if (!owo || !olg || !cmds || !c || !hd) {
		ret = -ENOMEM;
		snprintf(res->msg, sizeof(res->msg), "out of memory");
		goto out;
	}
	TRY(mgpu_vram_alloc(dev, (uint64_t)I * G * 4, 64, &owx), "VRAM for W_x");
	TRY(mgpu_vram_alloc(dev, (uint64_t)H * G * 4, 64, &owh), "VRAM for W_h");
	TRY(mgpu_vram_alloc(dev, (uint64_t)T * B * I * 4, 64, &ox), "VRAM for x");
	TRY(mgpu_vram_alloc(dev, (uint64_t)B * H * 4, 64, &oh), "VRAM for h");
	TRY(mgpu_vram_alloc(dev, (uint64_t)B * G * 4, 64, &og), "VRAM for gates");
	for (j = 0; j < nb; j++) {
		TRY(mgpu_vram_alloc(dev, (uint64_t)H * block_cols(cfg, j) * 4,
				    64, &owo[j]), "VRAM for W_out");
		TRY(mgpu_vram_alloc(dev, (uint64_t)B * block_cols(cfg, j) * 4,
				    64, &olg[j]), "VRAM for logits");
	}
	wx = mgpu_vram_ptr(dev, owx);
	wh = mgpu_vram_ptr(dev, owh);
	x = mgpu_vram_ptr(dev, ox);
	h = mgpu_vram_ptr(dev, oh);
	gates = mgpu_vram_ptr(dev, og);

	/* PTB-style init: uniform in [-0.1, 0.1]; inputs are embeddings. */
	rs = 2024;
	for (i = 0; i < (size_t)I * G; i++)
		wx[i] = frand(0.1f);
	for (i = 0; i < (size_t)H * G; i++)
		wh[i] = frand(0.1f);
	for (j = 0; j < nb; j++) {
		float *w = mgpu_vram_ptr(dev, owo[j]);

		for (i = 0; i < (size_t)H * block_cols(cfg, j); i++)
			w[i] = frand(0.1f);
	}
	for (i = 0; i < (size_t)T * B * I; i++)
		x[i] = frand(1.0f);
	memset(h, 0, (size_t)B * H * 4);

	t0 = now_ns();
	for (t = 0; t < T; t++) {
		mgpu_cmd_gemm_f32(&cmds[0], ox + (uint64_t)t * B * I * 4, owx,
				  og, B, G, I, 1.0f, 0.0f);
		mgpu_cmd_gemm_f32(&cmds[1], oh, owh, og, B, G, H, 1.0f, 1.0f);
		TRY(mgpu_submit(q, cmds, 2), "submit gates GEMMs");
		TRY(mgpu_queue_fence(q, &seq), "fence");
		TRY(mgpu_fence_wait(q, seq, 120000), "wait for the gates");
		cell(B, H, gates, c, hd);
		for (i = 0; i < (size_t)B * H; i++)
			h[i] = (float)hd[i];
		for (j = 0; j < nb; j++)
			mgpu_cmd_gemm_f32(&cmds[j], oh, owo[j], olg[j], B,
					  block_cols(cfg, j), H, 1.0f, 0.0f);
		TRY(mgpu_submit(q, cmds, nb), "submit logits GEMMs");
	}
	TRY(mgpu_queue_sync(q, 120000), "final sync");
	res->ns = now_ns() - t0;
	res->commands = (uint64_t)T * (2 + nb);
	res->flops = (uint64_t)T * 2 * B * ((uint64_t)(I + H) * G +
					    (uint64_t)H * V);

	if (!cfg->verify)
		goto out;
	/* CPU reference in double, from the same fp32 inputs. */
	cr = calloc((size_t)B * H, sizeof(*cr));
	hr = calloc((size_t)B * H, sizeof(*hr));
	gr = calloc((size_t)B * G, sizeof(*gr));
	if (!cr || !hr || !gr) {
		ret = -ENOMEM;
		snprintf(res->msg, sizeof(res->msg), "out of memory");
		goto out;
	}
	VR = cfg->verify_rows && cfg->verify_rows < B ? cfg->verify_rows : B;
	for (t = 0; t < T; t++) {
		const float *xt = x + (size_t)t * B * I;
		float *gf = (float *)gr; /* reuse: floats for cell() */

		for (b = 0; b < VR; b++)
			for (n = 0; n < G; n++) {
				double s = 0;

				for (p = 0; p < I; p++)
					s += (double)xt[b * I + p] * wx[(size_t)p * G + n];
				for (p = 0; p < H; p++)
					s += hr[b * H + p] * wh[(size_t)p * G + n];
				gf[(size_t)b * G + n] = (float)s;
			}
		cell(VR, H, gf, cr, hr);
	}
	for (i = 0; i < (size_t)VR * H; i++) {
		double e = fabs(h[i] - hr[i]) / (1.0 + fabs(hr[i]));

		if (e > res->max_err_h)
			res->max_err_h = e;
	}
	for (j = 0; j < nb; j++) {
		const float *w = mgpu_vram_ptr(dev, owo[j]);
		const float *lg = mgpu_vram_ptr(dev, olg[j]);
		unsigned int nc = block_cols(cfg, j);

		for (b = 0; b < VR; b++)
			for (n = 0; n < nc; n++) {
				double s = 0, e;

				for (p = 0; p < H; p++)
					s += hr[b * H + p] * w[(size_t)p * nc + n];
				e = fabs(lg[(size_t)b * nc + n] - s) / (1.0 + fabs(s));
				if (e > res->max_err_logits)
					res->max_err_logits = e;
			}
	}
	if (res->max_err_h > 1e-3 || res->max_err_logits > 1e-3) {
		snprintf(res->msg, sizeof(res->msg),
			 "differs from the CPU reference: max rel. error h %.3g, logits %.3g",
			 res->max_err_h, res->max_err_logits);
		ret = 1;
	}
out:
	if (olg && owo)
		for (j = 0; j < nb; j++)
			if (olg[j] != NONE)
				mgpu_vram_free(dev, olg[j]);
	if (olg && owo)
		for (j = 0; j < nb; j++)
			if (owo[j] != NONE)
				mgpu_vram_free(dev, owo[j]);
	if (og != NONE)
		mgpu_vram_free(dev, og);
	if (oh != NONE)
		mgpu_vram_free(dev, oh);
	if (ox != NONE)
		mgpu_vram_free(dev, ox);
	if (owh != NONE)
		mgpu_vram_free(dev, owh);
	if (owx != NONE)
		mgpu_vram_free(dev, owx);
	free(owo);
	free(olg);
	free(cmds);
	free(c);
	free(hd);
	free(cr);
	free(hr);
	free(gr);
	return ret;
}
