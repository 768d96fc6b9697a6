// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-bench: one table of ratios, every figure measured in the same run.
 *
 *   mgpu-bench [parent]        (default $MGPU_TEST_PARENT, else the
 *                              first software GPU, 6d67:00:00.0; it must
 *                              be empty)
 *
 * Runs on a host with mgpu.ko loaded (make bench runs it in a QEMU
 * guest).  It creates the instances it needs on the parent, opens them
 * through VFIO with libmgpu, measures, and removes them again; the
 * parent's policy and time slice are restored.
 *
 * Rows (ratio = measured / baseline):
 *   BAR2 read/write      memcpy() out of / into mmapped VRAM vs RAM->RAM
 *   fence round trip     a 1/4 instance vs passthrough
 *   commands/s           NOP + doorbell per command, 1/4 vs passthrough
 *   doorbell latency     TAIL_POLL (no trap) vs trapped TAIL write
 *   doorbell commands/s  the same, as throughput
 *   GEMM fp32, int8      engine vs a userspace -O2 loop of this program
 *   equal_share          Jain's index of three busy instances
 *   fixed_share          achieved / configured share, weights 1:2:4
 *   best_effort          a lone busy instance's share of the wall clock
 *   create, remove       mgpu 1/16 vs the kernel's mtty sample, and the
 *                        whole VRAM (passthrough) vs 1/16 (create.c)
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

/* The kernel's mtty sample, put there by scripts/build-mtty.sh. */
#define MTTY_KO		"/mgpu/extra/mtty.ko"

#define NSCHED		3
#define BUSY_DIM	64		/* int8 GEMM of the busy streams */
#define BUSY_BATCH	16
#define BUSY_SLICE_US	10000
#define GEMM_DIM	256		/* engine vs userspace GEMM */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- sysfs ---- */

static int parent_write(const char *attr, const char *val)
{
	return mgpu_test_parent_write(mgpu_test_parent, attr, val);
}

/* ---- instances: created here, removed at exit ---- */

static char uuids[NSCHED + 1][MGPU_UUID_BUF];
static int nuuids;
static char saved_policy[32], saved_slice[32];

