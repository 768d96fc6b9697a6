// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu: vGPUs for KVM guests as VFIO mediated devices.
 *
 * Module entry: parameters, the mgpu class and its control attributes,
 * and the order in which the blocks come up and go.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>

#include "mgpu_drv.h"

static unsigned int swgpus = 1;
module_param(swgpus, uint, 0444);
MODULE_PARM_DESC(swgpus, "Software GPUs created at load (default 1, at most 16)");

static unsigned int vram_mb = 256;
module_param(vram_mb, uint, 0444);
MODULE_PARM_DESC(vram_mb, "VRAM of each software GPU created at load, in MiB: a power of two from 16 to 65536 (default 256)");

static unsigned int queues = 16;
module_param(queues, uint, 0444);
MODULE_PARM_DESC(queues, "Command queues of each software GPU created at load: a power of two from 16 to 256 (default 16)");

static unsigned int engines = 1;
module_param(engines, uint, 0444);
MODULE_PARM_DESC(engines, "Engine threads of each software GPU created at load, and the default of add_swgpu: 1 to 8 (default 1)");

/*
 * The PCI domain of the software GPUs.  16 bits, so that their addresses
 * have the usual DDDD:BB:SS.F form: Nova parses PCI addresses with exactly
 * four hex digits of domain (libvirt takes 32 bits, and the kernel uses
 * domains above 0xffff for VMD, but Nova does not).  0x6d67 is "mg": far
 * from the small segment numbers of ACPI firmware.
 */
static unsigned int pci_domain = 0x6d67;
module_param(pci_domain, uint, 0444);
MODULE_PARM_DESC(pci_domain, "PCI domain of the virtual host bridge whose functions are the software GPUs, 0 to 0xffff, must be free (default 0x6d67)");

#define MGPU_MAX_LOAD_SWGPUS	16

struct class *mgpu_class;

/*
 * /sys/class/mgpu/add_swgpu: "vram=SIZE queues=N engines=E" (any may be
 * left out, SIZE takes K/M/G suffixes) creates a software GPU.
 */
static ssize_t add_swgpu_store(MGPU_COMPAT_CLASS_CONST struct class *class,
			       MGPU_COMPAT_CLASS_CONST struct class_attribute *attr,
			       const char *buf, size_t count)
{
	u64 vram = (u64)vram_mb << 20;
	u32 nr_queues = queues;
	u32 nr_engines = engines;
	char *str, *cur, *tok, *end;
	int ret = 0;

	str = kstrndup(buf, count, GFP_KERNEL);
	if (!str)
		return -ENOMEM;
	cur = str;
	while ((tok = strsep(&cur, " \t\n"))) {
		if (!*tok)
			continue;
		if (!strncmp(tok, "vram=", 5)) {
			vram = memparse(tok + 5, &end);
			if (end == tok + 5 || *end)
				ret = -EINVAL;
		} else if (!strncmp(tok, "queues=", 7)) {
			ret = kstrtou32(tok + 7, 0, &nr_queues);
		} else if (!strncmp(tok, "engines=", 8)) {
			ret = kstrtou32(tok + 8, 0, &nr_engines);
		} else {
			ret = -EINVAL;
		}
		if (ret) {
			pr_warn_ratelimited("add_swgpu: cannot parse '%s' (expected: vram=SIZE[K|M|G] queues=N engines=N)\n",
					    tok);
			break;
		}
	}
	kfree(str);
	if (ret)
		return -EINVAL;

	ret = mgpu_swgpu_add(vram, nr_queues, nr_engines);
	return ret ? ret : count;
}
static CLASS_ATTR_WO(add_swgpu);

/*
 * /sys/class/mgpu/remove_swgpu: the PCI address of a software GPU
 * ("6d67:00:01.0") removes it and its instances; its old name "swgpuN"
 * still names the function in slot N.
 */
