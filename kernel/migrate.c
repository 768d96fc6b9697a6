// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration: the VFIO migration v2 state machine and the stream.
 *
 * States: RUNNING, RUNNING_P2P (the same for mgpu: it does no peer to peer
 * DMA), STOP (the engine runs nothing of the vGPU, a step with the DMA
 * thread finished or sent back to be redone), PRE_COPY and PRE_COPY_P2P
 * (running, VRAM dirty tracking on, the saving file streams VRAM),
 * STOP_COPY (stopped; the saving file streams what is left, then the
 * device state), RESUMING (stopped; the resuming file takes a stream),
 * ERROR.  The VFIO core splits every request into single arcs
 * (vfio_mig_get_next_state()); mgpu_mig_step() does one.
 *
 * The stream is a sequence of records, each a struct mgpu_mig_rec and its
 * payload, little endian:
 *   HEADER  struct mgpu_mig_header: stream and device model versions, the
 *	     type, VRAM size, queues, scheduler settings; checked on resume
 *   VRAM    one page at slice offset @arg, its bytes.  In pre-copy every
 *	     page that holds data once, then the pages written since they
 *	     were sent (vram.c's dirty record), until the device stops; in
 *	     stop-copy the rest.  A page never written is not sent: it is
 *	     zero on both sides.  (A BAR backend's pages always exist, so
 *	     all of its VRAM is sent; either side may be either backend.)
 *   DEVICE  struct mgpu_mig_device: config space, registers, interrupt
 *	     state, every queue with the command in flight and how far it
 *	     came (a long GEMM continues on the destination where it was)
 *   END
 *
 * Locks: mig_lock (the state and the files) is taken before a file's lock,
 * which is taken before the vGPU's lock.
 */
#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "mgpu_drv.h"

#define MGPU_MIG_MAGIC		0x0047494d5550474dULL	/* "MGPUMIG" */
#define MGPU_MIG_STREAM_VERSION	1
/* How long STOP waits for a guest-memory step before sending it back. */
#define MGPU_MIG_DMA_WAIT_MS	200

enum mgpu_mig_kind {
	MGPU_MIG_HEADER = 1,
	MGPU_MIG_VRAM = 2,
	MGPU_MIG_DEVICE = 3,
	MGPU_MIG_END = 4,
};

struct mgpu_mig_rec {
	__le32 kind;
	__le32 reserved;
	__le64 arg;
	__le64 len;
};

struct mgpu_mig_header {
	__le64 magic;
	__le32 stream_version;
	__le32 model_version;
	__le32 order;
	__le32 nr_queues;
	__le64 vram_size;
	__le32 page_size;
	__le32 weight;
	__le32 cap_pct;
	__le32 reserved;
};

struct mgpu_mig_queue {
	__le64 ring;
	__le64 completed;
	__le64 progress;
	__le32 ring_size;
	__le32 ctrl;
	__le32 head;
	__le32 tail;
	__le32 error;
	__le32 error_head;
	__le32 tail_addr;
	__le32 cur_valid;
	struct mgpu_cmd cur;
};

struct mgpu_mig_device {
	u8 cfg[MGPU_CONFIG_STD_SIZE];
	__le32 scratch;
	__le32 int_status;
	__le32 int_mask;
	__le32 intx_masked;
	struct mgpu_mig_queue queues[];
};

/**
 * struct mgpu_mig_file - a data transfer session (saving or resuming)
 * @filp: the file handed to the VFIO user
 * @vgpu: the instance
 * @lock: protects everything below
 * @disabled: the session ended (state change, reset, close): I/O fails
 * @precopy: the device is in a PRE_COPY state (saving)
 * @stop_copy: the device is stopped: stream the rest and end (saving)
 * @header_done: the header record was produced (saving)
 * @state_done: the device record was produced (saving)
 * @end_done: the end record was produced (saving)
 * @next_page: the initial pass sends pages from here (saving)
 * @initial_left: pages that hold data and the initial pass has not sent
 * @pending: pages taken from the dirty record and not sent yet (saving),
 *	or pages received (resuming)
 * @buf: the record being read out (saving) or gathered (resuming)
 * @buf_len: its bytes
 * @buf_pos: how far it was read or gathered
 * @rec: the header of the record being gathered (resuming)
 * @have_rec: @rec is complete, its payload is being gathered
 * @header_ok: a valid header came (resuming)
 * @state: the device record, once it came (resuming)
 * @end_seen: the end record came (resuming)
 */
struct mgpu_mig_file {
	struct file *filp;
	struct mgpu_vgpu *vgpu;
	struct mutex lock;
	bool disabled;
	bool precopy;
	bool stop_copy;
	bool header_done;
	bool state_done;
	bool end_done;
	u64 next_page;
	u64 initial_left;
	unsigned long *pending;
	u8 *buf;
	size_t buf_len;
	size_t buf_pos;
	struct mgpu_mig_rec rec;
	bool have_rec;
	bool header_ok;
	struct mgpu_mig_device *state;
	bool end_seen;
};

static u64 mgpu_mig_pages(struct mgpu_vgpu *vgpu)
{
	return vgpu->vram_size >> PAGE_SHIFT;
}

static size_t mgpu_mig_state_size(u32 nr_queues)
{
	return sizeof(struct mgpu_mig_device) +
	       (size_t)nr_queues * sizeof(struct mgpu_mig_queue);
}

/* The largest payload a record of this instance can have. */
static size_t mgpu_mig_buf_size(struct mgpu_vgpu *vgpu)
{
	return sizeof(struct mgpu_mig_rec) +
	       max3(sizeof(struct mgpu_mig_header), (size_t)PAGE_SIZE,
		    mgpu_mig_state_size(vgpu->nr_queues));
}

/* Does the slice page @page hold data (was it ever written)? */
static bool mgpu_mig_page_resident(struct mgpu_vgpu *vgpu, u64 page)
{
	struct mgpu_parent *parent = vgpu->parent;
	void *p = parent->ops->vram_kaddr(parent, vgpu->vram_offset +
					  (page << PAGE_SHIFT), false);

	return !IS_ERR_OR_NULL(p);
}

/* ---- stopping and starting the device ---- */

/* Does the engine still owe a step of @vgpu to the DMA thread? */
static bool mgpu_mig_dma_owed(struct mgpu_vgpu *vgpu)
{
	u32 i;

	for (i = 0; i < vgpu->nr_queues; i++)
		if (READ_ONCE(vgpu->queues[i].dma_busy))
			return true;
	return false;
}

/*
 * STOP: no engine thread runs anything of @vgpu.  A step with the DMA thread is
 * given a while to finish; if guest memory does not come, it is sent
 * back and redone after the device runs again (here or on the
 * destination), without an error.  The engine collects it either way,
 * so that q->cur and q->progress say where every command is.
 */
static void mgpu_mig_stop_device(struct mgpu_vgpu *vgpu)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	lockdep_assert_held(&vgpu->mig_lock);
	WRITE_ONCE(vgpu->mig_stats.stop_ns, ktime_get_ns());
	mutex_lock(&vgpu->lock);
	vgpu->mig_stopped = true;
	mutex_unlock(&vgpu->lock);
	if (!mgpu_dma_wait_idle(vgpu, MGPU_MIG_DMA_WAIT_MS))
		mgpu_dma_cancel_retry(vgpu);
	mgpu_engine_kick(vgpu->parent);
	wait_event(e->idle_wq, !READ_ONCE(vgpu->on_engine) &&
		   !mgpu_mig_dma_owed(vgpu));
}

