// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu through VFIO: device and region info, IRQs, emulated config
 * space, BAR0 registers, BAR2 (VRAM) mapping, reset.  Every test runs
 * once per vGPU type.
 */
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"

/* VRAM is sampled, not scanned: TCG is slow.  One word every STRIDE. */
#define STRIDE		(64 * 1024)

static uint64_t pattern(uint64_t off, uint64_t salt)
{
	return (off * 0x9e3779b97f4a7c15ULL) ^ salt;
}

FIXTURE(vfio) {
	struct mgpu_test_instances inst;
	char uuid[MGPU_UUID_BUF];
	struct mgpu_test_vfio v;
	int dev;
	uint64_t vram;		/* instance VRAM, from sysfs */
	uint64_t queues;
};

FIXTURE_VARIANT(vfio) {
	int idx;	/* into mgpu_test_types[] */
};

FIXTURE_VARIANT_ADD(vfio, passthrough) { .idx = 0 };
FIXTURE_VARIANT_ADD(vfio, half) { .idx = 1 };
FIXTURE_VARIANT_ADD(vfio, quarter) { .idx = 2 };
FIXTURE_VARIANT_ADD(vfio, eighth) { .idx = 3 };
FIXTURE_VARIANT_ADD(vfio, sixteenth) { .idx = 4 };

FIXTURE_SETUP(vfio)
{
	const struct mgpu_test_type *t = &mgpu_test_types[variant->idx];

	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	MGPU_REQUIRE_VFIO();
	self->inst.n = 0;
	ASSERT_OK(mgpu_test_instance_open(&self->inst, mgpu_test_parent,
					  t->dir, self->uuid, &self->vram,
					  &self->v));
	self->dev = self->v.device;
	ASSERT_OK(mgpu_test_instance_u64(self->uuid, "queues", &self->queues));
}

/*
 * In the harness parent, after the test child is gone: its VFIO fds are
 * closed by then, so the removal cannot wait on them.
 */
FIXTURE_TEARDOWN_PARENT(vfio)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

TEST_F(vfio, device_info)
{
	struct vfio_device_info info;

	ASSERT_OK(mgpu_test_device_info(self->dev, &info));
	EXPECT_TRUE(!!(info.flags & VFIO_DEVICE_FLAGS_PCI));
	EXPECT_TRUE(!!(info.flags & VFIO_DEVICE_FLAGS_RESET));
	EXPECT_EQ((__u32)VFIO_PCI_NUM_REGIONS, info.num_regions);
	EXPECT_EQ((__u32)VFIO_PCI_NUM_IRQS, info.num_irqs);
}

TEST_F(vfio, regions)
{
	struct vfio_region_info ri;
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_REGIONS; i++) {
		uint64_t size = 0;
		uint32_t flags = 0;

		switch (i) {
		case VFIO_PCI_BAR0_REGION_INDEX:
			size = MGPU_REGS_SIZE;
			flags = VFIO_REGION_INFO_FLAG_READ |
				VFIO_REGION_INFO_FLAG_WRITE;
			break;
		case VFIO_PCI_BAR2_REGION_INDEX:
			size = self->vram;
			flags = VFIO_REGION_INFO_FLAG_READ |
				VFIO_REGION_INFO_FLAG_WRITE |
				VFIO_REGION_INFO_FLAG_MMAP;
			break;
		case VFIO_PCI_CONFIG_REGION_INDEX:
			size = 4096;
			flags = VFIO_REGION_INFO_FLAG_READ |
				VFIO_REGION_INFO_FLAG_WRITE;
			break;
		}
		ASSERT_OK(mgpu_test_region_info(self->dev, i, &ri));
		EXPECT_EQ(i, ri.index);
		EXPECT_EQ(size, ri.size) TH_LOG("region %u size", i);
		if (size) {
			EXPECT_EQ(MGPU_REGION_OFFSET(i), ri.offset)
				TH_LOG("region %u offset", i);
			EXPECT_EQ(flags, ri.flags & (VFIO_REGION_INFO_FLAG_READ |
						     VFIO_REGION_INFO_FLAG_WRITE |
						     VFIO_REGION_INFO_FLAG_MMAP))
				TH_LOG("region %u flags %#x", i, ri.flags);
		}
	}
	EXPECT_ERRNO(EINVAL, mgpu_test_region_info(self->dev, VFIO_PCI_NUM_REGIONS,
						   &ri));
	EXPECT_ERRNO(EINVAL, mgpu_test_region_info(self->dev, 100, &ri));
	EXPECT_ERRNO(EINVAL, mgpu_test_region_info(self->dev, ~0U, &ri));
}

