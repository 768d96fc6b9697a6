// SPDX-License-Identifier: GPL-2.0
/*
 * One vGPU instance: the mdev driver that creates it and the VFIO device
 * operations through which QEMU (or any VFIO user) drives it.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "mgpu_drv.h"

static u64 mgpu_vgpu_region_size(struct mgpu_vgpu *vgpu, unsigned int index)
{
	switch (index) {
	case VFIO_PCI_BAR0_REGION_INDEX:
		return MGPU_REGS_SIZE;
	case VFIO_PCI_BAR2_REGION_INDEX:
		return vgpu->vram_size;
	case VFIO_PCI_CONFIG_REGION_INDEX:
		return MGPU_CONFIG_SIZE;
	default:
		return 0;
	}
}

static int mgpu_vgpu_region_info(struct mgpu_vgpu *vgpu,
				 struct vfio_region_info *info)
{
	if (info->index >= VFIO_PCI_NUM_REGIONS)
		return -EINVAL;

	info->offset = (u64)info->index << MGPU_REGION_SHIFT;
	info->size = mgpu_vgpu_region_size(vgpu, info->index);
	info->flags = 0;
	if (info->size)
		info->flags = VFIO_REGION_INFO_FLAG_READ |
			      VFIO_REGION_INFO_FLAG_WRITE;
	if (info->index == VFIO_PCI_BAR2_REGION_INDEX)
		info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	return 0;
}

/* .get_region_info_caps, on kernels that have it (see compat.h) */
static int __maybe_unused
mgpu_vgpu_get_region_info_caps(struct vfio_device *vdev,
			       struct vfio_region_info *info,
			       struct vfio_info_cap *caps)
{
	return mgpu_vgpu_region_info(vdev_to_vgpu(vdev), info);
}

static void mgpu_vgpu_reset_locked(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);

	mgpu_queue_stop_all(vgpu);
	mgpu_cfg_reset(vgpu);
	mgpu_regs_reset(vgpu);
	vgpu->intx_masked = false;
}

/**
 * mgpu_vgpu_reset() - reset the vGPU to its power-on state
 * @vgpu: the instance; its lock must not be held
 *
 * Used for VFIO_DEVICE_RESET, function level reset through config space,
 * and open/close.  Stops the queues and waits for the engine to drop
 * in-flight work first, so nothing from before the reset (a completion,
 * an interrupt) arrives after it.  VRAM keeps its content.  Interrupt
 * eventfds stay registered: they belong to the VFIO user, not the device.
 */
void mgpu_vgpu_reset(struct mgpu_vgpu *vgpu)
{
	mgpu_engine_quiesce(vgpu);
	mutex_lock(&vgpu->lock);
	mgpu_vgpu_reset_locked(vgpu);
	mutex_unlock(&vgpu->lock);
}

/**
 * mgpu_vgpu_user_reset() - a reset the VFIO user or the guest asked for
 * @vgpu: the instance; its lock must not be held
 *
 * Counted in the statistics, unlike the resets of open and close.
 */
void mgpu_vgpu_user_reset(struct mgpu_vgpu *vgpu)
{
	mutex_lock(&vgpu->lock);
	WRITE_ONCE(vgpu->stats.resets, vgpu->stats.resets + 1);
	mutex_unlock(&vgpu->lock);
	mgpu_vgpu_reset(vgpu);
}

