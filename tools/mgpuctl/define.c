// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl dev define, undefine, modify: persistent definitions in
 * mdevctl's format and place (/etc/mdevctl.d/<parent>/<uuid>), with
 * mdevctl's verbs and options, so that mgpuctl, mdevctl and libvirt
 * share them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mgpuctl.h"

/* An mgpu type, and one of the parent's when the parent is present. */
static int check_type(const char *parent, const char *type)
{
	struct mc_parent *p;
	bool known;

	if (!mc_type_is_mgpu(type))
		return usage_error("%s is not an mgpu type (expected mgpu-...; see: mgpuctl type list)",
				   type);
	if (mc_parent_get(parent, &p))
		return 0;
	known = mc_parent_type(p, type);
	mc_parents_free(p, 1);
	if (known)
		return 0;
	mc_set_error("no type %s on %s (see: mgpuctl type list --parent %s)",
		     type, parent, parent);
	return fail(-ENOENT);
}

/* Set KEY (a sysfs path) to value: replace it in place, or append it. */
static void def_set_attr(struct mc_def *def, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < def->nattrs; i++) {
		if (!strcmp(def->attrs[i].key, key)) {
			free(def->attrs[i].value);
			def->attrs[i].value = mc_xstrdup(value);
			return;
		}
	}
	mc_def_add_attr(def, key, value);
}

/* Check and apply KEY=VALUE words (mdevctl's keys: mgpu/weight). */
static int def_apply_attrs(struct mc_def *def, const char **words, int n)
{
	struct mc_attr *a;
	size_t na, i;
	int ret;

	ret = parse_settings(MC_SCOPE_DEV, n, (char **)words, &a, &na);
	if (ret)
		return ret;
	for (i = 0; i < na; i++)
		def_set_attr(def, a[i].key, a[i].value);
	attrs_free(a, na);
	return 0;
}

/*
 * --jsonfile FILE: the type, start and attributes of a definition, in
 * mdevctl's format; its attributes are checked like KEY=VALUE words.
 */
static int def_from_file(const char *file, const char *parent, struct mc_def *def)
{
	struct json_object *j;
	char *text, *what, **words;
	struct mc_def in = { 0 };
	size_t i;
	int ret;

	ret = mc_read_str(file, &text);
	if (ret)
		return fail(ret);
	what = mc_xasprintf("--jsonfile %s", file);
	j = mc_json_parse(text, what);
	free(text);
	ret = j ? mc_def_from_json(j, what, &in) : -EINVAL;
	json_object_put(j);
	free(what);
	if (ret) {
		mc_def_clear(&in);
		return usage_error("%s", mc_last_error());
	}
	ret = check_type(parent, in.type);
	words = mc_xmalloc((in.nattrs + 1) * sizeof(*words));
	for (i = 0; i < in.nattrs; i++)
		words[i] = mc_xasprintf("%s=%s", in.attrs[i].key, in.attrs[i].value);
	if (!ret) {
		free(def->type);
		free(def->start);
		def->type = mc_xstrdup(in.type);
		def->start = mc_xstrdup(in.start);
		ret = def_apply_attrs(def, (const char **)words, in.nattrs);
	}
	for (i = 0; i < in.nattrs; i++)
		free(words[i]);
	free(words);
	mc_def_clear(&in);
	return ret;
}

/* The parent and type of an active instance, to define it as it is. */
static int def_of_active(const char *uuid, struct mc_def *def)
{
	struct mc_dev *d;
	int ret;

	ret = mc_dev_get(uuid, &d);
	if (ret)
		return fail(ret);
	if (!d->active) {
		mc_devs_free(d, 1);
		return usage_error("%s is not active: give --parent and --type", uuid);
	}
	def->parent = mc_xstrdup(d->parent);
	def->type = mc_xstrdup(d->type);
	mc_devs_free(d, 1);
	return 0;
}

