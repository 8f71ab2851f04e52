/*
 * hosts.c: the host list of hosts.h (a JSON file in the state folder) and
 * the placement of teams on hosts by capacity.
 */
#include "hosts.h"

#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTS_FILE "hosts.json"

static void host_clear(cr_host *h)
{
    free(h->name);
    free(h->uri);
    free(h->address);
    json_decref(h->labels);
}

void cr_hosts_free(cr_hosts *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        host_clear(&h->v[i]);
    free(h->v);
    h->v = NULL;
    h->n = 0;
}

void cr_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* A libvirt URI as crange takes it: scheme://[host]/path, printable ASCII
 * without spaces or quotes (it is printed, logged and stored). */
static int check_uri(const char *uri)
{
    size_t len = strlen(uri);
    if (len == 0 || len > 512)
        return cr_error_set(CR_EINVAL, "host URI must be 1 to 512 characters");
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)uri[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '\'' || ch == '\\')
            return cr_error_set(CR_EINVAL, "host URI '%.64s' has a character libvirt URIs do not (position %zu)",
                                uri, i + 1);
    }
    const char *sep = strstr(uri, "://");
    if (!sep || sep == uri)
        return cr_error_set(CR_EINVAL, "host URI '%s' is not a libvirt URI (scheme://[host]/path, as "
                                       "qemu+ssh://lab2/system)", uri);
    for (const char *p = uri; p < sep; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+'))
            return cr_error_set(CR_EINVAL, "host URI '%s': bad scheme", uri);
    return 0;
}

static int check_name(const char *name)
{
    if (!cr_name_valid(name, CR_HOST_NAME_MAX))
        return cr_error_set(CR_EINVAL, "host name '%.40s' must be a lowercase letter then letters, digits or '-' "
                                       "(at most %d)", name, CR_HOST_NAME_MAX);
    if (!strcmp(name, "all"))
        return cr_error_set(CR_EINVAL, "host name 'all' is taken by --hosts all");
    return 0;
}

/* "K=V" into labels; K is a name, V printable. */
static int add_label(json_t *labels, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return cr_error_set(CR_EINVAL, "label '%s' must be KEY=VALUE", kv);
    char *key = cr_xstrndup(kv, (size_t)(eq - kv));
    int rc = 0;
    if (!cr_name_valid(key, 32))
        rc = cr_error_set(CR_EINVAL, "label key '%s' must be a lowercase letter then letters, digits or '-'", key);
    for (const char *p = eq + 1; rc == 0 && *p; p++)
        if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
            rc = cr_error_set(CR_EINVAL, "label '%s': a control character in its value", key);
    if (rc == 0 && strlen(eq + 1) > 128)
        rc = cr_error_set(CR_EINVAL, "label '%s': value over 128 characters", key);
    if (rc == 0)
        json_object_set_new(labels, key, json_string(eq + 1));
    free(key);
    return rc;
}

int cr_hosts_add(cr_hosts *h, const char *name, const char *uri, uint64_t memory_mib, unsigned cpus,
                 const char *address, const char *const *labels, size_t n_labels)
{
    int rc = check_name(name);
    if (rc == 0)
        rc = check_uri(uri);
    uint32_t ip;
    if (rc == 0 && address && cr_ipv4_parse(&ip, address) < 0) {
        cr_error_clear();
        rc = cr_error_set(CR_EINVAL, "host address '%.40s' is not an IPv4 address", address);
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < h->n; i++) {
        if (!strcmp(h->v[i].name, name))
            return cr_error_set(CR_EEXISTS, "host '%s' exists (%s); remove it first", name, h->v[i].uri);
        if (!strcmp(h->v[i].uri, uri))
            return cr_error_set(CR_EEXISTS, "host '%s' already has URI %s", h->v[i].name, uri);
    }
    if (h->n >= CR_HOSTS_MAX)
        return cr_error_set(CR_ELIMIT, "at most %d hosts", CR_HOSTS_MAX);
    json_t *lj = json_object();
    for (size_t i = 0; rc == 0 && i < n_labels; i++)
        rc = add_label(lj, labels[i]);
    if (rc < 0) {
        json_decref(lj);
        return rc;
    }
    h->v = cr_xrealloc(h->v, (h->n + 1) * sizeof *h->v);
    h->v[h->n++] = (cr_host){cr_xstrdup(name), cr_xstrdup(uri), memory_mib, cpus, cr_xstrdup(address), lj};
    return 0;
}

int cr_hosts_remove(cr_hosts *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++) {
        if (strcmp(h->v[i].name, name))
            continue;
        host_clear(&h->v[i]);
        memmove(&h->v[i], &h->v[i + 1], (h->n - i - 1) * sizeof *h->v);
        h->n--;
        return 0;
    }
    return cr_error_set(CR_ENOTFOUND, "no host '%s' (crange host list)", name);
}

