/*
 * test_scenario_files.c: the rules every reader of a scenario folder's files
 * goes through (cr_scenario_files_list, scenario.h): symbolic links that
 * leave the folder, go into .git/, loop or name a folder are refused, and so
 * are folders over the caps, by cr_scenario_load (validate, lint, plan, up)
 * and cr_scenario_digest alike; links that stay inside still load, and the
 * digest of a good folder is what it always was. Real files in a temporary
 * folder; the big ones are sparse, so the tests stay fast.
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

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char HEAD[] =
    "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n";

#define MIB (1024ll * 1024)

typedef struct fixture {
    char *dir; /* the scenario folder, holding scenario.lua */
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    tu_write(f->dir, "scenario.lua", HEAD);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void link_at(const fixture *f, const char *rel, const char *target)
{
    char *path = cr_path_join(f->dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    assert_int_equal(cr_mkdir_p(path, 0755), 0);
    *slash = '/';
    assert_int_equal(symlink(target, path), 0);
    free(path);
}

/* A sparse file of SIZE bytes: no blocks written, so 200 MiB costs nothing. */
static void sparse_at(const fixture *f, const char *rel, long long size)
{
    tu_write(f->dir, rel, "");
    char *path = cr_path_join(f->dir, rel);
    assert_int_equal(truncate(path, (off_t)size), 0);
    free(path);
}

/* Loading the folder and digesting it both fail with EXPECT. */
static void refused(const fixture *f, const char *expect)
{
    cr_scenario *s = NULL;
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, f->dir, NULL), CR_EINVAL);
    assert_null(s);
    assert_string_equal(cr_error_message(), expect);

    unsigned char digest[32];
    cr_error_clear();
    assert_int_equal(cr_scenario_digest(digest, f->dir), CR_EINVAL);
    assert_string_equal(cr_error_message(), expect);
    cr_error_clear();
}

static cr_scenario *loads(const fixture *f)
{
    cr_scenario *s = NULL;
    cr_error_clear();
    int rc = cr_scenario_load(&s, f->dir, NULL);
    if (rc < 0)
        fail_msg("load failed: %s", cr_error_message());
    return s;
}

static void test_link_to_etc_shadow_is_refused(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/readme.txt", "x\n");
    link_at(f, "files/notes.txt", "/etc/shadow");
    refused(f, "files/notes.txt: symlink to '/etc/shadow' points outside the scenario folder");
}

static void test_link_to_a_file_beside_the_folder_is_refused(void **state)
{
    fixture *f = *state;
    char *outside = cr_xasprintf("%s-outside", f->dir);
    tu_write(outside, "secret.txt", "not the scenario's\n");
    char *target = cr_xasprintf("../../%s/secret.txt", strrchr(outside, '/') + 1);
    link_at(f, "files/up", target);
    char *expect = cr_xasprintf("files/up: symlink to '%s' points outside the scenario folder", target);
    refused(f, expect);
    free(expect);
    free(target);
    tu_rmtree(outside);
    free(outside);
}

static void test_link_into_git_is_refused(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, ".git/config", "[remote \"origin\"]\n\turl = https://token@example.org/x.git\n");
    link_at(f, "files/cfg", "../.git/config");
    refused(f, "files/cfg: symlink to '../.git/config' points into .git/");
}

static void test_self_referencing_link_is_refused_as_a_loop(void **state)
{
    fixture *f = *state;
    link_at(f, "files/loop", "loop");
    refused(f, "files/loop: symlink to 'loop' loops (more than 40 links to follow)");
}

static void test_two_links_naming_each_other_are_refused_as_a_loop(void **state)
{
    fixture *f = *state;
    link_at(f, "files/a", "b");
    link_at(f, "files/b", "a");
    refused(f, "files/a: symlink to 'b' loops (more than 40 links to follow)");
}

static void test_link_to_a_folder_is_refused(void **state)
{
    fixture *f = *state;
    link_at(f, "again", ".");
    refused(f, "again: symlink to '.' names a folder; link the files in it instead");
}

static void test_fifo_is_refused(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/readme.txt", "x\n");
    char *fifo = cr_path_join(f->dir, "files/pipe");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    refused(f, "files/pipe: not a regular file, a folder or a symbolic link");
    free(fifo);
}

