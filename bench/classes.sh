#!/bin/sh
# Classes of the incident scenarios, booted against cloned (issue 12), for
# BENCHMARKS.md. Runs inside tests/e2e/netns-run.sh (a private libvirtd);
# appends to $BENCH_RESULTS/classes.tsv:
#   scenario teams mode up_s vms qemu_rss_mib ksm_shared_mib qemu_pss_mib pss_ksm_mib tmpl_ram_mib
# mode is boot (`up --clone never`) or warm (`up --clone auto` with the
# templates made beforehand, untimed, by a 2-team up --clone always: with
# one team every step counts as shared, so its templates would not be the
# class's, and the timed up would boot them again); up_s
# is `up` until every VM is provisioned. The QEMU processes' memory is taken
# 20 s after `up` returns: RSS, and PSS, which counts a page mapped by n
# processes as 1/n in each (clones with shared RAM all map their template's
# RAM file, so their RSS counts it once a clone). Then, booted and cloned
# alike, KSM is switched on (pages_to_scan 4000) until what it shares stops
# growing; what it shares and the PSS then are recorded, and the host's KSM
# settings are put back. Rows before 2026-12-06 have no PSS columns and
# measured KSM on clones only.
# tmpl_ram_mib is the part of the PSS that is the templates' RAM files as
# the clones map them and have not written (0 for booted VMs): one copy
# however many teams map it, so a larger class adds only the rest. Rows
# measured before it was added (2026-12-06) lack it.
#
# BENCH_CLASSES: "scenario:teams ..." (default "telework-router:10
# cnc-takedown:5"; cnc-takedown's 10 teams booted need ~32 GB, more than
# this machine has; cloned they would fit in ~12 GB, but its 7-team class
# of 98 guests that never go idle already took 684 s at a load of 120 on
# 2 cores).
# Role layers download packages, so `up` runs in the host's network
# namespace (see bench/scenarios.sh); the VMs stay in the private one.
# BENCH_CLASS_MODES: the modes to measure (default "boot warm"); the rows
# of the others are kept.
# BENCH_IMAGES, when set, is an image store (<state>/images) to copy built
# images from instead of building them (a debian-12 build downloads and
# installs for minutes).
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}" "${BENCH_RESULTS:?}"
b=$CRANGE_BIN
work=$(mktemp -d /tmp/crange-bench-cls.XXXXXX)
chmod 0755 "$work"
export CRANGE_STATE=$work/state CRANGE_ACCEL=tcg
trap 'for r in $(ls "$CRANGE_STATE/ranges" 2>/dev/null); do "$b" down "$r" --purge >/dev/null 2>&1; done; rm -rf "$work"' EXIT
host_net() { nsenter --net="/proc/self/fd/${CRANGE_TEST_HOSTNET_FD:?run by netns-run.sh}" "$@"; }
log() { echo "bench: $*" >&2; }
mkdir -p "$CRANGE_STATE/images"
for i in tiny debian-12; do
    [ -z "${BENCH_IMAGES:-}" ] || [ ! -d "$BENCH_IMAGES/$i" ] || cp -a "$BENCH_IMAGES/$i" "$CRANGE_STATE/images/"
    host_net "$b" image build $i >/dev/null 2>&1
done
k=/sys/kernel/mm/ksm

# MiB summed over the range's QEMU processes of one kB field of a /proc/PID
# file: mem_of RANGE status VmRSS: (RSS), mem_of RANGE smaps_rollup Pss: (PSS).
mem_of() { # range file field
    for f in /run/libvirt/qemu/crange."$1".*.pid; do cat "/proc/$(cat "$f")/$2" 2>/dev/null; done |
        awk -v f="$3" '$1 == f { s += $2 } END { printf "%.0f", s / 1024 }'
}
# MiB of the templates' RAM files that the range's QEMU processes map and
# have not written: each mapping of a *.ram file, its PSS less its
# Anonymous (the pages a clone wrote are its own copies, in the same
# private mapping). Measured before KSM, which merges anonymous pages only.
tmpl_ram() { # range
    for f in /run/libvirt/qemu/crange."$1".*.pid; do cat "/proc/$(cat "$f")/smaps" 2>/dev/null; done |
        awk '/^[0-9a-f]+-[0-9a-f]+ / { ram = ($NF ~ /\.ram$/); next }
             ram && $1 == "Pss:" { s += $2 } ram && $1 == "Anonymous:" { s -= $2 }
             END { printf "%.0f", s / 1024 }'
}
shared() { awk -v p="$(getconf PAGESIZE)" '{ printf "%.0f", $1 * p / 1048576 }' "$k/pages_sharing"; }

