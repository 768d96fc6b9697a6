// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-smoke: exercise a vGPU end to end with libmgpu.
 *
 *   mgpu-smoke <uuid>            host side, through VFIO
 *   mgpu-smoke pci[:<bdf>]       inside a guest
 *
 * Prints the device's identity, then runs FILL, COPY (VRAM and, through
 * VFIO, system memory), fp32 and int8 GEMM against a CPU reference
 * (libmgpu_test, selftests/mgpu/lib),
 * TIMESTAMP, a fence with an interrupt (VFIO), an error and its recovery,
 * a trap-free (TAIL_POLL) queue, a system-memory ring and ring wrap.
 * Exit status 0 and "PASS" when everything passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmgpu.h"
#include "mgpu_test.h"

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("  FAIL %s:%d: ", __func__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		failures++;						\
		return -1;						\
	}								\
} while (0)

#define CHECK_OK(expr) do {						\
	int __r = (expr);						\
	CHECK(__r == 0, "%s = %d (%s) %s", #expr, __r,			\
	      mgpu_strerror(__r), mgpu_last_error());			\
} while (0)

static struct mgpu_dev *dev;
static struct mgpu_queue *q0;

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* libmgpu_test's checks: < 0 is libmgpu's error, > 0 wrong data. */
#define CHECK_DATA(expr, what) do {					\
	char __msg[160] = "";						\
	int __r = (expr);						\
	CHECK(__r >= 0, "%s: %s %s", what, mgpu_strerror(__r),		\
	      mgpu_last_error());					\
	CHECK(__r == 0, "%s: %d wrong: %s", what, __r, __msg);		\
	printf("  %s: ok\n", what);					\
} while (0)

static int test_fill_copy(void)
{
	CHECK_DATA(mgpu_test_fill_copy_check(q0, 1 << 20, 0xdeadbeef, __msg,
					     sizeof(__msg)),
		   "FILL + COPY 1 MiB in VRAM");
	return 0;
}

static int test_sysmem(void)
{
	const uint64_t size = 300 * 1024;	/* more than one engine step */
	struct mgpu_dma d1, d2;
	uint64_t v;
	uint8_t *pv;
	uint64_t i;

	if (mgpu_transport(dev) != MGPU_TRANSPORT_VFIO) {
		printf("  system memory: skipped (no DMA in-guest)\n");
		return 0;
	}
	CHECK_OK(mgpu_dma_alloc(dev, size, &d1));
	CHECK_OK(mgpu_dma_alloc(dev, size, &d2));
	CHECK_OK(mgpu_vram_alloc(dev, size, 0, &v));
	pv = mgpu_vram_ptr(dev, v);

	for (i = 0; i < size; i++)
		((uint8_t *)d1.cpu)[i] = (uint8_t)rnd();
	CHECK_OK(mgpu_copy(q0, v, d1.iova, size, MGPU_F_SRC_SYSMEM));
	CHECK(!memcmp(pv, d1.cpu, size), "COPY sysmem->VRAM differs");
	CHECK_OK(mgpu_copy(q0, d2.iova, v, size, MGPU_F_DST_SYSMEM));
	CHECK(!memcmp(d2.cpu, d1.cpu, size), "COPY VRAM->sysmem differs");
	CHECK_OK(mgpu_fill(q0, d2.iova, size, 0x01020304, MGPU_F_DST_SYSMEM));
	for (i = 0; i < size / 4; i++)
		CHECK(((uint32_t *)d2.cpu)[i] == 0x01020304,
		      "FILL sysmem: word %llu", (unsigned long long)i);
	memset(d2.cpu, 0, size);
	CHECK_OK(mgpu_copy(q0, d2.iova, d1.iova, size,
			   MGPU_F_SRC_SYSMEM | MGPU_F_DST_SYSMEM));
	CHECK(!memcmp(d2.cpu, d1.cpu, size), "COPY sysmem->sysmem differs");

	CHECK_OK(mgpu_vram_free(dev, v));
	CHECK_OK(mgpu_dma_free(dev, &d1));
	CHECK_OK(mgpu_dma_free(dev, &d2));
	printf("  COPY/FILL with system memory (DMA): ok\n");
	return 0;
}

static int test_gemm_f32(void)
{
	if (!(mgpu_caps(dev) & MGPU_CAP_GEMM_FP32)) {
		printf("  GEMM fp32: skipped (no MGPU_CAP_GEMM_FP32)\n");
		return 0;
	}
	CHECK_DATA(mgpu_test_gemm_f32_check(q0, 37, 53, 129, 1.5f, -0.5f,
					    __msg, sizeof(__msg)),
		   "GEMM fp32 37x53x129");
	return 0;
}

