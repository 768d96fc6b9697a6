// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: command validation and execution (kernel/cmd.c, with
 * kernel/vram.c and the GEMM kernels, compiled unchanged).
 *
 * Input: u64 VRAM size, a 64-byte command, one byte that makes the n-th
 * guest memory access fail (0: none).  Short inputs are zero-padded.
 *
 * Oracle: Documentation/device-model.rst ("Commands", "Errors") restated
 * here with 128-bit arithmetic.  It lists every error the command earns;
 * mgpu_cmd_validate() must return 0 if there is none, else one of them.
 * A command it accepts on a VRAM of at most EXEC_MAX bytes is then run
 * step by step against a heap buffer of exactly that size (AddressSanitizer
 * sees any byte outside it) and its effects are compared with what the
 * command should have done.
 */
#include "fuzz.h"

#define EXEC_MAX	(16 * 1024)
#define IN_VRAM		0
#define IN_CMD		8
#define IN_DMA_FAIL	(IN_CMD + sizeof(struct mgpu_cmd))
#define IN_SIZE		(IN_DMA_FAIL + 1)

#define ERR(e)		(1U << (e))

static bool range_ok(u64 vram_size, u64 addr, u128 len)
{
	return (u128)addr + len <= vram_size;
}

static bool overlap(u64 a, u128 alen, u64 b, u128 blen)
{
	return alen && blen && a < (u128)b + blen && b < (u128)a + alen;
}

static bool args_zero(const struct mgpu_cmd *cmd, unsigned int from)
{
	for (; from < 7; from++)
		if (cmd->arg[from])
			return false;
	return true;
}

/* The set of MGPU_ERR_* codes @cmd deserves on a VRAM of @vram bytes. */
static u32 expected_errors(u64 vram, const struct mgpu_cmd *cmd)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	bool src_sys = cmd->flags & MGPU_F_SRC_SYSMEM;
	bool dst_sys = cmd->flags & MGPU_F_DST_SYSMEM;
	u128 a_len, b_len, c_len, esize;
	u32 allowed, e = 0;

	switch (cmd->opcode) {
	case MGPU_OP_NOP:
		if (cmd->flags || !args_zero(cmd, 0))
			e |= ERR(MGPU_ERR_BAD_CMD);
		break;
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		allowed = MGPU_F_DST_SYSMEM;
		if (cmd->opcode == MGPU_OP_FENCE)
			allowed |= MGPU_F_IRQ;
		if (cmd->flags & ~allowed ||
		    !args_zero(cmd, cmd->opcode == MGPU_OP_FENCE ? 2 : 1))
			e |= ERR(MGPU_ERR_BAD_CMD);
		if (cmd->arg[0] % 8)
			e |= ERR(MGPU_ERR_ALIGN);
		if (!dst_sys && !range_ok(vram, cmd->arg[0], 8))
			e |= ERR(MGPU_ERR_VRAM_RANGE);
		break;
	case MGPU_OP_COPY:
		if (cmd->flags & ~(MGPU_F_SRC_SYSMEM | MGPU_F_DST_SYSMEM) ||
		    !args_zero(cmd, 3))
			e |= ERR(MGPU_ERR_BAD_CMD);
		if ((!src_sys && !range_ok(vram, cmd->arg[0], cmd->arg[2])) ||
		    (!dst_sys && !range_ok(vram, cmd->arg[1], cmd->arg[2])))
			e |= ERR(MGPU_ERR_VRAM_RANGE);
		if (!src_sys && !dst_sys &&
		    overlap(cmd->arg[0], cmd->arg[2], cmd->arg[1], cmd->arg[2]))
			e |= ERR(MGPU_ERR_BAD_CMD);
		break;
	case MGPU_OP_FILL:
		if (cmd->flags & ~MGPU_F_DST_SYSMEM || cmd->arg[2] >> 32 ||
		    !args_zero(cmd, 3))
			e |= ERR(MGPU_ERR_BAD_CMD);
		if (cmd->arg[0] % 4 || cmd->arg[1] % 4)
			e |= ERR(MGPU_ERR_ALIGN);
		if (!dst_sys && !range_ok(vram, cmd->arg[0], cmd->arg[1]))
			e |= ERR(MGPU_ERR_VRAM_RANGE);
		break;
	case MGPU_OP_GEMM:
		if (g->flags & ~MGPU_F_GEMM_INT8 || g->reserved[0] ||
		    g->reserved[1] || g->reserved[2] ||
		    g->m < 1 || g->m > 8192 || g->n < 1 || g->n > 8192 ||
		    g->k < 1 || g->k > 8192)
			e |= ERR(MGPU_ERR_BAD_CMD);
		if (g->a % 4 || g->b % 4 || g->c % 4)
			e |= ERR(MGPU_ERR_ALIGN);
		esize = g->flags & MGPU_F_GEMM_INT8 ? 1 : 4;
		a_len = (u128)g->m * g->k * esize;
		b_len = (u128)g->k * g->n * esize;
		c_len = (u128)g->m * g->n * 4;
		if (!range_ok(vram, g->a, a_len) ||
		    !range_ok(vram, g->b, b_len) ||
		    !range_ok(vram, g->c, c_len))
			e |= ERR(MGPU_ERR_VRAM_RANGE);
		if (overlap(g->c, c_len, g->a, a_len) ||
		    overlap(g->c, c_len, g->b, b_len))
			e |= ERR(MGPU_ERR_BAD_CMD);
		break;
	default:
		e |= ERR(MGPU_ERR_BAD_OPCODE);
		break;
	}
	return e;
}

