#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The libvirt tests, run in the libvirt test VM (scripts/libvirtvm-init2)
# with mgpu.ko loaded, udevd, virtlogd and libvirtd running.  KTAP on
# stdout, numbered from MGPU_KTAP_FIRST (default 1); the last number used
# goes to /tmp/ktap-last.  Diagnostics are "# | " lines.
#
# The mdev parent under test: the PCI device bound to the driver "mgpu"
# that has mgpu-* types (libvirt names it pci_DDDD_BB_SS_F), else the
# first parent in /sys/class/mdev_bus with mgpu-* types (the class
# device swgpu0 of mgpu before its parents were PCI devices: libvirt's
# node-device driver does not take it as an mdev parent, and every test
# that needs libvirt to know the parent fails, saying so).
#
# What is tested, through virsh unless said otherwise:
#   libvirtd answers; mdevctl types lists mgpu's types;
#   nodedev-list --cap mdev_types lists the parent; nodedev-dumpxml of the
#   parent has every type with name, deviceAPI and availableInstances as
#   sysfs has them; an instance made through sysfs is listed by
#   nodedev-list --cap mdev, its nodedev-dumpxml names the parent and type;
#   nodedev-define, -start, -autostart, -destroy, -undefine (checked in
#   sysfs and mdevctl); nodedev-create of a transient mdev and its
#   nodedev-destroy; virsh nodedev-event sees them come and go;
#   capacity through libvirt stays exact across mixed-size creates and
#   removes (each type filled to its availableInstances, one more fails);
#   OpenStack Nova's calls (libvirt-nova.py, through python3-libvirt);
#   a domain with an mgpu <hostdev> (virsh define, start; its guest runs
#   tools/guest/mgpu-guest and reports on its second serial port);
#   with QEMU 8.1 or later, virsh save + restore and managedsave + start
#   of it while its guest holds data in VRAM, after the setting each
#   needs (virsh migrate-setmaxdowntime; QMP avail-switchover-bandwidth);
#   nodedev-destroy of the mdev while the domain holds it returns (fails
#   cleanly or unplugs) and never hangs; virsh destroy, undefine.

VIRSH="virsh -c qemu:///system"
# No virsh call may hang the run: each gets this long.
T=${MGPU_VIRSH_TIMEOUT:-120}
n=$((${MGPU_KTAP_FIRST:-1} - 1))
U1=6a0b4f1e-0c5b-4d0e-9a11-000000000001
U2=6a0b4f1e-0c5b-4d0e-9a11-000000000002
U3=6a0b4f1e-0c5b-4d0e-9a11-000000000003
UG=6a0b4f1e-0c5b-4d0e-9a11-00000000000a
W=/tmp/lvt
mkdir -p $W

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
# diag FILE: a file's lines as diagnostics
diag() {
	[ -s "$1" ] && sed 's/^/# | /' "$1" | head -n 40
	return 0
}
# check COND-CMD NAME: ok/not ok by the status of COND-CMD (a shell
# string); on failure /tmp/lvt/why (if any) is shown
check() {
	rm -f $W/why
	if eval "$1"; then
		ok "$2"
	else
		diag $W/why
		notok "$2"
	fi
}
# v ARGS...: virsh with a time limit; stdout and stderr to $W/out
v() {
	timeout -k 5 "$T" $VIRSH "$@" >$W/out 2>&1
}
# vwhy ARGS...: v, and on failure its output becomes the reason
vwhy() {
	if v "$@"; then
		return 0
	fi
	{ echo "virsh $*: failed:"; cat $W/out; } >$W/why
	return 1
}
why() {
	echo "$*" >>$W/why
}

# ---- the parent ----
parent=
parent_kind=
# has_mgpu_types DIR: DIR/mdev_supported_types has an mgpu-* type
has_mgpu_types() {
	for _t in "$1"/mdev_supported_types/mgpu-*; do
		[ -d "$_t" ] && return 0
	done
	return 1
}
for d in /sys/bus/pci/drivers/mgpu/????:??:??.?; do
	has_mgpu_types "$d" || continue
	parent=${d##*/}
	parent_kind=pci
	break
done
if [ -z "$parent" ]; then
	for d in /sys/class/mdev_bus/*; do
		has_mgpu_types "$d" || continue
		parent=${d##*/}
		parent_kind=class
		break
	done
fi
if [ -z "$parent" ]; then
	notok "libvirt: an mgpu mdev parent exists (PCI device of driver mgpu or in /sys/class/mdev_bus)"
	exit 0
fi
TYPES=/sys/class/mdev_bus/$parent/mdev_supported_types
types=$(cd $TYPES && echo mgpu-*)
# libvirt's name of the parent: pci_DDDD_BB_SS_F for a PCI device; a
# class device has none libvirt would give it.
if [ "$parent_kind" = pci ]; then
	pname=pci_$(echo "$parent" | tr ':.' '__')
