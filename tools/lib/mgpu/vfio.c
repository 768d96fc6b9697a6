// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libmgpu VFIO transport: the host side of a vGPU (an mdev).
 *
 * BAR0 is trapped and cannot be mapped: registers are read and written
 * with pread()/pwrite() at the region's offset in the device fd.  BAR2 is
 * mapped.  Process memory is mapped for DMA through the type1 IOMMU
 * backend, and interrupts arrive on an eventfd (MSI, or INTx).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "internal.h"

static int mgpu_vfio_reg_read(struct mgpu_dev *dev, uint32_t off,
			      uint32_t *val)
{
	ssize_t n = pread(dev->device_fd, val, 4, dev->bar0_offset + off);

	if (n == 4)
		return 0;
	return n < 0 ? -errno : -EIO;
}

static int mgpu_vfio_reg_write(struct mgpu_dev *dev, uint32_t off,
			       uint32_t val)
{
	ssize_t n = pwrite(dev->device_fd, &val, 4, dev->bar0_offset + off);

	if (n == 4)
		return 0;
	return n < 0 ? -errno : -EIO;
}

static void mgpu_vfio_close(struct mgpu_dev *dev)
{
	mgpu_vfio_dma_release_all(dev);
	if (dev->vram)
		munmap(dev->vram, dev->vram_map_size);
	if (dev->device_fd >= 0)
		close(dev->device_fd);
	if (dev->group_fd >= 0) {
		ioctl(dev->group_fd, VFIO_GROUP_UNSET_CONTAINER);
		close(dev->group_fd);
	}
	if (dev->container_fd >= 0)
		close(dev->container_fd);
}

static const struct mgpu_transport_ops mgpu_vfio_ops = {
	.reg_read = mgpu_vfio_reg_read,
	.reg_write = mgpu_vfio_reg_write,
	.close = mgpu_vfio_close,
};

static int mgpu_vfio_region_info(int fd, unsigned int index,
				 struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, info))
		return -errno;
	return 0;
}

/* Container, group, IOMMU and device fd. */
static int mgpu_vfio_attach(struct mgpu_dev *dev, const char *uuid)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	int ret;

	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/iommu_group",
		 uuid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		ret = -errno;
		mgpu_set_error("%s: %s", path, strerror(errno));
		return ret;
	}
	link[n] = '\0';

	dev->container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (dev->container_fd < 0) {
		ret = -errno;
		mgpu_set_error("/dev/vfio/vfio: %s", strerror(errno));
		return ret;
	}
	if (ioctl(dev->container_fd, VFIO_GET_API_VERSION) !=
	    VFIO_API_VERSION) {
		mgpu_set_error("/dev/vfio/vfio: unknown VFIO API version");
		return -EPROTO;
	}
	if (ioctl(dev->container_fd, VFIO_CHECK_EXTENSION,
		  VFIO_TYPE1_IOMMU) <= 0) {
		mgpu_set_error("VFIO type1 IOMMU not supported (vfio_iommu_type1 not loaded?)");
		return -EOPNOTSUPP;
	}

	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	dev->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->group_fd < 0) {
		ret = -errno;
		mgpu_set_error("%s: %s", path, strerror(errno));
		return ret;
	}
	if (ioctl(dev->group_fd, VFIO_GROUP_GET_STATUS, &status)) {
		ret = -errno;
		mgpu_set_error("%s: VFIO_GROUP_GET_STATUS: %s", path,
			       strerror(errno));
		return ret;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		mgpu_set_error("%s: group not viable", path);
		return -EBUSY;
	}
	if (ioctl(dev->group_fd, VFIO_GROUP_SET_CONTAINER,
		  &dev->container_fd)) {
		ret = -errno;
		mgpu_set_error("%s: VFIO_GROUP_SET_CONTAINER: %s", path,
			       strerror(errno));
		return ret;
	}
	if (ioctl(dev->container_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU)) {
		ret = -errno;
		mgpu_set_error("VFIO_SET_IOMMU(TYPE1): %s", strerror(errno));
		return ret;
	}
	dev->device_fd = ioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (dev->device_fd < 0) {
		ret = -errno;
		mgpu_set_error("%s: VFIO_GROUP_GET_DEVICE_FD: %s", uuid,
			       strerror(errno));
		return ret;
	}
	return 0;
}

