#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# In the QEMU guest: the packaged libmgpu1 (libmgpu.so.1 at the path
# dpkg installs it to) drives a vGPU.  mgpu-smoke was built against
# libmgpu-dev's pkg-config file (scripts/pkgroot.sh) and is dynamically
# linked; the vGPU is created with the packaged mgpuctl.  KTAP on stdout.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
echo "KTAP version 1"
echo "1..3"
lib=$(ls /usr/lib/*/libmgpu.so.1 2>/dev/null | head -n1)
ldso=$(ls /lib64/ld-linux-*.so.* 2>/dev/null | head -n1)
if [ -n "$lib" ] && [ -n "$ldso" ] &&
   "$ldso" --list "$here/mgpu-smoke" 2>&1 | grep -q "libmgpu.so.1 => $lib"; then
	echo "ok 1 libmgpu: mgpu-smoke resolves libmgpu.so.1 to the packaged $lib"
else
	echo "not ok 1 libmgpu: mgpu-smoke does not resolve libmgpu.so.1 to the packaged library"
	[ -n "$ldso" ] && "$ldso" --list "$here/mgpu-smoke" 2>&1 | sed 's/^/# /'
fi
# The first software GPU: DDDD:00:00.0, DDDD the domain of mgpu's PCI bus.
parent=$(printf '%04x:00:00.0' "$(cat /sys/module/mgpu/parameters/pci_domain)")
uuid=$(mgpuctl dev create --parent "$parent" --type mgpu-1_4 2>/tmp/libmgpu.err)
if [ -n "$uuid" ] && [ -e "/sys/bus/mdev/devices/$uuid" ]; then
	echo "ok 2 libmgpu: packaged mgpuctl created $uuid"
else
	echo "not ok 2 libmgpu: mgpuctl dev create failed"
	sed 's/^/# /' /tmp/libmgpu.err
	echo "ok 3 libmgpu: mgpu-smoke # SKIP no vGPU"
	exit 1
fi
"$here/mgpu-smoke" "$uuid" >/tmp/smoke.out 2>&1
rc=$?
if [ $rc = 0 ] && grep -q PASS /tmp/smoke.out; then
	echo "ok 3 libmgpu: mgpu-smoke on the packaged libmgpu.so.1: PASS"
else
	echo "not ok 3 libmgpu: mgpu-smoke on the packaged libmgpu.so.1 (exit $rc)"
	sed 's/^/# /' /tmp/smoke.out | tail -n 20
fi
mgpuctl dev remove "$uuid" >/dev/null 2>&1
[ $rc = 0 ]
