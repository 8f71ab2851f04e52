#!/bin/sh
# The account-takeover scenario end to end, on real QEMU: 2 teams come up
# (an emulated payment service, a mail provider that is also the genuine
# customer's phone, and the attacker, all tiny); before any fix the story is
# there and differs between the teams (the attacker's PIN spray signs in to
# accounts, its reset mail reaches the attacker's own address, the log shows
# both from the attacker's real address, the customer signs in with a PIN
# alone); both teams score 0; the reference solution gives team 1 full marks
# and team 2 nothing, after which team 1's service takes over nothing when
# the attack is replayed, sends reset mail only to the registered address,
# and still lets the customer sign in (with a mailed code) and reset, while
# team 2's still falls to the spray; turning the spray's fixes off again
# loses the stop_spray hold objective, and only its points.
. "$(dirname "$0")/lib.sh"
R=ato
track_range $R

SCN=$CRANGE_SOURCE/scenarios/account-takeover
LOG=/var/log/pay/auth.log

crange image build tiny >/dev/null

out=$(crange --json up "$SCN" --name $R --teams 2) || fail "up failed: $out"
ok "up of 2 teams took $(printf '%s\n' "$out" | jq .seconds) s"
assert_eq 6 "$(printf '%s\n' "$out" | jq .changes.provisioned)" "6 VMs are up and provisioned"

ex() { crange exec --timeout 120 $R "$@"; }
full=$(crange --json score $R | jq .full_marks)
assert_eq 80 "$full" "full marks are 80"

# The story before any fix, on both teams' ranges.
for t in 1 2; do
    addr=$(ex $t attacker -- sh -c "ip -4 -o addr show | awk '\$2 != \"lo\" { print \$4 }' | cut -d/ -f1")
    case $addr in 203.0.113.1[0-9][0-9]) ;; *) fail "team $t: the attacker has no address of its range: '$addr'" ;; esac
    # The spray at provisioning took accounts, and the service logged it.
    taken=$(ex $t attacker -- sh -c "grep -v reset /root/loot/taken | sort -u | grep -c ." || true)
    [ "$taken" -ge 3 ] && [ "$taken" -le 5 ] || fail "team $t: the spray took $taken accounts, not 3 to 5"
    ok "team $t: the provisioning spray from $addr took over $taken accounts"
    n=$(ex $t pay -- sh -c "grep ' login ok account=[0-9]* src=$addr\$' $LOG | grep -c ." || true)
    [ "$n" -ge "$taken" ] || fail "team $t: the service logged $n sign-ins from $addr, fewer than $taken"
    ok "team $t: the service's log shows the attacker's sign-ins from its real address"
    # Replayed now, the spray still takes the same accounts.
    assert_eq "taken over: $taken" "$(ex $t attacker -- pin-spray)" "team $t: replaying the spray takes the same $taken accounts"
    # The reset mail went to the attacker's own address and gave it the account.
    line=$(ex $t pay -- sh -c "grep ' reset sent .* src=$addr to=' $LOG | head -n 1")
    acc=$(printf '%s\n' "$line" | sed -n 's/.* account=\([0-9]*\) .*/\1/p')
    to=$(printf '%s\n' "$line" | sed -n 's/.* to=\([^ ]*\) .*/\1/p')
    reg=$(printf '%s\n' "$line" | sed -n 's/.* registered=\([^ ]*\)$/\1/p')
    [ -n "$acc" ] && [ -n "$to" ] && [ "$to" != "$reg" ] || fail "team $t: no reset mail to a foreign address in the log: $line"
    assert_contains "$(ex $t attacker -- cat /root/.mail)" "$to " "team $t: the reset mail for $acc went to the attacker's address $to, not $reg"
    ex $t attacker -- reset-hijack "$acc" 0000 >/dev/null || fail "team $t: a second reset takeover of $acc failed"
    ok "team $t: asking for a reset of $acc to the attacker's address takes it over again"
    first=$(ex $t pay -- sh -c "grep ' login ok account=[0-9]* src=$addr\$' $LOG | grep -v 'account=$acc ' | head -n 1" |
        sed -n 's/.* account=\([0-9]*\) .*/\1/p')
    # The genuine customer, with a PIN alone.
    assert_contains "$(ex $t inet -- pay-app login)" "result=ok balance=" "team $t: the customer signs in with a PIN alone"
    eval "addr$t=\$addr acc$t=\$acc first$t=\$first"
done
[ "$addr1" != "$addr2" ] && [ "$acc1" != "$acc2" ] && [ "$first1" != "$first2" ] ||
    fail "the teams share an answer: $addr1/$addr2 $acc1/$acc2 $first1/$first2"
ok "each team has its own attacker address ($addr1, $addr2), reset account ($acc1, $acc2) and first sprayed account"
expect_fail crange submit $R 1 reset_account "$acc2" >/dev/null
ok "team 2's reset account is a wrong answer for team 1"

score_round $R
assert_eq 0 "$(team_score $R 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(team_score $R 2)" "a fresh range scores 0 for team 2"

# The reference solution: full marks for team 1, nothing for team 2.
crange solve $R 1 >/dev/null
score_round $R
assert_eq "$full" "$(team_score $R 1)" "solve gives team 1 full marks ($full)"
assert_eq 0 "$(team_score $R 2)" "team 2 still has 0"

# What changed, seen with the guests' own tools.
assert_eq "taken over: 0" "$(ex 1 attacker -- pin-spray)" "team 1: replaying the spray takes over nothing"
tail=$(ex 1 attacker -- tail -n 12 /root/loot/spray.log)
case $tail in *"result=ok"*) fail "team 1: a sprayed sign-in succeeded: $tail" ;; esac
ok "team 1: every sprayed sign-in is refused"
expect_fail crange exec $R 1 attacker -- reset-hijack "$acc1" 1111 >/dev/null
ok "team 1: a reset of $acc1 to the attacker's address gives the attacker nothing"
assert_contains "$(ex 1 pay -- tail -n 5 $LOG)" "reset other_address_refused account=$acc1" \
    "team 1: the service refused to mail $acc1's reset to another address"
login=$(ex 1 inet -- pay-app login)
assert_contains "$login" "result=code_sent" "team 1: the customer's PIN alone now asks for a mailed code"
assert_contains "$login" "result=ok balance=" "team 1: the customer signs in with the code from the registered mailbox"
assert_contains "$(ex 1 inet -- pay-app reset)" "token=" "team 1: the customer's own reset mail reaches the registered address"
case $(ex 2 attacker -- pin-spray) in "taken over: 0") fail "team 2's service stopped the spray" ;; esac
ok "team 2's service still falls to the spray"

# Undo a hold fix: the limit per source and the second step off (the
# account lock-out stays, and does not stop a spray). Only stop_spray's 30
# points go.
ex 1 pay -- sed -i 's/^login_limit=.*/login_limit=0/; s/^login_2fa=.*/login_2fa=off/' /etc/pay/pay.conf
assert_contains "$(ex 1 pay -- cat /etc/pay/pay.conf)" "lockout=5" "team 1 keeps the account lock-out"
score_round $R
assert_eq "$((full - 30))" "$(team_score $R 1)" "turning the limit and the second step off loses stop_spray's 30 points"
lost=$(crange --json events $R --kind objective.lost | jq -r '[.[] | select(.team == 1) | .data.id] | join(",")')
assert_eq "stop_spray" "$lost" "stop_spray is the only objective lost"
assert_eq 0 "$(team_score $R 2)" "team 2 still has 0"
