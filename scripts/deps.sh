#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install (with apt, only when missing) what building and booting needs.
# usage: scripts/deps.sh
set -eu
. "$(dirname "$0")/lib.sh"

# gcc-12: Debian's 6.1 and 6.12 headers both call gcc-12 by name.
# libc6-dev: libc.a, the selftests are linked -static.
# mgpuctl: libudev-dev, libpci-dev, libjson-c-dev, pkg-config; python3-docutils for
# its man page (rst2man), python3 for its JSON checks; mdevctl for the
# interoperability tests in the guest; pciutils (lspci, pci.ids) for the
# test VM.  dkms: the DKMS builds of make check.
# clang-14, libclang-rt-14-dev (libFuzzer, sanitizers): tools/fuzz.
ensure_pkgs make gcc gcc-12 libc6-dev bc sparse dwarves \
	qemu-system-x86 busybox-static cpio kmod xz-utils gzip \
	coreutils findutils file linux-source-6.12 \
	libudev-dev libpci-dev libjson-c-dev pkg-config python3 python3-docutils \
	mdevctl dkms clang-14 libclang-rt-14-dev pciutils pci.ids