/* ---- execution ---- */

/* Guest memory: the byte at every IOVA is a function of the IOVA. */
static u8 guest_byte(u64 iova)
{
	return (u8)((iova * 0x9e3779b97f4a7c15ULL) >> 56);
}

static u8 vram_init_byte(u64 off)
{
	return (u8)(off * 131 + 7);
}

/* What the current command may do through vfio_dma_rw(). */
static struct {
	const struct mgpu_cmd *cmd;
	const u8 *snap;		/* VRAM before the command */
	unsigned int calls;
	unsigned int fail_at;	/* 1-based; 0: never fail */
	u64 written;		/* bytes written to guest memory */
	bool completing;
	u64 value;		/* what completion must write */
} dma;

/* The guest's memory behind VFIO's emulated IOMMU. */
int vfio_dma_rw(struct vfio_device *vdev, u64 iova, void *data, size_t len,
		bool write)
{
	const struct mgpu_cmd *cmd = dma.cmd;
	u8 *p = data;
	u64 base, src, i;

	if (++dma.calls == dma.fail_at)
		return -EFAULT;
	FUZZ_CHECK(len, "empty DMA at %#llx", (unsigned long long)iova);

	if (dma.completing) {
		FUZZ_CHECK(write && iova == cmd->arg[0] && len == 8,
			   "completion DMA %#llx+%zu", (unsigned long long)iova,
			   len);
		FUZZ_CHECK(!memcmp(data, &dma.value, 8), "fence value");
		return 0;
	}

	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		base = write ? cmd->arg[1] : cmd->arg[0];
		FUZZ_CHECK(write ? cmd->flags & MGPU_F_DST_SYSMEM :
				   cmd->flags & MGPU_F_SRC_SYSMEM,
			   "DMA %s for a VRAM operand", write ? "write" : "read");
		break;
	case MGPU_OP_FILL:
		base = cmd->arg[0];
		FUZZ_CHECK(write && cmd->flags & MGPU_F_DST_SYSMEM,
			   "FILL DMA");
		break;
	default:
		FUZZ_CHECK(0, "DMA by opcode %u", cmd->opcode);
	}
	/* Inside the operand: [iova, iova + len) in [base, base + size). */
	FUZZ_CHECK(iova >= base && (u128)iova + len <= (u128)base +
		   cmd->arg[cmd->opcode == MGPU_OP_COPY ? 2 : 1],
		   "DMA %#llx+%zu outside operand %#llx",
		   (unsigned long long)iova, len, (unsigned long long)base);

	if (!write) {
		for (i = 0; i < len; i++)
			p[i] = guest_byte(iova + i);
		return 0;
	}
	dma.written += len;
	for (i = 0; i < len; i++) {
		u8 want;

		if (cmd->opcode == MGPU_OP_FILL) {
			want = (u8)(cmd->arg[2] >> (8 * ((iova + i) % 4)));
		} else {
			src = cmd->arg[0] + (iova - base) + i;
			want = cmd->flags & MGPU_F_SRC_SYSMEM ?
			       guest_byte(src) : dma.snap[src];
		}
		FUZZ_CHECK(p[i] == want, "byte %llu of a DMA write",
			   (unsigned long long)i);
	}
	return 0;
}

