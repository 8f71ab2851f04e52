/*
 * answer.h: comparing a flag answer with the expected one.
 *
 * Normalisation (both sides): leading and trailing white space is dropped
 * (ASCII and U+3000 IDEOGRAPHIC SPACE), runs of inner white space become one
 * ASCII space, full-width ASCII forms (U+FF01..U+FF5E) become ASCII, so that
 * answers typed with a Japanese input method compare as expected, and ASCII
 * letters are folded to lower case unless the flag is case sensitive.
 *
 * Literal answers are compared in constant time: both normalised strings are
 * hashed with BLAKE2b (keyed with a per-process random key) and the digests
 * compared with sodium_memcmp, so neither content nor length leaks through
 * timing. Patterns are POSIX extended regular expressions matched against the
 * whole normalised answer (not constant time; a pattern is not a secret
 * value).
 */
#ifndef CRANGE_ANSWER_H
#define CRANGE_ANSWER_H

#include "model.h"

#include <stdbool.h>

/* A new normalised copy; NULL if s is not valid UTF-8. */
char *cr_answer_normalise(const char *s, bool case_sensitive);

/* Whether answer matches the flag's expected answer. Returns 0, or
 * CR_EINVAL for an answer that is not UTF-8 or too long (> 4096 bytes), or a
 * bad pattern (the message says which). */
int cr_answer_check(const cr_flag *flag, const char *answer, bool *correct);

#endif
