-- prelude.lua: the scenario language, written in Lua and compiled into
-- crange (cmake/embed.cmake). The C side (lang.c) runs it once per Lua state,
-- before the scenario, with the real globals as its environment, passing:
--   host   the C helpers of lang.c (where, cidr, ipv4, name_valid, attack_name,
--          derive_*)
--          and of guest.c (exec, read_file, submit, log: exercise time only)
--   env    the sandbox environment the scenario will see; the declarations
--          are added to it here
--   TEAM   this state's team number
--   COUNT  the number of teams, or nil until scenario{} names it
-- It returns finish(), which returns the declarations (layout at the end),
-- and make_ctx(), which builds the `ctx` argument of the functions a kept
-- state runs during the exercise (runtime.c).
--
-- Every error raised here names the scenario position of the caller
-- ("scenario.lua:7: vm: unknown key 'memroy'"), found by host.where().
-- Declarations read their argument with raw access: metatables on it are
-- ignored. The script cannot reach anything local to this file.

local host, env, TEAM, COUNT = ...

local error, next, rawget, rawlen, setmetatable, tonumber, tostring, type =
      error, next, rawget, rawlen, setmetatable, tonumber, tostring, type
local format, match, find = string.format, string.match, string.find
local utf8len = utf8.len
local sort = table.sort
local mtype, tointeger, maxinteger = math.type, math.tointeger, math.maxinteger
local where, cidr_parse, ipv4_parse = host.where, host.cidr, host.ipv4
local derive_int, derive_string, derive_choice = host.derive_int, host.derive_string, host.derive_choice

local decl = {
  scenario = nil, networks = {}, vms = {}, vars = {}, roles = {},
  objectives = {}, flags = {}, injects = {}, solution = nil,
}
local finished = false -- the script has run; its functions may still be called

---------------------------------------------------------------------------
-- Positions, errors and argument checking

local function here()
  local file, line = where()
  return file or "scenario.lua", line or 0
end

local function fail(fmt, ...)
  local file, line = here()
  local msg = format(fmt, ...)
  if line > 0 then
    error(format("%s:%d: %s", file, line, msg), 0)
  end
  error(format("%s: %s", file, msg), 0)
end

-- An error at a declaration's recorded position, for checks made after the
-- script has finished.
local function fail_at(file, line, fmt, ...)
  error(format("%s:%d: %s", file, line, format(fmt, ...)), 0)
end

local function set(list)
  local s = {}
  for i = 1, #list do s[list[i]] = true end
  return s
end

local function keyname(k)
  if type(k) == "string" then return k end
  return "[" .. tostring(k) .. "]"
end

-- Declarations describe the range before it exists; a check or an inject
-- running during the exercise cannot add to it.
local function declaring(what)
  if finished then fail("%s: declarations are only allowed while the scenario loads", what) end
end

local function checktable(what, t)
  if type(t) ~= "table" then
    fail("%s: expected a table, got %s", what, type(t))
  end
  return t
end

-- Reports the smallest unknown key, so that the message is deterministic.
local function check_keys(what, t, allowed)
  local unknown
  for k in next, t do
    if not allowed[k] then
      local s = keyname(k)
      if not unknown or s < unknown then unknown = s end
    end
  end
  if unknown then fail("%s: unknown key '%s'", what, unknown) end
end

-- For a table that is a list of arguments plus named options: the smallest
-- key that is neither; returns the list's length.
local function check_list_keys(what, t, allowed)
  local n = rawlen(t)
  local unknown
  for k in next, t do
    if not allowed[k] and not (mtype(k) == "integer" and k >= 1 and k <= n) then
      local s = keyname(k)
      if not unknown or s < unknown then unknown = s end
    end
  end
  if unknown then fail("%s: unknown key '%s'", what, unknown) end
  return n
end

