-- telework-router: a home router abused during telework (case 1 of the
-- scenario cases). The teleworker's home router has UPnP (52869/tcp), telnet
-- and its web administration open to the internet, a guessable admin
-- password, and an attacker has added a WireGuard peer and a dynamic DNS
-- client to it, to use it as a relay. The team works through MIC's telework
-- checklist: firewall, NAT, DNS filtering, UPnP off, password length, and
-- removes what the attacker left.

scenario {
  id = "telework-router",
  title = {
    ja = "テレワーク: 悪用された自宅ルーター",
    en = "Telework: an abused home router",
  },
  description = {
    ja = "在宅勤務者の自宅ルーターで UPnP (52869/tcp)・Telnet・管理画面がインターネットに公開され、"
      .. "管理者パスワードは推測しやすいまま。攻撃者は VPN (WireGuard) と DDNS を設定して中継に使っている。"
      .. "総務省のテレワークセキュリティチェックリストに沿ってルーターを設定し直し、攻撃者の痕跡を取り除く。",
    en = "A teleworker's home router exposes UPnP (52869/tcp), telnet and its web administration to the internet, "
      .. "with a guessable admin password. An attacker has set up a VPN (WireGuard) peer and dynamic DNS on it to "
      .. "relay attacks. Reconfigure the router along MIC's telework security checklist and remove what the "
      .. "attacker left.",
  },
  sources = {
    "JPCERT/CC at170049 (Mirai variant via Logitec routers, UPnP 52869/tcp, CVE-2014-8361, from 2017-10-31)",
    "NICTER blog 2021-05",
    "Tokyo Metropolitan Police Department warning, 2023-03-28 (VPN and DDNS turned on in home routers)",
    "NICT NOTICE project (since 2019-02)",
    "MIC telework security page; IoT・5Gセキュリティ総合対策2020(案) (2020-07-17): firewall, NAT, DNS filtering, UPnP off, password length",
  },
  teams = 2,
}

-- Networks ---------------------------------------------------------------
-- "internet" is a documentation range (TEST-NET-3) on an isolated bridge:
-- nothing leaves the range.
local internet = network { name = "internet", cidr = "203.0.113.0/24" }
local home     = network { name = "home",     cidr = "192.168.1.0/24" }

local ROUTER_WAN = internet:host(10)
local ROUTER_LAN = home:host(1)
local WWW        = internet:host(80)   -- web site, "what is my IP", DDNS provider
local COMPANY_VPN = internet:host(30)  -- the company's VPN gateway (no VM: its peer never answers)
local NORMAL_DOMAIN = "telework.example.jp"

-- The guessable passwords a NOTICE-style survey or a Mirai-style scanner
-- tries first. The router's admin password is one of the first six.
local GUESSABLE = {
  "password", "admin", "12345678", "admin1234", "router", "qwerty",
  "1234", "12345", "123456", "root", "user", "guest", "default", "pass", "000000", "111111",
}

local v = vars {
  weak_password  = random.choice({ "password", "admin", "12345678", "admin1234", "router", "qwerty" },
                                 { unique = false, secret = true }),
  new_password   = random.password(16, { secret = true }),     -- the reference solution's
  teleworker     = random.word(),
  pc_addr        = random.host(home, 20, 99),
  attacker_addr  = random.host(internet, 100, 199),
  ddns_word      = random.word({ unique = false, secret = true }),
  ddns_tag       = random.hex(2, { secret = true }),
  ddns_login     = random.word({ unique = false }),
  ddns_secret    = random.password(12, { secret = true }),
  c2_tag         = random.hex(3),
  router_key     = random.hex(32, { secret = true }),   -- WireGuard keys, as raw bytes in hex
  company_key    = random.hex(32),
  attacker_key   = random.hex(32, { secret = true }),
}

