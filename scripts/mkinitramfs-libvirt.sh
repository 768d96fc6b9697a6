#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The first stage of the libvirt test VM (scripts/check-libvirt.sh): a
# busybox initramfs whose /init (scripts/libvirtvm-init) loads the
# virtio, ext4 and overlay modules, mounts the Debian root image
# (scripts/rootfs.sh, the VM's virtio disk) read-only under a tmpfs
# overlay, copies /mgpu into it and switch_root's into
# /mgpu/libvirtvm-init2 there.
#
# usage: scripts/mkinitramfs-libvirt.sh VER DIR
#   input:  $MGPU_CACHE/kernels/VER/root (scripts/kernels.sh --fetch),
#           build/VER/mod/mgpu.ko (scripts/build-module.sh VER) or MGPU_KO,
#           build/guest (scripts/build-guest.sh) for the nested guest
#   output: DIR/initramfs.cpio.gz; /mgpu in it holds the modules (and
#           their insmod order), mgpu.ko, the second-stage init, the tests
#           (scripts/libvirt-tests.sh, libvirt-nova.py) and, in /mgpu/nested,
#           the kernel and initramfs of the guest the libvirt domain boots
set -eu
. "$(dirname "$0")/lib.sh"

ver=${1:?usage: mkinitramfs-libvirt.sh VER DIR}
dir=${2:?usage: mkinitramfs-libvirt.sh VER DIR}
kroot=$MGPU_KERNELS_DIR/$ver/root
ko=${MGPU_KO:-$MGPU_BUILD/$ver/mod/mgpu.ko}
stage=$dir/initramfs
out=$dir/initramfs.cpio.gz
S=$MGPU_ROOT/scripts

[ -d "$kroot/lib/modules/$ver" ] || die "no extracted kernel $ver (fix: scripts/kernels.sh --fetch)"
[ -f "$ko" ] || die "no $ko (fix: scripts/build-module.sh $ver)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (fix: apt-get install busybox-static)"

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" \
	"$stage/mgpu/modules" "$stage/mgpu/nested"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$S/libvirtvm-init" "$stage/init"
cp "$S/libvirtvm-init2" "$S/libvirt-tests.sh" "$S/libvirt-nova.py" \
	"$S/libvirt-demo.sh" "$S/migrate-tests.sh" "$S/migrate-bench.sh" "$S/qmp.py" \
	"$stage/mgpu/"
chmod 755 "$stage/init" "$stage/mgpu/libvirtvm-init2" "$stage/mgpu/libvirt-tests.sh" \
	"$stage/mgpu/libvirt-nova.py" "$stage/mgpu/libvirt-demo.sh" \
	"$stage/mgpu/migrate-tests.sh" "$stage/mgpu/migrate-bench.sh" "$stage/mgpu/qmp.py"
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

# Modules in load order: the root disk (virtio_pci, virtio_blk), its
# file system (ext4) and the overlay, then VFIO, mdev and what mgpu.ko
# needs.  The Debian root has no /lib/modules: everything the VM loads
# comes from here.
order=$stage/mgpu/modules.order
deps=$stage/mgpu/modules.deps
: >"$order"
: >"$deps"
# The root disk's modules may be built in (sid's 7.x has virtio_pci
# built in, and ships no modules.builtin for modprobe to say so).
for m in virtio_pci virtio_blk ext4 overlay; do
	if ! modprobe -S "$ver" -d "$kroot" --show-depends "$m" >>"$deps" 2>/dev/null; then
		info "$ver: $m: not a module, taken as built in"
	fi
done
for m in vfio vfio_iommu_type1 mdev $(modinfo -F depends "$ko" | tr ',' ' '); do
	modprobe -S "$ver" -d "$kroot" --show-depends "$m" >>"$deps" ||
		die "$ver: modprobe --show-depends $m failed (is it in the image?)"
done
while read -r kind path _; do
	[ "$kind" = insmod ] || continue
	name=$(basename "$path")
	name=${name%.xz}
	name=${name%.zst}
	name=${name%.gz}
	grep -qx "$name" "$order" && continue
	case $path in
	*.ko.xz) xz -dc "$path" >"$stage/mgpu/modules/$name" ;;
	*.ko.zst) zstd -qdc "$path" >"$stage/mgpu/modules/$name" ;;
	*.ko.gz) gzip -dc "$path" >"$stage/mgpu/modules/$name" ;;
	*) cp "$path" "$stage/mgpu/modules/$name" ;;
	esac
	echo "$name" >>"$order"
done <"$deps"
rm -f "$deps"
cp "$ko" "$stage/mgpu/mgpu.ko"

# The guest of the libvirt domain: the nested guest of make check
# (scripts/mkinitramfs-nested.sh builds it; only its kernel and
# initramfs are taken: QEMU comes from the Debian root).
nstage=$dir/nested-stage
rm -rf "$nstage"
mkdir -p "$nstage"
"$S/mkinitramfs-nested.sh" "$ver" "$nstage"
cp "$nstage/nested/kernel" "$nstage/nested/initrd" "$stage/mgpu/nested/"
rm -rf "$nstage"

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
info "$ver: libvirt VM initramfs $(du -h "$out" | cut -f1) ($(wc -l <"$order") modules)"
