/*
 * guest.c: the guest operations behind `ctx` (guest.h), bound for the
 * prelude. Each calls the cr_guest_ops of the running call (runtime.h) and
 * turns its result into Lua values.
 *
 * Whatever an operation hands back is owned by a userdata "box" created,
 * empty, before the operation runs: if pushing the result raises (memory) or
 * the deadline has passed meanwhile, the collector frees it. Operations
 * block outside the count hook, so the deadline is checked after each one,
 * and each gets the seconds left as its timeout.
 *
 * An operation reports failure through the thread's error message (err.h),
 * which is set once: the message is cleared before each operation so that
 * the one read afterwards is the operation's, and cleared again after it has
 * been copied, since a failed operation is a Lua error here, not a crange
 * error.
 */
#include "guest.h"

#include "err.h"
#include "log.h"
#include "sandbox.h"

#include <lauxlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_BOX "crange.guest.exec"
#define BUF_BOX "crange.guest.buf"

static const char CALL_KEY = 0; /* its address is the registry key */

typedef struct buf_box {
    char *p;
    size_t len;
} buf_box;

static int exec_box_gc(lua_State *L)
{
    cr_exec_result_free(luaL_checkudata(L, 1, EXEC_BOX));
    return 0;
}

static int buf_box_gc(lua_State *L)
{
    buf_box *b = luaL_checkudata(L, 1, BUF_BOX);
    free(b->p);
    b->p = NULL;
    return 0;
}

static void *new_box(lua_State *L, const char *tname, size_t size)
{
    void *p = lua_newuserdatauv(L, size, 0);
    memset(p, 0, size);
    luaL_setmetatable(L, tname);
    return p;
}

static const cr_guest_call *current(lua_State *L, const char *what)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &CALL_KEY);
    const cr_guest_call *c = lua_touserdata(L, -1); /* NULL for false */
    lua_pop(L, 1);
    if (!c)
        cr_sandbox_error(L, "%s: only available while the exercise runs (in checks, injects and the solution)",
                         what);
    if (!c->ops)
        cr_sandbox_error(L, "%s: no guest operations were given to this call", what);
    return c;
}

static int timeout_for(lua_State *L)
{
    int left = cr_sandbox_time_left(L);
    return left > 0 ? left : CR_GUEST_DEFAULT_TIMEOUT_S;
}

/* Copies and forgets the operation's message. */
static void take_message(char *out, size_t n)
{
    snprintf(out, n, "%s", cr_error_message());
    cr_error_clear();
}

