// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu_vfio_fuzz: drive mgpu vGPUs through VFIO with random operations
 * from several threads, and check that the kernel survives and that the
 * device keeps its contract.
 *
 * usage: mgpu_vfio_fuzz [--seed N] [--ops N] [--threads N] [--time S]
 *			 [--parent NAME] [--instances N] [--no-recycle] [-v]
 *   (--time defaults to 100 s, or MGPU_VFIO_FUZZ_TIME from the environment)
 *
 * The parent: --parent, else $MGPU_TEST_PARENT, else the first software
 * GPU (DDDD:00:00.0, DDDD the domain of mgpu's pci_domain parameter).
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
#include "fuzz.h"

const char *const fz_op_names[OP_ALL] = {
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
	[OP_FORK] = "fork", [OP_MIGRATE] = "migrate",
	[OP_RECYCLE] = "recycle",
};
const unsigned int fz_weights[OP_NR] = {
	[OP_GET_INFO] = 4, [OP_REGION_INFO] = 4, [OP_IRQ_INFO] = 4,
	[OP_SET_IRQS] = 6, [OP_RESET] = 1, [OP_CFG_READ] = 6,
	[OP_CFG_WRITE] = 6, [OP_BAR0_READ] = 8, [OP_BAR0_WRITE] = 6,
	[OP_BAR2_RW] = 4, [OP_REGION_RW] = 3, [OP_MMAP] = 2,
	[OP_MUNMAP] = 2, [OP_MREMAP] = 1, [OP_TOUCH] = 8,
	[OP_QUEUE_OPEN] = 2, [OP_SUBMIT] = 8, [OP_SYNC] = 2,
	[OP_QUEUE_CLOSE] = 1, [OP_DMA_ALLOC] = 2, [OP_DMA_FREE] = 1,
	[OP_RAW_DMA] = 3, [OP_EFD_DRAIN] = 1, [OP_CHECK] = 4,
	[OP_BAD_IOCTL] = 1, [OP_REOPEN_BUSY] = 1, [OP_MCTL] = 1,
	[OP_SYSFS] = 2, [OP_FORK] = 1, [OP_MIGRATE] = 1,
};
const char *const fz_types[4] = {
	"mgpu-1_2", "mgpu-1_4", "mgpu-1_8", "mgpu-1_16",
};

uint64_t fz_seed;
uint64_t fz_total_ops = 1000000;
unsigned int fz_nthreads = 4;
unsigned int fz_ninst = 4;
unsigned int fz_time = 100;
bool fz_recycle = true;
int fz_verbose;
const char *fz_parent;	/* --parent, $MGPU_TEST_PARENT, default_parent() */
struct fz_inst fz_inst[FZ_MAX_INST];
struct fz_thread fz_thr[FZ_MAX_THREADS + 1];	/* last: recycler */
bool fz_stop;
uint64_t fz_deadline;
pthread_mutex_t fz_out_lock = PTHREAD_MUTEX_INITIALIZER;
long fz_page;
pthread_rwlock_t fz_fork_lock = PTHREAD_RWLOCK_INITIALIZER;
__thread sigjmp_buf *fz_jb;
__thread struct fz_thread *fz_self;
/* ---------------------------------------------------------------------- */

uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/*
 * For the per-operation bookkeeping (watchdog, deadline): jiffies
 * resolution is plenty, and a TCG guest often has no usable TSC, where
 * CLOCK_MONOTONIC reads the HPET or the PM timer: an exit to QEMU each.
 */
uint64_t coarse_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xorshift64*: one stream per thread */
uint64_t rnd(struct fz_thread *t)
{
	uint64_t x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t rn(struct fz_thread *t, uint64_t n)
{
	return n ? rnd(t) % n : 0;
}

bool chance(struct fz_thread *t, unsigned int pct)
{
	return rn(t, 100) < pct;
}

/* A chance of an invalid input: never in a clean command batch. */
bool bad(struct fz_thread *t, unsigned int pct)
{
	return !t->clean && chance(t, pct);
}

/* A value that often sits on a boundary. */
uint64_t rnd_val(struct fz_thread *t)
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
uint32_t rnd_argsz(struct fz_thread *t)
{
	return chance(t, 50) ? rn(t, 64) : rn(t, FZ_ARGBUF + 1);
}

void fz_fail(struct fz_thread *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nfails < FZ_MAX_FAILS) {
		va_start(ap, fmt);
		vsnprintf(t->fails[t->nfails], sizeof(t->fails[0]), fmt, ap);
		va_end(ap);
	}
	t->nfails++;
}

void fz_log(const char *fmt, ...)
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
struct fz_rec *op_begin(struct fz_thread *t, int op, int inst,
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

void op_end(struct fz_thread *t, struct fz_rec *r, int ret)
{
	WRITE_ONCE(t->op_start, 0);
	r->ret = ret;
	if (ret >= 0)
		t->okcount[r->op]++;
	t->ops++;
}

void dump_history(struct fz_thread *t)
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

int write_file(const char *path, const char *val)
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

void new_uuid(struct fz_thread *t, char *buf)
{
	uint64_t a = rnd(t), b = rnd(t);

	/* version 4, variant 1; from the seed, so that replays match */
	snprintf(buf, 37, "%08x-%04x-4%03x-%04x-%012" PRIx64,
		 (unsigned int)(a >> 32), (unsigned int)(a >> 16) & 0xffff,
		 (unsigned int)a & 0xfff,
		 (unsigned int)(0x8000 | ((b >> 48) & 0x3fff)),
		 (uint64_t)(b & 0xffffffffffffULL));
}

int mdev_create(const char *type, const char *uuid)
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

int mdev_remove(const char *uuid)
{
	char path[256];

	snprintf(path, sizeof(path), FZ_SYSFS_MDEV "/%s/remove", uuid);
	return write_file(path, "1");
}

/* The container fd that the latest mgpu_open_vfio() opened: not ours. */
int find_container(void)
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
int inst_open(struct fz_inst *in)
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
void inst_close(struct fz_inst *in)
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

void on_fault(int sig, siginfo_t *si, void *uc)
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
void print_kstack(const char *who, pid_t tid)
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

void watchdog_fire(unsigned int i, uint64_t secs)
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
void cpu_jiffies(uint64_t *busy, uint64_t *total)
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

void fz_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--ops N] [--threads N] [--time S]\n"
		"\t[--parent NAME] [--instances N] [--no-recycle] [-v]\n", prog);
	exit(2);
}

/* The first software GPU: slot 0 of mgpu's PCI domain. */
static const char *default_parent(void)
{
	static char name[16];
	unsigned long domain = 0x6d67;
	char buf[32];
	FILE *f;

	f = fopen(FZ_PCI_DOMAIN, "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			domain = strtoul(buf, NULL, 0);
		fclose(f);
	}
	snprintf(name, sizeof(name), "%04lx:00:00.0", domain & 0xffff);
	return name;
}

bool have_parent(void)
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
	bool seeded = false, time_set = false;
	bool joined[FZ_MAX_THREADS] = { false };
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
			time_set = true;
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
	/* make check's knob for the debug kernel (scripts/ci.sh). */
	if (!time_set && getenv("MGPU_VFIO_FUZZ_TIME"))
		fz_time = strtoul(getenv("MGPU_VFIO_FUZZ_TIME"), NULL, 0);
	if (!fz_parent)
		fz_parent = getenv("MGPU_TEST_PARENT");
	if (!fz_parent || !*fz_parent)
		fz_parent = default_parent();
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
