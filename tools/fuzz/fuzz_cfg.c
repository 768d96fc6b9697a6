// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the emulated PCI config space (kernel/cfg.c, compiled
 * unchanged): accesses of any size and alignment, in any order.
 *
 * Input: a byte of VRAM size and type, then accesses: a byte of kind,
 * a u16 offset, a u16 length (both reduced to the 4096-byte region as
 * the VFIO core does), and for writes the data, taken from the input.
 *
 * Oracle: Documentation/device-model.rst's "Configuration space": fixed
 * identity and capability list, hard-wired and read-as-zero bits, BARs
 * aligned to their size and sizing as on hardware, an empty extended
 * space, function level reset on Initiate FLR; plus a model of the
 * bytes (per-byte merge of each write through the writable and RW1C
 * bits) that every read and every byte outside a write is compared with.
 */
#include "fuzz.h"

#define CFG_SIZE	MGPU_CONFIG_SIZE
#define CAP_EXP		0x40
#define CAP_MSI		0x80
#define DEVCTL		(CAP_EXP + PCI_EXP_DEVCTL)

static struct mgpu_parent parent;
static struct mgpu_vgpu vgpu;
static u8 model[CFG_SIZE];
static const u8 zeroes[CFG_SIZE - PCI_CFG_SPACE_SIZE];
static unsigned int irq_updates, resets;

void mgpu_irq_update(struct mgpu_vgpu *v)
{
	FUZZ_CHECK(v == &vgpu && v->lock.locked, "irq update without lock");
	irq_updates++;
}

/* Bus mastering came back: the engine is told, without the lock. */
void mgpu_engine_kick(struct mgpu_parent *p)
{
	FUZZ_CHECK(!vgpu.lock.locked, "engine kicked under the lock");
}

/* Bus mastering went off: the engine is flushed, without the lock. */
void mgpu_engine_flush(struct mgpu_vgpu *v)
{
	FUZZ_CHECK(v == &vgpu && !v->lock.locked, "engine flushed under the lock");
}

/* vgpu.c: what a user reset does to config space; the lock is dropped. */
void mgpu_vgpu_user_reset(struct mgpu_vgpu *v)
{
	FUZZ_CHECK(v == &vgpu && !v->lock.locked, "reset under the lock");
	resets++;
	mgpu_cfg_reset(v);
}

static u32 get(const u8 *cfg, unsigned int off, unsigned int len)
{
	u32 v = 0;

	while (len--)
		v = v << 8 | cfg[off + len];
	return v;
}

