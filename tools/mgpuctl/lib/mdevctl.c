// SPDX-License-Identifier: GPL-2.0
/*
 * Persistent definitions in mdevctl's format and place:
 *
 *   /etc/mdevctl.d/<parent>/<uuid>
 *   {
 *     "mdev_type": "mgpu-1_4",
 *     "start": "auto",
 *     "attrs": [ { "mgpu/weight": "4" } ]
 *   }
 *
 * <parent> is the name under /sys/class/mdev_bus.  Attribute keys are
 * paths relative to the instance's sysfs directory, as mdevctl writes
 * them; they are applied in order after the instance is created.  A
 * missing /etc/mdevctl.d is an empty set of definitions, not an error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libmgpuctl.h"

char *mc_def_dir(void)
{
	return mc_path("/etc/mdevctl.d");
}

void mc_def_clear(struct mc_def *def)
{
	size_t i;

	free(def->parent);
	free(def->type);
	free(def->start);
	for (i = 0; i < def->nattrs; i++) {
		free(def->attrs[i].key);
		free(def->attrs[i].value);
	}
	free(def->attrs);
	memset(def, 0, sizeof(*def));
}

void mc_defs_free(struct mc_def *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mc_def_clear(&d[i]);
	free(d);
}

int mc_def_read(const char *parent, const char *uuid, struct mc_def *def)
{
	char *path, *text, *err = NULL;
	const struct mc_json *t, *s, *a, *e;
	struct mc_json *j;
	int ret;

	memset(def, 0, sizeof(*def));
	path = mc_path("/etc/mdevctl.d/%s/%s", parent, uuid);
	ret = mc_read_str(path, &text);
	if (ret) {
		free(path);
		return ret;
	}
	j = mc_json_parse(text, &err);
	free(text);
	if (!j) {
		mc_set_error("definition %s is corrupted: %s (fix: correct or remove the file)",
			     path, err);
		free(err);
		free(path);
		return -EINVAL;
	}
	ret = -EINVAL;
	t = mc_json_get(j, "mdev_type");
	s = mc_json_get(j, "start");
	a = mc_json_get(j, "attrs");
	if (!t || t->kind != MC_JSON_STR || !t->str[0]) {
		mc_set_error("definition %s is corrupted: no \"mdev_type\" string (fix: correct or remove the file)",
			     path);
		goto out;
	}
	if (s && (s->kind != MC_JSON_STR ||
		  (strcmp(s->str, "auto") && strcmp(s->str, "manual")))) {
		mc_set_error("definition %s is corrupted: \"start\" must be \"auto\" or \"manual\" (fix: correct or remove the file)",
			     path);
		goto out;
	}
	if (a && a->kind != MC_JSON_ARR && a->kind != MC_JSON_NULL) {
		mc_set_error("definition %s is corrupted: \"attrs\" is not a list (fix: correct or remove the file)",
			     path);
		goto out;
	}
	snprintf(def->uuid, sizeof(def->uuid), "%s", uuid);
	def->parent = mc_xstrdup(parent);
	def->type = mc_xstrdup(t->str);
	def->start = mc_xstrdup(s ? s->str : "manual");
	for (e = a ? a->child : NULL; e; e = e->next) {
		const struct mc_json *kv;

		if (e->kind != MC_JSON_OBJ) {
			mc_set_error("definition %s is corrupted: an attribute is not an object (fix: correct or remove the file)",
				     path);
			goto out;
		}
		for (kv = e->child; kv; kv = kv->next) {
			struct mc_attr *at;

			if (kv->kind != MC_JSON_STR && kv->kind != MC_JSON_NUM) {
				mc_set_error("definition %s is corrupted: attribute \"%s\" is not a string (fix: correct or remove the file)",
					     path, kv->key);
				goto out;
			}
			def->attrs = mc_xrealloc(def->attrs,
						 (def->nattrs + 1) * sizeof(*def->attrs));
			at = &def->attrs[def->nattrs++];
			at->key = mc_xstrdup(kv->key);
			at->value = mc_xstrdup(kv->str);
		}
	}
	ret = 0;
out:
	if (ret)
		mc_def_clear(def);
	mc_json_free(j);
	free(path);
	return ret;
}

/* Every definition (of one parent, or of all when parent is NULL). */
int mc_defs(const char *parent, struct mc_def **out, size_t *n)
{
	char *dir = mc_def_dir();
	struct dirent *pe, *ue;
	DIR *pd, *ud;
	struct mc_def *defs = NULL;
	size_t nd = 0;

	*out = NULL;
	*n = 0;
	pd = opendir(dir);
	if (!pd) {
		free(dir);
		return 0;	/* no /etc/mdevctl.d: nothing defined */
	}
	while ((pe = readdir(pd))) {
		char *pdir;

		if (pe->d_name[0] == '.' || !strcmp(pe->d_name, "scripts.d"))
			continue;
		if (parent && strcmp(parent, pe->d_name))
			continue;
		pdir = mc_xasprintf("%s/%s", dir, pe->d_name);
		ud = opendir(pdir);
		free(pdir);
		if (!ud)
			continue;
		while ((ue = readdir(ud))) {
			struct mc_def d;

			if (!mc_uuid_valid(ue->d_name))
				continue;
			if (mc_def_read(pe->d_name, ue->d_name, &d)) {
				/* A corrupted file must not hide the others. */
				fprintf(stderr, "mgpuctl: warning: %s\n", mc_error());
				continue;
			}
			defs = mc_xrealloc(defs, (nd + 1) * sizeof(*defs));
			defs[nd++] = d;
		}
		closedir(ud);
	}
	closedir(pd);
	free(dir);
	*out = defs;
	*n = nd;
	return 0;
}

