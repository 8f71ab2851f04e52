/*
 * cmd_scenario.c: `crange validate` and `crange plan`: everything that reads
 * a scenario without touching libvirt.
 */
#include "cli.h"
#include "commands.h"
#include "err.h"
#include "image.h"
#include "lint.h"
#include "plan.h"
#include "range.h"
#include "scenario.h"
#include "state.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int load(cr_scenario **s, const cr_config *cfg, const char *path, int teams, const unsigned char *secret)
{
    char *store = cr_config_images(cfg);
    cr_load_opts lo = {.teams = teams, .secret = secret, .image_known = cr_image_known, .image_ctx = store};
    int rc = cr_scenario_load(s, path, &lo);
    if (rc == 0 && (rc = cr_model_require_vms(*s)) == 0)
        rc = cr_image_check_roles(*s, store);
    free(store);
    if (rc < 0 && *s) {
        cr_scenario_free(*s);
        *s = NULL;
    }
    return rc;
}

int cr_cmd_validate(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("validate");
    int teams = 0;
    cr_optspec specs[] = {{"teams", NULL, NULL, &teams}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one scenario PATH");
    if (go != CR_CLI_GO)
        return go;

    cr_scenario *s = NULL;
    if (load(&s, cfg, pos[0], teams, NULL) < 0)
        return cr_cli_fail(cfg);
    const cr_team_model *t = &s->teams[0];
    if (cfg->json) {
        char digest[65];
        cr_hex(digest, s->digest, sizeof s->digest);
        cr_cli_print_json(json_pack("{s:b, s:s, s:s, s:{s:s?, s:s?}, s:I, s:I, s:I, s:s}", "valid", 1, "id", s->id,
                                    "dir", s->dir, "title", "ja", s->title.ja, "en", s->title.en, "teams",
                                    (json_int_t)s->n_teams, "networks_per_team", (json_int_t)t->n_networks,
                                    "vms_per_team", (json_int_t)t->n_vms, "digest", digest));
    } else {
        printf("%s: valid: %s (%s), %zu team%s of %zu network%s and %zu VM%s\n", pos[0], s->id,
               s->title.en ? s->title.en : "", s->n_teams, s->n_teams == 1 ? "" : "s", t->n_networks,
               t->n_networks == 1 ? "" : "s", t->n_vms, t->n_vms == 1 ? "" : "s");
    }
    cr_scenario_free(s);
    return CR_EXIT_OK;
}

int cr_cmd_plan(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("plan");
    int teams = 0;
    const char *name = NULL;
    bool secrets = false;
    const char *hosts = NULL;
    cr_optspec specs[] = {{"teams", NULL, NULL, &teams}, {"name", &name, NULL, NULL},
                          {"show-secrets", NULL, &secrets, NULL}, {"hosts", &hosts, NULL, NULL}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one scenario PATH");
    if (go != CR_CLI_GO)
        return go;
    if (name && !cr_range_name_valid(name))
        return cr_cli_usage(cmd, "bad range name '%s'", name);

    /* An existing range's secret shows its real per-team values. */
    unsigned char secret[CR_SECRET_LEN];
    bool have_secret = false;
    if (name) {
        cr_state *st = NULL;
        cr_range_row row;
        if (cr_state_open(&st, cfg->state_dir, name, false) == 0 && cr_state_get_range(st, &row) == 0) {
            memcpy(secret, row.secret, sizeof secret);
            have_secret = true;
            if (!teams)
                teams = row.teams;
            cr_range_row_free(&row);
        }
        cr_state_close(st);
        cr_error_clear();
    }
    cr_scenario *s = NULL;
    cr_plan *p = NULL;
    cr_placement pl = {0};
    int rc = load(&s, cfg, pos[0], teams, have_secret ? secret : NULL);
    /* Placement reads the hosts' capacity from libvirt unless `host add`
     * declared it; without --hosts (or a range on several hosts) it is
     * --connect, and libvirt is not asked. */
    if (rc == 0 && !cr_range_name_valid(name ? name : s->id))
        rc = cr_error_set(CR_EINVAL, "scenario id '%s' is not a range name; give one with --name", s->id);
    if (rc == 0)
        rc = cr_range_place(&pl, cfg, name ? name : s->id, s, hosts, false);
    if (rc == 0)
        rc = cr_plan_build(&p, s, name ? name : s->id, (const char *const *)pl.uris, pl.n_place, pl.vm_host);
    cr_placement_free(&pl);
    if (rc < 0) {
        cr_scenario_free(s);
        return cr_cli_fail(cfg);
    }
    if (cfg->json) {
        json_t *j = cr_plan_to_json(p, secrets);
        json_object_set_new(j, "preview_secret", json_boolean(!have_secret));
        cr_cli_print_json(j);
    } else {
        cr_plan_print(p, stdout, secrets);
        if (!have_secret)
            printf("\n(per-team values use a preview secret; `crange up` draws the range's own)\n");
    }
    cr_plan_free(p);
    cr_scenario_free(s);
    return CR_EXIT_OK;
}

int cr_cmd_scenario_lint(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("scenario lint");
    bool solve = false;
    int teams = 0;
    cr_optspec specs[] = {{"solve", NULL, &solve, NULL}, {"teams", NULL, NULL, &teams}, {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one scenario PATH or catalog:NAME[/SUB]");
    if (go != CR_CLI_GO)
        return go;
    cr_lint_opts o = {.path = pos[0], .solve = solve, .teams = teams};
    json_t *findings = NULL;
    size_t errors = 0;
    if (cr_lint(&findings, &errors, cfg, &o) < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(json_pack("{s:s, s:b, s:b, s:I, s:O}", "scenario", pos[0], "solve", solve, "ok", errors == 0,
                                    "errors", (json_int_t)errors, "findings", findings));
    } else {
        size_t i;
        json_t *f;
        json_array_foreach(findings, i, f)
        {
            fprintf(errors ? stderr : stdout, "%s: %s\n", json_string_value(json_object_get(f, "severity")),
                    json_string_value(json_object_get(f, "message")));
        }
        if (errors)
            fprintf(stderr, "crange: %s: %zu error%s\n", pos[0], errors, errors == 1 ? "" : "s");
        else
            printf("%s: lint passed%s\n", pos[0], solve ? ", and the reference solution solves it" : "");
    }
    json_decref(findings);
    return errors ? CR_EXIT_FAIL : CR_EXIT_OK;
}
