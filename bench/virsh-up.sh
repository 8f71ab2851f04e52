#!/bin/sh
# The "serial virsh script" side of bench/compare.sh, as CyRIS and many
# home-grown ranges do it: for each network `virsh net-define` and
# `net-start`, then for each VM in a loop `qemu-img create -b` (an overlay
# on the same base disk crange uses), `virsh define` and `virsh start`.
# The domain XML is the one crange writes for the tiny image (same devices,
# kernel, initrd and cmdline); networks are isolated as crange's (no
# <forward>, no host address, no DHCP).
#
# Usage: virsh-up.sh PREFIX N NETS IMAGE_DIR OVERLAY_DIR [--paused]
# With BENCH_STEPS=FILE set, appends one line per VM to FILE:
#   overlay_ms define_ms start_ms total_ms
set -eu
prefix=$1 n=$2 nets=$3 img=$4 dir=$5 paused=${6:-}
cmdline=$(sed -n 's/^cmdline=//p' "$img/image.env")
per=$(( (n + nets - 1) / nets ))
mkdir -p "$dir"
chmod 0755 "$dir"
now() { date +%s%3N; }

k=1
while [ $k -le "$nets" ]; do
    cat > "$dir/net$k.xml" <<XML
<network>
  <name>${prefix}net$k</name>
  <bridge name="vsb$$n$k" stp="off" delay="0"/>
</network>
XML
    virsh -q net-define "$dir/net$k.xml" >/dev/null
    virsh -q net-start "${prefix}net$k" >/dev/null
    k=$((k + 1))
done

i=1
while [ $i -le "$n" ]; do
    net=$(( (i - 1) / per + 1 ))
    host=$(( (i - 1) % per + 11 ))
    mac=$(printf '52:54:00:%02x:%02x:%02x' 0xc0 "$net" "$host")
    name=${prefix}vm$i
    t0=$(now)
    qemu-img create -q -f qcow2 -F qcow2 -b "$img/disk.qcow2" "$dir/$name.qcow2"
    t1=$(now)
    cat > "$dir/$name.xml" <<XML
<domain type="qemu">
  <name>$name</name>
  <memory unit="MiB">128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <kernel>$img/vmlinuz</kernel>
    <initrd>$img/initrd.img</initrd>
    <cmdline>$cmdline crange.hostname=vm$i crange.net=$mac/10.0.$net.$host/24</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset="utc"/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" discard="unmap"/>
      <source file="$dir/$name.qcow2"/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <interface type="network">
      <source network="${prefix}net$net"/>
      <mac address="$mac"/>
      <model type="virtio"/>
    </interface>
    <serial type="pty"><target port="0"/></serial>
    <console type="pty"><target type="serial" port="0"/></console>
    <channel type="unix"><target type="virtio" name="org.qemu.guest_agent.0"/></channel>
    <channel type="unix"><target type="virtio" name="org.crange.actions.0"/></channel>
    <controller type="usb" model="none"/>
    <memballoon model="none"/>
    <rng model="virtio"><backend model="random">/dev/urandom</backend></rng>
  </devices>
</domain>
XML
    virsh -q define "$dir/$name.xml" >/dev/null
    t2=$(now)
    virsh -q start ${paused:+--paused} "$name" >/dev/null
    t3=$(now)
    [ -z "${BENCH_STEPS:-}" ] || echo "$((t1 - t0)) $((t2 - t1)) $((t3 - t2)) $((t3 - t0))" >> "$BENCH_STEPS"
    i=$((i + 1))
done
