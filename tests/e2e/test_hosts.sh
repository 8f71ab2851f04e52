#!/bin/sh
# One exercise over two libvirt hosts (docs/HOSTS.md), simulated on this
# machine: this test's private libvirtd is host "here" (qemu:///system), and
# a second libvirtd in namespaces of its own, which sees none of this test's
# files, is host "lab2", reached over qemu+tcp:// through a veth pair.
#   - host add/list/remove and doctor --host over the remote connection;
#   - plan --hosts shows the placement; up --hosts places 4 demo teams, 2 on
#     each host, sends the tiny image to lab2 through libvirt's storage API
#     (once), each host makes its own templates and restores its teams' VMs
#     from them, and every team's VMs run and answer where they were placed;
#   - the reference solution scores on both hosts, the engine's round too;
#   - lab2's libvirtd is killed: status marks it and its teams, up --reschedule
#     rebuilds them here with their events kept (team.moved), down removes
#     what it reaches, keeps the record and says what it could not; once
#     lab2's libvirtd is back a second down finishes, leaving nothing on
#     either host; image prune --hosts then removes lab2's templates and the
#     images shipped there, keeping them while VMs there sit on them.
. "$(dirname "$0")/lib.sh"
track_range mh

crange image build tiny >/dev/null
start_remote_host 1
B=$REMOTE_URI
vb() { virsh -q -c "$B" "$@"; }

# ---- hosts
crange host add here qemu:///system >/dev/null
crange host add lab2 "$B" --label room=lab2 >/dev/null
list=$(crange --json host list)
assert_eq 2 "$(printf '%s\n' "$list" | jq '[.[] | select(.reachable)] | length')" "host list: both hosts answer"
assert_eq lab2 "$(printf '%s\n' "$list" | jq -r '.[] | select(.uri == "'"$B"'") | .labels.room')" \
    "host list keeps lab2's label"
