-- invoice-trust: a forged invoice (business e-mail compromise) against trust
-- services (case 4 of the scenario cases). A batch of sealed and time-stamped
-- invoices waits in the accounts-payable inbox; one had its bank account
-- changed after it was sealed. The team verifies the batch with openssl,
-- names the tampered invoice, and deploys an automatic verification step that
-- keeps unsealed and altered invoices out of payment.

scenario {
  id = "invoice-trust",
  title = {
    ja = "偽の請求書 (BEC) とトラストサービス: e シールとタイムスタンプで見抜く",
    en = "Forged invoices (BEC) and trust services: e-seals and time stamps",
  },
  description = {
    ja = "2017 年 12 月 20 日、日本航空は「訂正」された請求書で振込先口座を変えられ、約 3 億 8,400 万円の被害を受けたと公表した。"
      .. "この演習では、取引先の請求書に e シール (組織の電子署名) とタイムスタンプが付いている。"
      .. "買掛金サーバーの受信箱の請求書を openssl で検証して改ざんされた 1 件を特定し、"
      .. "封印のない請求書や改ざんされた請求書を自動で差し戻す検証ステップを配備せよ。",
    en = "On 2017-12-20 Japan Airlines disclosed a loss of about 384 million yen after a \"corrected\" invoice "
      .. "changed the bank account to pay. Here suppliers seal their invoices with an e-seal (an "
      .. "organisation's signature) and a time stamp. Verify the batch in the accounts-payable inbox with "
      .. "openssl, name the tampered invoice, and deploy an automatic verification step that sends "
      .. "unsealed or altered invoices back.",
  },
  sources = {
    "MIC, 令和3年版 情報通信白書 (white paper R3): JAL's loss through a forged \"corrected\" invoice, disclosed 2017-12-20",
    "IPA: the first Japanese-language business e-mail compromise (BEC) seen in 2018-07",
    "MIC, トラストサービス検討WG 最終取りまとめ (2020-02): time stamps, e-seals, remote signatures",
    "サイバーセキュリティタスクフォース事務局, IoT・5Gセキュリティ総合対策2020(案) (2020-07-17), (1)②",
  },
  teams = 2,
}

local v = vars {
  -- Invoice numbers: every team's differ.
  inv_base = random.int(100000, 899999),
  -- Everything else of the batch (which invoice is tampered, amounts,
  -- accounts) is drawn from this, in Lua, below.
  mix = random.hex(16, { secret = true }),
}

local wan = network { name = "wan", cidr = "203.0.113.0/24" }
local TRUST, AP = wan:host(10), wan:host(20)

-- The batch ---------------------------------------------------------------

-- A small deterministic generator seeded by the team's secret (a 64-bit LCG;
-- Lua integers wrap around).
local state = tonumber(v.mix:sub(1, 15), 16)
local function rnd(n) -- 1..n
  state = state * 6364136223846793005 + 1442695040888963407
  return ((state >> 33) % n) + 1
end
local function digits(n)
  local t = {}
  for i = 1, n do t[i] = tostring(rnd(10) - 1) end
  return table.concat(t)
end

-- Fictional suppliers, bank and customer.
local vendors = {
  { code = "sakura", prefix = "SKR", name = "株式会社さくら航空整備", en = "Sakura Aero Maintenance K.K.",
    holder = "カ）サクラコウクウセイビ", item = "航空機整備作業費", bank = "サンプル銀行 本店営業部" },
  { code = "minato", prefix = "MNT", name = "みなと物流株式会社", en = "Minato Logistics Co., Ltd.",
    holder = "ミナトブツリユウ（カ", item = "航空貨物 陸送費", bank = "サンプル銀行 品川支店" },
  { code = "hibari", prefix = "HBR", name = "株式会社ひばり商事", en = "Hibari Shoji K.K.",
    holder = "カ）ヒバリシヨウジ", item = "機内用品 納品代金", bank = "サンプル信用金庫 本店" },
  { code = "aoba", prefix = "AOB", name = "あおば情報システム株式会社", en = "Aoba Information Systems Co., Ltd.",
    holder = "アオバジヨウホウシステム（カ", item = "予約システム 保守費用", bank = "サンプル銀行 仙台支店" },
}
for _, s in ipairs(vendors) do
  s.account = digits(7)
  s.regno = "T" .. digits(13)
