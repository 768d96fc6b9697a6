// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu_vfio_fuzz: operations on queues, commands, DMA and sysfs, and the
 * fuzzing and recycling threads (see fuzz.h).
 */
#include "fuzz.h"

int op_queue_open(struct fz_thread *t, struct fz_inst *in,
			 struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int idx, entries, flags = 0;
	int ret;

	if (sl->q)
		return -EEXIST;
	idx = chance(t, 80) ? t->id % in->nq : rn(t, in->nq + 1);
	entries = chance(t, 5) ? rn(t, 70000) : 1U << (1 + rn(t, 9));
	if (chance(t, 30))
		flags |= MGPU_QUEUE_RING_SYSMEM;
	if (chance(t, 30))
		flags |= MGPU_QUEUE_TAIL_POLL;
	if (chance(t, 2))
		flags |= 1U << rn(t, 8);
	r->a = idx;
	r->b = entries;
	r->c = flags;
	ret = mgpu_queue_open(in->dev, idx, entries, flags, &sl->q);
	if (ret) {
		sl->q = NULL;
		return ret;
	}
	sl->qflags = flags;
	mgpu_queue_set_timeout(sl->q, FZ_WAIT_MS);
	return 0;
}

uint64_t rnd_sysmem(struct fz_thread *t, struct fz_inst *in,
			   struct fz_slot *sl, uint64_t len)
{
	unsigned int j = rn(t, FZ_NDMA);

	switch (t->clean ? 0 : rn(t, 4)) {
	case 0:
	case 1:
		if (sl->dma[j].cpu && sl->dma[j].size >= len)
			return sl->dma[j].iova + rn(t, sl->dma[j].size - len + 1);
		return FZ_RAW_IOVA + rn(t, FZ_RAW_SLOTS * FZ_RAW_BUF);
	case 2:
		return FZ_RAW_IOVA + rn(t, FZ_RAW_SLOTS * FZ_RAW_BUF);
	default:
		return rnd_val(t);
	}
}

uint64_t rnd_addr(struct fz_thread *t, struct fz_inst *in,
			 struct fz_slot *sl, uint64_t len, bool sysmem,
			 unsigned int align)
{
	uint64_t a;

	if (sysmem)
		a = rnd_sysmem(t, in, sl, len);
	else if (!bad(t, 10))
		a = rnd_vram(t, in);
	else if (chance(t, 50))
		a = in->vram - len + rn(t, 16);
	else
		a = rnd_val(t);
	if (!bad(t, 5))
		a &= ~(uint64_t)(align - 1);
	if (!sysmem && a + len > in->vram && !bad(t, 20))
		a = (in->vram - len) & ~(uint64_t)(align - 1);
	return a;
}

uint64_t rnd_len(struct fz_thread *t)
{
	switch (t->clean ? 3 + rn(t, 7) : rn(t, 10)) {
	case 0:
		return rnd_val(t);
	case 1:
		return rn(t, 1 << 20);
	case 2:
		return 0;
	case 3:
		return rn(t, 64 << 10) + 1;
	default:
		return rn(t, 4096) + 1;
	}
}

void gen_cmd(struct fz_thread *t, struct fz_inst *in,
		    struct fz_slot *sl, struct mgpu_cmd *c)
{
	unsigned int op = rn(t, t->clean ? 16 : 19), i;
	uint32_t f;
	uint64_t len;

