/* SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0 */
/*
 * libmgpu: drive an mgpu vGPU from userspace.
 *
 * Two transports sit behind one opaque struct mgpu_dev:
 *
 * - VFIO (host side): the vGPU is an mdev opened through a VFIO
 *   container; BAR0 is reached with pread()/pwrite() on the device fd,
 *   BAR2 (VRAM) is mmapped, process memory can be mapped for DMA and
 *   interrupts arrive on an eventfd.
 * - PCI (inside a guest): the vGPU is a PCI device; BAR0 and BAR2 are
 *   mmapped from sysfs.  No DMA and no interrupts: data lives in VRAM and
 *   completion is polled.
 *
 * Conventions: functions that can fail return 0 (or a documented
 * non-negative value) on success and a negative errno on failure;
 * mgpu_strerror() turns one into a message, and mgpu_last_error() gives
 * the context of the latest failure of the calling thread.  Addresses
 * given to commands are VRAM offsets unless a *_SYSMEM flag says IOVA.
 *
 * Threads: one struct mgpu_dev may be used by several threads as long as
 * each struct mgpu_queue is used by one thread at a time.  The VRAM and
 * DMA allocators are internally locked.  Interrupt waits consume the
 * device's single eventfd: let one thread wait for interrupts.
 *
 * The register and command definitions are those of <mgpu.h>
 * (include/uapi/mgpu.h): build with -I<top>/include/uapi.
 */
#ifndef _LIBMGPU_H
#define _LIBMGPU_H

#include <stddef.h>
#include <stdint.h>

#include <mgpu.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIBMGPU_VERSION_MAJOR	1
#define LIBMGPU_VERSION_MINOR	2
#define LIBMGPU_VERSION		((LIBMGPU_VERSION_MAJOR << 16) | \
				 LIBMGPU_VERSION_MINOR)

struct mgpu_dev;
struct mgpu_queue;

/**
 * enum mgpu_transport - how a device was opened
 * @MGPU_TRANSPORT_VFIO: host side, through VFIO (mgpu_open_vfio())
 * @MGPU_TRANSPORT_PCI: inside a guest, through sysfs (mgpu_open_pci())
 */
enum mgpu_transport {
	MGPU_TRANSPORT_VFIO = 1,
	MGPU_TRANSPORT_PCI = 2,
};

/**
 * enum mgpu_irq_mode - how interrupts are delivered
 * @MGPU_IRQ_NONE: interrupts not enabled (or not available)
 * @MGPU_IRQ_MSI: one MSI vector signals an eventfd per event
 * @MGPU_IRQ_INTX: INTx, level triggered; the library unmasks it
 */
enum mgpu_irq_mode {
	MGPU_IRQ_NONE = 0,
	MGPU_IRQ_MSI = 1,
	MGPU_IRQ_INTX = 2,
};

/* ---------------------------------------------------------------------- */
/* Library and errors                                                     */

/**
 * mgpu_lib_version() - version of the library linked in
 *
 * Return: LIBMGPU_VERSION_MAJOR << 16 | LIBMGPU_VERSION_MINOR of the
 * library (which may differ from the header's with a shared library).
 */
unsigned int mgpu_lib_version(void);

/**
 * mgpu_strerror() - message for a libmgpu return value
 * @err: a negative errno returned by a libmgpu function (or its absolute
 *	value); 0 gives "success"
 *
 * Errors with a libmgpu meaning get that meaning, e.g. -EIO "queue
 * stopped on a command error", -ECANCELED "work dropped by a queue
 * reset"; the others get strerror()'s text.
 *
 * Return: a static string; never NULL.
 */
const char *mgpu_strerror(int err);

/**
 * mgpu_queue_error_str() - name of a queue error reason
 * @code: an MGPU_ERR_* value read from Q_ERROR
 *
 * Return: a static string such as "BAD_OPCODE: unknown opcode"; unknown
 * codes give "unknown error code".
 */
const char *mgpu_queue_error_str(uint32_t code);

