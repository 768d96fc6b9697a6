// SPDX-License-Identifier: GPL-2.0
/*
 * Command queue registers: the guest's side of a queue.
 *
 * A queue is configured while disabled (ring address and size, polled
 * tail address), then enabled.  Enabling checks the configuration; a bad
 * ring stops the queue at once with MGPU_ERR_BAD_RING.  The engine
 * (engine.c) consumes commands between HEAD and TAIL.  A stopped queue
 * (error) stays stopped, and the rest of the vGPU keeps running, until
 * the guest disables and re-enables it.
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/timekeeping.h>

#include "mgpu_drv.h"

static const char * const mgpu_err_names[] = {
	[MGPU_ERR_NONE]		= "no error",
	[MGPU_ERR_BAD_OPCODE]	= "unknown opcode",
	[MGPU_ERR_BAD_CMD]	= "malformed command",
	[MGPU_ERR_VRAM_RANGE]	= "address outside the VRAM slice",
	[MGPU_ERR_DMA]		= "guest memory access failed (IOVA not mapped)",
	[MGPU_ERR_BAD_RING]	= "invalid ring",
	[MGPU_ERR_TIMEOUT]	= "command exceeded the watchdog budget",
	[MGPU_ERR_BAD_TAIL]	= "tail beyond the ring",
	[MGPU_ERR_ALIGN]	= "misaligned address",
	[MGPU_ERR_NO_MEMORY]	= "no host memory left to back VRAM",
};

static struct mgpu_queue *mgpu_queue_of(struct mgpu_vgpu *vgpu, u32 off,
					u32 *reg, u32 *index)
{
	u32 q;

	if (off < MGPU_REG_QUEUE_BASE)
		return NULL;
	q = (off - MGPU_REG_QUEUE_BASE) / MGPU_REG_QUEUE_STRIDE;
	if (q >= vgpu->nr_queues)
		return NULL;
	*reg = (off - MGPU_REG_QUEUE_BASE) % MGPU_REG_QUEUE_STRIDE;
	*index = q;
	return &vgpu->queues[q];
}

/**
 * mgpu_queue_set_error() - stop a queue with a reason
 * @vgpu: the instance; its lock held
 * @q: the queue
 * @error: MGPU_ERR_*
 * @head: index of the offending command
 *
 * Records the reason for the guest, logs it (rate-limited) for the host
 * and raises MGPU_INT_ERROR.  Only this queue stops.
 */
void mgpu_queue_set_error(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
			  u32 error, u32 head)
{
	lockdep_assert_held(&vgpu->lock);

	q->error = error;
	q->error_head = head;
	q->gen++;
	WRITE_ONCE(vgpu->stats.errors, vgpu->stats.errors + 1);
	mgpu_vgpu_log(vgpu, KERN_INFO, "queue %td stopped at command %u: %s\n",
		      q - vgpu->queues, head,
		      error < ARRAY_SIZE(mgpu_err_names) ?
		      mgpu_err_names[error] : "?");
	mgpu_irq_raise(vgpu, MGPU_INT_ERROR);
}

/**
 * mgpu_queue_stop_all() - disable every queue and clear its registers
 * @vgpu: the instance; its lock held
 *
 * The engine drops whatever it was doing for these queues (their
 * generation changes) and commits nothing more from before.
 */
void mgpu_queue_stop_all(struct mgpu_vgpu *vgpu)
{
	u32 i;

	lockdep_assert_held(&vgpu->lock);

	for (i = 0; i < vgpu->nr_queues; i++) {
		struct mgpu_queue *q = &vgpu->queues[i];

		q->ring = 0;
		q->ring_size = 0;
		q->ctrl = 0;
		q->head = 0;
		q->tail = 0;
		q->error = MGPU_ERR_NONE;
		q->error_head = 0;
		q->tail_addr = 0;
		q->completed = 0;
		q->gen++;
	}
}

/**
 * mgpu_queue_config_ok() - can a queue with these registers be enabled?
 * @vgpu: the instance
 * @ring: RING
 * @ring_size: RING_SIZE
 * @ctrl: CTRL
 * @tail_addr: TAIL_ADDR
 *
 * Pure: the rules of enabling a queue, also for a migration stream.
 *
 * Return: true if the ring (and polled tail) are valid.
 */
bool mgpu_queue_config_ok(struct mgpu_vgpu *vgpu, u64 ring, u32 ring_size,
			  u32 ctrl, u32 tail_addr)
{
	u64 bytes = (u64)ring_size * MGPU_CMD_SIZE;

	if (ring_size < 2 || ring_size > MGPU_RING_MAX_ENTRIES ||
	    !is_power_of_2(ring_size) || !IS_ALIGNED(ring, MGPU_CMD_SIZE))
		return false;
	if (!(ctrl & MGPU_QCTRL_RING_SYSMEM) &&
	    (ring >= vgpu->vram_size || bytes > vgpu->vram_size - ring))
		return false;
	if ((ctrl & MGPU_QCTRL_TAIL_POLL) &&
	    (!IS_ALIGNED(tail_addr, 4) || tail_addr > vgpu->vram_size - 4))
		return false;
	return true;
}

