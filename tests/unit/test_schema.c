/*
 * test_schema.c: schema migrations of the range database (state.c). A
 * genuine version 1 file, built here with the version 1 statements as they
 * were released, is migrated in place by cr_state_open to the current
 * version without losing a row; a version 4 file's content gains empty
 * tags; a file newer than this crange is refused and left as it was.
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

/* Schema version 1, verbatim from the first release of state.c. */
static const char v1_sql[] =
    "CREATE TABLE range ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  name TEXT NOT NULL,"
    "  scenario_id TEXT NOT NULL,"
    "  scenario_dir TEXT NOT NULL,"
    "  scenario_digest TEXT NOT NULL,"
    "  title_ja TEXT, title_en TEXT,"
    "  teams INTEGER NOT NULL,"
    "  secret BLOB NOT NULL,"
    "  hosts TEXT NOT NULL,"
    "  accel TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE scenario_files (path TEXT PRIMARY KEY, content BLOB NOT NULL);"
    "CREATE TABLE networks ("
    "  team INTEGER NOT NULL, name TEXT NOT NULL, libvirt_name TEXT NOT NULL,"
    "  bridge TEXT NOT NULL, cidr TEXT NOT NULL, host TEXT NOT NULL,"
    "  PRIMARY KEY (team, name));"
    "CREATE TABLE vms ("
    "  team INTEGER NOT NULL, name TEXT NOT NULL, domain TEXT NOT NULL, host TEXT NOT NULL,"
    "  image TEXT NOT NULL, entry INTEGER NOT NULL, nics TEXT NOT NULL,"
    "  PRIMARY KEY (team, name));"
    "CREATE TABLE vars ("
    "  team INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, secret INTEGER NOT NULL,"
    "  PRIMARY KEY (team, name));"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time_ms INTEGER NOT NULL,"
    "  team INTEGER NOT NULL,"
    "  vm TEXT,"
    "  kind TEXT NOT NULL,"
    "  data TEXT);"
    "CREATE INDEX events_team_time ON events (team, time_ms);";

/* Rows a version 1 crange would have written. */
static const char v1_rows[] =
    "INSERT INTO range VALUES (1, 'old', 'demo', '/srv/demo', 'abcd', 'デモ', 'Demo', 2,"
    "  x'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', '[\"test:///default\"]', 'tcg',"
    "  'up', 1700000000000, 1700000000000);"
    "INSERT INTO scenario_files VALUES ('scenario.lua', x'2d2d');"
    "INSERT INTO vars VALUES (1, 'flag', 'FLAG{x}', 1);"
    "INSERT INTO events (time_ms, team, vm, kind, data) VALUES"
    "  (1700000001000, 0, NULL, 'range.up.start', NULL),"
    "  (1700000002000, 0, NULL, 'range.up.done', '{\"seconds\":12}'),"
    "  (1700000003000, 1, 'web', 'console.attach', '{}');";

typedef struct fixture {
    char *dir;
    char *path; /* <dir>/ranges/old/range.db */
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->path = cr_range_db_path(f->dir, "old");
    char *rdir = cr_range_dir(f->dir, "old");
    assert_int_equal(cr_mkdir_p(rdir, 0755), 0);
    free(rdir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->path);
    free(f);
    return 0;
}

static void exec_or_fail(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s", msg);
}

/* Writes a database file at path as a version-`version` crange left it. */
static void make_db(const char *path, int version, bool rows)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    exec_or_fail(db, "PRAGMA journal_mode = WAL");
    exec_or_fail(db, v1_sql);
    if (rows)
        exec_or_fail(db, v1_rows);
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", version);
    exec_or_fail(db, pragma);
    sqlite3_close_v2(db);
}

