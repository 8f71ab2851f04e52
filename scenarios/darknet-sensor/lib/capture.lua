-- lib/capture.lua: a generated darknet capture, and what is true about it.
--
-- A darknet sensor sees only unsolicited traffic: scans, backscatter from
-- DDoS victims, stray UDP. This module makes such a capture as a CSV packet
-- log (one packet a line) from a seed, so every team gets its own, and returns
-- with it the facts the exercise asks about: which sources carry the Mirai
-- scanner's signature (TCP sequence number = destination address), which one
-- is the research scanner, the share of 23/tcp and the busiest other port.
-- The facts are computed from the packets generated, not assumed.
--
-- Nothing here is real traffic or real malware: addresses and ports are
-- drawn from a 64-bit splitmix generator (the sandbox has no math.random,
-- and the capture must be the same every time the scenario loads).
local M = {}

M.HEADER = "time,src,sport,dst,dport,proto,flags,seq,ttl"

-- The darknet: 198.18.0.0/16, part of the benchmarking block (RFC 2544),
-- which no real host uses.
local DARK_BASE = (198 << 24) | (18 << 16)

-- Ports whose scanning goes with a known CVE (the "campaigns"), and the CVE.
M.CVE = {
  [37215] = "CVE-2017-17215", -- Huawei HG532 routers (UPnP, Satori / Mirai variants)
  [52869] = "CVE-2014-8361",  -- Realtek SDK miniigd UPnP (Logitec routers, 2017)
  [7547]  = "CVE-2016-10372", -- TR-064 on Eir D1000 / Zyxel modems (Mirai, 2016)
  [8291]  = "CVE-2018-14847", -- MikroTik RouterOS Winbox
  [10000] = "CVE-2019-15107", -- Webmin password_change.cgi
  [3389]  = "CVE-2019-0708",  -- Windows RDP (BlueKeep)
  [445]   = "CVE-2017-0144",  -- Windows SMBv1 (EternalBlue, WannaCry)
}
M.CAMPAIGN_PORTS = { 37215, 52869, 7547, 8291, 10000, 3389, 445 }

-- Other ports scanners knock on, a few packets each.
local MISC_TCP = { 22, 80, 443, 8080, 81, 1433, 5555, 6379, 8443, 2222 }
local UDP_PORTS = { 53, 123, 161, 1900, 5060, 11211 }
-- What the research scanner sweeps: many ports, the same few packets each.
local RESEARCH_PORTS = {
  21, 22, 23, 25, 53, 80, 81, 110, 111, 135, 139, 143, 161, 389, 443, 445, 465, 502, 587, 631,
  873, 993, 995, 1023, 1080, 1433, 1521, 1883, 1900, 2000, 2323, 2375, 3128, 3306, 3389, 4443,
  5000, 5432, 5555, 5900, 5985, 6379, 7547, 8000, 8080, 8081, 8443, 8888, 9000, 9200, 11211, 27017,
}

