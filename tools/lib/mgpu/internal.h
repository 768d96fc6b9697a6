/* SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0 */
/*
 * libmgpu internals: the device object and the transport interface.
 */
#ifndef _LIBMGPU_INTERNAL_H
#define _LIBMGPU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "libmgpu.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libmgpu: the mgpu ABI is little endian; big-endian hosts are not supported"
#endif

#define MGPU_EXPORT	__attribute__((visibility("default")))

/* Highest queue count the library tracks (the register space allows 960). */
#define MGPU_LIB_MAX_QUEUES	((MGPU_REGS_SIZE - MGPU_REG_QUEUE_BASE) / \
				 MGPU_REG_QUEUE_STRIDE)

struct mgpu_transport_ops {
	int (*reg_read)(struct mgpu_dev *dev, uint32_t off, uint32_t *val);
	int (*reg_write)(struct mgpu_dev *dev, uint32_t off, uint32_t val);
	void (*close)(struct mgpu_dev *dev);
};

struct mgpu_vram_block {
	uint64_t offset;
	uint64_t size;
	struct mgpu_vram_block *next;	/* sorted by offset */
};

struct mgpu_dma_map_rec {
	uint64_t iova;
	uint64_t size;
	void *cpu;
	bool owned;			/* from mgpu_dma_alloc(): munmap it */
	struct mgpu_dma_map_rec *next;
};

struct mgpu_dev {
	enum mgpu_transport transport;
	const struct mgpu_transport_ops *ops;
	char name[64];

	uint32_t version;
	uint32_t caps;
	uint32_t num_queues;
	uint32_t fraction;
	uint64_t vram_size;
	uint8_t *vram;			/* mapping of BAR2 */
	size_t vram_map_size;

	pthread_mutex_t lock;		/* allocators, queue table */
	struct mgpu_vram_block *vram_blocks;
	struct mgpu_queue **queues;	/* [num_queues] */

	/* VFIO */
	int container_fd;
	int group_fd;
	int device_fd;
	uint64_t bar0_offset;
	struct mgpu_dma_map_rec *dma_maps;
	uint64_t next_iova;
	enum mgpu_irq_mode irq_mode;
	int irq_fd;
	uint32_t irq_latched;		/* causes acknowledged by fence waits */

	/* PCI */
	volatile uint32_t *regs;	/* mapping of BAR0 */
	size_t regs_map_size;
};

struct mgpu_queue {
	struct mgpu_dev *dev;
	unsigned int index;
	unsigned int flags;
	uint32_t entries;
	uint32_t base;			/* MGPU_REG_QUEUE(index) */
	int timeout_ms;

	/* the ring */
	uint8_t *ring;			/* CPU address */
	uint64_t ring_addr;		/* VRAM offset or IOVA */
	struct mgpu_dma ring_dma;	/* MGPU_QUEUE_RING_SYSMEM */

	/* VRAM control block: fence slot at +0, polled tail at +8 */
	uint64_t ctl_offset;
	volatile uint64_t *fence_slot;
	volatile uint32_t *tail_slot;

	uint32_t tail;			/* producer index */
	uint32_t head;			/* last HEAD seen */
	uint64_t next_seq;		/* next fence value */
	/* The last fence on the fence slot, and the tail right after it:
	 * once it has signalled, HEAD is known to be there without a read.
	 */
	uint64_t pos_seq;
	uint32_t pos_tail;
	uint64_t dropped_seq;		/* fences <= this were dropped by reset */
};

/* core.c */
void mgpu_set_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
int mgpu_dev_new(struct mgpu_dev **devp);
int mgpu_dev_probe(struct mgpu_dev *dev);
void mgpu_dev_free(struct mgpu_dev *dev);
uint32_t mgpu_rd(struct mgpu_dev *dev, uint32_t off);
void mgpu_wr(struct mgpu_dev *dev, uint32_t off, uint32_t val);
uint64_t mgpu_now_ns(void);
void mgpu_sleep_us(unsigned int us);

/* vfio.c */
void mgpu_vfio_dma_release_all(struct mgpu_dev *dev);
int mgpu_irq_wait_ack(struct mgpu_dev *dev, int timeout_ms, uint32_t *causes);

#endif /* _LIBMGPU_INTERNAL_H */
