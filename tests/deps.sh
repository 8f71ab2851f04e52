#!/bin/sh
# Installs everything crange needs to build, run and be tested, from
# Debian 12's own packages. Safe to run again: when every package is already
# installed it does nothing (and needs no network).
#
# Usage: sh tests/deps.sh        (as root)
set -eu

packages="
  build-essential cmake pkg-config
  libvirt-dev liblua5.4-dev libsqlite3-dev libjansson-dev libsodium-dev libcmocka-dev
  libgit2-dev libcivetweb-dev
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils seabios ipxe-qemu dnsmasq-base
  busybox-static qemu-guest-agent linux-image-cloud-amd64 cpio e2fsprogs kmod
  syslinux syslinux-common mtools dosfstools
  mmdebstrap debian-archive-keyring apt
  iproute2 util-linux jq sqlite3 procps git
"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in ii*) ;; *) missing="$missing $p" ;; esac
done
if [ -z "$missing" ]; then
    echo "deps: all packages are installed"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "deps: installing$missing needs root" >&2; exit 1; }
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
