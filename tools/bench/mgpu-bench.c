// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-bench: one table of ratios, every figure measured in the same run.
 *
 *   mgpu-bench [parent]        (default $MGPU_TEST_PARENT, else the
 *                              first software GPU, 6d67:00:00.0; it must
 *                              be empty)
 *
 * Runs on a host with mgpu.ko loaded (make bench runs it in a QEMU
 * guest).  MGPU_BENCH_ONLY=engines in the environment runs the engine
 * threads row alone (a quicker run while working on the engine).  It creates the instances it needs on the parent, opens them
 * through VFIO with libmgpu, measures, and removes them again; the
 * parent's policy and time slice are restored.
 *
 * Every ratio is the median of BENCH_REPS interleaved repeats of both
 * sides (after a warm-up), printed with the lowest and highest of the
 * per-repeat ratios, and with the share of the row's window that the
 * host stole from the guest's vCPUs; a row that lost more than
 * BENCH_NOISY of its window is marked "noisy" (stats.c).
 *
 * Rows (ratio = measured / baseline):
 *   BAR2 read/write      memcpy() out of / into mmapped VRAM vs RAM->RAM
 *   fence round trip     a 1/4 instance vs passthrough (of a second
 *                        software GPU of the same size, added for it)
 *   commands/s           NOP + doorbell per command, 1/4 vs passthrough
 *   doorbell latency     TAIL_POLL (no trap) vs trapped TAIL write
 *   doorbell commands/s  the same, as throughput
 *   GEMM fp32, int8      engine vs a userspace -O2 loop of this program
 *   equal_share          Jain's index of three busy instances, per window
 *   fixed_share          achieved / configured share, weights 1:2:4
 *   best_effort          a lone busy instance's share of the wall clock
 *                        (the scheduler rows: BENCH_REPS windows in a row
 *                        of the same running streams)
 *   engine threads       aggregate GEMM throughput of two busy instances
 *                        on a software GPU with engines=2 vs one with
 *                        engines=1 (both added for it, same size)
 *   create, remove       mgpu 1/16 vs the kernel's mtty sample, and the
 *                        whole VRAM (passthrough) vs 1/16 (create.c)
 *   aggregate N busy     N = 4, 16 busy 1/N instances of the parent
 *                        together vs one busy passthrough instance of a
 *                        second software GPU of the same size: GFLOP/s
 *                        over a window, A B B A ... (bench_interleave),
 *                        and Jain's index of the N tenants' GFLOP/s in
 *                        each of their windows
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "libmgpu.h"
#include "create.h"
#include "mgpu_test.h"
#include "stats.h"

/* The kernel's mtty sample, put there by scripts/build-mtty.sh. */
#define MTTY_KO		"/mgpu/extra/mtty.ko"

#define NSCHED		3
#define BUSY_DIM	64		/* int8 GEMM of the busy streams */
#define BUSY_BATCH	16
#define BUSY_SLICE_US	10000
#define GEMM_DIM	256		/* engine vs userspace GEMM */
#define SCHED_WINDOW_MS	500		/* one scheduler window */
#define AGG_MAX		16		/* busy tenants of the aggregate rows */
#define AGG_WINDOW_MS	500		/* one aggregate window */
#define ENG_DIM		128		/* int8 GEMM of the engines row */
#define ENG_BUSY	2		/* busy instances per parent */
#define ENG_WINDOW_MS	1000		/* one throughput window */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- sysfs ---- */

static int parent_write(const char *attr, const char *val)
{
	return mgpu_test_parent_write(mgpu_test_parent, attr, val);
}

/* ---- instances: created here, removed at exit ---- */

static char uuids[AGG_MAX + 2][MGPU_UUID_BUF];
static int nuuids;
static char saved_policy[32], saved_slice[32];
/* The software GPU added for the passthrough instance, if any. */
static char added_parent[32];
/* The software GPUs of the engine threads row (engines=2, engines=1). */
static char engines_parent[2][32];

static void cleanup(void)
{
	int i;

	for (i = 0; i < nuuids; i++)
		if (mgpu_test_instance_exists(uuids[i]))
			mgpu_test_remove(uuids[i]);
	nuuids = 0;
	if (added_parent[0] && !mgpu_test_remove_swgpu(added_parent))
		added_parent[0] = 0;
	for (i = 0; i < 2; i++)
		if (engines_parent[i][0] &&
		    !mgpu_test_remove_swgpu(engines_parent[i]))
			engines_parent[i][0] = 0;
	if (saved_policy[0])
		parent_write("sched_policy", saved_policy);
	if (saved_slice[0])
		parent_write("time_slice_us", saved_slice);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mgpu-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	cleanup();
	exit(1);
}

