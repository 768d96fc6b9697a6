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
 * Effects that must not outlive a reset (fence and timestamp values in
 * VRAM, interrupts) happen in mgpu_cmd_complete(), under the vGPU's lock,
 * after the engine checked that the queue was not stopped meanwhile.
 * Steps that touch guest memory (mgpu_cmd_needs_dma()) run in the vGPU's
 * DMA thread (dma.c); a reset waits for (and cancels) such a step.
 */
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>

#include "mgpu_drv.h"

/* The work of one step: bytes for COPY/FILL (GEMM: MGPU_STEP_MACS). */
#define MGPU_STEP_BYTES		(256 * 1024)

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

	if (g->flags & ~(MGPU_F_GEMM_INT8 | MGPU_F_GEMM_TRANS_A |
			 MGPU_F_GEMM_TRANS_B) || g->reserved[0] ||
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

/* Two operands that are the same or apart; not partly overlapping. */
static bool mgpu_cmd_same_or_apart(u64 a, u64 b, u64 len)
{
	return a == b || !mgpu_cmd_overlap(a, len, b, len);
}

static int mgpu_cmd_validate_vec(u64 vram_size, const struct mgpu_cmd *cmd)
{
	const struct mgpu_cmd_vec *v = (const void *)cmd;
	bool unary = v->op == MGPU_VEC_SIGMOID || v->op == MGPU_VEC_TANH;
	u64 len = (u64)v->n * 4;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(v->reserved); i++)
		if (v->reserved[i])
			return MGPU_ERR_BAD_CMD;
	if (v->flags || v->op > MGPU_VEC_OP_LAST || !v->n ||
	    v->n > MGPU_VEC_MAX_N || (unary && v->y) ||
	    (v->op != MGPU_VEC_AXPY && v->alpha))
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(v->x, 4) || !IS_ALIGNED(v->y, 4) ||
	    !IS_ALIGNED(v->z, 4))
		return MGPU_ERR_ALIGN;
	if (!mgpu_vram_range_ok(vram_size, v->x, len) ||
	    (!unary && !mgpu_vram_range_ok(vram_size, v->y, len)) ||
	    !mgpu_vram_range_ok(vram_size, v->z, len))
		return MGPU_ERR_VRAM_RANGE;
	/* z is written in steps: an input is z itself or apart from it. */
	if (!mgpu_cmd_same_or_apart(v->z, v->x, len) ||
	    (!unary && !mgpu_cmd_same_or_apart(v->z, v->y, len)))
		return MGPU_ERR_BAD_CMD;
	return 0;
}

static int mgpu_cmd_validate_xent(u64 vram_size, const struct mgpu_cmd *cmd)
{
	const struct mgpu_cmd_xent *x = (const void *)cmd;
	u64 x_len, t_len, l_len;

	if (x->flags & ~(MGPU_F_XENT_MEAN | MGPU_F_XENT_SCALE) ||
	    x->reserved[0] || x->reserved[1] || x->reserved[2] ||
	    x->reserved[3] || !x->m || !x->n || x->m > MGPU_XENT_MAX_M ||
	    x->n > MGPU_XENT_MAX_N)
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(x->x, 4) || !IS_ALIGNED(x->t, 4) ||
	    !IS_ALIGNED(x->g, 4) || !IS_ALIGNED(x->loss, 4))
		return MGPU_ERR_ALIGN;
	x_len = (u64)x->m * x->n * 4;
	t_len = (u64)x->m * 4;
	l_len = x->flags & MGPU_F_XENT_MEAN ? 4 : t_len;
	if (!mgpu_vram_range_ok(vram_size, x->x, x_len) ||
	    !mgpu_vram_range_ok(vram_size, x->t, t_len) ||
	    !mgpu_vram_range_ok(vram_size, x->g, x_len) ||
	    !mgpu_vram_range_ok(vram_size, x->loss, l_len))
		return MGPU_ERR_VRAM_RANGE;
	/* Outputs are written in steps: no overlap but g on x exactly. */
	if (!mgpu_cmd_same_or_apart(x->g, x->x, x_len) ||
	    mgpu_cmd_overlap(x->g, x_len, x->t, t_len) ||
	    mgpu_cmd_overlap(x->loss, l_len, x->x, x_len) ||
	    mgpu_cmd_overlap(x->loss, l_len, x->t, t_len) ||
	    mgpu_cmd_overlap(x->loss, l_len, x->g, x_len))
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
	case MGPU_OP_VEC:
		return mgpu_cmd_validate_vec(vram_size, cmd);
	case MGPU_OP_XENT:
		return mgpu_cmd_validate_xent(vram_size, cmd);
	default:
		return MGPU_ERR_BAD_OPCODE;
	}
}

