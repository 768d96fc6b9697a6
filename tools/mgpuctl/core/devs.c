// SPDX-License-Identifier: GPL-2.0
/*
 * The instances: active (sysfs, through libudev or readdir() as the
 * parents in model.c) or defined (/etc/mdevctl.d, defs.c), merged by
 * UUID, with their counters and the processes that have them open.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mgpuctl-core.h"
#include "internal.h"

/* ---- instances ---- */

int mc_dev_read_stats(const char *path, struct mc_stats *st)
{
	char *m = mc_xasprintf("%s/mgpu", path);
	int ret;

	memset(st, 0, sizeof(*st));
	ret = mc_opt_u64(m, "busy_ns", &st->busy_ns);
	if (!ret)
		ret = mc_opt_u64(m, "commands", &st->commands);
	if (!ret)
		ret = mc_opt_u64(m, "bytes", &st->bytes);
	if (!ret)
		ret = mc_opt_u64(m, "flops", &st->flops);
	if (!ret)
		ret = mc_opt_u64(m, "errors", &st->errors);
	if (!ret)
		ret = mc_opt_u64(m, "resets", &st->resets);
	if (!ret)
		ret = mc_opt_u64(m, "reg_traps", &st->reg_traps);
	if (!ret)
		ret = mc_opt_u64(m, "irqs", &st->irqs);
	free(m);
	return ret;
}

static void dev_clear(struct mc_dev *d)
{
	size_t i;

	free(d->parent);
	free(d->type);
	free(d->path);
	free(d->start);
	for (i = 0; i < d->nattrs; i++) {
		free(d->attrs[i].key);
		free(d->attrs[i].value);
	}
	free(d->attrs);
	free(d->iommu_group);
	for (i = 0; i < d->nusers; i++)
		free(d->users[i].comm);
	free(d->users);
}

void mc_devs_free(struct mc_dev *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dev_clear(&d[i]);
	free(d);
}

/* Processes with /dev/vfio/<group> open. */
static void find_users(struct mc_dev *devs, size_t n)
{
	char *proc = mc_path("/proc");
	struct dirent *pe, *fe;
	DIR *pd, *fd;
	size_t i;
	bool any = false;

	for (i = 0; i < n; i++)
		if (devs[i].iommu_group)
			any = true;
	if (!any) {
		free(proc);
		return;
	}
	pd = opendir(proc);
	if (!pd) {
		free(proc);
		return;
	}
	while ((pe = readdir(pd))) {
		char *fdir, *comm = NULL;
		uint64_t pid;

		if (mc_parse_u64(pe->d_name, &pid))
			continue;
		fdir = mc_xasprintf("%s/%s/fd", proc, pe->d_name);
		fd = opendir(fdir);
		if (!fd) {
			free(fdir);
			continue;
		}
		while ((fe = readdir(fd))) {
			char *l = mc_xasprintf("%s/%s", fdir, fe->d_name);
			char target[PATH_MAX];
			ssize_t len = readlink(l, target, sizeof(target) - 1);

			free(l);
			if (len <= 0 || strncmp(target, "/dev/vfio/", 10))
				continue;
			target[len] = '\0';
			for (i = 0; i < n; i++) {
				struct mc_dev *d = &devs[i];
				size_t k;
				bool dup = false;

				if (!d->iommu_group || strcmp(target + 10, d->iommu_group))
					continue;
				for (k = 0; k < d->nusers; k++)
					if (d->users[k].pid == (int)pid)
						dup = true;
				if (dup)
					continue;
				if (!comm) {
					char *cp = mc_xasprintf("%s/%s/comm", proc, pe->d_name);

					if (mc_read_str(cp, &comm))
						comm = mc_xstrdup("?");
					free(cp);
				}
				d->users = mc_xrealloc(d->users, (d->nusers + 1) * sizeof(*d->users));
				d->users[d->nusers].pid = (int)pid;
				d->users[d->nusers].comm = mc_xstrdup(comm);
				d->nusers++;
			}
		}
		closedir(fd);
		free(fdir);
		free(comm);
	}
	closedir(pd);
	free(proc);
}

