#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the guest test programs that live outside selftests/mgpu (static,
# KTAP on stdout): selftests/mgpu_iommufd/mgpu_iommufd_test, the vGPU
# opened through the legacy group/container and through the iommufd
# device cdev; selftests/mgpu_train/mgpu_train_test, the LSTM model
# trained on the engine (with tools/guest's mgpu-train).
# scripts/mkinitramfs.sh appends them to the test list
# (MGPU_EXTRA_TESTS, default build/extra-tests).
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
# mgpu-train, with the libmgpu of this tree (LIBMGPU_A as make check's).
log=$out/mgpu-train.log
if ! make -C "$MGPU_ROOT/tools/guest" OUTPUT="$out/guest/" \
	"$out/guest/mgpu-train" >"$log" 2>&1; then
	cat "$log" >&2
	die "tools/guest mgpu-train: build failed (log: $log)"
fi
cp "$out/guest/mgpu-train" "$MGPU_ROOT/selftests/mgpu_train/mgpu_train_test" "$out/"
echo mgpu_train_test >>"$out/list.tmp"
mv "$out/list.tmp" "$out/list"
