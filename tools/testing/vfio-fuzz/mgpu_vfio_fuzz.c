// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu_vfio_fuzz: drive mgpu vGPUs through VFIO with random operations
 * from several threads, and check that the kernel survives and that the
 * device keeps its contract.
 *
 * usage: mgpu_vfio_fuzz [--seed N] [--ops N] [--threads N] [--time S]
 *			 [--parent NAME] [--instances N] [--no-recycle] [-v]
 *
 * The program creates a few instances of mixed types on the parent,
 * opens each through libmgpu, and runs --threads fuzzing threads, each
 * with its own PRNG stream derived from the seed, for --ops operations in
 * total (or until --time seconds have passed).  A recycler thread removes
 * instances while they are open and in use (the removal blocks until the
 * device is closed, which it then does), closes and reopens them, and
 * recreates them with other types.  A watchdog fails the run, printing
 * the seed and every thread's last operations, when an operation takes
 * more than 30 seconds.
 *
 * Replay: the seed is printed first ("# seed: N"); run the program again
 * with --seed N (and the same --threads and --ops) to get the same
 * operation streams.  The interleaving of the threads is the scheduler's,
 * so a race may need a few runs, or --threads 1 to be deterministic.
 *
 * Output: KTAP, one result line per phase and per thread.  Exit status 0
 * when every result passed, 1 otherwise, 4 when the device is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "libmgpu.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
/* Accesses the compiler may neither drop, merge nor split. */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define FZ_MAX_THREADS		16
#define FZ_MAX_INST		8
#define FZ_NMAP			4
#define FZ_NDMA			4
#define FZ_NEFD			4
#define FZ_HIST			16
#define FZ_HANG_SECS		30
#define FZ_MAX_FAILS		8
#define FZ_ARGBUF		4096
/*
 * How long a sync or a full ring waits: short, because another thread may
 * have wrecked the queue (a waiting thread is a thread that fuzzes nothing).
 */
#define FZ_WAIT_MS		30
#define FZ_SYSFS_MDEV		"/sys/bus/mdev/devices"
#define FZ_SYSFS_CLASS		"/sys/class/mgpu"
/* Window of IOVAs the raw container operations map and unmap in. */
#define FZ_RAW_IOVA		0x10000000ULL
#define FZ_RAW_SLOTS		16
#define FZ_RAW_BUF		(64 * 1024)
/* Most VRAM addresses fall in this much of the slice: bounded backing. */
#define FZ_HOT_VRAM		(2ULL << 20)

/* Operation kinds; the weights are in fz_weights[]. */
enum fz_op {
	OP_GET_INFO,
	OP_REGION_INFO,
	OP_IRQ_INFO,
	OP_SET_IRQS,
	OP_RESET,
	OP_CFG_READ,
	OP_CFG_WRITE,
	OP_BAR0_READ,
	OP_BAR0_WRITE,
	OP_BAR2_RW,
	OP_REGION_RW,
	OP_MMAP,
	OP_MUNMAP,
	OP_MREMAP,
	OP_TOUCH,
	OP_QUEUE_OPEN,
	OP_SUBMIT,
	OP_SYNC,
	OP_QUEUE_CLOSE,
	OP_DMA_ALLOC,
	OP_DMA_FREE,
	OP_RAW_DMA,
	OP_EFD_DRAIN,
	OP_CHECK,
	OP_BAD_IOCTL,
	OP_REOPEN_BUSY,
	OP_MCTL,
	OP_SYSFS,
	OP_FORK,
	OP_NR,
	/* recycler only */
	OP_RECYCLE = OP_NR,
	OP_ALL,
};

static const char *const fz_op_names[OP_ALL] = {
	[OP_GET_INFO] = "get_info", [OP_REGION_INFO] = "region_info",
	[OP_IRQ_INFO] = "irq_info", [OP_SET_IRQS] = "set_irqs",
	[OP_RESET] = "reset", [OP_CFG_READ] = "cfg_read",
	[OP_CFG_WRITE] = "cfg_write", [OP_BAR0_READ] = "bar0_read",
	[OP_BAR0_WRITE] = "bar0_write", [OP_BAR2_RW] = "bar2_rw",
	[OP_REGION_RW] = "region_rw", [OP_MMAP] = "mmap",
	[OP_MUNMAP] = "munmap", [OP_MREMAP] = "mremap",
	[OP_TOUCH] = "touch", [OP_QUEUE_OPEN] = "queue_open",
	[OP_SUBMIT] = "submit", [OP_SYNC] = "sync",
	[OP_QUEUE_CLOSE] = "queue_close", [OP_DMA_ALLOC] = "dma_alloc",
	[OP_DMA_FREE] = "dma_free", [OP_RAW_DMA] = "raw_dma",
	[OP_EFD_DRAIN] = "efd_drain", [OP_CHECK] = "check",
	[OP_BAD_IOCTL] = "bad_ioctl", [OP_REOPEN_BUSY] = "reopen_busy",
	[OP_MCTL] = "mprotect/madvise", [OP_SYSFS] = "sysfs",
	[OP_FORK] = "fork",
	[OP_RECYCLE] = "recycle",
};

static const unsigned int fz_weights[OP_NR] = {
	[OP_GET_INFO] = 4, [OP_REGION_INFO] = 4, [OP_IRQ_INFO] = 4,
	[OP_SET_IRQS] = 6, [OP_RESET] = 1, [OP_CFG_READ] = 6,
	[OP_CFG_WRITE] = 6, [OP_BAR0_READ] = 8, [OP_BAR0_WRITE] = 6,
	[OP_BAR2_RW] = 4, [OP_REGION_RW] = 3, [OP_MMAP] = 2,
	[OP_MUNMAP] = 2, [OP_MREMAP] = 1, [OP_TOUCH] = 8,
	[OP_QUEUE_OPEN] = 2, [OP_SUBMIT] = 8, [OP_SYNC] = 2,
	[OP_QUEUE_CLOSE] = 1, [OP_DMA_ALLOC] = 2, [OP_DMA_FREE] = 1,
	[OP_RAW_DMA] = 3, [OP_EFD_DRAIN] = 1, [OP_CHECK] = 4,
	[OP_BAD_IOCTL] = 1, [OP_REOPEN_BUSY] = 1, [OP_MCTL] = 1,
	[OP_SYSFS] = 1, [OP_FORK] = 1,
};

static const char *const fz_types[] = {
	"mgpu-1_2", "mgpu-1_4", "mgpu-1_8", "mgpu-1_16",
};

struct fz_map {
	void *addr;
	size_t len;
};

/* What one thread holds of one instance; torn down on recycle. */
struct fz_slot {
	struct mgpu_queue *q;
	unsigned int qflags;
	struct mgpu_dma dma[FZ_NDMA];
	struct fz_map map[FZ_NMAP];
};

struct fz_inst {
	pthread_rwlock_t lock;
	char uuid[40];
	const char *type;
	struct mgpu_dev *dev;		/* NULL: not open */
	int fd;				/* device fd */
	int container;			/* container fd, or -1 */
	uint64_t reg_off[VFIO_PCI_NUM_REGIONS];
	uint64_t reg_size[VFIO_PCI_NUM_REGIONS];
	uint64_t vram;
	unsigned int nq;
	unsigned int gen;
	bool removing;			/* a remove is pending (sysfs gone) */
	struct fz_slot slot[FZ_MAX_THREADS + 1];
};

struct fz_rec {
	uint64_t n;
	uint16_t op;
	uint16_t inst;
	int32_t ret;
	uint64_t a, b, c;
};

struct fz_thread {
	pthread_t th;
	int id;
	pid_t tid;
	uint64_t rng;
	uint64_t budget;
	uint64_t ops;
	uint64_t op_start;	/* ns, 0 when not in an operation */
	int cur_op;
	struct fz_rec hist[FZ_HIST];
	unsigned int nfails;
	char fails[FZ_MAX_FAILS][200];
	uint64_t count[OP_ALL];
	uint64_t okcount[OP_ALL];
	uint64_t faults;
	int efd[FZ_NEFD];
	void *rawbuf;
	bool clean;			/* generating valid commands only */
};

static uint64_t fz_seed;
static uint64_t fz_total_ops = 1000000;
static unsigned int fz_nthreads = 4;
static unsigned int fz_ninst = 4;
static unsigned int fz_time = 100;
static bool fz_recycle = true;
static int fz_verbose;
static const char *fz_parent = "swgpu0";

static struct fz_inst fz_inst[FZ_MAX_INST];
static struct fz_thread fz_thr[FZ_MAX_THREADS + 1];	/* last: recycler */
static bool fz_stop;
static uint64_t fz_deadline;
static pthread_mutex_t fz_out_lock = PTHREAD_MUTEX_INITIALIZER;
static long fz_page;
/*
 * A fork child inherits every device fd and mapping of the process until
 * it exits: a close and reopen meanwhile would find the group busy.  Forks
 * hold this for reading, opens and closes for writing.
 */
static pthread_rwlock_t fz_fork_lock = PTHREAD_RWLOCK_INITIALIZER;
static __thread sigjmp_buf *fz_jb;
static __thread struct fz_thread *fz_self;

