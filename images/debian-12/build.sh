#!/bin/sh
# Builds the "debian-12" guest image: a Debian 12 (bookworm) system made by
# mmdebstrap from Debian's packages (variant minbase plus the list below),
# with its own kernel (linux-image-cloud-amd64, installed in the image) and
# the initramfs that kernel's package made, in an ext4 root on a sparse
# 2 GiB qcow2. crange boots the kernel directly and passes the VM's name and
# addresses on the command line; crange-init applies them at boot.
#
# Usage: build.sh OUTDIR
# Writes OUTDIR/vmlinuz, initrd.img, disk.qcow2 (the image), dpkg-status (the
# image's /var/lib/dpkg/status), apt-sources (its sources.list: role layers
# download their packages relative to these two) and image.env.
#
# Environment: CRANGE_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# CRANGE_DEBIAN_SECURITY (default http://deb.debian.org/debian-security).
set -eu

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH
mirror=${CRANGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${CRANGE_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
PATH=$PATH:/usr/sbin:/sbin
for tool in mmdebstrap mke2fs qemu-img cc; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "build.sh: $tool is not installed (sh tests/deps.sh installs what crange needs)" >&2; exit 1; }
done

# What every crange Debian VM has. Role layers add to it.
# dbus lets logind run, so that shutdown (the agent's guest-shutdown, the
# ACPI power button) and login sessions work as on any Debian system.
packages="systemd-sysv udev dbus qemu-guest-agent openssh-server nftables iproute2 dnsmasq bash
  iputils-ping netcat-openbsd procps less vim-tiny ca-certificates openssl sudo
  linux-image-cloud-amd64"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

# The action helper: setgid, so it must be a binary (see crange-action.c).
# Linked against the host's glibc, which is Debian 12's, as the guest's is.
cc -O2 -Wall -Wextra -o "$work/crange-action" "$here/crange-action.c"
# The reseed helper of instant clones, shared with tiny.
cc -O2 -Wall -Wextra -o "$work/crange-reseed" "$here/../common/crange-reseed.c"

# essential-hook: before the kernel is installed, so that its initramfs is
# made once, with our module list. customize-hook: our files and settings.
mmdebstrap --variant=minbase --mode=root --format=directory --quiet \
    --include="$(echo $packages | tr ' ' ',')" \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --essential-hook="cp -R '$here/initramfs/.' \"\$1/\"" \
    --customize-hook="sh '$here/customize.sh' \"\$1\" '$work/crange-action' '$work/crange-reseed'" \
    bookworm "$root" \
    "deb $mirror bookworm main" \
    "deb $mirror bookworm-updates main" \
    "deb $security bookworm-security main"

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
[ -r "$root/boot/vmlinuz-$kver" ] && [ -r "$root/boot/initrd.img-$kver" ] ||
    { echo "build.sh: the image has no kernel or initramfs for $kver" >&2; exit 1; }
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$work/initrd.img"
cp "$root/var/lib/dpkg/status" "$work/dpkg-status"
cp "$root/etc/apt/sources.list" "$work/apt-sources"

# The root file system. Inode tables and journal are written now
# (lazy_itable_init=0), not by every VM at its first mount; zeros cost
# nothing in the sparse qcow2. Fixed UUID and hash seed, as in tiny.
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -t ext4 -d "$root" -L crange-root \
    -U 3d1e6a52-5b0e-4a8c-9d0e-c0de00deb012 -E hash_seed=3d1e6a52-5b0e-4a8c-9d0e-c0de00deb012,lazy_itable_init=0,lazy_journal_init=0 \
    "$work/disk.raw" 2G
# zstd-compressed clusters: a third of the size, decompressed by QEMU on the
# host (natively, even under TCG) as the VMs read them.
qemu-img convert -q -c -f raw -O qcow2 -o compression_type=zstd "$work/disk.raw" "$work/disk.qcow2"
rm -f "$work/disk.raw"

for f in vmlinuz initrd.img disk.qcow2 dpkg-status apt-sources; do
    mv "$work/$f" "$out/$f"
    chmod 0444 "$out/$f"
done
# net.ifnames=0: NICs keep their kernel names, so crange-init can bring them
# up at once without racing udev's renaming. no_timer_check: see the tiny
# image (a loaded TCG host fails the kernel's timer test, and the guest hangs).
cat > "$out/image.env" <<ENV
boot=kernel
kernel=vmlinuz
initrd=initrd.img
disk=disk.qcow2
cmdline=root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet panic=-1 no_timer_check
kernel_version=$kver
actions=1
ENV
