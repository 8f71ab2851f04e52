/*
 * test_events.c: the event log (events.h) on a real range database in a
 * temporary folder: idempotent inserts by dedupe key, the batching writer
 * (what another connection sees before and after each commit), query
 * filters, the latest-event lookup by data.id, and the readers the scoring
 * engine, the reports and the action collector use instead of their own SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "events.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    char *dir;
    char *path;
    cr_state *st;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->path = cr_path_join(f->dir, "range.db");
    cr_error_clear();
    if (cr_state_open_file(&f->st, f->path, true) < 0)
        fail_msg("open: %s", cr_error_message());
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_state_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

/* Rows in events, as another connection (another process) sees them. */
static long long rows_seen_elsewhere(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close_v2(db);
    return n;
}

static long long rows(cr_state *st)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(cr_state_db(st), "SELECT count(*) FROM events", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void add(cr_state *st, int64_t t, int team, const char *kind, const char *data_json)
{
    json_t *data = data_json ? json_loads(data_json, 0, NULL) : NULL;
    cr_error_clear();
    if (cr_event_add(st, t, team, NULL, kind, data, NULL, NULL) < 0)
        fail_msg("add %s: %s", kind, cr_error_message());
    json_decref(data);
}

static void test_events_add_with_dedupe_key_is_idempotent(void **state)
{
    fixture *f = *state;
    json_t *data = json_pack("{s:s, s:s, s:s, s:i, s:i}", "user", "root", "cwd", "/root", "command", "id", "spool", 1,
                             "seq", 7);
    bool inserted = false;
    assert_int_equal(cr_event_add(f->st, 1000, 1, "web", "action.command", data, "action:1:web:1:7", &inserted), 0);
    assert_true(inserted);
    assert_int_equal(cr_event_add(f->st, 2000, 1, "web", "action.command", data, "action:1:web:1:7", &inserted), 0);
    assert_false(inserted);
    assert_int_equal(cr_event_add(f->st, 3000, 1, "web", "action.command", data, "action:1:web:1:8", &inserted), 0);
    assert_true(inserted);
    /* No key: never deduplicated. */
    assert_int_equal(cr_event_add(f->st, 0, 1, "web", "action.command", data, NULL, &inserted), 0);
    assert_true(inserted);
    assert_int_equal(cr_event_add(f->st, 0, 1, "web", "action.command", data, NULL, &inserted), 0);
    assert_true(inserted);
    assert_int_equal(rows(f->st), 4);
    json_decref(data);

    /* The first one stays, with its own time; NULL data reads as {}. */
    json_t *ev = NULL;
    assert_int_equal(cr_events_query(&ev, f->st, 0, 0, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 0), "time_ms")), 1000);
    json_decref(ev);
    assert_int_equal(cr_event_add(f->st, 0, 0, NULL, "exercise.start", NULL, "exercise.start", &inserted), 0);
    assert_int_equal(cr_events_query(&ev, f->st, 0, 0, "exercise."), 0);
    assert_int_equal(json_array_size(ev), 1);
    assert_true(json_is_object(json_object_get(json_array_get(ev, 0), "data")));
    assert_true(json_is_null(json_object_get(json_array_get(ev, 0), "vm")));
    json_decref(ev);
}

static void test_events_writer_commits_every_batch_and_on_flush_and_close(void **state)
{
    fixture *f = *state;
    cr_event_writer *w = NULL;
    assert_int_equal(cr_event_writer_open(&w, f->st, 10), 0);
    char data[128], key[64];
    for (int i = 0; i < 25; i++) {
        snprintf(data, sizeof data, "{\"user\":\"u\",\"cwd\":\"/\",\"command\":\"ls %d\",\"spool\":1,\"seq\":%d}", i,
                 i);
        snprintf(key, sizeof key, "action:1:vm:1:%d", i);
        assert_int_equal(cr_event_writer_add(w, 1000 + i, 1, "vm", "action.command", data, key), 0);
        /* Others see whole batches only: 0 until the 10th row, then 10, then 20. */
        assert_int_equal(rows_seen_elsewhere(f->path), (i + 1) / 10 * 10);
    }
    assert_int_equal(cr_event_writer_flush(w), 0);
    assert_int_equal(rows_seen_elsewhere(f->path), 25);
    assert_int_equal(cr_event_writer_flush(w), 0); /* nothing pending: a no-op */

    /* Duplicates through the writer are dropped too (they count towards the
     * batch: it bounds the work in one transaction); close commits. */
    for (int i = 20; i < 29; i++) {
        snprintf(key, sizeof key, "action:1:vm:1:%d", i);
        assert_int_equal(cr_event_writer_add(w, 0, 1, "vm", "action.command", "{}", key), 0);
    }
    assert_int_equal(rows_seen_elsewhere(f->path), 25); /* 4 new rows, pending */
    assert_int_equal(cr_event_writer_close(w), 0);
    assert_int_equal(rows_seen_elsewhere(f->path), 29);
    assert_int_equal(cr_event_writer_close(NULL), 0);
}

