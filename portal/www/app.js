/*
 * app.js: the exercise portal's pages (trainee, instructor, scoreboard),
 * over the JSON API of portal/openapi.yaml. Every text that comes from the
 * server is put in the page with textContent, never as markup: trainees
 * type what they like into VMs and flag boxes, and the instructor's page
 * shows it.
 */
'use strict';

const I18N = {
  ja: {
    'nav.scoreboard': 'スコアボード', 'nav.logout': 'ログアウト',
    'login.title': '演習ポータルにログイン', 'login.team': 'チーム', 'login.team_number': 'チーム番号',
    'login.token': 'トークン', 'login.submit': 'ログイン', 'login.instructor': '講師', 'login.password': 'パスワード',
    'login.failed': 'ログインできません: ',
    'team.briefing': 'ブリーフィング', 'team.score': '得点', 'team.rank': '順位', 'team.hints_cost': 'ヒント減点',
    'team.vms': 'VM', 'team.objectives': '目標', 'team.flags': 'フラグ', 'team.hints': '使ったヒント',
    'team.timeline': 'タイムライン',
    'vm.name': '名前', 'vm.addresses': 'アドレス', 'vm.description': '説明', 'vm.console': 'コンソールを開く',
    'console.title': 'コンソール', 'console.close': '閉じる', 'console.connecting': '接続中…',
    'console.attached': '接続済み', 'console.watching': '閲覧のみ', 'console.closed': '切断 (再接続します)',
    'console.error': 'エラー', 'console.watch': '閲覧', 'console.open': '操作',
    'obj.met': '達成', 'obj.notmet': '未達成', 'obj.hold': '維持', 'obj.once': '一度',
    'hint.take': 'ヒント', 'hint.confirm': 'ヒントを見ると {cost} 点減点されます。見ますか?', 'hint.none': 'ヒントはもうありません',
    'flag.answer': '回答', 'flag.submit': '送信', 'flag.solved': '正解済み', 'flag.correct': '正解!',
    'flag.wrong': '不正解', 'flag.left': '残り {n} 回', 'flag.no_attempts_left': '回答回数の上限です',
    'flag.already_solved': 'すでに正解しています', 'flag.rate': '回答が多すぎます。{s} 秒後に再度どうぞ',
    'points': '点',
    'admin.matrix': 'チーム × 目標', 'admin.freeze': 'スコアボードを凍結', 'admin.unfreeze': '凍結を解除',
    'admin.teams_csv': 'チームのログイン (CSV)', 'admin.timeline': 'チームのタイムライン', 'admin.team': 'チーム',
    'admin.health': '演習環境の状態', 'admin.state': '状態', 'admin.agent': 'エージェント',
    'admin.recordings': 'コンソールの録画', 'admin.sessions': '操作中 + 閲覧中の接続',
    'admin.revert': '初期状態に戻す', 'admin.revert_confirm': 'T{team} の {vm} を初期状態に戻します (作業内容は消えます)。よろしいですか?',
    'admin.reverting': 'T{team} の {vm} を初期状態に戻しています…', 'admin.replay': '再生', 'admin.score': '得点', 'live': 'ライブ',
    'board.rank': '順位', 'board.team': 'チーム', 'board.score': '得点', 'board.reached': '到達時刻',
    'board.frozen': '凍結中',
    'clock.pause': '演習を一時停止', 'clock.resume': '演習を再開', 'clock.paused': '一時停止中',
    'clock.running': '進行中', 'clock.elapsed': '経過',
    'admin.injects': 'インジェクト', 'admin.fire': '今すぐ発生', 'admin.fired': '発生させました',
    'admin.already_fired': 'すでに発生済みです', 'admin.answers': '解答 (このチーム)', 'admin.report': 'レポート',
    'topology': '構成図', 'flag.paused': '演習は一時停止中です',
    'coverage.title': 'ATT&CK とスキルの網羅', 'coverage.admin': 'チーム × ATT&CK テクニック・スキル',
    'coverage.attack': 'ATT&CK テクニック', 'coverage.skills': 'スキル', 'coverage.count': '{met} / {total} 達成',
  },
  en: {
    'nav.scoreboard': 'Scoreboard', 'nav.logout': 'Log out',
    'login.title': 'Log in to the exercise portal', 'login.team': 'Team', 'login.team_number': 'Team number',
    'login.token': 'Token', 'login.submit': 'Log in', 'login.instructor': 'Instructor', 'login.password': 'Password',
    'login.failed': 'Cannot log in: ',
    'team.briefing': 'Briefing', 'team.score': 'Score', 'team.rank': 'Rank', 'team.hints_cost': 'Hint cost',
    'team.vms': 'VMs', 'team.objectives': 'Objectives', 'team.flags': 'Flags', 'team.hints': 'Hints taken',
    'team.timeline': 'Timeline',
    'vm.name': 'Name', 'vm.addresses': 'Addresses', 'vm.description': 'Description', 'vm.console': 'Open console',
    'console.title': 'Console', 'console.close': 'Close', 'console.connecting': 'connecting…',
    'console.attached': 'connected', 'console.watching': 'watching (read-only)', 'console.closed': 'closed (reconnecting)',
    'console.error': 'error', 'console.watch': 'Watch', 'console.open': 'Open',
    'obj.met': 'met', 'obj.notmet': 'not met', 'obj.hold': 'hold', 'obj.once': 'once',
    'hint.take': 'Hint', 'hint.confirm': 'This hint costs {cost} points. Take it?', 'hint.none': 'No hints left',
    'flag.answer': 'Answer', 'flag.submit': 'Submit', 'flag.solved': 'solved', 'flag.correct': 'Correct!',
    'flag.wrong': 'Wrong', 'flag.left': '{n} attempts left', 'flag.no_attempts_left': 'No attempts left',
    'flag.already_solved': 'Already solved', 'flag.rate': 'Too many answers; try again in {s} s',
    'points': 'pts',
    'admin.matrix': 'Teams × objectives', 'admin.freeze': 'Freeze the scoreboard', 'admin.unfreeze': 'Unfreeze',
    'admin.teams_csv': 'Team logins (CSV)', 'admin.timeline': 'Team timeline', 'admin.team': 'Team',
    'admin.health': 'Range health', 'admin.state': 'State', 'admin.agent': 'Agent',
    'admin.recordings': 'Console recordings', 'admin.sessions': 'connections typing + watching',
    'admin.revert': 'Revert', 'admin.revert_confirm': 'Revert T{team} {vm} to its starting point? Its changes are lost.',
    'admin.reverting': 'Reverting T{team} {vm}…', 'admin.replay': 'Replay', 'admin.score': 'Score', 'live': 'live',
    'board.rank': 'Rank', 'board.team': 'Team', 'board.score': 'Score', 'board.reached': 'Reached',
    'board.frozen': 'frozen',
    'clock.pause': 'Pause the exercise', 'clock.resume': 'Resume the exercise', 'clock.paused': 'paused',
    'clock.running': 'running', 'clock.elapsed': 'elapsed',
    'admin.injects': 'Injects', 'admin.fire': 'Fire now', 'admin.fired': 'fired',
    'admin.already_fired': 'had already fired', 'admin.answers': 'Answer key (this team)', 'admin.report': 'Report',
    'topology': 'Topology', 'flag.paused': 'The exercise is paused',
    'coverage.title': 'ATT&CK and skills coverage', 'coverage.admin': 'Teams × ATT&CK techniques and skills',
    'coverage.attack': 'ATT&CK techniques', 'coverage.skills': 'Skills', 'coverage.count': '{met} of {total} covered',
  },
};

