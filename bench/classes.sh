#!/bin/sh
# Classes of the incident scenarios, booted against cloned (issue 12), for
# BENCHMARKS.md. Runs inside tests/e2e/netns-run.sh (a private libvirtd);
# appends to $BENCH_RESULTS/classes.tsv:
#   scenario teams mode up_s vms qemu_rss_mib ksm_shared_mib
# mode is boot (`up --clone never`) or warm (`up --clone auto` with the
# templates made beforehand, untimed, by a 2-team up --clone always: with
# one team every step counts as shared, so its templates would not be the
# class's, and the timed up would boot them again); up_s
# is `up` until every VM is provisioned. After a warm up, KSM is switched on
# (pages_to_scan 4000) until what it shares stops growing, and that is
# recorded; the host's KSM settings are put back.
#
# BENCH_CLASSES: "scenario:teams ..." (default "telework-router:10
# cnc-takedown:5"; cnc-takedown's 10 teams need ~35 GB, more than this
# machine has, booted or cloned).
# Role layers download packages, so `up` runs in the host's network
# namespace (see bench/scenarios.sh); the VMs stay in the private one.
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}" "${BENCH_RESULTS:?}"
b=$CRANGE_BIN
work=$(mktemp -d /tmp/crange-bench-cls.XXXXXX)
chmod 0755 "$work"
export CRANGE_STATE=$work/state CRANGE_ACCEL=tcg
trap 'for r in $(ls "$CRANGE_STATE/ranges" 2>/dev/null); do "$b" down "$r" --purge >/dev/null 2>&1; done; rm -rf "$work"' EXIT
host_net() { nsenter --net="/proc/self/fd/${CRANGE_TEST_HOSTNET_FD:?run by netns-run.sh}" "$@"; }
log() { echo "bench: $*" >&2; }
host_net "$b" image build tiny >/dev/null 2>&1
host_net "$b" image build debian-12 >/dev/null 2>&1
k=/sys/kernel/mm/ksm

rss_of() { # range
    for f in /run/libvirt/qemu/crange."$1".*.pid; do cat "/proc/$(cat "$f")/status" 2>/dev/null; done |
        awk '/^VmRSS/ { s += $2 } END { printf "%.0f", s / 1024 }'
}
shared() { awk -v p="$(getconf PAGESIZE)" '{ printf "%.0f", $1 * p / 1048576 }' "$k/pages_sharing"; }

touch "$BENCH_RESULTS/classes.tsv"
for c in ${BENCH_CLASSES:-telework-router:10 cnc-takedown:5}; do
    s=${c%%:*} teams=${c#*:}
    r=$(printf '%s' "$s" | tr -d -- '-' | cut -c1-10)
    awk -F'\t' -v s="$s" -v t="$teams" '!($1 == s && $2 == t)' "$BENCH_RESULTS/classes.tsv" > "$work/keep"
    cat "$work/keep" > "$BENCH_RESULTS/classes.tsv"
    # The role layers and the templates, untimed.
    log "$s: role layers and templates (2 teams, untimed)"
    host_net "$b" up "$CRANGE_SOURCE/scenarios/$s" --name "${r}w" --teams 2 --clone always >/dev/null 2>"$work/err" ||
        { tail -n 5 "$work/err" >&2; exit 1; }
    "$b" down "${r}w" --purge >/dev/null
    for mode in boot warm; do
        case $mode in boot) clone=never ;; warm) clone=auto ;; esac
        log "$s: $teams teams, $mode"
        sleep 10
        host_net "$b" --json up "$CRANGE_SOURCE/scenarios/$s" --name "$r" --teams "$teams" --clone $clone \
            >"$work/up.json" 2>"$work/err" || { tail -n 5 "$work/err" >&2; exit 1; }
        rss=$(rss_of "$r") ksm=0
        if [ $mode = warm ] && [ -w "$k/run" ]; then
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
            log "$s: KSM shares $ksm MiB after $waited s"
            echo "$scan0" > "$k/pages_to_scan"
            echo "$run0" > "$k/run"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$teams" "$mode" "$(jq -r .seconds "$work/up.json")" \
            "$(jq -r .vms "$work/up.json")" "$rss" "$ksm" >> "$BENCH_RESULTS/classes.tsv"
        tail -n 1 "$BENCH_RESULTS/classes.tsv" >&2
        "$b" down "$r" --purge >/dev/null
    done
done
