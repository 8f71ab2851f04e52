/*
 * cmd_host.c: `crange host add|list|remove`, the CLI side of the host list
 * (hosts.h). `host list` asks each host's libvirt what it is and has.
 */
#include "accel.h"
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "hosts.h"
#include "state.h"
#include "util.h"
#include "virt.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cr_cmd_host_add(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("host add");
    int memory_gib = 0, cpus = 0;
    bool no_check = false;
    const char *address = NULL;
    /* --label may repeat: collected by hand before the common parser. */
    const char *labels[64];
    size_t n_labels = 0;
    char *rest[argc + 1];
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--label") || !strncmp(argv[i], "--label=", 8)) {
            const char *val = argv[i][7] == '=' ? argv[i] + 8 : i + 1 < argc ? argv[++i] : NULL;
            if (!val)
                return cr_cli_usage(cmd, "--label needs KEY=VALUE");
            if (n_labels == sizeof labels / sizeof labels[0])
                return cr_cli_usage(cmd, "at most 64 labels");
            labels[n_labels++] = val;
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    rest[n_rest] = NULL;
    cr_optspec specs[] = {{"memory", NULL, NULL, &memory_gib},
                          {"cpus", NULL, NULL, &cpus},
                          {"address", &address, NULL, NULL},
                          {"no-check", NULL, &no_check, NULL},
                          {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, n_rest, rest, specs, pos, &npos, 2, 2, "expected a host NAME and a libvirt URI");
    if (go != CR_CLI_GO)
        return go;
    if (memory_gib < 0 || memory_gib > 65536)
        return cr_cli_usage(cmd, "--memory must be between 1 and 65536 GiB");
    if (cpus < 0 || cpus > 65536)
        return cr_cli_usage(cmd, "--cpus must be between 1 and 65536");
    cr_hosts h;
    int rc = cr_hosts_load(&h, cfg->state_dir);
    if (rc == 0)
        rc = cr_hosts_add(&h, pos[0], pos[1], (uint64_t)memory_gib * 1024, (unsigned)cpus, address,
                          (const char *const *)labels, n_labels);
    /* A host that does not answer now is most likely a typo: say so now,
     * not at the first up. */
    if (rc == 0 && !no_check) {
        cr_virt *v = NULL;
        rc = cr_virt_open(&v, pos[1], 1);
        cr_virt_close(v);
        if (rc < 0) {
            char *inner = cr_xstrdup(cr_error_message());
            rc = cr_error_replace(rc, "%s (add it anyway with --no-check)", inner);
            free(inner);
        }
    }
    if (rc == 0)
        rc = cr_hosts_save(&h, cfg->state_dir);
    cr_hosts_free(&h);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:s, s:b}", "host", pos[0], "uri", pos[1], "added", 1));
    else
        printf("host %s added: %s\n", pos[0], pos[1]);
    return CR_EXIT_OK;
}

