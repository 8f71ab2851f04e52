#!/bin/sh
# End to end, the scoring engine on real QEMU: a fresh range scores 0; flags
# are per team, wrong answers are recorded and the attempt limit holds; the
# reference solution gives its team full marks and nothing to the other; a
# hint's cost counts; a command typed on a console becomes an event; a
# `hold` objective is lost when the fix is undone; `crange run` killed
# with -9 and restarted loses and duplicates no events; a VM whose QEMU is
# killed is brought back; libvirtd restarted during `run` is reconnected.
. "$(dirname "$0")/lib.sh"

# Stops the engine started in the background as $run. An engine that is
# already gone ended by itself, which it must never do: say how, with its log.
stop_run() {
    if ! kill "$run" 2>/dev/null; then
        st=0
        wait "$run" 2>/dev/null || st=$?
        fail "crange run ended by itself (status $st): $(grep -v debug "$1" | tail -n 8)"
    fi
    wait "$run" 2>/dev/null || true
}
track_range sc

crange image build tiny >/dev/null
crange up "$DEMO" --name sc --teams 2 >/dev/null

score_of() { crange --json score sc | jq ".teams[] | select(.team == $1) | .score"; }
count_events() { crange --json events sc --kind "$1" | jq "$2"; }

full=$(crange --json score sc | jq .full_marks)
assert_eq 0 "$(score_of 1)" "a fresh range scores 0 for team 1"
assert_eq 0 "$(score_of 2)" "a fresh range scores 0 for team 2"

