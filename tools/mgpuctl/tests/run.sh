#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# mgpuctl host tests: a fake root (mkfake.sh) through MGPUCTL_ROOT, golden
# text and JSON outputs (golden/), bad inputs.  KTAP on stdout.
#
# usage: MGPUCTL=/path/to/mgpuctl run.sh
#        MGPUCTL_UPDATE_GOLDEN=1 ... rewrites golden/ from the current output
set -u
here=$(cd "$(dirname "$0")" && pwd)
M=${MGPUCTL:?set MGPUCTL to the mgpuctl binary}
G=$here/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
"$here/mkfake.sh" "$root"
export MGPUCTL_ROOT=$root
U1=8e0ab4b6-6a2d-4c1a-9d0e-000000000001
U2=8e0ab4b6-6a2d-4c1a-9d0e-000000000002
U4=8e0ab4b6-6a2d-4c1a-9d0e-000000000004
N=8e0ab4b6-6a2d-4c1a-9d0e-0000000000ff
V=8e0ab4b6-6a2d-4c1a-9d0e-0000000000fe

n=0
failed=0
echo "KTAP version 1"

ok() {
	n=$((n + 1))
	echo "ok $n $1"
}
notok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n $1"
	[ -s "$tmp/out" ] && sed 's/^/# stdout: /' "$tmp/out" | head -n 20
	[ -s "$tmp/err" ] && sed 's/^/# stderr: /' "$tmp/err" | head -n 10
	[ -n "${2:-}" ] && echo "# $2"
	return 0
}

# t NAME RC [GOLDEN|-] [STDERR-PATTERN|-] -- ARGS...: run mgpuctl ARGS
t() {
	name=$1 rc=$2 golden=$3 pat=$4
	shift 5
	"$M" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$rc" ]; then
		notok "$name" "exit status $got, expected $rc"
		return
	fi
	if [ "$golden" != - ]; then
		if [ -n "${MGPUCTL_UPDATE_GOLDEN:-}" ]; then
			cp "$tmp/out" "$G/$golden"
		elif ! diff -u "$G/$golden" "$tmp/out" >"$tmp/diff" 2>&1; then
			sed 's/^/# /' "$tmp/diff" | head -n 30
			notok "$name" "output differs from golden/$golden"
			return
		fi
	fi
	if [ "$pat" != - ] && ! grep -Eq -- "$pat" "$tmp/err"; then
		notok "$name" "stderr does not match /$pat/"
		return
	fi
	case $golden in
	*.json)
		if ! python3 -m json.tool "$tmp/out" >/dev/null 2>&1; then
			notok "$name" "output is not valid JSON"
			return
		fi ;;
	esac
	ok "$name"
}

# tf NAME FILE EXPECTED: FILE (in the fake root) holds EXPECTED
tf() {
	if [ "$(cat "$root/$2" 2>/dev/null)" = "$3" ]; then
		ok "$1"
	else
		: >"$tmp/out"; : >"$tmp/err"
		notok "$1" "$2 holds '$(cat "$root/$2" 2>/dev/null)', expected '$3'"
	fi
}

