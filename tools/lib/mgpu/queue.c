// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libmgpu command queues: rings, doorbells, fences.
 *
 * Each queue owns a ring (VRAM, or DMA memory) and a 64-byte control
 * block in VRAM: the fence slot (u64 at +0), which the queue's FENCE
 * commands advance with increasing sequence numbers, and the polled tail
 * (u32 at +8) of a MGPU_QUEUE_TAIL_POLL queue.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MGPU_CTL_SIZE		64
#define MGPU_CTL_FENCE		0
#define MGPU_CTL_TAIL		8

/*
 * Polling: spin this long, then sleep from MIN doubling up to a
 * thousandth of the time waited so far (at least MAX_US, at most
 * CAP_US): a wait of seconds wakes about a thousand times, not once a
 * millisecond (in a guest under TCG each wake-up is emulated on the
 * vCPUs the engine needs), and overshoots by about 0.1 %.
 */
#define MGPU_SPIN_NS		20000
#define MGPU_SLEEP_MIN_US	10
#define MGPU_SLEEP_MAX_US	1000
#define MGPU_SLEEP_CAP_US	50000
/*
 * The queue's STATUS register, a trap to the VMM in a guest, is read
 * once the wait has lasted 1 ms, then whenever the time waited has
 * doubled, at least every 100 ms, on an error interrupt and before a
 * timeout: a queue stopped by an error is seen within the longer of the
 * time already waited and 100 ms, and a wait of seconds costs tens of
 * traps, not thousands.
 */
#define MGPU_STATUS_FIRST_NS	1000000ull
#define MGPU_STATUS_EVERY_NS	100000000ull
/* Longest single sleep on the interrupt eventfd between checks. */
#define MGPU_IRQ_SLICE_MS	10

static uint32_t mgpu_q_rd(struct mgpu_queue *q, uint32_t reg)
{
	return mgpu_rd(q->dev, q->base + reg);
}

static void mgpu_q_wr(struct mgpu_queue *q, uint32_t reg, uint32_t val)
{
	mgpu_wr(q->dev, q->base + reg, val);
}

static uint32_t mgpu_q_ctrl(struct mgpu_queue *q)
{
	uint32_t ctrl = MGPU_QCTRL_ENABLE;

	if (q->flags & MGPU_QUEUE_RING_SYSMEM)
		ctrl |= MGPU_QCTRL_RING_SYSMEM;
	if (q->flags & MGPU_QUEUE_TAIL_POLL)
		ctrl |= MGPU_QCTRL_TAIL_POLL;
	return ctrl;
}

/* Enable a configured, disabled queue; the producer state starts over. */
static int mgpu_q_enable(struct mgpu_queue *q)
{
	uint32_t status, code;

	q->tail = 0;
	q->head = 0;
	q->pos_seq = 0;
	if (q->tail_slot)
		__atomic_store_n(q->tail_slot, 0, __ATOMIC_SEQ_CST);
	mgpu_q_wr(q, MGPU_Q_CTRL, mgpu_q_ctrl(q));
	status = mgpu_q_rd(q, MGPU_Q_STATUS);
	if ((status & MGPU_QSTAT_ERROR) || !(status & MGPU_QSTAT_ENABLED)) {
		code = mgpu_q_rd(q, MGPU_Q_ERROR);
		mgpu_set_error("queue %u: enabling failed (STATUS %#x): %s",
			       q->index, status, mgpu_queue_error_str(code));
		return -EIO;
	}
	return 0;
}

static void mgpu_q_free(struct mgpu_queue *q)
{
	struct mgpu_dev *dev = q->dev;

	if (q->ring_dma.size)
		mgpu_dma_free(dev, &q->ring_dma);
	else if (q->ring)
		mgpu_vram_free(dev, q->ring_addr);
	if (q->fence_slot)
		mgpu_vram_free(dev, q->ctl_offset);
	pthread_mutex_lock(&dev->lock);
	if (dev->queues[q->index] == q)
		dev->queues[q->index] = NULL;
	pthread_mutex_unlock(&dev->lock);
	free(q);
}

MGPU_EXPORT int mgpu_queue_open(struct mgpu_dev *dev, unsigned int index,
				unsigned int entries, unsigned int flags,
				struct mgpu_queue **qp)
{
	struct mgpu_queue *q;
	uint64_t off;
	int ret;

