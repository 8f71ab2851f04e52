#!/bin/sh
# Builds "tiny-disk": the tiny image as an ordinary disk-booted guest. The
# BIOS boots a FAT disk with the syslinux boot loader, which loads the same
# kernel and initramfs as tiny. There is no kernel command line from crange,
# so the guest takes its addresses through the guest agent, as any
# disk-booted image does. Used to test disk boot; built only from Debian
# packages (syslinux, mtools, dosfstools) on top of the tiny recipe.
#
# Usage: build.sh OUTDIR
set -eu
out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH
for tool in syslinux mcopy mkfs.vfat qemu-img; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] ||
        { echo "build.sh: $tool is not installed (apt-get install syslinux mtools dosfstools)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sh "$here/../tiny/build.sh" "$work/tiny"
cat > "$work/syslinux.cfg" <<CFG
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND $(sed -n 's/^cmdline=//p' "$work/tiny/image.env")
CFG
touch -d "@$SOURCE_DATE_EPOCH" "$work/syslinux.cfg"

truncate -s 48M "$work/disk.raw"
PATH=$PATH:/usr/sbin:/sbin mkfs.vfat --invariant -n CRANGE "$work/disk.raw" >/dev/null
syslinux --install "$work/disk.raw"
export MTOOLS_SKIP_CHECK=1
mcopy -m -i "$work/disk.raw" "$work/tiny/vmlinuz" "$work/tiny/initrd.img" "$work/syslinux.cfg" ::/
qemu-img convert -q -f raw -O qcow2 "$work/disk.raw" "$out/disk.qcow2"
chmod 0444 "$out/disk.qcow2"
cat > "$out/image.env" <<ENV
boot=disk
disk=disk.qcow2
cmdline=
actions=1
ENV