static void mgpu_mig_start_device(struct mgpu_vgpu *vgpu)
{
	mutex_lock(&vgpu->lock);
	vgpu->mig_stopped = false;
	mutex_unlock(&vgpu->lock);
	mgpu_engine_kick(vgpu->parent);
}

/* ---- the saving side ---- */

static void mgpu_mig_rec_start(struct mgpu_mig_file *mf, u32 kind, u64 arg,
			       u64 len)
{
	struct mgpu_mig_rec *rec = (void *)mf->buf;

	rec->kind = cpu_to_le32(kind);
	rec->reserved = 0;
	rec->arg = cpu_to_le64(arg);
	rec->len = cpu_to_le64(len);
	mf->buf_len = sizeof(*rec) + len;
	mf->buf_pos = 0;
}

static void *mgpu_mig_payload(struct mgpu_mig_file *mf)
{
	return mf->buf + sizeof(struct mgpu_mig_rec);
}

static void mgpu_mig_make_header(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	struct mgpu_engine *e = &vgpu->parent->engine;
	struct mgpu_mig_header *h = mgpu_mig_payload(mf);

	mgpu_mig_rec_start(mf, MGPU_MIG_HEADER, 0, sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_le64(MGPU_MIG_MAGIC);
	h->stream_version = cpu_to_le32(MGPU_MIG_STREAM_VERSION);
	h->model_version = cpu_to_le32(MGPU_VERSION);
	h->order = cpu_to_le32(vgpu->type->order);
	h->nr_queues = cpu_to_le32(vgpu->nr_queues);
	h->vram_size = cpu_to_le64(vgpu->vram_size);
	h->page_size = cpu_to_le32(PAGE_SIZE);
	mutex_lock(&e->lock);
	h->weight = cpu_to_le32(vgpu->weight);
	h->cap_pct = cpu_to_le32(vgpu->cap_pct);
	mutex_unlock(&e->lock);
}

static void mgpu_mig_make_page(struct mgpu_mig_file *mf, u64 page)
{
	mgpu_mig_rec_start(mf, MGPU_MIG_VRAM, page << PAGE_SHIFT, PAGE_SIZE);
	mgpu_vram_read(mf->vgpu, page << PAGE_SHIFT, mgpu_mig_payload(mf),
		       PAGE_SIZE);
}

/* The device record; the device is stopped, the engine away from it. */
static void mgpu_mig_make_state(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	size_t size = mgpu_mig_state_size(vgpu->nr_queues);
	struct mgpu_mig_device *s = mgpu_mig_payload(mf);
	u32 i;

	mgpu_mig_rec_start(mf, MGPU_MIG_DEVICE, 0, size);
	memset(s, 0, size);
	mutex_lock(&vgpu->lock);
	memcpy(s->cfg, vgpu->cfg, sizeof(s->cfg));
	s->scratch = cpu_to_le32(vgpu->scratch);
	s->int_status = cpu_to_le32(vgpu->int_status);
	s->int_mask = cpu_to_le32(vgpu->int_mask);
	s->intx_masked = cpu_to_le32(vgpu->intx_masked);
	for (i = 0; i < vgpu->nr_queues; i++) {
		struct mgpu_queue *q = &vgpu->queues[i];
		struct mgpu_mig_queue *m = &s->queues[i];
		bool cur = q->cur_valid && q->cur_gen == q->gen;

		m->ring = cpu_to_le64(q->ring);
		m->completed = cpu_to_le64(q->completed);
		m->ring_size = cpu_to_le32(q->ring_size);
		m->ctrl = cpu_to_le32(q->ctrl);
		m->head = cpu_to_le32(q->head);
		m->tail = cpu_to_le32(q->tail);
		m->error = cpu_to_le32(q->error);
		m->error_head = cpu_to_le32(q->error_head);
		m->tail_addr = cpu_to_le32(q->tail_addr);
		m->cur_valid = cpu_to_le32(cur);
		if (cur) {
			m->progress = cpu_to_le64(q->progress);
			m->cur = q->cur;
		}
	}
	mutex_unlock(&vgpu->lock);
}

/* Move pages written since the last look from the dirty record. */
static void mgpu_mig_take_dirty(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	unsigned long *tmp;
	u64 pages = mgpu_mig_pages(vgpu);

	if (!READ_ONCE(vgpu->vram_dirty))
		return;
	tmp = bitmap_zalloc(pages, GFP_KERNEL_ACCOUNT);
	if (!tmp)
		return;		/* next time: nothing is lost */
	mutex_lock(&vgpu->lock);
	if (vgpu->vram_dirty)
		mgpu_vram_dirty_sync(vgpu, tmp);
	mutex_unlock(&vgpu->lock);
	bitmap_or(mf->pending, mf->pending, tmp, pages);
	bitmap_free(tmp);
}

/*
 * The next record into mf->buf.  Return: 0; -ENOMSG if nothing is to be
 * sent now (pre-copy); 1 at the end of the stream.
 */
static int mgpu_mig_next_record(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	u64 pages = mgpu_mig_pages(vgpu), page;

	lockdep_assert_held(&mf->lock);

	if (!mf->header_done) {
		mgpu_mig_make_header(mf);
		mf->header_done = true;
		return 0;
	}
	for (; mf->next_page < pages; mf->next_page++) {
		if (!mgpu_mig_page_resident(vgpu, mf->next_page))
			continue;
		/* Sent now: a write from here on is in the dirty record. */
		clear_bit(mf->next_page, mf->pending);
		mgpu_mig_make_page(mf, mf->next_page++);
		if (mf->initial_left)
			mf->initial_left--;
		return 0;
	}
	page = find_first_bit(mf->pending, pages);
	if (page >= pages) {
		mgpu_mig_take_dirty(mf);
		page = find_first_bit(mf->pending, pages);
	}
	if (page < pages) {
		clear_bit(page, mf->pending);
		mgpu_mig_make_page(mf, page);
		return 0;
	}
	if (!mf->stop_copy)
		return -ENOMSG;
	if (!mf->state_done) {
		mgpu_mig_make_state(mf);
		mf->state_done = true;
		return 0;
	}
	if (!mf->end_done) {
		mgpu_mig_rec_start(mf, MGPU_MIG_END, 0, 0);
		mf->end_done = true;
		return 0;
	}
	return 1;
}

/* Count @n bytes read out of a saving session (the file's lock held). */
static void mgpu_mig_count_read(struct mgpu_mig_file *mf, size_t n)
{
	struct mgpu_mig_stats *st = &mf->vgpu->mig_stats;

	lockdep_assert_held(&mf->lock);
	if (mf->precopy) {
		WRITE_ONCE(st->precopy_bytes, st->precopy_bytes + n);
		return;
	}
	WRITE_ONCE(st->stopcopy_bytes, st->stopcopy_bytes + n);
	/* The end record read out: the stream is complete. */
	if (mf->end_done && mf->buf_pos == mf->buf_len && !st->stopcopy_ns)
		WRITE_ONCE(st->stopcopy_ns,
			   max_t(u64, 1, ktime_get_ns() - st->stop_ns));
}

static ssize_t mgpu_mig_read(struct file *filp, char __user *ubuf,
			     size_t len, loff_t *pos)
{
	struct mgpu_mig_file *mf = filp->private_data;
	ssize_t done = 0;
	int ret = 0;

	if (pos)
		return -ESPIPE;
	mutex_lock(&mf->lock);
	if (mf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	while (len) {
		size_t n;

		if (mf->buf_pos == mf->buf_len) {
			ret = mgpu_mig_next_record(mf);
			if (ret)
				break;
		}
		n = min(len, mf->buf_len - mf->buf_pos);
		if (copy_to_user(ubuf + done, mf->buf + mf->buf_pos, n)) {
			ret = -EFAULT;
			break;
		}
		mf->buf_pos += n;
		done += n;
		len -= n;
		mgpu_mig_count_read(mf, n);
		if (fatal_signal_pending(current))
			break;
	}
out:
	mutex_unlock(&mf->lock);
	if (done)
		return done;
	return ret == 1 ? 0 : ret;
}

/*
 * What a saving session still has to stream: the pages of the initial
 * pass (and the rest of the record being read out, and the header if it
 * has not been made) in *initial, the pages written since they were sent
 * (taken from the dirty record or still in it) in *dirty.  Bytes.
 */
static void mgpu_mig_left(struct mgpu_mig_file *mf, u64 *initial, u64 *dirty)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	u64 pages = mgpu_mig_pages(vgpu), rec, n;

	lockdep_assert_held(&mf->lock);
	rec = sizeof(struct mgpu_mig_rec) + PAGE_SIZE;
	*initial = mf->initial_left * rec + (mf->buf_len - mf->buf_pos);
	if (!mf->header_done)
		*initial += sizeof(struct mgpu_mig_rec) +
			    sizeof(struct mgpu_mig_header);
	n = bitmap_weight(mf->pending, pages);
	mutex_lock(&vgpu->lock);
	if (vgpu->vram_dirty)
		n += bitmap_weight(vgpu->vram_dirty, pages);
	mutex_unlock(&vgpu->lock);
	*dirty = n * rec;
}

static long mgpu_mig_precopy_info(struct mgpu_mig_file *mf,
				  void __user *arg)
{
	struct vfio_precopy_info info;
	unsigned long minsz;
	u64 initial, dirty;

	minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	mutex_lock(&mf->lock);
	if (mf->disabled || !mf->precopy) {
		mutex_unlock(&mf->lock);
		return -EINVAL;
	}
	mgpu_mig_left(mf, &initial, &dirty);
	mutex_unlock(&mf->lock);
	info.initial_bytes = initial;
	info.dirty_bytes = dirty;
	info.flags = 0;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long mgpu_mig_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	return mgpu_mig_precopy_info(filp->private_data,
				     (void __user *)arg);
}

/* ---- the resuming side ---- */

/* Check a header against this instance; a readable reason if it fails. */
static int mgpu_mig_check_header(struct mgpu_mig_file *mf,
				 const struct mgpu_mig_header *h)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	u32 model = le32_to_cpu(h->model_version);

	if (le64_to_cpu(h->magic) != MGPU_MIG_MAGIC ||
	    le32_to_cpu(h->stream_version) != MGPU_MIG_STREAM_VERSION) {
		mgpu_vgpu_log(vgpu, KERN_WARNING,
			      "migration refused: not an mgpu stream of version %u\n",
			      MGPU_MIG_STREAM_VERSION);
		return -EINVAL;
	}
	if (model >> 16 != MGPU_VERSION_MAJOR ||
	    (model & 0xffff) > MGPU_VERSION_MINOR) {
		mgpu_vgpu_log(vgpu, KERN_WARNING,
			      "migration refused: device model %u.%u, this host has %u.%u\n",
			      model >> 16, model & 0xffff, MGPU_VERSION_MAJOR,
			      MGPU_VERSION_MINOR);
		return -EINVAL;
	}
	if (le32_to_cpu(h->order) != vgpu->type->order ||
	    le64_to_cpu(h->vram_size) != vgpu->vram_size ||
	    le32_to_cpu(h->nr_queues) != vgpu->nr_queues ||
	    le32_to_cpu(h->page_size) != PAGE_SIZE) {
		mgpu_vgpu_log(vgpu, KERN_WARNING,
			      "migration refused: source is a 1/%u instance with %llu MiB VRAM and %u queues, this is 1/%u with %llu MiB and %u\n",
			      1U << min(le32_to_cpu(h->order), 31U),
			      le64_to_cpu(h->vram_size) >> 20,
			      le32_to_cpu(h->nr_queues), 1U << vgpu->type->order,
			      vgpu->vram_size >> 20, vgpu->nr_queues);
		return -EINVAL;
	}
	return 0;
}

