// SPDX-License-Identifier: GPL-2.0
/*
 * The model: mgpu parents (every mdev parent whose types are mgpu's: the
 * PCI functions the mgpu driver is bound to) and their types; instances
 * are in devs.c.  libudev enumerates when it can; with MGPUCTL_ROOT set,
 * or when libudev fails, readdir() does.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libudev.h>
#include <pci/pci.h>

#include "mgpuctl-core.h"
#include "internal.h"

bool mc_type_is_mgpu(const char *type)
{
	return type && !strncmp(type, "mgpu-", 5);
}

/* 0: mgpu loaded; -ENXIO with the message otherwise */
int mc_mgpu_present(void)
{
	char *a = mc_path("/sys/class/mgpu"), *b = mc_path("/sys/module/mgpu");
	bool there = mc_exists(a) || mc_exists(b);

	free(a);
	free(b);
	if (there)
		return 0;
	mc_set_error("mgpu module not loaded (fix: modprobe mgpu)");
	return -ENXIO;
}

/* ---- name lists ---- */

static bool names_has(const struct mc_names *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return true;
	return false;
}

void mc_names_add(struct mc_names *l, const char *name, const char *path)
{
	if (names_has(l, name))
		return;
	l->name = mc_xrealloc(l->name, (l->n + 1) * sizeof(char *));
	l->path = mc_xrealloc(l->path, (l->n + 1) * sizeof(char *));
	l->name[l->n] = mc_xstrdup(name);
	l->path[l->n] = mc_xstrdup(path);
	l->n++;
}

void mc_names_free(struct mc_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->name[i]);
		free(l->path[i]);
	}
	free(l->name);
	free(l->path);
	memset(l, 0, sizeof(*l));
}

static int names_cmp_idx(const struct mc_names *l, size_t a, size_t b)
{
	return strverscmp(l->name[a], l->name[b]);
}

static void names_sort(struct mc_names *l)
{
	size_t i, j;

	for (i = 1; i < l->n; i++)
		for (j = i; j > 0 && names_cmp_idx(l, j - 1, j) > 0; j--) {
			char *t = l->name[j];

			l->name[j] = l->name[j - 1];
			l->name[j - 1] = t;
			t = l->path[j];
			l->path[j] = l->path[j - 1];
			l->path[j - 1] = t;
		}
}

/* libudev: every device of a subsystem; -1 when libudev cannot */
int mc_udev_list(const char *subsystem, struct mc_names *l)
{
	struct udev *udev;
	struct udev_enumerate *en;
	struct udev_list_entry *e;
	int ret = -1;

	if (mc_root_overridden())
		return -1;
	udev = udev_new();
	if (!udev)
		return -1;
	en = udev_enumerate_new(udev);
	if (en && !udev_enumerate_add_match_subsystem(en, subsystem) &&
	    !udev_enumerate_scan_devices(en)) {
		udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
			const char *sp = udev_list_entry_get_name(e);
			const char *slash = strrchr(sp, '/');

			mc_names_add(l, slash ? slash + 1 : sp, sp);
		}
		ret = 0;
	}
	udev_enumerate_unref(en);
	udev_unref(udev);
	return ret;
}

/* readdir: the directories (or links to them) in dir */
void mc_dir_list(const char *dir, struct mc_names *l)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char *p, *real;

		if (e->d_name[0] == '.')
			continue;
		p = mc_xasprintf("%s/%s", dir, e->d_name);
		real = realpath(p, NULL);
		if (real) {
			char *probe = mc_xasprintf("%s/.", real);

			if (!access(probe, F_OK))
				mc_names_add(l, e->d_name, real);
			free(probe);
			free(real);
		}
		free(p);
	}
	closedir(d);
}

static bool has_mgpu_types(const char *path)
{
	char *dir = mc_xasprintf("%s/mdev_supported_types", path);
	struct dirent *e;
	bool yes = false;
	DIR *d = opendir(dir);

	if (d) {
		while ((e = readdir(d)))
			if (mc_type_is_mgpu(e->d_name))
				yes = true;
		closedir(d);
	}
	free(dir);
	return yes;
}

