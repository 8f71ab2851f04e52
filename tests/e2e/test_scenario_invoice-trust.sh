#!/bin/sh
# End to end, the invoice-trust scenario (a forged invoice against e-seals
# and time stamps) on real QEMU: 2 teams come up with their own PKI and
# invoices; in the AP inbox exactly one invoice fails openssl's checks and it
# is the one whose bank account differs from its supplier's other invoices;
# the TSA answers; a fresh range scores 0/0; the reference solution gives
# team 1 full marks and team 2 nothing; the inject's new invoices are sorted
# by the deployed verifier (the genuine one accepted; the altered, forged and
# unsealed ones rejected); stopping the verifier loses the hold objective.
# Prints the boot-to-ready time and the memory of the range.
. "$(dirname "$0")/lib.sh"
SC=$CRANGE_SOURCE/scenarios/invoice-trust
R=inv
track_range $R

host_net "$CRANGE_BIN" image build debian-12 >/dev/null

up=$(crange --json up "$SC" --name $R --teams 2) || fail "up failed: $up"
printf '%s\n' "$up" | jq -e '.failed == 0' >/dev/null || fail "up failed: $up"
echo "# up: $(printf '%s\n' "$up" | jq '.seconds | floor') s for 2 teams (4 Debian VMs)"
mem=$(crange plan "$SC" --teams 2 --json | jq '[.teams[0].vms[].memory_mib] | add')
rss=0
for f in /run/libvirt/qemu/*.pid; do
    r=$(ps -o rss= -p "$(cat "$f")" 2>/dev/null || echo 0)
    rss=$((rss + r))
done
echo "# memory per team: $mem MiB declared; QEMU RSS of the whole range: $((rss / 1024)) MiB"

ex() { crange exec --timeout 300 $R "$@"; }
# A scoring round. Checks get more than the default 10 s: a Debian guest
# under TCG on a busy host can take that long to fork a few processes.
round() { crange run $R --once --check-timeout 60 >/dev/null 2>&1; }
score_of() { crange --json score $R | jq ".teams[] | select(.team == $1) | .score"; }
count_events() { crange --json events $R --kind "$1" | jq "$2"; }

# The first batch and the trust anchors reach the AP server over the range's
# network after boot.
for t in 1 2; do
    i=0
    until [ "$(ex $t ap -- sh -c 'ls /srv/ap/inbox/*.json 2>/dev/null | wc -l; ls /srv/ap/trust/*.pem 2>/dev/null | wc -l' | tr '\n' ' ')" = "10 2 " ]; do
        i=$((i + 1))
        [ $i -lt 120 ] || fail "team $t: the batch or the trust anchors did not arrive"
        sleep 3
    done
    ok "team $t: 10 invoices and 2 trust anchors on the AP server"
done

# The story, on team 2 (which stays unsolved): openssl on the share; exactly
# one invoice fails both checks, and its account is not its supplier's.
verify_all='cd /srv/ap/inbox
for f in *.json; do
  c=ok t=ok
  openssl cms -verify -binary -inform PEM -in $f.p7s -content $f -CAfile ../trust/eseal-ca.pem -out /dev/null >/dev/null 2>&1 || c=fail
  openssl ts -verify -data $f -in $f.tsr -CAfile ../trust/tsa-ca.pem >/dev/null 2>&1 || t=fail
  echo "$f $c $t"
done'
res=$(ex 2 ap -- sh -c "$verify_all")
assert_eq 9 "$(printf '%s\n' "$res" | grep -c ' ok ok$')" "team 2: 9 invoices pass openssl cms -verify and ts -verify"
bad=$(printf '%s\n' "$res" | awk '$2 == "fail" && $3 == "fail" { print $1 }')
[ "$(printf '%s\n' "$bad" | grep -c .)" = 1 ] || fail "team 2: expected one invoice to fail both checks: $res"
ok "team 2: one invoice ($bad) fails both the e-seal and the time stamp"
acct=$(ex 2 ap -- sh -c '
cd /srv/ap/inbox || exit 1
f=$1; issuer=$(sed -n "s/.*\"issuer\": \"\(.*\)\",/\1/p" "$f")
mine=$(sed -n "s/.*\"account_no\": \"\(.*\)\",/\1/p" "$f")
for g in *.json; do [ "$g" = "$f" ] && continue; grep -q "\"issuer\": \"$issuer\"" "$g" && sed -n "s/.*\"account_no\": \"\(.*\)\",/\1/p" "$g"; done | sort -u | { read -r theirs; [ -n "$mine" ] && [ -n "$theirs" ] && [ "$mine" != "$theirs" ] && echo differs; }' sh "$bad")
assert_eq differs "$acct" "team 2: the tampered invoice's account differs from its supplier's other invoices"

# The time-stamping authority answers on 318/tcp.
tsa=$(ex 2 ap -- sh -c 'cd /tmp && echo probe > probe.txt &&
openssl ts -query -data probe.txt -sha256 -cert 2>/dev/null | nc -N -w 30 203.0.113.10 318 > probe.tsr &&
openssl ts -verify -data probe.txt -in probe.tsr -CAfile /srv/ap/trust/tsa-ca.pem 2>/dev/null; rm -f probe.txt probe.tsr')
assert_contains "$tsa" "Verification: OK" "the TSA time-stamps a new file and its token verifies"

# Team 2's tampered invoice is not team 1's answer (one of team 1's 3 attempts).
crange submit $R 1 tampered_invoice "${bad%.json}" >/dev/null 2>&1 && fail "team 2's answer was accepted for team 1"
ok "team 2's tampered invoice is a wrong answer for team 1"

# Fresh range: 0/0.
round
full=$(crange --json score $R | jq .full_marks)
assert_eq 0 "$(score_of 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(score_of 2)" "a fresh range scores 0 for team 2"

# The reference solution: full marks for team 1, nothing for team 2.
crange solve $R 1 >/dev/null
round
assert_eq "$full" "$(score_of 1)" "solve gives team 1 full marks ($full)"
assert_eq 0 "$(score_of 2)" "team 2 still has 0"
assert_eq 1 "$(count_events inject.fired '[.[] | select(.team == 1 and .data.id == "new_invoices")] | length')" \
    "the new invoices were sent to team 1 once its verifier ran"
assert_eq 0 "$(count_events inject.fired '[.[] | select(.team == 2)] | length')" "nothing was sent to team 2"

# The verifier sorts the new invoices: 1 accepted, 3 rejected (2 of them
# "corrected" invoices), nothing left in the inbox.
i=0
until [ "$(ex 1 ap -- sh -c 'ls /srv/ap/accepted/*.json | wc -l; ls /srv/ap/rejected/*.json | wc -l; ls /srv/ap/inbox | wc -l' | tr '\n' ' ')" = "10 4 0 " ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || fail "team 1: the verifier did not sort the new invoices: $(ex 1 ap -- ls -R /srv/ap)"
    sleep 3
done
ok "team 1: the verifier accepted 1 new invoice and rejected 3"
assert_eq 2 "$(ex 1 ap -- sh -c 'ls /srv/ap/rejected/*-R.json | wc -l')" "both \"corrected\" invoices were rejected"
unsealed=$(ex 1 ap -- sh -c 'cd /srv/ap/rejected; for f in *-R.json; do [ -e $f.p7s ] || echo $f; done')
[ -n "$unsealed" ] || fail "team 1: no unsealed invoice among the rejected ones"
ok "team 1: the unsealed \"corrected\" invoice ($unsealed) was rejected"
round
assert_eq "$full" "$(score_of 1)" "team 1 keeps full marks once the new invoices are checked"

# Undo the fix: stop the verifier; the hold objective's points go.
ex 1 ap -- systemctl stop ap-verify.path
round
lost=$(count_events objective.lost '[.[] | select(.team == 1 and .data.id == "auto_verify")][0].data.points')
assert_eq 30 "$lost" "stopping the verifier loses auto_verify"
assert_eq "$((full - 30))" "$(score_of 1)" "team 1 drops to $((full - 30)) with the verifier stopped"
assert_eq 0 "$(score_of 2)" "team 2 still has 0"
