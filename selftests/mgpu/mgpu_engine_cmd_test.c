// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport): every command against a CPU reference (NOP, FENCE, COPY,
 * FILL, TIMESTAMP, fp32 and int8 GEMM), fence ordering on one and on
 * several queues, DMA to mapped and unmapped IOVAs, and COPY in every
 * direction.
 *
 * One of the mgpu_engine_*_test programs; lib/mgpu_engine.h has what
 * they share.
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
#include "mgpu_engine.h"

/*
 * Not multiples of any block size; 2x37x4099 splits K across steps.  The
 * fp32 kernels tile C by 4-8 rows and 8-32 columns, pack 96 rows and 128
 * inner indexes at a time; a step takes up to 16 rows (8 once n > 512)
 * and cuts K where 128 Ki multiply-adds are spent: edges on each side of
 * those (17x33x257, 97x35x3), exact multiples (16x32x256), n = 1 and
 * k = 1, and 20x600x100, whose blocks of 8 rows end mid-K in a step.
 * 10x1024x20: rows of B 4 KiB apart, which the SSE2 and AVX2 kernels
 * copy into their work space (MGPU_PACK_B() in gemm_fp_tmpl.h).
 */
static const struct shape gemm_shapes[] = {
	{ 1, 1, 1 }, { 7, 13, 5 }, { 33, 17, 65 }, { 64, 64, 64 },
	{ 1, 64, 3 }, { 5, 1, 63 }, { 63, 2, 1 }, { 2, 37, 4099 },
	{ 17, 33, 257 }, { 97, 35, 3 }, { 16, 32, 256 }, { 3, 1, 300 },
	{ 1, 100, 1 }, { 9, 7, 1 }, { 20, 600, 100 }, { 10, 1024, 20 },
};

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
	mgpu_test_rnd_seed(0x5eed0001);
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

	for (i = 0; i < ARRAY_SIZE(fill_sizes); i++) {
		uint64_t size = fill_sizes[i], bad = 0;
		uint32_t *d = (uint32_t *)(p + guard + 4);

		memset(p, 0x5a, max + 2 * guard);
		pattern = mgpu_test_rnd() | 1;
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
	for (i = 0; i < ARRAY_SIZE(fill_sizes); i++) {
		uint64_t size = fill_sizes[i], bad = 0;
		uint32_t *p = (uint32_t *)((uint8_t *)d.cpu + guard + 4);
		uint32_t pattern = mgpu_test_rnd() | 1;

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
		{ -0.0f, 1.0f }, { 1.0f, 1.0f }, { 0.1f, 3.0e-39f },
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(gemm_shapes); i++)
		for (j = 0; j < ARRAY_SIZE(ab); j++)
			gemm_f32_one(_metadata, self->dev, self->q,
				     &gemm_shapes[i], ab[j][0], ab[j][1],
				     false);
}

TEST_F(cmd, gemm_f32_beta0_ignores_c)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gemm_shapes); i++)
		gemm_f32_one(_metadata, self->dev, self->q, &gemm_shapes[i],
			     i & 1 ? -0.75f : 1.0f, i % 3 ? 0.0f : -0.0f, true);
}

#define GEMM_SIMD	"/sys/module/mgpu/parameters/gemm_simd"

/*
 * Every fp32 kernel the CPU has (module parameter gemm_simd: SSE2, at
 * most AVX2, at most AVX-512) gives the model's bits on the edge shapes.
 */
TEST_F(cmd, gemm_f32_every_kernel)
{
	static const char *const simd[] = { "1", "2", "3", "0" };
	char saved[16];
	unsigned int i, j;

	if (mgpu_test_read_attr(GEMM_SIMD, saved, sizeof(saved)) <= 0 ||
	    access(GEMM_SIMD, W_OK))
		SKIP(return, "%s is not writable", GEMM_SIMD);
	__builtin_cpu_init();
	TH_LOG("this CPU: avx2 %s, avx512f %s", __builtin_cpu_supports("avx2") ?
	       "yes" : "no", __builtin_cpu_supports("avx512f") ? "yes" : "no");
	for (j = 0; j < ARRAY_SIZE(simd); j++) {
		ASSERT_EQ(0, mgpu_test_write_attr(GEMM_SIMD, simd[j]));
		for (i = 0; i < ARRAY_SIZE(gemm_shapes); i++)
			gemm_f32_one(_metadata, self->dev, self->q,
				     &gemm_shapes[i], -1.25f, 0.5f, false);
	}
	EXPECT_EQ(0, mgpu_test_write_attr(GEMM_SIMD, saved));
}

