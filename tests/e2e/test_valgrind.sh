#!/bin/sh
# crange under valgrind over one short range's life (1 team of the demo):
# up with its instant clones, status, exec, a scoring round, answers,
# events, reports, the portal (serve, driven by its API tests), revert and
# down. No invalid read or write, no use of
# uninitialised memory, no definite leak, and every libvirt connection
# closed with no reference still held (cr_virt_close warns otherwise).
. "$(dirname "$0")/lib.sh"
track_range vg
command -v valgrind >/dev/null || fail "valgrind is not installed (tests/deps.sh installs it)"

crange image build tiny >/dev/null
n=0
# vg_exit CODE ARGS...: crange ARGS under valgrind, which must exit with CODE
# (valgrind's own errors exit with 99).
vg_exit() {
    want=$1
    shift
    n=$((n + 1))
    rc=0
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --track-origins=yes --suppressions="$CRANGE_SOURCE/tests/e2e/valgrind.supp" --log-file="$WORK/vg.$n.%p.log" "$CRANGE_BIN" "$@" \
        >"$WORK/vg.$n.out" 2>"$WORK/vg.$n.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$WORK/vg.$n".*.log "$WORK/vg.$n.err" >&2
        fail "valgrind: crange $* exited with $rc, not $want"
    fi
    if grep -q "references still held" "$WORK/vg.$n.err"; then
        cat "$WORK/vg.$n.err" >&2
        fail "crange $*: a libvirt connection was closed with references held"
    fi
    ok "valgrind: crange $1 ${2:-}: clean"
}
vg() { vg_exit 0 "$@"; }
vg up "$DEMO" --name vg --teams 2
vg status vg
vg exec vg 1 attacker -- true
vg run vg --once
tok=$(crange exec vg 1 attacker -- wget -qO- http://10.20.0.20/token.txt)
vg submit vg 1 token "$tok"
vg_exit 1 submit vg 2 token wrong-answer
vg events vg
vg report vg --format json -o "$WORK/report.json"
vg score vg

# serve under valgrind, driven by the portal's API tests (logins, CSRF, rate
# limits, team isolation, hostile requests, consoles, revert, the event
# stream), then stopped with SIGTERM, which must end it with exit 0.
# civetweb runs 1,024 worker threads; valgrind's default cap is 500.
echo 'vg-portal-password' | crange serve --set-admin-password >/dev/null
teams=$(crange --json teams vg)
n=$((n + 1))
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-origins=yes --max-threads=1200 --suppressions="$CRANGE_SOURCE/tests/e2e/valgrind.supp" \
    --log-file="$WORK/vg.$n.%p.log" "$CRANGE_BIN" serve vg --listen 127.0.0.1:8090 --interval 3 \
    >"$WORK/vg.$n.out" 2>"$WORK/vg.$n.err" &
serve=$!
i=0
until curl -sf http://127.0.0.1:8090/api/scoreboard >/dev/null 2>&1; do
    i=$((i + 1))
    kill -0 $serve 2>/dev/null || { cat "$WORK/vg.$n".*.log "$WORK/vg.$n.err" >&2; fail "serve under valgrind exited"; }
    [ $i -lt 600 ] || { kill $serve; fail "serve under valgrind did not answer in 120 s"; }
    sleep 0.2
done
ws=$(node -e 'process.stdout.write(typeof WebSocket === "undefined" ? "--experimental-websocket" : "")')
(cd "$CRANGE_SOURCE/tests/portal" &&
    CRANGE_PORTAL_URL=http://127.0.0.1:8090 CRANGE_RANGE=vg CRANGE_ADMIN_PASSWORD=vg-portal-password \
    CRANGE_TEAM1_TOKEN=$(printf '%s' "$teams" | jq -r '.teams[0].token') \
    CRANGE_TEAM2_TOKEN=$(printf '%s' "$teams" | jq -r '.teams[1].token') \
    node $ws --test --test-concurrency=1 api.test.mjs >"$WORK/api.log" 2>&1) ||
    { kill $serve; tail -n 80 "$WORK/api.log" >&2; fail "the portal's API tests failed against serve under valgrind"; }
ok "valgrind: the portal's API tests pass against crange serve ($(sed -n 's/^# pass //p' "$WORK/api.log") passed)"
kill -TERM $serve
rc=0
wait $serve || rc=$?
[ $rc = 0 ] || { cat "$WORK/vg.$n".*.log "$WORK/vg.$n.err" >&2; fail "serve under valgrind exited $rc on SIGTERM"; }
! grep -q "references still held" "$WORK/vg.$n.err" || fail "serve closed a libvirt connection with references held"
ok "valgrind: crange serve, stopped by SIGTERM: clean"
vg revert vg 2 victim
vg down vg
logs=$(cat "$WORK"/vg.*.log)
[ -z "$logs" ] || { printf '%s\n' "$logs" >&2; fail "valgrind reported errors"; }
ok "valgrind found nothing in $n crange commands"
