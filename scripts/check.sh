#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Verdict for one or more kernels from their QEMU logs.
#
# usage: scripts/check.sh VER... [compat] [deb] [host] [dkms] [fuzz]
#   reads build/VER/result.log (the verdict channel, ttyS1) and
#   build/VER/console.log.  "host" is build/host/result.log: the host
#   tests (scripts/mgpuctl-tests.sh), "dkms" build/dkms/result.log (the
#   DKMS builds, scripts/dkms-check.sh), "deb" build/deb/result.log (make
#   deb and lintian, scripts/build-deb.sh), "compat"
#   build/compat/result.log (scripts/compat-check.sh), "fuzz"
#   build/fuzz/result.log (the fuzz targets, scripts/fuzz-check.sh),
#   counted the same way.  Per kernel, a short summary; then, as the
#   last line, "N passed, N failed, N skipped" over all kernels.
#   build/VER/prefail (from scripts/ci.sh) lists failures before the boot:
#   each counts as one failure ("noboot: ..." also stands for the verdict).
#   Exit status: 0 only if nothing failed and every kernel gave a verdict.
#
# Counting (see scripts/parse-ktap.awk): leaf test cases only.  On top of
# them, each kernel adds one failure if its verdict is missing (no
# MGPU-RESULT-END: timeout, panic, hang) and one if its kernel log shows
# a warning, BUG, oops, lockdep or sanitizer report.
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: check.sh VER..."

# Kernel log lines that fail a run.
BAD='WARNING:|BUG:|Oops|general protection fault|Call Trace|possible circular locking|INFO: possible|UBSAN|KASAN|kernel BUG|Kernel panic|soft lockup|hard LOCKUP|blocked for more than|detected stall|refcount_t:|list_(add|del) corruption'

tp=0 tf=0 ts=0 rc=0
for ver in "$@"; do
	dir=$MGPU_BUILD/$ver
	res=$dir/result.log
	con=$dir/console.log
	summary=$(awk -f "$MGPU_ROOT/scripts/parse-ktap.awk" "$res" 2>/dev/null || echo "0 0 0 0")
	set -- $summary
	p=$1 f=$2 s=$3 end=$4
	notes=
	# Failures before the boot (scripts/ci.sh): build, sparse, selftests.
	noboot=
	if [ -f "$dir/prefail" ]; then
		while IFS= read -r line; do
			case $line in
			noboot:*) noboot=1 ;;
			*) f=$((f + 1)) ;;
			esac
			notes="$notes; ${line#*: }"
		done <"$dir/prefail"
	fi
	if [ -n "$noboot" ]; then
		f=$((f + 1))
	elif [ "$end" != 1 ]; then
		f=$((f + 1))
		notes="$notes; NO VERDICT ($(cat "$dir/qemu-status" 2>/dev/null || echo 'guest did not finish'))"
	fi
	# Kernel log: the dmesg section of the verdict channel plus the console.
	bad=$({
		[ -f "$res" ] && sed -n '/^MGPU-DMESG-BEGIN/,/^MGPU-DMESG-END/p' "$res"
		[ -f "$con" ] && cat "$con"
	} | tr -d '\r' | grep -E "$BAD" | sed 's/^\[ *[0-9.]*\] //' | awk '!seen[$0]++' || true)
	if [ -n "$bad" ]; then
		f=$((f + 1))
		notes="$notes; KERNEL LOG HAS WARNINGS"
	fi
	secs=$(cat "$dir/boot-seconds" 2>/dev/null || echo '?')
	where="guest ${secs}s"
	[ "$ver" = host ] && where="host tests"
	[ "$ver" = dkms ] && where="DKMS builds by the mgpu-dkms package"
	[ "$ver" = deb ] && where="make deb and lintian"
	[ "$ver" = compat ] && where="compat probes compiled both ways"
	[ "$ver" = fuzz ] && where="fuzz targets"
	echo "$ver: $p passed, $f failed, $s skipped ($where)$notes"
	awk -f "$MGPU_ROOT/scripts/parse-ktap.awk" "$res" 2>/dev/null | tail -n +2 | sed 's/^/  /'
	if [ -n "$bad" ]; then
		echo "$bad" | head -n 40 | sed 's/^/  kernel: /'
		echo "  (full logs: $res, $con)"
	elif [ "$end" != 1 ]; then
		echo "  console tail ($con):"
		tail -n 15 "$con" 2>/dev/null | tr -d '\r' | sed 's/^/  | /'
	fi
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
	[ "$f" = 0 ] || rc=1
done
echo "$tp passed, $tf failed, $ts skipped"
exit $rc
