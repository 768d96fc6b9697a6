// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu scheduler: shares of the engine measured under load.
 *
 * Instances of the parent under test (the first software GPU unless given) are opened through VFIO with libmgpu and kept busy
 * by streams of int8 GEMMs, one thread per instance.  A share is the
 * growth of an instance's mgpu/busy_ns over a window of a few seconds,
 * against the others' (or against the wall clock).  Checked:
 *
 *   equal_share   Jain's fairness index of the shares >= 0.99
 *   fixed_share   weights 1:2:4 give 1/7, 2/7, 4/7 within +-5 %
 *   best_effort   a lone busy instance (the others open, idle) keeps
 *                 the engine >= 95 % busy
 *   equal_share   a lone busy instance among N open ones gets about 1/N
 *                 (the policy is not work conserving)
 *   weight        a new weight shows in the very next periods
 *   switching     policy switches under load lose and repeat no work:
 *                 every command runs exactly once
 *
 * The time slice is raised to 10 ms for the measurements (the periods
 * are then 30 ms with three instances) and restored afterwards, as are
 * the policy and the weights.  Numbers go out as "# " lines.
 *
 * It drives the engine through libmgpu, sysfs and the busy streams
 * through libmgpu_test (lib/).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "libmgpu.h"
#include "mgpu_harness.h"

#define TYPE		"mgpu-1_16"
#define NINST		3
#define SLICE_US	10000		/* time slice during the tests */

/* The work item: an int8 GEMM of DIM^3 multiply-adds. */
#define DIM		64
#define BATCH		16		/* GEMMs per fence */
/* The exactness stream: DIM x DIM x EXACT_K GEMMs, several engine steps */
#define EXACT_K		256

/* ---- sysfs ---- */

static uint64_t read_u64(const char *attr)
{
	uint64_t val = 0;

	mgpu_test_parent_u64(mgpu_test_parent, attr, &val);
	return val;
}

static uint64_t inst_u64(const char *uuid, const char *attr)
{
	uint64_t val = 0;

	mgpu_test_instance_u64(uuid, attr, &val);
	return val;
}

static int set_policy(const char *policy)
{
	return mgpu_test_parent_write(mgpu_test_parent, "sched_policy",
				      policy);
}

static int set_weight(const char *uuid, unsigned int w)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", w);
	return mgpu_test_instance_write(uuid, "weight", buf);
}

/* ---- workers: one thread per instance ---- */

struct worker {
	const char *uuid;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	struct mgpu_test_load load;	/* the busy stream */
	pthread_t thread;
	bool started;
	volatile bool stop;
	volatile bool submitted;	/* exact_thread: all submitted */
	volatile uint64_t gemms;	/* completed */
	int err;
	/* exactness test: a known sequence */
	unsigned int id;
	unsigned int batches;		/* 0: run until stopped */
	uint64_t slots;			/* VRAM: one u64 per batch */
	uint64_t acc;			/* VRAM: accumulator C */
	uint64_t ea, eb;		/* VRAM: its A and B (all ones) */
};

static struct worker workers[NINST];

static int worker_open(struct worker *w, const char *uuid, unsigned int id)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->uuid = uuid;
	w->id = id;
	ret = mgpu_open_vfio(uuid, &w->dev);
	if (ret)
		return ret;
	ret = mgpu_queue_open(w->dev, 0, 256, 0, &w->q);
	if (ret)
		return ret;
	return mgpu_test_load_gemm_i8(&w->load, w->dev, w->q, DIM, BATCH);
}

static void worker_close(struct worker *w)
{
	if (w->q)
		mgpu_queue_close(w->q);
	if (w->dev)
		mgpu_close(w->dev);
	w->q = NULL;
	w->dev = NULL;
}

/* Keep the queue busy: libmgpu_test's loop of GEMM batches. */
static void *busy_thread(void *arg)
{
	struct worker *w = arg;

	mgpu_test_load_run(&w->load);
	w->err = w->load.err;
	return NULL;
}

/*
 * The exactness stream: batch i is BATCH accumulating GEMMs (C += A x B
 * with A and B all ones: every element of C grows by EXACT_K, and each
 * GEMM takes several engine steps, so switches land inside commands)
 * and a fence that writes a value unique to (worker, batch) to slot i.
 */
static uint64_t slot_value(unsigned int id, unsigned int i)
{
	return 0x5eed000000000000ULL | (uint64_t)id << 32 | (i + 1);
}

