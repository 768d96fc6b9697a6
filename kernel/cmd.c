// SPDX-License-Identifier: GPL-2.0
/*
 * The command set: decode and validate a command, execute it one
 * bounded step at a time, and complete it.
 *
 * A command is validated once, when the engine fetches it
 * (mgpu_cmd_validate(): a pure function of the command and the size of
 * the vGPU's VRAM, so it can be fuzzed in userspace).  Steps then run
 * without checking again: COPY and FILL move at most a step's bytes,
 * GEMM does at most a step's multiply-adds, so that the engine can switch
 * tenants, notice a reset and enforce the watchdog between any two steps.
 * Effects that must not outlive a reset (fence and timestamp values,
 * interrupts) happen in mgpu_cmd_complete(), under the vGPU's lock, after
 * the engine checked that the queue was not stopped meanwhile.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <asm/fpu/api.h>

#include "mgpu_drv.h"

/* The work of one step: bytes for COPY/FILL, multiply-adds for GEMM. */
#define MGPU_STEP_BYTES		(256 * 1024)
#define MGPU_STEP_MACS		(128 * 1024)

static bool mgpu_cmd_args_zero(const struct mgpu_cmd *cmd, unsigned int from)
{
	unsigned int i;

	for (i = from; i < ARRAY_SIZE(cmd->arg); i++)
		if (cmd->arg[i])
			return false;
	return true;
}

static bool mgpu_cmd_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* FENCE and TIMESTAMP: an aligned u64 destination, written on completion. */
static int mgpu_cmd_validate_u64_dst(u64 vram_size, const struct mgpu_cmd *cmd)
{
	bool fence = cmd->opcode == MGPU_OP_FENCE;

	if (cmd->flags & ~(MGPU_F_DST_SYSMEM | (fence ? MGPU_F_IRQ : 0)) ||
	    !mgpu_cmd_args_zero(cmd, fence ? 2 : 1))
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(cmd->arg[0], 8))
		return MGPU_ERR_ALIGN;
	if (!(cmd->flags & MGPU_F_DST_SYSMEM) &&
	    !mgpu_vram_range_ok(vram_size, cmd->arg[0], 8))
		return MGPU_ERR_VRAM_RANGE;
	return 0;
}

static int mgpu_cmd_validate_copy(u64 vram_size, const struct mgpu_cmd *cmd)
{
	bool src_sys = cmd->flags & MGPU_F_SRC_SYSMEM;
	bool dst_sys = cmd->flags & MGPU_F_DST_SYSMEM;
	u64 src = cmd->arg[0], dst = cmd->arg[1], size = cmd->arg[2];

	if (cmd->flags & ~(MGPU_F_SRC_SYSMEM | MGPU_F_DST_SYSMEM) ||
	    !mgpu_cmd_args_zero(cmd, 3))
		return MGPU_ERR_BAD_CMD;
	if ((!src_sys && !mgpu_vram_range_ok(vram_size, src, size)) ||
	    (!dst_sys && !mgpu_vram_range_ok(vram_size, dst, size)))
		return MGPU_ERR_VRAM_RANGE;
	/* VRAM to VRAM copies are done in steps: no overlap. */
	if (!src_sys && !dst_sys && size &&
	    mgpu_cmd_overlap(src, size, dst, size))
		return MGPU_ERR_BAD_CMD;
	return 0;
}

static int mgpu_cmd_validate_fill(u64 vram_size, const struct mgpu_cmd *cmd)
{
	u64 dst = cmd->arg[0], size = cmd->arg[1];

	if (cmd->flags & ~MGPU_F_DST_SYSMEM || cmd->arg[2] > U32_MAX ||
	    !mgpu_cmd_args_zero(cmd, 3))
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(dst, 4) || !IS_ALIGNED(size, 4))
		return MGPU_ERR_ALIGN;
	if (!(cmd->flags & MGPU_F_DST_SYSMEM) &&
	    !mgpu_vram_range_ok(vram_size, dst, size))
		return MGPU_ERR_VRAM_RANGE;
	return 0;
}

static int mgpu_cmd_validate_gemm(u64 vram_size, const struct mgpu_cmd *cmd)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	u64 esize = g->flags & MGPU_F_GEMM_INT8 ? 1 : 4;
	u64 a_len, b_len, c_len;

	if (g->flags & ~MGPU_F_GEMM_INT8 || g->reserved[0] ||
	    g->reserved[1] || g->reserved[2] ||
	    !g->m || !g->n || !g->k || g->m > MGPU_GEMM_MAX_DIM ||
	    g->n > MGPU_GEMM_MAX_DIM || g->k > MGPU_GEMM_MAX_DIM)
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(g->a, 4) || !IS_ALIGNED(g->b, 4) ||
	    !IS_ALIGNED(g->c, 4))
		return MGPU_ERR_ALIGN;
	a_len = (u64)g->m * g->k * esize;
	b_len = (u64)g->k * g->n * esize;
	c_len = (u64)g->m * g->n * 4;
	if (!mgpu_vram_range_ok(vram_size, g->a, a_len) ||
	    !mgpu_vram_range_ok(vram_size, g->b, b_len) ||
	    !mgpu_vram_range_ok(vram_size, g->c, c_len))
		return MGPU_ERR_VRAM_RANGE;
	/* C is written in steps: it must not overlap an input. */
	if (mgpu_cmd_overlap(g->c, c_len, g->a, a_len) ||
	    mgpu_cmd_overlap(g->c, c_len, g->b, b_len))
		return MGPU_ERR_BAD_CMD;
	return 0;
}