const state = {
  lang: localStorage.getItem('crange.lang') ||
        ((navigator.languages || [navigator.language || 'en']).some(l => /^ja\b/i.test(l)) ? 'ja' : 'en'),
  session: null,
  team: null,
  matrix: null,
  adminTeam: 1,
};

function t(key, vars) {
  let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace('{' + k + '}', String(v));
  return s;
}

/* A scenario text {ja, en} in the page's language, else the other. */
function tx(text) {
  if (!text) return '';
  return text[state.lang] || text.en || text.ja || '';
}

function $(id) { return document.getElementById(id); }

/* Builds an element; children are nodes or strings (as text, never markup). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function applyI18n() {
  document.documentElement.lang = state.lang;
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  $('lang').textContent = state.lang === 'ja' ? 'English' : '日本語';
}

function flash(msg, kind) {
  const f = $('flash');
  f.textContent = msg;
  f.className = kind || '';
  f.hidden = !msg;
  if (msg) setTimeout(() => { if (f.textContent === msg) f.hidden = true; }, 6000);
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf;
  const r = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                               credentials: 'same-origin'});
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const err = new Error((data && data.error) || r.statusText);
    err.status = r.status;
    err.data = data;
    throw err;
  }
  return data;
}

function show(view) {
  for (const v of ['login', 'team', 'admin', 'scoreboard']) $('view-' + v).hidden = v !== view;
  $('logout').hidden = !state.session;
}

function fmtTime(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString(state.lang === 'ja' ? 'ja-JP' : 'en-GB', {hour12: false});
}

/* One event as a line of text: what happened, with what the trainee typed. */
function eventText(ev) {
  const d = ev.data || {};
  switch (ev.kind) {
    case 'action.command': {
      const status = d.status === undefined || d.status === null ? '' : `  ⟶ exit ${d.status}`;
      return `${ev.vm || ''} ${d.user || ''}:${d.cwd || ''}$ ${d.command || ''}${status}`;
    }
    case 'flag.correct': return `flag ${d.id} ✓ +${d.points}`;
    case 'flag.wrong': return `flag ${d.id} ✗` + (d.answer !== undefined ? ` "${d.answer}"` : '');
    case 'flag.rejected': return `flag ${d.id}: ${d.reason}`;
    case 'objective.met': return `objective ${d.id} ✓ +${d.points}`;
    case 'objective.lost': return `objective ${d.id} lost −${d.points}`;
    case 'objective.failing': return `objective ${d.id}: ${d.reason}`;
    case 'hint.taken': return `hint ${d.id} #${(d.index || 0) + 1} −${d.cost}`;
    case 'inject.fired': return `inject: ${tx(d.title) || d.id}`;
    case 'vm.revert.start': case 'vm.revert.done': case 'vm.revert.failed':
      return `${ev.vm || ''} ${d.error || (d.seconds !== undefined ? d.seconds.toFixed(1) + ' s' : '')}`;
    case 'console.attach': case 'console.detach':
      return `${ev.vm || ''} ${d.role || ''} ${d.mode || ''}`;
    default: return `${ev.kind} ${Object.keys(d).length ? JSON.stringify(d) : ''}`;
  }
}

