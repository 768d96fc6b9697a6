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
#include "mgpu_harness.h"

/* ---- sysfs ---- */

FIXTURE(create) {
	struct mgpu_test_instances inst;
};

FIXTURE_SETUP(create)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	self->inst.n = 0;
}

FIXTURE_TEARDOWN_PARENT(create)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
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
		EXPECT_ERRNO(EINVAL, mgpu_test_create(mgpu_test_parent, "mgpu-1_16",
						      bad[i]));
	}
	EXPECT_EQ(0, mgpu_test_parent_instances(mgpu_test_parent));
	EXPECT_EQ(16, mgpu_test_available(mgpu_test_parent, "mgpu-1_16"));
	EXPECT_EQ(1, mgpu_test_available(mgpu_test_parent, "mgpu-passthrough"));
}

TEST_F(create, duplicate_uuid)
{
	char uuid[MGPU_UUID_BUF], upper[MGPU_UUID_BUF];
	size_t i;

	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent, "mgpu-1_4",
					     uuid));
	EXPECT_ERRNO(EEXIST, mgpu_test_create(mgpu_test_parent, "mgpu-1_4", uuid));
	EXPECT_ERRNO(EEXIST, mgpu_test_create(mgpu_test_parent, "mgpu-1_16", uuid));
	/* The same UUID in capitals is the same UUID. */
	for (i = 0; i < sizeof(upper); i++)
		upper[i] = toupper((unsigned char)uuid[i]);
	EXPECT_ERRNO(EEXIST, mgpu_test_create(mgpu_test_parent, "mgpu-1_2", upper));
	EXPECT_EQ(1, mgpu_test_parent_instances(mgpu_test_parent));
	EXPECT_EQ(3, mgpu_test_available(mgpu_test_parent, "mgpu-1_4"));
}

TEST_F(create, over_capacity)
{
	char uuid[MGPU_UUID_BUF], buf[256];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent,
						     "mgpu-1_2", uuid));
	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		EXPECT_ERRNO(ENOSPC, mgpu_test_instances_create(&self->inst,
								mgpu_test_parent,
								mgpu_test_types[i].dir,
								uuid));
		EXPECT_FALSE(mgpu_test_instance_exists(uuid));
		ASSERT_LE(0, mgpu_test_parent_read(mgpu_test_parent, "last_error", buf,
						   sizeof(buf)));
		EXPECT_NE(0U, strlen(buf))
			TH_LOG("%s: last_error empty after ENOSPC",
			       mgpu_test_types[i].dir);
	}
	EXPECT_EQ(2, mgpu_test_parent_instances(mgpu_test_parent));
}

TEST_F(create, remove_twice)
{
	char uuid[MGPU_UUID_BUF];

	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent, "mgpu-1_16",
					     uuid));
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, uuid));
	/* The device is gone: so is its remove attribute. */
	EXPECT_ERRNO(ENOENT, mgpu_test_remove(uuid));
}

FIXTURE(swgpu) {
	int nparents;
};

static int count_parents(void)
{
	return __builtin_popcount(mgpu_test_swgpu_set());
}

/* Remove parents a wrongly accepted add_swgpu created (all but slot 0). */
static void remove_extra_parents(void)
{
	char name[32];
	int n;

	for (n = 1; n < MGPU_TEST_SWGPU_SLOTS; n++) {
		mgpu_test_swgpu_name(n, name, sizeof(name));
		if (mgpu_test_parent_exists(name))
			mgpu_test_remove_swgpu(name);
	}
}

FIXTURE_SETUP(swgpu)
{
	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	self->nparents = count_parents();
	ASSERT_EQ(1, self->nparents)
		TH_LOG("expected %s only", mgpu_test_parent);
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
		EXPECT_ERRNO(EINVAL, mgpu_test_add_swgpu(bad[i]));
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
		"0000:00:00.0", "6d67:00:1f.0", "6d67:01:00.0", "6d67:00:00.1",
		"6d67:00:00.", "6d67:00:00.0x", "ffff6d67:00:00.0",
	};
	char name[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_ERRNO(ENODEV, mgpu_test_remove_swgpu(bad[i]));
	/* Slot 1 of the domain in use: no software GPU there either. */
	EXPECT_ERRNO(ENODEV, mgpu_test_remove_swgpu(
		mgpu_test_swgpu_name(1, name, sizeof(name))));
	EXPECT_TRUE(mgpu_test_parent_exists(mgpu_test_parent));
}

