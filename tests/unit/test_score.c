/*
 * test_score.c: scoring (score.h) on a real range database: the arithmetic
 * of objectives (once, hold), flags and hint costs; transitions recorded
 * only on change, also across two handles and two processes; rank ties;
 * full marks; the submit verdicts; hints in order; prerequisites.
 *
 * The scenario model is built by hand: it is a plain C struct.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "events.h"
#include "score.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static cr_hint hints_once[] = {
    {{"ログを見よ", "Read the logs"}, 2},
    {{"/var/log/auth.log を見よ", "Read /var/log/auth.log"}, 3},
};
static cr_hint hints_f1[] = {{{"設定ファイル", "A config file"}, 5}};
static char *prereqs_hold[] = {"o_once", "f1", NULL};
static char *prereqs_final[] = {"o_hold", NULL};
static char *prereqs_bad[] = {"nothing", NULL};

static cr_objective objectives[] = {
    {.id = "o_once", .title = {"侵入経路を特定", "Find the way in"}, .points = 10, .hints = hints_once,
     .n_hints = 2, .mode = CR_MODE_ONCE, .has_check = true},
    {.id = "o_hold", .title = {"サービスを維持", "Keep the service up"}, .points = 20, .prereqs = prereqs_hold,
     .mode = CR_MODE_HOLD, .has_check = true},
    {.id = "o_final", .title = {"最終", "Final"}, .points = 5, .prereqs = prereqs_final, .mode = CR_MODE_HOLD},
};
static cr_flag flags[] = {
    {.id = "f1", .question = {"パスワードは？", "The password?"}, .points = 30, .max_attempts = 2,
     .answer_kind = CR_ANSWER_LITERAL, .answer = "S3cret-Answer", .hints = hints_f1, .n_hints = 1},
    {.id = "f2", .question = {"ポート番号は？", "The port?"}, .points = 15, .answer_kind = CR_ANSWER_PATTERN,
     .answer = "[0-9]+/tcp"},
};
static cr_team_model team_model = {.number = 1, .objectives = objectives, .n_objectives = 3, .flags = flags,
                                   .n_flags = 2};
static cr_scenario scenario = {.id = "demo", .title = {"デモ", "Demo"}, .teams = &team_model, .n_teams = 1};

#define O_ONCE (&objectives[0])
#define O_HOLD (&objectives[1])
#define O_FINAL (&objectives[2])
#define F1 (&flags[0])
#define F2 (&flags[1])

typedef struct fixture {
    char *dir;
    char *path;
    cr_state *st;
} fixture;

static cr_state *open_db(const char *path)
{
    cr_state *st = NULL;
    cr_error_clear();
    if (cr_state_open_file(&st, path, true) < 0)
        fail_msg("open: %s", cr_error_message());
    return st;
}

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->path = cr_path_join(f->dir, "range.db");
    f->st = open_db(f->path);
    assert_int_equal(cr_score_save_content(f->st, &scenario), 0);
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

static long long scalar(cr_state *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(cr_state_db(st), sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(cr_state_db(st)));
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The scoreboard (new). */
static cr_score_board *board_of(cr_state *st, int teams)
{
    cr_score_board *b = NULL;
    cr_error_clear();
    if (cr_score_board_new(&b, st, teams) < 0)
        fail_msg("board: %s", cr_error_message());
    assert_non_null(b);
    return b;
}

/* The scoreboard's JSON form, as the edges get it (a new reference). */
static json_t *board_json(cr_state *st, int teams)
{
    cr_score_board *b = board_of(st, teams);
    json_t *j = cr_score_board_json(b);
    cr_score_board_free(b);
    assert_non_null(j);
    return j;
}

/* The scoreboard entry of a team in the JSON form (a new reference). */
static json_t *entry(cr_state *st, int teams, int team)
{
    json_t *board = board_json(st, teams);
    size_t i;
    json_t *e, *found = NULL;
    json_array_foreach(json_object_get(board, "teams"), i, e) {
        if (json_integer_value(json_object_get(e, "team")) == team)
            found = json_incref(e);
    }
    json_decref(board);
    assert_non_null(found);
    return found;
}

static int score(cr_state *st, int teams, int team)
{
    cr_score_board *b = board_of(st, teams);
    const cr_score_board_team *row = cr_score_board_find(b, team);
    assert_non_null(row);
    int s = row->score;
    cr_score_board_free(b);
    return s;
}

