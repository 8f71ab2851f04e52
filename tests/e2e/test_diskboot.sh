#!/bin/sh
# Ordinary disk boot: guests booted by the BIOS from their (overlay) disk,
# addressed through the guest agent, reach each other and a direct-boot guest.
. "$(dirname "$0")/lib.sh"
track_range disk

scn=$CRANGE_SOURCE/tests/fixtures/scenarios/diskboot
out=$(crange --json up "$scn" --name disk) || fail "up failed: $out"
assert_eq 3 "$(printf '%s\n' "$out" | jq .changes.provisioned)" "3 VMs are up and addressed"
virsh dumpxml crange.disk.t1.disk1 | grep -q "<boot dev='hd'/>" || fail "disk1 does not boot from its disk"
virsh dumpxml crange.disk.t1.disk1 | grep -q '<kernel>' && fail "disk1 is booted directly"
ok "disk1 boots from its disk"
assert_eq disk1 "$(crange exec disk 1 disk1 -- hostname)" "the agent set the disk-booted guest's hostname"
crange exec disk 1 disk1 -- ip -4 -o addr show | grep -q '192.168.50.11/24' || fail "disk1 has no address"
ok "the agent set the disk-booted guest's address"
crange exec disk 1 disk1 -- ping -c 2 -W 3 192.168.50.12 >/dev/null || fail "disk1 cannot reach disk2"
crange exec disk 1 kernel -- ping -c 2 -W 3 192.168.50.11 >/dev/null || fail "the direct-boot guest cannot reach disk1"
ok "disk-booted and direct-boot guests reach each other"
out=$(crange --json up --name disk) || fail "up failed: $out"
assert_eq 0 "$(printf '%s\n' "$out" | jq '[.changes[]] | add')" "a second up changes nothing"