/**
 * mgpu_cmd_validate() - check a command before it runs
 * @vram_size: bytes of VRAM of the vGPU that runs it
 * @cmd: the command, as fetched from the ring
 *
 * Checks the opcode, reserved flags and arguments, alignment, and that
 * every VRAM operand lies inside [0, @vram_size).  Guest memory operands
 * are checked when they are accessed (the IOMMU knows what is mapped).
 * Pure: depends on nothing but its arguments.
 *
 * Return: 0 if the command may run, or the MGPU_ERR_* code that stops
 * its queue.
 */
int mgpu_cmd_validate(u64 vram_size, const struct mgpu_cmd *cmd)
{
	switch (cmd->opcode) {
	case MGPU_OP_NOP:
		if (cmd->flags || !mgpu_cmd_args_zero(cmd, 0))
			return MGPU_ERR_BAD_CMD;
		return 0;
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		return mgpu_cmd_validate_u64_dst(vram_size, cmd);
	case MGPU_OP_COPY:
		return mgpu_cmd_validate_copy(vram_size, cmd);
	case MGPU_OP_FILL:
		return mgpu_cmd_validate_fill(vram_size, cmd);
	case MGPU_OP_GEMM:
		return mgpu_cmd_validate_gemm(vram_size, cmd);
	default:
		return MGPU_ERR_BAD_OPCODE;
	}
}

/* Copy @len bytes between guest memory at @iova and @buf. */
static int mgpu_cmd_dma(struct mgpu_vgpu *vgpu, u64 iova, void *buf,
			size_t len, bool write)
{
	return vfio_dma_rw(&vgpu->vdev, iova, buf, len, write) ?
	       MGPU_ERR_DMA : MGPU_CMD_DONE;
}

