#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make check-libvirt: mgpu under Debian's own libvirt, QEMU and mdevctl.
#
# usage: scripts/check-libvirt.sh [SUITE...]   (default: bookworm sid)
#   For each SUITE, a Debian root image with libvirt (scripts/rootfs.sh:
#   bookworm has libvirt 9.0, sid the newest, 12.x) is booted with each
#   kernel of MGPU_LIBVIRT_KERNELS (default: the newest kernel of the
#   matrix; "all": every Debian kernel of it) in QEMU (TCG), through the
#   busybox first stage of scripts/mkinitramfs-libvirt.sh.  In the VM,
#   scripts/libvirtvm-init2 starts udevd, virtlogd and libvirtd and runs
#   scripts/libvirt-tests.sh; its KTAP comes back on the verdict channel.
#   Results per run in build/libvirt-SUITE-VER/ (result.log, console.log);
#   the verdict is scripts/check.sh's: the last line is
#   "N passed, N failed, N skipped".
# MGPU_KO: boot this mgpu.ko instead of a fresh W=1 build (one kernel only).
# MGPU_LIBVIRT_VERDICT=0: no verdict; the last line of stdout lists the
# runs (libvirt-SUITE-VER ...) for scripts/check.sh, so that scripts/ci.sh
# can count them with the rest of make check.
# MGPU_LIBVIRT_MODE=demo: make demo's part (scripts/libvirt-demo.sh on the
# console, no tests); exit status 0 when the demo says it is done.
# MGPU_LIBVIRT_MODE=bench: make bench's part (scripts/migrate-bench.sh);
# its table goes to build/libvirt-SUITE-VER/bench.txt.
set -eu
. "$(dirname "$0")/lib.sh"

S=$MGPU_ROOT/scripts
suites=${*:-bookworm sid}
mode=${MGPU_LIBVIRT_MODE:-test}
# The bench runs four guests at a time (two QEMUs each while they move).
mem=2G limit=1500
[ "$mode" = bench ] && mem=3G limit=3600

"$S/deps.sh" >&2
ensure_pkgs debootstrap e2fsprogs

case ${MGPU_LIBVIRT_KERNELS:-newest} in
newest)
	vers=$(MGPU_KERNELS=${MGPU_KERNELS:-} "$S/kernels.sh" --list | tr ' ' '\n' |
		sed '/^$/d' | sort -V | tail -n1)
	;;
all) vers=$("$S/kernels.sh" --list) ;;
*) vers=$MGPU_LIBVIRT_KERNELS ;;
esac
# shellcheck disable=SC2086
MGPU_KERNELS="$vers" "$S/kernels.sh" --fetch >/dev/null

# The root images first (cached; a few minutes each when they are not).
for s in $suites; do
	"$S/rootfs.sh" "$s" >/dev/null
done

# The guest programs of the domain's guest, and the module.
"$S/build-guest.sh" >&2
names=
for v in $vers; do
	ko=${MGPU_KO:-}
	if [ -z "$ko" ]; then
		"$S/build-module.sh" "$v" >&2 || true
		ko=$MGPU_BUILD/$v/mod/mgpu.ko
	fi
	for s in $suites; do
		name=libvirt-$s-$v
		dir=$MGPU_BUILD/$name
		names="$names $name"
		rm -rf "$dir"
		mkdir -p "$dir"
		if [ ! -f "$ko" ]; then
			echo "noboot: no mgpu.ko for $v, not booted" >"$dir/prefail"
			continue
		fi
		if ! MGPU_KO=$ko "$S/mkinitramfs-libvirt.sh" "$v" "$dir" >&2; then
			echo "noboot: initramfs failed, not booted" >"$dir/prefail"
			continue
		fi
		img=$("$S/rootfs.sh" "$s")
		info "$name: booting $v with the $s root ($(basename "$img"))"
		MGPU_RUN_DIR=$dir MGPU_MEM=${MGPU_MEM:-$mem} \
			MGPU_QEMU_TIMEOUT=${MGPU_QEMU_TIMEOUT:-$limit} \
			MGPU_QEMU_ARGS="-drive file=$img,if=virtio,format=raw,readonly=on" \
			"$S/run-qemu.sh" "$v" "$mode" >&2
	done
done

if [ "$mode" = bench ]; then
	for name in $names; do
		res=$MGPU_BUILD/$name/result.log
		sed -n '/^=== mgpu migration bench/,/^=== mgpu migration bench done ===/p' \
			"$res" 2>/dev/null | tr -d '\r' >"$MGPU_BUILD/$name/bench.txt"
		grep -q '^=== mgpu migration bench done ===' "$MGPU_BUILD/$name/bench.txt" ||
			die "$name: the migration bench failed or did not finish (console log: $MGPU_BUILD/$name/console.log)"
	done
	exit 0
fi
if [ "$mode" = demo ]; then
	for name in $names; do
		con=$MGPU_BUILD/$name/console.log
		grep -q '=== mgpu libvirt demo done ===' "$con" 2>/dev/null ||
			die "$name: the libvirt demo failed or did not finish (console log: $con)"
	done
	exit 0
fi

if [ "${MGPU_LIBVIRT_VERDICT:-1}" = 0 ]; then
	echo $names
	exit 0
fi
# shellcheck disable=SC2086
exec "$S/check.sh" $names
