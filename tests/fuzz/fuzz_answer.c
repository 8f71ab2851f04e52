/*
 * fuzz_answer.c: libFuzzer target for flag answers (scoring/answer.h): the
 * input is a trainee's answer and the expected literal (split at the first
 * NUL), normalised and compared both case-sensitively and not; and the
 * host's making of any text safe for a terminal and for JSON
 * (cr_log_visible).
 */
#include "answer.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = cr_xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    const char *expected = s + strlen(s) < s + size ? s + strlen(s) + 1 : "flag";
    for (int cs = 0; cs < 2; cs++) {
        free(cr_answer_normalise(s, cs));
        cr_flag f = {.id = "f", .answer_kind = CR_ANSWER_LITERAL, .answer = (char *)expected, .case_sensitive = cs};
        bool correct = false;
        if (cr_answer_check(&f, s, &correct) < 0)
            cr_error_clear();
    }
    char out[512];
    cr_log_visible(out, sizeof out, s, 0);
    cr_log_visible(out, sizeof out, s, 1);
    free(s);
    return 0;
}
