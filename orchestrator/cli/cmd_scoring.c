/*
 * cmd_scoring.c: the exercise commands: `crange run` (the engine), `score`,
 * `submit`, `hint`, `solve`, `events` and `report`. Scores, events and
 * reports need only the range database; submit and hint also evaluate the
 * team's part of the scenario snapshot in it, with the range's secret, to know
 * the team's answers and hints.
 */
#include "catalog.h"
#include "cli.h"
#include "commands.h"
#include "engine.h"
#include "err.h"
#include "events.h"
#include "image.h"
#include "log.h"
#include "plan.h"
#include "report.h"
#include "scenario.h"
#include "score.h"
#include "state.h"
#include "util.h"

#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int cr_cmd_run(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("run");
    int interval = 15, timeout = 0, budget = 0, rate = 0;
    bool once = false, no_actions = false;
    cr_optspec specs[] = {{"interval", NULL, NULL, &interval},     {"check-timeout", NULL, NULL, &timeout},
                          {"once", NULL, &once, NULL},             {"no-actions", NULL, &no_actions, NULL},
                          {"action-budget", NULL, NULL, &budget},  {"action-rate", NULL, NULL, &rate},
                          {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one RANGE");
    if (go != CR_CLI_GO)
        return go;
    if (interval < 1)
        return cr_cli_usage(cmd, "--interval must be at least 1 second");
    if (budget < 0 || rate < 0)
        return cr_cli_usage(cmd, "--action-budget and --action-rate must be positive");

    /* The loop is exclusive, with actions or not (engine.h); one round is not. */
    cr_engine_opts o = {.range = pos[0],
                        .actions = !once && !no_actions,
                        .exclusive = !once,
                        .check_timeout_s = timeout,
                        .action_budget_kib = budget,
                        .action_rate = rate};
    cr_engine *e = NULL;
    if (cr_engine_open(&e, cfg, &o) < 0)
        return cr_cli_fail(cfg);
    int rc = CR_EXIT_OK;
    if (once) {
        cr_round_report rep;
        if (cr_engine_round(e, 0, &rep) < 0) {
            rc = cr_cli_fail(cfg);
        } else if (cfg->json) {
            cr_cli_print_json(cr_round_report_json(&rep));
        } else {
            printf("round: %zu checks, %zu held, %zu changes, %zu injects in %.2f s (check p95 %.0f ms)\n",
                   rep.checks, rep.met, rep.transitions, rep.injects, rep.seconds, rep.check_ms_p95);
        }
    } else {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        cr_log_info("scoring range %s every %d s (Ctrl-C stops)", pos[0], interval);
        cr_engine_run(e, interval, &stop_requested);
        cr_log_info("stopped");
    }
    cr_engine_close(e);
    return rc;
}

/*
 * Opens the range database and evaluates TEAM's part of its scenario with its
 * secret, from the snapshot stored at up (state.h), so the answers and hints
 * are the ones the range was brought up with and no other team's Lua runs.
 * As `run` does, a scenario folder edited since up is refused: the edit is
 * not applied until the next up. A folder deleted or moved since up is no
 * obstacle: the snapshot is the record. Images are not checked: they were
 * at up, and answers do not depend on them.
 */
static int open_range(cr_state **st, cr_range_row *row, cr_scenario **s, const cr_config *cfg, const char *range,
                      int team)
{
    *st = NULL;
    *s = NULL;
    memset(row, 0, sizeof *row);
    if (!cr_range_name_valid(range))
        return cr_error_set(CR_EINVAL, "bad range name '%s'", range);
    int rc = cr_state_open(st, cfg->state_dir, range, false);
    if (rc == 0)
        rc = cr_state_get_range(*st, row);
    if (rc == 0 && team > row->teams)
        rc = cr_error_set(CR_EINVAL, "range '%s' has teams 1 to %d, not %d", range, row->teams, team);
    if (rc == 0) {
        unsigned char on_disk[32];
        char digest[65];
        rc = cr_scenario_digest(on_disk, row->scenario_dir);
        if (rc == CR_ENOTFOUND) {
            cr_log_info("range '%s': its scenario folder %s is gone; using the snapshot taken at up", range,
                        row->scenario_dir);
            cr_error_clear();
            rc = 0;
        } else if (rc == 0) {
            cr_hex(digest, on_disk, sizeof on_disk);
            if (strcmp(digest, row->scenario_digest))
                rc = cr_error_set(CR_EINVAL,
                                  "the scenario in %s changed since range '%s' was brought up; run `crange up --name "
                                  "%s` to apply it first",
                                  row->scenario_dir, range, range);
        }
    }
    if (rc == 0) {
        cr_load_opts lo = {.teams = row->teams, .only_team = team, .secret = row->secret};
        rc = cr_state_scenario_load(s, *st, &lo);
    }
    return rc;
}

static void close_range_db(cr_state *st, cr_range_row *row, cr_scenario *s)
{
    cr_scenario_free(s);
    cr_range_row_free(row);
    cr_state_close(st);
}

/* The board as `crange score` prints it without --json. */
static void print_board(const char *range, const cr_range_row *row, const json_t *prov, const cr_score_board *b)
{
    printf("range %s, full marks %d\n", range, b->full_marks);
    cr_provenance p;
    if (prov && cr_provenance_from_json(&p, prov) == 0) {
        char *text = cr_provenance_describe(&p);
        printf("scenario %s from %s\n", row->scenario_id, text);
        free(text);
        cr_provenance_clear(&p);
    }
    cr_error_clear();
    printf("%-5s %-5s %6s  %-30s %-16s %6s  %s\n", "RANK", "TEAM", "SCORE", "OBJECTIVES", "FLAGS", "HINTS",
           "REACHED");
    for (size_t i = 0; i < b->n_teams; i++) {
        const cr_score_board_team *t = &b->teams[i];
        cr_buf objs = {0}, flags = {0};
        for (size_t k = 0; k < t->n_objectives; k++)
            cr_buf_addf(&objs, "%s%s", k ? "," : "", t->objectives[k]);
        for (size_t k = 0; k < t->n_flags; k++)
            cr_buf_addf(&flags, "%s%s", k ? "," : "", t->flags[k]);
        char reached[32];
        if (t->scored)
            cr_iso8601(reached, t->reached_ms);
        printf("%-5d %-5d %6d  %-30s %-16s %6d  %s\n", t->rank, t->team, t->score, objs.data ? objs.data : "-",
               flags.data ? flags.data : "-", -t->hints_cost, t->scored ? reached : "-");
        cr_buf_free(&objs);
        cr_buf_free(&flags);
    }
}

int cr_cmd_score(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("score");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 1, 1, "expected one RANGE");
    if (go != CR_CLI_GO)
        return go;
    cr_state *st = NULL;
    cr_range_row row;
    memset(&row, 0, sizeof row);
    cr_score_board *board = NULL;
    int rc = cr_range_name_valid(pos[0]) ? cr_state_open(&st, cfg->state_dir, pos[0], false)
                                         : cr_error_set(CR_EINVAL, "bad range name '%s'", pos[0]);
    if (rc == 0)
        rc = cr_state_get_range(st, &row);
    if (rc == 0)
        rc = cr_score_board_new(&board, st, row.teams);
    cr_state_close(st);
    if (rc < 0) {
        cr_range_row_free(&row);
        return cr_cli_fail(cfg);
    }
    json_t *prov = row.provenance ? json_loads(row.provenance, 0, NULL) : NULL;
    if (cfg->json) {
        /* The board's JSON, and which range and scenario it is of. */
        json_t *out = cr_score_board_json(board);
        json_object_set_new(out, "range", json_string(pos[0]));
        json_t *scn = json_pack("{s:s, s:s}", "id", row.scenario_id, "digest", row.scenario_digest);
        if (prov)
            json_object_set(scn, "provenance", prov);
        json_object_set_new(out, "scenario", scn);
        cr_cli_print_json(out);
    } else {
        print_board(pos[0], &row, prov, board);
    }
    json_decref(prov);
    cr_score_board_free(board);
    cr_range_row_free(&row);
    return CR_EXIT_OK;
}

