#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Boot nested guests in a loop and count the ones that die: the check
# for the nested early-boot panics (Documentation/nested.rst).
#
# usage: scripts/nested-soak.sh [N]      (make nested-soak; N default 20)
#   One outer VM on the newest Debian kernel (MGPU_SOAK_KERNEL: another
#   release of scripts/kernels.sh --list), with Debian's QEMU inside
#   (scripts/nested.sh); N nested boots, two at a time, each with a vGPU
#   (scripts/nested-soak-guest).  Prints one line per boot and
#   "nested soak: F of N boots failed"; exit status 0 only if none did.
#   MGPU_QEMU=sid runs the outer VM on sid's QEMU; MGPU_NESTED_ACCEL (or
#   MGPU_ACCEL) sets its -accel, e.g. tcg,thread=single (run-qemu.sh).
#   MGPU_CPU / NESTED_CPU override the outer / inner -cpu (see
#   scripts/run-qemu.sh, scripts/testvm-nested.sh) to compare CPU models;
#   NESTED_PIN=alt pins every other pair of nested QEMUs to one outer
#   vCPU each (all: every pair), each line saying "pinned" or "floating".
#   Everything goes to build/soak (MGPU_SOAK_DIR), apart from make
#   check's files.  About 1.5 min of wall time per pair of boots.
set -eu
. "$(dirname "$0")/lib.sh"

S=$MGPU_ROOT/scripts
boots=${1:-20}
# MGPU_SOAK_DIR: where (default build/soak), to run two soaks at once.
export MGPU_BUILD=${MGPU_SOAK_DIR:-$MGPU_ROOT/build/soak}
"$S/deps.sh"
# MGPU_SOAK_KERNEL: the outer VM's kernel (default: the newest).
ver=${MGPU_SOAK_KERNEL:-$("$S/kernels.sh" --list | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1)}
MGPU_KERNELS=$ver "$S/kernels.sh" --fetch >/dev/null
"$S/build-module.sh" "$ver"
"$S/build-guest.sh"
build_mgpuctl
tests=$MGPU_BUILD/soak-tests
rm -rf "$tests"
mkdir -p "$tests"
cp "$S/nested-soak-guest" "$tests/nested-soak"
echo nested-soak >"$tests/list"
echo "timeout=$((boots * 600))" >"$tests/settings"
MGPU_NESTED=1 MGPU_TESTS_DIR=$tests MGPU_EXTRA_TESTS=/nonexistent "$S/mkinitramfs.sh" "$ver"
qv=$("$(outer_qemu)" --version | sed -n '1s/.*version //p')
info "nested soak: $boots nested boots on $ver (outer QEMU $qv, -cpu ${MGPU_CPU:-max,cx16=off}, -accel ${MGPU_NESTED_ACCEL:-${MGPU_ACCEL:-tcg}}; inner -cpu ${NESTED_CPU:-qemu64,cx16=off})"
append="mgpu_soak_boots=$boots"
[ -n "${NESTED_CPU:-}" ] && append="$append mgpu_nested_cpu=$NESTED_CPU"
[ -n "${NESTED_PIN:-}" ] && append="$append mgpu_soak_pin=$NESTED_PIN"
MGPU_APPEND="$append ${MGPU_APPEND:-}" MGPU_QEMU_TIMEOUT=$((600 + boots * 600)) \
	"$S/run-qemu.sh" "$ver" test
res=$MGPU_BUILD/$ver/result.log
tr -d '\r' <"$res" | sed -n 's/^    //p' | grep -E '^(not )?ok |^# (outer|nested|boot)' | sed 's/^# outer CPU flags: \(.\{120\}\).*/# outer CPU flags: \1.../' >&2 || true
pass=$(tr -d '\r' <"$res" | grep -cE '^    ok [0-9]+ nested boot' || true)
fail=$(tr -d '\r' <"$res" | grep -cE '^    not ok [0-9]+ nested boot' || true)
echo "nested soak: $fail of $boots boots failed, $pass passed ($(cat "$MGPU_BUILD/$ver/qemu-status" 2>/dev/null))"
[ "$pass" = "$boots" ] || die "nested soak: not all $boots nested boots came up (logs: $res, $MGPU_BUILD/$ver/console.log)"