function renderTimeline(list, events) {
  // A command's exit status comes as its own event; show it on the command.
  const status = {};
  for (const ev of events) {
    if (ev.kind === 'action.status') status[`${ev.team}/${ev.vm}/${ev.data.spool}/${ev.data.of}`] = ev.data.status;
  }
  events = events.filter(ev => ev.kind !== 'action.status').map(ev => {
    if (ev.kind !== 'action.command') return ev;
    const st = status[`${ev.team}/${ev.vm}/${ev.data.spool}/${ev.data.seq}`];
    // (spread copies: the server's event objects are left as they came)
    return st === undefined ? ev : {...ev, data: {...ev.data, status: st}};
  });
  list.replaceChildren(...events.slice().reverse().map(ev =>
    el('li', {class: 'ev ev-' + ev.kind.replace(/\..*/, '')},
       el('time', {}, fmtTime(ev.time_ms)), ' ',
       ev.team && state.session && state.session.role === 'instructor' ? el('span', {class: 'team'}, 'T' + ev.team + ' ') : null,
       el('span', {class: 'kind'}, ev.kind), ' ',
       el('span', {class: 'text'}, eventText(ev)))));
}

/* ----------------------------------------------------------- topology */

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/* VMs in a row on top, each network a bar below, a line from each VM to
 * each network it is on, labelled with its address. Drawn from the plan. */
function drawTopology(container, topo) {
  const w = 150, top = 20, boxH = 34, gap = 50, netH = 46;
  const width = Math.max(topo.vms.length * w + 40, 420);
  const height = top + boxH + gap + topo.networks.length * netH + 10;
  // Drawn at its natural size (CSS only shrinks it to fit a narrow panel).
  const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'topology'});
  const netY = {};
  topo.networks.forEach((n, i) => {
    const y = top + boxH + gap + i * netH;
    netY[n.name] = y;
    root.append(svg('line', {x1: 10, x2: width - 10, y1: y, y2: y, class: 'net' + (n.forward ? ' fwd' : '')}));
    root.append(svg('text', {x: width - 12, y: y - 6, 'text-anchor': 'end', class: 'netlabel'}, `${n.name} ${n.cidr}`));
  });
  topo.vms.forEach((vm, j) => {
    const x = 20 + j * w;
    vm.nics.forEach((nic, k) => {
      const cx = x + 20 + k * 14;
      root.append(svg('line', {x1: cx, x2: cx, y1: top + boxH, y2: netY[nic.network], class: 'nic'}));
      root.append(svg('circle', {cx, cy: netY[nic.network], r: 3.5, class: 'nicdot'}));
      if (nic.address) root.append(svg('text', {x: cx + 5, y: netY[nic.network] + 15, class: 'addr'}, nic.address));
    });
    root.append(svg('rect', {x, y: top, width: w - 20, height: boxH, rx: 6, class: 'vm' + (vm.entry ? ' entry' : '')}));
    root.append(svg('text', {x: x + (w - 20) / 2, y: top + 22, 'text-anchor': 'middle', class: 'vmlabel'},
                    vm.name + (vm.entry ? ' ★' : '')));
  });
  container.replaceChildren(root);
}

function clockText(c) {
  if (!c || !c.started) return '';
  const m = Math.floor(c.elapsed_s / 60), s = c.elapsed_s % 60;
  return `${c.paused ? t('clock.paused') : t('clock.running')} · ${t('clock.elapsed')} ${m}:${String(s).padStart(2, '0')}`;
}

