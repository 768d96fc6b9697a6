// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-guest: the program a nested test guest runs on its vGPU.
 *
 *   mgpu-guest [--dev=NAME] [--mode=test|isolate|migrate|load]
 *              [--expect=SPEC] [--tag=HEX] [--secs=N] [--idle=TTY]
 *              [--rate=MIB] [--hold=N] [--vocab=V] [--steps=T]
 *
 * --dev       a PCI address ("pci:0000:00:01.0"), a UUID (VFIO, host
 *             side), default: the first mgpu PCI device (0x1f4d:0x0001)
 * --expect    what the vGPU must look like, e.g.
 *             vram:67108864,queues:4,fraction:4 (any subset)
 * --mode=test (default) identity and --expect, VRAM zeroed at start,
 *             FILL/COPY seen by the CPU, every queue with its own fence,
 *             fp32 and int8 GEMM against a CPU reference, and the LSTM
 *             language-model step (lstm.h) against a CPU reference, and
 *             five whole training steps on the engine (train.c) against
 *             the CPU;
 *             with --hold=N, after FILL/COPY, data written to VRAM is
 *             held for N s ("# holding" on stdout) and checked after it
 * --mode=isolate  VRAM zeroed at start; then the whole VRAM is written
 *             with a pattern of this guest's --tag (CPU, then engine FILL
 *             rounds for --secs seconds) and read back: any word that is
 *             not this guest's pattern fails (another tenant's data)
 * --mode=migrate  a workload that checks itself for --secs seconds while
 *             the VM is live-migrated under it: rounds of a pattern the
 *             CPU writes, an engine FILL, an int8 GEMM chain (exact) and
 *             fences, each round checked, with every earlier round's
 *             pattern still in VRAM checked too; "# round N" lines show
 *             the pause of the switch.  At the start, the last queue is
 *             stopped on an error (an unknown opcode at ring index 2,
 *             "# queue N stopped on an error: ..."), and every round
 *             checks that its status, reason and error head have not
 *             changed
 * --idle=TTY  (migrate mode) after the first round, with nothing in
 *             flight, print "# idle after round 0: ..." and wait (at
 *             most --secs) for a line "go" on TTY: the host migrates the
 *             VM in this window, then says go.  Queue 0 must not have
 *             moved; the round's VRAM is checked again ("# idle ended")
 * --mode=load the migration benchmark's guest (scripts/migrate-bench.sh):
 *             the whole VRAM filled by the engine, then "# loaded" on
 *             stdout, then for --secs seconds the CPU writes --rate MiB
 *             of VRAM per second through BAR2, page after page, round
 *             the VRAM (--rate=0: idle); the whole VRAM is checked at
 *             the end
 *
 * Output: KTAP on stdout; exit status 0 if every test passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "libmgpu.h"
#include "lstm.h"
#include "mgpu_test.h"

static struct mgpu_dev *dev;
static struct mgpu_queue *q0;
static unsigned int ntest, nfail;
static char why[256];

static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (!ok)
		nfail++;
	printf("%sok %u ", ok ? "" : "not ", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!ok && why[0])
		printf("# %s\n", why);
	why[0] = 0;
	fflush(stdout);
}

static void skip(const char *name, const char *reason)
{
	ntest++;
	printf("ok %u %s # SKIP %s\n", ntest, name, reason);
	fflush(stdout);
}

#define FAIL(...) do {						\
	snprintf(why, sizeof(why), __VA_ARGS__);		\
	return 0;						\
} while (0)

#define TRY(expr) do {						\
	int __r = (expr);					\
	if (__r)						\
		FAIL("%s: %s %s", #expr, mgpu_strerror(__r),	\
		     mgpu_last_error());			\
} while (0)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- identity and --expect -------------------------------------------- */

static long long ex_vram = -1, ex_queues = -1, ex_fraction = -1;

static int parse_expect(const char *s)
{
	char *copy = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		long long v;

		if (!colon)
			return -1;
		*colon = 0;
		v = strtoll(colon + 1, NULL, 0);
		if (!strcmp(tok, "vram"))
			ex_vram = v;
		else if (!strcmp(tok, "queues"))
			ex_queues = v;
		else if (!strcmp(tok, "fraction"))
			ex_fraction = v;
		else
			return -1;
	}
	free(copy);
	return 0;
}

