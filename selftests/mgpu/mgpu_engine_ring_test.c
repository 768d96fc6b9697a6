// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport): trap-free (TAIL_POLL) and system-memory rings: wrap, config
 * locked while enabled, bad tails.
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
/* ring: VRAM and system-memory rings, doorbell and trap-free tails       */

FIXTURE(ring) {
	struct eng_base b;
	struct mgpu_dev *dev;
};

FIXTURE_VARIANT(ring) {
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(ring, vram_doorbell) { .flags = 0 };
FIXTURE_VARIANT_ADD(ring, vram_tail_poll) { .flags = MGPU_QUEUE_TAIL_POLL };
FIXTURE_VARIANT_ADD(ring, sysmem_doorbell) { .flags = MGPU_QUEUE_RING_SYSMEM };
FIXTURE_VARIANT_ADD(ring, sysmem_tail_poll) {
	.flags = MGPU_QUEUE_RING_SYSMEM | MGPU_QUEUE_TAIL_POLL,
};

FIXTURE_SETUP(ring)
{
	if (!eng_can_create(_metadata, "mgpu-1_8", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_8", true);
	self->dev = self->b.dev[0];
	if ((variant->flags & MGPU_QUEUE_TAIL_POLL) &&
	    !(mgpu_caps(self->dev) & MGPU_CAP_TAIL_POLL))
		SKIP(return, "no MGPU_CAP_TAIL_POLL");
}

FIXTURE_TEARDOWN_PARENT(ring)
{
	eng_remove_all(&self->b.inst);
}

/* A small ring wraps many times; every command runs once, in order. */
TEST_F(ring, wrap)
{
	const unsigned int n = 300;
	struct mgpu_queue *q;
	struct mgpu_cmd *cmds;
	uint64_t dst, slot;
	uint32_t *p, ctrl;
	unsigned int i, bad = 0;

	q = qopen(_metadata, self->dev, 0, 8, variant->flags);
	ctrl = qrd(self->dev, 0, MGPU_Q_CTRL);
	EXPECT_EQ(!!(variant->flags & MGPU_QUEUE_TAIL_POLL),
		  !!(ctrl & MGPU_QCTRL_TAIL_POLL));
	EXPECT_EQ(!!(variant->flags & MGPU_QUEUE_RING_SYSMEM),
		  !!(ctrl & MGPU_QCTRL_RING_SYSMEM));
	dst = vram_get(_metadata, self->dev, n * 4, 64);
	slot = vram_get(_metadata, self->dev, 8, 8);
	p = vptr(self->dev, dst);
	memset(p, 0, n * 4);
	cmds = calloc(n, sizeof(*cmds));
	ASSERT_NE(NULL, cmds);
	/* Each FILL stores i + 1 and adds to a running FENCE check. */
	for (i = 0; i < n; i++) {
		if (i % 3 == 2)
			mgpu_cmd_fence(&cmds[i], slot, i, 0);
		else
			mgpu_cmd_fill(&cmds[i], dst + i * 4, 4, i + 1, 0);
	}
	ASSERT_RUN(q, cmds, n);
	for (i = 0; i < n; i++)
		if (i % 3 != 2)
			bad += p[i] != i + 1;
	EXPECT_EQ(0, bad);
	for (i = n - 1; i % 3 != 2; i--)
		;
	EXPECT_EQ(i, load64(vptr(self->dev, slot)));
	EXPECT_EQ(n + 1, q_completed(self->dev, 0));
	EXPECT_EQ((n + 1) % 8, qrd(self->dev, 0, MGPU_Q_HEAD));
	free(cmds);
	mgpu_queue_close(q);
}

/*
 * Batches behind their own fence (mgpu_submit_fence()), each waited for
 * in VRAM before the next: the ring wraps every time, yet libmgpu reads
 * no register to find space (the signalled fence says where HEAD is),
 * so a step costs exactly its doorbell: one trap with the TAIL
 * register, none with the polled tail.
 */
TEST_F(ring, fenced_batches_without_reads)
{
	const unsigned int rounds = 40, per = 5;
	const char *u = self->b.uuid[0];
	struct mgpu_cmd cmds[5];
	struct mgpu_queue *q;
	unsigned int i, j;
	uint64_t seq = 0, t0;
	long traps;

	q = qopen(_metadata, self->dev, 0, 8, variant->flags);
	for (j = 0; j < per; j++)
		mgpu_cmd_nop(&cmds[j]);
	traps = eng_instance_attr(u, "reg_traps");
	ASSERT_LE(0, traps);
	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(0, mgpu_submit_fence(q, cmds, per, &seq));
		t0 = mgpu_test_now_ns();
		while (!mgpu_fence_signaled(q, seq))
			ASSERT_GT(5000000000ull, mgpu_test_now_ns() - t0)
				TH_LOG("round %u: no fence %llu after 5 s", i,
				       (unsigned long long)seq);
	}
	EXPECT_EQ(traps + ((variant->flags & MGPU_QUEUE_TAIL_POLL) ? 0 : rounds),
		  eng_instance_attr(u, "reg_traps"));
	EXPECT_EQ(rounds * (per + 1), q_completed(self->dev, 0));
	mgpu_queue_close(q);
}

/*
 * A long mgpu_fence_wait() reads the queue's status register a few
 * times, not once a millisecond: after 1 ms, whenever the time waited
 * has doubled and at least every 100 ms.  Each read is a trap to the VMM
 * in a guest; a wait of 0.3 s or more used to cost one per millisecond.
 * The batch of 256^3 fp32 GEMMs grows until the wait lasts 0.3 s.
 */
TEST_F(ring, long_wait_few_reads)
{
	const uint32_t d = 256;
	const char *u = self->b.uuid[0];
	struct mgpu_cmd cmds[64];
	uint64_t a, b, c, seq = 0, t0, ns = 0;
	unsigned int i, k = 1;
	long traps, reads = 0, bound;
	struct mgpu_queue *q;

	q = qopen(_metadata, self->dev, 0, 128, variant->flags);
	a = vram_get(_metadata, self->dev, d * d * 4, 64);
	b = vram_get(_metadata, self->dev, d * d * 4, 64);
	c = vram_get(_metadata, self->dev, d * d * 4, 64);
	for (;;) {
		for (i = 0; i < k; i++)
			mgpu_cmd_gemm_f32(&cmds[i], a, b, c, d, d, d, 1.0f, 0.0f);
		traps = eng_instance_attr(u, "reg_traps");
		ASSERT_LE(0, traps);
		t0 = mgpu_test_now_ns();
		ASSERT_EQ(0, mgpu_submit_fence(q, cmds, k, &seq));
		ASSERT_EQ(0, mgpu_fence_wait(q, seq, 120000));
		ns = mgpu_test_now_ns() - t0;
		reads = eng_instance_attr(u, "reg_traps") - traps;
		if (ns >= 300000000ull || k == 64)
			break;
		k *= 400000000ull / ns + 1;
		if (k > 64)
			k = 64;
	}
	if (ns < 300000000ull) {
		mgpu_queue_close(q);
		SKIP(return, "64 GEMMs of 256^3 took only %llu ms",
		     (unsigned long long)(ns / 1000000));
	}
	/*
	 * 1, 2, 4 ... 128 ms, then every 100 ms: 8 + ms / 100, with a
	 * margin of 4; the doorbell.  The old wait read once a millisecond.
	 */
	bound = 12 + ns / 100000000 +
		((variant->flags & MGPU_QUEUE_TAIL_POLL) ? 0 : 1);
	TH_LOG("%u GEMMs: %ld register accesses in %llu ms (at most %ld)",
	       k, reads, (unsigned long long)(ns / 1000000), bound);
	EXPECT_GE(bound, reads);
	mgpu_queue_close(q);
}

/* RING, RING_SIZE and TAIL_ADDR only change while the queue is disabled. */
TEST_F(ring, config_locked_while_enabled)
{
	struct mgpu_queue *q;
	uint32_t lo, hi, size, taddr;
	uint64_t dst;

	q = qopen(_metadata, self->dev, 0, 16, variant->flags);
	lo = qrd(self->dev, 0, MGPU_Q_RING_LO);
	hi = qrd(self->dev, 0, MGPU_Q_RING_HI);
	size = qrd(self->dev, 0, MGPU_Q_RING_SIZE);
	taddr = qrd(self->dev, 0, MGPU_Q_TAIL_ADDR);
	EXPECT_EQ(16, size);
	qwr(self->dev, 0, MGPU_Q_RING_LO, lo + 4096);
	qwr(self->dev, 0, MGPU_Q_RING_HI, hi + 1);
	qwr(self->dev, 0, MGPU_Q_RING_SIZE, 4);
	qwr(self->dev, 0, MGPU_Q_TAIL_ADDR, taddr + 64);
	/* Enabling an enabled queue changes nothing either. */
	qwr(self->dev, 0, MGPU_Q_CTRL, qrd(self->dev, 0, MGPU_Q_CTRL));
	EXPECT_EQ(lo, qrd(self->dev, 0, MGPU_Q_RING_LO));
	EXPECT_EQ(hi, qrd(self->dev, 0, MGPU_Q_RING_HI));
	EXPECT_EQ(size, qrd(self->dev, 0, MGPU_Q_RING_SIZE));
	EXPECT_EQ(taddr, qrd(self->dev, 0, MGPU_Q_TAIL_ADDR));
	dst = vram_get(_metadata, self->dev, 64, 64);
	ASSERT_EQ(0, mgpu_fill(q, dst, 64, 5, 0));
	EXPECT_EQ(5, *(uint32_t *)vptr(self->dev, dst));
	mgpu_queue_close(q);
}

/*
 * A doorbell queue stops with BAD_TAIL on a tail beyond the ring; a
 * TAIL_POLL queue ignores the TAIL register and stops when the polled
 * tail in VRAM is beyond the ring.
 */
TEST_F(ring, bad_tail)
{
	struct mgpu_queue *q;
	struct mgpu_cmd cmds[3];
	uint64_t dst;
	uint32_t taddr;

	q = qopen(_metadata, self->dev, 0, 16, variant->flags);
	dst = vram_get(_metadata, self->dev, 64, 64);
	mgpu_cmd_fill(&cmds[0], dst, 64, 1, 0);
	mgpu_cmd_nop(&cmds[1]);
	ASSERT_RUN(q, cmds, 2);			/* HEAD = 3 */
	qwr(self->dev, 0, MGPU_Q_TAIL, 16);
	if (variant->flags & MGPU_QUEUE_TAIL_POLL) {
		usleep(20000);
		EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->dev, 0, MGPU_Q_STATUS))
			TH_LOG("TAIL register written on a TAIL_POLL queue");
		ASSERT_EQ(0, mgpu_fill(q, dst, 64, 2, 0));	/* HEAD = 5 */
		taddr = qrd(self->dev, 0, MGPU_Q_TAIL_ADDR);
		__atomic_store_n((uint32_t *)vptr(self->dev, taddr), 16,
				 __ATOMIC_SEQ_CST);
		expect_stopped(_metadata, self->dev, 0, MGPU_ERR_BAD_TAIL, 5);
	} else {
		expect_stopped(_metadata, self->dev, 0, MGPU_ERR_BAD_TAIL, 3);
	}
	ASSERT_EQ(0, mgpu_queue_reset(q));
	ASSERT_EQ(0, mgpu_fill(q, dst, 64, 3, 0));
	EXPECT_EQ(3, *(uint32_t *)vptr(self->dev, dst));
	mgpu_queue_close(q);
}

MGPU_TEST_HARNESS_MAIN
