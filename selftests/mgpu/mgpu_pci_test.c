// SPDX-License-Identifier: GPL-2.0
/*
 * A parent GPU is a PCI device: a software GPU is a function of mgpu's
 * virtual PCI host bridge, bound to the PCI driver "mgpu", which
 * registers the mdev parent on it.  What management stacks rely on:
 *
 * - the identity (IDs, class 3D controller, no BARs, no interrupt) in
 *   sysfs and in config space, a name that Nova's PCI address pattern
 *   accepts (four hex digits of domain), the driver and the types;
 * - what users do with any PCI device: unbind and bind the driver,
 *   remove the device and rescan the bus; and remove_swgpu by address
 *   or by the old name swgpuN.
 *
 * The parent under test is only looked at; the rest runs on software
 * GPUs of its own (add_swgpu), removed again afterwards.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define PCI_DRIVER	"/sys/bus/pci/drivers/mgpu"

/* /sys/bus/pci/devices/<name>/<attr> as a number, or -1. */
static long long pci_attr(const char *name, const char *attr)
{
	char path[MGPU_PATH_MAX];
	uint64_t val;

	if (mgpu_test_read_u64(mgpu_test_path(path, sizeof(path), "%s/%s/%s",
					      PCI_DEVICES, name, attr), &val))
		return -1;
	return val;
}

/* Basename of the target of /sys/bus/pci/devices/<name>/<link>. */
static int pci_link(const char *name, const char *link, char *buf,
		    size_t size)
{
	char path[MGPU_PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	mgpu_test_path(path, sizeof(path), "%s/%s/%s", PCI_DEVICES, name, link);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	memcpy(buf, base, strlen(base) + 1);
	return 0;
}

static bool pci_exists(const char *name)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_path_exists(mgpu_test_path(path, sizeof(path),
						    "%s/%s", PCI_DEVICES,
						    name));
}

/* DDDD:BB:SS.F, hex, as Nova's pci_utils.parse_address() wants it. */
static bool nova_address(const char *s)
{
	static const char pattern[] = "xxxx:xx:xx.o";
	size_t i;

	if (strlen(s) != sizeof(pattern) - 1)
		return false;
	for (i = 0; pattern[i]; i++) {
		if (pattern[i] == 'x' && !isxdigit((unsigned char)s[i]))
			return false;
		if (pattern[i] == 'o' && (s[i] < '0' || s[i] > '7'))
			return false;
		if (pattern[i] != 'x' && pattern[i] != 'o' && s[i] != pattern[i])
			return false;
	}
	return true;
}

/* Every type directory of the parent is there, and nothing else. */
static void check_types(struct __test_metadata *_metadata, const char *name)
{
	char path[MGPU_PATH_MAX];
	int i;

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		const struct mgpu_test_type *t = &mgpu_test_types[i];

		EXPECT_TRUE(mgpu_test_path_exists(mgpu_test_path(path,
			sizeof(path), "%s/%s/mdev_supported_types/%s/create",
			PCI_DEVICES, name, t->dir)))
			TH_LOG("%s: no type %s", name, t->dir);
		EXPECT_EQ((int)t->denom, mgpu_test_available(name, t->dir));
	}
}

FIXTURE(identity) {
	int unused;
};

FIXTURE_SETUP(identity)
{
	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	if (!pci_exists(mgpu_test_parent))
		SKIP(return, "%s is not a PCI device", mgpu_test_parent);
}

FIXTURE_TEARDOWN(identity)
{
}

TEST_F(identity, ids_and_class)
{
	const char *p = mgpu_test_parent;
	char buf[256];

	EXPECT_TRUE(nova_address(p))
		TH_LOG("'%s' is not of the form DDDD:BB:SS.F", p);
	EXPECT_EQ(MGPU_PCI_VENDOR_ID, pci_attr(p, "vendor"));
	EXPECT_EQ(MGPU_PCI_SWGPU_DEVICE_ID, pci_attr(p, "device"));
	EXPECT_EQ(MGPU_PCI_SUBSYS_VENDOR_ID, pci_attr(p, "subsystem_vendor"));
	EXPECT_EQ(MGPU_PCI_SWGPU_DEVICE_ID, pci_attr(p, "subsystem_device"));
	EXPECT_EQ(MGPU_PCI_REVISION, pci_attr(p, "revision"));
	EXPECT_EQ(0x030200, pci_attr(p, "class"));
	EXPECT_EQ(0, pci_attr(p, "irq"));

	ASSERT_OK(pci_link(p, "driver", buf, sizeof(buf)));
	EXPECT_STREQ("mgpu", buf);
	ASSERT_OK(pci_link(p, "subsystem", buf, sizeof(buf)));
	EXPECT_STREQ("pci", buf);
	EXPECT_TRUE(mgpu_test_parent_exists(p));
	ASSERT_LE(0, mgpu_test_parent_read(p, "backend", buf, sizeof(buf)));
	EXPECT_STREQ("software", buf);
}

