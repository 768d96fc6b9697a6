// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the BAR0 register file and the queue registers
 * (kernel/regs.c, queue.c and vram.c, compiled unchanged): accesses of
 * any width and alignment, queue configuration, doorbells, polled tails.
 *
 * Input: two bytes of geometry (VRAM size, type; queues), then operations:
 * a byte of kind, a u16 offset, a byte of length, and for writes the
 * data, taken from the input.
 *
 * Oracle: a model of the register file written from
 * Documentation/device-model.rst ("BAR0: registers", "Command queues"),
 * including narrow writes (merged; INT_STATUS with zeroes; TAIL and CTRL
 * ignored) and the checks on enable.  Every read is compared with the
 * model, and after every operation every register is.  The queues are an
 * array of exactly NUM_QUEUES entries and the polled tail is read from
 * paged VRAM (pvram.c), so AddressSanitizer and the slice check see any
 * access outside them.  The engine does not run: HEAD and
 * COMPLETED stay 0.
 */
#include "pvram.h"

#define OP_SIZE		4

/* engine.c's module parameter */
unsigned int mgpu_cmd_budget_ms = 2000;

static struct pvram pv;
static struct mgpu_vgpu vgpu;
static unsigned int kicks;
static const u64 fake_clock = 0x0123456789abcdefULL;

struct mq {
	u64 ring;
	u32 ring_size, ctrl, head, tail, error, error_head, tail_addr;
};

static struct {
	u32 scratch, int_status, int_mask;
	struct mq q[256];
} m;

u64 ktime_get_ns(void)
{
	return fake_clock;
}

void mgpu_engine_kick(struct mgpu_parent *p)
{
	FUZZ_CHECK(p == &pv.parent, "kick");
	kicks++;
}

/* irq.c, as far as the registers see it */
void mgpu_irq_update(struct mgpu_vgpu *v)
{
	FUZZ_CHECK(v->lock.locked, "irq update without the lock");
}

void mgpu_irq_raise(struct mgpu_vgpu *v, u32 cause)
{
	FUZZ_CHECK(v->lock.locked, "irq raise without the lock");
	v->int_status |= cause;
}

void mgpu_irq_set_mask(struct mgpu_vgpu *v, u32 mask)
{
	FUZZ_CHECK(v->lock.locked, "INT_MASK without the lock");
	v->int_mask = mask & (MGPU_INT_FENCE | MGPU_INT_ERROR);
}

/* ---- the model ---- */

static bool is_pow2(u64 v)
{
	return v && !(v & (v - 1));
}

static void model_stop(struct mq *q, u32 error)
{
	q->error = error;
	q->error_head = q->head;
	m.int_status |= MGPU_INT_ERROR;
}

static bool model_ring_ok(const struct mq *q, u32 ctrl)
{
	u64 vram = vgpu.vram_size;

	if (q->ring_size < 2 || q->ring_size > 65536 ||
	    !is_pow2(q->ring_size) || q->ring % 64)
		return false;
	if (!(ctrl & MGPU_QCTRL_RING_SYSMEM) &&
	    (u128)q->ring + (u64)q->ring_size * 64 > vram)
		return false;
	if (ctrl & MGPU_QCTRL_TAIL_POLL &&
	    (q->tail_addr % 4 || (u64)q->tail_addr + 4 > vram))
		return false;
	return true;
}

static u32 model_read(u32 reg)
{
	struct mq *q;
	u32 qi, r;

	switch (reg) {
	case 0x00: return 0x5550474d;
	case 0x04: return MGPU_VERSION;
	case 0x08: return (u32)vgpu.vram_size;
	case 0x0c: return vgpu.vram_size >> 32;
	case 0x10: return vgpu.nr_queues;
	case 0x14: return 0x1f;
	case 0x18: return m.scratch;
	case 0x1c: return 1U << vgpu.type->order;
	case 0x100: return m.int_status;
	case 0x104: return m.int_mask;
	case 0x108: return (u32)fake_clock;
	case 0x10c: return fake_clock >> 32;
	case 0x110: return mgpu_cmd_budget_ms;
	}
	if (reg < 0x1000 || (reg - 0x1000) / 0x40 >= vgpu.nr_queues)
		return 0;
	qi = (reg - 0x1000) / 0x40;
	r = (reg - 0x1000) % 0x40;
	q = &m.q[qi];
	switch (r) {
	case 0x00: return (u32)q->ring;
	case 0x04: return q->ring >> 32;
	case 0x08: return q->ring_size;
	case 0x0c: return q->ctrl;
	case 0x10: return q->head;
	case 0x14: return q->tail;
	case 0x18:
		return (q->ctrl & 1) |
		       ((q->ctrl & 1) && q->head != q->tail && !q->error) << 1 |
		       !!q->error << 2;
	case 0x1c: return q->error;
	case 0x20: return q->error_head;
	case 0x24: return q->tail_addr;
	default: return 0;	/* COMPLETED and holes */
	}
}

