// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine threads: a parent that runs its engine on several kernel
 * threads (add_swgpu engines=N), with the scheduler's policies holding
 * across them.
 *
 * Each test adds a software GPU of its own with engines=2 (vram=64M,
 * queues=16), carves 1/4 instances from it, keeps them busy with streams
 * of int8 GEMMs (one thread per instance, as mgpu_sched_test does) and
 * removes the software GPU afterwards.  Checked:
 *
 *   bad_count     engines=0, engines=99 and engines=x are refused with
 *                 EINVAL and a log line that says why; no parent appears
 *   attribute     the parent's read-only "engines" says 2 (the software
 *                 GPU of the module's load: 1 by default)
 *   concurrent    two busy instances run at the same time: the engine is
 *                 busy more than the wall clock (one thread cannot be;
 *                 busy_ns counts wall time, so this holds on a noisy
 *                 host too), no instance more than the wall clock (a vGPU
 *                 runs on one thread at a time), and on a quiet host each
 *                 gets more than 60 % of the wall clock
 *   fixed_share   weights 1:2:4 of three busy instances give 1/7, 2/7, 4/7
 *                 of the engine time used, within +-5 % as on one thread
 *   equal_share   three busy instances: Jain's index of the shares >= 0.99
 *   in_order      commands of an instance run once each and in order
 *                 while its queue moves between the two threads: every
 *                 fence slot and every accumulated GEMM sum is exact
 *   remove_busy   removing the software GPU while a process keeps two
 *                 instances busy: the removal waits for the devices, and
 *                 finishes once that process is killed
 *   migrate_busy  an instance saved through STOP_COPY in the middle of a
 *                 chain of exact GEMMs and resumed into another, while a
 *                 third keeps the other thread busy: the chain finishes
 *                 on the destination with every sum exact, and the busy
 *                 instance ran on during the migration
 *
 * Share measurements are skipped when the host steals too much of the
 * guest's time (the noise thread of mgpu_sched_test).  Numbers go out as
 * "# " lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libmgpu.h"
#include "mgpu_engine.h"
#include "mgpu_mig.h"

#define SPEC		"vram=64M queues=16 engines=2"
#define TYPE		"mgpu-1_4"
#define NINST		3
#define SLICE_US	10000		/* time slice during the tests */

#define DIM		64
#define BATCH		16		/* GEMMs per fence */
#define EXACT_K		256		/* in_order: several steps per GEMM */

#define REMOVE_TIMEOUT_MS	20000

/* ---- the software GPU of a test ---- */

/* Add a software GPU with @spec; its name in @name.  0 or -errno. */
static int add_parent(const char *spec, char *name, size_t size)
{
	uint32_t before = mgpu_test_swgpu_set(), after;
	unsigned int n;
	int ret;

	ret = mgpu_test_add_swgpu(spec);
	if (ret)
		return ret;
	after = mgpu_test_swgpu_set() & ~before;
	for (n = 0; n < MGPU_TEST_SWGPU_SLOTS; n++) {
		if (after & (1U << n)) {
			mgpu_test_swgpu_name(n, name, size);
			return 0;
		}
	}
	return -ENODEV;
}

/* /dev/kmsg from now on, to look for a log line; -1 if unreadable. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Did a record since kmsg_open() contain @needle? */
static bool kmsg_has(int fd, const char *needle)
{
	char rec[1024];
	bool found = false;
	ssize_t n;

	if (fd < 0)
		return false;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle))
			found = true;
	}
	return found;
}

/* ---- workers: one thread per instance ---- */

struct worker {
	const char *uuid;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	struct mgpu_test_load load;
	pthread_t thread;
	bool started;
	int err;
	/* in_order: a known sequence */
	unsigned int id;
	unsigned int batches;
	uint64_t slots, acc, ea, eb;
};

static struct worker workers[NINST];

