#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench, second part: live migration of a VM with an mgpu vGPU
# against the same VM without one, run in the libvirt test VM (sid's
# QEMU: bookworm's 7.2 has no VFIO migration v2) by scripts/libvirtvm-init2
# with mgpu_ci=bench.  One table on stdout, between "=== mgpu migration
# bench" and "=== mgpu migration bench done ===".
#
# Two software GPUs of 256 MiB (16 queues) are added for the run; a
# guest (the nested guest's kernel and initramfs, MGPU_MIGRATE_MEM of
# RAM) runs mgpu-guest --mode=load on an instance of the first: its whole
# VRAM filled by the engine, then idle, or written by the CPU at
# MGPU_BENCH_RATE MiB/s.  QEMU migrates it over a unix socket to an
# instance of the same type on the second parent and back, and so on
# (ping-pong), with enable-migration=on (no DMA logging on Debian's 6.12
# and 7.2) and the return-path and switchover-ack capabilities (see CAPS).  The baseline is a guest of the same RAM without a vGPU
# (mgpu_run=idle), migrated the same way; the two take turns (V N, N V,
# V N, ...) after a warm-up migration each, MGPU_BENCH_REPS rounds.
#
# Per configuration (VRAM 16, 64, 256 MiB idle; 64 MiB written), the
# medians over the rounds: the downtime QEMU reports, with vGPU over
# without (ratio, with the spread of the per-round ratios), total
# migration time, the vGPU's bytes in pre-copy and in stop-copy, and the
# device's own part of the downtime (from its stop to the end of its
# stream), from mgpu's debugfs (/sys/kernel/debug/mgpu/UUID/migration).

# CUR_x, CURU_x, OTHU_x (x: v, n): read through eval in migrate1.
# shellcheck disable=SC2034
W=/tmp/mbench
rm -rf $W
mkdir -p $W
QMP="python3 /mgpu/qmp.py"
MEM=${MGPU_MIGRATE_MEM:-256M}
REPS=${MGPU_BENCH_REPS:-5}
RATE=${MGPU_BENCH_RATE:-16}
# switchover-ack (QEMU 8.1+, with return-path): the source does not stop
# the VM before the destination's VFIO device has loaded what pre-copy
# sent first, so that pre-copy, not the downtime, carries the VRAM.
# MGPU_BENCH_SWITCHOVER_ACK=0 measures QEMU's defaults instead.
if [ "${MGPU_BENCH_SWITCHOVER_ACK:-1}" = 1 ]; then
	ACK=on
	CAPS='{"capabilities": [{"capability": "return-path", "state": true}, {"capability": "switchover-ack", "state": true}]}'
else
	ACK=off
	CAPS='{"capabilities": []}'
fi
T0=$(date +%s)
el() { echo $(($(date +%s) - T0)); }
say() { echo "mgpu-migrate-bench: $* ($(el) s)" >&2; }
fail() {
	echo "=== mgpu migration bench FAILED: $* ==="
	cleanup
	exit 1
}