static struct mgpu_dev *create_open_on(const char *parent, const char *type,
				       const char **uuidp)
{
	char *uuid = uuids[nuuids];
	struct mgpu_dev *dev;
	int ret;

	if (mgpu_test_uuid_random(uuid))
		die("no /proc/sys/kernel/random/uuid");
	ret = mgpu_test_create(parent, type, uuid);
	if (ret)
		die("create %s: %s", type, strerror(-ret));
	nuuids++;
	ret = mgpu_open_vfio(uuid, &dev);
	if (ret)
		die("open %s: %s (%s)", uuid, mgpu_strerror(ret),
		    mgpu_last_error());
	if (uuidp)
		*uuidp = uuid;
	return dev;
}

static struct mgpu_dev *create_open(const char *type, const char **uuidp)
{
	return create_open_on(mgpu_test_parent, type, uuidp);
}

static void close_remove_all(struct mgpu_dev **devs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		mgpu_close(devs[i]);
	for (i = 0; i < nuuids; i++)
		if (mgpu_test_remove(uuids[i]))
			die("cannot remove %s", uuids[i]);
	nuuids = 0;
}

#define CHECK(expr) do {						\
	int __r = (expr);						\
	if (__r)							\
		die("%s: %s (%s)", #expr, mgpu_strerror(__r),		\
		    mgpu_last_error());					\
} while (0)

/* ---- the table ---- */

struct row {
	char metric[48];
	double ratio, lo, hi;	/* median ratio and its spread */
	bool spread;		/* lo/hi are meaningful */
	double lost;		/* share of the window the host stole */
	char value[40];
	char baseline[48];
};

static struct row rows[32];
static int nrows;

static struct row *row(const char *metric, double ratio, const char *value,
		       const char *baseline)
{
	struct row *r = &rows[nrows++];

	memset(r, 0, sizeof(*r));
	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	r->ratio = ratio;
	snprintf(r->value, sizeof(r->value), "%s", value);
	snprintf(r->baseline, sizeof(r->baseline), "%s", baseline);
	return r;
}

static void row_spread(struct row *r, double lo, double hi, double lost)
{
	r->lo = lo;
	r->hi = hi;
	r->spread = true;
	r->lost = lost;
}

/*
 * A row from interleaved repeats: the median of the per-repeat ratios,
 * their spread, and the medians of both sides, each printed with its
 * own format.
 */
static void pair_row(const char *metric, const struct bench_pair *p,
		     const char *afmt, const char *bfmt)
{
	struct bench_summary s;
	char v[40], b[48];

	bench_summarize(p, &s);
	snprintf(v, sizeof(v), afmt, s.a);
	snprintf(b, sizeof(b), bfmt, s.b);
	row_spread(row(metric, s.ratio, v, b), s.lo, s.hi, p->lost);
}

/* ---- 1: BAR2 bandwidth ---- */

struct copy_arg {
	void *dst;
	const void *src;
	size_t size;
};

/* GB/s of memcpy(dst, src, size), repeated for at least 100 ms. */
static double copy_gbs(void *arg)
{
	struct copy_arg *c = arg;
	uint64_t t0, t;
	unsigned int n = 0;

	t0 = mgpu_test_now_ns();
	do {
		memcpy(c->dst, c->src, c->size);
		n++;
		t = mgpu_test_now_ns() - t0;
	} while (t < 100000000ULL);
	return (double)c->size * n / t;
}

static void bench_bar2(struct mgpu_dev *dev)
{
	const size_t size = 16 << 20;
	struct copy_arg ram, rd, wr;
	struct bench_pair p;
	char *a, *b, *vram;
	uint64_t off;

	CHECK(mgpu_vram_alloc(dev, size, 4096, &off));
	vram = mgpu_vram_ptr(dev, off);
	a = aligned_alloc(4096, size);
	b = aligned_alloc(4096, size);
	if (!a || !b)
		die("out of memory");
	memset(a, 0x5a, size);
	memset(b, 0xa5, size);
	memset(vram, 0x3c, size);	/* fault everything in */
	ram = (struct copy_arg){ b, a, size };
	rd = (struct copy_arg){ a, vram, size };
	wr = (struct copy_arg){ vram, b, size };
	bench_interleave(&p, BENCH_REPS, copy_gbs, &rd, copy_gbs, &ram);
	pair_row("BAR2 read: memcpy VRAM->RAM", &p, "%.2f GB/s",
		 "memcpy RAM->RAM %.2f GB/s");
	bench_interleave(&p, BENCH_REPS, copy_gbs, &wr, copy_gbs, &ram);
	pair_row("BAR2 write: memcpy RAM->VRAM", &p, "%.2f GB/s",
		 "memcpy RAM->RAM %.2f GB/s");
	free(a);
	free(b);
	CHECK(mgpu_vram_free(dev, off));
}

/* ---- 2, 3: fences, doorbells ---- */

struct queue_arg {
	struct mgpu_dev *dev;
	unsigned int flags;
};

