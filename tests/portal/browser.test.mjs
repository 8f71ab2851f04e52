// The portal end to end in a real headless Chromium (Debian's, driven by
// playwright-core) on a real range (the demo, 2 teams, in the test's
// private network namespace):
//   1. team 1 logs in, switches language, opens the attacker's console and
//      runs commands there (ASCII and Japanese), and the output shows in the page;
//   2. submits a wrong flag, then the right one read off the console, and
//      sees its score change and the flag's ATT&CK technique covered;
//   3. the instructor sees team 1's change in the matrix (and its coverage)
//      and the command in
//      team 1's timeline without reloading, and watches team 1's console
//      read-only while team 1 types;
//   4. team 2's session cannot open team 1's console (the server refuses).
// Screenshots of every page go to $CRANGE_ARTIFACTS.
//
// Run by tests/e2e/test_portal.sh with CRANGE_PORTAL_URL, CRANGE_TEAM1_TOKEN,
// CRANGE_TEAM2_TOKEN, CRANGE_ADMIN_PASSWORD and CRANGE_ARTIFACTS.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import {mkdirSync} from 'node:fs';
import {chromium} from 'playwright-core';

const BASE = process.env.CRANGE_PORTAL_URL;
const ART = process.env.CRANGE_ARTIFACTS || '/tmp/crange-portal-artifacts';
mkdirSync(ART, {recursive: true});

let browser, team1, team2, admin;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CRANGE_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--lang=ja-JP'],
  });
  const ctx = async (locale) => {
    const c = await browser.newContext({locale, viewport: {width: 1280, height: 1000}});
    const page = await c.newPage();
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') page.errors.push(m.text()); });
    return page;
  };
  team1 = await ctx('ja-JP');
  team2 = await ctx('en-US');
  admin = await ctx('en-US');
});

after(async () => { if (browser) await browser.close(); });

const shot = (page, name) => page.screenshot({path: `${ART}/${name}.png`, fullPage: true});

async function loginTeam(page, team, token) {
  await page.goto(BASE + '/');
  await page.locator('#view-login').waitFor();
  await page.fill('#login-team-number', String(team));
  await page.fill('#login-token', token);
  await page.click('#login-team button[type=submit]');
  await page.locator('#view-team').waitFor();
  await page.locator('#team-vms tbody tr').first().waitFor();
}

/* The terminal's text: its buffer, as the page's ConsoleView reads it
 * (what is drawn may lag behind in a page that is not in front). */
const termText = (page, sel) => page.evaluate((s) => {
  const v = document.querySelector(s).consoleView;
  return v ? v.text() : '';
}, sel);

async function waitTerm(page, sel, re, what, timeout = 60000) {
  const t0 = Date.now();
  let text = '';
  while (Date.now() - t0 < timeout) {
    text = await termText(page, sel);
    const m = text.match(re);
    if (m) return m;
    await page.waitForTimeout(250);
  }
  assert.fail(`${what}: ${re} not on the screen after ${timeout} ms; it shows:\n${text}`);
}

async function typeIn(page, sel, line) {
  await page.locator(`${sel} .xterm`).click();
  await page.keyboard.type(line, {delay: 15});
  await page.keyboard.press('Enter');
}

test('the instructor logs in and sees the class', async () => {
  await admin.goto(BASE + '/');
  await admin.fill('#login-password', process.env.CRANGE_ADMIN_PASSWORD);
  await admin.click('#login-admin button[type=submit]');
  await admin.locator('#view-admin').waitFor();
  await admin.locator('#admin-matrix tbody tr[data-team="1"]').waitFor();
  assert.equal(await admin.locator('#admin-matrix tbody tr').count(), 2);
  await admin.locator('#admin-health tbody tr').first().waitFor({timeout: 30000});
});