# ---- QEMU ----
# vm NAME UUID|none [ARGS...]: a QEMU in the background, QMP on
# $W/NAME.qmp, console and result channel in NAME.console, NAME.res
vm() {
	_n=$1 _u=$2
	shift 2
	rm -f $W/$_n.console $W/$_n.res $W/$_n.log $W/$_n.rc $W/$_n.qmp $W/$_n.pid
	if [ "$_u" = none ]; then
		set -- "$@" -append "console=ttyS0 quiet panic=-1 mgpu_run=idle"
	else
		set -- "$@" -device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_u,enable-migration=on" \
			-append "console=ttyS0 quiet panic=-1 mgpu_arg.mode=load mgpu_arg.secs=100000 mgpu_arg.rate=$LOAD_RATE"
	fi
	(
		qemu-system-x86_64 -accel tcg -M q35 -m "$MEM" -nodefaults -display none \
			-no-reboot -kernel /mgpu/nested/kernel -initrd /mgpu/nested/initrd \
			-serial file:$W/$_n.console \
			-chardev file,id=res,path=$W/$_n.res -serial chardev:res \
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
}
alive() { [ -f $W/$1.pid ] && [ ! -f $W/$1.rc ]; }
show() {
	echo "# $1: QEMU exit status $(cat $W/$1.rc 2>/dev/null || echo '(running)')"
	tail -n 10 $W/$1.log $W/$1.console $W/$1.res 2>/dev/null | tr -d '\r' | sed 's/^/# | /'
}
stop() {
	alive "$1" || return 0
	$QMP $W/$1.qmp quit >/dev/null 2>&1
	_i=0
	while alive "$1" && [ $_i -lt 50 ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	alive "$1" && kill "$(cat $W/$1.pid)" 2>/dev/null
	sleep 0.5
}
# loaded NAME: the guest said it is loaded, within 600 s
loaded() {
	_i=0
	until grep -q '^# loaded' $W/$1.res 2>/dev/null; do
		alive "$1" || { show "$1"; return 1; }
		_i=$((_i + 1))
		[ $_i -gt 1200 ] && { show "$1"; return 1; }
		sleep 0.5
	done
}

# ---- parents and instances ----
PARENTS=
UUIDS=
cleanup() {
	for _p in $W/*.pid; do
		[ -f "$_p" ] && kill "$(cat "$_p")" 2>/dev/null
	done
	sleep 1
	for _u in $UUIDS; do
		[ -e /sys/bus/mdev/devices/$_u ] &&
			echo 1 >/sys/bus/mdev/devices/$_u/remove 2>/dev/null
	done
	for _p in $PARENTS; do
		echo "$_p" >/sys/class/mgpu/remove_swgpu 2>/dev/null
	done
}
bound() { # the PCI addresses bound to the driver mgpu
	for _d in /sys/bus/pci/drivers/mgpu/????:??:??.?; do
		[ -e "$_d" ] && echo "${_d##*/}"
	done
}
add_parent() {
	_before=$(bound)
	echo "vram=256M queues=16" >/sys/class/mgpu/add_swgpu || return 1
	for _d in $(bound); do
		echo "$_before" | grep -qx "$_d" || { echo "$_d"; return 0; }
	done
	return 1
}
mk() { # mk PARENT TYPE: a new instance, its UUID on stdout
	_u=$(cat /proc/sys/kernel/random/uuid)
	echo "$_u" >"/sys/bus/pci/devices/$1/mdev_supported_types/$2/create" || return 1
	echo "$_u"
}
mig_stat() { # mig_stat UUID KEY
	sed -n "s/^$2 //p" "/sys/kernel/debug/mgpu/$1/migration" 2>/dev/null
}

# ---- one migration ----
# migrate1 KIND: move guest KIND (v: with the vGPU, n: without) to its
# other QEMU; one line of figures appended to $W/CFG.KIND:
#   downtime_ms total_ms ram_bytes vgpu_bytes precopy stopcopy stopcopy_us
migrate1() {
	_k=$1
	_from='' _fromu='' _tou=''
	eval "_from=\$CUR_$_k _fromu=\$CURU_$_k _tou=\$OTHU_$_k"
	if [ "$_from" = "${_k}1" ]; then _to=${_k}2; else _to=${_k}1; fi
	rm -f $W/$_to.sock
	vm "$_to" "$_tou" -incoming defer
	$QMP $W/$_to.qmp --wait-up 120 >/dev/null || { show "$_to"; return 1; }
	# The same capabilities on both sides, then listen.
	for _q in "$_to" "$_from"; do
		$QMP $W/$_q.qmp migrate-set-capabilities "$CAPS" >$W/caps.json ||
			{ sed 's/^/# | /' $W/caps.json; return 1; }
	done
	$QMP $W/$_to.qmp migrate-incoming "{\"uri\": \"unix:$W/$_to.sock\"}" >$W/inc.json ||
		{ sed 's/^/# | /' $W/inc.json; return 1; }
	$QMP $W/$_from.qmp --migrate "unix:$W/$_to.sock" --timeout 600 >$W/last.json
	_rc=$?
	stop "$_from"
	if [ $_rc != 0 ]; then
		echo "# migration $_from -> $_to failed:"
		sed 's/^/# | /' $W/last.json
		show "$_to"
		return 1
	fi
	_dev="0 0 0"
	[ "$_fromu" != none ] &&
		_dev="$(mig_stat "$_fromu" precopy_bytes) $(mig_stat "$_fromu" stopcopy_bytes) $(mig_stat "$_fromu" stopcopy_us)"
	python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["query-migrate"]
print(q.get("downtime", 0), q.get("total-time", 0),
      q.get("ram", {}).get("transferred", 0),
      q.get("vfio", {}).get("transferred", 0), sys.argv[2])' \
		$W/last.json "$_dev" >>"$W/$CFG.$_k"
	eval "CUR_$_k=$_to CURU_$_k=$_tou OTHU_$_k=$_fromu"
}

# ---- a configuration ----
# config NAME TYPE RATE: the vGPU guest on TYPE, writing RATE MiB/s
config() {
	CFG=$1 _type=$2 LOAD_RATE=$3
	: >"$W/$CFG.v"
	: >"$W/$CFG.n"
	_ua=$(mk "$P1" "$_type") && _ub=$(mk "$P2" "$_type") ||
		fail "cannot create two $_type instances"
	UUIDS="$UUIDS $_ua $_ub"
	CUR_v=v1 CURU_v=$_ua OTHU_v=$_ub
	vm v1 "$_ua"
	loaded v1 || fail "$CFG: the vGPU guest did not load its VRAM"
	say "$CFG: guest loaded, $REPS rounds"
	migrate1 v || fail "$CFG: warm-up migration with the vGPU"
	migrate1 n || fail "$CFG: warm-up migration without a vGPU"
	: >"$W/$CFG.v"
	: >"$W/$CFG.n"
	_r=0
	while [ $_r -lt "$REPS" ]; do
		if [ $((_r % 2)) = 0 ]; then
			migrate1 v && migrate1 n
		else
			migrate1 n && migrate1 v
		fi || fail "$CFG: round $_r"
		_r=$((_r + 1))
	done
	eval "stop \$CUR_v"
	for _u in $_ua $_ub; do
		echo 1 >/sys/bus/mdev/devices/$_u/remove
	done
	say "$CFG: done"
}

# ---- main ----
qv=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n1)
case $qv in
[0-7].* | 8.0*) fail "QEMU $qv has no VFIO migration v2 (8.1 or later)" ;;
esac
P1=$(add_parent) || fail "add_swgpu vram=256M queues=16 failed"
PARENTS=$P1
P2=$(add_parent) || fail "a second add_swgpu failed"
PARENTS="$P1 $P2"
say "parents $P1 and $P2 (256 MiB, 16 queues), QEMU $qv, guest RAM $MEM"

