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
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "mgpu_drv.h"

static int mgpu_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct mgpu_parent *parent = mgpu_vbus_parent(pdev);

	/* The same IDs elsewhere are not a software GPU of ours. */
	if (!parent)
		return -ENODEV;

	pci_set_drvdata(pdev, parent);
	return mgpu_parent_register(parent, &pdev->dev);
}

/* Removes every instance: blocks while one is open by a user. */
static void mgpu_pci_remove(struct pci_dev *pdev)
{
	mgpu_parent_unregister(pci_get_drvdata(pdev));
}

static const struct pci_device_id mgpu_pci_ids[] = {
	{ PCI_DEVICE(MGPU_PCI_VENDOR_ID, MGPU_PCI_SWGPU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, mgpu_pci_ids);

struct pci_driver mgpu_pci_driver = {
	.name = "mgpu",
	.id_table = mgpu_pci_ids,
	.probe = mgpu_pci_probe,
	.remove = mgpu_pci_remove,
	.dev_groups = mgpu_parent_groups,
};