/* Find a definition by UUID under any parent. */
int mc_def_find(const char *uuid, struct mc_def *def)
{
	char *dir = mc_def_dir();
	struct dirent *pe;
	DIR *pd;
	int ret = -ENOENT;

	memset(def, 0, sizeof(*def));
	pd = opendir(dir);
	if (pd) {
		while ((pe = readdir(pd))) {
			char *f;
			bool there;

			if (pe->d_name[0] == '.')
				continue;
			f = mc_xasprintf("%s/%s/%s", dir, pe->d_name, uuid);
			there = mc_exists(f);
			free(f);
			if (!there)
				continue;
			ret = mc_def_read(pe->d_name, uuid, def);
			break;
		}
		closedir(pd);
	}
	free(dir);
	if (ret == -ENOENT)
		mc_set_error("%s is not defined (see: mgpuctl dev list --defined)", uuid);
	return ret;
}

/* mkdir -p: /etc/mdevctl.d and its parents may be missing */
static int mc_mkdir(const char *path)
{
	char *copy = mc_xstrdup(path), *s;

	for (s = strchr(copy + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(copy, 0755);
		*s = '/';
	}
	free(copy);
	if (mkdir(path, 0755) && errno != EEXIST) {
		int err = errno;

		mc_set_error("cannot create %s: %s%s", path, strerror(err),
			     err == EACCES ? " (fix: run as root)" : "");
		return -err;
	}
	return 0;
}

int mc_def_write(const struct mc_def *def)
{
	char *dir, *pdir, *path, *tmp;
	FILE *f;
	size_t i;
	int ret, err;

	dir = mc_def_dir();
	pdir = mc_xasprintf("%s/%s", dir, def->parent);
	path = mc_xasprintf("%s/%s", pdir, def->uuid);
	tmp = mc_xasprintf("%s/.%s.tmp", pdir, def->uuid);
	ret = mc_mkdir(dir);
	if (!ret)
		ret = mc_mkdir(pdir);
	if (ret)
		goto out;
	f = fopen(tmp, "we");
	if (!f) {
		err = errno;
		mc_set_error("cannot write %s: %s%s", tmp, strerror(err),
			     err == EACCES ? " (fix: run as root)" : "");
		ret = -err;
		goto out;
	}
	/* mdevctl's layout (serde_json pretty printing) */
	fputs("{\n  \"mdev_type\": ", f);
	pr_json_string_to(f, def->type);
	fputs(",\n  \"start\": ", f);
	pr_json_string_to(f, def->start);
	fputs(",\n  \"attrs\": [", f);
	for (i = 0; i < def->nattrs; i++) {
		fputs(i ? ",\n    {\n      " : "\n    {\n      ", f);
		pr_json_string_to(f, def->attrs[i].key);
		fputs(": ", f);
		pr_json_string_to(f, def->attrs[i].value);
		fputs("\n    }", f);
	}
	fputs(def->nattrs ? "\n  ]\n}\n" : "]\n}\n", f);
	err = ferror(f) ? EIO : 0;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err) {
		unlink(tmp);
		mc_set_error("cannot write %s: %s", path, strerror(err));
		ret = -err;
	}
out:
	free(dir);
	free(pdir);
	free(path);
	free(tmp);
	return ret;
}

int mc_def_remove(const char *uuid)
{
	struct mc_def d;
	char *path;
	int ret;

	ret = mc_def_find(uuid, &d);
	if (ret)
		return ret;
	path = mc_path("/etc/mdevctl.d/%s/%s", d.parent, uuid);
	if (unlink(path)) {
		ret = -errno;
		mc_set_error("cannot remove %s: %s%s", path, strerror(-ret),
			     ret == -EACCES ? " (fix: run as root)" : "");
	}
	free(path);
	mc_def_clear(&d);
	return ret;
}
