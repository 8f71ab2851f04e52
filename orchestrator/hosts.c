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

uint64_t cr_place_team_mib(const cr_team_model *tm)
{
    uint64_t mib = 0;
    for (size_t i = 0; i < tm->n_vms; i++)
        mib += tm->vms[i].memory_mib + CR_PLACE_VM_OVERHEAD_MIB;
    return mib;
}

unsigned cr_place_team_vcpus(const cr_team_model *tm)
{
    unsigned n = 0;
    for (size_t i = 0; i < tm->n_vms; i++)
        n += tm->vms[i].vcpus ? tm->vms[i].vcpus : 1;
    return n;
}

static uint64_t mib_left(const cr_place_host *h)
{
    uint64_t cap = h->memory_mib > CR_PLACE_HOST_RESERVE_MIB ? h->memory_mib - CR_PLACE_HOST_RESERVE_MIB : 0;
    return cap > h->used_mib ? cap - h->used_mib : 0;
}

/* How full a host would be with one more team: the larger of its memory
 * and its vCPUs taken, each as a share of what it offers. */
static double host_load(const cr_place_host *h, uint64_t mib, unsigned vcpus)
{
    uint64_t cap = h->memory_mib > CR_PLACE_HOST_RESERVE_MIB ? h->memory_mib - CR_PLACE_HOST_RESERVE_MIB : 0;
    double mem = cap ? (double)(h->used_mib + mib) / (double)cap : 1e9;
    double cpu = h->cpus ? (double)(h->used_vcpus + vcpus) / ((double)h->cpus * CR_PLACE_VCPU_PER_CPU) : 1e9;
    return mem > cpu ? mem : cpu;
}

int cr_place_teams(int *team_host, const cr_scenario *s, cr_place_host *hosts, size_t n_hosts, const int *keep)
{
    if (n_hosts == 0)
        return cr_error_set(CR_EINVAL, "no libvirt host to place the range on");
    /* Teams that stay first: what they hold is not free for the others. */
    for (size_t t = 0; t < s->n_teams; t++) {
        team_host[t] = -1;
        if (keep && keep[t] >= 0 && (size_t)keep[t] < n_hosts) {
            team_host[t] = keep[t];
            hosts[keep[t]].used_mib += cr_place_team_mib(&s->teams[t]);
            hosts[keep[t]].used_vcpus += cr_place_team_vcpus(&s->teams[t]);
        }
    }
    for (size_t t = 0; t < s->n_teams; t++) {
        if (team_host[t] >= 0)
            continue;
        uint64_t mib = cr_place_team_mib(&s->teams[t]);
        unsigned vcpus = cr_place_team_vcpus(&s->teams[t]);
        int best = -1;
        double best_load = 0;
        for (size_t h = 0; h < n_hosts; h++) {
            uint64_t left = mib_left(&hosts[h]);
            if (left < mib)
                continue;
            double load = host_load(&hosts[h], mib, vcpus);
            if (best < 0 || load < best_load) {
                best = (int)h;
                best_load = load;
            }
        }
        if (best < 0) {
            cr_buf b = {0};
            for (size_t h = 0; h < n_hosts; h++)
                cr_buf_addf(&b, "%s%s: %llu MiB left", h ? "; " : "", hosts[h].uri,
                            (unsigned long long)mib_left(&hosts[h]));
            int rc = cr_error_set(CR_ELIMIT,
                                  "team %zu needs %llu MiB, and no host has it free (%s); add a host (crange host "
                                  "add), run fewer teams%s",
                                  t + 1, (unsigned long long)mib, b.data ? b.data : "",
                                  n_hosts > 1 ? ", or let each team spread over the hosts (spread = true in the "
                                                "scenario; docs/HOSTS.md)"
                                              : "");
            cr_buf_free(&b);
            return rc;
        }
        team_host[t] = best;
        hosts[best].used_mib += mib;
        hosts[best].used_vcpus += vcpus;
    }
    return 0;
}
