// SPDX-License-Identifier: GPL-2.0
/*
 * One tenant can neither reach another's VRAM nor stop the parent:
 * regression tests for defects a hostile-tenant review found.
 *
 *  - VRAM mapped through BAR2 cannot be pinned (vmsplice, io_uring fixed
 *    buffers and RDMA take page references through get_user_pages()), so
 *    no reference outlives the mapping and reaches the slice's next tenant.
 *  - Every new user of an instance starts from zeroed VRAM, not from
 *    what the previous user (another VM on a persistent mdev) left.
 *  - A parent's scheduling attributes work from the moment they appear
 *    in sysfs to the moment they go (a udev rule writes them on "add").
 *  - A tenant whose guest memory never arrives (userfaultfd) stalls
 *    nobody else, and its reset, close and SIGKILL return promptly.
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/pci_regs.h>
#include <poll.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"
#include "libmgpu.h"

#define BAR2_OFFSET	MGPU_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX)

static uint64_t now_ms(void);
static int submit_frozen_copy(struct mgpu_dev *dev, unsigned int index,
			      uint64_t iova, struct mgpu_queue **qp);

FIXTURE(tenant) {
	struct mgpu_test_instances inst;
	char uuid[MGPU_UUID_BUF];
	struct mgpu_test_vfio v;
	uint64_t vram;
};

FIXTURE_SETUP(tenant)
{
	int ret;

	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	if (!mgpu_test_path_exists("/dev/vfio/vfio"))
		SKIP(return, "no /dev/vfio/vfio (vfio not loaded?)");
	self->inst.n = 0;
	self->v = (struct mgpu_test_vfio)MGPU_TEST_VFIO_INIT;
	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent, "mgpu-1_16",
					self->uuid));
	ret = mgpu_test_instance_u64(self->uuid, "vram_size", &self->vram);
	if (!ret)
		ret = mgpu_test_vfio_open(&self->v, self->uuid);
	if (ret) {
		mgpu_test_instances_cleanup(&self->inst);
		ASSERT_OK(ret);
	}
}

FIXTURE_TEARDOWN_PARENT(tenant)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

/*
 * vmsplice() of a BAR2 page into a pipe takes a reference to the page
 * that outlives munmap, close and removal: it must fail.  The mapping
 * itself works (written through it, read back through the region).
 */
TEST_F(tenant, vram_cannot_be_pinned)
{
	long page = sysconf(_SC_PAGESIZE);
	struct iovec iov;
	uint32_t val = 0;
	int pipefd[2];
	uint8_t *map;
	ssize_t n;

	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->v.device, BAR2_OFFSET);
	ASSERT_NE(MAP_FAILED, map) TH_LOG("mmap BAR2: %s", strerror(errno));
	*(uint32_t *)map = 0x5ec7e7;
	EXPECT_EQ(4, mgpu_test_region_read(self->v.device,
				      VFIO_PCI_BAR2_REGION_INDEX, 0, &val, 4));
	EXPECT_EQ(0x5ec7e7U, val);

	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = map;
	iov.iov_len = page;
	errno = 0;
	n = vmsplice(pipefd[1], &iov, 1, 0);
	EXPECT_EQ(-1, n) TH_LOG("vmsplice of VRAM took a page reference");
	EXPECT_EQ(EFAULT, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(map, page);
}

/*
 * A long-term pin (io_uring fixed buffers, as RDMA registration) of a
 * BAR2 mapping must fail too: it would let the holder write the next
 * tenant's VRAM.
 */
