// SPDX-License-Identifier: GPL-2.0
/*
 * Faults a management stack or a hostile VMM causes: the VMM killed in
 * the middle of a long command or of a guest-memory access that never
 * completes, the module unloaded under an open device, and (on kernels
 * with fault injection) an allocation failing at every point of open,
 * queue setup and command submission.  (Creating and removing at full speed:
 * mgpu_stress_test.)  Every case must end with a clean errno and
 * the driver exactly as before: capacity, VRAM and instances.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"
#include "libmgpu.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Wait up to @ms for @pid: true if it was reaped. */
static bool reaped_within(pid_t pid, unsigned int ms)
{
	uint64_t t0 = now_ms();
	int status;

	while (now_ms() - t0 < ms) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

/* ---- the VMM killed in the middle of things ---- */

enum victim_work {
	LONG_GEMM,		/* a GEMM of many steps on the engine */
	LONG_VEC,		/* a VEC TANH of many FPU sections */
	LONG_XENT,		/* an XENT of many rows */
	FROZEN_RING,		/* a ring in guest memory that never arrives */
	FROZEN_DMA,		/* a copy from guest memory that never arrives */
};

/* The VMM: start @work on @uuid, say 'r' on @fd, wait to be killed. */
static void victim(const char *uuid, enum victim_work work, int fd)
{
	struct mgpu_queue *q;
	struct mgpu_cmd cmd;
	struct mgpu_dev *dev;
	uint64_t a, iova;
	size_t size = 16 * 4096;
	void *mem = NULL;
	int ret, uffd;

	if (work == FROZEN_RING || work == FROZEN_DMA) {
		mem = mgpu_test_frozen_memory(size, &uffd);
		if (!mem)
			_exit(2);
	}
	if (mgpu_open_vfio(uuid, &dev))
		_exit(3);
	switch (work) {
	case LONG_GEMM:
		/* 1024^3 multiply-adds: seconds of engine time under TCG. */
		ret = mgpu_queue_open(dev, 0, 0, 0, &q);
		if (!ret)
			ret = mgpu_vram_alloc(dev, 3 * 4 << 20, 0, &a);
		if (!ret) {
			mgpu_cmd_gemm_f32(&cmd, a, a + (4 << 20), a + (8 << 20),
					  1024, 1024, 1024, 1.0f, 0.0f);
			ret = mgpu_submit(q, &cmd, 1);
		}
		break;
	case LONG_VEC:
	case LONG_XENT:
		/* 64 MiB of floats: 1024 FPU sections of TANH, or 1024
		 * XENT rows of 16384 classes (zeroed VRAM: targets are 0).
		 */
		ret = mgpu_queue_open(dev, 0, 0, 0, &q);
		if (!ret)
			ret = mgpu_vram_alloc(dev, 65 << 20, 0, &a);
		if (!ret) {
			if (work == LONG_VEC)
				mgpu_cmd_vec(&cmd, MGPU_VEC_TANH, a, 0, a,
					     16 << 20, 0);
			else
				mgpu_cmd_xent(&cmd, a, a + (64 << 20), a,
					      a + (64 << 20) + 4096, 1024,
					      16384, 0);
			ret = mgpu_submit(q, &cmd, 1);
		}
		break;
	case FROZEN_RING:
		/* The ring itself is in frozen memory: the fetch hangs. */
		ret = mgpu_dma_map(dev, mem, size, &iova);
		if (!ret)
			ret = mgpu_reg_write(dev, MGPU_REG_QUEUE(0) + MGPU_Q_RING_LO,
					     (uint32_t)iova);
		if (!ret)
			ret = mgpu_reg_write(dev, MGPU_REG_QUEUE(0) + MGPU_Q_RING_HI,
					     iova >> 32);
		if (!ret)
			ret = mgpu_reg_write(dev,
					     MGPU_REG_QUEUE(0) + MGPU_Q_RING_SIZE,
					     64);
		if (!ret)
			ret = mgpu_reg_write(dev, MGPU_REG_QUEUE(0) + MGPU_Q_CTRL,
					     MGPU_QCTRL_ENABLE |
					     MGPU_QCTRL_RING_SYSMEM);
		if (!ret)
			ret = mgpu_reg_write(dev, MGPU_REG_QUEUE(0) + MGPU_Q_TAIL,
					     1);
		break;
	default:
		ret = mgpu_dma_map(dev, mem, size, &iova);
		if (!ret)
			ret = mgpu_queue_open(dev, 0, 0, 0, &q);
		if (!ret)
			ret = mgpu_vram_alloc(dev, size, 0, &a);
		if (!ret) {
			mgpu_cmd_copy(&cmd, a, iova, size, MGPU_F_SRC_SYSMEM);
			ret = mgpu_submit(q, &cmd, 1);
		}
		break;
	}
	if (ret)
		_exit(4);
	usleep(300 * 1000);	/* let the engine get into it */
	if (write(fd, "r", 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

FIXTURE(killed) {
	struct mgpu_test_instances inst;
	char uuid[MGPU_UUID_BUF];
	pid_t pid;
};

FIXTURE_VARIANT(killed) {
	enum victim_work work;
};

FIXTURE_VARIANT_ADD(killed, long_gemm) { .work = LONG_GEMM };
FIXTURE_VARIANT_ADD(killed, long_vec) { .work = LONG_VEC };
FIXTURE_VARIANT_ADD(killed, long_xent) { .work = LONG_XENT };
FIXTURE_VARIANT_ADD(killed, frozen_ring) { .work = FROZEN_RING };
FIXTURE_VARIANT_ADD(killed, frozen_dma) { .work = FROZEN_DMA };

FIXTURE_SETUP(killed)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	if (variant->work == FROZEN_RING || variant->work == FROZEN_DMA) {
		int uffd;
		void *mem = mgpu_test_frozen_memory(4096, &uffd);

		if (!mem)
			SKIP(return, "no userfaultfd (%s)", strerror(errno));
		munmap(mem, 4096);
		close(uffd);
	}
	self->inst.n = 0;
	self->pid = 0;
	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent, "mgpu-1_2",
					self->uuid));
}

FIXTURE_TEARDOWN_PARENT(killed)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

/*
 * SIGKILL the VMM while its device is busy: it is reaped at once, the
 * instance can be removed at once, and the parent is as before.
 */
TEST_F_TIMEOUT(killed, reaped_and_removable, 90)
{
	int fds[2];
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	/*
	 * Not straight into self->pid: the fixture is shared memory (the
	 * teardown runs in the parent), and the child's 0 would land there.
	 */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		victim(self->uuid, variant->work, fds[1]);
	}
	self->pid = pid;
	close(fds[1]);
	ASSERT_EQ(1, read(fds[0], &c, 1)) TH_LOG("the VMM did not start");
	close(fds[0]);

	kill(self->pid, SIGKILL);
	if (!reaped_within(self->pid, 10000)) {
		/* Say where everyone waits, in the kernel log. */
		mgpu_test_write_attr("/proc/sysrq-trigger", "w");
		ASSERT_TRUE(false)
			TH_LOG("the killed VMM was not reaped within 10 s (blocked tasks: see the kernel log)");
	}
	self->pid = 0;
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
	EXPECT_PARENT_EMPTY(mgpu_test_parent);
}

