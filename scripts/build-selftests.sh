#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the mgpu selftests (static programs for the initramfs).
#
# usage: scripts/build-selftests.sh
#
# Contract with selftests/mgpu/Makefile (lib.mk style):
#   make -C selftests/mgpu KSFT_INCLUDE=<dir> OUTPUT=<dir>
#     KSFT_INCLUDE: absolute directory holding kselftest.h and
#                   kselftest_harness.h (extracted here from
#                   /usr/src/linux-source-6.12.tar.xz into build/ksft)
#     OUTPUT:       absolute directory for the programs (build/selftests)
#   The programs are $(TEST_GEN_PROGS), linked -static.  Files "settings"
#   (timeout=SECS) and "config" next to the Makefile are shipped too.
# Output: build/selftests/<programs>, settings, config, and "list" (the
# programs to run, in order).
set -eu
. "$(dirname "$0")/lib.sh"

src=${MGPU_SELFTESTS_SRC:-$MGPU_ROOT/selftests/mgpu}
ksft=$MGPU_BUILD/ksft
out=$MGPU_BUILD/selftests

# kselftest headers from the kernel source package.
tarball=${MGPU_KSFT_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
if [ ! -f "$ksft/kselftest_harness.h" ] || [ ! -f "$ksft/.stamp" ] ||
   [ "$(cat "$ksft/.stamp")" != "$tarball $(stat -c %Y "$tarball" 2>/dev/null)" ]; then
	[ -f "$tarball" ] || die "$tarball not found (fix: apt-get install linux-source-6.12, or set MGPU_KSFT_TARBALL)"
	info "extracting kselftest headers from $tarball"
	top=$(basename "$tarball" | sed 's/\.tar\..*$//')
	rm -rf "$ksft" "$ksft.tmp"
	mkdir -p "$ksft.tmp"
	tar -xf "$tarball" -C "$ksft.tmp" --strip-components=4 --wildcards \
		"$top/tools/testing/selftests/kselftest*.h" ||
		die "cannot extract tools/testing/selftests/kselftest*.h from $tarball"
	[ -f "$ksft.tmp/kselftest_harness.h" ] || die "no kselftest_harness.h in $tarball"
	echo "$tarball $(stat -c %Y "$tarball")" >"$ksft.tmp/.stamp"
	mv "$ksft.tmp" "$ksft"
fi

rm -rf "$out"
mkdir -p "$out"
if [ ! -f "$src/Makefile" ]; then
	info "no $src/Makefile: no selftests to build"
	: >"$out/list"
	exit 0
fi

# Linked with the packaged libmgpu when make check unpacked it.
libmgpu_a=$(packaged_libmgpu_a)
info "building selftests${libmgpu_a:+ (libmgpu from the libmgpu-dev package)}"
log=$MGPU_BUILD/selftests.log
if ! make -C "$src" KSFT_INCLUDE="$ksft" OUTPUT="$out" LIBMGPU_A="$libmgpu_a" >"$log" 2>&1; then
	cat "$log" >&2
	die "selftests build failed (log: $log)"
fi
if grep -Ei 'warning:' "$log" >&2; then
	die "selftests build has warnings, see above (log: $log)"
fi

# The programs: $(TEST_GEN_PROGS) as the Makefile defines it.
printer=$MGPU_BUILD/print-progs.mk
printf 'mgpu-print-progs:\n\t@echo $(TEST_GEN_PROGS)\n' >"$printer"
progs=$(make -s --no-print-directory -C "$src" -f Makefile -f "$printer" \
	KSFT_INCLUDE="$ksft" OUTPUT="$out" mgpu-print-progs 2>/dev/null || true)
rm -f "$printer"
: >"$out/list"
for p in $progs; do
	p=$(basename "$p")
	[ -x "$out/$p" ] || die "selftest program $p was not built in $out (fix: selftests/mgpu/Makefile must honour OUTPUT)"
	echo "$p" >>"$out/list"
done
if [ ! -s "$out/list" ]; then
	# No TEST_GEN_PROGS: every ELF executable in OUTPUT.
	for f in "$out"/*; do
		[ -f "$f" ] && [ -x "$f" ] && file -L "$f" | grep -q ELF && basename "$f" >>"$out/list"
	done
fi
for f in settings config; do
	[ -f "$src/$f" ] && cp "$src/$f" "$out/"
done

# cx16-flags (tools/testing/cx16-flags): the test VM's CPU model either
# does not offer CMPXCHG16B or gets its flags right (bookworm's QEMU gets
# them wrong; scripts/run-qemu.sh turns it off).  First in the list.
cc=${CC:-gcc}
if ! $cc -Wall -Wextra -Werror -O2 -static -o "$out/cx16-flags" \
	"$MGPU_ROOT/tools/testing/cx16-flags/cx16-flags.c" 2>"$MGPU_BUILD/cx16-flags.log"; then
	cat "$MGPU_BUILD/cx16-flags.log" >&2
	die "cx16-flags build failed (log: $MGPU_BUILD/cx16-flags.log)"
fi
{ echo cx16-flags; cat "$out/list"; } >"$out/list.new" && mv "$out/list.new" "$out/list"

# The VFIO fuzzer (tools/testing/vfio-fuzz, its own Makefile): one more
# program, last in the list.  MGPU_VFIO_FUZZ=0 leaves it out.
if [ "${MGPU_VFIO_FUZZ:-1}" != 0 ]; then
	fzlog=$MGPU_BUILD/vfio-fuzz.log
	make -C "$MGPU_ROOT/tools/testing/vfio-fuzz" OUTPUT="$out" \
		LIBMGPU_OUT="$MGPU_BUILD/vfio-fuzz" >"$fzlog" 2>&1 ||
		{ cat "$fzlog" >&2; die "vfio-fuzz build failed (log: $fzlog)"; }
	! grep -Ei 'warning:' "$fzlog" >&2 ||
		die "vfio-fuzz build has warnings, see above (log: $fzlog)"
	echo mgpu_vfio_fuzz >>"$out/list"
fi
info "selftests: $(tr '\n' ' ' <"$out/list")"