	memset(c, 0, sizeof(*c));
	switch (op) {
	case 0:
		mgpu_cmd_nop(c);
		break;
	case 1:
	case 2:
		f = (chance(t, 30) ? MGPU_F_DST_SYSMEM : 0) |
		    (chance(t, 20) ? MGPU_F_IRQ : 0);
		mgpu_cmd_fence(c, rnd_addr(t, in, sl, 8, f & MGPU_F_DST_SYSMEM, 8),
			       rnd(t), f);
		break;
	case 3:
	case 4:
	case 5:
		f = (chance(t, 30) ? MGPU_F_SRC_SYSMEM : 0) |
		    (chance(t, 30) ? MGPU_F_DST_SYSMEM : 0);
		len = rnd_len(t);
		mgpu_cmd_copy(c, rnd_addr(t, in, sl, len, f & MGPU_F_DST_SYSMEM, 1),
			      rnd_addr(t, in, sl, len, f & MGPU_F_SRC_SYSMEM, 1),
			      len, f);
		break;
	case 6:
	case 7:
	case 8:
		f = chance(t, 30) ? MGPU_F_DST_SYSMEM : 0;
		len = rnd_len(t);
		if (!bad(t, 10))
			len &= ~3ULL;
		mgpu_cmd_fill(c, rnd_addr(t, in, sl, len, f, 4), len, rnd(t), f);
		break;
	case 9:
		f = chance(t, 30) ? MGPU_F_DST_SYSMEM : 0;
		mgpu_cmd_timestamp(c, rnd_addr(t, in, sl, 8, f, 8), f);
		break;
	case 10:
	case 11:
	case 12: {
		uint32_t m = 1 + rn(t, 16), n = 1 + rn(t, 16), k = 1 + rn(t, 16);
		bool i8 = rn(t, 2);
		uint64_t esz = i8 ? 1 : 4, a, b, cc;

		if (bad(t, 5))
			m = rnd_val(t);
		if (bad(t, 5))
			n = rnd_val(t);
		if (bad(t, 5))
			k = rnd_val(t);
		if (chance(t, 2)) {
			/* long and thin: big dimensions, little work */
			m = MGPU_GEMM_MAX_DIM;
			n = 1;
			k = 1 + rn(t, 4);
		}
		a = rnd_addr(t, in, sl, 0, false, 4);
		/* A, B and C one after the other, inside VRAM if they fit */
		if (a + ((uint64_t)m * k + (uint64_t)k * n) * esz +
		    (uint64_t)m * n * 4 + 128 > in->vram && !bad(t, 50))
			a = 0;
		b = (a + (uint64_t)m * k * esz + 63) & ~63ULL;
		cc = (b + (uint64_t)k * n * esz + 63) & ~63ULL;
		if (bad(t, 10))
			cc = a;		/* overlapping output */
		if (bad(t, 10))
			b = rnd_addr(t, in, sl, 0, false, 4);
		if (i8)
			mgpu_cmd_gemm_i8(c, a, b, cc, m, n, k, rnd(t), rnd(t));
		else
			mgpu_cmd_gemm_f32(c, a, b, cc, m, n, k, 1.0f,
					  chance(t, 50) ? 0.0f : 0.5f);
		/* the transposed forms of the training commands */
		if (chance(t, 3))
			c->flags |= MGPU_F_GEMM_TRANS_A;
		if (chance(t, 3))
			c->flags |= MGPU_F_GEMM_TRANS_B;
		break;
	}
	case 13:
	case 14: {
		/* VEC: elementwise, z may be x or y, or overlap them badly */
		uint32_t vop = bad(t, 10) ? rn(t, 64) : rn(t, MGPU_VEC_OP_LAST + 1);
		uint32_t n = 1 + rn(t, chance(t, 4) ? 1 << 16 : 64);
		uint64_t x, y, z;

		if (bad(t, 5))
			n = chance(t, 2) ? 0 : (uint32_t)rnd_val(t);
		x = rnd_addr(t, in, sl, (uint64_t)n * 4, false, 4);
		y = rnd_addr(t, in, sl, (uint64_t)n * 4, false, 4);
		z = chance(t, 3) ? x : chance(t, 3) ? y :
			rnd_addr(t, in, sl, (uint64_t)n * 4, false, 4);
		if (bad(t, 10))
			z = x + 4 * (1 + rn(t, 8));	/* partly overlapping */
		mgpu_cmd_vec(c, vop, x, y, z, n, bad(t, 10) ? 1.0f : 0.5f);
		break;
	}
	case 15: {
		/* XENT: rows of logits, int32 targets (random: often bad) */
		uint32_t m = 1 + rn(t, 32), n = 1 + rn(t, chance(t, 4) ? 16384 : 64);
		uint64_t x, tg, g, loss;

		if (bad(t, 5))
			m = chance(t, 2) ? 0 : (uint32_t)rnd_val(t);
		if (bad(t, 5))
			n = chance(t, 2) ? MGPU_XENT_MAX_N + 1 : (uint32_t)rnd_val(t);
		x = rnd_addr(t, in, sl, (uint64_t)m * n * 4, false, 4);
		tg = rnd_addr(t, in, sl, (uint64_t)m * 4, false, 4);
		g = chance(t, 2) ? x : rnd_addr(t, in, sl, (uint64_t)m * n * 4,
						 false, 4);
		loss = rnd_addr(t, in, sl, (uint64_t)m * 4, false, 4);
		mgpu_cmd_xent(c, x, tg, g, loss, m, n,
			      (chance(t, 2) ? MGPU_F_XENT_MEAN : 0) |
			      (chance(t, 2) ? MGPU_F_XENT_SCALE : 0));
		break;
	}
	default:
		/* anything at all */
		c->opcode = chance(t, 50) ? rn(t, 8) : (uint32_t)rnd(t);
		c->flags = chance(t, 50) ? rn(t, 16) : (uint32_t)rnd(t);
		for (i = 0; i < 7; i++)
			c->arg[i] = chance(t, 50) ? rnd_vram(t, in) : rnd_val(t);
		return;
	}
	/* reserved flags and arguments */
	if (bad(t, 5))
		c->flags |= 1U << rn(t, 32);
	if (bad(t, 5))
		c->arg[1 + rn(t, 6)] = rnd_val(t);
}

