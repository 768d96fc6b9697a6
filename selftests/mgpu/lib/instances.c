// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: the types, creating and removing instances.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mgpu_test.h"

const struct mgpu_test_type mgpu_test_types[MGPU_NUM_TYPES] = {
	{ "mgpu-passthrough",	"mgpu passthrough",	1,  0 },
	{ "mgpu-1_2",		"mgpu 1/2",		2,  1 },
	{ "mgpu-1_4",		"mgpu 1/4",		4,  2 },
	{ "mgpu-1_8",		"mgpu 1/8",		8,  3 },
	{ "mgpu-1_16",		"mgpu 1/16",		16, 4 },
};

const struct mgpu_test_type *mgpu_test_type_by_dir(const char *dir)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mgpu_test_types); i++)
		if (!strcmp(mgpu_test_types[i].dir, dir))
			return &mgpu_test_types[i];
	return NULL;
}

int mgpu_test_parent_instances(const char *parent)
{
	int i, n, total = 0;

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		n = mgpu_test_type_count(parent, mgpu_test_types[i].dir);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

int mgpu_test_uuid_random(char uuid[MGPU_UUID_BUF])
{
	char buf[64];
	int ret;

	ret = mgpu_test_read_attr("/proc/sys/kernel/random/uuid", buf,
				  sizeof(buf));
	if (ret < 0)
		return ret;
	if (ret != MGPU_UUID_LEN)
		return -EBADMSG;
	memcpy(uuid, buf, MGPU_UUID_BUF);
	return 0;
}

int mgpu_test_create(const char *parent, const char *type, const char *uuid)
{
	return mgpu_test_type_write(parent, type, "create", uuid);
}

int mgpu_test_remove(const char *uuid)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_write_attr(mgpu_test_path(path, sizeof(path),
						   "%s/%s/remove",
						   MGPU_MDEV_DIR, uuid), "1");
}

int mgpu_test_add_swgpu(const char *spec)
{
	return mgpu_test_write_attr(MGPU_CLASS_DIR "/add_swgpu", spec);
}

int mgpu_test_remove_swgpu(const char *name)
{
	return mgpu_test_write_attr(MGPU_CLASS_DIR "/remove_swgpu", name);
}

int mgpu_test_instances_create(struct mgpu_test_instances *l,
			       const char *parent, const char *type,
			       char uuid[MGPU_UUID_BUF])
{
	int ret;

	MGPU_TEST_ASSERT_LT(l->n, (int)ARRAY_SIZE(l->uuid));
	ret = mgpu_test_uuid_random(uuid);
	if (ret)
		return ret;
	/* Record first: a create that fails but leaves a device is a bug
	 * the test reports, and teardown must still remove it.
	 */
	memcpy(l->uuid[l->n], uuid, MGPU_UUID_BUF);
	ret = mgpu_test_create(parent, type, uuid);
	if (!ret || mgpu_test_instance_exists(uuid))
		l->n++;
	return ret;
}

int mgpu_test_instances_remove(struct mgpu_test_instances *l,
			       const char *uuid)
{
	int i, ret;

	ret = mgpu_test_remove(uuid);
	if (ret)
		return ret;
	for (i = 0; i < l->n; i++) {
		if (strcmp(l->uuid[i], uuid))
			continue;
		memmove(l->uuid[i], l->uuid[i + 1],
			(l->n - i - 1) * sizeof(l->uuid[0]));
		l->n--;
		break;
	}
	return 0;
}

int mgpu_test_instances_cleanup(struct mgpu_test_instances *l)
{
	int i, ret, fail = 0;

	for (i = l->n - 1; i >= 0; i--) {
		if (!mgpu_test_instance_exists(l->uuid[i]))
			continue;
		ret = mgpu_test_remove(l->uuid[i]);
		if (ret) {
			fprintf(stderr, "# cleanup: cannot remove %s: %s\n",
				l->uuid[i], strerror(-ret));
			fail++;
		}
	}
	l->n = 0;
	return fail;
}
