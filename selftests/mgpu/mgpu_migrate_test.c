// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration through the VFIO migration v2 uAPI, as a VMM drives it
 * (QEMU's hw/vfio/migration.c): the state machine, a stream from a
 * source instance into a destination instance, pre-copy with the VRAM
 * the source keeps writing, a GEMM chain stopped half-way and finished
 * on the destination, a queue stopped on an error, and every way a
 * destination must refuse a stream (another type, garbage, a truncated
 * or doctored stream) while the source keeps running.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_engine.h"
#include "mgpu_mig.h"

#define PAGE		4096ULL


/* The stream's records (Documentation/device-model.rst, migration). */
struct rec {
	uint32_t kind, reserved;
	uint64_t arg, len;
};

enum { REC_HEADER = 1, REC_VRAM, REC_DEVICE, REC_END };

struct mqueue {
	uint64_t ring, completed, progress;
	uint32_t ring_size, ctrl, head, tail, error, error_head, tail_addr;
	uint32_t cur_valid;
	struct mgpu_cmd cur;
};

#define DEV_QUEUES_OFF	(256 + 16)

/* VFIO_DEVICE_FEATURE_MIG_DATA_SIZE (6.2 and later), or -1 */
static int64_t mig_data_size(int fd)
{
	struct vfio_device_feature_mig_data_size d = { 0 };

	if (vfio_feature(fd, VFIO_DEVICE_FEATURE_GET |
			 VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &d, sizeof(d)))
		return -1;
	return d.stop_copy_length;
}

FIXTURE(mig) {
	struct eng_base b;
	int fd[2];
	struct stream s;
};

FIXTURE_VARIANT(mig) {
	const char *src_type, *dst_type;
};

FIXTURE_VARIANT_ADD(mig, same_type) {
	.src_type = "mgpu-1_4", .dst_type = "mgpu-1_4",
};

FIXTURE_SETUP(mig)
{
	if (!eng_can_create(_metadata, variant->src_type, 2))
		return;
	eng_instance(_metadata, &self->b, 0, variant->src_type, true);
	eng_instance(_metadata, &self->b, 1, variant->dst_type, true);
	self->fd[0] = mgpu_vfio_device_fd(self->b.dev[0]);
	self->fd[1] = mgpu_vfio_device_fd(self->b.dev[1]);
	self->s.buf = malloc(MIG_STREAM_MAX);
	ASSERT_NE(NULL, self->s.buf);
	self->s.len = 0;
	if (!(mig_flags(self->fd[0]) & VFIO_MIGRATION_STOP_COPY))
		SKIP(return, "the device does not migrate");
}

FIXTURE_TEARDOWN_PARENT(mig)
{
	eng_remove_all(&self->b.inst);
}

/*
 * @key of debugfs's "migration" file of instance @uuid, or -1 when there
 * is no debugfs (not mounted, or a kernel without it).
 */
static long long mig_stat(const char *uuid, const char *key)
{
	char path[128], k[32];
	long long v, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/mgpu/%s/migration",
		 uuid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%31s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/*
 * Run @cmd on queue @q of @dev by hand (the destination's restored ring).
 * Return: the COMPLETED count that says it ran.
 */
static uint64_t raw_submit(struct mgpu_dev *dev, unsigned int q,
			   const struct mgpu_cmd *cmd)
{
	uint64_t ring = (uint64_t)qrd(dev, q, MGPU_Q_RING_HI) << 32 |
			qrd(dev, q, MGPU_Q_RING_LO);
	uint32_t size = qrd(dev, q, MGPU_Q_RING_SIZE);
	uint32_t tail = qrd(dev, q, MGPU_Q_TAIL);
	/* Before the doorbell: the engine may be done before we look. */
	uint64_t want = q_completed(dev, q) + 1;

	memcpy(vptr(dev, ring + (uint64_t)tail * MGPU_CMD_SIZE), cmd,
	       sizeof(*cmd));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	qwr(dev, q, MGPU_Q_TAIL, (tail + 1) & (size - 1));
	return want;
}

static bool wait_completed(struct mgpu_dev *dev, unsigned int q,
			   uint64_t n)
{
	uint64_t end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;

	while (q_completed(dev, q) < n) {
		if (mgpu_test_now_ms() > end)
			return false;
		usleep(500);
	}
	return true;
}

TEST_F(mig, states)
{
	uint64_t flags = mig_flags(self->fd[0]);
	int fd = self->fd[0];

	TH_LOG("migration flags %#llx", (unsigned long long)flags);
	EXPECT_TRUE(flags & VFIO_MIGRATION_P2P);
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING, vfio_mig_get(fd));
	/* Not states a user can ask for. */
	EXPECT_EQ(-EINVAL, vfio_mig_set(fd, VFIO_DEVICE_STATE_ERROR, NULL));
	EXPECT_EQ(-EINVAL, vfio_mig_set(fd, 42, NULL));
	/* Arcs, single and combined, and back. */
	EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING_P2P, NULL));
	EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_STOP, NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_STOP, vfio_mig_get(fd));
	EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING, NULL));
	EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_RESUMING, NULL));
	EXPECT_EQ(VFIO_DEVICE_STATE_RESUMING, vfio_mig_get(fd));
	/* An empty stream is no state: refused, and the device says so. */
	EXPECT_EQ(-EINVAL, vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING, NULL));
	/* A reset brings it back to RUNNING, working. */
	EXPECT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));
	EXPECT_EQ(VFIO_DEVICE_STATE_RUNNING, vfio_mig_get(fd));
	if (flags & VFIO_MIGRATION_PRE_COPY) {
		int dfd;
		struct vfio_precopy_info info = { .argsz = sizeof(info) };

		EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_PRE_COPY, &dfd));
		EXPECT_LE(0, dfd);
		EXPECT_EQ(0, ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, &info));
		EXPECT_NE(0, info.initial_bytes);	/* the header at least */
		/* Cancelled: the session ends, the device runs on. */
		EXPECT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING, NULL));
		EXPECT_EQ(-1, read(dfd, &info, 1));
		EXPECT_EQ(ENODEV, errno);
		close(dfd);
	}
}

