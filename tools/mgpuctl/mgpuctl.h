/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MGPUCTL_H
#define _MGPUCTL_H

#include "core/mgpuctl-core.h"

/* Exit status (documented in mgpuctl(8)) */
#define EXIT_OK		0	/* success */
#define EXIT_FAIL	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_NOTFOUND	3	/* no such parent, type, instance or definition */
#define EXIT_NOMODULE	4	/* mgpu is not loaded */

int fail(int err);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int opt_value(int argc, char **argv, int *i, const char *name, const char **val);

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

int do_top(int argc, char **argv);
int do_guest(int argc, char **argv);

#endif
