/*
 * test_state.c: the range database of state.h on real SQLite files in a
 * temporary state folder: creation and schema version, refusal of a newer
 * schema, the range row (with its secret, refused when of the wrong
 * length), the plan snapshot of the demo
 * scenario, the event log, the per-range lock, listing and archiving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "events.h"
#include "plan.h"
#include "scenario.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int setup_dir(void **state)
{
    *state = tu_tmpdir();
    return 0;
}

static int teardown_dir(void **state)
{
    tu_rmtree(*state);
    free(*state);
    return 0;
}

static int user_version(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int v = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* One integer from a query with no parameters. */
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

static cr_state *open_range(const char *dir, const char *range)
{
    cr_state *st = NULL;
    cr_error_clear();
    if (cr_state_open(&st, dir, range, true) < 0)
        fail_msg("open: %s", cr_error_message());
    return st;
}

static void fill_row(cr_range_row *r, const char *name)
{
    memset(r, 0, sizeof *r);
    r->name = (char *)name;
    r->scenario_id = (char *)"demo";
    r->scenario_dir = (char *)"/srv/scenarios/demo";
    r->scenario_digest = (char *)"00ff";
    r->title_ja = (char *)"デモ";
    r->title_en = (char *)"Demo";
    r->teams = 3;
    for (int i = 0; i < CR_SECRET_LEN; i++)
        r->secret[i] = (unsigned char)(i == 5 ? 0 : 0xff - i); /* with a NUL byte inside */
    r->hosts = (char *)"[\"test:///default\"]";
    r->accel = (char *)"tcg";
    r->status = (char *)"creating";
    r->created_ms = 1700000000000;
}

