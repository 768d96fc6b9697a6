#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build mgpu.ko for one kernel, out of tree, in a private copy of the
# sources (kbuild writes its objects next to them), with W=1, and fail on
# any warning.  --sparse runs sparse (C=1) instead and fails on any
# sparse warning.
#
# usage: scripts/build-module.sh VER [--sparse]
#   output: build/VER/mod/mgpu.ko and build/VER/mod/build.log
#           (--sparse: build/VER/sparse/build.log)
set -eu
. "$(dirname "$0")/lib.sh"

ver=${1:?usage: build-module.sh VER [--sparse]}
mode=${2:-}
src=${MGPU_SRC:-$MGPU_ROOT}

# Sid's kernels (scripts/sid.sh) are built inside the sid root: their
# headers need sid's gcc and glibc.  The build directory is bind-mounted
# there at the same path.
kbuild_env "$ver"
[ -f "$src/Kbuild" ] || die "$src/Kbuild is missing: nothing to build (fix: add the module sources)"

case $mode in
"") out=$MGPU_BUILD/$ver/mod; flags="W=1"; what="W=1 build" ;;
--sparse)
	[ -n "$run" ] || command -v sparse >/dev/null || die "sparse is not installed (fix: apt-get install sparse)"
	out=$MGPU_BUILD/$ver/sparse; flags="W=1 C=1"; what="sparse (C=1)" ;;
*) die "usage: build-module.sh VER [--sparse]" ;;
esac

# A fresh copy every time: a no-op rebuild would hide the warnings.
rm -rf "$out"
mkdir -p "$out"
# Sources only: objects of an in-place "make" must not leak in.
items=
for f in Kbuild kernel include; do
	[ -e "$src/$f" ] && items="$items $f"
done
# shellcheck disable=SC2086
tar -C "$src" -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude='*.a' \
	--exclude='modules.order' --exclude='compat-probed.h' $items |
	tar -C "$out" -xf -

log=$out/build.log
info "$ver: $what"
# shellcheck disable=SC2086
if ! $run make -C "$kdir" M="$out" $flags -j"$(nproc)" modules >"$log" 2>&1; then
	cat "$log" >&2
	die "$ver: $what failed (log: $log)"
fi
# Compiler and sparse diagnostics say "warning:"; modpost says "WARNING:".
if grep -Ei 'warning:|error:' "$log" >&2; then
	die "$ver: $what has warnings, see above (log: $log; fix: the warnings, zero are allowed)"
fi
if [ -z "$mode" ]; then
	ls "$out"/*.ko >/dev/null 2>&1 || die "$ver: no .ko produced (log: $log)"
fi
