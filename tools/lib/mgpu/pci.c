// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libmgpu PCI transport: the vGPU as seen from inside a guest.
 *
 * The device is found under /sys/bus/pci/devices, enabled through its
 * "enable" attribute, and its BARs are mapped from resource0 (registers:
 * 32-bit volatile accesses only) and resource2 (VRAM).  There is no DMA
 * (no IOMMU mapping to make from userspace) and no interrupt delivery:
 * the library polls.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "internal.h"

#define MGPU_PCI_SYSFS	"/sys/bus/pci/devices"

static int mgpu_pci_reg_read(struct mgpu_dev *dev, uint32_t off,
			     uint32_t *val)
{
	*val = dev->regs[off / 4];
	return 0;
}

static int mgpu_pci_reg_write(struct mgpu_dev *dev, uint32_t off,
			      uint32_t val)
{
	/* Commands and polled tails written to VRAM before go first. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	dev->regs[off / 4] = val;
	return 0;
}

static void mgpu_pci_close(struct mgpu_dev *dev)
{
	if (dev->regs)
		munmap((void *)dev->regs, dev->regs_map_size);
	if (dev->vram)
		munmap(dev->vram, dev->vram_map_size);
}

static const struct mgpu_transport_ops mgpu_pci_ops = {
	.reg_read = mgpu_pci_reg_read,
	.reg_write = mgpu_pci_reg_write,
	.close = mgpu_pci_close,
};

static int mgpu_pci_read_hex(const char *bdf, const char *attr,
			     unsigned long *val)
{
	char path[PATH_MAX], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), MGPU_PCI_SYSFS "/%s/%s", bdf, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	*val = strtoul(buf, NULL, 16);
	return 0;
}

static bool mgpu_pci_is_mgpu(const char *bdf)
{
	unsigned long vendor, device;

	return !mgpu_pci_read_hex(bdf, "vendor", &vendor) &&
	       !mgpu_pci_read_hex(bdf, "device", &device) &&
	       vendor == MGPU_PCI_VENDOR_ID && device == MGPU_PCI_DEVICE_ID;
}

/* The first mgpu device, in sysfs (directory) order sorted by address. */
static int mgpu_pci_find(char *bdf, size_t len)
{
	struct dirent **names;
	int i, n, ret = -ENOENT;

	n = scandir(MGPU_PCI_SYSFS, &names, NULL, alphasort);
	if (n < 0) {
		mgpu_set_error(MGPU_PCI_SYSFS ": %s", strerror(errno));
		return -ENOENT;
	}
	for (i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);

		if (ret && names[i]->d_name[0] != '.' && l < len &&
		    mgpu_pci_is_mgpu(names[i]->d_name)) {
			memcpy(bdf, names[i]->d_name, l + 1);
			ret = 0;
		}
		free(names[i]);
	}
	free(names);
	if (ret)
		mgpu_set_error("no PCI device %04x:%04x under " MGPU_PCI_SYSFS,
			       MGPU_PCI_VENDOR_ID, MGPU_PCI_DEVICE_ID);
	return ret;
}

static int mgpu_pci_map(const char *bdf, const char *res, size_t want,
			void **addr, size_t *size)
{
	char path[PATH_MAX];
	struct stat st;
	void *p;
	int fd, ret;

	snprintf(path, sizeof(path), MGPU_PCI_SYSFS "/%s/%s", bdf, res);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		mgpu_set_error("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!st.st_size || (want && (size_t)st.st_size < want)) {
		mgpu_set_error("%s: BAR of %lld bytes, expected %zu", path,
			       (long long)st.st_size, want);
		close(fd);
		return -ENODEV;
	}
	*size = want ? want : (size_t)st.st_size;
	p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ret = -errno;
	close(fd);
	if (p == MAP_FAILED) {
		mgpu_set_error("mmap %s: %s", path, strerror(-ret));
		return ret;
	}
	*addr = p;
	return 0;
}

/* Set Bus Master Enable through the device's config file in sysfs. */
static int mgpu_pci_set_master(const char *bdf)
{
	char path[PATH_MAX];
	uint16_t cmd;
	int fd, ret = 0;

	snprintf(path, sizeof(path), MGPU_PCI_SYSFS "/%s/config", bdf);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		mgpu_set_error("%s: %s", path, strerror(errno));
		return ret;
	}
	if (pread(fd, &cmd, 2, PCI_COMMAND) != 2) {
		ret = -EIO;
	} else if (!(cmd & PCI_COMMAND_MASTER)) {
		cmd |= PCI_COMMAND_MASTER;
		if (pwrite(fd, &cmd, 2, PCI_COMMAND) != 2)
			ret = -EIO;
	}
	if (ret)
		mgpu_set_error("%s: cannot enable bus mastering", path);
	close(fd);
	return ret;
}

MGPU_EXPORT int mgpu_open_pci(const char *bdf, struct mgpu_dev **devp)
{
	char path[PATH_MAX], found[64];
	unsigned long enabled;
	struct mgpu_dev *dev;
	void *p;
	int fd, ret;

	mgpu_set_error("%s", "");
	if (bdf && (!*bdf || strchr(bdf, '/') || strlen(bdf) >= sizeof(found)))
		return -EINVAL;
	if (!bdf) {
		ret = mgpu_pci_find(found, sizeof(found));
		if (ret)
			return ret;
		bdf = found;
	} else if (!mgpu_pci_is_mgpu(bdf)) {
		snprintf(path, sizeof(path), MGPU_PCI_SYSFS "/%s", bdf);
		if (access(path, F_OK)) {
			mgpu_set_error("%s: no such PCI device", path);
			return -ENOENT;
		}
		mgpu_set_error("%s: not an mgpu device", bdf);
		return -ENODEV;
	}

	ret = mgpu_dev_new(&dev);
	if (ret)
		return ret;
	dev->transport = MGPU_TRANSPORT_PCI;
	dev->ops = &mgpu_pci_ops;
	snprintf(dev->name, sizeof(dev->name), "%s", bdf);

	/* Enable memory decoding, unless a driver or a user already did. */
	snprintf(path, sizeof(path), MGPU_PCI_SYSFS "/%s/enable", bdf);
	fd = -1;
	if (mgpu_pci_read_hex(bdf, "enable", &enabled) || !enabled)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0 && errno != EBUSY)
			mgpu_set_error("%s: %s (continuing)", path,
				       strerror(errno));
		close(fd);
	}

	/* The device runs its queues only while bus mastering is on. */
	ret = mgpu_pci_set_master(bdf);
	if (ret)
		goto err;

	ret = mgpu_pci_map(bdf, "resource0", MGPU_REGS_SIZE, &p,
			   &dev->regs_map_size);
	if (ret)
		goto err;
	dev->regs = p;
	ret = mgpu_pci_map(bdf, "resource2", 0, &p, &dev->vram_map_size);
	if (ret)
		goto err;
	dev->vram = p;

	ret = mgpu_dev_probe(dev);
	if (ret)
		goto err;
	*devp = dev;
	return 0;

err:
	mgpu_pci_close(dev);
	mgpu_dev_free(dev);
	return ret;
}
