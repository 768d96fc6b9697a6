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

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
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
/* A WARN or BUG in the kernel is a finding here: report it and crash. */
static inline bool mgpu_fuzz_bug(bool bad, const char *what,
				 const char *file, int line)
{
	if (bad) {
		fprintf(stderr, "%s:%d: %s\n", file, line, what);
		abort();
	}
	return false;
}

#define MGPU_FUZZ_BUG(c, what)	mgpu_fuzz_bug(!!(c), what, __FILE__, __LINE__)
#define WARN_ON(c)		MGPU_FUZZ_BUG(c, "WARN_ON(" #c ")")
#define WARN_ON_ONCE(c)		MGPU_FUZZ_BUG(c, "WARN_ON_ONCE(" #c ")")
#define BUG_ON(c)		MGPU_FUZZ_BUG(c, "BUG_ON(" #c ")")
#define fallthrough		__attribute__((__fallthrough__))

/* x86: little endian */
#define cpu_to_le16(x)		((__le16)(u16)(x))
#define cpu_to_le32(x)		((__le32)(u32)(x))
#define cpu_to_le64(x)		((__le64)(u64)(x))
#define le16_to_cpu(x)		((u16)(x))
#define le32_to_cpu(x)		((u32)(x))
#define le64_to_cpu(x)		((u64)(x))

/* Devices: only pointers are followed. */
struct device;
struct class;
struct eventfd_ctx;

struct mdev_driver {
	int dummy;
};

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

static inline void mutex_init(struct mutex *m)
{
	m->locked = 0;
}

static inline void mutex_destroy(struct mutex *m)
{
	if (m->locked)
		abort();
}

static inline bool mutex_trylock(struct mutex *m)
{
	if (m->locked)
		return false;
	m->locked = 1;
	return true;
}

/* Spinlocks: the same single-threaded dummy. */
#define spinlock_t		struct mutex
#define spin_lock(l)		mutex_lock(l)
#define spin_unlock(l)		mutex_unlock(l)
#define spin_lock_init(l)	mutex_init(l)

