// SPDX-License-Identifier: GPL-2.0
/*
 * Paged VRAM for the fuzz targets: see pvram.h.
 */
#include "pvram.h"

static struct pvram *to_pvram(struct mgpu_parent *parent)
{
	return container_of(parent, struct pvram, parent);
}

static void pvram_check(struct pvram *v, u64 offset)
{
	FUZZ_CHECK(offset >= v->slice_off &&
		   offset - v->slice_off < v->slice_size,
		   "backend offset %#llx outside the slice [%#llx, +%#llx)",
		   (unsigned long long)offset,
		   (unsigned long long)v->slice_off,
		   (unsigned long long)v->slice_size);
}

static void *pvram_kaddr(struct mgpu_parent *parent, u64 offset, bool alloc)
{
	struct pvram *v = to_pvram(parent);
	u8 **page;

	pvram_check(v, offset);
	page = &v->pages[offset >> PAGE_SHIFT];
	if (!*page) {
		if (!alloc)
			return NULL;
		if (!v->allocs_left) {
			v->refused++;
			return ERR_PTR(-ENOMEM);
		}
		if (v->allocs_left != ~0U)
			v->allocs_left--;
		*page = calloc(1, PAGE_SIZE);
		FUZZ_CHECK(*page, "out of memory");
		v->nr_backed++;
	}
	return *page + offset_in_page(offset);
}

/* A page frame number that names the parent's page, for the checks. */
static int pvram_pfn(struct mgpu_parent *parent, u64 offset,
		     unsigned long *pfn)
{
	void *p = pvram_kaddr(parent, offset, true);

	if (IS_ERR(p))
		return PTR_ERR(p);
	*pfn = PVRAM_PFN_BASE + (offset >> PAGE_SHIFT);
	return 0;
}

static void pvram_discard(struct mgpu_parent *parent, u64 offset, u64 size)
{
	struct pvram *v = to_pvram(parent);
	u64 i;

	FUZZ_CHECK(offset == v->slice_off && size == v->slice_size,
		   "discard of [%#llx, +%#llx), not the slice",
		   (unsigned long long)offset, (unsigned long long)size);
	for (i = offset >> PAGE_SHIFT;
	     i < DIV_ROUND_UP(offset + size, PAGE_SIZE); i++) {
		if (v->pages[i])
			v->nr_backed--;
		free(v->pages[i]);
		v->pages[i] = NULL;
	}
}

static u64 pvram_resident(struct mgpu_parent *parent)
{
	return to_pvram(parent)->nr_backed * PAGE_SIZE;
}

static const struct mgpu_backend_ops pvram_ops = {
	.name = "fuzz",
	.vram_kaddr = pvram_kaddr,
	.vram_pfn = pvram_pfn,
	.vram_discard = pvram_discard,
	.vram_resident = pvram_resident,
};

void pvram_init(struct pvram *v, u64 size, u64 slice_off, u64 slice_size)
{
	memset(v, 0, sizeof(*v));
	v->parent.ops = &pvram_ops;
	v->parent.vram_size = size;
	v->size = size;
	v->slice_off = slice_off;
	v->slice_size = slice_size;
	v->allocs_left = ~0U;
	v->pages = calloc(DIV_ROUND_UP(size, PAGE_SIZE), sizeof(*v->pages));
	FUZZ_CHECK(v->pages, "out of memory");
}

void pvram_fini(struct pvram *v)
{
	u64 i;

	for (i = 0; i < DIV_ROUND_UP(v->size, PAGE_SIZE); i++)
		free(v->pages[i]);
	free(v->pages);
	v->pages = NULL;
}

bool pvram_backed(struct pvram *v, u64 off)
{
	return v->pages[(v->slice_off + off) >> PAGE_SHIFT];
}

u8 pvram_byte(struct pvram *v, u64 off)
{
	u8 *page = v->pages[(v->slice_off + off) >> PAGE_SHIFT];

	return page ? page[offset_in_page(v->slice_off + off)] : 0;
}

void pvram_store(struct pvram *v, u64 off, const void *buf, u64 len)
{
	const u8 *p = buf;
	u64 i, o;

	for (i = 0; i < len; i++) {
		o = v->slice_off + off + i;
		if (!v->pages[o >> PAGE_SHIFT]) {
			v->pages[o >> PAGE_SHIFT] = calloc(1, PAGE_SIZE);
			FUZZ_CHECK(v->pages[o >> PAGE_SHIFT], "out of memory");
			v->nr_backed++;
		}
		v->pages[o >> PAGE_SHIFT][offset_in_page(o)] = p[i];
	}
}