/**
 * mgpu_last_error() - what the calling thread's last failure was about
 *
 * Functions that fail for a reason worth a sentence (mostly the open
 * functions: which file, which ioctl) record it per thread.
 *
 * Return: a static per-thread string, "" if nothing was recorded.  It is
 * overwritten by the next recorded failure.
 */
const char *mgpu_last_error(void);

/* ---------------------------------------------------------------------- */
/* Opening a device                                                       */

/**
 * mgpu_open_vfio() - open a vGPU through VFIO (host side)
 * @uuid: the mdev's UUID, as under /sys/bus/mdev/devices/
 * @devp: on success, the new device
 *
 * Creates a VFIO container (type1 IOMMU), attaches the mdev's IOMMU
 * group, gets the device fd, checks MAGIC and the major VERSION and maps
 * BAR2.  Opening the device resets it (the kernel does so on open).
 * DMA (mgpu_dma_alloc()) and interrupts (mgpu_irq_enable()) are
 * available.
 *
 * Return: 0; -ENOENT if there is no such mdev, -ENODEV if it is not an
 * mgpu device (bad MAGIC or major version), -EBUSY if the group is in
 * use, or another negative errno.  See mgpu_last_error() for details.
 */
int mgpu_open_vfio(const char *uuid, struct mgpu_dev **devp);

/**
 * mgpu_open_pci() - open the vGPU as a PCI device (inside a guest)
 * @bdf: PCI address such as "0000:00:04.0", or NULL for the first device
 *	with vendor MGPU_PCI_VENDOR_ID and device MGPU_PCI_DEVICE_ID
 * @devp: on success, the new device
 *
 * Enables the device through sysfs and maps resource0 (registers) and
 * resource2 (VRAM).  Needs root.  No DMA: mgpu_dma_*() and
 * MGPU_QUEUE_RING_SYSMEM return -EOPNOTSUPP; no interrupts:
 * mgpu_irq_*() return -EOPNOTSUPP and waits poll.
 *
 * Return: 0; -ENOENT if no mgpu device is found, -ENODEV if the device
 * does not identify as mgpu, or another negative errno.
 */
int mgpu_open_pci(const char *bdf, struct mgpu_dev **devp);

/**
 * mgpu_open() - open a vGPU by name, choosing the transport
 * @name: a UUID (VFIO), "pci" or "pci:<bdf>" (PCI), or NULL (first PCI
 *	device)
 * @devp: on success, the new device
 *
 * Return: as mgpu_open_vfio() or mgpu_open_pci().
 */
int mgpu_open(const char *name, struct mgpu_dev **devp);

/**
 * mgpu_close() - close a device
 * @dev: the device, or NULL
 *
 * Closes the queues still open (disabling them), frees the DMA
 * allocations still mapped, disables interrupts and unmaps everything.
 * Through VFIO, closing the device resets it.
 */
void mgpu_close(struct mgpu_dev *dev);

/* ---------------------------------------------------------------------- */
/* Identity and registers                                                 */

/** mgpu_transport() - the transport @dev was opened with */
enum mgpu_transport mgpu_transport(const struct mgpu_dev *dev);
/** mgpu_name() - the UUID (VFIO) or PCI address (PCI) of @dev */
const char *mgpu_name(const struct mgpu_dev *dev);
/** mgpu_hw_version() - the VERSION register: major << 16 | minor */
uint32_t mgpu_hw_version(const struct mgpu_dev *dev);
/** mgpu_caps() - the CAPS register: MGPU_CAP_* bits */
uint32_t mgpu_caps(const struct mgpu_dev *dev);
/** mgpu_num_queues() - the NUM_QUEUES register */
unsigned int mgpu_num_queues(const struct mgpu_dev *dev);
/** mgpu_fraction() - the FRACTION register: 1 whole GPU, N for 1/N */
unsigned int mgpu_fraction(const struct mgpu_dev *dev);
/** mgpu_vram_size() - bytes of VRAM (VRAM_SIZE, the size of BAR2) */
uint64_t mgpu_vram_size(const struct mgpu_dev *dev);
/** mgpu_vram() - the CPU mapping of VRAM offset 0 (MAP_SHARED) */
void *mgpu_vram(const struct mgpu_dev *dev);

