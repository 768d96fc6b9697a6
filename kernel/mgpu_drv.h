/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgpu internal interfaces.
 *
 * Blocks and their prefixes:
 *   main.c    mgpu_*         module parameters, the mgpu class
 *   parent.c  mgpu_parent_*  a GPU that vGPUs are carved from: capacity,
 *                            mdev types, registration with the mdev core
 *   pci.c     mgpu_pci_*     the "mgpu" PCI driver: a parent's PCI function
 *   vbus.c    mgpu_vbus_*    the virtual PCI host bridge of software GPUs
 *   swgpu.c   mgpu_swgpu_*   the software GPU backend
 *   bar.c     mgpu_bar_*     the BAR backend: a real PCI device's BAR
 *   vgpu.c    mgpu_vgpu_*    one vGPU instance: mdev driver + VFIO glue
 *   cfg.c     mgpu_cfg_*     PCI config space emulation
 *   regs.c    mgpu_regs_*    BAR0 register file
 *   vram.c    mgpu_vram_*    BAR2 (VRAM) access and mmap
 *   irq.c     mgpu_irq_*     INTx/MSI/request interrupts through eventfds
 *   queue.c   mgpu_queue_*   command queue registers (the guest's side)
 *   engine.c  mgpu_engine_*  the parent's engine thread: steps, commits
 *   cmd.c     mgpu_cmd_*     the command set: validate, step, complete
 *   dma.c     mgpu_dma_*     a vGPU's guest-memory access thread
 *   gemm_fp*.c mgpu_gemm_*   GEMM kernels, fp32 and int8 (gemm_fp_tmpl.h)
 *   sched.c   mgpu_sched_*   scheduling policy: who runs next, how long
 *   debugfs.c mgpu_debugfs_* per-instance debugfs files (dirty VRAM)
 *   migrate.c mgpu_mig_*     live migration: VFIO migration v2, the stream
 *
 * Locks, in the order they nest (an outer lock may be held while an
 * inner one is taken, never the reverse):
 *
 *   mdev core / VFIO core locks (device set, open count): taken by the
 *	cores around our callbacks
 *   vgpu.mig_lock (struct mgpu_vgpu): the migration state and sessions,
 *	DMA logging's start and stop; then a session's lock (struct
 *	mgpu_mig_file, migrate.c)
 *   mgpu_swgpus_lock (swgpu.c): the list of software GPUs; never held
 *	while a parent is torn down
 *   the PCI core's rescan/remove lock, then the device lock of a parent's
 *	PCI function: taken by the PCI and driver cores around probe and
 *	remove (pci.c), and by vbus.c to fill and empty slots
 *   mgpu_vbus.lock (vbus.c, a raw spinlock): the slots' config space;
 *	taken inside nothing of ours but the rescan/remove lock
 *   engine.lock (struct mgpu_engine): the list of open vGPUs, which
 *	vGPU each engine thread runs (mgpu_vgpu.on_engine), and every
 *	scheduling field (policy, slice, period, budgets, weights, caps);
 *	shared by all the engine threads of a parent, held only to pick
 *	and to charge, never while a vGPU's commands run
 *   vgpu.lock (struct mgpu_vgpu): config space, registers, queues,
 *	interrupt state, eventfds
 *   parent.lock (struct mgpu_parent): capacity; taken alone, or inside
 *	nothing of ours
 *   the type1 IOMMU's locks: vfio_dma_rw() may be called with
 *	vgpu.lock held (fence completion), so the IOMMU must never call
 *	back into mgpu with its locks held (mgpu has no .dma_unmap)
 *
 * A parent has 1 to MGPU_MAX_ENGINES engine threads.  A vGPU runs on at
 * most one of them at a time: the thread that picked it (set
 * mgpu_vgpu.on_engine under engine.lock) owns it until it charges the
 * run and clears on_engine, under engine.lock again; so the lock orders
 * one owner's accesses before the next one's.  The owning thread is the
 * only writer of the fields of struct mgpu_queue below @gen and of
 * mgpu_vgpu.rr_queue; it reads them without a lock (and so does a pick,
 * under engine.lock, of a vGPU that no thread owns).  Statistics are
 * written with WRITE_ONCE() (under the lock that protects their writer,
 * or by the owning thread) and read with READ_ONCE() from sysfs without
 * a lock.  on_engine is read without a lock by quiesce/detach and the
 * migration stop, which wait on engine.idle_wq for it to clear
 * (READ_ONCE/WRITE_ONCE).
 */
#ifndef _MGPU_DRV_H
#define _MGPU_DRV_H

#include <linux/kref.h>
#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/pci_regs.h>
#include <linux/ratelimit.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "mgpu.h"

/*
 * Capacity is handed out in units of 1/16 of a parent (VRAM and queues
 * together).  A type of order k takes 16 >> k units at an offset that is
 * a multiple of its size, so instances of one type never straddle the
 * aligned blocks of another and capacity can be counted exactly.
 */
#define MGPU_UNITS		16
#define MGPU_MAX_ORDER		4
#define MGPU_NR_TYPES		(MGPU_MAX_ORDER + 1)

/* Parent limits: every 1/16 slice must be a whole, power-of-two MiB. */
#define MGPU_MIN_VRAM		(16ULL << 20)
#define MGPU_MAX_VRAM		(64ULL << 30)
#define MGPU_MIN_QUEUES		16
#define MGPU_MAX_QUEUES		256

#define MGPU_LAST_ERROR_LEN	160

/* VFIO region offsets: index << 40, the layout vfio-pci uses too. */
#define MGPU_REGION_SHIFT	40
#define MGPU_REGION_MASK	((1ULL << MGPU_REGION_SHIFT) - 1)
#define MGPU_CONFIG_SIZE	PCI_CFG_SPACE_EXP_SIZE
/* Standard config header + capabilities: the part with write masks. */
#define MGPU_CONFIG_STD_SIZE	PCI_CFG_SPACE_SIZE

/* Result of a step of a command (cmd.c), besides an MGPU_ERR_* code. */
#define MGPU_CMD_DONE		0
#define MGPU_CMD_MORE		(-1)
/* A guest-memory step sent back undone, to be redone (dma.c). */
#define MGPU_DMA_RETRY		(-2)

/* The last MGPU_ERR_* code; the known CTRL and interrupt bits. */
#define MGPU_ERR_LAST		MGPU_ERR_NO_MEMORY
#define MGPU_QCTRL_KNOWN	(MGPU_QCTRL_ENABLE | MGPU_QCTRL_RING_SYSMEM | \
				 MGPU_QCTRL_TAIL_POLL)
