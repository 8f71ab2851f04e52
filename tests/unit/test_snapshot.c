/*
 * test_snapshot.c: the scenario snapshot in the range database, read back.
 * cr_state_snapshot_restore gives back every stored file in a private folder
 * and refuses stored paths that could leave it, leaving nothing behind; the
 * snapshot takes the folder's files under cr_scenario_files_list's rules;
 * cr_scenario_load with only_team evaluates one team, with the same digest
 * and the same answers as a full load; cr_state_scenario_load works from the
 * snapshot once the scenario folder is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "plan.h"
#include "scenario.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
    char *dir;     /* the test's folder */
    char *parent;  /* where snapshots are restored */
    cr_state *st;  /* range "r" under dir/state */
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->parent = cr_path_join(f->dir, "restore");
    char *sd = cr_path_join(f->dir, "state");
    assert_int_equal(cr_mkdir_p(f->parent, 0700), 0);
    if (cr_state_open(&f->st, sd, "r", true) < 0)
        fail_msg("open: %s", cr_error_message());
    free(sd);
    cr_error_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_state_close(f->st);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->parent);
    free(f);
    return 0;
}

/* Stores PATH (LEN bytes, so that a NUL can be in it) with TEXT. */
static void store(fixture *f, const char *path, size_t len, const char *text)
{
    sqlite3 *db = cr_state_db(f->st);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO scenario_files (path, content) VALUES (?, ?)", -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, path, (int)len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 2, text, (int)strlen(text), SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        fail_msg("insert %s: %s", path, sqlite3_errmsg(db));
    sqlite3_finalize(q);
}

static void clear_snapshot(fixture *f)
{
    assert_int_equal(sqlite3_exec(cr_state_db(f->st), "DELETE FROM scenario_files", NULL, NULL, NULL), SQLITE_OK);
}

static size_t entries(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static bool exists_under(const char *dir, const char *rel)
{
    char *p = cr_path_join(dir, rel);
    struct stat st;
    bool there = lstat(p, &st) == 0;
    free(p);
    return there;
}

/* Copies the files of scenarios/demo into DEST. */
static void copy_demo(const char *dest)
{
    const char *files[] = {"scenario.lua", "README.md", "run.sh", "files/index.html"};
    char *demo = tu_source("scenarios/demo");
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *src = cr_path_join(demo, files[i]), *data = NULL;
        size_t len = 0;
        assert_int_equal(cr_read_file(&data, &len, src), 0);
        tu_write(dest, files[i], data);
        free(data);
        free(src);
    }
    free(demo);
}

static cr_scenario *load_ok(const char *path, const cr_load_opts *o)
{
    cr_scenario *s = NULL;
    cr_error_clear();
    if (cr_scenario_load(&s, path, o) < 0)
        fail_msg("load %s: %s", path, cr_error_message());
    return s;
}

/* Records the range and saves the plan (with the snapshot) of scenario S. */
static void bring_up(fixture *f, const cr_scenario *s, const unsigned char *secret)
{
    const char *hosts[] = {"test:///default"};
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 1, NULL), 0);
    char digest[65];
    cr_hex(digest, s->digest, sizeof s->digest);
    cr_range_row row = {
        .name = "r", .scenario_id = s->id, .scenario_dir = s->dir, .scenario_digest = digest,
        .teams = (int)s->n_teams, .hosts = "[]", .accel = "tcg", .status = "up",
    };
    memcpy(row.secret, secret, CR_SECRET_LEN);
    assert_int_equal(cr_state_begin(f->st), 0);
    assert_int_equal(cr_state_put_range(f->st, &row), 0);
    assert_int_equal(cr_state_save_plan(f->st, p), 0);
    assert_int_equal(cr_state_commit(f->st), 0);
    cr_plan_free(p);
}

