/*
 * score.c: scoring from the event log (score.h). The scoreboard and the
 * timeline replay the scoring events (objective.met/lost, flag.correct,
 * hint.taken) in the order they were logged; every event carries its own
 * points or cost, so nothing but the database is needed. The stored content
 * table only gives full marks (and the reports their titles). Events are
 * read and written through events.h only; the board and the timeline are
 * plain structs, turned into JSON by their _json functions at the edges.
 *
 * The writers (record_objective, submit, hint) each run in one BEGIN
 * IMMEDIATE transaction: read the current state, then append at most one
 * event. SQLite serialises such transactions across connections and
 * processes, so two engines deciding at once never log a transition twice.
 *
 * Lookups in the model are local (not cr_team_objective/flag) so that this
 * module depends only on the model's plain structs.
 *
 * Sums are kept in 64 bits. The scenario language caps each item's points
 * and each hint's cost, but not how many there are, and a range database
 * may be a forged file (`crange report FILE.db`), so any total can leave an
 * int: such a board or timeline is refused (CR_EINVAL) rather than shown
 * wrapped around. Totals stay within +-INT_MAX so that they can be negated.
 */
#include "score.h"

#include "answer.h"
#include "err.h"
#include "events.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int db_error(sqlite3 *db, const char *what)
{
    return cr_error_set(CR_ERROR, "scoring: %s: %s", what, sqlite3_errmsg(db));
}

static const cr_objective *find_objective(const cr_team_model *tm, const char *id)
{
    for (size_t i = 0; i < tm->n_objectives; i++)
        if (tm->objectives[i].id && strcmp(tm->objectives[i].id, id) == 0)
            return &tm->objectives[i];
    return NULL;
}

static const cr_flag *find_flag(const cr_team_model *tm, const char *id)
{
    for (size_t i = 0; i < tm->n_flags; i++)
        if (tm->flags[i].id && strcmp(tm->flags[i].id, id) == 0)
            return &tm->flags[i];
    return NULL;
}

static const char *mode_name(cr_objective_mode m)
{
    return m == CR_MODE_ONCE ? "once" : "hold";
}

/* ---- content ---------------------------------------------------------- */

static json_t *hints_json(const cr_hint *h, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s?, s:s?, s:i}", "ja", h[i].text.ja, "en", h[i].text.en, "cost",
                                           h[i].cost));
    return a;
}

/* A NULL-terminated list of ids or words (prereqs, attack, skills). */
static json_t *strv_json(char **p)
{
    json_t *a = json_array();
    for (; p && *p; p++)
        json_array_append_new(a, json_string(*p));
    return a;
}

static int insert_content(sqlite3 *db, sqlite3_stmt *q, int seq, const char *kind, const char *id,
                          const cr_text *title, int points, const char *mode, int max_attempts, json_t *prereqs,
                          json_t *hints, json_t *attack, json_t *skills)
{
    char *p = json_dumps(prereqs, JSON_COMPACT);
    char *h = json_dumps(hints, JSON_COMPACT);
    char *a = json_dumps(attack, JSON_COMPACT);
    char *k = json_dumps(skills, JSON_COMPACT);
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, seq);
    sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, title->ja, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, title->en, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 6, points);
    sqlite3_bind_text(q, 7, mode, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 8, max_attempts);
    sqlite3_bind_text(q, 9, p, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 10, h, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 11, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 12, k, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = cr_error_set(CR_ERROR, "scoring: save %s '%s': %s", kind, id ? id : "?", sqlite3_errmsg(db));
    sqlite3_reset(q);
    free(p);
    free(h);
    free(a);
    free(k);
    json_decref(prereqs);
    json_decref(hints);
    json_decref(attack);
    json_decref(skills);
    return rc;
}

