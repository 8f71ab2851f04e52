/*
 * test_actionlog.c: one VM's action log (actionlog.h) on a real range
 * database: lines stored in order and once, and every kind of hostile line
 * (too long, not JSON, a NUL, bytes that are not UTF-8, a skipped seq, a
 * flood, a budget spent) dropped, counted, recorded and passed over, so the
 * lines after it are stored; the spool lookup goes through an index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "actionlog.h"
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
    cr_state *st;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    char *path = cr_path_join(f->dir, "range.db");
    cr_error_clear();
    if (cr_state_open_file(&f->st, path, true) < 0)
        fail_msg("open: %s", cr_error_message());
    free(path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_state_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static long long scalar(cr_state *st, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(cr_state_db(st), sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static long long commands(cr_state *st)
{
    return scalar(st, "SELECT count(*) FROM events WHERE kind = 'action.command'");
}

/* The stored command of seq in spool s1, or NULL (new string). */
static char *command_of(cr_state *st, int seq)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(cr_state_db(st),
                                        "SELECT json_extract(data, '$.command') FROM events WHERE kind = "
                                        "'action.command' AND json_extract(data, '$.seq') = ?1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(q, 1, seq);
    char *out = sqlite3_step(q) == SQLITE_ROW ? cr_xstrdup((const char *)sqlite3_column_text(q, 0)) : NULL;
    sqlite3_finalize(q);
    return out;
}

/* The lines of reason in the last action.dropped event, or -1. */
static long long dropped(cr_state *st, const char *reason)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce((SELECT json_extract(data, '$.%s.lines') FROM events WHERE kind = 'action.dropped' "
             "ORDER BY id DESC LIMIT 1), -1)",
             reason);
    return scalar(st, sql);
}

static char *line(int seq, const char *spool, const char *command)
{
    return cr_xasprintf("{\"seq\":%d,\"spool\":\"%s\",\"time\":1700000000,\"user\":\"root\",\"cwd\":\"/root\","
                        "\"command\":\"%s\"}\n",
                        seq, spool, command);
}

static bool feed(cr_actionlog *l, const char *s)
{
    return cr_actionlog_feed(l, s, strlen(s), 1000);
}

static void feed_line(cr_actionlog *l, int seq, const char *spool, const char *command)
{
    char *s = line(seq, spool, command);
    feed(l, s);
    free(s);
}

static void test_actionlog_stores_in_order_once_across_partial_reads_and_restarts(void **state)
{
    fixture *f = *state;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", NULL);
    char *one = line(1, "s1", "id");
    /* A line in two reads, then the same line again (a resend). */
    assert_false(cr_actionlog_feed(l, one, 10, 1000));
    assert_true(cr_actionlog_feed(l, one + 10, strlen(one) - 10, 1000));
    assert_true(feed(l, one));
    assert_int_equal(commands(f->st), 1);
    assert_int_equal(cr_actionlog_ack(l), 1);
    feed_line(l, 2, "s1", "uname -a");
    assert_int_equal(cr_actionlog_ack(l), 2);
    assert_int_equal(cr_actionlog_stored(l), 2);
    cr_actionlog_free(l);

    /* A restarted collector: the guest resends from its last ack, and the
     * next line is stored after what the database holds. */
    l = cr_actionlog_new(f->st, 1, "ws", NULL);
    feed(l, one);
    feed_line(l, 2, "s1", "uname -a");
    feed_line(l, 3, "s1", "ls");
    assert_int_equal(commands(f->st), 3);
    assert_int_equal(cr_actionlog_ack(l), 3);
    cr_actionlog_flush(l, 2000, true);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'action.dropped'"), 0);
    cr_actionlog_free(l);
    free(one);
}

