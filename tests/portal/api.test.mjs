// API tests of the exercise portal with a real HTTP client (Node's fetch and
// raw sockets) against a running `crange serve` on a real range: auth, CSRF,
// rate limit, team isolation, and the hostile requests of issue 11.
//
// Run by tests/e2e/test_portal.sh, which brings the demo range up, starts
// the portal and passes: CRANGE_PORTAL_URL, CRANGE_TEAM1_TOKEN,
// CRANGE_TEAM2_TOKEN, CRANGE_ADMIN_PASSWORD (and CRANGE_RANGE when the range
// is not po: tests/e2e/test_valgrind.sh runs them against serve under valgrind).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {execFile, spawn} from 'node:child_process';
import {promisify} from 'node:util';

const BASE = process.env.CRANGE_PORTAL_URL;
const TOKENS = {1: process.env.CRANGE_TEAM1_TOKEN, 2: process.env.CRANGE_TEAM2_TOKEN};
const ADMIN = process.env.CRANGE_ADMIN_PASSWORD;
const RANGE = process.env.CRANGE_RANGE || 'po';
const url = new URL(BASE);

async function login(body) {
  const r = await fetch(BASE + '/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                              body: JSON.stringify(body)});
  const data = await r.json();
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  return {status: r.status, data, cookie, setCookie: r.headers.get('set-cookie') || ''};
}

async function session(body) {
  const s = await login(body);
  assert.equal(s.status, 200, JSON.stringify(s.data));
  return {
    cookie: s.cookie, csrf: s.data.csrf,
    get: (path) => fetch(BASE + path, {headers: {Cookie: s.cookie}}),
    post: (path, data, extra = {}) => fetch(BASE + path, {
      method: 'POST',
      headers: {Cookie: s.cookie, 'Content-Type': 'application/json', 'X-CSRF-Token': s.data.csrf, ...extra},
      body: typeof data === 'string' ? data : JSON.stringify(data)}),
  };
}

/* Sends raw bytes and returns what the server answered (or '' if it closed). */
function raw(bytes, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const sock = net.connect(Number(url.port), url.hostname);
    let out = '';
    const timer = setTimeout(() => { sock.destroy(); resolve(out); }, timeoutMs);
    sock.on('data', (d) => { out += d.toString('latin1'); });
    sock.on('close', () => { clearTimeout(timer); resolve(out); });
    sock.on('error', () => { clearTimeout(timer); resolve(out); });
    sock.write(bytes);
  });
}

/* Every string anywhere in a JSON value. */
function strings(v, out = []) {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push(k); strings(x, out); }
  return out;
}

test('the public scoreboard answers without a login and holds no answers', async () => {
  const r = await fetch(BASE + '/api/scoreboard');
  assert.equal(r.status, 200);
  const b = await r.json();
  assert.equal(b.teams.length, 2);
  assert.ok(!strings(b).includes('answer'));
});

test('team endpoints refuse a request without a session', async () => {
  for (const p of ['/api/team', '/api/team/timeline', '/api/admin/matrix', '/api/session']) {
    const r = await fetch(BASE + p);
    assert.equal(r.status, 401, p);
  }
});

test('a wrong token, a wrong team and a wrong password are refused', async () => {
  assert.equal((await login({team: 1, token: TOKENS[2]})).status, 401);
  assert.equal((await login({team: 3, token: TOKENS[1]})).status, 401);
  assert.equal((await login({team: 1, token: ''})).status, 401);
  assert.equal((await login({password: 'not-the-password'})).status, 401);
  assert.equal((await login({})).status, 400);
});

test('the session cookie is HttpOnly and SameSite=Strict', async () => {
  const s = await login({team: 1, token: TOKENS[1]});
  assert.equal(s.status, 200);
  assert.match(s.setCookie, /HttpOnly/);
  assert.match(s.setCookie, /SameSite=Strict/);
  assert.match(s.data.csrf, /^[0-9a-f]{32}$/);
});

test('a state-changing request needs the CSRF token', async () => {
  const t = await session({team: 1, token: TOKENS[1]});
  const r = await fetch(BASE + '/api/team/hints/banner', {
    method: 'POST', headers: {Cookie: t.cookie, 'Content-Type': 'application/json'}, body: '{}'});
  assert.equal(r.status, 403);
  const wrong = await t.post('/api/team/hints/banner', {}, {'X-CSRF-Token': '0'.repeat(32)});
  assert.equal(wrong.status, 403);
  const view = await (await t.get('/api/team')).json();
  assert.equal(view.hints_cost, 0, 'no hint was taken by the refused requests');
});