/* Stop-copy: VRAM, registers and queues arrive; the queue goes on. */
TEST_F(mig, stop_copy)
{
	struct mgpu_dev *a = self->b.dev[0], *b = self->b.dev[1];
	struct mgpu_queue *q = qopen(_metadata, a, 0, 0, 0);
	uint64_t v = vram_get(_metadata, a, 4 << 20, PAGE), n;
	struct mgpu_cmd c;
	unsigned int r;

	mgpu_test_rnd_seed(0x1716);
	mgpu_test_rnd_fill(vptr(a, v), 1 << 20);
	ASSERT_EQ(0, mgpu_fill(q, v + (1 << 20), 3 << 20, 0xfeedf00d, 0));
	wr(a, MGPU_REG_SCRATCH, 0x5ca1ab1e);
	wr(a, MGPU_REG_INT_MASK, MGPU_INT_FENCE);

	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[0], &self->s));
	TH_LOG("stream: %zu bytes", self->s.len);
	ASSERT_EQ(0, resume(self->fd[1], &self->s));
	/* debugfs counts the session: all of it in stop-copy here. */
	if (mig_stat(self->b.uuid[0], "stopcopy_bytes") >= 0) {
		EXPECT_EQ((long long)self->s.len,
			  mig_stat(self->b.uuid[0], "stopcopy_bytes"));
		EXPECT_EQ(0, mig_stat(self->b.uuid[0], "precopy_bytes"));
		EXPECT_LT(0, mig_stat(self->b.uuid[0], "stopcopy_us"));
		EXPECT_EQ((long long)self->s.len,
			  mig_stat(self->b.uuid[1], "resumed_bytes"));
	}
	EXPECT_TRUE(same_vram(a, b));
	EXPECT_EQ(0x5ca1ab1e, rd(b, MGPU_REG_SCRATCH));
	EXPECT_EQ(MGPU_INT_FENCE, rd(b, MGPU_REG_INT_MASK));
	for (r = MGPU_Q_RING_LO; r <= MGPU_Q_COMPLETED_HI; r += 4)
		EXPECT_EQ(qrd(a, 0, r), qrd(b, 0, r)) TH_LOG("reg %#x", r);

	/* The destination's queue runs the next command. */
	mgpu_cmd_fill(&c, v, PAGE, 0x600df00d, 0);
	n = raw_submit(b, 0, &c);
	EXPECT_TRUE(wait_completed(b, 0, n));
	EXPECT_EQ(0x600df00d, *(uint32_t *)vptr(b, v));
	/* The source, back to RUNNING, runs too (a cancelled migration). */
	ASSERT_EQ(0, vfio_mig_set(self->fd[0], VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, mgpu_fill(q, v, PAGE, 0x0dd, 0));
	EXPECT_EQ(0x0dd, *(uint32_t *)vptr(a, v));
}

