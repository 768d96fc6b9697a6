// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport): error isolation (queue, instance, neighbour instance) and
 * recovery.
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
/* isolation: a queue error stays in its queue                            */

enum iso_kind {
	ISO_CMD,		/* a bad command at ring index 2 of queue 0 */
	ISO_TAIL,		/* TAIL beyond the ring on queue 0 */
	ISO_RING,		/* bad ring configuration on queue 2 */
};

enum iso_bad {
	B_OPCODE, B_OPCODE_MAX, B_NOP_FLAGS, B_NOP_ARG, B_FENCE_FLAGS,
	B_FENCE_ARG, B_TS_IRQ, B_TS_ARG, B_COPY_FLAGS, B_COPY_ARG,
	B_COPY_OVERLAP, B_FILL_PATTERN, B_FILL_FLAGS, B_GEMM_ZERO,
	B_GEMM_BIG, B_GEMM_RESERVED, B_GEMM_FLAGS, B_GEMM_C_ON_A,
	B_GEMM_C_ON_B, R_COPY_DST, R_COPY_SRC, R_COPY_WRAP, R_FILL,
	R_FENCE, R_TS, R_GEMM_A, R_GEMM_C, A_FENCE, A_TS, A_FILL_DST,
	A_FILL_SIZE, A_GEMM, D_COPY, D_FENCE,
	T_TAIL,
	G_OUTSIDE, G_STRADDLE, G_MISALIGNED, G_SIZE_3, G_SIZE_1, G_SIZE_BIG,
	G_TAIL_ADDR, G_TAIL_ADDR_END, G_SYSMEM_UNMAPPED,
};

FIXTURE(isolation) {
	struct eng_base b;
	struct mgpu_dev *a, *nb;	/* victim instance, neighbour */
	struct mgpu_queue *q0, *q1, *nq;
	uint64_t vram;			/* the victim's VRAM size */
	uint64_t scratch;		/* 1 MiB of the victim, 0x5a */
	uint64_t pattern;		/* the neighbour's 4 MiB pattern */
	uint8_t *saved;
};

FIXTURE_VARIANT(isolation) {
	enum iso_kind kind;
	enum iso_bad bad;
	uint32_t err;
};

#define ISO(_name, _kind, _bad, _err)					\
	FIXTURE_VARIANT_ADD(isolation, _name) {				\
		.kind = _kind, .bad = _bad, .err = MGPU_ERR_##_err,	\
	}

