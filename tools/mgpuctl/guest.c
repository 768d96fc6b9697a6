// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl guest list: inside a guest, the mgpu vGPUs on the PCI bus
 * (vendor 0x1f4d, device 0x0001).
 *
 * Each is opened through libmgpu's PCI transport (mgpu_open_pci(), the
 * one code that opens a vGPU), which gives the device's own view: its
 * FRACTION, VRAM_SIZE, NUM_QUEUES and VERSION registers.  sysfs gives
 * the rest: the addresses (libmgpu has no call that lists them), the
 * subsystem ID (0x0100 + log2 N for a 1/N fraction) and the BAR sizes.
 * A device that cannot be opened (not root; or MGPUCTL_ROOT, a fake
 * tree libmgpu does not read) is shown from sysfs alone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmgpu.h>
#include "mgpuctl.h"

struct guest_dev {
	char slot[256];
	uint64_t subsystem_id, fraction, vram_size, regs_size;
	bool opened;
	unsigned int queues;
	uint32_t hw_version;
};

/* A BAR's size from the device's "resource" file ("start end flags"). */
static uint64_t bar_size(const char *dir, unsigned int bar)
{
	char *path = mc_xasprintf("%s/resource", dir), *text, *line, *save;
	unsigned long long start, end;
	uint64_t size = 0;
	unsigned int i = 0;

	if (mc_read_str(path, &text)) {
		free(path);
		return 0;
	}
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++)
		if (i == bar && sscanf(line, "%llx %llx", &start, &end) == 2 && end)
			size = end - start + 1;
	free(text);
	free(path);
	return size;
}

static bool read_hex(const char *dir, const char *attr, uint64_t *v)
{
	char *p = mc_xasprintf("%s/%s", dir, attr);
	bool ok = !mc_read_u64(p, v);

	free(p);
	return ok;
}

/* The sysfs view of slot; false if it is not an mgpu vGPU. */
static bool guest_dev_sysfs(const char *devices, const char *slot, struct guest_dev *g)
{
	char *dir = mc_xasprintf("%s/%s", devices, slot);
	uint64_t vendor, device;
	bool mine;

	memset(g, 0, sizeof(*g));
	mine = read_hex(dir, "vendor", &vendor) && read_hex(dir, "device", &device) &&
	       vendor == MGPU_PCI_VENDOR_ID && device == MGPU_PCI_DEVICE_ID;
	if (mine) {
		snprintf(g->slot, sizeof(g->slot), "%s", slot);
		read_hex(dir, "subsystem_device", &g->subsystem_id);
		g->fraction = g->subsystem_id >= MGPU_PCI_SUBSYS_BASE &&
			      g->subsystem_id - MGPU_PCI_SUBSYS_BASE < 16 ?
			      1ULL << (g->subsystem_id - MGPU_PCI_SUBSYS_BASE) : 0;
		g->vram_size = bar_size(dir, MGPU_BAR_VRAM);
		g->regs_size = bar_size(dir, MGPU_BAR_REGS);
	}
	free(dir);
	return mine;
}

/* The device's own view, through libmgpu. */
static void guest_dev_open(struct guest_dev *g)
{
	struct mgpu_dev *dev;
	int ret;

	if (mc_root_overridden())
		return;
	ret = mgpu_open_pci(g->slot, &dev);
	if (ret) {
		mc_log(MC_LOG_WARNING, "%s: cannot open it through libmgpu: %s%s%s; showing sysfs only",
		       g->slot, mgpu_strerror(ret), *mgpu_last_error() ? ": " : "",
		       mgpu_last_error());
		return;
	}
	g->opened = true;
	g->fraction = mgpu_fraction(dev);
	g->vram_size = mgpu_vram_size(dev);
	g->queues = mgpu_num_queues(dev);
	g->hw_version = mgpu_hw_version(dev);
	mgpu_close(dev);
}

static void guest_dev_print(const struct guest_dev *g)
{
	char *type = g->fraction == 1 ? mc_xstrdup("mgpu-passthrough") :
		     mc_xasprintf("mgpu-1_%" PRIu64, g->fraction);
	char *vram = mc_size_str(g->vram_size), *regs = mc_size_str(g->regs_size);
	char *ver = mc_xasprintf("%u.%u", g->hw_version >> 16, g->hw_version & 0xffff);

	pr_obj_open(NULL);
	pr_string("slot", "%s:", g->slot);
	pr_string("type", " type %s", type);
	pr_u64("fraction", " fraction 1/%" PRIu64, g->fraction);
	pr_u64("subsystem_id", NULL, g->subsystem_id);
	pr_text(" subsystem 0x%04" PRIx64, g->subsystem_id);
	pr_u64("vram_size", NULL, g->vram_size);
	pr_text(" vram %s", vram);
	pr_u64("regs_size", NULL, g->regs_size);
	pr_text(" regs %s", regs);
	if (g->opened) {
		pr_u64("queues", " queues %" PRIu64, g->queues);
		pr_string("hw_version", " version %s", ver);
	}
	pr_text("\n");
	pr_obj_close();
	free(type);
	free(vram);
	free(regs);
	free(ver);
}

static int guest_list(int argc, char **argv)
{
	char *devices = mc_path("/sys/bus/pci/devices");
	struct dirent **names = NULL;
	struct guest_dev g;
	int i, n, found = 0;

	if (argc) {
		free(devices);
		return usage_error("guest list takes no arguments");
	}
	n = scandir(devices, &names, NULL, alphasort);
	pr_begin();
	pr_arr_open("devices");
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    guest_dev_sysfs(devices, names[i]->d_name, &g)) {
			found++;
			guest_dev_open(&g);
			guest_dev_print(&g);
		}
		free(names[i]);
	}
	pr_arr_close();
	pr_end();
	free(names);
	free(devices);
	if (!found)
		mc_log(MC_LOG_ERR, "no mgpu vGPU on the PCI bus (vendor %04x device %04x)",
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
