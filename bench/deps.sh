#!/bin/sh
# Installs what the side-by-side benchmarks need beyond tests/deps.sh, from
# Debian 12's own packages: vagrant with the vagrant-libvirt provider (the
# first alternative measured), gnuplot-nox for the plot, GNU time for peak
# RSS. Safe to run again: when all are installed it does nothing.
#
# Usage: sh bench/deps.sh        (as root)
set -eu

packages="vagrant vagrant-libvirt gnuplot-nox time"

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in ii*) ;; *) missing="$missing $p" ;; esac
done
if [ -z "$missing" ]; then
    echo "bench deps: all packages are installed"
    exit 0
fi
[ "$(id -u)" = 0 ] || { echo "bench deps: installing$missing needs root" >&2; exit 1; }
echo "bench deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
