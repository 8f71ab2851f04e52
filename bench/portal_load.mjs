// The portal under a class, and the console's keystroke round trip.
//
// Load: TEAMS teams log in; each keeps one server-sent-event stream open,
// one console WebSocket open on its entry VM, and polls what its page
// fetches (the team view, then the scoreboard) every POLL_MS, for
// SECONDS seconds; bounded in count and time, loopback only.
// Round trip: on team 1's console, one character typed and its echo seen,
// ROUNDS times, one at a time (the serial console echoes what it gets).
//
// Prints one JSON object. Env: PORTAL (http://127.0.0.1:PORT), TOKENS
// (comma-separated, team 1 first), SECONDS, POLL_MS, ROUNDS, VM; CRANGE_BIN
// and RANGE for the `crange console` round trip.
// Needs a global WebSocket: node 22, or node 20 with --experimental-websocket.
const BASE = process.env.PORTAL;
const TOKENS = process.env.TOKENS.split(',');
const SECONDS = Number(process.env.SECONDS || 60);
const POLL_MS = Number(process.env.POLL_MS || 2000);
const ROUNDS = Number(process.env.ROUNDS || 30);
const VM = process.env.VM || 'ws';
const host = new URL(BASE).host;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.round((s.length - 1) * p))] : null;
};

async function login(team, token) {
  const r = await fetch(BASE + '/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                              body: JSON.stringify({team, token})});
  if (r.status !== 200) throw new Error(`team ${team}: login ${r.status}`);
  return (r.headers.get('set-cookie') || '').split(';')[0];
}

function openConsole(team, cookie) {
  // A browser sends the cookie and Origin itself; Node's WebSocket takes headers this way.
  const ws = new WebSocket(`ws://${host}/ws/console?team=${team}&vm=${VM}`,
                           {headers: {Cookie: cookie, Origin: BASE}});
  ws.binaryType = 'arraybuffer';
  return ws;
}

function openStream(cookie, counts) {
  const ctl = new AbortController();
  fetch(BASE + '/api/stream', {headers: {Cookie: cookie}, signal: ctl.signal}).then(async (r) => {
    const reader = r.body.getReader();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      counts.sseBytes += value.length;
    }
  }).catch(() => {});
  return ctl;
}

async function roundTrip(cookie) {
  const ws = openConsole(1, cookie);
  let buf = '';
  const dec = new TextDecoder();
  ws.onmessage = (ev) => { if (typeof ev.data !== 'string') buf += dec.decode(new Uint8Array(ev.data), {stream: true}); };
  await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
  await sleep(1500);
  const times = [];
  const chars = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < ROUNDS; i++) {
    const c = chars[i % chars.length];
    buf = '';
    const t0 = performance.now();
    ws.send('i' + c);
    while (!buf.includes(c)) {
      if (performance.now() - t0 > 5000) break;
      await sleep(1);
    }
    times.push(performance.now() - t0);
    await sleep(50);
  }
  ws.send('i\x15'); // Ctrl-U: leave the shell's line empty
  ws.close();
  return times;
}

/* The same round trip through `crange console` (stdin a pipe: bytes are
 * sent as they come), before any browser holds the console. */
async function cliRoundTrip() {
  const {spawn} = await import('node:child_process');
  const p = spawn(process.env.CRANGE_BIN, ['console', process.env.RANGE, '1', VM, '--linger', '1'],
                  {stdio: ['pipe', 'pipe', 'ignore']});
  let buf = '';
  p.stdout.on('data', (d) => { buf += d.toString('utf8'); });
  await sleep(1500);
  const times = [];
  const chars = 'zyxwvutsrqponmlkjihgfedcba';
  for (let i = 0; i < ROUNDS; i++) {
    const c = chars[i % chars.length];
    buf = '';
    const t0 = performance.now();
    p.stdin.write(c);
    while (!buf.includes(c)) {
      if (performance.now() - t0 > 5000) break;
      await sleep(1);
    }
    times.push(performance.now() - t0);
    await sleep(50);
  }
  p.stdin.write('\x15');
  p.stdin.end();
  await new Promise((r) => p.on('exit', r));
  return times;
}

const counts = {requests: 0, errors: 0, sseBytes: 0, consoleBytes: 0, consolesOpen: 0};
const cli = process.env.CRANGE_BIN ? await cliRoundTrip() : [];
const latencies = [];
const cookies = [];
for (let t = 1; t <= TOKENS.length; t++) cookies.push(await login(t, TOKENS[t - 1]));

const rtt = await roundTrip(cookies[0]);

const streams = cookies.map((c) => openStream(c, counts));
const consoles = cookies.map((c, i) => {
  const ws = openConsole(i + 1, c);
  ws.onopen = () => { counts.consolesOpen++; };
  ws.onmessage = (ev) => { if (typeof ev.data !== 'string') counts.consoleBytes += ev.data.byteLength; };
  return ws;
});
await sleep(2000);

const end = Date.now() + SECONDS * 1000;
async function poller(cookie, offset) {
  await sleep(offset);
  while (Date.now() < end) {
    for (const path of ['/api/team', '/api/scoreboard']) {
      const t0 = performance.now();
      try {
        const r = await fetch(BASE + path, {headers: {Cookie: cookie}});
        await r.arrayBuffer();
        if (r.status !== 200) counts.errors++;
      } catch (e) {
        counts.errors++;
      }
      latencies.push(performance.now() - t0);
      counts.requests++;
    }
    await sleep(POLL_MS);
  }
}
const t0 = Date.now();
await Promise.all(cookies.map((c, i) => poller(c, (i * POLL_MS) / cookies.length)));
const wall = (Date.now() - t0) / 1000;
const consolesOpenAtEnd = consoles.filter((ws) => ws.readyState === 1).length;
for (const ws of consoles) ws.close();
for (const s of streams) s.abort();

console.log(JSON.stringify({
  teams: cookies.length, seconds: wall, poll_ms: POLL_MS,
  requests: counts.requests, errors: counts.errors, rps: counts.requests / wall,
  latency_ms: {p50: pct(latencies, 0.5), p95: pct(latencies, 0.95), max: pct(latencies, 1)},
  consoles_open: consolesOpenAtEnd, sse_bytes: counts.sseBytes,
  rtt_ms: {n: rtt.length, p50: pct(rtt, 0.5), p95: pct(rtt, 0.95), max: pct(rtt, 1)},
  cli_rtt_ms: {n: cli.length, p50: pct(cli, 0.5), p95: pct(cli, 0.95), max: pct(cli, 1)},
}));
process.exit(0);
