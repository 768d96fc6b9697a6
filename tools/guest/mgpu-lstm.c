// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-lstm: time the PTB LSTM language-model step (lstm.h) on a vGPU.
 *
 *   mgpu-lstm [--dev=UUID|pci[:BDF]] [--batch=B] [--hidden=H]
 *             [--input=I] [--vocab=V] [--steps=T] [--no-verify]
 *             [--serve=PATH [--layers=L] [--noise] [--secs=N]]
 *
 * The same code runs on the host through VFIO (--dev=UUID) and inside a
 * guest (default: the first mgpu PCI device), which is what the
 * native / passthrough / fractional comparison of make bench needs.
 * First a short run (2 steps) is checked against a CPU reference, then
 * T steps are timed.  Output: KTAP, and one line
 *   # LSTM-RESULT ns=<wall ns> steps=T vocab=V flops=<GEMM ops> gemms=<n>
 * Exit status 0 on success.
 *
 * --serve=PATH: a training-step server, for make bench's interleaved
 * comparison (scripts/testvm-nested.sh).  After the check above, it sets
 * up the whole training step of the PTB LSTM model once (lstm_train_init()
 * in train.c; PTB small unless --batch, --hidden, --vocab, --steps,
 * --layers say otherwise; --input does not apply), runs one warm-up step
 * and prints
 *   READY warmup_ns=<ns> batch=B hidden=H vocab=V steps=T layers=L
 *         flops=<GEMM ops a step> commands=<engine commands a step>
 *         loss=<f>
 * Then it reads requests, one a line, from PATH (a serial port of a
 * nested guest, e.g. /dev/ttyS2, or a FIFO; opened read-write, so that a
 * FIFO never reads EOF) and answers each on stdout with one line:
 *   step   one training step (one submission, completion from a fence in
 *          VRAM): "STEP ns=<ns> loss=<f> reads=<n> lost=<ns>"; ns: the
 *          step's wall time, submission to fence; reads: registers the
 *          wait read; lost: the stall monitor's count during the step (0
 *          without --noise).  Or "STEP-FAILED <why>" and exit 1.
 *   noise  "NOISE lost=<ns> wall=<ns>": with --noise, the time a thread
 *          that sleeps 2 ms at a time (tools/bench/stats.c) overslept
 *          since READY, i.e. the host did not run this machine's vCPUs,
 *          and the time since READY
 *   quit   exit 0
 * No request for --secs (default 3600) seconds: "SERVE-FAILED ..." and
 * exit 1; so is a failed check or set-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "libmgpu.h"
#include "lstm.h"
#include "mgpu_test.h"

/* ---- --serve: one step per request ---- */

/*
 * The stall monitor of tools/bench/stats.c (--noise): a thread that
 * sleeps 2 ms at a time; oversleep beyond 3 ticks is time the host did
 * not run this (virtual) machine's vCPUs.
 */
#define TICK_US		2000

static pthread_t noise_thread;
static uint64_t noise_lost;	/* __atomic: shared with the monitor */
static uint64_t noise_t0;

static void *noise_fn(void *arg)
{
	uint64_t t, dt;

	(void)arg;
	for (;;) {
		t = mgpu_test_now_ns();
		usleep(TICK_US);
		dt = mgpu_test_now_ns() - t;
		if (dt > 4 * TICK_US * 1000ULL)
			__atomic_fetch_add(&noise_lost, dt - TICK_US * 1000ULL,
					   __ATOMIC_RELAXED);
	}
	return NULL;
}

/* One training step on the server's device. */
static int serve_step(struct lstm_train *t, struct lstm_step_result *r,
		      char *msg, size_t len)
{
	int ret;

	ret = lstm_train_step(t, r);
	if (ret)
		snprintf(msg, len, "lstm_train_step: %s: %s",
			 mgpu_strerror(ret), lstm_train_error(t));
	return ret;
}

/*
 * Read one line from @fd into @buf (without the newline; \r and
 * anything after 63 characters are dropped).  Return 1, or 0 on EOF,
 * error or @secs without a byte.
 */
static int read_line(int fd, char *buf, size_t size, unsigned int secs)
{
	size_t got = 0;
	char c;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int p = poll(&pfd, 1, secs * 1000);

		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return 0;
		n = read(fd, &c, 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return 0;
		if (c == '\n')
			break;
		if (c != '\r' && got < size - 1)
			buf[got++] = c;
	}
	buf[got] = 0;
	return 1;
}