#define lockdep_assert_held(l)	\
	MGPU_FUZZ_BUG(!(l)->locked, "lockdep_assert_held(" #l ") not held")

static inline void kref_init(struct kref *k)
{
	k->refcount = 1;
}

static inline void kref_get(struct kref *k)
{
	if (k->refcount++ <= 0)
		abort();
}

static inline int kref_put(struct kref *k, void (*release)(struct kref *k))
{
	if (k->refcount <= 0)
		abort();
	if (--k->refcount)
		return 0;
	release(k);
	return 1;
}

static inline void atomic_inc(atomic_t *v)
{
	v->counter++;
}

static inline bool atomic_dec_and_test(atomic_t *v)
{
	return !--v->counter;
}

#define atomic_read(v)		READ_ONCE((v)->counter)

void wake_up_var(void *var);
/* Single-threaded: nobody else could make @cond true. */
#define wait_var_event(var, cond) \
	MGPU_FUZZ_BUG(((void)(var), !(cond)), "wait_var_event() sleeps forever")

/* Lists: the kernel's semantics, enough for the engine's list. */
#define LIST_HEAD_INIT(name)	{ &(name), &(name) }

static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void list_del(struct list_head *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = NULL;
	e->prev = NULL;
}

static inline void list_move_tail(struct list_head *e, struct list_head *h)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	list_add_tail(e, h);
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

#define list_entry(p, t, m)	container_of(p, t, m)
#define list_for_each_entry(pos, head, member)				\
	for (pos = list_entry((head)->next, typeof(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_entry(pos->member.next, typeof(*pos), member))

/* Error pointers */
#define MAX_ERRNO		4095
#define IS_ERR_VALUE(x)		((unsigned long)(x) >= (unsigned long)-MAX_ERRNO)

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline long PTR_ERR(const void *ptr)
{
	return (long)ptr;
}

static inline bool IS_ERR(const void *ptr)
{
	return IS_ERR_VALUE(ptr);
}

static inline bool IS_ERR_OR_NULL(const void *ptr)
{
	return !ptr || IS_ERR_VALUE(ptr);
}

#define offset_in_page(p)	((unsigned long)(p) & ~PAGE_MASK)

/* Arithmetic */
#define hweight32(w)		__builtin_popcount((u32)(w))

static inline u64 div64_u64(u64 a, u64 b)
{
	return a / b;
}

static inline u64 div_u64(u64 a, u32 b)
{
	return a / b;
}

/* Strings and sysfs */
static inline int __sysfs_match_string(const char * const *a, size_t n,
				       const char *s)
{
	size_t i, len;

	for (i = 0; i < n; i++) {
		if (!a[i])
			continue;
		len = strlen(a[i]);
		/* sysfs_streq(): a trailing newline is ignored */
		if (!strncmp(a[i], s, len) &&
		    (!s[len] || (s[len] == '\n' && !s[len + 1])))
			return i;
	}
	return -EINVAL;
}

#define sysfs_match_string(a, s) __sysfs_match_string(a, ARRAY_SIZE(a), s)

static inline int sysfs_emit(char *buf, const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = vsnprintf(buf, PAGE_SIZE, fmt, args);
	va_end(args);
	return n;
}

int kstrtou32(const char *s, unsigned int base, u32 *res);

struct attribute {
	const char *name;
};

struct attribute_group {
	struct attribute **attrs;
};

struct device_attribute {
	struct attribute attr;
	ssize_t (*show)(struct device *dev, struct device_attribute *attr,
			char *buf);
	ssize_t (*store)(struct device *dev, struct device_attribute *attr,
			 const char *buf, size_t count);
};

#define DEVICE_ATTR_RO(n)						\
	struct device_attribute dev_attr_##n = {			\
		.attr = { .name = #n }, .show = n##_show }
#define DEVICE_ATTR_RW(n)						\
	struct device_attribute dev_attr_##n = {			\
		.attr = { .name = #n }, .show = n##_show,		\
		.store = n##_store }

void *dev_get_drvdata(const struct device *dev);

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


struct mdev_type {
	const char *sysfs_name;
	const char *pretty_name;
};

struct mdev_parent {
	struct device *dev;
};

int mdev_register_parent(struct mdev_parent *parent, struct device *dev,
			 struct mdev_driver *mdev_driver,
			 struct mdev_type **types, unsigned int nr_types);
void mdev_unregister_parent(struct mdev_parent *parent);

struct vfio_device {
	struct device *dev;
};

/* Bitmaps and barriers: vram.c's dirty record. */
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define MGPU_FUZZ_LONG_BITS	(8 * sizeof(long))
#define BITS_TO_LONGS(n)	(((n) + MGPU_FUZZ_LONG_BITS - 1) / \
				 MGPU_FUZZ_LONG_BITS)
#define GFP_KERNEL_ACCOUNT	0

static inline void set_bit(unsigned long nr, unsigned long *addr)
{
	__atomic_fetch_or(&addr[nr / MGPU_FUZZ_LONG_BITS],
			  1UL << (nr % MGPU_FUZZ_LONG_BITS), __ATOMIC_RELAXED);
}

static inline void bitmap_zero(unsigned long *b, unsigned long nbits)
{
	memset(b, 0, BITS_TO_LONGS(nbits) * sizeof(long));
}

static inline void *kvcalloc(size_t n, size_t size, int gfp)
{
	return calloc(n, size);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

/* The first bit from @from that is @set, or @size. */
static inline unsigned long mgpu_fuzz_next_bit(const unsigned long *a,
					       unsigned long size,
					       unsigned long from, int set)
{
	for (; from < size; from++)
		if (!!(a[from / MGPU_FUZZ_LONG_BITS] &
		       (1UL << (from % MGPU_FUZZ_LONG_BITS))) == set)
			return from;
	return size;
}

#define for_each_set_bitrange(b, e, addr, size)				\
	for ((b) = mgpu_fuzz_next_bit(addr, size, 0, 1),		\
	     (e) = mgpu_fuzz_next_bit(addr, size, b, 0);		\
	     (b) < (size);						\
	     (b) = mgpu_fuzz_next_bit(addr, size, (e), 1),		\
	     (e) = mgpu_fuzz_next_bit(addr, size, b, 0))

/* What mgpu_drv.h names of migration and DMA logging (not run here). */
enum vfio_device_mig_state {
	VFIO_DEVICE_STATE_ERROR = 0,
	VFIO_DEVICE_STATE_STOP = 1,
	VFIO_DEVICE_STATE_RUNNING = 2,
};

struct xarray {
	void *head;
};

#define VFIO_PCI_BAR0_REGION_INDEX	0
#define VFIO_PCI_BAR2_REGION_INDEX	2
#define VFIO_PCI_CONFIG_REGION_INDEX	7

/* Memory management: what vram.c's mmap and fault paths name. */
#define VM_SHARED		0x00000008UL
#define VM_MAYEXEC		0x00000040UL
#define VM_EXEC			0x00000004UL
#define VM_IO			0x00004000UL
#define VM_PFNMAP		0x00000400UL
#define VM_DONTEXPAND		0x00040000UL
#define VM_DONTDUMP		0x04000000UL
#define VM_FAULT_SIGBUS		0x000002U
#define VM_FAULT_NOPAGE		0x000100U

struct vm_area_struct;

#define FAULT_FLAG_WRITE	0x01U

struct vm_fault {
	struct vm_area_struct *vma;
	unsigned long address;
	unsigned int flags;
};

struct vm_operations_struct {
	vm_fault_t (*fault)(struct vm_fault *vmf);
	vm_fault_t (*pfn_mkwrite)(struct vm_fault *vmf);
};

struct address_space {
	int unused;
};

struct file {
	struct address_space *f_mapping;
};

/* Zapping user mappings: nothing is mapped in userspace here. */
static inline void unmap_mapping_range(struct address_space *mapping,
				       long long holebegin,
				       long long holelen, int even_cows)
{
}

struct vm_area_struct {
	struct file *vm_file;
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

/* User memory is plain memory here: __user is empty. */
static inline unsigned long copy_from_user(void *to, const void *from,
					   unsigned long n)
{
	memcpy(to, from, n);
	return 0;
}

static inline unsigned long copy_to_user(void *to, const void *from,
					 unsigned long n)
{
	memcpy(to, from, n);
	return 0;
}

static inline unsigned long clear_user(void *to, unsigned long n)
{
	memset(to, 0, n);
	return 0;
}

#define is_power_of_2(n)	((n) != 0 && ((n) & ((n) - 1)) == 0)
#define ilog2(n)		(63 - __builtin_clzll((u64)(n)))

/* <linux/pci_ids.h>: the kernel's, not in the UAPI headers */
#define PCI_CLASS_DISPLAY_3D	0x0302

/* stubs.c: never reached by a fuzzed path unless stubs.c says so */
int vfio_dma_rw(struct vfio_device *vdev, u64 iova, void *data, size_t len,
		bool write);
void kernel_fpu_begin(void);
void kernel_fpu_end(void);

/* <asm/cpufeature.h>, <asm/fpu/api.h>: what the host CPU has */
#define X86_FEATURE_AVX2	1
#define X86_FEATURE_AVX512F	2
#define XFEATURE_MASK_SSE	(1ULL << 1)
#define XFEATURE_MASK_YMM	(1ULL << 2)
#define XFEATURE_MASK_AVX512	(7ULL << 5)
static inline bool boot_cpu_has(int feature)
{
	__builtin_cpu_init();
	if (feature == X86_FEATURE_AVX2)
		return __builtin_cpu_supports("avx2");
	return __builtin_cpu_supports("avx512f");
}

/* __builtin_cpu_supports() already asks whether the OS saves them. */
static inline int cpu_has_xfeatures(u64 mask, const char **name)
{
	return 1;
}
u64 ktime_get_ns(void);
vm_fault_t vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr,
			  unsigned long pfn);

#endif /* _MGPU_FUZZ_KERNEL_H */