const cr_host *cr_hosts_find(const cr_hosts *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (!strcmp(h->v[i].name, name))
            return &h->v[i];
    return NULL;
}

int cr_hosts_load(cr_hosts *out, const char *state_dir)
{
    memset(out, 0, sizeof *out);
    char *path = cr_path_join(state_dir, HOSTS_FILE);
    int rc = 0;
    json_t *root = NULL;
    if (!cr_path_exists(path))
        goto cleanup;
    json_error_t je;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        rc = cr_error_set(CR_EINVAL, "%s:%d: %s", path, je.line, je.text);
        goto cleanup;
    }
    json_t *list = json_object_get(root, "hosts");
    if (!json_is_array(list)) {
        rc = cr_error_set(CR_EINVAL, "%s: no \"hosts\" array", path);
        goto cleanup;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *uri = json_string_value(json_object_get(e, "uri"));
        json_t *mem = json_object_get(e, "memory_mib"), *cpus = json_object_get(e, "cpus");
        json_t *labels = json_object_get(e, "labels");
        json_t *addr = json_object_get(e, "address");
        if (!name || !uri || (addr && !json_is_string(addr) && !json_is_null(addr)) ||
            (mem && !json_is_integer(mem)) || (cpus && !json_is_integer(cpus)) ||
            json_integer_value(mem) < 0 || json_integer_value(cpus) < 0 || json_integer_value(cpus) > 65536 ||
            (labels && !json_is_object(labels))) {
            rc = cr_error_set(CR_EINVAL, "%s: host %zu is malformed", path, i + 1);
            goto cleanup;
        }
        /* Labels through add_label, so a hand-edited file gets the same checks. */
        const char *k;
        json_t *lv;
        char **kv = cr_xcalloc(json_object_size(labels) + 1, sizeof *kv);
        size_t n_kv = 0;
        json_object_foreach(labels, k, lv)
            kv[n_kv++] = cr_xasprintf("%s=%s", k, json_is_string(lv) ? json_string_value(lv) : "");
        rc = cr_hosts_add(out, name, uri, (uint64_t)json_integer_value(mem), (unsigned)json_integer_value(cpus),
                          json_string_value(addr), (const char *const *)kv, n_kv);
        cr_strv_free(kv, n_kv);
        if (rc < 0) {
            char *inner = cr_xstrdup(cr_error_message());
            rc = cr_error_replace(rc, "%s: host %zu: %s", path, i + 1, inner);
            free(inner);
            goto cleanup;
        }
    }
cleanup:
    if (rc < 0)
        cr_hosts_free(out);
    json_decref(root);
    free(path);
    return rc;
}

int cr_hosts_save(const cr_hosts *h, const char *state_dir)
{
    json_t *list = json_array();
    for (size_t i = 0; i < h->n; i++) {
        const cr_host *x = &h->v[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:i, s:s?, s:O}", "name", x->name, "uri", x->uri,
                                              "memory_mib", (json_int_t)x->memory_mib, "cpus", (int)x->cpus,
                                              "address", x->address, "labels", x->labels));
    }
    json_t *root = json_pack("{s:o}", "hosts", list);
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    char *path = cr_path_join(state_dir, HOSTS_FILE);
    size_t len = strlen(text);
    text = cr_xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    int rc = cr_write_file_atomic(path, text, len, 0644);
    free(path);
    free(text);
    return rc;
}

int cr_hosts_select(char ***out, size_t *n, const cr_hosts *h, const char *spec)
{
    *out = NULL;
    *n = 0;
    if (!strcmp(spec, "all")) {
        if (h->n == 0)
            return cr_error_set(CR_ENOTFOUND, "--hosts all: no host added (crange host add NAME URI)");
        *out = cr_xcalloc(h->n, sizeof **out);
        for (size_t i = 0; i < h->n; i++)
            (*out)[i] = cr_xstrdup(h->v[i].uri);
        *n = h->n;
        return 0;
    }
    char *copy = cr_xstrdup(spec), *save = NULL;
    char **v = NULL;
    size_t k = 0;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
        const cr_host *x = cr_hosts_find(h, tok);
        if (!x) {
            rc = cr_error_set(CR_ENOTFOUND, "--hosts: no host '%s' (crange host list)", tok);
            break;
        }
        for (size_t j = 0; j < k; j++)
            if (!strcmp(v[j], x->uri))
                rc = cr_error_set(CR_EINVAL, "--hosts: host '%s' named twice", tok);
        if (rc == 0) {
            v = cr_xrealloc(v, (k + 1) * sizeof *v);
            v[k++] = cr_xstrdup(x->uri);
        }
    }
    free(copy);
    if (rc == 0 && k == 0)
        rc = cr_error_set(CR_EINVAL, "--hosts needs host names separated by commas, or all");
    if (rc < 0) {
        cr_strv_free(v, k);
        return rc;
    }
    *out = v;
    *n = k;
    return 0;
}

