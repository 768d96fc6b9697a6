#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the fuzz targets (tools/fuzz: kernel/ files compiled unchanged in
# userspace with libFuzzer and sanitizers, zero warnings) and give each a
# short run from its committed corpus.
#
# usage: scripts/fuzz-check.sh
#   output: build/fuzz/result.log (KTAP + MGPU-RESULT-END, one line per
#           target, read by scripts/check.sh as "fuzz"), build/fuzz/prefail
#           on a build failure.  FUZZ_CHECK_RUNS: executions per target
#           (200000).  "make fuzz" is the long run.
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/fuzz
rm -f "$out/result.log" "$out/prefail"
mkdir -p "$out"
log=$out/build.log
info "fuzz: build and short runs"
if ! make -C "$MGPU_ROOT/tools/fuzz" OUTPUT="$out/" >"$log" 2>&1; then
	cat "$log" >&2
	echo "noboot: fuzz targets build failed or warned (log: $log)" >"$out/prefail"
	echo MGPU-RESULT-END >"$out/result.log"
	exit 1
fi
make -s --no-print-directory -C "$MGPU_ROOT/tools/fuzz" OUTPUT="$out/" \
	FUZZ_CHECK_RUNS="${FUZZ_CHECK_RUNS:-200000}" check >"$out/result.log" 2>&1 || true
echo MGPU-RESULT-END >>"$out/result.log"