/* ----------------------------------------------------------- consoles */

/*
 * A terminal in the page bridged to a VM's serial console. Reconnects with
 * a backoff when the connection drops, until closed.
 */
class ConsoleView {
  constructor(container, statusEl, team, vm, watch) {
    this.container = container;
    this.statusEl = statusEl;
    this.team = team;
    this.vm = vm;
    this.watch = watch;
    this.closed = false;
    this.delay = 500;
    this.term = new Terminal({convertEol: false, cursorBlink: !watch, disableStdin: watch, scrollback: 5000,
                              fontFamily: 'monospace', fontSize: 14});
    this.fit = new FitAddon.FitAddon();
    this.term.loadAddon(this.fit);
    container.replaceChildren();
    this.term.open(container);
    this.fit.fit();
    this.onResize = () => { this.fit.fit(); };
    window.addEventListener('resize', this.onResize);
    this.term.onData(d => this.send('i' + d));
    this.term.onResize(({cols, rows}) => this.send('r' + cols + 'x' + rows));
    this.connect();
  }
  setStatus(key, extra) {
    this.statusEl.textContent = t(key) + (extra ? ': ' + extra : '');
    this.statusEl.dataset.state = key;
  }
  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({team: this.team, vm: this.vm, cols: this.term.cols, rows: this.term.rows});
    if (this.watch) q.set('watch', '1');
    this.setStatus('console.connecting');
    const ws = new WebSocket(`${proto}//${location.host}/ws/console?${q}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let fatal = false;
    ws.onmessage = ev => {
      if (typeof ev.data === 'string') {
        let m = {};
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.status === 'attached') {
          this.delay = 500;
          this.setStatus(m.mode === 'watch' ? 'console.watching' : 'console.attached');
          if (m.mode === 'control' && !this.prompted) { this.prompted = true; this.send('i\r'); }
        } else if (m.status === 'error') {
          fatal = true;
          this.setStatus('console.error', m.reason);
        } else if (m.status) {
          this.setStatus('console.closed', m.reason);
        }
        return;
      }
      this.term.write(new Uint8Array(ev.data));
    };
    ws.onclose = () => {
      if (this.closed) return;
      if (!fatal) this.setStatus('console.closed');
      setTimeout(() => { if (!this.closed) this.connect(); }, this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }
  /* The screen's text (scrollback included), read from the terminal's
   * buffer rather than from what happens to be drawn yet. */
  text() {
    const b = this.term.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join('\n');
  }
  send(s) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && !(this.watch && s[0] === 'i')) this.ws.send(s);
  }
  close() {
    this.closed = true;
    window.removeEventListener('resize', this.onResize);
    if (this.ws) this.ws.close();
    this.term.dispose();
  }
}

/* --------------------------------------------------------------- team */

let teamConsole = null;

function openTeamConsole(vm) {
  if (teamConsole) teamConsole.close();
  $('team-console-card').hidden = false;
  $('team-console-vm').textContent = vm;
  teamConsole = new ConsoleView($('team-console'), $('team-console-status'), state.session.team, vm, false);
  $('team-console').consoleView = teamConsole;
  teamConsole.term.focus();
}

async function takeHint(id, cost) {
  if (!confirm(t('hint.confirm', {cost}))) return;
  try {
    await api('POST', '/api/team/hints/' + encodeURIComponent(id), {});
    await loadTeam();
  } catch (e) {
    flash(e.status === 404 ? t('hint.none') : e.message, 'error');
  }
}

async function submitFlag(id, input, out) {
  try {
    const answer = input.value;
    const r = await api('POST', '/api/team/flags/' + encodeURIComponent(id), {answer});
    if (r.correct) {
      out.textContent = t('flag.correct') + ' +' + r.points;
      out.className = 'verdict ok';
    } else {
      const left = r.attempts_left >= 0 ? ' (' + t('flag.left', {n: r.attempts_left}) + ')' : '';
      out.textContent = (r.verdict === 'wrong' ? t('flag.wrong') : t('flag.' + r.verdict)) + left;
      out.className = 'verdict bad';
    }
    // The box may have been rebuilt while the answer was on its way.
    for (const box of [input, document.querySelector(`#team-flags li[data-id="${CSS.escape(id)}"] input`)]) {
      if (box && box.value === answer) box.value = '';
    }
    await loadTeam();
  } catch (e) {
    out.textContent = e.status === 429 ? t('flag.rate', {s: (e.data && e.data.retry_after) || 60})
                      : e.status === 409 ? t('flag.paused') : e.message;
    out.className = 'verdict bad';
  }
}

