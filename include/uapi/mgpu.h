/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * mgpu device model: the contract between the mgpu vGPU (as seen through
 * VFIO or from inside a guest) and the software that drives it.
 *
 * Documentation/device-model.rst describes every value here in prose.
 * Everything in this file is ABI: values are only ever added.
 */
#ifndef _UAPI_MGPU_H
#define _UAPI_MGPU_H

#include <linux/types.h>

/*
 * PCI identity.  0x1f4d is not assigned to any vendor in the PCI ID
 * database at the time of writing; mgpu uses it so that it never
 * impersonates real hardware.  It is a software device's ID only.
 */
#define MGPU_PCI_VENDOR_ID		0x1f4d
#define MGPU_PCI_DEVICE_ID		0x0001
#define MGPU_PCI_REVISION		0x01
#define MGPU_PCI_SUBSYS_VENDOR_ID	MGPU_PCI_VENDOR_ID
/* Subsystem device ID = MGPU_PCI_SUBSYS_BASE + log2(fraction denominator) */
#define MGPU_PCI_SUBSYS_BASE		0x0100
/*
 * On the host, a software GPU (the parent that vGPUs are carved from) is
 * a PCI function of mgpu's virtual host bridge with this device ID and
 * subsystem device ID, class 3D controller.  Guests never see it.
 */
#define MGPU_PCI_SWGPU_DEVICE_ID	0x0002

/* BAR layout */
#define MGPU_BAR_REGS			0	/* 32-bit MMIO, trapped */
#define MGPU_BAR_VRAM			2	/* 64-bit prefetchable, mmap */
#define MGPU_REGS_SIZE			0x10000	/* BAR0 size: 64 KiB */

/*
 * BAR0 register file.  All registers are 32 bits wide and must be
 * accessed with naturally aligned 32-bit accesses; 64-bit values are
 * split in _LO/_HI halves.  Offsets not listed read as 0 and ignore
 * writes.
 */
#define MGPU_REG_MAGIC			0x0000	/* RO: MGPU_MAGIC */
#define MGPU_REG_VERSION		0x0004	/* RO: MGPU_VERSION */
#define MGPU_REG_VRAM_SIZE_LO		0x0008	/* RO: bytes of VRAM (BAR2) */
#define MGPU_REG_VRAM_SIZE_HI		0x000c
#define MGPU_REG_NUM_QUEUES		0x0010	/* RO: command queues */
#define MGPU_REG_CAPS			0x0014	/* RO: MGPU_CAP_* bits */
#define MGPU_REG_SCRATCH		0x0018	/* RW: no side effect */
#define MGPU_REG_FRACTION		0x001c	/* RO: 1 = whole GPU, N = 1/N */

/* MGPU_REG_CAPS bits */
#define MGPU_CAP_ENGINE			(1U << 0)	/* command queues */
#define MGPU_CAP_GEMM_FP32		(1U << 1)
#define MGPU_CAP_GEMM_INT8		(1U << 2)
#define MGPU_CAP_TAIL_POLL		(1U << 3)	/* trap-free doorbell */
#define MGPU_CAP_TRAIN_OPS		(1U << 4)	/* VEC, XENT, GEMM_TRANS_* */

/*
 * Interrupts.  A cause bit is set in INT_STATUS when the event happens;
 * the interrupt (MSI, or INTx when MSI is off) is asserted while
 * INT_STATUS & INT_MASK is non-zero.  Writing 1 to a status bit clears
 * it (and deasserts INTx once nothing enabled is pending).
 */
#define MGPU_REG_INT_STATUS		0x0100	/* RW1C: MGPU_INT_* */
#define MGPU_REG_INT_MASK		0x0104	/* RW: 1 enables a cause */
#define MGPU_REG_TIMESTAMP_LO		0x0108	/* RO: engine clock, ns */
#define MGPU_REG_TIMESTAMP_HI		0x010c
#define MGPU_REG_CMD_BUDGET_MS		0x0110	/* RO: watchdog per command */

#define MGPU_INT_FENCE			(1U << 0)	/* FENCE with IRQ flag */
#define MGPU_INT_ERROR			(1U << 1)	/* a queue stopped */

/*
 * Command queues: one block of registers per queue, queue q at
 * MGPU_REG_QUEUE(q).  A queue is a ring of MGPU_CMD_SIZE-byte commands
 * in VRAM (offset) or in guest memory (IOVA, MGPU_QCTRL_RING_SYSMEM).
 * The producer writes commands, then the new tail to TAIL: that write
 * is the doorbell.  The engine consumes from HEAD.  Indexes run from 0
 * to RING_SIZE - 1 and wrap.
 */
#define MGPU_REG_QUEUE_BASE		0x1000
#define MGPU_REG_QUEUE_STRIDE		0x40
#define MGPU_REG_QUEUE(q)		(MGPU_REG_QUEUE_BASE + \
					 (q) * MGPU_REG_QUEUE_STRIDE)
