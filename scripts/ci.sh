#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel-matrix pipeline behind "make check", "make demo",
# "make sparse" and "make modules-all".
#
# usage: scripts/ci.sh check|demo|sparse|modules
#   check:   deps, kernels, W=1 and sparse builds for every kernel, the
#            selftests, an initramfs per kernel, parallel QEMU boots, and
#            the verdict; the last line is "N passed, N failed, N skipped".
#   demo:    builds for the newest kernel and boots it in demo mode.
#   sparse:  sparse (C=1) build for every kernel, zero warnings allowed.
#   modules: W=1 build for every kernel, zero warnings allowed.
# MGPU_KERNELS="ver ..." restricts the matrix.
set -eu
. "$(dirname "$0")/lib.sh"

S=$MGPU_ROOT/scripts
what=${1:?usage: ci.sh check|demo|sparse|modules}

"$S/deps.sh"

# run_parallel CMD VER...: CMD VER for every VER at once; false if any failed
run_parallel() {
	cmd=$1
	shift
	pids=
	for v in "$@"; do
		$cmd "$v" &
		pids="$pids $!"
	done
	ok=0
	for p in $pids; do wait "$p" || ok=1; done
	return $ok
}

case $what in
modules | sparse)
	vers=$("$S/kernels.sh" --headers | tail -n1)
	flag=
	[ "$what" = sparse ] && flag=--sparse
	fail=0
	for v in $vers; do
		"$S/build-module.sh" "$v" $flag || fail=1
	done
	exit $fail
	;;
demo)
	ver=$(MGPU_KERNELS=${MGPU_KERNELS:-} "$S/kernels.sh" --list | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1)
	MGPU_KERNELS=$ver "$S/kernels.sh" --fetch >/dev/null
	"$S/build-module.sh" "$ver"
	MGPU_TESTS_DIR=$MGPU_BUILD/$ver/no-tests "$S/mkinitramfs.sh" "$ver"
	"$S/run-qemu.sh" "$ver" demo
	grep -q '=== mgpu demo done ===' "$MGPU_BUILD/$ver/console.log" ||
		die "demo did not finish (console log: $MGPU_BUILD/$ver/console.log)"
	exit 0
	;;
check) ;;
*) die "usage: ci.sh check|demo|sparse|modules" ;;
esac

# ---- check ----
vers=$("$S/kernels.sh" --fetch | tail -n1)
info "kernels: $vers"
for v in $vers; do
	d=$MGPU_BUILD/$v
	mkdir -p "$d"
	rm -f "$d/initramfs.cpio.gz" "$d/result.log" "$d/console.log" \
		"$d/boot-seconds" "$d/qemu-status" "$d/prefail"
done

# Builds: W=1 and sparse per kernel, all at once (make -j inside each).
build_one() {
	v=$1
	"$S/build-module.sh" "$v" >/dev/null ||
		echo "build: W=1 module build failed or warned" >>"$MGPU_BUILD/$v/prefail"
	"$S/build-module.sh" "$v" --sparse >/dev/null ||
		echo "sparse: sparse reported problems" >>"$MGPU_BUILD/$v/prefail"
}
run_parallel build_one $vers || true

st_failed=
"$S/build-selftests.sh" || st_failed=1

boot_one() {
	v=$1
	if [ ! -f "$MGPU_BUILD/$v/mod/mgpu.ko" ]; then
		echo "noboot: no mgpu.ko, not booted" >>"$MGPU_BUILD/$v/prefail"
		return 0
	fi
	[ -z "$st_failed" ] || echo "selftests: build failed" >>"$MGPU_BUILD/$v/prefail"
	if ! "$S/mkinitramfs.sh" "$v"; then
		echo "noboot: initramfs failed, not booted" >>"$MGPU_BUILD/$v/prefail"
		return 0
	fi
	"$S/run-qemu.sh" "$v" test
}
info "booting: $vers"
run_parallel boot_one $vers || true

# shellcheck disable=SC2086
exec "$S/check.sh" $vers
