// SPDX-License-Identifier: GPL-2.0
/* mgpu_vfio_fuzz: operations on the device (see fuzz.h). */
#include "fuzz.h"

/* ---------------------------------------------------------------------- */
/* Operations.  Each runs with the instance's lock held for reading.     */

void *ptr_or_bad(struct fz_thread *t, void *good)
{
	if (!chance(t, 3))
		return good;
	return rn(t, 2) ? NULL : (void *)(uintptr_t)0x10;
}

int sys_ret(long r)
{
	return r < 0 ? -errno : (int)(r > 0x7fffffff ? 0x7fffffff : r);
}

int op_get_info(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	/* the kernel may write up to argsz bytes (capabilities) */
	union {
		struct vfio_device_info info;
		char buf[FZ_ARGBUF];
	} u = { 0 };
	struct vfio_device_info *ip = &u.info;
	void *p = ptr_or_bad(t, &u);
	int ret;

	ip->argsz = chance(t, 80) ? sizeof(*ip) : rnd_argsz(t);
	r->a = ip->argsz;
	ret = sys_ret(ioctl(in->fd, VFIO_DEVICE_GET_INFO, p));
	if (!ret && p == &u) {
		if (!(ip->flags & VFIO_DEVICE_FLAGS_PCI) ||
		    !(ip->flags & VFIO_DEVICE_FLAGS_RESET) ||
		    ip->num_regions < VFIO_PCI_NUM_REGIONS ||
		    ip->num_irqs < VFIO_PCI_NUM_IRQS)
			fz_fail(t, "GET_INFO: flags %#x regions %u irqs %u",
				ip->flags, ip->num_regions, ip->num_irqs);
	}
	return ret;
}

int op_region_info(struct fz_thread *t, struct fz_inst *in,
			  struct fz_rec *r)
{
	union {
		struct vfio_region_info info;
		char buf[FZ_ARGBUF];
	} u = { 0 };
	struct vfio_region_info *ip = &u.info;
	void *p = ptr_or_bad(t, &u);
	int ret;

	ip->argsz = chance(t, 85) ? sizeof(*ip) : rnd_argsz(t);
	ip->index = chance(t, 85) ? rn(t, VFIO_PCI_NUM_REGIONS + 2) :
				     rnd_val(t);
	r->a = ip->argsz;
	r->b = ip->index;
	ret = sys_ret(ioctl(in->fd, VFIO_DEVICE_GET_REGION_INFO, p));
	if (!ret && p == &u && ip->index == VFIO_PCI_BAR2_REGION_INDEX &&
	    ip->size != in->vram)
		fz_fail(t, "REGION_INFO: BAR2 size %#llx, VRAM %#" PRIx64,
			(unsigned long long)ip->size, in->vram);
	if (!ret && p == &u && ip->index >= VFIO_PCI_NUM_REGIONS &&
	    ip->size)
		fz_fail(t, "REGION_INFO: region %u has size %#llx", ip->index,
			(unsigned long long)ip->size);
	return ret;
}

int op_irq_info(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	union {
		struct vfio_irq_info info;
		char buf[FZ_ARGBUF];
	} u = { 0 };
	void *p = ptr_or_bad(t, &u);

	u.info.argsz = chance(t, 85) ? sizeof(u.info) : rnd_argsz(t);
	u.info.index = chance(t, 85) ? rn(t, VFIO_PCI_NUM_IRQS + 2) :
				       rnd_val(t);
	r->a = u.info.argsz;
	r->b = u.info.index;
	return sys_ret(ioctl(in->fd, VFIO_DEVICE_GET_IRQ_INFO, p));
}

int rnd_fd(struct fz_thread *t, struct fz_inst *in)
{
	switch (rn(t, 8)) {
	case 0:
		return -1;
	case 1:
		return rn(t, 64);	/* whatever that is */
	case 2:
		return in->fd;		/* not an eventfd */
	default:
		return t->efd[rn(t, FZ_NEFD)];
	}
}