static void check_expect(void)
{
	unsigned long long vram = mgpu_vram_size(dev);

	if (ex_vram >= 0)
		result(vram == (unsigned long long)ex_vram,
		       "VRAM size %llu bytes (expected %lld)", vram, ex_vram);
	else
		skip("VRAM size", "nothing expected");
	if (ex_queues >= 0)
		result(mgpu_num_queues(dev) == ex_queues,
		       "queue count %u (expected %lld)", mgpu_num_queues(dev),
		       ex_queues);
	else
		skip("queue count", "nothing expected");
	if (ex_fraction >= 0)
		result(mgpu_fraction(dev) == ex_fraction,
		       "fraction 1/%u (expected 1/%lld)", mgpu_fraction(dev),
		       ex_fraction);
	else
		skip("fraction", "nothing expected");
}

/* The whole VRAM reads as zero: a new instance never sees old data. */
static int t_zero(void)
{
	const uint64_t *p = mgpu_vram(dev);
	uint64_t i, n = mgpu_vram_size(dev) / 8;

	for (i = 0; i < n; i++)
		if (p[i])
			FAIL("VRAM offset %#llx holds %#llx",
			     (unsigned long long)i * 8,
			     (unsigned long long)p[i]);
	return 1;
}

/* ---- test mode --------------------------------------------------------- */

/* Every queue at once: each FILLs its own block, then fences. */
static int t_queues(void)
{
	unsigned int nq = mgpu_num_queues(dev), i, j;
	struct mgpu_queue **qs = calloc(nq, sizeof(*qs));
	uint64_t *seq = calloc(nq, sizeof(*seq)), buf;
	const uint64_t blk = 16 << 10;
	struct mgpu_cmd cmd;
	uint32_t *p;

	if (!qs || !seq)
		FAIL("out of memory");
	qs[0] = q0;
	for (i = 1; i < nq; i++)
		TRY(mgpu_queue_open(dev, i, 16, 0, &qs[i]));
	TRY(mgpu_vram_alloc(dev, blk * nq, 0, &buf));
	p = mgpu_vram_ptr(dev, buf);
	memset(p, 0, blk * nq);
	for (i = 0; i < nq; i++) {
		mgpu_cmd_fill(&cmd, buf + i * blk, blk, 0xc0de0000 + i, 0);
		TRY(mgpu_submit(qs[i], &cmd, 1));
		TRY(mgpu_queue_fence(qs[i], &seq[i]));
	}
	for (i = 0; i < nq; i++) {
		TRY(mgpu_fence_wait(qs[i], seq[i], 60000));
		for (j = 0; j < blk / 4; j++)
			if (p[i * blk / 4 + j] != 0xc0de0000 + i)
				FAIL("queue %u: word %u = %#x", i, j,
				     p[i * blk / 4 + j]);
	}
	for (i = 1; i < nq; i++)
		mgpu_queue_close(qs[i]);
	TRY(mgpu_vram_free(dev, buf));
	free(qs);
	free(seq);
	return 1;
}

/* A libmgpu_test check: < 0 libmgpu's error, > 0 wrong data. */
#define CHECKED(ret, msg) do {					\
	if ((ret) < 0)							\
		FAIL("%s %s", mgpu_strerror(ret), mgpu_last_error());	\
	if (ret)							\
		FAIL("%d wrong: %s", ret, msg);				\
} while (0)

static int t_fill_copy(void)
{
	char msg[160] = "";
	int ret;

	ret = mgpu_test_fill_copy_check(q0, 256 << 10, 0x5a5aa5a5, msg,
					sizeof(msg));
	CHECKED(ret, msg);
	return 1;
}

/*
 * --hold=N: data the CPU and the engine wrote to VRAM stays there for N
 * seconds of the guest's time, then must read back unchanged.  The host
 * saves and restores the VM while "# holding" is on the result channel
 * (scripts/libvirt-tests.sh), so the VRAM it saves holds data and this
 * checks that the data came back.
 */
static unsigned int hold;

