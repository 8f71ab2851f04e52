/*
 * test_cli.c: the crange binary ($CRANGE_BIN) run as a subprocess, the way
 * users and scripts run it: exit codes (0 success, 1 failure, 2 usage),
 * help that lists every command, errors printed once on stderr, and JSON
 * output that parses. Every run gets a fresh state folder and a clean
 * environment (no CRANGE_* variables from the caller); commands that need
 * libvirt use --connect test:///default, whose state is private to each
 * crange process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"
#include "engine.h"
#include "err.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_result {
    int code;  /* exit code, or 128 + signal */
    char *out;
    char *err;
} run_result;

static void result_free(run_result *r)
{
    free(r->out);
    free(r->err);
}

static char *g_state; /* the state folder of the current test */

/* Runs crange with the given arguments (NULL-terminated), --state first. */
static run_result run_argv(const char *const *args)
{
    const char *bin = getenv("CRANGE_BIN");
    if (!bin)
        fail_msg("CRANGE_BIN is not set (run the tests through ctest)");
    char *out_path = cr_path_join(g_state, ".stdout");
    char *err_path = cr_path_join(g_state, ".stderr");

    size_t n = 0;
    while (args[n])
        n++;
    char **argv = cr_xcalloc(n + 4, sizeof *argv);
    argv[0] = (char *)bin;
    argv[1] = (char *)"--state";
    argv[2] = g_state;
    for (size_t i = 0; i < n; i++)
        argv[3 + i] = (char *)args[i];

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (o < 0 || e < 0 || in < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(in, 0) < 0)
            _exit(99);
        const char *vars[] = {"CRANGE_STATE", "CRANGE_CONNECT", "CRANGE_ACCEL", "CRANGE_JOBS", "CRANGE_JSON"};
        for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
            unsetenv(vars[i]);
        execv(bin, argv);
        _exit(98);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    run_result r = {0};
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    assert_int_equal(cr_read_file(&r.out, NULL, out_path), 0);
    assert_int_equal(cr_read_file(&r.err, NULL, err_path), 0);
    unlink(out_path);
    unlink(err_path);
    free(argv);
    free(out_path);
    free(err_path);
    return r;
}

#define RUN(...) run_argv((const char *const[]){__VA_ARGS__, NULL})

static void expect_code(const run_result *r, int code)
{
    if (r->code != code)
        fail_msg("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s", r->code, code, r->out, r->err);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int setup(void **state)
{
    (void)state;
    g_state = tu_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(g_state);
    free(g_state);
    g_state = NULL;
    return 0;
}

static void test_cli_help_exits_0_and_lists_every_command(void **state)
{
    (void)state;
    run_result r = RUN("--help");
    expect_code(&r, 0);
    assert_string_equal(r.err, "");
    size_t n = 0;
    for (const cr_command *c = cr_commands; c->name; c++, n++) {
        char *line = cr_xasprintf("\n  %s", c->synopsis);
        if (!strstr(r.out, line))
            fail_msg("crange --help does not list '%s'", c->name);
        assert_int_equal(strncmp(c->synopsis, c->name, strlen(c->name)), 0);
        free(line);
    }
    assert_true(n >= 10);
    result_free(&r);

    /* `crange help` is the same; with no command at all, usage is an error. */
    r = RUN("help");
    expect_code(&r, 0);
    assert_non_null(strstr(r.out, "Commands:"));
    result_free(&r);
    r = RUN("--json"); /* only a global option: no command */
    expect_code(&r, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "usage: crange"));
    result_free(&r);
}

static void test_cli_command_help_exits_0(void **state)
{
    (void)state;
    run_result r = RUN("up", "--help");
    expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, "usage: crange up ", 17), 0);
    assert_non_null(strstr(r.out, "--name RANGE"));
    result_free(&r);

    r = RUN("image", "build", "-h");
    expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, "usage: crange image build NAME", 30), 0);
    result_free(&r);

    r = RUN("help", "validate");
    expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, "usage: crange validate PATH", 27), 0);
    result_free(&r);
}