static void *exact_thread(void *arg)
{
	struct mgpu_cmd cmds[BATCH + 1];
	struct worker *w = arg;
	uint64_t seq;
	unsigned int i, j;
	int ret = 0;

	for (i = 0; i < w->batches && !ret && !w->stop; i++) {
		for (j = 0; j < BATCH; j++)
			mgpu_cmd_gemm_i8(&cmds[j], w->ea, w->eb, w->acc, DIM,
					 DIM, EXACT_K, 1, 1);
		mgpu_cmd_fence(&cmds[BATCH], w->slots + 8 * i,
			       slot_value(w->id, i), 0);
		ret = mgpu_submit(w->q, cmds, BATCH + 1);
		/* keep at most ~2 batches in flight */
		if (!ret && i >= 2)
			while (!((volatile uint64_t *)mgpu_vram_ptr(w->dev,
				w->slots))[i - 2])
				usleep(200);
		w->gemms += BATCH;
	}
	w->batches = i;			/* what was submitted */
	w->submitted = true;
	if (!ret)
		ret = mgpu_queue_fence(w->q, &seq);
	if (!ret)
		ret = mgpu_fence_wait(w->q, seq, 60000);
	w->err = ret;
	return NULL;
}

static int start(struct worker *w, void *(*fn)(void *))
{
	w->stop = w->load.stop = false;
	w->gemms = w->load.done = 0;
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
		workers[i].stop = workers[i].load.stop = true;
		pthread_join(workers[i].thread, NULL);
		workers[i].started = false;
		if (workers[i].err && !err)
			err = workers[i].err;
	}
	return err;
}

/* ---- measurement ---- */

struct sample {
	uint64_t t;
	uint64_t engine;
	uint64_t busy[NINST];
	uint64_t gemms[NINST];
};

static void sample(struct sample *s, int n)
{
	int i;

	s->t = mgpu_test_now_ns();
	s->engine = read_u64("engine_busy_ns");
	for (i = 0; i < n; i++) {
		s->busy[i] = inst_u64(workers[i].uuid, "busy_ns");
		s->gemms[i] = workers[i].gemms + workers[i].load.done;
	}
}

struct window {
	double wall;			/* ns */
	double engine;			/* engine_busy_ns growth */
	double busy[NINST];		/* busy_ns growth */
	double share[NINST];		/* busy / sum(busy) */
	double gemms[NINST];
	double noise;			/* fraction of the window lost */
};

/*
 * Host noise.  The engine charges an instance the wall time of its runs,
 * so when the host deschedules the guest's vCPU in the middle of a run
 * (TCG guests of a loaded 2-core host: make check boots two at once),
 * that instance pays for the stall and the shares skew.  A thread that
 * sleeps 2 ms at a time sees such stalls as oversleep: the lost time,
 * as a fraction of the window, is the noise of the measurement.
 */
#define TICK_US		2000
#define QUIET		0.02	/* at most 2 % of the window lost */
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
		/* more than 3 ticks late: the vCPU was not running */
		if (dt > 4 * TICK_US * 1000ULL)
			noise_lost += dt - TICK_US * 1000ULL;
	}
	return NULL;
}

/* Measure @ms of the running workload. */
static void measure(struct window *w, int n, unsigned int ms)
{
	struct sample a, b;
	pthread_t noise;
	double sum = 0;
	int i;

	noise_stop = false;
	pthread_create(&noise, NULL, noise_thread, NULL);
	sample(&a, n);
	mgpu_test_sleep_ms(ms);
	sample(&b, n);
	noise_stop = true;
	pthread_join(noise, NULL);
	w->wall = b.t - a.t;
	w->engine = b.engine - a.engine;
	for (i = 0; i < n; i++) {
		w->busy[i] = b.busy[i] - a.busy[i];
		w->gemms[i] = b.gemms[i] - a.gemms[i];
		sum += w->busy[i];
	}
	for (i = 0; i < n; i++)
		w->share[i] = sum ? w->busy[i] / sum : 0;
	w->noise = noise_lost / w->wall;
}

/*
 * Measure until a window is quiet (host noise below QUIET), at most
 * ATTEMPTS times.  Returns false if every window was noisy: the figures
 * then say more about the host than about the scheduler.
 */