int cr_cmd_submit(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("submit");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 4, 4, "expected RANGE TEAM FLAG ANSWER");
    if (go != CR_CLI_GO)
        return go;
    int team;
    if (cr_cli_team(cmd, pos[1], &team))
        return CR_EXIT_USAGE;
    cr_state *st;
    cr_range_row row;
    cr_scenario *s;
    int rc = open_range(&st, &row, &s, cfg, pos[0], team);
    const cr_flag *f = NULL;
    if (rc == 0 && !(f = cr_team_flag(&s->teams[team - 1], pos[2])))
        rc = cr_error_set(CR_ENOTFOUND, "scenario '%s' has no flag '%s'", s->id, pos[2]);
    cr_submit_verdict v = 0;
    int left = -1;
    if (rc == 0)
        rc = cr_score_submit(st, team, f, pos[3], &v, &left);
    if (rc < 0) {
        close_range_db(st, &row, s);
        return cr_cli_fail(cfg);
    }
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:i, s:s, s:s, s:b, s:i}", "team", team, "flag", f->id, "verdict",
                                    cr_submit_verdict_name(v), "correct", v == CR_SUBMIT_CORRECT, "attempts_left",
                                    left));
    else if (v == CR_SUBMIT_CORRECT)
        printf("team %d, flag %s: correct (+%d) / 正解\n", team, f->id, f->points);
    else if (v == CR_SUBMIT_WRONG && left >= 0)
        printf("team %d, flag %s: wrong / 不正解 (%d attempt%s left)\n", team, f->id, left, left == 1 ? "" : "s");
    else
        printf("team %d, flag %s: %s\n", team, f->id, cr_submit_verdict_name(v));
    close_range_db(st, &row, s);
    return v == CR_SUBMIT_CORRECT ? CR_EXIT_OK : CR_EXIT_FAIL;
}

