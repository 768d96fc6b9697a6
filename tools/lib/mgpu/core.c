// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libmgpu core: errors, the device object, registers, the VRAM allocator.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static __thread char mgpu_errbuf[256];

void mgpu_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mgpu_errbuf, sizeof(mgpu_errbuf), fmt, ap);
	va_end(ap);
}

MGPU_EXPORT const char *mgpu_last_error(void)
{
	return mgpu_errbuf;
}

MGPU_EXPORT unsigned int mgpu_lib_version(void)
{
	return LIBMGPU_VERSION;
}

MGPU_EXPORT const char *mgpu_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EIO:
		return "queue stopped on a command error (or device I/O error)";
	case ECANCELED:
		return "work dropped by a queue reset";
	case ETIMEDOUT:
		return "timed out waiting for the device";
	case EOPNOTSUPP:
		return "not supported by this device or transport";
	case ENODEV:
		return "not an mgpu device (or unsupported version)";
	default:
		return strerror(err);
	}
}

MGPU_EXPORT const char *mgpu_queue_error_str(uint32_t code)
{
	static const char * const names[] = {
		[MGPU_ERR_NONE]		= "NONE: no error",
		[MGPU_ERR_BAD_OPCODE]	= "BAD_OPCODE: unknown opcode",
		[MGPU_ERR_BAD_CMD]	= "BAD_CMD: bad flags, argument, size or shape",
		[MGPU_ERR_VRAM_RANGE]	= "VRAM_RANGE: address range outside VRAM",
		[MGPU_ERR_DMA]		= "DMA: guest memory access failed",
		[MGPU_ERR_BAD_RING]	= "BAD_RING: ring or polled tail misplaced",
		[MGPU_ERR_TIMEOUT]	= "TIMEOUT: command exceeded the watchdog budget",
		[MGPU_ERR_BAD_TAIL]	= "BAD_TAIL: tail index beyond the ring",
		[MGPU_ERR_ALIGN]	= "ALIGN: misaligned address",
	};

	if (code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "unknown error code";
}

uint64_t mgpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void mgpu_sleep_us(unsigned int us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000,
		.tv_nsec = (long)(us % 1000000) * 1000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int mgpu_dev_new(struct mgpu_dev **devp)
{
	struct mgpu_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return -ENOMEM;
	pthread_mutex_init(&dev->lock, NULL);
	dev->container_fd = -1;
	dev->group_fd = -1;
	dev->device_fd = -1;
	dev->irq_fd = -1;
	dev->next_iova = 1ull << 30;
	*devp = dev;
	return 0;
}

/* Read the identity registers; the transport has mapped BAR0 and BAR2. */
int mgpu_dev_probe(struct mgpu_dev *dev)
{
	uint32_t magic, lo, hi;
	int ret;

	ret = dev->ops->reg_read(dev, MGPU_REG_MAGIC, &magic);
	if (ret) {
		mgpu_set_error("%s: cannot read BAR0: %s", dev->name,
			       strerror(-ret));
		return ret;
	}
	if (magic != MGPU_MAGIC) {
		mgpu_set_error("%s: MAGIC is %#x, not %#x: not an mgpu device",
			       dev->name, magic, MGPU_MAGIC);
		return -ENODEV;
	}
	dev->version = mgpu_rd(dev, MGPU_REG_VERSION);
	if (dev->version >> 16 != MGPU_VERSION_MAJOR) {
		mgpu_set_error("%s: device version %u.%u, library speaks %u.x",
			       dev->name, dev->version >> 16,
			       dev->version & 0xffff, MGPU_VERSION_MAJOR);
		return -ENODEV;
	}
	lo = mgpu_rd(dev, MGPU_REG_VRAM_SIZE_LO);
	hi = mgpu_rd(dev, MGPU_REG_VRAM_SIZE_HI);
	dev->vram_size = (uint64_t)hi << 32 | lo;
	dev->caps = mgpu_rd(dev, MGPU_REG_CAPS);
	dev->num_queues = mgpu_rd(dev, MGPU_REG_NUM_QUEUES);
	dev->fraction = mgpu_rd(dev, MGPU_REG_FRACTION);
	if (dev->num_queues > MGPU_LIB_MAX_QUEUES)
		dev->num_queues = MGPU_LIB_MAX_QUEUES;
	if (dev->vram_size > dev->vram_map_size) {
		mgpu_set_error("%s: VRAM_SIZE %#llx exceeds BAR2 (%#zx)",
			       dev->name, (unsigned long long)dev->vram_size,
			       dev->vram_map_size);
		return -ENODEV;
	}
	dev->queues = calloc(dev->num_queues ? dev->num_queues : 1,
			     sizeof(*dev->queues));
	if (!dev->queues)
		return -ENOMEM;
	return 0;
}

void mgpu_dev_free(struct mgpu_dev *dev)
{
	struct mgpu_vram_block *b, *next;

	for (b = dev->vram_blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(dev->queues);
	pthread_mutex_destroy(&dev->lock);
	free(dev);
}

MGPU_EXPORT void mgpu_close(struct mgpu_dev *dev)
{
	unsigned int i;

	if (!dev)
		return;
	if (dev->queues)
		for (i = 0; i < dev->num_queues; i++)
			mgpu_queue_close(dev->queues[i]);
	if (dev->irq_mode != MGPU_IRQ_NONE)
		mgpu_irq_disable(dev);
	dev->ops->close(dev);
	mgpu_dev_free(dev);
}

MGPU_EXPORT int mgpu_open(const char *name, struct mgpu_dev **devp)
{
	if (!name || !strcmp(name, "pci"))
		return mgpu_open_pci(NULL, devp);
	if (!strncmp(name, "pci:", 4))
		return mgpu_open_pci(name + 4, devp);
	return mgpu_open_vfio(name, devp);
}

/* Register access for the library itself: ~0 when the access fails. */
uint32_t mgpu_rd(struct mgpu_dev *dev, uint32_t off)
{
	uint32_t val;

	if (dev->ops->reg_read(dev, off, &val))
		return ~0u;
	return val;
}

void mgpu_wr(struct mgpu_dev *dev, uint32_t off, uint32_t val)
{
	dev->ops->reg_write(dev, off, val);
}

MGPU_EXPORT int mgpu_reg_read(struct mgpu_dev *dev, uint32_t off,
			      uint32_t *val)
{
	if ((off & 3) || off >= MGPU_REGS_SIZE)
		return -EINVAL;
	return dev->ops->reg_read(dev, off, val);
}

MGPU_EXPORT int mgpu_reg_write(struct mgpu_dev *dev, uint32_t off,
			       uint32_t val)
{
	if ((off & 3) || off >= MGPU_REGS_SIZE)
		return -EINVAL;
	return dev->ops->reg_write(dev, off, val);
}

MGPU_EXPORT int mgpu_timestamp(struct mgpu_dev *dev, uint64_t *ns)
{
	uint32_t lo, hi, hi2;
	int ret;

	/* Re-read HI so a carry between the two halves is not torn. */
	do {
		ret = dev->ops->reg_read(dev, MGPU_REG_TIMESTAMP_HI, &hi);
		if (!ret)
			ret = dev->ops->reg_read(dev, MGPU_REG_TIMESTAMP_LO,
						 &lo);
		if (!ret)
			ret = dev->ops->reg_read(dev, MGPU_REG_TIMESTAMP_HI,
						 &hi2);
		if (ret)
			return ret;
	} while (hi != hi2);
	*ns = (uint64_t)hi << 32 | lo;
	return 0;
}

MGPU_EXPORT enum mgpu_transport mgpu_transport(const struct mgpu_dev *dev)
{
	return dev->transport;
}

MGPU_EXPORT const char *mgpu_name(const struct mgpu_dev *dev)
{
	return dev->name;
}

MGPU_EXPORT uint32_t mgpu_hw_version(const struct mgpu_dev *dev)
{
	return dev->version;
}

MGPU_EXPORT uint32_t mgpu_caps(const struct mgpu_dev *dev)
{
	return dev->caps;
}

MGPU_EXPORT unsigned int mgpu_num_queues(const struct mgpu_dev *dev)
{
	return dev->num_queues;
}

MGPU_EXPORT unsigned int mgpu_fraction(const struct mgpu_dev *dev)
{
	return dev->fraction;
}

MGPU_EXPORT uint64_t mgpu_vram_size(const struct mgpu_dev *dev)
{
	return dev->vram_size;
}

MGPU_EXPORT void *mgpu_vram(const struct mgpu_dev *dev)
{
	return dev->vram;
}

MGPU_EXPORT void *mgpu_vram_ptr(const struct mgpu_dev *dev, uint64_t offset)
{
	if (offset > dev->vram_size)
		return NULL;
	return dev->vram + offset;
}

/* First fit over [0, vram_size) between the allocated blocks. */
MGPU_EXPORT int mgpu_vram_alloc(struct mgpu_dev *dev, uint64_t size,
				uint64_t align, uint64_t *offset)
{
	struct mgpu_vram_block **link, *nb;
	uint64_t start = 0, end;

	if (!align)
		align = 64;
	if (!size || (align & (align - 1)) || size > dev->vram_size)
		return -EINVAL;
	nb = malloc(sizeof(*nb));
	if (!nb)
		return -ENOMEM;

	pthread_mutex_lock(&dev->lock);
	for (link = &dev->vram_blocks; ; link = &(*link)->next) {
		uint64_t at = (start + align - 1) & ~(align - 1);

		end = *link ? (*link)->offset : dev->vram_size;
		if (at >= start && at <= end && end - at >= size) {
			nb->offset = at;
			nb->size = size;
			nb->next = *link;
			*link = nb;
			pthread_mutex_unlock(&dev->lock);
			*offset = at;
			return 0;
		}
		if (!*link)
			break;
		start = (*link)->offset + (*link)->size;
	}
	pthread_mutex_unlock(&dev->lock);
	free(nb);
	return -ENOMEM;
}

MGPU_EXPORT int mgpu_vram_free(struct mgpu_dev *dev, uint64_t offset)
{
	struct mgpu_vram_block **link, *b;

	pthread_mutex_lock(&dev->lock);
	for (link = &dev->vram_blocks; *link; link = &(*link)->next) {
		if ((*link)->offset == offset) {
			b = *link;
			*link = b->next;
			pthread_mutex_unlock(&dev->lock);
			free(b);
			return 0;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return -ENOENT;
}
