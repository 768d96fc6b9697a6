#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build mgpu through DKMS for every kernel of the matrix, as a distro
# package would (dkms add/build/install with dkms.conf), in private DKMS
# trees under build/dkms/ so that the host's /usr/src and /var/lib/dkms
# stay untouched.
#
# usage: scripts/dkms-check.sh VER...
#   output: build/dkms/result.log (KTAP + MGPU-RESULT-END, read by
#           scripts/check.sh as "dkms"), build/dkms/VER/mgpu.ko (the
#           module DKMS built and installed, uncompressed: ci.sh boots it
#           on one kernel).
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: dkms-check.sh VER..."

top=$MGPU_BUILD/dkms
ver=$(sed -n 's/^VERSION := //p' "$MGPU_ROOT/Makefile")
[ -n "$ver" ] || die "no VERSION in Makefile"
rm -rf "$top"
mkdir -p "$top/source" "$top/tree" "$top/install"
res=$top/result.log
info "dkms: add/build/install mgpu/$ver for: $*"

# The DKMS source tree, exactly as "make dkms-install" makes it.
make -s -C "$MGPU_ROOT" dkms-src DKMS_SRC="$top/source/mgpu-$ver" >"$top/src.log" 2>&1 ||
	{ cat "$top/src.log" >&2; die "dkms: could not make the source tree"; }

dkms_() {
	dkms --dkmstree "$top/tree" --sourcetree "$top/source" \
		--installtree "$top/install" "$@"
}

n=0
{
	echo "KTAP version 1"
	echo "1..$(($# * 2 + 1))"
	n=$((n + 1))
	if dkms_ add "mgpu/$ver" >"$top/add.log" 2>&1; then
		echo "ok $n dkms: add mgpu/$ver"
	else
		echo "not ok $n dkms: add mgpu/$ver"
		sed 's/^/# /' "$top/add.log"
	fi
	for k in "$@"; do
		n=$((n + 1))
		log=$top/build-$k.log
		mlog=$top/tree/mgpu/$ver/$k/x86_64/log/make.log
		if dkms_ build "mgpu/$ver" -k "$k" >"$log" 2>&1 &&
		   [ -f "$mlog" ] && ! grep -Eq 'warning:|error:' "$mlog"; then
			echo "ok $n dkms: build mgpu/$ver for $k (W=1, no warnings)"
		else
			echo "not ok $n dkms: build mgpu/$ver for $k"
			tail -n 30 "$log" | sed 's/^/# /'
			grep -E 'warning:|error:' "$mlog" 2>/dev/null |
				head -20 | sed 's/^/# /'
		fi
		n=$((n + 1))
		log=$top/install-$k.log
		mkdir -p "$top/$k" "$top/install/$k"
		if dkms_ install "mgpu/$ver" -k "$k" --force >"$log" 2>&1 &&
		   ko=$(find "$top/install/$k" -name 'mgpu.ko*' | head -n1) &&
		   [ -n "$ko" ]; then
			case $ko in
			*.xz) xz -dc "$ko" >"$top/$k/mgpu.ko" ;;
			*.zst) zstd -qdc "$ko" >"$top/$k/mgpu.ko" ;;
			*) cp "$ko" "$top/$k/mgpu.ko" ;;
			esac
			echo "ok $n dkms: install mgpu/$ver for $k ($(basename "$ko"))"
		else
			echo "not ok $n dkms: install mgpu/$ver for $k"
			tail -n 30 "$log" | sed 's/^/# /'
		fi
	done
	echo MGPU-RESULT-END
} >"$res" 2>&1
grep -q '^not ok' "$res" && return_code=1 || return_code=0
exit $return_code