TEST_F(cmd, gemm_i8)
{
	static const int32_t ab[][2] = {
		{ 1, 0 }, { -3, 7 }, { 0x7fffffff, -0x7fffffff - 1 }, { 0, -1 },
	};
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(gemm_shapes); i++)
		for (j = 0; j < ARRAY_SIZE(ab); j++)
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
		pa[i] = mgpu_test_rnd_float();
	mgpu_cmd_gemm_f32(&cmd, a, a, c, 24, 24, 24, 1.0f, 0.0f);
	ASSERT_RUN(self->q, &cmd, 1);
	EXPECT_EQ(0, mgpu_test_check_f32(pc, pa, pa, c0, s.m, s.n, s.k, 1.0f,
					 0.0f, msg, sizeof(msg)))
		TH_LOG("A x A: %s", msg);
	mgpu_test_rnd_fill(ia, 24 * 24);
	mgpu_cmd_gemm_i8(&cmd, a, a, c, 24, 24, 24, 1, 0);
	ASSERT_RUN(self->q, &cmd, 1);
	EXPECT_EQ(0, mgpu_test_check_i8((int32_t *)pc, ia, ia, (int32_t *)c0,
					s.m, s.n, s.k, 1, 0, msg, sizeof(msg)))
		TH_LOG("int8 A x A: %s", msg);
	free(c0);
}

TEST_F(cmd, gemm_random_shapes)
{
	uint64_t seed = mgpu_test_now_ns();
	unsigned int i;

	TH_LOG("seed %#llx", (unsigned long long)seed);
	mgpu_test_rnd_seed(seed);
	for (i = 0; i < 12; i++) {
		struct shape s = { 1 + mgpu_test_rnd() % 64, 1 + mgpu_test_rnd() % 64,
				   1 + mgpu_test_rnd() % 64 };

		if (i & 1)
			gemm_i8_one(_metadata, self->dev, self->q, &s,
				    (int32_t)mgpu_test_rnd(), (int32_t)mgpu_test_rnd());
		else
			gemm_f32_one(_metadata, self->dev, self->q, &s,
				     mgpu_test_rnd_float(), i % 4 ? mgpu_test_rnd_float() : 0.0f,
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
	mgpu_test_rnd_fill(buf, size);
	ASSERT_EQ(0, mgpu_dma_map(self->dev, buf, size, &iova));
	ASSERT_EQ(0, mgpu_copy(self->q, v, iova, size, MGPU_F_SRC_SYSMEM));
	EXPECT_EQ(0, memcmp(pv, buf, size));
	mgpu_test_rnd_fill(pv, size);
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
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
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
	} while (main_val < nf && mgpu_test_now_ms() < end && bad < 10);
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
		mgpu_test_rnd_fill(vptr(self->dev, t[i].src), 64 * KiB);
		t[i].rounds = 100;
	}
	for (i = 0; i < nq; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, qthread_fn, &t[i]));
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
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
	} while (running && mgpu_test_now_ms() < end);
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
	mgpu_test_rnd_seed(0x5eed0002);
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
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		uint64_t size = sizes[i];
		/* Odd offsets: COPY has no alignment rule. */
		uint64_t so = guard + (i % 3), doff = guard + (i % 5);

		mgpu_test_rnd_fill(src.cpu, max + 2 * guard);
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
		mgpu_test_rnd_fill(src.cpu, 300 * KiB);
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

MGPU_TEST_HARNESS_MAIN
