# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Nested guests: the outer side, run in the test VM.  Sourced by its
# /init (scripts/testvm-init) from /nested/testvm-nested.sh, which
# scripts/mkinitramfs-nested.sh puts there with QEMU, the inner kernel
# and the inner initramfs (scripts/nestedvm-init, tools/guest).
#
# A nested guest is Debian's QEMU (TCG, q35) with one vGPU attached by
# -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/UUID.  Its program's
# KTAP comes back on its own second serial port (a file here), never on
# its console, and is forwarded indented under one result line: a guest
# that never reports (no MGPU-NESTED-END) is a failure.
#
# Parents, instances and their counters go through mgpuctl (in the test
# VM's /usr/sbin), not through sysfs directly.

NESTED_TIMEOUT=${NESTED_TIMEOUT:-480}
NESTED_MEM=${NESTED_MEM:-256M}
# The inner guest's -cpu: QEMU's default model without CMPXCHG16B,
# whose flags the TCG of the QEMU here (bookworm's 7.2) gets wrong; a
# nested kernel died of it now and then in early boot, when an
# interrupt came right after SLUB's this_cpu_cmpxchg16b
# (Documentation/nested.rst, tools/testing/cx16-flags).  "default":
# QEMU's own default.
NESTED_CPU=${NESTED_CPU:-qemu64,cx16=off}
[ "$NESTED_CPU" = default ] && NESTED_CPU=
# An outer vCPU to pin the next nested QEMU to (all its threads), or empty.
NESTED_PIN=${NESTED_PIN:-}

# swgpu_name SLOT: the software GPU in SLOT of mgpu's virtual PCI bus,
# DDDD:00:SS.0 (DDDD: the pci_domain parameter of the loaded mgpu)
swgpu_name() {
	printf '%04x:00:%02x.0\n' \
		"$(cat /sys/module/mgpu/parameters/pci_domain)" "$1"
}

# mdev_create PARENT TYPE: create an instance, print its UUID
mdev_create() {
	mgpuctl dev create --parent "$1" --type "$2"
}

# mdev_remove UUID
mdev_remove() {
	mgpuctl dev remove "$1"
}

# parent_add "vram=64M queues=16": add a software GPU, print its name
parent_add() {
	# shellcheck disable=SC2086
	mgpuctl parent add $1
}

# parent_remove PARENT: remove a software GPU
parent_remove() {
	mgpuctl parent remove "$1"
}

# jget KEY: the (last) value of "KEY" in the one-line JSON on stdin
jget() {
	sed -n 's/.*"'"$1"'":"\{0,1\}\([^",}]*\).*/\1/p'
}

# expect_of UUID: the --expect string for mgpu-guest, from mgpuctl
expect_of() {
	_j=$(mgpuctl -j dev show "$1")
	_t=$(echo "$_j" | jget type)
	case $_t in
	*passthrough) _f=1 ;;
	*-1_*) _f=${_t##*-1_} ;;
	*) _f=0 ;;
	esac
	echo "vram:$(echo "$_j" | jget vram_size),queues:$(echo "$_j" | jget queues),fraction:$_f"
}

# stats_of UUID: the instance's counters on one line
stats_of() {
	_j=$(mgpuctl -j dev show "$1")
	_s=
	for _k in busy_ns commands bytes flops errors resets; do
		_s="$_s $_k=$(echo "$_j" | jget $_k | grep . || echo '?')"
	done
	echo "${_s# }"
}

# active_devs: "UUID TYPE PARENT" of every active mgpu instance
active_devs() {
	mgpuctl dev list --active | awk '$2 == "parent" { sub(":", "", $1); print $1, $5, $3 }'
}