function hintButton(item) {
  const h = item.hints;
  if (!h || h.taken >= h.total || item.solved) return null;
  return el('button', {type: 'button', class: 'small', onclick: () => takeHint(item.id, h.next_cost)},
            `${t('hint.take')} (−${h.next_cost})`);
}

/* The flag boxes follow the event stream, which redraws the team view
 * whenever anything happens to the team (a command typed in its console is
 * enough). A box whose flag did not change is left in the page, so that a
 * half-typed answer keeps its text, caret and focus; a box that did change
 * (an attempt used, a hint taken) is rebuilt with the text carried over.
 * Replacing them all once lost an answer typed between a wrong verdict and
 * the redraw that followed it. */
function renderFlags(flags) {
  const list = $('team-flags');
  const old = {};
  for (const li of list.children) old[li.dataset.id] = li;
  const items = flags.map(f => {
    const key = JSON.stringify([state.lang, f.solved, f.attempts_left, f.max_attempts, f.points, f.hints]);
    const prev = old[f.id];
    if (prev && prev.dataset.key === key) return prev;
    const input = el('input', {type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-label': t('flag.answer'),
                               placeholder: t('flag.answer'), disabled: f.solved || f.attempts_left === 0});
    const oldInput = prev && prev.querySelector('input');
    const out = (prev && prev.querySelector('.verdict')) || el('span', {class: 'verdict'});
    const form = el('form', {class: 'flag', onsubmit: ev => { ev.preventDefault(); submitFlag(f.id, input, out); }},
                    input, el('button', {type: 'submit', disabled: f.solved || f.attempts_left === 0}, t('flag.submit')));
    const left = f.max_attempts ? ' · ' + t('flag.left', {n: f.attempts_left}) : '';
    const li = el('li', {'data-id': f.id, 'data-key': key, class: f.solved ? 'done' : ''},
                  el('span', {class: 'badge ' + (f.solved ? 'ok' : '')}, f.solved ? t('flag.solved') : f.id), ' ',
                  el('strong', {}, tx(f.question)), ` (${f.points} ${t('points')}${left}) `, hintButton(f),
                  tagList(f), f.solved ? null : form, out);
    if (oldInput && !input.disabled) {
      input.value = oldInput.value;
      li.refocus = document.activeElement === oldInput;
    }
    return li;
  });
  const same = items.length === list.children.length &&
               items.every((li, i) => li.dataset.id === list.children[i].dataset.id);
  if (same) {
    items.forEach((li, i) => { if (list.children[i] !== li) list.children[i].replaceWith(li); });
  } else {
    list.replaceChildren(...items);
  }
  for (const li of items) {
    if (li.refocus) { li.querySelector('input').focus(); delete li.refocus; }
  }
}

/* An objective's or flag's tags: technique ids (their names as tooltips),
 * then skills. */
function tagList(item) {
  const attack = item.attack || [], skills = item.skills || [];
  if (!attack.length && !skills.length) return null;
  return el('span', {class: 'tags'},
            ...attack.map(a => el('code', {class: 'tag', title: a.name || ''}, a.id)),
            ...skills.map(k => el('span', {class: 'tag skill'}, k)));
}

/* The team's coverage: each technique and skill of the scenario, marked
 * when an objective met or a flag solved carries it. */
function renderCoverage(c) {
  const card = $('team-coverage-card');
  card.hidden = !c || (!c.attack_total && !c.skills_total);
  if (card.hidden) return;
  const part = (title, list, met, total, label) => list.length ? [
    el('h3', {}, `${title} — ${t('coverage.count', {met, total})}`),
    el('ul', {class: 'coverage'}, ...list.map(x => el('li', {class: x.met ? 'done' : ''},
      el('span', {class: 'badge ' + (x.met ? 'ok' : '')}, x.met ? '✓' : '·'), ' ', ...label(x))))] : [];
  $('team-coverage').replaceChildren(
    ...part(t('coverage.attack'), c.attack, c.attack_met, c.attack_total, x => [el('code', {}, x.id), ' ', x.name || '']),
    ...part(t('coverage.skills'), c.skills, c.skills_met, c.skills_total, x => [x.skill]));
}

