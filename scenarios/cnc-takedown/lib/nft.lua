-- lib/nft.lua: reads the text of `nft list ruleset` well enough to answer two
-- questions about an ISP's blocklist: which rules drop or reject traffic,
-- with their counters, and which IPv4 addresses those rules (and the named
-- sets they use) cover, as single addresses, prefixes or ranges.
local M = {}

-- "203.0.113.7" -> 3405803783; nil for anything that is not a dotted quad.
function M.ip(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- Every address, prefix (a/len) and range (a-b) in a piece of text, as
-- { lo, hi } pairs of numbers.
function M.ranges(text)
  local out, pos = {}, 1
  while true do
    local s, e, addr = text:find("(%d+%.%d+%.%d+%.%d+)", pos)
    if not s then break end
    local lo = M.ip(addr)
    local hi = lo
    local len = text:match("^/(%d+)", e + 1)
    if len then
      e = e + 1 + #len
      local l = tonumber(len)
      if lo and l <= 32 then
        local size = 1 << (32 - l)
        lo = lo - lo % size
        hi = lo + size - 1
      end
    else
      local s2, e2, addr2 = text:find("^%s*%-%s*(%d+%.%d+%.%d+%.%d+)", e + 1)
      if s2 then
        hi = M.ip(addr2)
        e = e2
      end
    end
    if lo and hi then out[#out + 1] = { lo, hi } end
    pos = e + 1
  end
  return out
end

-- Whether one of the ranges holds the address (a dotted quad).
function M.covers(ranges, addr)
  local n = M.ip(addr)
  for _, r in ipairs(ranges) do
    if n >= r[1] and n <= r[2] then return true end
  end
  return false
end

-- The index of the "}" that closes the "{" at position open.
local function block_end(text, open)
  local depth = 0
  for i = open, #text do
    local ch = text:byte(i)
    if ch == 123 then depth = depth + 1          -- {
    elseif ch == 125 then                        -- }
      depth = depth - 1
      if depth == 0 then return i end
    end
  end
  return #text
end

-- Each "KIND NAME {...}" block directly inside body: { kind, name, body }.
local function blocks(body)
  local out, pos = {}, 1
  while true do
    local s, e, kind, name = body:find("([%a_]+)%s+([%w_%-%.\"]+)%s*{", pos)
    if not s then break end
    local close = block_end(body, e)
    out[#out + 1] = { kind = kind, name = name:gsub('"', ""), body = body:sub(e + 1, close - 1) }
    pos = close + 1
  end
  return out
end

-- The rules that drop or reject, each as { text, table, packets, ranges },
-- where ranges are the addresses the rule names plus the elements of every
-- named set (@name) of its table that it uses.
function M.blocking_rules(ruleset)
  local out, pos = {}, 1
  while true do
    local s, e, tname = ruleset:find("table%s+[%w_]+%s+([%w_%-%.\"]+)%s*{", pos)
    if not s then break end
    local close = block_end(ruleset, e)
    pos = close + 1
    local t = { name = tname:gsub('"', ""), body = ruleset:sub(e + 1, close - 1) }
    do
      local sets, chains = {}, {}
      for _, b in ipairs(blocks(t.body)) do
        if b.kind == "set" or b.kind == "map" then
          sets[b.name] = M.ranges(b.body)
        elseif b.kind == "chain" then
          chains[#chains + 1] = b
        end
      end
      for _, c in ipairs(chains) do
        for line in c.body:gmatch("[^\n]+") do
          local text = line:gsub('comment%s+".-"', "")
          local verdict = text:find("%f[%w]drop%f[%W]") or text:find("%f[%w]reject%f[%W]")
          local header = text:find("^%s*type%s") or text:find("^%s*policy%s")
          if verdict and not header then
            -- "!= x" excludes x: it is not what the rule blocks.
            local positive = text:gsub("!=%s*{.-}", ""):gsub("!=%s*%S+", "")
            local ranges = M.ranges(positive)
            for ref in positive:gmatch("@([%w_%-%.]+)") do
              for _, r in ipairs(sets[ref] or {}) do ranges[#ranges + 1] = r end
            end
            out[#out + 1] = {
              text = line:gsub("^%s+", ""),
              table = t.name,
              packets = tonumber(text:match("counter packets (%d+)")) or 0,
              counted = text:find("counter packets", 1, true) ~= nil,
              ranges = ranges,
            }
          end
        end
      end
    end
  end
  return out
end

return M
