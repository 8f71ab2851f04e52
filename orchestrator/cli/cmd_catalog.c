/*
 * cmd_catalog.c: `crange scenario add|list|show|update|remove`, the CLI side
 * of the scenario catalog (catalog.h). Parsing and printing only; every
 * decision is the catalog's.
 */
#include "catalog.h"
#include "cli.h"
#include "cmd_catalog.h"
#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cr_command *find(const char *name)
{
    return cr_cli_find(name);
}

/* The first line of a commit message. */
static void summary(char *out, size_t size, const char *message)
{
    size_t n = strcspn(message ? message : "", "\n");
    snprintf(out, size, "%.*s", (int)n, message ? message : "");
}

static void print_scenarios(const cr_catalog_entry *e, bool paths)
{
    for (size_t i = 0; i < e->n_scenarios; i++) {
        const cr_catalog_scenario *s = &e->scenarios[i];
        char ref[80];
        if (s->sub)
            snprintf(ref, sizeof ref, "catalog:%s/%s", e->name, s->sub);
        else
            snprintf(ref, sizeof ref, "catalog:%s", e->name);
        if (paths)
            printf("  %-32s %-24s id %-16s %s / %s\n", ref, s->path, s->id, s->title.en ? s->title.en : "",
                   s->title.ja ? s->title.ja : "");
        else
            printf("  %-32s %s / %s\n", ref, s->title.en ? s->title.en : "", s->title.ja ? s->title.ja : "");
    }
}

int cr_cmd_scenario_add(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = find("scenario add");
    const char *name = NULL, *ref = NULL;
    cr_optspec specs[] = {{"name", &name, NULL, NULL}, {"ref", &ref, NULL, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one repository URL or PATH");
    if (go != CR_CLI_GO)
        return go;
    cr_catalog_entry *e = NULL;
    if (cr_catalog_add(&e, cfg->state_dir, pos[0], name, ref) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(cr_catalog_entry_json(e));
    } else {
        printf("added %s: %s at %s %s (%.12s), %zu scenario%s\n", e->name, e->url, cr_ref_kind_name(e->ref_kind),
               e->ref, e->commit, e->n_scenarios, e->n_scenarios == 1 ? "" : "s");
        print_scenarios(e, false);
    }
    cr_catalog_entry_free(e);
    return CR_EXIT_OK;
}

int cr_cmd_scenario_list(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = find("scenario list");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 0, 0, "takes no arguments");
    if (go != CR_CLI_GO)
        return go;
    cr_catalog_entry **list = NULL;
    size_t n = 0;
    if (cr_catalog_list(&list, &n, cfg->state_dir) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        json_t *j = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(j, cr_catalog_entry_json(list[i]));
        cr_cli_print_json(j);
    } else if (n == 0) {
        printf("the catalog is empty; add a repository with: crange scenario add URL\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            const cr_catalog_entry *e = list[i];
            printf("%s  %s  %s %s  %.12s\n", e->name, e->url, cr_ref_kind_name(e->ref_kind), e->ref, e->commit);
            print_scenarios(e, false);
        }
    }
    cr_catalog_list_free(list, n);
    return CR_EXIT_OK;
}

int cr_cmd_scenario_show(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = find("scenario show");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 1, 1, "expected one catalog NAME");
    if (go != CR_CLI_GO)
        return go;
    cr_catalog_entry *e = NULL;
    if (cr_catalog_get(&e, cfg->state_dir, pos[0]) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(cr_catalog_entry_json(e));
    } else {
        char first[256];
        summary(first, sizeof first, e->commit_message);
        printf("name:     %s\n"
               "url:      %s\n"
               "ref:      %s %s\n"
               "commit:   %s\n"
               "date:     %s\n"
               "message:  %s\n"
               "added:    %s\n"
               "updated:  %s\n"
               "dir:      %s\n"
               "scenarios:\n",
               e->name, e->url, cr_ref_kind_name(e->ref_kind), e->ref, e->commit, e->commit_time, first, e->added_at,
               e->updated_at, e->dir);
        print_scenarios(e, true);
    }
    cr_catalog_entry_free(e);
    return CR_EXIT_OK;
}

int cr_cmd_scenario_update(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = find("scenario update");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 1, 1, "expected one catalog NAME");
    if (go != CR_CLI_GO)
        return go;
    cr_catalog_entry *e = NULL;
    char *previous = NULL;
    if (cr_catalog_update(&e, &previous, cfg->state_dir, pos[0]) < 0)
        return cr_cli_fail(cfg);
    bool moved = strcmp(previous, e->commit) != 0;
    if (cfg->json) {
        cr_cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", e->name, "ref", e->ref, "previous", previous,
                                    "commit", e->commit, "updated", moved));
    } else if (moved) {
        char first[256];
        summary(first, sizeof first, e->commit_message);
        printf("updated %s: %s %.12s -> %.12s (%s)\n", e->name, e->ref, previous, e->commit, first);
    } else {
        printf("%s is up to date: %s at %.12s\n", e->name, e->ref, e->commit);
    }
    free(previous);
    cr_catalog_entry_free(e);
    return CR_EXIT_OK;
}

int cr_cmd_scenario_remove(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = find("scenario remove");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 1, 1, "expected one catalog NAME");
    if (go != CR_CLI_GO)
        return go;
    if (cr_catalog_remove(cfg->state_dir, pos[0]) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s}", "removed", pos[0]));
    else
        printf("removed %s\n", pos[0]);
    return CR_EXIT_OK;
}