TEST_F(identity, config_space)
{
	char path[MGPU_PATH_MAX];
	unsigned char cfg[256];
	ssize_t n;
	int fd, i;

	fd = open(mgpu_test_path(path, sizeof(path), "%s/%s/config",
				 PCI_DEVICES, mgpu_test_parent), O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, cfg, sizeof(cfg));
	close(fd);
	ASSERT_EQ(256, n);

	EXPECT_EQ(MGPU_PCI_VENDOR_ID, cfg[0] | cfg[1] << 8);
	EXPECT_EQ(MGPU_PCI_SWGPU_DEVICE_ID, cfg[2] | cfg[3] << 8);
	EXPECT_EQ(0, cfg[6] & 0x10);		/* no capability list */
	EXPECT_EQ(0x00, cfg[9]);		/* prog-if */
	EXPECT_EQ(0x02, cfg[10]);		/* 3D controller */
	EXPECT_EQ(0x03, cfg[11]);		/* display controller */
	EXPECT_EQ(0x00, cfg[14]);		/* type 0 header, one function */
	for (i = 0x10; i < 0x28; i++)		/* no BARs */
		EXPECT_EQ(0, cfg[i]);
	EXPECT_EQ(0, cfg[0x3d]);		/* no interrupt pin */
}

/*
 * lspci (the test VM's image has pciutils and pci.ids) lists the function
 * as a 3D controller with the project's IDs, by number and by name.
 */
TEST_F(identity, lspci)
{
	char cmd[128], line[512];
	bool seen = false;
	FILE *f;

	if (access("/usr/bin/lspci", X_OK) && access("/sbin/lspci", X_OK) &&
	    access("/usr/sbin/lspci", X_OK))
		SKIP(return, "no lspci in this image");
	snprintf(cmd, sizeof(cmd), "lspci -nn -s %s 2>&1", mgpu_test_parent);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		TH_LOG("lspci -nn: %s", strtok(line, "\n"));
		if (strncmp(line, mgpu_test_parent, strlen(mgpu_test_parent)))
			continue;
		seen = true;
		EXPECT_NE(NULL, strstr(line, "3D controller [0302]"));
		EXPECT_NE(NULL, strstr(line, "[1f4d:0002]"));
	}
	EXPECT_EQ(0, pclose(f));
	EXPECT_TRUE(seen)
		TH_LOG("lspci does not list %s", mgpu_test_parent);
}

/* ---- a software GPU of the test's own ---- */

FIXTURE(own) {
	char name[32];
	unsigned int slot;
	struct mgpu_test_instances inst;
};

FIXTURE_SETUP(own)
{
	uint32_t before, after;

	self->name[0] = '\0';
	self->inst.n = 0;
	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded (no %s)", MGPU_CLASS_DIR);
	before = mgpu_test_swgpu_set();
	ASSERT_OK(mgpu_test_add_swgpu("vram=16M queues=16"));
	after = mgpu_test_swgpu_set() & ~before;
	ASSERT_NE(0U, after)
		TH_LOG("add_swgpu created no new software GPU");
	self->slot = __builtin_ctz(after);
	mgpu_test_swgpu_name(self->slot, self->name, sizeof(self->name));
	ASSERT_TRUE(pci_exists(self->name));
}

FIXTURE_TEARDOWN_PARENT(own)
{
	char path[MGPU_PATH_MAX];

	if (!self->name[0])
		return;
	mgpu_test_instances_cleanup(&self->inst);
	/* Bound or not, present or not: remove_swgpu empties the slot. */
	if (pci_exists(self->name) &&
	    !mgpu_test_path_exists(mgpu_test_path(path, sizeof(path),
						  "%s/%s/driver", PCI_DEVICES,
						  self->name)))
		mgpu_test_write_attr(PCI_DRIVER "/bind", self->name);
	mgpu_test_remove_swgpu(self->name);
	EXPECT_FALSE(pci_exists(self->name));
}

