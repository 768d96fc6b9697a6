#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Boot one kernel with the mgpu initramfs in QEMU (TCG, no KVM needed).
#
# usage: scripts/run-qemu.sh VER [test|demo|shell]
#   test (default): console -> build/VER/console.log,
#                   verdict channel (ttyS1) -> build/VER/result.log
#   demo:           same, and the console is shown live on stdout
#   bench:          as demo (make bench)
#   shell:          interactive shell on the console (stdio)
# MGPU_ACCEL=kvm uses KVM instead of TCG; MGPU_QEMU_TIMEOUT overrides the time limit (seconds); MGPU_APPEND adds
# kernel parameters; MGPU_MEM the guest memory (1G, 2G with nested guests).
# MGPU_IVSHMEM: size of the ivshmem-plain device (1af4:1110) whose BAR2
# mgpu_bar_test binds as a parent (default 64M; 0: no ivshmem devices).
# MGPU_RUN_DIR: the directory of the initramfs and the logs (default
# build/VER; scripts/check-libvirt.sh has one per root image);
# MGPU_QEMU_ARGS: more QEMU arguments (its root disk).
# MGPU_QEMU: the QEMU binary (default qemu-system-x86_64 on PATH); "sid"
# for sid's newer QEMU (scripts/sid-qemu.sh, Documentation/nested.rst).
set -eu
. "$(dirname "$0")/lib.sh"

ver=${1:?usage: run-qemu.sh VER [test|demo|bench|shell]}
mode=${2:-test}
dir=${MGPU_RUN_DIR:-$MGPU_BUILD/$ver}
kernel=$MGPU_KERNELS_DIR/$ver/vmlinuz
initrd=$dir/initramfs.cpio.gz
console=$dir/console.log
result=$dir/result.log

[ -f "$kernel" ] || die "no kernel image for $ver (fix: scripts/kernels.sh --fetch)"
[ -f "$initrd" ] || die "no initramfs for $ver (fix: scripts/mkinitramfs.sh $ver)"
qemu=$(outer_qemu) || die "no QEMU for MGPU_QEMU=${MGPU_QEMU:-}"
command -v "$qemu" >/dev/null ||
	die "$qemu not found (fix: apt-get install qemu-system-x86, or unset MGPU_QEMU)"

# Time limit: boot allowance + each test program's timeout.
if [ -z "${MGPU_QEMU_TIMEOUT:-}" ]; then
	per=45
	settings=$dir/initramfs/mgpu/tests/settings
	if [ -f "$settings" ]; then
		t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$settings" | tail -n1)
		[ -n "$t" ] && per=$t
	fi
	n=$(wc -l <"$dir/initramfs/mgpu/tests/list" 2>/dev/null || echo 0)
	MGPU_QEMU_TIMEOUT=$((180 + per * n))
	# Nested guests (scripts/testvm-nested.sh): two rounds of two at once.
	[ -d "$dir/initramfs/nested" ] && MGPU_QEMU_TIMEOUT=$((MGPU_QEMU_TIMEOUT + 1100))
fi

# Memory: nested guests (an initramfs with /nested) need 2G.
mem=${MGPU_MEM:-1G}
[ -z "${MGPU_MEM:-}" ] && [ -d "$dir/initramfs/nested" ] && mem=2G

# TCG by default: CI machines have no (working) KVM.  MGPU_ACCEL=kvm to try.
accel=${MGPU_ACCEL:-tcg}
# MGPU_NESTED_ACCEL: the -accel of a VM that runs nested guests only,
# e.g. tcg,thread=single against the stale translations of a 2-vCPU
# TCG (Documentation/nested.rst).  Not the default: the 7.2 VM of make
# check took 365 s with it instead of 246, and its scheduler tests do
# not hold on one TCG thread.
[ -n "${MGPU_NESTED_ACCEL:-}" ] && [ -d "$dir/initramfs/nested" ] && accel=$MGPU_NESTED_ACCEL

append="console=ttyS0 panic=-1 loglevel=5 mgpu_ci=$mode ${MGPU_APPEND:-}"
# ivshmem: mgpu_bar_test reads the BAR through resource2 while mgpu holds
# it, which Debian's CONFIG_IO_STRICT_DEVMEM allows only with iomem=relaxed.
ivshmem=${MGPU_IVSHMEM:-64M}
[ "$ivshmem" != 0 ] && append="$append iomem=relaxed"
case $mode in demo | bench) append="$append quiet" ;; esac

rm -f "$console" "$result"
# CPU model: MGPU_CPU overrides it.  No CMPXCHG16B: QEMU's TCG up to
# 7.2 (bookworm's) computes the flags after it from a stale CC_OP, and a
# guest kernel that takes an interrupt right after SLUB's
# this_cpu_cmpxchg16b then runs on with garbage in RFLAGS (DF, IOPL...);
# without CX16 the kernel uses its fallback (Documentation/nested.rst,
# tools/testing/cx16-flags).
cpu=${MGPU_CPU:-max,cx16=off}

set -- "$qemu" -accel "$accel" -cpu "$cpu" -m "$mem" -smp 2 \
	-nodefaults -display none -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$append" ${MGPU_QEMU_ARGS:-}

# Real PCI devices for the BAR backend: ivshmem-plain, whose BAR2 is
# plain memory, and one of 8M, too small to be a parent.  No guest driver
# claims them; only mgpu_bar_test binds them.
if [ "$ivshmem" != 0 ]; then
	set -- "$@" -object "memory-backend-ram,id=mgpubar,size=$ivshmem" \
		-device ivshmem-plain,memdev=mgpubar \
		-object memory-backend-ram,id=mgpubar8m,size=8M \
		-device ivshmem-plain,memdev=mgpubar8m
fi

case $mode in
shell)
	exec "$@" -serial mon:stdio -serial "file:$result"
	;;
esac

# One TCG guest at a time on this machine (across clones, too): two
# guests of 2 vCPUs on a 2-core host stall each other's vCPUs, and the
# scheduler tests cannot measure shares then.  MGPU_QEMU_LOCK=0 skips it.
[ "${MGPU_QEMU_LOCK:-1}" = 0 ] || cache_lock qemu

start=$(date +%s)
timeout -k 10 "$MGPU_QEMU_TIMEOUT" "$@" \
	-serial "file:$console" -serial "file:$result" </dev/null &
qpid=$!
if [ "$mode" = demo ] || [ "$mode" = bench ]; then
	# Show the console live; tail exits with QEMU.
	while [ ! -f "$console" ] && kill -0 "$qpid" 2>/dev/null; do sleep 0.2; done
	[ -f "$console" ] && tail -n +1 -f --pid="$qpid" "$console" | tr -d '\r'
fi
rc=0
wait "$qpid" || rc=$?
secs=$(($(date +%s) - start))
echo "$secs" >"$dir/boot-seconds"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	echo "$ver: QEMU killed after ${MGPU_QEMU_TIMEOUT}s (timeout)" >"$dir/qemu-status"
	info "$ver: QEMU timed out after ${MGPU_QEMU_TIMEOUT}s"
elif [ "$rc" != 0 ]; then
	echo "$ver: QEMU exited with status $rc" >"$dir/qemu-status"
	info "$ver: QEMU exited with status $rc"
else
	echo "$ver: QEMU exited normally after ${secs}s" >"$dir/qemu-status"
	info "$ver: guest done in ${secs}s"
fi
# The verdict is scripts/check.sh's job: a missing end marker fails there.
exit 0
