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
#include "testutil.h"
#include "util.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        cmocka_unit_test_setup_teardown(test_cli_json_failure_is_an_error_object_on_stdout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_json_validate_demo_is_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_plan_json_has_the_teams_asked_for_and_hides_secrets, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_bad_accel_fails_with_a_clear_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_list_on_the_test_driver_exits_0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_list_reports_an_unreachable_libvirt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
