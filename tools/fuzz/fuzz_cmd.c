// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: command validation and execution (kernel/cmd.c, with
 * kernel/vram.c and the GEMM kernels, compiled unchanged).
 *
 * Input: u64 VRAM size, a 64-byte command, one byte that makes the n-th
 * guest memory access fail (0: none), one byte of VRAM pages never
 * touched (bit n: page n reads as zero), one byte of page allocations
 * before host memory runs out (0: never), one byte for mgpu_gemm_simd (the
 * fp32 kernel, modulo 4), three bytes for GEMMs: the first's bit 0
 * resumes it from the progress of the engine before blocks of rows (row
 * and inner index from the other two), its bit 1 fills an fp32 GEMM's
 * operands (VEC's x and y, XENT's logits) with finite floats (XENT: and
 * targets in range).  Short inputs are zero-padded.
 *
 * VEC and XENT results are checked bit for bit against ops_math.h, the
 * arithmetic the kernel compiles (NaN matching any NaN).
 *
 * Oracle: Documentation/device-model.rst ("Commands", "Errors") restated
 * here with 128-bit arithmetic.  It lists every error the command earns;
 * mgpu_cmd_validate() must return 0 if there is none, else one of them.
 * A command it accepts on a VRAM of at most EXEC_MAX bytes is then run
 * step by step against paged VRAM (pvram.c: every page a heap object of
 * its own, every offset checked against the slice) and scratch buffers
 * of exactly their documented sizes, so AddressSanitizer sees any byte
 * outside them; its effects are compared with what the command should
 * have done, and no page it does not write may get backed.
 */
#include <math.h>

#include "pvram.h"
#include "ops_math.h"

#define EXEC_MAX	(16 * 1024)
#define IN_VRAM		0
#define IN_CMD		8
#define IN_DMA_FAIL	(IN_CMD + sizeof(struct mgpu_cmd))
#define IN_UNBACKED	(IN_DMA_FAIL + 1)
#define IN_ALLOCS	(IN_UNBACKED + 1)
#define IN_SIMD		(IN_ALLOCS + 1)
#define IN_RESUME	(IN_SIMD + 1)
#define IN_SIZE		(IN_RESUME + 3)

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

static bool vec_unary(const struct mgpu_cmd_vec *v)
{
	return v->op == MGPU_VEC_SIGMOID || v->op == MGPU_VEC_TANH;
}

/* device-model.rst, "VEC". */
static u32 vec_errors(u64 vram, const struct mgpu_cmd_vec *v)
{
	u128 len = (u128)v->n * 4;
	u32 e = 0;
	int i;

	for (i = 0; i < 5; i++)
		if (v->reserved[i])
			e |= ERR(MGPU_ERR_BAD_CMD);
	if (v->flags || v->op > 6 || v->n < 1 || v->n > (1U << 24) ||
	    (vec_unary(v) && v->y) || (v->op != MGPU_VEC_AXPY && v->alpha))
		e |= ERR(MGPU_ERR_BAD_CMD);
	if (v->x % 4 || v->y % 4 || v->z % 4)
		e |= ERR(MGPU_ERR_ALIGN);
	if (!range_ok(vram, v->x, len) || !range_ok(vram, v->z, len) ||
	    (!vec_unary(v) && !range_ok(vram, v->y, len)))
		e |= ERR(MGPU_ERR_VRAM_RANGE);
	if ((v->z != v->x && overlap(v->z, len, v->x, len)) ||
	    (!vec_unary(v) && v->z != v->y && overlap(v->z, len, v->y, len)))
		e |= ERR(MGPU_ERR_BAD_CMD);
	return e;
}

