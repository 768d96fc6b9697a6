/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO uAPI that newer <linux/vfio.h> have and the build host's may lack
 * (bookworm's linux-libc-dev is 6.1): pre-copy and the stop-copy size
 * (6.2).  Values are the
 * kernel's ABI.  For the tests and tools that drive migration.
 */
#ifndef _MGPU_TOOLS_VFIO_COMPAT_H
#define _MGPU_TOOLS_VFIO_COMPAT_H

#include <linux/vfio.h>

#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY		(1 << 2)
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

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#endif

#endif
