/*
 * lint.c: the static checks and the solve run of lint.h, on top of the
 * loader (lua/scenario.h), the range engine (range.h) and the exercise
 * engine (scoring/engine.h).
 */
#include "lint.h"

#include "catalog.h"
#include "engine.h"
#include "err.h"
#include "events.h"
#include "image.h"
#include "log.h"
#include "range.h"
#include "scenario.h"
#include "score.h"
#include "state.h"
#include "util.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lint {
    json_t *findings;
    size_t errors;
} lint;

static void add(lint *l, bool error, const cr_where *w, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add(lint *l, bool error, const cr_where *w, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *text = w && w->file ? (w->line > 0 ? cr_xasprintf("%s:%d: %s", w->file, w->line, msg)
                                             : cr_xasprintf("%s: %s", w->file, msg))
                              : cr_xstrdup(msg);
    json_array_append_new(l->findings, json_pack("{s:s, s:s}", "severity", error ? "error" : "warning", "message",
                                                 text));
    l->errors += error;
    free(text);
}

static bool text_ok(const cr_text *t)
{
    return t->ja && *t->ja && t->en && *t->en;
}

static void check_texts(lint *l, const cr_team_model *tm)
{
    for (size_t i = 0; i < tm->n_vms; i++) {
        const cr_vm *vm = &tm->vms[i];
        if ((vm->description.ja || vm->description.en) && !text_ok(&vm->description))
            add(l, true, &vm->where, "vm '%s': its description needs both ja and en", vm->name);
    }
    for (size_t i = 0; i < tm->n_objectives; i++) {
        const cr_objective *o = &tm->objectives[i];
        if (!text_ok(&o->title))
            add(l, true, &o->where, "objective '%s': its title needs both ja and en", o->id);
        for (size_t h = 0; h < o->n_hints; h++)
            if (!text_ok(&o->hints[h].text))
                add(l, true, &o->where, "objective '%s': hint %zu needs both ja and en", o->id, h + 1);
        if (!o->has_check)
            add(l, true, &o->where, "objective '%s' has no check", o->id);
    }
    for (size_t i = 0; i < tm->n_flags; i++) {
        const cr_flag *f = &tm->flags[i];
        if (!text_ok(&f->question))
            add(l, true, &f->where, "flag '%s': its question needs both ja and en", f->id);
        for (size_t h = 0; h < f->n_hints; h++)
            if (!text_ok(&f->hints[h].text))
                add(l, true, &f->where, "flag '%s': hint %zu needs both ja and en", f->id, h + 1);
        if (!f->answer || !*f->answer)
            add(l, true, &f->where, "flag '%s' has no answer", f->id);
    }
    for (size_t i = 0; i < tm->n_injects; i++)
        if (!text_ok(&tm->injects[i].title))
            add(l, true, &tm->injects[i].where, "inject '%s': its title needs both ja and en", tm->injects[i].id);
}

/* Per-team values must make teams different: no two teams with the same
 * values, and a warning for each value (or flag answer) all teams share. */
static void check_vars(lint *l, const cr_scenario *s)
{
    const cr_team_model *t1 = &s->teams[0];
    for (size_t a = 0; a < s->n_teams && t1->n_vars; a++) {
        for (size_t b = a + 1; b < s->n_teams; b++) {
            bool same = true;
            for (size_t v = 0; v < t1->n_vars && same; v++)
                same = !strcmp(s->teams[a].vars[v].value, s->teams[b].vars[v].value);
            if (same)
                add(l, true, &t1->vars[0].where, "teams %d and %d get the same values for every var", (int)a + 1,
                    (int)b + 1);
        }
    }
    for (size_t v = 0; v < t1->n_vars && s->n_teams > 1; v++) {
        bool shared = true;
        for (size_t t = 1; t < s->n_teams && shared; t++)
            shared = !strcmp(s->teams[t].vars[v].value, t1->vars[v].value);
        if (shared)
            add(l, false, &t1->vars[v].where, "var '%s' is the same for every team", t1->vars[v].name);
    }
    for (size_t f = 0; f < t1->n_flags && s->n_teams > 1; f++) {
        bool shared = true;
        for (size_t t = 1; t < s->n_teams && shared; t++)
            shared = !strcmp(s->teams[t].flags[f].answer, t1->flags[f].answer);
        if (shared)
            add(l, false, &t1->flags[f].where, "flag '%s' has the same answer for every team, so teams can share it",
                t1->flags[f].id);
    }
}

/* Values that are not secret are shown by `crange plan`; a flag answer built
 * from one is readable by anyone who can run plan. Warned when every team's answer holds that team's
 * value (of at least 4 characters, so that chance matches stay out). */
#define LEAK_MIN 4

static void check_answer_leaks(lint *l, const cr_scenario *s)
{
    const cr_team_model *t1 = &s->teams[0];
    for (size_t f = 0; f < t1->n_flags; f++) {
        if (t1->flags[f].answer_kind != CR_ANSWER_LITERAL)
            continue;
        for (size_t v = 0; v < t1->n_vars; v++) {
            bool leaks = true;
            for (size_t t = 0; t < s->n_teams && leaks; t++) {
                const cr_var *var = &s->teams[t].vars[v];
                leaks = !var->secret && strlen(var->value) >= LEAK_MIN && s->teams[t].flags[f].answer &&
                        strstr(s->teams[t].flags[f].answer, var->value);
            }
            if (leaks)
                add(l, false, &t1->flags[f].where,
                    "flag '%s': its answer holds var '%s', which is not secret, so `crange plan` shows it "
                    "(declare it with { secret = true })",
                    t1->flags[f].id, t1->vars[v].name);
        }
    }
}

static void check_static(lint *l, const cr_scenario *s)
{
    const cr_team_model *t1 = &s->teams[0];
    for (size_t i = 0; i < t1->n_vms; i++)
        if (!cr_image_recipe_exists(t1->vms[i].image))
            add(l, true, &t1->vms[i].where, "vm '%s': image '%s' has no recipe (images/%s/build.sh)",
                t1->vms[i].name, t1->vms[i].image, t1->vms[i].image);
    for (size_t i = 0; i < t1->n_roles; i++)
        if (!cr_image_takes_roles(t1->roles[i].image, NULL))
            add(l, true, &t1->roles[i].where, CR_ROLE_IMAGE_REFUSED, t1->roles[i].name, t1->roles[i].image);
    for (size_t t = 0; t < s->n_teams; t++)
        if (t == 0)
            check_texts(l, &s->teams[t]);
    check_vars(l, s);
    check_answer_leaks(l, s);
    if (!t1->has_solution)
        add(l, true, &s->where, "there is no reference solution: declare solution(function(ctx) ... end)");
    if (!t1->n_objectives && !t1->n_flags)
        add(l, false, &s->where, "there are no objectives or flags to score");
}

/* Adds a finding for each objective or flag a team has (want) or lacks. */
static void compare_team(lint *l, const cr_score_board_team *scores, const cr_team_model *tm, bool want_all,
                         cr_state *st)
{
    int team = scores ? scores->team : 0;
    for (size_t i = 0; i < tm->n_objectives; i++) {
        const cr_objective *o = &tm->objectives[i];
        bool met = cr_score_board_team_met(scores, o->id);
        if (met == want_all)
            continue;
        if (want_all) {
            /* Say why, when the check failed rather than returned false:
             * the last objective.failing event of this objective. */
            char *reason = NULL;
            json_t *ev = NULL;
            if (cr_events_query(&ev, st, team, 0, "objective.failing") == 0) {
                size_t e;
                json_t *row;
                json_array_foreach(ev, e, row)
                {
                    json_t *data = json_object_get(row, "data");
                    const char *oid = json_string_value(json_object_get(data, "id"));
                    if (oid && !strcmp(oid, o->id)) {
                        free(reason);
                        reason = cr_xstrdup(json_string_value(json_object_get(data, "reason")));
                    }
                }
            }
            cr_error_clear();
            json_decref(ev);
            add(l, true, &o->where, "objective '%s' is not met for team %d after the reference solution%s%s", o->id,
                team, reason ? ": " : "", reason ? reason : "");
            free(reason);
        } else {
            add(l, true, &o->where, "objective '%s' is met for team %d, which did nothing", o->id, team);
        }
    }
    for (size_t i = 0; i < tm->n_flags; i++) {
        const cr_flag *f = &tm->flags[i];
        bool solved = cr_score_board_team_solved(scores, f->id);
        if (solved == want_all)
            continue;
        if (want_all)
            add(l, true, &f->where, "flag '%s' is not solved for team %d by the reference solution (ctx.submit)",
                f->id, team);
        else
            add(l, true, &f->where, "flag '%s' is solved for team %d, which did nothing", f->id, team);
    }
}

/* The solve run: up 2 teams, score 0, solution on team 1, full marks for
 * team 1 and 0 for team 2, down. */
static int solve_run(lint *l, const cr_config *c, const char *path)
{
    unsigned char rnd[4];
    randombytes_buf(rnd, sizeof rnd);
    char hex[9], range[32];
    cr_hex(hex, rnd, sizeof rnd);
    snprintf(range, sizeof range, "lint-%s", hex);
    cr_log_info("lint --solve: bringing up range %s (2 teams)", range);

    cr_up_opts u = {.path = path, .range = range, .teams = 2};
    cr_up_report rep;
    cr_engine *e = NULL;
    cr_state *st = NULL;
    cr_score_board *board = NULL;
    int rc = cr_range_up(c, &u, &rep);
    if (rc < 0) {
        add(l, true, NULL, "bringing up 2 teams failed: %s", cr_error_message());
        cr_error_clear();
        goto down;
    }
    cr_engine_opts eo = {.range = range};
    cr_round_report round;
    rc = cr_engine_open(&e, c, &eo);
    if (rc == 0)
        rc = cr_engine_round(e, 0, &round);
    if (rc == 0)
        rc = cr_state_open(&st, c->state_dir, range, false);
    if (rc == 0)
        rc = cr_score_board_new(&board, st, 2);
    if (rc < 0)
        goto fail;
    for (int t = 1; t <= 2; t++)
        compare_team(l, cr_score_board_find(board, t), cr_engine_team(e, t), false, st);
    cr_score_board_free(board);
    board = NULL;

    cr_log_info("lint --solve: running the reference solution on team 1");
    rc = cr_engine_solve(e, 1, &round);
    if (rc < 0) {
        add(l, true, NULL, "the reference solution failed: %s", cr_error_message());
        cr_error_clear();
        rc = 0;
    }
    if (rc == 0)
        rc = cr_engine_round(e, 2, &round);
    if (rc == 0)
        rc = cr_score_board_new(&board, st, 2);
    if (rc < 0)
        goto fail;
    const cr_score_board_team *row1 = cr_score_board_find(board, 1), *row2 = cr_score_board_find(board, 2);
    compare_team(l, row1, cr_engine_team(e, 1), true, st);
    compare_team(l, row2, cr_engine_team(e, 2), false, st);
    int full = board->full_marks;
    int s1 = row1 ? row1->score : 0;
    int s2 = row2 ? row2->score : 0;
    cr_log_info("lint --solve: team 1 scored %d of %d, team 2 scored %d", s1, full, s2);
    if (s1 != full && l->errors == 0)
        add(l, true, NULL, "team 1 scored %d, not full marks (%d), after the reference solution", s1, full);
    if (s2 != 0 && l->errors == 0)
        add(l, true, NULL, "team 2 scored %d after team 1's solution", s2);
    goto down;
fail:
    add(l, true, NULL, "the solve run failed: %s", cr_error_message());
    cr_error_clear();
    rc = 0;
down:
    cr_score_board_free(board);
    cr_state_close(st);
    cr_engine_close(e);
    cr_down_report dr;
    if (cr_range_down(c, range, true, &dr) < 0) {
        add(l, true, NULL, "tearing down range %s failed: %s", range, cr_error_message());
        cr_error_clear();
    }
    cr_down_report_free(&dr);
    return rc;
}

int cr_lint(json_t **findings, size_t *errors, const cr_config *c, const cr_lint_opts *o)
{
    lint l = {json_array(), 0};
    *findings = NULL;
    *errors = 0;
    char *dir = NULL;
    int rc = 0;
    if (cr_catalog_is_ref(o->path))
        rc = cr_catalog_resolve(&dir, NULL, c->state_dir, o->path, NULL);
    else
        dir = cr_xstrdup(o->path);
    if (rc < 0) {
        json_decref(l.findings);
        return rc;
    }

    /* First the scenario's own default, to learn it; then enough teams to
     * compare per-team values. */
    unsigned char secret[CR_SECRET_LEN];
    randombytes_buf(secret, sizeof secret);
    cr_load_opts lo = {.teams = o->teams, .secret = secret};
    cr_scenario *s = NULL;
    rc = cr_scenario_load(&s, dir, &lo);
    if (rc == 0 && !o->teams && s->n_teams < 2) {
        cr_scenario_free(s);
        s = NULL;
        lo.teams = 2;
        rc = cr_scenario_load(&s, dir, &lo);
    }
    if (rc == 0 && cr_model_require_vms(s) < 0) {
        /* A finding, not the end: the other checks still run. */
        add(&l, true, NULL, "%s", cr_error_message());
        cr_error_clear();
    }
    if (rc == CR_ENOTFOUND) {
        json_decref(l.findings);
        free(dir);
        return rc;
    }
    if (rc < 0) {
        add(&l, true, NULL, "%s", cr_error_message());
        cr_error_clear();
        rc = 0;
    } else {
        /* The folder's links were checked by the load (its digest lists the
         * files through cr_scenario_files_list): a bad one is the error above. */
        check_static(&l, s);
        if (o->solve && l.errors == 0)
            rc = solve_run(&l, c, o->path);
        else if (o->solve)
            add(&l, false, NULL, "not running --solve: fix the errors above first");
    }
    cr_scenario_free(s);
    free(dir);
    *findings = l.findings;
    *errors = l.errors;
    return rc;
}
