#!/bin/sh
# End to end on real QEMU: exec passes exit codes and output through, errors
# are one line naming the place, the console carries a typed command, doctor
# probes TCG and KVM with short boots, and a teams change reconciles.
. "$(dirname "$0")/lib.sh"
track_range cli

crange image build tiny >/dev/null
sums() { jq -r '[.files[].sha256] | join(" ")' "$CRANGE_STATE/images/tiny/image.json"; }
h1=$(sums)
assert_eq false "$(crange --json image build tiny | jq .rebuilt)" "an unchanged recipe is not rebuilt"
assert_eq true "$(crange --json image build tiny --force | jq .rebuilt)" "--force rebuilds"
assert_eq "$h1" "$(sums)" "the tiny image builds bit for bit the same twice"
crange image verify tiny >/dev/null
chmod u+w "$CRANGE_STATE/images/tiny/disk.qcow2"
printf 'x' | dd of="$CRANGE_STATE/images/tiny/disk.qcow2" bs=1 seek=100000 conv=notrunc 2>/dev/null
err=$(expect_fail crange image verify tiny)
assert_contains "$err" "disk.qcow2 does not match its checksum" "image verify catches a changed file"
crange image build tiny >/dev/null
crange image verify tiny >/dev/null
ok "image build repairs a damaged image"
# A host without libvirt's QEMU log folder (this test's namespace has its
# own): up makes it, since virtlogd cannot start a VM without it.
rm -rf /var/log/libvirt/qemu
crange up "$DEMO" --name cli --teams 1 >/dev/null
[ -s /var/log/libvirt/qemu/crange.cli.t1.victim.console.log ] || fail "no console log after up made the log folder"
ok "up makes the console log folder when the host has none"

set +e
crange exec cli 1 victim -- sh -c 'echo out; echo err >&2; exit 7' >"$WORK/o" 2>"$WORK/e"
code=$?
set -e
assert_eq 7 "$code" "exec exits with the guest command's code"
assert_eq out "$(cat "$WORK/o")" "exec prints the guest's stdout"
assert_eq err "$(cat "$WORK/e")" "exec prints the guest's stderr"

set +e
crange exec cli 1 nosuchvm -- true 2>"$WORK/e"
code=$?
set -e
assert_eq 125 "$code" "exec on an unknown VM exits 125"
assert_contains "$(cat "$WORK/e")" "has no vm 'nosuchvm' in team 1" "exec names the unknown VM"

out=$(crange --json exec cli 1 attacker -- cat /etc/motd)
assert_contains "$(printf "%s\n" "$out" | jq -r .stdout)" "crange" "exec --json carries stdout"

# The serial console: type a command, read its output.
out=$(printf 'echo console-$((6 * 7))\n' | crange console cli 1 attacker --linger 3)
assert_contains "$out" "console-42" "a command typed on the console runs and prints"

# A broken scenario: one line, naming scenario.lua and the line, exit 1.
mkdir -p "$WORK/bad"
cat > "$WORK/bad/scenario.lua" <<'LUA'
scenario { id = "bad", title = { ja = "x", en = "x" }, description = { ja = "x", en = "x" } }
network { name = "lan", cidr = "10.0.0.0/24" }
vm { name = "a", image = "tiny", nics = { { network = "lan", address = "10.9.0.5" } } }
LUA
err=$(expect_fail crange up "$WORK/bad" --name bad)
assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "a bad scenario gives one line"
assert_contains "$err" "scenario.lua:3:" "the error names scenario.lua and the line"
[ ! -e "$CRANGE_STATE/ranges/bad/range.db" ] || crange down bad --purge >/dev/null

# Growing the range to 2 teams adds team 2 only; shrinking removes it.
# (With a boot window of 1: team 2's guests boot one after the other; booted,
# not cloned, which test_clone covers.)
err=$(expect_fail crange up --name cli --teams 2 --boot-window 20000)
assert_contains "$err" "--boot-window must be between 0 and 10000" "a bad --boot-window is refused"
out=$(crange --json up --name cli --teams 2 --boot-window 1 --clone never) || fail "up failed: $out"
assert_eq 3 "$(printf "%s\n" "$out" | jq .changes.defined)" "growing to 2 teams defines 3 new VMs"
assert_eq 3 "$(crange --json status cli | jq '[.vms[] | select(.team == 2 and .state == "running" and .agent)] | length')" \
    "with --boot-window 1, every guest of team 2 is running and its agent answers"
