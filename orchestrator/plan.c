/*
 * plan.c: derives names, bridges, MACs and placement for plan.h. Everything
 * here is a pure function of the scenario model and the range name.
 */
#include "plan.h"

#include "err.h"
#include "util.h"

#include <sodium.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

bool cr_range_name_valid(const char *name)
{
    return cr_name_valid(name, CR_RANGE_NAME_MAX);
}

char *cr_name_domain(const char *range, int team, const char *vm)
{
    return cr_xasprintf("crange.%s.t%d.%s", range, team, vm);
}

char *cr_name_network(const char *range, int team, const char *net)
{
    return cr_xasprintf("crange.%s.t%d.%s", range, team, net);
}

char *cr_name_pool(const char *range)
{
    return cr_xasprintf("crange.%s", range);
}

static void hash_parts(unsigned char *out, size_t outlen, const char *a, int b, const char *c, int d)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, outlen);
    char num[32];
    crypto_generichash_update(&st, (const unsigned char *)a, strlen(a) + 1);
    snprintf(num, sizeof num, "%d", b);
    crypto_generichash_update(&st, (const unsigned char *)num, strlen(num) + 1);
    crypto_generichash_update(&st, (const unsigned char *)c, strlen(c) + 1);
    snprintf(num, sizeof num, "%d", d);
    crypto_generichash_update(&st, (const unsigned char *)num, strlen(num) + 1);
    crypto_generichash_final(&st, out, outlen);
}

/* A VXLAN id for a spread team's network: 24 bits of a hash, never 0 and
 * not one another network of the plan has (the hook refuses an id a host
 * already uses, docs/HOSTS.md). */
static uint32_t vni_for(const cr_plan *p, const char *range, int team, const char *net)
{
    for (int attempt = 0;; attempt++) {
        unsigned char h[3];
        char tag[96];
        snprintf(tag, sizeof tag, "vxlan/%s", net);
        hash_parts(h, sizeof h, range, team, tag, attempt);
        uint32_t vni = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
        bool taken = vni == 0;
        for (size_t i = 0; i < p->n_nets && !taken; i++)
            taken = p->nets[i].vni == vni;
        if (!taken)
            return vni;
    }
}

/* Whether a VM of the team on host `host` (where[v] is VM v's; host -1:
 * any) has a NIC on the team's network n. */
static bool net_used(const cr_team_model *tm, const int *where, size_t n, int host)
{
    for (size_t v = 0; v < tm->n_vms; v++)
        for (size_t k = 0; k < tm->vms[v].n_nics; k++)
            if ((host < 0 || where[v] == host) && !strcmp(tm->vms[v].nics[k].network, tm->networks[n].name))
                return true;
    return false;
}

static bool mac_taken(const cr_plan *p, const char *mac)
{
    for (size_t i = 0; i < p->n_vms; i++)
        for (size_t j = 0; j < p->vms[i].n_nics; j++)
            if (!strcmp(p->vms[i].nics[j].mac, mac))
                return true;
    return false;
}

void cr_plan_free(cr_plan *p)
{
    if (!p)
        return;
    free(p->range);
    free(p->pool);
    for (size_t i = 0; i < p->n_hosts; i++) {
        free(p->hosts[i]);
        if (p->addrs)
            free(p->addrs[i]);
    }
    free(p->hosts);
    free(p->addrs);
    for (size_t i = 0; i < p->n_nets; i++) {
        free(p->nets[i].libvirt_name);
        free(p->nets[i].bridge);
    }
    free(p->nets);
    for (size_t i = 0; i < p->n_vms; i++) {
        free(p->vms[i].domain);
        free(p->vms[i].volume);
        free(p->vms[i].nics);
    }
    free(p->vms);
    free(p);
}

