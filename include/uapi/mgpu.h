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

/* "MGPU" in little-endian byte order */
#define MGPU_MAGIC			0x5550474dU
#define MGPU_VERSION_MAJOR		1
#define MGPU_VERSION_MINOR		0
#define MGPU_VERSION			((MGPU_VERSION_MAJOR << 16) | \
					 MGPU_VERSION_MINOR)

#endif /* _UAPI_MGPU_H */