/*
 * The parameters writable at runtime refuse a value out of range at the
 * write and keep the old one: a cmd_budget_ms of 0 would stop every
 * tenant's next command.
 */
TEST(runtime_params_range)
{
	static const struct {
		const char *name, *bad[4], *good;
	} params[] = {
		{ "cmd_budget_ms", { "0", "3600001", "-1", "5s" }, "3600000" },
		{ "gemm_simd", { "4", "-1", "99", "avx2" }, "3" },
	};
	char path[128], old[32], now[32];
	size_t i, j;
	int ret;

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	for (i = 0; i < ARRAY_SIZE(params); i++) {
		snprintf(path, sizeof(path), "/sys/module/mgpu/parameters/%s",
			 params[i].name);
		ASSERT_LE(0, mgpu_test_read_attr(path, old, sizeof(old)));
		for (j = 0; j < ARRAY_SIZE(params[i].bad); j++) {
			ret = mgpu_test_write_attr(path, params[i].bad[j]);
			EXPECT_EQ(-EINVAL, ret)
				TH_LOG("%s=\"%s\": %s", params[i].name,
				       params[i].bad[j], strerror(-ret));
			ASSERT_LE(0, mgpu_test_read_attr(path, now, sizeof(now)));
			EXPECT_STREQ(old, now);
		}
		EXPECT_OK(mgpu_test_write_attr(path, params[i].good));
		ASSERT_LE(0, mgpu_test_read_attr(path, now, sizeof(now)));
		EXPECT_STREQ(params[i].good, now);
		EXPECT_OK(mgpu_test_write_attr(path, old));
	}
}

/* ---- VFIO ---- */

FIXTURE(vfio) {
	struct mgpu_test_instances inst;
	char uuid[MGPU_UUID_BUF];
	struct mgpu_test_vfio v;
	int dev;
	uint64_t vram;
};

FIXTURE_SETUP(vfio)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	MGPU_REQUIRE_VFIO();
	self->inst.n = 0;
	ASSERT_OK(mgpu_test_instance_open(&self->inst, mgpu_test_parent,
					  "mgpu-1_16", self->uuid, &self->vram,
					  &self->v));
	self->dev = self->v.device;
}