/**
 * mgpu_vram_ptr() - CPU pointer to a VRAM offset
 * @dev: the device
 * @offset: VRAM offset
 *
 * Return: mgpu_vram(dev) + offset, or NULL if @offset is past the end.
 */
void *mgpu_vram_ptr(const struct mgpu_dev *dev, uint64_t offset);

/**
 * mgpu_reg_read() - read a BAR0 register
 * @dev: the device
 * @off: register offset: 4-byte aligned, below MGPU_REGS_SIZE
 * @val: the value read
 *
 * Return: 0, -EINVAL for a bad offset, or the transport's error.
 */
int mgpu_reg_read(struct mgpu_dev *dev, uint32_t off, uint32_t *val);

/**
 * mgpu_reg_write() - write a BAR0 register
 * @dev: the device
 * @off: register offset: 4-byte aligned, below MGPU_REGS_SIZE
 * @val: the value
 *
 * Return: 0, -EINVAL for a bad offset, or the transport's error.
 */
int mgpu_reg_write(struct mgpu_dev *dev, uint32_t off, uint32_t val);

/**
 * mgpu_timestamp() - read the engine clock
 * @dev: the device
 * @ns: the TIMESTAMP register pair, in ns (host monotonic clock)
 *
 * Return: 0 or a negative errno.
 */
int mgpu_timestamp(struct mgpu_dev *dev, uint64_t *ns);

/**
 * mgpu_vfio_device_fd() - the VFIO device fd, for raw accesses in tests
 * @dev: the device
 *
 * Return: the fd (owned by @dev), or -EOPNOTSUPP for the PCI transport.
 */
int mgpu_vfio_device_fd(const struct mgpu_dev *dev);

/**
 * mgpu_vfio_region() - where a VFIO region is in the device fd
 * @dev: the device (VFIO transport)
 * @index: VFIO_PCI_*_REGION_INDEX
 * @offset: the region's offset in the device fd
 * @size: the region's size
 *
 * Return: 0, -EOPNOTSUPP for the PCI transport, or the ioctl's error.
 */
int mgpu_vfio_region(const struct mgpu_dev *dev, unsigned int index,
		     uint64_t *offset, uint64_t *size);

/* ---------------------------------------------------------------------- */
/* VRAM allocator                                                         */

/**
 * mgpu_vram_alloc() - allocate a range of VRAM
 * @dev: the device
 * @size: bytes, > 0
 * @align: alignment, a power of two; 0 means 64
 * @offset: on success, the VRAM offset of the range
 *
 * First fit over the whole VRAM of this process's view of the vGPU.  The
 * content is whatever VRAM held (VRAM survives resets).  Queues take
 * their rings and fence slots from the same allocator.
 *
 * Return: 0, -EINVAL, or -ENOMEM when no hole is large enough.
 */
int mgpu_vram_alloc(struct mgpu_dev *dev, uint64_t size, uint64_t align,
		    uint64_t *offset);

/**
 * mgpu_vram_free() - free a range from mgpu_vram_alloc()
 * @dev: the device
 * @offset: the offset mgpu_vram_alloc() returned
 *
 * Return: 0, or -ENOENT if @offset is not the start of an allocation.
 */
int mgpu_vram_free(struct mgpu_dev *dev, uint64_t offset);

/* ---------------------------------------------------------------------- */
/* DMA (VFIO transport)                                                   */

/**
 * struct mgpu_dma - process memory mapped for the device
 * @cpu: the CPU address, page aligned
 * @iova: the address the device uses (with *_SYSMEM flags)
 * @size: bytes mapped, a multiple of the page size
 */
struct mgpu_dma {
	void *cpu;
	uint64_t iova;
	uint64_t size;
};

