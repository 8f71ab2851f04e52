-- darknet-sensor: reading a darknet capture in the style of NICTER (case 6
-- of the scenario cases, theme T4: training on Japanese cases).
--
-- Per team: one tiny VM, the sensor, holding an hour of a darknet capture as
-- a CSV packet log, generated per team by lib/capture.lua (no real traffic,
-- no malware). The team finds the Mirai-like scanners by their signature
-- (TCP sequence number = destination address), the research scanner, the
-- share of 23/tcp and the busiest exploit port with its CVE, lists the
-- infected sources for notification, and writes a detection rule (an awk
-- program) that the check runs on fresh, held-out traffic.

scenario {
  id = "darknet-sensor",
  title = {
    ja = "ダークネット観測: Mirai 型スキャンを見分ける",
    en = "A darknet sensor: telling Mirai-like scans apart",
  },
  description = {
    ja = "NICT の NICTER のようなダークネット (未使用の IP アドレス空間) のセンサーに 1 時間分の観測記録が届いた。"
      .. "2019 年の NICTER 観測では 23/TCP (Telnet) 宛てが最も多く、Mirai 型のマルウェアはスキャンの TCP シーケンス"
      .. "番号を宛先 IP アドレスと同じにするという特徴を持つ。観測記録から Mirai 型のスキャン元、調査目的のスキャナー、"
      .. "23/TCP の割合、攻撃の多いポートとその脆弱性 (CVE) を明らかにし、注意喚起のための感染元リストを作り、"
      .. "新しい通信にも使える検知ルールを書く。",
    en = "A darknet sensor in the style of NICT's NICTER (it watches unused IP address space) has received an hour "
      .. "of capture. In NICTER's 2019 observations 23/TCP (Telnet) was the most scanned port, and Mirai-like malware "
      .. "marks its scans by setting the TCP sequence number to the destination IP address. From the capture, find "
      .. "the Mirai-like scanners, the research scanner, the share of 23/TCP and the busiest exploit port with its "
      .. "CVE; list the infected sources for notification, and write a detection rule that also works on new traffic.",
  },
  sources = {
    "NICT, NICTER観測レポート2019 (2020-02-10): ~300,000 darknet addresses, 327.9 billion packets in 2019; 23/TCP 24.2% of attack packets (research scans aside); research scans 53% of all packets",
    "M. Antonakakis et al., Understanding the Mirai Botnet, USENIX Security 2017: Mirai's scanner sets the TCP sequence number to the destination address",
    "CVE-2017-17215 (Huawei HG532, 37215/tcp); JPCERT/CC インターネット定点観測レポート 2019年7～9月 (37215/TCP in the top 5)",
    "総務省 サイバーセキュリティタスクフォース「IoT・5Gセキュリティ総合対策2020(案)」2020-07-17: domestic information and training base",
  },
  teams = 2,
}

local capture = require "lib.capture"

