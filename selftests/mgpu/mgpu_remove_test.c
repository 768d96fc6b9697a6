// SPDX-License-Identifier: GPL-2.0
/*
 * Removing an mgpu instance (or its parent: remove_swgpu, or its PCI
 * function unbound from the mgpu driver or removed) while a VFIO user
 * holds it open: the driver signals the VFIO request eventfd, the user
 * lets go, and the removal completes.  Nothing here may hang: every wait
 * has a time limit.
 */
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"

#define REQ_TIMEOUT_MS		10000	/* request eventfd must fire by then */
#define REMOVE_TIMEOUT_MS	20000	/* removal must complete by then */

static bool wait_gone(const char *path, int ms)
{
	int waited;

	for (waited = 0; waited < ms; waited += 10) {
		if (!mgpu_test_path_exists(path))
			return true;
		usleep(10000);
	}
	return !mgpu_test_path_exists(path);
}

FIXTURE(remove) {
	struct mgpu_test_instances inst;
	char parent[32];
	char uuid[MGPU_UUID_BUF];
	struct mgpu_test_vfio v;
	int efd;
	pid_t child;
};

/* What goes: the instance, or its whole parent (a software GPU of its own). */
enum remove_how {
	REMOVE_INSTANCE,	/* <uuid>/remove */
	REMOVE_SWGPU,		/* remove_swgpu */
	REMOVE_UNBIND,		/* the parent's PCI function unbound from mgpu */
	REMOVE_PCI,		/* the parent's PCI function removed */
};

FIXTURE_VARIANT(remove) {
	enum remove_how how;
	bool whole_parent;
};

FIXTURE_VARIANT_ADD(remove, instance) { .how = REMOVE_INSTANCE };
FIXTURE_VARIANT_ADD(remove, parent) {
	.how = REMOVE_SWGPU, .whole_parent = true,
};
FIXTURE_VARIANT_ADD(remove, pci_unbind) {
	.how = REMOVE_UNBIND, .whole_parent = true,
};
FIXTURE_VARIANT_ADD(remove, pci_remove) {
	.how = REMOVE_PCI, .whole_parent = true,
};

FIXTURE_SETUP(remove)
{
	int n, ret;

	self->child = 0;
	self->inst.n = 0;
	self->parent[0] = '\0';
	if (variant->whole_parent) {
		if (!mgpu_test_loaded())
			SKIP(return, "mgpu.ko not loaded (no %s)",
			     MGPU_CLASS_DIR);
		for (n = 1; n < MGPU_TEST_SWGPU_SLOTS; n++) {
			mgpu_test_swgpu_name(n, self->parent,
					     sizeof(self->parent));
			if (!mgpu_test_parent_exists(self->parent))
				break;
		}
		ASSERT_OK(mgpu_test_add_swgpu("vram=16M queues=16"));
		ASSERT_TRUE(mgpu_test_parent_exists(self->parent));
	} else {
		MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
		snprintf(self->parent, sizeof(self->parent), "%s",
			 mgpu_test_parent);
	}
	MGPU_REQUIRE_VFIO();
	ret = mgpu_test_instance_open(&self->inst, self->parent, "mgpu-1_4",
				      self->uuid, NULL, &self->v);
	if (ret) {
		if (variant->whole_parent)
			mgpu_test_remove_swgpu(self->parent);
		ASSERT_OK(ret);
	}
}

FIXTURE_TEARDOWN_PARENT(remove)
{
	/* The test child (and with it every VFIO fd) is gone. */
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	EXPECT_EQ(0, mgpu_test_instances_cleanup(&self->inst));
	/* Unbound or removed, the software GPU itself is still there. */
	if (variant->whole_parent && self->parent[0] &&
	    (mgpu_test_parent_exists(self->parent) ||
	     variant->how != REMOVE_SWGPU))
		EXPECT_OK(mgpu_test_remove_swgpu(self->parent));
}

