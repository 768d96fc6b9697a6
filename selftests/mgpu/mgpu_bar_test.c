// SPDX-License-Identifier: GPL-2.0
/*
 * A real PCI device as a parent (the BAR backend): the mgpu PCI driver,
 * handed a device through driver_override or new_id, makes its largest
 * memory BAR the parent's VRAM.
 *
 * The test VM has an ivshmem-plain device (1af4:1110) whose BAR2 is
 * 64 MiB of plain memory, and one of 8 MiB, too small to be a parent
 * (scripts/run-qemu.sh).  What is checked:
 *
 * - binding: the types, their capacity derived from the BAR size, the
 *   backend "bar"; a BAR below 16 MiB refused with a log line that says
 *   why; bad bar_queues refused; new_id binds too;
 * - instances: a 1/4 and a 1/2 opened through VFIO, written through
 *   their BAR2 mappings and by the engine (FILL, COPY); the bytes are
 *   where they belong in the device's BAR (read through the PCI core's
 *   resource2 file, independent of mgpu), the neighbour untouched;
 *   VRAM reads zero after bind and after a close;
 * - unbinding: the BAR's VRAM is scrubbed before the device goes back;
 *   the device binds again; an unbind while a tenant holds an instance
 *   open sends the tenant the VFIO device request and waits for its
 *   close, then scrubs;
 * - migration: an instance moves from a software GPU onto the BAR
 *   parent and back (VFIO migration v2, STOP_COPY and RESUMING).
 *
 * Every test runs with the BAR mapped write-back (bar_cache=wb) and
 * write-combining (bar_cache=wc, the default).  Reading resource2 while
 * mgpu holds the BAR needs iomem=relaxed with CONFIG_IO_STRICT_DEVMEM
 * (Debian's kernels; the test VM boots with it); without it those checks
 * are skipped with a log line.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"
#include "libmgpu.h"
#include "mgpu_mig.h"

#define PCI_DEVICES	"/sys/bus/pci/devices"
#define PCI_DRIVER	"/sys/bus/pci/drivers/mgpu"
#define BAR_QUEUES	"/sys/module/mgpu/parameters/bar_queues"
#define BAR_CACHE	"/sys/module/mgpu/parameters/bar_cache"
#define BAR_ENGINES	"/sys/module/mgpu/parameters/bar_engines"
#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define MIN_VRAM	(16 * MiB)
#define TIMEOUT_MS	20000

/* BAR2 of @bdf: start and size from the resource file; 0 or -errno. */
static int bar2(const char *bdf, uint64_t *start, uint64_t *size)
{
	char path[MGPU_PATH_MAX], line[128];
	unsigned long long s = 0, e = 0, f;
	int i, ret = -ENOENT;
	FILE *file;

	file = fopen(mgpu_test_path(path, sizeof(path), "%s/%s/resource",
				    PCI_DEVICES, bdf), "r");
	if (!file)
		return -errno;
	for (i = 0; i <= 2 && fgets(line, sizeof(line), file); i++) {
		if (i == 2 && sscanf(line, "%llx %llx %llx", &s, &e, &f) == 3 &&
		    e > s) {
			*start = s;
			*size = e - s + 1;
			ret = 0;
		}
	}
	fclose(file);
	return ret;
}

static long long pci_attr(const char *bdf, const char *attr)
{
	char path[MGPU_PATH_MAX];
	uint64_t val;

	if (mgpu_test_read_u64(mgpu_test_path(path, sizeof(path), "%s/%s/%s",
					      PCI_DEVICES, bdf, attr), &val))
		return -1;
	return val;
}

/*
 * The ivshmem devices: @big, the first with a BAR2 of at least 16 MiB,
 * @small, the first with less ("" when there is none).
 */
