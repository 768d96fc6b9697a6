// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl dev: vGPU instances, active (sysfs) or defined (mdevctl's
 * /etc/mdevctl.d): list, show, create, remove, set, start, stop,
 * autostart, and the QEMU and libvirt snippets.  The definitions'
 * commands (define, undefine, modify) are in define.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mgpuctl.h"

static void print_users(const struct mc_dev *d, bool detail)
{
	size_t i;

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
}

static void print_stats(const struct mc_stats *st)
{
	pr_obj_open("stats");
	pr_text("\n ");
	pr_u64("busy_ns", " busy_ns %" PRIu64, st->busy_ns);
	pr_u64("commands", " commands %" PRIu64, st->commands);
	pr_u64("bytes", " bytes %" PRIu64, st->bytes);
	pr_u64("flops", " flops %" PRIu64, st->flops);
	pr_u64("errors", " errors %" PRIu64, st->errors);
	pr_u64("resets", " resets %" PRIu64, st->resets);
	pr_u64("reg_traps", " reg_traps %" PRIu64, st->reg_traps);
	pr_u64("irqs", " irqs %" PRIu64, st->irqs);
	pr_obj_close();
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
	print_users(d, detail);
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
	if (detail && d->active)
		print_stats(&d->stats);
	pr_text("\n");
	pr_obj_close();
	free(vram);
}

/*
 * mdevctl's list --dumpjson: [{PARENT: [{UUID: DEFINITION}, ...]}, ...],
 * the definition of an active instance without one being its type.
 */
static void dump_json(const struct mc_dev *d, size_t n)
{
	struct json_object *top = json_object_new_array(), *list = NULL;
	size_t i;
	char *text;

	for (i = 0; i < n; i++) {
		struct mc_def def = {
			.type = d[i].type,
			.start = d[i].start ? d[i].start : "manual",
			.attrs = d[i].attrs,
			.nattrs = d[i].nattrs,
		};
		struct json_object *one = json_object_new_object();

		if (!i || strcmp(d[i].parent, d[i - 1].parent)) {
			struct json_object *p = json_object_new_object();

			list = json_object_new_array();
			json_object_object_add(p, d[i].parent, list);
			json_object_array_add(top, p);
		}
		json_object_object_add(one, d[i].uuid, mc_def_to_json(&def));
		json_object_array_add(list, one);
	}
	text = mc_json_text(top, true);
	puts(text);
	free(text);
	json_object_put(top);
}

static int dev_list(int argc, char **argv)
{
	enum mc_dev_filter f = MC_DEV_ALL;
	const char *parent = NULL;
	bool dump = false;
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
		if (!strcmp(argv[a], "--dumpjson")) {
			dump = true;
			continue;
		}
		ret = opt_value2(argc, argv, &a, "--parent", "-p", "a value", &parent);
		if (ret < 0)
			return EXIT_USAGE;
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
	if (dump) {
		dump_json(d, n);
	} else {
		pr_begin();
		pr_arr_open("devices");
		for (i = 0; i < n; i++)
			print_dev(&d[i], false, NULL);
		pr_arr_close();
		pr_end();
	}
	mc_devs_free(d, n);
	return EXIT_OK;
}

