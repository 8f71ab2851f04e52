#!/bin/sh
# The Debian packages this recipe is made of (their versions change the recipe hash).
dpkg-query -W linux-image-cloud-amd64 busybox-static qemu-guest-agent syslinux mtools dosfstools 2>/dev/null
cat "$(dirname "$0")/../tiny/build.sh" "$(dirname "$0")"/../tiny/rootfs/etc/* "$(dirname "$0")"/../tiny/rootfs/sbin/* "$(dirname "$0")/../tiny/rootfs/init"