int cr_cmd_hint(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("hint");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 3, 3, "expected RANGE TEAM OBJECTIVE");
    if (go != CR_CLI_GO)
        return go;
    int team;
    if (cr_cli_team(cmd, pos[1], &team))
        return CR_EXIT_USAGE;
    cr_state *st;
    cr_range_row row;
    cr_scenario *s;
    json_t *hint = NULL;
    int rc = open_range(&st, &row, &s, cfg, pos[0], team);
    if (rc == 0)
        rc = cr_score_hint(st, team, &s->teams[team - 1], pos[2], &hint);
    close_range_db(st, &row, s);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(hint);
        return CR_EXIT_OK;
    }
    json_t *text = json_object_get(hint, "text");
    printf("hint %d for %s (-%d points)\n  ja: %s\n  en: %s\n", (int)json_integer_value(json_object_get(hint, "index")) + 1,
           pos[2], (int)json_integer_value(json_object_get(hint, "cost")),
           json_string_value(json_object_get(text, "ja")), json_string_value(json_object_get(text, "en")));
    json_decref(hint);
    return CR_EXIT_OK;
}

int cr_cmd_solve(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("solve");
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, NULL, pos, &npos, 2, 2, "expected RANGE TEAM");
    if (go != CR_CLI_GO)
        return go;
    int team;
    if (cr_cli_team(cmd, pos[1], &team))
        return CR_EXIT_USAGE;
    cr_engine_opts o = {.range = pos[0]};
    cr_engine *e = NULL;
    cr_round_report rep;
    if (cr_engine_open(&e, cfg, &o) < 0 || cr_engine_solve(e, team, &rep) < 0) {
        cr_engine_close(e);
        return cr_cli_fail(cfg);
    }
    cr_engine_close(e);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:i, s:o}", "team", team, "round", cr_round_report_json(&rep)));
    else
        printf("team %d: the reference solution ran; %zu of %zu checks hold (crange score %s)\n", team, rep.met,
               rep.checks, pos[0]);
    return CR_EXIT_OK;
}

