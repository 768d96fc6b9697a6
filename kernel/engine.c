// SPDX-License-Identifier: GPL-2.0
/*
 * The command engine of a parent GPU.
 *
 * One kernel thread per parent runs the commands of every open vGPU on
 * it.  It takes the vGPUs with work in turn (round robin), gives each a
 * time slice, and within a slice takes the vGPU's busy queues in turn.
 * Work is done in bounded steps: a small command, or a chunk of a large
 * one (COPY/FILL by bytes, GEMM by rows and inner-dimension ranges), so
 * the engine can switch tenants, notice a reset, and enforce the watchdog
 * between any two steps, and never holds the CPU long (fp32 GEMM runs
 * inside kernel_fpu_begin()/kernel_fpu_end() one short step at a time).
 *
 * Every step's result is committed under the vGPU's lock, and only if
 * the queue's generation did not change since the step began: a command
 * stopped by a reset, a queue disable or a close completes nothing and
 * raises nothing afterwards.
 */
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vfio.h>
#include <asm/fpu/api.h>

#include "mgpu_drv.h"

unsigned int mgpu_cmd_budget_ms = 5000;
module_param_named(cmd_budget_ms, mgpu_cmd_budget_ms, uint, 0644);
MODULE_PARM_DESC(cmd_budget_ms, "Engine time one command may take before the watchdog stops its queue, in ms (default 5000)");

/* The work of one step: bytes for COPY/FILL, multiply-adds for GEMM. */
#define MGPU_STEP_BYTES		(256 * 1024)
#define MGPU_STEP_MACS		(128 * 1024)
#define MGPU_BOUNCE_SIZE	(64 * 1024)
/* Polling of trap-free tails while idle: from 20 us backing off to 1 ms. */
#define MGPU_POLL_MIN_US	20
#define MGPU_POLL_MAX_US	1000

/* Result of executing a step, besides an MGPU_ERR_* code. */
#define MGPU_EXEC_DONE		0
#define MGPU_EXEC_MORE		(-1)

static void *mgpu_engine_vram(struct mgpu_vgpu *vgpu)
{
	struct mgpu_parent *parent = vgpu->parent;

	return parent->ops->vram_vaddr(parent) + vgpu->vram_offset;
}

/* Is [addr, addr + len) inside the vGPU's VRAM slice? */
static bool mgpu_vram_range_ok(struct mgpu_vgpu *vgpu, u64 addr, u64 len)
{
	return addr <= vgpu->vram_size && len <= vgpu->vram_size - addr;
}

