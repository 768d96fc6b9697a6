// SPDX-License-Identifier: GPL-2.0
/*
 * PCI configuration space of a vGPU, fully emulated.
 *
 * The layout is described by tables of fields (offset, width, value after
 * reset, writable bits, write-one-to-clear bits) written with the PCI_*
 * names of <linux/pci_regs.h>.  One generic merge engine applies any write
 * byte by byte through the masks.  Side effects: function level reset,
 * and the command register's memory space and bus master bits, which the
 * device honours: BAR0 and BAR2 answer only while memory space is on
 * (EIO, SIGBUS otherwise), and the engine runs the instance's queues and
 * sends MSI only while bus mastering is on.  Everything past the standard
 * header and capabilities (the extended space, 0x100 up) reads as zero:
 * no extended capabilities.
 *
 *   0x00  type 0 header: 3D controller, BAR0 registers, BAR2/3 VRAM
 *   0x40  PCI Express capability v2, endpoint, FLR capable
 *   0x80  MSI capability, 64-bit, one vector
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/pci_ids.h>
#include <linux/pci_regs.h>
#include <linux/uaccess.h>

#include "mgpu_drv.h"

#define MGPU_CAP_EXP		0x40
#define MGPU_CAP_MSI		0x80

/**
 * struct mgpu_cfg_field - one field of the emulated config space
 * @off: offset in config space
 * @len: width in bytes (1, 2 or 4)
 * @val: value after reset
 * @wmask: bits a write may change
 * @w1c: bits that a write of 1 clears
 */
struct mgpu_cfg_field {
	u16 off;
	u8 len;
	u32 val;
	u32 wmask;
	u32 w1c;
};

#define MGPU_PCI_COMMAND_WMASK	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
				 PCI_COMMAND_INTX_DISABLE)
#define MGPU_PCI_STATUS_W1C	(PCI_STATUS_PARITY | \
				 PCI_STATUS_SIG_TARGET_ABORT | \
				 PCI_STATUS_REC_TARGET_ABORT | \
				 PCI_STATUS_REC_MASTER_ABORT | \
				 PCI_STATUS_SIG_SYSTEM_ERROR | \
				 PCI_STATUS_DETECTED_PARITY)
#define MGPU_EXP_DEVSTA_W1C	(PCI_EXP_DEVSTA_CED | PCI_EXP_DEVSTA_NFED | \
				 PCI_EXP_DEVSTA_FED | PCI_EXP_DEVSTA_URD)
#define MGPU_EXP_LNKCTL_WMASK	(PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB | \
				 PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES)

