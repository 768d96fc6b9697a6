// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the capacity allocator of a parent GPU (kernel/parent.c,
 * compiled unchanged): mgpu_parent_claim(), mgpu_parent_release(),
 * mgpu_parent_get_available() and the per-type sizes.
 *
 * Input: one byte of parent geometry, then operations of one or two
 * bytes each (see LLVMFuzzerTestOneInput()).
 *
 * Oracle: Documentation/admin-guide.rst's placement rule, restated on a
 * model of the 16 units: an instance of order k takes the lowest free
 * block of 16 >> k units aligned to its size; get_available counts the
 * free aligned blocks; a claim fails exactly when there is none.
 */
#include "fuzz.h"

#define MAX_LIVE	64

static struct {
	unsigned int order;
	unsigned int first;
} live[MAX_LIVE];
static unsigned int nr_live;
static bool released;

/* What parent.c calls while the allocator runs: nothing of the engine. */
int mgpu_engine_init(struct mgpu_parent *parent, unsigned int nr_threads)
{
	return 0;
}

void mgpu_engine_fini(struct mgpu_parent *parent)
{
}

void wake_up_var(void *var)
{
}

static void fuzz_release(struct mgpu_parent *parent)
{
	released = true;
}

static const struct mgpu_backend_ops fuzz_ops = {
	.name = "fuzz",
	.release = fuzz_release,
};

static unsigned int units(unsigned int order)
{
	return MGPU_UNITS >> order;
}

static u32 block_mask(unsigned int first, unsigned int nr)
{
	return (u32)(((1ULL << nr) - 1) << first);
}

static u32 model_used(void)
{
	u32 used = 0;
	unsigned int i;

	for (i = 0; i < nr_live; i++)
		used |= block_mask(live[i].first, units(live[i].order));
	return used;
}

static unsigned int model_free_blocks(unsigned int order)
{
	unsigned int first, n = 0, nr = units(order);

	for (first = 0; first < MGPU_UNITS; first += nr)
		if (!(model_used() & block_mask(first, nr)))
			n++;
	return n;
}

static int model_lowest_free(unsigned int order)
{
	unsigned int first, nr = units(order);

	for (first = 0; first < MGPU_UNITS; first += nr)
		if (!(model_used() & block_mask(first, nr)))
			return first;
	return -1;
}

static void check_state(struct mgpu_parent *p)
{
	unsigned int i, pt = 0;

	for (i = 0; i < nr_live; i++)
		pt += !live[i].order;
	FUZZ_CHECK(p->units_used == model_used(), "units %#x, model %#x",
		   p->units_used, model_used());
	FUZZ_CHECK(p->nr_instances == nr_live, "%u instances, model %u",
		   p->nr_instances, nr_live);
	FUZZ_CHECK(p->nr_passthrough == pt, "%u passthrough", pt);
	FUZZ_CHECK(!p->lock.locked, "parent lock left held");
	/* Instances never share a unit. */
	for (i = 0; i < nr_live; i++) {
		unsigned int j;

		for (j = i + 1; j < nr_live; j++)
			FUZZ_CHECK(!(block_mask(live[i].first,
						units(live[i].order)) &
				     block_mask(live[j].first,
						units(live[j].order))),
				   "instances %u and %u overlap", i, j);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static struct mgpu_parent parent;
	struct mgpu_parent *p = &parent;
	struct mgpu_type *type;
	unsigned int order, first, i, avail;
	size_t pos = 0;
	u64 vram;
	u32 queues;
	u8 op;
	int ret, want;

	if (!size)
		return 0;
	/* Backends give power-of-two sizes within the parent limits. */
	vram = MGPU_MIN_VRAM << (data[0] % 13);
	queues = MGPU_MIN_QUEUES << ((data[0] >> 4) % 5);
	pos = 1;

	memset(p, 0, sizeof(*p));
	nr_live = 0;
	released = false;
	/* The engine threads do not matter to the allocator: 1 or 2. */
	FUZZ_CHECK(!mgpu_parent_init(p, &fuzz_ops, vram, queues,
				     1 + (data[0] >> 7)), "init");

	for (order = 0; order < MGPU_NR_TYPES; order++) {
		type = &p->types[order];
		FUZZ_CHECK(type->order == order && type->parent == p, "type");
		/* 1/2^order of the parent: whole MiB, at least one queue */
		FUZZ_CHECK(mgpu_parent_type_vram_size(type) ==
			   vram / (1U << order) &&
			   mgpu_parent_type_vram_size(type) % (1 << 20) == 0 &&
			   mgpu_parent_type_vram_size(type),
			   "type %u VRAM", order);
		FUZZ_CHECK(mgpu_parent_type_nr_queues(type) ==
			   queues / (1U << order) &&
			   mgpu_parent_type_nr_queues(type),
			   "type %u queues", order);
		FUZZ_CHECK(p->mdev_types[order] == &type->mdev_type, "types");
	}

	while (pos < size) {
		op = data[pos++];
		order = (op >> 2) % MGPU_NR_TYPES;
		type = &p->types[order];
		switch (op & 3) {
		case 0:
		case 1:	/* create an instance of @type */
			want = model_lowest_free(order);
			ret = mgpu_parent_claim(p, type, &first);
			if (want < 0) {
				FUZZ_CHECK(ret == -ENOSPC, "claim %d", ret);
				FUZZ_CHECK(p->last_error[0] &&
					   strstr(p->last_error,
						  type->mdev_type.sysfs_name),
					   "last_error \"%s\"", p->last_error);
				FUZZ_CHECK(strnlen(p->last_error,
						   sizeof(p->last_error)) <
					   sizeof(p->last_error), "");
				break;
			}
			FUZZ_CHECK(!ret && first == (unsigned int)want,
				   "claim of order %u: %d at %u, model %d",
				   order, ret, first, want);
			FUZZ_CHECK(!p->last_error[0], "stale last_error");
			FUZZ_CHECK(nr_live < MAX_LIVE, "more than 16 instances");
			live[nr_live].order = order;
			live[nr_live].first = first;
			nr_live++;
			break;
		case 2:	/* remove a live instance */
			if (!nr_live || pos >= size)
				break;
			i = data[pos++] % nr_live;
			mgpu_parent_release(p, &p->types[live[i].order],
					    live[i].first);
			live[i] = live[--nr_live];
			break;
		case 3:	/* read available_instances */
			avail = mgpu_parent_get_available(&type->mdev_type);
			FUZZ_CHECK(avail == model_free_blocks(order),
				   "order %u: %u available, model %u", order,
				   avail, model_free_blocks(order));
			FUZZ_CHECK(avail <= (1U << order), "too many");
			break;
		}
		check_state(p);
	}

	while (nr_live) {
		nr_live--;
		mgpu_parent_release(p, &p->types[live[nr_live].order],
				    live[nr_live].first);
	}
	check_state(p);
	FUZZ_CHECK(p->units_used == 0, "units leaked");
	mgpu_parent_put(p);
	FUZZ_CHECK(released, "last reference did not release the parent");
	return 0;
}