# Grammar
t  "version" 0 - - -- --version
t  "help" 0 - - -- help
t  "unknown object: usage" 2 - 'unknown object "frob"' -- frob
t  "no prefix matching" 2 - 'unknown command "lis"' -- dev lis
t  "unknown option" 2 - 'unknown option' -- --frob parent list
# parent
t  "parent list" 0 parent-list.txt - -- parent list
t  "parent list -j" 0 parent-list.json - -- -j parent list
t  "parent show 6d67:00:00.0" 0 parent-show.txt - -- parent show 6d67:00:00.0
t  "parent show -j -p 6d67:00:01.0" 0 parent-show-pretty.json - -- -j -p parent show 6d67:00:01.0
t  "parent show: missing parent" 3 - '^mgpuctl: no mgpu parent 6d67:00:07.0 \(see: mgpuctl parent list\)$' -- parent show 6d67:00:07.0
t  "parent set policy" 0 - - -- parent set 6d67:00:00.0 policy=equal_share time_slice_us=5000
tf "parent set policy wrote sched_policy" sys/devices/pci6d67:00/6d67:00:00.0/sched_policy equal_share
tf "parent set wrote time_slice_us" sys/devices/pci6d67:00/6d67:00:00.0/time_slice_us 5000
t  "parent set: bad policy" 2 - 'expected best_effort, equal_share or fixed_share' -- parent set 6d67:00:00.0 policy=fastest
t  "parent set: bad number" 2 - 'not a number' -- parent set 6d67:00:00.0 time_slice_us=12x
t  "parent set: unknown key" 2 - 'unknown parent attribute "color"' -- parent set 6d67:00:00.0 color=red
t  "parent add: the new parent's name, else an error" 1 - 'no new parent appeared after the write to add_swgpu' -- parent add vram=64M queues=16
tf "parent add wrote add_swgpu" sys/class/mgpu/add_swgpu "vram=64M queues=16"
t  "parent add: bad argument" 2 - 'usage: mgpuctl parent add' -- parent add color=red
t  "parent remove" 0 - - -- parent remove 6d67:00:01.0
tf "parent remove wrote remove_swgpu" sys/class/mgpu/remove_swgpu 6d67:00:01.0
# type
t  "type list" 0 type-list.txt - -- type list
t  "type list --parent -j" 0 type-list-parent1.json - -- -j type list --parent 6d67:00:01.0
t  "type list: missing parent" 3 - 'no mgpu parent nope' -- type list --parent nope
# dev: listing
t  "dev list (corrupted definition warned)" 0 dev-list.txt '6d67:00:09.0/.*is corrupted' -- dev list
t  "dev list -j" 0 dev-list.json - -- -j dev list
t  "dev list --defined" 0 dev-list-defined.txt - -- dev list --defined
t  "dev list --active --parent 6d67:00:01.0" 0 dev-list-empty.txt - -- dev list --active --parent 6d67:00:01.0
t  "dev show" 0 dev-show.txt - -- dev show $U1
t  "dev show -j -p" 0 dev-show-pretty.json - -- -j -p dev show $U1
t  "dev show: bad UUID" 2 - 'is not a UUID' -- dev show 1234
t  "dev show: unknown UUID" 3 - "no mgpu instance $N" -- dev show $N
t  "dev qemu" 0 dev-qemu.txt - -- dev qemu $U1
t  "dev qemu of a stopped definition warns" 0 - 'defined but not started \(fix: mgpuctl dev start' -- dev qemu $U2
t  "dev libvirt" 0 dev-libvirt.txt - -- dev libvirt $U1
t  "dev libvirt -j" 0 dev-libvirt.json - -- -j dev libvirt $U1
# dev: create/remove/set errors
t  "dev create: unknown type" 3 - '^mgpuctl: no type mgpu-1_3 on 6d67:00:00.0 \(types: mgpu-passthrough, mgpu-1_2, mgpu-1_4, mgpu-1_8, mgpu-1_16\)$' -- dev create --parent 6d67:00:00.0 --type mgpu-1_3
t  "dev create: missing parent" 3 - 'no mgpu parent 6d67:00:05.0' -- dev create --parent 6d67:00:05.0 --type mgpu-1_4
t  "dev create: UUID exists" 1 - 'UUID already exists' -- dev create --parent 6d67:00:00.0 --type mgpu-1_4 --uuid $U1
t  "dev create: bad UUID" 2 - 'is not a UUID' -- dev create --parent 6d67:00:00.0 --type mgpu-1_4 --uuid xyz
t  "dev create: no --type" 2 - 'usage: mgpuctl dev create' -- dev create --parent 6d67:00:00.0
t  "dev remove: not active" 3 - "no active instance $N" -- dev remove $N
t  "dev set weight" 0 - - -- dev set $U1 weight=7 cap=50
tf "dev set wrote weight" sys/devices/pci6d67:00/6d67:00:00.0/$U1/mgpu/weight 7
tf "dev set wrote cap" sys/devices/pci6d67:00/6d67:00:00.0/$U1/mgpu/cap 50
t  "dev set: bad value" 2 - 'weight=abc: not a number' -- dev set $U1 weight=abc
t  "dev set: unknown key" 2 - 'unknown instance attribute "color"' -- dev set $U1 color=1
# dev: definitions (mdevctl format)
t  "dev define" 0 - - -- dev define --parent 6d67:00:01.0 --type mgpu-1_2 --uuid $N --auto weight=3 cap=20
tf "dev define wrote mdevctl JSON" etc/mdevctl.d/6d67:00:01.0/$N "$(cat "$G/define-file.json")"
t  "dev list --defined after define" 0 dev-list-defined2.txt - -- dev list --defined --parent 6d67:00:01.0
# dev modify (mdevctl's verb): the definition only, checked like define
def_json() {	# def_json TYPE START [KEY VALUE]...: mdevctl's file
	printf '{\n  "mdev_type": "%s",\n  "start": "%s",\n  "attrs": [' "$1" "$2"
	shift 2
	sep='\n'
	[ $# = 0 ] && printf ']\n}'
	while [ $# -gt 0 ]; do
		printf "$sep"'    {\n      "%s": "%s"\n    }' "$1" "$2"
		sep=',\n'
		shift 2
		[ $# = 0 ] && printf '\n  ]\n}'
	done
}
t  "dev modify --manual KEY=VALUE --delattr" 0 - - -- dev modify $N --manual weight=5 --delattr cap
tf "dev modify wrote the definition" etc/mdevctl.d/6d67:00:01.0/$N "$(def_json mgpu-1_2 manual mgpu/weight 5)"
t  "dev modify -u -t (mdevctl's spelling), KEY=VALUE appended" 0 - - -- dev modify -u $N -t mgpu-1_4 --auto cap=9
tf "dev modify changed the type" etc/mdevctl.d/6d67:00:01.0/$N "$(def_json mgpu-1_4 auto mgpu/weight 5 mgpu/cap 9)"
t  "dev modify: unknown type on a present parent" 3 - 'no type mgpu-1_3 on 6d67:00:01.0' -- dev modify $N --type mgpu-1_3
t  "dev modify: not defined" 3 - "$V is not defined" -- dev modify $V --auto
t  "dev modify: nothing to change" 2 - 'usage: mgpuctl dev modify' -- dev modify $N
t  "dev modify: --delattr of a missing key" 2 - "$N has no attribute color" -- dev modify $N --delattr color
t  "dev modify: bad value" 2 - 'weight=x: not a number' -- dev modify $N weight=x
tf "dev modify: a failed modify changes nothing" etc/mdevctl.d/6d67:00:01.0/$N "$(def_json mgpu-1_4 auto mgpu/weight 5 mgpu/cap 9)"
t  "dev modify --jsonfile" 0 - - -- dev modify $N --jsonfile "$G/define-file.json"
tf "dev modify --jsonfile wrote the file's definition" etc/mdevctl.d/6d67:00:01.0/$N "$(cat "$G/define-file.json")"
t  "dev modify --jsonfile with --auto" 2 - '--jsonfile gives the type' -- dev modify $N --jsonfile "$G/define-file.json" --auto
# dev define --jsonfile (mdevctl's): type, start and attributes from a file
t  "dev define -p -u --jsonfile" 0 - - -- dev define -p 6d67:00:01.0 -u $V --jsonfile "$G/define-file.json"
tf "dev define --jsonfile wrote the definition" etc/mdevctl.d/6d67:00:01.0/$V "$(cat "$G/define-file.json")"
t  "dev list --defined --dumpjson (mdevctl's layout)" 0 dev-list-dumpjson.json - -- dev list --defined --dumpjson --parent 6d67:00:01.0
t  "dev undefine -u" 0 - - -- dev undefine -u $V
printf '{"mdev_type": "mgpu-1_2", "attrs": [{"color": "red"}]}' >"$tmp/color.json"
t  "dev define --jsonfile: attributes checked" 2 - 'unknown instance attribute "color"' -- dev define -p 6d67:00:01.0 --jsonfile "$tmp/color.json"
printf '{"mdev_type": 12}' >"$tmp/bad.json"
t  "dev define --jsonfile: not a definition" 2 - 'jsonfile .*bad.json is corrupted: no "mdev_type" string' -- dev define -p 6d67:00:01.0 --jsonfile "$tmp/bad.json"
t  "dev define --jsonfile with --type" 2 - '--jsonfile gives the type' -- dev define -p 6d67:00:01.0 -t mgpu-1_2 --jsonfile "$tmp/bad.json"
t  "dev help names modify and --jsonfile" 0 - 'mgpuctl dev modify UUID --jsonfile FILE' -- dev help
t  "--help names every object's commands" 0 - - -- --help
if grep -q 'mgpuctl dev modify UUID' "$tmp/out" && grep -q 'mgpuctl guest list' "$tmp/out"; then ok "--help lists dev modify and guest list"; else notok "--help lists dev modify and guest list"; fi
t  "dev define: already defined" 1 - "already defined on 6d67:00:01.0" -- dev define --parent 6d67:00:01.0 --type mgpu-1_2 --uuid $N
t  "dev define: not an mgpu type" 2 - 'is not an mgpu type' -- dev define --parent 6d67:00:01.0 --type mtty-1
t  "dev define: unknown type on a present parent" 3 - 'no type mgpu-1_3 on 6d67:00:01.0' -- dev define --parent 6d67:00:01.0 --type mgpu-1_3
t  "dev define: unknown attribute" 2 - 'unknown instance attribute "color"' -- dev define --parent 6d67:00:01.0 --type mgpu-1_2 color=1
t  "dev define of an active instance" 1 - 'already defined' -- dev define --uuid $U1
t  "dev undefine" 0 - - -- dev undefine $N
tf "dev undefine removed the file" etc/mdevctl.d/6d67:00:01.0/$N ""
t  "dev undefine: not defined" 3 - "$N is not defined" -- dev undefine $N
t  "dev start: corrupted definition" 1 - 'is corrupted: unexpected end of data at offset' -- dev start $U4
t  "dev start: not defined" 3 - 'is not defined' -- dev start $N
t  "dev start: already active" 1 - 'is already started' -- dev start $U1
t  "dev autostart: one log line per failure" 1 - "autostart of $U2 \(mgpu-1_8 on 6d67:00:00.0\) failed" -- dev autostart --parent 6d67:00:00.0
t  "dev autostart: missing --parent" 2 - 'usage: mgpuctl dev autostart' -- dev autostart
# guest (a fake PCI bus with one 1/4 vGPU)
t  "guest list" 0 guest-list.txt - -- guest list
t  "guest list -j" 0 guest-list.json - -- -j guest list
# top
t  "top -j: one snapshot" 0 - - -- -j top -d 0.05
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["devices"]) == 1 and d["devices"][0]["busy_ns"] == 5000000000' "$tmp/out" 2>"$tmp/err"; then ok "top -j: keys and values"; else notok "top -j: keys and values"; fi
t  "top -n 1 (text)" 0 - - -- top -d 0.05 -n 1
t  "top: bad -d" 2 - 'expected seconds' -- top -d soon
# Missing /etc/mdevctl.d, missing module
rm -rf "$root/etc"
t  "dev list --defined without /etc/mdevctl.d" 0 dev-list-empty.txt - -- dev list --defined
t  "dev define creates /etc/mdevctl.d" 0 - - -- dev define --parent 6d67:00:01.0 --type mgpu-1_2 --uuid $N
tf "dev define without /etc/mdevctl.d wrote the file" etc/mdevctl.d/6d67:00:01.0/$N "$(sed 's/"auto"/"manual"/; /"attrs"/,$d' "$G/define-file.json"; printf '  "attrs": []\n}')"
MGPUCTL_ROOT=$tmp/empty
mkdir -p "$MGPUCTL_ROOT"
t  "module not loaded" 4 - '^mgpuctl: mgpu module not loaded \(fix: modprobe mgpu\)$' -- parent list
t  "module not loaded: dev create" 4 - 'mgpu module not loaded' -- dev create --parent 6d67:00:00.0 --type mgpu-1_4
MGPUCTL_ROOT=$root
# The udev rule: every line "KEY<op>\"value\"", comma separated, and RUN
# calls "mgpuctl dev autostart --parent $kernel".
rules=$here/../99-mgpuctl.rules
if awk '/^[ \t]*(#|$)/ { next }
	{ line = $0
	  while (length(line)) {
		if (!match(line, /^[ \t]*[A-Z_]+(\{[^}]*\})?[ \t]*(==|!=|\+=|-=|=|:=)[ \t]*"[^"]*"[ \t]*/)) exit 1
		line = substr(line, RLENGTH + 1)
		if (substr(line, 1, 1) == ",") line = substr(line, 2)
		else if (length(line)) exit 1
	  } }' "$rules" && grep -q 'RUN+="@SBINDIR@/mgpuctl dev autostart --parent $kernel"' "$rules"; then
	ok "udev rule syntax"
else
	: >"$tmp/out"; : >"$tmp/err"
	notok "udev rule syntax"
fi
if bash -n "$here/../mgpuctl.bash-completion" 2>"$tmp/err"; then
	ok "bash completion parses"
else
	: >"$tmp/out"
	notok "bash completion parses"
fi
# The man page renders without a docutils warning.
rst=$here/../../../Documentation/mgpuctl.8.rst
r2m=$(command -v rst2man || command -v rst2man.py || true)
if [ -z "$r2m" ]; then
	echo "ok $((n = n + 1)) man page renders # SKIP rst2man not installed"
elif "$r2m" --halt=warning "$rst" "$tmp/mgpuctl.8" >"$tmp/out" 2>"$tmp/err"; then
	ok "man page renders"
else
	notok "man page renders"
fi
echo "1..$n"
echo "# mgpuctl host tests: $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