static void test_events_writer_rejects_data_that_is_not_json(void **state)
{
    fixture *f = *state;
    cr_event_writer *w = NULL;
    assert_int_equal(cr_event_writer_open(&w, f->st, 100), 0);
    assert_int_equal(cr_event_writer_add(w, 0, 1, NULL, "solution.run", "{\"ok\":true}", NULL), 0);
    cr_error_clear();
    assert_int_equal(cr_event_writer_add(w, 0, 1, NULL, "solution.run", "{not json", NULL), CR_ERROR);
    assert_non_null(strstr(cr_error_message(), "malformed JSON"));
    assert_non_null(strstr(cr_error_message(), "1 pending events discarded"));
    cr_error_clear();
    /* The writer is usable again after a failed batch. */
    assert_int_equal(cr_event_writer_add(w, 0, 1, NULL, "solution.run", "{\"ok\":false}", NULL), 0);
    assert_int_equal(cr_event_writer_close(w), 0);
    assert_int_equal(rows(f->st), 1);
}

static void test_events_query_filters_by_team_time_and_kind_prefix(void **state)
{
    fixture *f = *state;
    add(f->st, 1000, 0, "exercise.start", NULL);
    add(f->st, 2000, 1, "flag.wrong", "{\"id\":\"f1\",\"attempt\":1,\"answer\":\"x\"}");
    add(f->st, 3000, 2, "flag.correct", "{\"id\":\"f1\",\"points\":10,\"attempt\":1}");
    add(f->st, 4000, 1, "flag.correct", "{\"id\":\"f1\",\"points\":10,\"attempt\":2}");
    add(f->st, 5000, 1, "flagship", "{}"); /* shares the letters, not the "flag." prefix */
    add(f->st, 6000, 1, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"once\"}");

    json_t *ev = NULL;
    assert_int_equal(cr_events_query(&ev, f->st, 0, 0, NULL), 0);
    assert_int_equal(json_array_size(ev), 6);
    json_t *first = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(first, "kind")), "exercise.start");
    assert_string_equal(json_string_value(json_object_get(first, "time")), "1970-01-01T00:00:01Z");
    json_decref(ev);

    assert_int_equal(cr_events_query(&ev, f->st, 1, 0, NULL), 0);
    assert_int_equal(json_array_size(ev), 4);
    json_decref(ev);

    assert_int_equal(cr_events_query(&ev, f->st, 0, 0, "flag."), 0);
    assert_int_equal(json_array_size(ev), 3);
    json_decref(ev);

    assert_int_equal(cr_events_query(&ev, f->st, 1, 4000, "flag."), 0); /* since is inclusive */
    assert_int_equal(json_array_size(ev), 1);
    json_t *e = json_array_get(ev, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "team")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "data"), "attempt")), 2);
    json_decref(ev);

    assert_int_equal(cr_events_query(&ev, f->st, 3, 0, NULL), 0);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);

    /* A prefix with LIKE wildcards matches them literally. */
    assert_int_equal(cr_events_query(&ev, f->st, 0, 0, "flag%"), 0);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);
}