/* ---------------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/*
 * For the per-operation bookkeeping (watchdog, deadline): jiffies
 * resolution is plenty, and a TCG guest often has no usable TSC, where
 * CLOCK_MONOTONIC reads the HPET or the PM timer: an exit to QEMU each.
 */
static uint64_t coarse_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xorshift64*: one stream per thread */
static uint64_t rnd(struct fz_thread *t)
{
	uint64_t x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static uint64_t rn(struct fz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

static bool chance(struct fz_thread *t, unsigned int pct)
{
	return rn(t, 100) < pct;
}

/* A chance of an invalid input: never in a clean command batch. */
static bool bad(struct fz_thread *t, unsigned int pct)
{
	return !t->clean && chance(t, pct);
}

/* A value that often sits on a boundary. */
static uint64_t rnd_val(struct fz_thread *t)
{
	static const uint64_t special[] = {
		0, 1, 2, 3, 4, 7, 8, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100,
		0xfff, 0x1000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, ~0ULL - 63,
	};

	switch (rn(t, 4)) {
	case 0:
		return special[rn(t, ARRAY_SIZE(special))];
	case 1:
		return rn(t, 256);
	case 2:
		return rnd(t) & 0xffffffff;
	default:
		return rnd(t);
	}
}

/*
 * An argsz that the kernel may honour: it writes up to argsz bytes
 * (capability chains), so it must stay within our FZ_ARGBUF buffers.
 * Values past it are what ptr_or_bad() and short argsz are for.
 */
static uint32_t rnd_argsz(struct fz_thread *t)
{
	return chance(t, 50) ? rn(t, 64) : rn(t, FZ_ARGBUF + 1);
}

static void fz_fail(struct fz_thread *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nfails < FZ_MAX_FAILS) {
		va_start(ap, fmt);
		vsnprintf(t->fails[t->nfails], sizeof(t->fails[0]), fmt, ap);
		va_end(ap);
	}
	t->nfails++;
}

static void fz_log(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&fz_out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&fz_out_lock);
}

/* Record the start of an operation, for the watchdog and the history. */
static struct fz_rec *op_begin(struct fz_thread *t, int op, int inst,
			       uint64_t a, uint64_t b, uint64_t c)
{
	struct fz_rec *r = &t->hist[t->ops % FZ_HIST];

	r->n = t->ops;
	r->op = op;
	r->inst = inst;
	r->a = a;
	r->b = b;
	r->c = c;
	r->ret = 0;
	t->count[op]++;
	WRITE_ONCE(t->cur_op, op);
	WRITE_ONCE(t->op_start, coarse_ns());
	return r;
}

static void op_end(struct fz_thread *t, struct fz_rec *r, int ret)
{
	WRITE_ONCE(t->op_start, 0);
	r->ret = ret;
	if (ret >= 0)
		t->okcount[r->op]++;
	t->ops++;
}

static void dump_history(struct fz_thread *t)
{
	uint64_t i, from = t->ops > FZ_HIST ? t->ops - FZ_HIST : 0;

	for (i = from; i <= t->ops; i++) {
		struct fz_rec *r = &t->hist[i % FZ_HIST];

		if (r->n != i || (i == t->ops && !READ_ONCE(t->op_start)))
			continue;
		printf("#   thread %d op %" PRIu64 ": %s inst %u a=%#" PRIx64
		       " b=%#" PRIx64 " c=%#" PRIx64 " -> %d%s\n", t->id,
		       r->n, fz_op_names[r->op], r->inst, r->a, r->b, r->c,
		       r->ret, i == t->ops ? " (running)" : "");
	}
}

/* ---------------------------------------------------------------------- */
/* sysfs */

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int ret = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void new_uuid(struct fz_thread *t, char *buf)
{
	uint64_t a = rnd(t), b = rnd(t);

	/* version 4, variant 1; from the seed, so that replays match */
	snprintf(buf, 37, "%08x-%04x-4%03x-%04x-%012" PRIx64,
		 (unsigned int)(a >> 32), (unsigned int)(a >> 16) & 0xffff,
		 (unsigned int)a & 0xfff,
		 (unsigned int)(0x8000 | ((b >> 48) & 0x3fff)),
		 (uint64_t)(b & 0xffffffffffffULL));
}

static int mdev_create(const char *type, const char *uuid)
{
	char path[256], buf[32] = "";
	int fd;
	ssize_t n;

	/* no room: do not ask (a refused create is logged) */
	snprintf(path, sizeof(path), FZ_SYSFS_CLASS "/%s/mdev_supported_types/%s/available_instances",
		 fz_parent, type);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0 && atoi(buf) <= 0)
			return -ENOSPC;
	}

	snprintf(path, sizeof(path), FZ_SYSFS_CLASS "/%s/mdev_supported_types/%s/create",
		 fz_parent, type);
	return write_file(path, uuid);
}

static int mdev_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), FZ_SYSFS_MDEV "/%s/remove", uuid);
	return write_file(path, "1");
}

/* The container fd that the latest mgpu_open_vfio() opened: not ours. */
static int find_container(void)
{
	char path[300], link[64];
	struct dirent *de;
	int fd, best = -1;
	unsigned int i;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		ssize_t n;
		bool known = false;

		fd = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "/dev/vfio/vfio"))
			continue;
		for (i = 0; i < fz_ninst; i++)
			if (fz_inst[i].dev && fz_inst[i].container == fd)
				known = true;
		if (!known && fd > best)
			best = fd;
	}
	closedir(d);
	return best;
}

/* Open an instance (its lock held for writing, or before the threads). */
static int inst_open(struct fz_inst *in)
{
	struct mgpu_dev *dev;
	unsigned int i;
	int ret;

	pthread_rwlock_wrlock(&fz_fork_lock);
	ret = mgpu_open_vfio(in->uuid, &dev);
	pthread_rwlock_unlock(&fz_fork_lock);
	if (ret)
		return ret;
	in->fd = mgpu_vfio_device_fd(dev);
	in->container = find_container();
	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		if (mgpu_vfio_region(dev, i, &in->reg_off[i], &in->reg_size[i])) {
			in->reg_off[i] = (uint64_t)i << 40;
			in->reg_size[i] = 0;
		}
	}
	in->vram = mgpu_vram_size(dev);
	in->nq = mgpu_num_queues(dev);
	in->gen++;
	in->dev = dev;
	return 0;
}

/* Drop everything the threads hold of @in, then close it. */
static void inst_close(struct fz_inst *in)
{
	unsigned int s, j;

	if (!in->dev)
		return;
	for (s = 0; s <= fz_nthreads; s++) {
		struct fz_slot *sl = &in->slot[s];

		for (j = 0; j < FZ_NMAP; j++) {
			if (sl->map[j].addr)
				munmap(sl->map[j].addr, sl->map[j].len);
			sl->map[j].addr = NULL;
		}
		mgpu_queue_close(sl->q);
		sl->q = NULL;
		for (j = 0; j < FZ_NDMA; j++)
			if (sl->dma[j].cpu)
				mgpu_dma_free(in->dev, &sl->dma[j]);
	}
	pthread_rwlock_wrlock(&fz_fork_lock);
	mgpu_close(in->dev);
	pthread_rwlock_unlock(&fz_fork_lock);
	in->dev = NULL;
	in->fd = -1;
	in->container = -1;
}

/* ---------------------------------------------------------------------- */
/* Operations.  Each runs with the instance's lock held for reading.     */

static void *ptr_or_bad(struct fz_thread *t, void *good)
{
	if (!chance(t, 3))
		return good;
	return rn(t, 2) ? NULL : (void *)(uintptr_t)0x10;
}

static int sys_ret(long r)
{
	return r < 0 ? -errno : (int)(r > 0x7fffffff ? 0x7fffffff : r);
}

static int op_get_info(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	/* the kernel may write up to argsz bytes (capabilities) */
	union {
		struct vfio_device_info info;
		char buf[FZ_ARGBUF];
	} u = { 0 };
	struct vfio_device_info *ip = &u.info;
	void *p = ptr_or_bad(t, &u);
	int ret;

	ip->argsz = chance(t, 80) ? sizeof(*ip) : rnd_argsz(t);
	r->a = ip->argsz;
	ret = sys_ret(ioctl(in->fd, VFIO_DEVICE_GET_INFO, p));
	if (!ret && p == &u) {
		if (!(ip->flags & VFIO_DEVICE_FLAGS_PCI) ||
		    !(ip->flags & VFIO_DEVICE_FLAGS_RESET) ||
		    ip->num_regions < VFIO_PCI_NUM_REGIONS ||
		    ip->num_irqs < VFIO_PCI_NUM_IRQS)
			fz_fail(t, "GET_INFO: flags %#x regions %u irqs %u",
				ip->flags, ip->num_regions, ip->num_irqs);
	}
	return ret;
}

static int op_region_info(struct fz_thread *t, struct fz_inst *in,
			  struct fz_rec *r)
{
	union {
		struct vfio_region_info info;
		char buf[FZ_ARGBUF];
	} u = { 0 };
	struct vfio_region_info *ip = &u.info;
	void *p = ptr_or_bad(t, &u);
	int ret;

