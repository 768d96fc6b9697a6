// SPDX-License-Identifier: GPL-2.0
/*
 * Open one vGPU both ways VFIO offers and use it through each:
 *
 *   1. legacy: /dev/vfio/vfio (container, type1) + /dev/vfio/GROUP,
 *      VFIO_GROUP_GET_DEVICE_FD;
 *   2. iommufd: /dev/vfio/devices/vfioX (the device cdev,
 *      CONFIG_VFIO_DEVICE_CDEV) bound to /dev/iommu
 *      (VFIO_DEVICE_BIND_IOMMUFD) and attached to a new IOAS
 *      (IOMMU_IOAS_ALLOC, VFIO_DEVICE_ATTACH_IOMMUFD_PT).
 *
 * Through each: VFIO_DEVICE_GET_INFO (a PCI device), the vendor/device
 * ID from the config region and MGPU_REG_MAGIC from BAR0.  Path 2 is
 * skipped on kernels without the device cdev (Debian's 6.1 and 6.12);
 * the mgpu debug kernel (scripts/debug-kernel.config) has it.
 *
 * Self-contained (KTAP on stdout, no kselftest harness): it lives apart
 * from selftests/mgpu and is built by scripts/build-extra-tests.sh.  The
 * iommufd ABI (6.6+) is declared here: Debian 12's linux-libc-dev (6.1)
 * does not have it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "../../include/uapi/mgpu.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD	_IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 19)
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT	_IO(VFIO_TYPE, VFIO_BASE + 20)
#endif

#define IOMMUFD_TYPE			(';')
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC		_IO(IOMMUFD_TYPE, 0x81)
struct iommu_destroy {
	__u32 size;
	__u32 id;
};
#define IOMMU_DESTROY			_IO(IOMMUFD_TYPE, 0x80)

#define MDEV_DIR	"/sys/bus/mdev/devices"
/* mdev parents by name: a software GPU is named by its PCI address */
#define MDEV_PARENTS	"/sys/class/mdev_bus"
#define MGPU_PCI_DOMAIN	"/sys/module/mgpu/parameters/pci_domain"

/* $MGPU_TEST_PARENT, else the first software GPU: DDDD:00:00.0 */
static const char *parent_name(void)
{
	static char name[16];
	const char *env = getenv("MGPU_TEST_PARENT");
	unsigned long domain = 0x6d67;
	char buf[32];
	FILE *f;

	if (env && *env)
		return env;
	f = fopen(MGPU_PCI_DOMAIN, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			domain = strtoul(buf, NULL, 0);
		fclose(f);
	}
	snprintf(name, sizeof(name), "%04lx:00:00.0", domain & 0xffff);
	return name;
}

static int test_no;
static int failed;

static void result(int ok, const char *name, const char *skip)
{
	test_no++;
	if (skip)
		printf("ok %d %s # SKIP %s\n", test_no, name, skip);
	else
		printf("%sok %d %s\n", ok ? "" : "not ", test_no, name);
	if (!ok && !skip)
		failed = 1;
	fflush(stdout);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return 0;
}

/* create an instance of the smallest type with room; uuid out */
static int create_vgpu(char *uuid, size_t len, char *path, size_t plen)
{
	static const char *const types[] = { "mgpu-1_16", "mgpu-1_8", "mgpu-1_4" };
	FILE *f;
	size_t i;

	f = fopen("/proc/sys/kernel/random/uuid", "r");
	if (!f || !fgets(uuid, len, f)) {
		if (f)
			fclose(f);
		return -EIO;
	}
	fclose(f);
	uuid[strcspn(uuid, "\n")] = '\0';
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		snprintf(path, plen, "%s/%s/mdev_supported_types/%s/create",
			 MDEV_PARENTS, parent_name(), types[i]);
		if (!write_str(path, uuid))
			return 0;
	}
	return -ENOSPC;
}

static void remove_vgpu(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s/remove", MDEV_DIR, uuid);
	write_str(path, "1");
}

/* the device through its fd: info, PCI IDs, BAR0 magic; 0 if all good */
static int check_device(int dev, const char *how)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	uint16_t ids[2], cmd;
	uint32_t magic;

	if (ioctl(dev, VFIO_DEVICE_GET_INFO, &info)) {
		printf("# %s: VFIO_DEVICE_GET_INFO: %s\n", how, strerror(errno));
		return -1;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		printf("# %s: not a PCI device (flags %#x, %u regions)\n", how,
		       info.flags, info.num_regions);
		return -1;
	}
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg) ||
	    pread(dev, ids, sizeof(ids), reg.offset + PCI_VENDOR_ID) != sizeof(ids)) {
		printf("# %s: config space: %s\n", how, strerror(errno));
		return -1;
	}
	if (ids[0] != MGPU_PCI_VENDOR_ID || ids[1] != MGPU_PCI_DEVICE_ID) {
		printf("# %s: PCI ID %04x:%04x\n", how, ids[0], ids[1]);
		return -1;
	}
	/* As a driver: memory space on, or BAR0 does not answer. */
	cmd = PCI_COMMAND_MEMORY;
	if (pwrite(dev, &cmd, sizeof(cmd), reg.offset + PCI_COMMAND) != sizeof(cmd)) {
		printf("# %s: command register: %s\n", how, strerror(errno));
		return -1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.argsz = sizeof(reg);
	reg.index = VFIO_PCI_BAR0_REGION_INDEX + MGPU_BAR_REGS;
	if (ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &reg) ||
	    pread(dev, &magic, sizeof(magic), reg.offset + MGPU_REG_MAGIC) != sizeof(magic)) {
		printf("# %s: BAR0: %s\n", how, strerror(errno));
		return -1;
	}
	if (magic != MGPU_MAGIC) {
		printf("# %s: BAR0 magic %#x, expected %#x\n", how, magic, MGPU_MAGIC);
		return -1;
	}
	return 0;
}

