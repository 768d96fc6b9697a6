// SPDX-License-Identifier: GPL-2.0
/*
 * The command engine of a parent GPU.
 *
 * A parent's engine threads (one by default, up to MGPU_MAX_ENGINES, like
 * a GPU with several engines) run the commands of every open vGPU on it.
 * A thread takes the vGPUs with work in turn (round robin), gives each a
 * time slice, and within a slice takes the vGPU's busy queues in turn.
 * A vGPU runs on one thread at a time (its queues keep their order, its
 * fences come in order); the threads share one scheduler (sched.c), so
 * shares, budgets and statistics count the time of all of them.
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

#include "mgpu_drv.h"

/*
 * Writable at runtime and read by every engine thread: a value out of
 * range is refused with EINVAL at the write (a budget of 0 would stop
 * every tenant's next command).
 */
#define MGPU_CMD_BUDGET_MAX_MS	3600000

static int mgpu_param_set_budget(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, MGPU_CMD_BUDGET_MAX_MS);
}

static const struct kernel_param_ops mgpu_param_budget_ops = {
	.set = mgpu_param_set_budget,
	.get = param_get_uint,
};

static int mgpu_param_set_simd(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, MGPU_GEMM_SIMD_AVX512);
}

static const struct kernel_param_ops mgpu_param_simd_ops = {
	.set = mgpu_param_set_simd,
	.get = param_get_uint,
};

unsigned int mgpu_cmd_budget_ms = 5000;
module_param_cb(cmd_budget_ms, &mgpu_param_budget_ops, &mgpu_cmd_budget_ms, 0644);
__MODULE_PARM_TYPE(cmd_budget_ms, "uint");
MODULE_PARM_DESC(cmd_budget_ms, "Engine time one command may take before the watchdog stops its queue, in ms: 1 to 3600000 (default 5000)");

unsigned int mgpu_gemm_simd;
module_param_cb(gemm_simd, &mgpu_param_simd_ops, &mgpu_gemm_simd, 0644);
__MODULE_PARM_TYPE(gemm_simd, "uint");
MODULE_PARM_DESC(gemm_simd, "GEMM kernels (fp32 and int8): 0 the widest the CPU has (default), 1 SSE2, 2 AVX2 at most, 3 AVX-512 at most; all give the same bits");

/*
 * Polling of trap-free tails while idle: from 20 us backing off to 1 ms,
 * and to 10 ms once nothing came for MGPU_POLL_PATIENCE polls in a row.
 */
#define MGPU_POLL_MIN_US	20
#define MGPU_POLL_MAX_US	1000
#define MGPU_POLL_IDLE_US	10000
#define MGPU_POLL_PATIENCE	200
/* How often an idle engine looks at steps that wait for guest memory. */
#define MGPU_DMA_WATCH_MS	20

/* Fetch the command at @head of a ring in VRAM into q->cur. */
static int mgpu_engine_fetch_vram(struct mgpu_vgpu *vgpu,
				  struct mgpu_queue *q, u64 ring, u32 head)
{
	u64 addr = ring + (u64)head * MGPU_CMD_SIZE;

	if (!mgpu_vram_range_ok(vgpu->vram_size, addr, MGPU_CMD_SIZE))
		return MGPU_ERR_BAD_RING;
	mgpu_vram_read(vgpu, addr, &q->cur, MGPU_CMD_SIZE);
	return 0;
}

/* A step (or fetch) of @q went to the DMA thread: see you later. */
static void mgpu_engine_dma_sent(struct mgpu_queue *q, u32 gen)
{
	q->dma_busy = true;
	q->dma_gen = gen;
	q->dma_start = ktime_get_ns();
	q->dma_timed_out = false;
}

/*
 * One step on one queue.  A step that touches guest memory goes to the
 * vGPU's DMA thread, and its result is committed by a later call.
 * Return: false if the queue had nothing to do.
 */
static bool mgpu_engine_step(struct mgpu_engine_thread *et,
			     struct mgpu_vgpu *vgpu, struct mgpu_queue *q)
{
	bool from_dma = false, fetched = false;
	enum mgpu_dma_kind kind = MGPU_DMA_STEP;
	u32 gen, head, ctrl;
	u64 ring, t0;
	int ret = 0;