static void test_file_over_the_cap_is_refused(void **state)
{
    fixture *f = *state;
    sparse_at(f, "files/big.bin", 200 * MIB);
    refused(f, "files/big.bin: 200.0 MiB is over the 16 MiB a scenario file may have");
}

static void test_file_one_byte_over_the_cap_says_by_how_much(void **state)
{
    fixture *f = *state;
    sparse_at(f, "files/big.bin", 16 * MIB + 1);
    refused(f, "files/big.bin: 16777217 bytes is over the 16 MiB a scenario file may have");
}

static void test_files_over_the_total_cap_are_refused(void **state)
{
    fixture *f = *state;
    const char *names[] = {"files/a.bin", "files/b.bin", "files/c.bin", "files/d.bin", "files/e.bin"};
    for (size_t i = 0; i < 5; i++)
        sparse_at(f, names[i], 15 * MIB);
    refused(f, "files/e.bin: takes the scenario folder to 75.0 MiB, over the 64 MiB a scenario folder may have");
}

/* The snapshot stores a copy of a link's file under the link's name, so
 * links cannot multiply what range.db takes past the cap. */
static void test_links_count_their_file_again(void **state)
{
    fixture *f = *state;
    sparse_at(f, "files/data.bin", 15 * MIB);
    const char *links[] = {"files/l1", "files/l2", "files/l3", "files/l4"};
    for (size_t i = 0; i < 4; i++)
        link_at(f, links[i], "data.bin");
    refused(f, "files/l4: takes the scenario folder to 75.0 MiB, over the 64 MiB a scenario folder may have");
}

static void write_many(const fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "files/f%04d", i);
        tu_write(f->dir, rel, "x");
    }
}

static void test_too_many_files_are_refused(void **state)
{
    fixture *f = *state;
    /* files/, 1000 files in it and scenario.lua: 1002 entries. */
    write_many(f, 1000);
    cr_scenario *s = NULL;
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&s, f->dir, NULL), CR_EINVAL);
    assert_null(s);
    const char *msg = cr_error_message(), *tail = ": more than the 1000 files and folders a scenario folder may have";
    /* Which file is named depends on which 1000 of them the folder listed
     * first: a folder is read no further than the cap. */
    assert_true(!strncmp(msg, "files/f", 7));
    assert_true(strlen(msg) > strlen(tail) && !strcmp(msg + strlen(msg) - strlen(tail), tail));
    cr_error_clear();
}

static void test_as_many_files_as_the_cap_load(void **state)
{
    fixture *f = *state;
    /* files/, 998 files in it and scenario.lua: 1000 entries. */
    write_many(f, 998);
    cr_scenario *s = loads(f);
    cr_scenario_free(s);
}

/* A repository's .git (dot names are skipped everywhere) counts for nothing. */
static void test_dot_folders_are_not_counted(void **state)
{
    fixture *f = *state;
    sparse_at(f, ".git/objects/pack/big.pack", 200 * MIB);
    cr_scenario *s = loads(f);
    cr_scenario_free(s);
}

static void test_links_that_stay_inside_load_with_the_digest_unchanged(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/real.txt", "real\n");
    link_at(f, "files/alias.txt", "real.txt");
    link_at(f, "dangling", "files/not-yet");
    cr_scenario *s = loads(f);
    /* BLAKE2b-256 of this folder as the digest has always framed it
     * ("crange.digest.v1", then per path in order 'l' path target or
     * 'f' path size content), computed apart with Python's hashlib. */
    char hex[65];
    cr_hex(hex, s->digest, sizeof s->digest);
    assert_string_equal(hex, "9ee49c2dc522170b6a4e5ec04321a20300cd1eed6e4c53f055a7e3b5e91bfd03");
    unsigned char again[32];
    assert_int_equal(cr_scenario_digest(again, f->dir), 0);
    assert_memory_equal(again, s->digest, 32);
    cr_scenario_free(s);
}

static void test_link_through_a_parent_that_loops_back_stays_inside(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/real.txt", "real\n");
    link_at(f, "files/again", "../files/./real.txt");
    cr_scenario *s = loads(f);
    cr_scenario_free(s);
}

