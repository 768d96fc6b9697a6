/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration streams as a VMM moves them (QEMU's hw/vfio/migration.c):
 * a source drained through STOP_COPY, a destination fed through
 * RESUMING.  Include after kselftest_harness.h.
 */
#ifndef _MGPU_MIG_H
#define _MGPU_MIG_H

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libmgpu.h"
#include "vfio-compat.h"

#define MIG_STREAM_MAX	(80ULL << 20)

struct stream {
	uint8_t *buf;
	size_t len;
};

/* Read a session until end of stream (0) or -ENOMSG (pre-copy). */
static inline int drain(int dfd, struct stream *s)
{
	for (;;) {
		ssize_t n = read(dfd, s->buf + s->len, 1 << 20);

		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		s->len += n;
		if (s->len + (1 << 20) > MIG_STREAM_MAX)
			return -E2BIG;
	}
}

/* Write a stream into a resuming session, in odd-sized pieces. */
static inline int feed(int dfd, const uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < 12345 ? len - done : 12345;
		ssize_t w = write(dfd, p + done, n);

		if (w < 0)
			return -errno;
		done += w;
	}
	return 0;
}

/* Source through STOP_COPY into @s (appended), then STOP. */
static inline int save_stop_copy(struct __test_metadata *_metadata, int fd,
				 struct stream *s)
{
	int dfd, ret;

	ret = vfio_mig_set(fd, VFIO_DEVICE_STATE_STOP_COPY, &dfd);
	if (ret)
		return ret;
	ret = drain(dfd, s);
	close(dfd);
	EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_STOP, NULL));
	return ret;
}

/* Destination through RESUMING from @s, then RUNNING. */
static inline int resume(int fd, const struct stream *s)
{
	int dfd, ret;

	ret = vfio_mig_set(fd, VFIO_DEVICE_STATE_RESUMING, &dfd);
	if (ret)
		return ret;
	ret = feed(dfd, s->buf, s->len);
	close(dfd);
	if (ret)
		return ret;
	return vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING, NULL);
}

/* The device's VFIO_DEVICE_FEATURE_MIGRATION flags, 0 without it. */
static inline uint64_t mig_flags(int fd)
{
	struct vfio_device_feature_migration m = { 0 };

	if (vfio_feature(fd, VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_MIGRATION, &m, sizeof(m)))
		return 0;
	return m.flags;
}

/* Both slices' VRAM, byte for byte, through the mappings. */
static inline bool same_vram(struct mgpu_dev *a, struct mgpu_dev *b)
{
	return !memcmp(mgpu_vram(a), mgpu_vram(b), mgpu_vram_size(a));
}

#endif /* _MGPU_MIG_H */
