// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl: manage mgpu parents, vGPU types and instances.
 *
 *   mgpuctl [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * Objects and commands are matched exactly (no prefixes), from static
 * tables, as in iproute2.  Everything printed goes through the print
 * layer (print.c), which renders text or, with -j, JSON.  The core
 * (core/) reports warnings through log_line(), never on its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "mgpuctl.h"

#ifndef MGPUCTL_VERSION
#define MGPUCTL_VERSION "unknown"
#endif

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* ---- errors and arguments ---- */

int fail(int err)
{
	fprintf(stderr, "mgpuctl: %s\n", mc_last_error());
	switch (err) {
	case -ENOENT:
	case -ENODEV:
		return EXIT_NOTFOUND;
	case -ENXIO:
		return EXIT_NOMODULE;
	default:
		return EXIT_FAIL;
	}
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mgpuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/*
 * "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val set (and *i
 * advanced past VALUE), 0 if argv[*i] is another word, -1 if VALUE is
 * missing.
 */
int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t len = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, len))
		return 0;
	if (a[len] == '=') {
		*val = a + len + 1;
		return 1;
	}
	if (a[len])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int check_uuid(const char *u)
{
	if (!mc_uuid_valid(u))
		return usage_error("\"%s\" is not a UUID (expected: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
				   u);
	return 0;
}

static int check_u64(const char *key, const char *val)
{
	uint64_t v;

	if (mc_parse_u64(val, &v))
		return usage_error("%s=%s: not a number", key, val);
	return 0;
}

/* The core's warnings and log lines: stderr, and syslog for autostart. */
static bool use_syslog;

static void log_line(enum mc_log_level level, const char *msg)
{
	if (use_syslog)
		syslog(level == MC_LOG_INFO ? LOG_INFO :
		       level == MC_LOG_WARNING ? LOG_WARNING : LOG_ERR, "%s", msg);
	if (level == MC_LOG_WARNING)
		fprintf(stderr, "mgpuctl: warning: %s\n", msg);
	else if (level == MC_LOG_ERR)
		fprintf(stderr, "mgpuctl: %s\n", msg);
}

static void __attribute__((noreturn)) out_of_memory(void)
{
	fputs("mgpuctl: out of memory\n", stderr);
	exit(EXIT_FAIL);
}

/* Run one command of an object's table. */
static int dispatch(const char *object, const struct cmd *cmds,
		    int argc, char **argv, int (*help)(void))
{
	const struct cmd *c;

	if (argc < 1)
		return cmds[0].fn(0, argv);	/* default: list */
	for (c = cmds; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc - 1, argv + 1);
	help();
	return usage_error("unknown command \"%s\" for object \"%s\" (see: mgpuctl %s help)",
			   argv[0], object, object);
}

/* ---- parent ---- */

static int parent_help(void)
{
	fputs("Usage: mgpuctl parent list\n"
	      "       mgpuctl parent show [PARENT]\n"
	      "       mgpuctl parent set PARENT { policy=best_effort|equal_share|fixed_share |\n"
	      "                                  time_slice_us=N } ...\n"
	      "       mgpuctl parent help\n", stderr);
	return EXIT_OK;
}

static void print_type(const char *parent, const struct mc_type *t, const char *indent)
{
	char *vram = mc_size_str(t->vram_size);

	pr_obj_open(NULL);
	if (parent)
		pr_string("parent", "%s ", parent);
	else
		pr_text("%s", indent);
	pr_string("type", parent ? "%s:" : "type %s", t->id);
	pr_string("name", " name \"%s\"", t->name);
	pr_u64("vram_size", NULL, t->vram_size);
	pr_text(" vram %s", vram);
	pr_u64("queues", " queues %" PRIu64, t->queues);
	pr_u64("available_instances", " available %" PRIu64, t->available);
	pr_u64("max_instances", "/%" PRIu64, t->max_instances);
	pr_string("device_api", " device_api %s", t->device_api);
	pr_string("description", NULL, t->description);
	pr_text("\n");
	pr_obj_close();
	free(vram);
}