int cr_score_save_content(cr_state *st, const cr_scenario *s)
{
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *del = NULL, *ins = NULL;
    int rc = cr_state_begin(st);
    if (rc < 0)
        return rc;
    if (sqlite3_prepare_v3(db, "DELETE FROM content", -1, 0, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(db,
                           "INSERT INTO content (id, seq, kind, title_ja, title_en, points, mode, max_attempts,"
                           " prereqs, hints, attack, skills) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, 0, &ins, NULL) != SQLITE_OK) {
        rc = db_error(db, "save content");
        goto cleanup;
    }
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = db_error(db, "save content");
        goto cleanup;
    }
    const cr_team_model *tm = s->n_teams ? &s->teams[0] : NULL;
    int seq = 0;
    for (size_t i = 0; rc == 0 && tm && i < tm->n_objectives; i++) {
        const cr_objective *o = &tm->objectives[i];
        rc = insert_content(db, ins, seq++, "objective", o->id, &o->title, o->points, mode_name(o->mode), 0,
                            strv_json(o->prereqs), hints_json(o->hints, o->n_hints), strv_json(o->attack),
                            strv_json(o->skills));
    }
    for (size_t i = 0; rc == 0 && tm && i < tm->n_flags; i++) {
        const cr_flag *f = &tm->flags[i];
        rc = insert_content(db, ins, seq++, "flag", f->id, &f->question, f->points, NULL, f->max_attempts,
                            json_array(), hints_json(f->hints, f->n_hints), strv_json(f->attack),
                            strv_json(f->skills));
    }
cleanup:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    if (rc == 0)
        rc = cr_state_commit(st);
    if (rc < 0)
        cr_state_rollback(st);
    return rc;
}

/* ---- replaying the log ------------------------------------------------ */

typedef struct item {
    char *id;
    bool flag;
    bool once;
    bool met;    /* now */
    bool ever;
    int64_t points;
} item;

typedef struct hint_seen {
    char *id;
    int index;
} hint_seen;

typedef struct tally {
    int team;
    int64_t score;
    int64_t hints_cost;
    const char *overflow; /* "score" or "hint costs" when it left +-INT_MAX: nothing more is added */
    bool scored;        /* some event changed the score */
    int64_t reached_ms; /* when it last changed */
    item *items;
    size_t n_items, cap_items;
    hint_seen *hints;
    size_t n_hints, cap_hints;
    cr_score_point *points; /* the score after each change */
    size_t n_points, cap_points;
} tally;

static void tallies_free(tally *t, int n)
{
    for (int i = 0; t && i < n; i++) {
        for (size_t k = 0; k < t[i].n_items; k++)
            free(t[i].items[k].id);
        for (size_t k = 0; k < t[i].n_hints; k++)
            free(t[i].hints[k].id);
        free(t[i].items);
        free(t[i].hints);
        free(t[i].points);
    }
    free(t);
}

static item *tally_item(tally *t, const char *id, bool flag)
{
    for (size_t k = 0; k < t->n_items; k++)
        if (t->items[k].flag == flag && strcmp(t->items[k].id, id) == 0)
            return &t->items[k];
    cr_grow(&t->items, &t->cap_items, t->n_items + 1, sizeof *t->items);
    item *it = &t->items[t->n_items++];
    memset(it, 0, sizeof *it);
    it->id = cr_xstrdup(id);
    it->flag = flag;
    return it;
}

static int64_t item_value(const item *it)
{
    return (it->once ? it->ever : it->met) ? it->points : 0;
}

/* Applies one scoring event; returns the change of score. Every operand is
 * an int widened to 64 bits, so nothing here can overflow. */
static int64_t tally_apply(tally *t, const char *kind, const char *id, int points, const char *mode, int index)
{
    if (strcmp(kind, "hint.taken") == 0) {
        for (size_t k = 0; k < t->n_hints; k++)
            if (t->hints[k].index == index && strcmp(t->hints[k].id, id) == 0)
                return 0;
        cr_grow(&t->hints, &t->cap_hints, t->n_hints + 1, sizeof *t->hints);
        t->hints[t->n_hints].id = cr_xstrdup(id);
        t->hints[t->n_hints++].index = index;
        t->hints_cost += points;
        return -(int64_t)points;
    }
    bool flag = strcmp(kind, "flag.correct") == 0;
    item *it = tally_item(t, id, flag);
    int64_t before = item_value(it);
    if (strcmp(kind, "objective.lost") == 0) {
        it->met = false;
    } else {
        if (!flag && mode)
            it->once = strcmp(mode, "once") == 0;
        /* A once objective keeps the points it was first met with. */
        if (!(it->once && it->ever))
            it->points = points;
        it->met = it->ever = true;
    }
    return item_value(it) - before;
}

/* Whether a total fits an int, and its negation too. */
static bool fits(int64_t v)
{
    return v >= -(int64_t)INT_MAX && v <= INT_MAX;
}

/* cr_events_scoring's callback: ctx is the tallies of teams 1..n. */
static void tally_event(void *ctx, const cr_scoring_event *ev)
{
    tally *tt = &((tally *)ctx)[ev->team - 1];
    if (!ev->id || tt->overflow)
        return; /* not an event this engine wrote, or the team is past counting */
    /* Each step adds less than 2^33 to totals within +-2^31: no 64-bit overflow. */
    int64_t delta = tally_apply(tt, ev->kind, ev->id, ev->points, ev->mode, ev->index);
    if (!fits(tt->score + delta) || !fits(tt->hints_cost)) {
        tt->overflow = fits(tt->score + delta) ? "hint costs" : "score";
        return;
    }
    if (delta != 0) {
        tt->score += delta;
        tt->scored = true;
        tt->reached_ms = ev->time_ms;
        cr_grow(&tt->points, &tt->cap_points, tt->n_points + 1, sizeof *tt->points);
        tt->points[tt->n_points++] = (cr_score_point){ev->time_ms, (int)tt->score};
    }
}

/* Replays every scoring event for teams 1..teams. */
static int tally_run(tally **out, cr_state *st, int teams)
{
    *out = NULL;
    if (teams < 0 || teams > CR_MAX_TEAMS)
        return cr_error_set(CR_EINVAL, "scoring: %d teams (at most %d)", teams, CR_MAX_TEAMS);
    tally *t = cr_xcalloc((size_t)teams + 1, sizeof *t);
    for (int i = 0; i < teams; i++)
        t[i].team = i + 1;
    int rc = cr_events_scoring(st, teams, tally_event, t);
    for (int i = 0; rc == 0 && i < teams; i++)
        if (t[i].overflow)
            rc = cr_error_set(CR_EINVAL, "scoring: team %d's %s %s beyond ±%d points", t[i].team, t[i].overflow,
                              strcmp(t[i].overflow, "score") ? "are" : "is", INT_MAX);
    if (rc < 0)
        tallies_free(t, teams);
    else
        *out = t;
    return rc;
}

/* Higher score first; at equal score, whoever reached it first; teams that
 * never scored after those; then by team number. */
static int rank_cmp(const void *pa, const void *pb)
{
    const tally *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->scored != b->scored)
        return a->scored ? -1 : 1;
    if (a->scored && a->reached_ms != b->reached_ms)
        return a->reached_ms < b->reached_ms ? -1 : 1;
    return a->team - b->team;
}