test('the team view and the matrix carry the tags and each team\'s coverage', async () => {
  const t = await session({team: 1, token: TOKENS[1]});
  const view = await (await t.get('/api/team')).json();
  const token = view.flags.find((f) => f.id === 'token');
  assert.deepEqual(token.attack, [{id: 'T1552.001', name: 'Credentials In Files'}]);
  assert.deepEqual(token.skills, ['web reconnaissance']);
  assert.deepEqual(view.objectives.find((o) => o.id === 'banner').skills, ['system hardening']);
  const c = view.coverage;
  assert.equal(c.attack_total, 1);
  assert.equal(c.skills_total, 3);
  assert.equal(c.attack[0].id, 'T1552.001');
  assert.equal(c.attack[0].met, token.solved || view.objectives.find((o) => o.id === 'remove_token').met,
               'a technique is covered when an item carrying it is met');
  assert.equal(c.skills.find((k) => k.skill === 'web reconnaissance').met, token.solved);

  const admin = await session({password: ADMIN});
  const m = await (await admin.get('/api/admin/matrix')).json();
  assert.equal(m.coverage.length, 2);
  assert.deepEqual(m.coverage.map((x) => x.team), [1, 2]);
  assert.deepEqual(m.coverage[0].attack, c.attack, 'the instructor sees what the team sees');
  assert.deepEqual(m.flag_list.find((f) => f.id === 'token').attack, token.attack);
});

test('a trainee sees only its own team, and no answer, check or secret var', async () => {
  const admin = await session({password: ADMIN});
  const answers = await (await admin.get('/api/admin/answers?team=1')).json();
  const secret = answers.flags.find((f) => f.id === 'token').answer;
  assert.match(secret, /^[0-9a-f]{16}$/);

  const t = await session({team: 1, token: TOKENS[1]});
  const view = await (await t.get('/api/team?team=2')).json();
  assert.equal(view.team, 1, 'a team parameter does not change the team');
  const all = strings(view);
  assert.ok(!all.includes(secret), 'the team view does not hold the answer');
  assert.ok(!all.includes('answer') && !all.includes('check'), 'nor answer or check fields');
  for (const p of ['/api/admin/matrix', '/api/admin/answers?team=1', '/api/admin/events', '/api/admin/teams.csv']) {
    assert.equal((await t.get(p)).status, 403, p);
  }
  const tl = await (await t.get('/api/team/timeline')).json();
  assert.ok(tl.events.every((e) => e.team === 1 || e.team === 0), 'the timeline holds only team 1 events');
});

test('the instructor may not use the team endpoints, and a team not the admin ones', async () => {
  const admin = await session({password: ADMIN});
  assert.equal((await admin.get('/api/team')).status, 403);
  const m = await (await admin.get('/api/admin/matrix')).json();
  assert.equal(m.teams.length, 2);
  assert.ok(m.objective_list.length >= 1 && m.flag_list.length >= 1);
});