/* ------------------------------------------------------------ placement */

/* What one VM takes on its host: its memory plus QEMU's own, and its vCPUs. */
static uint64_t vm_mib(const cr_vm *vm)
{
    return vm->memory_mib + CR_PLACE_VM_OVERHEAD_MIB;
}

static unsigned vm_vcpus(const cr_vm *vm)
{
    return vm->vcpus ? vm->vcpus : 1;
}

uint64_t cr_place_team_mib(const cr_team_model *tm)
{
    uint64_t mib = 0;
    for (size_t i = 0; i < tm->n_vms; i++)
        mib += vm_mib(&tm->vms[i]);
    return mib;
}

unsigned cr_place_team_vcpus(const cr_team_model *tm)
{
    unsigned n = 0;
    for (size_t i = 0; i < tm->n_vms; i++)
        n += vm_vcpus(&tm->vms[i]);
    return n;
}

size_t cr_place_vm_count(const cr_scenario *s)
{
    size_t n = 0;
    for (size_t t = 0; t < s->n_teams; t++)
        n += s->teams[t].n_vms;
    return n;
}

/* The memory a host offers teams: its capacity less the host's reserve. */
static uint64_t mib_cap(const cr_place_host *h)
{
    return h->memory_mib > CR_PLACE_HOST_RESERVE_MIB ? h->memory_mib - CR_PLACE_HOST_RESERVE_MIB : 0;
}

static uint64_t mib_left(const cr_place_host *h)
{
    uint64_t cap = mib_cap(h);
    return cap > h->used_mib ? cap - h->used_mib : 0;
}

/* How full a host would be with mib and vcpus more: the larger of its
 * memory and its vCPUs taken, each as a share of what it offers. */
static double host_load(const cr_place_host *h, uint64_t mib, unsigned vcpus)
{
    uint64_t cap = mib_cap(h);
    double mem = cap ? (double)(h->used_mib + mib) / (double)cap : 1e9;
    double cpu = h->cpus ? (double)(h->used_vcpus + vcpus) / ((double)h->cpus * CR_PLACE_VCPU_PER_CPU) : 1e9;
    return mem > cpu ? mem : cpu;
}

static void take(cr_place_host *h, uint64_t mib, unsigned vcpus)
{
    h->used_mib += mib;
    h->used_vcpus += vcpus;
}

/* "a: 512 MiB left; b: 0 MiB left", for errors (a new string). */
static char *left_text(const cr_place_host *hosts, size_t n_hosts)
{
    cr_buf b = {0};
    for (size_t h = 0; h < n_hosts; h++)
        cr_buf_addf(&b, "%s%s: %llu MiB left", h ? "; " : "", hosts[h].uri, (unsigned long long)mib_left(&hosts[h]));
    return b.data ? cr_buf_steal(&b) : cr_xstrdup("");
}

/* The host for mib and vcpus: among those with the memory free, one of
 * `prefer` (when not NULL; a spreading team's hosts, for fewer tunnels) if
 * any, then the least loaded after it, ties to the earlier host; -1 when
 * none has room. */
static int best_host(const cr_place_host *hosts, size_t n_hosts, uint64_t mib, unsigned vcpus, const bool *prefer)
{
    int best = -1;
    bool best_preferred = false;
    double best_load = 0;
    for (size_t h = 0; h < n_hosts; h++) {
        if (mib_left(&hosts[h]) < mib)
            continue;
        double load = host_load(&hosts[h], mib, vcpus);
        bool preferred = prefer && prefer[h];
        if (best < 0 || (preferred && !best_preferred) || (preferred == best_preferred && load < best_load)) {
            best = (int)h;
            best_preferred = preferred;
            best_load = load;
        }
    }
    return best;
}

/* A spread scenario's team: VM v on host (home + v) mod n_hosts (plan.h),
 * the hosts' memory checked once every team is placed. */
static void place_round_robin(int *vm_host, cr_place_host *hosts, size_t n_hosts, const cr_team_model *tm, int home)
{
    for (size_t v = 0; v < tm->n_vms; v++) {
        if (vm_host[v] >= 0)
            continue;
        vm_host[v] = (int)(((size_t)home + v) % n_hosts);
        take(&hosts[vm_host[v]], vm_mib(&tm->vms[v]), vm_vcpus(&tm->vms[v]));
    }
}

