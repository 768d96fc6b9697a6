// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu sysfs: parent attributes, mdev types, instance create/remove and
 * the capacity accounting (available_instances) of mixed types.
 */
#include <dirent.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Compare every type's available_instances with the model. */
static void check_available(struct __test_metadata *_metadata,
			    const char *parent, const char *when)
{
	int model[MGPU_NUM_TYPES], i, got;

	ASSERT_EQ(0, mgpu_test_model_available(parent, model))
		TH_LOG("%s: instances break the placement rules", when);
	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		got = mgpu_test_available(parent, mgpu_test_types[i].dir);
		EXPECT_EQ(model[i], got)
			TH_LOG("%s: %s available_instances %d, model says %d",
			       when, mgpu_test_types[i].dir, got, model[i]);
	}
}

static void expect_available(struct __test_metadata *_metadata,
			     const char *parent, const char *when,
			     const int want[MGPU_NUM_TYPES])
{
	int i, got;

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		got = mgpu_test_available(parent, mgpu_test_types[i].dir);
		EXPECT_EQ(want[i], got)
			TH_LOG("%s: %s available_instances %d, expected %d",
			       when, mgpu_test_types[i].dir, got, want[i]);
	}
}

/* ---- the parent ---- */

FIXTURE(parent) {
	uint64_t vram;
	uint64_t queues;
};

FIXTURE_SETUP(parent)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "vram_size", &self->vram));
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "queues", &self->queues));
}

FIXTURE_TEARDOWN(parent)
{
}

TEST_F(parent, attributes)
{
	char buf[256];

	/* The harness boots with the defaults: 256 MiB, 16 queues. */
	EXPECT_TRUE(is_pow2(self->vram));
	EXPECT_LE(16 * MiB, self->vram);
	EXPECT_TRUE(is_pow2(self->queues));
	EXPECT_LE(16ULL, self->queues);
	EXPECT_GE(256ULL, self->queues);
	TH_LOG("%s: vram_size %llu, queues %llu", mgpu_test_parent,
	       (unsigned long long)self->vram,
	       (unsigned long long)self->queues);

	ASSERT_LE(0, mgpu_test_parent_read(mgpu_test_parent, "backend", buf,
					   sizeof(buf)));
	EXPECT_STREQ("software", buf);

	ASSERT_LE(0, mgpu_test_parent_read(mgpu_test_parent, "last_error", buf,
					   sizeof(buf)));
	EXPECT_EQ(NULL, strchr(buf, '\n'))
		TH_LOG("last_error is more than one line: '%s'", buf);
}

TEST_F(parent, type_directories)
{
	char path[MGPU_PATH_MAX];
	unsigned int seen = 0;
	struct dirent *de;
	DIR *d;
	int i;

	d = opendir(mgpu_test_path(path, sizeof(path), "%s/%s/mdev_supported_types",
				   MGPU_PARENT_DIR, mgpu_test_parent));
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		const struct mgpu_test_type *t;

		if (de->d_name[0] == '.')
			continue;
		t = mgpu_test_type_by_dir(de->d_name);
		EXPECT_NE(NULL, t)
			TH_LOG("unexpected type directory %s", de->d_name);
		if (t)
			seen |= 1U << (t - mgpu_test_types);
	}
	closedir(d);
	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		EXPECT_TRUE(!!(seen & (1U << i)))
			TH_LOG("type %s missing", mgpu_test_types[i].dir);
	}
}

/* ---- one type at a time ---- */

FIXTURE(type) {
	uint64_t vram;
	uint64_t queues;
	struct mgpu_test_instances inst;
};

FIXTURE_VARIANT(type) {
	int idx;	/* into mgpu_test_types[] */
};

FIXTURE_VARIANT_ADD(type, passthrough) { .idx = 0 };
FIXTURE_VARIANT_ADD(type, half) { .idx = 1 };
FIXTURE_VARIANT_ADD(type, quarter) { .idx = 2 };
FIXTURE_VARIANT_ADD(type, eighth) { .idx = 3 };
FIXTURE_VARIANT_ADD(type, sixteenth) { .idx = 4 };

FIXTURE_SETUP(type)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "vram_size", &self->vram));
	ASSERT_OK(mgpu_test_parent_u64(mgpu_test_parent, "queues", &self->queues));
	self->inst.n = 0;
}

/* Runs in the harness parent: also after a crash of the test child. */
FIXTURE_TEARDOWN_PARENT(type)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