/* ---- the module under an open device ---- */

/*
 * rmmod while a VFIO user holds an instance: refused with EBUSY (the VFIO
 * core holds the module), and everything keeps working.
 */
TEST(rmmod_while_open)
{
	struct mgpu_test_instances inst = { .n = 0 };
	char uuid[MGPU_UUID_BUF];
	struct mgpu_dev *dev;
	uint32_t magic = 0;

	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	ASSERT_OK(mgpu_test_instances_create(&inst, mgpu_test_parent, "mgpu-1_4", uuid));
	ASSERT_OK(mgpu_open_vfio(uuid, &dev));
	errno = 0;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "mgpu", O_NONBLOCK))
		TH_LOG("mgpu was unloaded under an open device");
	EXPECT_TRUE(errno == EBUSY || errno == EWOULDBLOCK)
		TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_EQ(0, mgpu_reg_read(dev, MGPU_REG_MAGIC, &magic));
	EXPECT_EQ(MGPU_MAGIC, magic);
	mgpu_close(dev);
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&inst));
	EXPECT_PARENT_EMPTY(mgpu_test_parent);
}

/* ---- allocation failures at every point (fault injection) ---- */

/* Make the n-th allocation of this thread fail (CONFIG_FAULT_INJECTION). */
static int fail_nth(int fd, int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

/*
 * Open, set up a queue and run a command with the n-th allocation
 * failing, for n = 1, 2, ... until a round sees no failure:
 * each step either works or fails with a clean errno, and the next
 * round (and the parent) finds everything as before.
 */
FIXTURE(inject) {
	int unused;
};

FIXTURE_SETUP(inject)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
}

