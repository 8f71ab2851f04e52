/*
 * test_lint.c: the static checks of `crange scenario lint` (lint.h) find
 * what they promise, at the right place, with the right severity, and pass
 * a clean scenario. (The --solve run needs real VMs: tests/e2e.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "lint.h"
#include "testutil.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HEAD[] =
    "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n"
    "local lan = network{ name = \"lan\", cidr = \"10.0.0.0/24\" }\n";

static const char CONTENT[] =
    "objective{ id = \"o\", title = { ja = \"目標\", en = \"O\" }, points = 5,\n"
    "  check = function(ctx) return true end }\n"
    "flag{ id = \"f\", question = { ja = \"問\", en = \"Q\" }, points = 5,\n"
    "  answer = function(vars) return vars.k end }\n";

typedef struct fixture {
    char *dir;
    char *state;
    cr_config cfg;
    json_t *findings;
    size_t errors;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->state = tu_tmpdir();
    cr_config_defaults(&f->cfg);
    free(f->cfg.state_dir);
    f->cfg.state_dir = cr_xstrdup(f->state);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    json_decref(f->findings);
    cr_config_free(&f->cfg);
    tu_rmtree(f->dir);
    tu_rmtree(f->state);
    free(f->dir);
    free(f->state);
    free(f);
    return 0;
}

static void lint(fixture *f, const char *body)
{
    char *text = cr_xasprintf("%s%s", HEAD, body);
    tu_write(f->dir, "scenario.lua", text);
    free(text);
    json_decref(f->findings);
    f->findings = NULL;
    cr_lint_opts o = {.path = f->dir};
    cr_error_clear();
    if (cr_lint(&f->findings, &f->errors, &f->cfg, &o) < 0)
        fail_msg("lint could not run: %s", cr_error_message());
}

/* Whether a finding of SEVERITY contains TEXT. */
static bool has(const fixture *f, const char *severity, const char *text)
{
    size_t i;
    json_t *x;
    json_array_foreach(f->findings, i, x)
    {
        if (!strcmp(json_string_value(json_object_get(x, "severity")), severity) &&
            strstr(json_string_value(json_object_get(x, "message")), text))
            return true;
    }
    return false;
}

static void test_lint_clean_scenario_has_no_findings(void **state)
{
    fixture *f = *state;
    char *body = cr_xasprintf("local v = vars{ k = random.hex(8, { secret = true }) }\n%s"
                              "vm{ name = \"a\", image = \"tiny\", nics = { { network = lan, address = lan:host(5) } } }\n"
                              "solution(function(ctx) ctx.submit(\"f\", ctx.vars.k) end)\n",
                              CONTENT);
    lint(f, body);
    free(body);
    assert_int_equal(f->errors, 0);
    assert_int_equal(json_array_size(f->findings), 0);
}

/* plan shows vars that are not secret: an answer made of one is no secret. */
static void test_lint_answer_from_a_var_that_is_not_secret_is_warned(void **state)
{
    fixture *f = *state;
    char *body = cr_xasprintf("local v = vars{ k = random.hex(8), n = random.int(1, 9) }\n%s"
                              "flag{ id = \"g\", question = { ja = \"問\", en = \"Q\" }, points = 1,\n"
                              "  answer = function(vars) return \"FLAG{\" .. vars.n .. \"}\" end }\n"
                              "vm{ name = \"a\", image = \"tiny\", nics = { { network = lan, address = lan:host(5) } } }\n"
                              "solution(function(ctx) ctx.submit(\"f\", ctx.vars.k) ctx.submit(\"g\", \"FLAG{\" .. ctx.vars.n .. \"}\") end)\n",
                              CONTENT);
    lint(f, body);
    free(body);
    assert_int_equal(f->errors, 0);
    assert_true(has(f, "warning", "flag 'f': its answer holds var 'k', which is not secret"));
    /* A one-digit value is in many texts by chance: no finding for g. */
    assert_false(has(f, "warning", "flag 'g'"));
}

