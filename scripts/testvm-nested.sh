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
# The inner guest's -cpu (QEMU's default when empty), see nested_start.
NESTED_CPU=${NESTED_CPU:-}
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
	[ -f "/tmp/nested-$_n.retry" ] && mv "/tmp/nested-$_n.retry" "/tmp/nested-$_n.keep"
	rm -f "/tmp/nested-$_n".console "/tmp/nested-$_n".res "/tmp/nested-$_n".qemu \
		"/tmp/nested-$_n".rc "/tmp/nested-$_n".pid "/tmp/nested-$_n".start \
		"/tmp/nested-$_n".secs
	[ -f "/tmp/nested-$_n.keep" ] && mv "/tmp/nested-$_n.keep" "/tmp/nested-$_n.retry.keep"
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

# nested_booted NAME: true if the guest's program started (its KTAP
# header arrived).  A nested TCG guest occasionally dies in early boot
# (seen: a panic in text_poke_early under TCG inside TCG), before it
# touches the vGPU: such a boot is retried once, see nested_retry.
nested_booted() {
	grep -q 'KTAP version' "/tmp/nested-$1.res" 2>/dev/null
}

# nested_retry NAME: keep the failed boot's console tail, to report it
nested_retry() {
	{
		echo "# first boot of nested guest $1 failed before its program started; retried. Its console tail:"
		tail -n 5 "/tmp/nested-$1.console" 2>/dev/null | tr -d '\r' | sed 's/^/# | /'
	} >"/tmp/nested-$1.retry"
	echo "nested: guest $1 did not boot, retrying" >&2
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
	[ -f "$_f.retry.keep" ] && cat "$_f.retry.keep"
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
	# A boot that died before its programs started: both once more
	# (the isolation pair must overlap), on the same instances (a new
	# open finds their VRAM zeroed again).
	_again=
	for _g in frac pt; do
		eval "_u=\$u$_g"
		[ -n "$_u" ] || continue
		nested_booted $_g || nested_booted "$(cat /tmp/nested-$_g.also)" || _again="$_again $_g"
	done
	if [ -n "$_again" ]; then
		for _g in $_again; do nested_retry "$_g"; done
		nested_pair
	fi

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

# lstm_ns FILE: the ns= of mgpu-lstm's LSTM-RESULT line, or nothing
lstm_ns() {
	tr -d '\r' <"$1" 2>/dev/null | sed -n 's/^# LSTM-RESULT ns=\([0-9]*\) .*/\1/p' | tail -n1
}

# cmdline_val KEY DEFAULT: KEY=VALUE of the kernel command line
cmdline_val() {
	_val=$2
	for _a in $(cat /proc/cmdline); do
		case $_a in "$1"=*) _val=${_a#*=} ;; esac
	done
	echo "$_val"
}

# nested_lstm_compare [VOCAB] [STEPS]: (defaults: the kernel command
# line's mgpu_lstm_vocab=, mgpu_lstm_steps=, else 10000 and 10) the PTB LSTM step (tools/guest/
# lstm.h; B=20, H=I=200) on one software GPU (vram=64M queues=16, so
# nothing else shares its engine), three ways, in this one run:
#   native:      mgpu-lstm in this VM through VFIO (libmgpu host side)
#                on a passthrough instance,
#   passthrough: mgpu-lstm in a nested VM on that passthrough instance,
#   fractional:  mgpu-lstm in a nested VM on a 1/4 instance.
# Prints a table with the ratios to native; the nested runs' KTAP as
# "# " lines.  Return: 0 if all three ran and verified.
nested_lstm_compare() {
	_v=${1:-$(cmdline_val mgpu_lstm_vocab 10000)}
	_s=${2:-$(cmdline_val mgpu_lstm_steps 10)}
	_rc=0
	_p=$(parent_add "vram=64M queues=16") || { echo "# cannot add a software GPU"; return 1; }
	_u=$(mdev_create "$_p" mgpu-passthrough) || { echo "# cannot create a passthrough vGPU"; return 1; }
	/nested/mgpu-lstm --dev="$_u" --vocab="$_v" --steps="$_s" >/tmp/lstm-native.out 2>&1 || _rc=1
	nested_start lstm-pt "$_u" mgpu_run=mgpu-lstm mgpu_arg.vocab="$_v" mgpu_arg.steps="$_s"
	nested_wait lstm-pt
	nested_ok lstm-pt || _rc=1
	mdev_remove "$_u"
	_u=$(mdev_create "$_p" mgpu-1_4) || { echo "# cannot create a 1/4 vGPU"; return 1; }
	nested_start lstm-frac "$_u" mgpu_run=mgpu-lstm mgpu_arg.vocab="$_v" mgpu_arg.steps="$_s"
	nested_wait lstm-frac
	nested_ok lstm-frac || _rc=1
	mdev_remove "$_u"
	parent_remove "$_p"

	for _f in /tmp/lstm-native.out /tmp/nested-lstm-pt.res /tmp/nested-lstm-frac.res; do
		echo "# --- $_f"
		tr -d '\r' <"$_f" 2>/dev/null | sed '/^MGPU-NESTED-END/,$d' | sed 's/^/# /'
	done
	_n=$(lstm_ns /tmp/lstm-native.out)
	_pt=$(lstm_ns /tmp/nested-lstm-pt.res)
	_fr=$(lstm_ns /tmp/nested-lstm-frac.res)
	echo "LSTM language-model step (PTB small: batch 20, hidden 200, input 200, vocab $_v), $_s steps, fp32 GEMMs on one software GPU:"
	printf '  %-44s %12s %10s %10s\n' "where" "total ms" "ms/step" "vs native"
	for _row in "native (this VM, libmgpu over VFIO)|$_n" \
		"nested VM, mgpu-passthrough vGPU|$_pt" \
		"nested VM, mgpu-1_4 vGPU|$_fr"; do
		_name=${_row%|*} _ns=${_row#*|}
		if [ -z "$_ns" ]; then
			printf '  %-44s %12s\n' "$_name" "FAILED"
			continue
		fi
		awk -v name="$_name" -v ns="$_ns" -v nat="$_n" -v s="$_s" 'BEGIN {
			r = (nat != "" && nat > 0) ? sprintf("%.2fx", ns / nat) : "-"
			printf "  %-44s %12.1f %10.2f %10s\n", name, ns / 1e6, ns / 1e6 / s, r
		}'
	done
	return $_rc
}