touch "$BENCH_RESULTS/classes.tsv"
modes=${BENCH_CLASS_MODES:-boot warm}
for c in ${BENCH_CLASSES:-telework-router:10 cnc-takedown:5}; do
    s=${c%%:*} teams=${c#*:}
    r=$(printf '%s' "$s" | tr -d -- '-' | cut -c1-10)
    awk -F'\t' -v s="$s" -v t="$teams" -v m=" $modes " '!($1 == s && $2 == t && index(m, " " $3 " "))' \
        "$BENCH_RESULTS/classes.tsv" > "$work/keep"
    cat "$work/keep" > "$BENCH_RESULTS/classes.tsv"
    # The role layers and the templates, untimed.
    log "$s: role layers and templates (2 teams, untimed)"
    host_net "$b" up "$CRANGE_SOURCE/scenarios/$s" --name "${r}w" --teams 2 --clone always >/dev/null 2>"$work/err" ||
        { tail -n 5 "$work/err" >&2; exit 1; }
    "$b" down "${r}w" --purge >/dev/null
    for mode in $modes; do
        case $mode in boot) clone=never ;; warm) clone=auto ;; esac
        log "$s: $teams teams, $mode"
        sleep 10
        # With --json, up's error is in its JSON on stdout; stderr has the
        # log, where the bridge warnings of a run from the host's namespace
        # would hide it.
        host_net "$b" --json up "$CRANGE_SOURCE/scenarios/$s" --name "$r" --teams "$teams" --clone $clone \
            >"$work/up.json" 2>"$work/err" || {
            log "$s: $mode: up failed: $(cat "$work/up.json")"
            grep -v '"level":"warning"' "$work/err" | tail -n 20 >&2
            exit 1
        }
        sleep 20
        rss=$(mem_of "$r" status VmRSS:) pss=$(mem_of "$r" smaps_rollup Pss:) ksm=0 pss_ksm=$pss
        tram=$(tmpl_ram "$r")
        if [ -w "$k/run" ]; then
            run0=$(cat "$k/run") scan0=$(cat "$k/pages_to_scan")
            echo 4000 > "$k/pages_to_scan"
            echo 1 > "$k/run"
            # KSM merges a page only once it has seen it unchanged in two
            # passes; at pages_to_scan 1000 (~200 MB/s) 30 s did not even
            # finish one pass over 100 tiny clones (BENCHMARKS.md). Wait
            # until the sharing stops growing (<1 % in 10 s), 240 s at most.
            ksm=0 waited=0
            while [ $waited -lt 240 ]; do
                sleep 10
                waited=$((waited + 10))
                now=$(shared)
                [ $waited -lt 30 ] || [ "$now" -eq 0 ] || [ $((now - ksm)) -gt $((now / 100)) ] || { ksm=$now; break; }
                ksm=$now
            done
            pss_ksm=$(mem_of "$r" smaps_rollup Pss:)
            log "$s: $mode: KSM shares $ksm MiB after $waited s; PSS $pss MiB, $pss_ksm MiB with KSM"
            # Off with its merged pages split again (2), so that the next
            # mode starts from the same host; then as found.
            echo 2 > "$k/run"
            echo "$scan0" > "$k/pages_to_scan"
            echo "$run0" > "$k/run"
        fi
        log "$s: $mode: the templates' RAM files, unwritten: $tram MiB of the PSS"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$teams" "$mode" "$(jq -r .seconds "$work/up.json")" \
            "$(jq -r .vms "$work/up.json")" "$rss" "$ksm" "$pss" "$pss_ksm" "$tram" >> "$BENCH_RESULTS/classes.tsv"
        tail -n 1 "$BENCH_RESULTS/classes.tsv" >&2
        "$b" down "$r" --purge >/dev/null
    done
done