TEST_F(vfio, irqs)
{
	static const struct {
		uint32_t count, flags;
	} want[VFIO_PCI_NUM_IRQS] = {
		[VFIO_PCI_INTX_IRQ_INDEX] = { 1, VFIO_IRQ_INFO_EVENTFD |
						 VFIO_IRQ_INFO_MASKABLE |
						 VFIO_IRQ_INFO_AUTOMASKED },
		[VFIO_PCI_MSI_IRQ_INDEX] = { 1, VFIO_IRQ_INFO_EVENTFD |
						VFIO_IRQ_INFO_NORESIZE },
		[VFIO_PCI_MSIX_IRQ_INDEX] = { 0, 0 },
		/* accepted for QEMU's error recovery, never signalled */
		[VFIO_PCI_ERR_IRQ_INDEX] = { 1, VFIO_IRQ_INFO_EVENTFD },
		[VFIO_PCI_REQ_IRQ_INDEX] = { 1, VFIO_IRQ_INFO_EVENTFD },
	};
	struct vfio_irq_info ii;
	unsigned int i;

	for (i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		ASSERT_OK(mgpu_test_irq_info(self->dev, i, &ii));
		EXPECT_EQ(want[i].count, ii.count) TH_LOG("irq index %u", i);
		if (want[i].count) {
			EXPECT_EQ(want[i].flags, ii.flags & want[i].flags)
				TH_LOG("irq index %u flags %#x", i, ii.flags);
		}
	}
	EXPECT_ERRNO(EINVAL, mgpu_test_irq_info(self->dev, VFIO_PCI_NUM_IRQS, &ii));
	EXPECT_ERRNO(EINVAL, mgpu_test_irq_info(self->dev, 1000, &ii));

	/* A request eventfd can be registered, and unregistered. */
	{
		int efd = eventfd(0, EFD_CLOEXEC);

		ASSERT_LE(0, efd);
		EXPECT_OK(mgpu_test_set_req_eventfd(self->dev, efd));
		EXPECT_OK(mgpu_test_set_req_eventfd(self->dev, -1));
		close(efd);
	}
}