	ip->argsz = chance(t, 85) ? sizeof(*ip) : rnd_argsz(t);
	ip->index = chance(t, 85) ? rn(t, VFIO_PCI_NUM_REGIONS + 2) :
				     rnd_val(t);
	r->a = ip->argsz;
	r->b = ip->index;
	ret = sys_ret(ioctl(in->fd, VFIO_DEVICE_GET_REGION_INFO, p));
	if (!ret && p == &u && ip->index == VFIO_PCI_BAR2_REGION_INDEX &&
	    ip->size != in->vram)
		fz_fail(t, "REGION_INFO: BAR2 size %#llx, VRAM %#" PRIx64,
			(unsigned long long)ip->size, in->vram);
	if (!ret && p == &u && ip->index >= VFIO_PCI_NUM_REGIONS &&
	    ip->size)
		fz_fail(t, "REGION_INFO: region %u has size %#llx", ip->index,
			(unsigned long long)ip->size);
	return ret;
}

static int op_irq_info(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	union {
		struct vfio_irq_info info;
		char buf[FZ_ARGBUF];
	} u = { 0 };
	void *p = ptr_or_bad(t, &u);

	u.info.argsz = chance(t, 85) ? sizeof(u.info) : rnd_argsz(t);
	u.info.index = chance(t, 85) ? rn(t, VFIO_PCI_NUM_IRQS + 2) :
				       rnd_val(t);
	r->a = u.info.argsz;
	r->b = u.info.index;
	return sys_ret(ioctl(in->fd, VFIO_DEVICE_GET_IRQ_INFO, p));
}

static int rnd_fd(struct fz_thread *t, struct fz_inst *in)
{
	switch (rn(t, 8)) {
	case 0:
		return -1;
	case 1:
		return rn(t, 64);	/* whatever that is */
	case 2:
		return in->fd;		/* not an eventfd */
	default:
		return t->efd[rn(t, FZ_NEFD)];
	}
}

static int op_set_irqs(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	static const uint32_t data[] = {
		VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL,
		VFIO_IRQ_SET_DATA_EVENTFD,
	};
	static const uint32_t action[] = {
		VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	union {
		struct vfio_irq_set s;
		char buf[sizeof(struct vfio_irq_set) + 16 * sizeof(int32_t)];
	} u;
	unsigned int i, n;
	void *p = ptr_or_bad(t, &u);

	memset(&u, 0, sizeof(u));
	if (chance(t, 90)) {
		u.s.flags = data[rn(t, 3)] | action[rn(t, 3)];
		u.s.index = rn(t, VFIO_PCI_NUM_IRQS + 1);
		u.s.start = chance(t, 85) ? 0 : rn(t, 3);
		u.s.count = chance(t, 10) ? 0 : (chance(t, 85) ? 1 : rn(t, 4));
	} else {
		u.s.flags = rnd_val(t);
		u.s.index = rnd_val(t);
		u.s.start = rnd_val(t);
		u.s.count = rnd_val(t);
	}
	n = u.s.count < 16 ? u.s.count : 16;
	if (u.s.flags & VFIO_IRQ_SET_DATA_BOOL) {
		for (i = 0; i < n; i++)
			((uint8_t *)u.s.data)[i] = rn(t, 3);
		u.s.argsz = sizeof(u.s) + n;
	} else if (u.s.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		for (i = 0; i < n; i++)
			((int32_t *)u.s.data)[i] = rnd_fd(t, in);
		u.s.argsz = sizeof(u.s) + n * sizeof(int32_t);
	} else {
		u.s.argsz = sizeof(u.s);
	}
	if (chance(t, 5))
		u.s.argsz = rnd_val(t) & 0xffffffff;
	if (u.s.argsz > sizeof(u))
		u.s.argsz = chance(t, 50) ? sizeof(u) : u.s.argsz;
	r->a = u.s.flags;
	r->b = (uint64_t)u.s.index << 32 | u.s.count;
	r->c = u.s.argsz;
	/* an argsz past our buffer would read beyond it: keep it in */
	if (u.s.argsz > sizeof(u) && p == &u)
		u.s.argsz = sizeof(u);
	return sys_ret(ioctl(in->fd, VFIO_DEVICE_SET_IRQS, p));
}

static int op_reset(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	return sys_ret(ioctl(in->fd, VFIO_DEVICE_RESET));
}

static const unsigned int fz_widths[] = { 1, 2, 4, 4, 4, 8, 3, 5, 16, 64 };

static unsigned int rnd_width(struct fz_thread *t)
{
	if (chance(t, 2))
		return rn(t, 8192) + 1;
	return fz_widths[rn(t, ARRAY_SIZE(fz_widths))];
}

/* pread/pwrite of region @idx at @off; checks the documented result. */
static int region_rw(struct fz_thread *t, struct fz_inst *in,
		     unsigned int idx, uint64_t off, unsigned int len,
		     bool write, void *buf)
{
	uint64_t size = idx < VFIO_PCI_NUM_REGIONS ? in->reg_size[idx] : 0;
	uint64_t base = idx < VFIO_PCI_NUM_REGIONS ? in->reg_off[idx] :
			(uint64_t)idx << 40;
	bool inside = off < size && len <= size - off;
	bool expect_ok = inside && len;
	ssize_t n;
	int ret;

	if (idx == VFIO_PCI_BAR0_REGION_INDEX)
		expect_ok = expect_ok && !(off & 3) && !(len & 3);
	if (write)
		n = pwrite(in->fd, buf, len, base + off);
	else
		n = pread(in->fd, buf, len, base + off);
	ret = sys_ret(n);
	if (!len)
		return ret;
	if (expect_ok && n != (ssize_t)len)
		fz_fail(t, "%s of %u bytes at region %u offset %#" PRIx64
			": %zd (%s), expected %u", write ? "write" : "read",
			len, idx, off, n, n < 0 ? strerror(errno) : "short",
			len);
	else if (!inside && n >= 0)
		fz_fail(t, "%s of %u bytes at region %u offset %#" PRIx64
			" (size %#" PRIx64 ") succeeded: %zd",
			write ? "write" : "read", len, idx, off, size, n);
	return ret;
}

static uint64_t rnd_off(struct fz_thread *t, uint64_t size, unsigned int w)
{
	switch (rn(t, 8)) {
	case 0:
		return size - rn(t, 2 * w + 1);	/* around the end */
	case 1:
		return rnd_val(t);
	case 2:
		return size + rn(t, 64);
	default:
		return size ? rn(t, size) : 0;
	}
}

static int op_cfg_read(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = rnd_width(t);
	uint64_t off;

	off = chance(t, 70) ? rn(t, 0x100) : rnd_off(t, 0x1000, w);
	r->a = off;
	r->b = w;
	return region_rw(t, in, VFIO_PCI_CONFIG_REGION_INDEX, off, w, false,
			 buf);
}

static int op_cfg_write(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	static const uint16_t hot[] = {
		PCI_COMMAND, PCI_STATUS, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_1,
		PCI_BASE_ADDRESS_2, PCI_BASE_ADDRESS_3, PCI_BASE_ADDRESS_4,
		PCI_ROM_ADDRESS, PCI_INTERRUPT_LINE, PCI_CACHE_LINE_SIZE,
		0x80, 0x80 + PCI_MSI_FLAGS, 0x80 + PCI_MSI_ADDRESS_LO,
		0x80 + PCI_MSI_ADDRESS_HI, 0x80 + PCI_MSI_DATA_64,
		0x40 + PCI_EXP_DEVCTL, 0x40 + PCI_EXP_DEVSTA,
		0x40 + PCI_EXP_LNKCTL, 0x40 + PCI_EXP_DEVCTL2,
	};
	unsigned char buf[8192];
	unsigned int w = rnd_width(t), i;
	uint64_t off, v = rnd_val(t);

	if (chance(t, 70)) {
		off = hot[rn(t, ARRAY_SIZE(hot))];
		if (chance(t, 30))
			w = 1 << rn(t, 3);
	} else {
		off = rnd_off(t, 0x1000, w);
	}
	if (w > sizeof(buf))
		w = sizeof(buf);
	for (i = 0; i < w; i++)
		buf[i] = i < 8 ? v >> (8 * i) : rnd(t);
	/* FLR: Initiate Function Level Reset in DEVCTL, now and then */
	if (off == 0x40 + PCI_EXP_DEVCTL && w >= 2 && chance(t, 30))
		buf[1] |= PCI_EXP_DEVCTL_BCR_FLR >> 8;
	/* keep memory and bus master on mostly: the library needs them */
	if (off == PCI_COMMAND && w >= 1 && chance(t, 70))
		buf[0] |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	r->a = off;
	r->b = w;
	r->c = v;
	return region_rw(t, in, VFIO_PCI_CONFIG_REGION_INDEX, off, w, true,
			 buf);
}

static uint64_t rnd_reg(struct fz_thread *t, struct fz_inst *in)
{
	static const uint16_t regs[] = {
		MGPU_REG_MAGIC, MGPU_REG_VERSION, MGPU_REG_VRAM_SIZE_LO,
		MGPU_REG_NUM_QUEUES, MGPU_REG_CAPS, MGPU_REG_SCRATCH,
		MGPU_REG_FRACTION, MGPU_REG_INT_STATUS, MGPU_REG_INT_MASK,
		MGPU_REG_TIMESTAMP_LO, MGPU_REG_TIMESTAMP_HI,
		MGPU_REG_CMD_BUDGET_MS,
	};

	switch (rn(t, 6)) {
	case 0:
	case 1:
		return regs[rn(t, ARRAY_SIZE(regs))];
	case 2:
	case 3:
		return MGPU_REG_QUEUE(rn(t, in->nq + 1)) + 4 * rn(t, 12);
	case 4:
		return rn(t, MGPU_REGS_SIZE) & ~3ULL;
	default:
		return rnd_off(t, MGPU_REGS_SIZE, 4);
	}
}

static int op_bar0_read(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = chance(t, 85) ? 4 : rnd_width(t);
	uint64_t off = rnd_reg(t, in);

	if (chance(t, 5))
		off += rn(t, 4);
	r->a = off;
	r->b = w;
	return region_rw(t, in, VFIO_PCI_BAR0_REGION_INDEX, off, w, false,
			 buf);
}

static int op_bar0_write(struct fz_thread *t, struct fz_inst *in,
			 struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = chance(t, 85) ? 4 : rnd_width(t), i;
	uint64_t off = rnd_reg(t, in), v = rnd_val(t);
	uint64_t q = (off - MGPU_REG_QUEUE_BASE) % MGPU_REG_QUEUE_STRIDE;

	if (chance(t, 5))
		off += rn(t, 4);
	/* plausible queue values: a ring in VRAM, a small size, a tail */
	if (off >= MGPU_REG_QUEUE_BASE && chance(t, 60)) {
		if (q == MGPU_Q_RING_LO || q == MGPU_Q_TAIL_ADDR)
			v = rn(t, FZ_HOT_VRAM) & ~63ULL;
		else if (q == MGPU_Q_RING_SIZE)
			v = 1U << rn(t, 18);
		else if (q == MGPU_Q_TAIL)
			v = rn(t, 64);
		else if (q == MGPU_Q_CTRL)
			v = rn(t, 8);
		else if (q == MGPU_Q_RING_HI)
			v = 0;
	}
	if (w > sizeof(buf))
		w = sizeof(buf);
	for (i = 0; i < w; i++)
		buf[i] = i < 8 ? v >> (8 * i) : rnd(t);
	r->a = off;
	r->b = w;
	r->c = v;
	return region_rw(t, in, VFIO_PCI_BAR0_REGION_INDEX, off, w, true, buf);
}

static uint64_t rnd_vram(struct fz_thread *t, struct fz_inst *in)
{
	if (chance(t, 90))
		return rn(t, in->vram < FZ_HOT_VRAM ? in->vram : FZ_HOT_VRAM);
	return rn(t, in->vram);
}

static int op_bar2_rw(struct fz_thread *t, struct fz_inst *in,
		      struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = rnd_width(t), i;
	uint64_t off = chance(t, 80) ? rnd_vram(t, in) : rnd_off(t, in->vram, w);
	bool write = rn(t, 2);

	if (w > sizeof(buf))
		w = sizeof(buf);
	if (write)
		for (i = 0; i < w; i++)
			buf[i] = rnd(t);
	r->a = off;
	r->b = w;
	r->c = write;
	return region_rw(t, in, VFIO_PCI_BAR2_REGION_INDEX, off, w, write,
			 buf);
}

/* Any region index, including the ones that do not exist. */
static int op_region_rw(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	unsigned char buf[64];
	unsigned int idx = rn(t, VFIO_PCI_NUM_REGIONS + 4);
	unsigned int w = 1 << rn(t, 4);
	uint64_t size = idx < VFIO_PCI_NUM_REGIONS ? in->reg_size[idx] : 0;
	uint64_t off = rnd_off(t, size ? size : 0x1000, w);
	bool write = rn(t, 2);

	/* writes only where they cannot hurt the library: config, BAR2 */
	if (idx == VFIO_PCI_BAR0_REGION_INDEX)
		write = false;
	memset(buf, 0, sizeof(buf));
	r->a = (uint64_t)idx << 40 | off;
	r->b = w;
	r->c = write;
	return region_rw(t, in, idx, off, w, write, buf);
}

static bool fz_touch_page(unsigned char *p, bool write, unsigned char v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		fz_jb = NULL;
		return false;
	}
	fz_jb = &jb;
	if (write)
		WRITE_ONCE(*p, v);
	else
		(void)READ_ONCE(*p);
	fz_jb = NULL;
	return true;
}