static void find_ivshmem(char *big, char *small, size_t size)
{
	struct dirent *d;
	DIR *dir;

	big[0] = small[0] = '\0';
	dir = opendir(PCI_DEVICES);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		uint64_t start, len;
		char *which;

		if (d->d_name[0] == '.' ||
		    pci_attr(d->d_name, "vendor") != IVSHMEM_VENDOR ||
		    pci_attr(d->d_name, "device") != IVSHMEM_DEVICE ||
		    bar2(d->d_name, &start, &len))
			continue;
		which = len >= MIN_VRAM ? big : small;
		if (!which[0] && strlen(d->d_name) < size)
			memcpy(which, d->d_name, strlen(d->d_name) + 1);
	}
	closedir(dir);
}

/* The driver bound to @bdf into @buf ("" if none). */
static void driver_of(const char *bdf, char *buf, size_t size)
{
	char path[MGPU_PATH_MAX], target[PATH_MAX];
	ssize_t n;

	buf[0] = '\0';
	mgpu_test_path(path, sizeof(path), "%s/%s/driver", PCI_DEVICES, bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	snprintf(buf, size, "%s", strrchr(target, '/') + 1);
}

static bool bound_to_mgpu(const char *bdf)
{
	char drv[64];

	driver_of(bdf, drv, sizeof(drv));
	return !strcmp(drv, "mgpu");
}

/* driver_override + drivers_probe: 0 if mgpu took it, else -ENODEV. */
static int bind_mgpu(const char *bdf)
{
	char path[MGPU_PATH_MAX];
	int ret;

	ret = mgpu_test_write_attr(mgpu_test_path(path, sizeof(path),
						  "%s/%s/driver_override",
						  PCI_DEVICES, bdf), "mgpu");
	if (ret)
		return ret;
	/* A failed probe makes this write fail on some kernels: look. */
	mgpu_test_write_attr("/sys/bus/pci/drivers_probe", bdf);
	return bound_to_mgpu(bdf) ? 0 : -ENODEV;
}

/* Unbind from mgpu (if bound) and clear driver_override. */
static void unbind_mgpu(const char *bdf)
{
	char path[MGPU_PATH_MAX];

	if (bound_to_mgpu(bdf))
		mgpu_test_write_attr(PCI_DRIVER "/unbind", bdf);
	mgpu_test_write_attr(mgpu_test_path(path, sizeof(path),
					    "%s/%s/driver_override",
					    PCI_DEVICES, bdf), "\n");
}

/*
 * The device's BAR2 through the PCI core (resource2), not through mgpu:
 * MAP_FAILED with errno when the kernel keeps a BAR that a driver holds
 * away from userspace (CONFIG_IO_STRICT_DEVMEM without iomem=relaxed).
 */
static void *map_resource2(const char *bdf, uint64_t size)
{
	char path[MGPU_PATH_MAX];
	void *p;
	int fd;

	fd = open(mgpu_test_path(path, sizeof(path), "%s/%s/resource2",
				 PCI_DEVICES, bdf), O_RDWR | O_SYNC);
	if (fd < 0)
		return MAP_FAILED;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p;
}

/* Is [p, p + len) all @byte?  The offset of the first other byte, or -1. */
static long long first_not(const void *p, uint64_t len, uint8_t byte)
{
	const uint8_t *b = p;
	uint64_t i;

	for (i = 0; i < len; i++)
		if (b[i] != byte)
			return i;
	return -1;
}

/* /dev/kmsg from now on, to look for a log line; -1 if unreadable. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Did a record since kmsg_open() contain @needle? */
static bool kmsg_has(int fd, const char *needle)
{
	char rec[1024];
	bool found = false;
	ssize_t n;

	if (fd < 0)
		return false;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records */
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle))
			found = true;
	}
	return found;
}

FIXTURE(bar) {
	char bdf[32];
	char small[32];
	char swgpu[32];		/* a software GPU a test added, or "" */
	uint64_t start, size;
	struct mgpu_test_instances inst;
};

