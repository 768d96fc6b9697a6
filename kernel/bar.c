// SPDX-License-Identifier: GPL-2.0
/*
 * The BAR backend: a parent GPU whose VRAM is a memory BAR of a real PCI
 * device.
 *
 * The mgpu PCI driver binds to such a device only when the administrator
 * says so (driver_override or new_id, pci.c): nothing in the device says
 * that its BAR is plain memory.  The largest memory BAR (a prefetchable
 * one when two are as large) becomes VRAM: its first power-of-two bytes,
 * mapped into the kernel with memremap().  The engine and the VFIO user's
 * reads and writes go through that mapping, a BAR2 mapping of an
 * instance maps the BAR's own page frames, so a guest's accesses reach
 * the device without a trap.  The mapping is write-combining, or
 * write-back when the administrator says the memory may be cached
 * (bar_cache); the BAR2 mappings of instances get the same memory type
 * (x86 PAT: vmf_insert_pfn() looks up what memremap() reserved).
 *
 * BAR memory is always there: every page is "resident", a scrub writes
 * zeroes.  VRAM is scrubbed when the driver binds (the BAR may hold what
 * the previous user of the device left) and again when it unbinds (the
 * next user of the device, the host or another driver, never sees a
 * tenant's data).  Bytes of the BAR beyond VRAM are never touched.
 */
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mgpu_drv.h"

/* Scrub in chunks of this size, with a chance to reschedule between. */
#define MGPU_BAR_SCRUB_CHUNK		(1UL << 20)

static unsigned int bar_queues = 16;
module_param(bar_queues, uint, 0644);
MODULE_PARM_DESC(bar_queues, "Command queues of a PCI device bound as a parent (BAR backend): a power of two from 16 to 256 (default 16), read at bind");

static unsigned int bar_engines = 1;
module_param(bar_engines, uint, 0644);
MODULE_PARM_DESC(bar_engines, "Engine threads of a PCI device bound as a parent (BAR backend): 1 to 8 (default 1), read at bind");

/*
 * Write-combining by default: it is what a BAR behind PCIe allows (the
 * CPU does not snoop it), and x86 PAT grants it whatever the MTRRs say.
 * Write-back only for memory the CPU may cache coherently (ivshmem under
 * KVM: host RAM); where the MTRRs make the range uncached, as firmware
 * does for the PCI hole, PAT turns a write-back request into uncached.
 */
static char *bar_cache = "wc";
module_param(bar_cache, charp, 0644);
MODULE_PARM_DESC(bar_cache, "How the BAR of a PCI device bound as a parent is mapped: wc (write-combining, default) or wb (write-back: only for memory the CPU may cache coherently); read at bind");

/**
 * struct mgpu_bar - a PCI device whose memory BAR is a parent's VRAM
 * @parent: the backend-neutral parent (drvdata of the PCI device)
 * @pdev: the device
 * @bar: the BAR index used for VRAM
 * @phys: CPU physical address of the BAR's start
 * @vaddr: kernel mapping of VRAM, [@phys, @phys + vram_size); NULL once
 *	the device was unbound (no instance is left then)
 * @wb: @vaddr is write-back (else write-combining)
 */
struct mgpu_bar {
	struct mgpu_parent parent;
	struct pci_dev *pdev;
	int bar;
	phys_addr_t phys;
	void *vaddr;
	bool wb;
};

static struct mgpu_bar *to_bar(struct mgpu_parent *parent)
{
	return container_of(parent, struct mgpu_bar, parent);
}

static void *mgpu_bar_vram_kaddr(struct mgpu_parent *parent, u64 offset,
				 bool alloc)
{
	return to_bar(parent)->vaddr + offset;
}

/* The BAR's own page frame: the user's mapping reaches the device. */
static int mgpu_bar_vram_pfn(struct mgpu_parent *parent, u64 offset,
			     unsigned long *pfn)
{
	*pfn = PHYS_PFN(to_bar(parent)->phys + offset);
	return 0;
}

/* Write zeroes to [offset, offset + size): the memory cannot be given back. */
static void mgpu_bar_vram_discard(struct mgpu_parent *parent, u64 offset,
				  u64 size)
{
	void *p = to_bar(parent)->vaddr + offset;
	u64 done, n;

	for (done = 0; done < size; done += n) {
		n = min_t(u64, size - done, MGPU_BAR_SCRUB_CHUNK);
		memset(p + done, 0, n);
		cond_resched();
	}
}