static void test_cli_version_prints_the_version(void **state)
{
    (void)state;
    run_result r = RUN("--version");
    expect_code(&r, 0);
    assert_int_equal(strncmp(r.out, "crange ", 7), 0);
    assert_int_equal(count_lines(r.out), 1);
    result_free(&r);
}

static void test_cli_unknown_command_exits_2(void **state)
{
    (void)state;
    run_result r = RUN("bogus");
    expect_code(&r, 2);
    assert_string_equal(r.err, "crange: unknown command 'bogus'; see crange --help\n");
    assert_string_equal(r.out, "");
    result_free(&r);

    /* A command group without its subcommand says so. */
    r = RUN("image");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "'image' needs a subcommand"));
    result_free(&r);
}

static void test_cli_usage_errors_exit_2(void **state)
{
    (void)state;
    char *demo = tu_source("scenarios/demo");
    run_result r = RUN("up", demo);
    expect_code(&r, 2);
    assert_int_equal(strncmp(r.err, "crange up: --name RANGE is required\nusage: crange up ", 52), 0);
    result_free(&r);

    r = RUN("list", "--bogus");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "crange list: unknown option --bogus"));
    result_free(&r);

    r = RUN("validate", demo, "--teams", "many");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "--teams needs a number, not 'many'"));
    result_free(&r);

    r = RUN("validate");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "expected one scenario PATH"));
    result_free(&r);

    /* A global option without its value. */
    r = RUN("list", "--connect");
    expect_code(&r, 2);
    assert_string_equal(r.err, "crange: --connect needs a value\n");
    result_free(&r);
    free(demo);
}

static void test_cli_exec_team_0_is_a_usage_error(void **state)
{
    (void)state;
    run_result r = RUN("exec", "x", "0", "vm", "--", "true");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "crange exec: team must be a number from 1 to 999, not '0'"));
    result_free(&r);

    r = RUN("exec", "x", "1", "vm");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "expected RANGE TEAM VM -- CMD"));
    result_free(&r);
}

static void test_cli_exec_on_a_missing_vm_exits_125(void **state)
{
    (void)state;
    /* crange itself failed (no such VM), not the guest command: 125. */
    run_result r = RUN("--connect", "test:///default", "exec", "nosuch", "1", "vm", "--", "true");
    expect_code(&r, 125);
    assert_string_equal(r.err, "crange: range 'nosuch' has no vm 'vm' in team 1\n");
    result_free(&r);
}

/* The first line of a bad fixture: "-- expect: MESSAGE". */
static char *expected_message(const char *fixture)
{
    char *rel = cr_xasprintf("bad/%s/scenario.lua", fixture);
    char *path = tu_fixture(rel);
    char *text = NULL;
    assert_int_equal(cr_read_file(&text, NULL, path), 0);
    assert_int_equal(strncmp(text, "-- expect: ", 11), 0);
    text[strcspn(text, "\n")] = '\0';
    char *msg = cr_xstrdup(text + 11);
    free(text);
    free(path);
    free(rel);
    return msg;
}

static void test_cli_validate_bad_scenario_prints_one_line_and_exits_1(void **state)
{
    (void)state;
    const char *fixtures[] = {"syntax-error", "unknown-key-vm", "duplicate-vm", "unknown-image"};
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        char *rel = cr_xasprintf("bad/%s", fixtures[i]);
        char *dir = tu_fixture(rel);
        run_result r = RUN("validate", dir);
        expect_code(&r, 1);
        assert_string_equal(r.out, "");
        if (count_lines(r.err) != 1)
            fail_msg("%s: stderr has %zu lines:\n%s", fixtures[i], count_lines(r.err), r.err);
        assert_int_equal(strncmp(r.err, "crange: scenario.lua:", 21), 0);
        char *msg = expected_message(fixtures[i]);
        char *want = cr_xasprintf("crange: %s\n", msg);
        assert_string_equal(r.err, want);
        free(want);
        free(msg);
        result_free(&r);
        free(dir);
        free(rel);
    }
}

