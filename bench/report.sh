#!/bin/sh
# Turns the raw results of bench/compare.sh and bench_events (under
# $BENCH_RESULTS) into the Markdown sections of BENCHMARKS.md (on stdout)
# and the plot bench/up-time.svg (gnuplot). Separate from the measuring so
# that the report can be redone without measuring again:
#   BENCH_RESULTS=bench/results sh bench/report.sh > /tmp/side.md
set -eu
: "${BENCH_RESULTS:?}"
cd "$(dirname "$0")/.."
r=$BENCH_RESULTS
touch "$r/up.tsv"   # the sections below read it even when the up comparison did not run
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1f×", b / a; else printf "n/a" }'; }
field() { # file tool N column
    awk -F'\t' -v t="$2" -v n="$3" -v c="$4" '$1 == t && $2 == n { print $c }' "$1"
}
met() { if awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { exit !(op == "le" ? v <= t : v >= t) }'; then echo "**met**"; else echo "**missed**"; fi; }

echo "## Side by side: crange, vagrant-libvirt and a serial virsh script"
echo
echo "Same run, same private libvirtd, same tiny image (direct kernel boot of the Debian cloud kernel"
echo "and the busybox initramfs, same kernel cmdline, 128 MiB, 1 vCPU, TCG), N VMs on N/10 isolated"
echo "networks (no \`<forward>\`, no host address, no DHCP) for every tool. Tools ran one after"
echo "the other (crange, virsh, vagrant for each N); everything was removed and the machine left to"
echo "settle between runs. Started at: \`$(cat "$r/uptime.txt" 2>/dev/null || echo '?')\`."
echo
echo "What each tool does, and what was timed:"
echo
echo "- **crange**: \`crange up bench/scenarios/flat --name uN --teams N/10 --no-provision\` (10 VMs"
echo "  on one network a team; default \`--jobs 8\`): storage pool, networks, then per VM a qcow2"
echo "  overlay through libvirt's storage API, define, start paused, in a worker pool; then the"
echo "  guests are resumed: all at once up to 25 per host CPU (N = 10, 50), else in a boot window of"
echo "  2 per CPU, each guest whose agent answers letting the next in (N = 100), so that at N = 100"
echo "  crange returns only when the agents answer."
echo "- **serial virsh** (\`bench/virsh-up.sh\`, as CyRIS does it): \`virsh net-define\` + \`net-start\`"
echo "  per network, then per VM, one after the other: \`qemu-img create -b\` (overlay on the same"
echo "  base disk), \`virsh define\` (crange's domain XML), \`virsh start\`."
echo "- **vagrant-libvirt** (\`bench/vagrant/Vagrantfile\`, vagrant $(vagrant --version 2>/dev/null | cut -d' ' -f2),"
echo "  vagrant-libvirt $(dpkg-query -W -f='${Version}' vagrant-libvirt 2>/dev/null)): \`vagrant up --parallel\` (its best"
echo "  setting: one thread per machine), boxless with direct kernel boot; per VM an empty 16 MiB"
echo "  qcow2 volume, the domain, a \`veryisolated\` private network per 10 VMs. With no box"
echo "  vagrant-libvirt does not wait for an address or SSH (the tiny image has no SSH), so"
echo "  \`vagrant up\` returns once every domain is started."
echo
echo "All three are timed from one clock start, by the same poller (\`bench/bench_wait.c\`, one"
echo "process): **all running** is when the last of the N domains is running in libvirt; **agents"
echo "ready** is when the last guest agent answers \`guest-ping\` (the call of \`virsh"
echo "qemu-agent-command DOM '{\"execute\":\"guest-ping\"}'\`, polled every 200 ms);"
echo "**tool exits** is when the tool's command returned. The **CPU floor** is the sum, over the N"
echo "guests, of each QEMU's CPU time (utime + stime) at the moment its agent first answered,"
echo "divided by the 2 cores: no tool can have every agent ready sooner on this machine."
echo
echo "### Up: seconds"
echo
echo "| N | tool | tool exits | all running | agents ready | guest boot CPU (sum) | CPU floor | ready / floor | others' CPU (cores) | floor on the cores left | ready / that floor | tool CPU | libvirtd CPU |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{
    left = ($10 != "" ? 2 - $10 : 2); if (left < 0.1) left = 0.1
    fl = $6 / left
    printf "| %s | %s | %.1f | %.1f | %s | %.1f | %.1f | %.2f | %s | %s | %s | %.1f | %.1f |\n", $2, $1, $3, $4,
        ($11 != "" && $11 + 0 < $2 + 0 ? sprintf("%.1f (%d of %d)", $5, $11, $2) : sprintf("%.1f", $5)), $6, $7,
        ($7 > 0 ? $5 / $7 : 0), ($10 != "" ? sprintf("%.2f", $10) : "?"), ($10 != "" ? sprintf("%.1f", fl) : "?"),
        ($10 != "" ? sprintf("%.2f", $5 / fl) : "?"), $8, $9 }' "$r/up.tsv"
