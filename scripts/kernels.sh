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
# linux-image-6.12-amd64, and the newest = what linux-image-amd64 points
# at in sid (7.2 today).  MGPU_KERNELS="ver ..." overrides the list.
# Sid's kernels are resolved and downloaded through scripts/sid.sh (a
# private apt state: the host's sources stay bookworm), and their
# headers live in the sid root (scripts/sid.sh --root), not on the host.
set -eu
. "$(dirname "$0")/lib.sh"

METAPACKAGES="linux-image-amd64 linux-image-6.12-amd64 sid:linux-image-amd64"
SID=$MGPU_ROOT/scripts/sid.sh

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
		if [ "$meta" = sid:linux-image-amd64 ]; then
			vers="$vers $("$SID" --resolve)" || die "cannot resolve sid's linux-image-amd64"
			continue
		fi
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
		if kernel_from_sid "$1"; then
			"$SID" --has "$p" && echo "$p" && return
		elif apt-cache show "$p" >/dev/null 2>&1; then
			echo "$p"
			return
		fi
	done
	die "no linux-image package for $1 (fix: apt-get update, or correct MGPU_KERNELS)"
}

# pkg_version VER PKG: the version of PKG (of kernel VER) to download
pkg_version() {
	if kernel_from_sid "$1"; then
		"$SID" --version "$2"
	else
		apt-cache show "$2" | sed -n 's/^Version: //p' | head -n1
	fi
}

# part_pkgs VER PKG: the packages that carry VER's files.  Since 7.x
# (sid) linux-image-VER is empty and depends on linux-binary-VER
# (vmlinuz) and linux-modules-VER; before, it carries them itself.
part_pkgs() {
	if kernel_from_sid "$1"; then
		deps=$("$SID" --depends "$2")
	else
		deps=$(apt-cache depends "$2" 2>/dev/null |
			sed -n 's/^ *|\{0,1\}Depends: \([^ <>]*\)$/\1/p')
	fi
	parts=$(echo "$deps" | grep -Ex "linux-(binary|modules)-$(echo "$1" | sed 's/[.+]/\\&/g')" || true)
	echo "$2" $parts
}

# download VER PKG VERSION DIR: PKG=VERSION's .deb into DIR
download() {
	deb=$(ls /var/cache/apt/archives/"${2}_$(echo "$3" | sed 's/:/%3a/')"_*.deb 2>/dev/null | head -n1 || true)
	if [ -n "$deb" ]; then
		cp "$deb" "$4/"
	elif kernel_from_sid "$1"; then
		"$SID" --download "$2=$3" "$4"
	else
		(cd "$4" && apt-get download -q -o APT::Sandbox::User=root "$2=$3" >&2) ||
			die "apt-get download $2=$3 failed (fix: apt-get update and check network access)"
	fi
}

fetch_image() {
	ver=$1
	dir=$MGPU_KERNELS_DIR/$ver
	pkg=$(image_pkg "$ver")
	pkgs=$(part_pkgs "$ver" "$pkg")
	stamp=
	for p in $pkgs; do
		stamp="$stamp$p $(pkg_version "$ver" "$p") "
	done
	stamp=${stamp% }
	if [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ] &&
	   [ -f "$dir/vmlinuz" ] && [ -f "$dir/root/lib/modules/$ver/modules.dep" ] &&
	   [ -n "$(find "$dir/root/lib/modules/$ver/kernel/drivers/vfio" -name 'vfio.ko*' 2>/dev/null)" ]; then
		return 0
	fi
	info "fetching $stamp"
	rm -rf "$dir"
	mkdir -p "$dir"
	for p in $pkgs; do
		download "$ver" "$p" "$(pkg_version "$ver" "$p")" "$dir"
	done
	for deb in "$dir"/*.deb; do
		dpkg-deb -x "$deb" "$dir/root" || die "cannot extract $deb"
	done
	rm -f "$dir"/*.deb
	# Merged /usr: modules may live in /usr/lib/modules only.
	if [ ! -d "$dir/root/lib/modules/$ver" ] && [ -d "$dir/root/usr/lib/modules/$ver" ]; then
		mkdir -p "$dir/root/lib/modules"
		ln -s "../../usr/lib/modules/$ver" "$dir/root/lib/modules/$ver"
	fi
	# /boot/vmlinuz-VER; since 7.x (sid) /usr/lib/modules/VER/vmlinuz.
	vmlinuz=$(ls "$dir"/root/boot/vmlinuz-* "$dir/root/usr/lib/modules/$ver/vmlinuz" 2>/dev/null | head -n1)
	[ -n "$vmlinuz" ] || die "$pkgs contain no /boot/vmlinuz-* or /usr/lib/modules/$ver/vmlinuz"
	ln -sf "${vmlinuz#"$dir/"}" "$dir/vmlinuz"
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
	for v in $vers; do
		if kernel_from_sid "$v"; then
			"$SID" --root "$v" >/dev/null
		else
			pkgs="$pkgs linux-headers-$v"
		fi
	done
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
