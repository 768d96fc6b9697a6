// SPDX-License-Identifier: GPL-2.0
/*
 * BAR2: the vGPU's slice of its parent's VRAM.
 *
 * mmap maps the slice straight into the user (and so into a guest): no
 * trap on any access once a page is mapped (the first access to each page
 * faults it in).  Region read/write reaches the same bytes, for
 * users that cannot map.  Every range is checked here, before the backend
 * sees it: the backend only ever gets offsets inside this instance's slice.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "mgpu_drv.h"

/* Bulk copies are chunked so a huge read or write stays preemptible. */
#define MGPU_VRAM_RW_CHUNK	(1U << 20)

/**
 * mgpu_vram_rw() - access the BAR2 region
 * @vgpu: the instance
 * @pos: offset, checked to lie within the region with @count
 * @buf: user buffer
 * @count: bytes
 * @write: direction
 *
 * Return: @count or a negative errno.
 */
ssize_t mgpu_vram_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		     size_t count, bool write)
{
	struct mgpu_parent *parent = vgpu->parent;
	size_t done, n;
	ssize_t ret;

	for (done = 0; done < count; done += n) {
		n = min_t(size_t, count - done, MGPU_VRAM_RW_CHUNK);
		ret = parent->ops->vram_rw(parent,
					   vgpu->vram_offset + pos + done,
					   buf + done, n, write);
		if (ret < 0)
			return ret;
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

	pos += (vmf->address & PAGE_MASK) - vma->vm_start;
	if (pos >= vgpu->vram_size)
		return VM_FAULT_SIGBUS;
	return vmf_insert_pfn(vma, vmf->address & PAGE_MASK,
			      parent->ops->vram_pfn(parent,
						    vgpu->vram_offset + pos));
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

/**
 * mgpu_vram_kaddr() - kernel address of an instance's VRAM slice
 * @vgpu: the instance
 *
 * Return: the address of offset 0 of the slice, for the engine.
 */
void *mgpu_vram_kaddr(struct mgpu_vgpu *vgpu)
{
	struct mgpu_parent *parent = vgpu->parent;

	return parent->ops->vram_vaddr(parent) + vgpu->vram_offset;
}