TEST_F(type, attributes)
{
	const struct mgpu_test_type *t = &mgpu_test_types[variant->idx];
	char buf[256], want[256];

	ASSERT_LE(0, mgpu_test_type_read(mgpu_test_parent, t->dir, "name", buf,
					 sizeof(buf)));
	EXPECT_STREQ(t->name, buf);

	ASSERT_LE(0, mgpu_test_type_read(mgpu_test_parent, t->dir, "device_api", buf,
					 sizeof(buf)));
	EXPECT_STREQ("vfio-pci", buf);

	snprintf(want, sizeof(want), "vram=%lluM, queues=%llu, max_instances=%u",
		 (unsigned long long)(self->vram / t->denom / MiB),
		 (unsigned long long)(self->queues / t->denom), t->denom);
	ASSERT_LE(0, mgpu_test_type_read(mgpu_test_parent, t->dir, "description", buf,
					 sizeof(buf)));
	EXPECT_STREQ(want, buf);

	EXPECT_EQ((int)t->denom, mgpu_test_available(mgpu_test_parent, t->dir));
	EXPECT_EQ(0, mgpu_test_type_count(mgpu_test_parent, t->dir));
}

TEST_F(type, create_remove)
{
	const struct mgpu_test_type *t = &mgpu_test_types[variant->idx];
	uint64_t size, off, q, qbase;
	char uuid[MGPU_UUID_BUF], buf[256], path[MGPU_PATH_MAX];

	ASSERT_OK(mgpu_test_instances_create(&self->inst, mgpu_test_parent, t->dir, uuid));
	ASSERT_TRUE(mgpu_test_instance_exists(uuid));

	/* Listed under its type, linked back to it. */
	EXPECT_TRUE(mgpu_test_path_exists(mgpu_test_path(path, sizeof(path),
							 "%s/%s/mdev_supported_types/%s/devices/%s",
			MGPU_PARENT_DIR, mgpu_test_parent, t->dir, uuid)));
	EXPECT_EQ(1, mgpu_test_type_count(mgpu_test_parent, t->dir));
	ASSERT_OK(mgpu_test_instance_type(uuid, buf, sizeof(buf)));
	EXPECT_STREQ(t->dir, buf);
	EXPECT_LE(0, mgpu_test_iommu_group(uuid));

	/* Its slice. */
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_size", &size));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_offset", &off));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "queues", &q));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "queue_base", &qbase));
	EXPECT_EQ(self->vram / t->denom, size);
	EXPECT_EQ(self->queues / t->denom, q);
	EXPECT_EQ(0ULL, off % size);
	EXPECT_LE(off + size, self->vram);
	EXPECT_EQ(0ULL, qbase % q);
	EXPECT_LE(qbase + q, self->queues);

	EXPECT_EQ((int)t->denom - 1, mgpu_test_available(mgpu_test_parent, t->dir));
	check_available(_metadata, mgpu_test_parent, "after create");

	ASSERT_OK(mgpu_test_instances_remove(&self->inst, uuid));
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));
	EXPECT_EQ(0, mgpu_test_type_count(mgpu_test_parent, t->dir));
	EXPECT_EQ((int)t->denom, mgpu_test_available(mgpu_test_parent, t->dir));
	check_available(_metadata, mgpu_test_parent, "after remove");
}

/* Create until it fails: the count must be what available_instances said. */
TEST_F(type, fill)
{
	const struct mgpu_test_type *t = &mgpu_test_types[variant->idx];
	char uuid[MGPU_UUID_BUF], buf[256];
	int avail, created = 0, ret, i;

	avail = mgpu_test_available(mgpu_test_parent, t->dir);
	ASSERT_EQ((int)t->denom, avail);
	for (;;) {
		ret = mgpu_test_instances_create(&self->inst, mgpu_test_parent, t->dir,
						 uuid);
		if (ret)
			break;
		created++;
		ASSERT_GE(avail, created);
		EXPECT_EQ(avail - created, mgpu_test_available(mgpu_test_parent, t->dir));
	}
	EXPECT_EQ(-ENOSPC, ret)
		TH_LOG("create #%d: %s, expected ENOSPC", created + 1,
		       strerror(-ret));
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));
	EXPECT_EQ(avail, created);
	ASSERT_LE(0, mgpu_test_parent_read(mgpu_test_parent, "last_error", buf,
					   sizeof(buf)));
	EXPECT_NE(0U, strlen(buf)) TH_LOG("last_error empty after ENOSPC");
	TH_LOG("last_error: %s", buf);

	/* Full: nothing of any type fits. */
	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		EXPECT_EQ(0, mgpu_test_available(mgpu_test_parent, mgpu_test_types[i].dir))
			TH_LOG("full parent: %s", mgpu_test_types[i].dir);
	}
	check_available(_metadata, mgpu_test_parent, "full");

	/* Remove in creation order; the accounting follows. */
	while (self->inst.n) {
		ASSERT_OK(mgpu_test_instances_remove(&self->inst,
						     self->inst.uuid[0]));
		check_available(_metadata, mgpu_test_parent, "emptying");
	}
	EXPECT_EQ(avail, mgpu_test_available(mgpu_test_parent, t->dir));
}

