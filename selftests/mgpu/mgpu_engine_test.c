// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport).
 *
 * Every command against a CPU reference (NOP, FENCE, COPY, FILL,
 * TIMESTAMP, fp32 and int8 GEMM), fence ordering on one and on several
 * queues, MSI and INTx delivery, DMA to mapped and unmapped IOVAs, error
 * isolation (queue, instance, neighbour instance) and recovery, the
 * watchdog, reset while busy (VFIO_DEVICE_RESET and FLR), unmapping DMA
 * memory under a running COPY, closing the device with work queued, and
 * trap-free (TAIL_POLL) and system-memory rings.
 *
 * Each test creates its own instances on swgpu0 and removes them in a
 * FIXTURE_TEARDOWN_PARENT(), which runs even when the test fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "libmgpu.h"
#include "mgpu_test.h"

#define ENG_PARENT	"swgpu0"
#define ENG_CLASS	"/sys/class/mgpu"
#define ENG_MDEV	"/sys/bus/mdev/devices"
#define ENG_BUDGET	"/sys/module/mgpu/parameters/cmd_budget_ms"
#define ENG_MAX_INST	4
#define ENG_UUID_BUF	40
#define KiB		1024ULL
#define MiB		(1024ULL * 1024)
#define ENG_STEP	(256 * KiB)	/* COPY/FILL engine step */
#define ENG_TIMEOUT_MS	20000

/* ---------------------------------------------------------------------- */
/* sysfs: instances                                                       */

struct eng_instances {
	int n;
	char uuid[ENG_MAX_INST][ENG_UUID_BUF];
};

static long eng_read_long(const char *path)
{
	char buf[64];
	int ret;

	ret = mgpu_test_read_attr(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	return strtol(buf, NULL, 0);
}

static long eng_available(const char *type)
{
	char path[256];

	snprintf(path, sizeof(path), ENG_CLASS "/" ENG_PARENT
		 "/mdev_supported_types/%s/available_instances", type);
	return eng_read_long(path);
}

static long eng_instance_attr(const char *uuid, const char *attr)
{
	char path[256];

	snprintf(path, sizeof(path), ENG_MDEV "/%s/mgpu/%s", uuid, attr);
	return eng_read_long(path);
}

/* Create an instance of @type with a random UUID, recorded in @l. */
static int eng_create(struct eng_instances *l, const char *type, char *uuid)
{
	char path[256];
	int ret;

	if (l->n >= ENG_MAX_INST)
		return -ENOSPC;
	ret = mgpu_test_read_attr("/proc/sys/kernel/random/uuid", uuid, ENG_UUID_BUF);
	if (ret < 0)
		return ret;
	/* Record first: teardown removes it even if create half failed. */
	memcpy(l->uuid[l->n], uuid, ENG_UUID_BUF);
	snprintf(path, sizeof(path), ENG_CLASS "/" ENG_PARENT
		 "/mdev_supported_types/%s/create", type);
	ret = mgpu_test_write_attr(path, uuid);
	snprintf(path, sizeof(path), ENG_MDEV "/%s", uuid);
	if (!ret || !access(path, F_OK))
		l->n++;
	return ret;
}

static void eng_remove_all(struct eng_instances *l)
{
	char path[256];

	while (l->n > 0) {
		l->n--;
		snprintf(path, sizeof(path), ENG_MDEV "/%s/remove",
			 l->uuid[l->n]);
		if (!access(path, F_OK) && mgpu_test_write_attr(path, "1"))
			fprintf(stderr, "# cannot remove instance %s\n",
				l->uuid[l->n]);
	}
}

/*
 * What every fixture holds: the instances it created (in shared memory,
 * for the teardown in the parent) and the devices it opened (only valid
 * in the test process).
 */
struct eng_base {
	struct eng_instances inst;
	struct mgpu_dev *dev[ENG_MAX_INST];
	char uuid[ENG_MAX_INST][ENG_UUID_BUF];
};

static void eng_close_all(struct eng_base *b)
{
	int i;

	for (i = 0; i < ENG_MAX_INST; i++) {
		mgpu_close(b->dev[i]);
		b->dev[i] = NULL;
	}
}

/* Skip unless the module and the parent are there with room for @type. */
static bool eng_can_create(struct __test_metadata *_metadata,
			   const char *type, long need)
{
	long avail;

	if (access(ENG_CLASS, F_OK))
		SKIP(return false, "mgpu.ko not loaded (no %s)", ENG_CLASS);
	if (access(ENG_CLASS "/" ENG_PARENT, F_OK))
		SKIP(return false, "no parent %s", ENG_PARENT);
	if (access("/dev/vfio/vfio", F_OK))
		SKIP(return false, "no /dev/vfio/vfio");
	avail = eng_available(type);
	if (avail < need)
		SKIP(return false, "%s: room for %ld %s instance(s), need %ld",
		     ENG_PARENT, avail, type, need);
	return true;
}

/*
 * Create instance @i of @type and (if @open) open it through libmgpu.
 * On failure everything of @b is closed and removed before the assert, so
 * a failed setup (which gets no teardown) leaks nothing.
 */
static void eng_instance(struct __test_metadata *_metadata,
			 struct eng_base *b, int i, const char *type,
			 bool open_it)
{
	int ret;

	ret = eng_create(&b->inst, type, b->uuid[i]);
	if (!ret && open_it) {
		ret = mgpu_open_vfio(b->uuid[i], &b->dev[i]);
		if (ret)
			TH_LOG("mgpu_open_vfio(%s): %s: %s", b->uuid[i],
			       mgpu_strerror(ret), mgpu_last_error());
	} else if (ret) {
		TH_LOG("create %s: %s", type, strerror(-ret));
	}
	if (ret) {
		eng_close_all(b);
		eng_remove_all(&b->inst);
	}
	ASSERT_EQ(0, ret);
}

/* ---------------------------------------------------------------------- */
/* Small helpers                                                          */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

static uint32_t rd(struct mgpu_dev *dev, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	mgpu_reg_read(dev, off, &v);
	return v;
}

static void wr(struct mgpu_dev *dev, uint32_t off, uint32_t val)
{
	mgpu_reg_write(dev, off, val);
}

static uint32_t qrd(struct mgpu_dev *dev, unsigned int q, uint32_t reg)
{
	return rd(dev, MGPU_REG_QUEUE(q) + reg);
}

static void qwr(struct mgpu_dev *dev, unsigned int q, uint32_t reg,
		uint32_t val)
{
	wr(dev, MGPU_REG_QUEUE(q) + reg, val);
}

static uint64_t q_completed(struct mgpu_dev *dev, unsigned int q)
{
	return (uint64_t)qrd(dev, q, MGPU_Q_COMPLETED_HI) << 32 |
	       qrd(dev, q, MGPU_Q_COMPLETED_LO);
}

static uint64_t load64(const void *p)
{
	return __atomic_load_n((const volatile uint64_t *)p, __ATOMIC_ACQUIRE);
}

/* xorshift64*: reproducible data; the seed is logged on failure. */
static uint64_t rnd_state;

static void rnd_seed(uint64_t seed)
{
	rnd_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static void rnd_fill(void *p, size_t len)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)rnd();
}

static uint64_t vram_get(struct __test_metadata *_metadata,
		       struct mgpu_dev *dev, uint64_t size, uint64_t align)
{
	uint64_t off = 0;
	int ret;

	ret = mgpu_vram_alloc(dev, size, align, &off);
	ASSERT_EQ(0, ret) TH_LOG("mgpu_vram_alloc(%llu): %s",
				 (unsigned long long)size,
				 mgpu_strerror(ret));
	return off;
}

static void *vptr(struct mgpu_dev *dev, uint64_t off)
{
	return mgpu_vram_ptr(dev, off);
}

static struct mgpu_queue *qopen(struct __test_metadata *_metadata,
				struct mgpu_dev *dev, unsigned int index,
				unsigned int entries, unsigned int flags)
{
	struct mgpu_queue *q = NULL;
	int ret;

	ret = mgpu_queue_open(dev, index, entries, flags, &q);
	ASSERT_EQ(0, ret) TH_LOG("mgpu_queue_open(%u, %u, %#x): %s: %s",
				 index, entries, flags, mgpu_strerror(ret),
				 mgpu_last_error());
	mgpu_queue_set_timeout(q, ENG_TIMEOUT_MS);
	return q;
}

/* Submit and wait for everything: 0 or libmgpu's error. */
static int run(struct mgpu_queue *q, const struct mgpu_cmd *cmds,
	       unsigned int n)
{
	int ret = mgpu_submit(q, cmds, n);

	return ret ? ret : mgpu_queue_sync(q, ENG_TIMEOUT_MS);
}

#define ASSERT_RUN(_q, _cmds, _n) do {					\
	int __r = run(_q, _cmds, _n);					\
	uint32_t __code = 0, __head = 0;				\
	if (__r)							\
		mgpu_queue_error(_q, &__code, &__head);			\
	ASSERT_EQ(0, __r) TH_LOG("run: %s; queue error %s at %u",	\
				 mgpu_strerror(__r),			\
				 mgpu_queue_error_str(__code), __head);	\
} while (0)

/* Wait until queue @q of @dev stops with an error (or @ms pass). */
static bool wait_queue_error(struct mgpu_dev *dev, unsigned int q,
			     unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	do {
		if (qrd(dev, q, MGPU_Q_STATUS) & MGPU_QSTAT_ERROR)
			return true;
		usleep(200);
	} while (now_ms() < end);
	return false;
}

/* The queue must have stopped with @code at ring index @head. */
static void expect_stopped(struct __test_metadata *_metadata,
			   struct mgpu_dev *dev, unsigned int q,
			   uint32_t code, uint32_t head)
{
	uint32_t err, ehead;

	ASSERT_TRUE(wait_queue_error(dev, q, ENG_TIMEOUT_MS))
		TH_LOG("queue %u did not stop (STATUS %#x), expected %s", q,
		       qrd(dev, q, MGPU_Q_STATUS), mgpu_queue_error_str(code));
	err = qrd(dev, q, MGPU_Q_ERROR);
	ehead = qrd(dev, q, MGPU_Q_ERROR_HEAD);
	EXPECT_EQ(code, err) TH_LOG("queue %u: ERROR %s, expected %s", q,
				    mgpu_queue_error_str(err),
				    mgpu_queue_error_str(code));
	EXPECT_EQ(head, ehead);
	EXPECT_EQ(head, qrd(dev, q, MGPU_Q_HEAD));
	EXPECT_EQ(MGPU_QSTAT_ENABLED | MGPU_QSTAT_ERROR,
		  qrd(dev, q, MGPU_Q_STATUS));
	EXPECT_TRUE(rd(dev, MGPU_REG_INT_STATUS) & MGPU_INT_ERROR);
}

static bool mem_is(const void *p, uint8_t val, size_t len)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != val)
			return false;
	return true;
}

/* ---------------------------------------------------------------------- */
/* GEMM references                                                        */

struct shape {
	uint32_t m, n, k;
};

/* Not multiples of any block size; 2x37x4099 splits K across steps. */
static const struct shape gemm_shapes[] = {
	{ 1, 1, 1 }, { 7, 13, 5 }, { 33, 17, 65 }, { 64, 64, 64 },
	{ 1, 64, 3 }, { 5, 1, 63 }, { 63, 2, 1 }, { 2, 37, 4099 },
};

struct gemm_bufs {
	uint64_t a, b, c;	/* VRAM offsets; C is not 64-byte aligned */
	void *pa, *pb, *pc;
	size_t csize;
};

#define GEMM_GUARD	64

/* A, B and C (with a 4-byte pad before and a guard after C). */
static void gemm_alloc(struct __test_metadata *_metadata,
		       struct mgpu_dev *dev, const struct shape *s,
		       size_t esize, struct gemm_bufs *g)
{
	g->a = vram_get(_metadata, dev, (uint64_t)s->m * s->k * esize + 4, 64);
	g->b = vram_get(_metadata, dev, (uint64_t)s->k * s->n * esize + 4, 64);
	g->csize = (size_t)s->m * s->n * 4;
	g->c = vram_get(_metadata, dev, g->csize + 4 + GEMM_GUARD, 64) + 4;
	g->pa = vptr(dev, g->a);
	g->pb = vptr(dev, g->b);
	g->pc = vptr(dev, g->c);
	memset((uint8_t *)g->pc - 4, 0xa5, 4);
	memset((uint8_t *)g->pc + g->csize, 0xa5, GEMM_GUARD);
}

static void gemm_free(struct mgpu_dev *dev, struct gemm_bufs *g)
{
	mgpu_vram_free(dev, g->a);
	mgpu_vram_free(dev, g->b);
	mgpu_vram_free(dev, g->c - 4);
}

static float rnd_float(void)
{
	return (float)((int)(rnd() % 2049) - 1024) / 512.0f;
}

/*
 * C = alpha * A x B + beta * C0 in double, checked with the worst-case
 * bound of float accumulation: (k + 2) ulp of the sum of magnitudes.
 */
