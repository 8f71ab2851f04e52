/*
 * test_readme.c: README.md's CLI reference lists every command with the
 * synopsis its --help prints (commands.c), options and all, so that the
 * table cannot fall behind the code again (an author once found six options
 * only in --help).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"
#include "testutil.h"
#include "util.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readme_lists_every_command_with_its_synopsis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
