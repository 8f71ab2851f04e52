/*
 * range.h: the range engine. `up` is a reconcile: it computes the desired
 * state (the plan), finds the actual state in libvirt by metadata, and does
 * only the difference, in parallel. Running it again after a failure or a
 * kill finishes the job; running it on a complete range changes nothing.
 * `down` removes everything of a range, found by metadata, also when the
 * state database is gone.
 *
 * All functions take the global configuration (borrowed) and return 0 or a
 * negative code with the message set once, naming the VM and libvirt's
 * message when a VM fails.
 */
#ifndef CRANGE_RANGE_H
#define CRANGE_RANGE_H

#include "catalog.h"
#include "config.h"
#include "virt.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct cr_up_opts {
    const char *path;     /* scenario folder or "catalog:NAME[/SUB]"; NULL: the range's own
                           * (a catalog scenario stays at its recorded commit) */
    const char *at;       /* a commit of the catalog entry to use instead of its pin, or NULL */
    const char *range;
    int teams;            /* 0: the recorded count, else the scenario's default */
    bool start_paused;    /* start domains paused and skip agents (control-plane benchmarks) */
    bool no_provision;    /* start VMs (within the boot window) but do not provision */
    int agent_timeout_s;  /* 0: 600 */
    int boot_window;      /* guests booting at once; 0: the default (all of them up to 25 per host
                           * CPU, else 2 per CPU); CR_BOOT_ALL: all, without waiting */
    int clone;            /* CR_CLONE_AUTO (0), CR_CLONE_ALWAYS or CR_CLONE_NEVER (template.h) */
    int only_team;        /* with only_vm: the per-VM phases (define, start, agents and */
    const char *only_vm;  /* provisioning) touch this one VM only (revert); NULL: all */
    const char *hosts;    /* --hosts: "all" or added host names (hosts.h); NULL: the range's
                           * recorded hosts, else --connect */
    bool reschedule;      /* teams on a host that does not answer are rebuilt on the others */
} cr_up_opts;

/* cr_up_opts.clone. auto: VMs that repeat across teams (same template key)
 * are restored from a template; a template that cannot be made is reported
 * and its VMs boot instead. always: every new VM is, and a failure fails.
 * never: every VM boots. */
enum { CR_CLONE_AUTO = 0, CR_CLONE_ALWAYS = 1, CR_CLONE_NEVER = 2 };

#define CR_BOOT_ALL (-1) /* cr_up_opts.boot_window: every guest at once */

typedef struct cr_up_report {
    size_t teams;
    size_t vms;
    size_t networks;
    size_t networks_changed;
    size_t volumes_created;
    size_t domains_defined;
    size_t domains_started;
    size_t provisioned;
    size_t removed;         /* objects of teams or VMs no longer in the plan */
    size_t layers_built;    /* role layers this run had to build (layer.h) */
    size_t templates_built; /* instant-clone templates this run had to make (template.h) */
    size_t cloned;          /* VMs restored from a template instead of booted */
    size_t hosts;           /* libvirt hosts the teams are placed on */
    size_t shipped;         /* image and layer files sent to remote hosts (ship.h) */
    size_t moved;           /* teams rebuilt on another host (up --reschedule) */
    size_t failed;
    double seconds;
    char domtype[8];        /* "kvm" or "qemu" */
    /* Control-plane time per VM created or started by this run (overlay,
     * define, start), in milliseconds; 0 when no VM was touched. */
    double vm_ms_p50;
    double vm_ms_p95;
    double vm_ms_max;
} cr_up_report;

int cr_range_up(const cr_config *c, const cr_up_opts *u, cr_up_report *rep);

/*
 * Where a range's VMs go (hosts.h, cr_place_vms): the hosts of hosts_spec
 * (--hosts), else those the range recorded, else --connect alone. A VM the
 * range already has stays on its host, whatever order the hosts are given
 * in; the others are placed by capacity (the declared one, else
 * virNodeGetInfo's): a team on one host when one holds it, else spread
 * over several, and a spread scenario's teams round-robin over all of them.
 * A VM whose host --hosts leaves out is an error, unless reschedule is set
 * and its host does not answer: then it is placed anew on the hosts that
 * do (moved_from names the host its team left). With one host every VM is
 * on it, as before hosts existed.
 * out->uris is also every host the range has used, first the placement's
 * n_place, then recorded ones no team is on any more (for down).
 */
typedef struct cr_placement {
    char **uris;
    char **addrs;     /* per uri: its VXLAN address (host add --address), or NULL */
    size_t n_uris;
    size_t n_place;   /* uris[0..n_place) are the hosts teams are placed on */
    int *vm_host;     /* per VM, counted team by team (hosts.h): an index into uris */
    size_t n_vms;
    int *team_host;   /* per team (from 0): its first VM's host, an index into uris */
    size_t n_teams;
    char **lost;      /* hosts that did not answer (reschedule) */
    size_t n_lost;
    int *moved_from;  /* per team: index into lost it left, or -1 */
} cr_placement;
int cr_range_place(cr_placement *out, const cr_config *c, const char *range, const struct cr_scenario *s,
                   const char *hosts_spec, bool reschedule);
