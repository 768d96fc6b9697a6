/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the mgpu selftests: sysfs (parents, types, instances) and
 * VFIO (container, group, device, regions).
 *
 * Functions return 0 (or a byte count) on success and a negative errno
 * on failure, so tests can check both the good and the bad paths.  The
 * MGPU_ASSERT_*() macros are for invariants that make going on pointless
 * (helpers that must not fail): they print the expression, both values
 * and errno, then exit(KSFT_FAIL).  Inside a TEST_F() that fails the
 * test; FIXTURE_TEARDOWN_PARENT() still cleans up.
 */
#ifndef _MGPU_UTIL_H
#define _MGPU_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <linux/vfio.h>

#include "mgpu.h"

#define MGPU_CLASS_DIR		"/sys/class/mgpu"
#define MGPU_MDEV_DIR		"/sys/bus/mdev/devices"
#define MGPU_PARENT		"swgpu0"
#define MGPU_UUID_LEN		36
#define MGPU_UUID_BUF		(MGPU_UUID_LEN + 1)
#define MGPU_PATH_MAX		512

/* VFIO_PCI_OFFSET_SHIFT is not uapi; vfio-pci and mgpu both use 40. */
#define MGPU_VFIO_OFFSET_SHIFT	40
#define MGPU_REGION_OFFSET(index) ((uint64_t)(index) << MGPU_VFIO_OFFSET_SHIFT)

#define MGPU_NUM_TYPES		5
#define MGPU_MAX_INSTANCES	16	/* 1/16 is the smallest type */

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* KSFT_FAIL without pulling kselftest.h into the library. */
#define MGPU_KSFT_FAIL		1

#define __MGPU_ASSERT_OP(_lhs, _rhs, _op) do {			\
	typeof(_lhs) __lhs = (_lhs);					\
	typeof(_rhs) __rhs = (_rhs);					\
	int __errno = errno;						\
	if (__lhs _op __rhs)						\
		break;							\
	fprintf(stderr, "# %s:%d: Assertion Failure\n#\n",		\
		__FILE__, __LINE__);					\
	fprintf(stderr, "#   Expression: " #_lhs " " #_op " " #_rhs "\n"); \
	fprintf(stderr, "#   Observed: %#llx %s %#llx\n",		\
		(unsigned long long)__lhs, #_op,			\
		(unsigned long long)__rhs);				\
	fprintf(stderr, "#   [errno: %d - %s]\n", __errno,		\
		strerror(__errno));					\
	exit(MGPU_KSFT_FAIL);						\
} while (0)

#define MGPU_ASSERT_EQ(_a, _b)	__MGPU_ASSERT_OP(_a, _b, ==)
#define MGPU_ASSERT_NE(_a, _b)	__MGPU_ASSERT_OP(_a, _b, !=)
#define MGPU_ASSERT_LT(_a, _b)	__MGPU_ASSERT_OP(_a, _b, <)
#define MGPU_ASSERT_LE(_a, _b)	__MGPU_ASSERT_OP(_a, _b, <=)
#define MGPU_ASSERT_GT(_a, _b)	__MGPU_ASSERT_OP(_a, _b, >)
#define MGPU_ASSERT_GE(_a, _b)	__MGPU_ASSERT_OP(_a, _b, >=)
#define MGPU_ASSERT_TRUE(_a)	__MGPU_ASSERT_OP(!!(_a), 1, ==)
#define MGPU_ASSERT_FALSE(_a)	__MGPU_ASSERT_OP(!!(_a), 0, ==)

/* ---- types ---- */

struct mgpu_type {
	const char *dir;	/* "mgpu-1_4" */
	const char *name;	/* "mgpu 1/4" */
	unsigned int denom;	/* N of 1/N, 1 for passthrough */
	unsigned int log2;	/* log2(denom): subsystem ID offset */
};

extern const struct mgpu_type mgpu_types[MGPU_NUM_TYPES];

const struct mgpu_type *mgpu_type_by_dir(const char *dir);

/* ---- sysfs ---- */

/* True when mgpu.ko is loaded (/sys/class/mgpu exists). */
bool mgpu_loaded(void);
bool mgpu_path_exists(const char *path);

/*
 * Read a whole attribute into buf (NUL terminated, one trailing newline
 * stripped).  Returns its length or -errno.
 */
int mgpu_read_attr(const char *path, char *buf, size_t size);
int mgpu_read_u64(const char *path, uint64_t *val);
/*
 * Write str to an attribute with a single write().  Returns 0 when all
 * of it was accepted, else -errno (-EIO for a short write).
 */
int mgpu_write_attr(const char *path, const char *str);

/* snprintf() that exit()s on truncation, for path building. */
char *mgpu_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* /sys/class/mgpu/<parent>/<attr> */
int mgpu_parent_read(const char *parent, const char *attr, char *buf,
		     size_t size);
int mgpu_parent_u64(const char *parent, const char *attr, uint64_t *val);
bool mgpu_parent_exists(const char *parent);

/* /sys/class/mgpu/<parent>/mdev_supported_types/<type>/<attr> */
int mgpu_type_read(const char *parent, const char *type, const char *attr,
		   char *buf, size_t size);
int mgpu_type_write(const char *parent, const char *type, const char *attr,
		    const char *str);