static int load_active(struct mc_dev *d, const char *uuid, const char *path)
{
	char *real = realpath(path, NULL), *slash, *p;
	char *m;
	int ret;

	memset(d, 0, sizeof(*d));
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->active = true;
	d->path = mc_xstrdup(real ? real : path);
	free(real);
	p = mc_xstrdup(d->path);
	slash = strrchr(p, '/');
	if (slash)
		*slash = '\0';
	slash = strrchr(p, '/');
	d->parent = mc_xstrdup(slash ? slash + 1 : p);
	free(p);
	p = mc_xasprintf("%s/mdev_type", d->path);
	d->type = mc_readlink_base(p);
	free(p);
	if (!d->type)
		d->type = mc_xstrdup("");
	p = mc_xasprintf("%s/iommu_group", d->path);
	d->iommu_group = mc_readlink_base(p);
	free(p);
	m = mc_xasprintf("%s/mgpu", d->path);
	ret = mc_opt_u64(m, "vram_size", &d->vram_size);
	if (!ret)
		ret = mc_opt_u64(m, "queues", &d->queues);
	if (!ret)
		ret = mc_opt_u64(m, "weight", &d->weight);
	if (!ret)
		ret = mc_opt_u64(m, "cap", &d->cap);
	free(m);
	if (!ret)
		ret = mc_dev_read_stats(d->path, &d->stats);
	return ret;
}

static int dev_cmp(const void *a, const void *b)
{
	const struct mc_dev *x = a, *y = b;
	int c = strverscmp(x->parent, y->parent);

	return c ? c : strcmp(x->uuid, y->uuid);
}

int mc_devs_scan(enum mc_dev_filter filter, const char *parent,
		     bool full, struct mc_dev **out, size_t *n)
{
	struct mc_names l = { 0 };
	struct mc_dev *devs = NULL;
	struct mc_def *defs;
	size_t nd = 0, ndefs, i, j;
	int ret;

	*out = NULL;
	*n = 0;
	if (mc_udev_list("mdev", &l) < 0) {
		char *dir = mc_path("/sys/bus/mdev/devices");

		mc_dir_list(dir, &l);
		free(dir);
	}
	for (i = 0; i < l.n; i++) {
		struct mc_dev d;

		if (!mc_uuid_valid(l.name[i]))
			continue;
		ret = load_active(&d, l.name[i], l.path[i]);
		if (!ret && (!mc_type_is_mgpu(d.type) ||
			     (parent && strcmp(parent, d.parent)))) {
			dev_clear(&d);
			continue;
		}
		if (ret) {
			dev_clear(&d);
			mc_names_free(&l);
			mc_devs_free(devs, nd);
			return ret;
		}
		devs = mc_xrealloc(devs, (nd + 1) * sizeof(*devs));
		devs[nd++] = d;
	}
	mc_names_free(&l);

	if (full)
		mc_defs(parent, &defs, &ndefs);
	else
		defs = NULL, ndefs = 0;
	for (j = 0; j < ndefs; j++) {
		struct mc_def *df = &defs[j];
		struct mc_dev *d = NULL;

		if (!mc_type_is_mgpu(df->type))
			continue;
		for (i = 0; i < nd; i++)
			if (!strcmp(devs[i].uuid, df->uuid))
				d = &devs[i];
		if (!d) {
			devs = mc_xrealloc(devs, (nd + 1) * sizeof(*devs));
			d = &devs[nd++];
			memset(d, 0, sizeof(*d));
			snprintf(d->uuid, sizeof(d->uuid), "%s", df->uuid);
			d->parent = mc_xstrdup(df->parent);
			d->type = mc_xstrdup(df->type);
		}
		d->defined = true;
		d->start = df->start;
		df->start = NULL;
		d->attrs = df->attrs;
		d->nattrs = df->nattrs;
		df->attrs = NULL;
		df->nattrs = 0;
	}
	mc_defs_free(defs, ndefs);

	/* filter */
	for (i = 0, j = 0; i < nd; i++) {
		bool keep = filter == MC_DEV_ALL ||
			    (filter == MC_DEV_ACTIVE && devs[i].active) ||
			    (filter == MC_DEV_DEFINED && devs[i].defined);

		if (keep)
			devs[j++] = devs[i];
		else
			dev_clear(&devs[i]);
	}
	nd = j;
	qsort(devs, nd, sizeof(*devs), dev_cmp);
	if (full)
		find_users(devs, nd);
	*out = devs;
	*n = nd;
	return 0;
}

int mc_devs(enum mc_dev_filter filter, const char *parent,
	    struct mc_dev **out, size_t *n)
{
	return mc_devs_scan(filter, parent, true, out, n);
}

int mc_dev_get(const char *uuid, struct mc_dev **out)
{
	struct mc_dev *devs;
	size_t n, i;
	int ret;

	*out = NULL;
	ret = mc_uuid_check(uuid);
	if (ret)
		return ret;
	ret = mc_devs(MC_DEV_ALL, NULL, &devs, &n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (!strcasecmp(devs[i].uuid, uuid)) {
			struct mc_dev *d = mc_xmalloc(sizeof(*d));

			*d = devs[i];
			devs[i] = devs[n - 1];
			mc_devs_free(devs, n - 1);
			*out = d;
			return 0;
		}
	}
	mc_devs_free(devs, n);
	mc_set_error("no mgpu instance %s, active or defined (see: mgpuctl dev list)", uuid);
	return -ENOENT;
}
