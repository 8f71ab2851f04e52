-- cnc-takedown: an ISP finds a C&C server in its flow records and blocks it
-- (case 5 of the scenario cases: ACTIVE, and MIC's 2021-11 study group on
-- flow collection for finding unknown C&C servers).
--
-- Per team: the ISP's edge router (Debian: nftables, softflowd -> nfcapd,
-- dnsmasq as the customers' cache DNS), ten customers' IoT devices (tiny;
-- some of them run an emulated bot), and on the "internet" side the C&C
-- server (its address differs per team), the web shop the bots flood, and
-- the legitimate sites every customer uses.

scenario {
  id = "cnc-takedown",
  title = {
    ja = "ISP によるフロー情報からの C&C サーバー検知と遮断",
    en = "An ISP finds a C&C server in its flow records and blocks it",
  },
  description = {
    ja = "顧客宅の IoT 機器の一部がボット化し、C&C サーバーの指令で Web サイトへ DDoS 攻撃をしている。"
      .. "ISP のエッジルーターのフロー記録 (nfdump) だけから C&C サーバーを特定し、通信の秘密に配慮しつつ、"
      .. "正規の通信を止めずに C&C との通信を遮断し、感染した利用者を洗い出す。",
    en = "Some customers' IoT devices have become bots and flood a web site on the orders of a C&C server. "
      .. "Using only the flow records (nfdump) of the ISP's edge router, find the C&C server, block it "
      .. "without cutting legitimate traffic, respecting the secrecy of communications, and list the "
      .. "infected customers to warn them.",
  },
  sources = {
    "ICT-ISAC, ACTIVE (Advanced Cyber Threats response InitiatiVE): https://www.ict-isac.jp/active/",
    "MIC (総務省) study group report, 2021-11-24: minimal flow collection in normal times to find unknown C&C servers",
    "総務省 サイバーセキュリティタスクフォース「IoT・5Gセキュリティ総合対策2020(案)」2020-07-17",
  },
  teams = 2,
}

local nft = require "lib.nft"

-- Addresses -----------------------------------------------------------------

-- The ISP's customers sit in shared address space (RFC 6598); the
-- "internet" is a documentation range (RFC 5737). Both exist only on the
-- range's isolated bridges.
local access   = network { name = "access",   cidr = "100.64.0.0/24" }
local internet = network { name = "internet", cidr = "203.0.113.0/24" }

