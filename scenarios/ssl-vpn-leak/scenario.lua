-- ssl-vpn-leak: an SSL-VPN gateway whose credentials are on a leaked list
-- (case 2 of the scenario cases). The gateway was patched three days ago,
-- but the passwords read from it before the patch still work: an attacker
-- has signed in with one of them since, and still holds a session. The team
-- finds the leaked account and the attacker's address in the gateway's
-- logs, resets the leaked passwords, turns on a second factor (TOTP) without
-- locking out the teleworker, and ends the attacker's sessions.
--
-- The "gateway" is an emulation on the tiny image: busybox httpd with CGI
-- pages in sh (files/gw), accounts with SHA-512 crypt hashes, RFC 6238 TOTP
-- (lib/totp.lua), sessions as files. Every check signs in to it over the
-- range's network, from the attacker's host or the teleworker's PC.

scenario {
  id = "ssl-vpn-leak",
  title = {
    ja = "SSL-VPN 認証情報の流出: パッチだけでは終わらない",
    en = "Leaked SSL-VPN credentials: patching is not enough",
  },
  description = {
    ja = "2020 年、脆弱性 (CVE-2019-11510、CVE-2018-13379) を突いて集められた SSL-VPN 機器の認証情報の一覧が"
      .. "公開され、日本の組織も含まれていた。株式会社みなと精機の SSL-VPN ゲートウェイは 3 日前に修正済みの"
      .. "ファームウェアに更新されたが、JPCERT/CC (模擬) から、このゲートウェイのアカウントが流出リストに載っている"
      .. "との連絡が届いた。ログから悪用されたアカウントと攻撃者の接続元を特定し、流出したパスワードを変更し、"
      .. "在宅勤務者が使い続けられるように二要素認証を有効にして、攻撃者のセッションを切断せよ。",
    en = "In 2020, lists of SSL-VPN credentials harvested through vulnerabilities (CVE-2019-11510, "
      .. "CVE-2018-13379) were published, with Japanese organisations on them. Minato Seiki's SSL-VPN gateway was "
      .. "updated to fixed firmware three days ago, but JPCERT/CC (emulated) now reports that accounts of this "
      .. "gateway are on a leaked list. Find the abused account and the attacker's address in the gateway's logs, "
      .. "reset the leaked passwords, turn on a second factor without locking out the teleworker, and end the "
      .. "attacker's sessions.",
  },
  sources = {
    "JPCERT/CC at190033: 複数の SSL VPN 製品の脆弱性に関する注意喚起 (Pulse Connect Secure CVE-2019-11510, FortiOS CVE-2018-13379); 2020-08: a list of ~900 Pulse Secure servers with credentials circulated, Japanese firms on it",
    "Fortinet PSIRT, CVE-2018-13379 (FG-IR-18-384): 2020-11 a list with plaintext credentials of FortiOS SSL-VPN devices; 2021: credentials of ~87,000 devices published, ~1,350 of them in Japan",
    "サイバーセキュリティタスクフォース事務局, IoT・5Gセキュリティ総合対策2020(案) (2020-07-17): telework security",
  },
  teams = 2,
}

local TOTP = require "lib.totp"
local CLIENT = require "lib.client"

local internet = network { name = "internet", cidr = "203.0.113.0/24" }
local GW = internet:host(10)
local GW_PORT = 10443

local v = vars {
  used      = random.word({ secret = true }),                     -- the leaked account the attacker uses
  attacker  = random.host(internet, 100, 199, { secret = true }), -- its address
  pc        = random.host(internet, 20, 99, { unique = false }),
  mix       = random.int(1, 2000000000, { secret = true }),       -- everything else of the story
  used_pw   = random.password(10, { secret = true }),
  leak2_pw  = random.password(10, { secret = true }),
  leak3_pw  = random.password(10, { secret = true }),
  gone_pw   = random.password(10, { secret = true }),
  tele_pw   = random.password(14),
  new_pw    = random.password(16, { secret = true }),             -- the reference solution's
}