static void test_snapshot_restore_gives_back_every_file_in_a_private_folder(void **state)
{
    fixture *f = *state;
    char *demo = tu_source("scenarios/demo");
    cr_load_opts o = {.teams = 2};
    cr_scenario *s = load_ok(demo, &o);
    unsigned char secret[CR_SECRET_LEN] = {1};
    bring_up(f, s, secret);

    char *dir = NULL;
    if (cr_state_snapshot_restore(&dir, f->st, f->parent) < 0)
        fail_msg("restore: %s", cr_error_message());
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(strncmp(dir, f->parent, strlen(f->parent)), 0);

    const char *files[] = {"scenario.lua", "README.md", "run.sh", "files/index.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char *a = cr_path_join(demo, files[i]), *b = cr_path_join(dir, files[i]);
        char *da = NULL, *db = NULL;
        size_t la = 0, lb = 0;
        assert_int_equal(cr_read_file(&da, &la, a), 0);
        if (cr_read_file(&db, &lb, b) < 0)
            fail_msg("%s was not restored: %s", files[i], cr_error_message());
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
        free(a);
        free(b);
    }
    /* The same files, so the same digest as the folder brought up. */
    unsigned char digest[32];
    assert_int_equal(cr_scenario_digest(digest, dir), 0);
    assert_memory_equal(digest, s->digest, sizeof digest);

    assert_int_equal(cr_rm_rf(dir), 0);
    free(dir);
    cr_scenario_free(s);
    free(demo);
}

static void test_snapshot_hostile_paths_are_refused_and_nothing_is_written(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *path;
        const char *why;
    } bad[] = {
        {"../x", "it has a '..' component"},
        {"/etc/passwd", "it is absolute"},
        {"a/../../b", "it has a '..' component"},
        {"z/../../../escape", "it has a '..' component"}, /* sorts after good files */
        {"files/..", "it has a '..' component"},
        {"a//b", "it has an empty component"},
        {"a/", "it ends with '/'"},
        {".hidden", "it has a component starting with '.'"},
        {"./scenario.lua", "it has a component starting with '.'"},
        {"", "it is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        clear_snapshot(f);
        store(f, "scenario.lua", 12, "-- harmless\n");
        store(f, "files/ok.txt", 12, "fine\n");
        store(f, bad[i].path, strlen(bad[i].path), "pwned\n");
        char *dir = (char *)"untouched";
        cr_error_clear();
        assert_int_equal(cr_state_snapshot_restore(&dir, f->st, f->parent), CR_EINVAL);
        assert_null(dir);
        char *want = cr_xasprintf("scenario snapshot: refusing the stored path '%s': %s", bad[i].path, bad[i].why);
        assert_string_equal(cr_error_message(), want);
        free(want);
        /* Nothing was left in the parent, and nothing landed beside it. */
        assert_int_equal(entries(f->parent), 0);
        assert_false(exists_under(f->dir, "x"));
        assert_false(exists_under(f->dir, "b"));
        assert_false(exists_under(f->dir, "escape"));
        assert_false(exists_under(f->parent, "escape"));
    }

    /* A NUL inside a stored path would cut it short: refused too. */
    clear_snapshot(f);
    store(f, "scenario.lua\0/../../x", 21, "x");
    char *dir = NULL;
    cr_error_clear();
    assert_int_equal(cr_state_snapshot_restore(&dir, f->st, f->parent), CR_EINVAL);
    assert_null(dir);
    assert_string_equal(cr_error_message(),
                        "scenario snapshot: refusing the stored path 'scenario.lua': it holds a NUL byte");
    assert_int_equal(entries(f->parent), 0);
}

static void test_snapshot_with_a_file_where_a_folder_goes_fails_and_cleans_up(void **state)
{
    fixture *f = *state;
    store(f, "a", 1, "x");
    store(f, "a/b", 3, "x");
    char *dir = NULL;
    cr_error_clear();
    assert_int_equal(cr_state_snapshot_restore(&dir, f->st, f->parent), CR_ERROR);
    assert_null(dir);
    assert_non_null(strstr(cr_error_message(), "scenario snapshot: open a/b: "));
    assert_int_equal(entries(f->parent), 0);
}

static void test_snapshot_that_is_empty_is_notfound(void **state)
{
    fixture *f = *state;
    char *dir = NULL;
    cr_error_clear();
    assert_int_equal(cr_state_snapshot_restore(&dir, f->st, f->parent), CR_ENOTFOUND);
    assert_null(dir);
    assert_string_equal(cr_error_message(), "state database holds no scenario snapshot");
    assert_int_equal(entries(f->parent), 0);
}

