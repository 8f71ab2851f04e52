/*
 * range.c: up (reconcile), down, status and list for range.h.
 *
 * up runs in phases (cr_range_up lists them), the libvirt ones each a
 * bounded worker pool over libvirt connections:
 *   1. the storage pool of overlays (one per host)
 *   2. networks
 *   3. per VM: overlay volume, domain definition, a paused start
 *   4. per VM: resume, in the boot window
 *   5. per VM: wait for the guest agent, provision
 * A phase looks at what exists before acting, so a re-run skips done work.
 * Objects of the range that the plan no longer has (fewer teams, a removed
 * VM) are removed first.
 */
#include "range.h"

#include "accel.h"
#include "agent.h"
#include "bridge.h"
#include "catalog.h"
#include "err.h"
#include "events.h"
#include "hosts.h"
#include "image.h"
#include "layer.h"
#include "log.h"
#include "paths.h"
#include "plan.h"
#include "pool.h"
#include "progress.h"
#include "provision.h"
#include "scenario.h"
#include "ship.h"
#include "score.h"
#include "state.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <libvirt/virterror.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_AGENT_TIMEOUT_S 600

/*
 * Boot admission. Under TCG a guest's boot is CPU work. On 2 cores, up to 50
 * tiny guests resumed at once reached their agents within 1.06 times the
 * CPU they needed; 100 at once needed 6.5 CPU-s each instead of 4.2 and were
 * all ready only after 348 s. Resumed in a window of 4, each guest whose
 * agent answered letting the next in, they were ready after 281 s; a window
 * of 32 gave 302 s (BENCHMARKS.md). So a range of up to ADMIT_ALL_PER_CPU
 * guests per host CPU is resumed at once; a bigger one ADMIT_PER_CPU guests
 * per CPU at a time. --boot-window N sets the window (0: all at once). A
 * guest that does not answer within ADMIT_WAIT_S holds its place no longer;
 * the agent phase reports it.
 */
#define ADMIT_ALL_PER_CPU 25
#define ADMIT_PER_CPU 2
#define ADMIT_WAIT_S 120
/* Role layers built at once: each builder is a 2-vCPU, 512 MiB VM installing
 * packages, the heaviest thing up does. */
#define LAYER_JOBS 2

/* Connections per host: libvirtd runs at most 5 calls per connection. */
static int conns_for(int jobs)
{
    return (jobs + 3) / 4;
}

/*
 * Workers for down. A destroy is mostly waiting, not work: libvirt sends
 * QEMU SIGTERM and sleeps 200 ms before it looks again, so at --jobs 8 a
 * 250-VM range could not go in less than 250 * 0.2 / 8 = 6.25 s however
 * idle the host. Down fans out wider; libvirtd queues what its worker
 * threads cannot take at once.
 */
#define DOWN_FANOUT 4
#define DOWN_JOBS_MAX 64

static int down_jobs(int jobs)
{
    if (jobs >= DOWN_JOBS_MAX)
        return jobs;
    return jobs * DOWN_FANOUT < DOWN_JOBS_MAX ? jobs * DOWN_FANOUT : DOWN_JOBS_MAX;
}

/* ----------------------------------------------------------- placement */

void cr_placement_free(cr_placement *p)
{
    if (!p)
        return;
    cr_strv_free(p->uris, p->n_uris);
    if (p->addrs)
        cr_strv_free(p->addrs, p->n_uris);
    cr_strv_free(p->lost, p->n_lost);
    free(p->team_host);
    free(p->vm_host);
    free(p->moved_from);
    memset(p, 0, sizeof *p);
}

static int uri_index(char **uris, size_t n, const char *uri)
{
    for (size_t i = 0; uri && i < n; i++)
        if (!strcmp(uris[i], uri))
            return (int)i;
    return -1;
}

static void push_uri(char ***uris, size_t *n, const char *uri)
{
    if (uri_index(*uris, *n, uri) >= 0)
        return;
    *uris = cr_xrealloc(*uris, (*n + 1) * sizeof **uris);
    (*uris)[(*n)++] = cr_xstrdup(uri);
}

/* A host's capacity: declared (host add --memory/--cpus), else libvirt's.
 * CR_ERROR when libvirt cannot be reached there. */
static int host_capacity(cr_place_host *ph, const cr_hosts *hosts, const char *uri)
{
    const cr_host *declared = NULL;
    for (size_t i = 0; i < hosts->n; i++)
        if (!strcmp(hosts->v[i].uri, uri))
            declared = &hosts->v[i];
    *ph = (cr_place_host){.uri = uri};
    if (declared) {
        ph->memory_mib = declared->memory_mib;
        ph->cpus = declared->cpus;
    }
    if (ph->memory_mib && ph->cpus)
        return 0;
    /* Asked even when declared in part: it also says the host answers. */
    cr_virt *v = NULL;
    int rc = cr_virt_open(&v, uri, 1);
    virNodeInfo info;
    if (rc == 0 && virNodeGetInfo(cr_virt_conn(v, 0), &info) < 0)
        rc = cr_error_set(CR_ERROR, "%s: cannot read the host's memory and CPUs: %s", uri,
                          virGetLastErrorMessage());
    if (rc == 0) {
        if (!ph->memory_mib)
            ph->memory_mib = info.memory / 1024;
        if (!ph->cpus)
            ph->cpus = info.cpus;
    }
    cr_virt_close(v);
    return rc;
}

/* Whether libvirt answers at uri. */
static bool host_answers(const char *uri)
{
    cr_virt *v = NULL;
    bool ok = cr_virt_open(&v, uri, 1) == 0;
    cr_virt_close(v);
    cr_error_clear();
    return ok;
}

/* Where each VM of s lives, as the range recorded it: per VM (counted as
 * cr_place_vms counts them) a new string or NULL. */
static char **recorded_vm_hosts(cr_state *st, const cr_scenario *s, size_t n_vms)
{
    char **per = cr_xcalloc(n_vms ? n_vms : 1, sizeof *per);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v3(cr_state_db(st), "SELECT team, name, host FROM vms", -1, 0, &q, NULL) != SQLITE_OK) {
        cr_log_warn("range database: %s", sqlite3_errmsg(cr_state_db(st)));
        return per;
    }
    while (sqlite3_step(q) == SQLITE_ROW) {
        int team = sqlite3_column_int(q, 0);
        const char *name = (const char *)sqlite3_column_text(q, 1);
        const char *host = (const char *)sqlite3_column_text(q, 2);
        if (!name || !host || team < 1 || (size_t)team > s->n_teams)
            continue;
        size_t i = 0;
        for (size_t t = 0; t < (size_t)team - 1; t++)
            i += s->teams[t].n_vms;
        const cr_team_model *tm = &s->teams[team - 1];
        for (size_t v = 0; v < tm->n_vms; v++)
            if (!strcmp(tm->vms[v].name, name) && !per[i + v])
                per[i + v] = cr_xstrdup(host);
    }
    sqlite3_finalize(q);
    return per;
}

int cr_range_place(cr_placement *out, const cr_config *c, const char *range, const cr_scenario *s,
                   const char *hosts_spec, bool reschedule)
{
    memset(out, 0, sizeof *out);
    size_t nt = s->n_teams, nv = cr_place_vm_count(s);
    out->n_teams = nt;
    out->n_vms = nv;
    out->team_host = cr_xcalloc(nt ? nt : 1, sizeof *out->team_host);
    out->vm_host = cr_xcalloc(nv ? nv : 1, sizeof *out->vm_host);
    out->moved_from = cr_xcalloc(nt ? nt : 1, sizeof *out->moved_from);
    int *keep = cr_xcalloc(nv ? nv : 1, sizeof *keep);
    char **recorded = NULL, **before = NULL;
    size_t n_before = 0;
    cr_hosts hosts = {0};
    cr_place_host *ph = NULL;

    /* What the range has: each VM's host, and every host it used. */
    cr_state *st = NULL;
    cr_range_row row;
    if (cr_state_open(&st, c->state_dir, range, false) == 0 && cr_state_get_range(st, &row) == 0) {
        json_t *hj = json_loads(row.hosts, 0, NULL);
        size_t i;
        json_t *hv;
        json_array_foreach(hj, i, hv) if (json_is_string(hv)) push_uri(&before, &n_before, json_string_value(hv));
        json_decref(hj);
        cr_range_row_free(&row);
        recorded = recorded_vm_hosts(st, s, nv);
    }
    cr_state_close(st);
    cr_error_clear();

    int rc = cr_hosts_load(&hosts, c->state_dir);
    if (rc < 0 && !hosts_spec) {
        /* Not asked for: a broken hosts.json says so but stops nothing. */
        cr_log_warn("%s", cr_error_message());
        cr_error_clear();
        rc = 0;
    }
    if (rc < 0)
        goto cleanup;
    if (hosts_spec) {
        char **sel = NULL;
        size_t n_sel = 0;
        rc = cr_hosts_select(&sel, &n_sel, &hosts, hosts_spec);
        if (rc < 0)
            goto cleanup;
        for (size_t i = 0; i < n_sel; i++)
            push_uri(&out->uris, &out->n_uris, sel[i]);
        cr_strv_free(sel, n_sel);
    } else if (n_before) {
        /* The hosts its VMs are on (a host the range only used before,
         * a lost one its teams left, is kept for down, not placed on). */
        for (size_t i = 0; i < n_before; i++)
            for (size_t v = 0; recorded && v < nv; v++)
                if (recorded[v] && !strcmp(recorded[v], before[i])) {
                    push_uri(&out->uris, &out->n_uris, before[i]);
                    break;
                }
        for (size_t i = 0; out->n_uris == 0 && i < n_before; i++)
            push_uri(&out->uris, &out->n_uris, before[i]);
    } else {
        push_uri(&out->uris, &out->n_uris, c->connect);
    }

    /* Reschedule: hosts that do not answer leave the placement. */
    if (reschedule) {
        for (size_t i = 0; i < out->n_uris;) {
            if (host_answers(out->uris[i])) {
                i++;
                continue;
            }
            cr_log_warn("host %s does not answer; its teams move", out->uris[i]);
            push_uri(&out->lost, &out->n_lost, out->uris[i]);
            free(out->uris[i]);
            memmove(&out->uris[i], &out->uris[i + 1], (out->n_uris - i - 1) * sizeof *out->uris);
            out->n_uris--;
        }
        /* A recorded host missing from the list and not answering is lost too. */
        for (size_t v = 0; recorded && v < nv; v++)
            if (recorded[v] && uri_index(out->uris, out->n_uris, recorded[v]) < 0 &&
                uri_index(out->lost, out->n_lost, recorded[v]) < 0 && !host_answers(recorded[v]))
                push_uri(&out->lost, &out->n_lost, recorded[v]);
        if (out->n_uris == 0) {
            rc = cr_error_set(CR_ERROR, "no host answers; nothing to move the teams to");
            goto cleanup;
        }
    }
    out->n_place = out->n_uris;

    /* A VM stays where it is while its host answers; one on a lost host
     * moves, and its team's move is recorded. */
    for (size_t t = 0, i = 0; t < nt; t++) {
        out->moved_from[t] = -1;
        for (size_t v = 0; v < s->teams[t].n_vms; v++, i++) {
            keep[i] = -1;
            const char *had = recorded ? recorded[i] : NULL;
            if (!had)
                continue;
            keep[i] = uri_index(out->uris, out->n_uris, had);
            if (keep[i] >= 0)
                continue;
            int lost = uri_index(out->lost, out->n_lost, had);
            if (lost >= 0) {
                if (out->moved_from[t] < 0)
                    out->moved_from[t] = lost;
                continue;
            }
            rc = cr_error_set(CR_EINVAL,
                              "team %zu of range '%s' has vm '%s' on %s, which --hosts leaves out; a VM never moves "
                              "while its host answers (name that host too, or bring the range down first)",
                              t + 1, range, s->teams[t].vms[v].name, had);
            goto cleanup;
        }
    }

    if (out->n_place == 1) {
        /* One host: everything on it, without a capacity check (as before
         * hosts existed; a single machine's limits are its own business). */
        for (size_t v = 0; v < nv; v++)
            out->vm_host[v] = 0;
    } else {
        ph = cr_xcalloc(out->n_place, sizeof *ph);
        for (size_t h = 0; h < out->n_place && rc == 0; h++)
            rc = host_capacity(&ph[h], &hosts, out->uris[h]);
        if (rc == 0)
            rc = cr_place_vms(out->vm_host, s, ph, out->n_place, keep);
        if (rc < 0)
            goto cleanup;
    }
    /* A team's home (logs, team.moved): its first VM's host. */
    for (size_t t = 0, i = 0; t < nt; i += s->teams[t].n_vms, t++)
        out->team_host[t] = s->teams[t].n_vms ? out->vm_host[i] : 0;
    /* Hosts the range used before stay listed (down reaches them). */
    for (size_t i = 0; i < n_before; i++)
        push_uri(&out->uris, &out->n_uris, before[i]);
    for (size_t i = 0; i < out->n_lost; i++)
        push_uri(&out->uris, &out->n_uris, out->lost[i]);
    out->addrs = cr_xcalloc(out->n_uris, sizeof *out->addrs);
    for (size_t i = 0; i < out->n_uris; i++)
        for (size_t k = 0; k < hosts.n; k++)
            if (!strcmp(hosts.v[k].uri, out->uris[i]) && hosts.v[k].address)
                out->addrs[i] = cr_xstrdup(hosts.v[k].address);

cleanup:
    free(ph);
    free(keep);
    cr_strv_free(recorded, recorded ? nv : 0);
    cr_strv_free(before, n_before);
    cr_hosts_free(&hosts);
    if (rc < 0)
        cr_placement_free(out);
    return rc;
}

