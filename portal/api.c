/*
 * api.c: the portal's JSON API (portal/openapi.yaml), the one the pages use
 * and scripts may use. Routing is by method and path; every handler checks
 * the session's role first, and a trainee's team always comes from the
 * session, never from the request, so no trainee request can name another
 * team. Nothing a trainee endpoint returns holds an answer, a check, a
 * secret var, or another team's data.
 */
#include "internal.h"

#include "attack.h"
#include "coverage.h"
#include "err.h"
#include "events.h"
#include "log.h"
#include "range.h"
#include "report.h"
#include "score.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMELINE_MAX 300   /* newest events a timeline returns */
#define ADMIN_EVENTS_MAX 2000

static json_t *text_json(const cr_text *t)
{
    return json_pack("{s:s?, s:s?}", "ja", t->ja, "en", t->en);
}

/* How many events of `kind` the team has for data.id == id. */
static int count_for(json_t *events, const char *kind, const char *id)
{
    int n = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *k = json_string_value(json_object_get(ev, "kind"));
        const char *eid = json_string_value(json_object_get(json_object_get(ev, "data"), "id"));
        if (k && eid && !strcmp(k, kind) && !strcmp(eid, id))
            n++;
    }
    return n;
}

static json_t *hints_json(const cr_hint *h, size_t n, int taken)
{
    /* next_cost -1: no hint left. */
    return json_pack("{s:i, s:i, s:i}", "total", (int)n, "taken", taken, "next_cost",
                     (size_t)taken < n ? h[taken].cost : -1);
}

/* An item's ATT&CK techniques with their names: [{"id", "name"}]. */
static json_t *attack_json(char **ids)
{
    json_t *a = json_array();
    for (; ids && *ids; ids++)
        json_array_append_new(a, json_pack("{s:s, s:s?}", "id", *ids, "name", cr_attack_name(*ids)));
    return a;
}