static void record(cr_state *st, int team, const cr_objective *o, bool met, bool want_changed)
{
    bool changed = !want_changed;
    cr_error_clear();
    if (cr_score_record_objective(st, team, o, met, &changed) < 0)
        fail_msg("record %s: %s", o->id, cr_error_message());
    if (changed != want_changed)
        fail_msg("record %s %s: changed %d, want %d", o->id, met ? "met" : "not met", changed, want_changed);
}

static cr_submit_verdict submit(cr_state *st, int team, const cr_flag *fl, const char *answer, int want_left)
{
    cr_submit_verdict v = 0;
    int left = -99;
    cr_error_clear();
    if (cr_score_submit(st, team, fl, answer, &v, &left) < 0)
        fail_msg("submit %s: %s", fl->id, cr_error_message());
    assert_int_equal(left, want_left);
    return v;
}

static void add(cr_state *st, int64_t t, int team, const char *kind, const char *data_json)
{
    json_t *data = json_loads(data_json, 0, NULL);
    assert_non_null(data);
    assert_int_equal(cr_event_add(st, t, team, NULL, kind, data, NULL, NULL), 0);
    json_decref(data);
}

static void test_score_sums_objectives_flags_and_hint_costs(void **state)
{
    fixture *f = *state;
    assert_int_equal(score(f->st, 2, 1), 0);
    record(f->st, 1, O_ONCE, true, true);
    assert_int_equal(score(f->st, 2, 1), 10);
    assert_int_equal(submit(f->st, 1, F1, "s3cret-answer", 2), CR_SUBMIT_CORRECT);
    assert_int_equal(score(f->st, 2, 1), 40);
    json_t *hint = NULL;
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "o_once", &hint), 0);
    json_decref(hint);
    record(f->st, 1, O_HOLD, true, true);

    json_t *e = entry(f->st, 2, 1);
    assert_int_equal(json_integer_value(json_object_get(e, "score")), 10 + 30 - 2 + 20);
    assert_int_equal(json_integer_value(json_object_get(e, "hints_cost")), 2);
    assert_int_equal(json_array_size(json_object_get(e, "objectives")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "flags"), 0)), "f1");
    assert_int_equal(json_integer_value(json_object_get(e, "rank")), 1);
    assert_true(json_is_integer(json_object_get(e, "reached_ms")));
    assert_true(json_is_string(json_object_get(e, "reached")));
    json_decref(e);
    /* Team 2 did nothing. */
    assert_int_equal(score(f->st, 2, 2), 0);

    /* The timeline has the score after each change, in order. */
    cr_score_timeline *st_tl = NULL;
    assert_int_equal(cr_score_timeline_new(&st_tl, f->st, 2), 0);
    assert_int_equal(st_tl->n_teams, 2);
    assert_int_equal(st_tl->teams[0].team, 1);
    static const int want[] = {10, 40, 38, 58};
    assert_int_equal(st_tl->teams[0].n_points, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(st_tl->teams[0].points[i].score, want[i]);
    assert_true(st_tl->teams[0].points[3].time_ms >= st_tl->teams[0].points[0].time_ms);
    assert_int_equal(st_tl->teams[1].team, 2);
    assert_int_equal(st_tl->teams[1].n_points, 0);
    /* Its JSON form: [{"team", "points": [[time_ms, score], ...]}]. */
    json_t *tl = cr_score_timeline_json(st_tl);
    assert_int_equal(json_array_size(tl), 2);
    json_t *pts = json_object_get(json_array_get(tl, 0), "points");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(tl, 0), "team")), 1);
    assert_int_equal(json_array_size(pts), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(json_integer_value(json_array_get(json_array_get(pts, i), 0)),
                         st_tl->teams[0].points[i].time_ms);
        assert_int_equal(json_integer_value(json_array_get(json_array_get(pts, i), 1)), want[i]);
    }
    assert_int_equal(json_array_size(json_object_get(json_array_get(tl, 1), "points")), 0);
    json_decref(tl);
    cr_score_timeline_free(st_tl);
    cr_score_timeline_free(NULL);
}

