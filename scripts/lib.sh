# SPDX-License-Identifier: GPL-2.0
# Common helpers for the mgpu build/test scripts.  Source it, don't run it.

# Repository root and build directory (override with MGPU_BUILD).
MGPU_ROOT=$(cd "$(dirname "$0")/.." && pwd)
MGPU_BUILD=${MGPU_BUILD:-$MGPU_ROOT/build}
# Slow artifacts that do not depend on the sources (extracted Debian
# kernels, root filesystems, the debug kernel) live outside the clone, so
# that only the first run on a machine pays for them.
MGPU_CACHE=${MGPU_CACHE:-/var/cache/mgpu}
MGPU_KERNELS_DIR=$MGPU_CACHE/kernels

# cache_lock NAME: hold $MGPU_CACHE/NAME.lock (on fd 9) until the script
# exits, so that two runs on one machine (two clones) never fill the same
# part of the cache at once.
cache_lock() {
	mkdir -p "$MGPU_CACHE"
	exec 9>"$MGPU_CACHE/$1.lock"
	flock 9
}

# pvh_kernel VER: the path of the kernel image that nested guests boot
# fastest: the uncompressed vmlinux of VER's bzImage when it has a PVH
# entry (an ELF note that QEMU's -kernel boots directly, with no
# decompression in the guest), cached beside the bzImage; otherwise the
# bzImage.  The payload's place comes from the boot protocol's
# setup_sects, payload_offset and payload_length (2.08+); its format
# from its magic.
pvh_kernel() {
	_bz=$MGPU_KERNELS_DIR/$1/vmlinuz
	_elf=$MGPU_KERNELS_DIR/$1/vmlinux
	if [ ! -s "$_elf" ] || [ -n "$(find -L "$_bz" -newer "$_elf")" ]; then
		_tmp=$(mktemp "$_elf.XXXXXX") && chmod 644 "$_tmp"
		_sects=$(od -An -tu1 -j 497 -N 1 "$_bz" | tr -d ' ')
		_off=$(od -An -tu4 -j 584 -N 4 "$_bz" | tr -d ' ')
		_len=$(od -An -tu4 -j 588 -N 4 "$_bz" | tr -d ' ')
		_pay=$(((_sects + 1) * 512 + _off))	# the payload's offset
		_magic=$(od -An -tx1 -j "$_pay" -N 6 "$_bz" | tr -d ' ')
		case $_magic in
		28b52ffd*) _dec="zstd -dcq" ;;
		fd377a585a00) _dec="xz -dcq" ;;
		1f8b*) _dec="gzip -dcq" ;;
		*) _dec= ;;
		esac
		# The payload ends with its uncompressed size (le32), which
		# the decompressors take for trailing garbage: their status
		# says nothing, the size does.
		_size=$(od -An -tu4 -j $((_pay + _len - 4)) -N 4 "$_bz" | tr -d ' ')
		[ -n "$_dec" ] && tail -c +$((_pay + 1)) "$_bz" |
			head -c "$_len" | $_dec >"$_tmp" 2>/dev/null
		if [ -n "$_dec" ] && [ "$(stat -c %s "$_tmp")" = "$_size" ] &&
			readelf -n "$_tmp" 2>/dev/null |
			grep -qE 'PHYS32_ENTRY|note type: \(0x0+12\)'; then
			mv -f "$_tmp" "$_elf"
		else
			rm -f "$_tmp"
			echo "$_bz"
			return 0
		fi
	fi
	echo "$_elf"
}

die() {
	echo "error: $*" >&2
	exit 1
}

info() {
	echo ">>> $*" >&2
}

# outer_qemu: the QEMU binary the test VM runs on (scripts/run-qemu.sh):
# MGPU_QEMU, where "sid" means sid's QEMU (scripts/sid-qemu.sh, built on
# first use), default qemu-system-x86_64 on PATH (Documentation/nested.rst).
outer_qemu() {
	case ${MGPU_QEMU:-} in
	"") echo qemu-system-x86_64 ;;
	sid) "$MGPU_ROOT/scripts/sid-qemu.sh" ;;
	*) echo "$MGPU_QEMU" ;;
	esac
}