static void cleanup(void)
{
	int i;

	for (i = 0; i < nuuids; i++)
		if (mgpu_test_instance_exists(uuids[i]))
			mgpu_test_remove(uuids[i]);
	nuuids = 0;
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

static struct mgpu_dev *create_open(const char *type, const char **uuidp)
{
	char *uuid = uuids[nuuids];
	struct mgpu_dev *dev;
	int ret;

	if (mgpu_test_uuid_random(uuid))
		die("no /proc/sys/kernel/random/uuid");
	ret = mgpu_test_create(mgpu_test_parent, type, uuid);
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
	double ratio;
	char value[40];
	char baseline[48];
};

static struct row rows[32];
static int nrows;

static void row(const char *metric, double ratio, const char *value,
		const char *baseline)
{
	struct row *r = &rows[nrows++];

	snprintf(r->metric, sizeof(r->metric), "%s", metric);
	r->ratio = ratio;
	snprintf(r->value, sizeof(r->value), "%s", value);
	snprintf(r->baseline, sizeof(r->baseline), "%s", baseline);
}

static char *fmt(char *buf, size_t size, const char *f, double v)
{
	snprintf(buf, size, f, v);
	return buf;
}

/* A row of measured / baseline, both formatted with their own format. */
static void ratio_row(const char *metric, const char *vfmt, double val,
		      const char *bfmt, double base)
{
	char v[40], b[48];

	snprintf(v, sizeof(v), vfmt, val);
	snprintf(b, sizeof(b), bfmt, base);
	row(metric, val / base, v, b);
}

/* ---- 1: BAR2 bandwidth ---- */

/* GB/s of memcpy(dst, src, size), repeated for at least 300 ms. */
static double copy_gbs(void *dst, const void *src, size_t size)
{
	uint64_t t0 = mgpu_test_now_ns(), t;
	unsigned int n = 0;

	memcpy(dst, src, size);		/* fault everything in */
	t0 = mgpu_test_now_ns();
	do {
		memcpy(dst, src, size);
		n++;
		t = mgpu_test_now_ns() - t0;
	} while (t < 300000000ULL);
	return (double)size * n / t;
}

static void bench_bar2(struct mgpu_dev *dev)
{
	const size_t size = 16 << 20;
	char *a, *b, *vram, v[40], base[48];
	double rd, wr, ram;
	uint64_t off;

	CHECK(mgpu_vram_alloc(dev, size, 4096, &off));
	vram = mgpu_vram_ptr(dev, off);
	a = aligned_alloc(4096, size);
	b = aligned_alloc(4096, size);
	if (!a || !b)
		die("out of memory");
	memset(a, 0x5a, size);
	memset(b, 0xa5, size);
	ram = copy_gbs(b, a, size);
	rd = copy_gbs(a, vram, size);
	wr = copy_gbs(vram, b, size);
	snprintf(base, sizeof(base), "memcpy RAM->RAM %.2f GB/s", ram);
	row("BAR2 read: memcpy VRAM->RAM", rd / ram,
	    fmt(v, sizeof(v), "%.2f GB/s", rd), base);
	row("BAR2 write: memcpy RAM->VRAM", wr / ram,
	    fmt(v, sizeof(v), "%.2f GB/s", wr), base);
	free(a);
	free(b);
	CHECK(mgpu_vram_free(dev, off));
}

/* ---- 2, 3: fences, doorbells ---- */

struct qperf {
	double rtt_us;		/* median fence round trip on an idle queue */
	double cmds_s;		/* NOPs/s, one doorbell per command */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct qperf bench_queue(struct mgpu_dev *dev, unsigned int flags)
{
	enum { RTT_N = 300, NOP_N = 4000 };
	static double lat[RTT_N];
	struct mgpu_queue *q;
	struct mgpu_cmd nop;
	struct qperf p;
	uint64_t t0;
	int i;

	CHECK(mgpu_queue_open(dev, 0, 1024, flags, &q));
	mgpu_cmd_nop(&nop);
	for (i = 0; i < 20; i++)		/* warm up */
		CHECK(mgpu_queue_sync(q, 10000));
	for (i = 0; i < RTT_N; i++) {
		t0 = mgpu_test_now_ns();
		CHECK(mgpu_queue_sync(q, 10000));
		lat[i] = (mgpu_test_now_ns() - t0) / 1e3;
	}
	qsort(lat, RTT_N, sizeof(lat[0]), cmp_double);
	p.rtt_us = lat[RTT_N / 2];

	t0 = mgpu_test_now_ns();
	for (i = 0; i < NOP_N; i++)
		CHECK(mgpu_submit(q, &nop, 1));
	CHECK(mgpu_queue_sync(q, 60000));
	p.cmds_s = (NOP_N + 1) * 1e9 / (mgpu_test_now_ns() - t0);
	mgpu_queue_close(q);
	return p;
}

/* ---- 4: GEMM ---- */

static double engine_gflops(struct mgpu_dev *dev, bool int8)
{
	const uint32_t d = GEMM_DIM, reps = 2;
	size_t ab = (size_t)d * d * (int8 ? 1 : 4), c = (size_t)d * d * 4;
	struct mgpu_queue *q;
	struct mgpu_cmd cmd;
	uint64_t a, b, cc, t0, t;
	float *f;
	uint32_t i;

	CHECK(mgpu_queue_open(dev, 1, 0, 0, &q));
	mgpu_queue_set_timeout(q, 120000);
	CHECK(mgpu_vram_alloc(dev, ab, 0, &a));
	CHECK(mgpu_vram_alloc(dev, ab, 0, &b));
	CHECK(mgpu_vram_alloc(dev, c, 0, &cc));
	if (int8) {
		memset(mgpu_vram_ptr(dev, a), 1, ab);
		memset(mgpu_vram_ptr(dev, b), 2, ab);
	} else {
		f = mgpu_vram_ptr(dev, a);
		for (i = 0; i < d * d; i++)
			f[i] = 1.0f;
		f = mgpu_vram_ptr(dev, b);
		for (i = 0; i < d * d; i++)
			f[i] = 0.5f;
	}
	if (int8)
		mgpu_cmd_gemm_i8(&cmd, a, b, cc, d, d, d, 1, 0);
	else
		mgpu_cmd_gemm_f32(&cmd, a, b, cc, d, d, d, 1.0f, 0.0f);
	t0 = mgpu_test_now_ns();
	for (i = 0; i < reps; i++)
		CHECK(mgpu_submit(q, &cmd, 1));
	CHECK(mgpu_queue_sync(q, 120000));
	t = mgpu_test_now_ns() - t0;
	mgpu_vram_free(dev, a);
	mgpu_vram_free(dev, b);
	mgpu_vram_free(dev, cc);
	mgpu_queue_close(q);
	return 2.0 * d * d * d * reps / t;
}

/*
 * The userspace reference is libmgpu_test's GEMM: the engine's loop
 * order, plain C, built with -O2.
 */
static volatile int32_t sink;

static double cpu_gflops(bool int8)
{
	const int d = GEMM_DIM;
	void *a = calloc(d * d, 4), *b = calloc(d * d, 4), *c = calloc(d * d, 4);
	uint64_t t0, t;
	int n = 0;

	if (!a || !b || !c)
		die("out of memory");
	if (int8) {
		memset(a, 1, d * d);
		memset(b, 2, d * d);
	} else {
		for (n = 0; n < d * d; n++) {
			((float *)a)[n] = 1.0f;
			((float *)b)[n] = 0.5f;
		}
		n = 0;
	}
	t0 = mgpu_test_now_ns();
	do {
		if (int8)
			mgpu_test_gemm_i8(a, b, c, d, d, d, 1, 0);
		else
			mgpu_test_gemm_f32(a, b, c, d, d, d, 1.0f, 0.0f);
		sink += ((int32_t *)c)[n % (d * d)];
		n++;
		t = mgpu_test_now_ns() - t0;
	} while (t < 500000000ULL);
	free(a);
	free(b);
	free(c);
	return 2.0 * d * d * d * n / t;
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

/* Run @busy streams for @ms after a warm-up; shares of busy_ns. */
static double sched_window(const char *policy, int busy, unsigned int ms,
			   double share[NSCHED])
{
	uint64_t b0[NSCHED], b1[NSCHED], t0, t;
	double sum = 0;
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
	t0 = mgpu_test_now_ns();
	for (i = 0; i < NSCHED; i++)
		b0[i] = busy_ns(workers[i].uuid);
	usleep(ms * 1000);
	for (i = 0; i < NSCHED; i++)
		b1[i] = busy_ns(workers[i].uuid);
	t = mgpu_test_now_ns() - t0;
	for (i = 0; i < busy; i++) {
		workers[i].load.stop = true;
		pthread_join(workers[i].thread, NULL);
		if (workers[i].load.err)
			die("GEMM stream: %s",
			    mgpu_strerror(workers[i].load.err));
	}
	for (i = 0; i < NSCHED; i++)
		sum += b1[i] - b0[i];
	for (i = 0; i < NSCHED; i++)
		share[i] = sum ? (b1[i] - b0[i]) / sum : 0;
	fprintf(stderr, "mgpu-bench: %s, %d busy: busy_ns / wall %.3f %.3f %.3f\n",
		policy, busy, (b1[0] - b0[0]) / (double)t,
		(b1[1] - b0[1]) / (double)t, (b1[2] - b0[2]) / (double)t);
	return (b1[0] - b0[0]) / (double)t;	/* instance 0 / wall */
}

static void set_weight(const char *uuid, unsigned int w)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", w);
	if (mgpu_test_instance_write(uuid, "weight", buf))
		die("cannot set weight of %s", uuid);
}

static void bench_sched(void)
{
	static const unsigned int weight[NSCHED] = { 1, 2, 4 };
	struct mgpu_dev *devs[NSCHED];
	double share[NSCHED], s = 0, s2 = 0, lone;
	char buf[48], v[40], m[48];
	int i;

	snprintf(buf, sizeof(buf), "%u", BUSY_SLICE_US);
	if (parent_write("time_slice_us", buf))
		die("cannot set time_slice_us");
	for (i = 0; i < NSCHED; i++) {
		struct worker *w = &workers[i];

		w->dev = devs[i] = create_open("mgpu-1_16", &w->uuid);
		CHECK(mgpu_queue_open(w->dev, 0, 256, 0, &w->q));
		CHECK(mgpu_test_load_gemm_i8(&w->load, w->dev, w->q, BUSY_DIM,
					     BUSY_BATCH));
	}

	sched_window("equal_share", NSCHED, 2000, share);
	for (i = 0; i < NSCHED; i++) {
		s += share[i];
		s2 += share[i] * share[i];
	}
	snprintf(v, sizeof(v), "shares %.3f %.3f %.3f", share[0], share[1],
		 share[2]);
	row("equal_share Jain index, 3 busy", s * s / (NSCHED * s2), v,
	    "ideal 1 (1/3 each)");

	for (i = 0; i < NSCHED; i++)
		set_weight(workers[i].uuid, weight[i]);
	sched_window("fixed_share", NSCHED, 2000, share);
	for (i = 0; i < NSCHED; i++) {
		snprintf(m, sizeof(m), "fixed_share weight %u of 1:2:4",
			 weight[i]);
		snprintf(v, sizeof(v), "share %.4f", share[i]);
		snprintf(buf, sizeof(buf), "configured %u/7 = %.4f", weight[i],
			 weight[i] / 7.0);
		row(m, share[i] / (weight[i] / 7.0), v, buf);
	}

	lone = sched_window("best_effort", 1, 2000, share);
	snprintf(v, sizeof(v), "busy %.1f %% of wall", 100 * lone);
	row("best_effort lone busy (3 open)", lone, v, "whole engine = 1");

	for (i = 0; i < NSCHED; i++)
		mgpu_queue_close(workers[i].q);
	close_remove_all(devs, NSCHED);
}

/* ---- main ---- */

/* One row: figure @m (named @mn) against figure @base (named @bn). */
static void fig_row(const char *metric, const char *mn,
		    const struct bench_create_fig *m, const char *bn,
		    const struct bench_create_fig *base)
{
	char v[40], b[48];

	snprintf(v, sizeof(v), "%s %.0f us [%.0f-%.0f]", mn, m->median_us,
		 m->min_us, m->max_us);
	snprintf(b, sizeof(b), "%s %.0f us [%.0f-%.0f]", bn, base->median_us,
		 base->min_us, base->max_us);
	row(metric, m->median_us / base->median_us, v, b);
}

/*
 * Create and remove: mgpu's smallest type against the kernel's mtty
 * sample, and mgpu's largest type (the whole VRAM) against its smallest:
 * the cost of a create must not depend on the VRAM it hands out.
 */
static void bench_create(void)
{
	struct bench_create_result r;

	if (bench_create_remove(mgpu_test_parent, MTTY_KO, &r)) {
		row("create/remove vs mtty", 0, "not measured",
		    "(see the messages above)");
		return;
	}
	fig_row("create, mgpu 1/16 vs mtty sample", "mgpu", &r.mgpu_create,
		"mtty", &r.mtty_create);
	fig_row("remove, mgpu 1/16 vs mtty sample", "mgpu", &r.mgpu_remove,
		"mtty", &r.mtty_remove);
	fig_row("create, passthrough vs 1/16 (VRAM x16)", "whole",
		&r.big_create, "1/16", &r.mgpu_create);
	fig_row("remove, passthrough vs 1/16 (VRAM x16)", "whole",
		&r.big_remove, "1/16", &r.mgpu_remove);
}

int main(int argc, char **argv)
{
	struct qperf frac, pt, poll;
	double gf[2], gc[2];
	struct mgpu_dev *dev;
	struct utsname u;
	char v[40], b[48];
	int i;

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
	fprintf(stderr, "mgpu-bench: measuring on %s %s (takes about a minute)\n",
		u.sysname, u.release);

	/* A 1/4 instance: BAR2, queues, doorbells, GEMM. */
	dev = create_open("mgpu-1_4", NULL);
	bench_bar2(dev);
	frac = bench_queue(dev, 0);
	poll = bench_queue(dev, MGPU_QUEUE_TAIL_POLL);
	gf[0] = engine_gflops(dev, false);
	gf[1] = engine_gflops(dev, true);
	close_remove_all(&dev, 1);

	/* The passthrough instance: the same queue figures. */
	dev = create_open("mgpu-passthrough", NULL);
	pt = bench_queue(dev, 0);
	close_remove_all(&dev, 1);

	ratio_row("fence round trip, 1/4 vs passthrough", "1/4 %.1f us",
		  frac.rtt_us, "passthrough %.1f us", pt.rtt_us);
	ratio_row("NOP+doorbell cmds/s, 1/4 vs pt", "1/4 %.0f/s", frac.cmds_s,
		  "passthrough %.0f/s", pt.cmds_s);
	ratio_row("fence round trip, TAIL_POLL vs TAIL", "TAIL_POLL %.1f us",
		  poll.rtt_us, "trapped TAIL %.1f us", frac.rtt_us);
	ratio_row("cmds/s, TAIL_POLL vs trapped TAIL", "TAIL_POLL %.0f/s",
		  poll.cmds_s, "trapped TAIL %.0f/s", frac.cmds_s);

	gc[0] = cpu_gflops(false);
	gc[1] = cpu_gflops(true);
	for (i = 0; i < 2; i++) {
		char m[48];

		snprintf(m, sizeof(m), "GEMM %s %d^3, engine vs userspace",
			 i ? "int8" : "fp32", GEMM_DIM);
		snprintf(b, sizeof(b), "C loop -O2 %.3f GFLOP/s", gc[i]);
		row(m, gf[i] / gc[i],
		    fmt(v, sizeof(v), "engine %.3f GFLOP/s", gf[i]), b);
	}

	bench_sched();
	bench_create();
	cleanup();

	printf("\n=== mgpu bench: %s %s, %ld CPUs ===\n", u.sysname, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%-40s %8s  %-24s %s\n", "metric", "ratio", "measured",
	       "baseline (ratio = measured / baseline)");
	for (i = 0; i < nrows; i++)
		printf("%-40s %8.3f  %-24s %s\n", rows[i].metric,
		       rows[i].ratio, rows[i].value, rows[i].baseline);
	printf("userspace GEMM: i-p-j loops (the engine's order), gcc -O2, one thread\n");
	printf("=== mgpu bench done ===\n");
	return 0;
}