/* A complete record has come: take it. */
static int mgpu_mig_take_record(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	u32 kind = le32_to_cpu(mf->rec.kind);
	u64 arg = le64_to_cpu(mf->rec.arg);
	const struct mgpu_mig_header *h = (const void *)mf->buf;
	void *p = mf->buf;
	int ret;

	switch (kind) {
	case MGPU_MIG_HEADER:
		ret = mgpu_mig_check_header(mf, p);
		if (ret)
			return ret;
		mf->header_ok = true;
		/* The VM's share moves with it; a bad value is ignored. */
		mgpu_sched_set_weight(vgpu, le32_to_cpu(h->weight));
		mgpu_sched_set_cap(vgpu, le32_to_cpu(h->cap_pct));
		return 0;
	case MGPU_MIG_VRAM:
		if (mgpu_vram_write(vgpu, arg, p, PAGE_SIZE))
			return -ENOMEM;
		set_bit(arg >> PAGE_SHIFT, mf->pending);
		return 0;
	case MGPU_MIG_DEVICE:
		memcpy(mf->state, p, mgpu_mig_state_size(vgpu->nr_queues));
		return 0;
	default:	/* MGPU_MIG_END */
		mf->end_seen = true;
		return 0;
	}
}

/* A record header has come: is it one this instance can take? */
static int mgpu_mig_check_rec(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	u32 kind = le32_to_cpu(mf->rec.kind);
	u64 arg = le64_to_cpu(mf->rec.arg), len = le64_to_cpu(mf->rec.len);
	u64 want;

	if (mf->end_seen || (!mf->header_ok && kind != MGPU_MIG_HEADER))
		goto bad;
	switch (kind) {
	case MGPU_MIG_HEADER:
		want = sizeof(struct mgpu_mig_header);
		break;
	case MGPU_MIG_VRAM:
		if (!PAGE_ALIGNED(arg) || arg >= vgpu->vram_size)
			goto bad;
		want = PAGE_SIZE;
		break;
	case MGPU_MIG_DEVICE:
		want = mgpu_mig_state_size(vgpu->nr_queues);
		break;
	case MGPU_MIG_END:
		want = 0;
		break;
	default:
		goto bad;
	}
	if (len != want || mf->rec.reserved)
		goto bad;
	return 0;
bad:
	mgpu_vgpu_log(vgpu, KERN_WARNING,
		      "migration refused: bad record (kind %u, offset %#llx, %llu bytes)\n",
		      kind, arg, len);
	return -EINVAL;
}