/* A role needs a Debian image (docs/IMAGES.md): refused before any up. */
static void test_cli_validate_and_plan_refuse_a_role_on_tiny(void **state)
{
    (void)state;
    char *dir = tu_fixture("scenarios/role-on-tiny");
    const char *cmds[] = {"validate", "plan"};
    for (size_t i = 0; i < 2; i++) {
        run_result r = RUN(cmds[i], dir);
        expect_code(&r, 1);
        assert_string_equal(r.err, "crange: scenario.lua:3: role 'r': image 'tiny' cannot take a role (it is not a "
                                   "Debian image with a root disk and dpkg-status); use one such as debian-12\n");
        result_free(&r);
    }
    free(dir);
}

static void test_cli_json_failure_is_an_error_object_on_stdout(void **state)
{
    (void)state;
    char *dir = tu_fixture("bad/syntax-error");
    run_result r = RUN("--json", "validate", dir);
    expect_code(&r, 1);
    json_error_t jerr;
    json_t *j = json_loads(r.out, 0, &jerr);
    if (!j)
        fail_msg("not JSON (%s): %s", jerr.text, r.out);
    char *msg = expected_message("syntax-error");
    assert_string_equal(json_string_value(json_object_get(j, "error")), msg);
    free(msg);
    json_decref(j);
    result_free(&r);
    free(dir);
}

static void test_cli_json_validate_demo_is_valid(void **state)
{
    (void)state;
    char *demo = tu_source("scenarios/demo");
    run_result r = RUN("--json", "validate", demo);
    expect_code(&r, 0);
    json_error_t jerr;
    json_t *j = json_loads(r.out, 0, &jerr);
    if (!j)
        fail_msg("not JSON (%s): %s", jerr.text, r.out);
    assert_true(json_is_true(json_object_get(j, "valid")));
    assert_string_equal(json_string_value(json_object_get(j, "id")), "demo");
    assert_int_equal(json_integer_value(json_object_get(j, "teams")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "networks_per_team")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "vms_per_team")), 3);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "digest"))), 64);
    json_decref(j);
    result_free(&r);

    /* Without --json: one line of text. */
    r = RUN("validate", demo);
    expect_code(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    assert_non_null(strstr(r.out, ": valid: demo"));
    result_free(&r);
    free(demo);
}

static void test_cli_plan_json_has_the_teams_asked_for_and_hides_secrets(void **state)
{
    (void)state;
    char *demo = tu_source("scenarios/demo");
    /* --json after the command counts as a global option too. */
    run_result r = RUN("plan", demo, "--teams", "3", "--json");
    expect_code(&r, 0);
    json_error_t jerr;
    json_t *j = json_loads(r.out, 0, &jerr);
    if (!j)
        fail_msg("not JSON (%s): %s", jerr.text, r.out);
    json_t *teams = json_object_get(j, "teams");
    assert_int_equal(json_array_size(teams), 3);
    assert_string_equal(json_string_value(json_object_get(j, "range")), "demo"); /* no --name: the id */
    assert_true(json_is_true(json_object_get(j, "preview_secret")));
    for (size_t i = 0; i < 3; i++) {
        json_t *t = json_array_get(teams, i);
        assert_int_equal(json_integer_value(json_object_get(t, "team")), (json_int_t)i + 1);
        assert_string_equal(json_string_value(json_object_get(json_object_get(t, "vars"), "token")), "(secret)");
    }
    json_decref(j);
    result_free(&r);

    r = RUN("plan", demo, "--teams", "1", "--name", "Bad_Name");
    expect_code(&r, 2);
    assert_non_null(strstr(r.err, "bad range name 'Bad_Name'"));
    result_free(&r);
    free(demo);
}

static void test_cli_bad_accel_fails_with_a_clear_message(void **state)
{
    (void)state;
    run_result r = RUN("--accel", "bogus", "list");
    expect_code(&r, 1);
    assert_string_equal(r.err, "crange: --accel must be auto, kvm or tcg, not 'bogus'\n");
    result_free(&r);

    r = RUN("--jobs", "0", "list");
    expect_code(&r, 1);
    assert_string_equal(r.err, "crange: --jobs must be between 1 and 256\n");
    result_free(&r);
}

