#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Live migration with QEMU, run in the libvirt test VM after the libvirt
# tests (scripts/libvirtvm-init2).  KTAP on stdout, numbered from
# MGPU_KTAP_FIRST; the last number used goes to /tmp/ktap-last.
#
# One guest (the nested guest of make check, booted once) runs
# mgpu-guest --mode=migrate on an mgpu-1_4 vGPU: a workload that checks
# itself every round (VRAM patterns by CPU and engine, a GEMM chain,
# fences) and stops at the first error.  At its start it stops its last
# queue on an error (an unknown opcode at ring index 2) and checks in
# every round that the queue is still stopped with exactly that status,
# reason and error head: every step below carries the error across.
# While it runs, QEMU (with enable-migration=on) moves it, over unix
# sockets:
#   A -> B   another 1/4 instance of the same parent, the guest idle
#   B -> C   a 1/4 instance of a second software GPU (add_swgpu), same
#            size, the guest busy (as in every step from here)
#   C -> D   cancelled half-way (migrate_cancel): the source runs on
#   C -> M   a 1/8 instance: refused by the destination, the source runs on
#   C -> A   back to the first parent
# Idle: the guest runs with --idle=/dev/ttyS2, whose other end is the
# socket $W/NAME.ctl.  After its first round, with nothing in flight, it
# prints "# idle after round 0" and waits for "go" there; the script
# migrates A -> B only once that line is out, and says "go" on B once
# the switch is done (the guest waits as long as it takes: no timing).
# The guest then checks that queue 0 did not move and that round 0's
# VRAM is intact ("# idle ended"), and goes on busy.
# After each step the guest must go on checking rounds where it runs;
# at the end no round may have failed anywhere.  QEMU before 8.1
# (bookworm's 7.2) has no VFIO migration v2: the tests skip there.
#
# Needs: qemu-system-x86_64, python3 (/mgpu/qmp.py), /mgpu/nested/{kernel,
# initrd}, an mgpu PCI parent with mgpu-1_4 (MGPU_PARENT: its PCI
# address; default: the first one bound to the driver mgpu).
# MGPU_MIGRATE_MEM: the guest's memory (default 256M).
# Every QEMU's stderr, exit status, console and result channel are kept in
# /tmp/mig (NAME.log, NAME.rc, NAME.console, NAME.res) and shown when a
# step fails.

n=$((${MGPU_KTAP_FIRST:-1} - 1))
W=/tmp/mig
mkdir -p $W
QMP="python3 /mgpu/qmp.py"
MEM=${MGPU_MIGRATE_MEM:-256M}
# The workload runs until the tests quit the guest; this is a backstop.
SECS=${MGPU_MIGRATE_SECS:-1800}
T0=$(date +%s)

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
# diag [FILE...]: lines as diagnostics
diag() {
	tr -d '\r' <"${1:-/dev/stdin}" 2>/dev/null | sed 's/^/# | /' | tail -n 40
}
el() { echo $(($(date +%s) - T0)); }

TAB="QEMU live-migrates the idle guest (nothing in flight) from 1/4 instance A to B on the same parent; its VRAM checks after the switch"
TBC="QEMU live-migrates the busy guest from B to C, a 1/4 instance of another parent"
TCX="a migration cancelled half-way (migrate_cancel): the source runs on and its workload checks"
TCM="QEMU refuses to migrate to a 1/8 instance: clean failure, the source runs on and its workload checks"
TCA="QEMU live-migrates the busy guest from C back to A on the first parent"
TEND="the guest's workload checked every round across all the switches, no error; its queue stopped on an error arrived stopped with that error every time"
ALL="$TAB|$TBC|$TCX|$TCM|$TCA|$TEND"
# all_skip REASON / all_fail REASON: every test of the file
all_skip() {
	IFS='|'
	for t in $ALL; do skip "$t" "$1"; done
	unset IFS
}
all_fail() {
	IFS='|'
	for t in $ALL; do notok "$t"; done
	unset IFS
	echo "# $1"
}

ver=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
set -- $ver
if [ "${1:-0}" -lt 8 ] || { [ "${1:-0}" -eq 8 ] && [ "${2:-0}" -lt 1 ]; }; then
	all_skip "QEMU ${1:-?}.${2:-?} has no VFIO migration v2 (8.1 or later)"
	exit 0
