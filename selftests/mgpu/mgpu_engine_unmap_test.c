// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport): unmapping DMA memory under a running COPY, and closing the
 * device with work queued.
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
/* unmap: VFIO_IOMMU_UNMAP_DMA of memory a running COPY uses             */

FIXTURE(unmap) {
	struct eng_base b;
};

FIXTURE_VARIANT(unmap) {
	bool to_sysmem;		/* the unmapped buffer is the destination */
};

FIXTURE_VARIANT_ADD(unmap, source) { .to_sysmem = false };
FIXTURE_VARIANT_ADD(unmap, destination) { .to_sysmem = true };

FIXTURE_SETUP(unmap)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
}

FIXTURE_TEARDOWN_PARENT(unmap)
{
	eng_remove_all(&self->b.inst);
}

TEST_F(unmap, during_copy)
{
	struct mgpu_dev *dev = self->b.dev[0];
	const size_t size = 8 * MiB;
	const unsigned int ncopies = 12;
	struct mgpu_cmd cmds[12];
	struct mgpu_queue *q;
	uint64_t v, iova, seq, t0, done;
	uint32_t code = 0, head = 0, flags;
	struct mgpu_dma d;
	uint8_t *buf;
	unsigned int i;
	int ret;

	q = qopen(_metadata, dev, 0, 0, 0);
	v = vram_get(_metadata, dev, size, 4096);
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x3c, size);
	ASSERT_EQ(0, mgpu_dma_map(dev, buf, size, &iova));
	flags = variant->to_sysmem ? MGPU_F_DST_SYSMEM : MGPU_F_SRC_SYSMEM;
	for (i = 0; i < ncopies; i++) {
		if (variant->to_sysmem)
			mgpu_cmd_copy(&cmds[i], iova, v, size, flags);
		else
			mgpu_cmd_copy(&cmds[i], v, iova, size, flags);
	}
	ASSERT_EQ(0, mgpu_submit(q, cmds, ncopies));
	ASSERT_EQ(0, mgpu_queue_fence(q, &seq));
	/* Unmap while the copies run: after the first, before the last. */
	t0 = mgpu_test_now_ms();
	while (!q_completed(dev, 0) && mgpu_test_now_ms() - t0 < ENG_TIMEOUT_MS)
		usleep(200);
	ret = mgpu_dma_unmap(dev, iova, size);
	done = q_completed(dev, 0);
	EXPECT_EQ(0, ret) TH_LOG("VFIO_IOMMU_UNMAP_DMA: %s", mgpu_strerror(ret));

	ret = mgpu_fence_wait(q, seq, ENG_TIMEOUT_MS);
	mgpu_queue_error(q, &code, &head);
	TH_LOG("unmapped after %llu of %u copies: %s, queue error %s at %u",
	       (unsigned long long)done, ncopies, mgpu_strerror(ret),
	       mgpu_queue_error_str(code), head);
	EXPECT_TRUE(ret == 0 || ret == -EIO) TH_LOG("%s", mgpu_strerror(ret));
	if (ret == -EIO) {
		EXPECT_EQ(MGPU_ERR_DMA, code);
		EXPECT_LT(head, ncopies);
	}
	munmap(buf, size);

	/* The unmapped IOVA now fails deterministically... */
	ASSERT_EQ(0, mgpu_queue_reset(q));
	ASSERT_EQ(0, mgpu_submit(q, &cmds[0], 1));
	expect_stopped(_metadata, dev, 0, MGPU_ERR_DMA, 0);
	/* ...and the device still works. */
	ASSERT_EQ(0, mgpu_queue_reset(q));
	ASSERT_EQ(0, mgpu_dma_alloc(dev, 1 * MiB, &d));
	mgpu_test_rnd_seed(0x5eed0005);
	mgpu_test_rnd_fill(d.cpu, 1 * MiB);
	ASSERT_EQ(0, mgpu_copy(q, v, d.iova, 1 * MiB, MGPU_F_SRC_SYSMEM));
	EXPECT_EQ(0, memcmp(vptr(dev, v), d.cpu, 1 * MiB));
	EXPECT_EQ(0, mgpu_dma_free(dev, &d));
}
/* ====================================================================== */
/* close: a process that leaves work queued                               */

FIXTURE(close) {
	struct eng_base b;
};

FIXTURE_VARIANT(close) {
	bool kill;		/* SIGKILL instead of exit() */
};

FIXTURE_VARIANT_ADD(close, exit_with_work) { .kill = false };
FIXTURE_VARIANT_ADD(close, killed_with_work) { .kill = true };

FIXTURE_SETUP(close)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", false);
}

FIXTURE_TEARDOWN_PARENT(close)
{
	eng_remove_all(&self->b.inst);
}

/* What the child tells the parent (shared memory). */
struct close_info {
	volatile int state;	/* 1: busy, -1: failed */
	unsigned int nq;
	uint64_t slots, c[4];
	char err[128];
};

