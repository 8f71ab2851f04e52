#!/bin/sh
# Runs a command beside a private libvirtd: a new network namespace plus a
# private mount namespace with tmpfs over libvirt's run, state, log and config
# folders and over /run/lock, so that every bridge, tap and VM the command
# makes lives only here.
#
# /run/lock must be private too: libvirtd keeps a lock file there for every
# open console and channel stream (LCK.._var_lib_libvirt_qemu_channel_...),
# naming its PID, and in this PID namespace libvirtd always gets the same PID
# (25). A lock file left on the host by an earlier run therefore looked held
# by the live libvirtd, and the channel could never be opened: in 2 of ~10
# portal test runs, and in CI, no typed command was recorded at all.
# Afterwards the QEMU processes, libvirtd and virtlogd are stopped by PID and
# the namespace is deleted, whatever the command's outcome.
#
# It also makes a PID namespace whose init is our shell, which reaps the
# daemonised QEMU processes as soon as they exit. Without it they are
# reparented to the machine's PID 1, which on these machines reaps slowly, and
# libvirt (which polls the QEMU pid after SIGTERM) takes ~1.4 s per destroy.
#
# Some steps need the host's network: an image recipe that downloads Debian
# packages (debian-12) and the package download of a role layer. For them,
# descriptor 9 stays open on the host's network namespace, and
#   nsenter --net=/proc/self/fd/$CRANGE_TEST_HOSTNET_FD CMD
# (lib.sh: host_net CMD) runs CMD there. Its libvirt connection is a socket
# file of the private libvirtd all the same, so the VMs and bridges it makes
# stay in the private namespace; only CMD itself reaches the network.
#
# libvirtd runs with crange's network hook (orchestrator/hooks/network) in a
# private /etc/libvirt/hooks, as docs/HOSTS.md has every host install it.
#
# CRANGE_TEST_LIBVIRTD_CONF, when set, is the libvirtd.conf to start libvirtd
# with, and CRANGE_TEST_QEMU_CONF the qemu.conf it sees (bind-mounted over
# /etc/libvirt/qemu.conf in the private mount namespace only).
# CRANGE_TEST_LIBVIRTD_LISTEN=1 starts libvirtd with --listen (its TCP
# listener, as set in that conf), and CRANGE_TEST_PRIVATE_DIRS names more
# folders to hide under an empty tmpfs: a second "host" started this way from
# inside a test (lib.sh: start_remote_host) sees none of the test's files.
#
# Usage: netns-run.sh CMD [ARGS...]     (as root)
# The command sees CRANGE_CONNECT=qemu:///system, CRANGE_TEST_NS=<name> and
# CRANGE_TEST_HOSTNET_FD=9.
set -eu

[ "$(id -u)" = 0 ] || { echo "netns-run.sh: must run as root" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: netns-run.sh CMD [ARGS...]" >&2; exit 2; }

ns=crange-t$$
ip netns add "$ns"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

inner=$(cat <<'INNER'
set -u
for d in /run/lock /run/libvirt /var/lib/libvirt /var/log/libvirt /etc/libvirt/qemu /etc/libvirt/storage \
         /etc/libvirt/secrets /etc/libvirt/hooks /var/cache/libvirt; do
    mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d"
done
chmod 1777 /run/lock
for d in ${CRANGE_TEST_PRIVATE_DIRS:-}; do
    mkdir -p "$d" && mount -t tmpfs -o mode=0755 tmpfs "$d"
done
mkdir -p /var/lib/libvirt/qemu /var/lib/libvirt/images /var/log/libvirt/qemu
chown libvirt-qemu:kvm /var/lib/libvirt/qemu 2>/dev/null || true
[ -z "${CRANGE_TEST_QEMU_CONF:-}" ] || mount --bind "$CRANGE_TEST_QEMU_CONF" /etc/libvirt/qemu.conf
# crange's network hook, as docs/HOSTS.md has every host install it.
cp "$CRANGE_TEST_NETWORK_HOOK" /etc/libvirt/hooks/network && chmod 0755 /etc/libvirt/hooks/network
ip link set lo up
pids=/run/libvirt/crange-test
mkdir -p "$pids"
virtlogd -d -p "$pids/virtlogd.pid"
libvirtd -d -p "$pids/libvirtd.pid" ${CRANGE_TEST_LIBVIRTD_CONF:+-f "$CRANGE_TEST_LIBVIRTD_CONF"} \
    ${CRANGE_TEST_LIBVIRTD_LISTEN:+--listen}
i=0
while ! virsh -q -c qemu:///system version >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "netns-run.sh: libvirtd did not come up" >&2; break; }
    sleep 0.1
done
export CRANGE_CONNECT=qemu:///system CRANGE_TEST_NS CRANGE_TEST_HOSTNET_FD=9
"$@"
rc=$?
# Stop every QEMU this libvirtd started, then the daemons, each by PID.
for f in /run/libvirt/qemu/*.pid; do
    [ -r "$f" ] || continue
    kill -9 "$(cat "$f")" 2>/dev/null
done
for f in "$pids/libvirtd.pid" "$pids/virtlogd.pid"; do
    [ -r "$f" ] || continue
    p=$(cat "$f")
    kill "$p" 2>/dev/null
    n=0
    while kill -0 "$p" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
    kill -9 "$p" 2>/dev/null
done
exit $rc
INNER
)
set +e
exec 9</proc/self/ns/net
CRANGE_TEST_NETWORK_HOOK=$(cd "$(dirname "$0")/../.." && pwd)/orchestrator/hooks/network
export CRANGE_TEST_NETWORK_HOOK
CRANGE_TEST_NS=$ns ip netns exec "$ns" unshare --mount --pid --fork --mount-proc --propagation private sh -c "$inner" netns-run "$@"
rc=$?
set -e
exit $rc
