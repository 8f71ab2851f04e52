-- demo: the smallest useful range. An attacker on an "outside" network
-- reaches a victim web server on an "inside" network through a router.
-- Every team gets its own copy; per-team values come from vars{}.

scenario {
  id = "demo",
  title = {
    ja = "デモ: ルーター越しの Web サーバー",
    en = "Demo: a web server behind a router",
  },
  description = {
    ja = "攻撃者・ルーター・被害者の 3 台で構成する最小の演習環境です。"
      .. "外部ネットワークの攻撃者から、ルーター越しに内部の Web サーバーへ到達できることを確かめます。",
    en = "The smallest range: an attacker, a router and a victim. "
      .. "Check that the attacker on the outside network reaches the inside web server through the router.",
  },
  sources = { "https://www.soumu.go.jp/main_content/000696880.pdf" },
  teams = 2,
}

local v = vars {
  -- The token the victim's web page shows; every team sees its own.
  token = random.hex(8, { secret = true }),
  -- A trainee account on the attacker VM.
  trainee_password = random.password(12),
}

local outside = network { name = "outside", cidr = "10.10.0.0/24" }
local inside  = network { name = "inside",  cidr = "10.20.0.0/24" }

vm {
  name = "attacker",
  image = "tiny",
  memory = 128,
  entry = true,
  description = { ja = "訓練生が操作する端末", en = "The trainee's workstation" },
  nics = { { network = outside, address = outside:host(10) } },
  gateway = outside:host(1),
  provision = {
    user { name = "trainee", password = v.trainee_password },
    file { content = "Welcome to the crange demo range. / crange デモ演習へようこそ。\n",
           dest = "/etc/motd", mode = "0644" },
  },
}

vm {
  name = "router",
  image = "tiny",
  memory = 128,
  description = { ja = "外部と内部を結ぶルーター", en = "Router between outside and inside" },
  nics = {
    { network = outside, address = outside:host(1) },
    { network = inside,  address = inside:host(1) },
  },
  provision = {
    run "sysctl -w net.ipv4.ip_forward=1",
  },
}

vm {
  name = "victim",
  image = "tiny",
  memory = 128,
  description = { ja = "内部の Web サーバー", en = "The inside web server" },
  nics = { { network = inside, address = inside:host(20) } },
  gateway = inside:host(1),
  provision = {
    file { src = "files/index.html", dest = "/srv/www/index.html" },
    file { content = v.token .. "\n", dest = "/srv/www/token.txt" },
    run "busybox httpd -p 80 -h /srv/www",
  },
}

-- The exercise: find the exposed token, take it off the server without
-- taking the server down, and put a warning banner on the router.

flag {
  id = "token",
  question = {
    ja = "社内ポータル (10.20.0.20) が /token.txt で公開しているトークンは何ですか?",
    en = "Which token does the intranet portal (10.20.0.20) publish at /token.txt?",
  },
  points = 10,
  attack = { "T1552.001" },   -- MITRE ATT&CK: Unsecured Credentials: Credentials In Files
  skills = { "web reconnaissance" },
  max_attempts = 5,
  answer = function(vars) return vars.token end,
  hints = {
    { ja = "攻撃者の端末で wget -qO- http://10.20.0.20/token.txt を実行してみましょう。",
      en = "On the attacker, try wget -qO- http://10.20.0.20/token.txt", cost = 2 },
  },
}

objective {
  id = "remove_token",
  title = {
    ja = "公開されたトークンを Web サーバーから取り除く (サービスは止めない)",
    en = "Take the exposed token off the web server (keep the service up)",
  },
  points = 20,
  attack = { "T1552.001" },
  skills = { "web server hardening" },
  mode = "hold",
  prereqs = { "token" },
  hints = {
    { ja = "crange console で victim に入り、/srv/www/token.txt を削除します。",
      en = "Open the victim's console (crange console) and delete /srv/www/token.txt", cost = 5 },
  },
  check = function(ctx)
    local attacker = ctx.vm("attacker")
    local r = attacker:exec{ "wget", "-qO-", "http://10.20.0.20/token.txt" }
    return r.code ~= 0 and attacker:tcp_open("10.20.0.20", 80)
  end,
}

objective {
  id = "banner",
  title = {
    ja = "ルーターにログイン時の警告バナー (/etc/motd) を設定する",
    en = "Put a login warning banner (/etc/motd) on the router",
  },
  points = 10,
  skills = { "system hardening" },
  hints = {
    { ja = "「許可された利用者以外のアクセスを禁止します」または \"authorized\" を含めます。",
      en = "Include \"authorized\" (or 「許可」) in the banner", cost = 2 },
  },
  check = function(ctx)
    local motd = ctx.vm("router"):read_file("/etc/motd")
    return motd ~= nil and (motd:find("[Aa]uthori[sz]ed") ~= nil or motd:find("許可", 1, true) ~= nil)
  end,
}

inject {
  id = "isp_notice",
  title = {
    ja = "ISP から「社内ポータルから不審な通信がある」との連絡が届く",
    en = "The ISP reports suspicious traffic from the intranet portal",
  },
  at = "30s",
  run = { vm = "victim", cmd = "echo 'Notice from your ISP: unusual traffic from 10.20.0.20 / 不審な通信を検知しました' > /srv/www/notice.txt" },
}

solution(function(ctx)
  local attacker = ctx.vm("attacker")
  local token = attacker:exec{ "wget", "-qO-", "http://10.20.0.20/token.txt" }.stdout:gsub("%s+", "")
  ctx.submit("token", token)
  ctx.vm("victim"):exec("rm -f /srv/www/token.txt")
  ctx.vm("router"):exec("echo 'Authorized access only / 許可された利用者以外のアクセスを禁止します' > /etc/motd")
end)
