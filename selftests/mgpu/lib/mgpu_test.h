/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libmgpu_test: what the mgpu selftests, tools/bench and tools/guest
 * share.  One file per concern:
 *
 *   util.c       paths, time, a reproducible random stream, asserts
 *   sysfs.c      attributes of the parent, its types and instances; the
 *                parent under test (argv or MGPU_TEST_PARENT)
 *   instances.c  the types, creating and removing instances
 *   model.c      the reference model: capacity (what available_instances
 *                must be) and GEMM on the CPU
 *   check.c      FILL, COPY and GEMM on the engine, checked by the CPU
 *   vfio.c       a vGPU opened through VFIO (by libmgpu) and raw
 *                accesses to its regions and config space
 *   load.c       a busy loop that keeps a queue full
 *
 * Every exported name starts with mgpu_test_ (MGPU_TEST_ for macros), so
 * that it never shadows a name of the kernel or of libmgpu.
 *
 * Functions return 0 (or a byte count) on success and a negative errno
 * on failure, so tests can check both the good and the bad paths.  The
 * MGPU_TEST_ASSERT_*() macros are for invariants that make going on
 * pointless: they print the expression, both values and errno, then
 * exit(KSFT_FAIL).  Inside a TEST_F() that fails the test;
 * FIXTURE_TEARDOWN_PARENT() still cleans up.
 */
#ifndef _MGPU_TEST_H
#define _MGPU_TEST_H

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

struct mgpu_dev;
struct mgpu_queue;

#define MGPU_CLASS_DIR		"/sys/class/mgpu"
/* Every registered mdev parent, by name: a parent's PCI address. */
#define MGPU_PARENT_DIR		"/sys/class/mdev_bus"
#define MGPU_PCI_DOMAIN_PARAM	"/sys/module/mgpu/parameters/pci_domain"
#define MGPU_PCI_DOMAIN_DEFAULT	0x6d67
#define MGPU_MDEV_DIR		"/sys/bus/mdev/devices"
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

#define __MGPU_TEST_ASSERT_OP(_lhs, _rhs, _op) do {			\
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

#define MGPU_TEST_ASSERT_EQ(_a, _b)	__MGPU_TEST_ASSERT_OP(_a, _b, ==)
#define MGPU_TEST_ASSERT_LT(_a, _b)	__MGPU_TEST_ASSERT_OP(_a, _b, <)
#define MGPU_TEST_ASSERT_GE(_a, _b)	__MGPU_TEST_ASSERT_OP(_a, _b, >=)

/* ---- util.c ---- */

/* snprintf() that exit()s on truncation, for path building. */
char *mgpu_test_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool mgpu_test_path_exists(const char *path);

uint64_t mgpu_test_now_ns(void);
uint64_t mgpu_test_now_ms(void);
void mgpu_test_sleep_ms(unsigned int ms);

/* xorshift64*: reproducible data (one stream per process). */
void mgpu_test_rnd_seed(uint64_t seed);
uint32_t mgpu_test_rnd(void);
void mgpu_test_rnd_fill(void *p, size_t len);
/* A float in [-2, 2] with few mantissa bits: exact products. */
float mgpu_test_rnd_float(void);

/*
 * Anonymous memory registered with a userfaultfd that nobody serves:
 * every access waits until the accessor is killed or *uffd is closed
 * (guest memory that never arrives).  NULL with errno on failure.
 */
void *mgpu_test_frozen_memory(size_t size, int *uffd);

/* ---- sysfs.c ---- */

/*
 * The parent under test: the last argument of the command line if it
 * is not an option (the harness's options are left in place), else
 * $MGPU_TEST_PARENT, else the first software GPU (DDDD:00:00.0 in the
 * domain of mgpu's pci_domain parameter).  Call it first in main();
 * MGPU_TEST_HARNESS_MAIN (mgpu_harness.h) does.
 */
#define MGPU_TEST_PARENT_ENV		"MGPU_TEST_PARENT"
void mgpu_test_parent_init(int *argc, char **argv);
extern const char *mgpu_test_parent;

/*
 * Software GPUs are the PCI functions DDDD:00:SS.0 of mgpu's virtual
 * host bridge; slot SS is what add_swgpu picked (the lowest free one).
 * mgpu_test_swgpu_name(): the name of the one in @slot (buf of at least
 * 16 bytes); mgpu_test_swgpu_set(): the slots that hold a registered
 * parent, as a bitmap.
 */
