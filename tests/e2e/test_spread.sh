#!/bin/sh
# A team spread over two libvirt hosts (docs/HOSTS.md), simulated as in
# test_hosts.sh: this test's libvirtd is host "here", a second one in
# namespaces of its own is "lab2" (qemu+tcp://), both running crange's
# network hook (netns-run.sh installs orchestrator/hooks/network).
# tests/fixtures/scenarios/spread says spread = true: each team's VMs "a"
# and "b" land on different hosts, and the team's network is a bridge on
# each, joined by VXLAN (one id per team and network, MTU 1450).
#   - plan shows each VM's host and the shared VXLAN id;
#   - each team's VMs reach each other across the hosts, and only their own
#     team's VM answers (both teams use the same addresses: the MAC tells);
#   - status and exec find each VM on its own host;
#   - the hook seals the bridge on lab2: no ARP answer for lab2's address;
#   - down leaves no VXLAN device on either host.
# Then tests/fixtures/scenarios/bigteam, which does not ask to spread: on
# hosts declared with 2 GiB its one team (two VMs of 700 MiB) fits on
# neither, so placement spreads it; its VMs reach each other, and a later
# `up` with the hosts named in the other order moves and changes nothing.
. "$(dirname "$0")/lib.sh"
track_range sp
track_range big
SPREAD=$CRANGE_SOURCE/tests/fixtures/scenarios/spread
BIG=$CRANGE_SOURCE/tests/fixtures/scenarios/bigteam

crange image build tiny >/dev/null
start_remote_host 1
B=$REMOTE_URI
crange host add here qemu:///system --address 10.77.1.1 >/dev/null
crange host add lab2 "$B" --address 10.77.1.2 >/dev/null
in_lab2() { ip netns exec "$(remote_ns 1)" "$@"; }

plan=$(crange --json plan "$SPREAD" --name sp --hosts here,lab2)
host_of() { printf '%s\n' "$plan" | jq -r ".teams[] | select(.team == $1) | .vms[] | select(.name == \"$2\") | .host"; }
mac_of() { printf '%s\n' "$plan" | jq -r ".teams[] | select(.team == $1) | .vms[] | select(.name == \"$2\") | .nics[0].mac"; }
vni_of() { printf '%s\n' "$plan" | jq -r "[.teams[] | select(.team == $1) | .networks[].vxlan_id] | unique | .[]"; }
[ "$(host_of 1 a)" != "$(host_of 1 b)" ] || fail "team 1's VMs are on one host: $(host_of 1 a)"
[ "$(host_of 2 a)" != "$(host_of 2 b)" ] || fail "team 2's VMs are on one host"
[ "$(host_of 1 a)" != "$(host_of 2 a)" ] || fail "both teams start on the same host"
ok "plan spreads each team's VMs over both hosts, the teams starting on different ones"
v1=$(vni_of 1)
v2=$(vni_of 2)
[ "$(printf '%s\n' "$v1" | wc -l)" = 1 ] && [ -n "$v1" ] && [ "$v1" != null ] || fail "team 1's network has no single VXLAN id: $v1"
[ "$v1" != "$v2" ] || fail "both teams have VXLAN id $v1"
ok "each team's network has one VXLAN id on both hosts ($v1, $v2)"

up=$(crange --json up "$SPREAD" --name sp --hosts here,lab2) || fail "up failed: $up"
assert_eq 4 "$(printf '%s\n' "$up" | jq .changes.provisioned)" "4 VMs over 2 hosts are provisioned"