fi
command -v python3 >/dev/null || { all_skip "no python3 in the VM (QMP client)"; exit 0; }

# ---- the parents and the instances ----
P1=${MGPU_PARENT:-}
if [ -z "$P1" ]; then
	for d in /sys/bus/pci/drivers/mgpu/????:??:??.?; do
		[ -d "$d/mdev_supported_types/mgpu-1_4" ] && P1=${d##*/} && break
	done
fi
if [ -z "$P1" ]; then
	all_fail "no mgpu PCI parent with mgpu-1_4"
	exit 0
fi
# A second software GPU of the same size: a 1/4 instance of it takes a
# stream of a 1/4 instance of P1 (same VRAM slice and queues).
pcifns() { (cd /sys/bus/pci/drivers/mgpu && echo ????:??:??.?); }
before=$(pcifns)
vram=$(cat /sys/bus/pci/devices/$P1/vram_size)
nq=$(cat /sys/bus/pci/devices/$P1/queues)
P2=
if echo "vram=$vram queues=$nq" >/sys/class/mgpu/add_swgpu 2>$W/add.err; then
	for d in $(pcifns); do
		case " $before " in
		*" $d "*) ;;
		*) P2=$d ;;
		esac
	done
fi
if [ -z "$P2" ]; then
	diag $W/add.err
	all_fail "add_swgpu (vram=$vram queues=$nq) made no second parent"
	exit 0
