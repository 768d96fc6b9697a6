#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A short run of each fuzz target from its committed corpus; KTAP on
# stdout, one result line per target.  A crash, an invariant broken, a
# sanitizer report or a hang fails the target; its input is kept.
#
# usage: FUZZ_OUT=build/fuzz/ FUZZ_RUNS=200000 run-check.sh TARGET...
#   needs $FUZZ_OUT/fuzz_TARGET (make -C tools/fuzz); logs and crashing
#   inputs go to $FUZZ_OUT/check/.  FUZZ_JOBS: targets run at once (nproc).
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${FUZZ_OUT:?set FUZZ_OUT to the build directory of tools/fuzz}
runs=${FUZZ_RUNS:-200000}
# A cap on the time per target, so a slow machine still finishes.
secs=${FUZZ_CHECK_SECONDS:-10}
dir=$out/check
rm -rf "$dir"
mkdir -p "$dir"

# check N TARGET: one target's run; its KTAP lines in $dir/TARGET.ktap
check() {
	n=$1 t=$2
	log=$dir/$t.log
	mkdir -p "$dir/$t"
	"$out/fuzz_$t" -runs="$runs" -max_total_time="$secs" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$dir/$t-" \
		"$dir/$t" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	done_=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(sed -n 's/^#[0-9]*[ \t]*DONE[ \t]*cov: \([0-9]*\).*/\1/p' "$log")
	{
		echo "# fuzz_$t: ${done_:-?} runs, ${rate:-?} exec/s, cov ${cov:-?}"
		if [ "$rc" = 0 ] && [ -n "$done_" ]; then
			echo "ok $n fuzz_$t"
		else
			grep -E 'invariant broken|ERROR: |runtime error|SUMMARY|Test unit written' \
				"$log" | head -n 8 | sed 's/^/# /'
			echo "# (exit status $rc, log: $log)"
			echo "not ok $n fuzz_$t"
		fi
	} >"$dir/$t.ktap"
}

# The targets are single-threaded: run as many at once as there are
# CPUs (FUZZ_JOBS), then print their results in order.
jobs=${FUZZ_JOBS:-$(nproc)}
n=0
for t in "$@"; do
	n=$((n + 1))
	check "$n" "$t" &
	[ $((n % jobs)) = 0 ] && wait
done
wait
echo "KTAP version 1"
echo "1..$#"
n=0
for t in "$@"; do
	n=$((n + 1))
	cat "$dir/$t.ktap" 2>/dev/null || echo "not ok $n fuzz_$t # no result"
done