static void test_score_hold_objective_lost_takes_its_points_away(void **state)
{
    fixture *f = *state;
    record(f->st, 1, O_HOLD, true, true);
    assert_int_equal(score(f->st, 1, 1), 20);
    record(f->st, 1, O_HOLD, false, true);
    assert_int_equal(score(f->st, 1, 1), 0);
    json_t *e = entry(f->st, 1, 1);
    assert_int_equal(json_array_size(json_object_get(e, "objectives")), 0);
    json_decref(e);
    record(f->st, 1, O_HOLD, true, true);
    assert_int_equal(score(f->st, 1, 1), 20);
}

static void test_score_once_objective_is_never_lost(void **state)
{
    fixture *f = *state;
    record(f->st, 1, O_ONCE, false, false); /* not met yet: nothing to record */
    record(f->st, 1, O_ONCE, true, true);
    record(f->st, 1, O_ONCE, false, false);
    record(f->st, 1, O_ONCE, true, false);
    assert_int_equal(score(f->st, 1, 1), 10);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'objective.lost'"), 0);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'objective.met'"), 1);

    /* Even a stray objective.lost (say, an older engine) does not take a once objective's points. */
    add(f->st, 0, 1, "objective.lost", "{\"id\":\"o_once\",\"points\":10}");
    assert_int_equal(score(f->st, 1, 1), 10);
}

static void test_score_record_objective_records_only_changes(void **state)
{
    fixture *f = *state;
    record(f->st, 1, O_HOLD, false, false); /* never met: not "lost" */
    record(f->st, 1, O_HOLD, true, true);
    record(f->st, 1, O_HOLD, true, false);
    record(f->st, 1, O_HOLD, true, false);
    record(f->st, 1, O_HOLD, false, true);
    record(f->st, 1, O_HOLD, false, false);
    record(f->st, 2, O_HOLD, true, true); /* per team */
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE team = 1"), 2);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE team = 2"), 1);
    /* The met event carries points and mode, so scores need nothing else. */
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.points') FROM events WHERE id = 1"), 20);
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.mode') = 'hold' FROM events WHERE id = 1"), 1);
}

static void test_score_two_handles_alternating_never_duplicate_a_transition(void **state)
{
    fixture *f = *state;
    cr_state *other = open_db(f->path);
    cr_state *h[2] = {f->st, other};
    /* Both engines see the objective met, then both see it fail, ... */
    static const bool seen[] = {true, true, true, false, false, true, true, false};
    int transitions = 0;
    bool prev = false;
    for (size_t i = 0; i < sizeof seen / sizeof *seen; i++) {
        for (int k = 0; k < 2; k++) {
            bool changed = false;
            assert_int_equal(cr_score_record_objective(h[(i + k) % 2], 1, O_HOLD, seen[i], &changed), 0);
            assert_int_equal(changed, k == 0 && seen[i] != prev);
        }
        transitions += seen[i] != prev;
        prev = seen[i];
    }
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events"), transitions);
    /* No two consecutive events of the same kind. */
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events a JOIN events b ON b.id = a.id + 1"
                                   " WHERE a.kind = b.kind"),
                     0);
    cr_state_close(other);
}

/* Two processes racing over the same objectives. Their views may differ in
 * time (one may still see "met" after the other saw "lost"), so the number
 * of transitions varies; what must never happen is the same transition
 * twice in a row. Everyone seeing "met" yields exactly one met each. */
static void test_score_two_processes_racing_never_duplicate_a_transition(void **state)
{
    fixture *f = *state;
    enum { N_OBJ = 20 };
    static const bool rounds[] = {true, true, false, false, true, true};
    static cr_objective objs[N_OBJ];
    static char ids[N_OBJ][16];
    for (int i = 0; i < N_OBJ; i++) {
        snprintf(ids[i], sizeof ids[i], "race%d", i);
        objs[i] = (cr_objective){.id = ids[i], .points = 1, .mode = i < N_OBJ / 2 ? CR_MODE_HOLD : CR_MODE_ONCE};
    }
    /* No connection may be open across fork() (SQLite's rule). */
    cr_state_close(f->st);
    f->st = NULL;
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            cr_state *st = NULL;
            int bad = cr_state_open_file(&st, f->path, false) < 0;
            for (size_t r = 0; r < sizeof rounds / sizeof *rounds && !bad; r++)
                for (int i = 0; i < N_OBJ && !bad; i++)
                    bad = cr_score_record_objective(st, 1, &objs[i], rounds[r], NULL) < 0;
            if (bad)
                fprintf(stderr, "child: %s\n", cr_error_message());
            cr_state_close(st);
            _exit(bad);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status = 0;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    f->st = open_db(f->path);
    /* Per objective: starts with met, and never the same kind twice in a row. */
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM (SELECT kind, lag(kind) OVER"
                                   " (PARTITION BY json_extract(data, '$.id') ORDER BY id) AS prev FROM events)"
                                   " WHERE kind = prev"),
                     0);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM (SELECT kind, row_number() OVER"
                                   " (PARTITION BY json_extract(data, '$.id') ORDER BY id) AS n FROM events)"
                                   " WHERE n = 1 AND kind <> 'objective.met'"),
                     0);
    /* Once objectives: exactly one met each, never lost. */
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'objective.met'"
                                   " AND CAST(substr(json_extract(data, '$.id'), 5) AS INTEGER) >= 10"),
                     N_OBJ / 2);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'objective.lost'"
                                   " AND CAST(substr(json_extract(data, '$.id'), 5) AS INTEGER) >= 10"),
                     0);
    /* Everyone ends seeing "met": every hold objective ends met. */
    assert_int_equal(score(f->st, 1, 1), N_OBJ);
}

