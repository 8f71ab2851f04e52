#!/bin/sh
# The "Instant clones" section of BENCHMARKS.md (on stdout), from
# $BENCH_RESULTS/clones.tsv, ksm.tsv, revert.tsv and clones-when.tsv, written by the
# clones part of bench/run.sh (bench/compare.sh, sections clones and revert);
# with the argument "classes", the classes of the incident scenarios from
# classes.tsv (bench/classes.sh) instead.
set -eu
: "${BENCH_RESULTS:?}"
r=$BENCH_RESULTS
field() { awk -F'\t' -v t="$2" -v n="$3" -v c="$4" '$1 == t && $2 == n { print $c }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.1f×", b / a; else printf "n/a" }'; }
if [ "${1:-}" != classes ]; then
echo "## Instant clones: a class from templates instead of boots"
echo
echo "Same private libvirtd, image, poller and columns as the side-by-side table above;"
echo "\`bench/scenarios/flat\` for N/10 teams (10 different VMs a team, so 10 templates). When each size"
echo "was measured, and the load average at its start and end:"
echo
echo "| N | measured | load at the start | at the end |"
echo "|---:|---|---|---|"
awk -F'\t' '{ s = $3; e = $4; sub(/.*load average: /, "", s); sub(/.*load average: /, "", e)
               printf "| %s | %s | %s | %s |\n", $1, $2, s, e }' "$r/clones-when.tsv"
echo
echo "- **crange-boot**: \`crange up … --clone never\`: every VM boots (with its agent waited for)."
echo "- **crange-cold**: \`crange up … --clone auto\` with an empty template cache: the 10 templates boot"
echo "  (each the first team's VM, saved with its memory), then every VM is restored from its template."
echo "- **crange-warm**: the same with the templates already cached (made beforehand, not timed): the"
echo "  second class of the day, or the next \`up\` of the same scenario."
echo "- **virsh**, **vagrant**: the serial virsh script and vagrant-libvirt, as above."
echo "- **demo-boot**, **demo-warm**: a class of the demo (N/3 teams of an attacker, a router and a"
echo "  victim), booted or cloned from cached templates; *tool exits* is every VM provisioned."
echo
echo "| N | tool | tool exits | all running | agents ready | guest CPU to agent (sum) | tool CPU | libvirtd CPU | others' CPU (cores) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '{ printf "| %s | %s | %.1f | %.1f | %s | %.1f | %.1f | %.1f | %s |\n", $2, $1, $3, $4,
    ($11 != "" && $11 + 0 < $2 + 0 ? sprintf("%.1f (%d of %d)", $5, $11, $2) : sprintf("%.1f", $5)), $6, $8, $9,
    ($10 != "" ? sprintf("%.2f", $10) : "?") }' "$r/clones.tsv"
echo
echo "| N | warm clones vs vagrant-libvirt: agents ready | vs serial virsh | vs crange booting | cold clones vs crange booting |"
echo "|---:|---:|---:|---:|---:|"
for n in $(awk -F'\t' '$1 == "crange-warm" { print $2 }' "$r/clones.tsv" | sort -un); do
    w=$(field "$r/clones.tsv" crange-warm "$n" 5) c=$(field "$r/clones.tsv" crange-cold "$n" 5)
    b=$(field "$r/clones.tsv" crange-boot "$n" 5)
    echo "| $n | $(ratio "$w" "$(field "$r/clones.tsv" vagrant "$n" 5)") | $(ratio "$w" "$(field "$r/clones.tsv" virsh "$n" 5)") | $(ratio "$w" "$b") | $(ratio "$c" "$b") |"
