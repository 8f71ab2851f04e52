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

    /* 0: evaluate every team. N: evaluate team N only (1 <= N <= the team
     * count), for callers that need one team's answers and hints (submit,
     * hint): the others' Lua never runs. The returned scenario still has the
     * full team count in n_teams and team N in teams[N - 1]; the other
     * entries are left empty (number 0, nothing declared), and the checks
     * across teams (a role is the same for every team) are skipped. The
     * scenario-wide fields come from team N's run, as in runtime.h. */
    int only_team;

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
 * for teams 1..N (or opts->only_team), validates every evaluated team's model,
 * and fills the scenario digest, which covers the folder's files only and so
 * is the same whichever teams are evaluated.
 *
 * On success *out is a new scenario the caller frees with cr_scenario_free().
 * On failure *out is NULL and the message reads "scenario.lua:LINE: ..."
 * (the file relative to the scenario folder), or names the path when the
 * folder itself is unusable. Returns 0, CR_ENOTFOUND, CR_EINVAL or CR_ELIMIT.
 */
int cr_scenario_load(cr_scenario **out, const char *path, const cr_load_opts *opts);

/* The digest cr_scenario_load puts in cr_scenario.digest (BLAKE2b-256 over
 * the names and contents of the folder's files, dot names skipped, symlinks
 * not followed), without evaluating anything: the cheap way to tell whether
 * a folder still holds the scenario a range was brought up with. DIR must be
 * a folder: returns 0, CR_ENOTFOUND when nothing is at DIR, CR_EINVAL when
 * it is not a folder, or CR_ERROR (unreadable), the message naming the path. */
int cr_scenario_digest(unsigned char out[32], const char *dir);

#endif