/* Median fence round trip, microseconds, on an idle queue. */
static double queue_rtt_us(void *arg)
{
	enum { RTT_N = 100 };
	struct queue_arg *qa = arg;
	double lat[RTT_N];
	struct mgpu_queue *q;
	uint64_t t0;
	int i;

	CHECK(mgpu_queue_open(qa->dev, 0, 1024, qa->flags, &q));
	for (i = 0; i < 10; i++)		/* warm up */
		CHECK(mgpu_queue_sync(q, 10000));
	for (i = 0; i < RTT_N; i++) {
		t0 = mgpu_test_now_ns();
		CHECK(mgpu_queue_sync(q, 10000));
		lat[i] = (mgpu_test_now_ns() - t0) / 1e3;
	}
	mgpu_queue_close(q);
	return bench_median(lat, RTT_N);
}

/* NOPs per second, one doorbell per command. */
static double queue_cmds_s(void *arg)
{
	enum { NOP_N = 1500 };
	struct queue_arg *qa = arg;
	struct mgpu_queue *q;
	struct mgpu_cmd nop;
	uint64_t t0;
	double r;
	int i;

	CHECK(mgpu_queue_open(qa->dev, 0, 1024, qa->flags, &q));
	mgpu_cmd_nop(&nop);
	CHECK(mgpu_queue_sync(q, 10000));
	t0 = mgpu_test_now_ns();
	for (i = 0; i < NOP_N; i++)
		CHECK(mgpu_submit(q, &nop, 1));
	CHECK(mgpu_queue_sync(q, 60000));
	r = (NOP_N + 1) * 1e9 / (mgpu_test_now_ns() - t0);
	mgpu_queue_close(q);
	return r;
}

/* ---- 4: GEMM ---- */

struct gemm_arg {
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	struct mgpu_cmd cmd;
	uint64_t a, b, c;
	void *ha, *hb, *hc;	/* the userspace reference's buffers */
	bool int8;
};

static void gemm_setup(struct gemm_arg *g, struct mgpu_dev *dev, bool int8)
{
	const uint32_t d = GEMM_DIM;
	size_t ab = (size_t)d * d * (int8 ? 1 : 4), c = (size_t)d * d * 4;
	uint32_t i;
	float *f;

	memset(g, 0, sizeof(*g));
	g->dev = dev;
	g->int8 = int8;
	CHECK(mgpu_queue_open(dev, 1, 0, 0, &g->q));
	mgpu_queue_set_timeout(g->q, 120000);
	CHECK(mgpu_vram_alloc(dev, ab, 0, &g->a));
	CHECK(mgpu_vram_alloc(dev, ab, 0, &g->b));
	CHECK(mgpu_vram_alloc(dev, c, 0, &g->c));
	g->ha = calloc(d * d, 4);
	g->hb = calloc(d * d, 4);
	g->hc = calloc(d * d, 4);
	if (!g->ha || !g->hb || !g->hc)
		die("out of memory");
	if (int8) {
		memset(mgpu_vram_ptr(dev, g->a), 1, ab);
		memset(mgpu_vram_ptr(dev, g->b), 2, ab);
		memset(g->ha, 1, ab);
		memset(g->hb, 2, ab);
		mgpu_cmd_gemm_i8(&g->cmd, g->a, g->b, g->c, d, d, d, 1, 0);
	} else {
		f = mgpu_vram_ptr(dev, g->a);
		for (i = 0; i < d * d; i++)
			f[i] = ((float *)g->ha)[i] = 1.0f;
		f = mgpu_vram_ptr(dev, g->b);
		for (i = 0; i < d * d; i++)
			f[i] = ((float *)g->hb)[i] = 0.5f;
		mgpu_cmd_gemm_f32(&g->cmd, g->a, g->b, g->c, d, d, d, 1.0f,
				  0.0f);
	}
}

static void gemm_teardown(struct gemm_arg *g)
{
	mgpu_vram_free(g->dev, g->a);
	mgpu_vram_free(g->dev, g->b);
	mgpu_vram_free(g->dev, g->c);
	mgpu_queue_close(g->q);
	free(g->ha);
	free(g->hb);
	free(g->hc);
}

/* GFLOP/s of one GEMM on the engine, submission to fence. */
static double engine_gflops(void *arg)
{
	const double d = GEMM_DIM;
	struct gemm_arg *g = arg;
	uint64_t t0 = mgpu_test_now_ns();

	CHECK(mgpu_submit(g->q, &g->cmd, 1));
	CHECK(mgpu_queue_sync(g->q, 120000));
	return 2.0 * d * d * d / (mgpu_test_now_ns() - t0);
}

/*
 * The userspace reference is libmgpu_test's GEMM: the engine's loop
 * order, plain C, built with -O2.  One GEMM per call, as on the engine.
 */
int32_t mgpu_bench_sink;	/* global: the compiler keeps the GEMM */