/**
 * mgpu_dma_alloc() - allocate zeroed memory and map it for DMA
 * @dev: the device (VFIO transport)
 * @size: bytes, rounded up to whole pages
 * @dma: filled in on success
 *
 * The IOVA is chosen by the library (from 1 GiB up, never reused while
 * the device is open).
 *
 * Return: 0, -EOPNOTSUPP for the PCI transport, -ENOMEM, or the error of
 * VFIO_IOMMU_MAP_DMA.
 */
int mgpu_dma_alloc(struct mgpu_dev *dev, size_t size, struct mgpu_dma *dma);

/**
 * mgpu_dma_free() - unmap and free memory from mgpu_dma_alloc()
 * @dev: the device
 * @dma: the allocation; zeroed on return
 *
 * The device must no longer use it: a command reaching it afterwards
 * stops its queue with MGPU_ERR_DMA.
 *
 * Return: 0 or a negative errno.
 */
int mgpu_dma_free(struct mgpu_dev *dev, struct mgpu_dma *dma);

/**
 * mgpu_dma_map() - map caller-owned memory for DMA
 * @dev: the device (VFIO transport)
 * @cpu: page-aligned address
 * @size: bytes, a multiple of the page size
 * @iova: on success, the IOVA chosen by the library
 *
 * Return: 0, -EINVAL, -EOPNOTSUPP, or the error of VFIO_IOMMU_MAP_DMA.
 */
int mgpu_dma_map(struct mgpu_dev *dev, void *cpu, uint64_t size,
		 uint64_t *iova);

/**
 * mgpu_dma_unmap() - undo mgpu_dma_map()
 * @dev: the device
 * @iova: the IOVA mgpu_dma_map() returned
 * @size: the size given to mgpu_dma_map()
 *
 * Return: 0 or a negative errno.
 */
int mgpu_dma_unmap(struct mgpu_dev *dev, uint64_t iova, uint64_t size);

/* ---------------------------------------------------------------------- */
/* Interrupts (VFIO transport)                                            */

/**
 * mgpu_irq_enable() - deliver interrupts to this process
 * @dev: the device (VFIO transport)
 *
 * Registers an eventfd for MSI (or, if that fails, INTx, which the
 * library unmasks after each interrupt), clears INT_STATUS and sets
 * INT_MASK to MGPU_INT_FENCE | MGPU_INT_ERROR.  Afterwards fences of
 * mgpu_queue_fence() request MGPU_F_IRQ and mgpu_fence_wait() sleeps on
 * the eventfd instead of polling.  The environment variable
 * LIBMGPU_IRQ=intx skips MSI (to test the INTx path).
 *
 * Return: 0, -EOPNOTSUPP for the PCI transport, or a negative errno.
 */
int mgpu_irq_enable(struct mgpu_dev *dev);

/**
 * mgpu_irq_disable() - stop interrupt delivery
 * @dev: the device
 *
 * Clears INT_MASK and unregisters the eventfd.
 *
 * Return: 0 or a negative errno.
 */
int mgpu_irq_disable(struct mgpu_dev *dev);

/** mgpu_irq_mode() - the interrupt mode in use (MGPU_IRQ_NONE if off) */
enum mgpu_irq_mode mgpu_irq_mode(const struct mgpu_dev *dev);

/**
 * mgpu_irq_fd() - the interrupt eventfd, for a caller's own poll loop
 * @dev: the device
 *
 * When it is readable, call mgpu_irq_wait() with timeout 0.
 *
 * Return: the fd (owned by @dev), or -EOPNOTSUPP if interrupts are off.
 */
int mgpu_irq_fd(const struct mgpu_dev *dev);

/**
 * mgpu_irq_wait() - wait for an interrupt and acknowledge it
 * @dev: the device, interrupts enabled
 * @timeout_ms: how long to wait; 0 checks without blocking, < 0 forever
 * @causes: on success, the MGPU_INT_* causes that were pending (and are
 *	now cleared in INT_STATUS)
 *
 * Interrupts that mgpu_fence_wait() slept on and acknowledged are not
 * lost: their causes are kept and returned, without blocking, by the
 * next call.
 *
 * Return: 0, -ETIMEDOUT if nothing was pending in time, -EOPNOTSUPP if
 * interrupts are not enabled, or another negative errno.
 */