static void test_load_only_team_gives_that_team_with_the_full_digest_and_answers(void **state)
{
    (void)state;
    char *demo = tu_source("scenarios/demo");
    unsigned char secret[CR_SECRET_LEN] = {7, 7, 7};
    cr_load_opts all = {.teams = 3, .secret = secret};
    cr_load_opts one = {.teams = 3, .only_team = 2, .secret = secret};
    cr_scenario *full = load_ok(demo, &all);
    cr_scenario *s = load_ok(demo, &one);

    assert_memory_equal(s->digest, full->digest, sizeof s->digest);
    assert_string_equal(s->id, full->id);
    assert_int_equal(s->n_teams, 3);
    /* teams[N - 1] is team N, as in a full load; the others are empty. */
    const cr_team_model *t = &s->teams[1], *ft = &full->teams[1];
    assert_int_equal(t->number, 2);
    assert_int_equal(s->teams[0].number, 0);
    assert_int_equal(s->teams[0].n_flags, 0);
    assert_int_equal(s->teams[2].number, 0);
    assert_int_equal(s->teams[2].n_vms, 0);
    assert_int_equal(t->n_flags, ft->n_flags);
    assert_int_equal(t->n_objectives, ft->n_objectives);
    assert_int_equal(t->n_vars, ft->n_vars);
    for (size_t i = 0; i < t->n_vars; i++)
        assert_string_equal(t->vars[i].value, ft->vars[i].value);
    const cr_flag *flag = cr_team_flag(t, "token");
    assert_non_null(flag);
    assert_string_equal(flag->answer, cr_team_flag(ft, "token")->answer);
    assert_string_not_equal(flag->answer, cr_team_flag(&full->teams[0], "token")->answer);
    assert_int_equal(t->objectives[0].n_hints, ft->objectives[0].n_hints);
    assert_string_equal(t->objectives[0].hints[0].text.en, ft->objectives[0].hints[0].text.en);

    cr_scenario_free(s);
    cr_scenario_free(full);
    free(demo);
}

static void test_load_only_team_runs_no_other_team_s_script(void **state)
{
    fixture *f = *state;
    char *dir = cr_path_join(f->dir, "scn");
    tu_write(dir, "scenario.lua",
             "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説\", en = \"D\" },"
             " teams = 3 }\n"
             "if team.number ~= 3 then error(\"team \" .. team.number .. \" ran\") end\n"
             "vm{ name = \"a\", image = \"tiny\" }\n");
    cr_scenario *s = NULL;
    cr_load_opts all = {.teams = 3};
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, dir, &all), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "team 1 ran"));

    cr_load_opts one = {.teams = 3, .only_team = 3};
    s = load_ok(dir, &one);
    assert_int_equal(s->n_teams, 3);
    assert_int_equal(s->teams[2].number, 3);
    assert_int_equal(s->teams[2].n_vms, 1);
    cr_scenario_free(s);

    /* Beyond the range's teams: refused before any script runs. */
    cr_load_opts four = {.teams = 3, .only_team = 4};
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, dir, &four), CR_EINVAL);
    assert_null(s);
    assert_non_null(strstr(cr_error_message(), "no team 4 (teams are 1 to 3)"));
    free(dir);
}

static void test_load_only_team_with_the_scenario_s_own_count(void **state)
{
    fixture *f = *state;
    char *dir = cr_path_join(f->dir, "scn");
    tu_write(dir, "scenario.lua",
             "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説\", en = \"D\" },"
             " teams = 3 }\n"
             "vm{ name = \"a\", image = \"tiny\" }\n");
    cr_load_opts one = {.only_team = 3};
    cr_scenario *s = load_ok(dir, &one);
    assert_int_equal(s->n_teams, 3);
    assert_int_equal(s->teams[2].number, 3);
    assert_int_equal(s->teams[0].number, 0);
    cr_scenario_free(s);
    s = NULL;

    cr_load_opts four = {.only_team = 4};
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, dir, &four), CR_EINVAL);
    assert_null(s);
    assert_non_null(strstr(cr_error_message(), "no team 4 (the scenario has 3)"));
    free(dir);
}

