// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport): the watchdog, and reset while busy (VFIO_DEVICE_RESET and
 * FLR).
 *
 * One of the mgpu_engine_*_test programs; lib/mgpu_engine.h has what
 * they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>


#include "kselftest_harness.h"
#include "mgpu_engine.h"

/* ====================================================================== */
/* watchdog                                                               */

FIXTURE(watchdog) {
	struct eng_base b;
	char saved[32];
	bool restore;
};

FIXTURE_SETUP(watchdog)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	if (mgpu_test_read_attr(ENG_BUDGET, self->saved, sizeof(self->saved)) <= 0 ||
	    access(ENG_BUDGET, W_OK))
		SKIP(return, "%s is not writable", ENG_BUDGET);
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
}

FIXTURE_TEARDOWN_PARENT(watchdog)
{
	if (self->restore && mgpu_test_write_attr(ENG_BUDGET, self->saved))
		TH_LOG("cannot restore %s to %s", ENG_BUDGET, self->saved);
	eng_remove_all(&self->b.inst);
}

TEST_F_TIMEOUT(watchdog, big_gemm_times_out, 60)
{
	struct mgpu_dev *dev = self->b.dev[0];
	const uint32_t n = 2048;
	const uint64_t msize = (uint64_t)n * n * 4;
	struct mgpu_queue *q0, *q1;
	uint64_t a, b, c, t0, ms;
	struct mgpu_cmd cmds[3];
	uint32_t head;

	if (mgpu_vram_size(dev) < 3 * msize + 1 * MiB)
		SKIP(return, "VRAM %llu MiB is too small for 3 x %llu MiB",
		     (unsigned long long)(mgpu_vram_size(dev) >> 20),
		     (unsigned long long)(msize >> 20));
	self->restore = true;
	ASSERT_EQ(0, mgpu_test_write_attr(ENG_BUDGET, "50"));
	EXPECT_EQ(50, rd(dev, MGPU_REG_CMD_BUDGET_MS));
	q0 = qopen(_metadata, dev, 0, 0, 0);
	q1 = qopen(_metadata, dev, 1, 0, 0);
	a = vram_get(_metadata, dev, msize, 4096);
	b = vram_get(_metadata, dev, msize, 4096);
	c = vram_get(_metadata, dev, msize, 4096);

	mgpu_cmd_nop(&cmds[0]);
	mgpu_cmd_gemm_f32(&cmds[1], a, b, c, n, n, n, 1.0f, 0.0f);
	mgpu_cmd_fill(&cmds[2], c, 64, 0x12345678, 0);
	t0 = mgpu_test_now_ms();
	ASSERT_EQ(0, mgpu_submit(q0, cmds, 3));
	/* The other queue keeps running meanwhile. */
	ASSERT_EQ(0, mgpu_fill(q1, a, 4096, 0, 0));
	head = 1;
	expect_stopped(_metadata, dev, 0, MGPU_ERR_TIMEOUT, head);
	ms = mgpu_test_now_ms() - t0;
	EXPECT_GE(ms, 50);
	TH_LOG("2048^3 fp32 GEMM stopped by the watchdog after %llu ms",
	       (unsigned long long)ms);
	EXPECT_NE(0x12345678, *(uint32_t *)vptr(dev, c));
	EXPECT_EQ(0, mgpu_fill(q1, a, 4096, 0, 0));

	ASSERT_EQ(0, mgpu_queue_reset(q0));
	{
		const struct shape s = { 8, 8, 8 };

		gemm_f32_one(_metadata, dev, q0, &s, 1.0f, 0.0f, false);
	}
}
/* ====================================================================== */
/* reset while busy                                                       */

FIXTURE(reset) {
	struct eng_base b;
};

FIXTURE_VARIANT(reset) {
	bool flr;
};

FIXTURE_VARIANT_ADD(reset, device_reset) { .flr = false };
FIXTURE_VARIANT_ADD(reset, flr) { .flr = true };

FIXTURE_SETUP(reset)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
}

FIXTURE_TEARDOWN_PARENT(reset)
{
	eng_remove_all(&self->b.inst);
}

static void cfg_rw(struct mgpu_dev *dev, uint32_t off, void *val,
		   size_t size, bool write)
{
	uint64_t base = 0, rsize = 0;
	int fd = mgpu_vfio_device_fd(dev);

	mgpu_vfio_region(dev, VFIO_PCI_CONFIG_REGION_INDEX, &base, &rsize);
	if (write) {
		if (pwrite(fd, val, size, base + off) != (ssize_t)size)
			memset(val, 0xff, size);
	} else if (pread(fd, val, size, base + off) != (ssize_t)size) {
		memset(val, 0xff, size);
	}
}

