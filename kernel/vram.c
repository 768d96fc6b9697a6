// SPDX-License-Identifier: GPL-2.0
/*
 * BAR2: the vGPU's slice of its parent's VRAM, and every access to it.
 *
 * VRAM is backed page by page, on first touch, by the parent's backend
 * (for the software GPU: host pages that exist only once something wrote
 * or mapped them).  A page never touched reads as zero.  So a parent of
 * 64 GiB costs nothing until tenants use it, creating an instance does
 * not touch VRAM, and scrubbing a slice when its user closes the device
 * (mgpu_vram_discard()) costs what the user touched, not the slice size.
 *
 * Everyone goes through this file: the engine and the DMA thread with
 * mgpu_vram_read()/_write()/_fill32()/_copy()/_ptr(), the VFIO user with
 * region reads and writes (mgpu_vram_rw()) and mmap (mgpu_vram_mmap()).
 * Every range is checked against the slice before the backend sees it:
 * the backend only ever gets offsets inside this instance's slice.
 *
 * mmap maps the slice straight into the user (and so into a guest) as raw
 * page frames, one page at a time on first access: no trap afterwards,
 * and no page that get_user_pages() could pin.
 *
 * Dirty tracking (live migration; debugfs vram_dirty for tests): while
 * vgpu->vram_dirty points at a bitmap, every write to the slice sets the
 * bit of each page it touched.  The engine, the DMA thread and region
 * writes mark after they wrote (mgpu_vram_dirty_mark()); the user's
 * mapping is entered read-only, so its first write to a page takes a
 * fault (mgpu_vram_pfn_mkwrite()) that marks the page before the write
 * proceeds.  mgpu_vram_dirty_sync() takes the bits and write-protects
 * those pages again by zapping them, in that order, so a write is either
 * in the bits it returns, visible to a copy of the page made after it
 * returns, or marked again: none is lost.
 */
#include <linux/err.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "mgpu_drv.h"

/*
 * The kernel address of VRAM at slice offset @off, valid up to the end of
 * its page or @want bytes, whichever is less (in *@len).  NULL: the page
 * was never touched and @alloc is false (it reads as zero).  An ERR_PTR:
 * no host memory to back it.
 */
static void *mgpu_vram_chunk(struct mgpu_vgpu *vgpu, u64 off, u64 want,
			     u64 *len, bool alloc)
{
	struct mgpu_parent *parent = vgpu->parent;
	u64 poff = vgpu->vram_offset + off;

	*len = min_t(u64, want, PAGE_SIZE - offset_in_page(poff));
	return parent->ops->vram_kaddr(parent, poff, alloc);
}

/**
 * mgpu_vram_dirty_mark() - record a write to VRAM, after it was made
 * @vgpu: the instance
 * @off: slice offset of the write
 * @len: bytes written; [@off, @off + @len) lies inside the slice
 *
 * Lockless (the engine and the DMA thread call it).  The bitmap stays
 * allocated until the device is closed, when no writer is left.
 */
void mgpu_vram_dirty_mark(struct mgpu_vgpu *vgpu, u64 off, u64 len)
{
	unsigned long *map;
	u64 page, last;

	if (!len)
		return;
	/*
	 * Pairs with the smp_mb() in mgpu_vram_dirty_start(): either this
	 * sees the bitmap, or tracking started after the write was made and
	 * the first full copy of VRAM sees the data.
	 */
	smp_mb();
	map = READ_ONCE(vgpu->vram_dirty);
	if (!map)
		return;
	last = (off + len - 1) >> PAGE_SHIFT;
	for (page = off >> PAGE_SHIFT; page <= last; page++)
		set_bit(page, map);
}

/**
 * mgpu_vram_read() - copy VRAM to a kernel buffer
 * @vgpu: the instance
 * @off: slice offset; [@off, @off + @len) checked by the caller
 * @buf: destination
 * @len: bytes
 */