else
	pname=$parent
fi
drv=
[ "$parent_kind" = pci ] && drv=", driver $(basename "$(readlink "/sys/bus/pci/devices/$parent/driver")")"
echo "# mdev parent: $parent ($parent_kind device$drv), libvirt name $pname; types: $types"
[ "$parent_kind" = class ] &&
	echo "# the parent is a class device (/sys/devices/virtual): libvirt's node-device driver does not list it as an mdev parent; the tests that need it to will fail"

# avail_sysfs TYPE, avail_virt TYPE (from $W/parent.xml)
avail_sysfs() { cat "$TYPES/$1/available_instances"; }
parent_xml() { v nodedev-dumpxml "$pname" && cp $W/out $W/parent.xml; }
xp() { xmllint --xpath "$1" "$2" 2>/dev/null; }
avail_virt() { xp "string(//capability[@type='mdev_types']/type[@id='$1']/availableInstances)" $W/parent.xml; }
# mdev_name UUID: libvirt's node-device name of an mdev (mdev_UUID or,
# since libvirt 7.8, mdev_UUID_PARENT), or nothing
mdev_name() {
	v nodedev-list --cap mdev || return 0
	grep "^mdev_$(echo "$1" | tr - _)" $W/out | head -n1
}
# sysfs_has UUID
sysfs_has() { [ -e "/sys/bus/mdev/devices/$1" ]; }
# virt_active NAME: libvirt has node device NAME active (it learns of
# an mdev's creation from udev, after nodedev-start/-create return)
virt_active() { v nodedev-info "$1" && grep -Eq '^Active: +yes' $W/out; }
# wait_for CMD: up to 20 s until CMD (a shell string) holds
wait_for() {
	_wi=0
	while ! eval "$1"; do
		_wi=$((_wi + 1))
		[ $_wi -ge 40 ] && return 1
		sleep 0.5
	done
}
mdev_xml() { # mdev_xml UUID TYPE
	cat <<-EOF
		<device>
		  <parent>$pname</parent>
		  <capability type='mdev'>
		    <type id='$2'/>
		    <uuid>$1</uuid>
		  </capability>
		</device>
	EOF
}
sysfs_remove() { [ -e "/sys/bus/mdev/devices/$1" ] && echo 1 >"/sys/bus/mdev/devices/$1/remove"; }

# ---- 1. libvirtd answers ----
i=0
until v version || [ $i -ge 60 ]; do
	sleep 2
	i=$((i + 1))
done
if v version; then
	sed 's/^/# /' $W/out
	ok "libvirt: libvirtd answers (virsh version)"
else
	diag $W/out
	tail -n 20 /var/log/libvirt/libvirtd.log 2>/dev/null | sed 's/^/# | libvirtd.log: /'
	notok "libvirt: libvirtd answers (virsh version)"
fi

# Node-device events from here on, for the event tests below.
timeout -k 5 1500 $VIRSH nodedev-event --event lifecycle --loop --timestamp >$W/events 2>&1 &
evpid=$!

# ---- 2. mdevctl types ----
mdevctl_types_ok() {
	mdevctl types >$W/mt 2>&1 || { why "mdevctl types failed:"; cat $W/mt >>$W/why; return 1; }
	grep -q "^$parent\$" $W/mt || { why "mdevctl types: no parent $parent:"; cat $W/mt >>$W/why; return 1; }
	_mr=0
	for t in $types; do
		grep -q "^  $t\$" $W/mt || { why "mdevctl types: no $t"; _mr=1; }
	done
	[ $_mr = 0 ] || cat $W/mt >>$W/why
	return $_mr
}
check mdevctl_types_ok "mdevctl: mdevctl types lists the mgpu types of $parent"

# ---- 3. nodedev-list --cap mdev_types ----
check 'vwhy nodedev-list --cap mdev_types && { grep -qx "$pname" $W/out ||
	{ why "$pname not in nodedev-list --cap mdev_types:"; cat $W/out >>$W/why; false; }; }' \
	"libvirt: nodedev-list --cap mdev_types lists $pname"

