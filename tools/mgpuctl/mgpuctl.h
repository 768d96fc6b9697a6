/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mgpuctl's front end: the command line (mgpuctl.c), one file per object
 * (parent.c, type.c, dev.c and define.c, top.c, guest.c), the print layer
 * (print.c).  The model is the core's (core/mgpuctl-core.h).
 */
#ifndef _MGPUCTL_H
#define _MGPUCTL_H

#include "core/mgpuctl-core.h"

/* Exit status (documented in mgpuctl(8)) */
#define EXIT_OK		0	/* success */
#define EXIT_FAIL	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_NOTFOUND	3	/* no such parent, type, instance or definition */
#define EXIT_NOMODULE	4	/* mgpu is not loaded */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/*
 * An object: its commands, the one run without a command word (or when
 * the first argument is an option), and its usage text.  "help" is
 * every object's.
 */
struct object {
	const char *name;
	const struct cmd *cmds;
	int (*dflt)(int argc, char **argv);
	const char *usage;
};

extern const struct object parent_object, type_object, dev_object,
	top_object, guest_object;

int fail(int err);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int opt_value(int argc, char **argv, int *i, const char *name, const char **val);
int opt_value2(int argc, char **argv, int *i, const char *name,
	       const char *shortname, const char *what, const char **val);
int opt_parent_only(int argc, char **argv, const char *object, const char **parent);
int arg_uuid(const char *arg, char uuid[MC_UUID_LEN + 1]);
int one_uuid(int argc, char **argv, const char *cmd, char uuid[MC_UUID_LEN + 1]);
int uuid_cmd(int argc, char **argv, const char *cmd, int (*op)(const char *uuid));
int parse_settings(enum mc_scope scope, int argc, char **argv,
		   struct mc_attr **out, size_t *n);
void attrs_free(struct mc_attr *a, size_t n);
void log_to_syslog(bool on);

/* shared printers */
void print_type(const char *parent, const struct mc_type *t, const char *indent);
int print_uuid(const char *uuid);

/* dev.c: the options of create, define and modify */
#define DEV_ARGS_DEFINITION	1	/* --auto, --manual, --jsonfile, KEY=VALUE... */
#define DEV_ARGS_UUID_WORD	2	/* the UUID may be a bare word */
struct dev_args {
	const char *parent, *type, *uuid, *jsonfile;
	char uuidbuf[MC_UUID_LEN + 1];	/* uuid, checked, lower case */
	int start;			/* -1: not given, 0: manual, 1: auto */
	const char **attrs;		/* KEY=VALUE */
	int nattrs;
	const char **delattrs;		/* --delattr KEY */
	int ndel;
};
int parse_dev_args(int argc, char **argv, unsigned int flags, struct dev_args *c);
void dev_args_free(struct dev_args *c);

/* the dev commands of define.c */
int dev_define(int argc, char **argv);
int dev_undefine(int argc, char **argv);
int dev_modify(int argc, char **argv);

/* ---- print layer (print.c): text, or JSON with -j ---- */
void pr_init(bool json, bool pretty);
bool pr_json(void);
void pr_begin(void);
void pr_end(void);
void pr_obj_open(const char *key);
void pr_obj_close(void);
void pr_arr_open(const char *key);
void pr_arr_close(void);
void pr_string(const char *key, const char *fmt, const char *val);
void pr_u64(const char *key, const char *fmt, uint64_t val);
void pr_int(const char *key, const char *fmt, long long val);
void pr_bool(const char *key, const char *fmt, bool val);
void pr_double(const char *key, const char *fmt, double val);
void pr_null(const char *key, const char *fmt);
void pr_json_value(const char *key, struct json_object *val);
void pr_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
