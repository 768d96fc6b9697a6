/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the engine tests (mgpu_engine_*_test.c) share: their instances,
 * register and queue shorthands, and GEMMs checked against libmgpu_test's
 * reference.  Include after kselftest_harness.h: the helpers take
 * _metadata and ASSERT.
 *
 * Each test creates its own instances on the parent under test and
 * removes them in a FIXTURE_TEARDOWN_PARENT(), which runs even when the
 * test fails.
 */
#ifndef _MGPU_ENGINE_H
#define _MGPU_ENGINE_H

#include <math.h>
#include <poll.h>
#include <unistd.h>

#include "libmgpu.h"
#include "mgpu_harness.h"

#define ENG_BUDGET	"/sys/module/mgpu/parameters/cmd_budget_ms"
#define ENG_MAX_INST	4
#define KiB		1024ULL
#define ENG_STEP	(256 * KiB)	/* COPY/FILL engine step */
#define ENG_TIMEOUT_MS	20000

/* ---------------------------------------------------------------------- */
/* Instances                                                              */

/*
 * What every fixture holds: the instances it created (in shared memory,
 * for the teardown in the parent) and the devices it opened (only valid
 * in the test process).
 */
struct eng_base {
	struct mgpu_test_instances inst;
	struct mgpu_dev *dev[ENG_MAX_INST];
	char uuid[ENG_MAX_INST][MGPU_UUID_BUF];
};

static inline void eng_close_all(struct eng_base *b)
{
	int i;

	for (i = 0; i < ENG_MAX_INST; i++) {
		mgpu_close(b->dev[i]);
		b->dev[i] = NULL;
	}
}

static inline void eng_remove_all(struct mgpu_test_instances *l)
{
	mgpu_test_instances_cleanup(l);
}

static inline long eng_instance_attr(const char *uuid, const char *attr)
{
	uint64_t val;
	int ret = mgpu_test_instance_u64(uuid, attr, &val);

	return ret ? ret : (long)val;
}

