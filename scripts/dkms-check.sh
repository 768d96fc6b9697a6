#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build mgpu through the mgpu-dkms package for every kernel of the matrix,
# as a user's machine does: install the package (scripts/build-deb.sh
# built it) where each kernel's headers are, let its own postinst (dh_dkms:
# dkms add, build and install for the installed kernels) build the module,
# check it, then purge the package and check that nothing is left.
#
#   bookworm's kernels: on this host (apt-get install ./mgpu-dkms_*.deb),
#                       under the machine-wide "dkms-host" lock, since
#                       /usr/src, /var/lib/dkms and dpkg are shared;
#   sid's kernels:      in the sid root (scripts/sid.sh), under "sid-dpkg".
#
# usage: scripts/dkms-check.sh VER...
#   input:  build/deb/mgpu-dkms_*.deb
#   output: build/dkms/result.log (KTAP + MGPU-RESULT-END, read by
#           scripts/check.sh as "dkms"), build/dkms/VER/mgpu.ko (the
#           module the package's DKMS hook built and installed,
#           uncompressed: scripts/ci.sh boots it), build/dkms/*.log
set -eu
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || die "usage: dkms-check.sh VER..."

top=$MGPU_BUILD/dkms
deb=$(ls "$MGPU_BUILD"/deb/mgpu-dkms_*_all.deb 2>/dev/null | tail -n1 || true)
rm -rf "$top"
mkdir -p "$top"
res=$top/result.log

host_vers=
sid_vers=
for k in "$@"; do
	if kernel_from_sid "$k"; then
		sid_vers="$sid_vers $k"
	else
		host_vers="$host_vers $k"
	fi
done

# place_test NAME ROOT RUN VER...: install the package with RUN (empty
# for the host, "sid.sh --run V" for the sid root whose files are under
# ROOT), check VER..., purge.  Prints KTAP lines; numbering via $n in
# the file $top/n.
place_test() {
	name=$1 root=$2 run=$3
	shift 3
	mver=$(dpkg-deb -f "$deb" Version)
	mver=${mver%%-*}
	log=$top/install-$name.log
	num() {
		n=$(($(cat "$top/n") + 1))
		echo "$n" >"$top/n"
		echo "$n"
	}
	# A leftover of an interrupted run would make the postinst skip.
	$run sh -c 'dpkg -s mgpu-dkms >/dev/null 2>&1 && apt-get purge -y -q mgpu-dkms' >"$top/prepurge-$name.log" 2>&1 || true
	if $run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		-o DPkg::Lock::Timeout=600 --no-install-recommends "$deb" >"$log" 2>&1; then
		echo "ok $(num) dkms: apt-get install mgpu-dkms ($name; its postinst builds the module)"
	else
		echo "not ok $(num) dkms: apt-get install mgpu-dkms ($name)"
		tail -n 30 "$log" | sed 's/^/# /'
	fi
	for k in "$@"; do
		st=$($run dkms status -m mgpu -v "$mver" -k "$k" 2>&1 || true)
		mlog=$(find "$root/var/lib/dkms/mgpu/$mver/$k" "$root/var/lib/dkms/mgpu/$mver/build" \
			-name make.log 2>/dev/null | head -n1 || true)
		[ -n "$mlog" ] && cp "$mlog" "$top/make-$k.log"
		if echo "$st" | grep -q ': installed' && [ -n "$mlog" ] &&
		   ! grep -Eq 'warning:|error:' "$mlog"; then
			echo "ok $(num) dkms: the package built mgpu/$mver for $k (W=1, no warnings)"
		else
			echo "not ok $(num) dkms: the package built mgpu/$mver for $k"
			echo "$st" | sed 's/^/# status: /'
			grep -E 'warning:|error:' "$mlog" 2>/dev/null | head -20 | sed 's/^/# /'
			tail -n 20 "$log" | sed 's/^/# /'
		fi
		ko=$(find "$root/lib/modules/$k/updates" -name 'mgpu.ko*' 2>/dev/null | head -n1 || true)
		mkdir -p "$top/$k"
		if [ -n "$ko" ]; then
			case $ko in
			*.xz) xz -dc "$ko" >"$top/$k/mgpu.ko" ;;
			*.zst) zstd -qdc "$ko" >"$top/$k/mgpu.ko" ;;
			*) cp "$ko" "$top/$k/mgpu.ko" ;;
			esac
			echo "ok $(num) dkms: installed ${ko#"$root"}"
		else
			echo "not ok $(num) dkms: no mgpu.ko in /lib/modules/$k/updates"
		fi
	done
	plog=$top/purge-$name.log
	left=
	if $run env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q \
		-o DPkg::Lock::Timeout=600 mgpu-dkms >"$plog" 2>&1; then
		[ -e "$root/usr/src/mgpu-$mver" ] && left="$left /usr/src/mgpu-$mver"
		[ -e "$root/var/lib/dkms/mgpu" ] && left="$left /var/lib/dkms/mgpu"
		for k in "$@"; do
			f=$(find "$root/lib/modules/$k/updates" -name 'mgpu.ko*' 2>/dev/null | head -n1 || true)
			[ -z "$f" ] || left="$left ${f#"$root"}"
		done
		if [ -z "$left" ]; then
			echo "ok $(num) dkms: apt-get purge mgpu-dkms ($name; dkms remove, nothing left)"
		else
			echo "not ok $(num) dkms: apt-get purge mgpu-dkms ($name) left:$left"
		fi
	else
		echo "not ok $(num) dkms: apt-get purge mgpu-dkms ($name)"
		tail -n 30 "$plog" | sed 's/^/# /'
	fi
}

echo 0 >"$top/n"
{
	echo "KTAP version 1"
	if [ -z "$deb" ]; then
		echo "1..1"
		echo "not ok 1 dkms: no build/deb/mgpu-dkms_*_all.deb (scripts/build-deb.sh failed?)"
	else
		set -- $host_vers
		nh=$#
		set -- $sid_vers
		ns=$#
		total=0
		[ "$nh" = 0 ] || total=$((total + 2 + nh * 2))
		[ "$ns" = 0 ] || total=$((total + 2 + ns * 2))
		echo "1..$total"
		if [ "$nh" != 0 ]; then
			info "dkms: mgpu-dkms package on this host for:$host_vers" 2>>"$top/stderr"
			# shellcheck disable=SC2086
			(cache_lock dkms-host && place_test host "" "" $host_vers)
		fi
		if [ "$ns" != 0 ]; then
			info "dkms: mgpu-dkms package in the sid root for:$sid_vers" 2>>"$top/stderr"
			for k in $sid_vers; do
				root=$("$MGPU_ROOT/scripts/sid.sh" --root "$k")
				(cache_lock sid-dpkg && place_test "sid-$k" "$root" "$MGPU_ROOT/scripts/sid.sh --run $k" "$k")
			done
		fi
	fi
	echo MGPU-RESULT-END
} >"$res" 2>&1
cat "$top/stderr" >&2 2>/dev/null || true
if grep -q '^not ok' "$res"; then
	exit 1
fi
exit 0