static u64 mgpu_bar_vram_resident(struct mgpu_parent *parent)
{
	return parent->vram_size;
}

/* The last reference is gone; the BAR went back at unbind already. */
static void mgpu_bar_release(struct mgpu_parent *parent)
{
	kfree(to_bar(parent));
}

static const struct mgpu_backend_ops mgpu_bar_ops = {
	.name = "bar",
	.vram_kaddr = mgpu_bar_vram_kaddr,
	.vram_pfn = mgpu_bar_vram_pfn,
	.vram_discard = mgpu_bar_vram_discard,
	.vram_resident = mgpu_bar_vram_resident,
	.release = mgpu_bar_release,
};

/*
 * The BAR to use: the largest assigned memory BAR, a prefetchable one
 * when two are as large.  -1 if the device has none.
 */
static int mgpu_bar_pick(struct pci_dev *pdev)
{
	resource_size_t best_len = 0;
	bool best_pref = false;
	int i, best = -1;

	for (i = 0; i < PCI_STD_NUM_BARS; i++) {
		unsigned long flags = pci_resource_flags(pdev, i);
		resource_size_t len = pci_resource_len(pdev, i);
		bool pref = flags & IORESOURCE_PREFETCH;

		if (!(flags & IORESOURCE_MEM) || (flags & IORESOURCE_UNSET) ||
		    !len)
			continue;
		if (len > best_len || (len == best_len && pref && !best_pref)) {
			best = i;
			best_len = len;
			best_pref = pref;
		}
	}
	return best;
}

/*
 * write-back or write-combining, per the bar_cache parameter.  Called
 * under kernel_param_lock(): a write of the parameter frees the string.
 */
static int mgpu_bar_cache_wb(struct pci_dev *pdev, bool *wb)
{
	if (sysfs_streq(bar_cache, "wb")) {
		*wb = true;
	} else if (sysfs_streq(bar_cache, "wc")) {
		*wb = false;
	} else {
		dev_err(&pdev->dev, "not bound: bar_cache=%s, expected wc or wb\n",
			bar_cache);
		return -EINVAL;
	}
	return 0;
}

/*
 * VRAM for a BAR of @len bytes: the largest power of two that fits, at
 * most MGPU_MAX_VRAM.  0 (with a log line that says why) if too small.
 */
static u64 mgpu_bar_vram_size(struct pci_dev *pdev, int bar, u64 len)
{
	u64 vram;

	if (len < MGPU_MIN_VRAM) {
		dev_err(&pdev->dev, "not bound: BAR%d, its largest memory BAR, is %llu KiB; VRAM needs at least %llu MiB\n",
			bar, len >> 10, MGPU_MIN_VRAM >> 20);
		return 0;
	}
	vram = min_t(u64, rounddown_pow_of_two(len), MGPU_MAX_VRAM);
	if (vram != len)
		dev_info(&pdev->dev, "BAR%d is %llu KiB: VRAM is its first %llu MiB (a power of two, at most %llu GiB); the rest is not used\n",
			 bar, len >> 10, vram >> 20, MGPU_MAX_VRAM >> 30);
	return vram;
}

/**
 * mgpu_bar_probe() - make a PCI device's memory BAR a parent's VRAM
 * @pdev: a device the administrator bound to the mgpu driver, not one
 *	of the virtual bus
 *
 * Return: 0, or a negative errno with a log line that says why the
 * device cannot be a parent.
 */