static int check_f32(const float *got, const float *a, const float *b,
		     const float *c0, const struct shape *s, float alpha,
		     float beta, char *msg, size_t msglen)
{
	uint32_t i, j, p;
	int bad = 0;

	for (i = 0; i < s->m; i++)
		for (j = 0; j < s->n; j++) {
			double sum = 0, mag = 0, ref, tol, g;

			for (p = 0; p < s->k; p++) {
				double t = (double)a[i * s->k + p] *
					   b[(size_t)p * s->n + j];

				sum += t;
				mag += fabs(t);
			}
			ref = (double)alpha * sum;
			mag *= fabs(alpha);
			if (beta != 0.0f) {
				ref += (double)beta * c0[i * s->n + j];
				mag += fabs((double)beta * c0[i * s->n + j]);
			}
			tol = (s->k + 2) * 1.2e-7 * mag + 1e-6;
			g = got[i * s->n + j];
			if (!(fabs(g - ref) <= tol)) {
				if (!bad++)
					snprintf(msg, msglen,
						 "C[%u][%u] = %.9g, expected %.9g (tol %.3g)",
						 i, j, g, ref, tol);
			}
		}
	return bad;
}

static int check_i8(const int32_t *got, const int8_t *a, const int8_t *b,
		    const int32_t *c0, const struct shape *s, int32_t alpha,
		    int32_t beta, char *msg, size_t msglen)
{
	uint32_t i, j, p;
	int bad = 0;

	for (i = 0; i < s->m; i++)
		for (j = 0; j < s->n; j++) {
			uint32_t sum = 0, ref;

			for (p = 0; p < s->k; p++)
				sum += (uint32_t)((int32_t)a[i * s->k + p] *
						  b[(size_t)p * s->n + j]);
			ref = (uint32_t)alpha * sum +
			      (uint32_t)beta * (uint32_t)c0[i * s->n + j];
			if ((uint32_t)got[i * s->n + j] != ref && !bad++)
				snprintf(msg, msglen,
					 "C[%u][%u] = %d, expected %d", i, j,
					 got[i * s->n + j], (int32_t)ref);
		}
	return bad;
}

/* One fp32 GEMM on @q against the reference; C0 may hold NaN if beta 0. */
static void gemm_f32_one(struct __test_metadata *_metadata,
			 struct mgpu_dev *dev, struct mgpu_queue *q,
			 const struct shape *s, float alpha, float beta,
			 bool nan_c)
{
	struct gemm_bufs g;
	float *c0, *pc;
	struct mgpu_cmd cmd;
	char msg[160] = "";
	uint32_t i;
	int bad;

	gemm_alloc(_metadata, dev, s, 4, &g);
	pc = g.pc;
	for (i = 0; i < s->m * s->k; i++)
		((float *)g.pa)[i] = rnd_float();
	for (i = 0; i < s->k * s->n; i++)
		((float *)g.pb)[i] = rnd_float();
	c0 = malloc(g.csize);
	ASSERT_NE(NULL, c0);
	for (i = 0; i < s->m * s->n; i++)
		pc[i] = c0[i] = nan_c ? (i & 1 ? NAN : INFINITY) :
				rnd_float() * 8;

	mgpu_cmd_gemm_f32(&cmd, g.a, g.b, g.c, s->m, s->n, s->k, alpha, beta);
	ASSERT_RUN(q, &cmd, 1);
	bad = check_f32(pc, g.pa, g.pb, c0, s, alpha, beta, msg, sizeof(msg));
	EXPECT_EQ(0, bad) TH_LOG("fp32 %ux%ux%u alpha %g beta %g%s: %d wrong: %s",
				 s->m, s->n, s->k, alpha, beta,
				 nan_c ? " (NaN/Inf in C)" : "", bad, msg);
	EXPECT_TRUE(mem_is((uint8_t *)pc - 4, 0xa5, 4));
	EXPECT_TRUE(mem_is((uint8_t *)pc + g.csize, 0xa5, GEMM_GUARD))
		TH_LOG("fp32 %ux%ux%u wrote past C", s->m, s->n, s->k);
	free(c0);
	gemm_free(dev, &g);
}

static void gemm_i8_one(struct __test_metadata *_metadata,
			struct mgpu_dev *dev, struct mgpu_queue *q,
			const struct shape *s, int32_t alpha, int32_t beta)
{
	struct gemm_bufs g;
	int32_t *c0, *pc;
	struct mgpu_cmd cmd;
	char msg[160] = "";
	uint32_t i;
	int bad;

	gemm_alloc(_metadata, dev, s, 1, &g);
	pc = g.pc;
	rnd_fill(g.pa, (size_t)s->m * s->k);
	rnd_fill(g.pb, (size_t)s->k * s->n);
	c0 = malloc(g.csize);
	ASSERT_NE(NULL, c0);
	for (i = 0; i < s->m * s->n; i++)
		pc[i] = c0[i] = (int32_t)rnd();

	mgpu_cmd_gemm_i8(&cmd, g.a, g.b, g.c, s->m, s->n, s->k, alpha, beta);
	ASSERT_RUN(q, &cmd, 1);
	bad = check_i8(pc, g.pa, g.pb, c0, s, alpha, beta, msg, sizeof(msg));
	EXPECT_EQ(0, bad) TH_LOG("int8 %ux%ux%u alpha %d beta %d: %d wrong: %s",
				 s->m, s->n, s->k, alpha, beta, bad, msg);
	EXPECT_TRUE(mem_is((uint8_t *)pc - 4, 0xa5, 4));
	EXPECT_TRUE(mem_is((uint8_t *)pc + g.csize, 0xa5, GEMM_GUARD))
		TH_LOG("int8 %ux%ux%u wrote past C", s->m, s->n, s->k);
	free(c0);
	gemm_free(dev, &g);
}

/* ====================================================================== */
/* cmd: one 1/4 instance, queue 0 open                                    */

FIXTURE(cmd) {
	struct eng_base b;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	uint64_t vram;
};

FIXTURE_SETUP(cmd)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
	self->dev = self->b.dev[0];
	self->vram = mgpu_vram_size(self->dev);
	self->q = qopen(_metadata, self->dev, 0, 1024, 0);
	rnd_seed(0x5eed0001);
}

FIXTURE_TEARDOWN_PARENT(cmd)
{
	eng_remove_all(&self->b.inst);
}

TEST_F(cmd, nop)
{
	struct mgpu_cmd cmds[100];
	unsigned int i;

	for (i = 0; i < 100; i++)
		mgpu_cmd_nop(&cmds[i]);
	ASSERT_RUN(self->q, cmds, 100);
	EXPECT_EQ(101, q_completed(self->dev, 0));
	EXPECT_EQ(101, qrd(self->dev, 0, MGPU_Q_HEAD));
	EXPECT_EQ(101, qrd(self->dev, 0, MGPU_Q_TAIL));
	EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->dev, 0, MGPU_Q_STATUS));
	EXPECT_EQ(MGPU_ERR_NONE, qrd(self->dev, 0, MGPU_Q_ERROR));
}

TEST_F(cmd, fence_vram)
{
	const uint64_t vals[] = { 1, 0xdeadbeefcafef00dULL, ~0ULL, 0 };
	uint64_t buf = vram_get(_metadata, self->dev, 4096, 4096);
	uint64_t offs[] = { buf + 8, buf + 64, buf + 4080, self->vram - 8 };
	uint8_t *p = vptr(self->dev, buf), *last = vptr(self->dev,
							 self->vram - 64);
	struct mgpu_cmd cmds[4];
	unsigned int i;

	/* The last 8 bytes of VRAM are a valid fence address. */
	memset(p, 0x5a, 4096);
	memset(last, 0x5a, 64);
	for (i = 0; i < 4; i++)
		mgpu_cmd_fence(&cmds[i], offs[i], vals[i], 0);
	ASSERT_RUN(self->q, cmds, 4);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(vals[i], load64(p + offs[i] - buf));
		memset(p + offs[i] - buf, 0x5a, 8);
	}
	EXPECT_TRUE(mem_is(p, 0x5a, 4096)) TH_LOG("FENCE wrote more than 8 bytes");
	EXPECT_EQ(vals[3], load64(last + 56));
	EXPECT_TRUE(mem_is(last, 0x5a, 56));
}

TEST_F(cmd, fence_sysmem)
{
	const uint64_t vals[] = { 0x0123456789abcdefULL, 7, ~0ULL };
	const uint64_t offs[] = { 0, 8, 4088 + 4096 };
	struct mgpu_cmd cmds[3];
	struct mgpu_dma d;
	unsigned int i;

	ASSERT_EQ(0, mgpu_dma_alloc(self->dev, 8192, &d));
	memset(d.cpu, 0x5a, d.size);
	for (i = 0; i < 3; i++)
		mgpu_cmd_fence(&cmds[i], d.iova + offs[i], vals[i],
			       MGPU_F_DST_SYSMEM);
	ASSERT_RUN(self->q, cmds, 3);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(vals[i], load64((uint8_t *)d.cpu + offs[i]));
		memset((uint8_t *)d.cpu + offs[i], 0x5a, 8);
	}
	EXPECT_TRUE(mem_is(d.cpu, 0x5a, d.size))
		TH_LOG("FENCE to system memory wrote more than 8 bytes");
	EXPECT_EQ(0, mgpu_dma_free(self->dev, &d));
}

static const uint64_t fill_sizes[] = {
	4, 8, 64 * KiB - 4, 64 * KiB + 4, ENG_STEP - 4, ENG_STEP,
	ENG_STEP + 4, 3 * ENG_STEP - 12, 700 * KiB + 12,
};

TEST_F(cmd, fill_vram)
{
	const uint64_t max = 1 * MiB, guard = 64;
	uint64_t buf = vram_get(_metadata, self->dev, max + 2 * guard, 64);
	uint8_t *p = vptr(self->dev, buf);
	uint32_t pattern;
	unsigned int i;
	uint64_t w;

	for (i = 0; i < sizeof(fill_sizes) / sizeof(fill_sizes[0]); i++) {
		uint64_t size = fill_sizes[i], bad = 0;
		uint32_t *d = (uint32_t *)(p + guard + 4);

		memset(p, 0x5a, max + 2 * guard);
		pattern = rnd() | 1;
		ASSERT_EQ(0, mgpu_fill(self->q, buf + guard + 4, size,
				       pattern, 0));
		for (w = 0; w < size / 4; w++)
			bad += d[w] != pattern;
		EXPECT_EQ(0, bad) TH_LOG("FILL %llu bytes: %llu words wrong",
					 (unsigned long long)size,
					 (unsigned long long)bad);
		EXPECT_TRUE(mem_is(p, 0x5a, guard + 4));
		EXPECT_TRUE(mem_is((uint8_t *)d + size, 0x5a, guard))
			TH_LOG("FILL %llu bytes wrote past the end",
			       (unsigned long long)size);
	}
	/* The last word of VRAM. */
	ASSERT_EQ(0, mgpu_fill(self->q, self->vram - 4, 4, 0x11223344, 0));
	EXPECT_EQ(0x11223344, *(uint32_t *)vptr(self->dev, self->vram - 4));
	EXPECT_EQ(0, mgpu_fill(self->q, buf, 0, 0, 0));	/* empty */
}

TEST_F(cmd, fill_sysmem)
{
	const uint64_t max = 1 * MiB, guard = 64;
	struct mgpu_dma d;
	unsigned int i;
	uint64_t w;

	ASSERT_EQ(0, mgpu_dma_alloc(self->dev, max + 2 * guard, &d));
	for (i = 0; i < sizeof(fill_sizes) / sizeof(fill_sizes[0]); i++) {
		uint64_t size = fill_sizes[i], bad = 0;
		uint32_t *p = (uint32_t *)((uint8_t *)d.cpu + guard + 4);
		uint32_t pattern = rnd() | 1;

		memset(d.cpu, 0x5a, d.size);
		ASSERT_EQ(0, mgpu_fill(self->q, d.iova + guard + 4, size,
				       pattern, MGPU_F_DST_SYSMEM));
		for (w = 0; w < size / 4; w++)
			bad += p[w] != pattern;
		EXPECT_EQ(0, bad) TH_LOG("FILL sysmem %llu bytes: %llu words wrong",
					 (unsigned long long)size,
					 (unsigned long long)bad);
		EXPECT_TRUE(mem_is(d.cpu, 0x5a, guard + 4));
		EXPECT_TRUE(mem_is((uint8_t *)p + size, 0x5a, guard))
			TH_LOG("FILL sysmem %llu bytes wrote past the end",
			       (unsigned long long)size);
	}
	EXPECT_EQ(0, mgpu_dma_free(self->dev, &d));
}

