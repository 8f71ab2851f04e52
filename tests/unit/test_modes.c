/*
 * test_modes.c: the file modes that keep the state folder's secrets (range
 * databases with the range secret and every team's answers, their archives,
 * the portal's admin hash) to their owner, while QEMU, which runs as another
 * user, can still pass through the state folder to the images (paths.h). And
 * `crange doctor` ($CRANGE_BIN, --connect test:///default --no-probe) naming
 * any looser mode with the chmod to run. Modes are read back with stat(2),
 * under the umasks that would change them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "portal.h"
#include "state.h"
#include "testutil.h"
#include "util.h"

#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static mode_t g_umask; /* the caller's, put back after each test */

static int setup_dir(void **state)
{
    g_umask = umask(022);
    *state = tu_tmpdir();
    return 0;
}

static int teardown_dir(void **state)
{
    umask(g_umask);
    tu_rmtree(*state);
    free(*state);
    return 0;
}

/* The permission bits of PATH (fails the test when it is missing). */
static unsigned mode_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        fail_msg("%s: missing", path);
    return sb.st_mode & 07777;
}

#define assert_mode(path, want)                                                                                        \
    do {                                                                                                               \
        unsigned got_ = mode_of(path);                                                                                 \
        if (got_ != (unsigned)(want))                                                                                  \
            fail_msg("%s is %04o, expected %04o", (path), got_, (unsigned)(want));                                     \
    } while (0)

/* A range database with its row written and its connection open, so that
 * the -wal and -shm SQLite makes beside it exist. */
static cr_state *range_with_row(const char *dir, const char *range)
{
    cr_state *st = NULL;
    cr_error_clear();
    if (cr_state_open(&st, dir, range, true) < 0)
        fail_msg("open: %s", cr_error_message());
    cr_range_row r = {.name = (char *)range,
                      .scenario_id = (char *)"demo",
                      .scenario_dir = (char *)"/srv/demo",
                      .scenario_digest = (char *)"00",
                      .teams = 2,
                      .hosts = (char *)"[]",
                      .accel = (char *)"tcg",
                      .status = (char *)"up"};
    memset(r.secret, 0xa5, sizeof r.secret);
    assert_int_equal(cr_state_put_range(st, &r), 0);
    return st;
}

/* Before: range.db 0644 and ranges/<range>/ 0755 (a umask of 022 leaves
 * SQLite's 0644 and cr_mkdir_p's 0755 as they are). */
static void test_modes_fresh_range_db_and_its_wal_and_shm_are_0600_in_0700_folders(void **state)
{
    const char *dir = *state;
    cr_state *st = range_with_row(dir, "alpha");
    char *db = cr_range_db_path(dir, "alpha");
    char *wal = cr_xasprintf("%s-wal", db), *shm = cr_xasprintf("%s-shm", db);
    char *rdir = cr_range_dir(dir, "alpha"), *ranges = cr_path_join(dir, "ranges");
    assert_mode(db, 0600);
    assert_mode(wal, 0600);
    assert_mode(shm, 0600);
    assert_mode(rdir, 0700);
    assert_mode(ranges, 0700);
    cr_state_close(st);
    free(db);
    free(wal);
    free(shm);
    free(rdir);
    free(ranges);
}

/* A umask of 0 would have left SQLite's 0644 (and 0666 -wal) as is. */
static void test_modes_range_db_stays_0600_under_an_open_umask(void **state)
{
    const char *dir = *state;
    umask(0);
    cr_state *st = range_with_row(dir, "beta");
    char *db = cr_range_db_path(dir, "beta");
    char *wal = cr_xasprintf("%s-wal", db);
    char *rdir = cr_range_dir(dir, "beta");
    assert_mode(db, 0600);
    assert_mode(wal, 0600);
    assert_mode(rdir, 0700);
    cr_state_close(st);
    free(db);
    free(wal);
    free(rdir);
}

/* The lock is taken before the database is made (crange up): the folder it
 * makes is private too. */
static void test_modes_range_lock_makes_a_0700_range_folder(void **state)
{
    const char *dir = *state;
    int fd = -1;
    assert_int_equal(cr_range_lock(&fd, dir, "gamma"), 0);
    char *rdir = cr_range_dir(dir, "gamma"), *ranges = cr_path_join(dir, "ranges");
    assert_mode(ranges, 0700);
    assert_mode(rdir, 0700);
    cr_range_unlock(fd);
    free(rdir);
    free(ranges);
}

/* An archived database keeps the secret: 0600 in a 0700 folder (before:
 * archive/ was 0755). */
static void test_modes_archived_range_db_is_0600_in_a_0700_folder(void **state)
{
    const char *dir = *state;
    cr_state_close(range_with_row(dir, "delta"));
    char *archived = NULL;
    assert_int_equal(cr_state_archive(dir, "delta", &archived), 0);
    char *adir = cr_path_join(dir, "archive");
    assert_mode(archived, 0600);
    assert_mode(adir, 0700);
    free(archived);
    free(adir);
}