#define MGPU_TEST_SWGPU_SLOTS		32
unsigned int mgpu_test_pci_domain(void);
char *mgpu_test_swgpu_name(unsigned int slot, char *buf, size_t size);
uint32_t mgpu_test_swgpu_set(void);

/* True when mgpu.ko is loaded (/sys/class/mgpu exists). */
bool mgpu_test_loaded(void);

/*
 * Read a whole attribute into buf (NUL terminated, one trailing newline
 * stripped).  Returns its length or -errno.
 */
int mgpu_test_read_attr(const char *path, char *buf, size_t size);
int mgpu_test_read_u64(const char *path, uint64_t *val);
/*
 * Write str to an attribute with a single write().  Returns 0 when all
 * of it was accepted, else -errno (-EIO for a short write).
 */
int mgpu_test_write_attr(const char *path, const char *str);
/*
 * mgpu_test_write_attr() in a child process, for a write that blocks
 * (a removal that waits for a VFIO user): the child's pid, or -errno.
 * The child closes every inherited fd (an inherited VFIO fd would keep
 * the device open) and is killed by SIGALRM after 60 s.
 */
pid_t mgpu_test_write_attr_async(const char *path, const char *str);
/*
 * Wait up to ms for such a child: its write's result (0 or -errno),
 * -ETIMEDOUT while it still runs, -ECHILD when a signal killed it.
 */
int mgpu_test_wait_child(pid_t pid, int ms);

/* /sys/class/mdev_bus/<parent>/<attr>: the parent's PCI device */
int mgpu_test_parent_read(const char *parent, const char *attr, char *buf,
			  size_t size);
int mgpu_test_parent_write(const char *parent, const char *attr,
			   const char *str);
int mgpu_test_parent_u64(const char *parent, const char *attr,
			 uint64_t *val);
bool mgpu_test_parent_exists(const char *parent);

/* /sys/class/mdev_bus/<parent>/mdev_supported_types/<type>/<attr> */
int mgpu_test_type_read(const char *parent, const char *type,
			const char *attr, char *buf, size_t size);
int mgpu_test_type_write(const char *parent, const char *type,
			 const char *attr, const char *str);
/* available_instances, or -errno */
int mgpu_test_available(const char *parent, const char *type);
/* Instances of this type (entries of devices/), or -errno. */
int mgpu_test_type_count(const char *parent, const char *type);

/* /sys/bus/mdev/devices/<uuid>/mgpu/<attr> */
int mgpu_test_instance_u64(const char *uuid, const char *attr,
			   uint64_t *val);
int mgpu_test_instance_write(const char *uuid, const char *attr,
			     const char *str);
bool mgpu_test_instance_exists(const char *uuid);
/* Basename of the mdev_type link (the type dir name). */
int mgpu_test_instance_type(const char *uuid, char *buf, size_t size);
/* Number of the instance's iommu group (from its iommu_group link). */
int mgpu_test_iommu_group(const char *uuid);

/* ---- instances.c ---- */

struct mgpu_test_type {
	const char *dir;	/* "mgpu-1_4" */
	const char *name;	/* "mgpu 1/4" */
	unsigned int denom;	/* N of 1/N, 1 for passthrough */
	unsigned int log2;	/* log2(denom): subsystem ID offset */
};

extern const struct mgpu_test_type mgpu_test_types[MGPU_NUM_TYPES];

const struct mgpu_test_type *mgpu_test_type_by_dir(const char *dir);

/* Instances of every type of the parent, or -errno. */
int mgpu_test_parent_instances(const char *parent);

/* A fresh random UUID (lower case) from /proc/sys/kernel/random/uuid. */
int mgpu_test_uuid_random(char uuid[MGPU_UUID_BUF]);

/* Write uuid to <type>/create: 0 or -errno of the write. */
int mgpu_test_create(const char *parent, const char *type, const char *uuid);
/* Write "1" to /sys/bus/mdev/devices/<uuid>/remove: 0 or -errno. */
int mgpu_test_remove(const char *uuid);

/* Write to /sys/class/mgpu/add_swgpu and remove_swgpu. */
int mgpu_test_add_swgpu(const char *spec);
int mgpu_test_remove_swgpu(const char *name);

/*
 * A list of instances a test created, so that teardown can remove them
 * whatever happened.  Lives in the fixture (plain data, no pointers) so
 * that FIXTURE_TEARDOWN_PARENT() sees what the test child recorded.
 */