-- A string; binary (a file's content) may hold any byte, any other string
-- no NUL, which the C side would silently cut the string at.
local function get_string(what, t, key, required, binary)
  local v = rawget(t, key)
  if v == nil then
    if required then fail("%s: missing required key '%s'", what, key) end
    return nil
  end
  if type(v) ~= "string" then fail("%s: '%s' must be a string", what, key) end
  if not binary and find(v, "\0", 1, true) then fail("%s: '%s' contains a NUL byte", what, key) end
  return v
end

local function get_boolean(what, t, key, default)
  local v = rawget(t, key)
  if v == nil then return default end
  if type(v) ~= "boolean" then fail("%s: '%s' must be a boolean", what, key) end
  return v
end

local function as_integer(v)
  return type(v) == "number" and tointeger(v) or nil
end

-- An integer in lo..hi (a float with an integral value counts).
local function get_integer(what, t, key, default, lo, hi, desc)
  local v = rawget(t, key)
  if v == nil then return default end
  local i = as_integer(v)
  if not i or i < lo then fail("%s: '%s' must be %s", what, key, desc) end
  if i > hi then fail("%s: '%s' must be at most %d", what, key, hi) end
  return i
end

local TEXT_KEYS = set{ "ja", "en" }

-- A trainee-facing text: both languages, always.
local function get_text(what, t, key, required)
  local v = rawget(t, key)
  if v == nil then
    if required then fail("%s: missing required key '%s'", what, key) end
    return nil
  end
  if type(v) ~= "table" then
    fail("%s: '%s' must be a table { ja = \"...\", en = \"...\" }", what, key)
  end
  check_keys(format("%s: '%s'", what, key), v, TEXT_KEYS)
  local ja, en = rawget(v, "ja"), rawget(v, "en")
  if type(ja) ~= "string" or ja == "" or type(en) ~= "string" or en == "" then
    fail("%s: '%s' needs both 'ja' and 'en' as non-empty strings", what, key)
  end
  -- Trainees read it in pages and JSON: whole UTF-8, nothing cut.
  local function whole(lang, text)
    if find(text, "\0", 1, true) then fail("%s: '%s' (%s) contains a NUL byte", what, key, lang) end
    if not utf8len(text) then fail("%s: '%s' (%s) is not valid UTF-8", what, key, lang) end
  end
  whole("ja", ja)
  whole("en", en)
  return { ja = ja, en = en }
end

local function get_list(what, t, key)
  local v = rawget(t, key)
  if v == nil then return {} end
  if type(v) ~= "table" then fail("%s: '%s' must be a list", what, key) end
  local n = rawlen(v)
  for k in next, v do
    if mtype(k) ~= "integer" or k < 1 or k > n then
      fail("%s: '%s' must be a list (it has key '%s')", what, key, keyname(k))
    end
  end
  local out = {}
  for i = 1, n do out[i] = rawget(v, i) end
  return out
end

local function get_strings(what, t, key)
  local l = get_list(what, t, key)
  for i = 1, #l do
    if type(l[i]) ~= "string" then fail("%s: '%s' must be a list of strings", what, key) end
  end
  return l
end

local function ipv4_format(a)
  return format("%d.%d.%d.%d", (a >> 24) & 255, (a >> 16) & 255, (a >> 8) & 255, a & 255)
end

local function get_address(what, t, key)
  local v = get_string(what, t, key, false)
  if v == nil then return 0 end
  local a = ipv4_parse(v)
  if not a then fail("%s: '%s' must be an IPv4 address like \"10.1.0.5\", not '%s'", what, key, v) end
  return a
end

-- The host numbers a network can give to machines.
local function host_range(prefix)
  if prefix >= 32 then return 0, 0 end
  if prefix == 31 then return 0, 1 end
  return 1, (1 << (32 - prefix)) - 2
end

-- The text form of a value in the model: integers in decimal.
local function text_of(v)
  if mtype(v) == "integer" then return format("%d", v) end
  if type(v) == "boolean" then return v and "true" or "false" end
  return tostring(v)
end

---------------------------------------------------------------------------
-- team

local team_fields = { number = TEAM }
env.team = setmetatable({}, {
  __index = function(_, k)
    if k == "count" then
      if COUNT == nil then
        fail("team.count is not known before scenario{} (declare scenario{} first)")
      end
      return COUNT
    end
    return team_fields[k]
  end,
  __newindex = function() fail("team is read-only") end,
  __metatable = "crange.team",
})

---------------------------------------------------------------------------
-- scenario{}

local SCENARIO_KEYS = set{ "id", "title", "description", "sources", "teams", "spread" }

function env.scenario(t)
  local what = "scenario"
  declaring(what)
  checktable(what, t)
  if decl.scenario then
    fail("scenario: declared twice (first at %s:%d)", decl.scenario.file, decl.scenario.line)
  end
  check_keys(what, t, SCENARIO_KEYS)
  local id = get_string(what, t, "id", true)
  if not host.name_valid(id, 31) then
    fail("scenario: 'id' must be a lowercase letter then lowercase letters, digits or '-' (at most 31), not '%s'", id)
  end
  local s = {
    id = id,
    title = get_text(what, t, "title", true),
    description = get_text(what, t, "description", true),
    sources = get_strings(what, t, "sources"),
    teams = get_integer(what, t, "teams", 1, 1, 999, "an integer from 1 to 999"),
    spread = get_boolean(what, t, "spread", false),
  }
  s.file, s.line = here()
  decl.scenario = s
  if COUNT == nil then COUNT = s.teams end
end

---------------------------------------------------------------------------
-- network{}

local NETWORK_KEYS = set{ "name", "cidr", "dhcp", "forward" }
local FORWARDS = set{ "nat", "route", "open" }
local networks = setmetatable({}, { __mode = "k" }) -- handle -> facts
local network_methods = {}
local network_mt = {
  __index = network_methods,
  __metatable = "crange.network",
  __name = "crange.network",
  __tostring = function(h) return format("network %s (%s)", networks[h].name, networks[h].cidr) end,
}

-- net:host(n) -> the dotted address of host n of the network.
function network_methods.host(self, n)
  local net = networks[self]
  if not net then fail("host: call it as net:host(n) on a handle from network{}") end
  local i = as_integer(n)
  local first, last = host_range(net.prefix)
  if not i or i < first or i > last then
    fail("host: network '%s' (%s) has hosts %d..%d, not %s", net.name, net.cidr, first, last, tostring(n))
  end
  return ipv4_format(net.addr + i)
end

function env.network(t)
  local what = "network"
  declaring(what)
  checktable(what, t)
  check_keys(what, t, NETWORK_KEYS)
  local name = get_string(what, t, "name", true)
  local cidr = get_string(what, t, "cidr", true)
  local addr, prefix = cidr_parse(cidr)
  if not addr then
    fail("network: 'cidr' must be a network like \"10.1.0.0/24\" (host bits zero), not '%s'", cidr)
  end
  local dhcp = get_boolean(what, t, "dhcp", false)
  local forward = rawget(t, "forward")
  if forward ~= nil and not FORWARDS[forward] then
    fail("network: 'forward' must be \"nat\", \"route\" or \"open\" (leave it out for an isolated network)")
  end
  local file, line = here()
  decl.networks[#decl.networks + 1] = {
    name = name, addr = addr, prefix = prefix, dhcp = dhcp, forward = forward, file = file, line = line,
  }
  local h = setmetatable({ name = name, cidr = cidr, prefix = prefix }, network_mt)
  networks[h] = { name = name, cidr = cidr, addr = addr, prefix = prefix }
  return h
end

---------------------------------------------------------------------------
-- Provisioning steps: file{}, user{}, run

local steps = setmetatable({}, { __mode = "k" }) -- step handle -> normalised step
local step_mt = { __metatable = "crange.step", __name = "crange.step" }

local function new_step(s)
  s.file, s.line = here()
  local h = setmetatable({ kind = s.kind }, step_mt)
  steps[h] = s
  return h
end

local FILE_KEYS = set{ "src", "content", "dest", "mode" }

-- Lua has no octal literals, so an integer mode is read by its digits:
-- mode = 644 and mode = "0644" both mean rw-r--r--.
local function parse_mode(v)
  if v == nil then return 420 end -- 0644
  local digits
  if type(v) == "string" then
    digits = v
  elseif mtype(v) == "integer" and v >= 0 then
    digits = format("%d", v)
  end
  local mode = digits and #digits <= 6 and match(digits, "^[0-7]+$") and tonumber(digits, 8)
  if not mode or mode > 4095 then
    fail("file: 'mode' must be octal digits like \"0644\" (at most 7777)")
  end
  return mode
end

function env.file(t)
  local what = "file"
  checktable(what, t)
  check_keys(what, t, FILE_KEYS)
  local src = get_string(what, t, "src", false)
  local content = get_string(what, t, "content", false, true)
  if (src == nil) == (content == nil) then
    fail("file: give exactly one of 'src' and 'content'")
  end
  return new_step{
    kind = "file", src = src, content = content,
    dest = get_string(what, t, "dest", true), mode = parse_mode(rawget(t, "mode")),
  }
end

local USER_KEYS = set{ "name", "password", "shell", "groups" }

-- A user or group name every image's tools take (Debian's useradd
-- NAME_REGEX, without the trailing '$' of machine accounts): no ':', no
-- shell metacharacters, never empty.
local function user_name(what, key, v)
  if #v > 32 or not match(v, "^[a-z_][a-z0-9_-]*$") then
    fail("%s: '%s' must be a lower-case letter or '_', then lower-case letters, digits, '_' or '-' "
         .. "(at most 32), not '%s'", what, key, v)
  end
  return v
