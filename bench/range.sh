#!/bin/sh
# Range engine figures (issue: range engine): wall time of `up` (until every
# guest agent answers and provisioning is done) and `down` of the demo for 1,
# 4 and 8 teams, and the control-plane time per VM (overlay, define, start)
# with guests started paused. Runs inside tests/e2e/netns-run.sh, so it has
# its own libvirtd; prints Markdown.
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}"
work=$(mktemp -d /tmp/crange-bench.XXXXXX)
chmod 0755 "$work"
export CRANGE_STATE=$work/state CRANGE_ACCEL=tcg
trap 'rm -rf "$work"' EXIT
b=$CRANGE_BIN
demo=$CRANGE_SOURCE/scenarios/demo
$b image build tiny >/dev/null 2>&1

echo "### Up and down of the demo (3 VMs a team, TCG)"
echo
echo "| teams | VMs | up: wall s (agents ready, provisioned) | control plane per VM p50 / p95 ms | down: wall s | leftovers |"
echo "|---|---|---|---|---|---|"
for t in 1 4 8; do
    up=$($b --json up "$demo" --name b$t --teams $t 2>/dev/null)
    down=$($b --json down b$t --purge 2>/dev/null)
    left=$(( $(virsh -q list --all --name | grep -c "^crange\.b$t\." || true) + $(virsh -q net-list --all --name | grep -c "^crange\.b$t\." || true) ))
    printf '| %s | %s | %.1f | %.0f / %.0f | %.1f | %s |\n' "$t" "$(printf '%s' "$up" | jq .vms)" \
        "$(printf '%s' "$up" | jq .seconds)" "$(printf '%s' "$up" | jq .control_plane_ms.p50)" \
        "$(printf '%s' "$up" | jq .control_plane_ms.p95)" "$(printf '%s' "$down" | jq .seconds)" "$left"
done

echo
echo "### Control plane per VM, guests started paused (8 teams, 24 VMs)"
echo
echo "| workers | up wall s | per VM p50 ms | p95 ms | max ms |"
echo "|---|---|---|---|---|"
for j in 1 8; do
    up=$($b --json --jobs $j up "$demo" --name p$j --teams 8 --paused 2>/dev/null)
    $b down p$j --purge >/dev/null 2>&1
    printf '| %s | %.2f | %.0f | %.0f | %.0f |\n' "$j" "$(printf '%s' "$up" | jq .seconds)" \
        "$(printf '%s' "$up" | jq .control_plane_ms.p50)" "$(printf '%s' "$up" | jq .control_plane_ms.p95)" \
        "$(printf '%s' "$up" | jq .control_plane_ms.max)"
done

# What an idle guest costs: every QEMU of a range whose agents all answer,
# sampled over 30 s after a 20 s pause. Under TCG this is what ready guests
# take from guests still booting (bench/notes-range.md).
echo
echo "### Idle guests (tiny, 10 VMs with agents ready, 30 s)"
echo
flat=$CRANGE_SOURCE/bench/scenarios/flat
$b up "$flat" --name idle --teams 1 >/dev/null 2>&1
sleep 20
qemu_ticks() {
    t=0
    for f in /run/libvirt/qemu/crange.idle.*.pid; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$(cat "$f")/stat")))
    done
    echo $t
}
a=$(qemu_ticks)
sleep 30
z=$(qemu_ticks)
$b down idle --purge >/dev/null 2>&1
echo "| VMs | QEMU CPU over 30 s, s | per idle guest, % of a core |"
echo "|---|---|---|"
awk -v d=$((z - a)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "| 10 | %.2f | %.2f |\n", d / hz, d / hz / 30 / 10 * 100 }'