void check_qerror(struct fz_thread *t, struct fz_slot *sl)
{
	uint32_t code, head;

	if (mgpu_queue_error(sl->q, &code, &head))
		return;
	if (code > MGPU_ERR_NO_MEMORY)
		fz_fail(t, "queue %u: error code %u is not one of MGPU_ERR_*",
			mgpu_queue_index(sl->q), code);
	/*
	 * Not against the library's ring size: other threads rewrite the
	 * queue registers (RING_SIZE while disabled) behind its back.
	 */
	if (code != MGPU_ERR_NONE && head >= MGPU_RING_MAX_ENTRIES)
		fz_fail(t, "queue %u: error head %u past any ring",
			mgpu_queue_index(sl->q), head);
}

int op_submit(struct fz_thread *t, struct fz_inst *in,
		     struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	struct mgpu_cmd cmds[16];
	unsigned int n = 1 + rn(t, 16), i;
	int ret;

	if (!sl->q)
		return -ENOENT;
	/* a third of the batches are valid commands only */
	t->clean = chance(t, 33);
	for (i = 0; i < n; i++)
		gen_cmd(t, in, sl, &cmds[i]);
	t->clean = false;
	r->a = n;
	r->b = cmds[0].opcode;
	r->c = cmds[0].arg[0];
	ret = mgpu_submit(sl->q, cmds, n);
	if (ret == -EIO || ret == -ETIMEDOUT) {
		check_qerror(t, sl);
		ret = mgpu_queue_reset(sl->q) ? -EIO : ret;
	}
	return ret;
}

int op_sync(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int ret;

	if (!sl->q)
		return -ENOENT;
	ret = mgpu_queue_sync(sl->q, FZ_WAIT_MS);
	r->a = ret;
	check_qerror(t, sl);
	if (ret)
		mgpu_queue_reset(sl->q);
	return ret;
}

