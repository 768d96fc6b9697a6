// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-memory access of a vGPU, in a kernel thread of its own.
 *
 * Reading or writing guest memory (vfio_dma_rw()) can take as long as
 * the VFIO user makes it take: the IOVA may be backed by userfaultfd or
 * FUSE memory that faults slowly, or never.  The parent's engine thread
 * serves every tenant, so it never does such an access itself: it hands
 * the step to the vGPU's DMA thread and goes on with other queues and
 * other tenants, and collects the result once the thread is done.
 *
 * One request is outstanding per vGPU at a time.  A request that has to
 * go (reset, close, the watchdog) is cancelled by sending the thread
 * SIGKILL: page faults on user memory (userfaultfd, FUSE, lock_page) wait
 * killably, so the access fails at once and the thread reports
 * MGPU_ERR_DMA.  A killed VMM's exit therefore never waits on its own
 * frozen memory, and neither does removal of the instance or parent.
 *
 * DMA logging (VFIO_DEVICE_FEATURE_DMA_LOGGING_*, for live migration):
 * while it is on, every guest page the vGPU writes is recorded, so the
 * VMM re-sends it; QEMU needs this (or IOMMU dirty tracking, which an
 * emulated IOMMU has not) to migrate a VM with the device unless told
 * enable-migration=on.  Offered only where the VFIO core can report it
 * (its iova_bitmap: in vfio.ko on 6.1, later only with CONFIG_IOMMUFD_DRIVER,
 * which Debian's 6.12 and 7.2 lack):
 * elsewhere the type1 IOMMU's dirty tracking, which sees every
 * vfio_dma_rw() write, does the job.
 */
#include <linux/iova_bitmap.h>
#include <linux/kthread.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "mgpu_drv.h"

/* Copy @len bytes between guest memory at @iova and @buf. */
int mgpu_dma_rw(struct mgpu_vgpu *vgpu, u64 iova, void *buf, size_t len,
		bool write)
{
	int ret = vfio_dma_rw(&vgpu->vdev, iova, buf, len, write);
	unsigned long pfn;

	/* Logged after the write (a part may be written on failure too). */
	if (write && len && READ_ONCE(vgpu->dma_logging)) {
		for (pfn = iova >> PAGE_SHIFT;
		     pfn <= (iova + len - 1) >> PAGE_SHIFT; pfn++)
			xa_store(&vgpu->dma_dirty, pfn, xa_mk_value(1),
				 GFP_KERNEL);
	}
	return ret ? MGPU_ERR_DMA : MGPU_CMD_DONE;
}

static int mgpu_dma_log_start(struct vfio_device *vdev,
			      struct rb_root_cached *ranges, u32 nnodes,
			      u64 *page_size)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	int ret = 0;

	/*
	 * Every write is logged, whatever the ranges; in host pages.  The
	 * uAPI allows one start until its stop: a second start while one
	 * runs would silently drop what the first logged.
	 */
	mutex_lock(&vgpu->mig_lock);
	if (vgpu->dma_logging) {
		ret = -EBUSY;
	} else {
		*page_size = PAGE_SIZE;
		xa_destroy(&vgpu->dma_dirty);
		WRITE_ONCE(vgpu->dma_logging, true);
	}
	mutex_unlock(&vgpu->mig_lock);
	return ret;
}

static int mgpu_dma_log_stop(struct vfio_device *vdev)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);

	mutex_lock(&vgpu->mig_lock);
	WRITE_ONCE(vgpu->dma_logging, false);
	xa_destroy(&vgpu->dma_dirty);
	mutex_unlock(&vgpu->mig_lock);
	return 0;
}

static int mgpu_dma_log_read_and_clear(struct vfio_device *vdev,
				       unsigned long iova,
				       unsigned long length,
				       struct iova_bitmap *dirty)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	unsigned long pfn;
	void *entry;

	/*
	 * Without a start nothing is logged: an empty report would tell
	 * the VMM that the device wrote nothing, so say it is not on.
	 */
	if (!READ_ONCE(vgpu->dma_logging))
		return -EINVAL;
	if (!length)
		return 0;
	xa_for_each_range(&vgpu->dma_dirty, pfn, entry, iova >> PAGE_SHIFT,
			  (iova + length - 1) >> PAGE_SHIFT) {
		/* Taken first: a write after this is logged again. */
		if (xa_erase(&vgpu->dma_dirty, pfn))
			iova_bitmap_set(dirty, (u64)pfn << PAGE_SHIFT,
					PAGE_SIZE);
	}
	return 0;
}

