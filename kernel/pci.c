// SPDX-License-Identifier: GPL-2.0
/*
 * The "mgpu" PCI driver: binds to the PCI function of a parent GPU and
 * registers the parent with the mdev core on the struct pci_dev's device.
 *
 * The mdev core names a parent's type directories "<driver>-<type>", so
 * the driver's name keeps the type ids mgpu-passthrough, mgpu-1_2, ...
 * that libvirt, mdevctl, Nova and KubeVirt key on.  The parent's own
 * attributes (vram_size, sched_policy, ...) are the driver's device
 * attributes: they appear with the binding and go before the unbinding.
 *
 * Besides the software GPUs of the virtual bus, the driver takes any PCI
 * device the administrator hands it, through driver_override or new_id:
 * its largest memory BAR becomes VRAM (bar.c).  The driver's own ID
 * table names only the software GPU, so it never takes a device on its
 * own; a device with those IDs elsewhere (an mgpu vGPU inside a guest)
 * is not a software GPU of ours and is left alone.
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "mgpu_drv.h"

static const struct pci_device_id mgpu_pci_ids[] = {
	{ PCI_DEVICE(MGPU_PCI_VENDOR_ID, MGPU_PCI_SWGPU_DEVICE_ID) },
	{ }
};

/* Did @id come from our own table (not from driver_override or new_id)? */
static bool mgpu_pci_own_id(const struct pci_device_id *id)
{
	return id >= mgpu_pci_ids && id < mgpu_pci_ids + ARRAY_SIZE(mgpu_pci_ids);
}

static int mgpu_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct mgpu_parent *parent = mgpu_vbus_parent(pdev);

	if (!parent) {
		/* The same IDs elsewhere are not a software GPU of ours. */
		if (mgpu_pci_own_id(id))
			return -ENODEV;
		/* The administrator handed us this device. */
		return mgpu_bar_probe(pdev);
	}

	pci_set_drvdata(pdev, parent);
	return mgpu_parent_register(parent, &pdev->dev);
}

/* Removes every instance: blocks while one is open by a user. */
static void mgpu_pci_remove(struct pci_dev *pdev)
{
	struct mgpu_parent *parent = pci_get_drvdata(pdev);

	if (mgpu_bar_parent(parent))
		mgpu_bar_remove(pdev);
	else
		mgpu_parent_unregister(parent);
}
MODULE_DEVICE_TABLE(pci, mgpu_pci_ids);

struct pci_driver mgpu_pci_driver = {
	.name = "mgpu",
	.id_table = mgpu_pci_ids,
	.probe = mgpu_pci_probe,
	.remove = mgpu_pci_remove,
	.dev_groups = mgpu_parent_groups,
};