ISO(bad_opcode, ISO_CMD, B_OPCODE, BAD_OPCODE);
ISO(bad_opcode_max, ISO_CMD, B_OPCODE_MAX, BAD_OPCODE);
ISO(nop_flags, ISO_CMD, B_NOP_FLAGS, BAD_CMD);
ISO(nop_arg, ISO_CMD, B_NOP_ARG, BAD_CMD);
ISO(fence_flags, ISO_CMD, B_FENCE_FLAGS, BAD_CMD);
ISO(fence_arg, ISO_CMD, B_FENCE_ARG, BAD_CMD);
ISO(timestamp_irq, ISO_CMD, B_TS_IRQ, BAD_CMD);
ISO(timestamp_arg, ISO_CMD, B_TS_ARG, BAD_CMD);
ISO(copy_flags, ISO_CMD, B_COPY_FLAGS, BAD_CMD);
ISO(copy_arg, ISO_CMD, B_COPY_ARG, BAD_CMD);
ISO(copy_overlap, ISO_CMD, B_COPY_OVERLAP, BAD_CMD);
ISO(fill_pattern, ISO_CMD, B_FILL_PATTERN, BAD_CMD);
ISO(fill_flags, ISO_CMD, B_FILL_FLAGS, BAD_CMD);
ISO(gemm_zero_dim, ISO_CMD, B_GEMM_ZERO, BAD_CMD);
ISO(gemm_big_dim, ISO_CMD, B_GEMM_BIG, BAD_CMD);
ISO(gemm_reserved, ISO_CMD, B_GEMM_RESERVED, BAD_CMD);
ISO(gemm_flags, ISO_CMD, B_GEMM_FLAGS, BAD_CMD);
ISO(gemm_c_overlaps_a, ISO_CMD, B_GEMM_C_ON_A, BAD_CMD);
ISO(gemm_c_overlaps_b, ISO_CMD, B_GEMM_C_ON_B, BAD_CMD);
ISO(range_copy_dst, ISO_CMD, R_COPY_DST, VRAM_RANGE);
ISO(range_copy_src, ISO_CMD, R_COPY_SRC, VRAM_RANGE);
ISO(range_copy_wrap, ISO_CMD, R_COPY_WRAP, VRAM_RANGE);
ISO(range_fill, ISO_CMD, R_FILL, VRAM_RANGE);
ISO(range_fence, ISO_CMD, R_FENCE, VRAM_RANGE);
ISO(range_timestamp, ISO_CMD, R_TS, VRAM_RANGE);
ISO(range_gemm_a, ISO_CMD, R_GEMM_A, VRAM_RANGE);
ISO(range_gemm_c, ISO_CMD, R_GEMM_C, VRAM_RANGE);
ISO(align_fence, ISO_CMD, A_FENCE, ALIGN);
ISO(align_timestamp, ISO_CMD, A_TS, ALIGN);
ISO(align_fill_dst, ISO_CMD, A_FILL_DST, ALIGN);
ISO(align_fill_size, ISO_CMD, A_FILL_SIZE, ALIGN);
ISO(align_gemm, ISO_CMD, A_GEMM, ALIGN);
ISO(dma_copy, ISO_CMD, D_COPY, DMA);
ISO(dma_fence, ISO_CMD, D_FENCE, DMA);
ISO(tail_beyond_ring, ISO_TAIL, T_TAIL, BAD_TAIL);
ISO(ring_outside_vram, ISO_RING, G_OUTSIDE, BAD_RING);
ISO(ring_straddles_end, ISO_RING, G_STRADDLE, BAD_RING);
ISO(ring_misaligned, ISO_RING, G_MISALIGNED, BAD_RING);
ISO(ring_size_3, ISO_RING, G_SIZE_3, BAD_RING);
ISO(ring_size_1, ISO_RING, G_SIZE_1, BAD_RING);
ISO(ring_size_2_17, ISO_RING, G_SIZE_BIG, BAD_RING);
ISO(ring_tail_addr_misaligned, ISO_RING, G_TAIL_ADDR, BAD_RING);
ISO(ring_tail_addr_outside, ISO_RING, G_TAIL_ADDR_END, BAD_RING);
ISO(ring_sysmem_unmapped, ISO_RING, G_SYSMEM_UNMAPPED, DMA);

FIXTURE_SETUP(isolation)
{
	uint8_t *p;

	if (!eng_can_create(_metadata, "mgpu-1_4", 2))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
	eng_instance(_metadata, &self->b, 1, "mgpu-1_4", true);
	self->a = self->b.dev[0];
	self->nb = self->b.dev[1];
	self->vram = mgpu_vram_size(self->a);
	ASSERT_GE(mgpu_num_queues(self->a), 3);

	/* The neighbour: a pattern at the start of its VRAM, then a queue. */
	self->pattern = vram_get(_metadata, self->nb, 4 * MiB, 64);
	p = vptr(self->nb, self->pattern);
	mgpu_test_rnd_seed(0x5eed0003);
	mgpu_test_rnd_fill(p, 4 * MiB);
	self->saved = malloc(4 * MiB);
	ASSERT_NE(NULL, self->saved);
	memcpy(self->saved, p, 4 * MiB);
	self->nq = qopen(_metadata, self->nb, 0, 256, 0);

	self->scratch = vram_get(_metadata, self->a, 1 * MiB, 4096);
	memset(vptr(self->a, self->scratch), 0x5a, 1 * MiB);
	self->q0 = qopen(_metadata, self->a, 0, 256, 0);
	self->q1 = qopen(_metadata, self->a, 1, 256, 0);
}

FIXTURE_TEARDOWN_PARENT(isolation)
{
	eng_remove_all(&self->b.inst);
}

/* The bad command for @bad; V is the victim's VRAM size, S its scratch. */
static void iso_bad_cmd(enum iso_bad bad, uint64_t V, uint64_t S,
			struct mgpu_cmd *c)
{
	struct mgpu_cmd_gemm *g = (struct mgpu_cmd_gemm *)c;

