// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu rejects bad input with a clear errno: sysfs writes (UUIDs,
 * capacity, add_swgpu/remove_swgpu) and VFIO accesses (region bounds,
 * BAR0 access sizes, mmap, ioctls).
 */
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_test.h"

/* ---- sysfs ---- */

FIXTURE(create) {
	struct mgpu_instances inst;
};

FIXTURE_SETUP(create)
{
	MGPU_REQUIRE_EMPTY_PARENT(MGPU_PARENT);
	self->inst.n = 0;
}

FIXTURE_TEARDOWN_PARENT(create)
{
	EXPECT_EQ(0, mgpu_instances_cleanup(&self->inst));
}

TEST_F(create, malformed_uuid)
{
	static const char * const bad[] = {
		"0",
		"not-a-uuid",
		"not-a-uuid-but-exactly-36-chars-xxx",
		"d4a2b6e0-6f6b-4a4e-9a3b-2c1d0e9f8a7",		/* 35 */
		"d4a2b6e0-6f6b-4a4e-9a3b-2c1d0e9f8a7b00",	/* 38 */
		"d4a2b6e06f6b4a4e9a3b2c1d0e9f8a7b",		/* no dashes */
		"d4a2b6e06-f6b-4a4e-9a3b-2c1d0e9f8a7b",		/* dash moved */
		"d4a2b6e0-6f6b-4a4e-9a3b-2c1d0e9f8a7g",		/* not hex */
		"{4a2b6e0-6f6b-4a4e-9a3b-2c1d0e9f8a7}",
		" d4a2b6e0-6f6b-4a4e-9a3b-2c1d0e9f8a7",
		"d4a2b6e0_6f6b_4a4e_9a3b_2c1d0e9f8a7b",
		"\n",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_ERRNO(EINVAL, mgpu_create(MGPU_PARENT, "mgpu-1_16",
						 bad[i]));
	}
	EXPECT_EQ(0, mgpu_parent_instances(MGPU_PARENT));
	EXPECT_EQ(16, mgpu_available(MGPU_PARENT, "mgpu-1_16"));
	EXPECT_EQ(1, mgpu_available(MGPU_PARENT, "mgpu-passthrough"));
}

TEST_F(create, duplicate_uuid)
{
	char uuid[MGPU_UUID_BUF], upper[MGPU_UUID_BUF];
	size_t i;

	ASSERT_OK(mgpu_instances_create(&self->inst, MGPU_PARENT, "mgpu-1_4",
					uuid));
	EXPECT_ERRNO(EEXIST, mgpu_create(MGPU_PARENT, "mgpu-1_4", uuid));
	EXPECT_ERRNO(EEXIST, mgpu_create(MGPU_PARENT, "mgpu-1_16", uuid));
	/* The same UUID in capitals is the same UUID. */
	for (i = 0; i < sizeof(upper); i++)
		upper[i] = toupper((unsigned char)uuid[i]);
	EXPECT_ERRNO(EEXIST, mgpu_create(MGPU_PARENT, "mgpu-1_2", upper));
	EXPECT_EQ(1, mgpu_parent_instances(MGPU_PARENT));
	EXPECT_EQ(3, mgpu_available(MGPU_PARENT, "mgpu-1_4"));
}

TEST_F(create, over_capacity)
{
	char uuid[MGPU_UUID_BUF], buf[256];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_OK(mgpu_instances_create(&self->inst, MGPU_PARENT,
						"mgpu-1_2", uuid));
	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		EXPECT_ERRNO(ENOSPC, mgpu_instances_create(&self->inst,
							   MGPU_PARENT,
							   mgpu_types[i].dir,
							   uuid));
		EXPECT_FALSE(mgpu_instance_exists(uuid));
		ASSERT_LE(0, mgpu_parent_read(MGPU_PARENT, "last_error", buf,
					      sizeof(buf)));
		EXPECT_NE(0U, strlen(buf))
			TH_LOG("%s: last_error empty after ENOSPC",
			       mgpu_types[i].dir);
	}
	EXPECT_EQ(2, mgpu_parent_instances(MGPU_PARENT));
}