function renderTeam(v) {
  $('range-title').textContent = tx(v.scenario.title);
  $('team-scenario-title').textContent = `${tx(v.scenario.title)} — ${t('login.team')} ${v.team}`;
  $('team-briefing').textContent = tx(v.scenario.description);
  $('team-score').textContent = v.score;
  $('team-full').textContent = v.full_marks;
  $('team-rank').textContent = v.rank;
  $('team-hints-cost').textContent = v.hints_cost;
  $('team-clock').textContent = clockText(v.clock);
  $('team-clock').dataset.paused = v.clock && v.clock.paused ? '1' : '0';
  drawTopology($('team-topology'), v.topology);
  $('team-vms').tBodies[0].replaceChildren(...v.vms.map(vm => el('tr', {},
    el('td', {}, vm.name),
    el('td', {}, vm.addresses.map(a => `${a.network}: ${a.address || '-'}`).join(', ')),
    el('td', {}, tx(vm.description)),
    el('td', {}, vm.entry ? el('button', {type: 'button', 'data-vm': vm.name, onclick: () => openTeamConsole(vm.name)},
                               t('vm.console')) : ''))));
  $('team-objectives').replaceChildren(...v.objectives.map(o => el('li', {class: o.met ? 'done' : ''},
    el('span', {class: 'badge ' + (o.met ? 'ok' : '')}, o.met ? t('obj.met') : t('obj.notmet')), ' ',
    el('strong', {}, tx(o.title)), ` (${o.points} ${t('points')}, ${t('obj.' + o.mode)}) `, hintButton(o),
    tagList(o))));
  renderFlags(v.flags);
  renderCoverage(v.coverage);
  $('team-hints').replaceChildren(...v.hints.map(h => el('li', {},
    el('span', {class: 'badge'}, `${h.id} #${h.index + 1} −${h.cost}`), ' ', tx(h.text))));
}

async function loadTeam() {
  const [v, tl] = await Promise.all([api('GET', '/api/team'), api('GET', '/api/team/timeline')]);
  state.team = v;
  renderTeam(v);
  renderTimeline($('team-timeline'), tl.events);
}

/* -------------------------------------------------------------- admin */

let adminConsole = null;

function openAdminConsole(team, vm, watch) {
  if (adminConsole) adminConsole.close();
  $('admin-console').classList.remove('replay');
  $('admin-console-card').hidden = false;
  $('admin-console-vm').textContent = `T${team} ${vm}`;
  adminConsole = new ConsoleView($('admin-console'), $('admin-console-status'), team, vm, watch);
  $('admin-console').consoleView = adminConsole;
}

function renderMatrix(m) {
  $('range-title').textContent = tx(m.title);
  $('admin-freeze').textContent = m.frozen ? t('admin.unfreeze') : t('admin.freeze');
  $('admin-clock').textContent = m.clock && m.clock.paused ? t('clock.resume') : t('clock.pause');
  $('admin-clock-state').textContent = clockText(m.clock);
  $('admin-clock-state').dataset.paused = m.clock && m.clock.paused ? '1' : '0';
  const injSel = $('admin-inject');
  if (injSel.options.length !== m.inject_list.length) {
    injSel.replaceChildren(...m.inject_list.map(i => el('option', {value: i.id}, `${i.id}: ${tx(i.title)}`)));
  }
  if (!state.topologyDrawn) { drawTopology($('admin-topology'), m.topology); state.topologyDrawn = true; }
  state.matrix = m;
  const head = el('tr', {}, el('th', {}, t('board.rank')), el('th', {}, t('admin.team')), el('th', {}, t('admin.score')),
                  ...m.objective_list.map(o => el('th', {title: tx(o.title)}, o.id)),
                  ...m.flag_list.map(f => el('th', {title: tx(f.question), class: 'flagcol'}, f.id)));
  const rows = m.teams.slice().sort((a, b) => a.team - b.team).map(tm => el('tr', {'data-team': tm.team},
    el('td', {}, tm.rank), el('td', {}, 'T' + tm.team), el('td', {class: 'num'}, tm.score),
    ...m.objective_list.map(o => cell(tm.objectives.includes(o.id))),
    ...m.flag_list.map(f => cell(tm.flags.includes(f.id)))));
  $('admin-matrix').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
  renderAdminCoverage(m.coverage || []);
  const sel = $('admin-team');
  if (sel.options.length !== m.teams.length) {
    sel.replaceChildren(...m.teams.map(x => x.team).sort((a, b) => a - b).map(n => el('option', {value: n}, 'T' + n)));
    sel.value = state.adminTeam;
  }
}

/* Teams × the scenario's techniques and skills: which each team covered
 * (the tags of the objectives it met and the flags it solved). */
function renderAdminCoverage(list) {
  const first = list[0];
  const card = $('admin-coverage-card');
  card.hidden = !first || (!first.attack_total && !first.skills_total);
  if (card.hidden) return;
  const head = el('tr', {}, el('th', {}, t('admin.team')),
                  ...first.attack.map(a => el('th', {title: a.name || ''}, a.id)),
                  ...first.skills.map(k => el('th', {class: 'flagcol'}, k.skill)),
                  el('th', {}, t('coverage.attack')), el('th', {}, t('coverage.skills')));
  const rows = list.map(c => el('tr', {'data-team': c.team}, el('td', {}, 'T' + c.team),
    ...c.attack.map(a => cell(a.met)), ...c.skills.map(k => cell(k.met)),
    el('td', {class: 'num'}, `${c.attack_met}/${c.attack_total}`),
    el('td', {class: 'num'}, `${c.skills_met}/${c.skills_total}`)));
  $('admin-coverage').replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
}

