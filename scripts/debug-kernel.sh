#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build (once per machine) the mgpu debug kernel and print its release.
#
# usage: scripts/debug-kernel.sh [--key]
#   Debian's linux-source-6.12 (apt-get install'ed if missing), "make
#   tinyconfig" + scripts/debug-kernel.config: KASAN, UBSAN, lockdep,
#   DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS, DEBUG_LIST, kmemleak, failslab and
#   fail_page_alloc, and iommufd with VFIO_DEVICE_CDEV (off in Debian's
#   kernels).  Everything lives in $MGPU_CACHE/debug-kernel/KEY, KEY a
#   hash of the fragment, the recipe version below and the linux-source
#   and gcc versions, and is built under a lock: only the first run on a machine
#   pays (see Documentation/debug-kernel.rst for the time).  The result looks
#   like an extracted Debian kernel to the rest of the scripts:
#   $MGPU_CACHE/kernels/RELEASE -> KEY, with vmlinuz, root/lib/modules/
#   RELEASE (modules_install, depmod'ed) and build (the O= tree, the
#   KDIR for mgpu.ko).
#   --key prints KEY instead.
set -eu
. "$(dirname "$0")/lib.sh"

frag=$MGPU_ROOT/scripts/debug-kernel.config
pkg=linux-source-6.12

ensure_pkgs $pkg bc bison flex libelf-dev libssl-dev cpio xz-utils kmod gcc make
tarball=$(ls /usr/src/$pkg.tar.* 2>/dev/null | head -n1)
[ -n "$tarball" ] || die "no /usr/src/$pkg.tar.* (fix: apt-get install --reinstall $pkg)"
srcver=$(dpkg-query -W -f='${Version}' $pkg)
# Bump RECIPE when a change to this script changes what it builds.
RECIPE=1
key=$({
	echo "recipe $RECIPE"
	echo "$pkg $srcver"
	gcc --version | head -n1
	cat "$frag"
} | sha256sum | cut -c1-16)
if [ "${1:-}" = --key ]; then
	echo "$key"
	exit 0
fi

top=$MGPU_CACHE/debug-kernel
dir=$top/$key
if [ ! -f "$dir/.done" ]; then
	cache_lock debug-kernel
fi
if [ ! -f "$dir/.done" ]; then
	info "debug kernel $key: building from $pkg $srcver (once per machine; tens of minutes)"
	start=$(date +%s)
	rm -rf "$dir"
	mkdir -p "$dir"
	log=$dir/build.log
	info "debug kernel: extracting $tarball"
	tar -C "$dir" -xf "$tarball"
	src=$(ls -d "$dir"/linux-source-* | head -n1)
	obj=$dir/build
	mkdir -p "$obj"
	export KBUILD_BUILD_USER=mgpu KBUILD_BUILD_HOST=mgpu
	export KBUILD_BUILD_TIMESTAMP="$srcver"
	set -- make -C "$src" O="$obj" ARCH=x86_64 -j"$(nproc)"
	{
		"$@" tinyconfig &&
			"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" &&
			"$@" olddefconfig
	} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "debug kernel: configuration failed (log: $log)"; }
	# Every line of the fragment must have stuck.
	bad=$(sed -n -e 's/^\(CONFIG_[A-Z0-9_]*=.*\)/\1/p' -e 's/^# \(CONFIG_[A-Z0-9_]*\) is not set/\1 off/p' "$frag" |
		while read -r want; do
			case $want in
			*" off") if grep -q "^${want% off}=" "$obj/.config"; then echo "$want"; fi ;;
			*) if ! grep -qx "$want" "$obj/.config"; then echo "$want"; fi ;;
			esac
		done)
	[ -z "$bad" ] || die "debug kernel: options that did not stick (missing dependency?): $(echo $bad)"
	info "debug kernel: compiling (log: $log)"
	"$@" bzImage modules >>"$log" 2>&1 || { tail -n 40 "$log" >&2; die "debug kernel: build failed (log: $log)"; }
	rel=$(cat "$obj/include/config/kernel.release")
	"$@" INSTALL_MOD_PATH="$dir/root" modules_install >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "debug kernel: modules_install failed (log: $log)"; }
	rm -f "$dir/root/lib/modules/$rel/build" "$dir/root/lib/modules/$rel/source"
	depmod -b "$dir/root" "$rel" || die "debug kernel: depmod failed"
	cp "$obj/arch/x86/boot/bzImage" "$dir/vmlinuz"
	# Objects are not needed for M= builds: keep the tree small.
	find "$obj" -name '*.o' ! -path '*/scripts/*' ! -path '*/tools/*' -delete
	rm -rf "$src/Documentation"
	echo "$rel" >"$dir/release"
	echo $(($(date +%s) - start)) >"$dir/build-seconds"
	touch "$dir/.done"
	info "debug kernel $rel built in $(cat "$dir/build-seconds") s"
fi
rel=$(cat "$dir/release")
# The configuration, where Debian's images have theirs (mkinitramfs.sh
# reads it).
if [ ! -f "$dir/root/boot/config-$rel" ]; then
	mkdir -p "$dir/root/boot"
	cp "$dir/build/.config" "$dir/root/boot/config-$rel"
fi
mkdir -p "$MGPU_KERNELS_DIR"
ln -sfn "$dir" "$MGPU_KERNELS_DIR/$rel.tmp"
mv -T "$MGPU_KERNELS_DIR/$rel.tmp" "$MGPU_KERNELS_DIR/$rel"
echo "$rel"
