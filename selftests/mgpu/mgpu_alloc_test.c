// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu capacity allocator: long randomized create/remove sequences of
 * mixed types checked step by step against a model of the placement
 * rules, exhaustive create-until-failure checks, last_error on ENOSPC,
 * and that all capacity (and memory) comes back at the end.
 *
 * The model: a parent is 16 units; a 1/N instance takes 16/N units at an
 * offset aligned to its size; passthrough takes all 16 and so needs an
 * empty parent.  available_instances of a type is the number of free
 * aligned blocks of its size.
 *
 * The tests run on a parent of their own (add_swgpu vram=16M), so that
 * creates zero little VRAM and the parent under test is left alone.
 *
 * Environment: MGPU_SEED (default: time), MGPU_ALLOC_OPS (default 4000),
 * MGPU_ALLOC_SECS (time budget of the random walk, default 45).
 */
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"

#define UNITS		16
#define PT		0	/* index of mgpu-passthrough in mgpu_test_types[] */
#define T16		4	/* mgpu-1_16 */
#define CHECK_EVERY	100	/* ops between create-until-failure checks */

struct model_inst {
	char uuid[MGPU_UUID_BUF];
	int type;
	int first;		/* first unit */
};

struct model {
	int owner[UNITS];	/* index in inst[], -1 when free */
	int n;
	struct model_inst inst[UNITS];
};

static unsigned int type_units(int type)
{
	return UNITS / mgpu_test_types[type].denom;
}

static void model_init(struct model *m)
{
	int u;

	m->n = 0;
	for (u = 0; u < UNITS; u++)
		m->owner[u] = -1;
}

static bool model_block_free(const struct model *m, int first, int nr)
{
	int u;

	for (u = first; u < first + nr; u++)
		if (m->owner[u] >= 0)
			return false;
	return true;
}

/* Free aligned blocks of the type's size: what available_instances says. */
static int model_available(const struct model *m, int type)
{
	int nr = type_units(type), first, n = 0;

	for (first = 0; first < UNITS; first += nr)
		n += model_block_free(m, first, nr);
	return n;
}

static int model_free_units(const struct model *m)
{
	int u, n = 0;

	for (u = 0; u < UNITS; u++)
		n += m->owner[u] < 0;
	return n;
}

static bool model_has_passthrough(const struct model *m)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->inst[i].type == PT)
			return true;
	return false;
}

static void model_add(struct model *m, const char *uuid, int type, int first)
{
	int u;

	memcpy(m->inst[m->n].uuid, uuid, MGPU_UUID_BUF);
	m->inst[m->n].type = type;
	m->inst[m->n].first = first;
	for (u = first; u < first + (int)type_units(type); u++)
		m->owner[u] = m->n;
	m->n++;
}

static void model_del(struct model *m, int idx)
{
	int u;

	for (u = 0; u < UNITS; u++)
		if (m->owner[u] == idx)
			m->owner[u] = -1;
		else if (m->owner[u] == m->n - 1)
			m->owner[u] = idx;
	m->inst[idx] = m->inst[m->n - 1];
	m->n--;
}

/*
 * The reason last_error must give for an ENOSPC create of @type, as a
 * substring (see Documentation/admin-guide.rst, "When a create fails").
 */
static const char *model_reason(const struct model *m, int type)
{
	if (model_has_passthrough(m))
		return "in use by a passthrough";
	if (type == PT)
		return "needs an empty parent";
	if (model_free_units(m) >= (int)type_units(type))
		return "fragmented";
	return "needs";
}

static unsigned int rnd_state;

/* xorshift32: reproducible from the seed on every libc */
static unsigned int rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Kernel memory that a leak would grow, in KiB (0 if unreadable). */
struct kmem {
	long sunreclaim;	/* unreclaimable slab */
	long vmalloc;		/* VmallocUsed */
};

static void kernel_mem(struct kmem *k)
{
	char line[128];
	long v;
	FILE *f;

	k->sunreclaim = k->vmalloc = 0;
	/*
	 * Cached sysfs dentries and inodes pin the kernfs nodes of removed
	 * instances (about six per instance these tests read): drop them so
	 * that only real leaks remain.
	 */
	sync();
	mgpu_test_write_attr("/proc/sys/vm/drop_caches", "3");
	/* inodes, dentries and kernfs nodes are freed after an RCU grace */
	usleep(500 * 1000);
	f = fopen("/proc/meminfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "SUnreclaim: %ld kB", &v) == 1)
			k->sunreclaim = v;
		else if (sscanf(line, "VmallocUsed: %ld kB", &v) == 1)
			k->vmalloc = v;
	}
	fclose(f);
}

#define MAX_CACHES	512