static int t_hold(void)
{
	const uint64_t size = 4 << 20, half = size / 2;
	const uint32_t fillv = 0x600dda7a;
	uint32_t *p, want;
	uint64_t off, i;
	struct mgpu_cmd cmd;
	double t0;
	int ok = 0;

	TRY(mgpu_vram_alloc(dev, size, 4096, &off));
	p = mgpu_vram_ptr(dev, off);
	for (i = 0; i < half / 4; i++)
		p[i] = (uint32_t)i * 0x9e3779b1u;
	mgpu_cmd_fill(&cmd, off + half, half, fillv, 0);
	if (mgpu_submit(q0, &cmd, 1) || mgpu_queue_sync(q0, 60000)) {
		snprintf(why, sizeof(why), "FILL: %s", mgpu_last_error());
		goto out;
	}
	printf("# holding: %u s with %llu KiB of data in VRAM\n", hold,
	       (unsigned long long)(size >> 10));
	fflush(stdout);
	t0 = now_s();
	while (now_s() < t0 + hold)
		usleep(100000);
	for (i = 0; i < size / 4; i++) {
		want = i < half / 4 ? (uint32_t)i * 0x9e3779b1u : fillv;
		if (p[i] != want) {
			snprintf(why, sizeof(why),
				 "word at %#llx = %#x after the hold, expected %#x",
				 (unsigned long long)(off + i * 4), p[i], want);
			goto out;
		}
	}
	ok = 1;
out:
	mgpu_vram_free(dev, off);
	return ok;
}

static int t_gemm_f32(void)
{
	char msg[160] = "";
	int ret;

	if (!(mgpu_caps(dev) & MGPU_CAP_GEMM_FP32))
		FAIL("no MGPU_CAP_GEMM_FP32");
	ret = mgpu_test_gemm_f32_check(q0, 37, 53, 129, 1.5f, -0.5f, msg,
				       sizeof(msg));
	CHECKED(ret, msg);
	return 1;
}

static int t_gemm_i8(void)
{
	char msg[160] = "";
	int ret;

	if (!(mgpu_caps(dev) & MGPU_CAP_GEMM_INT8))
		FAIL("no MGPU_CAP_GEMM_INT8");
	ret = mgpu_test_gemm_i8_check(q0, 64, 48, 600, -3, 7, msg,
				      sizeof(msg));
	CHECKED(ret, msg);
	return 1;
}

static struct lstm_cfg lcfg;

static int t_lstm(void)
{
	struct lstm_result r;
	int ret;

	lcfg.verify = 1;
	ret = lstm_run(dev, q0, &lcfg, &r);
	if (ret)
		FAIL("%s", r.msg);
	printf("# lstm B=%u H=%u I=%u V=%u T=%u: %.1f ms, %llu GEMMs, %.1f MFLOP, max rel. error h %.2g logits %.2g (batch rows 0-%u)\n",
	       lcfg.batch,
	       lcfg.hidden, lcfg.input, lcfg.vocab, lcfg.steps, r.ns / 1e6,
	       (unsigned long long)r.commands, r.flops / 1e6, r.max_err_h,
	       r.max_err_logits, lcfg.verify_rows - 1);
	return 1;
}

/*
 * A few whole training steps on the engine (train.c), each checked
 * against the CPU model from the same starting point: loss, updated
 * parameters and gradients.  Queue 1, TAIL_POLL when the device has it.
 */
static int t_train(void)
{
	struct lstm_train_cfg cfg;
	struct lstm_step_result r;
	struct lstm_train *t;
	double worst = 0;
	unsigned int i;
	char msg[200];
	int ret;

	lstm_train_default_cfg(&cfg);
	cfg.batch = 4;
	cfg.hidden = 16;
	cfg.vocab = 64;
	cfg.steps = 4;
	cfg.layers = 2;
	cfg.queue = 1;
	cfg.reference = 1;
	if (mgpu_num_queues(dev) < 2)
		FAIL("one queue only");
	ret = lstm_train_init(dev, &cfg, &t, msg, sizeof(msg));
	if (ret)
		FAIL("%s", msg);
	for (i = 0; i < 5; i++) {
		ret = lstm_train_step(t, &r);
		if (ret) {
			snprintf(msg, sizeof(msg), "step %u: %s", i,
				 lstm_train_error(t));
			break;
		}
		if (!(fabs(r.loss - r.ref_loss) <= 1e-4 * (1 + r.ref_loss)) ||
		    !(r.param_diff <= 1e-4) || !(r.grad_diff <= 1e-3)) {
			snprintf(msg, sizeof(msg),
				 "step %u: loss %.6f, the CPU's %.6f; parameters %.3g, gradients %.3g off",
				 i, r.loss, r.ref_loss, r.param_diff, r.grad_diff);
			ret = 1;
			break;
		}
		if (r.grad_diff > worst)
			worst = r.grad_diff;
		printf("# train step %u: loss %.5f (CPU %.5f), %.1f ms, %llu commands, %u status reads\n",
		       i, r.loss, r.ref_loss, r.ns / 1e6,
		       (unsigned long long)r.commands, r.status_reads);
	}
	lstm_train_free(t);
	if (ret)
		FAIL("%s", msg);
	printf("# largest gradient error %.3g of the tensor's largest\n", worst);
	return 1;
}