# ---- 4. nodedev-dumpxml of the parent ----
parent_types_ok() {
	parent_xml || { why "nodedev-dumpxml $pname:"; cat $W/out >>$W/why; return 1; }
	_pr=0
	if [ "$parent_kind" = pci ]; then
		_pd=$(xp 'string(/device/driver/name)' $W/parent.xml)
		[ "$_pd" = mgpu ] || { why "driver '$_pd', expected mgpu"; _pr=1; }
	fi
	for t in $types; do
		_pn=$(xp "string(//capability[@type='mdev_types']/type[@id='$t']/name)" $W/parent.xml)
		_pa=$(xp "string(//capability[@type='mdev_types']/type[@id='$t']/deviceAPI)" $W/parent.xml)
		_pi=$(avail_virt "$t")
		[ "$_pn" = "$(cat $TYPES/$t/name)" ] || { why "$t: name '$_pn', sysfs '$(cat $TYPES/$t/name)'"; _pr=1; }
		[ "$_pa" = "$(cat $TYPES/$t/device_api)" ] || { why "$t: deviceAPI '$_pa', sysfs '$(cat $TYPES/$t/device_api)'"; _pr=1; }
		[ "$_pi" = "$(avail_sysfs "$t")" ] || { why "$t: availableInstances '$_pi', sysfs '$(avail_sysfs "$t")'"; _pr=1; }
	done
	return $_pr
}
check parent_types_ok "libvirt: nodedev-dumpxml $pname: driver mgpu, every mgpu type with name, deviceAPI, availableInstances"

# ---- 5./6. an instance made through sysfs ----
echo "$U1" >"$TYPES/mgpu-1_4/create" 2>$W/why
udevadm settle --timeout=30
m1=
wait_for '[ -n "$(mdev_name $U1)" ]' && m1=$(mdev_name $U1)
check '[ -n "$m1" ] || { why "no mdev_$(echo $U1 | tr - _)* in nodedev-list --cap mdev:"; cat $W/out >>$W/why; false; }' \
	"libvirt: nodedev-list --cap mdev lists an instance created through sysfs"
instance_xml_ok() {
	[ -n "$m1" ] || { why "not listed"; return 1; }
	vwhy nodedev-dumpxml "$m1" || return 1
	cp $W/out $W/m1.xml
	sed 's/^/# /' $W/m1.xml | grep -E 'parent|type id|uuid|iommuGroup'
	_p=$(xp 'string(/device/parent)' $W/m1.xml)
	_t=$(xp "string(//capability[@type='mdev']/type/@id)" $W/m1.xml)
	_u=$(xp "string(//capability[@type='mdev']/uuid)" $W/m1.xml)
	_xr=0
	[ "$_p" = "$pname" ] || { why "parent '$_p', expected '$pname'"; _xr=1; }
	[ "$_t" = mgpu-1_4 ] || { why "type '$_t', expected mgpu-1_4"; _xr=1; }
	[ "$_u" = "$U1" ] || { why "uuid '$_u', expected $U1"; _xr=1; }
	return $_xr
}
check instance_xml_ok "libvirt: nodedev-dumpxml of the instance: parent $pname, type mgpu-1_4, its UUID"
sysfs_remove $U1
udevadm settle --timeout=30
wait_for '[ -z "$(mdev_name $U1)" ]'

# ---- 7.-11. a persistent mdev: define, start, autostart, destroy, undefine ----
mdev_xml $U2 mgpu-1_8 >$W/def.xml
m2=
if vwhy nodedev-define $W/def.xml; then
	m2=$(sed -n "s/.*\(mdev_$(echo $U2 | tr - _)[^ ']*\).* defined.*/\1/p" $W/out | head -n1)
	[ -n "$m2" ] || m2=$(v nodedev-list --all --cap mdev; grep "^mdev_$(echo $U2 | tr - _)" $W/out | head -n1)
fi
defined_ok() {
	[ -n "$m2" ] || { why "no node device named"; return 1; }
	mdevctl list -d >$W/md 2>&1
	grep -q "^$U2 $parent mgpu-1_8 manual" $W/md ||
		{ why "mdevctl list -d has no '$U2 $parent mgpu-1_8 manual':"; cat $W/md >>$W/why; return 1; }
	! sysfs_has $U2 || { why "$U2 is active after define alone"; return 1; }
}
check defined_ok "libvirt: nodedev-define of an mgpu-1_8 mdev on $pname (mdevctl has it, not started)"
check '[ -n "$m2" ] && vwhy nodedev-start "$m2" && { wait_for "sysfs_has $U2" ||
	{ why "/sys/bus/mdev/devices/$U2 missing after nodedev-start"; false; }; } &&
	{ wait_for "virt_active $m2" || { why "libvirt does not see $m2 active"; false; }; } &&
	{ [ "$(basename "$(readlink /sys/bus/mdev/devices/$U2/mdev_type)")" = mgpu-1_8 ] || { why "wrong type"; false; }; }' \
	"libvirt: nodedev-start of the defined mdev creates it in sysfs"
check '[ -n "$m2" ] && vwhy nodedev-autostart "$m2" && mdevctl list -d >$W/md 2>&1 &&
	{ grep -q "^$U2 $parent mgpu-1_8 auto" $W/md || { why "mdevctl list -d:"; cat $W/md >>$W/why; false; }; } &&
	vwhy nodedev-info "$m2" && { grep -Eq "^Autostart: +yes" $W/out || { why "nodedev-info:"; cat $W/out >>$W/why; false; }; }' \
	"libvirt: nodedev-autostart (mdevctl: auto; nodedev-info: Autostart yes)"
