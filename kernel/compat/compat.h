/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Compatibility layer: the only place in mgpu that knows kernel APIs differ.
 *
 * compat-probed.h is generated at build time by probe.sh from the target
 * kernel's headers.  Core files use the mgpu_compat_* helpers and
 * MGPU_COMPAT_* macros below and never test a kernel version.
 */
#ifndef _MGPU_COMPAT_H
#define _MGPU_COMPAT_H

/*
 * This header is force-included first into every mgpu object, so it is
 * also where the module's log prefix is set, once.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/vfio.h>

#include "compat-probed.h"

/* eventfd_signal() lost its count argument in 6.8. */
static inline void mgpu_compat_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef HAVE_EVENTFD_SIGNAL_NO_COUNT
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/* vma->vm_flags became read-only in 6.3. */
static inline void mgpu_compat_vm_flags_clear(struct vm_area_struct *vma,
					      vm_flags_t flags)
{
#ifdef HAVE_VM_FLAGS_SET
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

static inline void mgpu_compat_vm_flags_set(struct vm_area_struct *vma,
					    vm_flags_t flags)
{
#ifdef HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/* class_create() lost its owner argument in 6.4. */
static inline struct class *mgpu_compat_class_create(const char *name)
{
#ifdef HAVE_CLASS_CREATE_NAME_ONLY
	return class_create(name);
#else
	return class_create(THIS_MODULE, name);
#endif
}

/* Class attribute callbacks take const pointers since 6.4. */
#ifdef HAVE_CLASS_ATTR_CONST
#define MGPU_COMPAT_CLASS_CONST const
#else
#define MGPU_COMPAT_CLASS_CONST
#endif

/*
 * Until 6.2 a vfio_device_ops.release callback had to free the device
 * itself with vfio_free_device(); since then the core frees it and a
 * second free would be a double free.
 */
static inline void mgpu_compat_vfio_release_done(struct vfio_device *vdev)
{
#ifdef HAVE_VFIO_FREE_DEVICE
	vfio_free_device(vdev);
#endif
}

/*
 * iommufd binding of an emulated-IOMMU device (6.2+, detach_ioas 6.6+).
 * Kernels built with CONFIG_IOMMUFD refuse to register a device without
 * them.
 */
#ifdef HAVE_VFIO_DETACH_IOAS
#define MGPU_COMPAT_DETACH_IOAS \
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#else
#define MGPU_COMPAT_DETACH_IOAS
#endif

#ifdef HAVE_VFIO_IOMMUFD_OPS
#define MGPU_COMPAT_IOMMUFD_EMULATED_OPS			\
	.bind_iommufd = vfio_iommufd_emulated_bind,		\
	.unbind_iommufd = vfio_iommufd_emulated_unbind,		\
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,	\
	MGPU_COMPAT_DETACH_IOAS
#else
#define MGPU_COMPAT_IOMMUFD_EMULATED_OPS
#endif

/*
 * No .dma_unmap: mgpu never pins guest pages.  The engine reaches guest
 * memory with vfio_dma_rw() only, which the type1 IOMMU serializes
 * against unmapping; an access to an unmapped IOVA fails and stops the
 * queue with MGPU_ERR_DMA.  (Since 6.6 vfio_pin_pages() requires
 * .dma_unmap; vfio_dma_rw() does not.)
 */

/*
 * Since 6.19 VFIO_DEVICE_GET_REGION_INFO is answered by the core, which
 * asks the driver through .get_region_info_caps; before, it reached
 * .ioctl like any other device ioctl.  MGPU_COMPAT_REGION_INFO_OPS names
 * mgpu_vgpu_get_region_info_caps() (vgpu.c) where the kernel has the hook.
 */
#ifdef HAVE_VFIO_GET_REGION_INFO_CAPS
#define MGPU_COMPAT_REGION_INFO_OPS \
	.get_region_info_caps = mgpu_vgpu_get_region_info_caps,
#else
#define MGPU_COMPAT_REGION_INFO_OPS
#endif

/*
 * Pre-copy (6.2+): VFIO_MIGRATION_PRE_COPY, its two states and
 * VFIO_MIG_GET_PRECOPY_INFO.  Older kernels get the definitions, so that
 * migrate.c compiles the same everywhere, but mgpu does not claim
 * PRE_COPY there: their VFIO core never asks for those states.
 */
#ifdef HAVE_VFIO_PRECOPY
#define MGPU_COMPAT_MIG_FLAGS	(VFIO_MIGRATION_STOP_COPY | \
				 VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY)
#else
#define MGPU_COMPAT_MIG_FLAGS	(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P)
#define VFIO_DEVICE_STATE_PRE_COPY	6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P	7
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

/* .migration_get_data_size (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, 6.2+). */
#ifdef HAVE_VFIO_MIG_DATA_SIZE
#define MGPU_COMPAT_MIG_DATA_SIZE_OP \
	.migration_get_data_size = mgpu_mig_get_data_size,
#else
#define MGPU_COMPAT_MIG_DATA_SIZE_OP
#endif

/*
 * The VFIO core reports device DMA logging through iova_bitmap.  On
 * 6.1 it is part of vfio.ko; later it is built only with
 * CONFIG_IOMMUFD_DRIVER (and exported in the IOMMUFD namespace), and
 * without it the report fails with EOPNOTSUPP: a device must not offer
 * logging there.  MODULE_IMPORT_NS() takes a string since 6.13.
 */
#ifdef HAVE_IOVA_BITMAP_OPTIONAL
#define MGPU_COMPAT_HAVE_IOVA_BITMAP	IS_ENABLED(CONFIG_IOMMUFD_DRIVER)
#ifdef HAVE_MODULE_IMPORT_NS_STRING
#define MGPU_COMPAT_IMPORT_IOMMUFD	MODULE_IMPORT_NS("IOMMUFD")
#else
#define MGPU_COMPAT_IMPORT_IOMMUFD	MODULE_IMPORT_NS(IOMMUFD)
#endif
#else
#define MGPU_COMPAT_HAVE_IOVA_BITMAP	1
#define MGPU_COMPAT_IMPORT_IOMMUFD
#endif

/*
 * MGPU_COMPAT_PREFER_YMM(): the kernel knows that 512-bit registers slow
 * this CPU down (X86_FEATURE_PREFER_YMM, some Intel CPUs; its own crypto
 * code avoids them there).  Kernels without the flag do not know it.
 */
#ifdef HAVE_X86_FEATURE_PREFER_YMM
#define MGPU_COMPAT_PREFER_YMM()	boot_cpu_has(X86_FEATURE_PREFER_YMM)
#else
#define MGPU_COMPAT_PREFER_YMM()	false
#endif

#endif /* _MGPU_COMPAT_H */
