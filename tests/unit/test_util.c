/*
 * test_util.c: the helpers of util.h and the error contract of err.h:
 * IPv4/CIDR parsing and arithmetic, names, XML escaping, hex, atomic writes,
 * recursive removal, and the set-once, per-thread error message.
 * Files are real, in a temporary folder per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "log.h"
#include "testutil.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* ------------------------------------------------------------------ CIDR */

static void test_cidr_parse_accepts_network_addresses(void **state)
{
    (void)state;
    uint32_t a = 0;
    int p = -1;
    assert_int_equal(cr_cidr_parse(&a, &p, "10.0.0.0/24"), 0);
    assert_int_equal(a, IP(10, 0, 0, 0));
    assert_int_equal(p, 24);
    assert_int_equal(cr_cidr_parse(&a, &p, "0.0.0.0/0"), 0);
    assert_int_equal(a, 0);
    assert_int_equal(p, 0);
    assert_int_equal(cr_cidr_parse(&a, &p, "192.168.1.7/32"), 0);
    assert_int_equal(a, IP(192, 168, 1, 7));
    assert_int_equal(p, 32);
    assert_int_equal(cr_cidr_parse(&a, &p, "172.16.0.0/12"), 0);
    assert_int_equal(a, IP(172, 16, 0, 0));
    assert_int_equal(p, 12);
}

static void test_cidr_parse_rejects_host_bits_set(void **state)
{
    (void)state;
    uint32_t a = 0xdeadbeef;
    int p = 99;
    assert_int_equal(cr_cidr_parse(&a, &p, "10.0.0.1/24"), CR_EINVAL);
    assert_int_equal(cr_cidr_parse(&a, &p, "10.0.1.0/23"), CR_EINVAL);
    assert_int_equal(cr_cidr_parse(&a, &p, "1.0.0.0/0"), CR_EINVAL);
    /* A failed parse leaves the outputs alone. */
    assert_int_equal(a, 0xdeadbeef);
    assert_int_equal(p, 99);
}

