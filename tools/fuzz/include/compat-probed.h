/* SPDX-License-Identifier: GPL-2.0 */
/* tools/fuzz: the newest API everywhere (kernel/compat/probe.sh's output). */
#define HAVE_VM_FLAGS_SET 1