static bool measure_quiet(struct window *w, int n, unsigned int ms,
			  const char *what)
{
	int i;

	for (i = 0; i < ATTEMPTS; i++) {
		measure(w, n, ms);
		printf("# %s: attempt %d: host noise %.1f %% of the window\n",
		       what, i + 1, 100 * w->noise);
		if (w->noise <= QUIET)
			return true;
	}
	return false;
}

#define NOISY_SKIP(_w) do {						\
	finish(_metadata);						\
	SKIP(return, "host too noisy to measure shares: %.1f %% of the window lost to vCPU stalls (limit %.0f %%)", \
	     100 * (_w)->noise, 100 * QUIET);				\
} while (0)

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

static void print_window(const char *what, const struct window *w, int n)
{
	int i;

	printf("# %s: %.2f s, noise %.1f %%, engine busy %.1f %%", what,
	       w->wall / 1e9, 100 * w->noise, 100 * w->engine / w->wall);
	for (i = 0; i < n; i++)
		printf(", vgpu%d %.1f %% (%.0f GEMM/s)", i,
		       100 * w->share[i], w->gemms[i] * 1e9 / w->wall);
	printf("\n");
}

/* ---- fixture ---- */

FIXTURE(sched) {
	struct mgpu_test_instances inst;
	char uuid[NINST][MGPU_UUID_BUF];
	char policy[32];
	char slice[32];
	bool saved;
};

FIXTURE_SETUP(sched)
{
	const char *parent = mgpu_test_parent;
	char buf[64];
	int i, ret;

	if (!mgpu_test_parent_exists(parent))
		SKIP(return, "no parent %s (mgpu.ko not loaded?)", parent);
	ASSERT_LT(0, mgpu_test_parent_read(parent, "sched_policy",
					   self->policy,
					   sizeof(self->policy)));
	ASSERT_LT(0, mgpu_test_parent_read(parent, "time_slice_us",
					   self->slice, sizeof(self->slice)));
	self->saved = true;
	snprintf(buf, sizeof(buf), "%u", SLICE_US);
	ASSERT_EQ(0, mgpu_test_parent_write(parent, "time_slice_us", buf));

	for (i = 0; i < NINST; i++) {
		ret = mgpu_test_instances_create(&self->inst, parent, TYPE,
						 self->uuid[i]);
		ASSERT_EQ(0, ret)
			TH_LOG("create %s: %s", TYPE, strerror(-ret));
	}
	for (i = 0; i < NINST; i++) {
		ret = worker_open(&workers[i], self->uuid[i], i);
		ASSERT_EQ(0, ret)
			TH_LOG("open %s: %s (%s)", self->uuid[i],
			       mgpu_strerror(ret), mgpu_last_error());
	}
}

FIXTURE_TEARDOWN_PARENT(sched)
{
	/* The test child has exited: its devices are closed. */
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
	if (self->saved) {
		mgpu_test_parent_write(mgpu_test_parent, "sched_policy",
				       self->policy);
		mgpu_test_parent_write(mgpu_test_parent, "time_slice_us",
				       self->slice);
	}
}

/* Start busy streams on the first @busy instances, warm up. */
static void run_busy(struct __test_metadata *_metadata, int busy)
{
	int i;

	for (i = 0; i < busy; i++)
		ASSERT_EQ(0, start(&workers[i], busy_thread));
	mgpu_test_sleep_ms(300);
}

static void finish(struct __test_metadata *_metadata)
{
	int err = stop_all();

	ASSERT_EQ(0, err)
		TH_LOG("GEMM stream failed: %s", mgpu_strerror(err));
	for (int i = 0; i < NINST; i++)
		worker_close(&workers[i]);
}

TEST_F_TIMEOUT(sched, equal_share_fairness, 60)
{
	struct window w;
	double j, jg;

	ASSERT_EQ(0, set_policy("equal_share"));
	run_busy(_metadata, NINST);
	if (!measure_quiet(&w, NINST, 3000, "equal_share"))
		NOISY_SKIP(&w);
	finish(_metadata);
	j = jain(w.share, NINST);
	jg = jain(w.gemms, NINST);
	print_window("equal_share, 3 busy", &w, NINST);
	printf("# equal_share: Jain index %.4f (busy_ns), %.4f (GEMMs completed)\n",
	       j, jg);
	EXPECT_LE(0.99, j);
	EXPECT_LE(0.95, jg);
}