static void test_link_check_resolves_as_the_kernel_does(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/real.txt", "real\n");
    link_at(f, "d", ".");
    link_at(f, "files/sub", "..");
    /* Lexically inside, but d is the root itself, so d/.. is its parent. */
    assert_int_equal(cr_scenario_link_check(f->dir, "files/e", "../d/../x"), CR_LINK_OUTSIDE);
    assert_int_equal(cr_scenario_link_check(f->dir, "files/e", "sub/files/real.txt"), CR_LINK_INSIDE);
    assert_int_equal(cr_scenario_link_check(f->dir, "files/e", "sub/.."), CR_LINK_OUTSIDE);
    assert_int_equal(cr_scenario_link_check(f->dir, "e", "/etc/passwd"), CR_LINK_OUTSIDE);
    assert_int_equal(cr_scenario_link_check(f->dir, "e", "files/../.git/hooks"), CR_LINK_INTO_GIT);
    assert_int_equal(cr_scenario_link_check(f->dir, "e", "not/yet/there"), CR_LINK_INSIDE);
}

static void test_listing_reads_a_link_as_its_file(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/real.txt", "real\n");
    link_at(f, "files/alias.txt", "real.txt");
    link_at(f, "dangling", "files/not-yet");
    cr_scenario_files fl;
    assert_int_equal(cr_scenario_files_list(&fl, f->dir), 0);
    assert_int_equal(fl.n, 4);
    const char *order[] = {"dangling", "files/alias.txt", "files/real.txt", "scenario.lua"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(fl.files[i].path, order[i]);
    assert_false(fl.files[0].has_content);
    assert_string_equal(fl.files[1].target, "real.txt");
    assert_null(fl.files[2].target);
    assert_int_equal(fl.total, 5 + 5 + strlen(HEAD));

    char *data = NULL;
    size_t len = 0;
    assert_int_equal(cr_scenario_file_read(&data, &len, f->dir, &fl.files[1]), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "real\n");
    free(data);
    cr_error_clear();
    assert_int_equal(cr_scenario_file_read(&data, &len, f->dir, &fl.files[0]), CR_EINVAL);
    assert_null(data);
    assert_string_equal(cr_error_message(), "dangling: symlink to 'files/not-yet' names nothing to read");
    cr_error_clear();
    cr_scenario_files_clear(&fl);
    assert_int_equal(fl.n, 0);
    cr_scenario_files_clear(NULL);
}

/* A file that grew past the cap after the listing is refused, not read. */
static void test_reading_a_file_grown_since_the_listing_is_refused(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "files/grows.bin", "small");
    cr_scenario_files fl;
    assert_int_equal(cr_scenario_files_list(&fl, f->dir), 0);
    assert_string_equal(fl.files[0].path, "files/grows.bin");
    char *path = cr_path_join(f->dir, "files/grows.bin");
    assert_int_equal(truncate(path, 200 * MIB), 0);
    char *data = NULL;
    size_t len = 0;
    cr_error_clear();
    assert_int_equal(cr_scenario_file_read(&data, &len, f->dir, &fl.files[0]), CR_EINVAL);
    assert_null(data);
    assert_string_equal(cr_error_message(), "files/grows.bin: 200.0 MiB is over the 16 MiB a scenario file may have");
    cr_error_clear();
    free(path);
    cr_scenario_files_clear(&fl);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_link_to_etc_shadow_is_refused),
        T(test_link_to_a_file_beside_the_folder_is_refused),
        T(test_link_into_git_is_refused),
        T(test_self_referencing_link_is_refused_as_a_loop),
        T(test_two_links_naming_each_other_are_refused_as_a_loop),
        T(test_link_to_a_folder_is_refused),
        T(test_fifo_is_refused),
        T(test_file_over_the_cap_is_refused),
        T(test_file_one_byte_over_the_cap_says_by_how_much),
        T(test_files_over_the_total_cap_are_refused),
        T(test_links_count_their_file_again),
        T(test_too_many_files_are_refused),
        T(test_as_many_files_as_the_cap_load),
        T(test_dot_folders_are_not_counted),
        T(test_links_that_stay_inside_load_with_the_digest_unchanged),
        T(test_link_through_a_parent_that_loops_back_stays_inside),
        T(test_link_check_resolves_as_the_kernel_does),
        T(test_listing_reads_a_link_as_its_file),
        T(test_reading_a_file_grown_since_the_listing_is_refused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