static ssize_t remove_swgpu_store(MGPU_COMPAT_CLASS_CONST struct class *class,
				  MGPU_COMPAT_CLASS_CONST struct class_attribute *attr,
				  const char *buf, size_t count)
{
	char *name;
	int ret;

	name = kstrndup(buf, count, GFP_KERNEL);
	if (!name)
		return -ENOMEM;
	ret = mgpu_swgpu_remove(strim(name));
	if (ret == -ENODEV)
		pr_warn_ratelimited("remove_swgpu: no software GPU named '%s'\n",
				    strim(name));
	kfree(name);
	return ret ? ret : count;
}
static CLASS_ATTR_WO(remove_swgpu);

static int __init mgpu_init(void)
{
	unsigned int i;
	int ret;

	if (swgpus > MGPU_MAX_LOAD_SWGPUS) {
		pr_err("swgpus=%u: at most %u software GPUs can be created at load\n",
		       swgpus, MGPU_MAX_LOAD_SWGPUS);
		return -EINVAL;
	}
	if (!engines || engines > MGPU_MAX_ENGINES) {
		pr_err("engines=%u: must be from 1 to %u\n", engines,
		       MGPU_MAX_ENGINES);
		return -EINVAL;
	}
	if (pci_domain > 0xffff) {
		pr_err("pci_domain=%#x: must be at most 0xffff\n", pci_domain);
		return -EINVAL;
	}

	mgpu_debugfs_init();
	ret = mdev_register_driver(&mgpu_mdev_driver);
	if (ret)
		goto err_debugfs;

	mgpu_class = mgpu_compat_class_create("mgpu");
	if (IS_ERR(mgpu_class)) {
		ret = PTR_ERR(mgpu_class);
		goto err_driver;
	}

	ret = pci_register_driver(&mgpu_pci_driver);
	if (ret)
		goto err_class;
	ret = mgpu_vbus_init(pci_domain);
	if (ret)
		goto err_pci_driver;

	ret = class_create_file(mgpu_class, &class_attr_add_swgpu);
	if (ret)
		goto err_vbus;
	ret = class_create_file(mgpu_class, &class_attr_remove_swgpu);
	if (ret)
		goto err_add_attr;

	for (i = 0; i < swgpus; i++) {
		ret = mgpu_swgpu_add((u64)vram_mb << 20, queues, engines);
		if (ret)
			goto err_swgpus;
	}
	pr_info("loaded: %u software GPU(s) of %uM VRAM and %u queues in PCI domain %04x\n",
		swgpus, vram_mb, queues, pci_domain);
	return 0;

err_swgpus:
	class_remove_file(mgpu_class, &class_attr_remove_swgpu);
err_add_attr:
	class_remove_file(mgpu_class, &class_attr_add_swgpu);
	mgpu_swgpu_remove_all();
err_vbus:
	mgpu_vbus_exit();
err_pci_driver:
	/* Unbinds the PCI devices bound as parents (BAR backend) too. */
	pci_unregister_driver(&mgpu_pci_driver);
	mgpu_parent_wait_all();
err_class:
	class_destroy(mgpu_class);
err_driver:
	mdev_unregister_driver(&mgpu_mdev_driver);
err_debugfs:
	mgpu_debugfs_exit();
	return ret;
}

static void __exit mgpu_exit(void)
{
	/* No new parents from here on, then tear down what exists. */
	class_remove_file(mgpu_class, &class_attr_remove_swgpu);
	class_remove_file(mgpu_class, &class_attr_add_swgpu);
	mgpu_swgpu_remove_all();
	mgpu_vbus_exit();
	/* Unbinds the PCI devices bound as parents (BAR backend) too. */
	pci_unregister_driver(&mgpu_pci_driver);
	mgpu_parent_wait_all();
	class_destroy(mgpu_class);
	mdev_unregister_driver(&mgpu_mdev_driver);
	mgpu_debugfs_exit();
}

module_init(mgpu_init);
module_exit(mgpu_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mgpu: vGPUs for KVM guests as VFIO mediated devices");
MODULE_AUTHOR("The mgpu developers");
MODULE_SOFTDEP("pre: vfio_iommu_type1");
