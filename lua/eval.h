/*
 * eval.h: evaluating a scenario for one team, the step that
 * cr_scenario_load (scenario.h) repeats for every team and cr_runtime_open
 * (runtime.h) does once, keeping the Lua state. Sharing it is what makes the
 * runtime's team model the same as the loader's.
 */
#ifndef CRANGE_EVAL_H
#define CRANGE_EVAL_H

#include "model.h"
#include "sandbox.h"
#include "scenario.h"

/* Checks the load options (team count) and resolves PATH (a scenario
 * folder, or the scenario.lua in one) to the absolute folder in *out (the
 * caller's to free). Returns 0, CR_ENOTFOUND or CR_EINVAL with the message
 * naming PATH. */
int cr_eval_dir(char **out, const char *path, const cr_load_opts *opts);

/*
 * Runs s->dir/scenario.lua in a fresh sandbox for team TEAM of COUNT (0: not
 * known until the script's scenario{} says), with opts' limits and secret
 * (NULL: the public one), converts the declarations into *t (zeroed by the
 * caller; t->number is set), fills s's scenario-wide fields if s->id is
 * NULL, and validates the team (cr_model_validate with opts->image_known).
 *
 * keep NULL: the sandbox is closed. Otherwise, on success, *keep gets it
 * (the caller frees it with cr_sandbox_free); on failure *keep is NULL.
 * Returns 0 or a negative code with the message set.
 */
int cr_eval_team(cr_scenario *s, cr_team_model *t, int team, int count, const cr_load_opts *opts,
                 cr_sandbox **keep);

#endif