#define MGPU_Q_RING_LO			0x00	/* RW: ring address */
#define MGPU_Q_RING_HI			0x04
#define MGPU_Q_RING_SIZE		0x08	/* RW: entries, 2^1..2^16 */
#define MGPU_Q_CTRL			0x0c	/* RW: MGPU_QCTRL_* */
#define MGPU_Q_HEAD			0x10	/* RO: next command to run */
#define MGPU_Q_TAIL			0x14	/* RW: doorbell */
#define MGPU_Q_STATUS			0x18	/* RO: MGPU_QSTAT_* */
#define MGPU_Q_ERROR			0x1c	/* RO: MGPU_ERR_* */
#define MGPU_Q_ERROR_HEAD		0x20	/* RO: index of failed command */
#define MGPU_Q_TAIL_ADDR		0x24	/* RW: VRAM offset of polled tail */
#define MGPU_Q_COMPLETED_LO		0x28	/* RO: commands completed */
#define MGPU_Q_COMPLETED_HI		0x2c

#define MGPU_QCTRL_ENABLE		(1U << 0)
#define MGPU_QCTRL_RING_SYSMEM		(1U << 1)
#define MGPU_QCTRL_TAIL_POLL		(1U << 2)

#define MGPU_QSTAT_ENABLED		(1U << 0)
#define MGPU_QSTAT_BUSY			(1U << 1)
#define MGPU_QSTAT_ERROR		(1U << 2)

#define MGPU_RING_MAX_ENTRIES		65536

/* MGPU_Q_ERROR reason codes: the queue stopped at ERROR_HEAD. */
#define MGPU_ERR_NONE			0
#define MGPU_ERR_BAD_OPCODE		1	/* unknown opcode */
#define MGPU_ERR_BAD_CMD		2	/* bad flags, size or shape */
#define MGPU_ERR_VRAM_RANGE		3	/* outside the VRAM slice */
#define MGPU_ERR_DMA			4	/* IOVA not mapped / DMA failed */
#define MGPU_ERR_BAD_RING		5	/* ring or tail address invalid */
#define MGPU_ERR_TIMEOUT		6	/* ran past the watchdog budget */
#define MGPU_ERR_BAD_TAIL		7	/* tail >= ring size */
#define MGPU_ERR_ALIGN			8	/* misaligned address */
#define MGPU_ERR_NO_MEMORY		9	/* host memory for VRAM ran out */

/*
 * Commands.  Every command is 64 bytes, little endian.  Addresses are VRAM
 * offsets unless the command's *_SYSMEM flag says guest memory (IOVA).
 * Reserved flags and arguments must be zero.
 */
#define MGPU_CMD_SIZE			64

#define MGPU_OP_NOP			0x00
#define MGPU_OP_FENCE			0x01	/* [0]=addr (8-aligned) [1]=value */
#define MGPU_OP_COPY			0x02	/* [0]=src [1]=dst [2]=bytes */
#define MGPU_OP_FILL			0x03	/* [0]=dst [1]=bytes (x4) [2]=u32 pattern */
#define MGPU_OP_TIMESTAMP		0x04	/* [0]=addr (8-aligned): u64 ns */
#define MGPU_OP_GEMM			0x05	/* see struct mgpu_cmd_gemm */
#define MGPU_OP_VEC			0x06	/* see struct mgpu_cmd_vec */
#define MGPU_OP_XENT			0x07	/* see struct mgpu_cmd_xent */

#define MGPU_F_IRQ			(1U << 0)	/* FENCE: raise MGPU_INT_FENCE */
#define MGPU_F_SRC_SYSMEM		(1U << 1)
#define MGPU_F_DST_SYSMEM		(1U << 2)
#define MGPU_F_GEMM_INT8		(1U << 3)	/* int8 x int8 -> int32 */
#define MGPU_F_GEMM_TRANS_A		(1U << 4)	/* A stored k x m: A^T */
#define MGPU_F_GEMM_TRANS_B		(1U << 5)	/* B stored n x k: B^T */
#define MGPU_F_XENT_MEAN		(1U << 6)	/* XENT: one mean loss */
#define MGPU_F_XENT_SCALE		(1U << 7)	/* XENT: gradient / m */

/* Largest GEMM dimension: bounds the work of one command. */
#define MGPU_GEMM_MAX_DIM		8192
/* Largest VEC length and XENT shape: bound the work of one command. */
#define MGPU_VEC_MAX_N			(1U << 24)
#define MGPU_XENT_MAX_M			65536
#define MGPU_XENT_MAX_N			16384

