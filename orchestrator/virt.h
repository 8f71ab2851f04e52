/*
 * virt.h: the libvirt backend. It owns the connections to one libvirt host,
 * finds a range's objects by their <metadata>, writes the XML for networks,
 * domains, pools and volumes, and performs idempotent "ensure" and "remove"
 * operations that reconcile (range.c) is built from.
 *
 * Connections: libvirtd serves at most 5 calls in flight per connection
 * (max_client_requests), so a pool of workers shares several connections:
 * worker w uses connection w % n. libvirt connections are thread-safe.
 *
 * Identity: every domain and network carries
 *   <crange:object xmlns:crange="urn:crange:range:1" range=".." team=".."
 *                  scenario=".." name=".." kind="vm|network" digest=".."/>
 * Storage pools and volumes have no <metadata> in libvirt's XML, so their
 * identity is their name: pool "crange.<range>", volume "t<team>.<vm>.qcow2".
 *
 * Errors: every failing call sets "<object>: <libvirt's message>".
 */
#ifndef CRANGE_VIRT_H
#define CRANGE_VIRT_H

#include "image.h"
#include "plan.h"
#include "util.h"

#include <libvirt/libvirt.h>
#include <stdbool.h>

#define CR_XMLNS "urn:crange:range:1"
#define CR_XMLNS_PREFIX "crange"
/* A spread team's network: the VXLAN element the hosts' network hook reads
 * (virt_xml.c), and the MTU left inside VXLAN on a 1500-byte underlay. */
#define CR_VXLAN_XMLNS "urn:crange:vxlan:1"
#define CR_VXLAN_PREFIX "crvx"
#define CR_VXLAN_MTU 1450

typedef struct cr_meta {
    char range[CR_RANGE_NAME_MAX + 1];
    int team;
    char scenario[32];
    char name[32];   /* vm or network name within the team */
    char kind[8];    /* "vm" or "network" */
    char digest[65]; /* hash of the definition crange generated */
} cr_meta;

/* Parses our metadata element out of any XML text. CR_ENOTFOUND if absent. */
int cr_meta_parse(cr_meta *out, const char *xml);

typedef struct cr_virt cr_virt;

/* Opens n_conns (>= 1) connections to uri. Silences libvirt's default
 * stderr printer. *out is closed with cr_virt_close. */
int cr_virt_open(cr_virt **out, const char *uri, int n_conns);
/* Closes every connection; returns how many references leaked (0 is right). */
int cr_virt_close(cr_virt *v);
virConnectPtr cr_virt_conn(cr_virt *v, int worker);
const char *cr_virt_uri(const cr_virt *v);

/* What exists of a range (or of every crange range when range is NULL). */
typedef struct cr_found_dom {
    char *name;
    cr_meta meta;
    int state;        /* virDomainState */
    bool persistent;
} cr_found_dom;

typedef struct cr_found_net {
    char *name;
    cr_meta meta;
    bool active;
    bool persistent;
} cr_found_net;

typedef struct cr_found_pool {
    char *name;       /* crange.<range> */
    char *range;
    bool active;
} cr_found_pool;

typedef struct cr_found {
    cr_found_dom *doms;
    size_t n_doms;
    cr_found_net *nets;
    size_t n_nets;
    cr_found_pool *pools;
    size_t n_pools;
} cr_found;

int cr_virt_scan(cr_found *out, cr_virt *v, const char *range);
void cr_found_free(cr_found *f);
const cr_found_dom *cr_found_domain(const cr_found *f, const char *name);
const cr_found_net *cr_found_network(const cr_found *f, const char *name);

/* XML documents (new strings). cr_xml_network is NULL, with the message
 * set, for a spread team's network whose hosts lack an address (plan.h). */
char *cr_xml_network(const cr_plan *p, const cr_plan_net *pn);
char *cr_xml_pool(const char *pool, const char *path);
/* A qcow2 overlay of capacity bytes on backing (a qcow2: an image's disk, or
 * a role layer, layer.h). */
char *cr_xml_volume(const char *name, const char *backing, uint64_t capacity);
/* What differs between the domains crange defines: a range's VMs
 * (cr_xml_domain), the role-layer builder (layer.c) and the KVM probe
 * (accel.c). Everything else (machine, ACPI, TCG translation cache, CPU
 * under KVM, clock, USB/balloon off, serial, agent channel) they share. */
