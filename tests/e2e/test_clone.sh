#!/bin/sh
# Instant clones (issue 12) on the demo for 3 teams: every VM repeats across
# teams, so each is booted once as a template and restored for every team,
# its RAM mapped copy-on-write from the template's file (shared RAM).
# The clones must be VMs of their own team: own MACs, clock, random state,
# per-team files and flags, reachable only within the team; a second range
# reuses the templates; revert restores a VM's starting point by the same
# means; a kill -9 during cloning converges; down keeps the template cache.
. "$(dirname "$0")/lib.sh"
track_range cl
track_range cl2
track_range cl3

templates=$CRANGE_STATE/templates
out=$(crange --json up "$DEMO" --name cl --teams 3) || fail "up failed: $out"
assert_eq 9 "$(printf '%s\n' "$out" | jq .changes.cloned)" "all 9 VMs of 3 teams are clones"
assert_eq 3 "$(printf '%s\n' "$out" | jq .changes.templates)" "of 3 templates, one per VM"
assert_eq 3 "$(ls "$templates"/*.save | wc -l)" "the templates are in the cache"
st=$(crange --json status cl)
assert_eq 9 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running" and .agent == true)] | length')" \
    "every clone runs and its agent answers"
assert_eq 9 "$(virsh -q list --persistent --name | grep -c '^crange\.cl\.')" "the clones are persistent domains"
# Without a boot window (9 guests) the clones are restored running.
for d in $(virsh -q list --name | grep '^crange\.cl\.'); do
    assert_eq "running (restored)" "$(virsh domstate --reason "$d" | head -n 1)" "$d was restored running"
done

# Shared RAM: each template's RAM is a file of the VM's 128 MiB, its save
# image holds no RAM, and every clone's QEMU maps its template's file.
assert_eq 3 "$(find "$templates" -maxdepth 1 -name '*.ram' -size 131072k | wc -l)" "each template has a RAM file"
for f in "$templates"/*.save; do
    [ "$(stat -c %s "$f")" -lt 8000000 ] || fail "$f holds the RAM ($(stat -c %s "$f") bytes)"
done
for d in $(virsh -q list --name | grep '^crange\.cl\.'); do
    grep -q "$templates/[0-9a-f]*\.ram" "/proc/$(cat "/run/libvirt/qemu/$d.pid")/maps" ||
        fail "$d does not map its template's RAM file"
    virsh dumpxml --inactive "$d" | grep -q 'server=on,wait=on' && fail "$d's definition waits for a monitor"
    # A clone runs with the smaller translation cache; its definition keeps
    # the booting size for a later cold start (clone.h).
    tr '\0' ' ' < "/proc/$(cat "/run/libvirt/qemu/$d.pid")/cmdline" | grep -q 'tb-size=32[ ,]' ||
        fail "$d's QEMU does not run with a 32 MiB translation cache"
    virsh dumpxml --inactive "$d" | grep -q "<tb-cache unit='KiB'>65536</tb-cache>" ||
        fail "$d's definition does not keep the 64 MiB cache: $(virsh dumpxml --inactive "$d" | grep tb-cache)"
done
assert_eq 0 "$(ls "$templates/qmp" | wc -l)" "no monitor socket is left"
ok "clones map their template's RAM file; the save images hold no RAM; they run with a 32 MiB translation cache"

now=$(date +%s)
for t in 1 2 3; do
    # Reaches its own victim through its own router, with the team's token.
    tok=$(crange exec cl $t attacker -- wget -qO- http://10.20.0.20/token.txt) || fail "team $t: the victim is not reachable"
    own=$(crange exec cl $t victim -- cat /srv/www/token.txt)
    assert_eq "$own" "$tok" "team $t's attacker reads its own team's token"
    printf '%s\n' "$tok" >>"$WORK/tokens"
    crange --json submit cl $t token "$tok" | jq -e '.verdict == "correct"' >/dev/null ||
        fail "team $t: its per-team flag is not accepted on a clone"
    # The NICs carry the plan's MACs, unique within the team.
    macs=""
    for vm in attacker router victim; do
        macs="$macs $(crange exec cl $t $vm -- sh -c 'cat /sys/class/net/eth*/address')"
    done
    want=$(printf '%s\n' "$st" | jq -r --argjson t $t '[.vms[] | select(.team == $t) | .addresses[].mac] | sort | join(" ")')
    got=$(printf '%s\n' $macs | sort | tr '\n' ' ' | sed 's/ $//')
    assert_eq "$want" "$got" "team $t's guests use the plan's MACs"
    [ "$(printf '%s\n' $macs | sort | uniq -d)" = "" ] || fail "team $t has a MAC twice: $macs"
    # The clock is the host's, not the template's; the template's mark is gone.
    g=$(crange exec cl $t attacker -- date +%s)
    [ $((g - now)) -le 30 ] && [ $((now - g)) -le 30 ] || fail "team $t's clock is off by $((g - now)) s"
    crange exec cl $t router -- test ! -e /etc/crange/template || fail "team $t's router was not resealed"
    crange exec cl $t attacker -- head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >>"$WORK/random"
    echo >>"$WORK/random"