/* "10m", "90s", "2h" ago; an ISO 8601 UTC time; or milliseconds since the epoch. */
static int parse_since(int64_t *out, const char *s)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end != s && n >= 0) {
        int64_t unit = !strcmp(end, "s") ? 1000 : !strcmp(end, "m") ? 60000 : !strcmp(end, "h") ? 3600000 : 0;
        if (unit) {
            *out = cr_wall_ms() - n * unit;
            return 0;
        }
        if (!*end) {
            *out = n;
            return 0;
        }
    }
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest && (!*rest || !strcmp(rest, "Z"))) {
        *out = (int64_t)timegm(&tm) * 1000;
        return 0;
    }
    return cr_error_set(CR_EINVAL, "--since takes 10m, 90s, 2h, an ISO 8601 UTC time or epoch milliseconds, not '%s'",
                        s);
}

int cr_cmd_events(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("events");
    int team = 0;
    const char *since = NULL, *kind = NULL;
    cr_optspec specs[] = {{"team", NULL, NULL, &team}, {"since", &since, NULL, NULL}, {"kind", &kind, NULL, NULL},
                          {0}};
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one RANGE");
    if (go != CR_CLI_GO)
        return go;
    int64_t since_ms = 0;
    if (since && parse_since(&since_ms, since) < 0)
        return cr_cli_usage(cmd, "%s", cr_error_message());
    cr_state *st = NULL;
    json_t *events = NULL;
    int rc = cr_range_name_valid(pos[0]) ? cr_state_open(&st, cfg->state_dir, pos[0], false)
                                         : cr_error_set(CR_EINVAL, "bad range name '%s'", pos[0]);
    if (rc == 0)
        rc = cr_events_query(&events, st, team, since_ms, kind);
    cr_state_close(st);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json) {
        cr_cli_print_json(events);
        return CR_EXIT_OK;
    }
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *vm = json_string_value(json_object_get(ev, "vm"));
        json_t *data = json_object_get(ev, "data");
        char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
        /* Team 0 holds what concerns every team (start, pause, an inject for
         * all): shown as the range's, not as a team that does not exist. */
        int t = (int)json_integer_value(json_object_get(ev, "team"));
        char who[16];
        if (t > 0)
            snprintf(who, sizeof who, "team %d", t);
        else
            snprintf(who, sizeof who, "range");
        printf("%s  %-8s %-10s %-18s %s\n", json_string_value(json_object_get(ev, "time")), who, vm ? vm : "-",
               json_string_value(json_object_get(ev, "kind")), text ? text : "");
        free(text);
    }
    json_decref(events);
    return CR_EXIT_OK;
}

int cr_cmd_report(cr_config *cfg, int argc, char **argv)
{
    const cr_command *cmd = cr_cli_find("report");
    const char *format = NULL, *output = NULL;
    cr_optspec specs[] = {{"format", &format, NULL, NULL}, {"output", &output, NULL, NULL}, {0}};
    /* -o FILE is the usual spelling; map it onto --output. */
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "-o"))
            argv[i] = "--output";
    char *pos[argc + 1];
    int npos, go = cr_cli_args(cmd, argc, argv, specs, pos, &npos, 1, 1, "expected one RANGE (or a range database file)");
    if (go != CR_CLI_GO)
        return go;
    if (!format || !output)
        return cr_cli_usage(cmd, "--format json|csv|html and -o FILE are required");
    cr_report_format fmt;
    if (cr_report_format_parse(&fmt, format) < 0)
        return cr_cli_usage(cmd, "--format must be json, csv or html, not '%s'", format);
    cr_state *st = NULL;
    /* A path (an archived or copied record, which may come from anyone, so
     * it is only read: state.h) or a range name. */
    int rc = strchr(pos[0], '/') || strstr(pos[0], ".db") ? cr_state_open_file_readonly(&st, pos[0])
             : cr_range_name_valid(pos[0])                ? cr_state_open(&st, cfg->state_dir, pos[0], false)
                                                          : cr_error_set(CR_EINVAL, "bad range name '%s'", pos[0]);
    if (rc == 0)
        rc = cr_report_write(st, fmt, output);
    cr_state_close(st);
    if (rc < 0)
        return cr_cli_fail(cfg);
    if (cfg->json)
        cr_cli_print_json(json_pack("{s:s, s:s}", "report", output, "format", format));
    else
        printf("report written to %s\n", output);
    return CR_EXIT_OK;
}