int op_set_irqs(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	static const uint32_t data[] = {
		VFIO_IRQ_SET_DATA_NONE, VFIO_IRQ_SET_DATA_BOOL,
		VFIO_IRQ_SET_DATA_EVENTFD,
	};
	static const uint32_t action[] = {
		VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_UNMASK,
		VFIO_IRQ_SET_ACTION_TRIGGER,
	};
	union {
		struct vfio_irq_set s;
		char buf[sizeof(struct vfio_irq_set) + 16 * sizeof(int32_t)];
	} u;
	unsigned int i, n;
	void *p = ptr_or_bad(t, &u);

	memset(&u, 0, sizeof(u));
	if (chance(t, 90)) {
		u.s.flags = data[rn(t, 3)] | action[rn(t, 3)];
		u.s.index = rn(t, VFIO_PCI_NUM_IRQS + 1);
		u.s.start = chance(t, 85) ? 0 : rn(t, 3);
		u.s.count = chance(t, 10) ? 0 : (chance(t, 85) ? 1 : rn(t, 4));
	} else {
		u.s.flags = rnd_val(t);
		u.s.index = rnd_val(t);
		u.s.start = rnd_val(t);
		u.s.count = rnd_val(t);
	}
	n = u.s.count < 16 ? u.s.count : 16;
	if (u.s.flags & VFIO_IRQ_SET_DATA_BOOL) {
		for (i = 0; i < n; i++)
			((uint8_t *)u.s.data)[i] = rn(t, 3);
		u.s.argsz = sizeof(u.s) + n;
	} else if (u.s.flags & VFIO_IRQ_SET_DATA_EVENTFD) {
		for (i = 0; i < n; i++)
			((int32_t *)u.s.data)[i] = rnd_fd(t, in);
		u.s.argsz = sizeof(u.s) + n * sizeof(int32_t);
	} else {
		u.s.argsz = sizeof(u.s);
	}
	if (chance(t, 5))
		u.s.argsz = rnd_val(t) & 0xffffffff;
	if (u.s.argsz > sizeof(u))
		u.s.argsz = chance(t, 50) ? sizeof(u) : u.s.argsz;
	r->a = u.s.flags;
	r->b = (uint64_t)u.s.index << 32 | u.s.count;
	r->c = u.s.argsz;
	/* an argsz past our buffer would read beyond it: keep it in */
	if (u.s.argsz > sizeof(u) && p == &u)
		u.s.argsz = sizeof(u);
	return sys_ret(ioctl(in->fd, VFIO_DEVICE_SET_IRQS, p));
}

int op_reset(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	return sys_ret(ioctl(in->fd, VFIO_DEVICE_RESET));
}

static const unsigned int fz_widths[] = { 1, 2, 4, 4, 4, 8, 3, 5, 16, 64 };

unsigned int rnd_width(struct fz_thread *t)
{
	if (chance(t, 2))
		return rn(t, 8192) + 1;
	return fz_widths[rn(t, ARRAY_SIZE(fz_widths))];
}

/* pread/pwrite of region @idx at @off; checks the documented result. */
int region_rw(struct fz_thread *t, struct fz_inst *in,
		     unsigned int idx, uint64_t off, unsigned int len,
		     bool write, void *buf)
{
	uint64_t size = idx < VFIO_PCI_NUM_REGIONS ? in->reg_size[idx] : 0;
	uint64_t base = idx < VFIO_PCI_NUM_REGIONS ? in->reg_off[idx] :
			(uint64_t)idx << 40;
	bool inside = off < size && len <= size - off;
	bool expect_ok = inside && len;
	ssize_t n;
	int ret;

	if (idx == VFIO_PCI_BAR0_REGION_INDEX)
		expect_ok = expect_ok && !(off & 3) && !(len & 3);
	if (write)
		n = pwrite(in->fd, buf, len, base + off);
	else
		n = pread(in->fd, buf, len, base + off);
	ret = sys_ret(n);
	if (!len)
		return ret;
	if (expect_ok && n != (ssize_t)len)
		fz_fail(t, "%s of %u bytes at region %u offset %#" PRIx64
			": %zd (%s), expected %u", write ? "write" : "read",
			len, idx, off, n, n < 0 ? strerror(errno) : "short",
			len);
	else if (!inside && n >= 0)
		fz_fail(t, "%s of %u bytes at region %u offset %#" PRIx64
			" (size %#" PRIx64 ") succeeded: %zd",
			write ? "write" : "read", len, idx, off, size, n);
	return ret;
}