/* SQLite sums integers in 64 bits (and fails rather than overflow them). */
static int full_marks(cr_state *st, int *out)
{
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    *out = 0;
    if (sqlite3_prepare_v3(db, "SELECT coalesce(sum(points), 0) FROM content", -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "full marks");
    int rc = 0;
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = db_error(db, "full marks");
    } else {
        sqlite3_int64 sum = sqlite3_column_int64(q, 0);
        if (fits(sum))
            *out = (int)sum;
        else
            rc = cr_error_set(CR_EINVAL, "scoring: the content's points add up to %lld, beyond ±%d", (long long)sum,
                              INT_MAX);
    }
    sqlite3_finalize(q);
    return rc;
}

/* Appends an id to a row's list (objectives or flags). */
static void ids_add(char ***ids, size_t *n, size_t *cap, const char *id)
{
    cr_grow(ids, cap, *n + 1, sizeof **ids);
    (*ids)[(*n)++] = cr_xstrdup(id);
}

int cr_score_board_new(cr_score_board **out, cr_state *st, int teams)
{
    *out = NULL;
    int marks = 0;
    int rc = full_marks(st, &marks);
    tally *t = NULL;
    if (rc == 0)
        rc = tally_run(&t, st, teams);
    if (rc < 0)
        return rc;
    if (teams > 0)
        qsort(t, (size_t)teams, sizeof *t, rank_cmp);
    cr_score_board *b = cr_xcalloc(1, sizeof *b);
    b->full_marks = marks;
    b->n_teams = (size_t)teams;
    b->teams = cr_xcalloc((size_t)teams + 1, sizeof *b->teams);
    for (int i = 0; i < teams; i++) {
        cr_score_board_team *row = &b->teams[i];
        size_t cap_objs = 0, cap_flags = 0;
        /* tally_run refused totals that do not fit an int. */
        *row = (cr_score_board_team){.rank = i + 1, .team = t[i].team, .score = (int)t[i].score,
                                     .hints_cost = (int)t[i].hints_cost, .scored = t[i].scored,
                                     .reached_ms = t[i].reached_ms};
        for (size_t k = 0; k < t[i].n_items; k++) {
            const item *it = &t[i].items[k];
            if (it->flag && it->met)
                ids_add(&row->flags, &row->n_flags, &cap_flags, it->id);
            else if (!it->flag && (it->once ? it->ever : it->met))
                ids_add(&row->objectives, &row->n_objectives, &cap_objs, it->id);
        }
    }
    tallies_free(t, teams);
    *out = b;
    return 0;
}

