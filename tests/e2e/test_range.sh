#!/bin/sh
# End to end on real libvirtd + QEMU (TCG): up the demo for 2 teams; VMs of a
# team reach each other, teams cannot reach each other and the host cannot
# reach them; a second up changes nothing; down leaves nothing behind.
. "$(dirname "$0")/lib.sh"
track_range demo

crange image build tiny >/dev/null
out=$(crange --json up "$DEMO" --name demo --teams 2)
assert_eq 6 "$(printf "%s\n" "$out" | jq .vms)" "up creates 6 VMs"
assert_eq 6 "$(printf "%s\n" "$out" | jq .changes.started)" "up starts 6 VMs"
assert_eq 6 "$(printf "%s\n" "$out" | jq .changes.provisioned)" "up provisions 6 VMs"
assert_eq tcg "$(printf "%s\n" "$out" | jq -r .accel)" "the range runs under TCG"

st=$(crange --json status demo)
assert_eq 6 "$(printf "%s\n" "$st" | jq '[.vms[] | select(.state == "running" and .agent)] | length')" \
    "status: all 6 VMs running with their agent ready"
assert_eq '["10.10.0.10"]' "$(printf "%s\n" "$st" | jq -c '[.vms[] | select(.team == 1 and .vm == "attacker") | .addresses[].address]')" \
    "status shows the attacker's address"

# Each VM's serial console is logged on the host (what the crange-shell
# prompt printed, at least).
for t in 1 2; do
    for vm in attacker router victim; do
        [ -s "/var/log/libvirt/qemu/crange.demo.t$t.$vm.console.log" ] || fail "team $t $vm: no console log"
    done
done
ok "every VM's console is logged in /var/log/libvirt/qemu"

# Within a team: attacker -> router -> victim.
for t in 1 2; do
    crange exec demo $t attacker -- ping -c 2 -W 3 10.20.0.20 >/dev/null || fail "team $t attacker cannot ping its victim"
    ok "team $t: attacker reaches the victim through the router"