void mgpu_vram_read(struct mgpu_vgpu *vgpu, u64 off, void *buf, u64 len)
{
	u64 done, n;

	for (done = 0; done < len; done += n) {
		void *p = mgpu_vram_chunk(vgpu, off + done, len - done, &n,
					  false);

		if (IS_ERR_OR_NULL(p))
			memset(buf + done, 0, n);
		else
			memcpy(buf + done, p, n);
	}
}

/**
 * mgpu_vram_write() - copy a kernel buffer to VRAM
 * @vgpu: the instance
 * @off: slice offset; [@off, @off + @len) checked by the caller
 * @buf: source
 * @len: bytes
 *
 * Return: 0, or MGPU_ERR_NO_MEMORY if host memory to back VRAM ran out.
 */
int mgpu_vram_write(struct mgpu_vgpu *vgpu, u64 off, const void *buf,
		    u64 len)
{
	u64 done, n;

	for (done = 0; done < len; done += n) {
		void *p = mgpu_vram_chunk(vgpu, off + done, len - done, &n,
					  true);

		if (IS_ERR_OR_NULL(p)) {
			mgpu_vram_dirty_mark(vgpu, off, done);
			return MGPU_ERR_NO_MEMORY;
		}
		memcpy(p, buf + done, n);
	}
	mgpu_vram_dirty_mark(vgpu, off, len);
	return 0;
}

/**
 * mgpu_vram_fill32() - fill VRAM with a 32-bit pattern
 * @vgpu: the instance
 * @off: slice offset, 4-byte aligned; the range checked by the caller
 * @pattern: the pattern, already in the device's (little endian) order
 * @len: bytes, a multiple of 4
 *
 * Return: 0, or MGPU_ERR_NO_MEMORY.
 */
int mgpu_vram_fill32(struct mgpu_vgpu *vgpu, u64 off, u32 pattern, u64 len)
{
	u64 done, n;

	for (done = 0; done < len; done += n) {
		void *p;

		/* Zeroes into a page never touched: nothing to do. */
		p = mgpu_vram_chunk(vgpu, off + done, len - done, &n,
				    pattern != 0);
		if (IS_ERR(p) || (!p && pattern)) {
			mgpu_vram_dirty_mark(vgpu, off, done);
			return MGPU_ERR_NO_MEMORY;
		}
		if (p)
			memset32(p, pattern, n / 4);
	}
	mgpu_vram_dirty_mark(vgpu, off, len);
	return 0;
}

/**
 * mgpu_vram_copy() - copy within VRAM
 * @vgpu: the instance
 * @dst: destination slice offset
 * @src: source slice offset; the ranges are checked and do not overlap
 * @len: bytes
 *
 * Return: 0, or MGPU_ERR_NO_MEMORY.
 */
int mgpu_vram_copy(struct mgpu_vgpu *vgpu, u64 dst, u64 src, u64 len)
{
	u64 done, n, ns, nd;

	for (done = 0; done < len; done += n) {
		void *s = mgpu_vram_chunk(vgpu, src + done, len - done, &ns,
					  false);
		void *d = mgpu_vram_chunk(vgpu, dst + done, ns, &nd, true);

		n = nd;
		if (IS_ERR_OR_NULL(d)) {
			mgpu_vram_dirty_mark(vgpu, dst, done);
			return MGPU_ERR_NO_MEMORY;
		}
		if (IS_ERR_OR_NULL(s))
			memset(d, 0, n);
		else
			memcpy(d, s, n);
	}
	mgpu_vram_dirty_mark(vgpu, dst, len);
	return 0;
}

/**
 * mgpu_vram_ptr() - the kernel address of a small object in VRAM
 * @vgpu: the instance
 * @off: slice offset of the object, aligned to its size (so that it never
 *	crosses a page): a fence, a polled tail, a command
 * @alloc: back the page if it was never touched (for a write)
 *
 * Return: the address; NULL if the page was never touched and @alloc is
 * false (the object reads as zero); an ERR_PTR if host memory ran out.
 * A caller that writes through it calls mgpu_vram_dirty_mark() after.
 */