FIXTURE_VARIANT(bar) {
	const char *cache;
};

FIXTURE_VARIANT_ADD(bar, wb) {
	.cache = "wb",
};

FIXTURE_VARIANT_ADD(bar, wc) {
	.cache = "wc",
};

/* Does the kernel let userspace map a BAR a driver holds? */
static bool iomem_relaxed(void)
{
	char line[4096];
	bool ret = false;
	FILE *f = fopen("/proc/cmdline", "r");

	if (f && fgets(line, sizeof(line), f))
		ret = strstr(line, "iomem=relaxed");
	if (f)
		fclose(f);
	return ret;
}

FIXTURE_SETUP(bar)
{
	char drv[64];

	self->swgpu[0] = '\0';
	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded");
	find_ivshmem(self->bdf, self->small, sizeof(self->bdf));
	if (!self->bdf[0])
		SKIP(return, "no ivshmem-plain device (1af4:1110) with a BAR2 of at least 16 MiB (scripts/run-qemu.sh adds one to the test VM)");
	ASSERT_OK(bar2(self->bdf, &self->start, &self->size));
	driver_of(self->bdf, drv, sizeof(drv));
	if (drv[0] && strcmp(drv, "mgpu"))
		SKIP(return, "%s is in use by driver %s", self->bdf, drv);
	/* Left bound by an earlier run: start from an unbound device. */
	unbind_mgpu(self->bdf);
	ASSERT_OK(mgpu_test_write_attr(BAR_CACHE, variant->cache));
	ASSERT_EQ(0, bind_mgpu(self->bdf))
		TH_LOG("mgpu refused %s (see the kernel log)", self->bdf);
	ASSERT_TRUE(mgpu_test_parent_exists(self->bdf));
}

FIXTURE_TEARDOWN_PARENT(bar)
{
	char path[MGPU_PATH_MAX];

	mgpu_test_instances_cleanup(&self->inst);
	if (self->swgpu[0])
		mgpu_test_remove_swgpu(self->swgpu);
	if (self->bdf[0])
		unbind_mgpu(self->bdf);
	mgpu_test_write_attr(BAR_QUEUES, "16");
	mgpu_test_write_attr(BAR_ENGINES, "1");
	mgpu_test_write_attr(BAR_CACHE, "wc");
	if (mgpu_test_path_exists(mgpu_test_path(path, sizeof(path),
						 "%s/remove_id", PCI_DRIVER)))
		mgpu_test_write_attr(PCI_DRIVER "/remove_id", "1af4 1110");
}

/* Types and capacity come from the BAR size; the backend says "bar". */
TEST_F(bar, parent)
{
	uint64_t vram = 0, resident = 0, queues = 0;
	char buf[256], want[64];
	unsigned int i;

	ASSERT_LT(0, mgpu_test_parent_read(self->bdf, "backend", buf,
					   sizeof(buf)));
	EXPECT_STREQ("bar", buf);
	ASSERT_OK(mgpu_test_parent_u64(self->bdf, "vram_size", &vram));
	/* ivshmem BARs are powers of two: VRAM is all of it. */
	EXPECT_EQ(self->size, vram);
	ASSERT_OK(mgpu_test_parent_u64(self->bdf, "vram_resident", &resident));
	EXPECT_EQ(vram, resident);
	ASSERT_OK(mgpu_test_parent_u64(self->bdf, "queues", &queues));
	EXPECT_EQ(16U, queues);

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		const struct mgpu_test_type *t = &mgpu_test_types[i];

		EXPECT_EQ((int)t->denom, mgpu_test_available(self->bdf, t->dir))
			TH_LOG("type %s", t->dir);
		ASSERT_LT(0, mgpu_test_type_read(self->bdf, t->dir,
						 "description", buf,
						 sizeof(buf)));
		snprintf(want, sizeof(want), "vram=%lluM, queues=%llu,",
			 (unsigned long long)(vram / t->denom / MiB),
			 (unsigned long long)(queues / t->denom));
		EXPECT_NE(NULL, strstr(buf, want))
			TH_LOG("%s: description '%s', expected '%s'", t->dir,
			       buf, want);
	}
	EXPECT_EQ(0, mgpu_test_parent_instances(self->bdf));
}