/* struct mgpu_cmd_vec operations: z[i] = f(x[i], y[i]) */
#define MGPU_VEC_ADD			0	/* x + y */
#define MGPU_VEC_MUL			1	/* x * y */
#define MGPU_VEC_SIGMOID		2	/* 1 / (1 + exp(-x)) */
#define MGPU_VEC_TANH			3	/* tanh(x) */
#define MGPU_VEC_DSIGMOID		4	/* y * (x * (1 - x)), x = sigmoid */
#define MGPU_VEC_DTANH			5	/* y * (1 - x * x), x = tanh */
#define MGPU_VEC_AXPY			6	/* alpha * x + y */
#define MGPU_VEC_OP_LAST		MGPU_VEC_AXPY

/**
 * struct mgpu_cmd - a command in a ring
 * @opcode: MGPU_OP_*
 * @flags: MGPU_F_*
 * @arg: arguments, per opcode
 */
struct mgpu_cmd {
	__u32 opcode;
	__u32 flags;
	__u64 arg[7];
};

/**
 * struct mgpu_cmd_gemm - C = alpha * A x B + beta * C, row major, packed
 * @opcode: MGPU_OP_GEMM
 * @flags: 0 for fp32 (A, B, C float; alpha, beta float bits),
 *	MGPU_F_GEMM_INT8 for int8 A and B, int32 C, alpha and beta int32;
 *	either may add MGPU_F_GEMM_TRANS_A (A is stored k x m, row major,
 *	and the product uses its transpose) and MGPU_F_GEMM_TRANS_B (B is
 *	stored n x k)
 * @a: VRAM offset of A (m x k, or k x m with TRANS_A), 4-byte aligned
 * @b: VRAM offset of B (k x n, or n x k with TRANS_B), 4-byte aligned
 * @c: VRAM offset of C (m x n), 4-byte aligned
 * @m: rows of A and C, 1..MGPU_GEMM_MAX_DIM
 * @n: columns of B and C, 1..MGPU_GEMM_MAX_DIM
 * @k: columns of A, rows of B, 1..MGPU_GEMM_MAX_DIM
 * @alpha: scale of A x B (bits of a float, or an int32)
 * @beta: scale of C (bits of a float, or an int32)
 * @reserved: must be zero
 */
struct mgpu_cmd_gemm {
	__u32 opcode;
	__u32 flags;
	__u64 a;
	__u64 b;
	__u64 c;
	__u32 m;
	__u32 n;
	__u32 k;
	__u32 alpha;
	__u32 beta;
	__u32 reserved[3];
};

/**
 * struct mgpu_cmd_vec - elementwise fp32: z[i] = op(x[i], y[i]), 0 <= i < n
 * @opcode: MGPU_OP_VEC
 * @flags: must be zero
 * @x: VRAM offset of x (n floats), 4-byte aligned
 * @y: VRAM offset of y (n floats), 4-byte aligned; must be zero for
 *	MGPU_VEC_SIGMOID and MGPU_VEC_TANH, which do not read it
 * @z: VRAM offset of z (n floats), 4-byte aligned; may be x or y
 *	exactly, must not overlap them otherwise
 * @n: elements, 1..MGPU_VEC_MAX_N
 * @op: MGPU_VEC_*
 * @alpha: MGPU_VEC_AXPY's scale (bits of a float); zero for the others
 * @reserved: must be zero
 */
struct mgpu_cmd_vec {
	__u32 opcode;
	__u32 flags;
	__u64 x;
	__u64 y;
	__u64 z;
	__u32 n;
	__u32 op;
	__u32 alpha;
	__u32 reserved[5];
};

/**
 * struct mgpu_cmd_xent - row-wise softmax with cross-entropy, fp32
 * @opcode: MGPU_OP_XENT
 * @flags: MGPU_F_XENT_MEAN: @loss is one float, the mean of the rows'
 *	losses (else m floats, one per row); MGPU_F_XENT_SCALE: the
 *	gradient is divided by m
 * @x: VRAM offset of the logits (m x n floats, row major), 4-byte aligned
 * @t: VRAM offset of the targets (m int32, each in 0..n-1), 4-byte aligned
 * @g: VRAM offset of the gradient softmax(x) - onehot(t) (m x n floats),
 *	4-byte aligned; may be @x exactly, must not overlap it otherwise
 * @loss: VRAM offset of the loss (m floats, or 1 with MGPU_F_XENT_MEAN),
 *	4-byte aligned; overlaps none of the others
 * @m: rows, 1..MGPU_XENT_MAX_M
 * @n: classes (columns), 1..MGPU_XENT_MAX_N
 * @reserved: must be zero
 */
struct mgpu_cmd_xent {
	__u32 opcode;
	__u32 flags;
	__u64 x;
	__u64 t;
	__u64 g;
	__u64 loss;
	__u32 m;
	__u32 n;
	__u32 reserved[4];
};

/* "MGPU" in little-endian byte order */
#define MGPU_MAGIC			0x5550474dU
#define MGPU_VERSION_MAJOR		1
#define MGPU_VERSION_MINOR		3
#define MGPU_VERSION			((MGPU_VERSION_MAJOR << 16) | \
					 MGPU_VERSION_MINOR)

#endif /* _UAPI_MGPU_H */