/* ------------------------------------------------------------------ up */

typedef struct img_entry {
    char *name;
    cr_image *img;
} img_entry;

/* One role layer to have: the key, the role (any team's: they are equal)
 * and, once ensured, the layer. */
typedef struct layer_entry {
    char key[65];
    const cr_role *role;
    const cr_image *base;
    cr_layer *layer;
    bool built;
} layer_entry;

/* VMs of the plan that share a template key (template.h). */
typedef struct clone_group {
    char key[65];
    int host;           /* templates live on one host: its VMs' */
    size_t first;       /* the VM the template is made from */
    size_t shared_steps; /* the provisioning steps the template runs */
    size_t in_plan;     /* VMs of the plan with this key */
    size_t to_clone;    /* of them, not defined yet */
    cr_template *t;     /* once made or found */
    bool built;
} clone_group;

/* One run of up: what its phases hand on to each other and to the jobs. */
typedef struct up_ctx {
    const cr_config *c;
    const cr_up_opts *u;
    cr_up_report *rep;
    /* the range's record, held under its lock for the whole run */
    int lockfd;
    cr_state *st;
    cr_range_row row;
    bool have_row;
    /* the scenario, where it came from, and the range's secret */
    char *store;        /* the image store (cr_config_images) */
    char *scenario_path;
    cr_provenance prov;
    bool have_prov;
    unsigned char secret[CR_SECRET_LEN];
    cr_plan *plan;
    cr_scenario *scenario;
    /* the hosts (hosts.h): a connection each, in plan->hosts' order; on a
     * remote one, its copies of the images and role layers (ship.h) */
    cr_placement place;
    cr_virt **virts;
    bool *remote;
    cr_virt *build_virt;  /* where role layers are built: the local host */
    bool own_build_virt;
    cr_image **host_img;  /* [host * n_images + k]; NULL on a local host */
    char **host_layer;    /* [host * n_layers + k]; NULL on a local host */
    size_t shipped;       /* files sent to hosts by this run */
    img_entry *images;
    size_t n_images;
    layer_entry *layers;
    size_t n_layers;
    size_t *vm_layer;   /* per VM: index into layers, or SIZE_MAX without a role */
    char domtype[8];
    char *overlay_dir;
    cr_progress *progress;
    /* per-VM outcomes, written by the worker that owns the VM */
    bool *defined, *started, *volume, *provisioned, *net_changed;
    bool *settled;      /* a clone resealed and provisioned in the boot window */
    double *vm_ms;
    int window;         /* guests booting at once; 0: all, without waiting */
    size_t *start_order; /* the order guests are resumed in: heaviest first */
    /* instant clones: the template groups, and per VM its group (SIZE_MAX:
     * booted) and whether this run restored it */
    char *templates_root;
    bool shared_ram; /* local templates map their RAM from a file (template.h) */
    clone_group *groups;
    size_t n_groups;
    size_t *vm_group;
    size_t *template_list; /* groups whose template this run needs */
    size_t n_template_list;
    size_t *clone_list; /* VMs to restore, indexes into plan->vms */
    size_t n_clone_list;
    bool *cloned;
} up_ctx;

static const cr_image *find_image(const up_ctx *x, const char *name)
{
    for (size_t i = 0; i < x->n_images; i++)
        if (!strcmp(x->images[i].name, name))
            return x->images[i].img;
    return NULL;
}

/* The image as host `host` has it: on a remote host its shipped copy. */
static const cr_image *host_image(const up_ctx *x, int host, const char *name)
{
    for (size_t i = 0; i < x->n_images; i++)
        if (!strcmp(x->images[i].name, name))
            return x->host_img && x->host_img[(size_t)host * x->n_images + i]
                       ? x->host_img[(size_t)host * x->n_images + i]
                       : x->images[i].img;
    return NULL;
}

static cr_virt *vm_virt(const up_ctx *x, size_t i)
{
    return x->virts[x->plan->vms[i].host];
}

static void on_progress(size_t done, size_t total, size_t job, int code, void *ctx)
{
    (void)total;
    (void)code;
    up_ctx *x = ctx;
    (void)job;
    cr_progress_step(x->progress, done, NULL);
}

static int job_network(size_t i, int w, void *ctx)
{
    up_ctx *x = ctx;
    const cr_plan_net *pn = &x->plan->nets[i];
    char *xml = cr_xml_network(x->plan, pn);
    if (!xml)
        return CR_EINVAL;
    int rc = cr_virt_ensure_network(x->virts[pn->host], w, pn->libvirt_name, xml, &x->net_changed[i]);
    free(xml);
    /* A bridge with no host address keeps the host out of the range's
     * reach (bridge.h); one with an address (DHCP, forward) is the host
     * answering on purpose. A remote host's bridges cannot be reached from
     * here (docs/HOSTS.md says what to set there). */
    if (rc == 0 && !pn->net->dhcp && !pn->net->forward && !x->remote[pn->host])
        rc = cr_bridge_seal("/proc/sys", pn->bridge);
    return rc;
}

/* The disk a VM's overlay sits on: its role's layer, else its image's;
 * img is the image as the VM's host has it (host_image). */
static const char *vm_backing(const up_ctx *x, size_t i, const cr_image *img)
{
    size_t l = x->vm_layer[i];
    if (l == SIZE_MAX)
        return img->disk;
    const char *shipped = x->host_layer ? x->host_layer[(size_t)x->plan->vms[i].host * x->n_layers + l] : NULL;
    return shipped ? shipped : x->layers[l].layer->disk;
}

/* A VM's overlay is made once; if its role's layer has changed since (new
 * packages, say), the VM keeps the old one until it is recreated. Say so.
 * A clone sits on its template's disk, which sits on the same chain. */
static void warn_stale_backing(up_ctx *x, int w, const cr_plan_vm *pv, const char *want)
{
    char *have = NULL;
    /* A clone sits on a template of its host's. */
    const char *root = x->remote[pv->host] ? CR_TEMPLATE_REMOTE_PATH : x->templates_root;
    size_t troot = strlen(root);
    if (cr_virt_volume_backing(&have, x->virts[pv->host], w, x->plan->pool, pv->volume) == 0 && strcmp(have, want) &&
        !(strncmp(have, root, troot) == 0 && have[troot] == '/'))
        cr_log_warn("team %d vm '%s' runs on %s, not on %s (its image or role changed); recreate it to use the "
                    "new one (crange down, or remove the VM from the scenario and run up twice)",
                    pv->team, pv->vm->name, have, want);
    cr_error_clear();
    free(have);
}

/* Prefixes the error set for a VM's job with its team and name, once. */
static int vm_error(const cr_plan_vm *pv, int rc)
{
    char *inner = cr_xstrdup(cr_error_message());
    /* A silent guest: what it did instead is on its console. */
    char *log = rc == CR_ETIMEOUT ? cr_console_log_path(pv->domain) : NULL;
    cr_error_clear();
    rc = cr_error_set(rc, "team %d vm '%s': %s%s%s%s", pv->team, pv->vm->name, inner,
                      log ? "; its console is logged in " : "", log ? log : "", log ? " on its host" : "");
    free(inner);
    free(log);
    return rc;
}

/* Whether the per-VM phases act on plan VM i (cr_up_opts.only_vm). A revert
 * at N = 100 took 4.4 s when it checked every VM of the range again, through
 * their agents, against 2.2 s for virsh snapshot-revert (BENCHMARKS.md). */
static bool in_scope(const up_ctx *x, size_t i)
{
    const cr_plan_vm *pv = &x->plan->vms[i];
    return !x->u->only_vm || (pv->team == x->u->only_team && !strcmp(pv->vm->name, x->u->only_vm));
}

static int job_vm(size_t i, int w, void *ctx)
{
    up_ctx *x = ctx;
    if (x->cloned[i] || !in_scope(x, i))
        return 0; /* restored from its template and defined; or out of scope */
    const cr_plan_vm *pv = &x->plan->vms[i];
    const cr_image *img = host_image(x, pv->host, pv->vm->image);
    char *overlay = NULL;
    int rc = 0;
    double t0 = cr_now_seconds();
    if (img->disk) {
        /* A role's VM sits on the role's layer, which sits on the image. */
        const char *backing = vm_backing(x, i, img);
        char *vxml = cr_xml_volume(pv->volume, backing, img->disk_virtual_size);
        rc = cr_virt_ensure_volume(vm_virt(x, i), w, x->plan->pool, pv->volume, vxml, &overlay, &x->volume[i]);
        free(vxml);
        if (rc == 0 && !x->volume[i])
            warn_stale_backing(x, w, pv, backing);
    }
    if (rc == 0) {
        char *dxml = cr_xml_domain(x->plan, pv, img, overlay, x->domtype);
        /* Started paused: guests are resumed after the VM phase, in the
         * boot window (job_resume), so that libvirt's starts do not compete
         * with guests already booting, nor too many guests with each other. */
        rc = cr_virt_ensure_domain(vm_virt(x, i), w, pv->domain, dxml, true, !x->u->start_paused, &x->defined[i],
                                   &x->started[i]);
        free(dxml);
    }
    free(overlay);
    x->vm_ms[i] = (cr_now_seconds() - t0) * 1000.0;
    if (rc < 0)
        rc = vm_error(pv, rc);
    return rc;
}

/* Waits for VM i's agent, reseals it if it is a clone, and provisions it. */
static int settle(up_ctx *x, size_t i, int w)
{
    const cr_plan_vm *pv = &x->plan->vms[i];
    virDomainPtr dom = NULL;
    int rc = cr_virt_domain(&dom, vm_virt(x, i), w, pv->domain);
    int timeout = x->u->agent_timeout_s > 0 ? x->u->agent_timeout_s : DEFAULT_AGENT_TIMEOUT_S;
    if (rc == 0)
        rc = cr_agent_wait(dom, timeout);
    bool resealed = false;
    if (rc == 0)
        rc = cr_template_reseal(dom, pv, timeout, &resealed);
    if (rc < 0) {
        rc = vm_error(pv, rc);
    } else {
        rc = cr_provision_vm(dom, x->scenario, pv, host_image(x, pv->host, pv->vm->image), &x->provisioned[i]);
    }
    if (dom)
        virDomainFree(dom);
    return rc;
}

