#!/bin/sh
# One exercise over several libvirt hosts (docs/HOSTS.md), for BENCHMARKS.md.
# Runs inside tests/e2e/netns-run.sh: this namespace's libvirtd is host 1
# (qemu:///system) and tests/e2e/remote-hosts.sh starts two more, each a
# libvirtd in namespaces of its own reached over qemu+tcp://. All three run
# on the same cores, so the figures are crange's overhead per host (the
# remote protocol, image shipping, one connection pool each), not a
# speed-up. Writes $BENCH_RESULTS/hosts.tsv:
#   what hosts teams vms seconds shipped moved
# what is "up" (a 6-team demo with --clone never, so that every host boots
# the same guests, on 1, 2 and 3 hosts) or "reschedule" (the 3 teams of a
# 2-host range whose remote libvirtd was killed, rebuilt on host 1).
# Untimed before each: the tiny image is already shipped to the remote hosts
# (crange doctor --host sends it), as after a class's first up.
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}" "${BENCH_RESULTS:?}"
b=$CRANGE_BIN
WORK=$(mktemp -d /tmp/crange-bench-hosts.XXXXXX)
chmod 0755 "$WORK"
export CRANGE_STATE=$WORK/state CRANGE_ACCEL=tcg
fail() { echo "bench/hosts.sh: $*" >&2; exit 1; }
. "$CRANGE_SOURCE/tests/e2e/remote-hosts.sh"
trap 'for r in $(ls "$CRANGE_STATE/ranges" 2>/dev/null); do "$b" down "$r" --purge >/dev/null 2>&1 || true; done; stop_remote_hosts; rm -rf "$WORK"' EXIT
log() { echo "bench: $*" >&2; }
demo=$CRANGE_SOURCE/scenarios/demo
"$b" image build tiny >/dev/null 2>&1
start_remote_host 1
u2=$REMOTE_URI
start_remote_host 2
u3=$REMOTE_URI
"$b" host add h1 qemu:///system >/dev/null
"$b" host add h2 "$u2" >/dev/null
"$b" host add h3 "$u3" >/dev/null
for h in h1 h2 h3; do "$b" --json doctor --host "$h" >/dev/null 2>&1 || true; done

out=$BENCH_RESULTS/hosts.tsv
printf 'what\thosts\tteams\tvms\tseconds\tshipped\tmoved\n' > "$out"
row() { # what hosts json
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(printf '%s\n' "$3" | jq .teams)" \
        "$(printf '%s\n' "$3" | jq .vms)" "$(printf '%s\n' "$3" | jq '.seconds * 10 | round / 10')" \
        "$(printf '%s\n' "$3" | jq .changes.shipped)" "$(printf '%s\n' "$3" | jq .changes.moved)" >> "$out"
}
for n in 1 2 3; do
    hosts=$(printf 'h1,h2,h3' | cut -d, -f1-"$n")
    log "up of 6 demo teams on $n host(s): $hosts"
    j=$("$b" --json up "$demo" --name hb$n --teams 6 --hosts "$hosts" --clone never 2>>"$WORK/log") ||
        { cat "$WORK/log" >&2; fail "up on $n hosts failed"; }
    row up "$n" "$j"
    "$b" down "hb$n" --purge >/dev/null
done

log "reschedule: 6 teams on h1,h2; h2's libvirtd killed"
"$b" --json up "$demo" --name hr --teams 6 --hosts h1,h2 --clone never >/dev/null 2>>"$WORK/log" ||
    { cat "$WORK/log" >&2; fail "up of the reschedule range failed"; }
pids=$(remote_pids 1 libvirtd)
[ -n "$pids" ] || fail "host 2 has no libvirtd to kill"
kill -9 $pids
j=$("$b" --json up --name hr --reschedule --clone never 2>>"$WORK/log") ||
    { cat "$WORK/log" >&2; fail "up --reschedule failed"; }
row reschedule 2 "$j"
"$b" down hr --purge >/dev/null 2>&1 || true
cat "$out" >&2