/**
 * mgpu_cmd_needs_dma() - does a step of @cmd touch guest memory?
 * @cmd: a validated command
 *
 * Such steps run in the vGPU's DMA thread (dma.c), never in the engine
 * thread that all tenants share.
 *
 * Return: true if it reads or writes guest memory.
 */
bool mgpu_cmd_needs_dma(const struct mgpu_cmd *cmd)
{
	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		return cmd->flags & (MGPU_F_SRC_SYSMEM | MGPU_F_DST_SYSMEM);
	case MGPU_OP_FILL:
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		return cmd->flags & MGPU_F_DST_SYSMEM;
	default:
		return false;
	}
}

/**
 * mgpu_cmd_progress_ok() - could a step of @cmd have left this progress?
 * @cmd: a validated command
 * @progress: how far it came (struct mgpu_queue): bytes for COPY and
 *	FILL, row, rows of the block and inner index for GEMM (see
 *	mgpu_cmd_step_gemm()), elements for VEC, rows (and the sum of
 *	their losses) for XENT, 0 for the rest
 *
 * Pure; for progress that comes from a migration stream.
 *
 * Return: true if the next step can start from @progress.
 */
bool mgpu_cmd_progress_ok(const struct mgpu_cmd *cmd, u64 progress)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	u32 row = progress >> 32, p = lower_32_bits(progress);
	u32 h = MGPU_GEMM_H(progress);

	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		return progress <= cmd->arg[2];
	case MGPU_OP_FILL:
		return progress <= cmd->arg[1] && IS_ALIGNED(progress, 4);
	case MGPU_OP_GEMM:
		/*
		 * Done, or a block not started: the low half is 0.  Else
		 * the inner index and the rows of the block; a stream from
		 * before blocks of rows has h = 0, and its p < k fits.
		 */
		if (row >= g->m || !MGPU_GEMM_P(progress))
			return row <= g->m && !p;
		return MGPU_GEMM_P(progress) < g->k && h < MGPU_GEMM_ROWS &&
		       h < g->m - row && (u64)(h + 1) * g->n <= MGPU_STEP_MACS;
	case MGPU_OP_VEC:
		return progress <= ((const struct mgpu_cmd_vec *)cmd)->n;
	case MGPU_OP_XENT:
		/* Any sum of losses is a float; without MEAN there is none. */
		return row <= ((const struct mgpu_cmd_xent *)cmd)->m &&
		       (!p || (cmd->flags & MGPU_F_XENT_MEAN));
	default:
		return !progress;
	}
}

/* The value a FENCE or TIMESTAMP stores. */
static __le64 mgpu_cmd_u64_value(const struct mgpu_cmd *cmd)
{
	return cpu_to_le64(cmd->opcode == MGPU_OP_FENCE ? cmd->arg[1] :
			   ktime_get_ns());
}

/*
 * COPY, one step.  Steps that touch guest memory run in the DMA thread
 * and move at most a bounce buffer; VRAM to VRAM moves MGPU_STEP_BYTES.
 */