TEST_F(create, remove_twice)
{
	char uuid[MGPU_UUID_BUF];

	ASSERT_OK(mgpu_instances_create(&self->inst, MGPU_PARENT, "mgpu-1_16",
					uuid));
	ASSERT_OK(mgpu_instances_remove(&self->inst, uuid));
	/* The device is gone: so is its remove attribute. */
	EXPECT_ERRNO(ENOENT, mgpu_remove(uuid));
}

FIXTURE(swgpu) {
	int nparents;
};

static int count_parents(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(MGPU_CLASS_DIR);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, "swgpu", 5);
	closedir(d);
	return n;
}

/* Remove parents a wrongly accepted add_swgpu created (all but swgpu0). */
static void remove_extra_parents(void)
{
	char name[32];
	int n;

	for (n = 1; n < 64; n++) {
		snprintf(name, sizeof(name), "swgpu%d", n);
		if (mgpu_parent_exists(name))
			mgpu_remove_swgpu(name);
	}
}

FIXTURE_SETUP(swgpu)
{
	if (!mgpu_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	self->nparents = count_parents();
	ASSERT_EQ(1, self->nparents)
		TH_LOG("expected %s only", MGPU_PARENT);
}

FIXTURE_TEARDOWN_PARENT(swgpu)
{
	if (count_parents() != self->nparents)
		remove_extra_parents();
}

TEST_F(swgpu, add_bad_spec)
{
	static const char * const bad[] = {
		"vram=",
		"vram=63M queues=16",		/* not a power of two */
		"vram=8M queues=16",		/* below 16M */
		"vram=0 queues=16",
		"vram=64M queues=8",		/* below 16 */
		"vram=64M queues=512",		/* above 256 */
		"vram=64M queues=24",		/* not a power of two */
		"vram=64M queues=0",
		"vram=64M queues=-16",
		"vram=-64M queues=16",
		"vram=64X queues=16",
		"vram=64MM queues=16",
		"vram=99999999999999999999999 queues=16",
		"vram=64M queues=16 colour=blue",
		"vram=64M,queues=16",
		"bogus",
		"vram 64M",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_ERRNO(EINVAL, mgpu_add_swgpu(bad[i]));
		EXPECT_EQ(self->nparents, count_parents())
			TH_LOG("'%s' created a parent", bad[i]);
		if (count_parents() != self->nparents)
			remove_extra_parents();
	}
}

TEST_F(swgpu, remove_unknown)
{
	static const char * const bad[] = {
		"swgpu1", "swgpu99", "swgpu", "gpu0", "swgpu0x", "bogus",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_ERRNO(ENODEV, mgpu_remove_swgpu(bad[i]));
	EXPECT_TRUE(mgpu_parent_exists(MGPU_PARENT));
}

/* ---- VFIO ---- */

FIXTURE(vfio) {
	struct mgpu_instances inst;
	char uuid[MGPU_UUID_BUF];
	struct mgpu_vfio v;
	int dev;
	uint64_t vram;
};

FIXTURE_SETUP(vfio)
{
	int ret;

	MGPU_REQUIRE_EMPTY_PARENT(MGPU_PARENT);
	if (!mgpu_path_exists("/dev/vfio/vfio"))
		SKIP(return, "no /dev/vfio/vfio (vfio not loaded?)");
	self->inst.n = 0;
	ASSERT_OK(mgpu_instances_create(&self->inst, MGPU_PARENT, "mgpu-1_16",
					self->uuid));
	ret = mgpu_instance_u64(self->uuid, "vram_size", &self->vram);
	if (!ret)
		ret = mgpu_vfio_open(&self->v, self->uuid);
	if (ret) {
		mgpu_instances_cleanup(&self->inst);
		ASSERT_OK(ret);
	}
	self->dev = self->v.device;
}

FIXTURE_TEARDOWN_PARENT(vfio)
{
	EXPECT_EQ(0, mgpu_instances_cleanup(&self->inst));
}

/* Every access starting or ending outside its region: -1/EINVAL. */
TEST_F(vfio, region_bounds)
{
	const struct {
		unsigned int index;
		uint64_t off;
		size_t len;
	} bad[] = {
		{ VFIO_PCI_BAR0_REGION_INDEX, MGPU_REGS_SIZE, 4 },
		{ VFIO_PCI_BAR0_REGION_INDEX, MGPU_REGS_SIZE - 4, 8 },
		{ VFIO_PCI_BAR0_REGION_INDEX, 1ULL << 39, 4 },
		{ VFIO_PCI_BAR2_REGION_INDEX, self->vram, 8 },
		{ VFIO_PCI_BAR2_REGION_INDEX, self->vram - 4, 8 },
		{ VFIO_PCI_BAR2_REGION_INDEX, self->vram - 1, 2 },
		{ VFIO_PCI_BAR2_REGION_INDEX, self->vram + 4096, 4 },
		{ VFIO_PCI_CONFIG_REGION_INDEX, 4096, 4 },
		{ VFIO_PCI_CONFIG_REGION_INDEX, 4094, 4 },
		{ VFIO_PCI_CONFIG_REGION_INDEX, 0, 4097 },
		{ VFIO_PCI_BAR1_REGION_INDEX, 0, 4 },	/* size 0 */
		{ VFIO_PCI_BAR5_REGION_INDEX, 0, 4 },
		{ VFIO_PCI_ROM_REGION_INDEX, 0, 4 },
		{ VFIO_PCI_VGA_REGION_INDEX, 0, 4 },
		{ VFIO_PCI_NUM_REGIONS, 0, 4 },
		{ 0xff, 0, 4 },
		{ 0xffffff, 0, 4 },
	};
	uint8_t buf[8192];
	size_t i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_ERRNO(EINVAL, mgpu_region_read(self->dev, bad[i].index,
						      bad[i].off, buf,
						      bad[i].len));
		EXPECT_ERRNO(EINVAL, mgpu_region_write(self->dev, bad[i].index,
						       bad[i].off, buf,
						       bad[i].len));
		if (_metadata->exit_code)
			TH_LOG("case %zu: region %u offset %#llx len %zu", i,
			       bad[i].index, (unsigned long long)bad[i].off,
			       bad[i].len);
		if (_metadata->exit_code)
			break;
	}
	/* The last bytes themselves are fine. */
	EXPECT_EQ(8, mgpu_region_read(self->dev, VFIO_PCI_BAR2_REGION_INDEX,
				      self->vram - 8, buf, 8));
	EXPECT_EQ(4, mgpu_region_read(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
				      4092, buf, 4));
	EXPECT_EQ(4, mgpu_region_read(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				      MGPU_REGS_SIZE - 4, buf, 4));
}

/* BAR0 takes naturally aligned 32-bit accesses only. */
TEST_F(vfio, bar0_access_size)
{
	static const struct {
		uint64_t off;
		size_t len;
	} bad[] = {
		{ MGPU_REG_MAGIC, 1 }, { MGPU_REG_MAGIC, 2 },
		{ MGPU_REG_MAGIC, 3 }, { MGPU_REG_MAGIC + 1, 4 },
		{ MGPU_REG_MAGIC + 2, 4 }, { MGPU_REG_SCRATCH + 3, 1 },
		{ MGPU_REG_SCRATCH + 2, 2 }, { MGPU_REG_MAGIC, 6 },
		{ MGPU_REG_MAGIC + 2, 8 },
	};
	uint32_t val = 0x11111111, scratch;
	uint8_t buf[8];
	size_t i;

	ASSERT_OK(mgpu_bar0_write(self->dev, MGPU_REG_SCRATCH, 0xa5a5a5a5));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0x11, sizeof(buf));
		EXPECT_ERRNO(EINVAL, mgpu_region_read(self->dev,
						      VFIO_PCI_BAR0_REGION_INDEX,
						      bad[i].off, buf,
						      bad[i].len));
		EXPECT_ERRNO(EINVAL, mgpu_region_write(self->dev,
						       VFIO_PCI_BAR0_REGION_INDEX,
						       bad[i].off, buf,
						       bad[i].len));
		if (_metadata->exit_code) {
			TH_LOG("case %zu: offset %#llx len %zu", i,
			       (unsigned long long)bad[i].off, bad[i].len);
			break;
		}
	}
	/* Nothing of the rejected writes landed. */
	ASSERT_OK(mgpu_bar0_read(self->dev, MGPU_REG_SCRATCH, &scratch));
	EXPECT_EQ(0xa5a5a5a5, scratch);
	(void)val;
}