test('hostile bodies get a 4xx and the server keeps serving', async () => {
  const t = await session({team: 2, token: TOKENS[2]});
  let r = await t.post('/api/team/flags/token', '{"answer": ');
  assert.equal(r.status, 400, 'malformed JSON');
  r = await t.post('/api/team/flags/token', '[1,2]');
  assert.equal(r.status, 400, 'not an object');
  r = await t.post('/api/team/flags/token', {answer: 5});
  assert.equal(r.status, 400, 'answer not a string');
  r = await fetch(BASE + '/api/team/flags/token', {method: 'POST', body: '{"answer":"x"}',
    headers: {Cookie: t.cookie, 'X-CSRF-Token': t.csrf, 'Content-Type': 'text/plain'}});
  assert.equal(r.status, 415, 'wrong content type');
  r = await t.post('/api/team/flags/no-such-flag', {answer: 'x'});
  assert.equal(r.status, 404, 'unknown flag');

  // A 100 MB body is refused from its Content-Length, before it is read.
  const head = `POST /api/team/flags/token HTTP/1.1\r\nHost: ${url.host}\r\nCookie: ${t.cookie}\r\n` +
               `X-CSRF-Token: ${t.csrf}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n`;
  const out = await raw(head + '{"answer":"' + 'A'.repeat(100000));
  assert.match(out, /^HTTP\/1\.1 413/, '100 MB body');

  // Path traversal in a static path, raw (fetch would normalise it).
  for (const p of ['/assets/../../../etc/passwd', '/assets/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2fetc%2fpasswd',
                   '/assets//etc/passwd']) {
    const res = await raw(`GET ${p} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
    assert.match(res, /^HTTP\/1\.1 4\d\d/, p);
    assert.ok(!res.includes('root:'), p);
  }
  // A request line that is not HTTP at all.
  const junk = await raw('\x00\x01\x02 garbage\r\n\r\n', 3000);
  assert.ok(junk === '' || /^HTTP\/1\.[01] 4\d\d/.test(junk), 'junk gets a 4xx or is dropped');

  assert.equal((await fetch(BASE + '/api/scoreboard')).status, 200, 'still serving');
});

test('the instructor pauses the clock: answers wait; resumes it: they count again', async () => {
  const admin = await session({password: ADMIN});
  const t1 = await session({team: 1, token: TOKENS[1]});
  let r = await admin.post('/api/admin/clock', {paused: true});
  assert.equal(r.status, 200);
  assert.equal((await r.json()).paused, true);
  assert.equal((await t1.post('/api/team/flags/token', {answer: 'x'})).status, 409, 'no answers while paused');
  assert.equal((await (await t1.get('/api/team')).json()).clock.paused, true, 'the team sees the pause');
  r = await admin.post('/api/admin/clock', {paused: false});
  assert.equal((await r.json()).paused, false);
  assert.equal((await t1.post('/api/team/flags/token', {answer: 'x'})).status, 200, 'answers count again');
  assert.equal((await admin.post('/api/admin/clock', {paused: 'yes'})).status, 400);
  assert.equal((await t1.post('/api/admin/clock', {paused: true})).status, 403, 'a team cannot stop the clock');
  const ev = await (await admin.get('/api/admin/events?team=0')).json();
  const kinds = ev.events.filter((e) => e.team === 0).map((e) => e.kind);
  assert.equal(kinds.filter((k) => k === 'exercise.pause').length, 1);
  assert.equal(kinds.filter((k) => k === 'exercise.resume').length, 1);
});

test('the instructor fires an inject by hand, at most once', async () => {
  const admin = await session({password: ADMIN});
  const m = await (await admin.get('/api/admin/matrix')).json();
  const id = m.inject_list[0].id;
  const a = await admin.post('/api/admin/injects/' + id, {team: 2});
  assert.equal(a.status, 200);
  const b = await (await admin.post('/api/admin/injects/' + id, {team: 2})).json();
  assert.equal(b.fired, false, 'the second time it does not fire again');
  const ev = await (await admin.get('/api/admin/events?team=2')).json();
  assert.equal(ev.events.filter((e) => e.kind === 'inject.fired' && e.data.id === id).length, 1);
  assert.equal((await admin.post('/api/admin/injects/no-such-inject', {team: 2})).status, 404);
  assert.equal((await admin.post('/api/admin/injects/' + id, {team: 9})).status, 400);
});

/* Opens team N's console in the portal and closes it again: one recorded
 * session, whatever ran before (test_valgrind.sh runs these tests without
 * the browser test). */
async function consoleSession(team) {
  const s = await session({team, token: TOKENS[team]});
  const ws = new WebSocket(`ws://${url.host}/ws/console?team=${team}&vm=attacker`,
                           {headers: {Cookie: s.cookie, Origin: `http://${url.host}`}});
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  ws.close();
  await closed;
}

test('the instructor downloads the report; a team cannot', async () => {
  await consoleSession(1);
  const admin = await session({password: ADMIN});
  let r, html;
  for (let i = 0; i < 50; i++) {  // the session's recording is listed once it has ended
    r = await admin.get('/api/admin/report?format=html');
    html = await r.text();
    if (r.status !== 200 || /Console recordings/.test(html)) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  assert.match(r.headers.get('content-disposition'), /attachment/);
  assert.match(html, /<html/i);
  assert.match(html, /Console recordings/, 'the report lists the recorded console sessions');
  assert.match(html, /href="\/api\/admin\/recordings\/[0-9a-f]{32}"/, 'and links each to its replay');
  const j = await admin.get('/api/admin/report?format=json');
  assert.equal(j.status, 200);
  assert.ok((await j.json()));
  assert.equal((await admin.get('/api/admin/report?format=pdf')).status, 400);
  const t1 = await session({team: 1, token: TOKENS[1]});
  assert.equal((await t1.get('/api/admin/report?format=html')).status, 403);
});

test('the instructor reverts a VM: one at a time, and it comes back', async () => {
  const admin = await session({password: ADMIN});
  const r = await admin.post('/api/admin/revert', {team: 2, vm: 'victim'});
  assert.equal(r.status, 202);
  assert.equal((await admin.post('/api/admin/revert', {team: 2, vm: 'router'})).status, 409, 'one at a time');
  assert.equal((await admin.post('/api/admin/revert', {team: 2, vm: 'no-such-vm'})).status, 400);
  assert.equal((await admin.post('/api/admin/revert', {team: 0, vm: 'victim'})).status, 400);
  const t2 = await session({team: 2, token: TOKENS[2]});
  assert.equal((await t2.post('/api/admin/revert', {team: 2, vm: 'victim'})).status, 403);
  const deadline = Date.now() + 240000;
  let done = null;
  while (!done && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 2000));
    const ev = await (await admin.get('/api/admin/events?team=2')).json();
    done = ev.events.find((e) => e.kind === 'vm.revert.done' || e.kind === 'vm.revert.failed');
  }
  assert.ok(done, 'the revert ends within 4 minutes');
  assert.equal(done.kind, 'vm.revert.done', JSON.stringify(done.data));
  assert.equal(done.vm, 'victim');
  const health = await (await admin.get('/api/admin/health')).json();
  const vm = health.ranges[0].vms.find((v) => v.team === 2 && v.vm === 'victim');
  assert.equal(vm.state, 'running');
  assert.equal(vm.agent, true);
});

test('flag answers are rate-limited per team', async () => {
  const t = await session({team: 2, token: TOKENS[2]});
  const codes = [];
  for (let i = 0; i < 14; i++) codes.push((await t.post('/api/team/flags/token', {answer: 'rate-' + i})).status);
  assert.ok(codes.includes(429), 'some answers are refused with 429: ' + codes.join(','));
  const first429 = codes.indexOf(429);
  assert.ok(first429 >= 5 && first429 <= 11, 'after a burst of about 10: ' + codes.join(','));
  const r = await t.post('/api/team/flags/token', {answer: 'again'});
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After is given');
  // Another team is not slowed down by team 2's answers.
  const t1 = await session({team: 1, token: TOKENS[1]});
  assert.equal((await t1.get('/api/team')).status, 200);
});

test('1,000 idle connections do not stop the service', async () => {
  const socks = [];
  await Promise.all(Array.from({length: 1000}, () => new Promise((resolve) => {
    const s = net.connect(Number(url.port), url.hostname, resolve);
    s.on('error', resolve);
    socks.push(s);
  })));
  try {
    const t0 = Date.now();
    const r = await fetch(BASE + '/api/scoreboard', {signal: AbortSignal.timeout(8000)});
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 < 8000);
  } finally {
    for (const s of socks) s.destroy();
  }
});

