/*
 * cmd_range.c: `crange up`, `down`, `status` and `list`: the CLI side of the
 * range engine (range.h).
 */
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "range.h"

#include <stdio.h>
#include <string.h>

int cr_cmd_up(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("up");
    const char *name = NULL, *at = NULL, *clone = "auto", *hosts = NULL;
    int teams = 0, timeout = 0, window = -1;
    bool paused = false, no_provision = false, reschedule = false;
    cr_optspec specs[] = {{"name", &name, NULL, NULL},           {"teams", NULL, NULL, &teams},
                          {"at", &at, NULL, NULL},
                          {"timeout", NULL, NULL, &timeout},     {"paused", NULL, &paused, NULL},
                          {"no-provision", NULL, &no_provision, NULL}, {"boot-window", NULL, NULL, &window},
                          {"clone", &clone, NULL, NULL},        {"hosts", &hosts, NULL, NULL},
                          {"reschedule", NULL, &reschedule, NULL},
                          {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 0, 1, "expected at most one scenario PATH");
    if (go != CR_CLI_GO)
        return go;
    if (!name)
        return cr_cli_usage(cmd, "--name RANGE is required");
    if (teams < 0 || teams > 999)
        return cr_cli_usage(cmd, "--teams must be between 1 and 999");
    if (window < -1 || window > 10000)
        return cr_cli_usage(cmd, "--boot-window must be between 0 and 10000");
    int clone_mode = !strcmp(clone, "auto")     ? CR_CLONE_AUTO
                     : !strcmp(clone, "always") ? CR_CLONE_ALWAYS
                     : !strcmp(clone, "never")  ? CR_CLONE_NEVER
                                                : -1;
    if (clone_mode < 0)
        return cr_cli_usage(cmd, "--clone must be auto, always or never");

    cr_up_opts u = {.path = npos ? pos[0] : NULL,
                    .at = at,
                    .range = name,
                    .teams = teams,
                    .start_paused = paused,
                    .no_provision = no_provision,
                    .agent_timeout_s = timeout,
                    /* --boot-window 0: all at once; no option: the default */
                    .boot_window = window == 0 ? CR_BOOT_ALL : window > 0 ? window : 0,
                    .clone = clone_mode,
                    .hosts = hosts,
                    .reschedule = reschedule};
    cr_up_report rep;
    int rc = cr_range_up(cfg, &u, &rep);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(cr_up_report_json(name, &rep));
    } else if (rep.layers_built + rep.networks_changed + rep.volumes_created + rep.domains_defined +
                   rep.domains_started + rep.provisioned + rep.removed + rep.shipped + rep.moved ==
               0) {
        printf("range %s is up to date: %zu team%s, %zu VMs, nothing to do (%.1f s)\n", name, rep.teams,
               rep.teams == 1 ? "" : "s", rep.vms, rep.seconds);
    } else {
        char cloned[80] = "", hosts_note[96] = "";
        if (rep.hosts > 1 || rep.shipped || rep.moved)
            snprintf(hosts_note, sizeof hosts_note, " on %zu host%s (%zu file%s sent, %zu team%s moved)", rep.hosts,
                     rep.hosts == 1 ? "" : "s", rep.shipped, rep.shipped == 1 ? "" : "s", rep.moved,
                     rep.moved == 1 ? "" : "s");
        if (rep.cloned)
            snprintf(cloned, sizeof cloned, ", %zu cloned from %zu new template%s", rep.cloned, rep.templates_built,
                     rep.templates_built == 1 ? "" : "s");
        printf("range %s is up%s: %zu team%s, %zu VMs (%zu defined, %zu started, %zu provisioned%s), %zu networks, "
               "%s, %.1f s\n",
               name, hosts_note, rep.teams, rep.teams == 1 ? "" : "s", rep.vms, rep.domains_defined,
               rep.domains_started, rep.provisioned, cloned, rep.networks, !strcmp(rep.domtype, "kvm") ? "KVM" : "TCG",
               rep.seconds);
    }
    return CR_EXIT_OK;
}

int cr_cmd_down(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("down");
    bool purge = false;
    cr_optspec specs[] = {{"purge", NULL, &purge, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one RANGE");
    if (go != CR_CLI_GO)
        return go;
    cr_down_report rep;
    if (cr_range_down(cfg, pos[0], purge, &rep) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(json_pack("{s:s, s:I, s:I, s:I, s:f, s:s?}", "range", pos[0], "domains",
                                    (json_int_t)rep.domains, "networks", (json_int_t)rep.networks, "pools",
                                    (json_int_t)rep.pools, "seconds", rep.seconds, "archived", rep.archived));
    } else {
        printf("range %s is down: %zu VMs, %zu networks, %zu storage pool%s removed in %.1f s\n", pos[0],
               rep.domains, rep.networks, rep.pools, rep.pools == 1 ? "" : "s", rep.seconds);
        if (rep.archived)
            printf("its record is kept in %s\n", rep.archived);
    }
    cr_down_report_free(&rep);
    return CR_EXIT_OK;
}

int cr_cmd_status(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("status");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 0, 1, "expected at most one RANGE");
    if (go != CR_CLI_GO)
        return go;
    cr_range_status_list *status = NULL;
    if (cr_range_status_list_new(&status, cfg, npos ? pos[0] : NULL) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(npos ? cr_range_status_json(&status->ranges[0]) : cr_range_status_list_json(status));
    } else if (status->n_ranges == 0) {
        printf("no ranges\n");
    } else {
        cr_range_status_list_print(status, stdout);
    }
    cr_range_status_list_free(status);
    return CR_EXIT_OK;
}

int cr_cmd_list(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("list");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 0, 0, "takes no arguments");
    if (go != CR_CLI_GO)
        return go;
    json_t *list = NULL;
    if (cr_range_list(&list, cfg) < 0) {
        json_decref(list);
        return cr_cli_fail(cfg);
    }
    if (cfg->json) {
        cr_cli_print_json(list);
        return CR_EXIT_OK;
    }
    if (json_array_size(list) == 0)
        printf("no ranges\n");
    else
        printf("%-20s %-20s %-6s %-10s %s\n", "RANGE", "SCENARIO", "TEAMS", "STATUS", "CREATED");
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        const char *scn = json_string_value(json_object_get(r, "scenario"));
        const char *created = json_string_value(json_object_get(r, "created"));
        printf("%-20s %-20s %-6d %-10s %s\n", json_string_value(json_object_get(r, "range")), scn ? scn : "?",
               (int)json_integer_value(json_object_get(r, "teams")), json_string_value(json_object_get(r, "status")),
               created ? created : "");
    }
    json_decref(list);
    return CR_EXIT_OK;
}

int cr_cmd_revert(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("revert");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 3, 3, "expected RANGE TEAM VM");
    if (go != CR_CLI_GO)
        return go;
    int team;
    if (cr_cli_team(cmd, pos[1], &team))
        return CR_EXIT_USAGE;
    cr_up_report rep;
    if (cr_range_revert(cfg, pos[0], team, pos[2], &rep) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:i, s:s, s:b, s:f}", "range", pos[0], "team", team, "vm", pos[2],
                                    "cloned", rep.cloned > 0, "seconds", rep.seconds));
    else
        printf("team %d %s reverted to its starting point in %.1f s%s\n", team, pos[2], rep.seconds,
               rep.cloned ? " (restored from its template)" : "");
    return CR_EXIT_OK;
}