static int worker_open(struct worker *w, const char *uuid, unsigned int id)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->uuid = uuid;
	w->id = id;
	ret = mgpu_open_vfio(uuid, &w->dev);
	if (!ret)
		ret = mgpu_queue_open(w->dev, 0, 256, 0, &w->q);
	if (!ret)
		ret = mgpu_test_load_gemm_i8(&w->load, w->dev, w->q, DIM,
					     BATCH);
	return ret;
}

static void *busy_thread(void *arg)
{
	struct worker *w = arg;

	mgpu_test_load_run(&w->load);
	w->err = w->load.err;
	return NULL;
}

static uint64_t slot_value(unsigned int id, unsigned int i)
{
	return 0xe9e0000000000000ULL | (uint64_t)id << 32 | (i + 1);
}

/*
 * Batch i: BATCH accumulating GEMMs (all ones: every element of C grows
 * by EXACT_K per GEMM) and a fence that writes a value of its own to
 * slot i.  At most two batches in flight, so the queue empties and fills
 * and the vGPU goes back and forth between the threads.
 */
static void *exact_thread(void *arg)
{
	struct mgpu_cmd cmds[BATCH + 1];
	struct worker *w = arg;
	volatile uint64_t *slot = mgpu_vram_ptr(w->dev, w->slots);
	uint64_t seq;
	unsigned int i, j;
	int ret = 0;

	for (i = 0; i < w->batches && !ret; i++) {
		for (j = 0; j < BATCH; j++)
			mgpu_cmd_gemm_i8(&cmds[j], w->ea, w->eb, w->acc, DIM,
					 DIM, EXACT_K, 1, 1);
		mgpu_cmd_fence(&cmds[BATCH], w->slots + 8 * i,
			       slot_value(w->id, i), 0);
		ret = mgpu_submit(w->q, cmds, BATCH + 1);
		if (!ret && i >= 2)
			while (!slot[i - 2])
				usleep(200);
	}
	if (!ret)
		ret = mgpu_queue_fence(w->q, &seq);
	if (!ret)
		ret = mgpu_fence_wait(w->q, seq, 60000);
	w->err = ret;
	return NULL;
}

static int start(struct worker *w, void *(*fn)(void *))
{
	w->load.stop = false;
	w->load.done = 0;
	w->err = w->load.err = 0;
	if (pthread_create(&w->thread, NULL, fn, w))
		return -errno;
	w->started = true;
	return 0;
}

static int stop_all(void)
{
	int i, err = 0;

	for (i = 0; i < NINST; i++) {
		if (!workers[i].started)
			continue;
		workers[i].load.stop = true;
		pthread_join(workers[i].thread, NULL);
		workers[i].started = false;
		if (workers[i].err && !err)
			err = workers[i].err;
	}
	return err;
}

static void close_all(void)
{
	int i;

	for (i = 0; i < NINST; i++) {
		if (workers[i].q)
			mgpu_queue_close(workers[i].q);
		if (workers[i].dev)
			mgpu_close(workers[i].dev);
		workers[i].q = NULL;
		workers[i].dev = NULL;
	}
}

/* ---- measurement (as mgpu_sched_test) ---- */

struct window {
	double wall;
	double engine;			/* engine_busy_ns growth */
	double busy[NINST];		/* busy_ns growth */
	double share[NINST];		/* busy / sum(busy) */
	double gemms[NINST];
	double noise;			/* fraction of the window lost */
};

#define TICK_US		2000
#define QUIET		0.02
#define ATTEMPTS	3

static volatile bool noise_stop;
static uint64_t noise_lost;

static void *noise_thread(void *arg)
{
	uint64_t t, dt;

	(void)arg;
	noise_lost = 0;
	while (!noise_stop) {
		t = mgpu_test_now_ns();
		usleep(TICK_US);
		dt = mgpu_test_now_ns() - t;
		if (dt > 4 * TICK_US * 1000ULL)
			noise_lost += dt - TICK_US * 1000ULL;
	}
	return NULL;
}

static uint64_t inst_u64(const char *uuid, const char *attr)
{
	uint64_t val = 0;

	mgpu_test_instance_u64(uuid, attr, &val);
	return val;
}

