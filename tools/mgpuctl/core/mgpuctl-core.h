/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgpuctl's core (tools/mgpuctl/core, libmgpuctl-core.a): the model behind
 * the mgpuctl command.  Not libmgpu (tools/lib/mgpu), which drives a vGPU:
 * this reads and changes the host's mdev configuration.
 *
 * - paths: every /sys, /etc, /proc and /dev path goes through mc_path(),
 *   which prefixes $MGPUCTL_ROOT (tests point it at a fake tree);
 * - sysfs: checked reads and writes of single values;
 * - model: mgpu parents, their mdev types, instances (active or defined);
 * - mdevctl: definitions in /etc/mdevctl.d/<parent>/<uuid>, mdevctl's
 *   own format, so mdevctl, libvirt and mgpuctl share them;
 *
 * Conventions: functions that can fail return 0 on success and a
 * negative errno on failure, after mc_set_error() has recorded a one-line
 * message that names the cause and, where there is one, the fix.  The
 * core never prints, logs or exits: what is not an error of the call
 * (a warning, a line for the system log) goes to the front end's log
 * callback, and an allocation failure to its out-of-memory callback.
 */
#ifndef _LIBMGPUCTL_H
#define _LIBMGPUCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define MC_UUID_LEN	36

/* ---- the front end's callbacks ---- */
enum mc_log_level { MC_LOG_ERR, MC_LOG_WARNING, MC_LOG_INFO };
struct mc_callbacks {
	/* a warning or a log line; NULL: dropped */
	void (*log)(enum mc_log_level level, const char *msg);
	/* malloc failed; must not return (NULL: abort()) */
	void (*oom)(void);
};
void mc_set_callbacks(const struct mc_callbacks *cb);
void mc_log(enum mc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- errors and allocation ---- */
void mc_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *mc_last_error(void);
void mc_oom_fail(void) __attribute__((noreturn));
void *mc_xmalloc(size_t size);
void *mc_xrealloc(void *p, size_t size);
char *mc_xstrdup(const char *s);
char *mc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- paths ---- */
const char *mc_root(void);
bool mc_root_overridden(void);
char *mc_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- values ---- */
int mc_parse_u64(const char *s, uint64_t *out);
bool mc_uuid_valid(const char *s);
int mc_uuid_check(const char *s);
void mc_uuid_lower(char *s);
int mc_uuid_generate(char out[MC_UUID_LEN + 1]);
char *mc_size_str(uint64_t bytes);

/* ---- sysfs ---- */
int mc_read_str(const char *path, char **out);
int mc_read_u64(const char *path, uint64_t *out);
int mc_write_str(const char *path, const char *val);
char *mc_readlink_base(const char *path);
bool mc_exists(const char *path);

/* ---- model ---- */
struct mc_type {
	char *id;		/* directory name: mgpu-1_4 */
	char *name;		/* "mgpu 1/4" */
	char *description;
	char *device_api;
	uint64_t available;
	uint64_t max_instances;	/* from description; 0 if unknown */
	uint64_t vram_size;	/* bytes, from description */
	uint64_t queues;	/* from description */
};

struct mc_parent {
	char *name;		/* 6d67:00:00.0: /sys/class/mdev_bus/<name> */
	char *path;		/* sysfs directory (root included) */
	char *backend;
	char *sched_policy;
	char *last_error;
	uint64_t vram_size;
	uint64_t queues;
	uint64_t engines;	/* engine threads; 0: not reported */
	uint64_t time_slice_us;
	uint64_t utilization;
	uint64_t engine_busy_ns;
	char *pci_slot;		/* PCI parents only */
	char *pci_name;		/* "vendor device" from libpci */
	struct mc_type *types;
	size_t ntypes;
	size_t instances;	/* active instances */
};

struct mc_attr {
	char *key;
	char *value;
};

struct mc_user {
	int pid;
	char *comm;
};

struct mc_stats {
	uint64_t busy_ns, commands, bytes, flops, errors, resets;
	uint64_t reg_traps, irqs;
};

struct mc_dev {
	char uuid[MC_UUID_LEN + 1];
	char *parent;
	char *type;
	char *path;		/* sysfs path if active */
	bool active;
	bool defined;
	char *start;		/* "auto"/"manual" if defined */
	struct mc_attr *attrs;	/* definition's attributes, in order */
	size_t nattrs;
	uint64_t vram_size, queues, weight, cap;
	struct mc_stats stats;
	char *iommu_group;
	struct mc_user *users;
	size_t nusers;
};

int mc_mgpu_present(void);
int mc_parents(const char *only, struct mc_parent **out, size_t *n);
int mc_parent_get(const char *name, struct mc_parent **out);
void mc_parents_free(struct mc_parent *p, size_t n);
const struct mc_type *mc_parent_type(const struct mc_parent *p, const char *id);
bool mc_type_is_mgpu(const char *type);

enum mc_dev_filter { MC_DEV_ALL, MC_DEV_ACTIVE, MC_DEV_DEFINED };
int mc_devs(enum mc_dev_filter filter, const char *parent,
	    struct mc_dev **out, size_t *n);
int mc_dev_get(const char *uuid, struct mc_dev **out);
void mc_devs_free(struct mc_dev *d, size_t n);
int mc_dev_read_stats(const char *path, struct mc_stats *st);

/* ---- settable attributes (settings.c) ---- */
enum mc_scope { MC_SCOPE_PARENT, MC_SCOPE_DEV };
struct mc_setting {
	const char *name;	/* as given: weight */
	const char *alias;	/* also accepted, or NULL */
	const char *sysfs;	/* written to, relative to the object: mgpu/weight */
	int (*parse)(const struct mc_setting *s, const char *val);
	enum mc_scope scope;
};
const struct mc_setting *mc_setting_find(enum mc_scope scope, const char *key,
					 size_t len);
int mc_setting_parse(enum mc_scope scope, const char *arg, char **key,
		     const char **val);

/* ---- operations ---- */
int mc_create(const char *parent, const char *type, const char *uuid);
int mc_remove(const char *uuid);
int mc_dev_set_attr(const char *uuid, const char *key, const char *value);
int mc_parent_add(const char *params, char **name);
int mc_parent_remove(const char *name);
int mc_parent_set_attr(const char *parent, const char *key, const char *value);
int mc_start(const char *uuid);
int mc_autostart(const char *parent, int *started, int *failed);
char *mc_attr_path(const char *devpath, const char *key);

/* ---- mdevctl definitions ---- */
struct mc_def {
	char uuid[MC_UUID_LEN + 1];
	char *parent;
	char *type;
	char *start;
	struct mc_attr *attrs;
	size_t nattrs;
};
char *mc_def_dir(void);
int mc_def_read(const char *parent, const char *uuid, struct mc_def *def);
int mc_def_find(const char *uuid, struct mc_def *def);
int mc_def_write(const struct mc_def *def);
int mc_def_remove(const char *uuid);
int mc_defs(const char *parent, struct mc_def **out, size_t *n);
void mc_def_clear(struct mc_def *def);
void mc_defs_free(struct mc_def *d, size_t n);

/* ---- JSON (json-c) ---- */
int mc_def_from_json(struct json_object *j, const char *what, struct mc_def *def);
struct json_object *mc_def_to_json(const struct mc_def *def);
char *mc_json_text(struct json_object *j, bool pretty);
struct json_object *mc_json_parse(const char *text, const char *what);
void mc_def_add_attr(struct mc_def *def, const char *key, const char *value);

#endif
