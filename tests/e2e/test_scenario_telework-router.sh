#!/bin/sh
# The telework-router scenario end to end, on real QEMU: 2 teams come up
# (a Debian home router from the home-router role layer, plus tiny PC, web
# site and attacker); before any fix the router shows what the case is about
# (telnet, web administration and UPnP open from the internet, dynamic DNS
# updates reaching the provider, WireGuard handshakes sent to the attacker,
# no NAT) and both teams score 0; the reference solution gives team 1 full
# marks and team 2 nothing, and closes team 1's WAN while team 2's stays
# open; turning miniupnpd back on loses the upnp_off hold objective, and
# only its points.
#
# The debian-12 image and the role layer download packages, so they go
# through host_net (netns-run.sh).
. "$(dirname "$0")/lib.sh"
track_range tw

SCN=$CRANGE_SOURCE/scenarios/telework-router
WAN=203.0.113.10

host_net "$CRANGE_BIN" image build debian-12 >/dev/null
crange image build tiny >/dev/null

out=$(host_net "$CRANGE_BIN" --json up "$SCN" --name tw --teams 2) || fail "up failed: $out"
ok "up of 2 teams took $(printf '%s\n' "$out" | jq .seconds) s (layers built: $(printf '%s\n' "$out" | jq .changes.layers))"
assert_eq 8 "$(printf '%s\n' "$out" | jq .changes.provisioned)" "8 VMs are up and provisioned"
# For BENCHMARKS.md: what a team's QEMU processes hold (the VMs are given
# 512 + 3 x 128 = 896 MiB). This test's PID namespace shows only its own.
for t in 1 2; do
    rss=$(ps -eo rss=,args= | awk -v re="guest=crange[.]tw[.]t$t[.]" '$0 ~ re { s += $1 } END { print int(s / 1024) }')
    ok "team $t: QEMU RSS $rss MiB"
done

score_of() { crange --json score tw | jq ".teams[] | select(.team == $1) | .score"; }
full=$(crange --json score tw | jq .full_marks)
assert_eq 130 "$full" "full marks are 130"

# The story before any fix, seen from the internet and from the router.
for t in 1 2; do
    scan=$(crange exec tw $t attacker -- scan-router $WAN)
    for p in 23 80 52869; do
        assert_contains "$scan" "$p/tcp open" "team $t: $p/tcp of the router is open from the internet"
    done
done
host1=$(crange exec tw 1 router -- sh -c 'tail -n 1 /etc/ddclient.conf')
host2=$(crange exec tw 2 router -- sh -c 'tail -n 1 /etc/ddclient.conf')
[ "$host1" != "$host2" ] || fail "both teams have the DDNS host name $host1"
ok "each team has its own DDNS host name ($host1, $host2)"
i=0
until crange exec tw 1 www -- grep -q "hostname=$host1.*myip=$WAN" /var/log/ddns-updates.log 2>/dev/null || [ $i -ge 60 ]; do
    sleep 2; i=$((i + 1))
done
crange exec tw 1 www -- grep -q "hostname=$host1.*myip=$WAN" /var/log/ddns-updates.log ||
    fail "the router's ddclient did not update $host1 at the DDNS provider"
ok "ddclient on the router registered $host1 -> $WAN at the DDNS provider"
att1=$(crange exec tw 1 router -- wg show wg0 endpoints | awk '$2 !~ /^203\.0\.113\.30:/ { print $1 }')
sent=$(crange exec tw 1 router -- wg show wg0 transfer | awk -v k="$att1" '$1 == k { print $3 }')
[ "${sent:-0}" -gt 0 ] || fail "the router sent nothing to the attacker's WireGuard peer"
ok "the router sends WireGuard handshakes to the attacker's peer ($sent bytes)"
if crange exec tw 1 pc -- timeout 10 wget -qO- http://203.0.113.80/cgi-bin/myip >/dev/null 2>&1; then
    fail "the PC reaches the internet before NAT is on"
fi
ok "without NAT the PC does not reach the internet"

crange run tw --once --check-timeout 60 >/dev/null
assert_eq 0 "$(score_of 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(score_of 2)" "a fresh range scores 0 for team 2"

# The reference solution: full marks for team 1, nothing for team 2.
crange solve tw 1 >/dev/null
crange run tw --once --check-timeout 60 >/dev/null
assert_eq "$full" "$(score_of 1)" "solve gives team 1 full marks ($full)"
assert_eq 0 "$(score_of 2)" "team 2 still has 0"
scan=$(crange exec tw 1 attacker -- scan-router $WAN)
for p in 23 2323 80 7547 52869; do
    assert_contains "$scan" "$p/tcp filtered" "team 1: $p/tcp is filtered after the fix"
done
assert_contains "$(crange exec tw 2 attacker -- scan-router $WAN)" "52869/tcp open" "team 2's router is untouched"
assert_eq "$WAN" "$(crange exec tw 1 pc -- timeout 10 wget -qO- http://203.0.113.80/cgi-bin/myip)" \
    "with NAT the web site sees team 1's PC as the router's WAN address"

# Undo a hold fix: miniupnpd back on. Only upnp_off's 15 points go.
crange exec tw 1 router --timeout 300 -- systemctl start miniupnpd
crange run tw --once --check-timeout 60 >/dev/null
assert_eq "$((full - 15))" "$(score_of 1)" "turning miniupnpd back on loses upnp_off's 15 points"
lost=$(crange --json events tw --kind objective.lost | jq -r '[.[] | select(.team == 1) | .data.id] | join(",")')
assert_eq "upnp_off" "$lost" "upnp_off is the only objective lost"