struct slab_snap {
	int n;
	char name[MAX_CACHES][32];
	long bytes[MAX_CACHES];
};

static struct slab_snap slab0, slab1;

/* /proc/slabinfo: bytes of active objects per cache. */
static void slab_snap(struct slab_snap *s)
{
	char line[512], name[32];
	long active, total, size;
	FILE *f;

	s->n = 0;
	f = fopen("/proc/slabinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && s->n < MAX_CACHES) {
		if (sscanf(line, "%31s %ld %ld %ld", name, &active, &total,
			   &size) != 4)
			continue;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
		s->bytes[s->n++] = active * size;
	}
	fclose(f);
}

/* Print the caches that grew the most between two snapshots. */
static void slab_diff(const struct slab_snap *a, struct slab_snap *b)
{
	int i, j, shown;

	for (shown = 0; shown < 5; shown++) {
		long best = 4096, d;
		int bi = -1;

		for (i = 0; i < b->n; i++) {
			d = b->bytes[i];
			for (j = 0; j < a->n; j++)
				if (!strcmp(a->name[j], b->name[i]))
					d -= a->bytes[j];
			if (d > best) {
				best = d;
				bi = i;
			}
		}
		if (bi < 0)
			break;
		printf("#   slab %s grew by %ld kB\n", b->name[bi], best / 1024);
		/* do not show it again */
		b->bytes[bi] -= best;
	}
}

FIXTURE(alloc) {
	char parent[32];
	uint64_t unit;
	struct model m;
	struct mgpu_test_instances inst;
};

FIXTURE_SETUP(alloc)
{
	uint32_t before, after;
	uint64_t vram;

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	before = mgpu_test_swgpu_set();
	ASSERT_OK(mgpu_test_add_swgpu("vram=16M queues=16"));
	after = mgpu_test_swgpu_set() & ~before;
	ASSERT_NE(0U, after)
		TH_LOG("add_swgpu created no new software GPU");
	mgpu_test_swgpu_name(__builtin_ctz(after), self->parent,
			     sizeof(self->parent));
	ASSERT_OK(mgpu_test_parent_u64(self->parent, "vram_size", &vram));
	ASSERT_EQ(16 * MiB, vram);
	self->unit = vram / UNITS;
	ASSERT_EQ(0, mgpu_test_parent_instances(self->parent));
	model_init(&self->m);
	self->inst.n = 0;
}

FIXTURE_TEARDOWN_PARENT(alloc)
{
	if (!self->parent[0])
		return;
	if (mgpu_test_instances_cleanup(&self->inst))
		TH_LOG("could not remove every instance");
	if (mgpu_test_remove_swgpu(self->parent))
		TH_LOG("could not remove %s", self->parent);
}

/* Every type's available_instances against the model. */
static void check_avail(struct __test_metadata *_metadata,
			FIXTURE_DATA(alloc) *self, int op)
{
	int t, got;

	for (t = 0; t < MGPU_NUM_TYPES; t++) {
		got = mgpu_test_available(self->parent, mgpu_test_types[t].dir);
		ASSERT_EQ(model_available(&self->m, t), got)
			TH_LOG("op %d: %s available_instances %d, model %d",
			       op, mgpu_test_types[t].dir, got,
			       model_available(&self->m, t));
	}
}

static void check_last_error(struct __test_metadata *_metadata,
			     FIXTURE_DATA(alloc) *self, int type, int op)
{
	const char *want = model_reason(&self->m, type);
	char buf[256];

	ASSERT_LT(0, mgpu_test_parent_read(self->parent, "last_error", buf,
					   sizeof(buf)))
		TH_LOG("op %d: %s: ENOSPC with an empty last_error", op,
		       mgpu_test_types[type].dir);
	/* It names the type as mdev does: "1_4" for mgpu-1_4. */
	EXPECT_NE(NULL, strstr(buf, mgpu_test_types[type].dir + strlen("mgpu-")))
		TH_LOG("op %d: last_error '%s' does not name %s", op, buf,
		       mgpu_test_types[type].dir);
	EXPECT_NE(NULL, strstr(buf, want))
		TH_LOG("op %d: %s: last_error '%s', expected a reason with '%s'",
		       op, mgpu_test_types[type].dir, buf, want);
	/* "needs N/16" must not be the message of the fragmented case */
	if (!strcmp(want, "needs"))
		EXPECT_EQ(NULL, strstr(buf, "fragmented"))
			TH_LOG("op %d: last_error '%s' says fragmented", op,
			       buf);
}

/*
 * Create one @type instance and check the outcome against the model:
 * success iff the model has room, at a free aligned offset; ENOSPC with
 * the right last_error otherwise.  Returns 0 if created.
 */