/* Fields whose values do not depend on the instance. */
static const struct mgpu_cfg_field mgpu_cfg_fixed[] = {
	{ PCI_VENDOR_ID,	2, MGPU_PCI_VENDOR_ID },
	{ PCI_DEVICE_ID,	2, MGPU_PCI_DEVICE_ID },
	{ PCI_COMMAND,		2, 0, MGPU_PCI_COMMAND_WMASK },
	{ PCI_STATUS,		2, PCI_STATUS_CAP_LIST, 0, MGPU_PCI_STATUS_W1C },
	{ PCI_REVISION_ID,	1, MGPU_PCI_REVISION },
	/* class code: 3D controller, programming interface 0 */
	{ PCI_CLASS_PROG,	1, 0 },
	{ PCI_CLASS_DEVICE,	2, PCI_CLASS_DISPLAY_3D },
	{ PCI_CACHE_LINE_SIZE,	1, 0, 0xff },
	{ PCI_LATENCY_TIMER,	1, 0, 0xff },
	{ PCI_HEADER_TYPE,	1, PCI_HEADER_TYPE_NORMAL },
	{ PCI_BASE_ADDRESS_0,	4, PCI_BASE_ADDRESS_SPACE_MEMORY |
				   PCI_BASE_ADDRESS_MEM_TYPE_32,
				   (u32)~(MGPU_REGS_SIZE - 1) },
	/* BAR1, BAR4, BAR5: unimplemented, read 0, not writable */
	{ PCI_SUBSYSTEM_VENDOR_ID, 2, MGPU_PCI_SUBSYS_VENDOR_ID },
	/* Expansion ROM: none.  Writes are accepted and read back as 0. */
	{ PCI_ROM_ADDRESS,	4, 0 },
	{ PCI_CAPABILITY_LIST,	1, MGPU_CAP_EXP },
	{ PCI_INTERRUPT_LINE,	1, 0, 0xff },
	{ PCI_INTERRUPT_PIN,	1, 1 },		/* INTA# */

	/* PCI Express capability, version 2, endpoint */
	{ MGPU_CAP_EXP + PCI_CAP_LIST_ID,  1, PCI_CAP_ID_EXP },
	{ MGPU_CAP_EXP + PCI_CAP_LIST_NEXT, 1, MGPU_CAP_MSI },
	{ MGPU_CAP_EXP + PCI_EXP_FLAGS,	   2, 2 | (PCI_EXP_TYPE_ENDPOINT << 4) },
	/* max payload 128 bytes, function level reset */
	{ MGPU_CAP_EXP + PCI_EXP_DEVCAP,   4, PCI_EXP_DEVCAP_FLR },
	/* every control bit is writable; BCR_FLR starts a reset */
	{ MGPU_CAP_EXP + PCI_EXP_DEVCTL,   2, PCI_EXP_DEVCTL_RELAX_EN |
					      PCI_EXP_DEVCTL_NOSNOOP_EN |
					      PCI_EXP_DEVCTL_READRQ_512B,
					      0xffff },
	{ MGPU_CAP_EXP + PCI_EXP_DEVSTA,   2, 0, 0, MGPU_EXP_DEVSTA_W1C },
	/* a 2.5 GT/s x1 link, port 0 */
	{ MGPU_CAP_EXP + PCI_EXP_LNKCAP,   4, PCI_EXP_LNKCAP_SLS_2_5GB |
					      (1 << 4) },
	{ MGPU_CAP_EXP + PCI_EXP_LNKCTL,   2, 0, MGPU_EXP_LNKCTL_WMASK },
	{ MGPU_CAP_EXP + PCI_EXP_LNKSTA,   2, PCI_EXP_LNKSTA_CLS_2_5GB |
					      (1 << PCI_EXP_LNKSTA_NLW_SHIFT) },

	/* MSI capability: one vector, 64-bit address, no per-vector mask */
	{ MGPU_CAP_MSI + PCI_CAP_LIST_ID,   1, PCI_CAP_ID_MSI },
	{ MGPU_CAP_MSI + PCI_CAP_LIST_NEXT, 1, 0 },
	{ MGPU_CAP_MSI + PCI_MSI_FLAGS,	    2, PCI_MSI_FLAGS_64BIT,
					       PCI_MSI_FLAGS_ENABLE },
	{ MGPU_CAP_MSI + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc },
	{ MGPU_CAP_MSI + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff },
	{ MGPU_CAP_MSI + PCI_MSI_DATA_64,   2, 0, 0xffff },
};

static void mgpu_cfg_set_field(struct mgpu_vgpu *vgpu,
			       const struct mgpu_cfg_field *f)
{
	unsigned int i;

	for (i = 0; i < f->len; i++) {
		vgpu->cfg_init[f->off + i] = f->val >> (8 * i);
		vgpu->cfg_wmask[f->off + i] = f->wmask >> (8 * i);
		vgpu->cfg_w1c[f->off + i] = f->w1c >> (8 * i);
	}
}

/**
 * mgpu_cfg_init() - build the config space of a new instance
 * @vgpu: the instance; its type and VRAM size are set
 */
void mgpu_cfg_init(struct mgpu_vgpu *vgpu)
{
	/* BAR2 is 64-bit, so its size mask spans BAR2 and BAR3. */
	u64 vram_mask = ~(vgpu->vram_size - 1);
	const struct mgpu_cfg_field inst[] = {
		{ PCI_BASE_ADDRESS_2, 4, PCI_BASE_ADDRESS_SPACE_MEMORY |
					 PCI_BASE_ADDRESS_MEM_TYPE_64 |
					 PCI_BASE_ADDRESS_MEM_PREFETCH,
					 lower_32_bits(vram_mask) &
					 (u32)PCI_BASE_ADDRESS_MEM_MASK },
		{ PCI_BASE_ADDRESS_3, 4, 0, upper_32_bits(vram_mask) },
		{ PCI_SUBSYSTEM_ID, 2, MGPU_PCI_SUBSYS_BASE + vgpu->type->order },
	};
	unsigned int i;

	memset(vgpu->cfg_init, 0, sizeof(vgpu->cfg_init));
	memset(vgpu->cfg_wmask, 0, sizeof(vgpu->cfg_wmask));
	memset(vgpu->cfg_w1c, 0, sizeof(vgpu->cfg_w1c));
	for (i = 0; i < ARRAY_SIZE(mgpu_cfg_fixed); i++)
		mgpu_cfg_set_field(vgpu, &mgpu_cfg_fixed[i]);
	for (i = 0; i < ARRAY_SIZE(inst); i++)
		mgpu_cfg_set_field(vgpu, &inst[i]);
	mgpu_cfg_reset(vgpu);
}

