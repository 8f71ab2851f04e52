/*
 * clone.h: the domain XML of an instant clone (issue 12). A clone is
 * restored from its template's memory image, so QEMU's devices must be the
 * template's, exactly: the same machine type, PCI slots, virtio-serial ports
 * and NIC models, as libvirt recorded them when it saved the template. What
 * makes the clone a VM of its own team comes from the XML crange generates
 * for that team's VM (cr_xml_domain): its name, metadata (range, team and
 * the digest `up` compares), disk sources (its overlay on the template's
 * disk), NIC networks and MACs, console log, and kernel command line (not
 * part of QEMU's migrated state: it only matters when the clone boots cold
 * later, and then it must be the clone's own). No UUID is carried over, so
 * libvirt gives the clone a new one.
 *
 * The guest inside keeps the template's MACs until crange resets them
 * through the agent (template.h); QEMU's virtio-net state, which names the
 * MAC the guest sees, comes from the memory image.
 */
#ifndef CRANGE_CLONE_H
#define CRANGE_CLONE_H

#include <stdbool.h>
#include <stddef.h>

/* *out (new string, the caller frees) is template_xml with the identity of
 * identity_xml. Both must describe the same devices: as many disks and NICs,
 * in the same order; CR_EINVAL names what differs. */
int cr_clone_xml(char **out, const char *template_xml, const char *identity_xml);

/* The XML a template is booted from: xml (a VM's own) under another name,
 * with its consoles logged to console_log, its NICs unattached taps (type
 * ethernet: the team whose VM it copies may be running on its networks),
 * and without UUID or metadata, so that no range claims it. */
int cr_clone_template_xml(char **out, const char *xml, const char *name, const char *console_log);

/* The MACs of xml's NICs, in order: *out is a NULL-terminated array of n new
 * strings (free each and the array). */
int cr_clone_macs(char ***out, size_t *n, const char *xml);

/* *out (new string) is xml with crange's QEMU arguments for guest RAM
 * mapped from the file `ram` (mib MiB) in place of libvirt's anonymous
 * memory (template.h: shared RAM). With share, the guest's writes go to the
 * file (a template, before its save); without, they stay in the process,
 * copy-on-write (a clone). qmp names the socket where QEMU waits for
 * qmp.h's monitor, or is NULL (a persistent definition: nothing must wait
 * at its later starts). A NULL ram removes the arguments. */
int cr_clone_ram_xml(char **out, const char *xml, const char *ram, unsigned mib, bool share, const char *qmp);

/* *out (new string) is xml with TCG's translation cache set to mib MiB
 * (virt.h): a domain without one (KVM) comes back unchanged. A clone is
 * restored with the smaller cache: it does not boot, so it translates only
 * what it runs from then on (a tiny clone about 24 MiB in its first 20 s;
 * a debian-12 clone held 257-262 MiB of PSS with 32 MiB against 292-300
 * with 64, its guest CPU after the restore unchanged: bench/notes-clones.md),
 * while a boot with 32 cost a debian-12 guest 40-42 CPU-s against 35-36.
 * So its persistent definition keeps the booting size, for a later cold
 * start. */
int cr_clone_tb_cache(char **out, const char *xml, unsigned mib);

#endif