void cr_score_board_free(cr_score_board *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_teams; i++) {
        cr_score_board_team *row = &b->teams[i];
        for (size_t k = 0; k < row->n_objectives; k++)
            free(row->objectives[k]);
        for (size_t k = 0; k < row->n_flags; k++)
            free(row->flags[k]);
        free(row->objectives);
        free(row->flags);
    }
    free(b->teams);
    free(b);
}

const cr_score_board_team *cr_score_board_find(const cr_score_board *b, int team)
{
    for (size_t i = 0; b && i < b->n_teams; i++)
        if (b->teams[i].team == team)
            return &b->teams[i];
    return NULL;
}

static bool ids_have(char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return true;
    return false;
}

bool cr_score_board_team_met(const cr_score_board_team *t, const char *objective_id)
{
    return t && ids_have(t->objectives, t->n_objectives, objective_id);
}

bool cr_score_board_team_solved(const cr_score_board_team *t, const char *flag_id)
{
    return t && ids_have(t->flags, t->n_flags, flag_id);
}

static json_t *ids_json(char *const *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(ids[i]));
    return a;
}

json_t *cr_score_board_json(const cr_score_board *b)
{
    json_t *list = json_array();
    for (size_t i = 0; i < b->n_teams; i++) {
        const cr_score_board_team *row = &b->teams[i];
        char iso[32];
        cr_iso8601(iso, row->reached_ms);
        json_array_append_new(list,
                              json_pack("{s:i, s:i, s:i, s:o, s:o, s:i, s:o, s:o}", "rank", row->rank, "team",
                                        row->team, "score", row->score, "objectives",
                                        ids_json(row->objectives, row->n_objectives), "flags",
                                        ids_json(row->flags, row->n_flags), "hints_cost", row->hints_cost,
                                        "reached_ms", row->scored ? json_integer(row->reached_ms) : json_null(),
                                        "reached", row->scored ? json_string(iso) : json_null()));
    }
    return json_pack("{s:i, s:o}", "full_marks", b->full_marks, "teams", list);
}

int cr_score_timeline_new(cr_score_timeline **out, cr_state *st, int teams)
{
    *out = NULL;
    tally *t = NULL;
    int rc = tally_run(&t, st, teams);
    if (rc < 0)
        return rc;
    cr_score_timeline *tl = cr_xcalloc(1, sizeof *tl);
    tl->n_teams = (size_t)teams;
    tl->teams = cr_xcalloc((size_t)teams + 1, sizeof *tl->teams);
    for (int i = 0; i < teams; i++) {
        /* The points move over whole: the tallies are freed below. */
        tl->teams[i] = (cr_score_series){.team = t[i].team, .points = t[i].points, .n_points = t[i].n_points};
        t[i].points = NULL;
    }
    tallies_free(t, teams);
    *out = tl;
    return 0;
}

void cr_score_timeline_free(cr_score_timeline *tl)
{
    if (!tl)
        return;
    for (size_t i = 0; i < tl->n_teams; i++)
        free(tl->teams[i].points);
    free(tl->teams);
    free(tl);
}

