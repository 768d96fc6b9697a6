// SPDX-License-Identifier: GPL-2.0
/*
 * The software GPU backend: a parent GPU whose VRAM is host memory.
 *
 * Every host can instantiate one, so mgpu is usable and testable without
 * partitionable hardware.  VRAM is host pages, allocated zeroed on first
 * touch (a write by the engine or the VFIO user, or a fault of a BAR2
 * mapping) and freed when the instance that owns them is scrubbed, so a
 * software GPU costs host memory only for what its tenants touch.
 */
#include <linux/device.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "mgpu_drv.h"

/**
 * struct mgpu_swgpu - a software GPU
 * @parent: the backend-neutral parent (drvdata of its PCI function)
 * @pages: the host pages backing VRAM, indexed by VRAM page number; a
 *	page is allocated (zeroed) on first touch and freed when the slice
 *	it belongs to is scrubbed
 * @nr_pages: pages in @pages (statistics)
 * @id: its number, which is also its slot on the virtual PCI bus: the
 *	function DDDD:00:<id>.0 (vbus.c); it was named "swgpu<id>" before
 *	software GPUs were PCI functions
 * @node: entry in mgpu_swgpus, under mgpu_swgpus_lock
 */
struct mgpu_swgpu {
	struct mgpu_parent parent;
	struct xarray pages;
	atomic_long_t nr_pages;
	int id;
	struct list_head node;
};

/* Protects mgpu_swgpus and mgpu_swgpu_ida. */
static DEFINE_MUTEX(mgpu_swgpus_lock);
static LIST_HEAD(mgpu_swgpus);
static DEFINE_IDA(mgpu_swgpu_ida);

static struct mgpu_swgpu *to_swgpu(struct mgpu_parent *parent)
{
	return container_of(parent, struct mgpu_swgpu, parent);
}

/*
 * The page backing VRAM at @offset; allocated if absent and @alloc.
 * Return: the page, NULL (absent, !@alloc), or ERR_PTR(-ENOMEM).
 */