/* Does the queue have a command to run?  Reads a polled tail. */
static bool mgpu_queue_has_work(struct mgpu_vgpu *vgpu, struct mgpu_queue *q)
{
	lockdep_assert_held(&vgpu->lock);

	if (!(q->ctrl & MGPU_QCTRL_ENABLE) || q->error)
		return false;
	if (q->ctrl & MGPU_QCTRL_TAIL_POLL) {
		u32 tail = READ_ONCE(*(u32 *)(mgpu_engine_vram(vgpu) +
					      q->tail_addr));

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

static bool mgpu_vgpu_has_work(struct mgpu_vgpu *vgpu, bool *polling)
{
	bool work = false;
	u32 i;

	mutex_lock(&vgpu->lock);
	for (i = 0; i < vgpu->nr_queues; i++) {
		struct mgpu_queue *q = &vgpu->queues[i];

		if ((q->ctrl & MGPU_QCTRL_TAIL_POLL) && !q->error &&
		    (q->ctrl & MGPU_QCTRL_ENABLE))
			*polling = true;
		if (mgpu_queue_has_work(vgpu, q))
			work = true;
	}
	mutex_unlock(&vgpu->lock);
	return work;
}

/* Copy @len bytes between guest memory at @iova and @buf. */
static int mgpu_engine_dma(struct mgpu_vgpu *vgpu, u64 iova, void *buf,
			   size_t len, bool write)
{
	return vfio_dma_rw(&vgpu->vdev, iova, buf, len, write) ?
	       MGPU_ERR_DMA : MGPU_EXEC_DONE;
}

static int mgpu_engine_fetch(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
			     u64 ring, u32 ctrl, u32 head)
{
	u64 addr = ring + (u64)head * MGPU_CMD_SIZE;

	if (ctrl & MGPU_QCTRL_RING_SYSMEM)
		return mgpu_engine_dma(vgpu, addr, &q->cur, MGPU_CMD_SIZE,
				       false);
	if (!mgpu_vram_range_ok(vgpu, addr, MGPU_CMD_SIZE))
		return MGPU_ERR_BAD_RING;
	memcpy(&q->cur, mgpu_engine_vram(vgpu) + addr, MGPU_CMD_SIZE);
	return MGPU_EXEC_DONE;
}

/* Check the address of a FENCE or TIMESTAMP (the value is written later). */
static int mgpu_check_u64_dst(struct mgpu_vgpu *vgpu,
			      const struct mgpu_cmd *cmd)
{
	if (cmd->flags & ~(MGPU_F_DST_SYSMEM | MGPU_F_IRQ) ||
	    (cmd->opcode == MGPU_OP_TIMESTAMP && (cmd->flags & MGPU_F_IRQ)) ||
	    cmd->arg[2] || cmd->arg[3] || cmd->arg[4] || cmd->arg[5] ||
	    cmd->arg[6] || (cmd->opcode == MGPU_OP_TIMESTAMP && cmd->arg[1]))
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(cmd->arg[0], 8))
		return MGPU_ERR_ALIGN;
	if (!(cmd->flags & MGPU_F_DST_SYSMEM) &&
	    !mgpu_vram_range_ok(vgpu, cmd->arg[0], 8))
		return MGPU_ERR_VRAM_RANGE;
	return MGPU_EXEC_DONE;
}

static bool mgpu_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

static int mgpu_exec_copy(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			  const struct mgpu_cmd *cmd, u64 *progress)
{
	bool src_sys = cmd->flags & MGPU_F_SRC_SYSMEM;
	bool dst_sys = cmd->flags & MGPU_F_DST_SYSMEM;
	u64 src = cmd->arg[0], dst = cmd->arg[1], size = cmd->arg[2];
	void *vram = mgpu_engine_vram(vgpu);
	u64 done = *progress, n;
	int ret;

	if (cmd->flags & ~(MGPU_F_SRC_SYSMEM | MGPU_F_DST_SYSMEM) ||
	    cmd->arg[3] || cmd->arg[4] || cmd->arg[5] || cmd->arg[6])
		return MGPU_ERR_BAD_CMD;
	if (!done) {
		if ((!src_sys && !mgpu_vram_range_ok(vgpu, src, size)) ||
		    (!dst_sys && !mgpu_vram_range_ok(vgpu, dst, size)))
			return MGPU_ERR_VRAM_RANGE;
		/* VRAM to VRAM copies are done in steps: no overlap. */
		if (!src_sys && !dst_sys && size &&
		    mgpu_ranges_overlap(src, size, dst, size))
			return MGPU_ERR_BAD_CMD;
	}
	if (done == size)
		return MGPU_EXEC_DONE;

	n = min_t(u64, size - done, src_sys && dst_sys ? MGPU_BOUNCE_SIZE :
						      MGPU_STEP_BYTES);
	if (!src_sys && !dst_sys) {
		memcpy(vram + dst + done, vram + src + done, n);
	} else if (src_sys && !dst_sys) {
		ret = mgpu_engine_dma(vgpu, src + done, vram + dst + done, n,
				      false);
		if (ret)
			return ret;
	} else if (!src_sys && dst_sys) {
		ret = mgpu_engine_dma(vgpu, dst + done, vram + src + done, n,
				      true);
		if (ret)
			return ret;
	} else {
		ret = mgpu_engine_dma(vgpu, src + done, e->bounce, n, false);
		if (!ret)
			ret = mgpu_engine_dma(vgpu, dst + done, e->bounce, n,
					      true);
		if (ret)
			return ret;
	}
	*progress = done + n;
	return *progress == size ? MGPU_EXEC_DONE : MGPU_EXEC_MORE;
}

static int mgpu_exec_fill(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			  const struct mgpu_cmd *cmd, u64 *progress)
{
	bool dst_sys = cmd->flags & MGPU_F_DST_SYSMEM;
	u64 dst = cmd->arg[0], size = cmd->arg[1], done = *progress, n;
	u32 pattern = cmd->arg[2];
	int ret;

	if (cmd->flags & ~MGPU_F_DST_SYSMEM || cmd->arg[2] > U32_MAX ||
	    cmd->arg[3] || cmd->arg[4] || cmd->arg[5] || cmd->arg[6])
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(dst, 4) || !IS_ALIGNED(size, 4))
		return MGPU_ERR_ALIGN;
	if (!dst_sys && !mgpu_vram_range_ok(vgpu, dst, size))
		return MGPU_ERR_VRAM_RANGE;
	if (done == size)
		return MGPU_EXEC_DONE;

	if (!dst_sys) {
		n = min_t(u64, size - done, MGPU_STEP_BYTES);
		memset32(mgpu_engine_vram(vgpu) + dst + done,
			 (__force u32)cpu_to_le32(pattern), n / 4);
	} else {
		n = min_t(u64, size - done, MGPU_BOUNCE_SIZE);
		memset32(e->bounce, (__force u32)cpu_to_le32(pattern), n / 4);
		ret = mgpu_engine_dma(vgpu, dst + done, e->bounce, n, true);
		if (ret)
			return ret;
	}
	*progress = done + n;
	return *progress == size ? MGPU_EXEC_DONE : MGPU_EXEC_MORE;
}