TEST_F(cmd, timestamp)
{
	uint64_t buf = vram_get(_metadata, self->dev, 64, 64);
	uint64_t big = vram_get(_metadata, self->dev, 2 * MiB, 64);
	uint8_t *p = vptr(self->dev, buf);
	uint64_t t0, t1, s[4], sys;
	struct mgpu_cmd cmds[6];
	struct mgpu_dma d;

	ASSERT_EQ(0, mgpu_dma_alloc(self->dev, 4096, &d));
	memset(p, 0, 64);
	memset(d.cpu, 0xff, 16);
	mgpu_cmd_timestamp(&cmds[0], buf, 0);
	mgpu_cmd_nop(&cmds[1]);
	mgpu_cmd_timestamp(&cmds[2], buf + 8, 0);
	/* A long command between two timestamps: time passes. */
	mgpu_cmd_fill(&cmds[3], big, 2 * MiB, 0, 0);
	mgpu_cmd_timestamp(&cmds[4], buf + 16, 0);
	mgpu_cmd_timestamp(&cmds[5], d.iova + 8, MGPU_F_DST_SYSMEM);

	ASSERT_EQ(0, mgpu_timestamp(self->dev, &t0));
	ASSERT_RUN(self->q, cmds, 6);
	ASSERT_EQ(0, mgpu_timestamp(self->dev, &t1));
	s[0] = load64(p);
	s[1] = load64(p + 8);
	s[2] = load64(p + 16);
	s[3] = load64(p + 24);
	sys = load64((uint8_t *)d.cpu + 8);
	EXPECT_LE(t0, s[0]);
	EXPECT_LE(s[0], s[1]);
	EXPECT_LT(s[1], s[2]) TH_LOG("no time passed over a 2 MiB FILL");
	EXPECT_LE(s[2], sys);
	EXPECT_LE(sys, t1);
	EXPECT_EQ(0, s[3]) TH_LOG("TIMESTAMP wrote more than 8 bytes");
	EXPECT_EQ(~0ULL, load64(d.cpu));
	TH_LOG("register %llu, commands +%llu +%llu +%llu +%llu, register +%llu ns",
	       (unsigned long long)t0, (unsigned long long)(s[0] - t0),
	       (unsigned long long)(s[1] - t0), (unsigned long long)(s[2] - t0),
	       (unsigned long long)(sys - t0), (unsigned long long)(t1 - t0));
	EXPECT_EQ(0, mgpu_dma_free(self->dev, &d));
}

TEST_F(cmd, gemm_f32)
{
	static const float ab[][2] = {
		{ 1.0f, 0.0f }, { 1.5f, -0.5f }, { -2.0f, 1.0f }, { 0.0f, 2.0f },
	};
	unsigned int i, j;

	for (i = 0; i < sizeof(gemm_shapes) / sizeof(gemm_shapes[0]); i++)
		for (j = 0; j < sizeof(ab) / sizeof(ab[0]); j++)
			gemm_f32_one(_metadata, self->dev, self->q,
				     &gemm_shapes[i], ab[j][0], ab[j][1],
				     false);
}

TEST_F(cmd, gemm_f32_beta0_ignores_c)
{
	unsigned int i;

	for (i = 0; i < sizeof(gemm_shapes) / sizeof(gemm_shapes[0]); i++)
		gemm_f32_one(_metadata, self->dev, self->q, &gemm_shapes[i],
			     i & 1 ? -0.75f : 1.0f, 0.0f, true);
}

TEST_F(cmd, gemm_i8)
{
	static const int32_t ab[][2] = {
		{ 1, 0 }, { -3, 7 }, { 0x7fffffff, -0x7fffffff - 1 }, { 0, -1 },
	};
	unsigned int i, j;

	for (i = 0; i < sizeof(gemm_shapes) / sizeof(gemm_shapes[0]); i++)
		for (j = 0; j < sizeof(ab) / sizeof(ab[0]); j++)
			gemm_i8_one(_metadata, self->dev, self->q,
				    &gemm_shapes[i], ab[j][0], ab[j][1]);
}

/* A and B may be the same matrix: only C must not overlap them. */
TEST_F(cmd, gemm_aliased_inputs)
{
	const struct shape s = { 24, 24, 24 };
	uint64_t a = vram_get(_metadata, self->dev, 24 * 24 * 4, 64);
	uint64_t c = vram_get(_metadata, self->dev, 24 * 24 * 4, 64);
	float *pa = vptr(self->dev, a), *pc = vptr(self->dev, c), *c0;
	int8_t *ia = (int8_t *)pa;
	struct mgpu_cmd cmd;
	char msg[160] = "";
	unsigned int i;

	c0 = calloc(24 * 24, sizeof(*c0));
	ASSERT_NE(NULL, c0);
	for (i = 0; i < 24 * 24; i++)
		pa[i] = rnd_float();
	mgpu_cmd_gemm_f32(&cmd, a, a, c, 24, 24, 24, 1.0f, 0.0f);
	ASSERT_RUN(self->q, &cmd, 1);
	EXPECT_EQ(0, check_f32(pc, pa, pa, c0, &s, 1.0f, 0.0f, msg,
			       sizeof(msg))) TH_LOG("A x A: %s", msg);
	rnd_fill(ia, 24 * 24);
	mgpu_cmd_gemm_i8(&cmd, a, a, c, 24, 24, 24, 1, 0);
	ASSERT_RUN(self->q, &cmd, 1);
	EXPECT_EQ(0, check_i8((int32_t *)pc, ia, ia, (int32_t *)c0, &s, 1,
			      0, msg, sizeof(msg))) TH_LOG("int8 A x A: %s", msg);
	free(c0);
}

TEST_F(cmd, gemm_random_shapes)
{
	uint64_t seed = now_ns();
	unsigned int i;

	TH_LOG("seed %#llx", (unsigned long long)seed);
	rnd_seed(seed);
	for (i = 0; i < 12; i++) {
		struct shape s = { 1 + rnd() % 64, 1 + rnd() % 64,
				   1 + rnd() % 64 };

		if (i & 1)
			gemm_i8_one(_metadata, self->dev, self->q, &s,
				    (int32_t)rnd(), (int32_t)rnd());
		else
			gemm_f32_one(_metadata, self->dev, self->q, &s,
				     rnd_float(), i % 4 ? rnd_float() : 0.0f,
				     false);
	}
}

/* Process memory the test owns, mapped with mgpu_dma_map(). */
TEST_F(cmd, dma_user_mapping)
{
	const size_t size = 64 * KiB;
	uint64_t v = vram_get(_metadata, self->dev, size, 64), iova = 0;
	uint8_t *buf, *pv = vptr(self->dev, v);
	struct mgpu_cmd cmd;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	rnd_fill(buf, size);
	ASSERT_EQ(0, mgpu_dma_map(self->dev, buf, size, &iova));
	ASSERT_EQ(0, mgpu_copy(self->q, v, iova, size, MGPU_F_SRC_SYSMEM));
	EXPECT_EQ(0, memcmp(pv, buf, size));
	rnd_fill(pv, size);
	ASSERT_EQ(0, mgpu_copy(self->q, iova, v, size, MGPU_F_DST_SYSMEM));
	EXPECT_EQ(0, memcmp(pv, buf, size));

	/* Unmapped: the same command now fails the queue with DMA. */
	ASSERT_EQ(0, mgpu_dma_unmap(self->dev, iova, size));
	memset(buf, 0x5a, size);
	mgpu_cmd_copy(&cmd, iova, v, size, MGPU_F_DST_SYSMEM);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	expect_stopped(_metadata, self->dev, 0, MGPU_ERR_DMA, 4);
	EXPECT_TRUE(mem_is(buf, 0x5a, size));
	munmap(buf, size);
}

/* Unmapped IOVAs, for every command that reaches system memory. */
TEST_F(cmd, dma_unmapped_iova)
{
	struct mgpu_dma d;
	uint64_t v = vram_get(_metadata, self->dev, 2 * 4096, 64);
	struct mgpu_cmd cmds[6], nop;
	uint32_t head;
	unsigned int i;

	ASSERT_EQ(0, mgpu_dma_alloc(self->dev, 4096, &d));
	/* libmgpu maps from 1 GiB up: 0x1000 is never mapped. */
	mgpu_cmd_copy(&cmds[0], v, 0x1000, 64, MGPU_F_SRC_SYSMEM);
	mgpu_cmd_copy(&cmds[1], 0x1000, v, 64, MGPU_F_DST_SYSMEM);
	mgpu_cmd_fill(&cmds[2], 0x2000, 64, 1, MGPU_F_DST_SYSMEM);
	mgpu_cmd_fence(&cmds[3], 0x3000, 1, MGPU_F_DST_SYSMEM);
	mgpu_cmd_timestamp(&cmds[4], 0x4000, MGPU_F_DST_SYSMEM);
	/* Overruns a mapping into the unmapped page after it. */
	mgpu_cmd_copy(&cmds[5], v, d.iova, 2 * 4096, MGPU_F_SRC_SYSMEM);
	mgpu_cmd_nop(&nop);

	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, mgpu_queue_reset(self->q));
		ASSERT_EQ(0, mgpu_submit(self->q, &nop, 1));
		ASSERT_EQ(0, mgpu_submit(self->q, &cmds[i], 1));
		head = 1;
		expect_stopped(_metadata, self->dev, 0, MGPU_ERR_DMA, head);
		EXPECT_EQ(1, q_completed(self->dev, 0)) TH_LOG("command %u", i);
	}
	ASSERT_EQ(0, mgpu_queue_reset(self->q));
	ASSERT_EQ(0, mgpu_copy(self->q, v, d.iova, 4096, MGPU_F_SRC_SYSMEM));
	EXPECT_EQ(0, mgpu_dma_free(self->dev, &d));
}

/*
 * One queue: each FENCE may only land once every earlier command has
 * completed, and fences land in order.
 */
TEST_F(cmd, fence_order_one_queue)
{
	const unsigned int nf = 64;
	uint64_t slots = vram_get(_metadata, self->dev, nf * 8 + 8, 64);
	uint64_t data = vram_get(_metadata, self->dev, nf * 300 * KiB, 64);
	uint8_t *ps = vptr(self->dev, slots), *pd = vptr(self->dev, data);
	struct mgpu_cmd *cmds = calloc(3 * nf, sizeof(*cmds));
	uint64_t last = 0, main_val, end, polls = 0;
	unsigned int i, j, bad = 0;

	ASSERT_NE(NULL, cmds);
	memset(ps, 0, nf * 8 + 8);
	memset(pd, 0, nf * 300 * KiB);
	for (i = 0; i < nf; i++) {
		uint64_t size = i & 1 ? 300 * KiB : 4;

		mgpu_cmd_fill(&cmds[3 * i], data + i * 300 * KiB, size, i + 1, 0);
		mgpu_cmd_fence(&cmds[3 * i + 1], slots + 8 + i * 8, i + 1, 0);
		mgpu_cmd_fence(&cmds[3 * i + 2], slots, i + 1, 0);
	}
	ASSERT_EQ(0, mgpu_submit(self->q, cmds, 3 * nf));
	end = now_ms() + ENG_TIMEOUT_MS;
	do {
		main_val = load64(ps);
		polls++;
		if (main_val < last && !bad++)
			TH_LOG("fence went back from %llu to %llu",
			       (unsigned long long)last,
			       (unsigned long long)main_val);
		for (j = 0; j < main_val && j < nf; j++) {
			uint64_t size = j & 1 ? 300 * KiB : 4;
			uint32_t *w = (uint32_t *)(pd + j * 300 * KiB);

			if (load64(ps + 8 + j * 8) != j + 1 ||
			    w[0] != j + 1 || w[size / 4 - 1] != j + 1) {
				if (!bad++)
					TH_LOG("fence %llu visible before command %u completed",
					       (unsigned long long)main_val, j);
			}
		}
		last = main_val;
	} while (main_val < nf && now_ms() < end && bad < 10);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(nf, main_val);
	ASSERT_EQ(0, mgpu_queue_sync(self->q, ENG_TIMEOUT_MS));
	EXPECT_EQ(3 * nf + 1, q_completed(self->dev, 0));
	TH_LOG("%llu polls", (unsigned long long)polls);
	free(cmds);
}

struct qthread {
	struct mgpu_queue *q;
	uint64_t slot;		/* VRAM offset of this queue's fence */
	uint64_t src, dst;
	unsigned int rounds;
	uint64_t submitted;
	int ret;
};

static void *qthread_fn(void *arg)
{
	struct qthread *t = arg;
	struct mgpu_cmd cmds[2];
	unsigned int i;

	for (i = 0; i < t->rounds && !t->ret; i++) {
		mgpu_cmd_copy(&cmds[0], t->dst + (i % 4) * 64 * KiB, t->src,
			      64 * KiB, 0);
		mgpu_cmd_fence(&cmds[1], t->slot, i + 1, 0);
		t->ret = mgpu_submit(t->q, cmds, 2);
		t->submitted += 2;
		if (i % 8 == 7)
			usleep(100);
	}
	if (!t->ret)
		t->ret = mgpu_queue_sync(t->q, ENG_TIMEOUT_MS);
	if (!t->ret)
		t->submitted++;
	return NULL;
}