MGPU_COMPAT_IMPORT_IOMMUFD;

static const struct vfio_log_ops mgpu_dma_log_ops = {
	.log_start = mgpu_dma_log_start,
	.log_stop = mgpu_dma_log_stop,
	.log_read_and_clear = mgpu_dma_log_read_and_clear,
};

static int mgpu_dma_do(struct mgpu_vgpu *vgpu, struct mgpu_dma *d)
{
	struct mgpu_queue *q = d->q;

	if (d->kind == MGPU_DMA_FETCH)
		return mgpu_dma_rw(vgpu, d->iova, &q->cur, MGPU_CMD_SIZE,
				   false);
	return mgpu_cmd_step(d->bounce, vgpu, &q->cur, &q->progress);
}

static bool mgpu_dma_has_request(struct mgpu_dma *d)
{
	bool ret;

	spin_lock(&d->lock);
	ret = d->q && !d->done;
	spin_unlock(&d->lock);
	return ret;
}

static int mgpu_dma_thread(void *data)
{
	struct mgpu_vgpu *vgpu = data;
	struct mgpu_dma *d = &vgpu->dma;

	allow_signal(SIGKILL);
	while (!kthread_should_stop()) {
		bool cancelled;
		int ret;

		if (wait_event_interruptible(d->wq, mgpu_dma_has_request(d) ||
					     kthread_should_stop()))
			flush_signals(current);
		if (!mgpu_dma_has_request(d))
			continue;

		spin_lock(&d->lock);
		cancelled = d->cancel;
		spin_unlock(&d->lock);
		ret = cancelled ? MGPU_ERR_DMA : mgpu_dma_do(vgpu, d);
		/* A cancel that came after the access completed: forget it. */
		flush_signals(current);

		spin_lock(&d->lock);
		/* A migration stop sent it back: not an error, redo it. */
		if (ret == MGPU_ERR_DMA && d->cancel && d->retry)
			ret = MGPU_DMA_RETRY;
		d->result = ret;
		d->done = true;
		spin_unlock(&d->lock);
		wake_up_all(&d->idle_wq);
		mgpu_engine_kick(vgpu->parent);
	}
	return 0;
}

/**
 * mgpu_dma_submit() - hand a guest-memory step to the vGPU's DMA thread
 * @vgpu: the instance (engine thread only)
 * @q: the queue whose step it is; q->cur and q->progress belong to the
 *	DMA thread until the result is collected
 * @kind: MGPU_DMA_FETCH (read the command at @iova into q->cur) or
 *	MGPU_DMA_STEP (one step of q->cur)
 * @iova: for MGPU_DMA_FETCH, where the command is
 *
 * Return: true if submitted; false if another queue's request is still
 * outstanding (try again later).
 */
bool mgpu_dma_submit(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
		     enum mgpu_dma_kind kind, u64 iova)
{
	struct mgpu_dma *d = &vgpu->dma;

	spin_lock(&d->lock);
	if (d->q) {
		spin_unlock(&d->lock);
		return false;
	}
	d->q = q;
	d->kind = kind;
	d->iova = iova;
	d->done = false;
	d->cancel = false;
	d->retry = false;
	spin_unlock(&d->lock);
	wake_up(&d->wq);
	return true;
}

/**
 * mgpu_dma_collect() - take the result of @q's request if it is done
 * @vgpu: the instance (engine thread only)
 * @q: the queue
 * @result: MGPU_CMD_DONE, MGPU_CMD_MORE or MGPU_ERR_*
 *
 * Return: true if the request was done and is now collected.
 */
bool mgpu_dma_collect(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
		      int *result)
{
	struct mgpu_dma *d = &vgpu->dma;
	bool done = false;

	spin_lock(&d->lock);
	if (d->q == q && d->done) {
		*result = d->result;
		d->q = NULL;
		done = true;
	}
	spin_unlock(&d->lock);
	if (done)
		wake_up_all(&d->idle_wq);
	return done;
}

/**
 * mgpu_dma_pending() - is @q's request still with the thread?
 * @vgpu: the instance
 * @q: a queue with a submitted request
 *
 * Return: true while the request is not done.
 */
bool mgpu_dma_pending(struct mgpu_vgpu *vgpu, struct mgpu_queue *q)
{
	struct mgpu_dma *d = &vgpu->dma;
	bool ret;

	spin_lock(&d->lock);
	ret = d->q == q && !d->done;
	spin_unlock(&d->lock);
	return ret;
}