end
local attacker_bank, attacker_account = "エグザンプル銀行 新宿支店", digits(7)

local function invoice_no(s, i)
  return string.format("%s-%06d", s.prefix, (tonumber(v.inv_base) + 7919 * i) % 1000000)
end

local function json(inv)
  local fields = {
    { "invoice_no", inv.no }, { "issue_date", "@ISSUE@" }, { "due_date", "@DUE@" },
    { "issuer", inv.s.name }, { "issuer_en", inv.s.en }, { "registration_no", inv.s.regno },
    { "bill_to", "つばさ航空株式会社 経理部 御中" }, { "description", inv.s.item .. "（当月分）" },
    { "amount_jpy", inv.amount }, { "tax_jpy", inv.amount // 10 }, { "total_jpy", inv.amount + inv.amount // 10 },
    { "bank", inv.bank or inv.s.bank }, { "account_type", "普通" }, { "account_no", inv.account or inv.s.account },
    { "account_holder", inv.s.holder },
  }
  if inv.note then fields[#fields + 1] = { "note", inv.note } end
  local out = { "{" }
  for i, kv in ipairs(fields) do
    local val = math.type(kv[2]) == "integer" and tostring(kv[2]) or ('"' .. kv[2] .. '"')
    out[#out + 1] = string.format('  "%s": %s%s', kv[1], val, i < #fields and "," or "")
  end
  out[#out + 1] = "}"
  return table.concat(out, "\n") .. "\n"
end

local function new_invoice(s, i)
  return { no = invoice_no(s, i), s = s, amount = (rnd(4800) + 200) * 1000 }
end

-- Batch 1: ten invoices in the inbox when the exercise starts; one of them
-- had its bank account changed after it was sealed and time-stamped.
local batch1, tampered = {}, rnd(10)
for i = 1, 10 do
  batch1[i] = new_invoice(vendors[(i - 1) % 4 + 1], i)
  batch1[i].mode = i == tampered and "altered" or "genuine"
end
local tampered_no = batch1[tampered].no
local genuine1 = {}
for i, inv in ipairs(batch1) do
  if i ~= tampered then genuine1[#genuine1 + 1] = inv.no end
end

-- Batch 2, sent by an inject once the team's verifier runs: one genuine
-- invoice, one altered after sealing, and two "corrected" invoices that
-- change the account of an earlier (genuine) one: one with a self-made seal
-- in the supplier's name, one with no seal at all.
local j, k = tampered % 10 + 1, (tampered + 4) % 10 + 1 -- two genuine invoices of batch 1
local function correction(orig)
  return { no = orig.no .. "-R", s = orig.s, amount = orig.amount, bank = attacker_bank,
           account = attacker_account,
           note = "振込先口座を変更いたしました。本請求書（訂正版）記載の口座へお振込みください。" }
end
local batch2 = {
  new_invoice(vendors[rnd(4)], 11),
  new_invoice(vendors[rnd(4)], 12),
  correction(batch1[j]),
  correction(batch1[k]),
}
batch2[1].mode, batch2[2].mode, batch2[3].mode, batch2[4].mode = "genuine", "altered", "forged", "unsealed"
local accept2, reject2 = { batch2[1].no }, { batch2[2].no, batch2[3].no, batch2[4].no }

-- What the trust VM gets, in one file (one provisioning step): a manifest,
-- the suppliers and the invoices in clear; tsp-setup.sh unpacks it.
local bundle = { "@@ manifest", "# batch name vendor mode" }
local function add_batch(name, list)
  for _, inv in ipairs(list) do
    bundle[#bundle + 1] = table.concat({ name, inv.no, inv.s.code, inv.mode }, " ")
  end
end
add_batch("batch1", batch1)
add_batch("batch2", batch2)
bundle[#bundle + 1] = "@@ vendors"
for _, s in ipairs(vendors) do bundle[#bundle + 1] = s.code .. "|" .. s.name end
for _, list in ipairs({ batch1, batch2 }) do
  for _, inv in ipairs(list) do
    bundle[#bundle + 1] = "@@ " .. inv.no .. ".json"
    bundle[#bundle + 1] = json(inv):sub(1, -2)
    if inv.mode == "altered" then
      local changed = { no = inv.no, s = inv.s, amount = inv.amount, bank = attacker_bank, account = attacker_account }
      bundle[#bundle + 1] = "@@ " .. inv.no .. ".altered.json"
      bundle[#bundle + 1] = json(changed):sub(1, -2)
    end
  end
end

local conf = file { content = "TSP=" .. TRUST .. "\nAP=" .. AP .. "\n", dest = "/etc/invoice-trust.conf" }
local hosts = run("grep -q ' trust ' /etc/hosts || printf '%s trust tsp.example\\n%s ap ap.example\\n' "
  .. TRUST .. " " .. AP .. " >> /etc/hosts")

-- The VMs -------------------------------------------------------------------

local trust_steps = {
  conf,
  file { src = "files/trust/x509.cnf", dest = "/usr/local/share/invoice-trust/x509.cnf" },
  file { src = "files/trust/tsa.cnf", dest = "/srv/tsp/tsa/tsa.cnf" },
  file { src = "files/trust/tsp-setup.sh", dest = "/usr/local/sbin/tsp-setup", mode = "0755" },
  file { src = "files/trust/tsa-serve", dest = "/usr/local/sbin/tsa-serve", mode = "0755" },
  file { src = "files/trust/repo-serve", dest = "/usr/local/sbin/repo-serve", mode = "0755" },
  file { src = "files/trust/vendor-send", dest = "/usr/local/sbin/vendor-send", mode = "0755" },
  file { src = "files/trust/tsa.socket", dest = "/etc/systemd/system/tsa.socket" },
  file { src = "files/trust/tsa@.service", dest = "/etc/systemd/system/tsa@.service" },
  file { src = "files/trust/tsp-repo.socket", dest = "/etc/systemd/system/tsp-repo.socket" },
  file { src = "files/trust/tsp-repo@.service", dest = "/etc/systemd/system/tsp-repo@.service" },
  file { src = "files/trust/vendor-deliver@.service", dest = "/etc/systemd/system/vendor-deliver@.service" },
  file { content = table.concat(bundle, "\n") .. "\n", dest = "/srv/outbox/invoices.txt", mode = "0600" },
  hosts,
  run { cmd = "/usr/local/sbin/tsp-setup", timeout = 600 },
}

vm {
  name = "trust",
  image = "debian-12",
  memory = 384,
  description = {
    ja = "トラストサービス事業者 (e シール CA・タイムスタンプ局) と、同じホストで模擬する取引先の請求システムおよび攻撃者",
    en = "The trust service provider (e-seal CA, time-stamping authority), with the suppliers' invoicing "
      .. "and the attacker emulated on the same host",
  },
  nics = { { network = wan, address = TRUST } },
  provision = trust_steps,
}

vm {
  name = "ap",
  image = "debian-12",
  memory = 384,
  entry = true,
  description = {
    ja = "つばさ航空の買掛金 (AP) サーバー: 請求書の受信箱 /srv/ap/inbox (訓練生が操作)",
    en = "Tsubasa Airways' accounts-payable (AP) server: the invoice inbox /srv/ap/inbox (the trainee's host)",
  },
  nics = { { network = wan, address = AP } },
  provision = {
    conf,
    hosts,
    file { src = "files/ap/README.txt", dest = "/srv/ap/README.txt" },
    file { src = "files/ap/ap-drop", dest = "/usr/local/sbin/ap-drop", mode = "0755" },
    file { src = "files/ap/ap-trust-fetch", dest = "/usr/local/sbin/ap-trust-fetch", mode = "0755" },
    file { src = "files/ap/ap-drop.socket", dest = "/etc/systemd/system/ap-drop.socket" },
    file { src = "files/ap/ap-drop@.service", dest = "/etc/systemd/system/ap-drop@.service" },
    file { src = "files/ap/ap-trust-fetch.service", dest = "/etc/systemd/system/ap-trust-fetch.service" },
    file { content = "買掛金 (AP) サーバー: まず /srv/ap/README.txt を読んでください。\n"
             .. "Accounts-payable server: read /srv/ap/README.txt first.\n", dest = "/etc/motd" },
    -- enable reloads systemd's units itself; --no-block: the fetch waits for trust
    run { cmd = "mkdir -p /srv/ap/inbox /srv/ap/accepted /srv/ap/rejected /srv/ap/trust /srv/ap/.incoming"
            .. " && systemctl enable --now --no-block ap-drop.socket ap-trust-fetch.service 2>/dev/null",
          timeout = 600 },
  },
}

-- Exercise-time helpers -------------------------------------------------------

-- Where every file should be. The checks compare SHA-256 digests with the
-- ones the provider recorded when it sealed and time-stamped the invoices
-- (tsp-setup.sh; that openssl verifies those files is what the e2e test
-- shows). They do not run openssl: a call
-- costs about a second of CPU under TCG, too much for checks polled every
-- round with a 10 s budget.
local A, R, I = "/srv/ap/accepted/", "/srv/ap/rejected/", "/srv/ap/inbox/"
local SIDE = { ".json", ".json.p7s", ".json.tsr" }

-- The provider's digests, by file name (and "eseal-ca.pem", "tsa-ca.pem").
local function digests(ctx)
  local text = ctx.vm("trust"):read_file("/srv/outbox/digests")
  if not text then error("the provider has not sealed the invoices yet") end
  local d = {}
  for hash, path in text:gmatch("(%x+)  ([^\n]+)") do d[path:match("[^/]+$")] = hash end
  return d
end

-- A list for CHECK below: "HASH PATH [pending]" (the file must be there,
-- unchanged; "pending": or still in the inbox, for less than 2 minutes) or
-- "ABSENT PATH".
local function expect(d, list, dir, name, pending)
  local hash = d[name]
  if not hash then error("no digest for a file of the batch") end
  list[#list + 1] = hash .. " " .. dir .. name .. (pending and " pending" or "")
end
local function expect_invoice(d, list, dir, no, sides, pending)
  for _, ext in ipairs(sides or SIDE) do expect(d, list, dir, no .. ext, pending) end
end
local function absent(list, path) list[#list + 1] = "ABSENT " .. path end

local CHECK = [[
sums=
while read -r hash path flag; do
  [ -n "$hash" ] || continue
  if [ "$hash" = ABSENT ]; then
    [ ! -e "$path" ] || { echo "an invoice is in ${path%/*}, where it does not belong"; exit 1; }
  elif [ -f "$path" ]; then
    sums="$sums$hash  $path
"
  elif [ "$flag" = pending ] && { [ "${in_transit:-0}" = 1 ] ||
       [ -n "$(find /srv/ap/inbox -maxdepth 1 -name "${path##*/}" -mmin -2)" ]; }; then
    :
  else
    echo "an invoice is missing from ${path%/*}"; exit 1
  fi
done
[ -z "$sums" ] || printf '%s' "$sums" | sha256sum -c --quiet --status - ||
  { echo "a file differs from what its sender sealed"; exit 1; }
]]

local function on_ap(ctx, script, list)
  local r = ctx.vm("ap"):exec { "sh", "-c", script .. CHECK, input = table.concat(list, "\n") .. "\n" }
  if r.code ~= 0 then error((r.stdout:match("[^\n]+") or "the check failed") .. " (exit " .. r.code .. ")") end
  return true
end

local VERIFIER_ACTIVE = "systemctl is-active --quiet ap-verify.path || systemctl is-active --quiet ap-verify.timer"

-- The exercise ----------------------------------------------------------------

flag {
  id = "tampered_invoice",
  question = {
    ja = "受信箱 /srv/ap/inbox の 10 件のうち、封印 (e シール) の後で改ざんされた請求書の請求番号は? (例: SKR-123456)",
    en = "Of the 10 invoices in /srv/ap/inbox, which one was altered after it was sealed? "
      .. "Give its invoice number (e.g. SKR-123456)",
  },
  points = 20,
  attack = { "T1565.002", "T1656" },
  skills = { "e-seal verification", "time stamp verification", "openssl" },
  max_attempts = 3,
  answer = function(_)
    -- with or without the supplier's prefix
    local prefix, number = tampered_no:match("^(%u+)%-(%d+)$")
    return { pattern = "(" .. prefix:lower() .. "-)?" .. number }
  end,
  hints = {
    { ja = "各請求書には NAME.json.p7s (e シール) と NAME.json.tsr (タイムスタンプ) が付いています。"
        .. "openssl cms -verify -binary -inform PEM -in NAME.json.p7s -content NAME.json "
        .. "-CAfile /srv/ap/trust/eseal-ca.pem -out /dev/null で e シールを検証できます。",
      en = "Each invoice comes with NAME.json.p7s (its e-seal) and NAME.json.tsr (its time stamp). "
        .. "openssl cms -verify -binary -inform PEM -in NAME.json.p7s -content NAME.json "
        .. "-CAfile /srv/ap/trust/eseal-ca.pem -out /dev/null checks the e-seal.",
      cost = 4 },
    { ja = "cd /srv/ap/inbox; for f in *.json; do openssl ts -verify -data $f -in $f.tsr "
        .. "-CAfile /srv/ap/trust/tsa-ca.pem >/dev/null 2>&1 || echo $f; done "
        .. "(同じ取引先の他の請求書と振込先口座を見比べるのも手がかりになります)",
      en = "cd /srv/ap/inbox; for f in *.json; do openssl ts -verify -data $f -in $f.tsr "
        .. "-CAfile /srv/ap/trust/tsa-ca.pem >/dev/null 2>&1 || echo $f; done "
        .. "(comparing the bank account with the same supplier's other invoices is a clue too)",
      cost = 8 },
  },
}

objective {
  id = "sort_batch",
  title = {
    ja = "最初の 10 件を仕分ける: 検証に通る請求書は /srv/ap/accepted へ、改ざんされた請求書は /srv/ap/rejected へ",
    en = "Sort the first 10 invoices: those that verify to /srv/ap/accepted, the tampered one to /srv/ap/rejected",
  },
  points = 10,
  attack = { "T1565.002", "T1657" },
  skills = { "e-seal verification", "time stamp verification" },
  hints = {
    { ja = "請求書は .p7s と .tsr と一緒に移します (mv NAME.json NAME.json.p7s NAME.json.tsr /srv/ap/accepted/)。",
      en = "Move each invoice together with its .p7s and .tsr (mv NAME.json NAME.json.p7s NAME.json.tsr /srv/ap/accepted/).",
      cost = 2 },
  },
  check = function(ctx)
    -- Accepted: the 9 genuine invoices with their e-seals and time stamps,
    -- as sealed. Rejected: the tampered one, and not accepted.
    local d, list = digests(ctx), {}
    for _, no in ipairs(genuine1) do expect_invoice(d, list, A, no) end
    expect(d, list, R, tampered_no .. ".json")
    absent(list, A .. tampered_no .. ".json")
    return on_ap(ctx, "", list)
  end,
}

objective {
  id = "auto_verify",
  title = {
    ja = "自動検証を配備する: systemd の ap-verify.path (または ap-verify.timer) で、受信箱に届く請求書を "
      .. "openssl cms -verify と openssl ts -verify で検証し、accepted か rejected へ自動で移す",
    en = "Deploy automatic verification: a systemd unit ap-verify.path (or ap-verify.timer) that checks each "
      .. "invoice arriving in the inbox with openssl cms -verify and openssl ts -verify and moves it to "
      .. "accepted or rejected",
  },
  points = 30,
  attack = { "T1656", "T1657" },
  skills = { "automation", "systemd", "e-seal verification" },
  mode = "hold",
  hints = {
    { ja = "ap-verify.path に PathExistsGlob=/srv/ap/inbox/*.json と書くと、請求書が届くたびに "
        .. "ap-verify.service (Type=oneshot) が起動します。.p7s や .tsr が無い請求書も差し戻すようにします。",
      en = "An ap-verify.path with PathExistsGlob=/srv/ap/inbox/*.json starts ap-verify.service "
        .. "(Type=oneshot) whenever an invoice arrives. Send invoices without a .p7s or .tsr back too.",
      cost = 5 },
    { ja = "スクリプトの骨子: for f in /srv/ap/inbox/*.json; do if [ -f $f.p7s ] && [ -f $f.tsr ] && "
        .. "openssl cms -verify ... && openssl ts -verify ...; then d=accepted; else d=rejected; fi; "
        .. "for x in $f.p7s $f.tsr; do [ -f $x ] && mv $x /srv/ap/$d/; done; mv $f /srv/ap/$d/; done  (最後に systemctl enable --now ap-verify.path)",
      en = "The script's outline: for f in /srv/ap/inbox/*.json; do if [ -f $f.p7s ] && [ -f $f.tsr ] && "
        .. "openssl cms -verify ... && openssl ts -verify ...; then d=accepted; else d=rejected; fi; "
        .. "for x in $f.p7s $f.tsr; do [ -f $x ] && mv $x /srv/ap/$d/; done; mv $f /srv/ap/$d/; done  (then systemctl enable --now ap-verify.path)",
      cost = 10 },
  },
  check = function(ctx)
    -- Always: the verifier runs, the trust anchors are the provider's, the
    -- first batch stays sorted, no invoice waits in the inbox for more than
    -- 2 minutes. Once the second batch was sent (inject new_invoices): its
    -- genuine invoice accepted, the altered, forged and unsealed ones
    -- rejected (or, for 2 minutes, still waiting in the inbox; or, for 3
    -- minutes after the inject, still on their way from the suppliers).
    local r = ctx.vm("trust"):exec { "sh", "-c", [[
f=/var/lib/invoice-trust/batch2.sent
[ -e $f ] || exit 2
[ -n "$(find $f -mmin -3)" ] && exit 0
exit 1]] }
    if r.code > 2 then error("cannot read the second batch's marker (exit " .. r.code .. ")") end
    local sent, in_transit = r.code ~= 2, r.code == 0
    local d, list = digests(ctx), {}
    expect(d, list, "/srv/ap/trust/", "eseal-ca.pem")
    expect(d, list, "/srv/ap/trust/", "tsa-ca.pem")
    for _, no in ipairs(genuine1) do expect(d, list, A, no .. ".json") end
    expect(d, list, R, tampered_no .. ".json")
    absent(list, A .. tampered_no .. ".json")
    if sent then
      for _, no in ipairs(accept2) do expect_invoice(d, list, A, no, nil, true) end
      for _, no in ipairs(reject2) do
        expect(d, list, R, no .. ".json", true)
        absent(list, A .. no .. ".json")
      end
    end
    return on_ap(ctx, (in_transit and "in_transit=1\n" or "") .. VERIFIER_ACTIVE
      .. [[ || { echo "neither ap-verify.path nor ap-verify.timer is active"; exit 1; }
[ -z "$(find /srv/ap/inbox -maxdepth 1 -name '*.json' -mmin +2)" ] ||
  { echo "invoices wait in the inbox for more than 2 minutes"; exit 1; }
]], list)
  end,
}

inject {
  id = "new_invoices",
  title = {
    ja = "新しい請求書が届く: 通常の請求書に加え、「振込先口座を変更しました」という訂正版の請求書が 2 通",
    en = "New invoices arrive: besides ordinary ones, two \"corrected\" invoices saying the bank account has changed",
  },
  -- Once the team's verifier runs, so that it meets invoices it has not seen.
  when = function(ctx)
    return ctx.vm("ap"):exec { "sh", "-c", VERIFIER_ACTIVE }.code == 0
  end,
  run = {
    vm = "trust",
    cmd = "mkdir -p /var/lib/invoice-trust && date > /var/lib/invoice-trust/batch2.sent"
      .. " && systemctl start --no-block vendor-deliver@batch2.service",
  },
}

-- The reference solution ------------------------------------------------------

local VERIFIER = [[#!/bin/sh
# ap-verify: moves each invoice in /srv/ap/inbox to accepted/ when its e-seal
# (NAME.json.p7s) and time stamp (NAME.json.tsr) verify against the trust
# anchors, to rejected/ otherwise (also when either file is missing).
set -u
in=/srv/ap/inbox trust=/srv/ap/trust
# Verification needs no system configuration; skipping it makes each openssl
# call a third quicker under TCG.
export OPENSSL_CONF=/dev/null
for f in "$in"/*.json; do
  [ -f "$f" ] || continue
  if [ -f "$f.p7s" ] && [ -f "$f.tsr" ] &&
     openssl cms -verify -binary -inform PEM -in "$f.p7s" -content "$f" -CAfile "$trust/eseal-ca.pem" \
       -out /dev/null >/dev/null 2>&1 &&
     openssl ts -verify -data "$f" -in "$f.tsr" -CAfile "$trust/tsa-ca.pem" >/dev/null 2>&1; then
    d=/srv/ap/accepted
  else
    d=/srv/ap/rejected
  fi
  for s in "$f.p7s" "$f.tsr"; do [ ! -e "$s" ] || mv -f "$s" "$d/"; done
  mv -f "$f" "$d/"
  logger -t ap-verify "${f##*/} -> ${d##*/}"
done
]]

local UNITS = {
  ["/etc/systemd/system/ap-verify.service"] = [[
[Unit]
Description=Verify the e-seal and time stamp of invoices in /srv/ap/inbox

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ap-verify
]],
  ["/etc/systemd/system/ap-verify.path"] = [[
[Unit]
Description=Watch /srv/ap/inbox for invoices

[Path]
PathExistsGlob=/srv/ap/inbox/*.json
Unit=ap-verify.service

[Install]
WantedBy=multi-user.target
]],
}

solution(function(ctx)
  local ap = ctx.vm("ap")
  local function sh(script, input)
    local r = ap:exec { "sh", "-c", script, input = input }
    if r.code ~= 0 then error("ap: " .. script:sub(1, 60) .. ": " .. r.stderr .. r.stdout) end
    return r.stdout
  end
  -- The batch and the trust anchors arrive over the network after boot.
  sh([[for i in $(seq 150); do
  [ "$(ls /srv/ap/inbox/*.json 2>/dev/null | wc -l)" -ge 10 ] && [ -s /srv/ap/trust/eseal-ca.pem ] &&
    [ -s /srv/ap/trust/tsa-ca.pem ] && exit 0
  sleep 1
done
exit 1]])
  -- Verify every invoice with openssl, as the verifier will, and sort the
  -- batch by hand on the way; the one that fails is the answer.
  local failed = sh([[cd /srv/ap/inbox
export OPENSSL_CONF=/dev/null
for f in *.json; do
  if [ -f "$f.p7s" ] && [ -f "$f.tsr" ] &&
     openssl cms -verify -binary -inform PEM -in "$f.p7s" -content "$f" -CAfile /srv/ap/trust/eseal-ca.pem \
       -out /dev/null >/dev/null 2>&1 &&
     openssl ts -verify -data "$f" -in "$f.tsr" -CAfile /srv/ap/trust/tsa-ca.pem >/dev/null 2>&1; then
    d=/srv/ap/accepted
  else
    d=/srv/ap/rejected
    sed -n 's/^ *"invoice_no": "\(.*\)",$/\1/p' "$f"
  fi
  mv -f "$f.p7s" "$f.tsr" "$d/" 2>/dev/null
  mv -f "$f" "$d/"
done]])
  local answer = failed:match("^%s*(%S+)%s*$")
  if not answer then error("expected exactly one invoice to fail verification, got: " .. failed) end
  local verdict = ctx.submit("tampered_invoice", answer)
  if verdict ~= "correct" then error("tampered_invoice: " .. verdict) end
  -- Deploy the verifier for every invoice that arrives from now on.
  sh("cat > /usr/local/sbin/ap-verify && chmod 0755 /usr/local/sbin/ap-verify", VERIFIER)
  for path, text in pairs(UNITS) do
    local r = ap:exec { "sh", "-c", 'cat > "$1"', "sh", path, input = text }
    if r.code ~= 0 then error("ap: writing " .. path) end
  end
  sh("systemctl daemon-reload && systemctl enable --now ap-verify.path")
end)