/* Does [pos, pos + len) share a byte with [reg, reg + width)? */
static bool overlaps(unsigned int pos, unsigned int len, unsigned int reg,
		     unsigned int width)
{
	unsigned int i;

	for (i = pos; i < pos + len; i++)
		if (i >= reg && i < reg + width)
			return true;
	return false;
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

/* Fixed by the device model whatever the guest writes. */
static void check_spec(const u8 *cfg, const u8 *init, u64 vram_size,
		       unsigned int order)
{
	static const struct {
		u16 off;
		u8 len;
	} ro[] = {
		{ PCI_VENDOR_ID, 4 }, { PCI_REVISION_ID, 4 },
		{ PCI_HEADER_TYPE, 1 }, { PCI_SUBSYSTEM_VENDOR_ID, 4 },
		{ PCI_CAPABILITY_LIST, 1 }, { PCI_INTERRUPT_PIN, 1 },
		{ CAP_EXP, 2 }, { CAP_EXP + PCI_EXP_FLAGS, 2 },
		{ CAP_EXP + PCI_EXP_DEVCAP, 4 }, { CAP_EXP + PCI_EXP_LNKCAP, 4 },
		{ CAP_EXP + PCI_EXP_LNKSTA, 2 }, { CAP_MSI, 2 },
	};
	u64 bar2;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ro); i++)
		FUZZ_CHECK(get(cfg, ro[i].off, ro[i].len) ==
			   get(init, ro[i].off, ro[i].len),
			   "read-only field at %#x changed", ro[i].off);
	FUZZ_CHECK(!(cfg[PCI_COMMAND] & PCI_COMMAND_IO), "I/O space");
	FUZZ_CHECK(cfg[PCI_STATUS] & PCI_STATUS_CAP_LIST, "capability list");
	FUZZ_CHECK(!(get(cfg, PCI_BASE_ADDRESS_0, 4) & (MGPU_REGS_SIZE - 1)),
		   "BAR0 %#x", get(cfg, PCI_BASE_ADDRESS_0, 4));
	FUZZ_CHECK(!get(cfg, PCI_BASE_ADDRESS_1, 4) &&
		   !get(cfg, PCI_BASE_ADDRESS_4, 4) &&
		   !get(cfg, PCI_BASE_ADDRESS_5, 4) &&
		   !get(cfg, PCI_ROM_ADDRESS, 4), "unimplemented BAR or ROM");
	FUZZ_CHECK((cfg[PCI_BASE_ADDRESS_2] & 0xf) ==
		   (PCI_BASE_ADDRESS_MEM_TYPE_64 |
		    PCI_BASE_ADDRESS_MEM_PREFETCH), "BAR2 flags");
	bar2 = (u64)get(cfg, PCI_BASE_ADDRESS_3, 4) << 32 |
	       (get(cfg, PCI_BASE_ADDRESS_2, 4) & ~0xfU);
	FUZZ_CHECK(!(bar2 & (vram_size - 1)), "BAR2 %#llx not aligned",
		   (unsigned long long)bar2);
	FUZZ_CHECK(get(cfg, PCI_SUBSYSTEM_ID, 2) == MGPU_PCI_SUBSYS_BASE + order,
		   "subsystem");
	FUZZ_CHECK((get(cfg, CAP_MSI + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE) ==
		   PCI_MSI_FLAGS_64BIT, "MSI flags");
	FUZZ_CHECK(!(cfg[CAP_MSI + PCI_MSI_ADDRESS_LO] & 3), "MSI address");
	FUZZ_CHECK(!memcmp(cfg + PCI_CFG_SPACE_SIZE, zeroes, sizeof(zeroes)),
		   "extended space not zero");
}

