// SPDX-License-Identifier: GPL-2.0
/*
 * Link stubs for the kernel functions that the compiled kernel/ files
 * call.  All are weak: a target that reaches one on purpose (DMA, the
 * clock, interrupts, the engine) defines its own, checking how it is
 * called; a target that links the real kernel/ file gets that.  The
 * rest abort(): no fuzzed path may reach them.
 */
#include "fuzz.h"

#pragma weak vfio_dma_rw
#pragma weak ktime_get_ns
#pragma weak mgpu_irq_raise
#pragma weak vmf_insert_pfn
#pragma weak dev_get_drvdata
#pragma weak kstrtou32
#pragma weak wake_up_var
#pragma weak mdev_register_parent
#pragma weak mdev_unregister_parent
#pragma weak mgpu_engine_init
#pragma weak mgpu_engine_start
#pragma weak mgpu_engine_stop
#pragma weak mgpu_engine_fini
#pragma weak mgpu_engine_kick
#pragma weak mgpu_queue_any_work
#pragma weak mgpu_sched_policy_name
#pragma weak mgpu_sched_set_policy
#pragma weak mgpu_sched_set_slice
#pragma weak mgpu_sched_utilization
#pragma weak mgpu_mdev_driver
#pragma weak mgpu_irq_update
#pragma weak mgpu_vgpu_user_reset
#pragma weak mgpu_irq_set_mask
#pragma weak mgpu_queue_read
#pragma weak mgpu_queue_write
#pragma weak mgpu_cmd_budget_ms
#pragma weak mgpu_dma_rw
#pragma weak mgpu_dma_pending
#pragma weak mgpu_dma_cancel
#pragma weak mgpu_cfg_mem_enabled
#pragma weak mgpu_cfg_bus_master
#pragma weak mgpu_vram_zap
#pragma weak mgpu_irq_msi_pending
#pragma weak mgpu_engine_flush
#pragma weak mgpu_engine_kick

struct mdev_driver mgpu_mdev_driver;
/* engine.c's module parameter: fuzz_cmd sets it from its input */
unsigned int mgpu_gemm_simd;

#define UNREACHABLE()	mgpu_fuzz_unreachable(__func__)

static void mgpu_fuzz_unreachable(const char *fn)
{
	fprintf(stderr, "mgpu fuzz: %s() reached, which this target does not allow\n",
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
	UNREACHABLE();
	return -EFAULT;
}

u64 ktime_get_ns(void)
{
	UNREACHABLE();
	return 0;
}

void mgpu_irq_raise(struct mgpu_vgpu *vgpu, u32 cause)
{
	UNREACHABLE();
}

void mgpu_irq_update(struct mgpu_vgpu *vgpu)
{
	UNREACHABLE();
}

void mgpu_vgpu_user_reset(struct mgpu_vgpu *vgpu)
{
	UNREACHABLE();
}

void mgpu_irq_set_mask(struct mgpu_vgpu *vgpu, u32 mask)
{
	UNREACHABLE();
}

int mgpu_dma_rw(struct mgpu_vgpu *vgpu, u64 iova, void *buf, size_t len,
		bool write)
{
	UNREACHABLE();
	return MGPU_ERR_DMA;
}

bool mgpu_dma_pending(struct mgpu_vgpu *vgpu, struct mgpu_queue *q)
{
	UNREACHABLE();
	return false;
}

void mgpu_dma_cancel(struct mgpu_vgpu *vgpu, bool wait)
{
	UNREACHABLE();
}

vm_fault_t vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr,
			  unsigned long pfn)
{
	UNREACHABLE();
	return VM_FAULT_SIGBUS;
}

void *dev_get_drvdata(const struct device *dev)
{
	UNREACHABLE();
	return NULL;
}

int kstrtou32(const char *s, unsigned int base, u32 *res)
{
	UNREACHABLE();
	return -EINVAL;
}

void wake_up_var(void *var)
{
	UNREACHABLE();
}

int mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			 struct mdev_driver *mdev_driver,
			 struct mdev_type **types, unsigned int nr_types)
{
	UNREACHABLE();
	return -ENODEV;
}

void mdev_unregister_parent(struct mdev_parent *parent)
{
	UNREACHABLE();
}

int mgpu_engine_init(struct mgpu_parent *parent, unsigned int nr_threads)
{
	UNREACHABLE();
	return -ENOMEM;
}

int mgpu_engine_start(struct mgpu_parent *parent)
{
	UNREACHABLE();
	return -ENOMEM;
}

void mgpu_engine_stop(struct mgpu_parent *parent)
{
	UNREACHABLE();
}

void mgpu_engine_fini(struct mgpu_parent *parent)
{
	UNREACHABLE();
}

void mgpu_engine_kick(struct mgpu_parent *parent)
{
	UNREACHABLE();
}

bool mgpu_queue_any_work(struct mgpu_vgpu *vgpu, unsigned int *hint)
{
	UNREACHABLE();
	return false;
}

const char *mgpu_sched_policy_name(struct mgpu_engine *e)
{
	UNREACHABLE();
	return "";
}

int mgpu_sched_set_policy(struct mgpu_engine *e, const char *name)
{
	UNREACHABLE();
	return -EINVAL;
}

int mgpu_sched_set_slice(struct mgpu_engine *e, u32 us)
{
	UNREACHABLE();
	return -EINVAL;
}

u32 mgpu_sched_utilization(struct mgpu_engine *e, u64 now)
{
	UNREACHABLE();
	return 0;
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

/*
 * Weak (see the top): targets that link cfg.c or define their own use
 * those.  The command register is read from the vGPU's config bytes.
 */
bool mgpu_cfg_mem_enabled(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);
	return vgpu->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY;
}

bool mgpu_cfg_bus_master(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);
	return vgpu->cfg[PCI_COMMAND] & PCI_COMMAND_MASTER;
}

void mgpu_vram_zap(struct mgpu_vgpu *vgpu)
{
}

void mgpu_irq_msi_pending(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);
}

void mgpu_engine_flush(struct mgpu_vgpu *vgpu)
{
}