/* available_instances, or -errno */
int mgpu_available(const char *parent, const char *type);
/* Instances of this type (entries of devices/), or -errno. */
int mgpu_type_count(const char *parent, const char *type);
/* Instances of every type of the parent, or -errno. */
int mgpu_parent_instances(const char *parent);

/* A fresh random UUID (lower case) from /proc/sys/kernel/random/uuid. */
int mgpu_uuid_random(char uuid[MGPU_UUID_BUF]);

/* Write uuid to <type>/create: 0 or -errno of the write. */
int mgpu_create(const char *parent, const char *type, const char *uuid);
/* Write "1" to /sys/bus/mdev/devices/<uuid>/remove: 0 or -errno. */
int mgpu_remove(const char *uuid);
bool mgpu_instance_exists(const char *uuid);
/* /sys/bus/mdev/devices/<uuid>/mgpu/<attr> */
int mgpu_instance_u64(const char *uuid, const char *attr, uint64_t *val);
/* Basename of the mdev_type link (the type dir name). */
int mgpu_instance_type(const char *uuid, char *buf, size_t size);

/*
 * The capacity model: the parent is 16 units, a 1/N instance takes 16/N
 * units at an offset that is a multiple of its size, passthrough takes
 * all.  From the instances that exist (their mgpu/vram_offset and
 * vram_size), compute what every type's available_instances must be.
 * Returns 0, or -EUCLEAN (with a message on stderr) when the instances
 * themselves break the model: misaligned, overlapping, wrong size, out
 * of the parent's VRAM.
 */
int mgpu_model_available(const char *parent, int avail[MGPU_NUM_TYPES]);

/* Write to /sys/class/mgpu/add_swgpu and remove_swgpu. */
int mgpu_add_swgpu(const char *spec);
int mgpu_remove_swgpu(const char *name);

/*
 * A list of instances a test created, so that teardown can remove them
 * whatever happened.  Lives in the fixture (plain data, no pointers) so
 * that FIXTURE_TEARDOWN_PARENT() sees what the test child recorded.
 */
struct mgpu_instances {
	int n;
	char uuid[4 * MGPU_MAX_INSTANCES][MGPU_UUID_BUF];
};

/* Create with a random UUID and record it; 0 or -errno (not recorded). */
int mgpu_instances_create(struct mgpu_instances *l, const char *parent,
			  const char *type, char uuid[MGPU_UUID_BUF]);
/* Remove one recorded instance and forget it: 0 or -errno. */
int mgpu_instances_remove(struct mgpu_instances *l, const char *uuid);
/* Remove all recorded instances that still exist; returns failures. */
int mgpu_instances_cleanup(struct mgpu_instances *l);

/* ---- VFIO ---- */

struct mgpu_vfio {
	int container;
	int group;
	int device;
	int group_id;
};

#define MGPU_VFIO_INIT { .container = -1, .group = -1, .device = -1, \
			 .group_id = -1 }

/* Number of the instance's iommu group (from its iommu_group link). */
int mgpu_iommu_group(const char *uuid);
/*
 * Open /dev/vfio/vfio, check VFIO_TYPE1_IOMMU, open the group, attach it
 * to the container, set TYPE1 and get the device fd by UUID.  Returns 0
 * or -errno; on failure everything opened is closed again.
 */
int mgpu_vfio_open(struct mgpu_vfio *v, const char *uuid);
void mgpu_vfio_close(struct mgpu_vfio *v);

int mgpu_device_info(int dev, struct vfio_device_info *info);
int mgpu_region_info(int dev, unsigned int index,
		     struct vfio_region_info *info);
int mgpu_irq_info(int dev, unsigned int index, struct vfio_irq_info *info);

/*
 * pread/pwrite at MGPU_REGION_OFFSET(index) + off.  Return the byte
 * count or -errno; a short transfer is returned as is, tests decide.
 */
ssize_t mgpu_region_read(int dev, unsigned int index, uint64_t off,
			 void *buf, size_t len);
ssize_t mgpu_region_write(int dev, unsigned int index, uint64_t off,
			  const void *buf, size_t len);

/* BAR0 registers: 0 or -errno (a short access is -EIO). */
int mgpu_bar0_read(int dev, uint32_t reg, uint32_t *val);
int mgpu_bar0_write(int dev, uint32_t reg, uint32_t val);

/* Config space accesses of 1, 2 or 4 bytes: 0 or -errno. */
int mgpu_cfg_read(int dev, uint32_t off, void *val, size_t size);
int mgpu_cfg_write(int dev, uint32_t off, const void *val, size_t size);
uint8_t mgpu_cfg_read8(int dev, uint32_t off);	/* assert on failure */
uint16_t mgpu_cfg_read16(int dev, uint32_t off);
uint32_t mgpu_cfg_read32(int dev, uint32_t off);
void mgpu_cfg_write8(int dev, uint32_t off, uint8_t val);
void mgpu_cfg_write16(int dev, uint32_t off, uint16_t val);
void mgpu_cfg_write32(int dev, uint32_t off, uint32_t val);
/* Offset of the first capability with this ID, 0 if none. */
uint8_t mgpu_cfg_find_cap(int dev, uint8_t id);

/* Register an eventfd as the device request (REQ) trigger: 0 or -errno. */
int mgpu_set_req_eventfd(int dev, int efd);

#endif /* _MGPU_UTIL_H */
