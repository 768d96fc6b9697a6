#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make demo, second part: mgpu as libvirt (and through it virt-manager,
# OpenStack Nova) sees it.  Run in the libvirt test VM by
# scripts/libvirtvm-init2 when the kernel command line says mgpu_ci=demo;
# prints on the console.  The commands are shown as a user types them.
# Exit status 0 when every step worked; the last line says which.
# shellcheck disable=SC2086 # $VIRSH is a command with its options

VIRSH="virsh -c qemu:///system"
UA=5b1f0c2e-4c61-4d3b-8d2f-00000000000a
UB=5b1f0c2e-4c61-4d3b-8d2f-00000000000b
failed=

# run CMD...: show the command and its output; remember a failure
run() {
	echo "# $*"
	if ! timeout 120 "$@" 2>&1; then
		echo "   (failed: $*)"
		failed="$failed; $*"
	fi
	echo
}

parent=
for d in /sys/bus/pci/drivers/mgpu/*:*; do
	[ -e "$d" ] && parent=${d##*/} && break
done
if [ -z "$parent" ]; then
	echo "=== mgpu libvirt demo: no mgpu parent (mgpu.ko not loaded?) ==="
	echo "=== mgpu libvirt demo FAILED ==="
	exit 1
fi
pname=pci_$(echo "$parent" | tr ':.' '__')
mname() { echo "mdev_$(echo "$1" | tr - _)_$(echo "$parent" | tr ':.' '__')"; }

echo "=== mgpu libvirt demo: libvirt $($VIRSH version --daemon 2>/dev/null |
	sed -n 's/.*Running against daemon: //p'), $(qemu-system-x86_64 --version | head -n1) ==="
echo
run lspci -nn -d 1f4d:
run $VIRSH nodedev-list --cap mdev_types
echo "# $VIRSH nodedev-dumpxml $pname    (its mdev types)"
timeout 60 $VIRSH nodedev-dumpxml "$pname" >/tmp/demo-parent.xml
sed -n '2p' /tmp/demo-parent.xml
sed -n '/<driver>/,/<\/driver>/p' /tmp/demo-parent.xml
sed -n '/mdev_types/,/<\/capability>/p' /tmp/demo-parent.xml
echo

for u in $UA $UB; do
	t=mgpu-1_4
	[ "$u" = $UB ] && t=mgpu-1_8
	cat >/tmp/demo-$u.xml <<EOF
<device>
  <parent>$pname</parent>
  <capability type='mdev'>
    <type id='$t'/>
    <uuid>$u</uuid>
  </capability>
</device>
EOF
	echo "# cat mdev.xml"
	cat /tmp/demo-$u.xml
	run $VIRSH nodedev-define /tmp/demo-$u.xml
	run $VIRSH nodedev-start "$(mname $u)"
done
run $VIRSH nodedev-list --cap mdev
echo "# $VIRSH nodedev-dumpxml $(mname $UA)"
timeout 60 $VIRSH nodedev-dumpxml "$(mname $UA)"
echo
echo "# available instances through libvirt after a 1/4 and a 1/8:"
timeout 60 $VIRSH nodedev-dumpxml "$pname" |
	awk -F'[<>]' '/<type id=/ { split($0, a, "\x27"); t = a[2] }
		/availableInstances/ { printf "   %-18s %s\n", t, $3 }'
echo
for u in $UA $UB; do
	run $VIRSH nodedev-destroy "$(mname $u)"
	run $VIRSH nodedev-undefine "$(mname $u)"
done
if [ -n "$failed" ]; then
	echo "=== mgpu libvirt demo FAILED:${failed#;} ==="
	exit 1
fi
echo "=== mgpu libvirt demo done ==="