static void measure(const char *parent, struct window *w, int n,
		    unsigned int ms)
{
	uint64_t t0, t1, e0 = 0, e1 = 0, b0[NINST], b1[NINST];
	uint64_t g0[NINST], g1[NINST];
	pthread_t noise;
	double sum = 0;
	int i;

	noise_stop = false;
	pthread_create(&noise, NULL, noise_thread, NULL);
	t0 = mgpu_test_now_ns();
	mgpu_test_parent_u64(parent, "engine_busy_ns", &e0);
	for (i = 0; i < n; i++) {
		b0[i] = inst_u64(workers[i].uuid, "busy_ns");
		g0[i] = workers[i].load.done;
	}
	mgpu_test_sleep_ms(ms);
	t1 = mgpu_test_now_ns();
	mgpu_test_parent_u64(parent, "engine_busy_ns", &e1);
	for (i = 0; i < n; i++) {
		b1[i] = inst_u64(workers[i].uuid, "busy_ns");
		g1[i] = workers[i].load.done;
	}
	noise_stop = true;
	pthread_join(noise, NULL);
	w->wall = t1 - t0;
	w->engine = e1 - e0;
	for (i = 0; i < n; i++) {
		w->busy[i] = b1[i] - b0[i];
		w->gemms[i] = g1[i] - g0[i];
		sum += w->busy[i];
	}
	for (i = 0; i < n; i++)
		w->share[i] = sum ? w->busy[i] / sum : 0;
	w->noise = noise_lost / w->wall;
}

static bool measure_quiet(const char *parent, struct window *w, int n,
			  unsigned int ms, const char *what)
{
	int i;

	for (i = 0; i < ATTEMPTS; i++) {
		measure(parent, w, n, ms);
		printf("# %s: attempt %d: host noise %.1f %% of the window\n",
		       what, i + 1, 100 * w->noise);
		if (w->noise <= QUIET)
			return true;
	}
	return false;
}

static void print_window(const char *what, const struct window *w, int n)
{
	int i;

	printf("# %s: %.2f s, noise %.1f %%, engine busy %.1f %% of the wall clock",
	       what, w->wall / 1e9, 100 * w->noise, 100 * w->engine / w->wall);
	for (i = 0; i < n; i++)
		printf(", vgpu%d %.1f %% of the wall (share %.1f %%, %.0f GEMM/s)",
		       i, 100 * w->busy[i] / w->wall, 100 * w->share[i],
		       w->gemms[i] * 1e9 / w->wall);
	printf("\n");
}

static double jain(const double *x, int n)
{
	double s = 0, s2 = 0;
	int i;

	for (i = 0; i < n; i++) {
		s += x[i];
		s2 += x[i] * x[i];
	}
	return s2 ? s * s / (n * s2) : 0;
}

/* ---- refused counts ---- */

TEST(bad_count)
{
	static const struct {
		const char *spec;
		const char *log;
	} bad[] = {
		{ "vram=16M queues=16 engines=0", "engines=0 rejected" },
		{ "vram=16M queues=16 engines=99", "engines=99 rejected" },
		{ "vram=16M queues=16 engines=x", "cannot parse 'engines=x'" },
	};
	uint32_t before;
	unsigned int i;
	int fd;

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	before = mgpu_test_swgpu_set();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		fd = kmsg_open();
		EXPECT_ERRNO(EINVAL, mgpu_test_add_swgpu(bad[i].spec));
		if (fd >= 0) {
			EXPECT_TRUE(kmsg_has(fd, bad[i].log))
				TH_LOG("no \"%s\" in the kernel log", bad[i].log);
			close(fd);
		}
		EXPECT_EQ(before, mgpu_test_swgpu_set())
			TH_LOG("%s made a parent", bad[i].spec);
	}
}

