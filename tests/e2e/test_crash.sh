#!/bin/sh
# `up` is a reconcile: kill -9 it during VM creation and during provisioning,
# run it again, and the range is complete; a further up changes nothing.
# `down` finds everything by libvirt metadata even when the state database
# is gone.
. "$(dirname "$0")/lib.sh"
track_range crash

crange image build tiny >/dev/null

# Waits until the up log shows a phase has ended (or 120 s pass).
wait_log() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 6000 ]; do sleep 0.02; i=$((i + 1)); done
    grep -q "$2" "$1" || fail "up never reached '$2': $(cat "$1")"
}

# Kills the background up (pid $1); says where it was.
kill_up() {
    if kill -9 "$1" 2>/dev/null; then
        wait "$1" 2>/dev/null || true
        ok "killed up -9 $2, with $(count_domains crash) of 6 domains and $(count_networks crash) of 4 networks"
    else
        fail "up finished before it could be killed $2"
    fi
}

# 1. Kill during VM creation: right after the networks phase ended.
"$CRANGE_BIN" up "$DEMO" --name crash --teams 2 >"$WORK/up1.log" 2>&1 &
pid=$!
wait_log "$WORK/up1.log" '^networks:'
kill_up $pid "while creating VMs"

# 2. Kill while waiting for agents and provisioning: after the VM phase.
"$CRANGE_BIN" up --name crash >"$WORK/up2.log" 2>&1 &
pid=$!
wait_log "$WORK/up2.log" '^VMs:'
kill_up $pid "while provisioning"

out=$(crange --json up --name crash) || fail "up failed: $out"
assert_eq 6 "$(printf "%s\n" "$out" | jq .vms)" "up after the kills plans 6 VMs"
assert_eq 6 "$(count_domains crash)" "exactly 6 domains exist"
assert_eq 4 "$(count_networks crash)" "exactly 4 networks exist"
st=$(crange --json status crash)
assert_eq 6 "$(printf "%s\n" "$st" | jq '[.vms[] | select(.state == "running" and .agent)] | length')" \
    "all 6 VMs run with their agent ready"
for t in 1 2; do
    crange exec crash $t attacker -- wget -qO- http://10.20.0.20/index.html | grep -q intranet -i ||
        fail "team $t victim is not provisioned"
done
ok "every team's victim is provisioned"
crange exec crash 1 attacker -- grep -q '^trainee:' /etc/passwd || fail "team 1 attacker lacks its user"
ok "provisioning steps ran on every VM"

out=$(crange --json up --name crash) || fail "up failed: $out"
assert_eq 0 "$(printf "%s\n" "$out" | jq '[.changes[]] | add')" "a further up changes nothing"

# 3. Lose the state database, then down: metadata still finds everything.
rm -rf "$CRANGE_STATE/ranges/crash"
st=$(crange --json status crash)
assert_eq 6 "$(printf "%s\n" "$st" | jq '.vms | length')" "status finds 6 VMs by metadata without a database"
out=$(crange --json down crash)
assert_eq 6 "$(printf "%s\n" "$out" | jq .domains)" "down without a database removes 6 VMs"
assert_eq 0 "$(count_domains crash)" "no domain of the range is left"
assert_eq 0 "$(count_networks crash)" "no network of the range is left"
assert_eq 0 "$(count_pools crash)" "no storage pool of the range is left"