static ssize_t mgpu_mig_write(struct file *filp, const char __user *ubuf,
			      size_t len, loff_t *pos)
{
	struct mgpu_mig_file *mf = filp->private_data;
	ssize_t done = 0;
	int ret = 0;

	if (pos)
		return -ESPIPE;
	mutex_lock(&mf->lock);
	if (mf->disabled) {
		ret = -ENODEV;
		goto out;
	}
	while (len && !ret) {
		u8 *dst = mf->have_rec ? mf->buf : (u8 *)&mf->rec;
		size_t want = mf->have_rec ? le64_to_cpu(mf->rec.len) :
			      sizeof(mf->rec);
		size_t n = min(len, want - mf->buf_pos);

		if (copy_from_user(dst + mf->buf_pos, ubuf + done, n)) {
			ret = -EFAULT;
			break;
		}
		mf->buf_pos += n;
		done += n;
		len -= n;
		WRITE_ONCE(mf->vgpu->mig_stats.resumed_bytes,
			   mf->vgpu->mig_stats.resumed_bytes + n);
		if (mf->buf_pos < want)
			break;
		mf->buf_pos = 0;
		if (!mf->have_rec) {
			ret = mgpu_mig_check_rec(mf);
			mf->have_rec = !ret;
			if (ret || le64_to_cpu(mf->rec.len))
				continue;
		}
		mf->have_rec = false;
		ret = mgpu_mig_take_record(mf);
	}
	if (ret)
		mf->disabled = true;	/* a broken stream stays broken */
out:
	mutex_unlock(&mf->lock);
	return ret ? ret : done;
}

