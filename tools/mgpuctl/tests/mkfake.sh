#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build a fake root (sysfs, /etc/mdevctl.d, /proc) for the mgpuctl host
# tests, shaped like what mgpu.ko and mdev create (relative symlinks
# included), so that MGPUCTL_ROOT=DIR mgpuctl ... works on any machine.
#
# usage: mkfake.sh DIR
set -eu
root=${1:?usage: mkfake.sh DIR}
rm -rf "$root"
mkdir -p "$root"
cd "$root"

U1=8e0ab4b6-6a2d-4c1a-9d0e-000000000001	# active 1/4 on 6d67:00:00.0, defined manual
U2=8e0ab4b6-6a2d-4c1a-9d0e-000000000002	# defined auto on 6d67:00:00.0, stopped
U3=8e0ab4b6-6a2d-4c1a-9d0e-000000000003	# foreign (mtty) definition
U4=8e0ab4b6-6a2d-4c1a-9d0e-000000000004	# corrupted definition
U5=8e0ab4b6-6a2d-4c1a-9d0e-000000000005	# active mtty instance: not ours

w() { mkdir -p "$(dirname "$1")"; printf '%s\n' "$2" >"$1"; }

# parent NAME VRAM_BYTES QUEUES UTIL "AVAIL..." (passthrough 1_2 1_4 1_8 1_16)
parent() {
	p=sys/devices/pci6d67:00/$1
	w "$p/backend" software
	w "$p/vram_size" "$2"
	w "$p/queues" "$3"
	w "$p/last_error" ""
	w "$p/sched_policy" best_effort
	w "$p/time_slice_us" 2000
	w "$p/engine_busy_ns" 123456789
	w "$p/utilization" "$4"
	set -- "$1" "$2" "$3" "$4" $5
	n=1
	for t in passthrough 1_2 1_4 1_8 1_16; do
		d=$p/mdev_supported_types/mgpu-$t
		if [ $t = passthrough ]; then name="mgpu passthrough"; else name="mgpu $(echo $t | tr _ /)"; fi
		w "$d/name" "$name"
		w "$d/description" "vram=$(($2 / n / 1048576))M, queues=$(($3 / n)), max_instances=$n"
		w "$d/device_api" vfio-pci
		eval "a=\${$((4 + (n == 1 ? 1 : n == 2 ? 2 : n == 4 ? 3 : n == 8 ? 4 : 5)))}"
		w "$d/available_instances" "$a"
		: >"$d/create"
		mkdir -p "$d/devices"
		n=$((n * 2))
	done
	# A function of mgpu's virtual PCI host bridge, bound to "mgpu".
	w "$p/vendor" 0x1f4d
	w "$p/device" 0x0002
	w "$p/subsystem_vendor" 0x1f4d
	w "$p/subsystem_device" 0x0002
	w "$p/class" 0x030200
	mkdir -p sys/bus/pci/devices sys/bus/pci/drivers/mgpu sys/class/mdev_bus
	ln -s ../../../bus/pci "$p/subsystem"
	ln -s ../../../bus/pci/drivers/mgpu "$p/driver"
	ln -s "../../../devices/pci6d67:00/$1" "sys/bus/pci/devices/$1"
	ln -s "../../../../devices/pci6d67:00/$1" "sys/bus/pci/drivers/mgpu/$1"
	ln -s "../../devices/pci6d67:00/$1" "sys/class/mdev_bus/$1"
}

mkdir -p sys/module/mgpu sys/class/mgpu sys/bus/mdev/devices sys/kernel/iommu_groups/7
: >sys/class/mgpu/add_swgpu
: >sys/class/mgpu/remove_swgpu
parent 6d67:00:00.0 268435456 16 37 "0 1 3 6 12"
# The first parent runs two engine threads; the second, as with a module
# before engines=N, does not say.
w sys/devices/pci6d67:00/6d67:00:00.0/engines 2
parent 6d67:00:01.0 67108864 16 0 "1 2 4 8 16"

