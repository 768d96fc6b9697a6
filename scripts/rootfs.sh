#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A Debian root filesystem for the libvirt test VM (scripts/check-libvirt.sh):
# debootstrap, then libvirt, QEMU, mdevctl and udev from the suite's own
# archive, packed into an ext4 image with mkfs.ext4 -d (no loop mount).
# The VM mounts it read-only under a tmpfs overlay, so one image serves
# every run on the machine at once.  No systemd as PID 1: the VM's init
# (scripts/virtvm-init) starts udevd, virtlogd and libvirtd itself.
#
# usage: scripts/rootfs.sh SUITE      build if needed, print the image path
#        scripts/rootfs.sh --key SUITE print the cache key only
#   SUITE: bookworm (libvirt 9.0, QEMU 7.2, mdevctl 1.2)
#          sid      (the newest libvirt in Debian: 12.x, QEMU 11.x)
#
# Cache: $MGPU_CACHE/rootfs/SUITE-KEY.img (+ .log, .pkgs: the installed
# versions), where KEY is a hash of this script and the suite's package
# list: a change of either builds a new image (under the "rootfs-SUITE"
# cache lock) and deletes the old ones.  Sid moves under an image: the
# image keeps the sid of the day it was built until the script or list
# changes, or MGPU_ROOTFS_REBUILD=1 forces a new one.
set -eu
. "$(dirname "$0")/lib.sh"

MIRROR=${MGPU_ROOTFS_MIRROR:-http://deb.debian.org/debian}
ROOTFS_DIR=$MGPU_CACHE/rootfs

# What the VM runs: libvirtd with the QEMU and node-device drivers,
# virsh, QEMU, mdevctl (libvirt's backend for persistent mdevs), udev
# (libvirt's node-device driver reads udev's database), python3-libvirt
# (the binding OpenStack Nova drives libvirt through), xmllint (the
# tests read libvirt's XML with it), kmod, procps, pciutils (lspci for
# make demo).
COMMON_PKGS="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
	qemu-system-x86 mdevctl udev kmod procps python3-libvirt libxml2-utils pciutils"
pkgs_of() {
	case $1 in
	bookworm) echo $COMMON_PKGS ;;
	# Sid splits the daemons further: the node-device driver and
	# virtlogd are packages of their own.  (apt resolves the QEMU
	# driver's "systemd-container | sysvinit-core" to systemd-container:
	# installed, never run.)
	sid) echo $COMMON_PKGS libvirt-daemon-driver-nodedev libvirt-daemon-log ;;
	*) die "unknown suite $1 (bookworm or sid)" ;;
	esac
}

key_of() {
	{ cat "$0"; echo "$1"; pkgs_of "$1"; echo "$MIRROR"; } | sha256sum | cut -c1-16
}