static int op_mmap(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	uint64_t pages = in->vram / fz_page, off, len;
	unsigned int idx = VFIO_PCI_BAR2_REGION_INDEX, j;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED;
	bool expect_ok;
	void *p;

	for (j = 0; j < FZ_NMAP && sl->map[j].addr; j++)
		;
	if (j == FZ_NMAP)
		return -ENOSPC;
	off = rn(t, chance(t, 80) ? FZ_HOT_VRAM / fz_page : pages) * fz_page;
	len = (rn(t, 16) + 1) * fz_page;
	if (chance(t, 5))
		off = (pages - rn(t, 4)) * fz_page;	/* crossing the end */
	if (chance(t, 3))
		off += rn(t, fz_page);
	if (chance(t, 5))
		idx = rn(t, VFIO_PCI_NUM_REGIONS + 1);
	if (chance(t, 8))
		flags = MAP_PRIVATE;
	if (chance(t, 15))
		prot = rn(t, 8);
	if (chance(t, 5))
		len = 0;
	expect_ok = idx == VFIO_PCI_BAR2_REGION_INDEX && flags == MAP_SHARED &&
		    !(prot & PROT_EXEC) && len && off % fz_page == 0 &&
		    off + len <= in->vram;
	r->a = off;
	r->b = len;
	r->c = (uint64_t)idx << 32 | flags << 8 | prot;
	p = mmap(NULL, len, prot, flags, in->fd,
		 (idx < VFIO_PCI_NUM_REGIONS ? in->reg_off[idx] :
		  (uint64_t)idx << 40) + off);
	if (p == MAP_FAILED) {
		int e = errno;

		if (expect_ok && e != ENOMEM)
			fz_fail(t, "mmap off %#" PRIx64 " len %#" PRIx64
				" prot %#x: %s", off, len, prot, strerror(e));
		return -e;
	}
	if (!expect_ok) {
		fz_fail(t, "mmap region %u off %#" PRIx64 " len %#" PRIx64
			" prot %#x flags %#x succeeded", idx, off, len, prot,
			flags);
		munmap(p, len);
		return 0;
	}
	sl->map[j].addr = p;
	sl->map[j].len = len;
	/* a page or two right away, as a guest would */
	if ((prot & PROT_WRITE) && !fz_touch_page(p, true, rnd(t)))
		fz_fail(t, "fault on a fresh BAR2 mapping at %#" PRIx64, off);
	return 0;
}

static int pick_map(struct fz_thread *t, struct fz_slot *sl)
{
	unsigned int j, s = rn(t, FZ_NMAP);

	for (j = 0; j < FZ_NMAP; j++)
		if (sl->map[(s + j) % FZ_NMAP].addr)
			return (s + j) % FZ_NMAP;
	return -1;
}

static int op_munmap(struct fz_thread *t, struct fz_inst *in,
		     struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl);
	struct fz_map *m;
	size_t pages, first;

	if (j < 0)
		return -ENOENT;
	m = &sl->map[j];
	pages = m->len / fz_page;
	r->a = (uintptr_t)m->addr;
	r->b = m->len;
	/* a hole in the middle splits the VMA; keep the head tracked */
	if (pages > 2 && chance(t, 30)) {
		first = 1 + rn(t, pages - 1);
		r->c = first;
		if (munmap((char *)m->addr + first * fz_page,
			   (pages - first) * fz_page))
			return -errno;
		m->len = first * fz_page;
		return 0;
	}
	if (munmap(m->addr, m->len))
		return -errno;
	m->addr = NULL;
	return 0;
}

static int op_mremap(struct fz_thread *t, struct fz_inst *in,
		     struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl);
	size_t nlen;
	void *p;

	if (j < 0)
		return -ENOENT;
	nlen = (rn(t, 8) + 1) * fz_page;
	r->a = (uintptr_t)sl->map[j].addr;
	r->b = sl->map[j].len;
	r->c = nlen;
	p = mremap(sl->map[j].addr, sl->map[j].len, nlen, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -errno;
	sl->map[j].addr = p;
	sl->map[j].len = nlen;
	return 0;
}

static int op_touch(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned char *p;
	int j = pick_map(t, sl);
	bool write = rn(t, 2);
	uint64_t off;

	if (j < 0 || chance(t, 30)) {
		/* the library's mapping of the whole BAR */
		off = rnd_vram(t, in);
		p = (unsigned char *)mgpu_vram(in->dev) + off;
	} else {
		off = rn(t, sl->map[j].len);
		p = (unsigned char *)sl->map[j].addr + off;
	}
	r->a = (uintptr_t)p;
	r->b = write;
	if (!fz_touch_page(p, write, rnd(t))) {
		/* PROT_NONE or read-only mappings fault: that is fine */
		if (j >= 0 && p >= (unsigned char *)sl->map[j].addr &&
		    p < (unsigned char *)sl->map[j].addr + sl->map[j].len)
			return -EFAULT;
		t->faults++;
		fz_fail(t, "fault touching VRAM offset %#" PRIx64
			" through the library's mapping", off);
		return -EFAULT;
	}
	return 0;
}