test('1. team 1 logs in, switches language and runs commands in the console', async () => {
  await team1.goto(BASE + '/');
  await team1.locator('#view-login').waitFor();
  assert.equal(await team1.locator('#login-team h2').innerText(), 'チーム', 'a Japanese browser gets Japanese');
  await shot(team1, '01-login-ja');
  await loginTeam(team1, 1, process.env.CRANGE_TEAM1_TOKEN);
  assert.match(await team1.locator('#range-title').innerText(), /デモ/);
  await team1.click('#lang');
  assert.equal(await team1.locator('[data-i18n="team.briefing"]').innerText(), 'Briefing');
  assert.match(await team1.locator('#team-briefing').innerText(), /smallest range/, 'the briefing follows');
  await shot(team1, '02-team-en');

  await team1.click('#team-vms button[data-vm="attacker"]');
  await team1.locator('#team-console-status[data-state="console.attached"]').waitFor({timeout: 30000});
  await waitTerm(team1, '#team-console', /#\s*$/m, 'the shell prompt');
  await typeIn(team1, '#team-console', 'echo crange-$((6*7))');
  await waitTerm(team1, '#team-console', /crange-42/, 'the command ran in the VM');
  await typeIn(team1, '#team-console', 'echo 日本語テスト-$((40+2))');
  await waitTerm(team1, '#team-console', /日本語テスト-42/, 'Japanese text round-trips');
  await shot(team1, '03-team-console');
});

const teamTimeline = (page, text, timeout = 60000) => page.waitForFunction(
  (s) => document.getElementById('team-timeline').textContent.includes(s), text, {timeout});

test('2. a wrong flag, then the right one read off the console, changes the score', async () => {
  await typeIn(team1, '#team-console', 'wget -qO- http://10.20.0.20/token.txt');
  const m = await waitTerm(team1, '#team-console', /\n([0-9a-f]{16})\s*\n/, 'the token is on the screen');
  const token = m[1];
  // The command reaches the team's own timeline through the guest's action channel.
  await teamTimeline(team1, 'wget -qO- http://10.20.0.20/token.txt');
  const box = team1.locator('#team-flags li[data-id="token"]');
  assert.equal(await team1.locator('#team-score').innerText(), '0');
  await box.locator('input').fill('not-the-token');
  await box.locator('button[type=submit]').click();
  await team1.locator('#team-flags li[data-id="token"] .verdict.bad').waitFor();
  assert.match(await team1.locator('#team-flags li[data-id="token"] .verdict').innerText(), /Wrong.*4 attempts left/);
  await shot(team1, '04-team-wrong-flag');
  // A half-typed answer survives the page following the event stream: the
  // command typed meanwhile redraws the team view before the answer is sent.
  await team1.locator('#team-flags li[data-id="token"] input').fill(token);
  await typeIn(team1, '#team-console', 'echo while-answering');
  await teamTimeline(team1, 'echo while-answering');
  assert.equal(await team1.locator('#team-flags li[data-id="token"] input').inputValue(), token,
               'the answer in the flag box is still there after a live update');
  await team1.locator('#team-flags li[data-id="token"] button[type=submit]').click();
  await team1.locator('#team-flags li[data-id="token"] .verdict.ok').waitFor();
  await team1.waitForFunction(() => document.getElementById('team-score').textContent === '10');
  // The flag's ATT&CK technique and skill are now covered on the team's page.
  await team1.waitForFunction(() => {
    const done = [...document.querySelectorAll('#team-coverage li.done')].map((li) => li.textContent);
    return done.some((t) => t.includes('T1552.001')) && done.some((t) => t.includes('web reconnaissance'));
  }, null, {timeout: 30000});
  await shot(team1, '05-team-right-flag');
});

test('3. the instructor sees the change live and watches team 1 type', async () => {
  // No reload: the matrix and the timeline follow the event stream.
  const row = admin.locator('#admin-matrix tbody tr[data-team="1"]');
  await admin.waitForFunction(() => {
    const r = document.querySelector('#admin-matrix tbody tr[data-team="1"]');
    return r && r.children[2].textContent === '10';
  }, null, {timeout: 30000});
  assert.equal(await row.locator('td.cell.ok').count(), 1, 'one cell of team 1 is done');
  // Coverage: team 1 has the flag's technique and skill, team 2 nothing.
  await admin.waitForFunction(() => {
    const r = document.querySelector('#admin-coverage tbody tr[data-team="1"]');
    return r && r.querySelectorAll('td.cell.ok').length === 2;
  }, null, {timeout: 30000});
  assert.equal(await admin.locator('#admin-coverage tbody tr[data-team="2"] td.cell.ok').count(), 0);
  // Team 1's timeline shows, without a reload, the flag answer and the
  // command typed in the browser console (through the guest's action channel).
  await admin.waitForFunction(() => {
    const t = document.getElementById('admin-timeline').textContent;
    return t.includes('flag token ✓') && t.includes('wget -qO- http://10.20.0.20/token.txt');
  }, null, {timeout: 60000});
  await shot(admin, '06-admin-live');

  await admin.locator('#admin-health tbody tr', {hasText: 'attacker'}).first().waitFor();
  const watchRow = admin.locator('#admin-health tbody tr').filter({hasText: 'T1'}).filter({hasText: 'attacker'});
  await watchRow.locator('button').first().click();
  await admin.locator('#admin-console-status[data-state="console.watching"]').waitFor({timeout: 30000});
  await typeIn(team1, '#team-console', 'echo watched-$((1+1))');
  await waitTerm(admin, '#admin-console', /watched-2/, 'the watcher sees what team 1 does');
  // A watcher's keys go nowhere.
  await admin.locator('#admin-console .xterm').click();
  await admin.keyboard.type('echo from-the-watcher-$((2+3))');
  await admin.keyboard.press('Enter');
  await team1.waitForTimeout(2000);
  assert.doesNotMatch(await termText(team1, '#team-console'), /from-the-watcher-5/);
  await shot(admin, '07-admin-watch');
});

test('4. team 2 cannot open team 1\'s console', async () => {
  await loginTeam(team2, 2, process.env.CRANGE_TEAM2_TOKEN);
  const result = await team2.evaluate(() => new Promise((resolve) => {
    const ws = new WebSocket(`ws://${location.host}/ws/console?team=1&vm=attacker`);
    ws.binaryType = 'arraybuffer';
    let got = 0;
    ws.onopen = () => { got = -1; };
    ws.onmessage = () => { got++; };
    ws.onclose = (ev) => resolve({opened: got !== 0, code: ev.code});
    setTimeout(() => resolve({opened: ws.readyState === 1, code: 'timeout'}), 10000);
  }));
  assert.equal(result.opened, false, 'the server refused the upgrade: ' + JSON.stringify(result));
  // Its own console opens.
  await team2.click('#team-vms button[data-vm="attacker"]');
  await team2.locator('#team-console-status[data-state="console.attached"]').waitFor({timeout: 30000});
  await shot(team2, '08-team2');
});

test('5. what a trainee types reaches the instructor as text, never as markup', async () => {
  // In a flag box and in a console: both end up in the instructor's timeline.
  const box = team2.locator('#team-flags li[data-id="token"]');
  await box.locator('input').fill('<img src=x onerror="window.__xss=1">');
  await box.locator('button[type=submit]').click();
  await team2.locator('#team-flags li[data-id="token"] .verdict.bad').waitFor();
  await typeIn(team2, '#team-console', 'echo "<script>window.__xss=2</script>"');
  await waitTerm(team2, '#team-console', /<script>window.__xss=2<\/script>\s*\n/, 'the echo ran');
  await admin.selectOption('#admin-team', '2');
  await admin.waitForFunction(() => {
    const t = document.getElementById('admin-timeline').textContent;
    return t.includes('<img src=x onerror="window.__xss=1">') && t.includes('echo "<script>window.__xss=2</script>"');
  }, null, {timeout: 60000});
  assert.equal(await admin.evaluate(() => window.__xss), undefined, 'no trainee text ran as script');
  assert.equal(await admin.locator('#admin-timeline img, #admin-timeline script').count(), 0, 'nor became an element');
  await shot(admin, '08b-admin-escaped');
  await admin.selectOption('#admin-team', '1');
});

test('the public scoreboard and a recording replay', async () => {
  const page = await browser.newPage({viewport: {width: 1280, height: 700}});
  await page.goto(BASE + '/scoreboard');
  await page.locator('#board tbody tr').first().waitFor();
  assert.match(await page.locator('#board tbody tr').first().innerText(), /T1\s+10/);
  await shot(page, '09-scoreboard');
  await page.close();

  // Team 1's console session is recorded and the instructor replays it.
  await team1.reload();
  await admin.waitForTimeout(1500);
  await admin.reload();
  await admin.locator('#admin-recordings li').first().waitFor({timeout: 30000});
  const rec = admin.locator('#admin-recordings li').filter({hasText: 'T1 attacker trainee control'}).first();
  await rec.locator('button').click();
  await waitTerm(admin, '#admin-console', /crange-42/, 'the replay shows what team 1 typed', 30000);
  await shot(admin, '10-admin-replay');
});

test('no page raised a script error', () => {
  for (const [name, p] of [['team1', team1], ['team2', team2], ['admin', admin]]) {
    const errs = p.errors.filter((e) => !/WebSocket|ERR_CONNECTION|status of 40[13]/.test(e));
    assert.deepEqual(errs, [], name);
  }
});