done
echo
target() { # tool N limit what
    v=$(field "$r/clones.tsv" "$1" "$2" "${5:-5}")
    [ -n "$v" ] || return 0
    # The CPU the run used until every agent answered (the guests), and in
    # all (crange, libvirtd), spread over the 2 cores: no run on this
    # machine can be faster than that.
    cpu=$(awk -F'\t' -v t="$1" -v n="$2" '$1 == t && $2 == n { c = $6 + $8 + $9 } END { printf "%.1f", c }' "$r/clones.tsv")
    echo "- $4 ≤ $3 s: $(printf '%.1f' "$v") s, $(awk -v x="$v" -v l="$3" 'BEGIN { print (x <= l ? "**met**" : "**missed**") }');" \
        "the CPU it used (the guests to their agents, crange and libvirtd) is $cpu CPU-s, $(awk -v c="$cpu" 'BEGIN { printf "%.1f", c / 2 }') s on 2 cores."
}
echo "Targets (issue 12), with the templates cached:"
echo
target crange-warm 30 15 "30 tiny VMs, all agents ready,"
target crange-warm 100 45 "100 tiny VMs, all agents ready,"
target demo-warm 90 60 "a 30-team class of the demo (90 VMs), \`up\` until every VM is provisioned," 3
echo
if [ -s "$r/revert.tsv" ]; then
    echo "Revert of one VM to its starting point, 5 times each, in a class of N running VMs (N/10 teams of"
    echo "the flat scenario; wall seconds of the whole command): \`crange revert\` restores the VM from its"
    echo "template and applies its team's own steps; the serial virsh script's way is an internal snapshot"
    echo "with memory (made untimed) and \`virsh snapshot-revert\`:"
    echo
    echo "| N | tool | median s | min s | max s |"
    echo "|---:|---|---:|---:|---:|"
    sort -t"$(printf '\t')" -k2,2n -k1,1 -k4,4n "$r/revert.tsv" | awk -F'\t' '
        { k = $2 "\t" $1; v[k, ++c[k]] = $4; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
        END { for (i = 1; i <= m; i++) { k = order[i]; n = c[k]; split(k, a, "\t")
              printf "| %s | %s | %.2f | %.2f | %.2f |\n", a[1], a[2], v[k, int((n + 1) / 2)], v[k, 1], v[k, n] } }'
    echo
    med=$(awk -F'\t' '$1 == "crange" { print $4 }' "$r/revert.tsv" | sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
    [ -z "$med" ] || echo "Target (issue 12): revert of one VM ≤ 2 s: median $(printf '%.2f' "$med") s, $(awk -v x="$med" 'BEGIN { print (x <= 2 ? "**met**" : "**missed**") }')."
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
fi
if [ "${1:-}" = classes ] && [ -s "$r/classes.tsv" ]; then
    echo "### Classes of the incident scenarios, booted and cloned"
    echo
    echo "\`bench/classes.sh\`: \`up\` of a class until every VM is provisioned, booting every VM (\`--clone never\`)"
    echo "and cloning them from cached templates (\`--clone auto\`; the templates and role layers made"
    echo "beforehand, untimed). Memory is the QEMU processes' PSS a team, 20 s after \`up\` returned (a page"
    echo "mapped by n processes counts 1/n in each, so the template RAM file that shared-RAM clones all map"
    echo "counts once), then again once KSM, switched on (\`pages_to_scan\` 4000), stopped sharing more (the"
    echo "host's settings put back). *Teams in 24 GiB* divides 23 GiB (1 GiB left to the host) by a team's"
    echo "memory: booted without KSM, as a host runs them by default, and cloned with KSM. A cloned team's"
    echo "memory leaves out the templates' RAM files that the clones map and have not written (*templates'"
    echo "RAM*, the mappings' PSS less their anonymous pages): every team maps the same files, so a"
    echo "larger class holds them once, and *teams in 24 GiB* takes them from the 23 GiB first."
    echo "Rows measured before 2026-12-06 had RSS only, and KSM on the clones only: they show RSS, and RSS less"
    echo "what KSM shared."
    echo
    echo "| scenario | teams | VMs | up booting s | up cloning s | booting / cloning | a team booted MiB | with KSM | templates' RAM MiB | a team cloned MiB | with KSM | teams in 24 GiB booted | cloned with KSM | ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '
        { k = $1 "\t" $2; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
          up[k, $3] = $4; vms[k] = $5
          if (NF >= 9) { m[k, $3] = $8; mk[k, $3] = $9 } else { m[k, $3] = $6; mk[k, $3] = ($3 == "warm" ? $6 - $7 : 0) }
          tr[k, $3] = (NF >= 10 ? $10 : 0) }
        END { # The booted teams of each scenario in 23 GiB, from its booted class (any size).
              for (i = 1; i <= n; i++) { k = order[i]; split(k, a, "\t")
                  if (m[k, "boot"] > 0) fbs[a[1]] = int(23 * 1024 / (m[k, "boot"] / a[2])) }
              for (i = 1; i <= n; i++) { k = order[i]; split(k, a, "\t"); t = a[2]
              T = tr[k, "warm"]; hb = ((k, "boot") in up); hw = ((k, "warm") in up)
              mb = m[k, "boot"] / t; kb = mk[k, "boot"] / t; mw = (m[k, "warm"] - T) / t; kw = (mk[k, "warm"] - T) / t
              fb = (mb > 0 ? int(23 * 1024 / mb) : 0); fw = (kw > 0 ? int((23 * 1024 - T) / kw) : 0)
              if (hb && !hw) { # the cloned class failed: see bench/notes-clones.md
                  printf "| %s | %d | %d | %.0f | failed | – | %.0f | %s | – | – | – | %d | – | – |\n", a[1], t, vms[k],
                      up[k, "boot"], mb, (kb > 0 ? sprintf("%.0f", kb) : "–"), fb
                  continue }
              if (!hb) { # cloned only: the ratio against the booted class of another size
                  fb = fbs[a[1]]
                  printf "| %s | %d | %d | – | %.0f | – | – | – | %s | %.0f | %.0f | (%s) | %d | %s |\n", a[1], t, vms[k],
                      up[k, "warm"], (T > 0 ? sprintf("%.0f", T) : "–"), mw, kw, (fb > 0 ? fb : "–"), fw,
                      (fb > 0 ? sprintf("%.1f×", fw / fb) : "–") }
              else
                  printf "| %s | %d | %d | %.0f | %.0f | %.1f× | %.0f | %s | %s | %.0f | %.0f | %d | %d | %.1f× |\n", a[1], t, vms[k],
                      up[k, "boot"], up[k, "warm"], (up[k, "warm"] > 0 ? up[k, "boot"] / up[k, "warm"] : 0),
                      mb, (kb > 0 ? sprintf("%.0f", kb) : "–"), (T > 0 ? sprintf("%.0f", T) : "–"), mw, kw, fb, fw, (fb > 0 ? fw / fb : 0)
              # The target takes the cloned class that needs the most memory a team.
              if (a[1] == "cnc-takedown" && fb > 0 && (!("w" in low) || kw > low["k"])) { low["w"] = fw; low["b"] = fb; low["t"] = t; low["k"] = kw } }
              if ("w" in low)
                  printf "\nTarget (issue 12): as many cnc-takedown teams cloned as fit in 24 GiB, at least 3× as many as booted (the cloned class of those measured that needs the most memory a team, %d teams): %d against %d, %.1f×, %s.\n",
                      low["t"], low["w"], low["b"], low["w"] / low["b"], (low["w"] >= 3 * low["b"] ? "**met**" : "**missed**") }' \
        "$r/classes.tsv"
    echo
fi