/* GEMM progress: row of C in the high half, inner index in the low half. */
static int mgpu_exec_gemm(struct mgpu_vgpu *vgpu, const struct mgpu_cmd *cmd,
			  u64 *progress)
{
	const struct mgpu_cmd_gemm *g = (const void *)cmd;
	bool int8 = g->flags & MGPU_F_GEMM_INT8;
	u64 esize = int8 ? 1 : 4;
	u32 row = *progress >> 32, p = lower_32_bits(*progress), pend;
	u64 macs = MGPU_STEP_MACS;
	void *vram = mgpu_engine_vram(vgpu);

	if (g->flags & ~MGPU_F_GEMM_INT8 || g->reserved[0] ||
	    g->reserved[1] || g->reserved[2] ||
	    !g->m || !g->n || !g->k || g->m > MGPU_GEMM_MAX_DIM ||
	    g->n > MGPU_GEMM_MAX_DIM || g->k > MGPU_GEMM_MAX_DIM)
		return MGPU_ERR_BAD_CMD;
	if (!IS_ALIGNED(g->a, 4) || !IS_ALIGNED(g->b, 4) ||
	    !IS_ALIGNED(g->c, 4))
		return MGPU_ERR_ALIGN;
	if (!mgpu_vram_range_ok(vgpu, g->a, (u64)g->m * g->k * esize) ||
	    !mgpu_vram_range_ok(vgpu, g->b, (u64)g->k * g->n * esize) ||
	    !mgpu_vram_range_ok(vgpu, g->c, (u64)g->m * g->n * 4))
		return MGPU_ERR_VRAM_RANGE;
	/* C is written in steps: it must not overlap an input. */
	if (mgpu_ranges_overlap(g->c, (u64)g->m * g->n * 4,
				g->a, (u64)g->m * g->k * esize) ||
	    mgpu_ranges_overlap(g->c, (u64)g->m * g->n * 4,
				g->b, (u64)g->k * g->n * esize))
		return MGPU_ERR_BAD_CMD;

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
	return row == g->m ? MGPU_EXEC_DONE : MGPU_EXEC_MORE;
}