end

function env.user(t)
  local what = "user"
  checktable(what, t)
  check_keys(what, t, USER_KEYS)
  local name = user_name(what, "name", get_string(what, t, "name", true))
  local password = get_string(what, t, "password", false)
  if password and find(password, "[\r\n]") then
    fail("user: 'password' must not contain a line break")
  end
  local shell = get_string(what, t, "shell", false)
  if shell and not match(shell, "^/[%w._/+-]*$") then
    fail("user: 'shell' must be an absolute path of letters, digits and . _ / + -, not '%s'", shell)
  end
  local groups = get_strings(what, t, "groups")
  for i = 1, groups and #groups or 0 do user_name(what, "groups", groups[i]) end
  return new_step{ kind = "user", name = name, password = password, shell = shell, groups = groups }
end

local RUN_KEYS = set{ "cmd", "timeout" }

function env.run(t)
  local what = "run"
  if type(t) == "string" then
    return new_step{ kind = "run", argv = { "/bin/sh", "-c", t }, timeout = 0 }
  end
  if type(t) ~= "table" then
    fail("run: expected a command string or a table, got %s", type(t))
  end
  local n = check_list_keys(what, t, RUN_KEYS)
  local cmd = get_string(what, t, "cmd", false)
  local timeout = get_integer(what, t, "timeout", 0, 1, 86400, "a positive integer (seconds)")
  local argv
  if cmd then
    if n > 0 then fail("run: give either 'cmd' or a list of arguments, not both") end
    argv = { "/bin/sh", "-c", cmd }
  else
    if n == 0 then
      fail("run: needs a command: run \"...\", run{ \"prog\", \"arg\" } or run{ cmd = \"...\" }")
    end
    argv = {}
    for i = 1, n do
      local a = rawget(t, i)
      if type(a) ~= "string" then fail("run: argument %d must be a string", i) end
      argv[i] = a
    end
  end
  return new_step{ kind = "run", argv = argv, timeout = timeout }
end

---------------------------------------------------------------------------
-- role{}: packages, files and commands baked once into a template layer of
-- an image, shared by every VM of the role in every team.

local ROLE_KEYS = set{ "name", "image", "packages", "files", "run" }
local role_mt = { __metatable = "crange.role", __name = "crange.role" }
local role_handles = setmetatable({}, { __mode = "k" }) -- handle -> role name