/* ---- isolate mode ------------------------------------------------------ */

static uint32_t tag = 0xa11c;
static unsigned int secs = 10;

static int t_own_pattern_cpu(void)
{
	uint32_t *p = mgpu_vram(dev);
	uint64_t i, n = mgpu_vram_size(dev) / 4;

	for (i = 0; i < n; i++)
		p[i] = tag << 16 | (uint32_t)(i & 0xffff);
	for (i = 0; i < n; i++)
		if (p[i] != (tag << 16 | (uint32_t)(i & 0xffff)))
			FAIL("word at %#llx = %#x: not this guest's pattern (tag %#x)",
			     (unsigned long long)i * 4, p[i], tag);
	return 1;
}

static unsigned int rounds;

static int t_own_pattern_engine(void)
{
	uint64_t size = mgpu_vram_size(dev), off, i, n;
	const uint64_t chunk = 1 << 20;
	struct mgpu_cmd cmd;
	uint32_t *p;
	double end;

	/* Everything but what the queue took (the allocator is first fit). */
	for (;;) {
		if (size < 2 * chunk)
			FAIL("cannot allocate most of the VRAM");
		size -= chunk;
		if (!mgpu_vram_alloc(dev, size, 4096, &off))
			break;
	}
	p = mgpu_vram_ptr(dev, off);
	n = size / 4;
	end = now_s() + secs;
	do {
		uint32_t want = tag << 16 | (rounds & 0xffff);
		uint64_t c;

		for (c = 0; c < size; c += chunk) {
			mgpu_cmd_fill(&cmd, off + c, size - c < chunk ? size - c : chunk,
				      want, 0);
			TRY(mgpu_submit(q0, &cmd, 1));
		}
		TRY(mgpu_queue_sync(q0, 60000));
		for (i = 0; i < n; i++)
			if (p[i] != want)
				FAIL("round %u: word at %#llx = %#x, expected %#x%s",
				     rounds, (unsigned long long)(off + i * 4),
				     p[i], want,
				     (p[i] >> 16) != tag ? " (another tenant's data?)" : "");
		rounds++;
	} while (now_s() < end);
	printf("# tag %#x: %u rounds of FILL + read back over %llu MiB in %u s\n",
	       tag, rounds, (unsigned long long)(size >> 20), secs);
	return 1;
}

/* ---- migrate mode ------------------------------------------------------ */

#define MIG_SLOTS	256

static const char *idle_tty;

/* The queue stopped on an error on purpose, and what it said. */
static struct {
	unsigned int q;
	uint32_t status, code, head;
} eq;

static int qreg(unsigned int q, uint32_t reg, uint32_t *val)
{
	return mgpu_reg_read(dev, MGPU_REG_QUEUE(q) + reg, val);
}

/*
 * The last queue (migrate mode uses queue 0) stopped on an unknown
 * opcode after two NOPs: stopped with MGPU_ERR_BAD_OPCODE at ring index 2.
 */
static int mig_error_queue(void)
{
	struct mgpu_cmd cmd[3];
	struct mgpu_queue *q;
	double end;

	if (mgpu_num_queues(dev) < 2)
		FAIL("%u queue(s): none to spare for an error",
		     mgpu_num_queues(dev));
	eq.q = mgpu_num_queues(dev) - 1;
	TRY(mgpu_queue_open(dev, eq.q, 16, 0, &q));
	mgpu_cmd_nop(&cmd[0]);
	mgpu_cmd_nop(&cmd[1]);
	memset(&cmd[2], 0, sizeof(cmd[2]));
	cmd[2].opcode = 0x77;
	TRY(mgpu_submit(q, cmd, 3));
	end = now_s() + 60;
	do {
		TRY(qreg(eq.q, MGPU_Q_STATUS, &eq.status));
		if (eq.status & MGPU_QSTAT_ERROR)
			break;
		usleep(1000);
	} while (now_s() < end);
	TRY(qreg(eq.q, MGPU_Q_ERROR, &eq.code));
	TRY(qreg(eq.q, MGPU_Q_ERROR_HEAD, &eq.head));
	if (!(eq.status & MGPU_QSTAT_ERROR) || eq.code != MGPU_ERR_BAD_OPCODE ||
	    eq.head != 2)
		FAIL("queue %u after an unknown opcode at ring index 2: status %#x, error %u, error head %u",
		     eq.q, eq.status, eq.code, eq.head);
	/* Left open, never touched again: it stays stopped. */
	printf("# queue %u stopped on an error: status %#x, reason %u (%s), error head %u; checked every round\n",
	       eq.q, eq.status, eq.code, mgpu_queue_error_str(eq.code), eq.head);
	fflush(stdout);
	return 1;
}