struct mgpu_test_instances {
	int n;
	char uuid[4 * MGPU_MAX_INSTANCES][MGPU_UUID_BUF];
};

/* Create with a random UUID and record it; 0 or -errno (not recorded). */
int mgpu_test_instances_create(struct mgpu_test_instances *l,
			       const char *parent, const char *type,
			       char uuid[MGPU_UUID_BUF]);
/* Remove one recorded instance and forget it: 0 or -errno. */
int mgpu_test_instances_remove(struct mgpu_test_instances *l,
			       const char *uuid);
/* Remove all recorded instances that still exist; returns failures. */
int mgpu_test_instances_cleanup(struct mgpu_test_instances *l);

/* ---- model.c ---- */

/*
 * The capacity model: the parent is 16 units, a 1/N instance takes 16/N
 * units at an offset that is a multiple of its size, passthrough takes
 * all.  From the instances that exist (their mgpu/vram_offset and
 * vram_size), compute what every type's available_instances must be.
 * Returns 0, or -EUCLEAN (with a message on stderr) when the instances
 * themselves break the model: misaligned, overlapping, wrong size, out
 * of the parent's VRAM.
 */
int mgpu_test_model_available(const char *parent,
			      int avail[MGPU_NUM_TYPES]);

/*
 * GEMM on the CPU, C = alpha * A x B + beta * C (row major; beta 0: C is
 * not read), in the engine's loop order: for each row i of C, for each
 * p, C[i][:] += A[i][p] * B[p][:].  Plain C: "a userspace loop at -O2".
 * int8 wraps in 32 bits, as the engine does.
 */
void mgpu_test_gemm_f32(const float *a, const float *b, float *c,
			uint32_t m, uint32_t n, uint32_t k, float alpha,
			float beta);
void mgpu_test_gemm_i8(const int8_t *a, const int8_t *b, int32_t *c,
		       uint32_t m, uint32_t n, uint32_t k, int32_t alpha,
		       int32_t beta);

/*
 * Check the engine's C against the reference for inputs A, B and the C
 * it started from (c0).  fp32: in double, within the worst-case bound of
 * float accumulation, (k + 2) ulp of the sum of magnitudes; int8: exact.
 * Returns the number of wrong elements; the first is described in msg.
 */
int mgpu_test_check_f32(const float *got, const float *a, const float *b,
			const float *c0, uint32_t m, uint32_t n, uint32_t k,
			float alpha, float beta, char *msg, size_t msglen);
int mgpu_test_check_i8(const int32_t *got, const int8_t *a, const int8_t *b,
		       const int32_t *c0, uint32_t m, uint32_t n, uint32_t k,
		       int32_t alpha, int32_t beta, char *msg, size_t msglen);
/*
 * fp32, bit for bit: the device model's arithmetic (mgpu_test_gemm_f32(),
 * Documentation/device-model.rst "GEMM arithmetic"); NaN equals NaN.
 * mgpu's engine gives exactly these bits on every CPU.
 */
int mgpu_test_exact_f32(const float *got, const float *a, const float *b,
			const float *c0, uint32_t m, uint32_t n, uint32_t k,
			float alpha, float beta, char *msg, size_t msglen);

/* ---- check.c ---- */

/*
 * FILL @size bytes of fresh VRAM with @pattern, then COPY a CPU-written
 * block: 0, a negative errno (libmgpu's), or > 0 when the CPU saw wrong
 * data (msg says where first).
 */
int mgpu_test_fill_copy_check(struct mgpu_queue *q, uint64_t size,
			      uint32_t pattern, char *msg, size_t msglen);

/*
 * One GEMM on @q with random A, B and C in the device's VRAM (freed
 * again), checked against the reference.  Returns 0, a negative errno
 * (libmgpu's), or the number of wrong elements (msg says which first).
 */
int mgpu_test_gemm_f32_check(struct mgpu_queue *q, uint32_t m, uint32_t n,
			     uint32_t k, float alpha, float beta, char *msg,
			     size_t msglen);
int mgpu_test_gemm_i8_check(struct mgpu_queue *q, uint32_t m, uint32_t n,
			    uint32_t k, int32_t alpha, int32_t beta, char *msg,
			    size_t msglen);

/* ---- vfio.c ---- */

/*
 * A vGPU opened through VFIO.  libmgpu opens it (the one code path that
 * does); the tests also get the raw device fd for region accesses.
 */
struct mgpu_test_vfio {
	struct mgpu_dev *dev;
	int device;
};

