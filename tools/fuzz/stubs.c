// SPDX-License-Identifier: GPL-2.0
/*
 * Link stubs for the kernel functions that the compiled kernel/ files
 * call.  Those a fuzzed path must never reach abort(); the few that a
 * target reaches on purpose (DMA, the clock, interrupts) go through the
 * hooks of fuzz.h, and abort() if the target set none.
 */
#include "fuzz.h"

struct mgpu_fuzz_hooks mgpu_fuzz_hooks;

static void mgpu_fuzz_unreachable(const char *fn)
{
	fprintf(stderr, "mgpu fuzz: %s() reached, which no target allows\n",
		fn);
	abort();
}

static void mgpu_fuzz_misuse(const char *fn, const char *what)
{
	fprintf(stderr, "mgpu fuzz: %s(): %s\n", fn, what);
	abort();
}

int vfio_dma_rw(struct vfio_device *vdev, u64 iova, void *data, size_t len,
		bool write)
{
	if (!mgpu_fuzz_hooks.dma_rw)
		mgpu_fuzz_unreachable(__func__);
	return mgpu_fuzz_hooks.dma_rw(iova, data, len, write);
}

/* Userspace may use the FPU anywhere: only the nesting is checked. */
static int mgpu_fuzz_fpu_depth;

void kernel_fpu_begin(void)
{
	if (mgpu_fuzz_fpu_depth++)
		mgpu_fuzz_misuse(__func__, "nested");
}

void kernel_fpu_end(void)
{
	if (--mgpu_fuzz_fpu_depth)
		mgpu_fuzz_misuse(__func__, "without kernel_fpu_begin()");
}

u64 ktime_get_ns(void)
{
	if (!mgpu_fuzz_hooks.ktime_get_ns)
		mgpu_fuzz_unreachable(__func__);
	return mgpu_fuzz_hooks.ktime_get_ns();
}

void mgpu_irq_raise(struct mgpu_vgpu *vgpu, u32 cause)
{
	if (!mgpu_fuzz_hooks.irq_raise)
		mgpu_fuzz_unreachable(__func__);
	mgpu_fuzz_hooks.irq_raise(vgpu, cause);
}

vm_fault_t vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr,
			  unsigned long pfn)
{
	if (!mgpu_fuzz_hooks.insert_pfn)
		mgpu_fuzz_unreachable(__func__);
	return mgpu_fuzz_hooks.insert_pfn(vma, addr, pfn);
}