/* Pre-copy carries VRAM; what the source writes meanwhile follows. */
TEST_F(mig, precopy)
{
	struct mgpu_dev *a = self->b.dev[0], *b = self->b.dev[1];
	struct vfio_precopy_info info = { .argsz = sizeof(info) };
	struct mgpu_queue *q = qopen(_metadata, a, 0, 0, 0);
	uint64_t v = vram_get(_metadata, a, 8 << 20, PAGE);
	size_t pre, before;
	unsigned int i;
	int dfd, fd = self->fd[0];
	int64_t ds;

	if (!(mig_flags(fd) & VFIO_MIGRATION_PRE_COPY))
		SKIP(return, "no PRE_COPY on this kernel");
	mgpu_test_rnd_seed(0x9e);
	mgpu_test_rnd_fill(vptr(a, v), 8 << 20);
	/* The stop-copy size: all of it before pre-copy... */
	ds = mig_data_size(fd);
	if (ds >= 0)
		EXPECT_LE(8LL << 20, ds);
	ASSERT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_PRE_COPY, &dfd));
	ASSERT_EQ(0, ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, &info));
	EXPECT_LE(8ULL << 20, info.initial_bytes);
	/* The initial pass, then a temporary end of stream. */
	EXPECT_EQ(-ENOMSG, drain(dfd, &self->s));
	pre = self->s.len;
	EXPECT_LE(8ULL << 20, pre);
	ASSERT_EQ(0, ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, &info));
	EXPECT_EQ(0, info.initial_bytes);
	EXPECT_EQ(0, info.dirty_bytes);
	/*
	 * ...and only what is left once pre-copy has sent the pages (the
	 * device state): QEMU waits for it to fit in its downtime limit.
	 */
	ds = mig_data_size(fd);
	if (ds >= 0) {
		TH_LOG("stop-copy size after the initial pass: %lld bytes", (long long)ds);
		EXPECT_GT(64LL * 1024, ds);
	}

	/* The guest's CPU and the engine write while pre-copy goes on. */
	for (i = 0; i < 16; i++)
		*(uint32_t *)vptr(a, v + i * 64 * PAGE) = 0xc0de0000 + i;
	ASSERT_EQ(0, mgpu_fill(q, v + (4 << 20), 2 * PAGE, 0xabcdabcd, 0));
	ASSERT_EQ(0, ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, &info));
	EXPECT_LE(18 * PAGE, info.dirty_bytes);
	ds = mig_data_size(fd);
	if (ds >= 0)
		EXPECT_LE((int64_t)(18 * PAGE), ds);
	before = self->s.len;
	EXPECT_EQ(-ENOMSG, drain(dfd, &self->s));
	TH_LOG("pre-copy: %zu bytes, then %zu for the writes", pre,
	       self->s.len - before);
	EXPECT_GT(40 * PAGE, self->s.len - before);	/* only those pages */

	/* More writes, then stop: stop-copy carries them and the state. */
	*(uint32_t *)vptr(a, v + 100 * PAGE) = 0xfee1600d;
	ASSERT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_PRE_COPY_P2P, NULL));
	ASSERT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_STOP_COPY, NULL));
	before = self->s.len;
	EXPECT_EQ(0, drain(dfd, &self->s));
	close(dfd);
	TH_LOG("stop-copy: %zu bytes", self->s.len - before);
	EXPECT_GT(64 * 1024, self->s.len - before);
	/* debugfs splits the session as the reads above did. */
	if (mig_stat(self->b.uuid[0], "precopy_bytes") >= 0) {
		EXPECT_EQ((long long)before,
			  mig_stat(self->b.uuid[0], "precopy_bytes"));
		EXPECT_EQ((long long)(self->s.len - before),
			  mig_stat(self->b.uuid[0], "stopcopy_bytes"));
		EXPECT_LT(0, mig_stat(self->b.uuid[0], "stopcopy_us"));
	}
	ASSERT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_STOP, NULL));
	ASSERT_EQ(0, resume(self->fd[1], &self->s));
	EXPECT_TRUE(same_vram(a, b));
	EXPECT_EQ(0xfee1600d, *(uint32_t *)vptr(b, v + 100 * PAGE));
}