/* The reset state, from the device model alone. */
static void check_reset(const u8 *cfg, unsigned int order)
{
	unsigned int pos, n = 0, ids = 0;

	FUZZ_CHECK(get(cfg, PCI_VENDOR_ID, 2) == MGPU_PCI_VENDOR_ID &&
		   get(cfg, PCI_DEVICE_ID, 2) == MGPU_PCI_DEVICE_ID, "IDs");
	FUZZ_CHECK(get(cfg, PCI_CLASS_REVISION, 4) ==
		   (0x030200U << 8 | MGPU_PCI_REVISION), "class");
	FUZZ_CHECK(!get(cfg, PCI_COMMAND, 2), "command");
	FUZZ_CHECK(!get(cfg, PCI_BASE_ADDRESS_0, 4) &&
		   get(cfg, PCI_BASE_ADDRESS_2, 4) == 0xc &&
		   !get(cfg, PCI_BASE_ADDRESS_3, 4), "BARs assigned at reset");
	/* Capability list: PCIe then MSI, then the end. */
	for (pos = cfg[PCI_CAPABILITY_LIST]; pos; pos = cfg[pos + 1]) {
		FUZZ_CHECK(pos >= 0x40 && pos <= 0xfc && !(pos & 3) && n < 2,
			   "capability at %#x", pos);
		ids = ids << 8 | cfg[pos];
		n++;
	}
	FUZZ_CHECK(ids == (PCI_CAP_ID_EXP << 8 | PCI_CAP_ID_MSI),
		   "capabilities %#x", ids);
	FUZZ_CHECK(get(cfg, CAP_EXP + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR,
		   "FLR not advertised");
}

static void model_write(unsigned int pos, const u8 *buf, unsigned int len)
{
	unsigned int i, off;
	u8 wm, w1c;

	for (i = 0; i < len; i++) {
		off = pos + i;
		if (off >= PCI_CFG_SPACE_SIZE)
			continue;
		wm = vgpu.cfg_wmask[off];
		w1c = vgpu.cfg_w1c[off];
		/* no byte is both writable and RW1C */
		FUZZ_CHECK(!(wm & w1c), "byte %#x: wmask & w1c", off);
		model[off] = ((model[off] & ~wm) | (buf[i] & wm)) &
			     ~(buf[i] & w1c);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u8 buf[CFG_SIZE], init[CFG_SIZE];
	unsigned int order, pos, len, i, updates, flr;
	u64 vram_size, bar2;
	size_t in = 2;
	ssize_t ret;
	u8 kind;

	if (size < 2)
		return 0;
	vram_size = (1ULL << 20) << (data[0] % 17);	/* 1 MiB .. 64 GiB */
	order = data[1] % MGPU_NR_TYPES;
	memset(&vgpu, 0, sizeof(vgpu));
	parent.types[order].order = order;
	parent.types[order].parent = &parent;
	vgpu.parent = &parent;
	vgpu.type = &parent.types[order];
	vgpu.vram_size = vram_size;
	mgpu_cfg_init(&vgpu);
	memcpy(model, vgpu.cfg, CFG_SIZE);
	memcpy(init, vgpu.cfg, CFG_SIZE);
	check_reset(init, order);
	check_spec(vgpu.cfg, init, vram_size, order);
	irq_updates = 0;
	resets = 0;

	while (in + 5 <= size) {
		kind = data[in];
		pos = (data[in + 1] | data[in + 2] << 8) % CFG_SIZE;
		len = (data[in + 3] | data[in + 4] << 8) % (CFG_SIZE - pos + 1);
		in += 5;
		switch (kind % 4) {
		case 0:	/* read */
			memset(buf, 0xa5, sizeof(buf));
			ret = mgpu_cfg_rw(&vgpu, pos, (char *)buf, len, false);
			FUZZ_CHECK(ret == len, "read returned %zd", ret);
			FUZZ_CHECK(!memcmp(buf, model + pos, len),
				   "read of %u at %#x", len, pos);
			break;
		case 1:	/* write data from the input */
		case 2:
			for (i = 0; i < len; i++)
				buf[i] = in < size ? data[in++] : (u8)(i * 37);
			model_write(pos, buf, len);
			updates = irq_updates;
			flr = resets;
			ret = mgpu_cfg_rw(&vgpu, pos, (char *)buf, len, true);
			FUZZ_CHECK(ret == len, "write returned %zd", ret);
			FUZZ_CHECK(irq_updates - updates ==
				   overlaps(pos, len, PCI_COMMAND, 2),
				   "INTx update on a write of %u at %#x", len,
				   pos);
			/* Initiate FLR, written as 1, resets the function. */
			if (overlaps(pos, len, DEVCTL, 2) &&
			    get(model, DEVCTL, 2) & PCI_EXP_DEVCTL_BCR_FLR) {
				FUZZ_CHECK(resets == flr + 1, "no FLR");
				memcpy(model, init, CFG_SIZE);
			} else {
				FUZZ_CHECK(resets == flr, "spurious FLR");
			}
			break;
		case 3:	/* size BAR2/3 as firmware does, then restore */
			memcpy(buf, model + PCI_BASE_ADDRESS_2, 8);
			put32(buf + 8, 0xffffffff);
			put32(buf + 12, 0xffffffff);
			mgpu_cfg_rw(&vgpu, PCI_BASE_ADDRESS_2, (char *)buf + 8,
				    8, true);
			mgpu_cfg_rw(&vgpu, PCI_BASE_ADDRESS_2, (char *)buf + 8,
				    8, false);
			bar2 = (u64)get(buf + 8, 4, 4) << 32 |
			       (get(buf + 8, 0, 4) & ~0xfU);
			FUZZ_CHECK(~bar2 + 1 == vram_size, "BAR2 sizes %#llx",
				   (unsigned long long)(~bar2 + 1));
			mgpu_cfg_rw(&vgpu, PCI_BASE_ADDRESS_2, (char *)buf, 8,
				    true);
			break;
		}
		FUZZ_CHECK(!vgpu.lock.locked, "lock left held");
		FUZZ_CHECK(!memcmp(vgpu.cfg, model, CFG_SIZE),
			   "config space differs from the model");
		check_spec(vgpu.cfg, init, vram_size, order);
	}
	return 0;
}
