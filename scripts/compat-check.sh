#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Coverage of the compat layer: every HAVE_* probe of
# kernel/compat/probe.sh must be compiled both ways (defined on one kernel
# of the matrix, undefined on another), as the W=1 builds generated them
# (build/VER/mod/kernel/compat/compat-probed.h), or compat.h must carry a
# note "HAVE_X: ... untested ..." naming the kernel that would take the
# missing branch.  Since the probed kernels boot in QEMU afterwards, each
# branch also runs.
#
# usage: scripts/compat-check.sh VER...
#   output: build/compat/result.log (KTAP + MGPU-RESULT-END, read by
#           scripts/check.sh as "compat")
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/compat
rm -rf "$out"
mkdir -p "$out"
res=$out/result.log
macros=$(sed -n 's/^probe \(HAVE_[A-Z0-9_]*\) .*/\1/p' "$MGPU_ROOT/kernel/compat/probe.sh")
KLIST="$*"
set -- $macros
{
	echo "KTAP version 1"
	echo "1..$#"
	n=0
	for m in $macros; do
		n=$((n + 1))
		def= undef= missing=
		for v in $(echo "$KLIST" | tr ' ' '\n' | sort -V); do
			h=$MGPU_BUILD/$v/mod/kernel/compat/compat-probed.h
			if [ ! -f "$h" ]; then
				missing="$missing $v"
			elif grep -q "^#define $m 1" "$h"; then
				def="$def $v"
			else
				undef="$undef $v"
			fi
		done
		what="$m: defined on${def:- none}; undefined on${undef:- none}"
		if [ -n "$missing" ]; then
			echo "not ok $n compat: $what; not probed on$missing (W=1 build failed)"
		elif [ -n "$def" ] && [ -n "$undef" ]; then
			echo "ok $n compat: $what"
		elif grep -q "$m: .*untested" "$MGPU_ROOT/kernel/compat/compat.h"; then
			echo "ok $n compat: $what # SKIP other branch: see the note in compat.h"
		elif [ -n "${MGPU_KERNELS:-}" ]; then
			echo "ok $n compat: $what # SKIP one branch only in MGPU_KERNELS"
		else
			echo "not ok $n compat: $what: the other branch is never compiled (fix: a kernel that takes it, or a note '$m: ... untested ...' in compat.h)"
		fi
	done
	echo MGPU-RESULT-END
} >"$res"
! grep -q '^not ok' "$res"