int cr_cmd_host_remove(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("host remove");
    bool force = false;
    cr_optspec specs[] = {{"force", NULL, &force, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one host NAME");
    if (go != CR_CLI_GO)
        return go;
    cr_hosts h;
    int rc = cr_hosts_load(&h, cfg->state_dir);
    const cr_host *x = rc == 0 ? cr_hosts_find(&h, pos[0]) : NULL;
    if (rc == 0 && !x)
        rc = cr_error_set(CR_ENOTFOUND, "no host '%s' (crange host list)", pos[0]);
    /* Ranges still on it keep its URI in their record, so down reaches it
     * anyway; removing it only stops new placements. Say so. */
    if (rc == 0 && !force) {
        char **names = NULL;
        size_t n = 0;
        cr_state_list_ranges(&names, &n, cfg->state_dir);
        cr_buf on = {0};
        for (size_t i = 0; i < n; i++) {
            cr_state *st = NULL;
            cr_range_row row;
            if (cr_state_open(&st, cfg->state_dir, names[i], false) == 0 && cr_state_get_range(st, &row) == 0) {
                if (row.hosts && strstr(row.hosts, x->uri) && strcmp(row.status, "down"))
                    cr_buf_addf(&on, "%s%s", on.len ? ", " : "", names[i]);
                cr_range_row_free(&row);
            }
            cr_state_close(st);
            cr_error_clear();
            free(names[i]);
        }
        free(names);
        if (on.len)
            rc = cr_error_set(CR_EBUSY, "host '%s' holds ranges (%s); bring them down first, or --force", pos[0],
                              on.data);
        cr_buf_free(&on);
    }
    if (rc == 0)
        rc = cr_hosts_remove(&h, pos[0]);
    if (rc == 0)
        rc = cr_hosts_save(&h, cfg->state_dir);
    cr_hosts_free(&h);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:b}", "host", pos[0], "removed", 1));
    else
        printf("host %s removed\n", pos[0]);
    return CR_EXIT_OK;
}

/* What one host's libvirt says of itself; reachable false with the error. */
static json_t *host_facts(const cr_host *x, json_t *ranges)
{
    json_t *j = json_pack("{s:s, s:s, s:O}", "name", x->name, "uri", x->uri, "labels", x->labels);
    if (x->memory_mib)
        json_object_set_new(j, "declared_memory_mib", json_integer((json_int_t)x->memory_mib));
    if (x->cpus)
        json_object_set_new(j, "declared_cpus", json_integer(x->cpus));
    if (x->address)
        json_object_set_new(j, "address", json_string(x->address));
    json_object_set_new(j, "ranges", json_incref(ranges));
    cr_virt *v = NULL;
    if (cr_virt_open(&v, x->uri, 1) < 0) {
        json_object_set_new(j, "reachable", json_false());
        json_object_set_new(j, "error", json_string(cr_error_message()));
        cr_error_clear();
        return j;
    }
    virConnectPtr c = cr_virt_conn(v, 0);
    unsigned long lib = 0, hv = 0;
    virNodeInfo info;
    unsigned long long free_bytes = virNodeGetFreeMemory(c);
    char libs[32] = "?", hvs[32] = "?";
    if (virConnectGetLibVersion(c, &lib) == 0)
        snprintf(libs, sizeof libs, "%lu.%lu.%lu", lib / 1000000, lib / 1000 % 1000, lib % 1000);
    if (virConnectGetVersion(c, &hv) == 0)
        snprintf(hvs, sizeof hvs, "%lu.%lu.%lu", hv / 1000000, hv / 1000 % 1000, hv % 1000);
    json_object_set_new(j, "reachable", json_true());
    json_object_set_new(j, "libvirt", json_string(libs));
    json_object_set_new(j, "qemu", json_string(hvs));
    /* libvirt offering kvm is not proof that guests run (crange doctor
     * --host NAME boots a probe); this is what libvirt offers. */
    json_object_set_new(j, "accel", json_string(cr_accel_kvm_offered(v) ? "kvm offered" : "tcg"));
    if (virNodeGetInfo(c, &info) == 0) {
        json_object_set_new(j, "memory_mib", json_integer((json_int_t)(info.memory / 1024)));
        json_object_set_new(j, "cpus", json_integer(info.cpus));
    }
    if (free_bytes)
        json_object_set_new(j, "memory_free_mib", json_integer((json_int_t)(free_bytes / 1048576)));
    virResetLastError();
    cr_virt_close(v);
    return j;
}

int cr_cmd_host_list(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("host list");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 0, 0, "takes no arguments");
    if (go != CR_CLI_GO)
        return go;
    cr_hosts h;
    if (cr_hosts_load(&h, cfg->state_dir) < 0)
        return cr_cli_fail(cfg);
    /* The ranges each host holds, from their records. */
    json_t *per_host = json_array();
    for (size_t i = 0; i < h.n; i++)
        json_array_append_new(per_host, json_array());
    char **names = NULL;
    size_t n = 0;
    cr_state_list_ranges(&names, &n, cfg->state_dir);
    for (size_t r = 0; r < n; r++) {
        cr_state *st = NULL;
        cr_range_row row;
        if (cr_state_open(&st, cfg->state_dir, names[r], false) == 0 && cr_state_get_range(st, &row) == 0) {
            json_t *hj = json_loads(row.hosts, 0, NULL);
            for (size_t i = 0; i < h.n; i++) {
                size_t k;
                json_t *hv;
                json_array_foreach(hj, k, hv) if (json_is_string(hv) && !strcmp(json_string_value(hv), h.v[i].uri) &&
                                                  strcmp(row.status, "down"))
                    json_array_append_new(json_array_get(per_host, i), json_string(names[r]));
            }
            json_decref(hj);
            cr_range_row_free(&row);
        }
        cr_state_close(st);
        cr_error_clear();
        free(names[r]);
    }
    free(names);
    json_t *list = json_array();
    for (size_t i = 0; i < h.n; i++)
        json_array_append_new(list, host_facts(&h.v[i], json_array_get(per_host, i)));
    json_decref(per_host);
    cr_hosts_free(&h);
    if (cfg->json) {
        cr_cli_print_json(list);
        return CR_EXIT_OK;
    }
    if (json_array_size(list) == 0) {
        printf("no hosts added; ranges go on --connect (crange host add NAME URI)\n");
        json_decref(list);
        return CR_EXIT_OK;
    }
    printf("%-12s %-34s %-9s %-9s %-11s %5s %12s  %s\n", "HOST", "URI", "LIBVIRT", "QEMU", "ACCEL", "CPUS",
           "FREE MEM", "RANGES");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        bool up = json_is_true(json_object_get(e, "reachable"));
        char mem[32] = "-", cpus[16] = "-";
        if (json_object_get(e, "memory_free_mib"))
            snprintf(mem, sizeof mem, "%.1f GiB", json_integer_value(json_object_get(e, "memory_free_mib")) / 1024.0);
        if (json_object_get(e, "cpus"))
            snprintf(cpus, sizeof cpus, "%lld", (long long)json_integer_value(json_object_get(e, "cpus")));
        cr_buf rs = {0};
        size_t k;
        json_t *rn;
        json_array_foreach(json_object_get(e, "ranges"), k, rn) cr_buf_addf(&rs, "%s%s", k ? "," : "",
                                                                             json_string_value(rn));
        printf("%-12s %-34s %-9s %-9s %-11s %5s %12s  %s\n", json_string_value(json_object_get(e, "name")),
               json_string_value(json_object_get(e, "uri")),
               up ? json_string_value(json_object_get(e, "libvirt")) : "-",
               up ? json_string_value(json_object_get(e, "qemu")) : "-",
               up ? json_string_value(json_object_get(e, "accel")) : "UNREACHABLE", cpus, mem,
               rs.len ? rs.data : "-");
        if (!up)
            printf("%-12s %s\n", "", json_string_value(json_object_get(e, "error")));
        cr_buf_free(&rs);
    }
    json_decref(list);
    return CR_EXIT_OK;
}