int mgpu_irq_wait(struct mgpu_dev *dev, int timeout_ms, uint32_t *causes);

/* ---------------------------------------------------------------------- */
/* Queues                                                                 */

/* Flags of mgpu_queue_open() */
/* Ring in process memory (mgpu_dma_alloc()), not VRAM: VFIO only. */
#define MGPU_QUEUE_RING_SYSMEM	(1U << 0)
/* Trap-free doorbell: the engine polls a tail in VRAM (MGPU_CAP_TAIL_POLL). */
#define MGPU_QUEUE_TAIL_POLL	(1U << 1)

/* Ring entries used when mgpu_queue_open() is given 0. */
#define MGPU_QUEUE_DEFAULT_ENTRIES	256
/* Timeout of the synchronous helpers unless mgpu_queue_set_timeout(). */
#define MGPU_QUEUE_DEFAULT_TIMEOUT_MS	60000

/**
 * mgpu_queue_open() - configure and enable a command queue
 * @dev: the device (MGPU_CAP_ENGINE)
 * @index: queue number, below mgpu_num_queues()
 * @entries: ring entries, a power of two from 2 to MGPU_RING_MAX_ENTRIES;
 *	0 means MGPU_QUEUE_DEFAULT_ENTRIES.  One entry stays unused (a full
 *	ring holds @entries - 1 commands).
 * @flags: MGPU_QUEUE_* flags
 * @qp: on success, the queue
 *
 * Allocates the ring (VRAM, or DMA memory with MGPU_QUEUE_RING_SYSMEM)
 * and a VRAM block for the queue's fence slot (and polled tail), writes
 * the queue registers while the queue is disabled, then enables it.
 *
 * Return: 0; -EINVAL for a bad index, size or flag; -EBUSY if this
 * process already has the queue open; -EOPNOTSUPP if the device lacks
 * the capability or transport; -ENOMEM; -EIO if the device refused the
 * configuration (see mgpu_last_error()).
 */
int mgpu_queue_open(struct mgpu_dev *dev, unsigned int index,
		    unsigned int entries, unsigned int flags,
		    struct mgpu_queue **qp);

/**
 * mgpu_queue_close() - disable a queue and free its ring
 * @q: the queue, or NULL
 *
 * Work not yet run is dropped.
 */
void mgpu_queue_close(struct mgpu_queue *q);

/** mgpu_queue_dev() - the device of @q */
struct mgpu_dev *mgpu_queue_dev(const struct mgpu_queue *q);
/** mgpu_queue_index() - the queue number of @q */
unsigned int mgpu_queue_index(const struct mgpu_queue *q);
/** mgpu_queue_entries() - the ring size of @q, in commands */
unsigned int mgpu_queue_entries(const struct mgpu_queue *q);

/**
 * mgpu_queue_set_timeout() - timeout of the synchronous helpers
 * @q: the queue
 * @timeout_ms: for mgpu_copy(), mgpu_fill(), mgpu_gemm_*(); < 0 forever
 */
void mgpu_queue_set_timeout(struct mgpu_queue *q, int timeout_ms);

/**
 * mgpu_submit() - append commands to a queue and ring the doorbell
 * @q: the queue
 * @cmds: the commands
 * @n: how many
 *
 * Copies the commands into the ring and then rings the doorbell once
 * (writes TAIL, or stores the polled tail in VRAM: no trap).  When the
 * ring is full it rings the doorbell for what it has written and waits
 * for HEAD to move, so @n may exceed the ring size.  Commands are not
 * checked: the device validates them and stops the queue on a bad one.
 *
 * Return: 0; -EIO if the queue stopped on an error while waiting for
 * space (the commands not yet copied are not submitted); -ETIMEDOUT if
 * HEAD did not move for the queue's timeout.
 */
int mgpu_submit(struct mgpu_queue *q, const struct mgpu_cmd *cmds,
		unsigned int n);

