#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Sid's QEMU (11.x) on this bookworm host, for the outer test VM:
# bookworm's QEMU 7.2 lacks the MTTCG fix that nested guests' early-boot
# panics point at (Documentation/nested.rst).  Copies qemu-system-x86_64,
# its libraries (with sid's ld.so), its modules and firmware out of the
# sid root image (scripts/rootfs.sh sid; debugfs, no loop mount) and
# prints the path of a wrapper that runs it with them:
#
#   MGPU_QEMU=$(scripts/sid-qemu.sh) make nested-soak
#
# usage: scripts/sid-qemu.sh    build if needed, print the wrapper's path
# Cache: $MGPU_CACHE/sid-qemu/IMAGE/ (IMAGE: the root image's name, so a
# new sid image gives a new copy; older copies are deleted).
set -eu
. "$(dirname "$0")/lib.sh"

command -v debugfs >/dev/null || die "debugfs not found (fix: apt-get install e2fsprogs)"
img=$("$MGPU_ROOT/scripts/rootfs.sh" sid)
name=$(basename "$img" .img)
top=$MGPU_CACHE/sid-qemu
dir=$top/$name
wrapper=$dir/qemu-system-x86_64
if [ ! -x "$wrapper" ]; then
	cache_lock sid-qemu
	if [ ! -x "$wrapper" ]; then
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp/usr/bin" "$dir.tmp/usr/lib" "$dir.tmp/usr/share"
		info "sid-qemu: copying QEMU out of $img"
		{
			debugfs -R "dump -p /usr/bin/qemu-system-x86_64 $dir.tmp/usr/bin/qemu-system-x86_64" "$img"
			debugfs -R "rdump /usr/lib/x86_64-linux-gnu $dir.tmp/usr/lib" "$img"
			debugfs -R "rdump /usr/share/qemu /usr/share/seabios $dir.tmp/usr/share" "$img"
		} >"$dir.tmp.log" 2>&1 || die "sid-qemu: debugfs failed (log: $dir.tmp.log)"
		[ -s "$dir.tmp/usr/bin/qemu-system-x86_64" ] ||
			die "sid-qemu: no qemu-system-x86_64 in $img"
		# Sid's ld.so with sid's libraries, so the host's glibc does
		# not matter; firmware (-L) and modules from sid too.
		cat >"$dir.tmp/qemu-system-x86_64" <<-'EOF'
		#!/bin/sh
		# Sid's QEMU from scripts/sid-qemu.sh, with sid's libraries.
		R=$(dirname "$(readlink -f "$0")")
		export QEMU_MODULE_DIR="$R/usr/lib/x86_64-linux-gnu/qemu"
		exec "$R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
			--library-path "$R/usr/lib/x86_64-linux-gnu" \
			"$R/usr/bin/qemu-system-x86_64" \
			-L "$R/usr/share/qemu" -L "$R/usr/share/seabios" "$@"
		EOF
		chmod 755 "$dir.tmp/qemu-system-x86_64"
		"$dir.tmp/qemu-system-x86_64" --version >/dev/null ||
			die "sid-qemu: the copied QEMU does not run (log: $dir.tmp.log)"
		rm -f "$dir.tmp.log"
		for old in "$top"/*; do
			[ "$old" = "$dir.tmp" ] || rm -rf "$old"
		done
		mv "$dir.tmp" "$dir"
		info "sid-qemu: $("$wrapper" --version | head -n1)"
	fi
fi
echo "$wrapper"