	mgpu_cmd_nop(c);
	switch (bad) {
	case B_OPCODE:
		c->opcode = MGPU_OP_XENT + 1;
		break;
	case B_OPCODE_MAX:
		c->opcode = ~0U;
		break;
	case B_NOP_FLAGS:
		c->flags = MGPU_F_IRQ;
		break;
	case B_NOP_ARG:
		c->arg[6] = 1;
		break;
	case B_FENCE_FLAGS:
		mgpu_cmd_fence(c, S, 1, MGPU_F_SRC_SYSMEM);
		break;
	case B_FENCE_ARG:
		mgpu_cmd_fence(c, S, 1, 0);
		c->arg[2] = 1;
		break;
	case B_TS_IRQ:
		mgpu_cmd_timestamp(c, S, MGPU_F_IRQ);
		break;
	case B_TS_ARG:
		mgpu_cmd_timestamp(c, S, 0);
		c->arg[1] = 1;
		break;
	case B_COPY_FLAGS:
		mgpu_cmd_copy(c, S + 4096, S, 64, MGPU_F_IRQ);
		break;
	case B_COPY_ARG:
		mgpu_cmd_copy(c, S + 4096, S, 64, 0);
		c->arg[3] = 1;
		break;
	case B_COPY_OVERLAP:
		mgpu_cmd_copy(c, S + 4, S, 64, 0);
		break;
	case B_FILL_PATTERN:
		mgpu_cmd_fill(c, S, 64, 0, 0);
		c->arg[2] = 1ULL << 32;
		break;
	case B_FILL_FLAGS:
		mgpu_cmd_fill(c, S, 64, 0, MGPU_F_SRC_SYSMEM);
		break;
	case B_GEMM_ZERO:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 8192, 4, 0, 4, 1, 0);
		break;
	case B_GEMM_BIG:
		mgpu_cmd_gemm_i8(c, S, S + 65536, S + 8192, 1, 1,
				 MGPU_GEMM_MAX_DIM + 1, 1, 0);
		break;
	case B_GEMM_RESERVED:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 8192, 4, 4, 4, 1, 0);
		g->reserved[2] = 1;
		break;
	case B_GEMM_FLAGS:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 8192, 4, 4, 4, 1, 0);
		g->flags = MGPU_F_SRC_SYSMEM;
		break;
	case B_GEMM_C_ON_A:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 16, 4, 4, 4, 1, 0);
		break;
	case B_GEMM_C_ON_B:
		mgpu_cmd_gemm_i8(c, S, S + 4096, S + 4096 + 12, 4, 4, 4, 1, 0);
		break;
	case R_COPY_DST:
		mgpu_cmd_copy(c, V - 100, S, 200, 0);
		break;
	case R_COPY_SRC:
		mgpu_cmd_copy(c, S, V, 4096, 0);
		break;
	case R_COPY_WRAP:
		mgpu_cmd_copy(c, ~0ULL - 63, S, 128, 0);
		break;
	case R_FILL:
		mgpu_cmd_fill(c, V, 4, 0xffffffff, 0);
		break;
	case R_FENCE:
		mgpu_cmd_fence(c, V, ~0ULL, 0);
		break;
	case R_TS:
		mgpu_cmd_timestamp(c, V + 8, 0);
		break;
	case R_GEMM_A:
		mgpu_cmd_gemm_f32(c, V - 8, S, S + 8192, 4, 4, 4, 1, 0);
		break;
	case R_GEMM_C:
		mgpu_cmd_gemm_f32(c, S, S + 4096, V - 4, 2, 2, 2, 1, 0);
		break;
	case A_FENCE:
		mgpu_cmd_fence(c, S + 4, 1, 0);
		break;
	case A_TS:
		mgpu_cmd_timestamp(c, S + 2, 0);
		break;
	case A_FILL_DST:
		mgpu_cmd_fill(c, S + 2, 4, 0, 0);
		break;
	case A_FILL_SIZE:
		mgpu_cmd_fill(c, S, 6, 0, 0);
		break;
	case A_GEMM:
		mgpu_cmd_gemm_i8(c, S + 1, S + 4096, S + 8192, 4, 4, 4, 1, 0);
		break;
	case D_COPY:
		mgpu_cmd_copy(c, S, 0x1000, 64, MGPU_F_SRC_SYSMEM);
		break;
	case D_FENCE:
		mgpu_cmd_fence(c, 0x2000, 1, MGPU_F_DST_SYSMEM);
		break;
	default:
		break;
	}
}

/* A stream of FILLs and fences on @q into @dst: @n rounds from @first. */
static int iso_work(struct mgpu_queue *q, uint64_t dst, uint64_t slot,
		    unsigned int first, unsigned int n)
{
	struct mgpu_cmd cmds[2];
	unsigned int i;
	int ret = 0;

	for (i = first; i < first + n && !ret; i++) {
		mgpu_cmd_fill(&cmds[0], dst + (i % 16) * 16 * KiB, 16 * KiB,
			      i + 1, 0);
		mgpu_cmd_fence(&cmds[1], slot, i + 1, 0);
		ret = mgpu_submit(q, cmds, 2);
	}
	return ret;
}

