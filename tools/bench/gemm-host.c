// SPDX-License-Identifier: GPL-2.0
/*
 * gemm-host: the engine's GEMM kernels on the host CPU against OpenBLAS.
 *
 * kernel/gemm_fp*.c are compiled unchanged in userspace (tools/fuzz's
 * shim headers, the kernel's FPU flags per object, see the Makefile) and
 * timed in the same run as OpenBLAS's sgemm on one thread, on real
 * silicon: square 256, 512, 1024 and the LSTM's shapes.  Rows: GFLOP/s
 * (2mnk per GEMM; int8: operations) of each, and the ratio kernel /
 * OpenBLAS sgemm with its median and spread over interleaved repeats
 * (A B C A B C ..., after a warm-up round that is not counted), timed
 * in CPU time of the thread (CLOCK_THREAD_CPUTIME_ID).  The
 * engine's previous kernels (one row of C per call, B read once per
 * row) are kept here as "row" so that the table shows before and after.
 *
 * Every result is checked first: each of the engine's kernels must give
 * bitwise the result of the plain loop (the device model's arithmetic),
 * and fp32 be within a relative 1e-4 of OpenBLAS.
 *
 * usage: gemm-host [-r REPEATS] [-t MS_PER_RUN]
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gemm-host.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct shape {
	const char *name;
	unsigned int m, n, k;
};

static const struct shape shapes[] = {
	{ "256^3", 256, 256, 256 },
	{ "512^3", 512, 512, 512 },
	{ "1024^3", 1024, 1024, 1024 },
	{ "LSTM 20x200.200x800", 20, 800, 200 },
	{ "LSTM 20x200.200x2000", 20, 2000, 200 },
};

enum {
	V_BLAS, V_ROW, V_SSE2, V_AVX2, V_AVX512, V_OLDSTEPS, V_STEPS,
	V_I8ROW, V_I8SSE2, V_I8AVX2, V_I8AVX512, V_I8OLDSTEPS, V_I8STEPS, NV
};
static const char *const vname[NV] = {
	"OpenBLAS", "row (old)", "sse2", "avx2", "avx512", "steps (old)",
	"steps", "i8 row (old)", "i8 sse2", "i8 avx2", "i8 avx512",
	"i8 steps (old)", "i8 steps",
};
#define IS_I8(v)	((v) >= V_I8ROW)

/* The operands: fp32, and int8 with int32 C. */
struct bufs {
	float *a, *b, *c;
	s8 *a8, *b8;
	s32 *c32;
};

/*
 * The engine's steps (kernel/cmd.c), VRAM aside: the operands of each
 * piece copied into scratch buffers and C's rows copied back, pieces of
 * at most MGPU_STEP_MACS multiply-adds, blocks of up to MGPU_GEMM_ROWS
 * rows (fewer for large n), the widest kernel; "steps (old)": one row at
 * a time with the row kernel, as before.
 */
#define STEP_MACS	(128 * 1024)
#define GEMM_ROWS	16
static float *scr_a, *scr_b, *scr_c;

static unsigned int repeats = 7, run_ms = 100;
/* Page-aligned, as the engine's scratch buffer is (kvmalloc()). */
static float *work;

/*
 * The time this thread has run: on a host shared with other work, time
 * spent preempted is not counted against whichever kernel was running.
 */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int has(int v)
{
	__builtin_cpu_init();
	switch (v) {
	case V_AVX2:
	case V_I8AVX2:
		return __builtin_cpu_supports("avx2");
	case V_AVX512:
	case V_I8AVX512:
		return __builtin_cpu_supports("avx512f");
	default:
		return 1;
	}
}

/* The engine's previous fp32 kernel, as it was: one row of C per call. */
static void old_f32_row(const float *a, const float *b, float *c, unsigned int n,
			unsigned int np, int first, float alpha, float beta)
{
	unsigned int j, p;

	if (first) {
		for (j = 0; j < n; j++)
			c[j] = beta == 0.0f ? 0.0f : c[j] * beta;
	}
	for (p = 0; p < np; p++) {
		float ap = alpha * a[p];
		const float *brow = b + (size_t)p * n;

		for (j = 0; j < n; j++)
			c[j] += ap * brow[j];
	}
}

static uint32_t bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	return u;
}

/*
 * The engine's previous int8 kernel (kernel/gemm.c), as it was, and as
 * the kernel built it: integer registers only (-mno-sse), no vectors.
 */
__attribute__((optimize("no-tree-vectorize")))
static void old_i8_row(const s8 *a, const s8 *b, s32 *c, u32 n, u32 np,
		       bool first, s32 alpha, s32 beta)
{
	u32 j, p;

	if (first)
		for (j = 0; j < n; j++)
			c[j] = (u32)beta * (u32)c[j];
	for (p = 0; p < np; p++) {
		u32 ap = (u32)alpha * (u32)(s32)a[p];
		const s8 *brow = b + (size_t)p * n;

		for (j = 0; j < n; j++)
			c[j] = (u32)c[j] + ap * (u32)(s32)brow[j];
	}
}