/* A GEMM chain stopped half-way goes on where it was on the destination. */
TEST_F_TIMEOUT(mig, gemm_in_flight, 120)
{
	struct mgpu_dev *a = self->b.dev[0], *b = self->b.dev[1];
	const unsigned int d = 256, chain = 8;
	struct mgpu_queue *q = qopen(_metadata, a, 0, 0, 0);
	uint64_t va = vram_get(_metadata, a, d * d * 4, PAGE);
	uint64_t vb = vram_get(_metadata, a, d * d * 4, PAGE);
	uint64_t vc = vram_get(_metadata, a, d * d * 4, PAGE);
	float *ha = vptr(a, va), *hb = vptr(a, vb), *hc = vptr(a, vc), *ref;
	struct mgpu_cmd cmds[8];
	unsigned int i, j, k, bad = 0;
	uint64_t done;

	/* Small integers: every sum is exact, the result bitwise known. */
	mgpu_test_rnd_seed(0x6e33);
	for (i = 0; i < d * d; i++) {
		ha[i] = (float)((int)(mgpu_test_rnd() % 5) - 2);
		hb[i] = (float)((int)(mgpu_test_rnd() % 5) - 2);
		hc[i] = 1.0f;
	}
	ref = calloc(d * d, sizeof(float));
	ASSERT_NE(NULL, ref);
	for (i = 0; i < d; i++)
		for (j = 0; j < d; j++) {
			float s = 0;

			for (k = 0; k < d; k++)
				s += ha[i * d + k] * hb[k * d + j];
			ref[i * d + j] = 1.0f + chain * s;
		}
	/* C += A x B, eight times: redoing any part would show. */
	for (i = 0; i < chain; i++)
		mgpu_cmd_gemm_f32(&cmds[i], va, vb, vc, d, d, d, 1.0f, 1.0f);
	ASSERT_EQ(0, mgpu_submit(q, cmds, chain));
	ASSERT_TRUE(wait_completed(a, 0, 1));
	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[0], &self->s));
	done = q_completed(a, 0);
	TH_LOG("stopped after %llu of %u GEMMs", (unsigned long long)done,
	       chain);
	EXPECT_GT(chain, done);
	ASSERT_EQ(0, resume(self->fd[1], &self->s));
	ASSERT_TRUE(wait_completed(b, 0, chain));
	hc = vptr(b, vc);
	for (i = 0; i < d * d; i++)
		bad += hc[i] != ref[i];
	EXPECT_EQ(0, bad) TH_LOG("first: %f, want %f", hc[0], ref[0]);
	EXPECT_EQ(0, qrd(b, 0, MGPU_Q_ERROR));
	free(ref);
}

/*
 * A chain of fp32 GEMMs stopped between steps several times, there and
 * back: the result has the bits of an uninterrupted run, the model's
 * (device-model.rst, "GEMM arithmetic").  Random floats, so that any
 * change in the order of the sums would show in the last bits.
 */