static void iso_check_work(struct __test_metadata *_metadata,
			   struct mgpu_dev *dev, struct mgpu_queue *q,
			   uint64_t dst, uint64_t slot, unsigned int n,
			   const char *who)
{
	unsigned int i, bad = 0;

	ASSERT_EQ(0, mgpu_queue_sync(q, ENG_TIMEOUT_MS))
		TH_LOG("%s: its queue stopped: %s", who,
		       mgpu_queue_error_str(qrd(dev, mgpu_queue_index(q),
						MGPU_Q_ERROR)));
	EXPECT_EQ(n, load64(vptr(dev, slot)));
	for (i = n - 16; i < n; i++) {
		uint32_t *w = vptr(dev, dst + (i % 16) * 16 * KiB);

		bad += w[0] != i + 1 || w[4 * KiB - 1] != i + 1;
	}
	EXPECT_EQ(0, bad) TH_LOG("%s: its work did not complete", who);
	EXPECT_EQ(MGPU_QSTAT_ENABLED,
		  qrd(dev, mgpu_queue_index(q), MGPU_Q_STATUS));
}

/* Raw queue @q of @dev: write the configuration, then CTRL. */
static void raw_queue(struct mgpu_dev *dev, unsigned int q, uint64_t ring,
		      uint32_t size, uint32_t tail_addr, uint32_t ctrl)
{
	qwr(dev, q, MGPU_Q_CTRL, 0);
	qwr(dev, q, MGPU_Q_RING_LO, (uint32_t)ring);
	qwr(dev, q, MGPU_Q_RING_HI, (uint32_t)(ring >> 32));
	qwr(dev, q, MGPU_Q_RING_SIZE, size);
	qwr(dev, q, MGPU_Q_TAIL_ADDR, tail_addr);
	qwr(dev, q, MGPU_Q_CTRL, ctrl);
}