/**
 * mgpu_submit_fence() - append commands and a fence, ring the doorbell once
 * @q: the queue
 * @cmds: the commands
 * @n: how many (may be 0)
 * @seq: on success, the fence's sequence number
 *
 * As mgpu_submit() followed by mgpu_queue_fence(), with one doorbell for
 * both (none with MGPU_QUEUE_TAIL_POLL): a whole batch of work costs one
 * trap at most, and mgpu_fence_signaled() on @seq needs none.  Once a
 * fence has signalled, the library knows how far the device has read the
 * ring without reading HEAD, so a producer that waits for its fences
 * before the ring fills never reads a register.
 *
 * Since libmgpu 1.2.
 *
 * Return: as mgpu_submit().
 */
int mgpu_submit_fence(struct mgpu_queue *q, const struct mgpu_cmd *cmds,
		      unsigned int n, uint64_t *seq);

/**
 * mgpu_queue_fence() - append a fence and ring the doorbell
 * @q: the queue
 * @seq: on success, the fence's sequence number (increasing from 1)
 *
 * The FENCE stores @seq in the queue's fence slot in VRAM once every
 * command before it has completed.  With interrupts enabled it has
 * MGPU_F_IRQ.
 *
 * Return: as mgpu_submit().
 */
int mgpu_queue_fence(struct mgpu_queue *q, uint64_t *seq);

/**
 * mgpu_fence_signaled() - check a fence without waiting
 * @q: the queue
 * @seq: a sequence number from mgpu_queue_fence()
 *
 * Only reads VRAM: no register access.
 *
 * Return: 1 if the fence has signalled, 0 if not.
 */
int mgpu_fence_signaled(struct mgpu_queue *q, uint64_t seq);

/**
 * mgpu_fence_wait() - wait for a fence
 * @q: the queue
 * @seq: a sequence number from mgpu_queue_fence()
 * @timeout_ms: 0 checks once, < 0 waits forever
 *
 * Polls the fence slot (spinning briefly, then sleeping with a backoff
 * up to 1 ms, or a thousandth of the time waited once that is longer,
 * at most 50 ms), or sleeps on the interrupt eventfd when interrupts
 * are enabled.  It reads the queue's status register (a trap in a
 * guest) after 1 ms, then whenever the time waited has doubled and at
 * least every 100 ms, on an error interrupt and before a timeout, so a
 * long wait costs few traps and an error is seen within the longer of
 * the time already waited and 100 ms.
 *
 * Return: 0 when signalled; -EIO if the queue stopped on an error before
 * the fence (mgpu_queue_error() tells which command and why);
 * -ECANCELED if a mgpu_queue_reset() dropped the fence; -ETIMEDOUT;
 * -EINVAL if @seq was never issued.
 */
int mgpu_fence_wait(struct mgpu_queue *q, uint64_t seq, int timeout_ms);

/**
 * mgpu_queue_sync() - fence and wait: everything submitted has completed
 * @q: the queue
 * @timeout_ms: as mgpu_fence_wait()
 *
 * Return: as mgpu_fence_wait() or mgpu_submit().
 */
int mgpu_queue_sync(struct mgpu_queue *q, int timeout_ms);

/**
 * mgpu_queue_error() - why and where a queue stopped
 * @q: the queue
 * @code: the Q_ERROR register: MGPU_ERR_*, MGPU_ERR_NONE if running
 * @head: the Q_ERROR_HEAD register (ring index of the failed command);
 *	may be NULL
 *
 * Return: 0 or the register access's error.
 */
int mgpu_queue_error(struct mgpu_queue *q, uint32_t *code, uint32_t *head);

/**
 * mgpu_queue_reset() - restart a queue after an error
 * @q: the queue
 *
 * Disables and re-enables the queue: HEAD and TAIL go to 0 and the
 * commands after the failed one are dropped; waits for their fences
 * return -ECANCELED.
 *
 * Return: 0, or -EIO if the device refused to re-enable the queue.
 */
int mgpu_queue_reset(struct mgpu_queue *q);

/**
 * mgpu_queue_completed() - the queue's COMPLETED counter
 * @q: the queue
 * @count: commands completed since the queue was (re-)enabled
 *
 * Return: 0 or the register access's error.
 */