static double cpu_gflops(void *arg)
{
	const int d = GEMM_DIM;
	struct gemm_arg *g = arg;
	uint64_t t0 = mgpu_test_now_ns();

	if (g->int8)
		mgpu_test_gemm_i8(g->ha, g->hb, g->hc, d, d, d, 1, 0);
	else
		mgpu_test_gemm_f32(g->ha, g->hb, g->hc, d, d, d, 1.0f, 0.0f);
	mgpu_bench_sink += ((int32_t *)g->hc)[d * d / 2];
	return 2.0 * d * d * d / (mgpu_test_now_ns() - t0);
}

static void bench_gemm(struct mgpu_dev *dev)
{
	struct bench_pair p;
	struct gemm_arg g;
	char m[48];
	int i;

	for (i = 0; i < 2; i++) {
		gemm_setup(&g, dev, i);
		bench_interleave(&p, BENCH_REPS, engine_gflops, &g, cpu_gflops,
				 &g);
		gemm_teardown(&g);
		snprintf(m, sizeof(m), "GEMM %s %d^3, engine vs userspace",
			 i ? "int8" : "fp32", GEMM_DIM);
		pair_row(m, &p, "engine %.3f GFLOP/s", "C loop -O2 %.3f GFLOP/s");
	}
}

/* ---- 5: scheduler ---- */

struct worker {
	const char *uuid;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	struct mgpu_test_load load;
	pthread_t thread;
};

static struct worker workers[NSCHED];

static uint64_t busy_ns(const char *uuid)
{
	uint64_t val = 0;

	mgpu_test_instance_u64(uuid, "busy_ns", &val);
	return val;
}

/* One window of a running policy: shares, instance 0's share of wall. */
struct sched_win {
	double share[NSCHED];
	double wall0;		/* instance 0's busy_ns / wall */
	double lost;
};

/* Start @busy GEMM streams under @policy, after a warm-up. */
static void sched_start(const char *policy, int busy)
{
	int i;

	if (parent_write("sched_policy", policy))
		die("cannot set %s", policy);
	for (i = 0; i < busy; i++) {
		workers[i].load.stop = false;
		if (pthread_create(&workers[i].thread, NULL,
				   mgpu_test_load_run, &workers[i].load))
			die("pthread_create");
	}
	usleep(300000);
}

static void sched_stop(int busy)
{
	int i;

	for (i = 0; i < busy; i++) {
		workers[i].load.stop = true;
		pthread_join(workers[i].thread, NULL);
		if (workers[i].load.err)
			die("GEMM stream: %s",
			    mgpu_strerror(workers[i].load.err));
	}
}

/* BENCH_REPS windows of SCHED_WINDOW_MS in a row; lost time of all. */
static double sched_windows(struct sched_win *w)
{
	uint64_t b0[NSCHED], b1[NSCHED], t0, t, l0, lall = 0, tall = 0;
	double sum;
	int i, r;

	for (r = 0; r < BENCH_REPS; r++) {
		t0 = mgpu_test_now_ns();
		l0 = bench_noise_lost_ns();
		for (i = 0; i < NSCHED; i++)
			b0[i] = busy_ns(workers[i].uuid);
		usleep(SCHED_WINDOW_MS * 1000);
		for (i = 0; i < NSCHED; i++)
			b1[i] = busy_ns(workers[i].uuid);
		t = mgpu_test_now_ns() - t0;
		sum = 0;
		for (i = 0; i < NSCHED; i++)
			sum += b1[i] - b0[i];
		for (i = 0; i < NSCHED; i++)
			w[r].share[i] = sum ? (b1[i] - b0[i]) / sum : 0;
		w[r].wall0 = (b1[0] - b0[0]) / (double)t;
		w[r].lost = (double)(bench_noise_lost_ns() - l0) / t;
		lall += bench_noise_lost_ns() - l0;
		tall += t;
	}
	return (double)lall / tall;
}

static void set_weight(const char *uuid, unsigned int w)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", w);
	if (mgpu_test_instance_write(uuid, "weight", buf))
		die("cannot set weight of %s", uuid);
}

/* A row of per-window figures @v against the fixed @ideal. */
static void window_row(const char *metric, const double *v, double lost,
		       const char *vfmt, double vscale, const char *baseline,
		       double ideal)
{
	double r[BENCH_REPS], lo, hi, med;
	char buf[40];
	int i;

	for (i = 0; i < BENCH_REPS; i++)
		r[i] = v[i] / ideal;
	med = bench_median(v, BENCH_REPS);
	snprintf(buf, sizeof(buf), vfmt, med * vscale);
	bench_minmax(r, BENCH_REPS, &lo, &hi);
	row_spread(row(metric, bench_median(r, BENCH_REPS), buf, baseline),
		   lo, hi, lost);
}