void *mgpu_vram_ptr(struct mgpu_vgpu *vgpu, u64 off, bool alloc)
{
	u64 n;

	return mgpu_vram_chunk(vgpu, off, 1, &n, alloc);
}

/**
 * mgpu_vram_discard() - scrub an instance's VRAM (its user closed it)
 * @vgpu: the instance, closed: nothing maps or accesses its VRAM
 *
 * The next user starts from zeroed VRAM; the host memory is given back.
 */
void mgpu_vram_discard(struct mgpu_vgpu *vgpu)
{
	struct mgpu_parent *parent = vgpu->parent;

	parent->ops->vram_discard(parent, vgpu->vram_offset, vgpu->vram_size);
}

/**
 * mgpu_vram_rw() - access the BAR2 region
 * @vgpu: the instance
 * @pos: offset, checked to lie within the region with @count
 * @buf: user buffer
 * @count: bytes
 * @write: direction
 *
 * Return: @count, -EFAULT, or -ENOMEM if host memory to back VRAM ran out.
 */
ssize_t mgpu_vram_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		     size_t count, bool write)
{
	u64 done, n;

	for (done = 0; done < count; done += n) {
		void *p = mgpu_vram_chunk(vgpu, pos + done, count - done, &n,
					  write);
		unsigned long left;

		if (IS_ERR(p) || (write && !p))
			return -ENOMEM;
		if (write) {
			left = copy_from_user(p, buf + done, n);
			/* A partial copy wrote too. */
			mgpu_vram_dirty_mark(vgpu, pos + done, n - left);
		} else if (p) {
			left = copy_to_user(buf + done, p, n);
		} else {
			left = clear_user(buf + done, n);
		}
		if (left)
			return -EFAULT;
		cond_resched();
	}
	return count;
}

/* The slice offset of the page @vmf faulted on; -1 if outside the slice. */
static u64 mgpu_vram_fault_pos(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mgpu_vgpu *vgpu = vma->vm_private_data;
	u64 pos = ((u64)vma->vm_pgoff << PAGE_SHIFT) & MGPU_REGION_MASK;

	pos += (vmf->address & PAGE_MASK) - vma->vm_start;
	return pos < vgpu->vram_size ? pos : U64_MAX;
}

static vm_fault_t mgpu_vram_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mgpu_vgpu *vgpu = vma->vm_private_data;
	struct mgpu_parent *parent = vgpu->parent;
	unsigned long addr = vmf->address & PAGE_MASK;
	u64 pos = mgpu_vram_fault_pos(vmf);
	unsigned long pfn;
	vm_fault_t fault;

	if (pos == U64_MAX)
		return VM_FAULT_SIGBUS;
	/* Under the lock: memory space cannot go off until it is mapped. */
	mutex_lock(&vgpu->lock);
	if (!mgpu_cfg_mem_enabled(vgpu)) {
		fault = VM_FAULT_SIGBUS;	/* as a BAR with memory off */
	} else if (parent->ops->vram_pfn(parent, vgpu->vram_offset + pos,
					 &pfn)) {
		fault = VM_FAULT_SIGBUS;	/* no host memory, no OOM kill */
	} else {
		/*
		 * vm_page_prot is read-only: .pfn_mkwrite turns on the mmap
		 * core's write notification (vma_set_page_prot(), again on
		 * every mprotect()), so the first write to the page comes
		 * back through mgpu_vram_pfn_mkwrite(), tracking or not.  (A
		 * prot of our own would be wrong for a mapping mprotect()ed
		 * write-only: PROT_NONE, a fault without end.)  So a write
		 * fault is not marked here: the write it retries takes the
		 * write-protect fault that marks the page.
		 */
		fault = vmf_insert_pfn(vma, addr, pfn);
	}
	mutex_unlock(&vgpu->lock);
	return fault;
}

/*
 * The first write to a page that was entered read-only: with write
 * notification on, every page is, so a page's first write through a
 * mapping costs a second fault, tracking or not.
 */
