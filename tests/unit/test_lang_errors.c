/*
 * test_lang_errors.c: the battery of bad scenarios. Every folder under
 * tests/fixtures/bad/ holds a scenario.lua whose first line is
 *   -- expect: <the exact error message>
 * and loading it must fail with exactly that message. Adding a case is
 * adding a folder. Cases that need the file system arranged at run time
 * (symlinks leaving the folder, missing folders) are separate tests here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char GOOD_HEAD[] =
    "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n";

static bool only_tiny(const char *name, void *ctx)
{
    (void)ctx;
    return strcmp(name, "tiny") == 0;
}

static int load(cr_scenario **s, const char *path)
{
    cr_load_opts o = {.image_known = only_tiny};
    cr_error_clear();
    return cr_scenario_load(s, path, &o);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_every_bad_fixture_fails_with_its_expected_message(void **state)
{
    (void)state;
    char *root = tu_fixture("bad");
    DIR *d = opendir(root);
    assert_non_null(d);
    char *names[512];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512)
        if (e->d_name[0] != '.')
            names[n++] = cr_xstrdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp_names);
    assert_true(n >= 30);

    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char *dir = cr_path_join(root, names[i]);
        char *script = cr_path_join(dir, "scenario.lua");
        char *text = NULL;
        assert_int_equal(cr_read_file(&text, NULL, script), 0);
        const char *prefix = "-- expect: ";
        if (strncmp(text, prefix, strlen(prefix)) != 0) {
            fprintf(stderr, "%s: first line must be '-- expect: MESSAGE'\n", names[i]);
            failures++;
        } else {
            char *expect = text + strlen(prefix);
            expect[strcspn(expect, "\n")] = '\0';
            cr_scenario *s = NULL;
            int rc = load(&s, dir);
            if (rc >= 0 || s) {
                fprintf(stderr, "%s: loaded, expected: %s\n", names[i], expect);
                failures++;
            } else if (strcmp(cr_error_message(), expect) != 0) {
                fprintf(stderr, "%s:\n  expected: %s\n  got:      %s\n", names[i], expect, cr_error_message());
                failures++;
            }
            cr_scenario_free(s);
        }
        free(text);
        free(script);
        free(dir);
        free(names[i]);
    }
    free(root);
    assert_int_equal(failures, 0);
}

static void test_file_source_symlinked_outside_the_folder_is_rejected(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cr_buf b = {0};
    cr_buf_add(&b, GOOD_HEAD);
    cr_buf_add(&b, "vm{ name = \"a\", image = \"tiny\", provision = {\n"
                   "  file{ src = \"files/passwd\", dest = \"/etc/passwd.copy\" },\n"
                   "} }\n");
    tu_write(dir, "scenario.lua", b.data);
    tu_write(dir, "files/readme", "x\n");
    char *link = cr_path_join(dir, "files/passwd");
    assert_int_equal(symlink("/etc/passwd", link), 0);

    cr_scenario *s = NULL;
    assert_int_equal(load(&s, dir), CR_EINVAL);
    assert_null(s);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:3: file source 'files/passwd' resolves outside the scenario folder");
    free(link);
    cr_buf_free(&b);
    tu_rmtree(dir);
    free(dir);
}

static void test_missing_folder_is_not_found(void **state)
{
    (void)state;
    cr_scenario *s = NULL;
    assert_int_equal(load(&s, "/nonexistent/crange/case"), CR_ENOTFOUND);
    assert_null(s);
    assert_string_equal(cr_error_message(), "/nonexistent/crange/case: no such scenario folder");
}

static void test_folder_without_scenario_lua_is_not_found(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "README", "nothing here\n");
    cr_scenario *s = NULL;
    assert_int_equal(load(&s, dir), CR_ENOTFOUND);
    char *expect = cr_xasprintf("%s: no scenario.lua", dir);
    assert_string_equal(cr_error_message(), expect);
    free(expect);
    tu_rmtree(dir);
    free(dir);
}

static void test_scenario_lua_path_is_accepted_like_its_folder(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "scenario.lua", GOOD_HEAD);
    char *script = cr_path_join(dir, "scenario.lua");
    char *real = cr_realpath(dir);
    cr_scenario *s = NULL;
    assert_int_equal(load(&s, script), 0);
    assert_string_equal(s->dir, real);
    cr_scenario_free(s);
    free(real);
    free(script);
    tu_rmtree(dir);
    free(dir);
}

static void test_too_many_teams_are_refused(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    tu_write(dir, "scenario.lua", GOOD_HEAD);
    cr_load_opts o = {.teams = CR_MAX_TEAMS + 1};
    cr_scenario *s = NULL;
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, dir, &o), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "the number of teams must be from 1 to 999"));
    tu_rmtree(dir);
    free(dir);
}

static void test_error_message_is_one_line(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cr_buf b = {0};
    cr_buf_add(&b, GOOD_HEAD);
    cr_buf_add(&b, "local function deep() error(\"first\\nsecond\") end\n"
                   "local function deeper() deep() end\n"
                   "deeper()\n");
    tu_write(dir, "scenario.lua", b.data);
    cr_scenario *s = NULL;
    assert_int_equal(load(&s, dir), CR_EINVAL);
    assert_string_equal(cr_error_message(), "scenario.lua:2: first second");
    cr_buf_free(&b);
    tu_rmtree(dir);
    free(dir);
}

/* A scenario without a VM loads (fragments are read too), but is refused
 * where a range is meant to run it (validate, plan, lint, up). */
static void test_a_scenario_without_a_vm_is_refused_for_a_range(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cr_buf b = {0};
    cr_buf_add(&b, GOOD_HEAD);
    cr_buf_add(&b, "local lan = network{ name = \"lan\", cidr = \"10.0.0.0/24\" }\n");
    tu_write(dir, "scenario.lua", b.data);
    cr_scenario *s = NULL;
    assert_int_equal(load(&s, dir), 0);
    assert_int_equal(cr_model_require_vms(s), CR_EINVAL);
    assert_string_equal(cr_error_message(), "scenario.lua:1: scenario: no vm{} is declared (a range needs at least one VM)");
    cr_error_clear();
    cr_scenario_free(s);
    cr_buf_free(&b);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_bad_fixture_fails_with_its_expected_message),
        cmocka_unit_test(test_file_source_symlinked_outside_the_folder_is_rejected),
        cmocka_unit_test(test_missing_folder_is_not_found),
        cmocka_unit_test(test_folder_without_scenario_lua_is_not_found),
        cmocka_unit_test(test_scenario_lua_path_is_accepted_like_its_folder),
        cmocka_unit_test(test_too_many_teams_are_refused),
        cmocka_unit_test(test_error_message_is_one_line),
        cmocka_unit_test(test_a_scenario_without_a_vm_is_refused_for_a_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
