/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A parent's VRAM as the backends of kernel/ provide it (struct
 * mgpu_backend_ops): backed page by page on first touch, an untouched
 * page reads as zero.  Every page is a heap object of its own, so
 * AddressSanitizer catches an access that runs past the page a
 * vram_kaddr() pointer was given for; every offset is checked against
 * the one slice the target allows.
 */
#ifndef _MGPU_FUZZ_PVRAM_H
#define _MGPU_FUZZ_PVRAM_H

#include "fuzz.h"

/* pfn of the parent's page 0 */
#define PVRAM_PFN_BASE	0x100000UL

struct pvram {
	struct mgpu_parent parent;
	u64 size;		/* the parent's VRAM */
	u64 slice_off;		/* the only slice the kernel may reach */
	u64 slice_size;
	u8 **pages;
	u64 nr_backed;
	unsigned int allocs_left;	/* then ENOMEM; ~0U: unlimited */
	unsigned int refused;	/* allocations refused */
};

void pvram_init(struct pvram *v, u64 size, u64 slice_off, u64 slice_size);
void pvram_fini(struct pvram *v);
/* Whole-slice helpers for the oracle: slice offsets, no checks. */
bool pvram_backed(struct pvram *v, u64 off);
u8 pvram_byte(struct pvram *v, u64 off);
void pvram_store(struct pvram *v, u64 off, const void *buf, u64 len);

#endif /* _MGPU_FUZZ_PVRAM_H */