static int serve(struct lstm_train *s, const struct lstm_train_cfg *cfg,
		 const char *path, int noise, unsigned int secs)
{
	char line[64] = "", msg[160];
	struct lstm_step_result r;
	struct termios tio;
	unsigned int steps = 0;
	uint64_t l0;
	int fd, ret;

	/* O_RDWR: a FIFO never reads EOF when its writer closes. */
	fd = open(path, O_RDWR | O_NOCTTY);
	if (fd < 0) {
		printf("SERVE-FAILED open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (!tcgetattr(fd, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(fd, TCSANOW, &tio);
		tcflush(fd, TCIFLUSH);
	}
	/* warm-up: VRAM touched, caches and the engine's thread warm */
	ret = serve_step(s, &r, msg, sizeof(msg));
	if (ret) {
		printf("SERVE-FAILED warm-up step: %s\n", msg);
		close(fd);
		return 1;
	}
	if (noise) {
		noise_t0 = mgpu_test_now_ns();
		pthread_create(&noise_thread, NULL, noise_fn, NULL);
	}
	printf("READY warmup_ns=%llu batch=%u hidden=%u vocab=%u steps=%u layers=%u flops=%llu commands=%llu loss=%.4f\n",
	       (unsigned long long)r.ns, cfg->batch, cfg->hidden, cfg->vocab,
	       cfg->steps, cfg->layers, (unsigned long long)r.flops,
	       (unsigned long long)r.commands, r.loss);
	fflush(stdout);
	while (read_line(fd, line, sizeof(line), secs)) {
		if (!strcmp(line, "quit"))
			break;
		if (!strcmp(line, "noise")) {
			printf("NOISE lost=%llu wall=%llu\n",
			       (unsigned long long)__atomic_load_n(&noise_lost,
								   __ATOMIC_RELAXED),
			       (unsigned long long)(noise ? mgpu_test_now_ns() -
						    noise_t0 : 0));
		} else if (!strcmp(line, "step")) {
			l0 = __atomic_load_n(&noise_lost, __ATOMIC_RELAXED);
			ret = serve_step(s, &r, msg, sizeof(msg));
			if (ret) {
				printf("STEP-FAILED %s\n", msg);
				fflush(stdout);
				close(fd);
				return 1;
			}
			steps++;
			printf("STEP ns=%llu loss=%.4f reads=%u lost=%llu\n",
			       (unsigned long long)r.ns, r.loss, r.status_reads,
			       (unsigned long long)(__atomic_load_n(&noise_lost,
								    __ATOMIC_RELAXED) - l0));
		} else if (line[0]) {
			printf("UNKNOWN %s\n", line);
		}
		fflush(stdout);
	}
	close(fd);
	if (strcmp(line, "quit")) {
		printf("SERVE-FAILED no request for %u s after %u steps\n",
		       secs, steps);
		return 1;
	}
	printf("# served %u steps\n", steps);
	return 0;
}

int main(int argc, char **argv)
{
	struct lstm_train_cfg tc;
	struct lstm_cfg cfg, small;
	struct mgpu_queue *q;
	struct mgpu_dev *dev;
	struct lstm_result r;
	const char *name = NULL, *serve_path = NULL;
	int verify = 1, noise = 0, i, ret, n = 0, fail = 0;
	unsigned int secs = 3600, layers = 0;

	lstm_default_cfg(&cfg);
	lstm_train_default_cfg(&tc);
	tc.queue = 0;
	tc.reference = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');
		unsigned int *dst = NULL, *tdst = NULL;

		v = v ? v + 1 : "";
		if (!strncmp(a, "--dev=", 6))
			name = v;
		else if (!strcmp(a, "--no-verify"))
			verify = 0;
		else if (!strncmp(a, "--serve=", 8))
			serve_path = v;
		else if (!strcmp(a, "--noise"))
			noise = 1;
		else if (!strncmp(a, "--secs=", 7))
			secs = strtoul(v, NULL, 0);
		else if (!strncmp(a, "--batch=", 8))
			dst = &cfg.batch, tdst = &tc.batch;
		else if (!strncmp(a, "--hidden=", 9))
			dst = &cfg.hidden, tdst = &tc.hidden;
		else if (!strncmp(a, "--input=", 8))
			dst = &cfg.input;
		else if (!strncmp(a, "--vocab=", 8))
			dst = &cfg.vocab, tdst = &tc.vocab;
		else if (!strncmp(a, "--steps=", 8))
			dst = &cfg.steps, tdst = &tc.steps;
		else if (!strncmp(a, "--layers=", 9))
			dst = &layers, tdst = &tc.layers;
		else {
			fprintf(stderr, "usage: %s [--dev=UUID|pci[:BDF]] [--batch=B] [--hidden=H] [--input=I] [--vocab=V] [--steps=T] [--no-verify] [--serve=PATH [--layers=L] [--noise] [--secs=N]]\n",
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
			if (tdst)
				*tdst = *dst;
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
	if (serve_path) {
		struct lstm_train *t = NULL;
		char msg[160];

		printf("1..%d\n", n);
		fflush(stdout);
		/* the training step opens queue tc.queue itself */
		mgpu_queue_close(q);
		if (fail) {
			printf("SERVE-FAILED the check against the CPU failed\n");
			ret = 1;
		} else if (lstm_train_init(dev, &tc, &t, msg, sizeof(msg))) {
			printf("SERVE-FAILED lstm_train_init: %s\n", msg);
			ret = 1;
		} else {
			ret = serve(t, &tc, serve_path, noise, secs ? secs : 1);
		}
		if (t)
			lstm_train_free(t);
		mgpu_close(dev);
		return ret;
	}
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