function M.rng(seed)
  local s = seed
  local r = {}
  function r.next()
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    return z ~ (z >> 31)
  end
  function r.int(lo, hi) -- lo..hi
    return lo + ((r.next() >> 1) % (hi - lo + 1))
  end
  function r.pick(list) return list[r.int(1, #list)] end
  return r
end

function M.ip_text(n)
  return string.format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

-- "203.0.113.7" -> 3405803783; nil for anything that is not a dotted quad.
function M.ip_number(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- A source address that looks public: not private, shared, loopback,
-- link-local, documentation, benchmarking (the darknet) or multicast.
local function public_ip(r)
  while true do
    local a, b = r.int(1, 223), r.int(0, 255)
    local bad = a == 10 or a == 127 or a == 0 or (a == 100 and b >= 64 and b < 128)
      or (a == 169 and b == 254) or (a == 172 and b >= 16 and b < 32) or (a == 192 and b == 168)
      or (a == 198 and (b == 18 or b == 19 or b == 51)) or (a == 192 and b == 0) or (a == 203 and b == 0)
    if not bad then return (a << 24) | (b << 16) | (r.int(0, 255) << 8) | r.int(1, 254) end
  end
end

--[[ M.generate(seed, opts) -> capture

opts:
  mirai     number of Mirai-like bots (sources with the signature)
  campaign  the campaign port (M.CAMPAIGN_PORTS)
  research  the research scanner's address (text), or nil to draw one
  scale     1 for a full capture (~3000 packets); smaller for a held-out one
  date      the capture's day, "YYYY-MM-DD"; start_hour its first hour;
            minutes how long it lasts (60)

capture:
  csv        the packet log, with its header line
  packets    number of packets (lines after the header)
  mirai      { [address] = true } of the Mirai-like sources; mirai_count
  research   the research scanner's address
  share23    { a, b }: packets to 23/tcp and all packets, the research
             scanner's left out (as NICTER reports shares)
  top_port   the TCP destination port with the most packets, 23 and 2323 aside
]]
function M.generate(seed, opts)
  local r = M.rng(seed)
  local scale = opts.scale or 1
  local used = {}
  local function new_source()
    while true do
      local n = public_ip(r)
      if not used[n] then used[n] = true; return n end
    end
  end
  local function dark() return DARK_BASE | r.int(1, 65534) end
  local function n_of(lo, hi) return math.max(1, (r.int(lo, hi) * scale + 0.5) // 1) end

  local pkts = {}
  local span = (opts.minutes or 60) * 60000 -- in milliseconds
  local function add(src, dst, sport, dport, proto, flags, seq, ttl)
    pkts[#pkts + 1] = { t = r.int(0, span - 1), src = src, dst = dst, sport = sport, dport = dport,
                        proto = proto, flags = flags, seq = seq, ttl = ttl }
  end
  -- A random sequence number that is not the destination (which would be
  -- Mirai's signature by accident, once in 2^32).
  local function seq_not(dst)
    local s = r.int(0, 0xFFFFFFFF)
    if s == dst then s = (s + 1) & 0xFFFFFFFF end
    return s
  end

  local truth = { mirai = {}, mirai_count = 0 }

  -- Mirai-like bots: SYNs to 23/tcp (one in ten to 2323), the sequence
  -- number set to the destination address; a quarter of them (Satori-like
  -- variants) also try the Huawei HG532 exploit port, with the same scanner.
  for _ = 1, opts.mirai do
    local src, ttl = new_source(), r.int(35, 60)
    truth.mirai[M.ip_text(src)] = true
    truth.mirai_count = truth.mirai_count + 1
    local satori = r.int(1, 4) == 1
    for _ = 1, r.int(4, 12) do
      local dst = dark()
      add(src, dst, r.int(1024, 65535), r.int(1, 10) == 1 and 2323 or 23, "tcp", "S", dst, ttl)
    end
    if satori then
      for _ = 1, r.int(1, 3) do
        local dst = dark()
        add(src, dst, r.int(1024, 65535), 37215, "tcp", "S", dst, ttl)
      end
    end
  end

  -- Telnet scanners that are not Mirai: the same ports and about as many
  -- packets, but an ordinary TCP stack (random sequence numbers). Not
  -- scaled down in a held-out capture: a rule on the port or on a packet
  -- count flags them, and must fail there.
  for _ = 1, r.int(8, 14) do
    local src, ttl = new_source(), r.int(40, 115)
    for _ = 1, r.int(4, 12) do
      local dst = dark()
      local p = r.int(1, 6)
      add(src, dst, r.int(1024, 65535), p == 1 and 22 or (p == 2 and 2323 or 23), "tcp", "S", seq_not(dst), ttl)
    end
  end

  -- The campaign: many sources after one exploit port.
  local campaign = opts.campaign
  local campaign_srcs = {}
  for i = 1, n_of(18, 30) do
    campaign_srcs[i] = { src = new_source(), ttl = r.int(40, 115) }
    for _ = 1, r.int(10, 20) do
      local dst = dark()
      add(campaign_srcs[i].src, dst, r.int(1024, 65535), campaign, "tcp", "S", seq_not(dst), campaign_srcs[i].ttl)
    end
  end

  -- Background scanners, a few packets each on common ports.
  for _ = 1, n_of(15, 25) do
    local src, ttl, port = new_source(), r.int(40, 115), r.pick(MISC_TCP)
    for _ = 1, r.int(2, 6) do
      local dst = dark()
      add(src, dst, r.int(1024, 65535), port, "tcp", "S", seq_not(dst), ttl)
    end
  end

  -- The research scanner: one source, a sweep of many ports, a fixed TTL.
  local research = opts.research and M.ip_number(opts.research) or new_source()
  used[research] = true
  truth.research = M.ip_text(research)
  local per_port = math.max(2, (r.int(4, 6) * scale + 0.5) // 1)
  for _, port in ipairs(RESEARCH_PORTS) do
    for _ = 1, per_port do
      local dst = dark()
      add(research, dst, r.int(40000, 60000), port, "tcp", "S", seq_not(dst), 54)
    end
  end

  -- Backscatter: SYN-ACKs and RSTs from victims of spoofed-source floods.
  for _ = 1, n_of(3, 6) do
    local src, sport, ttl = new_source(), r.pick({ 80, 443, 53, 25 }), r.int(48, 120)
    for _ = 1, r.int(15, 40) do
      local dst = dark()
      add(src, dst, sport, r.int(1024, 65535), "tcp", r.int(1, 3) == 1 and "R" or "SA", seq_not(dst), ttl)
    end
  end

  -- Stray UDP and pings.
  for _ = 1, n_of(10, 20) do
    local src, port, ttl = new_source(), r.pick(UDP_PORTS), r.int(40, 115)
    for _ = 1, r.int(1, 5) do add(src, dark(), r.int(1024, 65535), port, "udp", "-", "-", ttl) end
  end
  for _ = 1, n_of(5, 10) do
    local src, ttl = new_source(), r.int(40, 115)
    for _ = 1, r.int(1, 6) do add(src, dark(), "-", "-", "icmp", "-", "-", ttl) end
  end

  -- The campaign must stand out as the busiest port after Telnet: top it up
  -- if background traffic happened to come close.
  local function port_counts()
    local c = {}
    for _, p in ipairs(pkts) do
      if p.proto == "tcp" and p.flags == "S" then c[p.dport] = (c[p.dport] or 0) + 1 end
    end
    return c
  end
  local counts = port_counts()
  local rival = 0
  for port, n in pairs(counts) do
    if port ~= campaign and port ~= 23 and port ~= 2323 and n > rival then rival = n end
  end
  while (counts[campaign] or 0) < rival + 20 do
    local s = r.pick(campaign_srcs)
    local dst = dark()
    add(s.src, dst, r.int(1024, 65535), campaign, "tcp", "S", seq_not(dst), s.ttl)
    counts[campaign] = (counts[campaign] or 0) + 1
  end

  table.sort(pkts, function(x, y) return x.t < y.t end)

  -- The facts, from the packets as written.
  local out = { M.HEADER }
  local date, hour = opts.date or "2019-11-05", opts.start_hour or 9
  local n23, nall, tcp = 0, 0, {}
  for i, p in ipairs(pkts) do
    local src = M.ip_text(p.src)
    local ms = p.t
    out[i + 1] = string.format("%sT%02d:%02d:%02d.%03dZ,%s,%s,%s,%s,%s,%s,%s,%d",
      date, hour + ms // 3600000, ms // 60000 % 60, ms // 1000 % 60, ms % 1000,
      src, p.sport, M.ip_text(p.dst), p.dport, p.proto, p.flags, p.seq, p.ttl)
    if src ~= truth.research then
      nall = nall + 1
      if p.proto == "tcp" and p.dport == 23 then n23 = n23 + 1 end
    end
    if p.proto == "tcp" and p.flags == "S" then tcp[p.dport] = (tcp[p.dport] or 0) + 1 end
  end
  local top, most = nil, -1
  for port, n in pairs(tcp) do
    if port ~= 23 and port ~= 2323 and (n > most or (n == most and port < top)) then top, most = port, n end
  end
  truth.csv = table.concat(out, "\n") .. "\n"
  truth.packets = #pkts
  truth.share23 = { n23, nall }
  truth.top_port = top
  return truth
end

-- The share as the flag accepts it: percent with one decimal, rounded or
-- truncated (awk's printf rounds, int() truncates), with an optional "%".
function M.share_pattern(a, b)
  local floor = a * 1000 // b
  local alts = { string.format("%d\\.%d", floor // 10, floor % 10) }
  if a * 1000 % b ~= 0 then
    local up = floor + 1
    alts[2] = string.format("%d\\.%d", up // 10, up % 10)
  end
  return "(" .. table.concat(alts, "|") .. ") ?%?"
end

-- The addresses in a text (a rule's output, a list a trainee wrote), as a
-- set; nil and a reason when there are more than LIMIT.
function M.address_set(text, limit)
  local set, n = {}, 0
  for line in text:gmatch("[^\n]+") do
    local addr = line:match("^%s*(%d+%.%d+%.%d+%.%d+)%s*$")
    if addr and M.ip_number(addr) and not set[addr] then
      set[addr], n = true, n + 1
      if n > limit then return nil, "more than " .. limit .. " addresses" end
    end
  end
  return set, n
end

-- Precision and recall of a set of flagged addresses against the truth.
function M.score(flagged, truth_set)
  local tp, fp, fn = 0, 0, 0
  for a in pairs(flagged) do
    if truth_set[a] then tp = tp + 1 else fp = fp + 1 end
  end
  for a in pairs(truth_set) do
    if not flagged[a] then fn = fn + 1 end
  end
  local precision = tp + fp > 0 and tp / (tp + fp) or 0
  local recall = tp + fn > 0 and tp / (tp + fn) or 0
  return precision, recall, tp, fp, fn
end

return M