int op_queue_close(struct fz_thread *t, struct fz_inst *in,
			  struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];

	if (!sl->q)
		return -ENOENT;
	mgpu_queue_close(sl->q);
	sl->q = NULL;
	return 0;
}

int op_dma_alloc(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int j = rn(t, FZ_NDMA);
	size_t size = (1 + rn(t, 16)) * fz_page;

	if (sl->dma[j].cpu)
		return -EEXIST;
	r->a = size;
	return mgpu_dma_alloc(in->dev, size, &sl->dma[j]);
}

int op_dma_free(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int j = rn(t, FZ_NDMA);

	if (!sl->dma[j].cpu)
		return -ENOENT;
	r->a = sl->dma[j].iova;
	/* possibly while a command of this thread still uses it */
	return mgpu_dma_free(in->dev, &sl->dma[j]);
}

/* Raw container ioctls: map and unmap in a window of our own. */
int op_raw_dma(struct fz_thread *t, struct fz_inst *in,
		      struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	unsigned int s = rn(t, FZ_RAW_SLOTS);
	int j;

	if (in->container < 0)
		return -ENODEV;
	switch (rn(t, 6)) {
	case 0:
	case 1:
	case 2: {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)t->rawbuf,
			.iova = FZ_RAW_IOVA + (uint64_t)s * FZ_RAW_BUF,
			.size = FZ_RAW_BUF,
		};

		j = pick_map(t, sl);
		if (j >= 0 && chance(t, 40)) {
			/* VRAM as DMA memory: raw page frames */
			map.vaddr = (uintptr_t)sl->map[j].addr;
			map.size = sl->map[j].len < FZ_RAW_BUF ?
				   sl->map[j].len : FZ_RAW_BUF;
		}
		if (chance(t, 10))
			map.flags = rnd_val(t);
		if (chance(t, 5))
			map.size = rnd_val(t);
		if (chance(t, 5))
			map.iova = rnd_val(t);
		if (chance(t, 3))
			map.argsz = rnd_val(t);
		r->a = map.iova;
		r->b = map.size;
		r->c = map.vaddr;
		return sys_ret(ioctl(in->container, VFIO_IOMMU_MAP_DMA,
				     ptr_or_bad(t, &map)));
	}
	case 3:
	case 4: {
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap),
			.iova = FZ_RAW_IOVA + (uint64_t)s * FZ_RAW_BUF,
			.size = FZ_RAW_BUF * (1 + rn(t, 2)),
		};

		if (chance(t, 10))
			unmap.flags = rnd_val(t) & 3;
		if (chance(t, 5))
			unmap.size = rnd_val(t);
		if (chance(t, 5))
			unmap.iova = rnd_val(t);
		r->a = unmap.iova;
		r->b = unmap.size;
		r->c = unmap.flags;
		return sys_ret(ioctl(in->container, VFIO_IOMMU_UNMAP_DMA,
				     ptr_or_bad(t, &unmap)));
	}
	default: {
		union {
			struct vfio_iommu_type1_info info;
			char buf[FZ_ARGBUF];
		} u = { .info.argsz = sizeof(u.info) };

		if (chance(t, 50))
			u.info.argsz = rnd_argsz(t);
		r->a = u.info.argsz;
		return sys_ret(ioctl(in->container, VFIO_IOMMU_GET_INFO,
				     ptr_or_bad(t, &u)));
	}
	}
}

int op_efd_drain(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	uint64_t v;
	int i, n = 0;

	for (i = 0; i < FZ_NEFD; i++)
		if (read(t->efd[i], &v, sizeof(v)) == sizeof(v))
			n++;
	r->a = n;
	return n;
}

