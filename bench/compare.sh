#!/bin/sh
# Side-by-side benchmarks (issue: benchmarks side by side): crange against
# vagrant-libvirt and a serial virsh script, in one run, on one private
# libvirtd (this script runs inside tests/e2e/netns-run.sh), with the same
# tiny image and the same N VMs on isolated networks, 10 VMs a network.
#
# Writes raw results under $BENCH_RESULTS (bench/report.sh turns them into
# Markdown and a plot):
#   up.tsv         tool N tool_exit_s all_running_s all_ready_s boot_cpu_sum_s cpu_floor_s
#                  tool_cpu_s libvirtd_cpu_s others_cores agents_ready
#                  (when fewer than N agents answered, all_ready_s is the last
#                  one's time and boot CPU and floor cover those that did)
#   control.tsv    tool jobs N wall_s p50_ms p95_ms max_ms tool_cpu_s libvirtd_cpu_s
#   steps.tsv      virsh script per VM: overlay_ms define_ms start_ms total_ms
#   down.tsv       N networks up_s down_s domains networks pools (left after down)
#   scale.tsv      N seconds peak_rss_kib
#   checks.tsv     run checks seconds p50_ms p95_ms max_ms
#   clones.tsv     as up.tsv, for instant clones against booting: crange
#                  (booting, --clone never), crange-cold (templates made in
#                  the run), crange-warm (templates cached), virsh, vagrant
#                  demo-boot, demo-warm: the same for a class of the demo
#                  (N/3 teams of 3 VMs), until every VM is provisioned
#   ksm.tsv        N ksm qemu_rss_mib ksm_shared_mib (warm clones, KSM as
#                  found, then on; the host's settings are put back)
#   revert.tsv     tool N run seconds (section revert: one VM of a class of
#                  N back to its starting point: crange revert against
#                  virsh snapshot-revert of an internal snapshot with memory)
#   clones-when.tsv  N date load_start load_end (one line a size)
# BENCH_SECTIONS picks sections (default: "up control down scale checks"; "clones"
# and "revert" are bench/run.sh's clones part);
# BENCH_NS the sizes of the up comparison (default "10 50 100"), BENCH_TOOLS
# its tools (default "crange virsh vagrant").
set -eu
: "${CRANGE_BIN:?}" "${CRANGE_SOURCE:?}" "${BENCH_RESULTS:?}" "${BENCH_WAIT:?}"
sections=${BENCH_SECTIONS:-up control down scale checks}
sizes=${BENCH_NS:-10 50 100}
work=$(mktemp -d /tmp/crange-bench.XXXXXX)
chmod 0755 "$work"
export CRANGE_STATE=$work/state CRANGE_ACCEL=tcg
export VAGRANT_HOME=$work/vagrant.d VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_DEFAULT_PROVIDER=libvirt
trap 'wipe >/dev/null 2>&1; rm -rf "$work"' EXIT
mkdir -p "$BENCH_RESULTS"
b=$CRANGE_BIN
flat=$CRANGE_SOURCE/bench/scenarios/flat
demo=$CRANGE_SOURCE/scenarios/demo
$b image build tiny >/dev/null 2>&1
img=$CRANGE_STATE/images/tiny
base_cmdline=$(sed -n 's/^cmdline=//p' "$img/image.env")