TEST_F_TIMEOUT(sched, fixed_share_weights, 60)
{
	static const unsigned int weight[NINST] = { 1, 2, 4 };
	struct window w;
	double want;
	int i;

	for (i = 0; i < NINST; i++)
		ASSERT_EQ(0, set_weight(self->uuid[i], weight[i]));
	ASSERT_EQ(0, set_policy("fixed_share"));
	run_busy(_metadata, NINST);
	if (!measure_quiet(&w, NINST, 3000, "fixed_share"))
		NOISY_SKIP(&w);
	finish(_metadata);
	print_window("fixed_share 1:2:4", &w, NINST);
	for (i = 0; i < NINST; i++) {
		want = weight[i] / 7.0;
		printf("# fixed_share: weight %u: share %.4f, configured %.4f, ratio %.3f\n",
		       weight[i], w.share[i], want, w.share[i] / want);
		EXPECT_LE(0.95, w.share[i] / want);
		EXPECT_GE(1.05, w.share[i] / want);
	}
}

TEST_F_TIMEOUT(sched, best_effort_lone, 60)
{
	struct window w;
	double util, of_engine;

	ASSERT_EQ(0, set_policy("best_effort"));
	run_busy(_metadata, 1);
	if (!measure_quiet(&w, NINST, 3000, "best_effort lone"))
		NOISY_SKIP(&w);
	finish(_metadata);
	util = w.busy[0] / w.wall;
	of_engine = w.engine ? w.busy[0] / w.engine : 0;
	print_window("best_effort, 1 busy of 3 open", &w, NINST);
	printf("# best_effort lone: %.1f %% of the wall clock, %.1f %% of engine_busy_ns\n",
	       100 * util, 100 * of_engine);
	EXPECT_LE(0.95, util);
	EXPECT_LE(0.99, of_engine);
}

TEST_F_TIMEOUT(sched, equal_share_lone, 60)
{
	struct window w;
	double util;

	ASSERT_EQ(0, set_policy("equal_share"));
	run_busy(_metadata, 1);
	if (!measure_quiet(&w, NINST, 3000, "equal_share lone"))
		NOISY_SKIP(&w);
	finish(_metadata);
	util = w.busy[0] / w.wall;
	print_window("equal_share, 1 busy of 3 open", &w, NINST);
	printf("# equal_share lone: %.1f %% of the wall clock (1/%d = %.1f %%), ratio %.3f\n",
	       100 * util, NINST, 100.0 / NINST, util * NINST);
	/* Not work conserving: about 1/N, never the whole engine. */
	EXPECT_LE(0.85, util * NINST);
	EXPECT_GE(1.15, util * NINST);
	EXPECT_GE(1.15, w.engine / w.wall * NINST);
}

TEST_F_TIMEOUT(sched, weight_change, 60)
{
	struct window before, after;
	double want, period_ms = SLICE_US / 1000.0 * NINST;
	int i;

	ASSERT_EQ(0, set_policy("fixed_share"));
	for (i = 0; i < NINST; i++)
		ASSERT_EQ(0, set_weight(self->uuid[i], 1));
	run_busy(_metadata, NINST);
	for (i = 0; i < ATTEMPTS; i++) {
		ASSERT_EQ(0, set_weight(self->uuid[0], 1));
		measure(&before, NINST, 1500);
		/* 1:1:1 -> 4:1:1; the change starts a new period at once. */
		ASSERT_EQ(0, set_weight(self->uuid[0], 4));
		measure(&after, NINST, 20 * period_ms);
		printf("# weight change: attempt %d: host noise %.1f %%, %.1f %%\n",
		       i + 1, 100 * before.noise, 100 * after.noise);
		if (before.noise <= QUIET && after.noise <= QUIET)
			break;
	}
	if (i == ATTEMPTS)
		NOISY_SKIP(before.noise > after.noise ? &before : &after);
	finish(_metadata);
	print_window("fixed_share 1:1:1", &before, NINST);
	print_window("fixed_share 4:1:1, first 20 periods", &after, NINST);
	want = 4.0 / 6;
	printf("# weight change: vgpu0 share %.3f before (1/3), %.3f in the 20 periods after (configured %.3f), ratio %.3f\n",
	       before.share[0], after.share[0], want, after.share[0] / want);
	EXPECT_LE(0.9, before.share[0] * NINST);
	EXPECT_GE(1.1, before.share[0] * NINST);
	/* 20 periods of 3 slices: +-15 % is 9 slices of error */
	EXPECT_LE(0.85, after.share[0] / want);
	EXPECT_GE(1.15, after.share[0] / want);
}