int cr_plan_build(cr_plan **out, const cr_scenario *s, const char *range, const char *const *hosts,
                  size_t n_hosts, const int *vm_host)
{
    *out = NULL;
    if (!cr_range_name_valid(range))
        return cr_error_set(CR_EINVAL,
                            "range name '%s' must be a lowercase letter then letters, digits or '-' (at most %d)",
                            range, CR_RANGE_NAME_MAX);
    if (n_hosts < 1)
        return cr_error_set(CR_EINVAL, "no libvirt host to place the range on");
    if (s->n_teams > CR_MAX_TEAMS)
        return cr_error_set(CR_EINVAL, "at most %d teams", CR_MAX_TEAMS);

    cr_plan *p = cr_xcalloc(1, sizeof *p);
    p->range = cr_xstrdup(range);
    p->scenario = s;
    p->pool = cr_name_pool(range);
    p->n_hosts = n_hosts;
    p->hosts = cr_xcalloc(n_hosts, sizeof *p->hosts);
    for (size_t i = 0; i < n_hosts; i++)
        p->hosts[i] = cr_xstrdup(hosts[i]);

    size_t total_nets = 0, total_vms = 0;
    for (size_t t = 0; t < s->n_teams; t++) {
        total_nets += s->teams[t].n_networks;
        total_vms += s->teams[t].n_vms;
    }
    /* A team over several hosts has a network entry on each. */
    p->nets = cr_xcalloc(total_nets * n_hosts + 1, sizeof *p->nets);
    p->vms = cr_xcalloc(total_vms + 1, sizeof *p->vms);
    int *where = cr_xcalloc(total_vms + 1, sizeof *where);

    unsigned char rh[3];
    hash_parts(rh, sizeof rh, range, 0, "bridge", 0);
    char rhex[7];
    cr_hex(rhex, rh, sizeof rh);

    for (size_t t = 0, first = 0; t < s->n_teams; first += s->teams[t].n_vms, t++) {
        const cr_team_model *tm = &s->teams[t];
        /* Without a placement: team by team round-robin, a spread
         * scenario's VMs round-robin from there. */
        int home = (int)((size_t)(tm->number - 1) % n_hosts);
        for (size_t v = 0; v < tm->n_vms; v++) {
            where[first + v] = vm_host                  ? vm_host[first + v]
                               : s->spread && n_hosts > 1 ? (int)(((size_t)home + v) % n_hosts)
                                                          : home;
            if (where[first + v] < 0 || (size_t)where[first + v] >= n_hosts) {
                free(where);
                cr_plan_free(p);
                return cr_error_set(CR_EINVAL, "team %d vm '%s': no host placed", tm->number, tm->vms[v].name);
            }
        }
        const int *team_where = &where[first];
        size_t first_net = p->n_nets;
        for (size_t n = 0; n < tm->n_networks; n++) {
            /* The network on each host a VM of the team is attached to it
             * on; one no VM is attached to, on the team's first host. */
            int unattached_on = net_used(tm, team_where, n, -1) ? -1 : tm->n_vms ? team_where[0] : home;
            uint32_t vni = 0;
            size_t made = 0;
            for (size_t h = 0; h < n_hosts; h++) {
                if ((int)h != unattached_on && !net_used(tm, team_where, n, (int)h))
                    continue;
                cr_plan_net *pn = &p->nets[p->n_nets++];
                pn->team = tm->number;
                pn->net = &tm->networks[n];
                pn->libvirt_name = cr_name_network(range, tm->number, pn->net->name);
                pn->bridge = cr_xasprintf("cr%st%dn%zu", rhex, tm->number, n);
                pn->host = (int)h;
                made++;
                if (!vni)
                    vni = vni_for(p, range, tm->number, pn->net->name);
                pn->vni = vni;
            }
            /* On one host only, it is a plain bridge. */
            if (made == 1)
                p->nets[p->n_nets - 1].vni = 0;
        }
        for (size_t v = 0; v < tm->n_vms; v++) {
            cr_plan_vm *pv = &p->vms[p->n_vms];
            const cr_vm *vm = &tm->vms[v];
            pv->team = tm->number;
            pv->vm = vm;
            pv->tm = tm;
            pv->domain = cr_name_domain(range, tm->number, vm->name);
            pv->volume = cr_xasprintf("t%d.%s.qcow2", tm->number, vm->name);
            pv->host = team_where[v];
            pv->nics = cr_xcalloc(vm->n_nics, sizeof *pv->nics);
            for (size_t k = 0; k < vm->n_nics; k++) {
                cr_plan_nic *pnic = &pv->nics[k];
                pnic->nic = &vm->nics[k];
                for (size_t n = first_net; n < p->n_nets; n++)
                    if (!strcmp(p->nets[n].net->name, vm->nics[k].network) && p->nets[n].host == pv->host)
                        pnic->pnet = &p->nets[n];
                if (!pnic->pnet) {
                    free(where);
                    cr_plan_free(p);
                    return cr_model_error(&vm->nics[k].where, "vm '%s': unknown network '%s'", vm->name,
                                          vm->nics[k].network);
                }
                /* Count only finished VMs in mac_taken by bumping n_vms
                 * after this loop; NICs of this VM are compared via k. */
                for (int attempt = 0;; attempt++) {
                    unsigned char mh[3];
                    char tag[64];
                    snprintf(tag, sizeof tag, "%s/%zu", vm->name, k);
                    hash_parts(mh, sizeof mh, range, tm->number, tag, attempt);
                    snprintf(pnic->mac, sizeof pnic->mac, "52:54:00:%02x:%02x:%02x", mh[0], mh[1], mh[2]);
                    bool dup = mac_taken(p, pnic->mac);
                    for (size_t j = 0; j < k && !dup; j++)
                        dup = !strcmp(pv->nics[j].mac, pnic->mac);
                    if (!dup)
                        break;
                }
            }
            pv->n_nics = vm->n_nics;
            p->n_vms++;
        }
    }
    free(where);
    *out = p;
    return 0;
}

