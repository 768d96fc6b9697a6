// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: work on the engine (FILL, COPY, GEMM), checked by the
 * CPU against the reference model (model.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "libmgpu.h"
#include "mgpu_test.h"

struct gemm_bufs {
	struct mgpu_dev *dev;
	uint64_t a, b, c;	/* VRAM offsets */
	void *pa, *pb, *pc;
	void *c0;		/* C before the GEMM */
};

static void gemm_free(struct gemm_bufs *g)
{
	free(g->c0);
	mgpu_vram_free(g->dev, g->a);
	mgpu_vram_free(g->dev, g->b);
	mgpu_vram_free(g->dev, g->c);
}

/* A (m x k) and B (k x n) of @esize bytes, C (m x n) of 4 bytes. */
static int gemm_alloc(struct mgpu_queue *q, uint32_t m, uint32_t n,
		      uint32_t k, size_t esize, struct gemm_bufs *g)
{
	int ret;

	memset(g, 0, sizeof(*g));
	g->dev = mgpu_queue_dev(q);
	g->a = g->b = g->c = UINT64_MAX;
	ret = mgpu_vram_alloc(g->dev, (uint64_t)m * k * esize, 0, &g->a);
	if (!ret)
		ret = mgpu_vram_alloc(g->dev, (uint64_t)k * n * esize, 0,
				      &g->b);
	if (!ret)
		ret = mgpu_vram_alloc(g->dev, (uint64_t)m * n * 4, 0, &g->c);
	if (!ret) {
		g->c0 = malloc((size_t)m * n * 4);
		ret = g->c0 ? 0 : -ENOMEM;
	}
	if (ret) {
		gemm_free(g);
		return ret;
	}
	g->pa = mgpu_vram_ptr(g->dev, g->a);
	g->pb = mgpu_vram_ptr(g->dev, g->b);
	g->pc = mgpu_vram_ptr(g->dev, g->c);
	return 0;
}

/* Random inputs: A and B, and C (saved in c0). */
static void gemm_fill(struct gemm_bufs *g, bool int8, uint32_t m,
		      uint32_t n, uint32_t k)
{
	size_t i;

	if (int8) {
		mgpu_test_rnd_fill(g->pa, (size_t)m * k);
		mgpu_test_rnd_fill(g->pb, (size_t)k * n);
	} else {
		for (i = 0; i < (size_t)m * k; i++)
			((float *)g->pa)[i] = mgpu_test_rnd_float();
		for (i = 0; i < (size_t)k * n; i++)
			((float *)g->pb)[i] = mgpu_test_rnd_float();
	}
	for (i = 0; i < (size_t)m * n; i++) {
		if (int8)
			((int32_t *)g->pc)[i] = (int32_t)mgpu_test_rnd();
		else
			((float *)g->pc)[i] = mgpu_test_rnd_float() * 8;
	}
	memcpy(g->c0, g->pc, (size_t)m * n * 4);
}

struct gemm_args {
	uint32_t m, n, k;
	float falpha, fbeta;	/* fp32 */
	int32_t ialpha, ibeta;	/* int8 */
};

static int gemm_check(struct mgpu_queue *q, bool int8,
		      const struct gemm_args *x, char *msg, size_t msglen)
{
	struct gemm_bufs g;
	int ret;

	ret = gemm_alloc(q, x->m, x->n, x->k, int8 ? 1 : 4, &g);
	if (ret)
		return ret;
	gemm_fill(&g, int8, x->m, x->n, x->k);
	if (int8)
		ret = mgpu_gemm_i8(q, g.a, g.b, g.c, x->m, x->n, x->k,
				   x->ialpha, x->ibeta);
	else
		ret = mgpu_gemm_f32(q, g.a, g.b, g.c, x->m, x->n, x->k,
				    x->falpha, x->fbeta);
	if (!ret && int8)
		ret = mgpu_test_check_i8(g.pc, g.pa, g.pb, g.c0, x->m, x->n,
					 x->k, x->ialpha, x->ibeta, msg,
					 msglen);
	else if (!ret)
		ret = mgpu_test_check_f32(g.pc, g.pa, g.pb, g.c0, x->m, x->n,
					  x->k, x->falpha, x->fbeta, msg,
					  msglen);
	gemm_free(&g);
	return ret;
}

int mgpu_test_gemm_f32_check(struct mgpu_queue *q, uint32_t m, uint32_t n,
			     uint32_t k, float alpha, float beta, char *msg,
			     size_t msglen)
{
	struct gemm_args x = { m, n, k, .falpha = alpha, .fbeta = beta };

	return gemm_check(q, false, &x, msg, msglen);
}

int mgpu_test_gemm_i8_check(struct mgpu_queue *q, uint32_t m, uint32_t n,
			    uint32_t k, int32_t alpha, int32_t beta, char *msg,
			    size_t msglen)
{
	struct gemm_args x = { m, n, k, .ialpha = alpha, .ibeta = beta };

	return gemm_check(q, true, &x, msg, msglen);
}

int mgpu_test_fill_copy_check(struct mgpu_queue *q, uint64_t size,
			      uint32_t pattern, char *msg, size_t msglen)
{
	struct mgpu_dev *dev = mgpu_queue_dev(q);
	uint64_t a, b = UINT64_MAX, i;
	uint32_t *pa, *pb;
	int ret, bad = 0;

	ret = mgpu_vram_alloc(dev, size, 0, &a);
	if (ret)
		return ret;
	ret = mgpu_vram_alloc(dev, size, 0, &b);
	if (!ret)
		ret = mgpu_fill(q, a, size, pattern, 0);
	if (ret)
		goto out;
	pa = mgpu_vram_ptr(dev, a);
	pb = mgpu_vram_ptr(dev, b);
	for (i = 0; i < size / 4; i++)
		if (pa[i] != pattern && !bad++)
			snprintf(msg, msglen, "FILL: word %llu = %#x",
				 (unsigned long long)i, pa[i]);
	if (bad)
		goto out;
	for (i = 0; i < size / 4; i++)
		pa[i] = (uint32_t)(i * 2654435761u);
	ret = mgpu_copy(q, b, a, size, 0);
	if (!ret && memcmp(pa, pb, size)) {
		snprintf(msg, msglen,
			 "COPY: destination differs from what the CPU wrote");
		bad = 1;
	}
out:
	mgpu_vram_free(dev, a);
	mgpu_vram_free(dev, b);
	return ret ? ret : bad;
}
