#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Add what nested guests need to a staged outer initramfs (called by
# scripts/mkinitramfs.sh when MGPU_NESTED=1):
#   /nested/testvm-nested.sh     the outer side, sourced by the test
#                                VM's init (scripts/testvm-nested.sh)
#   /nested/kernel               the inner kernel (the outer's own): its
#                                uncompressed vmlinux when it has a PVH
#                                entry, else the bzImage (see below)
#   /nested/initrd               the inner initramfs (an uncompressed
#                                cpio archive): busybox,
#                                scripts/nestedvm-init as /init,
#                                mgpu-guest and mgpu-lstm, and mgpuctl
#                                (with its libraries) when it is built
#   /nested/mgpu-lstm            the native (VFIO) side of the comparison
#   /usr/bin/qemu-system-x86_64  Debian's QEMU, its libraries (ldd), the
#                                TCG accelerator module and the firmware
# usage: scripts/mkinitramfs-nested.sh VER STAGE
set -eu
. "$(dirname "$0")/lib.sh"

ver=${1:?usage: mkinitramfs-nested.sh VER STAGE}
stage=${2:?usage: mkinitramfs-nested.sh VER STAGE}
guest=$MGPU_BUILD/guest
kernel=$MGPU_KERNELS_DIR/$ver/vmlinuz
inner=$MGPU_BUILD/$ver/nested-inner

for p in mgpu-guest mgpu-lstm; do
	[ -x "$guest/$p" ] || die "no $guest/$p (fix: scripts/build-guest.sh)"
done
[ -f "$kernel" ] || die "no kernel image $kernel"
qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (fix: apt-get install qemu-system-x86)"

# The inner initramfs.
rm -rf "$inner"
mkdir -p "$inner/bin" "$inner/dev" "$inner/proc" "$inner/sys" "$inner/tmp"
cp "$(command -v busybox)" "$inner/bin/busybox"
ln -s busybox "$inner/bin/sh"
cp "$MGPU_ROOT/scripts/nestedvm-init" "$inner/init"
chmod 755 "$inner/init"
cp "$guest/mgpu-guest" "$guest/mgpu-lstm" "$inner/bin/"
# mgpuctl guest list: the nested guest checks that mgpuctl finds and
# opens its vGPU (through libmgpu).  Dynamic: with its libraries.
if [ -x "$MGPU_BUILD/mgpuctl/mgpuctl" ]; then
	cp "$MGPU_BUILD/mgpuctl/mgpuctl" "$inner/bin/"
	ldd "$MGPU_BUILD/mgpuctl/mgpuctl" | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' |
		while read -r lib; do
			mkdir -p "$inner$(dirname "$lib")"
			cp -L "$lib" "$inner$lib"
		done
fi
mknod -m 600 "$inner/dev/console" c 5 1 2>/dev/null || true
mkdir -p "$stage/nested"
# Uncompressed, and the kernel below uncompressed too: under TCG inside
# TCG, decompressing them is a third of the inner guest's boot (the
# outer initramfs compresses them anyway).
(cd "$inner" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) \
	>"$stage/nested/initrd"
cp "$(pvh_kernel "$ver")" "$stage/nested/kernel"
cp "$MGPU_ROOT/scripts/testvm-nested.sh" "$stage/nested/testvm-nested.sh"
cp "$guest/mgpu-lstm" "$stage/nested/mgpu-lstm"

# QEMU, with its libraries at their paths and the dynamic loader.
copy() { # copy FILE (following links) to the same path in the stage
	mkdir -p "$stage$(dirname "$1")"
	cp -L "$1" "$stage$1"
}
copy "$qemu"
ldd "$qemu" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]*ld-linux/{print $1}' |
	while read -r lib; do copy "$lib"; done
# TCG is a module in Debian's QEMU; and the x86 firmware it loads.
for f in /usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so \
	/usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
	/usr/share/qemu/kvmvapic.bin /usr/share/qemu/bios-256k.bin \
	/usr/share/qemu/pvh.bin; do
	[ -e "$f" ] && copy "$f"
done
[ -e "$stage/usr/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so" ] ||
	die "no accel-tcg-x86_64.so (QEMU without a TCG module?)"
