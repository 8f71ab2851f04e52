-- account-takeover: account takeover at a payment service (case 8 of the
-- scenario cases). A smartphone payment service signs customers in with an
-- account number and a 4-digit PIN, with no limit on failures, no second
-- step, and a "forgot your PIN" form that mails the reset link to any
-- address the requester types in. An attacker has sprayed one common PIN
-- over a list of accounts (a reverse brute force, as in the docomo account
-- case) and taken an account through a reset sent to its own address (as in
-- the 7pay case). The team finds both in the log, then stops them without
-- locking out the genuine customer: a limit per source address or
-- two-step verification, and resets that go only to the registered address.
--
-- The service is an emulation on the tiny image: busybox httpd with CGI
-- pages in sh (files/pay), PINs as salted SHA-256, failure counters and
-- pending codes and tokens as files, its settings in /etc/pay/pay.conf. The
-- mail provider is another busybox httpd (files/inet) with a delivery API
-- and POP-like mailboxes; the same VM is the genuine customer's smartphone.
-- Every check speaks HTTP to them over the range's network, from the
-- attacker's host or the customer's phone.

scenario {
  id = "account-takeover",
  title = {
    ja = "決済サービスのアカウント乗っ取り: 4 桁の暗証番号と再設定メール",
    en = "Account takeover at a payment service: 4-digit PINs and reset mail",
  },
  description = {
    ja = "スマートフォン決済「すぐペイ」(架空) は、口座番号と 4 桁の暗証番号でログインでき、失敗回数の制限も"
      .. "二段階認証もない。暗証番号の再設定メールは、申込みで入力された別のアドレスにも送られる。"
      .. "身に覚えのない決済の問合せが相次いでいる。ログから、1 つの暗証番号を多数の口座に試す逆総当たり攻撃"
      .. "(2020 年 ドコモ口座の事案) と、攻撃者のアドレスへの再設定メール (2019 年 7pay の事案) を見つけ、"
      .. "正規の利用者のログインと再設定を止めずに、両方の手口を塞げ。",
    en = "The smartphone payment service SuguPay (fictional) signs customers in with an account number and a "
      .. "4-digit PIN, with no limit on failures and no second step, and its PIN reset mail also goes to another "
      .. "address typed in with the request. Customers report payments they never made. Find in the log the "
      .. "reverse brute force that tries one PIN against many accounts (the docomo account case, 2020) and the "
      .. "reset mail sent to the attacker's address (the 7pay case, 2019), then close both ways in without "
      .. "stopping genuine customers from signing in and resetting their PIN.",
  },
  sources = {
    "7pay (Seven Payment), 2019-07: no two-step verification, and PIN/password reset mail could be sent to an address other than the registered one; 808 victims, about 38.6 million yen (public reporting)",
    "docomo account (ドコモ口座), 2020-09: bank accounts linked with an account number and a 4-digit PIN; a reverse brute force (one PIN against many accounts) evaded per-account lock-out (public reporting)",
    "2025: eSIM takeovers at carriers with purchased credential lists (public reporting)",
    "サイバーセキュリティタスクフォース事務局, IoT・5Gセキュリティ総合対策2020(案) (2020-07-17)",
  },
  teams = 2,
}

local CLIENT = require "lib.client"

local internet = network { name = "internet", cidr = "203.0.113.0/24" }
local PAY = internet:host(10)
local MAIL = internet:host(25)
local COMMON_PIN = "1234"

local v = vars {
  mix          = random.int(1, 2000000000, { secret = true }),        -- the story: accounts, PINs, victims
  attacker     = random.host(internet, 100, 199, { secret = true }),  -- the attacker's address (a flag)
  attacker_box = random.word({ unique = false, secret = true }),
  attacker_tag = random.hex(2, { secret = true }),
  attacker_pw  = random.password(12, { secret = true }),              -- the attacker's mailbox
  customer_pw  = random.password(12),                                 -- the customer's mailbox
}