TEST_F(vfio, config_ids)
{
	const struct mgpu_test_type *t = &mgpu_test_types[variant->idx];
	uint8_t cfg[4096];
	uint32_t off;

	EXPECT_EQ(MGPU_PCI_VENDOR_ID, mgpu_test_cfg_read16(self->dev, PCI_VENDOR_ID));
	EXPECT_EQ(MGPU_PCI_DEVICE_ID, mgpu_test_cfg_read16(self->dev, PCI_DEVICE_ID));
	EXPECT_EQ(MGPU_PCI_REVISION,
		  mgpu_test_cfg_read8(self->dev, PCI_REVISION_ID));
	EXPECT_EQ(0x030200U,
		  mgpu_test_cfg_read32(self->dev, PCI_CLASS_REVISION) >> 8);
	EXPECT_EQ(PCI_HEADER_TYPE_NORMAL,
		  mgpu_test_cfg_read8(self->dev, PCI_HEADER_TYPE));
	EXPECT_EQ(MGPU_PCI_SUBSYS_VENDOR_ID,
		  mgpu_test_cfg_read16(self->dev, PCI_SUBSYSTEM_VENDOR_ID));
	EXPECT_EQ(MGPU_PCI_SUBSYS_BASE + t->log2,
		  mgpu_test_cfg_read16(self->dev, PCI_SUBSYSTEM_ID));
	EXPECT_EQ(1, mgpu_test_cfg_read8(self->dev, PCI_INTERRUPT_PIN));

	/* One big read sees what the small ones saw. */
	memset(cfg, 0xa5, sizeof(cfg));
	ASSERT_EQ(256, mgpu_test_region_read(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					     0, cfg, 256));
	EXPECT_EQ(MGPU_PCI_VENDOR_ID, cfg[0] | cfg[1] << 8);
	EXPECT_EQ(MGPU_PCI_DEVICE_ID, cfg[2] | cfg[3] << 8);
	EXPECT_EQ(0x40, cfg[PCI_CAPABILITY_LIST]);
	memset(cfg, 0xa5, sizeof(cfg));
	ASSERT_EQ(4096, mgpu_test_region_read(self->dev,
					      VFIO_PCI_CONFIG_REGION_INDEX, 0, cfg,
					      4096));
	EXPECT_EQ(MGPU_PCI_VENDOR_ID, cfg[0] | cfg[1] << 8);
	for (off = 0x100; off < 4096; off++) {
		if (cfg[off]) {
			EXPECT_EQ(0, cfg[off])
				TH_LOG("extended config byte %#x", off);
			break;
		}
	}
	/* Unaligned and odd-sized accesses work too. */
	EXPECT_EQ(MGPU_PCI_VENDOR_ID >> 8, mgpu_test_cfg_read8(self->dev, 1));
	ASSERT_EQ(3, mgpu_test_region_read(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					   1, cfg, 3));
	EXPECT_EQ(MGPU_PCI_VENDOR_ID >> 8, cfg[0]);
	EXPECT_EQ(MGPU_PCI_DEVICE_ID, cfg[1] | cfg[2] << 8);
}

TEST_F(vfio, config_read_only)
{
	static const struct {
		uint32_t off, size;
	} ro[] = {
		{ PCI_VENDOR_ID, 2 }, { PCI_DEVICE_ID, 2 },
		{ PCI_REVISION_ID, 1 }, { PCI_CLASS_PROG, 1 },
		{ PCI_CLASS_DEVICE, 2 }, { PCI_HEADER_TYPE, 1 },
		{ PCI_SUBSYSTEM_VENDOR_ID, 2 }, { PCI_SUBSYSTEM_ID, 2 },
		{ PCI_CAPABILITY_LIST, 1 }, { PCI_INTERRUPT_PIN, 1 },
		{ PCI_VENDOR_ID, 4 }, { PCI_CLASS_REVISION, 4 },
		{ PCI_SUBSYSTEM_VENDOR_ID, 4 },
	};
	uint8_t before[256], after[256];
	uint32_t ones = 0xffffffff, zero = 0;
	size_t i;

	ASSERT_EQ(256, mgpu_test_region_read(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					     0, before, 256));
	for (i = 0; i < ARRAY_SIZE(ro); i++) {
		/* Writes are accepted (and ignored), like on hardware. */
		EXPECT_OK(mgpu_test_cfg_write(self->dev, ro[i].off, &ones, ro[i].size));
		EXPECT_OK(mgpu_test_cfg_write(self->dev, ro[i].off, &zero, ro[i].size));
	}
	ASSERT_EQ(256, mgpu_test_region_read(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
					     0, after, 256));
	for (i = 0; i < ARRAY_SIZE(ro); i++) {
		EXPECT_EQ(0, memcmp(before + ro[i].off, after + ro[i].off,
				    ro[i].size))
			TH_LOG("read-only field at %#x (%u bytes) changed",
			       ro[i].off, ro[i].size);
	}
}