/* Several queues submitting at once: all complete, each in order. */
TEST_F(cmd, fence_order_queues)
{
	unsigned int nq = mgpu_num_queues(self->dev), i, bad = 0;
	struct qthread t[4];
	pthread_t th[4];
	uint64_t slots, last[4] = { 0 }, end;
	uint8_t *ps;
	bool running;

	if (nq > 4)
		nq = 4;
	ASSERT_GE(nq, 2);
	slots = vram_get(_metadata, self->dev, 64, 64);
	ps = vptr(self->dev, slots);
	memset(ps, 0, 64);
	memset(t, 0, sizeof(t));
	for (i = 0; i < nq; i++) {
		t[i].q = i ? qopen(_metadata, self->dev, i, 512, 0) : self->q;
		t[i].slot = slots + 8 * i;
		t[i].src = vram_get(_metadata, self->dev, 64 * KiB, 64);
		t[i].dst = vram_get(_metadata, self->dev, 256 * KiB, 64);
		rnd_fill(vptr(self->dev, t[i].src), 64 * KiB);
		t[i].rounds = 100;
	}
	for (i = 0; i < nq; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, qthread_fn, &t[i]));
	end = now_ms() + ENG_TIMEOUT_MS;
	do {
		running = false;
		for (i = 0; i < nq; i++) {
			uint64_t v = load64(ps + 8 * i);

			if (v < last[i] && !bad++)
				TH_LOG("queue %u: fence went back from %llu to %llu",
				       i, (unsigned long long)last[i],
				       (unsigned long long)v);
			last[i] = v;
			if (v < t[i].rounds)
				running = true;
		}
	} while (running && now_ms() < end);
	for (i = 0; i < nq; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, bad);
	for (i = 0; i < nq; i++) {
		EXPECT_EQ(0, t[i].ret) TH_LOG("queue %u: %s", i,
					      mgpu_strerror(t[i].ret));
		EXPECT_EQ(t[i].rounds, load64(ps + 8 * i));
		EXPECT_EQ(t[i].submitted, q_completed(self->dev, i))
			TH_LOG("queue %u: COMPLETED differs from submitted", i);
		EXPECT_EQ(0, memcmp(vptr(self->dev, t[i].dst),
				    vptr(self->dev, t[i].src), 64 * KiB));
	}
}

/* ====================================================================== */
/* copy: every direction, sizes around the engine steps                   */

FIXTURE(copy) {
	struct eng_base b;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
};

FIXTURE_VARIANT(copy) {
	bool src_sys, dst_sys;
};

FIXTURE_VARIANT_ADD(copy, vram_to_vram) { .src_sys = false, .dst_sys = false };
FIXTURE_VARIANT_ADD(copy, sysmem_to_vram) { .src_sys = true, .dst_sys = false };
FIXTURE_VARIANT_ADD(copy, vram_to_sysmem) { .src_sys = false, .dst_sys = true };
FIXTURE_VARIANT_ADD(copy, sysmem_to_sysmem) { .src_sys = true, .dst_sys = true };

FIXTURE_SETUP(copy)
{
	if (!eng_can_create(_metadata, "mgpu-1_8", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_8", true);
	self->dev = self->b.dev[0];
	self->q = qopen(_metadata, self->dev, 0, 0, 0);
	rnd_seed(0x5eed0002);
}

FIXTURE_TEARDOWN_PARENT(copy)
{
	eng_remove_all(&self->b.inst);
}

/* A buffer in VRAM or in DMA memory: CPU pointer and device address. */
struct xbuf {
	uint8_t *cpu;
	uint64_t addr;
	struct mgpu_dma dma;
};

static void xbuf_alloc(struct __test_metadata *_metadata,
		       struct mgpu_dev *dev, bool sys, uint64_t size,
		       struct xbuf *x)
{
	memset(x, 0, sizeof(*x));
	if (sys) {
		ASSERT_EQ(0, mgpu_dma_alloc(dev, size, &x->dma));
		x->cpu = x->dma.cpu;
		x->addr = x->dma.iova;
	} else {
		x->addr = vram_get(_metadata, dev, size, 4096);
		x->cpu = vptr(dev, x->addr);
	}
}

TEST_F(copy, sizes)
{
	static const uint64_t sizes[] = {
		1, 3, 64, 4096 + 5, 64 * KiB - 1, 64 * KiB + 1, ENG_STEP - 1,
		ENG_STEP, ENG_STEP + 1, 2 * ENG_STEP + 777, 1 * MiB + 13,
	};
	const uint64_t max = 1 * MiB + 64, guard = 64;
	uint32_t flags = (variant->src_sys ? MGPU_F_SRC_SYSMEM : 0) |
			 (variant->dst_sys ? MGPU_F_DST_SYSMEM : 0);
	struct xbuf src, dst;
	unsigned int i;

	xbuf_alloc(_metadata, self->dev, variant->src_sys, max + 2 * guard,
		   &src);
	xbuf_alloc(_metadata, self->dev, variant->dst_sys, max + 2 * guard,
		   &dst);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t size = sizes[i];
		/* Odd offsets: COPY has no alignment rule. */
		uint64_t so = guard + (i % 3), doff = guard + (i % 5);

		rnd_fill(src.cpu, max + 2 * guard);
		memset(dst.cpu, 0x5a, max + 2 * guard);
		ASSERT_EQ(0, mgpu_copy(self->q, dst.addr + doff,
				       src.addr + so, size, flags))
			TH_LOG("COPY %llu bytes", (unsigned long long)size);
		EXPECT_EQ(0, memcmp(dst.cpu + doff, src.cpu + so, size))
			TH_LOG("COPY %llu bytes: data differs",
			       (unsigned long long)size);
		EXPECT_TRUE(mem_is(dst.cpu, 0x5a, doff));
		EXPECT_TRUE(mem_is(dst.cpu + doff + size, 0x5a, guard))
			TH_LOG("COPY %llu bytes wrote past the end",
			       (unsigned long long)size);
	}
	/* Many copies in one submission, chained through the buffers. */
	{
		struct mgpu_cmd cmds[8];
		uint8_t *ref = malloc(300 * KiB);

		ASSERT_NE(NULL, ref);
		rnd_fill(src.cpu, 300 * KiB);
		memcpy(ref, src.cpu, 300 * KiB);
		for (i = 0; i < 8; i++) {
			if (i & 1)
				mgpu_cmd_copy(&cmds[i], src.addr, dst.addr,
					      300 * KiB,
					      (variant->src_sys ? MGPU_F_DST_SYSMEM : 0) |
					      (variant->dst_sys ? MGPU_F_SRC_SYSMEM : 0));
			else
				mgpu_cmd_copy(&cmds[i], dst.addr, src.addr,
					      300 * KiB, flags);
		}
		ASSERT_RUN(self->q, cmds, 8);
		EXPECT_EQ(0, memcmp(src.cpu, ref, 300 * KiB));
		EXPECT_EQ(0, memcmp(dst.cpu, ref, 300 * KiB));
		free(ref);
	}
}

/* ====================================================================== */
/* irq: MSI and INTx                                                      */

FIXTURE(irq) {
	struct eng_base b;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	uint64_t slot;
	uint8_t *ps;
	int efd;
	uint64_t cfg_off;
};

FIXTURE_VARIANT(irq) {
	bool intx;
};

FIXTURE_VARIANT_ADD(irq, msi) { .intx = false };
FIXTURE_VARIANT_ADD(irq, intx) { .intx = true };

FIXTURE_SETUP(irq)
{
	uint64_t size;
	int ret;

	if (!eng_can_create(_metadata, "mgpu-1_16", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_16", true);
	self->dev = self->b.dev[0];
	self->q = qopen(_metadata, self->dev, 0, 0, 0);
	if (variant->intx)
		setenv("LIBMGPU_IRQ", "intx", 1);
	else
		unsetenv("LIBMGPU_IRQ");
	ret = mgpu_irq_enable(self->dev);
	ASSERT_EQ(0, ret) TH_LOG("mgpu_irq_enable: %s: %s", mgpu_strerror(ret),
				 mgpu_last_error());
	ASSERT_EQ(variant->intx ? MGPU_IRQ_INTX : MGPU_IRQ_MSI,
		  mgpu_irq_mode(self->dev));
	self->efd = mgpu_irq_fd(self->dev);
	ASSERT_GE(self->efd, 0);
	self->slot = vram_get(_metadata, self->dev, 64, 64);
	self->ps = vptr(self->dev, self->slot);
	memset(self->ps, 0, 64);
	ASSERT_EQ(0, mgpu_vfio_region(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
				      &self->cfg_off, &size));
}

FIXTURE_TEARDOWN_PARENT(irq)
{
	eng_remove_all(&self->b.inst);
}

/* Eventfd count after waiting up to @ms for it; 0 if nothing came. */
static uint64_t efd_wait(int efd, int ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t count = 0;

	if (poll(&pfd, 1, ms) == 1 && read(efd, &count, sizeof(count)) < 0)
		count = 0;
	return count;
}

/* Sum of eventfd counts until @want arrived or @ms passed. */
static uint64_t efd_collect(int efd, uint64_t want, int ms)
{
	uint64_t end = now_ms() + ms, sum = 0, left;

	while (sum < want && now_ms() < end) {
		left = end - now_ms();
		sum += efd_wait(efd, (int)left);
	}
	return sum;
}

static bool wait_u64(const void *p, uint64_t val, unsigned int ms)
{
	uint64_t end = now_ms() + ms;

	while (load64(p) != val) {
		if (now_ms() >= end)
			return false;
		usleep(100);
	}
	return true;
}

static void intx_unmask(struct mgpu_dev *dev)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.start = 0,
		.count = 1,
	};

	ioctl(mgpu_vfio_device_fd(dev), VFIO_DEVICE_SET_IRQS, &set);
}

static uint16_t cfg_status(FIXTURE_DATA(irq) *self)
{
	uint16_t v = 0xffff;

	if (pread(mgpu_vfio_device_fd(self->dev), &v, 2,
		  self->cfg_off + PCI_STATUS) != 2)
		return 0xffff;
	return v;
}

/* One interrupt per FENCE with the IRQ flag, through libmgpu's wait. */
TEST_F(irq, fence_each)
{
	struct mgpu_cmd cmd;
	uint32_t causes;
	unsigned int i;
	int ret;

	for (i = 1; i <= 10; i++) {
		mgpu_cmd_fence(&cmd, self->slot, i, MGPU_F_IRQ);
		ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
		causes = 0;
		ret = mgpu_irq_wait(self->dev, 5000, &causes);
		ASSERT_EQ(0, ret) TH_LOG("fence %u: no interrupt: %s", i,
					 mgpu_strerror(ret));
		EXPECT_EQ(MGPU_INT_FENCE, causes);
		EXPECT_EQ(i, load64(self->ps));
		EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	}
	/* Without the flag: no interrupt, no cause. */
	mgpu_cmd_fence(&cmd, self->slot, 100, 0);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 100, 5000));
	EXPECT_EQ(-ETIMEDOUT, mgpu_irq_wait(self->dev, 200, &causes));
	EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	/* libmgpu's sleeping fence wait. */
	EXPECT_EQ(0, mgpu_queue_sync(self->q, 5000));
}

/* Raw delivery: MSI per event, INTx level and automasked; RW1C status. */
TEST_F(irq, status_and_delivery)
{
	struct mgpu_cmd cmds[5];
	uint64_t count;
	unsigned int i;

	for (i = 0; i < 5; i++)
		mgpu_cmd_fence(&cmds[i], self->slot, i + 1, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, cmds, 5));
	ASSERT_TRUE(wait_u64(self->ps, 5, 5000));
	count = efd_collect(self->efd, variant->intx ? 1 : 5, 2000);
	count += efd_wait(self->efd, 100);	/* and nothing more */
	if (variant->intx) {
		EXPECT_EQ(1, count) TH_LOG("INTx is automasked: one signal");
		EXPECT_TRUE(cfg_status(self) & PCI_STATUS_INTERRUPT);
	} else {
		EXPECT_EQ(5, count) TH_LOG("one MSI per fence");
		EXPECT_FALSE(cfg_status(self) & PCI_STATUS_INTERRUPT);
	}
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	/* Writing 0 clears nothing; writing 1 clears. */
	wr(self->dev, MGPU_REG_INT_STATUS, 0);
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_ERROR);
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	EXPECT_FALSE(cfg_status(self) & PCI_STATUS_INTERRUPT);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, efd_wait(self->efd, 100)) TH_LOG("interrupt after clearing");

	/* INTx: unmasked while the cause is pending, it fires again. */
	if (variant->intx) {
		mgpu_cmd_fence(&cmds[0], self->slot, 6, MGPU_F_IRQ);
		ASSERT_EQ(0, mgpu_submit(self->q, cmds, 1));
		EXPECT_EQ(1, efd_wait(self->efd, 5000));
		intx_unmask(self->dev);
		EXPECT_EQ(1, efd_wait(self->efd, 1000))
			TH_LOG("INTx unmasked with a cause pending must fire");
		wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
		intx_unmask(self->dev);
		EXPECT_EQ(0, efd_wait(self->efd, 100));
	}
}

/*
 * The command register's INTx disable holds INTx back (it fires once
 * cleared, the cause still pending) and does not affect MSI.
 */
TEST_F(irq, intx_disable_bit)
{
	int fd = mgpu_vfio_device_fd(self->dev);
	struct mgpu_cmd cmd;
	uint16_t cmdreg = 0;

	ASSERT_EQ(2, pread(fd, &cmdreg, 2, self->cfg_off + PCI_COMMAND));
	cmdreg |= PCI_COMMAND_INTX_DISABLE;
	ASSERT_EQ(2, pwrite(fd, &cmdreg, 2, self->cfg_off + PCI_COMMAND));
	mgpu_cmd_fence(&cmd, self->slot, 1, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 1, 5000));
	if (variant->intx) {
		EXPECT_EQ(0, efd_wait(self->efd, 200))
			TH_LOG("INTx fired while disabled");
	} else {
		EXPECT_EQ(1, efd_collect(self->efd, 1, 2000))
			TH_LOG("INTx disable held back an MSI");
	}
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	cmdreg &= ~PCI_COMMAND_INTX_DISABLE;
	ASSERT_EQ(2, pwrite(fd, &cmdreg, 2, self->cfg_off + PCI_COMMAND));
	if (variant->intx) {
		EXPECT_EQ(1, efd_wait(self->efd, 1000))
			TH_LOG("INTx enabled with a cause pending did not fire");
	} else {
		EXPECT_EQ(0, efd_wait(self->efd, 100))
			TH_LOG("MSI repeated on an INTx enable");
	}
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, efd_wait(self->efd, 100));
}