# An active 1/4 instance on 6d67:00:00.0, opened by a "qemu" process.
d=sys/devices/pci6d67:00/6d67:00:00.0/$U1
mkdir -p "$d/mgpu"
for kv in vram_size=67108864 vram_offset=0 queues=4 queue_base=0 weight=4 cap=0 \
	busy_ns=5000000000 commands=1000 bytes=4096000 flops=0 errors=1 resets=0 \
	reg_traps=77 irqs=5; do
	w "$d/mgpu/${kv%%=*}" "${kv#*=}"
done
: >"$d/remove"
ln -s ../mdev_supported_types/mgpu-1_4 "$d/mdev_type"
ln -s ../../../../kernel/iommu_groups/7 "$d/iommu_group"
ln -s "../../$U1" "sys/devices/pci6d67:00/6d67:00:00.0/mdev_supported_types/mgpu-1_4/devices/$U1"
ln -s "../../../devices/pci6d67:00/6d67:00:00.0/$U1" "sys/bus/mdev/devices/$U1"
mkdir -p proc/4242/fd proc/1/fd
w proc/4242/comm qemu-system-x86
ln -s /dev/vfio/7 proc/4242/fd/9
ln -s /dev/vfio/vfio proc/4242/fd/8
w proc/1/comm init
ln -s /dev/null proc/1/fd/0

# A foreign mdev parent (mtty) with an instance: mgpuctl ignores both.
m=sys/devices/virtual/mtty/mtty
w "$m/mdev_supported_types/mtty-1/name" "Single port serial"
w "$m/mdev_supported_types/mtty-1/available_instances" 23
w "$m/mdev_supported_types/mtty-1/device_api" vfio-pci
mkdir -p "$m/$U5"
ln -s ../mdev_supported_types/mtty-1 "$m/$U5/mdev_type"
ln -s ../../devices/virtual/mtty/mtty sys/class/mdev_bus/mtty
ln -s "../../../devices/virtual/mtty/mtty/$U5" "sys/bus/mdev/devices/$U5"

# Definitions, in mdevctl's format.
w "etc/mdevctl.d/6d67:00:00.0/$U1" '{
  "mdev_type": "mgpu-1_4",
  "start": "manual",
  "attrs": []
}'
w "etc/mdevctl.d/6d67:00:00.0/$U2" '{
  "mdev_type": "mgpu-1_8",
  "start": "auto",
  "attrs": [
    {
      "mgpu/weight": "3"
    },
    {
      "mgpu/cap": "50"
    }
  ]
}'
w "etc/mdevctl.d/mtty/$U3" '{"mdev_type": "mtty-1", "start": "auto", "attrs": []}'
w "etc/mdevctl.d/6d67:00:09.0/$U4" '{"mdev_type": "mgpu-1_2", "start": "sometimes"'
mkdir -p etc/mdevctl.d/scripts.d/callouts

# A guest's view: one mgpu 1/4 vGPU on the PCI bus (for "guest list").
g=sys/devices/pci0000:00/0000:00:03.0
mkdir -p "$g" sys/bus/pci/devices
# config space: vendor 1f4d device 0001, class 0302, subsystem 1f4d:0102
{
	printf '\115\037\001\000\006\000\020\000\001\000\002\003\000\000\000\000'
	printf '\000\000\000\376\000\000\000\000\014\000\000\000\010\000\000\000'
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\115\037\002\001'
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\013\001\000\000'
} >"$g/config"
{
	printf '0x%016x 0x%016x 0x%016x\n' 0xfe000000 0xfe00ffff 0x40200
	printf '0x%016x 0x%016x 0x%016x\n' 0 0 0
	printf '0x%016x 0x%016x 0x%016x\n' 0x800000000 0x803ffffff 0x14220c
	for i in 3 4 5 6; do printf '0x%016x 0x%016x 0x%016x\n' 0 0 0; done
} >"$g/resource"
w "$g/vendor" 0x1f4d
w "$g/device" 0x0001
w "$g/subsystem_vendor" 0x1f4d
w "$g/subsystem_device" 0x0102
w "$g/class" 0x030200
w "$g/irq" 11
ln -s "../../../devices/pci0000:00/0000:00:03.0" sys/bus/pci/devices/0000:00:03.0