static int mgpu_vgpu_init(struct vfio_device *vdev)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	struct mgpu_type *type = container_of(mdev->type, struct mgpu_type,
					      mdev_type);
	struct mgpu_parent *parent = type->parent;
	int ret;

	ret = mgpu_parent_claim(parent, type, &vgpu->first_unit);
	if (ret)
		return ret;

	vgpu->parent = parent;
	vgpu->type = type;
	vgpu->vram_size = mgpu_parent_type_vram_size(type);
	vgpu->vram_offset = (parent->vram_size / MGPU_UNITS) *
			    vgpu->first_unit;
	vgpu->nr_queues = mgpu_parent_type_nr_queues(type);
	vgpu->queue_base = (parent->nr_queues / MGPU_UNITS) *
			   vgpu->first_unit;
	vgpu->queues = kcalloc(vgpu->nr_queues, sizeof(*vgpu->queues),
			       GFP_KERNEL);
	if (!vgpu->queues) {
		ret = -ENOMEM;
		goto err_release;
	}
	INIT_LIST_HEAD(&vgpu->engine_node);
	mgpu_sched_vgpu_init(vgpu);
	mgpu_dma_init(vgpu);
	mutex_init(&vgpu->lock);
	ratelimit_state_init(&vgpu->ratelimit, 5 * HZ, 10);
	ratelimit_set_flags(&vgpu->ratelimit, RATELIMIT_MSG_ON_RELEASE);
	mgpu_cfg_init(vgpu);
	mgpu_regs_reset(vgpu);
	mgpu_mig_init(vgpu);
	/*
	 * No clearing here: free VRAM is always zero (it starts zeroed and
	 * every user's close scrubs its slice), so a create costs the same
	 * whatever the VRAM size.  The instance holds its parent until the
	 * VFIO core releases it, which may be after the parent's removal.
	 */
	mgpu_parent_get(parent);
	return 0;

err_release:
	mgpu_parent_release(parent, type, vgpu->first_unit);
	return ret;
}

static void mgpu_vgpu_release(struct vfio_device *vdev)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);

	struct mgpu_parent *parent = vgpu->parent;

	mgpu_parent_release(parent, vgpu->type, vgpu->first_unit);
	kfree(vgpu->queues);
	mgpu_vram_dirty_free(vgpu);
	mgpu_mig_fini(vgpu);
	mutex_destroy(&vgpu->lock);
	mgpu_compat_vfio_release_done(vdev);
	mgpu_parent_put(parent);
}

static int mgpu_vgpu_open_device(struct vfio_device *vdev)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);

	/* Every user starts from a device in its power-on state. */
	mgpu_mig_reset(vgpu);
	mgpu_vgpu_reset(vgpu);
	return mgpu_engine_attach(vgpu);
}

static void mgpu_vgpu_close_device(struct vfio_device *vdev)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);

	/* No migration session outlives the user... */
	mgpu_mig_reset(vgpu);
	/* ...and guest memory is only reachable while open: off the engine. */
	mgpu_engine_detach(vgpu);
	mgpu_irq_disable_all(vgpu);
	mgpu_vgpu_reset(vgpu);
	/*
	 * The next user (another VM on a persistent mdev) starts from zeroed
	 * VRAM, and a removed instance leaves nothing behind.  No mapping of
	 * BAR2 is left: each held a reference to the device file.
	 */
	mgpu_vram_discard(vgpu);
	mutex_lock(&vgpu->lock);
	mgpu_vram_dirty_free(vgpu);
	mutex_unlock(&vgpu->lock);
}

