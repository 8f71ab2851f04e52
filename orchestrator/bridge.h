/*
 * bridge.h: what the host does on a range bridge that has no address of its
 * own (an isolated network without DHCP): answer no ARP, take in no packet,
 * and have no IPv6 address, so that a guest cannot reach the host.
 *
 * Why: a bridge without an address still belongs to the host's IP stack.
 * With Linux's defaults (arp_ignore 0) the host answered a guest's ARP for
 * any of its own addresses on the bridge, and a UDP datagram a guest sent
 * there (after `ip route add <host address> dev eth0`, which root in a
 * trainee's VM may do) was delivered to a service listening on the host.
 * arp_ignore 8 answers no ARP on the bridge; rp_filter 1 drops every packet
 * coming in from it (nothing routes back through a bridge without an
 * address); disable_ipv6 removes its link-local address.
 *
 * The settings are the bridge's sysctls, on the host whose libvirtd made the
 * bridge: applied only when that is this host (a local libvirt URI), and
 * again at every `up`, since they go with the bridge.
 */
#ifndef CRANGE_BRIDGE_H
#define CRANGE_BRIDGE_H

#include <stdbool.h>

/* True for a libvirt URI of this host (no host part: qemu:///system). */
bool cr_bridge_uri_is_local(const char *uri);

/* Applies the settings above to the bridge. proc_root is "/proc/sys"
 * (tests pass a folder of their own). A bridge this process cannot see
 * (another network namespace) is warned about and left. */
int cr_bridge_seal(const char *proc_root, const char *bridge);

#endif