/* exec(vm, argv, input?) -> { code, stdout, stderr, signal, truncated } */
static int l_exec(lua_State *L)
{
    const char *vm = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    size_t input_len = 0;
    const char *input = luaL_optlstring(L, 3, NULL, &input_len);
    const cr_guest_call *c = current(L, "exec");
    if (!c->ops->exec)
        return cr_sandbox_error(L, "exec: not available in this call");
    size_t n = (size_t)lua_rawlen(L, 2);
    /* A userdata, so the array is collected whatever happens; the strings
     * stay alive in the table at 2. */
    const char **argv = lua_newuserdatauv(L, (n + 1) * sizeof *argv, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        if (lua_type(L, -1) != LUA_TSTRING)
            return luaL_argerror(L, 2, "arguments must be strings");
        argv[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    argv[n] = NULL;
    cr_exec_result *res = new_box(L, EXEC_BOX, sizeof *res);
    char msg[512];
    cr_error_clear();
    int rc = c->ops->exec(c->ops->ctx, vm, argv, input, input_len, timeout_for(L), res);
    if (rc < 0)
        take_message(msg, sizeof msg);
    cr_sandbox_check_deadline(L);
    if (rc < 0)
        return cr_sandbox_error(L, "exec on vm '%s': %s", vm, msg);
    lua_createtable(L, 0, 5);
    /* A shell reports death by signal N as 128 + N; so does code. */
    lua_pushinteger(L, res->signal ? 128 + res->signal : res->exit_code);
    lua_setfield(L, -2, "code");
    lua_pushlstring(L, res->out ? res->out : "", res->out ? res->out_len : 0);
    lua_setfield(L, -2, "stdout");
    lua_pushlstring(L, res->err ? res->err : "", res->err ? res->err_len : 0);
    lua_setfield(L, -2, "stderr");
    lua_pushinteger(L, res->signal);
    lua_setfield(L, -2, "signal");
    lua_pushboolean(L, res->truncated);
    lua_setfield(L, -2, "truncated");
    cr_exec_result_free(res);
    return 1;
}

/* read_file(vm, path) -> contents | nil, message */
static int l_read_file(lua_State *L)
{
    const char *vm = luaL_checkstring(L, 1);
    const char *path = luaL_checkstring(L, 2);
    const cr_guest_call *c = current(L, "read_file");
    if (!c->ops->read_file)
        return cr_sandbox_error(L, "read_file: not available in this call");
    buf_box *b = new_box(L, BUF_BOX, sizeof *b);
    char msg[512];
    cr_error_clear();
    int rc = c->ops->read_file(c->ops->ctx, vm, path, CR_GUEST_READ_MAX, &b->p, &b->len);
    if (rc < 0)
        take_message(msg, sizeof msg);
    cr_sandbox_check_deadline(L);
    /* Expected outcomes are values; a guest that cannot be reached is an error. */
    if (rc == CR_ENOTFOUND || rc == CR_ELIMIT) {
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    if (rc < 0)
        return cr_sandbox_error(L, "read_file on vm '%s': %s", vm, msg);
    lua_pushlstring(L, b->p ? b->p : "", b->p ? b->len : 0);
    return 1;
}

/* submit(flag, answer) -> verdict */
static int l_submit(lua_State *L)
{
    const char *flag = luaL_checkstring(L, 1);
    const char *answer = luaL_checkstring(L, 2);
    const cr_guest_call *c = current(L, "ctx.submit");
    if (!c->may_submit)
        return cr_sandbox_error(L, "ctx.submit: only the solution may submit flag answers");
    if (!c->ops->submit)
        return cr_sandbox_error(L, "ctx.submit: not available in this call");
    buf_box *b = new_box(L, BUF_BOX, sizeof *b);
    char msg[512];
    cr_error_clear();
    int rc = c->ops->submit(c->ops->ctx, flag, answer, &b->p);
    if (rc < 0)
        take_message(msg, sizeof msg);
    cr_sandbox_check_deadline(L);
    if (rc < 0)
        return cr_sandbox_error(L, "ctx.submit: flag '%s': %s", flag, msg);
    lua_pushstring(L, b->p ? b->p : "");
    return 1;
}

/* log(message): one info line, with the scenario position and the team. */
static int l_log(lua_State *L)
{
    const char *msg = luaL_checkstring(L, 1);
    const cr_guest_call *c = current(L, "ctx.log");
    char file[256];
    int line = cr_sandbox_where(L, file, sizeof file);
    if (line < 0)
        snprintf(file, sizeof file, "scenario.lua");
    cr_log_info("%s:%d: team %d: %s", file, line > 0 ? line : 0, c->team, msg);
    return 0;
}

static const luaL_Reg GUEST_FUNCS[] = {
    {"exec", l_exec},
    {"read_file", l_read_file},
    {"submit", l_submit},
    {"log", l_log},
    {NULL, NULL},
};

void cr_guest_open(lua_State *L)
{
    luaL_setfuncs(L, GUEST_FUNCS, 0);
    if (luaL_newmetatable(L, EXEC_BOX)) {
        lua_pushcfunction(L, exec_box_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, exec_box_gc);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, BUF_BOX)) {
        lua_pushcfunction(L, buf_box_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, buf_box_gc);
        lua_setfield(L, -2, "__close");
    }
    lua_pop(L, 1);
    /* The slot exists from now on and is only ever overwritten (never set
     * to nil), so cr_guest_set_call never allocates. */
    lua_pushboolean(L, 0);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CALL_KEY);
}

void cr_guest_set_call(lua_State *L, const cr_guest_call *call)
{
    if (call)
        lua_pushlightuserdata(L, (void *)call);
    else
        lua_pushboolean(L, 0);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CALL_KEY);
}