static void bench_sched(void)
{
	static const unsigned int weight[NSCHED] = { 1, 2, 4 };
	struct sched_win w[BENCH_REPS];
	struct mgpu_dev *devs[NSCHED];
	double v[BENCH_REPS], lost;
	char buf[48], m[48];
	int i, r;

	snprintf(buf, sizeof(buf), "%u", BUSY_SLICE_US);
	if (parent_write("time_slice_us", buf))
		die("cannot set time_slice_us");
	for (i = 0; i < NSCHED; i++) {
		struct worker *wk = &workers[i];

		wk->dev = devs[i] = create_open("mgpu-1_16", &wk->uuid);
		CHECK(mgpu_queue_open(wk->dev, 0, 256, 0, &wk->q));
		CHECK(mgpu_test_load_gemm_i8(&wk->load, wk->dev, wk->q,
					     BUSY_DIM, BUSY_BATCH));
	}

	sched_start("equal_share", NSCHED);
	lost = sched_windows(w);
	sched_stop(NSCHED);
	for (r = 0; r < BENCH_REPS; r++) {
		double s = 0, s2 = 0;

		for (i = 0; i < NSCHED; i++) {
			s += w[r].share[i];
			s2 += w[r].share[i] * w[r].share[i];
		}
		v[r] = s2 ? s * s / (NSCHED * s2) : 0;
	}
	window_row("equal_share Jain index, 3 busy", v, lost, "Jain %.3f", 1,
		   "ideal 1 (1/3 each)", 1);

	for (i = 0; i < NSCHED; i++)
		set_weight(workers[i].uuid, weight[i]);
	sched_start("fixed_share", NSCHED);
	lost = sched_windows(w);
	sched_stop(NSCHED);
	for (i = 0; i < NSCHED; i++) {
		for (r = 0; r < BENCH_REPS; r++)
			v[r] = w[r].share[i];
		snprintf(m, sizeof(m), "fixed_share weight %u of 1:2:4",
			 weight[i]);
		snprintf(buf, sizeof(buf), "configured %u/7 = %.4f", weight[i],
			 weight[i] / 7.0);
		window_row(m, v, lost, "share %.4f", 1, buf, weight[i] / 7.0);
	}

	sched_start("best_effort", 1);
	lost = sched_windows(w);
	sched_stop(1);
	for (r = 0; r < BENCH_REPS; r++)
		v[r] = w[r].wall0;
	window_row("best_effort lone busy (3 open)", v, lost,
		   "busy %.1f %% of wall", 100, "whole engine = 1", 1);

	for (i = 0; i < NSCHED; i++)
		mgpu_queue_close(workers[i].q);
	close_remove_all(devs, NSCHED);
}

/* ---- 6: create and remove ---- */

/*
 * One row: figure @m (named @mn) against figure @base (named @bn), both
 * medians over interleaved rounds (create.c); the spread is the widest
 * the rounds allow: fastest over slowest and slowest over fastest.
 */
static void fig_row(const char *metric, const char *mn,
		    const struct bench_create_fig *m, const char *bn,
		    const struct bench_create_fig *base, double lost)
{
	char v[40], b[48];

	snprintf(v, sizeof(v), "%s %.0f us", mn, m->median_us);
	snprintf(b, sizeof(b), "%s %.0f us [%.0f-%.0f]", bn, base->median_us,
		 base->min_us, base->max_us);
	row_spread(row(metric, m->median_us / base->median_us, v, b),
		   m->min_us / base->max_us, m->max_us / base->min_us, lost);
}

/*
 * Create and remove: mgpu's smallest type against the kernel's mtty
 * sample, and mgpu's largest type (the whole VRAM) against its smallest:
 * the cost of a create must not depend on the VRAM it hands out.
 */
static void bench_create(void)
{
	struct bench_create_result r;
	uint64_t t0 = mgpu_test_now_ns(), l0 = bench_noise_lost_ns();
	double lost;

	if (bench_create_remove(mgpu_test_parent, MTTY_KO, &r)) {
		row("create/remove vs mtty", 0, "not measured",
		    "(see the messages above)");
		return;
	}
	lost = (double)(bench_noise_lost_ns() - l0) / (mgpu_test_now_ns() - t0);
	fig_row("create, mgpu 1/16 vs mtty sample", "mgpu", &r.mgpu_create,
		"mtty", &r.mtty_create, lost);
	fig_row("remove, mgpu 1/16 vs mtty sample", "mgpu", &r.mgpu_remove,
		"mtty", &r.mtty_remove, lost);
	fig_row("create, passthrough vs 1/16 (VRAM x16)", "whole",
		&r.big_create, "1/16", &r.mgpu_create, lost);
	fig_row("remove, passthrough vs 1/16 (VRAM x16)", "whole",
		&r.big_remove, "1/16", &r.mgpu_remove, lost);
}

/* ---- 7: engine threads ---- */

/* The busy instances of one parent of the engine threads row. */
struct eng_arg {
	struct worker w[ENG_BUSY];
};

/*
 * Aggregate GEMMs/s of the parent's busy instances: all streams start, a
 * short warm-up, then the completed GEMMs of one window, then they stop
 * (so that the other parent has the CPUs to itself in its turn).
 */