/* Is a queue of the stream one the engine can run without surprises? */
static bool mgpu_mig_queue_ok(struct mgpu_vgpu *vgpu,
			      const struct mgpu_mig_queue *m)
{
	u32 size = le32_to_cpu(m->ring_size), ctrl = le32_to_cpu(m->ctrl);
	u32 error = le32_to_cpu(m->error);
	u64 ring = le64_to_cpu(m->ring);
	bool runs = (ctrl & MGPU_QCTRL_ENABLE) && error == MGPU_ERR_NONE;

	if ((ctrl & ~MGPU_QCTRL_KNOWN) || error > MGPU_ERR_LAST)
		return false;
	/* A queue that does not run is never looked at by the engine. */
	if (!runs)
		return !le32_to_cpu(m->cur_valid);
	if (!mgpu_queue_config_ok(vgpu, ring, size, ctrl,
				  le32_to_cpu(m->tail_addr)) ||
	    le32_to_cpu(m->head) >= size || le32_to_cpu(m->tail) >= size)
		return false;
	if (!le32_to_cpu(m->cur_valid))
		return true;
	return !mgpu_cmd_validate(vgpu->vram_size, &m->cur) &&
	       mgpu_cmd_progress_ok(&m->cur, le64_to_cpu(m->progress));
}

