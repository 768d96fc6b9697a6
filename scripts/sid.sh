#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Debian sid for the newest kernel of the matrix.  Sid's kernel headers
# are built with a newer gcc and glibc than bookworm has (their objtool
# and modpost need them), so everything that compiles against them runs
# in a sid root made with debootstrap.  The host's apt sources are never
# touched: sid is resolved through a private apt state in the cache.
#
# usage: scripts/sid.sh --resolve       print the kernel release sid's
#                                       linux-image-amd64 points at
#        scripts/sid.sh --download PKG DIR  apt-get download PKG (from sid)
#                                       into DIR
#        scripts/sid.sh --version PKG   PKG's version in sid
#        scripts/sid.sh --depends PKG   PKG's dependencies in sid
#        scripts/sid.sh --has PKG       true when sid has PKG
#        scripts/sid.sh --root VER      make sure the sid root with
#                                       linux-headers-VER exists; print it
#        scripts/sid.sh --run VER CMD...  run CMD in that root, with
#                                       MGPU_ROOT and MGPU_BUILD bind-mounted
#                                       at the same paths
#
# Cache ($MGPU_CACHE/sid): apt/ (private apt lists, refreshed at most
# every MGPU_SID_REFRESH seconds, default 6 h) and root-<key>/, where the
# key is a hash of the sid versions of the packages installed into the
# root: when sid moves any of them, the next run builds a new root (under
# the "sid" cache lock) and deletes the old ones.
set -eu
. "$(dirname "$0")/lib.sh"