static int test_gemm_i8(void)
{
	if (!(mgpu_caps(dev) & MGPU_CAP_GEMM_INT8)) {
		printf("  GEMM int8: skipped (no MGPU_CAP_GEMM_INT8)\n");
		return 0;
	}
	CHECK_DATA(mgpu_test_gemm_i8_check(q0, 64, 48, 600, -3, 7, __msg,
					   sizeof(__msg)),
		   "GEMM int8 64x48x600 (exact)");
	return 0;
}

static int test_timestamp(void)
{
	uint64_t slot, t0, t1;
	volatile uint64_t *ts;
	struct mgpu_cmd cmd;

	CHECK_OK(mgpu_vram_alloc(dev, 8, 8, &slot));
	ts = mgpu_vram_ptr(dev, slot);
	*ts = 0;
	CHECK_OK(mgpu_timestamp(dev, &t0));
	mgpu_cmd_timestamp(&cmd, slot, 0);
	CHECK_OK(mgpu_submit(q0, &cmd, 1));
	CHECK_OK(mgpu_queue_sync(q0, 10000));
	CHECK_OK(mgpu_timestamp(dev, &t1));
	CHECK(*ts >= t0 && *ts <= t1, "TIMESTAMP %llu not in [%llu, %llu]",
	      (unsigned long long)*ts, (unsigned long long)t0,
	      (unsigned long long)t1);
	CHECK_OK(mgpu_vram_free(dev, slot));
	printf("  TIMESTAMP: ok\n");
	return 0;
}

static int test_irq(void)
{
	uint32_t causes = 0;
	uint64_t seq;
	int ret;

	if (mgpu_transport(dev) != MGPU_TRANSPORT_VFIO) {
		printf("  fence interrupt: skipped (polling in-guest)\n");
		return 0;
	}
	CHECK_OK(mgpu_irq_enable(dev));
	CHECK(mgpu_irq_mode(dev) != MGPU_IRQ_NONE, "no irq mode");
	CHECK_OK(mgpu_queue_fence(q0, &seq));
	ret = mgpu_irq_wait(dev, 10000, &causes);
	CHECK(ret == 0, "mgpu_irq_wait = %d (%s)", ret, mgpu_strerror(ret));
	CHECK(causes & MGPU_INT_FENCE, "causes %#x lack MGPU_INT_FENCE",
	      causes);
	CHECK(mgpu_fence_signaled(q0, seq), "fence %llu not signalled",
	      (unsigned long long)seq);
	ret = mgpu_irq_wait(dev, 0, &causes);
	CHECK(ret == -ETIMEDOUT, "second irq wait = %d, causes %#x", ret,
	      causes);
	/* A wait that sleeps on the interrupt. */
	CHECK_OK(mgpu_queue_sync(q0, 10000));
	printf("  fence with %s interrupt: ok\n",
	       mgpu_irq_mode(dev) == MGPU_IRQ_MSI ? "MSI" : "INTx");
	return 0;
}

static int test_error(void)
{
	struct mgpu_cmd cmds[3];
	uint32_t code = 0, head = 0, causes;
	uint64_t seq;
	int ret;

	/* NOP, bad opcode, NOP: the queue stops at the second command. */
	mgpu_cmd_nop(&cmds[0]);
	mgpu_cmd_nop(&cmds[1]);
	cmds[1].opcode = 0x7f;
	mgpu_cmd_nop(&cmds[2]);
	CHECK_OK(mgpu_queue_reset(q0));		/* HEAD = 0 */
	CHECK_OK(mgpu_submit(q0, cmds, 3));
	CHECK_OK(mgpu_queue_fence(q0, &seq));
	ret = mgpu_fence_wait(q0, seq, 10000);
	CHECK(ret == -EIO, "fence after a bad command: %d (%s)", ret,
	      mgpu_strerror(ret));
	CHECK_OK(mgpu_queue_error(q0, &code, &head));
	CHECK(code == MGPU_ERR_BAD_OPCODE && head == 1,
	      "error %u (%s) at %u, expected BAD_OPCODE at 1", code,
	      mgpu_queue_error_str(code), head);
	if (mgpu_irq_mode(dev) != MGPU_IRQ_NONE) {
		uint32_t all = 0;

		do {
			causes = 0;
			ret = mgpu_irq_wait(dev, 1000, &causes);
			all |= causes;
		} while (!ret && !(all & MGPU_INT_ERROR));
		CHECK(all & MGPU_INT_ERROR,
		      "no ERROR interrupt: ret %d, causes %#x", ret, all);
	}
	CHECK_OK(mgpu_queue_reset(q0));
	ret = mgpu_fence_wait(q0, seq, 0);
	CHECK(ret == -ECANCELED, "dropped fence: %d", ret);
	CHECK_OK(mgpu_queue_error(q0, &code, NULL));
	CHECK(code == MGPU_ERR_NONE, "error %u after reset", code);
	CHECK_OK(mgpu_queue_sync(q0, 10000));
	printf("  error (%s at %u) and reset: ok\n",
	       mgpu_queue_error_str(MGPU_ERR_BAD_OPCODE), 1);
	return 0;
}