uint64_t rnd_off(struct fz_thread *t, uint64_t size, unsigned int w)
{
	switch (rn(t, 8)) {
	case 0:
		return size - rn(t, 2 * w + 1);	/* around the end */
	case 1:
		return rnd_val(t);
	case 2:
		return size + rn(t, 64);
	default:
		return size ? rn(t, size) : 0;
	}
}

int op_cfg_read(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = rnd_width(t);
	uint64_t off;

	off = chance(t, 70) ? rn(t, 0x100) : rnd_off(t, 0x1000, w);
	r->a = off;
	r->b = w;
	return region_rw(t, in, VFIO_PCI_CONFIG_REGION_INDEX, off, w, false,
			 buf);
}

int op_cfg_write(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	static const uint16_t hot[] = {
		PCI_COMMAND, PCI_STATUS, PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_1,
		PCI_BASE_ADDRESS_2, PCI_BASE_ADDRESS_3, PCI_BASE_ADDRESS_4,
		PCI_ROM_ADDRESS, PCI_INTERRUPT_LINE, PCI_CACHE_LINE_SIZE,
		0x80, 0x80 + PCI_MSI_FLAGS, 0x80 + PCI_MSI_ADDRESS_LO,
		0x80 + PCI_MSI_ADDRESS_HI, 0x80 + PCI_MSI_DATA_64,
		0x40 + PCI_EXP_DEVCTL, 0x40 + PCI_EXP_DEVSTA,
		0x40 + PCI_EXP_LNKCTL, 0x40 + PCI_EXP_DEVCTL2,
	};
	unsigned char buf[8192];
	unsigned int w = rnd_width(t), i;
	uint64_t off, v = rnd_val(t);

	if (chance(t, 70)) {
		off = hot[rn(t, ARRAY_SIZE(hot))];
		if (chance(t, 30))
			w = 1 << rn(t, 3);
	} else {
		off = rnd_off(t, 0x1000, w);
	}
	if (w > sizeof(buf))
		w = sizeof(buf);
	for (i = 0; i < w; i++)
		buf[i] = i < 8 ? v >> (8 * i) : rnd(t);
	/* FLR: Initiate Function Level Reset in DEVCTL, now and then */
	if (off == 0x40 + PCI_EXP_DEVCTL && w >= 2 && chance(t, 30))
		buf[1] |= PCI_EXP_DEVCTL_BCR_FLR >> 8;
	/* keep memory and bus master on mostly (fz_enable() restores them) */
	if (off == PCI_COMMAND && w >= 1 && chance(t, 70))
		buf[0] |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	r->a = off;
	r->b = w;
	r->c = v;
	return region_rw(t, in, VFIO_PCI_CONFIG_REGION_INDEX, off, w, true,
			 buf);
}

uint64_t rnd_reg(struct fz_thread *t, struct fz_inst *in)
{
	static const uint16_t regs[] = {
		MGPU_REG_MAGIC, MGPU_REG_VERSION, MGPU_REG_VRAM_SIZE_LO,
		MGPU_REG_NUM_QUEUES, MGPU_REG_CAPS, MGPU_REG_SCRATCH,
		MGPU_REG_FRACTION, MGPU_REG_INT_STATUS, MGPU_REG_INT_MASK,
		MGPU_REG_TIMESTAMP_LO, MGPU_REG_TIMESTAMP_HI,
		MGPU_REG_CMD_BUDGET_MS,
	};

	switch (rn(t, 6)) {
	case 0:
	case 1:
		return regs[rn(t, ARRAY_SIZE(regs))];
	case 2:
	case 3:
		return MGPU_REG_QUEUE(rn(t, in->nq + 1)) + 4 * rn(t, 12);
	case 4:
		return rn(t, MGPU_REGS_SIZE) & ~3ULL;
	default:
		return rnd_off(t, MGPU_REGS_SIZE, 4);
	}
}

int op_bar0_read(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = chance(t, 85) ? 4 : rnd_width(t);
	uint64_t off = rnd_reg(t, in);

	if (chance(t, 5))
		off += rn(t, 4);
	r->a = off;
	r->b = w;
	return region_rw(t, in, VFIO_PCI_BAR0_REGION_INDEX, off, w, false,
			 buf);
}