TEST_F_TIMEOUT(mig, gemm_bits_across_stops, 180)
{
	struct mgpu_dev *dev[2] = { self->b.dev[0], self->b.dev[1] };
	const unsigned int m = 83, n = 200, k = 300, chain = 8, stops = 5;
	struct mgpu_queue *q = qopen(_metadata, dev[0], 0, 0, 0);
	uint64_t va = vram_get(_metadata, dev[0], m * k * 4, PAGE);
	uint64_t vb = vram_get(_metadata, dev[0], k * n * 4, PAGE);
	uint64_t vc = vram_get(_metadata, dev[0], m * n * 4, PAGE);
	float *ha = vptr(dev[0], va), *hb = vptr(dev[0], vb);
	float *hc = vptr(dev[0], vc), *ref;
	unsigned int i, cur = 0, mid = 0, bad = 0;
	struct mgpu_cmd cmds[8];
	uint32_t x, y;

	mgpu_test_rnd_seed(0x5e9b);
	for (i = 0; i < m * k; i++)
		ha[i] = mgpu_test_rnd_float();
	for (i = 0; i < k * n; i++)
		hb[i] = mgpu_test_rnd_float();
	for (i = 0; i < m * n; i++)
		hc[i] = mgpu_test_rnd_float();
	ref = malloc(m * n * sizeof(*ref));
	ASSERT_NE(NULL, ref);
	memcpy(ref, hc, m * n * sizeof(*ref));
	for (i = 0; i < chain; i++) {
		mgpu_test_gemm_f32(ha, hb, ref, m, n, k, 0.75f, -0.625f);
		mgpu_cmd_gemm_f32(&cmds[i], va, vb, vc, m, n, k, 0.75f, -0.625f);
	}
	ASSERT_EQ(0, mgpu_submit(q, cmds, chain));
	/* The first stop while the chain surely runs, then every ~30 ms. */
	ASSERT_TRUE(wait_completed(dev[0], 0, 1));
	for (i = 0; i < stops; i++) {
		if (i)
			usleep(10000 + 10000 * i);
		self->s.len = 0;
		ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[cur], &self->s));
		mid += q_completed(dev[cur], 0) < chain;
		ASSERT_EQ(0, resume(self->fd[!cur], &self->s));
		cur = !cur;
	}
	TH_LOG("%u of %u stops inside the chain", mid, stops);
	EXPECT_LT(0, mid);
	ASSERT_TRUE(wait_completed(dev[cur], 0, chain));
	hc = vptr(dev[cur], vc);
	for (i = 0; i < m * n; i++) {
		memcpy(&x, &hc[i], 4);
		memcpy(&y, &ref[i], 4);
		if (x != y && !bad++)
			TH_LOG("C[%u][%u] = %a, uninterrupted %a", i / n, i % n,
			       hc[i], ref[i]);
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, qrd(dev[cur], 0, MGPU_Q_ERROR));
	free(ref);
}

/* There and back: A to B, B works, B back to A, A works. */
TEST_F(mig, there_and_back)
{
	struct mgpu_dev *a = self->b.dev[0], *b = self->b.dev[1];
	uint64_t v = vram_get(_metadata, a, 1 << 20, PAGE), n;
	struct mgpu_cmd c;

	qopen(_metadata, a, 0, 0, 0);	/* queue 0 runs, by hand below */
	mgpu_test_rnd_seed(0xaba);
	mgpu_test_rnd_fill(vptr(a, v), 1 << 20);
	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[0], &self->s));
	ASSERT_EQ(0, resume(self->fd[1], &self->s));
	mgpu_cmd_fill(&c, v + PAGE, PAGE, 0xb0b0b0b0, 0);
	n = raw_submit(b, 0, &c);
	ASSERT_TRUE(wait_completed(b, 0, n));

	self->s.len = 0;
	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[1], &self->s));
	/* A, stopped since it was saved, takes B's state. */
	ASSERT_EQ(0, resume(self->fd[0], &self->s));
	EXPECT_TRUE(same_vram(a, b));
	EXPECT_EQ(0xb0b0b0b0, *(uint32_t *)vptr(a, v + PAGE));
	EXPECT_EQ(n, q_completed(a, 0));
	mgpu_cmd_fill(&c, v, PAGE, 0xa0a0a0a0, 0);
	n = raw_submit(a, 0, &c);
	EXPECT_TRUE(wait_completed(a, 0, n));
	EXPECT_EQ(0xa0a0a0a0, *(uint32_t *)vptr(a, v));
}

/* A queue stopped on an error arrives stopped, with its error. */
TEST_F(mig, error_survives)
{
	struct mgpu_dev *a = self->b.dev[0], *b = self->b.dev[1];
	struct mgpu_queue *q = qopen(_metadata, a, 1, 0, 0);
	struct mgpu_cmd c = { .opcode = 0x77 };

	ASSERT_EQ(0, mgpu_submit(q, &c, 1));
	expect_stopped(_metadata, a, 1, MGPU_ERR_BAD_OPCODE, 0);
	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[0], &self->s));
	ASSERT_EQ(0, resume(self->fd[1], &self->s));
	EXPECT_EQ(MGPU_ERR_BAD_OPCODE, qrd(b, 1, MGPU_Q_ERROR));
	EXPECT_EQ(qrd(a, 1, MGPU_Q_ERROR_HEAD), qrd(b, 1, MGPU_Q_ERROR_HEAD));
	EXPECT_EQ(qrd(a, 1, MGPU_Q_STATUS), qrd(b, 1, MGPU_Q_STATUS));
}