/* docs/IMAGES.md: a role needs a Debian image with dpkg-status; tiny has none. */
static void test_lint_role_on_an_image_that_cannot_take_one_is_an_error(void **state)
{
    fixture *f = *state;
    char *body = cr_xasprintf("local v = vars{ k = random.hex(8, { secret = true }) }\n%s"
                              "local r = role{ name = \"r\", image = \"tiny\", packages = { \"curl\" } }\n"
                              "vm{ name = \"a\", role = r, nics = { { network = lan, address = lan:host(5) } } }\n"
                              "solution(function(ctx) ctx.submit(\"f\", ctx.vars.k) end)\n",
                              CONTENT);
    lint(f, body);
    free(body);
    assert_true(has(f, "error", "scenario.lua:8: role 'r': image 'tiny' cannot take a role"));
}

static void test_lint_missing_solution_is_an_error(void **state)
{
    fixture *f = *state;
    char *body = cr_xasprintf("local v = vars{ k = random.hex(8) }\n%s", CONTENT);
    lint(f, body);
    free(body);
    assert_true(f->errors >= 1);
    assert_true(has(f, "error", "scenario.lua:1: there is no reference solution"));
}

static void test_lint_shared_values_are_warned_and_identical_teams_are_errors(void **state)
{
    fixture *f = *state;
    char *body = cr_xasprintf("local v = vars{ k = \"same\" }\n%s"
                              "solution(function(ctx) ctx.submit(\"f\", ctx.vars.k) end)\n",
                              CONTENT);
    lint(f, body);
    free(body);
    assert_true(has(f, "warning", "scenario.lua:3: var 'k' is the same for every team"));
    assert_true(has(f, "warning", "flag 'f' has the same answer for every team"));
    assert_true(has(f, "error", "teams 1 and 2 get the same values for every var"));
}

static void test_lint_image_without_recipe_is_an_error(void **state)
{
    fixture *f = *state;
    /* A built image without a recipe validates (it exists) but cannot be rebuilt. */
    tu_write(f->state, "images/custom/image.json", "{}");
    lint(f, "vm{ name = \"a\", image = \"custom\", nics = { { network = lan, address = lan:host(5) } } }\n"
            "solution(function(ctx) end)\n");
    assert_true(has(f, "error", "scenario.lua:3: vm 'a': image 'custom' has no recipe"));
}

static void test_lint_half_translated_vm_description_is_an_error(void **state)
{
    fixture *f = *state;
    lint(f, "vm{ name = \"a\", image = \"tiny\", description = { en = \"only English\" },\n"
            "    nics = { { network = lan, address = lan:host(5) } } }\n"
            "solution(function(ctx) end)\n");
    assert_true(has(f, "error", "scenario.lua:3: vm: 'description' needs both 'ja' and 'en'"));
}

static void test_lint_symlink_out_of_the_folder_is_an_error(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/ok.txt", "x");
    char *link = cr_path_join(f->dir, "files/passwd");
    assert_int_equal(symlink("/etc/passwd", link), 0);
    free(link);
    lint(f, "solution(function(ctx) end)\n");
    assert_true(has(f, "error", "files/passwd: symlink to '/etc/passwd' points outside the scenario folder"));
}

static void test_lint_broken_scenario_reports_its_line(void **state)
{
    fixture *f = *state;
    lint(f, "vm{ name = \"a\", image = \"tiny\", nics = { { network = lan, address = \"10.9.9.9\" } } }\n");
    assert_int_equal(f->errors, 1);
    assert_true(has(f, "error", "scenario.lua:3: vm 'a': address 10.9.9.9 is outside network 'lan'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lint_clean_scenario_has_no_findings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_answer_from_a_var_that_is_not_secret_is_warned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_role_on_an_image_that_cannot_take_one_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_missing_solution_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_shared_values_are_warned_and_identical_teams_are_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lint_image_without_recipe_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_half_translated_vm_description_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_symlink_out_of_the_folder_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lint_broken_scenario_reports_its_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