int op_bar0_write(struct fz_thread *t, struct fz_inst *in,
			 struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = chance(t, 85) ? 4 : rnd_width(t), i;
	uint64_t off = rnd_reg(t, in), v = rnd_val(t);
	uint64_t q = (off - MGPU_REG_QUEUE_BASE) % MGPU_REG_QUEUE_STRIDE;

	if (chance(t, 5))
		off += rn(t, 4);
	/* plausible queue values: a ring in VRAM, a small size, a tail */
	if (off >= MGPU_REG_QUEUE_BASE && chance(t, 60)) {
		if (q == MGPU_Q_RING_LO || q == MGPU_Q_TAIL_ADDR)
			v = rn(t, FZ_HOT_VRAM) & ~63ULL;
		else if (q == MGPU_Q_RING_SIZE)
			v = 1U << rn(t, 18);
		else if (q == MGPU_Q_TAIL)
			v = rn(t, 64);
		else if (q == MGPU_Q_CTRL)
			v = rn(t, 8);
		else if (q == MGPU_Q_RING_HI)
			v = 0;
	}
	if (w > sizeof(buf))
		w = sizeof(buf);
	for (i = 0; i < w; i++)
		buf[i] = i < 8 ? v >> (8 * i) : rnd(t);
	r->a = off;
	r->b = w;
	r->c = v;
	return region_rw(t, in, VFIO_PCI_BAR0_REGION_INDEX, off, w, true, buf);
}

uint64_t rnd_vram(struct fz_thread *t, struct fz_inst *in)
{
	if (chance(t, 90))
		return rn(t, in->vram < FZ_HOT_VRAM ? in->vram : FZ_HOT_VRAM);
	return rn(t, in->vram);
}

int op_bar2_rw(struct fz_thread *t, struct fz_inst *in,
		      struct fz_rec *r)
{
	unsigned char buf[8192];
	unsigned int w = rnd_width(t), i;
	uint64_t off = chance(t, 80) ? rnd_vram(t, in) : rnd_off(t, in->vram, w);
	bool write = rn(t, 2);

	if (w > sizeof(buf))
		w = sizeof(buf);
	if (write)
		for (i = 0; i < w; i++)
			buf[i] = rnd(t);
	r->a = off;
	r->b = w;
	r->c = write;
	return region_rw(t, in, VFIO_PCI_BAR2_REGION_INDEX, off, w, write,
			 buf);
}

/* Any region index, including the ones that do not exist. */
int op_region_rw(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	unsigned char buf[64];
	unsigned int idx = rn(t, VFIO_PCI_NUM_REGIONS + 4);
	unsigned int w = 1 << rn(t, 4);
	uint64_t size = idx < VFIO_PCI_NUM_REGIONS ? in->reg_size[idx] : 0;
	uint64_t off = rnd_off(t, size ? size : 0x1000, w);
	bool write = rn(t, 2);

	/* writes only where they cannot hurt the library: config, BAR2 */
	if (idx == VFIO_PCI_BAR0_REGION_INDEX)
		write = false;
	memset(buf, 0, sizeof(buf));
	r->a = (uint64_t)idx << 40 | off;
	r->b = w;
	r->c = write;
	return region_rw(t, in, idx, off, w, write, buf);
}

bool fz_touch_page(unsigned char *p, bool write, unsigned char v)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		fz_jb = NULL;
		return false;
	}
	fz_jb = &jb;
	if (write)
		WRITE_ONCE(*p, v);
	else
		(void)READ_ONCE(*p);
	fz_jb = NULL;
	return true;
}

