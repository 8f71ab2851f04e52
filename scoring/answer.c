/*
 * answer.c: flag answers (answer.h): strict UTF-8 decoding, the
 * normalisation that lets answers typed through a Japanese input method
 * compare as expected, constant-time literal comparison over keyed BLAKE2b
 * digests (libsodium), and POSIX ERE patterns matched against the whole
 * normalised answer.
 *
 * Relies on libsodium for the key, the hash and sodium_memcmp, and on the
 * C library's regcomp/regexec. crange never calls setlocale, so patterns
 * run in the C locale: they match bytes, and '.' matches one byte of a
 * multi-byte character.
 */
#include "answer.h"

#include "err.h"
#include "util.h"

#include <pthread.h>
#include <regex.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX 4096

static bool is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' || cp == 0x3000;
}

char *cr_answer_normalise(const char *s, bool case_sensitive)
{
    if (!s)
        return NULL;
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    /* Every mapping shortens or keeps a character, so len + 1 is enough. */
    char *out = cr_xmalloc(len + 1);
    size_t o = 0;
    bool space = false; /* white space seen since the last kept character */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = cr_utf8_decode(u, len, i, &cp);
        if (n == 0) {
            free(out);
            return NULL;
        }
        if (is_space(cp)) {
            space = o > 0; /* leading white space is dropped */
            i += n;
            continue;
        }
        if (space) {
            out[o++] = ' ';
            space = false;
        }
        if (cp >= 0xff01 && cp <= 0xff5e)
            cp -= 0xfee0; /* full-width ASCII form -> ASCII */
        if (cp < 0x80) {
            char c = (char)cp;
            if (!case_sensitive && c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            out[o++] = c;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0'; /* trailing white space was never written */
    return out;
}

static unsigned char hash_key[crypto_generichash_KEYBYTES];
static bool hash_ready;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;

static void hash_init(void)
{
    if (sodium_init() < 0)
        return;
    randombytes_buf(hash_key, sizeof hash_key);
    hash_ready = true;
}

static void digest(unsigned char out[crypto_generichash_BYTES], const char *s)
{
    crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)s, strlen(s), hash_key, sizeof hash_key);
}

/* Frees a copy that may hold (part of) an expected answer. */
static void free_secret(char *s)
{
    if (s)
        sodium_memzero(s, strlen(s));
    free(s);
}

static int check_pattern(const cr_flag *flag, const char *norm, bool *correct)
{
    regex_t re;
    int flags = REG_EXTENDED | (flag->case_sensitive ? 0 : REG_ICASE);
    int e = regcomp(&re, flag->answer, flags);
    if (e != 0) {
        char why[256];
        regerror(e, &re, why, sizeof why);
        return cr_error_set(CR_EINVAL, "flag '%s': bad answer pattern /%s/: %s", flag->id, flag->answer, why);
    }
    /* Not wrapped in ^(...)$, which would renumber the pattern's
     * back-references: POSIX regexec reports the leftmost-longest match, so
     * the answer matches as a whole exactly when that match spans it. */
    regmatch_t m[1];
    *correct = regexec(&re, norm, 1, m, 0) == 0 && m[0].rm_so == 0 && (size_t)m[0].rm_eo == strlen(norm);
    regfree(&re);
    return 0;
}

int cr_answer_check(const cr_flag *flag, const char *answer, bool *correct)
{
    *correct = false;
    const char *id = flag->id ? flag->id : "?";
    if (!flag->answer)
        return cr_error_set(CR_EINVAL, "flag '%s' has no expected answer", id);
    if (!answer)
        return cr_error_set(CR_EINVAL, "flag '%s': no answer given", id);
    size_t len = strlen(answer);
    if (len > ANSWER_MAX)
        return cr_error_set(CR_EINVAL, "flag '%s': the answer is too long (%zu bytes; at most %d)", id, len,
                            ANSWER_MAX);
    char *norm = cr_answer_normalise(answer, flag->case_sensitive);
    char *want = NULL;
    int rc = 0;
    if (!norm) {
        rc = cr_error_set(CR_EINVAL, "flag '%s': the answer is not valid UTF-8", id);
        goto cleanup;
    }
    if (flag->answer_kind == CR_ANSWER_PATTERN) {
        rc = check_pattern(flag, norm, correct);
        goto cleanup;
    }
    if (flag->answer_kind != CR_ANSWER_LITERAL) {
        rc = cr_error_set(CR_EINVAL, "flag '%s': unknown answer kind %d", id, (int)flag->answer_kind);
        goto cleanup;
    }
    want = cr_answer_normalise(flag->answer, flag->case_sensitive);
    if (!want) {
        rc = cr_error_set(CR_EINVAL, "flag '%s': the expected answer is not valid UTF-8", id);
        goto cleanup;
    }
    pthread_once(&hash_once, hash_init);
    if (!hash_ready) {
        rc = cr_error_set(CR_ERROR, "flag '%s': libsodium failed to initialise", id);
        goto cleanup;
    }
    /* Fixed-size keyed digests: the comparison's time depends on neither
     * the answers' contents nor their lengths, and the key keeps digests
     * from being precomputed. */
    unsigned char da[crypto_generichash_BYTES], dw[crypto_generichash_BYTES];
    digest(da, norm);
    digest(dw, want);
    *correct = sodium_memcmp(da, dw, sizeof da) == 0;
    sodium_memzero(dw, sizeof dw);
cleanup:
    free_secret(norm);
    free_secret(want);
    return rc;
}