static int job_resume(size_t j, int w, void *ctx)
{
    up_ctx *x = ctx;
    size_t i = x->start_order[j];
    if (!in_scope(x, i))
        return 0;
    const cr_plan_vm *pv = &x->plan->vms[i];
    bool resumed = false;
    int rc = cr_virt_resume_domain(vm_virt(x, i), w, pv->domain, &resumed);
    if (rc < 0)
        return vm_error(pv, rc);
    /* A domain paused before this up (up --paused, a kill) counts as started. */
    x->started[i] = x->started[i] || resumed;
    if (!resumed || x->window == 0)
        return 0;
    /* A clone's boot is its reseal, and the loops its template runs start
     * with it: it holds its place until resealed and provisioned. Restored
     * running, the 70 clones of 5 cnc-takedown teams all resumed at once
     * (load 50-77 on 2 cores) and every router's reseal timed out after
     * 600 s; a booted class of the same passed, 4 guests at a time. */
    if (x->cloned[i]) {
        rc = settle(x, i, w);
        x->settled[i] = rc == 0;
        return rc;
    }
    /* Hold this worker, and so the window's place, until the guest has
     * booted: its agent answers. */
    virDomainPtr dom = NULL;
    if (cr_virt_domain(&dom, vm_virt(x, i), w, pv->domain) == 0) {
        int timeout = x->u->agent_timeout_s > 0 && x->u->agent_timeout_s < ADMIT_WAIT_S ? x->u->agent_timeout_s
                                                                                        : ADMIT_WAIT_S;
        if (cr_agent_wait(dom, timeout) < 0)
            cr_log_debug("%s: no agent within %d s; admitting the next guest", pv->domain, timeout);
        virDomainFree(dom);
    }
    cr_error_clear();
    return 0;
}

/* Guests booting at once: --boot-window, else all of them for a range of up
 * to ADMIT_ALL_PER_CPU per host CPU and ADMIT_PER_CPU per CPU beyond; 0 when
 * they all start at once. */
static int admit_window(up_ctx *x, size_t n_vms)
{
    int window = x->u->boot_window;
    if (window == CR_BOOT_ALL)
        return 0;
    if (window == 0) {
        /* The window is over every host's CPUs together. */
        size_t cpus = 0;
        for (size_t h = 0; h < x->plan->n_hosts; h++) {
            virNodeInfo info;
            cpus += virNodeGetInfo(cr_virt_conn(x->virts[h], 0), &info) == 0 && info.cpus > 0 ? info.cpus : 1;
        }
        virResetLastError();
        window = n_vms <= cpus * ADMIT_ALL_PER_CPU ? 0 : (int)(cpus * ADMIT_PER_CPU);
    }
    return (size_t)window >= n_vms ? 0 : window;
}

static int job_provision(size_t i, int w, void *ctx)
{
    up_ctx *x = ctx;
    if (!in_scope(x, i) || x->settled[i])
        return 0;
    return settle(x, i, w);
}

/* Makes the first failed job's message the error and logs the others, so
 * that every failing VM is named once. Returns the first failure's code. */
static int pool_failures(const cr_pool_result *res)
{
    int rc = 0;
    for (size_t i = 0; i < res->n; i++) {
        if (res->codes[i] >= 0)
            continue;
        if (rc == 0)
            rc = cr_error_set(res->codes[i], "%s%s", res->messages[i],
                              res->failed > 1 ? " (more failures above)" : "");
        else
            cr_log_error("%s", res->messages[i]);
    }
    return rc;
}

/* Runs one phase of up over the worker pool, with at most jobs workers. */
static int run_phase_jobs(up_ctx *x, const char *phase, size_t n, int jobs, cr_pool_fn fn, size_t *failed)
{
    if (n == 0)
        return 0;
    x->progress = cr_progress_new(phase, n, x->c->progress, x->c->json);
    cr_pool_result res;
    cr_pool_run(&res, n, jobs, fn, x, on_progress, x);
    cr_progress_end(x->progress, res.failed);
    x->progress = NULL;
    *failed += res.failed;
    int rc = pool_failures(&res);
    cr_pool_result_free(&res);
    return rc;
}

static int run_phase(up_ctx *x, const char *phase, size_t n, cr_pool_fn fn, size_t *failed)
{
    return run_phase_jobs(x, phase, n, x->c->jobs, fn, failed);
}

static int job_layer(size_t i, int w, void *ctx)
{
    up_ctx *x = ctx;
    layer_entry *le = &x->layers[i];
    char *store = cr_config_images(x->c);
    int rc = cr_layer_ensure(&le->layer, &le->built, cr_virt_conn(x->build_virt, w), x->domtype, store,
                             x->scenario->dir, le->role, le->base);
    free(store);
    return rc;
}

/*
 * The role layers the plan's VMs need, each once however many teams and
 * VMs use it (roles are the same for every team), built when missing.
 */
static int ensure_layers(up_ctx *x, size_t *failed)
{
    x->vm_layer = cr_xcalloc(x->plan->n_vms ? x->plan->n_vms : 1, sizeof *x->vm_layer);
    int rc = 0;
    for (size_t i = 0; i < x->plan->n_vms && rc == 0; i++) {
        const cr_plan_vm *pv = &x->plan->vms[i];
        x->vm_layer[i] = SIZE_MAX;
        if (!pv->vm->role)
            continue;
        const cr_role *role = cr_team_role(pv->tm, pv->vm->role);
        const cr_image *base = find_image(x, role->image);
        char key[65];
        rc = cr_layer_key(key, x->scenario->dir, role, base);
        size_t k = 0;
        while (rc == 0 && k < x->n_layers && strcmp(x->layers[k].key, key))
            k++;
        if (rc == 0 && k == x->n_layers) {
            x->layers = cr_xrealloc(x->layers, (x->n_layers + 1) * sizeof *x->layers);
            layer_entry *le = &x->layers[x->n_layers++];
            memset(le, 0, sizeof *le);
            memcpy(le->key, key, sizeof key);
            le->role = role;
            le->base = base;
        }
        x->vm_layer[i] = k;
    }
    if (rc == 0)
        rc = run_phase_jobs(x, "role layers", x->n_layers, x->c->jobs < LAYER_JOBS ? x->c->jobs : LAYER_JOBS,
                            job_layer, failed);
    return rc;
}

typedef struct stray_ctx {
    cr_virt *virt;
    const char *pool;
    const cr_found_dom **doms;
} stray_ctx;

/* Whether the plan has this domain on host h. */
static bool planned_on(const up_ctx *x, const char *domain, size_t h)
{
    for (size_t j = 0; j < x->plan->n_vms; j++)
        if ((size_t)x->plan->vms[j].host == h && !strcmp(x->plan->vms[j].domain, domain))
            return true;
    return false;
}

/* Removes a domain of the range and its overlay; a missing pool or volume
 * is fine. */
static int remove_range_domain(cr_virt *v, int w, const char *pool, const cr_found_dom *d)
{
    int rc = cr_virt_remove_domain(v, w, d->name);
    if (rc < 0)
        return rc;
    char *vol = cr_xasprintf("t%d.%s.qcow2", d->meta.team, d->meta.name);
    if (cr_virt_remove_volume(v, w, pool, vol) < 0) {
        cr_log_warn("cannot delete volume %s: %s", vol, cr_error_message());
        cr_error_clear();
    }
    free(vol);
    return 0;
}

/* Every VM of a range is persistent once up has made it; only a clone is
 * transient, from its restore until up defines it (template.c). A
 * transient one is what an up stopped in between left: perhaps still in
 * libvirt's restore job, which fails once the stream's writer is gone and
 * takes the domain with it (seen in test_kill9: the next up found the
 * clones paused, and they vanished as it resumed them). It goes, its
 * overlay with it (the clone may have written to it), and is cloned again. */
static const char half_made_why[] = "a clone left half made by an up that was stopped";

static bool half_made(const cr_found_dom *d)
{
    return !d->persistent;
}

static int job_stray_domain(size_t i, int w, void *ctx)
{
    stray_ctx *x = ctx;
    const cr_found_dom *d = x->doms[i];
    cr_log_info("removing %s: %s", d->name,
                half_made(d) ? half_made_why : "no longer in the plan");
    return remove_range_domain(x->virt, w, x->pool, d);
}

/* Removes domains and networks of the range that the plan does not have
 * (fewer teams, a VM or network taken out of the scenario), and clones
 * left half made. */
static int remove_strays(up_ctx *x, size_t h, const cr_found *f, size_t *removed)
{
    const cr_found_dom **doms = cr_xcalloc(f->n_doms ? f->n_doms : 1, sizeof *doms);
    size_t n = 0;
    for (size_t i = 0; i < f->n_doms; i++)
        if (!planned_on(x, f->doms[i].name, h) || half_made(&f->doms[i]))
            doms[n++] = &f->doms[i];
    int rc = 0;
    if (n) {
        stray_ctx sx = {x->virts[h], x->plan->pool, doms};
        cr_pool_result res;
        cr_pool_run(&res, n, x->c->jobs, job_stray_domain, &sx, NULL, NULL);
        rc = pool_failures(&res);
        *removed += n - res.failed;
        cr_pool_result_free(&res);
    }
    free(doms);
    for (size_t i = 0; rc == 0 && i < f->n_nets; i++) {
        bool wanted = false;
        for (size_t j = 0; j < x->plan->n_nets && !wanted; j++)
            wanted = (size_t)x->plan->nets[j].host == h && !strcmp(x->plan->nets[j].libvirt_name, f->nets[i].name);
        if (wanted)
            continue;
        cr_log_info("removing %s: no longer in the plan", f->nets[i].name);
        rc = cr_virt_remove_network(x->virts[h], 0, f->nets[i].name);
        *removed += rc == 0;
    }
    return rc;
}

static int load_images(up_ctx *x)
{
    char *store = cr_config_images(x->c);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < x->plan->n_vms; i++) {
        const char *name = x->plan->vms[i].vm->image;
        if (find_image(x, name))
            continue;
        cr_image *img = NULL;
        rc = cr_image_open(&img, store, name);
        if (rc == CR_ENOTFOUND && cr_image_recipe_exists(name)) {
            cr_error_clear();
            bool rebuilt;
            cr_log_info("image '%s' is not built yet; building it", name);
            rc = cr_image_build(store, name, false, &rebuilt);
            if (rc == 0)
                rc = cr_image_open(&img, store, name);
        }
        if (rc == 0) {
            x->images = cr_xrealloc(x->images, (x->n_images + 1) * sizeof *x->images);
            x->images[x->n_images++] = (img_entry){cr_xstrdup(name), img};
        }
    }
    free(store);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Percentiles of the control-plane time of the VMs this run changed. */
static void control_plane_stats(cr_up_report *rep, const up_ctx *x)
{
    size_t n = 0;
    double *ms = cr_xcalloc(x->plan->n_vms, sizeof *ms);
    for (size_t i = 0; i < x->plan->n_vms; i++)
        if (x->defined[i] || x->started[i] || x->volume[i])
            ms[n++] = x->vm_ms[i];
    if (n) {
        qsort(ms, n, sizeof *ms, cmp_double);
        rep->vm_ms_p50 = ms[(n - 1) / 2];
        rep->vm_ms_p95 = ms[(size_t)((double)(n - 1) * 0.95 + 0.5)];
        rep->vm_ms_max = ms[n - 1];
    }
    free(ms);
}

/*
 * Where the scenario comes from: a catalog reference (resolved to its pinned
 * work tree, or to --at's commit), a path, or, for an existing range, what
 * it was brought up from, a catalog scenario staying at its recorded commit
 * so that a later `scenario update` does not change a running exercise.
 */
static int resolve_source(char **dir, cr_provenance *prov, bool *have_prov, const cr_config *c, const cr_up_opts *u,
                          const cr_range_row *row)
{
    *dir = NULL;
    *have_prov = false;
    const char *ref = u->path;
    const char *at = u->at;
    char *recorded_ref = NULL, *recorded_at = NULL;
    if (!ref && row && row->provenance) {
        json_t *j = json_loads(row->provenance, 0, NULL);
        cr_provenance old = {0};
        if (j && cr_provenance_from_json(&old, j) == 0 && (recorded_ref = cr_provenance_catalog_ref(&old))) {
            ref = recorded_ref;
            if (!at)
                at = recorded_at = cr_xstrdup(old.commit);
        }
        cr_error_clear();
        cr_provenance_clear(&old);
        json_decref(j);
    }
    int rc = 0;
    if (ref && cr_catalog_is_ref(ref)) {
        rc = cr_catalog_resolve(dir, prov, c->state_dir, ref, at);
        *have_prov = rc == 0;
    } else if (at) {
        rc = cr_error_set(CR_EINVAL, "--at needs a catalog scenario (catalog:NAME[/SUB]), not a path");
    } else {
        *dir = cr_xstrdup(ref ? ref : row->scenario_dir);
    }
    free(recorded_ref);
    free(recorded_at);
    return rc;
}