static vm_fault_t mgpu_vram_pfn_mkwrite(struct vm_fault *vmf)
{
	struct mgpu_vgpu *vgpu = vmf->vma->vm_private_data;
	u64 pos = mgpu_vram_fault_pos(vmf);
	vm_fault_t fault = 0;

	if (pos == U64_MAX)
		return VM_FAULT_SIGBUS;
	mutex_lock(&vgpu->lock);
	if (mgpu_cfg_mem_enabled(vgpu))
		mgpu_vram_dirty_mark(vgpu, pos, PAGE_SIZE);
	else
		fault = VM_FAULT_SIGBUS;
	mutex_unlock(&vgpu->lock);
	return fault;
}

/*
 * Zap @nr pages of BAR2 from slice page @first: the next access faults.
 * The vGPU's lock is held, or the vGPU is not visible yet (no mapping).
 */
static void mgpu_vram_zap_pages(struct mgpu_vgpu *vgpu, u64 first, u64 nr)
{
	if (vgpu->vram_mapping)
		unmap_mapping_range(vgpu->vram_mapping,
				    ((loff_t)VFIO_PCI_BAR2_REGION_INDEX <<
				     MGPU_REGION_SHIFT) + (first << PAGE_SHIFT),
				    nr << PAGE_SHIFT, 0);
}

/**
 * mgpu_vram_zap() - remove every user mapping of BAR2's pages
 * @vgpu: the instance; its lock held
 *
 * The next access faults again (and finds memory space off, or on).
 * The device file's address space may be shared by every VFIO device
 * (an anonymous inode before 6.10): other instances' mappings of the
 * same offsets fault once more, which costs them a fault, nothing else.
 */
void mgpu_vram_zap(struct mgpu_vgpu *vgpu)
{
	mgpu_vram_zap_pages(vgpu, 0, vgpu->vram_size >> PAGE_SHIFT);
}

/**
 * mgpu_vram_dirty_start() - start recording which VRAM pages are written
 * @vgpu: the instance; its lock held
 *
 * Clears the record if tracking was on already.  Every write that
 * completes before this returns is seen by a copy of VRAM made after it;
 * every later one is recorded.
 *
 * Return: 0 or -ENOMEM.
 */
int mgpu_vram_dirty_start(struct mgpu_vgpu *vgpu)
{
	u64 pages = vgpu->vram_size >> PAGE_SHIFT;

	lockdep_assert_held(&vgpu->lock);

	if (!vgpu->vram_dirty_map) {
		vgpu->vram_dirty_map = kvcalloc(BITS_TO_LONGS(pages),
						sizeof(unsigned long),
						GFP_KERNEL_ACCOUNT);
		if (!vgpu->vram_dirty_map)
			return -ENOMEM;
	}
	bitmap_zero(vgpu->vram_dirty_map, pages);
	WRITE_ONCE(vgpu->vram_dirty, vgpu->vram_dirty_map);
	/* Pairs with the smp_mb() in mgpu_vram_dirty_mark(). */
	smp_mb();
	/* Mapped pages are writable: enter them again, read-only. */
	mgpu_vram_zap_pages(vgpu, 0, pages);
	return 0;
}

/**
 * mgpu_vram_dirty_stop() - stop recording writes
 * @vgpu: the instance; its lock held
 *
 * Pages entered read-only become writable at their next write.
 */
void mgpu_vram_dirty_stop(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);

	WRITE_ONCE(vgpu->vram_dirty, NULL);
}

/**
 * mgpu_vram_dirty_sync() - take the record of written pages
 * @vgpu: the instance; its lock held; tracking on
 * @out: a bitmap of the slice's pages; the pages written since the last
 *	sync (or the start) are set in it, and cleared in the record
 *
 * The pages are write-protected again before this returns, so a copy of
 * them made after it has every write that is not in the next record.
 *
 * Return: the number of pages set in @out.
 */