static void print_parent(const struct mc_parent *p, bool detail)
{
	char *vram = mc_size_str(p->vram_size);
	size_t i;

	pr_obj_open(NULL);
	pr_string("parent", "%s:", p->name);
	pr_string("backend", " backend %s", p->backend ? p->backend : "unknown");
	pr_u64("vram_size", NULL, p->vram_size);
	pr_text(" vram %s", vram);
	pr_u64("queues", " queues %" PRIu64, p->queues);
	pr_string("sched_policy", " policy %s", p->sched_policy);
	pr_u64("time_slice_us", " time_slice_us %" PRIu64, p->time_slice_us);
	pr_u64("utilization", " utilization %" PRIu64 "%%", p->utilization);
	pr_u64("instances", " instances %" PRIu64, p->instances);
	if (p->pci_slot) {
		pr_string("pci_slot", " pci %s", p->pci_slot);
		pr_string("pci_name", " \"%s\"", p->pci_name ? p->pci_name : "");
	} else {
		pr_null("pci_slot", NULL);
		pr_null("pci_name", NULL);
	}
	if (detail) {
		pr_u64("engine_busy_ns", "\n  engine_busy_ns %" PRIu64, p->engine_busy_ns);
		pr_string("last_error", "\n  last_error \"%s\"", p->last_error);
	} else {
		pr_u64("engine_busy_ns", NULL, p->engine_busy_ns);
		pr_string("last_error", NULL, p->last_error);
	}
	pr_text("\n");
	pr_arr_open("types");
	for (i = 0; detail && i < p->ntypes; i++)
		print_type(NULL, &p->types[i], "  ");
	for (i = 0; !detail && pr_json() && i < p->ntypes; i++)
		print_type(NULL, &p->types[i], "  ");
	pr_arr_close();
	pr_obj_close();
	free(vram);
}

static int parent_list_filtered(const char *only)
{
	struct mc_parent *ps;
	size_t n, i;
	int ret;

	if (only) {
		ret = mc_parent_get(only, &ps);
		n = 1;
	} else {
		ret = mc_parents(&ps, &n);
	}
	if (ret)
		return fail(ret);
	pr_begin();
	pr_arr_open("parents");
	for (i = 0; i < n; i++)
		print_parent(&ps[i], only != NULL);
	pr_arr_close();
	pr_end();
	mc_parents_free(ps, n);
	return EXIT_OK;
}

static int parent_list(int argc, char **argv)
{
	if (argc)
		return usage_error("parent list takes no arguments (see: mgpuctl parent help)");
	return parent_list_filtered(NULL);
}

static int parent_show(int argc, char **argv)
{
	struct mc_parent *ps;
	size_t n, i;
	int ret;

	if (argc > 1)
		return usage_error("usage: mgpuctl parent show [PARENT]");
	if (argc == 1)
		return parent_list_filtered(argv[0]);
	ret = mc_parents(&ps, &n);
	if (ret)
		return fail(ret);
	pr_begin();
	pr_arr_open("parents");
	for (i = 0; i < n; i++)
		print_parent(&ps[i], true);
	pr_arr_close();
	pr_end();
	mc_parents_free(ps, n);
	return EXIT_OK;
}

static int parent_set(int argc, char **argv)
{
	int i, ret;

	if (argc < 2)
		return usage_error("usage: mgpuctl parent set PARENT policy=POLICY|time_slice_us=N ...");
	/* Check everything before changing anything. */
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *v = eq ? eq + 1 : "";
		size_t kl = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);

		if (!eq)
			return usage_error("\"%s\": expected KEY=VALUE", argv[i]);
		if ((kl == 6 && !strncmp(argv[i], "policy", 6)) ||
		    (kl == 12 && !strncmp(argv[i], "sched_policy", 12))) {
			if (strcmp(v, "best_effort") && strcmp(v, "equal_share") &&
			    strcmp(v, "fixed_share"))
				return usage_error("policy=%s: expected best_effort, equal_share or fixed_share",
						   v);
		} else if (kl == 13 && !strncmp(argv[i], "time_slice_us", 13)) {
			ret = check_u64("time_slice_us", v);
			if (ret)
				return ret;
		} else {
			return usage_error("unknown parent attribute \"%.*s\" (expected: policy, time_slice_us)",
					   (int)kl, argv[i]);
		}
	}
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *key = !strncmp(argv[i], "time_slice_us", 13) ?
				  "time_slice_us" : "sched_policy";

		ret = mc_parent_set_attr(argv[0], key, eq + 1);
		if (ret)
			return fail(ret);
	}
	return EXIT_OK;
}

static int parent_help_cmd(int argc, char **argv)
{
	return parent_help();
}

