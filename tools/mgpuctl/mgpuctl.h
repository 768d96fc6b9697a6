/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MGPUCTL_H
#define _MGPUCTL_H

#include "lib/libmgpuctl.h"

/* Exit status (documented in mgpuctl(8)) */
#define EXIT_OK		0	/* success */
#define EXIT_FAIL	1	/* the operation failed */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_NOTFOUND	3	/* no such parent, type, instance or definition */
#define EXIT_NOMODULE	4	/* mgpu is not loaded */

int fail(int err);
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int opt_value(int argc, char **argv, int *i, const char *name, const char **val);

int do_top(int argc, char **argv);
int do_guest(int argc, char **argv);

#endif