static void close_child(const char *uuid, struct close_info *ci, bool hold)
{
	const size_t msize = GEMM_STREAM_N * GEMM_STREAM_N * 4;
	struct mgpu_queue *q[4];
	struct mgpu_cmd cmd;
	struct mgpu_dev *dev;
	struct mgpu_dma d;
	uint64_t a, b, end;
	unsigned int i;
	int ret;

	ret = mgpu_open_vfio(uuid, &dev);
	if (ret) {
		snprintf(ci->err, sizeof(ci->err), "open: %s: %s",
			 mgpu_strerror(ret), mgpu_last_error());
		goto fail;
	}
	mgpu_irq_enable(dev);
	ci->nq = mgpu_num_queues(dev) < 4 ? mgpu_num_queues(dev) : 4;
	if (mgpu_vram_alloc(dev, msize, 4096, &a) ||
	    mgpu_vram_alloc(dev, msize, 4096, &b) ||
	    mgpu_vram_alloc(dev, 64, 64, &ci->slots) ||
	    mgpu_dma_alloc(dev, 4 * MiB, &d)) {
		snprintf(ci->err, sizeof(ci->err), "allocation failed");
		goto fail;
	}
	memset(mgpu_vram_ptr(dev, ci->slots), 0, 64);
	for (i = 0; i < ci->nq; i++) {
		if (mgpu_vram_alloc(dev, msize, 4096, &ci->c[i]) ||
		    mgpu_queue_open(dev, i, 512, 0, &q[i])) {
			snprintf(ci->err, sizeof(ci->err), "queue %u: %s", i,
				 mgpu_last_error());
			goto fail;
		}
	}
	for (i = 0; i < ci->nq; i++) {
		/* DMA on queue 0 too: guest memory must not be touched after close. */
		if (!i) {
			mgpu_cmd_copy(&cmd, a, d.iova, 4 * MiB < msize ? 4 * MiB : msize,
				      MGPU_F_SRC_SYSMEM);
			mgpu_submit(q[i], &cmd, 1);
		}
		if (gemm_stream(q[i], a, b, ci->c[i], ci->slots + 8 * i,
				200)) {
			snprintf(ci->err, sizeof(ci->err), "submit failed");
			goto fail;
		}
	}
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
	while (!load64(mgpu_vram_ptr(dev, ci->slots)) && mgpu_test_now_ms() < end)
		usleep(500);
	ci->state = 1;
	if (hold)
		pause();	/* the parent kills us */
	_exit(0);		/* no mgpu_close(): the kernel cleans up */
fail:
	ci->state = -1;
	_exit(1);
}

TEST_F(close, with_work_queued)
{
	const size_t msize = GEMM_STREAM_N * GEMM_STREAM_N * 4;
	struct close_info *ci;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	uint64_t end, fences[4], sums[4];
	unsigned int i;
	pid_t pid;
	int status, ret;

	ci = mmap(NULL, sizeof(*ci), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ci);
	memset(ci, 0, sizeof(*ci));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		close_child(self->b.uuid[0], ci, variant->kill);
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
	while (!ci->state && mgpu_test_now_ms() < end)
		usleep(1000);
	if (variant->kill && ci->state == 1)
		kill(pid, SIGKILL);
	if (ci->state != 1)
		kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(1, ci->state) TH_LOG("child: %s", ci->err);

	/* The device is free again and in its reset state. */
	ret = mgpu_open_vfio(self->b.uuid[0], &dev);
	ASSERT_EQ(0, ret) TH_LOG("reopen: %s: %s", mgpu_strerror(ret),
				 mgpu_last_error());
	self->b.dev[0] = dev;
	for (i = 0; i < ci->nq; i++) {
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_CTRL));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_STATUS));
		fences[i] = load64((uint8_t *)vptr(dev, ci->slots) + 8 * i);
		sums[i] = checksum(vptr(dev, ci->c[i]), msize);
	}
	TH_LOG("fences at close: %llu %llu %llu %llu",
	       (unsigned long long)fences[0], (unsigned long long)fences[1],
	       (unsigned long long)fences[2], (unsigned long long)fences[3]);
	mgpu_test_sleep_ms(300);
	for (i = 0; i < ci->nq; i++) {
		EXPECT_EQ(fences[i],
			  load64((uint8_t *)vptr(dev, ci->slots) + 8 * i))
			TH_LOG("queue %u: a fence landed after close", i);
		EXPECT_EQ(sums[i], checksum(vptr(dev, ci->c[i]), msize))
			TH_LOG("queue %u: C changed after close", i);
	}
	/* VRAM survives; the new user's allocator starts from scratch. */
	q = qopen(_metadata, dev, 0, 0, 0);
	{
		const struct shape s = { 9, 11, 13 };

		mgpu_test_rnd_seed(0x5eed0006);
		gemm_f32_one(_metadata, dev, q, &s, 1.0f, 0.5f, false);
		gemm_i8_one(_metadata, dev, q, &s, 3, -1);
	}
	munmap(ci, sizeof(*ci));
}

MGPU_TEST_HARNESS_MAIN