static int get_one(int argc, char **argv, const char *cmd, struct mc_dev **d)
{
	char uuid[MC_UUID_LEN + 1];
	int ret = one_uuid(argc, argv, cmd, uuid);

	if (ret)
		return ret;
	ret = mc_dev_get(uuid, d);
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

int print_uuid(const char *uuid)
{
	pr_begin();
	pr_string("uuid", "%s\n", uuid);
	pr_end();
	return EXIT_OK;
}

/*
 * The options of create, define and modify (mdevctl's spellings too):
 * -p/--parent, -t/--type, -u/--uuid; with DEV_ARGS_DEFINITION also
 * -a/--auto, --manual, --jsonfile FILE, --delattr KEY and KEY=VALUE.
 */
int parse_dev_args(int argc, char **argv, unsigned int flags, struct dev_args *c)
{
	bool def = flags & DEV_ARGS_DEFINITION;
	const char *v;
	int a, ret;

	memset(c, 0, sizeof(*c));
	c->start = -1;
	c->attrs = mc_xmalloc((argc + 1) * sizeof(char *));
	c->delattrs = mc_xmalloc((argc + 1) * sizeof(char *));
	for (a = 0; a < argc; a++) {
		ret = opt_value2(argc, argv, &a, "--parent", "-p", "a value", &c->parent);
		if (!ret)
			ret = opt_value2(argc, argv, &a, "--type", "-t", "a value", &c->type);
		if (!ret)
			ret = opt_value2(argc, argv, &a, "--uuid", "-u", "a value", &c->uuid);
		if (!ret && def)
			ret = opt_value2(argc, argv, &a, "--jsonfile", NULL, "a file", &c->jsonfile);
		if (!ret && def) {
			ret = opt_value2(argc, argv, &a, "--delattr", NULL, "a key", &v);
			if (ret > 0)
				c->delattrs[c->ndel++] = v;
		}
		if (ret < 0)
			return EXIT_USAGE;
		if (ret)
			continue;
		if (def && (!strcmp(argv[a], "--auto") || !strcmp(argv[a], "-a")))
			c->start = 1;
		else if (def && !strcmp(argv[a], "--manual"))
			c->start = 0;
		else if (def && argv[a][0] != '-' && strchr(argv[a], '='))
			c->attrs[c->nattrs++] = argv[a];
		else if ((flags & DEV_ARGS_UUID_WORD) && !c->uuid)
			c->uuid = argv[a];	/* modify UUID */
		else
			return usage_error("unknown argument \"%s\" (see: mgpuctl dev help)", argv[a]);
	}
	if (c->uuid)
		return arg_uuid(c->uuid, c->uuidbuf);
	return 0;
}

void dev_args_free(struct dev_args *c)
{
	free(c->attrs);
	free(c->delattrs);
}

static int dev_create(int argc, char **argv)
{
	struct dev_args c;
	char uuid[MC_UUID_LEN + 1];
	int ret;

	ret = parse_dev_args(argc, argv, 0, &c);
	dev_args_free(&c);
	if (!ret && (!c.parent || !c.type))
		ret = usage_error("usage: mgpuctl dev create --parent PARENT --type TYPE [--uuid UUID]");
	if (ret)
		return ret;
	if (c.uuid)
		memcpy(uuid, c.uuidbuf, sizeof(uuid));
	else
		ret = mc_uuid_generate(uuid);
	if (!ret)
		ret = mc_create(c.parent, c.type, uuid);
	return ret ? fail(ret) : print_uuid(uuid);
}

static int dev_remove(int argc, char **argv)
{
	return uuid_cmd(argc, argv, "remove", mc_remove);
}

static int dev_set(int argc, char **argv)
{
	char uuid[MC_UUID_LEN + 1];
	struct mc_attr *a;
	size_t n, i;
	int ret;

	if (argc < 2)
		return usage_error("usage: mgpuctl dev set UUID weight=N|cap=N ...");
	ret = arg_uuid(argv[0], uuid);
	if (!ret)	/* Check everything before changing anything. */
		ret = parse_settings(MC_SCOPE_DEV, argc - 1, argv + 1, &a, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++)
		ret = mc_dev_set_attr(uuid, a[i].key, a[i].value);
	attrs_free(a, n);
	return ret ? fail(ret) : EXIT_OK;
}

static int dev_start(int argc, char **argv)
{
	return uuid_cmd(argc, argv, "start", mc_start);
}

static int dev_stop(int argc, char **argv)
{
	return uuid_cmd(argc, argv, "stop", mc_remove);
}

static int dev_autostart(int argc, char **argv)
{
	const char *parent = NULL;
	int ret, started, failed;

	ret = opt_parent_only(argc, argv, "dev", &parent);
	if (ret)
		return ret;
	if (!parent)
		return usage_error("usage: mgpuctl dev autostart --parent PARENT");
	log_to_syslog(true);
	ret = mc_autostart(parent, &started, &failed);
	if (ret == -ENODEV)
		mc_log(MC_LOG_ERR, "%s", mc_last_error());
	log_to_syslog(false);
	pr_begin();
	pr_string("parent", "%s:", parent);
	pr_int("started", " started %lld", started);
	pr_int("failed", " failed %lld\n", failed);
	pr_end();
	if (ret == -ENODEV)
		return EXIT_NOTFOUND;
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
		mc_log(MC_LOG_WARNING, "%s is defined but not started (fix: mgpuctl dev start %s)",
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
		mc_log(MC_LOG_WARNING, "%s is not defined: libvirt starts only defined or active instances (fix: mgpuctl dev define --uuid %s)",
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

static const struct cmd dev_cmds[] = {
	{ "list", dev_list },
	{ "show", dev_show },
	{ "create", dev_create },
	{ "remove", dev_remove },
	{ "set", dev_set },
	{ "define", dev_define },
	{ "undefine", dev_undefine },
	{ "modify", dev_modify },
	{ "start", dev_start },
	{ "stop", dev_stop },
	{ "autostart", dev_autostart },
	{ "qemu", dev_qemu },
	{ "libvirt", dev_libvirt },
	{ NULL, NULL },
};

const struct object dev_object = {
	.name = "dev",
	.cmds = dev_cmds,
	.dflt = dev_list,
	.usage =
	"Usage: mgpuctl dev list [--active|--defined] [--parent PARENT] [--dumpjson]\n"
	"       mgpuctl dev show UUID\n"
	"       mgpuctl dev create --parent PARENT --type TYPE [--uuid UUID]\n"
	"       mgpuctl dev remove UUID\n"
	"       mgpuctl dev set UUID { weight=N | cap=N } ...\n"
	"       mgpuctl dev define --parent PARENT --type TYPE [--uuid UUID] [--auto]\n"
	"                          [weight=N] [cap=N]\n"
	"       mgpuctl dev define --parent PARENT --jsonfile FILE [--uuid UUID]\n"
	"       mgpuctl dev define --uuid UUID [--auto]   (of an active instance)\n"
	"       mgpuctl dev undefine UUID\n"
	"       mgpuctl dev modify UUID [--type TYPE] [--auto|--manual] [weight=N] [cap=N]\n"
	"                          [--delattr KEY]...\n"
	"       mgpuctl dev modify UUID --jsonfile FILE\n"
	"       mgpuctl dev start UUID\n"
	"       mgpuctl dev stop UUID\n"
	"       mgpuctl dev autostart --parent PARENT\n"
	"       mgpuctl dev qemu UUID\n"
	"       mgpuctl dev libvirt UUID\n"
	"       mgpuctl dev help\n"
	"mdevctl's spellings work too: -p PARENT, -t TYPE, -u UUID, -a, -d.\n",
};