done
assert_eq 3 "$(sort -u "$WORK/tokens" | wc -l)" "every team has its own token"
assert_eq 3 "$(sort -u "$WORK/random" | wc -l)" "the clones' random streams differ"
ok "3 teams of clones: own addresses, MACs, clock, token and flag; random streams differ"

# The attacker's first step sets a per-team password, so its template has
# no step: the trainee account is made in each clone, after the restore.
for t in 1 2 3; do
    crange exec cl $t attacker -- grep -q '^trainee:' /etc/passwd || fail "team $t's attacker has no trainee account"
done
ok "each clone ran its own per-team steps after the restore"

# Revert: a deleted file comes back, by a restore from the template, and
# the VM's score follows: removing the token meets team 2's objective,
# reverting loses it at the next round.
score_of() { crange --json score cl | jq ".teams[] | select(.team == $1) | .score"; }
crange exec cl 2 victim -- rm /srv/www/token.txt
crange run cl --once >/dev/null
met=$(score_of 2)
[ "$met" -gt 10 ] || fail "removing the token did not score (team 2 has $met)"
out=$(crange --json revert cl 2 victim)
assert_eq true "$(printf '%s\n' "$out" | jq .cloned)" "revert restores the VM from its template"
assert_eq "$(sed -n 2p "$WORK/tokens")" "$(crange exec cl 2 victim -- cat /srv/www/token.txt)" \
    "the reverted VM has its team's token again"
crange run cl --once >/dev/null
[ "$(score_of 2)" -lt "$met" ] || fail "after the revert, team 2 still has $(score_of 2) points"
ok "the reverted VM's objective is lost again at the next round"

# A second range of the same scenario boots nothing. In a boot window of 2
# its clones are restored paused and let in 2 at a time, each holding its
# place until resealed and provisioned: some wait paused while others run.
(
    while :; do
        p=$(virsh -q list --state-paused --name | grep -c '^crange\.cl2\.' || true)
        r=$(virsh -q list --state-running --name | grep -c '^crange\.cl2\.' || true)
        echo "$p $r"
        sleep 0.2
    done
) >"$WORK/cl2.states" 2>/dev/null &
sampler=$!
out=$(crange --json up "$DEMO" --name cl2 --teams 2 --boot-window 2) || fail "up failed: $out"
kill $sampler
wait $sampler 2>/dev/null || true
assert_eq 0 "$(printf '%s\n' "$out" | jq .changes.templates)" "a second range makes no template"
assert_eq 6 "$(printf '%s\n' "$out" | jq .changes.cloned)" "and clones all its VMs"
awk '$1 > 0 && $2 > 0 { seen = 1 } END { exit !seen }' "$WORK/cl2.states" ||
    fail "no clone waited paused while another ran: $(sort -u "$WORK/cl2.states" | tr '\n' ',')"
ok "in a boot window of 2, clones wait paused for their turn"
for d in $(virsh -q list --name | grep '^crange\.cl2\.'); do
    assert_eq "running (unpaused)" "$(virsh domstate --reason "$d" | head -n 1)" "$d was restored paused, then let in"
done
for t in 1 2; do
    crange exec cl2 $t attacker -- test ! -e /etc/crange/template || fail "team $t of cl2 was not resealed"
    assert_eq "$(crange exec cl2 $t victim -- cat /srv/www/token.txt)" \
        "$(crange exec cl2 $t attacker -- wget -qO- http://10.20.0.20/token.txt)" \
        "team $t's clones, let in through the window, serve their team's token"
done
crange down cl2 --purge >/dev/null
assert_eq 3 "$(ls "$templates"/*.save | wc -l)" "down keeps the template cache"

