#!/bin/sh
# The ssl-vpn-leak scenario end to end, on real QEMU: 2 teams come up (an
# emulated SSL-VPN gateway, the teleworker's PC and the attacker, all tiny);
# before any fix the story is there (this gateway's lines on the leaked list,
# a sign-in with a listed account after the firmware update from the
# attacker's real address, the attacker's session alive at the gateway, the
# teleworker in with a password alone) and differs between the teams; both
# teams score 0; the reference solution gives team 1 full marks and team 2
# nothing, after which team 1's gateway refuses the leaked passwords and a
# password alone, lets the teleworker in with a TOTP code, and no longer
# knows the attacker's session, while team 2's still does; turning the
# second factor off again loses the mfa hold objective, and only its points.
. "$(dirname "$0")/lib.sh"
R=vpn
track_range $R

SCN=$CRANGE_SOURCE/scenarios/ssl-vpn-leak
GW=203.0.113.10

crange image build tiny >/dev/null

out=$(crange --json up "$SCN" --name $R --teams 2) || fail "up failed: $out"
ok "up of 2 teams took $(printf '%s\n' "$out" | jq .seconds) s"
assert_eq 6 "$(printf '%s\n' "$out" | jq .changes.provisioned)" "6 VMs are up and provisioned"

ex() { crange exec --timeout 120 $R "$@"; }
full=$(crange --json score $R | jq .full_marks)
assert_eq 85 "$full" "full marks are 85"

# The story before any fix, on both teams' gateways.
for t in 1 2; do
    n=$(ex $t vpn -- sh -c "grep -c '^$GW:10443 | ' /root/incident/leaked-list.txt")
    assert_eq 4 "$n" "team $t: the leaked list has 4 lines for this gateway"
    # A listed account's sign-ins after the firmware update from an address
    # it had not used before: user and address.
    found=$(ex $t vpn -- sh -c '
patched=$(sed -n "s/^\([^ ]*\) vpn-gw: firmware update.*/\1/p" /var/log/vpn/system.log)
[ -n "$patched" ] || exit 1
grep "^$1:10443 | " /root/incident/leaked-list.txt | cut -d"|" -f2 | tr -d " " |
awk -v p="$patched" "NR == FNR { listed[\$1] = 1; next }
  \$3 == \"login\" && \$4 == \"ok\" { u = substr(\$5, 6); s = substr(\$6, 5)
    if (\$1 <= p) seen[u, s] = 1; else if ((u in listed) && !((u, s) in seen)) print u, s }" - /var/log/vpn/auth.log |
sort -u' sh $GW)
    [ "$(printf '%s\n' "$found" | grep -c .)" = 1 ] || fail "team $t: expected one listed account signing in after the update, got: $found"
    user=${found% *} src=${found#* }
    addr=$(ex $t attacker -- sh -c "ip -4 -o addr show | awk '\$2 != \"lo\" { print \$4 }' | cut -d/ -f1")
    assert_eq "$addr" "$src" "team $t: $user signed in after the update from the attacker's real address"
    sid=$(ex $t attacker -- head -n 1 /root/loot/sessions)
    assert_contains "$(ex $t vpn -- vpnctl sessions)" "$sid $user" "team $t: the attacker's session $sid is alive at the gateway"
    assert_contains "$(ex $t pc -- vpn-connect)" "result=ok user=" "team $t: the teleworker gets in with a password alone"
    ex $t pc -- vpn-connect --logout >/dev/null
    eval "user$t=\$user addr$t=\$addr sid$t=\$sid"
done
[ "$user1" != "$user2" ] && [ "$addr1" != "$addr2" ] && [ "$sid1" != "$sid2" ] ||
    fail "the teams share an answer: $user1/$user2 $addr1/$addr2 $sid1/$sid2"
ok "each team has its own leaked account ($user1, $user2), attacker address ($addr1, $addr2) and session"
expect_fail crange submit $R 1 attacker_ip "$addr2" >/dev/null
ok "team 2's attacker address is a wrong answer for team 1"

score_round $R
assert_eq 0 "$(team_score $R 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(team_score $R 2)" "a fresh range scores 0 for team 2"

# The reference solution: full marks for team 1, nothing for team 2.
crange solve $R 1 >/dev/null
score_round $R
assert_eq "$full" "$(team_score $R 1)" "solve gives team 1 full marks ($full)"
assert_eq 0 "$(team_score $R 2)" "team 2 still has 0"

# What changed, seen from the attacker and the PC (the guests' own tools).
ex 1 attacker -- vpn-attack
assert_eq 0 "$(ex 1 attacker -- sh -c 'tail -n 4 /root/loot/attempts.log | grep -vc "result=denied$"' || true)" \
    "team 1: the gateway refuses every leaked password"
assert_eq 1 "$(ex 1 attacker -- sh -c 'grep -c . /root/loot/sessions')" "team 1: the attacker got no new session"
case $(ex 1 vpn -- vpnctl sessions) in *"$sid1"*) fail "team 1: the attacker's session is still there" ;; esac
ok "team 1: the attacker's session is gone"
assert_contains "$(ex 2 vpn -- vpnctl sessions)" "$sid2" "team 2's attacker session is untouched"
alone=$(ex 1 pc -- sh -c '. /usr/lib/vpn/client.sh; GW=$(cat /etc/vpn-gateway)
vpn_login "$(sed -n "s/^user=//p" /root/.vpn/account)" "$(sed -n "s/^password=//p" /root/.vpn/account)"')
assert_eq "result=otp_required" "$alone" "team 1: the teleworker's password alone is refused with a request for a code"
assert_contains "$(ex 1 pc -- vpn-connect)" "result=ok user=" "team 1: the teleworker gets in with the authenticator's code"
ex 1 pc -- vpn-connect --logout >/dev/null

# Undo a hold fix: the second factor off. Only mfa's 25 points go.
ex 1 vpn -- vpnctl require-otp off >/dev/null
score_round $R
assert_eq "$((full - 25))" "$(team_score $R 1)" "turning the second factor off loses mfa's 25 points"
lost=$(crange --json events $R --kind objective.lost | jq -r '[.[] | select(.team == 1) | .data.id] | join(",")')
assert_eq "mfa" "$lost" "mfa is the only objective lost"
assert_eq 0 "$(team_score $R 2)" "team 2 still has 0"