static void test_score_ties_are_broken_by_the_time_the_score_was_reached(void **state)
{
    fixture *f = *state;
    add(f->st, 5000, 1, "flag.correct", "{\"id\":\"f2\",\"points\":15,\"attempt\":1}");
    add(f->st, 3000, 2, "flag.correct", "{\"id\":\"f2\",\"points\":15,\"attempt\":1}");
    /* Team 4 scored and lost it again: 0, but reached at 4 s. */
    add(f->st, 2000, 4, "objective.met", "{\"id\":\"o_hold\",\"points\":20,\"mode\":\"hold\"}");
    add(f->st, 4000, 4, "objective.lost", "{\"id\":\"o_hold\",\"points\":20}");
    /* Team 3 and team 5: nothing that scores. */
    add(f->st, 1000, 5, "flag.wrong", "{\"id\":\"f2\",\"attempt\":1,\"answer\":\"x\"}");
    /* Range-wide events and teams beyond the count are ignored. */
    add(f->st, 1000, 0, "exercise.start", "{}");
    add(f->st, 1000, 9, "flag.correct", "{\"id\":\"f2\",\"points\":15,\"attempt\":1}");

    json_t *board = board_json(f->st, 5);
    json_t *teams = json_object_get(board, "teams");
    assert_int_equal(json_array_size(teams), 5);
    static const int order[] = {2, 1, 4, 3, 5};
    static const int scores[] = {15, 15, 0, 0, 0};
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(teams, i);
        assert_int_equal(json_integer_value(json_object_get(e, "team")), order[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "score")), scores[i]);
        assert_int_equal(json_integer_value(json_object_get(e, "rank")), (int)i + 1);
    }
    json_t *first = json_array_get(teams, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "reached_ms")), 3000);
    assert_string_equal(json_string_value(json_object_get(first, "reached")), "1970-01-01T00:00:03Z");
    json_t *never = json_array_get(teams, 3);
    assert_true(json_is_null(json_object_get(never, "reached")));
    assert_true(json_is_null(json_object_get(never, "reached_ms")));
    json_decref(board);

    /* The struct says the same, in the same order. */
    cr_score_board *b = board_of(f->st, 5);
    assert_int_equal(b->n_teams, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(b->teams[i].team, order[i]);
        assert_int_equal(b->teams[i].score, scores[i]);
        assert_int_equal(b->teams[i].rank, (int)i + 1);
    }
    assert_true(b->teams[0].scored);
    assert_int_equal(b->teams[0].reached_ms, 3000);
    assert_true(b->teams[2].scored); /* team 4: scored, back to 0 */
    assert_int_equal(b->teams[2].reached_ms, 4000);
    assert_false(b->teams[3].scored);
    cr_score_board_free(b);

    /* No teams at all; a negative count is refused. */
    board = board_json(f->st, 0);
    assert_int_equal(json_array_size(json_object_get(board, "teams")), 0);
    json_decref(board);
    cr_error_clear();
    assert_int_equal(cr_score_board_new(&b, f->st, -1), CR_EINVAL);
    assert_null(b);
    cr_error_clear();
}

