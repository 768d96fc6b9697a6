#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel-matrix pipeline behind "make check", "make demo",
# "make sparse" and "make modules-all".
#
# usage: scripts/ci.sh check|demo|bench|sparse|modules
#   check:   deps, kernels, W=1 and sparse builds for every kernel, the
#            selftests, an initramfs per kernel, QEMU boots (one at a time), and
#            the verdict; the last line is "N passed, N failed, N skipped".
#   demo:    builds for the newest kernel and boots it in demo mode (with
#            a nested VM on one vGPU, scripts/testvm-nested.sh).
#   bench:   builds the module and tools/bench/mgpu-bench for the newest
#            kernel and boots it in bench mode: the table is printed and
#            kept in build/bench.txt, followed by the LSTM step's table
#            (native / nested passthrough / nested 1/4, interleaved, with
#            traps and interrupts per step: scripts/testvm-nested.sh;
#            mgpu_lstm_*= and mgpu_bench_reps= in MGPU_APPEND shorten it).
#            Before, on the host, tools/bench/gemm-host (GEMM kernels vs
#            OpenBLAS); its table is appended.  Not part of check.
#   sparse:  sparse (C=1) build for every kernel, zero warnings allowed.
#   modules: W=1 build for every kernel, zero warnings allowed.
# MGPU_KERNELS="ver ..." restricts the matrix.
set -eu
. "$(dirname "$0")/lib.sh"

S=$MGPU_ROOT/scripts
what=${1:?usage: ci.sh check|demo|bench|sparse|modules}

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
	# A nested VM on one of the vGPUs (scripts/testvm-nested.sh: nested_demo).
	"$S/build-guest.sh"
	build_mgpuctl
	MGPU_NESTED=1 MGPU_TESTS_DIR=$MGPU_BUILD/$ver/no-tests "$S/mkinitramfs.sh" "$ver"
	"$S/run-qemu.sh" "$ver" demo
	con=$MGPU_BUILD/$ver/console.log
	grep -q '=== mgpu demo done ===' "$con" ||
		die "demo did not finish (console log: $con)"
	# The nested VM's workload (scripts/testvm-nested.sh: nested_demo) is the
	# point of the demo: a failed or silent one fails make demo.
	if grep -q "THE VM'S WORKLOAD FAILED" "$con"; then
		die "demo: the nested VM's workload failed or never reported its result (its console is shown above; console log: $con)"
	fi
	grep -q "the VM's workload passed" "$con" ||
		die "demo: no result from the nested VM's workload (console log: $con)"
	info "demo: the nested VM's workload passed"
	# The same module under Debian's libvirt: virsh nodedev-list and
	# friends (scripts/libvirt-demo.sh in the libvirt VM, sid's libvirt).
	MGPU_LIBVIRT_MODE=demo MGPU_LIBVIRT_KERNELS=$ver MGPU_KO=$MGPU_BUILD/$ver/mod/mgpu.ko \
		"$S/check-libvirt.sh" sid
	info "demo: libvirt lists and manages the vGPUs"
	exit 0
	;;
