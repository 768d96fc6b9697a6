// SPDX-License-Identifier: GPL-2.0
/*
 * vGPU interrupts as seen through VFIO: INTx, one MSI vector, the error
 * interrupt and the device request interrupt, each delivered by
 * signalling an eventfd that the VFIO user registered with
 * VFIO_DEVICE_SET_IRQS.
 *
 * The error interrupt (AER on vfio-pci) is accepted so that QEMU sets up
 * its error recovery as for any PCI Express device, but an emulated
 * device has no uncorrectable errors to report: it is never signalled.
 *
 * INTx and MSI are exclusive, as on vfio-pci: one must be disabled before
 * the other is enabled.  The request interrupt asks the user to release
 * the device when the instance is being removed.
 */
#include <linux/eventfd.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "mgpu_drv.h"

/* Interrupts behind a VFIO IRQ index: 1 for INTx, MSI, error, request. */
static int mgpu_irq_count(unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
	case VFIO_PCI_MSI_IRQ_INDEX:
	case VFIO_PCI_ERR_IRQ_INDEX:
	case VFIO_PCI_REQ_IRQ_INDEX:
		return 1;
	default:
		return 0;
	}
}

/**
 * mgpu_irq_get_info() - VFIO_DEVICE_GET_IRQ_INFO
 * @vgpu: the instance
 * @arg: user pointer to struct vfio_irq_info
 *
 * Return: 0 or a negative errno.
 */
long mgpu_irq_get_info(struct mgpu_vgpu *vgpu, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_info, count);
	struct vfio_irq_info info;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;

	info.count = mgpu_irq_count(info.index);
	info.flags = info.count ? VFIO_IRQ_INFO_EVENTFD : 0;
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE |
			      VFIO_IRQ_INFO_AUTOMASKED;
	else if (info.index == VFIO_PCI_MSI_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	return copy_to_user(arg, &info, minsz) ? -EFAULT : 0;
}

static void mgpu_irq_put(struct eventfd_ctx **slot)
{
	if (*slot) {
		eventfd_ctx_put(*slot);
		*slot = NULL;
	}
}

/* ACTION_TRIGGER on a one-vector index whose eventfd lives in @slot. */
static int mgpu_irq_set_trigger(struct mgpu_vgpu *vgpu,
				struct eventfd_ctx **slot,
				struct vfio_irq_set *hdr, const void *data)
{
	struct eventfd_ctx *ctx;
	s32 fd;

	lockdep_assert_held(&vgpu->lock);

	switch (hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) {
	case VFIO_IRQ_SET_DATA_NONE:
		if (!hdr->count)
			mgpu_irq_put(slot);		/* disable */
		else if (*slot)
			mgpu_compat_eventfd_signal(*slot);	/* loopback */
		return 0;
	case VFIO_IRQ_SET_DATA_BOOL:
		if (*(const u8 *)data && *slot)
			mgpu_compat_eventfd_signal(*slot);
		return 0;
	case VFIO_IRQ_SET_DATA_EVENTFD:
		fd = *(const s32 *)data;
		if (fd == -1) {
			mgpu_irq_put(slot);
			return 0;
		}
		if (fd < 0)
			return -EINVAL;
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		mgpu_irq_put(slot);
		*slot = ctx;
		return 0;
	default:
		return -EINVAL;
	}
}

