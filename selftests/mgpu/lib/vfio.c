// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: a vGPU opened through VFIO, and raw accesses to it.
 *
 * libmgpu opens the device (container, group, IOMMU, device fd): there
 * is one code path that does.  The tests then poke the device fd
 * directly, to check the kernel's handling of every kind of access.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "libmgpu.h"
#include "mgpu_test.h"

int mgpu_test_vfio_open(struct mgpu_test_vfio *v, const char *uuid)
{
	uint64_t size = 0;
	int ret;

	v->dev = NULL;
	v->device = -1;
	ret = mgpu_open_vfio(uuid, &v->dev);
	if (ret) {
		fprintf(stderr, "# mgpu_open_vfio(%s): %s: %s\n", uuid,
			mgpu_strerror(ret), mgpu_last_error());
		return ret;
	}
	v->device = mgpu_vfio_device_fd(v->dev);
	/*
	 * Tests fork helpers (a blocking sysfs write, say) that close the
	 * inherited fds; libmgpu's BAR2 mapping would still hold the device
	 * open in them.  Keep it out of children.
	 */
	if (!mgpu_vfio_region(v->dev, VFIO_PCI_BAR2_REGION_INDEX, NULL,
			      &size) && size)
		madvise(mgpu_vram(v->dev), size, MADV_DONTFORK);
	return 0;
}

void mgpu_test_vfio_close(struct mgpu_test_vfio *v)
{
	mgpu_close(v->dev);
	v->dev = NULL;
	v->device = -1;
}

int mgpu_test_instance_open(struct mgpu_test_instances *l,
			    const char *parent, const char *type,
			    char uuid[MGPU_UUID_BUF], uint64_t *vram,
			    struct mgpu_test_vfio *v)
{
	int ret;

	ret = mgpu_test_instances_create(l, parent, type, uuid);
	if (!ret && vram)
		ret = mgpu_test_instance_u64(uuid, "vram_size", vram);
	if (!ret)
		ret = mgpu_test_vfio_open(v, uuid);
	if (ret)
		mgpu_test_instances_cleanup(l);
	return ret;
}

int mgpu_test_device_info(int dev, struct vfio_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(dev, VFIO_DEVICE_GET_INFO, info) ? -errno : 0;
}

int mgpu_test_region_info(int dev, unsigned int index,
			  struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, info) ? -errno : 0;
}

int mgpu_test_irq_info(int dev, unsigned int index,
		       struct vfio_irq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, info) ? -errno : 0;
}

ssize_t mgpu_test_region_read(int dev, unsigned int index, uint64_t off,
			      void *buf, size_t len)
{
	ssize_t n = pread(dev, buf, len, MGPU_REGION_OFFSET(index) + off);

	return n < 0 ? -errno : n;
}

ssize_t mgpu_test_region_write(int dev, unsigned int index, uint64_t off,
			       const void *buf, size_t len)
{
	ssize_t n = pwrite(dev, buf, len, MGPU_REGION_OFFSET(index) + off);

	return n < 0 ? -errno : n;
}

/* 0 for a whole transfer, -EIO for a short one, else -errno. */
static int whole(ssize_t n, size_t len)
{
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

int mgpu_test_bar0_read(int dev, uint32_t reg, uint32_t *val)
{
	return whole(mgpu_test_region_read(dev, VFIO_PCI_BAR0_REGION_INDEX,
					   reg, val, sizeof(*val)),
		     sizeof(*val));
}

int mgpu_test_bar0_write(int dev, uint32_t reg, uint32_t val)
{
	return whole(mgpu_test_region_write(dev, VFIO_PCI_BAR0_REGION_INDEX,
					    reg, &val, sizeof(val)),
		     sizeof(val));
}

int mgpu_test_cfg_read(int dev, uint32_t off, void *val, size_t size)
{
	return whole(mgpu_test_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   off, val, size), size);
}

int mgpu_test_cfg_write(int dev, uint32_t off, const void *val, size_t size)
{
	return whole(mgpu_test_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX,
					    off, val, size), size);
}

/* x86 only (little endian), like the rest of mgpu's test setup. */
#define DEFINE_CFG_ACCESSORS(bits)					\
uint##bits##_t mgpu_test_cfg_read##bits(int dev, uint32_t off)		\
{									\
	uint##bits##_t val = 0;						\
									\
	MGPU_TEST_ASSERT_EQ(mgpu_test_cfg_read(dev, off, &val,		\
					       sizeof(val)), 0);	\
	return val;							\
}									\
void mgpu_test_cfg_write##bits(int dev, uint32_t off,			\
			       uint##bits##_t val)			\
{									\
	MGPU_TEST_ASSERT_EQ(mgpu_test_cfg_write(dev, off, &val,		\
						sizeof(val)), 0);	\
}

DEFINE_CFG_ACCESSORS(8)
DEFINE_CFG_ACCESSORS(16)
DEFINE_CFG_ACCESSORS(32)

uint8_t mgpu_test_cfg_find_cap(int dev, uint8_t id)
{
	uint8_t pos;
	int ttl = 48;

	if (!(mgpu_test_cfg_read16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = mgpu_test_cfg_read8(dev, PCI_CAPABILITY_LIST) & ~3;
	while (pos >= 0x40 && ttl--) {
		if (mgpu_test_cfg_read8(dev, pos + PCI_CAP_LIST_ID) == id)
			return pos;
		pos = mgpu_test_cfg_read8(dev, pos + PCI_CAP_LIST_NEXT) & ~3;
	}
	return 0;
}

int mgpu_test_set_req_eventfd(int dev, int efd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd = efd;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	return ioctl(dev, VFIO_DEVICE_SET_IRQS, set) ? -errno : 0;
}
