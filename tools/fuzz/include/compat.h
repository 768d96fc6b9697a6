/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/fuzz: stands in for kernel/compat/compat.h (force-included into
 * every object, as Kbuild does with the real one).  Only the helpers of
 * the files the fuzz targets compile; the newest kernel API each time.
 */
#ifndef _MGPU_COMPAT_H
#define _MGPU_COMPAT_H

#include "fuzz-kernel.h"
#include "compat-probed.h"

static inline void mgpu_compat_vm_flags_clear(struct vm_area_struct *vma,
					      vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}

static inline void mgpu_compat_vm_flags_set(struct vm_area_struct *vma,
					    vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

/* The stubs' CPU: boot_cpu_has() in fuzz-kernel.h. */
#define MGPU_COMPAT_PREFER_YMM()	false

#endif /* _MGPU_COMPAT_H */
