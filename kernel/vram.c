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

		if (IS_ERR_OR_NULL(p))
			return MGPU_ERR_NO_MEMORY;
		memcpy(p, buf + done, n);
	}
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
		if (IS_ERR(p) || (!p && pattern))
			return MGPU_ERR_NO_MEMORY;
		if (p)
			memset32(p, pattern, n / 4);
	}
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
		if (IS_ERR_OR_NULL(d))
			return MGPU_ERR_NO_MEMORY;
		if (IS_ERR_OR_NULL(s))
			memset(d, 0, n);
		else
			memcpy(d, s, n);
	}
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
		if (write)
			left = copy_from_user(p, buf + done, n);
		else if (p)
			left = copy_to_user(buf + done, p, n);
		else
			left = clear_user(buf + done, n);
		if (left)
			return -EFAULT;
		cond_resched();
	}
	return count;
}

static vm_fault_t mgpu_vram_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct mgpu_vgpu *vgpu = vma->vm_private_data;
	struct mgpu_parent *parent = vgpu->parent;
	u64 pos = ((u64)vma->vm_pgoff << PAGE_SHIFT) & MGPU_REGION_MASK;
	unsigned long pfn;
	int ret;

	pos += (vmf->address & PAGE_MASK) - vma->vm_start;
	if (pos >= vgpu->vram_size)
		return VM_FAULT_SIGBUS;
	ret = parent->ops->vram_pfn(parent, vgpu->vram_offset + pos, &pfn);
	if (ret)
		return VM_FAULT_SIGBUS;	/* no host memory: not the OOM killer */
	return vmf_insert_pfn(vma, vmf->address & PAGE_MASK, pfn);
}

static const struct vm_operations_struct mgpu_vram_vm_ops = {
	.fault = mgpu_vram_fault,
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