/* Open a new instance of @type: its VRAM size and offset in the BAR. */
static struct mgpu_dev *open_instance(struct __test_metadata *_metadata,
				      struct mgpu_test_instances *inst,
				      const char *bdf, const char *type,
				      char *uuid, uint64_t *off, uint64_t *size)
{
	struct mgpu_test_vfio v = MGPU_TEST_VFIO_INIT;

	ASSERT_OK(mgpu_test_instance_open(inst, bdf, type, uuid, size, &v));
	ASSERT_OK(mgpu_test_instance_u64(uuid, "vram_offset", off));
	return v.dev;
}

/* Map the instance's whole VRAM and check it reads zero. */
static void expect_zero_vram(struct __test_metadata *_metadata,
			     struct mgpu_dev *dev, const char *what)
{
	long long at = first_not(mgpu_vram(dev), mgpu_vram_size(dev), 0);

	EXPECT_EQ(-1, at)
		TH_LOG("%s: VRAM byte %#llx is not zero", what, at);
}

/*
 * Two tenants on the BAR: their mappings, the engine and the device's
 * own memory agree; one's data never reaches the other; a close scrubs.
 */
TEST_F(bar, slices)
{
	char ua[MGPU_UUID_BUF], ub[MGPU_UUID_BUF];
	uint64_t aoff, asize, boff, bsize, fill, src, dst;
	struct mgpu_dev *a, *b;
	struct mgpu_queue *q;
	uint8_t *res, *data;
	const uint64_t len = 256 * 1024;
	long long at;

	/* Whatever the host left in the BAR before the bind is gone. */
	a = open_instance(_metadata, &self->inst, self->bdf, "mgpu-1_4", ua,
			  &aoff, &asize);
	b = open_instance(_metadata, &self->inst, self->bdf, "mgpu-1_2", ub,
			  &boff, &bsize);
	EXPECT_EQ(self->size / 4, asize);
	EXPECT_EQ(self->size / 2, bsize);
	expect_zero_vram(_metadata, a, "1/4 after bind");
	expect_zero_vram(_metadata, b, "1/2 after bind");

	/* The neighbour's pattern, through its BAR2 mapping. */
	memset(mgpu_vram(b), 0xbb, bsize);

	/* The engine writes the 1/4 slice: FILL, and COPY of CPU data. */
	ASSERT_OK(mgpu_queue_open(a, 0, 0, 0, &q));
	mgpu_queue_set_timeout(q, TIMEOUT_MS);
	ASSERT_OK(mgpu_vram_alloc(a, 4 * len, 4096, &fill));
	ASSERT_OK(mgpu_vram_alloc(a, len, 4096, &src));
	ASSERT_OK(mgpu_vram_alloc(a, len, 4096, &dst));
	data = malloc(len);
	ASSERT_NE(NULL, data);
	mgpu_test_rnd_seed(11);
	mgpu_test_rnd_fill(data, len);
	memcpy(mgpu_vram_ptr(a, src), data, len);
	ASSERT_OK(mgpu_fill(q, fill, 4 * len, 0xa5a5a5a5, 0));
	ASSERT_OK(mgpu_copy(q, dst, src, len, 0));
	EXPECT_EQ(-1, first_not(mgpu_vram_ptr(a, fill), 4 * len, 0xa5));
	EXPECT_EQ(0, memcmp(mgpu_vram_ptr(a, dst), data, len));
	at = first_not(mgpu_vram(b), bsize, 0xbb);
	EXPECT_EQ(-1, at) TH_LOG("the neighbour's byte %#llx changed", at);

	/* The bytes live in the device's BAR, at the slices' offsets. */
	res = map_resource2(self->bdf, self->size);
	if (res == MAP_FAILED) {
		TH_LOG("resource2 of the bound device is not mappable (%s): %s",
		       strerror(errno), iomem_relaxed() ?
		       "x86 PAT refuses a memory type" :
		       "boot with iomem=relaxed to check the BAR itself");
		if (!strcmp(variant->cache, "wc"))
			EXPECT_FALSE(iomem_relaxed());
	} else {
		EXPECT_EQ(-1, first_not(res + aoff + fill, 4 * len, 0xa5));
		EXPECT_EQ(0, memcmp(res + aoff + dst, data, len));
		EXPECT_EQ(-1, first_not(res + boff, bsize, 0xbb));
		/* A store to the BAR is what the tenant reads. */
		res[aoff + fill] = 0x42;
		EXPECT_EQ(0x42, *(uint8_t *)mgpu_vram_ptr(a, fill));
	}

	/* Close and open again: the slice reads zero, the BAR too. */
	mgpu_queue_close(q);
	mgpu_close(a);
	if (res != MAP_FAILED)
		EXPECT_EQ(-1, first_not(res + aoff, asize, 0));
	a = NULL;
	{
		struct mgpu_test_vfio v = MGPU_TEST_VFIO_INIT;

		ASSERT_OK(mgpu_test_vfio_open(&v, ua));
		a = v.dev;
	}
	expect_zero_vram(_metadata, a, "1/4 reopened");
	at = first_not(mgpu_vram(b), bsize, 0xbb);
	EXPECT_EQ(-1, at) TH_LOG("the neighbour's byte %#llx changed", at);

	mgpu_close(a);
	mgpu_close(b);
	if (res != MAP_FAILED) {
		EXPECT_EQ(-1, first_not(res + boff, bsize, 0));
		/* What the host writes while bound goes with the unbind. */
		memset(res, 0x77, self->size);
		munmap(res, self->size);
	}
	free(data);
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, ua));
	ASSERT_OK(mgpu_test_instances_remove(&self->inst, ub));

	/* Unbound: mgpu scrubbed the BAR before giving it back. */
	unbind_mgpu(self->bdf);
	ASSERT_FALSE(bound_to_mgpu(self->bdf));
	EXPECT_FALSE(mgpu_test_parent_exists(self->bdf));
	res = map_resource2(self->bdf, self->size);
	ASSERT_NE(MAP_FAILED, res) TH_LOG("mmap resource2: %s",
					  strerror(errno));
	at = first_not(res, self->size, 0);
	EXPECT_EQ(-1, at) TH_LOG("BAR byte %#llx not scrubbed at unbind", at);

	/* Host data in the BAR: a new bind scrubs it before any tenant. */
	memset(res, 0x66, self->size);
	EXPECT_EQ(0x66, res[self->size - 1]);
	ASSERT_OK(bind_mgpu(self->bdf));
	a = open_instance(_metadata, &self->inst, self->bdf,
			  "mgpu-passthrough", ua, &aoff, &asize);
	EXPECT_EQ(self->size, asize);
	expect_zero_vram(_metadata, a, "passthrough after a new bind");
	mgpu_close(a);
	munmap(res, self->size);
}

