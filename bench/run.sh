#!/bin/sh
# Runs every benchmark and writes BENCHMARKS.md at the top of the tree.
#
# Usage: sh bench/run.sh    (as root)
#
# One command: it installs what it needs (tests/deps.sh, bench/deps.sh),
# builds crange and the bench programs (in $CRANGE_BUILD, default build/),
# then, each inside tests/e2e/netns-run.sh (a private libvirtd in its own
# network, mount and PID namespace), the range engine figures
# (bench/range.sh) and the side-by-side comparison with vagrant-libvirt and
# a serial virsh script (bench/compare.sh), then the event log figures
# (bench_events) and the incident scenarios' boot-to-ready time and memory
# a team (bench/scenarios.sh). Raw results go to bench/results/, the plot to
# bench/up-time.svg (bench/report.sh), and all of it into BENCHMARKS.md.
#
# For a shorter run while developing, pick parts:
#   BENCH_PARTS="range compare clones classes events scenarios portal hosts" (default: all; empty: only
#                                         redo the report from bench/results)
#   BENCH_SECTIONS, BENCH_NS, ...         (see bench/compare.sh)
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/run.sh: must run as root (private libvirtd, VMs)" >&2; exit 1; }
parts=${BENCH_PARTS-range compare clones classes events scenarios portal hosts}
sh tests/deps.sh
sh bench/deps.sh
build=${CRANGE_BUILD:-$PWD/build}
cmake -S . -B "$build" >/dev/null
cmake --build "$build" -j2 --target crange bench_events bench_wait >/dev/null
export CRANGE_BIN=$build/crange CRANGE_SOURCE=$PWD BENCH_WAIT=$build/bench_wait
export BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench/results}
# The private libvirtd sees bench/qemu.conf (remember_owner = 0; see there);
# BENCH_QEMU_CONF= (empty) keeps libvirt's defaults.
export CRANGE_TEST_QEMU_CONF=${BENCH_QEMU_CONF-$PWD/bench/qemu.conf}
mkdir -p "$BENCH_RESULTS"
# The machine header's date and load describe the range and side-by-side
# parts; the portal and clones parts, run on their own, record theirs in
# their own sections and leave the header as it was.
main_parts=$(printf '%s\n' $parts | grep -v -x -e portal -e clones -e classes -e hosts || true)
if [ -n "$main_parts" ]; then
    uptime | sed 's/^ *//' > "$BENCH_RESULTS/uptime.txt"
    date -u +%Y-%m-%dT%H:%MZ > "$BENCH_RESULTS/measured.txt"
    echo "bench: load at start: $(cat "$BENCH_RESULTS/uptime.txt")" >&2
fi

for p in $parts; do
    case $p in
    range) echo "bench: range engine (bench/range.sh)" >&2
           tests/e2e/netns-run.sh sh bench/range.sh > "$BENCH_RESULTS/range.md" ;;
    compare) echo "bench: side by side (bench/compare.sh)" >&2
             tests/e2e/netns-run.sh sh bench/compare.sh ;;
    events) echo "bench: events into SQLite (bench_events)" >&2
            "$build/bench_events" > "$BENCH_RESULTS/events.md" ;;
    scenarios) echo "bench: the incident scenarios (bench/scenarios.sh)" >&2
               tests/e2e/netns-run.sh sh bench/scenarios.sh > "$BENCH_RESULTS/scenarios.md.new" &&
                   mv "$BENCH_RESULTS/scenarios.md.new" "$BENCH_RESULTS/scenarios.md" ;;
    clones) echo "bench: instant clones against booting (bench/compare.sh, section clones)" >&2
            BENCH_SECTIONS=${BENCH_CLONE_SECTIONS:-clones revert} tests/e2e/netns-run.sh sh bench/compare.sh ;;
    classes) echo "bench: classes of the incident scenarios, booted and cloned (bench/classes.sh)" >&2
             tests/e2e/netns-run.sh sh bench/classes.sh ;;
    hosts) echo "bench: one exercise over 1, 2 and 3 hosts (bench/hosts.sh)" >&2
           uptime | sed 's/^ *//' > "$BENCH_RESULTS/hosts-uptime.txt"
           tests/e2e/netns-run.sh sh bench/hosts.sh ;;
    portal) echo "bench: the portal under a class (bench/portal.sh)" >&2
            tests/e2e/netns-run.sh sh bench/portal.sh > "$BENCH_RESULTS/portal.md.new" &&
                mv "$BENCH_RESULTS/portal.md.new" "$BENCH_RESULTS/portal.md" ;;
    *) echo "bench/run.sh: unknown part '$p'" >&2; exit 2 ;;
    esac
done
[ -z "$main_parts" ] || uptime | sed 's/^ *//' > "$BENCH_RESULTS/uptime-end.txt"