check '[ -n "$m2" ] && vwhy nodedev-destroy "$m2" && { wait_for "! sysfs_has $U2" ||
	{ why "still in sysfs after nodedev-destroy"; false; }; } &&
	mdevctl list -d >$W/md 2>&1 && { grep -q "^$U2 " $W/md || { why "no longer defined after nodedev-destroy"; false; }; }' \
	"libvirt: nodedev-destroy stops it (gone from sysfs, still defined)"
check '[ -n "$m2" ] && vwhy nodedev-undefine "$m2" && mdevctl list -d >$W/md 2>&1 &&
	{ ! grep -q "^$U2 " $W/md || { why "still defined:"; cat $W/md >>$W/why; false; }; } &&
	v nodedev-list --all --cap mdev && { ! grep -q "^mdev_$(echo $U2 | tr - _)" $W/out || { why "still listed"; false; }; }' \
	"libvirt: nodedev-undefine removes the definition"
[ -n "$m2" ] && { v nodedev-destroy "$m2"; v nodedev-undefine "$m2"; }
sysfs_remove $U2
mdevctl undefine -u $U2 >/dev/null 2>&1

# ---- 12./13. a transient mdev: nodedev-create, nodedev-destroy ----
mdev_xml $U3 mgpu-1_2 >$W/tr.xml
m3=
if vwhy nodedev-create $W/tr.xml; then
	m3=$(sed -n "s/.*\(mdev_$(echo $U3 | tr - _)[^ ']*\).* created.*/\1/p" $W/out | head -n1)
	[ -n "$m3" ] || m3=$(mdev_name $U3)
fi
check '[ -n "$m3" ] && { wait_for "sysfs_has $U3" || { why "not in sysfs"; false; }; } &&
	{ wait_for "virt_active $m3" || { why "libvirt does not see $m3 active"; false; }; } &&
	mdevctl list -d >$W/md 2>&1 && { ! grep -q "^$U3 " $W/md || { why "a transient mdev is defined"; false; }; }' \
	"libvirt: nodedev-create of a transient mgpu-1_2 mdev (in sysfs, not defined)"
check '[ -n "$m3" ] && vwhy nodedev-destroy "$m3" && { wait_for "! sysfs_has $U3" || { why "still in sysfs"; false; }; }' \
	"libvirt: nodedev-destroy of the transient mdev removes it"
sysfs_remove $U3

# ---- 14./15. node-device events ----
sleep 2
kill $evpid 2>/dev/null
wait $evpid 2>/dev/null
# event_seen UUID WHAT: "event 'lifecycle' for node device mdev_UUID...: WHAT"
event_seen() {
	grep -q "lifecycle' for node device mdev_$(echo "$1" | tr - _)[^:]*: $2" $W/events ||
		{ why "no '$2' event for mdev_$1; the events seen:"; cat $W/events >>$W/why; return 1; }
}
check 'event_seen $U1 Created && event_seen $U1 Deleted' \
	"libvirt: nodedev-event: Created and Deleted of the instance made through sysfs"
check 'event_seen $U2 Defined && event_seen $U2 Created && event_seen $U2 Deleted && event_seen $U2 Undefined &&
	event_seen $U3 Created && event_seen $U3 Deleted' \
	"libvirt: nodedev-event: Defined, Created, Deleted, Undefined of the libvirt-made mdevs"