function cell(ok) {
  return el('td', {class: ok ? 'cell ok' : 'cell'}, ok ? '✓' : '·');
}

async function loadAnswers() {
  const r = await api('GET', '/api/admin/answers?team=' + state.adminTeam);
  $('admin-answers').replaceChildren(...r.flags.map(f => el('li', {},
    el('span', {class: 'badge'}, f.id), ' ', el('code', {}, f.answer), f.kind === 'pattern' ? ' (pattern)' : '')));
}

async function loadAdminTimeline() {
  const r = await api('GET', '/api/admin/events?team=' + state.adminTeam);
  renderTimeline($('admin-timeline'), r.events.filter(ev => ev.team === state.adminTeam).slice(-300));
}

async function loadHealth() {
  const h = await api('GET', '/api/admin/health');
  const rows = [];
  const watched = {};
  for (const c of h.consoles) watched[`${c.team}/${c.vm}`] = c;
  for (const r of h.ranges) {
    for (const vm of r.vms || []) {
      const c = watched[`${vm.team}/${vm.vm}`];
      rows.push(el('tr', {},
        el('td', {}, 'T' + vm.team), el('td', {}, vm.vm + (vm.entry ? ' ★' : '')), el('td', {}, vm.state || ''),
        el('td', {}, vm.agent ? '✓' : '✗'),
        el('td', {}, c ? el('span', {class: 'badge', title: t('admin.sessions')}, `${c.clients}+${c.watchers}`) : null, ' ',
           el('button', {type: 'button', class: 'small', onclick: () => openAdminConsole(vm.team, vm.vm, true)},
              t('console.watch')), ' ',
           el('button', {type: 'button', class: 'small', onclick: () => openAdminConsole(vm.team, vm.vm, false)},
              t('console.open')), ' ',
           el('button', {type: 'button', class: 'small danger', onclick: () => revertVm(vm.team, vm.vm)},
              t('admin.revert')))));
    }
  }
  $('admin-health').tBodies[0].replaceChildren(...rows);
}

async function revertVm(team, vm) {
  if (!confirm(t('admin.revert_confirm', {team, vm}))) return;
  try {
    await api('POST', '/api/admin/revert', {team, vm});
    flash(t('admin.reverting', {team, vm}));
  } catch (e) { flash(e.message, 'error'); }
}

async function loadRecordings() {
  const r = await api('GET', '/api/admin/recordings');
  $('admin-recordings').replaceChildren(...r.recordings.slice(-50).reverse().map(ev => el('li', {},
    el('time', {}, fmtTime(ev.time_ms)), ` T${ev.team} ${ev.vm} ${ev.data.role} ${ev.data.mode} `,
    el('button', {type: 'button', class: 'small', onclick: () => replay(ev.data.recording)}, t('admin.replay')))));
}

/* Plays an asciicast v2 recording into the console panel. */
async function replay(id) {
  const r = await fetch('/api/admin/recordings/' + encodeURIComponent(id), {credentials: 'same-origin'});
  if (!r.ok) { flash('recording: ' + r.status, 'error'); return; }
  const lines = (await r.text()).split('\n').filter(Boolean).map(l => JSON.parse(l));
  if (adminConsole) adminConsole.close();
  adminConsole = null;
  $('admin-console-card').hidden = false;
  $('admin-console-vm').textContent = lines[0].title || id;
  $('admin-console-status').textContent = t('admin.replay');
  const term = new Terminal({cols: lines[0].width, rows: lines[0].height, disableStdin: true});
  $('admin-console').replaceChildren();
  $('admin-console').classList.add('replay');
  term.open($('admin-console'));
  const start = performance.now();
  let i = 1;
  const tick = () => {
    const now = (performance.now() - start) / 1000;
    while (i < lines.length && lines[i][0] <= now) {
      if (lines[i][1] === 'o') term.write(lines[i][2]);
      i++;
    }
    if (i < lines.length) setTimeout(tick, Math.min(250, Math.max(10, (lines[i][0] - now) * 1000)));
  };
  tick();
  adminConsole = {close: () => { i = lines.length; term.dispose(); }};
  $('admin-console').consoleView = {text: () => ConsoleView.prototype.text.call({term})};
}

async function loadAdmin() {
  renderMatrix(await api('GET', '/api/admin/matrix'));
  await loadAdminTimeline();
}

/* -------------------------------------------------------------- live */

let stream = null;