static const struct cmd parent_cmds[] = {
	{ "list", parent_list },
	{ "show", parent_show },
	{ "set", parent_set },
	{ "help", parent_help_cmd },
	{ NULL, NULL },
};

static int do_parent(int argc, char **argv)
{
	return dispatch("parent", parent_cmds, argc, argv, parent_help);
}

/* ---- type ---- */

static int type_help(void)
{
	fputs("Usage: mgpuctl type list [--parent PARENT]\n"
	      "       mgpuctl type help\n", stderr);
	return EXIT_OK;
}

static int type_list(int argc, char **argv)
{
	const char *parent = NULL;
	struct mc_parent *ps;
	size_t n, i, k;
	int a, ret;

	for (a = 0; a < argc; a++) {
		ret = opt_value(argc, argv, &a, "--parent", &parent);
		if (ret < 0)
			return usage_error("--parent needs a value");
		if (!ret)
			return usage_error("unknown argument \"%s\" (see: mgpuctl type help)", argv[a]);
	}
	if (parent) {
		ret = mc_parent_get(parent, &ps);
		n = 1;
	} else {
		ret = mc_parents(&ps, &n);
	}
	if (ret)
		return fail(ret);
	pr_begin();
	pr_arr_open("types");
	for (i = 0; i < n; i++)
		for (k = 0; k < ps[i].ntypes; k++)
			print_type(ps[i].name, &ps[i].types[k], "");
	pr_arr_close();
	pr_end();
	mc_parents_free(ps, n);
	return EXIT_OK;
}

static int type_help_cmd(int argc, char **argv)
{
	return type_help();
}

static const struct cmd type_cmds[] = {
	{ "list", type_list },
	{ "help", type_help_cmd },
	{ NULL, NULL },
};

static int do_type(int argc, char **argv)
{
	return dispatch("type", type_cmds, argc, argv, type_help);
}

/* ---- dev ---- */

static int dev_help(void)
{
	fputs("Usage: mgpuctl dev list [--active|--defined] [--parent PARENT]\n"
	      "       mgpuctl dev show UUID\n"
	      "       mgpuctl dev create --parent PARENT --type TYPE [--uuid UUID]\n"
	      "       mgpuctl dev remove UUID\n"
	      "       mgpuctl dev set UUID { weight=N | cap=N } ...\n"
	      "       mgpuctl dev define --parent PARENT --type TYPE [--uuid UUID] [--auto]\n"
	      "                          [weight=N] [cap=N]\n"
	      "       mgpuctl dev define --uuid UUID [--auto]   (of an active instance)\n"
	      "       mgpuctl dev undefine UUID\n"
	      "       mgpuctl dev start UUID\n"
	      "       mgpuctl dev stop UUID\n"
	      "       mgpuctl dev autostart --parent PARENT\n"
	      "       mgpuctl dev qemu UUID\n"
	      "       mgpuctl dev libvirt UUID\n"
	      "       mgpuctl dev help\n", stderr);
	return EXIT_OK;
}

static void print_dev(const struct mc_dev *d, bool detail, const char *key)
{
	char *vram = mc_size_str(d->vram_size);
	size_t i;

	pr_obj_open(key);
	pr_string("uuid", "%s:", d->uuid);
	pr_string("parent", " parent %s", d->parent);
	pr_string("type", " type %s", d->type);
	pr_bool("active", NULL, d->active);
	pr_text(" state %s", d->active ? "active" : "stopped");
	pr_bool("defined", " defined %s", d->defined);
	if (d->start)
		pr_string("start", " start %s", d->start);
	else
		pr_null("start", NULL);
	if (d->active) {
		pr_u64("vram_size", NULL, d->vram_size);
		pr_text("%s vram %s", detail ? "\n " : "", vram);
		pr_u64("queues", " queues %" PRIu64, d->queues);
		pr_u64("weight", " weight %" PRIu64, d->weight);
		pr_u64("cap", " cap %" PRIu64, d->cap);
		if (d->iommu_group)
			pr_string("iommu_group", " group %s", d->iommu_group);
		else
			pr_null("iommu_group", NULL);
	}
	pr_arr_open("users");
	if (d->nusers)
		pr_text("%s users", detail ? "\n " : "");
	for (i = 0; i < d->nusers; i++) {
		pr_obj_open(NULL);
		pr_string("comm", " %s", d->users[i].comm);
		pr_int("pid", "(%lld)", d->users[i].pid);
		pr_obj_close();
	}
	pr_arr_close();
	pr_arr_open("attrs");
	if (d->nattrs)
		pr_text("%s attrs", detail ? "\n " : "");
	for (i = 0; i < d->nattrs; i++) {
		pr_obj_open(NULL);
		pr_text(" %s=%s", d->attrs[i].key, d->attrs[i].value);
		pr_string(d->attrs[i].key, NULL, d->attrs[i].value);
		pr_obj_close();
	}
	pr_arr_close();
	if (detail && d->active) {
		pr_obj_open("stats");
		pr_text("\n ");
		pr_u64("busy_ns", " busy_ns %" PRIu64, d->stats.busy_ns);
		pr_u64("commands", " commands %" PRIu64, d->stats.commands);
		pr_u64("bytes", " bytes %" PRIu64, d->stats.bytes);
		pr_u64("flops", " flops %" PRIu64, d->stats.flops);
		pr_u64("errors", " errors %" PRIu64, d->stats.errors);
		pr_u64("resets", " resets %" PRIu64, d->stats.resets);
		pr_obj_close();
	}
	pr_text("\n");
	pr_obj_close();
	free(vram);
}