static void test_state_scenario_load_works_from_the_snapshot_once_the_folder_is_gone(void **state)
{
    fixture *f = *state;
    char *scn = cr_path_join(f->dir, "demo-copy");
    copy_demo(scn);
    unsigned char secret[CR_SECRET_LEN] = {42};
    cr_load_opts all = {.teams = 2, .secret = secret};
    cr_scenario *full = load_ok(scn, &all);
    bring_up(f, full, secret);
    char *recorded = cr_xstrdup(full->dir);
    assert_int_equal(cr_rm_rf(scn), 0);

    /* Restored under TMPDIR, and removed again. */
    char *tmp = cr_path_join(f->dir, "tmp");
    assert_int_equal(cr_mkdir_p(tmp, 0700), 0);
    const char *old = getenv("TMPDIR");
    char *saved = old ? cr_xstrdup(old) : NULL;
    setenv("TMPDIR", tmp, 1);
    cr_load_opts one = {.teams = 2, .only_team = 2, .secret = secret};
    cr_scenario *s = NULL;
    cr_error_clear();
    int rc = cr_state_scenario_load(&s, f->st, &one);
    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    if (rc < 0)
        fail_msg("load from the snapshot: %s", cr_error_message());

    assert_int_equal(entries(tmp), 0);
    assert_string_equal(s->dir, recorded);
    assert_memory_equal(s->digest, full->digest, sizeof s->digest);
    assert_int_equal(s->n_teams, 2);
    assert_int_equal(s->teams[1].number, 2);
    assert_string_equal(cr_team_flag(&s->teams[1], "token")->answer,
                        cr_team_flag(&full->teams[1], "token")->answer);

    cr_scenario_free(s);
    cr_scenario_free(full);
    free(recorded);
    free(tmp);
    free(scn);
}

/* The snapshot reads the folder through cr_scenario_files_list: a link is
 * stored as a copy of its file under its own name, and a link to nothing,
 * which loads, has nothing to store. */
static void test_snapshot_stores_a_link_as_its_file_and_leaves_out_a_dangling_one(void **state)
{
    fixture *f = *state;
    char *scn = cr_path_join(f->dir, "demo-copy");
    copy_demo(scn);
    char *alias = cr_path_join(scn, "files/alias.html"), *later = cr_path_join(scn, "later");
    assert_int_equal(symlink("index.html", alias), 0);
    assert_int_equal(symlink("files/not-yet", later), 0);
    cr_load_opts o = {.teams = 2};
    cr_scenario *s = load_ok(scn, &o);
    unsigned char secret[CR_SECRET_LEN] = {7};
    bring_up(f, s, secret);

    char *dir = NULL;
    if (cr_state_snapshot_restore(&dir, f->st, f->parent) < 0)
        fail_msg("restore: %s", cr_error_message());
    char *a = cr_path_join(scn, "files/index.html"), *b = cr_path_join(dir, "files/alias.html");
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    struct stat st;
    assert_int_equal(lstat(b, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(cr_read_file(&da, &la, a), 0);
    assert_int_equal(cr_read_file(&db, &lb, b), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    assert_false(exists_under(dir, "later"));

    assert_int_equal(cr_rm_rf(dir), 0);
    free(da);
    free(db);
    free(a);
    free(b);
    free(dir);
    free(alias);
    free(later);
    cr_scenario_free(s);
    free(scn);
}

/* The caps hold at `up` too: a file that grew past them after the load is
 * refused by the snapshot, not stored. */
static void test_snapshot_refuses_a_file_grown_past_the_cap_since_the_load(void **state)
{
    fixture *f = *state;
    char *scn = cr_path_join(f->dir, "demo-copy");
    copy_demo(scn);
    tu_write(scn, "files/grows.bin", "small");
    cr_load_opts o = {.teams = 2};
    cr_scenario *s = load_ok(scn, &o);
    char *big = cr_path_join(scn, "files/grows.bin");
    /* Sparse: no blocks written. */
    assert_int_equal(truncate(big, 17 * 1024 * 1024), 0);

    const char *hosts[] = {"test:///default"};
    cr_plan *p = NULL;
    assert_int_equal(cr_plan_build(&p, s, "r", hosts, 1, NULL), 0);
    cr_error_clear();
    assert_int_equal(cr_state_save_plan(f->st, p), CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "files/grows.bin: 17.0 MiB is over the 16 MiB a scenario file may have");
    cr_error_clear();

    cr_plan_free(p);
    free(big);
    cr_scenario_free(s);
    free(scn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_restore_gives_back_every_file_in_a_private_folder, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_hostile_paths_are_refused_and_nothing_is_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_with_a_file_where_a_folder_goes_fails_and_cleans_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_that_is_empty_is_notfound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_only_team_gives_that_team_with_the_full_digest_and_answers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_load_only_team_runs_no_other_team_s_script, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_only_team_with_the_scenario_s_own_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_scenario_load_works_from_the_snapshot_once_the_folder_is_gone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_stores_a_link_as_its_file_and_leaves_out_a_dangling_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_refuses_a_file_grown_past_the_cap_since_the_load, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