static void test_actionlog_passes_over_an_oversized_line_and_counts_it(void **state)
{
    fixture *f = *state;
    cr_actionlog_limits lim = CR_ACTIONLOG_DEFAULTS;
    lim.max_line = 256;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", &lim);
    feed_line(l, 1, "s1", "id");
    /* 12,000 tabs, escaped: what once stopped the debian-12 log for good. */
    cr_buf big = {0};
    for (int i = 0; i < 12000; i++)
        cr_buf_add(&big, "\\u0009");
    char *s = line(2, "s1", big.data);
    assert_true(feed(l, s));
    assert_int_equal(cr_actionlog_ack(l), 2);
    feed_line(l, 3, "s1", "after");
    assert_int_equal(commands(f->st), 2);
    char *after = command_of(f->st, 3);
    assert_string_equal(after, "after");
    free(after);
    cr_actionlog_flush(l, 2000, true);
    assert_int_equal(dropped(f->st, "oversized"), 1);
    assert_int_equal(scalar(f->st, "SELECT json_extract(data, '$.oversized.bytes') FROM events WHERE kind = "
                                   "'action.dropped'"),
                     (long long)strlen(s) - 1);
    free(s);
    cr_buf_free(&big);
    cr_actionlog_free(l);
}

static void test_actionlog_passes_over_malformed_lines(void **state)
{
    fixture *f = *state;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", NULL);
    feed_line(l, 1, "s1", "id");
    /* A NUL escape, which the JSON reader refuses. */
    feed_line(l, 2, "s1", "a\\u0000b");
    /* A raw newline in the cwd (tiny's helper sent these): two fragments,
     * the first of which still names its place. */
    feed(l, "{\"seq\":3,\"spool\":\"s1\",\"cwd\":\"/tmp/a\nb\",\"command\":\"pwd\"}\n");
    /* A field of the wrong type. */
    feed(l, "{\"seq\":4,\"spool\":\"s1\",\"user\":{\"x\":1},\"command\":\"id\"}\n");
    feed_line(l, 5, "s1", "after");
    assert_int_equal(cr_actionlog_ack(l), 5);
    assert_int_equal(commands(f->st), 2);
    char *after = command_of(f->st, 5);
    assert_string_equal(after, "after");
    free(after);
    cr_actionlog_flush(l, 2000, true);
    assert_int_equal(dropped(f->st, "malformed"), 4); /* NUL, both fragments, the object */
    assert_int_equal(dropped(f->st, "missing"), -1);
    cr_actionlog_free(l);
}

static void test_actionlog_repairs_bytes_that_are_not_utf8(void **state)
{
    fixture *f = *state;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", NULL);
    feed_line(l, 1, "s1", "echo \xff\xfe \xe6\x97\xa5\xe6\x9c\xac \xe6\x97");
    assert_int_equal(cr_actionlog_ack(l), 1);
    char *cmd = command_of(f->st, 1);
    assert_string_equal(cmd, "echo \xef\xbf\xbd\xef\xbf\xbd \xe6\x97\xa5\xe6\x9c\xac \xef\xbf\xbd\xef\xbf\xbd");
    free(cmd);
    cr_actionlog_free(l);
}

static void test_actionlog_counts_skipped_lines_and_ignores_a_first_fragment(void **state)
{
    fixture *f = *state;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", NULL);
    /* The tail of a line cut when the last reader ended: not counted. */
    assert_false(feed(l, "mand\":\"id\"}\n"));
    feed_line(l, 1, "s1", "id");
    /* Garbage with no place, then a jump over 8 lines. */
    assert_false(feed(l, "garbage\n"));
    feed_line(l, 10, "s1", "ten");
    assert_int_equal(cr_actionlog_ack(l), 10);
    /* A seq beyond the ceiling is no action line. */
    assert_false(feed(l, "{\"seq\":99999999999999,\"spool\":\"s1\",\"command\":\"x\"}\n"));
    feed_line(l, 11, "s1", "eleven");
    assert_int_equal(commands(f->st), 3);
    cr_actionlog_flush(l, 2000, true);
    assert_int_equal(dropped(f->st, "missing"), 8);
    assert_int_equal(dropped(f->st, "malformed"), 2);
    cr_actionlog_free(l);
}

