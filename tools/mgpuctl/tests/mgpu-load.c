// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-load: a workload for the mgpuctl tests.  Opens an mgpu instance
 * through VFIO (legacy container + group), puts a ring on queue 0 in
 * VRAM and keeps it busy with FILL commands for SECONDS.
 *
 * usage: mgpu-load UUID SECONDS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include <mgpu.h>

#define RING_ENTRIES	64
#define FILL_BYTES	(256 * 1024)

static int dev_fd;
static uint64_t bar0, bar2;

static void die(const char *what)
{
	fprintf(stderr, "mgpu-load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t region(unsigned int index)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = index };

	if (ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, &ri))
		die("VFIO_DEVICE_GET_REGION_INFO");
	return ri.offset;
}

static void wr32(uint32_t off, uint32_t v)
{
	if (pwrite(dev_fd, &v, 4, bar0 + off) != 4)
		die("BAR0 write");
}

static uint32_t rd32(uint32_t off)
{
	uint32_t v;

	if (pread(dev_fd, &v, 4, bar0 + off) != 4)
		die("BAR0 read");
	return v;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX], link[PATH_MAX], *grp;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int container, group, secs;
	uint16_t cmdreg = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	uint32_t tail = 0, q = MGPU_REG_QUEUE(0);
	unsigned long long rounds = 0;
	time_t end;
	ssize_t n;

	if (argc != 3) {
		fprintf(stderr, "usage: mgpu-load UUID SECONDS\n");
		return 2;
	}
	secs = atoi(argv[2]);
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group", argv[1]);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		die(path);
	link[n] = '\0';
	grp = strrchr(link, '/') + 1;
	snprintf(path, sizeof(path), "/dev/vfio/%s", grp);

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		die("/dev/vfio/vfio");
	group = open(path, O_RDWR);
	if (group < 0)
		die(path);
	if (ioctl(group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		die("group not viable");
	if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container))
		die("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		die("VFIO_SET_IOMMU");
	dev_fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[1]);
	if (dev_fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD");
	bar0 = region(VFIO_PCI_BAR0_REGION_INDEX);
	bar2 = region(VFIO_PCI_BAR2_REGION_INDEX);
	if (pwrite(dev_fd, &cmdreg, 2, region(VFIO_PCI_CONFIG_REGION_INDEX) + PCI_COMMAND) != 2)
		die("config write");
	if (rd32(MGPU_REG_MAGIC) == 0)
		die("no magic");

	/* Ring at VRAM 0, FILL target at VRAM 1 MiB. */
	wr32(q + MGPU_Q_CTRL, 0);
	wr32(q + MGPU_Q_RING_LO, 0);
	wr32(q + MGPU_Q_RING_HI, 0);
	wr32(q + MGPU_Q_RING_SIZE, RING_ENTRIES);
	wr32(q + MGPU_Q_CTRL, MGPU_QCTRL_ENABLE);
	for (unsigned int i = 0; i < RING_ENTRIES; i++) {
		struct mgpu_cmd c = { .opcode = MGPU_OP_FILL };

		c.arg[0] = 1 << 20;
		c.arg[1] = FILL_BYTES;
		c.arg[2] = 0x5a5a5a5a;
		if (pwrite(dev_fd, &c, sizeof(c), bar2 + i * sizeof(c)) != sizeof(c))
			die("ring write");
	}
	fprintf(stderr, "mgpu-load: %s: running FILLs for %ds\n", argv[1], secs);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		/* Keep the ring nearly full: submit up to the slot before HEAD. */
		uint32_t head = rd32(q + MGPU_Q_HEAD);

		if (rd32(q + MGPU_Q_STATUS) & MGPU_QSTAT_ERROR) {
			fprintf(stderr, "mgpu-load: queue error %u\n", rd32(q + MGPU_Q_ERROR));
			return 1;
		}
		tail = (head + RING_ENTRIES - 1) % RING_ENTRIES;
		wr32(q + MGPU_Q_TAIL, tail);
		rounds++;
		usleep(2000);
	}
	wr32(q + MGPU_Q_CTRL, 0);
	fprintf(stderr, "mgpu-load: done (%llu doorbells)\n", rounds);
	return 0;
}