#define MGPU_INT_KNOWN		(MGPU_INT_FENCE | MGPU_INT_ERROR)

/* What an idle engine must keep watching (mgpu_queue_any_work()). */
#define MGPU_HINT_POLL		(1U << 0)	/* a polled tail */
#define MGPU_HINT_DMA		(1U << 1)	/* a step waits for guest memory */

/* A DMA thread's bounce buffer for guest-memory to guest-memory work. */
#define MGPU_BOUNCE_SIZE	(64 * 1024)

/*
 * GEMM steps (cmd.c) compute a block of up to MGPU_GEMM_ROWS rows of C
 * at a time, MGPU_STEP_MACS multiply-adds at most per step.  Their
 * progress: the row in the high half; in the low half the inner index
 * (bits 0-15) and the rows of the block after the first (bits 16-31).
 * The engine's scratch buffer for a step: the slices of A's rows, a
 * block of rows of B, C's rows (each at most MGPU_STEP_MACS elements:
 * rows * n <= MGPU_STEP_MACS), the kernel's work space.
 */
#define MGPU_GEMM_ROWS		16
#define MGPU_STEP_MACS		(128 * 1024)
#define MGPU_GEMM_P(progress)	((u32)(progress) & 0xffff)
#define MGPU_GEMM_H(progress)	((u32)(progress) >> 16)
#define MGPU_GEMM_SCRATCH_A	0
#define MGPU_GEMM_SCRATCH_B	(MGPU_STEP_MACS * 4)
#define MGPU_GEMM_SCRATCH_C	(MGPU_GEMM_SCRATCH_B + MGPU_STEP_MACS * 4)
#define MGPU_GEMM_SCRATCH_WORK	(MGPU_GEMM_SCRATCH_C + MGPU_STEP_MACS * 4)
#define MGPU_GEMM_SCRATCH_SIZE	(MGPU_GEMM_SCRATCH_WORK + MGPU_GEMM_WORK)

/*
 * VEC and XENT steps: at most MGPU_OPS_STEP_ELEMS elements each, in one
 * FPU section.  VEC's progress: elements done.  XENT's: rows done in the
 * high half, with MGPU_F_XENT_MEAN the running sum of their losses (bits
 * of a float) in the low half.  Scratch: x (or the logits) at
 * MGPU_GEMM_SCRATCH_A, y (or the targets) at _B, z (or the gradient) at
 * _C, XENT's losses at _WORK.
 */
#define MGPU_OPS_STEP_ELEMS	16384

static inline u64 mgpu_gemm_progress(u32 row, u32 h, u32 p)
{
	return (u64)row << 32 | h << 16 | p;
}

/* The kernel mgpu_gemm_simd asks for (0: the widest the CPU has). */
enum {
	MGPU_GEMM_SIMD_AUTO,
	MGPU_GEMM_SIMD_SSE2,
	MGPU_GEMM_SIMD_AVX2,
	MGPU_GEMM_SIMD_AVX512,
};

/* Scheduling policies (sched.c) and their limits */
enum mgpu_sched_policy {
	MGPU_SCHED_BEST_EFFORT,
	MGPU_SCHED_EQUAL_SHARE,
	MGPU_SCHED_FIXED_SHARE,
};