TEST_F(vfio, config_command_status)
{
	const uint16_t rw = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			    PCI_COMMAND_SERR | PCI_COMMAND_PARITY |
			    PCI_COMMAND_INTX_DISABLE;
	const uint16_t rw1c = PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
			      PCI_STATUS_REC_TARGET_ABORT |
			      PCI_STATUS_REC_MASTER_ABORT |
			      PCI_STATUS_SIG_SYSTEM_ERROR |
			      PCI_STATUS_DETECTED_PARITY;
	uint16_t cmd, status;

	mgpu_test_cfg_write16(self->dev, PCI_COMMAND, rw | PCI_COMMAND_IO);
	cmd = mgpu_test_cfg_read16(self->dev, PCI_COMMAND);
	EXPECT_EQ(rw, cmd & rw);
	EXPECT_EQ(0, cmd & PCI_COMMAND_IO);
	mgpu_test_cfg_write16(self->dev, PCI_COMMAND, 0);
	EXPECT_EQ(0, mgpu_test_cfg_read16(self->dev, PCI_COMMAND) & rw);
	/* A byte write reaches the low byte only. */
	mgpu_test_cfg_write8(self->dev, PCI_COMMAND, PCI_COMMAND_MEMORY);
	EXPECT_EQ(PCI_COMMAND_MEMORY,
		  mgpu_test_cfg_read16(self->dev, PCI_COMMAND) & rw);

	mgpu_test_cfg_write16(self->dev, PCI_STATUS, 0);
	status = mgpu_test_cfg_read16(self->dev, PCI_STATUS);
	EXPECT_TRUE(!!(status & PCI_STATUS_CAP_LIST));
	mgpu_test_cfg_write16(self->dev, PCI_STATUS, 0xffff);
	status = mgpu_test_cfg_read16(self->dev, PCI_STATUS);
	EXPECT_TRUE(!!(status & PCI_STATUS_CAP_LIST));
	EXPECT_EQ(0, status & rw1c) TH_LOG("status %#x", status);
	/* Through a 32-bit write of command + status as well. */
	mgpu_test_cfg_write32(self->dev, PCI_COMMAND, 0xffff0000 | rw);
	status = mgpu_test_cfg_read16(self->dev, PCI_STATUS);
	EXPECT_EQ(0, status & rw1c) TH_LOG("status %#x", status);
	EXPECT_EQ(rw, mgpu_test_cfg_read16(self->dev, PCI_COMMAND) & rw);
}

TEST_F(vfio, config_bar_sizing)
{
	uint32_t want_lo;
	int bar;

	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_0, 0xffffffff);
	EXPECT_EQ(0xffff0000, mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_0));
	/* An address reads back. */
	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_0, 0xfebf0000);
	EXPECT_EQ(0xfebf0000, mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_0));

	want_lo = ((uint32_t)~(self->vram - 1) & 0xfffffff0) |
		  PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH;
	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_2, 0xffffffff);
	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_3, 0xffffffff);
	EXPECT_EQ(want_lo, mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_2));
	if (self->vram < (1ULL << 32))
		EXPECT_EQ(0xffffffff,
			  mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_3));
	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_2, 0);
	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_3, 0);
	EXPECT_EQ((uint32_t)PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH,
		  mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_2));
	EXPECT_EQ(0U, mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_3));

	for (bar = 1; bar <= 5; bar += (bar == 1) ? 3 : 1) {
		uint32_t off = PCI_BASE_ADDRESS_0 + 4 * bar;

		mgpu_test_cfg_write32(self->dev, off, 0xffffffff);
		EXPECT_EQ(0U, mgpu_test_cfg_read32(self->dev, off))
			TH_LOG("BAR%d is not implemented", bar);
	}
	mgpu_test_cfg_write32(self->dev, PCI_ROM_ADDRESS, 0xffffffff);
	EXPECT_EQ(0U, mgpu_test_cfg_read32(self->dev, PCI_ROM_ADDRESS));
	mgpu_test_cfg_write32(self->dev, PCI_ROM_ADDRESS, 0xfeb00001);
	EXPECT_EQ(0U, mgpu_test_cfg_read32(self->dev, PCI_ROM_ADDRESS));
}

