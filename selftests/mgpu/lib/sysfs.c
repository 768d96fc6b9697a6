// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: sysfs attributes of the parent, its types and its
 * instances, and the parent under test.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mgpu_test.h"

const char *mgpu_test_parent;
static char mgpu_test_default_parent[16];

/* kselftest_harness.h's options that take a value. */
static bool takes_value(const char *opt)
{
	return opt[0] == '-' && opt[1] && strchr("FfVvTtr", opt[1]) &&
	       !opt[2];
}

unsigned int mgpu_test_pci_domain(void)
{
	uint64_t domain;

	if (mgpu_test_read_u64(MGPU_PCI_DOMAIN_PARAM, &domain) ||
	    domain > 0xffff)
		return MGPU_PCI_DOMAIN_DEFAULT;
	return domain;
}

char *mgpu_test_swgpu_name(unsigned int slot, char *buf, size_t size)
{
	snprintf(buf, size, "%04x:00:%02x.0", mgpu_test_pci_domain(), slot);
	return buf;
}

uint32_t mgpu_test_swgpu_set(void)
{
	char name[16];
	uint32_t set = 0;
	unsigned int n;

	for (n = 0; n < MGPU_TEST_SWGPU_SLOTS; n++)
		if (mgpu_test_parent_exists(mgpu_test_swgpu_name(n, name,
								 sizeof(name))))
			set |= 1U << n;
	return set;
}

void mgpu_test_parent_init(int *argc, char **argv)
{
	const char *env = getenv(MGPU_TEST_PARENT_ENV);
	const char *last = *argc > 1 ? argv[*argc - 1] : NULL;

	mgpu_test_parent = mgpu_test_swgpu_name(0, mgpu_test_default_parent,
						sizeof(mgpu_test_default_parent));

	if (last && last[0] != '-' && !takes_value(argv[*argc - 2])) {
		mgpu_test_parent = last;
		argv[--*argc] = NULL;
	} else if (env && *env) {
		mgpu_test_parent = env;
	}
}

bool mgpu_test_loaded(void)
{
	return mgpu_test_path_exists(MGPU_CLASS_DIR);
}

int mgpu_test_read_attr(const char *path, char *buf, size_t size)
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

int mgpu_test_read_u64(const char *path, uint64_t *val)
{
	char buf[64], *end;
	int ret;

	ret = mgpu_test_read_attr(path, buf, sizeof(buf));
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

int mgpu_test_write_attr(const char *path, const char *str)
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

pid_t mgpu_test_write_attr_async(const char *path, const char *str)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* (A BAR2 mapping is not inherited: MADV_DONTFORK.) */
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		alarm(60);	/* never outlive the test for long */
		_exit(-mgpu_test_write_attr(path, str));
	}
	return pid;
}

int mgpu_test_wait_child(pid_t pid, int ms)
{
	int status, waited = 0;
	pid_t ret;

	for (;;) {
		ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			break;
		if (ret < 0)
			return -errno;
		if (waited >= ms)
			return -ETIMEDOUT;
		usleep(10000);
		waited += 10;
	}
	if (!WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

static char *parent_path(char *buf, size_t size, const char *parent,
			 const char *attr)
{
	return mgpu_test_path(buf, size, "%s/%s/%s", MGPU_PARENT_DIR, parent,
			      attr);
}

int mgpu_test_parent_read(const char *parent, const char *attr, char *buf,
			  size_t size)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_read_attr(parent_path(path, sizeof(path), parent,
					       attr), buf, size);
}

int mgpu_test_parent_write(const char *parent, const char *attr,
			   const char *str)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_write_attr(parent_path(path, sizeof(path), parent,
						attr), str);
}

int mgpu_test_parent_u64(const char *parent, const char *attr,
			 uint64_t *val)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_read_u64(parent_path(path, sizeof(path), parent,
					      attr), val);
}

bool mgpu_test_parent_exists(const char *parent)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_path_exists(mgpu_test_path(path, sizeof(path),
						    "%s/%s", MGPU_PARENT_DIR,
						    parent));
}

static char *type_path(char *buf, size_t size, const char *parent,
		       const char *type, const char *attr)
{
	return mgpu_test_path(buf, size, "%s/%s/mdev_supported_types/%s/%s",
			      MGPU_PARENT_DIR, parent, type, attr);
}

int mgpu_test_type_read(const char *parent, const char *type,
			const char *attr, char *buf, size_t size)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_read_attr(type_path(path, sizeof(path), parent, type,
					     attr), buf, size);
}

int mgpu_test_type_write(const char *parent, const char *type,
			 const char *attr, const char *str)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_write_attr(type_path(path, sizeof(path), parent, type,
					      attr), str);
}

int mgpu_test_available(const char *parent, const char *type)
{
	char path[MGPU_PATH_MAX];
	uint64_t val;
	int ret;

	ret = mgpu_test_read_u64(type_path(path, sizeof(path), parent, type,
					   "available_instances"), &val);
	if (ret)
		return ret;
	return val > INT_MAX ? -ERANGE : (int)val;
}

int mgpu_test_type_count(const char *parent, const char *type)
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

bool mgpu_test_instance_exists(const char *uuid)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_path_exists(mgpu_test_path(path, sizeof(path),
						    "%s/%s", MGPU_MDEV_DIR,
						    uuid));
}

int mgpu_test_instance_u64(const char *uuid, const char *attr,
			   uint64_t *val)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_read_u64(mgpu_test_path(path, sizeof(path),
						 "%s/%s/mgpu/%s",
						 MGPU_MDEV_DIR, uuid, attr),
				  val);
}

int mgpu_test_instance_write(const char *uuid, const char *attr,
			     const char *str)
{
	char path[MGPU_PATH_MAX];

	return mgpu_test_write_attr(mgpu_test_path(path, sizeof(path),
						   "%s/%s/mgpu/%s",
						   MGPU_MDEV_DIR, uuid, attr),
				    str);
}

/* The last component of the link /sys/bus/mdev/devices/<uuid>/<name>. */
static int link_base(const char *uuid, const char *name, char *buf,
		     size_t size)
{
	char path[MGPU_PATH_MAX], link[MGPU_PATH_MAX];
	ssize_t n;
	char *base;

	n = readlink(mgpu_test_path(path, sizeof(path), "%s/%s/%s",
				    MGPU_MDEV_DIR, uuid, name),
		     link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = basename(link);
	if (strlen(base) >= size)
		return -ENAMETOOLONG;
	snprintf(buf, size, "%s", base);
	return 0;
}

int mgpu_test_instance_type(const char *uuid, char *buf, size_t size)
{
	return link_base(uuid, "mdev_type", buf, size);
}

int mgpu_test_iommu_group(const char *uuid)
{
	char base[MGPU_PATH_MAX], *end;
	long id;
	int ret;

	ret = link_base(uuid, "iommu_group", base, sizeof(base));
	if (ret)
		return ret;
	errno = 0;
	id = strtol(base, &end, 10);
	if (errno || *end || end == base || id < 0 || id > INT_MAX)
		return -EBADMSG;
	return id;
}