static int open_legacy(const char *uuid)
{
	char path[256], link[128], *base;
	struct vfio_group_status st = { .argsz = sizeof(st) };
	int container = -1, group = -1, dev = -1, ret = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/iommu_group", MDEV_DIR, uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		printf("# legacy: %s: %s\n", path, strerror(errno));
		return -1;
	}
	link[n] = '\0';
	base = strrchr(link, '/');
	snprintf(path, sizeof(path), "/dev/vfio/%s", base ? base + 1 : link);
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (container < 0 || group < 0) {
		printf("# legacy: open /dev/vfio/vfio or %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0 ||
	    ioctl(group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE) ||
	    ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) ||
	    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) {
		printf("# legacy: container/group setup: %s\n", strerror(errno));
		goto out;
	}
	dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (dev < 0) {
		printf("# legacy: VFIO_GROUP_GET_DEVICE_FD: %s\n", strerror(errno));
		goto out;
	}
	ret = check_device(dev, "legacy");
out:
	if (dev >= 0)
		close(dev);
	if (group >= 0) {
		ioctl(group, VFIO_GROUP_UNSET_CONTAINER);
		close(group);
	}
	if (container >= 0)
		close(container);
	return ret;
}

/* the device cdev's name (vfioN) from sysfs; 0 if found */
static int cdev_name(const char *uuid, char *name, size_t len)
{
	char path[256];
	struct dirent *de;
	DIR *d;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "%s/%s/vfio-dev", MDEV_DIR, uuid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "vfio", 4)) {
			snprintf(name, len, "%s", de->d_name);
			ret = 0;
			break;
		}
	}
	closedir(d);
	return ret;
}

static int open_cdev(const char *uuid, const char *name)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	char path[NAME_MAX + 32];
	int iommufd, dev = -1, ret = -1;

	(void)uuid;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	dev = open(path, O_RDWR | O_CLOEXEC);
	if (iommufd < 0 || dev < 0) {
		printf("# iommufd: open /dev/iommu or %s: %s\n", path, strerror(errno));
		goto out;
	}
	/* Before the bind, the cdev must refuse device ioctls. */
	if (check_device(dev, "iommufd (unbound, must fail)") == 0) {
		printf("# iommufd: the cdev worked before VFIO_DEVICE_BIND_IOMMUFD\n");
		goto out;
	}
	bind.iommufd = iommufd;
	if (ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
		printf("# iommufd: VFIO_DEVICE_BIND_IOMMUFD: %s\n", strerror(errno));
		goto out;
	}
	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas)) {
		printf("# iommufd: IOMMU_IOAS_ALLOC: %s\n", strerror(errno));
		goto out;
	}
	at.pt_id = ioas.out_ioas_id;
	if (ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at)) {
		printf("# iommufd: VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s\n", strerror(errno));
		goto out;
	}
	ret = check_device(dev, "iommufd");
	if (ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt)) {
		printf("# iommufd: VFIO_DEVICE_DETACH_IOMMUFD_PT: %s\n", strerror(errno));
		ret = -1;
	}
	destroy.id = ioas.out_ioas_id;
	if (ioctl(iommufd, IOMMU_DESTROY, &destroy)) {
		printf("# iommufd: IOMMU_DESTROY of the IOAS: %s\n", strerror(errno));
		ret = -1;
	}
out:
	if (dev >= 0)
		close(dev);
	if (iommufd >= 0)
		close(iommufd);
	return ret;
}

int main(void)
{
	char uuid[64], path[256], name[NAME_MAX + 1];
	int ret, has_cdev;

	printf("KTAP version 1\n1..3\n");
	ret = create_vgpu(uuid, sizeof(uuid), path, sizeof(path));
	if (ret) {
		printf("# cannot create a vGPU on %s: %s\n", parent_name(),
		       strerror(-ret));
		printf("Bail out! no vGPU\n");
		return 1;
	}
	printf("# vGPU %s\n", uuid);
	result(open_legacy(uuid) == 0, "legacy group/container: open and use the vGPU", NULL);

	has_cdev = access("/dev/iommu", F_OK) == 0 &&
		   cdev_name(uuid, name, sizeof(name)) == 0;
	if (has_cdev) {
		printf("# device cdev /dev/vfio/devices/%s\n", name);
		result(open_cdev(uuid, name) == 0,
		       "iommufd: /dev/vfio/devices/vfioX + /dev/iommu: open and use the vGPU", NULL);
		/* And the legacy path again after the cdev was closed. */
		result(open_legacy(uuid) == 0, "legacy group/container again after iommufd", NULL);
	} else {
		result(1, "iommufd: /dev/vfio/devices/vfioX + /dev/iommu",
		       "no /dev/iommu or no vfio-dev cdev (CONFIG_IOMMUFD, CONFIG_VFIO_DEVICE_CDEV)");
		result(1, "legacy group/container again after iommufd", "no device cdev");
	}
	remove_vgpu(uuid);
	return failed ? 1 : 0;
}
