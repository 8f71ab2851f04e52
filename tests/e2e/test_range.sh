#!/bin/sh
# End to end on real libvirtd + QEMU (TCG): up the demo for 2 teams; VMs of a
# team reach each other, teams cannot reach each other and the host cannot
# reach them; a second up changes nothing; down leaves nothing behind.
. "$(dirname "$0")/lib.sh"
track_range demo

crange image build tiny >/dev/null
out=$(crange --json up "$DEMO" --name demo --teams 2) || fail "up failed: $out"
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
# TCP: team 2's web server answers on the extra address to its own team only.
crange exec demo 2 router -- timeout 5 wget -qO- http://10.20.0.99/token.txt | grep -qx "$tok2" ||
    fail "positive control: team 2 router cannot fetch its victim's token over 10.20.0.99"
if crange exec demo 1 router -- timeout 5 wget -qO- http://10.20.0.99/token.txt >/dev/null 2>&1; then
    fail "team 1 router opened a TCP connection to team 2's victim"
fi
ok "team 1 cannot open a TCP connection to team 2"
# ARP: team 2's victim answers its own team's ARP for 10.20.0.99, not team 1's.
inside_dev='dev=$(ip -o route get 10.20.0.99 | sed -n "s/.* dev \([^ ]*\).*/\1/p"); '
crange exec demo 2 router -- sh -c "${inside_dev}arping -c 2 -w 3 -I \$dev 10.20.0.99" >/dev/null ||
    fail "positive control: team 2 router gets no ARP answer for 10.20.0.99"
if crange exec demo 1 router -- sh -c "${inside_dev}arping -c 2 -w 3 -I \$dev 10.20.0.99" >/dev/null 2>&1; then
    fail "team 1 router got an ARP answer from team 2's victim"
fi
ok "team 1 gets no ARP answer from team 2"
# Broadcast: team 2's victim answers broadcast pings; team 1's broadcast
# reaches none of team 2 (team 1's own victim keeps Linux's default of not
# answering them, so any answer would be team 2's).
crange exec demo 2 victim -- sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
crange exec demo 2 router -- ping -c 2 -W 3 10.20.0.255 2>/dev/null | grep -q 'from 10.20.0.' ||
    fail "positive control: team 2's victim does not answer team 2's broadcast ping"
if crange exec demo 1 router -- ping -c 2 -W 3 10.20.0.255 2>/dev/null | grep -q 'from 10.20.0.'; then
    fail "team 1's broadcast reached team 2's victim"
fi
ok "team 1's broadcasts do not reach team 2"

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
# IPv6 link-local: the attacker pings all nodes on its link; the router
# answers (positive control), the host, with no IPv6 on the bridge, does not.
ll() { crange exec demo 1 "$1" -- ip -6 -o addr show scope link | awk '{print $4}' | cut -d/ -f1; }
att_ll=$(ll attacker) router_ll=$(ll router)
answers=$(crange exec demo 1 attacker -- ping6 -c 2 -W 3 -I eth0 ff02::1 2>/dev/null |
    sed -n 's/.* from \([0-9a-f:]*[0-9a-f]\):* .*/\1/p' | sort -u)
router_answered=no
for a in $answers; do
    if printf '%s\n' "$router_ll" | grep -qxF "$a"; then router_answered=yes; continue; fi
    printf '%s\n' "$att_ll" | grep -qxF "$a" && continue
    fail "an IPv6 all-nodes ping from team 1's attacker was answered by $a, not a VM of its link (router: $router_ll)"
done
assert_eq yes "$router_answered" "positive control: the router answers the attacker's IPv6 all-nodes ping"
ok "over IPv6 link-local only the VMs of the link answer"

# The instructor's portal on a host address (as when it listens on all of
# them): a guest that routes that address over its link gets no TCP
# connection to the portal's port. The listener writes the peer of the
# first connection it accepts within 20 s.
tcp_listen() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.250.0.1", 8080))
s.listen(8)
s.settimeout(20)
try:
    c, peer = s.accept()
    open(sys.argv[1], "w").write(peer[0] + "\n")
except socket.timeout:
    pass
' "$1" &
    tcp=$!
    i=0
    until ss -Htln '( sport = :8080 )' | grep -q 10.250.0.1; do
        i=$((i + 1)); [ $i -lt 50 ] || fail "the test's listener on 10.250.0.1:8080 did not start"; sleep 0.1
    done
}
tcp_listen "$WORK/tcp-host"
curl -s -m 5 -o /dev/null http://10.250.0.1:8080/ || true
wait $tcp 2>/dev/null || true
[ -s "$WORK/tcp-host" ] || fail "positive control: the host's own connection to 10.250.0.1:8080 was not accepted"
# The accept alone would not show a SYN that got in: this namespace has no
# route back to the guest, so the handshake could not finish either way.
# TCP segments the host's stack received (InSegs of /proc/net/snmp) do:
# with the bridges' rp_filter off, the guest's SYNs count there (tried).
tcp_in() { awk '/^Tcp:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "InSegs") c = i; n = 1 } else print $c }' /proc/net/snmp; }
tcp_listen "$WORK/tcp-guest"
before=$(tcp_in)
if crange exec demo 1 attacker -- sh -c "arp -i eth0 -s 10.250.0.1 $brmac; timeout 5 wget -qO /dev/null http://10.250.0.1:8080/" >/dev/null 2>&1; then
    fail "a guest reached a service on the host's portal port"
fi
after=$(tcp_in)
kill $tcp 2>/dev/null || true
wait $tcp 2>/dev/null || true
[ ! -s "$WORK/tcp-guest" ] || fail "a TCP connection from a guest reached the host's portal port ($(cat "$WORK/tcp-guest"))"
assert_eq "$before" "$after" "no TCP segment from the guest reached the host's stack"
ok "a guest gets no TCP connection to the portal's port on the host"
ip addr del 10.250.0.1/32 dev lo

# libvirt's default network (virbr0, 192.168.122.1, its dnsmasq serving
# DNS) on the same host: a guest that routes that address over its own link
# gets neither an ARP nor a DNS answer from it.
virsh -q net-define /usr/share/libvirt/networks/default.xml >/dev/null
virsh -q net-start default >/dev/null
ss -Hlun 'src 192.168.122.1' | grep -q ':53 ' || fail "positive control: no dnsmasq of libvirt's default network on 192.168.122.1:53"
if crange exec demo 1 attacker -- sh -c 'ip route add 192.168.122.1/32 dev eth0 && arping -c 2 -w 3 -I eth0 192.168.122.1' >/dev/null 2>&1; then
    fail "the host answered a guest's ARP for libvirt's default network address"
fi
dns=$(crange exec demo 1 attacker -- sh -c "arp -i eth0 -s 192.168.122.1 $brmac && timeout 8 nslookup crange.test 192.168.122.1" 2>&1 || true)
case "$dns" in *"Server:"* | *"can't find"* | *NXDOMAIN*) fail "libvirt's default network's DNS answered a guest: $dns" ;; esac
virsh -q net-destroy default >/dev/null
virsh -q net-undefine default >/dev/null
ok "a guest reaches nothing of libvirt's default network"

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

out=$(crange --json up "$DEMO" --name demo) || fail "up failed: $out"
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