-- WireGuard keys are 32 bytes in base64. A peer's public key can be any 32
-- bytes as far as `wg` is concerned, so the keys are drawn per team here
-- instead of being generated in the guest: the checks must know them.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function hex_b64(hex)
  local bytes = {}
  for i = 1, #hex, 2 do bytes[#bytes + 1] = tonumber(hex:sub(i, i + 1), 16) end
  local out = {}
  for i = 1, #bytes, 3 do
    local a, b, c = bytes[i], bytes[i + 1], bytes[i + 2]
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local k = { n // 262144 % 64, n // 4096 % 64, n // 64 % 64, n % 64 }
    out[#out + 1] = B64:sub(k[1] + 1, k[1] + 1) .. B64:sub(k[2] + 1, k[2] + 1)
      .. (b and B64:sub(k[3] + 1, k[3] + 1) or "=") .. (c and B64:sub(k[4] + 1, k[4] + 1) or "=")
  end
  return table.concat(out)
end

local DDNS_HOST = v.ddns_word .. "-" .. v.ddns_tag .. ".dyn.example.net"
local C2_DOMAIN = "upd-" .. v.c2_tag .. ".example.com"
local ATTACKER_KEY = hex_b64(v.attacker_key)
local COMPANY_KEY = hex_b64(v.company_key)

-- The home router -----------------------------------------------------------
-- Everything every team's router shares is baked once into the role's layer;
-- per-team values (passwords, keys, names) are provisioned per VM.

local R = "files/router/"
local home_router = role {
  name = "home-router",
  image = "debian-12",
  packages = {
    "miniupnpd", "miniupnpd-nftables", "wireguard-tools", "openbsd-inetd", "inetutils-telnetd",
    "ddclient", "libpam-pwquality", "micro-httpd",
  },
  files = {
    file { src = R .. "miniupnpd.conf", dest = "/etc/miniupnpd/miniupnpd.conf" },
    file { src = R .. "miniupnpd.default", dest = "/etc/default/miniupnpd" },
    file { src = R .. "miniupnpd-tables.nft", dest = "/etc/miniupnpd/crange-tables.nft" },
    file { src = R .. "miniupnpd-tables-remove.nft", dest = "/etc/miniupnpd/crange-tables-remove.nft" },
    file { src = R .. "home-lan.conf", dest = "/etc/dnsmasq.d/home-lan.conf" },
    file { src = R .. "isp-dns.conf", dest = "/etc/isp-dns/dnsmasq.conf" },
    file { src = R .. "isp-dns.service", dest = "/etc/systemd/system/isp-dns.service" },
    file { src = R .. "admin/index.html", dest = "/var/www/html/index.html" },
    file { src = R .. "nftables.conf", dest = "/etc/nftables.conf", mode = "0755" },
    file { src = R .. "sysctl-router.conf", dest = "/etc/sysctl.d/90-router.conf" },
    file { src = R .. "ddclient.default", dest = "/etc/default/ddclient" },
  },
  run = {
    -- telnet as shipped: disabled in inetd.conf; this router has it on. The
    -- web administration is micro-httpd's systemd socket on 0.0.0.0:80 (the
    -- WAN included), not its inetd entry.
    "update-inetd --enable telnet && update-inetd --disable www",
    "systemctl enable openbsd-inetd micro-httpd.socket miniupnpd isp-dns dnsmasq",
    -- ddclient and the VPN are the attacker's: started per team, below.
    "systemctl disable ddclient",
    "touch /etc/isp-dns/internet.hosts",
  },
}

vm {
  name = "router",
  role = home_router,
  memory = 512,
  entry = true,
  description = {
    ja = "在宅勤務者の自宅ルーター (Debian 12: nftables, dnsmasq, miniupnpd, telnetd, WireGuard, ddclient)",
    en = "The teleworker's home router (Debian 12: nftables, dnsmasq, miniupnpd, telnetd, WireGuard, ddclient)",
  },
  nics = {
    { network = internet, address = ROUTER_WAN },   -- eth0, WAN
    { network = home,     address = ROUTER_LAN },   -- eth1, LAN
  },
  provision = {
    user { name = "admin", password = v.weak_password, shell = "/bin/bash", groups = { "sudo" } },
    -- The ISP resolver's view of the internet (emulation, see isp-dns.conf).
    file { dest = "/etc/isp-dns/internet.hosts", content =
      WWW .. " " .. NORMAL_DOMAIN .. " www.example.jp\n"
      .. v.attacker_addr .. " " .. C2_DOMAIN .. "\n"
      .. ROUTER_WAN .. " " .. DDNS_HOST .. "\n" },
    -- Left by the attacker: a WireGuard peer next to the company's VPN peer.
    file { dest = "/etc/wireguard/wg0.conf", mode = "0600", content = table.concat({
      "[Interface]",
      "PrivateKey = " .. hex_b64(v.router_key),
      "Address = 10.66.0.1/24",
      "ListenPort = 51820",
      "",
      "# Company VPN (set up by the IT department for telework)",
      "# 会社の VPN (情報システム部が在宅勤務用に設定)",
      "[Peer]",
      "PublicKey = " .. COMPANY_KEY,
      "Endpoint = " .. COMPANY_VPN .. ":51820",
      "AllowedIPs = 10.10.0.0/16",
      "",
      "[Peer]",
      "PublicKey = " .. ATTACKER_KEY,
      "Endpoint = " .. v.attacker_addr .. ":51820",
      "AllowedIPs = 10.66.0.2/32",
      "PersistentKeepalive = 25",
      "",
    }, "\n") },
    -- Left by the attacker: dynamic DNS, so that it finds the router by name.
    file { dest = "/etc/ddclient.conf", mode = "0600", content = table.concat({
      "# /etc/ddclient.conf",
      "protocol=dyndns2",
      "use=if, if=eth0",
      "server=" .. WWW,
      "ssl=no",
      "script=/cgi-bin/nic-update",
      "login=" .. v.ddns_login,
      "password='" .. v.ddns_secret .. "'",
      DDNS_HOST,
      "",
    }, "\n") },
    -- Enabled by hand-made symlinks, as systemctl enable would make them:
    -- its daemon-reload costs a minute under TCG, and nothing here needs it.
    run { cmd = "sysctl -q -p /etc/sysctl.d/90-router.conf"
      .. " && ln -sf /lib/systemd/system/wg-quick@.service /etc/systemd/system/multi-user.target.wants/wg-quick@wg0.service"
      .. " && ln -sf /lib/systemd/system/ddclient.service /etc/systemd/system/multi-user.target.wants/ddclient.service"
      .. " && systemctl restart isp-dns dnsmasq && systemctl start wg-quick@wg0 ddclient", timeout = 600 },
  },
}

-- The teleworker's PC, the internet ----------------------------------------

vm {
  name = "pc",
  image = "tiny",
  memory = 128,
  entry = true,
  description = { ja = "在宅勤務者の PC (自宅 LAN)", en = "The teleworker's PC (home LAN)" },
  nics = { { network = home, address = v.pc_addr } },
  gateway = ROUTER_LAN,
  provision = {
    user { name = v.teleworker },
    file { dest = "/etc/resolv.conf", content = "nameserver " .. ROUTER_LAN .. "\n" },
    file { dest = "/root/memo.txt", content =
      "ルーターの設定メモ / Router notes\n"
      .. "  管理画面 / admin page: http://" .. ROUTER_LAN .. "/   telnet " .. ROUTER_LAN .. "\n"
      .. "  ユーザー / user: admin   パスワード / password: " .. v.weak_password .. "\n"
      .. "  (買ったときのまま / as it came from the shop)\n" },
  },
}

vm {
  name = "www",
  image = "tiny",
  memory = 128,
  description = {
    ja = "インターネット上の Web サイト (" .. NORMAL_DOMAIN .. ") と DDNS 事業者 (エミュレーション)",
    en = "A web site on the internet (" .. NORMAL_DOMAIN .. ") and a dynamic DNS provider (emulated)",
  },
  nics = { { network = internet, address = WWW } },   -- no gateway: it cannot route to the home LAN
  provision = {
    file { src = "files/inet/index.html", dest = "/srv/www/index.html" },
    file { src = "files/inet/myip", dest = "/srv/www/cgi-bin/myip", mode = "0755" },
    file { src = "files/inet/nic-update", dest = "/srv/www/cgi-bin/nic-update", mode = "0755" },
    run "mkdir -p /var/log && busybox httpd -p 80 -h /srv/www",
  },
}

vm {
  name = "attacker",
  image = "tiny",
  memory = 128,
  entry = true,
  description = {
    ja = "インターネット側の攻撃者の端末 (外からの見え方の確認用)",
    en = "The attacker's host on the internet (to check what the internet sees)",
  },
  nics = { { network = internet, address = v.attacker_addr } },
  provision = {
    file { src = "files/attacker/scan-router", dest = "/usr/bin/scan-router", mode = "0755" },
  },
}

-- The exercise ---------------------------------------------------------------

-- Probes the router's WAN address from the attacker, in parallel: one line
-- "PORT open|closed|filtered" per port. Filtered = no answer at all (a
-- default drop); closed = refused (RST). Written here, not in the attacker's
-- scan-router, so that a team cannot change what the check runs.
local PROBE = [[
for p in "$@"; do
  ( out=$(timeout 4 nc -w 2 "$0" "$p" </dev/null 2>&1)
    if [ $? -eq 0 ]; then echo "$p open"
    else case "$out" in *refused*) echo "$p closed" ;; *) echo "$p filtered" ;; esac
    fi ) &
done
wait
]]
local WAN_PORTS = { 23, 2323, 80, 7547, 52869 }