TEST_F_TIMEOUT(sched, switch_exactly_once, 90)
{
	static const char * const policies[] = {
		"equal_share", "fixed_share", "best_effort",
	};
	unsigned int batches = 30, i, j, switches = 0, bad;
	uint64_t c0[NINST], c1, completed, t0;
	int32_t *acc;
	uint64_t *slot;

	for (i = 0; i < NINST; i++) {
		struct worker *w = &workers[i];

		w->batches = batches;
		ASSERT_EQ(0, mgpu_vram_alloc(w->dev, 8 * batches, 8,
					     &w->slots));
		ASSERT_EQ(0, mgpu_vram_alloc(w->dev, DIM * DIM * 4, 0,
					     &w->acc));
		ASSERT_EQ(0, mgpu_vram_alloc(w->dev, DIM * EXACT_K, 0, &w->ea));
		ASSERT_EQ(0, mgpu_vram_alloc(w->dev, DIM * EXACT_K, 0, &w->eb));
		memset(mgpu_vram_ptr(w->dev, w->slots), 0, 8 * batches);
		memset(mgpu_vram_ptr(w->dev, w->acc), 0, DIM * DIM * 4);
		memset(mgpu_vram_ptr(w->dev, w->ea), 1, DIM * EXACT_K);
		memset(mgpu_vram_ptr(w->dev, w->eb), 1, DIM * EXACT_K);
		ASSERT_EQ(0, set_weight(self->uuid[i], 1 + 3 * i));
		c0[i] = inst_u64(self->uuid[i], "commands");
	}
	ASSERT_EQ(0, set_policy("best_effort"));
	t0 = mgpu_test_now_ns();
	for (i = 0; i < NINST; i++)
		ASSERT_EQ(0, start(&workers[i], exact_thread));
	/*
	 * Switch every 50 ms while any stream submits; on a slow host stop
	 * the streams after 10 s (they then end early, and every command
	 * they did submit is checked).
	 */
	for (;;) {
		bool running = false;

		for (i = 0; i < NINST; i++)
			running |= !workers[i].submitted;
		if (!running)
			break;
		if (mgpu_test_now_ns() - t0 > 10000000000ULL)
			for (i = 0; i < NINST; i++)
				workers[i].stop = true;
		mgpu_test_sleep_ms(50);
		ASSERT_EQ(0, set_policy(policies[switches % 3]));
		switches++;
	}
	ASSERT_EQ(0, stop_all());
	printf("# switch: %u policy switches in %.2f s while %d streams ran (%u, %u, %u batches of %d GEMMs + fence)\n",
	       switches, (mgpu_test_now_ns() - t0) / 1e9, NINST, workers[0].batches,
	       workers[1].batches, workers[2].batches, BATCH);
	EXPECT_LE(5, switches);

	for (i = 0; i < NINST; i++) {
		struct worker *w = &workers[i];

		/* every fence stored its own value, in its own slot */
		slot = mgpu_vram_ptr(w->dev, w->slots);
		batches = w->batches;
		for (j = 0, bad = 0; j < batches; j++)
			bad += slot[j] != slot_value(i, j);
		EXPECT_EQ(0, bad)
			TH_LOG("vgpu%u: %u of %u fence slots wrong", i, bad,
			       batches);
		/* each GEMM added EXACT_K exactly once to every element */
		acc = mgpu_vram_ptr(w->dev, w->acc);
		for (j = 0, bad = 0; j < DIM * DIM; j++)
			bad += acc[j] != (int32_t)(EXACT_K * BATCH * batches);
		EXPECT_EQ(0, bad)
			TH_LOG("vgpu%u: %u of %d sums wrong (acc[0] %d, want %u)",
			       i, bad, DIM * DIM, acc[0],
			       EXACT_K * BATCH * batches);
		ASSERT_EQ(0, mgpu_queue_completed(w->q, &completed));
		EXPECT_EQ(batches * (BATCH + 1) + 1, completed);
		c1 = inst_u64(self->uuid[i], "commands");
		EXPECT_EQ(batches * (BATCH + 1) + 1, c1 - c0[i]);
		printf("# switch: vgpu%u: COMPLETED %llu, commands +%llu, acc[0] %d (want %u)\n",
		       i, (unsigned long long)completed,
		       (unsigned long long)(c1 - c0[i]), acc[0],
		       EXACT_K * BATCH * batches);
	}
	finish(_metadata);
}

MGPU_TEST_HARNESS_MAIN
