#!/bin/sh
# End to end, the cnc-takedown scenario (case 5: an ISP finds a C&C server in
# its flow records and blocks it), 2 teams on real QEMU:
# - before any fix, the bots' flood reaches the victim and the edge router's
#   collector holds flow records in which the C&C shows up, while the range
#   has no packet capture tool;
# - a fresh range scores 0 for both teams;
# - the reference solution (which reads nfdump output, not the vars) gives
#   team 1 full marks and team 2 nothing, and team 2's flood goes on;
# - putting a legitimate address on team 1's blocklist loses the hold
#   objectives that guard legitimate traffic, taking it off wins them back;
# - undoing the block loses block_cnc's points.
# It prints the boot-to-ready time of `up` and the memory of each team.
#
# Environment (optional): CNC_CHECK_TIMEOUT, the seconds a check may take in
# the scoring rounds (default 30: a loaded TCG host answers slowly).
. "$(dirname "$0")/lib.sh"
R=cnctakedown
SC=$CRANGE_SOURCE/scenarios/cnc-takedown
CT=${CNC_CHECK_TIMEOUT:-30}
track_range $R

crange image build tiny >/dev/null
host_net "$CRANGE_BIN" image build debian-12 >/dev/null

t0=$(date +%s)
upjson=$WORK/up.json
if ! host_net "$CRANGE_BIN" --json up "$SC" --name $R --teams 2 >"$WORK/up.json"; then
    upjson=$WORK/up2.json
    # up is a reconcile: on a loaded host a slow guest can miss a deadline;
    # a second run finishes the job (and says so here).
    echo "# the first up failed: $(jq -c . "$WORK/up.json" 2>/dev/null || cat "$WORK/up.json")"
    host_net "$CRANGE_BIN" --json up "$SC" --name $R --teams 2 >"$WORK/up2.json" ||
        fail "up failed twice: $(cat "$WORK/up2.json")"
fi
up_wall=$(($(date +%s) - t0))
up_s=$(jq -r '.seconds' "$upjson")
layer_s=0
if [ "$(jq -r '.changes.layers' "$upjson")" != 0 ]; then # the layer this up built: the newest
    layer_s=$(jq -r .build_seconds "$(ls -t "$CRANGE_STATE"/images/layers/*/manifest.json | head -n 1)")
fi
echo "# up: ${up_s} s for 2 teams (of which role layer build ${layer_s} s; boot to ready $(awk "BEGIN { printf \"%.1f\", $up_s - $layer_s }") s), ${up_wall} s wall"
assert_eq 28 "$(jq -r '.vms' "$upjson")" "up brings 2 teams of 14 VMs"

# Memory per team: what the VMs declare, and what their QEMU processes use.
for t in 1 2; do
    declared=0
    for d in $(virsh -q list --name | grep "^crange\.$R\.t$t\."); do
        kib=$(virsh dominfo "$d" | awk '/^Max memory:/ { print $3 }')
        declared=$((declared + kib))
    done
    rss=0
    for f in /run/libvirt/qemu/crange.$R.t$t.*.pid; do
        r=$(ps -o rss= -p "$(cat "$f")" 2>/dev/null || echo 0)
        rss=$((rss + r))
    done
    echo "# team $t memory: declared $((declared / 1024)) MiB, QEMU RSS $((rss / 1024)) MiB"
done

cx() { crange exec $R "$@"; }
echoes() { # TEAM: ICMP echo requests the victim has received so far
    cx "$1" victim -- awk '/^Icmp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i } else { print $c; exit } }' /proc/net/snmp
}
score_of() { crange --json score $R | jq ".teams[] | select(.team == $1) | .score"; }

# The story before any fix --------------------------------------------------
a=$(echoes 1); sleep 5; b=$(echoes 1)
[ $((b - a)) -gt 20 ] || fail "team 1's victim sees no flood ($a -> $b echo requests in 5 s)"
ok "the bots flood team 1's victim ($((b - a)) echo requests in 5 s)"