test('a WebSocket from another origin, without a session, or to another team is refused', async () => {
  const t2 = await session({team: 2, token: TOKENS[2]});
  const upgrade = (q, cookie, origin) => raw(
    `GET /ws/console?${q} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n` +
    (origin ? `Origin: ${origin}\r\n` : '') + (cookie ? `Cookie: ${cookie}\r\n` : '') + '\r\n', 3000);
  const own = `http://${url.host}`;
  assert.match(await upgrade('team=2&vm=attacker', t2.cookie, own), /^HTTP\/1\.1 101/, 'own entry VM: accepted');
  for (const [q, cookie, origin, what] of [
    ['team=1&vm=attacker', t2.cookie, own, "another team's console"],
    ['team=2&vm=victim', t2.cookie, own, 'a VM that is not an entry point'],
    ['team=2&vm=attacker&watch=1', t2.cookie, own, 'watching (instructors only)'],
    ['team=2&vm=attacker', '', own, 'no session'],
    ['team=2&vm=attacker', t2.cookie, 'http://evil.example', 'another origin'],
    ['team=2&vm=../../x', t2.cookie, own, 'a crafted VM name'],
  ]) {
    const res = await upgrade(q, cookie, origin);
    assert.doesNotMatch(res, /^HTTP\/1\.1 101/, what);
  }
});