echo
echo "*Tool CPU* is the CPU time of the tool's process and its children (\`qemu-img\` and \`virsh\` for"
echo "the script, Ruby for vagrant); *libvirtd CPU* is libvirtd's during the run. Both compete"
echo "with the booting guests for the same 2 cores. *Others' CPU* is what processes outside the"
echo "benchmark's namespace (other people's builds and VMs on this shared machine) used, on"
echo "average, from the start until every agent answered: the machine's busy time in \`/proc/stat\`"
echo "less the namespace's own. The *floor on the cores left* divides the guests' boot CPU by"
echo "2 minus that. Where fewer than N agents answered (a guest that did not boot; the poller"
echo "gives up 2 minutes after the last answer), *agents ready* is the last answer's time, marked"
echo "(k of N), and the CPU figures cover the k."
echo
echo "### Up: ratios (how many times faster crange is)"
echo
echo "| N | vs vagrant-libvirt: all running | vs vagrant-libvirt: agents ready | vs serial virsh: all running | vs serial virsh: agents ready |"
echo "|---:|---:|---:|---:|---:|"
for n in $(awk -F'\t' '$1 == "crange" { print $2 }' "$r/up.tsv"); do
    cr=$(field "$r/up.tsv" crange "$n" 4) ca=$(field "$r/up.tsv" crange "$n" 5)
    echo "| $n | $(ratio "$cr" "$(field "$r/up.tsv" vagrant "$n" 4)") | $(ratio "$ca" "$(field "$r/up.tsv" vagrant "$n" 5)") | $(ratio "$cr" "$(field "$r/up.tsv" virsh "$n" 4)") | $(ratio "$ca" "$(field "$r/up.tsv" virsh "$n" 5)") |"
done
echo
echo "![Up time against N](bench/up-time.svg)"
echo
echo "[bench/up-time.svg](bench/up-time.svg): solid lines, all agents ready; dashed, all domains running;"
echo "dotted, the CPU floor of crange's run."
echo

if [ -s "$r/control.tsv" ]; then
    echo "### Control plane per VM, guests started paused"
    echo
    echo "Overlay, define and start (paused) of each VM, as each tool sees it: crange's"
    echo "\`control_plane_ms\` from \`up --json\`; for the virsh script, the three commands timed around"
    echo "each VM. With several workers a VM's time includes waiting for the 2 cores that the others"
    echo "share, so the wall time divided by N is the cost per VM that a class pays."
    echo
    echo "| tool | workers | VMs | wall s | wall / VM ms | per VM p50 ms | p95 ms | max ms | tool CPU / VM ms | libvirtd CPU / VM ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %.1f | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f |\n", $1, $2, $3, $4, $4 * 1000 / $3, $5, $6, $7, $8 * 1000 / $3, $9 * 1000 / $3 }' "$r/control.tsv"
    if [ -s "$r/steps.tsv" ]; then
        echo
        echo "The virsh script's steps, p50 / p95 ms: $(sort -n -k1 "$r/steps.tsv" | awk '{a[NR]=$1} END {printf "qemu-img create %d / %d", a[int((NR-1)/2)+1], a[int((NR-1)*0.95+0.5)+1]}'),"
        echo "$(sort -n -k2 "$r/steps.tsv" | awk '{a[NR]=$2} END {printf "virsh define %d / %d", a[int((NR-1)/2)+1], a[int((NR-1)*0.95+0.5)+1]}'),"
        echo "$(sort -n -k3 "$r/steps.tsv" | awk '{a[NR]=$3} END {printf "virsh start --paused %d / %d", a[int((NR-1)/2)+1], a[int((NR-1)*0.95+0.5)+1]}')."
    fi
    echo
fi

if [ -s "$r/down.tsv" ]; then
    echo "### Down"
    echo
    echo "\`crange down\` of a range of paused VMs; leftovers are what \`virsh list --all\`,"
    echo "\`virsh net-list --all\` and \`virsh pool-list --all\` show afterwards (the private libvirtd holds"
    echo "nothing else)."
    echo
    echo "| VMs | networks | up (paused) s | down s | domains left | networks left | pools left |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %.2f | %s | %s | %s |\n", $1, $2, ($3 ~ /^[0-9.]+$/ ? sprintf("%.1f", $3) : "?"), $4, $5, $6, $7 }' "$r/down.tsv"
    echo
fi