typedef struct cr_domain_spec {
    const char *domtype;     /* "qemu" (TCG) or "kvm" */
    unsigned memory_mib, vcpus;
    /* Direct kernel boot when kernel is set (then initrd and cmdline are
     * too); otherwise the first disk boots. Borrowed. */
    const char *kernel, *initrd, *cmdline;
    bool reboot_destroys;    /* on_reboot destroy (one-shot guests), else restart */
    const char *console_log; /* file virtlogd logs the serial console to, or NULL; borrowed */
    bool console_append;     /* append to console_log rather than truncate it */
    bool console_element;    /* a <console> for virDomainOpenConsole (crange console) */
    bool actions_channel;    /* org.crange.actions.0 beside the agent's channel */
    bool rng;                /* virtio-rng from /dev/urandom */
} cr_domain_spec;

/* TCG's translation cache of a booting guest, in MiB (virt_xml.c says why),
 * and of a clone while it runs from its restore (clone.h says why). */
#define CR_TB_CACHE_MIB 64
#define CR_CLONE_TB_CACHE_MIB 32

/* Appends a domain's body up to and including <devices>, and then, after
 * the caller's disks and NICs, the shared devices and </devices>. */
void cr_xml_domain_head(cr_buf *b, const cr_domain_spec *s);
void cr_xml_domain_tail(cr_buf *b, const cr_domain_spec *s);

/* domtype: "qemu" (TCG) or "kvm". overlay may be NULL for diskless images.
 * The digest attribute is computed over the rest of the document. */
char *cr_xml_domain(const cr_plan *p, const cr_plan_vm *pv, const cr_image *img, const char *overlay,
                    const char *domtype);
/* The kernel command line a direct-boot image gets: base args, hostname,
 * MAC/address/prefix of each NIC, gateway. */
char *cr_kernel_cmdline(const cr_plan_vm *pv, const cr_image *img);

/* Where virtlogd, on the VM's host, logs a range VM's serial console.
 * Caller frees. */
char *cr_console_log_path(const char *domain);
/* Where libvirt's own QEMU logs are; virtlogd writes the console logs there
 * too. On a host without it no VM could start, so `up` makes it (local
 * hosts only). */
#define CR_CONSOLE_LOG_DIR "/var/log/libvirt/qemu"

/* Idempotent operations; *changed says whether anything was done. */
int cr_virt_ensure_pool(cr_virt *v, int w, const char *pool, const char *path, bool *changed);
int cr_virt_ensure_network(cr_virt *v, int w, const char *name, const char *xml, bool *changed);
int cr_virt_ensure_volume(cr_virt *v, int w, const char *pool, const char *name, const char *xml, char **path,
                          bool *changed);
/* The backing file an existing volume was created on (a new string);
 * CR_ENOTFOUND when the volume does not exist or has none. */
int cr_virt_volume_backing(char **out, cr_virt *v, int w, const char *pool, const char *name);
/* Defines the domain if missing and starts it if not running (paused when
 * start_paused; running instead when the driver cannot start paused and
 * pause_optional). *defined and *started report what happened. */
int cr_virt_ensure_domain(cr_virt *v, int w, const char *name, const char *xml, bool start_paused,
                          bool pause_optional, bool *defined, bool *started);
/* Resumes the domain if it is paused; *resumed says whether it was. */
int cr_virt_resume_domain(cr_virt *v, int w, const char *name, bool *resumed);

/* Removals succeed when the object is already gone. A transient domain's
 * returns once libvirt no longer lists it (at most 30 s). */
int cr_virt_remove_domain(cr_virt *v, int w, const char *name);
int cr_virt_remove_network(cr_virt *v, int w, const char *name);
/* Deletes volume NAME of POOL; a missing pool or volume is not an error
 * (nothing to remove). */
int cr_virt_remove_volume(cr_virt *v, int w, const char *pool, const char *name);
/* Deletes every volume of the pool, the pool and its folder. */
int cr_virt_remove_pool(cr_virt *v, int w, const char *pool);

/* Looks a domain up by name (a new reference the caller frees with
 * virDomainFree). CR_ENOTFOUND when absent. */
int cr_virt_domain(virDomainPtr *out, cr_virt *v, int w, const char *name);

#endif