FIXTURE_TEARDOWN(inject)
{
}

TEST_F_TIMEOUT(inject, allocation_failures, 110)
{
	struct mgpu_test_instances inst = { .n = 0 };
	char uuid[MGPU_UUID_BUF];
	int fd, n, ret, left;

	fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fd < 0)
		SKIP(return, "no fault injection in this kernel (%s)",
		     strerror(errno));
	/*
	 * Quietly: an injected failure's stack dump would read as a
	 * kernel problem in the run's log.
	 */
	mgpu_test_write_attr("/sys/kernel/debug/failslab/verbose", "0");
	mgpu_test_write_attr("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	/* Let GFP_KERNEL slab and page allocations fail too. */
	mgpu_test_write_attr("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	mgpu_test_write_attr("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait",
			"N");
	for (n = 1; n < 500; n++) {
		struct mgpu_queue *q = NULL;
		struct mgpu_dev *dev = NULL;
		char buf[16] = "";
		uint64_t off;

		/* The create: inject.create_failures. */
		ASSERT_OK(mgpu_test_instances_create(&inst, mgpu_test_parent,
						     "mgpu-1_4", uuid));
		ASSERT_OK(fail_nth(fd, n));
		ret = mgpu_open_vfio(uuid, &dev);
		if (!ret)
			ret = mgpu_queue_open(dev, 0, 0, 0, &q);
		if (!ret)
			ret = mgpu_vram_alloc(dev, 1 << 20, 0, &off);
		if (!ret)
			ret = mgpu_fill(q, off, 1 << 20, 0x5a5a5a5a, 0);
		/* Did the injected failure happen?  "0" once it did. */
		pread(fd, buf, sizeof(buf) - 1, 0);
		left = atoi(buf);
		ASSERT_OK(fail_nth(fd, 0));
		if (ret)
			TH_LOG("round %d: failed cleanly: %s", n,
			       strerror(-ret));
		mgpu_close(dev);
		EXPECT_EQ(0, mgpu_test_instances_cleanup(&inst))
			TH_LOG("round %d: cleanup failed", n);
		inst.n = 0;
		if (_metadata->exit_code)
			break;
		if (left > 0)
			break;		/* the n-th allocation never came */
	}
	close(fd);
	TH_LOG("%d rounds of injected allocation failures", n);
	EXPECT_PARENT_EMPTY(mgpu_test_parent);
}

/*
 * [*@start, *@end): the text of kernel function @name (the next symbol
 * in /proc/kallsyms starts where it ends).  0 or -ENOENT.
 */
static int ksym_range(const char *name, unsigned long *start,
		      unsigned long *end)
{
	char line[256], sym[128], type;
	unsigned long addr;
	FILE *f;

	*start = 0;
	*end = ~0UL;
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return -ENOENT;
	while (!*start && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %c %127s", &addr, &type, sym) == 3 &&
		    (type == 't' || type == 'T') && !strcmp(sym, name))
			*start = addr;
	rewind(f);
	while (*start && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx %c %127s", &addr, &type, sym) == 3 &&
		    addr > *start && addr < *end)
			*end = addr;
	fclose(f);
	return *start && *end != ~0UL ? 0 : -ENOENT;
}

/* Keep injected failures out of [start, end) (0, 0: no range). */
static void reject_range(unsigned long start, unsigned long end)
{
	static const char * const attrs[] = { "failslab", "fail_page_alloc" };
	char path[128], val[32];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		snprintf(val, sizeof(val), "%#lx", start);
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/reject-start",
			 attrs[i]);
		mgpu_test_write_attr(path, val);
		snprintf(val, sizeof(val), "%#lx", end);
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/reject-end",
			 attrs[i]);
		mgpu_test_write_attr(path, val);
	}
}

