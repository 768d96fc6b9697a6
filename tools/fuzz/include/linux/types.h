/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel types, on top of the UAPI ones. */
#include_next <linux/types.h>
#include "../fuzz-kernel.h"