/* Invariants that hold whatever happened before. */
int op_check(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	uint32_t v[8];
	uint16_t id[2];
	uint64_t vram;

	if (pread(in->fd, v, sizeof(v), in->reg_off[0]) != sizeof(v)) {
		fz_fail(t, "BAR0 read of 32 bytes at 0: %s", strerror(errno));
		return -errno;
	}
	vram = (uint64_t)v[3] << 32 | v[2];
	if (v[0] != MGPU_MAGIC || v[1] >> 16 != MGPU_VERSION_MAJOR ||
	    vram != in->vram || v[4] != in->nq)
		fz_fail(t, "identity registers: MAGIC %#x VERSION %#x VRAM %#" PRIx64
			" queues %u (expected %#x, %u.x, %#" PRIx64 ", %u)",
			v[0], v[1], vram, v[4], MGPU_MAGIC, MGPU_VERSION_MAJOR,
			in->vram, in->nq);
	if (pread(in->fd, id, sizeof(id),
		  in->reg_off[VFIO_PCI_CONFIG_REGION_INDEX]) != sizeof(id))
		fz_fail(t, "config read of the IDs: %s", strerror(errno));
	else if (id[0] != MGPU_PCI_VENDOR_ID || id[1] != MGPU_PCI_DEVICE_ID)
		fz_fail(t, "config IDs %04x:%04x", id[0], id[1]);
	return 0;
}

int op_bad_ioctl(struct fz_thread *t, struct fz_inst *in,
			struct fz_rec *r)
{
	uint32_t buf[1024];
	unsigned long cmd = _IO(VFIO_TYPE, VFIO_BASE + rn(t, 40));

	/* a reset is an operation of its own */
	if (cmd == VFIO_DEVICE_RESET)
		cmd = _IO(VFIO_TYPE, VFIO_BASE + 100);
	if (chance(t, 20))
		cmd = (uint32_t)rnd(t) & ~0xff00U;	/* not a tty or fs ioctl */
	memset(buf, 0, sizeof(buf));
	/* argsz and flags of whatever structure it is: inside the buffer */
	buf[0] = rn(t, 512);
	buf[1] = chance(t, 50) ? 0 : rnd_val(t);
	r->a = cmd;
	r->b = buf[0];
	r->c = buf[1];
	return sys_ret(ioctl(in->fd, cmd, buf));
}

/* A second open of an open instance must fail with EBUSY. */
int op_reopen_busy(struct fz_thread *t, struct fz_inst *in,
			  struct fz_rec *r)
{
	struct mgpu_dev *dev;
	int ret = mgpu_open_vfio(in->uuid, &dev);

	if (!ret) {
		fz_fail(t, "second open of %s succeeded", in->uuid);
		mgpu_close(dev);
		return 0;
	}
	/* while a removal is pending, the mdev's sysfs node is gone */
	if (ret != -EBUSY && !(ret == -ENOENT && READ_ONCE(in->removing)))
		fz_fail(t, "second open of %s: %s (%s), expected EBUSY",
			in->uuid, mgpu_strerror(ret), mgpu_last_error());
	return ret;
}

/* mprotect() and madvise() on a BAR2 mapping: raw page frames. */
int op_mctl(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_WILLNEED, MADV_SEQUENTIAL, MADV_RANDOM,
		MADV_DONTFORK, MADV_DOFORK, MADV_DONTDUMP, MADV_COLD,
		MADV_PAGEOUT, MADV_REMOVE, MADV_FREE, MADV_POPULATE_READ,
		MADV_POPULATE_WRITE, MADV_NOHUGEPAGE,
	};
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl), prot, ret;
	size_t pages, first, n;
	char *p;

	if (j < 0)
		return -ENOENT;
	pages = sl->map[j].len / fz_page;
	first = rn(t, pages);
	n = 1 + rn(t, pages - first);
	p = (char *)sl->map[j].addr + first * fz_page;
	if (rn(t, 2)) {
		prot = rn(t, 8);
		r->a = first;
		r->b = n;
		r->c = prot;
		ret = mprotect(p, n * fz_page, prot) ? -errno : 0;
		/* the mapping was made without VM_MAYEXEC */
		if (!ret && (prot & PROT_EXEC))
			fz_fail(t, "mprotect(PROT_EXEC) of a BAR2 mapping succeeded");
		return ret;
	}
	r->a = first;
	r->b = n;
	r->c = advice[rn(t, ARRAY_SIZE(advice))] | 1ULL << 32;
	return madvise(p, n * fz_page, (int)r->c) ? -errno : 0;
}

