#!/bin/sh
# The exercise portal end to end: `crange serve` on the demo range (2
# teams), then the API tests (tests/portal/api.test.mjs: auth, CSRF, rate
# limit, team isolation, hostile requests) and the browser tests in headless
# Chromium (tests/portal/browser.test.mjs: a team logs in, uses its console,
# answers flags; the instructor follows live and watches; another team is
# refused). Screenshots of every page go to $CRANGE_ARTIFACTS.
. "$(dirname "$0")/lib.sh"
track_range po
command -v node >/dev/null || fail "node is not installed (tests/deps.sh installs it)"
[ -x /usr/bin/chromium ] || fail "chromium is not installed (tests/deps.sh installs it)"
[ -f "$CRANGE_SOURCE/tests/portal/node_modules/playwright-core/package.json" ] ||
    fail "playwright-core is not installed (tests/deps.sh runs npm ci in tests/portal)"

crange image build tiny >/dev/null
crange up "$DEMO" --name po --teams 2 >/dev/null

# Without an instructor password the portal does not start, and says how.
out=$(expect_fail crange serve po --listen 127.0.0.1:8080)
assert_contains "$out" "--set-admin-password" "serve without an admin password names the fix"
echo 'portal-test-password' | crange serve --set-admin-password >/dev/null
assert_eq 600 "$(stat -c %a "$CRANGE_STATE/portal/admin.argon2id")" "the admin hash is 0600"
grep -q '^\$argon2id\$' "$CRANGE_STATE/portal/admin.argon2id" || fail "the admin hash is not argon2id"
ok "the admin password is stored as an argon2id hash"

teams=$(crange --json teams po)
t1=$(printf '%s' "$teams" | jq -r '.teams[0].token')
t2=$(printf '%s' "$teams" | jq -r '.teams[1].token')
[ "$t1" != "$t2" ] || fail "teams share a token"
assert_eq 2 "$(crange teams po --csv | grep -c '^"po",')" "teams --csv lists both teams"

# The binary itself, not lib.sh's crange function: $! must be crange's PID,
# not that of a subshell that a signal would end while crange runs on.
"$CRANGE_BIN" -v serve po --listen 127.0.0.1:8080 --interval 3 >"$WORK/serve.log" 2>&1 &
serve=$!
trap 'rc=$?; set +e; kill "$serve" 2>/dev/null; wait "$serve" 2>/dev/null
      [ $rc -eq 0 ] || { echo "# the end of crange serve'"'"'s log:" >&2; grep -v "portal: " "$WORK/serve.log" | tail -n 60 | sed "s/^/#   /" >&2; }
      (exit $rc); cleanup' EXIT
i=0
until curl -sf http://127.0.0.1:8080/api/scoreboard >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { cat "$WORK/serve.log" >&2; fail "the portal did not start"; }
    kill -0 "$serve" 2>/dev/null || { cat "$WORK/serve.log" >&2; fail "crange serve exited"; }
    sleep 0.2
done
ok "the portal answers"
out=$(expect_fail crange serve po --listen 127.0.0.1:8081)
assert_contains "$out" "range po is already run by another crange run or serve (pid $serve)" \
    "a second engine on the same range is refused, naming the first"
# Without the action collector a second serve takes no lock; the port is still taken.
out=$(expect_fail crange serve po --no-actions --listen 127.0.0.1:8080)
assert_contains "$out" "cannot listen on 127.0.0.1:8080" "a second portal on the same port is refused with a clear error"

# What a revert must undo (the API tests revert team 2's victim).
crange exec po 2 victim -- touch /root/before-revert
out=$(expect_fail crange revert po 9 victim)
assert_contains "$out" "no vm 'victim' in team 9" "revert names a VM that does not exist"

export CRANGE_PORTAL_URL=http://127.0.0.1:8080 CRANGE_TEAM1_TOKEN=$t1 CRANGE_TEAM2_TOKEN=$t2
export CRANGE_ADMIN_PASSWORD=portal-test-password
export CRANGE_ARTIFACTS=${CRANGE_ARTIFACTS:-$WORK/artifacts}
cd "$CRANGE_SOURCE/tests/portal"
node --test --test-concurrency=1 browser.test.mjs || fail "browser tests"
# Node 20 has its WebSocket client behind a flag; later versions have it on.
ws=$(node -e 'process.stdout.write(typeof WebSocket === "undefined" ? "--experimental-websocket" : "")')
node $ws --test --test-concurrency=1 api.test.mjs || fail "API tests"
ls "$CRANGE_ARTIFACTS"/*.png >/dev/null || fail "no screenshots in $CRANGE_ARTIFACTS"
ok "screenshots in $CRANGE_ARTIFACTS"

# The reverted VM is a fresh copy, provisioned again.
out=$(expect_fail crange exec po 2 victim -- test -e /root/before-revert)
ok "the revert left no trace of the VM's earlier changes"
assert_eq "$(crange exec po 1 victim -- wc -c /srv/www/index.html | cut -d' ' -f1)" \
    "$(crange exec po 2 victim -- wc -c /srv/www/index.html | cut -d' ' -f1)" "the reverted VM is provisioned again"

# Console sessions are events and recordings; the recordings are private.
n=$(crange --json events po --kind console.attach | jq '[.[] | select(.data.via == "portal" and .data.recording)] | length')
[ "$n" -ge 3 ] || fail "expected at least 3 recorded portal console sessions, got $n"
ok "$n portal console sessions recorded"
rec=$(ls "$CRANGE_STATE/ranges/po/recordings/"*.cast | head -n 1)
assert_eq 600 "$(stat -c %a "$rec")" "a recording is 0600"
head -n 1 "$rec" | jq -e '.version == 2' >/dev/null || fail "a recording is not asciicast v2"
ok "recordings are asciicast v2"

# A clean stop: SIGTERM ends the engine and the portal, exit 0.
kill -TERM "$serve"
set +e
wait "$serve"
code=$?
set -e
[ "$code" = 0 ] || fail "crange serve exited $code on SIGTERM: $(tail -n 5 "$WORK/serve.log")"
ok "crange serve stops cleanly on SIGTERM"