TEST_F(vfio, config_capabilities)
{
	uint8_t pos, exp, msi, seen = 0;
	uint16_t flags;

	ASSERT_TRUE(!!(mgpu_test_cfg_read16(self->dev, PCI_STATUS) &
		       PCI_STATUS_CAP_LIST));
	exp = mgpu_test_cfg_read8(self->dev, PCI_CAPABILITY_LIST);
	ASSERT_EQ(0x40, exp);
	ASSERT_EQ(PCI_CAP_ID_EXP, mgpu_test_cfg_read8(self->dev, exp));
	flags = mgpu_test_cfg_read16(self->dev, exp + PCI_EXP_FLAGS);
	EXPECT_EQ(PCI_EXP_TYPE_ENDPOINT, (flags & PCI_EXP_FLAGS_TYPE) >> 4);
	EXPECT_LE(1, flags & PCI_EXP_FLAGS_VERS);
	EXPECT_TRUE(!!(mgpu_test_cfg_read32(self->dev, exp + PCI_EXP_DEVCAP) &
		       PCI_EXP_DEVCAP_FLR));

	msi = mgpu_test_cfg_read8(self->dev, exp + PCI_CAP_LIST_NEXT);
	ASSERT_NE(0, msi);
	EXPECT_EQ(0, msi & 3);
	EXPECT_LE(0x40, msi);
	ASSERT_EQ(PCI_CAP_ID_MSI, mgpu_test_cfg_read8(self->dev, msi));
	flags = mgpu_test_cfg_read16(self->dev, msi + PCI_MSI_FLAGS);
	EXPECT_TRUE(!!(flags & PCI_MSI_FLAGS_64BIT));
	EXPECT_EQ(0, flags & PCI_MSI_FLAGS_QMASK) TH_LOG("MSI: 1 vector");
	EXPECT_EQ(0, mgpu_test_cfg_read8(self->dev, msi + PCI_CAP_LIST_NEXT));

	/* The generic walk finds both and terminates. */
	EXPECT_EQ(exp, mgpu_test_cfg_find_cap(self->dev, PCI_CAP_ID_EXP));
	EXPECT_EQ(msi, mgpu_test_cfg_find_cap(self->dev, PCI_CAP_ID_MSI));
	EXPECT_EQ(0, mgpu_test_cfg_find_cap(self->dev, PCI_CAP_ID_MSIX));
	for (pos = exp; pos && seen < 48; seen++)
		pos = mgpu_test_cfg_read8(self->dev, pos + PCI_CAP_LIST_NEXT);
	EXPECT_EQ(2, seen);
}

