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

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "mgpuctl-core.h"

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

/* json-c's pretty printing writes an empty array as "[\n  ]": "[]" */
static int empty_to_string(struct json_object *j, struct printbuf *pb,
			   int level, int flags)
{
	return printbuf_memappend(pb, json_object_is_type(j, json_type_array) ?
				  "[]" : "{}", 2);
}

static void compact_empties(struct json_object *j)
{
	size_t i, n;

	if (json_object_is_type(j, json_type_array)) {
		n = json_object_array_length(j);
		for (i = 0; i < n; i++)
			compact_empties(json_object_array_get_idx(j, i));
	} else if (json_object_is_type(j, json_type_object)) {
		json_object_object_foreach(j, key, val) {
			(void)key;
			compact_empties(val);
		}
		n = json_object_object_length(j);
	} else {
		return;
	}
	if (!n)
		json_object_set_serializer(j, empty_to_string, NULL, NULL);
}

/*
 * The text of a JSON value, serde_json's layout when pretty (mdevctl's
 * files): two spaces, "key": value, [] and {} when empty.  malloc'd.
 */
char *mc_json_text(struct json_object *j, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	if (pretty) {
		compact_empties(j);
		flags |= JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED;
	}
	return mc_xstrdup(json_object_to_json_string_ext(j, flags));
}

/*
 * A definition from mdevctl's JSON: def->uuid and def->parent are the
 * caller's; what names the source in messages (a path, "--jsonfile X").
 */
int mc_def_from_json(struct json_object *j, const char *what, struct mc_def *def)
{
	struct json_object *t, *s, *a;
	size_t i, n;

	if (!json_object_is_type(j, json_type_object)) {
		mc_set_error("%s is corrupted: not a JSON object (fix: correct or remove the file)",
			     what);
		return -EINVAL;
	}
	if (!json_object_object_get_ex(j, "mdev_type", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    !*json_object_get_string(t)) {
		mc_set_error("%s is corrupted: no \"mdev_type\" string (fix: correct or remove the file)",
			     what);
		return -EINVAL;
	}
	if (json_object_object_get_ex(j, "start", &s) &&
	    (!json_object_is_type(s, json_type_string) ||
	     (strcmp(json_object_get_string(s), "auto") &&
	      strcmp(json_object_get_string(s), "manual")))) {
		mc_set_error("%s is corrupted: \"start\" must be \"auto\" or \"manual\" (fix: correct or remove the file)",
			     what);
		return -EINVAL;
	}
	if (json_object_object_get_ex(j, "attrs", &a) && a &&
	    !json_object_is_type(a, json_type_array)) {
		mc_set_error("%s is corrupted: \"attrs\" is not a list (fix: correct or remove the file)",
			     what);
		return -EINVAL;
	}
	def->type = mc_xstrdup(json_object_get_string(t));
	def->start = mc_xstrdup(s ? json_object_get_string(s) : "manual");
	n = a ? json_object_array_length(a) : 0;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		if (!json_object_is_type(e, json_type_object)) {
			mc_set_error("%s is corrupted: an attribute is not an object (fix: correct or remove the file)",
				     what);
			return -EINVAL;
		}
		json_object_object_foreach(e, key, val) {
			if (!json_object_is_type(val, json_type_string) &&
			    !json_object_is_type(val, json_type_int) &&
			    !json_object_is_type(val, json_type_double)) {
				mc_set_error("%s is corrupted: attribute \"%s\" is not a string (fix: correct or remove the file)",
					     what, key);
				return -EINVAL;
			}
			mc_def_add_attr(def, key, json_object_get_string(val));
		}
	}
	return 0;
}

/* mdevctl's JSON of a definition (its file, and list --dumpjson) */
struct json_object *mc_def_to_json(const struct mc_def *def)
{
	struct json_object *j = json_object_new_object();
	struct json_object *a = json_object_new_array();
	size_t i;

	json_object_object_add(j, "mdev_type", json_object_new_string(def->type));
	json_object_object_add(j, "start", json_object_new_string(def->start));
	for (i = 0; i < def->nattrs; i++) {
		struct json_object *kv = json_object_new_object();

		json_object_object_add(kv, def->attrs[i].key,
				       json_object_new_string(def->attrs[i].value));
		json_object_array_add(a, kv);
	}
	json_object_object_add(j, "attrs", a);
	return j;
}

void mc_def_add_attr(struct mc_def *def, const char *key, const char *value)
{
	struct mc_attr *at;

	def->attrs = mc_xrealloc(def->attrs, (def->nattrs + 1) * sizeof(*def->attrs));
	at = &def->attrs[def->nattrs++];
	at->key = mc_xstrdup(key);
	at->value = mc_xstrdup(value);
}

/* Parse a JSON text; NULL with the message set on error. */
struct json_object *mc_json_parse(const char *text, const char *what)
{
	struct json_tokener *tok = json_tokener_new();
	size_t len = strlen(text), end;
	enum json_tokener_error jerr;
	const char *why;
	struct json_object *j;

	if (!tok)
		mc_oom_fail();
	j = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	why = json_tokener_error_desc(jerr);
	if (jerr == json_tokener_continue)
		why = "unexpected end of data";
	else if (jerr == json_tokener_success)
		end += strspn(text + end, " \t\r\n");
	if (jerr != json_tokener_success || end < len) {
		if (jerr == json_tokener_success)
			why = "trailing characters";
		mc_set_error("%s is corrupted: %s at offset %zu (fix: correct or remove the file)",
			     what, why, end);
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(tok);
	return j;
}

int mc_def_read(const char *parent, const char *uuid, struct mc_def *def)
{
	struct json_object *j;
	char *path, *text, *what;
	int ret;

	memset(def, 0, sizeof(*def));
	path = mc_path("/etc/mdevctl.d/%s/%s", parent, uuid);
	ret = mc_read_str(path, &text);
	if (ret) {
		free(path);
		return ret;
	}
	what = mc_xasprintf("definition %s", path);
	j = mc_json_parse(text, what);
	free(text);
	ret = j ? mc_def_from_json(j, what, def) : -EINVAL;
	if (!ret) {
		snprintf(def->uuid, sizeof(def->uuid), "%s", uuid);
		def->parent = mc_xstrdup(parent);
	} else {
		mc_def_clear(def);
	}
	json_object_put(j);
	free(what);
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
				mc_log(MC_LOG_WARNING, "%s", mc_last_error());
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
	char *dir, *pdir, *path, *tmp, *text;
	struct json_object *json;
	FILE *f;
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
	json = mc_def_to_json(def);
	text = mc_json_text(json, true);
	fprintf(f, "%s\n", text);
	free(text);
	json_object_put(json);
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