/* ---- mixed types ---- */

FIXTURE(mix) {
	struct mgpu_test_instances inst;
};

FIXTURE_SETUP(mix)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
	self->inst.n = 0;
}

FIXTURE_TEARDOWN_PARENT(mix)
{
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
}

enum { PT, T2, T4, T8, T16 };	/* mgpu_test_types[] indexes */

static int create(struct mgpu_test_instances *l, int type, char *uuid)
{
	char dummy[MGPU_UUID_BUF];

	return mgpu_test_instances_create(l, mgpu_test_parent, mgpu_test_types[type].dir,
					  uuid ? uuid : dummy);
}

TEST_F(mix, half_then_others)
{
	static const int empty[] = { 1, 2, 4, 8, 16 };
	static const int one_half[] = { 0, 1, 2, 4, 8 };
	static const int half_quarter[] = { 0, 0, 1, 2, 4 };
	static const int half_quarter_eighth[] = { 0, 0, 0, 1, 2 };
	char half[MGPU_UUID_BUF], quarter[MGPU_UUID_BUF];

	expect_available(_metadata, mgpu_test_parent, "empty", empty);
	ASSERT_OK(create(&self->inst, T2, half));
	expect_available(_metadata, mgpu_test_parent, "1/2", one_half);
	ASSERT_OK(create(&self->inst, T4, quarter));
	expect_available(_metadata, mgpu_test_parent, "1/2 + 1/4", half_quarter);
	ASSERT_OK(create(&self->inst, T8, NULL));
	expect_available(_metadata, mgpu_test_parent, "1/2 + 1/4 + 1/8",
			 half_quarter_eighth);
	ASSERT_OK(create(&self->inst, T16, NULL));
	ASSERT_OK(create(&self->inst, T16, NULL));
	check_available(_metadata, mgpu_test_parent, "full");
	EXPECT_ERRNO(ENOSPC, create(&self->inst, T16, NULL));

	/* Freeing the 1/2 makes room for exactly one 1/2 again. */
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, half));
	expect_available(_metadata, mgpu_test_parent, "1/2 removed", one_half);
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, quarter));
	check_available(_metadata, mgpu_test_parent, "1/4 removed");
	ASSERT_OK(create(&self->inst, T2, NULL));
	check_available(_metadata, mgpu_test_parent, "1/2 again");
}

/* Passthrough owns the parent; it needs an empty parent. */
TEST_F(mix, passthrough_exclusive)
{
	static const int none[] = { 0, 0, 0, 0, 0 };
	static const int small[] = { 0, 1, 3, 7, 15 };
	char pt[MGPU_UUID_BUF], buf[256];
	int i;

	ASSERT_OK(create(&self->inst, PT, pt));
	expect_available(_metadata, mgpu_test_parent, "passthrough", none);
	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		EXPECT_ERRNO(ENOSPC, create(&self->inst, i, NULL));
		ASSERT_LE(0, mgpu_test_parent_read(mgpu_test_parent, "last_error", buf,
						   sizeof(buf)));
		EXPECT_NE(NULL, strcasestr(buf, "passthrough"))
			TH_LOG("%s next to passthrough: last_error '%s'",
			       mgpu_test_types[i].dir, buf);
	}
	EXPECT_EQ(1, mgpu_test_parent_instances(mgpu_test_parent));
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, pt));

	/* One 1/16 is enough to keep passthrough out. */
	ASSERT_OK(create(&self->inst, T16, NULL));
	expect_available(_metadata, mgpu_test_parent, "1/16", small);
	EXPECT_ERRNO(ENOSPC, create(&self->inst, PT, NULL));
	ASSERT_LE(0, mgpu_test_parent_read(mgpu_test_parent, "last_error", buf,
					   sizeof(buf)));
	EXPECT_NE(NULL, strcasestr(buf, "passthrough"))
		TH_LOG("passthrough on a used parent: last_error '%s'", buf);
}

/* A fixed pseudo-random walk of creates and removes. */
TEST_F(mix, random_walk)
{
	int model[MGPU_NUM_TYPES], step, type, ret, pt_creates = 0;
	unsigned int seed = 0x6d677075;
	char uuid[MGPU_UUID_BUF];

	for (step = 0; step < 60; step++) {
		ASSERT_OK(mgpu_test_model_available(mgpu_test_parent, model));
		if (self->inst.n && rand_r(&seed) % 3 == 0) {
			int victim = rand_r(&seed) % self->inst.n;

			memcpy(uuid, self->inst.uuid[victim], sizeof(uuid));
			ASSERT_OK(mgpu_test_instances_remove(&self->inst, uuid));
		} else {
			type = rand_r(&seed) % MGPU_NUM_TYPES;
			/* Passthrough zeroes all VRAM: keep it rare. */
			if (type == PT && pt_creates++ >= 2)
				type = T16;
			ret = create(&self->inst, type, uuid);
			if (model[type]) {
				EXPECT_EQ(0, ret)
					TH_LOG("step %d: %s failed (%s), available was %d",
					       step, mgpu_test_types[type].dir,
					       strerror(-ret), model[type]);
			} else {
				EXPECT_EQ(-ENOSPC, ret)
					TH_LOG("step %d: %s: %s, available was 0",
					       step, mgpu_test_types[type].dir,
					       ret ? strerror(-ret) : "created");
			}
		}
		check_available(_metadata, mgpu_test_parent, "random walk");
		if (_metadata->exit_code)
			break;
	}
}