/* Hostile or broken streams: refused, the destination still works. */
TEST_F(mig, refused_streams)
{
	struct mgpu_dev *a = self->b.dev[0], *b = self->b.dev[1];
	struct mgpu_queue *q = qopen(_metadata, a, 0, 0, 0);
	uint64_t v = vram_get(_metadata, a, 1 << 20, PAGE);
	struct stream bad = { .buf = malloc(MIG_STREAM_MAX) };
	size_t off, dev_off = 0;
	struct mqueue *mq;
	int dfd, fd = self->fd[1];
	unsigned int i;

	ASSERT_NE(NULL, bad.buf);
	ASSERT_EQ(0, mgpu_fill(q, v, 1 << 20, 0x12121212, 0));
	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[0], &self->s));
	for (off = 0; off < self->s.len;) {
		struct rec *r = (void *)(self->s.buf + off);

		if (r->kind == REC_DEVICE)
			dev_off = off + sizeof(*r);
		off += sizeof(*r) + r->len;
	}
	ASSERT_EQ(self->s.len, off);
	ASSERT_NE(0, dev_off);

	/* Garbage: the write fails, so does leaving RESUMING. */
	ASSERT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_RESUMING, &dfd));
	memset(bad.buf, 0x5a, 4096);
	EXPECT_EQ(-EINVAL, feed(dfd, bad.buf, 4096));
	close(dfd);
	EXPECT_EQ(-EINVAL, vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));

	/* Truncated: everything but the end record. */
	ASSERT_EQ(0, vfio_mig_set(fd, VFIO_DEVICE_STATE_RESUMING, &dfd));
	EXPECT_EQ(0, feed(dfd, self->s.buf, self->s.len - sizeof(struct rec)));
	close(dfd);
	EXPECT_EQ(-EINVAL, vfio_mig_set(fd, VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));

	/* Doctored queue 0: a ring size that is no power of two. */
	memcpy(bad.buf, self->s.buf, self->s.len);
	bad.len = self->s.len;
	mq = (void *)(bad.buf + dev_off + DEV_QUEUES_OFF);
	mq->ring_size = 3;
	EXPECT_EQ(-EINVAL, resume(fd, &bad));
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));
	/* ...and a command in flight further along than it can be. */
	memcpy(bad.buf, self->s.buf, self->s.len);
	mq->cur_valid = 1;
	mgpu_cmd_fill(&mq->cur, 0, PAGE, 0, 0);
	mq->progress = 2 * PAGE;
	EXPECT_EQ(-EINVAL, resume(fd, &bad));
	ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));
	/*
	 * A GEMM in flight (64^3): row 5 at inner index 17, as streams from
	 * before blocks of rows have it, resumes; a block of 17 rows, or
	 * one past the last row, does not (migration.rst).
	 */
	for (i = 0; i < 3; i++) {
		static const uint64_t prog[3] = {
			5ULL << 32 | 17, 5ULL << 32 | 16 << 16 | 17,
			60ULL << 32 | 4 << 16 | 17,
		};

		memcpy(bad.buf, self->s.buf, self->s.len);
		mq->cur_valid = 1;
		mgpu_cmd_gemm_f32(&mq->cur, 0, 64 * 64 * 4, 2 * 64 * 64 * 4,
				  64, 64, 64, 1.0f, 0.0f);
		mq->progress = prog[i];
		EXPECT_EQ(i ? -EINVAL : 0, resume(fd, &bad))
			TH_LOG("GEMM progress %#llx",
			       (unsigned long long)prog[i]);
		ASSERT_EQ(0, ioctl(fd, VFIO_DEVICE_RESET));
	}

	/* After all that the real stream still resumes. */
	EXPECT_EQ(0, resume(fd, &self->s));
	EXPECT_TRUE(same_vram(a, b));
	free(bad.buf);
}

