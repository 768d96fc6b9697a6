// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl type: the mdev types of the parents (mdevctl types).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgpuctl.h"

void print_type(const char *parent, const struct mc_type *t, const char *indent)
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

static int type_list(int argc, char **argv)
{
	const char *parent = NULL;
	struct mc_parent *ps;
	size_t n, i, k;
	int ret;

	ret = opt_parent_only(argc, argv, "type", &parent);
	if (ret)
		return ret;
	ret = mc_parents(parent, &ps, &n);
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

static const struct cmd type_cmds[] = {
	{ "list", type_list },
	{ NULL, NULL },
};

const struct object type_object = {
	.name = "type",
	.cmds = type_cmds,
	.dflt = type_list,
	.usage = "Usage: mgpuctl type list [--parent PARENT]\n"
		 "       mgpuctl type help\n",
};