	if (q->dma_busy) {
		if (!mgpu_dma_collect(vgpu, q, &ret))
			return false;	/* still with the DMA thread */
		kind = vgpu->dma.kind;
		q->dma_busy = false;
		q->cur_ns += ktime_get_ns() - q->dma_start;
		if (q->dma_timed_out && ret > 0)
			ret = MGPU_ERR_TIMEOUT;
		from_dma = true;
		if (ret == MGPU_DMA_RETRY) {
			/* Undone (migration stop): a fetch is fetched again. */
			if (kind == MGPU_DMA_FETCH)
				q->cur_valid = false;
			return true;
		}
		/*
		 * A failed access (cancelled by the watchdog or by bus
		 * mastering going off) stops the queue now, whether or not
		 * the queue may run at the moment.
		 */
		if (ret > 0) {
			mutex_lock(&vgpu->lock);
			q->cur_valid = false;
			if (q->gen == q->dma_gen)
				mgpu_queue_set_error(vgpu, q, ret, q->head);
			mutex_unlock(&vgpu->lock);
			return true;
		}
	}

	mutex_lock(&vgpu->lock);
	if (!mgpu_queue_has_work(vgpu, q)) {
		mutex_unlock(&vgpu->lock);
		return from_dma;
	}
	gen = q->gen;
	head = q->head;
	ring = q->ring;
	ctrl = q->ctrl;
	mutex_unlock(&vgpu->lock);

	if (from_dma) {
		if (q->dma_gen != gen)
			return true;	/* stopped or reset meanwhile: drop it */
		if (kind == MGPU_DMA_STEP)
			goto stepped;
		fetched = true;
	}

	if (!q->cur_valid || q->cur_gen != gen) {
		q->cur_valid = false;
		if (!fetched && (ctrl & MGPU_QCTRL_RING_SYSMEM)) {
			if (mgpu_dma_submit(vgpu, q, MGPU_DMA_FETCH,
					    ring + (u64)head * MGPU_CMD_SIZE))
				mgpu_engine_dma_sent(q, gen);
			return true;
		}
		if (!fetched)
			ret = mgpu_engine_fetch_vram(vgpu, q, ring, head);
		if (!ret)
			ret = mgpu_cmd_validate(vgpu->vram_size, &q->cur);
		if (ret)
			goto commit;
		q->cur_valid = true;
		q->cur_gen = gen;
		q->progress = 0;
		q->cur_ns = 0;
	}

	if (mgpu_cmd_needs_dma(&q->cur)) {
		if (mgpu_dma_submit(vgpu, q, MGPU_DMA_STEP, 0))
			mgpu_engine_dma_sent(q, gen);
		return true;
	}
	t0 = ktime_get_ns();
	ret = mgpu_cmd_step(et->scratch, vgpu, &q->cur, &q->progress);
	q->cur_ns += ktime_get_ns() - t0;
stepped:
	if (ret == MGPU_CMD_MORE &&
	    q->cur_ns > (u64)READ_ONCE(mgpu_cmd_budget_ms) * NSEC_PER_MSEC)
		ret = MGPU_ERR_TIMEOUT;

commit:
	mutex_lock(&vgpu->lock);
	if (q->gen != gen) {
		/* Stopped or reset meanwhile: drop the work. */
		q->cur_valid = false;
	} else if (ret != MGPU_CMD_MORE) {
		q->cur_valid = false;
		if (!ret)
			ret = mgpu_cmd_complete(vgpu, &q->cur);
		if (ret) {
			mgpu_queue_set_error(vgpu, q, ret, head);
		} else {
			q->head = (head + 1) & (q->ring_size - 1);
			q->completed++;
			mgpu_cmd_account(vgpu, &q->cur);
		}
	}
	mutex_unlock(&vgpu->lock);
	return true;
}

/*
 * Run @vgpu's queues for @run_ns, or until they are all idle; then charge
 * the run and give the vGPU back to the scheduler (any thread may pick
 * it next).
 */
static void mgpu_engine_run(struct mgpu_engine_thread *et,
			    struct mgpu_vgpu *vgpu, u64 run_ns)
{
	u64 end = ktime_get_ns() + run_ns;
	u32 idle = 0;

	while (idle < vgpu->nr_queues && !kthread_should_stop()) {
		struct mgpu_queue *q = &vgpu->queues[vgpu->rr_queue];

		vgpu->rr_queue = (vgpu->rr_queue + 1) % vgpu->nr_queues;
		if (mgpu_engine_step(et, vgpu, q))
			idle = 0;
		else
			idle++;
		if (ktime_get_ns() >= end)
			break;
		cond_resched();
	}

	mgpu_sched_done(et->e, vgpu);
}

