/*
 * report.c: exercise reports (report.h) from a range database alone: the
 * range row, the stored content (score.h), the scoreboard and timeline, and
 * the event log (events.h).
 *
 *   JSON  {"generated", "range", "scoreboard", "content", "coverage",
 *         "timeline", "events"}; coverage has one entry per team
 *         (coverage.h)
 *   CSV   RFC 4180 (CRLF, quoted where needed): team, kind, id, title_en,
 *         points, met, met_at per team and objective/flag in content order,
 *         then per team a row per ATT&CK technique (kind "attack", its
 *         name as title_en) and per skill (kind "skill") of the scenario,
 *         met when an item carrying it is, then a row
 *         "team,total,,,<score>,,<reached>". A cell a spreadsheet would run
 *         as a formula gets a leading apostrophe.
 *   HTML  one file, inline <style> and <svg>, no scripts and no external
 *         URLs, so it can be mailed or archived as is; every text escaped.
 *
 * "Met" means counting now, as on the scoreboard: a hold objective that was
 * lost is not met; the time is when it started to count (load_met). A
 * technique or skill is covered when an item carrying it is met.
 *
 * The database may be a file from anywhere (`crange report FILE.db`, opened
 * read-only by the CLI): its numbers are not trusted to be sane, so the
 * plot's arithmetic is done on clamped times and in floating point.
 */
#include "report.h"

#include "catalog.h"

#include "coverage.h"
#include "err.h"
#include "events.h"
#include "score.h"
#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cr_report_format_parse(cr_report_format *out, const char *s)
{
    if (s && strcmp(s, "json") == 0)
        *out = CR_REPORT_JSON;
    else if (s && strcmp(s, "csv") == 0)
        *out = CR_REPORT_CSV;
    else if (s && strcmp(s, "html") == 0)
        *out = CR_REPORT_HTML;
    else
        return cr_error_set(CR_EINVAL, "unknown report format '%s' (json, csv or html)", s ? s : "");
    return 0;
}

/* ---- what every format needs ------------------------------------------ */

typedef struct citem {
    char *kind; /* "objective" or "flag" */
    char *id;
    char *title_ja, *title_en;
    char *mode; /* NULL for flags */
    int points;
    int max_attempts;
    char *prereqs, *hints; /* JSON text */
    char **attack, **skills; /* the tags, NULL-terminated; NULL when none */
} citem;

typedef struct met_at {
    bool met;
    int64_t ms;
} met_at;

typedef struct report {
    cr_range_row range;
    int teams;
    citem *items;
    size_t n_items;
    cr_score_board *board;
    const cr_score_board_team **by_team; /* board rows by team - 1 (borrowed) */
    cr_score_timeline *timeline;
    met_at *met;        /* [team - 1][item] */
    cr_coverage *coverage; /* [team - 1], borrowing the items' tags */
    json_t *sessions;   /* console.detach events that name a recording (the portal's) */
    int64_t t0, t1;     /* the plotted span */
    int64_t generated_ms;
} report;

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static void report_free(report *r)
{
    cr_range_row_free(&r->range);
    for (size_t i = 0; i < r->n_items; i++) {
        citem *c = &r->items[i];
        free(c->kind);
        free(c->id);
        free(c->title_ja);
        free(c->title_en);
        free(c->mode);
        free(c->prereqs);
        free(c->hints);
        strv_free(c->attack);
        strv_free(c->skills);
    }
    for (int t = 0; r->coverage && t < r->teams; t++)
        cr_coverage_clear(&r->coverage[t]);
    free(r->coverage);
    free(r->items);
    cr_score_board_free(r->board);
    free(r->by_team);
    cr_score_timeline_free(r->timeline);
    json_decref(r->sessions);
    free(r->met);
}

static char *col_text(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? cr_xstrdup((const char *)t) : NULL;
}

/* The strings of a stored JSON array, NULL-terminated; NULL when there are
 * none. Whatever else a forged file holds there is passed over. */
static char **strv_from_json(const char *text)
{
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    char **v = NULL;
    size_t n = 0, i;
    json_t *e;
    if (json_is_array(a)) {
        v = cr_xcalloc(json_array_size(a) + 1, sizeof *v);
        json_array_foreach(a, i, e) if (json_is_string(e)) v[n++] = cr_xstrdup(json_string_value(e));
    }
    json_decref(a);
    if (v && n == 0) {
        free(v);
        v = NULL;
    }
    return v;
}

