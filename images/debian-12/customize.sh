#!/bin/sh
# customize.sh ROOT HELPER RESEED: mmdebstrap's customize hook for debian-12. Runs
# on the host as root after every package is installed in ROOT.
set -eu
root=${1:?usage: customize.sh ROOT HELPER RESEED}
helper=${2:?usage: customize.sh ROOT HELPER RESEED}
reseed=${3:?usage: customize.sh ROOT HELPER RESEED}
here=$(cd "$(dirname "$0")" && pwd)
in_root() { chroot "$root" "$@"; }

cp -R "$here/rootfs/." "$root/"
chmod 0755 "$root/usr/libexec/crange/"*

# The action log: a system group owns the spool; the helper is setgid to it.
in_root groupadd --system crange
install -o root -g 0 -m 0755 "$helper" "$root/usr/libexec/crange/crange-action"
in_root chgrp crange /usr/libexec/crange/crange-action
chmod 2755 "$root/usr/libexec/crange/crange-action"
install -o root -g 0 -m 0755 "$reseed" "$root/usr/libexec/crange/crange-reseed"
# Every interactive bash, for every user, loads the hook.
printf '\n# crange: record typed commands in the trainee action log.\n[ -r /etc/crange/bash-hook.sh ] && . /etc/crange/bash-hook.sh\n' \
    >> "$root/etc/bash.bashrc"

# Our units on; what a range VM does not need at boot off (a role or a
# scenario turns dnsmasq or nftables on when it wants them).
in_root systemctl enable crange-init.service crange-sshkeys.service >/dev/null
in_root systemctl disable dnsmasq.service nftables.service apt-daily.timer apt-daily-upgrade.timer \
    dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer getty@tty1.service \
    >/dev/null 2>&1 || true
# getty-static starts gettys on tty2-6 when there is no logind: no screen here.
in_root systemctl mask getty-static.service systemd-timesyncd.service >/dev/null 2>&1 || true

# Per-VM identity is made at first boot, not shared by every copy: SSH host
# keys (crange-sshkeys), the machine id (empty: systemd makes one at boot and
# writes it, without the first-boot preset pass that "uninitialized" would
# trigger), the random seed.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed"
echo debian > "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