now() { date +%s%3N; }
# CPU seconds (user + system) libvirtd has used so far; netns-run.sh keeps
# its PID there.
lvcpu() {
    p=$(cat /run/libvirt/crange-test/libvirtd.pid 2>/dev/null) &&
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null || echo 0
}
# CPU seconds of a command and its children, from /usr/bin/time -o FILE.
cpu_of() { tail -n 1 "$1" | awk '{ printf "%.2f", $1 + $2 }'; }
timed() { /usr/bin/time -f '%U %S' -o "$work/cpu.txt" "$@"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
log() { echo "bench: $*" >&2; }

# Removes every domain, network, volume and storage pool of this private
# libvirtd and the crange state, in parallel; not timed.
wipe() (
    set +e
    for r in $(ls "$CRANGE_STATE/ranges" 2>/dev/null); do $b down "$r" --purge >/dev/null 2>&1 || true; done
    virsh -q list --all --name | grep . | xargs -r -P 8 -I{} sh -c 'virsh -q destroy "{}"; virsh -q undefine --nvram "{}"' >/dev/null 2>&1 || true
    virsh -q net-list --all --name | grep . | xargs -r -P 8 -I{} sh -c 'virsh -q net-destroy "{}"; virsh -q net-undefine "{}"' >/dev/null 2>&1 || true
    # Only pools of ours: /etc/libvirt/storage is the host's (netns-run.sh
    # does not cover it), so other runs' pools may show here too.
    for p in $(virsh -q pool-list --all --name); do
        [ "$p" = default ] || virsh -q pool-dumpxml "$p" 2>/dev/null | grep -q "<path>$work/" || continue
        for v in $(virsh -q vol-list "$p" 2>/dev/null | awk '{print $1}'); do virsh -q vol-delete --pool "$p" "$v" >/dev/null 2>&1; done
        virsh -q pool-destroy "$p" >/dev/null 2>&1; virsh -q pool-undefine "$p" >/dev/null 2>&1
    done
    rm -rf "$work/virsh" "$work/vagrant" "$VAGRANT_HOME"
)

# Lets the machine settle after a teardown (QEMU processes exiting, page
# cache); a fixed pause, since the load average also counts other people's
# work on this shared machine.
settle() {
    sleep "${BENCH_SETTLE_S:-10}"
}

# Domains, networks and storage pools of range $1 that libvirt still lists.
count_left() {
    echo "$(virsh -q list --all --name | grep -c "^crange\.$1\." || true) $(virsh -q net-list --all --name | grep -c "^crange\.$1\." || true) $(virsh -q pool-list --all --name | grep -c "^crange\.$1\$" || true)"
}

# Runs one tool's up of N VMs beside the poller; appends to up.tsv.
up_one() { # tool N
    tool=$1 n=$2 nets=$(( ($2 + 9) / 10 ))
    log "up: $tool, $n VMs on $nets networks"
    out=${UP_TSV:-$BENCH_RESULTS/up.tsv}
    case $tool in crange*|demo*) prefix=crange.u$n. ;; virsh) prefix=vs$n. ;; vagrant) prefix=vg$n. ;; esac
    case $tool in
    crange-cold) rm -rf "$CRANGE_STATE/templates" ;;
    crange-warm|demo-warm) # the templates, made beforehand and not timed
        rm -rf "$CRANGE_STATE/templates"
        # The demo has per-team values (its token, the trainee's password):
        # with one team every step counts as shared, so its templates would
        # not be a class's, and the timed up would make them again. Two teams
        # draw different values, as a class does.
        case $tool in crange-warm) s=$flat wt=1 ;; *) s=$demo wt=2 ;; esac
        $b up "$s" --name warm --teams $wt --clone always >/dev/null 2>&1 || log "making the templates failed"
        $b down warm --purge >/dev/null 2>&1 ;;
    esac
    if [ "$tool" = vagrant ]; then
        # Transient, so that nothing is written to /etc/libvirt/storage,
        # which the private libvirtd shares with the host.
        virsh -q pool-create-as default dir --target /var/lib/libvirt/images >/dev/null
        mkdir -p "$work/vagrant"
        cp "$CRANGE_SOURCE/bench/vagrant/Vagrantfile" "$work/vagrant/"
    fi
    l0=$(lvcpu)
    t0=$(now)
    "$BENCH_WAIT" --t0 "$t0" --timeout $((300 + 10 * n)) "$prefix" "$n" > "$work/wait.json" &
    wp=$!
    case $tool in
    crange) timed $b up "$flat" --name u$n --teams $nets --no-provision --clone never >"$work/tool.log" 2>&1 ;;
    crange-boot) timed $b up "$flat" --name u$n --teams $nets --clone never >"$work/tool.log" 2>&1 ;;
    crange-cold|crange-warm) timed $b up "$flat" --name u$n --teams $nets --clone auto >"$work/tool.log" 2>&1 ;;
    demo-boot) timed $b up "$demo" --name u$n --teams $((n / 3)) --clone never >"$work/tool.log" 2>&1 ;;
    demo-warm) timed $b up "$demo" --name u$n --teams $((n / 3)) --clone auto >"$work/tool.log" 2>&1 ;;
    virsh) timed sh "$CRANGE_SOURCE/bench/virsh-up.sh" "$prefix" "$n" "$nets" "$img" "$work/virsh" >"$work/tool.log" 2>&1 ;;
    vagrant) (cd "$work/vagrant" && export BENCH_N=$n BENCH_NETS=$nets BENCH_PREFIX=$prefix BENCH_KERNEL=$img/vmlinuz \
              BENCH_INITRD=$img/initrd.img BENCH_CMDLINE="$base_cmdline" &&
              timed vagrant up --parallel --provider libvirt >"$work/tool.log" 2>&1) ;;
    esac || { log "$tool failed:"; tail -n 20 "$work/tool.log" >&2; }
    t1=$(now)
    wait $wp || log "$tool: not every agent answered"
    w=$work/wait.json
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$n" "$(secs "$t0" "$t1")" "$(jq .all_running_s "$w")" \
        "$(jq .last_ready_s "$w")" "$(jq .boot_cpu_s_sum "$w")" "$(jq .cpu_floor_s "$w")" "$(cpu_of "$work/cpu.txt")" \
        "$(awk -v a="$l0" -v b="$(lvcpu)" 'BEGIN { printf "%.2f", b - a }')" "$(jq .others_cores "$w")" "$(jq .ready "$w")" \
        >> "$out"
    tail -n 1 "$out" >&2
    [ "$tool" != crange-warm ] || ksm_measure "$n"
    wipe
    settle
}