typedef void kernel_fn(const void *a, u32 lda, const void *b, void *c,
		       void *work, u32 rows, u32 n, u32 np, bool first,
		       u32 alpha, u32 beta);

static kernel_fn *const kernels[2][3] = {
	{ mgpu_gemm_f32_sse2, mgpu_gemm_f32_avx2, mgpu_gemm_f32_avx512 },
	{ mgpu_gemm_i8_sse2, mgpu_gemm_i8_avx2, mgpu_gemm_i8_avx512 },
};

/* The kernel the engine would pick here: the widest. */
static kernel_fn *best(int i8)
{
	return kernels[i8][has(V_AVX512) ? 2 : has(V_AVX2) ? 1 : 0];
}

static void steps(const struct shape *s, const struct bufs *x, int i8,
		  int old)
{
	unsigned int row = 0, p = 0, rows = 1, np, i;
	size_t es = i8 ? 1 : 4;
	const char *a = i8 ? (void *)x->a8 : (void *)x->a;
	const char *b = i8 ? (void *)x->b8 : (void *)x->b;
	char *c = i8 ? (void *)x->c32 : (void *)x->c;
	char *sa = (void *)scr_a, *sc = (void *)scr_c;

	while (row < s->m) {
		if (!p && !old) {
			rows = GEMM_ROWS;
			while (rows > 1 && (uint64_t)rows * s->n * 16 > STEP_MACS)
				rows /= 2;
			if (rows > s->m - row)
				rows = s->m - row;
		}
		np = STEP_MACS / (rows * s->n);
		np = np < 1 ? 1 : np > s->k - p ? s->k - p : np;
		for (i = 0; i < rows; i++)
			memcpy(sa + i * np * es,
			       a + ((size_t)(row + i) * s->k + p) * es, np * es);
		memcpy(scr_b, b + (size_t)p * s->n * es, (size_t)np * s->n * es);
		memcpy(sc, c + (size_t)row * s->n * 4, (size_t)rows * s->n * 4);
		if (old && i8)
			old_i8_row((void *)sa, (void *)scr_b, (void *)sc, s->n,
				   np, !p, 1, 0);
		else if (old)
			old_f32_row(scr_a, scr_b, scr_c, s->n, np, !p, 1.0f,
				    0.0f);
		else
			best(i8)(sa, np, scr_b, sc, work, rows, s->n, np, !p,
				 i8 ? 1 : bits(1.0f), 0);
		memcpy(c + (size_t)row * s->n * 4, sc, (size_t)rows * s->n * 4);
		p += np;
		if (p == s->k) {
			row += rows;
			p = 0;
		}
	}
}

/* One GEMM, C = A x B (alpha 1, beta 0), with kernel @v. */
static void gemm(int v, const struct shape *s, const struct bufs *x)
{
	unsigned int i;

	switch (v) {
	case V_BLAS:
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->m,
			    s->n, s->k, 1.0f, x->a, s->k, x->b, s->n, 0.0f,
			    x->c, s->n);
		break;
	case V_ROW:
		for (i = 0; i < s->m; i++)
			old_f32_row(x->a + (size_t)i * s->k, x->b,
				    x->c + (size_t)i * s->n, s->n, s->k, 1,
				    1.0f, 0.0f);
		break;
	case V_I8ROW:
		for (i = 0; i < s->m; i++)
			old_i8_row(x->a8 + (size_t)i * s->k, x->b8,
				   x->c32 + (size_t)i * s->n, s->n, s->k, 1,
				   1, 0);
		break;
	case V_SSE2:
	case V_AVX2:
	case V_AVX512:
		kernels[0][v - V_SSE2](x->a, s->k, x->b, x->c, work, s->m,
					s->n, s->k, 1, bits(1.0f), 0);
		break;
	case V_I8SSE2:
	case V_I8AVX2:
	case V_I8AVX512:
		kernels[1][v - V_I8SSE2](x->a8, s->k, x->b8, x->c32, work,
					  s->m, s->n, s->k, 1, 1, 0);
		break;
	case V_OLDSTEPS:
	case V_STEPS:
		steps(s, x, 0, v == V_OLDSTEPS);
		break;
	case V_I8OLDSTEPS:
	case V_I8STEPS:
		steps(s, x, 1, v == V_I8OLDSTEPS);
		break;
	}
}