#define MGPU_SCHED_DEFAULT_SLICE_NS	(2 * NSEC_PER_MSEC)
#define MGPU_SCHED_MIN_SLICE_US		100
#define MGPU_SCHED_MAX_SLICE_US		1000000
#define MGPU_SCHED_MAX_WEIGHT		10000

/* Engine threads of a parent (add_swgpu engines=, bar_engines) */
#define MGPU_MAX_ENGINES		8

struct mgpu_mig_file;
struct mgpu_parent;
struct mgpu_vgpu;
struct pci_dev;
struct pci_driver;
struct task_struct;
struct vm_area_struct;

/**
 * struct mgpu_engine_thread - one kernel thread of a parent's engine
 * @e: the engine it belongs to
 * @task: the kernel thread "mgpu/<parent>/<index>", while started
 * @index: its number, 0 to mgpu_engine.nr_threads - 1
 * @scratch: MGPU_GEMM_SCRATCH_SIZE bytes for the thread's GEMM, VEC
 *	and XENT steps; the thread's alone
 */
struct mgpu_engine_thread {
	struct mgpu_engine *e;
	struct task_struct *task;
	unsigned int index;
	void *scratch;
};

/**
 * struct mgpu_engine - the command engine of a parent GPU
 * @parent: the parent
 * @threads: the engine's threads; each runs one vGPU at a time
 * @nr_threads: how many, 1 to MGPU_MAX_ENGINES, fixed at the parent's
 *	creation
 * @lock: protects @vgpus, the vGPUs' on_engine, the scheduling fields
 *	below and the scheduling fields of the vGPUs (weight, cap, budget)
 * @vgpus: open vGPUs (mgpu_vgpu.engine_node), in round-robin order
 * @kick: set by a doorbell, cleared by a thread before a scan
 * @wq: idle threads wait here for work
 * @idle_wq: quiesce waits here until a thread leaves a vGPU
 * @policy: scheduling policy
 * @slice_ns: time a vGPU runs before its thread looks for others
 * @period_start: start of the scheduling period
 * @period_ns: its length; 0 forces a new period
 * @busy_ns: engine time spent running vGPUs, summed over the threads
 * @util_start: start of the utilization window
 * @util_busy: @busy_ns at @util_start
 * @util_pct: utilization over the last complete window, of all threads
 */
struct mgpu_engine {
	struct mgpu_parent *parent;
	struct mgpu_engine_thread threads[MGPU_MAX_ENGINES];
	unsigned int nr_threads;
	struct mutex lock;
	struct list_head vgpus;
	atomic_t kick;
	wait_queue_head_t wq;
	wait_queue_head_t idle_wq;

	enum mgpu_sched_policy policy;
	u64 slice_ns;
	u64 period_start;
	u64 period_ns;
	u64 busy_ns;
	u64 util_start;
	u64 util_busy;
	u32 util_pct;
};

/**
 * struct mgpu_vgpu_stats - per-instance statistics (sysfs mgpu/)
 * @busy_ns: engine time spent on the instance
 * @commands: commands completed
 * @bytes: bytes written by completed COPY and FILL commands
 * @flops: floating point or integer operations of completed GEMMs (2mnk)
 * @errors: queues stopped by an error
 * @resets: device resets requested by the user (VFIO reset, FLR)
 * @reg_traps: accesses to BAR0 through the VFIO device (each is a trap:
 *	a guest's register access its VMM forwards)
 * @irqs: interrupts signalled to the VFIO user (INTx and MSI)
 *
 * Written by the engine thread or under the vGPU's lock, read without a
 * lock: each counter is one aligned 64-bit word.
 */
/**
 * struct mgpu_mig_stats - the last migration session of an instance
 * @precopy_bytes: stream bytes read while the device ran (pre-copy)
 * @stopcopy_bytes: stream bytes read after it stopped (stop-copy)
 * @stopcopy_ns: from the stop to the last byte of the stream read: the
 *	device's part of the downtime (0 until the stream ended)
 * @stop_ns: when the device stopped (ktime_get_ns())
 * @resumed_bytes: stream bytes written into the device (resuming)
 *
 * Written by the session's file under its lock, read without it
 * (debugfs "migration").  A new saving or resuming session resets them.
 */
struct mgpu_mig_stats {
	u64 precopy_bytes;
	u64 stopcopy_bytes;
	u64 stopcopy_ns;
	u64 stop_ns;
	u64 resumed_bytes;
};

struct mgpu_vgpu_stats {
	u64 busy_ns;
	u64 commands;
	u64 bytes;
	u64 flops;
	u64 errors;
	u64 resets;
	u64 reg_traps;
	u64 irqs;
};