static int model_create(struct __test_metadata *_metadata,
			FIXTURE_DATA(alloc) *self, int type, int op)
{
	int avail = model_available(&self->m, type), ret, first, nr;
	char uuid[MGPU_UUID_BUF], buf[256];
	uint64_t off, size;

	ret = mgpu_test_instances_create(&self->inst, self->parent,
					 mgpu_test_types[type].dir, uuid);
	if (!avail) {
		ASSERT_EQ(-ENOSPC, ret)
			TH_LOG("op %d: %s: %s, model has no room", op,
			       mgpu_test_types[type].dir,
			       ret ? strerror(-ret) : "created");
		check_last_error(_metadata, self, type, op);
		return -ENOSPC;
	}
	ASSERT_EQ(0, ret)
		TH_LOG("op %d: %s failed (%s), model has room for %d", op,
		       mgpu_test_types[type].dir, strerror(-ret), avail);
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_offset", &off));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_size", &size));
	nr = type_units(type);
	ASSERT_EQ(nr * self->unit, size);
	ASSERT_EQ(0ULL, off % size)
		TH_LOG("op %d: %s at %#llx is not aligned to its size", op,
		       mgpu_test_types[type].dir, (unsigned long long)off);
	first = off / self->unit;
	ASSERT_LE(first + nr, UNITS);
	ASSERT_TRUE(model_block_free(&self->m, first, nr))
		TH_LOG("op %d: %s placed on used units %d..%d", op,
		       mgpu_test_types[type].dir, first, first + nr - 1);
	model_add(&self->m, uuid, type, first);
	/* A successful create clears last_error. */
	ASSERT_LE(0, mgpu_test_parent_read(self->parent, "last_error", buf,
					   sizeof(buf)));
	EXPECT_STREQ("", buf);
	return 0;
}

static void model_remove(struct __test_metadata *_metadata,
			 FIXTURE_DATA(alloc) *self, int idx)
{
	char uuid[MGPU_UUID_BUF];

	memcpy(uuid, self->m.inst[idx].uuid, sizeof(uuid));
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, uuid));
	ASSERT_FALSE(mgpu_test_instance_exists(uuid));
	model_del(&self->m, idx);
}

/*
 * For every type: create until ENOSPC, check that exactly
 * available_instances succeeded, then remove them again.
 */
static void fill_check(struct __test_metadata *_metadata,
		       FIXTURE_DATA(alloc) *self, int op)
{
	int t, want, got, keep;

	for (t = 0; t < MGPU_NUM_TYPES; t++) {
		keep = self->m.n;
		want = mgpu_test_available(self->parent, mgpu_test_types[t].dir);
		ASSERT_EQ(model_available(&self->m, t), want);
		for (got = 0; got <= UNITS; got++)
			if (model_create(_metadata, self, t, op))
				break;
		EXPECT_EQ(want, got)
			TH_LOG("op %d: %s: %d created until ENOSPC, available_instances said %d",
			       op, mgpu_test_types[t].dir, got, want);
		while (self->m.n > keep)
			model_remove(_metadata, self, self->m.n - 1);
		check_avail(_metadata, self, op);
	}
}