static void config_for(cr_config *c, const char *state_dir)
{
    memset(c, 0, sizeof *c);
    c->state_dir = cr_xstrdup(state_dir);
    c->connect = cr_xstrdup("test:///default");
    c->accel = cr_xstrdup("tcg");
    c->jobs = 1;
}

/* The state folder: QEMU passes through it (x), no one else lists it
 * (before: 0755). Under a umask of 077 mkdir alone would give 0700, and
 * QEMU could not reach the images. Its parents are not ours: 0755. */
static void test_modes_new_state_folder_is_0711_whatever_the_umask(void **state)
{
    const char *dir = *state;
    const mode_t masks[] = {022, 077, 0};
    for (size_t i = 0; i < sizeof masks / sizeof *masks; i++) {
        umask(masks[i]);
        char *parent = cr_xasprintf("%s/u%zu", dir, i);
        char *sd = cr_xasprintf("%s/state/", parent); /* a trailing slash, as a user may type it */
        cr_config c;
        config_for(&c, sd);
        cr_error_clear();
        if (cr_config_finish(&c) < 0)
            fail_msg("finish: %s", cr_error_message());
        sd[strlen(sd) - 1] = '\0';
        assert_mode(sd, 0711);
        assert_mode(parent, 0755 & ~masks[i]);
        cr_config_free(&c);
        free(sd);
        free(parent);
    }
}

/* An existing folder keeps its mode: the administrator's (doctor warns). */
static void test_modes_existing_state_folder_keeps_its_mode(void **state)
{
    const char *dir = *state;
    char *sd = cr_path_join(dir, "mine");
    assert_int_equal(mkdir(sd, 0750), 0);
    cr_config c;
    config_for(&c, sd);
    assert_int_equal(cr_config_finish(&c), 0);
    assert_mode(sd, 0750);
    cr_config_free(&c);
    free(sd);
}

/* The admin hash: 0600 in a 0700 folder; a state folder made on the way is
 * 0711 (cr_mkdir_p(portal, 0700) made it 0700, shutting QEMU out). */
static void test_modes_admin_hash_is_0600_and_its_folders_private(void **state)
{
    const char *dir = *state;
    umask(0);
    char *sd = cr_path_join(dir, "fresh");
    cr_config c;
    config_for(&c, sd);
    assert_int_equal(cr_portal_set_admin_password(&c, "a long enough password"), 0);
    char *portal = cr_path_join(sd, "portal"), *hash = cr_path_join(portal, "admin.argon2id");
    assert_mode(sd, 0711);
    assert_mode(portal, 0700);
    assert_mode(hash, 0600);
    cr_config_free(&c);
    free(portal);
    free(hash);
    free(sd);
}

/* ---- crange doctor -------------------------------------------------------- */

/* Runs `crange --state STATE --connect test:///default --json doctor
 * --no-probe` and returns its checks (the caller decrefs). */
static json_t *doctor(const char *tmp, const char *state_dir)
{
    const char *bin = getenv("CRANGE_BIN");
    if (!bin)
        fail_msg("CRANGE_BIN is not set (run the tests through ctest)");
    char *out_path = cr_path_join(tmp, "doctor.out");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open("/dev/null", O_WRONLY);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(99);
        execl(bin, bin, "--state", state_dir, "--connect", "test:///default", "--json", "doctor", "--no-probe",
              (char *)NULL);
        _exit(98);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* 1: test:///default offers no TCG; anything else (a sanitizer's 23) is a fault. */
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
    char *out = NULL;
    assert_int_equal(cr_read_file(&out, NULL, out_path), 0);
    json_t *j = json_loads(out, 0, NULL);
    if (!j)
        fail_msg("doctor printed no JSON: %s", out);
    json_t *checks = json_incref(json_object_get(j, "checks"));
    assert_true(json_is_array(checks));
    json_decref(j);
    unlink(out_path);
    free(out_path);
    free(out);
    return checks;
}

/* How many "secrets" checks have RESULT; *detail (may be NULL) gets the
 * detail of the one naming NEEDLE, if any. */
static size_t secrets_checks(json_t *checks, const char *result, const char *needle, const char **detail)
{
    size_t i, n = 0;
    json_t *c;
    if (detail)
        *detail = NULL;
    json_array_foreach(checks, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "check")), "secrets") ||
            strcmp(json_string_value(json_object_get(c, "result")), result))
            continue;
        n++;
        const char *d = json_string_value(json_object_get(c, "detail"));
        if (detail && needle && strstr(d, needle))
            *detail = d;
    }
    return n;
}

