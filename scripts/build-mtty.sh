#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the kernel's mtty sample (samples/vfio-mdev/mtty.c) out of tree
# for one kernel, from Debian's linux-source package of its series (or,
# when the archive has none, as for 7.2, the newest series it has): the
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
if [ ! -f "$tarball" ] && apt-cache show "linux-source-$series" >/dev/null 2>&1; then
	ensure_pkgs "linux-source-$series"
fi
if [ ! -f "$tarball" ]; then
	# No linux-source of this series in the archive (Debian 14's 7.2):
	# the newest series there is, if its sample builds against VER.
	ensure_pkgs linux-source-6.12
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1)
	[ -f "$tarball" ] || die "no linux-source tarball for the mtty sample (fix: apt-get install linux-source-6.12)"
	info "$ver: no linux-source-$series; the mtty sample of $(basename "$tarball" .tar.xz)"
fi
src=$(basename "$tarball" .tar.xz)

# As scripts/build-module.sh: sid's kernels build inside the sid root.
kbuild_env "$ver"

out=$MGPU_BUILD/$ver/mtty
rm -rf "$out"
mkdir -p "$out"
tar -xOf "$tarball" "$src/samples/vfio-mdev/mtty.c" >"$out/mtty.c" ||
	die "no samples/vfio-mdev/mtty.c in $tarball"
echo "obj-m := mtty.o" >"$out/Kbuild"
# shellcheck disable=SC2086
if ! $run make -C "$kdir" M="$out" modules >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	die "$ver: building the mtty sample failed (log: $out/build.log)"
fi
info "$ver: mtty sample built ($out/mtty.ko)"