static double eng_gemms_s(void *arg)
{
	struct eng_arg *e = arg;
	uint64_t d0 = 0, d1 = 0, t0, t1;
	int i;

	for (i = 0; i < ENG_BUSY; i++) {
		e->w[i].load.stop = false;
		if (pthread_create(&e->w[i].thread, NULL, mgpu_test_load_run,
				   &e->w[i].load))
			die("pthread_create");
	}
	usleep(200000);
	t0 = mgpu_test_now_ns();
	for (i = 0; i < ENG_BUSY; i++)
		d0 += e->w[i].load.done;
	usleep(ENG_WINDOW_MS * 1000);
	t1 = mgpu_test_now_ns();
	for (i = 0; i < ENG_BUSY; i++)
		d1 += e->w[i].load.done;
	for (i = 0; i < ENG_BUSY; i++) {
		e->w[i].load.stop = true;
		pthread_join(e->w[i].thread, NULL);
		if (e->w[i].load.err)
			die("GEMM stream: %s", mgpu_strerror(e->w[i].load.err));
	}
	return (d1 - d0) * 1e9 / (t1 - t0);
}

static const char *add_engines_parent(int slot, unsigned int engines)
{
	uint32_t before, after;
	char spec[64];

	snprintf(spec, sizeof(spec), "vram=64M queues=16 engines=%u", engines);
	before = mgpu_test_swgpu_set();
	if (mgpu_test_add_swgpu(spec))
		die("add_swgpu %s failed", spec);
	after = mgpu_test_swgpu_set() & ~before;
	if (!after)
		die("add_swgpu %s made no software GPU", spec);
	mgpu_test_swgpu_name(__builtin_ctz(after), engines_parent[slot],
			     sizeof(engines_parent[slot]));
	return engines_parent[slot];
}

static void bench_engines(void)
{
	struct mgpu_dev *devs[2 * ENG_BUSY];
	static struct eng_arg two, one;
	struct eng_arg *e[2] = { &two, &one };
	struct bench_pair p;
	int i, j;

	for (i = 0; i < 2; i++) {
		const char *parent = add_engines_parent(i, i ? 1 : 2);

		for (j = 0; j < ENG_BUSY; j++) {
			struct worker *w = &e[i]->w[j];

			w->dev = devs[i * ENG_BUSY + j] =
				create_open_on(parent, "mgpu-1_4", &w->uuid);
			CHECK(mgpu_queue_open(w->dev, 0, 256, 0, &w->q));
			CHECK(mgpu_test_load_gemm_i8(&w->load, w->dev, w->q,
						     ENG_DIM, BUSY_BATCH));
		}
	}
	bench_interleave(&p, BENCH_REPS, eng_gemms_s, &two, eng_gemms_s,
			 &one);
	pair_row("aggregate GEMM/s, 2 engine threads vs 1", &p, "2 threads %.0f GEMM/s", "1 thread %.0f GEMM/s");
	for (i = 0; i < 2 * ENG_BUSY; i++)
		mgpu_queue_close(e[i / ENG_BUSY]->w[i % ENG_BUSY].q);
	close_remove_all(devs, 2 * ENG_BUSY);
	for (i = 0; i < 2; i++) {
		if (mgpu_test_remove_swgpu(engines_parent[i]))
			die("cannot remove %s", engines_parent[i]);
		engines_parent[i][0] = 0;
	}
}

/* ---- main ---- */

/*
 * A software GPU of the same VRAM and queues as the bench's parent, for
 * the passthrough instance, so that both instances of a queue row are
 * open at once and their repeats can take turns.
 */
static const char *add_twin_parent(void)
{
	uint64_t vram = 0, queues = 0;
	uint32_t before, after;
	char spec[64];

	if (mgpu_test_parent_u64(mgpu_test_parent, "vram_size", &vram) ||
	    mgpu_test_parent_u64(mgpu_test_parent, "queues", &queues))
		die("cannot read %s's vram_size and queues", mgpu_test_parent);
	snprintf(spec, sizeof(spec), "vram=%lluM queues=%llu",
		 (unsigned long long)(vram >> 20), (unsigned long long)queues);
	before = mgpu_test_swgpu_set();
	if (mgpu_test_add_swgpu(spec))
		die("add_swgpu %s failed", spec);
	after = mgpu_test_swgpu_set() & ~before;
	if (!after)
		die("add_swgpu %s made no software GPU", spec);
	mgpu_test_swgpu_name(__builtin_ctz(after), added_parent,
			     sizeof(added_parent));
	return added_parent;
}