TEST_F(vfio, bar0_registers)
{
	const struct mgpu_test_type *t = &mgpu_test_types[variant->idx];
	static const uint32_t scratch[] = { 0xdeadbeef, 0, 0x12345678,
					    0xffffffff };
	uint32_t val, lo, hi;
	size_t i;

	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_MAGIC, &val));
	EXPECT_EQ(MGPU_MAGIC, val);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_VERSION, &val));
	EXPECT_EQ((uint32_t)MGPU_VERSION, val);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_VRAM_SIZE_LO, &lo));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_VRAM_SIZE_HI, &hi));
	EXPECT_EQ(self->vram, (uint64_t)hi << 32 | lo);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_NUM_QUEUES, &val));
	EXPECT_EQ(self->queues, val);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_FRACTION, &val));
	EXPECT_EQ(t->denom, val);

	for (i = 0; i < ARRAY_SIZE(scratch); i++) {
		ASSERT_OK(mgpu_test_bar0_write(self->dev, MGPU_REG_SCRATCH,
					       scratch[i]));
		ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_SCRATCH, &val));
		EXPECT_EQ(scratch[i], val);
	}

	/* Read-only registers keep their value. */
	mgpu_test_bar0_write(self->dev, MGPU_REG_MAGIC, 0);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_MAGIC, &val));
	EXPECT_EQ(MGPU_MAGIC, val);
	mgpu_test_bar0_write(self->dev, MGPU_REG_FRACTION, 0x77);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_FRACTION, &val));
	EXPECT_EQ(t->denom, val);

	/* Unknown offsets: read 0, writes ignored. */
	EXPECT_OK(mgpu_test_bar0_write(self->dev, 0x00f0, 0xffffffff));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, 0x00f0, &val));
	EXPECT_EQ(0U, val);
	EXPECT_OK(mgpu_test_bar0_write(self->dev, MGPU_REGS_SIZE - 4, 0xffffffff));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REGS_SIZE - 4, &val));
	EXPECT_EQ(0U, val);
}

/* Writes through the mapping show in region reads, and the reverse. */
TEST_F(vfio, bar2_mmap_coherent)
{
	uint64_t off, val;
	volatile uint64_t *map;
	void *p;

	p = mmap(NULL, self->vram, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->dev, MGPU_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX));
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap BAR2: %s", strerror(errno));
	map = p;

	/* A new instance's VRAM is zero. */
	for (off = 0; off < self->vram; off += STRIDE / 4) {
		if (map[off / 8]) {
			EXPECT_EQ(0ULL, map[off / 8])
				TH_LOG("new VRAM not zero at %#llx",
				       (unsigned long long)off);
			break;
		}
	}

	for (off = 0; off < self->vram; off += STRIDE)
		map[off / 8] = pattern(off, 1);
	map[(self->vram - 8) / 8] = pattern(self->vram - 8, 1);
	for (off = 0; off < self->vram; off += STRIDE) {
		ASSERT_EQ(8, mgpu_test_region_read(self->dev,
						   VFIO_PCI_BAR2_REGION_INDEX, off,
						   &val, 8));
		ASSERT_EQ(pattern(off, 1), val)
			TH_LOG("mmap write, pread at %#llx",
			       (unsigned long long)off);
	}
	ASSERT_EQ(8, mgpu_test_region_read(self->dev, VFIO_PCI_BAR2_REGION_INDEX,
					   self->vram - 8, &val, 8));
	EXPECT_EQ(pattern(self->vram - 8, 1), val);

	for (off = 4096; off < self->vram; off += STRIDE) {
		val = pattern(off, 2);
		ASSERT_EQ(8, mgpu_test_region_write(self->dev,
						    VFIO_PCI_BAR2_REGION_INDEX, off,
						    &val, 8));
	}
	for (off = 4096; off < self->vram; off += STRIDE)
		ASSERT_EQ(pattern(off, 2), map[off / 8])
			TH_LOG("pwrite, mmap read at %#llx",
			       (unsigned long long)off);

	/* A second mapping of part of it sees the same bytes. */
	{
		volatile uint64_t *tail;
		uint64_t len = self->vram / 2;

		p = mmap(NULL, len, PROT_READ, MAP_SHARED, self->dev,
			 MGPU_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX) + len);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap upper half: %s",
						 strerror(errno));
		tail = p;
		EXPECT_EQ(pattern(len, 1), tail[0]);
		EXPECT_EQ(pattern(len + 4096, 2), tail[4096 / 8]);
		munmap(p, len);
	}
	munmap((void *)map, self->vram);
}

