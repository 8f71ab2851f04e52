#!/bin/sh
# crange under valgrind over one short range's life (1 team of the demo):
# up with its instant clones, status, exec, a scoring round, answers,
# events, reports, revert and down. No invalid read or write, no use of
# uninitialised memory, no definite leak, and every libvirt connection
# closed with no reference still held (cr_virt_close warns otherwise).
. "$(dirname "$0")/lib.sh"
track_range vg
command -v valgrind >/dev/null || fail "valgrind is not installed (tests/deps.sh installs it)"

crange image build tiny >/dev/null
n=0
# vg_exit CODE ARGS...: crange ARGS under valgrind, which must exit with CODE
# (valgrind's own errors exit with 99).
vg_exit() {
    want=$1
    shift
    n=$((n + 1))
    rc=0
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite --track-origins=yes --suppressions="$CRANGE_SOURCE/tests/e2e/valgrind.supp" --log-file="$WORK/vg.$n.%p.log" "$CRANGE_BIN" "$@" \
        >"$WORK/vg.$n.out" 2>"$WORK/vg.$n.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$WORK/vg.$n".*.log "$WORK/vg.$n.err" >&2
        fail "valgrind: crange $* exited with $rc, not $want"
    fi
    if grep -q "references still held" "$WORK/vg.$n.err"; then
        cat "$WORK/vg.$n.err" >&2
        fail "crange $*: a libvirt connection was closed with references held"
    fi
    ok "valgrind: crange $1 ${2:-}: clean"
}
vg() { vg_exit 0 "$@"; }
vg up "$DEMO" --name vg --teams 2
vg status vg
vg exec vg 1 attacker -- true
vg run vg --once
tok=$(crange exec vg 1 attacker -- wget -qO- http://10.20.0.20/token.txt)
vg submit vg 1 token "$tok"
vg_exit 1 submit vg 2 token wrong-answer
vg events vg
vg report vg --format json -o "$WORK/report.json"
vg score vg
vg revert vg 2 victim
vg down vg
logs=$(cat "$WORK"/vg.*.log)
[ -z "$logs" ] || { printf '%s\n' "$logs" >&2; fail "valgrind reported errors"; }
ok "valgrind found nothing in $n crange commands"
