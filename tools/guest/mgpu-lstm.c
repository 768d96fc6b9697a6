// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-lstm: time the PTB LSTM language-model step (lstm.h) on a vGPU.
 *
 *   mgpu-lstm [--dev=UUID|pci[:BDF]] [--batch=B] [--hidden=H]
 *             [--input=I] [--vocab=V] [--steps=T] [--no-verify]
 *
 * The same code runs on the host through VFIO (--dev=UUID) and inside a
 * guest (default: the first mgpu PCI device), which is what the
 * native / passthrough / fractional comparison of make bench needs.
 * First a short run (2 steps) is checked against a CPU reference, then
 * T steps are timed.  Output: KTAP, and one line
 *   # LSTM-RESULT ns=<wall ns> steps=T vocab=V flops=<GEMM ops> gemms=<n>
 * Exit status 0 on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmgpu.h"
#include "lstm.h"

int main(int argc, char **argv)
{
	struct lstm_cfg cfg, small;
	struct mgpu_queue *q;
	struct mgpu_dev *dev;
	struct lstm_result r;
	const char *name = NULL;
	int verify = 1, i, ret, n = 0, fail = 0;

	lstm_default_cfg(&cfg);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');
		unsigned int *dst = NULL;

		v = v ? v + 1 : "";
		if (!strncmp(a, "--dev=", 6))
			name = v;
		else if (!strcmp(a, "--no-verify"))
			verify = 0;
		else if (!strncmp(a, "--batch=", 8))
			dst = &cfg.batch;
		else if (!strncmp(a, "--hidden=", 9))
			dst = &cfg.hidden;
		else if (!strncmp(a, "--input=", 8))
			dst = &cfg.input;
		else if (!strncmp(a, "--vocab=", 8))
			dst = &cfg.vocab;
		else if (!strncmp(a, "--steps=", 8))
			dst = &cfg.steps;
		else {
			fprintf(stderr, "usage: %s [--dev=UUID|pci[:BDF]] [--batch=B] [--hidden=H] [--input=I] [--vocab=V] [--steps=T] [--no-verify]\n",
				argv[0]);
			return 2;
		}
		if (dst) {
			*dst = strtoul(v, NULL, 0);
			/* 4H columns of the gates GEMMs; V is split in blocks */
			if (!*dst || (dst != &cfg.vocab && *dst > MGPU_GEMM_MAX_DIM / 4) ||
			    *dst > 1000000) {
				fprintf(stderr, "%s: out of range\n", a);
				return 2;
			}
		}
	}
	printf("KTAP version 1\n");
	ret = mgpu_open(name, &dev);
	if (!ret)
		ret = mgpu_queue_open(dev, 0, 0, 0, &q);
	if (ret) {
		printf("not ok 1 open the vGPU and queue 0\n# %s: %s\n1..1\n",
		       mgpu_strerror(ret), mgpu_last_error());
		return 1;
	}
	printf("# mgpu-lstm: device %s (%s), VRAM %llu MiB, fraction 1/%u\n",
	       mgpu_name(dev),
	       mgpu_transport(dev) == MGPU_TRANSPORT_VFIO ? "vfio" : "pci",
	       (unsigned long long)(mgpu_vram_size(dev) >> 20), mgpu_fraction(dev));
	if (verify) {
		small = cfg;
		small.steps = 2;
		if (small.vocab > LSTM_VBLOCK)
			small.vocab = LSTM_VBLOCK;
		small.verify = 1;
		small.verify_rows = 2;
		ret = lstm_run(dev, q, &small, &r);
		printf("%sok %d LSTM B=%u H=%u V=%u T=2 against the CPU reference (batch rows 0-1)\n",
		       ret ? "not " : "", ++n, small.batch, small.hidden, small.vocab);
		if (ret) {
			printf("# %s\n", r.msg);
			fail++;
		} else {
			printf("# max rel. error h %.2g, logits %.2g\n", r.max_err_h,
			       r.max_err_logits);
		}
	}
	cfg.verify = 0;
	ret = lstm_run(dev, q, &cfg, &r);
	printf("%sok %d LSTM B=%u H=%u I=%u V=%u T=%u timed\n", ret ? "not " : "",
	       ++n, cfg.batch, cfg.hidden, cfg.input, cfg.vocab, cfg.steps);
	if (ret) {
		printf("# %s\n", r.msg);
		fail++;
	} else {
		printf("# %.1f ms for %u steps (%.2f ms/step), %.1f MFLOP/s\n",
		       r.ns / 1e6, cfg.steps, r.ns / 1e6 / cfg.steps,
		       r.flops / (r.ns / 1e3));
		printf("# LSTM-RESULT ns=%llu steps=%u vocab=%u flops=%llu gemms=%llu\n",
		       (unsigned long long)r.ns, cfg.steps, cfg.vocab,
		       (unsigned long long)r.flops, (unsigned long long)r.commands);
	}
	printf("1..%d\n", n);
	mgpu_queue_close(q);
	mgpu_close(dev);
	return fail ? 1 : 0;
}
