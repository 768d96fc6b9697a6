#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the kernel's mtty sample (samples/vfio-mdev/mtty.c) out of tree
# for one kernel, from Debian's linux-source package of its series: the
# baseline mgpu's create/remove costs are measured against (make bench).
# Debian does not ship the samples as modules.
#
# usage: scripts/build-mtty.sh VER
#   output: build/VER/mtty/mtty.ko (and build.log)
set -eu
. "$(dirname "$0")/lib.sh"

ver=${1:?usage: build-mtty.sh VER}
series=$(echo "$ver" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
[ -n "$series" ] || die "cannot tell the kernel series of '$ver'"
tarball=/usr/src/linux-source-$series.tar.xz
[ -f "$tarball" ] || ensure_pkgs "linux-source-$series"
[ -f "$tarball" ] || die "no $tarball (fix: apt-get install linux-source-$series)"
kdir=/lib/modules/$ver/build
[ -f "$kdir/Makefile" ] || die "no kernel headers for $ver (fix: apt-get install linux-headers-$ver)"

out=$MGPU_BUILD/$ver/mtty
rm -rf "$out"
mkdir -p "$out"
tar -xOf "$tarball" "linux-source-$series/samples/vfio-mdev/mtty.c" >"$out/mtty.c" ||
	die "no samples/vfio-mdev/mtty.c in $tarball"
echo "obj-m := mtty.o" >"$out/Kbuild"
if ! make -C "$kdir" M="$out" modules >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	die "$ver: building the mtty sample failed (log: $out/build.log)"
fi
info "$ver: mtty sample built ($out/mtty.ko)"