// A client that upgrades, then stops reading, with a small receive buffer
// (set before connecting, which Node's sockets cannot do). When its stdin
// closes it reads for up to 30 s and reports what it got. Measured: the
// server's socket buffer (Linux grows it up to tcp_wmem's 4 MiB) took in the
// whole 1.4 MB flood, so the client's 1 MiB queue never filled; a flood that
// reaches the drop takes minutes of serial output under TCG. What matters to
// a class is asserted: the stalled client holds up neither the team's other
// console nor the server.
const STALLED = `
import socket, sys, time, json
host, port, cookie, origin = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, port))
s.sendall(("GET /ws/console?team=2&vm=attacker HTTP/1.1\\r\\nHost: %s:%d\\r\\nUpgrade: websocket\\r\\n"
           "Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n"
           "Origin: %s\\r\\nCookie: %s\\r\\n\\r\\n" % (host, port, origin, cookie)).encode())
head = s.recv(12)
print(head.decode("latin1"), flush=True)
sys.stdin.read()
s.settimeout(1)
got, ended, t0 = b"", False, time.time()
while time.time() - t0 < 30:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    except OSError:
        ended = True
        break
    if not d:
        ended = True
        break
    got += d
print(json.dumps({"bytes": len(got), "ended": ended, "end_marker": b"flood-42-end" in got}), flush=True)
`;

test('a WebSocket that never reads holds up neither the team\'s other console nor the server', async () => {
  assert.equal(typeof WebSocket, 'function', 'node runs with a WebSocket client (--experimental-websocket on node 20)');
  const t2 = await session({team: 2, token: TOKENS[2]});
  const own = `http://${url.host}`;
  // A reader: a real WebSocket client that reads everything.
  const reader = new WebSocket(`ws://${url.host}/ws/console?team=2&vm=attacker`,
                               {headers: {Cookie: t2.cookie, Origin: own}});
  reader.binaryType = 'arraybuffer';
  let text = '';
  const dec = new TextDecoder();
  reader.onmessage = (ev) => { if (typeof ev.data !== 'string') text += dec.decode(ev.data, {stream: true}); };
  await new Promise((resolve, reject) => { reader.onopen = resolve; reader.onerror = reject; });
  const stalled = spawn('python3', ['-c', STALLED, url.hostname, url.port, t2.cookie, own]);
  let out = '';
  stalled.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => stalled.on('exit', resolve));
  const t0 = Date.now();
  while (!out.includes('\n') && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 100));
  assert.match(out, /^HTTP\/1\.1 101/, 'the stalled client is upgraded');
  try {
    // About 1.4 MB on the VM's serial console (~45 KB/s under TCG): more
    // than the stalled client's buffers and the 1 MiB it may fall behind.
    await promisify(execFile)(process.env.CRANGE_BIN, ['exec', RANGE, '2', 'attacker', '--', 'sh', '-c',
      'yes 0123456789abcdef0123456789abcdef0123456789abcdef0123456789 | head -n 24000 >/dev/ttyS0; ' +
      'echo flood-$((20+22))-end >/dev/ttyS0'], {timeout: 240000});
    const t1 = Date.now();
    while (!text.includes('flood-42-end') && Date.now() - t1 < 60000) await new Promise((r) => setTimeout(r, 200));
    assert.ok(text.includes('flood-42-end'), `the reader got the whole flood (${text.length} chars)`);
    assert.ok(text.length > 1440000, `and all of it (${text.length} chars)`);
    // The server still answers others at once.
    const r = await fetch(BASE + '/api/scoreboard', {signal: AbortSignal.timeout(5000)});
    assert.equal(r.status, 200);
    stalled.stdin.end();
    await exited;
    const res = JSON.parse(out.split('\n')[1]);
    console.log('stalled client:', JSON.stringify(res));
  } finally {
    stalled.kill();
    reader.close();
  }
});