TEST(attribute)
{
	char name[32], buf[16];

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	if (mgpu_test_parent_exists(mgpu_test_parent)) {
		ASSERT_LT(0, mgpu_test_parent_read(mgpu_test_parent, "engines",
						   buf, sizeof(buf)));
		printf("# %s: engines %s\n", mgpu_test_parent, buf);
	}
	ASSERT_OK(add_parent("vram=16M queues=16 engines=2", name,
			     sizeof(name)));
	EXPECT_LT(0, mgpu_test_parent_read(name, "engines", buf, sizeof(buf)));
	EXPECT_STREQ("2", buf);
	EXPECT_OK(mgpu_test_remove_swgpu(name));
	ASSERT_OK(add_parent("vram=16M queues=16 engines=8", name,
			     sizeof(name)));
	EXPECT_LT(0, mgpu_test_parent_read(name, "engines", buf, sizeof(buf)));
	EXPECT_STREQ("8", buf);
	EXPECT_OK(mgpu_test_remove_swgpu(name));
}

/* ---- a busy parent with two engine threads ---- */

FIXTURE(engines) {
	struct mgpu_test_instances inst;
	char parent[32];
	char uuid[NINST][MGPU_UUID_BUF];
	pid_t child;
};

FIXTURE_SETUP(engines)
{
	char buf[16];
	int i, ret;

	self->parent[0] = '\0';
	self->inst.n = 0;
	self->child = 0;
	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	MGPU_REQUIRE_VFIO();
	ASSERT_OK(add_parent(SPEC, self->parent, sizeof(self->parent)));
	snprintf(buf, sizeof(buf), "%u", SLICE_US);
	ASSERT_OK(mgpu_test_parent_write(self->parent, "time_slice_us", buf));
	for (i = 0; i < NINST; i++) {
		ret = mgpu_test_instances_create(&self->inst, self->parent,
						 TYPE, self->uuid[i]);
		ASSERT_EQ(0, ret)
			TH_LOG("create %s: %s", TYPE, strerror(-ret));
	}
}

FIXTURE_TEARDOWN_PARENT(engines)
{
	if (self->child > 0 && self->child != getpid()) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (!self->parent[0])
		return;
	if (mgpu_test_parent_exists(self->parent)) {
		EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
		EXPECT_OK(mgpu_test_remove_swgpu(self->parent));
	}
}

static void open_all(struct __test_metadata *_metadata,
		     FIXTURE_DATA(engines) *self, int n)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = worker_open(&workers[i], self->uuid[i], i);
		ASSERT_EQ(0, ret)
			TH_LOG("open %s: %s (%s)", self->uuid[i],
			       mgpu_strerror(ret), mgpu_last_error());
	}
}

static void run_busy(struct __test_metadata *_metadata, int n)
{
	int i;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, start(&workers[i], busy_thread));
	mgpu_test_sleep_ms(300);
}

static void finish(struct __test_metadata *_metadata)
{
	int err = stop_all();

	close_all();
	ASSERT_EQ(0, err)
		TH_LOG("GEMM stream failed: %s", mgpu_strerror(err));
}

#define NOISY_SKIP(_w) do {						\
	finish(_metadata);						\
	SKIP(return, "host too noisy to measure: %.1f %% of the window lost to vCPU stalls (limit %.0f %%)", \
	     100 * (_w)->noise, 100 * QUIET);				\
} while (0)

TEST_F_TIMEOUT(engines, concurrent, 60)
{
	struct window w;
	bool quiet;
	int i;

	ASSERT_OK(mgpu_test_parent_write(self->parent, "sched_policy",
					 "best_effort"));
	open_all(_metadata, self, 2);
	run_busy(_metadata, 2);
	quiet = measure_quiet(self->parent, &w, 2, 3000, "2 busy, 2 engines");
	finish(_metadata);
	print_window("best_effort, 2 busy, 2 engine threads", &w, 2);
	/*
	 * busy_ns is the wall time of the runs, so what follows holds on a
	 * noisy host too: one thread is busy at most the wall clock, this
	 * needs two at once...
	 */
	EXPECT_LE(1.2, w.engine / w.wall);
	for (i = 0; i < 2; i++) {
		/* ...but a vGPU never runs on two at once (+5 %: a run
		 * that began before the window is charged in it).
		 */
		EXPECT_GE(1.05, w.busy[i] / w.wall)
			TH_LOG("vgpu%d ran %.1f %% of the wall clock", i,
			       100 * w.busy[i] / w.wall);
		/* On a quiet host each gets most of a thread. */
		if (quiet) {
			EXPECT_LE(0.6, w.busy[i] / w.wall)
				TH_LOG("vgpu%d ran %.1f %% of the wall clock", i,
				       100 * w.busy[i] / w.wall);
		}
	}
}

