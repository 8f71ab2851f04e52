/*
 * scenario.h: loads a scenario folder (scenario.lua and its files) into the
 * C model of model.h, running the Lua code in a sandbox, once per team.
 *
 * The C core never touches a Lua stack: it calls cr_scenario_load() and reads
 * the returned model.
 */
#ifndef CRANGE_SCENARIO_H
#define CRANGE_SCENARIO_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_SECRET_LEN 32

typedef struct cr_load_opts {
    /* Number of teams to evaluate; 0 means the scenario's own default
     * (scenario{ teams = N }, or 1 when it names none). */
    int teams;

    /* The range secret that per-team vars derive from (CR_SECRET_LEN bytes).
     * NULL: a fixed, public secret, fine for validate and plan previews. */
    const unsigned char *secret;

    /* Whether an image name is known; NULL skips the check. */
    bool (*image_known)(const char *name, void *ctx);
    void *image_ctx;

    /* Sandbox limits per Lua state; 0 picks the defaults
     * (CR_LUA_DEFAULT_MEMORY bytes, CR_LUA_DEFAULT_INSTRUCTIONS VM instructions). */
    size_t memory_limit;
    uint64_t instruction_limit;
} cr_load_opts;

#define CR_LUA_DEFAULT_MEMORY (64u * 1024 * 1024)
#define CR_LUA_DEFAULT_INSTRUCTIONS 50000000ull

/*
 * Loads PATH (a scenario folder, or the scenario.lua inside one), evaluates it
 * for teams 1..N, validates every team's model, and fills the scenario digest.
 *
 * On success *out is a new scenario the caller frees with cr_scenario_free().
 * On failure *out is NULL and the message reads "scenario.lua:LINE: ..."
 * (the file relative to the scenario folder), or names the path when the
 * folder itself is unusable. Returns 0, CR_ENOTFOUND, CR_EINVAL or CR_ELIMIT.
 */
int cr_scenario_load(cr_scenario **out, const char *path, const cr_load_opts *opts);

#endif