static void test_cli_list_on_the_test_driver_exits_0(void **state)
{
    (void)state;
    run_result r = RUN("--connect", "test:///default", "list");
    expect_code(&r, 0);
    assert_string_equal(r.out, "no ranges\n");
    result_free(&r);

    r = RUN("--json", "--connect=test:///default", "list");
    expect_code(&r, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    result_free(&r);
}

/* `up --name X` of a range that does not exist says so, and leaves no
 * empty range behind for `list` to show (it used to make its folder, lock
 * and database first). */
static void test_cli_up_of_an_unknown_range_leaves_nothing(void **state)
{
    (void)state;
    run_result r = RUN("--connect", "test:///default", "up", "--name", "nosuch");
    expect_code(&r, 1);
    assert_non_null(strstr(r.err, "range 'nosuch' does not exist; name a scenario"));
    result_free(&r);
    char *dir = cr_path_join(g_state, "ranges/nosuch");
    assert_false(cr_path_exists(dir));
    free(dir);
    r = RUN("--connect", "test:///default", "list");
    expect_code(&r, 0);
    assert_string_equal(r.out, "no ranges\n");
    result_free(&r);
}

static void test_cli_list_reports_an_unreachable_libvirt(void **state)
{
    (void)state;
    /* A test driver file that does not exist: the connection fails without
     * any daemon, and the message names the URI. */
    run_result r = RUN("--connect", "test:///nonexistent/crange.xml", "list");
    expect_code(&r, 1);
    assert_non_null(strstr(r.err, "crange: cannot connect to libvirt at test:///nonexistent/crange.xml"));
    result_free(&r);
}

/* Makes a range database at PATH (its folder must exist) holding a range
 * row, as `up` leaves it. */
static void make_range_db(const char *path, const char *name)
{
    cr_state *st = NULL;
    if (cr_state_open_file(&st, path, true) < 0)
        fail_msg("open %s: %s", path, cr_error_message());
    cr_range_row r = {.name = (char *)name, .scenario_id = "demo", .scenario_dir = "/nonexistent/demo",
                      .scenario_digest = "beef", .title_ja = "演習", .title_en = "Drill", .teams = 2,
                      .hosts = "[\"test:///default\"]", .accel = "tcg", .status = "up", .created_ms = 1700000000000LL};
    assert_int_equal(cr_state_put_range(st, &r), 0);
    cr_state_close(st);
}

/* Runs SQL on a database file directly, outside crange. */
static void sql(const char *path, const char *text)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* The file's bytes (a new buffer). */
static char *bytes_of(const char *path, size_t *len)
{
    char *data = NULL;
    assert_int_equal(cr_read_file(&data, len, path), 0);
    return data;
}

static void expect_same_file(const char *path, const char *before, size_t before_len)
{
    size_t len = 0;
    char *now = bytes_of(path, &len);
    if (len != before_len || memcmp(now, before, len) != 0)
        fail_msg("%s changed (%zu bytes, was %zu)", path, len, before_len);
    free(now);
}

/* Every command that takes a RANGE refuses a name that is a path: `score
 * ../x` opened <state>/ranges/../x/range.db, any file named so. */
static void test_cli_every_range_command_refuses_a_path_as_range(void **state)
{
    (void)state;
    /* A database where ../x leads, so that only the name check stops it. */
    char *ranges = cr_path_join(g_state, "ranges");
    char *outside = cr_path_join(g_state, "x");
    char *db = cr_path_join(outside, "range.db");
    assert_int_equal(cr_mkdir_p(ranges, 0755), 0);
    assert_int_equal(cr_mkdir_p(outside, 0755), 0);
    make_range_db(db, "x");
    char *out = cr_path_join(g_state, "report.json");

    static const char *const cmds[][8] = {
        {"score", "../x"},
        {"events", "../x"},
        {"report", "..", "--format", "json", "-o", "OUT"},
        {"teams", "../x"},
        {"status", "../x"},
        {"down", "../x"},
        {"revert", "../x", "1", "vm"},
        {"submit", "../x", "1", "f", "answer"},
        {"hint", "../x", "1", "o"},
        {"solve", "../x", "1"},
        {"run", "--once", "../x"},
        {"run", "../x"},
        {"serve", "../x"},
        {"console", "../x", "1", "vm"},
        {"exec", "../x", "1", "vm", "--", "true"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        const char *args[12] = {"--connect", "test:///default"};
        size_t n = 2;
        for (size_t k = 0; k < 8 && cmds[i][k]; k++)
            args[n++] = strcmp(cmds[i][k], "OUT") ? cmds[i][k] : out;
        args[n] = NULL;
        run_result r = run_argv(args);
        const char *name = !strcmp(cmds[i][0], "report") ? ".." : "../x";
        char *want = cr_xasprintf("crange: bad range name '%s'\n", name);
        if (r.code != (!strcmp(cmds[i][0], "exec") ? 125 : 1) || strcmp(r.err, want) != 0)
            fail_msg("crange %s %s: exit %d\n--- stdout\n%s--- stderr\n%s", cmds[i][0], name, r.code, r.out, r.err);
        free(want);
        result_free(&r);
    }
    assert_false(cr_path_exists(out));
    free(out);
    free(db);
    free(outside);
    free(ranges);
}

/* `report FILE.db` reads an archived or copied record and never writes it:
 * not the journal mode (which a read-write open turned to WAL), not the
 * schema (an older one is migrated in memory only), and nothing is left
 * beside it. */
static void test_cli_report_of_a_file_leaves_the_file_untouched(void **state)
{
    (void)state;
    char *db = cr_path_join(g_state, "copy.db");
    char *out = cr_path_join(g_state, "report.json");
    char *wal = cr_xasprintf("%s-wal", db), *shm = cr_xasprintf("%s-shm", db);
    /* As archived: WAL mode, everything checkpointed into the file. */
    make_range_db(db, "drill");
    assert_false(cr_path_exists(wal));
    size_t len = 0;
    char *before = bytes_of(db, &len);
    run_result r = RUN("report", db, "--format", "json", "-o", out);
    expect_code(&r, 0);
    result_free(&r);
    expect_same_file(db, before, len);
    free(before);
    assert_false(cr_path_exists(wal));
    assert_false(cr_path_exists(shm));

    /* Live: a writer holds it open, with its last change still in -wal. */
    cr_state *st = NULL;
    assert_int_equal(cr_state_open_file(&st, db, false), 0);
    assert_int_equal(cr_state_set_status(st, "live"), 0);
    assert_true(cr_path_exists(wal));
    r = RUN("report", db, "--format", "json", "-o", out);
    expect_code(&r, 0);
    result_free(&r);
    char *text = bytes_of(out, &len);
    assert_non_null(strstr(text, "\"status\": \"live\""));
    free(text);
    cr_state_close(st);

    /* Rollback journal mode: a read-write open turned it to WAL. */
    sql(db, "PRAGMA journal_mode = DELETE");
    before = bytes_of(db, &len);
    r = RUN("report", db, "--format", "json", "-o", out);
    expect_code(&r, 0);
    result_free(&r);
    expect_same_file(db, before, len);
    free(before);
    assert_false(cr_path_exists(wal));
    assert_false(cr_path_exists(shm));

    /* Schema 3 (version 4 only added an index, 5 the content's tag
     * columns): reported as it is. */
    sql(db, "DROP INDEX events_action_spool; ALTER TABLE content DROP COLUMN attack;"
            " ALTER TABLE content DROP COLUMN skills; PRAGMA user_version = 3");
    before = bytes_of(db, &len);
    r = RUN("report", db, "--format", "csv", "-o", out);
    expect_code(&r, 0);
    result_free(&r);
    expect_same_file(db, before, len);
    assert_false(cr_path_exists(wal));
    assert_false(cr_path_exists(shm));
    free(before);
    free(wal);
    free(shm);
    free(out);
    free(db);
}

/* A file that is not a range database, or is one of a newer crange, is
 * refused with one line that names it, and left as it was (a read-write
 * open made every table of the schema in it). */
static void test_cli_report_of_an_unknown_schema_is_refused(void **state)
{
    (void)state;
    char *db = cr_path_join(g_state, "other.db");
    char *out = cr_path_join(g_state, "report.json");
    sql(db, "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello')");
    size_t len = 0;
    char *before = bytes_of(db, &len);
    run_result r = RUN("report", db, "--format", "json", "-o", out);
    expect_code(&r, 1);
    char *want = cr_xasprintf("crange: %s: not a crange range database (schema version 0)\n", db);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
    expect_same_file(db, before, len);
    free(before);

    sql(db, "PRAGMA user_version = 99");
    before = bytes_of(db, &len);
    r = RUN("report", db, "--format", "json", "-o", out);
    expect_code(&r, 1);
    want = cr_xasprintf("crange: %s: schema version 99 is newer than this crange knows (%d); upgrade crange\n", db,
                        CR_STATE_SCHEMA_VERSION);
    assert_string_equal(r.err, want);
    free(want);
    result_free(&r);
    expect_same_file(db, before, len);
    free(before);
    assert_false(cr_path_exists(out));
    free(out);
    free(db);
}

/* A second `crange run` or `serve` on a range fails at once, naming the pid
 * of the one that runs it; `run --once` does not wait for it either. The
 * holder is a child process holding the engine lock (engine.h). */
static void test_cli_a_second_run_on_a_range_fails_at_once(void **state)
{
    (void)state;
    char *dir = cr_path_join(g_state, "ranges/drill");
    char *db = cr_path_join(dir, "range.db");
    assert_int_equal(cr_mkdir_p(dir, 0755), 0);
    make_range_db(db, "drill");
    pid_t holder = tu_hold_engine_lock(g_state, "drill");

    char *want = cr_xasprintf("crange: range drill is already run by another crange run or serve (pid %d)\n",
                              (int)holder);
    static const char *const cmds[][3] = {{"run", "drill"}, {"run", "--no-actions", "drill"}, {"serve", "drill"}};
    for (size_t i = 0; i < 3; i++) {
        const char *args[8] = {"--connect", "test:///default"};
        size_t n = 2;
        for (size_t k = 0; k < 3 && cmds[i][k]; k++)
            args[n++] = cmds[i][k];
        run_result r = run_argv(args);
        expect_code(&r, 1);
        assert_string_equal(r.err, want);
        assert_string_equal(r.out, "");
        result_free(&r);
    }
    /* One round takes no lock: it gets as far as the (missing) scenario. */
    run_result r = RUN("--connect", "test:///default", "run", "--once", "drill");
    expect_code(&r, 1);
    assert_null(strstr(r.err, "already run"));
    result_free(&r);

    /* Killed with -9, the holder leaves nothing locked. */
    assert_int_equal(kill(holder, SIGKILL), 0);
    assert_int_equal(waitpid(holder, NULL, 0), holder);
    r = RUN("--connect", "test:///default", "run", "drill");
    expect_code(&r, 1);
    assert_null(strstr(r.err, "already run"));
    result_free(&r);
    free(want);
    free(db);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_help_exits_0_and_lists_every_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_command_help_exits_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_version_prints_the_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_unknown_command_exits_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_usage_errors_exit_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_exec_team_0_is_a_usage_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_exec_on_a_missing_vm_exits_125, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_validate_bad_scenario_prints_one_line_and_exits_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_validate_and_plan_refuse_a_role_on_tiny, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_json_failure_is_an_error_object_on_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_json_validate_demo_is_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_plan_json_has_the_teams_asked_for_and_hides_secrets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_bad_accel_fails_with_a_clear_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_list_on_the_test_driver_exits_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_up_of_an_unknown_range_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_list_reports_an_unreachable_libvirt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_every_range_command_refuses_a_path_as_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_report_of_a_file_leaves_the_file_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_report_of_an_unknown_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_a_second_run_on_a_range_fails_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
