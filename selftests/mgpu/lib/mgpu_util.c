// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the mgpu selftests: sysfs and VFIO.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/pci_regs.h>

#include "mgpu_util.h"

const struct mgpu_type mgpu_types[MGPU_NUM_TYPES] = {
	{ "mgpu-passthrough",	"mgpu passthrough",	1,  0 },
	{ "mgpu-1_2",		"mgpu 1/2",		2,  1 },
	{ "mgpu-1_4",		"mgpu 1/4",		4,  2 },
	{ "mgpu-1_8",		"mgpu 1/8",		8,  3 },
	{ "mgpu-1_16",		"mgpu 1/16",		16, 4 },
};

const struct mgpu_type *mgpu_type_by_dir(const char *dir)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mgpu_types); i++)
		if (!strcmp(mgpu_types[i].dir, dir))
			return &mgpu_types[i];
	return NULL;
}

/* ---- sysfs ---- */

bool mgpu_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

bool mgpu_loaded(void)
{
	return mgpu_path_exists(MGPU_CLASS_DIR);
}

char *mgpu_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	MGPU_ASSERT_GE(n, 0);
	MGPU_ASSERT_LT((size_t)n, size);
	return buf;
}

int mgpu_read_attr(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, err;

	if (!size)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return len;
}

int mgpu_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int ret;

	ret = mgpu_read_attr(path, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (!ret)
		return -ENODATA;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || *end)
		return -EBADMSG;
	return 0;
}

int mgpu_write_attr(const char *path, const char *str)
{
	size_t len = strlen(str);
	ssize_t n;
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, str, len);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	return (size_t)n == len ? 0 : -EIO;
}

int mgpu_parent_read(const char *parent, const char *attr, char *buf,
		     size_t size)
{
	char path[MGPU_PATH_MAX];

	return mgpu_read_attr(mgpu_path(path, sizeof(path), "%s/%s/%s",
					MGPU_CLASS_DIR, parent, attr),
			      buf, size);
}

int mgpu_parent_u64(const char *parent, const char *attr, uint64_t *val)
{
	char path[MGPU_PATH_MAX];

	return mgpu_read_u64(mgpu_path(path, sizeof(path), "%s/%s/%s",
				       MGPU_CLASS_DIR, parent, attr), val);
}

bool mgpu_parent_exists(const char *parent)
{
	char path[MGPU_PATH_MAX];

	return mgpu_path_exists(mgpu_path(path, sizeof(path), "%s/%s",
					  MGPU_CLASS_DIR, parent));
}

static char *type_path(char *buf, size_t size, const char *parent,
		       const char *type, const char *attr)
{
	return mgpu_path(buf, size, "%s/%s/mdev_supported_types/%s/%s",
			 MGPU_CLASS_DIR, parent, type, attr);
}

int mgpu_type_read(const char *parent, const char *type, const char *attr,
		   char *buf, size_t size)
{
	char path[MGPU_PATH_MAX];

	return mgpu_read_attr(type_path(path, sizeof(path), parent, type, attr),
			      buf, size);
}

int mgpu_type_write(const char *parent, const char *type, const char *attr,
		    const char *str)
{
	char path[MGPU_PATH_MAX];

	return mgpu_write_attr(type_path(path, sizeof(path), parent, type,
					 attr), str);
}

int mgpu_available(const char *parent, const char *type)
{
	char path[MGPU_PATH_MAX];
	uint64_t val;
	int ret;

	ret = mgpu_read_u64(type_path(path, sizeof(path), parent, type,
				      "available_instances"), &val);
	if (ret)
		return ret;
	return val > INT_MAX ? -ERANGE : (int)val;
}