TEST_F_TIMEOUT(engines, fixed_share, 60)
{
	static const unsigned int weight[NINST] = { 1, 2, 4 };
	struct window w;
	char buf[16];
	double want;
	int i;

	open_all(_metadata, self, NINST);
	for (i = 0; i < NINST; i++) {
		snprintf(buf, sizeof(buf), "%u", weight[i]);
		ASSERT_OK(mgpu_test_instance_write(self->uuid[i], "weight",
						   buf));
	}
	ASSERT_OK(mgpu_test_parent_write(self->parent, "sched_policy",
					 "fixed_share"));
	run_busy(_metadata, NINST);
	if (!measure_quiet(self->parent, &w, NINST, 3000, "fixed_share"))
		NOISY_SKIP(&w);
	finish(_metadata);
	print_window("fixed_share 1:2:4, 2 engine threads", &w, NINST);
	for (i = 0; i < NINST; i++) {
		want = weight[i] / 7.0;
		printf("# fixed_share: weight %u: share %.4f, configured %.4f, ratio %.3f\n",
		       weight[i], w.share[i], want, w.share[i] / want);
		EXPECT_LE(0.95, w.share[i] / want);
		EXPECT_GE(1.05, w.share[i] / want);
	}
	/* 4/7 of two threads is more than one: the weights hold by idling. */
	EXPECT_LE(1.2, w.engine / w.wall);
}

TEST_F_TIMEOUT(engines, equal_share, 60)
{
	struct window w;
	double j;

	open_all(_metadata, self, NINST);
	ASSERT_OK(mgpu_test_parent_write(self->parent, "sched_policy",
					 "equal_share"));
	run_busy(_metadata, NINST);
	if (!measure_quiet(self->parent, &w, NINST, 3000, "equal_share"))
		NOISY_SKIP(&w);
	finish(_metadata);
	print_window("equal_share, 3 busy, 2 engine threads", &w, NINST);
	j = jain(w.share, NINST);
	printf("# equal_share: Jain index %.4f (busy_ns), %.4f (GEMMs completed)\n",
	       j, jain(w.gemms, NINST));
	EXPECT_LE(0.99, j);
	EXPECT_LE(1.2, w.engine / w.wall);
}

