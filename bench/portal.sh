#!/bin/sh
# The portal's figures (issue: exercise portal): `crange serve` on a class
# of 30 teams (bench/scenarios/class: one tiny VM a team), loaded by
# bench/portal_load.mjs on the loopback: each team polls its page's data,
# keeps an event stream and a console open, for 60 s; then the keystroke
# round trip through the browser console's WebSocket against `crange
# console` on the same VM, and the server's memory. Runs inside
# tests/e2e/netns-run.sh; prints Markdown.
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}"
teams=${BENCH_PORTAL_TEAMS:-30}
seconds=${BENCH_PORTAL_SECONDS:-60}
work=$(mktemp -d /tmp/crange-bench.XXXXXX)
chmod 0755 "$work"
export CRANGE_STATE=$work/state CRANGE_ACCEL=tcg
b=$CRANGE_BIN
serve=
trap '[ -z "$serve" ] || kill "$serve" 2>/dev/null; wait 2>/dev/null; $b down class --purge >/dev/null 2>&1; rm -rf "$work"' EXIT
load=$(uptime | sed 's/.*load average: //')
$b image build tiny >/dev/null 2>&1
$b up "$CRANGE_SOURCE/bench/scenarios/class" --name class --teams "$teams" >/dev/null 2>&1
echo 'bench-portal-password' | $b serve --set-admin-password >/dev/null
tokens=$($b --json teams class | jq -r '[.teams[].token] | join(",")')
"$b" serve class --listen 127.0.0.1:8080 >"$work/serve.log" 2>&1 &
serve=$!
until curl -sf http://127.0.0.1:8080/api/scoreboard >/dev/null 2>&1; do sleep 0.2; done
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$serve/status")
ws=
node -e 'process.exit(typeof WebSocket === "undefined" ? 1 : 0)' || ws=--experimental-websocket
out=$(PORTAL=http://127.0.0.1:8080 TOKENS=$tokens SECONDS=$seconds POLL_MS=2000 ROUNDS=30 VM=ws RANGE=class \
      node $ws "$CRANGE_SOURCE/bench/portal_load.mjs" 2>/dev/null)
rss1=$(awk '/VmHWM/ {print $2}' "/proc/$serve/status")
j() { printf '%s' "$out" | jq -r "$1"; }

echo "### The portal under a class ($teams teams, $seconds s)"
echo
echo "Measured $(date -u +%Y-%m-%dT%H:%MZ); load average before the range came up: \`$load\`."
echo
echo "Each team: one server-sent-event stream, one console WebSocket on its VM, and the page's polls"
echo "(team view and scoreboard) every 2 s, all on the loopback; the engine scores every 15 s meanwhile."
echo
echo "| requests | errors | requests/s | latency p50 ms | p95 ms | max ms | consoles open at the end | server RSS before / peak MiB |"
echo "|---|---|---|---|---|---|---|---|"
printf '| %s | %s | %.1f | %.1f | %.1f | %.1f | %s of %s | %.0f / %.0f |\n' "$(j .requests)" "$(j .errors)" "$(j .rps)" \
    "$(j .latency_ms.p50)" "$(j .latency_ms.p95)" "$(j .latency_ms.max)" "$(j .consoles_open)" "$teams" \
    "$(awk "BEGIN {print $rss0 / 1024}")" "$(awk "BEGIN {print $rss1 / 1024}")"
echo
echo "### Console keystroke round trip (one character typed, its echo seen; $(j .rtt_ms.n) times)"
echo
echo "| path | p50 ms | p95 ms | max ms |"
echo "|---|---|---|---|"
printf '| browser console: WebSocket → crange serve → libvirt stream → serial → back | %.1f | %.1f | %.1f |\n' \
    "$(j .rtt_ms.p50)" "$(j .rtt_ms.p95)" "$(j .rtt_ms.max)"
printf '| `crange console` in a terminal on the same VM | %.1f | %.1f | %.1f |\n' \
    "$(j .cli_rtt_ms.p50)" "$(j .cli_rtt_ms.p95)" "$(j .cli_rtt_ms.max)"
printf '%s\n' "$out" > "${BENCH_RESULTS:-$work}/portal.json"
