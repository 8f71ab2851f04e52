/*
 * vars.c: the per-team value derivation of vars.h.
 *
 * The bit stream for one draw is BLAKE2b-512 keyed with the range secret over
 *   "crange.vars.v1" 0x00 | be32 len(tag) tag | be32 len(name) name
 *   | be32 team | be32 attempt | be32 block
 * for block = 0, 1, ... Each block yields eight 64-bit words. Relies on
 * libsodium (crypto_generichash); sodium_init() is the caller's business.
 */
#include "vars.h"

#include "err.h"
#include "scenario.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A bound that a unique spec with enough values never reaches in practice:
 * the prelude refuses specs with fewer values than teams. */
#define MAX_ATTEMPTS 1000000u

static const char DOMAIN[] = "crange.vars.v1";

const unsigned char cr_vars_public_secret[32] = "crange public secret, not secret";

typedef struct drbg {
    const unsigned char *key;
    const cr_var_spec *spec;
    uint32_t team, attempt, block;
    unsigned char buf[crypto_generichash_BYTES_MAX];
    size_t pos;
} drbg;

static void put_be32(crypto_generichash_state *st, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    crypto_generichash_update(st, b, sizeof b);
}

static void put_str(crypto_generichash_state *st, const char *s)
{
    size_t n = strlen(s);
    put_be32(st, (uint32_t)n);
    crypto_generichash_update(st, (const unsigned char *)s, n);
}

static void drbg_refill(drbg *d)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, d->key, CR_SECRET_LEN, sizeof d->buf);
    crypto_generichash_update(&st, (const unsigned char *)DOMAIN, sizeof DOMAIN); /* with the NUL */
    put_str(&st, d->spec->tag);
    put_str(&st, d->spec->name);
    put_be32(&st, d->team);
    put_be32(&st, d->attempt);
    put_be32(&st, d->block++);
    crypto_generichash_final(&st, d->buf, sizeof d->buf);
    d->pos = 0;
}

static void drbg_init(drbg *d, const unsigned char *key, const cr_var_spec *spec, uint32_t team,
                      uint32_t attempt)
{
    memset(d, 0, sizeof *d);
    d->key = key;
    d->spec = spec;
    d->team = team;
    d->attempt = attempt;
    d->pos = sizeof d->buf; /* empty: the first read refills */
}

static uint64_t drbg_u64(drbg *d)
{
    if (d->pos + 8 > sizeof d->buf)
        drbg_refill(d);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)d->buf[d->pos + i] << (8 * i);
    d->pos += 8;
    return v;
}

/* Uniform in [0, n), n == 0 meaning 2^64. Words below 2^64 mod n are
 * rejected, so every residue is equally likely. */
static uint64_t drbg_below(drbg *d, uint64_t n)
{
    if (n == 0)
        return drbg_u64(d);
    uint64_t floor = (0 - n) % n;
    for (;;) {
        uint64_t r = drbg_u64(d);
        if (r >= floor)
            return r % n;
    }
}

/* FNV-1a: a fingerprint to compare values by. A collision between distinct
 * values only costs a redraw, which is still deterministic. */
static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* One draw for (team, attempt); returns the value's fingerprint. */
static uint64_t draw(cr_var_value *v, const cr_var_spec *spec, const unsigned char *key, uint32_t team,
                     uint32_t attempt)
{
    drbg d;
    drbg_init(&d, key, spec, team, attempt);
    switch (spec->shape) {
    case CR_VAR_INT: {
        uint64_t span = (uint64_t)spec->hi - (uint64_t)spec->lo + 1; /* 0: all 2^64 */
        uint64_t r = drbg_below(&d, span);
        v->i = (int64_t)((uint64_t)spec->lo + r);
        return r;
    }
    case CR_VAR_STRING: {
        size_t n = strlen(spec->alphabet);
        for (size_t i = 0; i < spec->len; i++)
            v->s[i] = spec->alphabet[drbg_below(&d, n)];
        v->s[spec->len] = '\0';
        return fnv1a(v->s);
    }
    case CR_VAR_CHOICE:
        v->i = (int64_t)drbg_below(&d, spec->n_choices);
        return fnv1a(spec->choices[v->i]);
    }
    return 0;
}

/* A set of fingerprints, open addressing; cap is a power of two. */
typedef struct fpset {
    uint64_t *keys;
    unsigned char *used;
    size_t cap;
} fpset;

static bool fpset_has(const fpset *s, uint64_t k)
{
    for (size_t i = (size_t)(k * 0x9e3779b97f4a7c15ull) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->used[i])
            return false;
        if (s->keys[i] == k)
            return true;
    }
}

static void fpset_add(fpset *s, uint64_t k)
{
    size_t i = (size_t)(k * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
    while (s->used[i] && s->keys[i] != k)
        i = (i + 1) & (s->cap - 1);
    s->used[i] = 1;
    s->keys[i] = k;
}

static bool spec_ok(const cr_var_spec *spec)
{
    if (!spec->tag || !spec->name)
        return false;
    switch (spec->shape) {
    case CR_VAR_INT:
        return spec->lo <= spec->hi;
    case CR_VAR_STRING:
        return spec->alphabet && spec->alphabet[0] && spec->len >= 1 && spec->len <= CR_VARS_STRING_MAX;
    case CR_VAR_CHOICE:
        return spec->choices && spec->n_choices >= 1;
    }
    return false;
}

int cr_vars_derive(cr_var_value *out, const cr_var_spec *spec, const unsigned char *secret, int team)
{
    int rc = 0;
    fpset set = {0};
    if (!spec_ok(spec) || team < 1 || !secret)
        return CR_EINVAL;
    if (!spec->unique) {
        draw(out, spec, secret, (uint32_t)team, 0);
        return 0;
    }
    set.cap = 16;
    while (set.cap < 2 * (size_t)team)
        set.cap *= 2;
    set.keys = calloc(set.cap, sizeof *set.keys);
    set.used = calloc(set.cap, 1);
    if (!set.keys || !set.used) {
        rc = CR_ERROR;
        goto cleanup;
    }
    for (uint32_t t = 1; t <= (uint32_t)team; t++) {
        uint64_t fp;
        uint32_t attempt = 0;
        cr_var_value v;
        for (;; attempt++) {
            if (attempt >= MAX_ATTEMPTS) {
                rc = CR_ELIMIT;
                goto cleanup;
            }
            fp = draw(&v, spec, secret, t, attempt);
            if (!fpset_has(&set, fp))
                break;
        }
        fpset_add(&set, fp);
        if (t == (uint32_t)team)
            *out = v;
    }
cleanup:
    free(set.keys);
    free(set.used);
    return rc;
}
