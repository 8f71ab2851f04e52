/*
 * lang.h: the scenario language on top of a sandbox: runs the embedded
 * prelude (lua/prelude.lua), which defines the declarations (scenario,
 * network, vm, file, user, run, vars, random.*) and the `team` table in the
 * sandbox environment, and hands it the C helpers it needs (positions,
 * CIDR parsing, per-team value derivation).
 *
 * The declarations a script makes are kept by the prelude, out of the
 * script's reach, in plain normalised tables that convert.c turns into the
 * C model. The functions among them (checks, inject conditions and actions,
 * the solution) stay in the state for runtime.c.
 */
#ifndef CRANGE_LANG_H
#define CRANGE_LANG_H

#include "sandbox.h"

#include <lua.h>

typedef struct cr_lang_opts {
    int team;                    /* this state's team, 1..count */
    int count;                   /* number of teams; 0: unknown until scenario{} names it */
    const unsigned char *secret; /* CR_SECRET_LEN bytes, never NULL; copied */
} cr_lang_opts;

/* Installs the language in the sandbox. Returns 0 or a negative code with
 * the message set (only a sandbox limit can make it fail). */
int cr_lang_open(cr_sandbox *sb, const cr_lang_opts *opts);

/*
 * For a protected C function, after the script ran: pushes the table of
 * declarations, or raises "scenario.lua: no scenario{} declaration". Its
 * layout is documented at the end of prelude.lua.
 */
void cr_lang_push_declarations(lua_State *L);

/* For a protected C function: pushes a new `ctx` table (runtime.h) for one
 * call of a scenario function. */
void cr_lang_push_context(lua_State *L);

#endif
