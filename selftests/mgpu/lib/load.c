// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: a busy loop that keeps a queue full.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "libmgpu.h"
#include "mgpu_test.h"

#define LOAD_WAIT_MS	30000

int mgpu_test_load_gemm_i8(struct mgpu_test_load *l, struct mgpu_dev *dev,
			   struct mgpu_queue *q, uint32_t dim,
			   unsigned int batch)
{
	uint64_t a, b, c;
	unsigned int i;
	int ret;

	if (!batch || batch > MGPU_TEST_LOAD_MAX_BATCH)
		return -EINVAL;
	ret = mgpu_vram_alloc(dev, (uint64_t)dim * dim, 0, &a);
	if (!ret)
		ret = mgpu_vram_alloc(dev, (uint64_t)dim * dim, 0, &b);
	if (!ret)
		ret = mgpu_vram_alloc(dev, (uint64_t)dim * dim * 4, 0, &c);
	if (ret)
		return ret;
	/* All ones: C = A x B is dim everywhere. */
	memset(mgpu_vram_ptr(dev, a), 1, (size_t)dim * dim);
	memset(mgpu_vram_ptr(dev, b), 1, (size_t)dim * dim);
	memset(l, 0, sizeof(*l));
	l->q = q;
	l->batch = batch;
	for (i = 0; i < batch; i++)
		mgpu_cmd_gemm_i8(&l->cmds[i], a, b, c, dim, dim, dim, 1, 0);
	return 0;
}

void *mgpu_test_load_run(void *load)
{
	uint64_t seq, inflight[MGPU_TEST_LOAD_DEPTH];
	struct mgpu_test_load *l = load;
	unsigned int head = 0, n = 0;
	int ret = 0;

	while (!l->stop && !ret) {
		ret = mgpu_submit(l->q, l->cmds, l->batch);
		if (!ret)
			ret = mgpu_queue_fence(l->q, &seq);
		if (ret)
			break;
		inflight[(head + n++) % MGPU_TEST_LOAD_DEPTH] = seq;
		if (n < MGPU_TEST_LOAD_DEPTH)
			continue;
		/* DEPTH batches queued: wait for the oldest */
		ret = mgpu_fence_wait(l->q, inflight[head], LOAD_WAIT_MS);
		head = (head + 1) % MGPU_TEST_LOAD_DEPTH;
		n--;
		l->done += l->batch;
	}
	if (!ret && n)
		ret = mgpu_fence_wait(l->q,
				      inflight[(head + n - 1) % MGPU_TEST_LOAD_DEPTH],
				      LOAD_WAIT_MS);
	l->err = ret;
	return NULL;
}