json_t *cr_score_timeline_json(const cr_score_timeline *tl)
{
    json_t *list = json_array();
    for (size_t i = 0; i < tl->n_teams; i++) {
        const cr_score_series *sr = &tl->teams[i];
        json_t *points = json_array();
        for (size_t k = 0; k < sr->n_points; k++)
            json_array_append_new(points, json_pack("[I, i]", (json_int_t)sr->points[k].time_ms,
                                                    sr->points[k].score));
        json_array_append_new(list, json_pack("{s:i, s:o}", "team", sr->team, "points", points));
    }
    return list;
}

/* Appends a scoring event now. data is NULL when json_pack met a text that
 * is not UTF-8 (from the scenario): refuse rather than log an empty event. */
static int add_event(cr_state *st, int team, const char *kind, json_t *data)
{
    if (!data)
        return cr_error_set(CR_EINVAL, "scoring: cannot record %s: a text is not valid UTF-8", kind);
    return cr_event_add(st, 0, team, NULL, kind, data, NULL, NULL);
}

/* ---- writers ---------------------------------------------------------- */

/* Finishes a writer's transaction: commit on success, else roll back. */
static int finish(cr_state *st, int rc)
{
    if (rc == 0)
        rc = cr_state_commit(st);
    if (rc < 0)
        cr_state_rollback(st);
    return rc;
}

int cr_score_record_objective(cr_state *st, int team, const cr_objective *o, bool met, bool *changed)
{
    if (changed)
        *changed = false;
    bool once = o->mode == CR_MODE_ONCE;
    if (once && !met)
        return 0; /* a once objective is never lost; not met yet is no news */
    int rc = cr_state_begin(st);
    if (rc < 0)
        return rc;
    bool found = false;
    char *last = NULL;
    /* once: ever met; hold: the latest transition. */
    rc = once ? cr_events_last(st, team, "objective.met", NULL, o->id, &found, &last, NULL)
              : cr_events_last(st, team, "objective.met", "objective.lost", o->id, &found, &last, NULL);
    bool now = found && strcmp(last, "objective.met") == 0;
    if (rc == 0 && now != met) {
        json_t *data = met ? json_pack("{s:s, s:i, s:s}", "id", o->id, "points", o->points, "mode", mode_name(o->mode))
                           : json_pack("{s:s, s:i}", "id", o->id, "points", o->points);
        rc = add_event(st, team, met ? "objective.met" : "objective.lost", data);
        json_decref(data);
        if (rc == 0 && changed)
            *changed = true;
    }
    free(last);
    rc = finish(st, rc);
    if (rc < 0 && changed)
        *changed = false;
    return rc;
}

/* Whether prerequisite `id` holds for the team. */
static int prereq_holds(cr_state *st, int team, const cr_team_model *tm, const cr_objective *o, const char *id,
                        bool *ok)
{
    bool found = false;
    char *last = NULL;
    int rc;
    const cr_objective *p = find_objective(tm, id);
    if (p && p->mode == CR_MODE_ONCE) {
        rc = cr_events_last(st, team, "objective.met", NULL, id, &found, NULL, NULL);
        *ok = found;
    } else if (p) {
        rc = cr_events_last(st, team, "objective.met", "objective.lost", id, &found, &last, NULL);
        *ok = found && strcmp(last, "objective.met") == 0;
    } else if (find_flag(tm, id)) {
        rc = cr_events_last(st, team, "flag.correct", NULL, id, &found, NULL, NULL);
        *ok = found;
    } else {
        rc = cr_error_set(CR_ENOTFOUND, "objective '%s': prerequisite '%s' is neither an objective nor a flag",
                          o->id, id);
    }
    free(last);
    return rc;
}

int cr_score_prereqs_met(cr_state *st, int team, const cr_team_model *tm, const cr_objective *o, bool *ok)
{
    *ok = true;
    for (char **p = o->prereqs; p && *p; p++) {
        bool holds = false;
        int rc = prereq_holds(st, team, tm, o, *p, &holds);
        if (rc < 0) {
            *ok = false;
            return rc;
        }
        if (!holds) {
            *ok = false;
            return 0;
        }
    }
    return 0;
}

