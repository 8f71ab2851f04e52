#!/bin/sh
# Builds the "tiny" guest image from Debian packages only: the host's
# linux-image-cloud-amd64 kernel, a busybox-static initramfs with the virtio
# modules, qemu-guest-agent and its libraries, and a small ext4 data disk.
#
# Usage: build.sh OUTDIR
# Writes OUTDIR/vmlinuz, OUTDIR/initrd.img, OUTDIR/disk.qcow2 and
# OUTDIR/image.env (what crange reads back: boot mode, kernel arguments).
# The output is reproducible: fixed timestamps, sorted archive members.
set -eu

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH

kver=${CRANGE_TINY_KVER:-$(ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -n 1)}
[ -n "$kver" ] || { echo "build.sh: no linux-image-cloud-amd64 kernel under /lib/modules (apt-get install linux-image-cloud-amd64)" >&2; exit 1; }
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || { echo "build.sh: $kernel is missing" >&2; exit 1; }
for tool in busybox qemu-ga cpio gzip mke2fs qemu-img modprobe cc; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] ||
        { echo "build.sh: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/bin "$root"/sbin "$root"/etc "$root"/proc "$root"/sys "$root"/dev \
         "$root"/tmp "$root"/run "$root"/var/run "$root"/root "$root"/mnt/disk \
         "$root"/lib/modules "$root"/usr/sbin "$root"/usr/bin

# busybox and its applets, as symlinks.
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# qemu-ga (7.2) looks for hwclock at /sbin/hwclock only, and without it
# refuses guest-set-time, which instant clones need to set the clock of a
# guest restored from a memory image saved earlier.
ln -s ../bin/busybox "$root/sbin/hwclock"

# Kernel modules with their dependencies, in load order (virtio_ring before
# virtio), as modprobe resolves them for the chosen kernel.
for m in virtio_pci virtio_net virtio_blk virtio_console virtio-rng; do
    modprobe -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r f; do
    cp "$f" "$root/lib/modules/$(basename "$f")"
    basename "$f" >> "$root/lib/modules/load.order"
done

# qemu-guest-agent and the libraries it links.
cp /usr/sbin/qemu-ga "$root/usr/sbin/qemu-ga"
for lib in $(ldd /usr/sbin/qemu-ga | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
mkdir -p "$root/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"

# Our init, inittab and shell profile.
cp -R "$here/rootfs/." "$root/"
chmod 0755 "$root/init" "$root/sbin/"crange-*

# The reseed helper of instant clones (../common/crange-reseed.c), linked
# against the glibc copied above for qemu-ga.
mkdir -p "$root/usr/libexec/crange"
cc -O2 -Wall -Wextra -o "$root/usr/libexec/crange/crange-reseed" "$here/../common/crange-reseed.c"

# Reproducible archive: fixed times, sorted names, no owner variance.
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible) |
    gzip -9 -n > "$work/initrd.img"

# A small, empty data disk: the base that per-VM qcow2 overlays point at.
# Fixed UUID, hash seed and time, and 128-byte inodes (no nanosecond or
# creation times), so the image is the same bit for bit on every build.
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -t ext4 -I 128 -L crange-data -U 6b0f1c4e-8d1e-4c55-9a39-1f0c0de0c0de \
    -E hash_seed=6b0f1c4e-8d1e-4c55-9a39-1f0c0de0c0de "$work/disk.raw" 16M >/dev/null
qemu-img convert -q -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"

cp "$kernel" "$work/vmlinuz"
for f in vmlinuz initrd.img disk.qcow2; do
    mv "$work/$f" "$out/$f"
done
chmod 0444 "$out/vmlinuz" "$out/initrd.img" "$out/disk.qcow2"
# no_timer_check: under TCG with guests booting together, the kernel's
# boot-time test of the timer interrupt (check_timer) mostly fails ("MP-BIOS
# bug: 8254 timer not connected to IO-APIC"), and its fallbacks then panic
# ("IO-APIC + timer doesn't work!") or leave the guest halted with no timer:
# 2 of 160 boots of 40 guests at once. QEMU's IO-APIC routes the timer
# correctly, so the test is skipped (docs/IMAGES.md). panic=-1: a panic
# reboots the guest at once.
cat > "$out/image.env" <<ENV
boot=kernel
kernel=vmlinuz
initrd=initrd.img
disk=disk.qcow2
cmdline=console=ttyS0 quiet panic=-1 no_timer_check
kernel_version=$kver
actions=1
ENV