static int dev_list(int argc, char **argv)
{
	enum mc_dev_filter f = MC_DEV_ALL;
	const char *parent = NULL;
	struct mc_dev *d;
	size_t n, i;
	int a, ret;

	for (a = 0; a < argc; a++) {
		if (!strcmp(argv[a], "--defined") || !strcmp(argv[a], "-d")) {
			f = MC_DEV_DEFINED;
			continue;
		}
		if (!strcmp(argv[a], "--active")) {
			f = MC_DEV_ACTIVE;
			continue;
		}
		ret = opt_value(argc, argv, &a, "--parent", &parent);
		if (ret < 0)
			return usage_error("--parent needs a value");
		if (!ret)
			return usage_error("unknown argument \"%s\" (see: mgpuctl dev help)", argv[a]);
	}
	/* Definitions can be listed without the module; instances cannot. */
	if (f != MC_DEV_DEFINED) {
		ret = mc_mgpu_present();
		if (ret)
			return fail(ret);
	}
	ret = mc_devs(f, parent, &d, &n);
	if (ret)
		return fail(ret);
	pr_begin();
	pr_arr_open("devices");
	for (i = 0; i < n; i++)
		print_dev(&d[i], false, NULL);
	pr_arr_close();
	pr_end();
	mc_devs_free(d, n);
	return EXIT_OK;
}

static int get_one(int argc, char **argv, const char *cmd, struct mc_dev **d)
{
	int ret;

	if (argc != 1)
		return usage_error("usage: mgpuctl dev %s UUID", cmd);
	ret = check_uuid(argv[0]);
	if (ret)
		return ret;
	ret = mc_dev_get(argv[0], d);
	return ret ? fail(ret) : EXIT_OK;
}

static int dev_show(int argc, char **argv)
{
	struct mc_dev *d;
	int ret = get_one(argc, argv, "show", &d);

	if (ret)
		return ret;
	pr_begin();
	print_dev(d, true, "device");
	pr_end();
	mc_devs_free(d, 1);
	return EXIT_OK;
}

struct create_args {
	const char *parent, *type, *uuid;
	bool auto_start;
	char **attrs;
	int nattrs;
};

static int parse_create(int argc, char **argv, struct create_args *c, bool define)
{
	int a, ret;

	memset(c, 0, sizeof(*c));
	c->attrs = mc_xmalloc((argc + 1) * sizeof(char *));
	for (a = 0; a < argc; a++) {
		ret = opt_value(argc, argv, &a, "--parent", &c->parent);
		if (!ret)
			ret = opt_value(argc, argv, &a, "--type", &c->type);
		if (!ret)
			ret = opt_value(argc, argv, &a, "--uuid", &c->uuid);
		if (ret) {
			if (ret < 0)
				return usage_error("%s needs a value", argv[a]);
			continue;
		}
		if (define && (!strcmp(argv[a], "--auto") || !strcmp(argv[a], "-a"))) {
			c->auto_start = true;
			continue;
		}
		if (define && strchr(argv[a], '=') && argv[a][0] != '-') {
			char *eq = strchr(argv[a], '=');
			size_t kl = eq - argv[a];

			if ((kl == 6 && !strncmp(argv[a], "weight", 6)) ||
			    (kl == 3 && !strncmp(argv[a], "cap", 3))) {
				*eq = '\0';
				ret = check_u64(argv[a], eq + 1);
				*eq = '=';
				if (ret)
					return ret;
			} else if (strncmp(argv[a], "mgpu/", 5)) {
				return usage_error("unknown attribute \"%.*s\" (expected: weight, cap)",
						   (int)kl, argv[a]);
			}
			c->attrs[c->nattrs++] = argv[a];
			continue;
		}
		return usage_error("unknown argument \"%s\" (see: mgpuctl dev help)", argv[a]);
	}
	if (c->uuid) {
		ret = check_uuid(c->uuid);
		if (ret)
			return ret;
	}
	return 0;
}

