/*
 * guest.h: the C side of `ctx` (runtime.h): the functions the prelude's
 * exercise-time code calls to reach the team's guests (exec, read_file),
 * to submit a flag (the solution only) and to log, and the per-call context
 * that runtime.c puts in the registry for them while it runs a function.
 *
 * Outside a call (while the scenario is being evaluated, or if a script
 * kept a ctx in a global and uses it from an unrelated call's coroutine
 * after the call ended) the functions raise an error.
 */
#ifndef CRANGE_GUEST_H
#define CRANGE_GUEST_H

#include "runtime.h"

#include <lua.h>

#include <stdbool.h>

#define CR_GUEST_READ_MAX (1024u * 1024) /* bytes read_file returns at most */
#define CR_GUEST_DEFAULT_TIMEOUT_S 30    /* a guest op's timeout without a call deadline */

/* One call's context; borrowed for the call's duration. */
typedef struct cr_guest_call {
    const cr_guest_ops *ops; /* may be NULL: every guest op then fails */
    bool may_submit;         /* the solution is running */
    int team;                /* for the log */
} cr_guest_call;

/* For lang.c, inside a protected call, with the prelude's host table on top
 * of the stack: adds exec, read_file, submit and log to it, and prepares the
 * registry slot of the call context. */
void cr_guest_open(lua_State *L);

/* Makes CALL the context of the guest functions (NULL: none). Never raises
 * and never allocates, so runtime.c can call it outside a protected call. */
void cr_guest_set_call(lua_State *L, const cr_guest_call *call);

#endif