int mgpu_type_count(const char *parent, const char *type)
{
	char path[MGPU_PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(type_path(path, sizeof(path), parent, type, "devices"));
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int mgpu_parent_instances(const char *parent)
{
	int i, n, total = 0;

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		n = mgpu_type_count(parent, mgpu_types[i].dir);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

int mgpu_uuid_random(char uuid[MGPU_UUID_BUF])
{
	char buf[64];
	int ret;

	ret = mgpu_read_attr("/proc/sys/kernel/random/uuid", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (ret != MGPU_UUID_LEN)
		return -EBADMSG;
	memcpy(uuid, buf, MGPU_UUID_BUF);
	return 0;
}

int mgpu_create(const char *parent, const char *type, const char *uuid)
{
	return mgpu_type_write(parent, type, "create", uuid);
}

int mgpu_remove(const char *uuid)
{
	char path[MGPU_PATH_MAX];

	return mgpu_write_attr(mgpu_path(path, sizeof(path), "%s/%s/remove",
					 MGPU_MDEV_DIR, uuid), "1");
}

bool mgpu_instance_exists(const char *uuid)
{
	char path[MGPU_PATH_MAX];

	return mgpu_path_exists(mgpu_path(path, sizeof(path), "%s/%s",
					  MGPU_MDEV_DIR, uuid));
}

int mgpu_instance_u64(const char *uuid, const char *attr, uint64_t *val)
{
	char path[MGPU_PATH_MAX];

	return mgpu_read_u64(mgpu_path(path, sizeof(path), "%s/%s/mgpu/%s",
				       MGPU_MDEV_DIR, uuid, attr), val);
}

int mgpu_instance_type(const char *uuid, char *buf, size_t size)
{
	char path[MGPU_PATH_MAX], link[MGPU_PATH_MAX];
	ssize_t n;
	char *base;

	n = readlink(mgpu_path(path, sizeof(path), "%s/%s/mdev_type",
			       MGPU_MDEV_DIR, uuid), link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = basename(link);
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	snprintf(buf, size, "%s", base);
	return 0;
}

int mgpu_model_available(const char *parent, int avail[MGPU_NUM_TYPES])
{
	uint64_t vram, unit, off, size;
	bool used[16] = { false };
	char path[MGPU_PATH_MAX];
	int i, u, k, n = 0, ret;
	bool passthrough = false;
	struct dirent *de;
	DIR *d;

	ret = mgpu_parent_u64(parent, "vram_size", &vram);
	if (ret)
		return ret;
	unit = vram / 16;
	if (!unit || vram % 16)
		return -EUCLEAN;

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		const struct mgpu_type *t = &mgpu_types[i];

		d = opendir(type_path(path, sizeof(path), parent, t->dir,
				      "devices"));
		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			n++;
			if (t->denom == 1)
				passthrough = true;
			if (mgpu_instance_u64(de->d_name, "vram_offset", &off) ||
			    mgpu_instance_u64(de->d_name, "vram_size", &size)) {
				fprintf(stderr, "# model: %s: no mgpu/vram_offset or vram_size\n",
					de->d_name);
				closedir(d);
				return -EUCLEAN;
			}
			if (size != vram / t->denom || off % size ||
			    off + size > vram) {
				fprintf(stderr, "# model: %s (%s): offset %#llx size %#llx in %#llx bytes breaks placement\n",
					de->d_name, t->dir,
					(unsigned long long)off,
					(unsigned long long)size,
					(unsigned long long)vram);
				closedir(d);
				return -EUCLEAN;
			}
			for (u = off / unit; u < (int)((off + size) / unit); u++) {
				if (used[u]) {
					fprintf(stderr, "# model: %s overlaps another instance at unit %d\n",
						de->d_name, u);
					closedir(d);
					return -EUCLEAN;
				}
				used[u] = true;
			}
		}
		closedir(d);
	}

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		unsigned int units = 16 / mgpu_types[i].denom;

		avail[i] = 0;
		if (passthrough)
			continue;
		if (mgpu_types[i].denom == 1) {
			avail[i] = n == 0;
			continue;
		}
		for (k = 0; k < 16; k += units) {
			bool free = true;

			for (u = k; u < k + (int)units; u++)
				free &= !used[u];
			avail[i] += free;
		}
	}
	return 0;
}

int mgpu_add_swgpu(const char *spec)
{
	return mgpu_write_attr(MGPU_CLASS_DIR "/add_swgpu", spec);
}

int mgpu_remove_swgpu(const char *name)
{
	return mgpu_write_attr(MGPU_CLASS_DIR "/remove_swgpu", name);
}

int mgpu_instances_create(struct mgpu_instances *l, const char *parent,
			  const char *type, char uuid[MGPU_UUID_BUF])
{
	int ret;

	MGPU_ASSERT_LT(l->n, (int)ARRAY_SIZE(l->uuid));
	ret = mgpu_uuid_random(uuid);
	if (ret)
		return ret;
	/* Record first: a create that fails but leaves a device is a bug
	 * the test reports, and teardown must still remove it.
	 */
	memcpy(l->uuid[l->n], uuid, MGPU_UUID_BUF);
	ret = mgpu_create(parent, type, uuid);
	if (!ret || mgpu_instance_exists(uuid))
		l->n++;
	return ret;
}

int mgpu_instances_remove(struct mgpu_instances *l, const char *uuid)
{
	int i, ret;

	ret = mgpu_remove(uuid);
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

int mgpu_instances_cleanup(struct mgpu_instances *l)
{
	int i, ret, fail = 0;

	for (i = l->n - 1; i >= 0; i--) {
		if (!mgpu_instance_exists(l->uuid[i]))
			continue;
		ret = mgpu_remove(l->uuid[i]);
		if (ret) {
			fprintf(stderr, "# cleanup: cannot remove %s: %s\n",
				l->uuid[i], strerror(-ret));
			fail++;
		}
	}
	l->n = 0;
	return fail;
}

/* ---- VFIO ---- */

int mgpu_iommu_group(const char *uuid)
{
	char path[MGPU_PATH_MAX], link[MGPU_PATH_MAX], *base, *end;
	ssize_t n;
	long id;

	n = readlink(mgpu_path(path, sizeof(path), "%s/%s/iommu_group",
			       MGPU_MDEV_DIR, uuid), link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = basename(link);
	errno = 0;
	id = strtol(base, &end, 10);
	if (errno || *end || end == base || id < 0 || id > INT_MAX)
		return -EBADMSG;
	return id;
}

void mgpu_vfio_close(struct mgpu_vfio *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0) {
		ioctl(v->group, VFIO_GROUP_UNSET_CONTAINER);
		close(v->group);
	}
	if (v->container >= 0)
		close(v->container);
	v->device = v->group = v->container = -1;
}

int mgpu_vfio_open(struct mgpu_vfio *v, const char *uuid)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[MGPU_PATH_MAX];
	int ret;

	v->container = v->group = v->device = -1;
	v->group_id = mgpu_iommu_group(uuid);
	if (v->group_id < 0)
		return v->group_id;

	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		goto fail;
	ret = ioctl(v->container, VFIO_GET_API_VERSION);
	if (ret != VFIO_API_VERSION) {
		errno = ret < 0 ? errno : EPROTO;
		goto fail;
	}
	ret = ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU);
	if (ret <= 0) {
		errno = ret < 0 ? errno : EOPNOTSUPP;
		goto fail;
	}

	v->group = open(mgpu_path(path, sizeof(path), "/dev/vfio/%d",
				  v->group_id), O_RDWR | O_CLOEXEC);
	if (v->group < 0)
		goto fail;
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status))
		goto fail;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		errno = EBUSY;
		goto fail;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		goto fail;
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		goto fail;
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, uuid);
	if (v->device < 0)
		goto fail;
	return 0;

