# lib.sh: shared by the end-to-end tests. Each test sources it, runs inside
# netns-run.sh (a private libvirtd in its own network and mount namespace),
# and gets a private state folder that is brought down and removed on exit.
set -eu

: "${CRANGE_BIN:?CRANGE_BIN is not set (run through ctest)}"
: "${CRANGE_SOURCE:?CRANGE_SOURCE is not set (run through ctest)}"
command -v jq >/dev/null || { echo "jq is not installed (tests/deps.sh installs it)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/crange-e2e.XXXXXX)
chmod 0755 "$WORK"   # QEMU runs as libvirt-qemu and must reach the images
export CRANGE_STATE=$WORK/state
export CRANGE_ACCEL=${CRANGE_ACCEL:-tcg}
DEMO=$CRANGE_SOURCE/scenarios/demo

# The images built once for the whole e2e run (the e2e.images fixture,
# tests/e2e/images.sh) seed this test's image store as hard links: the test
# starts from built images, and whatever it builds stays its own.
if [ -n "${CRANGE_TEST_IMAGES:-}" ] && [ -d "$CRANGE_TEST_IMAGES" ]; then
    mkdir -p "$CRANGE_STATE/images"
    cp -al "$CRANGE_TEST_IMAGES/." "$CRANGE_STATE/images/" 2>/dev/null ||
        cp -a "$CRANGE_TEST_IMAGES/." "$CRANGE_STATE/images/"
    find "$CRANGE_STATE/images" -maxdepth 2 \( -name '.build-*' -o -name '.lock-*' -o -name '.failed-*' \) \
        -exec rm -rf {} +
fi
RANGES_TO_REMOVE=""

crange() { "$CRANGE_BIN" "$@"; }

# On failure: the console of every VM of the test's ranges whose guest agent
# is not connected, so that CI's log shows why a guest went silent.
dump_silent_consoles() {
    for r in $RANGES_TO_REMOVE; do
        for d in $(virsh -q list --name 2>/dev/null | grep "^crange\.$r\." || true); do
            virsh -q dumpxml "$d" 2>/dev/null | grep -q "guest_agent.0' state='connected'" && continue
            echo "# $d: guest agent not connected; the end of its console:" >&2
            tail -n 40 "/var/log/libvirt/qemu/$d.console.log" 2>/dev/null | sed 's/^/#   /' >&2 || true
        done
    done
}

# On failure: the end of every failed role-layer build's log (apt, the
# builder's steps and the end of its console), for the same reason.
dump_failed_layers() {
    for f in "$CRANGE_STATE"/images/layers/.failed-*.log; do
        [ -f "$f" ] || continue
        echo "# failed layer build, the end of $f:" >&2
        tail -n 80 "$f" | sed 's/^/#   /' >&2
    done
}

cleanup() {
    rc=$?
    [ $rc -eq 0 ] || { dump_silent_consoles; dump_failed_layers; }
    for r in $RANGES_TO_REMOVE; do "$CRANGE_BIN" down "$r" --purge >/dev/null 2>&1 || true; done
    stop_remote_hosts
    rm -rf "$WORK"
    if [ $rc -eq 0 ]; then echo "PASS: $(basename "$0")"; else echo "FAIL: $(basename "$0") (exit $rc)"; fi
}
trap cleanup EXIT

# Simulated remote libvirt hosts: start_remote_host N and the rest.
. "$CRANGE_SOURCE/tests/e2e/remote-hosts.sh"

# A range this test creates; removed on exit whatever happens.
track_range() { RANGES_TO_REMOVE="$RANGES_TO_REMOVE $1"; }

# TEAM's score in RANGE.
team_score() { crange --json score "$1" | jq ".teams[] | select(.team == $2) | .score"; }
# One scoring round of RANGE; a check may take 60 s (guest tools under TCG).
score_round() { crange run "$1" --once --check-timeout 60 >/dev/null 2>&1; }

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

assert_eq() { # expected actual what
    [ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
    ok "$3"
}

assert_contains() { # haystack needle what
    case "$1" in *"$2"*) ok "$3" ;; *) fail "$3: '$2' not in: $1" ;; esac
}

# Runs a command expecting failure; prints its output for the caller.
expect_fail() {
    set +e
    out=$("$@" 2>&1)
    code=$?
    set -e
    [ $code -ne 0 ] || fail "expected failure from: $* (got exit 0: $out)"
    printf '%s' "$out"
    return 0
}

# Runs a command in the host's network namespace (netns-run.sh), for what
# must download: Debian image recipes, role layers' packages.
host_net() { nsenter --net="/proc/self/fd/${CRANGE_TEST_HOSTNET_FD:?not run by netns-run.sh}" "$@"; }

# Number of libvirt objects whose name belongs to range $1.
count_domains() { virsh -q list --all --name | grep -c "^crange\.$1\." || true; }
count_networks() { virsh -q net-list --all --name | grep -c "^crange\.$1\." || true; }
count_pools() { virsh -q pool-list --all --name | grep -c "^crange\.$1\$" || true; }