static int dev_create(int argc, char **argv)
{
	char uuid[MC_UUID_LEN + 1];
	struct create_args c;
	int ret;

	ret = parse_create(argc, argv, &c, false);
	if (!ret && (!c.parent || !c.type))
		ret = usage_error("usage: mgpuctl dev create --parent PARENT --type TYPE [--uuid UUID]");
	if (ret) {
		free(c.attrs);
		return ret;
	}
	free(c.attrs);
	if (c.uuid) {
		snprintf(uuid, sizeof(uuid), "%s", c.uuid);
		mc_uuid_lower(uuid);
	} else {
		ret = mc_uuid_generate(uuid);
		if (ret)
			return fail(ret);
	}
	ret = mc_create(c.parent, c.type, uuid);
	if (ret)
		return fail(ret);
	pr_begin();
	pr_string("uuid", "%s\n", uuid);
	pr_end();
	return EXIT_OK;
}

static int dev_remove(int argc, char **argv)
{
	int ret;

	if (argc != 1)
		return usage_error("usage: mgpuctl dev remove UUID");
	ret = check_uuid(argv[0]);
	if (ret)
		return ret;
	ret = mc_remove(argv[0]);
	return ret ? fail(ret) : EXIT_OK;
}

static int dev_set(int argc, char **argv)
{
	int i, ret;

	if (argc < 2)
		return usage_error("usage: mgpuctl dev set UUID weight=N|cap=N ...");
	ret = check_uuid(argv[0]);
	if (ret)
		return ret;
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		size_t kl = eq ? (size_t)(eq - argv[i]) : 0;

		if (!eq)
			return usage_error("\"%s\": expected KEY=VALUE", argv[i]);
		if (!((kl == 6 && !strncmp(argv[i], "weight", 6)) ||
		      (kl == 3 && !strncmp(argv[i], "cap", 3))))
			return usage_error("unknown instance attribute \"%.*s\" (expected: weight, cap)",
					   (int)kl, argv[i]);
		argv[i][kl] = '\0';
		ret = check_u64(argv[i], eq + 1);
		argv[i][kl] = '=';
		if (ret)
			return ret;
	}
	for (i = 1; i < argc; i++) {
		char *key = strndup(argv[i], strchr(argv[i], '=') - argv[i]);

		ret = mc_dev_set_attr(argv[0], key, strchr(argv[i], '=') + 1);
		free(key);
		if (ret)
			return fail(ret);
	}
	return EXIT_OK;
}