/**
 * mgpu_cfg_reset() - put config space back to its reset values
 * @vgpu: the instance; its lock held, or not yet visible to anyone
 *
 * Memory space and bus mastering end up off: BAR2 mappings are zapped.
 */
void mgpu_cfg_reset(struct mgpu_vgpu *vgpu)
{
	memset(vgpu->cfg, 0, sizeof(vgpu->cfg));
	memcpy(vgpu->cfg, vgpu->cfg_init, sizeof(vgpu->cfg_init));
	mgpu_vram_zap(vgpu);
}

static void mgpu_cfg_write_byte(struct mgpu_vgpu *vgpu, unsigned int off,
				u8 val)
{
	u8 wmask, w1c;

	lockdep_assert_held(&vgpu->lock);

	if (off >= MGPU_CONFIG_STD_SIZE)
		return;		/* extended space: read-only zeroes */
	wmask = vgpu->cfg_wmask[off];
	w1c = vgpu->cfg_w1c[off];
	vgpu->cfg[off] = ((vgpu->cfg[off] & ~wmask) | (val & wmask)) &
			 ~(val & w1c);
}

/**
 * mgpu_cfg_restore() - config space from a migration stream
 * @vgpu: the instance, stopped; its lock held
 * @cfg: the source's standard config space
 *
 * Written byte by byte as the guest could have written it (write masks;
 * the status register's write-one-to-clear bits are left alone): the
 * identity, BAR sizes and capabilities stay this device's own.
 */
void mgpu_cfg_restore(struct mgpu_vgpu *vgpu, const u8 *cfg)
{
	unsigned int off;

	lockdep_assert_held(&vgpu->lock);

	for (off = 0; off < MGPU_CONFIG_STD_SIZE; off++)
		if (off != PCI_STATUS && off != PCI_STATUS + 1)
			mgpu_cfg_write_byte(vgpu, off, cfg[off]);
	if (!mgpu_cfg_mem_enabled(vgpu))
		mgpu_vram_zap(vgpu);
}

static bool mgpu_cfg_covers(unsigned int pos, unsigned int len,
			    unsigned int reg, unsigned int width)
{
	return pos < reg + width && reg < pos + len;
}

static u16 mgpu_cfg_read16(struct mgpu_vgpu *vgpu, unsigned int off)
{
	return vgpu->cfg[off] | (vgpu->cfg[off + 1] << 8);
}

/**
 * mgpu_cfg_intx_disabled() - INTx disabled in the command register?
 * @vgpu: the instance; its lock held
 *
 * Return: true if PCI_COMMAND_INTX_DISABLE is set.
 */
bool mgpu_cfg_intx_disabled(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);
	return mgpu_cfg_read16(vgpu, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
}

/**
 * mgpu_cfg_set_intx_pending() - reflect INTx in PCI_STATUS_INTERRUPT
 * @vgpu: the instance; its lock held
 * @pending: whether the device asserts INTx
 */
void mgpu_cfg_set_intx_pending(struct mgpu_vgpu *vgpu, bool pending)
{
	lockdep_assert_held(&vgpu->lock);
	if (pending)
		vgpu->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		vgpu->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
}

/**
 * mgpu_cfg_mem_enabled() - Memory Space Enable set?
 * @vgpu: the instance; its lock held
 *
 * Return: true if BAR0 and BAR2 answer (PCI_COMMAND_MEMORY).
 */
bool mgpu_cfg_mem_enabled(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);
	return mgpu_cfg_read16(vgpu, PCI_COMMAND) & PCI_COMMAND_MEMORY;
}