/**
 * struct mgpu_queue - one command queue of a vGPU
 * @ring: RING_LO/HI
 * @ring_size: RING_SIZE
 * @ctrl: CTRL
 * @head: HEAD, advanced by the engine
 * @tail: TAIL, written by the guest
 * @error: ERROR reason, MGPU_ERR_NONE while healthy
 * @error_head: ERROR_HEAD
 * @tail_addr: TAIL_ADDR
 * @completed: COMPLETED
 * @gen: bumped whenever the queue is stopped or reset, so the engine
 *	drops the result of work it started before
 *
 * Registers above are protected by the vGPU's lock.  The fields below
 * belong to the engine thread alone.
 *
 * @cur: the command at @head being executed
 * @cur_valid: @cur was fetched and is in progress
 * @cur_gen: @gen when @cur was fetched
 * @progress: how far @cur has come (bytes, or GEMM position)
 * @cur_ns: engine time spent on @cur, for the watchdog
 * @dma_busy: a step of this queue is with the vGPU's DMA thread; @cur
 *	and @progress belong to that thread until the result is collected
 * @dma_gen: @gen when that step was submitted
 * @dma_start: when it was submitted, for the watchdog
 * @dma_timed_out: the watchdog cancelled it
 */
struct mgpu_queue {
	u64 ring;
	u32 ring_size;
	u32 ctrl;
	u32 head;
	u32 tail;
	u32 error;
	u32 error_head;
	u32 tail_addr;
	u64 completed;
	u32 gen;

	struct mgpu_cmd cur;
	bool cur_valid;
	u32 cur_gen;
	u64 progress;
	u64 cur_ns;
	bool dma_busy;
	u32 dma_gen;
	u64 dma_start;
	bool dma_timed_out;
};

/* What a request to a vGPU's DMA thread (dma.c) does. */
enum mgpu_dma_kind {
	MGPU_DMA_FETCH,		/* read a command from a ring in guest memory */
	MGPU_DMA_STEP,		/* one step of a command that touches it */
};

/**
 * struct mgpu_dma - a vGPU's guest-memory access thread (dma.c)
 * @thread: the thread, while the device is open
 * @wq: the thread waits here for a request
 * @idle_wq: cancel waits here for the result of a request
 * @lock: protects the fields below
 * @q: the queue of the outstanding request, NULL when there is none
 * @kind: what the request does
 * @iova: for MGPU_DMA_FETCH, where the command is
 * @result: MGPU_CMD_DONE, MGPU_CMD_MORE or MGPU_ERR_*, once @done
 * @done: the thread finished the request; the engine collects it
 * @cancel: the request must fail (reset, close, watchdog)
 * @retry: ...or, if @cancel came from a migration stop, be redone later
 * @bounce: buffer for guest-memory to guest-memory copies and fills
 */
struct mgpu_dma {
	struct task_struct *thread;
	wait_queue_head_t wq;
	wait_queue_head_t idle_wq;
	spinlock_t lock;
	struct mgpu_queue *q;
	enum mgpu_dma_kind kind;
	u64 iova;
	int result;
	bool done;
	bool cancel;
	bool retry;
	void *bounce;
};

/**
 * struct mgpu_backend_ops - what a parent GPU implementation provides
 * @name: backend name shown in sysfs ("software", "bar")
 * @vram_kaddr: kernel address of VRAM at @offset, valid up to the end
 *	of its page; if the page was never touched: backed (zeroed) when
 *	@alloc, else NULL (it reads as zero).  ERR_PTR(-ENOMEM) when host
 *	memory ran out.  A backend whose VRAM always exists (a BAR) never
 *	returns NULL: every page counts as written (migration sends it).
 *	Offsets are checked by the caller.
 * @vram_pfn: the page frame that holds VRAM at @offset (backing it if
 *	needed), for the fault handler of a BAR2 mapping; not necessarily
 *	RAM (a BAR's frame: the mapping gets the memory type the backend
 *	reserved for it)
 * @vram_discard: scrub [@offset, @offset + @size): afterwards it reads as
 *	zero, and backing memory is given back if it can be; may sleep
 * @vram_resident: bytes of VRAM backed by memory right now (a BAR: all)
 * @release: free the backend's structure; called when the last
 *	reference to the parent is dropped (mgpu_parent_put())
 *
 * Nothing above the backend knows how VRAM is stored: host memory for
 * the software GPU, a PCI BAR for a real device.
 */
struct mgpu_backend_ops {
	const char *name;
	void *(*vram_kaddr)(struct mgpu_parent *parent, u64 offset, bool alloc);
	int (*vram_pfn)(struct mgpu_parent *parent, u64 offset,
			unsigned long *pfn);
	void (*vram_discard)(struct mgpu_parent *parent, u64 offset, u64 size);
	u64 (*vram_resident)(struct mgpu_parent *parent);
	void (*release)(struct mgpu_parent *parent);
};

/**
 * struct mgpu_type - one mdev type of one parent
 * @mdev_type: registration with the mdev core (names set from a table)
 * @parent: the parent this type belongs to
 * @order: log2 of the fraction: 0 = the whole GPU (passthrough)
 */
struct mgpu_type {
	struct mdev_type mdev_type;
	struct mgpu_parent *parent;
	unsigned int order;
};