/* What a completed command adds to the statistics. */
static void mgpu_engine_account(struct mgpu_vgpu *vgpu,
				const struct mgpu_cmd *cmd)
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

/* Run one step of @cmd: MGPU_EXEC_DONE, MGPU_EXEC_MORE or MGPU_ERR_*. */
static int mgpu_engine_exec(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			    const struct mgpu_cmd *cmd, u64 *progress)
{
	switch (cmd->opcode) {
	case MGPU_OP_NOP:
		if (cmd->flags || memchr_inv(cmd->arg, 0, sizeof(cmd->arg)))
			return MGPU_ERR_BAD_CMD;
		return MGPU_EXEC_DONE;
	case MGPU_OP_FENCE:
	case MGPU_OP_TIMESTAMP:
		return mgpu_check_u64_dst(vgpu, cmd);
	case MGPU_OP_COPY:
		return mgpu_exec_copy(e, vgpu, cmd, progress);
	case MGPU_OP_FILL:
		return mgpu_exec_fill(e, vgpu, cmd, progress);
	case MGPU_OP_GEMM:
		return mgpu_exec_gemm(vgpu, cmd, progress);
	default:
		return MGPU_ERR_BAD_OPCODE;
	}
}

/*
 * Complete a command: the effects that must not outlive a reset (fence
 * and timestamp values, interrupts) happen here, under the vGPU's lock,
 * after the generation check.
 */
static int mgpu_engine_complete(struct mgpu_vgpu *vgpu,
				const struct mgpu_cmd *cmd)
{
	__le64 val;
	int ret;

	lockdep_assert_held(&vgpu->lock);

	if (cmd->opcode != MGPU_OP_FENCE && cmd->opcode != MGPU_OP_TIMESTAMP)
		return MGPU_EXEC_DONE;

	val = cpu_to_le64(cmd->opcode == MGPU_OP_FENCE ? cmd->arg[1] :
			  ktime_get_ns());
	if (cmd->flags & MGPU_F_DST_SYSMEM) {
		ret = mgpu_engine_dma(vgpu, cmd->arg[0], &val, sizeof(val),
				      true);
		if (ret)
			return ret;
	} else {
		/* Aligned 64-bit store: a poller never sees half a value. */
		WRITE_ONCE(*(__le64 *)(mgpu_engine_vram(vgpu) + cmd->arg[0]),
			   val);
	}
	if (cmd->opcode == MGPU_OP_FENCE && (cmd->flags & MGPU_F_IRQ))
		mgpu_irq_raise(vgpu, MGPU_INT_FENCE);
	return MGPU_EXEC_DONE;
}

/* One step on one queue.  Return: false if the queue had nothing to do. */
static bool mgpu_engine_step(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			     struct mgpu_queue *q)
{
	u32 gen, head, ctrl;
	u64 ring, t0;
	int ret;

	mutex_lock(&vgpu->lock);
	if (!mgpu_queue_has_work(vgpu, q)) {
		mutex_unlock(&vgpu->lock);
		return false;
	}
	gen = q->gen;
	head = q->head;
	ring = q->ring;
	ctrl = q->ctrl;
	mutex_unlock(&vgpu->lock);

	if (!q->cur_valid || q->cur_gen != gen) {
		q->cur_valid = false;
		ret = mgpu_engine_fetch(vgpu, q, ring, ctrl, head);
		if (ret)
			goto commit;
		q->cur_valid = true;
		q->cur_gen = gen;
		q->progress = 0;
		q->cur_ns = 0;
	}

	t0 = ktime_get_ns();
	ret = mgpu_engine_exec(e, vgpu, &q->cur, &q->progress);
	q->cur_ns += ktime_get_ns() - t0;
	if (ret == MGPU_EXEC_MORE &&
	    q->cur_ns > (u64)READ_ONCE(mgpu_cmd_budget_ms) * NSEC_PER_MSEC)
		ret = MGPU_ERR_TIMEOUT;

commit:
	mutex_lock(&vgpu->lock);
	if (q->gen != gen) {
		/* Stopped or reset meanwhile: drop the work. */
		q->cur_valid = false;
	} else if (ret != MGPU_EXEC_MORE) {
		q->cur_valid = false;
		if (!ret)
			ret = mgpu_engine_complete(vgpu, &q->cur);
		if (ret) {
			mgpu_queue_set_error(vgpu, q, ret, head);
		} else {
			q->head = (head + 1) & (q->ring_size - 1);
			q->completed++;
			mgpu_engine_account(vgpu, &q->cur);
		}
	}
	mutex_unlock(&vgpu->lock);
	return true;
}