# CRANGE_CLONE_MEMORY=copy: templates of their own, whose streams hold the RAM.
out=$(env CRANGE_CLONE_MEMORY=copy "$CRANGE_BIN" --json up "$DEMO" --name cl2 --teams 2) || fail "up failed: $out"
assert_eq 3 "$(printf '%s\n' "$out" | jq .changes.templates)" "copy clones have templates of their own"
assert_eq 6 "$(printf '%s\n' "$out" | jq .changes.cloned)" "and clone every VM"
assert_eq 3 "$(ls "$templates"/*.ram | wc -l)" "with no RAM file"
for d in $(virsh -q list --name | grep '^crange\.cl2\.'); do
    grep -q '\.ram$' "/proc/$(cat "/run/libvirt/qemu/$d.pid")/maps" && fail "$d maps a RAM file"
done
crange exec cl2 2 attacker -- wget -qO- http://10.20.0.20/token.txt >/dev/null || fail "a copy clone is broken"
crange down cl2 --purge >/dev/null
out=$(expect_fail env CRANGE_CLONE_MEMORY=bogus "$CRANGE_BIN" up "$DEMO" --name cl2 --teams 2)
assert_contains "$out" "CRANGE_CLONE_MEMORY must be shared or copy" "a bad CRANGE_CLONE_MEMORY is refused"
ok "CRANGE_CLONE_MEMORY=copy clones load their RAM from the stream"

# kill -9 while cloning, then up again: it converges.
"$CRANGE_BIN" up "$DEMO" --name cl3 --teams 3 >"$WORK/cl3.log" 2>&1 &
up=$!
i=0
until [ "$(virsh -q list --name | grep -c '^crange\.cl3\.')" -ge 1 ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $up
wait $up 2>/dev/null || true
crange up "$DEMO" --name cl3 --teams 3 >/dev/null || fail "up after a kill -9 during cloning failed"
st=$(crange --json status cl3)
assert_eq 9 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running" and .agent == true)] | length')" \
    "after a kill -9 while cloning, up converges"
for t in 1 2 3; do
    crange exec cl3 $t attacker -- test ! -e /etc/crange/template || fail "team $t of cl3 was not resealed"
    crange exec cl3 $t attacker -- wget -qO- http://10.20.0.20/token.txt >/dev/null || fail "team $t of cl3 is broken"
done
assert_eq 0 "$(virsh -q list --all --name | grep -c '^crange-template-')" "no template domain is left behind"
ok "a kill -9 during cloning converges"

# --clone never boots every VM.
crange down cl3 --purge >/dev/null
out=$(crange --json up "$DEMO" --name cl3 --teams 2 --clone never) || fail "up failed: $out"
assert_eq 0 "$(printf '%s\n' "$out" | jq .changes.cloned)" "--clone never boots every VM"
out=$(expect_fail crange up "$DEMO" --name cl3 --clone sometimes)
assert_contains "$out" "--clone must be auto, always or never" "a bad --clone value is refused"

# A booted VM's domain removed by hand, its disk kept: the next up (clones
# on) boots it on that disk rather than restoring a template's memory over it.
crange exec cl3 2 victim -- sh -c 'echo kept > /mnt/disk/kept && sync'
virsh -q destroy crange.cl3.t2.victim >/dev/null
virsh -q undefine crange.cl3.t2.victim >/dev/null
out=$(crange --json up "$DEMO" --name cl3 --teams 2) || fail "up failed: $out"
assert_eq 0 "$(printf '%s\n' "$out" | jq .changes.cloned)" "a VM whose disk is not on its template is not cloned"
assert_eq kept "$(crange exec cl3 2 victim -- cat /mnt/disk/kept)" "it boots on its own disk, which kept its file"

# image prune keeps what a range sits on, and removes the rest.
assert_eq 3 "$(crange --json image prune --dry-run | jq '.templates | length')" \
    "prune keeps the templates ranges cl and cl3 use, not the copy clones' (range cl2 is gone)"
for k in $(crange --json image prune --dry-run | jq -r '.templates[]'); do
    [ ! -e "$templates/$k.ram" ] || fail "prune would remove template $k, which ranges cl and cl3 use"
done
crange down cl --purge >/dev/null
crange down cl3 --purge >/dev/null
assert_eq 6 "$(crange --json image prune --dry-run | jq '.templates | length')" "with no range left, 6 are unused"
assert_eq 6 "$(ls "$templates"/*.save | wc -l)" "--dry-run removes nothing"
ls /var/log/libvirt/qemu/crange-template-*.console.log >/dev/null 2>&1 ||
    fail "no template console log to prune (the test would prove nothing)"
crange image prune >/dev/null
assert_eq 0 "$(ls "$templates" | grep -c '\.save$\|\.qcow2$\|\.ram$' || true)" "image prune removes the unused templates"
assert_eq 0 "$(ls /var/log/libvirt/qemu | grep -c '^crange-template-.*\.console\.log$' || true)" \
    "and the console logs of their boots"