/* Takes the range's lock and reads its record, if it has one. */
static int up_open_record(up_ctx *x)
{
    /* Without a scenario, only a range with a record can come up: ask
     * before the lock and the database are made, which would leave an
     * empty range behind. */
    char *db = cr_range_db_path(x->c->state_dir, x->u->range);
    bool known = cr_path_exists(db);
    free(db);
    if (!x->u->path && !known)
        return cr_error_set(CR_ENOTFOUND, "range '%s' does not exist; name a scenario: crange up PATH --name %s",
                            x->u->range, x->u->range);
    int rc = cr_range_lock(&x->lockfd, x->c->state_dir, x->u->range);
    if (rc == 0)
        rc = cr_state_open(&x->st, x->c->state_dir, x->u->range, true);
    if (rc == 0)
        rc = cr_state_get_range(x->st, &x->row);
    if (rc == 0) {
        x->have_row = true;
    } else if (rc == CR_ENOTFOUND) {
        cr_error_clear();
        rc = 0;
    }
    return rc;
}

/* Finds the scenario and loads it for the range's teams and secret (kept
 * from the record, else new). */
static int up_load_scenario(up_ctx *x)
{
    const cr_up_opts *u = x->u;
    if (!u->path && !x->have_row)
        return cr_error_set(CR_ENOTFOUND, "range '%s' does not exist; name a scenario: crange up PATH --name %s",
                            u->range, u->range);
    int rc = resolve_source(&x->scenario_path, &x->prov, &x->have_prov, x->c, u, x->have_row ? &x->row : NULL);
    if (rc < 0)
        return rc;
    if (x->have_row)
        memcpy(x->secret, x->row.secret, sizeof x->secret);
    else
        randombytes_buf(x->secret, sizeof x->secret);

    cr_load_opts lo = {.teams = u->teams ? u->teams : x->have_row ? x->row.teams : 0,
                       .secret = x->secret,
                       .image_known = cr_image_known,
                       .image_ctx = x->store};
    rc = cr_scenario_load(&x->scenario, x->scenario_path, &lo);
    if (rc == 0)
        rc = cr_model_require_vms(x->scenario);
    if (rc == 0 && x->have_row && strcmp(x->row.scenario_id, x->scenario->id))
        rc = cr_error_set(CR_EINVAL, "range '%s' runs scenario '%s', not '%s'; bring it down first (crange down %s)",
                          u->range, x->row.scenario_id, x->scenario->id, u->range);
    return rc;
}

/* The plan, the images it needs, the libvirt connections and the
 * accelerator. */
static int up_plan(up_ctx *x)
{
    int rc = cr_range_place(&x->place, x->c, x->u->range, x->scenario, x->u->hosts, x->u->reschedule);
    if (rc == 0)
        rc = cr_plan_build(&x->plan, x->scenario, x->u->range, (const char *const *)x->place.uris, x->place.n_place,
                           x->place.vm_host);
    if (rc == 0) {
        x->plan->addrs = cr_xcalloc(x->plan->n_hosts, sizeof *x->plan->addrs);
        for (size_t h = 0; h < x->plan->n_hosts; h++)
            x->plan->addrs[h] = cr_xstrdup(x->place.addrs[h]);
    }
    if (rc == 0)
        rc = load_images(x);
    if (rc < 0)
        return rc;
    size_t nh = x->plan->n_hosts;
    x->virts = cr_xcalloc(nh, sizeof *x->virts);
    x->remote = cr_xcalloc(nh, sizeof *x->remote);
    for (size_t h = 0; h < nh && rc == 0; h++) {
        x->remote[h] = !cr_bridge_uri_is_local(x->plan->hosts[h]);
        rc = cr_virt_open(&x->virts[h], x->plan->hosts[h], conns_for(x->c->jobs));
        if (rc == 0 && !x->build_virt && !x->remote[h])
            x->build_virt = x->virts[h];
    }
    /* Role layers are files of the local store, built by a local VM. */
    if (rc == 0 && !x->build_virt) {
        rc = cr_virt_open(&x->build_virt, x->c->connect, conns_for(LAYER_JOBS));
        x->own_build_virt = rc == 0;
    }
    if (rc < 0)
        return rc;
    for (size_t t = 0; t < x->place.n_teams; t++)
        if (nh > 1 || x->place.moved_from[t] >= 0)
            cr_log_info("team %zu: on %s%s%s", t + 1, x->plan->hosts[x->place.team_host[t]],
                        x->place.moved_from[t] >= 0 ? ", moved from " : "",
                        x->place.moved_from[t] >= 0 ? x->place.lost[x->place.moved_from[t]] : "");

    /* Keep one accelerator per range: new VMs match the ones already there. */
    const char *why = NULL;
    if (x->have_row && !strcmp(x->c->accel, "auto") && x->row.accel && *x->row.accel) {
        snprintf(x->domtype, sizeof x->domtype, "%s", !strcmp(x->row.accel, "kvm") ? "kvm" : "qemu");
        why = "as recorded for the range";
    } else {
        rc = cr_accel_resolve(x->domtype, x->c, x->virts[0], &why);
        if (rc < 0)
            return rc;
    }
    /* One accelerator for the whole range: KVM only if every host has it. */
    for (size_t h = 1; h < x->plan->n_hosts && !strcmp(x->domtype, "kvm"); h++)
        if (!cr_accel_kvm_offered(x->virts[h])) {
            snprintf(x->domtype, sizeof x->domtype, "qemu");
            why = "a host of the range offers no KVM";
        }
    cr_log_debug("accelerator: %s (%s)", x->domtype, why);
    return 0;
}

/* Records the range (row, plan, the start event), then the exercise
 * content, before anything is made in libvirt. */
static int up_save_state(up_ctx *x)
{
    const cr_scenario *s = x->scenario;
    char digest[65];
    cr_hex(digest, s->digest, sizeof s->digest);
    if (!x->have_prov) {
        int rc = cr_provenance_for_path(&x->prov, s->dir, digest);
        if (rc < 0)
            return rc;
    }
    json_t *pj = cr_provenance_json(&x->prov);
    char *prov_text = json_dumps(pj, JSON_COMPACT);
    json_decref(pj);
    json_t *hosts = json_array();
    for (size_t h = 0; h < x->place.n_uris; h++)
        json_array_append_new(hosts, json_string(x->place.uris[h]));
    char *hosts_text = json_dumps(hosts, JSON_COMPACT);
    json_decref(hosts);
    cr_range_row nrow = {
        .name = (char *)x->u->range,
        .scenario_id = s->id,
        .scenario_dir = s->dir,
        .scenario_digest = digest,
        .title_ja = s->title.ja,
        .title_en = s->title.en,
        .teams = (int)s->n_teams,
        .hosts = hosts_text,
        .accel = !strcmp(x->domtype, "kvm") ? "kvm" : "tcg",
        .status = "creating",
        .created_ms = x->have_row ? x->row.created_ms : 0,
        .provenance = prov_text,
    };
    memcpy(nrow.secret, x->secret, sizeof x->secret);
    int rc = cr_state_begin(x->st);
    if (rc == 0)
        rc = cr_state_put_range(x->st, &nrow);
    if (rc == 0)
        rc = cr_state_save_plan(x->st, x->plan);
    if (rc == 0) {
        json_t *ev = json_pack("{s:s, s:i, s:s}", "scenario", s->id, "teams", (int)s->n_teams, "digest", digest);
        rc = cr_event_add(x->st, 0, 0, NULL, "range.up.start", ev, NULL, NULL);
        json_decref(ev);
    }
    /* A team rebuilt elsewhere keeps its events; the move is one of them. */
    for (size_t t = 0; rc == 0 && t < x->place.n_teams; t++) {
        if (x->place.moved_from[t] < 0)
            continue;
        json_t *ev = json_pack("{s:s, s:s}", "from", x->place.lost[x->place.moved_from[t]], "to",
                               x->plan->hosts[x->place.team_host[t]]);
        rc = cr_event_add(x->st, (int)t + 1, 0, NULL, "team.moved", ev, NULL, NULL);
        json_decref(ev);
    }
    if (rc == 0)
        rc = cr_state_commit(x->st);
    else
        cr_state_rollback(x->st);
    /* The exercise content (objectives, flags, points) for scoreboards and
     * reports; a transaction of its own. */
    if (rc == 0)
        rc = cr_score_save_content(x->st, s);
    free(hosts_text);
    free(prov_text);
    return rc;
}

/* What libvirt has of the range against the plan: objects the plan no
 * longer has go. The per-VM outcomes of the phases start here. */
static int up_reconcile(up_ctx *x)
{
    size_t n_vms = x->plan->n_vms, n_nets = x->plan->n_nets;
    x->defined = cr_xcalloc(n_vms, sizeof(bool));
    x->started = cr_xcalloc(n_vms, sizeof(bool));
    x->volume = cr_xcalloc(n_vms, sizeof(bool));
    x->provisioned = cr_xcalloc(n_vms, sizeof(bool));
    x->net_changed = cr_xcalloc(n_nets, sizeof(bool));
    x->vm_ms = cr_xcalloc(n_vms, sizeof(double));
    x->cloned = cr_xcalloc(n_vms ? n_vms : 1, sizeof(bool));
    x->settled = cr_xcalloc(n_vms ? n_vms : 1, sizeof(bool));
    x->templates_root = cr_config_templates(x->c);
    /* CRANGE_CLONE_MEMORY=copy: clones load their RAM from the stream, as
     * before shared RAM (for comparison, or a host whose libvirt refuses
     * <qemu:commandline>). */
    const char *cm = getenv("CRANGE_CLONE_MEMORY");
    if (cm && *cm && strcmp(cm, "shared") && strcmp(cm, "copy"))
        return cr_error_set(CR_EINVAL, "CRANGE_CLONE_MEMORY must be shared or copy, not '%s'", cm);
    x->shared_ram = !(cm && !strcmp(cm, "copy")) && cr_template_shared_ram_ok(x->templates_root);

    int rc = 0;
    for (size_t h = 0; h < x->plan->n_hosts && rc == 0; h++) {
        cr_found found;
        rc = cr_virt_scan(&found, x->virts[h], x->u->range);
        if (rc < 0)
            return rc;
        rc = remove_strays(x, h, &found, &x->rep->removed);
        cr_found_free(&found);
    }
    return rc;
}

/* The storage pool of the range's overlays. */
static int up_overlay_pool(up_ctx *x)
{
    x->overlay_dir = cr_config_overlays(x->c, x->u->range);
    int rc = 0;
    for (size_t h = 0; h < x->plan->n_hosts && rc == 0; h++) {
        bool pool_changed = false;
        /* A remote host keeps overlays beside libvirt's own images. */
        char *dir = x->remote[h] ? cr_xasprintf(CR_SHIP_POOL_PATH "-%s", x->u->range) : cr_xstrdup(x->overlay_dir);
        rc = cr_virt_ensure_pool(x->virts[h], 0, x->plan->pool, dir, &pool_changed);
        free(dir);
    }
    return rc;
}

/* Whether any team is placed on host h. */
static bool host_used(const up_ctx *x, size_t h)
{
    for (size_t i = 0; i < x->plan->n_vms; i++)
        if ((size_t)x->plan->vms[i].host == h)
            return true;
    return false;
}