static void test_cidr_parse_rejects_bad_prefixes(void **state)
{
    (void)state;
    uint32_t a;
    int p;
    const char *bad[] = {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+24", "10.0.0.0/", "10.0.0.0/24x",
                         "10.0.0.0/2 4", "10.0.0.0/ 24", "10.0.0.0/\t24", "10.0.0.0/99999999999999999999",
                         "10.0.0.0/24/8"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (cr_cidr_parse(&a, &p, bad[i]) != CR_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_cidr_parse_rejects_junk(void **state)
{
    (void)state;
    uint32_t a;
    int p;
    const char *bad[] = {"",          "junk",         "10.0.0.0",      "/24",           "10.0.0/24",
                         "10.0.0.0.0/24", "256.0.0.0/8", " 10.0.0.0/24", "10.0.0.0 /24", "a.b.c.d/8",
                         "1111111111111111111111/8", "10.00.0.0/16"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (cr_cidr_parse(&a, &p, bad[i]) != CR_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
    /* util.h: "no message set" on CR_EINVAL from the parsers. */
    cr_error_clear();
    assert_int_equal(cr_cidr_parse(&a, &p, "junk"), CR_EINVAL);
    assert_false(cr_error_pending());
}

static void test_cidr_mask_covers_every_prefix(void **state)
{
    (void)state;
    assert_int_equal(cr_cidr_mask(0), 0);
    assert_int_equal(cr_cidr_mask(1), 0x80000000u);
    assert_int_equal(cr_cidr_mask(24), 0xffffff00u);
    assert_int_equal(cr_cidr_mask(31), 0xfffffffeu);
    assert_int_equal(cr_cidr_mask(32), 0xffffffffu);
}

static void test_cidr_contains_only_addresses_inside(void **state)
{
    (void)state;
    uint32_t net = IP(10, 1, 0, 0);
    assert_true(cr_cidr_contains(net, 16, IP(10, 1, 0, 0)));
    assert_true(cr_cidr_contains(net, 16, IP(10, 1, 255, 255)));
    assert_false(cr_cidr_contains(net, 16, IP(10, 2, 0, 0)));
    assert_false(cr_cidr_contains(net, 16, IP(10, 0, 255, 255)));
    assert_true(cr_cidr_contains(0, 0, IP(203, 0, 113, 9)));
    assert_true(cr_cidr_contains(IP(10, 0, 0, 5), 32, IP(10, 0, 0, 5)));
    assert_false(cr_cidr_contains(IP(10, 0, 0, 5), 32, IP(10, 0, 0, 6)));
}

static void test_cidr_overlap_is_symmetric_and_exact(void **state)
{
    (void)state;
    /* Nested. */
    assert_true(cr_cidr_overlap(IP(10, 0, 0, 0), 8, IP(10, 20, 0, 0), 24));
    assert_true(cr_cidr_overlap(IP(10, 20, 0, 0), 24, IP(10, 0, 0, 0), 8));
    /* Equal. */
    assert_true(cr_cidr_overlap(IP(10, 20, 0, 0), 24, IP(10, 20, 0, 0), 24));
    /* Adjacent but disjoint. */
    assert_false(cr_cidr_overlap(IP(10, 20, 0, 0), 24, IP(10, 20, 1, 0), 24));
    assert_false(cr_cidr_overlap(IP(10, 20, 1, 0), 24, IP(10, 20, 0, 0), 24));
    assert_false(cr_cidr_overlap(IP(10, 0, 0, 0), 25, IP(10, 0, 0, 128), 25));
    /* /0 overlaps everything. */
    assert_true(cr_cidr_overlap(0, 0, IP(192, 168, 0, 0), 16));
}

/* ------------------------------------------------------------------ IPv4 */

static void test_ipv4_parse_accepts_dotted_quads_only(void **state)
{
    (void)state;
    uint32_t a = 0;
    assert_int_equal(cr_ipv4_parse(&a, "10.1.2.3"), 0);
    assert_int_equal(a, IP(10, 1, 2, 3));
    assert_int_equal(cr_ipv4_parse(&a, "0.0.0.0"), 0);
    assert_int_equal(a, 0);
    assert_int_equal(cr_ipv4_parse(&a, "255.255.255.255"), 0);
    assert_int_equal(a, 0xffffffffu);

    const char *bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ",
                         "0x0a.0.0.1", "10", "1.2.3.4/24", "localhost", "::1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        a = 0x12345678;
        if (cr_ipv4_parse(&a, bad[i]) != CR_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_int_equal(a, 0x12345678);
    }
    assert_int_equal(cr_ipv4_parse(&a, NULL), CR_EINVAL);
}

static void test_ipv4_format_round_trips(void **state)
{
    (void)state;
    char out[16];
    cr_ipv4_format(out, 0);
    assert_string_equal(out, "0.0.0.0");
    cr_ipv4_format(out, 0xffffffffu);
    assert_string_equal(out, "255.255.255.255");
    uint32_t samples[] = {IP(10, 0, 0, 1), IP(192, 168, 100, 254), IP(1, 2, 3, 4), IP(172, 31, 0, 0)};
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
        uint32_t back = 0;
        cr_ipv4_format(out, samples[i]);
        assert_int_equal(cr_ipv4_parse(&back, out), 0);
        assert_int_equal(back, samples[i]);
    }
}

/* ------------------------------------------------------------------ names */

static void test_name_valid_edge_cases(void **state)
{
    (void)state;
    assert_true(cr_name_valid("a", 31));
    assert_true(cr_name_valid("web-1", 31));
    assert_true(cr_name_valid("a0-b1-c2", 31));

    assert_false(cr_name_valid("", 31));
    assert_false(cr_name_valid("1web", 31));     /* must start with a letter */
    assert_false(cr_name_valid("-web", 31));
    assert_false(cr_name_valid("web-", 31));     /* a trailing '-' reads as a cut-off name */
    assert_false(cr_name_valid("Web", 31));      /* lowercase only */
    assert_false(cr_name_valid("web_1", 31));
    assert_false(cr_name_valid("web.1", 31));    /* '.' separates parts of libvirt names */
    assert_false(cr_name_valid("web 1", 31));
    assert_false(cr_name_valid("web/1", 31));
    assert_false(cr_name_valid("caf\xc3\xa9", 31));

    /* The limit is inclusive. */
    char name[40];
    memset(name, 'a', sizeof name);
    name[31] = '\0';
    assert_true(cr_name_valid(name, 31));
    name[31] = 'a';
    name[32] = '\0';
    assert_false(cr_name_valid(name, 31));
    assert_false(cr_name_valid("ab", 1));
    assert_true(cr_name_valid("a", 1));
}

/* ------------------------------------------------------------------ buffers */

static void test_buf_add_xml_escapes_the_five_special_characters(void **state)
{
    (void)state;
    cr_buf b = {0};
    cr_buf_add(&b, "<a t=\"");
    cr_buf_add_xml(&b, "x<y>&\"z\"'w'");
    cr_buf_add(&b, "\"/>");
    assert_string_equal(b.data, "<a t=\"x&lt;y&gt;&amp;&quot;z&quot;&apos;w&apos;\"/>");
    assert_int_equal(b.len, strlen(b.data));
    char *s = cr_buf_steal(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);

    /* Plain text and UTF-8 pass through unchanged; an empty string adds nothing. */
    cr_buf_add_xml(&b, "");
    cr_buf_add_xml(&b, "plain テキスト 1.2.3.4");
    assert_string_equal(b.data, "plain テキスト 1.2.3.4");
    cr_buf_free(&b);
    assert_null(b.data);
}

static void test_buf_steal_of_an_empty_buffer_is_an_empty_string(void **state)
{
    (void)state;
    cr_buf b = {0};
    char *s = cr_buf_steal(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_buf_grows_past_its_first_allocation(void **state)
{
    (void)state;
    cr_buf b = {0};
    for (int i = 0; i < 1000; i++)
        cr_buf_addf(&b, "%04d,", i);
    assert_int_equal(b.len, 5000);
    assert_int_equal(strlen(b.data), 5000);
    assert_memory_equal(b.data + 4995, "0999,", 5);
    cr_buf_free(&b);
}

/* ------------------------------------------------------------------ hex */

static void test_hex_round_trips_every_byte(void **state)
{
    (void)state;
    unsigned char bytes[256], back[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    char hex[513];
    cr_hex(hex, bytes, sizeof bytes);
    assert_int_equal(strlen(hex), 512);
    assert_memory_equal(hex, "000102", 6);
    assert_string_equal(hex + 506, "fdfeff");
    assert_int_equal(cr_unhex(back, sizeof back, hex), 0);
    assert_memory_equal(back, bytes, sizeof bytes);

    cr_hex(hex, bytes, 0);
    assert_string_equal(hex, "");
}

static void test_unhex_accepts_uppercase_and_rejects_bad_input(void **state)
{
    (void)state;
    unsigned char out[4] = {0};
    assert_int_equal(cr_unhex(out, 4, "DEADbeef"), 0);
    assert_int_equal(out[0], 0xde);
    assert_int_equal(out[3], 0xef);

    assert_int_equal(cr_unhex(out, 4, "deadbee"), CR_EINVAL);   /* too short */
    assert_int_equal(cr_unhex(out, 4, "deadbeef00"), CR_EINVAL); /* too long */
    assert_int_equal(cr_unhex(out, 4, "deadbeeg"), CR_EINVAL);
    assert_int_equal(cr_unhex(out, 4, "dead bee"), CR_EINVAL);
    assert_int_equal(cr_unhex(out, 4, "0xdeadbe"), CR_EINVAL);
    assert_int_equal(cr_unhex(out, 0, ""), 0);
}

/* ------------------------------------------------------------------ files */

static void test_write_file_atomic_and_read_file_round_trip_binary(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = cr_path_join(dir, "data.bin");
    unsigned char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7); /* includes NUL bytes */

    assert_int_equal(cr_write_file_atomic(path, data, sizeof data, 0600), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    char *back = NULL;
    size_t len = 0;
    assert_int_equal(cr_read_file(&back, &len, path), 0);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(back[len], '\0'); /* NUL-terminated past the data */
    free(back);

    /* Overwriting replaces the whole content, and no temporary is left. */
    assert_int_equal(cr_write_file_atomic(path, "short", 5, 0644), 0);
    assert_int_equal(cr_read_file(&back, NULL, path), 0);
    assert_string_equal(back, "short");
    free(back);
    char *tmp = cr_xasprintf("%s.tmp.%ld", path, (long)getpid());
    assert_false(cr_path_exists(tmp));
    free(tmp);

    /* An empty file reads as an empty string. */
    assert_int_equal(cr_write_file_atomic(path, "", 0, 0644), 0);
    assert_int_equal(cr_read_file(&back, &len, path), 0);
    assert_int_equal(len, 0);
    assert_string_equal(back, "");
    free(back);

    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_read_file_of_a_missing_path_is_notfound_with_its_name(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = cr_path_join(dir, "nope.txt");
    char *out = (char *)"untouched";
    cr_error_clear();
    assert_int_equal(cr_read_file(&out, NULL, path), CR_ENOTFOUND);
    assert_string_equal(out, "untouched");
    assert_non_null(strstr(cr_error_message(), path));
    cr_error_clear();

    /* Writing into a missing folder fails with the message set. */
    char *deep = cr_path_join(dir, "missing/file.txt");
    assert_true(cr_write_file_atomic(deep, "x", 1, 0644) < 0);
    assert_true(cr_error_pending());
    assert_non_null(strstr(cr_error_message(), "missing"));
    cr_error_clear();

    free(deep);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static void test_mkdir_p_creates_nested_folders_and_is_idempotent(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *deep = cr_path_join(dir, "a/b/c/d");
    assert_int_equal(cr_mkdir_p(deep, 0755), 0);
    assert_true(cr_is_dir(deep));
    assert_int_equal(cr_mkdir_p(deep, 0755), 0);
    free(deep);
    tu_rmtree(dir);
    free(dir);
}

static void test_rm_rf_removes_a_tree_without_following_symlinks(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *outside = tu_tmpdir();
    tu_write(outside, "keep.txt", "precious\n");
    tu_write(dir, "tree/a.txt", "a\n");
    tu_write(dir, "tree/sub/b.txt", "b\n");
    tu_write(dir, "tree/sub/deeper/c.txt", "c\n");
    tu_write(dir, "tree/.hidden", "h\n");
    char *tree = cr_path_join(dir, "tree");
    char *link = cr_path_join(dir, "tree/sub/link-out");
    assert_int_equal(symlink(outside, link), 0);

    assert_int_equal(cr_rm_rf(tree), 0);
    assert_false(cr_path_exists(tree));
    /* The symlink went, what it pointed to stayed. */
    char *keep = cr_path_join(outside, "keep.txt");
    assert_true(cr_path_exists(keep));

    /* Removing what is already gone succeeds. */
    assert_int_equal(cr_rm_rf(tree), 0);

    /* A plain file can be removed too. */
    assert_int_equal(cr_rm_rf(keep), 0);
    assert_false(cr_path_exists(keep));

    free(keep);
    free(link);
    free(tree);
    tu_rmtree(outside);
    tu_rmtree(dir);
    free(outside);
    free(dir);
}

static void test_path_join_adds_exactly_one_slash(void **state)
{
    (void)state;
    char *a = cr_path_join("/x/y", "z");
    char *b = cr_path_join("/x/y/", "z");
    assert_string_equal(a, "/x/y/z");
    assert_string_equal(b, "/x/y/z");
    free(a);
    free(b);
}

/* ------------------------------------------------------------------ errors */

static void test_error_set_does_not_overwrite_the_first_message(void **state)
{
    (void)state;
    cr_error_clear();
    assert_false(cr_error_pending());
    assert_string_equal(cr_error_message(), "unknown error");

    assert_int_equal(cr_error_set(CR_EINVAL, "first %d", 1), CR_EINVAL);
    assert_true(cr_error_pending());
    /* A caller on the way up must not replace the detail found below. */
    assert_int_equal(cr_error_set(CR_ERROR, "second %d", 2), CR_ERROR);
    assert_string_equal(cr_error_message(), "first 1");

    cr_error_clear();
    assert_false(cr_error_pending());
    assert_string_equal(cr_error_message(), "unknown error");
}

static void test_error_replace_overwrites(void **state)
{
    (void)state;
    cr_error_clear();
    cr_error_set(CR_EINVAL, "low-level detail");
    assert_int_equal(cr_error_replace(CR_ENOTFOUND, "with context: %s", "x"), CR_ENOTFOUND);
    assert_string_equal(cr_error_message(), "with context: x");
    /* replace also works with nothing pending. */
    cr_error_clear();
    cr_error_replace(CR_ERROR, "fresh");
    assert_true(cr_error_pending());
    assert_string_equal(cr_error_message(), "fresh");
    cr_error_clear();
}

static void test_error_long_message_is_truncated_not_overflowed(void **state)
{
    (void)state;
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_error_clear();
    cr_error_set(CR_ERROR, "%s", big);
    size_t n = strlen(cr_error_message());
    assert_true(n > 100 && n < sizeof big - 1);
    cr_error_clear();
}

typedef struct thread_seen {
    int pending_at_start;
    char own[64];
} thread_seen;

static void *error_thread(void *arg)
{
    thread_seen *seen = arg;
    seen->pending_at_start = cr_error_pending();
    cr_error_set(CR_EINVAL, "from the worker");
    snprintf(seen->own, sizeof seen->own, "%s", cr_error_message());
    return NULL;
}

static void test_error_is_per_thread(void **state)
{
    (void)state;
    /* A message set in a thread is invisible to the main thread... */
    cr_error_clear();
    thread_seen seen = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, error_thread, &seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_string_equal(seen.own, "from the worker");
    assert_false(cr_error_pending());
    assert_string_equal(cr_error_message(), "unknown error");

    /* ...and the main thread's message is invisible to a new thread. */
    cr_error_set(CR_ERROR, "from main");
    memset(&seen, 0, sizeof seen);
    assert_int_equal(pthread_create(&t, NULL, error_thread, &seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(seen.pending_at_start, 0);
    assert_string_equal(seen.own, "from the worker");
    assert_string_equal(cr_error_message(), "from main");
    cr_error_clear();
}

/* Text a trainee typed, shown in `crange run`'s log: escape sequences that
 * could recolour the terminal or fake an "objective met" line are shown, not
 * obeyed; UTF-8 (Japanese) is kept; a cut character makes valid JSON. */
static void test_log_visible_escapes_controls_and_repairs_utf8(void **state)
{
    (void)state;
    char out[256];
    cr_log_visible(out, sizeof out, "ls\x1b[2K\robjective met\n\xc2\x9b" "31m", 0);
    assert_string_equal(out, "ls\\x1b[2K\\x0dobjective met\\x0a\\x9b31m");
    cr_log_visible(out, sizeof out, "\xe6\x97\xa5\xe6\x9c\xac\x7f", 0);
    assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac\\x7f");
    /* A message cut in the middle of a character, and a stray byte. */
    cr_log_visible(out, sizeof out, "cut \xe6\x97 \xff", 1);
    assert_string_equal(out, "cut \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd");
    /* JSON lines keep controls (jansson escapes them) and stay whole. */
    cr_log_visible(out, sizeof out, "a\tb", 1);
    assert_string_equal(out, "a\tb");
    /* Never past the buffer, never half an escape. */
    char small[6];
    assert_int_equal(cr_log_visible(small, sizeof small, "ab\x1b" "cd", 0), 2);
    assert_string_equal(small, "ab");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_visible_escapes_controls_and_repairs_utf8),
        cmocka_unit_test(test_cidr_parse_accepts_network_addresses),
        cmocka_unit_test(test_cidr_parse_rejects_host_bits_set),
        cmocka_unit_test(test_cidr_parse_rejects_bad_prefixes),
        cmocka_unit_test(test_cidr_parse_rejects_junk),
        cmocka_unit_test(test_cidr_mask_covers_every_prefix),
        cmocka_unit_test(test_cidr_contains_only_addresses_inside),
        cmocka_unit_test(test_cidr_overlap_is_symmetric_and_exact),
        cmocka_unit_test(test_ipv4_parse_accepts_dotted_quads_only),
        cmocka_unit_test(test_ipv4_format_round_trips),
        cmocka_unit_test(test_name_valid_edge_cases),
        cmocka_unit_test(test_buf_add_xml_escapes_the_five_special_characters),
        cmocka_unit_test(test_buf_steal_of_an_empty_buffer_is_an_empty_string),
        cmocka_unit_test(test_buf_grows_past_its_first_allocation),
        cmocka_unit_test(test_hex_round_trips_every_byte),
        cmocka_unit_test(test_unhex_accepts_uppercase_and_rejects_bad_input),
        cmocka_unit_test(test_write_file_atomic_and_read_file_round_trip_binary),
        cmocka_unit_test(test_read_file_of_a_missing_path_is_notfound_with_its_name),
        cmocka_unit_test(test_mkdir_p_creates_nested_folders_and_is_idempotent),
        cmocka_unit_test(test_rm_rf_removes_a_tree_without_following_symlinks),
        cmocka_unit_test(test_path_join_adds_exactly_one_slash),
        cmocka_unit_test(test_error_set_does_not_overwrite_the_first_message),
        cmocka_unit_test(test_error_replace_overwrites),
        cmocka_unit_test(test_error_long_message_is_truncated_not_overflowed),
        cmocka_unit_test(test_error_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