# ---- 16.-19. capacity through libvirt ----
max_of() { # the table of Documentation/admin-guide.rst
	case $1 in
	mgpu-passthrough) echo 1 ;;
	mgpu-1_*) echo "${1#mgpu-1_}" ;;
	esac
}
# avail_all: "type=virt/sysfs ..." of every type; false if they differ
avail_all() {
	parent_xml || { why "nodedev-dumpxml $pname failed"; return 1; }
	_ar=0 _as=
	for t in $types; do
		_av=$(avail_virt "$t")
		_af=$(avail_sysfs "$t")
		_as="$_as $t=$_av/$_af"
		[ "$_av" = "$_af" ] || _ar=1
	done
	echo "${_as# }" >$W/avail
	[ $_ar = 0 ] || why "libvirt/sysfs availableInstances differ:$_as"
	return $_ar
}
cap_uuid() { printf '6a0b4f1e-0c5b-4d0e-9a12-%012d\n' "$1"; }
# cap_create I TYPE: nodedev-create instance I; its node-device name in $W/cap.I
cap_create() {
	mdev_xml "$(cap_uuid "$1")" "$2" >$W/cap.xml
	v nodedev-create $W/cap.xml || return 1
	sed -n "s/.*\(mdev_[0-9a-f_]*\).* created.*/\1/p" $W/out | head -n1 >$W/cap.$1
	[ -s $W/cap.$1 ] && wait_for "virt_active $(cat $W/cap.$1)"
}
cap_destroy() { # cap_destroy I
	[ -s $W/cap.$1 ] && v nodedev-destroy "$(cat $W/cap.$1)"
	_cr=$?
	rm -f $W/cap.$1
	sysfs_remove "$(cap_uuid "$1")"
	return $_cr
}
capacity_initial() {
	avail_all || return 1
	for t in $types; do
		[ "$(avail_virt "$t")" = "$(max_of "$t")" ] || { why "$t: availableInstances $(avail_virt "$t"), expected $(max_of "$t") on an empty parent"; return 1; }
	done
}
check capacity_initial "libvirt: capacity: an empty $pname offers every type's maximum"
mixed_ok() {
	cap_create 1 mgpu-1_2 || { why "nodedev-create mgpu-1_2:"; cat $W/out >>$W/why; return 1; }
	cap_create 2 mgpu-1_8 || { why "nodedev-create mgpu-1_8:"; cat $W/out >>$W/why; return 1; }
	avail_all || return 1
	echo "# after a 1/2 and a 1/8: $(cat $W/avail)"
	# 10 of 16 units taken, a 1/2 and a 1/8 slot: no 1/2 and no
	# passthrough; the rest depends on placement, and is checked by
	# filling below.
	[ "$(avail_virt mgpu-1_2)" = 0 ] && [ "$(avail_virt mgpu-passthrough)" = 0 ] ||
		{ why "after a 1/2 and a 1/8: $(cat $W/avail)"; return 1; }
}
check mixed_ok "libvirt: capacity: nodedev-create of a 1/2 and a 1/8; libvirt and sysfs agree"
cp $W/avail $W/avail.mixed 2>/dev/null
# fill TYPE: create availableInstances instances of TYPE through
# libvirt: all succeed, one more fails, and then all go again and the
# figures are back where they were
fill() {
	avail_all || return 1
	cp $W/avail $W/avail.before
	_fk=$(avail_virt "$1")
	_fi=0 _fr=0
	while [ $_fi -lt "$_fk" ]; do
		_fi=$((_fi + 1))
		cap_create $((100 + _fi)) "$1" || {
			why "$1: create $_fi of $_fk failed:"
			cat $W/out >>$W/why
			_fr=1 _fi=$((_fi - 1))
			break
		}
	done
	if [ $_fr = 0 ]; then
		avail_all || _fr=1
		[ "$(avail_virt "$1")" = 0 ] || { why "$1: availableInstances $(avail_virt "$1") after $_fk creates"; _fr=1; }
		if cap_create 199 "$1"; then
			why "$1: a create beyond availableInstances ($_fk) succeeded"
			_fr=1
		fi
		cap_destroy 199 >/dev/null 2>&1
	fi
	while [ $_fi -gt 0 ]; do
		cap_destroy $((100 + _fi)) || { why "$1: destroy $_fi failed:"; cat $W/out >>$W/why; _fr=1; }
		_fi=$((_fi - 1))
	done
	avail_all || _fr=1
	cmp -s $W/avail $W/avail.before || { why "$1: after removing them: $(cat $W/avail), before: $(cat $W/avail.before)"; _fr=1; }
	echo "# $1: $_fk created through libvirt, one more refused, all removed"
	return $_fr
}
check 'fill mgpu-1_4 && fill mgpu-1_16' \
	"libvirt: capacity: 1/4 and 1/16 filled to availableInstances, one more fails, figures restored"
check 'cap_destroy 1 && cap_destroy 2 && capacity_initial' \
	"libvirt: capacity: the 1/2 and 1/8 destroyed, every type's maximum again"
for i in 1 2; do cap_destroy $i >/dev/null 2>&1; done

# ---- 20. Nova's calls ----
if python3 /mgpu/libvirt-nova.py "$pname" "$parent" >$W/nova 2>&1; then
	sed 's/^/# /' $W/nova
	ok "nova: the libvirt calls of Nova's libvirt driver: list types and capacity, create an mdev"
else
	diag $W/nova
	notok "nova: the libvirt calls of Nova's libvirt driver: list types and capacity, create an mdev"
fi

