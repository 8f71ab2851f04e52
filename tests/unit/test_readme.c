/*
 * test_readme.c: README.md's CLI reference lists every command with the
 * synopsis its --help prints (commands.c), options and all, so that the
 * table cannot fall behind the code again (an author once found six options
 * only in --help); and docs/TUTORIAL.md's finished scenario lints clean, so
 * the tutorial cannot fall behind the language.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "lint.h"
#include "testutil.h"
#include "util.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_readme_lists_every_command_with_its_synopsis(void **state)
{
    (void)state;
    char *path = tu_source("README.md");
    char *readme = NULL;
    size_t len = 0;
    if (cr_read_file(&readme, &len, path) < 0)
        fail_msg("cannot read %s", path);
    cr_buf missing = {0};
    for (const cr_command *c = cr_commands; c->name; c++) {
        /* In a Markdown table a '|' of the synopsis is written '\|'. */
        cr_buf want = {0};
        cr_buf_add(&want, "`crange ");
        for (const char *p = c->synopsis; *p; p++)
            cr_buf_add(&want, *p == '|' ? "\\|" : (char[]){*p, '\0'});
        cr_buf_add(&want, "`");
        if (!strstr(readme, want.data))
            cr_buf_addf(&missing, "  %s\n", want.data);
        cr_buf_free(&want);
    }
    if (missing.len)
        fail_msg("README.md's CLI reference lacks these synopses (as --help prints them):\n%s", missing.data);
    free(readme);
    free(path);
}

static void test_tutorial_scenario_lints_clean(void **state)
{
    (void)state;
    static const char MARK[] = "<!-- tutorial: scenario.lua -->\n```lua\n";
    char *path = tu_source("docs/TUTORIAL.md");
    char *doc = NULL;
    if (cr_read_file(&doc, NULL, path) < 0)
        fail_msg("cannot read %s", path);
    char *start = strstr(doc, MARK);
    assert_non_null(start);
    start += strlen(MARK);
    char *end = strstr(start, "\n```");
    assert_non_null(end);
    end[1] = '\0';
    char *dir = tu_tmpdir(), *state_dir = tu_tmpdir();
    tu_write(dir, "scenario.lua", start);
    cr_config cfg;
    cr_config_defaults(&cfg);
    free(cfg.state_dir);
    cfg.state_dir = cr_xstrdup(state_dir);
    json_t *findings = NULL;
    size_t errors = 0;
    cr_lint_opts o = {.path = dir};
    if (cr_lint(&findings, &errors, &cfg, &o) < 0)
        fail_msg("lint could not run: %s", cr_error_message());
    if (json_array_size(findings)) {
        char *text = json_dumps(findings, JSON_INDENT(1));
        fail_msg("docs/TUTORIAL.md's scenario has lint findings:\n%s", text);
    }
    json_decref(findings);
    cr_config_free(&cfg);
    tu_rmtree(dir);
    tu_rmtree(state_dir);
    free(dir);
    free(state_dir);
    free(doc);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_lists_every_command_with_its_synopsis),
        cmocka_unit_test(test_tutorial_scenario_lints_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