# Revert of one VM to its starting point, 5 times, in a class of N VMs
# (N/10 teams of the flat scenario, all running): crange revert (a restore
# from the VM's template, then its own steps) against the serial virsh
# script's way, an internal snapshot with memory (made untimed) and virsh
# snapshot-revert. Wall seconds of the whole command; revert.tsv is
# rewritten.
section_revert() {
    n=${BENCH_REVERT_N:-30}
    : > "$BENCH_RESULTS/revert.tsv"
    rm -rf "$CRANGE_STATE/templates"
    $b up "$flat" --name warm --teams 1 --clone always >/dev/null 2>&1 || log "making the templates failed"
    $b down warm --purge >/dev/null 2>&1
    log "revert: crange, one VM of $n"
    $b up "$flat" --name rv --teams $((n / 10)) --clone auto >/dev/null 2>&1 || log "crange up failed"
    settle
    for r in 1 2 3 4 5; do
        t0=$(now); $b revert rv 2 vm1 >/dev/null 2>&1 || log "crange revert failed"; t1=$(now)
        printf 'crange\t%s\t%s\t%s\n' "$n" "$r" "$(secs "$t0" "$t1")" >> "$BENCH_RESULTS/revert.tsv"
    done
    wipe
    settle
    log "revert: virsh snapshot-revert, one VM of $n"
    sh "$CRANGE_SOURCE/bench/virsh-up.sh" vr. "$n" $((n / 10)) "$img" "$work/virsh" >/dev/null 2>&1 || log "virsh-up failed"
    "$BENCH_WAIT" --timeout $((300 + 10 * n)) vr. "$n" >/dev/null || log "not every agent answered"
    virsh -q snapshot-create-as vr.vm11 s0 >/dev/null 2>&1 || log "virsh snapshot failed"
    for r in 1 2 3 4 5; do
        t0=$(now); virsh -q snapshot-revert vr.vm11 s0 >/dev/null 2>&1 || log "virsh snapshot-revert failed"; t1=$(now)
        printf 'virsh\t%s\t%s\t%s\n' "$n" "$r" "$(secs "$t0" "$t1")" >> "$BENCH_RESULTS/revert.tsv"
    done
    virsh -q snapshot-delete vr.vm11 s0 >/dev/null 2>&1 || true
    wipe
    cat "$BENCH_RESULTS/revert.tsv" >&2
}