static void mgpu_queue_write_ctrl(struct mgpu_vgpu *vgpu,
				  struct mgpu_queue *q, u32 val)
{
	lockdep_assert_held(&vgpu->lock);

	val &= MGPU_QCTRL_KNOWN;
	if (!(val & MGPU_QCTRL_ENABLE)) {
		/* Disable: stop now, keep the registers for inspection. */
		q->ctrl = val;
		q->gen++;
		return;
	}
	if (q->ctrl & MGPU_QCTRL_ENABLE)
		return;		/* already enabled: reconfiguring is ignored */

	q->ctrl = val;
	q->head = 0;
	q->tail = 0;
	q->error = MGPU_ERR_NONE;
	q->error_head = 0;
	q->completed = 0;
	q->gen++;
	if (!mgpu_queue_config_ok(vgpu, q->ring, q->ring_size, val,
				  q->tail_addr)) {
		mgpu_queue_set_error(vgpu, q, MGPU_ERR_BAD_RING, 0);
		return;
	}
	if (val & MGPU_QCTRL_TAIL_POLL)
		mgpu_engine_kick(vgpu->parent);
}

/**
 * mgpu_queue_read() - read a queue register
 * @vgpu: the instance; its lock held
 * @off: BAR0 offset
 *
 * Return: the register's value; 0 for an offset that is no queue register.
 */
u32 mgpu_queue_read(struct mgpu_vgpu *vgpu, u32 off)
{
	struct mgpu_queue *q;
	u32 reg, index, status = 0;

	lockdep_assert_held(&vgpu->lock);

	q = mgpu_queue_of(vgpu, off, &reg, &index);
	if (!q)
		return 0;
	switch (reg) {
	case MGPU_Q_RING_LO:
		return lower_32_bits(q->ring);
	case MGPU_Q_RING_HI:
		return upper_32_bits(q->ring);
	case MGPU_Q_RING_SIZE:
		return q->ring_size;
	case MGPU_Q_CTRL:
		return q->ctrl;
	case MGPU_Q_HEAD:
		return q->head;
	case MGPU_Q_TAIL:
		return q->tail;
	case MGPU_Q_STATUS:
		if (q->ctrl & MGPU_QCTRL_ENABLE)
			status |= MGPU_QSTAT_ENABLED;
		if ((q->ctrl & MGPU_QCTRL_ENABLE) && q->head != q->tail &&
		    !q->error)
			status |= MGPU_QSTAT_BUSY;
		if (q->error)
			status |= MGPU_QSTAT_ERROR;
		return status;
	case MGPU_Q_ERROR:
		return q->error;
	case MGPU_Q_ERROR_HEAD:
		return q->error_head;
	case MGPU_Q_TAIL_ADDR:
		return q->tail_addr;
	case MGPU_Q_COMPLETED_LO:
		return lower_32_bits(q->completed);
	case MGPU_Q_COMPLETED_HI:
		return upper_32_bits(q->completed);
	default:
		return 0;
	}
}

/**
 * mgpu_queue_write() - write a queue register
 * @vgpu: the instance; its lock held
 * @off: BAR0 offset
 * @val: value
 */
void mgpu_queue_write(struct mgpu_vgpu *vgpu, u32 off, u32 val)
{
	struct mgpu_queue *q;
	u32 reg, index;

	lockdep_assert_held(&vgpu->lock);

	q = mgpu_queue_of(vgpu, off, &reg, &index);
	if (!q) {
		mgpu_vgpu_log(vgpu, KERN_INFO,
			      "write %#x to unknown register %#x ignored\n",
			      val, off);
		return;
	}

	switch (reg) {
	case MGPU_Q_RING_LO:
	case MGPU_Q_RING_HI:
	case MGPU_Q_RING_SIZE:
	case MGPU_Q_TAIL_ADDR:
		if (q->ctrl & MGPU_QCTRL_ENABLE) {
			dev_dbg_ratelimited(vgpu->vdev.dev,
					    "queue %u: configuration write ignored while enabled\n",
					    index);
			return;
		}
		if (reg == MGPU_Q_RING_LO)
			q->ring = (q->ring & GENMASK_ULL(63, 32)) | val;
		else if (reg == MGPU_Q_RING_HI)
			q->ring = lower_32_bits(q->ring) | ((u64)val << 32);
		else if (reg == MGPU_Q_RING_SIZE)
			q->ring_size = val;
		else
			q->tail_addr = val;
		return;
	case MGPU_Q_CTRL:
		mgpu_queue_write_ctrl(vgpu, q, val);
		return;
	case MGPU_Q_TAIL:
		if (!(q->ctrl & MGPU_QCTRL_ENABLE) || q->error ||
		    (q->ctrl & MGPU_QCTRL_TAIL_POLL))
			return;
		if (val >= q->ring_size) {
			mgpu_queue_set_error(vgpu, q, MGPU_ERR_BAD_TAIL,
					     q->head);
			return;
		}
		q->tail = val;
		mgpu_engine_kick(vgpu->parent);
		return;
	default:
		return;		/* read-only */
	}
}