/* Remote hosts get the images and role layers their VMs need (ship.h). */
static int up_ship(up_ctx *x)
{
    size_t nh = x->plan->n_hosts;
    bool any = false;
    for (size_t h = 0; h < nh; h++)
        any = any || (x->remote[h] && host_used(x, h));
    if (!any)
        return 0;
    x->host_img = cr_xcalloc(nh * (x->n_images ? x->n_images : 1), sizeof *x->host_img);
    x->host_layer = cr_xcalloc(nh * (x->n_layers ? x->n_layers : 1), sizeof *x->host_layer);
    int rc = 0;
    for (size_t h = 0; h < nh && rc == 0; h++) {
        if (!x->remote[h] || !host_used(x, h))
            continue;
        rc = cr_ship_pool(x->virts[h], 0);
        for (size_t k = 0; k < x->n_images && rc == 0; k++) {
            bool needed = false;
            for (size_t i = 0; i < x->plan->n_vms && !needed; i++)
                needed = (size_t)x->plan->vms[i].host == h && !strcmp(x->plan->vms[i].vm->image, x->images[k].name);
            for (size_t l = 0; l < x->n_layers && !needed; l++)
                needed = x->layers[l].base == x->images[k].img;
            if (needed)
                rc = cr_ship_image(&x->host_img[h * x->n_images + k], &x->shipped, x->virts[h], 0,
                                   x->images[k].img);
        }
        for (size_t l = 0; l < x->n_layers && rc == 0; l++) {
            bool needed = false;
            for (size_t i = 0; i < x->plan->n_vms && !needed; i++)
                needed = (size_t)x->plan->vms[i].host == h && x->vm_layer[i] == l;
            if (!needed)
                continue;
            const cr_image *base = host_image(x, (int)h, x->layers[l].base->name);
            bool sent = false;
            rc = cr_ship_layer(&x->host_layer[h * x->n_layers + l], &sent, x->virts[h], 0,
                               x->layers[l].layer->disk, x->layers[l].key, base->disk);
            x->shipped += sent;
        }
    }
    return rc;
}

static int up_networks(up_ctx *x)
{
    /* Not a network, but needed before the first VM starts, and local like
     * the bridges' settings. */
    bool local = false;
    for (size_t h = 0; h < x->plan->n_hosts; h++)
        local = local || !x->remote[h];
    if (local) {
        int rc = cr_mkdir_p(CR_CONSOLE_LOG_DIR, 0700);
        if (rc < 0)
            return rc;
    }
    return run_phase(x, "networks", x->plan->n_nets, job_network, &x->rep->failed);
}

/* Makes (or finds) one group's template. In auto mode a failure is
 * reported and the group's VMs boot instead. */
static int job_template(size_t j, int w, void *ctx)
{
    up_ctx *x = ctx;
    clone_group *cg = &x->groups[x->template_list[j]];
    const cr_plan_vm *pv = &x->plan->vms[cg->first];
    const cr_image *img = host_image(x, pv->host, pv->vm->image);
    int timeout = x->u->agent_timeout_s > 0 ? x->u->agent_timeout_s : DEFAULT_AGENT_TIMEOUT_S;
    const char *backing = img->disk ? vm_backing(x, cg->first, img) : NULL;
    int rc = x->remote[pv->host]
                 ? cr_template_ensure_remote(&cg->t, &cg->built, x->virts[pv->host], w, x->templates_root, cg->key,
                                             x->plan, pv, cg->shared_steps, img, backing, x->domtype, timeout)
                 : cr_template_ensure(&cg->t, &cg->built, x->virts[pv->host], w, x->templates_root, cg->key, x->plan,
                                      pv, cg->shared_steps, img, backing, x->domtype, timeout, x->shared_ram);
    if (rc < 0 && x->u->clone == CR_CLONE_AUTO) {
        cr_log_warn("team %d vm '%s': no template (%s); its %zu cop%s boot instead", pv->team, pv->vm->name,
                    cr_error_message(), cg->to_clone, cg->to_clone == 1 ? "y" : "ies");
        cr_error_clear();
        return 0;
    }
    return rc < 0 ? vm_error(pv, rc) : 0;
}

/* Restores one VM from its group's template: its overlay on the template's
 * disk, its own XML, the restore. */
static int job_clone(size_t j, int w, void *ctx)
{
    up_ctx *x = ctx;
    size_t i = x->clone_list[j];
    const clone_group *cg = &x->groups[x->vm_group[i]];
    if (!cg->t)
        return 0; /* no template: job_vm boots it */
    const cr_plan_vm *pv = &x->plan->vms[i];
    const cr_image *img = host_image(x, pv->host, pv->vm->image);
    char *overlay = NULL;
    int rc = 0;
    double t0 = cr_now_seconds();
    /* Paused when a boot window lets the guests in (job_resume); else
     * running at once. Measured on 2 cores (BENCHMARKS.md), 30 tiny clones
     * restored paused and resumed together answered after 35.5 s against
     * 28.5 s restored running, whose restores stagger the guests; 100 in a
     * window of 4 were all provisioned after 154 s against 201 s. */
    bool paused = x->window != 0;
    if (cg->t->disk) {
        /* An overlay left by a VM that booted (its domain removed by hand)
         * holds that VM's disk, which the template's memory knows nothing
         * of: keep it, and let job_vm boot the VM on it. */
        char *have = NULL;
        bool other = cr_virt_volume_backing(&have, vm_virt(x, i), w, x->plan->pool, pv->volume) == 0 &&
                     strcmp(have, cg->t->disk);
        free(have);
        cr_error_clear();
        if (other) {
            cr_log_info("team %d vm '%s': its disk is not on its template; it boots instead", pv->team,
                        pv->vm->name);
            return 0;
        }
        char *vxml = cr_xml_volume(pv->volume, cg->t->disk, img->disk_virtual_size);
        rc = cr_virt_ensure_volume(vm_virt(x, i), w, x->plan->pool, pv->volume, vxml, &overlay, &x->volume[i]);
        free(vxml);
    }
    if (rc == 0) {
        char *identity = cr_xml_domain(x->plan, pv, img, overlay, x->domtype);
        if (cg->t->remote) {
            rc = cr_template_clone_remote(vm_virt(x, i), w, cg->t, pv->domain, identity, paused);
        } else {
            char *scratch = cr_xasprintf("%s/%s.restore", x->overlay_dir, pv->volume);
            rc = cr_template_clone(vm_virt(x, i), w, cg->t, pv->domain, identity, scratch, paused);
            free(scratch);
        }
        free(identity);
    }
    free(overlay);
    x->vm_ms[i] = (cr_now_seconds() - t0) * 1000.0;
    if (rc < 0)
        return vm_error(pv, rc);
    x->cloned[i] = x->defined[i] = true;
    x->started[i] = !paused;
    return 0;
}

/* Instant clones (template.h): groups the VMs by template key, makes each
 * group's template once, and restores every VM not yet defined from it. */
static int up_clones(up_ctx *x)
{
    size_t n = x->plan->n_vms;
    x->vm_group = cr_xmalloc((n ? n : 1) * sizeof *x->vm_group);
    x->clone_list = cr_xcalloc(n ? n : 1, sizeof *x->clone_list);
    for (size_t i = 0; i < n; i++)
        x->vm_group[i] = SIZE_MAX;
    if (x->u->clone == CR_CLONE_NEVER || x->u->start_paused || x->u->no_provision || n == 0)
        return 0;
    /* Each host makes its own templates (clones never cross hosts): what
     * each host has of the range first. */
    size_t nh = x->plan->n_hosts;
    cr_found *found = cr_xcalloc(nh, sizeof *found);
    int rc = 0;
    for (size_t h = 0; h < nh && rc == 0; h++)
        if (host_used(x, h))
            rc = cr_virt_scan(&found[h], x->virts[h], x->u->range);
    size_t cap = 0;
    const cr_plan_vm **same = cr_xcalloc(n, sizeof *same);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const cr_plan_vm *pv = &x->plan->vms[i];
        const cr_image *img = host_image(x, pv->host, pv->vm->image);
        /* The steps every team's copy of this VM shares go in the template. */
        size_t n_same = 0;
        for (size_t j = 0; j < n; j++)
            if (!strcmp(x->plan->vms[j].vm->name, pv->vm->name))
                same[n_same++] = &x->plan->vms[j];
        size_t shared = cr_provision_shared_steps(same, n_same);
        char key[65];
        rc = cr_template_key(key, x->scenario, pv, shared, img, img->disk ? vm_backing(x, i, img) : NULL,
                             x->domtype, x->shared_ram && !x->remote[pv->host]);
        if (rc < 0)
            break;
        size_t g = 0;
        while (g < x->n_groups && (strcmp(x->groups[g].key, key) || x->groups[g].host != pv->host))
            g++;
        if (g == x->n_groups) {
            cr_grow(&x->groups, &cap, g + 1, sizeof *x->groups);
            memset(&x->groups[g], 0, sizeof x->groups[g]);
            memcpy(x->groups[g].key, key, sizeof key);
            x->groups[g].host = pv->host;
            x->groups[g].first = i;
            x->groups[g].shared_steps = shared;
            x->n_groups++;
        }
        x->groups[g].in_plan++;
        /* One left half made since up_reconcile looked: made again. */
        const cr_found_dom *fd = cr_found_domain(&found[pv->host], pv->domain);
        if (fd && half_made(fd)) {
            cr_log_info("removing %s: %s", fd->name, half_made_why);
            rc = remove_range_domain(x->virts[pv->host], 0, x->plan->pool, fd);
            if (rc < 0)
                break;
            fd = NULL;
        }
        if (!fd) {
            x->vm_group[i] = g;
            x->groups[g].to_clone++;
        }
    }
    free(same);
    for (size_t h = 0; h < nh; h++)
        cr_found_free(&found[h]);
    free(found);
    if (rc < 0)
        return rc;
    /* auto: only what repeats across teams is worth a template. */
    size_t n_make = 0;
    for (size_t g = 0; g < x->n_groups; g++) {
        clone_group *cg = &x->groups[g];
        bool use = cg->to_clone > 0 && (x->u->clone == CR_CLONE_ALWAYS || cg->in_plan > 1);
        if (!use)
            cg->to_clone = 0;
        n_make += use;
    }
    for (size_t i = 0; i < n; i++) {
        if (x->vm_group[i] != SIZE_MAX && x->groups[x->vm_group[i]].to_clone)
            x->clone_list[x->n_clone_list++] = i;
        else
            x->vm_group[i] = SIZE_MAX;
    }
    if (n_make == 0)
        return 0;
    x->template_list = cr_xcalloc(n_make, sizeof *x->template_list);
    for (size_t g = 0; g < x->n_groups; g++)
        if (x->groups[g].to_clone)
            x->template_list[x->n_template_list++] = g;
    bool pool_changed = false;
    /* QEMU (another user) opens the templates' disks by path: it must be
     * able to pass through the folder, whoever made it first. */
    rc = cr_mkdir_p(x->templates_root, 0755);
    if (rc == 0 && chmod(x->templates_root, 0755) < 0)
        rc = cr_error_set(CR_ERROR, "%s: %s", x->templates_root, strerror(errno));
    /* Each host's pool of templates, before the templates are made in
     * parallel. */
    for (size_t h = 0; h < nh && rc == 0; h++) {
        bool needed = false;
        for (size_t k = 0; k < x->n_template_list; k++)
            needed = needed || (size_t)x->groups[x->template_list[k]].host == h;
        if (!needed)
            continue;
        if (x->remote[h]) {
            rc = cr_virt_ensure_pool(x->virts[h], 0, CR_TEMPLATE_POOL, CR_TEMPLATE_REMOTE_PATH, &pool_changed);
            continue;
        }
        rc = cr_virt_ensure_pool(x->virts[h], 0, CR_TEMPLATE_POOL, x->templates_root, &pool_changed);
        /* Template VMs and disks an up killed while making them left behind
         * (seen in test_kill9: 38 template VMs running after 20 kills). */
        if (rc == 0 && cr_template_sweep(x->virts[h], x->templates_root) < 0) {
            cr_log_warn("%s", cr_error_message());
            cr_error_clear();
        }
    }
    if (rc < 0)
        return rc;
    rc = run_phase(x, "templates", x->n_template_list, job_template, &x->rep->failed);
    if (rc < 0)
        return rc;
    return run_phase(x, "clones", x->n_clone_list, job_clone, &x->rep->failed);
}

/* Per VM: overlay, definition, and a paused start (job_vm). */
static int up_vms(up_ctx *x)
{
    return run_phase(x, "VMs", x->plan->n_vms, job_vm, &x->rep->failed);
}

/* Heaviest first (the most memory, then the plan's order): the longest
 * boots start before the window fills with short ones. */
typedef struct start_key {
    unsigned mib;
    size_t i;
} start_key;

