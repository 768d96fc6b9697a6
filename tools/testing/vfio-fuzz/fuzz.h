/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgpu_vfio_fuzz: what its files share (see main.c for the program).
 *   main.c       options, setup, records, the watchdog, main()
 *   ops_dev.c    operations on the device: ioctls, regions, config
 *                space, BARs, mappings
 *   ops_queue.c  operations on queues, commands, DMA and sysfs; the
 *                fuzzing and recycling threads
 *   ops_mig.c    live migration sessions (state machine, data fds)
 */
#ifndef _MGPU_VFIO_FUZZ_H
#define _MGPU_VFIO_FUZZ_H

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
/* mdev parents by name (a parent's PCI address) */
#define FZ_SYSFS_CLASS		"/sys/class/mdev_bus"
#define FZ_PCI_DOMAIN		"/sys/module/mgpu/parameters/pci_domain"
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
	OP_MIGRATE,
	OP_NR,
	/* recycler only */
	OP_RECYCLE = OP_NR,
	OP_ALL,
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

extern struct fz_thread fz_thr[FZ_MAX_THREADS + 1];	/* last: recycler */
/* The weights' sum (ops_queue.c) and the remover's thread (main.c). */
extern unsigned int fz_wsum;
extern pid_t fz_remover_tid;
/*
 * A fork child inherits every device fd and mapping of the process until
 * it exits: a close and reopen meanwhile would find the group busy.  Forks
 * hold fz_fork_lock for reading, opens and closes for writing.
 */

extern uint64_t fz_seed;
extern uint64_t fz_total_ops;
extern unsigned int fz_nthreads;
extern unsigned int fz_ninst;
extern unsigned int fz_time;
extern bool fz_recycle;
extern int fz_verbose;
extern const char *fz_parent;
extern struct fz_inst fz_inst[FZ_MAX_INST];
extern bool fz_stop;
extern uint64_t fz_deadline;
extern pthread_mutex_t fz_out_lock;
extern long fz_page;
extern pthread_rwlock_t fz_fork_lock;
extern __thread sigjmp_buf *fz_jb;
extern __thread struct fz_thread *fz_self;
extern const char *const fz_op_names[OP_ALL];
extern const unsigned int fz_weights[OP_NR];
extern const char *const fz_types[4];

uint64_t clock_ns(clockid_t clk);
uint64_t now_ns(void);
uint64_t coarse_ns(void);
uint64_t splitmix(uint64_t *s);
uint64_t rnd(struct fz_thread *t);
uint64_t rn(struct fz_thread *t, uint64_t n);
bool chance(struct fz_thread *t, unsigned int pct);
bool bad(struct fz_thread *t, unsigned int pct);
uint64_t rnd_val(struct fz_thread *t);
uint32_t rnd_argsz(struct fz_thread *t);
void fz_fail(struct fz_thread *t, const char *fmt, ...);
void fz_log(const char *fmt, ...);
struct fz_rec *op_begin(struct fz_thread *t, int op, int inst, uint64_t a, uint64_t b, uint64_t c);
void op_end(struct fz_thread *t, struct fz_rec *r, int ret);
void dump_history(struct fz_thread *t);
int write_file(const char *path, const char *val);
void new_uuid(struct fz_thread *t, char *buf);
int mdev_create(const char *type, const char *uuid);
int mdev_remove(const char *uuid);
int find_container(void);
int inst_open(struct fz_inst *in);
void inst_close(struct fz_inst *in);
void on_fault(int sig, siginfo_t *si, void *uc);
void print_kstack(const char *who, pid_t tid);
void watchdog_fire(unsigned int i, uint64_t secs);
void cpu_jiffies(uint64_t *busy, uint64_t *total);
void fz_usage(const char *prog);
bool have_parent(void);
void *ptr_or_bad(struct fz_thread *t, void *good);
int sys_ret(long r);
int op_get_info(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_region_info(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_irq_info(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int rnd_fd(struct fz_thread *t, struct fz_inst *in);
int op_set_irqs(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_reset(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
unsigned int rnd_width(struct fz_thread *t);
int region_rw(struct fz_thread *t, struct fz_inst *in, unsigned int idx, uint64_t off, unsigned int len, bool write, void *buf);
uint64_t rnd_off(struct fz_thread *t, uint64_t size, unsigned int w);
int op_cfg_read(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_cfg_write(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
uint64_t rnd_reg(struct fz_thread *t, struct fz_inst *in);
int op_bar0_read(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_bar0_write(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
uint64_t rnd_vram(struct fz_thread *t, struct fz_inst *in);
int op_bar2_rw(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_region_rw(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
bool fz_touch_page(unsigned char *p, bool write, unsigned char v);
int op_mmap(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int pick_map(struct fz_thread *t, struct fz_slot *sl);
int op_munmap(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_mremap(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_touch(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_queue_open(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
uint64_t rnd_sysmem(struct fz_thread *t, struct fz_inst *in, struct fz_slot *sl, uint64_t len);
uint64_t rnd_addr(struct fz_thread *t, struct fz_inst *in, struct fz_slot *sl, uint64_t len, bool sysmem, unsigned int align);
uint64_t rnd_len(struct fz_thread *t);
void gen_cmd(struct fz_thread *t, struct fz_inst *in, struct fz_slot *sl, struct mgpu_cmd *c);
void check_qerror(struct fz_thread *t, struct fz_slot *sl);
int op_submit(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_sync(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_queue_close(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_dma_alloc(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_dma_free(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_raw_dma(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_efd_drain(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_check(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_bad_ioctl(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_reopen_busy(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_mctl(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_sysfs(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_fork(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int op_migrate(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
int pick_op(struct fz_thread *t);
void *fuzz_thread(void *arg);
void *remover(void *arg);
int inst_recreate(struct fz_thread *t, struct fz_inst *in);
int recycle_one(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r);
void *recycle_thread(void *arg);

void fz_enable(struct fz_inst *in);

#endif /* _MGPU_VFIO_FUZZ_H */