static pid_t start_remove(FIXTURE_DATA(remove) *self,
			  const FIXTURE_VARIANT(remove) *variant)
{
	char path[MGPU_PATH_MAX];

	switch (variant->how) {
	case REMOVE_SWGPU:
		return mgpu_test_write_attr_async(MGPU_CLASS_DIR "/remove_swgpu",
				   self->parent);
	case REMOVE_UNBIND:
		return mgpu_test_write_attr_async("/sys/bus/pci/drivers/mgpu/unbind",
				   self->parent);
	case REMOVE_PCI:
		return mgpu_test_write_attr_async(mgpu_test_path(path, sizeof(path),
						  "/sys/bus/pci/devices/%s/remove",
						  self->parent), "1");
	default:
		return mgpu_test_write_attr_async(mgpu_test_path(path, sizeof(path),
						  "%s/%s/remove", MGPU_MDEV_DIR,
						  self->uuid), "1");
	}
}

static void check_gone(struct __test_metadata *_metadata,
		       FIXTURE_DATA(remove) *self,
		       const FIXTURE_VARIANT(remove) *variant)
{
	char path[MGPU_PATH_MAX];
	int ret;

	ret = mgpu_test_wait_child(self->child, REMOVE_TIMEOUT_MS);
	EXPECT_EQ(0, ret) TH_LOG("removal: %s", strerror(-ret));
	if (ret != -ETIMEDOUT)
		self->child = 0;
	EXPECT_TRUE(wait_gone(mgpu_test_path(path, sizeof(path), "%s/%s",
					     MGPU_MDEV_DIR, self->uuid), 1000))
		TH_LOG("%s still exists", path);
	if (variant->whole_parent)
		EXPECT_FALSE(mgpu_test_parent_exists(self->parent));
	self->inst.n = 0;
}

/* The request eventfd fires; closing the device lets the removal finish. */
TEST_F_TIMEOUT(remove, request_eventfd, 60)
{
	struct pollfd pfd;
	uint64_t count = 0;
	int ret;

	self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	ASSERT_OK(mgpu_test_set_req_eventfd(self->v.device, self->efd));

	self->child = start_remove(self, variant);
	ASSERT_LT(0, self->child);

	pfd.fd = self->efd;
	pfd.events = POLLIN;
	ret = poll(&pfd, 1, REQ_TIMEOUT_MS);
	EXPECT_EQ(1, ret) TH_LOG("no device request within %d ms",
				 REQ_TIMEOUT_MS);
	if (ret == 1) {
		EXPECT_EQ((ssize_t)sizeof(count),
			  read(self->efd, &count, sizeof(count)));
		EXPECT_LE(1ULL, count);
	}
	/*
	 * While we hold it, the removal cannot complete.  (The mdev core
	 * may already have unlinked /sys/bus/mdev/devices/<uuid>: device_del()
	 * drops the bus link before it unbinds the driver.)
	 */
	EXPECT_EQ(-ETIMEDOUT, mgpu_test_wait_child(self->child, 0))
		TH_LOG("removal completed while the device was open");

	mgpu_test_vfio_close(&self->v);
	close(self->efd);
	check_gone(_metadata, self, variant);
}

/* Without a request eventfd the removal just waits for the close. */
TEST_F_TIMEOUT(remove, no_request_eventfd, 60)
{
	int ret;

	self->child = start_remove(self, variant);
	ASSERT_LT(0, self->child);
	ret = mgpu_test_wait_child(self->child, 1000);
	EXPECT_EQ(-ETIMEDOUT, ret)
		TH_LOG("removal of an open device returned early: %s",
		       strerror(-ret));
	if (ret != -ETIMEDOUT)
		self->child = 0;

	mgpu_test_vfio_close(&self->v);
	if (self->child)
		check_gone(_metadata, self, variant);
}

/* Removal of a closed instance returns at once, also after a reset. */
TEST_F(remove, closed)
{
	ASSERT_EQ(0, ioctl(self->v.device, VFIO_DEVICE_RESET));
	mgpu_test_vfio_close(&self->v);
	self->child = start_remove(self, variant);
	ASSERT_LT(0, self->child);
	check_gone(_metadata, self, variant);
}

MGPU_TEST_HARNESS_MAIN