static ssize_t mgpu_vgpu_rw(struct mgpu_vgpu *vgpu, char __user *buf,
			    size_t count, loff_t *ppos, bool write)
{
	unsigned int index = *ppos >> MGPU_REGION_SHIFT;
	u64 pos = *ppos & MGPU_REGION_MASK;
	u64 size;
	ssize_t ret;

	if (!count)
		return 0;
	size = index < VFIO_PCI_NUM_REGIONS ?
	       mgpu_vgpu_region_size(vgpu, index) : 0;
	if (pos >= size || count > size - pos) {
		dev_dbg_ratelimited(vgpu->vdev.dev,
				    "%s of %zu bytes at region %u offset %#llx rejected: outside the region (size %#llx)\n",
				    write ? "write" : "read", count, index,
				    pos, size);
		return -EINVAL;
	}

	if (index == VFIO_PCI_BAR0_REGION_INDEX ||
	    index == VFIO_PCI_BAR2_REGION_INDEX) {
		bool mem;

		mutex_lock(&vgpu->lock);
		mem = mgpu_cfg_mem_enabled(vgpu);
		mutex_unlock(&vgpu->lock);
		if (!mem) {
			/* As vfio-pci: a BAR does not answer with memory off. */
			mgpu_vgpu_log(vgpu, KERN_INFO,
				      "BAR%u %s refused: memory space is disabled in the command register\n",
				      index, write ? "write" : "read");
			return -EIO;
		}
	}

	switch (index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		ret = mgpu_cfg_rw(vgpu, pos, buf, count, write);
		break;
	case VFIO_PCI_BAR0_REGION_INDEX:
		ret = mgpu_regs_rw(vgpu, pos, buf, count, write);
		break;
	case VFIO_PCI_BAR2_REGION_INDEX:
		ret = mgpu_vram_rw(vgpu, pos, buf, count, write);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t mgpu_vgpu_read(struct vfio_device *vdev, char __user *buf,
			      size_t count, loff_t *ppos)
{
	return mgpu_vgpu_rw(vdev_to_vgpu(vdev), buf, count, ppos, false);
}

static ssize_t mgpu_vgpu_write(struct vfio_device *vdev,
			       const char __user *buf, size_t count,
			       loff_t *ppos)
{
	return mgpu_vgpu_rw(vdev_to_vgpu(vdev), (char __user *)buf, count,
			    ppos, true);
}

static int mgpu_vgpu_mmap(struct vfio_device *vdev,
			  struct vm_area_struct *vma)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	u64 index = vma->vm_pgoff >> (MGPU_REGION_SHIFT - PAGE_SHIFT);
	u64 pos = ((u64)vma->vm_pgoff << PAGE_SHIFT) & MGPU_REGION_MASK;

	if (index != VFIO_PCI_BAR2_REGION_INDEX) {
		dev_dbg_ratelimited(vdev->dev,
				    "mmap of region %llu rejected: only BAR2 (VRAM) can be mapped\n",
				    index);
		return -EINVAL;
	}
	return mgpu_vram_mmap(vgpu, pos, vma);
}

static long mgpu_vgpu_get_info(struct mgpu_vgpu *vgpu, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_device_info, num_irqs);
	struct vfio_device_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;

	info.flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long mgpu_vgpu_get_region_info(struct mgpu_vgpu *vgpu,
				      void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info info;
	int ret;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	ret = mgpu_vgpu_region_info(vgpu, &info);
	if (ret)
		return ret;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static long mgpu_vgpu_ioctl(struct vfio_device *vdev, unsigned int cmd,
			    unsigned long arg)
{
	struct mgpu_vgpu *vgpu = vdev_to_vgpu(vdev);
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO:
		return mgpu_vgpu_get_info(vgpu, uarg);
	case VFIO_DEVICE_GET_REGION_INFO:
		/* Only reaches here on kernels before 6.19, see compat.h. */
		return mgpu_vgpu_get_region_info(vgpu, uarg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return mgpu_irq_get_info(vgpu, uarg);
	case VFIO_DEVICE_SET_IRQS:
		return mgpu_irq_set(vgpu, uarg);
	case VFIO_DEVICE_RESET:
		/* Ends any migration session: the device is RUNNING again. */
		mgpu_mig_reset(vgpu);
		mgpu_vgpu_user_reset(vgpu);
		return 0;
	default:
		return -ENOTTY;
	}
}

static void mgpu_vgpu_request(struct vfio_device *vdev, unsigned int count)
{
	mgpu_irq_request(vdev_to_vgpu(vdev), count);
}

static const struct vfio_device_ops mgpu_vgpu_ops = {
	.name = "mgpu",
	.init = mgpu_vgpu_init,
	.release = mgpu_vgpu_release,
	.open_device = mgpu_vgpu_open_device,
	.close_device = mgpu_vgpu_close_device,
	.read = mgpu_vgpu_read,
	.write = mgpu_vgpu_write,
	.mmap = mgpu_vgpu_mmap,
	.ioctl = mgpu_vgpu_ioctl,
	.request = mgpu_vgpu_request,
	MGPU_COMPAT_REGION_INFO_OPS
	MGPU_COMPAT_IOMMUFD_EMULATED_OPS
};

/* Instance attributes: /sys/bus/mdev/devices/UUID/mgpu/ */

static struct mgpu_vgpu *dev_to_vgpu(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t vram_size_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", dev_to_vgpu(dev)->vram_size);
}
static DEVICE_ATTR_RO(vram_size);

static ssize_t vram_offset_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", dev_to_vgpu(dev)->vram_offset);
}
static DEVICE_ATTR_RO(vram_offset);

static ssize_t queues_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_vgpu(dev)->nr_queues);
}
static DEVICE_ATTR_RO(queues);