static int dev_define(int argc, char **argv)
{
	char uuid[MC_UUID_LEN + 1];
	struct create_args c;
	struct mc_def def = { 0 }, old;
	struct mc_parent *p = NULL;
	int i, ret;

	ret = parse_create(argc, argv, &c, true);
	if (ret)
		goto out;
	if (c.uuid) {
		snprintf(uuid, sizeof(uuid), "%s", c.uuid);
		mc_uuid_lower(uuid);
	}
	if (!c.parent && !c.type && c.uuid) {
		/* Define an active instance as it is. */
		struct mc_dev *d;

		ret = mc_dev_get(uuid, &d);
		if (ret) {
			ret = fail(ret);
			goto out;
		}
		if (!d->active) {
			mc_devs_free(d, 1);
			ret = usage_error("%s is not active: give --parent and --type", uuid);
			goto out;
		}
		def.parent = mc_xstrdup(d->parent);
		def.type = mc_xstrdup(d->type);
		mc_devs_free(d, 1);
	} else if (!c.parent || !c.type) {
		ret = usage_error("usage: mgpuctl dev define --parent PARENT --type TYPE [--uuid UUID] [--auto] [ATTR=VALUE...]");
		goto out;
	} else {
		def.parent = mc_xstrdup(c.parent);
		def.type = mc_xstrdup(c.type);
		if (!mc_type_is_mgpu(c.type)) {
			ret = usage_error("%s is not an mgpu type (expected mgpu-...; see: mgpuctl type list)",
					  c.type);
			goto out;
		}
		/* When the parent is present, the type must be one of its own. */
		if (!mc_parent_get(c.parent, &p) && !mc_parent_type(p, c.type)) {
			mc_set_error("no type %s on %s (see: mgpuctl type list --parent %s)",
				     c.type, c.parent, c.parent);
			ret = fail(-ENOENT);
			goto out;
		}
	}
	if (!c.uuid) {
		ret = mc_uuid_generate(uuid);
		if (ret) {
			ret = fail(ret);
			goto out;
		}
	}
	if (!mc_def_find(uuid, &old)) {
		mc_set_error("%s is already defined on %s (fix: mgpuctl dev undefine %s first)",
			     uuid, old.parent, uuid);
		mc_def_clear(&old);
		ret = fail(-EEXIST);
		goto out;
	}
	snprintf(def.uuid, sizeof(def.uuid), "%s", uuid);
	def.start = mc_xstrdup(c.auto_start ? "auto" : "manual");
	def.attrs = mc_xmalloc((c.nattrs + 1) * sizeof(*def.attrs));
	for (i = 0; i < c.nattrs; i++) {
		char *eq = strchr(c.attrs[i], '=');
		char *key = strndup(c.attrs[i], eq - c.attrs[i]);

		/* mdevctl writes keys relative to the instance directory */
		def.attrs[i].key = strchr(key, '/') ? mc_xstrdup(key) :
				   mc_xasprintf("mgpu/%s", key);
		def.attrs[i].value = mc_xstrdup(eq + 1);
		free(key);
	}
	def.nattrs = c.nattrs;
	ret = mc_def_write(&def);
	if (ret) {
		ret = fail(ret);
		goto out;
	}
	pr_begin();
	pr_string("uuid", "%s\n", uuid);
	pr_end();
out:
	mc_parents_free(p, p ? 1 : 0);
	mc_def_clear(&def);
	free(c.attrs);
	return ret;
}

static int dev_undefine(int argc, char **argv)
{
	int ret;

	if (argc != 1)
		return usage_error("usage: mgpuctl dev undefine UUID");
	ret = check_uuid(argv[0]);
	if (ret)
		return ret;
	ret = mc_def_remove(argv[0]);
	return ret ? fail(ret) : EXIT_OK;
}

static int dev_start(int argc, char **argv)
{
	int ret;

	if (argc != 1)
		return usage_error("usage: mgpuctl dev start UUID");
	ret = check_uuid(argv[0]);
	if (ret)
		return ret;
	ret = mc_start(argv[0]);
	return ret ? fail(ret) : EXIT_OK;
}

static int dev_stop(int argc, char **argv)
{
	if (argc != 1)
		return usage_error("usage: mgpuctl dev stop UUID");
	return dev_remove(argc, argv);
}

static int dev_autostart(int argc, char **argv)
{
	const char *parent = NULL;
	int a, ret, started, failed;

	for (a = 0; a < argc; a++) {
		ret = opt_value(argc, argv, &a, "--parent", &parent);
		if (ret < 0)
			return usage_error("--parent needs a value");
		if (!ret)
			return usage_error("unknown argument \"%s\" (see: mgpuctl dev help)", argv[a]);
	}
	if (!parent)
		return usage_error("usage: mgpuctl dev autostart --parent PARENT");
	openlog("mgpuctl", LOG_PID, LOG_DAEMON);
	use_syslog = true;
	ret = mc_autostart(parent, &started, &failed);
	if (ret == -ENODEV)
		syslog(LOG_ERR, "%s", mc_last_error());
	use_syslog = false;
	closelog();
	pr_begin();
	pr_string("parent", "%s:", parent);
	pr_int("started", " started %lld", started);
	pr_int("failed", " failed %lld\n", failed);
	pr_end();
	if (ret == -ENODEV) {
		fprintf(stderr, "mgpuctl: %s\n", mc_last_error());
		return EXIT_NOTFOUND;
	}
	return ret ? EXIT_FAIL : EXIT_OK;
}