function env.role(t)
  local what = "role"
  declaring(what)
  checktable(what, t)
  check_keys(what, t, ROLE_KEYS)
  local r = {
    name = get_string(what, t, "name", true),
    image = get_string(what, t, "image", true),
    packages = get_strings(what, t, "packages"),
    steps = {},
  }
  for i = 1, #r.packages do
    -- Debian policy's package names; no versions, options or apt patterns.
    if not match(r.packages[i], "^[a-z0-9][a-z0-9+.%-]+$") then
      fail("role: packages[%d] '%s' is not a Debian package name (lowercase letters, digits, '+', '-', '.')",
           i, r.packages[i])
    end
  end
  local files = get_list(what, t, "files")
  for i = 1, #files do
    local st = steps[files[i]]
    if not st or st.kind ~= "file" then fail("role: files[%d] must be a step made by file{}", i) end
    r.steps[#r.steps + 1] = st
  end
  r.file, r.line = here()
  local cmds = get_list(what, t, "run")
  for i = 1, #cmds do
    if type(cmds[i]) ~= "string" then fail("role: run[%d] must be a shell command string", i) end
    r.steps[#r.steps + 1] = {
      kind = "run", argv = { "/bin/sh", "-c", cmds[i] }, timeout = 0, file = r.file, line = r.line,
    }
  end
  decl.roles[#decl.roles + 1] = r
  local h = setmetatable({ name = r.name }, role_mt)
  role_handles[h] = r.name
  return h
end

---------------------------------------------------------------------------
-- vm{}

local VM_KEYS = set{
  "name", "image", "role", "memory", "vcpus", "nics", "gateway", "entry", "description", "provision",
}
local NIC_KEYS = set{ "network", "address" }
local vm_mt = { __metatable = "crange.vm", __name = "crange.vm" }
local vm_handles = setmetatable({}, { __mode = "k" }) -- handle -> vm name

function env.vm(t)
  local what = "vm"
  declaring(what)
  checktable(what, t)
  check_keys(what, t, VM_KEYS)
  local role = rawget(t, "role")
  if role ~= nil and type(role) ~= "string" then
    role = role_handles[role]
    if not role then fail("vm: 'role' must be a role name or a handle from role{}") end
  end
  local v = {
    name = get_string(what, t, "name", true),
    image = get_string(what, t, "image", role == nil), -- with a role, the role's image
    role = role,
    memory = get_integer(what, t, "memory", 128, 1, 1048576, "a positive integer"),
    vcpus = get_integer(what, t, "vcpus", 1, 1, 256, "a positive integer"),
    nics = {},
    gateway = get_address(what, t, "gateway"),
    entry = get_boolean(what, t, "entry", false),
    description = get_text(what, t, "description", false),
    steps = {},
  }
  local nics = get_list(what, t, "nics")
  for i = 1, #nics do
    local nw = format("vm: nics[%d]", i)
    local nic = nics[i]
    if type(nic) ~= "table" then
      fail("%s: expected a table { network = ..., address = ... }", nw)
    end
    check_keys(nw, nic, NIC_KEYS)
    local net = rawget(nic, "network")
    local netname
    if type(net) == "string" then
      netname = net
    elseif net == nil then
      fail("%s: missing required key 'network'", nw)
    elseif networks[net] then
      netname = networks[net].name
    else
      fail("%s: 'network' must be a network name or a handle from network{}", nw)
    end
    v.nics[i] = { network = netname, addr = get_address(nw, nic, "address") }
  end
  local provision = get_list(what, t, "provision")
  for i = 1, #provision do
    local st = steps[provision[i]]
    if not st then fail("vm: provision[%d] must be a step made by file{}, user{} or run", i) end
    v.steps[i] = st
  end
  v.file, v.line = here()
  decl.vms[#decl.vms + 1] = v
  local h = setmetatable({ name = v.name }, vm_mt)
  vm_handles[h] = v.name
  return h
end

---------------------------------------------------------------------------
-- random.* specs and vars{}

local specs = setmetatable({}, { __mode = "k" }) -- spec handle -> facts
local spec_mt = { __metatable = "crange.random", __name = "crange.random" }
local OPTION_KEYS = set{ "unique", "secret" }
local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
local HEX = "0123456789abcdef"

-- Romanised Japanese family and given names, for user and host names.
-- Append only: the index of a word is part of every derived value.
local WORDS = {
  "sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto", "nakamura",
  "kobayashi", "kato", "yoshida", "yamada", "sasaki", "yamaguchi", "matsumoto", "inoue",
  "kimura", "hayashi", "shimizu", "yamazaki", "mori", "abe", "ikeda", "hashimoto",
  "yamashita", "ishikawa", "nakajima", "maeda", "fujita", "ogawa", "goto", "okada",
  "hasegawa", "murakami", "kondo", "ishii", "saito", "sakamoto", "endo", "aoki",
  "fujii", "nishimura", "fukuda", "ota", "miura", "fujiwara", "okamoto", "matsuda",
  "nakagawa", "nakano", "harada", "ono", "tamura", "takeuchi", "kaneko", "wada",
  "nakayama", "ishida", "ueda", "morita", "hara", "shibata", "sakai", "kudo",
  "sakura", "haruto", "sota", "yuto", "hina", "yui", "aoi", "riku",
  "hinata", "mei", "ren", "yuna", "kaito", "akari", "daiki", "emi",
}

local function new_spec(what, s, opts)
  s.unique, s.secret = true, false
  if opts ~= nil then
    if type(opts) ~= "table" then
      fail("%s: options must be a table { unique = ..., secret = ... }", what)
    end
    local ow = what .. ": options"
    check_keys(ow, opts, OPTION_KEYS)
    s.unique = get_boolean(ow, opts, "unique", true)
    s.secret = get_boolean(ow, opts, "secret", false)
  end
  local h = setmetatable({}, spec_mt)
  specs[h] = s
  return h
end

local function int_arg(what, v, name)
  local i = as_integer(v)
  if not i then fail("%s: '%s' must be an integer", what, name) end
  return i
end

local random = {}

function random.password(len, opts)
  local n = as_integer(len)
  if not n or n < 4 or n > 128 then
    fail("random.password: the length must be an integer from 4 to 128")
  end
  return new_spec("random.password",
    { tag = "password", shape = "string", alphabet = ALNUM, len = n, domain = maxinteger }, opts)
end

function random.int(lo, hi, opts)
  lo, hi = int_arg("random.int", lo, "lo"), int_arg("random.int", hi, "hi")
  if lo > hi then fail("random.int: lo (%d) is greater than hi (%d)", lo, hi) end
  local k = hi - lo + 1
  if k <= 0 then k = maxinteger end -- wrapped: more values than an integer holds
  return new_spec("random.int", { tag = "int", shape = "int", lo = lo, hi = hi, domain = k }, opts)
end

function random.hex(nbytes, opts)
  local n = as_integer(nbytes)
  if not n or n < 1 or n > 64 then
    fail("random.hex: the number of bytes must be an integer from 1 to 64")
  end
  return new_spec("random.hex", {
    tag = "hex", shape = "string", alphabet = HEX, len = 2 * n,
    domain = n <= 7 and 1 << (8 * n) or maxinteger,
  }, opts)
end

function random.choice(list, opts)
  if type(list) ~= "table" then fail("random.choice: expected a list, got %s", type(list)) end
  local n = rawlen(list)
  if n == 0 then fail("random.choice: the list is empty") end
  local items, texts, seen, distinct = {}, {}, {}, 0
  for i = 1, n do
    local v = rawget(list, i)
    if type(v) ~= "string" and type(v) ~= "number" then
      fail("random.choice: element %d must be a string or a number", i)
    end
    items[i], texts[i] = v, text_of(v)
    if not seen[texts[i]] then
      seen[texts[i]] = true
      distinct = distinct + 1
    end
  end
  return new_spec("random.choice",
    { tag = "choice", shape = "choice", items = items, texts = texts, domain = distinct }, opts)
end

-- random.host(cidr_or_network [, first, last] [, opts])
function random.host(net, first, last, opts)
  local what = "random.host"
  local addr, prefix, cidr
  if type(net) == "string" then
    addr, prefix = cidr_parse(net)
    cidr = net
    if not addr then fail("random.host: '%s' is not a network like \"10.1.0.0/24\"", net) end
  elseif net ~= nil and networks[net] then
    local n = networks[net]
    addr, prefix, cidr = n.addr, n.prefix, n.cidr
  else
    fail("random.host: expected a CIDR string or a handle from network{}")
  end
  if type(first) == "table" then
    if last ~= nil or opts ~= nil then fail("random.host: options go last") end
    first, opts = nil, first
  end
  local lo, hi = host_range(prefix)
  first = first == nil and lo or int_arg(what, first, "first")
  last = last == nil and hi or int_arg(what, last, "last")
  if first > last or first < lo or last > hi then
    fail("random.host: hosts %d..%d are not within %s (hosts %d..%d)", first, last, cidr, lo, hi)
  end
  return new_spec(what, {
    tag = "host", shape = "int", lo = first, hi = last, base = addr, domain = last - first + 1,
  }, opts)
end

function random.word(opts)
  return new_spec("random.word",
    { tag = "word", shape = "choice", items = WORDS, texts = WORDS, domain = #WORDS }, opts)
end

env.random = random

local function derive(s, name)
  if s.shape == "int" then
    local i = derive_int(s.tag, name, TEAM, s.unique, s.lo, s.hi)
    if s.base then return ipv4_format(s.base + i) end
    return i
  elseif s.shape == "string" then
    return derive_string(s.tag, name, TEAM, s.unique, s.alphabet, s.len)
  end
  return s.items[derive_choice(s.tag, name, TEAM, s.unique, s.texts)]
end

local var_where = {} -- name -> "file:line" of its vars{}
local all_vars = {}  -- name -> this team's value, as vars{} returned it

function env.vars(t)
  local what = "vars"
  declaring(what)
  checktable(what, t)
  local names = {}
  for k in next, t do
    if type(k) ~= "string" or not match(k, "^[%a_][%w_]*$") then
      fail("vars: bad name '%s' (use letters, digits and '_')", keyname(k))
    end
    names[#names + 1] = k
  end
  sort(names)
  local file, line = here()
  local out = {}
  for i = 1, #names do
    local name = names[i]
    if var_where[name] then
      fail("vars: '%s' is already defined (at %s)", name, var_where[name])
    end
    local v = rawget(t, name)
    local s = specs[v]
    local value, secret = v, false
    if s then
      local teams = COUNT or TEAM
      if s.unique and s.domain < teams then
        fail("vars: '%s' has only %d possible values for %d teams (use unique = false)", name, s.domain, teams)
      end
      value, secret = derive(s, name), s.secret
    elseif type(v) ~= "string" and type(v) ~= "number" and type(v) ~= "boolean" then
      fail("vars: '%s' must be a random.* value, a string, a number or a boolean", name)
    end
    var_where[name] = format("%s:%d", file, line)
    out[name] = value
    all_vars[name] = value
    decl.vars[#decl.vars + 1] = {
      name = name, value = text_of(value), secret = secret, file = file, line = line,
    }
  end
  return out
end

local function copy_vars()
  local c = {}
  for k, v in next, all_vars do c[k] = v end
  return c
end

---------------------------------------------------------------------------
-- Exercise content: objective{}, flag{}, inject{}, solution()

local MAX_POINTS = 1000000
local content_ids = {} -- objective and flag id -> "file:line" of its declaration

local function get_id(what, t)
  local id = get_string(what, t, "id", true)
  if #id > 31 or not match(id, "^[a-z][a-z0-9_%-]*$") then
    fail("%s: 'id' must be a lowercase letter then lowercase letters, digits, '_' or '-' (at most 31), not '%s'",
         what, id)
  end
  return id
end

-- Objectives and flags share one space of ids: prerequisites, hints and the
-- scoring engine name either.
local function claim_id(what, id)
  local first = content_ids[id]
  if first then fail("%s: duplicate id '%s' (first declared at %s)", what, id, first) end
  local file, line = here()
  content_ids[id] = format("%s:%d", file, line)
end

local function get_points(what, t)
  if rawget(t, "points") == nil then fail("%s: missing required key 'points'", what) end
  return get_integer(what, t, "points", 0, 0, MAX_POINTS, "an integer >= 0")
end

local function get_function(what, t, key, required, args)
  local v = rawget(t, key)
  if v == nil then
    if required then fail("%s: missing required key '%s'", what, key) end
    return nil
  end
  if type(v) ~= "function" then fail("%s: '%s' must be a function(%s) ... end", what, key, args or "ctx") end
  return v
end

local HINT_KEYS = set{ "ja", "en", "cost" }

-- hints = { { ja = "...", en = "...", cost = 2 }, ... }: bilingual, cost >= 0.
local function get_hints(what, t)
  local l = get_list(what, t, "hints")
  local out = {}
  for i = 1, #l do
    local hw = format("%s: hints[%d]", what, i)
    local h = l[i]
    if type(h) ~= "table" then fail("%s: expected a table { ja = \"...\", en = \"...\", cost = N }", hw) end
    check_keys(hw, h, HINT_KEYS)
    local ja, en = rawget(h, "ja"), rawget(h, "en")
    if type(ja) ~= "string" or ja == "" or type(en) ~= "string" or en == "" then
      fail("%s: needs both 'ja' and 'en' as non-empty strings", hw)
    end
    out[i] = { ja = ja, en = en, cost = get_integer(hw, h, "cost", 0, 0, MAX_POINTS, "an integer >= 0") }
  end
  return out
end

-- Tags: attack = { "T1133", "T1110.004" } (MITRE ATT&CK Enterprise technique
-- ids, checked against the table compiled into crange, lua/attack.h) and
-- skills = { "log analysis", ... } (free words naming what the item teaches).
-- Reports and the portal show, per team, the tags of what it met or solved.
local MAX_ATTACK, MAX_SKILLS, MAX_SKILL_LEN = 32, 16, 64

local function get_attack(what, t)
  local l = get_list(what, t, "attack")
  if #l > MAX_ATTACK then fail("%s: 'attack' has %d techniques, more than the %d allowed", what, #l, MAX_ATTACK) end
  local seen = {}
  for i = 1, #l do
    local id = l[i]
    if type(id) ~= "string" then fail("%s: 'attack' must be a list of strings", what) end
    if not match(id, "^T%d%d%d%d$") and not match(id, "^T%d%d%d%d%.%d%d%d$") then
      -- The message stays one short line whatever the value holds.
      local shown = (#id <= 40 and not find(id, "[%c\127]")) and format("'%s'", id) or format("attack[%d]", i)
      fail("%s: %s is not an ATT&CK technique id (like \"T1133\" or \"T1110.004\")", what, shown)
    end
    if not host.attack_name(id) then
      fail("%s: unknown ATT&CK technique '%s' (not an Enterprise technique in crange's table, "
           .. "lua/attack-techniques.tsv)", what, id)
    end
    if seen[id] then fail("%s: ATT&CK technique '%s' is listed twice", what, id) end
    seen[id] = true
  end
  return l
end

local function get_skills(what, t)
  local l = get_list(what, t, "skills")
  if #l > MAX_SKILLS then fail("%s: 'skills' has %d entries, more than the %d allowed", what, #l, MAX_SKILLS) end
  local seen = {}
  for i = 1, #l do
    local s = l[i]
    if type(s) ~= "string" then fail("%s: 'skills' must be a list of strings", what) end
    local n = utf8len(s)
    -- Shown in pages, CSV cells and HTML: one short line of printable text.
    if not n or n == 0 or n > MAX_SKILL_LEN or find(s, "[%c\127]") or find(s, "^%s") or find(s, "%s$") then
      fail("%s: skills[%d] must be printable UTF-8 text of 1 to %d characters, without control characters "
           .. "or spaces at either end", what, i, MAX_SKILL_LEN)
    end
    if seen[s] then fail("%s: skill '%s' is listed twice", what, s) end
    seen[s] = true
  end
  return l
end

local OBJECTIVE_KEYS = set{ "id", "title", "points", "prereqs", "hints", "mode", "check", "attack", "skills" }
local MODES = set{ "once", "hold" }

-- objective{} returns its id, so that prereqs = { o } reads well.
function env.objective(t)
  local what = "objective"
  declaring(what)
  checktable(what, t)
  check_keys(what, t, OBJECTIVE_KEYS)
  local id = get_id(what, t)
  local mode = rawget(t, "mode")
  if mode == nil then mode = "once" end
  if not MODES[mode] then fail("objective: 'mode' must be \"once\" or \"hold\"") end
  local o = {
    id = id,
    title = get_text(what, t, "title", true),
    points = get_points(what, t),
    prereqs = get_strings(what, t, "prereqs"),
    hints = get_hints(what, t),
    mode = mode,
    check = get_function(what, t, "check", true),
  }
  local tagged = format("%s '%s'", what, id)
  o.attack, o.skills = get_attack(tagged, t), get_skills(tagged, t)
  claim_id(what, id)
  o.file, o.line = here()
  decl.objectives[#decl.objectives + 1] = o
  return id
end

local FLAG_KEYS = set{ "id", "question", "points", "max_attempts", "answer", "case_sensitive", "hints",
                      "attack", "skills" }
local PATTERN_KEYS = set{ "pattern" }

-- The kind and text of an answer value: a string, or { pattern = "..." }.
-- (Whether a pattern compiles is checked with the team's model, model.c.)
local function answer_of(what, v)
  if type(v) == "string" then return "literal", v end
  if type(v) ~= "table" then
    fail("%s: 'answer' must be a string, { pattern = \"...\" } or a function(vars) ... end", what)
  end
  local aw = what .. ": 'answer'"
  check_keys(aw, v, PATTERN_KEYS)
  return "pattern", get_string(aw, v, "pattern", true)
end

function env.flag(t)
  local what = "flag"
  declaring(what)
  checktable(what, t)
  check_keys(what, t, FLAG_KEYS)
  local id = get_id(what, t)
  local f = {
    id = id,
    question = get_text(what, t, "question", true),
    points = get_points(what, t),
    max_attempts = get_integer(what, t, "max_attempts", 0, 0, MAX_POINTS, "an integer >= 0 (0: unlimited)"),
    case_sensitive = get_boolean(what, t, "case_sensitive", false),
    hints = get_hints(what, t),
  }
  local tagged = format("%s '%s'", what, id)
  f.attack, f.skills = get_attack(tagged, t), get_skills(tagged, t)
  local answer = rawget(t, "answer")
  if answer == nil then fail("flag: missing required key 'answer'") end
  if type(answer) == "function" then
    f.answer_fn = answer -- called by finish(), once every vars{} is known
  else
    f.answer_kind, f.answer = answer_of(what, answer)
  end
  claim_id(what, id)
  f.file, f.line = here()
  decl.flags[#decl.flags + 1] = f
  return id
end

-- A function answer gives this team's answer from this team's vars.
local function resolve_answer(f)
  local v = f.answer_fn(copy_vars())
  if type(v) == "string" then
    f.answer_kind, f.answer = "literal", v
    return
  end
  if type(v) == "table" and next(v) == "pattern" and next(v, "pattern") == nil
     and type(rawget(v, "pattern")) == "string" then
    f.answer_kind, f.answer = "pattern", rawget(v, "pattern")
    return
  end
  fail_at(f.file, f.line, "flag '%s': the answer function must return a string or { pattern = \"...\" }, not %s%s",
          f.id, type(v) == "table" and "another table" or type(v),
          type(v) == "number" and " (use tostring)" or "")
end

local INJECT_KEYS = set{ "id", "title", "at", "when", "run", "action" }
local INJECT_RUN_KEYS = set{ "vm", "cmd", "argv" }
local MAX_AT = 7 * 86400
local UNITS = { h = 3600, m = 60, s = 1 }
local UNIT_ORDER = { h = 1, m = 2, s = 3 }

-- Seconds from the start: a number, or "90s", "10m", "1h", "1h30m" (units in
-- that order, each at most once). nil when it is neither or too late.
local function parse_at(v)
  local total = as_integer(v)
  if not total and type(v) == "string" and v ~= "" then
    total = 0
    local rest, prev = v, 0
    while rest ~= "" do
      local n, u, tail = match(rest, "^(%d+)([hms])(.*)$")
      if not n or #n > 7 or UNIT_ORDER[u] <= prev then return nil end
      total, rest, prev = total + tonumber(n) * UNITS[u], tail, UNIT_ORDER[u]
    end
  end
  if not total or total < 0 or total > MAX_AT then return nil end
  return total
end

function env.inject(t)
  local what = "inject"
  declaring(what)
  checktable(what, t)
  check_keys(what, t, INJECT_KEYS)
  local i = {
    id = get_id(what, t),
    title = get_text(what, t, "title", true),
    when = get_function(what, t, "when", false),
    action = get_function(what, t, "action", false),
    at = -1,
  }
  local at = rawget(t, "at")
  if (at == nil) == (i.when == nil) then fail("inject: give exactly one of 'at' and 'when'") end
  if at ~= nil then
    i.at = parse_at(at)
    if not i.at then
      fail("inject: 'at' must be a number of seconds or a duration like \"90s\", \"10m\", \"1h30m\" (at most 7 days)")
    end
  end
  local run = rawget(t, "run")
  if run ~= nil then
    local rw = "inject: run"
    if type(run) ~= "table" then
      fail("inject: 'run' must be a table { vm = \"...\", cmd = \"...\" } or { vm = \"...\", argv = { ... } }")
    end
    check_keys(rw, run, INJECT_RUN_KEYS)
    local vm = rawget(run, "vm")
    if vm == nil then fail("%s: missing required key 'vm'", rw) end
    i.vm = type(vm) == "string" and vm or vm_handles[vm]
    if not i.vm then fail("%s: 'vm' must be a vm name or a handle from vm{}", rw) end
    local cmd = get_string(rw, run, "cmd", false)
    if (cmd == nil) == (rawget(run, "argv") == nil) then fail("%s: give exactly one of 'cmd' and 'argv'", rw) end
    if cmd then
      i.argv = { "/bin/sh", "-c", cmd }
    else
      i.argv = get_strings(rw, run, "argv")
      if #i.argv == 0 then fail("%s: 'argv' must not be empty", rw) end
    end
  end
  if run == nil and i.action == nil then fail("inject: needs 'run', 'action' or both") end
  i.file, i.line = here()
  decl.injects[#decl.injects + 1] = i
  return i.id
end

-- solution(function(ctx) ... end): the reference solution, at most once.
local function declare_solution(fn)
  declaring("solution")
  if type(fn) ~= "function" then
    fail("solution: expected a function(ctx) ... end, got %s", type(fn))
  end
  if decl.solution then
    fail("solution: declared twice (first at %s:%d)", decl.solution.file, decl.solution.line)
  end
  local file, line = here()
  decl.solution = { fn = fn, file = file, line = line }
end
env.solution = declare_solution

---------------------------------------------------------------------------
-- Exercise time: ctx, the argument of checks, inject functions and the
-- solution. The host functions fail unless runtime.c is running one of them.

local guest_exec, guest_read, guest_submit, guest_log = host.exec, host.read_file, host.submit, host.log
local guests = setmetatable({}, { __mode = "k" }) -- handle -> vm name
local guest_methods = {}
local guest_mt = {
  __index = guest_methods,
  __metatable = "crange.guest",
  __name = "crange.guest",
  __tostring = function(h) return "vm " .. tostring(guests[h]) end,
}

local function guest_of(self, method)
  local name = guests[self]
  if not name then fail("%s: call it as ctx.vm(\"name\"):%s(...)", method, method) end
  return name
end

local EXEC_KEYS = set{ "input" }

-- vm:exec("shell string") or vm:exec{ "prog", "arg", ..., input = "stdin" }
--   -> { code =, stdout =, stderr =, signal =, truncated = }
function guest_methods.exec(self, cmd)
  local name = guest_of(self, "exec")
  local argv, input
  if type(cmd) == "string" then
    argv = { "/bin/sh", "-c", cmd }
  elseif type(cmd) == "table" then
    local n = check_list_keys("exec", cmd, EXEC_KEYS)
    if n == 0 then fail("exec: needs a command: exec(\"shell string\") or exec{ \"prog\", \"arg\", ... }") end
    argv = {}
    for i = 1, n do
      local a = rawget(cmd, i)
      if mtype(a) == "integer" then a = text_of(a) end
      if type(a) ~= "string" then fail("exec: argument %d must be a string", i) end
      argv[i] = a
    end
    input = get_string("exec", cmd, "input", false)
  else
    fail("exec: expected a command string or a table, got %s", type(cmd))
  end
  return guest_exec(name, argv, input)
end

-- vm:read_file(path) -> contents, or nil and a message
function guest_methods.read_file(self, path)
  local name = guest_of(self, "read_file")
  if type(path) ~= "string" then fail("read_file: expected a path, got %s", type(path)) end
  return guest_read(name, path)
end

-- vm:file_exists(path) -> boolean (a dangling symlink exists too)
function guest_methods.file_exists(self, path)
  local name = guest_of(self, "file_exists")
  if type(path) ~= "string" then fail("file_exists: expected a path, got %s", type(path)) end
  return guest_exec(name, { "/bin/sh", "-c", 'test -e "$1" || test -L "$1"', "sh", path }).code == 0
end

-- Probes from inside the VM. OpenBSD, traditional and nmap nc have -z;
-- busybox's (1.35, as in the tiny image) has not, and exits 0 once it has
-- connected when its stdin is empty. Arguments are passed as $1..$3, never
-- pasted into the script.
-- With -z (netcat-openbsd) nc only connects. busybox nc has no -z: it
-- connects, then waits for the server to close; -w bounds only the connect.
-- So an nc still running after the connect timeout is connected (to a
-- silent server), and `timeout` ending it (124 GNU, 143 busybox) means open.
local TCP_PROBE = 'if nc -h 2>&1 | grep -q -e -z; then exec nc -z -w "$1" "$2" "$3"; fi; '
               .. 'timeout $(($1 + 1)) nc -w "$1" "$2" "$3" </dev/null >/dev/null 2>&1; rc=$?; '
               .. '[ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -eq 143 ]'

-- vm:tcp_open(ip, port [, timeout_s = 2]) -> boolean
function guest_methods.tcp_open(self, ip, port, timeout)
  local name = guest_of(self, "tcp_open")
  if type(ip) ~= "string" or not match(ip, "^[%w][%w%.:%-]*$") then
    fail("tcp_open: expected an address or host name, got '%s'", tostring(ip))
  end
  local p = as_integer(port)
  if not p or p < 1 or p > 65535 then fail("tcp_open: the port must be an integer from 1 to 65535") end
  local w = 2
  if timeout ~= nil then
    w = as_integer(timeout)
    if not w or w < 1 or w > 60 then fail("tcp_open: the timeout must be an integer from 1 to 60 (seconds)") end
  end
  local r = guest_exec(name, { "/bin/sh", "-c", TCP_PROBE, "sh", text_of(w), ip, text_of(p) })
  return r.code == 0
end

local function ctx_vm(name)
  if vm_handles[name] then name = vm_handles[name] end
  if type(name) ~= "string" then
    fail("ctx.vm: expected a vm name, got %s (call it as ctx.vm(\"name\"), not ctx:vm)", type(name))
  end
  local known = false
  for i = 1, #decl.vms do
    if decl.vms[i].name == name then known = true end
  end
  if not known then fail("ctx.vm: no vm '%s' in this team", name) end
  local h = setmetatable({ name = name }, guest_mt)
  guests[h] = name
  return h
end

local function ctx_submit(flag, answer)
  if type(flag) ~= "string" then fail("ctx.submit: the flag id must be a string, got %s", type(flag)) end
  if type(answer) == "number" then answer = text_of(answer) end
  if type(answer) ~= "string" then fail("ctx.submit: the answer must be a string, got %s", type(answer)) end
  return guest_submit(flag, answer)
end

local function ctx_log(msg)
  guest_log(tostring(msg))
end

-- A fresh ctx per call: whatever a function does to it is gone afterwards.
local function make_ctx()
  return { team = TEAM, vars = copy_vars(), vm = ctx_vm, submit = ctx_submit, log = ctx_log }
end

---------------------------------------------------------------------------
-- finish() -> the declarations, for convert.c:
--   scenario = { id, title = {ja, en}, description = {ja, en}, sources = {..},
--                teams, file, line }
--   networks = { { name, addr, prefix, dhcp, forward?, file, line }, ... }
--   roles    = { { name, image, packages = { name, ... },
--                  steps = { file or run steps, as below; files first }, file, line }, ... }
--   vms      = { { name, image?, role?, memory, vcpus, gateway, entry,
--                  description? = {ja, en},
--                  nics  = { { network, addr }, ... },
--                  steps = { { kind = "file", src?, content?, dest, mode, file, line }
--                          | { kind = "user", name, password?, shell?, groups }
--                          | { kind = "run", argv, timeout }, ... },
--                  file, line }, ... }
--   vars     = { { name, value (text), secret, file, line }, ... }
--   objectives = { { id, title = {ja, en}, points, prereqs = { id, ... },
--                    hints = { { ja, en, cost }, ... }, mode = "once"|"hold",
--                    attack = { technique id, ... }, skills = { text, ... },
--                    check (function), file, line }, ... }
--   flags    = { { id, question = {ja, en}, points, max_attempts,
--                  answer_kind = "literal"|"pattern", answer (text),
--                  answer_fn? (function), case_sensitive, hints, attack, skills,
--                  file, line }, ... }
--   injects  = { { id, title = {ja, en}, at (seconds, -1 with when),
--                  when? , action? (functions), vm?, argv?, file, line }, ... }
--   solution = { fn, file, line } | nil
-- Addresses are integers in host byte order; 0 means none.
-- The first call also resolves function answers (scenario code runs).

local function finish()
  if not decl.scenario then
    error("scenario.lua: no scenario{} declaration", 0)
  end
  if not finished then
    finished = true
    if rawget(env, "solution") ~= declare_solution then
      error("scenario.lua: solution: declare it as solution(function(ctx) ... end); "
            .. "assigning the global 'solution' is not supported", 0)
    end
    for i = 1, #decl.flags do
      if decl.flags[i].answer_fn then resolve_answer(decl.flags[i]) end
    end
  end
  return decl
end

return finish, make_ctx