/* RESUMING -> STOP: the stream is complete: make it the device's state. */
static int mgpu_mig_load(struct mgpu_mig_file *mf)
{
	struct mgpu_vgpu *vgpu = mf->vgpu;
	struct mgpu_mig_device *s = mf->state;
	u64 pages = mgpu_mig_pages(vgpu), page;
	u32 i;

	lockdep_assert_held(&mf->lock);

	if (mf->disabled || !mf->header_ok || !mf->end_seen ||
	    mf->have_rec || mf->buf_pos) {
		mgpu_vgpu_log(vgpu, KERN_WARNING,
			      "migration refused: the stream is incomplete or broken\n");
		return -EINVAL;
	}
	for (i = 0; i < vgpu->nr_queues; i++) {
		if (!mgpu_mig_queue_ok(vgpu, &s->queues[i])) {
			mgpu_vgpu_log(vgpu, KERN_WARNING,
				      "migration refused: queue %u of the stream is inconsistent\n",
				      i);
			return -EINVAL;
		}
	}
	/* What the source never wrote is zero here too. */
	for (page = 0; page < pages; page++) {
		if (!test_bit(page, mf->pending) &&
		    mgpu_mig_page_resident(vgpu, page))
			mgpu_vram_fill32(vgpu, page << PAGE_SHIFT, 0, PAGE_SIZE);
		cond_resched();
	}

	mutex_lock(&vgpu->lock);
	mgpu_cfg_restore(vgpu, s->cfg);
	vgpu->scratch = le32_to_cpu(s->scratch);
	vgpu->int_status = le32_to_cpu(s->int_status) & MGPU_INT_KNOWN;
	vgpu->int_mask = le32_to_cpu(s->int_mask) & MGPU_INT_KNOWN;
	vgpu->intx_masked = !!le32_to_cpu(s->intx_masked);
	for (i = 0; i < vgpu->nr_queues; i++) {
		struct mgpu_queue *q = &vgpu->queues[i];
		struct mgpu_mig_queue *m = &s->queues[i];

		q->gen++;
		q->ring = le64_to_cpu(m->ring);
		q->ring_size = le32_to_cpu(m->ring_size);
		q->ctrl = le32_to_cpu(m->ctrl);
		q->head = le32_to_cpu(m->head);
		q->tail = le32_to_cpu(m->tail);
		q->error = le32_to_cpu(m->error);
		q->error_head = le32_to_cpu(m->error_head);
		q->tail_addr = le32_to_cpu(m->tail_addr);
		q->completed = le64_to_cpu(m->completed);
		/* The engine is away (STOP): its fields are ours. */
		q->cur_valid = le32_to_cpu(m->cur_valid);
		q->cur = m->cur;
		q->cur_gen = q->gen;
		q->progress = le64_to_cpu(m->progress);
		q->cur_ns = 0;
	}
	mgpu_irq_update(vgpu);
	mutex_unlock(&vgpu->lock);
	return 0;
}

/* ---- sessions ---- */

static int mgpu_mig_release(struct inode *inode, struct file *filp)
{
	struct mgpu_mig_file *mf = filp->private_data;

	bitmap_free(mf->pending);
	kvfree(mf->buf);
	kvfree(mf->state);
	mutex_destroy(&mf->lock);
	kfree(mf);
	return 0;
}

static const struct file_operations mgpu_mig_fops = {
	.owner = THIS_MODULE,
	.read = mgpu_mig_read,
	.write = mgpu_mig_write,
	.unlocked_ioctl = mgpu_mig_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = mgpu_mig_release,
};

static struct mgpu_mig_file *mgpu_mig_file_new(struct mgpu_vgpu *vgpu,
					       bool resuming)
{
	struct mgpu_mig_file *mf;
	u64 page;
	int ret = -ENOMEM;

	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&mf->lock);
	mf->vgpu = vgpu;
	mf->pending = bitmap_zalloc(mgpu_mig_pages(vgpu), GFP_KERNEL_ACCOUNT);
	mf->buf = kvmalloc(mgpu_mig_buf_size(vgpu), GFP_KERNEL_ACCOUNT);
	if (resuming)
		mf->state = kvzalloc(mgpu_mig_state_size(vgpu->nr_queues),
				     GFP_KERNEL_ACCOUNT);
	if (!mf->pending || !mf->buf || (resuming && !mf->state))
		goto err;
	if (!resuming) {
		for (page = 0; page < mgpu_mig_pages(vgpu); page++)
			mf->initial_left += mgpu_mig_page_resident(vgpu, page);
	}
	mf->filp = anon_inode_getfile("mgpu_mig", &mgpu_mig_fops, mf,
				      resuming ? O_WRONLY : O_RDONLY);
	if (IS_ERR(mf->filp)) {
		ret = PTR_ERR(mf->filp);
		goto err;
	}
	stream_open(mf->filp->f_inode, mf->filp);
	return mf;
err:
	bitmap_free(mf->pending);
	kvfree(mf->buf);
	kvfree(mf->state);
	mutex_destroy(&mf->lock);
	kfree(mf);
	return ERR_PTR(ret);
}

