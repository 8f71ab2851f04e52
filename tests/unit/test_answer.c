/*
 * test_answer.c: flag answers (answer.h): the normalisation table (full-width
 * forms, ideographic space, white space runs, case folding), strict UTF-8,
 * the length limit, literal and pattern checks, and bad patterns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "answer.h"
#include "err.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void expect_norm(const char *in, bool cs, const char *want)
{
    char *got = cr_answer_normalise(in, cs);
    if (!got)
        fail_msg("normalise(\"%s\") returned NULL", in);
    if (strcmp(got, want) != 0)
        fail_msg("normalise(\"%s\", %d) = \"%s\", want \"%s\"", in, cs, got, want);
    free(got);
}

static void test_answer_normalisation_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool cs;
        const char *want;
    } rows[] = {
        {"flag", false, "flag"},
        {"FLAG{Abc}", false, "flag{abc}"},
        {"FLAG{Abc}", true, "FLAG{Abc}"},
        /* full-width digits, letters and punctuation (IME input) */
        {"１２３", false, "123"},
        {"ＦＬＡＧ｛ａｂｃ｝", false, "flag{abc}"},
        {"ＦＬＡＧ｛ａｂｃ｝", true, "FLAG{abc}"},
        {"！～", false, "!~"},
        /* U+3000 ideographic space is white space */
        {"\u3000abc\u3000", false, "abc"},
        {"a\u3000\u3000b", false, "a b"},
        /* trimming and collapsing of ASCII white space */
        {"  a  b  ", false, "a b"},
        {"\ta\t\n\r b\n", false, "a b"},
        {"a\v\fb", false, "a b"},
        {"", false, ""},
        {" \t\u3000 ", false, ""},
        /* other non-ASCII text is kept as it is, not folded */
        {"パスワード　Ａ", false, "パスワード a"},
        {"Émile", false, "Émile"},
        /* U+FF00 and U+FF5F are outside the full-width ASCII block */
        {"\uff5f", false, "\uff5f"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        expect_norm(rows[i].in, rows[i].cs, rows[i].want);
}

static void test_answer_invalid_utf8_is_rejected(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\xff",             /* never valid */
        "abc\x80",          /* lone continuation byte */
        "\xc3",             /* truncated sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, three bytes */
        "\xed\xa0\x80",     /* a UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(cr_answer_normalise(bad[i], false));
    assert_null(cr_answer_normalise(NULL, false));

    cr_flag f = {.id = "f1", .answer = "x", .answer_kind = CR_ANSWER_LITERAL};
    bool ok = true;
    cr_error_clear();
    assert_int_equal(cr_answer_check(&f, "x\xff", &ok), CR_EINVAL);
    assert_false(ok);
    assert_non_null(strstr(cr_error_message(), "not valid UTF-8"));
    cr_error_clear();
}

static void test_answer_longer_than_4096_bytes_is_rejected(void **state)
{
    (void)state;
    cr_flag f = {.id = "f1", .answer = "x", .answer_kind = CR_ANSWER_LITERAL};
    char *s = cr_xmalloc(4098);
    memset(s, 'x', 4097);
    s[4097] = '\0';
    bool ok = true;
    cr_error_clear();
    assert_int_equal(cr_answer_check(&f, s, &ok), CR_EINVAL);
    assert_false(ok);
    assert_non_null(strstr(cr_error_message(), "too long"));
    cr_error_clear();
    /* Exactly 4096 is still an answer (a wrong one). */
    s[4096] = '\0';
    assert_int_equal(cr_answer_check(&f, s, &ok), 0);
    assert_false(ok);
    free(s);
}