/* device-model.rst, "XENT". */
static u32 xent_errors(u64 vram, const struct mgpu_cmd_xent *x)
{
	u128 x_len = (u128)x->m * x->n * 4, t_len = (u128)x->m * 4;
	u128 l_len = x->flags & MGPU_F_XENT_MEAN ? 4 : t_len;
	u32 e = 0;
	int i;

	for (i = 0; i < 4; i++)
		if (x->reserved[i])
			e |= ERR(MGPU_ERR_BAD_CMD);
	if (x->flags & ~(MGPU_F_XENT_MEAN | MGPU_F_XENT_SCALE) ||
	    x->m < 1 || x->m > 65536 || x->n < 1 || x->n > 16384)
		e |= ERR(MGPU_ERR_BAD_CMD);
	if (x->x % 4 || x->t % 4 || x->g % 4 || x->loss % 4)
		e |= ERR(MGPU_ERR_ALIGN);
	if (!range_ok(vram, x->x, x_len) || !range_ok(vram, x->t, t_len) ||
	    !range_ok(vram, x->g, x_len) || !range_ok(vram, x->loss, l_len))
		e |= ERR(MGPU_ERR_VRAM_RANGE);
	if ((x->g != x->x && overlap(x->g, x_len, x->x, x_len)) ||
	    overlap(x->g, x_len, x->t, t_len) ||
	    overlap(x->loss, l_len, x->x, x_len) ||
	    overlap(x->loss, l_len, x->t, t_len) ||
	    overlap(x->loss, l_len, x->g, x_len))
		e |= ERR(MGPU_ERR_BAD_CMD);
	return e;
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
		if (g->flags & ~(MGPU_F_GEMM_INT8 | MGPU_F_GEMM_TRANS_A |
				 MGPU_F_GEMM_TRANS_B) || g->reserved[0] ||
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
	case MGPU_OP_VEC:
		e |= vec_errors(vram, (const void *)cmd);
		break;
	case MGPU_OP_XENT:
		e |= xent_errors(vram, (const void *)cmd);
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

static const u64 fake_clock = 0x1122334455667788ULL;
static u32 irqs_raised;

/* What the current command may do through mgpu_dma_rw(). */
static struct {
	const struct mgpu_cmd *cmd;
	const u8 *snap;		/* VRAM before the command */
	unsigned int calls;
	unsigned int fail_at;	/* 1-based; 0: never fail */
	u64 written;		/* bytes written to guest memory */
} dma;

/* Does a step of @cmd touch guest memory?  device-model.rst's flags. */
static bool touches_guest(const struct mgpu_cmd *cmd)
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

/* dma.c: the guest's memory behind VFIO's emulated IOMMU. */
int mgpu_dma_rw(struct mgpu_vgpu *vgpu, u64 iova, void *data, size_t len,
		bool write)
{
	const struct mgpu_cmd *cmd = dma.cmd;
	u64 base, src, i, value;
	u8 *p = data;

	FUZZ_CHECK(touches_guest(cmd), "guest memory access by opcode %u",
		   cmd->opcode);
	if (++dma.calls == dma.fail_at)
		return MGPU_ERR_DMA;
	FUZZ_CHECK(len, "empty DMA at %#llx", (unsigned long long)iova);

	switch (cmd->opcode) {
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		value = cmd->opcode == MGPU_OP_FENCE ? cmd->arg[1] : fake_clock;
		FUZZ_CHECK(write && iova == cmd->arg[0] && len == 8 &&
			   !memcmp(data, &value, 8),
			   "fence DMA %#llx+%zu", (unsigned long long)iova, len);
		return 0;
	case MGPU_OP_COPY:
		base = write ? cmd->arg[1] : cmd->arg[0];
		FUZZ_CHECK(write ? cmd->flags & MGPU_F_DST_SYSMEM :
				   cmd->flags & MGPU_F_SRC_SYSMEM,
			   "DMA %s for a VRAM operand", write ? "write" : "read");
		break;
	default:	/* FILL */
		base = cmd->arg[0];
		FUZZ_CHECK(write, "FILL reads guest memory");
		break;
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

u64 ktime_get_ns(void)
{
	return fake_clock;
}

void mgpu_irq_raise(struct mgpu_vgpu *vgpu, u32 cause)
{
	FUZZ_CHECK(cause == MGPU_INT_FENCE, "cause %#x", cause);
	irqs_raised++;
}

static struct pvram pv;
static struct mgpu_vgpu vgpu;
/* The scratch buffers of the DMA thread and of the engine, exact sizes. */
static void *bounce, *engine_scratch;

static s32 get_s32(const u8 *p)
{
	s32 v;

	memcpy(&v, p, 4);
	return v;
}

/* The VRAM range @cmd writes: [*off, *off + return value). */
static u64 written_range(const struct mgpu_cmd *cmd, u64 *off)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;

	*off = 0;
	switch (cmd->opcode) {
	case MGPU_OP_COPY:
		*off = cmd->arg[1];
		return cmd->flags & MGPU_F_DST_SYSMEM ? 0 : cmd->arg[2];
	case MGPU_OP_FILL:
		*off = cmd->arg[0];
		return cmd->flags & MGPU_F_DST_SYSMEM ? 0 : cmd->arg[1];
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		*off = cmd->arg[0];
		return cmd->flags & MGPU_F_DST_SYSMEM ? 0 : 8;
	case MGPU_OP_GEMM:
		*off = g->c;
		return (u64)g->m * g->n * 4;
	case MGPU_OP_VEC:
		*off = ((const struct mgpu_cmd_vec *)cmd)->z;
		return (u64)((const struct mgpu_cmd_vec *)cmd)->n * 4;
	case MGPU_OP_XENT:
		*off = ((const struct mgpu_cmd_xent *)cmd)->g;
		return (u64)((const struct mgpu_cmd_xent *)cmd)->m *
		       ((const struct mgpu_cmd_xent *)cmd)->n * 4;
	default:
		return 0;
	}
}

/* XENT's second output, the loss: [*off, *off + return value). */
static u64 written_range2(const struct mgpu_cmd *cmd, u64 *off)
{
	const struct mgpu_cmd_xent *x = (const void *)cmd;

	*off = 0;
	if (cmd->opcode != MGPU_OP_XENT)
		return 0;
	*off = x->loss;
	return x->flags & MGPU_F_XENT_MEAN ? 4 : (u64)x->m * 4;
}

static s32 get_s32(const u8 *p);

static float get_f32(const u8 *p)
{
	float v;

	memcpy(&v, p, 4);
	return v;
}

/* The element index of A[i][p] and B[p][j] as stored (TRANS_A/_B). */
static u64 a_at(const struct mgpu_cmd_gemm *g, u64 i, u64 p)
{
	return g->flags & MGPU_F_GEMM_TRANS_A ? p * g->m + i : i * g->k + p;
}

static u64 b_at(const struct mgpu_cmd_gemm *g, u64 p, u64 j)
{
	return g->flags & MGPU_F_GEMM_TRANS_B ? j * g->k + p : p * g->n + j;
}

/*
 * C[i][j] of a GEMM once the inner indexes before @upto are summed (0:
 * C as it was): the device model's arithmetic.  fp32 element by element
 * in the order of the inner index, multiply then add, never fused
 * (x86-64 has no FMA without -mfma): every kernel must give these bits,
 * whichever mgpu_gemm_simd picks and wherever the steps cut the work.
 * int8: modulo 2^32.
 */
static void model_elem(const struct mgpu_cmd_gemm *g, const u8 *snap, u64 i,
		       u64 j, u64 upto, u8 *out)
{
	const u8 *c = snap + g->c + (i * g->n + j) * 4;
	float alpha, beta, acc;
	u32 iacc;
	u64 p;

	if (!upto) {
		memcpy(out, c, 4);
		return;
	}
	if (g->flags & MGPU_F_GEMM_INT8) {
		iacc = (u32)g->beta * (u32)get_s32(c);
		for (p = 0; p < upto; p++)
			iacc += (u32)g->alpha *
				(u32)(s32)(s8)snap[g->a + a_at(g, i, p)] *
				(u32)(s32)(s8)snap[g->b + b_at(g, p, j)];
		memcpy(out, &iacc, 4);
		return;
	}
	memcpy(&alpha, &g->alpha, 4);
	memcpy(&beta, &g->beta, 4);
	acc = beta == 0.0f ? 0.0f : get_f32(c) * beta;
	for (p = 0; p < upto; p++) {
		float ap = alpha * get_f32(snap + g->a + a_at(g, i, p) * 4);

		acc = acc + ap * get_f32(snap + g->b + b_at(g, p, j) * 4);
	}
	memcpy(out, &acc, 4);
}

static void expected_f32(const struct mgpu_cmd_gemm *g, const u8 *snap,
			 u8 *want)
{
	u64 i, j;

	for (i = 0; i < g->m; i++)
		for (j = 0; j < g->n; j++)
			model_elem(g, snap, i, j, g->k,
				   want + g->c + (i * g->n + j) * 4);
}

/*
 * Put C in the state a step of the engine before blocks of rows (one
 * row at a time) left at progress (@row, @p), and return that progress:
 * a stream saved by it must resume and end with the same bits.
 */
static u64 old_progress(const struct mgpu_cmd_gemm *g, const u8 *snap,
			u8 in_row, u8 in_p)
{
	u64 row = in_row % g->m, p = in_p % g->k, i, j;
	u8 v[4];

	for (i = 0; i <= row; i++)
		for (j = 0; j < g->n; j++) {
			model_elem(g, snap, i, j, i < row ? g->k : p, v);
			pvram_store(&pv, g->c + (i * g->n + j) * 4, v, 4);
		}
	return row << 32 | p;
}

/* fp32 GEMM results compare as floats: any NaN equals any NaN. */
static bool f32_same(u64 off, const u8 *want)
{
	u8 got[4];
	float x, y;
	int i;

	for (i = 0; i < 4; i++)
		got[i] = pvram_byte(&pv, off + i);
	x = get_f32(got);
	y = get_f32(want + off);
	return !memcmp(got, want + off, 4) || (isnan(x) && isnan(y));
}

static void expected_vec(const struct mgpu_cmd_vec *v, const u8 *snap,
			 u8 *want)
{
	float z;
	u64 i;

	for (i = 0; i < v->n; i++) {
		z = mgpu_vec_elem(v->op, get_f32(snap + v->x + i * 4),
				  vec_unary(v) ? 0.0f :
				  get_f32(snap + v->y + i * 4),
				  mgpu_u2f(v->alpha));
		memcpy(want + v->z + i * 4, &z, 4);
	}
}

/* XENT's outputs; false if a target is out of range (the step fails). */
static bool expected_xent(const struct mgpu_cmd_xent *x, const u8 *snap,
			  u8 *want)
{
	float sc = x->flags & MGPU_F_XENT_SCALE ? 1.0f / (float)x->m : 1.0f;
	float *row = malloc((size_t)x->n * 4), *g = malloc((size_t)x->n * 4);
	float l, sum = 0;
	u64 i, j;
	s32 t;

	FUZZ_CHECK(row && g, "out of memory");
	for (i = 0; i < x->m; i++) {
		t = get_s32(snap + x->t + i * 4);
		if (t < 0 || (u32)t >= x->n) {
			free(row);
			free(g);
			return false;
		}
		for (j = 0; j < x->n; j++)
			row[j] = get_f32(snap + x->x + (i * x->n + j) * 4);
		l = mgpu_xent_row(row, x->n, t, g, sc);
		memcpy(want + x->g + i * x->n * 4, g, (size_t)x->n * 4);
		if (x->flags & MGPU_F_XENT_MEAN)
			sum = sum + l;
		else
			memcpy(want + x->loss + i * 4, &l, 4);
	}
	if (x->flags & MGPU_F_XENT_MEAN) {
		l = sum / (float)x->m;
		memcpy(want + x->loss, &l, 4);
	}
	free(row);
	free(g);
	return true;
}

/* The expected VRAM after @cmd ran, from @snap; false: C not known. */
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
		if (!(g->flags & MGPU_F_GEMM_INT8)) {
			expected_f32(g, snap, want);
			break;
		}
		for (i = 0; i < g->m; i++) {
			for (j = 0; j < g->n; j++) {
				acc = (u32)g->beta *
				      (u32)get_s32(snap + g->c + (i * g->n + j) * 4);
				for (p = 0; p < g->k; p++)
					acc += (u32)g->alpha *
					       (u32)(s32)(s8)snap[g->a + a_at(g, i, p)] *
					       (u32)(s32)(s8)snap[g->b + b_at(g, p, j)];
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
	case MGPU_OP_VEC:
		expected_vec((const void *)cmd, snap, want);
		break;
	case MGPU_OP_XENT:
		return expected_xent((const void *)cmd, snap, want);
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

/*
 * Rounding, not NaN: most floats of vram_init_byte() are NaN, Inf or
 * huge, where every kernel agrees whatever it does.  Floats in (-1, 1)
 * in A, B and C (pages that @unbacked leaves untouched stay so).
 */
static void finite_floats(const struct mgpu_cmd_gemm *g, u8 unbacked)
{
	const u64 off[3] = { g->a, g->b, g->c };
	const u64 len[3] = { (u64)g->m * g->k, (u64)g->k * g->n,
			     (u64)g->m * g->n };
	u64 i, o;
	float f;
	int t;

	for (t = 0; t < 3; t++)
		for (i = 0; i < len[t]; i++) {
			o = off[t] + i * 4;
			if (unbacked >> (o / PAGE_SIZE) & 1)
				continue;
			f = (float)((o * 2654435761u) % 2000003) / 1000001.5f -
			    1.0f;
			pvram_store(&pv, o, &f, 4);
		}
}

/* Finite floats in VEC's x and y; XENT's logits, and targets in range. */
static void finite_ops(const struct mgpu_cmd *cmd, u8 unbacked)
{
	const struct mgpu_cmd_vec *v = (const void *)cmd;
	const struct mgpu_cmd_xent *x = (const void *)cmd;
	u64 off[2], len[2], i, o;
	float f;
	s32 t;
	int k;

	if (cmd->opcode == MGPU_OP_VEC) {
		off[0] = v->x;
		off[1] = v->y;
		len[0] = v->n;
		len[1] = vec_unary(v) ? 0 : v->n;
	} else {
		off[0] = x->x;
		len[0] = (u64)x->m * x->n;
		off[1] = x->t;
		len[1] = 0;
		for (i = 0; i < x->m; i++) {
			o = x->t + i * 4;
			t = (s32)((o * 2654435761u) % x->n);
			if (!(unbacked >> (o / PAGE_SIZE) & 1))
				pvram_store(&pv, o, &t, 4);
		}
	}
	for (k = 0; k < 2; k++)
		for (i = 0; i < len[k]; i++) {
			o = off[k] + i * 4;
			if (unbacked >> (o / PAGE_SIZE) & 1)
				continue;
			f = (float)((o * 2654435761u) % 2000003) / 50000.0f -
			    20.0f;
			pvram_store(&pv, o, &f, 4);
		}
}

/*
 * Run an accepted command on a VRAM slice of @size bytes, one page into
 * the parent's VRAM, whose pages in @unbacked start untouched (reading
 * zero), with @allocs page allocations before host memory runs out (0:
 * never); check its effects.
 */
static void execute(const struct mgpu_cmd *cmd, u64 size, u8 fail_at,
		    u8 unbacked, u8 allocs, const u8 *resume)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	u64 progress = 0, last = 0, i, steps, woff, wlen, npages;
	u64 woff2, wlen2;
	u8 *snap = malloc(size), *want = malloc(size), b;
	bool was_backed[EXEC_MAX / PAGE_SIZE + 1], exact, ok, f32;
	unsigned int refused;
	int ret;

	FUZZ_CHECK(snap && want, "out of memory");
	npages = DIV_ROUND_UP(size, PAGE_SIZE);
	pvram_init(&pv, PAGE_SIZE * (npages + 2), PAGE_SIZE, size);
	for (i = 0; i < size; i++) {
		if (unbacked >> (i / PAGE_SIZE) & 1)
			continue;
		b = vram_init_byte(i);
		pvram_store(&pv, i, &b, 1);
	}
	if (cmd->opcode == MGPU_OP_GEMM && !(g->flags & MGPU_F_GEMM_INT8) &&
	    resume[0] & 2)
		finite_floats(g, unbacked);
	if ((cmd->opcode == MGPU_OP_VEC || cmd->opcode == MGPU_OP_XENT) &&
	    resume[0] & 2)
		finite_ops(cmd, unbacked);
	for (i = 0; i < size; i++)
		snap[i] = pvram_byte(&pv, i);
	for (i = 0; i < npages; i++)
		was_backed[i] = pvram_backed(&pv, i * PAGE_SIZE);
	if (cmd->opcode == MGPU_OP_GEMM && resume[0] & 1) {
		progress = old_progress(g, snap, resume[1], resume[2]);
		FUZZ_CHECK(mgpu_cmd_progress_ok(cmd, progress),
			   "old progress %#llx refused",
			   (unsigned long long)progress);
		last = progress;
	}
	pv.allocs_left = allocs ? allocs - 1 : ~0U;

	memset(&vgpu, 0, sizeof(vgpu));
	vgpu.parent = &pv.parent;
	vgpu.vram_offset = PAGE_SIZE;
	vgpu.vram_size = size;
	memset(&dma, 0, sizeof(dma));
	dma.cmd = cmd;
	dma.snap = snap;
	dma.fail_at = fail_at;
	irqs_raised = 0;

	FUZZ_CHECK(mgpu_cmd_needs_dma(cmd) == touches_guest(cmd),
		   "needs_dma of opcode %u flags %#x", cmd->opcode, cmd->flags);
	for (steps = 0;; steps++) {
		ret = mgpu_cmd_step(touches_guest(cmd) ? bounce :
				    engine_scratch, &vgpu, cmd, &progress);
		if (ret != MGPU_CMD_MORE)
			break;
		/* Progress only moves forward: every command ends. */
		FUZZ_CHECK(progress > last, "no progress at step %llu",
			   (unsigned long long)steps);
		/* and a migration stream may carry it (migrate.c). */
		FUZZ_CHECK(mgpu_cmd_progress_ok(cmd, progress),
			   "progress %#llx refused", (unsigned long long)progress);
		last = progress;
	}
	refused = pv.refused;
	if (ret == MGPU_ERR_DMA)
		FUZZ_CHECK(fail_at && dma.calls == fail_at, "spurious DMA error");
	else if (ret == MGPU_ERR_NO_MEMORY)
		FUZZ_CHECK(refused, "NO_MEMORY without a refused allocation");
	else if (ret == MGPU_ERR_BAD_CMD && cmd->opcode == MGPU_OP_XENT)
		FUZZ_CHECK(!expected_vram(cmd, snap, want, size),
			   "XENT failed with its targets in range");
	else
		FUZZ_CHECK(ret == MGPU_CMD_DONE && !refused,
			   "step returned %d, %u allocations refused", ret,
			   refused);

	ok = ret == MGPU_CMD_DONE;
	if (ok) {
		if (cmd->opcode == MGPU_OP_COPY &&
		    cmd->flags & MGPU_F_DST_SYSMEM)
			FUZZ_CHECK(dma.written == cmd->arg[2], "COPY wrote %llu",
				   (unsigned long long)dma.written);
		if (cmd->opcode == MGPU_OP_FILL &&
		    cmd->flags & MGPU_F_DST_SYSMEM)
			FUZZ_CHECK(dma.written == cmd->arg[1], "FILL wrote %llu",
				   (unsigned long long)dma.written);
		mutex_lock(&vgpu.lock);
		ret = mgpu_cmd_complete(&vgpu, cmd);
		if (ret == MGPU_ERR_NO_MEMORY) {
			FUZZ_CHECK(pv.refused > refused,
				   "NO_MEMORY on completion, nothing refused");
			ok = false;
		} else {
			FUZZ_CHECK(!ret && pv.refused == refused,
				   "complete returned %d", ret);
			FUZZ_CHECK(irqs_raised ==
				   (cmd->opcode == MGPU_OP_FENCE &&
				    cmd->flags & MGPU_F_IRQ),
				   "%u interrupts", irqs_raised);
			mgpu_cmd_account(&vgpu, cmd);
			FUZZ_CHECK(vgpu.stats.commands == 1, "commands");
		}
		mutex_unlock(&vgpu.lock);
	}

	wlen = written_range(cmd, &woff);
	wlen2 = written_range2(cmd, &woff2);
	exact = expected_vram(cmd, snap, want, size);
	f32 = (cmd->opcode == MGPU_OP_GEMM &&
	       !(cmd->flags & MGPU_F_GEMM_INT8)) ||
	      cmd->opcode == MGPU_OP_VEC || cmd->opcode == MGPU_OP_XENT;
	for (i = woff; ok && exact && f32 && i < woff + wlen; i += 4)
		FUZZ_CHECK(f32_same(i, want), "fp32 result at %#llx (simd %u)",
			   (unsigned long long)i, mgpu_gemm_simd);
	for (i = woff2; ok && exact && i < woff2 + wlen2; i += 4)
		FUZZ_CHECK(f32_same(i, want), "XENT loss at %#llx",
			   (unsigned long long)i);
	for (i = 0; i < size; i++) {
		bool inside = (i >= woff && i - woff < wlen) ||
			      (i >= woff2 && i - woff2 < wlen2);

		/* A failed command may have done part of its writes. */
		if (inside && (!ok || !exact || f32))
			continue;
		FUZZ_CHECK(pvram_byte(&pv, i) == (inside ? want[i] : snap[i]),
			   "VRAM byte %#llx is %#x, not %#x",
			   (unsigned long long)i, pvram_byte(&pv, i),
			   inside ? want[i] : snap[i]);
	}
	/* Only what is written is backed: reads leave pages untouched. */
	for (i = 0; i < npages; i++)
		FUZZ_CHECK(was_backed[i] || !pvram_backed(&pv, i * PAGE_SIZE) ||
			   (wlen && woff < (i + 1) * PAGE_SIZE &&
			    i * PAGE_SIZE < woff + wlen) ||
			   (wlen2 && woff2 < (i + 1) * PAGE_SIZE &&
			    i * PAGE_SIZE < woff2 + wlen2),
			   "page %llu backed by a command that does not write it",
			   (unsigned long long)i);
	pvram_fini(&pv);
	free(want);
	free(snap);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	bounce = malloc(MGPU_BOUNCE_SIZE);
	engine_scratch = malloc(MGPU_GEMM_SCRATCH_SIZE);
	FUZZ_CHECK(bounce && engine_scratch, "out of memory");
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

	mgpu_gemm_simd = in[IN_SIMD] % 4;
	if (!ret && vram_size <= EXEC_MAX && exec_bytes(&cmd) <= EXEC_MAX)
		execute(&cmd, vram_size, in[IN_DMA_FAIL], in[IN_UNBACKED],
			in[IN_ALLOCS], in + IN_RESUME);
	return 0;
}