static void test_score_full_marks_sums_objective_and_flag_points(void **state)
{
    fixture *f = *state;
    json_t *board = board_json(f->st, 3);
    assert_int_equal(json_integer_value(json_object_get(board, "full_marks")), 10 + 20 + 5 + 30 + 15);
    json_decref(board);
    cr_score_board *b = board_of(f->st, 3);
    assert_int_equal(b->full_marks, 10 + 20 + 5 + 30 + 15);
    cr_score_board_free(b);
    /* Saving again replaces; answers are not stored. */
    assert_int_equal(cr_score_save_content(f->st, &scenario), 0);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM content"), 5);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM content WHERE prereqs LIKE '%S3cret%'"
                                   " OR hints LIKE '%S3cret%' OR title_en LIKE '%S3cret%'"),
                     0);
    assert_int_equal(scalar(f->st, "SELECT json_array_length(hints) FROM content WHERE id = 'o_once'"), 2);
    assert_int_equal(scalar(f->st, "SELECT json_extract(hints, '$[1].cost') FROM content WHERE id = 'o_once'"), 3);
    assert_int_equal(scalar(f->st, "SELECT max_attempts FROM content WHERE id = 'f1'"), 2);
    assert_int_equal(scalar(f->st, "SELECT json_array_length(prereqs) FROM content WHERE id = 'o_hold'"), 2);
}

static void test_score_submit_wrong_wrong_then_no_attempts_left(void **state)
{
    fixture *f = *state;
    assert_int_equal(submit(f->st, 1, F1, "guess", 1), CR_SUBMIT_WRONG);
    assert_int_equal(submit(f->st, 1, F1, "guess again", 0), CR_SUBMIT_WRONG);
    /* The right answer, too late: not even checked. */
    assert_int_equal(submit(f->st, 1, F1, "S3cret-Answer", 0), CR_SUBMIT_NO_ATTEMPTS_LEFT);
    assert_int_equal(score(f->st, 1, 1), 0);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'flag.wrong'"), 2);
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.attempt') FROM events WHERE id = 2"), 2);
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.answer') = 'guess again' FROM events WHERE id = 2"),
                     1);
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.reason') = 'no attempts left' FROM events"
                                   " WHERE kind = 'flag.rejected'"),
                     1);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE data LIKE '%S3cret%'"), 0);
    assert_string_equal(cr_submit_verdict_name(CR_SUBMIT_NO_ATTEMPTS_LEFT), "no attempts left");
    /* Another team has its own attempts. */
    assert_int_equal(submit(f->st, 2, F1, "s3cret-answer", 2), CR_SUBMIT_CORRECT);
}

static void test_score_submit_correct_then_already_solved(void **state)
{
    fixture *f = *state;
    assert_int_equal(submit(f->st, 1, F2, "22/udp", -1), CR_SUBMIT_WRONG);
    assert_int_equal(submit(f->st, 1, F2, "２２/TCP", -1), CR_SUBMIT_CORRECT);
    assert_int_equal(submit(f->st, 1, F2, "22/tcp", -1), CR_SUBMIT_ALREADY_SOLVED);
    assert_int_equal(submit(f->st, 1, F2, "nonsense", -1), CR_SUBMIT_ALREADY_SOLVED);
    assert_int_equal(score(f->st, 1, 1), 15);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'flag.rejected'"
                                   " AND json_extract(data, '$.reason') = 'already solved'"),
                     2);
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.attempt') FROM events WHERE kind = 'flag.correct'"),
                     2);
    assert_string_equal(cr_submit_verdict_name(CR_SUBMIT_CORRECT), "correct");
    assert_string_equal(cr_submit_verdict_name(CR_SUBMIT_WRONG), "wrong");
    assert_string_equal(cr_submit_verdict_name(CR_SUBMIT_ALREADY_SOLVED), "already solved");

    /* A malformed answer is an error, not an attempt. */
    cr_submit_verdict v = CR_SUBMIT_WRONG;
    long long before = scalar(f->st, "SELECT count(*) FROM events");
    cr_error_clear();
    assert_int_equal(cr_score_submit(f->st, 2, F2, "\xff", &v, NULL), CR_EINVAL);
    assert_int_equal(v, 0);
    cr_error_clear();
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events"), before);
    /* And the database is usable after the rolled back transaction. */
    assert_int_equal(submit(f->st, 2, F2, "80/tcp", -1), CR_SUBMIT_CORRECT);
}

