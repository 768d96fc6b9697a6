// SPDX-License-Identifier: GPL-2.0
/*
 * Operations: create, remove, start a definition, autostart, attributes.
 * After a create or a remove, wait (with a timeout) until udev has
 * processed the event when udevd runs, so that /dev/vfio/<group> has its
 * final permissions when mgpuctl returns.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>

#include "mgpuctl-core.h"
#include "internal.h"

#define MC_UDEV_TIMEOUT_MS	10000

struct mc_wait {
	struct udev *udev;
	struct udev_monitor *mon;
};

static void wait_begin(struct mc_wait *w)
{
	memset(w, 0, sizeof(*w));
	if (mc_root_overridden() || access("/run/udev/control", F_OK))
		return;		/* no udevd: nothing to wait for */
	w->udev = udev_new();
	if (!w->udev)
		return;
	w->mon = udev_monitor_new_from_netlink(w->udev, "udev");
	if (!w->mon ||
	    udev_monitor_filter_add_match_subsystem_devtype(w->mon, "mdev", NULL) ||
	    udev_monitor_enable_receiving(w->mon)) {
		udev_monitor_unref(w->mon);
		w->mon = NULL;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void wait_end(struct mc_wait *w, const char *uuid, const char *action)
{
	long long deadline = now_ms() + MC_UDEV_TIMEOUT_MS;
	bool seen = false;

	while (w->mon && !seen) {
		struct pollfd pfd = { .fd = udev_monitor_get_fd(w->mon), .events = POLLIN };
		long long left = deadline - now_ms();
		struct udev_device *dev;

		if (left <= 0) {
			mc_log(MC_LOG_WARNING, "udev did not report the %s of %s within %ds",
			       action, uuid, MC_UDEV_TIMEOUT_MS / 1000);
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		dev = udev_monitor_receive_device(w->mon);
		if (!dev)
			continue;
		if (!strcmp(udev_device_get_sysname(dev), uuid) &&
		    !strcmp(udev_device_get_action(dev) ?: "", action))
			seen = true;
		udev_device_unref(dev);
	}
	udev_monitor_unref(w->mon);
	udev_unref(w->udev);
	memset(w, 0, sizeof(*w));
}

static char *dev_path(const char *uuid)
{
	return mc_path("/sys/bus/mdev/devices/%s", uuid);
}

static char *type_list(const struct mc_parent *p)
{
	char *s = mc_xstrdup(""), *t;
	size_t i;

	for (i = 0; i < p->ntypes; i++) {
		t = mc_xasprintf("%s%s%s", s, i ? ", " : "", p->types[i].id);
		free(s);
		s = t;
	}
	return s;
}

int mc_create(const char *parent, const char *type, const char *uuid)
{
	const struct mc_type *t;
	struct mc_parent *p;
	struct mc_wait w;
	char *dp, *create;
	int ret;

	ret = mc_uuid_check(uuid);
	if (ret)
		return ret;
	ret = mc_parent_get(parent, &p);
	if (ret)
		return ret;
	t = mc_parent_type(p, type);
	if (!t) {
		char *l = type_list(p);

		mc_set_error("no type %s on %s (types: %s)", type, parent, l);
		free(l);
		mc_parents_free(p, 1);
		return -ENOENT;
	}
	dp = dev_path(uuid);
	if (mc_exists(dp)) {
		mc_set_error("UUID already exists: %s (fix: pick another UUID, or leave out --uuid)",
			     uuid);
		free(dp);
		mc_parents_free(p, 1);
		return -EEXIST;
	}
	create = mc_xasprintf("%s/mdev_supported_types/%s/create", p->path, type);
	wait_begin(&w);
	ret = mc_write_str(create, uuid);
	if (ret) {
		char *le = mc_xasprintf("%s/last_error", p->path), *why = NULL;

		mc_read_str(le, &why);
		if (ret == -ENOSPC)
			mc_set_error("no capacity for type %s on %s: %s (see: mgpuctl type list --parent %s)",
				     type, parent, why && *why ? why : "no room left",
				     parent);
		else if (ret == -EEXIST)
			mc_set_error("UUID already exists: %s (fix: pick another UUID)", uuid);
		else if (why && *why)
			mc_set_error("creating %s on %s failed: %s: %s", type,
				     parent, strerror(-ret), why);
		free(why);
		free(le);
		udev_monitor_unref(w.mon);
		udev_unref(w.udev);
	} else {
		wait_end(&w, uuid, "add");
		if (!mc_exists(dp)) {
			mc_set_error("%s did not appear in /sys/bus/mdev/devices after the create",
				     uuid);
			ret = -EIO;
		}
	}
	free(create);
	free(dp);
	mc_parents_free(p, 1);
	return ret;
}

int mc_remove(const char *uuid)
{
	struct mc_wait w;
	char *dp, *rm;
	int ret;

	ret = mc_uuid_check(uuid);
	if (ret)
		return ret;
	dp = dev_path(uuid);
	if (!mc_exists(dp)) {
		ret = mc_mgpu_present();
		if (!ret) {
			mc_set_error("no active instance %s (see: mgpuctl dev list)", uuid);
			ret = -ENOENT;
		}
		free(dp);
		return ret;
	}
	rm = mc_xasprintf("%s/remove", dp);
	wait_begin(&w);
	ret = mc_write_str(rm, "1");
	if (!ret)
		wait_end(&w, uuid, "remove");
	else {
		udev_monitor_unref(w.mon);
		udev_unref(w.udev);
	}
	free(rm);
	free(dp);
	return ret;
}

/*
 * An attribute key relative to the instance: "mgpu/weight"; a bare
 * "weight" is looked up in the instance's mgpu/ directory too.
 */
char *mc_attr_path(const char *devpath, const char *key)
{
	char *p = mc_xasprintf("%s/%s", devpath, key);

	if (!strchr(key, '/') && !mc_exists(p)) {
		char *m = mc_xasprintf("%s/mgpu/%s", devpath, key);

		if (mc_exists(m)) {
			free(p);
			return m;
		}
		free(m);
	}
	return p;
}

static bool key_ok(const char *key)
{
	return *key && key[0] != '/' && !strstr(key, "..");
}

int mc_dev_set_attr(const char *uuid, const char *key, const char *value)
{
	char *dp, *ap;
	int ret;

	ret = mc_uuid_check(uuid);
	if (ret)
		return ret;
	if (!key_ok(key)) {
		mc_set_error("bad attribute name \"%s\"", key);
		return -EINVAL;
	}
	dp = dev_path(uuid);
	if (!mc_exists(dp)) {
		mc_set_error("no active instance %s (see: mgpuctl dev list)", uuid);
		free(dp);
		return -ENOENT;
	}
	ap = mc_attr_path(dp, key);
	if (!mc_exists(ap)) {
		mc_set_error("%s has no attribute %s", uuid, key);
		ret = -ENOENT;
	} else {
		ret = mc_write_str(ap, value);
		if (ret == -EINVAL)
			mc_set_error("%s: invalid value \"%s\" for %s (see: man mgpuctl)",
				     uuid, value, key);
	}
	free(ap);
	free(dp);
	return ret;
}

int mc_parent_set_attr(const char *parent, const char *key, const char *value)
{
	struct mc_parent *p;
	char *ap;
	int ret;

	ret = mc_parent_get(parent, &p);
	if (ret)
		return ret;
	ap = mc_xasprintf("%s/%s", p->path, key);
	ret = mc_write_str(ap, value);
	if (ret == -EINVAL)
		mc_set_error("%s: invalid value \"%s\" for %s (see: man mgpuctl)",
			     parent, value, key);
	free(ap);
	mc_parents_free(p, 1);
	return ret;
}

/* Create a defined instance, then write its attributes in order. */
int mc_start(const char *uuid)
{
	struct mc_def d;
	char *dp;
	size_t i;
	int ret;

	ret = mc_uuid_check(uuid);
	if (ret)
		return ret;
	ret = mc_def_find(uuid, &d);
	if (ret)
		return ret;
	dp = dev_path(uuid);
	if (mc_exists(dp)) {
		mc_set_error("%s is already started", uuid);
		ret = -EALREADY;
		goto out;
	}
	ret = mc_create(d.parent, d.type, uuid);
	if (ret)
		goto out;
	for (i = 0; i < d.nattrs; i++) {
		char *ap;

		if (!key_ok(d.attrs[i].key)) {
			mc_set_error("bad attribute name \"%s\" in the definition",
				     d.attrs[i].key);
			ret = -EINVAL;
		} else {
			ap = mc_attr_path(dp, d.attrs[i].key);
			ret = mc_write_str(ap, d.attrs[i].value);
			free(ap);
		}
		if (ret) {
			char *msg = mc_xstrdup(mc_last_error());

			mc_remove(uuid);
			mc_set_error("%s: attribute %s=%s failed, instance removed again: %s",
				     uuid, d.attrs[i].key, d.attrs[i].value, msg);
			free(msg);
			break;
		}
	}
out:
	free(dp);
	mc_def_clear(&d);
	return ret;
}

/*
 * Start the parent's "auto" definitions once.  Called by the udev rule
 * when a parent appears: no retries, one log line (MC_LOG_ERR) per
 * failure, one (MC_LOG_INFO) per instance started.
 */
int mc_autostart(const char *parent, int *started, int *failed)
{
	struct mc_def *defs;
	struct mc_parent *p = NULL;
	size_t n, i;
	int tries, ret;

	*started = *failed = 0;
	/* The "add" event can come before the types are registered. */
	for (tries = 0; tries < 50; tries++) {
		if (!mc_parent_get(parent, &p) && p->ntypes)
			break;
		mc_parents_free(p, p ? 1 : 0);
		p = NULL;
		usleep(100 * 1000);
	}
	if (!p) {
		mc_set_error("autostart: parent %s has no mdev types after 5s; nothing started",
			     parent);
		return -ENODEV;
	}
	mc_parents_free(p, 1);
	mc_defs(parent, &defs, &n);
	for (i = 0; i < n; i++) {
		char *dp;
		bool active;

		if (strcmp(defs[i].start, "auto"))
			continue;
		dp = dev_path(defs[i].uuid);
		active = mc_exists(dp);
		free(dp);
		if (active)
			continue;
		ret = mc_start(defs[i].uuid);
		if (ret == -EEXIST || ret == -EALREADY) {
			/* Started meanwhile by someone else (mdevctl's rule): fine. */
			dp = dev_path(defs[i].uuid);
			active = mc_exists(dp);
			free(dp);
			if (active)
				continue;
		}
		if (ret) {
			(*failed)++;
			mc_log(MC_LOG_ERR, "autostart of %s (%s on %s) failed: %s",
			       defs[i].uuid, defs[i].type, parent, mc_last_error());
		} else {
			(*started)++;
			mc_log(MC_LOG_INFO, "autostarted %s (%s on %s)", defs[i].uuid,
			       defs[i].type, parent);
		}
	}
	mc_defs_free(defs, n);
	return *failed ? -EIO : 0;
}

static bool name_listed(const struct mc_names *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return true;
	return false;
}

/*
 * A new software GPU, through the mgpu class's add_swgpu: params is
 * "vram=SIZE queues=N engines=N" (any may be left out); its name in *name: the
 * one mdev parent that was not there before (its PCI function is bound,
 * and so registered, by the time the write returns).
 */
int mc_parent_add(const char *params, char **name)
{
	struct mc_names before = { 0 }, after = { 0 };
	char *class = mc_path("/sys/class/mgpu"), *path;
	char *bus = mc_path("/sys/class/mdev_bus");
	size_t i;
	int ret;

	*name = NULL;
	ret = mc_mgpu_present();
	if (ret)
		goto out;
	mc_dir_list(bus, &before);
	path = mc_xasprintf("%s/add_swgpu", class);
	ret = mc_write_str(path, *params ? params : "\n");
	free(path);
	if (ret == -EINVAL)
		mc_set_error("cannot add a software GPU with \"%s\" (expected: vram=SIZE[K|M|G] queues=N engines=N; vram a power of two from 16M to 64G, queues a power of two from 16 to 256, engines from 1 to 8; the kernel log says which was refused)",
			     params);
	if (ret)
		goto out;
	mc_dir_list(bus, &after);
	for (i = 0; i < after.n && !*name; i++)
		if (!name_listed(&before, after.name[i]))
			*name = mc_xstrdup(after.name[i]);
	if (!*name) {
		mc_set_error("no new parent appeared after the write to add_swgpu");
		ret = -EIO;
	}
out:
	mc_names_free(&before);
	mc_names_free(&after);
	free(class);
	free(bus);
	return ret;
}

/*
 * Remove a software GPU (and its instances), through remove_swgpu: by its
 * PCI address, or by its old name swgpuN.
 */
int mc_parent_remove(const char *name)
{
	char *path;
	int ret;

	ret = mc_mgpu_present();
	if (ret)
		return ret;
	path = mc_path("/sys/class/mgpu/remove_swgpu");
	ret = mc_write_str(path, name);
	free(path);
	if (ret == -ENODEV)
		mc_set_error("no software GPU %s (see: mgpuctl parent list)", name);
	return ret;
}
