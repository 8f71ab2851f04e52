-- bench-class: the portal benchmark's range. Each team has one tiny VM, an
-- entry point whose console the team opens in the browser, one flag and one
-- objective, so that 30 teams (a class) fit one host under TCG and the
-- figures are the portal's, not the guests'.

scenario {
  id = "bench-class",
  title = { ja = "ベンチマーク: クラス 30 チーム", en = "Benchmark: a class of 30 teams" },
  description = {
    ja = "ポータルのベンチマーク用。チームごとに tiny の VM 1 台 (コンソールを開く端末)。",
    en = "For the portal benchmark: one tiny VM a team, the entry point whose console the team opens.",
  },
  teams = 30,
}

local v = vars { code = random.hex(8, { secret = true }) }
local lan = network { name = "lan", cidr = "10.0.0.0/24" }

vm {
  name = "ws", image = "tiny", memory = 128, entry = true,
  description = { ja = "端末", en = "Workstation" },
  nics = { { network = lan, address = lan:host(10) } },
  provision = { file { content = v.code .. "\n", dest = "/root/code.txt" } },
}

flag {
  id = "code",
  question = { ja = "/root/code.txt の内容は?", en = "What does /root/code.txt hold?" },
  points = 10,
  answer = function(vars) return vars.code end,
}

objective {
  id = "marker",
  title = { ja = "/root/done を作る", en = "Create /root/done" },
  points = 10,
  check = function(ctx) return ctx.vm("ws"):read_file("/root/done") ~= nil end,
}

solution(function(ctx)
  ctx.vm("ws"):exec("touch /root/done")
  ctx.submit("code", ctx.vm("ws"):read_file("/root/code.txt"):gsub("%s+", ""))
end)