static const u64 fake_clock = 0x1122334455667788ULL;
static u32 irqs_raised;

u64 ktime_get_ns(void)
{
	return fake_clock;
}

void mgpu_irq_raise(struct mgpu_vgpu *vgpu, u32 cause)
{
	FUZZ_CHECK(cause == MGPU_INT_FENCE, "cause %#x", cause);
	irqs_raised++;
}

static void *fuzz_vram;

static void *vram_vaddr(struct mgpu_parent *parent)
{
	return fuzz_vram;
}

static const struct mgpu_backend_ops fuzz_ops = {
	.name = "fuzz",
	.vram_vaddr = vram_vaddr,
};

static struct mgpu_parent parent = { .ops = &fuzz_ops };
static struct mgpu_vgpu vgpu;
static struct mgpu_engine engine;

static s32 get_s32(const u8 *p)
{
	s32 v;

	memcpy(&v, p, 4);
	return v;
}

/* The expected VRAM after @cmd ran, from @snap; false: not checked. */
static bool expected_vram(const struct mgpu_cmd *cmd, const u8 *snap,
			  u8 *want, u64 size)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	u64 i, j, p, dst = cmd->arg[1], len = cmd->arg[2];
	u32 acc;

	memcpy(want, snap, size);
	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		if (cmd->flags & MGPU_F_DST_SYSMEM)
			break;
		for (i = 0; i < len; i++)
			want[dst + i] = cmd->flags & MGPU_F_SRC_SYSMEM ?
					guest_byte(cmd->arg[0] + i) :
					snap[cmd->arg[0] + i];
		break;
	case MGPU_OP_FILL:
		if (cmd->flags & MGPU_F_DST_SYSMEM)
			break;
		for (i = 0; i < cmd->arg[1]; i++)
			want[cmd->arg[0] + i] =
				(u8)(cmd->arg[2] >> (8 * (i % 4)));
		break;
	case MGPU_OP_GEMM:
		if (!(g->flags & MGPU_F_GEMM_INT8))
			return false;
		for (i = 0; i < g->m; i++) {
			for (j = 0; j < g->n; j++) {
				acc = (u32)g->beta *
				      (u32)get_s32(snap + g->c + (i * g->n + j) * 4);
				for (p = 0; p < g->k; p++)
					acc += (u32)g->alpha *
					       (u32)(s32)(s8)snap[g->a + i * g->k + p] *
					       (u32)(s32)(s8)snap[g->b + p * g->n + j];
				memcpy(want + g->c + (i * g->n + j) * 4, &acc, 4);
			}
		}
		break;
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		if (cmd->flags & MGPU_F_DST_SYSMEM)
			break;
		memcpy(want + cmd->arg[0], cmd->opcode == MGPU_OP_FENCE ?
		       &cmd->arg[1] : &fake_clock, 8);
		break;
	}
	return true;
}

/*
 * Bytes an accepted command moves: bounded by the VRAM size, except for
 * guest memory to guest memory copies and fills of guest memory.
 */
static u64 exec_bytes(const struct mgpu_cmd *cmd)
{
	if (cmd->opcode == MGPU_OP_COPY)
		return cmd->arg[2];
	if (cmd->opcode == MGPU_OP_FILL)
		return cmd->arg[1];
	return 0;
}

