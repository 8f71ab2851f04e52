#!/bin/sh
# The debian-12 image and role layers, end to end: the image is built from
# Debian's archive; 2 teams x 2 Debian VMs come up, one of them from a role
# layer (an extra package, a file, a command) that is built once for both
# teams; the agents answer; addresses from the kernel command line work; per
# VM identity (SSH host keys, machine id) differs although the layer is
# shared; a command typed in bash by a non-root user on the console becomes
# an action event with its user and directory; a second up changes nothing;
# down leaves nothing, no builder domain included.
#
# The image recipe and the layer's package download need the network, so
# they run through host_net (netns-run.sh); the VMs stay in the private
# namespace, and the layer's builder VM has no NIC at all.
. "$(dirname "$0")/lib.sh"
track_range deb

scn=$CRANGE_SOURCE/tests/fixtures/scenarios/debian
t0=$(date +%s)
host_net "$CRANGE_BIN" image build debian-12 >/dev/null
ok "debian-12 built in $(( $(date +%s) - t0 )) s"
img=$CRANGE_STATE/images/debian-12
for f in vmlinuz initrd.img disk.qcow2 dpkg-status apt-sources; do
    [ -s "$img/$f" ] || fail "the image has no $f"
done
grep -q '^Package: qemu-guest-agent$' "$img/dpkg-status" || fail "dpkg-status does not list qemu-guest-agent"
crange image verify debian-12 >/dev/null
ok "the image has its kernel, initramfs, disk, package status and sources, all checksummed"

# A package the archive does not have fails at the role's line, before any
# VM or network exists.
track_range badpkg
mkdir -p "$WORK/badpkg"
cat > "$WORK/badpkg/scenario.lua" <<'EOF'
scenario{ id = "badpkg", title = { ja = "t", en = "t" }, description = { ja = "d", en = "d" } }
local r = role{ name = "r", image = "debian-12", packages = { "crange-no-such-package" } }
vm{ name = "a", role = r }
EOF
msg=$(expect_fail host_net "$CRANGE_BIN" up "$WORK/badpkg" --name badpkg)
assert_contains "$msg" "scenario.lua:2: role 'r': downloading the packages: apt-get exited with 100: E: Unable to locate package crange-no-such-package" \
    "an unknown package is an error at the role"
assert_eq 00 "$(count_domains badpkg)$(count_networks badpkg)" "the failed up created no VM or network"
[ -z "$(ls "$CRANGE_STATE/images/layers" | grep -v '^\.')" ] || fail "a failed build left a layer"
ls "$CRANGE_STATE"/images/layers/.failed-*.log >/dev/null || fail "the failed build left no log"
assert_contains "$msg" "(the build's log: $CRANGE_STATE/images/layers/.failed-" "the error names the failed build's log"
grep -q '^\[ *[0-9.]* s\] == updating the package lists' "$CRANGE_STATE"/images/layers/.failed-*.log ||
    fail "the failed build's log does not time its steps"
ok "a failed layer build leaves its log and no layer"

t0=$(date +%s)
# CRANGE_BUILDER_WAIT=1 gives the builder 1 s before it is booted again:
# the second boot, kept for a builder that never answers, is taken here.
out=$(host_net env CRANGE_BUILDER_WAIT=1 "$CRANGE_BIN" --json up "$scn" --name deb) || fail "up failed: $out"
ok "up took $(( $(date +%s) - t0 )) s"
assert_eq 1 "$(printf '%s\n' "$out" | jq .changes.layers)" "up builds the sniffer layer once for both teams"
assert_eq 4 "$(printf '%s\n' "$out" | jq .changes.provisioned)" "4 VMs are up and provisioned"
assert_eq 0 "$(virsh -q list --all --name | grep -c '^crange-layer' || true)" "no builder domain is left"