-- The story, from the team's secret number through a small deterministic
-- generator (a 64-bit LCG): the same for the scenario and for the flags'
-- answer functions, which see only vars.
local NAMES = {
  "sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto", "nakamura", "kobayashi", "kato",
  "yoshida", "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue", "kimura", "hayashi", "shimizu",
  "yamazaki", "mori", "abe", "ikeda", "hashimoto", "ishikawa", "ogawa", "okada", "hasegawa", "murakami",
}
-- PINs people choose most; no generated PIN is one of them.
local COMMON = {
  ["1234"] = true, ["0000"] = true, ["1111"] = true, ["1212"] = true, ["7777"] = true, ["1004"] = true,
  ["2000"] = true, ["4444"] = true, ["2222"] = true, ["6969"] = true, ["9999"] = true, ["3333"] = true,
  ["5555"] = true, ["6666"] = true, ["1122"] = true, ["1313"] = true, ["8888"] = true, ["4321"] = true,
  ["2001"] = true, ["1010"] = true, ["0123"] = true,
}
local N_ACCOUNTS, N_TARGETS = 18, 12

local function story(mix)
  local state = tonumber(mix)
  local function rnd(n) -- 1..n
    state = state * 6364136223846793005 + 1442695040888963407
    return ((state >> 33) % n) + 1
  end
  local function pin()
    while true do
      local p = string.format("%04d", rnd(10000) - 1)
      if not COMMON[p] then return p end
    end
  end
  local accounts, used, names = {}, {}, {}
  for _, n in ipairs(NAMES) do names[#names + 1] = n end
  for i = 1, N_ACCOUNTS do
    local acc
    repeat acc = "70" .. string.format("%08d", rnd(100000000) - 1) until not used[acc]
    used[acc] = true
    local name = table.remove(names, rnd(#names))
    accounts[i] = {
      acc = acc, name = name, pin = pin(), balance = 1000 * (rnd(60) + 2),
      email = name .. "." .. string.char(96 + rnd(26), 96 + rnd(26)) .. rnd(99) .. "@mail.example.jp",
    }
  end
  -- The attacker's list: the first N_TARGETS accounts. Between 3 and 5 of
  -- them have the common PIN, never among the first five tried, so that a
  -- limit of 5 failures per source stops the spray before it takes any.
  local s = { targets = {}, victims = {} }
  for i = 1, N_TARGETS do s.targets[i] = accounts[i] end
  local slots = {}
  for i = 6, N_TARGETS do slots[#slots + 1] = i end
  for _ = 1, 2 + rnd(3) do
    local i = table.remove(slots, rnd(#slots))
    accounts[i].pin = COMMON_PIN
    s.victims[#s.victims + 1] = accounts[i]
    if not s.first or i < s.first_at then s.first, s.first_at = accounts[i], i end
  end
  s.reset_victim = accounts[N_TARGETS + rnd(3)]         -- not on the list
  s.customer = accounts[N_ACCOUNTS - rnd(2) + 1]        -- the genuine customer on the phone
  -- The account file in another order, so that its order gives nothing away.
  s.accounts = {}
  for i, a in ipairs(accounts) do s.accounts[i] = a end
  for i = #s.accounts, 2, -1 do
    local j = rnd(i)
    s.accounts[i], s.accounts[j] = s.accounts[j], s.accounts[i]
  end
  s.mix = mix
  return s
end

local S = story(v.mix)
local CUST = S.customer
local ATTACKER_MAIL = v.attacker_box .. "." .. v.attacker_tag .. "@freemail.example.net"

local seed = { "mix " .. v.mix }
for _, a in ipairs(S.accounts) do
  seed[#seed + 1] = table.concat({ "account", a.acc, a.pin, a.email, a.name, a.balance }, " ")
end
local targets = {}
for i, a in ipairs(S.targets) do targets[i] = a.acc end

local NOTICE = table.concat({
  "==== お客様窓口からの報告 / A report from customer support ====",
  "",
  "今朝から、身に覚えのない決済があったというお問合せが続いています。",
  "Since this morning, customers keep calling about payments they never made.",
  "",
  "- 複数のお客様: 「暗証番号は誰にも教えていないのに、知らない店で使われた」",
  "  Several customers: \"I never told anyone my PIN, yet it was used at a shop I don't know.\"",
  "- 1 名のお客様: 「急に暗証番号でログインできなくなった。再設定のメールは受け取っていない」",
  "  One customer: \"Suddenly my PIN stopped working. I never got any reset mail.\"",
  "",
  "同じ頃、他社でも 4 桁の暗証番号を狙った不正ログインの報道が出ています (2020 年 ドコモ口座、2019 年 7pay)。",
  "Other services have been hit the same way before (docomo account 2020, 7pay 2019).",
  "",
  "お願い / Please:",
  "  1. ログ (/var/log/pay/auth.log) から攻撃の手口と接続元を調べる",
  "     find how the attacker got in, and from where, in the log (/var/log/pay/auth.log);",
  "  2. 同じ攻撃が繰り返されても乗っ取られないようにする (/etc/pay/pay.conf)",
  "     make sure the same attack takes over nothing when it comes back (/etc/pay/pay.conf);",
  "  3. ただし、正規のお客様のログインと暗証番号の再設定は使えるままにする",
  "     but keep genuine customers signing in and resetting their PIN.",
  "",
}, "\n")

-- The VMs ---------------------------------------------------------------------

local client = file { content = CLIENT, dest = "/usr/lib/pay/client.sh" }
local servers = {
  file { content = PAY .. "\n", dest = "/etc/pay-server" },
  file { content = MAIL .. "\n", dest = "/etc/mail-server" },
}

vm {
  name = "pay",
  image = "tiny",
  memory = 128,
  entry = true,
  description = {
    ja = "すぐペイの API サーバー (模擬、" .. PAY .. ":80)。運用担当のコンソール: まず /root/README.txt を読む",
    en = "The SuguPay API server (emulated, " .. PAY .. ":80). The operator's console: read /root/README.txt first",
  },
  nics = { { network = internet, address = PAY } },
  provision = {
    file { src = "files/pay/common.sh", dest = "/usr/lib/pay/common.sh" },
    file { src = "files/pay/cgi.sh", dest = "/usr/lib/pay/cgi.sh" },
    file { src = "files/pay/login", dest = "/srv/pay/cgi-bin/login", mode = "0755" },
    file { src = "files/pay/reset", dest = "/srv/pay/cgi-bin/reset", mode = "0755" },
    file { src = "files/pay/reset-confirm", dest = "/srv/pay/cgi-bin/reset-confirm", mode = "0755" },
    file { src = "files/pay/index.html", dest = "/srv/pay/index.html" },
    file { src = "files/pay/pay-seed", dest = "/usr/sbin/pay-seed", mode = "0755" },
    file { src = "files/pay/pay.conf", dest = "/etc/pay/pay.conf" },
    file { src = "files/pay/README.txt", dest = "/root/README.txt" },
    file { content = MAIL .. "\n", dest = "/etc/pay/mail-relay" },
    file { content = table.concat(seed, "\n") .. "\n", dest = "/etc/pay/seed", mode = "0600" },
    file { content = NOTICE, dest = "/root/incident/notice.txt" },
    run { cmd = "/usr/sbin/pay-seed && busybox httpd -p " .. PAY .. ":80 -h /srv/pay", timeout = 300 },
  },
}

vm {
  name = "inet",
  image = "tiny",
  memory = 128,
  entry = true,
  description = {
    ja = "インターネット: メール事業者 (模擬、" .. MAIL .. ") と、お客様 (" .. CUST.name .. ") のスマートフォン (pay-app)",
    en = "The internet: a mail provider (emulated, " .. MAIL .. ") and a customer's (" .. CUST.name .. ") smartphone (pay-app)",
  },
  nics = { { network = internet, address = MAIL } },
  provision = {
    client, servers[1], servers[2],
    file { src = "files/inet/deliver", dest = "/srv/mail/cgi-bin/deliver", mode = "0755" },
    file { src = "files/inet/inbox", dest = "/srv/mail/cgi-bin/inbox", mode = "0755" },
    file { src = "files/inet/index.html", dest = "/srv/mail/index.html" },
    file { src = "files/inet/pay-app", dest = "/usr/bin/pay-app", mode = "0755" },
    file { dest = "/etc/mail/passwd", mode = "0600",
           content = CUST.email .. " " .. v.customer_pw .. "\n" .. ATTACKER_MAIL .. " " .. v.attacker_pw .. "\n" },
    file { dest = "/root/pay/account", mode = "0600", content = table.concat({
      "account=" .. CUST.acc, "pin=" .. CUST.pin, "email=" .. CUST.email, "mail_password=" .. v.customer_pw, "" }, "\n") },
    file { dest = "/root/README.txt", content =
      "お客様のスマートフォン (模擬) / The customer's smartphone (emulated)\n"
      .. "  pay-app login                   すぐペイにログイン / sign in to SuguPay\n"
      .. "  pay-app reset                   暗証番号の再設定メールを申し込む / ask for a PIN reset mail\n"
      .. "  pay-app reset-confirm TOKEN PIN 新しい暗証番号を設定 / set a new PIN\n"
      .. "  pay-app mail                    新着メール / new mail\n"
      .. "  /root/pay/account               口座とメールのアカウント / the account and the mailbox\n"
      .. "この VM はメール事業者 (" .. MAIL .. ") でもあります: /var/mail/, /var/log/mail.log\n"
      .. "This VM is also the mail provider (" .. MAIL .. "): /var/mail/, /var/log/mail.log\n" },
    run("mkdir -p /var/mail && busybox httpd -p " .. MAIL .. ":80 -h /srv/mail"),
  },
}

-- $1: the attacker's address. Gives it to the NIC, waits for the service
-- and the mail provider, then runs the attack the team finds in the log.
-- $2: the account taken through a reset.
local ATTACKER_START = [[
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
ip addr add "$1" dev "$dev" && ip link set "$dev" up || exit 1
i=0
until wget -q -O /dev/null "http://$(cat /etc/pay-server)/index.html" &&
      wget -q -O /dev/null "http://$(cat /etc/mail-server)/index.html"; do
  i=$((i + 1)); [ $i -lt 75 ] || { echo "the service never answered" >&2; exit 1; }
  sleep 4
done
pin-spray >/dev/null || exit 1
reset-hijack "$2" >/dev/null || { echo "the reset takeover failed" >&2; exit 1; }
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
  provision = {
    client, servers[1], servers[2],
    file { src = "files/attacker/pin-spray", dest = "/usr/bin/pin-spray", mode = "0755" },
    file { src = "files/attacker/reset-hijack", dest = "/usr/bin/reset-hijack", mode = "0755" },
    file { content = table.concat(targets, "\n") .. "\n", dest = "/root/targets.txt", mode = "0600" },
    file { content = ATTACKER_MAIL .. " " .. v.attacker_pw .. "\n", dest = "/root/.mail", mode = "0600" },
    run { "sh", "-c", ATTACKER_START, "attacker-start", v.attacker .. "/24", S.reset_victim.acc, timeout = 400 },
  },
}

-- The exercise ----------------------------------------------------------------

-- Each check carries its own client (never the guests' tools, which a team
-- could change) and reads only the servers' one-line answers.
local function script(body)
  return "PAY=" .. PAY .. "\nMAIL=" .. MAIL .. "\n" .. CLIENT .. body
end

-- The attack again, from the attacker's address: the common PIN against
-- every account of the list (stdin). One "ACCOUNT result=..." line each.
local SPRAY = script [[
while read -r acc; do
  [ -n "$acc" ] && echo "$acc $(pay_login "$acc" "$1")"
done
]]

-- The genuine customer signs in from the phone: $1 account, $2 PIN,
-- $3 mailbox, $4 its password. With a confirmation code mailed, the code is
-- read from the mailbox and sent. The last line is the final answer.
local CUSTOMER_LOGIN = script [[
r=$(pay_login "$1" "$2"); echo "first $r"
if [ "$r" = result=code_sent ]; then
  code=$(last_value code "$(mail_fetch "$3" "$4")")
  [ -n "$code" ] || { echo "final no_code_mail"; exit 0; }
  r=$(pay_login "$1" "$2" "$code")
fi
echo "final $r"
]]

-- The attacker asks for a reset of $1 to its own address $2 (mailbox
-- password $3): "reset RESULT" then "token yes|no", whether a reset token
-- reached the attacker.
local RESET_ATTACK = script [[
mail_fetch "$2" "$3" >/dev/null
echo "reset $(pay_reset "$1" "$2")"
m=$(mail_fetch "$2" "$3")
case $m in result=ok*) ;; *) echo "mailbox ${m%%
*}"; exit 0 ;; esac
if [ -n "$(last_value token "$m")" ]; then echo "token yes"; else echo "token no"; fi
]]

-- The genuine customer resets the PIN from the phone ($1 account, $2 PIN,
-- $3 mailbox, $4 its password): the mail must reach the registered
-- address, and its token must set the PIN (to the same PIN, so that the
-- check changes nothing the customer knows).
local CUSTOMER_RESET = script [[
mail_fetch "$3" "$4" >/dev/null
echo "reset $(pay_reset "$1")"
token=$(last_value token "$(mail_fetch "$3" "$4")")
[ -n "$token" ] || { echo "confirm no_token_mail"; exit 0; }
echo "confirm $(pay_reset_confirm "$token" "$2")"
]]

local function first_line(s)
  return ((s or ""):match("^[^\n]*") or ""):sub(1, 120)
end

-- The lines of OUT as { key = value }, the first line of each key only.
local function fields(out)
  local t = {}
  for line in (out or ""):gmatch("[^\n]+") do
    local k, val = line:match("^([%w_]+) (.*)$")
    if k and t[k] == nil then t[k] = val:sub(1, 120) end
  end
  return t
end

flag {
  id = "attacker_ip",
  attack = { "T1110.003" },
  skills = { "log analysis", "incident scoping" },
  question = {
    ja = "多数の口座に同じ暗証番号でログインを試した接続元の IP アドレスは?",
    en = "From which IP address were sign-ins tried against many accounts with the same PIN?",
  },
  points = 10,
  max_attempts = 5,
  answer = function(vars) return vars.attacker end,
  hints = {
    { ja = "/var/log/pay/auth.log の login fail を src= ごとに数えます。いつもの利用者は 198.51.100.0/24 の携帯回線から来ます。",
      en = "Count the login fail lines of /var/log/pay/auth.log per src=. Genuine customers come from mobile lines in 198.51.100.0/24.",
      cost = 3 },
  },
}

flag {
  id = "first_sprayed",
  attack = { "T1110.003", "T1078" },
  skills = { "log analysis", "account takeover triage" },
  question = {
    ja = "その接続元が同じ暗証番号を試して、最初にログインに成功した (乗っ取った) 口座の口座番号は?",
    en = "Which account (number) did that address first sign in to (take over) by trying the same PIN?",
  },
  points = 10,
  max_attempts = 5,
  answer = function(vars) return story(vars.mix).first.acc end,
  hints = {
    { ja = "攻撃者のアドレスからの login ok のうち、いちばん早いもの。その直前に同じ口座の reset_confirm ok がある行は再設定による乗っ取りです。",
      en = "The earliest login ok from the attacker's address. A login right after a reset_confirm ok of the same account is the reset takeover, not the spray.",
      cost = 3 },
  },
}

flag {
  id = "reset_account",
  attack = { "T1098" },
  skills = { "log analysis", "password reset abuse" },
  question = {
    ja = "登録されていないメールアドレスに再設定メールが送られ、乗っ取られた口座の口座番号は?",
    en = "Which account (number) was taken over through a reset mail sent to an address that is not its registered one?",
  },
  points = 10,
  max_attempts = 5,
  answer = function(vars) return story(vars.mix).reset_victim.acc end,
  hints = {
    { ja = "reset sent の行で to= と registered= が違うものを探します。",
      en = "Look for a reset sent line whose to= differs from its registered=.", cost = 3 },
  },
}

objective {
  id = "stop_spray",
  attack = { "T1110.003", "T1110.001" },
  skills = { "rate limiting", "account lockout" },
  title = {
    ja = "同じ攻撃 (1 つの暗証番号を口座の一覧に試す) を再現しても乗っ取られる口座が 0、正規のお客様はスマートフォンからログインできる",
    en = "Replaying the attack (one PIN tried against the list of accounts) takes over no account, and the genuine customer still signs in from the phone",
  },
  points = 30,
  mode = "hold",
  hints = {
    { ja = "口座ごとのロック (lockout) だけでは止まりません: 攻撃者は 1 つの口座に 1 回しか試しません。送信元ごとの制限 (login_limit) か二段階認証 (login_2fa) を使います。",
      en = "Locking accounts (lockout) alone does not stop it: the attacker tries each account once. Use a limit per source (login_limit) or two-step verification (login_2fa).",
      cost = 4 },
    { ja = "/etc/pay/pay.conf で login_limit=5 以下、または login_2fa=on。お客様の phone (inet) で pay-app login を試して、正規のログインが通ることを確かめます。",
      en = "In /etc/pay/pay.conf: login_limit=5 or less, or login_2fa=on. Try pay-app login on the customer's phone (inet) to see that a genuine sign-in still works.",
      cost = 4 },
  },
  check = function(ctx)
    local r = ctx.vm("attacker"):exec { "sh", "-c", SPRAY, "spray", COMMON_PIN,
                                        input = table.concat(targets, "\n") .. "\n" }
    if r.code ~= 0 then error("the replayed attack did not run: " .. first_line(r.stderr)) end
    local n = 0
    for line in r.stdout:gmatch("[^\n]+") do
      local result = line:match("^%d+ result=([%a_]+)")
      if result == "ok" then return false end                 -- an account taken over
      if result ~= "denied" and result ~= "locked" and result ~= "limited" and result ~= "code_sent" then
        error("the service gave the attack: " .. first_line(line))   -- down or broken is no fix
      end
      n = n + 1
    end
    if n ~= #targets then error("the attack got " .. n .. " answers for " .. #targets .. " accounts") end
    r = ctx.vm("inet"):exec { "sh", "-c", CUSTOMER_LOGIN, "login", CUST.acc, CUST.pin, CUST.email, ctx.vars.customer_pw }
    local f = fields(r.stdout)
    if r.code ~= 0 or not (f.final or ""):match("^result=ok") then
      error("the genuine customer cannot sign in: " .. tostring(f.first) .. " / " .. tostring(f.final))
    end
    return true
  end,
}

objective {
  id = "reset_registered",
  attack = { "T1098" },
  skills = { "secure password reset", "web application security" },
  title = {
    ja = "暗証番号の再設定メールは登録済みのアドレスにだけ届く: 攻撃者のアドレスには届かず、お客様の再設定は使える",
    en = "PIN reset mail reaches only the registered address: none reaches the attacker's, and the customer's own reset works",
  },
  points = 20,
  mode = "hold",
  hints = {
    { ja = "/etc/pay/pay.conf の reset_to を見直します。", en = "Look at reset_to in /etc/pay/pay.conf.", cost = 3 },
    { ja = "reset_to=registered。お客様の phone (inet) で pay-app reset を試して、登録アドレスに再設定メールが届くことを確かめます。",
      en = "reset_to=registered. Try pay-app reset on the customer's phone (inet) to see that the reset mail reaches the registered address.",
      cost = 3 },
  },
  check = function(ctx)
    local r = ctx.vm("attacker"):exec { "sh", "-c", RESET_ATTACK, "reset", S.reset_victim.acc, ATTACKER_MAIL,
                                        ctx.vars.attacker_pw }
    local f = fields(r.stdout)
    if r.code ~= 0 or not f.token then
      error("the attacker's reset did not run: " .. tostring(f.reset) .. " / " .. tostring(f.mailbox))
    end
    if f.token ~= "no" then return false end
    if not (f.reset or ""):match("^result=") or f.reset == "result=unreachable" then
      error("the reset page gave the attacker: " .. f.reset)
    end
    r = ctx.vm("inet"):exec { "sh", "-c", CUSTOMER_RESET, "reset", CUST.acc, CUST.pin, CUST.email, ctx.vars.customer_pw }
    f = fields(r.stdout)
    if r.code ~= 0 or not (f.confirm or ""):match("^result=ok") then
      error("the customer's own reset does not work: " .. tostring(f.reset) .. " / " .. tostring(f.confirm))
    end
    return true
  end,
}

-- Injects: the attacker comes back with the list, and tries a reset again.
for i, at in ipairs { "5m", "15m", "30m" } do
  inject {
    id = "spray_again_" .. i,
    title = {
      ja = "攻撃者が同じ口座の一覧で暗証番号 " .. COMMON_PIN .. " を再び試す (" .. i .. " 回目)",
      en = "The attacker sprays PIN " .. COMMON_PIN .. " over the same list of accounts again (time " .. i .. ")",
    },
    at = at,
    run = { vm = "attacker", cmd = "pin-spray >/dev/null" },
  }
end

inject {
  id = "reset_again",
  title = {
    ja = "攻撃者が同じ口座の再設定メールを、再び自分のアドレスに送らせようとする",
    en = "The attacker asks again for the same account's reset mail to be sent to its own address",
  },
  at = "10m",
  run = { vm = "attacker", cmd = "reset-hijack " .. S.reset_victim.acc .. " >/dev/null || true" },
}

-- The reference solution ------------------------------------------------------

-- On the service: every setting that matters, the way an operator would
-- edit pay.conf (the last line for a setting wins, so they are replaced).
local SOLUTION_CONF = [=[
set -e
c=/etc/pay/pay.conf
sed -i '/^[[:space:]]*\(login_limit\|lockout\|login_2fa\|reset_to\)[[:space:]]*=/d' "$c"
printf 'login_limit=5\nlockout=5\nlogin_2fa=on\nreset_to=registered\n' >> "$c"
]=]

solution(function(ctx)
  local pay = ctx.vm("pay")
  local log = pay:read_file("/var/log/pay/auth.log") or error("no log on the service")

  -- The source with failed sign-ins on the most accounts is the sprayer.
  local per_src = {}
  for acc, src in log:gmatch("login fail account=(%d+) src=([%d%.]+) reason=bad_pin") do
    per_src[src] = per_src[src] or { n = 0, seen = {} }
    if not per_src[src].seen[acc] then per_src[src].seen[acc] = true; per_src[src].n = per_src[src].n + 1 end
  end
  local attacker, most = nil, 0
  for src, t in pairs(per_src) do
    if t.n > most then attacker, most = src, t.n end
  end
  if not attacker then error("no failed sign-ins in the log") end

  -- The reset sent somewhere other than the registered address, and the
  -- first account the sprayer signed in to, other than that one.
  local reset_acc
  for acc, to, reg in log:gmatch("reset sent account=(%d+) src=[%d%.]+ to=(%S+) registered=(%S+)") do
    if to ~= reg then reset_acc = acc end
  end
  if not reset_acc then error("no reset mail to a foreign address in the log") end
  local first
  for acc, src in log:gmatch("login ok account=(%d+) src=([%d%.]+)") do
    if src == attacker and acc ~= reset_acc then first = acc; break end
  end
  if not first then error("no sign-in from " .. attacker .. " in the log") end
  for id, answer in pairs { attacker_ip = attacker, first_sprayed = first, reset_account = reset_acc } do
    local verdict = ctx.submit(id, answer)
    if verdict ~= "correct" then error(id .. ": " .. verdict) end
  end

  local r = pay:exec { "sh", "-c", SOLUTION_CONF }
  if r.code ~= 0 then error("changing pay.conf: " .. r.stderr) end
  -- A genuine sign-in and reset on the phone, as a team would try them.
  r = ctx.vm("inet"):exec { "sh", "-c", "pay-app login" }
  if r.code ~= 0 then error("the customer cannot sign in: " .. r.stdout .. r.stderr) end
end)