static int heavier_first(const void *a, const void *b)
{
    const start_key *p = a, *q = b;
    if (p->mib != q->mib)
        return p->mib < q->mib ? 1 : -1;
    return p->i < q->i ? -1 : p->i > q->i;
}

/* Resumes the guests, as many at once as the boot window admits. */
static int up_start_guests(up_ctx *x)
{
    size_t n_vms = x->plan->n_vms;
    start_key *keys = cr_xcalloc(n_vms ? n_vms : 1, sizeof *keys);
    for (size_t i = 0; i < n_vms; i++)
        keys[i] = (start_key){x->plan->vms[i].vm->memory_mib, i};
    qsort(keys, n_vms, sizeof *keys, heavier_first);
    x->start_order = cr_xcalloc(n_vms ? n_vms : 1, sizeof *x->start_order);
    for (size_t i = 0; i < n_vms; i++)
        x->start_order[i] = keys[i].i;
    free(keys);
    return run_phase_jobs(x, "starting guests", n_vms, x->window ? x->window : x->c->jobs, job_resume,
                          &x->rep->failed);
}

static int up_provision(up_ctx *x)
{
    return run_phase(x, "agents and provisioning", x->plan->n_vms, job_provision, &x->rep->failed);
}

/* The report's counts, from the outcomes the phases recorded. */
static void up_tally(up_ctx *x)
{
    cr_up_report *rep = x->rep;
    for (size_t i = 0; i < x->n_layers; i++)
        rep->layers_built += x->layers[i].built;
    for (size_t i = 0; i < x->plan->n_nets; i++)
        rep->networks_changed += x->net_changed[i];
    for (size_t i = 0; i < x->plan->n_vms; i++) {
        rep->volumes_created += x->volume[i];
        rep->domains_defined += x->defined[i];
        rep->domains_started += x->started[i];
        rep->provisioned += x->provisioned[i];
        rep->cloned += x->cloned[i];
    }
    for (size_t g = 0; g < x->n_groups; g++)
        rep->templates_built += x->groups[g].built;
    control_plane_stats(rep, x);
    rep->teams = x->scenario->n_teams;
    rep->hosts = x->plan->n_hosts;
    rep->shipped = x->shipped;
    for (size_t t = 0; t < x->place.n_teams; t++)
        rep->moved += x->place.moved_from[t] >= 0;
    rep->vms = x->plan->n_vms;
    rep->networks = x->plan->n_nets;
    snprintf(rep->domtype, sizeof rep->domtype, "%s", x->domtype);
}

/* Records the outcome (status and event) of a run that reached the guest
 * phases; rc is the run's result. */
static void up_record_outcome(up_ctx *x, int rc)
{
    const cr_up_report *rep = x->rep;
    /* Record the outcome without losing the first error's message. */
    char *saved = rc < 0 ? cr_xstrdup(cr_error_message()) : NULL;
    cr_error_clear();
    json_t *ev = json_pack("{s:b, s:i, s:i, s:i, s:i, s:s?}", "ok", rc == 0, "defined", (int)rep->domains_defined,
                           "started", (int)rep->domains_started, "provisioned", (int)rep->provisioned, "failed",
                           (int)rep->failed, "error", saved);
    if (cr_state_set_status(x->st, rc == 0 ? "up" : "failed") < 0 ||
        cr_event_add(x->st, 0, 0, NULL, rc == 0 ? "range.up.done" : "range.up.failed", ev, NULL, NULL) < 0)
        cr_log_warn("%s", cr_error_message());
    json_decref(ev);
    cr_error_clear();
    if (saved) {
        cr_error_set(rc, "%s", saved);
        free(saved);
    }
}

static void up_ctx_clear(up_ctx *x)
{
    for (size_t i = 0; i < x->n_images; i++) {
        free(x->images[i].name);
        cr_image_free(x->images[i].img);
    }
    free(x->images);
    for (size_t i = 0; i < x->n_layers; i++)
        cr_layer_free(x->layers[i].layer);
    free(x->layers);
    free(x->vm_layer);
    free(x->defined);
    free(x->started);
    free(x->volume);
    free(x->provisioned);
    free(x->net_changed);
    free(x->vm_ms);
    free(x->overlay_dir);
    for (size_t g = 0; g < x->n_groups; g++)
        cr_template_free(x->groups[g].t);
    free(x->groups);
    free(x->vm_group);
    free(x->template_list);
    free(x->clone_list);
    free(x->cloned);
    free(x->settled);
    free(x->start_order);
    free(x->templates_root);
    size_t nh = x->plan ? x->plan->n_hosts : 0;
    for (size_t h = 0; x->host_img && h < nh; h++)
        for (size_t k = 0; k < x->n_images; k++)
            cr_image_free(x->host_img[h * x->n_images + k]);
    free(x->host_img);
    for (size_t h = 0; x->host_layer && h < nh; h++)
        for (size_t l = 0; l < x->n_layers; l++)
            free(x->host_layer[h * x->n_layers + l]);
    free(x->host_layer);
    for (size_t h = 0; x->virts && h < nh; h++)
        cr_virt_close(x->virts[h]);
    free(x->virts);
    free(x->remote);
    if (x->own_build_virt)
        cr_virt_close(x->build_virt);
    cr_placement_free(&x->place);
    cr_plan_free(x->plan);
    cr_scenario_free(x->scenario);
    cr_range_row_free(&x->row);
    cr_state_close(x->st);
    cr_range_unlock(x->lockfd);
    cr_provenance_clear(&x->prov);
    free(x->scenario_path);
    free(x->store);
}

int cr_range_up(const cr_config *c, const cr_up_opts *u, cr_up_report *rep)
{
    memset(rep, 0, sizeof *rep);
    double t0 = cr_now_seconds();
    if (!cr_range_name_valid(u->range))
        return cr_error_set(CR_EINVAL,
                            "range name '%s' must be a lowercase letter then letters, digits or '-' (at most %d)",
                            u->range, CR_RANGE_NAME_MAX);

    up_ctx x = {.c = c, .u = u, .rep = rep, .lockfd = -1, .store = cr_config_images(c)};
    int rc = up_open_record(&x);
    if (rc < 0)
        goto cleanup;
    rc = up_load_scenario(&x);
    if (rc < 0)
        goto cleanup;
    rc = up_plan(&x);
    if (rc < 0)
        goto cleanup;
    rc = ensure_layers(&x, &rep->failed);
    if (rc < 0)
        goto cleanup;
    rc = up_save_state(&x);
    if (rc < 0)
        goto cleanup;
    rc = up_reconcile(&x);
    if (rc < 0)
        goto cleanup;

    /* From here on the outcome is recorded, failed or not. */
    rc = up_overlay_pool(&x);
    if (rc == 0)
        rc = up_ship(&x);
    if (rc == 0)
        rc = up_networks(&x);
    if (rc == 0)
        x.window = admit_window(&x, x.plan->n_vms);
    if (rc == 0)
        rc = up_clones(&x);
    if (rc == 0)
        rc = up_vms(&x);
    if (rc == 0 && !u->start_paused)
        rc = up_start_guests(&x);
    if (rc == 0 && !u->start_paused && !u->no_provision)
        rc = up_provision(&x);
    up_tally(&x);
    up_record_outcome(&x, rc);

cleanup:
    rep->seconds = cr_now_seconds() - t0;
    up_ctx_clear(&x);
    return rc;
}

json_t *cr_up_report_json(const char *range, const cr_up_report *r)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I, "
                     "s:f, s:s, s:{s:f, s:f, s:f}}",
                     "range", range, "hosts", (json_int_t)r->hosts,
                     "teams", (json_int_t)r->teams, "vms", (json_int_t)r->vms, "networks", (json_int_t)r->networks,
                     "changes", "layers", (json_int_t)r->layers_built, "networks", (json_int_t)r->networks_changed,
                     "volumes",
                     (json_int_t)r->volumes_created, "defined", (json_int_t)r->domains_defined, "started",
                     (json_int_t)r->domains_started, "provisioned", (json_int_t)r->provisioned, "templates",
                     (json_int_t)r->templates_built, "cloned", (json_int_t)r->cloned, "removed",
                     (json_int_t)r->removed, "shipped", (json_int_t)r->shipped, "moved", (json_int_t)r->moved,
                     "failed", (json_int_t)r->failed, "seconds", r->seconds, "accel",
                     !strcmp(r->domtype, "kvm") ? "kvm" : "tcg", "control_plane_ms", "p50", r->vm_ms_p50, "p95",
                     r->vm_ms_p95, "max", r->vm_ms_max);
}

/* ---------------------------------------------------------------- down */

typedef struct down_ctx {
    cr_virt *virt;
    cr_found *found;
    char *pool;
} down_ctx;

/* The domain and its overlay, so that volumes go in parallel rather than
 * one by one when the pool is removed. */
static int job_down_domain(size_t i, int w, void *ctx)
{
    down_ctx *x = ctx;
    const cr_found_dom *d = &x->found->doms[i];
    int rc = cr_virt_remove_domain(x->virt, w, d->name);
    if (rc == 0) {
        char *vol = cr_xasprintf("t%d.%s.qcow2", d->meta.team, d->meta.name);
        rc = cr_virt_remove_volume(x->virt, w, x->pool, vol);
        free(vol);
    }
    return rc;
}

static int job_down_network(size_t i, int w, void *ctx)
{
    down_ctx *x = ctx;
    return cr_virt_remove_network(x->virt, w, x->found->nets[i].name);
}

char *cr_range_team_host(const cr_config *c, const char *range, int team)
{
    char *uri = NULL;
    cr_state *st = NULL;
    cr_range_row row;
    if (cr_state_open(&st, c->state_dir, range, false) == 0 && cr_state_get_range(st, &row) == 0) {
        char **per = NULL;
        if (team >= 1 && team <= row.teams && cr_state_team_hosts(&per, st, (size_t)row.teams) == 0 && per[team - 1])
            uri = cr_xstrdup(per[team - 1]);
        if (per)
            cr_strv_free(per, (size_t)row.teams);
        if (!uri) {
            json_t *hj = json_loads(row.hosts, 0, NULL);
            if (json_is_string(json_array_get(hj, 0)))
                uri = cr_xstrdup(json_string_value(json_array_get(hj, 0)));
            json_decref(hj);
        }
        cr_range_row_free(&row);
    }
    cr_state_close(st);
    cr_error_clear();
    return uri ? uri : cr_xstrdup(c->connect);
}

char *cr_range_vm_host(const cr_config *c, const char *range, int team, const char *vm)
{
    char *uri = NULL;
    cr_state *st = NULL;
    if (cr_state_open(&st, c->state_dir, range, false) == 0) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v3(cr_state_db(st), "SELECT host FROM vms WHERE team = ? AND name = ?", -1, 0, &q,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int(q, 1, team);
            sqlite3_bind_text(q, 2, vm, -1, SQLITE_STATIC);
            if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
                uri = cr_xstrdup((const char *)sqlite3_column_text(q, 0));
        }
        sqlite3_finalize(q);
    }
    cr_state_close(st);
    cr_error_clear();
    return uri ? uri : cr_range_team_host(c, range, team);
}

/* The libvirt hosts a range lives on: from its database, else --connect. */
static json_t *range_hosts(const cr_config *c, const char *range)
{
    cr_state *st = NULL;
    cr_range_row row;
    json_t *hosts = NULL;
    if (cr_state_open(&st, c->state_dir, range, false) == 0 && cr_state_get_range(st, &row) == 0) {
        hosts = json_loads(row.hosts, 0, NULL);
        cr_range_row_free(&row);
    }
    cr_state_close(st);
    cr_error_clear();
    if (!json_is_array(hosts) || json_array_size(hosts) == 0) {
        json_decref(hosts);
        hosts = json_pack("[s]", c->connect);
    }
    return hosts;
}