static void parent_names(struct mc_names *l)
{
	struct mc_names bus = { 0 };
	char *dir;
	size_t i;

	/* mdev parents whose types are mgpu's: named by PCI address. */
	dir = mc_path("/sys/class/mdev_bus");
	mc_dir_list(dir, &bus);
	free(dir);
	for (i = 0; i < bus.n; i++)
		if (has_mgpu_types(bus.path[i]))
			mc_names_add(l, bus.name[i], bus.path[i]);
	mc_names_free(&bus);
	names_sort(l);
}

/* ---- attribute helpers ---- */

static char *opt_str(const char *dir, const char *attr)
{
	char *p = mc_xasprintf("%s/%s", dir, attr), *s = NULL;

	if (mc_exists(p) && mc_read_str(p, &s))
		s = NULL;
	free(p);
	return s;
}

/* A missing attribute is 0; a present one must parse. */
int mc_opt_u64(const char *dir, const char *attr, uint64_t *v)
{
	char *p = mc_xasprintf("%s/%s", dir, attr);
	int ret = 0;

	*v = 0;
	if (mc_exists(p))
		ret = mc_read_u64(p, v);
	free(p);
	return ret;
}

static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	switch (*end) {
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "vram=64M, queues=4, max_instances=4" */
static void parse_description(struct mc_type *t)
{
	char *copy, *tok, *save = NULL;

	if (!t->description)
		return;
	copy = mc_xstrdup(t->description);
	for (tok = strtok_r(copy, "\n, ", &save); tok;
	     tok = strtok_r(NULL, "\n, ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(tok, "vram"))
			parse_size(eq, &t->vram_size);
		else if (!strcmp(tok, "queues"))
			mc_parse_u64(eq, &t->queues);
		else if (!strcmp(tok, "max_instances"))
			mc_parse_u64(eq, &t->max_instances);
	}
	free(copy);
}

static int type_cmp(const void *a, const void *b)
{
	const struct mc_type *x = a, *y = b;

	/* passthrough first, then 1_2, 1_4, ...: by size, largest first */
	if (x->max_instances != y->max_instances)
		return x->max_instances < y->max_instances ? -1 : 1;
	return strverscmp(x->id, y->id);
}

static int load_types(struct mc_parent *p)
{
	char *dir = mc_xasprintf("%s/mdev_supported_types", p->path);
	struct dirent *e;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d) {
		free(dir);
		return 0;
	}
	while ((e = readdir(d))) {
		struct mc_type *t;
		char *tdir, *ap;

		if (e->d_name[0] == '.')
			continue;
		tdir = mc_xasprintf("%s/%s", dir, e->d_name);
		p->types = mc_xrealloc(p->types, (p->ntypes + 1) * sizeof(*t));
		t = &p->types[p->ntypes++];
		memset(t, 0, sizeof(*t));
		t->id = mc_xstrdup(e->d_name);
		t->name = opt_str(tdir, "name");
		t->description = opt_str(tdir, "description");
		t->device_api = opt_str(tdir, "device_api");
		/* Like libvirt: available_instances is required. */
		ap = mc_xasprintf("%s/available_instances", tdir);
		ret = mc_read_u64(ap, &t->available);
		free(ap);
		free(tdir);
		if (ret)
			break;
		parse_description(t);
	}
	closedir(d);
	free(dir);
	qsort(p->types, p->ntypes, sizeof(*p->types), type_cmp);
	return ret;
}

static void pci_names(struct mc_parent *p)
{
	char *sub = mc_xasprintf("%s/subsystem", p->path);
	char *bus = mc_readlink_base(sub);
	uint64_t vendor, device;
	struct pci_access *pacc;
	char buf[256];
	const char *name;

	free(sub);
	if (!bus || strcmp(bus, "pci")) {
		free(bus);
		return;
	}
	free(bus);
	p->pci_slot = mc_xstrdup(strrchr(p->path, '/') + 1);
	if (mc_opt_u64(p->path, "vendor", &vendor) ||
	    mc_opt_u64(p->path, "device", &device))
		return;
	pacc = pci_alloc();
	if (!pacc)
		return;
	pci_init(pacc);
	name = pci_lookup_name(pacc, buf, sizeof(buf),
			       PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE,
			       (int)vendor, (int)device);
	if (name)
		p->pci_name = mc_xstrdup(name);
	pci_cleanup(pacc);
}

static size_t count_instances(const char *name)
{
	struct mc_dev *d;
	size_t n;

	if (mc_devs_scan(MC_DEV_ACTIVE, name, false, &d, &n))
		return 0;
	mc_devs_free(d, n);
	return n;
}

static int load_parent(struct mc_parent *p, const char *name, const char *path)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->name = mc_xstrdup(name);
	p->path = mc_xstrdup(path);
	p->backend = opt_str(path, "backend");
	p->sched_policy = opt_str(path, "sched_policy");
	p->last_error = opt_str(path, "last_error");
	ret = mc_opt_u64(path, "vram_size", &p->vram_size);
	if (!ret)
		ret = mc_opt_u64(path, "queues", &p->queues);
	if (!ret)
		ret = mc_opt_u64(path, "engines", &p->engines);
	if (!ret)
		ret = mc_opt_u64(path, "time_slice_us", &p->time_slice_us);
	if (!ret)
		ret = mc_opt_u64(path, "utilization", &p->utilization);
	if (!ret)
		ret = mc_opt_u64(path, "engine_busy_ns", &p->engine_busy_ns);
	if (!ret)
		ret = load_types(p);
	pci_names(p);
	p->instances = count_instances(name);
	return ret;
}