/*
 * Turn on memory space and bus mastering in the command register, as a
 * driver does after reset: the device answers BAR accesses and runs its
 * queues only then.
 */
static int mgpu_vfio_enable(struct mgpu_dev *dev)
{
	struct vfio_region_info cfg;
	uint16_t cmd;
	int ret;

	ret = mgpu_vfio_region_info(dev->device_fd,
				    VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	if (ret)
		return ret;
	if (pread(dev->device_fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -errno;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(dev->device_fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -errno;
	return 0;
}

MGPU_EXPORT int mgpu_open_vfio(const char *uuid, struct mgpu_dev **devp)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct vfio_region_info bar0, bar2;
	struct mgpu_dev *dev;
	void *vram;
	int ret;

	mgpu_set_error("%s", "");
	if (!uuid || !*uuid || strchr(uuid, '/') ||
	    strlen(uuid) >= sizeof(dev->name))
		return -EINVAL;
	ret = mgpu_dev_new(&dev);
	if (ret)
		return ret;
	dev->transport = MGPU_TRANSPORT_VFIO;
	dev->ops = &mgpu_vfio_ops;
	snprintf(dev->name, sizeof(dev->name), "%s", uuid);

	ret = mgpu_vfio_attach(dev, uuid);
	if (ret)
		goto err;

	if (ioctl(dev->device_fd, VFIO_DEVICE_GET_INFO, &info)) {
		ret = -errno;
		mgpu_set_error("%s: VFIO_DEVICE_GET_INFO: %s", uuid,
			       strerror(errno));
		goto err;
	}
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    info.num_regions <= VFIO_PCI_BAR2_REGION_INDEX) {
		mgpu_set_error("%s: not a VFIO PCI device", uuid);
		ret = -ENODEV;
		goto err;
	}
	ret = mgpu_vfio_region_info(dev->device_fd, VFIO_PCI_BAR0_REGION_INDEX,
				    &bar0);
	if (!ret)
		ret = mgpu_vfio_region_info(dev->device_fd,
					    VFIO_PCI_BAR2_REGION_INDEX, &bar2);
	if (ret) {
		mgpu_set_error("%s: VFIO_DEVICE_GET_REGION_INFO: %s", uuid,
			       strerror(-ret));
		goto err;
	}
	if (bar0.size < MGPU_REGS_SIZE ||
	    !(bar2.flags & VFIO_REGION_INFO_FLAG_MMAP) || !bar2.size) {
		mgpu_set_error("%s: unexpected BARs (BAR0 %#llx bytes, BAR2 %#llx bytes, flags %#x)",
			       uuid, (unsigned long long)bar0.size,
			       (unsigned long long)bar2.size, bar2.flags);
		ret = -ENODEV;
		goto err;
	}
	dev->bar0_offset = bar0.offset;
	ret = mgpu_vfio_enable(dev);
	if (ret) {
		mgpu_set_error("%s: cannot enable memory space and bus mastering: %s",
			       uuid, strerror(-ret));
		goto err;
	}

	vram = mmap(NULL, bar2.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    dev->device_fd, bar2.offset);
	if (vram == MAP_FAILED) {
		ret = -errno;
		mgpu_set_error("%s: mmap of BAR2 (%#llx bytes): %s", uuid,
			       (unsigned long long)bar2.size, strerror(errno));
		goto err;
	}
	dev->vram = vram;
	dev->vram_map_size = bar2.size;

	ret = mgpu_dev_probe(dev);
	if (ret)
		goto err;
	*devp = dev;
	return 0;

err:
	mgpu_vfio_close(dev);
	mgpu_dev_free(dev);
	return ret;
}

MGPU_EXPORT int mgpu_vfio_device_fd(const struct mgpu_dev *dev)
{
	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	return dev->device_fd;
}

MGPU_EXPORT int mgpu_vfio_region(const struct mgpu_dev *dev,
				 unsigned int index, uint64_t *offset,
				 uint64_t *size)
{
	struct vfio_region_info info;
	int ret;

	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	ret = mgpu_vfio_region_info(dev->device_fd, index, &info);
	if (ret)
		return ret;
	if (offset)
		*offset = info.offset;
	if (size)
		*size = info.size;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* DMA                                                                    */

static int mgpu_vfio_map(struct mgpu_dev *dev, void *cpu, uint64_t size,
			 bool owned, uint64_t *iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)cpu,
		.size = size,
	};
	struct mgpu_dma_map_rec *rec;
	int ret;

	rec = malloc(sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	pthread_mutex_lock(&dev->lock);
	map.iova = dev->next_iova;
	if (ioctl(dev->container_fd, VFIO_IOMMU_MAP_DMA, &map)) {
		ret = -errno;
		pthread_mutex_unlock(&dev->lock);
		mgpu_set_error("VFIO_IOMMU_MAP_DMA of %#llx bytes at IOVA %#llx: %s",
			       (unsigned long long)size,
			       (unsigned long long)map.iova, strerror(-ret));
		free(rec);
		return ret;
	}
	/* Leave an unmapped page between mappings: overruns fault. */
	dev->next_iova += size + (uint64_t)sysconf(_SC_PAGESIZE);
	rec->iova = map.iova;
	rec->size = size;
	rec->cpu = cpu;
	rec->owned = owned;
	rec->next = dev->dma_maps;
	dev->dma_maps = rec;
	pthread_mutex_unlock(&dev->lock);
	*iova = map.iova;
	return 0;
}

static int mgpu_vfio_unmap(struct mgpu_dev *dev, uint64_t iova,
			   uint64_t size, void **cpu, bool *owned)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	struct mgpu_dma_map_rec **link, *rec;
	int ret = 0;

	pthread_mutex_lock(&dev->lock);
	for (link = &dev->dma_maps; *link; link = &(*link)->next)
		if ((*link)->iova == iova && (*link)->size == size)
			break;
	rec = *link;
	if (!rec) {
		pthread_mutex_unlock(&dev->lock);
		return -ENOENT;
	}
	if (ioctl(dev->container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
		ret = -errno;
	*link = rec->next;
	pthread_mutex_unlock(&dev->lock);
	if (cpu)
		*cpu = rec->cpu;
	if (owned)
		*owned = rec->owned;
	free(rec);
	return ret;
}

void mgpu_vfio_dma_release_all(struct mgpu_dev *dev)
{
	while (dev->dma_maps) {
		struct mgpu_dma_map_rec *rec = dev->dma_maps;
		uint64_t size = rec->size;
		bool owned;
		void *cpu;

		mgpu_vfio_unmap(dev, rec->iova, size, &cpu, &owned);
		if (owned)
			munmap(cpu, size);
	}
}

MGPU_EXPORT int mgpu_dma_map(struct mgpu_dev *dev, void *cpu, uint64_t size,
			     uint64_t *iova)
{
	uint64_t page = sysconf(_SC_PAGESIZE);

	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	if (!size || (size & (page - 1)) || ((uintptr_t)cpu & (page - 1)))
		return -EINVAL;
	return mgpu_vfio_map(dev, cpu, size, false, iova);
}

MGPU_EXPORT int mgpu_dma_unmap(struct mgpu_dev *dev, uint64_t iova,
			       uint64_t size)
{
	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	return mgpu_vfio_unmap(dev, iova, size, NULL, NULL);
}

MGPU_EXPORT int mgpu_dma_alloc(struct mgpu_dev *dev, size_t size,
			       struct mgpu_dma *dma)
{
	uint64_t page = sysconf(_SC_PAGESIZE), iova;
	void *cpu;
	int ret;

	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	if (!size)
		return -EINVAL;
	size = (size + page - 1) & ~(page - 1);
	cpu = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cpu == MAP_FAILED)
		return -ENOMEM;
	ret = mgpu_vfio_map(dev, cpu, size, true, &iova);
	if (ret) {
		munmap(cpu, size);
		return ret;
	}
	dma->cpu = cpu;
	dma->iova = iova;
	dma->size = size;
	return 0;
}

MGPU_EXPORT int mgpu_dma_free(struct mgpu_dev *dev, struct mgpu_dma *dma)
{
	bool owned = false;
	void *cpu = NULL;
	int ret;

	if (!dma->size)
		return 0;
	ret = mgpu_vfio_unmap(dev, dma->iova, dma->size, &cpu, &owned);
	if (ret == -ENOENT)
		return ret;
	if (owned)
		munmap(cpu, dma->size);
	memset(dma, 0, sizeof(*dma));
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Interrupts                                                             */

static int mgpu_vfio_set_irq(struct mgpu_dev *dev, unsigned int index,
			     uint32_t action, int fd)
{
	struct {
		struct vfio_irq_set hdr;
		int32_t fd;
	} set = {
		.hdr = {
			.argsz = sizeof(set),
			.index = index,
			.start = 0,
		},
	};

	if (action == VFIO_IRQ_SET_ACTION_TRIGGER && fd < 0) {
		/* Disable: DATA_NONE with count 0. */
		set.hdr.argsz = sizeof(set.hdr);
		set.hdr.flags = VFIO_IRQ_SET_DATA_NONE | action;
		set.hdr.count = 0;
	} else if (action == VFIO_IRQ_SET_ACTION_TRIGGER) {
		set.hdr.flags = VFIO_IRQ_SET_DATA_EVENTFD | action;
		set.hdr.count = 1;
		set.fd = fd;
	} else {
		set.hdr.argsz = sizeof(set.hdr);
		set.hdr.flags = VFIO_IRQ_SET_DATA_NONE | action;
		set.hdr.count = 1;
	}
	if (ioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, &set))
		return -errno;
	return 0;
}

MGPU_EXPORT int mgpu_irq_enable(struct mgpu_dev *dev)
{
	bool force_intx;
	int fd, ret;

	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	if (dev->irq_mode != MGPU_IRQ_NONE)
		return 0;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* LIBMGPU_IRQ=intx skips MSI: lets tests cover the INTx path. */
	force_intx = getenv("LIBMGPU_IRQ") &&
		     !strcmp(getenv("LIBMGPU_IRQ"), "intx");
	ret = force_intx ? -EINVAL :
	      mgpu_vfio_set_irq(dev, VFIO_PCI_MSI_IRQ_INDEX,
				VFIO_IRQ_SET_ACTION_TRIGGER, fd);
	if (!ret) {
		dev->irq_mode = MGPU_IRQ_MSI;
	} else {
		ret = mgpu_vfio_set_irq(dev, VFIO_PCI_INTX_IRQ_INDEX,
					VFIO_IRQ_SET_ACTION_TRIGGER, fd);
		if (ret) {
			mgpu_set_error("VFIO_DEVICE_SET_IRQS: neither MSI nor INTx: %s",
				       strerror(-ret));
			close(fd);
			return ret;
		}
		dev->irq_mode = MGPU_IRQ_INTX;
		mgpu_vfio_set_irq(dev, VFIO_PCI_INTX_IRQ_INDEX,
				  VFIO_IRQ_SET_ACTION_UNMASK, -1);
	}
	dev->irq_fd = fd;
	dev->irq_latched = 0;
	/* Forget causes from before: nobody is waiting for them. */
	mgpu_wr(dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE | MGPU_INT_ERROR);
	mgpu_wr(dev, MGPU_REG_INT_MASK, MGPU_INT_FENCE | MGPU_INT_ERROR);
	return 0;
}

MGPU_EXPORT int mgpu_irq_disable(struct mgpu_dev *dev)
{
	unsigned int index;
	int ret;

	if (dev->transport != MGPU_TRANSPORT_VFIO)
		return -EOPNOTSUPP;
	if (dev->irq_mode == MGPU_IRQ_NONE)
		return 0;
	mgpu_wr(dev, MGPU_REG_INT_MASK, 0);
	index = dev->irq_mode == MGPU_IRQ_MSI ? VFIO_PCI_MSI_IRQ_INDEX :
						VFIO_PCI_INTX_IRQ_INDEX;
	ret = mgpu_vfio_set_irq(dev, index, VFIO_IRQ_SET_ACTION_TRIGGER, -1);
	close(dev->irq_fd);
	dev->irq_fd = -1;
	dev->irq_mode = MGPU_IRQ_NONE;
	return ret;
}

MGPU_EXPORT enum mgpu_irq_mode mgpu_irq_mode(const struct mgpu_dev *dev)
{
	return dev->irq_mode;
}

MGPU_EXPORT int mgpu_irq_fd(const struct mgpu_dev *dev)
{
	return dev->irq_mode == MGPU_IRQ_NONE ? -EOPNOTSUPP : dev->irq_fd;
}

MGPU_EXPORT int mgpu_irq_wait(struct mgpu_dev *dev, int timeout_ms,
			      uint32_t *causes)
{
	uint32_t latched;

	if (dev->irq_mode == MGPU_IRQ_NONE)
		return -EOPNOTSUPP;
	/* Causes that fence waits acknowledged are reported here. */
	latched = __atomic_exchange_n(&dev->irq_latched, 0, __ATOMIC_ACQ_REL);
	if (latched) {
		*causes = latched;
		return 0;
	}
	return mgpu_irq_wait_ack(dev, timeout_ms, causes);
}

int mgpu_irq_wait_ack(struct mgpu_dev *dev, int timeout_ms, uint32_t *causes)
{
	uint64_t deadline = 0, now, count;
	struct pollfd pfd;
	uint32_t status;
	int wait, ret;

	if (dev->irq_mode == MGPU_IRQ_NONE)
		return -EOPNOTSUPP;
	if (timeout_ms > 0)
		deadline = mgpu_now_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		wait = timeout_ms;
		if (timeout_ms > 0) {
			now = mgpu_now_ns();
			wait = now >= deadline ? 0 :
			       (int)((deadline - now + 999999) / 1000000);
		}
		pfd.fd = dev->irq_fd;
		pfd.events = POLLIN;
		ret = poll(&pfd, 1, wait);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (ret == 0)
			return -ETIMEDOUT;
		if (read(dev->irq_fd, &count, sizeof(count)) < 0 &&
		    errno != EAGAIN)
			return -errno;

		ret = mgpu_reg_read(dev, MGPU_REG_INT_STATUS, &status);
		if (ret)
			return ret;
		status &= MGPU_INT_FENCE | MGPU_INT_ERROR;
		if (status)
			mgpu_wr(dev, MGPU_REG_INT_STATUS, status);
		/* INTx is automasked: unmask once the causes are cleared. */
		if (dev->irq_mode == MGPU_IRQ_INTX)
			mgpu_vfio_set_irq(dev, VFIO_PCI_INTX_IRQ_INDEX,
					  VFIO_IRQ_SET_ACTION_UNMASK, -1);
		if (status) {
			*causes = status;
			return 0;
		}
		/* Spurious: a cause already acknowledged.  Wait again. */
		if (timeout_ms == 0)
			return -ETIMEDOUT;
	}
}