int cr_range_down(const cr_config *c, const char *range, bool purge, cr_down_report *rep)
{
    memset(rep, 0, sizeof *rep);
    double t0 = cr_now_seconds();
    if (!cr_range_name_valid(range))
        return cr_error_set(CR_EINVAL, "bad range name '%s'", range);
    int lockfd = -1;
    int rc = cr_range_lock(&lockfd, c->state_dir, range);
    if (rc < 0)
        return rc;
    json_t *hosts = range_hosts(c, range);
    size_t hi;
    json_t *hv;
    cr_buf unreached = {0};
    json_array_foreach(hosts, hi, hv)
    {
        cr_virt *v = NULL;
        cr_found f = {0};
        int jobs = down_jobs(c->jobs);
        rc = cr_virt_open(&v, json_string_value(hv), conns_for(jobs));
        if (rc < 0 && json_array_size(hosts) > 1) {
            /* The other hosts still go down; this one at a later down. */
            cr_buf_addf(&unreached, "%s%s (%s)", unreached.len ? "; " : "", json_string_value(hv),
                        cr_error_message());
            cr_log_warn("%s", cr_error_message());
            cr_error_clear();
            rc = 0;
            continue;
        }
        if (rc == 0)
            rc = cr_virt_scan(&f, v, range);
        down_ctx x = {v, &f, cr_name_pool(range)};
        cr_pool_result res = {0};
        if (rc == 0 && f.n_doms) {
            cr_progress *p = cr_progress_new("removing VMs", f.n_doms, c->progress, c->json);
            cr_pool_run(&res, f.n_doms, jobs, job_down_domain, &x, NULL, NULL);
            cr_progress_end(p, res.failed);
            rc = pool_failures(&res);
            rep->domains += f.n_doms - res.failed;
            cr_pool_result_free(&res);
        }
        if (rc == 0 && f.n_nets) {
            cr_pool_run(&res, f.n_nets, jobs, job_down_network, &x, NULL, NULL);
            rc = pool_failures(&res);
            rep->networks += f.n_nets - res.failed;
            cr_pool_result_free(&res);
        }
        for (size_t i = 0; rc == 0 && i < f.n_pools; i++) {
            rc = cr_virt_remove_pool(v, 0, f.pools[i].name);
            rep->pools += rc == 0;
        }
        cr_found_free(&f);
        free(x.pool);
        cr_virt_close(v);
        if (rc < 0)
            break;
    }
    json_decref(hosts);
    if (rc == 0 && unreached.len) {
        /* The record stays, so that the next down knows where to look. */
        rc = cr_error_set(CR_ERROR,
                          "range '%s': removed %zu VMs and %zu networks; could not reach %s; its record is kept: run "
                          "crange down %s again when the host answers",
                          range, rep->domains, rep->networks, unreached.data, range);
    }
    cr_buf_free(&unreached);
    if (rc == 0) {
        /* The overlay folder of a local host, in case a crash left it
         * without a pool. */
        char *dir = cr_config_overlays(c, range);
        rc = cr_rm_rf(dir);
        free(dir);
    }
    if (rc == 0) {
        if (purge) {
            char *rdir = cr_range_dir(c->state_dir, range);
            rc = cr_rm_rf(rdir);
            free(rdir);
        } else {
            cr_state *st = NULL;
            if (cr_state_open(&st, c->state_dir, range, false) == 0) {
                json_t *ev = json_pack("{s:I, s:I}", "domains", (json_int_t)rep->domains, "networks",
                                       (json_int_t)rep->networks);
                cr_event_add(st, 0, 0, NULL, "range.down", ev, NULL, NULL);
                cr_state_set_status(st, "down");
                json_decref(ev);
            }
            cr_state_close(st);
            cr_error_clear();
            rc = cr_state_archive(c->state_dir, range, &rep->archived);
        }
    }
    cr_range_unlock(lockfd);
    rep->seconds = cr_now_seconds() - t0;
    return rc;
}

void cr_down_report_free(cr_down_report *rep)
{
    if (rep) {
        free(rep->archived);
        rep->archived = NULL;
    }
}

/* -------------------------------------------------------------- status */

static const char *state_name(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
    case VIR_DOMAIN_SHUTOFF: return "shut-off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return "unknown";
    }
}

typedef struct status_ctx {
    cr_virt **virts;    /* per host; NULL for one that does not answer */
    const int *vm_host; /* per VM: its host's index */
    cr_range_status_vm *vms;
    const int *states;  /* per VM: virDomainState, -1 when missing */
} status_ctx;

/* A VM whose host does not answer. */
#define STATE_HOST_DOWN (-2)

static int job_status(size_t i, int w, void *ctx)
{
    status_ctx *x = ctx;
    cr_range_status_vm *vm = &x->vms[i];
    if (x->states[i] != VIR_DOMAIN_RUNNING)
        return 0;
    virDomainPtr d = NULL;
    if (cr_virt_domain(&d, x->virts[x->vm_host[i]], w, vm->domain) == 0) {
        vm->agent = cr_agent_ping(d, 1) == 0;
        virDomainFree(d);
    }
    cr_error_clear();
    return 0;
}

/* The addresses of a VM's NICs as the database has them (a JSON array of
 * {network, mac, address, prefix}); a NIC without an address is left out. */
static void status_addresses(cr_range_status_vm *vm, const char *nics_text)
{
    json_t *nics = nics_text ? json_loads(nics_text, 0, NULL) : NULL;
    vm->addresses = cr_xcalloc(json_array_size(nics) ? json_array_size(nics) : 1, sizeof *vm->addresses);
    size_t k;
    json_t *nic;
    json_array_foreach(nics, k, nic)
    {
        const char *net = json_string_value(json_object_get(nic, "network"));
        const char *addr = json_string_value(json_object_get(nic, "address"));
        const char *mac = json_string_value(json_object_get(nic, "mac"));
        if (!net || !addr || !*addr || !mac)
            continue;
        cr_range_status_addr *a = &vm->addresses[vm->n_addresses++];
        a->network = cr_xstrdup(net);
        a->address = cr_xstrdup(addr);
        a->mac = cr_xstrdup(mac);
    }
    json_decref(nics);
}

/* A new, zeroed VM row, and room for its state in *states. */
static cr_range_status_vm *status_add_vm(cr_range_status *rs, size_t *cap, int **states, size_t *states_cap)
{
    cr_grow(&rs->vms, cap, rs->n_vms + 1, sizeof *rs->vms);
    cr_grow(states, states_cap, rs->n_vms + 1, sizeof **states);
    return &rs->vms[rs->n_vms++];
}

/* One range: planned VMs from the database, joined with what libvirt has;
 * VMs libvirt has that the database lacks are listed too. */
static int status_range(cr_range_status *rs, const cr_config *c, const char *range)
{
    cr_state *st = NULL;
    cr_range_row row = {0};
    bool have_row = cr_state_open(&st, c->state_dir, range, false) == 0 && cr_state_get_range(st, &row) == 0;
    cr_error_clear();
    rs->range = cr_xstrdup(range);
    rs->recorded = have_row;
    rs->status = cr_xstrdup(have_row ? row.status : "no state database");
    if (have_row) {
        rs->scenario = cr_xstrdup(row.scenario_id);
        rs->accel = cr_xstrdup(row.accel);
        rs->teams = row.teams;
        rs->scenario_digest = cr_xstrdup(row.scenario_digest);
    }
    json_t *prov = have_row && row.provenance ? json_loads(row.provenance, 0, NULL) : NULL;
    if (prov) {
        rs->provenance = cr_xcalloc(1, sizeof *rs->provenance);
        if (cr_provenance_from_json(rs->provenance, prov) < 0) {
            cr_provenance_clear(rs->provenance);
            free(rs->provenance);
            rs->provenance = NULL;
            cr_error_clear();
        }
        json_decref(prov);
    }

    /* Every host of the range, each scanned; one that does not answer is
     * reported with its VMs rather than failing the whole status. */
    json_t *hosts = range_hosts(c, range);
    size_t nh = json_array_size(hosts);
    cr_virt **virts = cr_xcalloc(nh, sizeof *virts);
    cr_found *found = cr_xcalloc(nh, sizeof *found);
    rs->hosts = cr_xcalloc(nh, sizeof *rs->hosts);
    int rc = 0;
    for (size_t h = 0; h < nh && rc == 0; h++) {
        const char *uri = json_string_value(json_array_get(hosts, h));
        rs->hosts[h].uri = cr_xstrdup(uri);
        rs->n_hosts++;
        if (cr_virt_open(&virts[h], uri, conns_for(c->jobs)) < 0 ||
            cr_virt_scan(&found[h], virts[h], range) < 0) {
            rs->hosts[h].error = cr_xstrdup(cr_error_message());
            cr_error_clear();
            cr_virt_close(virts[h]);
            virts[h] = NULL;
            continue;
        }
        rs->hosts[h].reachable = true;
    }
    int *states = NULL, *vm_host = NULL;
    size_t cap = 0, states_cap = 0, host_cap = 0;
    if (have_row) {
        sqlite3_stmt *q = NULL;
        sqlite3_prepare_v3(cr_state_db(st), "SELECT team, name, domain, host, nics, entry FROM vms ORDER BY team, rowid",
                           -1, 0, &q, NULL);
        while (q && sqlite3_step(q) == SQLITE_ROW) {
            cr_range_status_vm *vm = status_add_vm(rs, &cap, &states, &states_cap);
            cr_grow(&vm_host, &host_cap, rs->n_vms, sizeof *vm_host);
            vm->team = sqlite3_column_int(q, 0);
            vm->vm = cr_xstrdup((const char *)sqlite3_column_text(q, 1));
            vm->domain = cr_xstrdup((const char *)sqlite3_column_text(q, 2));
            vm->host = cr_xstrdup((const char *)sqlite3_column_text(q, 3));
            status_addresses(vm, (const char *)sqlite3_column_text(q, 4));
            vm->entry = sqlite3_column_int(q, 5);
            int h = 0;
            while ((size_t)h < nh && strcmp(rs->hosts[h].uri, vm->host ? vm->host : ""))
                h++;
            if ((size_t)h == nh)
                h = 0;
            vm_host[rs->n_vms - 1] = h;
            const cr_found_dom *fd = virts[h] ? cr_found_domain(&found[h], vm->domain) : NULL;
            states[rs->n_vms - 1] = !virts[h] ? STATE_HOST_DOWN : fd ? fd->state : -1;
        }
        sqlite3_finalize(q);
    }
    size_t planned = rs->n_vms;
    for (size_t h = 0; h < nh; h++) {
        const cr_found *f = &found[h];
        for (size_t i = 0; virts[h] && i < f->n_doms; i++) {
            bool listed = false;
            for (size_t j = 0; j < planned && !listed; j++)
                listed = vm_host[j] == (int)h && !strcmp(rs->vms[j].domain, f->doms[i].name);
            if (listed)
                continue;
            cr_range_status_vm *vm = status_add_vm(rs, &cap, &states, &states_cap);
            cr_grow(&vm_host, &host_cap, rs->n_vms, sizeof *vm_host);
            vm->team = f->doms[i].meta.team;
            vm->vm = cr_xstrdup(f->doms[i].meta.name);
            vm->domain = cr_xstrdup(f->doms[i].name);
            vm->host = cr_xstrdup(rs->hosts[h].uri);
            vm_host[rs->n_vms - 1] = (int)h;
            states[rs->n_vms - 1] = f->doms[i].state;
        }
        rs->networks += f->n_nets;
        rs->pools += f->n_pools;
    }
    if (rs->n_vms) {
        status_ctx x = {virts, vm_host, rs->vms, states};
        cr_pool_result res;
        cr_pool_run(&res, rs->n_vms, c->jobs, job_status, &x, NULL, NULL);
        cr_pool_result_free(&res);
    }
    for (size_t i = 0; i < rs->n_vms; i++)
        rs->vms[i].state = states[i] == STATE_HOST_DOWN ? "host-unreachable"
                           : states[i] < 0              ? "missing"
                                                        : state_name(states[i]);
    free(states);
    free(vm_host);
    for (size_t h = 0; h < nh; h++) {
        cr_found_free(&found[h]);
        cr_virt_close(virts[h]);
    }
    free(found);
    free(virts);
    json_decref(hosts);
    cr_range_row_free(&row);
    cr_state_close(st);
    /* A single host that does not answer is the error it always was. */
    if (nh == 1 && !rs->hosts[0].reachable)
        rc = cr_error_set(CR_ERROR, "%s", rs->hosts[0].error);
    return rc;
}

