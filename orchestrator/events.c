/*
 * events.c: the event log of events.h on the range database (state.h):
 * single idempotent inserts, a batching writer for high-rate sources
 * (trainee shell commands), queries for the API and reports, and the
 * "latest event of a kind for an id" lookup the scoring engine builds on.
 * This is the one module that runs SQL on the events table: the scoring
 * engine, the reports and the action collector read it through the
 * functions below, so the table's shape is known in one place.
 *
 * Relies on schema version 2 (state.c): events.dedupe with a unique partial
 * index and an index on (kind, team). Every insert here checks that data is
 * JSON, so json_extract never meets a malformed row.
 */
#include "events.h"

#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ON CONFLICT DO NOTHING without a target covers the dedupe index only:
 * it is the one uniqueness constraint an insert can hit (id is assigned).
 * Unlike INSERT OR IGNORE it does not swallow NOT NULL errors.
 *
 * Data must be JSON: json_extract over one malformed row would break every
 * score query. json_valid passes good text through as it is; json() on bad
 * text fails the insert with "malformed JSON". This check lives here, not
 * in a schema trigger: a trigger that may abort makes SQLite keep a
 * statement journal for every insert, which halved the batched rate
 * (bench_events). */
#define INSERT_SQL                                                                                                     \
    "INSERT INTO events (time_ms, team, vm, kind, data, dedupe)"                                                       \
    " VALUES (?1, ?2, ?3, ?4, CASE WHEN ?5 IS NULL OR json_valid(?5) THEN ?5 ELSE json(?5) END, ?6)"                   \
    " ON CONFLICT DO NOTHING"

static int db_error(sqlite3 *db, const char *what)
{
    return cr_error_set(CR_ERROR, "events: %s: %s", what, sqlite3_errmsg(db));
}

static void bind_event(sqlite3_stmt *q, int64_t time_ms, int team, const char *vm, const char *kind,
                       const char *data, const char *dedupe)
{
    sqlite3_bind_int64(q, 1, time_ms ? time_ms : cr_wall_ms());
    sqlite3_bind_int(q, 2, team);
    sqlite3_bind_text(q, 3, vm, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, data, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, dedupe, -1, SQLITE_STATIC);
}

int cr_event_add(cr_state *st, int64_t time_ms, int team, const char *vm, const char *kind, json_t *data,
                 const char *dedupe, bool *inserted)
{
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    char *text = NULL;
    int rc = 0;
    if (inserted)
        *inserted = false;
    if (!kind || !*kind)
        return cr_error_set(CR_EINVAL, "events: an event needs a kind");
    if (sqlite3_prepare_v3(db, INSERT_SQL, -1, 0, &q, NULL) != SQLITE_OK) {
        rc = db_error(db, "add");
        goto cleanup;
    }
    text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    bind_event(q, time_ms, team, vm, kind, text, dedupe);
    if (sqlite3_step(q) != SQLITE_DONE) {
        rc = db_error(db, kind);
        goto cleanup;
    }
    if (inserted)
        *inserted = sqlite3_changes(db) == 1;
cleanup:
    sqlite3_finalize(q);
    free(text);
    return rc;
}

/* While rows are pending the writer's connection holds the database's
 * write lock (an open BEGIN IMMEDIATE): other writers wait for it, up to
 * the busy timeout, and the same cr_state cannot start another transaction.
 * So a source that trickles events must flush when it goes idle (or on a
 * timer); the batch size only bounds the work of one transaction. */
struct cr_event_writer {
    cr_state *st;
    sqlite3_stmt *ins;
    size_t batch;
    size_t pending;  /* rows in the open transaction */
    bool in_txn;
};