# nested_start NAME UUID KERNEL-ARGS...: boot a nested guest in the
# background.  Files: /tmp/nested-NAME.{console,res,qemu,rc,pid}
# NESTED_ALSO="NAME2 UUID2": a second vGPU (guest address 00:02.0; the
# first is at 00:01.0), whose program (mgpu_arg2.* in KERNEL-ARGS, see
# scripts/nestedvm-init) reports in /tmp/nested-NAME2.res; nested_wait
# gives NAME2 the guest's .rc and .secs.
nested_start() {
	_n=$1 _u=$2
	shift 2
	_also_n=${NESTED_ALSO% *} _also_u=${NESTED_ALSO#* }
	[ -n "${NESTED_ALSO:-}" ] || _also_n=
	echo "$_also_n" >"/tmp/nested-$_n.also"
	[ -n "$_also_n" ] && rm -f "/tmp/nested-$_also_n".res "/tmp/nested-$_also_n".rc \
		"/tmp/nested-$_also_n".secs
	rm -f "/tmp/nested-$_n".console "/tmp/nested-$_n".res "/tmp/nested-$_n".qemu \
		"/tmp/nested-$_n".rc "/tmp/nested-$_n".pid "/tmp/nested-$_n".start \
		"/tmp/nested-$_n".secs
	_ctl=
	if [ -n "${NESTED_CTL:-}" ]; then
		_ctl=/tmp/nested-$_n.ctl
		rm -f "$_ctl.in" "$_ctl.out"
		mkfifo "$_ctl.in"
		: >"$_ctl.out"
	fi
	(
		${NESTED_PIN:+taskset -c "$NESTED_PIN"} \
		timeout -s KILL "$NESTED_TIMEOUT" qemu-system-x86_64 -accel tcg \
			${NESTED_CPU:+-cpu} ${NESTED_CPU:+"$NESTED_CPU"} \
			-M q35 -m "$NESTED_MEM" -nodefaults -display none -no-reboot \
			-kernel /nested/kernel -initrd /nested/initrd \
			-append "console=ttyS0 quiet panic=-1 $*" \
			-serial "file:/tmp/nested-$_n.console" \
			-chardev "file,id=res,path=/tmp/nested-$_n.res" -serial chardev:res \
			-device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_u,addr=01.0" \
			${_also_n:+-chardev} ${_also_n:+"file,id=res2,path=/tmp/nested-$_also_n.res"} \
			${_also_n:+-serial} ${_also_n:+chardev:res2} \
			${_also_n:+-device} ${_also_n:+"vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_also_u,addr=02.0"} \
			${_ctl:+-chardev} ${_ctl:+"pipe,id=ctl,path=$_ctl"} \
			${_ctl:+-serial} ${_ctl:+chardev:ctl} \
			</dev/null >"/tmp/nested-$_n.qemu" 2>&1
		echo $? >"/tmp/nested-$_n.rc"
	) &
	echo $! >"/tmp/nested-$_n.pid"
	date +%s >"/tmp/nested-$_n.start"
	echo "nested: started guest $_n on $_u${_also_n:+ (and $_also_n on $_also_u)}" >&2
}

# nested_wait NAME: wait for it; its duration in seconds in .secs
nested_wait() {
	wait "$(cat "/tmp/nested-$1.pid")" 2>/dev/null || true
	echo $(($(date +%s) - $(cat "/tmp/nested-$1.start"))) >"/tmp/nested-$1.secs"
	echo "nested: guest $1 ended after $(cat "/tmp/nested-$1.secs") s, QEMU exit $(cat "/tmp/nested-$1.rc" 2>/dev/null)" >&2
	_also_n=$(cat "/tmp/nested-$1.also" 2>/dev/null)
	if [ -n "$_also_n" ]; then
		cp "/tmp/nested-$1.secs" "/tmp/nested-$_also_n.secs"
		cp "/tmp/nested-$1.rc" "/tmp/nested-$_also_n.rc" 2>/dev/null
		cp "/tmp/nested-$1.console" "/tmp/nested-$_also_n.console" 2>/dev/null
		cp "/tmp/nested-$1.qemu" "/tmp/nested-$_also_n.qemu" 2>/dev/null
	fi
	return 0
}

# nested_ok NAME: true if the guest reported and its program passed
nested_ok() {
	grep -q '^MGPU-NESTED-END' "/tmp/nested-$1.res" 2>/dev/null &&
		[ "$(tr -d '\r' <"/tmp/nested-$1.res" | sed -n 's/^# exit=//p' | tail -n1)" = 0 ]
}

# nested_report N TITLE NAME: KTAP on stdout: the nested guest's results
# indented by 4, then "ok N TITLE" or "not ok N TITLE"
nested_report() {
	_n=$1 _title=$2 _f=/tmp/nested-$3
	_rc=$(cat "$_f.rc" 2>/dev/null || echo '?')
	[ -f "$_f.res" ] && tr -d '\r' <"$_f.res" | sed '/^MGPU-NESTED-END/,$d' | sed 's/^/    /'
	echo "# nested guest: $(cat "$_f.secs" 2>/dev/null || echo '?') s, QEMU exit $_rc"
	if ! grep -q '^MGPU-NESTED-END' "$_f.res" 2>/dev/null; then
		echo "# no verdict from the nested guest; its console and QEMU's output:"
		tail -n 15 "$_f.console" 2>/dev/null | tr -d '\r' | sed 's/^/# | /'
		tail -n 10 "$_f.qemu" 2>/dev/null | sed 's/^/# | qemu: /'
		echo "not ok $_n $_title # no verdict from the nested guest"
	elif nested_ok "$3"; then
		echo "ok $_n $_title"
	else
		echo "not ok $_n $_title"
	fi
}

# report_one NAME UUID TITLE WHY: result N+1 (n is advanced): guest NAME
# on instance UUID, which is removed then; "not ok" for WHY without one
report_one() {
	n=$((n + 1))
	if [ -z "$2" ]; then
		echo "not ok $n $3 # $4"
		return 0
	fi
	echo "# stats of $2: $(stats_of "$2")"
	nested_report $n "$3" "$1"
	mdev_remove "$2" || echo "# could not remove $2"
}

# The number of result lines nested_tests prints.
NESTED_NTESTS=4

# nested_pair: boot the two guests of nested_tests at once and wait for
# both (the variables are nested_tests')
nested_pair() {
	# shellcheck disable=SC2086 # iso_a, iso_b: kernel arguments
	[ -n "$ufrac" ] && NESTED_ALSO=${ua:+"isoA $ua"} nested_start frac "$ufrac" \
		mgpu_arg.expect="$(expect_of "$ufrac")" $iso_a
	# shellcheck disable=SC2086
	[ -n "$upt" ] && NESTED_ALSO=${ub:+"isoB $ub"} nested_start pt "$upt" \
		mgpu_arg.expect="$(expect_of "$upt")" $iso_b
	[ -n "$ufrac" ] && nested_wait frac
	[ -n "$upt" ] && nested_wait pt
	return 0
}

# nested_tests: the nested tests of make check, numbered from $n + 1
# (n is the caller's counter and is advanced).  KTAP on stdout.  Two
# guests boot at once (a nested boot is most of a minute: one round of
# two guests, each with two vGPUs, rather than two rounds of one):
#   1. a fractional (1/4) instance of the first software GPU in one and
#   2. a passthrough instance of a new, otherwise empty software GPU
#      (vram=64M queues=16) in the other: identity, VRAM and queues as
#      expected, VRAM zeroed, queues and fences, GEMM fp32/int8, the
#      LSTM step;
#   3./4. and first, in each guest, a 1/8 instance of the first
#      software GPU, both at once: each guest fills its whole VRAM with
#      its own pattern and sees only its own data, and zeros at start.
nested_tests() {
	echo "# nested guests: Debian QEMU $(qemu-system-x86_64 --version | head -n1 | sed 's/.*version //'), TCG, q35"
	ufrac=$(mdev_create "$(swgpu_name 0)" mgpu-1_4) || ufrac=
	ua=$(mdev_create "$(swgpu_name 0)" mgpu-1_8) || ua=
	ub=$(mdev_create "$(swgpu_name 0)" mgpu-1_8) || ub=
	pt_parent=$(parent_add "vram=64M queues=16") || pt_parent=
	upt=
	[ -n "$pt_parent" ] && { upt=$(mdev_create "$pt_parent" mgpu-passthrough) || upt=; }
	# The isolation test needs its two guests at once, and each rides
	# with one of the others: all four instances, or no isolation test.
	if [ -z "$ua" ] || [ -z "$ub" ] || [ -z "$ufrac" ] || [ -z "$upt" ]; then
		[ -n "$ua" ] && mdev_remove "$ua"
		[ -n "$ub" ] && mdev_remove "$ub"
		ua=''
		ub=''
	fi
	iso_a=''
	iso_b=''
	[ -n "$ua" ] && iso_a="mgpu_arg2.mode=isolate mgpu_arg2.tag=a11c mgpu_arg2.secs=10 mgpu_arg2.expect=$(expect_of "$ua")"
	[ -n "$ub" ] && iso_b="mgpu_arg2.mode=isolate mgpu_arg2.tag=b0b0 mgpu_arg2.secs=10 mgpu_arg2.expect=$(expect_of "$ub")"
	nested_pair

	report_one frac "$ufrac" "nested: q35 guest on a mgpu-1_4 vGPU (workload, LSTM step)" \
		"cannot create the instance"
	report_one pt "$upt" "nested: q35 guest on a mgpu-passthrough vGPU of $pt_parent (workload, LSTM step)" \
		"cannot create the parent or instance"
	[ -n "$pt_parent" ] && { parent_remove "$pt_parent" || echo "# could not remove $pt_parent"; }
	for g in A B; do
		n=$((n + 1))
		eval "u=\$u$(echo $g | tr AB ab)"
		if [ -z "$ua" ] || [ -z "$ub" ]; then
			echo "not ok $n nested: isolation, guest $g # cannot create two mgpu-1_8 instances (or the guests to carry them)"
			continue
		fi
		echo "# stats of $u: $(stats_of "$u")"
		nested_report $n "nested: isolation, guest $g of two at once on mgpu-1_8 vGPUs of one software GPU" "iso$g"
		mdev_remove "$u" || echo "# could not remove $u"
	done
	return 0
}

# ktap_readable: KTAP results as PASS/FAIL/SKIP lines for people
ktap_readable() {
	tr -d '\r' | sed -n \
		-e 's/^ok [0-9]* \(.*\) # SKIP\(.*\)/    SKIP  \1 (\2 )/p' \
		-e 's/^ok [0-9]* \(.*\)/    PASS  \1/p' \
		-e 's/^not ok [0-9]* \(.*\)/    FAIL  \1/p' \
		-e 's/^# \(exit=.*\)/          (guest program \1)/p' \
		-e 's/^# \(.*\)/          \1/p'
}

# stats_table: every instance's counters, one line each
stats_table() {
	printf '    %-36s %-16s %-12s %8s %6s %12s %9s %12s %12s\n' \
		UUID TYPE PARENT VRAM QUEUES BUSY_MS COMMANDS BYTES MFLOP
	active_devs | while read -r _u _t _p; do
		_j=$(mgpuctl -j dev show "$_u")
		printf '    %-36s %-16s %-12s %7sM %6s %12s %9s %12s %12s\n' \
			"$_u" "$_t" "$_p" \
			$(($(echo "$_j" | jget vram_size) >> 20)) "$(echo "$_j" | jget queues)" \
			$(($(echo "$_j" | jget busy_ns) / 1000000)) "$(echo "$_j" | jget commands)" \
			"$(echo "$_j" | jget bytes)" $(($(echo "$_j" | jget flops) / 1000000))
	done
	# One parent a line: the members before its "types".
	mgpuctl -j parent list | sed 's/"types":\[[^]]*\]//g' | tr '{' '\n' | grep '^"parent"' |
		while read -r _j; do
			echo "    parent $(echo "$_j" | jget parent): engine busy $(($(echo "$_j" | jget engine_busy_ns) / 1000000)) ms in total, utilization now $(echo "$_j" | jget utilization)%"
		done
}

# nested_demo: for make demo: a nested VM on the first mgpu-1_4 (else
# any) instance runs mgpu-guest; readable output on stdout
nested_demo() {
	_u=$(active_devs | awk '$2 == "mgpu-1_4" { print $1; exit }')
	[ -n "$_u" ] || _u=$(active_devs | awk '{ print $1; exit }')
	echo
	if [ -z "$_u" ]; then
		echo "no vGPU to give to a nested VM"
		return 0
	fi
	_t=$(mgpuctl -j dev show "$_u" | jget type)
	echo "--- a VM with a vGPU ----------------------------------------------"
	echo "Starting a VM inside this one (Debian's QEMU, TCG; about a minute)"
	echo "with the $_t vGPU $_u attached as a PCI device:"
	echo
	echo "    qemu-system-x86_64 -M q35 -m $NESTED_MEM -kernel kernel -initrd initrd ..."
	echo "        -device vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_u"
	echo
	echo "Inside, mgpu-guest (tools/guest) finds the vGPU by its PCI IDs"
	echo "1f4d:0001, maps its registers and VRAM (BARs 0 and 2) and runs a"
	echo "workload on its command queues, checking every result on the CPU:"
	nested_start demo "$_u" mgpu_arg.expect="$(expect_of "$_u")"
	nested_wait demo
	echo
	echo "    what the VM saw:"
	tr -d '\r' </tmp/nested-demo.console | grep '^nested guest:' | sed 's/^nested guest: /      /'
	echo
	echo "    results (PASS = checked against the CPU):"
	if [ -f /tmp/nested-demo.res ]; then
		sed '/^MGPU-NESTED-END/,$d' /tmp/nested-demo.res | ktap_readable
	fi
	if nested_ok demo; then
		echo
		echo "    the VM's workload passed ($(cat /tmp/nested-demo.secs) s including its boot)"
	else
		echo
		echo "    THE VM'S WORKLOAD FAILED OR DID NOT REPORT; its console:"
		tail -n 20 /tmp/nested-demo.console | tr -d '\r' | sed 's/^/      | /'
		tail -n 5 /tmp/nested-demo.qemu | sed 's/^/      | qemu: /'
	fi
	echo
	echo "--- per-vGPU statistics (mgpuctl dev show UUID) ---------------------"
	echo "busy = engine time spent on the vGPU, commands completed, bytes"
	echo "written by COPY/FILL, GEMM work (2 m n k per GEMM):"
	echo
	stats_table
}

# cmdline_val KEY DEFAULT: KEY=VALUE of the kernel command line
cmdline_val() {
	_val=$2
	for _a in $(cat /proc/cmdline); do
		case $_a in "$1"=*) _val=${_a#*=} ;; esac
	done
	echo "$_val"
}

# ---- the LSTM step, native / passthrough / 1/4, interleaved ----
#
# Three step servers (mgpu-lstm --serve, tools/guest/mgpu-lstm.c), each
# set up once and warmed up, then asked for one step at a time, in turns.
# Side S (native, pt, frac): its instance in $lstm_u_S, its requests go
# to the FIFO $lstm_in_S (kept open read-write on a file descriptor of
# ours, so that a write never blocks, even when the reader is gone), its
# replies, one line each (READY, STEP, NOISE, or *FAILED), come in the
# file $lstm_out_S; $lstm_k_S counts the replies taken.

# lstm_counter UUID NAME: the instance's counter (sysfs, a builtin read:
# no process started between the steps)
lstm_counter() {
	_v=0
	read -r _v 2>/dev/null <"/sys/bus/mdev/devices/$1/mgpu/$2" || _v=0
	echo "$_v"
}

# lstm_steal: the steal ticks (USER_HZ) of all CPUs, from /proc/stat
lstm_steal() {
	read -r _c _us _ni _sy _id _io _hi _si _st _rest </proc/stat
	echo "${_st:-0}"
}

# lstm_uptime: seconds since boot, centisecond resolution
lstm_uptime() {
	read -r _up _rest </proc/uptime
	echo "$_up"
}

# lstm_reply SIDE SECS: wait (at most SECS) for the side's next reply
# line, into _r; return 1 (with the reason in /tmp/lstm-why-SIDE) on a
# *FAILED line, a server that exited, or the timeout.  Not in a $(...):
# it counts the replies taken in the caller's shell.
lstm_reply() {
	eval "_out=\$lstm_out_$1 _k=\$((lstm_k_$1 + 1))"
	_end=$(($(date +%s) + $2))
	_r=
	while :; do
		_line=$(tr -d '\r' 2>/dev/null <"$_out" |
			grep -E '^(READY|STEP|NOISE|UNKNOWN|[A-Z]*-FAILED)' | sed -n "${_k}p")
		case $_line in
		*-FAILED*)
			echo "$_line" >"/tmp/lstm-why-$1"
			return 1
			;;
		?*)
			eval "lstm_k_$1=$_k"
			_r=$_line
			return 0
			;;
		esac
		if [ "$1" != native ] && [ -f "/tmp/nested-lstm-$1.rc" ]; then
			echo "its nested QEMU exited ($(cat "/tmp/nested-lstm-$1.rc"))" >"/tmp/lstm-why-$1"
			return 1
		fi
		if [ "$1" = native ] && [ -f /tmp/lstm-native.rc ]; then
			echo "mgpu-lstm exited ($(cat /tmp/lstm-native.rc))" >/tmp/lstm-why-native
			return 1
		fi
		if [ "$(date +%s)" -ge "$_end" ]; then
			echo "no reply $_k in $2 s" >"/tmp/lstm-why-$1"
			return 1
		fi
		sleep 0.2
	done
}