bench)
	ver=$(MGPU_KERNELS=${MGPU_KERNELS:-} "$S/kernels.sh" --list | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1)
	MGPU_KERNELS=$ver "$S/kernels.sh" --fetch >/dev/null
	"$S/build-module.sh" "$ver"
	bdir=$MGPU_BUILD/bench
	rm -rf "$bdir"
	mkdir -p "$bdir"
	log=$MGPU_BUILD/bench-build.log
	if ! make -C "$MGPU_ROOT/tools/bench" OUTPUT="$bdir/" >"$log" 2>&1; then
		cat "$log" >&2
		die "tools/bench build failed (log: $log)"
	fi
	echo mgpu-bench >"$bdir/list"
	echo timeout=600 >"$bdir/settings"
	# The engine's GEMM kernels on the host's silicon against OpenBLAS,
	# before QEMU loads the host (tools/bench/gemm-host.c).
	hdir=$MGPU_BUILD/gemm-host
	if ! make -C "$MGPU_ROOT/tools/bench" OUTPUT="$hdir/" gemm-host >"$log" 2>&1; then
		cat "$log" >&2
		die "tools/bench gemm-host build failed (log: $log; fix: scripts/deps.sh installs libopenblas-dev)"
	fi
	info "gemm-host: the GEMM kernels on the host vs OpenBLAS (1-2 minutes)"
	"$hdir/gemm-host" >"$MGPU_BUILD/gemm-host.txt" ||
		die "gemm-host failed (output: $MGPU_BUILD/gemm-host.txt)"
	# The baseline of the create/remove figures: the kernel's mtty sample,
	# from Debian's linux-source of the series.  A series whose source
	# is not packaged (7.2 on bookworm hosts) gets the table without it:
	# mgpu-bench prints those rows as "not measured".
	mtty_ko=$MGPU_BUILD/$ver/mtty/mtty.ko
	if ! "$S/build-mtty.sh" "$ver"; then
		info "no mtty sample for $ver: the create/remove rows will say \"not measured\""
		mtty_ko=
	fi
	# The LSTM comparison runs nested guests (scripts/testvm-nested.sh).
	"$S/build-guest.sh"
	build_mgpuctl
	MGPU_NESTED=1 MGPU_TESTS_DIR=$bdir MGPU_EXTRA_KO=$mtty_ko \
		"$S/mkinitramfs.sh" "$ver"
	MGPU_QEMU_TIMEOUT=${MGPU_QEMU_TIMEOUT:-1800} "$S/run-qemu.sh" "$ver" bench
	res=$MGPU_BUILD/$ver/result.log
	grep -q '=== mgpu bench done ===' "$res" 2>/dev/null ||
		die "bench did not finish (console log: $MGPU_BUILD/$ver/console.log)"
	sed -n '/^=== mgpu bench: /,/^=== mgpu bench done ===/p' "$res" >"$MGPU_BUILD/bench.txt"
	# The LSTM table without the servers' output ("# " lines).
	sed -n '/^=== mgpu lstm: /,/^=== mgpu lstm done ===/p' "$res" | grep -v -e '^# ' -e '^nested: ' >>"$MGPU_BUILD/bench.txt"
	cat "$MGPU_BUILD/gemm-host.txt" >>"$MGPU_BUILD/bench.txt"
	# Live migration with and without a vGPU, in the libvirt VM (sid's
	# QEMU; scripts/migrate-bench.sh).  MGPU_BENCH_MIGRATION=0 skips it.
	if [ "${MGPU_BENCH_MIGRATION:-1}" = 1 ]; then
		MGPU_LIBVIRT_MODE=bench MGPU_LIBVIRT_KERNELS=$ver \
			MGPU_KO=$MGPU_BUILD/$ver/mod/mgpu.ko "$S/check-libvirt.sh" sid
		cat "$MGPU_BUILD/libvirt-sid-$ver/bench.txt" >>"$MGPU_BUILD/bench.txt"
	fi
	info "bench table: $MGPU_BUILD/bench.txt"
	exit 0
	;;
check) ;;
*) die "usage: ci.sh check|demo|bench|sparse|modules" ;;
esac

# ---- check ----
# The debug kernel (scripts/debug-kernel.sh: KASAN, UBSAN, lockdep,
# kmemleak, iommufd + VFIO device cdev...) is one more entry of the
# matrix.  MGPU_KERNELS="ver ..." restricts the matrix to Debian
# kernels; the word "debug" in it adds the debug kernel ("debug" alone:
# only it).  MGPU_DEBUG_KERNEL=0 leaves it out of the full matrix.
dbg_want=${MGPU_DEBUG_KERNEL:-1}
deb_list=${MGPU_KERNELS:-}
case " $deb_list " in
*" debug "*)
	dbg_want=1
	deb_list=$(echo " $deb_list " | sed 's/ debug / /g; s/^ *//; s/ *$//')
	[ -n "$deb_list" ] || deb_list=none
	;;
"  ") ;;
*) dbg_want=0 ;;
esac
deb_vers=
if [ "$deb_list" != none ]; then
	deb_vers=$(MGPU_KERNELS=$deb_list "$S/kernels.sh" --fetch | tail -n1)