# in_root ROOT CMD...: CMD chrooted into ROOT, in a private mount namespace
in_root() {
	_r=$1
	shift
	unshare -m --propagation private sh -ec "
		mount -t proc proc '$_r/proc'
		mount -t sysfs sysfs '$_r/sys'
		mount --rbind /dev '$_r/dev'
		mount -t tmpfs tmpfs '$_r/tmp'
		exec chroot '$_r' \"\$@\"" sh env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# configure TREE: what the VM's libvirt needs besides the packages
configure() {
	t=$1
	# QEMU runs as root (no qemu user, no DAC relabelling games) and
	# without a security driver: the test VM has neither AppArmor nor
	# SELinux, and nothing to protect.
	cat >>"$t/etc/libvirt/qemu.conf" <<-EOF
		# mgpu test VM (scripts/rootfs.sh)
		user = "root"
		group = "root"
		dynamic_ownership = 0
		security_driver = "none"
		remember_owner = 0
	EOF
	# Logs to files under /var/log/libvirt (the VM's init collects them).
	cat >>"$t/etc/libvirt/libvirtd.conf" <<-EOF
		# mgpu test VM (scripts/rootfs.sh)
		log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
		log_filters = "1:node_device 1:util.mdev 1:util.pci 3:util.udev 3:event 3:rpc 3:util.object 3:util.json 3:util.threadjob 3:qemu.qemu_monitor 3:util.vircommand"
	EOF
	# mdevctl's configuration directories (a missing one broke libvirt,
	# mdevctl #56).
	mkdir -p "$t/etc/mdevctl.d/scripts.d/callouts" "$t/etc/mdevctl.d/scripts.d/notifiers"
	mkdir -p "$t/mgpu" "$t/var/log/libvirt" "$t/var/lib/libvirt/qemu"
	echo mgpu-virt >"$t/etc/hostname"
	: >"$t/etc/fstab"
	# Nothing in the image may start at install time or later by itself.
	rm -f "$t/usr/sbin/policy-rc.d"
}

build() {
	suite=$1 key=$2
	img=$ROOTFS_DIR/$suite-$key.img
	tree=$ROOTFS_DIR/$suite-$key.tree
	log=$ROOTFS_DIR/$suite-$key.log
	ensure_pkgs debootstrap e2fsprogs
	info "rootfs: building $suite (debootstrap + libvirt, QEMU, mdevctl; several minutes) into $img"
	: >"$log"
	if [ ! -f "$tree/.debootstrapped" ]; then
		rm -rf "$tree"
		if ! debootstrap --variant=minbase "$suite" "$tree" "$MIRROR" >>"$log" 2>&1; then
			tail -n 30 "$log" >&2
			die "rootfs: debootstrap $suite failed (log: $log)"
		fi
		touch "$tree/.debootstrapped"
	fi
	echo 'Acquire::Check-Valid-Until "false";' >"$tree/etc/apt/apt.conf.d/99mgpu-no-valid-until"
	cat >"$tree/etc/dpkg/dpkg.cfg.d/01-nodoc" <<-EOF
		path-exclude /usr/share/doc/*
		path-exclude /usr/share/man/*
		path-exclude /usr/share/locale/*
		path-exclude /usr/share/info/*
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
	chmod 755 "$tree/usr/sbin/policy-rc.d"
	pkgs=$(pkgs_of "$suite")
	# shellcheck disable=SC2086
	if ! in_root "$tree" sh -ec "apt-get update -qq
		apt-get install -y -q --no-install-recommends $pkgs
		apt-get clean
		rm -rf /var/lib/apt/lists/*" >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "rootfs: installing the packages into the $suite root failed (log: $log)"
	fi
	configure "$tree"
	in_root "$tree" dpkg-query -W -f='${Package} ${Version}\n' >"$ROOTFS_DIR/$suite-$key.pkgs"
	rm -f "$tree/.debootstrapped"
	# Room for nothing: the VM writes into a tmpfs overlay.
	mb=$(($(du -sm "$tree" | cut -f1) * 115 / 100 + 64))
	rm -f "$img.tmp"
	if ! mkfs.ext4 -q -F -L mgpu-root -E root_owner=0:0 -d "$tree" "$img.tmp" "${mb}M" >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "rootfs: mkfs.ext4 -d failed (log: $log)"
	fi
	mv "$img.tmp" "$img"
	rm -rf "$tree"
	# Images of older keys are no longer used.
	for old in "$ROOTFS_DIR/$suite"-*.img; do
		[ "$old" = "$img" ] || rm -f "$old" "${old%.img}.log" "${old%.img}.pkgs"
	done
	info "rootfs: $suite: $img ($(du -h "$img" | cut -f1)): $(grep -E '^(libvirt-daemon|qemu-system-x86|mdevctl) ' "$ROOTFS_DIR/$suite-$key.pkgs" | tr '\n' ' ')"
}

case ${1:-} in
--key)
	suite=${2:?usage: rootfs.sh --key SUITE}
	pkgs_of "$suite" >/dev/null
	key_of "$suite"
	;;
bookworm | sid)
	suite=$1
	key=$(key_of "$suite")
	img=$ROOTFS_DIR/$suite-$key.img
	mkdir -p "$ROOTFS_DIR"
	if [ "${MGPU_ROOTFS_REBUILD:-0}" = 1 ] || [ ! -f "$img" ]; then
		cache_lock "rootfs-$suite"
		if [ "${MGPU_ROOTFS_REBUILD:-0}" = 1 ] || [ ! -f "$img" ]; then
			rm -f "$img"
			build "$suite" "$key"
		fi
	fi
	echo "$img"
	;;
*)
	die "usage: rootfs.sh bookworm|sid | --key SUITE"
	;;
esac