static void test_answer_literal_right_and_wrong(void **state)
{
    (void)state;
    cr_flag f = {.id = "f1", .answer = "FLAG{Tokyo 2024}", .answer_kind = CR_ANSWER_LITERAL};
    bool ok = false;
    assert_int_equal(cr_answer_check(&f, "flag{tokyo 2024}", &ok), 0);
    assert_true(ok);
    assert_int_equal(cr_answer_check(&f, "　ｆｌａｇ｛ｔｏｋｙｏ　２０２４｝ ", &ok), 0);
    assert_true(ok);
    assert_int_equal(cr_answer_check(&f, "flag{tokyo  2024}\n", &ok), 0);
    assert_true(ok);
    assert_int_equal(cr_answer_check(&f, "flag{tokyo 2025}", &ok), 0);
    assert_false(ok);
    assert_int_equal(cr_answer_check(&f, "flag{tokyo 2024", &ok), 0);
    assert_false(ok);
    assert_int_equal(cr_answer_check(&f, "", &ok), 0);
    assert_false(ok);

    f.case_sensitive = true;
    assert_int_equal(cr_answer_check(&f, "flag{tokyo 2024}", &ok), 0);
    assert_false(ok);
    assert_int_equal(cr_answer_check(&f, "ＦＬＡＧ{Ｔokyo 2024}", &ok), 0);
    assert_true(ok);
}

static void test_answer_pattern_must_match_the_whole_answer(void **state)
{
    (void)state;
    cr_flag f = {.id = "port", .answer = "[0-9]+/(tcp|udp)", .answer_kind = CR_ANSWER_PATTERN};
    bool ok = false;
    assert_int_equal(cr_answer_check(&f, "4444/tcp", &ok), 0);
    assert_true(ok);
    assert_int_equal(cr_answer_check(&f, " ４４４４/TCP ", &ok), 0); /* normalised, case folded */
    assert_true(ok);
    /* A partial match is wrong, at either end. */
    assert_int_equal(cr_answer_check(&f, "port 4444/tcp", &ok), 0);
    assert_false(ok);
    assert_int_equal(cr_answer_check(&f, "4444/tcpx", &ok), 0);
    assert_false(ok);

    /* Alternation does not escape the anchoring. */
    cr_flag alt = {.id = "alt", .answer = "a|ab", .answer_kind = CR_ANSWER_PATTERN};
    assert_int_equal(cr_answer_check(&alt, "ab", &ok), 0);
    assert_true(ok);
    assert_int_equal(cr_answer_check(&alt, "abc", &ok), 0);
    assert_false(ok);
    assert_int_equal(cr_answer_check(&alt, "xa", &ok), 0);
    assert_false(ok);

    /* Upper case in the pattern matches the folded answer unless case sensitive. */
    cr_flag up = {.id = "up", .answer = "FLAG\\{[A-Z]+\\}", .answer_kind = CR_ANSWER_PATTERN};
    assert_int_equal(cr_answer_check(&up, "flag{abc}", &ok), 0);
    assert_true(ok);
    up.case_sensitive = true;
    assert_int_equal(cr_answer_check(&up, "flag{abc}", &ok), 0);
    assert_false(ok);
    assert_int_equal(cr_answer_check(&up, "FLAG{ABC}", &ok), 0);
    assert_true(ok);
}

static void test_answer_bad_pattern_is_an_error(void **state)
{
    (void)state;
    cr_flag f = {.id = "broken", .answer = "([0-9]+", .answer_kind = CR_ANSWER_PATTERN};
    bool ok = true;
    cr_error_clear();
    assert_int_equal(cr_answer_check(&f, "123", &ok), CR_EINVAL);
    assert_false(ok);
    assert_non_null(strstr(cr_error_message(), "flag 'broken': bad answer pattern"));
    cr_error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_normalisation_table),
        cmocka_unit_test(test_answer_invalid_utf8_is_rejected),
        cmocka_unit_test(test_answer_longer_than_4096_bytes_is_rejected),
        cmocka_unit_test(test_answer_literal_right_and_wrong),
        cmocka_unit_test(test_answer_pattern_must_match_the_whole_answer),
        cmocka_unit_test(test_answer_bad_pattern_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