# ---- 21.-26. a domain with an mgpu vGPU ----
# The instance is made with mdevctl (libvirt's own backend), which needs
# no libvirt node device for the parent.
mdevctl start -u $UG -p "$parent" -t mgpu-1_4 >$W/ms 2>&1 || diag $W/ms
udevadm settle --timeout=30
desc=$(cat $TYPES/mgpu-1_4/description 2>/dev/null)
vram_mb=$(echo "$desc" | sed -n 's/.*vram=\([0-9]*\)M.*/\1/p')
queues=$(echo "$desc" | sed -n 's/.*queues=\([0-9]*\).*/\1/p')
expect=
[ -n "$vram_mb" ] && [ -n "$queues" ] && expect="mgpu_arg.expect=vram:$((vram_mb * 1048576)),queues:$queues,fraction:4"
# QEMU 8.1 and later migrate a VFIO device (VFIO migration v2); libvirt
# does not set enable-migration, and without device DMA logging (Debian's
# 6.12 and 7.2 kernels) QEMU's default (auto) puts a migration blocker on
# the vGPU, so virsh save fails.  The domain sets enable-migration=on
# through <qemu:override> of its hostdev (alias ua-vgpu0) where QEMU has
# the property (Documentation/migration.rst).
qv=$(qemu-system-x86_64 --version | sed -n 's/.*version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
mig=
if [ "${qv% *}" -gt 8 ] 2>/dev/null || { [ "${qv% *}" = 8 ] && [ "${qv#* }" -ge 1 ]; }; then
	mig=1
fi
# With migration, the domain's guest holds data in VRAM for a while
# (mgpu-guest --hold, after its FILL/COPY test) and the saves below come
# then; it checks the data after them.
hold=
[ -n "$mig" ] && hold=${MGPU_GUEST_HOLD:-5}
# dom_xml OVERRIDE: the domain; OVERRIDE=1 with enable-migration=on
dom_xml() {
	cat <<EOF
<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>mgpu-guest</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>/mgpu/nested/kernel</kernel>
    <initrd>/mgpu/nested/initrd</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 $expect ${hold:+mgpu_arg.hold=$hold}</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'><source path='$W/guest.console' append='on'/><target port='0'/></serial>
    <serial type='file'><source path='$W/guest.res' append='on'/><target port='1'/></serial>
    <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
      <source><address uuid='$UG'/></source>
      <alias name='ua-vgpu0'/>
    </hostdev>
    <memballoon model='none'/>
  </devices>
EOF
	if [ "$1" = 1 ]; then
		cat <<EOF
  <qemu:override>
    <qemu:device alias='ua-vgpu0'>
      <qemu:frontend>
        <qemu:property name='enable-migration' type='string' value='on'/>
      </qemu:frontend>
    </qemu:device>
  </qemu:override>
EOF
	fi
	echo "</domain>"
}
dom_xml "$mig" >$W/dom.xml
dom_xml 0 >$W/dom-plain.xml
check 'sysfs_has $UG || { why "no instance $UG (mdevctl start failed)"; false; }; vwhy define $W/dom.xml' \
	"libvirt: virsh define of a domain with <hostdev type='mdev' model='vfio-pci'> on $UG${mig:+ (enable-migration=on by <qemu:override>)}"
rm -f $W/guest.res $W/guest.console
t0=$(date +%s)
check 'vwhy start mgpu-guest || { tail -n 20 /var/log/libvirt/qemu/mgpu-guest.log >>$W/why 2>/dev/null; false; }' \
	"libvirt: virsh start of the domain"
ps -eo args | grep -m1 '[q]emu-system' | tr ' ' '\n' | grep -A1 -- '-device' | grep -i vfio | sed 's/^/# qemu: -device /'
running() { v domstate mgpu-guest && grep -q running $W/out; }
# virsh save + restore and virsh managedsave + start of the domain while
# its guest holds data in VRAM ("# holding" from mgpu-guest --hold); the
# guest checks the data after them and runs the rest of its tests on the
# restored vGPU.  virsh save pauses the guest first: the vGPU is in STOP
# when QEMU's migration starts, has no pre-copy, and its whole VRAM is
# the stop-copy size that QEMU waits to fit into downtime-limit x
# bandwidth; once the RAM is sent the bandwidth QEMU measures is a few
# KiB/s and the switchover never comes (Documentation/migration.rst).
# So the save goes with what an operator sets first: for virsh save,
# libvirt's maximum downtime (virsh migrate-setmaxdowntime, 60 s); for
# virsh managedsave, QEMU's avail-switchover-bandwidth (QMP through virsh
# qemu-monitor-command), which replaces the measured bandwidth.
# MGPU_VIRSH_SAVE_RECIPE=0 saves without either (the stall:
# MGPU_VIRSH_SAVE_TIMEOUT, default 300 s, ends it).
if [ -z "$mig" ]; then
	for t in "virsh save of the running domain with the vGPU" \
		"virsh restore: the domain runs on" \
		"virsh managedsave and virsh start: the domain runs on"; do
		n=$((n + 1))
		echo "ok $n libvirt: $t # SKIP QEMU ${qv% *}.${qv#* } has no VFIO migration v2 (8.1 or later)"
		echo $n >/tmp/ktap-last
	done
else
	recipe=${MGPU_VIRSH_SAVE_RECIPE:-1}
	r1=" (after virsh migrate-setmaxdowntime 60000)"
	r2=" (after QMP avail-switchover-bandwidth)"
	[ "$recipe" = 0 ] && r1=" (no setting)" r2=" (no setting)"
	i=0
	while ! grep -q '^# holding' $W/guest.res 2>/dev/null && [ $i -lt 600 ]; do
		[ $((i % 20)) != 19 ] || running || break
		sleep 0.5
		i=$((i + 1))
	done
	echo "# guest holds data in VRAM $(($(date +%s) - t0)) s after the start: $(grep -m1 '^# holding' $W/guest.res 2>/dev/null | tr -d '\r')"
	Tsave=$T
	T=${MGPU_VIRSH_SAVE_TIMEOUT:-300}
	# QEMU's progress every 15 s while a save runs.
	( while sleep 15; do
		_j=$(timeout 20 $VIRSH domjobinfo mgpu-guest 2>/dev/null |
			grep -E 'Operation|Time elapsed|Data (processed|remaining)|Memory (processed|remaining|bandwidth)' |
			sed 's/  */ /g' | tr '\n' ';')
		[ -n "$_j" ] && echo "# domjobinfo: $_j"
	done ) &
	jpid=$!
	# before_save: the operator's setting for virsh save
	before_save() {
		[ "$recipe" = 0 ] && return 0
		vwhy migrate-setmaxdowntime mgpu-guest 60000
	}
	# before_managedsave: the operator's setting for virsh managedsave
	# (4 GiB/s: the 256 MiB of RAM and 64 MiB of VRAM fit in the 300 ms
	# of the default downtime-limit)
	before_managedsave() {
		held=
		grep -q 'after a hold' $W/guest.res 2>/dev/null && held=already
		[ "$recipe" = 0 ] && return 0
		vwhy qemu-monitor-command mgpu-guest \
			'{"execute":"migrate-set-parameters","arguments":{"avail-switchover-bandwidth":4294967296}}'
	}
	sv0=$(date +%s)
	check 'running || { why "the domain is not running ($(cat $W/out))"; false; }; rm -f $W/dom.save;
		before_save && vwhy save mgpu-guest $W/dom.save && v domstate mgpu-guest && { grep -q "shut off" $W/out ||
		{ why "after virsh save: $(cat $W/out)"; false; }; }' \
		"libvirt: virsh save of the running domain with data in its vGPU's VRAM$r1"
	# A save that ran out of time is still libvirt's job: cancel it (the
	# domain runs on).
	v domstate mgpu-guest
	grep -q "shut off" $W/out || v domjobabort mgpu-guest
	echo "# virsh save $(($(date +%s) - t0)) s after the start: $(($(date +%s) - sv0)) s, $(du -k $W/dom.save 2>/dev/null | cut -f1) KiB; vGPU: $(grep -h stopcopy /sys/kernel/debug/mgpu/$UG/migration 2>/dev/null | tr '\n' ' ')"
	sv0=$(date +%s)
	check '[ -f $W/dom.save ] && vwhy restore $W/dom.save && running ||
		{ tail -n 5 /var/log/libvirt/qemu/mgpu-guest.log >>$W/why 2>/dev/null; false; }' \
		"libvirt: virsh restore: the domain runs on"
	echo "# virsh restore: $(($(date +%s) - sv0)) s"
	rm -f $W/dom.save
	sv0=$(date +%s)
	check 'running || { why "the domain is not running ($(cat $W/out))"; false; };
		before_managedsave && vwhy managedsave mgpu-guest && v dominfo mgpu-guest &&
		{ grep -Eq "^Managed save: +yes" $W/out || { why "dominfo:"; cat $W/out >>$W/why; false; }; } &&
		vwhy start mgpu-guest && running ||
		{ tail -n 5 /var/log/libvirt/qemu/mgpu-guest.log >>$W/why 2>/dev/null; false; }' \
		"libvirt: virsh managedsave and virsh start: the domain runs on$r2"
	echo "# virsh managedsave + start: $(($(date +%s) - sv0)) s; the guest's hold was ${held:-not} over at the managedsave"
	kill $jpid 2>/dev/null
	T=$Tsave
fi
# The guest reports on its second serial port, then powers off (ACPI:
# without <acpi/> QEMU 11 has none and the guest halts instead).  Wait
# for the report, then briefly for the domain to end by itself.
i=0
while ! grep -q '^MGPU-NESTED-END' $W/guest.res 2>/dev/null && [ $i -lt 300 ]; do
	v domstate mgpu-guest && grep -q running $W/out || break
	sleep 2
	i=$((i + 1))
done
i=0
while v domstate mgpu-guest && grep -q running $W/out && [ $i -lt 15 ]; do
	sleep 2
	i=$((i + 1))
done
echo "# guest: $(($(date +%s) - t0)) s from virsh start to shut off ($(v domstate mgpu-guest; cat $W/out))"
[ -f $W/guest.res ] && tr -d '\r' <$W/guest.res | sed '/^MGPU-NESTED-END/,$d' | sed 's/^/    /'
if grep -q '^MGPU-NESTED-END' $W/guest.res 2>/dev/null &&
   [ "$(tr -d '\r' <$W/guest.res | sed -n 's/^# exit=//p' | tail -n1)" = 0 ]; then
	ok "libvirt: the domain's guest ran mgpu-guest on the vGPU and passed${mig:+ (after a save/restore and a managedsave/start)}"
else
	tail -n 15 $W/guest.console 2>/dev/null | tr -d '\r' | sed 's/^/# | console: /'
	tail -n 10 /var/log/libvirt/qemu/mgpu-guest.log 2>/dev/null | sed 's/^/# | qemu log: /'
	notok "libvirt: the domain's guest ran mgpu-guest on the vGPU and passed${mig:+ (after a save/restore and a managedsave/start)}"
fi
v destroy mgpu-guest
v managedsave-remove mgpu-guest
# Again, and while the domain holds the vGPU: nodedev-destroy of it.
# Without enable-migration=on (the domain as libvirt writes it).
v define $W/dom-plain.xml
rm -f $W/guest.res
v start mgpu-guest
sleep 5
mg=$(mdev_name $UG)
held_ok() {
	v domstate mgpu-guest && grep -q running $W/out || { why "the domain is not running"; return 1; }
	[ -n "$mg" ] || { why "libvirt does not list $UG"; return 1; }
	_t0=$(date +%s)
	timeout -k 5 90 $VIRSH nodedev-destroy "$mg" >$W/held 2>&1
	_rc=$?
	_secs=$(($(date +%s) - _t0))
	sed 's/^/# nodedev-destroy: /' $W/held
	echo "# nodedev-destroy of $mg while the domain runs: exit $_rc after $_secs s"
	if [ $_rc = 124 ] || [ $_rc = 137 ]; then
		why "nodedev-destroy hung (killed after 90 s)"
		return 1
	fi
	if [ $_rc = 0 ]; then
		# Unplugged: the device must be gone, the domain may run on.
		wait_for "! sysfs_has $UG" || { why "nodedev-destroy succeeded but $UG is still in sysfs"; return 1; }
		echo "# the vGPU was unplugged; domain: $(v domstate mgpu-guest; cat $W/out)"
	else
		# Refused: the device and the domain must be intact.
		sysfs_has $UG || { why "nodedev-destroy failed but $UG is gone"; return 1; }
		v domstate mgpu-guest && grep -q running $W/out || { why "the domain stopped"; return 1; }
	fi
}
check held_ok "libvirt: nodedev-destroy of the mdev a running domain holds returns (fails cleanly or unplugs), no hang"
# virsh save of the domain as libvirt writes it (enable-migration=auto):
# QEMU decides.  Either it has put a migration blocker on the vGPU and
# the save fails cleanly with the domain running on, or the save works
# and the restored domain runs.  Which one is reported.
save_plain() {
	running || { why "the domain is not running"; return 1; }
	timeout 20 $VIRSH qemu-monitor-command mgpu-guest '{"execute":"query-migrate"}' 2>&1 |
		sed 's/^/# query-migrate: /'
	rm -f $W/dom.save
	if v save mgpu-guest $W/dom.save; then
		echo "# virsh save without enable-migration=on: saved ($(du -k $W/dom.save | cut -f1) KiB)"
		vwhy restore $W/dom.save || return 1
		rm -f $W/dom.save
		running || { why "not running after the restore"; return 1; }
		echo "# ... and restored: running"
	else
		sed 's/^/# virsh save: /' $W/out
		running || { why "the domain stopped after the refused save"; return 1; }
		echo "# refused; the domain runs on"
	fi
}
check save_plain "libvirt: virsh save of the domain as libvirt writes it (enable-migration=auto): refused cleanly, or saved and restored"
check 'vwhy destroy mgpu-guest || { v domstate mgpu-guest; grep -q "shut off" $W/out && why "(the domain was not running any more)"; false; }' \
	"libvirt: virsh destroy of the running domain"
check 'vwhy undefine mgpu-guest && ! v dominfo mgpu-guest' "libvirt: virsh undefine"
mdevctl stop -u $UG >/dev/null 2>&1
sysfs_remove $UG
# Nothing left behind: every type's maximum again.
check capacity_initial "libvirt: capacity: nothing left behind, every type's maximum again"