static void test_events_last_finds_the_latest_of_either_kind_by_data_id(void **state)
{
    fixture *f = *state;
    bool found = true;
    char *kind = NULL;
    int64_t t = -1;
    assert_int_equal(cr_events_last(f->st, 1, "objective.met", "objective.lost", "o1", &found, &kind, &t), 0);
    assert_false(found);
    assert_null(kind);
    assert_int_equal(t, 0);

    add(f->st, 1000, 1, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");
    add(f->st, 2000, 1, "objective.lost", "{\"id\":\"o1\",\"points\":5}");
    add(f->st, 3000, 1, "objective.met", "{\"id\":\"o2\",\"points\":5,\"mode\":\"hold\"}"); /* other id */
    add(f->st, 4000, 2, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}"); /* other team */
    add(f->st, 5000, 1, "objective.failing", "{\"id\":\"o1\",\"reason\":\"x\"}");           /* other kind */

    assert_int_equal(cr_events_last(f->st, 1, "objective.met", "objective.lost", "o1", &found, &kind, &t), 0);
    assert_true(found);
    assert_string_equal(kind, "objective.lost");
    assert_int_equal(t, 2000);
    free(kind);

    /* One kind only (kind_b NULL); out-parameters may be NULL. */
    assert_int_equal(cr_events_last(f->st, 1, "objective.met", NULL, "o1", &found, NULL, &t), 0);
    assert_true(found);
    assert_int_equal(t, 1000);
    assert_int_equal(cr_events_last(f->st, 2, "objective.lost", NULL, "o1", &found, NULL, NULL), 0);
    assert_false(found);

    /* Latest in log order, even when stamped with an earlier time. */
    add(f->st, 1500, 1, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");
    assert_int_equal(cr_events_last(f->st, 1, "objective.met", "objective.lost", "o1", &found, &kind, &t), 0);
    assert_string_equal(kind, "objective.met");
    assert_int_equal(t, 1500);
    free(kind);
}

static void test_events_clock_leaves_paused_time_out(void **state)
{
    fixture *f = *state;
    cr_clock c;
    assert_int_equal(cr_events_clock(f->st, 5000, &c), 0);
    assert_false(c.started);
    assert_int_equal(c.elapsed_ms, 0);
    /* A pause before the start counts for nothing. */
    assert_int_equal(cr_event_add(f->st, 500, 0, NULL, "exercise.pause", NULL, NULL, NULL), 0);
    assert_int_equal(cr_event_add(f->st, 1000, 0, NULL, "exercise.start", NULL, "exercise.start", NULL), 0);
    assert_int_equal(cr_event_add(f->st, 11000, 0, NULL, "exercise.pause", NULL, NULL, NULL), 0);
    /* Paused at 11 s: the clock shows 10 s whatever the time now. */
    assert_int_equal(cr_events_clock(f->st, 50000, &c), 0);
    assert_true(c.started);
    assert_true(c.paused);
    assert_int_equal(c.start_ms, 1000);
    assert_int_equal(c.elapsed_ms, 10000);
    /* A second pause while paused changes nothing; a team's event is not the clock's. */
    assert_int_equal(cr_event_add(f->st, 15000, 0, NULL, "exercise.pause", NULL, NULL, NULL), 0);
    assert_int_equal(cr_event_add(f->st, 16000, 3, NULL, "exercise.resume", NULL, NULL, NULL), 0);
    assert_int_equal(cr_event_add(f->st, 31000, 0, NULL, "exercise.resume", NULL, NULL, NULL), 0);
    /* Resumed at 31 s after 20 s paused: at 41 s, 20 s have run. */
    assert_int_equal(cr_events_clock(f->st, 41000, &c), 0);
    assert_false(c.paused);
    assert_int_equal(c.elapsed_ms, 20000);
}

/* What cr_events_scoring passed, copied (its strings are borrowed). */
typedef struct seen_event {
    int team;
    int64_t time_ms;
    char kind[32];
    char id[16];
    int points;
    char mode[8];
    int index;
    bool has_id, has_mode;
} seen_event;

typedef struct seen {
    seen_event ev[16];
    size_t n;
} seen;

static void collect(void *ctx, const cr_scoring_event *ev)
{
    seen *s = ctx;
    assert_true(s->n < 16);
    seen_event *e = &s->ev[s->n++];
    *e = (seen_event){.team = ev->team, .time_ms = ev->time_ms, .points = ev->points, .index = ev->index,
                      .has_id = ev->id != NULL, .has_mode = ev->mode != NULL};
    snprintf(e->kind, sizeof e->kind, "%s", ev->kind);
    snprintf(e->id, sizeof e->id, "%s", ev->id ? ev->id : "");
    snprintf(e->mode, sizeof e->mode, "%s", ev->mode ? ev->mode : "");
}

static void test_events_scoring_passes_scoring_kinds_of_teams_in_log_order(void **state)
{
    fixture *f = *state;
    add(f->st, 5000, 2, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");
    add(f->st, 1000, 1, "flag.correct", "{\"id\":\"f1\",\"points\":10,\"attempt\":1}"); /* earlier time, later id */
    add(f->st, 2000, 1, "flag.wrong", "{\"id\":\"f1\",\"attempt\":1,\"answer\":\"x\"}"); /* not scoring */
    add(f->st, 3000, 1, "hint.taken", "{\"id\":\"f1\",\"index\":1,\"cost\":3}");
    add(f->st, 4000, 0, "exercise.start", NULL);                                          /* range-wide */
    add(f->st, 4000, 3, "flag.correct", "{\"id\":\"f1\",\"points\":10,\"attempt\":1}");   /* past the count */
    add(f->st, 6000, 2, "objective.lost", "{\"points\":5}");                              /* no id */

    seen s = {0};
    assert_int_equal(cr_events_scoring(f->st, 2, collect, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.ev[0].team, 2);
    assert_string_equal(s.ev[0].kind, "objective.met");
    assert_string_equal(s.ev[0].mode, "hold");
    assert_int_equal(s.ev[0].points, 5);
    assert_int_equal(s.ev[0].time_ms, 5000);
    assert_string_equal(s.ev[1].kind, "flag.correct");
    assert_int_equal(s.ev[1].points, 10);
    assert_false(s.ev[1].has_mode);
    assert_int_equal(s.ev[1].index, 0);
    /* A hint's cost comes as its points. */
    assert_string_equal(s.ev[2].kind, "hint.taken");
    assert_int_equal(s.ev[2].points, 3);
    assert_int_equal(s.ev[2].index, 1);
    assert_string_equal(s.ev[2].id, "f1");
    assert_false(s.ev[3].has_id);
    assert_int_equal(s.ev[3].points, 5);

    memset(&s, 0, sizeof s);
    assert_int_equal(cr_events_scoring(f->st, 0, collect, &s), 0);
    assert_int_equal(s.n, 0);
}

static void test_events_count_and_next_hint_go_by_team_kind_and_id(void **state)
{
    fixture *f = *state;
    int n = -1;
    int64_t next = -1;
    assert_int_equal(cr_events_count(f->st, 1, "flag.wrong", "f1", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cr_events_next_hint(f->st, 1, "f1", &next), 0);
    assert_int_equal(next, 0);

    add(f->st, 1000, 1, "flag.wrong", "{\"id\":\"f1\",\"attempt\":1,\"answer\":\"a\"}");
    add(f->st, 2000, 1, "flag.wrong", "{\"id\":\"f1\",\"attempt\":2,\"answer\":\"b\"}");
    add(f->st, 2000, 1, "flag.wrong", "{\"id\":\"f2\",\"attempt\":1,\"answer\":\"b\"}");
    add(f->st, 2000, 2, "flag.wrong", "{\"id\":\"f1\",\"attempt\":1,\"answer\":\"b\"}");
    add(f->st, 3000, 1, "hint.taken", "{\"id\":\"f1\",\"index\":0,\"cost\":1}");
    add(f->st, 4000, 1, "hint.taken", "{\"id\":\"f1\",\"index\":1,\"cost\":1}");
    add(f->st, 4000, 2, "hint.taken", "{\"id\":\"f1\",\"index\":0,\"cost\":1}");
    assert_int_equal(cr_events_count(f->st, 1, "flag.wrong", "f1", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cr_events_count(f->st, 2, "flag.wrong", "f1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cr_events_count(f->st, 1, "hint.taken", "f2", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cr_events_next_hint(f->st, 1, "f1", &next), 0);
    assert_int_equal(next, 2);
    assert_int_equal(cr_events_next_hint(f->st, 2, "f1", &next), 0);
    assert_int_equal(next, 1);
    assert_int_equal(cr_events_next_hint(f->st, 1, "f2", &next), 0);
    assert_int_equal(next, 0);
}

static void test_events_first_after_finds_the_met_since_the_last_loss(void **state)
{
    fixture *f = *state;
    bool found = true;
    int64_t t = -1;
    assert_int_equal(cr_events_first_after(f->st, 1, "objective.met", NULL, "o1", &found, &t), 0);
    assert_false(found);
    assert_int_equal(t, 0);

    add(f->st, 1000, 1, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");
    add(f->st, 2000, 1, "objective.lost", "{\"id\":\"o1\",\"points\":5}");
    add(f->st, 3000, 1, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");
    add(f->st, 3500, 2, "objective.lost", "{\"id\":\"o1\",\"points\":5}"); /* another team's loss */
    add(f->st, 4000, 1, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");
    add(f->st, 4500, 2, "objective.met", "{\"id\":\"o1\",\"points\":5,\"mode\":\"hold\"}");

    assert_int_equal(cr_events_first_after(f->st, 1, "objective.met", NULL, "o1", &found, &t), 0);
    assert_true(found);
    assert_int_equal(t, 1000);
    assert_int_equal(cr_events_first_after(f->st, 1, "objective.met", "objective.lost", "o1", &found, &t), 0);
    assert_true(found);
    assert_int_equal(t, 3000);
    assert_int_equal(cr_events_first_after(f->st, 2, "objective.met", "objective.lost", "o1", &found, &t), 0);
    assert_true(found);
    assert_int_equal(t, 4500);
    /* Lost last: not met since. */
    add(f->st, 5000, 1, "objective.lost", "{\"id\":\"o1\",\"points\":5}");
    assert_int_equal(cr_events_first_after(f->st, 1, "objective.met", "objective.lost", "o1", &found, &t), 0);
    assert_false(found);
    assert_int_equal(t, 0);
}

static void test_events_time_span_and_action_seq_max(void **state)
{
    fixture *f = *state;
    int64_t first = -1, last = -1, max = -1;
    assert_int_equal(cr_events_time_span(f->st, NULL, &first, &last), 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    assert_int_equal(cr_events_action_seq_max(f->st, 1, "web", "s1", &max), 0);
    assert_int_equal(max, 0);

    add(f->st, 7000, 1, "flag.correct", "{\"id\":\"f1\",\"points\":10,\"attempt\":1}");
    add(f->st, 3000, 0, "exercise.start", NULL);
    add(f->st, 9000, 0, "exercise.start", NULL);
    add(f->st, 2000, 2, "solution.run", "{\"ok\":true}");
    assert_int_equal(cr_events_time_span(f->st, NULL, &first, &last), 0);
    assert_int_equal(first, 2000);
    assert_int_equal(last, 9000);
    assert_int_equal(cr_events_time_span(f->st, "exercise.start", &first, NULL), 0);
    assert_int_equal(first, 3000);
    assert_int_equal(cr_events_time_span(f->st, "exercise.pause", NULL, &last), 0);
    assert_int_equal(last, 0);

    static const char *const rows[][4] = {
        /* team, vm, kind, data */
        {"1", "web", "action.command", "{\"command\":\"ls\",\"spool\":\"s1\",\"seq\":1}"},
        {"1", "web", "action.status", "{\"of\":1,\"status\":0,\"spool\":\"s1\",\"seq\":2}"},
        {"1", "web", "action.command", "{\"command\":\"id\",\"spool\":\"s2\",\"seq\":9}"},
        {"1", "db", "action.command", "{\"command\":\"id\",\"spool\":\"s1\",\"seq\":7}"},
        {"2", "web", "action.command", "{\"command\":\"id\",\"spool\":\"s1\",\"seq\":5}"},
        {"1", "web", "console.attach", "{\"spool\":\"s1\",\"seq\":50}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        json_t *data = json_loads(rows[i][3], 0, NULL);
        assert_int_equal(cr_event_add(f->st, 0, atoi(rows[i][0]), rows[i][1], rows[i][2], data, NULL, NULL), 0);
        json_decref(data);
    }
    assert_int_equal(cr_events_action_seq_max(f->st, 1, "web", "s1", &max), 0);
    assert_int_equal(max, 2);
    assert_int_equal(cr_events_action_seq_max(f->st, 1, "web", "s2", &max), 0);
    assert_int_equal(max, 9);
    assert_int_equal(cr_events_action_seq_max(f->st, 1, "db", "s1", &max), 0);
    assert_int_equal(max, 7);
    assert_int_equal(cr_events_action_seq_max(f->st, 2, "web", "s1", &max), 0);
    assert_int_equal(max, 5);
    assert_int_equal(cr_events_action_seq_max(f->st, 2, "web", "s2", &max), 0);
    assert_int_equal(max, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_events_add_with_dedupe_key_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_clock_leaves_paused_time_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_writer_commits_every_batch_and_on_flush_and_close, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_writer_rejects_data_that_is_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_query_filters_by_team_time_and_kind_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_last_finds_the_latest_of_either_kind_by_data_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_scoring_passes_scoring_kinds_of_teams_in_log_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_events_count_and_next_hint_go_by_team_kind_and_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_first_after_finds_the_met_since_the_last_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_time_span_and_action_seq_max, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
