#!/bin/sh
# The demo command: from a fresh Debian 12 machine to a running exercise.
# Installs the dependencies, builds crange, starts libvirtd if it is not
# running, builds the tiny image, brings up the demo scenario (2 teams) and
# shows its status.
#
# Usage: sh scenarios/demo/run.sh    (as root)
# Environment: CRANGE_BUILD (build folder, default build), CRANGE_STATE,
#              CRANGE_RANGE (range name, default demo).
set -eu
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "run.sh: run as root (sh scenarios/demo/run.sh as root)" >&2; exit 1; }
build=${CRANGE_BUILD:-build}
range=${CRANGE_RANGE:-demo}

sh tests/deps.sh
echo "== building crange in $build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCRANGE_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
crange=$build/crange

if ! virsh -q -c qemu:///system version >/dev/null 2>&1; then
    echo "== starting libvirtd"
    if [ -d /run/systemd/system ]; then
        systemctl start libvirtd
    else
        # No systemd: start the daemons ourselves; they log to syslog.
        # virtlogd is judged by its pid file, not by pgrep, which also sees
        # the daemons of other namespaces (the e2e tests' own).
        if ! { [ -f /run/virtlogd.pid ] && kill -0 "$(cat /run/virtlogd.pid)" 2>/dev/null; }; then
            virtlogd -d
        fi
        libvirtd -d
    fi
    i=0
    until virsh -q -c qemu:///system version >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "run.sh: libvirtd did not start" >&2; exit 1; }
        sleep 0.1
    done
fi

echo "== checking the host"
"$crange" doctor || true
echo "== building the tiny image"
"$crange" image build tiny
echo "== bringing up the demo range '$range'"
"$crange" up scenarios/demo --name "$range"
"$crange" status "$range"
cat <<MSG

The demo range '$range' is up. Try:
  $crange exec $range 1 attacker -- ping -c 1 10.20.0.20
  $crange exec $range 1 attacker -- wget -qO- http://10.20.0.20/
  $crange console $range 1 attacker        (Ctrl-] to leave)
  $crange down $range
MSG
