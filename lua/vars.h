/*
 * vars.h: derivation of per-team values (the `vars{}` declaration).
 *
 * A value is a pure function of (range secret, kind tag, var name, team
 * number): keyed BLAKE2b over a domain-separated message is the random bit
 * generator, and ranges are drawn by rejection sampling, so there is no
 * modulo bias. With `unique`, team t redraws (attempt 1, 2, ...) until its
 * value differs from the values of teams 1..t-1, which are recomputed the
 * same way; so adding teams never changes the values of earlier teams.
 *
 * Nothing here knows Lua; lang.c binds it for the prelude.
 */
#ifndef CRANGE_VARS_H
#define CRANGE_VARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_VARS_STRING_MAX 256 /* longest CR_VAR_STRING value */

typedef enum {
    CR_VAR_INT = 1, /* an integer in lo..hi */
    CR_VAR_STRING,  /* len characters, each uniform over alphabet */
    CR_VAR_CHOICE,  /* an index into choices; equal texts count as one value */
} cr_var_shape;

/* The spec does not own its pointers; they must outlive the call. */
typedef struct cr_var_spec {
    const char *tag;  /* the spec's kind ("int", "host", "password"...), hashed in */
    const char *name; /* the var's name, hashed in */
    cr_var_shape shape;
    bool unique;      /* differ from every earlier team */

    int64_t lo, hi;   /* CR_VAR_INT, lo <= hi */

    const char *alphabet; /* CR_VAR_STRING: 1..256 distinct bytes */
    size_t len;           /* CR_VAR_STRING: 1..CR_VARS_STRING_MAX */

    const char *const *choices; /* CR_VAR_CHOICE: the texts of the elements */
    size_t n_choices;           /* >= 1 */
} cr_var_spec;

typedef struct cr_var_value {
    int64_t i;  /* CR_VAR_INT: the value; CR_VAR_CHOICE: the index, 0-based */
    char s[CR_VARS_STRING_MAX + 1]; /* CR_VAR_STRING: the value, NUL-terminated */
} cr_var_value;

/*
 * Derives the value of SPEC for team TEAM (1-based) from the CR_SECRET_LEN
 * byte SECRET. The caller must make sure a unique spec has at least TEAM
 * possible values (the prelude checks it against the team count).
 *
 * Returns 0, CR_EINVAL for a malformed spec, or CR_ELIMIT when no unique
 * value turned up after many attempts. Sets no message: the Lua binding
 * raises the error at the caller's line.
 */
int cr_vars_derive(cr_var_value *out, const cr_var_spec *spec, const unsigned char *secret, int team);

/* The secret used when the caller has none (validate, plan previews). Public. */
extern const unsigned char cr_vars_public_secret[32];

#endif