/* Reset: VFIO_DEVICE_RESET and FLR through the PCIe capability. */
static void check_reset(struct __test_metadata *_metadata,
			FIXTURE_DATA(vfio) *self, bool flr)
{
	uint64_t mark = 0x0123456789abcdefULL, val = 0;
	uint32_t reg;
	uint16_t ctl;
	uint8_t exp;

	ASSERT_EQ(8, mgpu_test_region_write(self->dev, VFIO_PCI_BAR2_REGION_INDEX,
					    128, &mark, 8));
	ASSERT_OK(mgpu_test_bar0_write(self->dev, MGPU_REG_SCRATCH, 0xcafef00d));
	mgpu_test_cfg_write16(self->dev, PCI_COMMAND,
			      PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	mgpu_test_cfg_write32(self->dev, PCI_BASE_ADDRESS_0, 0xfebf0000);

	if (flr) {
		exp = mgpu_test_cfg_find_cap(self->dev, PCI_CAP_ID_EXP);
		ASSERT_NE(0, exp);
		ctl = mgpu_test_cfg_read16(self->dev, exp + PCI_EXP_DEVCTL);
		mgpu_test_cfg_write16(self->dev, exp + PCI_EXP_DEVCTL,
				      ctl | PCI_EXP_DEVCTL_BCR_FLR);
		/* Initiate FLR reads back 0. */
		EXPECT_EQ(0, mgpu_test_cfg_read16(self->dev, exp + PCI_EXP_DEVCTL) &
			  PCI_EXP_DEVCTL_BCR_FLR);
	} else {
		ASSERT_EQ(0, ioctl(self->dev, VFIO_DEVICE_RESET))
			TH_LOG("VFIO_DEVICE_RESET: %s", strerror(errno));
	}

	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_SCRATCH, &reg));
	EXPECT_EQ(0U, reg);
	EXPECT_EQ(0, mgpu_test_cfg_read16(self->dev, PCI_COMMAND));
	EXPECT_EQ(0U, mgpu_test_cfg_read32(self->dev, PCI_BASE_ADDRESS_0));
	/* Identity survives, VRAM keeps its content. */
	EXPECT_EQ(MGPU_PCI_VENDOR_ID, mgpu_test_cfg_read16(self->dev, PCI_VENDOR_ID));
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_MAGIC, &reg));
	EXPECT_EQ(MGPU_MAGIC, reg);
	ASSERT_EQ(8, mgpu_test_region_read(self->dev, VFIO_PCI_BAR2_REGION_INDEX,
					   128, &val, 8));
	EXPECT_EQ(mark, val);
}

TEST_F(vfio, device_reset)
{
	check_reset(_metadata, self, false);
}

TEST_F(vfio, flr)
{
	check_reset(_metadata, self, true);
}

/* Close and open again: the device comes back in its reset state. */
TEST_F(vfio, reopen)
{
	uint32_t val;

	ASSERT_OK(mgpu_test_bar0_write(self->dev, MGPU_REG_SCRATCH, 0x5a5a5a5a));
	mgpu_test_vfio_close(&self->v);
	ASSERT_OK(mgpu_test_vfio_open(&self->v, self->uuid));
	self->dev = self->v.device;
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_MAGIC, &val));
	EXPECT_EQ(MGPU_MAGIC, val);
	ASSERT_OK(mgpu_test_bar0_read(self->dev, MGPU_REG_SCRATCH, &val));
	EXPECT_EQ(0U, val);
}

/* ---- two instances ---- */

FIXTURE(pair) {
	struct mgpu_test_instances inst;
	char uuid[2][MGPU_UUID_BUF];
	struct mgpu_test_vfio v[2];
	uint64_t vram[2];
};

FIXTURE_VARIANT(pair) {
	const char *type[2];
};

FIXTURE_VARIANT_ADD(pair, two_halves) {
	.type = { "mgpu-1_2", "mgpu-1_2" },
};

FIXTURE_VARIANT_ADD(pair, quarter_sixteenth) {
	.type = { "mgpu-1_4", "mgpu-1_16" },
};