static void test_actionlog_rate_and_budget_drop_but_acknowledge(void **state)
{
    fixture *f = *state;
    cr_actionlog_limits lim = CR_ACTIONLOG_DEFAULTS;
    lim.burst = 5;
    lim.rate = 1;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", &lim);
    for (int i = 1; i <= 20; i++)
        feed_line(l, i, "s1", "flood");
    assert_int_equal(commands(f->st), 5);
    assert_int_equal(cr_actionlog_ack(l), 20);
    /* Two seconds later, two more lines are taken. */
    char *s = NULL;
    for (int i = 21; i <= 24; i++) {
        s = line(i, "s1", "later");
        cr_actionlog_feed(l, s, strlen(s), 3000);
        free(s);
    }
    assert_int_equal(commands(f->st), 7);
    cr_actionlog_flush(l, 3000, false);
    assert_int_equal(dropped(f->st, "rate"), 17);
    /* At most one event a flush interval. */
    for (int i = 25; i <= 30; i++)
        feed_line(l, i, "s1", "flood");
    cr_actionlog_flush(l, 4000, false);
    assert_int_equal(scalar(f->st, "SELECT count(*) FROM events WHERE kind = 'action.dropped'"), 1);
    cr_actionlog_free(l);

    /* The budget holds across restarts: it is read from the database. */
    long long stored = scalar(f->st, "SELECT sum(length(data)) FROM events WHERE kind = 'action.command'");
    lim = CR_ACTIONLOG_DEFAULTS;
    lim.budget = stored + 10;
    l = cr_actionlog_new(f->st, 1, "ws", &lim);
    feed_line(l, 31, "s1", "over budget");
    assert_int_equal(cr_actionlog_ack(l), 31);
    assert_int_equal(commands(f->st), 7);
    cr_actionlog_flush(l, 5000, true);
    assert_int_equal(dropped(f->st, "budget"), 1);
    /* Another VM has its own budget. */
    cr_actionlog *other = cr_actionlog_new(f->st, 1, "srv", &lim);
    feed_line(other, 1, "s9", "fine");
    assert_int_equal(commands(f->st), 8);
    cr_actionlog_free(other);
    cr_actionlog_free(l);
}

static void test_actionlog_spool_lookup_uses_the_index(void **state)
{
    fixture *f = *state;
    cr_actionlog *l = cr_actionlog_new(f->st, 1, "ws", NULL);
    /* A guest that switches spool on every line: each switch reads the
     * spool's last seq. */
    feed_line(l, 1, "a", "one");
    feed_line(l, 1, "b", "two");
    feed_line(l, 2, "a", "three");
    feed_line(l, 1, "a", "resend");
    assert_int_equal(commands(f->st), 3);
    assert_int_equal(cr_actionlog_ack(l), 2);
    cr_actionlog_free(l);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(cr_state_db(f->st),
                                        "EXPLAIN QUERY PLAN SELECT max(json_extract(data, '$.seq')) FROM events "
                                        "WHERE kind IN ('action.command', 'action.status') AND team = 1 AND vm = "
                                        "'ws' AND json_extract(data, '$.spool') = 'a'",
                                        -1, &q, NULL),
                     SQLITE_OK);
    cr_buf plan = {0};
    while (sqlite3_step(q) == SQLITE_ROW)
        cr_buf_addf(&plan, "%s\n", (const char *)sqlite3_column_text(q, 3));
    sqlite3_finalize(q);
    if (!strstr(plan.data, "events_action_spool"))
        fail_msg("the spool lookup does not use its index:\n%s", plan.data);
    cr_buf_free(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_actionlog_stores_in_order_once_across_partial_reads_and_restarts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_actionlog_passes_over_an_oversized_line_and_counts_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actionlog_passes_over_malformed_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actionlog_repairs_bytes_that_are_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actionlog_counts_skipped_lines_and_ignores_a_first_fragment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_actionlog_rate_and_budget_drop_but_acknowledge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actionlog_spool_lookup_uses_the_index, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