TEST_F(tenant, vram_no_long_term_pin)
{
	long page = sysconf(_SC_PAGESIZE);
	struct io_uring_params params = { 0 };
	struct iovec iov;
	uint8_t *map;
	int ring;

	ring = syscall(__NR_io_uring_setup, 4, &params);
	if (ring < 0)
		SKIP(return, "no io_uring (%s)", strerror(errno));
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->v.device, BAR2_OFFSET);
	ASSERT_NE(MAP_FAILED, map);
	iov.iov_base = map;
	iov.iov_len = page;
	errno = 0;
	EXPECT_EQ(-1, syscall(__NR_io_uring_register, ring,
			      IORING_REGISTER_BUFFERS, &iov, 1))
		TH_LOG("io_uring pinned VRAM for the long term");
	close(ring);
	munmap(map, page);
}

/*
 * A persistent mdev handed to another VM: the next open of the same
 * instance sees zeroed VRAM, written through the mapping or the region.
 */
TEST_F(tenant, vram_zeroed_for_next_user)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t offs[] = { 0, self->vram / 2, self->vram - page };
	uint8_t *map, buf[64], zero[64] = { 0 };
	size_t i;

	map = mmap(NULL, self->vram, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->v.device, BAR2_OFFSET);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < ARRAY_SIZE(offs); i++)
		memset(map + offs[i], 0xa7, page);
	munmap(map, self->vram);
	memset(buf, 0xa7, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf),
		  mgpu_test_region_write(self->v.device, VFIO_PCI_BAR2_REGION_INDEX,
				    self->vram - sizeof(buf), buf,
				    sizeof(buf)));

	/* The next user. */
	mgpu_test_vfio_close(&self->v);
	ASSERT_OK(mgpu_test_vfio_open(&self->v, self->uuid));
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		memset(buf, 0xee, sizeof(buf));
		EXPECT_EQ((ssize_t)sizeof(buf),
			  mgpu_test_region_read(self->v.device,
					   VFIO_PCI_BAR2_REGION_INDEX,
					   offs[i], buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, zero, sizeof(buf)))
			TH_LOG("VRAM at %#llx kept the last user's data",
			       (unsigned long long)offs[i]);
	}
	EXPECT_EQ((ssize_t)sizeof(buf),
		  mgpu_test_region_read(self->v.device, VFIO_PCI_BAR2_REGION_INDEX,
				   self->vram - sizeof(buf), buf,
				   sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, zero, sizeof(buf)));
	mgpu_test_vfio_close(&self->v);
}

/*
 * Host memory follows what the tenant touches: nothing for a new
 * instance, a page for a page written, nothing again once it is closed.
 */
TEST_F(tenant, vram_follows_touch)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t resident;
	uint8_t *map;

	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "vram_resident", &resident));
	EXPECT_EQ(0U, resident);
	map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->v.device, BAR2_OFFSET);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 1;
	map[2 * page] = 2;
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "vram_resident", &resident));
	EXPECT_EQ(2 * (uint64_t)page, resident);
	/* A region read of untouched VRAM reads zeroes and backs nothing. */
	EXPECT_EQ(4, mgpu_test_region_read(self->v.device,
				      VFIO_PCI_BAR2_REGION_INDEX,
				      self->vram - 4096, &resident, 4));
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "vram_resident", &resident));
	EXPECT_EQ(2 * (uint64_t)page, resident);
	munmap(map, 4 * page);
	mgpu_test_vfio_close(&self->v);
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "vram_resident", &resident));
	EXPECT_EQ(0U, resident);
}

static sigjmp_buf bus_error_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_error_jmp, sig);
}

/* Read a byte of a mapping; false if it raised SIGBUS. */
static bool read_mapped(uint8_t *p, uint8_t *val)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	static bool ok;		/* static: not clobbered by siglongjmp() */

	ok = false;
	sigaction(SIGBUS, &sa, &old);
	if (!sigsetjmp(bus_error_jmp, 1)) {
		*val = __atomic_load_n(p, __ATOMIC_RELAXED);
		ok = true;
	}
	sigaction(SIGBUS, &old, NULL);
	return ok;
}

/*
 * Memory space off in the command register (a guest's BAR sizing, a
 * shutdown): BAR0 and BAR2 do not answer (EIO, SIGBUS on a mapping, as
 * vfio-pci does) until it is back on.
 */