/**
 * struct mgpu_parent - a GPU that vGPUs are carved from
 * @mdev_parent: registration with the mdev core
 * @dev: the device the mdev types hang off, while registered: its PCI
 *	function (owned by the PCI core)
 * @ops: backend operations
 * @vram_size: bytes of VRAM, a power of two
 * @nr_queues: command queues, a power of two
 * @types: the mdev types of this parent, indexed by order
 * @mdev_types: pointers to @types for mdev_register_parent()
 * @lock: protects @units_used, @nr_instances, @nr_passthrough and
 *	@last_error; taken by create/remove and by sysfs readers
 * @units_used: bitmap of allocated 1/16 units
 * @nr_instances: live instances
 * @nr_passthrough: live passthrough instances (0 or 1)
 * @last_error: why the last create on this parent failed ("" if the last
 *	create succeeded)
 * @engine: the command engine
 * @ref: held by the backend until it removes the parent, and by every
 *	vGPU until the VFIO core releases it (which may come after the
 *	parent was removed: a cdev or sysfs user can hold the last
 *	reference to a vfio_device)
 */
struct mgpu_parent {
	struct mdev_parent mdev_parent;
	struct kref ref;
	struct device *dev;
	const struct mgpu_backend_ops *ops;
	u64 vram_size;
	u32 nr_queues;
	struct mgpu_type types[MGPU_NR_TYPES];
	struct mdev_type *mdev_types[MGPU_NR_TYPES];

	struct mutex lock;
	u32 units_used;
	unsigned int nr_instances;
	unsigned int nr_passthrough;
	char last_error[MGPU_LAST_ERROR_LEN];
	struct mgpu_engine engine;
};

/**
 * struct mgpu_vgpu - one vGPU instance
 * @vdev: VFIO device; must stay the first member (vfio_alloc_device())
 * @parent: the parent GPU
 * @type: the instance's type
 * @first_unit: first 1/16 unit owned
 * @vram_offset: offset of the VRAM slice in the parent's VRAM
 * @vram_size: bytes of VRAM (BAR2 size)
 * @queue_base: first parent queue owned
 * @nr_queues: queues owned
 * @lock: serializes config space, registers, interrupt state and reset;
 *	never held while calling into the backend for bulk VRAM access
 * @cfg: emulated config space
 * @cfg_init: config space after reset (standard part)
 * @cfg_wmask: writable bits per byte (standard part)
 * @cfg_w1c: write-one-to-clear bits per byte (standard part)
 * @scratch: MGPU_REG_SCRATCH
 * @intx_trigger: INTx eventfd, NULL when INTx is disabled
 * @msi_trigger: MSI eventfd, NULL when MSI is disabled
 * @err_trigger: error eventfd (never signalled), NULL when none
 * @req_trigger: device request eventfd, NULL when none is registered
 * @intx_masked: INTx masked (by the user, or automasked on assertion)
 * @int_status: INT_STATUS
 * @int_mask: INT_MASK
 * @queues: @nr_queues command queues
 * @engine_node: entry in the engine's list while the device is open
 * @on_engine: an engine thread runs the vGPU's queues (engine lock;
 *	read without it by those who wait for it to clear)
 * @run_start: while @on_engine, when the time not charged yet began
 *	(engine lock)
 * @rr_queue: next queue the engine looks at (the owning engine thread)
 * @weight: share weight under fixed_share (engine lock)
 * @cap_pct: most of the engine it may use, percent; 0: no cap (engine lock)
 * @budget_ns: engine time left in this period (engine lock)
 * @vram_mapping: the address space BAR2 was mapped through (the VFIO
 *	device file's), for zapping the mappings (lock)
 * @dma: the guest-memory access thread and its request
 * @ratelimit: rate limit of the log lines this instance's user can
 *	trigger, per instance so that one noisy tenant cannot hide
 *	another's errors
 * @stats: statistics
 */
struct mgpu_vgpu {
	struct vfio_device vdev;
	struct mgpu_parent *parent;
	struct mgpu_type *type;
	unsigned int first_unit;
	u64 vram_offset;
	u64 vram_size;
	u32 queue_base;
	u32 nr_queues;