fail:
	ret = -errno;
	mgpu_vfio_close(v);
	return ret;
}

int mgpu_device_info(int dev, struct vfio_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	return ioctl(dev, VFIO_DEVICE_GET_INFO, info) ? -errno : 0;
}

int mgpu_region_info(int dev, unsigned int index,
		     struct vfio_region_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, info) ? -errno : 0;
}

int mgpu_irq_info(int dev, unsigned int index, struct vfio_irq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->argsz = sizeof(*info);
	info->index = index;
	return ioctl(dev, VFIO_DEVICE_GET_IRQ_INFO, info) ? -errno : 0;
}

ssize_t mgpu_region_read(int dev, unsigned int index, uint64_t off,
			 void *buf, size_t len)
{
	ssize_t n = pread(dev, buf, len, MGPU_REGION_OFFSET(index) + off);

	return n < 0 ? -errno : n;
}

ssize_t mgpu_region_write(int dev, unsigned int index, uint64_t off,
			  const void *buf, size_t len)
{
	ssize_t n = pwrite(dev, buf, len, MGPU_REGION_OFFSET(index) + off);

	return n < 0 ? -errno : n;
}

int mgpu_bar0_read(int dev, uint32_t reg, uint32_t *val)
{
	ssize_t n = mgpu_region_read(dev, VFIO_PCI_BAR0_REGION_INDEX, reg,
				     val, sizeof(*val));

	if (n < 0)
		return n;
	return n == sizeof(*val) ? 0 : -EIO;
}