TEST_F(tenant, memory_space_off)
{
	int dev = self->v.device;
	uint8_t *map, byte = 0;
	uint32_t val;
	uint16_t cmd;

	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dev,
		   BAR2_OFFSET);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 0x5a;
	cmd = mgpu_test_cfg_read16(dev, PCI_COMMAND);
	ASSERT_TRUE(cmd & PCI_COMMAND_MEMORY);

	mgpu_test_cfg_write16(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	EXPECT_ERRNO(EIO, mgpu_test_bar0_read(dev, MGPU_REG_MAGIC, &val));
	EXPECT_ERRNO(EIO, mgpu_test_region_read(dev,
						VFIO_PCI_BAR2_REGION_INDEX,
						0, &val, 4));
	EXPECT_FALSE(read_mapped(map, &byte))
		TH_LOG("VRAM answered through a mapping with memory space off");

	mgpu_test_cfg_write16(dev, PCI_COMMAND, cmd);
	ASSERT_OK(mgpu_test_bar0_read(dev, MGPU_REG_MAGIC, &val));
	EXPECT_EQ(MGPU_MAGIC, val);
	EXPECT_TRUE(read_mapped(map, &byte));
	EXPECT_EQ(0x5a, byte);
	munmap(map, 4096);
}

/*
 * Bus mastering off (a guest kernel's shutdown or kexec): the engine runs
 * nothing of the instance and raises no MSI until it is back on; then
 * the work runs.
 */
TEST_F(tenant, bus_master_off)
{
	int dev = self->v.device;
	struct mgpu_queue *q;
	uint64_t seq;
	uint16_t cmd;

	ASSERT_OK(mgpu_queue_open(self->v.dev, 0, 0, 0, &q));
	cmd = mgpu_test_cfg_read16(dev, PCI_COMMAND);
	mgpu_test_cfg_write16(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
	ASSERT_OK(mgpu_queue_fence(q, &seq));
	usleep(300 * 1000);
	EXPECT_EQ(0, mgpu_fence_signaled(q, seq))
		TH_LOG("the engine ran work with bus mastering off");
	mgpu_test_cfg_write16(dev, PCI_COMMAND, cmd);
	EXPECT_EQ(0, mgpu_fence_wait(q, seq, 10000));
	mgpu_queue_close(q);
}

/*
 * Bus mastering goes off while a copy waits for guest memory that never
 * arrives: the config write returns at once, the copy fails (DMA), and
 * nothing of the device reaches guest memory afterwards.
 */
TEST_F(tenant, bus_master_off_cancels_dma)
{
	int dev = self->v.device;
	struct mgpu_queue *q;
	uint32_t code = 0;
	uint64_t iova, t0;
	uint16_t cmd;
	int uffd;
	void *mem;

	mem = mgpu_test_frozen_memory(4 * 4096, &uffd);
	if (!mem)
		SKIP(return, "no userfaultfd (%s)", strerror(errno));
	ASSERT_OK(mgpu_dma_map(self->v.dev, mem, 4 * 4096, &iova));
	ASSERT_OK(submit_frozen_copy(self->v.dev, 0, iova, &q));
	usleep(300 * 1000);
	cmd = mgpu_test_cfg_read16(dev, PCI_COMMAND);
	t0 = now_ms();
	mgpu_test_cfg_write16(dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MASTER);
	EXPECT_GT(5000, now_ms() - t0)
		TH_LOG("clearing bus master waited for guest memory");
	mgpu_test_cfg_write16(dev, PCI_COMMAND, cmd);
	t0 = now_ms();
	while (!code && now_ms() - t0 < 5000) {
		ASSERT_OK(mgpu_queue_error(q, &code, NULL));
		usleep(10 * 1000);
	}
	EXPECT_EQ(MGPU_ERR_DMA, code);
	mgpu_queue_close(q);
	close(uffd);
}

/* ---- a parent's attributes during its whole life ---- */

static atomic_int race_stop;

/* Write the scheduling attributes of software GPUs 1 to 3, forever. */
static void *race_writer(void *arg)
{
	static const char * const attrs[][2] = {
		{ "sched_policy", "equal_share" },
		{ "time_slice_us", "500" },
		{ "sched_policy", "best_effort" },
	};
	unsigned long n = 0;
	char path[128], name[16];
	int id;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		for (id = 1; id < 4; id++) {
			int fd;

			snprintf(path, sizeof(path), "%s/%s/%s",
				 MGPU_PARENT_DIR,
				 mgpu_test_swgpu_name(id, name, sizeof(name)),
				 attrs[n % 3][0]);
			fd = open(path, O_WRONLY);
			if (fd < 0)
				continue;
			/* Fails while the parent goes away: fine. */
			n += write(fd, attrs[n % 3][1],
				   strlen(attrs[n % 3][1])) < 0;
			close(fd);
			n++;
		}
	}
	return NULL;
}

