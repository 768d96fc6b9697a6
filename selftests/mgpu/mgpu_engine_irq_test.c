// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu engine selftests, driven through libmgpu (VFIO transport): MSI and INTx delivery of fence and error interrupts.
 *
 * One of the mgpu_engine_*_test programs; lib/mgpu_engine.h has what
 * they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/vfio.h>


#include "kselftest_harness.h"
#include "mgpu_engine.h"

/* ====================================================================== */
/* irq: MSI and INTx                                                      */

FIXTURE(irq) {
	struct eng_base b;
	struct mgpu_dev *dev;
	struct mgpu_queue *q;
	uint64_t slot;
	uint8_t *ps;
	int efd;
	uint64_t cfg_off;
};

FIXTURE_VARIANT(irq) {
	bool intx;
};

FIXTURE_VARIANT_ADD(irq, msi) { .intx = false };
FIXTURE_VARIANT_ADD(irq, intx) { .intx = true };

FIXTURE_SETUP(irq)
{
	uint64_t size;
	int ret;

	if (!eng_can_create(_metadata, "mgpu-1_16", 1))
		return;
	eng_instance(_metadata, &self->b, 0, "mgpu-1_16", true);
	self->dev = self->b.dev[0];
	self->q = qopen(_metadata, self->dev, 0, 0, 0);
	if (variant->intx)
		setenv("LIBMGPU_IRQ", "intx", 1);
	else
		unsetenv("LIBMGPU_IRQ");
	ret = mgpu_irq_enable(self->dev);
	ASSERT_EQ(0, ret) TH_LOG("mgpu_irq_enable: %s: %s", mgpu_strerror(ret),
				 mgpu_last_error());
	ASSERT_EQ(variant->intx ? MGPU_IRQ_INTX : MGPU_IRQ_MSI,
		  mgpu_irq_mode(self->dev));
	self->efd = mgpu_irq_fd(self->dev);
	ASSERT_GE(self->efd, 0);
	self->slot = vram_get(_metadata, self->dev, 64, 64);
	self->ps = vptr(self->dev, self->slot);
	memset(self->ps, 0, 64);
	ASSERT_EQ(0, mgpu_vfio_region(self->dev, VFIO_PCI_CONFIG_REGION_INDEX,
				      &self->cfg_off, &size));
}

FIXTURE_TEARDOWN_PARENT(irq)
{
	eng_remove_all(&self->b.inst);
}

/* Sum of eventfd counts until @want arrived or @ms passed. */
static uint64_t efd_collect(int efd, uint64_t want, int ms)
{
	uint64_t end = mgpu_test_now_ms() + ms, sum = 0, left;

	while (sum < want && mgpu_test_now_ms() < end) {
		left = end - mgpu_test_now_ms();
		sum += efd_wait(efd, (int)left);
	}
	return sum;
}

static void intx_unmask(struct mgpu_dev *dev)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK,
		.index = VFIO_PCI_INTX_IRQ_INDEX,
		.start = 0,
		.count = 1,
	};

	ioctl(mgpu_vfio_device_fd(dev), VFIO_DEVICE_SET_IRQS, &set);
}

static uint16_t cfg_status(FIXTURE_DATA(irq) *self)
{
	uint16_t v = 0xffff;

	if (pread(mgpu_vfio_device_fd(self->dev), &v, 2,
		  self->cfg_off + PCI_STATUS) != 2)
		return 0xffff;
	return v;
}

/* One interrupt per FENCE with the IRQ flag, through libmgpu's wait. */
TEST_F(irq, fence_each)
{
	struct mgpu_cmd cmd;
	uint32_t causes;
	unsigned int i;
	int ret;

	for (i = 1; i <= 10; i++) {
		mgpu_cmd_fence(&cmd, self->slot, i, MGPU_F_IRQ);
		ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
		causes = 0;
		ret = mgpu_irq_wait(self->dev, 5000, &causes);
		ASSERT_EQ(0, ret) TH_LOG("fence %u: no interrupt: %s", i,
					 mgpu_strerror(ret));
		EXPECT_EQ(MGPU_INT_FENCE, causes);
		EXPECT_EQ(i, load64(self->ps));
		EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	}
	/* Without the flag: no interrupt, no cause. */
	mgpu_cmd_fence(&cmd, self->slot, 100, 0);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 100, 5000));
	EXPECT_EQ(-ETIMEDOUT, mgpu_irq_wait(self->dev, 200, &causes));
	EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	/* libmgpu's sleeping fence wait. */
	EXPECT_EQ(0, mgpu_queue_sync(self->q, 5000));
}