void cr_placement_free(cr_placement *p);

/* The libvirt URI team `team` of the range lives on (a new string): as
 * recorded, else the range's first host, else --connect. */
char *cr_range_team_host(const cr_config *c, const char *range, int team);
/* The URI one VM lives on (a spread team's VMs are on several hosts): as
 * recorded, else its team's (cr_range_team_host). A new string. */
char *cr_range_vm_host(const cr_config *c, const char *range, int team, const char *vm);
json_t *cr_up_report_json(const char *range, const cr_up_report *rep);

typedef struct cr_down_report {
    size_t domains;
    size_t networks;
    size_t pools;
    double seconds;
    char *archived;        /* where the range database went, or NULL */
} cr_down_report;

/* purge: delete the range database instead of archiving it. */
int cr_range_down(const cr_config *c, const char *range, bool purge, cr_down_report *rep);
void cr_down_report_free(cr_down_report *rep);

/* Brings one VM back to its starting point: removes its domain and its
 * overlay, then reconciles the range (`up`), which creates, boots and
 * provisions it again as at the first `up`. Other VMs are not touched.
 * Takes the range lock like `up` (CR_EBUSY while an `up` runs). Until
 * instant clones exist this costs a boot (about 4 CPU-s for tiny under TCG). */
int cr_range_revert(const cr_config *c, const char *range, int team, const char *vm, cr_up_report *rep);

/* ---- status: per team and VM, state, addresses and agent readiness */

/* A planned address of a VM (a NIC with an address). */
typedef struct cr_range_status_addr {
    char *network;
    char *address;
    char *mac;
} cr_range_status_addr;

/* A VM planned in the range's database, or found in libvirt only. */
typedef struct cr_range_status_vm {
    int team;
    char *vm;
    char *domain;                    /* the libvirt domain */
    char *host;                      /* its libvirt URI */
    const char *state;               /* static: "running", "blocked", "paused", "shutting-down",
                                      * "shut-off", "crashed", "suspended", "unknown",
                                      * "missing" when libvirt has no such domain, or
                                      * "host-unreachable" when its host does not answer */
    bool agent;                      /* a running guest's agent answered a ping */
    bool entry;                      /* the team's entry VM */
    cr_range_status_addr *addresses; /* in NIC order; none for a VM found in libvirt only */
    size_t n_addresses;
} cr_range_status_vm;

/* One range. Everything is owned by the cr_range_status_list holding it. */
typedef struct cr_range_status {
    char *range;
    bool recorded;                   /* the range has a state database */
    char *scenario;                  /* the scenario id; NULL when !recorded */
    char *status;                    /* as recorded ("creating", "up", "failed", "down"),
                                      * or "no state database" */
    char *accel;                     /* "kvm" or "tcg"; NULL when !recorded */
    int teams;                       /* 0 when !recorded */
    char *scenario_digest;           /* hex; NULL when !recorded */
    size_t networks;                 /* libvirt networks of the range */
    size_t pools;                    /* libvirt storage pools of the range */
    cr_range_status_vm *vms;         /* planned VMs by team, then VMs found in libvirt only */
    size_t n_vms;
    cr_provenance *provenance;       /* where the scenario came from; NULL when not recorded */
    struct cr_range_status_host {
        char *uri;
        bool reachable;
        char *error;                 /* why not, when !reachable */
    } *hosts;                        /* every host the range uses */
    size_t n_hosts;
} cr_range_status;

typedef struct cr_range_status_list {
    cr_range_status *ranges;
    size_t n_ranges;
} cr_range_status_list;

/* The status of RANGE, or with range NULL of every range in the state
 * folder or found in libvirt. On success *out is a new list (the caller's,
 * for cr_range_status_list_free); on failure *out is NULL. CR_ENOTFOUND when
 * RANGE has no database and libvirt has no VM or network of it. */
int cr_range_status_list_new(cr_range_status_list **out, const cr_config *c, const char *range);
void cr_range_status_list_free(cr_range_status_list *list); /* accepts NULL */

/* The JSON form (`crange --json status`, the portal's health view): an
 * object for one range, an array of them for a list. New references. */
json_t *cr_range_status_json(const cr_range_status *status);
json_t *cr_range_status_list_json(const cr_range_status_list *list);

/* The table `crange status` prints. */
void cr_range_status_list_print(const cr_range_status_list *list, FILE *out);

/* Ranges known to the state folder or found in libvirt. */
int cr_range_list(json_t **out, const cr_config *c);

/* The live domain of a range's VM, for exec and console. *v must be closed
 * with cr_virt_close after virDomainFree(*dom). */
int cr_range_domain(virDomainPtr *dom, cr_virt **v, const cr_config *c, const char *range, int team,
                    const char *vm);

#endif
