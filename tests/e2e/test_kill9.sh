#!/bin/sh
# Kill -9 anywhere (issue 13): `up` booting, `up` cloning (making templates,
# and from cached ones), `down` and `run`, each killed with SIGKILL at
# $CRANGE_KILLS (20) random points, and `up` once more while its clones
# are restored. Afterwards `up` converges (every VM persistent, running,
# provisioned and resealed, a further up changes nothing, no template
# domain left), `down` leaves 0 domains, networks, pools and range
# files, and `run` has lost no command typed in a VM and recorded none
# twice. Last, the guest's step lock that keeps a killed up's step, still
# running in a guest, apart from the next up's.
#
# A point is drawn uniformly over the measured length of the command it
# kills; only a kill that found the command still running counts. The seed
# is printed; CRANGE_KILL_SEED=N replays a run.
. "$(dirname "$0")/lib.sh"
track_range k9

kills=${CRANGE_KILLS:-20}
seed=${CRANGE_KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# kill points from seed $seed (CRANGE_KILL_SEED=$seed replays them)"
draw=0
LOG=$WORK/k9.log

crange image build tiny >/dev/null

now_ms() { date +%s%3N; }
# Random point number $2 in [50, $1) ms.
point() {
    awk -v s="$seed" -v i="$2" -v max="$1" 'BEGIN { srand(s + i * 7919); r = rand(); printf "%d", 50 + r * (max - 50) }'
}
# Runs "$@" in the background and SIGKILLs it after $1 ms. Succeeds when
# the command was still running then, fails when it had already ended.
# crange is run as the binary itself: lib.sh's crange() function would put
# a subshell between, and the kill would end that and not crange.
kill_at() {
    ms=$1
    shift
    if [ "$1" = crange ]; then
        shift
        set -- "$CRANGE_BIN" "$@"
    fi
    echo "## $* (kill at $ms ms)" >>"$LOG"
    "$@" >>"$LOG" 2>&1 &
    p=$!
    sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    st=$(awk '{ print $3 }' "/proc/$p/stat" 2>/dev/null || echo gone)
    if [ "$st" != Z ] && [ "$st" != gone ] && kill -9 "$p" 2>/dev/null; then
        wait "$p" 2>/dev/null || true
        echo "## killed" >>"$LOG"
        return 0
    fi
    wait "$p" 2>/dev/null || true
    echo "## ended before the kill" >>"$LOG"
    return 1
}
# Milliseconds "$@" takes to the end; fails the test when it fails.
timed_ms() {
    t0=$(now_ms)
    "$@" >>"$LOG" 2>&1 || fail "$* failed: $(tail -n 5 "$LOG")"
    echo $(($(now_ms) - t0))
}

# The range is complete and right: 3 VMs running with their agents, the
# victim serving its page, every VM provisioned and resealed, no
# template domain, and a further up changes nothing. One team of the demo
# (3 VMs) keeps the 100 kills within about 10 minutes; cloning is forced
# (--clone always), since auto clones only what repeats across teams.
converged() { # what [up options]
    what=$1
    shift
    out=$(crange --json up "$DEMO" --name k9 --teams 1 "$@" 2>>"$LOG") ||
        fail "$what: up after the kills failed: $(printf '%s' "$out" | jq -r '.error // .' 2>/dev/null || printf '%s' "$out") $(tail -n 5 "$LOG")"
    assert_eq 3 "$(count_domains k9)" "$what: exactly 3 domains"
    assert_eq 3 "$(virsh -q list --persistent --name | grep -c '^crange\.k9\.' || true)" \
        "$what: all 3 domains are persistent"
    assert_eq 2 "$(count_networks k9)" "$what: exactly 2 networks"
    st=$(crange --json status k9)
    assert_eq 3 "$(printf '%s\n' "$st" | jq '[.vms[] | select(.state == "running" and .agent)] | length')" \
        "$what: all 3 VMs run with their agent"
    for t in 1; do
        crange exec k9 $t attacker -- wget -qO- http://10.20.0.20/token.txt >/dev/null ||
            fail "$what: team $t's victim does not serve its token"
        crange exec k9 $t attacker -- grep -q '^trainee:' /etc/passwd || fail "$what: team $t's attacker lacks its user"
        crange exec k9 $t attacker -- test ! -e /etc/crange/template || fail "$what: team $t's attacker was not resealed"
    done
    assert_eq 0 "$(virsh -q list --all --name | grep -c '^crange-template-' || true)" "$what: no template domain is left"
    out=$(crange --json up "$DEMO" --name k9 --teams 1 "$@") || fail "$what: a further up failed: $out"
    assert_eq 0 "$(printf '%s\n' "$out" | jq '[.changes[]] | add')" "$what: a further up changes nothing"
}

# Everything of the range is gone.
gone() { # what
    what=$1
    assert_eq "0 0 0" "$(count_domains k9) $(count_networks k9) $(count_pools k9)" \
        "$what: 0 domains, networks and pools left"
    left=$(ls "$CRANGE_STATE/ranges/k9" 2>/dev/null | grep -v '^archive' || true)
    assert_eq "" "$left" "$what: no file of the range is left but its archive"
}

# Kills "$@" at points in [50, $1) ms until $kills kills landed; runs
# $between (a shell command) after a command that ended before its kill,
# and $before ahead of every attempt.
kill_loop() { # max_ms what -- command...
    max=$1 what=$2
    shift 3
    n=0 tries=0
    while [ $n -lt "$kills" ]; do
        tries=$((tries + 1))
        [ $tries -le $((kills * 4)) ] || fail "$what: only $n of $kills kills landed in $tries tries"
        [ -z "${before:-}" ] || eval "$before" >>"$LOG" 2>&1 || fail "$what: '$before' failed: $(tail -n 3 "$LOG")"
        draw=$((draw + 1))
        if kill_at "$(point "$max" "$draw")" "$@"; then
            n=$((n + 1))
        elif [ -n "${between:-}" ]; then
            eval "$between" >>"$LOG" 2>&1 || fail "$what: '$between' failed: $(tail -n 3 "$LOG")"
        fi
    done
    ok "$what: killed -9 at $n random points ($tries tries)"
}

reset='crange down k9 --purge'
prune='crange down k9 --purge; crange image prune'

# 1. up, booting every VM.
t_boot=$(timed_ms crange up "$DEMO" --name k9 --teams 1 --clone never)
echo "# a whole up, booting: $t_boot ms"
crange down k9 --purge >>"$LOG" 2>&1
before='' between=$reset kill_loop "$t_boot" "up (booting)" -- crange up "$DEMO" --name k9 --teams 1 --clone never
converged "up (booting)" --clone never
crange down k9 --purge >>"$LOG" 2>&1

# 2. up, cloning: every other attempt makes the templates first.
t_cold=$(timed_ms crange up "$DEMO" --name k9 --teams 1 --clone always)
crange down k9 --purge >>"$LOG" 2>&1
t_warm=$(timed_ms crange up "$DEMO" --name k9 --teams 1 --clone always)
echo "# a whole up, cloning: $t_cold ms making the templates, $t_warm ms from them"
crange down k9 --purge >>"$LOG" 2>&1
before='' between=$reset kill_loop "$t_warm" "up (cloning from cached templates)" -- \
    crange up "$DEMO" --name k9 --teams 1 --clone always
converged "up (cloning from cached templates)" --clone always
# Killed while its clones are restored, on purpose: libvirt keeps a clone
# transient from its restore until up defines it, and the restore of a
# killed up fails inside libvirt a moment later (the stream's writer is
# gone), taking the domain with it. The next up must make them again, and
# not resume what is about to vanish.
crange down k9 --purge >>"$LOG" 2>&1
echo "## up, killed once its first clone is restored" >>"$LOG"
"$CRANGE_BIN" up "$DEMO" --name k9 --teams 1 --clone always >>"$LOG" 2>&1 &
p=$!
i=0
until virsh -q list --transient --name | grep -q '^crange\.k9\.'; do
    i=$((i + 1))
    [ $i -lt 1500 ] || fail "no clone of k9 was seen while it was restored"
    sleep 0.02
done
kill -9 $p
wait $p 2>/dev/null || true
half=$(virsh -q list --transient --name | grep -c '^crange\.k9\.' || true)
[ "$half" -gt 0 ] || fail "the kill left no clone half made; this part tests nothing"
converged "up (killed with $half clones half made)" --clone always
before=$prune between='' kill_loop "$t_cold" "up (making templates, then cloning)" -- \
    crange up "$DEMO" --name k9 --teams 1 --clone always
converged "up (making templates, then cloning)" --clone always
templates=$CRANGE_STATE/templates
assert_eq 3 "$(ls "$templates" | grep -c '\.save$')" "the cache holds the 3 templates"
assert_eq 3 "$(ls "$templates" | grep -c '\.qcow2$')" "and their 3 disks, nothing half made"

# 3. down, of a range with its VMs started paused (quick to make again).
crange down k9 --purge >>"$LOG" 2>&1
crange up "$DEMO" --name k9 --teams 1 --paused --clone never >>"$LOG" 2>&1
t_down=$(timed_ms crange down k9)
echo "# a whole down: $t_down ms"
before='[ "$(count_domains k9)" -gt 0 ] || crange up "$DEMO" --name k9 --teams 1 --paused --clone never' between='' \
    kill_loop "$((t_down + 200))" "down" -- crange down k9
crange down k9 >>"$LOG" 2>&1 || fail "down after the kills failed: $(tail -n 5 "$LOG")"
gone "down"

# 4. run, with a command typed between two kills; all of them must be
# stored once when the engine has caught up.
crange up "$DEMO" --name k9 --teams 1 >>"$LOG" 2>&1
count_events() { crange --json events k9 --kind "$1" | jq "$2"; }
typed=0
before='typed=$((typed + 1)); printf "echo k9-mark-%s\n" "$typed" | crange console k9 1 attacker --linger 1 >/dev/null' \
    between='' kill_loop 6000 "run" -- crange run k9 --interval 1
"$CRANGE_BIN" run k9 --interval 1 >"$WORK/run.log" 2>&1 &
run=$!
i=0
until [ "$(count_events action. '[.[] | select((.data.command // "") | test("^echo k9-mark-"))] | length')" -ge "$typed" ] ||
    [ $i -ge 120 ]; do
    sleep 0.5
    i=$((i + 1))
done
kill $run
wait $run 2>/dev/null || true
k=1
while [ $k -le "$typed" ]; do
    n=$(count_events action. "[.[] | select(.data.command == \"echo k9-mark-$k\")] | length")
    [ "$n" = 1 ] || fail "'echo k9-mark-$k' is stored $n times across $kills engine kills"
    k=$((k + 1))
done
ok "each of the $typed commands typed between engine kills is stored exactly once"
dups=$(crange --json events k9 | jq '[.[] | select(.kind | test("^(objective\\.(met|lost)|inject\\.fired)$")) | "\(.team) \(.kind) \(.data.id)"] | group_by(.) | map(select(length > 1)) | length')
assert_eq 0 "$dups" "no objective transition or inject is recorded twice"
assert_eq 1 "$(count_events inject.fired length)" "the inject fired once"

# 5. The guest's step lock (cr_agent_exec_step): a step that a killed up
# left running in a guest holds the next up's steps until it ends, and a
# lock whose holder is gone is taken over at once. The holder stands for
# the killed up's step: it ends 15 s later, long after an unlocked up would
# have written its marker; the attacker's provisioning (a user and a file,
# both safe to redo) is redone by removing its marker.
crange exec k9 1 attacker -- sh -c 'mkdir /run/crange-step.lock || exit 1
(sleep 15; date +%s > /run/k9-holder-done) </dev/null >/dev/null 2>&1 &
echo $! > /run/crange-step.lock/pid; rm -f /etc/crange/provisioned' || fail "could not take the step lock in the guest"
crange up "$DEMO" --name k9 --teams 1 >>"$LOG" 2>&1 || fail "up with a step lock held failed: $(tail -n 5 "$LOG")"
crange exec k9 1 attacker -- sh -c '[ -e /run/k9-holder-done ] &&
    [ "$(stat -c %Y /etc/crange/provisioned)" -ge "$(cat /run/k9-holder-done)" ]' ||
    fail "up provisioned the attacker while another step held the guest's step lock"
ok "up's steps waited for a step still running in the guest"
crange exec k9 1 attacker -- sh -c 'mkdir /run/crange-step.lock && sh -c "echo \$\$" > /run/crange-step.lock/pid &&
    rm -f /etc/crange/provisioned' || fail "could not leave a stale step lock in the guest"
crange up "$DEMO" --name k9 --teams 1 >>"$LOG" 2>&1 || fail "up with a stale step lock failed: $(tail -n 5 "$LOG")"
crange exec k9 1 attacker -- sh -c '[ -e /etc/crange/provisioned ] && [ ! -e /run/crange-step.lock ]' ||
    fail "a step lock whose holder is gone was not taken over"
ok "a step lock whose holder is gone is taken over"

crange down k9 --purge >>"$LOG" 2>&1
gone "the end"