local v = vars {
  seed      = random.int(1, 2000000000, { secret = true }),   -- the capture
  mirai     = random.int(40, 90, { secret = true }),          -- Mirai-like bots in it
  -- Distinct between teams while there are ports enough, shared beyond.
  campaign  = random.choice(capture.CAMPAIGN_PORTS, { unique = team.count <= #capture.CAMPAIGN_PORTS, secret = true }),
  wave_seed = random.int(1, 2000000000, { secret = true }),   -- the second wave (inject)
  holdout   = random.int(1, 2000000000, { secret = true }),   -- the detection rule's test traffic
}

local CAPTURE = "/var/log/darknet/capture.csv"
local WAVE = "/var/log/darknet/wave2.csv"
local INFECTED = "/root/infected.txt"
local RULE = "/root/detect.awk"

local campaign = tonumber(v.campaign)
local main = capture.generate(tonumber(v.seed), { mirai = tonumber(v.mirai), campaign = campaign })

-- The second wave targets another exploit port: the campaign's, three places
-- on in the list, so that teams with distinct campaigns get distinct waves.
local function wave_port_of(vars)
  local c = tonumber(vars.campaign)
  local i = 1
  while capture.CAMPAIGN_PORTS[i] ~= c do i = i + 1 end
  return capture.CAMPAIGN_PORTS[(i + 2) % #capture.CAMPAIGN_PORTS + 1]
end
local wave_port = wave_port_of(v)
if main.top_port ~= campaign then error("capture: the busiest port is " .. main.top_port .. ", not " .. campaign) end

-- The VM ------------------------------------------------------------------------

vm {
  name = "sensor", image = "tiny", memory = 128,
  entry = true,
  description = {
    ja = "ダークネットのセンサー (198.18.0.0/16 を観測)。観測記録は " .. CAPTURE .. "。まず /root/README.txt を読む",
    en = "The darknet sensor (it watches 198.18.0.0/16). The capture is " .. CAPTURE .. ". Read /root/README.txt first",
  },
  provision = {
    file { src = "files/README.txt", dest = "/root/README.txt" },
    file { src = "files/motd", dest = "/etc/motd" },
    file { content = main.csv, dest = CAPTURE },
  },
}

-- The exercise ------------------------------------------------------------------

flag {
  id = "mirai_sources",
  attack = { "T1595.001", "T1584.005" },
  skills = { "darknet analysis", "packet analysis" },
  question = {
    ja = "観測記録の中で、Mirai 型のスキャン (TCP シーケンス番号 = 宛先 IP アドレス) を送っている送信元はいくつ?",
    en = "How many source addresses in the capture send Mirai-like scans (TCP sequence number = destination IP address)?",
  },
  points = 15,
  max_attempts = 5,
  answer = function() return tostring(main.mirai_count) end,
  hints = {
    { ja = "宛先アドレス a.b.c.d を 32 ビットの数 ((a*256+b)*256+c)*256+d に直し、seq 列と比べる。awk の split($4, q, \".\") が使える",
      en = "Turn the destination a.b.c.d into the 32-bit number ((a*256+b)*256+c)*256+d and compare it with the seq column; "
        .. "awk's split($4, q, \".\") helps", cost = 3 },
    { ja = "数えるのはパケットではなく送信元 (src) の種類。例: awk -F, '... { m[$2] = 1 } END { for (s in m) n++; print n }'",
      en = "Count distinct sources (src), not packets. E.g. awk -F, '... { m[$2] = 1 } END { for (s in m) n++; print n }'",
      cost = 4 },
  },
}

flag {
  id = "research_scanner",
  attack = { "T1595.001" },
  skills = { "darknet analysis", "scanner attribution" },
  question = {
    ja = "インターネット全体を調べている調査目的のスキャナー (1 台) の IP アドレスは?",
    en = "What is the IP address of the research scanner (one host) that surveys the whole internet?",
  },
  points = 10,
  max_attempts = 3,
  answer = function() return main.research end,
  hints = {
    { ja = "調査スキャンは多数のポートを同じように少しずつ叩く。送信元ごとに、SYN (flags が S) の宛先ポートの種類を数える"
        .. " (SYN-ACK や RST は DDoS の跳ね返りで、宛先ポートはばらばら)",
      en = "A research scan knocks on many ports, a few packets each. Count the distinct destination ports of each source's "
        .. "SYNs (flags S; SYN-ACKs and RSTs are backscatter from DDoS attacks, to random ports)",
      cost = 3 },
  },
}

flag {
  id = "share_23",
  attack = { "T1046", "T1595.001" },
  skills = { "darknet analysis", "traffic statistics" },
  question = {
    ja = "NICTER の集計と同じく調査スキャナーのパケットを除いたとき、全パケットのうち 23/TCP 宛ての割合は何 % か? "
      .. "(小数点以下 1 桁。例: 24.2)",
    en = "As NICTER counts, leaving out the research scanner's packets: what share of all packets goes to 23/TCP, in "
      .. "percent with one decimal (e.g. 24.2)?",
  },
  points = 10,
  max_attempts = 5,
  answer = function() return { pattern = capture.share_pattern(main.share23[1], main.share23[2]) } end,
  hints = {
    { ja = "分母は調査スキャナー以外の全パケット (TCP・UDP・ICMP すべて)、分子はそのうち proto が tcp で dport が 23 のもの",
      en = "The denominator is every packet not from the research scanner (TCP, UDP and ICMP); the numerator, those of them "
        .. "with proto tcp and dport 23", cost = 3 },
  },
}

flag {
  id = "top_port",
  attack = { "T1046" },
  skills = { "darknet analysis", "traffic statistics" },
  question = {
    ja = "Telnet (23/TCP と 2323/TCP) を除くと、最も多くのパケットが届いている TCP の宛先ポートは?",
    en = "Telnet (23/TCP and 2323/TCP) aside, which TCP destination port receives the most packets?",
  },
  points = 10,
  max_attempts = 3,
  answer = function() return tostring(campaign) end,
  hints = {
    { ja = "awk -F, '$6 == \"tcp\" { n[$5]++ } END { for (p in n) print n[p], p }' " .. CAPTURE .. " | sort -rn | head",
      en = "awk -F, '$6 == \"tcp\" { n[$5]++ } END { for (p in n) print n[p], p }' " .. CAPTURE .. " | sort -rn | head",
      cost = 3 },
  },
}

local CVE_HINTS = {
  { ja = "候補: 37215 = Huawei HG532 (CVE-2017-17215)、52869 = Realtek SDK の UPnP (CVE-2014-8361)、7547 = TR-064 "
      .. "(CVE-2016-10372)、8291 = MikroTik Winbox (CVE-2018-14847)、10000 = Webmin (CVE-2019-15107)、"
      .. "3389 = RDP の BlueKeep (CVE-2019-0708)、445 = SMBv1 の EternalBlue (CVE-2017-0144)",
    en = "Candidates: 37215 = Huawei HG532 (CVE-2017-17215), 52869 = Realtek SDK UPnP (CVE-2014-8361), 7547 = TR-064 "
      .. "(CVE-2016-10372), 8291 = MikroTik Winbox (CVE-2018-14847), 10000 = Webmin (CVE-2019-15107), "
      .. "3389 = RDP BlueKeep (CVE-2019-0708), 445 = SMBv1 EternalBlue (CVE-2017-0144)", cost = 5 },
}

flag {
  id = "top_port_cve",
  attack = { "T1190" },
  skills = { "vulnerability mapping", "CVE research" },
  question = {
    ja = "そのポート (前問) へのスキャンが狙っている既知の脆弱性の CVE 番号は? (例: CVE-2017-17215)",
    en = "Which known vulnerability do the scans of that port (previous question) target? Give its CVE id "
      .. "(e.g. CVE-2017-17215)",
  },
  points = 10,
  max_attempts = 3,
  answer = function() return capture.CVE[campaign] end,
  hints = {
    { ja = "JVN、NICTER ブログ、JPCERT/CC のインターネット定点観測レポートでポート番号を調べる",
      en = "Look the port up in JVN, the NICTER blog or JPCERT/CC's internet threat monitoring reports", cost = 2 },
    CVE_HINTS[1],
  },
}

flag {
  id = "wave_cve",
  attack = { "T1190" },
  skills = { "vulnerability mapping", "CVE research" },
  question = {
    ja = "新しいスキャンの波 (" .. WAVE .. ") で急増したポートが狙う脆弱性の CVE 番号は?",
    en = "Which vulnerability (CVE id) does the port that surges in the new scan wave (" .. WAVE .. ") target?",
  },
  points = 10,
  max_attempts = 3,
  answer = function() return capture.CVE[wave_port] end,
  hints = {
    { ja = "最初の観測記録と同じ集計を " .. WAVE .. " に対して行い、Telnet 以外で最も多いポートを探す",
      en = "Run the same count on " .. WAVE .. " and find the busiest port other than Telnet", cost = 2 },
    CVE_HINTS[1],
  },
}

local F1_MIN, PRECISION_MIN, RECALL_MIN = 0.9, 0.95, 0.9

objective {
  id = "infected_list",
  attack = { "T1584.005" },
  skills = { "infection notification", "darknet analysis" },
  title = {
    ja = "注意喚起のため、観測記録の Mirai 型スキャン元のアドレスを " .. INFECTED .. " に 1 行 1 つずつ書く (F1 値 0.9 以上)",
    en = "For notification, list the Mirai-like sources of the capture in " .. INFECTED .. ", one address a line "
      .. "(F1 score 0.9 or more)",
  },
  points = 15,
  hints = {
    { ja = "mirai_sources で数えた送信元をそのまま書き出す: ... { print $2 } | sort -u > " .. INFECTED,
      en = "Write out the sources you counted for mirai_sources: ... { print $2 } | sort -u > " .. INFECTED, cost = 3 },
  },
  check = function(ctx)
    local text = ctx.vm("sensor"):read_file(INFECTED)
    if not text then return false end
    local listed, why = capture.address_set(text, 20000)
    if not listed then error(INFECTED .. ": " .. why) end
    local p, r = capture.score(listed, main.mirai)
    local f1 = p + r > 0 and 2 * p * r / (p + r) or 0
    if f1 < F1_MIN then
      error(string.format("%s: F1 %.2f (precision %.2f, recall %.2f) is below %.1f", INFECTED, f1, p, r, F1_MIN))
    end
    return true
  end,
}

-- The rule is run on new traffic each round, made from the team's secret
-- and a round counter, so a rule that lists this capture's addresses, or
-- one that peeks at the test traffic, does not keep its points.
local rule_round = 0

objective {
  id = "detect_rule",
  attack = { "T1595.001", "T1584.005" },
  skills = { "detection engineering", "precision and recall" },
  title = {
    ja = "検知ルール " .. RULE .. " を書く: awk -F, -f " .. RULE .. " が標準入力の観測記録 (同じ CSV 形式) から Mirai 型の"
      .. "送信元を 1 行 1 つ出力し、新しい通信に対して適合率 0.95 以上・再現率 0.9 以上で、調査スキャナーを含めない",
    en = "Write the detection rule " .. RULE .. ": awk -F, -f " .. RULE .. " reads a capture (the same CSV format) on "
      .. "standard input and prints the Mirai-like sources, one a line; on new traffic its precision must be 0.95 or "
      .. "more and its recall 0.9 or more, and it must not flag the research scanner",
  },
  points = 30,
  mode = "hold",
  hints = {
    { ja = "宛先ポートだけで判定すると、Mirai ではない Telnet スキャナーや調査スキャナーまで検知してしまう",
      en = "A rule on the destination port alone also flags Telnet scanners that are not Mirai, and the research scanner",
      cost = 4 },
    { ja = "Mirai の特徴 (seq = 宛先アドレス) を SYN パケットに当てはめ、同じ送信元は 1 回だけ出力する",
      en = "Apply Mirai's signature (seq = destination address) to SYN packets, and print each source once", cost = 6 },
  },
  check = function(ctx)
    local sensor = ctx.vm("sensor")
    if not sensor:file_exists(RULE) then return false end
    rule_round = rule_round + 1
    local r = capture.rng(tonumber(ctx.vars.holdout) * 1000003 + rule_round)
    local test = capture.generate(r.next(), {
      mirai = r.int(18, 30), campaign = r.pick(capture.CAMPAIGN_PORTS), scale = 0.4,
      date = "2019-11-06", start_hour = 3,
    })
    local res = sensor:exec { "awk", "-F,", "-f", RULE, input = test.csv }
    if res.truncated then error("the rule printed more than the agent keeps") end
    if res.code ~= 0 then
      error("awk -f " .. RULE .. " exited with " .. res.code .. ": " .. (res.stderr or ""):match("^[^\n]*"):sub(1, 160))
    end
    local flagged, why = capture.address_set(res.stdout, 20000)
    if not flagged then error("the rule's output: " .. why) end
    if flagged[test.research] then error("the rule flags the research scanner") end
    local p, rc, tp, fp, fn = capture.score(flagged, test.mirai)
    if p < PRECISION_MIN or rc < RECALL_MIN then
      error(string.format("on new traffic: precision %.2f (%d right, %d wrong), recall %.2f (%d missed)",
        p, tp, fp, rc, fn))
    end
    return true
  end,
}

-- The story ----------------------------------------------------------------------

local REQUEST = [[
[演習用の模擬連絡 / An emulated message for the exercise]

ICT-ISAC より (模擬)
件名: ダークネットで観測された Mirai 型スキャン元の提供のお願い
IoT 機器の感染の注意喚起を ISP を通じて行うため、貴センサーの観測記録 (/var/log/darknet/capture.csv) で
Mirai 型のスキャン (TCP シーケンス番号 = 宛先 IP アドレス) を送っている送信元のアドレスを、
/root/infected.txt に 1 行 1 つずつまとめてください。調査目的のスキャナーや、感染の根拠のない送信元は
含めないでください。誤った通知は利用者と ISP の負担になります。

From ICT-ISAC (emulated)
Subject: Request for the Mirai-like scanners seen by your darknet sensor
To warn the owners of infected IoT devices through their ISPs, please list the source addresses that send
Mirai-like scans (TCP sequence number = destination IP address) in your sensor's capture
(/var/log/darknet/capture.csv) in /root/infected.txt, one address a line. Leave out research scanners and
any source without evidence of infection: wrong notices burden users and ISPs alike.
]]

local WAVE_NOTICE = [[
[演習用の模擬通知 / An emulated notice for the exercise]

センサーの監視より: 新しいスキャンの波を観測しました。その 30 分間の記録を /var/log/darknet/wave2.csv に
置きました (形式は capture.csv と同じ)。急増しているポートと、狙われている脆弱性を調べてください。
検知ルール /root/detect.awk がこの通信でも機能するか確かめてください。

From the sensor's monitoring: a new scan wave has arrived. Its 30 minutes of capture are in
/var/log/darknet/wave2.csv (the same format as capture.csv). Find the port that surges and the
vulnerability it targets, and check that your detection rule /root/detect.awk works on this traffic too.
]]

local function deliver(path, text)
  return "mkdir -p /root/mail && cat > " .. path .. " <<'NOTICE'\n" .. text .. "NOTICE\n(wall < " .. path
    .. ") >/dev/null 2>&1 || true"
end

-- The second wave, made when it is first needed (the inject, or the solution
-- on a range where the inject has not fired yet); the same bytes either way.
local wave
local function deliver_wave(ctx)
  wave = wave or capture.generate(tonumber(ctx.vars.wave_seed), {
    mirai = 15 + tonumber(ctx.vars.wave_seed) % 11, campaign = wave_port, research = main.research,
    scale = 0.6, date = "2019-11-05", start_hour = 10, minutes = 30,
  })
  if wave.top_port ~= wave_port then error("wave: the busiest port is " .. wave.top_port) end
  local r = ctx.vm("sensor"):exec { "sh", "-c",
    "mkdir -p /var/log/darknet && cat > " .. WAVE .. ".new && mv " .. WAVE .. ".new " .. WAVE .. " && "
      .. deliver("/root/mail/02-new-wave.txt", WAVE_NOTICE),
    input = wave.csv }
  if r.code ~= 0 then error("writing " .. WAVE .. ": " .. (r.stderr or "")) end
end

inject {
  id = "isac_request",
  title = {
    ja = "ICT-ISAC (模擬) から、注意喚起のために Mirai 型スキャン元の一覧を求める連絡 (/root/mail/01-request.txt)",
    en = "ICT-ISAC (emulated) asks for the list of Mirai-like sources, to warn their owners (/root/mail/01-request.txt)",
  },
  at = "5m",
  run = { vm = "sensor", cmd = deliver("/root/mail/01-request.txt", REQUEST) },
}

inject {
  id = "new_wave",
  title = {
    ja = "新しいスキャンの波が届いた (" .. WAVE .. "、/root/mail/02-new-wave.txt)",
    en = "A new scan wave arrives (" .. WAVE .. ", /root/mail/02-new-wave.txt)",
  },
  at = "30m",
  action = function(ctx) deliver_wave(ctx) end,
}

-- The reference solution: what a trainee does, with awk on the sensor. It
-- reads the answers from the capture, not from ctx.vars; what it brings is
-- the port-to-CVE knowledge a trainee looks up.

-- Over a capture: the Mirai-like sources, the research scanner (the source
-- that sends SYNs to the most distinct ports; backscatter hits random ports
-- too, but with SYN-ACKs and RSTs), the share of 23/tcp without it, and the
-- busiest TCP port other than Telnet.
local ANALYSE = [[
NR == 1 { next }
{ n[$2]++ }
$7 == "S" && !(($2, $5) in sp) { sp[$2, $5] = 1; ports[$2]++ }
$6 == "tcp" { tcp[$5]++; if ($5 == 23) t23[$2]++ }
$6 == "tcp" && $7 == "S" {
  split($4, q, ".")
  if ($8 == ((q[1] * 256 + q[2]) * 256 + q[3]) * 256 + q[4]) mirai[$2] = 1
}
END {
  for (s in mirai) m++
  print "mirai", m + 0
  for (s in ports) if (ports[s] > best) { best = ports[s]; rs = s }
  print "research", rs
  for (s in n) if (s != rs) { all += n[s]; c += t23[s] }
  printf "share %.1f\n", 100 * c / all
  for (p in tcp) if (p != 23 && p != 2323 && tcp[p] > top) { top = tcp[p]; tp = p }
  print "top", tp
}]]

local DETECT = [[
# Mirai's scanner sets the TCP sequence number of its SYNs to the
# destination address: flag each source that sends such a SYN, once.
$6 == "tcp" && $7 == "S" {
  split($4, q, ".")
  if ($8 == ((q[1] * 256 + q[2]) * 256 + q[3]) * 256 + q[4] && !seen[$2]++) print $2
}
]]

solution(function(ctx)
  local sensor = ctx.vm("sensor")
  local function sh(cmd, input)
    local r = sensor:exec { "sh", "-c", cmd, input = input }
    if r.code ~= 0 then error(cmd:match("^[^\n]*") .. ": " .. (r.stderr or "")) end
    return r.stdout
  end
  -- The awk program is an argument of its own, never pasted into shell text.
  local function analyse(path)
    local r = sensor:exec { "awk", "-F,", ANALYSE, path }
    if r.code ~= 0 then error("awk on " .. path .. ": " .. (r.stderr or "")) end
    local facts = {}
    for k, val in r.stdout:gmatch("(%a+) (%S+)") do facts[k] = val end
    return facts
  end
  local function submit(id, answer)
    local verdict = ctx.submit(id, answer)
    if verdict ~= "correct" then error(id .. ": " .. verdict .. " (" .. tostring(answer) .. ")") end
  end

  local f = analyse(CAPTURE)
  submit("mirai_sources", f.mirai)
  submit("research_scanner", f.research)
  submit("share_23", f.share)
  submit("top_port", f.top)
  submit("top_port_cve", capture.CVE[tonumber(f.top)] or "unknown port " .. f.top)

  sh("cat > " .. RULE, DETECT)
  sh("awk -F, -f " .. RULE .. " " .. CAPTURE .. " | sort -u > " .. INFECTED)

  if not sensor:file_exists(WAVE) then deliver_wave(ctx) end
  local w = analyse(WAVE)
  submit("wave_cve", capture.CVE[tonumber(w.top)] or "unknown port " .. w.top)
end)