/* GFLOP/s of kernel @v on @s, over about run_ms. */
static double rate(int v, const struct shape *s, const struct bufs *x)
{
	double t0 = now(), t;
	unsigned long iters = 0;

	do {
		gemm(v, s, x);
		iters++;
		t = now() - t0;
	} while (t < run_ms * 1e-3);
	return 2.0 * s->m * s->n * s->k * iters / t * 1e-9;
}

static double median(double *v, unsigned int n);

/*
 * The length of an FPU section: one kernel call of a full piece
 * (MGPU_STEP_MACS multiply-adds) for the shapes of pieces the engine
 * makes, widest kernel and the row kernel before; the median of 101
 * calls (a userspace maximum would measure preemption, which an FPU
 * section in the kernel does not see).  n = 1: every sum is a chain of
 * dependent adds, the slowest case for both.
 */
static void sections(void)
{
	static const unsigned int piece[][3] = {	/* rows, n, np */
		{ 16, 256, 32 }, { 8, 1024, 16 }, { 4, 2000, 16 },
		{ 1, 8192, 16 }, { 16, 1, 8192 },
	};
	double t[101], worst = 0, worst_old = 0, x, y;
	unsigned int i, j, rows, n, np;

	printf("FPU section, one kernel call of %u multiply-adds (rows x n x np), median of 101 calls:\n",
	       STEP_MACS);
	for (i = 0; i < ARRAY_SIZE(piece); i++) {
		rows = piece[i][0];
		n = piece[i][1];
		np = piece[i][2];
		for (j = 0; j < (unsigned int)(STEP_MACS); j++) {
			scr_a[j] = (float)(j % 7) - 3;
			scr_b[j] = (float)(j % 5) - 2;
		}
		memset(scr_c, 0, (size_t)rows * n * 4);
		for (j = 0; j < ARRAY_SIZE(t); j++) {
			t[j] = now();
			best(0)(scr_a, np, scr_b, scr_c, work, rows, n, np,
				1, bits(1.0f), 0);
			t[j] = now() - t[j];
		}
		x = median(t, ARRAY_SIZE(t)) * 1e6;
		/* The row kernel: one row, np * rows inner indexes. */
		for (j = 0; j < ARRAY_SIZE(t); j++) {
			t[j] = now();
			old_f32_row(scr_a, scr_b, scr_c, n, np * rows, 1, 1.0f,
				    0.0f);
			t[j] = now() - t[j];
		}
		y = median(t, ARRAY_SIZE(t)) * 1e6;
		printf("  %2u x %4u x %4u   %7.1f us   row kernel (1 x %u x %u) %7.1f us\n",
		       rows, n, np, x, n, np * rows, y);
		worst = x > worst ? x : worst;
		worst_old = y > worst_old ? y : worst_old;
	}
	printf("  longest: %.1f us (row kernel: %.1f us)\n", worst, worst_old);
}