# Memory of the warm clones just brought up: the QEMU processes' RSS with
# KSM as the host has it, then with KSM on (pages_to_scan 1000) after 30 s;
# the host's KSM settings are put back as they were.
ksm_measure() { # N
    k=/sys/kernel/mm/ksm
    [ -w "$k/run" ] || { log "no KSM here"; return 0; }
    rss() { for f in /run/libvirt/qemu/*.pid; do cat "/proc/$(cat "$f")/status" 2>/dev/null; done |
            awk '/^VmRSS/ { s += $2 } END { printf "%.0f", s / 1024 }'; }
    shared() { awk -v p="$(getconf PAGESIZE)" '{ printf "%.0f", $1 * p / 1048576 }' "$k/pages_sharing"; }
    run0=$(cat "$k/run") scan0=$(cat "$k/pages_to_scan")
    printf '%s\t%s\t%s\t%s\n' "$1" "as-found-$run0" "$(rss)" "$(shared)" >> "$BENCH_RESULTS/ksm.tsv"
    echo 1000 > "$k/pages_to_scan"; echo 1 > "$k/run"
    sleep "${BENCH_KSM_S:-30}"
    printf '%s\t%s\t%s\t%s\n' "$1" "on-30s" "$(rss)" "$(shared)" >> "$BENCH_RESULTS/ksm.tsv"
    echo "$scan0" > "$k/pages_to_scan"; echo "$run0" > "$k/run"
    tail -n 2 "$BENCH_RESULTS/ksm.tsv" >&2
}

section_up() {
    : > "$BENCH_RESULTS/up.tsv"
    for n in $sizes; do
        for tool in ${BENCH_TOOLS:-crange virsh vagrant}; do up_one $tool "$n"; done
    done
}

# Instant clones (issue 12) against booting, for a class-sized range:
# every tool up to all agents ready, as in section_up.
# Sizes measured again replace their old rows; other sizes' rows stay.
section_clones() {
    for n in ${BENCH_CLONE_NS:-30}; do
        tools=${BENCH_CLONE_TOOLS:-crange-boot crange-cold crange-warm virsh vagrant}
        for f in clones ksm clones-when; do
            touch "$BENCH_RESULTS/$f.tsv"
            awk -F'\t' -v n="$n" -v t=" $tools " -v f="$f" \
                '!((f == "ksm" || f == "clones-when" ? $1 : $2) == n && (f == "ksm" || f == "clones-when" || index(t, " " $1 " ")))' \
                "$BENCH_RESULTS/$f.tsv" > "$work/keep" && cat "$work/keep" > "$BENCH_RESULTS/$f.tsv"
        done
        when="$n\t$(date -u +%Y-%m-%dT%H:%MZ)\t$(uptime | sed 's/^ *//')"
        for tool in $tools; do
            UP_TSV=$BENCH_RESULTS/clones.tsv up_one "$tool" "$n"
        done
        printf '%b\t%s\n' "$when" "$(uptime | sed 's/^ *//')" >> "$BENCH_RESULTS/clones-when.tsv"
    done
}

# Control plane per VM with guests started paused: crange (default workers,
# and one worker), and the serial virsh script's own steps.
section_control() {
    n=${BENCH_CONTROL_N:-100}
    teams=$(( n / 10 ))
    : > "$BENCH_RESULTS/control.tsv"
    : > "$BENCH_RESULTS/steps.tsv"
    for j in ${BENCH_CONTROL_JOBS:-8 1}; do
        log "control plane: crange --jobs $j, $n VMs paused"
        l0=$(lvcpu)
        timed $b --json --jobs "$j" up "$flat" --name c$j --teams $teams --paused > "$work/up.json" 2>"$work/tool.log" ||
            { log "crange up failed"; tail -n 20 "$work/tool.log" >&2; }
        l1=$(lvcpu)
        jq -r --arg j "$j" --arg n "$n" --arg cpu "$(cpu_of "$work/cpu.txt")" --arg lv "$(awk -v a="$l0" -v b="$l1" 'BEGIN { print b - a }')" \
            '["crange", $j, $n, .seconds, .control_plane_ms.p50, .control_plane_ms.p95, .control_plane_ms.max, $cpu, $lv] | @tsv' \
            "$work/up.json" >> "$BENCH_RESULTS/control.tsv"
        tail -n 1 "$BENCH_RESULTS/control.tsv" >&2
        wipe
        settle
    done
    log "control plane: serial virsh script, $n VMs paused"
    l0=$(lvcpu)
    t0=$(now)
    BENCH_STEPS=$BENCH_RESULTS/steps.tsv timed sh "$CRANGE_SOURCE/bench/virsh-up.sh" vc. "$n" "$teams" "$img" "$work/virsh" --paused
    t1=$(now)
    l1=$(lvcpu)
    sort -n -k4 "$BENCH_RESULTS/steps.tsv" | awk -v n="$n" -v wall="$(secs "$t0" "$t1")" -v cpu="$(cpu_of "$work/cpu.txt")" -v lv="$(awk -v a="$l0" -v b="$l1" 'BEGIN { print b - a }')" '
        { t[NR] = $4 } END { printf "virsh\t1\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", n, wall, t[int((NR - 1) / 2) + 1], t[int((NR - 1) * 0.95 + 0.5) + 1], t[NR], cpu, lv }' \
        >> "$BENCH_RESULTS/control.tsv"
    tail -n 1 "$BENCH_RESULTS/control.tsv" >&2
    wipe
    settle
}

# Down of 250 VMs (paused) and their 25 networks; leftovers are what
# virsh list --all, net-list --all and pool-list --all still name after the
# range.
section_down() {
    n=${BENCH_DOWN_N:-250}
    log "down: $n VMs paused"
    $b --json up "$flat" --name d --teams $(( n / 10 )) --paused > "$work/up.json" 2>"$work/tool.log" ||
        { log "crange up failed"; tail -n 20 "$work/tool.log" >&2; }
    settle
    $b --json down d --purge > "$work/down.json" 2>"$work/tool.log" || { log "crange down failed"; tail -n 20 "$work/tool.log" >&2; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$(( n / 10 ))" "$(jq .seconds "$work/up.json")" "$(jq .seconds "$work/down.json")" \
        "$(count_left d | tr ' ' '\t')" > "$BENCH_RESULTS/down.tsv"
    cat "$BENCH_RESULTS/down.tsv" >&2
    wipe
}

# 1,000 VMs against libvirt's test driver (no QEMU, no guest): one crange
# process, whose test-driver state is its own, so up is the whole test.
section_scale() {
    n=${BENCH_SCALE_N:-1000}
    log "scale: $n VMs on test:///default"
    /usr/bin/time -v -o "$work/time.txt" $b --json --connect test:///default up "$flat" --name s --teams $(( n / 10 )) \
        --no-provision > "$work/up.json" 2>"$work/tool.log" || { log "crange up failed"; tail -n 20 "$work/tool.log" >&2; }
    printf '%s\t%s\t%s\n' "$n" "$(jq .seconds "$work/up.json")" \
        "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")" > "$BENCH_RESULTS/scale.tsv"
    cat "$BENCH_RESULTS/scale.tsv" >&2
    rm -rf "$CRANGE_STATE/ranges/s" "$CRANGE_STATE/overlays/s"
}

# Checks through the guest agent: the demo with 8 teams, teams 1 to 4
# solved (so their checks run past the prerequisites), then rounds of
# `crange run --once`.
section_checks() {
    teams=${BENCH_CHECK_TEAMS:-8}
    log "checks: demo with $teams teams"
    $b up "$CRANGE_SOURCE/scenarios/demo" --name k --teams "$teams" >"$work/tool.log" 2>&1 ||
        { log "crange up failed"; tail -n 20 "$work/tool.log" >&2; }
    for t in 1 2 3 4; do $b solve k $t >/dev/null 2>&1 || log "solve team $t failed"; done
    : > "$BENCH_RESULTS/checks.tsv"
    for r in 1 2 3 4 5; do
        $b --json run k --once > "$work/run.json" 2>"$work/tool.log" || { log "run failed"; tail -n 5 "$work/tool.log" >&2; }
        jq -r --arg r "$r" '[$r, .checks, .seconds, .check_ms.p50, .check_ms.p95, .check_ms.max] | @tsv' "$work/run.json" \
            >> "$BENCH_RESULTS/checks.tsv"
    done
    cat "$BENCH_RESULTS/checks.tsv" >&2
    wipe
}

# This libvirtd's capability cache is an empty tmpfs: it probes QEMU (a
# QEMU process and ~1 s of its own CPU) when first asked. Asked here, untimed,
# so that the first tool measured does not pay for it.
virsh -q domcapabilities --virttype qemu >/dev/null 2>&1 || log "virsh domcapabilities failed"

uptime >&2
for s in $sections; do "section_$s"; done