# The baseline guest, without a vGPU, for the whole run.
CUR_n=n1 CURU_n=none OTHU_n=none
vm n1 none
loaded n1 || fail "the baseline guest did not come up"

config 16M-idle mgpu-1_16 0
config 64M-idle mgpu-1_4 0
config 256M-idle mgpu-passthrough 0
config 64M-busy mgpu-1_4 "$RATE"
eval "stop \$CUR_n"

echo
echo "=== mgpu migration bench: QEMU $qv, $(uname -r), guest RAM $MEM, $REPS rounds, switchover-ack $ACK ==="
printf '%-26s %6s  %-13s  %-17s %-16s %9s %11s %11s %9s\n' config ratio spread \
	"downtime vGPU" "without vGPU" "total s" "pre-copy" "stop-copy" "device"
for c in 16M-idle 64M-idle 256M-idle 64M-busy; do
	case $c in
	16M-idle) what="VRAM 16 MiB, idle" ;;
	64M-idle) what="VRAM 64 MiB, idle" ;;
	256M-idle) what="VRAM 256 MiB, idle" ;;
	64M-busy) what="VRAM 64 MiB, $RATE MiB/s" ;;
	esac
	python3 - "$W/$c.v" "$W/$c.n" "$what" <<-'EOF'
		import statistics as st, sys
		v = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
		n = [list(map(float, l.split())) for l in open(sys.argv[2]) if l.strip()]
		r = [a[0] / b[0] for a, b in zip(v, n) if b[0] > 0]
		med = lambda xs: st.median(xs) if xs else 0
		col = lambda rows, i: [x[i] for x in rows]
		print("%-26s %6.2f  [%4.2f-%5.2f]  %6.0f ms         %6.0f ms        %9.1f %7.1f MiB %7.0f KiB %6.0f ms" % (
		    sys.argv[3], med(r), min(r or [0]), max(r or [0]),
		    med(col(v, 0)), med(col(n, 0)), med(col(v, 1)) / 1000,
		    med(col(v, 4)) / 2**20, med(col(v, 5)) / 1024,
		    med(col(v, 6)) / 1000))
	EOF
done
echo "ratio: downtime with the vGPU / without, median of the per-round ratios (spread: lowest, highest)"
echo "downtime: QEMU's; total: the vGPU guest's whole migration; pre-copy, stop-copy: the vGPU's stream"
echo "bytes in each phase; device: from the vGPU's stop to the end of its stream (mgpu debugfs)"
echo "=== mgpu migration bench done ==="
cleanup
