/*
 * hosts.h: the libvirt hosts an exercise may spread over (`crange host
 * add|list|remove`), kept in <state>/hosts.json, and the placement of teams
 * on them by capacity.
 *
 * A host is a name and a libvirt URI (qemu:///system, qemu+ssh://…,
 * qemu+tls://…, qemu+tcp://… in tests); crange runs no agent of its own on
 * it. Its capacity is what `host add --memory/--cpus` declared, else what
 * libvirt reports (virNodeGetInfo) when placement asks.
 *
 * hosts.json is written atomically by this module only, but is read as
 * untrusted text: a bad file gives one error naming it, never a crash.
 *
 * Ownership: a cr_hosts owns its hosts and their strings; cr_hosts_free
 * accepts NULL fields. Errors follow err.h.
 */
#ifndef CRANGE_HOSTS_H
#define CRANGE_HOSTS_H

#include "model.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_HOST_NAME_MAX 32
#define CR_HOSTS_MAX 64

typedef struct cr_host {
    char *name;
    char *uri;
    uint64_t memory_mib; /* declared; 0: ask libvirt */
    unsigned cpus;       /* declared; 0: ask libvirt */
    char *address;       /* IPv4 address the other hosts reach it at, for VXLAN; NULL: none */
    json_t *labels;      /* object of label -> string value, owned */
} cr_host;

typedef struct cr_hosts {
    cr_host *v;
    size_t n;
} cr_hosts;

/* Reads <state>/hosts.json; a missing file is no hosts. */
int cr_hosts_load(cr_hosts *out, const char *state_dir);
/* Writes <state>/hosts.json atomically. */
int cr_hosts_save(const cr_hosts *h, const char *state_dir);
void cr_hosts_free(cr_hosts *h);

/* Adds a host (the name, URI and address checked; labels as "K=V"
 * strings; address may be NULL). An existing name is CR_EEXISTS; so is a
 * URI another host already has. */
int cr_hosts_add(cr_hosts *h, const char *name, const char *uri, uint64_t memory_mib, unsigned cpus,
                 const char *address, const char *const *labels, size_t n_labels);
/* Removes a host by name (CR_ENOTFOUND when there is none). */
int cr_hosts_remove(cr_hosts *h, const char *name);
/* The host of that name, or NULL. */
const cr_host *cr_hosts_find(const cr_hosts *h, const char *name);

/*
 * The URIs of a --hosts value: "all" (every host added), or names
 * separated by commas, each an added host. *out is a new array of new
 * strings (free with cr_strv_free), in the order given.
 */
int cr_hosts_select(char ***out, size_t *n, const cr_hosts *h, const char *spec);
void cr_strv_free(char **v, size_t n);

/* One host as placement sees it. */
typedef struct cr_place_host {
    const char *uri;     /* borrowed */
    uint64_t memory_mib; /* capacity */
    unsigned cpus;
    uint64_t used_mib;   /* already taken (filled by cr_place_vms) */
    unsigned used_vcpus;
} cr_place_host;

/* What one team of the scenario needs on its host: its VMs' memory plus
 * QEMU's own per VM (CR_PLACE_VM_OVERHEAD_MIB), and their vCPUs. */
uint64_t cr_place_team_mib(const cr_team_model *tm);
unsigned cr_place_team_vcpus(const cr_team_model *tm);
#define CR_PLACE_VM_OVERHEAD_MIB 64
#define CR_PLACE_HOST_RESERVE_MIB 1024 /* for the host itself and libvirtd */
#define CR_PLACE_VCPU_PER_CPU 8       /* vCPUs a host CPU counts for: guests idle most of the time */

/* The VMs of the scenario, every team's: the length of cr_place_vms's
 * arrays, which count VMs team by team in the scenario's order. */
size_t cr_place_vm_count(const cr_scenario *s);

/*
 * Places each VM of s on a host: vm_host[i] gets an index into hosts, i
 * counting the VMs team by team. keep, when not NULL, is laid out alike:
 * keep[i] >= 0 is where VM i already lives, and it stays there (reconcile
 * never moves a running VM). Then, team by team:
 *   - a spread scenario's team goes round-robin, VM v on host (home + v)
 *     mod n_hosts, home being its first kept VM's host or team t's t mod
 *     n_hosts (plan.h); the hosts' memory is checked for the total;
 *   - another team with no VM placed goes whole to the host least loaded
 *     after it among those with its memory free (capacity less
 *     CR_PLACE_HOST_RESERVE_MIB): load is the larger of memory taken and
 *     vCPUs taken (against CR_PLACE_VCPU_PER_CPU per CPU), each as a share,
 *     so hosts fill in proportion to what they offer; ties go to the
 *     earlier host;
 *   - a team no host holds whole, or one with some VMs placed already,
 *     spreads: its remaining VMs, largest first, each to a host with room,
 *     hosts the team already uses first, then the least loaded. Its
 *     networks are then joined by VXLAN like a spread scenario's.
 * vCPUs are never a hard limit (TCG guests idle; one host takes any
 * number, as before hosts existed). A VM that fits nowhere is CR_ELIMIT,
 * the message saying what it needs and what each host has left.
 */
int cr_place_vms(int *vm_host, const cr_scenario *s, cr_place_host *hosts, size_t n_hosts, const int *keep);

#endif