/* A destination of another type: refused with a reason; source runs on. */
TEST_F(mig, other_type)
{
	struct mgpu_dev *a = self->b.dev[0];
	struct mgpu_queue *q = qopen(_metadata, a, 0, 0, 0);
	uint64_t v = vram_get(_metadata, a, PAGE, PAGE);
	char uuid[MGPU_UUID_BUF];
	struct mgpu_dev *c = NULL;
	int dfd;

	if (mgpu_test_available(mgpu_test_parent, "mgpu-1_8") < 1)
		SKIP(return, "no room for a mgpu-1_8 instance");
	ASSERT_EQ(0, mgpu_test_instances_create(&self->b.inst, mgpu_test_parent,
						"mgpu-1_8", uuid));
	ASSERT_EQ(0, mgpu_open_vfio(uuid, &c));
	ASSERT_EQ(0, save_stop_copy(_metadata, self->fd[0], &self->s));
	ASSERT_EQ(0, vfio_mig_set(mgpu_vfio_device_fd(c),
			     VFIO_DEVICE_STATE_RESUMING, &dfd));
	EXPECT_EQ(-EINVAL, feed(dfd, self->s.buf, self->s.len));
	close(dfd);
	EXPECT_EQ(-EINVAL, vfio_mig_set(mgpu_vfio_device_fd(c),
				   VFIO_DEVICE_STATE_RUNNING, NULL));
	mgpu_close(c);
	ASSERT_EQ(0, vfio_mig_set(self->fd[0], VFIO_DEVICE_STATE_RUNNING, NULL));
	ASSERT_EQ(0, mgpu_fill(q, v, PAGE, 0x5005, 0));
	EXPECT_EQ(0x5005, *(uint32_t *)vptr(a, v));
}