side=$(mktemp)
trap 'rm -f "$side"' EXIT
sh bench/report.sh > "$side"
{
    echo "# crange benchmarks"
    echo
    echo "Measurements, not tests: nothing here is asserted by the test suite. Reproduce everything,"
    echo "installs and build included, with one command:"
    echo
    echo '```sh'
    echo 'sh bench/run.sh'
    echo '```'
    echo
    echo "It runs each part inside \`tests/e2e/netns-run.sh\` (a private network, mount and PID namespace"
    echo "with its own libvirtd), keeps the raw figures in \`bench/results/\` and redraws"
    echo "\`bench/up-time.svg\`."
    echo
    echo "## Machine"
    echo
    echo "- $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "- $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- libvirt $(virsh --version), $(qemu-system-x86_64 --version | head -n 1)"
    echo "- TCG (KVM is broken on this host: QEMU aborts on an MSR; \`crange doctor\` shows it)"
    echo "- measured $(cat "$BENCH_RESULTS/measured.txt" 2>/dev/null || echo 2026-11-27T09:43Z) with crange $("$CRANGE_BIN" --version | cut -d' ' -f2)"
    echo "- load average at the start: \`$(cat "$BENCH_RESULTS/uptime.txt")\`; at the end:"
    echo "  \`$(cat "$BENCH_RESULTS/uptime-end.txt")\`. Other work on the same cores makes every figure"
    echo "  slower and noisier; the *others' CPU* column of the side-by-side table shows how much there was."
    echo
    if [ -s "$BENCH_RESULTS/range.md" ]; then
        echo "## Range engine"
        echo
        cat "$BENCH_RESULTS/range.md"
        cat bench/notes-range.md
        echo
    fi
    cat "$side"
    [ ! -s bench/notes-compare.md ] || cat bench/notes-compare.md
    if [ -s "$BENCH_RESULTS/clones.tsv" ]; then
        echo
        sh bench/report-clones.sh
        [ ! -s bench/notes-clones.md ] || { echo; cat bench/notes-clones.md; }
        [ ! -s "$BENCH_RESULTS/classes.tsv" ] || { echo; sh bench/report-clones.sh classes; }
    fi
    if [ -s "$BENCH_RESULTS/scenarios.md" ]; then
        echo
        echo "## The incident scenarios: boot to ready and memory a team"
        echo
        echo "\`bench/scenarios.sh\`: \`crange up\` of each scenario for 2 teams on a fresh state folder (the"
        echo "images built; each scenario's role layers built by that \`up\`, their build time reported apart),"
        echo "the memory the VMs of one team declare and what their QEMU processes hold, then \`down\`."
        echo
        cat "$BENCH_RESULTS/scenarios.md"
        [ ! -s bench/notes-scenarios.md ] || { echo; cat bench/notes-scenarios.md; }
    fi
    if [ -s "$BENCH_RESULTS/portal.md" ]; then
        echo
        echo "## The exercise portal"
        echo
        echo "\`bench/portal.sh\`: \`crange serve\` on a class of 30 teams (\`bench/scenarios/class\`, one tiny VM a"
        echo "team), loaded by \`bench/portal_load.mjs\` on the loopback."
        echo
        cat "$BENCH_RESULTS/portal.md"
        [ ! -s bench/notes-portal.md ] || { echo; cat bench/notes-portal.md; }
    fi
    if [ -s "$BENCH_RESULTS/hosts.tsv" ]; then
        echo
        echo "## Several hosts"
        echo
        echo "\`bench/hosts.sh\`: one range over 1, 2 and 3 libvirt hosts, simulated on this machine (host 1 is"
        echo "the private libvirtd; hosts 2 and 3 are libvirtds in namespaces of their own, reached over"
        echo "\`qemu+tcp://\`). They share the same 2 cores, so this is crange's overhead per host, not a speed-up."
        echo "Every VM boots (\`--clone never\`), the tiny image already sent to each host. Load at the start:"
        echo "\`$(cat "$BENCH_RESULTS/hosts-uptime.txt" 2>/dev/null)\`."
        echo
        echo "| run | hosts | teams | VMs | seconds, every VM provisioned | files sent | teams moved |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        awk -F'\t' 'NR > 1 { w = $1 == "up" ? "up (6-team demo)" : "up --reschedule (a lost host'"'"'s teams)"; printf "| %s | %s | %s | %s | %s | %s | %s |\n", w, $2, $3, $4, $5, $6, $7 }' "$BENCH_RESULTS/hosts.tsv"
        [ ! -s bench/notes-hosts.md ] || { echo; cat bench/notes-hosts.md; }
    fi
} > BENCHMARKS.md
cat BENCHMARKS.md