fi
dbg_ver=
dbg_failed=
if [ "$dbg_want" = 1 ]; then
	dbg_ver=$("$S/debug-kernel.sh") || { dbg_ver=debug-kernel; dbg_failed=1; }
fi
vers=$(echo $deb_vers $dbg_ver)
info "kernels: $vers"
for v in $vers; do
	d=$MGPU_BUILD/$v
	mkdir -p "$d"
	rm -f "$d/initramfs.cpio.gz" "$d/result.log" "$d/console.log" \
		"$d/boot-seconds" "$d/qemu-status" "$d/prefail"
done
[ -z "$dbg_failed" ] ||
	echo "noboot: the debug kernel did not build (scripts/debug-kernel.sh)" >"$MGPU_BUILD/$dbg_ver/prefail"

# Builds: W=1 and sparse per kernel, all at once (make -j inside each).
build_one() {
	v=$1
	[ "$v" = debug-kernel ] && return 0
	"$S/build-module.sh" "$v" >/dev/null ||
		echo "build: W=1 module build failed or warned" >>"$MGPU_BUILD/$v/prefail"
	"$S/build-module.sh" "$v" --sparse >/dev/null ||
		echo "sparse: sparse reported problems" >>"$MGPU_BUILD/$v/prefail"
}
run_parallel build_one $vers || true
# Each compat probe compiled both ways across the matrix ("compat").
"$S/compat-check.sh" $vers || true

# The Debian packages (make deb) and lintian, counted as "deb".  What
# the tests install and run below comes from these packages.
"$S/build-deb.sh" || true
# Packaged files for the guests: mgpuctl, libmgpu1 and libmgpu-dev as
# dpkg unpacks them (build/pkgroot).
"$S/pkgroot.sh" || true

# DKMS: the mgpu-dkms package installed where each Debian kernel's
# headers are; its own dkms hook builds the module for every kernel
# (counted as "dkms" by check.sh).  Every Debian kernel then boots the
# module the package built, not the one above.  (The debug kernel has
# no headers package: it boots the W=1 build.)
if [ -n "$deb_vers" ]; then
	"$S/dkms-check.sh" $deb_vers || true
fi

st_failed=
"$S/build-selftests.sh" || st_failed=1
# Guest tests kept outside selftests/mgpu (the iommufd/cdev test).
"$S/build-extra-tests.sh" || st_failed=1

# Nested guests (scripts/testvm-nested.sh) on MGPU_NESTED_KERNELS, by default
# the newest kernel only: each nested round is about a minute of TCG
# inside TCG.  MGPU_NESTED_KERNELS=none turns them off, =all runs them
# on every kernel.
guest_failed=
"$S/build-guest.sh" || guest_failed=1
case ${MGPU_NESTED_KERNELS:-newest} in
newest) nested_vers=$(echo "$deb_vers" | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1) ;;
all) nested_vers=$deb_vers ;;
none) nested_vers= ;;
*) nested_vers=$MGPU_NESTED_KERNELS ;;
esac

# mgpuctl: build it, run its host tests (counted as "host" by check.sh)
# and stage its guest tests for the initramfs.
"$S/mgpuctl-tests.sh" || true

# Fuzz targets (tools/fuzz): a short run each, counted as "fuzz" by check.sh.
"$S/fuzz-check.sh" || true

