#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the guest test programs that live outside selftests/mgpu (static,
# KTAP on stdout): today selftests/mgpu_iommufd/mgpu_iommufd_test, the
# vGPU opened through the legacy group/container and through the
# iommufd device cdev.  scripts/mkinitramfs.sh appends them to the test
# list (MGPU_EXTRA_TESTS, default build/extra-tests).
#
# usage: scripts/build-extra-tests.sh
#   output: build/extra-tests/<programs> and "list"
set -eu
. "$(dirname "$0")/lib.sh"

out=$MGPU_BUILD/extra-tests
rm -rf "$out"
mkdir -p "$out"
: >"$out/list.tmp"
for t in mgpu_iommufd/mgpu_iommufd_test; do
	name=${t##*/}
	log=$out/$name.log
	if ! ${CC:-gcc} -Wall -Wextra -Werror -O2 -static -D_GNU_SOURCE \
		-o "$out/$name" "$MGPU_ROOT/selftests/$t.c" >"$log" 2>&1; then
		cat "$log" >&2
		die "$t: build failed (log: $log)"
	fi
	echo "$name" >>"$out/list.tmp"
done
mv "$out/list.tmp" "$out/list"