static void test_modes_doctor_is_quiet_about_private_secrets(void **state)
{
    const char *dir = *state;
    char *sd = cr_path_join(dir, "st");
    cr_config c;
    config_for(&c, sd);
    assert_int_equal(cr_config_finish(&c), 0);
    cr_state_close(range_with_row(c.state_dir, "quiet"));
    assert_int_equal(cr_portal_set_admin_password(&c, "a long enough password"), 0);
    json_t *checks = doctor(dir, c.state_dir);
    assert_int_equal(secrets_checks(checks, "warn", NULL, NULL), 0);
    assert_int_equal(secrets_checks(checks, "ok", NULL, NULL), 1);
    json_decref(checks);
    cr_config_free(&c);
    free(sd);
}

/* Before: doctor said nothing about a range.db that every local user could
 * read. */
static void test_modes_doctor_warns_on_a_0644_range_db_with_the_chmod_to_run(void **state)
{
    const char *dir = *state;
    char *sd = cr_path_join(dir, "st");
    cr_config c;
    config_for(&c, sd);
    assert_int_equal(cr_config_finish(&c), 0);
    cr_state_close(range_with_row(c.state_dir, "leaky"));
    assert_int_equal(cr_portal_set_admin_password(&c, "a long enough password"), 0);
    char *db = cr_range_db_path(c.state_dir, "leaky");
    char *ranges = cr_path_join(c.state_dir, "ranges");
    char *hash = cr_xasprintf("%s/portal/admin.argon2id", c.state_dir);
    assert_int_equal(chmod(db, 0644), 0);
    assert_int_equal(chmod(ranges, 0755), 0);
    assert_int_equal(chmod(c.state_dir, 0755), 0);
    assert_int_equal(chmod(hash, 0640), 0);

    json_t *checks = doctor(dir, c.state_dir);
    const char *d = NULL;
    assert_int_equal(secrets_checks(checks, "ok", NULL, NULL), 0);
    assert_int_equal(secrets_checks(checks, "warn", NULL, NULL), 4);

    char *want = cr_xasprintf("%s (mode 0644) holds the range secret and every team's answers, and group or others "
                              "can read it; run: chmod 600 %s",
                              db, db);
    secrets_checks(checks, "warn", "range.db ", &d);
    assert_non_null(d);
    assert_string_equal(d, want);
    free(want);

    want = cr_xasprintf("%s (mode 0755) holds the range databases, and group or others can list it; run: chmod 700 %s",
                        ranges, ranges);
    secrets_checks(checks, "warn", "ranges ", &d);
    assert_non_null(d);
    assert_string_equal(d, want);
    free(want);

    want = cr_xasprintf("run: chmod 711 %s", c.state_dir);
    secrets_checks(checks, "warn", want, &d);
    assert_non_null(d);
    free(want);

    want = cr_xasprintf("run: chmod 600 %s", hash);
    secrets_checks(checks, "warn", want, &d);
    assert_non_null(d);
    assert_non_null(strstr(d, "(mode 0640) holds the admin password hash"));
    free(want);
    json_decref(checks);

    /* Once the commands it gave are run, it is quiet. */
    assert_int_equal(chmod(db, 0600), 0);
    assert_int_equal(chmod(ranges, 0700), 0);
    assert_int_equal(chmod(c.state_dir, 0711), 0);
    assert_int_equal(chmod(hash, 0600), 0);
    checks = doctor(dir, c.state_dir);
    assert_int_equal(secrets_checks(checks, "warn", NULL, NULL), 0);
    json_decref(checks);

    free(db);
    free(ranges);
    free(hash);
    cr_config_free(&c);
    free(sd);
}

/* A path a shell would split is quoted in the chmod line. */
static void test_modes_doctor_quotes_a_path_with_spaces(void **state)
{
    const char *dir = *state;
    char *sd = cr_path_join(dir, "my state");
    cr_config c;
    config_for(&c, sd);
    assert_int_equal(cr_config_finish(&c), 0);
    cr_state_close(range_with_row(c.state_dir, "r1"));
    char *db = cr_range_db_path(c.state_dir, "r1");
    assert_int_equal(chmod(db, 0604), 0);
    json_t *checks = doctor(dir, c.state_dir);
    char *want = cr_xasprintf("run: chmod 600 '%s'", db);
    const char *d = NULL;
    secrets_checks(checks, "warn", want, &d);
    assert_non_null(d);
    free(want);
    json_decref(checks);
    free(db);
    cr_config_free(&c);
    free(sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_modes_fresh_range_db_and_its_wal_and_shm_are_0600_in_0700_folders,
                                        setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_range_db_stays_0600_under_an_open_umask, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_range_lock_makes_a_0700_range_folder, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_archived_range_db_is_0600_in_a_0700_folder, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_new_state_folder_is_0711_whatever_the_umask, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_existing_state_folder_keeps_its_mode, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_admin_hash_is_0600_and_its_folders_private, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_doctor_is_quiet_about_private_secrets, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_doctor_warns_on_a_0644_range_db_with_the_chmod_to_run, setup_dir,
                                        teardown_dir),
        cmocka_unit_test_setup_teardown(test_modes_doctor_quotes_a_path_with_spaces, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