# Per-team flags: team 2's token is not team 1's answer.
tok1=$(crange exec sc 1 attacker -- wget -qO- http://10.20.0.20/token.txt)
tok2=$(crange exec sc 2 attacker -- wget -qO- http://10.20.0.20/token.txt)
set +e
crange submit sc 1 token "$tok2" >/dev/null
code=$?
set -e
assert_eq 1 "$code" "team 2's token is rejected as team 1's answer"
assert_eq 1 "$(count_events flag.wrong '[.[] | select(.team == 1)] | length')" "the wrong answer is recorded"

# The reference solution: full marks for team 1, nothing for team 2.
crange solve sc 1 >/dev/null
assert_eq "$full" "$(score_of 1)" "solve gives team 1 full marks ($full)"
assert_eq 0 "$(score_of 2)" "team 2 still has 0"
# Run again, it answers no flag twice: nothing rejected in team 1's record.
crange solve sc 1 >/dev/null
assert_eq 0 "$(count_events flag.rejected '[.[] | select(.team == 1)] | length')" \
    "a second solve leaves no rejected answer against team 1"
assert_eq "$full" "$(score_of 1)" "and team 1 keeps full marks"
# Range-wide events (team 0) read as the range's, not as a team 0.
crange events sc --kind range.up. >"$WORK/range-events.txt"
grep -q ' range  *- *range\.up\.done' "$WORK/range-events.txt" || fail "events does not show range.up.done as the range's: $(cat "$WORK/range-events.txt")"
! grep -q 'team 0' "$WORK/range-events.txt" || fail "events shows a team 0"
ok "events shows range-wide events as the range's"

# The attempt limit: 5 wrong answers, then even the right one is refused.
for i in 1 2 3 4 5; do crange submit sc 2 token "wrong-$i" >/dev/null || true; done
out=$(crange --json submit sc 2 token "$tok2" || true)
assert_eq "no attempts left" "$(printf '%s\n' "$out" | jq -r .verdict)" "after 5 wrong answers the right one is refused"
assert_eq 0 "$(score_of 2)" "team 2's score is unchanged by wrong answers"
# Full-width digits and letters typed with a Japanese input method still match.
wide=$(printf '%s' "$tok1" | sed 's/0/０/g; s/1/１/g; s/a/ａ/g; s/b/ｂ/g')
crange --json submit sc 1 token "$wide" | jq -e '.verdict == "already solved"' >/dev/null
ok "a solved flag is not scored twice"

# A hint's cost comes off the score.
crange hint sc 2 remove_token >/dev/null
cost=$(count_events hint.taken '[.[] | select(.team == 2)][0].data.cost')
assert_eq "-$cost" "$(score_of 2)" "team 2's hint costs $cost points"

# The engine: commands typed on a console become events.
"$CRANGE_BIN" run sc --interval 2 >"$WORK/run1.log" 2>&1 &
run=$!
printf 'echo marker-one\n' | crange console sc 2 attacker --linger 2 >/dev/null
i=0
until [ "$(count_events action. '[.[] | select(.data.command == "echo marker-one")] | length')" = 1 ] || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
ev=$(crange --json events sc --kind action. | jq -c '[.[] | select(.data.command == "echo marker-one")][0]')
assert_eq '2 "attacker" "root" "/root"' "$(printf '%s\n' "$ev" | jq -r '"\(.team) \"\(.vm)\" \"\(.data.user)\" \"\(.data.cwd)\""')" \
    "a console command is an event with its team, VM, user and directory"
printf '%s\n' "$ev" | jq -e '.time | test("^20")' >/dev/null || fail "the action event has no time"
ok "the action event has its time"

# Each command's exit status follows it, naming its sequence number.
printf '(exit 3)\n' | crange console sc 2 attacker --linger 2 >/dev/null
status_of() { # command
    crange --json events sc --team 2 --kind action. | jq --arg c "$1" \
        '. as $all | ([.[] | select(.data.command == $c)][-1]) as $x | if $x == null then "none" else
         ([$all[] | select(.kind == "action.status" and .data.of == $x.data.seq and .data.spool == $x.data.spool)][0].data.status // "none") end'
}
i=0
until [ "$(status_of '(exit 3)')" != '"none"' ] || [ $i -ge 60 ]; do sleep 0.5; i=$((i + 1)); done
assert_eq 3 "$(status_of '(exit 3)')" "a console command's exit status is an event (tiny)"
assert_eq 0 "$(status_of 'echo marker-one')" "a command that succeeded has status 0"

# Hostile lines from the guest's root, written straight into the spool: a
# line over the host's 64 KiB, a NUL escape, bytes that are not UTF-8. Each
# once stopped the VM's action log for good; now the log goes on past them
# and what was dropped is an event. A newline in the working directory (it
# split tiny's line in two) is dropped by the helper.
hostile=$(cat <<'EOF'
s=/var/log/crange/actions.jsonl
id=$(cat /var/log/crange/spool-id)
n=$(($(wc -l < $s) + 1))
{ printf '{"seq":%d,"spool":"%s","command":"' $n "$id"; head -c 70000 /dev/zero | tr '\0' a; printf '"}\n'; } >> $s
printf '{"seq":%d,"spool":"%s","command":"a\\u0000b"}\n' $((n + 1)) "$id" >> $s
printf '{"seq":%d,"spool":"%s","command":"echo \377marker-bytes"}\n' $((n + 2)) "$id" >> $s
exec 6<>/run/crange-actiond.pause; printf '\n' >&6
EOF
)
crange exec sc 2 attacker -- sh -c "$hostile"
printf '%s\n' 'd=$(printf "/tmp/a\nb"); mkdir -p "$d"; cd "$d"' 'echo marker-after' |
    crange console sc 2 attacker --linger 2 >/dev/null
i=0
until [ "$(count_events action. '[.[] | select(.data.command == "echo marker-after")] | length')" = 1 ] || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
assert_eq '"/tmp/ab"' "$(crange --json events sc --kind action. | jq '[.[] | select(.data.command == "echo marker-after")][0].data.cwd')" \
    "a command typed after hostile lines is stored, its directory's newline dropped"
assert_eq 1 "$(count_events action. '[.[] | select(.data.command == "echo \ufffdmarker-bytes")] | length')" \
    "a line with bytes that are not UTF-8 is stored, the bytes replaced"
# Drops are recorded at most every 10 s a VM: the two may come apart.
dropped() { crange --json events sc --kind action.dropped | jq -c '[.[] | select(.team == 2 and .vm == "attacker") | .data] | add'; }
i=0
until [ "$(dropped | jq '.oversized != null and .malformed != null')" = true ] || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
drop=$(dropped)
assert_eq '1 1' "$(printf '%s\n' "$drop" | jq -r '"\(.oversized.lines) \(.malformed.lines)"')" \
    "the oversized and the malformed line are recorded as dropped ($drop)"

# Undo team 1's fix: the hold objective is lost at the next round.
crange exec sc 1 victim -- sh -c 'echo again > /srv/www/token.txt'
i=0
until [ "$(count_events objective.lost '[.[] | select(.team == 1 and .data.id == "remove_token")] | length')" = 1 ] || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
lost=$(crange --json events sc --kind objective.lost | jq '[.[] | select(.team == 1)][0].data.points')
assert_eq "$((full - lost))" "$(score_of 1)" "undoing the fix loses the hold objective's $lost points"

# The ISP notice inject fires 30 s into the exercise, once per team.
i=0
until [ "$(count_events inject.fired 'length')" = 2 ] || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
assert_eq 2 "$(count_events inject.fired 'length')" "the inject fires once for each team"
crange exec sc 2 victim -- cat /srv/www/notice.txt | grep -q ISP || fail "the inject did not run in team 2's victim"
ok "the inject ran its command in the victim"

# kill -9 the engine; type while it is down; restart: nothing lost, nothing twice.
kill -9 $run
wait $run 2>/dev/null || true
before=$(crange --json events sc | jq length)
printf 'echo marker-two\necho marker-three\n' | crange console sc 2 attacker --linger 2 >/dev/null
"$CRANGE_BIN" run sc --interval 2 >"$WORK/run2.log" 2>&1 &
run=$!
i=0
until [ "$(count_events action. '[.[] | select(.data.command == "echo marker-three")] | length')" -ge 1 ] || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
sleep 3
kill -9 $run
wait $run 2>/dev/null || true
"$CRANGE_BIN" run sc --interval 2 >"$WORK/run3.log" 2>&1 &
run=$!
sleep 6
stop_run "$WORK/run3.log"
for m in one two three; do
    assert_eq 1 "$(count_events action. "[.[] | select(.data.command == \"echo marker-$m\")] | length")" \
        "'echo marker-$m' is stored exactly once across engine kills"
done
assert_eq 2 "$(count_events inject.fired 'length')" "no inject fired twice across engine kills"
dups=$(crange --json events sc | jq '[.[] | select(.kind | test("^objective\\.(met|lost)$")) | "\(.team) \(.kind) \(.data.id)"] | group_by(.) | map(select(length > 1)) | length')
assert_eq 0 "$dups" "no objective transition is recorded twice"
after=$(crange --json events sc | jq length)
[ "$after" -ge "$before" ] || fail "events were lost ($before before, $after after)"
ok "no event was lost ($before before the kill, $after after)"

# A flood from the guest's root: 24 lines of 16 KB at once, against a budget
# of 128 KiB a VM (`run --action-budget`; 4 MiB by default). The lines past
# the budget are dropped and counted, the range database does not grow with
# them, and the other VMs are served all the while.
flood=$(cat <<'EOF'
s=/var/log/crange/actions.jsonl
[ -s /var/log/crange/spool-id ] || cat /proc/sys/kernel/random/uuid > /var/log/crange/spool-id
id=$(cat /var/log/crange/spool-id)
n=$(wc -l < $s)
i=1
while [ $i -le 24 ]; do
    printf '{"seq":%d,"spool":"%s","command":"flood-' $((n + i)) "$id"; head -c 16000 /dev/zero | tr '\0' b; printf '"}\n'
    i=$((i + 1))
done >> $s
exec 6<>/run/crange-actiond.pause; printf '\n' >&6
EOF
)
"$CRANGE_BIN" run sc --interval 2 --action-budget 128 >"$WORK/run4.log" 2>&1 &
run=$!
db_before=$(stat -c %s "$CRANGE_STATE/ranges/sc/range.db")
crange exec sc 2 victim -- sh -c "$flood"
printf 'echo marker-beside-flood\n' | crange console sc 1 attacker --linger 2 >/dev/null
flooded() { crange --json events sc --kind action.dropped | jq -c '[.[] | select(.team == 2 and .vm == "victim") | .data] | add'; }
i=0
until [ "$(flooded | jq '.budget.lines // 0')" -ge 15 ] || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
stop_run "$WORK/run4.log"
stored=$(count_events action.command '[.[] | select(.team == 2 and .vm == "victim" and (.data.command | startswith("flood-")))] | length')
[ "$stored" -ge 6 ] && [ "$stored" -le 8 ] || fail "128 KiB of 16 KB lines is about 8 lines, not $stored"
assert_eq "$((24 - stored))" "$(flooded | jq '.budget.lines')" "a flood is stored up to the VM's budget ($stored lines), the rest dropped and counted"
db_after=$(stat -c %s "$CRANGE_STATE/ranges/sc/range.db")
[ $((db_after - db_before)) -lt $((300 * 1024)) ] || fail "the range database grew by $((db_after - db_before)) bytes"
ok "the range database grew by $(( (db_after - db_before) / 1024 )) KiB for a 384 KB flood"
assert_eq 1 "$(count_events action.command '[.[] | select(.data.command == "echo marker-beside-flood")] | length')" \
    "another team's command is stored during the flood"

# Reports: JSON, CSV and a self-contained HTML page.
crange report sc --format html -o "$WORK/r.html" >/dev/null
crange report sc --format csv -o "$WORK/r.csv" >/dev/null
crange report sc --format json -o "$WORK/r.json" >/dev/null
grep -q '<svg' "$WORK/r.html" || fail "the HTML report has no plot"
if grep -Eq 'src="https?:|href="https?:' "$WORK/r.html"; then fail "the HTML report loads something from the network"; fi
ok "the HTML report is self-contained with an SVG plot"
assert_eq "$full" "$(jq .scoreboard.full_marks "$WORK/r.json")" "the JSON report has the scoreboard"
grep -q remove_token "$WORK/r.csv" || fail "the CSV report lacks the objectives"
ok "the CSV report lists the objectives"

# A channel that stays unreadable is reported, not silently unrecorded. A
# lock file naming the live libvirtd makes libvirt refuse the channel, as a
# stale lock file once did for a whole portal run.
sock=$(virsh dumpxml crange.sc.t1.attacker | grep -o "/[^'\"]*/org\.crange\.actions\.0" | head -n 1)
[ -n "$sock" ] || fail "team 1's attacker has no action channel socket"
lock="/run/lock/LCK..$(printf '%s' "$sock" | tr / _)"
printf '%10d\n' "$(cat /run/libvirt/crange-test/libvirtd.pid)" >"$lock"
"$CRANGE_BIN" run sc --interval 2 >"$WORK/run4.log" 2>&1 &
run=$!
i=0
until grep -q "commands typed on crange.sc.t1.attacker are not being recorded" "$WORK/run4.log" || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
grep -q "commands typed on crange.sc.t1.attacker are not being recorded: .*locked" "$WORK/run4.log" ||
    fail "a channel that cannot be opened is not reported: $(tail -n 3 "$WORK/run4.log")"
rm -f "$lock"
i=0
until grep -q "commands typed on crange.sc.t1.attacker are recorded again" "$WORK/run4.log" || [ $i -ge 20 ]; do
    sleep 0.5; i=$((i + 1))
done
stop_run "$WORK/run4.log"
grep -q "are recorded again" "$WORK/run4.log" || fail "the collector did not take the channel back once free"
ok "an action channel that cannot be opened for 10 s is reported, and taken back once free"

# A guest's QEMU killed during the exercise: the engine records it and
# brings the VM back at its starting point (reverted: restored from its
# template and given its team's values again).
"$CRANGE_BIN" run sc --interval 2 >"$WORK/run5.log" 2>&1 &
run=$!
qemu=$(ps -eo pid=,args= | awk '/[q]emu-system/ && /guest=crange\.sc\.t2\.victim,/ { print $1 }')
[ -n "$qemu" ] || fail "no QEMU process for team 2's victim"
crange exec sc 2 victim -- touch /root/before-the-kill
kill -9 "$qemu"
stopped() { crange --json events sc --team 2 --kind vm. | jq -c '[.[] | select(.vm == "victim" and .kind == "vm.stopped")][0] // empty'; }
reverted() { crange --json events sc --team 2 --kind vm.revert. | jq -r '[.[] | select(.vm == "victim")][0].kind // empty'; }
i=0
until [ -n "$(reverted)" ] || [ $i -ge 240 ]; do sleep 0.5; i=$((i + 1)); done
stop_run "$WORK/run5.log"
ev=$(stopped)
[ -n "$ev" ] || fail "no vm.stopped event for team 2's killed victim: $(tail -n 5 "$WORK/run5.log")"
printf '%s\n' "$ev" | jq -e '.data.revert == true and (.data.reason == "crashed" or .data.reason == "destroyed" or .data.reason == "failed")' >/dev/null ||
    fail "vm.stopped does not say why and that it is reverted: $ev"
ok "the engine records a killed VM as stopped ($(printf '%s\n' "$ev" | jq -r .data.reason))"
assert_eq vm.revert.done "$(reverted)" "the engine brings the killed VM back"
assert_eq running "$(crange --json status sc | jq -r '.vms[] | select(.team == 2 and .vm == "victim") | .state')" \
    "team 2's victim runs again"
assert_eq "$tok2" "$(crange exec sc 2 victim -- cat /srv/www/token.txt)" "it serves its team's token again"
if crange exec sc 2 victim -- test -e /root/before-the-kill 2>/dev/null; then fail "the VM was not reverted"; fi
ok "it is back at its starting point"

# libvirtd restarted while the engine runs: it connects again, goes on
# scoring and collecting, and stores a command typed before the restart
# once, and one typed after it.
"$CRANGE_BIN" -v run sc --interval 2 >"$WORK/run6.log" 2>&1 &
run=$!
printf 'echo marker-before-restart\n' | crange console sc 1 attacker --linger 2 >/dev/null
# A write to libvirtd's socket after it went away raises SIGPIPE, which
# ended the engine with status 141 in CI: it must be ignored.
ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$run/status")
[ $(((0x$ign >> 12) & 1)) = 1 ] || fail "crange run does not ignore SIGPIPE (SigIgn $ign)"
ok "crange run ignores SIGPIPE, so a write to a gone libvirtd cannot end it"
i=0
until [ "$(count_events action. '[.[] | select(.data.command == "echo marker-before-restart")] | length')" = 1 ] || [ $i -ge 60 ]; do
    sleep 0.5; i=$((i + 1))
done
pidf=/run/libvirt/crange-test/libvirtd.pid
old=$(cat "$pidf")
kill "$old"
i=0
while kill -0 "$old" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$old" 2>/dev/null && fail "libvirtd did not stop"
sleep 3 # a round or two without libvirtd
mark=$(wc -l <"$WORK/run6.log")
libvirtd -d -p "$pidf" ${CRANGE_TEST_LIBVIRTD_CONF:+-f "$CRANGE_TEST_LIBVIRTD_CONF"}
i=0
until virsh -q version >/dev/null 2>&1 || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
printf 'echo marker-after-restart\n' | crange console sc 1 attacker --linger 2 >/dev/null
i=0
until [ "$(count_events action. '[.[] | select(.data.command == "echo marker-after-restart")] | length')" = 1 ] || [ $i -ge 120 ]; do
    sleep 0.5; i=$((i + 1))
done
# Team 1 puts its fix back: the hold objective is met again, which only a
# check that reaches the VM can see.
met_again() { count_events objective.met '[.[] | select(.team == 1 and .data.id == "remove_token")] | length'; }
met=$(met_again)
crange exec sc 1 victim -- rm -f /srv/www/token.txt
i=0
until [ "$(met_again)" -gt "$met" ] || [ $i -ge 60 ]; do sleep 0.5; i=$((i + 1)); done
stop_run "$WORK/run6.log"
[ "$(met_again)" -gt "$met" ] ||
    fail "the engine saw no change after libvirtd came back: $(tail -n +"$((mark + 1))" "$WORK/run6.log" | grep -v debug | tail -n 5)"
ok "the engine checks the VMs again after libvirtd restarted"
assert_eq 1 "$(count_events action. '[.[] | select(.data.command == "echo marker-after-restart")] | length')" \
    "a command typed after libvirtd restarted is stored"
assert_eq 1 "$(count_events action. '[.[] | select(.data.command == "echo marker-before-restart")] | length')" \
    "a command typed before it is stored once"
