#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the end-to-end programs of tools/guest (mgpu-guest, mgpu-lstm;
# static) into build/guest.
# usage: scripts/build-guest.sh
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/guest
log=$MGPU_BUILD/guest.log
mkdir -p "$out"
if ! make -C "$MGPU_ROOT/tools/guest" OUTPUT="$out/" >"$log" 2>&1; then
	cat "$log" >&2
	die "tools/guest build failed (log: $log)"
fi
if grep -Ei 'warning:' "$log" >&2; then
	die "tools/guest build has warnings, see above (log: $log)"
fi