out=$(expect_fail crange host add lab2 qemu+tcp://10.77.9.2/system)
assert_contains "$out" "host 'lab2' exists" "a second host of the same name is refused"
out=$(expect_fail crange host add lab3 'qemu+tcp://10.77.1.2/sys tem')
assert_contains "$out" "has a character libvirt URIs do not" "a URI with a space is refused"
out=$(expect_fail crange host add lab9 qemu+tcp://10.77.99.2/system)
assert_contains "$out" "--no-check" "a host that does not answer is refused unless --no-check"

doc=$(crange --json doctor --host lab2)
assert_eq ok "$(printf '%s\n' "$doc" | jq -r '.checks[] | select(.check == "tcg boot") | .result')" \
    "doctor --host lab2 boots the probe there, from the tiny image it sent"

# ---- placement
plan=$(crange --json plan "$DEMO" --name mh --teams 4 --hosts here,lab2)
assert_eq 2 "$(printf '%s\n' "$plan" | jq '[.teams[] | select(.host == "qemu:///system")] | length')" \
    "plan --hosts puts 2 of 4 teams here"
assert_eq 2 "$(printf '%s\n' "$plan" | jq '[.teams[] | select(.host == "'"$B"'")] | length')" \
    "and 2 on lab2"
out=$(expect_fail crange plan "$DEMO" --name mh --hosts here,nohost)
assert_contains "$out" "no host 'nohost'" "an unknown host name is refused"

up=$(crange --json up "$DEMO" --name mh --teams 4 --hosts here,lab2) || fail "up failed: $up"
assert_eq 2 "$(printf '%s\n' "$up" | jq .hosts)" "up places the range on 2 hosts"
assert_eq 12 "$(printf '%s\n' "$up" | jq .changes.provisioned)" "all 12 VMs are provisioned"
assert_eq 12 "$(printf '%s\n' "$up" | jq .changes.cloned)" "all 12 are instant clones"
assert_eq 6 "$(printf '%s\n' "$up" | jq .changes.templates)" "from 3 templates made on each host"
assert_eq 3 "$(vb vol-list crange-templates | grep -c '\.save\.ok ')" \
    "lab2 keeps its 3 templates in its own pool, each marked complete"
ok "up took $(printf "%s\\n" "$up" | jq .seconds) s; files sent to lab2: $(printf "%s\\n" "$up" | jq .changes.shipped) (doctor sent the tiny image before)"
remote_teams=$(printf '%s\n' "$plan" | jq -r '.teams[] | select(.host == "'"$B"'") | .team' | tr '\n' ' ')
local_teams=$(printf '%s\n' "$plan" | jq -r '.teams[] | select(.host == "qemu:///system") | .team' | tr '\n' ' ')
assert_eq 6 "$(vb list --name | grep -c '^crange\.mh\.')" "lab2 runs 6 VMs"
assert_eq 6 "$(count_domains mh)" "this host runs 6 VMs"
for t in $remote_teams; do
    vb list --name | grep -q "^crange\.mh\.t$t\.victim$" || fail "team $t's victim is not on lab2"
done
ok "the teams planned on lab2 ($remote_teams) are there"
[ "$(vb vol-list crange-images | grep -c 'tiny-.*\.kernel ')" = 1 ] || fail "lab2's image pool lacks the kernel"
ok "lab2's image pool holds the tiny image's kernel, sent by up"
st=$(crange --json status mh)
assert_eq 12 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running" and .agent)] | length')" \
    "status: 12 VMs run and their agents answer, on both hosts"

again=$(crange --json up --name mh) || fail "up failed: $again"
assert_eq 0 "$(printf '%s\n' "$again" | jq '.changes | [.[]] | add')" "a second up changes nothing, sends nothing"

# ---- the exercise on both hosts
set -- $remote_teams
rt=$1
set -- $local_teams
lt=$1
tok=$(crange exec mh "$rt" attacker -- wget -qO- http://10.20.0.20/token.txt)
[ -n "$tok" ] || fail "team $rt's attacker cannot read its web server's token on lab2"
ok "team $rt's attacker reaches its own web server on lab2"
score_of() { crange --json score mh | jq ".teams[] | select(.team == $1) | .score"; }
full=$(crange --json score mh | jq .full_marks)
crange solve mh "$rt" >/dev/null
crange solve mh "$lt" >/dev/null
assert_eq "$full" "$(score_of "$rt")" "team $rt on lab2 scores full marks"
assert_eq "$full" "$(score_of "$lt")" "team $lt here scores full marks"
crange run mh --once >/dev/null
for t in 1 2 3 4; do
    [ "$t" = "$rt" ] || [ "$t" = "$lt" ] || assert_eq 0 "$(score_of "$t")" "team $t, unsolved, scores 0"
done

# ---- lab2 is lost
kill_remote_libvirtd 1
st=$(crange --json status mh)
assert_eq false "$(printf '%s\n' "$st" | jq '.hosts[] | select(.uri == "'"$B"'") | .reachable')" \
    "status marks lab2 unreachable"
assert_eq 6 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "host-unreachable")] | length')" \
    "and its 6 VMs"
out=$(expect_fail crange up --name mh)
assert_contains "$out" "$B" "up without --reschedule names the host it cannot reach"
re=$(crange --json up --name mh --reschedule) || fail "up failed: $re"
assert_eq 2 "$(printf '%s\n' "$re" | jq .changes.moved)" "up --reschedule moves lab2's 2 teams"
assert_eq 12 "$(count_domains mh)" "all 12 VMs now run here"
st=$(crange --json status mh)
assert_eq 12 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running" and .agent and .host == "qemu:///system")] | length')" \
    "status: 12 VMs answer here"
assert_eq 2 "$(crange --json events mh --kind team.moved | jq length)" "the moves are in the event log"
assert_eq "$full" "$(score_of "$rt")" "moved team $rt keeps its score"
again=$(crange --json up --name mh) || fail "up failed: $again"
assert_eq 0 "$(printf '%s\n' "$again" | jq '.changes | [.[]] | add')" \
    "a later up, lab2 still down, changes nothing: the range is on this host now"
ok "reschedule took $(printf '%s\n' "$re" | jq .seconds) s"

out=$(expect_fail crange image prune --hosts lab2 --dry-run)
assert_contains "$out" "host lab2:" "image prune names the host it cannot reach, and fails"
out=$(expect_fail crange host remove lab2)
assert_contains "$out" "holds ranges (mh)" "host remove refuses a host a range still uses"
out=$(expect_fail crange down mh)
assert_contains "$out" "could not reach $B" "down says which host it could not reach"
assert_eq 0 "$(count_domains mh)" "down removed everything here"
[ -e "$CRANGE_STATE/ranges/mh" ] || [ -n "$(crange --json status mh | jq -r .scenario)" ] || fail "the record is gone"
restart_remote_libvirtd 1
assert_eq 6 "$(vb list --name | grep -c '^crange\.mh\.')" "lab2's new libvirtd still has the 6 old VMs"
pr=$(crange --json image prune --hosts lab2 --dry-run)
assert_eq 0 "$(printf '%s\n' "$pr" | jq '.hosts[0].templates | length')" \
    "image prune keeps lab2's templates while VMs there sit on them"
crange down mh >/dev/null
assert_eq 0 "$(vb list --all --name | grep -c '^crange\.mh\.' || true)" "a second down leaves no VM on lab2"
assert_eq 0 "$(vb net-list --all --name | grep -c '^crange\.mh\.' || true)" "nor a network"
assert_eq 0 "$(vb pool-list --all --name | grep -c '^crange\.mh$' || true)" "nor a storage pool"
# Templates and shipped images stay after down, for the next up; prune
# removes them on lab2, through libvirt.
pr=$(crange --json image prune --hosts lab2 --dry-run)
assert_eq 3 "$(printf '%s\n' "$pr" | jq '.hosts[0].templates | length')" "a dry run lists lab2's 3 templates"
assert_eq 3 "$(vb vol-list crange-templates | grep -c '\.save\.ok ')" "and removes none"
pr=$(crange --json image prune --hosts lab2)
assert_eq 3 "$(printf '%s\n' "$pr" | jq '.hosts[0].templates | length')" "image prune --hosts lab2 removes its 3 templates"
assert_eq 0 "$(vb vol-list crange-templates | grep -c . || true)" "leaving lab2's template pool empty"
[ "$(printf '%s\n' "$pr" | jq '[.hosts[0].images[] | select(test("^tiny-.*[.]kernel$"))] | length')" = 1 ] ||
    fail "image prune did not remove the tiny kernel shipped to lab2: $pr"
assert_eq 0 "$(vb vol-list crange-images | grep -c . || true)" "and the images shipped there, nothing using them"
crange host remove lab2 >/dev/null
assert_eq 1 "$(crange --json host list | jq length)" "host remove leaves one host"