const cr_plan_vm *cr_plan_find_vm(const cr_plan *p, int team, const char *vm)
{
    for (size_t i = 0; i < p->n_vms; i++)
        if (p->vms[i].team == team && !strcmp(p->vms[i].vm->name, vm))
            return &p->vms[i];
    return NULL;
}

static json_t *text_json(const cr_text *t)
{
    return json_pack("{s:s?, s:s?}", "ja", t->ja, "en", t->en);
}

json_t *cr_plan_to_json(const cr_plan *p, bool show_secrets)
{
    const cr_scenario *s = p->scenario;
    char digest[65], addr[16];
    cr_hex(digest, s->digest, sizeof s->digest);
    json_t *teams = json_array();
    for (size_t t = 0; t < s->n_teams; t++) {
        const cr_team_model *tm = &s->teams[t];
        json_t *nets = json_array(), *vms = json_array(), *vars = json_object();
        int host = -1;
        for (size_t i = 0; i < p->n_nets; i++) {
            const cr_plan_net *pn = &p->nets[i];
            if (pn->team != tm->number)
                continue;
            cr_ipv4_format(addr, pn->net->addr);
            if (host < 0)
                host = pn->host;
            char *cidr = cr_xasprintf("%s/%d", addr, pn->net->prefix);
            json_t *nj = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s?, s:s}", "name", pn->net->name, "libvirt_name",
                                   pn->libvirt_name, "bridge", pn->bridge, "cidr", cidr, "dhcp", pn->net->dhcp,
                                   "forward", pn->net->forward, "host", p->hosts[pn->host]);
            if (pn->vni)
                json_object_set_new(nj, "vxlan_id", json_integer(pn->vni));
            json_array_append_new(nets, nj);
            free(cidr);
        }
        for (size_t i = 0; i < p->n_vms; i++) {
            const cr_plan_vm *pv = &p->vms[i];
            if (pv->team != tm->number)
                continue;
            json_t *nics = json_array();
            for (size_t k = 0; k < pv->n_nics; k++) {
                json_t *nic = json_pack("{s:s, s:s, s:s}", "network", pv->nics[k].nic->network, "bridge",
                                        pv->nics[k].pnet->bridge, "mac", pv->nics[k].mac);
                if (pv->nics[k].nic->addr) {
                    cr_ipv4_format(addr, pv->nics[k].nic->addr);
                    json_object_set_new(nic, "address", json_string(addr));
                    json_object_set_new(nic, "prefix", json_integer(pv->nics[k].pnet->net->prefix));
                }
                json_array_append_new(nics, nic);
            }
            json_t *vm = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:o}", "name", pv->vm->name, "domain",
                                   pv->domain, "volume", pv->volume, "image", pv->vm->image, "memory_mib",
                                   (int)pv->vm->memory_mib, "vcpus", (int)pv->vm->vcpus, "entry",
                                   pv->vm->entry, "nics", nics);
            json_object_set_new(vm, "host", json_string(p->hosts[pv->host]));
            if (pv->vm->gateway) {
                cr_ipv4_format(addr, pv->vm->gateway);
                json_object_set_new(vm, "gateway", json_string(addr));
            }
            if (pv->vm->role)
                json_object_set_new(vm, "role", json_string(pv->vm->role));
            json_object_set_new(vm, "steps", json_integer((json_int_t)pv->vm->n_steps));
            json_array_append_new(vms, vm);
        }
        for (size_t i = 0; i < tm->n_vars; i++) {
            const cr_var *v = &tm->vars[i];
            json_object_set_new(vars, v->name,
                                json_string(v->secret && !show_secrets ? "(secret)" : v->value));
        }
        bool spread = false;
        for (size_t i = 0, first = SIZE_MAX; i < p->n_vms; i++) {
            if (p->vms[i].team != tm->number)
                continue;
            if (first == SIZE_MAX) {
                first = i;
                host = p->vms[i].host; /* a spread team's home: its first VM's host */
            }
            spread = spread || p->vms[i].host != p->vms[first].host;
        }
        json_array_append_new(teams, json_pack("{s:i, s:s, s:b, s:o, s:o, s:o}", "team", tm->number, "host",
                                               p->hosts[host < 0 ? 0 : host], "spread", spread, "networks", nets,
                                               "vms", vms, "vars", vars));
    }
    return json_pack("{s:s, s:{s:s, s:o, s:s, s:s}, s:s, s:o}", "range", p->range, "scenario", "id", s->id,
                     "title", text_json(&s->title), "dir", s->dir, "digest", digest, "pool", p->pool, "teams",
                     teams);
}

