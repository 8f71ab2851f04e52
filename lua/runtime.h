/*
 * runtime.h: the scenario's Lua code at exercise time. A cr_runtime is one
 * team's sandboxed Lua state, kept alive after evaluating scenario.lua for
 * that team, so that the functions the scenario declared (objective checks,
 * inject conditions and actions, the reference solution) can be called
 * while the exercise runs.
 *
 * The C core still never touches a Lua stack: it calls cr_runtime_* with the
 * id of what to run and a table of guest operations (cr_guest_ops) that the
 * scoring engine implements over the QEMU guest agent. Lua code reaches the
 * guests only through those operations, as `ctx`:
 *
 *   ctx.team                      this team's number
 *   ctx.vars                      this team's vars (secret ones included)
 *   ctx.vm(name)                  a VM handle; unknown names raise an error
 *     :exec{ "prog", "arg", ... }  -> { code =, stdout =, stderr = }  (also :exec("shell string"))
 *     :read_file(path)             -> contents, or nil and a message
 *     :file_exists(path)           -> boolean
 *     :tcp_open(ip, port [, s])    -> boolean: can this VM open a TCP connection (probe from inside)
 *   ctx.submit(flag, answer)      the solution only: submits a flag answer as the team would
 *   ctx.log(message)              a line in crange's log
 *
 * Checks and inject conditions must not change the guests (they are a
 * contract for scenario authors; exec cannot be policed) and are limited in
 * time and instructions: a check that fails, raises or times out counts as
 * not met, and the reason is returned.
 *
 * Thread-safety: one cr_runtime is used by one thread at a time; different
 * runtimes may run in parallel.
 *
 * Ownership: a cr_runtime owns its Lua state; cr_runtime_free accepts NULL.
 * Strings returned through out-parameters are the caller's to free().
 */
#ifndef CRANGE_RUNTIME_H
#define CRANGE_RUNTIME_H

#include "agent.h"
#include "model.h"
#include "scenario.h"

#include <stdbool.h>
#include <stddef.h>

/* Operations on the team's guests. Each returns 0 or a negative CR_E* code
 * with the message set (cr_error_set); the runtime turns failures into Lua
 * errors or `nil, message` results. vm is a VM name of the team. */
typedef struct cr_guest_ops {
    int (*exec)(void *ctx, const char *vm, const char *const *argv, const void *input, size_t input_len,
                int timeout_s, cr_exec_result *out);
    int (*read_file)(void *ctx, const char *vm, const char *path, size_t max, char **out, size_t *len);
    /* Solution only; NULL elsewhere. *verdict gets a short text such as
     * "correct", "wrong" or "already solved". */
    int (*submit)(void *ctx, const char *flag, const char *answer, char **verdict);
    void *ctx;
} cr_guest_ops;

typedef struct cr_runtime cr_runtime;

/*
 * Evaluates the scenario for one team (as cr_scenario_load does, same
 * secret, same team count) and keeps its Lua state. *model (may be NULL)
 * gets a borrowed pointer to the team's model, valid for the runtime's life.
 */
int cr_runtime_open(cr_runtime **out, const char *path, int team, const cr_load_opts *opts,
                    const cr_team_model **model);
void cr_runtime_free(cr_runtime *rt);

/* Runs objective `id`'s check. *met is false whenever the check did not
 * return true; *reason (may be NULL) then says why, e.g.
 * "scenario.lua:40: timed out after 10 s" or "returned false". Returns
 * CR_ENOTFOUND for an unknown objective, else 0. */
int cr_runtime_check(cr_runtime *rt, const char *id, const cr_guest_ops *ops, int timeout_s, bool *met,
                     char **reason);

/* Evaluates inject `id`'s `when` condition (false on any failure). */
int cr_runtime_inject_when(cr_runtime *rt, const char *id, const cr_guest_ops *ops, int timeout_s, bool *holds,
                           char **reason);

/* Performs inject `id`: its `run` command, then its `action` function. */
int cr_runtime_inject_fire(cr_runtime *rt, const char *id, const cr_guest_ops *ops, int timeout_s);

/* Runs the reference solution (CR_ENOTFOUND without one). Errors carry the
 * scenario's file:line. */
int cr_runtime_solution(cr_runtime *rt, const cr_guest_ops *ops, int timeout_s);

#endif