static void test_score_hints_come_in_order_until_none_is_left(void **state)
{
    fixture *f = *state;
    json_t *h = NULL;
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "o_once", &h), 0);
    assert_int_equal(json_integer_value(json_object_get(h, "index")), 0);
    assert_int_equal(json_integer_value(json_object_get(h, "cost")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "text"), "en")), "Read the logs");
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "text"), "ja")), "ログを見よ");
    json_decref(h);
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "o_once", &h), 0);
    assert_int_equal(json_integer_value(json_object_get(h, "index")), 1);
    assert_int_equal(json_integer_value(json_object_get(h, "cost")), 3);
    json_decref(h);

    cr_error_clear();
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "o_once", &h), CR_ENOTFOUND);
    assert_null(h);
    assert_string_equal(cr_error_message(), "no more hints for 'o_once'");
    cr_error_clear();
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "o_hold", &h), CR_ENOTFOUND); /* has none */
    assert_string_equal(cr_error_message(), "no more hints for 'o_hold'");
    cr_error_clear();
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "nope", &h), CR_ENOTFOUND);
    assert_string_equal(cr_error_message(), "no objective or flag 'nope'");
    cr_error_clear();

    /* Flags have hints too; each team its own. */
    assert_int_equal(cr_score_hint(f->st, 1, &team_model, "f1", &h), 0);
    json_decref(h);
    assert_int_equal(cr_score_hint(f->st, 2, &team_model, "o_once", &h), 0);
    assert_int_equal(json_integer_value(json_object_get(h, "index")), 0);
    json_decref(h);

    assert_int_equal(score(f->st, 2, 1), -(2 + 3 + 5));
    assert_int_equal(score(f->st, 2, 2), -2);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'hint.taken'"), 4);
}

static void test_score_prereqs_need_objectives_met_and_flags_solved(void **state)
{
    fixture *f = *state;
    bool ok = true;
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_ONCE, &ok), 0); /* none */
    assert_true(ok);
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_HOLD, &ok), 0);
    assert_false(ok);
    record(f->st, 1, O_ONCE, true, true);
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_HOLD, &ok), 0);
    assert_false(ok); /* f1 still unsolved */
    assert_int_equal(submit(f->st, 1, F1, "S3cret-Answer", 2), CR_SUBMIT_CORRECT);
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_HOLD, &ok), 0);
    assert_true(ok);
    assert_int_equal(cr_score_prereqs_met(f->st, 2, &team_model, O_HOLD, &ok), 0); /* per team */
    assert_false(ok);

    /* A hold prerequisite must hold now. */
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_FINAL, &ok), 0);
    assert_false(ok);
    record(f->st, 1, O_HOLD, true, true);
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_FINAL, &ok), 0);
    assert_true(ok);
    record(f->st, 1, O_HOLD, false, true);
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, O_FINAL, &ok), 0);
    assert_false(ok);

    /* An unknown prerequisite is an error that names it. */
    cr_objective bad = {.id = "o_bad", .points = 1, .prereqs = prereqs_bad, .mode = CR_MODE_ONCE};
    cr_error_clear();
    assert_int_equal(cr_score_prereqs_met(f->st, 1, &team_model, &bad, &ok), CR_ENOTFOUND);
    assert_false(ok);
    assert_non_null(strstr(cr_error_message(), "'nothing'"));
    cr_error_clear();
}

/* The struct holds what the JSON shows, and the JSON keeps its keys in
 * their order: CLI --json, the portal and the JSON report depend on them. */