/* Masked causes latch in INT_STATUS but do not interrupt. */
TEST_F(irq, masked_cause)
{
	struct mgpu_cmd cmd;

	wr(self->dev, MGPU_REG_INT_MASK, MGPU_INT_ERROR);
	EXPECT_EQ(MGPU_INT_ERROR, rd(self->dev, MGPU_REG_INT_MASK));
	mgpu_cmd_fence(&cmd, self->slot, 1, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 1, 5000));
	EXPECT_EQ(0, efd_wait(self->efd, 200)) TH_LOG("masked FENCE interrupted");
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	EXPECT_FALSE(cfg_status(self) & PCI_STATUS_INTERRUPT);

	/* An error (enabled) interrupts. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = 0x7f;
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	EXPECT_EQ(1, efd_wait(self->efd, 5000));
	EXPECT_EQ(MGPU_INT_FENCE | MGPU_INT_ERROR,
		  rd(self->dev, MGPU_REG_INT_STATUS));
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_ERROR);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, efd_wait(self->efd, 100));

	/* Enabling a pending cause interrupts at once. */
	wr(self->dev, MGPU_REG_INT_MASK, MGPU_INT_FENCE | MGPU_INT_ERROR);
	EXPECT_EQ(1, efd_wait(self->efd, 1000))
		TH_LOG("enabling a pending cause did not interrupt");
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	EXPECT_EQ(0, efd_wait(self->efd, 100));

	/* Everything masked: nothing at all. */
	ASSERT_EQ(0, mgpu_queue_reset(self->q));
	wr(self->dev, MGPU_REG_INT_MASK, 0);
	mgpu_cmd_fence(&cmd, self->slot, 2, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 2, 5000));
	EXPECT_EQ(0, efd_wait(self->efd, 200));
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
}

/* ====================================================================== */
/* isolation: a queue error stays in its queue                            */

enum iso_kind {
	ISO_CMD,		/* a bad command at ring index 2 of queue 0 */
	ISO_TAIL,		/* TAIL beyond the ring on queue 0 */
	ISO_RING,		/* bad ring configuration on queue 2 */
};

enum iso_bad {
	B_OPCODE, B_OPCODE_MAX, B_NOP_FLAGS, B_NOP_ARG, B_FENCE_FLAGS,
	B_FENCE_ARG, B_TS_IRQ, B_TS_ARG, B_COPY_FLAGS, B_COPY_ARG,
	B_COPY_OVERLAP, B_FILL_PATTERN, B_FILL_FLAGS, B_GEMM_ZERO,
	B_GEMM_BIG, B_GEMM_RESERVED, B_GEMM_FLAGS, B_GEMM_C_ON_A,
	B_GEMM_C_ON_B, R_COPY_DST, R_COPY_SRC, R_COPY_WRAP, R_FILL,
	R_FENCE, R_TS, R_GEMM_A, R_GEMM_C, A_FENCE, A_TS, A_FILL_DST,
	A_FILL_SIZE, A_GEMM, D_COPY, D_FENCE,
	T_TAIL,
	G_OUTSIDE, G_STRADDLE, G_MISALIGNED, G_SIZE_3, G_SIZE_1, G_SIZE_BIG,
	G_TAIL_ADDR, G_TAIL_ADDR_END, G_SYSMEM_UNMAPPED,
};

FIXTURE(isolation) {
	struct eng_base b;
	struct mgpu_dev *a, *nb;	/* victim instance, neighbour */
	struct mgpu_queue *q0, *q1, *nq;
	uint64_t vram;			/* the victim's VRAM size */
	uint64_t scratch;		/* 1 MiB of the victim, 0x5a */
	uint64_t pattern;		/* the neighbour's 4 MiB pattern */
	uint8_t *saved;
};

FIXTURE_VARIANT(isolation) {
	enum iso_kind kind;
	enum iso_bad bad;
	uint32_t err;
};

#define ISO(_name, _kind, _bad, _err)					\
	FIXTURE_VARIANT_ADD(isolation, _name) {				\
		.kind = _kind, .bad = _bad, .err = MGPU_ERR_##_err,	\
	}

ISO(bad_opcode, ISO_CMD, B_OPCODE, BAD_OPCODE);
ISO(bad_opcode_max, ISO_CMD, B_OPCODE_MAX, BAD_OPCODE);
ISO(nop_flags, ISO_CMD, B_NOP_FLAGS, BAD_CMD);
ISO(nop_arg, ISO_CMD, B_NOP_ARG, BAD_CMD);
ISO(fence_flags, ISO_CMD, B_FENCE_FLAGS, BAD_CMD);
ISO(fence_arg, ISO_CMD, B_FENCE_ARG, BAD_CMD);
ISO(timestamp_irq, ISO_CMD, B_TS_IRQ, BAD_CMD);
ISO(timestamp_arg, ISO_CMD, B_TS_ARG, BAD_CMD);
ISO(copy_flags, ISO_CMD, B_COPY_FLAGS, BAD_CMD);
ISO(copy_arg, ISO_CMD, B_COPY_ARG, BAD_CMD);
ISO(copy_overlap, ISO_CMD, B_COPY_OVERLAP, BAD_CMD);
ISO(fill_pattern, ISO_CMD, B_FILL_PATTERN, BAD_CMD);
ISO(fill_flags, ISO_CMD, B_FILL_FLAGS, BAD_CMD);
ISO(gemm_zero_dim, ISO_CMD, B_GEMM_ZERO, BAD_CMD);
ISO(gemm_big_dim, ISO_CMD, B_GEMM_BIG, BAD_CMD);
ISO(gemm_reserved, ISO_CMD, B_GEMM_RESERVED, BAD_CMD);
ISO(gemm_flags, ISO_CMD, B_GEMM_FLAGS, BAD_CMD);
ISO(gemm_c_overlaps_a, ISO_CMD, B_GEMM_C_ON_A, BAD_CMD);
ISO(gemm_c_overlaps_b, ISO_CMD, B_GEMM_C_ON_B, BAD_CMD);
ISO(range_copy_dst, ISO_CMD, R_COPY_DST, VRAM_RANGE);
ISO(range_copy_src, ISO_CMD, R_COPY_SRC, VRAM_RANGE);
ISO(range_copy_wrap, ISO_CMD, R_COPY_WRAP, VRAM_RANGE);
ISO(range_fill, ISO_CMD, R_FILL, VRAM_RANGE);
ISO(range_fence, ISO_CMD, R_FENCE, VRAM_RANGE);
ISO(range_timestamp, ISO_CMD, R_TS, VRAM_RANGE);
ISO(range_gemm_a, ISO_CMD, R_GEMM_A, VRAM_RANGE);
ISO(range_gemm_c, ISO_CMD, R_GEMM_C, VRAM_RANGE);
ISO(align_fence, ISO_CMD, A_FENCE, ALIGN);
ISO(align_timestamp, ISO_CMD, A_TS, ALIGN);
ISO(align_fill_dst, ISO_CMD, A_FILL_DST, ALIGN);
ISO(align_fill_size, ISO_CMD, A_FILL_SIZE, ALIGN);
ISO(align_gemm, ISO_CMD, A_GEMM, ALIGN);
ISO(dma_copy, ISO_CMD, D_COPY, DMA);
ISO(dma_fence, ISO_CMD, D_FENCE, DMA);
ISO(tail_beyond_ring, ISO_TAIL, T_TAIL, BAD_TAIL);
ISO(ring_outside_vram, ISO_RING, G_OUTSIDE, BAD_RING);
ISO(ring_straddles_end, ISO_RING, G_STRADDLE, BAD_RING);
ISO(ring_misaligned, ISO_RING, G_MISALIGNED, BAD_RING);
ISO(ring_size_3, ISO_RING, G_SIZE_3, BAD_RING);
ISO(ring_size_1, ISO_RING, G_SIZE_1, BAD_RING);
ISO(ring_size_2_17, ISO_RING, G_SIZE_BIG, BAD_RING);
ISO(ring_tail_addr_misaligned, ISO_RING, G_TAIL_ADDR, BAD_RING);
ISO(ring_tail_addr_outside, ISO_RING, G_TAIL_ADDR_END, BAD_RING);
ISO(ring_sysmem_unmapped, ISO_RING, G_SYSMEM_UNMAPPED, DMA);

FIXTURE_SETUP(isolation)
{
	uint8_t *p;

	if (!eng_can_create(_metadata, "mgpu-1_4", 2))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
	eng_instance(_metadata, &self->b, 1, "mgpu-1_4", true);
	self->a = self->b.dev[0];
	self->nb = self->b.dev[1];
	self->vram = mgpu_vram_size(self->a);
	ASSERT_GE(mgpu_num_queues(self->a), 3);

	/* The neighbour: a pattern at the start of its VRAM, then a queue. */
	self->pattern = vram_get(_metadata, self->nb, 4 * MiB, 64);
	p = vptr(self->nb, self->pattern);
	rnd_seed(0x5eed0003);
	rnd_fill(p, 4 * MiB);
	self->saved = malloc(4 * MiB);
	ASSERT_NE(NULL, self->saved);
	memcpy(self->saved, p, 4 * MiB);
	self->nq = qopen(_metadata, self->nb, 0, 256, 0);

	self->scratch = vram_get(_metadata, self->a, 1 * MiB, 4096);
	memset(vptr(self->a, self->scratch), 0x5a, 1 * MiB);
	self->q0 = qopen(_metadata, self->a, 0, 256, 0);
	self->q1 = qopen(_metadata, self->a, 1, 256, 0);
}

FIXTURE_TEARDOWN_PARENT(isolation)
{
	eng_remove_all(&self->b.inst);
}

/* The bad command for @bad; V is the victim's VRAM size, S its scratch. */
static void iso_bad_cmd(enum iso_bad bad, uint64_t V, uint64_t S,
			struct mgpu_cmd *c)
{
	struct mgpu_cmd_gemm *g = (struct mgpu_cmd_gemm *)c;

	mgpu_cmd_nop(c);
	switch (bad) {
	case B_OPCODE:
		c->opcode = MGPU_OP_GEMM + 1;
		break;
	case B_OPCODE_MAX:
		c->opcode = ~0U;
		break;
	case B_NOP_FLAGS:
		c->flags = MGPU_F_IRQ;
		break;
	case B_NOP_ARG:
		c->arg[6] = 1;
		break;
	case B_FENCE_FLAGS:
		mgpu_cmd_fence(c, S, 1, MGPU_F_SRC_SYSMEM);
		break;
	case B_FENCE_ARG:
		mgpu_cmd_fence(c, S, 1, 0);
		c->arg[2] = 1;
		break;
	case B_TS_IRQ:
		mgpu_cmd_timestamp(c, S, MGPU_F_IRQ);
		break;
	case B_TS_ARG:
		mgpu_cmd_timestamp(c, S, 0);
		c->arg[1] = 1;
		break;
	case B_COPY_FLAGS:
		mgpu_cmd_copy(c, S + 4096, S, 64, MGPU_F_IRQ);
		break;
	case B_COPY_ARG:
		mgpu_cmd_copy(c, S + 4096, S, 64, 0);
		c->arg[3] = 1;
		break;
	case B_COPY_OVERLAP:
		mgpu_cmd_copy(c, S + 4, S, 64, 0);
		break;
	case B_FILL_PATTERN:
		mgpu_cmd_fill(c, S, 64, 0, 0);
		c->arg[2] = 1ULL << 32;
		break;
	case B_FILL_FLAGS:
		mgpu_cmd_fill(c, S, 64, 0, MGPU_F_SRC_SYSMEM);
		break;
	case B_GEMM_ZERO:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 8192, 4, 0, 4, 1, 0);
		break;
	case B_GEMM_BIG:
		mgpu_cmd_gemm_i8(c, S, S + 65536, S + 8192, 1, 1,
				 MGPU_GEMM_MAX_DIM + 1, 1, 0);
		break;
	case B_GEMM_RESERVED:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 8192, 4, 4, 4, 1, 0);
		g->reserved[2] = 1;
		break;
	case B_GEMM_FLAGS:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 8192, 4, 4, 4, 1, 0);
		g->flags = MGPU_F_SRC_SYSMEM;
		break;
	case B_GEMM_C_ON_A:
		mgpu_cmd_gemm_f32(c, S, S + 4096, S + 16, 4, 4, 4, 1, 0);
		break;
	case B_GEMM_C_ON_B:
		mgpu_cmd_gemm_i8(c, S, S + 4096, S + 4096 + 12, 4, 4, 4, 1, 0);
		break;
	case R_COPY_DST:
		mgpu_cmd_copy(c, V - 100, S, 200, 0);
		break;
	case R_COPY_SRC:
		mgpu_cmd_copy(c, S, V, 4096, 0);
		break;
	case R_COPY_WRAP:
		mgpu_cmd_copy(c, ~0ULL - 63, S, 128, 0);
		break;
	case R_FILL:
		mgpu_cmd_fill(c, V, 4, 0xffffffff, 0);
		break;
	case R_FENCE:
		mgpu_cmd_fence(c, V, ~0ULL, 0);
		break;
	case R_TS:
		mgpu_cmd_timestamp(c, V + 8, 0);
		break;
	case R_GEMM_A:
		mgpu_cmd_gemm_f32(c, V - 8, S, S + 8192, 4, 4, 4, 1, 0);
		break;
	case R_GEMM_C:
		mgpu_cmd_gemm_f32(c, S, S + 4096, V - 4, 2, 2, 2, 1, 0);
		break;
	case A_FENCE:
		mgpu_cmd_fence(c, S + 4, 1, 0);
		break;
	case A_TS:
		mgpu_cmd_timestamp(c, S + 2, 0);
		break;
	case A_FILL_DST:
		mgpu_cmd_fill(c, S + 2, 4, 0, 0);
		break;
	case A_FILL_SIZE:
		mgpu_cmd_fill(c, S, 6, 0, 0);
		break;
	case A_GEMM:
		mgpu_cmd_gemm_i8(c, S + 1, S + 4096, S + 8192, 4, 4, 4, 1, 0);
		break;
	case D_COPY:
		mgpu_cmd_copy(c, S, 0x1000, 64, MGPU_F_SRC_SYSMEM);
		break;
	case D_FENCE:
		mgpu_cmd_fence(c, 0x2000, 1, MGPU_F_DST_SYSMEM);
		break;
	default:
		break;
	}
}

