#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mgpuctl against the real driver, in the QEMU guest (busybox, no udevd):
# create/remove, attributes, capacity errors, top -j under load,
# definitions, start/stop, parent add/remove, autostart of a new parent,
# and mdevctl interoperability (define, modify, --jsonfile, --dumpjson).  KTAP on stdout; run by scripts/testvm-init from the
# initramfs test list (scripts/mkinitramfs.sh installs mgpuctl, mdevctl
# and mgpu-load).
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
here=$(cd "$(dirname "$0")" && pwd)
LOAD=$here/mgpu-load
T=/tmp/mgpuctl-test
mkdir -p "$T"
n=0
failed=0
echo "KTAP version 1"

ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() {
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n $1"
	[ -s "$T/out" ] && sed 's/^/# stdout: /' "$T/out" | head -n 15
	[ -s "$T/err" ] && sed 's/^/# stderr: /' "$T/err" | head -n 10
	return 0
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
# run CMD...: output in $T/out, $T/err; status in $rc
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# check NAME COND...: ok when the shell condition holds
check() {
	name=$1
	shift
	if eval "$@"; then ok "$name"; else notok "$name"; fi
}
val() { cat "/sys/bus/mdev/devices/$1/mgpu/$2" 2>/dev/null; }
active() { [ -e "/sys/bus/mdev/devices/$1" ]; }
# json_num KEY FILE: the first numeric value of "KEY" (integer part)
json_num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2" | head -n1; }

U2=11111111-2222-4333-8444-000000000002
U3=11111111-2222-4333-8444-000000000003
U4=11111111-2222-4333-8444-000000000004
U5=11111111-2222-4333-8444-000000000005
mkdir -p /etc/mdevctl.d/scripts.d/callouts /etc/mdevctl.d/scripts.d/notifiers

# Software GPUs are PCI functions DDDD:00:SS.0 (DDDD: mgpu's pci_domain).
D=$(printf %04x "$(cat /sys/module/mgpu/parameters/pci_domain 2>/dev/null || echo 28007)")
P0=$D:00:00.0
P1=$D:00:01.0
P5=$D:00:05.0
P7=$D:00:07.0

run mgpuctl parent list
check "parent list shows $P0" '[ $rc = 0 ] && grep -q "^$P0: backend software" "$T/out"'
run mgpuctl -j type list --parent "$P0"
check "type list -j" '[ $rc = 0 ] && grep -q "\"type\":\"mgpu-1_4\"" "$T/out"'

run mgpuctl dev create --parent "$P0" --type mgpu-1_4
U1=$(cat "$T/out")
check "dev create prints the UUID and the instance exists" '[ $rc = 0 ] && active "$U1"'
run mgpuctl dev list
check "dev list shows the instance" 'grep -q "^$U1: parent $P0 type mgpu-1_4 state active" "$T/out"'
run mgpuctl dev set "$U1" weight=3 cap=80
check "dev set weight and cap" '[ $rc = 0 ] && [ "$(val $U1 weight)" = 3 ] && [ "$(val $U1 cap)" = 80 ]'
run mgpuctl parent set "$P0" policy=fixed_share time_slice_us=4000
check "parent set policy and time slice" '[ $rc = 0 ] && [ "$(cat /sys/bus/pci/devices/$P0/sched_policy)" = fixed_share ] && [ "$(cat /sys/bus/pci/devices/$P0/time_slice_us)" = 4000 ]'
mgpuctl parent set "$P0" policy=best_effort time_slice_us=2000
run mgpuctl dev create --parent "$P0" --type mgpu-passthrough
check "no capacity: the cause from last_error" '[ $rc = 1 ] && grep -q "^mgpuctl: no capacity for type mgpu-passthrough on $P0: ..*" "$T/err"'
run mgpuctl dev create --parent "$P0" --type mgpu-1_4 --uuid "$U1"
check "UUID already exists" '[ $rc = 1 ] && grep -q "UUID already exists" "$T/err"'
run mgpuctl dev create --parent "$P7" --type mgpu-1_4
check "missing parent" '[ $rc = 3 ] && grep -q "no mgpu parent $P7" "$T/err"'
run mgpuctl dev qemu "$U1"
check "dev qemu" '[ "$(cat $T/out)" = "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$U1" ]'

# top -j while a workload runs
if [ -x "$LOAD" ]; then
	"$LOAD" "$U1" 8 2>"$T/load.err" &
	lpid=$!
	sleep 2
	run mgpuctl dev list
	check "dev list names the process holding the instance" 'grep -q "users mgpu-load($lpid)" "$T/out"'
	c1=$(val "$U1" commands)
	run mgpuctl -j top -d 2
	c2=$(val "$U1" commands)
	cp "$T/out" "$T/top1"
	util=$(sed -n 's/.*"utilization":\([0-9]*\)\.[0-9]*,"commands_per_s".*/\1/p' "$T/top1")
	cps=$(sed -n 's/.*"commands_per_s":\([0-9]*\).*/\1/p' "$T/top1")
	echo "# top -j: utilization ${util:-?}% commands/s ${cps:-?}"
	check "top -j: commands/s > 0 under load" '[ $rc = 0 ] && [ "${cps:-0}" -gt 0 ]'
	check "top -j: utilization > 0 under load" '[ "${util:-0}" -gt 0 ]'
	check "counters move (across top's interval)" '[ "$c2" -gt "$c1" ]'
	wait "$lpid"
	lrc=$?
	[ "$lrc" = 0 ] || sed 's/^/# mgpu-load: /' "$T/load.err"
	check "workload ran cleanly" '[ $lrc = 0 ]'
else
	skip "top -j under load" "no mgpu-load"
fi

run mgpuctl dev remove "$U1"
check "dev remove" '[ $rc = 0 ] && ! active "$U1"'

# Definitions, start, stop
run mgpuctl dev define --parent "$P0" --type mgpu-1_8 --uuid "$U2" weight=5
check "dev define writes /etc/mdevctl.d/$P0/UUID" '[ $rc = 0 ] && grep -q "\"mgpu/weight\": \"5\"" /etc/mdevctl.d/$P0/$U2'
run mgpuctl dev start "$U2"
check "dev start creates and applies attrs" '[ $rc = 0 ] && active "$U2" && [ "$(val $U2 weight)" = 5 ]'
run mgpuctl dev list --defined
check "dev list --defined: active and defined" 'grep -q "^$U2: parent $P0 type mgpu-1_8 state active defined yes start manual" "$T/out"'
run mgpuctl dev stop "$U2"
check "dev stop removes, keeps the definition" '[ $rc = 0 ] && ! active "$U2" && [ -f /etc/mdevctl.d/$P0/$U2 ]'

# Autostart when a parent appears (what the udev rule runs)
run mgpuctl dev define --parent "$P1" --type mgpu-1_2 --uuid "$U3" --auto cap=50
check "define on a parent that does not exist yet" '[ $rc = 0 ]'
run mgpuctl parent add vram=64M queues=16
check "parent add made $P1 and printed its name" '[ $rc = 0 ] && [ "$(cat "$T/out")" = "$P1" ] && [ -d /sys/bus/pci/devices/$P1 ] && [ -e /sys/class/mdev_bus/$P1 ]'
run mgpuctl dev autostart --parent "$P1"
check "autostart starts the auto definition" '[ $rc = 0 ] && active "$U3" && [ "$(val $U3 cap)" = 50 ] && grep -q "started 1 failed 0" "$T/out"'
run mgpuctl dev autostart --parent "$P1"
check "autostart again starts nothing" '[ $rc = 0 ] && grep -q "started 0 failed 0" "$T/out"'
run mgpuctl parent remove "$P1"
check "parent remove" '[ $rc = 0 ] && [ ! -e /sys/bus/pci/devices/$P1 ]'
run mgpuctl parent remove "$P1"
check "parent remove of a missing parent" '[ $rc = 3 ] && grep -q "no software GPU $P1" "$T/err"'
run mgpuctl dev list
check "removing the parent removes its instance; definition stays" '! active "$U3" && grep -q "^$U3: parent $P1 type mgpu-1_2 state stopped" "$T/out"'
run mgpuctl dev autostart --parent "$P5"
check "autostart of a missing parent fails once, clearly" '[ $rc = 3 ] && grep -q "autostart: parent $P5 has no mdev types" "$T/err"'
mgpuctl dev undefine "$U3"
# Scripts of before the PCI parents: swgpuN is the software GPU in slot N.
run mgpuctl parent add vram=16M engines=2
check "parent add again takes slot 1" '[ $rc = 0 ] && [ "$(cat "$T/out")" = "$P1" ]'
run mgpuctl parent show "$P1"
check "parent show: its two engine threads" '[ $rc = 0 ] && grep -q "^$P1: .* queues [0-9]* engines 2 policy " "$T/out"'
run mgpuctl -j parent show "$P1"
check "parent show -j: engines" '[ $rc = 0 ] && [ "$(json_num engines "$T/out")" = 2 ]'
run mgpuctl parent remove swgpu1
check "parent remove by the old name swgpu1" '[ $rc = 0 ] && [ ! -e /sys/bus/pci/devices/$P1 ]'

# mdevctl interoperability
if command -v mdevctl >/dev/null; then
	run mdevctl types
	check "mdevctl types lists mgpu types" '[ $rc = 0 ] && grep -q "mgpu-1_4" "$T/out" && grep -q "$P0" "$T/out"'
	run mdevctl start -u "$U4" -p "$P0" -t mgpu-1_4
	check "mdevctl start; mgpuctl sees it" '[ $rc = 0 ] && mgpuctl dev list | grep -q "^$U4: parent $P0 type mgpu-1_4 state active"'
	run mdevctl list --dumpjson
	check "mdevctl list --dumpjson" '[ $rc = 0 ] && grep -q "$U4" "$T/out"'
	run mdevctl stop -u "$U4"
	check "mdevctl stop" '[ $rc = 0 ] && ! active "$U4"'
	run mdevctl list -d
	check "mdevctl sees mgpuctl definitions" '[ $rc = 0 ] && grep -q "$U2 $P0 mgpu-1_8" "$T/out"'
	run mdevctl start -u "$U2"
	check "mdevctl starts an mgpuctl definition with its attrs" '[ $rc = 0 ] && active "$U2" && [ "$(val $U2 weight)" = 5 ]'
	mdevctl stop -u "$U2" >/dev/null 2>&1
	run mgpuctl dev modify "$U2" --auto weight=6
	check "mdevctl sees mgpuctl's modify" '[ $rc = 0 ] && mdevctl list -d | grep -q "^$U2 $P0 mgpu-1_8 auto"'
	run mdevctl modify -u "$U2" --manual
	check "mgpuctl sees mdevctl's modify" '[ $rc = 0 ] && mgpuctl dev list -d | grep -q "^$U2: parent $P0 type mgpu-1_8 state stopped defined yes start manual attrs mgpu/weight=6"'
	mdevctl list -d --dumpjson -p "$P0" >"$T/md.json" 2>&1
	run mgpuctl dev list -d --dumpjson -p "$P0"
	check "dev list --dumpjson is mdevctl's, byte for byte" '[ $rc = 0 ] && cmp -s "$T/md.json" "$T/out"'
	run mgpuctl dev define -p "$P0" -u "$U4" --jsonfile "/etc/mdevctl.d/$P0/$U2"
	check "define --jsonfile of an mdevctl file; mdevctl starts it" '[ $rc = 0 ] && mdevctl start -u "$U4" >/dev/null 2>&1 && active "$U4" && [ "$(val $U4 weight)" = 6 ]'
	mdevctl stop -u "$U4" >/dev/null 2>&1
	mgpuctl dev undefine "$U4"
	run mdevctl define -u "$U5" -p "$P0" -t mgpu-1_16
	check "mgpuctl sees mdevctl definitions" '[ $rc = 0 ] && mgpuctl dev list --defined | grep -q "^$U5: parent $P0 type mgpu-1_16 state stopped defined yes start manual"'
	run mgpuctl dev start "$U5"
	check "mgpuctl starts an mdevctl definition" '[ $rc = 0 ] && active "$U5"'
	mgpuctl dev stop "$U5"
	mdevctl undefine -u "$U5" >/dev/null 2>&1
else
	skip "mdevctl interoperability" "mdevctl not in the initramfs"
fi
mgpuctl dev undefine "$U2"
run mgpuctl dev list
check "clean at the end" '[ $rc = 0 ] && [ ! -s "$T/out" ]'

echo "1..$n"
[ "$failed" = 0 ]