static json_t *strv_json(char **v)
{
    json_t *a = json_array();
    for (; v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static int load_content(report *r, sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    size_t cap = 0;
    const char *sql = "SELECT kind, id, title_ja, title_en, mode, points, max_attempts, prereqs, hints,"
                      " attack, skills FROM content ORDER BY seq, id";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return cr_error_set(CR_ERROR, "report: content: %s", sqlite3_errmsg(db));
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        cr_grow(&r->items, &cap, r->n_items + 1, sizeof *r->items);
        citem *c = &r->items[r->n_items++];
        c->kind = col_text(q, 0);
        c->id = col_text(q, 1);
        c->title_ja = col_text(q, 2);
        c->title_en = col_text(q, 3);
        c->mode = col_text(q, 4);
        c->points = sqlite3_column_int(q, 5);
        c->max_attempts = sqlite3_column_int(q, 6);
        c->prereqs = col_text(q, 7);
        c->hints = col_text(q, 8);
        c->attack = strv_from_json((const char *)sqlite3_column_text(q, 9));
        c->skills = strv_from_json((const char *)sqlite3_column_text(q, 10));
    }
    int rc = step == SQLITE_DONE ? 0 : cr_error_set(CR_ERROR, "report: content: %s", sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc;
}

/* When each team met each item, as the scoreboard counts it: a flag's
 * first flag.correct; a once objective's first objective.met; a hold
 * objective's first objective.met after its last objective.lost (none:
 * not met now). Ids are unique across objectives and flags, so a flag id
 * never has objective.lost events. */
static int load_met(report *r, cr_state *st)
{
    r->met = cr_xcalloc((size_t)r->teams * r->n_items + 1, sizeof *r->met);
    int rc = 0;
    for (int t = 1; rc == 0 && t <= r->teams; t++) {
        for (size_t i = 0; rc == 0 && i < r->n_items; i++) {
            const citem *c = &r->items[i];
            bool flag = strcmp(c->kind, "flag") == 0;
            bool ever = flag || (c->mode && strcmp(c->mode, "once") == 0);
            met_at *m = &r->met[(size_t)(t - 1) * r->n_items + i];
            rc = cr_events_first_after(st, t, flag ? "flag.correct" : "objective.met", ever ? NULL : "objective.lost",
                                       c->id, &m->met, &m->ms);
        }
    }
    return rc;
}

/* Each team's coverage of the items' tags, from what it met (load_met). */
static void load_coverage(report *r)
{
    r->coverage = cr_xcalloc((size_t)r->teams + 1, sizeof *r->coverage);
    cr_coverage_item *items = cr_xcalloc(r->n_items + 1, sizeof *items);
    for (int t = 1; t <= r->teams; t++) {
        for (size_t i = 0; i < r->n_items; i++) {
            const met_at *m = &r->met[(size_t)(t - 1) * r->n_items + i];
            items[i] = (cr_coverage_item){.attack = r->items[i].attack, .skills = r->items[i].skills,
                                          .met = m->met, .met_ms = m->met ? m->ms : 0};
        }
        cr_coverage_build(&r->coverage[t - 1], items, r->n_items);
    }
    free(items);
}

/* 9999-12-31T23:59:59.999Z: no real event is later. */
#define TIME_MAX_MS 253402300799999LL

static int64_t clamp_time(int64_t ms)
{
    return ms < 0 ? 0 : ms > TIME_MAX_MS ? TIME_MAX_MS : ms;
}

/* The span the plot covers: from the exercise's start (else the first
 * event, else the range's creation) to the last event, at least a minute.
 * A failed read only narrows the plot, so it is not an error. Both ends are
 * clamped to years 1970..9999, so that differences of times (and times
 * plus a few minutes) cannot overflow whatever a forged file holds. */
static void plot_span(report *r, cr_state *st)
{
    int64_t start = 0, first = 0, last = 0;
    if (cr_events_time_span(st, "exercise.start", &start, NULL) < 0)
        cr_error_clear();
    if (cr_events_time_span(st, NULL, &first, &last) < 0)
        cr_error_clear();
    r->t0 = clamp_time(start ? start : first ? first : r->range.created_ms);
    r->t1 = clamp_time(last);
    if (r->t1 < r->t0 + 60000)
        r->t1 = r->t0 + 60000;
}

static int report_load(report *r, cr_state *st)
{
    memset(r, 0, sizeof *r);
    sqlite3 *db = cr_state_db(st);
    r->generated_ms = cr_wall_ms();
    int rc = cr_state_get_range(st, &r->range);
    if (rc == 0) {
        r->teams = r->range.teams;
        rc = load_content(r, db);
    }
    if (rc == 0)
        rc = cr_score_board_new(&r->board, st, r->teams);
    if (rc == 0)
        rc = cr_score_timeline_new(&r->timeline, st, r->teams);
    if (rc == 0)
        rc = load_met(r, st);
    if (rc == 0)
        load_coverage(r);
    if (rc == 0)
        rc = cr_events_query(&r->sessions, st, 0, 0, "console.detach");
    if (rc < 0)
        return rc;
    r->by_team = cr_xcalloc((size_t)r->teams + 1, sizeof *r->by_team);
    for (int t = 1; t <= r->teams; t++)
        r->by_team[t - 1] = cr_score_board_find(r->board, t);
    plot_span(r, st);
    return 0;
}

static int team_score(const report *r, int team)
{
    const cr_score_board_team *row = r->by_team[team - 1];
    return row ? row->score : 0;
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *json_text_or_raw(const char *text)
{
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    return j ? j : json_array();
}

static int render_json(char **out, cr_state *st, const report *r)
{
    json_t *events = NULL;
    int rc = cr_events_query(&events, st, 0, 0, NULL);
    if (rc < 0)
        return rc;
    json_t *content = json_array();
    for (size_t i = 0; i < r->n_items; i++) {
        const citem *c = &r->items[i];
        json_array_append_new(content,
                              json_pack("{s:s, s:s, s:{s:s?, s:s?}, s:i, s:s?, s:i, s:o, s:o, s:o, s:o}", "kind",
                                        c->kind, "id", c->id, "title", "ja", c->title_ja, "en", c->title_en, "points",
                                        c->points, "mode", c->mode, "max_attempts", c->max_attempts, "prereqs",
                                        json_text_or_raw(c->prereqs), "hints", json_text_or_raw(c->hints), "attack",
                                        strv_json(c->attack), "skills", strv_json(c->skills)));
    }
    /* Per team: the tags of what it met, against all the scenario has. */
    json_t *coverage = json_array();
    for (int t = 1; t <= r->teams; t++) {
        json_t *cv = cr_coverage_json(&r->coverage[t - 1]);
        if (cv)
            json_object_set_new(cv, "team", json_integer(t));
        json_array_append_new(coverage, cv ? cv : json_null());
    }
    char gen[32], created[32];
    cr_iso8601(gen, r->generated_ms);
    cr_iso8601(created, r->range.created_ms);
    json_t *doc = json_pack(
        "{s:s, s:I, s:{s:s?, s:s?, s:s, s:I, s:i, s:{s:s?, s:{s:s?, s:s?}, s:s?}}, s:o, s:o, s:o, s:o, s:o}",
        "generated",
        gen, "generated_ms", (json_int_t)r->generated_ms, "range", "name", r->range.name, "status", r->range.status,
        "created", created, "created_ms", (json_int_t)r->range.created_ms, "teams", r->teams, "scenario", "id",
        r->range.scenario_id, "title", "ja", r->range.title_ja, "en", r->range.title_en, "digest",
        r->range.scenario_digest, "scoreboard", cr_score_board_json(r->board), "content", content, "coverage",
        coverage, "timeline", cr_score_timeline_json(r->timeline), "events", events);
    if (!doc)
        return cr_error_set(CR_ERROR, "report: cannot build the JSON document (invalid UTF-8 in a text?)");
    json_t *prov = r->range.provenance ? json_loads(r->range.provenance, 0, NULL) : NULL;
    if (prov)
        json_object_set_new(json_object_get(json_object_get(doc, "range"), "scenario"), "provenance", prov);
    *out = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    return *out ? 0 : cr_error_set(CR_ERROR, "report: cannot serialise the JSON document");
}

/* One line saying where the scenario came from, or NULL. */
static char *provenance_text(const char *stored)
{
    json_t *j = stored ? json_loads(stored, 0, NULL) : NULL;
    cr_provenance p;
    char *text = j && cr_provenance_from_json(&p, j) == 0 ? cr_provenance_describe(&p) : NULL;
    if (j && text)
        cr_provenance_clear(&p);
    cr_error_clear();
    json_decref(j);
    return text;
}

/* ---- CSV -------------------------------------------------------------- */

/* A plain decimal number ("-7", "20", "1.5"), which a spreadsheet reads as
 * that number and nothing else. */
static bool csv_numeric(const char *s)
{
    const char *p = s + (*s == '-' || *s == '+');
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

/*
 * Whether a spreadsheet could run the cell as a formula (CSV injection):
 * it starts with = + - @, a tab or a CR (OWASP's list), or with the
 * full-width = + - @ that Japanese input produces and some spreadsheets
 * also take for formulas. Numbers are left alone, so that a negative score
 * stays a number.
 */
static bool csv_formula_like(const char *s)
{
    static const char *const fullwidth[] = {"\xef\xbc\x9d", "\xef\xbc\x8b", "\xef\xbc\x8d", "\xef\xbc\xa0"};
    if (*s && strchr("=+-@\t\r", *s))
        return !csv_numeric(s);
    for (size_t i = 0; i < sizeof fullwidth / sizeof *fullwidth; i++)
        if (strncmp(s, fullwidth[i], strlen(fullwidth[i])) == 0)
            return true;
    return false;
}

static void csv_field(cr_buf *b, const char *s, bool last)
{
    if (!s)
        s = "";
    /* The apostrophe makes the spreadsheet show the text as it is. */
    const char *guard = csv_formula_like(s) ? "'" : "";
    if (strpbrk(s, ",\"\r\n")) {
        cr_buf_add(b, "\"");
        cr_buf_add(b, guard);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                cr_buf_add(b, "\"\"");
            else
                cr_buf_addn(b, p, 1);
        }
        cr_buf_add(b, "\"");
    } else {
        cr_buf_add(b, guard);
        cr_buf_add(b, s);
    }
    cr_buf_add(b, last ? "\r\n" : ",");
}

static int render_csv(char **out, const report *r)
{
    cr_buf b = {0};
    cr_buf_add(&b, "team,kind,id,title_en,points,met,met_at\r\n");
    for (int t = 1; t <= r->teams; t++) {
        char team[16], num[16], iso[32];
        snprintf(team, sizeof team, "%d", t);
        for (size_t i = 0; i < r->n_items; i++) {
            const citem *c = &r->items[i];
            const met_at *m = &r->met[(size_t)(t - 1) * r->n_items + i];
            snprintf(num, sizeof num, "%d", c->points);
            if (m->met)
                cr_iso8601(iso, m->ms);
            csv_field(&b, team, false);
            csv_field(&b, c->kind, false);
            csv_field(&b, c->id, false);
            csv_field(&b, c->title_en, false);
            csv_field(&b, num, false);
            csv_field(&b, m->met ? "yes" : "no", false);
            csv_field(&b, m->met ? iso : "", true);
        }
        /* Coverage: a row per technique and skill of the scenario, met
         * when an item carrying it is, at the earliest such time. */
        const cr_coverage *cv = &r->coverage[t - 1];
        for (int pass = 0; pass < 2; pass++) {
            const cr_coverage_tag *g = pass ? cv->skills : cv->attack;
            size_t n = pass ? cv->n_skills : cv->n_attack;
            for (size_t i = 0; i < n; i++) {
                if (g[i].met && g[i].met_ms)
                    cr_iso8601(iso, g[i].met_ms);
                csv_field(&b, team, false);
                csv_field(&b, pass ? "skill" : "attack", false);
                csv_field(&b, g[i].id, false);
                csv_field(&b, g[i].name, false);
                csv_field(&b, "", false);
                csv_field(&b, g[i].met ? "yes" : "no", false);
                csv_field(&b, g[i].met && g[i].met_ms ? iso : "", true);
            }
        }
        const cr_score_board_team *row = r->by_team[t - 1];
        bool reached = row && row->scored;
        if (reached)
            cr_iso8601(iso, row->reached_ms);
        snprintf(num, sizeof num, "%d", team_score(r, t));
        csv_field(&b, team, false);
        csv_field(&b, "total", false);
        csv_field(&b, "", false);
        csv_field(&b, "", false);
        csv_field(&b, num, false);
        csv_field(&b, "", false);
        csv_field(&b, reached ? iso : "", true);
    }
    *out = cr_buf_steal(&b);
    return 0;
}

/* ---- HTML ------------------------------------------------------------- */

/* Inline SVG inside HTML needs no xmlns, which keeps the page free of any
 * URL at all. */

static void esc(cr_buf *b, const char *s)
{
    if (s)
        cr_buf_add_xml(b, s);
}

/* Both languages: "ja / en", or whichever exists. */
static void esc_both(cr_buf *b, const char *ja, const char *en)
{
    esc(b, ja);
    if (ja && en && *ja && *en)
        cr_buf_add(b, " / ");
    esc(b, en);
}

/* Ten distinct colours (Tableau 10); teams past ten reuse them dashed. */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define N_PALETTE (sizeof palette / sizeof *palette)

static void team_style(cr_buf *b, int team)
{
    size_t k = (size_t)(team - 1);
    cr_buf_addf(b, " stroke=\"%s\"", palette[k % N_PALETTE]);
    if (k >= N_PALETTE)
        cr_buf_addf(b, " stroke-dasharray=\"%zu %zu\"", 2 + 3 * (k / N_PALETTE), 3 + k / N_PALETTE);
}

/* A round tick step giving at most max_ticks intervals over span. */
static double nice_step(double span, int max_ticks)
{
    static const double mult[] = {1, 2, 5};
    for (double p = 1; ; p *= 10)
        for (size_t i = 0; i < 3; i++)
            if (span / (mult[i] * p) <= max_ticks)
                return mult[i] * p;
}

/* Time from t0 (clamped, plot_span) to ms, which may be anything. */
static void elapsed(char out[32], int64_t ms, int64_t t0)
{
    int64_t s = ms > t0 ? (clamp_time(ms) - t0) / 1000 : 0;
    snprintf(out, 32, "+%lld:%02lld:%02lld", (long long)(s / 3600), (long long)(s / 60 % 60), (long long)(s % 60));
}

static void render_plot(cr_buf *b, const report *r)
{
    const double W = 900, L = 64, R = 170, T = 20, B = 56;
    double H = 380;
    if (H < T + B + 18.0 * r->teams)
        H = T + B + 18.0 * r->teams;
    const double pw = W - L - R, ph = H - T - B;

    /* In double: full marks minus a negative score can exceed an int. */
    double ymin = 0, ymax = r->board->full_marks;
    for (size_t i = 0; i < r->timeline->n_teams; i++) {
        const cr_score_series *sr = &r->timeline->teams[i];
        for (size_t k = 0; k < sr->n_points; k++) {
            double s = sr->points[k].score;
            if (s < ymin)
                ymin = s;
            if (s > ymax)
                ymax = s;
        }
    }
    if (ymax <= ymin)
        ymax = ymin + 1;
    double ystep = nice_step(ymax - ymin, 6);
    double y0 = ystep * floor(ymin / ystep), y1 = ystep * ceil(ymax / ystep);
    double minutes = (double)(r->t1 - r->t0) / 60000.0;
    double xstep = nice_step(minutes, 8);
    if (xstep < 1)
        xstep = 1;

#define X(ms) (L + pw * (double)((ms) < r->t0 ? 0 : clamp_time(ms) - r->t0) / (double)(r->t1 - r->t0))
#define Y(v) (T + ph * (1.0 - ((double)(v) - y0) / (y1 - y0)))

    cr_buf_addf(b,
                "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\""
                " role=\"img\" aria-label=\"score timeline\">\n",
                W, H, W, H);
    /* Grid, ticks and their labels. */
    for (double v = y0; v <= y1 + 1e-9; v += ystep)
        cr_buf_addf(b,
                    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                    L, Y(v), L + pw, Y(v), L - 6, Y(v) + 4, v);
    for (double m = 0; m <= minutes + 1e-9; m += xstep) {
        int64_t ms = r->t0 + (int64_t)(m * 60000.0);
        cr_buf_addf(b,
                    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                    X(ms), T, X(ms), T + ph, X(ms), T + ph + 16, m);
    }
    cr_buf_addf(b,
                "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                L, T, L, T + ph, L, T + ph, L + pw, T + ph);
    if (y0 < 0) /* hint costs can take a score below zero */
        cr_buf_addf(b, "<line class=\"zero\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", L, Y(0), L + pw,
                    Y(0));
    cr_buf_addf(b,
                "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                "経過時間（分） / elapsed time (min)</text>\n"
                "<text class=\"label\" transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">"
                "得点 / score</text>\n",
                L + pw / 2, H - 12, T + ph / 2);
    /* One step line per team: flat until an event changes the score. */
    for (size_t i = 0; i < r->timeline->n_teams; i++) {
        const cr_score_series *sr = &r->timeline->teams[i];
        int team = sr->team;
        cr_buf_addf(b, "<path class=\"line\" fill=\"none\" stroke-width=\"2\"");
        team_style(b, team);
        cr_buf_addf(b, " d=\"M%.1f %.1f", X(r->t0), Y(0));
        for (size_t k = 0; k < sr->n_points; k++)
            cr_buf_addf(b, " H%.1f V%.1f", X(sr->points[k].time_ms), Y(sr->points[k].score));
        cr_buf_addf(b, " H%.1f\"><title>チーム / team %d</title></path>\n", X(r->t1), team);
    }
    /* Legend, right of the plot. */
    for (int t = 1; t <= r->teams; t++) {
        double ly = T + 8 + 18.0 * (t - 1);
        cr_buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"3\"", L + pw + 14, ly,
                    L + pw + 38, ly);
        team_style(b, t);
        cr_buf_addf(b, "/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\">チーム %d / team %d (%d)</text>\n", L + pw + 44,
                    ly + 4, t, t, team_score(r, t));
    }
    cr_buf_add(b, "</svg>\n");
#undef X
#undef Y
}

static const char *const css =
    "body{font-family:system-ui,'Hiragino Sans','Noto Sans CJK JP',sans-serif;margin:2em;color:#222}"
    "h1{margin-bottom:.2em}h1 .en{display:block;font-size:.6em;color:#555}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "th{background:#f3f3f3}td.num{text-align:right}td.no{color:#aaa}.meta{color:#555}"
    ".wide{overflow-x:auto}svg{max-width:100%;height:auto}"
    "svg .grid{stroke:#e5e5e5}svg .axis{stroke:#333}svg .zero{stroke:#999;stroke-dasharray:4 3}"
    "svg .tick{font-size:12px;fill:#333}"
    "svg .label{font-size:13px;fill:#222}"
    ".tags{font-size:.85em;color:#555}td.yes{color:#2a7a2a}";

/* An item's tags under its title: technique ids, then skills. */
static void render_tags(cr_buf *b, const citem *c)
{
    if (!c->attack && !c->skills)
        return;
    cr_buf_add(b, "<br><span class=\"tags\">");
    const char *sep = "";
    for (char **p = c->attack; p && *p; p++, sep = " · ") {
        cr_buf_add(b, sep);
        cr_buf_add(b, "<code>");
        esc(b, *p);
        cr_buf_add(b, "</code>");
    }
    for (char **p = c->skills; p && *p; p++, sep = " · ") {
        cr_buf_add(b, sep);
        esc(b, *p);
    }
    cr_buf_add(b, "</span>");
}

/* One table of coverage: a row per technique (PASS 0) or skill (1) of the
 * scenario, a column per team, and a last row with each team's count. Every
 * team's coverage lists the same tags in the same order: they come from the
 * same items. */
static void render_coverage_table(cr_buf *b, const report *r, int pass)
{
    const cr_coverage *c0 = &r->coverage[0];
    size_t n = pass ? c0->n_skills : c0->n_attack;
    char iso[32], el[32];
    cr_buf_add(b, pass ? "<div class=\"wide\"><table>\n<tr><th>スキル / skill</th>"
                       : "<div class=\"wide\"><table>\n<tr><th>ID</th><th>テクニック / technique</th>");
    for (int t = 1; t <= r->teams; t++)
        cr_buf_addf(b, "<th>チーム / team %d</th>", t);
    cr_buf_add(b, "</tr>\n");
    for (size_t i = 0; i < n; i++) {
        const cr_coverage_tag *g0 = pass ? &c0->skills[i] : &c0->attack[i];
        cr_buf_add(b, "<tr>");
        if (!pass) {
            cr_buf_add(b, "<td><code>");
            esc(b, g0->id);
            cr_buf_add(b, "</code></td><td>");
            esc(b, g0->name);
        } else {
            cr_buf_add(b, "<td>");
            esc(b, g0->id);
        }
        cr_buf_add(b, "</td>");
        for (int t = 1; t <= r->teams; t++) {
            const cr_coverage *c = &r->coverage[t - 1];
            const cr_coverage_tag *g = pass ? &c->skills[i] : &c->attack[i];
            if (!g->met) {
                cr_buf_add(b, "<td class=\"no\">—</td>");
            } else if (g->met_ms) {
                cr_iso8601(iso, g->met_ms);
                elapsed(el, g->met_ms, r->t0);
                cr_buf_addf(b, "<td class=\"yes\" title=\"%s\">✓ %s</td>", iso, el);
            } else {
                cr_buf_add(b, "<td class=\"yes\">✓</td>");
            }
        }
        cr_buf_add(b, "</tr>\n");
    }
    cr_buf_addf(b, "<tr><th colspan=\"%d\">計 / covered</th>", pass ? 1 : 2);
    for (int t = 1; t <= r->teams; t++) {
        const cr_coverage *c = &r->coverage[t - 1];
        cr_buf_addf(b, "<td class=\"num\">%zu / %zu</td>", pass ? c->n_skills_met : c->n_attack_met, n);
    }
    cr_buf_add(b, "</tr>\n</table></div>\n");
}

/* Which of the scenario's ATT&CK techniques and skills each team covered:
 * those of the objectives it met and the flags it solved. */
static void render_coverage(cr_buf *b, const report *r)
{
    if (r->teams < 1 || (!r->coverage[0].n_attack && !r->coverage[0].n_skills))
        return;
    cr_buf_add(b, "<h2>ATT&amp;CK とスキルの網羅 / ATT&amp;CK and skills coverage</h2>\n"
                  "<p class=\"meta\">達成した目標と正解したフラグのタグ / the tags of the objectives met and the flags "
                  "solved</p>\n");
    if (r->coverage[0].n_attack) {
        cr_buf_add(b, "<h3>MITRE ATT&amp;CK テクニック / techniques</h3>\n");
        render_coverage_table(b, r, 0);
    }
    if (r->coverage[0].n_skills) {
        cr_buf_add(b, "<h3>スキル / skills</h3>\n");
        render_coverage_table(b, r, 1);
    }
}

static int render_html(char **out, const report *r)
{
    cr_buf b = {0};
    const cr_range_row *rg = &r->range;
    char gen[32], iso[32], el[32];
    cr_iso8601(gen, r->generated_ms);

    cr_buf_add(&b, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    esc_both(&b, rg->title_ja, rg->title_en);
    cr_buf_add(&b, " — ");
    esc(&b, rg->name);
    cr_buf_addf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
    esc(&b, rg->title_ja);
    cr_buf_add(&b, "<span class=\"en\" lang=\"en\">");
    esc(&b, rg->title_en);
    cr_buf_add(&b, "</span></h1>\n<p class=\"meta\">演習 / range <b>");
    esc(&b, rg->name);
    cr_buf_add(&b, "</b> · シナリオ / scenario <code>");
    esc(&b, rg->scenario_id);
    cr_buf_add(&b, "</code> (<code>");
    esc(&b, rg->scenario_digest);
    cr_buf_addf(&b, "</code>) · チーム数 / teams %d · 満点 / full marks %d · 作成 / generated %s</p>\n", r->teams,
                r->board->full_marks, gen);
    char *origin = provenance_text(rg->provenance);
    if (origin) {
        cr_buf_add(&b, "<p class=\"meta\">出所 / provenance: <code>");
        esc(&b, origin);
        cr_buf_add(&b, "</code></p>\n");
        free(origin);
    }

    /* Scoreboard. */
    cr_buf_add(&b, "<h2>得点表 / Scoreboard</h2>\n<table>\n<tr><th>順位 / rank</th><th>チーム / team</th>"
                   "<th>得点 / score</th><th>目標 / objectives</th><th>フラグ / flags</th>"
                   "<th>ヒント / hints</th><th>到達時刻 / reached (UTC)</th></tr>\n");
    for (size_t i = 0; i < r->board->n_teams; i++) {
        const cr_score_board_team *row = &r->board->teams[i];
        if (row->scored)
            cr_iso8601(iso, row->reached_ms);
        cr_buf_addf(&b,
                    "<tr><td class=\"num\">%d</td><td>%d</td><td class=\"num\">%d</td><td class=\"num\">%zu</td>"
                    "<td class=\"num\">%zu</td><td class=\"num\">%d</td><td>",
                    row->rank, row->team, row->score, row->n_objectives, row->n_flags, -row->hints_cost);
        esc(&b, row->scored ? iso : "—");
        cr_buf_add(&b, "</td></tr>\n");
    }
    cr_buf_add(&b, "</table>\n");

    /* Timeline. */
    cr_iso8601(iso, r->t0);
    cr_buf_addf(&b, "<h2>得点の推移 / Score over time</h2>\n<p class=\"meta\">開始 / start %s (UTC)</p>\n<div class=\"wide\">",
                iso);
    render_plot(&b, r);
    cr_buf_add(&b, "</div>\n");

    /* Objectives and flags, with the time each team met them. */
    cr_buf_add(&b, "<h2>目標とフラグ / Objectives and flags</h2>\n<div class=\"wide\"><table>\n<tr><th>種類 / kind</th>"
                   "<th>ID</th><th>タイトル / title</th><th>点 / points</th>");
    for (int t = 1; t <= r->teams; t++)
        cr_buf_addf(&b, "<th>チーム / team %d</th>", t);
    cr_buf_add(&b, "</tr>\n");
    for (size_t k = 0; k < r->n_items; k++) {
        const citem *c = &r->items[k];
        bool flag = strcmp(c->kind, "flag") == 0;
        cr_buf_addf(&b, "<tr><td>%s</td><td><code>", flag ? "フラグ / flag" : "目標 / objective");
        esc(&b, c->id);
        cr_buf_add(&b, "</code></td><td>");
        esc(&b, c->title_ja);
        cr_buf_add(&b, "<br><span lang=\"en\">");
        esc(&b, c->title_en);
        cr_buf_add(&b, "</span>");
        render_tags(&b, c);
        cr_buf_addf(&b, "</td><td class=\"num\">%d</td>", c->points);
        for (int t = 1; t <= r->teams; t++) {
            const met_at *m = &r->met[(size_t)(t - 1) * r->n_items + k];
            if (!m->met) {
                cr_buf_add(&b, "<td class=\"no\">—</td>");
                continue;
            }
            cr_iso8601(iso, m->ms);
            elapsed(el, m->ms, r->t0);
            cr_buf_addf(&b, "<td title=\"%s\">%s</td>", iso, el);
        }
        cr_buf_add(&b, "</tr>\n");
    }
    cr_buf_add(&b, "</table></div>\n<p class=\"meta\">時刻は開始からの経過時間（時:分:秒） / times are elapsed since the "
                   "start (h:mm:ss)</p>\n");
    render_coverage(&b, r);

    /* Console sessions recorded by the portal: each links to its replay
     * file (asciicast v2), served to the instructor by the portal. */
    size_t n_rec = 0, k;
    json_t *ev;
    json_array_foreach(r->sessions, k, ev) n_rec += json_object_get(json_object_get(ev, "data"), "recording") != NULL;
    if (n_rec) {
        cr_buf_add(&b, "<h2>コンソールの録画 / Console recordings</h2>\n<div class=\"wide\"><table>\n<tr><th>終了 / ended"
                       "</th><th>チーム / team</th><th>VM</th><th>誰 / who</th><th>録画 / recording (asciicast v2)</th></tr>\n");
        json_array_foreach(r->sessions, k, ev)
        {
            json_t *d = json_object_get(ev, "data");
            const char *rec = json_string_value(json_object_get(d, "recording"));
            if (!rec)
                continue;
            cr_buf_add(&b, "<tr><td>");
            esc(&b, json_string_value(json_object_get(ev, "time")));
            cr_buf_addf(&b, "</td><td class=\"num\">%d</td><td>", (int)json_integer_value(json_object_get(ev, "team")));
            esc(&b, json_string_value(json_object_get(ev, "vm")));
            cr_buf_add(&b, "</td><td>");
            esc(&b, json_string_value(json_object_get(d, "role")));
            cr_buf_add(&b, " ");
            esc(&b, json_string_value(json_object_get(d, "mode")));
            cr_buf_add(&b, "</td><td><a href=\"/api/admin/recordings/");
            esc(&b, rec);
            cr_buf_add(&b, "\"><code>recordings/");
            esc(&b, rec);
            cr_buf_add(&b, ".cast</code></a></td></tr>\n");
        }
        cr_buf_add(&b, "</table></div>\n<p class=\"meta\">リンクは演習ポータル (crange serve) から開けます。ファイルは範囲の "
                       "recordings/ フォルダーにあります / the links open from the exercise portal (crange serve); the "
                       "files are in the range's recordings/ folder</p>\n");
    }
    cr_buf_add(&b, "</body>\n</html>\n");
    *out = cr_buf_steal(&b);
    return 0;
}

int cr_report_write(cr_state *st, cr_report_format fmt, const char *path)
{
    report r;
    char *text = NULL;
    int rc = report_load(&r, st);
    if (rc == 0) {
        switch (fmt) {
        case CR_REPORT_JSON: rc = render_json(&text, st, &r); break;
        case CR_REPORT_CSV: rc = render_csv(&text, &r); break;
        case CR_REPORT_HTML: rc = render_html(&text, &r); break;
        default: rc = cr_error_set(CR_EINVAL, "report: unknown format %d", (int)fmt);
        }
    }
    if (rc == 0)
        rc = cr_write_file_atomic(path, text, strlen(text), 0644);
    free(text);
    report_free(&r);
    return rc;
}