if cx 1 router -- sh -c 'command -v tcpdump || command -v tshark || command -v nfpcapd' >/dev/null 2>&1; then
    fail "a packet capture tool is installed on the router"
fi
cx 1 router -- pidof softflowd >/dev/null || fail "softflowd does not run on the router"
cx 1 router -- pidof nfcapd >/dev/null || fail "nfcapd does not run on the router"
ok "the router exports and collects flows, and has no packet capture tool"

cnc1=$(cx 1 cnc -- sh -c "ip -o -4 addr show | awk '\$4 ~ /^203\\.0\\.113\\./ { sub(\"/.*\", \"\", \$4); print \$4 }'")
cnc2=$(cx 2 cnc -- sh -c "ip -o -4 addr show | awk '\$4 ~ /^203\\.0\\.113\\./ { sub(\"/.*\", \"\", \$4); print \$4 }'")
[ -n "$cnc1" ] && [ "$cnc1" != "$cnc2" ] || fail "the C&C addresses of the teams are not distinct ('$cnc1', '$cnc2')"
ok "each team has its own C&C address"
i=0
until cx 1 router -- sh -c "nfdump -R /var/cache/nfdump -q -N -A dstip -o 'fmt:%da' 2>/dev/null" >"$WORK/dst" 2>/dev/null &&
    grep -qw "$cnc1" "$WORK/dst" && grep -qw 203.0.113.80 "$WORK/dst"; do
    i=$((i + 1))
    [ $i -lt 40 ] || fail "the flow records never showed the C&C and the victim as destinations"
    sleep 5
done
ok "the C&C and the victim show up in team 1's flow records"

# Scoring ------------------------------------------------------------------
crange run $R --once --check-timeout $CT >/dev/null
full=$(crange --json score $R | jq .full_marks)
assert_eq 0 "$(score_of 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(score_of 2)" "a fresh range scores 0 for team 2"

t0=$(date +%s)
crange solve $R 1 >/dev/null
echo "# the reference solution took $(($(date +%s) - t0)) s"
crange run $R --once --check-timeout $CT >/dev/null
assert_eq "$full" "$(score_of 1)" "the reference solution gives team 1 full marks ($full)"
assert_eq 0 "$(score_of 2)" "team 2 still has 0"
a=$(echoes 2); sleep 5; b=$(echoes 2)
[ $((b - a)) -gt 20 ] || fail "team 2's flood stopped with team 1's fix ($a -> $b)"
ok "team 2's victim is still flooded ($((b - a)) echo requests in 5 s)"

# Over-blocking: the vendor's cloud on the blocklist.
cx 1 router -- nft add element inet isp cnc '{ 203.0.113.20 }'
crange run $R --once --check-timeout $CT >/dev/null
lost=$(crange --json events $R --kind objective.lost | jq -r '[.[] | select(.team == 1) | .data.id] | sort | join(" ")')
assert_eq "legit_ok no_overblock" "$lost" "blocking the vendor's cloud loses legit_ok and no_overblock"
assert_eq "$((full - 30))" "$(score_of 1)" "team 1 has $((full - 30)) points while it over-blocks"
cx 1 router -- nft delete element inet isp cnc '{ 203.0.113.20 }'
crange run $R --once --check-timeout $CT >/dev/null
assert_eq "$full" "$(score_of 1)" "taking the cloud off the blocklist wins the points back"

# Undo the fix: the C&C is reachable again, block_cnc's points go.
cx 1 router -- nft delete table inet isp
crange run $R --once --check-timeout $CT >/dev/null
pts=$(crange --json events $R --kind objective.lost | jq '[.[] | select(.team == 1 and .data.id == "block_cnc")][0].data.points')
assert_eq 30 "$pts" "undoing the block loses block_cnc (30 points)"
assert_eq "$((full - 30))" "$(score_of 1)" "team 1 has $((full - 30)) points after undoing the block"
