#!/bin/sh
# Runs the benchmarks and writes BENCHMARKS.md at the top of the tree.
# Usage: sudo sh bench/run.sh    (after a build in build/; see README)
set -eu
cd "$(dirname "$0")/.."
export CRANGE_BIN=${CRANGE_BIN:-$PWD/build/crange} CRANGE_SOURCE=$PWD
[ -x "$CRANGE_BIN" ] || { echo "bench/run.sh: build crange first (cmake -S . -B build && cmake --build build)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
tests/e2e/netns-run.sh sh bench/range.sh > "$out"
{
    echo "# crange benchmarks"
    echo
    echo "Measurements, not tests: nothing here is asserted by the test suite. Reproduce with"
    echo "\`sudo sh bench/run.sh\` (it runs in a private network namespace with its own libvirtd)."
    echo
    echo "## Machine"
    echo
    echo "- $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- libvirt $(virsh --version), $(qemu-system-x86_64 --version | head -n 1)"
    echo "- TCG (KVM is broken on this host: QEMU aborts on an MSR; \`crange doctor\` shows it)"
    echo "- measured $(date -u +%Y-%m-%dT%H:%MZ) with crange $("$CRANGE_BIN" --version | cut -d' ' -f2)"
    echo
    echo "## Range engine"
    echo
    cat "$out"
    cat bench/notes-range.md
} > BENCHMARKS.md
cat BENCHMARKS.md