/* Run @vgpu's queues for @run_ns, or until they are all idle. */
static void mgpu_engine_run(struct mgpu_engine *e, struct mgpu_vgpu *vgpu,
			    u64 run_ns)
{
	u64 start = ktime_get_ns(), end = start + run_ns;
	u32 idle = 0;

	while (idle < vgpu->nr_queues && !kthread_should_stop()) {
		struct mgpu_queue *q = &vgpu->queues[vgpu->rr_queue];

		vgpu->rr_queue = (vgpu->rr_queue + 1) % vgpu->nr_queues;
		if (mgpu_engine_step(e, vgpu, q))
			idle = 0;
		else
			idle++;
		if (ktime_get_ns() >= end)
			break;
		cond_resched();
	}

	mutex_lock(&e->lock);
	mgpu_sched_charge(e, vgpu, ktime_get_ns() - start);
	mutex_unlock(&e->lock);
}

/*
 * Pick the next vGPU with work that the policy lets run, round robin.
 * Return: the vGPU (and how long it may run in @run_ns), or NULL; then
 * @wait_ns says how long until a period starts if a vGPU with work had
 * to wait for it (0 if none).
 */
static struct mgpu_vgpu *mgpu_engine_pick(struct mgpu_engine *e,
					  bool *polling, u64 *run_ns,
					  u64 *wait_ns)
{
	struct mgpu_vgpu *vgpu, *found = NULL;
	u64 now = ktime_get_ns();
	bool throttled = false;

	mutex_lock(&e->lock);
	if (!mgpu_sched_period_left(e, now))
		mgpu_sched_new_period(e, now);
	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		if (!mgpu_vgpu_has_work(vgpu, polling))
			continue;
		*run_ns = mgpu_sched_run_ns(e, vgpu);
		if (*run_ns) {
			found = vgpu;
			break;
		}
		throttled = true;
	}
	*wait_ns = throttled ? mgpu_sched_period_left(e, now) : 0;
	if (found) {
		/* The next pick starts after this one. */
		list_move_tail(&found->engine_node, &e->vgpus);
		WRITE_ONCE(e->running, found);
	}
	mutex_unlock(&e->lock);
	return found;
}

static int mgpu_engine_thread(void *data)
{
	struct mgpu_engine *e = data;
	unsigned int poll_us = MGPU_POLL_MIN_US;

	while (!kthread_should_stop()) {
		struct mgpu_vgpu *vgpu;
		bool polling = false;
		u64 run_ns, wait_ns;

		atomic_set(&e->kick, 0);
		vgpu = mgpu_engine_pick(e, &polling, &run_ns, &wait_ns);
		if (vgpu) {
			mgpu_engine_run(e, vgpu, run_ns);
			WRITE_ONCE(e->running, NULL);
			wake_up_all(&e->idle_wq);
			poll_us = MGPU_POLL_MIN_US;
			cond_resched();
			continue;
		}

		if (wait_ns) {
			/* Work waits for its share: idle until the period ends. */
			wait_ns = min_t(u64, wait_ns, NSEC_PER_MSEC);
			usleep_range(div_u64(wait_ns, NSEC_PER_USEC) + 1,
				     div_u64(wait_ns, NSEC_PER_USEC) + 50);
		} else if (polling) {
			/* A trap-free tail may move at any time: poll it. */
			usleep_range(poll_us, poll_us * 2);
			poll_us = min(poll_us * 2, MGPU_POLL_MAX_US);
		} else {
			wait_event_interruptible(e->wq,
						 atomic_read(&e->kick) ||
						 kthread_should_stop());
		}
	}
	return 0;
}