static int op_queue_open(struct fz_thread *t, struct fz_inst *in,
			 struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int idx, entries, flags = 0;
	int ret;

	if (sl->q)
		return -EEXIST;
	idx = chance(t, 80) ? t->id % in->nq : rn(t, in->nq + 1);
	entries = chance(t, 5) ? rn(t, 70000) : 1U << (1 + rn(t, 9));
	if (chance(t, 30))
		flags |= MGPU_QUEUE_RING_SYSMEM;
	if (chance(t, 30))
		flags |= MGPU_QUEUE_TAIL_POLL;
	if (chance(t, 2))
		flags |= 1U << rn(t, 8);
	r->a = idx;
	r->b = entries;
	r->c = flags;
	ret = mgpu_queue_open(in->dev, idx, entries, flags, &sl->q);
	if (ret) {
		sl->q = NULL;
		return ret;
	}
	sl->qflags = flags;
	mgpu_queue_set_timeout(sl->q, FZ_WAIT_MS);
	return 0;
}

static uint64_t rnd_sysmem(struct fz_thread *t, struct fz_inst *in,
			   struct fz_slot *sl, uint64_t len)
{
	unsigned int j = rn(t, FZ_NDMA);

	switch (t->clean ? 0 : rn(t, 4)) {
	case 0:
	case 1:
		if (sl->dma[j].cpu && sl->dma[j].size >= len)
			return sl->dma[j].iova + rn(t, sl->dma[j].size - len + 1);
		return FZ_RAW_IOVA + rn(t, FZ_RAW_SLOTS * FZ_RAW_BUF);
	case 2:
		return FZ_RAW_IOVA + rn(t, FZ_RAW_SLOTS * FZ_RAW_BUF);
	default:
		return rnd_val(t);
	}
}

static uint64_t rnd_addr(struct fz_thread *t, struct fz_inst *in,
			 struct fz_slot *sl, uint64_t len, bool sysmem,
			 unsigned int align)
{
	uint64_t a;

	if (sysmem)
		a = rnd_sysmem(t, in, sl, len);
	else if (!bad(t, 10))
		a = rnd_vram(t, in);
	else if (chance(t, 50))
		a = in->vram - len + rn(t, 16);
	else
		a = rnd_val(t);
	if (!bad(t, 5))
		a &= ~(uint64_t)(align - 1);
	if (!sysmem && a + len > in->vram && !bad(t, 20))
		a = (in->vram - len) & ~(uint64_t)(align - 1);
	return a;
}

static uint64_t rnd_len(struct fz_thread *t)
{
	switch (t->clean ? 3 + rn(t, 7) : rn(t, 10)) {
	case 0:
		return rnd_val(t);
	case 1:
		return rn(t, 1 << 20);
	case 2:
		return 0;
	case 3:
		return rn(t, 64 << 10) + 1;
	default:
		return rn(t, 4096) + 1;
	}
}

static void gen_cmd(struct fz_thread *t, struct fz_inst *in,
		    struct fz_slot *sl, struct mgpu_cmd *c)
{
	unsigned int op = rn(t, t->clean ? 13 : 16), i;
	uint32_t f;
	uint64_t len;

	memset(c, 0, sizeof(*c));
	switch (op) {
	case 0:
		mgpu_cmd_nop(c);
		break;
	case 1:
	case 2:
		f = (chance(t, 30) ? MGPU_F_DST_SYSMEM : 0) |
		    (chance(t, 20) ? MGPU_F_IRQ : 0);
		mgpu_cmd_fence(c, rnd_addr(t, in, sl, 8, f & MGPU_F_DST_SYSMEM, 8),
			       rnd(t), f);
		break;
	case 3:
	case 4:
	case 5:
		f = (chance(t, 30) ? MGPU_F_SRC_SYSMEM : 0) |
		    (chance(t, 30) ? MGPU_F_DST_SYSMEM : 0);
		len = rnd_len(t);
		mgpu_cmd_copy(c, rnd_addr(t, in, sl, len, f & MGPU_F_DST_SYSMEM, 1),
			      rnd_addr(t, in, sl, len, f & MGPU_F_SRC_SYSMEM, 1),
			      len, f);
		break;
	case 6:
	case 7:
	case 8:
		f = chance(t, 30) ? MGPU_F_DST_SYSMEM : 0;
		len = rnd_len(t);
		if (!bad(t, 10))
			len &= ~3ULL;
		mgpu_cmd_fill(c, rnd_addr(t, in, sl, len, f, 4), len, rnd(t), f);
		break;
	case 9:
		f = chance(t, 30) ? MGPU_F_DST_SYSMEM : 0;
		mgpu_cmd_timestamp(c, rnd_addr(t, in, sl, 8, f, 8), f);
		break;
	case 10:
	case 11:
	case 12: {
		uint32_t m = 1 + rn(t, 16), n = 1 + rn(t, 16), k = 1 + rn(t, 16);
		bool i8 = rn(t, 2);
		uint64_t esz = i8 ? 1 : 4, a, b, cc;

		if (bad(t, 5))
			m = rnd_val(t);
		if (bad(t, 5))
			n = rnd_val(t);
		if (bad(t, 5))
			k = rnd_val(t);
		if (chance(t, 2)) {
			/* long and thin: big dimensions, little work */
			m = MGPU_GEMM_MAX_DIM;
			n = 1;
			k = 1 + rn(t, 4);
		}
		a = rnd_addr(t, in, sl, 0, false, 4);
		/* A, B and C one after the other, inside VRAM if they fit */
		if (a + ((uint64_t)m * k + (uint64_t)k * n) * esz +
		    (uint64_t)m * n * 4 + 128 > in->vram && !bad(t, 50))
			a = 0;
		b = (a + (uint64_t)m * k * esz + 63) & ~63ULL;
		cc = (b + (uint64_t)k * n * esz + 63) & ~63ULL;
		if (bad(t, 10))
			cc = a;		/* overlapping output */
		if (bad(t, 10))
			b = rnd_addr(t, in, sl, 0, false, 4);
		if (i8)
			mgpu_cmd_gemm_i8(c, a, b, cc, m, n, k, rnd(t), rnd(t));
		else
			mgpu_cmd_gemm_f32(c, a, b, cc, m, n, k, 1.0f,
					  chance(t, 50) ? 0.0f : 0.5f);
		break;
	}
	default:
		/* anything at all */
		c->opcode = chance(t, 50) ? rn(t, 8) : (uint32_t)rnd(t);
		c->flags = chance(t, 50) ? rn(t, 16) : (uint32_t)rnd(t);
		for (i = 0; i < 7; i++)
			c->arg[i] = chance(t, 50) ? rnd_vram(t, in) : rnd_val(t);
		return;
	}
	/* reserved flags and arguments */
	if (bad(t, 5))
		c->flags |= 1U << rn(t, 32);
	if (bad(t, 5))
		c->arg[1 + rn(t, 6)] = rnd_val(t);
}

static void check_qerror(struct fz_thread *t, struct fz_slot *sl)
{
	uint32_t code, head;

	if (mgpu_queue_error(sl->q, &code, &head))
		return;
	if (code > MGPU_ERR_NO_MEMORY)
		fz_fail(t, "queue %u: error code %u is not one of MGPU_ERR_*",
			mgpu_queue_index(sl->q), code);
	/*
	 * Not against the library's ring size: other threads rewrite the
	 * queue registers (RING_SIZE while disabled) behind its back.
	 */
	if (code != MGPU_ERR_NONE && head >= MGPU_RING_MAX_ENTRIES)
		fz_fail(t, "queue %u: error head %u past any ring",
			mgpu_queue_index(sl->q), head);
}

static int op_submit(struct fz_thread *t, struct fz_inst *in,
		     struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	struct mgpu_cmd cmds[16];
	unsigned int n = 1 + rn(t, 16), i;
	int ret;

	if (!sl->q)
		return -ENOENT;
	/* a third of the batches are valid commands only */
	t->clean = chance(t, 33);
	for (i = 0; i < n; i++)
		gen_cmd(t, in, sl, &cmds[i]);
	t->clean = false;
	r->a = n;
	r->b = cmds[0].opcode;
	r->c = cmds[0].arg[0];
	ret = mgpu_submit(sl->q, cmds, n);
	if (ret == -EIO || ret == -ETIMEDOUT) {
		check_qerror(t, sl);
		ret = mgpu_queue_reset(sl->q) ? -EIO : ret;
	}
	return ret;
}

static int op_sync(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int ret;

	if (!sl->q)
		return -ENOENT;
	ret = mgpu_queue_sync(sl->q, FZ_WAIT_MS);
	r->a = ret;
	check_qerror(t, sl);
	if (ret)
		mgpu_queue_reset(sl->q);
	return ret;
}

static int op_queue_close(struct fz_thread *t, struct fz_inst *in,
			  struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];

	if (!sl->q)
		return -ENOENT;
	mgpu_queue_close(sl->q);
	sl->q = NULL;
	return 0;
}

static int op_dma_alloc(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int j = rn(t, FZ_NDMA);
	size_t size = (1 + rn(t, 16)) * fz_page;

	if (sl->dma[j].cpu)
		return -EEXIST;
	r->a = size;
	return mgpu_dma_alloc(in->dev, size, &sl->dma[j]);
}