TEST_F(own, unbind_and_bind)
{
	char uuid[MGPU_UUID_BUF];

	check_types(_metadata, self->name);
	ASSERT_OK(mgpu_test_instances_create(&self->inst, self->name,
					     "mgpu-1_4", uuid));

	/* Unbinding removes the instances and the types, not the device. */
	ASSERT_OK(mgpu_test_write_attr(PCI_DRIVER "/unbind", self->name));
	EXPECT_TRUE(pci_exists(self->name));
	EXPECT_FALSE(mgpu_test_parent_exists(self->name));
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));
	EXPECT_EQ(-1, pci_attr(self->name, "vram_size"));

	/* Bound again: an empty parent with every type, usable. */
	ASSERT_OK(mgpu_test_write_attr(PCI_DRIVER "/bind", self->name));
	ASSERT_TRUE(mgpu_test_parent_exists(self->name));
	EXPECT_EQ(16 * MiB, pci_attr(self->name, "vram_size"));
	check_types(_metadata, self->name);
	EXPECT_PARENT_EMPTY(self->name);
	ASSERT_OK(mgpu_test_instances_create(&self->inst, self->name,
					     "mgpu-1_2", uuid));
	EXPECT_EQ(1, mgpu_test_available(self->name, "mgpu-1_2"));
	EXPECT_OK(mgpu_test_instances_remove(&self->inst, uuid));
}

TEST_F(own, remove_and_rescan)
{
	char path[MGPU_PATH_MAX], uuid[MGPU_UUID_BUF];

	ASSERT_OK(mgpu_test_instances_create(&self->inst, self->name,
					     "mgpu-1_16", uuid));
	/* The PCI core's remove: the function goes, with its instances. */
	ASSERT_OK(mgpu_test_write_attr(mgpu_test_path(path, sizeof(path),
						      "%s/%s/remove",
						      PCI_DEVICES, self->name),
				       "1"));
	EXPECT_FALSE(pci_exists(self->name));
	EXPECT_FALSE(mgpu_test_parent_exists(self->name));
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));

	/* The software GPU still exists: a rescan finds it again. */
	ASSERT_OK(mgpu_test_write_attr("/sys/bus/pci/rescan", "1"));
	ASSERT_TRUE(pci_exists(self->name));
	ASSERT_TRUE(mgpu_test_parent_exists(self->name));
	check_types(_metadata, self->name);
	EXPECT_PARENT_EMPTY(self->name);
	ASSERT_OK(mgpu_test_instances_create(&self->inst, self->name,
					     "mgpu-1_4", uuid));

	/* remove_swgpu by address: gone for good, a rescan finds nothing. */
	ASSERT_OK(mgpu_test_remove_swgpu(self->name));
	EXPECT_FALSE(pci_exists(self->name));
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));
	self->inst.n = 0;
	ASSERT_OK(mgpu_test_write_attr("/sys/bus/pci/rescan", "1"));
	EXPECT_FALSE(pci_exists(self->name));
	EXPECT_ERRNO(ENODEV, mgpu_test_remove_swgpu(self->name));
	self->name[0] = '\0';
}

/* A software GPU whose function the user removed can still be removed. */
TEST_F(own, remove_swgpu_after_pci_remove)
{
	char path[MGPU_PATH_MAX];

	ASSERT_OK(mgpu_test_write_attr(mgpu_test_path(path, sizeof(path),
						      "%s/%s/remove",
						      PCI_DEVICES, self->name),
				       "1"));
	ASSERT_OK(mgpu_test_remove_swgpu(self->name));
	ASSERT_OK(mgpu_test_write_attr("/sys/bus/pci/rescan", "1"));
	EXPECT_FALSE(pci_exists(self->name));
	self->name[0] = '\0';
}

/* Scripts written for the old names: swgpuN is the function in slot N. */
TEST_F(own, remove_by_old_name)
{
	char old[32];

	snprintf(old, sizeof(old), "swgpu%u", self->slot);
	ASSERT_OK(mgpu_test_remove_swgpu(old));
	EXPECT_FALSE(pci_exists(self->name));
	EXPECT_ERRNO(ENODEV, mgpu_test_remove_swgpu(old));
	self->name[0] = '\0';
}

/* Upper-case hex names the same function (the kernel prints lower). */
TEST_F(own, remove_by_upper_case_address)
{
	char upper[32];
	size_t i;

	for (i = 0; self->name[i]; i++)
		upper[i] = toupper((unsigned char)self->name[i]);
	upper[i] = '\0';
	ASSERT_OK(mgpu_test_remove_swgpu(upper));
	EXPECT_FALSE(pci_exists(self->name));
	self->name[0] = '\0';
}

MGPU_TEST_HARNESS_MAIN
