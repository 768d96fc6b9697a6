// SPDX-License-Identifier: GPL-2.0
/*
 * One tenant can neither reach another's VRAM nor stop the parent:
 * regression tests for defects a hostile-tenant review found.
 *
 *  - VRAM mapped through BAR2 cannot be pinned (vmsplice, O_DIRECT and
 *    RDMA take page references through get_user_pages()), so no
 *    reference outlives the mapping and reaches the slice's next tenant.
 *  - Every new user of an instance starts from zeroed VRAM, not from
 *    what the previous user (another VM on a persistent mdev) left.
 *  - A parent's scheduling attributes work from the moment they appear
 *    in sysfs to the moment they go (a udev rule writes them on "add").
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_test.h"

#define BAR2_OFFSET	MGPU_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX)

FIXTURE(tenant) {
	struct mgpu_instances inst;
	char uuid[MGPU_UUID_BUF];
	struct mgpu_vfio v;
	uint64_t vram;
};

FIXTURE_SETUP(tenant)
{
	int ret;

	MGPU_REQUIRE_EMPTY_PARENT(MGPU_PARENT);
	if (!mgpu_path_exists("/dev/vfio/vfio"))
		SKIP(return, "no /dev/vfio/vfio (vfio not loaded?)");
	self->inst.n = 0;
	self->v = (struct mgpu_vfio)MGPU_VFIO_INIT;
	ASSERT_OK(mgpu_instances_create(&self->inst, MGPU_PARENT, "mgpu-1_16",
					self->uuid));
	ret = mgpu_instance_u64(self->uuid, "vram_size", &self->vram);
	if (!ret)
		ret = mgpu_vfio_open(&self->v, self->uuid);
	if (ret) {
		mgpu_instances_cleanup(&self->inst);
		ASSERT_OK(ret);
	}
}

FIXTURE_TEARDOWN_PARENT(tenant)
{
	EXPECT_EQ(0, mgpu_instances_cleanup(&self->inst));
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
	*(volatile uint32_t *)map = 0x5ec7e7;
	EXPECT_EQ(4, mgpu_region_read(self->v.device,
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

/* O_DIRECT reads into a BAR2 mapping must not pin it either. */
TEST_F(tenant, vram_no_direct_io)
{
	long page = sysconf(_SC_PAGESIZE);
	char path[] = "/tmp/mgpu-odirect-XXXXXX";
	uint8_t *map;
	void *src;
	int fd;

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign(&src, page, page));
	memset(src, 0x3c, page);
	ASSERT_EQ(page, write(fd, src, page));
	close(fd);
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		/* tmpfs has no O_DIRECT: nothing can pin through it either. */
		unlink(path);
		free(src);
		SKIP(return, "O_DIRECT not supported on /tmp (%s)",
		     strerror(errno));
	}
	map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->v.device, BAR2_OFFSET);
	ASSERT_NE(MAP_FAILED, map);
	errno = 0;
	EXPECT_EQ(-1, pread(fd, map, page, 0))
		TH_LOG("O_DIRECT read into VRAM pinned it");
	close(fd);
	unlink(path);
	munmap(map, page);
	free(src);
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
		  mgpu_region_write(self->v.device, VFIO_PCI_BAR2_REGION_INDEX,
				    self->vram - sizeof(buf), buf,
				    sizeof(buf)));

	/* The next user. */
	mgpu_vfio_close(&self->v);
	ASSERT_OK(mgpu_vfio_open(&self->v, self->uuid));
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		memset(buf, 0xee, sizeof(buf));
		EXPECT_EQ((ssize_t)sizeof(buf),
			  mgpu_region_read(self->v.device,
					   VFIO_PCI_BAR2_REGION_INDEX,
					   offs[i], buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, zero, sizeof(buf)))
			TH_LOG("VRAM at %#llx kept the last user's data",
			       (unsigned long long)offs[i]);
	}
	EXPECT_EQ((ssize_t)sizeof(buf),
		  mgpu_region_read(self->v.device, VFIO_PCI_BAR2_REGION_INDEX,
				   self->vram - sizeof(buf), buf,
				   sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, zero, sizeof(buf)));
	mgpu_vfio_close(&self->v);
}

/* ---- a parent's attributes during its whole life ---- */

static atomic_int race_stop;

/* Write the scheduling attributes of every swgpu but swgpu0, forever. */
static void *race_writer(void *arg)
{
	static const char * const attrs[][2] = {
		{ "sched_policy", "equal_share" },
		{ "time_slice_us", "500" },
		{ "sched_policy", "best_effort" },
	};
	unsigned long n = 0;
	char path[128];
	int id;

	(void)arg;
	while (!atomic_load(&race_stop)) {
		for (id = 1; id < 4; id++) {
			int fd;

			snprintf(path, sizeof(path), "%s/swgpu%d/%s",
				 MGPU_CLASS_DIR, id, attrs[n % 3][0]);
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
 * scheduling attributes: the attributes exist from the device's "add"
 * to its removal and must work (or fail cleanly) during all of it.
 */
TEST(parent_attrs_during_add_remove)
{
	pthread_t t;
	int i;

	if (!mgpu_loaded())
		SKIP(return, "mgpu.ko not loaded");
	atomic_store(&race_stop, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, race_writer, NULL));
	for (i = 0; i < 40; i++) {
		ASSERT_OK(mgpu_add_swgpu("vram=16M queues=16"));
		ASSERT_OK(mgpu_remove_swgpu("swgpu1"));
	}
	atomic_store(&race_stop, 1);
	pthread_join(t, NULL);
	EXPECT_FALSE(mgpu_parent_exists("swgpu1"));
}

TEST_HARNESS_MAIN