/*
 * Unbinding the device while a tenant holds an instance open: the
 * tenant gets the VFIO device request; the unbind waits for its close
 * (it neither hangs nor pulls the BAR from under the tenant's mapping),
 * then scrubs the tenant's data from the BAR before the device goes back.
 */
TEST_F_TIMEOUT(bar, unbind_while_open, 90)
{
	struct mgpu_test_vfio v = MGPU_TEST_VFIO_INIT;
	char uuid[MGPU_UUID_BUF];
	uint64_t size, count = 0;
	struct pollfd pfd;
	long long at;
	uint8_t *res;
	int efd, ret;
	pid_t child;

	ASSERT_OK(mgpu_test_instance_open(&self->inst, self->bdf, "mgpu-1_4",
					  uuid, &size, &v));
	memset(mgpu_vram(v.dev), 0xcc, size);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_OK(mgpu_test_set_req_eventfd(v.device, efd));

	child = mgpu_test_write_attr_async(PCI_DRIVER "/unbind", self->bdf);
	ASSERT_LT(0, child);
	pfd.fd = efd;
	pfd.events = POLLIN;
	ret = poll(&pfd, 1, TIMEOUT_MS);
	EXPECT_EQ(1, ret) TH_LOG("no device request within %d ms",
				 TIMEOUT_MS);
	if (ret == 1)
		EXPECT_EQ((ssize_t)sizeof(count),
			  read(efd, &count, sizeof(count)));
	/* Held open: the unbind waits and the mapping still works. */
	EXPECT_EQ(-ETIMEDOUT, mgpu_test_wait_child(child, 200))
		TH_LOG("the unbind completed while the instance was open");
	memset(mgpu_vram(v.dev), 0xdd, size);
	EXPECT_EQ(0xdd, ((uint8_t *)mgpu_vram(v.dev))[size - 1]);

	mgpu_test_vfio_close(&v);
	close(efd);
	ret = mgpu_test_wait_child(child, TIMEOUT_MS);
	EXPECT_EQ(0, ret) TH_LOG("unbind: %s", strerror(-ret));
	if (ret == -ETIMEDOUT) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	ASSERT_FALSE(bound_to_mgpu(self->bdf));
	/* The instance went with the parent. */
	self->inst.n = 0;
	EXPECT_FALSE(mgpu_test_instance_exists(uuid));

	res = map_resource2(self->bdf, self->size);
	ASSERT_NE(MAP_FAILED, res) TH_LOG("mmap resource2: %s",
					  strerror(errno));
	at = first_not(res, self->size, 0);
	EXPECT_EQ(-1, at) TH_LOG("BAR byte %#llx not scrubbed at unbind", at);
	munmap(res, self->size);
}