/* The CPU, what it has, and the load: the figures depend on all three. */
static void print_machine(void)
{
	char line[256], model[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	double load[3] = { -1, -1, -1 };

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s",
				 strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = -1;
		fclose(f);
	}
	printf("cpu: %s, %ld online; avx2 %s, avx512f %s; load average %.2f %.2f %.2f\n",
	       model, sysconf(_SC_NPROCESSORS_ONLN), has(V_AVX2) ? "yes" : "no",
	       has(V_AVX512) ? "yes" : "no", load[0], load[1], load[2]);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Check every kernel against the plain loop (bits) and OpenBLAS (1e-4). */
static int check(const struct shape *s, const struct bufs *x)
{
	size_t i, mn = (size_t)s->m * s->n;
	float *want = malloc(mn * 4), *blas = malloc(mn * 4);
	s32 *want8 = malloc(mn * 4);
	double err = 0;
	int v, bad = 0;

	if (!want || !blas || !want8)
		return perror("malloc"), 1;
	gemm(V_ROW, s, x);
	memcpy(want, x->c, mn * 4);
	gemm(V_I8ROW, s, x);
	memcpy(want8, x->c32, mn * 4);
	gemm(V_BLAS, s, x);
	memcpy(blas, x->c, mn * 4);
	for (i = 0; i < mn; i++) {
		double d = fabs((double)want[i] - blas[i]) /
			   fmax(1.0, fabs(blas[i]));
		err = fmax(err, d);
	}
	if (err > 1e-4) {
		fprintf(stderr, "%s: plain loop vs OpenBLAS: rel. error %g\n",
			s->name, err);
		bad = 1;
	}
	for (v = V_SSE2; v < NV; v++) {
		if (!has(v) || v == V_I8ROW)
			continue;
		/* NaN: an fp32 beta of 0 must not read C */
		memset(IS_I8(v) ? (void *)x->c32 : (void *)x->c, 0x7f, mn * 4);
		gemm(v, s, x);
		if (memcmp(IS_I8(v) ? (void *)x->c32 : (void *)x->c,
			   IS_I8(v) ? (void *)want8 : (void *)want, mn * 4)) {
			fprintf(stderr, "%s: %s differs from the plain loop\n",
				s->name, vname[v]);
			bad = 1;
		}
	}
	free(want);
	free(blas);
	free(want8);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned int si, r, i, nrun;
	int opt, v, bad = 0;

	while ((opt = getopt(argc, argv, "r:t:")) != -1) {
		if (opt == 'r')
			repeats = strtoul(optarg, NULL, 0);
		else if (opt == 't')
			run_ms = strtoul(optarg, NULL, 0);
		else
			return fprintf(stderr, "usage: gemm-host [-r REPEATS] [-t MS]\n"), 2;
	}
	if (repeats < 1)
		repeats = 1;
	openblas_set_num_threads(1);
	scr_a = malloc(STEP_MACS * 4);
	scr_b = malloc(STEP_MACS * 4);
	scr_c = malloc(STEP_MACS * 4);
	work = aligned_alloc(4096, MGPU_GEMM_WORK);
	if (!scr_a || !scr_b || !scr_c || !work)
		return perror("malloc"), 1;

	printf("=== mgpu gemm-host: the engine's GEMM kernels (compiled in userspace) vs OpenBLAS %s, 1 thread ===\n",
	       openblas_get_corename());
	print_machine();
	printf("%-22s %-14s %9s %8s %17s %10s\n", "shape (m x k . k x n)",
	       "kernel", "GFLOP/s", "ratio", "ratio min..max", "vs row");
	for (si = 0; si < ARRAY_SIZE(shapes); si++) {
		const struct shape *s = &shapes[si];
		size_t mk = (size_t)s->m * s->k, kn = (size_t)s->k * s->n;
		size_t mn = (size_t)s->m * s->n;
		struct bufs x = {
			malloc(mk * 4), malloc(kn * 4), malloc(mn * 4),
			malloc(mk), malloc(kn), malloc(mn * 4),
		};
		double g[NV][64], ratio[NV][64], vs_row[NV][64];
		double med, rmed, rowmed;

		if (!x.a || !x.b || !x.c || !x.a8 || !x.b8 || !x.c32)
			return perror("malloc"), 1;
		srand(si + 1);
		for (i = 0; i < mk; i++) {
			x.a[i] = (float)rand() / RAND_MAX - 0.5f;
			x.a8[i] = (s8)rand();
		}
		for (i = 0; i < kn; i++) {
			x.b[i] = (float)rand() / RAND_MAX - 0.5f;
			x.b8[i] = (s8)rand();
		}
		bad |= check(s, &x);

		nrun = repeats < 64 ? repeats : 64;
		/* Round 0 warms up (caches, frequency) and is not counted. */
		for (r = 0; r <= nrun; r++) {
			for (v = 0; v < NV; v++) {
				double t;

				if (!has(v))
					continue;
				t = rate(v, s, &x);
				if (r)
					g[v][r - 1] = t;
			}
			if (!r)
				continue;
			for (v = 0; v < NV; v++) {
				ratio[v][r - 1] = g[v][r - 1] / g[V_BLAS][r - 1];
				vs_row[v][r - 1] = g[v][r - 1] /
					g[IS_I8(v) ? V_I8ROW : V_ROW][r - 1];
			}
		}
		for (v = 0; v < NV; v++) {
			if (!has(v))
				continue;
			/* median() sorts: then [0] is the least, the most last */
			med = median(g[v], nrun);
			rmed = median(ratio[v], nrun);
			rowmed = median(vs_row[v], nrun);
			printf("%-22s %-14s %9.2f %8.3f %8.3f..%-8.3f %10.2f\n",
			       s->name, vname[v], med, rmed, ratio[v][0],
			       ratio[v][nrun - 1], rowmed);
		}
		free(x.a);
		free(x.b);
		free(x.c);
		free(x.a8);
		free(x.b8);
		free(x.c32);
	}
	sections();
	printf("  ratio: kernel / OpenBLAS in the same round, median of %u rounds (min..max), after one warm-up round;\n"
	       "  vs row: kernel / the engine's previous row kernel (i8: the int8 one); %u ms of CPU time per figure; 1 thread;\n"
	       "  i8: int8 A, B, int32 C, 2mnk operations per second, against OpenBLAS's fp32 sgemm (it has no int8 GEMM)\n"
	       "  row, sse2, avx2, avx512: one call over the whole GEMM; steps: cut as the engine cuts it, operands\n"
	       "  copied as from VRAM (steps (old): one row per piece, the row kernel)\n",
	       repeats, run_ms);
	printf("=== mgpu gemm-host done%s ===\n", bad ? " (CHECK FAILED)" : "");
	return bad;
}