/* End a session: its file fails from now on; drop our reference. */
static void mgpu_mig_file_end(struct mgpu_mig_file **mfp)
{
	struct mgpu_mig_file *mf = *mfp;

	if (!mf)
		return;
	mutex_lock(&mf->lock);
	mf->disabled = true;
	mutex_unlock(&mf->lock);
	fput(mf->filp);
	*mfp = NULL;
}

static void mgpu_mig_end_sessions(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->mig_lock);

	mgpu_mig_file_end(&vgpu->mig_saving);
	mgpu_mig_file_end(&vgpu->mig_resuming);
	mutex_lock(&vgpu->lock);
	mgpu_vram_dirty_stop(vgpu);
	mutex_unlock(&vgpu->lock);
}

/* Start saving: returns the file with a reference for the user. */
static struct file *mgpu_mig_save(struct mgpu_vgpu *vgpu, bool precopy)
{
	struct mgpu_mig_file *mf = mgpu_mig_file_new(vgpu, false);
	int ret = 0;

	if (IS_ERR(mf))
		return ERR_CAST(mf);
	/* A new session; a stopped device keeps the time it stopped. */
	WRITE_ONCE(vgpu->mig_stats.precopy_bytes, 0);
	WRITE_ONCE(vgpu->mig_stats.stopcopy_bytes, 0);
	WRITE_ONCE(vgpu->mig_stats.stopcopy_ns, 0);
	WRITE_ONCE(vgpu->mig_stats.resumed_bytes, 0);
	if (precopy) {
		mutex_lock(&vgpu->lock);
		ret = mgpu_vram_dirty_start(vgpu);
		mutex_unlock(&vgpu->lock);
		mf->precopy = true;
	} else {
		mf->stop_copy = true;
	}
	if (ret) {
		fput(mf->filp);
		return ERR_PTR(ret);
	}
	get_file(mf->filp);
	vgpu->mig_saving = mf;
	return mf->filp;
}

/* One arc of the state machine.  Returns a new file, NULL, or ERR_PTR. */
static struct file *mgpu_mig_step(struct mgpu_vgpu *vgpu,
				  enum vfio_device_mig_state cur,
				  enum vfio_device_mig_state next)
{
	struct mgpu_mig_file *mf;
	struct file *filp;
	int ret;

	lockdep_assert_held(&vgpu->mig_lock);

	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     next == VFIO_DEVICE_STATE_PRE_COPY_P2P) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     next == VFIO_DEVICE_STATE_PRE_COPY) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     next == VFIO_DEVICE_STATE_RUNNING))
		return NULL;	/* mgpu does no peer to peer DMA */
	if (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	    next == VFIO_DEVICE_STATE_STOP) {
		mgpu_mig_stop_device(vgpu);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_RUNNING_P2P) {
		mgpu_mig_start_device(vgpu);
		return NULL;
	}
	if ((cur == VFIO_DEVICE_STATE_RUNNING &&
	     next == VFIO_DEVICE_STATE_PRE_COPY) ||
	    (cur == VFIO_DEVICE_STATE_RUNNING_P2P &&
	     next == VFIO_DEVICE_STATE_PRE_COPY_P2P))
		return mgpu_mig_save(vgpu, true);
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_STOP_COPY)
		return mgpu_mig_save(vgpu, false);
	if (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	    next == VFIO_DEVICE_STATE_STOP_COPY) {
		mgpu_mig_stop_device(vgpu);
		mf = vgpu->mig_saving;
		mutex_lock(&mf->lock);
		mf->precopy = false;
		mf->stop_copy = true;
		mutex_unlock(&mf->lock);
		return NULL;
	}
	if ((cur == VFIO_DEVICE_STATE_PRE_COPY &&
	     next == VFIO_DEVICE_STATE_RUNNING) ||
	    (cur == VFIO_DEVICE_STATE_PRE_COPY_P2P &&
	     next == VFIO_DEVICE_STATE_RUNNING_P2P) ||
	    (cur == VFIO_DEVICE_STATE_STOP_COPY &&
	     next == VFIO_DEVICE_STATE_STOP)) {
		mgpu_mig_end_sessions(vgpu);
		return NULL;
	}
	if (cur == VFIO_DEVICE_STATE_STOP &&
	    next == VFIO_DEVICE_STATE_RESUMING) {
		mf = mgpu_mig_file_new(vgpu, true);
		if (IS_ERR(mf))
			return ERR_CAST(mf);
		WRITE_ONCE(vgpu->mig_stats.resumed_bytes, 0);
		get_file(mf->filp);
		vgpu->mig_resuming = mf;
		return mf->filp;
	}
	if (cur == VFIO_DEVICE_STATE_RESUMING &&
	    next == VFIO_DEVICE_STATE_STOP) {
		mf = vgpu->mig_resuming;
		mutex_lock(&mf->lock);
		ret = mgpu_mig_load(mf);
		mutex_unlock(&mf->lock);
		mgpu_mig_end_sessions(vgpu);
		if (ret) {
			/* Half a state is no state: reset to leave ERROR. */
			vgpu->mig_state = VFIO_DEVICE_STATE_ERROR;
			return ERR_PTR(ret);
		}
		return NULL;
	}
	filp = ERR_PTR(-EINVAL);	/* the core never asks for another arc */
	WARN_ON_ONCE(1);
	return filp;
}

