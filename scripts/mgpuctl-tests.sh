#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build mgpuctl (-Wall -Wextra, zero warnings), run the host tests of the
# packaged mgpuctl (scripts/pkgroot.sh) against a fake sysfs tree, and
# stage it and its guest tests for the initramfs.
#
# usage: scripts/mgpuctl-tests.sh
#   output: build/host/result.log (KTAP + MGPU-RESULT-END, read by
#           scripts/check.sh as "host"), build/host/prefail on a build
#           failure, build/mgpuctl/ (objects, mgpuctl, mgpuctl.8),
#           build/mgpuctl/guest/ (mgpuctl, mgpu-load, mgpuctl.sh, list)
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/mgpuctl
host=$MGPU_BUILD/host
rm -rf "$host" "$out/guest"
mkdir -p "$host" "$out"
log=$out/build.log
info "mgpuctl: build and host tests"
if ! make -C "$MGPU_ROOT/tools/mgpuctl" OUTPUT="$out/" all "$out/mgpu-load" >"$log" 2>&1 ||
   grep -Ei 'warning:|error:' "$log" | grep -v 'statically linked applications' >&2; then
	cat "$log" >&2
	echo "noboot: mgpuctl build failed or warned (log: $log)" >"$host/prefail"
	echo MGPU-RESULT-END >"$host/result.log"
	exit 1
fi
# The tests run the packaged mgpuctl (build/pkgroot, scripts/pkgroot.sh),
# the build above only checks for warnings.
pkg=$MGPU_BUILD/pkgroot/usr/sbin/mgpuctl
if [ ! -x "$pkg" ]; then
	echo "noboot: no packaged mgpuctl in $MGPU_BUILD/pkgroot (make deb failed?)" >"$host/prefail"
	echo MGPU-RESULT-END >"$host/result.log"
	exit 1
fi
MGPUCTL=$pkg "$MGPU_ROOT/tools/mgpuctl/tests/run.sh" >"$host/result.log" 2>&1 || true
echo MGPU-RESULT-END >>"$host/result.log"

mkdir -p "$out/guest"
cp "$pkg" "$out/mgpu-load" "$out/guest/"
cp "$MGPU_ROOT/tools/mgpuctl/tests/guest.sh" "$out/guest/mgpuctl.sh"
chmod 755 "$out/guest/mgpuctl.sh"
echo mgpuctl.sh >"$out/guest/list"