/* Skip unless the module and the parent are there with room for @type. */
static inline bool eng_can_create(struct __test_metadata *_metadata,
				  const char *type, long need)
{
	const char *parent = mgpu_test_parent;
	long avail;

	if (!mgpu_test_loaded())
		SKIP(return false, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	if (!mgpu_test_parent_exists(parent))
		SKIP(return false, "no parent %s", parent);
	if (!mgpu_test_path_exists("/dev/vfio/vfio"))
		SKIP(return false, "no /dev/vfio/vfio");
	avail = mgpu_test_available(parent, type);
	if (avail < need)
		SKIP(return false, "%s: room for %ld %s instance(s), need %ld",
		     parent, avail, type, need);
	return true;
}

/*
 * Create instance @i of @type and (if @open) open it through libmgpu.
 * On failure everything of @b is closed and removed before the assert, so
 * a failed setup (which gets no teardown) leaks nothing.
 */
static inline void eng_instance(struct __test_metadata *_metadata,
				struct eng_base *b, int i, const char *type,
				bool open_it)
{
	int ret;

	ret = mgpu_test_instances_create(&b->inst, mgpu_test_parent, type,
					 b->uuid[i]);
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

static inline uint32_t rd(struct mgpu_dev *dev, uint32_t off)
{
	uint32_t v = 0xdeadbeef;

	mgpu_reg_read(dev, off, &v);
	return v;
}

static inline void wr(struct mgpu_dev *dev, uint32_t off, uint32_t val)
{
	mgpu_reg_write(dev, off, val);
}

static inline uint32_t qrd(struct mgpu_dev *dev, unsigned int q, uint32_t reg)
{
	return rd(dev, MGPU_REG_QUEUE(q) + reg);
}

static inline void qwr(struct mgpu_dev *dev, unsigned int q, uint32_t reg,
		       uint32_t val)
{
	wr(dev, MGPU_REG_QUEUE(q) + reg, val);
}

static inline uint64_t q_completed(struct mgpu_dev *dev, unsigned int q)
{
	return (uint64_t)qrd(dev, q, MGPU_Q_COMPLETED_HI) << 32 |
	       qrd(dev, q, MGPU_Q_COMPLETED_LO);
}


static inline uint64_t load64(const void *p)
{
	return __atomic_load_n((const volatile uint64_t *)p, __ATOMIC_ACQUIRE);
}

/* Eventfd count after waiting up to @ms for it; 0 if nothing came. */
static inline uint64_t efd_wait(int efd, int ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t count = 0;

	if (poll(&pfd, 1, ms) == 1 && read(efd, &count, sizeof(count)) < 0)
		count = 0;
	return count;
}

/* Wait until the u64 at @p reads @val (or @ms pass). */
static inline bool wait_u64(const void *p, uint64_t val, unsigned int ms)
{
	uint64_t end = mgpu_test_now_ms() + ms;

	while (load64(p) != val) {
		if (mgpu_test_now_ms() >= end)
			return false;
		usleep(100);
	}
	return true;
}

static inline uint64_t vram_get(struct __test_metadata *_metadata,
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

static inline void *vptr(struct mgpu_dev *dev, uint64_t off)
{
	return mgpu_vram_ptr(dev, off);
}

static inline struct mgpu_queue *qopen(struct __test_metadata *_metadata,
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
static inline int run(struct mgpu_queue *q, const struct mgpu_cmd *cmds,
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
static inline bool wait_queue_error(struct mgpu_dev *dev, unsigned int q,
				    unsigned int ms)
{
	uint64_t end = mgpu_test_now_ms() + ms;

	do {
		if (qrd(dev, q, MGPU_Q_STATUS) & MGPU_QSTAT_ERROR)
			return true;
		usleep(200);
	} while (mgpu_test_now_ms() < end);
	return false;
}

/* The queue must have stopped with @code at ring index @head. */
static inline void expect_stopped(struct __test_metadata *_metadata,
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

static inline bool mem_is(const void *p, uint8_t val, size_t len)
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

struct gemm_bufs {
	uint64_t a, b, c;	/* VRAM offsets; C is not 64-byte aligned */
	void *pa, *pb, *pc;
	void *c0;		/* C before the GEMM */
	size_t csize;
};

#define GEMM_GUARD	64

/* A, B and C (with a 4-byte pad before and a guard after C). */
static inline void gemm_alloc(struct __test_metadata *_metadata,
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
	g->c0 = malloc(g->csize);
	ASSERT_NE(NULL, g->c0);
}

/* Run @cmd; C's pad and guard must be intact. */
static inline void gemm_run(struct __test_metadata *_metadata,
			    struct mgpu_queue *q, const struct mgpu_cmd *cmd,
			    const struct gemm_bufs *g, const char *what)
{
	ASSERT_RUN(q, cmd, 1);
	EXPECT_TRUE(mem_is((uint8_t *)g->pc - 4, 0xa5, 4));
	EXPECT_TRUE(mem_is((uint8_t *)g->pc + g->csize, 0xa5, GEMM_GUARD))
		TH_LOG("%s wrote past C", what);
}

static inline void gemm_free(struct mgpu_dev *dev, struct gemm_bufs *g)
{
	free(g->c0);
	mgpu_vram_free(dev, g->a);
	mgpu_vram_free(dev, g->b);
	mgpu_vram_free(dev, g->c - 4);
}

/* One fp32 GEMM on @q against the reference; C0 may hold NaN if beta 0. */
static inline void gemm_f32_one(struct __test_metadata *_metadata,
				struct mgpu_dev *dev, struct mgpu_queue *q,
				const struct shape *s, float alpha, float beta,
				bool nan_c)
{
	struct gemm_bufs g;
	struct mgpu_cmd cmd;
	char msg[160] = "", what[80];
	float *c0, *pc;
	uint32_t i;
	int bad;

	gemm_alloc(_metadata, dev, s, 4, &g);
	pc = g.pc;
	c0 = g.c0;
	for (i = 0; i < s->m * s->k; i++)
		((float *)g.pa)[i] = mgpu_test_rnd_float();
	for (i = 0; i < s->k * s->n; i++)
		((float *)g.pb)[i] = mgpu_test_rnd_float();
	for (i = 0; i < s->m * s->n; i++)
		pc[i] = c0[i] = nan_c ? (i & 1 ? NAN : INFINITY) :
				mgpu_test_rnd_float() * 8;

	snprintf(what, sizeof(what), "fp32 %ux%ux%u alpha %g beta %g%s",
		 s->m, s->n, s->k, alpha, beta,
		 nan_c ? " (NaN/Inf in C)" : "");
	mgpu_cmd_gemm_f32(&cmd, g.a, g.b, g.c, s->m, s->n, s->k, alpha, beta);
	gemm_run(_metadata, q, &cmd, &g, what);
	bad = mgpu_test_check_f32(pc, g.pa, g.pb, c0, s->m, s->n, s->k, alpha,
				  beta, msg, sizeof(msg));
	EXPECT_EQ(0, bad) TH_LOG("%s: %d wrong: %s", what, bad, msg);
	bad = mgpu_test_exact_f32(pc, g.pa, g.pb, c0, s->m, s->n, s->k, alpha,
				  beta, msg, sizeof(msg));
	EXPECT_EQ(0, bad) TH_LOG("%s: %d not the model's bits: %s", what, bad,
				 msg);
	gemm_free(dev, &g);
}

static inline void gemm_i8_one(struct __test_metadata *_metadata,
			       struct mgpu_dev *dev, struct mgpu_queue *q,
			       const struct shape *s, int32_t alpha,
			       int32_t beta)
{
	struct gemm_bufs g;
	struct mgpu_cmd cmd;
	char msg[160] = "", what[80];
	uint32_t i;
	int bad;

	gemm_alloc(_metadata, dev, s, 1, &g);
	mgpu_test_rnd_fill(g.pa, (size_t)s->m * s->k);
	mgpu_test_rnd_fill(g.pb, (size_t)s->k * s->n);
	for (i = 0; i < s->m * s->n; i++)
		((int32_t *)g.pc)[i] = ((int32_t *)g.c0)[i] =
			(int32_t)mgpu_test_rnd();

	snprintf(what, sizeof(what), "int8 %ux%ux%u alpha %d beta %d",
		 s->m, s->n, s->k, alpha, beta);
	mgpu_cmd_gemm_i8(&cmd, g.a, g.b, g.c, s->m, s->n, s->k, alpha, beta);
	gemm_run(_metadata, q, &cmd, &g, what);
	bad = mgpu_test_check_i8(g.pc, g.pa, g.pb, g.c0, s->m, s->n, s->k,
				 alpha, beta, msg, sizeof(msg));
	EXPECT_EQ(0, bad) TH_LOG("%s: %d wrong: %s", what, bad, msg);
	gemm_free(dev, &g);
}

#define GEMM_STREAM_N	128
#define GEMM_STREAM_LEN	100

/*
 * A long stream of fp32 GEMMs with a FENCE (IRQ) after each on queue @qi:
 * C at @c, fences of value 1.. at @slot.
 */
static inline int gemm_stream(struct mgpu_queue *q, uint64_t a, uint64_t b,
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

static inline uint64_t checksum(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < len / 8; i++)
		s = s * 31 + __atomic_load_n(&w[i], __ATOMIC_RELAXED);
	return s;
}

#endif /* _MGPU_ENGINE_H */