/* A small ring, @n commands: mgpu_submit() must wait for HEAD. */
static int test_queue(unsigned int index, unsigned int flags,
		      const char *what)
{
	struct mgpu_queue *q;
	struct mgpu_cmd *cmds;
	const unsigned int n = 100;
	uint64_t dst, done;
	uint32_t *p;
	unsigned int i;

	if (index >= mgpu_num_queues(dev)) {
		printf("  %s: skipped (no queue %u)\n", what, index);
		return 0;
	}
	if ((flags & MGPU_QUEUE_TAIL_POLL) &&
	    !(mgpu_caps(dev) & MGPU_CAP_TAIL_POLL)) {
		printf("  %s: skipped (no MGPU_CAP_TAIL_POLL)\n", what);
		return 0;
	}
	if ((flags & MGPU_QUEUE_RING_SYSMEM) &&
	    mgpu_transport(dev) != MGPU_TRANSPORT_VFIO) {
		printf("  %s: skipped (no DMA in-guest)\n", what);
		return 0;
	}
	CHECK_OK(mgpu_queue_open(dev, index, 8, flags, &q));
	CHECK_OK(mgpu_vram_alloc(dev, n * 4, 0, &dst));
	p = mgpu_vram_ptr(dev, dst);
	memset(p, 0, n * 4);
	cmds = calloc(n, sizeof(*cmds));
	CHECK(cmds, "calloc");
	for (i = 0; i < n; i++)
		mgpu_cmd_fill(&cmds[i], dst + i * 4, 4, i + 1, 0);
	CHECK_OK(mgpu_submit(q, cmds, n));
	free(cmds);
	CHECK_OK(mgpu_queue_sync(q, 10000));
	for (i = 0; i < n; i++)
		CHECK(p[i] == i + 1, "word %u = %u", i, p[i]);
	CHECK_OK(mgpu_queue_completed(q, &done));
	CHECK(done == n + 1, "COMPLETED %llu, expected %u",
	      (unsigned long long)done, n + 1);
	CHECK_OK(mgpu_vram_free(dev, dst));
	mgpu_queue_close(q);
	printf("  %s (queue %u, 8 entries, %u commands): ok\n", what, index,
	       n);
	return 0;
}

int main(int argc, char **argv)
{
	uint32_t budget = 0;
	int ret;

	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: %s <mdev-uuid> | pci[:<bdf>]\n",
			argv[0]);
		return 2;
	}
	printf("mgpu-smoke: libmgpu %u.%u\n", mgpu_lib_version() >> 16,
	       mgpu_lib_version() & 0xffff);
	ret = mgpu_open(argv[1], &dev);
	if (ret) {
		printf("FAIL: open %s: %s: %s\n", argv[1], mgpu_strerror(ret),
		       mgpu_last_error());
		return 1;
	}
	mgpu_reg_read(dev, MGPU_REG_CMD_BUDGET_MS, &budget);
	printf("device %s (%s): version %u.%u, VRAM %llu MiB, %u queues, fraction 1/%u, caps %#x, command budget %u ms\n",
	       mgpu_name(dev),
	       mgpu_transport(dev) == MGPU_TRANSPORT_VFIO ? "vfio" : "pci",
	       mgpu_hw_version(dev) >> 16, mgpu_hw_version(dev) & 0xffff,
	       (unsigned long long)(mgpu_vram_size(dev) >> 20),
	       mgpu_num_queues(dev), mgpu_fraction(dev), mgpu_caps(dev),
	       budget);

	ret = mgpu_queue_open(dev, 0, 0, 0, &q0);
	if (ret) {
		printf("FAIL: queue 0: %s: %s\n", mgpu_strerror(ret),
		       mgpu_last_error());
		mgpu_close(dev);
		return 1;
	}
	test_fill_copy();
	test_sysmem();
	test_gemm_f32();
	test_gemm_i8();
	test_timestamp();
	test_queue(1, 0, "ring wrap");
	test_queue(1, MGPU_QUEUE_TAIL_POLL, "trap-free TAIL_POLL queue");
	test_queue(1, MGPU_QUEUE_RING_SYSMEM, "ring in system memory");
	test_queue(1, MGPU_QUEUE_RING_SYSMEM | MGPU_QUEUE_TAIL_POLL,
		   "sysmem ring + TAIL_POLL");
	test_irq();
	test_error();
	mgpu_close(dev);

	printf("%s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