/*
 * Migration between parents of both backends: a 1/4 instance of a
 * software GPU of the BAR's size moves onto a 1/4 instance of the BAR
 * parent and back, as QEMU moves a VM between hosts.  VRAM arrives byte
 * for byte (in the device's BAR at the slice's offset), and the engine
 * runs on each destination.
 */
TEST_F(bar, migrate_across_backends)
{
	struct mgpu_test_vfio vs = MGPU_TEST_VFIO_INIT;
	struct mgpu_test_vfio vb = MGPU_TEST_VFIO_INIT;
	char us[MGPU_UUID_BUF], ub[MGPU_UUID_BUF], spec[64];
	uint64_t ssize, bsize, boff, fill;
	struct stream st = { 0 };
	struct mgpu_queue *q;
	struct mgpu_dev *a, *b;
	uint8_t *res;
	int n;

	for (n = 1; n < MGPU_TEST_SWGPU_SLOTS; n++) {
		mgpu_test_swgpu_name(n, self->swgpu, sizeof(self->swgpu));
		if (!mgpu_test_parent_exists(self->swgpu))
			break;
	}
	snprintf(spec, sizeof(spec), "vram=%lluM queues=16",
		 (unsigned long long)(self->size >> 20));
	ASSERT_OK(mgpu_test_add_swgpu(spec));
	ASSERT_TRUE(mgpu_test_parent_exists(self->swgpu));
	ASSERT_OK(mgpu_test_instance_open(&self->inst, self->swgpu, "mgpu-1_4",
					  us, &ssize, &vs));
	ASSERT_OK(mgpu_test_instance_open(&self->inst, self->bdf, "mgpu-1_4",
					  ub, &bsize, &vb));
	ASSERT_OK(mgpu_test_instance_u64(ub, "vram_offset", &boff));
	ASSERT_EQ(ssize, bsize);
	a = vs.dev;
	b = vb.dev;
	if (!(mig_flags(mgpu_vfio_device_fd(a)) & VFIO_MIGRATION_STOP_COPY))
		SKIP(goto out, "the device does not migrate");
	st.buf = malloc(MIG_STREAM_MAX);
	ASSERT_NE(NULL, st.buf);

	/* The source's VRAM: CPU data, and an engine FILL over part of it. */
	mgpu_test_rnd_seed(0x5ca1);
	mgpu_test_rnd_fill(mgpu_vram(a), ssize);
	ASSERT_OK(mgpu_queue_open(a, 0, 0, 0, &q));
	mgpu_queue_set_timeout(q, TIMEOUT_MS);
	ASSERT_OK(mgpu_vram_alloc(a, 1 << 20, 4096, &fill));
	ASSERT_OK(mgpu_fill(q, fill, 1 << 20, 0x5a5a5a5a, 0));
	mgpu_queue_close(q);

	/* Software GPU -> BAR. */
	ASSERT_EQ(0, save_stop_copy(_metadata, mgpu_vfio_device_fd(a), &st));
	ASSERT_EQ(0, resume(mgpu_vfio_device_fd(b), &st));
	EXPECT_TRUE(same_vram(a, b))
		TH_LOG("VRAM differs after the move onto the BAR parent");
	res = map_resource2(self->bdf, self->size);
	if (res != MAP_FAILED) {
		EXPECT_EQ(0, memcmp(res + boff, mgpu_vram(a), ssize))
			TH_LOG("the slice in the device's BAR is not the source's VRAM");
		munmap(res, self->size);
	}
	/* The engine runs on the BAR parent's instance (a queue unused before). */
	ASSERT_OK(mgpu_queue_open(b, 1, 0, 0, &q));
	mgpu_queue_set_timeout(q, TIMEOUT_MS);
	ASSERT_OK(mgpu_fill(q, fill, 4096, 0xb0b0b0b0, 0));
	mgpu_queue_close(q);
	EXPECT_EQ(0xb0b0b0b0, *(uint32_t *)mgpu_vram_ptr(b, fill));

	/* BAR -> the software GPU, stopped since its save. */
	st.len = 0;
	ASSERT_EQ(0, save_stop_copy(_metadata, mgpu_vfio_device_fd(b), &st));
	ASSERT_EQ(0, resume(mgpu_vfio_device_fd(a), &st));
	EXPECT_TRUE(same_vram(a, b))
		TH_LOG("VRAM differs after the move back");
	EXPECT_EQ(0xb0b0b0b0, *(uint32_t *)mgpu_vram_ptr(a, fill));
	EXPECT_EQ(0x5a5a5a5a, *(uint32_t *)mgpu_vram_ptr(a, fill + 4096));
	ASSERT_OK(mgpu_queue_open(a, 2, 0, 0, &q));
	mgpu_queue_set_timeout(q, TIMEOUT_MS);
	ASSERT_OK(mgpu_fill(q, fill, 4096, 0xa0a0a0a0, 0));
	mgpu_queue_close(q);
	EXPECT_EQ(0xa0a0a0a0, *(uint32_t *)mgpu_vram_ptr(a, fill));
out:
	free(st.buf);
	mgpu_close(a);
	mgpu_close(b);
}

