#!/bin/sh
# Disk images and role layers reach a remote host (docs/HOSTS.md), as in
# test_hosts.sh: "here" is this test's libvirtd, "lab2" a second one in
# namespaces of its own that sees none of this test's files, reached over
# qemu+tcp://. The debian fixture (a debian-12 VM and one from the "sniffer"
# role layer, per team) comes up with one team on each host: lab2 gets the
# debian-12 disk, kernel and initrd and the layer, rebased onto its copy of the disk, through
# libvirt's storage API; its VMs boot from them and the role's package,
# file and command are there. A second up sends nothing.
. "$(dirname "$0")/lib.sh"
track_range dl
track_range dlpre

host_net "$CRANGE_BIN" image build debian-12 >/dev/null
start_remote_host 1
B=$REMOTE_URI
crange host add here qemu:///system >/dev/null
crange host add lab2 "$B" >/dev/null
vb() { virsh -q -c "$B" "$@"; }

# The layer's packages are downloaded from the host's network (host_net), as
# in test_debian.sh; lab2 is reached from this namespace only. So the layer
# is built first by a paused one-team range here (nothing boots), then the
# range over both hosts is made from this namespace with the layer cached.
host_net "$CRANGE_BIN" up "$CRANGE_SOURCE/tests/fixtures/scenarios/debian" --name dlpre --teams 1 --paused >/dev/null
crange down dlpre --purge >/dev/null
up=$(crange --json up "$CRANGE_SOURCE/tests/fixtures/scenarios/debian" --name dl --teams 2 --hosts here,lab2) || fail "up failed: $up"
assert_eq 4 "$(printf '%s\n' "$up" | jq .changes.provisioned)" "4 Debian VMs over 2 hosts are provisioned"
assert_eq 4 "$(printf '%s\n' "$up" | jq .changes.shipped)" \
    "debian-12's disk, kernel and initrd and the sniffer layer were sent to lab2"
t=$(crange --json status dl | jq -r '[.vms[] | select(.host == "'"$B"'")][0].team')
vols=$(vb vol-list crange-images)
assert_contains "$vols" "debian-12-" "lab2's image pool has the debian-12 disk"
assert_contains "$vols" "layer-" "and the sniffer layer"
layer=$(printf '%s\n' "$vols" | awk '$1 ~ /^layer-.*qcow2$/ { print $2 }')
disk=$(printf '%s\n' "$vols" | awk '$1 ~ /^debian-12-.*qcow2$/ { print $2 }')
assert_contains "$(vb vol-dumpxml --pool crange-images "$(basename "$layer")")" "<path>$disk</path>" \
    "the layer on lab2 sits on lab2's copy of the disk"
out=$(crange exec dl "$t" sniffer -- cat /etc/crange-role /etc/crange-role-tcpdump)
assert_contains "$out" "tcpdump version" "team $t's sniffer on lab2 runs the role's package and command"
assert_eq 0 "$(crange --json up --name dl | jq .changes.shipped)" "a second up sends nothing"