static int dev_qemu(int argc, char **argv)
{
	struct mc_dev *d;
	char *arg;
	int ret = get_one(argc, argv, "qemu", &d);

	if (ret)
		return ret;
	if (!d->active)
		fprintf(stderr, "mgpuctl: warning: %s is defined but not started (fix: mgpuctl dev start %s)\n",
			d->uuid, d->uuid);
	arg = mc_xasprintf("vfio-pci,sysfsdev=/sys/bus/mdev/devices/%s", d->uuid);
	pr_begin();
	pr_arr_open("qemu");
	pr_string(NULL, "-device ", "-device");
	pr_string(NULL, "%s\n", arg);
	pr_arr_close();
	pr_end();
	free(arg);
	mc_devs_free(d, 1);
	return EXIT_OK;
}

static int dev_libvirt(int argc, char **argv)
{
	struct mc_dev *d;
	char *xml;
	int ret = get_one(argc, argv, "libvirt", &d);

	if (ret)
		return ret;
	if (!d->active && !d->defined)
		fprintf(stderr, "mgpuctl: warning: %s is not defined: libvirt starts only defined or active instances (fix: mgpuctl dev define --uuid %s)\n",
			d->uuid, d->uuid);
	xml = mc_xasprintf("<hostdev mode='subsystem' type='mdev' model='vfio-pci'>\n"
			   "  <source>\n"
			   "    <address uuid='%s'/>\n"
			   "  </source>\n"
			   "</hostdev>", d->uuid);
	pr_begin();
	pr_string("libvirt", "%s\n", xml);
	pr_end();
	free(xml);
	mc_devs_free(d, 1);
	return EXIT_OK;
}

static int dev_help_cmd(int argc, char **argv)
{
	return dev_help();
}

static const struct cmd dev_cmds[] = {
	{ "list", dev_list },
	{ "show", dev_show },
	{ "create", dev_create },
	{ "remove", dev_remove },
	{ "set", dev_set },
	{ "define", dev_define },
	{ "undefine", dev_undefine },
	{ "start", dev_start },
	{ "stop", dev_stop },
	{ "autostart", dev_autostart },
	{ "qemu", dev_qemu },
	{ "libvirt", dev_libvirt },
	{ "help", dev_help_cmd },
	{ NULL, NULL },
};

static int do_dev(int argc, char **argv)
{
	return dispatch("dev", dev_cmds, argc, argv, dev_help);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fputs("Usage: mgpuctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
	      "where  OBJECT := { parent | type | dev | top | guest | help }\n"
	      "       OPTIONS := { -j[son] | -p[retty] | -V[ersion] | -h[elp] }\n"
	      "Run \"mgpuctl OBJECT help\" for an object's commands; see mgpuctl(8).\n", f);
}

static int do_help(int argc, char **argv)
{
	usage(stdout);
	return EXIT_OK;
}

static const struct cmd objects[] = {
	{ "parent", do_parent },
	{ "type", do_type },
	{ "dev", do_dev },
	{ "top", do_top },
	{ "guest", do_guest },
	{ "help", do_help },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct mc_callbacks cb = {
		.log = log_line,
		.oom = out_of_memory,
	};
	bool json = false, pretty = false;
	const struct cmd *o;
	int i;

	mc_set_callbacks(&cb);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))  {
			i++;
			break;
		}
		if (!strcmp(a, "-j") || !strcmp(a, "-json") || !strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(a, "-p") || !strcmp(a, "-pretty") || !strcmp(a, "--pretty")) {
			pretty = true;
			continue;
		}
		if (!strcmp(a, "-jp") || !strcmp(a, "-pj")) {
			json = pretty = true;
			continue;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "-Version") || !strcmp(a, "--version")) {
			printf("mgpuctl %s\n", MGPUCTL_VERSION);
			return EXIT_OK;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "-help") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		}
		usage(stderr);
		return usage_error("unknown option \"%s\"", a);
	}
	pr_init(json, pretty);
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (o = objects; o->name; o++)
		if (!strcmp(o->name, argv[i]))
			return o->fn(argc - i - 1, argv + i + 1);
	usage(stderr);
	return usage_error("unknown object \"%s\"", argv[i]);
}