	mgpu_set_error("%s", "");
	if (!(dev->caps & MGPU_CAP_ENGINE))
		return -EOPNOTSUPP;
	if (!entries)
		entries = MGPU_QUEUE_DEFAULT_ENTRIES;
	if (index >= dev->num_queues ||
	    (flags & ~(MGPU_QUEUE_RING_SYSMEM | MGPU_QUEUE_TAIL_POLL)) ||
	    entries < 2 || entries > MGPU_RING_MAX_ENTRIES ||
	    (entries & (entries - 1)))
		return -EINVAL;
	if ((flags & MGPU_QUEUE_RING_SYSMEM) &&
	    dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	if ((flags & MGPU_QUEUE_TAIL_POLL) && !(dev->caps & MGPU_CAP_TAIL_POLL))
		return -EOPNOTSUPP;

	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->dev = dev;
	q->index = index;
	q->flags = flags;
	q->entries = entries;
	q->base = MGPU_REG_QUEUE(index);
	q->timeout_ms = MGPU_QUEUE_DEFAULT_TIMEOUT_MS;
	q->next_seq = 1;

	pthread_mutex_lock(&dev->lock);
	if (dev->queues[index]) {
		pthread_mutex_unlock(&dev->lock);
		free(q);
		return -EBUSY;
	}
	dev->queues[index] = q;
	pthread_mutex_unlock(&dev->lock);

	ret = mgpu_vram_alloc(dev, MGPU_CTL_SIZE, MGPU_CTL_SIZE,
			      &q->ctl_offset);
	if (ret)
		goto err;
	q->fence_slot = (volatile uint64_t *)(dev->vram + q->ctl_offset +
					      MGPU_CTL_FENCE);
	*q->fence_slot = 0;
	if (flags & MGPU_QUEUE_TAIL_POLL)
		q->tail_slot = (volatile uint32_t *)(dev->vram +
						     q->ctl_offset +
						     MGPU_CTL_TAIL);

	if (flags & MGPU_QUEUE_RING_SYSMEM) {
		ret = mgpu_dma_alloc(dev, (size_t)entries * MGPU_CMD_SIZE,
				     &q->ring_dma);
		if (ret)
			goto err;
		q->ring = q->ring_dma.cpu;
		q->ring_addr = q->ring_dma.iova;
	} else {
		ret = mgpu_vram_alloc(dev, (uint64_t)entries * MGPU_CMD_SIZE,
				      MGPU_CMD_SIZE, &off);
		if (ret)
			goto err;
		q->ring = dev->vram + off;
		q->ring_addr = off;
	}

	/* Configuration registers are only writable while disabled. */
	mgpu_q_wr(q, MGPU_Q_CTRL, 0);
	mgpu_q_wr(q, MGPU_Q_RING_LO, (uint32_t)q->ring_addr);
	mgpu_q_wr(q, MGPU_Q_RING_HI, (uint32_t)(q->ring_addr >> 32));
	mgpu_q_wr(q, MGPU_Q_RING_SIZE, entries);
	mgpu_q_wr(q, MGPU_Q_TAIL_ADDR, q->tail_slot ?
		  (uint32_t)(q->ctl_offset + MGPU_CTL_TAIL) : 0);
	if (q->tail_slot && q->ctl_offset + MGPU_CTL_TAIL > UINT32_MAX) {
		mgpu_set_error("queue %u: polled tail beyond 4 GiB of VRAM",
			       index);
		ret = -ENOMEM;
		goto err;
	}
	ret = mgpu_q_enable(q);
	if (ret) {
		mgpu_q_wr(q, MGPU_Q_CTRL, 0);
		goto err;
	}
	*qp = q;
	return 0;

err:
	mgpu_q_free(q);
	return ret;
}

MGPU_EXPORT void mgpu_queue_close(struct mgpu_queue *q)
{
	if (!q)
		return;
	mgpu_q_wr(q, MGPU_Q_CTRL, 0);
	mgpu_q_free(q);
}

MGPU_EXPORT struct mgpu_dev *mgpu_queue_dev(const struct mgpu_queue *q)
{
	return q->dev;
}

MGPU_EXPORT unsigned int mgpu_queue_index(const struct mgpu_queue *q)
{
	return q->index;
}

MGPU_EXPORT unsigned int mgpu_queue_entries(const struct mgpu_queue *q)
{
	return q->entries;
}

MGPU_EXPORT void mgpu_queue_set_timeout(struct mgpu_queue *q, int timeout_ms)
{
	q->timeout_ms = timeout_ms;
}

static void mgpu_q_doorbell(struct mgpu_queue *q)
{
	/* The commands must be visible before the new tail. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->tail_slot)
		__atomic_store_n(q->tail_slot, q->tail, __ATOMIC_SEQ_CST);
	else
		mgpu_q_wr(q, MGPU_Q_TAIL, q->tail);
}

static uint32_t mgpu_q_space(struct mgpu_queue *q)
{
	/* A signalled fence tells where HEAD got to: no register read. */
	if (q->pos_seq &&
	    __atomic_load_n(q->fence_slot, __ATOMIC_ACQUIRE) >= q->pos_seq) {
		q->head = q->pos_tail;
		q->pos_seq = 0;
	}
	return (q->head - q->tail - 1) & (q->entries - 1);
}

/* Wait for HEAD to free an entry; -EIO if the queue stopped. */
static int mgpu_q_wait_space(struct mgpu_queue *q)
{
	unsigned int sleep_us = MGPU_SLEEP_MIN_US;
	uint64_t start = mgpu_now_ns();
	uint32_t head, status;

	for (;;) {
		head = mgpu_q_rd(q, MGPU_Q_HEAD);
		if (head < q->entries) {
			q->head = head;
			if (mgpu_q_space(q))
				return 0;
		}
		status = mgpu_q_rd(q, MGPU_Q_STATUS);
		if ((status & MGPU_QSTAT_ERROR) ||
		    !(status & MGPU_QSTAT_ENABLED))
			return -EIO;
		if (q->timeout_ms >= 0 &&
		    mgpu_now_ns() - start > (uint64_t)q->timeout_ms * 1000000)
			return -ETIMEDOUT;
		mgpu_sleep_us(sleep_us);
		if (sleep_us < MGPU_SLEEP_MAX_US)
			sleep_us *= 2;
	}
}

/*
 * Copy @n commands and then the queue's next fence into the ring, and
 * ring the doorbell once (more often only if the ring is full).
 */
static int mgpu_q_submit(struct mgpu_queue *q, const struct mgpu_cmd *cmds,
			 unsigned int n, uint64_t *seq)
{
	uint32_t mask = q->entries - 1, chunk;
	unsigned int i = 0, total = n + !!seq;
	struct mgpu_cmd fence;
	bool pending = false;
	int ret;

	if (seq)
		mgpu_cmd_fence(&fence, q->ctl_offset + MGPU_CTL_FENCE,
			       q->next_seq, q->dev->irq_mode != MGPU_IRQ_NONE ?
			       MGPU_F_IRQ : 0);
	while (i < total) {
		chunk = mgpu_q_space(q);
		if (!chunk) {
			if (pending) {
				mgpu_q_doorbell(q);
				pending = false;
			}
			ret = mgpu_q_wait_space(q);
			if (ret)
				return ret;
			continue;
		}
		if (i == n) {
			/* the fence */
			memcpy(q->ring + (size_t)q->tail * MGPU_CMD_SIZE, &fence,
			       MGPU_CMD_SIZE);
			q->tail = (q->tail + 1) & mask;
			i++;
			pending = true;
			continue;
		}
		if (chunk > n - i)
			chunk = n - i;
		if (chunk > q->entries - q->tail)
			chunk = q->entries - q->tail;
		memcpy(q->ring + (size_t)q->tail * MGPU_CMD_SIZE, cmds + i,
		       (size_t)chunk * MGPU_CMD_SIZE);
		q->tail = (q->tail + chunk) & mask;
		i += chunk;
		pending = true;
	}
	if (seq) {
		*seq = q->next_seq++;
		q->pos_seq = *seq;
		q->pos_tail = q->tail;
	}
	if (pending)
		mgpu_q_doorbell(q);
	return 0;
}

MGPU_EXPORT int mgpu_submit(struct mgpu_queue *q, const struct mgpu_cmd *cmds,
			    unsigned int n)
{
	return mgpu_q_submit(q, cmds, n, NULL);
}

MGPU_EXPORT int mgpu_submit_fence(struct mgpu_queue *q,
				  const struct mgpu_cmd *cmds, unsigned int n,
				  uint64_t *seq)
{
	return mgpu_q_submit(q, cmds, n, seq);
}

MGPU_EXPORT int mgpu_queue_fence(struct mgpu_queue *q, uint64_t *seq)
{
	return mgpu_q_submit(q, NULL, 0, seq);
}

MGPU_EXPORT int mgpu_fence_signaled(struct mgpu_queue *q, uint64_t seq)
{
	return __atomic_load_n(q->fence_slot, __ATOMIC_ACQUIRE) >= seq;
}

MGPU_EXPORT int mgpu_fence_wait(struct mgpu_queue *q, uint64_t seq,
				int timeout_ms)
{
	unsigned int sleep_us = MGPU_SLEEP_MIN_US, cap_us;
	uint64_t start = mgpu_now_ns(), now, elapsed, left_ms, gap;
	uint64_t check = start + MGPU_STATUS_FIRST_NS;
	struct mgpu_dev *dev = q->dev;
	uint32_t status, causes = 0;
	bool timed_out;
	int ret, slice;

	if (!seq || seq >= q->next_seq)
		return -EINVAL;
	if (mgpu_fence_signaled(q, seq))
		return 0;
	if (seq <= q->dropped_seq)
		return -ECANCELED;

	/* Short commands finish within microseconds: spin first. */
	if (timeout_ms != 0 && dev->irq_mode == MGPU_IRQ_NONE)
		while (mgpu_now_ns() - start < MGPU_SPIN_NS)
			if (mgpu_fence_signaled(q, seq))
				return 0;

	for (;;) {
		if (mgpu_fence_signaled(q, seq))
			return 0;
		now = mgpu_now_ns();
		elapsed = now - start;
		timed_out = timeout_ms >= 0 &&
			    elapsed >= (uint64_t)timeout_ms * 1000000;
		if (timed_out || now >= check || (causes & MGPU_INT_ERROR)) {
			status = mgpu_q_rd(q, MGPU_Q_STATUS);
			if ((status & MGPU_QSTAT_ERROR) ||
			    !(status & MGPU_QSTAT_ENABLED)) {
				/* The fence may have passed before a later error. */
				return mgpu_fence_signaled(q, seq) ? 0 : -EIO;
			}
			gap = elapsed < MGPU_STATUS_FIRST_NS ?
			      MGPU_STATUS_FIRST_NS : elapsed;
			check = now + (gap < MGPU_STATUS_EVERY_NS ?
				       gap : MGPU_STATUS_EVERY_NS);
		}
		if (timed_out)
			return mgpu_fence_signaled(q, seq) ? 0 : -ETIMEDOUT;

		causes = 0;
		if (dev->irq_mode != MGPU_IRQ_NONE) {
			slice = MGPU_IRQ_SLICE_MS;
			if (timeout_ms >= 0) {
				left_ms = ((uint64_t)timeout_ms * 1000000 -
					   elapsed + 999999) / 1000000;
				if (left_ms < (uint64_t)slice)
					slice = (int)left_ms;
			}
			ret = mgpu_irq_wait_ack(dev, slice, &causes);
			if (ret && ret != -ETIMEDOUT)
				return ret;
			if (!ret)
				__atomic_fetch_or(&dev->irq_latched, causes,
						  __ATOMIC_RELEASE);
			else
				causes = 0;
		} else {
			mgpu_sleep_us(sleep_us);
			cap_us = elapsed / 1000000;
			if (cap_us < MGPU_SLEEP_MAX_US)
				cap_us = MGPU_SLEEP_MAX_US;
			if (cap_us > MGPU_SLEEP_CAP_US)
				cap_us = MGPU_SLEEP_CAP_US;
			sleep_us = sleep_us * 2 < cap_us ? sleep_us * 2 : cap_us;
		}
	}
}

MGPU_EXPORT int mgpu_queue_sync(struct mgpu_queue *q, int timeout_ms)
{
	uint64_t seq;
	int ret;

	ret = mgpu_queue_fence(q, &seq);
	if (ret)
		return ret;
	return mgpu_fence_wait(q, seq, timeout_ms);
}

MGPU_EXPORT int mgpu_queue_error(struct mgpu_queue *q, uint32_t *code,
				 uint32_t *head)
{
	int ret;

	ret = mgpu_reg_read(q->dev, q->base + MGPU_Q_ERROR, code);
	if (!ret && head)
		ret = mgpu_reg_read(q->dev, q->base + MGPU_Q_ERROR_HEAD, head);
	return ret;
}

MGPU_EXPORT int mgpu_queue_reset(struct mgpu_queue *q)
{
	mgpu_q_wr(q, MGPU_Q_CTRL, 0);
	q->dropped_seq = q->next_seq - 1;
	return mgpu_q_enable(q);
}

MGPU_EXPORT int mgpu_queue_completed(struct mgpu_queue *q, uint64_t *count)
{
	uint32_t lo, hi, hi2;
	int ret;

	do {
		ret = mgpu_reg_read(q->dev, q->base + MGPU_Q_COMPLETED_HI, &hi);
		if (!ret)
			ret = mgpu_reg_read(q->dev,
					    q->base + MGPU_Q_COMPLETED_LO, &lo);
		if (!ret)
			ret = mgpu_reg_read(q->dev,
					    q->base + MGPU_Q_COMPLETED_HI, &hi2);
		if (ret)
			return ret;
	} while (hi != hi2);
	*count = (uint64_t)hi << 32 | lo;
	return 0;
}