int cr_event_writer_open(cr_event_writer **out, cr_state *st, size_t batch)
{
    *out = NULL;
    sqlite3 *db = cr_state_db(st);
    cr_event_writer *w = cr_xcalloc(1, sizeof *w);
    w->st = st;
    w->batch = batch ? batch : 1;
    if (sqlite3_prepare_v3(db, INSERT_SQL, -1, SQLITE_PREPARE_PERSISTENT, &w->ins, NULL) != SQLITE_OK) {
        int rc = db_error(db, "writer");
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* A failed batch is rolled back whole: the writer cannot tell which of its
 * rows the caller would want kept, and a half batch would be committed by
 * the next one otherwise. */
static int writer_fail(cr_event_writer *w, int rc)
{
    if (w->in_txn)
        cr_state_rollback(w->st);
    if (w->pending) {
        char msg[1024]; /* the message buffer cannot be both source and target */
        snprintf(msg, sizeof msg, "%s", cr_error_message());
        cr_error_replace(rc, "%s (%zu pending events discarded)", msg, w->pending);
    }
    w->in_txn = false;
    w->pending = 0;
    return rc;
}

int cr_event_writer_add(cr_event_writer *w, int64_t time_ms, int team, const char *vm, const char *kind,
                        const char *data_json, const char *dedupe)
{
    sqlite3 *db = cr_state_db(w->st);
    if (!kind || !*kind)
        return cr_error_set(CR_EINVAL, "events: an event needs a kind");
    if (!w->in_txn) {
        int rc = cr_state_begin(w->st);
        if (rc < 0)
            return rc;
        w->in_txn = true;
    }
    sqlite3_reset(w->ins);
    bind_event(w->ins, time_ms, team, vm, kind, data_json, dedupe);
    if (sqlite3_step(w->ins) != SQLITE_DONE)
        return writer_fail(w, db_error(db, kind));
    w->pending++;
    /* Drop the borrowed bindings now: the caller may free them. */
    sqlite3_reset(w->ins);
    sqlite3_clear_bindings(w->ins);
    if (w->pending >= w->batch)
        return cr_event_writer_flush(w);
    return 0;
}

int cr_event_writer_flush(cr_event_writer *w)
{
    if (!w->in_txn)
        return 0;
    int rc = cr_state_commit(w->st);
    if (rc < 0)
        return writer_fail(w, rc);
    w->in_txn = false;
    w->pending = 0;
    return 0;
}

int cr_event_writer_close(cr_event_writer *w)
{
    if (!w)
        return 0;
    int rc = cr_event_writer_flush(w);
    sqlite3_finalize(w->ins);
    free(w);
    return rc;
}

int cr_events_query(json_t **out, cr_state *st, int team, int64_t since_ms, const char *kind_prefix)
{
    *out = NULL;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    int rc = 0;
    /* A prefix compared with substr, not LIKE: '_' and '%' in a kind are
     * plain characters. since_ms is inclusive, so a poller that passes the
     * time of the last event it saw misses nothing (it may see it twice). */
    const char *sql = "SELECT id, time_ms, team, vm, kind, data FROM events"
                      " WHERE (?1 = 0 OR team = ?1) AND time_ms >= ?2"
                      " AND (?3 IS NULL OR substr(kind, 1, length(?3)) = ?3) ORDER BY id";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "query");
    sqlite3_bind_int(q, 1, team);
    sqlite3_bind_int64(q, 2, since_ms);
    sqlite3_bind_text(q, 3, kind_prefix, -1, SQLITE_STATIC);
    json_t *arr = json_array();
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(q, 1);
        char iso[32];
        cr_iso8601(iso, t);
        const char *vm = (const char *)sqlite3_column_text(q, 3);
        const char *text = (const char *)sqlite3_column_text(q, 5);
        json_t *data = text ? json_loads(text, JSON_DECODE_ANY, NULL) : json_object();
        if (!data) /* predates the JSON trigger; keep it readable */
            data = json_string(text);
        json_array_append_new(arr, json_pack("{s:I, s:s, s:I, s:i, s:o, s:s, s:o}", "id",
                                             (json_int_t)sqlite3_column_int64(q, 0), "time", iso, "time_ms",
                                             (json_int_t)t, "team", sqlite3_column_int(q, 2), "vm",
                                             vm ? json_string(vm) : json_null(), "kind",
                                             (const char *)sqlite3_column_text(q, 4), "data",
                                             data ? data : json_null()));
    }
    if (step != SQLITE_DONE) {
        rc = db_error(db, "query");
        json_decref(arr);
    } else {
        *out = arr;
    }
    sqlite3_finalize(q);
    return rc;
}