local function wan_probe(ctx)
  local argv = { "sh", "-c", PROBE, ROUTER_WAN }
  for _, p in ipairs(WAN_PORTS) do argv[#argv + 1] = p end
  local r = ctx.vm("attacker"):exec(argv)
  local states = {}
  for port, state in r.stdout:gmatch("(%d+) (%a+)") do states[tonumber(port)] = state end
  return states
end

-- Resolves NAME through the router's dnsmasq from the PC; the IPv4 answers.
local function resolve(ctx, name)
  local r = ctx.vm("pc"):exec { "nslookup", name, ROUTER_LAN }
  local after = r.stdout:match("Name:.*$") or ""
  local addrs = {}
  for a in after:gmatch("Address:%s*(%d+%.%d+%.%d+%.%d+)") do addrs[#addrs + 1] = a end
  return addrs
end

local function only(addrs, want)
  return #addrs > 0 and (function()
    for _, a in ipairs(addrs) do if a ~= want then return false end end
    return true
  end)()
end

objective {
  id = "firewall",
  title = {
    ja = "ファイアウォールを有効にする: WAN からの着信は既定で破棄 (23, 2323, 80, 7547, 52869/tcp が filtered)",
    en = "Turn the firewall on: drop what comes in from the WAN by default (23, 2323, 80, 7547, 52869/tcp filtered)",
  },
  points = 20,
  attack = { "T1190", "T1133", "T1595" },
  skills = { "firewall configuration", "nftables", "attack surface reduction" },
  mode = "hold",
  hints = {
    { ja = "nftables の input チェーンを policy drop にし、lo・LAN (eth1)・確立済みの通信 (ct state established,related) だけを許可します。",
      en = "Give nftables an input chain with policy drop that accepts only lo, the LAN (eth1) and ct state established,related.",
      cost = 4 },
    { ja = "/etc/nftables.conf に書き、systemctl enable --now nftables で有効にします。拒否 (reject) ではなく破棄 (drop) です。WAN を落とすだけでは不可: ルーター自身は 203.0.113.80 へ ping できること。",
      en = "Write it in /etc/nftables.conf and systemctl enable --now nftables. Drop, not reject. Taking the WAN down does not count: the router itself must still ping 203.0.113.80.",
      cost = 6 },
  },
  check = function(ctx)
    local states = wan_probe(ctx)
    for _, p in ipairs(WAN_PORTS) do
      if states[p] ~= "filtered" then return false end
    end
    -- The WAN still works for the router itself (replies come back in).
    return ctx.vm("router"):exec { "ping", "-c", "1", "-W", "2", WWW }.code == 0
  end,
}

objective {
  id = "nat",
  title = {
    ja = "NAT を有効にする: PC からインターネットの Web サイトに、ルーターの WAN アドレスで接続できる",
    en = "Turn NAT on: the PC reaches the web site on the internet, seen from there as the router's WAN address",
  },
  points = 10,
  skills = { "NAT", "nftables" },
  mode = "hold",
  hints = {
    { ja = "nftables の nat テーブルに postrouting チェーンを作り、oifname \"eth0\" masquerade を追加します。",
      en = "Add a postrouting chain in an nftables nat table with oifname \"eth0\" masquerade.", cost = 3 },
    { ja = "PC で wget -qO- http://203.0.113.80/cgi-bin/myip を実行すると、相手から見えるアドレスが分かります。",
      en = "On the PC, wget -qO- http://203.0.113.80/cgi-bin/myip shows the address the site sees.", cost = 2 },
  },
  check = function(ctx)
    local r = ctx.vm("pc"):exec { "timeout", "4", "wget", "-qO-", "http://" .. WWW .. "/cgi-bin/myip" }
    return r.code == 0 and r.stdout:match("^%s*(.-)%s*$") == ROUTER_WAN
  end,
}

objective {
  id = "dns_filter",
  title = {
    ja = "DNS フィルタリング: 通報にある不正なドメインはルーターの DNS で 0.0.0.0 に、通常のドメインは引き続き解決できる",
    en = "DNS filtering: the malicious domain of the notice resolves to 0.0.0.0 at the router, normal domains still resolve",
  },
  points = 15,
  attack = { "T1071", "T1583.001" },
  skills = { "DNS filtering", "dnsmasq" },
  mode = "hold",
  hints = {
    { ja = "ルーターの DNS は dnsmasq です (/etc/dnsmasq.d/)。address=/ドメイン/0.0.0.0 を追加して再起動します。",
      en = "The router's DNS is dnsmasq (/etc/dnsmasq.d/). Add address=/DOMAIN/0.0.0.0 and restart it.", cost = 4 },
    { ja = "ドメインは PC に届く通報 (/root/notice.txt) に書かれています。",
      en = "The domain is in the notice that arrives on the PC (/root/notice.txt).", cost = 2 },
  },
  check = function(ctx)
    return only(resolve(ctx, C2_DOMAIN), "0.0.0.0") and only(resolve(ctx, NORMAL_DOMAIN), WWW)
  end,
}

objective {
  id = "upnp_off",
  title = {
    ja = "UPnP を無効にする: miniupnpd を停止・無効化し、52869/tcp を閉じる",
    en = "Turn UPnP off: stop and disable miniupnpd, so that 52869/tcp is closed",
  },
  points = 15,
  attack = { "T1190" },
  skills = { "service hardening", "UPnP" },
  mode = "hold",
  hints = {
    { ja = "ss -ltnp で 52869 番を待ち受けているプロセスを確認します。",
      en = "ss -ltnp shows which process listens on 52869.", cost = 2 },
    { ja = "systemctl disable --now miniupnpd", en = "systemctl disable --now miniupnpd", cost = 5 },
  },
  check = function(ctx)
    local r = ctx.vm("router"):exec { "sh", "-c", "! pidof miniupnpd >/dev/null && ! systemctl is-enabled --quiet miniupnpd" }
    return r.code == 0 and not ctx.vm("pc"):tcp_open(ROUTER_LAN, 52869, 2)
  end,
}

-- The effective minimum length: pam_pwquality's minlen= in common-password,
-- else the last minlen in pwquality.conf.d/*.conf then pwquality.conf (the
-- library reads them in that order and later values win: pwquality.conf(5)),
-- else the library's default. Prints "NO-PAM" when pam_pwquality is
-- not in the password stack.
local MINLEN = [=[
line=$(grep -E '^[[:space:]]*password[[:space:]].*pam_pwquality\.so' /etc/pam.d/common-password | head -n 1)
[ -n "$line" ] || { echo NO-PAM; exit 0; }
m=$(cat /etc/security/pwquality.conf.d/*.conf /etc/security/pwquality.conf 2>/dev/null |
    sed -n 's/^[[:space:]]*minlen[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' | tail -n 1)
a=$(printf '%s\n' "$line" | grep -o 'minlen=[0-9]*' | tail -n 1 | cut -d= -f2)
[ -n "$a" ] && m=$a
echo "${m:-8}"
]=]

objective {
  id = "password_policy",
  title = {
    ja = "パスワードの最小文字数を 12 文字以上に強制する (pam_pwquality)",
    en = "Enforce a minimum password length of 12 or more (pam_pwquality)",
  },
  points = 10,
  attack = { "T1110", "T1110.001" },
  skills = { "password policy", "PAM" },
  hints = {
    { ja = "libpam-pwquality は導入済みです。/etc/security/pwquality.conf の minlen を設定します。",
      en = "libpam-pwquality is installed. Set minlen in /etc/security/pwquality.conf.", cost = 3 },
  },
  check = function(ctx)
    local r = ctx.vm("router"):exec { "sh", "-c", MINLEN }
    local n = tonumber(r.stdout:match("^%s*(%d+)"))
    return r.code == 0 and n ~= nil and n >= 12
  end,
}

-- Tries every guessable password against admin's hash in /etc/shadow, with
-- the system's crypt(3) (yescrypt), as a NOTICE-style survey would try them
-- at the login prompt. Exit 0: admin has a password and none matches.
local GUESS = [[
my ($hash) = map { (split /:/)[1] } grep { /^admin:/ } do { open my $f, '<', '/etc/shadow' or exit 3; <$f> };
exit 4 unless defined $hash && $hash =~ /^\$/;
while (my $pw = <STDIN>) { chomp $pw; exit 1 if crypt($pw, $hash) eq $hash; }
exit 0;
]]

objective {
  id = "admin_password",
  title = {
    ja = "管理者 (admin) のパスワードを購入時のものから変える (よく使われるパスワードでのログイン試行がすべて失敗する)",
    en = "Change the admin password from the one it came with (login attempts with common passwords all fail)",
  },
  points = 15,
  attack = { "T1078.001", "T1110.001" },
  skills = { "credential hygiene" },
  hints = {
    { ja = "PC の /root/memo.txt に今のパスワードがあります。買ったときのままです。",
      en = "The current password is in /root/memo.txt on the PC: it came that way from the shop.", cost = 2 },
    { ja = "ルーターで passwd admin (または chpasswd) を使います。",
      en = "On the router, passwd admin (or chpasswd).", cost = 3 },
  },
  check = function(ctx)
    local r = ctx.vm("router"):exec { "perl", "-e", GUESS, input = table.concat(GUESSABLE, "\n") .. "\n" }
    return r.code == 0
  end,
}

objective {
  id = "vpn_peer",
  title = {
    ja = "攻撃者が追加した VPN (WireGuard) の接続先を削除する (会社の VPN は残す)",
    en = "Remove the VPN (WireGuard) peer the attacker added (keep the company's VPN)",
  },
  points = 15,
  attack = { "T1133", "T1584.008" },
  skills = { "WireGuard", "configuration review" },
  mode = "hold",
  hints = {
    { ja = "wg show と /etc/wireguard/wg0.conf を見比べます。コメントのない [Peer] が攻撃者のものです。",
      en = "Compare wg show with /etc/wireguard/wg0.conf. The [Peer] without a comment is the attacker's.", cost = 3 },
    { ja = "wg set wg0 peer 公開鍵 remove で今の接続先から外し、wg0.conf からも消して再起動後に戻らないようにします。",
      en = "wg set wg0 peer PUBKEY remove takes it off now; delete it from wg0.conf too so that it does not come back.",
      cost = 5 },
  },
  check = function(ctx)
    -- The live peers, then the configuration files wg-quick reads at boot.
    local r = ctx.vm("router"):exec { "sh", "-c", "wg show all peers && echo '--' && cat /etc/wireguard/*.conf" }
    local live, conf = r.stdout:match("^(.-)\n%-%-\n(.*)$")
    if r.code ~= 0 or not live then return false end
    for _, text in ipairs { live, conf } do
      if text:find(ATTACKER_KEY, 1, true) or not text:find(COMPANY_KEY, 1, true) then return false end
    end
    return true
  end,
}

objective {
  id = "ddns_off",
  title = {
    ja = "攻撃者が設定した DDNS クライアントを停止・無効化する",
    en = "Stop and disable the dynamic DNS client the attacker set up",
  },
  points = 10,
  attack = { "T1568", "T1584.008" },
  skills = { "service inventory", "systemd" },
  mode = "hold",
  hints = {
    { ja = "systemctl list-units --type=service で、ルーターに不要なサービスを探します。",
      en = "systemctl list-units --type=service: look for a service a home router does not need.", cost = 3 },
  },
  check = function(ctx)
    -- A running ddclient renames itself ("ddclient - sleeping for 50 seconds").
    return ctx.vm("router"):exec { "sh", "-c",
      "! pgrep -f '^ddclient' >/dev/null && ! systemctl is-enabled --quiet ddclient" }.code == 0
  end,
}

flag {
  id = "ddns_host",
  question = {
    ja = "攻撃者がルーターに設定した DDNS のホスト名は?",
    en = "Which dynamic DNS host name did the attacker configure on the router?",
  },
  points = 10,
  attack = { "T1568" },
  skills = { "configuration review" },
  max_attempts = 5,
  answer = function(vars) return vars.ddns_word .. "-" .. vars.ddns_tag .. ".dyn.example.net" end,
  hints = {
    { ja = "DDNS クライアントの設定ファイルは /etc にあります。", en = "The DDNS client's configuration is in /etc.", cost = 3 },
  },
}

-- The rogue peer's public key, not its endpoint address: the attacker VM is
-- an entry point (to see the router from the internet), and its own address
-- would give the endpoint away.
flag {
  id = "vpn_peer_key",
  question = {
    ja = "攻撃者が追加した VPN (WireGuard) の接続先の公開鍵 (PublicKey) は?",
    en = "What is the public key (PublicKey) of the VPN (WireGuard) peer the attacker added?",
  },
  points = 10,
  attack = { "T1133" },
  skills = { "WireGuard", "configuration review" },
  max_attempts = 5,
  case_sensitive = true,   -- base64
  answer = function(vars) return hex_b64(vars.attacker_key) end,
  hints = {
    { ja = "wg show wg0 endpoints", en = "wg show wg0 endpoints", cost = 3 },
  },
}

-- Injects ---------------------------------------------------------------------

inject {
  id = "scan",
  title = {
    ja = "インターネットからルーターへのスキャン (23, 2323, 80, 7547, 52869/tcp)",
    en = "A scan of the router from the internet (23, 2323, 80, 7547, 52869/tcp)",
  },
  at = "1m",
  run = { vm = "attacker", cmd = "scan-router " .. ROUTER_WAN .. " > /root/scan-1.txt 2>&1" },
}

local NOTICE = table.concat({
  "==== 警視庁・ISP からのお知らせ (演習用) / Notice from the police and your ISP (exercise) ====",
  "",
  "お客様のルーター (WAN アドレス " .. ROUTER_WAN .. ") が、第三者への攻撃の中継に使われている可能性があります。",
  "Your router (WAN address " .. ROUTER_WAN .. ") may be relaying attacks against third parties.",
  "",
  "- 調査 (NOTICE) で、推測しやすいパスワードでログインできる状態が見つかりました。",
  "  A survey (NOTICE) found that a guessable password logs in.",
  "- インターネットから telnet (23/tcp)、管理画面 (80/tcp)、UPnP (52869/tcp) に接続できます。",
  "  Telnet (23/tcp), the web administration (80/tcp) and UPnP (52869/tcp) are reachable from the internet.",
  "- 攻撃者が家庭用ルーターの VPN 機能と DDNS 機能を有効にして中継に使う手口が確認されています (警視庁, 2023-03-28)。",
  "  Attackers turn on the VPN and DDNS functions of home routers to relay attacks (Tokyo Metropolitan Police, 2023-03-28).",
  "- 次のドメインは攻撃の指令サーバーです。家庭内からの名前解決を止めてください: " .. C2_DOMAIN,
  "  This domain is a command server; stop it from resolving in your home: " .. C2_DOMAIN,
  "",
  "総務省テレワークセキュリティのチェックリストに従い、ルーターを見直してください:",
  "Review the router along MIC's telework security checklist:",
  "  ファイアウォール有効 / firewall on, NAT 有効 / NAT on, DNS フィルタリング / DNS filtering,",
  "  UPnP 無効 / UPnP off, パスワードは 12 文字以上 / passwords of 12 characters or more.",
  "",
}, "\n")

inject {
  id = "notice",
  title = {
    ja = "警視庁・ISP からの通報が PC に届く (/root/notice.txt)",
    en = "A notice from the police and the ISP arrives on the PC (/root/notice.txt)",
  },
  at = "2m",
  run = { vm = "pc", argv = { "sh", "-c", "cat > /root/notice.txt", NOTICE } },
}

-- The reference solution ------------------------------------------------------

local SOLUTION_NFT = [[
#!/usr/sbin/nft -f
# Home router firewall: default drop on what comes in, NAT for the LAN.
flush ruleset
table inet filter {
    chain input {
        type filter hook input priority 0; policy drop;
        iifname "lo" accept
        ct state established,related accept
        ct state invalid drop
        iifname "eth1" accept
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
        ct state established,related accept
        iifname "eth1" oifname "eth0" accept
    }
}
table ip nat {
    chain postrouting {
        type nat hook postrouting priority 100; policy accept;
        oifname "eth0" masquerade
    }
}
]]

-- Everything the solution changes on the router, in one guest command (each
-- command costs seconds under TCG). $1: the domain to block, $2: the rogue
-- peer's key; the new admin password and the firewall come on stdin.
local SOLUTION_SH = [=[
set -e
read -r password
cat > /etc/nftables.conf
# UPnP off before the firewall, whose flush also removes miniupnpd's table.
# --no-reload: nothing needs systemd's daemon-reload (a minute under TCG).
systemctl disable --now --no-reload miniupnpd ddclient
systemctl enable --no-reload nftables
systemctl restart nftables
echo "address=/$1/0.0.0.0" > /etc/dnsmasq.d/blocklist.conf
systemctl restart dnsmasq
sed -i '/^[# ]*minlen *=/d' /etc/security/pwquality.conf
echo 'minlen = 12' >> /etc/security/pwquality.conf
echo "admin:$password" | chpasswd
# The rogue peer: off the live interface, and out of wg0.conf for the next boot.
wg set wg0 peer "$2" remove
awk -v key="$2" 'BEGIN { RS = ""; ORS = "\n\n" } index($0, "PublicKey = " key) == 0 { print }' \
    /etc/wireguard/wg0.conf > /etc/wireguard/wg0.conf.new
chmod 600 /etc/wireguard/wg0.conf.new
mv /etc/wireguard/wg0.conf.new /etc/wireguard/wg0.conf
]=]

solution(function(ctx)
  local router = ctx.vm("router")

  -- What the attacker left: read it from the router, as a team would.
  local r = router:exec { "sh", "-c", "cat /etc/ddclient.conf && echo '--' && wg show wg0 endpoints" }
  if r.code ~= 0 then error("reading the router: " .. r.stderr) end
  local host = r.stdout:match("\n([%w%-]+%.dyn%.example%.net)%s*\n")
  local rogue_key
  for key, addr in (r.stdout:match("\n%-%-\n(.*)$") or ""):gmatch("(%S+)%s+([%d%.]+):%d+") do
    if addr ~= COMPANY_VPN then rogue_key = key end
  end
  if not (host and rogue_key) then error("could not find the DDNS host or the rogue peer") end
  for id, answer in pairs { ddns_host = host, vpn_peer_key = rogue_key } do
    local verdict = ctx.submit(id, answer)
    if verdict ~= "correct" then error(id .. ": " .. verdict) end
  end

  r = router:exec { "sh", "-c", SOLUTION_SH, "solution", C2_DOMAIN, rogue_key,
                    input = ctx.vars.new_password .. "\n" .. SOLUTION_NFT }
  if r.code ~= 0 then error("fixing the router: " .. r.stderr) end
end)