-- The story's other names, passwords and addresses come from a small
-- deterministic generator seeded by the team's secret (a 64-bit LCG).
local state = tonumber(v.mix)
local function rnd(n) -- 1..n
  state = state * 6364136223846793005 + 1442695040888963407
  return ((state >> 33) % n) + 1
end
local ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
local function password(len)
  local t = {}
  for i = 1, len do local k = rnd(#ALNUM); t[i] = ALNUM:sub(k, k) end
  return table.concat(t)
end

local NAMES = {
  "sato", "suzuki", "takahashi", "watanabe", "ito", "yamamoto", "nakamura", "kobayashi", "kato",
  "yoshida", "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue", "kimura", "shimizu", "yamazaki",
  "ikeda", "hashimoto", "ishikawa", "ogawa", "okada", "hasegawa", "murakami", "kondo", "fujita", "endo",
}
local pool = {}
for _, n in ipairs(NAMES) do if n ~= v.used then pool[#pool + 1] = n end end
local function draw()
  return table.remove(pool, rnd(#pool))
end

-- The accounts: the teleworker (on the PC), the three leaked ones, four
-- more; "gone" was leaked too but has been deleted since.
local tele, leak2, leak3, gone = draw(), draw(), draw(), draw()
local accounts = {
  { name = v.used, pw = v.used_pw }, { name = leak2, pw = v.leak2_pw }, { name = leak3, pw = v.leak3_pw },
  { name = tele, pw = v.tele_pw, home = v.pc },
}
for _ = 1, 4 do accounts[#accounts + 1] = { name = draw(), pw = password(12) } end
for i, a in ipairs(accounts) do
  a.home = a.home or ("203.0.113." .. (200 + i * 6 + rnd(5)))
end
-- Shuffled, so that the account file's order gives nothing away.
for i = #accounts, 2, -1 do
  local j = rnd(i)
  accounts[i], accounts[j] = accounts[j], accounts[i]
end
local LEAKED = {
  { name = gone, pw = v.gone_pw }, { name = v.used, pw = v.used_pw },
  { name = leak2, pw = v.leak2_pw }, { name = leak3, pw = v.leak3_pw },
}

-- What the gateway's vpn-seed reads (then deletes).
local seed = { "mix " .. v.mix }
for _, a in ipairs(accounts) do seed[#seed + 1] = table.concat({ "user", a.name, a.pw, a.home }, " ") end
seed[#seed + 1] = table.concat({ "attacker", v.attacker, v.used, gone }, " ")

-- The leaked list as it circulated: other organisations' gateways (fictional
-- addresses, names and passwords) and this gateway's four lines among them.
local list = {
  "# vpn-creds-2020.txt (抜粋 / excerpt) -- 演習用に作成した架空のリスト / a fictional list made for this exercise",
  "# address:port | user | password",
}
local ours, n_lines = {}, 36
for i, a in ipairs(LEAKED) do ours[(i * 9 + rnd(4)) % n_lines + 1] = a end
for i = 1, n_lines do
  if ours[i] then
    list[#list + 1] = GW .. ":" .. GW_PORT .. " | " .. ours[i].name .. " | " .. ours[i].pw
  else
    local net = rnd(2) == 1 and "192.0.2." or "198.51.100."
    local host = net .. rnd(250) .. ":" .. ({ 443, 10443, 8443 })[rnd(3)]
    list[#list + 1] = host .. " | " .. NAMES[rnd(#NAMES)] .. ({ "", ".admin", "01", "_vpn" })[rnd(4)]
      .. " | " .. password(8 + rnd(4))
  end
end

local NOTICE = table.concat({
  "==== JPCERT/CC からの連絡 (演習用の模擬) / A notice from JPCERT/CC (emulated for the exercise) ====",
  "",
  "株式会社みなと精機 情報システム部 御中",
  "",
  "インターネット上で公開された SSL-VPN 機器の認証情報の一覧に、貴組織の SSL-VPN ゲートウェイ",
  "(" .. GW .. ":" .. GW_PORT .. ") のアカウントとパスワードが含まれていることを確認しました。",
  "一覧は、修正前のファームウェアの任意ファイル読み取りの脆弱性 (CVE-2019-11510、CVE-2018-13379 と同種) を",
  "突いて集められたものと考えられます。該当する一覧を /root/incident/leaked-list.txt に添付します。",
  "",
  "ファームウェアを更新しても、すでに窃取されたパスワードは有効なままです。次の対応をお願いします:",
  "  1. ログ (/var/log/vpn/) で、一覧のアカウントによる不審なログインがないか確認する",
  "  2. 一覧に載ったアカウントのパスワードを変更する",
  "  3. 多要素認証を有効にする",
  "  4. 不審なセッションを切断する",
  "",
  "Accounts and passwords of your SSL-VPN gateway (" .. GW .. ":" .. GW_PORT .. ") are on a list of SSL-VPN",
  "credentials published on the internet, most likely harvested through the arbitrary file read of older",
  "firmware (of the kind of CVE-2019-11510 and CVE-2018-13379). The list is attached as",
  "/root/incident/leaked-list.txt. Updating the firmware does not revoke stolen passwords. Please:",
  "  1. check the logs (/var/log/vpn/) for suspicious sign-ins with the listed accounts,",
  "  2. change the passwords of the listed accounts,",
  "  3. turn on multi-factor authentication,",
  "  4. end suspicious sessions.",
  "",
}, "\n")

-- The VMs ---------------------------------------------------------------------

local common = {
  file { content = TOTP, dest = "/usr/lib/vpn/totp.sh" },
  file { content = CLIENT, dest = "/usr/lib/vpn/client.sh" },
  file { content = GW .. "\n", dest = "/etc/vpn-gateway" },
}
local function steps(list)
  local out = {}
  for _, s in ipairs(common) do out[#out + 1] = s end
  for _, s in ipairs(list) do out[#out + 1] = s end
  return out
end

vm {
  name = "vpn",
  image = "tiny",
  memory = 128,
  entry = true,
  description = {
    ja = "SSL-VPN ゲートウェイ (模擬、" .. GW .. ":" .. GW_PORT .. ")。管理者のコンソール: まず /root/README.txt を読む",
    en = "The SSL-VPN gateway (emulated, " .. GW .. ":" .. GW_PORT .. "). The administrator's console: read /root/README.txt first",
  },
  nics = { { network = internet, address = GW } },
  provision = steps {
    file { src = "files/gw/common.sh", dest = "/usr/lib/vpn/common.sh" },
    file { src = "files/gw/cgi.sh", dest = "/usr/lib/vpn/cgi.sh" },
    file { src = "files/gw/login", dest = "/srv/vpn/cgi-bin/login", mode = "0755" },
    file { src = "files/gw/portal", dest = "/srv/vpn/cgi-bin/portal", mode = "0755" },
    file { src = "files/gw/logout", dest = "/srv/vpn/cgi-bin/logout", mode = "0755" },
    file { src = "files/gw/index.html", dest = "/srv/vpn/index.html" },
    file { src = "files/gw/vpnctl", dest = "/usr/sbin/vpnctl", mode = "0755" },
    file { src = "files/gw/vpn-seed", dest = "/usr/sbin/vpn-seed", mode = "0755" },
    file { src = "files/gw/README.txt", dest = "/root/README.txt" },
    file { content = table.concat(seed, "\n") .. "\n", dest = "/etc/vpn/seed", mode = "0600" },
    file { content = NOTICE, dest = "/root/incident/notice.txt" },
    file { content = table.concat(list, "\n") .. "\n", dest = "/root/incident/leaked-list.txt" },
    run { cmd = "/usr/sbin/vpn-seed && busybox httpd -p " .. GW .. ":" .. GW_PORT .. " -h /srv/vpn", timeout = 300 },
  },
}

vm {
  name = "pc",
  image = "tiny",
  memory = 128,
  entry = true,
  description = {
    ja = "在宅勤務者 (" .. tele .. ") の PC: VPN クライアント vpn-connect と認証アプリ authenticator (模擬)",
    en = "The teleworker's (" .. tele .. ") PC: the VPN client vpn-connect and the authenticator app (emulated)",
  },
  nics = { { network = internet, address = v.pc } },
  provision = steps {
    file { src = "files/pc/vpn-connect", dest = "/usr/bin/vpn-connect", mode = "0755" },
    file { src = "files/pc/authenticator", dest = "/usr/bin/authenticator", mode = "0755" },
    file { dest = "/root/.vpn/account", mode = "0600",
           content = "user=" .. tele .. "\npassword=" .. v.tele_pw .. "\n" },
    file { dest = "/root/README.txt", content =
      "在宅勤務用 PC / The teleworker's PC\n"
      .. "  vpn-connect            会社の VPN に接続 / connect to the company VPN (" .. GW .. ":" .. GW_PORT .. ")\n"
      .. "  vpn-connect --logout   切断 / disconnect\n"
      .. "  authenticator          認証アプリ: 現在のワンタイムコード / the authenticator app: the current one-time code\n"
      .. "  /root/.vpn/account     VPN のアカウント (user=, password=) / the VPN account\n"
      .. "  /root/.vpn/otp-key     認証アプリの鍵 (16 進数、情報システム部から配布) / the authenticator's key (hex, from IT)\n" },
  },
}

-- $1: the attacker's address. Gives it to the NIC, then signs in with the
-- leaked list until a session is on (the gateway may still be booting),
-- then starts the tunnel's keepalive.
local ATTACKER_START = [[
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip addr add "$1" dev "$dev" && ip link set "$dev" up || exit 1
i=0
until [ -s /root/loot/sessions ] || [ $i -ge 60 ]; do
  /usr/bin/vpn-attack
  [ -s /root/loot/sessions ] || sleep 4
  i=$((i + 1))
done
[ -s /root/loot/sessions ] || { echo "the attacker never signed in" >&2; exit 1; }
start-stop-daemon -S -b -x /usr/bin/vpn-keepalive
]]

-- No static address in the model: the portal lists every VM's addresses,
-- and this one is a flag. It takes its address at provisioning.
vm {
  name = "attacker",
  image = "tiny",
  memory = 128,
  description = {
    ja = "インターネット上の攻撃者 (模擬、訓練生は操作しない)",
    en = "The attacker on the internet (emulated; not for trainees)",
  },
  nics = { { network = internet } },
  provision = steps {
    file { src = "files/attacker/vpn-attack", dest = "/usr/bin/vpn-attack", mode = "0755" },
    file { src = "files/attacker/vpn-keepalive", dest = "/usr/bin/vpn-keepalive", mode = "0755" },
    file { dest = "/root/leaked.txt", mode = "0600", content = (function()
      local t = {}
      for _, a in ipairs(LEAKED) do t[#t + 1] = a.name .. " " .. a.pw end
      return table.concat(t, "\n") .. "\n"
    end)() },
    -- The address, then the sign-in that is still on when the exercise
    -- starts (the gateway may still be booting), then the tunnel's keepalive.
    run { "sh", "-c", ATTACKER_START, "attacker-start", v.attacker .. "/24", timeout = 300 },
  },
}

-- The exercise ----------------------------------------------------------------

-- Each check signs in over the network with its own copy of the client and
-- TOTP code (never the guests' tools, which trainees can change) and reads
-- only the gateway's one-line answers. GW reaches the scripts as $GW.
local function script(body)
  return "GW=" .. GW .. "\n" .. TOTP .. CLIENT .. body
end

-- stdin: "USER PASSWORD" lines. One "USER result=..." line each; a session
-- that a sign-in still gets is ended at once.
local TRY_LEAKED = script [[
while read -r user pw; do
  r=$(vpn_login "$user" "$pw")
  case $r in result=ok\ sid=*) vpn_logout "${r#result=ok sid=}" >/dev/null ;; esac
  echo "$user $r"
done
]]

-- The attacker's sessions, each through the portal: one answer line each.
local TRY_SESSIONS = script [[
[ -r /root/loot/sessions ] || { echo "no loot"; exit 3; }
grep -E '^[0-9a-f]{32}$' /root/loot/sessions | while read -r sid; do
  echo "$(vpn_portal "$sid")"
done
]]

-- The teleworker, from the PC, with the account and key the PC holds: the
-- password alone, a wrong code, the right code (then the portal through
-- that session, then sign-out). $1: the teleworker's account name.
local TRY_TELEWORKER = script [[
user=$(sed -n 's/^user=//p' /root/.vpn/account 2>/dev/null | head -n 1)
pw=$(sed -n 's/^password=//p' /root/.vpn/account 2>/dev/null | head -n 1)
key=$(tr -d ' \n' 2>/dev/null < /root/.vpn/otp-key)
[ "$user" = "$1" ] || { echo "not the teleworker's account"; exit 3; }
code=$(totp "$key") || { echo "no key on the PC"; exit 3; }
wrong=$(printf '%06d' $(( (1${code} - 1000000 + 500000) % 1000000 )))
# try STEP [CODE]: one sign-in; a session it gets goes through the portal
# (for the right code) and is ended at once.
try() {
  r=$(vpn_login "$user" "$pw" "$2")
  echo "$1 $r"
  case $r in
  result=ok\ sid=*)
    sid=${r#result=ok sid=}
    [ "$1" != right ] || echo "portal $(vpn_portal "$sid")"
    vpn_logout "$sid" >/dev/null ;;
  esac
}
try alone
try wrong "$wrong"
try right "$code"
]]

local function first_line(s)
  return (s or ""):match("^[^\n]*"):sub(1, 120)
end

flag {
  id = "leaked_account",
  attack = { "T1078", "T1133", "T1589.001" },
  skills = { "log analysis", "credential leak triage" },
  question = {
    ja = "ファームウェア更新の後に、流出したパスワードで攻撃者がログインしたアカウント名は?",
    en = "Which account did the attacker sign in with, using a leaked password, after the firmware update?",
  },
  points = 10,
  max_attempts = 5,
  answer = function(vars) return vars.used end,
  hints = {
    { ja = "/root/incident/leaked-list.txt から、このゲートウェイ (" .. GW .. ") の行を探します。",
      en = "Find this gateway's (" .. GW .. ") lines in /root/incident/leaked-list.txt.", cost = 2 },
    { ja = "/var/log/vpn/system.log で更新の日時を確かめ、それより後の /var/log/vpn/auth.log の login ok を、一覧のアカウントで絞り込みます。",
      en = "Take the update's time from /var/log/vpn/system.log, then look at the login ok lines of /var/log/vpn/auth.log after it, for the listed accounts.",
      cost = 3 },
  },
}

flag {
  id = "attacker_ip",
  attack = { "T1078", "T1133" },
  skills = { "log analysis", "incident scoping" },
  question = {
    ja = "攻撃者の接続元 IP アドレスは?",
    en = "From which IP address does the attacker connect?",
  },
  points = 10,
  max_attempts = 5,
  answer = function(vars) return vars.attacker end,
  hints = {
    { ja = "vpnctl sessions と auth.log の src= を見比べます。その利用者がいつも使うアドレスではないものは?",
      en = "Compare vpnctl sessions with the src= of auth.log. Which address is not the one that user always comes from?",
      cost = 3 },
  },
}

objective {
  id = "reset_leaked",
  attack = { "T1078", "T1110.004" },
  skills = { "password reset", "credential hygiene" },
  title = {
    ja = "一覧に載った (今もある) アカウントすべてのパスワードを変更する: 流出したパスワードでのログインがゲートウェイに拒否される",
    en = "Change the password of every listed account that still exists: the gateway refuses the leaked passwords",
  },
  points = 20,
  mode = "hold",
  prereqs = { "leaked_account" },
  hints = {
    { ja = "このゲートウェイの行は 4 つあります。1 つは削除済みのアカウントです (vpnctl users)。",
      en = "This gateway has 4 lines on the list; one of them is an account deleted since (vpnctl users).", cost = 2 },
    { ja = "vpnctl passwd USER で変更します。攻撃者の接続元を遮断するだけでは不可: ゲートウェイ自身がパスワードを拒否すること。",
      en = "vpnctl passwd USER. Blocking the attacker's address does not count: the gateway itself must refuse the password.",
      cost = 3 },
  },
  check = function(ctx)
    local input = {}
    for _, a in ipairs { { ctx.vars.used, ctx.vars.used_pw }, { leak2, ctx.vars.leak2_pw }, { leak3, ctx.vars.leak3_pw } } do
      input[#input + 1] = a[1] .. " " .. a[2]
    end
    local r = ctx.vm("attacker"):exec { "sh", "-c", TRY_LEAKED, input = table.concat(input, "\n") .. "\n" }
    local denied = 0
    for line in r.stdout:gmatch("[^\n]+") do
      local user, result = line:match("^(%S+) result=(%S+)")
      if result ~= "denied" then error("the leaked password of " .. tostring(user) .. " got: " .. first_line(line)) end
      denied = denied + 1
    end
    return r.code == 0 and denied == 3
  end,
}

objective {
  id = "mfa",
  attack = { "T1078", "T1133" },
  skills = { "multi-factor authentication", "TOTP" },
  title = {
    ja = "二要素認証 (TOTP) を全アカウントで必須にし、在宅勤務者は PC の認証アプリで引き続き接続できる",
    en = "Require a second factor (TOTP) for every account, and keep the teleworker connecting with the authenticator on the PC",
  },
  points = 25,
  mode = "hold",
  hints = {
    { ja = "vpnctl otp USER で鍵を発行し、在宅勤務者の PC の /root/.vpn/otp-key に書きます。vpnctl require-otp on で必須にします。",
      en = "vpnctl otp USER issues a key; write it to /root/.vpn/otp-key on the teleworker's PC. vpnctl require-otp on makes it mandatory.",
      cost = 4 },
    { ja = "PC で vpn-connect を実行して、コード付きで接続できることを確かめます。在宅勤務者のパスワードを変えたら /root/.vpn/account も更新します。",
      en = "Run vpn-connect on the PC to see that it connects with a code. If you change the teleworker's password, update /root/.vpn/account too.",
      cost = 2 },
  },
  check = function(ctx)
    local r = ctx.vm("pc"):exec { "sh", "-c", TRY_TELEWORKER, "check", tele }
    if r.code ~= 0 then error(first_line(r.stdout)) end
    local got = {}
    for step, result in r.stdout:gmatch("(%a+) result=(%S+)") do got[step] = got[step] or result end
    if got.alone ~= "otp_required" then error("the password alone got " .. tostring(got.alone)) end
    if got.wrong ~= "denied" then error("a wrong code got " .. tostring(got.wrong)) end
    if got.right ~= "ok" then error("the right code got " .. tostring(got.right)) end
    return got.portal == "ok"
  end,
}

objective {
  id = "cut_session",
  attack = { "T1563", "T1133" },
  skills = { "session management", "containment" },
  title = {
    ja = "攻撃者のセッションを切断する (攻撃者が持つセッションがすべて無効になる)",
    en = "End the attacker's sessions (every session the attacker holds is refused)",
  },
  points = 20,
  mode = "hold",
  hints = {
    { ja = "vpnctl sessions で一覧し、vpnctl kill SID (または --user、--src) で切断します。",
      en = "vpnctl sessions lists them; vpnctl kill SID (or --user, --src) ends them.", cost = 3 },
    { ja = "パスワードを変える前に切断しても、攻撃者はまたログインします。",
      en = "End them before the passwords change and the attacker signs in again.", cost = 2 },
  },
  check = function(ctx)
    local r = ctx.vm("attacker"):exec { "sh", "-c", TRY_SESSIONS }
    if r.code ~= 0 then error(first_line(r.stdout)) end
    local n = 0
    for line in r.stdout:gmatch("[^\n]+") do
      if line ~= "result=invalid_session" then error("an attacker's session got: " .. first_line(line)) end
      n = n + 1
    end
    return n > 0
  end,
}

-- Injects: the attacker comes back through the list, on a timer.
for i, at in ipairs { "5m", "15m", "30m" } do
  inject {
    id = "attacker_returns_" .. i,
    title = {
      ja = "攻撃者が流出リストのアカウントで再びログインを試みる (" .. i .. " 回目)",
      en = "The attacker tries the leaked accounts again (time " .. i .. ")",
    },
    at = at,
    run = { vm = "attacker", argv = { "/usr/bin/vpn-attack" } },
  }
end

-- The reference solution --------------------------------------------------------

-- On the gateway. stdin: "USER NEWPASSWORD" for each listed account; $1: the
-- teleworker. Passwords first, then the second factor, then the sessions, so
-- that the attacker cannot sign in again in between. Prints the
-- teleworker's key.
local SOLUTION_GW = [=[
set -e
leaked=
while read -r user pw; do
  vpnctl users | awk 'NR > 1 { print $1 }' | grep -qx "$user" || continue
  printf '%s\n' "$pw" | vpnctl passwd "$user" >/dev/null
  leaked="$leaked $user"
done
for user in $(vpnctl users | awk 'NR > 1 { print $1 }'); do
  key=$(vpnctl otp "$user" | sed -n 's/^key=//p')
  [ "$user" = "$1" ] && echo "$key"
done
vpnctl require-otp on >/dev/null
for user in $leaked; do vpnctl kill --user "$user" >/dev/null; done
]=]

solution(function(ctx)
  local gw, pc = ctx.vm("vpn"), ctx.vm("pc")

  -- This gateway's lines of the list.
  local list = gw:read_file("/root/incident/leaked-list.txt") or error("no leaked list on the gateway")
  local listed, pws = {}, {}
  local prefix = GW .. ":" .. GW_PORT .. " | "
  for line in list:gmatch("[^\n]+") do
    if line:sub(1, #prefix) == prefix then
      local user, pw = line:sub(#prefix + 1):match("^(%S+) | (%S+)$")
      if user then listed[user] = true; pws[#pws + 1] = user end
    end
  end

  -- The update's time, then a listed account's sign-in after it from an
  -- address that account had never used before it.
  local sys = gw:read_file("/var/log/vpn/system.log") or ""
  local patched = sys:match("(%S+) vpn%-gw: +firmware update") or error("no firmware update in system.log")
  local auth = gw:read_file("/var/log/vpn/auth.log") or ""
  local seen, user, src = {}, nil, nil
  for t, u, s in auth:gmatch("(%S+) vpn%-gw%[%d+%]: login ok user=(%S+) src=(%S+)") do
    if t <= patched then
      seen[u .. " " .. s] = true
    elseif listed[u] and not seen[u .. " " .. s] then
      user, src = u, s
    end
  end
  if not user then error("no sign-in with a listed account after the update") end
  for id, answer in pairs { leaked_account = user, attacker_ip = src } do
    local verdict = ctx.submit(id, answer)
    if verdict ~= "correct" then error(id .. ": " .. verdict) end
  end

  -- New passwords, the second factor, the sessions.
  local input = {}
  for i, u in ipairs(pws) do input[#input + 1] = u .. " " .. ctx.vars.new_pw .. i end
  local account = pc:read_file("/root/.vpn/account") or error("no VPN account on the PC")
  local teleworker = account:match("user=([%w_-]+)") or error("no user in the PC's VPN account")
  local r = gw:exec { "sh", "-c", SOLUTION_GW, "solution", teleworker, input = table.concat(input, "\n") .. "\n" }
  local key = r.stdout:match("^(%x+)%s*$")
  if r.code ~= 0 or not key then error("fixing the gateway: " .. r.stderr) end

  -- The teleworker's authenticator, and a connection with it.
  r = pc:exec { "sh", "-c", "umask 077 && cat > /root/.vpn/otp-key && vpn-connect && vpn-connect --logout", input = key .. "\n" }
  if r.code ~= 0 then error("the teleworker cannot connect: " .. r.stdout .. r.stderr) end
end)