	struct mutex lock;
	u8 cfg[MGPU_CONFIG_SIZE];
	u8 cfg_init[MGPU_CONFIG_STD_SIZE];
	u8 cfg_wmask[MGPU_CONFIG_STD_SIZE];
	u8 cfg_w1c[MGPU_CONFIG_STD_SIZE];
	u32 scratch;
	struct eventfd_ctx *intx_trigger;
	struct eventfd_ctx *msi_trigger;
	struct eventfd_ctx *err_trigger;
	struct eventfd_ctx *req_trigger;
	bool intx_masked;
	u32 int_status;
	u32 int_mask;
	struct mgpu_queue *queues;
	struct list_head engine_node;
	bool on_engine;
	u64 run_start;
	unsigned int rr_queue;
	u32 weight;
	u32 cap_pct;
	s64 budget_ns;
	struct address_space *vram_mapping;
	/*
	 * Dirty tracking (vram.c): @vram_dirty is @vram_dirty_map while on,
	 * NULL while off; both written under @lock, @vram_dirty read
	 * without it; the map lives until close.
	 */
	unsigned long *vram_dirty;
	unsigned long *vram_dirty_map;
	struct dentry *debugfs;
	/*
	 * Live migration (migrate.c): @mig_state and the sessions under
	 * @mig_lock; @mig_stopped (the engine runs nothing) under @lock.
	 */
	struct mutex mig_lock;
	enum vfio_device_mig_state mig_state;
	struct mgpu_mig_file *mig_saving;
	struct mgpu_mig_file *mig_resuming;
	bool mig_stopped;
	struct mgpu_mig_stats mig_stats;
	/*
	 * DMA logging (dma.c): guest pages written, by IOVA page number;
	 * @dma_logging set and cleared under @mig_lock (or at close), read
	 * without it.
	 */
	bool dma_logging;
	struct xarray dma_dirty;
	struct mgpu_dma dma;
	struct ratelimit_state ratelimit;
	struct mgpu_vgpu_stats stats;
};

/*
 * A log line that the user of @vgpu can trigger at will: rate-limited per
 * instance, and named after the instance (its mdev UUID).
 */
#define mgpu_vgpu_log(vgpu, level, fmt, ...)				\
do {									\
	if (__ratelimit(&(vgpu)->ratelimit))				\
		dev_printk(level, (vgpu)->vdev.dev, fmt, ##__VA_ARGS__); \
} while (0)

static inline struct mgpu_vgpu *vdev_to_vgpu(struct vfio_device *vdev)
{
	return container_of(vdev, struct mgpu_vgpu, vdev);
}

/* parent.c */
extern const struct attribute_group *mgpu_parent_groups[];
int mgpu_parent_init(struct mgpu_parent *parent,
		     const struct mgpu_backend_ops *ops, u64 vram_size,
		     u32 nr_queues, unsigned int nr_engines);
int mgpu_parent_register(struct mgpu_parent *parent, struct device *dev);
void mgpu_parent_unregister(struct mgpu_parent *parent);
void mgpu_parent_get(struct mgpu_parent *parent);
void mgpu_parent_put(struct mgpu_parent *parent);
void mgpu_parent_wait_all(void);
int mgpu_parent_claim(struct mgpu_parent *parent, struct mgpu_type *type,
		      unsigned int *first_unit);
void mgpu_parent_release(struct mgpu_parent *parent, struct mgpu_type *type,
			 unsigned int first_unit);
unsigned int mgpu_parent_get_available(struct mdev_type *mtype);
ssize_t mgpu_parent_show_description(struct mdev_type *mtype, char *buf);
u64 mgpu_parent_type_vram_size(const struct mgpu_type *type);
u32 mgpu_parent_type_nr_queues(const struct mgpu_type *type);

/* main.c */
extern struct class *mgpu_class;

/* pci.c */
extern struct pci_driver mgpu_pci_driver;

/* vbus.c: slots are PCI device numbers 0..31 of bus 00, function 0 */
#define MGPU_VBUS_SLOTS		32
int mgpu_vbus_init(u16 domain);
void mgpu_vbus_exit(void);
int mgpu_vbus_domain(void);
int mgpu_vbus_plug(unsigned int slot, u16 device, struct mgpu_parent *parent);
void mgpu_vbus_unplug(unsigned int slot);
struct mgpu_parent *mgpu_vbus_parent(struct pci_dev *pdev);

/* swgpu.c */
int mgpu_swgpu_add(u64 vram_size, u32 nr_queues, unsigned int nr_engines);
int mgpu_swgpu_remove(const char *name);
void mgpu_swgpu_remove_all(void);

/* bar.c */
int mgpu_bar_probe(struct pci_dev *pdev);
void mgpu_bar_remove(struct pci_dev *pdev);
bool mgpu_bar_parent(struct mgpu_parent *parent);

/* vgpu.c */
extern struct mdev_driver mgpu_mdev_driver;
void mgpu_vgpu_reset(struct mgpu_vgpu *vgpu);
void mgpu_vgpu_user_reset(struct mgpu_vgpu *vgpu);

/* cfg.c */
void mgpu_cfg_init(struct mgpu_vgpu *vgpu);
void mgpu_cfg_reset(struct mgpu_vgpu *vgpu);
void mgpu_cfg_set_intx_pending(struct mgpu_vgpu *vgpu, bool pending);
void mgpu_cfg_restore(struct mgpu_vgpu *vgpu, const u8 *cfg);
bool mgpu_cfg_intx_disabled(struct mgpu_vgpu *vgpu);
bool mgpu_cfg_mem_enabled(struct mgpu_vgpu *vgpu);
bool mgpu_cfg_bus_master(struct mgpu_vgpu *vgpu);
ssize_t mgpu_cfg_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		    size_t count, bool write);