static ssize_t queue_base_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", dev_to_vgpu(dev)->queue_base);
}
static DEVICE_ATTR_RO(queue_base);

#define MGPU_VGPU_STAT_ATTR(name)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%llu\n",				\
			  READ_ONCE(dev_to_vgpu(dev)->stats.name));	\
}									\
static DEVICE_ATTR_RO(name)

MGPU_VGPU_STAT_ATTR(busy_ns);
MGPU_VGPU_STAT_ATTR(commands);
MGPU_VGPU_STAT_ATTR(bytes);
MGPU_VGPU_STAT_ATTR(flops);
MGPU_VGPU_STAT_ATTR(errors);
MGPU_VGPU_STAT_ATTR(resets);
MGPU_VGPU_STAT_ATTR(reg_traps);
MGPU_VGPU_STAT_ATTR(irqs);

/* A scheduling setting: read without a lock, written through sched.c. */
#define MGPU_VGPU_SCHED_ATTR(name, field, set)				\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%u\n",					\
			  READ_ONCE(dev_to_vgpu(dev)->field));		\
}									\
static ssize_t name##_store(struct device *dev,				\
			    struct device_attribute *attr,		\
			    const char *buf, size_t count)		\
{									\
	u32 val;							\
	int ret = kstrtou32(buf, 0, &val);				\
									\
	if (!ret)							\
		ret = set(dev_to_vgpu(dev), val);			\
	return ret ? ret : count;					\
}									\
static DEVICE_ATTR_RW(name)

MGPU_VGPU_SCHED_ATTR(weight, weight, mgpu_sched_set_weight);
MGPU_VGPU_SCHED_ATTR(cap, cap_pct, mgpu_sched_set_cap);

static struct attribute *mgpu_vgpu_attrs[] = {
	&dev_attr_vram_size.attr,
	&dev_attr_vram_offset.attr,
	&dev_attr_queues.attr,
	&dev_attr_queue_base.attr,
	&dev_attr_busy_ns.attr,
	&dev_attr_commands.attr,
	&dev_attr_bytes.attr,
	&dev_attr_flops.attr,
	&dev_attr_errors.attr,
	&dev_attr_resets.attr,
	&dev_attr_reg_traps.attr,
	&dev_attr_irqs.attr,
	&dev_attr_weight.attr,
	&dev_attr_cap.attr,
	NULL,
};

static const struct attribute_group mgpu_vgpu_group = {
	.name = "mgpu",
	.attrs = mgpu_vgpu_attrs,
};

static const struct attribute_group *mgpu_vgpu_groups[] = {
	&mgpu_vgpu_group,
	NULL,
};

static int mgpu_mdev_probe(struct mdev_device *mdev)
{
	struct mgpu_vgpu *vgpu;
	int ret;

	vgpu = vfio_alloc_device(mgpu_vgpu, vdev, &mdev->dev, &mgpu_vgpu_ops);
	if (IS_ERR(vgpu))
		return PTR_ERR(vgpu);

	dev_set_drvdata(&mdev->dev, vgpu);
	ret = vfio_register_emulated_iommu_dev(&vgpu->vdev);
	if (ret)
		goto err_put;
	mgpu_debugfs_vgpu_add(vgpu);
	return 0;

err_put:
	dev_set_drvdata(&mdev->dev, NULL);
	vfio_put_device(&vgpu->vdev);
	return ret;
}

static void mgpu_mdev_remove(struct mdev_device *mdev)
{
	struct mgpu_vgpu *vgpu = dev_get_drvdata(&mdev->dev);

	mgpu_debugfs_vgpu_remove(vgpu);
	/* Blocks until the user closes the device, see mgpu_irq_request(). */
	vfio_unregister_group_dev(&vgpu->vdev);
	vfio_put_device(&vgpu->vdev);
}

struct mdev_driver mgpu_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = "mgpu",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
		.dev_groups = mgpu_vgpu_groups,
	},
	.probe = mgpu_mdev_probe,
	.remove = mgpu_mdev_remove,
	.get_available = mgpu_parent_get_available,
	.show_description = mgpu_parent_show_description,
};
