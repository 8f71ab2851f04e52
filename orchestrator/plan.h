/*
 * plan.h: the fully resolved desired state of a range: for every team, its
 * libvirt networks (names, bridges) and domains (names, MACs, addresses,
 * overlay volumes), and the host each one is placed on. Computed from the
 * scenario model alone, without touching libvirt, so `crange plan` shows
 * exactly what `crange up` will create.
 *
 * Names (all derived, so that any crange finds them again from libvirt):
 *   domain   crange.<range>.t<team>.<vm>
 *   network  crange.<range>.t<team>.<net>
 *   bridge   cr<6 hex of hash(range)>t<team>n<net index>   (<= 15 chars)
 *   pool     crange.<range>         volume  t<team>.<vm>.qcow2
 *   MAC      52:54:00 + 3 bytes of hash(range, team, vm, nic), unique in the range
 *
 * Placement: each VM is on the host vm_host names (hosts.h places them by
 * capacity: a team on one host when one holds it, and a spread scenario's
 * teams round-robin over all the hosts), or, without vm_host, each team on
 * one host round-robin (a spread scenario's VMs round-robin from there). A
 * team whose VMs are on several hosts has, for each network, an entry on
 * every host one of its VMs is attached on, sharing a VXLAN id (vni)
 * unique in the range, and the bridges are joined by VXLAN (docs/HOSTS.md).
 *
 * Ownership: the plan owns its strings and arrays; it borrows the scenario,
 * which must outlive it. cr_plan_free accepts NULL.
 */
#ifndef CRANGE_PLAN_H
#define CRANGE_PLAN_H

#include "model.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define CR_RANGE_NAME_MAX 24
#define CR_BRIDGE_MAX 15

typedef struct cr_plan_net {
    int team;
    const cr_network *net; /* borrowed from the scenario */
    char *libvirt_name;
    char *bridge;
    int host;              /* index into cr_plan.hosts */
    uint32_t vni;          /* a spread team's network (on several hosts, one entry each): its VXLAN
                            * id, the same on every host; 0 for a network on one host */
} cr_plan_net;

typedef struct cr_plan_nic {
    const cr_nic *nic;         /* borrowed */
    const cr_plan_net *pnet;   /* within the same plan */
    char mac[18];
} cr_plan_nic;

typedef struct cr_plan_vm {
    int team;
    const cr_vm *vm;           /* borrowed from the scenario */
    const cr_team_model *tm;   /* borrowed */
    char *domain;
    char *volume;
    cr_plan_nic *nics;
    size_t n_nics;
    int host;
} cr_plan_vm;

typedef struct cr_plan {
    char *range;
    const cr_scenario *scenario; /* borrowed */
    char *pool;
    char **hosts;                /* libvirt URIs */
    char **addrs;                /* per host: the address other hosts reach it at for VXLAN
                                  * (host add --address), or NULL; set by the caller */
    size_t n_hosts;
    cr_plan_net *nets;
    size_t n_nets;
    cr_plan_vm *vms;
    size_t n_vms;
} cr_plan;

/* Whether name is usable as a range name (see CR_RANGE_NAME_MAX). */
bool cr_range_name_valid(const char *name);

/* Builds the plan for every team of the scenario. hosts has n_hosts >= 1
 * URIs; vm_host, when not NULL, the host index of each VM, counted team by
 * team in the scenario's order (hosts.h, cr_place_vms). Returns 0 or
 * CR_EINVAL with the message set. */
int cr_plan_build(cr_plan **out, const cr_scenario *s, const char *range, const char *const *hosts,
                  size_t n_hosts, const int *vm_host);
void cr_plan_free(cr_plan *p);

const cr_plan_vm *cr_plan_find_vm(const cr_plan *p, int team, const char *vm);

/* Derived names, also used to find objects when only the name is known.
 * Each returns a new string the caller frees. */
char *cr_name_domain(const char *range, int team, const char *vm);
char *cr_name_network(const char *range, int team, const char *net);
char *cr_name_pool(const char *range);

/* The plan as JSON (a new reference) or as text. Secret vars are included
 * only when show_secrets is set. */
json_t *cr_plan_to_json(const cr_plan *p, bool show_secrets);
void cr_plan_print(const cr_plan *p, FILE *out, bool show_secrets);

#endif