static void bench_queues(void)
{
	struct queue_arg frac, poll, pt;
	struct mgpu_dev *devs[2];
	struct bench_pair p;

	devs[0] = create_open("mgpu-1_4", NULL);
	devs[1] = create_open_on(add_twin_parent(), "mgpu-passthrough", NULL);
	frac = (struct queue_arg){ devs[0], 0 };
	poll = (struct queue_arg){ devs[0], MGPU_QUEUE_TAIL_POLL };
	pt = (struct queue_arg){ devs[1], 0 };

	bench_interleave(&p, BENCH_REPS, queue_rtt_us, &frac, queue_rtt_us,
			 &pt);
	pair_row("fence round trip, 1/4 vs passthrough", &p, "1/4 %.1f us",
		 "passthrough %.1f us");
	bench_interleave(&p, BENCH_REPS, queue_cmds_s, &frac, queue_cmds_s,
			 &pt);
	pair_row("NOP+doorbell cmds/s, 1/4 vs pt", &p, "1/4 %.0f/s",
		 "passthrough %.0f/s");
	bench_interleave(&p, BENCH_REPS, queue_rtt_us, &poll, queue_rtt_us,
			 &frac);
	pair_row("fence round trip, TAIL_POLL vs TAIL", &p,
		 "TAIL_POLL %.1f us", "trapped TAIL %.1f us");
	bench_interleave(&p, BENCH_REPS, queue_cmds_s, &poll, queue_cmds_s,
			 &frac);
	pair_row("cmds/s, TAIL_POLL vs trapped TAIL", &p, "TAIL_POLL %.0f/s",
		 "trapped TAIL %.0f/s");
	close_remove_all(devs, 2);
	if (mgpu_test_remove_swgpu(added_parent))
		die("cannot remove %s", added_parent);
	added_parent[0] = 0;
}

/* ---- 7: aggregate: N busy tenants vs one passthrough tenant ---- */

/*
 * The same GEMM stream (BUSY_DIM int8, BUSY_BATCH a submission, the
 * scheduler rows') in each of N 1/N instances of the bench's parent at
 * once, against one passthrough instance of a software GPU of the same
 * size: the engine's whole throughput must be there however it is cut.
 * Throughput: the instances' flops counters over a window of
 * AGG_WINDOW_MS after 100 ms of warm-up; the streams stop between
 * windows, so that the two sides take turns.
 */
struct agg_side {
	struct worker *w;
	int n;
	double jain[BENCH_REPS_MAX + 1];	/* per window; [0]: warm-up */
	int windows;
};

static uint64_t flops_of(const char *uuid)
{
	uint64_t val = 0;

	mgpu_test_instance_u64(uuid, "flops", &val);
	return val;
}

/* GFLOP/s of all @arg's streams together over one window. */
static double agg_window(void *arg)
{
	struct agg_side *a = arg;
	uint64_t b0[AGG_MAX], t0, t;
	double each, sum = 0, s2 = 0;
	int i;

	for (i = 0; i < a->n; i++) {
		a->w[i].load.stop = false;
		if (pthread_create(&a->w[i].thread, NULL, mgpu_test_load_run,
				   &a->w[i].load))
			die("pthread_create");
	}
	usleep(100000);
	for (i = 0; i < a->n; i++)
		b0[i] = flops_of(a->w[i].uuid);
	t0 = mgpu_test_now_ns();
	usleep(AGG_WINDOW_MS * 1000);
	t = mgpu_test_now_ns() - t0;
	for (i = 0; i < a->n; i++) {
		each = (flops_of(a->w[i].uuid) - b0[i]) / (double)t;
		sum += each;
		s2 += each * each;
	}
	for (i = 0; i < a->n; i++) {
		a->w[i].load.stop = true;
		pthread_join(a->w[i].thread, NULL);
		if (a->w[i].load.err)
			die("GEMM stream: %s", mgpu_strerror(a->w[i].load.err));
	}
	if (a->windows <= BENCH_REPS_MAX)
		a->jain[a->windows++] = s2 ? sum * sum / (a->n * s2) : 0;
	return sum;
}

static void agg_open(struct worker *w, const char *parent, const char *type,
		     struct mgpu_dev **devp)
{
	w->dev = create_open_on(parent, type, &w->uuid);
	*devp = w->dev;
	CHECK(mgpu_queue_open(w->dev, 0, 256, 0, &w->q));
	CHECK(mgpu_test_load_gemm_i8(&w->load, w->dev, w->q, BUSY_DIM,
				     BUSY_BATCH));
}