# is_installed PKG: true when dpkg has PKG fully installed
is_installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

_apt_updated=
apt_update_once() {
	[ -n "$_apt_updated" ] && return 0
	info "apt-get update"
	apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (fix: check /etc/apt/sources.list and network access to the Debian archive)"
	_apt_updated=1
}

# ensure_pkgs PKG...: install the packages that are missing (quiet, idempotent)
ensure_pkgs() {
	missing=
	for p in "$@"; do
		is_installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "packages missing:$missing (fix: run as root, or apt-get install$missing)"
	info "apt-get install$missing"
	export DEBIAN_FRONTEND=noninteractive
	log=$(mktemp)
	# Wait for dpkg's lock rather than fail: make check in another clone
	# may be installing or purging mgpu-dkms (scripts/dkms-check.sh).
	# shellcheck disable=SC2086
	if ! apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $missing >"$log" 2>&1; then
		apt_update_once
		# shellcheck disable=SC2086
		if ! apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $missing >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			die "apt-get install$missing failed (fix: check the apt sources)"
		fi
	fi
	rm -f "$log"
}

# kernel_from_sid VER: true when VER is a Debian sid kernel, whose
# headers and builds live in the sid root (scripts/sid.sh), not on this
# bookworm host.  Bookworm's apt knows all of its own kernels.
kernel_from_sid() {
	# The debug kernel (scripts/debug-kernel.sh) is neither: it comes
	# with its own build tree.
	[ -f "$MGPU_KERNELS_DIR/$1/build/Makefile" ] && return 1
	! apt-cache show "linux-headers-$1" >/dev/null 2>&1
}

# kbuild_env VER: set run (the command prefix a build for VER runs
# under: sid's kernels build inside the sid root, scripts/sid.sh), root
# (that root, or empty) and kdir (VER's kernel build directory, as seen
# from there); dies when VER has no headers.
kbuild_env() {
	run=
	root=
	if kernel_from_sid "$1"; then
		root=$("$MGPU_ROOT/scripts/sid.sh" --root "$1")
		run="$MGPU_ROOT/scripts/sid.sh --run $1"
	fi
	kdir=
	# The last one: the debug kernel's build tree (scripts/debug-kernel.sh).
	for _d in "/lib/modules/$1/build" "/usr/src/linux-headers-$1" "$MGPU_KERNELS_DIR/$1/build"; do
		if [ -f "$root$_d/Makefile" ]; then
			kdir=$_d
			break
		fi
	done
	[ -n "$kdir" ] || die "no kernel headers for $1 (fix: apt-get install linux-headers-$1, or run scripts/kernels.sh --headers)"
}

# kernel_list: the kernel versions to work on (see scripts/kernels.sh)
kernel_list() {
	"$MGPU_ROOT/scripts/kernels.sh" --list
}

# newest_kernel: the newest version of kernel_list
newest_kernel() {
	kernel_list | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1
}

# packaged_libmgpu_a: the libmgpu.a of the libmgpu-dev package that make
# check unpacked (scripts/pkgroot.sh), or nothing
packaged_libmgpu_a() {
	_a=$MGPU_BUILD/pkgroot/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/libmgpu.a
	[ -f "$_a" ] && echo "$_a"
	return 0
}

# build_mgpuctl: mgpuctl for the test VM, whose scripts (testvm-init,
# testvm-nested.sh) manage parents and vGPUs with it
build_mgpuctl() {
	mkdir -p "$MGPU_BUILD/mgpuctl"
	log=$MGPU_BUILD/mgpuctl/build.log
	if ! make -C "$MGPU_ROOT/tools/mgpuctl" OUTPUT="$MGPU_BUILD/mgpuctl/" \
		"$MGPU_BUILD/mgpuctl/mgpuctl" >"$log" 2>&1; then
		cat "$log" >&2
		die "mgpuctl build failed (log: $log)"
	fi
}