int dev_define(int argc, char **argv)
{
	struct mc_def def = { 0 }, old;
	struct dev_args c;
	int ret;

	ret = parse_dev_args(argc, argv, DEV_ARGS_DEFINITION, &c);
	if (ret)
		goto out;
	if (c.ndel || c.start == 0) {
		ret = usage_error("--delattr and --manual are modify's (see: mgpuctl dev help)");
		goto out;
	}
	if (c.jsonfile && (c.type || c.start >= 0 || c.nattrs)) {
		ret = usage_error("--jsonfile gives the type, start and attributes: not with --type, --auto or KEY=VALUE");
		goto out;
	}
	if (c.jsonfile && c.parent) {
		def.parent = mc_xstrdup(c.parent);
		ret = def_from_file(c.jsonfile, c.parent, &def);
	} else if (!c.parent && !c.type && c.uuid && !c.jsonfile) {
		ret = def_of_active(c.uuidbuf, &def);	/* as it is */
	} else if (!c.parent || !(c.type || c.jsonfile)) {
		ret = usage_error("usage: mgpuctl dev define --parent PARENT --type TYPE [--uuid UUID] [--auto] [ATTR=VALUE...]");
	} else {
		def.parent = mc_xstrdup(c.parent);
		def.type = mc_xstrdup(c.type);
		ret = check_type(c.parent, c.type);
		if (!ret)
			ret = def_apply_attrs(&def, c.attrs, c.nattrs);
	}
	if (ret)
		goto out;
	if (c.uuid)
		memcpy(def.uuid, c.uuidbuf, sizeof(def.uuid));
	else
		ret = mc_uuid_generate(def.uuid);
	if (ret) {
		ret = fail(ret);
		goto out;
	}
	if (!mc_def_find(def.uuid, &old)) {
		mc_set_error("%s is already defined on %s (fix: mgpuctl dev undefine %s first)",
			     def.uuid, old.parent, def.uuid);
		mc_def_clear(&old);
		ret = fail(-EEXIST);
		goto out;
	}
	if (!def.start)
		def.start = mc_xstrdup(c.start > 0 ? "auto" : "manual");
	ret = mc_def_write(&def);
	ret = ret ? fail(ret) : print_uuid(def.uuid);
out:
	mc_def_clear(&def);
	dev_args_free(&c);
	return ret;
}

int dev_undefine(int argc, char **argv)
{
	return uuid_cmd(argc, argv, "undefine", mc_def_remove);
}

static int def_del_attr(struct mc_def *def, const char *key)
{
	const struct mc_setting *s = mc_setting_find(MC_SCOPE_DEV, key, strlen(key));
	size_t i;

	for (i = 0; i < def->nattrs; i++) {
		if (strcmp(def->attrs[i].key, s ? s->sysfs : key))
			continue;
		free(def->attrs[i].key);
		free(def->attrs[i].value);
		memmove(&def->attrs[i], &def->attrs[i + 1],
			(def->nattrs - i - 1) * sizeof(*def->attrs));
		def->nattrs--;
		return 0;
	}
	return usage_error("%s has no attribute %s (see: mgpuctl dev show %s)",
			   def->uuid, key, def->uuid);
}

/*
 * mdevctl modify: change a definition (not the active instance): its
 * type, its start, attributes set or deleted, or all of it from
 * --jsonfile.  The parent stays (undefine and define to move it).
 */
int dev_modify(int argc, char **argv)
{
	struct mc_def def = { 0 };
	struct dev_args c;
	int i, ret;

	ret = parse_dev_args(argc, argv, DEV_ARGS_DEFINITION | DEV_ARGS_UUID_WORD, &c);
	if (ret)
		goto out;
	if (!c.uuid || c.parent ||
	    !(c.type || c.start >= 0 || c.nattrs || c.ndel || c.jsonfile)) {
		ret = usage_error("usage: mgpuctl dev modify UUID [--type TYPE] [--auto|--manual] [KEY=VALUE...] [--delattr KEY...] | --jsonfile FILE");
		goto out;
	}
	if (c.jsonfile && (c.type || c.start >= 0 || c.nattrs || c.ndel)) {
		ret = usage_error("--jsonfile gives the type, start and attributes: not with --type, --auto, --manual, --delattr or KEY=VALUE");
		goto out;
	}
	ret = mc_def_find(c.uuidbuf, &def);
	if (ret) {
		ret = fail(ret);
		goto out;
	}
	if (c.jsonfile) {
		while (def.nattrs)
			def_del_attr(&def, def.attrs[0].key);
		ret = def_from_file(c.jsonfile, def.parent, &def);
	}
	if (!ret && c.type) {
		ret = check_type(def.parent, c.type);
		free(def.type);
		def.type = mc_xstrdup(c.type);
	}
	if (c.start >= 0) {
		free(def.start);
		def.start = mc_xstrdup(c.start ? "auto" : "manual");
	}
	for (i = 0; !ret && i < c.ndel; i++)
		ret = def_del_attr(&def, c.delattrs[i]);
	if (!ret)
		ret = def_apply_attrs(&def, c.attrs, c.nattrs);
	if (!ret) {
		ret = mc_def_write(&def);
		if (ret)
			ret = fail(ret);
	}
out:
	mc_def_clear(&def);
	dev_args_free(&c);
	return ret;
}