TEST_F_TIMEOUT(engines, in_order, 90)
{
	unsigned int i, j, bad, batches = 20;
	uint64_t *slot, completed;
	int32_t *acc;

	open_all(_metadata, self, NINST);
	for (i = 0; i < NINST; i++) {
		struct worker *w = &workers[i];

		w->batches = batches;
		ASSERT_OK(mgpu_vram_alloc(w->dev, 8 * batches, 8, &w->slots));
		ASSERT_OK(mgpu_vram_alloc(w->dev, DIM * DIM * 4, 0, &w->acc));
		ASSERT_OK(mgpu_vram_alloc(w->dev, DIM * EXACT_K, 0, &w->ea));
		ASSERT_OK(mgpu_vram_alloc(w->dev, DIM * EXACT_K, 0, &w->eb));
		memset(mgpu_vram_ptr(w->dev, w->slots), 0, 8 * batches);
		memset(mgpu_vram_ptr(w->dev, w->acc), 0, DIM * DIM * 4);
		memset(mgpu_vram_ptr(w->dev, w->ea), 1, DIM * EXACT_K);
		memset(mgpu_vram_ptr(w->dev, w->eb), 1, DIM * EXACT_K);
	}
	/* Short slices: the vGPUs change threads often. */
	ASSERT_OK(mgpu_test_parent_write(self->parent, "time_slice_us",
					 "200"));
	for (i = 0; i < NINST; i++)
		ASSERT_EQ(0, start(&workers[i], exact_thread));
	ASSERT_EQ(0, stop_all());
	for (i = 0; i < NINST; i++) {
		struct worker *w = &workers[i];

		slot = mgpu_vram_ptr(w->dev, w->slots);
		for (j = 0, bad = 0; j < batches; j++)
			bad += slot[j] != slot_value(i, j);
		EXPECT_EQ(0, bad)
			TH_LOG("vgpu%u: %u of %u fence slots wrong", i, bad,
			       batches);
		acc = mgpu_vram_ptr(w->dev, w->acc);
		for (j = 0, bad = 0; j < DIM * DIM; j++)
			bad += acc[j] != (int32_t)(EXACT_K * BATCH * batches);
		EXPECT_EQ(0, bad)
			TH_LOG("vgpu%u: %u of %d sums wrong (acc[0] %d, want %u)",
			       i, bad, DIM * DIM, acc[0],
			       EXACT_K * BATCH * batches);
		ASSERT_OK(mgpu_queue_completed(w->q, &completed));
		EXPECT_EQ(batches * (BATCH + 1) + 1, completed);
		printf("# in_order: vgpu%u: COMPLETED %llu, acc[0] %d (want %u)\n",
		       i, (unsigned long long)completed, acc[0],
		       EXACT_K * BATCH * batches);
	}
	close_all();
}

/* A process that keeps two instances busy until it is killed. */
static void busy_child(FIXTURE_DATA(engines) *self, int ready)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (worker_open(&workers[i], self->uuid[i], i) ||
		    start(&workers[i], busy_thread))
			_exit(1);
	}
	mgpu_test_sleep_ms(200);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

TEST_F_TIMEOUT(engines, remove_busy, 60)
{
	uint64_t b0 = 0, b1 = 0;
	int pipefd[2], ret;
	pid_t remover, pid;
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	/* self is shared with the child too: only the parent writes it. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pipefd[0]);
		busy_child(self, pipefd[1]);
	}
	self->child = pid;
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1))
		TH_LOG("the busy process did not start");
	close(pipefd[0]);

	/* Both engine threads busy when the removal begins. */
	mgpu_test_parent_u64(self->parent, "engine_busy_ns", &b0);
	mgpu_test_sleep_ms(500);
	mgpu_test_parent_u64(self->parent, "engine_busy_ns", &b1);
	printf("# remove_busy: engine busy %.0f ms in the 500 ms before the removal\n",
	       (b1 - b0) / 1e6);
	remover = mgpu_test_write_attr_async(MGPU_CLASS_DIR "/remove_swgpu",
					     self->parent);
	ASSERT_LT(0, remover);
	mgpu_test_sleep_ms(500);
	/* Open devices hold the removal. */
	EXPECT_EQ(-ETIMEDOUT, mgpu_test_wait_child(remover, 0))
		TH_LOG("removal completed while the devices were open");

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	self->child = 0;
	ret = mgpu_test_wait_child(remover, REMOVE_TIMEOUT_MS);
	EXPECT_EQ(0, ret) TH_LOG("removal: %s", strerror(-ret));
	if (ret == -ETIMEDOUT) {
		kill(remover, SIGKILL);
		return;
	}
	EXPECT_FALSE(mgpu_test_parent_exists(self->parent));
	self->inst.n = 0;
}

#define MIG_K		2048
#define MIG_CHAIN	32