int cr_events_last(cr_state *st, int team, const char *kind_a, const char *kind_b, const char *id, bool *found,
                   char **kind_out, int64_t *time_ms)
{
    *found = false;
    if (kind_out)
        *kind_out = NULL;
    if (time_ms)
        *time_ms = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* Latest by id, the order events were logged in: that is the order the
     * state transitions happened, whatever time a caller stamped them with. */
    const char *sql = "SELECT kind, time_ms FROM events"
                      " WHERE kind IN (?1, ?2) AND team = ?3 AND json_extract(data, '$.id') = ?4"
                      " ORDER BY id DESC LIMIT 1";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "last");
    sqlite3_bind_text(q, 1, kind_a, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, kind_b, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, team);
    sqlite3_bind_text(q, 4, id, -1, SQLITE_STATIC);
    int rc = 0;
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        *found = true;
        if (kind_out)
            *kind_out = cr_xstrdup((const char *)sqlite3_column_text(q, 0));
        if (time_ms)
            *time_ms = sqlite3_column_int64(q, 1);
    } else if (step != SQLITE_DONE) {
        rc = db_error(db, "last");
    }
    sqlite3_finalize(q);
    return rc;
}

int cr_events_last_id(cr_state *st, int team, int64_t after, int64_t *id)
{
    *id = after;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* team 0: every event; else the team's own and the range-wide ones.
     * Only ids after `after` are read: a range of the rowid, whatever the
     * size of the table. */
    const char *sql = "SELECT coalesce(max(id), ?2) FROM events WHERE id > ?2 AND (?1 = 0 OR team IN (0, ?1))";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "last id");
    sqlite3_bind_int(q, 1, team);
    sqlite3_bind_int64(q, 2, after);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        *id = sqlite3_column_int64(q, 0);
    else
        rc = db_error(db, "last id");
    sqlite3_finalize(q);
    return rc;
}

int cr_events_clock(cr_state *st, int64_t now_ms, cr_clock *out)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* Few rows: one start, then a pause and a resume each time the
     * instructor stops the clock. In log order, as they happened. */
    const char *sql = "SELECT kind, time_ms FROM events WHERE team = 0 AND kind IN"
                      " ('exercise.start', 'exercise.pause', 'exercise.resume') ORDER BY id";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "clock");
    int64_t paused_at = 0, paused_total = 0;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(q, 0);
        int64_t t = sqlite3_column_int64(q, 1);
        if (!strcmp(kind, "exercise.start") && !out->started) {
            out->started = true;
            out->start_ms = t;
        } else if (!strcmp(kind, "exercise.pause") && out->started && !paused_at) {
            paused_at = t;
        } else if (!strcmp(kind, "exercise.resume") && paused_at) {
            paused_total += t - paused_at;
            paused_at = 0;
        }
    }
    int rc = step == SQLITE_DONE ? 0 : db_error(db, "clock");
    sqlite3_finalize(q);
    out->paused = paused_at != 0;
    if (out->started) {
        int64_t until = out->paused ? paused_at : now_ms;
        out->elapsed_ms = until - out->start_ms - paused_total;
        if (out->elapsed_ms < 0)
            out->elapsed_ms = 0;
    }
    return rc;
}

int cr_events_scoring(cr_state *st, int teams, cr_scoring_event_fn fn, void *ctx)
{
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* Served by the (kind, team) index. Points and cost share a column:
     * a hint's cost is the points it takes away. */
    const char *sql = "SELECT team, time_ms, kind, json_extract(data, '$.id'),"
                      " coalesce(json_extract(data, '$.points'), json_extract(data, '$.cost'), 0),"
                      " json_extract(data, '$.mode'), coalesce(json_extract(data, '$.index'), 0)"
                      " FROM events WHERE kind IN ('objective.met', 'objective.lost', 'flag.correct', 'hint.taken')"
                      " AND team BETWEEN 1 AND ?1 ORDER BY id";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "scoring events");
    sqlite3_bind_int(q, 1, teams);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        cr_scoring_event ev = {
            .team = sqlite3_column_int(q, 0),
            .time_ms = sqlite3_column_int64(q, 1),
            .kind = (const char *)sqlite3_column_text(q, 2),
            .id = (const char *)sqlite3_column_text(q, 3),
            .points = sqlite3_column_int(q, 4),
            .mode = (const char *)sqlite3_column_text(q, 5),
            .index = sqlite3_column_int(q, 6),
        };
        fn(ctx, &ev);
    }
    int rc = step == SQLITE_DONE ? 0 : db_error(db, "scoring events");
    sqlite3_finalize(q);
    return rc;
}

