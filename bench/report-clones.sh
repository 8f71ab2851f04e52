#!/bin/sh
# The "Instant clones" section of BENCHMARKS.md (on stdout), from
# $BENCH_RESULTS/clones.tsv, ksm.tsv and clones-when.txt, written by the
# clones part of bench/run.sh (bench/compare.sh, section clones).
set -eu
: "${BENCH_RESULTS:?}"
r=$BENCH_RESULTS
field() { awk -F'\t' -v t="$2" -v n="$3" -v c="$4" '$1 == t && $2 == n { print $c }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1f×", b / a; else printf "n/a" }'; }
echo "## Instant clones: a class from templates instead of boots"
echo
echo "Measured $(sed -n 1p "$r/clones-when.txt"); load at the start \`$(sed -n 2p "$r/clones-when.txt")\`, at the end"
echo "\`$(sed -n 3p "$r/clones-when.txt")\`. Same private libvirtd, image, poller and columns as the side-by-side"
echo "table above; \`bench/scenarios/flat\` for N/10 teams (10 different VMs a team, so 10 templates)."
echo
echo "- **crange-boot**: \`crange up … --clone never\`: every VM boots (with its agent waited for)."
echo "- **crange-cold**: \`crange up … --clone auto\` with an empty template cache: the 10 templates boot"
echo "  (each the first team's VM, saved with its memory), then every VM is restored from its template."
echo "- **crange-warm**: the same with the templates already cached (made beforehand, not timed): the"
echo "  second class of the day, or the next \`up\` of the same scenario."
echo "- **virsh**, **vagrant**: the serial virsh script and vagrant-libvirt, as above."
echo
echo "| N | tool | tool exits | all running | agents ready | guest CPU to agent (sum) | tool CPU | libvirtd CPU | others' CPU (cores) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{ printf "| %s | %s | %.1f | %.1f | %s | %.1f | %.1f | %.1f | %s |\n", $2, $1, $3, $4,
    ($11 != "" && $11 + 0 < $2 + 0 ? sprintf("%.1f (%d of %d)", $5, $11, $2) : sprintf("%.1f", $5)), $6, $8, $9,
    ($10 != "" ? sprintf("%.2f", $10) : "?") }' "$r/clones.tsv"
echo
echo "| N | warm clones vs vagrant-libvirt: agents ready | vs serial virsh | vs crange booting | cold clones vs crange booting |"
echo "|---:|---:|---:|---:|---:|"
for n in $(awk -F'\t' '$1 == "crange-warm" { print $2 }' "$r/clones.tsv"); do
    w=$(field "$r/clones.tsv" crange-warm "$n" 5) c=$(field "$r/clones.tsv" crange-cold "$n" 5)
    b=$(field "$r/clones.tsv" crange-boot "$n" 5)
    echo "| $n | $(ratio "$w" "$(field "$r/clones.tsv" vagrant "$n" 5)") | $(ratio "$w" "$(field "$r/clones.tsv" virsh "$n" 5)") | $(ratio "$w" "$b") | $(ratio "$c" "$b") |"
done
echo
n30=$(field "$r/clones.tsv" crange-warm 30 5)
if [ -n "$n30" ]; then
    v=$(awk -v x="$n30" 'BEGIN { print (x <= 15 ? "**met**" : "**missed**") }')
    echo "Target (issue 12): 30 tiny VMs, all agents ready, ≤ 15 s: $(printf '%.1f' "$n30") s with the templates cached, $v;"
    echo "$(printf '%.1f' "$(field "$r/clones.tsv" crange-cold 30 5)") s when the run also makes its 10 templates."
    echo
fi
if [ -s "$r/ksm.tsv" ]; then
    echo "Memory of the N warm clones (\`VmRSS\` of their QEMU processes) with KSM as the host had it, then"
    echo "after 30 s with KSM on (\`pages_to_scan\` 1000); the host's KSM settings were put back afterwards:"
    echo
    echo "| N | KSM | QEMU RSS, MiB | shared by KSM, MiB |"
    echo "|---:|---|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$r/ksm.tsv"
fi