int mgpu_queue_completed(struct mgpu_queue *q, uint64_t *count);

/* ---------------------------------------------------------------------- */
/* Building commands                                                      */

/** mgpu_cmd_nop() - fill @cmd with a NOP */
void mgpu_cmd_nop(struct mgpu_cmd *cmd);

/**
 * mgpu_cmd_fence() - fill @cmd with a FENCE
 * @cmd: the command
 * @addr: 8-byte aligned VRAM offset (IOVA with MGPU_F_DST_SYSMEM)
 * @value: the 64-bit value stored there
 * @flags: MGPU_F_IRQ, MGPU_F_DST_SYSMEM
 */
void mgpu_cmd_fence(struct mgpu_cmd *cmd, uint64_t addr, uint64_t value,
		    uint32_t flags);

/**
 * mgpu_cmd_copy() - fill @cmd with a COPY (memcpy argument order)
 * @cmd: the command
 * @dst: destination (IOVA with MGPU_F_DST_SYSMEM)
 * @src: source (IOVA with MGPU_F_SRC_SYSMEM)
 * @bytes: length; VRAM to VRAM ranges must not overlap
 * @flags: MGPU_F_SRC_SYSMEM, MGPU_F_DST_SYSMEM
 */
void mgpu_cmd_copy(struct mgpu_cmd *cmd, uint64_t dst, uint64_t src,
		   uint64_t bytes, uint32_t flags);

/**
 * mgpu_cmd_fill() - fill @cmd with a FILL
 * @cmd: the command
 * @dst: 4-byte aligned destination (IOVA with MGPU_F_DST_SYSMEM)
 * @bytes: length, a multiple of 4
 * @pattern: 32-bit value repeated (stored little endian)
 * @flags: MGPU_F_DST_SYSMEM
 */
void mgpu_cmd_fill(struct mgpu_cmd *cmd, uint64_t dst, uint64_t bytes,
		   uint32_t pattern, uint32_t flags);

/**
 * mgpu_cmd_timestamp() - fill @cmd with a TIMESTAMP
 * @cmd: the command
 * @addr: 8-byte aligned address receiving the engine clock in ns
 * @flags: MGPU_F_DST_SYSMEM
 */
void mgpu_cmd_timestamp(struct mgpu_cmd *cmd, uint64_t addr, uint32_t flags);

/**
 * mgpu_cmd_gemm_f32() - fill @cmd with an fp32 GEMM: C = alpha*A*B + beta*C
 * @cmd: the command
 * @a: VRAM offset of A, m x k floats, row major, 4-byte aligned
 * @b: VRAM offset of B, k x n floats
 * @c: VRAM offset of C, m x n floats
 * @m: rows of A and C
 * @n: columns of B and C
 * @k: columns of A, rows of B
 * @alpha: scale of A*B
 * @beta: scale of C; 0 means C is not read
 */
void mgpu_cmd_gemm_f32(struct mgpu_cmd *cmd, uint64_t a, uint64_t b,
		       uint64_t c, uint32_t m, uint32_t n, uint32_t k,
		       float alpha, float beta);

/**
 * mgpu_cmd_gemm_i8() - fill @cmd with an int8 GEMM (int32 C, wrapping)
 * @cmd: the command
 * @a: VRAM offset of A, m x k int8, row major, 4-byte aligned
 * @b: VRAM offset of B, k x n int8
 * @c: VRAM offset of C, m x n int32
 * @m: rows of A and C
 * @n: columns of B and C
 * @k: columns of A, rows of B
 * @alpha: scale of A*B
 * @beta: scale of C
 */
void mgpu_cmd_gemm_i8(struct mgpu_cmd *cmd, uint64_t a, uint64_t b,
		      uint64_t c, uint32_t m, uint32_t n, uint32_t k,
		      int32_t alpha, int32_t beta);

