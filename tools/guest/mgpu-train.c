// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-train: train the PTB-style LSTM language model on a vGPU, a whole
 * step at a time on the engine (lstm.h, train.c).
 *
 *   mgpu-train [--dev=UUID|pci[:BDF]] [--batch=B] [--hidden=H]
 *              [--vocab=V] [--steps=T] [--layers=L] [--lr=LR]
 *              [--seed=S] [--iters=N] [--reference] [--print=K]
 *              [--descent=F] [--irq]
 *
 * Defaults: PTB small (B 20, H 200, V 10000, T 20, L 2, lr 1.0), 10
 * iterations.  Output: KTAP; a "# step" line every K iterations (loss,
 * the reference's, wall time, register traps and interrupts of the
 * step where the host counters are readable); at the end
 *   # TRAIN-RESULT steps=N ns=<median ns a step> loss0=<first>
 *     loss=<last> traps=<per step> irqs=<per step>
 *
 * Checks:
 *   every step completes (the queue never stopped);
 *   the loss falls: the mean of the last tenth of the steps is below
 *     F x the first step's (--descent, default 0.7; 0: no check);
 *   with --reference (a CPU model in double precision, started from the
 *     device's parameters and state before each step): after every step
 *     every parameter is within 1e-4 (relative to 1 + |p|) of the
 *     reference's update of it, every gradient within 1e-3 of the
 *     largest of its tensor (lstm_train_grad_diff()), and the step's
 *     loss within 1e-4 x (1 + loss) of the reference's;
 *   on the host (VFIO), where the instance's counters are in sysfs: no
 *     register trap and no interrupt while a step runs; with --irq
 *     (completion by MSI instead of polling the fence) exactly one
 *     interrupt and one trap (its acknowledgement) a step.
 * Exit status 0 when every check passed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmgpu.h"
#include "lstm.h"
#include "mgpu_test.h"

#define LOSS_TOL	1e-4
#define PARAM_TOL	1e-4
#define GRAD_TOL	1e-3

/* An instance counter from sysfs (VFIO transport), or -1. */
static long long counter(struct mgpu_dev *dev, const char *name)
{
	char path[256];
	uint64_t v;

	if (mgpu_transport(dev) != MGPU_TRANSPORT_VFIO)
		return -1;
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/mgpu/%s",
		 mgpu_name(dev), name);
	return mgpu_test_read_u64(path, &v) ? -1 : (long long)v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int parse(int argc, char **argv, struct lstm_train_cfg *cfg,
		 const char **name, unsigned int *iters, unsigned int *print,
		 double *descent)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');
		unsigned int *dst = NULL;
		char *end;

		if (!strncmp(a, "--dev=", 6))
			*name = a + 6;
		else if (!strcmp(a, "--reference"))
			cfg->reference = 1;
		else if (!strcmp(a, "--irq"))
			cfg->irq = 1;
		else if (!strncmp(a, "--lr=", 5)) {
			cfg->lr = strtof(a + 5, &end);
			if (*end || !(cfg->lr > 0)) {
				fprintf(stderr, "%s: not a positive number\n", a);
				return 2;
			}
		} else if (!strncmp(a, "--descent=", 10)) {
			*descent = strtod(a + 10, &end);
			if (*end || !(*descent >= 0 && *descent <= 1)) {
				fprintf(stderr, "%s: not in [0, 1]\n", a);
				return 2;
			}
		} else if (!strncmp(a, "--batch=", 8))
			dst = &cfg->batch;
		else if (!strncmp(a, "--hidden=", 9))
			dst = &cfg->hidden;
		else if (!strncmp(a, "--vocab=", 8))
			dst = &cfg->vocab;
		else if (!strncmp(a, "--steps=", 8))
			dst = &cfg->steps;
		else if (!strncmp(a, "--layers=", 9))
			dst = &cfg->layers;
		else if (!strncmp(a, "--seed=", 7))
			dst = &cfg->seed;
		else if (!strncmp(a, "--iters=", 8))
			dst = iters;
		else if (!strncmp(a, "--print=", 8))
			dst = print;
		else {
			fprintf(stderr,
				"usage: %s [--dev=UUID|pci[:BDF]] [--batch=B] [--hidden=H] [--vocab=V] [--steps=T] [--layers=L] [--lr=LR] [--seed=S] [--iters=N] [--reference] [--print=K] [--descent=F] [--irq]\n",
				argv[0]);
			return 2;
		}
		if (dst) {
			unsigned long n = strtoul(v + 1, &end, 10);

			if (*end || !v[1] || n > 1000000 ||
			    (!n && dst != &cfg->seed)) {
				fprintf(stderr, "%s: out of range\n", a);
				return 2;
			}
			*dst = n;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int iters = 10, print = 1, i, n = 0, fail = 0, bad = 0;
	long long traps0, irqs0, traps = 0, irqs = 0, tr, ir;
	double maxd = 0, pdiff = 0, gdiff = 0, tail = 0, loss0 = 0;
	double descent = 0.7;
	struct lstm_train_cfg cfg;
	struct lstm_step_result r;
	const char *name = NULL;
	struct lstm_train *t;
	struct mgpu_dev *dev;
	uint64_t *ns;
	char msg[200];
	int ret;

	lstm_train_default_cfg(&cfg);
	ret = parse(argc, argv, &cfg, &name, &iters, &print, &descent);
	if (ret)
		return ret;
	ns = calloc(iters, sizeof(*ns));
	if (!ns)
		return 1;
	printf("KTAP version 1\n");
	ret = mgpu_open(name, &dev);
	if (ret) {
		printf("not ok 1 open the vGPU\n# %s: %s\n1..1\n",
		       mgpu_strerror(ret), mgpu_last_error());
		return 1;
	}
	printf("# mgpu-train: device %s (%s), VRAM %llu MiB, fraction 1/%u; model B=%u H=%u V=%u T=%u L=%u lr=%g, %llu KiB of VRAM\n",
	       mgpu_name(dev),
	       mgpu_transport(dev) == MGPU_TRANSPORT_VFIO ? "vfio" : "pci",
	       (unsigned long long)(mgpu_vram_size(dev) >> 20),
	       mgpu_fraction(dev), cfg.batch, cfg.hidden, cfg.vocab, cfg.steps,
	       cfg.layers, cfg.lr,
	       (unsigned long long)(lstm_train_vram_bytes(&cfg) >> 10));
	ret = lstm_train_init(dev, &cfg, &t, msg, sizeof(msg));
	printf("%sok %u set up the model in VRAM\n", ret ? "not " : "", ++n);
	if (ret) {
		printf("# %s\n1..%u\n", msg, n);
		mgpu_close(dev);
		return 1;
	}

	for (i = 0; i < iters; i++) {
		traps0 = counter(dev, "reg_traps");
		irqs0 = counter(dev, "irqs");
		ret = lstm_train_step(t, &r);
		tr = counter(dev, "reg_traps");
		ir = counter(dev, "irqs");
		if (ret) {
			printf("# step %u: %s: %s\n", i, mgpu_strerror(ret),
			       lstm_train_error(t));
			break;
		}
		ns[i] = r.ns;
		if (traps0 >= 0 && tr >= 0 && irqs0 >= 0 && ir >= 0) {
			traps += tr - traps0 - r.status_reads;
			irqs += ir - irqs0;
		} else {
			traps = irqs = -1;
		}
		if (!i)
			loss0 = r.loss;
		if (i >= iters - (iters + 9) / 10)
			tail += r.loss / ((iters + 9) / 10);
		if (cfg.reference) {
			double d = fabs(r.loss - r.ref_loss);

			if (!(d <= maxd))
				maxd = d;
			if (!(r.param_diff <= pdiff))
				pdiff = r.param_diff;
			if (!(r.grad_diff <= gdiff))
				gdiff = r.grad_diff;
			if (!(d <= LOSS_TOL * (1 + fabs(r.ref_loss))) ||
			    !(r.param_diff <= PARAM_TOL) ||
			    !(r.grad_diff <= GRAD_TOL))
				bad++;
		}
		if (!(i % print) || i == iters - 1) {
			printf("# step %u loss %.5f", i, r.loss);
			if (cfg.reference)
				printf(" ref %.5f params %.2g grads %.2g",
				       r.ref_loss, r.param_diff, r.grad_diff);
			printf(" %.1f ms %llu commands %.1f MFLOP",
			       r.ns / 1e6, (unsigned long long)r.commands,
			       r.flops / 1e6);
			if (tr >= 0)
				printf(" traps %lld irqs %lld",
				       tr - traps0, ir - irqs0);
			printf("\n");
		}
	}
	printf("%sok %u %u training steps on the engine\n", ret ? "not " : "",
	       ++n, iters);
	if (ret) {
		fail++;
		goto out;
	}
	if (descent > 0 && !(tail < descent * loss0)) {
		printf("not ok %u the loss falls\n# first step %.4f, mean of the last tenth %.4f (must be below %.2f of the first)\n",
		       ++n, loss0, tail, descent);
		fail++;
	} else if (descent > 0) {
		printf("ok %u the loss falls\n# first step %.4f nats (ln V = %.4f), mean of the last tenth %.4f\n",
		       ++n, loss0, log(cfg.vocab), tail);
	}
	if (cfg.reference) {
		printf("%sok %u every step matches the CPU reference\n# max loss difference %.3g nats, parameter difference %.3g, gradient error %.3g (limits %.0e x (1 + loss), %.0e, %.0e); %u steps beyond\n",
		       bad ? "not " : "", ++n, maxd, pdiff, gdiff, LOSS_TOL,
		       PARAM_TOL, GRAD_TOL, bad);
		if (bad)
			fail++;
	}
	if (traps >= 0) {
		long long want = cfg.irq ? iters : 0;

		printf("%sok %u %s while the steps ran\n# %lld traps, %lld interrupts in %u steps (not counting %s)\n",
		       traps != want || irqs != want ? "not " : "", ++n,
		       cfg.irq ? "one interrupt and one trap a step" :
		       "no register trap and no interrupt", traps, irqs,
		       iters, "the status reads of a step that ran long");
		if (traps != want || irqs != want)
			fail++;
	}
	qsort(ns, iters, sizeof(*ns), cmp_u64);
	printf("# TRAIN-RESULT steps=%u ns=%llu loss0=%.5f loss=%.5f traps=%.2f irqs=%.2f\n",
	       iters, (unsigned long long)ns[iters / 2], loss0, r.loss,
	       traps >= 0 ? (double)traps / iters : -1.0,
	       irqs >= 0 ? (double)irqs / iters : -1.0);
out:
	printf("1..%u\n", n);
	lstm_train_free(t);
	mgpu_close(dev);
	free(ns);
	return fail ? 1 : 0;
}