void cr_plan_print(const cr_plan *p, FILE *out, bool show_secrets)
{
    const cr_scenario *s = p->scenario;
    char addr[16];
    fprintf(out, "range %s: scenario %s (%s), %zu team%s\n", p->range, s->id, s->title.en ? s->title.en : "",
            s->n_teams, s->n_teams == 1 ? "" : "s");
    for (size_t t = 0; t < s->n_teams; t++) {
        const cr_team_model *tm = &s->teams[t];
        fprintf(out, "\nteam %d\n", tm->number);
        for (size_t i = 0; i < p->n_nets; i++) {
            const cr_plan_net *pn = &p->nets[i];
            if (pn->team != tm->number)
                continue;
            cr_ipv4_format(addr, pn->net->addr);
            fprintf(out, "  network %-12s %s/%-3d bridge %-15s %s", pn->net->name, addr, pn->net->prefix,
                    pn->bridge, pn->libvirt_name);
            /* With several hosts, where each piece is (a team over several
             * hosts has a network on each, joined by VXLAN). */
            if (p->n_hosts > 1)
                fprintf(out, "  on %s", p->hosts[pn->host]);
            if (pn->vni)
                fprintf(out, ", VXLAN %u", pn->vni);
            fputc('\n', out);
        }
        for (size_t i = 0; i < p->n_vms; i++) {
            const cr_plan_vm *pv = &p->vms[i];
            if (pv->team != tm->number)
                continue;
            fprintf(out, "  vm %-12s image %s%s%s, %u MiB, %u vcpu%s%s  %s", pv->vm->name, pv->vm->image,
                    pv->vm->role ? ", role " : "", pv->vm->role ? pv->vm->role : "", pv->vm->memory_mib,
                    pv->vm->vcpus, pv->vm->vcpus == 1 ? "" : "s", pv->vm->entry ? ", entry" : "", pv->domain);
            if (p->n_hosts > 1)
                fprintf(out, "  on %s", p->hosts[pv->host]);
            fputc('\n', out);
            for (size_t k = 0; k < pv->n_nics; k++) {
                if (pv->nics[k].nic->addr)
                    cr_ipv4_format(addr, pv->nics[k].nic->addr);
                else
                    strcpy(addr, "-");
                fprintf(out, "     nic %-10s %s %s\n", pv->nics[k].nic->network, pv->nics[k].mac, addr);
            }
        }
        for (size_t i = 0; i < tm->n_vars; i++) {
            const cr_var *v = &tm->vars[i];
            fprintf(out, "  var %s = %s\n", v->name, v->secret && !show_secrets ? "(secret)" : v->value);
        }
    }
}