TEST_F_TIMEOUT(alloc, random_ops, 110)
{
	/* Relative frequency of each type in creates: small ones fragment. */
	static const int type_weight[MGPU_NUM_TYPES] = { 1, 2, 3, 4, 6 };
	unsigned int seed = time(NULL) ^ getpid(), ops = 4000, secs = 45;
	int op, t, r, wsum = 0, creates = 0, enospc = 0, removes = 0;
	int fills = 0, max_n = 0;
	uint64_t start, elapsed;
	struct kmem k0, k1;
	const char *env;

	env = getenv("MGPU_SEED");
	if (env)
		seed = strtoul(env, NULL, 0);
	env = getenv("MGPU_ALLOC_OPS");
	if (env)
		ops = strtoul(env, NULL, 0);
	env = getenv("MGPU_ALLOC_SECS");
	if (env)
		secs = strtoul(env, NULL, 0);
	rnd_state = seed ? seed : 1;
	printf("# seed %u (MGPU_SEED=%u reproduces), %u ops, budget %us\n",
	       seed, seed, ops, secs);
	for (t = 0; t < MGPU_NUM_TYPES; t++)
		wsum += type_weight[t];

	/* Warm up sysfs and slab caches before the memory baseline. */
	fill_check(_metadata, self, -1);
	kernel_mem(&k0);
	slab_snap(&slab0);

	start = now_ns();
	for (op = 0; op < (int)ops; op++) {
		if (self->m.n && rnd() % 100 < 45) {
			model_remove(_metadata, self, rnd() % self->m.n);
			removes++;
		} else {
			r = rnd() % wsum;
			for (t = 0; r >= type_weight[t]; t++)
				r -= type_weight[t];
			if (model_create(_metadata, self, t, op))
				enospc++;
			else
				creates++;
		}
		if (self->m.n > max_n)
			max_n = self->m.n;
		check_avail(_metadata, self, op);
		if (op % CHECK_EVERY == CHECK_EVERY - 1) {
			fill_check(_metadata, self, op);
			fills++;
		}
		elapsed = now_ns() - start;
		if (elapsed > (uint64_t)secs * 1000000000ULL) {
			printf("# time budget of %us reached after %d ops\n",
			       secs, op + 1);
			op++;
			break;
		}
	}
	elapsed = now_ns() - start;
	printf("# %d ops in %.1f s (%.2f ms/op): %d creates, %d ENOSPC, %d removes, %d create-until-failure rounds, up to %d instances\n",
	       op, elapsed / 1e9, elapsed / 1e6 / (op ? op : 1), creates,
	       enospc, removes, fills, max_n);
	EXPECT_LE(500, op)
		TH_LOG("too few operations in the time budget");

	/* Everything back: available == max for every type. */
	while (self->m.n)
		model_remove(_metadata, self, self->m.n - 1);
	for (t = 0; t < MGPU_NUM_TYPES; t++)
		EXPECT_EQ((int)mgpu_test_types[t].denom,
			  mgpu_test_available(self->parent, mgpu_test_types[t].dir));
	EXPECT_EQ(0, mgpu_test_parent_instances(self->parent));

	kernel_mem(&k1);
	slab_snap(&slab1);
	printf("# kernel memory after %d creates: SUnreclaim %+ld kB, VmallocUsed %+ld kB\n",
	       creates, k1.sunreclaim - k0.sunreclaim, k1.vmalloc - k0.vmalloc);
	slab_diff(&slab0, &slab1);
	/*
	 * A leaked instance keeps more than 8 kB of kernel objects: its
	 * state alone (struct mgpu_vgpu, with its 4 kB config space) comes
	 * from kmalloc-8k, plus the mdev, VFIO and sysfs nodes.  A leak on
	 * one create in four shows as growth of more than 2 kB per create.
	 * Slab fragmentation left by thousands of sysfs nodes, even after
	 * dropping the caches, measured 0.06 to 0.7 kB per create.
	 */
	EXPECT_GT(creates * 2,
		  k1.sunreclaim - k0.sunreclaim + k1.vmalloc - k0.vmalloc)
		TH_LOG("kernel memory grew by more than 2 kB per create");
}

/* The reasons of ENOSPC, each provoked on purpose. */
TEST_F(alloc, enospc_reasons)
{
	int i, t2 = 1, t8 = 3;

	/* Passthrough on an empty parent, then anything else: taken. */
	ASSERT_OK(model_create(_metadata, self, PT, 0));
	for (i = 1; i < MGPU_NUM_TYPES; i++)
		ASSERT_EQ(-ENOSPC, model_create(_metadata, self, i, 1));
	ASSERT_EQ(-ENOSPC, model_create(_metadata, self, PT, 1));
	model_remove(_metadata, self, 0);

	/* One 1/16: passthrough needs an empty parent. */
	ASSERT_OK(model_create(_metadata, self, T16, 2));
	ASSERT_EQ(-ENOSPC, model_create(_metadata, self, PT, 3));
	model_remove(_metadata, self, 0);

	/* 16 x 1/16, every other removed: 8/16 free, no aligned 2/16. */
	for (i = 0; i < UNITS; i++)
		ASSERT_OK(model_create(_metadata, self, T16, 4));
	for (i = 0; i < UNITS; i += 2)
		model_remove(_metadata, self, self->m.owner[i]);
	ASSERT_EQ(8, model_free_units(&self->m));
	ASSERT_EQ(0, mgpu_test_available(self->parent, mgpu_test_types[t8].dir));
	ASSERT_EQ(-ENOSPC, model_create(_metadata, self, t8, 5));
	ASSERT_EQ(-ENOSPC, model_create(_metadata, self, t2, 5));
	check_avail(_metadata, self, 5);
	while (self->m.n)
		model_remove(_metadata, self, 0);

	/* Two 1/2 then 1/16: not enough free capacity. */
	ASSERT_OK(model_create(_metadata, self, t2, 6));
	ASSERT_OK(model_create(_metadata, self, t2, 6));
	ASSERT_EQ(-ENOSPC, model_create(_metadata, self, T16, 7));
	/* ... and a success clears last_error again (model_create checks) */
	model_remove(_metadata, self, 0);
	ASSERT_OK(model_create(_metadata, self, T16, 8));
	check_avail(_metadata, self, 8);
}

MGPU_TEST_HARNESS_MAIN
