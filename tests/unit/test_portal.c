/*
 * test_portal.c: the portal's credentials without a server: team tokens
 * (derived from the range secret, one per team, in a fixed readable form)
 * and the instructor password (refused when short, stored as an argon2id
 * hash that only root can read). The HTTP side is tested end to end by
 * tests/e2e/test_portal.sh against a real server, range and browser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "portal.h"
#include "testutil.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_team_tokens_differ_per_team_and_secret_and_repeat(void **state)
{
    (void)state;
    unsigned char s1[32], s2[32];
    memset(s1, 1, sizeof s1);
    memset(s2, 2, sizeof s2);
    char a[CR_TEAM_TOKEN_LEN + 1], b[CR_TEAM_TOKEN_LEN + 1], c[CR_TEAM_TOKEN_LEN + 1], again[CR_TEAM_TOKEN_LEN + 1];
    cr_portal_team_token(a, s1, 1);
    cr_portal_team_token(b, s1, 2);
    cr_portal_team_token(c, s2, 1);
    cr_portal_team_token(again, s1, 1);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_equal(a, again);
    assert_int_equal(strlen(a), CR_TEAM_TOKEN_LEN);
    for (size_t i = 0; i < CR_TEAM_TOKEN_LEN; i++) {
        if (i % 5 == 4)
            assert_int_equal(a[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", a[i]));
    }
}

static void test_admin_password_is_stored_as_private_argon2id(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    cr_config c = {.state_dir = dir};
    assert_int_equal(cr_portal_set_admin_password(&c, "short"), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "at least 8"));
    cr_error_clear();
    assert_int_equal(cr_portal_set_admin_password(&c, "a long enough password"), 0);

    char *folder = cr_path_join(dir, "portal");
    char *path = cr_path_join(folder, "admin.argon2id");
    struct stat sf, sd;
    assert_int_equal(stat(path, &sf), 0);
    assert_int_equal(stat(folder, &sd), 0);
    assert_int_equal(sf.st_mode & 0777, 0600);
    assert_int_equal(sd.st_mode & 0777, 0700);
    char *hash = NULL;
    size_t len = 0;
    assert_int_equal(cr_read_file(&hash, &len, path), 0);
    assert_true(!strncmp(hash, "$argon2id$", 10));
    assert_int_equal(crypto_pwhash_str_verify(hash, "a long enough password", 22), 0);
    assert_int_not_equal(crypto_pwhash_str_verify(hash, "a long enough passworD", 22), 0);
    free(hash);
    free(path);
    free(folder);
    tu_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_team_tokens_differ_per_team_and_secret_and_repeat),
        cmocka_unit_test(test_admin_password_is_stored_as_private_argon2id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
