/*
 * sandbox.h: a Lua 5.4 state fit to run untrusted scenario code.
 *
 * A sandbox has its own allocator (with a byte limit), a count hook (with an
 * instruction limit), and an environment table that holds only allow-listed
 * globals plus a folder-confined `require`, a text-only `load` and a `print`
 * to stderr. Scenario chunks are named "@<path relative to the folder>", so
 * Lua's own messages and the declarations' `where` read "scenario.lua:LINE".
 * Chunks made by `load` are named "load: <name>", whatever name the scenario
 * gives, so that they never pass for a file (or a host path).
 *
 * Everything runs under lua_pcall with a message handler that adds the
 * scenario position when a message lacks one and logs the traceback at debug
 * level. A failed call sets the crange error message once, as one line.
 *
 * Ownership: cr_sandbox_new returns a sandbox the caller frees with
 * cr_sandbox_free (NULL is fine), which closes the state.
 */
#ifndef CRANGE_SANDBOX_H
#define CRANGE_SANDBOX_H

#include <lua.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cr_sandbox cr_sandbox;

typedef struct cr_sandbox_opts {
    const char *dir;            /* absolute, resolved scenario folder; copied */
    size_t memory_limit;        /* bytes; 0: CR_LUA_DEFAULT_MEMORY */
    uint64_t instruction_limit; /* VM instructions; 0: CR_LUA_DEFAULT_INSTRUCTIONS */
} cr_sandbox_opts;

/* Registry key of the sandbox environment (the scenario's globals). */
#define CR_SANDBOX_ENV "crange.env"

/* Returns 0, or CR_ELIMIT when the memory limit cannot even hold the base
 * libraries (message set). */
int cr_sandbox_new(cr_sandbox **out, const cr_sandbox_opts *opts);
void cr_sandbox_free(cr_sandbox *sb);

/* The state, for bindings (lang.c) and the model conversion (scenario.c).
 * Owned by the sandbox. */
lua_State *cr_sandbox_lua(cr_sandbox *sb);

/*
 * Calls the function below NARGS arguments on the stack, like lua_pcall with
 * the sandbox's message handler. On failure pops the error, sets the message
 * ("FILE:LINE: what", one line) and returns CR_ELIMIT for a sandbox limit or
 * CR_EINVAL for anything the scenario did wrong.
 */
int cr_sandbox_pcall(cr_sandbox *sb, int nargs, int nresults);

/* Like cr_sandbox_pcall, but leaves the thread's error message alone: on
 * failure *reason (never NULL then) gets the one-line message, the caller's
 * to free(). Used where a failure is an outcome (a check not met), not an
 * error to report. */
int cr_sandbox_pcall_reason(cr_sandbox *sb, int nargs, int nresults, char **reason);

/* Loads RELPATH (relative to the folder, which it must not leave) as a text
 * chunk in the environment and calls it, under cr_sandbox_pcall. */
int cr_sandbox_run_file(cr_sandbox *sb, const char *relpath);

/*
 * Per-call limits, for a state kept alive after the scenario ran (runtime.h).
 * cr_sandbox_call_begin gives the next calls a fresh instruction budget (the
 * sandbox's instruction limit) and, when timeout_s > 0, a wall-clock deadline
 * that the count hook checks; a call that passes it fails with CR_ETIMEOUT
 * and "FILE:LINE: timed out after N s". cr_sandbox_call_end drops the
 * deadline and re-arms the hook, whatever the call did, so the state can be
 * used again after a failure. Neither raises nor allocates.
 */
void cr_sandbox_call_begin(cr_sandbox *sb, int timeout_s);
void cr_sandbox_call_end(cr_sandbox *sb);

/* During a call: the position cr_sandbox_where falls back to when no
 * scenario frame is on the stack, which happens when the called function
 * tail-calls out of scenario code (`return vm:tcp_open(...)`: Lua drops the
 * caller's frame). runtime.c sets it to where the called function starts;
 * cr_sandbox_call_begin/end clear it. Never raises. */
void cr_sandbox_set_origin(lua_State *L, const char *file, int line);

/* Whole seconds left before the deadline, at least 1; 0 without a deadline.
 * For the timeouts of host operations that block outside the count hook. */
int cr_sandbox_time_left(lua_State *L);

/* Raises the time limit (uncatchable, like the instruction limit) when the
 * deadline has passed; returns otherwise. For C functions after they block. */
void cr_sandbox_check_deadline(lua_State *L);

/*
 * The innermost stack frame running scenario code (a chunk named "@...").
 * Copies its file (relative to the folder) into FILE and returns its line
 * (0 when the line is unknown), or returns -1 when no such frame exists.
 * Never raises and never allocates.
 */
int cr_sandbox_where(lua_State *L, char *file, size_t n);

/* Raises a Lua error "FILE:LINE: message" at the innermost scenario frame
 * ("scenario.lua: message" when there is none). Never returns. */
int cr_sandbox_error(lua_State *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