SID_MIRROR=${MGPU_SID_MIRROR:-http://deb.debian.org/debian}
SID_DIR=$MGPU_CACHE/sid
SID_APT=$SID_DIR/apt
# What the builds in the root need besides the headers.
SID_PKGS="make gcc libc6-dev sparse dkms kmod xz-utils zstd bc"

sid_apt_opts() {
	echo "-o Dir::Etc::SourceList=$SID_APT/sources.list" \
		"-o Dir::Etc::SourceParts=$SID_APT/sources.list.d" \
		"-o Dir::State::Lists=$SID_APT/lists" \
		"-o Dir::State::status=$SID_APT/status" \
		"-o Dir::Cache=$SID_APT/cache" \
		"-o Debug::NoLocking=1 -o APT::Sandbox::User=root" \
		"-o Acquire::Languages=none -o Acquire::Check-Valid-Until=false"
}

# sid_apt_update: refresh the private sid lists when older than the
# refresh interval (or missing)
sid_apt_update() {
	mkdir -p "$SID_APT/lists/partial" "$SID_APT/cache/archives/partial" \
		"$SID_APT/sources.list.d"
	echo "deb $SID_MIRROR sid main" >"$SID_APT/sources.list"
	touch "$SID_APT/status"
	stamp=$SID_APT/updated
	now=$(date +%s)
	if [ -f "$stamp" ] &&
	   [ $((now - $(cat "$stamp"))) -lt "${MGPU_SID_REFRESH:-21600}" ]; then
		return 0
	fi
	info "sid: apt-get update (private lists in $SID_APT)"
	# shellcheck disable=SC2046
	if apt-get $(sid_apt_opts) update -qq >"$SID_APT/update.log" 2>&1; then
		echo "$now" >"$stamp"
	elif ls "$SID_APT"/lists/*_Packages >/dev/null 2>&1; then
		info "sid: apt-get update failed, using the lists from $(date -d @"$(cat "$stamp" 2>/dev/null || echo 0)")"
	else
		cat "$SID_APT/update.log" >&2
		die "sid: apt-get update failed (fix: network access to $SID_MIRROR)"
	fi
}

sid_cache() {
	# shellcheck disable=SC2046
	apt-cache $(sid_apt_opts) "$@"
}

# sid_version PKG: PKG's version in sid
sid_version() {
	sid_cache show "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

resolve() {
	sid_apt_update
	pkg=$(sid_cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[^ <>]*\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || die "sid: cannot resolve linux-image-amd64 (see $SID_APT/update.log)"
	echo "$pkg" | sed -e 's/^linux-image-//' -e 's/-unsigned$//'
}

# root_key VER: hash of the sid versions of what goes into the root
root_key() {
	for p in "linux-headers-$1" $SID_PKGS; do
		v=$(sid_version "$p")
		[ -n "$v" ] || die "sid: no package $p (fix: check MGPU_KERNELS)"
		echo "$p=$v"
	done | sha256sum | cut -c1-16
}

# in_root ROOT CMD...: run CMD chrooted into ROOT in a private mount
# namespace (the bind mounts vanish with it, even on failure)
in_root() {
	r=$1
	shift
	binds=
	for d in "$MGPU_ROOT" "$MGPU_BUILD"; do
		mkdir -p "$d"
		# The mount point is made after /tmp's tmpfs is mounted: a
		# tree under /tmp (a CI clone) needs it there.
		binds="$binds mkdir -p '$r$d'; mount --bind '$d' '$r$d';"
	done
	unshare -m --propagation private sh -ec "
		mount -t proc proc '$r/proc'
		mount --rbind /dev '$r/dev'
		mount -t tmpfs tmpfs '$r/tmp'
		$binds
		exec chroot '$r' \"\$@\"" sh env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

make_root() {
	ver=$1
	sid_apt_update
	key=$(root_key "$ver")
	root=$SID_DIR/root-$key
	if [ -f "$root/.done" ]; then
		echo "$root"
		return 0
	fi
	cache_lock sid
	if [ -f "$root/.done" ]; then
		echo "$root"
		return 0
	fi
	ensure_pkgs debootstrap
	info "sid: building the root for $ver in $root (debootstrap, a few minutes)"
	log=$SID_DIR/root-$key.log
	# A root whose debootstrap finished is kept when a later step failed.
	if [ ! -f "$root/.debootstrapped" ]; then
		rm -rf "$root"
		if ! debootstrap --variant=minbase sid "$root" "$SID_MIRROR" >"$log" 2>&1; then
			tail -n 30 "$log" >&2
			die "sid: debootstrap failed (log: $log)"
		fi
		touch "$root/.debootstrapped"
	fi
	# Sid's Release files are only valid for a week; a machine whose
	# clock runs ahead of the mirror must still be able to use them.
	echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99mgpu-no-valid-until"
	# Only what the builds need, no documentation.
	cat >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc" <<-EOF
		path-exclude /usr/share/doc/*
		path-exclude /usr/share/man/*
		path-exclude /usr/share/locale/*
	EOF
	# shellcheck disable=SC2086
	if ! in_root "$root" sh -ec "apt-get update -qq
		apt-get install -y -q --no-install-recommends linux-headers-$ver $SID_PKGS" >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "sid: installing linux-headers-$ver into the root failed (log: $log)"
	fi
	in_root "$root" apt-get clean >>"$log" 2>&1 || true
	touch "$root/.done"
	# Roots of older sid states are no longer used.
	for old in "$SID_DIR"/root-*; do
		[ "$old" = "$root" ] || [ ! -d "$old" ] || rm -rf "$old" "$old.log"
	done
	echo "$root"
}

case ${1:-} in
--resolve)
	resolve
	;;
--download)
	pkg=${2:?usage: sid.sh --download PKG DIR}
	dir=${3:?usage: sid.sh --download PKG DIR}
	sid_apt_update
	# shellcheck disable=SC2046
	(cd "$dir" && apt-get $(sid_apt_opts) download -q "$pkg" >&2) ||
		die "sid: apt-get download $pkg failed"
	;;
--depends)
	# --depends PKG: PKG's direct dependencies (package names) in sid
	sid_apt_update
	sid_cache depends "${2:?usage: sid.sh --depends PKG}" 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \([^ <>]*\)$/\1/p'
	;;
--version)
	sid_apt_update
	sid_version "${2:?usage: sid.sh --version PKG}"
	;;
--has)
	# --has PKG: true when sid has PKG
	sid_apt_update
	[ -n "$(sid_version "${2:?usage: sid.sh --has PKG}")" ]
	;;
--root)
	make_root "${2:?usage: sid.sh --root VER}"
	;;
--run)
	ver=${2:?usage: sid.sh --run VER CMD...}
	shift 2
	root=$(make_root "$ver")
	in_root "$root" "$@"
	;;
*)
	die "usage: sid.sh --resolve|--download PKG DIR|--version PKG|--depends PKG|--has PKG|--root VER|--run VER CMD..."
	;;
esac