/**
 * mgpu_queue_has_work() - does a queue have a command to run?
 * @vgpu: the instance; its lock held
 * @q: one of its queues
 *
 * Reads the polled tail of a TAIL_POLL queue from VRAM; a tail beyond the
 * ring stops the queue with MGPU_ERR_BAD_TAIL.
 *
 * Return: true if the queue is enabled, healthy and HEAD != TAIL.
 */
bool mgpu_queue_has_work(struct mgpu_vgpu *vgpu, struct mgpu_queue *q)
{
	lockdep_assert_held(&vgpu->lock);

	/* A step with the DMA thread: nothing to do until it is done. */
	if (q->dma_busy)
		return !mgpu_dma_pending(vgpu, q);
	/*
	 * Bus mastering off: the device reaches no memory, runs nothing.
	 * Stopped for migration: it runs nothing either (migrate.c).
	 */
	if (!(q->ctrl & MGPU_QCTRL_ENABLE) || q->error ||
	    !mgpu_cfg_bus_master(vgpu) || vgpu->mig_stopped)
		return false;
	if (q->ctrl & MGPU_QCTRL_TAIL_POLL) {
		u32 *p = mgpu_vram_ptr(vgpu, q->tail_addr, false);
		u32 tail = IS_ERR_OR_NULL(p) ? 0 : READ_ONCE(*p);

		tail = le32_to_cpu((__force __le32)tail);
		if (tail >= q->ring_size) {
			mgpu_queue_set_error(vgpu, q, MGPU_ERR_BAD_TAIL,
					     q->head);
			return false;
		}
		q->tail = tail;
	}
	return q->head != q->tail;
}

/*
 * The watchdog of a step that waits for guest memory: the DMA thread is
 * told to give up, the queue stops with MGPU_ERR_TIMEOUT when the result
 * comes back.  Engine thread only.
 */
static void mgpu_queue_dma_watchdog(struct mgpu_vgpu *vgpu,
				    struct mgpu_queue *q, u64 now)
{
	u64 budget = (u64)READ_ONCE(mgpu_cmd_budget_ms) * NSEC_PER_MSEC;

	if (q->dma_timed_out || now - q->dma_start <= budget)
		return;
	q->dma_timed_out = true;
	mgpu_dma_cancel(vgpu, false);
}

/**
 * mgpu_queue_any_work() - does any queue of a vGPU have work?
 * @vgpu: the instance; its lock must not be held (engine thread only)
 * @hint: what the engine must watch while idle: MGPU_HINT_POLL if a
 *	queue has a polled tail, MGPU_HINT_DMA if a step waits for guest
 *	memory (for its watchdog); or-ed in
 *
 * Called by the scheduler's pick with the engine lock held, so it never
 * waits for the vGPU's lock: a vGPU whose lock is taken (its user is
 * accessing a register) may have work, and the engine finds out when it
 * runs it, without the engine lock.  Nothing holds a vGPU's lock for
 * long (guest memory is only touched by its DMA thread, unlocked).
 *
 * Return: true if at least one queue may have a command to run.
 */
bool mgpu_queue_any_work(struct mgpu_vgpu *vgpu, unsigned int *hint)
{
	u64 now = ktime_get_ns();
	bool work = false;
	u32 i;

	if (!mutex_trylock(&vgpu->lock))
		return true;
	for (i = 0; i < vgpu->nr_queues; i++) {
		struct mgpu_queue *q = &vgpu->queues[i];

		if ((q->ctrl & MGPU_QCTRL_TAIL_POLL) && !q->error &&
		    (q->ctrl & MGPU_QCTRL_ENABLE) && !vgpu->mig_stopped)
			*hint |= MGPU_HINT_POLL;
		if (q->dma_busy && mgpu_dma_pending(vgpu, q)) {
			*hint |= MGPU_HINT_DMA;
			mgpu_queue_dma_watchdog(vgpu, q, now);
		}
		if (mgpu_queue_has_work(vgpu, q))
			work = true;
	}
	mutex_unlock(&vgpu->lock);
	return work;
}