# lstm_ask SIDE REQUEST SECS: send REQUEST; the reply in _r (see above)
lstm_ask() {
	case $1 in
	native) echo "$2" >&7 ;;
	pt) echo "$2" >&8 ;;
	frac) echo "$2" >&9 ;;
	esac
	lstm_reply "$1" "$3"
}

# lstm_val KEY: KEY=VALUE of the reply line in $_r
lstm_val() {
	echo "$_r" | sed -n "s/.* $1=\([^ ]*\).*/\1/p"
}

# lstm_side_start SIDE UUID ARGS: start the side's server (native: in the
# background here; pt, frac: a nested guest with a control channel)
lstm_side_start() {
	case $1 in
	native)
		rm -f /tmp/lstm-native.in /tmp/lstm-native.out /tmp/lstm-native.rc
		mkfifo /tmp/lstm-native.in
		(
			# shellcheck disable=SC2086
			timeout -s KILL "$lstm_life" /nested/mgpu-lstm --dev="$2" $3 \
				--serve=/tmp/lstm-native.in --noise --secs="$lstm_life" \
				>/tmp/lstm-native.out 2>&1 </dev/null
			echo $? >/tmp/lstm-native.rc
		) &
		lstm_pid_native=$!
		lstm_in_native=/tmp/lstm-native.in
		lstm_out_native=/tmp/lstm-native.out
		;;
	*)
		# shellcheck disable=SC2086
		NESTED_CTL=1 NESTED_TIMEOUT=$lstm_life nested_start "lstm-$1" "$2" \
			mgpu_run=mgpu-lstm $(echo " $3" | sed 's/ --/ mgpu_arg./g') \
			mgpu_arg.serve=/dev/ttyS2 mgpu_arg.secs="$lstm_life"
		eval "lstm_in_$1=/tmp/nested-lstm-$1.ctl.in lstm_out_$1=/tmp/nested-lstm-$1.res"
		;;
	esac
	eval "lstm_k_$1=0 lstm_ok_$1=1"
	rm -f "/tmp/lstm-why-$1"
}