local ROUTER_ACCESS   = access:host(1)       -- also the customers' cache DNS
local ROUTER_INTERNET = internet:host(1)
local PORTAL = internet:host(10)             -- www.portal.example
local CLOUD  = internet:host(20)             -- api.camcloud.example (the cameras' vendor)
local SHOP   = internet:host(80)             -- shop.example, the DDoS victim
local LEGIT  = { PORTAL, CLOUD, SHOP }
local N_CUSTOMERS = 10

-- Which 6 of the 10 customers are infected: a string of 10 "0"/"1", one of
-- the 210 with six ones, different for every team.
local masks = {}
for m = 0, (1 << N_CUSTOMERS) - 1 do
  local s, ones = {}, 0
  for i = 1, N_CUSTOMERS do
    local bit = (m >> (i - 1)) & 1
    ones = ones + bit
    s[i] = tostring(bit)
  end
  if ones == 6 then masks[#masks + 1] = table.concat(s) end
end

local v = vars {
  -- The C&C server's address: what the teams must find (hosts 100..250, clear
  -- of the fixed internet hosts).
  cnc = random.host(internet, 100, 250, { secret = true }),
  infected = random.choice(masks, { secret = true }),
}

local function customer_addr(i) return access:host(100 + i) end

-- Per-team facts the checks use, from this team's vars.
local function infected_of(vars)
  local bots, clean = {}, {}
  for i = 1, N_CUSTOMERS do
    if vars.infected:sub(i, i) == "1" then bots[#bots + 1] = i else clean[#clean + 1] = i end
  end
  return bots, clean
end

-- The ISP edge router ---------------------------------------------------------

local edge = role {
  name = "isp-edge", image = "debian-12",
  packages = { "softflowd", "nfdump" },
  files = {
    file { src = "files/softflowd.conf", dest = "/etc/softflowd/default.conf" },
    file { src = "files/nfdump.conf", dest = "/etc/nfdump/default.conf" },
    file { src = "files/dnsmasq-isp.conf", dest = "/etc/dnsmasq.d/isp.conf" },
    file { src = "files/sysctl-router.conf", dest = "/etc/sysctl.d/60-isp-router.conf" },
    file { src = "files/motd", dest = "/etc/motd" },
  },
  run = {
    -- Flow records only: nfdump's nfpcapd can also store packets and their
    -- payload, so it does not stay on the router. No packet capture tool
    -- (tcpdump, tshark) is installed anywhere in the range.
    "rm -f /usr/bin/nfpcapd",
    "! command -v tcpdump && ! command -v tshark",
    "mkdir -p /var/cache/nfdump",
    "systemctl enable dnsmasq.service softflowd.service nfdump.service",
  },
}

vm {
  name = "router", role = edge, memory = 512,
  nics = {
    { network = access,   address = ROUTER_ACCESS },     -- eth0: the customers
    { network = internet, address = ROUTER_INTERNET },   -- eth1: the internet
  },
  entry = true,
  description = {
    ja = "ISP のエッジルーター (nftables、softflowd/nfcapd のフロー記録、顧客向けキャッシュ DNS)。訓練生が操作する",
    en = "The ISP's edge router (nftables, softflowd/nfcapd flow records, the customers' cache DNS); the trainees work here",
  },
}

-- The customers -------------------------------------------------------------

local bots, clean = infected_of(v)
local is_bot = {}
for _, i in ipairs(bots) do is_bot[i] = true end

for i = 1, N_CUSTOMERS do
  local steps = {
    file { content = "nameserver " .. ROUTER_ACCESS .. "\n", dest = "/etc/resolv.conf" },
    file { src = "files/customer.sh", dest = "/usr/local/bin/customer.sh", mode = "0755" },
    run("setsid /usr/local/bin/customer.sh " .. ROUTER_ACCESS .. " </dev/null >/dev/null 2>&1 &"),
  }
  if is_bot[i] then
    steps[#steps + 1] = file { src = "files/bot.sh", dest = "/usr/local/bin/bot.sh", mode = "0755" }
    steps[#steps + 1] = run("setsid /usr/local/bin/bot.sh " .. v.cnc .. " </dev/null >/dev/null 2>&1 &")
  end
  vm {
    name = "iot" .. i, image = "tiny", memory = 128,
    nics = { { network = access, address = customer_addr(i) } },
    gateway = ROUTER_ACCESS,
    description = {
      ja = "顧客宅の IoT 機器 (ネットワークカメラ) " .. i .. " 台目",
      en = "Customer IoT device (network camera) number " .. i,
    },
    provision = steps,
  }
end

-- The internet ----------------------------------------------------------------

vm {
  name = "cnc", image = "tiny", memory = 128,
  nics = { { network = internet, address = v.cnc } },
  gateway = ROUTER_INTERNET,
  description = {
    ja = "攻撃者の C&C サーバー (模擬。運営用で、訓練生は触れない)",
    en = "The attacker's C&C server (emulated; for the operators, not the trainees)",
  },
  provision = {
    file { src = "files/cnc-cmd", dest = "/srv/c2/cmd" },
    run "httpd -p 80 -h /srv/c2",
  },
}

vm {
  name = "victim", image = "tiny", memory = 128,
  nics = { { network = internet, address = SHOP } },
  gateway = ROUTER_INTERNET,
  description = { ja = "DDoS の標的になっている Web ショップ shop.example", en = "shop.example, the web shop under DDoS" },
  provision = {
    file { src = "files/index-shop.html", dest = "/srv/shop/index.html" },
    run "httpd -p 80 -h /srv/shop",
  },
}

vm {
  name = "web", image = "tiny", memory = 128,
  nics = { { network = internet, address = PORTAL } },
  gateway = ROUTER_INTERNET,
  description = {
    ja = "正規のサイト: ポータル www.portal.example とカメラメーカーのクラウド api.camcloud.example",
    en = "Legitimate sites: the portal www.portal.example and the camera vendor's cloud api.camcloud.example",
  },
  provision = {
    file { src = "files/index-portal.html", dest = "/srv/portal/index.html" },
    file { src = "files/index-cloud.html", dest = "/srv/cloud/index.html" },
    run("ip addr add " .. CLOUD .. "/24 dev $(ip -o -4 addr show | awk '/ " .. PORTAL .. "\\// { print $2 }')"),
    run("httpd -p " .. PORTAL .. ":80 -h /srv/portal && httpd -p " .. CLOUD .. ":80 -h /srv/cloud"),
  },
}

-- The exercise ------------------------------------------------------------------

local function ruleset(ctx)
  local r = ctx.vm("router"):exec{ "/usr/sbin/nft", "list", "ruleset" }
  if r.code ~= 0 then error("nft list ruleset failed: " .. (r.stderr or "")) end
  return r.stdout
end

-- The victim's count of ICMP echo requests received, twice, 4 s apart,
-- measured inside the victim.
local ECHO_WINDOW = [[
n() { awk '/^Icmp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i } else { print $c; exit } }' /proc/net/snmp; }
a=$(n); sleep 4; b=$(n); echo "$a $b"]]

-- From a customer: the cache DNS answers for every legitimate name, and each
-- site answers over HTTP.
local LEGIT_PROBE = [[
for n in www.portal.example api.camcloud.example shop.example; do
  a=$(timeout 3 nslookup -type=a "$n" ]] .. ROUTER_ACCESS .. [[ 2>/dev/null | awk '/^Name:/ { f = 1 } f && /^Address/ { a = $NF } END { print a }')
  case "$a" in 203.0.113.*) ;; *) echo "no DNS answer for $n"; exit 1 ;; esac
  timeout 4 wget -q -O /dev/null "http://$a/" || { echo "no HTTP answer from $n ($a)"; exit 1; }
done]]

flag {
  id = "cnc_addr",
  question = {
    ja = "ボットに指令を出している C&C サーバーの IP アドレスは? (フロー記録から特定すること)",
    en = "What is the IP address of the C&C server that commands the bots? (find it in the flow records)",
  },
  points = 20,
  attack = { "T1071.001", "T1584.005" },
  skills = { "flow analysis", "nfdump" },
  max_attempts = 3,
  answer = function(vars) return vars.cnc end,
  hints = {
    { ja = "まず通信量の多い宛先を見る: nfdump -R /var/cache/nfdump -s dstip/packets",
      en = "Start with the busiest destinations: nfdump -R /var/cache/nfdump -s dstip/packets", cost = 3 },
    { ja = "攻撃先へ送信している顧客 (送信元) を洗い出し、その顧客だけが通信している別の宛先を探す: "
        .. "nfdump -R /var/cache/nfdump -A srcip,dstip,proto 'src net 100.64.0.0/24'",
      en = "List the customers that send to the attacked address, then look for another destination that only "
        .. "those customers talk to: nfdump -R /var/cache/nfdump -A srcip,dstip,proto 'src net 100.64.0.0/24'",
      cost = 5 },
    { ja = "C&C はボットが定期的に小さな HTTP 通信で指令を取りに行く先。正常な機器も通信するメーカーのクラウドとは、"
        .. "通信している顧客の集合で区別できる",
      en = "The C&C is where the bots fetch orders with small, periodic HTTP requests. The vendor's cloud gets the same "
        .. "kind of requests, but from every customer, infected or not", cost = 8 },
  },
}

local block = objective {
  id = "block_cnc",
  title = {
    ja = "エッジルーターの nftables で C&C サーバーとの通信を遮断する (counter 付きのルール)",
    en = "Block traffic to the C&C server with nftables on the edge router (a rule with a counter)",
  },
  points = 30,
  attack = { "T1071.001" },
  skills = { "nftables", "C2 blocking" },
  mode = "hold",
  hints = {
    { ja = "例: nft add table inet isp; nft add chain inet isp forward '{ type filter hook forward priority 0; }'; "
        .. "nft add set inet isp cnc '{ type ipv4_addr; }'; nft add rule inet isp forward ip daddr @cnc counter drop; "
        .. "nft add element inet isp cnc '{ アドレス }'",
      en = "E.g. nft add table inet isp; nft add chain inet isp forward '{ type filter hook forward priority 0; }'; "
        .. "nft add set inet isp cnc '{ type ipv4_addr; }'; nft add rule inet isp forward ip daddr @cnc counter drop; "
        .. "nft add element inet isp cnc '{ ADDRESS }'", cost = 5 },
  },
  check = function(ctx)
    local cnc = ctx.vars.cnc
    local counted = false
    for _, rule in ipairs(nft.blocking_rules(ruleset(ctx))) do
      if rule.packets > 0 and nft.covers(rule.ranges, cnc) then counted = true end
    end
    if not counted then return false end
    local b = infected_of(ctx.vars)
    if ctx.vm("iot" .. b[1]):tcp_open(cnc, 80, 2) then error("a bot still reaches the C&C") end
    return true
  end,
}

objective {
  id = "flood_stopped",
  title = {
    ja = "DDoS 攻撃が止まる (標的側で受信が増えなくなる)",
    en = "The DDoS stops (the target receives no more of it)",
  },
  points = 10,
  attack = { "T1498.001" },
  skills = { "DDoS mitigation" },
  prereqs = { block },
  hints = {
    { ja = "ボットは実行中の攻撃 (約 10 秒) を終えてから次の指令を取りに行く。少し待つこと",
      en = "A bot finishes its current attack (about 10 s) before it asks for the next order: wait a little",
      cost = 1 },
  },
  check = function(ctx)
    local r = ctx.vm("victim"):exec(ECHO_WINDOW)
    local a, b = r.stdout:match("(%d+)%s+(%d+)")
    if not a then error("cannot read the victim's ICMP counters") end
    return tonumber(b) - tonumber(a) <= 2
  end,
}

objective {
  id = "legit_ok",
  title = {
    ja = "正規の通信は止めない: 感染した顧客も含め、DNS と Web (ポータル・クラウド・ショップ) が使える",
    en = "Legitimate traffic keeps flowing: customers, infected ones included, still use DNS and the web "
      .. "(portal, cloud, shop)",
  },
  points = 20,
  skills = { "service continuity" },
  mode = "hold",
  prereqs = { block },
  hints = {
    { ja = "遮断するのは C&C の 1 アドレスだけ。顧客のアドレスや /24 全体を止めてはいけない",
      en = "Block the C&C's one address only: not customers, not a whole /24", cost = 2 },
  },
  check = function(ctx)
    local b, c = infected_of(ctx.vars)
    for _, i in ipairs({ b[1], c[1] }) do
      local r = ctx.vm("iot" .. i):exec(LEGIT_PROBE)
      if r.code ~= 0 then error("iot" .. i .. ": " .. (r.stdout or ""):gsub("%s+$", "")) end
    end
    return true
  end,
}

objective {
  id = "no_overblock",
  title = {
    ja = "遮断リストに正規のアドレス (ポータル・クラウド・ショップ) が入っていない",
    en = "No legitimate address (portal, cloud, shop) is on the blocklist",
  },
  points = 10,
  skills = { "nftables", "false-positive avoidance" },
  mode = "hold",
  prereqs = { block },
  hints = {
    { ja = "nft list ruleset で drop/reject するルールと、それが参照するセットの要素を確認する",
      en = "Read nft list ruleset: the rules that drop or reject, and the elements of the sets they use", cost = 2 },
  },
  check = function(ctx)
    for _, rule in ipairs(nft.blocking_rules(ruleset(ctx))) do
      for _, addr in ipairs(LEGIT) do
        if nft.covers(rule.ranges, addr) then error(addr .. " is blocked by: " .. rule.text) end
      end
    end
    return true
  end,
}

objective {
  id = "notify_users",
  title = {
    ja = "注意喚起する感染顧客のアドレスを /root/notify.txt に過不足なく挙げる",
    en = "List exactly the infected customers' addresses, to warn them, in /root/notify.txt",
  },
  points = 10,
  attack = { "T1584.005" },
  skills = { "flow analysis", "incident notification" },
  hints = {
    { ja = "C&C と通信した送信元を集計する: nfdump -R /var/cache/nfdump -A srcip 'dst ip <C&C>'",
      en = "Count the sources that talked to the C&C: nfdump -R /var/cache/nfdump -A srcip 'dst ip <C&C>'",
      cost = 3 },
  },
  check = function(ctx)
    local text = ctx.vm("router"):read_file("/root/notify.txt")
    if not text then return false end
    local listed, n = {}, 0
    for addr in text:gmatch("%d+%.%d+%.%d+%.%d+") do
      if not listed[addr] then listed[addr], n = true, n + 1 end
    end
    local b = infected_of(ctx.vars)
    if n ~= #b then return false end
    for _, i in ipairs(b) do
      if not listed[customer_addr(i)] then return false end
    end
    return true
  end,
}

-- The story --------------------------------------------------------------------

local ISAC_NOTICE = [[
[演習用の模擬通知 / An emulated notice for the exercise]

ICT-ISAC より (模擬)
件名: 貴社顧客の IoT 機器による DDoS 攻撃への加担について
shop.example (203.0.113.80) への DDoS 攻撃に、貴社の顧客アドレス 100.64.0.0/24 からの
通信が加わっていることを観測しました。C&C サーバーからの指令によるものと考えられますが、
C&C サーバーのアドレスはまだ分かっていません。フロー情報を分析して C&C サーバーを特定し、
C&C との通信の遮断と、感染した利用者への注意喚起をお願いします。
通信の秘密に配慮し、分析はフロー情報の範囲で行ってください (パケットの中身は見ないこと)。

From ICT-ISAC (emulated)
Subject: Your customers' IoT devices take part in a DDoS attack
We see traffic from your customer range 100.64.0.0/24 in a DDoS attack on
shop.example (203.0.113.80). It is probably ordered by a C&C server, whose
address we do not know yet. Please find the C&C server by analysing your flow
records, block traffic to it, and warn the infected customers. Respect the
secrecy of communications: analyse flow records only, never packet contents.
]]

local ISAC_FOLLOWUP = [[
[演習用の模擬通知 / An emulated notice for the exercise]

ICT-ISAC より (模擬): 貴社の範囲からの攻撃通信が止まりつつあります。ご対応ありがとうございます。
感染した利用者への注意喚起のため、対象の顧客アドレスを /root/notify.txt にまとめてください。

From ICT-ISAC (emulated): the attack traffic from your range is dying down. Thank you.
To warn the infected customers, list their addresses in /root/notify.txt.
]]

local function deliver(path, text)
  return "cat > " .. path .. " <<'NOTICE'\n" .. text .. "NOTICE\n(wall < " .. path .. ") >/dev/null 2>&1 || true"
end

inject {
  id = "isac_notice",
  title = {
    ja = "ICT-ISAC から「顧客の IoT 機器が DDoS に加担している。C&C は不明」との通知 (/root/ICT-ISAC-notice.txt)",
    en = "ICT-ISAC reports that customers' IoT devices take part in a DDoS; the C&C is unknown (/root/ICT-ISAC-notice.txt)",
  },
  at = "1m",
  run = { vm = "router", cmd = deliver("/root/ICT-ISAC-notice.txt", ISAC_NOTICE) },
}

inject {
  id = "isac_followup",
  title = {
    ja = "ICT-ISAC から「攻撃が止まりつつある。感染者へ注意喚起を」との連絡 (/root/ICT-ISAC-followup.txt)",
    en = "ICT-ISAC says the attack is dying down and asks you to warn the infected users (/root/ICT-ISAC-followup.txt)",
  },
  when = function(ctx)
    local b = infected_of(ctx.vars)
    return not ctx.vm("iot" .. b[1]):tcp_open(ctx.vars.cnc, 80, 2) and ctx.vm("victim"):tcp_open(ctx.vars.cnc, 80, 3)
  end,
  run = { vm = "router", cmd = deliver("/root/ICT-ISAC-followup.txt", ISAC_FOLLOWUP) },
}

-- The reference solution: what a trainee does, from the flow records alone.

solution(function(ctx)
  local router = ctx.vm("router")
  local function sh(cmd)
    local r = router:exec{ "/bin/sh", "-c", cmd }
    if r.code ~= 0 then error(cmd .. ": " .. (r.stderr or "") .. (r.stdout or "")) end
    return r.stdout
  end
  local function customer(a) return a:match("^100%.64%.0%.%d+$") and a ~= ROUTER_ACCESS end
  local function outside(a) return a:match("^203%.0%.113%.%d+$") ~= nil end

  -- One look at the flow records, aggregated per source, destination and
  -- protocol: the flood target, the customers that flood it, and the
  -- destinations that exactly those customers (and no others) talk to.
  local function analyse()
    local out = sh("nfdump -R /var/cache/nfdump -q -N -A srcip,dstip,proto -o 'fmt:%sa %da %pr %pkt' 2>/dev/null || true")
    local pkts, talkers, flooders, customers, n_customers = {}, {}, {}, {}, 0
    for line in out:gmatch("[^\n]+") do
      local sa, da, pr, pkt = line:match("^%s*(%S+)%s+(%S+)%s+(%S+)%s+(%d+)")
      if sa and customer(sa) and outside(da) then
        if not customers[sa] then customers[sa], n_customers = true, n_customers + 1 end
        pkts[da] = (pkts[da] or 0) + tonumber(pkt)
        talkers[da] = talkers[da] or {}
        talkers[da][sa] = true
        if pr == "ICMP" or pr == "1" then
          flooders[da] = flooders[da] or {}
          flooders[da][sa] = true
        end
      end
    end
    local target, most = nil, 0
    for da, n in pairs(pkts) do
      if n > most then target, most = da, n end
    end
    if not target or not flooders[target] or n_customers < N_CUSTOMERS then return nil end
    local infected = flooders[target]
    local candidates = {}
    for da, who in pairs(talkers) do
      local same = da ~= target
      for c in pairs(customers) do
        if (who[c] ~= nil) ~= (infected[c] ~= nil) then same = false end
      end
      if same then candidates[#candidates + 1] = da end
    end
    if #candidates ~= 1 then return nil end
    local list = {}
    for c in pairs(infected) do list[#list + 1] = c end
    table.sort(list)
    return candidates[1], list, target
  end

  -- Flow records need a minute or two to reach the collector's files: wait
  -- until two looks in a row agree.
  local cnc, infected, last
  for _ = 1, 20 do
    local c, list = analyse()
    if c and c == last then
      cnc, infected = c, list
      break
    end
    last = c
    sh("sleep 10")
  end
  if not cnc then error("the flow records never showed a single C&C candidate") end
  ctx.log("C&C found in the flow records: " .. cnc .. "; infected customers: " .. table.concat(infected, " "))

  local verdict = ctx.submit("cnc_addr", cnc)
  if verdict ~= "correct" then error("cnc_addr: " .. verdict) end

  sh("nft add table inet isp"
    .. " && nft add chain inet isp forward '{ type filter hook forward priority 0; policy accept; }'"
    .. " && nft add set inet isp cnc '{ type ipv4_addr; }'"
    .. " && nft add rule inet isp forward ip daddr @cnc counter drop"
    .. " && nft add element inet isp cnc '{ " .. cnc .. " }'")
  sh("printf '%s\\n' " .. table.concat(infected, " ") .. " > /root/notify.txt")

  -- Wait for the bots to finish their attack and hit the block.
  for _ = 1, 20 do
    local counted = false
    for _, rule in ipairs(nft.blocking_rules(sh("nft list ruleset"))) do
      if rule.packets > 0 then counted = true end
    end
    if counted then
      local a, b = ctx.vm("victim"):exec(ECHO_WINDOW).stdout:match("(%d+)%s+(%d+)")
      if a and tonumber(b) - tonumber(a) <= 2 then return end
    else
      sh("sleep 3")
    end
  end
  error("the flood did not stop after the block")
end)
