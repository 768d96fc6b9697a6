#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Live migration with QEMU, run in the libvirt test VM after the libvirt
# tests (scripts/libvirtvm-init2).  KTAP on stdout, numbered from
# MGPU_KTAP_FIRST; the last number used goes to /tmp/ktap-last.
#
# A guest (the nested guest of make check) runs mgpu-guest --mode=migrate
# on an mgpu-1_4 vGPU: a workload that checks itself every round.  While
# it runs, QEMU migrates it to a QEMU with another mgpu-1_4 vGPU, then
# tries to migrate it on to a QEMU with an mgpu-1_8 vGPU (refused: the
# VM runs on where it is); the guest's workload must check every round
# across the switch and end cleanly on the destination.  QEMU before 8.1
# (bookworm's 7.2) has no VFIO migration v2: the tests skip there.
#
# Needs: qemu-system-x86_64, python3 (/mgpu/qmp.py), /mgpu/nested/{vmlinuz,
# initrd.gz}, the mgpu parent under test in $MGPU_PARENT_TYPES (the
# mdev_supported_types directory).

n=$((${MGPU_KTAP_FIRST:-1} - 1))
W=/tmp/mig
mkdir -p $W
QMP=/mgpu/qmp.py
SECS=${MGPU_MIGRATE_SECS:-420}

ok() {
	n=$((n + 1))
	echo "ok $n $*"
	echo $n >/tmp/ktap-last
}
notok() {
	n=$((n + 1))
	echo "not ok $n $*"
	echo $n >/tmp/ktap-last
}
skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
	echo $n >/tmp/ktap-last
}
diag() {
	sed 's/^/# | /' "$@" 2>/dev/null
}

T1="QEMU refuses to migrate a VM with a 1/4 vGPU to a 1/8 one; the source runs on"
T2="QEMU live-migrates a VM with an mgpu vGPU (enable-migration=on)"
T3="the guest's workload checks every round across the switch and ends on the destination"

types=${MGPU_PARENT_TYPES:-}
ver=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
set -- $ver
if [ "${1:-0}" -lt 8 ] || { [ "${1:-0}" -eq 8 ] && [ "${2:-0}" -lt 1 ]; }; then
	for t in "$T1" "$T2" "$T3"; do
		skip "$t" "QEMU $1.$2 has no VFIO migration v2 (8.1 or later)"
	done
	exit 0
fi
if [ -z "$types" ] || [ ! -d "$types/mgpu-1_4" ]; then
	for t in "$T1" "$T2" "$T3"; do
		notok "$t"
		echo "# no mgpu parent (MGPU_PARENT_TYPES=$types)"
	done
	exit 0
fi

mk() {
	_u=$(cat /proc/sys/kernel/random/uuid)
	echo "$_u" >"$types/$1/create" || return 1
	echo "$_u"
}
UA=$(mk mgpu-1_4) UB=$(mk mgpu-1_4) UC=$(mk mgpu-1_8)
echo "# instances: source $UA, destination $UB, refused destination $UC (mgpu-1_8)"

# qemu NAME UUID [ARGS...]: a QEMU in the background, QMP on $W/NAME.qmp
qemu() {
	_n=$1 _u=$2
	shift 2
	rm -f $W/$_n.*
	qemu-system-x86_64 -accel tcg -M q35 -m 128M -nodefaults -display none \
		-no-reboot -kernel /mgpu/nested/vmlinuz -initrd /mgpu/nested/initrd.gz \
		-append "console=ttyS0 quiet panic=-1 mgpu_arg.mode=migrate mgpu_arg.secs=$SECS" \
		-serial file:$W/$_n.console \
		-chardev file,id=res,path=$W/$_n.res -serial chardev:res \
		-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_u,enable-migration=on \
		-qmp unix:$W/$_n.qmp,server=on,wait=off "$@" \
		</dev/null >$W/$_n.log 2>&1 &
	echo $! >$W/$_n.pid
}

# wait_for FILE PATTERN SECONDS
wait_for() {
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -gt "$3" ] && return 1
		sleep 1
	done
}

# migrate SOURCE-QMP URI: 0 if completed; the last query in $W/mig.json
migrate() {
	python3 $QMP "$1" migrate "{\"uri\": \"$2\"}" >$W/mig.json
	_i=0
	while [ $_i -lt 600 ]; do
		python3 $QMP "$1" query-migrate >$W/mig.json
		grep -q '"status": "completed"' $W/mig.json && return 0
		grep -q '"status": "\(failed\|cancelled\)"' $W/mig.json && return 1
		sleep 1
		_i=$((_i + 1))
	done
	return 1
}

qemu src "$UA"
if ! wait_for $W/src.res '^ *# round 0 ' 900; then
	for t in "$T1" "$T2" "$T3"; do
		notok "$t"
	done
	echo "# the guest's workload never started; its console and QEMU's output:"
	tail -n 20 $W/src.console | diag
	diag $W/src.log $W/src.res
	kill "$(cat $W/src.pid)" 2>/dev/null
	exit 0
fi

# 1. The real thing, while the workload runs.
qemu dst "$UB" -incoming unix:$W/dst.sock
sleep 5
if migrate $W/src.qmp unix:$W/dst.sock; then
	ok "$T2"
else
	notok "$T2"
fi
echo "# $(tr -d '\n' <$W/mig.json | sed 's/.*"downtime": \([0-9]*\).*"total-time": \([0-9]*\).*/downtime \1 ms, total \2 ms/')"
diag $W/mig.json
kill "$(cat $W/src.pid)" 2>/dev/null

# 2. Refused: from there to a destination of another type.
qemu bad "$UC" -incoming unix:$W/bad.sock
sleep 5
if migrate $W/dst.qmp unix:$W/bad.sock; then
	notok "$T1"
	echo "# the migration to a 1/8 instance completed"
else
	sleep 2
	if python3 $QMP $W/dst.qmp query-status | grep -q '"running": true'; then
		ok "$T1"
	else
		notok "$T1"
		python3 $QMP $W/dst.qmp query-status | diag
	fi
fi
diag $W/mig.json
dmesg | grep 'migration refused' | tail -n 2 | diag
kill "$(cat $W/bad.pid)" 2>/dev/null

# 3. The guest goes on on the destination and ends its workload there.
if wait_for $W/dst.res '^MGPU-NESTED-END' $((SECS + 600)) &&
	grep -q '^# exit=0' $W/dst.res && ! grep -q '^not ok' $W/src.res $W/dst.res; then
	ok "$T3"
else
	notok "$T3"
	tail -n 20 $W/dst.console | diag
	diag $W/dst.log
fi
cat $W/src.res $W/dst.res 2>/dev/null | grep -v '^MGPU' | grep -v '# round' | sed 's/^/# guest: /'
grep -h '# round' $W/src.res $W/dst.res 2>/dev/null | tail -n 3 | sed 's/^/# guest: /'
kill "$(cat $W/dst.pid)" 2>/dev/null
sleep 1
for u in $UA $UB $UC; do
	echo 1 >/sys/bus/mdev/devices/$u/remove 2>/dev/null
done
exit 0