static void bench_aggregate_n(int n, const char *type)
{
	static struct worker w[AGG_MAX + 1];
	struct mgpu_dev *devs[AGG_MAX + 1];
	struct agg_side ten = { .w = w, .n = n }, pt = { .w = &w[n], .n = 1 };
	struct bench_pair p;
	char m[48], v[40], b[48];
	double jain[BENCH_REPS_MAX], lo, hi;
	int i;

	for (i = 0; i < n; i++)
		agg_open(&w[i], mgpu_test_parent, type, &devs[i]);
	agg_open(&w[n], add_twin_parent(), "mgpu-passthrough", &devs[n]);
	bench_interleave(&p, BENCH_REPS, agg_window, &ten, agg_window, &pt);
	snprintf(m, sizeof(m), "aggregate, %d busy 1/%d vs 1 passthrough", n,
		 n);
	snprintf(v, sizeof(v), "%d x 1/%d %%.3f GFLOP/s", n, n);
	pair_row(m, &p, v, "one passthrough %.3f GFLOP/s");
	/* the windows after the warm-up's */
	for (i = 0; i < p.n; i++)
		jain[i] = ten.jain[i + 1];
	bench_minmax(jain, p.n, &lo, &hi);
	snprintf(m, sizeof(m), "Jain index, %d busy 1/%d tenants", n, n);
	snprintf(v, sizeof(v), "Jain %.3f", bench_median(jain, p.n));
	snprintf(b, sizeof(b), "ideal 1 (1/%d each)", n);
	row_spread(row(m, bench_median(jain, p.n), v, b), lo, hi, p.lost);
	for (i = 0; i <= n; i++)
		mgpu_queue_close(w[i].q);
	close_remove_all(devs, n + 1);
	if (mgpu_test_remove_swgpu(added_parent))
		die("cannot remove %s", added_parent);
	added_parent[0] = 0;
}

static void bench_aggregate(void)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", BUSY_SLICE_US);
	if (parent_write("time_slice_us", buf) ||
	    parent_write("sched_policy", "equal_share"))
		die("cannot set equal_share, time_slice_us");
	bench_aggregate_n(4, "mgpu-1_4");
	bench_aggregate_n(16, "mgpu-1_16");
}

int main(int argc, char **argv)
{
	struct mgpu_dev *dev;
	struct utsname u;
	const char *only;
	int i, noisy = 0;

	mgpu_test_parent_init(&argc, argv);
	if (mgpu_test_parent_read(mgpu_test_parent, "sched_policy",
				  saved_policy, sizeof(saved_policy)) <= 0)
		die("no parent %s (is mgpu.ko loaded?)", mgpu_test_parent);
	if (mgpu_test_parent_read(mgpu_test_parent, "time_slice_us",
				  saved_slice, sizeof(saved_slice)) <= 0)
		die("cannot read %s's time_slice_us", mgpu_test_parent);
	if (parent_write("sched_policy", "best_effort"))
		die("cannot set best_effort");
	uname(&u);
	fprintf(stderr, "mgpu-bench: measuring on %s %s (takes a few minutes)\n",
		u.sysname, u.release);
	bench_noise_start();

	only = getenv("MGPU_BENCH_ONLY");
	if (only && strcmp(only, "engines"))
		die("MGPU_BENCH_ONLY=%s: only \"engines\" is known", only);
	if (!only) {
		/* A 1/4 instance: BAR2 and GEMM. */
		dev = create_open("mgpu-1_4", NULL);
		bench_bar2(dev);
		bench_gemm(dev);
		close_remove_all(&dev, 1);

		/* 1/4 and passthrough (of a twin parent) at once: queues. */
		bench_queues();

		bench_sched();
	}
	bench_engines();
	if (!only) {
		bench_create();
		bench_aggregate();
	}
	bench_noise_stop();
	cleanup();

	printf("\n=== mgpu bench: %s %s, %ld CPUs ===\n", u.sysname, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-40s %7s  %-13s %6s  %-26s %s\n", "metric", "ratio",
	       "spread", "stolen", "measured (median)",
	       "baseline (ratio = measured / baseline)");
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];
		char spread[24] = "-", lost[16] = "-";

		if (r->spread) {
			snprintf(spread, sizeof(spread), "[%.3f-%.3f]", r->lo,
				 r->hi);
			snprintf(lost, sizeof(lost), "%.1f%%", 100 * r->lost);
		}
		printf("%-40s %7.3f  %-13s %6s  %-26s %s%s\n", r->metric,
		       r->ratio, spread, lost, r->value, r->baseline,
		       r->spread && r->lost > BENCH_NOISY ? "  NOISY" : "");
		if (r->spread && r->lost > BENCH_NOISY)
			noisy++;
	}
	printf("ratio: median of %d interleaved repeats (after a warm-up), spread: their lowest and highest;\n",
	       BENCH_REPS);
	printf("stolen: share of the row's window the host did not run the guest's vCPUs");
	if (noisy)
		printf(";\n%d row(s) NOISY (over %.0f %% stolen): run make bench on an idle host\n",
		       noisy, 100 * BENCH_NOISY);
	else
		printf("\n");
	printf("userspace GEMM: i-p-j loops (the engine's order), gcc -O2, one thread\n");
	printf("engines: int8 GEMMs of %d^3 in batches of %d, windows of %d ms\n",
	       ENG_DIM, BUSY_BATCH, ENG_WINDOW_MS);
	printf("=== mgpu bench done ===\n");
	return 0;
}
