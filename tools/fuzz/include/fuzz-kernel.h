/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's API to compile the files of kernel/ unchanged in
 * userspace, for the fuzz targets in tools/fuzz.  Every include/linux/
 * and include/asm/ header here includes this one file.
 *
 * Locks are dummies (a target is single-threaded), logging is dropped,
 * and functions a fuzzed path must never reach are declared here and
 * defined in stubs.c, where they abort().
 */
#ifndef _MGPU_FUZZ_KERNEL_H
#define _MGPU_FUZZ_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <sys/types.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;
/* Not typedefs here: checkpatch, and nothing needs them to be. */
#define u128			unsigned __int128
#define vm_fault_t		unsigned int
#define vm_flags_t		unsigned long

#define __user
#define __iomem
#define __force
#define __must_check
/* Format strings are checked by the kernel build. */
#define __printf(...)
#define __init
#define __exit
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)

#define KBUILD_MODNAME		"mgpu"
#define THIS_MODULE		NULL

#define U8_MAX			((u8)~0U)
#define U16_MAX			((u16)~0U)
#define U32_MAX			((u32)~0U)
#define U64_MAX			((u64)~0ULL)
#define S32_MAX			((s32)(U32_MAX >> 1))
#define S64_MAX			((s64)(U64_MAX >> 1))

#define NSEC_PER_USEC		1000L
#define NSEC_PER_MSEC		1000000L
#define NSEC_PER_SEC		1000000000L
#define USEC_PER_SEC		1000000L

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define PAGE_MASK		(~(PAGE_SIZE - 1))

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define BIT(n)			(1UL << (n))
#define BIT_ULL(n)		(1ULL << (n))
#define GENMASK(h, l)		((~0UL << (l)) & (~0UL >> (63 - (h))))
#define GENMASK_ULL(h, l)	((~0ULL << (l)) & (~0ULL >> (63 - (h))))
#define IS_ALIGNED(x, a)	(((x) & ((typeof(x))(a) - 1)) == 0)
#define ALIGN(x, a)		(((x) + ((typeof(x))(a) - 1)) & ~((typeof(x))(a) - 1))
#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define lower_32_bits(n)	((u32)((n) & 0xffffffff))
#define upper_32_bits(n)	((u32)(((n) >> 16) >> 16))
#define min(a, b)		((a) < (b) ? (a) : (b))
#define max(a, b)		((a) > (b) ? (a) : (b))
#define min_t(t, a, b)		((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)		((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define clamp_t(t, v, lo, hi)	min_t(t, max_t(t, v, lo), hi)
#define container_of(p, t, m)	((t *)((char *)(p) - offsetof(t, m)))
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define BUILD_BUG_ON(c)		_Static_assert(!(c), #c)
#define WARN_ON(c)		({ bool __c = !!(c); if (__c) abort(); __c; })
#define WARN_ON_ONCE(c)		WARN_ON(c)
#define BUG_ON(c)		do { if (c) abort(); } while (0)
#define fallthrough		__attribute__((__fallthrough__))

/* x86: little endian */
#define cpu_to_le16(x)		((__le16)(u16)(x))
#define cpu_to_le32(x)		((__le32)(u32)(x))
#define cpu_to_le64(x)		((__le64)(u64)(x))
#define le16_to_cpu(x)		((u16)(x))
#define le32_to_cpu(x)		((u32)(x))
#define le64_to_cpu(x)		((u64)(x))

/* Logging: arguments are still evaluated, format checked. */
static inline __printf(1, 2) int mgpu_fuzz_nolog(const char *fmt, ...)
{
	return 0;
}

#define KERN_ERR		""
#define KERN_WARNING		""
#define KERN_NOTICE		""
#define KERN_INFO		""
#define KERN_DEBUG		""
#define pr_err(fmt, ...)	mgpu_fuzz_nolog(fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...)	mgpu_fuzz_nolog(fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	mgpu_fuzz_nolog(fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	mgpu_fuzz_nolog(fmt, ##__VA_ARGS__)
#define dev_printk(l, d, fmt, ...) \
	((void)(d), mgpu_fuzz_nolog(l fmt, ##__VA_ARGS__))
#define dev_err(d, fmt, ...)	dev_printk("", d, fmt, ##__VA_ARGS__)
#define dev_warn(d, fmt, ...)	dev_printk("", d, fmt, ##__VA_ARGS__)
#define dev_info(d, fmt, ...)	dev_printk("", d, fmt, ##__VA_ARGS__)
#define dev_dbg(d, fmt, ...)	dev_printk("", d, fmt, ##__VA_ARGS__)
#define dev_err_ratelimited(d, fmt, ...)	dev_err(d, fmt, ##__VA_ARGS__)
#define dev_warn_ratelimited(d, fmt, ...)	dev_warn(d, fmt, ##__VA_ARGS__)
#define dev_dbg_ratelimited(d, fmt, ...)	dev_dbg(d, fmt, ##__VA_ARGS__)

/* Containers and synchronization: single-threaded dummies. */
struct list_head {
	struct list_head *next, *prev;
};

struct kref {
	int refcount;
};

struct mgpu_fuzz_atomic {
	int counter;
};

#define atomic_t		struct mgpu_fuzz_atomic

#define ATOMIC_INIT(i)		{ (i) }

struct mutex {
	int locked;
};

static inline void mutex_lock(struct mutex *m)
{
	if (m->locked++)
		abort();
}

static inline void mutex_unlock(struct mutex *m)
{
	if (--m->locked)
		abort();
}

#define lockdep_assert_held(l)	((void)(l))

struct mgpu_fuzz_wait_queue_head {
	int dummy;
};

#define wait_queue_head_t	struct mgpu_fuzz_wait_queue_head

struct ratelimit_state {
	int dummy;
};

#define __ratelimit(rs)		((void)(rs), 0)

static inline void cond_resched(void)
{
}

/* Devices: only pointers are followed. */
struct device;
struct attribute_group;
struct class;
struct eventfd_ctx;
struct mdev_driver;

struct mdev_type {
	const char *sysfs_name;
	const char *pretty_name;
};

struct mdev_parent {
	struct device *dev;
};

struct vfio_device {
	struct device *dev;
};

/* Memory management: what vram.c's mmap and fault paths name. */
#define VM_SHARED		0x00000008UL
#define VM_MAYEXEC		0x00000040UL
#define VM_EXEC			0x00000004UL
#define VM_IO			0x00004000UL
#define VM_PFNMAP		0x00000400UL
#define VM_DONTEXPAND		0x00040000UL
#define VM_DONTDUMP		0x04000000UL
#define VM_FAULT_SIGBUS		0x000002U

struct vm_area_struct;

struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;
};

struct vm_operations_struct {
	vm_fault_t (*fault)(struct vm_fault *vmf);
};

struct vm_area_struct {
	unsigned long vm_start;
	unsigned long vm_end;
	unsigned long vm_pgoff;
	vm_flags_t vm_flags;
	const struct vm_operations_struct *vm_ops;
	void *vm_private_data;
};

static inline void *memset32(u32 *s, u32 v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = v;
	return s;
}

/* stubs.c: never reached by a fuzzed path unless stubs.c says so */
int vfio_dma_rw(struct vfio_device *vdev, u64 iova, void *data, size_t len,
		bool write);
void kernel_fpu_begin(void);
void kernel_fpu_end(void);
u64 ktime_get_ns(void);
vm_fault_t vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr,
			  unsigned long pfn);

#endif /* _MGPU_FUZZ_KERNEL_H */
