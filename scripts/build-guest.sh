#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the end-to-end programs of tools/guest (mgpu-guest, mgpu-lstm;
# static) into build/guest, with the libmgpu.a of the libmgpu-dev package
# when make check unpacked it (scripts/pkgroot.sh).
# usage: scripts/build-guest.sh
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/guest
log=$MGPU_BUILD/guest.log
mkdir -p "$out"
# Linked with the packaged libmgpu when make check unpacked it; always
# rebuilt, since the library may have changed under the same name.
libmgpu_a=$(packaged_libmgpu_a)
rm -f "$out/mgpu-guest" "$out/mgpu-lstm"
if ! make -C "$MGPU_ROOT/tools/guest" OUTPUT="$out/" LIBMGPU_A="$libmgpu_a" >"$log" 2>&1; then
	cat "$log" >&2
	die "tools/guest build failed (log: $log)"
fi
if grep -Ei 'warning:' "$log" >&2; then
	die "tools/guest build has warnings, see above (log: $log)"
fi