/**
 * mgpu_cmd_gemm_f32_trans() - an fp32 GEMM with transposed operands
 * @cmd: the command
 * @flags: MGPU_F_GEMM_TRANS_A (A stored k x m), MGPU_F_GEMM_TRANS_B (B
 *	stored n x k), both, or 0
 * @a: VRAM offset of A as stored
 * @b: VRAM offset of B as stored
 * @c: VRAM offset of C, m x n floats
 * @m: rows of C
 * @n: columns of C
 * @k: the inner dimension
 * @alpha: scale of op(A) * op(B)
 * @beta: scale of C; 0 means C is not read
 *
 * Since libmgpu 1.1 (device version 1.3, MGPU_CAP_TRAIN_OPS).
 */
void mgpu_cmd_gemm_f32_trans(struct mgpu_cmd *cmd, uint32_t flags,
			     uint64_t a, uint64_t b, uint64_t c, uint32_t m,
			     uint32_t n, uint32_t k, float alpha, float beta);

/**
 * mgpu_cmd_vec() - fill @cmd with an elementwise fp32 VEC command
 * @cmd: the command
 * @op: MGPU_VEC_*
 * @x: VRAM offset of x, n floats, 4-byte aligned
 * @y: VRAM offset of y (ignored, and 0 in the command, for
 *	MGPU_VEC_SIGMOID and MGPU_VEC_TANH)
 * @z: VRAM offset of z; may be x or y
 * @n: elements
 * @alpha: MGPU_VEC_AXPY's scale (ignored, and 0 in the command, for the
 *	other ops)
 *
 * Since libmgpu 1.1 (device version 1.3, MGPU_CAP_TRAIN_OPS).
 */
void mgpu_cmd_vec(struct mgpu_cmd *cmd, uint32_t op, uint64_t x, uint64_t y,
		  uint64_t z, uint32_t n, float alpha);

/**
 * mgpu_cmd_xent() - fill @cmd with a softmax cross-entropy XENT command
 * @cmd: the command
 * @x: VRAM offset of the logits, m x n floats
 * @t: VRAM offset of the targets, m int32
 * @g: VRAM offset of the gradient, m x n floats; may be @x
 * @loss: VRAM offset of the loss: m floats, or one with MGPU_F_XENT_MEAN
 * @m: rows
 * @n: classes
 * @flags: MGPU_F_XENT_MEAN, MGPU_F_XENT_SCALE
 *
 * Since libmgpu 1.1 (device version 1.3, MGPU_CAP_TRAIN_OPS).
 */
void mgpu_cmd_xent(struct mgpu_cmd *cmd, uint64_t x, uint64_t t, uint64_t g,
		   uint64_t loss, uint32_t m, uint32_t n, uint32_t flags);

/* ---------------------------------------------------------------------- */
/* Synchronous helpers: submit one command, then mgpu_queue_sync() with   */
/* the queue's timeout.  Return: as mgpu_queue_sync().                    */

/** mgpu_copy() - COPY and wait; arguments as mgpu_cmd_copy() */
int mgpu_copy(struct mgpu_queue *q, uint64_t dst, uint64_t src,
	      uint64_t bytes, uint32_t flags);
/** mgpu_fill() - FILL and wait; arguments as mgpu_cmd_fill() */
int mgpu_fill(struct mgpu_queue *q, uint64_t dst, uint64_t bytes,
	      uint32_t pattern, uint32_t flags);
/** mgpu_gemm_f32() - fp32 GEMM and wait; as mgpu_cmd_gemm_f32() */
int mgpu_gemm_f32(struct mgpu_queue *q, uint64_t a, uint64_t b, uint64_t c,
		  uint32_t m, uint32_t n, uint32_t k, float alpha, float beta);
/** mgpu_gemm_i8() - int8 GEMM and wait; as mgpu_cmd_gemm_i8() */
int mgpu_gemm_i8(struct mgpu_queue *q, uint64_t a, uint64_t b, uint64_t c,
		 uint32_t m, uint32_t n, uint32_t k, int32_t alpha,
		 int32_t beta);

#ifdef __cplusplus
}
#endif

#endif /* _LIBMGPU_H */