TEST_F(reset, while_busy)
{
	struct mgpu_dev *dev = self->b.dev[0];
	const size_t msize = GEMM_STREAM_N * GEMM_STREAM_N * 4;
	unsigned int nq = mgpu_num_queues(dev), i, unfinished = 0;
	struct mgpu_queue *q[4];
	uint64_t a, b, c[4], slots, after[4], sum[4], end, t0;
	uint64_t before[4] = { 0 };
	uint16_t cmdreg, devctl;
	uint32_t devcap;
	uint8_t *ps;
	int efd, ret;

	if (nq > 4)
		nq = 4;
	ASSERT_EQ(0, mgpu_irq_enable(dev));
	efd = mgpu_irq_fd(dev);
	a = vram_get(_metadata, dev, msize, 4096);
	b = vram_get(_metadata, dev, msize, 4096);
	mgpu_test_rnd_seed(0x5eed0004);
	for (i = 0; i < GEMM_STREAM_N * GEMM_STREAM_N; i++) {
		((float *)vptr(dev, a))[i] = mgpu_test_rnd_float() / 64;
		((float *)vptr(dev, b))[i] = mgpu_test_rnd_float() / 64;
	}
	slots = vram_get(_metadata, dev, 64, 64);
	ps = vptr(dev, slots);
	memset(ps, 0, 64);
	for (i = 0; i < nq; i++) {
		q[i] = qopen(_metadata, dev, i, 256, 0);
		c[i] = vram_get(_metadata, dev, msize, 4096);
	}
	if (variant->flr) {
		uint8_t ptr = 0, id = 0;

		cfg_rw(dev, PCI_CAPABILITY_LIST, &ptr, 1, false);
		ASSERT_EQ(0x40, ptr);
		cfg_rw(dev, 0x40, &id, 1, false);
		ASSERT_EQ(PCI_CAP_ID_EXP, id);
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCAP, &devcap, 4, false);
		ASSERT_TRUE(devcap & PCI_EXP_DEVCAP_FLR);
	}
	for (i = 0; i < nq; i++)
		ASSERT_EQ(0, gemm_stream(q[i], a, b, c[i], slots + 8 * i,
					 GEMM_STREAM_LEN));
	/* Busy: wait for the first fence of queue 0. */
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
	while (!load64(ps) && mgpu_test_now_ms() < end)
		usleep(500);
	ASSERT_NE(0, load64(ps)) TH_LOG("no progress before the reset");

	t0 = mgpu_test_now_ms();
	if (variant->flr) {
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCTL, &devctl, 2, false);
		devctl |= PCI_EXP_DEVCTL_BCR_FLR;
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCTL, &devctl, 2, true);
	} else {
		ret = ioctl(mgpu_vfio_device_fd(dev), VFIO_DEVICE_RESET);
		ASSERT_EQ(0, ret) TH_LOG("VFIO_DEVICE_RESET: %s",
					 strerror(errno));
	}
	/* What signalled before the reset returned is legitimate. */
	efd_wait(efd, 0);
	for (i = 0; i < nq; i++) {
		before[i] = load64(ps + 8 * i);
		sum[i] = checksum(vptr(dev, c[i]), msize);
		unfinished += before[i] < GEMM_STREAM_LEN;
	}
	TH_LOG("reset after %llu ms of work took %llu ms; fences %llu %llu %llu %llu",
	       (unsigned long long)(t0 - (end - ENG_TIMEOUT_MS)),
	       (unsigned long long)(mgpu_test_now_ms() - t0),
	       (unsigned long long)before[0], (unsigned long long)before[1],
	       (unsigned long long)before[2], (unsigned long long)before[3]);
	EXPECT_NE(0, unfinished) TH_LOG("all work finished before the reset");

	for (i = 0; i < nq; i++) {
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_CTRL));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_STATUS));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_HEAD));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_TAIL));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_RING_SIZE));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_ERROR));
		EXPECT_EQ(0, q_completed(dev, i));
	}
	EXPECT_EQ(0, rd(dev, MGPU_REG_INT_STATUS));
	EXPECT_EQ(0, rd(dev, MGPU_REG_INT_MASK));
	cfg_rw(dev, PCI_COMMAND, &cmdreg, 2, false);
	EXPECT_EQ(0, cmdreg);
	if (variant->flr) {
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCTL, &devctl, 2, false);
		EXPECT_FALSE(devctl & PCI_EXP_DEVCTL_BCR_FLR);
	}

	/* Nothing from before the reset may land afterwards. */
	EXPECT_EQ(0, efd_wait(efd, 300)) TH_LOG("interrupt after the reset");
	for (i = 0; i < nq; i++) {
		after[i] = load64(ps + 8 * i);
		EXPECT_EQ(before[i], after[i])
			TH_LOG("queue %u: fence %llu appeared after the reset (was %llu)",
			       i, (unsigned long long)after[i],
			       (unsigned long long)before[i]);
		EXPECT_EQ(sum[i], checksum(vptr(dev, c[i]), msize))
			TH_LOG("queue %u: GEMM wrote C after the reset", i);
	}

	/* The device works again. */
	for (i = 0; i < nq; i++)
		mgpu_queue_close(q[i]);
	/* The eventfd stays registered; only INT_MASK went back to 0. */
	wr(dev, MGPU_REG_INT_MASK, MGPU_INT_FENCE | MGPU_INT_ERROR);
	q[0] = qopen(_metadata, dev, 0, 0, 0);
	{
		const struct shape s = { 16, 16, 16 };
		struct mgpu_dma d;
		uint32_t causes = 0;
		uint64_t seq;

		gemm_f32_one(_metadata, dev, q[0], &s, 1.0f, 0.0f, false);
		ASSERT_EQ(0, mgpu_dma_alloc(dev, 4096, &d));
		memset(d.cpu, 0x3c, 4096);
		ASSERT_EQ(0, mgpu_copy(q[0], c[0], d.iova, 4096,
				       MGPU_F_SRC_SYSMEM));
		EXPECT_TRUE(mem_is(vptr(dev, c[0]), 0x3c, 4096));
		ASSERT_EQ(0, mgpu_queue_fence(q[0], &seq));
		EXPECT_EQ(0, mgpu_irq_wait(dev, 5000, &causes));
		EXPECT_TRUE(causes & MGPU_INT_FENCE);
	}
}

MGPU_TEST_HARNESS_MAIN