/**
 * mgpu_dma_cancel() - make the outstanding request (if any) fail now
 * @vgpu: the instance
 * @wait: wait until the thread reported the (failed) result
 *
 * The engine's watchdog cancels without waiting; reset and close wait,
 * so that no guest-memory access of the vGPU is in flight on return.
 */
void mgpu_dma_cancel(struct mgpu_vgpu *vgpu, bool wait)
{
	struct mgpu_dma *d = &vgpu->dma;

	spin_lock(&d->lock);
	if (d->q && !d->done && d->thread) {
		d->cancel = true;
		send_sig(SIGKILL, d->thread, 1);
	}
	spin_unlock(&d->lock);
	if (wait)
		wait_event(d->idle_wq, !mgpu_dma_has_request(d));
}

/**
 * mgpu_dma_wait_idle() - wait for the outstanding request to be done
 * @vgpu: the instance
 * @ms: at most this long
 *
 * Return: true if no request is outstanding (or it is done).
 */
bool mgpu_dma_wait_idle(struct mgpu_vgpu *vgpu, unsigned int ms)
{
	return wait_event_timeout(vgpu->dma.idle_wq,
				  !mgpu_dma_has_request(&vgpu->dma),
				  msecs_to_jiffies(ms)) > 0;
}

/**
 * mgpu_dma_cancel_retry() - send the outstanding request back, undone
 * @vgpu: the instance (stopping for migration)
 *
 * As mgpu_dma_cancel(), waiting, but the request's result is
 * MGPU_DMA_RETRY: the engine redoes the step when the device runs again.
 */
void mgpu_dma_cancel_retry(struct mgpu_vgpu *vgpu)
{
	struct mgpu_dma *d = &vgpu->dma;

	spin_lock(&d->lock);
	if (d->q && !d->done)
		d->retry = true;
	spin_unlock(&d->lock);
	mgpu_dma_cancel(vgpu, true);
}

/**
 * mgpu_dma_start() - start the vGPU's DMA thread (open)
 * @vgpu: the instance, being opened
 *
 * Return: 0 or a negative errno.
 */
int mgpu_dma_start(struct mgpu_vgpu *vgpu)
{
	struct mgpu_dma *d = &vgpu->dma;
	struct task_struct *t;

	d->bounce = kmalloc(MGPU_BOUNCE_SIZE, GFP_KERNEL);
	if (!d->bounce)
		return -ENOMEM;
	d->q = NULL;
	d->done = false;
	d->cancel = false;
	t = kthread_run(mgpu_dma_thread, vgpu, "mgpu-dma/%.8s",
			dev_name(vgpu->vdev.dev));
	if (IS_ERR(t)) {
		kfree(d->bounce);
		d->bounce = NULL;
		return PTR_ERR(t);
	}
	spin_lock(&d->lock);
	d->thread = t;
	spin_unlock(&d->lock);
	return 0;
}

/**
 * mgpu_dma_stop() - stop the vGPU's DMA thread (close)
 * @vgpu: the instance, off the engine already
 *
 * Cancels and waits for an outstanding request, and forgets it: nobody
 * will collect it any more.
 */
void mgpu_dma_stop(struct mgpu_vgpu *vgpu)
{
	struct mgpu_dma *d = &vgpu->dma;
	struct task_struct *t;

	mgpu_dma_cancel(vgpu, true);
	spin_lock(&d->lock);
	t = d->thread;
	d->thread = NULL;
	d->q = NULL;
	spin_unlock(&d->lock);
	if (t)
		kthread_stop(t);
	kfree(d->bounce);
	d->bounce = NULL;
	/* Logging ends with the user. */
	WRITE_ONCE(vgpu->dma_logging, false);
	xa_destroy(&vgpu->dma_dirty);
}

/**
 * mgpu_dma_init() - DMA state of a new instance
 * @vgpu: the instance
 */
void mgpu_dma_init(struct mgpu_vgpu *vgpu)
{
	struct mgpu_dma *d = &vgpu->dma;

	xa_init(&vgpu->dma_dirty);
	if (MGPU_COMPAT_HAVE_IOVA_BITMAP)
		vgpu->vdev.log_ops = &mgpu_dma_log_ops;
	spin_lock_init(&d->lock);
	init_waitqueue_head(&d->wq);
	init_waitqueue_head(&d->idle_wq);
}