/* Range names from the state folder and from libvirt (metadata). */
static int known_ranges(json_t **names, const cr_config *c)
{
    *names = json_array();
    char **local = NULL;
    size_t n = 0;
    cr_state_list_ranges(&local, &n, c->state_dir);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(*names, json_string(local[i]));
        free(local[i]);
    }
    free(local);
    cr_virt *v = NULL;
    cr_found f = {0};
    int rc = cr_virt_open(&v, c->connect, 1);
    if (rc == 0)
        rc = cr_virt_scan(&f, v, NULL);
    for (size_t i = 0; rc == 0 && i < f.n_doms + f.n_nets + f.n_pools; i++) {
        const char *r = i < f.n_doms ? f.doms[i].meta.range
                        : i < f.n_doms + f.n_nets ? f.nets[i - f.n_doms].meta.range
                                                  : f.pools[i - f.n_doms - f.n_nets].range;
        bool seen = false;
        size_t j;
        json_t *s;
        json_array_foreach(*names, j, s) seen = seen || !strcmp(json_string_value(s), r);
        if (!seen)
            json_array_append_new(*names, json_string(r));
    }
    cr_found_free(&f);
    cr_virt_close(v);
    return rc;
}

int cr_range_status_list_new(cr_range_status_list **out, const cr_config *c, const char *range)
{
    *out = NULL;
    if (range && !cr_range_name_valid(range))
        return cr_error_set(CR_EINVAL, "bad range name '%s'", range);
    cr_range_status_list *list = cr_xcalloc(1, sizeof *list);
    json_t *names = NULL;
    int rc = 0;
    if (range)
        names = json_pack("[s]", range);
    else
        rc = known_ranges(&names, c);
    list->ranges = cr_xcalloc(json_array_size(names) ? json_array_size(names) : 1, sizeof *list->ranges);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        if (rc < 0)
            break;
        rc = status_range(&list->ranges[list->n_ranges++], c, json_string_value(name));
    }
    json_decref(names);
    if (rc == 0 && range) {
        const cr_range_status *rs = &list->ranges[0];
        if (rs->n_vms == 0 && !rs->recorded && rs->networks == 0)
            rc = cr_error_set(CR_ENOTFOUND, "no range '%s' (crange list shows the ranges)", range);
    }
    if (rc < 0)
        cr_range_status_list_free(list);
    else
        *out = list;
    return rc;
}

void cr_range_status_list_free(cr_range_status_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n_ranges; i++) {
        cr_range_status *rs = &list->ranges[i];
        for (size_t j = 0; j < rs->n_vms; j++) {
            cr_range_status_vm *vm = &rs->vms[j];
            for (size_t k = 0; k < vm->n_addresses; k++) {
                free(vm->addresses[k].network);
                free(vm->addresses[k].address);
                free(vm->addresses[k].mac);
            }
            free(vm->addresses);
            free(vm->vm);
            free(vm->domain);
            free(vm->host);
        }
        free(rs->vms);
        for (size_t h = 0; h < rs->n_hosts; h++) {
            free(rs->hosts[h].uri);
            free(rs->hosts[h].error);
        }
        free(rs->hosts);
        cr_provenance_clear(rs->provenance);
        free(rs->provenance);
        free(rs->range);
        free(rs->scenario);
        free(rs->status);
        free(rs->accel);
        free(rs->scenario_digest);
    }
    free(list->ranges);
    free(list);
}

json_t *cr_range_status_json(const cr_range_status *rs)
{
    json_t *vms = json_array();
    for (size_t i = 0; i < rs->n_vms; i++) {
        const cr_range_status_vm *vm = &rs->vms[i];
        json_t *addrs = json_array();
        for (size_t k = 0; k < vm->n_addresses; k++) {
            const cr_range_status_addr *a = &vm->addresses[k];
            json_array_append_new(addrs, json_pack("{s:s, s:s, s:s}", "network", a->network, "address", a->address,
                                                   "mac", a->mac));
        }
        json_array_append_new(vms, json_pack("{s:i, s:s, s:s, s:s, s:s, s:b, s:o, s:b}", "team", vm->team, "vm",
                                             vm->vm, "domain", vm->domain, "host", vm->host, "state", vm->state,
                                             "agent", vm->agent, "addresses", addrs, "entry", vm->entry));
    }
    json_t *obj = json_pack("{s:s, s:s?, s:s?, s:s?, s:i, s:s?, s:I, s:I, s:o}", "range", rs->range, "scenario",
                            rs->scenario, "status", rs->status, "accel", rs->accel, "teams", rs->teams,
                            "scenario_digest", rs->scenario_digest, "networks", (json_int_t)rs->networks, "pools",
                            (json_int_t)rs->pools, "vms", vms);
    if (rs->provenance)
        json_object_set_new(obj, "provenance", cr_provenance_json(rs->provenance));
    json_t *hosts = json_array();
    for (size_t h = 0; h < rs->n_hosts; h++)
        json_array_append_new(hosts, json_pack("{s:s, s:b, s:s?}", "uri", rs->hosts[h].uri, "reachable",
                                               rs->hosts[h].reachable, "error", rs->hosts[h].error));
    json_object_set_new(obj, "hosts", hosts);
    return obj;
}

json_t *cr_range_status_list_json(const cr_range_status_list *list)
{
    json_t *out = json_array();
    for (size_t i = 0; i < list->n_ranges; i++)
        json_array_append_new(out, cr_range_status_json(&list->ranges[i]));
    return out;
}

void cr_range_status_list_print(const cr_range_status_list *list, FILE *out)
{
    for (size_t i = 0; i < list->n_ranges; i++) {
        const cr_range_status *rs = &list->ranges[i];
        fprintf(out, "%sRANGE %s  scenario %s  status %s  accel %s\n", i ? "\n" : "", rs->range,
                rs->scenario ? rs->scenario : "?", rs->status, rs->accel ? rs->accel : "?");
        if (rs->provenance) {
            char *text = cr_provenance_describe(rs->provenance);
            fprintf(out, "from %s\n", text);
            free(text);
        }
        for (size_t h = 0; rs->n_hosts > 1 && h < rs->n_hosts; h++)
            fprintf(out, "host %s: %s%s\n", rs->hosts[h].uri, rs->hosts[h].reachable ? "answers" : "UNREACHABLE: ",
                    rs->hosts[h].reachable ? "" : rs->hosts[h].error);
        if (rs->n_hosts > 1) {
            fprintf(out, "%-5s %-14s %-16s %-6s %-5s %-28s %s\n", "TEAM", "VM", "STATE", "AGENT", "ENTRY", "HOST",
                    "ADDRESSES");
            for (size_t j = 0; j < rs->n_vms; j++) {
                const cr_range_status_vm *vm = &rs->vms[j];
                cr_buf addrs = {0};
                for (size_t k = 0; k < vm->n_addresses; k++)
                    cr_buf_addf(&addrs, "%s%s (%s)", k ? ", " : "", vm->addresses[k].address,
                                vm->addresses[k].network);
                fprintf(out, "%-5d %-14s %-16s %-6s %-5s %-28s %s\n", vm->team, vm->vm, vm->state,
                        vm->agent ? "ready" : "-", vm->entry ? "yes" : "", vm->host ? vm->host : "-",
                        addrs.data ? addrs.data : "-");
                cr_buf_free(&addrs);
            }
            continue;
        }
        fprintf(out, "%-5s %-14s %-10s %-6s %-5s %s\n", "TEAM", "VM", "STATE", "AGENT", "ENTRY", "ADDRESSES");
        for (size_t j = 0; j < rs->n_vms; j++) {
            const cr_range_status_vm *vm = &rs->vms[j];
            cr_buf addrs = {0};
            for (size_t k = 0; k < vm->n_addresses; k++)
                cr_buf_addf(&addrs, "%s%s (%s)", k ? ", " : "", vm->addresses[k].address, vm->addresses[k].network);
            fprintf(out, "%-5d %-14s %-10s %-6s %-5s %s\n", vm->team, vm->vm, vm->state, vm->agent ? "ready" : "-",
                    vm->entry ? "yes" : "", addrs.data ? addrs.data : "-");
            cr_buf_free(&addrs);
        }
    }
}

int cr_range_list(json_t **out, const cr_config *c)
{
    *out = json_array();
    json_t *names = NULL;
    int rc = known_ranges(&names, c);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name)
    {
        const char *r = json_string_value(name);
        cr_state *st = NULL;
        cr_range_row row = {0};
        bool have = cr_state_open(&st, c->state_dir, r, false) == 0 && cr_state_get_range(st, &row) == 0;
        cr_error_clear();
        char when[32] = "";
        if (have)
            cr_iso8601(when, row.created_ms);
        json_array_append_new(*out, json_pack("{s:s, s:s?, s:s?, s:i, s:s, s:s?}", "range", r, "scenario",
                                              have ? row.scenario_id : NULL, "title",
                                              have ? row.title_en : NULL, "teams", have ? row.teams : 0, "status",
                                              have ? row.status : "no state database (libvirt objects only)",
                                              "created", have ? when : NULL));
        cr_range_row_free(&row);
        cr_state_close(st);
    }
    json_decref(names);
    return rc;
}

int cr_range_domain(virDomainPtr *dom, cr_virt **v, const cr_config *c, const char *range, int team,
                    const char *vm)
{
    *dom = NULL;
    *v = NULL;
    if (!cr_range_name_valid(range))
        return cr_error_set(CR_EINVAL, "bad range name '%s'", range);
    if (team < 1 || team > CR_MAX_TEAMS)
        return cr_error_set(CR_EINVAL, "bad team number %d (teams are numbered from 1)", team);
    if (!cr_name_valid(vm, CR_NAME_MAX))
        return cr_error_set(CR_EINVAL, "bad vm name '%s'", vm);
    json_t *hosts = range_hosts(c, range);
    char *name = cr_name_domain(range, team, vm);
    char *uri = cr_range_vm_host(c, range, team, vm);
    int rc = cr_virt_open(v, uri, 1);
    free(uri);
    if (rc == 0) {
        rc = cr_virt_domain(dom, *v, 0, name);
        if (rc == CR_ENOTFOUND) {
            cr_error_clear();
            rc = cr_error_set(CR_ENOTFOUND, "range '%s' has no vm '%s' in team %d", range, vm, team);
        }
    }
    if (rc == 0) {
        /* The name alone could be anyone's; the metadata makes it ours. */
        char *meta = virDomainGetMetadata(*dom, VIR_DOMAIN_METADATA_ELEMENT, CR_XMLNS, 0);
        cr_meta m;
        if (!meta || cr_meta_parse(&m, meta) < 0 || strcmp(m.range, range) || m.team != team)
            rc = cr_error_set(CR_ENOTFOUND, "domain '%s' is not a crange VM of range '%s'", name, range);
        free(meta);
    }
    if (rc < 0) {
        if (*dom)
            virDomainFree(*dom);
        *dom = NULL;
        cr_virt_close(*v);
        *v = NULL;
    }
    free(name);
    json_decref(hosts);
    return rc;
}

int cr_range_revert(const cr_config *c, const char *range, int team, const char *vm, cr_up_report *rep)
{
    memset(rep, 0, sizeof *rep);
    virDomainPtr dom = NULL;
    cr_virt *v = NULL;
    /* Found by name and metadata first: only a VM of this range goes. */
    int rc = cr_range_domain(&dom, &v, c, range, team, vm);
    if (rc < 0)
        return rc;
    virDomainFree(dom);
    char *name = cr_name_domain(range, team, vm);
    char *pool = cr_name_pool(range);
    char *vol = cr_xasprintf("t%d.%s.qcow2", team, vm);
    cr_log_info("reverting %s: removing it and its overlay", name);
    rc = cr_virt_remove_domain(v, 0, name);
    if (rc == 0)
        rc = cr_virt_remove_volume(v, 0, pool, vol);
    cr_virt_close(v);
    free(vol);
    free(pool);
    free(name);
    if (rc < 0)
        return rc;
    /* The reconcile makes what is missing: a fresh overlay on the base
     * image (or a restore from the VM's template), the domain, its boot and
     * its provisioning, as at `up`; the other VMs are left as they are. */
    cr_up_opts u = {.range = range, .only_team = team, .only_vm = vm};
    return cr_range_up(c, &u, rep);
}