boot_one() {
	v=$1
	if [ ! -f "$MGPU_BUILD/$v/mod/mgpu.ko" ]; then
		echo "noboot: no mgpu.ko, not booted" >>"$MGPU_BUILD/$v/prefail"
		return 0
	fi
	[ -z "$st_failed" ] || echo "selftests: build failed" >>"$MGPU_BUILD/$v/prefail"
	nested=0
	case " $nested_vers " in
	*" $v "*)
		if [ -n "$guest_failed" ]; then
			echo "guest: tools/guest build failed, no nested guests" >>"$MGPU_BUILD/$v/prefail"
		else
			nested=1
		fi
		;;
	esac
	ko=
	case " $deb_vers " in
	*" $v "*)
		ko=$MGPU_BUILD/dkms/$v/mgpu.ko
		if [ -f "$ko" ]; then
			info "$v: booting the mgpu.ko that the mgpu-dkms package built"
		else
			echo "dkms: no mgpu.ko from the mgpu-dkms package, booting the W=1 build" >>"$MGPU_BUILD/$v/prefail"
			ko=
		fi
		;;
	esac
	if ! MGPU_KO=$ko MGPU_NESTED=$nested "$S/mkinitramfs.sh" "$v"; then
		echo "noboot: initramfs failed, not booted" >>"$MGPU_BUILD/$v/prefail"
		return 0
	fi
	# Every kernel but the debug one runs the create/remove stress for
	# 15 s instead of 60 (MGPU_QUICK), to keep make check in its time;
	# the debug kernel, where KASAN, lockdep and kmemleak watch, runs it
	# in full.
	quick=
	[ "$v" = "$dbg_ver" ] || quick=mgpu_env.MGPU_QUICK=1
	# The LSTM training check (selftests/mgpu_train) runs its 300 steps
	# on the kernel of the nested tests; the others check 40 steps
	# against the CPU, without waiting for the loss to fall.
	[ "$nested" = 1 ] || quick="$quick mgpu_env.MGPU_TRAIN_QUICK=1"
	# The VFIO fuzzer reaches its 10^6 operations in under 30 s on the
	# other kernels; under KASAN it gets about 1500 a second, and 50 s
	# of them instead of 100 keep make check in its 25 minutes.
	[ "$v" != "$dbg_ver" ] || quick="$quick mgpu_env.MGPU_VFIO_FUZZ_TIME=50"
	MGPU_APPEND="${MGPU_APPEND:-} $quick" "$S/run-qemu.sh" "$v" test
}
# One guest at a time: two TCG guests of 2 vCPUs on a 2-core host stall
# each other's vCPUs for 5-40 % of the time, and the scheduler tests
# then cannot measure shares (they skip, saying so).  Alone, a guest
# sees no stalls.  MGPU_PARALLEL_BOOT=1 boots all kernels at once.
info "booting: $vers"
if [ "${MGPU_PARALLEL_BOOT:-0}" = 1 ]; then
	export MGPU_QEMU_LOCK=0
	run_parallel boot_one $vers || true
else
	for v in $vers; do
		boot_one "$v" || true
	done
fi

# The libvirt VM (scripts/check-libvirt.sh, Documentation/libvirt-vm.rst):
# a Debian root with Debian's libvirt, QEMU and mdevctl, booted with the
# kernel of the nested tests and the module the mgpu-dkms package built.
# MGPU_LIBVIRT_SUITES: the suites, by default both: bookworm (libvirt 9.0,
# QEMU 7.2: the node-device, Nova and domain tests) and sid (the newest
# libvirt and QEMU, with the migration and save/restore tests too); each
# boots once.  "sid" or "bookworm" alone, or "none" to leave the VM out.
lv=
lv_suites=${MGPU_LIBVIRT_SUITES:-bookworm sid}
[ "$lv_suites" = none ] && lv_suites=
lv_ver=$(echo "$nested_vers" | tr ' ' '\n' | sed '/^$/d' | sort -V | tail -n1)
if [ -n "$lv_suites" ] && [ -n "$lv_ver" ]; then
	lv_ko=$MGPU_BUILD/dkms/$lv_ver/mgpu.ko
	[ -f "$lv_ko" ] || lv_ko=$MGPU_BUILD/$lv_ver/mod/mgpu.ko
	# shellcheck disable=SC2086
	lv=$(MGPU_LIBVIRT_VERDICT=0 MGPU_LIBVIRT_KERNELS=$lv_ver MGPU_KO=$lv_ko \
		"$S/check-libvirt.sh" $lv_suites | tail -n1) || lv=
	if [ -z "$lv" ]; then
		lv=libvirt-$lv_ver
		mkdir -p "$MGPU_BUILD/$lv"
		echo "noboot: scripts/check-libvirt.sh failed before booting (its output is above)" >"$MGPU_BUILD/$lv/prefail"
	fi
fi

# shellcheck disable=SC2086
if [ -n "$deb_vers" ]; then
	exec "$S/check.sh" $vers $lv compat deb host dkms fuzz
fi
exec "$S/check.sh" $vers $lv compat deb host fuzz
