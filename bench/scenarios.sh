#!/bin/sh
# Boot-to-ready time and memory per team of each incident scenario
# (telework-router, cnc-takedown, invoice-trust), for BENCHMARKS.md. Runs
# inside tests/e2e/netns-run.sh (a private libvirtd); prints a Markdown table.
#
# Per scenario, on a fresh state folder seeded with the built images: `up`
# of 2 teams (a role layer that is not built yet is built first and its time
# is reported apart: boot to ready = up - layer build), then what each
# team's VMs declare and what their QEMU processes hold (RSS), then `down`.
# Role layers download packages, so `up` runs in the host's network
# namespace (descriptor $CRANGE_TEST_HOSTNET_FD, see netns-run.sh); the VMs
# stay in the private one.
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}"
b=$CRANGE_BIN
teams=${BENCH_SCENARIO_TEAMS:-2}
work=$(mktemp -d /tmp/crange-bench-scn.XXXXXX)
chmod 0755 "$work"
export CRANGE_STATE=$work/state CRANGE_ACCEL=tcg
trap 'for r in $(ls "$CRANGE_STATE/ranges" 2>/dev/null); do "$b" down "$r" --purge >/dev/null 2>&1; done; rm -rf "$work"' EXIT
host_net() { nsenter --net="/proc/self/fd/${CRANGE_TEST_HOSTNET_FD:?run by netns-run.sh}" "$@"; }
host_net "$b" image build tiny >/dev/null 2>&1
host_net "$b" image build debian-12 >/dev/null 2>&1

# One plain debian-12 VM: wall time from `up` to its agent answering (and
# provisioned), and the CPU its QEMU used until then.
mkdir -p "$work/one"
cat > "$work/one/scenario.lua" <<'LUA'
scenario{ id = "one", title = { ja = "1 台", en = "one VM" }, description = { ja = "計測", en = "a measurement" } }
local lan = network{ name = "lan", cidr = "10.50.0.0/24" }
vm{ name = "deb", image = "debian-12", memory = 512, nics = { { network = lan, address = lan:host(10) } } }
LUA
echo "bench: one debian-12 VM" >&2
"$b" --json up "$work/one" --name one --teams 1 > "$work/up.json"
pid=$(cat /run/libvirt/qemu/crange.one.t1.deb.pid)
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$pid/stat")
rss=$(($(ps -o rss= -p "$pid") / 1024))
"$b" down one --purge >/dev/null
echo "One debian-12 VM (512 MiB, 1 vCPU), direct kernel boot under TCG: \`up\` until its agent answers and it"
echo "is provisioned in $(jq -r '.seconds | . * 10 | floor / 10' "$work/up.json") s; its QEMU had used $cpu CPU-seconds by then and"
echo "held $rss MiB."
echo

echo "| scenario | VMs a team | up s (2 teams) | role layers built, s | boot to ready s | declared MiB a team | QEMU RSS MiB a team |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for s in ${BENCH_SCENARIOS:-telework-router cnc-takedown invoice-trust}; do
    r=$(printf '%s' "$s" | tr -d -- '-' | cut -c1-12)
    echo "bench: scenario $s, $teams teams" >&2
    host_net "$b" --json up "$CRANGE_SOURCE/scenarios/$s" --name "$r" --teams "$teams" > "$work/up.json"
    up_s=$(jq -r '.seconds' "$work/up.json")
    layer_s=0
    if [ "$(jq -r '.changes.layers' "$work/up.json")" != 0 ]; then
        layer_s=$(cat "$CRANGE_STATE"/images/layers/*/manifest.json | jq -s '[.[].build_seconds] | add')
    fi
    vms=$(($(jq -r '.vms' "$work/up.json") / teams))
    declared=0 rss=0
    for d in $(virsh -q list --name | grep "^crange\.$r\.t1\."); do
        declared=$((declared + $(virsh dominfo "$d" | awk '/^Max memory:/ { print $3 }')))
    done
    for t in $(seq "$teams"); do
        for f in /run/libvirt/qemu/crange.$r.t$t.*.pid; do
            rss=$((rss + $(ps -o rss= -p "$(cat "$f")" 2>/dev/null || echo 0)))
        done
    done
    printf '| %s | %d | %.0f | %.0f | %.0f | %d | %d |\n' "$s" "$vms" "$up_s" "$layer_s" \
        "$(awk "BEGIN { print $up_s - $layer_s }")" $((declared / 1024)) $((rss / 1024 / teams))
    "$b" down "$r" --purge >/dev/null
    rm -rf "$CRANGE_STATE"/images/layers   # each scenario builds its own layers
done