out=$(crange --json up --name cli --teams 1) || fail "up failed: $out"
assert_eq 5 "$(printf "%s\n" "$out" | jq .changes.removed)" "shrinking to 1 team removes team 2's 3 VMs and 2 networks"
assert_eq 3 "$(count_domains cli)" "3 domains remain"

# A guest whose agent does not answer in time (here: --timeout 1, shorter
# than any boot; a clone's agent answers at once, so they boot) is named,
# with where its console is logged.
err=$(expect_fail crange up --name cli --teams 2 --timeout 1 --clone never)
assert_contains "$err" "the guest agent did not answer within 1 s" "up names a guest whose agent does not answer"
log=$(printf '%s\n' "$err" | sed -n 's/.*its console is logged in \([^ ]*\) on its host.*/\1/p' | head -n 1)
case "$log" in /var/log/libvirt/qemu/crange.cli.t2.*.console.log) ;; *) fail "no console log named in: $err" ;; esac
[ -f "$log" ] || fail "the console log $log does not exist"
ok "the error names the guest's console log ($log)"
crange up --name cli --teams 1 >/dev/null
assert_eq 3 "$(count_domains cli)" "shrinking again leaves 3 domains"

# doctor: TCG boots; KVM is probed with a short timed boot.
out=$(crange --json doctor || true)
assert_eq ok "$(printf "%s\n" "$out" | jq -r '.checks[] | select(.check == "tcg boot") | .result')" "doctor: a TCG probe boot works"
# doctor reads remember_owner from qemu.conf as libvirtd does (Debian's
# default leaves it on; docs/HOSTS.md advises 0).
qc=$(printf "%s\n" "$out" | jq -r '.checks[] | select(.check == "qemu.conf") | "\(.result) \(.detail)"')
if grep -Eq '^[[:space:]]*remember_owner[[:space:]]*=[[:space:]]*0' /etc/libvirt/qemu.conf; then
    want="ok /etc/libvirt/qemu.conf: remember_owner = 0"
else
    want="warn /etc/libvirt/qemu.conf: remember_owner is on;"
fi
case "$qc" in "$want"*) ok "doctor: qemu.conf check is '${want%%:*}'" ;; *) fail "doctor's qemu.conf check: '$qc'" ;; esac
kvm=$(printf "%s\n" "$out" | jq -r '.checks[] | select(.check == "kvm boot" or .check == "kvm") | .result' | head -n 1)
case "$kvm" in ok|warn) ok "doctor: KVM verdict is '$kvm'" ;; *) fail "doctor gave no KVM verdict: $out" ;; esac

# submit and hint use the scenario the range was brought up with: an edited
# folder is refused, as `run` refuses it.
track_range ed
cp -r "$DEMO" "$WORK/edited"
crange up "$WORK/edited" --name ed --teams 1 --paused >/dev/null
echo '-- edited after up' >> "$WORK/edited/scenario.lua"
out=$(expect_fail crange submit ed 1 token ANSWER)
assert_contains "$out" "changed since range 'ed' was brought up" "submit refuses an edited scenario"
out=$(expect_fail crange hint ed 1 banner)
assert_contains "$out" "changed since range 'ed' was brought up" "hint refuses an edited scenario"
assert_eq 0 "$(crange --json events ed --kind flag. | jq length)" "the refused answer is not an attempt"

# The snapshot in range.db is the record: once the folder is moved away or
# deleted, submit and hint still work, from the scenario the range was
# brought up with (the edit above, gone with the folder, never applied). The
# snapshot is restored in a private folder under TMPDIR and removed.
mkdir -m 0700 "$WORK/tmp"
mv "$WORK/edited" "$WORK/moved"
out=$(TMPDIR=$WORK/tmp crange --json hint ed 1 banner)
assert_eq 0 "$(printf '%s\n' "$out" | jq .index)" "hint works from the snapshot once the folder is moved away"
rm -rf "$WORK/moved"
tok=$(sqlite3 "$CRANGE_STATE/ranges/ed/range.db" "SELECT value FROM vars WHERE team = 1 AND name = 'token'")
out=$(TMPDIR=$WORK/tmp crange --json submit ed 1 token "$tok")
assert_eq correct "$(printf '%s\n' "$out" | jq -r .verdict)" "submit works from the snapshot once the folder is deleted"
assert_eq "" "$(ls -A "$WORK/tmp")" "no restored snapshot is left behind"