br=$(printf '%s\n' "$plan" | jq -r '.teams[] | select(.team == 1) | .networks[0].bridge')
dev=cv${br#cr}
ip -d link show "$dev" | grep -q "vxlan id $v1 " || fail "no VXLAN device $dev with id $v1 here"
ip link show "$dev" | grep -q "master $br" || fail "$dev is not on bridge $br"
ip link show "$br" | grep -q "mtu 1450" || fail "bridge $br's MTU is not 1450"
in_lab2 ip -d link show "$dev" | grep -q "vxlan id $v1 " || fail "no VXLAN device $dev on lab2"
ok "the hook made VXLAN $v1 on both hosts, on team 1's bridge, MTU 1450"

# lab2's hook seals the bridge there as crange seals its own host's: a guest
# on lab2 that routes lab2's address onto its LAN gets no ARP answer.
[ "$(in_lab2 cat "/proc/sys/net/ipv4/conf/$br/arp_ignore")" = 8 ] || fail "lab2's bridge $br answers ARP (arp_ignore)"
[ "$(in_lab2 cat "/proc/sys/net/ipv6/conf/$br/disable_ipv6")" = 1 ] || fail "lab2's bridge $br has IPv6"
there=a
[ "$(host_of 1 a)" = "$B" ] || there=b
if crange exec sp 1 $there -- sh -c 'ip route add 10.77.1.2/32 dev eth0 && arping -c 2 -w 3 -I eth0 10.77.1.2' >/dev/null 2>&1; then
    fail "lab2 answered the ARP of team 1's $there for its own address"
fi
ok "lab2 answers no ARP from team 1's $there on its bridge (the hook sealed it)"

for t in 1 2; do
    crange exec sp "$t" a -- ping -c 3 -W 3 10.1.0.11 >/dev/null ||
        fail "team $t: a ($(host_of "$t" a)) cannot reach b ($(host_of "$t" b))"
    arp=$(crange exec sp "$t" a -- cat /proc/net/arp)
    other=$((3 - t))
    assert_contains "$arp" "$(mac_of "$t" b)" "team $t: a reaches its own b across the hosts"
    case "$arp" in *"$(mac_of "$other" b)"*) fail "team $t's a sees team $other's b" ;; esac
    ok "team $t: team $other's b, at the same address, is not reached"
done

st=$(crange --json status sp)
assert_eq 4 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running" and .agent)] | length')" \
    "status finds every VM on its own host, agents answering"
for t in 1 2; do
    crange exec sp "$t" b -- true || fail "exec cannot reach team $t's b on $(host_of "$t" b)"
done
ok "exec reaches each VM on its own host"

crange down sp >/dev/null
[ -z "$(ip -d link show type vxlan)" ] || fail "a VXLAN device is left here: $(ip -d link show type vxlan)"
[ -z "$(in_lab2 ip -d link show type vxlan)" ] || fail "a VXLAN device is left on lab2"
ok "down leaves no VXLAN device on either host"

# A team no host holds whole: spread by placement, not by the scenario.
crange host remove here >/dev/null
crange host remove lab2 >/dev/null
crange host add here qemu:///system --address 10.77.1.1 --memory 2 >/dev/null
crange host add lab2 "$B" --address 10.77.1.2 --memory 2 >/dev/null
plan=$(crange --json plan "$BIG" --name big --hosts here,lab2)
[ "$(host_of 1 a)" != "$(host_of 1 b)" ] || fail "bigteam's VMs are on one host: $(host_of 1 a)"
vb=$(vni_of 1)
[ -n "$vb" ] && [ "$vb" != null ] || fail "bigteam's network has no VXLAN id"
[ "$(printf '%s\n' "$plan" | jq '.teams[0].spread')" = true ] || fail "plan does not mark the big team spread"
ok "plan spreads a team no host holds over both hosts, its network under VXLAN id $vb"
txt=$(crange plan "$BIG" --name big --hosts here,lab2)
assert_contains "$txt" "on $B, VXLAN $vb" "the text plan names each piece's host and the VXLAN id"
up=$(crange --json up "$BIG" --name big --hosts here,lab2) || fail "up failed: $up"
assert_eq 2 "$(printf '%s\n' "$up" | jq .changes.provisioned)" "both VMs of the big team are provisioned"
crange exec big 1 a -- ping -c 3 -W 3 10.1.0.11 >/dev/null || fail "big team: a cannot reach b across the hosts"
assert_contains "$(crange exec big 1 a -- cat /proc/net/arp)" "$(mac_of 1 b)" "the big team's a reaches its b across the hosts"
again=$(crange --json up "$BIG" --name big --hosts lab2,here) || fail "up failed: $again"
assert_eq 0 "$(printf '%s\n' "$again" | jq '.changes.defined + .changes.started + .changes.volumes + .changes.moved')" \
    "up with the hosts in the other order defines, starts and moves nothing"
st=$(crange --json status big)
for vm in a b; do
    assert_eq "$(host_of 1 $vm)" "$(printf '%s\n' "$st" | jq -r ".vms[] | select(.vm == \"$vm\") | .host")" \
        "vm $vm is still on its first host"
done
crange down big >/dev/null
[ -z "$(ip -d link show type vxlan)" ] || fail "a VXLAN device is left here after the big team"
[ -z "$(in_lab2 ip -d link show type vxlan)" ] || fail "a VXLAN device is left on lab2 after the big team"
ok "down of the big team leaves no VXLAN device"
