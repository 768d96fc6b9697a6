// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl guest list: inside a guest, the mgpu vGPUs on the PCI bus
 * (vendor 0x1f4d, device 0x0001), through libpci.  The subsystem ID
 * 0x0100 + log2(N) gives the fraction 1/N of the parent; the BAR sizes
 * give the register file and the VRAM.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include <mgpu.h>
#include "mgpuctl.h"

static int guest_list(int argc, char **argv)
{
	struct pci_access *pacc;
	struct pci_dev *dev;
	char *sysfs = NULL;
	int found = 0;

	if (argc)
		return usage_error("guest list takes no arguments");
	pacc = pci_alloc();
	if (!pacc) {
		mc_set_error("libpci: cannot allocate");
		return fail(-1);
	}
	if (mc_root_overridden()) {
		sysfs = mc_path("/sys/bus/pci");
		pacc->method = PCI_ACCESS_SYS_BUS_PCI;
		pci_set_param(pacc, "sysfs.path", sysfs);
	}
	pci_init(pacc);
	pci_scan_bus(pacc);
	pr_begin();
	pr_arr_open("devices");
	for (dev = pacc->devices; dev; dev = dev->next) {
		unsigned int ssid, log2n, frac;
		char slot[32];
		char *type, *vram, *regs;

		pci_fill_info(dev, PCI_FILL_IDENT | PCI_FILL_BASES | PCI_FILL_SIZES);
		if (dev->vendor_id != MGPU_PCI_VENDOR_ID ||
		    dev->device_id != MGPU_PCI_DEVICE_ID)
			continue;
		found++;
		ssid = pci_read_word(dev, PCI_SUBSYSTEM_ID);
		log2n = ssid >= MGPU_PCI_SUBSYS_BASE ? ssid - MGPU_PCI_SUBSYS_BASE : 0;
		frac = log2n < 16 ? 1U << log2n : 0;
		type = frac == 1 ? mc_xstrdup("mgpu-passthrough") :
		       mc_xasprintf("mgpu-1_%u", frac);
		snprintf(slot, sizeof(slot), "%04x:%02x:%02x.%d", dev->domain,
			 dev->bus, dev->dev, dev->func);
		vram = mc_size_str(dev->size[MGPU_BAR_VRAM]);
		regs = mc_size_str(dev->size[MGPU_BAR_REGS]);
		pr_obj_open(NULL);
		pr_string("slot", "%s:", slot);
		pr_string("type", " type %s", type);
		pr_u64("fraction", " fraction 1/%" PRIu64, frac);
		pr_u64("subsystem_id", NULL, ssid);
		pr_text(" subsystem 0x%04x", ssid);
		pr_u64("vram_size", NULL, (uint64_t)dev->size[MGPU_BAR_VRAM]);
		pr_text(" vram %s", vram);
		pr_u64("regs_size", NULL, (uint64_t)dev->size[MGPU_BAR_REGS]);
		pr_text(" regs %s\n", regs);
		pr_obj_close();
		free(type);
		free(vram);
		free(regs);
	}
	pr_arr_close();
	pr_end();
	pci_cleanup(pacc);
	free(sysfs);
	if (!found)
		fprintf(stderr, "mgpuctl: no mgpu vGPU on the PCI bus (vendor %04x device %04x)\n",
			MGPU_PCI_VENDOR_ID, MGPU_PCI_DEVICE_ID);
	return EXIT_OK;
}

static const struct cmd guest_cmds[] = {
	{ "list", guest_list },
	{ NULL, NULL },
};

const struct object guest_object = {
	.name = "guest",
	.cmds = guest_cmds,
	.dflt = guest_list,
	.usage = "Usage: mgpuctl guest list\n"
		 "       mgpuctl guest help\n",
};