/* ---- a second parent ---- */

FIXTURE(swgpu) {
	char name[32];
	struct mgpu_test_instances inst;
};

FIXTURE_VARIANT(swgpu) {
	const char *spec;
	uint64_t vram;
	uint64_t queues;
};

FIXTURE_VARIANT_ADD(swgpu, vram64m_q16) {
	.spec = "vram=64M queues=16", .vram = 64 * MiB, .queues = 16,
};

FIXTURE_VARIANT_ADD(swgpu, vram16m_q256) {
	.spec = "vram=16M queues=256", .vram = 16 * MiB, .queues = 256,
};

FIXTURE_VARIANT_ADD(swgpu, vram32768k_q32) {
	.spec = "vram=32768K queues=32\n", .vram = 32 * MiB, .queues = 32,
};

FIXTURE_SETUP(swgpu)
{
	int n;

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	self->inst.n = 0;
	/* The new parent takes the lowest free slot of the PCI bus. */
	for (n = 0; n < MGPU_TEST_SWGPU_SLOTS; n++) {
		mgpu_test_swgpu_name(n, self->name, sizeof(self->name));
		if (!mgpu_test_parent_exists(self->name))
			break;
	}
	ASSERT_FALSE(mgpu_test_parent_exists(self->name));
}

FIXTURE_TEARDOWN_PARENT(swgpu)
{
	if (self->name[0] && mgpu_test_parent_exists(self->name)) {
		mgpu_test_instances_cleanup(&self->inst);
		EXPECT_OK(mgpu_test_remove_swgpu(self->name));
	}
}

TEST_F(swgpu, add_and_remove)
{
	char buf[256], want[256], uuid[MGPU_UUID_BUF];
	uint64_t val;
	int i;

	ASSERT_OK(mgpu_test_add_swgpu(variant->spec));
	ASSERT_TRUE(mgpu_test_parent_exists(self->name))
		TH_LOG("'%s' did not create %s", variant->spec, self->name);

	ASSERT_OK(mgpu_test_parent_u64(self->name, "vram_size", &val));
	EXPECT_EQ(variant->vram, val);
	ASSERT_OK(mgpu_test_parent_u64(self->name, "queues", &val));
	EXPECT_EQ(variant->queues, val);
	ASSERT_LE(0, mgpu_test_parent_read(self->name, "backend", buf, sizeof(buf)));
	EXPECT_STREQ("software", buf);
	EXPECT_EQ(0, mgpu_test_parent_instances(self->name));

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		const struct mgpu_test_type *t = &mgpu_test_types[i];

		snprintf(want, sizeof(want),
			 "vram=%lluM, queues=%llu, max_instances=%u",
			 (unsigned long long)(variant->vram / t->denom / MiB),
			 (unsigned long long)(variant->queues / t->denom),
			 t->denom);
		ASSERT_LE(0, mgpu_test_type_read(self->name, t->dir, "description",
						 buf, sizeof(buf)));
		EXPECT_STREQ(want, buf);
		EXPECT_EQ((int)t->denom, mgpu_test_available(self->name, t->dir));
	}

	/* An instance on it, sized from this parent. */
	ASSERT_OK(mgpu_test_instances_create(&self->inst, self->name, "mgpu-1_4",
					     uuid));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_size", &val));
	EXPECT_EQ(variant->vram / 4, val);
	ASSERT_OK(mgpu_test_instance_u64(uuid, "queues", &val));
	EXPECT_EQ(variant->queues / 4, val);
	check_available(_metadata, self->name, "second parent");

	/* Removing the parent takes its instance along. */
	ASSERT_OK(mgpu_test_remove_swgpu(self->name));
	EXPECT_FALSE(mgpu_test_parent_exists(self->name));
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));
	self->inst.n = 0;

	/* The parent under test is untouched. */
	if (strcmp(self->name, mgpu_test_parent))
		EXPECT_TRUE(mgpu_test_parent_exists(mgpu_test_parent));
}

MGPU_TEST_HARNESS_MAIN