int op_mmap(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	uint64_t pages = in->vram / fz_page, off, len;
	unsigned int idx = VFIO_PCI_BAR2_REGION_INDEX, j;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED;
	bool expect_ok;
	void *p;

	for (j = 0; j < FZ_NMAP && sl->map[j].addr; j++)
		;
	if (j == FZ_NMAP)
		return -ENOSPC;
	off = rn(t, chance(t, 80) ? FZ_HOT_VRAM / fz_page : pages) * fz_page;
	len = (rn(t, 16) + 1) * fz_page;
	if (chance(t, 5))
		off = (pages - rn(t, 4)) * fz_page;	/* crossing the end */
	if (chance(t, 3))
		off += rn(t, fz_page);
	if (chance(t, 5))
		idx = rn(t, VFIO_PCI_NUM_REGIONS + 1);
	if (chance(t, 8))
		flags = MAP_PRIVATE;
	if (chance(t, 15))
		prot = rn(t, 8);
	if (chance(t, 5))
		len = 0;
	expect_ok = idx == VFIO_PCI_BAR2_REGION_INDEX && flags == MAP_SHARED &&
		    !(prot & PROT_EXEC) && len && off % fz_page == 0 &&
		    off + len <= in->vram;
	r->a = off;
	r->b = len;
	r->c = (uint64_t)idx << 32 | flags << 8 | prot;
	p = mmap(NULL, len, prot, flags, in->fd,
		 (idx < VFIO_PCI_NUM_REGIONS ? in->reg_off[idx] :
		  (uint64_t)idx << 40) + off);
	if (p == MAP_FAILED) {
		int e = errno;

		if (expect_ok && e != ENOMEM)
			fz_fail(t, "mmap off %#" PRIx64 " len %#" PRIx64
				" prot %#x: %s", off, len, prot, strerror(e));
		return -e;
	}
	if (!expect_ok) {
		fz_fail(t, "mmap region %u off %#" PRIx64 " len %#" PRIx64
			" prot %#x flags %#x succeeded", idx, off, len, prot,
			flags);
		munmap(p, len);
		return 0;
	}
	sl->map[j].addr = p;
	sl->map[j].len = len;
	/* a page or two right away, as a guest would */
	if ((prot & PROT_WRITE) && !fz_touch_page(p, true, rnd(t)))
		fz_fail(t, "fault on a fresh BAR2 mapping at %#" PRIx64, off);
	return 0;
}

int pick_map(struct fz_thread *t, struct fz_slot *sl)
{
	unsigned int j, s = rn(t, FZ_NMAP);

	for (j = 0; j < FZ_NMAP; j++)
		if (sl->map[(s + j) % FZ_NMAP].addr)
			return (s + j) % FZ_NMAP;
	return -1;
}

int op_munmap(struct fz_thread *t, struct fz_inst *in,
		     struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl);
	struct fz_map *m;
	size_t pages, first;

	if (j < 0)
		return -ENOENT;
	m = &sl->map[j];
	pages = m->len / fz_page;
	r->a = (uintptr_t)m->addr;
	r->b = m->len;
	/* a hole in the middle splits the VMA; keep the head tracked */
	if (pages > 2 && chance(t, 30)) {
		first = 1 + rn(t, pages - 1);
		r->c = first;
		if (munmap((char *)m->addr + first * fz_page,
			   (pages - first) * fz_page))
			return -errno;
		m->len = first * fz_page;
		return 0;
	}
	if (munmap(m->addr, m->len))
		return -errno;
	m->addr = NULL;
	return 0;
}

int op_mremap(struct fz_thread *t, struct fz_inst *in,
		     struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl);
	size_t nlen;
	void *p;

	if (j < 0)
		return -ENOENT;
	nlen = (rn(t, 8) + 1) * fz_page;
	r->a = (uintptr_t)sl->map[j].addr;
	r->b = sl->map[j].len;
	r->c = nlen;
	p = mremap(sl->map[j].addr, sl->map[j].len, nlen, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -errno;
	sl->map[j].addr = p;
	sl->map[j].len = nlen;
	return 0;
}

int op_touch(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned char *p;
	int j = pick_map(t, sl);
	bool write = rn(t, 2);
	uint64_t off;

	if (j < 0 || chance(t, 30)) {
		/* the library's mapping of the whole BAR */
		off = rnd_vram(t, in);
		p = (unsigned char *)mgpu_vram(in->dev) + off;
	} else {
		off = rn(t, sl->map[j].len);
		p = (unsigned char *)sl->map[j].addr + off;
	}
	r->a = (uintptr_t)p;
	r->b = write;
	if (!fz_touch_page(p, write, rnd(t))) {
		/* PROT_NONE or read-only mappings fault: that is fine */
		if (j >= 0 && p >= (unsigned char *)sl->map[j].addr &&
		    p < (unsigned char *)sl->map[j].addr + sl->map[j].len)
			return -EFAULT;
		t->faults++;
		fz_fail(t, "fault touching VRAM offset %#" PRIx64
			" through the library's mapping", off);
		return -EFAULT;
	}
	return 0;
}