done
tok1=$(crange exec demo 1 attacker -- wget -qO- http://10.20.0.20/token.txt)
tok2=$(crange exec demo 2 attacker -- wget -qO- http://10.20.0.20/token.txt)
[ -n "$tok1" ] && [ "$tok1" != "$tok2" ] || fail "per-team tokens must differ ('$tok1' vs '$tok2')"
ok "each team's victim serves its own token"

# Across teams: give team 2's victim an extra address. Team 2 reaches it
# (positive control); team 1, on the same addresses but its own bridges,
# must not.
crange exec demo 2 victim -- ip addr add 10.20.0.99/24 dev eth0
crange exec demo 2 router -- ping -c 1 -W 3 10.20.0.99 >/dev/null || fail "positive control: team 2 router cannot reach 10.20.0.99"
ok "team 2 reaches its victim's extra address"
if crange exec demo 1 router -- ping -c 2 -W 2 10.20.0.99 >/dev/null 2>&1; then
    fail "team 1 router reached team 2's victim"
fi
if crange exec demo 1 attacker -- ping -c 2 -W 2 10.20.0.99 >/dev/null 2>&1; then
    fail "team 1 attacker reached team 2's victim"
fi
ok "team 1 cannot reach team 2"

# The host has no address on any range bridge, so it reaches no guest.
for br in $(crange --json plan "$DEMO" --name demo | jq -r '.teams[].networks[].bridge'); do
    [ -z "$(ip -4 -o addr show dev "$br")" ] || fail "bridge $br has a host address"
done
ok "range bridges carry no host address"
if ping -c 1 -W 1 10.10.0.10 >/dev/null 2>&1; then fail "the host reached a guest"; fi
ok "the host cannot reach the guests"

# Nor does a guest reach the host. The host gets an address of its own (on
# the loopback of this test's namespace) and a UDP listener on it; team
# 1's attacker, root in its VM as a trainee is, routes that address over its
# own link and asks for the host's MAC (ARP), then sends a datagram straight
# to the bridge's MAC. Before bridge.h, the host answered the ARP and took
# the datagram.
ip addr add 10.250.0.1/32 dev lo
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.250.0.1", 53))
s.settimeout(30)
try:
    data, peer = s.recvfrom(2048)
    open(sys.argv[1], "w").write(peer[0] + "\n")
except socket.timeout:
    pass
' "$WORK/udp-got" &
udp=$!
sleep 0.5
br=$(crange --json plan "$DEMO" --name demo | jq -r '.teams[] | select(.team == 1) | .networks[] | select(.name == "outside") | .bridge')
[ -n "$br" ] || br=$(crange --json plan "$DEMO" --name demo | jq -r '[.teams[] | select(.team == 1) | .networks[]][0].bridge')
brmac=$(cat "/sys/class/net/$br/address")
if crange exec demo 1 attacker -- sh -c 'ip route add 10.250.0.1/32 dev eth0 && arping -c 2 -w 3 -I eth0 10.250.0.1' >/dev/null 2>&1; then
    fail "the host answered a guest's ARP for its own address on range bridge $br"
fi
ok "the host answers no ARP on a range bridge"
crange exec demo 1 attacker -- sh -c "arp -i eth0 -s 10.250.0.1 $brmac && nslookup crange.test 10.250.0.1" >/dev/null 2>&1 || true
sleep 2
kill $udp 2>/dev/null || true
wait $udp 2>/dev/null || true
[ ! -s "$WORK/udp-got" ] || fail "a UDP datagram from a guest reached a service on the host ($(cat "$WORK/udp-got"))"
ok "a datagram sent to the bridge's MAC does not reach the host"
for b in $(crange --json plan "$DEMO" --name demo | jq -r '.teams[].networks[].bridge'); do
    [ -z "$(ip -6 -o addr show dev "$b")" ] || fail "bridge $b has an IPv6 address: $(ip -6 -o addr show dev "$b")"
done
ok "range bridges carry no IPv6 address (no link-local either)"
ip addr del 10.250.0.1/32 dev lo

# Isolated means no forwarding in libvirt either.
for n in $(virsh -q net-list --all --name | grep '^crange\.demo\.'); do
    virsh net-dumpxml "$n" | grep -q '<forward' && fail "network $n forwards"
done
ok "every range network is isolated (no <forward>)"

# Overlays, not copies: each disk is a small qcow2 on its instant-clone
# template's disk (test_clone), itself an overlay of the image.
n=0
for f in "$CRANGE_STATE"/overlays/demo/*.qcow2; do
    t=$(qemu-img info -U --output=json "$f" | jq -r '."backing-filename" // empty')
    case "$t" in "$CRANGE_STATE"/templates/*.qcow2) ;; *) fail "$(basename "$f") is not on a template: $t" ;; esac
    backing=$(qemu-img info -U --output=json "$t" | jq -r '."backing-filename" // empty')
    assert_eq "$CRANGE_STATE/images/tiny/disk.qcow2" "$backing" "$(basename "$f") is backed by the tiny image"
    [ "$(stat -c %s "$f")" -lt 10485760 ] || fail "$(basename "$f") is not a small overlay"
    n=$((n + 1))
done
assert_eq 6 "$n" "one overlay per VM"
[ "$(stat -c %a "$CRANGE_STATE/images/tiny/disk.qcow2")" = 444 ] || fail "the base image is writable"
ok "VM disks are qcow2 overlays on the base image"

out=$(crange --json up "$DEMO" --name demo)
assert_eq 0 "$(printf "%s\n" "$out" | jq '[.changes[]] | add')" "a second up changes nothing"

out=$(crange --json down demo)
assert_eq 6 "$(printf "%s\n" "$out" | jq .domains)" "down removes 6 VMs"
assert_eq 0 "$(count_domains demo)" "virsh list --all shows nothing of the range"
assert_eq 0 "$(count_networks demo)" "virsh net-list --all shows nothing of the range"
assert_eq 0 "$(count_pools demo)" "virsh pool-list --all shows nothing of the range"
[ ! -e "$CRANGE_STATE/overlays/demo" ] || [ -z "$(ls -A "$CRANGE_STATE/overlays/demo")" ] || fail "overlays left behind"
ok "the overlay folder holds nothing of the range"
[ ! -e "$CRANGE_STATE/ranges/demo" ] || fail "the range's state folder is left behind"
ls "$CRANGE_STATE"/archive/demo-*.db >/dev/null || fail "the range database was not archived"
ok "the range's database is archived"