if [ -s "$r/scale.tsv" ]; then
    echo "### Scale without boot: libvirt's test driver"
    echo
    echo "\`/usr/bin/time -v crange --connect test:///default up bench/scenarios/flat --teams 100 --no-provision\`:"
    echo "one process (the test driver's state lives in it), no QEMU, no agents."
    echo
    echo "| VMs | up s | peak RSS MB |"
    echo "|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %.2f | %.1f |\n", $1, $2, $3 / 1024 }' "$r/scale.tsv"
    echo
fi

if [ -s "$r/events.md" ] || [ -s "$r/checks.tsv" ]; then
    echo "### Scoring"
    echo
fi
if [ -s "$r/events.md" ]; then
    echo "Events into SQLite (\`bench_events\`):"
    echo
    cat "$r/events.md"
    echo
fi
if [ -s "$r/checks.tsv" ]; then
    echo "Checks through the guest agent: the demo with 8 teams (24 VMs), teams 1 to 4 solved with"
    echo "\`crange solve\`, then \`crange run k --once --json\` five times:"
    echo
    echo "| round | checks | seconds | checks/s | check p50 ms | p95 ms | max ms |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %.2f | %.1f | %.0f | %.0f | %.0f |\n", $1, $2, $3, ($3 > 0 ? $2 / $3 : 0), $4, $5, $6 }' "$r/checks.tsv"
    echo
fi

# Targets.
echo "### Targets"
echo
echo "| what | target | measured | verdict |"
echo "|---|---|---|---|"
# The ratios at every N that all three tools reached (a run cut short at the
# largest N has only some tools there).
alln=$(awk -F'\t' '{ seen[$2] = seen[$2] " " $1 } END {
    for (n in seen) if (seen[n] ~ / crange/ && seen[n] ~ / virsh/ && seen[n] ~ / vagrant/) print n }' "$r/up.tsv" | sort -n)
for big in $alln; do
    cr=$(field "$r/up.tsv" crange "$big" 4) ca=$(field "$r/up.tsv" crange "$big" 5)
    vr=$(field "$r/up.tsv" vagrant "$big" 4) va=$(field "$r/up.tsv" vagrant "$big" 5)
    sr=$(field "$r/up.tsv" virsh "$big" 4) sa=$(field "$r/up.tsv" virsh "$big" 5)
    x=$(awk -v a="$cr" -v b="$vr" 'BEGIN { print b / a }')
    y=$(awk -v a="$ca" -v b="$va" 'BEGIN { print b / a }')
    echo "| crange vs vagrant-libvirt, $big VMs, all running | ≥ 5× faster | $(ratio "$cr" "$vr") | $(met "$x" 5 ge) |"
    echo "| crange vs vagrant-libvirt, $big VMs, agents ready | ≥ 5× faster | $(ratio "$ca" "$va") | $(met "$y" 5 ge) |"
    x=$(awk -v a="$cr" -v b="$sr" 'BEGIN { print b / a }')
    y=$(awk -v a="$ca" -v b="$sa" 'BEGIN { print b / a }')
    echo "| crange vs serial virsh, $big VMs, all running | ≥ 2× faster | $(ratio "$cr" "$sr") | $(met "$x" 2 ge) |"
    echo "| crange vs serial virsh, $big VMs, agents ready | ≥ 2× faster | $(ratio "$ca" "$sa") | $(met "$y" 2 ge) |"
done
if [ -s "$r/control.tsv" ]; then
    p50=$(awk -F'\t' '$1 == "crange" && $2 == 8 { print $5 }' "$r/control.tsv")
    per=$(awk -F'\t' '$1 == "crange" && $2 == 8 { print $4 * 1000 / $3 }' "$r/control.tsv")
    own=$(awk -F'\t' '$1 == "crange" && $2 == 8 { print $8 * 1000 / $3 }' "$r/control.tsv")
    [ -z "$p50" ] || echo "| control-plane cost per VM (crange, 8 workers, paused) | ≤ 30 ms p50 | p50 $(printf '%.0f' "$p50") ms (wall / VM $(printf '%.0f' "$per") ms; crange's own CPU $(printf '%.1f' "$own") ms a VM) | $(met "$p50" 30 le) |"
fi
if [ -s "$r/down.tsv" ]; then
    # awk, not read: an empty field (up seconds unknown) must keep its place
    dn=$(awk -F'\t' 'NR == 1 { print $1 }' "$r/down.tsv") ds=$(awk -F'\t' 'NR == 1 { print $4 }' "$r/down.tsv")
    dd=$(awk -F'\t' 'NR == 1 { print $5 }' "$r/down.tsv") dnn=$(awk -F'\t' 'NR == 1 { print $6 }' "$r/down.tsv")
    dp=$(awk -F'\t' 'NR == 1 { print $7 }' "$r/down.tsv")
    v=$(met "$ds" 5 le)
    [ $((dd + dnn + dp)) -eq 0 ] || v="**missed**"
    echo "| down of $dn VMs | ≤ 5 s, 0 leftovers | $(printf '%.2f' "$ds") s, $((dd + dnn + dp)) leftovers | $v |"