int mgpu_bar0_write(int dev, uint32_t reg, uint32_t val)
{
	ssize_t n = mgpu_region_write(dev, VFIO_PCI_BAR0_REGION_INDEX, reg,
				      &val, sizeof(val));

	if (n < 0)
		return n;
	return n == sizeof(val) ? 0 : -EIO;
}

int mgpu_cfg_read(int dev, uint32_t off, void *val, size_t size)
{
	ssize_t n = mgpu_region_read(dev, VFIO_PCI_CONFIG_REGION_INDEX, off,
				     val, size);

	if (n < 0)
		return n;
	return (size_t)n == size ? 0 : -EIO;
}

int mgpu_cfg_write(int dev, uint32_t off, const void *val, size_t size)
{
	ssize_t n = mgpu_region_write(dev, VFIO_PCI_CONFIG_REGION_INDEX, off,
				      val, size);

	if (n < 0)
		return n;
	return (size_t)n == size ? 0 : -EIO;
}

/* x86 only (little endian), like the rest of mgpu's test setup. */
#define DEFINE_CFG_ACCESSORS(bits)					\
uint##bits##_t mgpu_cfg_read##bits(int dev, uint32_t off)		\
{									\
	uint##bits##_t val = 0;						\
									\
	MGPU_ASSERT_EQ(mgpu_cfg_read(dev, off, &val, sizeof(val)), 0);	\
	return val;							\
}									\
void mgpu_cfg_write##bits(int dev, uint32_t off, uint##bits##_t val)	\
{									\
	MGPU_ASSERT_EQ(mgpu_cfg_write(dev, off, &val, sizeof(val)), 0);	\
}

DEFINE_CFG_ACCESSORS(8)
DEFINE_CFG_ACCESSORS(16)
DEFINE_CFG_ACCESSORS(32)

uint8_t mgpu_cfg_find_cap(int dev, uint8_t id)
{
	uint8_t pos;
	int ttl = 48;

	if (!(mgpu_cfg_read16(dev, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	pos = mgpu_cfg_read8(dev, PCI_CAPABILITY_LIST) & ~3;
	while (pos >= 0x40 && ttl--) {
		if (mgpu_cfg_read8(dev, pos + PCI_CAP_LIST_ID) == id)
			return pos;
		pos = mgpu_cfg_read8(dev, pos + PCI_CAP_LIST_NEXT) & ~3;
	}
	return 0;
}

int mgpu_set_req_eventfd(int dev, int efd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd = efd;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	return ioctl(dev, VFIO_DEVICE_SET_IRQS, set) ? -errno : 0;
}