static void test_state_create_sets_the_schema_version(void **state)
{
    const char *dir = *state;
    cr_state *st = open_range(dir, "alpha");
    assert_int_equal(user_version(cr_state_db(st)), CR_STATE_SCHEMA_VERSION);
    /* WAL, as state.h promises. */
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(cr_state_db(st), "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    cr_state_close(st);

    char *path = cr_range_db_path(dir, "alpha");
    char *want = cr_xasprintf("%s/ranges/alpha/range.db", dir);
    assert_string_equal(path, want);
    assert_true(cr_path_exists(path));
    char *rdir = cr_range_dir(dir, "alpha");
    char *wantdir = cr_xasprintf("%s/ranges/alpha", dir);
    assert_string_equal(rdir, wantdir);

    /* Opening again neither fails nor migrates twice. */
    cr_state *again = NULL;
    assert_int_equal(cr_state_open(&again, dir, "alpha", false), 0);
    assert_int_equal(user_version(cr_state_db(again)), CR_STATE_SCHEMA_VERSION);
    cr_state_close(again);
    cr_state_close(NULL);

    free(path);
    free(want);
    free(rdir);
    free(wantdir);
}

static void test_state_open_of_a_missing_range_is_notfound(void **state)
{
    const char *dir = *state;
    cr_state *st = (cr_state *)&st; /* any non-NULL value: a failed open resets it */
    cr_error_clear();
    assert_int_equal(cr_state_open(&st, dir, "ghost", false), CR_ENOTFOUND);
    assert_null(st);
    assert_non_null(strstr(cr_error_message(), "no range 'ghost'"));
    cr_error_clear();
    /* And nothing was created on the way. */
    char *rdir = cr_range_dir(dir, "ghost");
    assert_false(cr_path_exists(rdir));
    free(rdir);

    char *file = cr_path_join(dir, "nope.db");
    assert_int_equal(cr_state_open_file(&st, file, false), CR_ENOTFOUND);
    assert_null(st);
    assert_false(cr_path_exists(file));
    cr_error_clear();
    free(file);
}

static void test_state_newer_schema_is_refused_with_a_clear_message(void **state)
{
    const char *dir = *state;
    char *path = cr_path_join(dir, "future.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", CR_STATE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close_v2(db), SQLITE_OK);

    cr_state *st = NULL;
    cr_error_clear();
    assert_int_equal(cr_state_open_file(&st, path, false), CR_EINVAL);
    assert_null(st);
    char *want = cr_xasprintf("schema version %d, newer than this crange knows (%d); upgrade crange",
                              CR_STATE_SCHEMA_VERSION + 1, CR_STATE_SCHEMA_VERSION);
    if (!strstr(cr_error_message(), want))
        fail_msg("message: %s", cr_error_message());
    free(want);
    cr_error_clear();

    /* The refused file is left as it was: no tables added, version kept. */
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(user_version(db), CR_STATE_SCHEMA_VERSION + 1);
    assert_int_equal(scalar(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 0);
    sqlite3_close_v2(db);
    free(path);
}

static void test_state_range_row_round_trips_with_its_secret(void **state)
{
    const char *dir = *state;
    cr_state *st = open_range(dir, "beta");
    cr_range_row out;
    cr_error_clear();
    assert_int_equal(cr_state_get_range(st, &out), CR_ENOTFOUND);
    cr_error_clear();

    cr_range_row in;
    fill_row(&in, "beta");
    assert_int_equal(cr_state_put_range(st, &in), 0);
    assert_int_equal(cr_state_get_range(st, &out), 0);
    assert_string_equal(out.name, "beta");
    assert_string_equal(out.scenario_id, "demo");
    assert_string_equal(out.scenario_dir, "/srv/scenarios/demo");
    assert_string_equal(out.scenario_digest, "00ff");
    assert_string_equal(out.title_ja, "デモ");
    assert_string_equal(out.title_en, "Demo");
    assert_int_equal(out.teams, 3);
    assert_memory_equal(out.secret, in.secret, CR_SECRET_LEN);
    assert_string_equal(out.hosts, "[\"test:///default\"]");
    assert_string_equal(out.accel, "tcg");
    assert_string_equal(out.status, "creating");
    assert_int_equal(out.created_ms, 1700000000000);
    assert_true(out.updated_ms > 1700000000000);
    cr_range_row_free(&out);
    assert_null(out.name);

    /* Putting again updates in place, and the creation time stays. */
    in.teams = 5;
    in.status = (char *)"up";
    in.title_ja = NULL;
    in.created_ms = 42;
    in.secret[0] = 0x01;
    assert_int_equal(cr_state_put_range(st, &in), 0);
    assert_int_equal(cr_state_get_range(st, &out), 0);
    assert_int_equal(out.teams, 5);
    assert_string_equal(out.status, "up");
    assert_null(out.title_ja);
    assert_int_equal(out.created_ms, 1700000000000);
    assert_memory_equal(out.secret, in.secret, CR_SECRET_LEN);
    assert_int_equal(scalar(cr_state_db(st), "SELECT count(*) FROM range"), 1);
    cr_range_row_free(&out);

    assert_int_equal(cr_state_set_status(st, "failed"), 0);
    assert_int_equal(cr_state_get_range(st, &out), 0);
    assert_string_equal(out.status, "failed");
    cr_range_row_free(&out);
    cr_range_row_free(NULL);

    /* It survives closing: it is on disk. */
    cr_state_close(st);
    st = NULL;
    assert_int_equal(cr_state_open(&st, dir, "beta", false), 0);
    assert_int_equal(cr_state_get_range(st, &out), 0);
    assert_memory_equal(out.secret, in.secret, CR_SECRET_LEN);
    cr_range_row_free(&out);
    cr_state_close(st);
}

/* Before: a secret of any other length left the row's secret all zeros,
 * and every team's values derived from that zero key. */
static void test_state_secret_of_the_wrong_length_is_refused(void **state)
{
    const char *dir = *state;
    cr_state *st = open_range(dir, "short");
    cr_range_row in, out;
    fill_row(&in, "short");
    assert_int_equal(cr_state_put_range(st, &in), 0);
    char *db = cr_range_db_path(dir, "short");
    const char *lengths[] = {"zeroblob(16)", "zeroblob(0)", "randomblob(33)", "'a text secret'"};
    const int bytes[] = {16, 0, 33, 13};
    for (size_t i = 0; i < sizeof lengths / sizeof *lengths; i++) {
        char *sql = cr_xasprintf("UPDATE range SET secret = %s", lengths[i]);
        assert_int_equal(sqlite3_exec(cr_state_db(st), sql, NULL, NULL, NULL), SQLITE_OK);
        free(sql);
        cr_error_clear();
        assert_int_equal(cr_state_get_range(st, &out), CR_EINVAL);
        char *want = cr_xasprintf("%s: the range secret is %d bytes, not 32; refusing a damaged range database", db,
                                  bytes[i]);
        assert_string_equal(cr_error_message(), want);
        assert_null(strchr(cr_error_message(), '\n'));
        free(want);
        assert_null(out.name); /* nothing half-filled to free */
    }
    cr_error_clear();
    free(db);
    cr_state_close(st);
}

static void test_state_rollback_discards_a_write(void **state)
{
    const char *dir = *state;
    cr_state *st = open_range(dir, "tx");
    cr_range_row in;
    fill_row(&in, "tx");
    assert_int_equal(cr_state_begin(st), 0);
    assert_int_equal(cr_state_put_range(st, &in), 0);
    cr_state_rollback(st);
    cr_range_row out;
    assert_int_equal(cr_state_get_range(st, &out), CR_ENOTFOUND);
    cr_error_clear();
    assert_int_equal(cr_state_begin(st), 0);
    assert_int_equal(cr_state_put_range(st, &in), 0);
    assert_int_equal(cr_state_commit(st), 0);
    assert_int_equal(cr_state_get_range(st, &out), 0);
    cr_range_row_free(&out);
    cr_state_close(st);
}

static void test_state_save_plan_stores_the_scenario_files_and_plan_rows(void **state)
{
    const char *dir = *state;
    char *demo = tu_source("scenarios/demo");
    cr_load_opts o = {.teams = 2};
    cr_scenario *s = NULL;
    if (cr_scenario_load(&s, demo, &o) < 0)
        fail_msg("load: %s", cr_error_message());
    const char *hosts[] = {"test:///default"};
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "gamma", hosts, 1, NULL), 0);

    cr_state *st = open_range(dir, "gamma");
    sqlite3 *db = cr_state_db(st);
    assert_int_equal(cr_state_begin(st), 0);
    assert_int_equal(cr_state_save_plan(st, p), 0);
    assert_int_equal(cr_state_commit(st), 0);

    /* The snapshot holds every file of the folder, byte for byte. */
    const char *files[] = {"scenario.lua", "README.md", "files/index.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *full = cr_path_join(demo, files[i]);
        char *disk = NULL;
        size_t len = 0;
        assert_int_equal(cr_read_file(&disk, &len, full), 0);
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT content FROM scenario_files WHERE path = ?", -1, &q, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(q, 1, files[i], -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_ROW)
            fail_msg("%s is not in the snapshot", files[i]);
        assert_int_equal(sqlite3_column_bytes(q, 0), (int)len);
        assert_memory_equal(sqlite3_column_blob(q, 0), disk, len);
        sqlite3_finalize(q);
        free(disk);
        free(full);
    }
    long long n_files = scalar(db, "SELECT count(*) FROM scenario_files");
    assert_true(n_files >= 3);

    assert_int_equal(scalar(db, "SELECT count(*) FROM networks"), 4);
    assert_int_equal(scalar(db, "SELECT count(*) FROM vms"), 6);
    assert_int_equal(scalar(db, "SELECT count(*) FROM vars"), 4);
    assert_int_equal(scalar(db, "SELECT count(*) FROM vars WHERE secret = 1"), 2); /* token, per team */
    assert_int_equal(scalar(db, "SELECT secret FROM vars WHERE team = 2 AND name = 'token'"), 1);

    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT libvirt_name, bridge, cidr, host FROM networks"
                                            " WHERE team = 2 AND name = 'inside'",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "crange.gamma.t2.inside");
    const cr_plan_vm *victim2 = cr_plan_find_vm(p, 2, "victim");
    assert_string_equal((const char *)sqlite3_column_text(q, 1), victim2->nics[0].pnet->bridge);
    assert_string_equal((const char *)sqlite3_column_text(q, 2), "10.20.0.0/24");
    assert_string_equal((const char *)sqlite3_column_text(q, 3), "test:///default");
    sqlite3_finalize(q);

    assert_int_equal(sqlite3_prepare_v2(db, "SELECT domain, image, entry, nics FROM vms"
                                            " WHERE team = 1 AND name = 'attacker'",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "crange.gamma.t1.attacker");
    assert_string_equal((const char *)sqlite3_column_text(q, 1), "tiny");
    assert_int_equal(sqlite3_column_int(q, 2), 1);
    json_error_t jerr;
    json_t *nics = json_loads((const char *)sqlite3_column_text(q, 3), 0, &jerr);
    assert_non_null(nics);
    assert_int_equal(json_array_size(nics), 1);
    json_t *nic = json_array_get(nics, 0);
    assert_string_equal(json_string_value(json_object_get(nic, "network")), "outside");
    assert_string_equal(json_string_value(json_object_get(nic, "address")), "10.10.0.10");
    assert_string_equal(json_string_value(json_object_get(nic, "mac")),
                        cr_plan_find_vm(p, 1, "attacker")->nics[0].mac);
    json_decref(nics);
    sqlite3_finalize(q);

    assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM vars WHERE team = 1 AND name = 'token'", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), cr_team_var(&s->teams[0], "token")->value);
    sqlite3_finalize(q);

    /* Saving again replaces, it does not add. */
    assert_int_equal(cr_state_save_plan(st, p), 0);
    assert_int_equal(scalar(db, "SELECT count(*) FROM scenario_files"), n_files);
    assert_int_equal(scalar(db, "SELECT count(*) FROM networks"), 4);
    assert_int_equal(scalar(db, "SELECT count(*) FROM vms"), 6);
    assert_int_equal(scalar(db, "SELECT count(*) FROM vars"), 4);

    cr_state_close(st);
    cr_plan_free(p);
    cr_scenario_free(s);
    free(demo);
}

