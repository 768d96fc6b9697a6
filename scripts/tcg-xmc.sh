#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Does the QEMU that runs the test VM keep stale translations of code
# another vCPU rewrites?  Boots the test VM (newest kernel, no nested
# guests) with tools/testing/tcg-xmc/xmc as its only test program: one
# thread rewriting a function's immediate, the other calling it after
# seeing the new value; 30 s with another function kept translated on
# the page and 30 s without, each with the threads on the VM's two
# vCPUs ("apart") and with both on one vCPU ("together").  Prints xmc's
# counts; any stale call is a stale translation
# (Documentation/nested.rst, "stale translations").
#
# usage: scripts/tcg-xmc.sh      (about 2.5 min of VM time: 4 x 30 s)
#   MGPU_QEMU, MGPU_ACCEL, MGPU_CPU: the outer QEMU, -accel and -cpu, as
#   for every test VM (scripts/run-qemu.sh).  Output in build/tcg-xmc
#   (MGPU_BUILD to move it).
set -eu
. "$(dirname "$0")/lib.sh"

S=$MGPU_ROOT/scripts
export MGPU_BUILD=$MGPU_BUILD/tcg-xmc
ver=$("$S/kernels.sh" --list | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1)
MGPU_KERNELS=$ver "$S/kernels.sh" --fetch >/dev/null
"$S/build-module.sh" "$ver"
tests=$MGPU_BUILD/xmc-tests
rm -rf "$tests"
mkdir -p "$tests"
${CC:-gcc} -Wall -Wextra -Werror -O2 -static -pthread \
	-o "$tests/xmc" "$MGPU_ROOT/tools/testing/tcg-xmc/xmc.c"
echo xmc >"$tests/list"
echo timeout=200 >"$tests/settings"
MGPU_TESTS_DIR=$tests MGPU_EXTRA_TESTS=/nonexistent "$S/mkinitramfs.sh" "$ver"
info "tcg-xmc: outer QEMU $("$(outer_qemu)" --version | sed -n '1s/.*version //p'), -accel ${MGPU_ACCEL:-tcg}"
MGPU_QEMU_TIMEOUT=500 "$S/run-qemu.sh" "$ver" test
res=$MGPU_BUILD/$ver/result.log
tr -d '\r' <"$res" | grep '# xmc' | sed 's/^ *//'
echo "tcg-xmc: $(cat "$MGPU_BUILD/$ver/qemu-status" 2>/dev/null)"