static int mgpu_irq_set_intx(struct mgpu_vgpu *vgpu, struct vfio_irq_set *hdr,
			     const void *data)
{
	u32 dtype = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	bool set = dtype == VFIO_IRQ_SET_DATA_NONE ||
		   (dtype == VFIO_IRQ_SET_DATA_BOOL && *(const u8 *)data);

	lockdep_assert_held(&vgpu->lock);

	switch (hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK) {
	case VFIO_IRQ_SET_ACTION_TRIGGER:
		if (vgpu->msi_trigger && hdr->count) {
			dev_dbg_ratelimited(vgpu->vdev.dev,
					    "INTx rejected: MSI is enabled\n");
			return -EINVAL;
		}
		return mgpu_irq_set_trigger(vgpu, &vgpu->intx_trigger, hdr,
					    data);
	case VFIO_IRQ_SET_ACTION_MASK:
		if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
			return -EINVAL;
		if (set)
			vgpu->intx_masked = true;
		return 0;
	case VFIO_IRQ_SET_ACTION_UNMASK:
		/* An unmask eventfd (KVM resampling) is not supported. */
		if (dtype == VFIO_IRQ_SET_DATA_EVENTFD)
			return -EINVAL;
		if (set) {
			vgpu->intx_masked = false;
			mgpu_irq_update(vgpu);	/* still pending: again */
		}
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Every index has one vector, so a request names vector 0 (start is
 * checked by vfio_set_irqs_validate_and_prepare()) with count 1; the only
 * exception is count 0 with no data, which disables a trigger.  Count 0
 * with DATA_BOOL or DATA_EVENTFD comes with no data at all: it must be
 * refused before anything reads the data, as vfio-pci does.
 */
static int mgpu_irq_check_count(struct mgpu_vgpu *vgpu,
				const struct vfio_irq_set *hdr)
{
	u32 dtype = hdr->flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	u32 action = hdr->flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;

	if (hdr->count == 1)
		return 0;
	if (!hdr->count && dtype == VFIO_IRQ_SET_DATA_NONE &&
	    action == VFIO_IRQ_SET_ACTION_TRIGGER)
		return 0;
	dev_dbg_ratelimited(vgpu->vdev.dev,
			    "SET_IRQS index %u rejected: count %u with %s (a trigger takes count 1, or count 0 without data to disable)\n",
			    hdr->index, hdr->count,
			    dtype == VFIO_IRQ_SET_DATA_BOOL ? "DATA_BOOL" :
			    dtype == VFIO_IRQ_SET_DATA_EVENTFD ? "DATA_EVENTFD" :
			    "DATA_NONE");
	return -EINVAL;
}

/**
 * mgpu_irq_set() - VFIO_DEVICE_SET_IRQS
 * @vgpu: the instance
 * @arg: user pointer to struct vfio_irq_set and its data
 *
 * Return: 0 or a negative errno.
 */
long mgpu_irq_set(struct mgpu_vgpu *vgpu, void __user *arg)
{
	unsigned long minsz = offsetofend(struct vfio_irq_set, count);
	struct vfio_irq_set hdr;
	size_t data_size = 0;
	void *data = NULL;
	u32 action;
	int ret;

	if (copy_from_user(&hdr, arg, minsz))
		return -EFAULT;
	ret = vfio_set_irqs_validate_and_prepare(&hdr,
						 mgpu_irq_count(hdr.index),
						 VFIO_PCI_NUM_IRQS,
						 &data_size);
	if (ret)
		return ret;
	if (data_size) {
		data = memdup_user(arg + minsz, data_size);
		if (IS_ERR(data))
			return PTR_ERR(data);
	}

	action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	ret = mgpu_irq_check_count(vgpu, &hdr);
	if (ret)
		goto out;
	mutex_lock(&vgpu->lock);
	switch (hdr.index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		ret = mgpu_irq_set_intx(vgpu, &hdr, data);
		break;
	case VFIO_PCI_MSI_IRQ_INDEX:
		if (action != VFIO_IRQ_SET_ACTION_TRIGGER) {
			ret = -EINVAL;		/* MSI has no mask bit */
		} else if (vgpu->intx_trigger && hdr.count) {
			dev_dbg_ratelimited(vgpu->vdev.dev,
					    "MSI rejected: INTx is enabled\n");
			ret = -EINVAL;
		} else {
			ret = mgpu_irq_set_trigger(vgpu, &vgpu->msi_trigger,
						   &hdr, data);
		}
		break;
	case VFIO_PCI_ERR_IRQ_INDEX:
		ret = action == VFIO_IRQ_SET_ACTION_TRIGGER ?
		      mgpu_irq_set_trigger(vgpu, &vgpu->err_trigger, &hdr,
					   data) : -EINVAL;
		break;
	case VFIO_PCI_REQ_IRQ_INDEX:
		ret = action == VFIO_IRQ_SET_ACTION_TRIGGER ?
		      mgpu_irq_set_trigger(vgpu, &vgpu->req_trigger, &hdr,
					   data) : -EINVAL;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (!ret)
		mgpu_irq_update(vgpu);
	mutex_unlock(&vgpu->lock);
out:
	kfree(data);
	return ret;
}

/**
 * mgpu_irq_disable_all() - drop every eventfd (the user closed the device)
 * @vgpu: the instance
 */
void mgpu_irq_disable_all(struct mgpu_vgpu *vgpu)
{
	mutex_lock(&vgpu->lock);
	mgpu_irq_put(&vgpu->intx_trigger);
	mgpu_irq_put(&vgpu->msi_trigger);
	mgpu_irq_put(&vgpu->err_trigger);
	mgpu_irq_put(&vgpu->req_trigger);
	vgpu->intx_masked = false;
	mutex_unlock(&vgpu->lock);
}

/**
 * mgpu_irq_request() - ask the user to release the device
 * @vgpu: the instance, being removed
 * @count: how many times the core has asked (about every 10 s)
 *
 * Called by vfio_unregister_group_dev() while the device is still open.
 */
void mgpu_irq_request(struct mgpu_vgpu *vgpu, unsigned int count)
{
	mutex_lock(&vgpu->lock);
	if (vgpu->req_trigger) {
		if (count)
			dev_notice_ratelimited(vgpu->vdev.dev,
					       "still in use, asking the user to release it again (%u)\n",
					       count);
		mgpu_compat_eventfd_signal(vgpu->req_trigger);
	} else if (!count) {
		dev_notice(vgpu->vdev.dev,
			   "in use and no request interrupt registered: removal waits until the user closes it\n");
	}
	mutex_unlock(&vgpu->lock);
}

/* Signal INTx or MSI to the VFIO user, and count it. */
static void mgpu_irq_signal(struct mgpu_vgpu *vgpu, struct eventfd_ctx *ctx)
{
	lockdep_assert_held(&vgpu->lock);

	mgpu_compat_eventfd_signal(ctx);
	WRITE_ONCE(vgpu->stats.irqs, vgpu->stats.irqs + 1);
}

/**
 * mgpu_irq_update() - drive INTx from the pending causes
 * @vgpu: the instance; its lock held
 *
 * INTx is level triggered: while INT_STATUS & INT_MASK is non-zero the
 * line is asserted (PCI_STATUS_INTERRUPT set) and, unless masked or
 * disabled in the command register, the INTx eventfd is signalled once and
 * INTx automasked until the user unmasks it.  With MSI enabled INTx stays
 * quiet: MSI is signalled per event by mgpu_irq_raise().
 */
void mgpu_irq_update(struct mgpu_vgpu *vgpu)
{
	bool pending = vgpu->int_status & vgpu->int_mask;

	lockdep_assert_held(&vgpu->lock);

	if (vgpu->msi_trigger)
		pending = false;
	mgpu_cfg_set_intx_pending(vgpu, pending);
	if (!pending || !vgpu->intx_trigger || vgpu->intx_masked ||
	    mgpu_cfg_intx_disabled(vgpu))
		return;
	vgpu->intx_masked = true;
	mgpu_irq_signal(vgpu, vgpu->intx_trigger);
}

/**
 * mgpu_irq_raise() - an interrupt cause happened
 * @vgpu: the instance; its lock held
 * @cause: MGPU_INT_* bits
 */
void mgpu_irq_raise(struct mgpu_vgpu *vgpu, u32 cause)
{
	lockdep_assert_held(&vgpu->lock);

	vgpu->int_status |= cause;
	if ((cause & vgpu->int_mask) && vgpu->msi_trigger &&
	    mgpu_cfg_bus_master(vgpu))
		mgpu_irq_signal(vgpu, vgpu->msi_trigger);
	mgpu_irq_update(vgpu);
}

/**
 * mgpu_irq_set_mask() - write INT_MASK
 * @vgpu: the instance; its lock held
 * @mask: the new mask
 *
 * Enabling a cause that is already pending interrupts at once, as on
 * hardware that latches its causes.
 */
void mgpu_irq_set_mask(struct mgpu_vgpu *vgpu, u32 mask)
{
	u32 newly = mask & ~vgpu->int_mask & vgpu->int_status;

	lockdep_assert_held(&vgpu->lock);

	vgpu->int_mask = mask & (MGPU_INT_FENCE | MGPU_INT_ERROR);
	if (newly && vgpu->msi_trigger && mgpu_cfg_bus_master(vgpu))
		mgpu_irq_signal(vgpu, vgpu->msi_trigger);
	mgpu_irq_update(vgpu);
}

/**
 * mgpu_irq_msi_pending() - bus mastering came on: send what is pending
 * @vgpu: the instance; its lock held
 *
 * An MSI is a memory write: while bus mastering is off it cannot be
 * sent.  A cause that happened meanwhile and is still enabled and
 * pending interrupts now.
 */
void mgpu_irq_msi_pending(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);

	if ((vgpu->int_status & vgpu->int_mask) && vgpu->msi_trigger)
		mgpu_irq_signal(vgpu, vgpu->msi_trigger);
}