/**
 * mgpu_cfg_bus_master() - Bus Master Enable set?
 * @vgpu: the instance; its lock held
 *
 * Return: true if the device may reach guest memory and send MSI
 * (PCI_COMMAND_MASTER).
 */
bool mgpu_cfg_bus_master(struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&vgpu->lock);
	return mgpu_cfg_read16(vgpu, PCI_COMMAND) & PCI_COMMAND_MASTER;
}

/* What a config write asks of the caller once it dropped the lock. */
#define MGPU_CFG_FLR		(1U << 0)	/* function level reset */
#define MGPU_CFG_BME_OFF	(1U << 1)	/* stop DMA and MSI now */
#define MGPU_CFG_BME_ON		(1U << 2)	/* the engine may run again */

/*
 * Side effects of a write that covered [pos, pos + len); @cmd is the
 * command register before the write.
 * Return: MGPU_CFG_* bits for the caller.
 */
static unsigned int mgpu_cfg_after_write(struct mgpu_vgpu *vgpu,
					 unsigned int pos, unsigned int len,
					 u16 cmd)
{
	unsigned int devctl = MGPU_CAP_EXP + PCI_EXP_DEVCTL, todo = 0;
	u16 now = mgpu_cfg_read16(vgpu, PCI_COMMAND);

	lockdep_assert_held(&vgpu->lock);

	if (mgpu_cfg_covers(pos, len, PCI_COMMAND, 2)) {
		mgpu_irq_update(vgpu);		/* INTx disable may change */
		/* Memory space off: no BAR access, mappings fault again. */
		if ((cmd & ~now) & PCI_COMMAND_MEMORY)
			mgpu_vram_zap(vgpu);
		if ((cmd & ~now) & PCI_COMMAND_MASTER)
			todo |= MGPU_CFG_BME_OFF;
		if ((now & ~cmd) & PCI_COMMAND_MASTER) {
			todo |= MGPU_CFG_BME_ON;
			mgpu_irq_msi_pending(vgpu);
		}
	}
	if (mgpu_cfg_covers(pos, len, devctl, 2) &&
	    (mgpu_cfg_read16(vgpu, devctl) & PCI_EXP_DEVCTL_BCR_FLR))
		todo |= MGPU_CFG_FLR;
	return todo;
}

/**
 * mgpu_cfg_rw() - access the config space region
 * @vgpu: the instance
 * @pos: offset, checked to lie within the region with @count
 * @buf: user buffer
 * @count: bytes; any size and alignment (QEMU reads it all at once)
 * @write: direction
 *
 * Return: @count or a negative errno.
 */
ssize_t mgpu_cfg_rw(struct mgpu_vgpu *vgpu, u64 pos, char __user *buf,
		    size_t count, bool write)
{
	unsigned int todo = 0;
	u8 chunk[64];
	size_t done, n, i;
	u16 cmd;

	for (done = 0; done < count; done += n) {
		n = min(count - done, sizeof(chunk));
		if (write) {
			if (copy_from_user(chunk, buf + done, n))
				return -EFAULT;
			mutex_lock(&vgpu->lock);
			cmd = mgpu_cfg_read16(vgpu, PCI_COMMAND);
			for (i = 0; i < n; i++)
				mgpu_cfg_write_byte(vgpu, pos + done + i,
						    chunk[i]);
			todo |= mgpu_cfg_after_write(vgpu, pos + done, n, cmd);
			mutex_unlock(&vgpu->lock);
		} else {
			mutex_lock(&vgpu->lock);
			memcpy(chunk, vgpu->cfg + pos + done, n);
			mutex_unlock(&vgpu->lock);
			if (copy_to_user(buf + done, chunk, n))
				return -EFAULT;
		}
	}
	/*
	 * Bus mastering off (a guest's shutdown or kexec): when the write
	 * returns, no DMA of the device is in flight and none will start.
	 */
	if (todo & MGPU_CFG_BME_OFF)
		mgpu_engine_flush(vgpu);
	if (todo & MGPU_CFG_BME_ON)
		mgpu_engine_kick(vgpu->parent);
	if (todo & MGPU_CFG_FLR)
		mgpu_vgpu_user_reset(vgpu);	/* clears BCR_FLR too */
	return count;
}
