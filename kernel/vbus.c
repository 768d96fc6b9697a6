// SPDX-License-Identifier: GPL-2.0
/*
 * The virtual PCI host bridge: a PCI domain of mgpu's own whose root bus
 * holds the software GPUs, one PCI function each (device N, function 0).
 *
 * Management stacks find mdev parents on PCI devices only (libvirt's
 * node-device driver, and through it Nova and virt-manager), so a
 * software GPU is made a PCI device: its config space is emulated here
 * through struct pci_ops, the PCI core enumerates it like any other
 * function, lspci lists it and the "mgpu" PCI driver (pci.c) binds to it.
 * The functions have no BARs and no interrupt: VRAM is host memory that
 * only the engine and the vGPUs' BAR2 mappings reach.
 *
 * The root bus is created the way drivers/pci/controller/vmd.c and
 * pci-hyperv.c create theirs, with no parent device: it shows up as
 * /sys/devices/pciDDDD:00.  On x86 the bus's sysdata must be a struct
 * pci_sysdata, which carries the domain number.
 */
#include <linux/numa.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "mgpu_drv.h"

/**
 * struct mgpu_vbus_fn - one slot of the bus
 * @parent: the parent behind the function; NULL while the slot is empty
 * @cfg: the function's config space
 */
struct mgpu_vbus_fn {
	struct mgpu_parent *parent;
	u8 cfg[PCI_CFG_SPACE_SIZE];
};

/**
 * struct mgpu_vbus - the host bridge and its root bus
 * @sysdata: the bus's sysdata (x86: domain and NUMA node)
 * @busn: the bus number range of the bridge: bus 00 only
 * @bridge: the host bridge
 * @lock: protects @fns; config accesses may come in atomic context
 * @fns: the slots
 *
 * Slots are filled and emptied (and the root bus scanned) under the PCI
 * core's rescan/remove lock, so a concurrent rescan from sysfs finds a
 * slot either empty or with its config space set up.
 */
struct mgpu_vbus {
	struct pci_sysdata sysdata;
	struct resource busn;
	struct pci_host_bridge *bridge;
	raw_spinlock_t lock;
	struct mgpu_vbus_fn fns[MGPU_VBUS_SLOTS];
};

static struct mgpu_vbus *mgpu_vbus;

/*
 * Writable bits of the config header.  Everything else is read-only:
 * there are no BARs (a BAR sizing write reads back as 0), no expansion
 * ROM, no interrupt pin and no capabilities.
 */