#define MGPU_TEST_VFIO_INIT { .dev = NULL, .device = -1 }

/*
 * mgpu_open_vfio(): 0 or -errno (the reason is logged on stderr).  The
 * VRAM mapping is MADV_DONTFORK: a forked helper that closes its fds
 * holds nothing of the device.
 */
int mgpu_test_vfio_open(struct mgpu_test_vfio *v, const char *uuid);
void mgpu_test_vfio_close(struct mgpu_test_vfio *v);

/*
 * Create an instance of @type on @parent (recorded in @l), read its VRAM
 * size into @vram (unless NULL) and open it.  0, or -errno with every
 * instance of @l removed again: a fixture setup that fails gets no
 * teardown.
 */
int mgpu_test_instance_open(struct mgpu_test_instances *l,
			    const char *parent, const char *type,
			    char uuid[MGPU_UUID_BUF], uint64_t *vram,
			    struct mgpu_test_vfio *v);

int mgpu_test_device_info(int dev, struct vfio_device_info *info);
int mgpu_test_region_info(int dev, unsigned int index,
			  struct vfio_region_info *info);
int mgpu_test_irq_info(int dev, unsigned int index,
		       struct vfio_irq_info *info);

/*
 * pread/pwrite at MGPU_REGION_OFFSET(index) + off.  Return the byte
 * count or -errno; a short transfer is returned as is, tests decide.
 */
ssize_t mgpu_test_region_read(int dev, unsigned int index, uint64_t off,
			      void *buf, size_t len);
ssize_t mgpu_test_region_write(int dev, unsigned int index, uint64_t off,
			       const void *buf, size_t len);

/* BAR0 registers: 0 or -errno (a short access is -EIO). */
int mgpu_test_bar0_read(int dev, uint32_t reg, uint32_t *val);
int mgpu_test_bar0_write(int dev, uint32_t reg, uint32_t val);

/* Config space accesses of 1, 2 or 4 bytes: 0 or -errno. */
int mgpu_test_cfg_read(int dev, uint32_t off, void *val, size_t size);
int mgpu_test_cfg_write(int dev, uint32_t off, const void *val, size_t size);
uint8_t mgpu_test_cfg_read8(int dev, uint32_t off);	/* assert on failure */
uint16_t mgpu_test_cfg_read16(int dev, uint32_t off);
uint32_t mgpu_test_cfg_read32(int dev, uint32_t off);
void mgpu_test_cfg_write8(int dev, uint32_t off, uint8_t val);
void mgpu_test_cfg_write16(int dev, uint32_t off, uint16_t val);
void mgpu_test_cfg_write32(int dev, uint32_t off, uint32_t val);
/* Offset of the first capability with this ID, 0 if none. */
uint8_t mgpu_test_cfg_find_cap(int dev, uint8_t id);
/*
 * Memory space and bus mastering on, as a driver does after a reset (the
 * device answers on its BARs and runs queues only then): 0 or -errno.
 */
int mgpu_test_enable(int dev);

/* Register an eventfd as the device request (REQ) trigger: 0 or -errno. */
int mgpu_test_set_req_eventfd(int dev, int efd);

/* ---- load.c ---- */

#define MGPU_TEST_LOAD_MAX_BATCH	64
#define MGPU_TEST_LOAD_DEPTH		4	/* batches in flight */

/*
 * Keep a queue busy: a batch of commands and a fence, and the next batch
 * queued before waiting for the previous one, so the engine never finds
 * the queue empty while the thread sleeps.  Runs until @stop is set (or
 * an error), counting completed commands in @done.
 */
struct mgpu_test_load {
	struct mgpu_queue *q;
	struct mgpu_cmd cmds[MGPU_TEST_LOAD_MAX_BATCH];
	unsigned int batch;
	volatile bool stop;
	volatile uint64_t done;		/* commands completed */
	int err;			/* 0 or libmgpu's error */
};

/*
 * Batches of @batch int8 GEMMs of dim^3 on fresh VRAM (A and B all ones,
 * so C is dim everywhere): 0 or libmgpu's error.
 */
int mgpu_test_load_gemm_i8(struct mgpu_test_load *l, struct mgpu_dev *dev,
			   struct mgpu_queue *q, uint32_t dim,
			   unsigned int batch);
/* Run the loop in the calling thread (a pthread start routine). */
void *mgpu_test_load_run(void *load);

#endif /* _MGPU_TEST_H */