/* The stopped queue is as it was: same status, reason and error head. */
static int mig_error_kept(uint32_t r)
{
	uint32_t status, code, head;

	TRY(qreg(eq.q, MGPU_Q_STATUS, &status));
	TRY(qreg(eq.q, MGPU_Q_ERROR, &code));
	TRY(qreg(eq.q, MGPU_Q_ERROR_HEAD, &head));
	if (status != eq.status || code != eq.code || head != eq.head)
		FAIL("round %u: queue %u reads status %#x, error %u, error head %u; it stopped with %#x, %u, %u",
		     r, eq.q, status, code, head, eq.status, eq.code, eq.head);
	return 1;
}

/*
 * --idle: no command in flight on queue 0, then wait for a line from
 * the host on the tty @fd (opened before, so that nothing is lost).
 * The host migrates the VM meanwhile and then says "go".  Queue 0 must
 * not have moved; the caller checks VRAM.
 */
static int mig_idle(int fd, uint32_t r)
{
	uint32_t st, head, tail, st2, head2, tail2;
	uint64_t done, done2;
	double t0 = now_s(), end = t0 + secs;
	char buf[64] = "";
	size_t got = 0;

	TRY(qreg(0, MGPU_Q_STATUS, &st));
	TRY(qreg(0, MGPU_Q_HEAD, &head));
	TRY(qreg(0, MGPU_Q_TAIL, &tail));
	TRY(mgpu_queue_completed(q0, &done));
	if ((st & (MGPU_QSTAT_BUSY | MGPU_QSTAT_ERROR)) || head != tail)
		FAIL("idle: queue 0 has status %#x, head %u, tail %u", st, head,
		     tail);
	tcflush(fd, TCIFLUSH);
	printf("# idle after round %u: no command in flight (queue 0 head = tail = %u, %llu done), waiting for the host on %s\n",
	       r, head, (unsigned long long)done, idle_tty);
	fflush(stdout);
	while (!strstr(buf, "go")) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (now_s() > end)
			FAIL("idle: no word from the host on %s in %u s",
			     idle_tty, secs);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if (got > sizeof(buf) - 8)
			got = 0;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			FAIL("idle: read %s: %s", idle_tty, strerror(errno));
		if (n > 0)
			got += n;
		buf[got] = 0;
	}
	TRY(qreg(0, MGPU_Q_STATUS, &st2));
	TRY(qreg(0, MGPU_Q_HEAD, &head2));
	TRY(qreg(0, MGPU_Q_TAIL, &tail2));
	TRY(mgpu_queue_completed(q0, &done2));
	if (st2 != st || head2 != head || tail2 != tail || done2 != done)
		FAIL("after idle: queue 0 status %#x head %u tail %u, %llu done; before: %#x %u %u, %llu",
		     st2, head2, tail2, (unsigned long long)done2, st, head,
		     tail, (unsigned long long)done);
	printf("# idle for %.1f s: queue 0 did not move\n", now_s() - t0);
	fflush(stdout);
	return 1;
}

/* What a migrate round leaves in VRAM, and how to check it. */
struct mig {
	uint32_t m, n, k;
	uint32_t *pp, *pf, last_round[MIG_SLOTS];
	uint64_t fence;
	int32_t *ref, *hc;
};