static long long scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long long v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void test_schema_v1_database_migrates_in_place_keeping_its_rows(void **state)
{
    fixture *f = *state;
    make_db(f->path, 1, true);

    cr_state *st = NULL;
    cr_error_clear();
    if (cr_state_open(&st, f->dir, "old", false) < 0)
        fail_msg("open: %s", cr_error_message());
    sqlite3 *db = cr_state_db(st);
    assert_int_equal(scalar(db, "PRAGMA user_version"), CR_STATE_SCHEMA_VERSION);
    assert_int_equal(CR_STATE_SCHEMA_VERSION, 5);

    /* Every row is still there. */
    cr_range_row r;
    assert_int_equal(cr_state_get_range(st, &r), 0);
    assert_string_equal(r.name, "old");
    assert_null(r.provenance); /* v3's new column, empty for an old range */
    assert_string_equal(r.title_ja, "デモ");
    assert_int_equal(r.teams, 2);
    assert_int_equal(r.secret[1], 0x11);
    cr_range_row_free(&r);
    assert_int_equal(scalar(db, "SELECT count(*) FROM scenario_files"), 1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM vars"), 1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM events"), 3);
    assert_int_equal(scalar(db, "SELECT count(*) FROM events WHERE dedupe IS NULL"), 3);
    json_t *ev = NULL;
    assert_int_equal(cr_events_query(&ev, st, 0, 0, "range.up."), 0);
    assert_int_equal(json_array_size(ev), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(ev, 1), "data"), "seconds")),
                     12);
    json_decref(ev);

    /* The new schema is in place: indexes, content table. */
    assert_int_equal(scalar(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                " AND name IN ('events_dedupe', 'events_kind_team', 'events_action_spool')"),
                     3);
    assert_int_equal(scalar(db, "SELECT count(*) FROM content"), 0);
    /* v5's tag columns, empty lists unless a scenario says otherwise. */
    assert_int_equal(scalar(db, "SELECT count(*) FROM pragma_table_info('content')"
                                " WHERE name IN ('attack', 'skills') AND dflt_value = '''[]'''"),
                     2);
    /* The dedupe key works on the migrated file, next to the old NULL keys. */
    bool inserted = false;
    assert_int_equal(cr_event_add(st, 0, 1, "web", "console.detach", NULL, "k1", &inserted), 0);
    assert_true(inserted);
    assert_int_equal(cr_event_add(st, 0, 1, "web", "console.detach", NULL, "k1", &inserted), 0);
    assert_false(inserted);
    assert_int_equal(scalar(db, "SELECT max(id) FROM events"), 4); /* ids continue */
    cr_state_close(st);

    /* Opening again does not migrate twice. */
    assert_int_equal(cr_state_open(&st, f->dir, "old", false), 0);
    assert_int_equal(scalar(cr_state_db(st), "PRAGMA user_version"), CR_STATE_SCHEMA_VERSION);
    assert_int_equal(scalar(cr_state_db(st), "SELECT count(*) FROM events"), 4);
    cr_state_close(st);
}

static void test_schema_empty_v1_database_migrates(void **state)
{
    fixture *f = *state;
    make_db(f->path, 1, false);
    cr_state *st = NULL;
    cr_error_clear();
    if (cr_state_open_file(&st, f->path, false) < 0)
        fail_msg("open: %s", cr_error_message());
    assert_int_equal(scalar(cr_state_db(st), "PRAGMA user_version"), CR_STATE_SCHEMA_VERSION);
    assert_int_equal(scalar(cr_state_db(st), "SELECT count(*) FROM events"), 0);
    cr_state_close(st);
}

/* A version 4 file with content rows (as `up` of a version 4 crange saved
 * them) gains the tag columns with empty lists; its rows stay. The v4
 * layout is made from the current one by dropping the columns v5 added. */
static void test_schema_v4_content_gains_empty_tags(void **state)
{
    fixture *f = *state;
    make_db(f->path, 1, true);
    cr_state *st = NULL;
    assert_int_equal(cr_state_open(&st, f->dir, "old", false), 0);
    sqlite3 *db = cr_state_db(st);
    exec_or_fail(db, "INSERT INTO content (id, seq, kind, title_ja, title_en, points, mode, prereqs, hints)"
                     " VALUES ('fw', 0, 'objective', 'ファイアウォール', 'Firewall', 10, 'hold', '[]', '[]');"
                     "ALTER TABLE content DROP COLUMN attack; ALTER TABLE content DROP COLUMN skills;"
                     "PRAGMA user_version = 4");
    cr_state_close(st);

    assert_int_equal(cr_state_open(&st, f->dir, "old", false), 0);
    db = cr_state_db(st);
    assert_int_equal(scalar(db, "PRAGMA user_version"), CR_STATE_SCHEMA_VERSION);
    assert_int_equal(scalar(db, "SELECT count(*) FROM content WHERE id = 'fw' AND points = 10"
                                " AND attack = '[]' AND skills = '[]'"),
                     1);
    cr_state_close(st);
}

static void test_schema_newer_than_known_is_refused_and_left_alone(void **state)
{
    fixture *f = *state;
    make_db(f->path, CR_STATE_SCHEMA_VERSION + 1, true);
    cr_state *st = NULL;
    cr_error_clear();
    assert_int_equal(cr_state_open(&st, f->dir, "old", false), CR_EINVAL);
    assert_null(st);
    assert_non_null(strstr(cr_error_message(), "newer than this crange knows"));
    cr_error_clear();

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(scalar(db, "PRAGMA user_version"), CR_STATE_SCHEMA_VERSION + 1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM events"), 3);
    assert_int_equal(scalar(db, "SELECT count(*) FROM sqlite_master WHERE name = 'content'"), 0);
    sqlite3_close_v2(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_v1_database_migrates_in_place_keeping_its_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_empty_v1_database_migrates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_v4_content_gains_empty_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_newer_than_known_is_refused_and_left_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