TEST_F(isolation, error_stays_local)
{
	const uint64_t V = self->vram, S = self->scratch;
	uint64_t wa, sa, wn, sn, marker, ring = 0;
	struct mgpu_cmd cmds[5];
	uint32_t ctrl = MGPU_QCTRL_ENABLE;
	unsigned int rq = 2;
	uint8_t *pm;

	TH_LOG("victim at VRAM %ld, neighbour at %ld, slice %llu MiB",
	       eng_instance_attr(self->b.uuid[0], "vram_offset"),
	       eng_instance_attr(self->b.uuid[1], "vram_offset"),
	       (unsigned long long)(V >> 20));

	/* Work around the failure: the other queue and the neighbour. */
	wa = vram_get(_metadata, self->a, 256 * KiB, 64);
	sa = vram_get(_metadata, self->a, 8, 8);
	wn = vram_get(_metadata, self->nb, 256 * KiB, 64);
	sn = vram_get(_metadata, self->nb, 8, 8);
	marker = vram_get(_metadata, self->a, 64, 64);
	pm = vptr(self->a, marker);
	memset(pm, 0, 64);
	ASSERT_EQ(0, iso_work(self->q1, wa, sa, 0, 40));
	ASSERT_EQ(0, iso_work(self->nq, wn, sn, 0, 40));

	switch (variant->kind) {
	case ISO_CMD:
		mgpu_cmd_nop(&cmds[0]);
		mgpu_cmd_nop(&cmds[1]);
		iso_bad_cmd(variant->bad, V, S, &cmds[2]);
		mgpu_cmd_fill(&cmds[3], marker, 64, 0x77, 0);
		mgpu_cmd_fence(&cmds[4], marker, 0x77, 0);
		ASSERT_EQ(0, mgpu_submit(self->q0, cmds, 5));
		expect_stopped(_metadata, self->a, 0, variant->err, 2);
		EXPECT_EQ(2, q_completed(self->a, 0));
		EXPECT_EQ(-EIO, mgpu_queue_sync(self->q0, 1000));
		EXPECT_TRUE(mem_is(pm, 0, 64))
			TH_LOG("commands after the failed one ran");
		break;
	case ISO_TAIL:
		mgpu_cmd_nop(&cmds[0]);
		mgpu_cmd_nop(&cmds[1]);
		ASSERT_RUN(self->q0, cmds, 2);
		qwr(self->a, 0, MGPU_Q_TAIL, 256);
		expect_stopped(_metadata, self->a, 0, variant->err, 3);
		EXPECT_EQ(3, q_completed(self->a, 0));
		break;
	case ISO_RING:
		ring = vram_get(_metadata, self->a, 64 * 64, 4096);
		switch (variant->bad) {
		case G_OUTSIDE:
			raw_queue(self->a, rq, V, 4, 0, ctrl);
			break;
		case G_STRADDLE:
			raw_queue(self->a, rq, V - 2 * 64, 4, 0, ctrl);
			break;
		case G_MISALIGNED:
			raw_queue(self->a, rq, ring + 32, 4, 0, ctrl);
			break;
		case G_SIZE_3:
			raw_queue(self->a, rq, ring, 3, 0, ctrl);
			break;
		case G_SIZE_1:
			raw_queue(self->a, rq, ring, 1, 0, ctrl);
			break;
		case G_SIZE_BIG:
			raw_queue(self->a, rq, ring, MGPU_RING_MAX_ENTRIES * 2,
				  0, ctrl);
			break;
		case G_TAIL_ADDR:
			raw_queue(self->a, rq, ring, 4, (uint32_t)(ring + 64 * 4 + 2),
				  ctrl | MGPU_QCTRL_TAIL_POLL);
			break;
		case G_TAIL_ADDR_END:
			raw_queue(self->a, rq, ring, 4, (uint32_t)V,
				  ctrl | MGPU_QCTRL_TAIL_POLL);
			break;
		case G_SYSMEM_UNMAPPED:
			/* Enabling works; the first fetch fails. */
			raw_queue(self->a, rq, 0x10000, 4, 0,
				  ctrl | MGPU_QCTRL_RING_SYSMEM);
			EXPECT_EQ(MGPU_QSTAT_ENABLED,
				  qrd(self->a, rq, MGPU_Q_STATUS));
			qwr(self->a, rq, MGPU_Q_TAIL, 1);
			break;
		default:
			break;
		}
		expect_stopped(_metadata, self->a, rq, variant->err, 0);
		EXPECT_EQ(0, q_completed(self->a, rq));
		break;
	}

	/* More work after the failure, everywhere else. */
	ASSERT_EQ(0, iso_work(self->q1, wa, sa, 40, 40));
	ASSERT_EQ(0, iso_work(self->nq, wn, sn, 40, 40));
	iso_check_work(_metadata, self->a, self->q1, wa, sa, 80,
		       "the victim's other queue");
	iso_check_work(_metadata, self->nb, self->nq, wn, sn, 80,
		       "the neighbour instance");
	EXPECT_EQ(0, memcmp(vptr(self->nb, self->pattern), self->saved,
			    4 * MiB)) TH_LOG("the neighbour's VRAM changed");
	EXPECT_FALSE(rd(self->nb, MGPU_REG_INT_STATUS) & MGPU_INT_ERROR)
		TH_LOG("the neighbour saw an ERROR cause");
	EXPECT_EQ(MGPU_ERR_NONE, qrd(self->a, 1, MGPU_Q_ERROR));
	EXPECT_TRUE(mem_is(vptr(self->a, S), 0x5a, 1 * MiB))
		TH_LOG("the failed command changed VRAM");

	/* Recovery: disable and enable. */
	if (variant->kind == ISO_RING) {
		uint8_t *pr = vptr(self->a, ring);

		mgpu_cmd_fill((struct mgpu_cmd *)pr, marker, 64, 0x99, 0);
		mgpu_cmd_fence((struct mgpu_cmd *)(pr + 64), marker + 8, 0x99, 0);
		raw_queue(self->a, rq, ring, 4, 0, ctrl);
		EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->a, rq, MGPU_Q_STATUS));
		EXPECT_EQ(MGPU_ERR_NONE, qrd(self->a, rq, MGPU_Q_ERROR));
		qwr(self->a, rq, MGPU_Q_TAIL, 2);
		EXPECT_TRUE(wait_u64(pm + 8, 0x99, ENG_TIMEOUT_MS));
		EXPECT_EQ(2, q_completed(self->a, rq));
		qwr(self->a, rq, MGPU_Q_CTRL, 0);
	} else {
		ASSERT_EQ(0, mgpu_queue_reset(self->q0));
		EXPECT_EQ(MGPU_ERR_NONE, qrd(self->a, 0, MGPU_Q_ERROR));
		EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->a, 0, MGPU_Q_STATUS));
		EXPECT_EQ(0, q_completed(self->a, 0));
		ASSERT_EQ(0, mgpu_fill(self->q0, marker, 64, 0x99, 0));
		EXPECT_EQ(0x99, *(uint32_t *)pm);
		EXPECT_EQ(2, q_completed(self->a, 0));
	}
}

MGPU_TEST_HARNESS_MAIN