int mgpu_bar_probe(struct pci_dev *pdev)
{
	struct mgpu_bar *bar;
	unsigned int engines, queues;
	u64 vram;
	bool wb;
	int idx, ret;

	/*
	 * The parameters are writable while the module is loaded: read
	 * each once, under the lock a write of bar_cache frees the old
	 * string under.
	 */
	kernel_param_lock(THIS_MODULE);
	queues = bar_queues;
	engines = bar_engines;
	ret = mgpu_bar_cache_wb(pdev, &wb);
	kernel_param_unlock(THIS_MODULE);
	if (ret)
		return ret;
	if (queues < MGPU_MIN_QUEUES || queues > MGPU_MAX_QUEUES ||
	    !is_power_of_2(queues)) {
		dev_err(&pdev->dev, "not bound: bar_queues=%u, must be a power of two from %u to %u\n",
			queues, MGPU_MIN_QUEUES, MGPU_MAX_QUEUES);
		return -EINVAL;
	}
	if (!engines || engines > MGPU_MAX_ENGINES) {
		dev_err(&pdev->dev, "not bound: bar_engines=%u, must be from 1 to %u\n",
			engines, MGPU_MAX_ENGINES);
		return -EINVAL;
	}
	idx = mgpu_bar_pick(pdev);
	if (idx < 0) {
		dev_err(&pdev->dev, "not bound: the device has no assigned memory BAR to use as VRAM\n");
		return -ENODEV;
	}
	vram = mgpu_bar_vram_size(pdev, idx, pci_resource_len(pdev, idx));
	if (!vram)
		return -ENODEV;

	bar = kzalloc(sizeof(*bar), GFP_KERNEL);
	if (!bar)
		return -ENOMEM;
	bar->pdev = pdev;
	bar->bar = idx;
	bar->phys = pci_resource_start(pdev, idx);
	bar->wb = wb;

	ret = pci_enable_device_mem(pdev);
	if (ret) {
		dev_err(&pdev->dev, "not bound: cannot enable the device (%d)\n",
			ret);
		goto err_free;
	}
	ret = pci_request_region(pdev, idx, "mgpu");
	if (ret) {
		dev_err(&pdev->dev, "not bound: BAR%d is in use by someone else (%d)\n",
			idx, ret);
		goto err_disable;
	}
	bar->vaddr = memremap(bar->phys, vram, wb ? MEMREMAP_WB : MEMREMAP_WC);
	if (!bar->vaddr) {
		dev_err(&pdev->dev, "not bound: BAR%d cannot be mapped as memory (memremap %s refused)\n",
			idx, wb ? "write-back" : "write-combining");
		ret = -ENXIO;
		goto err_release;
	}

	ret = mgpu_parent_init(&bar->parent, &mgpu_bar_ops, vram, queues,
			       engines);
	if (ret)
		goto err_unmap;
	/* Free VRAM is zero: whatever the previous user left goes. */
	mgpu_bar_vram_discard(&bar->parent, 0, vram);

	pci_set_drvdata(pdev, &bar->parent);
	ret = mgpu_parent_register(&bar->parent, &pdev->dev);
	if (ret)
		goto err_put;
	dev_info(&pdev->dev, "parent GPU: BAR%d at %pa, %lluM VRAM (bar_cache=%s), %u queues, %u engine thread(s)\n",
		 idx, &bar->phys, vram >> 20, wb ? "wb" : "wc", queues,
		 engines);
	return 0;

err_put:
	pci_set_drvdata(pdev, NULL);
	memunmap(bar->vaddr);
	pci_release_region(pdev, idx);
	pci_disable_device(pdev);
	/* Frees bar (mgpu_bar_release()). */
	mgpu_parent_put(&bar->parent);
	return ret;

err_unmap:
	memunmap(bar->vaddr);
err_release:
	pci_release_region(pdev, idx);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(bar);
	return ret;
}

/**
 * mgpu_bar_remove() - give a parent's BAR back (unbind)
 * @pdev: a device bound by mgpu_bar_probe()
 *
 * Blocks while an instance is open by a user (mgpu_parent_unregister()).
 * Then no instance is left and nothing can reach VRAM: it is scrubbed,
 * unmapped and released before the device goes to its next user.  The
 * structure lives on until the last reference to the parent goes.
 */
void mgpu_bar_remove(struct pci_dev *pdev)
{
	struct mgpu_bar *bar = to_bar(pci_get_drvdata(pdev));

	mgpu_parent_unregister(&bar->parent);
	mgpu_bar_vram_discard(&bar->parent, 0, bar->parent.vram_size);
	memunmap(bar->vaddr);
	bar->vaddr = NULL;
	pci_release_region(pdev, bar->bar);
	pci_disable_device(pdev);
	dev_info(&pdev->dev, "parent GPU removed: BAR%d scrubbed and released\n",
		 bar->bar);
	mgpu_parent_put(&bar->parent);
}

/**
 * mgpu_bar_parent() - is @parent a BAR backend's?
 * @parent: a parent
 *
 * Return: true for a parent of mgpu_bar_probe().
 */
bool mgpu_bar_parent(struct mgpu_parent *parent)
{
	return parent->ops == &mgpu_bar_ops;
}