fi
if [ -s "$r/events.md" ]; then
    ev=$(sed -n 's/^best batched: \([0-9]*\) events.*/\1/p' "$r/events.md")
    echo "| events into SQLite | ≥ 100k/s | $ev/s (best batch) | $(met "$ev" 100000 ge) |"
fi
if [ -s "$r/scale.tsv" ]; then
    sn=$(awk -F'\t' 'NR == 1 { print $1 }' "$r/scale.tsv") srss=$(awk -F'\t' 'NR == 1 { print $3 }' "$r/scale.tsv")
    echo "| peak RSS at $sn VMs | ≤ 50 MB | $(awk -v k="$srss" 'BEGIN { printf "%.1f", k / 1024 }') MB | $(met "$(awk -v k="$srss" 'BEGIN { print k / 1024 }')" 50 le) |"
fi
# The floor target at crange's largest N; all agents must have answered.
big=$(awk -F'\t' '$1 == "crange" { n = $2 } END { print n }' "$r/up.tsv")
if [ -n "$big" ]; then
    ca=$(field "$r/up.tsv" crange "$big" 5)
    fl=$(field "$r/up.tsv" crange "$big" 7)
    oc=$(field "$r/up.tsv" crange "$big" 10)
    k=$(field "$r/up.tsv" crange "$big" 11)
    q=$(awk -v a="$ca" -v f="$fl" 'BEGIN { print a / f }')
    extra=""
    if [ -n "$oc" ]; then
        fs=$(awk -v b="$(field "$r/up.tsv" crange "$big" 6)" -v o="$oc" 'BEGIN { l = 2 - o; if (l < 0.1) l = 0.1; print b / l }')
        qs=$(awk -v a="$ca" -v f="$fs" 'BEGIN { print a / f }')
        extra="; other work took $(printf '%.2f' "$oc") cores on average, and on the $(awk -v o="$oc" 'BEGIN { printf "%.2f", 2 - o }') left the floor is $(printf '%.1f' "$fs") s: $(printf '%.2f' "$qs")× ($(met "$qs" 1.2 le | tr -d '*') on the cores left)"
    fi
    v=$(met "$q" 1.2 le)
    if [ -n "$k" ] && [ "$k" -lt "$big" ]; then
        extra="$extra; only $k of $big agents answered"
        v="**missed**"
    fi
    echo "| $big-VM range until all agents are ready, TCG | ≤ 1.2× the CPU floor | $(printf '%.1f' "$ca") s against a floor of $(printf '%.1f' "$fl") s on 2 cores: $(printf '%.2f' "$q")×$extra | $v |"
fi
echo

# The plot: up time against N for the three tools.
if command -v gnuplot >/dev/null && [ -s "$r/up.tsv" ]; then
    for t in crange virsh vagrant; do awk -F'\t' -v t=$t '$1 == t' "$r/up.tsv" > "$r/plot-$t.tsv"; done
    gnuplot <<GP
set terminal svg size 760,480 dynamic enhanced font "sans,12" background "white"
set output "bench/up-time.svg"
set title "Up time against N (tiny image, TCG, 2 cores)"
set xlabel "VMs (N)"
set ylabel "seconds"
set key top left
set grid
set xrange [0:*]
set yrange [0:*]
plot "$r/plot-crange.tsv" using 2:5 with linespoints lw 2 lc rgb "#1f77b4" pt 7 title "crange: agents ready", \
     "$r/plot-virsh.tsv" using 2:5 with linespoints lw 2 lc rgb "#2ca02c" pt 5 title "serial virsh: agents ready", \
     "$r/plot-vagrant.tsv" using 2:5 with linespoints lw 2 lc rgb "#d62728" pt 9 title "vagrant-libvirt: agents ready", \
     "$r/plot-crange.tsv" using 2:4 with linespoints lw 2 dt 2 lc rgb "#1f77b4" pt 6 title "crange: all running", \
     "$r/plot-virsh.tsv" using 2:4 with linespoints lw 2 dt 2 lc rgb "#2ca02c" pt 4 title "serial virsh: all running", \
     "$r/plot-vagrant.tsv" using 2:4 with linespoints lw 2 dt 2 lc rgb "#d62728" pt 8 title "vagrant-libvirt: all running", \
     "$r/plot-crange.tsv" using 2:7 with lines lw 1 dt 3 lc rgb "black" title "CPU floor (crange's run)"
GP
    rm -f "$r"/plot-*.tsv
fi