/* regs.c */
void mgpu_regs_reset(struct mgpu_vgpu *vgpu);
ssize_t mgpu_regs_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		     size_t count, bool write);

/* vram.c */
ssize_t mgpu_vram_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		     size_t count, bool write);
int mgpu_vram_mmap(struct mgpu_vgpu *vgpu, u64 pos,
		   struct vm_area_struct *vma);
bool mgpu_vram_range_ok(u64 vram_size, u64 addr, u64 len);
void mgpu_vram_read(struct mgpu_vgpu *vgpu, u64 off, void *buf, u64 len);
int mgpu_vram_write(struct mgpu_vgpu *vgpu, u64 off, const void *buf,
		    u64 len);
int mgpu_vram_fill32(struct mgpu_vgpu *vgpu, u64 off, u32 pattern, u64 len);
int mgpu_vram_copy(struct mgpu_vgpu *vgpu, u64 dst, u64 src, u64 len);
void *mgpu_vram_ptr(struct mgpu_vgpu *vgpu, u64 off, bool alloc);
void mgpu_vram_discard(struct mgpu_vgpu *vgpu);
void mgpu_vram_zap(struct mgpu_vgpu *vgpu);
void mgpu_vram_dirty_mark(struct mgpu_vgpu *vgpu, u64 off, u64 len);
int mgpu_vram_dirty_start(struct mgpu_vgpu *vgpu);
void mgpu_vram_dirty_stop(struct mgpu_vgpu *vgpu);
u64 mgpu_vram_dirty_sync(struct mgpu_vgpu *vgpu, unsigned long *out);
void mgpu_vram_dirty_free(struct mgpu_vgpu *vgpu);

/* debugfs.c */
void mgpu_debugfs_init(void);
void mgpu_debugfs_exit(void);
void mgpu_debugfs_vgpu_add(struct mgpu_vgpu *vgpu);
void mgpu_debugfs_vgpu_remove(struct mgpu_vgpu *vgpu);

/* irq.c */
long mgpu_irq_get_info(struct mgpu_vgpu *vgpu, void __user *arg);
long mgpu_irq_set(struct mgpu_vgpu *vgpu, void __user *arg);
void mgpu_irq_disable_all(struct mgpu_vgpu *vgpu);
void mgpu_irq_request(struct mgpu_vgpu *vgpu, unsigned int count);
void mgpu_irq_raise(struct mgpu_vgpu *vgpu, u32 cause);
void mgpu_irq_update(struct mgpu_vgpu *vgpu);
void mgpu_irq_set_mask(struct mgpu_vgpu *vgpu, u32 mask);
void mgpu_irq_msi_pending(struct mgpu_vgpu *vgpu);

/* queue.c */
u32 mgpu_queue_read(struct mgpu_vgpu *vgpu, u32 off);
void mgpu_queue_write(struct mgpu_vgpu *vgpu, u32 off, u32 val);
void mgpu_queue_stop_all(struct mgpu_vgpu *vgpu);
void mgpu_queue_set_error(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
			  u32 error, u32 head);
bool mgpu_queue_has_work(struct mgpu_vgpu *vgpu, struct mgpu_queue *q);
bool mgpu_queue_config_ok(struct mgpu_vgpu *vgpu, u64 ring, u32 ring_size,
			  u32 ctrl, u32 tail_addr);
bool mgpu_queue_any_work(struct mgpu_vgpu *vgpu, unsigned int *hint);

/* engine.c */
extern unsigned int mgpu_cmd_budget_ms;
extern unsigned int mgpu_gemm_simd;
int mgpu_engine_init(struct mgpu_parent *parent, unsigned int nr_threads);
int mgpu_engine_start(struct mgpu_parent *parent);
void mgpu_engine_stop(struct mgpu_parent *parent);
void mgpu_engine_fini(struct mgpu_parent *parent);
int mgpu_engine_attach(struct mgpu_vgpu *vgpu);
void mgpu_engine_detach(struct mgpu_vgpu *vgpu);
void mgpu_engine_quiesce(struct mgpu_vgpu *vgpu);
void mgpu_engine_flush(struct mgpu_vgpu *vgpu);
void mgpu_engine_kick(struct mgpu_parent *parent);

/* cmd.c */
int mgpu_cmd_validate(u64 vram_size, const struct mgpu_cmd *cmd);
bool mgpu_cmd_needs_dma(const struct mgpu_cmd *cmd);
bool mgpu_cmd_progress_ok(const struct mgpu_cmd *cmd, u64 progress);
int mgpu_cmd_step(void *scratch, struct mgpu_vgpu *vgpu,
		  const struct mgpu_cmd *cmd, u64 *progress);
int mgpu_cmd_complete(struct mgpu_vgpu *vgpu, const struct mgpu_cmd *cmd);
void mgpu_cmd_account(struct mgpu_vgpu *vgpu, const struct mgpu_cmd *cmd);

