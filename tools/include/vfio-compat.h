/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO uAPI that newer <linux/vfio.h> have and the build host's may lack
 * (bookworm's linux-libc-dev is 6.1): pre-copy and the stop-copy size
 * (6.2).  Values are the
 * kernel's ABI.  For the tests and tools that drive migration.
 */
#ifndef _MGPU_TOOLS_VFIO_COMPAT_H
#define _MGPU_TOOLS_VFIO_COMPAT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
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

/*
 * vfio_feature() - VFIO_DEVICE_FEATURE with @len bytes of payload (at
 * most 256) copied in from and back out to @data.  0 or -errno.
 */
static inline int vfio_feature(int fd, uint32_t flags, void *data,
			       size_t len)
{
	union {
		struct vfio_device_feature f;
		uint64_t raw[(sizeof(struct vfio_device_feature) + 256) / 8];
	} u;

	if (len > 256)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	u.f.argsz = sizeof(u.f) + len;
	u.f.flags = flags;
	if (len)
		memcpy(u.f.data, data, len);
	if (ioctl(fd, VFIO_DEVICE_FEATURE, &u.f))
		return -errno;
	if (len)
		memcpy(data, u.f.data, len);
	return 0;
}

/*
 * vfio_mig_set() - move the device to @state: 0 or -errno.  *@data_fd
 * (if not NULL) gets the new session's data fd, or -1 when the arc
 * opens none (or failed); with @data_fd NULL a returned fd is closed.
 */
static inline int vfio_mig_set(int fd, uint32_t state, int *data_fd)
{
	struct vfio_device_feature_mig_state s = { .device_state = state };
	int ret = vfio_feature(fd, VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			       &s, sizeof(s));

	if (data_fd)
		*data_fd = ret ? -1 : s.data_fd;
	else if (!ret && s.data_fd >= 0)
		close(s.data_fd);
	return ret;
}

/* vfio_mig_get() - the device's migration state, or -errno. */
static inline int vfio_mig_get(int fd)
{
	struct vfio_device_feature_mig_state s = { 0 };
	int ret = vfio_feature(fd, VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			       &s, sizeof(s));

	return ret ? ret : (int)s.device_state;
}

#endif