static int op_dma_free(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int j = rn(t, FZ_NDMA);

	if (!sl->dma[j].cpu)
		return -ENOENT;
	r->a = sl->dma[j].iova;
	/* possibly while a command of this thread still uses it */
	return mgpu_dma_free(in->dev, &sl->dma[j]);
}

/* Raw container ioctls: map and unmap in a window of our own. */
static int op_raw_dma(struct fz_thread *t, struct fz_inst *in,
		      struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int s = rn(t, FZ_RAW_SLOTS);
	int j;

	if (in->container < 0)
		return -ENODEV;
	switch (rn(t, 6)) {
	case 0:
	case 1:
	case 2: {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)t->rawbuf,
			.iova = FZ_RAW_IOVA + (uint64_t)s * FZ_RAW_BUF,
			.size = FZ_RAW_BUF,
		};

		j = pick_map(t, sl);
		if (j >= 0 && chance(t, 40)) {
			/* VRAM as DMA memory: raw page frames */
			map.vaddr = (uintptr_t)sl->map[j].addr;
			map.size = sl->map[j].len < FZ_RAW_BUF ?
				   sl->map[j].len : FZ_RAW_BUF;
		}
		if (chance(t, 10))
			map.flags = rnd_val(t);
		if (chance(t, 5))
			map.size = rnd_val(t);
		if (chance(t, 5))
			map.iova = rnd_val(t);
		if (chance(t, 3))
			map.argsz = rnd_val(t);
		r->a = map.iova;
		r->b = map.size;
		r->c = map.vaddr;
		return sys_ret(ioctl(in->container, VFIO_IOMMU_MAP_DMA,
				     ptr_or_bad(t, &map)));
	}
	case 3:
	case 4: {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.iova = FZ_RAW_IOVA + (uint64_t)s * FZ_RAW_BUF,
			.size = FZ_RAW_BUF * (1 + rn(t, 2)),
		};

		if (chance(t, 10))
			unmap.flags = rnd_val(t) & 3;
		if (chance(t, 5))
			unmap.size = rnd_val(t);
		if (chance(t, 5))
			unmap.iova = rnd_val(t);
		r->a = unmap.iova;
		r->b = unmap.size;
		r->c = unmap.flags;
		return sys_ret(ioctl(in->container, VFIO_IOMMU_UNMAP_DMA,
				     ptr_or_bad(t, &unmap)));
	}
	default: {
		union {
			struct vfio_iommu_type1_info info;
			char buf[FZ_ARGBUF];
		} u = { .info.argsz = sizeof(u.info) };

		if (chance(t, 50))
			u.info.argsz = rnd_argsz(t);
		r->a = u.info.argsz;
		return sys_ret(ioctl(in->container, VFIO_IOMMU_GET_INFO,
				     ptr_or_bad(t, &u)));
	}
	}
}

static int op_efd_drain(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	uint64_t v;
	int i, n = 0;

	for (i = 0; i < FZ_NEFD; i++)
		if (read(t->efd[i], &v, sizeof(v)) == sizeof(v))
			n++;
	r->a = n;
	return n;
}

/* Invariants that hold whatever happened before. */
static int op_check(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	uint32_t v[8];
	uint16_t id[2];
	uint64_t vram;

	if (pread(in->fd, v, sizeof(v), in->reg_off[0]) != sizeof(v)) {
		fz_fail(t, "BAR0 read of 32 bytes at 0: %s", strerror(errno));
		return -errno;
	}
	vram = (uint64_t)v[3] << 32 | v[2];
	if (v[0] != MGPU_MAGIC || v[1] >> 16 != MGPU_VERSION_MAJOR ||
	    vram != in->vram || v[4] != in->nq)
		fz_fail(t, "identity registers: MAGIC %#x VERSION %#x VRAM %#" PRIx64
			" queues %u (expected %#x, %u.x, %#" PRIx64 ", %u)",
			v[0], v[1], vram, v[4], MGPU_MAGIC, MGPU_VERSION_MAJOR,
			in->vram, in->nq);
	if (pread(in->fd, id, sizeof(id),
		  in->reg_off[VFIO_PCI_CONFIG_REGION_INDEX]) != sizeof(id))
		fz_fail(t, "config read of the IDs: %s", strerror(errno));
	else if (id[0] != MGPU_PCI_VENDOR_ID || id[1] != MGPU_PCI_DEVICE_ID)
		fz_fail(t, "config IDs %04x:%04x", id[0], id[1]);
	return 0;
}

static int op_bad_ioctl(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	uint32_t buf[1024];
	unsigned long cmd = _IO(VFIO_TYPE, VFIO_BASE + rn(t, 40));

	/* a reset is an operation of its own */
	if (cmd == VFIO_DEVICE_RESET)
		cmd = _IO(VFIO_TYPE, VFIO_BASE + 100);
	if (chance(t, 20))
		cmd = (uint32_t)rnd(t) & ~0xff00U;	/* not a tty or fs ioctl */
	memset(buf, 0, sizeof(buf));
	/* argsz and flags of whatever structure it is: inside the buffer */
	buf[0] = rn(t, 512);
	buf[1] = chance(t, 50) ? 0 : rnd_val(t);
	r->a = cmd;
	r->b = buf[0];
	r->c = buf[1];
	return sys_ret(ioctl(in->fd, cmd, buf));
}

/* A second open of an open instance must fail with EBUSY. */
static int op_reopen_busy(struct fz_thread *t, struct fz_inst *in,
			  struct fz_rec *r)
{
	struct mgpu_dev *dev;
	int ret = mgpu_open_vfio(in->uuid, &dev);

	if (!ret) {
		fz_fail(t, "second open of %s succeeded", in->uuid);
		mgpu_close(dev);
		return 0;
	}
	/* while a removal is pending, the mdev's sysfs node is gone */
	if (ret != -EBUSY && !(ret == -ENOENT && READ_ONCE(in->removing)))
		fz_fail(t, "second open of %s: %s (%s), expected EBUSY",
			in->uuid, mgpu_strerror(ret), mgpu_last_error());
	return ret;
}

/* mprotect() and madvise() on a BAR2 mapping: raw page frames. */
static int op_mctl(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_WILLNEED, MADV_SEQUENTIAL, MADV_RANDOM,
		MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP, MADV_COLD,
		MADV_PAGEOUT, MADV_REMOVE, MADV_FREE, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_NOHUGEPAGE,
	};
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl), prot, ret;
	size_t pages, first, n;
	char *p;

	if (j < 0)
		return -ENOENT;
	pages = sl->map[j].len / fz_page;
	first = rn(t, pages);
	n = 1 + rn(t, pages - first);
	p = (char *)sl->map[j].addr + first * fz_page;
	if (rn(t, 2)) {
		prot = rn(t, 8);
		r->a = first;
		r->b = n;
		r->c = prot;
		ret = mprotect(p, n * fz_page, prot) ? -errno : 0;
		/* the mapping was made without VM_MAYEXEC */
		if (!ret && (prot & PROT_EXEC))
			fz_fail(t, "mprotect(PROT_EXEC) of a BAR2 mapping succeeded");
		return ret;
	}
	r->a = first;
	r->b = n;
	r->c = advice[rn(t, ARRAY_SIZE(advice))] | 1ULL << 32;
	return madvise(p, n * fz_page, (int)r->c) ? -errno : 0;
}

