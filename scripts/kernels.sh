#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Resolve the kernel test matrix from apt and prepare each kernel.
#
# usage: scripts/kernels.sh --list     print the versions, space-separated
#        scripts/kernels.sh --headers  also install linux-headers-<ver>
#        scripts/kernels.sh --fetch    also download and extract the images
#                                      into $MGPU_CACHE/kernels/<ver>/root
#                                      (default /var/cache/mgpu)
#
# The matrix is what Debian's metapackages point at today, never a
# hard-coded ABI: 6.1 = linux-image-amd64's dependency, 6.12 = that of
# linux-image-6.12-amd64.  MGPU_KERNELS="ver ..." overrides the list.
set -eu
. "$(dirname "$0")/lib.sh"

METAPACKAGES="linux-image-amd64 linux-image-6.12-amd64"

# image_pkg_of META: the linux-image-<ver> package META depends on
image_pkg_of() {
	apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n1
}

# ver_of PKG: the kernel release a linux-image package carries
ver_of() {
	echo "$1" | sed -e 's/^linux-image-//' -e 's/-unsigned$//' -e 's/-signed$//'
}

resolve() {
	if [ -n "${MGPU_KERNELS:-}" ]; then
		echo "$MGPU_KERNELS"
		return
	fi
	vers=
	for meta in $METAPACKAGES; do
		pkg=$(image_pkg_of "$meta")
		if [ -z "$pkg" ]; then
			apt_update_once
			pkg=$(image_pkg_of "$meta")
		fi
		[ -n "$pkg" ] || die "cannot resolve $meta to a linux-image package (fix: apt-get update; check that the Debian archive with bookworm-updates/security is in the apt sources)"
		vers="$vers $(ver_of "$pkg")"
	done
	echo $vers
}

# image_pkg VER: the package to download for VER (signed if available)
image_pkg() {
	for p in "linux-image-$1" "linux-image-$1-unsigned"; do
		if apt-cache show "$p" >/dev/null 2>&1; then
			echo "$p"
			return
		fi
	done
	die "no linux-image package for $1 (fix: apt-get update, or correct MGPU_KERNELS)"
}

fetch_image() {
	ver=$1
	dir=$MGPU_KERNELS_DIR/$ver
	pkg=$(image_pkg "$ver")
	pver=$(apt-cache show "$pkg" | sed -n 's/^Version: //p' | head -n1)
	stamp="$pkg $pver"
	if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] &&
	   [ -f "$dir/vmlinuz" ] && [ -f "$dir/root/lib/modules/$ver/modules.dep" ] &&
	   [ -n "$(find "$dir/root/lib/modules/$ver/kernel/drivers/vfio" -name 'vfio.ko*' 2>/dev/null)" ]; then
		return 0
	fi
	info "fetching $pkg $pver"
	rm -rf "$dir"
	mkdir -p "$dir"
	deb=$(ls /var/cache/apt/archives/"${pkg}_$(echo "$pver" | sed 's/:/%3a/')"_*.deb 2>/dev/null | head -n1 || true)
	if [ -n "$deb" ]; then
		cp "$deb" "$dir/"
	else
		(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$pkg=$pver" >&2) ||
			die "apt-get download $pkg=$pver failed (fix: apt-get update and check network access)"
	fi
	dpkg-deb -x "$dir"/*.deb "$dir/root" || die "cannot extract the $pkg package"
	rm -f "$dir"/*.deb
	vmlinuz=$(ls "$dir"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -n "$vmlinuz" ] || die "$pkg contains no /boot/vmlinuz-*"
	ln -sf "root/boot/$(basename "$vmlinuz")" "$dir/vmlinuz"
	[ -d "$dir/root/lib/modules/$ver" ] || die "$pkg has no /lib/modules/$ver"
	# The image package leaves modules.dep to its postinst: build it here.
	depmod -b "$dir/root" "$ver" || die "depmod failed for $ver"
	echo "$stamp" >"$dir/.stamp"
}

mode=${1:---list}
vers=$(resolve)
[ -n "$vers" ] || die "empty kernel list"
case $mode in
--list) ;;
--headers | --fetch)
	pkgs=
	for v in $vers; do pkgs="$pkgs linux-headers-$v"; done
	# shellcheck disable=SC2086
	ensure_pkgs $pkgs
	if [ "$mode" = --fetch ]; then
		cache_lock kernels
		for v in $vers; do fetch_image "$v"; done
	fi
	;;
*) die "usage: $0 [--list|--headers|--fetch]" ;;
esac
echo "$vers"