# lstm_ready SIDE SECS: wait for READY
lstm_ready() {
	lstm_reply "$1" "$2"
}

# nested_lstm_compare: the PTB LSTM language model's training step
# (tools/guest/train.c: PTB small, B=20, H=200, V=10000, T=20, 2 layers,
# unless the kernel command line's mgpu_lstm_batch=, _hidden=, _vocab=,
# _steps=, _layers= say otherwise) three ways, interleaved:
#   native:      mgpu-lstm in this VM through VFIO (libmgpu host side)
#                on a passthrough instance,
#   passthrough: mgpu-lstm in a nested VM on a passthrough instance,
#   fractional:  mgpu-lstm in a nested VM on a 1/4 instance.
# Each instance is alone on a software GPU of its own, all three of the
# same size (mgpu_lstm_vram=, default 256M, so that a quarter holds the
# 34.5 MiB model; queues=16): the three servers
# run at once (an instance is open in one place only, and a passthrough
# instance takes its whole parent), and no other instance shares an
# engine.  After the servers' warm-up step, R rounds (mgpu_bench_reps=
# or $MGPU_BENCH_REPS, default 5) of one step each of native,
# passthrough, fractional in turn.  Around each step the instance's
# trapped register accesses and interrupts (sysfs mgpu/reg_traps, irqs)
# are read.  The window's noise: the native server's stall monitor (a
# 2 ms sleeper, tools/bench/stats.c) and /proc/stat's steal; over 2 %
# of the window the table says NOISY.  Prints the table; the servers'
# output as "# " lines.  Return: 0 if every side answered every step.
nested_lstm_compare() {
	_vram=$(cmdline_val mgpu_lstm_vram 256M)
	_reps=$(cmdline_val mgpu_bench_reps "${MGPU_BENCH_REPS:-5}")
	# The servers' lifetime (they quit when told); how long a side may
	# take to be READY (all together: boots, check, warm-up), and a step.
	lstm_life=$(cmdline_val mgpu_lstm_life 3000)
	_ready=$(cmdline_val mgpu_lstm_ready_secs 900)
	_step=$(cmdline_val mgpu_lstm_step_secs 600)
	lstm_args=
	for _k in batch hidden vocab steps layers; do
		_x=$(cmdline_val "mgpu_lstm_$_k" '')
		[ -n "$_x" ] && lstm_args="$lstm_args --$_k=$_x"
	done
	lstm_args=${lstm_args# }
	_cfg=
	_rc=0
	_made=
	for _side in native pt frac; do
		_ty=mgpu-passthrough
		[ $_side = frac ] && _ty=mgpu-1_4
		_p=$(parent_add "vram=$_vram queues=16") || _p=
		_u=
		[ -n "$_p" ] && _u=$(mdev_create "$_p" $_ty) || _u=
		if [ -z "$_u" ]; then
			echo "# cannot add a software GPU (vram=$_vram queues=16) with a $_ty instance"
			[ -n "$_p" ] && parent_remove "$_p"
			for _x in $_made; do
				mdev_remove "${_x%@*}"
				parent_remove "${_x#*@}"
			done
			return 1
		fi
		_made="$_made $_u@$_p"
		eval "lstm_u_$_side=$_u lstm_p_$_side=$_p"
	done
	echo "# parents: native $lstm_p_native, passthrough $lstm_p_pt, 1/4 $lstm_p_frac (vram=$_vram queues=16 each)"
	# The nested guests boot (most of a minute) while the native side
	# checks and warms up.
	for _side in pt frac native; do
		eval "_u=\$lstm_u_$_side"
		lstm_side_start $_side "$_u" "$lstm_args"
	done
	_end=$(($(date +%s) + _ready))
	for _side in native pt frac; do
		_left=$((_end - $(date +%s)))
		[ $_left -gt 10 ] || _left=10
		if lstm_ready $_side $_left; then
			echo "# $_side: $_r"
			[ -n "$_cfg" ] || _cfg=$(echo "$_r" | sed -e 's/^READY warmup_ns=[0-9]* //' -e 's/ loss=.*//')
		else
			eval "lstm_ok_$_side=0"
			_rc=1
			echo "# $_side: no READY: $(cat /tmp/lstm-why-$_side)"
		fi
	done
	exec 7<>"$lstm_in_native" 8<>"$lstm_in_pt" 9<>"$lstm_in_frac"

	rm -f /tmp/lstm-rounds
	_n0=0 _w0=0
	if [ $lstm_ok_native = 1 ] && lstm_ask native noise 60; then
		_n0=$(lstm_val lost) _w0=$(lstm_val wall)
	fi
	_st0=$(lstm_steal) _t0=$(lstm_uptime)
	_i=1
	while [ $_i -le "$_reps" ]; do
		for _side in native pt frac; do
			eval "_ok=\$lstm_ok_$_side _u=\$lstm_u_$_side"
			[ "$_ok" = 1 ] || continue
			_tr=$(lstm_counter "$_u" reg_traps) _iq=$(lstm_counter "$_u" irqs)
			if lstm_ask $_side step "$_step"; then
				_tr=$(($(lstm_counter "$_u" reg_traps) - _tr))
				_iq=$(($(lstm_counter "$_u" irqs) - _iq))
				echo "$_side $_i $(lstm_val ns) $_tr $_iq $(lstm_val lost) $(lstm_val loss)" >>/tmp/lstm-rounds
				echo "# $_side round $_i: $_r traps=$_tr irqs=$_iq"
			else
				eval "lstm_ok_$_side=0"
				_rc=1
				echo "# $_side: step of round $_i: $(cat /tmp/lstm-why-$_side)"
			fi
		done
		_i=$((_i + 1))
	done
	_st1=$(lstm_steal) _t1=$(lstm_uptime)
	_n1=$_n0 _w1=$_w0
	if [ $lstm_ok_native = 1 ] && lstm_ask native noise 60; then
		_n1=$(lstm_val lost) _w1=$(lstm_val wall)
	fi
	for _side in native pt frac; do
		eval "_ok=\$lstm_ok_$_side"
		[ "$_ok" = 1 ] && { lstm_ask $_side quit 5 >/dev/null || true; }
	done
	exec 7>&- 8>&- 9>&-
	# The nested guests power off after quit; one that failed, or does
	# not within 2 minutes, is killed.
	for _side in pt frac; do
		_pid=$(cat "/tmp/nested-lstm-$_side.pid")
		eval "_ok=\$lstm_ok_$_side"
		_j=0
		[ "$_ok" = 1 ] || _j=120
		while kill -0 "$_pid" 2>/dev/null && [ $_j -lt 120 ]; do
			sleep 1
			_j=$((_j + 1))
		done
		pkill -P "$_pid" 2>/dev/null
		nested_wait "lstm-$_side"
	done
	pkill -P "$lstm_pid_native" 2>/dev/null
	wait "$lstm_pid_native" 2>/dev/null
	for _side in native pt frac; do
		eval "_u=\$lstm_u_$_side _p=\$lstm_p_$_side"
		echo "# stats of $_side's $_u: $(stats_of "$_u")"
		mdev_remove "$_u" || echo "# could not remove $_u"
		parent_remove "$_p" || echo "# could not remove $_p"
	done

	for _f in /tmp/lstm-native.out /tmp/nested-lstm-pt.res /tmp/nested-lstm-frac.res; do
		echo "# --- $_f"
		tr -d '\r' 2>/dev/null <"$_f" | sed '/^MGPU-NESTED-END/,$d' | sed 's/^/# /'
	done
	for _side in pt frac; do
		eval "_ok=\$lstm_ok_$_side"
		[ "$_ok" = 1 ] && continue
		echo "# $_side failed; its console and QEMU's output:"
		tail -n 15 "/tmp/nested-lstm-$_side.console" 2>/dev/null | tr -d '\r' | sed 's/^/# | /'
		tail -n 10 "/tmp/nested-lstm-$_side.qemu" 2>/dev/null | sed 's/^/# | qemu: /'
	done
	_cpus=$(grep -c '^processor' /proc/cpuinfo)
	echo "LSTM language-model training step (PTB; ${_cfg:-no side ready}), one submission a step, fp32;"
	echo "$_reps rounds of one step each of native, passthrough, 1/4 in turn, after a warm-up step of each;"
	echo "each instance alone on a software GPU of its own, all three vram=$_vram queues=16:"
	[ -f /tmp/lstm-rounds ] || : >/tmp/lstm-rounds
	awk -v reps="$_reps" -v okn="$lstm_ok_native" -v okp="$lstm_ok_pt" -v okf="$lstm_ok_frac" \
		-v n0="$_n0" -v n1="$_n1" -v w0="$_w0" -v w1="$_w1" \
		-v st0="$_st0" -v st1="$_st1" -v t0="$_t0" -v t1="$_t1" -v cpus="$_cpus" '
	function med(a, n,   i, j, t, b) {
		for (i = 1; i <= n; i++) b[i] = a[i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && b[j - 1] > b[j]; j--) { t = b[j]; b[j] = b[j - 1]; b[j - 1] = t }
		return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
	}
	function mn(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
	function mx(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
	{ ns[$1, $2] = $3; tr[$1] += $4; iq[$1] += $5; cnt[$1]++; lost[$1] += $6; loss[$1] = $7 }
	END {
		side[1] = "native"; name[1] = "native (this VM, libmgpu over VFIO)"
		side[2] = "pt"; name[2] = "nested VM, mgpu-passthrough vGPU"
		side[3] = "frac"; name[3] = "nested VM, mgpu-1_4 vGPU"
		ok["native"] = okn; ok["pt"] = okp; ok["frac"] = okf
		printf "  %-36s %-27s %-21s %10s %9s %7s\n", "where", "ms/step median [min-max]", "vs native [min-max]", "traps/step", "irqs/step", "loss"
		for (k = 1; k <= 3; k++) {
			s = side[k]
			n = 0; m = 0
			for (i = 1; i <= reps; i++) {
				if ((s, i) in ns) t[++n] = ns[s, i] / 1e6
				if ((s, i) in ns && ("native", i) in ns && ns["native", i] > 0)
					r[++m] = ns[s, i] / ns["native", i]
			}
			if (!n) { printf "  %-36s FAILED (no step measured)\n", name[k]; continue }
			ms = sprintf("%.1f [%.1f-%.1f]", med(t, n), mn(t, n), mx(t, n))
			rs = m ? sprintf("%.3f [%.3f-%.3f]", med(r, m), mn(r, m), mx(r, m)) : "-"
			printf "  %-36s %-27s %-21s %10.1f %9.1f %7s%s\n", name[k], ms, rs, tr[s] / cnt[s], iq[s] / cnt[s], loss[s], \
				(ok[s] == 1 && n == reps) ? "" : sprintf("  FAILED after %d of %d steps", n, reps)
		}
		win = t1 - t0
		lostf = (w1 > w0) ? (n1 - n0) / (w1 - w0) : -1
		stealf = (win > 0 && cpus > 0) ? (st1 - st0) / 100 / (win * cpus) : 0
		noisy = lostf > 0.02 || stealf > 0.02
		printf "  window %.1f s: stolen %s (stall monitor), steal %.1f %% (/proc/stat)%s\n", win, \
			lostf < 0 ? "unknown" : sprintf("%.1f %%", 100 * lostf), 100 * stealf, \
			noisy ? "  NOISY (over 2 %): run make bench on an idle host" : ""
		printf "  vs native: median of the per-round ratios, [lowest-highest]; goal: passthrough <= 1.02, 1/4 <= 1.03\n"
		printf "  traps/irqs: the instance'"'"'s reg_traps and irqs (sysfs) per step, mean over the rounds; loss: the last step'"'"'s, nats a word\n"
	}' /tmp/lstm-rounds
	return $_rc
}
