/* SPDX-License-Identifier: GPL-2.0 */
/* What model.c shares with devs.c inside the core. */
#ifndef _MGPUCTL_CORE_INTERNAL_H
#define _MGPUCTL_CORE_INTERNAL_H

#include "mgpuctl-core.h"

/* A list of sysfs names and their (real) paths. */
struct mc_names {
	char **name;
	char **path;
	size_t n;
};
void mc_names_add(struct mc_names *l, const char *name, const char *path);
void mc_names_free(struct mc_names *l);
int mc_udev_list(const char *subsystem, struct mc_names *l);
void mc_dir_list(const char *dir, struct mc_names *l);
int mc_opt_u64(const char *dir, const char *attr, uint64_t *v);

/* full: with the definitions and the users (not needed to count) */
int mc_devs_scan(enum mc_dev_filter filter, const char *parent,
		 bool full, struct mc_dev **out, size_t *n);

#endif