static int mgpu_engine_thread(void *data)
{
	struct mgpu_engine_thread *et = data;
	struct mgpu_engine *e = et->e;
	unsigned int poll_us = MGPU_POLL_MIN_US, idle_polls = 0;

	while (!kthread_should_stop()) {
		struct mgpu_vgpu *vgpu;
		unsigned int hint = 0;
		u64 run_ns, wait_ns;
		bool more = false;

		atomic_set(&e->kick, 0);
		vgpu = mgpu_sched_pick(e, &hint, &run_ns, &wait_ns, &more);
		if (vgpu) {
			/*
			 * Another vGPU may run now too: wake an idle thread
			 * for it (this one cleared the kick that would have).
			 */
			if (more)
				mgpu_engine_kick(e->parent);
			mgpu_engine_run(et, vgpu, run_ns);
			wake_up_all(&e->idle_wq);
			poll_us = MGPU_POLL_MIN_US;
			idle_polls = 0;
			cond_resched();
			continue;
		}

		if (wait_ns) {
			/* Work waits for its share: idle until the period ends. */
			wait_ns = min_t(u64, wait_ns, NSEC_PER_MSEC);
			usleep_range(div_u64(wait_ns, NSEC_PER_USEC) + 1,
				     div_u64(wait_ns, NSEC_PER_USEC) + 50);
		} else if (hint & MGPU_HINT_POLL) {
			/*
			 * A trap-free tail may move at any time: poll it, more
			 * and more lazily while nothing comes (a doorbell or a
			 * finished DMA still wakes the engine at once).
			 */
			wait_event_interruptible_hrtimeout(e->wq,
							   atomic_read(&e->kick) ||
							   kthread_should_stop(),
							   ns_to_ktime((u64)poll_us *
								       NSEC_PER_USEC));
			if (++idle_polls > MGPU_POLL_PATIENCE)
				poll_us = min(poll_us * 2, MGPU_POLL_IDLE_US);
			else
				poll_us = min(poll_us * 2, MGPU_POLL_MAX_US);
		} else if (hint & MGPU_HINT_DMA) {
			/* Steps wait for guest memory: watch their watchdog. */
			wait_event_interruptible_timeout(e->wq,
							 atomic_read(&e->kick) ||
							 kthread_should_stop(),
							 msecs_to_jiffies(MGPU_DMA_WATCH_MS));
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
 *
 * Wakes every idle thread of the engine; the first to scan takes the
 * work, and wakes the others again if more is left (mgpu_sched_pick()).
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
 *
 * Return: 0, or a negative errno if its DMA thread cannot start.
 */
int mgpu_engine_attach(struct mgpu_vgpu *vgpu)
{
	struct mgpu_engine *e = &vgpu->parent->engine;
	u32 i;
	int ret;

	for (i = 0; i < vgpu->nr_queues; i++)
		vgpu->queues[i].dma_busy = false;
	ret = mgpu_dma_start(vgpu);
	if (ret)
		return ret;
	mutex_lock(&e->lock);
	vgpu->budget_ns = 0;
	list_add_tail(&vgpu->engine_node, &e->vgpus);
	e->period_ns = 0;	/* shares change: new period */
	mutex_unlock(&e->lock);
	return 0;
}

/* Wait until no engine thread runs @vgpu. */
static void mgpu_engine_wait_left(struct mgpu_engine *e,
				  struct mgpu_vgpu *vgpu)
{
	wait_event(e->idle_wq, !READ_ONCE(vgpu->on_engine));
}

/**
 * mgpu_engine_quiesce() - stop a vGPU's queues and wait for the engine
 * @vgpu: the instance; its lock must not be held
 *
 * On return no engine thread runs anything of @vgpu, and none will
 * commit anything started before: no completion or interrupt from
 * before arrives later.
 */
void mgpu_engine_quiesce(struct mgpu_vgpu *vgpu)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	mutex_lock(&vgpu->lock);
	mgpu_queue_stop_all(vgpu);
	mutex_unlock(&vgpu->lock);
	/* A step waiting for guest memory fails now, not whenever. */
	mgpu_dma_cancel(vgpu, true);
	mgpu_engine_wait_left(e, vgpu);
}

/**
 * mgpu_engine_flush() - wait until nothing of a vGPU runs
 * @vgpu: the instance; its lock must not be held
 *
 * For bus mastering going off: a step waiting for guest memory fails
 * now, and the engine leaves the vGPU; it picks the vGPU again only once
 * bus mastering is back (mgpu_queue_has_work()).  Queues keep their
 * state.
 */
void mgpu_engine_flush(struct mgpu_vgpu *vgpu)
{
	mgpu_dma_cancel(vgpu, true);
	mgpu_engine_wait_left(&vgpu->parent->engine, vgpu);
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
	mgpu_dma_stop(vgpu);
}

/* Free the scratch buffers of the first @n threads. */
static void mgpu_engine_free_scratch(struct mgpu_engine *e, unsigned int n)
{
	while (n--) {
		kvfree(e->threads[n].scratch);
		e->threads[n].scratch = NULL;
	}
}

/**
 * mgpu_engine_init() - set up a parent's engine, without its threads
 * @parent: the parent, before its device and sysfs attributes exist
 * @nr_threads: engine threads, 1 to MGPU_MAX_ENGINES (checked by the
 *	backend)
 *
 * After this every engine field that sysfs reaches (policy, slice,
 * statistics) is valid, so an attribute written the moment the device
 * appears (a udev rule on "add") finds an engine to talk to.
 *
 * Return: 0, -EINVAL for a number of threads out of range, or -ENOMEM.
 */
int mgpu_engine_init(struct mgpu_parent *parent, unsigned int nr_threads)
{
	struct mgpu_engine *e = &parent->engine;
	unsigned int i;

	if (WARN_ON(!nr_threads || nr_threads > MGPU_MAX_ENGINES))
		return -EINVAL;
	e->parent = parent;
	e->nr_threads = nr_threads;
	mutex_init(&e->lock);
	INIT_LIST_HEAD(&e->vgpus);
	init_waitqueue_head(&e->wq);
	init_waitqueue_head(&e->idle_wq);
	atomic_set(&e->kick, 0);
	mgpu_sched_init(e);
	for (i = 0; i < nr_threads; i++) {
		struct mgpu_engine_thread *et = &e->threads[i];

		et->e = e;
		et->index = i;
		et->task = NULL;
		et->scratch = kvmalloc(MGPU_GEMM_SCRATCH_SIZE, GFP_KERNEL);
		if (!et->scratch) {
			mgpu_engine_free_scratch(e, i);
			mutex_destroy(&e->lock);
			return -ENOMEM;
		}
	}
	return 0;
}

/**
 * mgpu_engine_start() - start a parent's engine threads
 * @parent: the parent, its engine initialized and its device named
 *
 * One engine thread is "mgpu/<parent>", as it always was; several are
 * "mgpu<index>/<parent>" (the name is cut to 15 characters: the index
 * comes first so that it stays).
 *
 * Return: 0 or a negative errno (then no thread runs).
 */
int mgpu_engine_start(struct mgpu_parent *parent)
{
	struct mgpu_engine *e = &parent->engine;
	struct task_struct *t;
	unsigned int i;

	for (i = 0; i < e->nr_threads; i++) {
		struct mgpu_engine_thread *et = &e->threads[i];

		if (e->nr_threads == 1)
			t = kthread_run(mgpu_engine_thread, et, "mgpu/%s",
					dev_name(parent->dev));
		else
			t = kthread_run(mgpu_engine_thread, et, "mgpu%u/%s",
					i, dev_name(parent->dev));
		if (IS_ERR(t)) {
			mgpu_engine_stop(parent);
			return PTR_ERR(t);
		}
		et->task = t;
	}
	return 0;
}

/**
 * mgpu_engine_stop() - stop a parent's engine threads
 * @parent: the parent, with no vGPU open
 *
 * Stops every thread that was started, one after the other.  A thread
 * stops between two runs, or in the middle of a run (mgpu_engine_run()
 * checks kthread_should_stop()), and always gives its vGPU back first.
 * The engine's fields stay valid for sysfs until mgpu_engine_fini().
 */
void mgpu_engine_stop(struct mgpu_parent *parent)
{
	struct mgpu_engine *e = &parent->engine;
	unsigned int i;

	WARN_ON(!list_empty(&e->vgpus));
	for (i = 0; i < e->nr_threads; i++) {
		struct mgpu_engine_thread *et = &e->threads[i];

		if (et->task)
			kthread_stop(et->task);
		et->task = NULL;
	}
}

/**
 * mgpu_engine_fini() - free what mgpu_engine_init() set up
 * @parent: the parent, its threads stopped and its device gone
 */
void mgpu_engine_fini(struct mgpu_parent *parent)
{
	mgpu_engine_free_scratch(&parent->engine, parent->engine.nr_threads);
	mutex_destroy(&parent->engine.lock);
}
