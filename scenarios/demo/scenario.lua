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