static int mgpu_cmd_step_copy(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	bool src_sys = cmd->flags & MGPU_F_SRC_SYSMEM;
	bool dst_sys = cmd->flags & MGPU_F_DST_SYSMEM;
	u64 src = cmd->arg[0], dst = cmd->arg[1], size = cmd->arg[2];
	void *vram = mgpu_vram_kaddr(vgpu);
	u64 done = *progress, n;
	int ret;

	if (done == size)
		return MGPU_CMD_DONE;
	n = min_t(u64, size - done, src_sys && dst_sys ? MGPU_BOUNCE_SIZE :
						      MGPU_STEP_BYTES);
	if (!src_sys && !dst_sys) {
		memcpy(vram + dst + done, vram + src + done, n);
	} else if (src_sys && !dst_sys) {
		ret = mgpu_cmd_dma(vgpu, src + done, vram + dst + done, n,
				   false);
		if (ret)
			return ret;
	} else if (!src_sys && dst_sys) {
		ret = mgpu_cmd_dma(vgpu, dst + done, vram + src + done, n,
				   true);
		if (ret)
			return ret;
	} else {
		ret = mgpu_cmd_dma(vgpu, src + done, e->bounce, n, false);
		if (!ret)
			ret = mgpu_cmd_dma(vgpu, dst + done, e->bounce, n, true);
		if (ret)
			return ret;
	}
	*progress = done + n;
	return *progress == size ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

static int mgpu_cmd_step_fill(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	u64 dst = cmd->arg[0], size = cmd->arg[1], done = *progress, n;
	u32 pattern = (__force u32)cpu_to_le32((u32)cmd->arg[2]);
	int ret;

	if (done == size)
		return MGPU_CMD_DONE;
	if (!(cmd->flags & MGPU_F_DST_SYSMEM)) {
		n = min_t(u64, size - done, MGPU_STEP_BYTES);
		memset32(mgpu_vram_kaddr(vgpu) + dst + done, pattern, n / 4);
	} else {
		n = min_t(u64, size - done, MGPU_BOUNCE_SIZE);
		memset32(e->bounce, pattern, n / 4);
		ret = mgpu_cmd_dma(vgpu, dst + done, e->bounce, n, true);
		if (ret)
			return ret;
	}
	*progress = done + n;
	return *progress == size ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

/* GEMM progress: row of C in the high half, inner index in the low half. */
static int mgpu_cmd_step_gemm(struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	bool int8 = g->flags & MGPU_F_GEMM_INT8;
	u32 row = *progress >> 32, p = lower_32_bits(*progress), pend;
	u64 macs = MGPU_STEP_MACS;
	void *vram = mgpu_vram_kaddr(vgpu);

	if (!int8)
		kernel_fpu_begin();
	while (row < g->m && macs) {
		pend = min_t(u64, g->k, p + max_t(u64, 1, macs / g->n));
		if (int8)
			mgpu_gemm_i8_row(vram + g->a + (u64)row * g->k,
					 vram + g->b,
					 vram + g->c + (u64)row * g->n * 4,
					 g->n, p, pend, g->alpha, g->beta);
		else
			mgpu_gemm_f32_row(vram + g->a + (u64)row * g->k * 4,
					  vram + g->b,
					  vram + g->c + (u64)row * g->n * 4,
					  g->n, p, pend, g->alpha, g->beta);
		macs -= min_t(u64, macs, (u64)(pend - p) * g->n);
		p = pend;
		if (p == g->k) {
			row++;
			p = 0;
		}
	}
	if (!int8)
		kernel_fpu_end();

	*progress = ((u64)row << 32) | p;
	return row == g->m ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

/**
 * mgpu_cmd_step() - run one bounded step of a validated command
 * @e: the engine (for its bounce buffer)
 * @vgpu: the instance whose command it is
 * @cmd: the command, accepted by mgpu_cmd_validate()
 * @progress: how far the command has come; 0 before the first step
 *
 * Return: MGPU_CMD_DONE when the command's work is done (it still has to
 * be completed), MGPU_CMD_MORE when steps remain, or an MGPU_ERR_* code.
 */
int mgpu_cmd_step(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
		  const struct mgpu_cmd *cmd, u64 *progress)
{
	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		return mgpu_cmd_step_copy(e, vgpu, cmd, progress);
	case MGPU_OP_FILL:
		return mgpu_cmd_step_fill(e, vgpu, cmd, progress);
	case MGPU_OP_GEMM:
		return mgpu_cmd_step_gemm(vgpu, cmd, progress);
	default:
		/* NOP, FENCE, TIMESTAMP: all their work is completion. */
		return MGPU_CMD_DONE;
	}
}

/**
 * mgpu_cmd_complete() - the effects of a finished command
 * @vgpu: the instance; its lock held
 * @cmd: the command
 *
 * Writes fence and timestamp values and raises the fence interrupt.
 * Called only if the queue was not stopped or reset since the command
 * was fetched, so none of this outlives a reset.
 *
 * Return: 0, or MGPU_ERR_DMA if guest memory could not be written.
 */
int mgpu_cmd_complete(struct mgpu_vgpu *vgpu, const struct mgpu_cmd *cmd)
{
	__le64 val;
	int ret;

	lockdep_assert_held(&vgpu->lock);

	if (cmd->opcode != MGPU_OP_FENCE && cmd->opcode != MGPU_OP_TIMESTAMP)
		return 0;

	val = cpu_to_le64(cmd->opcode == MGPU_OP_FENCE ? cmd->arg[1] :
			  ktime_get_ns());
	if (cmd->flags & MGPU_F_DST_SYSMEM) {
		ret = mgpu_cmd_dma(vgpu, cmd->arg[0], &val, sizeof(val), true);
		if (ret)
			return ret;
	} else {
		/* Aligned 64-bit store: a poller never sees half a value. */
		WRITE_ONCE(*(__le64 *)(mgpu_vram_kaddr(vgpu) + cmd->arg[0]),
			   val);
	}
	if (cmd->opcode == MGPU_OP_FENCE && (cmd->flags & MGPU_F_IRQ))
		mgpu_irq_raise(vgpu, MGPU_INT_FENCE);
	return 0;
}

/**
 * mgpu_cmd_account() - add a completed command to the statistics
 * @vgpu: the instance; its lock held
 * @cmd: the command
 */
void mgpu_cmd_account(struct mgpu_vgpu *vgpu, const struct mgpu_cmd *cmd)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	struct mgpu_vgpu_stats *st = &vgpu->stats;

	lockdep_assert_held(&vgpu->lock);

	WRITE_ONCE(st->commands, st->commands + 1);
	if (cmd->opcode == MGPU_OP_COPY)
		WRITE_ONCE(st->bytes, st->bytes + cmd->arg[2]);
	else if (cmd->opcode == MGPU_OP_FILL)
		WRITE_ONCE(st->bytes, st->bytes + cmd->arg[1]);
	else if (cmd->opcode == MGPU_OP_GEMM)
		WRITE_ONCE(st->flops, st->flops + 2ULL * g->m * g->n * g->k);
}