/* After round @r: its fence, FILL and GEMM chain, every slot, queue eq. */
static int mig_check(struct mig *s, uint32_t r)
{
	uint32_t want = tag << 16 | (r & 0xffff), i, j;
	uint64_t seq;

	seq = __atomic_load_n((uint64_t *)mgpu_vram_ptr(dev, s->fence),
			      __ATOMIC_ACQUIRE);
	if (seq != r + 1)
		FAIL("round %u: fence reads %llu", r, (unsigned long long)seq);
	for (i = 0; i < 16 * 1024; i++)
		if (s->pf[i] != want)
			FAIL("round %u: FILL word %u = %#x, expected %#x", r, i,
			     s->pf[i], want);
	for (i = 0; i < s->m * s->n; i++)
		if (s->hc[i] != (int32_t)(r + 1) * s->ref[i])
			FAIL("round %u: C[%u] = %d, expected %d", r, i,
			     s->hc[i], (int32_t)(r + 1) * s->ref[i]);
	for (j = 0; j <= r && j < MIG_SLOTS; j++) {
		uint32_t w = tag << 16 | (s->last_round[j] & 0xffff);

		for (i = 0; i < 1024; i++)
			if (s->pp[j * 1024 + i] != (w ^ i))
				FAIL("round %u: slot %u word %u = %#x, expected %#x",
				     r, j, i, s->pp[j * 1024 + i], w ^ i);
	}
	return mig_error_kept(r);
}

static int t_migrate(void)
{
	struct mig s = { .m = 16, .n = 64, .k = 64 };
	const uint32_t m = s.m, n = s.n, k = s.k;
	uint64_t pat, fill, a, b, c;
	uint32_t r, i, j, l;
	int8_t *ha, *hb;
	struct mgpu_cmd cmd[2];
	double end, last = now_s(), gap = 0;
	int tty = -1;

	if (idle_tty) {
		struct termios tio;

		/* Open (and raw) before the window, so that no byte is lost. */
		tty = open(idle_tty, O_RDONLY | O_NOCTTY | O_NONBLOCK);
		if (tty < 0)
			FAIL("open %s: %s", idle_tty, strerror(errno));
		if (!tcgetattr(tty, &tio)) {
			cfmakeraw(&tio);
			tcsetattr(tty, TCSANOW, &tio);
		}
	}
	if (!mig_error_queue())
		return 0;
	TRY(mgpu_vram_alloc(dev, MIG_SLOTS * 4096, 4096, &pat));
	TRY(mgpu_vram_alloc(dev, 64 * 1024, 4096, &fill));
	TRY(mgpu_vram_alloc(dev, m * k, 64, &a));
	TRY(mgpu_vram_alloc(dev, k * n, 64, &b));
	TRY(mgpu_vram_alloc(dev, m * n * 4, 64, &c));
	TRY(mgpu_vram_alloc(dev, 64, 64, &s.fence));
	s.pp = mgpu_vram_ptr(dev, pat);
	s.pf = mgpu_vram_ptr(dev, fill);
	ha = mgpu_vram_ptr(dev, a);
	hb = mgpu_vram_ptr(dev, b);
	s.hc = mgpu_vram_ptr(dev, c);
	s.ref = calloc(m * n, sizeof(*s.ref));
	if (!s.ref)
		FAIL("no memory");
	for (i = 0; i < m * k; i++)
		ha[i] = (int8_t)(i * 7 % 11) - 5;
	for (i = 0; i < k * n; i++)
		hb[i] = (int8_t)(i * 5 % 13) - 6;
	for (i = 0; i < m; i++)
		for (j = 0; j < n; j++)
			for (l = 0; l < k; l++)
				s.ref[i * n + j] += ha[i * k + l] * hb[l * n + j];
	memset(s.hc, 0, m * n * 4);
	end = now_s() + secs;
	for (r = 0; now_s() < end; r++) {
		uint32_t want = tag << 16 | (r & 0xffff), slot = r % MIG_SLOTS;
		double t = now_s();

		/*
		 * The CPU's pattern of this round in one slot of VRAM; the
		 * slots written before keep theirs, and are checked too.
		 */
		for (i = 0; i < 1024; i++)
			s.pp[slot * 1024 + i] = want ^ i;
		s.last_round[slot] = r;
		/* The engine: a FILL, C += A x B, a fence, all checked. */
		mgpu_cmd_fill(&cmd[0], fill, 64 * 1024, want, 0);
		mgpu_cmd_gemm_i8(&cmd[1], a, b, c, m, n, k, 1, 1);
		TRY(mgpu_submit(q0, cmd, 2));
		mgpu_cmd_fence(&cmd[0], s.fence, r + 1, 0);
		TRY(mgpu_submit(q0, cmd, 1));
		TRY(mgpu_queue_sync(q0, 60000));
		if (!mig_check(&s, r))
			return 0;
		if (t - last > gap)
			gap = t - last;
		last = now_s();
		if (r % 16 == 0) {
			printf("# round %u at %.1f s, longest gap %.2f s, queue %u still stopped (error %u at %u)\n",
			       r, now_s(), gap, eq.q, eq.code, eq.head);
			fflush(stdout);
		}
		if (tty >= 0) {
			/*
			 * Once, after the first round: idle while the host
			 * migrates, then round 0's VRAM checked again.
			 */
			if (!mig_idle(tty, r) || !mig_check(&s, r))
				return 0;
			printf("# idle ended: round %u's VRAM (slots, FILL, GEMM chain, fence) and the stopped queue %u checked again\n",
			       r, eq.q);
			fflush(stdout);
			close(tty);
			tty = -1;
			last = now_s();
		}
		usleep(10000);
	}
	printf("# %u rounds checked, longest gap between rounds %.2f s\n", r,
	       gap);
	free(s.ref);
	return r > 0;
}