/* The instance's attributes, from another thread than its users. */
static int op_sysfs(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	static const char *const attrs[] = {
		"vram_size", "vram_offset", "queues", "queue_base", "busy_ns",
		"commands", "bytes", "flops", "errors", "resets", "weight",
		"cap",
	};
	unsigned int a = rn(t, ARRAY_SIZE(attrs));
	char path[256], buf[64];
	int fd, ret;

	snprintf(path, sizeof(path), FZ_SYSFS_MDEV "/%s/mgpu/%s", in->uuid,
		 attrs[a]);
	r->a = a;
	if (a >= 10 && chance(t, 40)) {
		/* weight 1..: mostly sane; cap mostly off (100), never 1-9 % */
		unsigned int v = a == 10 ? (chance(t, 80) ? 1 + rn(t, 16) :
					    (unsigned int)rnd_val(t)) :
					   (chance(t, 70) ? 100 : rn(t, 2) ? 0 :
					    10 + rn(t, 200));

		snprintf(buf, sizeof(buf), "%u", v);
		r->b = v;
		return write_file(path, buf);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read(fd, buf, sizeof(buf)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * A child inherits the BAR2 mappings (and the device fd), touches one and
 * exits: VMA copies and their teardown in another mm.
 */
static int op_fork(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl), status;
	unsigned char *p = NULL;
	pid_t pid;

	/* forks are slow under TCG: one in ten calls */
	if (!chance(t, 10))
		return -EAGAIN;
	if (j >= 0)
		p = (unsigned char *)sl->map[j].addr + rn(t, sl->map[j].len);
	r->a = (uintptr_t)p;
	pthread_rwlock_rdlock(&fz_fork_lock);
	pid = fork();
	if (pid < 0) {
		pthread_rwlock_unlock(&fz_fork_lock);
		return -errno;
	}
	if (!pid) {
		/* only async-signal-safe things in here */
		if (p && !fz_touch_page(p, true, 0x5a))
			_exit(3);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	pthread_rwlock_unlock(&fz_fork_lock);
	r->b = status;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

typedef int (*fz_fn)(struct fz_thread *, struct fz_inst *, struct fz_rec *);

static const fz_fn fz_fns[OP_NR] = {
	[OP_GET_INFO] = op_get_info, [OP_REGION_INFO] = op_region_info,
	[OP_IRQ_INFO] = op_irq_info, [OP_SET_IRQS] = op_set_irqs,
	[OP_RESET] = op_reset, [OP_CFG_READ] = op_cfg_read,
	[OP_CFG_WRITE] = op_cfg_write, [OP_BAR0_READ] = op_bar0_read,
	[OP_BAR0_WRITE] = op_bar0_write, [OP_BAR2_RW] = op_bar2_rw,
	[OP_REGION_RW] = op_region_rw, [OP_MMAP] = op_mmap,
	[OP_MUNMAP] = op_munmap, [OP_MREMAP] = op_mremap,
	[OP_TOUCH] = op_touch, [OP_QUEUE_OPEN] = op_queue_open,
	[OP_SUBMIT] = op_submit, [OP_SYNC] = op_sync,
	[OP_QUEUE_CLOSE] = op_queue_close, [OP_DMA_ALLOC] = op_dma_alloc,
	[OP_DMA_FREE] = op_dma_free, [OP_RAW_DMA] = op_raw_dma,
	[OP_EFD_DRAIN] = op_efd_drain, [OP_CHECK] = op_check,
	[OP_BAD_IOCTL] = op_bad_ioctl, [OP_REOPEN_BUSY] = op_reopen_busy,
	[OP_MCTL] = op_mctl, [OP_SYSFS] = op_sysfs, [OP_FORK] = op_fork,
};

static unsigned int fz_wsum;

static int pick_op(struct fz_thread *t)
{
	unsigned int x = rn(t, fz_wsum), i;

	for (i = 0; i < OP_NR; i++) {
		if (x < fz_weights[i])
			return i;
		x -= fz_weights[i];
	}
	return OP_CHECK;
}

static void *fuzz_thread(void *arg)
{
	struct fz_thread *t = arg;
	unsigned int i;

	fz_self = t;
	t->tid = gettid();
	for (i = 0; i < FZ_NEFD; i++)
		t->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->rawbuf = mmap(NULL, FZ_RAW_BUF, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	while (t->ops < t->budget && !READ_ONCE(fz_stop)) {
		struct fz_inst *in = &fz_inst[rn(t, fz_ninst)];
		/* a burst on one instance: the lock is not free under TCG */
		unsigned int burst = 1 + rn(t, 32), b;

		pthread_rwlock_rdlock(&in->lock);
		for (b = 0; b < burst && in->dev && t->ops < t->budget; b++) {
			int op = pick_op(t);
			struct fz_rec *r = op_begin(t, op, in - fz_inst, 0, 0, 0);

			op_end(t, r, fz_fns[op](t, in, r));
		}
		pthread_rwlock_unlock(&in->lock);
		if (!in->dev)
			usleep(1000);
		if (coarse_ns() > fz_deadline)
			break;
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Recycler: remove instances in use, close and reopen, recreate.        */

struct fz_remover {
	pthread_t th;
	char uuid[40];
	int ret;
};

static pid_t fz_remover_tid;

static void *remover(void *arg)
{
	struct fz_remover *rm = arg;

	WRITE_ONCE(fz_remover_tid, gettid());
	rm->ret = mdev_remove(rm->uuid);
	WRITE_ONCE(fz_remover_tid, 0);
	return NULL;
}

static int inst_recreate(struct fz_thread *t, struct fz_inst *in)
{
	unsigned int i, first = rn(t, 4);
	int ret = -ENOSPC;

	for (i = 0; i < 4; i++) {
		const char *type = fz_types[(first + i) % 4];

		new_uuid(t, in->uuid);
		ret = mdev_create(type, in->uuid);
		if (!ret) {
			in->type = type;
			break;
		}
	}
	if (ret)
		return ret;
	return inst_open(in);
}

static int recycle_one(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	struct fz_remover rm = { .ret = 0 };
	unsigned int how = rn(t, 4);
	int ret = 0;

	r->a = how;
	if (how == 0) {
		/* close and reopen: a new user of the same instance */
		pthread_rwlock_wrlock(&in->lock);
		inst_close(in);
		ret = inst_open(in);
		pthread_rwlock_unlock(&in->lock);
		return ret;
	}
	if (how == 1 || !in->dev) {
		/* remove while closed, recreate */
		pthread_rwlock_wrlock(&in->lock);
		inst_close(in);
		ret = mdev_remove(in->uuid);
		if (!ret || ret == -ENOENT)
			ret = inst_recreate(t, in);
		pthread_rwlock_unlock(&in->lock);
		return ret;
	}
	/*
	 * Remove while open and in use: the write blocks until the device
	 * is closed (the REQ interrupt asks for it), the other threads go
	 * on meanwhile.
	 */
	snprintf(rm.uuid, sizeof(rm.uuid), "%s", in->uuid);
	WRITE_ONCE(in->removing, true);
	if (pthread_create(&rm.th, NULL, remover, &rm)) {
		WRITE_ONCE(in->removing, false);
		return -EAGAIN;
	}
	usleep(rn(t, 50000));
	pthread_rwlock_wrlock(&in->lock);
	inst_close(in);
	pthread_join(rm.th, NULL);
	ret = rm.ret;
	WRITE_ONCE(in->removing, false);
	if (ret)
		fz_fail(t, "remove of %s while open: %s", rm.uuid, strerror(-ret));
	ret = inst_recreate(t, in);
	pthread_rwlock_unlock(&in->lock);
	return ret;
}

static void *recycle_thread(void *arg)
{
	struct fz_thread *t = arg;

	fz_self = t;
	t->tid = gettid();
	while (!READ_ONCE(fz_stop) && coarse_ns() < fz_deadline) {
		struct fz_inst *in = &fz_inst[rn(t, fz_ninst)];
		struct fz_rec *r;
		int ret;

		usleep(300000 + rn(t, 900000));
		if (READ_ONCE(fz_stop))
			break;
		r = op_begin(t, OP_RECYCLE, in - fz_inst, 0, 0, 0);
		ret = recycle_one(t, in, r);
		op_end(t, r, ret);
		if (ret)
			fz_fail(t, "recycle %" PRIu64 " (how %" PRIu64
				") of instance %ld (%s): %s (%s)", r->n, r->a,
				(long)(in - fz_inst), in->uuid, strerror(-ret),
				mgpu_last_error());
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (fz_jb)
		siglongjmp(*fz_jb, 1);
	/* our own bug, or the kernel's: say where, with the seed */
	printf("# signal %d at %p in thread %d, seed %" PRIu64 "\n", sig,
	       si->si_addr, fz_self ? fz_self->id : -1, fz_seed);
	if (fz_self)
		dump_history(fz_self);
	printf("not ok 1 crashed with signal %d (seed %" PRIu64 ")\n", sig,
	       fz_seed);
	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Where a thread of ours sits in the kernel: /proc/self/task/TID/stack. */
static void print_kstack(const char *who, pid_t tid)
{
	char path[64], line[256];
	FILE *f;

	if (tid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tid);
	f = fopen(path, "r");
	if (!f)
		return;
	printf("# kernel stack of %s (tid %d):\n", who, tid);
	while (fgets(line, sizeof(line), f))
		printf("#   %s", line);
	fclose(f);
}

static void watchdog_fire(unsigned int i, uint64_t secs)
{
	unsigned int j;
	char who[32];
	int fd;

	pthread_mutex_lock(&fz_out_lock);
	printf("# watchdog: thread %u stuck for %" PRIu64 " s in %s\n", i, secs,
	       fz_op_names[READ_ONCE(fz_thr[i].cur_op)]);
	printf("# replay: mgpu_vfio_fuzz --seed %" PRIu64 " --ops %" PRIu64
	       " --threads %u\n", fz_seed, fz_total_ops, fz_nthreads);
	for (j = 0; j <= fz_nthreads; j++)
		dump_history(&fz_thr[j]);
	for (j = 0; j <= fz_nthreads; j++) {
		if (!READ_ONCE(fz_thr[j].op_start))
			continue;
		snprintf(who, sizeof(who), "thread %u", j);
		print_kstack(who, fz_thr[j].tid);
	}
	print_kstack("the remover", READ_ONCE(fz_remover_tid));
	/* and every blocked task, into the kernel log (sysrq w) */
	fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "w", 1) < 0)
			printf("# sysrq w: %s\n", strerror(errno));
		close(fd);
	}
	printf("not ok 1 watchdog: an operation hung (seed %" PRIu64 ")\n",
	       fz_seed);
	fflush(stdout);
	_exit(1);
}

/* Busy and total jiffies of all CPUs, from /proc/stat. */
static void cpu_jiffies(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	*busy = *total = 0;
	if (!f)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
		*busy = *total - v[3] - v[4];
	}
	fclose(f);
}

static void fz_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--ops N] [--threads N] [--time S]\n"
		"\t[--parent NAME] [--instances N] [--no-recycle] [-v]\n", prog);
	exit(2);
}

static bool have_parent(void)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), FZ_SYSFS_CLASS "/%s/mdev_supported_types",
		 fz_parent);
	return !stat(path, &st);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' },
		{ "time", required_argument, NULL, 'T' },
		{ "parent", required_argument, NULL, 'p' },
		{ "instances", required_argument, NULL, 'i' },
		{ "no-recycle", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	pthread_rwlockattr_t rwattr;
	struct fz_thread *rec;
	uint64_t start, last, total = 0, s, busy0, total0, busy1, total1;
	unsigned int i, j, n, failed = 0, nfails = 0;
	bool seeded = false, joined[FZ_MAX_THREADS] = { false };
	double secs;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:o:t:T:p:i:nv", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			fz_seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'o':
			fz_total_ops = strtoull(optarg, NULL, 0);
			break;
		case 't':
			fz_nthreads = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			fz_time = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			fz_parent = optarg;
			break;
		case 'i':
			fz_ninst = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			fz_recycle = false;
			break;
		case 'v':
			fz_verbose++;
			break;
		default:
			fz_usage(argv[0]);
		}
	}
	if (!fz_nthreads || fz_nthreads > FZ_MAX_THREADS || !fz_ninst ||
	    fz_ninst > FZ_MAX_INST)
		fz_usage(argv[0]);
	if (!seeded)
		fz_seed = now_ns() ^ ((uint64_t)getpid() << 32);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fz_page = sysconf(_SC_PAGESIZE);
	for (i = 0; i < OP_NR; i++)
		fz_wsum += fz_weights[i];

	n = 3 + fz_nthreads;
	printf("TAP version 13\n");
	printf("# seed: %" PRIu64 "\n", fz_seed);
	printf("# replay: mgpu_vfio_fuzz --seed %" PRIu64 " --ops %" PRIu64
	       " --threads %u --instances %u%s\n", fz_seed, fz_total_ops,
	       fz_nthreads, fz_ninst, fz_recycle ? "" : " --no-recycle");
	printf("1..%u\n", n);

	if (!have_parent()) {
		printf("ok 1 setup # SKIP no parent %s (mgpu not loaded?)\n",
		       fz_parent);
		for (i = 2; i <= n; i++)
			printf("ok %u skipped # SKIP no parent\n", i);
		return 4;
	}
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);

	/* Per-thread streams; the last one is the recycler's. */
	s = fz_seed;
	for (i = 0; i <= fz_nthreads; i++) {
		fz_thr[i].id = i;
		fz_thr[i].rng = splitmix(&s) | 1;
		fz_thr[i].budget = fz_total_ops / fz_nthreads +
				   (i < fz_total_ops % fz_nthreads);
	}
	rec = &fz_thr[fz_nthreads];

	/* The recycler must get in between the fuzzers' bursts. */
	pthread_rwlockattr_init(&rwattr);
	pthread_rwlockattr_setkind_np(&rwattr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);

	/* Setup: instances of mixed types. */
	for (i = 0; i < fz_ninst; i++) {
		struct fz_inst *in = &fz_inst[i];

		pthread_rwlock_init(&in->lock, &rwattr);
		in->fd = in->container = -1;
		ret = -ENOSPC;
		for (j = 0; j < 4 && ret; j++) {
			in->type = fz_types[(i + j) % 4];
			new_uuid(rec, in->uuid);
			ret = mdev_create(in->type, in->uuid);
		}
		if (!ret)
			ret = inst_open(in);
		if (ret) {
			printf("# instance %u (%s): %s %s\n", i, in->uuid,
			       mgpu_strerror(ret), mgpu_last_error());
			printf("not ok 1 setup: %u instances\n", fz_ninst);
			return 1;
		}
		printf("# instance %u: %s %s, %" PRIu64 " MiB VRAM, %u queues\n",
		       i, in->type, in->uuid, in->vram >> 20, in->nq);
	}
	printf("ok 1 setup: %u instances\n", fz_ninst);

	cpu_jiffies(&busy0, &total0);
	start = coarse_ns();
	fz_deadline = start + (uint64_t)fz_time * 1000000000ULL;
	for (i = 0; i < fz_nthreads; i++)
		pthread_create(&fz_thr[i].th, NULL, fuzz_thread, &fz_thr[i]);
	if (fz_recycle)
		pthread_create(&rec->th, NULL, recycle_thread, rec);

	/* Watchdog and progress, until the fuzzers are done. */
	last = start;
	for (;;) {
		bool running = false;
		uint64_t now;

		usleep(250000);
		now = coarse_ns();
		for (i = 0; i <= fz_nthreads; i++) {
			uint64_t st = READ_ONCE(fz_thr[i].op_start);

			if (st && now > st && now - st > FZ_HANG_SECS * 1000000000ULL)
				watchdog_fire(i, (now - st) / 1000000000ULL);
		}
		/*
		 * Once only per thread: a joined thread's descriptor (and
		 * stack) is reused for the next thread, the remover, which
		 * a second join would steal from the recycler.
		 */
		for (i = 0; i < fz_nthreads; i++) {
			if (joined[i])
				continue;
			if (pthread_tryjoin_np(fz_thr[i].th, NULL) == EBUSY)
				running = true;
			else
				joined[i] = true;
		}
		if (!running)
			break;
		if (fz_verbose || now - last >= 10000000000ULL) {
			for (total = 0, i = 0; i < fz_nthreads; i++)
				total += READ_ONCE(fz_thr[i].ops);
			fz_log("# %.1f s: %" PRIu64 " operations, %" PRIu64
			       " recycles\n", (now - start) / 1e9, total,
			       READ_ONCE(rec->ops));
			last = now;
		}
	}
	WRITE_ONCE(fz_stop, true);
	if (fz_recycle) {
		/* the watchdog still covers the recycler's last round */
		while (pthread_tryjoin_np(rec->th, NULL) == EBUSY) {
			uint64_t st = READ_ONCE(rec->op_start), now = coarse_ns();

			if (st && now - st > FZ_HANG_SECS * 1000000000ULL)
				watchdog_fire(fz_nthreads, (now - st) / 1000000000ULL);
			usleep(100000);
		}
	}

	/* Results, one line per thread. */
	for (i = 0, total = 0; i < fz_nthreads; i++)
		total += fz_thr[i].ops;
	for (i = 0; i <= fz_nthreads; i++) {
		struct fz_thread *t = &fz_thr[i];
		bool is_rec = i == fz_nthreads;

		for (j = 0; j < t->nfails && j < FZ_MAX_FAILS; j++)
			printf("# thread %u: %s\n", i, t->fails[j]);
		if (t->nfails > FZ_MAX_FAILS)
			printf("# thread %u: ... %u failures in all\n", i,
			       t->nfails);
		if (t->nfails)
			dump_history(t);
		if (fz_verbose || t->nfails) {
			for (j = 0; j < OP_ALL; j++)
				if (t->count[j])
					printf("#   %-12s %8" PRIu64 " calls %8" PRIu64
					       " ok\n", fz_op_names[j], t->count[j],
					       t->okcount[j]);
		}
		if (is_rec)
			printf("%sok %u recycler: %" PRIu64 " remove/reopen rounds%s\n",
			       t->nfails ? "not " : "", 2 + i, t->ops,
			       fz_recycle ? "" : " # SKIP --no-recycle");
		else
			printf("%sok %u thread %u: %" PRIu64 " operations, %" PRIu64
			       " faults\n", t->nfails ? "not " : "", 2 + i, i,
			       t->ops, t->faults);
		failed += !!t->nfails;
		nfails += t->nfails;
	}

	/* Teardown: every instance still answers, then goes. */
	ret = 0;
	for (i = 0; i < fz_ninst; i++) {
		struct fz_inst *in = &fz_inst[i];
		struct fz_thread *t = rec;
		unsigned int before = t->nfails;

		if (in->dev) {
			struct fz_rec r = { 0 };

			op_check(t, in, &r);
			inst_close(in);
		}
		if (t->nfails != before)
			ret = -EIO;
		c = mdev_remove(in->uuid);
		if (c) {
			printf("# remove of %s: %s\n", in->uuid, strerror(-c));
			ret = ret ? ret : c;
		}
	}
	secs = (coarse_ns() - start) / 1e9;
	cpu_jiffies(&busy1, &total1);
	/* idle guest CPUs: threads waiting; none: the host is the limit */
	if (total1 > total0)
		printf("# guest CPUs %.0f%% busy during the run\n",
		       100.0 * (busy1 - busy0) / (total1 - total0));
	printf("# %" PRIu64 " operations in %.1f s (%.0f/s), seed %" PRIu64 "\n",
	       total, secs, secs > 0 ? total / secs : 0, fz_seed);
	if (total < fz_total_ops)
		printf("# stopped by --time %u s before --ops %" PRIu64 "\n",
		       fz_time, fz_total_ops);
	printf("%sok %u teardown: identity intact, instances removed\n",
	       ret ? "not " : "", n);
	if (failed || ret)
		printf("# FAILED: replay with --seed %" PRIu64 " --ops %" PRIu64
		       " --threads %u\n", fz_seed, fz_total_ops, fz_nthreads);
	return failed || ret ? 1 : 0;
}