/*
 * VRAM dirty tracking (debugfs, root only): on, off, garbage, or take the
 * record, while other threads write VRAM through mappings, regions and
 * the engine.
 */
static int dirty_op(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	static const char *const words[] = { "on", "off", "on\n", "bogus" };
	unsigned int w = rn(t, ARRAY_SIZE(words) + 2);
	char path[256], buf[4096];
	int fd, ret = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/kernel/debug/mgpu/%s/vram_dirty",
		 in->uuid);
	r->a = 100 + w;
	if (w < ARRAY_SIZE(words))
		return write_file(path, words[w]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		r->b += n;
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The instance's attributes, from another thread than its users. */
int op_sysfs(struct fz_thread *t, struct fz_inst *in,
		    struct fz_rec *r)
{
	static const char *const attrs[] = {
		"vram_size", "vram_offset", "queues", "queue_base", "busy_ns",
		"commands", "bytes", "flops", "errors", "resets", "weight",
		"cap",
	};
	unsigned int a = rn(t, ARRAY_SIZE(attrs));
	char path[256], buf[64];
	int fd, ret;

	if (chance(t, 25))
		return dirty_op(t, in, r);
	snprintf(path, sizeof(path), FZ_SYSFS_MDEV "/%s/mgpu/%s", in->uuid,
		 attrs[a]);
	r->a = a;
	if (a >= 10 && chance(t, 40)) {
		/* weight 1..: mostly sane; cap mostly off (100), never 1-9 % */
		unsigned int v = a == 10 ? (chance(t, 80) ? 1 + rn(t, 16) :
					    (unsigned int)rnd_val(t)) :
					   (chance(t, 70) ? 100 : rn(t, 2) ? 0 :
					    10 + rn(t, 200));

		snprintf(buf, sizeof(buf), "%u", v);
		r->b = v;
		return write_file(path, buf);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = read(fd, buf, sizeof(buf)) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * A child inherits the BAR2 mappings (and the device fd), touches one and
 * exits: VMA copies and their teardown in another mm.
 */
int op_fork(struct fz_thread *t, struct fz_inst *in,
		   struct fz_rec *r)
{
	struct fz_slot *sl = &in->slot[t->id];
	int j = pick_map(t, sl), status;
	unsigned char *p = NULL;
	pid_t pid;

	/* forks are slow under TCG: one in ten calls */
	if (!chance(t, 10))
		return -EAGAIN;
	if (j >= 0)
		p = (unsigned char *)sl->map[j].addr + rn(t, sl->map[j].len);
	r->a = (uintptr_t)p;
	pthread_rwlock_rdlock(&fz_fork_lock);
	pid = fork();
	if (pid < 0) {
		pthread_rwlock_unlock(&fz_fork_lock);
		return -errno;
	}
	if (!pid) {
		/* only async-signal-safe things in here */
		if (p && !fz_touch_page(p, true, 0x5a))
			_exit(3);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		status = -1;
	pthread_rwlock_unlock(&fz_fork_lock);
	r->b = status;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
}

typedef int (*fz_fn)(struct fz_thread *, struct fz_inst *, struct fz_rec *);

static const fz_fn fz_fns[OP_NR] = {
	[OP_GET_INFO] = op_get_info, [OP_REGION_INFO] = op_region_info,
	[OP_IRQ_INFO] = op_irq_info, [OP_SET_IRQS] = op_set_irqs,
	[OP_RESET] = op_reset, [OP_CFG_READ] = op_cfg_read,
	[OP_CFG_WRITE] = op_cfg_write, [OP_BAR0_READ] = op_bar0_read,
	[OP_BAR0_WRITE] = op_bar0_write, [OP_BAR2_RW] = op_bar2_rw,
	[OP_REGION_RW] = op_region_rw, [OP_MMAP] = op_mmap,
	[OP_MUNMAP] = op_munmap, [OP_MREMAP] = op_mremap,
	[OP_TOUCH] = op_touch, [OP_QUEUE_OPEN] = op_queue_open,
	[OP_SUBMIT] = op_submit, [OP_SYNC] = op_sync,
	[OP_QUEUE_CLOSE] = op_queue_close, [OP_DMA_ALLOC] = op_dma_alloc,
	[OP_DMA_FREE] = op_dma_free, [OP_RAW_DMA] = op_raw_dma,
	[OP_EFD_DRAIN] = op_efd_drain, [OP_CHECK] = op_check,
	[OP_BAD_IOCTL] = op_bad_ioctl, [OP_REOPEN_BUSY] = op_reopen_busy,
	[OP_MCTL] = op_mctl, [OP_SYSFS] = op_sysfs, [OP_FORK] = op_fork,
	[OP_MIGRATE] = op_migrate,
};

unsigned int fz_wsum;

int pick_op(struct fz_thread *t)
{
	unsigned int x = rn(t, fz_wsum), i;

	for (i = 0; i < OP_NR; i++) {
		if (x < fz_weights[i])
			return i;
		x -= fz_weights[i];
	}
	return OP_CHECK;
}

void *fuzz_thread(void *arg)
{
	struct fz_thread *t = arg;
	unsigned int i;

	fz_self = t;
	t->tid = gettid();
	for (i = 0; i < FZ_NEFD; i++)
		t->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->rawbuf = mmap(NULL, FZ_RAW_BUF, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	while (t->ops < t->budget && !READ_ONCE(fz_stop)) {
		struct fz_inst *in = &fz_inst[rn(t, fz_ninst)];
		/* a burst on one instance: the lock is not free under TCG */
		unsigned int burst = 1 + rn(t, 32), b;

		pthread_rwlock_rdlock(&in->lock);
		for (b = 0; b < burst && in->dev && t->ops < t->budget; b++) {
			int op = pick_op(t);
			bool excl;
			struct fz_rec *r;

			/*
			 * A migration session stops the device and runs
			 * alone: one pick in five runs it, so that it does
			 * not eat the run's operations.
			 */
			if (op == OP_MIGRATE && !chance(t, 20))
				op = OP_GET_INFO;
			excl = op == OP_RESET || op == OP_CFG_WRITE ||
			       op == OP_REGION_RW || op == OP_MIGRATE;

			/*
			 * A reset, a config write (the command register) or a
			 * migration (a loaded stream, a reset) may turn memory
			 * space off, and the device then faults
			 * every BAR2 mapping (the library's too) until it is
			 * back on: do it alone, and turn it back on, as a
			 * driver would.
			 */
			if (excl) {
				pthread_rwlock_unlock(&in->lock);
				pthread_rwlock_wrlock(&in->lock);
				if (!in->dev)
					break;
			}
			r = op_begin(t, op, in - fz_inst, 0, 0, 0);
			op_end(t, r, fz_fns[op](t, in, r));
			if (excl) {
				fz_enable(in);
				pthread_rwlock_unlock(&in->lock);
				pthread_rwlock_rdlock(&in->lock);
			}
		}
		pthread_rwlock_unlock(&in->lock);
		if (!in->dev)
			usleep(1000);
		if (coarse_ns() > fz_deadline)
			break;
	}
	return NULL;
}

/* Memory space and bus mastering back on, as a driver after a reset. */
void fz_enable(struct fz_inst *in)
{
	uint64_t off = in->reg_off[VFIO_PCI_CONFIG_REGION_INDEX] + PCI_COMMAND;
	uint16_t cmd;

	if (pread(in->fd, &cmd, 2, off) != 2)
		return;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(in->fd, &cmd, 2, off) != 2)
		fz_log("# instance %s: cannot turn memory space back on\n",
		       in->uuid);
}

/* ---------------------------------------------------------------------- */
/* Recycler: remove instances in use, close and reopen, recreate.        */

struct fz_remover {
	pthread_t th;
	char uuid[40];
	int ret;
};

pid_t fz_remover_tid;

void *remover(void *arg)
{
	struct fz_remover *rm = arg;

	WRITE_ONCE(fz_remover_tid, gettid());
	rm->ret = mdev_remove(rm->uuid);
	WRITE_ONCE(fz_remover_tid, 0);
	return NULL;
}

int inst_recreate(struct fz_thread *t, struct fz_inst *in)
{
	unsigned int i, first = rn(t, 4);
	int ret = -ENOSPC;

	for (i = 0; i < 4; i++) {
		const char *type = fz_types[(first + i) % 4];

		new_uuid(t, in->uuid);
		ret = mdev_create(type, in->uuid);
		if (!ret) {
			in->type = type;
			break;
		}
	}
	if (ret)
		return ret;
	return inst_open(in);
}

int recycle_one(struct fz_thread *t, struct fz_inst *in,
		       struct fz_rec *r)
{
	struct fz_remover rm = { .ret = 0 };
	unsigned int how = rn(t, 4);
	int ret = 0;

	r->a = how;
	if (how == 0) {
		/* close and reopen: a new user of the same instance */
		pthread_rwlock_wrlock(&in->lock);
		inst_close(in);
		ret = inst_open(in);
		pthread_rwlock_unlock(&in->lock);
		return ret;
	}
	if (how == 1 || !in->dev) {
		/* remove while closed, recreate */
		pthread_rwlock_wrlock(&in->lock);
		inst_close(in);
		ret = mdev_remove(in->uuid);
		if (!ret || ret == -ENOENT)
			ret = inst_recreate(t, in);
		pthread_rwlock_unlock(&in->lock);
		return ret;
	}
	/*
	 * Remove while open and in use: the write blocks until the device
	 * is closed (the REQ interrupt asks for it), the other threads go
	 * on meanwhile.
	 */
	snprintf(rm.uuid, sizeof(rm.uuid), "%s", in->uuid);
	WRITE_ONCE(in->removing, true);
	if (pthread_create(&rm.th, NULL, remover, &rm)) {
		WRITE_ONCE(in->removing, false);
		return -EAGAIN;
	}
	usleep(rn(t, 50000));
	pthread_rwlock_wrlock(&in->lock);
	inst_close(in);
	pthread_join(rm.th, NULL);
	ret = rm.ret;
	WRITE_ONCE(in->removing, false);
	if (ret)
		fz_fail(t, "remove of %s while open: %s", rm.uuid, strerror(-ret));
	ret = inst_recreate(t, in);
	pthread_rwlock_unlock(&in->lock);
	return ret;
}

void *recycle_thread(void *arg)
{
	struct fz_thread *t = arg;

	fz_self = t;
	t->tid = gettid();
	while (!READ_ONCE(fz_stop) && coarse_ns() < fz_deadline) {
		struct fz_inst *in = &fz_inst[rn(t, fz_ninst)];
		struct fz_rec *r;
		int ret;

		usleep(300000 + rn(t, 900000));
		if (READ_ONCE(fz_stop))
			break;
		r = op_begin(t, OP_RECYCLE, in - fz_inst, 0, 0, 0);
		ret = recycle_one(t, in, r);
		op_end(t, r, ret);
		if (ret)
			fz_fail(t, "recycle %" PRIu64 " (how %" PRIu64
				") of instance %ld (%s): %s (%s)", r->n, r->a,
				(long)(in - fz_inst), in->uuid, strerror(-ret),
				mgpu_last_error());
	}
	return NULL;
}