static void parent_clear(struct mc_parent *p)
{
	size_t i;

	for (i = 0; i < p->ntypes; i++) {
		free(p->types[i].id);
		free(p->types[i].name);
		free(p->types[i].description);
		free(p->types[i].device_api);
	}
	free(p->types);
	free(p->name);
	free(p->path);
	free(p->backend);
	free(p->sched_policy);
	free(p->last_error);
	free(p->pci_slot);
	free(p->pci_name);
}

void mc_parents_free(struct mc_parent *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		parent_clear(&p[i]);
	free(p);
}

/* Every parent, or only the one named (when only is not NULL). */
int mc_parents(const char *only, struct mc_parent **out, size_t *n)
{
	struct mc_names l = { 0 };
	struct mc_parent *ps;
	size_t i;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (only) {
		ret = mc_parent_get(only, out);
		*n = ret ? 0 : 1;
		return ret;
	}
	parent_names(&l);
	if (!l.n) {
		ret = mc_mgpu_present();
		mc_names_free(&l);
		return ret;
	}
	ps = mc_xmalloc(l.n * sizeof(*ps));
	for (i = 0; i < l.n; i++) {
		ret = load_parent(&ps[i], l.name[i], l.path[i]);
		if (ret) {
			mc_parents_free(ps, i + 1);
			mc_names_free(&l);
			return ret;
		}
	}
	*out = ps;
	*n = l.n;
	mc_names_free(&l);
	return 0;
}

int mc_parent_get(const char *name, struct mc_parent **out)
{
	struct mc_names l = { 0 };
	struct mc_parent *p;
	size_t i;
	int ret;

	*out = NULL;
	parent_names(&l);
	for (i = 0; i < l.n; i++)
		if (!strcmp(l.name[i], name))
			break;
	if (i == l.n) {
		ret = mc_mgpu_present();
		if (!ret) {
			mc_set_error("no mgpu parent %s (see: mgpuctl parent list)", name);
			ret = -ENODEV;
		}
		mc_names_free(&l);
		return ret;
	}
	p = mc_xmalloc(sizeof(*p));
	ret = load_parent(p, l.name[i], l.path[i]);
	mc_names_free(&l);
	if (ret) {
		mc_parents_free(p, 1);
		return ret;
	}
	*out = p;
	return 0;
}

const struct mc_type *mc_parent_type(const struct mc_parent *p, const char *id)
{
	size_t i;

	for (i = 0; i < p->ntypes; i++)
		if (!strcmp(p->types[i].id, id))
			return &p->types[i];
	return NULL;
}