static struct page *mgpu_swgpu_page(struct mgpu_swgpu *sw, u64 offset,
				    bool alloc)
{
	unsigned long index = offset >> PAGE_SHIFT;
	struct page *page, *old;

	page = xa_load(&sw->pages, index);
	if (page || !alloc)
		return page;

	page = alloc_page(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
	if (!page)
		return ERR_PTR(-ENOMEM);
	old = xa_cmpxchg(&sw->pages, index, NULL, page, GFP_KERNEL);
	if (old) {
		/* Lost a race with another toucher, or xa_err(). */
		__free_page(page);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
	}
	atomic_long_inc(&sw->nr_pages);
	return page;
}

static void *mgpu_swgpu_vram_kaddr(struct mgpu_parent *parent, u64 offset,
				   bool alloc)
{
	struct page *page = mgpu_swgpu_page(to_swgpu(parent), offset, alloc);

	if (IS_ERR_OR_NULL(page))
		return page;
	return page_address(page) + offset_in_page(offset);
}

static int mgpu_swgpu_vram_pfn(struct mgpu_parent *parent, u64 offset,
			       unsigned long *pfn)
{
	struct page *page = mgpu_swgpu_page(to_swgpu(parent), offset, true);

	if (IS_ERR(page))
		return PTR_ERR(page);
	*pfn = page_to_pfn(page);
	return 0;
}

/* Give back the pages of [offset, offset + size): they read as zero. */
static void mgpu_swgpu_vram_discard(struct mgpu_parent *parent, u64 offset,
				    u64 size)
{
	struct mgpu_swgpu *sw = to_swgpu(parent);
	unsigned long index, first = offset >> PAGE_SHIFT;
	unsigned long last = (offset + size - 1) >> PAGE_SHIFT;
	struct page *page;

	xa_for_each_range(&sw->pages, index, page, first, last) {
		xa_erase(&sw->pages, index);
		__free_page(page);
		atomic_long_dec(&sw->nr_pages);
		cond_resched();
	}
}

static u64 mgpu_swgpu_vram_resident(struct mgpu_parent *parent)
{
	return (u64)atomic_long_read(&to_swgpu(parent)->nr_pages) << PAGE_SHIFT;
}

/* The last reference to the parent is gone: nobody can reach VRAM. */
static void mgpu_swgpu_release(struct mgpu_parent *parent)
{
	struct mgpu_swgpu *sw = to_swgpu(parent);

	mgpu_swgpu_vram_discard(parent, 0, parent->vram_size);
	xa_destroy(&sw->pages);
	kfree(sw);
}

static const struct mgpu_backend_ops mgpu_swgpu_ops = {
	.name = "software",
	.vram_kaddr = mgpu_swgpu_vram_kaddr,
	.vram_pfn = mgpu_swgpu_vram_pfn,
	.vram_discard = mgpu_swgpu_vram_discard,
	.vram_resident = mgpu_swgpu_vram_resident,
	.release = mgpu_swgpu_release,
};

/*
 * Teardown in the mirror order of mgpu_swgpu_add(): the PCI function
 * first (its driver's removal takes the instances and types along), then
 * the slot, then our reference.  The structure itself goes with the last
 * reference (mgpu_swgpu_release()).
 */
static void mgpu_swgpu_destroy(struct mgpu_swgpu *sw)
{
	mgpu_vbus_unplug(sw->id);
	ida_free(&mgpu_swgpu_ida, sw->id);
	mgpu_parent_put(&sw->parent);
}

/**
 * mgpu_swgpu_add() - create a software GPU
 * @vram_size: bytes of VRAM: a power of two in [16M, 64G]
 * @nr_queues: command queues: a power of two in [16, 256]
 * @nr_engines: engine threads: 1 to MGPU_MAX_ENGINES
 *
 * The software GPU becomes the next free PCI function of the virtual
 * bus, and the mgpu PCI driver registers it as an mdev parent.
 *
 * Return: 0 or a negative errno (-EINVAL for bad sizes or a bad number
 * of engines, with a log line that says which; -ENOSPC when every slot of the bus is taken).
 */
int mgpu_swgpu_add(u64 vram_size, u32 nr_queues, unsigned int nr_engines)
{
	struct mgpu_swgpu *sw;
	int ret;

	if (vram_size < MGPU_MIN_VRAM || vram_size > MGPU_MAX_VRAM ||
	    !is_power_of_2(vram_size)) {
		pr_warn("software GPU: vram=%llu rejected: must be a power of two from 16M to 64G\n",
			vram_size);
		return -EINVAL;
	}
	if (nr_queues < MGPU_MIN_QUEUES || nr_queues > MGPU_MAX_QUEUES ||
	    !is_power_of_2(nr_queues)) {
		pr_warn("software GPU: queues=%u rejected: must be a power of two from %u to %u\n",
			nr_queues, MGPU_MIN_QUEUES, MGPU_MAX_QUEUES);
		return -EINVAL;
	}
	if (!nr_engines || nr_engines > MGPU_MAX_ENGINES) {
		pr_warn("software GPU: engines=%u rejected: must be from 1 to %u\n",
			nr_engines, MGPU_MAX_ENGINES);
		return -EINVAL;
	}

	sw = kzalloc(sizeof(*sw), GFP_KERNEL);
	if (!sw)
		return -ENOMEM;
	/* VRAM is backed on first touch: nothing to allocate up front. */
	xa_init(&sw->pages);
	/* From here on the parent's reference owns sw (and frees it). */
	ret = mgpu_parent_init(&sw->parent, &mgpu_swgpu_ops, vram_size,
			       nr_queues, nr_engines);
	if (ret)
		goto err_free;

	mutex_lock(&mgpu_swgpus_lock);
	ret = ida_alloc_max(&mgpu_swgpu_ida, MGPU_VBUS_SLOTS - 1, GFP_KERNEL);
	if (ret < 0) {
		if (ret == -ENOSPC)
			pr_warn("software GPU: all %u slots of the PCI bus are taken\n",
				MGPU_VBUS_SLOTS);
		goto err_unlock;
	}
	sw->id = ret;

	ret = mgpu_vbus_plug(sw->id, MGPU_PCI_SWGPU_DEVICE_ID, &sw->parent);
	if (ret)
		goto err_ida;

	list_add_tail(&sw->node, &mgpu_swgpus);
	pr_info("software GPU %04x:00:%02x.0: %lluM VRAM, %u queues, %u engine thread(s)\n",
		mgpu_vbus_domain(), sw->id, vram_size >> 20, nr_queues,
		nr_engines);
	mutex_unlock(&mgpu_swgpus_lock);
	return 0;

err_ida:
	ida_free(&mgpu_swgpu_ida, sw->id);
err_unlock:
	mutex_unlock(&mgpu_swgpus_lock);
	mgpu_parent_put(&sw->parent);
	return ret;

err_free:
	kfree(sw);
	return ret;
}

/*
 * Does @name name @sw?  Its PCI address DDDD:00:SS.0 (the parent's name
 * everywhere), or the name it had before software GPUs were PCI
 * functions, swgpuN, for scripts written then.
 */
static bool mgpu_swgpu_match(struct mgpu_swgpu *sw, const char *name)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%04x:00:%02x.0", mgpu_vbus_domain(),
		 sw->id);
	if (!strcasecmp(buf, name))
		return true;
	snprintf(buf, sizeof(buf), "swgpu%d", sw->id);
	return !strcmp(buf, name);
}

/**
 * mgpu_swgpu_remove() - remove a software GPU and all its instances
 * @name: its PCI address ("DDDD:00:SS.0"), or its old name "swgpuN" (the
 *	function in slot N)
 *
 * Blocks while one of its instances is open; the user is asked to let go
 * through the VFIO request interrupt.
 *
 * Return: 0, or -ENODEV if there is no software GPU of that name.
 */
int mgpu_swgpu_remove(const char *name)
{
	struct mgpu_swgpu *sw, *found = NULL;

	mutex_lock(&mgpu_swgpus_lock);
	list_for_each_entry(sw, &mgpu_swgpus, node) {
		if (mgpu_swgpu_match(sw, name)) {
			found = sw;
			list_del(&sw->node);
			break;
		}
	}
	mutex_unlock(&mgpu_swgpus_lock);

	if (!found)
		return -ENODEV;
	/* Off the list: nobody else can find it, destroy without the lock. */
	mgpu_swgpu_destroy(found);
	return 0;
}

/**
 * mgpu_swgpu_remove_all() - remove every software GPU (module unload)
 */
void mgpu_swgpu_remove_all(void)
{
	struct mgpu_swgpu *sw;

	for (;;) {
		mutex_lock(&mgpu_swgpus_lock);
		sw = list_first_entry_or_null(&mgpu_swgpus, struct mgpu_swgpu,
					      node);
		if (sw)
			list_del(&sw->node);
		mutex_unlock(&mgpu_swgpus_lock);
		if (!sw)
			break;
		mgpu_swgpu_destroy(sw);
	}
}
