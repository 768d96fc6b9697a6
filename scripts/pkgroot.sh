#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unpack the packages the test guests use (mgpuctl, libmgpu1, libmgpu-dev
# from build/deb, scripts/build-deb.sh) into build/pkgroot, the files at
# the paths dpkg installs them to, and build the programs that run in the
# guest against the packaged library: mgpu-smoke (tools/lib/mgpu's
# example) compiled with libmgpu-dev's pkg-config file and linked to the
# packaged libmgpu.so.1, not to the build tree's library.
#
# usage: scripts/pkgroot.sh
#   output: build/pkgroot/ (the unpacked packages), build/pkgroot-guest/
#           (mgpu-smoke, libmgpu.sh and "list" for scripts/mkinitramfs.sh)
set -eu
. "$(dirname "$0")/lib.sh"

pr=$MGPU_BUILD/pkgroot
guest=$MGPU_BUILD/pkgroot-guest
rm -rf "$pr" "$guest"
mkdir -p "$pr" "$guest"
for p in mgpuctl libmgpu1 libmgpu-dev; do
	deb=$(ls "$MGPU_BUILD"/deb/"${p}"_*.deb 2>/dev/null | tail -n1 || true)
	[ -n "$deb" ] || die "no build/deb/${p}_*.deb (scripts/build-deb.sh failed?)"
	dpkg-deb -x "$deb" "$pr"
done

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
export PKG_CONFIG_SYSROOT_DIR="$pr"
export PKG_CONFIG_LIBDIR="$pr/usr/lib/$multiarch/pkgconfig"
cflags=$(pkg-config --cflags libmgpu) || die "pkg-config libmgpu failed on the packaged libmgpu.pc"
libs=$(pkg-config --libs libmgpu)
log=$guest/build.log
# smoke checks the engine's results with libmgpu_test, the selftests'
# support library (not packaged): built from the tree, on the packaged
# library.
testlib=$MGPU_BUILD/pkgroot-testlib
make -s -C "$MGPU_ROOT/selftests/mgpu/lib" OUTPUT="$testlib/" >"$log" 2>&1 ||
	{ cat "$log" >&2; die "libmgpu_test does not build (log: $log)"; }
# shellcheck disable=SC2086
if ! cc -O2 -Wall -Wextra $cflags -I"$MGPU_ROOT/selftests/mgpu/lib" \
	-o "$guest/mgpu-smoke" "$MGPU_ROOT/tools/lib/mgpu/examples/smoke.c" \
	"$testlib/libmgpu_test.a" $libs -lm >>"$log" 2>&1 ||
   grep -q 'warning:' "$log"; then
	cat "$log" >&2
	die "mgpu-smoke does not build against the packaged libmgpu-dev (log: $log)"
fi
cp "$MGPU_ROOT/scripts/guest-libmgpu.sh" "$guest/libmgpu.sh"
chmod 755 "$guest/libmgpu.sh"
echo libmgpu.sh >"$guest/list"