/* A stream of FILLs and fences on @q into @dst: @n rounds from @first. */
static int iso_work(struct mgpu_queue *q, uint64_t dst, uint64_t slot,
		    unsigned int first, unsigned int n)
{
	struct mgpu_cmd cmds[2];
	unsigned int i;
	int ret = 0;

	for (i = first; i < first + n && !ret; i++) {
		mgpu_cmd_fill(&cmds[0], dst + (i % 16) * 16 * KiB, 16 * KiB,
			      i + 1, 0);
		mgpu_cmd_fence(&cmds[1], slot, i + 1, 0);
		ret = mgpu_submit(q, cmds, 2);
	}
	return ret;
}

static void iso_check_work(struct __test_metadata *_metadata,
			   struct mgpu_dev *dev, struct mgpu_queue *q,
			   uint64_t dst, uint64_t slot, unsigned int n,
			   const char *who)
{
	unsigned int i, bad = 0;

	ASSERT_EQ(0, mgpu_queue_sync(q, ENG_TIMEOUT_MS))
		TH_LOG("%s: its queue stopped: %s", who,
		       mgpu_queue_error_str(qrd(dev, mgpu_queue_index(q),
						MGPU_Q_ERROR)));
	EXPECT_EQ(n, load64(vptr(dev, slot)));
	for (i = n - 16; i < n; i++) {
		uint32_t *w = vptr(dev, dst + (i % 16) * 16 * KiB);

		bad += w[0] != i + 1 || w[4 * KiB - 1] != i + 1;
	}
	EXPECT_EQ(0, bad) TH_LOG("%s: its work did not complete", who);
	EXPECT_EQ(MGPU_QSTAT_ENABLED,
		  qrd(dev, mgpu_queue_index(q), MGPU_Q_STATUS));
}

/* Raw queue @q of @dev: write the configuration, then CTRL. */
static void raw_queue(struct mgpu_dev *dev, unsigned int q, uint64_t ring,
		      uint32_t size, uint32_t tail_addr, uint32_t ctrl)
{
	qwr(dev, q, MGPU_Q_CTRL, 0);
	qwr(dev, q, MGPU_Q_RING_LO, (uint32_t)ring);
	qwr(dev, q, MGPU_Q_RING_HI, (uint32_t)(ring >> 32));
	qwr(dev, q, MGPU_Q_RING_SIZE, size);
	qwr(dev, q, MGPU_Q_TAIL_ADDR, tail_addr);
	qwr(dev, q, MGPU_Q_CTRL, ctrl);
}

TEST_F(isolation, error_stays_local)
{
	const uint64_t V = self->vram, S = self->scratch;
	uint64_t wa, sa, wn, sn, marker, ring = 0;
	struct mgpu_cmd cmds[5];
	uint32_t ctrl = MGPU_QCTRL_ENABLE;
	unsigned int rq = 2;
	uint8_t *pm;

	TH_LOG("victim at VRAM %ld, neighbour at %ld, slice %llu MiB",
	       eng_instance_attr(self->b.uuid[0], "vram_offset"),
	       eng_instance_attr(self->b.uuid[1], "vram_offset"),
	       (unsigned long long)(V >> 20));

	/* Work around the failure: the other queue and the neighbour. */
	wa = vram_get(_metadata, self->a, 256 * KiB, 64);
	sa = vram_get(_metadata, self->a, 8, 8);
	wn = vram_get(_metadata, self->nb, 256 * KiB, 64);
	sn = vram_get(_metadata, self->nb, 8, 8);
	marker = vram_get(_metadata, self->a, 64, 64);
	pm = vptr(self->a, marker);
	memset(pm, 0, 64);
	ASSERT_EQ(0, iso_work(self->q1, wa, sa, 0, 40));
	ASSERT_EQ(0, iso_work(self->nq, wn, sn, 0, 40));

	switch (variant->kind) {
	case ISO_CMD:
		mgpu_cmd_nop(&cmds[0]);
		mgpu_cmd_nop(&cmds[1]);
		iso_bad_cmd(variant->bad, V, S, &cmds[2]);
		mgpu_cmd_fill(&cmds[3], marker, 64, 0x77, 0);
		mgpu_cmd_fence(&cmds[4], marker, 0x77, 0);
		ASSERT_EQ(0, mgpu_submit(self->q0, cmds, 5));
		expect_stopped(_metadata, self->a, 0, variant->err, 2);
		EXPECT_EQ(2, q_completed(self->a, 0));
		EXPECT_EQ(-EIO, mgpu_queue_sync(self->q0, 1000));
		EXPECT_TRUE(mem_is(pm, 0, 64))
			TH_LOG("commands after the failed one ran");
		break;
	case ISO_TAIL:
		mgpu_cmd_nop(&cmds[0]);
		mgpu_cmd_nop(&cmds[1]);
		ASSERT_RUN(self->q0, cmds, 2);
		qwr(self->a, 0, MGPU_Q_TAIL, 256);
		expect_stopped(_metadata, self->a, 0, variant->err, 3);
		EXPECT_EQ(3, q_completed(self->a, 0));
		break;
	case ISO_RING:
		ring = vram_get(_metadata, self->a, 64 * 64, 4096);
		switch (variant->bad) {
		case G_OUTSIDE:
			raw_queue(self->a, rq, V, 4, 0, ctrl);
			break;
		case G_STRADDLE:
			raw_queue(self->a, rq, V - 2 * 64, 4, 0, ctrl);
			break;
		case G_MISALIGNED:
			raw_queue(self->a, rq, ring + 32, 4, 0, ctrl);
			break;
		case G_SIZE_3:
			raw_queue(self->a, rq, ring, 3, 0, ctrl);
			break;
		case G_SIZE_1:
			raw_queue(self->a, rq, ring, 1, 0, ctrl);
			break;
		case G_SIZE_BIG:
			raw_queue(self->a, rq, ring, MGPU_RING_MAX_ENTRIES * 2,
				  0, ctrl);
			break;
		case G_TAIL_ADDR:
			raw_queue(self->a, rq, ring, 4, (uint32_t)(ring + 64 * 4 + 2),
				  ctrl | MGPU_QCTRL_TAIL_POLL);
			break;
		case G_TAIL_ADDR_END:
			raw_queue(self->a, rq, ring, 4, (uint32_t)V,
				  ctrl | MGPU_QCTRL_TAIL_POLL);
			break;
		case G_SYSMEM_UNMAPPED:
			/* Enabling works; the first fetch fails. */
			raw_queue(self->a, rq, 0x10000, 4, 0,
				  ctrl | MGPU_QCTRL_RING_SYSMEM);
			EXPECT_EQ(MGPU_QSTAT_ENABLED,
				  qrd(self->a, rq, MGPU_Q_STATUS));
			qwr(self->a, rq, MGPU_Q_TAIL, 1);
			break;
		default:
			break;
		}
		expect_stopped(_metadata, self->a, rq, variant->err, 0);
		EXPECT_EQ(0, q_completed(self->a, rq));
		break;
	}

	/* More work after the failure, everywhere else. */
	ASSERT_EQ(0, iso_work(self->q1, wa, sa, 40, 40));
	ASSERT_EQ(0, iso_work(self->nq, wn, sn, 40, 40));
	iso_check_work(_metadata, self->a, self->q1, wa, sa, 80,
		       "the victim's other queue");
	iso_check_work(_metadata, self->nb, self->nq, wn, sn, 80,
		       "the neighbour instance");
	EXPECT_EQ(0, memcmp(vptr(self->nb, self->pattern), self->saved,
			    4 * MiB)) TH_LOG("the neighbour's VRAM changed");
	EXPECT_FALSE(rd(self->nb, MGPU_REG_INT_STATUS) & MGPU_INT_ERROR)
		TH_LOG("the neighbour saw an ERROR cause");
	EXPECT_EQ(MGPU_ERR_NONE, qrd(self->a, 1, MGPU_Q_ERROR));
	EXPECT_TRUE(mem_is(vptr(self->a, S), 0x5a, 1 * MiB))
		TH_LOG("the failed command changed VRAM");

	/* Recovery: disable and enable. */
	if (variant->kind == ISO_RING) {
		uint8_t *pr = vptr(self->a, ring);

		mgpu_cmd_fill((struct mgpu_cmd *)pr, marker, 64, 0x99, 0);
		mgpu_cmd_fence((struct mgpu_cmd *)(pr + 64), marker + 8, 0x99, 0);
		raw_queue(self->a, rq, ring, 4, 0, ctrl);
		EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->a, rq, MGPU_Q_STATUS));
		EXPECT_EQ(MGPU_ERR_NONE, qrd(self->a, rq, MGPU_Q_ERROR));
		qwr(self->a, rq, MGPU_Q_TAIL, 2);
		EXPECT_TRUE(wait_u64(pm + 8, 0x99, ENG_TIMEOUT_MS));
		EXPECT_EQ(2, q_completed(self->a, rq));
		qwr(self->a, rq, MGPU_Q_CTRL, 0);
	} else {
		ASSERT_EQ(0, mgpu_queue_reset(self->q0));
		EXPECT_EQ(MGPU_ERR_NONE, qrd(self->a, 0, MGPU_Q_ERROR));
		EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->a, 0, MGPU_Q_STATUS));
		EXPECT_EQ(0, q_completed(self->a, 0));
		ASSERT_EQ(0, mgpu_fill(self->q0, marker, 64, 0x99, 0));
		EXPECT_EQ(0x99, *(uint32_t *)pm);
		EXPECT_EQ(2, q_completed(self->a, 0));
	}
}

/* ====================================================================== */
/* watchdog                                                               */

FIXTURE(watchdog) {
	struct eng_base b;
	char saved[32];
	bool restore;
};

FIXTURE_SETUP(watchdog)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	if (mgpu_test_read_attr(ENG_BUDGET, self->saved, sizeof(self->saved)) <= 0 ||
	    access(ENG_BUDGET, W_OK))
		SKIP(return, "%s is not writable", ENG_BUDGET);
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
}

FIXTURE_TEARDOWN_PARENT(watchdog)
{
	if (self->restore && mgpu_test_write_attr(ENG_BUDGET, self->saved))
		TH_LOG("cannot restore %s to %s", ENG_BUDGET, self->saved);
	eng_remove_all(&self->b.inst);
}

TEST_F_TIMEOUT(watchdog, big_gemm_times_out, 60)
{
	struct mgpu_dev *dev = self->b.dev[0];
	const uint32_t n = 2048;
	const uint64_t msize = (uint64_t)n * n * 4;
	struct mgpu_queue *q0, *q1;
	uint64_t a, b, c, t0, ms;
	struct mgpu_cmd cmds[3];
	uint32_t head;

	if (mgpu_vram_size(dev) < 3 * msize + 1 * MiB)
		SKIP(return, "VRAM %llu MiB is too small for 3 x %llu MiB",
		     (unsigned long long)(mgpu_vram_size(dev) >> 20),
		     (unsigned long long)(msize >> 20));
	self->restore = true;
	ASSERT_EQ(0, mgpu_test_write_attr(ENG_BUDGET, "50"));
	EXPECT_EQ(50, rd(dev, MGPU_REG_CMD_BUDGET_MS));
	q0 = qopen(_metadata, dev, 0, 0, 0);
	q1 = qopen(_metadata, dev, 1, 0, 0);
	a = vram_get(_metadata, dev, msize, 4096);
	b = vram_get(_metadata, dev, msize, 4096);
	c = vram_get(_metadata, dev, msize, 4096);

	mgpu_cmd_nop(&cmds[0]);
	mgpu_cmd_gemm_f32(&cmds[1], a, b, c, n, n, n, 1.0f, 0.0f);
	mgpu_cmd_fill(&cmds[2], c, 64, 0x12345678, 0);
	t0 = now_ms();
	ASSERT_EQ(0, mgpu_submit(q0, cmds, 3));
	/* The other queue keeps running meanwhile. */
	ASSERT_EQ(0, mgpu_fill(q1, a, 4096, 0, 0));
	head = 1;
	expect_stopped(_metadata, dev, 0, MGPU_ERR_TIMEOUT, head);
	ms = now_ms() - t0;
	EXPECT_GE(ms, 50);
	TH_LOG("2048^3 fp32 GEMM stopped by the watchdog after %llu ms",
	       (unsigned long long)ms);
	EXPECT_NE(0x12345678, *(uint32_t *)vptr(dev, c));
	EXPECT_EQ(0, mgpu_fill(q1, a, 4096, 0, 0));

	ASSERT_EQ(0, mgpu_queue_reset(q0));
	{
		const struct shape s = { 8, 8, 8 };

		gemm_f32_one(_metadata, dev, q0, &s, 1.0f, 0.0f, false);
	}
}