/* Device DMA logging: the guest pages the vGPU wrote, and no others. */
TEST_F(mig, dma_logging)
{
	struct mgpu_dev *a = self->b.dev[0];
	struct mgpu_queue *q = qopen(_metadata, a, 0, 0, 0);
	uint64_t v = vram_get(_metadata, a, PAGE, PAGE), bitmap = 0;
	struct vfio_device_feature_dma_logging_range range;
	struct vfio_device_feature_dma_logging_control ctl = {
		.page_size = PAGE, .num_ranges = 1,
		.ranges = (uintptr_t)&range,
	};
	struct vfio_device_feature_dma_logging_report rep = {
		.page_size = PAGE, .bitmap = (uintptr_t)&bitmap,
	};
	int fd = self->fd[0], ret;
	struct mgpu_dma d;

	ret = vfio_feature(fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
		      VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, 0);
	if (ret == -ENOTTY)
		SKIP(return, "no DMA logging: the VFIO core cannot report it here (no iova_bitmap, CONFIG_IOMMUFD_DRIVER)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, mgpu_dma_alloc(a, 8 * PAGE, &d));
	range.iova = d.iova;
	range.length = 8 * PAGE;
	rep.iova = d.iova;
	rep.length = 8 * PAGE;
	ASSERT_EQ(0, vfio_feature(fd, VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
			     &ctl, sizeof(ctl)));
	/* The engine writes guest pages 1 and 6 (a copy and a fence). */
	ASSERT_EQ(0, mgpu_copy(q, d.iova + PAGE + 100, v, 64,
			       MGPU_F_DST_SYSMEM));
	{
		struct mgpu_cmd c;

		mgpu_cmd_fence(&c, d.iova + 6 * PAGE, 1, MGPU_F_DST_SYSMEM);
		ASSERT_EQ(0, run(q, &c, 1));
	}
	/* Reading guest memory is no write. */
	ASSERT_EQ(0, mgpu_copy(q, v, d.iova + 3 * PAGE, 64,
			       MGPU_F_SRC_SYSMEM));
	ASSERT_EQ(0, vfio_feature(fd, VFIO_DEVICE_FEATURE_GET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			     &rep, sizeof(rep)));
	EXPECT_EQ(1ULL << 1 | 1ULL << 6, bitmap);
	/* Reported, cleared. */
	bitmap = 0;
	ASSERT_EQ(0, vfio_feature(fd, VFIO_DEVICE_FEATURE_GET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
			     &rep, sizeof(rep)));
	EXPECT_EQ(0, bitmap);
	EXPECT_EQ(0, vfio_feature(fd, VFIO_DEVICE_FEATURE_SET |
			     VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0));
	EXPECT_EQ(0, mgpu_dma_free(a, &d));
}

/*
 * DMA logging as a hostile VMM drives it: bad page sizes, no, too many,
 * overlapping or wrapping ranges, bad pointers, a report before a start
 * and after a stop, two starts.  Each gets a clean errno (a report
 * without logging and a second start are refused by mgpu; the rest by
 * the VFIO core); a valid start afterwards works.
 */
TEST_F(mig, dma_logging_garbage)
{
	struct vfio_device_feature_dma_logging_range r[2];
	struct vfio_device_feature_dma_logging_control ctl = {
		.page_size = PAGE, .num_ranges = 1, .ranges = (uintptr_t)r,
	};
	uint64_t bitmap[4] = { 0 };
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = 1ULL << 30, .length = 8 * PAGE, .page_size = PAGE,
		.bitmap = (uintptr_t)bitmap,
	};
	const uint32_t start = VFIO_DEVICE_FEATURE_SET |
			       VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
	const uint32_t report = VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
	const uint32_t stop = VFIO_DEVICE_FEATURE_SET |
			      VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP;
	int fd = self->fd[0], ret;

	if (vfio_feature(fd, VFIO_DEVICE_FEATURE_PROBE | start, &ctl, 0) ==
	    -ENOTTY)
		SKIP(return, "no DMA logging here");
	r[0].iova = 1ULL << 30;
	r[0].length = 16 * PAGE;
	r[1] = r[0];

	/* Not started: no report (it would say "nothing written"). */
	EXPECT_EQ(-EINVAL, vfio_feature(fd, report, &rep, sizeof(rep)));
	/* Page sizes: zero, not a power of two. */
	ctl.page_size = 0;
	EXPECT_EQ(-EINVAL, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	/* A page size the device does not do: it says which it took. */
	ctl.page_size = 2 * PAGE;
	ASSERT_EQ(0, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	EXPECT_EQ(PAGE, ctl.page_size);
	EXPECT_EQ(0, vfio_feature(fd, stop, NULL, 0));
	ctl.page_size = PAGE;
	/* No ranges, too many, a bad pointer. */
	ctl.num_ranges = 0;
	EXPECT_EQ(-EINVAL, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	ctl.num_ranges = 1U << 31;
	EXPECT_NE(0, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	ctl.num_ranges = 1;
	ctl.ranges = 8;
	EXPECT_EQ(-EFAULT, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	ctl.ranges = (uintptr_t)r;
	/* Two ranges that overlap; one that wraps. */
	ctl.num_ranges = 2;
	EXPECT_EQ(-EINVAL, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	ctl.num_ranges = 1;
	r[0].iova = ~0ULL & ~(uint64_t)(PAGE - 1);
	r[0].length = 2 * PAGE;
	EXPECT_NE(0, vfio_feature(fd, start, &ctl, sizeof(ctl)));

	/* A valid start; a second one is refused while the first runs. */
	r[0].iova = 1ULL << 30;
	r[0].length = 16 * PAGE;
	ASSERT_EQ(0, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	EXPECT_NE(0, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	/* Reports: fine; a bad bitmap; a bad page size. */
	EXPECT_EQ(0, vfio_feature(fd, report, &rep, sizeof(rep)));
	EXPECT_EQ(0, bitmap[0]);
	/*
	 * A bad bitmap: EFAULT, or 0 where the core maps the user's bitmap
	 * only to set bits (iova_bitmap since 6.9) and nothing was logged.
	 */
	rep.bitmap = 8;
	ret = vfio_feature(fd, report, &rep, sizeof(rep));
	EXPECT_TRUE(ret == 0 || ret == -EFAULT) TH_LOG("bad bitmap: %d", ret);
	rep.bitmap = (uintptr_t)bitmap;
	rep.page_size = 3;
	EXPECT_EQ(-EINVAL, vfio_feature(fd, report, &rep, sizeof(rep)));
	rep.page_size = PAGE;
	EXPECT_EQ(0, vfio_feature(fd, stop, NULL, 0));
	/* Stopped: no report (it would say "nothing written"). */
	EXPECT_EQ(-EINVAL, vfio_feature(fd, report, &rep, sizeof(rep)));
	/* A new start works. */
	EXPECT_EQ(0, vfio_feature(fd, start, &ctl, sizeof(ctl)));
	EXPECT_EQ(0, vfio_feature(fd, stop, NULL, 0));
}

MGPU_TEST_HARNESS_MAIN