/*
 * The instance's counters of trapped register accesses and of interrupts
 * (what a benchmark reports per step): exact.
 */
TEST_F(irq, counters)
{
	const char *u = self->b.uuid[0];
	long traps, irqs;
	uint32_t v[4], causes;
	struct mgpu_cmd cmd;
	unsigned int i;
	uint64_t off, size;
	int fd = mgpu_vfio_device_fd(self->dev);

	ASSERT_EQ(0, mgpu_vfio_region(self->dev, VFIO_PCI_BAR0_REGION_INDEX,
				      &off, &size));
	traps = eng_instance_attr(u, "reg_traps");
	irqs = eng_instance_attr(u, "irqs");
	ASSERT_LE(0, traps);
	ASSERT_LE(0, irqs);
	/* Five reads and one 16-byte read: six traps. */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(4, pread(fd, v, 4, off + MGPU_REG_SCRATCH));
	ASSERT_EQ(16, pread(fd, v, 16, off));
	EXPECT_EQ(traps + 6, eng_instance_attr(u, "reg_traps"));
	/* VRAM through the mapping and config space are no register traps. */
	__atomic_store_n(self->ps, 1, __ATOMIC_RELAXED);
	EXPECT_NE(0xffff, cfg_status(self));
	EXPECT_EQ(traps + 6, eng_instance_attr(u, "reg_traps"));

	/* Three FENCEs with the IRQ flag: three interrupts. */
	for (i = 1; i <= 3; i++) {
		mgpu_cmd_fence(&cmd, self->slot, i, MGPU_F_IRQ);
		ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
		ASSERT_EQ(0, mgpu_irq_wait(self->dev, 5000, &causes));
	}
	EXPECT_EQ(irqs + 3, eng_instance_attr(u, "irqs"));
}

/* Raw delivery: MSI per event, INTx level and automasked; RW1C status. */
TEST_F(irq, status_and_delivery)
{
	struct mgpu_cmd cmds[5];
	uint64_t count;
	unsigned int i;

	for (i = 0; i < 5; i++)
		mgpu_cmd_fence(&cmds[i], self->slot, i + 1, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, cmds, 5));
	ASSERT_TRUE(wait_u64(self->ps, 5, 5000));
	count = efd_collect(self->efd, variant->intx ? 1 : 5, 2000);
	count += efd_wait(self->efd, 100);	/* and nothing more */
	if (variant->intx) {
		EXPECT_EQ(1, count) TH_LOG("INTx is automasked: one signal");
		EXPECT_TRUE(cfg_status(self) & PCI_STATUS_INTERRUPT);
	} else {
		EXPECT_EQ(5, count) TH_LOG("one MSI per fence");
		EXPECT_FALSE(cfg_status(self) & PCI_STATUS_INTERRUPT);
	}
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	/* Writing 0 clears nothing; writing 1 clears. */
	wr(self->dev, MGPU_REG_INT_STATUS, 0);
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_ERROR);
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	EXPECT_FALSE(cfg_status(self) & PCI_STATUS_INTERRUPT);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, efd_wait(self->efd, 100)) TH_LOG("interrupt after clearing");

	/* INTx: unmasked while the cause is pending, it fires again. */
	if (variant->intx) {
		mgpu_cmd_fence(&cmds[0], self->slot, 6, MGPU_F_IRQ);
		ASSERT_EQ(0, mgpu_submit(self->q, cmds, 1));
		EXPECT_EQ(1, efd_wait(self->efd, 5000));
		intx_unmask(self->dev);
		EXPECT_EQ(1, efd_wait(self->efd, 1000))
			TH_LOG("INTx unmasked with a cause pending must fire");
		wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
		intx_unmask(self->dev);
		EXPECT_EQ(0, efd_wait(self->efd, 100));
	}
}

