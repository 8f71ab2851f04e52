-- bench-flat: the benchmark range. Each team is 10 tiny VMs on one isolated
-- network (no <forward>, no host address, no DHCP), with no provisioning,
-- so that `crange up --teams T` makes 10*T VMs on T networks, exactly the
-- work the vagrant-libvirt and virsh runs of bench/compare.sh do.

scenario {
  id = "bench-flat",
  title = { ja = "ベンチマーク: 1 ネットワークに 10 台", en = "Benchmark: 10 VMs on one network" },
  description = {
    ja = "ベンチマーク用。チームごとに隔離ネットワーク 1 つと tiny イメージの VM 10 台。プロビジョニングなし。",
    en = "For benchmarks: per team, one isolated network and 10 VMs of the tiny image, without provisioning.",
  },
  teams = 1,
}

local lan = network { name = "lan", cidr = "10.0.0.0/24" }

for i = 1, 10 do
  vm { name = "vm" .. i, image = "tiny", memory = 128, nics = { { network = lan, address = lan:host(10 + i) } } }
end