FIXTURE_TEARDOWN_PARENT(vfio)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
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
		EXPECT_ERRNO(EINVAL, mgpu_test_region_read(self->dev, bad[i].index,
							   bad[i].off, buf,
							   bad[i].len));
		EXPECT_ERRNO(EINVAL, mgpu_test_region_write(self->dev, bad[i].index,
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
	EXPECT_EQ(8, mgpu_test_region_read(self->dev, VFIO_PCI_BAR2_REGION_INDEX,
					   self->vram - 8, buf, 8));
	EXPECT_EQ(4, mgpu_test_region_read(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   4092, buf, 4));
	EXPECT_EQ(4, mgpu_test_region_read(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
					   MGPU_REGS_SIZE - 4, buf, 4));
}

/*
 * BAR0 answers accesses of every width and alignment, as a VMM forwards
 * them: a narrow read returns the bytes it addresses; a narrow write
 * merges into a plain register, writes zeroes to the other bytes of a
 * write-one-to-clear register, and is ignored by a doorbell.
 */
TEST_F(vfio, bar0_narrow_access)
{
	static const uint8_t magic[4] = { 'M', 'G', 'P', 'U' };
	uint32_t scratch, val;
	uint8_t buf[8];
	unsigned int i, len;

	/* Every width at every offset of MAGIC reads its bytes. */
	for (i = 0; i < 4; i++) {
		for (len = 1; i + len <= 4; len++) {
			memset(buf, 0xee, sizeof(buf));
			EXPECT_EQ((ssize_t)len,
				  mgpu_test_region_read(self->dev,
						   VFIO_PCI_BAR0_REGION_INDEX,
						   MGPU_REG_MAGIC + i, buf,
						   len));
			EXPECT_EQ(0, memcmp(buf, magic + i, len))
				TH_LOG("MAGIC offset %u len %u", i, len);
		}
	}
	/* An 8-byte read spans two registers. */
	EXPECT_EQ(8, mgpu_test_region_read(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				      MGPU_REG_MAGIC, buf, 8));
	memcpy(&val, buf + 4, 4);
	EXPECT_EQ(MGPU_VERSION, val);

	/* Narrow writes merge into SCRATCH, at any offset. */
	ASSERT_OK(mgpu_test_bar0_write(self->dev, MGPU_REG_SCRATCH, 0xa5a5a5a5));
	buf[0] = 0x11;
	EXPECT_EQ(1, mgpu_test_region_write(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				       MGPU_REG_SCRATCH + 3, buf, 1));
	buf[0] = 0x22;
	buf[1] = 0x33;
	EXPECT_EQ(2, mgpu_test_region_write(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				       MGPU_REG_SCRATCH + 1, buf, 2));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_SCRATCH, &scratch));
	EXPECT_EQ(0x113322a5U, scratch);

	/* A write straddling two registers changes both halves. */
	memset(buf, 0x44, 4);
	EXPECT_EQ(4, mgpu_test_region_write(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				       MGPU_REG_SCRATCH + 2, buf, 4));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_SCRATCH, &scratch));
	EXPECT_EQ(0x444422a5U, scratch);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_FRACTION, &val));
	EXPECT_EQ(16U, val);	/* read-only: the write was ignored */

	/* A narrow doorbell is ignored: the queue is not even enabled. */
	memset(buf, 0x01, 2);
	EXPECT_EQ(2, mgpu_test_region_write(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				       MGPU_REG_QUEUE(0) + MGPU_Q_TAIL, buf,
				       2));
	EXPECT_EQ(2, mgpu_test_region_write(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				       MGPU_REG_QUEUE(0) + MGPU_Q_CTRL, buf,
				       2));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_QUEUE(0) + MGPU_Q_CTRL,
				 &val));
	EXPECT_EQ(0U, val);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_QUEUE(0) + MGPU_Q_TAIL,
				 &val));
	EXPECT_EQ(0U, val);

	/* Narrow INT_STATUS writes clear nothing but the bits written. */
	buf[0] = 0xff;
	EXPECT_EQ(1, mgpu_test_region_write(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				       MGPU_REG_INT_STATUS + 1, buf, 1));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_INT_STATUS, &val));
	EXPECT_EQ(0U, val);
}

/*
 * SET_IRQS with count 0 and DATA_BOOL or DATA_EVENTFD carries no data:
 * it must be refused, for every index and action, before anything reads
 * the data.  (It dereferenced NULL with the vGPU's lock held, and the
 * next close hung.)  Count 2 names a vector that does not exist.
 */
TEST_F(vfio, set_irqs_bad_count)
{
	static const uint32_t dtypes[] = {
		VFIO_IRQ_SET_DATA_BOOL, VFIO_IRQ_SET_DATA_EVENTFD,
	};
	static const uint32_t actions[] = {
		VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_ACTION_MASK,
		VFIO_IRQ_SET_ACTION_UNMASK,
	};
	struct {
		struct vfio_irq_set hdr;
		int32_t data[2];
	} set;
	unsigned int index, a, d, count;
	uint32_t magic;

	for (index = 0; index < VFIO_PCI_NUM_IRQS; index++) {
		for (a = 0; a < ARRAY_SIZE(actions); a++) {
			for (d = 0; d < ARRAY_SIZE(dtypes); d++) {
				for (count = 0; count <= 2; count += 2) {
					memset(&set, 0, sizeof(set));
					set.hdr.argsz = sizeof(set);
					set.hdr.flags = dtypes[d] | actions[a];
					set.hdr.index = index;
					set.hdr.count = count;
					set.data[0] = -1;
					set.data[1] = -1;
					errno = 0;
					EXPECT_EQ(-1, ioctl(self->dev,
							    VFIO_DEVICE_SET_IRQS,
							    &set))
						TH_LOG("index %u flags %#x count %u accepted",
						       index, set.hdr.flags, count);
					EXPECT_EQ(EINVAL, errno);
				}
			}
		}
	}
	/* The device still answers, and a valid disable still works. */
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_MAGIC, &magic));
	EXPECT_EQ(MGPU_MAGIC, magic);
	memset(&set, 0, sizeof(set));
	set.hdr.argsz = sizeof(set.hdr);
	set.hdr.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	set.hdr.index = VFIO_PCI_MSI_IRQ_INDEX;
	EXPECT_EQ(0, ioctl(self->dev, VFIO_DEVICE_SET_IRQS, &set));
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

MGPU_TEST_HARNESS_MAIN
