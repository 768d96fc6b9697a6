/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Common declarations of the fuzz targets: the kernel's internal header
 * as the targets see it, and the oracle's check.
 */
#ifndef _MGPU_FUZZ_H
#define _MGPU_FUZZ_H

#include <stdio.h>

#include "mgpu_drv.h"

/* A broken invariant: say which, with the values, and crash. */
#define FUZZ_CHECK(cond, fmt, ...)					\
do {									\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s: " fmt "\n", \
			__FILE__, __LINE__, #cond, ##__VA_ARGS__);	\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif /* _MGPU_FUZZ_H */