FIXTURE_SETUP(pair)
{
	int i;

	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	MGPU_REQUIRE_VFIO();
	self->inst.n = 0;
	for (i = 0; i < 2; i++) {
		self->v[i] = (struct mgpu_test_vfio)MGPU_TEST_VFIO_INIT;
		ASSERT_OK(mgpu_test_instance_open(&self->inst,
						  mgpu_test_parent,
						  variant->type[i],
						  self->uuid[i],
						  &self->vram[i], &self->v[i]));
	}
}

FIXTURE_TEARDOWN_PARENT(pair)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

TEST_F(pair, vram_disjoint)
{
	volatile uint64_t *map[2];
	uint64_t off[2], size, o;
	void *p;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_OK(mgpu_test_instance_u64(self->uuid[i], "vram_offset",
						 &off[i]));
		p = mmap(NULL, self->vram[i], PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->v[i].device,
			 MGPU_REGION_OFFSET(VFIO_PCI_BAR2_REGION_INDEX));
		ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
		map[i] = p;
	}
	EXPECT_TRUE(off[0] + self->vram[0] <= off[1] ||
		    off[1] + self->vram[1] <= off[0])
		TH_LOG("slices overlap: %#llx+%#llx and %#llx+%#llx",
		       (unsigned long long)off[0],
		       (unsigned long long)self->vram[0],
		       (unsigned long long)off[1],
		       (unsigned long long)self->vram[1]);

	size = self->vram[0] < self->vram[1] ? self->vram[0] : self->vram[1];
	for (o = 0; o < size; o += STRIDE / 4)
		map[0][o / 8] = pattern(o, 0xaa);
	for (o = 0; o < size; o += STRIDE / 4) {
		ASSERT_EQ(0ULL, map[1][o / 8])
			TH_LOG("instance 1 sees instance 0's write at %#llx",
			       (unsigned long long)o);
	}
	for (o = 0; o < size; o += STRIDE / 4)
		map[1][o / 8] = pattern(o, 0x55);
	for (o = 0; o < size; o += STRIDE / 4) {
		ASSERT_EQ(pattern(o, 0xaa), map[0][o / 8])
			TH_LOG("instance 0 at %#llx", (unsigned long long)o);
	}
	for (i = 0; i < 2; i++)
		munmap((void *)map[i], self->vram[i]);
}

/* A removed instance's data never reaches the next one. */
TEST_F(pair, vram_zeroed_on_create)
{
	uint64_t off, old_off, new_off, val, size = self->vram[0];
	char uuid[MGPU_UUID_BUF];
	struct mgpu_test_vfio v;

	ASSERT_OK(mgpu_test_instance_u64(self->uuid[0], "vram_offset", &old_off));
	for (off = 0; off < size; off += STRIDE) {
		val = pattern(off, 3) | 1;
		ASSERT_EQ(8, mgpu_test_region_write(self->v[0].device,
						    VFIO_PCI_BAR2_REGION_INDEX, off,
						    &val, 8));
	}
	mgpu_test_vfio_close(&self->v[0]);
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, self->uuid[0]));

	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent,
					     variant->type[0], uuid));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_offset", &new_off));
	if (new_off != old_off)
		TH_LOG("new instance at %#llx, old one was at %#llx",
		       (unsigned long long)new_off,
		       (unsigned long long)old_off);
	ASSERT_OK(mgpu_test_vfio_open(&v, uuid));
	for (off = 0; off < size; off += STRIDE) {
		ASSERT_EQ(8, mgpu_test_region_read(v.device,
						   VFIO_PCI_BAR2_REGION_INDEX, off,
						   &val, 8));
		ASSERT_EQ(0U, val) TH_LOG("stale VRAM at %#llx",
					 (unsigned long long)off);
	}
	mgpu_test_vfio_close(&v);
}

MGPU_TEST_HARNESS_MAIN