static void model_write(u32 reg, u32 val, unsigned int *kick)
{
	struct mq *q;
	u32 r;

	switch (reg) {
	case 0x18:
		m.scratch = val;
		return;
	case 0x100:
		m.int_status &= ~val;		/* write one to clear */
		return;
	case 0x104:
		m.int_mask = val & 3;		/* FENCE, ERROR */
		return;
	}
	if (reg < 0x1000 || (reg - 0x1000) / 0x40 >= vgpu.nr_queues)
		return;
	q = &m.q[(reg - 0x1000) / 0x40];
	r = (reg - 0x1000) % 0x40;
	switch (r) {
	case 0x00: case 0x04: case 0x08: case 0x24:
		if (q->ctrl & 1)
			return;	/* configuration only while disabled */
		if (r == 0x00)
			q->ring = (q->ring & ~0xffffffffULL) | val;
		else if (r == 0x04)
			q->ring = (u32)q->ring | (u64)val << 32;
		else if (r == 0x08)
			q->ring_size = val;
		else
			q->tail_addr = val;
		return;
	case 0x0c:
		val &= 7;
		if (!(val & 1)) {
			q->ctrl = val;
			return;
		}
		if (q->ctrl & 1)
			return;
		q->ctrl = val;
		q->head = 0;
		q->tail = 0;
		q->error = 0;
		q->error_head = 0;
		if (!model_ring_ok(q, val))
			model_stop(q, MGPU_ERR_BAD_RING);
		else if (val & MGPU_QCTRL_TAIL_POLL)
			(*kick)++;
		return;
	case 0x14:
		if (!(q->ctrl & 1) || q->error || q->ctrl & MGPU_QCTRL_TAIL_POLL)
			return;
		if (val >= q->ring_size) {
			model_stop(q, MGPU_ERR_BAD_TAIL);
			return;
		}
		q->tail = val;
		(*kick)++;
		return;
	}
}

/* The device model's rules for an access of @n bytes at @pos. */
static void model_access(u32 pos, u8 *buf, unsigned int n, bool write,
			 unsigned int *kick)
{
	unsigned int i, k, shift;
	u32 reg, r, val;

	for (i = 0; i < n; i += k) {
		reg = (pos + i) & ~3U;
		shift = (pos + i) & 3;
		k = min(n - i, 4 - shift);
		if (!write) {
			val = model_read(reg);
			memcpy(buf + i, (u8 *)&val + shift, k);
			continue;
		}
		if (k == 4) {
			memcpy(&val, buf + i, 4);
			model_write(reg, val, kick);
			continue;
		}
		r = (reg - 0x1000) % 0x40;
		if (reg >= 0x1000 && (r == 0x0c || r == 0x14))
			continue;	/* half a command is no command */
		val = reg == 0x100 ? 0 : model_read(reg);
		memcpy((u8 *)&val + shift, buf + i, k);
		model_write(reg, val, kick);
	}
}