/* ====================================================================== */
/* reset while busy                                                       */

FIXTURE(reset) {
	struct eng_base b;
};

FIXTURE_VARIANT(reset) {
	bool flr;
};

FIXTURE_VARIANT_ADD(reset, device_reset) { .flr = false };
FIXTURE_VARIANT_ADD(reset, flr) { .flr = true };

FIXTURE_SETUP(reset)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
}

FIXTURE_TEARDOWN_PARENT(reset)
{
	eng_remove_all(&self->b.inst);
}

#define GEMM_STREAM_N	128
#define GEMM_STREAM_LEN	100

/*
 * A long stream of fp32 GEMMs with a FENCE (IRQ) after each on queue @qi:
 * C at @c, fences of value 1.. at @slot.
 */
static int gemm_stream(struct mgpu_queue *q, uint64_t a, uint64_t b,
		       uint64_t c, uint64_t slot, unsigned int len)
{
	struct mgpu_cmd cmds[2];
	unsigned int i;
	int ret = 0;

	for (i = 0; i < len && !ret; i++) {
		mgpu_cmd_gemm_f32(&cmds[0], a, b, c, GEMM_STREAM_N,
				  GEMM_STREAM_N, GEMM_STREAM_N, 1.0f,
				  i ? 1.0f : 0.0f);
		mgpu_cmd_fence(&cmds[1], slot, i + 1, MGPU_F_IRQ);
		ret = mgpu_submit(q, cmds, 2);
	}
	return ret;
}

static uint64_t checksum(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < len / 8; i++)
		s = s * 31 + __atomic_load_n(&w[i], __ATOMIC_RELAXED);
	return s;
}

static void cfg_rw(struct mgpu_dev *dev, uint32_t off, void *val,
		   size_t size, bool write)
{
	uint64_t base = 0, rsize = 0;
	int fd = mgpu_vfio_device_fd(dev);

	mgpu_vfio_region(dev, VFIO_PCI_CONFIG_REGION_INDEX, &base, &rsize);
	if (write) {
		if (pwrite(fd, val, size, base + off) != (ssize_t)size)
			memset(val, 0xff, size);
	} else if (pread(fd, val, size, base + off) != (ssize_t)size) {
		memset(val, 0xff, size);
	}
}

TEST_F(reset, while_busy)
{
	struct mgpu_dev *dev = self->b.dev[0];
	const size_t msize = GEMM_STREAM_N * GEMM_STREAM_N * 4;
	unsigned int nq = mgpu_num_queues(dev), i, unfinished = 0;
	struct mgpu_queue *q[4];
	uint64_t a, b, c[4], slots, before[4], after[4], sum[4], end, t0;
	uint16_t cmdreg, devctl;
	uint32_t devcap;
	uint8_t *ps;
	int efd, ret;

	if (nq > 4)
		nq = 4;
	ASSERT_EQ(0, mgpu_irq_enable(dev));
	efd = mgpu_irq_fd(dev);
	a = vram_get(_metadata, dev, msize, 4096);
	b = vram_get(_metadata, dev, msize, 4096);
	rnd_seed(0x5eed0004);
	for (i = 0; i < GEMM_STREAM_N * GEMM_STREAM_N; i++) {
		((float *)vptr(dev, a))[i] = rnd_float() / 64;
		((float *)vptr(dev, b))[i] = rnd_float() / 64;
	}
	slots = vram_get(_metadata, dev, 64, 64);
	ps = vptr(dev, slots);
	memset(ps, 0, 64);
	for (i = 0; i < nq; i++) {
		q[i] = qopen(_metadata, dev, i, 256, 0);
		c[i] = vram_get(_metadata, dev, msize, 4096);
	}
	if (variant->flr) {
		uint8_t ptr = 0, id = 0;

		cfg_rw(dev, PCI_CAPABILITY_LIST, &ptr, 1, false);
		ASSERT_EQ(0x40, ptr);
		cfg_rw(dev, 0x40, &id, 1, false);
		ASSERT_EQ(PCI_CAP_ID_EXP, id);
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCAP, &devcap, 4, false);
		ASSERT_TRUE(devcap & PCI_EXP_DEVCAP_FLR);
	}
	for (i = 0; i < nq; i++)
		ASSERT_EQ(0, gemm_stream(q[i], a, b, c[i], slots + 8 * i,
					 GEMM_STREAM_LEN));
	/* Busy: wait for the first fence of queue 0. */
	end = now_ms() + ENG_TIMEOUT_MS;
	while (!load64(ps) && now_ms() < end)
		usleep(500);
	ASSERT_NE(0, load64(ps)) TH_LOG("no progress before the reset");

	t0 = now_ms();
	if (variant->flr) {
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCTL, &devctl, 2, false);
		devctl |= PCI_EXP_DEVCTL_BCR_FLR;
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCTL, &devctl, 2, true);
	} else {
		ret = ioctl(mgpu_vfio_device_fd(dev), VFIO_DEVICE_RESET);
		ASSERT_EQ(0, ret) TH_LOG("VFIO_DEVICE_RESET: %s",
					 strerror(errno));
	}
	/* What signalled before the reset returned is legitimate. */
	efd_wait(efd, 0);
	for (i = 0; i < nq; i++) {
		before[i] = load64(ps + 8 * i);
		sum[i] = checksum(vptr(dev, c[i]), msize);
		unfinished += before[i] < GEMM_STREAM_LEN;
	}
	TH_LOG("reset after %llu ms of work took %llu ms; fences %llu %llu %llu %llu",
	       (unsigned long long)(t0 - (end - ENG_TIMEOUT_MS)),
	       (unsigned long long)(now_ms() - t0),
	       (unsigned long long)before[0], (unsigned long long)before[1],
	       (unsigned long long)before[2], (unsigned long long)before[3]);
	EXPECT_NE(0, unfinished) TH_LOG("all work finished before the reset");

	for (i = 0; i < nq; i++) {
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_CTRL));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_STATUS));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_HEAD));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_TAIL));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_RING_SIZE));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_ERROR));
		EXPECT_EQ(0, q_completed(dev, i));
	}
	EXPECT_EQ(0, rd(dev, MGPU_REG_INT_STATUS));
	EXPECT_EQ(0, rd(dev, MGPU_REG_INT_MASK));
	cfg_rw(dev, PCI_COMMAND, &cmdreg, 2, false);
	EXPECT_EQ(0, cmdreg);
	if (variant->flr) {
		cfg_rw(dev, 0x40 + PCI_EXP_DEVCTL, &devctl, 2, false);
		EXPECT_FALSE(devctl & PCI_EXP_DEVCTL_BCR_FLR);
	}

	/* Nothing from before the reset may land afterwards. */
	EXPECT_EQ(0, efd_wait(efd, 300)) TH_LOG("interrupt after the reset");
	for (i = 0; i < nq; i++) {
		after[i] = load64(ps + 8 * i);
		EXPECT_EQ(before[i], after[i])
			TH_LOG("queue %u: fence %llu appeared after the reset (was %llu)",
			       i, (unsigned long long)after[i],
			       (unsigned long long)before[i]);
		EXPECT_EQ(sum[i], checksum(vptr(dev, c[i]), msize))
			TH_LOG("queue %u: GEMM wrote C after the reset", i);
	}

	/* The device works again. */
	for (i = 0; i < nq; i++)
		mgpu_queue_close(q[i]);
	/* The eventfd stays registered; only INT_MASK went back to 0. */
	wr(dev, MGPU_REG_INT_MASK, MGPU_INT_FENCE | MGPU_INT_ERROR);
	q[0] = qopen(_metadata, dev, 0, 0, 0);
	{
		const struct shape s = { 16, 16, 16 };
		struct mgpu_dma d;
		uint32_t causes = 0;
		uint64_t seq;

		gemm_f32_one(_metadata, dev, q[0], &s, 1.0f, 0.0f, false);
		ASSERT_EQ(0, mgpu_dma_alloc(dev, 4096, &d));
		memset(d.cpu, 0x3c, 4096);
		ASSERT_EQ(0, mgpu_copy(q[0], c[0], d.iova, 4096,
				       MGPU_F_SRC_SYSMEM));
		EXPECT_TRUE(mem_is(vptr(dev, c[0]), 0x3c, 4096));
		ASSERT_EQ(0, mgpu_queue_fence(q[0], &seq));
		EXPECT_EQ(0, mgpu_irq_wait(dev, 5000, &causes));
		EXPECT_TRUE(causes & MGPU_INT_FENCE);
	}
}

/* ====================================================================== */
/* unmap: VFIO_IOMMU_UNMAP_DMA of memory a running COPY uses             */

FIXTURE(unmap) {
	struct eng_base b;
};

FIXTURE_VARIANT(unmap) {
	bool to_sysmem;		/* the unmapped buffer is the destination */
};

FIXTURE_VARIANT_ADD(unmap, source) { .to_sysmem = false };
FIXTURE_VARIANT_ADD(unmap, destination) { .to_sysmem = true };

FIXTURE_SETUP(unmap)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", true);
}

FIXTURE_TEARDOWN_PARENT(unmap)
{
	eng_remove_all(&self->b.inst);
}

TEST_F(unmap, during_copy)
{
	struct mgpu_dev *dev = self->b.dev[0];
	const size_t size = 8 * MiB;
	const unsigned int ncopies = 12;
	struct mgpu_cmd cmds[12];
	struct mgpu_queue *q;
	uint64_t v, iova, seq, t0, done;
	uint32_t code = 0, head = 0, flags;
	struct mgpu_dma d;
	uint8_t *buf;
	unsigned int i;
	int ret;

	q = qopen(_metadata, dev, 0, 0, 0);
	v = vram_get(_metadata, dev, size, 4096);
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x3c, size);
	ASSERT_EQ(0, mgpu_dma_map(dev, buf, size, &iova));
	flags = variant->to_sysmem ? MGPU_F_DST_SYSMEM : MGPU_F_SRC_SYSMEM;
	for (i = 0; i < ncopies; i++) {
		if (variant->to_sysmem)
			mgpu_cmd_copy(&cmds[i], iova, v, size, flags);
		else
			mgpu_cmd_copy(&cmds[i], v, iova, size, flags);
	}
	ASSERT_EQ(0, mgpu_submit(q, cmds, ncopies));
	ASSERT_EQ(0, mgpu_queue_fence(q, &seq));
	/* Unmap while the copies run: after the first, before the last. */
	t0 = now_ms();
	while (!q_completed(dev, 0) && now_ms() - t0 < ENG_TIMEOUT_MS)
		usleep(200);
	ret = mgpu_dma_unmap(dev, iova, size);
	done = q_completed(dev, 0);
	EXPECT_EQ(0, ret) TH_LOG("VFIO_IOMMU_UNMAP_DMA: %s", mgpu_strerror(ret));

	ret = mgpu_fence_wait(q, seq, ENG_TIMEOUT_MS);
	mgpu_queue_error(q, &code, &head);
	TH_LOG("unmapped after %llu of %u copies: %s, queue error %s at %u",
	       (unsigned long long)done, ncopies, mgpu_strerror(ret),
	       mgpu_queue_error_str(code), head);
	EXPECT_TRUE(ret == 0 || ret == -EIO) TH_LOG("%s", mgpu_strerror(ret));
	if (ret == -EIO) {
		EXPECT_EQ(MGPU_ERR_DMA, code);
		EXPECT_LT(head, ncopies);
	}
	munmap(buf, size);

	/* The unmapped IOVA now fails deterministically... */
	ASSERT_EQ(0, mgpu_queue_reset(q));
	ASSERT_EQ(0, mgpu_submit(q, &cmds[0], 1));
	expect_stopped(_metadata, dev, 0, MGPU_ERR_DMA, 0);
	/* ...and the device still works. */
	ASSERT_EQ(0, mgpu_queue_reset(q));
	ASSERT_EQ(0, mgpu_dma_alloc(dev, 1 * MiB, &d));
	rnd_seed(0x5eed0005);
	rnd_fill(d.cpu, 1 * MiB);
	ASSERT_EQ(0, mgpu_copy(q, v, d.iova, 1 * MiB, MGPU_F_SRC_SYSMEM));
	EXPECT_EQ(0, memcmp(vptr(dev, v), d.cpu, 1 * MiB));
	EXPECT_EQ(0, mgpu_dma_free(dev, &d));
}