/*
 * Add and remove software GPUs while another thread writes their
 * scheduling attributes: the attributes exist from the PCI function's
 * binding to the mgpu driver to its removal and must work (or fail
 * cleanly) during all of it.
 */
TEST(parent_attrs_during_add_remove)
{
	char name[16];
	pthread_t t;
	int i;

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded");
	mgpu_test_swgpu_name(1, name, sizeof(name));
	atomic_store(&race_stop, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, race_writer, NULL));
	for (i = 0; i < 40; i++) {
		ASSERT_OK(mgpu_test_add_swgpu("vram=16M queues=16"));
		ASSERT_OK(mgpu_test_remove_swgpu(name));
	}
	atomic_store(&race_stop, 1);
	pthread_join(t, NULL);
	EXPECT_FALSE(mgpu_test_parent_exists(name));
}

/* ---- a tenant whose guest memory never arrives ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Queue @index of @dev copies from frozen guest memory: it hangs there. */
static int submit_frozen_copy(struct mgpu_dev *dev, unsigned int index,
			      uint64_t iova, struct mgpu_queue **qp)
{
	struct mgpu_cmd cmd;
	uint64_t dst;
	int ret;

	ret = mgpu_queue_open(dev, index, 0, 0, qp);
	if (!ret)
		ret = mgpu_vram_alloc(dev, 4096, 0, &dst);
	if (ret)
		return ret;
	mgpu_cmd_copy(&cmd, dst, iova, 4096, MGPU_F_SRC_SYSMEM);
	return mgpu_submit(*qp, &cmd, 1);
}

/*
 * The stalled tenant, in a child the test can kill.  Reports on @fd: 's'
 * once stuck, then the milliseconds a VFIO_DEVICE_RESET took (as a
 * uint64_t), then 'k' once stuck again; then waits to be killed.
 */
static void frozen_tenant(const char *uuid, int fd)
{
	struct mgpu_queue *q;
	struct mgpu_dev *dev;
	uint64_t iova, t0, ms;
	size_t size = 4 * 4096;
	int uffd;
	void *mem;

	mem = mgpu_test_frozen_memory(size, &uffd);
	if (!mem || mgpu_open_vfio(uuid, &dev) ||
	    mgpu_dma_map(dev, mem, size, &iova) ||
	    submit_frozen_copy(dev, 0, iova, &q))
		_exit(1);
	usleep(300 * 1000);	/* let the engine reach it */
	if (write(fd, "s", 1) != 1)
		_exit(1);
	usleep(500 * 1000);

	t0 = now_ms();
	if (ioctl(mgpu_vfio_device_fd(dev), VFIO_DEVICE_RESET))
		_exit(1);
	ms = now_ms() - t0;
	if (write(fd, &ms, sizeof(ms)) != sizeof(ms))
		_exit(1);
	/* As a driver after a reset: memory space and bus mastering on. */
	if (mgpu_test_enable(mgpu_vfio_device_fd(dev)))
		_exit(1);

	/* Stuck again, with the device open: now the VMM gets killed. */
	mgpu_queue_close(q);
	if (submit_frozen_copy(dev, 1, iova, &q))
		_exit(1);
	usleep(300 * 1000);
	if (write(fd, "k", 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

static int read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) != 1)
		return -ETIMEDOUT;
	return read(fd, buf, len) == (ssize_t)len ? 0 : -EIO;
}