TEST_F(vfio, mmap_rejected)
{
	const off_t bar2 = MGPU_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX);
	const long page = sysconf(_SC_PAGESIZE);
	const struct {
		const char *what;
		size_t len;
		int prot, flags;
		off_t off;
	} bad[] = {
		{ "private", page, PROT_READ | PROT_WRITE, MAP_PRIVATE, bar2 },
		{ "past the end", self->vram + page, PROT_READ, MAP_SHARED,
		  bar2 },
		{ "straddling the end", 2 * page, PROT_READ, MAP_SHARED,
		  bar2 + self->vram - page },
		{ "offset past the end", page, PROT_READ, MAP_SHARED,
		  bar2 + self->vram },
		{ "BAR0", page, PROT_READ, MAP_SHARED,
		  MGPU_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX) },
		{ "config", page, PROT_READ, MAP_SHARED,
		  MGPU_REGION_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX) },
		{ "BAR1", page, PROT_READ, MAP_SHARED,
		  MGPU_REGION_OFFSET(VFIO_PCI_BAR1_REGION_INDEX) },
		{ "bad index", page, PROT_READ, MAP_SHARED,
		  MGPU_REGION_OFFSET(VFIO_PCI_NUM_REGIONS) },
		{ "executable", page, PROT_READ | PROT_EXEC, MAP_SHARED, bar2 },
	};
	size_t i;
	void *p;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		p = mmap(NULL, bad[i].len, bad[i].prot, bad[i].flags,
			 self->dev, bad[i].off);
		EXPECT_EQ(MAP_FAILED, p) TH_LOG("mmap %s succeeded", bad[i].what);
		if (p != MAP_FAILED) {
			munmap(p, bad[i].len);
			continue;
		}
		/*
		 * PROT_EXEC: newer kernels (7.2) refuse it in the mm core with
		 * EPERM before the driver is asked: the VFIO device file is
		 * an anonymous inode, and those now sit on a noexec mount.
		 */
		if ((bad[i].prot & PROT_EXEC) && errno == EPERM)
			continue;
		EXPECT_EQ(EINVAL, errno)
			TH_LOG("mmap %s: %s, expected EINVAL", bad[i].what,
			       strerror(errno));
	}
	/* The whole BAR, shared, is fine. */
	p = mmap(NULL, self->vram, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->dev, bar2);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap BAR2: %s", strerror(errno));
	munmap(p, self->vram);
}

TEST_F(vfio, unknown_ioctl)
{
	const unsigned long cmds[] = {
		_IO(VFIO_TYPE, VFIO_BASE + 60),
		_IO(VFIO_TYPE, VFIO_BASE + 99),
		_IOWR('M', 0x42, uint64_t),
	};
	uint64_t arg[64] = { 0 };
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		ret = ioctl(self->dev, cmds[i], arg);
		EXPECT_EQ(-1, ret) TH_LOG("ioctl %#lx succeeded", cmds[i]);
		EXPECT_TRUE(errno == ENOTTY || errno == EINVAL)
			TH_LOG("ioctl %#lx: %s", cmds[i], strerror(errno));
	}
}

/* Bad argsz and a bad SET_IRQS are refused too. */
TEST_F(vfio, bad_ioctl_args)
{
	struct vfio_region_info ri = { .argsz = 4, .index = 0 };
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_NUM_IRQS + 3,
		.count = 1,
	};

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_GET_REGION_INFO, &ri));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->dev, VFIO_DEVICE_SET_IRQS, &set));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