/**
 * mgpu_engine_kick() - tell the engine that a queue has new work
 * @parent: the parent GPU
 */
void mgpu_engine_kick(struct mgpu_parent *parent)
{
	struct mgpu_engine *e = &parent->engine;

	atomic_set(&e->kick, 1);
	wake_up(&e->wq);
}

/**
 * mgpu_engine_attach() - let the engine run an opened vGPU
 * @vgpu: the instance, just opened
 */
void mgpu_engine_attach(struct mgpu_vgpu *vgpu)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	mutex_lock(&e->lock);
	vgpu->budget_ns = 0;
	list_add_tail(&vgpu->engine_node, &e->vgpus);
	e->period_ns = 0;	/* shares change: new period */
	mutex_unlock(&e->lock);
}

/* Wait until the engine thread is not running @vgpu. */
static void mgpu_engine_wait_left(struct mgpu_engine *e,
				  struct mgpu_vgpu *vgpu)
{
	wait_event(e->idle_wq, READ_ONCE(e->running) != vgpu);
}

/**
 * mgpu_engine_quiesce() - stop a vGPU's queues and wait for the engine
 * @vgpu: the instance; its lock must not be held
 *
 * On return the engine runs nothing of @vgpu and will commit nothing it
 * started before: no completion or interrupt from before arrives later.
 */
void mgpu_engine_quiesce(struct mgpu_vgpu *vgpu)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	mutex_lock(&vgpu->lock);
	mgpu_queue_stop_all(vgpu);
	mutex_unlock(&vgpu->lock);
	mgpu_engine_wait_left(e, vgpu);
}

/**
 * mgpu_engine_detach() - take a closing vGPU off the engine
 * @vgpu: the instance
 *
 * After this the engine never touches @vgpu again, so guest memory
 * (valid only while the device is open) is never accessed after close.
 */
void mgpu_engine_detach(struct mgpu_vgpu *vgpu)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	mutex_lock(&e->lock);
	list_del_init(&vgpu->engine_node);
	e->period_ns = 0;
	mutex_unlock(&e->lock);
	mgpu_engine_wait_left(e, vgpu);
}

/**
 * mgpu_engine_init() - start a parent's engine
 * @parent: the parent, initialized
 *
 * Return: 0 or a negative errno.
 */
int mgpu_engine_init(struct mgpu_parent *parent)
{
	struct mgpu_engine *e = &parent->engine;
	int ret;

	e->parent = parent;
	mutex_init(&e->lock);
	INIT_LIST_HEAD(&e->vgpus);
	init_waitqueue_head(&e->wq);
	init_waitqueue_head(&e->idle_wq);
	atomic_set(&e->kick, 0);
	mgpu_sched_init(e);

	e->bounce = kmalloc(MGPU_BOUNCE_SIZE, GFP_KERNEL);
	if (!e->bounce) {
		ret = -ENOMEM;
		goto err_lock;
	}
	e->thread = kthread_run(mgpu_engine_thread, e, "mgpu/%s",
				dev_name(parent->dev));
	if (IS_ERR(e->thread)) {
		ret = PTR_ERR(e->thread);
		goto err_bounce;
	}
	return 0;

err_bounce:
	kfree(e->bounce);
err_lock:
	mutex_destroy(&e->lock);
	return ret;
}

/**
 * mgpu_engine_fini() - stop a parent's engine
 * @parent: the parent, with no vGPU left
 */
void mgpu_engine_fini(struct mgpu_parent *parent)
{
	struct mgpu_engine *e = &parent->engine;

	WARN_ON(!list_empty(&e->vgpus));
	kthread_stop(e->thread);
	kfree(e->bounce);
	mutex_destroy(&e->lock);
}