/* new_id binds every device of the ID; the small BAR is refused. */
TEST_F(bar, new_id)
{
	int kmsg;

	unbind_mgpu(self->bdf);
	ASSERT_FALSE(mgpu_test_parent_exists(self->bdf));
	kmsg = kmsg_open();
	ASSERT_OK(mgpu_test_write_attr(PCI_DRIVER "/new_id", "1af4 1110"));
	EXPECT_TRUE(bound_to_mgpu(self->bdf));
	EXPECT_TRUE(mgpu_test_parent_exists(self->bdf));
	if (self->small[0]) {
		EXPECT_FALSE(bound_to_mgpu(self->small));
		if (kmsg >= 0)
			EXPECT_TRUE(kmsg_has(kmsg, "VRAM needs at least 16 MiB"));
	}
	EXPECT_OK(mgpu_test_write_attr(PCI_DRIVER "/remove_id", "1af4 1110"));
	if (kmsg >= 0)
		close(kmsg);
}

/* Bad settings are refused at bind, with a reason; good ones bind. */
TEST_F(bar, bad_settings)
{
	static const char * const bad_engines[] = { "0", "9" };
	uint64_t queues = 0, engines = 0;
	char msg[64];
	int kmsg, i;

	unbind_mgpu(self->bdf);
	ASSERT_OK(mgpu_test_write_attr(BAR_CACHE, "wt"));
	kmsg = kmsg_open();
	EXPECT_ERRNO(ENODEV, bind_mgpu(self->bdf));
	if (kmsg >= 0) {
		EXPECT_TRUE(kmsg_has(kmsg, "bar_cache=wt, expected wc or wb"));
		close(kmsg);
	}
	unbind_mgpu(self->bdf);
	ASSERT_OK(mgpu_test_write_attr(BAR_CACHE, variant->cache));

	ASSERT_OK(mgpu_test_write_attr(BAR_QUEUES, "24"));
	kmsg = kmsg_open();
	EXPECT_ERRNO(ENODEV, bind_mgpu(self->bdf));
	if (kmsg >= 0) {
		EXPECT_TRUE(kmsg_has(kmsg, "bar_queues=24"));
		close(kmsg);
	}
	unbind_mgpu(self->bdf);
	ASSERT_OK(mgpu_test_write_attr(BAR_QUEUES, "32"));

	for (i = 0; i < 2; i++) {
		ASSERT_OK(mgpu_test_write_attr(BAR_ENGINES, bad_engines[i]));
		kmsg = kmsg_open();
		EXPECT_ERRNO(ENODEV, bind_mgpu(self->bdf));
		if (kmsg >= 0) {
			snprintf(msg, sizeof(msg), "bar_engines=%s, must be from 1 to 8",
				 bad_engines[i]);
			EXPECT_TRUE(kmsg_has(kmsg, msg));
			close(kmsg);
		}
		unbind_mgpu(self->bdf);
	}
	ASSERT_OK(mgpu_test_write_attr(BAR_ENGINES, "2"));

	ASSERT_OK(bind_mgpu(self->bdf));
	EXPECT_OK(mgpu_test_parent_u64(self->bdf, "queues", &queues));
	EXPECT_EQ(32U, queues);
	EXPECT_OK(mgpu_test_parent_u64(self->bdf, "engines", &engines));
	EXPECT_EQ(2U, engines);
	EXPECT_EQ(8, mgpu_test_available(self->bdf, "mgpu-1_8"));
}

/* An 8 MiB BAR cannot be a parent: refused with the reason. */
TEST(small_bar_refused)
{
	char big[32], small[32];
	int kmsg;

	if (!mgpu_test_loaded())
		SKIP(return, "mgpu.ko not loaded");
	find_ivshmem(big, small, sizeof(big));
	if (!small[0])
		SKIP(return, "no ivshmem-plain device with a BAR2 under 16 MiB (scripts/run-qemu.sh adds one)");
	kmsg = kmsg_open();
	EXPECT_ERRNO(ENODEV, bind_mgpu(small));
	EXPECT_FALSE(mgpu_test_parent_exists(small));
	if (kmsg >= 0) {
		EXPECT_TRUE(kmsg_has(kmsg, "VRAM needs at least 16 MiB"));
		close(kmsg);
	}
	unbind_mgpu(small);
}

MGPU_TEST_HARNESS_MAIN
