// SPDX-License-Identifier: GPL-2.0
/*
 * BAR0: the vGPU's register file, trapped on every access.
 *
 * Registers are 32 bits wide and little endian.  Accesses of any width
 * and alignment are answered (see mgpu_regs_write_part() for narrow
 * writes).  Unknown offsets read 0 and ignore writes, with a rate-limited
 * log line so a guest cannot flood the host log.
 * Documentation/device-model.rst is the specification.
 */
#include <linux/kernel.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "mgpu_drv.h"

/**
 * mgpu_regs_reset() - registers after reset
 * @vgpu: the instance
 */
void mgpu_regs_reset(struct mgpu_vgpu *vgpu)
{
	vgpu->scratch = 0;
	vgpu->int_status = 0;
	vgpu->int_mask = 0;
}

static u32 mgpu_regs_read32(struct mgpu_vgpu *vgpu, u32 off)
{
	lockdep_assert_held(&vgpu->lock);

	switch (off) {
	case MGPU_REG_MAGIC:
		return MGPU_MAGIC;
	case MGPU_REG_VERSION:
		return MGPU_VERSION;
	case MGPU_REG_VRAM_SIZE_LO:
		return lower_32_bits(vgpu->vram_size);
	case MGPU_REG_VRAM_SIZE_HI:
		return upper_32_bits(vgpu->vram_size);
	case MGPU_REG_NUM_QUEUES:
		return vgpu->nr_queues;
	case MGPU_REG_CAPS:
		return MGPU_CAP_ENGINE | MGPU_CAP_GEMM_FP32 |
		       MGPU_CAP_GEMM_INT8 | MGPU_CAP_TAIL_POLL |
		       MGPU_CAP_TRAIN_OPS;
	case MGPU_REG_SCRATCH:
		return vgpu->scratch;
	case MGPU_REG_FRACTION:
		return 1U << vgpu->type->order;
	case MGPU_REG_INT_STATUS:
		return vgpu->int_status;
	case MGPU_REG_INT_MASK:
		return vgpu->int_mask;
	case MGPU_REG_TIMESTAMP_LO:
		return lower_32_bits(ktime_get_ns());
	case MGPU_REG_TIMESTAMP_HI:
		return upper_32_bits(ktime_get_ns());
	case MGPU_REG_CMD_BUDGET_MS:
		return READ_ONCE(mgpu_cmd_budget_ms);
	default:
		if (off >= MGPU_REG_QUEUE_BASE)
			return mgpu_queue_read(vgpu, off);
		dev_dbg_ratelimited(vgpu->vdev.dev,
				    "read of unknown register %#x\n", off);
		return 0;
	}
}

static void mgpu_regs_write32(struct mgpu_vgpu *vgpu, u32 off, u32 val)
{
	lockdep_assert_held(&vgpu->lock);

	switch (off) {
	case MGPU_REG_SCRATCH:
		vgpu->scratch = val;
		break;
	case MGPU_REG_INT_STATUS:
		vgpu->int_status &= ~val;
		mgpu_irq_update(vgpu);
		break;
	case MGPU_REG_INT_MASK:
		mgpu_irq_set_mask(vgpu, val);
		break;
	case MGPU_REG_MAGIC:
	case MGPU_REG_VERSION:
	case MGPU_REG_VRAM_SIZE_LO:
	case MGPU_REG_VRAM_SIZE_HI:
	case MGPU_REG_NUM_QUEUES:
	case MGPU_REG_CAPS:
	case MGPU_REG_FRACTION:
	case MGPU_REG_TIMESTAMP_LO:
	case MGPU_REG_TIMESTAMP_HI:
	case MGPU_REG_CMD_BUDGET_MS:
		dev_dbg_ratelimited(vgpu->vdev.dev,
				    "write %#x to read-only register %#x ignored\n",
				    val, off);
		break;
	default:
		/* Queue registers; unknown offsets are logged there. */
		mgpu_queue_write(vgpu, off, val);
		break;
	}
}

/*
 * Accesses narrower than a register (a VMM forwards guest accesses of
 * every PCI width) are never an error.  A narrow read returns the bytes
 * it addresses.  A narrow write depends on the register:
 *  - a register whose write is a command (a queue's TAIL doorbell and
 *    CTRL) ignores it, with a log line: half a command is no command;
 *  - INT_STATUS (write one to clear) takes the written bytes with zeroes
 *    in the others, which clear nothing;
 *  - every other register merges the bytes into its current value.
 */
static bool mgpu_regs_narrow_ignored(u32 reg)
{
	u32 qreg;

	if (reg < MGPU_REG_QUEUE_BASE)
		return false;
	qreg = (reg - MGPU_REG_QUEUE_BASE) % MGPU_REG_QUEUE_STRIDE;
	return qreg == MGPU_Q_CTRL || qreg == MGPU_Q_TAIL;
}

static void mgpu_regs_write_part(struct mgpu_vgpu *vgpu, u32 reg,
				 unsigned int shift, const u8 *bytes,
				 unsigned int n)
{
	__le32 cur;

	lockdep_assert_held(&vgpu->lock);

	if (n == 4) {
		memcpy(&cur, bytes, 4);
		mgpu_regs_write32(vgpu, reg, le32_to_cpu(cur));
		return;
	}
	if (mgpu_regs_narrow_ignored(reg)) {
		mgpu_vgpu_log(vgpu, KERN_INFO,
			      "%u-byte write at %#x ignored: register %#x takes 32-bit writes only\n",
			      n, reg + shift, reg);
		return;
	}
	if (reg == MGPU_REG_INT_STATUS)
		cur = 0;
	else
		cur = cpu_to_le32(mgpu_regs_read32(vgpu, reg));
	memcpy((u8 *)&cur + shift, bytes, n);
	mgpu_regs_write32(vgpu, reg, le32_to_cpu(cur));
}

/* One VFIO access to BAR0 is one trap (a guest's MMIO the VMM forwards). */
static void mgpu_regs_count_trap(struct mgpu_vgpu *vgpu, size_t done)
{
	lockdep_assert_held(&vgpu->lock);

	if (!done)
		WRITE_ONCE(vgpu->stats.reg_traps, vgpu->stats.reg_traps + 1);
}

/**
 * mgpu_regs_rw() - access the BAR0 region
 * @vgpu: the instance
 * @pos: offset, checked to lie within the region with @count
 * @buf: user buffer
 * @count: bytes: any width and alignment (see mgpu_regs_write_part())
 * @write: direction
 *
 * Return: @count or -EFAULT.
 */
ssize_t mgpu_regs_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		     size_t count, bool write)
{
	size_t done, n;

	for (done = 0; done < count; done += n) {
		u32 off = pos + done, reg = off & ~3U, shift = off & 3;
		u8 bytes[4];
		__le32 val;

		n = min_t(size_t, count - done, 4 - shift);
		if (write) {
			if (copy_from_user(bytes, buf + done, n))
				return -EFAULT;
			mutex_lock(&vgpu->lock);
			mgpu_regs_count_trap(vgpu, done);
			mgpu_regs_write_part(vgpu, reg, shift, bytes, n);
			mutex_unlock(&vgpu->lock);
		} else {
			mutex_lock(&vgpu->lock);
			mgpu_regs_count_trap(vgpu, done);
			val = cpu_to_le32(mgpu_regs_read32(vgpu, reg));
			mutex_unlock(&vgpu->lock);
			memcpy(bytes, (u8 *)&val + shift, n);
			if (copy_to_user(buf + done, bytes, n))
				return -EFAULT;
		}
		cond_resched();
	}
	return count;
}