TEST_F_TIMEOUT(engines, migrate_busy, 90)
{
	struct worker *busy = &workers[0], *src = &workers[1];
	struct mgpu_dev *dst = NULL;
	struct mgpu_cmd cmds[MIG_CHAIN];
	uint64_t d0, d1, done, end;
	struct stream st = { 0 };
	unsigned int i, bad;
	int32_t *acc;
	int fd[2], ret;

	for (i = 0; i < 2; i++) {
		ret = worker_open(&workers[i], self->uuid[i], i);
		ASSERT_EQ(0, ret)
			TH_LOG("open %s: %s (%s)", self->uuid[i],
			       mgpu_strerror(ret), mgpu_last_error());
	}
	/* The destination is opened only: its state comes from the stream. */
	ret = mgpu_open_vfio(self->uuid[2], &dst);
	ASSERT_EQ(0, ret) TH_LOG("open %s: %s", self->uuid[2], mgpu_strerror(ret));
	workers[2].dev = dst;
	fd[0] = mgpu_vfio_device_fd(src->dev);
	fd[1] = mgpu_vfio_device_fd(dst);
	if (!(mig_flags(fd[0]) & VFIO_MIGRATION_STOP_COPY)) {
		close_all();
		SKIP(return, "the device does not migrate");
	}
	st.buf = malloc(MIG_STREAM_MAX);
	ASSERT_NE(NULL, st.buf);
	ASSERT_OK(mgpu_vram_alloc(src->dev, DIM * DIM * 4, 0, &src->acc));
	ASSERT_OK(mgpu_vram_alloc(src->dev, DIM * MIG_K, 0, &src->ea));
	ASSERT_OK(mgpu_vram_alloc(src->dev, DIM * MIG_K, 0, &src->eb));
	memset(mgpu_vram_ptr(src->dev, src->acc), 0, DIM * DIM * 4);
	memset(mgpu_vram_ptr(src->dev, src->ea), 1, DIM * MIG_K);
	memset(mgpu_vram_ptr(src->dev, src->eb), 1, DIM * MIG_K);

	ASSERT_EQ(0, start(busy, busy_thread));
	mgpu_test_sleep_ms(200);
	/* C += A x B, all ones: every sum grows by MIG_K per GEMM. */
	for (i = 0; i < MIG_CHAIN; i++)
		mgpu_cmd_gemm_i8(&cmds[i], src->ea, src->eb, src->acc, DIM, DIM,
				 MIG_K, 1, 1);
	ASSERT_EQ(0, mgpu_submit(src->q, cmds, MIG_CHAIN));
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
	while (q_completed(src->dev, 0) < 1 && mgpu_test_now_ms() < end)
		usleep(500);
	d0 = __atomic_load_n(&busy->load.done, __ATOMIC_RELAXED);
	ASSERT_EQ(0, save_stop_copy(_metadata, fd[0], &st));
	done = q_completed(src->dev, 0);
	ASSERT_EQ(0, resume(fd[1], &st));
	end = mgpu_test_now_ms() + ENG_TIMEOUT_MS;
	while (q_completed(dst, 0) < MIG_CHAIN && mgpu_test_now_ms() < end)
		usleep(1000);
	d1 = __atomic_load_n(&busy->load.done, __ATOMIC_RELAXED);
	printf("# migrate_busy: stopped after %llu of %u GEMMs (%zu bytes), the busy instance did %llu GEMMs meanwhile\n",
	       (unsigned long long)done, MIG_CHAIN, st.len,
	       (unsigned long long)(d1 - d0));
	EXPECT_EQ(MIG_CHAIN, q_completed(dst, 0));
	EXPECT_EQ(0, qrd(dst, 0, MGPU_Q_ERROR));
	acc = mgpu_vram_ptr(dst, src->acc);
	for (i = 0, bad = 0; i < DIM * DIM; i++)
		bad += acc[i] != MIG_K * MIG_CHAIN;
	EXPECT_EQ(0, bad) TH_LOG("%u of %d sums wrong (acc[0] %d, want %d)",
				 bad, DIM * DIM, acc[0], MIG_K * MIG_CHAIN);
	EXPECT_LT(d0, d1) TH_LOG("the busy instance stalled during the migration");
	free(st.buf);
	finish(_metadata);
}

MGPU_TEST_HARNESS_MAIN