int cr_events_count(cr_state *st, int team, const char *kind, const char *id, int *n)
{
    *n = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    const char *sql = "SELECT count(*) FROM events WHERE kind = ?1 AND team = ?2 AND json_extract(data, '$.id') = ?3";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "count");
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, team);
    sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        *n = sqlite3_column_int(q, 0);
    else
        rc = db_error(db, "count");
    sqlite3_finalize(q);
    return rc;
}

int cr_events_next_hint(cr_state *st, int team, const char *id, int64_t *next)
{
    *next = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* Hints are taken in order, so the next one follows the highest taken. */
    const char *sql = "SELECT coalesce(max(json_extract(data, '$.index')) + 1, 0) FROM events"
                      " WHERE kind = 'hint.taken' AND team = ?1 AND json_extract(data, '$.id') = ?2";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "next hint");
    sqlite3_bind_int(q, 1, team);
    sqlite3_bind_text(q, 2, id, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        *next = sqlite3_column_int64(q, 0);
    else
        rc = db_error(db, "next hint");
    sqlite3_finalize(q);
    return rc;
}

int cr_events_first_after(cr_state *st, int team, const char *kind, const char *after_kind, const char *id,
                          bool *found, int64_t *time_ms)
{
    *found = false;
    *time_ms = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* By id, as cr_events_last: log order is the order things happened. */
    const char *sql = "SELECT time_ms FROM events WHERE kind = ?1 AND team = ?2 AND json_extract(data, '$.id') = ?3"
                      " AND (?4 IS NULL OR id > coalesce((SELECT max(id) FROM events WHERE kind = ?4"
                      " AND team = ?2 AND json_extract(data, '$.id') = ?3), 0)) ORDER BY id LIMIT 1";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "first after");
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, team);
    sqlite3_bind_text(q, 3, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, after_kind, -1, SQLITE_STATIC);
    int rc = 0;
    int step = sqlite3_step(q);
    if (step == SQLITE_ROW) {
        *found = true;
        *time_ms = sqlite3_column_int64(q, 0);
    } else if (step != SQLITE_DONE) {
        rc = db_error(db, "first after");
    }
    sqlite3_finalize(q);
    return rc;
}

int cr_events_time_span(cr_state *st, const char *kind, int64_t *first_ms, int64_t *last_ms)
{
    if (first_ms)
        *first_ms = 0;
    if (last_ms)
        *last_ms = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    /* min and max of no rows are NULL, which read as 0. */
    const char *sql = "SELECT min(time_ms), max(time_ms) FROM events WHERE ?1 IS NULL OR kind = ?1";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "time span");
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        if (first_ms)
            *first_ms = sqlite3_column_int64(q, 0);
        if (last_ms)
            *last_ms = sqlite3_column_int64(q, 1);
    } else {
        rc = db_error(db, "time span");
    }
    sqlite3_finalize(q);
    return rc;
}

int cr_events_action_seq_max(cr_state *st, int team, const char *vm, const char *spool, int64_t *max)
{
    *max = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    const char *sql = "SELECT max(json_extract(data, '$.seq')) FROM events WHERE kind IN ('action.command',"
                      " 'action.status') AND team = ?1 AND vm = ?2 AND json_extract(data, '$.spool') = ?3";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "action seq");
    sqlite3_bind_int(q, 1, team);
    sqlite3_bind_text(q, 2, vm, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, spool, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        *max = sqlite3_column_int64(q, 0);
    else
        rc = db_error(db, "action seq");
    sqlite3_finalize(q);
    return rc;
}

int cr_events_action_bytes(cr_state *st, int team, const char *vm, int64_t *bytes)
{
    *bytes = 0;
    sqlite3 *db = cr_state_db(st);
    sqlite3_stmt *q = NULL;
    const char *sql = "SELECT coalesce(sum(length(data)), 0) FROM events WHERE kind IN ('action.command',"
                      " 'action.status') AND team = ?1 AND vm = ?2";
    if (sqlite3_prepare_v3(db, sql, -1, 0, &q, NULL) != SQLITE_OK)
        return db_error(db, "action bytes");
    sqlite3_bind_int(q, 1, team);
    sqlite3_bind_text(q, 2, vm, -1, SQLITE_STATIC);
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW)
        *bytes = sqlite3_column_int64(q, 0);
    else
        rc = db_error(db, "action bytes");
    sqlite3_finalize(q);
    return rc;
}