fi
mk() { # mk PARENT TYPE: a new instance, its UUID on stdout
	_u=$(cat /proc/sys/kernel/random/uuid)
	echo "$_u" >"/sys/bus/pci/devices/$1/mdev_supported_types/$2/create" || return 1
	echo "$_u"
}
UA=$(mk "$P1" mgpu-1_4) UB=$(mk "$P1" mgpu-1_4) UD=$(mk "$P1" mgpu-1_4)
UC=$(mk "$P2" mgpu-1_4) UM=$(mk "$P2" mgpu-1_8)
echo "# parents $P1 and $P2 (added, vram=$vram queues=$nq); A $UA, B $UB, D $UD (on $P1), C $UC, M $UM (mgpu-1_8, on $P2)"
cleanup() {
	for _p in $W/*.pid; do
		[ -f "$_p" ] && kill "$(cat "$_p")" 2>/dev/null
	done
	sleep 2
	for _u in $UA $UB $UC $UD $UM; do
		[ -n "$_u" ] && echo 1 >/sys/bus/mdev/devices/$_u/remove 2>/dev/null
	done
	echo "$P2" >/sys/class/mgpu/remove_swgpu 2>/dev/null ||
		echo "# remove_swgpu $P2 failed"
}

# ---- QEMU ----
# vm NAME UUID [ARGS...]: a QEMU in the background; QMP on $W/NAME.qmp,
# its stderr in NAME.log, its exit status in NAME.rc once it has exited;
# the guest's control channel (its ttyS2, mgpu-guest --idle) on
# $W/NAME.ctl
vm() {
	_n=$1 _u=$2
	shift 2
	rm -f $W/$_n.console $W/$_n.res $W/$_n.log $W/$_n.rc $W/$_n.qmp $W/$_n.pid $W/$_n.ctl
	(
		qemu-system-x86_64 -accel tcg -M q35 -m "$MEM" -nodefaults -display none \
			-no-reboot -kernel /mgpu/nested/kernel -initrd /mgpu/nested/initrd \
			-append "console=ttyS0 quiet panic=-1 mgpu_arg.mode=migrate mgpu_arg.secs=$SECS mgpu_arg.idle=/dev/ttyS2" \
			-serial file:$W/$_n.console \
			-chardev file,id=res,path=$W/$_n.res -serial chardev:res \
			-chardev socket,id=ctl,path=$W/$_n.ctl,server=on,wait=off -serial chardev:ctl \
			-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_u,enable-migration=on \
			-qmp unix:$W/$_n.qmp,server=on,wait=off "$@" \
			</dev/null >$W/$_n.log 2>&1 &
		echo $! >$W/$_n.pid
		wait $!
		echo $? >$W/$_n.rc
	) &
	_i=0
	while [ ! -s $W/$_n.pid ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "$_u" >$W/$_n.uuid
}
alive() { [ -f $W/$1.pid ] && [ ! -f $W/$1.rc ]; }
# gone NAME: what is known of a QEMU that is not running (or should not be)
gone() {
	echo "# $1: QEMU exit status $(cat $W/$1.rc 2>/dev/null || echo '(still running)'); its stderr, console, result channel:"
	diag $W/$1.log
	tail -n 15 $W/$1.console 2>/dev/null | diag
	tail -n 8 $W/$1.res 2>/dev/null | diag
	dmesg | grep -iE 'out of memory|oom|killed process|mgpu.*(refused|error)' | tail -n 8 | diag
}
# stop NAME: quit a QEMU through QMP (kill if it does not go), wait for it
stop() {
	alive "$1" || return 0
	$QMP $W/$1.qmp quit >/dev/null 2>&1
	_i=0
	while alive "$1" && [ $_i -lt 100 ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	alive "$1" && kill "$(cat $W/$1.pid)" 2>/dev/null
	_i=0
	while alive "$1" && [ $_i -lt 50 ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
}
# status NAME: QEMU's run state (running, postmigrate, inmigrate...)
status() {
	$QMP $W/$1.qmp query-status 2>/dev/null | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p'
}
# round NAME: the last "# round N" the guest printed on NAME (or -1)
round() {
	_r=$(cat $W/$1.res 2>/dev/null | tr -d '\r' | sed -n 's/^# round \([0-9]*\) .*/\1/p' | tail -n1)
	echo "${_r:--1}"
}
gap() { cat $W/$1.res 2>/dev/null | tr -d '\r' | sed -n 's/^# round .*longest gap \([0-9.]* s\).*/\1/p' | tail -n1; }
# res NAME: the guest's result channel on NAME
res() { tr -d '\r' <$W/$1.res 2>/dev/null; }
failed_rounds() { cat $W/*.res 2>/dev/null | tr -d '\r' | grep -B3 '^not ok' | head -n 8; }
# rounds_go_on NAME AFTER SECS: the guest on NAME prints a round after
# AFTER within SECS, and nothing failed
rounds_go_on() {
	_i=0
	while [ "$(round "$1")" -le "$2" ]; do
		alive "$1" || { echo "# $1 is gone while waiting for rounds after $2"; return 1; }
		[ -n "$(failed_rounds)" ] && break
		_i=$((_i + 1))
		[ $_i -gt $(($3 * 2)) ] && { echo "# no round after $2 on $1 within $3 s"; return 1; }
		sleep 0.5
	done
	if [ -n "$(failed_rounds)" ]; then
		echo "# the guest's workload failed:"
		failed_rounds | diag
		return 1
	fi
	echo "# $1: round $(round "$1") checked ($(el) s), longest gap so far $(gap "$1"); $(res "$1" | sed -n 's/^# round .*longest gap [0-9.]* s, //p' | tail -n1)"
}
# wake NAME: the guest on NAME waits in its idle window (mgpu-guest
# --idle): "go" on its control channel, again every 0.5 s (a byte sent
# while the port is not read yet may be lost), until it prints
# "# idle ended" (at most 120 s)
SEND='import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"go\n")
s.close()'
wake() {
	_i=0
	until res "$1" | grep -q '^# idle ended'; do
		alive "$1" || { echo "# $1 is gone while waking its guest"; return 1; }
		if [ -n "$(failed_rounds)" ]; then
			echo "# the guest's workload failed:"
			failed_rounds | diag
			return 1
		fi
		_i=$((_i + 1))
		[ $_i -gt 240 ] && { echo "# the guest on $1 did not end its idle window within 120 s"; return 1; }
		python3 -c "$SEND" $W/$1.ctl 2>/dev/null
		sleep 0.5
	done
}
# summary JSON-FILE: the figures of a query-migrate answer
summary() {
	python3 - "$1" <<-'EOF' 2>/dev/null
		import json, sys
		d = json.load(open(sys.argv[1]))
		q = d.get("query-migrate", {})
		ram = q.get("ram", {})
		vfio = q.get("vfio", {})
		s = "%s in %s s" % (q.get("status"), d.get("seconds"))
		if "downtime" in q:
		    s += ", downtime %d ms" % q["downtime"]
		s += ", RAM %d KiB sent" % (ram.get("transferred", 0) // 1024)
		if vfio:
		    s += ", vGPU %d KiB" % (vfio.get("transferred", 0) // 1024)
		c = d.get("at-cancel")
		if c:
		    s += "; cancelled while %s after %d KiB of RAM (of %d KiB), vGPU %d KiB" % (
		        c.get("status"), c.get("ram", {}).get("transferred", 0) // 1024,
		        c.get("ram", {}).get("total", 0) // 1024,
		        c.get("vfio", {}).get("transferred", 0) // 1024)
		if "error-desc" in q:
		    s += "; error: " + q["error-desc"]
		if "error" in d:
		    s += "; " + d["error"].get("desc", "")
		print(s)
	EOF
}
# incoming NAME UUID: an incoming QEMU on instance UUID, waiting on
# $W/NAME.sock; true once its QMP answers
incoming() {
	rm -f $W/$1.sock
	vm "$1" "$2" -incoming unix:$W/$1.sock
	$QMP $W/$1.qmp --wait-up 120 >$W/$1.up || { gone "$1"; return 1; }
}
# migrate FROM TO [qmp.py options]: FROM to the incoming TO; the figures
# in $W/FROM-TO.json; the exit status of qmp.py --migrate
migrate() {
	_f=$1 _t=$2
	shift 2
	$QMP $W/$_f.qmp --migrate unix:$W/$_t.sock --timeout 300 "$@" >$W/$_f-$_t.json
	_rc=$?
	echo "# $_f -> $_t: $(summary $W/$_f-$_t.json) ($(el) s)"
	return $_rc
}

# ---- the guest ----
vm g1 "$UA"
i=0 opened=
while [ "$(round g1)" -lt 0 ] && alive g1 && [ $i -lt 600 ]; do
	[ -z "$opened" ] && cat $W/g1.res 2>/dev/null | tr -d '\r' | grep -q 'ok 1 ' && opened=$i
	sleep 1
	i=$((i + 1))
done
if [ "$(round g1)" -lt 0 ]; then
	gone g1
	all_fail "the guest's workload did not start on A within 600 s"
	stop g1
	cleanup
	exit 0
fi
echo "# the guest runs its workload on A ($(el) s after its QEMU started; the vGPU opened after ${opened:-?} s)"
res g1 | grep '^# queue [0-9]* stopped on an error' | sed 's/^# /# guest: /'
# After its first round it idles (nothing in flight) until told: the
# first migration happens in that window.
i=0
until res g1 | grep -q '^# idle after' || ! alive g1 || [ -n "$(failed_rounds)" ] || [ $i -ge 120 ]; do
	sleep 0.5
	i=$((i + 1))
done
res g1 | grep '^# idle after' | sed 's/^# /# guest: /'

# step NAME FROM TO UUID [idle]: a live migration FROM -> TO (new, on
# UUID); on success the source is quit and the guest must go on on TO.
# idle: the guest waits in its idle window (it printed "# idle after"),
# and is woken on TO once the switch is done
step() {
	_name=$1 _from=$2 _to=$3 _idle=${5:-}
	alive "$_from" || { echo "# the source $_from is not running"; gone "$_from"; return 1; }
	incoming "$_to" "$4" || return 1
	_r=$(round "$_from")
	if ! migrate "$_from" "$_to"; then
		diag $W/$_from-$_to.json
		gone "$_from"
		gone "$_to"
		stop "$_to"
		return 1
	fi
	_s=$(status "$_to") _ss=$(status "$_from")
	echo "# after the switch: $_to is $_s, $_from is $_ss"
	[ "$_s" = running ] || { gone "$_to"; stop "$_to"; return 1; }
	[ "$_ss" = postmigrate ] || { echo "# the source is $_ss, expected postmigrate"; stop "$_to"; return 1; }
	stop "$_from"
	if [ -n "$_idle" ]; then
		if ! res "$_from" | grep -q '^# idle after' || res "$_from" | grep -q '^# idle ended'; then
			echo "# the guest was not in its idle window on $_from when it left"
			return 1
		fi
		wake "$_to" || return 1
		res "$_to" | grep '^# idle' | sed "s/^# /# guest on $_to: /"
	fi
	rounds_go_on "$_to" "$_r" 180
}

cur=g1
if step "$TAB" g1 g2 "$UB" idle; then
	ok "$TAB"
	cur=g2
else
	notok "$TAB"
	# The rest runs on with the guest busy on A, if it still runs there.
	[ "$(status g1)" = running ] && wake g1 >/dev/null
fi
if [ $cur = g2 ] && step "$TBC" g2 g3 "$UC"; then
	ok "$TBC"
	cur=g3
else
	notok "$TBC"
fi

# Cancelled half-way: once the vGPU's pre-copy data flows (after a first
# pass over the guest's RAM), the bandwidth is held down to 1 MiB/s and
# the migration cancelled 2 s later, with the vGPU in PRE_COPY and most
# of its VRAM not sent.  (32 MiB/s until then, so that a fast machine
# does not complete it first.)
cancel_ok() {
	alive $cur || { gone $cur; return 1; }
	incoming gx "$UD" || return 1
	_r=$(round $cur)
	if ! migrate $cur gx --bandwidth 33554432 --cancel-after 2; then
		diag $W/$cur-gx.json
		stop gx
		return 1
	fi
	_s=$(status $cur)
	echo "# after migrate_cancel: the source is $_s"
	[ "$_s" = running ] || { gone $cur; return 1; }
	# The destination's incoming migration fails and it exits.
	_i=0
	while alive gx && [ $_i -lt 60 ]; do
		sleep 0.5
		_i=$((_i + 1))
	done
	if alive gx; then
		echo "# the cancelled destination still runs ($(status gx)); quit"
	else
		echo "# the cancelled destination exited with status $(cat $W/gx.rc): $(tail -n 1 $W/gx.log)"
	fi
	stop gx
	rounds_go_on $cur "$_r" 180
}
if cancel_ok; then
	ok "$TCX"
else
	notok "$TCX"
fi

# Refused: to a 1/8 instance.  The destination fails to load the
# stream; the source runs on.
refuse_ok() {
	alive $cur || { gone $cur; return 1; }
	incoming gm "$UM" || return 1
	_r=$(round $cur)
	_k=$(dmesg | grep -c 'migration refused')
	if migrate $cur gm; then
		echo "# the migration to a 1/8 instance completed"
		stop gm
		return 1
	fi
	sleep 1
	dmesg | grep 'migration refused' | tail -n +$((_k + 1)) | tail -n 2 | diag
	dmesg | grep 'migration refused' | tail -n +$((_k + 1)) | grep -q 'source is a 1/4' ||
		{ echo "# no 'migration refused: source is a 1/4 ...' in the kernel log"; return 1; }
	_s=$(status $cur)
	echo "# after the refusal: the source is $_s"
	stop gm
	[ "$_s" = running ] || { gone $cur; return 1; }
	rounds_go_on $cur "$_r" 180
}
if refuse_ok; then
	ok "$TCM"
else
	notok "$TCM"
fi

if [ $cur = g3 ] && step "$TCA" g3 g4 "$UA"; then
	ok "$TCA"
	cur=g4
else
	notok "$TCA"
fi

# The end: one more round printed where the guest runs now, no failed
# round in any QEMU's result channel (each round checked the queue
# stopped on an error, set up on A).
errq=$(res g1 | sed -n 's/^# \(queue [0-9]* stopped on an error\): status \([^,]*\), reason \([0-9]*\) (\([^)]*\)), error head \([0-9]*\).*/\1 (status \2, \4, error head \5)/p')
echo "# guest: ${errq:-no queue stopped on an error}, checked every round"
if alive $cur && rounds_go_on $cur "$(round $cur)" 180 && [ -z "$(failed_rounds)" ] &&
	[ -n "$errq" ]; then
	ok "$TEND"
else
	notok "$TEND"
	gone $cur
fi
echo "# guest: $(cat $W/g*.res 2>/dev/null | tr -d '\r' | grep -c '^# round') progress lines on g1..g4, last round $(round $cur) on $cur, longest gap $(gap $cur); $(el) s in all"
stop $cur
cleanup
exit 0