/* ====================================================================== */
/* close: a process that leaves work queued                               */

FIXTURE(close) {
	struct eng_base b;
};

FIXTURE_VARIANT(close) {
	bool kill;		/* SIGKILL instead of exit() */
};

FIXTURE_VARIANT_ADD(close, exit_with_work) { .kill = false };
FIXTURE_VARIANT_ADD(close, killed_with_work) { .kill = true };

FIXTURE_SETUP(close)
{
	if (!eng_can_create(_metadata, "mgpu-1_4", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_4", false);
}

FIXTURE_TEARDOWN_PARENT(close)
{
	eng_remove_all(&self->b.inst);
}

/* What the child tells the parent (shared memory). */
struct close_info {
	volatile int state;	/* 1: busy, -1: failed */
	unsigned int nq;
	uint64_t slots, c[4];
	char err[128];
};

static void close_child(const char *uuid, struct close_info *ci, bool hold)
{
	const size_t msize = GEMM_STREAM_N * GEMM_STREAM_N * 4;
	struct mgpu_queue *q[4];
	struct mgpu_cmd cmd;
	struct mgpu_dev *dev;
	struct mgpu_dma d;
	uint64_t a, b, end;
	unsigned int i;
	int ret;

	ret = mgpu_open_vfio(uuid, &dev);
	if (ret) {
		snprintf(ci->err, sizeof(ci->err), "open: %s: %s",
			 mgpu_strerror(ret), mgpu_last_error());
		goto fail;
	}
	mgpu_irq_enable(dev);
	ci->nq = mgpu_num_queues(dev) < 4 ? mgpu_num_queues(dev) : 4;
	if (mgpu_vram_alloc(dev, msize, 4096, &a) ||
	    mgpu_vram_alloc(dev, msize, 4096, &b) ||
	    mgpu_vram_alloc(dev, 64, 64, &ci->slots) ||
	    mgpu_dma_alloc(dev, 4 * MiB, &d)) {
		snprintf(ci->err, sizeof(ci->err), "allocation failed");
		goto fail;
	}
	memset(mgpu_vram_ptr(dev, ci->slots), 0, 64);
	for (i = 0; i < ci->nq; i++) {
		if (mgpu_vram_alloc(dev, msize, 4096, &ci->c[i]) ||
		    mgpu_queue_open(dev, i, 512, 0, &q[i])) {
			snprintf(ci->err, sizeof(ci->err), "queue %u: %s", i,
				 mgpu_last_error());
			goto fail;
		}
	}
	for (i = 0; i < ci->nq; i++) {
		/* DMA on queue 0 too: guest memory must not be touched after close. */
		if (!i) {
			mgpu_cmd_copy(&cmd, a, d.iova, 4 * MiB < msize ? 4 * MiB : msize,
				      MGPU_F_SRC_SYSMEM);
			mgpu_submit(q[i], &cmd, 1);
		}
		if (gemm_stream(q[i], a, b, ci->c[i], ci->slots + 8 * i,
				200)) {
			snprintf(ci->err, sizeof(ci->err), "submit failed");
			goto fail;
		}
	}
	end = now_ms() + ENG_TIMEOUT_MS;
	while (!load64(mgpu_vram_ptr(dev, ci->slots)) && now_ms() < end)
		usleep(500);
	ci->state = 1;
	if (hold)
		pause();	/* the parent kills us */
	_exit(0);		/* no mgpu_close(): the kernel cleans up */
fail:
	ci->state = -1;
	_exit(1);
}

TEST_F(close, with_work_queued)
{
	const size_t msize = GEMM_STREAM_N * GEMM_STREAM_N * 4;
	struct close_info *ci;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	uint64_t end, fences[4], sums[4];
	unsigned int i;
	pid_t pid;
	int status, ret;

	ci = mmap(NULL, sizeof(*ci), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ci);
	memset(ci, 0, sizeof(*ci));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		close_child(self->b.uuid[0], ci, variant->kill);
	end = now_ms() + ENG_TIMEOUT_MS;
	while (!ci->state && now_ms() < end)
		usleep(1000);
	if (variant->kill && ci->state == 1)
		kill(pid, SIGKILL);
	if (ci->state != 1)
		kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(1, ci->state) TH_LOG("child: %s", ci->err);

	/* The device is free again and in its reset state. */
	ret = mgpu_open_vfio(self->b.uuid[0], &dev);
	ASSERT_EQ(0, ret) TH_LOG("reopen: %s: %s", mgpu_strerror(ret),
				 mgpu_last_error());
	self->b.dev[0] = dev;
	for (i = 0; i < ci->nq; i++) {
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_CTRL));
		EXPECT_EQ(0, qrd(dev, i, MGPU_Q_STATUS));
		fences[i] = load64((uint8_t *)vptr(dev, ci->slots) + 8 * i);
		sums[i] = checksum(vptr(dev, ci->c[i]), msize);
	}
	TH_LOG("fences at close: %llu %llu %llu %llu",
	       (unsigned long long)fences[0], (unsigned long long)fences[1],
	       (unsigned long long)fences[2], (unsigned long long)fences[3]);
	sleep_ms(300);
	for (i = 0; i < ci->nq; i++) {
		EXPECT_EQ(fences[i],
			  load64((uint8_t *)vptr(dev, ci->slots) + 8 * i))
			TH_LOG("queue %u: a fence landed after close", i);
		EXPECT_EQ(sums[i], checksum(vptr(dev, ci->c[i]), msize))
			TH_LOG("queue %u: C changed after close", i);
	}
	/* VRAM survives; the new user's allocator starts from scratch. */
	q = qopen(_metadata, dev, 0, 0, 0);
	{
		const struct shape s = { 9, 11, 13 };

		rnd_seed(0x5eed0006);
		gemm_f32_one(_metadata, dev, q, &s, 1.0f, 0.5f, false);
		gemm_i8_one(_metadata, dev, q, &s, 3, -1);
	}
	munmap(ci, sizeof(*ci));
}

/* ====================================================================== */
/* ring: VRAM and system-memory rings, doorbell and trap-free tails       */

FIXTURE(ring) {
	struct eng_base b;
	struct mgpu_dev *dev;
};

FIXTURE_VARIANT(ring) {
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(ring, vram_doorbell) { .flags = 0 };
FIXTURE_VARIANT_ADD(ring, vram_tail_poll) { .flags = MGPU_QUEUE_TAIL_POLL };
FIXTURE_VARIANT_ADD(ring, sysmem_doorbell) { .flags = MGPU_QUEUE_RING_SYSMEM };
FIXTURE_VARIANT_ADD(ring, sysmem_tail_poll) {
	.flags = MGPU_QUEUE_RING_SYSMEM | MGPU_QUEUE_TAIL_POLL,
};

FIXTURE_SETUP(ring)
{
	if (!eng_can_create(_metadata, "mgpu-1_8", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_8", true);
	self->dev = self->b.dev[0];
	if ((variant->flags & MGPU_QUEUE_TAIL_POLL) &&
	    !(mgpu_caps(self->dev) & MGPU_CAP_TAIL_POLL))
		SKIP(return, "no MGPU_CAP_TAIL_POLL");
}

FIXTURE_TEARDOWN_PARENT(ring)
{
	eng_remove_all(&self->b.inst);
}

/* A small ring wraps many times; every command runs once, in order. */
TEST_F(ring, wrap)
{
	const unsigned int n = 300;
	struct mgpu_queue *q;
	struct mgpu_cmd *cmds;
	uint64_t dst, slot;
	uint32_t *p, ctrl;
	unsigned int i, bad = 0;

	q = qopen(_metadata, self->dev, 0, 8, variant->flags);
	ctrl = qrd(self->dev, 0, MGPU_Q_CTRL);
	EXPECT_EQ(!!(variant->flags & MGPU_QUEUE_TAIL_POLL),
		  !!(ctrl & MGPU_QCTRL_TAIL_POLL));
	EXPECT_EQ(!!(variant->flags & MGPU_QUEUE_RING_SYSMEM),
		  !!(ctrl & MGPU_QCTRL_RING_SYSMEM));
	dst = vram_get(_metadata, self->dev, n * 4, 64);
	slot = vram_get(_metadata, self->dev, 8, 8);
	p = vptr(self->dev, dst);
	memset(p, 0, n * 4);
	cmds = calloc(n, sizeof(*cmds));
	ASSERT_NE(NULL, cmds);
	/* Each FILL stores i + 1 and adds to a running FENCE check. */
	for (i = 0; i < n; i++) {
		if (i % 3 == 2)
			mgpu_cmd_fence(&cmds[i], slot, i, 0);
		else
			mgpu_cmd_fill(&cmds[i], dst + i * 4, 4, i + 1, 0);
	}
	ASSERT_RUN(q, cmds, n);
	for (i = 0; i < n; i++)
		if (i % 3 != 2)
			bad += p[i] != i + 1;
	EXPECT_EQ(0, bad);
	for (i = n - 1; i % 3 != 2; i--)
		;
	EXPECT_EQ(i, load64(vptr(self->dev, slot)));
	EXPECT_EQ(n + 1, q_completed(self->dev, 0));
	EXPECT_EQ((n + 1) % 8, qrd(self->dev, 0, MGPU_Q_HEAD));
	free(cmds);
	mgpu_queue_close(q);
}

/* RING, RING_SIZE and TAIL_ADDR only change while the queue is disabled. */
TEST_F(ring, config_locked_while_enabled)
{
	struct mgpu_queue *q;
	uint32_t lo, hi, size, taddr;
	uint64_t dst;

	q = qopen(_metadata, self->dev, 0, 16, variant->flags);
	lo = qrd(self->dev, 0, MGPU_Q_RING_LO);
	hi = qrd(self->dev, 0, MGPU_Q_RING_HI);
	size = qrd(self->dev, 0, MGPU_Q_RING_SIZE);
	taddr = qrd(self->dev, 0, MGPU_Q_TAIL_ADDR);
	EXPECT_EQ(16, size);
	qwr(self->dev, 0, MGPU_Q_RING_LO, lo + 4096);
	qwr(self->dev, 0, MGPU_Q_RING_HI, hi + 1);
	qwr(self->dev, 0, MGPU_Q_RING_SIZE, 4);
	qwr(self->dev, 0, MGPU_Q_TAIL_ADDR, taddr + 64);
	/* Enabling an enabled queue changes nothing either. */
	qwr(self->dev, 0, MGPU_Q_CTRL, qrd(self->dev, 0, MGPU_Q_CTRL));
	EXPECT_EQ(lo, qrd(self->dev, 0, MGPU_Q_RING_LO));
	EXPECT_EQ(hi, qrd(self->dev, 0, MGPU_Q_RING_HI));
	EXPECT_EQ(size, qrd(self->dev, 0, MGPU_Q_RING_SIZE));
	EXPECT_EQ(taddr, qrd(self->dev, 0, MGPU_Q_TAIL_ADDR));
	dst = vram_get(_metadata, self->dev, 64, 64);
	ASSERT_EQ(0, mgpu_fill(q, dst, 64, 5, 0));
	EXPECT_EQ(5, *(uint32_t *)vptr(self->dev, dst));
	mgpu_queue_close(q);
}

/*
 * A doorbell queue stops with BAD_TAIL on a tail beyond the ring; a
 * TAIL_POLL queue ignores the TAIL register and stops when the polled
 * tail in VRAM is beyond the ring.
 */
TEST_F(ring, bad_tail)
{
	struct mgpu_queue *q;
	struct mgpu_cmd cmds[3];
	uint64_t dst;
	uint32_t taddr;

	q = qopen(_metadata, self->dev, 0, 16, variant->flags);
	dst = vram_get(_metadata, self->dev, 64, 64);
	mgpu_cmd_fill(&cmds[0], dst, 64, 1, 0);
	mgpu_cmd_nop(&cmds[1]);
	ASSERT_RUN(q, cmds, 2);			/* HEAD = 3 */
	qwr(self->dev, 0, MGPU_Q_TAIL, 16);
	if (variant->flags & MGPU_QUEUE_TAIL_POLL) {
		usleep(20000);
		EXPECT_EQ(MGPU_QSTAT_ENABLED, qrd(self->dev, 0, MGPU_Q_STATUS))
			TH_LOG("TAIL register written on a TAIL_POLL queue");
		ASSERT_EQ(0, mgpu_fill(q, dst, 64, 2, 0));	/* HEAD = 5 */
		taddr = qrd(self->dev, 0, MGPU_Q_TAIL_ADDR);
		__atomic_store_n((uint32_t *)vptr(self->dev, taddr), 16,
				 __ATOMIC_SEQ_CST);
		expect_stopped(_metadata, self->dev, 0, MGPU_ERR_BAD_TAIL, 5);
	} else {
		expect_stopped(_metadata, self->dev, 0, MGPU_ERR_BAD_TAIL, 3);
	}
	ASSERT_EQ(0, mgpu_queue_reset(q));
	ASSERT_EQ(0, mgpu_fill(q, dst, 64, 3, 0));
	EXPECT_EQ(3, *(uint32_t *)vptr(self->dev, dst));
	mgpu_queue_close(q);
}

TEST_HARNESS_MAIN
