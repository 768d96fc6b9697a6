// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl parent: the mgpu parents (GPUs) and their scheduler settings.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgpuctl.h"

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
	/* engine threads; a module before engines=N has no attribute */
	if (p->engines)
		pr_u64("engines", " engines %" PRIu64, p->engines);
	else
		pr_null("engines", NULL);
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
	pr_u64("engine_busy_ns", detail ? "\n  engine_busy_ns %" PRIu64 : NULL,
	       p->engine_busy_ns);
	pr_string("last_error", detail ? "\n  last_error \"%s\"" : NULL,
		  p->last_error);
	pr_text("\n");
	pr_arr_open("types");
	for (i = 0; (detail || pr_json()) && i < p->ntypes; i++)
		print_type(NULL, &p->types[i], "  ");
	pr_arr_close();
	pr_obj_close();
	free(vram);
}

/* Every parent, or the one named; detail: show's layout. */
static int parents_print(const char *only, bool detail)
{
	struct mc_parent *ps;
	size_t n, i;
	int ret;

	ret = mc_parents(only, &ps, &n);
	if (ret)
		return fail(ret);
	pr_begin();
	pr_arr_open("parents");
	for (i = 0; i < n; i++)
		print_parent(&ps[i], detail);
	pr_arr_close();
	pr_end();
	mc_parents_free(ps, n);
	return EXIT_OK;
}

static int parent_list(int argc, char **argv)
{
	if (argc)
		return usage_error("parent list takes no arguments (see: mgpuctl parent help)");
	return parents_print(NULL, false);
}

static int parent_show(int argc, char **argv)
{
	if (argc > 1)
		return usage_error("usage: mgpuctl parent show [PARENT]");
	return parents_print(argc ? argv[0] : NULL, true);
}

static int parent_set(int argc, char **argv)
{
	struct mc_attr *a;
	size_t n, i;
	int ret;

	if (argc < 2)
		return usage_error("usage: mgpuctl parent set PARENT policy=POLICY|time_slice_us=N ...");
	/* Check everything before changing anything. */
	ret = parse_settings(MC_SCOPE_PARENT, argc - 1, argv + 1, &a, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++)
		ret = mc_parent_set_attr(argv[0], a[i].key, a[i].value);
	attrs_free(a, n);
	return ret ? fail(ret) : EXIT_OK;
}

/*
 * A software GPU: "parent add [vram=SIZE] [queues=N] [engines=N]" prints
 * its name.
 */
static int parent_add(int argc, char **argv)
{
	char *params = mc_xstrdup(""), *t, *name;
	int i, ret;

	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "vram=", 5) && strncmp(argv[i], "queues=", 7) &&
		    strncmp(argv[i], "engines=", 8)) {
			free(params);
			return usage_error("usage: mgpuctl parent add [vram=SIZE[K|M|G]] [queues=N] [engines=N]");
		}
		t = mc_xasprintf("%s%s%s", params, i ? " " : "", argv[i]);
		free(params);
		params = t;
	}
	ret = mc_parent_add(params, &name);
	free(params);
	if (ret)
		return fail(ret);
	pr_begin();
	pr_string("parent", "%s\n", name);
	pr_end();
	free(name);
	return EXIT_OK;
}

static int parent_remove(int argc, char **argv)
{
	int ret;

	if (argc != 1)
		return usage_error("usage: mgpuctl parent remove PARENT");
	ret = mc_parent_remove(argv[0]);
	return ret ? fail(ret) : EXIT_OK;
}

static const struct cmd parent_cmds[] = {
	{ "list", parent_list },
	{ "show", parent_show },
	{ "set", parent_set },
	{ "add", parent_add },
	{ "remove", parent_remove },
	{ NULL, NULL },
};

const struct object parent_object = {
	.name = "parent",
	.cmds = parent_cmds,
	.dflt = parent_list,
	.usage = "Usage: mgpuctl parent list\n"
		 "       mgpuctl parent show [PARENT]\n"
		 "       mgpuctl parent set PARENT { policy=best_effort|equal_share|fixed_share |\n"
		 "                                  time_slice_us=N } ...\n"
		 "       mgpuctl parent add [vram=SIZE[K|M|G]] [queues=N] [engines=N]\n"
		 "                                                          (a software GPU)\n"
		 "       mgpuctl parent remove PARENT                       (a software GPU)\n"
		 "       mgpuctl parent help\n",
};