/* Run an accepted command on a VRAM of @size bytes; check its effects. */
static void execute(const struct mgpu_cmd *cmd, u64 size, u8 fail_at)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	u8 *vram = malloc(size), *snap = malloc(size), *want = malloc(size);
	u64 progress = 0, last = 0, i, steps;
	bool exact, dma_failed = false;
	int ret;

	FUZZ_CHECK(vram && snap && want, "out of memory");
	for (i = 0; i < size; i++)
		vram[i] = vram_init_byte(i);
	memcpy(snap, vram, size);

	memset(&vgpu, 0, sizeof(vgpu));
	vgpu.parent = &parent;
	vgpu.vram_size = size;
	fuzz_vram = vram;
	memset(&dma, 0, sizeof(dma));
	dma.cmd = cmd;
	dma.snap = snap;
	dma.fail_at = fail_at;
	irqs_raised = 0;

	for (steps = 0;; steps++) {
		ret = mgpu_cmd_step(&engine, &vgpu, cmd, &progress);
		if (ret != MGPU_CMD_MORE)
			break;
		/* Progress only moves forward: every command ends. */
		FUZZ_CHECK(progress > last, "no progress at step %llu",
			   (unsigned long long)steps);
		last = progress;
	}
	if (ret == MGPU_ERR_DMA) {
		FUZZ_CHECK(fail_at && dma.calls == fail_at, "spurious DMA error");
		dma_failed = true;
	} else {
		FUZZ_CHECK(ret == MGPU_CMD_DONE, "step returned %d", ret);
	}

	if (!dma_failed) {
		if (cmd->opcode == MGPU_OP_COPY &&
		    cmd->flags & MGPU_F_DST_SYSMEM)
			FUZZ_CHECK(dma.written == cmd->arg[2], "COPY wrote %llu",
				   (unsigned long long)dma.written);
		if (cmd->opcode == MGPU_OP_FILL &&
		    cmd->flags & MGPU_F_DST_SYSMEM)
			FUZZ_CHECK(dma.written == cmd->arg[1], "FILL wrote %llu",
				   (unsigned long long)dma.written);
		dma.completing = true;
		dma.value = cmd->opcode == MGPU_OP_FENCE ? cmd->arg[1] :
			    fake_clock;
		mutex_lock(&vgpu.lock);
		ret = mgpu_cmd_complete(&vgpu, cmd);
		if (ret == MGPU_ERR_DMA) {
			FUZZ_CHECK(fail_at && dma.calls == fail_at,
				   "spurious DMA error on completion");
			dma_failed = true;
		} else {
			FUZZ_CHECK(!ret, "complete returned %d", ret);
			FUZZ_CHECK(irqs_raised ==
				   (cmd->opcode == MGPU_OP_FENCE &&
				    cmd->flags & MGPU_F_IRQ),
				   "%u interrupts", irqs_raised);
			mgpu_cmd_account(&vgpu, cmd);
			FUZZ_CHECK(vgpu.stats.commands == 1, "commands");
		}
		mutex_unlock(&vgpu.lock);
	}

	if (!dma_failed) {
		exact = expected_vram(cmd, snap, want, size);
		/* fp32 GEMM: C is not checked, the rest must not change. */
		if (!exact)
			memcpy(want + g->c, vram + g->c, (u64)g->m * g->n * 4);
		for (i = 0; i < size; i++)
			FUZZ_CHECK(vram[i] == want[i],
				   "VRAM byte %#llx is %#x, not %#x",
				   (unsigned long long)i, vram[i], want[i]);
	}
	free(want);
	free(snap);
	free(vram);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	engine.bounce = malloc(MGPU_BOUNCE_SIZE);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 in[IN_SIZE] = { 0 };
	struct mgpu_cmd cmd, orig;
	u64 vram_size;
	u32 want;
	int ret;

	memcpy(in, data, min_t(size_t, size, sizeof(in)));
	memcpy(&vram_size, in + IN_VRAM, sizeof(vram_size));
	memcpy(&cmd, in + IN_CMD, sizeof(cmd));
	orig = cmd;

	want = expected_errors(vram_size, &cmd);
	ret = mgpu_cmd_validate(vram_size, &cmd);
	FUZZ_CHECK(!memcmp(&cmd, &orig, sizeof(cmd)), "command modified");
	FUZZ_CHECK(ret == mgpu_cmd_validate(vram_size, &cmd), "not pure");
	FUZZ_CHECK(ret >= 0 && ret < 32, "return value %d", ret);
	if (!want)
		FUZZ_CHECK(ret == 0, "valid command rejected with %d", ret);
	else
		FUZZ_CHECK(ret && want & ERR(ret),
			   "returned %d, expected one of %#x", ret, want);

	if (!ret && vram_size <= EXEC_MAX && exec_bytes(&cmd) <= EXEC_MAX)
		execute(&cmd, vram_size, in[IN_DMA_FAIL]);
	return 0;
}