/* ---- load mode --------------------------------------------------------- */

static unsigned int rate_mib;

static int t_load(void)
{
	uint64_t size = mgpu_vram_size(dev), pages = size / 4096, page = 0;
	uint32_t *v = mgpu_vram_ptr(dev, 0), gen = 1, i;
	double end, next, t0;
	struct mgpu_cmd cmd;
	uint64_t p, written = 0;

	/* Everything holds data: pre-copy has the whole VRAM to carry. */
	mgpu_cmd_fill(&cmd, 0, size, 0x10adu << 16, 0);
	TRY(mgpu_submit(q0, &cmd, 1));
	TRY(mgpu_queue_sync(q0, 60000));
	printf("# loaded: %llu MiB filled, writing %u MiB/s for %u s\n",
	       (unsigned long long)(size >> 20), rate_mib, secs);
	fflush(stdout);
	t0 = now_s();
	end = t0 + secs;
	next = t0;
	while (now_s() < end) {
		/* Every 10 ms, this period's share of the rate. */
		uint64_t due = rate_mib ? (uint64_t)((now_s() - t0) *
						     rate_mib * 256) : 0;

		while (written < due) {
			uint32_t w = 0x10adu << 16 | (gen & 0xffff);

			for (i = 0; i < 1024; i++)
				v[page * 1024 + i] = w;
			written++;
			if (++page == pages) {
				page = 0;
				gen++;
			}
		}
		next += 0.01;
		if (next > now_s())
			usleep((useconds_t)((next - now_s()) * 1e6));
	}
	/* Each page holds the fill or one generation's word, all of it. */
	for (p = 0; p < pages; p++) {
		uint32_t w = v[p * 1024];

		if (w >> 16 != 0x10ad)
			FAIL("page %llu reads %#x", (unsigned long long)p, w);
		for (i = 1; i < 1024; i++)
			if (v[p * 1024 + i] != w)
				FAIL("page %llu word %u = %#x, word 0 %#x",
				     (unsigned long long)p, i, v[p * 1024 + i], w);
	}
	printf("# %llu pages written in %.0f s (%.1f MiB/s)\n",
	       (unsigned long long)written, now_s() - t0,
	       written / 256.0 / (now_s() - t0));
	return 1;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *name = NULL, *mode = "test";
	double t0 = now_s();
	int i, ret;

	lstm_default_cfg(&lcfg);
	lcfg.vocab = 2000;
	lcfg.steps = 2;
	/*
	 * The CPU reference runs in the (nested, TCG) guest: 2 of the 20
	 * rows of the batch (they are independent) keep it to seconds.
	 */
	lcfg.verify_rows = 2;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');

		v = v ? v + 1 : "";
		if (!strncmp(a, "--dev=", 6))
			name = v;
		else if (!strncmp(a, "--mode=", 7))
			mode = v;
		else if (!strncmp(a, "--expect=", 9)) {
			if (parse_expect(v)) {
				fprintf(stderr, "bad --expect %s\n", v);
				return 2;
			}
		} else if (!strncmp(a, "--tag=", 6))
			tag = strtoul(v, NULL, 16) & 0xffff;
		else if (!strncmp(a, "--secs=", 7))
			secs = strtoul(v, NULL, 0);
		else if (!strncmp(a, "--idle=", 7))
			idle_tty = v;
		else if (!strncmp(a, "--hold=", 7))
			hold = strtoul(v, NULL, 0);
		else if (!strncmp(a, "--rate=", 7))
			rate_mib = strtoul(v, NULL, 0);
		else if (!strncmp(a, "--vocab=", 8))
			lcfg.vocab = strtoul(v, NULL, 0);
		else if (!strncmp(a, "--steps=", 8))
			lcfg.steps = strtoul(v, NULL, 0);
		else {
			fprintf(stderr, "usage: %s [--dev=NAME] [--mode=test|isolate|migrate|load] [--expect=vram:N,queues:N,fraction:N] [--tag=HEX] [--secs=N] [--idle=TTY] [--rate=MIB] [--hold=N] [--vocab=V] [--steps=T]\n",
				argv[0]);
			return 2;
		}
	}
	if (strcmp(mode, "test") && strcmp(mode, "isolate") &&
	    strcmp(mode, "migrate") && strcmp(mode, "load")) {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}

	printf("KTAP version 1\n");
	printf("# mgpu-guest: mode %s, libmgpu %u.%u\n", mode,
	       mgpu_lib_version() >> 16, mgpu_lib_version() & 0xffff);
	ret = mgpu_open(name, &dev);
	if (ret) {
		snprintf(why, sizeof(why), "%s: %s", mgpu_strerror(ret),
			 mgpu_last_error());
		result(0, "find and open the vGPU (%s)", name ? name : "PCI 1f4d:0001");
		printf("1..%u\n", ntest);
		return 1;
	}
	printf("# device %s: version %u.%u, VRAM %llu MiB, %u queues, fraction 1/%u, caps %#x\n",
	       mgpu_name(dev),
	       mgpu_hw_version(dev) >> 16, mgpu_hw_version(dev) & 0xffff,
	       (unsigned long long)(mgpu_vram_size(dev) >> 20),
	       mgpu_num_queues(dev), mgpu_fraction(dev), mgpu_caps(dev));
	result(1, "find and open the vGPU %s", mgpu_name(dev));
	check_expect();
	/* (The benchmark's guest does not read its whole VRAM first.) */
	if (strcmp(mode, "load"))
		result(t_zero(), "VRAM zeroed at start (%llu MiB)",
		       (unsigned long long)(mgpu_vram_size(dev) >> 20));

	if (!strcmp(mode, "isolate"))
		result(t_own_pattern_cpu(), "own pattern %#x over the whole VRAM, CPU", tag);

	ret = mgpu_queue_open(dev, 0, 0, 0, &q0);
	snprintf(why, sizeof(why), "%s: %s", mgpu_strerror(ret), mgpu_last_error());
	result(!ret, "open queue 0");
	if (ret)
		goto out;

	if (!strcmp(mode, "isolate")) {
		result(t_own_pattern_engine(),
		       "only own pattern %#x seen, engine FILL rounds for %u s", tag, secs);
		goto out;
	}
	if (!strcmp(mode, "load")) {
		result(t_load(), "VRAM filled, written at %u MiB/s for %u s, checked",
		       rate_mib, secs);
		goto out;
	}
	if (!strcmp(mode, "migrate")) {
		result(t_migrate(), "self-checking workload for %u s (VRAM by CPU and engine, GEMM chain, fences, queue %u stopped on an error)",
		       secs, eq.q);
		goto out;
	}
	result(t_fill_copy(), "FILL and COPY in VRAM, checked by the CPU");
	if (hold)
		result(t_hold(), "VRAM written by the CPU and a FILL, unchanged after a hold of %u s",
		       hold);
	result(t_queues(), "all %u queues at once, one fence each", mgpu_num_queues(dev));
	result(t_gemm_f32(), "GEMM fp32 37x53x129 against the CPU");
	result(t_gemm_i8(), "GEMM int8 64x48x600 against the CPU (exact)");
	result(t_lstm(), "LSTM step chain B=%u H=%u V=%u T=%u against the CPU",
	       lcfg.batch, lcfg.hidden, lcfg.vocab, lcfg.steps);
	if (mgpu_caps(dev) & MGPU_CAP_TRAIN_OPS)
		result(t_train(), "5 LSTM training steps on the engine (B 4, H 16, V 64, T 4, 2 layers) against the CPU");
out:
	mgpu_close(dev);
	printf("# mgpu-guest: %u tests, %u failed, %.1f s\n", ntest, nfail, now_s() - t0);
	printf("1..%u\n", ntest);
	return nfail ? 1 : 0;
}