static void test_state_events_append_with_increasing_ids(void **state)
{
    const char *dir = *state;
    cr_state *st = open_range(dir, "delta");
    sqlite3 *db = cr_state_db(st);
    json_t *data = json_pack("{s:s, s:i}", "what", "flag", "points", 10);
    assert_int_equal(cr_event_add(st, 0, 0, NULL, "range.up", NULL, NULL, NULL), 0);
    assert_int_equal(cr_event_add(st, 0, 1, "attacker", "flag.submitted", data, NULL, NULL), 0);
    assert_int_equal(cr_event_add(st, 0, 2, "victim", "vm.started", data, NULL, NULL), 0);
    /* data is borrowed: still ours to release, exactly once. */
    assert_int_equal(data->refcount, 1);
    json_decref(data);

    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, team, vm, kind, data, time_ms FROM events ORDER BY rowid",
                                        -1, &q, NULL),
                     SQLITE_OK);
    long long last_id = 0, last_time = 0;
    const char *kinds[] = {"range.up", "flag.submitted", "vm.started"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        long long id = sqlite3_column_int64(q, 0);
        assert_true(id > last_id);
        last_id = id;
        assert_int_equal(sqlite3_column_int(q, 1), i);
        assert_string_equal((const char *)sqlite3_column_text(q, 3), kinds[i]);
        long long t = sqlite3_column_int64(q, 5);
        assert_true(t >= last_time);
        last_time = t;
        if (i == 0) {
            assert_int_equal(sqlite3_column_type(q, 2), SQLITE_NULL);
            assert_int_equal(sqlite3_column_type(q, 4), SQLITE_NULL);
        } else {
            json_t *j = json_loads((const char *)sqlite3_column_text(q, 4), 0, NULL);
            assert_non_null(j);
            assert_int_equal(json_integer_value(json_object_get(j, "points")), 10);
            json_decref(j);
        }
    }
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);

    /* The log is append-only across opens: a new event gets a larger id
     * even after the last one is deleted (AUTOINCREMENT). */
    assert_int_equal(sqlite3_exec(db, "DELETE FROM events WHERE id = (SELECT max(id) FROM events)", NULL, NULL, NULL),
                     SQLITE_OK);
    cr_state_close(st);
    st = open_range(dir, "delta");
    assert_int_equal(cr_event_add(st, 0, 0, NULL, "range.down", NULL, NULL, NULL), 0);
    assert_true(scalar(cr_state_db(st), "SELECT max(id) FROM events") > last_id);
    cr_state_close(st);
}

