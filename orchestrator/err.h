/*
 * err.h: how crange reports failure.
 *
 * Every fallible function returns 0 or a negative CR_E* code. The function
 * that detects the failure sets a message once with cr_error_set(); callers
 * on the way up return the code without touching the message, and the edge
 * (CLI, HTTP, a worker pool) reads it once with cr_error_message().
 *
 * Messages are per thread, so workers in a pool never see each other's.
 * A message about a scenario starts with "FILE:LINE: ".
 */
#ifndef CRANGE_ERR_H
#define CRANGE_ERR_H

enum {
    CR_OK = 0,
    CR_ERROR = -1,     /* anything not covered below */
    CR_ENOTFOUND = -2, /* the named thing does not exist */
    CR_EEXISTS = -3,   /* the name is already taken */
    CR_EINVAL = -4,    /* bad input: scenario, argument, answer */
    CR_ETIMEOUT = -5,  /* a deadline passed */
    CR_EBUSY = -6,     /* someone else holds the lock */
    CR_ELIMIT = -7,    /* a sandbox or attempt limit was hit */
};

/*
 * Records the message for this thread unless one is already recorded, and
 * returns code, so that `return cr_error_set(CR_EINVAL, "...")` reads well.
 */
int cr_error_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces any recorded message (used when a caller adds context it owns). */
int cr_error_replace(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The recorded message, or "unknown error". Owned by the thread; valid until
 * the next cr_error_clear/replace on this thread. */
const char *cr_error_message(void);

/* Whether a message is recorded on this thread. */
int cr_error_pending(void);

/* Forgets the message; call before retrying or after handling an error. */
void cr_error_clear(void);

#endif