u64 mgpu_vram_dirty_sync(struct mgpu_vgpu *vgpu, unsigned long *out)
{
	unsigned long *map = vgpu->vram_dirty;
	u64 pages = vgpu->vram_size >> PAGE_SHIFT;
	unsigned long first, last;
	u64 i, nr = 0;

	lockdep_assert_held(&vgpu->lock);

	for (i = 0; i < BITS_TO_LONGS(pages); i++)
		out[i] = xchg(&map[i], 0);
	for_each_set_bitrange(first, last, out, pages) {
		mgpu_vram_zap_pages(vgpu, first, last - first);
		nr += last - first;
	}
	return nr;
}

/**
 * mgpu_vram_dirty_free() - stop tracking and free the record
 * @vgpu: the instance, closed (no writer is left) or being released
 */
void mgpu_vram_dirty_free(struct mgpu_vgpu *vgpu)
{
	WRITE_ONCE(vgpu->vram_dirty, NULL);
	kvfree(vgpu->vram_dirty_map);
	vgpu->vram_dirty_map = NULL;
}

static const struct vm_operations_struct mgpu_vram_vm_ops = {
	.fault = mgpu_vram_fault,
	.pfn_mkwrite = mgpu_vram_pfn_mkwrite,
};

/**
 * mgpu_vram_mmap() - map (part of) BAR2
 * @vgpu: the instance
 * @pos: offset into BAR2, page aligned
 * @vma: the mapping; must be shared and not executable
 *
 * Return: 0 or -EINVAL (with a debug log line) for a mapping that is not
 * shared, executable, or does not fit inside BAR2.
 */
int mgpu_vram_mmap(struct mgpu_vgpu *vgpu, u64 pos,
		   struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start;

	if (!(vma->vm_flags & VM_SHARED)) {
		dev_dbg_ratelimited(vgpu->vdev.dev,
				    "mmap of VRAM rejected: MAP_SHARED required\n");
		return -EINVAL;
	}
	if (vma->vm_flags & VM_EXEC) {
		dev_dbg_ratelimited(vgpu->vdev.dev,
				    "mmap of VRAM rejected: PROT_EXEC not allowed\n");
		return -EINVAL;
	}
	if (pos >= vgpu->vram_size || len > vgpu->vram_size - pos) {
		dev_dbg_ratelimited(vgpu->vdev.dev,
				    "mmap of %#llx bytes at VRAM offset %#llx rejected: VRAM is %#llx bytes\n",
				    len, pos, vgpu->vram_size);
		return -EINVAL;
	}

	/*
	 * VRAM is data: it can never be made executable later either.  It
	 * is mapped as raw page frames (VM_PFNMAP | VM_IO), one page at a
	 * time by mgpu_vram_fault(): get_user_pages() refuses such mappings,
	 * so no reference to a VRAM page (vmsplice into a pipe, O_DIRECT,
	 * an RDMA registration) can outlive the mapping and reach the next
	 * tenant of the slice.  The mapping holds the device file, so the
	 * device cannot be closed (and its VRAM scrubbed and reused) while
	 * any mapping exists.
	 */
	mgpu_compat_vm_flags_clear(vma, VM_MAYEXEC);
	mgpu_compat_vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND |
				 VM_DONTDUMP);
	vma->vm_ops = &mgpu_vram_vm_ops;
	vma->vm_private_data = vgpu;
	mutex_lock(&vgpu->lock);
	vgpu->vram_mapping = vma->vm_file->f_mapping;
	mutex_unlock(&vgpu->lock);
	return 0;
}

/**
 * mgpu_vram_range_ok() - is a range inside a VRAM slice?
 * @vram_size: bytes of the slice
 * @addr: offset of the range in the slice
 * @len: bytes of the range
 *
 * Safe against overflow of @addr + @len.  Pure.
 *
 * Return: true if [@addr, @addr + @len) lies inside [0, @vram_size).
 */
bool mgpu_vram_range_ok(u64 vram_size, u64 addr, u64 len)
{
	return addr <= vram_size && len <= vram_size - addr;
}
