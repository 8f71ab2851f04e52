#!/bin/sh
# The darknet-sensor scenario end to end, on real QEMU: 2 teams come up (one
# tiny sensor each); before any fix the story is there (an hour of darknet
# capture in which Mirai's signature, seq = destination address, marks some
# sources, a research scanner sweeps many ports, and Telnet scanners without
# the signature make a port-only rule wrong) and the teams' numbers differ;
# both teams score 0; port-only detection rules on team 2's sensor fail the
# held-out test (the research scanner flagged; without it, the precision);
# the reference solution gives team 1 full marks and team 2 nothing;
# removing team 1's rule loses the detect_rule hold objective, and only its
# points.
. "$(dirname "$0")/lib.sh"
R=darknet
track_range $R

SCN=$CRANGE_SOURCE/scenarios/darknet-sensor
CAP=/var/log/darknet/capture.csv

crange image build tiny >/dev/null

t0=$(date +%s)
out=$(crange --json up "$SCN" --name $R --teams 2) || fail "up failed: $out"
ok "up of 2 teams took $(printf '%s\n' "$out" | jq .seconds) s"
assert_eq 2 "$(printf '%s\n' "$out" | jq .changes.provisioned)" "2 VMs are up and provisioned"

ex() { crange exec --timeout 120 $R "$@"; }
full=$(crange --json score $R | jq .full_marks)
assert_eq 110 "$full" "full marks are 110"

# The story before any fix, read with the guest's own busybox awk (this
# test's programs, not the scenario's).
SIGNED='NR > 1 && $6 == "tcp" && $7 == "S" { split($4, q, "."); if ($8 == ((q[1] * 256 + q[2]) * 256 + q[3]) * 256 + q[4]) print $2 }'
PORTS='NR > 1 && $7 == "S" && !(($2, $5) in s) { s[$2, $5] = 1; n[$2]++ } END { for (a in n) print n[a], a }'
TELNET='NR > 1 && $6 == "tcp" && ($5 == 23 || $5 == 2323) { print $2 }'
for t in 1 2; do
    assert_eq "time,src,sport,dst,dport,proto,flags,seq,ttl" "$(ex $t sensor -- head -n 1 $CAP)" "team $t: the capture has its header"
    lines=$(ex $t sensor -- awk 'END { print NR }' $CAP)
    [ "$lines" -gt 500 ] || fail "team $t: the capture has only $lines lines"
    mirai=$(ex $t sensor -- sh -c 'awk -F, "$1" "$2" | sort -u | wc -l' sh "$SIGNED" $CAP)
    [ "$mirai" -ge 40 ] || fail "team $t: only $mirai sources carry Mirai's signature"
    telnet=$(ex $t sensor -- sh -c 'awk -F, "$1" "$2" | sort -u | wc -l' sh "$TELNET" $CAP)
    [ "$telnet" -gt $((mirai + 5)) ] || fail "team $t: $telnet Telnet scanners for $mirai Mirai-like ones"
    top=$(ex $t sensor -- sh -c 'awk -F, "$1" "$2" | sort -rn | head -n 2' sh "$PORTS" $CAP)
    research=$(printf '%s\n' "$top" | awk 'NR == 1 && $1 >= 40 { r = $2 } NR == 2 && $1 < 10 { print r }')
    [ -n "$research" ] || fail "team $t: no single source sweeps many ports: $top"
    ok "team $t: $lines lines, $mirai Mirai-like sources among $telnet Telnet scanners, research scanner $research"
    ex $t sensor -- test ! -e /var/log/darknet/wave2.csv || fail "team $t: the second wave is there before its inject"
    eval "mirai$t=\$mirai research$t=\$research"
done
[ "$mirai1" != "$mirai2" ] && [ "$research1" != "$research2" ] ||
    fail "the teams share an answer: $mirai1/$mirai2 $research1/$research2"
ok "each team has its own capture ($mirai1 and $mirai2 Mirai-like sources)"
expect_fail crange submit $R 1 mirai_sources "$mirai2" >/dev/null
ok "team 2's count is a wrong answer for team 1"

score_round $R
assert_eq 0 "$(team_score $R 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(team_score $R 2)" "a fresh range scores 0 for team 2"

# A rule on the port alone, on team 2's sensor: the held-out test fails it.
NAIVE='$6 == "tcp" && ($5 == 23 || $5 == 2323) && !seen[$2]++ { print $2 }'
ex 2 sensor -- sh -c 'printf "%s\n" "$1" > /root/detect.awk' sh "$NAIVE"
score_round $R
reason=$(crange --json events $R --team 2 --kind objective.failing | jq -r '[.[] | select(.data.id == "detect_rule")][-1].data.reason')
assert_contains "$reason" "research scanner" "a port-only rule fails the held-out test: it flags the research scanner"
# Port-only, the research scanner left out (it sweeps many ports): the
# Telnet scanners without Mirai's signature still sink its precision.
NAIVE2='$7 == "S" && !(($2, $5) in s) { s[$2, $5] = 1; n[$2]++ }
$6 == "tcp" && ($5 == 23 || $5 == 2323) { t[$2] = 1 }
END { for (a in t) if (n[a] < 10) print a }'
ex 2 sensor -- sh -c 'printf "%s\n" "$1" > /root/detect.awk' sh "$NAIVE2"
score_round $R
reason=$(crange --json events $R --team 2 --kind objective.failing | jq -r '[.[] | select(.data.id == "detect_rule")][-1].data.reason')
assert_contains "$reason" "precision" "without the research scanner, a port-only rule fails on its precision ($reason)"
assert_eq 0 "$(team_score $R 2)" "team 2 scores nothing for it"

# The reference solution: full marks for team 1, nothing more for team 2.
crange solve $R 1 >/dev/null
score_round $R
assert_eq "$full" "$(team_score $R 1)" "solve gives team 1 full marks ($full)"
assert_eq 0 "$(team_score $R 2)" "team 2 still has 0"
assert_eq "$mirai1" "$(ex 1 sensor -- sh -c 'grep -c . /root/infected.txt')" "team 1's list holds its $mirai1 Mirai-like sources"
ex 2 sensor -- test ! -e /root/infected.txt || fail "team 2 has a list"
ex 2 sensor -- test ! -e /var/log/darknet/wave2.csv || fail "team 1's solution brought team 2's second wave"
ok "team 2's sensor is untouched"

# Undo the hold fix: the rule goes. Only detect_rule's 30 points go.
ex 1 sensor -- rm /root/detect.awk
score_round $R
assert_eq "$((full - 30))" "$(team_score $R 1)" "removing the rule loses detect_rule's 30 points"
lost=$(crange --json events $R --kind objective.lost | jq -r '[.[] | select(.team == 1) | .data.id] | join(",")')
assert_eq "detect_rule" "$lost" "detect_rule is the only objective lost"
crange submit $R 2 research_scanner "$research2" >/dev/null || fail "team 2's research scanner is not accepted"
ok "the research scanner this test found is team 2's answer"
echo "# the test took $(($(date +%s) - t0)) s after the image build"