static void check_model(void)
{
	unsigned int i;

	FUZZ_CHECK(vgpu.scratch == m.scratch && vgpu.int_status == m.int_status &&
		   vgpu.int_mask == m.int_mask,
		   "scratch %#x/%#x status %#x/%#x mask %#x/%#x", vgpu.scratch,
		   m.scratch, vgpu.int_status, m.int_status, vgpu.int_mask,
		   m.int_mask);
	for (i = 0; i < vgpu.nr_queues; i++) {
		const struct mgpu_queue *q = &vgpu.queues[i];
		const struct mq *w = &m.q[i];

		FUZZ_CHECK(q->ring == w->ring && q->ring_size == w->ring_size &&
			   q->ctrl == w->ctrl && q->head == w->head &&
			   q->tail == w->tail && q->error == w->error &&
			   q->error_head == w->error_head &&
			   q->tail_addr == w->tail_addr && !q->completed,
			   "queue %u: ctrl %#x/%#x tail %u/%u error %u/%u", i,
			   q->ctrl, w->ctrl, q->tail, w->tail, q->error,
			   w->error);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 buf[64 + 4], got[64 + 4];
	unsigned int order, n, i, kick, q;
	unsigned int hint;
	bool polling, work, want;
	size_t in = 2;
	u32 pos, tail;
	ssize_t ret;
	u8 kind;

	if (size < 2)
		return 0;
	order = data[0] % MGPU_NR_TYPES;
	memset(&vgpu, 0, sizeof(vgpu));
	memset(&m, 0, sizeof(m));
	/* Bus mastering on: the queues may run (mgpu_cfg_bus_master()). */
	vgpu.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	vgpu.vram_size = (1ULL << 20) << (data[0] / MGPU_NR_TYPES % 7);
	/* The slice starts a page into the parent's VRAM, a page before its end. */
	vgpu.vram_offset = PAGE_SIZE;
	pvram_init(&pv, vgpu.vram_size + 2 * PAGE_SIZE, PAGE_SIZE,
		   vgpu.vram_size);
	pv.parent.types[order].order = order;
	pv.parent.types[order].parent = &pv.parent;
	vgpu.parent = &pv.parent;
	vgpu.type = &pv.parent.types[order];
	vgpu.nr_queues = 1U << (data[1] % 9);	/* 1 to 256 */
	vgpu.queues = calloc(vgpu.nr_queues, sizeof(*vgpu.queues));
	FUZZ_CHECK(vgpu.queues, "no memory for queues");
	kicks = 0;
	kick = 0;

	while (in + OP_SIZE <= size) {
		kind = data[in];
		pos = (data[in + 1] | data[in + 2] << 8) % MGPU_REGS_SIZE;
		n = min_t(u32, data[in + 3] % 65, MGPU_REGS_SIZE - pos);
		in += OP_SIZE;
		switch (kind % 8) {
		case 0:
		case 1:	/* read */
			memset(got, 0xa5, sizeof(got));
			ret = mgpu_regs_rw(&vgpu, pos, (char *)got, n, false);
			FUZZ_CHECK(ret == n, "read returned %zd", ret);
			model_access(pos, buf, n, false, &kick);
			FUZZ_CHECK(!memcmp(got, buf, n), "read of %u at %#x", n,
				   pos);
			break;
		case 2:
		case 3:
		case 4:	/* write */
			for (i = 0; i < n; i++)
				buf[i] = in < size ? data[in++] : 0;
			memcpy(got, buf, n);
			ret = mgpu_regs_rw(&vgpu, pos, (char *)got, n, true);
			FUZZ_CHECK(ret == n, "write returned %zd", ret);
			model_access(pos, buf, n, true, &kick);
			break;
		case 5:	/* the guest stores a polled tail into VRAM */
			tail = pos | (u32)data[in - 1] << 16;
			q = data[in - 1] % vgpu.nr_queues;
			if ((u64)m.q[q].tail_addr + 4 <= vgpu.vram_size &&
			    !(m.q[q].tail_addr % 4))
				pvram_store(&pv, m.q[q].tail_addr, &tail, 4);
			break;
		case 6:	/* the engine looks for work */
			polling = false;
			want = false;
			for (q = 0; q < vgpu.nr_queues; q++) {
				struct mq *w = &m.q[q];

				if (!(w->ctrl & 1) || w->error)
					continue;
				if (w->ctrl & MGPU_QCTRL_TAIL_POLL) {
					polling = true;
					/* never touched: reads as zero */
					for (i = 0, tail = 0; i < 4; i++)
						tail |= (u32)pvram_byte(&pv,
							w->tail_addr + i) << (8 * i);
					if (tail >= w->ring_size) {
						model_stop(w, MGPU_ERR_BAD_TAIL);
						continue;
					}
					w->tail = tail;
				}
				want |= w->head != w->tail;
			}
			hint = 0;
			work = mgpu_queue_any_work(&vgpu, &hint);
			FUZZ_CHECK(work == want, "any_work %d, model %d", work,
				   want);
			FUZZ_CHECK(hint == (polling ? MGPU_HINT_POLL : 0),
				   "hint %#x", hint);
			break;
		case 7:	/* reset: every queue stops, registers clear */
			mutex_lock(&vgpu.lock);
			mgpu_queue_stop_all(&vgpu);
			mutex_unlock(&vgpu.lock);
			mgpu_regs_reset(&vgpu);
			memset(&m, 0, sizeof(m));
			break;
		}
		FUZZ_CHECK(!vgpu.lock.locked, "lock left held");
		FUZZ_CHECK(kicks == kick, "%u kicks, model %u", kicks, kick);
		check_model();
	}
	free(vgpu.queues);
	pvram_fini(&pv);
	return 0;
}