function startStream(onChange) {
  if (stream) stream.close();
  stream = new EventSource('/api/stream');
  const badge = state.session.role === 'instructor' ? $('admin-live') : null;
  let pending = false;
  stream.addEventListener('change', () => {
    if (badge) badge.textContent = t('live') + ' ●';
    if (pending) return;
    pending = true;
    setTimeout(async () => { pending = false; try { await onChange(); } catch (e) { /* next change retries */ } }, 200);
  });
  stream.onerror = () => { if (badge) badge.textContent = t('live') + ' ○'; };
}

/* --------------------------------------------------------- scoreboard */

async function loadBoard() {
  const b = await api('GET', '/api/scoreboard');
  $('range-title').textContent = tx(b.title);
  $('board-frozen').hidden = !b.frozen;
  $('board').tBodies[0].replaceChildren(...b.teams.map(tm => el('tr', {},
    el('td', {}, tm.rank), el('td', {}, 'T' + tm.team), el('td', {class: 'num'}, tm.score),
    el('td', {}, tm.reached ? fmtTime(Date.parse(tm.reached)) : '-'))));
}

/* -------------------------------------------------------------- start */

async function route() {
  applyI18n();
  if (location.pathname === '/scoreboard') {
    show('scoreboard');
    await loadBoard();
    setInterval(() => loadBoard().catch(() => {}), 5000);
    return;
  }
  try {
    state.session = await api('GET', '/api/session');
  } catch (e) {
    state.session = null;
  }
  if (!state.session) {
    show('login');
    return;
  }
  if (state.session.role === 'team') {
    if (location.pathname !== '/team') history.replaceState(null, '', '/team');
    show('team');
    await loadTeam();
    startStream(loadTeam);
  } else {
    if (location.pathname !== '/admin') history.replaceState(null, '', '/admin');
    show('admin');
    await loadAdmin();
    startStream(loadAdmin);
    loadHealth().catch(e => flash('health: ' + e.message, 'error'));
    loadRecordings().catch(() => {});
    setInterval(() => { loadHealth().catch(() => {}); loadRecordings().catch(() => {}); }, 15000);
  }
}

async function login(body) {
  try {
    await api('POST', '/api/login', body);
    location.reload();
  } catch (e) {
    flash(t('login.failed') + e.message, 'error');
  }
}

$('login-team').addEventListener('submit', ev => {
  ev.preventDefault();
  login({team: parseInt($('login-team-number').value, 10), token: $('login-token').value.trim()});
});
$('login-admin').addEventListener('submit', ev => {
  ev.preventDefault();
  login({password: $('login-password').value});
});
$('lang').addEventListener('click', () => {
  state.lang = state.lang === 'ja' ? 'en' : 'ja';
  localStorage.setItem('crange.lang', state.lang);
  applyI18n();
  if (state.team) renderTeam(state.team);
  if (state.matrix) renderMatrix(state.matrix);
});
$('logout').addEventListener('click', async () => {
  try { await api('POST', '/api/logout', {}); } catch (e) { /* gone already */ }
  location.href = '/';
});
$('admin-team').addEventListener('change', ev => {
  state.adminTeam = parseInt(ev.target.value, 10);
  loadAdminTimeline().catch(e => flash(e.message, 'error'));
  if (!$('admin-answers-box').hidden) loadAnswers().catch(e => flash(e.message, 'error'));
});
$('admin-answers-show').addEventListener('click', () => {
  $('admin-answers-box').hidden = !$('admin-answers-box').hidden;
  if (!$('admin-answers-box').hidden) loadAnswers().catch(e => flash(e.message, 'error'));
});
$('admin-clock').addEventListener('click', async () => {
  await api('POST', '/api/admin/clock', {paused: !(state.matrix && state.matrix.clock && state.matrix.clock.paused)});
  await loadAdmin();
});
$('admin-fire').addEventListener('click', async () => {
  const id = $('admin-inject').value;
  if (!id) return;
  try {
    const r = await api('POST', '/api/admin/injects/' + encodeURIComponent(id), {team: state.adminTeam});
    flash(`T${r.team} ${r.inject}: ` + (r.fired ? t('admin.fired') : t('admin.already_fired')), r.fired ? '' : 'error');
    await loadAdminTimeline();
  } catch (e) { flash(e.message, 'error'); }
});
$('admin-freeze').addEventListener('click', async () => {
  await api('POST', '/api/admin/freeze', {frozen: !(state.matrix && state.matrix.frozen)});
  await loadAdmin();
});
$('admin-console-close').addEventListener('click', () => {
  if (adminConsole) adminConsole.close();
  adminConsole = null;
  $('admin-console-card').hidden = true;
});

route().catch(e => flash(e.message, 'error'));