static json_t *strv_json(char **v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

/* A team's coverage of its model's tags (coverage.h): those of the
 * objectives counting now and the flags solved, from its board row (NULL:
 * nothing met). The board has no times, so no met_at. */
static json_t *coverage_json(const cr_team_model *tm, const cr_score_board_team *row)
{
    size_t n = 0;
    cr_coverage_item *items = cr_xcalloc(tm->n_objectives + tm->n_flags + 1, sizeof *items);
    for (size_t i = 0; i < tm->n_objectives; i++) {
        const cr_objective *o = &tm->objectives[i];
        items[n++] = (cr_coverage_item){.attack = o->attack, .skills = o->skills,
                                        .met = cr_score_board_team_met(row, o->id)};
    }
    for (size_t i = 0; i < tm->n_flags; i++) {
        const cr_flag *f = &tm->flags[i];
        items[n++] = (cr_coverage_item){.attack = f->attack, .skills = f->skills,
                                        .met = cr_score_board_team_solved(row, f->id)};
    }
    cr_coverage c;
    cr_coverage_build(&c, items, n);
    json_t *j = cr_coverage_json(&c);
    cr_coverage_clear(&c);
    free(items);
    return j;
}

/* The exercise clock as the pages show it. */
static json_t *clock_json(cr_state *st)
{
    cr_clock c;
    if (cr_events_clock(st, cr_wall_ms(), &c) < 0) {
        cr_error_clear();
        return json_null();
    }
    return json_pack("{s:b, s:b, s:I}", "started", c.started, "paused", c.paused, "elapsed_s",
                     (json_int_t)(c.elapsed_ms / 1000));
}

/* The scoreboard, and the clock when asked (clock may be NULL), from one
 * database handle opened for the request. */
static int load_board(cr_portal *p, cr_score_board **board, json_t **clock)
{
    cr_state *st = NULL;
    *board = NULL;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_score_board_new(board, st, cr_engine_teams(p->engine));
    if (clock)
        *clock = rc == 0 ? clock_json(st) : NULL;
    cr_state_close(st);
    return rc;
}

/* The plan of a team for the topology picture: networks and VMs. */
static json_t *topology_json(const cr_team_model *tm)
{
    json_t *nets = json_array(), *vms = json_array();
    for (size_t i = 0; i < tm->n_networks; i++) {
        char a[16];
        cr_ipv4_format(a, tm->networks[i].addr);
        char cidr[24];
        snprintf(cidr, sizeof cidr, "%s/%d", a, tm->networks[i].prefix);
        json_array_append_new(nets, json_pack("{s:s, s:s, s:b}", "name", tm->networks[i].name, "cidr", cidr,
                                              "forward", tm->networks[i].forward != NULL));
    }
    for (size_t i = 0; i < tm->n_vms; i++) {
        json_t *nics = json_array();
        for (size_t k = 0; k < tm->vms[i].n_nics; k++) {
            char a[16] = "";
            if (tm->vms[i].nics[k].addr)
                cr_ipv4_format(a, tm->vms[i].nics[k].addr);
            json_array_append_new(nics, json_pack("{s:s, s:s}", "network", tm->vms[i].nics[k].network, "address", a));
        }
        json_array_append_new(vms, json_pack("{s:s, s:b, s:o}", "name", tm->vms[i].name, "entry", tm->vms[i].entry,
                                             "nics", nics));
    }
    return json_pack("{s:o, s:o}", "networks", nets, "vms", vms);
}

/* ------------------------------------------------------------ trainee */

static int team_view(struct mg_connection *conn, cr_portal *p, int team)
{
    const cr_team_model *tm = cr_engine_team(p->engine, team);
    cr_state *st = NULL;
    cr_score_board *board = NULL;
    json_t *flagev = NULL, *hintev = NULL;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_score_board_new(&board, st, cr_engine_teams(p->engine));
    if (rc == 0)
        rc = cr_events_query(&flagev, st, team, 0, "flag.");
    if (rc == 0)
        rc = cr_events_query(&hintev, st, team, 0, "hint.");
    json_t *clock = rc == 0 ? clock_json(st) : NULL;
    cr_state_close(st);
    if (rc < 0) {
        cr_score_board_free(board);
        json_decref(flagev);
        return cr_http_error(conn, 500, "%s", cr_error_message());
    }
    const cr_score_board_team *row = cr_score_board_find(board, team);
    json_t *vms = json_array();
    for (size_t i = 0; i < tm->n_vms; i++) {
        const cr_vm *vm = &tm->vms[i];
        json_t *addrs = json_array();
        for (size_t k = 0; k < vm->n_nics; k++) {
            char a[16] = "";
            if (vm->nics[k].addr)
                cr_ipv4_format(a, vm->nics[k].addr);
            json_array_append_new(addrs, json_pack("{s:s, s:s?}", "network", vm->nics[k].network, "address",
                                                   vm->nics[k].addr ? a : NULL));
        }
        json_array_append_new(vms, json_pack("{s:s, s:b, s:o, s:o}", "name", vm->name, "entry", vm->entry,
                                             "description", text_json(&vm->description), "addresses", addrs));
    }
    json_t *objs = json_array();
    for (size_t i = 0; i < tm->n_objectives; i++) {
        const cr_objective *o = &tm->objectives[i];
        json_array_append_new(
            objs, json_pack("{s:s, s:o, s:i, s:s, s:b, s:o, s:o, s:o}", "id", o->id, "title", text_json(&o->title),
                            "points", o->points, "mode", o->mode == CR_MODE_HOLD ? "hold" : "once", "met",
                            cr_score_board_team_met(row, o->id), "hints",
                            hints_json(o->hints, o->n_hints, count_for(hintev, "hint.taken", o->id)), "attack",
                            attack_json(o->attack), "skills", strv_json(o->skills)));
    }
    json_t *flags = json_array();
    for (size_t i = 0; i < tm->n_flags; i++) {
        const cr_flag *f = &tm->flags[i];
        int wrong = count_for(flagev, "flag.wrong", f->id);
        int left = f->max_attempts ? f->max_attempts - wrong : -1;
        json_array_append_new(
            flags, json_pack("{s:s, s:o, s:i, s:b, s:i, s:i, s:o, s:o, s:o}", "id", f->id, "question",
                             text_json(&f->question), "points", f->points, "solved",
                             cr_score_board_team_solved(row, f->id), "max_attempts", f->max_attempts, "attempts_left",
                             left < 0 && f->max_attempts ? 0 : left, "hints",
                             hints_json(f->hints, f->n_hints, count_for(hintev, "hint.taken", f->id)), "attack",
                             attack_json(f->attack), "skills", strv_json(f->skills)));
    }
    /* The hints the team took, with their text: theirs to read again. */
    json_t *hints = json_array();
    size_t i;
    json_t *ev;
    json_array_foreach(hintev, i, ev) if (!strcmp(json_string_value(json_object_get(ev, "kind")), "hint.taken"))
        json_array_append(hints, json_object_get(ev, "data"));
    const cr_scenario *s = p->scenario;
    json_t *out = json_pack(
        "{s:i, s:s, s:{s:s, s:o, s:o}, s:i, s:i, s:i, s:I, s:o, s:o, s:o, s:o}", "team", team, "range", p->range,
        "scenario", "id", s->id, "title", text_json(&s->title), "description", text_json(&s->description), "score",
        row ? row->score : 0, "rank", row ? row->rank : 0, "full_marks", board->full_marks, "hints_cost",
        (json_int_t)(row ? row->hints_cost : 0), "vms", vms, "objectives", objs, "flags", flags,
        "hints", hints);
    json_object_set_new(out, "clock", clock);
    json_object_set_new(out, "topology", topology_json(tm));
    json_object_set_new(out, "coverage", coverage_json(tm, row));
    cr_score_board_free(board);
    json_decref(flagev);
    json_decref(hintev);
    return cr_http_json(conn, 200, out);
}

/* Whether a trainee may see an event of this kind in their own timeline. */
static bool trainee_kind(const char *k)
{
    static const char *const prefixes[] = {"objective.met", "objective.lost", "flag.", "hint.taken", "inject.fired",
                                           "action.command", "action.status", "console.", "exercise.", NULL};
    for (size_t i = 0; prefixes[i]; i++)
        if (!strncmp(k, prefixes[i], strlen(prefixes[i])))
            return true;
    return false;
}

static int team_timeline(struct mg_connection *conn, cr_portal *p, int team)
{
    cr_state *st = NULL;
    json_t *events = NULL;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_events_query(&events, st, team, 0, NULL);
    cr_state_close(st);
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    json_t *out = json_array();
    size_t n = json_array_size(events);
    for (size_t i = n > TIMELINE_MAX * 4 ? n - TIMELINE_MAX * 4 : 0; i < n; i++) {
        json_t *ev = json_array_get(events, i);
        if (!trainee_kind(json_string_value(json_object_get(ev, "kind"))))
            continue;
        /* A wrong answer is the team's own, but an answer is never echoed. */
        json_object_del(json_object_get(ev, "data"), "answer");
        json_array_append(out, ev);
    }
    while (json_array_size(out) > TIMELINE_MAX)
        json_array_remove(out, 0);
    json_decref(events);
    return cr_http_json(conn, 200, json_pack("{s:o}", "events", out));
}

static int team_submit(struct mg_connection *conn, cr_portal *p, int team, const char *id)
{
    const cr_flag *f = cr_team_flag(cr_engine_team(p->engine, team), id);
    if (!f)
        return cr_http_error(conn, 404, "no flag '%s'", id);
    json_t *body;
    int status = cr_http_read_json(conn, &body);
    if (!body)
        return status;
    const char *answer = json_string_value(json_object_get(body, "answer"));
    if (!answer) {
        json_decref(body);
        return cr_http_error(conn, 400, "the body needs \"answer\": a string");
    }
    int retry;
    if (!cr_auth_flag_rate(p, team, &retry)) {
        json_decref(body);
        char r[16];
        snprintf(r, sizeof r, "%d", retry);
        return cr_http_json_with(conn, 429, json_pack("{s:s, s:i}", "error", "too many answers; wait and try again",
                                                      "retry_after", retry),
                                 "Retry-After", r);
    }
    cr_state *st = NULL;
    cr_submit_verdict v = 0;
    int left = -1;
    cr_clock clock = {0};
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_events_clock(st, cr_wall_ms(), &clock);
    if (rc == 0 && clock.paused) {
        cr_state_close(st);
        json_decref(body);
        return cr_http_error(conn, 409, "the exercise is paused");
    }
    if (rc == 0)
        rc = cr_score_submit(st, team, f, answer, &v, &left);
    cr_state_close(st);
    json_decref(body);
    if (rc == CR_EINVAL)
        return cr_http_error(conn, 400, "%s", cr_error_message());
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    return cr_http_json(conn, 200,
                        json_pack("{s:s, s:s, s:b, s:i, s:i}", "flag", f->id, "verdict", cr_submit_verdict_name(v),
                                  "correct", v == CR_SUBMIT_CORRECT, "attempts_left", left, "points",
                                  v == CR_SUBMIT_CORRECT ? f->points : 0));
}

static int team_hint(struct mg_connection *conn, cr_portal *p, int team, const char *id)
{
    cr_state *st = NULL;
    json_t *hint = NULL;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_score_hint(st, team, cr_engine_team(p->engine, team), id, &hint);
    cr_state_close(st);
    if (rc == CR_ENOTFOUND)
        return cr_http_error(conn, 404, "%s", cr_error_message());
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    return cr_http_json(conn, 200, hint);
}

/* ----------------------------------------------------------- everyone */

/* What everyone may see: rank, team, score and when it was reached. */
static json_t *public_board(cr_portal *p, const cr_score_board *board)
{
    json_t *teams = json_array();
    for (size_t i = 0; i < board->n_teams; i++) {
        const cr_score_board_team *t = &board->teams[i];
        char iso[32];
        cr_iso8601(iso, t->reached_ms);
        json_array_append_new(teams, json_pack("{s:i, s:i, s:i, s:o}", "rank", t->rank, "team", t->team, "score",
                                               t->score, "reached", t->scored ? json_string(iso) : json_null()));
    }
    return json_pack("{s:s, s:o, s:i, s:o}", "range", p->range, "title", text_json(&p->scenario->title), "full_marks",
                     board->full_marks, "teams", teams);
}

static int scoreboard(struct mg_connection *conn, cr_portal *p)
{
    pthread_mutex_lock(&p->lock);
    json_t *frozen = p->frozen_board ? json_deep_copy(p->frozen_board) : NULL;
    pthread_mutex_unlock(&p->lock);
    if (frozen) {
        json_object_set_new(frozen, "frozen", json_true());
        return cr_http_json(conn, 200, frozen);
    }
    cr_score_board *board = NULL;
    if (load_board(p, &board, NULL) < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    json_t *out = public_board(p, board);
    cr_score_board_free(board);
    json_object_set_new(out, "frozen", json_false());
    return cr_http_json(conn, 200, out);
}

static int login(struct mg_connection *conn, cr_portal *p)
{
    json_t *body;
    int status = cr_http_read_json(conn, &body);
    if (!body)
        return status;
    json_t *team = json_object_get(body, "team");
    const char *token = json_string_value(json_object_get(body, "token"));
    const char *password = json_string_value(json_object_get(body, "password"));
    int rc;
    if (json_is_integer(team) && token) {
        int t = (int)json_integer_value(team);
        rc = cr_auth_team_token_ok(p, t, token)
                 ? cr_auth_login_reply(p, conn, CR_ROLE_TEAM, t, json_pack("{s:s, s:i}", "role", "team", "team", t))
                 : cr_http_error(conn, 401, "wrong team or token");
    } else if (password) {
        rc = cr_auth_admin_ok(p, password)
                 ? cr_auth_login_reply(p, conn, CR_ROLE_INSTRUCTOR, 0, json_pack("{s:s}", "role", "instructor"))
                 : cr_http_error(conn, 401, "wrong password");
    } else {
        rc = cr_http_error(conn, 400, "the body needs \"team\" and \"token\", or \"password\"");
    }
    json_decref(body);
    return rc;
}

/* Server-sent events: "change" with the newest event id the viewer may see,
 * whenever it moves; a comment every 15 s keeps proxies from closing it. */
static int stream(struct mg_connection *conn, cr_portal *p, const cr_session *s)
{
    cr_state *st = NULL;
    if (cr_portal_db(p, &st) < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", "text/event-stream", -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Accel-Buffering", "no", -1); /* nginx: do not buffer */
    cr_http_security_headers(conn);
    mg_response_header_send(conn);
    int team = s->role == CR_ROLE_TEAM ? s->team : 0;
    int64_t last = -1, seen = 0, idle_ms = 0;
    while (!p->stopping) {
        int64_t id = seen;
        if (cr_events_last_id(st, team, seen, &id) < 0) {
            cr_error_clear();
            break;
        }
        seen = id;
        if (id != last) {
            char msg[96];
            int n = snprintf(msg, sizeof msg, "event: change\ndata: {\"last\":%lld}\n\n", (long long)id);
            if (mg_write(conn, msg, (size_t)n) <= 0)
                break;
            last = id;
            idle_ms = 0;
        } else if ((idle_ms += 1000) >= 15000) {
            if (mg_write(conn, ": ping\n\n", 8) <= 0)
                break;
            idle_ms = 0;
        }
        cr_sleep_ms(1000);
    }
    cr_state_close(st);
    return 200;
}

/* --------------------------------------------------------- instructor */

static int admin_matrix(struct mg_connection *conn, cr_portal *p)
{
    cr_score_board *scores = NULL;
    json_t *clock = NULL;
    if (load_board(p, &scores, &clock) < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    json_t *board = cr_score_board_json(scores);
    /* Each team's coverage, from its own model (the same tags as team 1's
     * unless the scenario's script made them differ). */
    json_t *coverage = json_array();
    for (int t = 1; t <= cr_engine_teams(p->engine); t++) {
        json_t *cv = coverage_json(cr_engine_team(p->engine, t), cr_score_board_find(scores, t));
        json_object_set_new(cv, "team", json_integer(t));
        json_array_append_new(coverage, cv);
    }
    cr_score_board_free(scores);
    const cr_team_model *tm = cr_engine_team(p->engine, 1);
    json_t *objs = json_array(), *flags = json_array(), *injects = json_array();
    for (size_t i = 0; i < tm->n_injects; i++)
        json_array_append_new(injects, json_pack("{s:s, s:o, s:i}", "id", tm->injects[i].id, "title",
                                                 text_json(&tm->injects[i].title), "at_s", tm->injects[i].at_s));
    for (size_t i = 0; i < tm->n_objectives; i++)
        json_array_append_new(objs, json_pack("{s:s, s:o, s:i, s:s, s:o, s:o}", "id", tm->objectives[i].id, "title",
                                              text_json(&tm->objectives[i].title), "points",
                                              tm->objectives[i].points, "mode",
                                              tm->objectives[i].mode == CR_MODE_HOLD ? "hold" : "once", "attack",
                                              attack_json(tm->objectives[i].attack), "skills",
                                              strv_json(tm->objectives[i].skills)));
    for (size_t i = 0; i < tm->n_flags; i++)
        json_array_append_new(flags, json_pack("{s:s, s:o, s:i, s:o, s:o}", "id", tm->flags[i].id, "question",
                                               text_json(&tm->flags[i].question), "points", tm->flags[i].points,
                                               "attack", attack_json(tm->flags[i].attack), "skills",
                                               strv_json(tm->flags[i].skills)));
    pthread_mutex_lock(&p->lock);
    bool frozen = p->frozen_board != NULL;
    pthread_mutex_unlock(&p->lock);
    json_object_set_new(board, "clock", clock);
    json_object_set_new(board, "inject_list", injects);
    json_object_set_new(board, "topology", topology_json(tm));
    json_object_set_new(board, "objective_list", objs);
    json_object_set_new(board, "flag_list", flags);
    json_object_set_new(board, "coverage", coverage);
    json_object_set_new(board, "frozen", json_boolean(frozen));
    json_object_set_new(board, "range", json_string(p->range));
    json_object_set_new(board, "title", text_json(&p->scenario->title));
    return cr_http_json(conn, 200, board);
}

static int admin_events(struct mg_connection *conn, cr_portal *p)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char buf[32];
    int team = 0;
    long long since = 0;
    if (qs && mg_get_var(qs, strlen(qs), "team", buf, sizeof buf) > 0) {
        char *end;
        long t = strtol(buf, &end, 10);
        if (*end || t < 0 || t > cr_engine_teams(p->engine))
            return cr_http_error(conn, 400, "team must be 0 to %d", cr_engine_teams(p->engine));
        team = (int)t;
    }
    if (qs && mg_get_var(qs, strlen(qs), "since", buf, sizeof buf) > 0) {
        char *end;
        since = strtoll(buf, &end, 10);
        if (*end || since < 0)
            return cr_http_error(conn, 400, "since must be epoch milliseconds");
    }
    cr_state *st = NULL;
    json_t *events = NULL;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_events_query(&events, st, team, since, NULL);
    cr_state_close(st);
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    while (json_array_size(events) > ADMIN_EVENTS_MAX)
        json_array_remove(events, 0);
    return cr_http_json(conn, 200, json_pack("{s:o}", "events", events));
}

static int admin_health(struct mg_connection *conn, cr_portal *p)
{
    cr_range_status_list *status = NULL;
    if (cr_range_status_list_new(&status, p->cfg, p->range) < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    json_t *ranges = cr_range_status_list_json(status);
    cr_range_status_list_free(status);
    return cr_http_json(conn, 200, json_pack("{s:o, s:o}", "ranges", ranges, "consoles", cr_console_list(p)));
}

/* A CSV cell: quoted, and a leading = + - @ made inert for spreadsheets. */
static void csv_cell(cr_buf *b, const char *s)
{
    cr_buf_add(b, "\"");
    if (strchr("=+-@\t\r", s[0]) && s[0])
        cr_buf_add(b, "'");
    for (; *s; s++)
        cr_buf_addn(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    cr_buf_add(b, "\"");
}

static int admin_teams_csv(struct mg_connection *conn, cr_portal *p)
{
    cr_buf b = {0};
    cr_buf_add(&b, "range,team,token\r\n");
    for (int t = 1; t <= cr_engine_teams(p->engine); t++) {
        char tok[CR_TEAM_TOKEN_LEN + 1];
        cr_portal_team_token(tok, p->secret, t);
        csv_cell(&b, p->range);
        cr_buf_addf(&b, ",%d,", t);
        csv_cell(&b, tok);
        cr_buf_add(&b, "\r\n");
    }
    int rc = cr_http_send(conn, 200, "text/csv; charset=utf-8", b.data, b.len, NULL);
    cr_buf_free(&b);
    return rc;
}

static int admin_answers(struct mg_connection *conn, cr_portal *p)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char buf[16] = "";
    if (qs)
        mg_get_var(qs, strlen(qs), "team", buf, sizeof buf);
    char *end;
    long t = strtol(buf, &end, 10);
    const cr_team_model *tm = *buf && !*end ? cr_engine_team(p->engine, (int)t) : NULL;
    if (!tm)
        return cr_http_error(conn, 400, "team must be 1 to %d", cr_engine_teams(p->engine));
    json_t *flags = json_array();
    for (size_t i = 0; i < tm->n_flags; i++)
        json_array_append_new(flags, json_pack("{s:s, s:s, s:s}", "id", tm->flags[i].id, "kind",
                                               tm->flags[i].answer_kind == CR_ANSWER_PATTERN ? "pattern" : "literal",
                                               "answer", tm->flags[i].answer));
    return cr_http_json(conn, 200, json_pack("{s:i, s:o}", "team", (int)t, "flags", flags));
}

/* Reads a JSON body whose field `name` must be true or false. Returns 0
 * with *value set, or the status of the refusal already sent. */
static int body_bool(struct mg_connection *conn, const char *name, bool *value)
{
    json_t *body;
    int status = cr_http_read_json(conn, &body);
    if (!body)
        return status;
    json_t *f = json_object_get(body, name);
    bool valid = json_is_boolean(f);
    *value = json_is_true(f);
    json_decref(body);
    return valid ? 0 : cr_http_error(conn, 400, "the body needs \"%s\": true or false", name);
}

static int admin_freeze(struct mg_connection *conn, cr_portal *p)
{
    bool freeze;
    int status = body_bool(conn, "frozen", &freeze);
    if (status)
        return status;
    json_t *pub = NULL;
    if (freeze) {
        cr_score_board *board = NULL;
        if (load_board(p, &board, NULL) < 0)
            return cr_http_error(conn, 500, "%s", cr_error_message());
        pub = public_board(p, board);
        cr_score_board_free(board);
    }
    cr_state *st = NULL;
    if (cr_portal_db(p, &st) == 0)
        cr_event_add(st, 0, 0, NULL, freeze ? "scoreboard.freeze" : "scoreboard.unfreeze", NULL, NULL, NULL);
    cr_state_close(st);
    cr_error_clear();
    pthread_mutex_lock(&p->lock);
    bool was = p->frozen_board != NULL;
    if (!freeze || !was) {
        json_decref(p->frozen_board);
        p->frozen_board = pub;
        pub = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    json_decref(pub);
    return cr_http_json(conn, 200, json_pack("{s:b}", "frozen", freeze));
}

static int admin_recordings(struct mg_connection *conn, cr_portal *p, const char *id)
{
    if (!id) {
        cr_state *st = NULL;
        json_t *events = NULL;
        int rc = cr_portal_db(p, &st);
        if (rc == 0)
            rc = cr_events_query(&events, st, 0, 0, "console.detach");
        cr_state_close(st);
        if (rc < 0)
            return cr_http_error(conn, 500, "%s", cr_error_message());
        json_t *out = json_array();
        size_t i;
        json_t *ev;
        json_array_foreach(events, i, ev) if (json_object_get(json_object_get(ev, "data"), "recording"))
            json_array_append(out, ev);
        json_decref(events);
        return cr_http_json(conn, 200, json_pack("{s:o}", "recordings", out));
    }
    /* Recording ids are our own hex names: anything else is refused before
     * a path is built, so no id can leave the folder. */
    size_t n = strlen(id);
    if (n < 8 || n > 64 || strspn(id, "0123456789abcdef") != n)
        return cr_http_error(conn, 400, "bad recording id");
    char *path = cr_xasprintf("%s/%s.cast", p->recordings, id);
    char *data = NULL;
    size_t len = 0;
    int rc = cr_read_file(&data, &len, path);
    free(path);
    if (rc < 0) {
        cr_error_clear();
        return cr_http_error(conn, 404, "no recording '%s'", id);
    }
    rc = cr_http_send(conn, 200, "application/x-asciicast", data, len, NULL);
    free(data);
    return rc;
}

static int admin_clock(struct mg_connection *conn, cr_portal *p)
{
    bool pause;
    int status = body_bool(conn, "paused", &pause);
    if (status)
        return status;
    cr_state *st = NULL;
    cr_clock c;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_state_begin(st);
    /* Read and write in one transaction, so two clicks make one event. */
    if (rc == 0 && (rc = cr_events_clock(st, cr_wall_ms(), &c)) == 0 && c.started && c.paused != pause)
        rc = cr_event_add(st, 0, 0, NULL, pause ? "exercise.pause" : "exercise.resume", NULL, NULL, NULL);
    if (rc == 0)
        rc = cr_state_commit(st);
    else if (st)
        cr_state_rollback(st);
    json_t *out = rc == 0 ? clock_json(st) : NULL;
    cr_state_close(st);
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    return cr_http_json(conn, 200, out);
}

static int admin_inject(struct mg_connection *conn, cr_portal *p, const char *id)
{
    json_t *body;
    int status = cr_http_read_json(conn, &body);
    if (!body)
        return status;
    json_t *t = json_object_get(body, "team");
    int team = json_is_integer(t) ? (int)json_integer_value(t) : -1;
    json_decref(body);
    if (team < 1 || team > cr_engine_teams(p->engine))
        return cr_http_error(conn, 400, "the body needs \"team\": 1 to %d", cr_engine_teams(p->engine));
    cr_state *st = NULL;
    bool fired = false;
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_engine_fire_inject(p->engine, st, team, id, "instructor", &fired);
    cr_state_close(st);
    if (rc == CR_ENOTFOUND)
        return cr_http_error(conn, 404, "%s", cr_error_message());
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    return cr_http_json(conn, 200, json_pack("{s:s, s:i, s:b}", "inject", id, "team", team, "fired", fired));
}

static int admin_report(struct mg_connection *conn, cr_portal *p)
{
    const char *qs = mg_get_request_info(conn)->query_string;
    char format[8] = "html";
    if (qs)
        mg_get_var(qs, strlen(qs), "format", format, sizeof format);
    cr_report_format fmt;
    if (cr_report_format_parse(&fmt, format) < 0) {
        cr_error_clear();
        return cr_http_error(conn, 400, "format must be html, json or csv");
    }
    char *dir = cr_range_dir(p->cfg->state_dir, p->range);
    char *path = cr_xasprintf("%s/portal-report.%s.tmp", dir, format);
    cr_state *st = NULL;
    char *data = NULL;
    size_t len = 0;
    /* One report at a time: they share the file name. */
    pthread_mutex_lock(&p->report_lock);
    int rc = cr_portal_db(p, &st);
    if (rc == 0)
        rc = cr_report_write(st, fmt, path);
    if (rc == 0)
        rc = cr_read_file(&data, &len, path);
    unlink(path);
    pthread_mutex_unlock(&p->report_lock);
    cr_state_close(st);
    free(path);
    free(dir);
    if (rc < 0)
        return cr_http_error(conn, 500, "%s", cr_error_message());
    const char *type = !strcmp(format, "html") ? "text/html; charset=utf-8"
                       : !strcmp(format, "csv") ? "text/csv; charset=utf-8"
                                                : "application/json";
    char disp[96];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s-report.%s\"", p->range, format);
    mg_response_header_start(conn, 200);
    mg_response_header_add(conn, "Content-Type", type, -1);
    char n[32];
    snprintf(n, sizeof n, "%zu", len);
    mg_response_header_add(conn, "Content-Length", n, -1);
    mg_response_header_add(conn, "Content-Disposition", disp, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    cr_http_security_headers(conn);
    mg_response_header_send(conn);
    mg_write(conn, data, len);
    free(data);
    return 200;
}

typedef struct revert_job {
    cr_portal *p;
    int team;
    char vm[CR_NAME_MAX + 1];
} revert_job;

static void revert_event(cr_portal *p, int team, const char *vm, const char *kind, json_t *data)
{
    cr_state *st = NULL;
    if (cr_portal_db(p, &st) < 0 || cr_event_add(st, 0, team, vm, kind, data, NULL, NULL) < 0)
        cr_log_warn("cannot record %s: %s", kind, cr_error_message());
    cr_error_clear();
    cr_state_close(st);
    json_decref(data);
}

/* The revert runs beside the server (a boot takes seconds to minutes under
 * TCG); its outcome is an event, which the pages see through the stream. */
static void *revert_main(void *arg)
{
    revert_job *j = arg;
    cr_config c = *j->p->cfg;
    c.progress = false;
    cr_up_report rep;
    int rc = cr_range_revert(&c, j->p->range, j->team, j->vm, &rep);
    if (rc == 0)
        revert_event(j->p, j->team, j->vm, "vm.revert.done", json_pack("{s:f}", "seconds", rep.seconds));
    else
        revert_event(j->p, j->team, j->vm, "vm.revert.failed", json_pack("{s:s}", "error", cr_error_message()));
    cr_error_clear();
    pthread_mutex_lock(&j->p->lock);
    j->p->reverting = false;
    pthread_mutex_unlock(&j->p->lock);
    free(j);
    return NULL;
}

static int admin_revert(struct mg_connection *conn, cr_portal *p)
{
    json_t *body;
    int status = cr_http_read_json(conn, &body);
    if (!body)
        return status;
    json_t *t = json_object_get(body, "team");
    int team = json_is_integer(t) ? (int)json_integer_value(t) : -1;
    const char *vm = json_string_value(json_object_get(body, "vm"));
    const cr_team_model *tm = cr_engine_team(p->engine, team);
    if (!tm || !vm || !cr_team_vm(tm, vm)) {
        json_decref(body);
        return cr_http_error(conn, 400, "the body needs \"team\" (1 to %d) and \"vm\", a VM of the scenario",
                             cr_engine_teams(p->engine));
    }
    /* vm points into body, and j belongs to the revert thread once it runs:
     * the name the answer and the event need is a copy of its own (valgrind
     * found both read after the body was freed). */
    char name[CR_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", vm);
    json_decref(body);
    vm = name;
    revert_job *j = cr_xcalloc(1, sizeof *j);
    j->p = p;
    j->team = team;
    snprintf(j->vm, sizeof j->vm, "%s", name);
    pthread_mutex_lock(&p->lock);
    bool busy = p->reverting || p->stopping;
    if (!busy) {
        if (p->revert_started)
            pthread_join(p->revert_thread, NULL);
        p->reverting = true;
        p->revert_started = pthread_create(&p->revert_thread, NULL, revert_main, j) == 0;
        if (!p->revert_started)
            p->reverting = false;
    }
    bool started = !busy && p->revert_started;
    pthread_mutex_unlock(&p->lock);
    if (!started) {
        free(j);
        return cr_http_error(conn, busy ? 409 : 503, busy ? "a revert is running; try again when it is done"
                                                          : "cannot start the revert");
    }
    revert_event(p, team, vm, "vm.revert.start", json_pack("{s:s}", "by", "instructor"));
    return cr_http_json(conn, 202, json_pack("{s:i, s:s, s:b}", "team", team, "vm", vm, "reverting", 1));
}

/* ------------------------------------------------------------- routing */

/* "/api/team/flags/ID" with prefix "/api/team/flags/" gives "ID" when ID
 * is a plain name (no '/'), else NULL. */
static const char *tail(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) || !path[n] || strchr(path + n, '/') || strlen(path + n) > 64)
        return NULL;
    return path + n;
}

int cr_api_handle(struct mg_connection *conn, cr_portal *p)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *m = ri->request_method;
    const char *path = ri->local_uri;
    bool get = !strcmp(m, "GET") || !strcmp(m, "HEAD"), post = !strcmp(m, "POST");
    const char *id;

    if (!strcmp(path, "/api/scoreboard"))
        return get ? scoreboard(conn, p) : cr_http_error(conn, 405, "use GET");
    if (!strcmp(path, "/api/login"))
        return post ? login(conn, p) : cr_http_error(conn, 405, "use POST");

    cr_session s;
    if (!cr_auth_session(p, conn, &s))
        return cr_http_error(conn, 401, "log in first");
    if (post && !cr_auth_csrf_ok(&s, conn))
        return cr_http_error(conn, 403, "missing or wrong X-CSRF-Token");
    if (!get && !post)
        return cr_http_error(conn, 405, "use GET or POST");

    if (!strcmp(path, "/api/session") && get)
        return cr_http_json(conn, 200,
                            json_pack("{s:s, s:i, s:s, s:s, s:o}", "role", s.role == CR_ROLE_TEAM ? "team" : "instructor",
                                      "team", s.team, "csrf", s.csrf, "range", p->range, "title",
                                      text_json(&p->scenario->title)));
    if (!strcmp(path, "/api/logout") && post) {
        cr_auth_logout(p, &s);
        return cr_http_json(conn, 200, json_pack("{s:b}", "ok", 1));
    }
    if (!strcmp(path, "/api/stream") && get)
        return stream(conn, p, &s);

    if (!strncmp(path, "/api/team", 9)) {
        if (s.role != CR_ROLE_TEAM)
            return cr_http_error(conn, 403, "for teams only");
        if (!strcmp(path, "/api/team") && get)
            return team_view(conn, p, s.team);
        if (!strcmp(path, "/api/team/timeline") && get)
            return team_timeline(conn, p, s.team);
        if ((id = tail(path, "/api/team/flags/")) && post)
            return team_submit(conn, p, s.team, id);
        if ((id = tail(path, "/api/team/hints/")) && post)
            return team_hint(conn, p, s.team, id);
        return cr_http_error(conn, 404, "no such endpoint");
    }
    if (!strncmp(path, "/api/admin/", 11)) {
        if (s.role != CR_ROLE_INSTRUCTOR)
            return cr_http_error(conn, 403, "for the instructor only");
        if (!strcmp(path, "/api/admin/matrix") && get)
            return admin_matrix(conn, p);
        if (!strcmp(path, "/api/admin/events") && get)
            return admin_events(conn, p);
        if (!strcmp(path, "/api/admin/health") && get)
            return admin_health(conn, p);
        if (!strcmp(path, "/api/admin/teams.csv") && get)
            return admin_teams_csv(conn, p);
        if (!strcmp(path, "/api/admin/answers") && get)
            return admin_answers(conn, p);
        if (!strcmp(path, "/api/admin/freeze") && post)
            return admin_freeze(conn, p);
        if (!strcmp(path, "/api/admin/clock") && post)
            return admin_clock(conn, p);
        if ((id = tail(path, "/api/admin/injects/")) && post)
            return admin_inject(conn, p, id);
        if (!strcmp(path, "/api/admin/report") && get)
            return admin_report(conn, p);
        if (!strcmp(path, "/api/admin/revert") && post)
            return admin_revert(conn, p);
        if (!strcmp(path, "/api/admin/recordings") && get)
            return admin_recordings(conn, p, NULL);
        if ((id = tail(path, "/api/admin/recordings/")) && get)
            return admin_recordings(conn, p, id);
    }
    return cr_http_error(conn, 404, "no such endpoint");
}