/* A team's VMs not placed yet, one by one, largest first (first-fit
 * decreasing packs best), with hosts the team already uses first. */
static int place_one_by_one(int *vm_host, cr_place_host *hosts, size_t n_hosts, const cr_team_model *tm,
                            bool *team_uses)
{
    for (;;) {
        size_t pick = SIZE_MAX;
        for (size_t v = 0; v < tm->n_vms; v++)
            if (vm_host[v] < 0 && (pick == SIZE_MAX || tm->vms[v].memory_mib > tm->vms[pick].memory_mib))
                pick = v;
        if (pick == SIZE_MAX)
            return 0;
        const cr_vm *vm = &tm->vms[pick];
        int h = best_host(hosts, n_hosts, vm_mib(vm), vm_vcpus(vm), team_uses);
        if (h < 0) {
            char *left = left_text(hosts, n_hosts);
            int rc = cr_error_set(CR_ELIMIT,
                                  "team %d: vm '%s' needs %llu MiB, and no host has it free (%s); add a host (crange "
                                  "host add) or run fewer teams",
                                  tm->number, vm->name, (unsigned long long)vm_mib(vm), left);
            free(left);
            return rc;
        }
        vm_host[pick] = h;
        team_uses[h] = true;
        take(&hosts[h], vm_mib(vm), vm_vcpus(vm));
    }
}

int cr_place_vms(int *vm_host, const cr_scenario *s, cr_place_host *hosts, size_t n_hosts, const int *keep)
{
    if (n_hosts == 0)
        return cr_error_set(CR_EINVAL, "no libvirt host to place the range on");
    /* VMs that stay first: what they hold is not free for the others. */
    for (size_t t = 0, i = 0; t < s->n_teams; t++)
        for (size_t v = 0; v < s->teams[t].n_vms; v++, i++) {
            vm_host[i] = -1;
            if (keep && keep[i] >= 0 && (size_t)keep[i] < n_hosts) {
                vm_host[i] = keep[i];
                take(&hosts[keep[i]], vm_mib(&s->teams[t].vms[v]), vm_vcpus(&s->teams[t].vms[v]));
            }
        }
    bool *uses = cr_xcalloc(n_hosts, sizeof *uses);
    int rc = 0;
    for (size_t t = 0, first = 0; t < s->n_teams && rc == 0; first += s->teams[t].n_vms, t++) {
        const cr_team_model *tm = &s->teams[t];
        int *team = &vm_host[first];
        memset(uses, 0, n_hosts * sizeof *uses);
        size_t placed = 0;
        int home = -1;
        for (size_t v = 0; v < tm->n_vms; v++)
            if (team[v] >= 0) {
                uses[team[v]] = true;
                placed++;
                if (home < 0)
                    home = team[v];
            }
        if (placed == tm->n_vms)
            continue;
        if (s->spread) {
            place_round_robin(team, hosts, n_hosts, tm, home >= 0 ? home : (int)(t % n_hosts));
            continue;
        }
        if (placed == 0) {
            /* A whole team on one host: the least loaded with its memory free. */
            uint64_t mib = cr_place_team_mib(tm);
            unsigned vcpus = cr_place_team_vcpus(tm);
            int best = best_host(hosts, n_hosts, mib, vcpus, NULL);
            if (best >= 0) {
                for (size_t v = 0; v < tm->n_vms; v++)
                    team[v] = best;
                take(&hosts[best], mib, vcpus);
                continue;
            }
            if (n_hosts == 1) {
                char *left = left_text(hosts, n_hosts);
                rc = cr_error_set(CR_ELIMIT,
                                  "team %zu needs %llu MiB, and no host has it free (%s); add a host (crange host "
                                  "add) or run fewer teams",
                                  t + 1, (unsigned long long)mib, left);
                free(left);
                break;
            }
        }
        /* No host holds the team whole (or part of it lives somewhere
         * already): its VMs go where there is room, joined by VXLAN. */
        rc = place_one_by_one(team, hosts, n_hosts, tm, uses);
    }
    free(uses);
    if (rc == 0 && s->spread)
        for (size_t h = 0; h < n_hosts && rc == 0; h++)
            if (hosts[h].used_mib + CR_PLACE_HOST_RESERVE_MIB > hosts[h].memory_mib)
                rc = cr_error_set(CR_ELIMIT, "the spread teams need %llu MiB on %s, which has %llu MiB for them",
                                  (unsigned long long)hosts[h].used_mib, hosts[h].uri,
                                  (unsigned long long)mib_cap(&hosts[h]));
    return rc;
}
