/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Common declarations of the fuzz targets: the kernel's internal header
 * as the targets see it, the hooks of stubs.c, and the oracle's check.
 */
#ifndef _MGPU_FUZZ_H
#define _MGPU_FUZZ_H

#include <stdio.h>

#include "mgpu_drv.h"

/* What a target lets the stubs of stubs.c do; NULL: abort() if reached. */
struct mgpu_fuzz_hooks {
	int (*dma_rw)(u64 iova, void *data, size_t len, bool write);
	u64 (*ktime_get_ns)(void);
	void (*irq_raise)(struct mgpu_vgpu *vgpu, u32 cause);
	vm_fault_t (*insert_pfn)(struct vm_area_struct *vma,
				 unsigned long addr, unsigned long pfn);
};

extern struct mgpu_fuzz_hooks mgpu_fuzz_hooks;

/* A broken invariant: say which, with the values, and crash. */
#define FUZZ_CHECK(cond, fmt, ...)					\
do {									\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s: " fmt "\n", \
			__FILE__, __LINE__, #cond, ##__VA_ARGS__);	\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif /* _MGPU_FUZZ_H */