/* dma.c */
void mgpu_dma_init(struct mgpu_vgpu *vgpu);
int mgpu_dma_start(struct mgpu_vgpu *vgpu);
void mgpu_dma_stop(struct mgpu_vgpu *vgpu);
int mgpu_dma_rw(struct mgpu_vgpu *vgpu, u64 iova, void *buf, size_t len,
		bool write);
bool mgpu_dma_submit(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
		     enum mgpu_dma_kind kind, u64 iova);
bool mgpu_dma_collect(struct mgpu_vgpu *vgpu, struct mgpu_queue *q,
		      int *result);
bool mgpu_dma_pending(struct mgpu_vgpu *vgpu, struct mgpu_queue *q);
void mgpu_dma_cancel(struct mgpu_vgpu *vgpu, bool wait);
bool mgpu_dma_wait_idle(struct mgpu_vgpu *vgpu, unsigned int ms);
void mgpu_dma_cancel_retry(struct mgpu_vgpu *vgpu);

/* migrate.c */
void mgpu_mig_init(struct mgpu_vgpu *vgpu);
void mgpu_mig_reset(struct mgpu_vgpu *vgpu);
void mgpu_mig_fini(struct mgpu_vgpu *vgpu);

/* sched.c */
void mgpu_sched_init(struct mgpu_engine *e);
void mgpu_sched_vgpu_init(struct mgpu_vgpu *vgpu);
void mgpu_sched_new_period(struct mgpu_engine *e, u64 now);
u64 mgpu_sched_period_left(struct mgpu_engine *e, u64 now);
u64 mgpu_sched_run_ns(struct mgpu_engine *e, struct mgpu_vgpu *vgpu);
void mgpu_sched_charge(struct mgpu_engine *e, struct mgpu_vgpu *vgpu, u64 ns);
const char *mgpu_sched_policy_name(struct mgpu_engine *e);
int mgpu_sched_set_policy(struct mgpu_engine *e, const char *name);
int mgpu_sched_set_slice(struct mgpu_engine *e, u32 us);
int mgpu_sched_set_weight(struct mgpu_vgpu *vgpu, u32 weight);
int mgpu_sched_set_cap(struct mgpu_vgpu *vgpu, u32 pct);
u32 mgpu_sched_utilization(struct mgpu_engine *e, u64 now);
struct mgpu_vgpu *mgpu_sched_pick(struct mgpu_engine *e, unsigned int *hint,
				  u64 *run_ns, u64 *wait_ns, bool *more);
void mgpu_sched_done(struct mgpu_engine *e, struct mgpu_vgpu *vgpu);

/*
 * gemm_fp.c, gemm_fp_avx2.c, gemm_fp_avx512.c: the GEMM kernels
 * (gemm_fp_tmpl.h), fp32 and int8, one per SIMD width, all giving the
 * same bits; @work: MGPU_GEMM_WORK bytes (96 rows of 128 packed
 * lanes of A, a panel of 128 x 32 lanes of B, widened or copied:
 * checked in the template).
 */
#define MGPU_GEMM_WORK		((96 * 128 + 128 * 32) * 4)
void mgpu_gemm_f32_sse2(const void *a, u32 lda, const void *b, void *c,
			void *work, u32 rows, u32 n, u32 np, bool first,
			u32 alpha, u32 beta);
void mgpu_gemm_f32_avx2(const void *a, u32 lda, const void *b, void *c,
			void *work, u32 rows, u32 n, u32 np, bool first,
			u32 alpha, u32 beta);
void mgpu_gemm_f32_avx512(const void *a, u32 lda, const void *b, void *c,
			  void *work, u32 rows, u32 n, u32 np, bool first,
			  u32 alpha, u32 beta);
void mgpu_gemm_i8_sse2(const void *a, u32 lda, const void *b, void *c,
		       void *work, u32 rows, u32 n, u32 np, bool first,
		       u32 alpha, u32 beta);
void mgpu_gemm_i8_avx2(const void *a, u32 lda, const void *b, void *c,
		       void *work, u32 rows, u32 n, u32 np, bool first,
		       u32 alpha, u32 beta);
void mgpu_gemm_i8_avx512(const void *a, u32 lda, const void *b, void *c,
			 void *work, u32 rows, u32 n, u32 np, bool first,
			 u32 alpha, u32 beta);

/*
 * ops_fp.c: MGPU_OP_VEC and MGPU_OP_XENT arithmetic (ops_math.h), only
 * inside kernel_fpu_begin/end.  mgpu_xent_f32(): @rows rows of @n
 * logits; @sum: the running sum of the losses (bits of a float) with
 * @mean, returned updated; without @mean each row's loss goes to @loss.
 */
void mgpu_vec_f32(u32 op, const void *x, const void *y, void *z, u32 n,
		  u32 alpha);
u32 mgpu_xent_f32(const void *x, const s32 *t, void *g, void *loss,
		  u32 rows, u32 n, bool scale, u32 m, bool mean, u32 sum);
u32 mgpu_xent_mean_f32(u32 sum, u32 m);

#endif /* _MGPU_DRV_H */
