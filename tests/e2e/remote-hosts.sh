# remote-hosts.sh: simulated remote libvirt hosts for tests/e2e/test_hosts.sh
# and bench/hosts.sh (sourced; the caller defines WORK, its private folder,
# and fail). Each host is a libvirtd started by netns-run.sh (nested) in a
# network, mount and PID namespace of its own, with a tmpfs over WORK so that
# it sees none of the caller's files, listening on qemu+tcp:// over a veth
# pair: host N is 10.77.N.2, reached through 10.77.N.1.
# stop_remote_hosts stops them (by their netns-run.sh PIDs, which stop their
# QEMU processes and daemons by PID).

REMOTE_HOSTS_DIR=$(mktemp -d /tmp/crange-hosts.XXXXXX)
REMOTE_HOST_PIDS=""

# start_remote_host N: host number N (1..200) at 10.77.N.2, reached from here
# through 10.77.N.1; sets REMOTE_URI to its URI. Not in a $(...): the host's
# process must stay this shell's child.
start_remote_host() {
    n=$1
    conf=$REMOTE_HOSTS_DIR/libvirtd-$n.conf
    printf 'listen_tls = 0\nlisten_tcp = 1\nlisten_addr = "0.0.0.0"\nauth_tcp = "none"\n' >"$conf"
    CRANGE_TEST_LIBVIRTD_CONF=$conf CRANGE_TEST_LIBVIRTD_LISTEN=1 CRANGE_TEST_PRIVATE_DIRS="$WORK" \
        "$CRANGE_SOURCE/tests/e2e/netns-run.sh" sh -c \
        'touch "$1"; while [ ! -e "$2" ]; do sleep 0.2; done' host "$REMOTE_HOSTS_DIR/ready-$n" \
        "$REMOTE_HOSTS_DIR/stop-$n" >"$REMOTE_HOSTS_DIR/log-$n" 2>&1 &
    pid=$!
    REMOTE_HOST_PIDS="$REMOTE_HOST_PIDS $n:$pid"
    i=0
    while [ ! -e "$REMOTE_HOSTS_DIR/ready-$n" ]; do
        i=$((i + 1))
        [ $i -lt 300 ] || { cat "$REMOTE_HOSTS_DIR/log-$n" >&2; fail "remote host $n did not start"; }
        sleep 0.1
    done
    ns=crange-t$pid
    ip link add "crh$n" type veth peer name eth0 netns "$ns"
    ip addr add "10.77.$n.1/24" dev "crh$n"
    ip link set "crh$n" up
    ip -n "$ns" addr add "10.77.$n.2/24" dev eth0
    ip -n "$ns" link set eth0 up
    # Its libvirtd listens on every address of its namespace: ask until
    # it answers over the link.
    i=0
    while ! virsh -q -c "qemu+tcp://10.77.$n.2/system" version >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "remote host $n: libvirtd does not answer on qemu+tcp://10.77.$n.2/system"
        sleep 0.2
    done
    REMOTE_URI="qemu+tcp://10.77.$n.2/system"
}

# The PIDs (as this namespace sees them) of processes named $2 in remote
# host $1's network namespace.
# Both succeed whatever they find (a caller runs under set -e).
remote_pids() {
    for p in $(pgrep -x "$2" || true); do
        if [ "$(ip netns identify "$p" 2>/dev/null)" = "$(remote_ns "$1")" ]; then echo "$p"; fi
    done
}
remote_ns() {
    for e in $REMOTE_HOST_PIDS; do
        if [ "${e%%:*}" = "$1" ]; then echo "crange-t${e#*:}"; fi
    done
}

# kill_remote_libvirtd N: host N's libvirtd dies (SIGKILL, by PID); its VMs
# keep running, as on a host whose daemon crashed.
kill_remote_libvirtd() {
    pids=$(remote_pids "$1" libvirtd)
    [ -n "$pids" ] || fail "remote host $1 has no libvirtd to kill"
    kill -9 $pids
}

# restart_remote_libvirtd N: a new libvirtd in host N's namespaces, as its
# init would start; it finds the running VMs again.
restart_remote_libvirtd() {
    sh_pid=$(remote_pids "$1" sh | head -n 1)
    [ -n "$sh_pid" ] || fail "remote host $1's namespace has no shell to start libvirtd from"
    nsenter -t "$sh_pid" -m -n -p -- libvirtd -d -p /run/libvirt/crange-test/libvirtd.pid \
        -f "$REMOTE_HOSTS_DIR/libvirtd-$1.conf" --listen
    i=0
    while ! virsh -q -c "qemu+tcp://10.77.$1.2/system" version >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "remote host $1: the new libvirtd does not answer"
        sleep 0.2
    done
}

stop_remote_hosts() {
    for e in $REMOTE_HOST_PIDS; do
        touch "$REMOTE_HOSTS_DIR/stop-${e%%:*}"
    done
    for e in $REMOTE_HOST_PIDS; do
        wait "${e#*:}" 2>/dev/null || true
    done
    REMOTE_HOST_PIDS=""
    rm -rf "$REMOTE_HOSTS_DIR"
}