static void test_score_board_struct_and_its_json_agree(void **state)
{
    fixture *f = *state;
    add(f->st, 1000, 2, "objective.met", "{\"id\":\"o_hold\",\"points\":20,\"mode\":\"hold\"}");
    add(f->st, 2000, 2, "flag.correct", "{\"id\":\"f2\",\"points\":15,\"attempt\":1}");
    add(f->st, 3000, 2, "objective.met", "{\"id\":\"o_once\",\"points\":10,\"mode\":\"once\"}");
    add(f->st, 4000, 2, "hint.taken", "{\"id\":\"f1\",\"index\":0,\"cost\":5}");
    add(f->st, 5000, 2, "objective.lost", "{\"id\":\"o_hold\",\"points\":20}");

    cr_score_board *b = board_of(f->st, 2);
    assert_int_equal(b->n_teams, 2);
    const cr_score_board_team *t2 = cr_score_board_find(b, 2), *t1 = cr_score_board_find(b, 1);
    assert_ptr_equal(t2, &b->teams[0]);
    assert_ptr_equal(t1, &b->teams[1]);
    assert_null(cr_score_board_find(b, 3));
    assert_null(cr_score_board_find(NULL, 1));
    assert_int_equal(t2->score, 15 + 10 - 5);
    assert_int_equal(t2->hints_cost, 5);
    assert_int_equal(t2->reached_ms, 5000);
    assert_int_equal(t2->n_objectives, 1); /* o_hold was lost */
    assert_string_equal(t2->objectives[0], "o_once");
    assert_int_equal(t2->n_flags, 1);
    assert_true(cr_score_board_team_met(t2, "o_once"));
    assert_false(cr_score_board_team_met(t2, "o_hold"));
    assert_false(cr_score_board_team_met(t2, "f2")); /* a flag is not an objective */
    assert_true(cr_score_board_team_solved(t2, "f2"));
    assert_false(cr_score_board_team_solved(t2, "f1"));
    assert_false(cr_score_board_team_met(NULL, "o_once"));
    assert_false(cr_score_board_team_solved(t1, "f2"));

    json_t *j = cr_score_board_json(b);
    static const char *const top[] = {"full_marks", "teams"};
    static const char *const keys[] = {"rank", "team", "score", "objectives", "flags", "hints_cost", "reached_ms",
                                       "reached"};
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) assert_string_equal(key, top[n++]);
    assert_int_equal(n, 2);
    json_t *e = json_array_get(json_object_get(j, "teams"), 0);
    n = 0;
    json_object_foreach(e, key, v) assert_string_equal(key, keys[n++]);
    assert_int_equal(n, 8);
    assert_int_equal(json_integer_value(json_object_get(e, "team")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "score")), 20);
    assert_int_equal(json_integer_value(json_object_get(e, "hints_cost")), 5);
    assert_int_equal(json_integer_value(json_object_get(e, "reached_ms")), 5000);
    assert_string_equal(json_string_value(json_object_get(e, "reached")), "1970-01-01T00:00:05Z");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "objectives"), 0)), "o_once");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e, "flags"), 0)), "f2");
    json_decref(j);
    cr_score_board_free(b);
    cr_score_board_free(NULL);
}

/* Scores add up in 64 bits: points near 2^31 neither wrap nor trip UBSan. A
 * total that an int cannot hold is refused with a message naming the team,
 * not shown wrapped around to a negative score. */
static void test_score_points_near_2_31_are_summed_without_overflow(void **state)
{
    fixture *f = *state;
    /* In range: 2 000 000 000 met, then a 1 999 999 999 hint: 1. */
    add(f->st, 1000, 1, "objective.met", "{\"id\":\"o_once\",\"points\":2000000000,\"mode\":\"once\"}");
    add(f->st, 2000, 1, "hint.taken", "{\"id\":\"o_once\",\"index\":0,\"cost\":1999999999}");
    cr_score_board *b = board_of(f->st, 3);
    const cr_score_board_team *t1 = cr_score_board_find(b, 1);
    assert_int_equal(t1->score, 1);
    assert_int_equal(t1->hints_cost, 1999999999);
    cr_score_board_free(b);

    /* Team 2: 2147483647 + 2147483647 does not fit. */
    add(f->st, 3000, 2, "objective.met", "{\"id\":\"o_once\",\"points\":2147483647,\"mode\":\"once\"}");
    add(f->st, 4000, 2, "flag.correct", "{\"id\":\"f1\",\"points\":2147483647,\"attempt\":1}");
    cr_error_clear();
    b = NULL;
    assert_int_equal(cr_score_board_new(&b, f->st, 3), CR_EINVAL);
    assert_null(b);
    assert_string_equal(cr_error_message(), "scoring: team 2's score is beyond ±2147483647 points");
    cr_error_clear();
    cr_score_timeline *tl = NULL;
    assert_int_equal(cr_score_timeline_new(&tl, f->st, 3), CR_EINVAL);
    assert_null(tl);
    assert_string_equal(cr_error_message(), "scoring: team 2's score is beyond ±2147483647 points");
    cr_error_clear();
}

/* A hint cost of -2^31 (only a forged database has one) cannot be negated
 * in an int: refused, not undefined behaviour. */