static void test_state_lock_twice_in_one_process_is_busy_until_unlocked(void **state)
{
    const char *dir = *state;
    int fd1 = -1, fd2 = 123, fd3 = -1;
    cr_error_clear();
    assert_int_equal(cr_range_lock(&fd1, dir, "epsilon"), 0);
    assert_true(fd1 >= 0);
    /* flock belongs to the open file description, so a second open in the
     * same process is refused like another process would be. */
    assert_int_equal(cr_range_lock(&fd2, dir, "epsilon"), CR_EBUSY);
    assert_int_equal(fd2, -1);
    assert_non_null(strstr(cr_error_message(), "range 'epsilon' is busy"));
    cr_error_clear();

    /* Another range is independent. */
    int other = -1;
    assert_int_equal(cr_range_lock(&other, dir, "zeta"), 0);
    cr_range_unlock(other);

    cr_range_unlock(fd1);
    assert_int_equal(cr_range_lock(&fd3, dir, "epsilon"), 0);
    assert_true(fd3 >= 0);
    cr_range_unlock(fd3);
    cr_range_unlock(-1); /* harmless */
}

static void test_state_list_ranges_names_those_with_a_database_sorted(void **state)
{
    const char *dir = *state;
    char **names = NULL;
    size_t n = 99;
    /* No ranges folder yet. */
    assert_int_equal(cr_state_list_ranges(&names, &n, dir), 0);
    assert_int_equal(n, 0);
    free(names);

    const char *ranges[] = {"charlie", "alpha", "bravo"};
    for (int i = 0; i < 3; i++)
        cr_state_close(open_range(dir, ranges[i]));
    /* A folder without a database (a lock only) is not a range. */
    int fd;
    assert_int_equal(cr_range_lock(&fd, dir, "lockonly"), 0);
    cr_range_unlock(fd);
    tu_write(dir, "ranges/.hidden/range.db", "");

    assert_int_equal(cr_state_list_ranges(&names, &n, dir), 0);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "alpha");
    assert_string_equal(names[1], "bravo");
    assert_string_equal(names[2], "charlie");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void test_state_archive_moves_the_database_and_removes_the_folder(void **state)
{
    const char *dir = *state;
    cr_state *st = open_range(dir, "omega");
    cr_range_row in;
    fill_row(&in, "omega");
    assert_int_equal(cr_state_put_range(st, &in), 0);
    assert_int_equal(cr_event_add(st, 0, 0, NULL, "range.up", NULL, NULL, NULL), 0);
    cr_state_close(st);
    int fd;
    assert_int_equal(cr_range_lock(&fd, dir, "omega"), 0);
    cr_range_unlock(fd);

    char *archived = NULL;
    cr_error_clear();
    if (cr_state_archive(dir, "omega", &archived) < 0)
        fail_msg("archive: %s", cr_error_message());
    assert_non_null(archived);
    /* <state>/archive/omega-YYYY-MM-DDTHH-MM-SSZ.db */
    char *prefix = cr_xasprintf("%s/archive/omega-", dir);
    assert_int_equal(strncmp(archived, prefix, strlen(prefix)), 0);
    const char *stamp = archived + strlen(prefix);
    assert_int_equal(strlen(stamp), strlen("2024-01-02T03-04-05Z.db"));
    assert_null(strchr(stamp, ':'));
    assert_string_equal(stamp + strlen(stamp) - 4, "Z.db");
    free(prefix);

    char *rdir = cr_range_dir(dir, "omega");
    assert_false(cr_path_exists(rdir));
    free(rdir);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(cr_state_list_ranges(&names, &n, dir), 0);
    assert_int_equal(n, 0);
    free(names);

    /* The archive is a whole record on its own (the WAL was folded in). */
    char *wal = cr_xasprintf("%s-wal", archived);
    assert_false(cr_path_exists(wal));
    free(wal);
    st = NULL;
    assert_int_equal(cr_state_open_file(&st, archived, false), 0);
    cr_range_row out;
    assert_int_equal(cr_state_get_range(st, &out), 0);
    assert_string_equal(out.name, "omega");
    assert_memory_equal(out.secret, in.secret, CR_SECRET_LEN);
    cr_range_row_free(&out);
    assert_int_equal(scalar(cr_state_db(st), "SELECT count(*) FROM events"), 1);
    cr_state_close(st);
    free(archived);

    /* Archiving a range without a database removes its folder and
     * reports no archive. */
    assert_int_equal(cr_range_lock(&fd, dir, "nodb"), 0);
    cr_range_unlock(fd);
    archived = (char *)"untouched";
    assert_int_equal(cr_state_archive(dir, "nodb", &archived), 0);
    assert_null(archived);
    rdir = cr_range_dir(dir, "nodb");
    assert_false(cr_path_exists(rdir));
    free(rdir);
    assert_int_equal(cr_state_archive(dir, "never-existed", NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_state_create_sets_the_schema_version, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_open_of_a_missing_range_is_notfound, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_newer_schema_is_refused_with_a_clear_message, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_range_row_round_trips_with_its_secret, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_secret_of_the_wrong_length_is_refused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_rollback_discards_a_write, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_save_plan_stores_the_scenario_files_and_plan_rows, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_events_append_with_increasing_ids, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_lock_twice_in_one_process_is_busy_until_unlocked, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_list_ranges_names_those_with_a_database_sorted, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_state_archive_moves_the_database_and_removes_the_folder, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