/*
 * One tenant's copy from guest memory hangs on a page that never comes.
 * Another tenant of the same parent keeps completing work; the stalled
 * one's reset returns at once (the copy fails with a DMA error), and
 * when its VMM is killed it is reaped and its instance can be removed.
 */
FIXTURE(stall) {
	struct mgpu_test_instances inst;
	char a[MGPU_UUID_BUF];
	char b[MGPU_UUID_BUF];
	pid_t pid;
};

FIXTURE_SETUP(stall)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	self->inst.n = 0;
	self->pid = 0;
	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent,
					     "mgpu-1_4", self->a));
	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent,
					     "mgpu-1_4", self->b));
}

/* Whatever failed: the stalled VMM goes, and so do the instances. */
FIXTURE_TEARDOWN_PARENT(stall)
{
	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

TEST_F_TIMEOUT(stall, guest_memory_never_arrives, 120)
{
	struct mgpu_queue *qb;
	struct mgpu_dev *devb;
	uint64_t t0, ms, dst;
	int i, status, fds[2];
	pid_t pid, got = 0;
	int uffd;
	void *mem;
	char c;

	mem = mgpu_test_frozen_memory(4096, &uffd);
	if (!mem)
		SKIP(return, "no userfaultfd (%s)", strerror(errno));
	munmap(mem, 4096);
	close(uffd);

	ASSERT_EQ(0, pipe(fds));
	/* Not into self->pid from the child: the fixture is shared. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fds[0]);
		frozen_tenant(self->a, fds[1]);
	}
	self->pid = pid;
	close(fds[1]);
	ASSERT_OK(read_full(fds[0], &c, 1, 20000));
	ASSERT_EQ('s', c);

	/* The other tenant does not notice. */
	ASSERT_OK(mgpu_open_vfio(self->b, &devb));
	ASSERT_OK(mgpu_queue_open(devb, 0, 0, 0, &qb));
	ASSERT_OK(mgpu_vram_alloc(devb, 65536, 0, &dst));
	for (i = 0; i < 10; i++) {
		ASSERT_OK(mgpu_fill(qb, dst, 65536, i, 0));
		ASSERT_EQ(0, mgpu_queue_sync(qb, 5000))
			TH_LOG("round %d: a stalled tenant stopped another", i);
	}

	ASSERT_EQ(0, read_full(fds[0], &ms, sizeof(ms), 20000))
		TH_LOG("the stalled tenant's VFIO_DEVICE_RESET did not return");
	EXPECT_GT(5000, ms) TH_LOG("reset took %llu ms",
				   (unsigned long long)ms);
	ASSERT_OK(read_full(fds[0], &c, 1, 20000));
	ASSERT_EQ('k', c);
	ASSERT_OK(mgpu_queue_sync(qb, 5000));

	/* Killed while stuck: reaped, and its instance can go. */
	kill(pid, SIGKILL);
	t0 = now_ms();
	while (now_ms() - t0 < 10000) {
		got = waitpid(pid, &status, WNOHANG);
		if (got)
			break;
		usleep(20 * 1000);
	}
	EXPECT_EQ(pid, got) TH_LOG("a killed VMM was not reaped in 10 s");
	if (got == pid)
		self->pid = 0;
	ASSERT_OK(mgpu_queue_sync(qb, 5000));
	mgpu_close(devb);
	close(fds[0]);
}

MGPU_TEST_HARNESS_MAIN