/*
 * The command register's INTx disable holds INTx back (it fires once
 * cleared, the cause still pending) and does not affect MSI.
 */
TEST_F(irq, intx_disable_bit)
{
	int fd = mgpu_vfio_device_fd(self->dev);
	struct mgpu_cmd cmd;
	uint16_t cmdreg = 0;

	ASSERT_EQ(2, pread(fd, &cmdreg, 2, self->cfg_off + PCI_COMMAND));
	cmdreg |= PCI_COMMAND_INTX_DISABLE;
	ASSERT_EQ(2, pwrite(fd, &cmdreg, 2, self->cfg_off + PCI_COMMAND));
	mgpu_cmd_fence(&cmd, self->slot, 1, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 1, 5000));
	if (variant->intx) {
		EXPECT_EQ(0, efd_wait(self->efd, 200))
			TH_LOG("INTx fired while disabled");
	} else {
		EXPECT_EQ(1, efd_collect(self->efd, 1, 2000))
			TH_LOG("INTx disable held back an MSI");
	}
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	cmdreg &= ~PCI_COMMAND_INTX_DISABLE;
	ASSERT_EQ(2, pwrite(fd, &cmdreg, 2, self->cfg_off + PCI_COMMAND));
	if (variant->intx) {
		EXPECT_EQ(1, efd_wait(self->efd, 1000))
			TH_LOG("INTx enabled with a cause pending did not fire");
	} else {
		EXPECT_EQ(0, efd_wait(self->efd, 100))
			TH_LOG("MSI repeated on an INTx enable");
	}
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, efd_wait(self->efd, 100));
}

/* Masked causes latch in INT_STATUS but do not interrupt. */
TEST_F(irq, masked_cause)
{
	struct mgpu_cmd cmd;

	wr(self->dev, MGPU_REG_INT_MASK, MGPU_INT_ERROR);
	EXPECT_EQ(MGPU_INT_ERROR, rd(self->dev, MGPU_REG_INT_MASK));
	mgpu_cmd_fence(&cmd, self->slot, 1, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 1, 5000));
	EXPECT_EQ(0, efd_wait(self->efd, 200)) TH_LOG("masked FENCE interrupted");
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
	EXPECT_FALSE(cfg_status(self) & PCI_STATUS_INTERRUPT);

	/* An error (enabled) interrupts. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.opcode = 0x7f;
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	EXPECT_EQ(1, efd_wait(self->efd, 5000));
	EXPECT_EQ(MGPU_INT_FENCE | MGPU_INT_ERROR,
		  rd(self->dev, MGPU_REG_INT_STATUS));
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_ERROR);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, efd_wait(self->efd, 100));

	/* Enabling a pending cause interrupts at once. */
	wr(self->dev, MGPU_REG_INT_MASK, MGPU_INT_FENCE | MGPU_INT_ERROR);
	EXPECT_EQ(1, efd_wait(self->efd, 1000))
		TH_LOG("enabling a pending cause did not interrupt");
	wr(self->dev, MGPU_REG_INT_STATUS, MGPU_INT_FENCE);
	if (variant->intx)
		intx_unmask(self->dev);
	EXPECT_EQ(0, rd(self->dev, MGPU_REG_INT_STATUS));
	EXPECT_EQ(0, efd_wait(self->efd, 100));

	/* Everything masked: nothing at all. */
	ASSERT_EQ(0, mgpu_queue_reset(self->q));
	wr(self->dev, MGPU_REG_INT_MASK, 0);
	mgpu_cmd_fence(&cmd, self->slot, 2, MGPU_F_IRQ);
	ASSERT_EQ(0, mgpu_submit(self->q, &cmd, 1));
	ASSERT_TRUE(wait_u64(self->ps, 2, 5000));
	EXPECT_EQ(0, efd_wait(self->efd, 200));
	EXPECT_EQ(MGPU_INT_FENCE, rd(self->dev, MGPU_REG_INT_STATUS));
}

MGPU_TEST_HARNESS_MAIN