static int reject(cr_state *st, int team, const cr_flag *f, const char *reason)
{
    json_t *data = json_pack("{s:s, s:s}", "id", f->id, "reason", reason);
    int rc = add_event(st, team, "flag.rejected", data);
    json_decref(data);
    return rc;
}

int cr_score_submit(cr_state *st, int team, const cr_flag *f, const char *answer, cr_submit_verdict *verdict,
                    int *attempts_left)
{
    *verdict = 0;
    if (attempts_left)
        *attempts_left = -1;
    int rc = cr_state_begin(st);
    if (rc < 0)
        return rc;
    bool solved = false;
    int wrong = 0, left = -1;
    rc = cr_events_last(st, team, "flag.correct", NULL, f->id, &solved, NULL, NULL);
    if (rc == 0)
        rc = cr_events_count(st, team, "flag.wrong", f->id, &wrong);
    if (rc < 0)
        goto done;
    int max = f->max_attempts;
    left = max > 0 ? (wrong < max ? max - wrong : 0) : -1;
    if (solved) {
        *verdict = CR_SUBMIT_ALREADY_SOLVED;
        rc = reject(st, team, f, "already solved");
        goto done;
    }
    if (max > 0 && wrong >= max) {
        /* The answer is not even looked at: no oracle after the limit. */
        *verdict = CR_SUBMIT_NO_ATTEMPTS_LEFT;
        rc = reject(st, team, f, "no attempts left");
        goto done;
    }
    bool correct = false;
    rc = cr_answer_check(f, answer, &correct);
    if (rc < 0)
        goto done; /* a malformed answer is not an attempt */
    json_t *data;
    if (correct) {
        *verdict = CR_SUBMIT_CORRECT;
        data = json_pack("{s:s, s:i, s:i}", "id", f->id, "points", f->points, "attempt", wrong + 1);
    } else {
        *verdict = CR_SUBMIT_WRONG;
        data = json_pack("{s:s, s:i, s:s}", "id", f->id, "attempt", wrong + 1, "answer", answer);
        if (max > 0)
            left--;
    }
    rc = add_event(st, team, correct ? "flag.correct" : "flag.wrong", data);
    json_decref(data);
done:
    rc = finish(st, rc);
    if (rc < 0)
        *verdict = 0;
    else if (attempts_left)
        *attempts_left = left;
    return rc;
}

const char *cr_submit_verdict_name(cr_submit_verdict v)
{
    switch (v) {
    case CR_SUBMIT_CORRECT: return "correct";
    case CR_SUBMIT_WRONG: return "wrong";
    case CR_SUBMIT_ALREADY_SOLVED: return "already solved";
    case CR_SUBMIT_NO_ATTEMPTS_LEFT: return "no attempts left";
    }
    return "unknown";
}

int cr_score_hint(cr_state *st, int team, const cr_team_model *tm, const char *id, json_t **hint_out)
{
    *hint_out = NULL;
    const cr_hint *hints = NULL;
    size_t n = 0;
    const cr_objective *o = find_objective(tm, id);
    const cr_flag *f = o ? NULL : find_flag(tm, id);
    if (o)
        hints = o->hints, n = o->n_hints;
    else if (f)
        hints = f->hints, n = f->n_hints;
    else
        return cr_error_set(CR_ENOTFOUND, "no objective or flag '%s'", id);

    json_t *data = NULL;
    int64_t next = 0;
    int rc = cr_state_begin(st);
    if (rc < 0)
        return rc;
    rc = cr_events_next_hint(st, team, id, &next);
    if (rc < 0)
        goto done;
    if (next < 0 || (uint64_t)next >= n) {
        rc = cr_error_set(CR_ENOTFOUND, "no more hints for '%s'", id);
        goto done;
    }
    const cr_hint *h = &hints[next];
    data = json_pack("{s:s, s:I, s:i, s:{s:s?, s:s?}}", "id", id, "index", (json_int_t)next, "cost", h->cost, "text",
                     "ja", h->text.ja, "en", h->text.en);
    rc = add_event(st, team, "hint.taken", data);
done:
    rc = finish(st, rc);
    if (rc == 0)
        *hint_out = data;
    else
        json_decref(data);
    return rc;
}