static int mgpu_cmd_step_copy(void *scratch, struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	bool src_sys = cmd->flags & MGPU_F_SRC_SYSMEM;
	bool dst_sys = cmd->flags & MGPU_F_DST_SYSMEM;
	u64 src = cmd->arg[0], dst = cmd->arg[1], size = cmd->arg[2];
	u64 done = *progress, n;
	int ret;

	if (done == size)
		return MGPU_CMD_DONE;
	n = min_t(u64, size - done, src_sys || dst_sys ? MGPU_BOUNCE_SIZE :
						      MGPU_STEP_BYTES);
	if (!src_sys && !dst_sys) {
		ret = mgpu_vram_copy(vgpu, dst + done, src + done, n);
	} else {
		if (src_sys)
			ret = mgpu_dma_rw(vgpu, src + done, scratch, n, false);
		else
			ret = (mgpu_vram_read(vgpu, src + done, scratch, n), 0);
		if (!ret && dst_sys)
			ret = mgpu_dma_rw(vgpu, dst + done, scratch, n, true);
		else if (!ret)
			ret = mgpu_vram_write(vgpu, dst + done, scratch, n);
	}
	if (ret)
		return ret;
	*progress = done + n;
	return *progress == size ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

static int mgpu_cmd_step_fill(void *scratch, struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	u64 dst = cmd->arg[0], size = cmd->arg[1], done = *progress, n;
	u32 pattern = (__force u32)cpu_to_le32((u32)cmd->arg[2]);
	int ret;

	if (done == size)
		return MGPU_CMD_DONE;
	if (!(cmd->flags & MGPU_F_DST_SYSMEM)) {
		n = min_t(u64, size - done, MGPU_STEP_BYTES);
		ret = mgpu_vram_fill32(vgpu, dst + done, pattern, n);
	} else {
		n = min_t(u64, size - done, MGPU_BOUNCE_SIZE);
		memset32(scratch, pattern, n / 4);
		ret = mgpu_dma_rw(vgpu, dst + done, scratch, n, true);
	}
	if (ret)
		return ret;
	*progress = done + n;
	return *progress == size ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

/*
 * AVX-512, unless the kernel knows that 512-bit registers slow this CPU
 * down (MGPU_COMPAT_PREFER_YMM(): some Intel CPUs; the kernel's crypto
 * code avoids them there too).
 */
static bool mgpu_gemm_avx512_ok(void)
{
	if (MGPU_COMPAT_PREFER_YMM())
		return false;
	return boot_cpu_has(X86_FEATURE_AVX512F) &&
	       cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM |
				 XFEATURE_MASK_AVX512, NULL);
}

/*
 * The kernel for this CPU: AVX-512, AVX2 or SSE2, all with the same bits
 * (gemm_fp_tmpl.h); mgpu_gemm_simd (a module parameter) can ask for a
 * narrower one, for tests and benchmarks.
 */
static void mgpu_gemm_block(bool int8, const void *a, u32 lda, const void *b,
			    void *c, void *work, u32 rows, u32 n, u32 np,
			    bool first, u32 alpha, u32 beta)
{
	unsigned int want = READ_ONCE(mgpu_gemm_simd);

	if ((!want || want >= MGPU_GEMM_SIMD_AVX512) && mgpu_gemm_avx512_ok())
		(int8 ? mgpu_gemm_i8_avx512 : mgpu_gemm_f32_avx512)
			(a, lda, b, c, work, rows, n, np, first, alpha, beta);
	else if ((!want || want >= MGPU_GEMM_SIMD_AVX2) &&
		 boot_cpu_has(X86_FEATURE_AVX2) &&
		 cpu_has_xfeatures(XFEATURE_MASK_SSE | XFEATURE_MASK_YMM, NULL))
		(int8 ? mgpu_gemm_i8_avx2 : mgpu_gemm_f32_avx2)
			(a, lda, b, c, work, rows, n, np, first, alpha, beta);
	else
		(int8 ? mgpu_gemm_i8_sse2 : mgpu_gemm_f32_sse2)
			(a, lda, b, c, work, rows, n, np, first, alpha, beta);
}

/*
 * The rows of C a GEMM step computes together from @row: up to
 * MGPU_GEMM_ROWS, so that each block of B gathered serves that many rows,
 * but fewer when n is large, so that a piece still spans 16 inner
 * indexes; always rows * n <= MGPU_STEP_MACS.
 */
static u32 mgpu_gemm_block_rows(const struct mgpu_cmd_gemm *g, u32 row)
{
	u32 r = MGPU_GEMM_ROWS;

	while (r > 1 && (u64)r * g->n * 16 > MGPU_STEP_MACS)
		r /= 2;
	return min(r, g->m - row);
}

/*
 * The slices of A's rows @row.. (@rows of them) and the rows of B for
 * inner indexes @p..@p + @np into @a and @b (np elements a row; n).  A
 * transposed operand is read as stored, a stored row at a time, into
 * @tmp (C's place in the scratch buffer, not read yet: rows * np and
 * np * n elements both fit), and transposed from there.
 */
static void mgpu_gemm_gather(struct mgpu_vgpu *vgpu,
			     const struct mgpu_cmd_gemm *g, void *tmp,
			     void *a, void *b, u32 row, u32 rows, u32 p,
			     u64 np)
{
	u64 esize = g->flags & MGPU_F_GEMM_INT8 ? 1 : 4;
	u64 i, q;

	if (!(g->flags & MGPU_F_GEMM_TRANS_A)) {
		for (i = 0; i < rows; i++)
			mgpu_vram_read(vgpu, g->a + ((u64)(row + i) * g->k +
						     p) * esize,
				       a + i * np * esize, np * esize);
	} else {
		/* A stored k x m: its rows p.., columns row..row + rows. */
		for (q = 0; q < np; q++)
			mgpu_vram_read(vgpu, g->a + ((u64)(p + q) * g->m +
						     row) * esize,
				       tmp + q * rows * esize, rows * esize);
		for (q = 0; q < np; q++)
			for (i = 0; i < rows; i++)
				memcpy(a + (i * np + q) * esize,
				       tmp + (q * rows + i) * esize, esize);
	}
	if (!(g->flags & MGPU_F_GEMM_TRANS_B)) {
		mgpu_vram_read(vgpu, g->b + (u64)p * g->n * esize, b,
			       np * g->n * esize);
	} else {
		/* B stored n x k: its rows 0..n, columns p..p + np. */
		for (i = 0; i < g->n; i++)
			mgpu_vram_read(vgpu, g->b + (i * g->k + p) * esize,
				       tmp + i * np * esize, np * esize);
		for (i = 0; i < g->n; i++)
			for (q = 0; q < np; q++)
				memcpy(b + (q * g->n + i) * esize,
				       tmp + (i * np + q) * esize, esize);
	}
}

/*
 * GEMM, one step of at most MGPU_STEP_MACS multiply-adds.  Progress
 * (mgpu_gemm_progress()): the rows of C before @row are done; rows @row
 * to @row + @h have their first @p inner indexes summed (h = 0 when
 * p = 0); the rest are untouched.  The engine computes a block of rows
 * at a time (mgpu_gemm_block_rows()), in pieces of the inner dimension.
 * For each piece, the operands are gathered from VRAM into the engine's
 * scratch buffer (the slices of A's rows, the rows of B, C's rows),
 * computed, and C's rows stored back, so that nothing of a step lives on
 * between steps but the progress.  Every element of C gets the same
 * sequence of operations however the work is cut (gemm_fp_tmpl.h):
 * where steps end, a migration in between or the kernel chosen do not
 * change a bit of the result.
 */
static int mgpu_cmd_step_gemm(void *scratch, struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	bool int8 = g->flags & MGPU_F_GEMM_INT8;
	u64 macs = MGPU_STEP_MACS, np;
	u32 row = *progress >> 32, p = MGPU_GEMM_P(*progress);
	u32 h = MGPU_GEMM_H(*progress), rows;
	void *a = scratch + MGPU_GEMM_SCRATCH_A;
	void *b = scratch + MGPU_GEMM_SCRATCH_B;
	void *c = scratch + MGPU_GEMM_SCRATCH_C;
	void *work = scratch + MGPU_GEMM_SCRATCH_WORK;
	int ret = 0;

	while (row < g->m) {
		rows = p ? h + 1 : mgpu_gemm_block_rows(g, row);
		np = macs / ((u64)rows * g->n);
		if (!np) {
			/* The budget is spent: never more than it per step. */
			if (macs < MGPU_STEP_MACS)
				break;
			np = 1;
		}
		np = min_t(u64, np, g->k - p);
		mgpu_gemm_gather(vgpu, g, c, a, b, row, rows, p, np);
		mgpu_vram_read(vgpu, g->c + (u64)row * g->n * 4, c,
			       (u64)rows * g->n * 4);
		/* One piece: at most MGPU_STEP_MACS, see above. */
		kernel_fpu_begin();
		mgpu_gemm_block(int8, a, np, b, c, work, rows, g->n, np, !p,
				g->alpha, g->beta);
		kernel_fpu_end();
		ret = mgpu_vram_write(vgpu, g->c + (u64)row * g->n * 4, c,
				      (u64)rows * g->n * 4);
		if (ret)
			return ret;
		macs -= min_t(u64, macs, np * rows * g->n);
		p += np;
		h = rows - 1;
		if (p == g->k) {
			row += rows;
			p = 0;
			h = 0;
		}
	}
	*progress = mgpu_gemm_progress(row, h, p);
	return row == g->m ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

/*
 * VEC, one step: MGPU_OPS_STEP_ELEMS elements at most, read into the
 * scratch buffer, computed in one FPU section, written back.
 */
static int mgpu_cmd_step_vec(void *scratch, struct mgpu_vgpu *vgpu,
			     const struct mgpu_cmd *cmd, u64 *progress)
{
	const struct mgpu_cmd_vec *v = (const void *)cmd;
	bool unary = v->op == MGPU_VEC_SIGMOID || v->op == MGPU_VEC_TANH;
	void *x = scratch + MGPU_GEMM_SCRATCH_A;
	void *y = scratch + MGPU_GEMM_SCRATCH_B;
	void *z = scratch + MGPU_GEMM_SCRATCH_C;
	u64 done = *progress, off = done * 4;
	u32 n;
	int ret;

	if (done >= v->n)
		return MGPU_CMD_DONE;
	n = min_t(u64, v->n - done, MGPU_OPS_STEP_ELEMS);
	mgpu_vram_read(vgpu, v->x + off, x, (u64)n * 4);
	if (!unary)
		mgpu_vram_read(vgpu, v->y + off, y, (u64)n * 4);
	kernel_fpu_begin();
	mgpu_vec_f32(v->op, x, unary ? NULL : y, z, n, v->alpha);
	kernel_fpu_end();
	ret = mgpu_vram_write(vgpu, v->z + off, z, (u64)n * 4);
	if (ret)
		return ret;
	*progress = done + n;
	return *progress == v->n ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

/*
 * XENT, one step: whole rows, MGPU_OPS_STEP_ELEMS logits at most (at
 * least one row), in one FPU section.  A target outside 0..n-1 stops
 * the queue with MGPU_ERR_BAD_CMD before its block of rows is written.
 * With MGPU_F_XENT_MEAN the running sum of the losses lives in the
 * progress (so the mean has the same bits however the work is cut) and
 * the step that does the last row stores the mean.
 */
static int mgpu_cmd_step_xent(void *scratch, struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd, u64 *progress)
{
	const struct mgpu_cmd_xent *xc = (const void *)cmd;
	bool mean = xc->flags & MGPU_F_XENT_MEAN;
	void *x = scratch + MGPU_GEMM_SCRATCH_A;
	s32 *t = scratch + MGPU_GEMM_SCRATCH_B;
	void *g = scratch + MGPU_GEMM_SCRATCH_C;
	void *loss = scratch + MGPU_GEMM_SCRATCH_WORK;
	u32 row = *progress >> 32, sum = lower_32_bits(*progress);
	u32 rows, i;
	__le32 val = 0;
	u64 len;
	int ret;

	if (row >= xc->m)
		return MGPU_CMD_DONE;
	rows = min_t(u32, max_t(u32, MGPU_OPS_STEP_ELEMS / xc->n, 1),
		     xc->m - row);
	len = (u64)rows * xc->n * 4;
	mgpu_vram_read(vgpu, xc->t + (u64)row * 4, t, (u64)rows * 4);
	for (i = 0; i < rows; i++) {
		t[i] = (s32)le32_to_cpu((__force __le32)t[i]);
		if (t[i] < 0 || (u32)t[i] >= xc->n)
			return MGPU_ERR_BAD_CMD;
	}
	mgpu_vram_read(vgpu, xc->x + (u64)row * xc->n * 4, x, len);
	kernel_fpu_begin();
	sum = mgpu_xent_f32(x, t, g, loss, rows, xc->n,
			    xc->flags & MGPU_F_XENT_SCALE, xc->m, mean, sum);
	if (mean && row + rows == xc->m)
		val = cpu_to_le32(mgpu_xent_mean_f32(sum, xc->m));
	kernel_fpu_end();
	ret = mgpu_vram_write(vgpu, xc->g + (u64)row * xc->n * 4, g, len);
	if (!ret && !mean)
		ret = mgpu_vram_write(vgpu, xc->loss + (u64)row * 4, loss,
				      (u64)rows * 4);
	else if (!ret && row + rows == xc->m)
		ret = mgpu_vram_write(vgpu, xc->loss, &val, 4);
	if (ret)
		return ret;
	row += rows;
	*progress = (u64)row << 32 | (mean ? sum : 0);
	return row == xc->m ? MGPU_CMD_DONE : MGPU_CMD_MORE;
}

/**
 * mgpu_cmd_step() - run one bounded step of a validated command
 * @scratch: the caller's scratch buffer: the DMA thread's bounce buffer
 *	(MGPU_BOUNCE_SIZE) for steps that touch guest memory, the engine's
 *	(MGPU_GEMM_SCRATCH_SIZE) for the others
 * @vgpu: the instance whose command it is
 * @cmd: the command, accepted by mgpu_cmd_validate()
 * @progress: how far the command has come; 0 before the first step
 *
 * Return: MGPU_CMD_DONE when the command's work is done (it still has to
 * be completed), MGPU_CMD_MORE when steps remain, or an MGPU_ERR_* code.
 */
int mgpu_cmd_step(void *scratch, struct mgpu_vgpu *vgpu,
		  const struct mgpu_cmd *cmd, u64 *progress)
{
	__le64 val;

	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		return mgpu_cmd_step_copy(scratch, vgpu, cmd, progress);
	case MGPU_OP_FILL:
		return mgpu_cmd_step_fill(scratch, vgpu, cmd, progress);
	case MGPU_OP_GEMM:
		return mgpu_cmd_step_gemm(scratch, vgpu, cmd, progress);
	case MGPU_OP_VEC:
		return mgpu_cmd_step_vec(scratch, vgpu, cmd, progress);
	case MGPU_OP_XENT:
		return mgpu_cmd_step_xent(scratch, vgpu, cmd, progress);
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		/*
		 * A value for guest memory is written here, in the DMA
		 * thread; one for VRAM at completion, under the lock.
		 */
		if (!(cmd->flags & MGPU_F_DST_SYSMEM))
			return MGPU_CMD_DONE;
		val = mgpu_cmd_u64_value(cmd);
		return mgpu_dma_rw(vgpu, cmd->arg[0], &val, sizeof(val), true);
	default:
		/* NOP: all its work is completion. */
		return MGPU_CMD_DONE;
	}
}

/**
 * mgpu_cmd_complete() - the effects of a finished command
 * @vgpu: the instance; its lock held
 * @cmd: the command
 *
 * Writes fence and timestamp values to VRAM and raises the fence
 * interrupt.  Called only if the queue was not stopped or reset since the
 * command was fetched, so none of this outlives a reset.  Never touches
 * guest memory (that would hold the lock for as long as the VFIO user's
 * memory takes to fault): a value for guest memory was written by the
 * command's last step, in the DMA thread.
 *
 * Return: 0, or MGPU_ERR_NO_MEMORY if no host memory backs the fence.
 */
int mgpu_cmd_complete(struct mgpu_vgpu *vgpu, const struct mgpu_cmd *cmd)
{
	lockdep_assert_held(&vgpu->lock);

	if (cmd->opcode != MGPU_OP_FENCE && cmd->opcode != MGPU_OP_TIMESTAMP)
		return 0;

	if (!(cmd->flags & MGPU_F_DST_SYSMEM)) {
		__le64 *p = mgpu_vram_ptr(vgpu, cmd->arg[0], true);

		if (IS_ERR_OR_NULL(p))
			return MGPU_ERR_NO_MEMORY;
		/* Aligned 64-bit store: a poller never sees half a value. */
		WRITE_ONCE(*p, mgpu_cmd_u64_value(cmd));
		mgpu_vram_dirty_mark(vgpu, cmd->arg[0], sizeof(*p));
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
	else if (cmd->opcode == MGPU_OP_VEC)
		WRITE_ONCE(st->flops, st->flops +
			   ((const struct mgpu_cmd_vec *)cmd)->n);
}