static const u8 mgpu_vbus_wmask[PCI_CFG_SPACE_SIZE] = {
	[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
			PCI_COMMAND_MASTER | PCI_COMMAND_PARITY,
	[PCI_COMMAND + 1] = (PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE) >> 8,
	[PCI_CACHE_LINE_SIZE] = 0xff,
	[PCI_LATENCY_TIMER] = 0xff,
	[PCI_INTERRUPT_LINE] = 0xff,
};

/* Config space is little-endian. */
static void mgpu_vbus_cfg_put16(u8 *cfg, unsigned int where, u16 val)
{
	cfg[where] = val & 0xff;
	cfg[where + 1] = val >> 8;
}

static void mgpu_vbus_cfg_init(u8 *cfg, u16 device)
{
	memset(cfg, 0, PCI_CFG_SPACE_SIZE);
	mgpu_vbus_cfg_put16(cfg, PCI_VENDOR_ID, MGPU_PCI_VENDOR_ID);
	mgpu_vbus_cfg_put16(cfg, PCI_DEVICE_ID, device);
	cfg[PCI_REVISION_ID] = MGPU_PCI_REVISION;
	mgpu_vbus_cfg_put16(cfg, PCI_CLASS_DEVICE, PCI_CLASS_DISPLAY_3D);
	cfg[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_NORMAL;
	mgpu_vbus_cfg_put16(cfg, PCI_SUBSYSTEM_VENDOR_ID,
			    MGPU_PCI_SUBSYS_VENDOR_ID);
	mgpu_vbus_cfg_put16(cfg, PCI_SUBSYSTEM_ID, device);
}

/* The slot behind (@bus, @devfn), or NULL if nothing answers there. */
static struct mgpu_vbus_fn *mgpu_vbus_fn(struct pci_bus *bus,
					 unsigned int devfn)
{
	struct mgpu_vbus_fn *fn;

	lockdep_assert_held(&mgpu_vbus->lock);

	if (!pci_is_root_bus(bus) || PCI_FUNC(devfn))
		return NULL;
	fn = &mgpu_vbus->fns[PCI_SLOT(devfn)];
	return fn->parent ? fn : NULL;
}

static int mgpu_vbus_read(struct pci_bus *bus, unsigned int devfn, int where,
			  int size, u32 *val)
{
	struct mgpu_vbus_fn *fn;
	unsigned long flags;
	u32 v = 0;
	int i;

	if (where < 0 || where + size > PCI_CFG_SPACE_SIZE) {
		PCI_SET_ERROR_RESPONSE(val);
		return PCIBIOS_BAD_REGISTER_NUMBER;
	}

	raw_spin_lock_irqsave(&mgpu_vbus->lock, flags);
	fn = mgpu_vbus_fn(bus, devfn);
	if (fn)
		for (i = 0; i < size; i++)
			v |= (u32)fn->cfg[where + i] << (8 * i);
	raw_spin_unlock_irqrestore(&mgpu_vbus->lock, flags);

	if (!fn) {
		PCI_SET_ERROR_RESPONSE(val);
		return PCIBIOS_DEVICE_NOT_FOUND;
	}
	*val = v;
	return PCIBIOS_SUCCESSFUL;
}

static int mgpu_vbus_write(struct pci_bus *bus, unsigned int devfn, int where,
			   int size, u32 val)
{
	struct mgpu_vbus_fn *fn;
	unsigned long flags;
	int i;

	if (where < 0 || where + size > PCI_CFG_SPACE_SIZE)
		return PCIBIOS_BAD_REGISTER_NUMBER;

	raw_spin_lock_irqsave(&mgpu_vbus->lock, flags);
	fn = mgpu_vbus_fn(bus, devfn);
	if (fn) {
		for (i = 0; i < size; i++) {
			u8 mask = mgpu_vbus_wmask[where + i];
			u8 *b = &fn->cfg[where + i];

			*b = (*b & ~mask) | ((val >> (8 * i)) & mask);
		}
	}
	raw_spin_unlock_irqrestore(&mgpu_vbus->lock, flags);

	return fn ? PCIBIOS_SUCCESSFUL : PCIBIOS_DEVICE_NOT_FOUND;
}

static struct pci_ops mgpu_vbus_ops = {
	.read = mgpu_vbus_read,
	.write = mgpu_vbus_write,
};

/**
 * mgpu_vbus_parent() - the parent behind a function of the virtual bus
 * @pdev: a PCI device
 *
 * Valid while @pdev exists: a slot is emptied only after its device was
 * removed (mgpu_vbus_unplug()).
 *
 * Return: the parent, or NULL if @pdev is not on the virtual bus.
 */
struct mgpu_parent *mgpu_vbus_parent(struct pci_dev *pdev)
{
	struct mgpu_vbus_fn *fn;
	struct mgpu_parent *parent;
	unsigned long flags;

	if (!mgpu_vbus || pdev->bus != mgpu_vbus->bridge->bus)
		return NULL;
	raw_spin_lock_irqsave(&mgpu_vbus->lock, flags);
	fn = mgpu_vbus_fn(pdev->bus, pdev->devfn);
	parent = fn ? fn->parent : NULL;
	raw_spin_unlock_irqrestore(&mgpu_vbus->lock, flags);
	return parent;
}

/**
 * mgpu_vbus_domain() - the PCI domain of the virtual bus
 *
 * Return: the domain number.
 */
int mgpu_vbus_domain(void)
{
	return mgpu_vbus->sysdata.domain;
}

/**
 * mgpu_vbus_plug() - make a parent a PCI function of the virtual bus
 * @slot: the slot (PCI device number), free, below MGPU_VBUS_SLOTS
 * @device: the PCI device ID
 * @parent: the parent, initialized; stays in the slot until
 *	mgpu_vbus_unplug()
 *
 * The PCI core adds the function, which the mgpu PCI driver binds to
 * (registering @parent with the mdev core) before this returns.
 *
 * Return: 0, or a negative errno if the function could not be added or
 * the driver did not bind to it.
 */
int mgpu_vbus_plug(unsigned int slot, u16 device, struct mgpu_parent *parent)
{
	struct mgpu_vbus_fn *fn = &mgpu_vbus->fns[slot];
	struct pci_bus *bus = mgpu_vbus->bridge->bus;
	struct pci_dev *pdev;
	unsigned long flags;
	int ret = 0;

	pci_lock_rescan_remove();
	raw_spin_lock_irqsave(&mgpu_vbus->lock, flags);
	WARN_ON(fn->parent);
	mgpu_vbus_cfg_init(fn->cfg, device);
	fn->parent = parent;
	raw_spin_unlock_irqrestore(&mgpu_vbus->lock, flags);

	pdev = pci_scan_single_device(bus, PCI_DEVFN(slot, 0));
	if (pdev) {
		pci_bus_add_device(pdev);
		/* Probing is synchronous: the driver is bound or it failed. */
		if (!READ_ONCE(pdev->dev.driver)) {
			pci_stop_and_remove_bus_device(pdev);
			ret = -ENODEV;
		}
	} else {
		ret = -ENOMEM;
	}
	if (ret) {
		raw_spin_lock_irqsave(&mgpu_vbus->lock, flags);
		fn->parent = NULL;
		raw_spin_unlock_irqrestore(&mgpu_vbus->lock, flags);
	}
	pci_unlock_rescan_remove();
	return ret;
}

/**
 * mgpu_vbus_unplug() - remove a parent's PCI function
 * @slot: its slot
 *
 * Removes the PCI device if it exists (the user may have removed it
 * through sysfs already), which unbinds the driver: every instance and
 * the parent's types go.  Blocks while an instance is open, without the
 * PCI core's rescan/remove lock held: the rest of the PCI world does not
 * wait for a VFIO user to let go.  A rescan cannot bring the function
 * back afterwards.
 */
void mgpu_vbus_unplug(unsigned int slot)
{
	struct mgpu_vbus_fn *fn = &mgpu_vbus->fns[slot];
	struct pci_bus *bus = mgpu_vbus->bridge->bus;
	struct pci_dev *pdev;
	unsigned long flags;

	pdev = pci_get_slot(bus, PCI_DEVFN(slot, 0));
	if (pdev) {
		device_release_driver(&pdev->dev);
		pci_dev_put(pdev);
	}

	pci_lock_rescan_remove();
	/* Rebound in the meantime?  Then the removal unbinds it again. */
	pdev = pci_get_slot(bus, PCI_DEVFN(slot, 0));
	if (pdev) {
		pci_stop_and_remove_bus_device(pdev);
		pci_dev_put(pdev);
	}
	raw_spin_lock_irqsave(&mgpu_vbus->lock, flags);
	fn->parent = NULL;
	raw_spin_unlock_irqrestore(&mgpu_vbus->lock, flags);
	pci_unlock_rescan_remove();
}

/**
 * mgpu_vbus_init() - create the host bridge and its (empty) root bus
 * @domain: the PCI domain number; must be free
 *
 * Return: 0, -EBUSY if @domain is taken, or another negative errno.
 */
int mgpu_vbus_init(u16 domain)
{
	struct pci_host_bridge *bridge;
	struct mgpu_vbus *vb;
	int ret;

	if (pci_find_bus(domain, 0)) {
		pr_err("PCI domain %04x is in use: load mgpu with another pci_domain\n",
		       domain);
		return -EBUSY;
	}

	vb = kzalloc(sizeof(*vb), GFP_KERNEL);
	if (!vb)
		return -ENOMEM;
	raw_spin_lock_init(&vb->lock);
	vb->sysdata.domain = domain;
	vb->sysdata.node = first_online_node;
	vb->busn.name = "mgpu";
	vb->busn.start = 0;
	vb->busn.end = 0;
	vb->busn.flags = IORESOURCE_BUS;

	bridge = pci_alloc_host_bridge(0);
	if (!bridge) {
		ret = -ENOMEM;
		goto err_free;
	}
	pci_add_resource(&bridge->windows, &vb->busn);
	bridge->sysdata = &vb->sysdata;
	bridge->ops = &mgpu_vbus_ops;
	bridge->busnr = 0;
	vb->bridge = bridge;
	/* The config accessors look at mgpu_vbus from the first scan on. */
	mgpu_vbus = vb;

	pci_lock_rescan_remove();
	ret = pci_scan_root_bus_bridge(bridge);
	if (!ret)
		pci_bus_add_devices(bridge->bus);
	pci_unlock_rescan_remove();
	if (ret)
		goto err_bridge;
	return 0;

err_bridge:
	mgpu_vbus = NULL;
	pci_free_host_bridge(bridge);
err_free:
	kfree(vb);
	return ret;
}

/**
 * mgpu_vbus_exit() - remove the root bus and the host bridge
 *
 * Every slot must be empty.
 */
void mgpu_vbus_exit(void)
{
	struct mgpu_vbus *vb = mgpu_vbus;
	struct pci_bus *bus = vb->bridge->bus;

	pci_lock_rescan_remove();
	pci_stop_root_bus(bus);
	pci_remove_root_bus(bus);
	pci_unlock_rescan_remove();
	/* pci_alloc_host_bridge()'s reference: the bridge goes with it. */
	pci_free_host_bridge(vb->bridge);
	mgpu_vbus = NULL;
	kfree(vb);
}