/*
 * Create with the n-th allocation failing, n = 1, 2, ...: a failed
 * create leaves no instance and the capacity as it was, and the instance
 * of a create that worked is usable.  Allocations made inside the VFIO
 * core's vfio_create_group() are not injected: when its dev_set_name()
 * fails, its error path WARNs in vfio_group_release() (6.12), a defect of
 * the VFIO core that is not mgpu's to fix (CONFIG_FAULT_INJECTION_
 * STACKTRACE_FILTER's reject range keeps it out).
 */
TEST_F_TIMEOUT(inject, create_failures, 110)
{
	unsigned long start, end;
	int fd, n, ret, left, avail, failed = 0;
	uint64_t t0;

	fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fd < 0)
		SKIP(return, "no fault injection in this kernel (%s)",
		     strerror(errno));
	if (!mgpu_test_path_exists("/sys/kernel/debug/failslab/reject-start")) {
		close(fd);
		SKIP(return, "no CONFIG_FAULT_INJECTION_STACKTRACE_FILTER");
	}
	ASSERT_EQ(0, ksym_range("vfio_create_group", &start, &end))
		TH_LOG("vfio_create_group not in /proc/kallsyms");
	mgpu_test_write_attr("/sys/kernel/debug/failslab/verbose", "0");
	mgpu_test_write_attr("/sys/kernel/debug/fail_page_alloc/verbose", "0");
	mgpu_test_write_attr("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	mgpu_test_write_attr("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait",
			"N");
	reject_range(start, end);
	avail = mgpu_test_available(mgpu_test_parent, "mgpu-1_4");
	t0 = now_ms();
	for (n = 1; n < 1000; n++) {
		char uuid[MGPU_UUID_BUF], buf[16] = "";
		struct mgpu_dev *dev = NULL;
		struct mgpu_queue *q = NULL;
		uint64_t off;

		ASSERT_OK(mgpu_test_uuid_random(uuid));
		ASSERT_OK(fail_nth(fd, n));
		ret = mgpu_test_create(mgpu_test_parent, "mgpu-1_4", uuid);
		pread(fd, buf, sizeof(buf) - 1, 0);
		left = atoi(buf);
		ASSERT_OK(fail_nth(fd, 0));
		if (ret) {
			failed++;
			EXPECT_TRUE(ret == -ENOMEM || ret == -EINVAL ||
				    ret == -EBUSY || ret == -EFAULT)
				TH_LOG("round %d: %s", n, strerror(-ret));
			EXPECT_FALSE(mgpu_test_instance_exists(uuid))
				TH_LOG("round %d: a failed create left %s", n,
				       uuid);
			if (mgpu_test_instance_exists(uuid))
				mgpu_test_remove(uuid);
		} else if (n % 8 && left <= 0) {
			/* Most worked creates: removed at once (KASAN is slow). */
			EXPECT_EQ(0, mgpu_test_remove(uuid));
		} else {
			/* A create that worked made a working instance. */
			ret = mgpu_open_vfio(uuid, &dev);
			if (!ret)
				ret = mgpu_queue_open(dev, 0, 0, 0, &q);
			if (!ret)
				ret = mgpu_vram_alloc(dev, 1 << 20, 0, &off);
			if (!ret)
				ret = mgpu_fill(q, off, 1 << 20, 0x5a5a5a5a, 0);
			EXPECT_EQ(0, ret) TH_LOG("round %d: %s", n,
						 mgpu_strerror(ret));
			mgpu_close(dev);
			EXPECT_EQ(0, mgpu_test_remove(uuid));
		}
		EXPECT_EQ(avail, mgpu_test_available(mgpu_test_parent,
						     "mgpu-1_4"))
			TH_LOG("round %d: capacity changed", n);
		if (_metadata->exit_code || left > 0)
			break;		/* the n-th allocation never came */
		/* Within the harness's time, with what was covered said. */
		if (now_ms() - t0 > 80 * 1000) {
			TH_LOG("stopped by time after %d rounds", n);
			break;
		}
	}
	reject_range(0, 0);
	close(fd);
	TH_LOG("%d rounds, %d creates failed cleanly", n, failed);
	EXPECT_LT(0, failed);
	EXPECT_PARENT_EMPTY(mgpu_test_parent);
}

MGPU_TEST_HARNESS_MAIN