layers=$(crange --json image list | jq -c '[.[] | select(.kind == "layer")]')
assert_eq 1 "$(printf '%s\n' "$layers" | jq length)" "the store holds exactly one layer"
blog=$(ls "$CRANGE_STATE"/images/layers/*/build.log)
grep -q '\] == no answer: .*did not answer within 1 s' "$blog" || fail "the build log does not say the first builder was silent"
grep -q '\] == booting the builder again' "$blog" || fail "the builder was not booted again"
grep -q "\] == the end of the builder's console" "$blog" || fail "the build log lacks the silent builder's console"
ok "a builder that does not answer in time is booted again, its console kept in the build's log"
assert_eq "sniffer debian-12 current" "$(printf '%s\n' "$layers" | jq -r '.[0] | "\(.name) \(.image) \(.state)"')" \
    "the layer belongs to the sniffer role on the current debian-12"
printf '%s\n' "$layers" | jq -e '.[0].installed | any(startswith("tcpdump="))' >/dev/null ||
    fail "the layer's manifest does not list tcpdump"
ok "the layer's manifest lists the packages it installed"
key=$(printf '%s\n' "$layers" | jq -r '.[0].key')
layer=$CRANGE_STATE/images/layers/$key/layer.qcow2
assert_eq 444 "$(stat -c %a "$layer")" "the layer is read-only"
# Each overlay's backing chain: the VM's instant-clone template (its disk at
# the save), then the layer or the image.
chain() { # overlay volume: every file under it, one per line
    f=$(virsh vol-path --pool crange.deb "$1")
    while [ -n "$f" ] && [ "$f" != null ]; do
        f=$(qemu-img info -U --output=json "$f" | jq -r '.["full-backing-filename"] // .["backing-filename"] // empty')
        [ -z "$f" ] || echo "$f"
    done
}
for t in 1 2; do
    chain "t$t.sniffer.qcow2" | grep -qx "$layer" || fail "team $t's sniffer overlay is not on the layer: $(chain "t$t.sniffer.qcow2")"
    chain "t$t.sniffer.qcow2" | grep -q "^$CRANGE_STATE/templates/" || fail "team $t's sniffer is not a clone"
done
ok "both teams' sniffers are clones of one template on the layer"
chain t1.ws.qcow2 | grep -qx "$img/disk.qcow2" || fail "the ws is not on the image: $(chain t1.ws.qcow2)"
chain t1.ws.qcow2 | grep -qx "$layer" && fail "the ws, which has no role, is on the layer"
ok "a VM without a role is on the image"

status=$(crange --json status deb)
assert_eq 4 "$(printf '%s\n' "$status" | jq '[.vms[] | select(.agent)] | length')" "all 4 guest agents answer"

for t in 1 2; do
    assert_eq sniffer "$(crange exec deb $t sniffer -- hostname)" "team $t: the hostname comes from the command line"
    crange exec deb $t sniffer -- ip -4 -o addr show dev eth0 | grep -q ' 10\.40\.0\.20/24 ' ||
        fail "team $t: the sniffer has no 10.40.0.20/24"
    crange exec deb $t sniffer -- ip route | grep -q '^default via 10\.40\.0\.10 ' || fail "team $t: no default route"
    crange exec deb $t ws -- ping -c 2 -W 5 10.40.0.20 >/dev/null || fail "team $t: ws cannot reach the sniffer"
    ok "team $t: addresses and route from the command line; ws reaches the sniffer"

    crange exec deb $t sniffer -- dpkg-query -W -f '${Status}' tcpdump | grep -q 'install ok installed' ||
        fail "team $t: tcpdump is not installed in the sniffer"
    assert_eq "This VM was made from the sniffer role layer." "$(crange exec deb $t sniffer -- cat /etc/crange-role)" \
        "team $t: the role's file is in place"
    assert_eq 640 "$(crange exec deb $t sniffer -- stat -c %a /etc/crange-role)" "team $t: with the role's mode"
    crange exec deb $t sniffer -- grep -q '^tcpdump version' /etc/crange-role-tcpdump ||
        fail "team $t: the role's command did not run"
    ok "team $t: the role's command ran after its packages"
    assert_eq "team $t" "$(crange exec deb $t sniffer -- cat /etc/crange-team)" "team $t: per-team provisioning on top"
    if crange exec deb $t ws -- sh -c 'command -v tcpdump' >/dev/null 2>&1; then
        fail "team $t: the ws, which has no role, has tcpdump"
    fi
done
ok "only the role's VMs have the role's package"

fp() { crange exec deb "$1" sniffer -- ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2; }
fp1=$(fp 1)
fp2=$(fp 2)
[ -n "$fp1" ] && [ "$fp1" != "$fp2" ] || fail "the sniffers share an SSH host key ($fp1, $fp2)"
ok "SSH host keys are made per VM, not baked into the layer"
# The reseal of a clone makes the key types the image makes (Ed25519 and
# ECDSA), not every type: an RSA key costs ~20 CPU-s under TCG.
for t in 1 2; do
    assert_eq "/etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key" \
        "$(crange exec deb $t sniffer -- sh -c 'echo /etc/ssh/ssh_host_*_key')" "team $t: the sniffer's SSH host key types"
    assert_eq active "$(crange exec deb $t sniffer -- systemctl is-active ssh)" "team $t: sshd runs with its new keys"
done
id1=$(crange exec deb 1 sniffer -- cat /etc/machine-id)
id2=$(crange exec deb 2 sniffer -- cat /etc/machine-id)
[ -n "$id1" ] && [ "$id1" != "$id2" ] || fail "the sniffers share a machine id ($id1)"
ok "machine ids differ"
crange exec deb 1 ws -- systemctl is-active qemu-guest-agent crange-init >/dev/null || fail "a crange unit is not active"
assert_eq "" "$(crange exec deb 1 ws -- systemctl list-units --failed --plain --no-legend)" "no unit failed at boot"

# A non-root user's bash on the console: the command is an action event with
# that user and directory. The console is root's (autologin); su makes a
# login shell for trainee, whose bash loads the hook like every user's.
"$CRANGE_BIN" run deb --interval 2 >"$WORK/run.log" 2>&1 &
run=$!
printf 'su - trainee\ncd /tmp\necho marker-deb-user\nsh -c "exit 3"\nexit\n' | crange console deb 1 ws --linger 3 >"$WORK/console.log"
i=0
until [ "$(crange --json events deb --kind action. | jq '[.[] | select(.data.command == "echo marker-deb-user")] | length')" -ge 1 ] ||
      [ $i -ge 90 ]; do
    sleep 1; i=$((i + 1))
done
ev=$(crange --json events deb --kind action. | jq -c '[.[] | select(.data.command == "echo marker-deb-user")][0]')
assert_eq '1 "ws" "trainee" "/tmp"' "$(printf '%s\n' "$ev" | jq -r '"\(.team) \"\(.vm)\" \"\(.data.user)\" \"\(.data.cwd)\""')" \
    "a command typed by trainee in bash is an event with its team, VM, user and directory"
root_ev=$(crange --json events deb --kind action. | jq -r '[.[] | select(.data.command == "su - trainee")][0].data.user')
assert_eq root "$root_ev" "the su typed in root's shell is root's"
# Each command's exit status follows it, naming its sequence number.
status_of() { # command
    crange --json events deb --team 1 --kind action. | jq --arg c "$1" \
        '. as $all | ([.[] | select(.data.command == $c)][-1]) as $x | if $x == null then "none" else
         ([$all[] | select(.kind == "action.status" and .data.of == $x.data.seq and .data.spool == $x.data.spool)][0].data.status // "none") end'
}
i=0
until [ "$(status_of 'sh -c "exit 3"')" != '"none"' ] || [ $i -ge 60 ]; do sleep 1; i=$((i + 1)); done
assert_eq 3 "$(status_of 'sh -c "exit 3"')" "a command's exit status is an event (debian-12 bash)"
assert_eq 0 "$(status_of 'echo marker-deb-user')" "a command that succeeded has status 0"
kill $run
wait $run 2>/dev/null || true

# Concurrent shells of two users, and a command that is not UTF-8: every
# line is valid JSON, sequence numbers are distinct and complete, and each
# line carries the user the kernel says ran it.
before=$(crange exec deb 2 ws -- wc -l /var/log/crange/actions.jsonl | cut -d' ' -f1)
crange exec deb 2 ws -- sh -c '
    h=/usr/libexec/crange/crange-action
    for i in $(seq 40); do $h /root "root-$i" & done
    su trainee -s /bin/sh -c "for i in \$(seq 40); do $h /home/trainee trainee-\$i & done; wait" &
    $h /root "$(printf "bad\377byte")"
    wait'
spool=$(crange exec deb 2 ws -- cat /var/log/crange/actions.jsonl)
assert_eq $((before + 81)) "$(printf '%s\n' "$spool" | jq -s 'length')" "81 concurrent lines are all valid JSON"
assert_eq "$(seq $((before + 81)) | tr '\n' ' ')" "$(printf '%s\n' "$spool" | jq -s -r '[.[].seq] | sort | map(tostring) | join(" ")') " \
    "their sequence numbers are distinct and complete"
assert_eq 40 "$(printf '%s\n' "$spool" | jq -s '[.[] | select(.user == "trainee" and ((.command // "") | startswith("trainee-")))] | length')" \
    "trainee's lines name trainee"
assert_eq 41 "$(printf '%s\n' "$spool" | jq -s '[.[] | select(.user == "root" and ((.command // "") | test("^(root-|bad)")))] | length')" \
    "root's lines name root"
assert_eq "bad�byte" "$(printf '%s\n' "$spool" | jq -s -r '[.[] | select((.command // "") | startswith("bad"))][0].command')" \
    "a byte that is not UTF-8 becomes U+FFFD"

# The spool is not readable or writable by users, only through the helper.
crange exec deb 1 ws -- su - trainee -c 'echo forged >> /var/log/crange/actions.jsonl' 2>/dev/null &&
    fail "trainee can write the spool directly"
crange exec deb 1 ws -- su - trainee -c 'cat /var/log/crange/actions.jsonl' >/dev/null 2>&1 &&
    fail "trainee can read the spool"
ok "users cannot read or write the spool directly"

out=$(host_net "$CRANGE_BIN" --json up --name deb) || fail "up failed: $out"
assert_eq 0 "$(printf '%s\n' "$out" | jq '[.changes[]] | add')" "a second up changes nothing and builds no layer"

crange down deb >/dev/null
assert_eq 0 "$(count_domains deb)" "down removes every VM"
assert_eq 0 "$(count_networks deb)" "down removes every network"
assert_eq 0 "$(count_pools deb)" "down removes the pool"
assert_eq 0 "$(virsh -q list --all --name | grep -c '^crange-layer' || true)" "no builder domain exists"
[ -s "$layer" ] || fail "down removed the layer"
ok "the layer stays in the image store for the next range"
