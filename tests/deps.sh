#!/bin/sh
# Installs everything crange needs to build, run and be tested, from
# Debian 12's own packages, and the browser tests' driver from npm. Safe to
# run again: when everything is already installed it does nothing (and
# needs no network).
#
# Usage: sh tests/deps.sh        (as root)
set -eu

packages="
  build-essential cmake pkg-config clang
  libvirt-dev libxml2-dev liblua5.4-dev libsqlite3-dev libjansson-dev libsodium-dev libcmocka-dev
  libgit2-dev libcivetweb-dev
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils seabios ipxe-qemu dnsmasq-base
  busybox-static qemu-guest-agent linux-image-cloud-amd64 cpio e2fsprogs kmod
  syslinux syslinux-common mtools dosfstools
  mmdebstrap debian-archive-keyring apt
  iproute2 util-linux jq sqlite3 procps git curl valgrind
  chromium fonts-noto-cjk
"
# Node.js runs the portal's API and browser tests (tests/portal); a machine
# that has its own node and npm keeps them.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages="$packages nodejs npm"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in ii*) ;; *) missing="$missing $p" ;; esac
done
if [ -z "$missing" ]; then
    echo "deps: all packages are installed"
else
    [ "$(id -u)" = 0 ] || { echo "deps: installing$missing needs root" >&2; exit 1; }
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi

# The browser tests' driver (playwright-core, pinned in package-lock.json;
# it drives Debian's chromium and downloads no browser of its own).
portal=$(dirname "$0")/portal
if [ ! -f "$portal/node_modules/playwright-core/package.json" ] ||
   [ "$portal/package-lock.json" -nt "$portal/node_modules/.package-lock.json" ]; then
    echo "deps: npm ci in tests/portal"
    (cd "$portal" && npm ci --no-audit --no-fund --loglevel=error)
fi