static struct file *
mgpu_mig_set_state(struct vfio_device *vdev,
		   enum vfio_device_mig_state new_state)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	enum vfio_device_mig_state next;
	struct file *res = NULL;
	int ret;

	mutex_lock(&vgpu->mig_lock);
	/* Out of ERROR only by a reset (the core WARNs on ERROR arcs). */
	if (vgpu->mig_state == VFIO_DEVICE_STATE_ERROR)
		res = ERR_PTR(-EINVAL);
	while (!res && vgpu->mig_state != new_state) {
		ret = vfio_mig_get_next_state(vdev, vgpu->mig_state, new_state,
					      &next);
		if (ret) {
			res = ERR_PTR(ret);
			break;
		}
		res = mgpu_mig_step(vgpu, vgpu->mig_state, next);
		if (IS_ERR(res))
			break;	/* mig_state: where it failed, or ERROR */
		vgpu->mig_state = next;
		if (WARN_ON(res && new_state != vgpu->mig_state)) {
			fput(res);
			res = ERR_PTR(-EINVAL);
			break;
		}
	}
	mutex_unlock(&vgpu->mig_lock);
	return res;
}

static int mgpu_mig_get_state(struct vfio_device *vdev,
			      enum vfio_device_mig_state *state)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);

	mutex_lock(&vgpu->mig_lock);
	*state = vgpu->mig_state;
	mutex_unlock(&vgpu->mig_lock);
	return 0;
}

/*
 * VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: the bytes a stop-copy needs to
 * complete from here.  Without a saving session, every page that holds
 * data and the device state.  During pre-copy (or a stop-copy under way)
 * only what the session has not sent: the pages left of the initial
 * pass, the pages written since they were sent, and the device state.
 * QEMU adds this to the pre-copy figures to decide when the rest fits in
 * its downtime limit; the whole VRAM here at every step would never fit
 * on a slow link (or a large slice on a fast one), and the migration
 * would never converge.
 */
static int __maybe_unused mgpu_mig_get_data_size(struct vfio_device *vdev,
						 unsigned long *size)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	u64 pages = mgpu_mig_pages(vgpu), page, n = 0, initial, dirty;
	u64 tail = mgpu_mig_buf_size(vgpu) + 3 * sizeof(struct mgpu_mig_rec);
	struct mgpu_mig_file *mf;

	mutex_lock(&vgpu->mig_lock);
	mf = vgpu->mig_saving;
	if (mf) {
		mutex_lock(&mf->lock);
		if (!mf->disabled) {
			mgpu_mig_left(mf, &initial, &dirty);
			mutex_unlock(&mf->lock);
			mutex_unlock(&vgpu->mig_lock);
			*size = initial + dirty + tail;
			return 0;
		}
		mutex_unlock(&mf->lock);
	}
	mutex_unlock(&vgpu->mig_lock);

	for (page = 0; page < pages; page++)
		n += mgpu_mig_page_resident(vgpu, page);
	*size = n * (sizeof(struct mgpu_mig_rec) + PAGE_SIZE) + tail;
	return 0;
}

static const struct vfio_migration_ops mgpu_mig_ops = {
	.migration_set_state = mgpu_mig_set_state,
	.migration_get_state = mgpu_mig_get_state,
	MGPU_COMPAT_MIG_DATA_SIZE_OP
};

/**
 * mgpu_mig_init() - an instance can migrate
 * @vgpu: the instance, before it is registered with the VFIO core
 */
void mgpu_mig_init(struct mgpu_vgpu *vgpu)
{
	mutex_init(&vgpu->mig_lock);
	vgpu->mig_state = VFIO_DEVICE_STATE_RUNNING;
	vgpu->vdev.migration_flags = MGPU_COMPAT_MIG_FLAGS;
	vgpu->vdev.mig_ops = &mgpu_mig_ops;
}

/**
 * mgpu_mig_reset() - back to RUNNING, every session ended
 * @vgpu: the instance: opened, reset by its user, or closing
 *
 * Neither the vGPU's lock nor its engine's may be held.
 */
void mgpu_mig_reset(struct mgpu_vgpu *vgpu)
{
	mutex_lock(&vgpu->mig_lock);
	mgpu_mig_end_sessions(vgpu);
	vgpu->mig_state = VFIO_DEVICE_STATE_RUNNING;
	mutex_unlock(&vgpu->mig_lock);
	mgpu_mig_start_device(vgpu);
}

/** mgpu_mig_fini() - the instance goes */
void mgpu_mig_fini(struct mgpu_vgpu *vgpu)
{
	mutex_destroy(&vgpu->mig_lock);
}