static void test_score_a_hint_cost_of_minus_2_31_is_refused(void **state)
{
    fixture *f = *state;
    add(f->st, 1000, 1, "hint.taken", "{\"id\":\"o_once\",\"index\":0,\"cost\":-2147483648}");
    cr_score_board *b = NULL;
    cr_error_clear();
    assert_int_equal(cr_score_board_new(&b, f->st, 1), CR_EINVAL);
    assert_null(b);
    assert_string_equal(cr_error_message(), "scoring: team 1's score is beyond ±2147483647 points");
    cr_error_clear();
}

/* Hint costs are a total of their own (the board shows it): 2 x 1.5e9 does
 * not fit, even when the score (2e9 - 3e9) would. */
static void test_score_hint_costs_beyond_2_31_are_refused(void **state)
{
    fixture *f = *state;
    add(f->st, 1000, 1, "objective.met", "{\"id\":\"o_once\",\"points\":2000000000,\"mode\":\"once\"}");
    add(f->st, 2000, 1, "hint.taken", "{\"id\":\"o_once\",\"index\":0,\"cost\":1500000000}");
    add(f->st, 3000, 1, "hint.taken", "{\"id\":\"o_once\",\"index\":1,\"cost\":1500000000}");
    cr_score_board *b = NULL;
    cr_error_clear();
    assert_int_equal(cr_score_board_new(&b, f->st, 1), CR_EINVAL);
    assert_null(b);
    assert_string_equal(cr_error_message(), "scoring: team 1's hint costs are beyond ±2147483647 points");
    cr_error_clear();
}

/* Full marks are summed by SQLite in 64 bits; a sum an int cannot hold is
 * refused rather than truncated to its low 32 bits. */
static void test_score_full_marks_beyond_2_31_are_refused(void **state)
{
    fixture *f = *state;
    static cr_objective big[] = {
        {.id = "a", .title = {"あ", "A"}, .points = 2147483647, .mode = CR_MODE_ONCE},
        {.id = "b", .title = {"い", "B"}, .points = 2147483647, .mode = CR_MODE_ONCE},
    };
    cr_team_model tm = {.number = 1, .objectives = big, .n_objectives = 2};
    cr_scenario s = {.id = "big", .teams = &tm, .n_teams = 1};
    assert_int_equal(cr_score_save_content(f->st, &s), 0);
    cr_score_board *b = NULL;
    cr_error_clear();
    assert_int_equal(cr_score_board_new(&b, f->st, 1), CR_EINVAL);
    assert_null(b);
    assert_string_equal(cr_error_message(), "scoring: the content's points add up to 4294967294, beyond ±2147483647");
    cr_error_clear();
}

/* A team count beyond CR_MAX_TEAMS (a forged range row) is refused before
 * anything is allocated for it. */
static void test_score_a_team_count_beyond_the_maximum_is_refused(void **state)
{
    fixture *f = *state;
    cr_score_board *b = NULL;
    cr_error_clear();
    assert_int_equal(cr_score_board_new(&b, f->st, 1000000000), CR_EINVAL);
    assert_null(b);
    assert_string_equal(cr_error_message(), "scoring: 1000000000 teams (at most 999)");
    cr_error_clear();
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_score_sums_objectives_flags_and_hint_costs),
        T(test_score_hold_objective_lost_takes_its_points_away),
        T(test_score_once_objective_is_never_lost),
        T(test_score_record_objective_records_only_changes),
        T(test_score_two_handles_alternating_never_duplicate_a_transition),
        T(test_score_two_processes_racing_never_duplicate_a_transition),
        T(test_score_ties_are_broken_by_the_time_the_score_was_reached),
        T(test_score_full_marks_sums_objective_and_flag_points),
        T(test_score_submit_wrong_wrong_then_no_attempts_left),
        T(test_score_submit_correct_then_already_solved),
        T(test_score_hints_come_in_order_until_none_is_left),
        T(test_score_prereqs_need_objectives_met_and_flags_solved),
        T(test_score_board_struct_and_its_json_agree),
        T(test_score_points_near_2_31_are_summed_without_overflow),
        T(test_score_a_hint_cost_of_minus_2_31_is_refused),
        T(test_score_hint_costs_beyond_2_31_are_refused),
        T(test_score_full_marks_beyond_2_31_are_refused),
        T(test_score_a_team_count_beyond_the_maximum_is_refused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
