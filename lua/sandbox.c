/*
 * sandbox.c: the sandboxed Lua state of sandbox.h.
 *
 * The real global table holds the base libraries the prelude (trusted) may
 * use; scenario code only ever sees the environment table built here from an
 * allow-list, with copies of the library tables. io, os, debug and package are
 * never opened; string.dump and math.random are removed from the originals
 * too, since strings reach the original string table through their metatable.
 *
 * Limits: the allocator refuses to grow past the memory limit (Lua then
 * raises a memory error), and a count hook stops the script once the
 * instruction limit is spent or the call's deadline has passed, re-arming
 * itself on every instruction so that a script catching the error with pcall
 * cannot run on. A kept state (runtime.c) gets a fresh budget per call.
 */
#include "sandbox.h"

#include "embedded.h"
#include "err.h"
#include "log.h"
#include "pattern.h"
#include "scenario.h"
#include "util.h"

#include <lauxlib.h>
#include <lualib.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOOK_STEP 1000 /* instructions between two count hook calls */
#define WHERE_MAX 256

typedef enum { LIMIT_NONE, LIMIT_INSN, LIMIT_TIME } limit_kind;

struct cr_sandbox {
    lua_State *L;
    char *dir; /* resolved, without a trailing slash */

    size_t mem_limit;
    size_t mem_used;
    bool mem_refused;           /* the allocator refused a block at least once */
    char mem_where[WHERE_MAX];  /* "scenario.lua:3" at the last refusal made from scenario code */

    uint64_t insn_limit;
    uint64_t insn_count;
    int hook_step;
    int64_t deadline_ms; /* monotonic; 0: none */
    int timeout_s;       /* what the deadline was, for the message */
    limit_kind hit;      /* the limit that stopped the current call */
    char hit_where[WHERE_MAX];
    char origin_file[WHERE_MAX - 16]; /* cr_sandbox_set_origin; line 0: none */
    int origin_line;
};

/* The registry key of the require cache, and the mark of a module being loaded. */
#define LOADED_KEY "crange.loaded"
static const char LOADING = 0;

static const char *const SAFE_BASE[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select", "tonumber", "tostring",
    "type", "setmetatable", "getmetatable", "rawequal", "rawget", "rawset", "rawlen", "_VERSION", NULL,
};

/* Not even the prelude needs these; they read files or reach the collector. */
static const char *const UNSAFE_BASE[] = {"dofile", "loadfile", "load", "collectgarbage", "print", "warn", NULL};

static cr_sandbox *sandbox_of(lua_State *L)
{
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return ud;
}

int cr_sandbox_where(lua_State *L, char *file, size_t n)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || !ar.source || ar.source[0] != '@')
            continue;
        snprintf(file, n, "%s", ar.source + 1);
        return ar.currentline > 0 ? ar.currentline : 0;
    }
    cr_sandbox *sb = sandbox_of(L);
    if (sb->origin_line > 0) {
        snprintf(file, n, "%s", sb->origin_file);
        return sb->origin_line;
    }
    return -1;
}

void cr_sandbox_set_origin(lua_State *L, const char *file, int line)
{
    cr_sandbox *sb = sandbox_of(L);
    snprintf(sb->origin_file, sizeof sb->origin_file, "%s", file);
    sb->origin_line = line;
}

static void where_text(lua_State *L, char *out, size_t n)
{
    char file[WHERE_MAX - 16]; /* room for ":LINE" */
    int line = L ? cr_sandbox_where(L, file, sizeof file) : -1;
    if (line > 0)
        snprintf(out, n, "%s:%d", file, line);
    else if (line == 0)
        snprintf(out, n, "%s", file);
    else
        snprintf(out, n, "scenario.lua");
}

/*
 * Refusing a block is the only moment we know where the script was when it
 * ran out of memory (Lua calls no handler for memory errors), so the
 * allocator peeks at the main thread's stack. lua_getstack and lua_getinfo
 * with "Sl" neither allocate nor change the state, and a refusal happens
 * before any block moves, so this is safe even mid-operation; the line may be
 * a little early, since the VM saves its pc lazily.
 */
static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    cr_sandbox *sb = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        sb->mem_used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > sb->mem_limit - sb->mem_used) {
        /* A refusal while the error of an earlier one unwinds the stack
         * has no scenario frame left: keep the place that had one. */
        char file[WHERE_MAX - 16];
        if (!sb->mem_refused || (sb->L && cr_sandbox_where(sb->L, file, sizeof file) >= 0))
            where_text(sb->L, sb->mem_where, sizeof sb->mem_where);
        sb->mem_refused = true;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p)
        sb->mem_used = sb->mem_used - old + nsize;
    return p;
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* Stops the current call: from now on every instruction of this thread
 * fails, so a script catching the error with pcall cannot run on. */
static int raise_limit(lua_State *L, cr_sandbox *sb, limit_kind kind)
{
    if (!sb->hit) {
        sb->hit = kind;
        where_text(L, sb->hit_where, sizeof sb->hit_where);
    }
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    if (sb->hit == LIMIT_TIME)
        lua_pushliteral(L, "timed out");
    else
        lua_pushliteral(L, "instruction limit exceeded");
    return lua_error(L);
}

static bool deadline_passed(const cr_sandbox *sb)
{
    return sb->deadline_ms && cr_now_ms() >= sb->deadline_ms;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    cr_sandbox *sb = sandbox_of(L);
    if (!sb->hit) {
        sb->insn_count += (uint64_t)sb->hook_step;
        if (sb->insn_count > sb->insn_limit)
            raise_limit(L, sb, LIMIT_INSN);
        if (deadline_passed(sb))
            raise_limit(L, sb, LIMIT_TIME);
        return;
    }
    raise_limit(L, sb, sb->hit);
}

/* "name.lua:" at the start: the message already says which file. */
static bool has_file(const char *m)
{
    const char *colon = strchr(m, ':');
    if (!colon || colon - m < 5 || strncmp(colon - 4, ".lua", 4) != 0)
        return false;
    for (const char *p = m; p < colon; p++)
        if (isspace((unsigned char)*p) || *p == '"' || *p == '[')
            return false;
    return true;
}

/* The message handler: makes the message a string that names the scenario
 * position, and logs the traceback for whoever debugs the scenario. */
static int msgh(lua_State *L)
{
    cr_sandbox *sb = sandbox_of(L);
    if (sb->hit)
        return 1; /* the message will be the limit's; spend nothing */
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (!has_file(msg)) {
        char file[WHERE_MAX];
        int line = cr_sandbox_where(L, file, sizeof file);
        if (line > 0)
            msg = lua_pushfstring(L, "%s:%d: %s", file, line, msg);
        else if (line == 0)
            msg = lua_pushfstring(L, "%s: %s", file, msg);
    }
    if (cr_log_threshold >= CR_LOG_DEBUG) {
        luaL_traceback(L, L, msg, 1);
        cr_log_debug("%s", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_pushstring(L, msg);
    return 1;
}

static void limit_text(char *out, size_t n, size_t bytes)
{
    if (bytes % (1024 * 1024) == 0)
        snprintf(out, n, "%zu MiB", bytes / (1024 * 1024));
    else if (bytes % 1024 == 0)
        snprintf(out, n, "%zu KiB", bytes / 1024);
    else
        snprintf(out, n, "%zu bytes", bytes);
}

/* Turns a failed call's status and error object (popped) into a one-line
 * message in OUT; returns the code. */
static int describe(cr_sandbox *sb, int status, char *out, size_t n)
{
    lua_State *L = sb->L;
    char limit[32];
    int rc;
    if (sb->hit == LIMIT_INSN) {
        rc = CR_ELIMIT;
        snprintf(out, n, "%s: instruction limit exceeded", sb->hit_where);
    } else if (sb->hit == LIMIT_TIME) {
        rc = CR_ETIMEOUT;
        snprintf(out, n, "%s: timed out after %d s", sb->hit_where, sb->timeout_s);
    } else if (status == LUA_ERRMEM && sb->mem_refused) {
        rc = CR_ELIMIT;
        limit_text(limit, sizeof limit, sb->mem_limit);
        snprintf(out, n, "%s: memory limit exceeded (%s)", sb->mem_where, limit);
    } else if (status == LUA_ERRMEM) {
        rc = CR_ERROR;
        snprintf(out, n, "scenario.lua: out of memory");
    } else {
        const char *msg = lua_tostring(L, -1);
        char one[900];
        size_t i = 0;
        rc = CR_EINVAL;
        /* One line: a user's multi-line error() must not break the format. */
        for (const char *p = msg ? msg : "unknown error"; *p && i + 1 < sizeof one; p++)
            one[i++] = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        one[i] = '\0';
        if (has_file(one))
            snprintf(out, n, "%s", one);
        else
            snprintf(out, n, "scenario.lua: %s", one);
    }
    lua_pop(L, 1);
    return rc;
}

static int report(cr_sandbox *sb, int status)
{
    char msg[1024];
    int rc = describe(sb, status, msg, sizeof msg);
    return cr_error_set(rc, "%s", msg);
}

int cr_sandbox_error(lua_State *L, const char *fmt, ...)
{
    char msg[768], file[WHERE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = cr_sandbox_where(L, file, sizeof file);
    if (line > 0)
        lua_pushfstring(L, "%s:%d: %s", file, line, msg);
    else if (line == 0)
        lua_pushfstring(L, "%s: %s", file, msg);
    else
        lua_pushfstring(L, "scenario.lua: %s", msg);
    return lua_error(L);
}

typedef enum { READ_OK, READ_NOTFOUND, READ_OUTSIDE, READ_NOTREG, READ_TOOBIG, READ_IO } read_status;

static const char *read_reason(read_status st)
{
    switch (st) {
    case READ_OK: return "ok";
    case READ_NOTFOUND: return "not found";
    case READ_OUTSIDE: return "resolves outside the scenario folder";
    case READ_NOTREG: return "is not a regular file";
    case READ_TOOBIG: return "is larger than the memory limit";
    case READ_IO: break;
    }
    return "cannot be read";
}

/* Reads DIR/RELPATH into a malloc'd buffer (*out, NUL-terminated), after
 * checking that it resolves, symlinks and all, inside the folder. Sets no
 * message: the callers raise Lua errors in their own words. */
static read_status read_confined(const cr_sandbox *sb, const char *relpath, char **out, size_t *len)
{
    read_status st = READ_OK;
    char *full = cr_path_join(sb->dir, relpath);
    char *real = realpath(full, NULL);
    char *buf = NULL;
    size_t n = strlen(sb->dir), have = 0;
    int fd = -1;
    struct stat sbuf;
    *out = NULL;
    if (!real) {
        st = errno == ENOENT || errno == ENOTDIR ? READ_NOTFOUND : READ_IO;
        goto cleanup;
    }
    if (strncmp(real, sb->dir, n) != 0 || real[n] != '/') {
        st = READ_OUTSIDE;
        goto cleanup;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sbuf) < 0) {
        st = READ_IO;
        goto cleanup;
    }
    if (!S_ISREG(sbuf.st_mode)) {
        st = READ_NOTREG;
        goto cleanup;
    }
    if ((uint64_t)sbuf.st_size > sb->mem_limit) {
        st = READ_TOOBIG;
        goto cleanup;
    }
    buf = cr_xmalloc((size_t)sbuf.st_size + 1);
    while (have < (size_t)sbuf.st_size) {
        ssize_t r = read(fd, buf + have, (size_t)sbuf.st_size - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* shrank meanwhile: take what is there */
        have += (size_t)r;
    }
    buf[have] = '\0';
    *out = buf;
    *len = have;
    buf = NULL;
cleanup:
    if (fd >= 0)
        close(fd);
    free(buf);
    free(real);
    free(full);
    return st;
}

static void push_env(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, CR_SANDBOX_ENV);
}

/* Makes the sandbox environment the _ENV of the chunk on top of the stack.
 * May raise (memory), so callers free their buffers first. */
static void set_env(lua_State *L)
{
    push_env(L);
    lua_setupvalue(L, -2, 1);
}

/* Loads RELPATH of the folder as "@RELPATH"; raises on failure, with WHAT
 * before the path ("require: module 'x': "), or, for the top-level chunk
 * (WHAT NULL), as "RELPATH: reason". The buffer is freed before any error. */
static void load_file(lua_State *L, const char *relpath, const char *what)
{
    cr_sandbox *sb = sandbox_of(L);
    char *data = NULL;
    size_t len = 0;
    read_status st = read_confined(sb, relpath, &data, &len);
    if (st != READ_OK) {
        if (!what) {
            lua_pushfstring(L, "%s: %s", relpath, read_reason(st));
            lua_error(L);
        }
        cr_sandbox_error(L, "%s%s %s", what, relpath, read_reason(st));
    }
    char *chunkname = cr_xasprintf("@%s", relpath);
    int lst = luaL_loadbufferx(L, data, len, chunkname, "t"); /* protected: never raises */
    free(chunkname);
    free(data);
    if (lst == LUA_OK) {
        set_env(L);
        return;
    }
    const char *msg = lua_tostring(L, -1);
    if (lst == LUA_ERRMEM || (msg && has_file(msg)))
        lua_error(L); /* a syntax error is already positioned in that file */
    if (!what) {
        lua_pushfstring(L, "%s: %s", relpath, msg ? msg : "cannot load");
        lua_error(L);
    }
    cr_sandbox_error(L, "%s%s: %s", what, relpath, msg ? msg : "cannot load");
}

/* print(...): to stderr, prefixed with the scenario position. */
static int sb_print(lua_State *L)
{
    char where[WHERE_MAX];
    luaL_Buffer b;
    int n = lua_gettop(L);
    where_text(L, where, sizeof where);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, where);
    luaL_addstring(&b, ":");
    for (int i = 1; i <= n; i++) {
        luaL_addchar(&b, i == 1 ? ' ' : '\t');
        luaL_tolstring(L, i, NULL);
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    fputs(lua_tostring(L, -1), stderr);
    return 0;
}

/* load(chunk [, chunkname [, mode [, env]]]): text only, whatever the mode
 * says; the environment defaults to the sandbox's. The chunk is always named
 * "load: NAME" (NAME the given name, else the code, as Lua does), so that it
 * can pose neither as a file ("@...": scenario positions, and a path such as
 * "@@/etc/shadow" once one '@' was stripped) nor as a trusted chunk ("=...");
 * Lua shows it as [string "load: NAME"]. The name is cut, as Lua would cut
 * it for display anyway. */
static int sb_load(lua_State *L)
{
    size_t len;
    if (lua_type(L, 1) != LUA_TSTRING)
        return luaL_argerror(L, 1, "string expected (scenarios load text chunks only)");
    const char *s = lua_tolstring(L, 1, &len);
    char name[128];
    snprintf(name, sizeof name, "load: %s", luaL_optstring(L, 2, s));
    int st = luaL_loadbufferx(L, s, len, name, "t");
    if (st != LUA_OK) {
        if (st == LUA_ERRMEM)
            return lua_error(L);
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (!lua_isnoneornil(L, 4))
        lua_pushvalue(L, 4);
    else
        push_env(L);
    lua_setupvalue(L, -2, 1);
    return 1;
}

static bool module_name_ok(const char *name)
{
    /* ^[%w_]+(%.[%w_]+)*$ */
    bool seg = false;
    for (const char *p = name; *p; p++) {
        if (isalnum((unsigned char)*p) || *p == '_') {
            seg = true;
        } else if (*p == '.' && seg) {
            seg = false;
        } else {
            return false;
        }
    }
    return seg;
}

/* require(name): a built-in module compiled into crange, else
 * <folder>/<name with . as />.lua, confined to the folder; cached per state. */
static int sb_require(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (!module_name_ok(name) || strlen(name) > 200)
        return cr_sandbox_error(L, "require: bad module name '%s' (use a dotted name like \"lib.helper\")", name);
    lua_getfield(L, LUA_REGISTRYINDEX, LOADED_KEY); /* 2 */
    lua_getfield(L, 2, name);
    if (lua_touserdata(L, -1) == &LOADING)
        return cr_sandbox_error(L, "require: module '%s' requires itself, or failed to load before", name);
    if (!lua_isnil(L, -1))
        return 1;
    lua_pop(L, 1);

    const cr_embedded_file *builtin = NULL;
    for (const cr_embedded_file *f = cr_embedded_files; f->name; f++)
        if (strcmp(f->name, "prelude") != 0 && !strcmp(f->name, name))
            builtin = f;
    if (builtin) {
        lua_pushfstring(L, "=crange.%s", name);
        if (luaL_loadbufferx(L, builtin->data, builtin->len, lua_tostring(L, -1), "t") != LUA_OK)
            return lua_error(L);
        set_env(L);
    } else {
        char relpath[256];
        size_t i = 0;
        for (const char *p = name; *p; p++)
            relpath[i++] = *p == '.' ? '/' : *p;
        snprintf(relpath + i, sizeof relpath - i, ".lua");
        cr_sandbox *sb = sandbox_of(L);
        char *full = cr_path_join(sb->dir, relpath);
        bool exists = access(full, F_OK) == 0;
        free(full);
        if (!exists)
            return cr_sandbox_error(L, "require: module '%s' not found in the scenario folder (no %s)", name,
                                    relpath);
        char what[256 + 32];
        snprintf(what, sizeof what, "require: module '%s': ", name);
        load_file(L, relpath, what);
    }
    lua_pushlightuserdata(L, (void *)&LOADING);
    lua_setfield(L, 2, name);
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 2, name);
    return 1;
}

static const luaL_Reg SANDBOX_FUNCS[] = {
    {"print", sb_print},
    {"load", sb_load},
    {"require", sb_require},
    {NULL, NULL},
};

/* ------------------------------------------------- C loops the hook misses
 *
 * The count hook sees Lua instructions only; a library function loops in C
 * as long as its arguments say, and Lua runs finalizers with hooks off.
 * Measured before these wrappers (validate of a one-line scenario, killed
 * after 60 s): string.rep("", 1e12), table.move({}, 1, 1e12, 2) and a
 * table.insert into a table whose __len says 2^53 never ended, nor did a
 * __gc finalizer with a loop. So the functions that loop over a range the
 * script names charge that range to the instruction budget first, and a
 * metatable with __gc is refused (Lua marks an object for finalization only
 * when its metatable has __gc as setmetatable is called, so adding it later
 * does nothing). Each wrapper calls the original, kept as upvalue 1.
 * Pattern matching backtracks in C too (("a"):rep(3000):find("a*a*a*b") ran
 * over 60 s): find, match, gmatch and gsub are pattern.c's, which charge
 * their steps here. */

/* Spends n instructions of the budget, or raises the instruction limit. */
static void charge(lua_State *L, lua_Unsigned n)
{
    cr_sandbox *sb = sandbox_of(L);
    if (sb->hit)
        raise_limit(L, sb, sb->hit);
    if (n > sb->insn_limit - (sb->insn_count < sb->insn_limit ? sb->insn_count : sb->insn_limit)) {
        sb->insn_count = sb->insn_limit + 1;
        raise_limit(L, sb, LIMIT_INSN);
    }
    sb->insn_count += n;
    if (deadline_passed(sb))
        raise_limit(L, sb, LIMIT_TIME);
}

static void charge_steps(lua_State *L, lua_Unsigned steps)
{
    charge(L, steps);
}

static const cr_pattern_charge PATTERN_CHARGE = {charge_steps};

/* The number of integers from a to b, 0 when b < a. */
static lua_Unsigned span(lua_Integer a, lua_Integer b)
{
    return b < a ? 0 : (lua_Unsigned)b - (lua_Unsigned)a + 1;
}

static int call_original(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* string.rep(s, n [, sep]): with s and sep empty, the original copies
 * nothing n times. */
static int sb_string_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n <= 0 || l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return call_original(L);
}

/* table.move(a1, f, e, t [, a2]): e - f + 1 element moves. */
static int sb_table_move(lua_State *L)
{
    charge(L, span(luaL_checkinteger(L, 2), luaL_checkinteger(L, 3)));
    return call_original(L);
}

/* table.insert(t, [pos,] v) and table.remove(t [, pos]) shift the elements
 * from pos to #t; table.sort(t) and table.concat(t, sep, 1, #t) visit #t. */
static lua_Integer len_of(lua_State *L)
{
    luaL_checkany(L, 1);
    return luaL_len(L, 1);
}

static int sb_table_insert(lua_State *L)
{
    lua_Integer e = len_of(L) + 1;
    charge(L, lua_gettop(L) == 3 ? span(luaL_checkinteger(L, 2), e) : 1);
    return call_original(L);
}

static int sb_table_remove(lua_State *L)
{
    lua_Integer size = len_of(L);
    charge(L, span(luaL_optinteger(L, 2, size), size) + 1);
    return call_original(L);
}

static int sb_table_sort(lua_State *L)
{
    charge(L, span(1, len_of(L)));
    return call_original(L);
}

static int sb_table_concat(lua_State *L)
{
    lua_Integer i = luaL_optinteger(L, 3, 1);
    lua_Integer j = lua_isnoneornil(L, 4) ? len_of(L) : luaL_checkinteger(L, 4);
    charge(L, span(i, j));
    return call_original(L);
}

/* setmetatable(t, mt): finalizers run with hooks off, so none from scripts. */
static int sb_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL)
            return luaL_error(L, "setmetatable: a __gc finalizer is not allowed in a scenario");
        lua_pop(L, 1);
    }
    return call_original(L);
}

/* Replaces lib[name] (the table on top of the stack; the globals when lib
 * is NULL) with f wrapping the original. */
static void wrap(lua_State *L, const char *lib, const char *name, lua_CFunction f)
{
    if (lib)
        lua_getglobal(L, lib);
    else
        lua_pushglobaltable(L);
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* Sets env[name] to a shallow copy of the global library NAME, minus DROP,
 * which also leaves the original. */
static void copy_lib(lua_State *L, int env, const char *name, const char *const *drop)
{
    lua_getglobal(L, name);
    for (; drop && *drop; drop++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *drop);
    }
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    lua_setfield(L, env, name);
    lua_pop(L, 1);
}

static int sandbox_init(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},         {LUA_COLIBNAME, luaopen_coroutine},
        {LUA_TABLIBNAME, luaopen_table},   {LUA_STRLIBNAME, luaopen_string},
        {LUA_MATHLIBNAME, luaopen_math},   {LUA_UTF8LIBNAME, luaopen_utf8},
        {NULL, NULL},
    };
    static const char *const no_dump[] = {"dump", NULL};
    static const char *const no_random[] = {"random", "randomseed", NULL};
    for (const luaL_Reg *lib = libs; lib->func; lib++) {
        luaL_requiref(L, lib->name, lib->func, 1);
        lua_pop(L, 1);
    }
    for (const char *const *n = UNSAFE_BASE; *n; n++) {
        lua_pushnil(L);
        lua_setglobal(L, *n);
    }
    /* In the originals, which strings reach through their metatable. */
    wrap(L, LUA_STRLIBNAME, "rep", sb_string_rep);
    wrap(L, LUA_TABLIBNAME, "move", sb_table_move);
    wrap(L, LUA_TABLIBNAME, "insert", sb_table_insert);
    wrap(L, LUA_TABLIBNAME, "remove", sb_table_remove);
    wrap(L, LUA_TABLIBNAME, "sort", sb_table_sort);
    wrap(L, LUA_TABLIBNAME, "concat", sb_table_concat);
    wrap(L, NULL, "setmetatable", sb_setmetatable);
    lua_getglobal(L, LUA_STRLIBNAME);
    cr_pattern_install(L, -1, &PATTERN_CHARGE);
    lua_pop(L, 1);

    lua_newtable(L); /* the environment */
    int env = lua_gettop(L);
    for (const char *const *n = SAFE_BASE; *n; n++) {
        lua_getglobal(L, *n);
        lua_setfield(L, env, *n);
    }
    copy_lib(L, env, LUA_STRLIBNAME, no_dump);
    copy_lib(L, env, LUA_MATHLIBNAME, no_random);
    copy_lib(L, env, LUA_TABLIBNAME, NULL);
    copy_lib(L, env, LUA_UTF8LIBNAME, NULL);
    copy_lib(L, env, LUA_COLIBNAME, NULL);
    luaL_setfuncs(L, SANDBOX_FUNCS, 0);
    lua_pushvalue(L, env);
    lua_setfield(L, env, LUA_GNAME);
    lua_setfield(L, LUA_REGISTRYINDEX, CR_SANDBOX_ENV);

    /* Strings share one metatable; keep scripts from swapping its __index
     * under the prelude's feet. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOADED_KEY);
    return 0;
}

static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    cr_log_error("unprotected Lua error: %s", msg ? msg : "?");
    abort();
}

int cr_sandbox_new(cr_sandbox **out, const cr_sandbox_opts *opts)
{
    int rc = 0;
    char limit[32];
    cr_sandbox *sb = cr_xcalloc(1, sizeof *sb);
    *out = NULL;
    sb->dir = cr_xstrdup(opts->dir);
    size_t n = strlen(sb->dir);
    while (n > 1 && sb->dir[n - 1] == '/')
        sb->dir[--n] = '\0';
    sb->mem_limit = opts->memory_limit ? opts->memory_limit : CR_LUA_DEFAULT_MEMORY;
    sb->insn_limit = opts->instruction_limit ? opts->instruction_limit : CR_LUA_DEFAULT_INSTRUCTIONS;
    sb->hook_step = sb->insn_limit < HOOK_STEP ? (int)sb->insn_limit : HOOK_STEP;
    snprintf(sb->mem_where, sizeof sb->mem_where, "scenario.lua");

    sb->L = lua_newstate(sandbox_alloc, sb);
    if (!sb->L) {
        limit_text(limit, sizeof limit, sb->mem_limit);
        rc = cr_error_set(CR_ELIMIT, "scenario.lua: memory limit exceeded (%s)", limit);
        goto cleanup;
    }
    lua_atpanic(sb->L, panic);
    lua_pushcfunction(sb->L, sandbox_init);
    int st = lua_pcall(sb->L, 0, 0, 0);
    if (st != LUA_OK) {
        rc = report(sb, st);
        goto cleanup;
    }
    lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, sb->hook_step);
    *out = sb;
    sb = NULL;
cleanup:
    cr_sandbox_free(sb);
    return rc;
}

void cr_sandbox_free(cr_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->L)
        lua_close(sb->L);
    free(sb->dir);
    free(sb);
}

lua_State *cr_sandbox_lua(cr_sandbox *sb)
{
    return sb->L;
}

int cr_sandbox_pcall(cr_sandbox *sb, int nargs, int nresults)
{
    lua_State *L = sb->L;
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    int st = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (st != LUA_OK)
        return report(sb, st);
    return 0;
}

static int run_file(lua_State *L)
{
    const char *relpath = lua_touserdata(L, 1);
    load_file(L, relpath, NULL);
    lua_call(L, 0, 0);
    return 0;
}

int cr_sandbox_pcall_reason(cr_sandbox *sb, int nargs, int nresults, char **reason)
{
    lua_State *L = sb->L;
    char msg[1024];
    int base = lua_gettop(L) - nargs;
    *reason = NULL;
    lua_pushcfunction(L, msgh);
    lua_insert(L, base);
    int st = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (st == LUA_OK)
        return 0;
    int rc = describe(sb, st, msg, sizeof msg);
    *reason = cr_xstrdup(msg);
    return rc;
}

void cr_sandbox_call_begin(cr_sandbox *sb, int timeout_s)
{
    sb->insn_count = 0;
    sb->hit = LIMIT_NONE;
    sb->mem_refused = false;
    sb->timeout_s = timeout_s > 0 ? timeout_s : 0;
    sb->deadline_ms = timeout_s > 0 ? cr_now_ms() + (int64_t)timeout_s * 1000 : 0;
    sb->origin_line = 0;
    lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, sb->hook_step);
}

void cr_sandbox_call_end(cr_sandbox *sb)
{
    sb->deadline_ms = 0;
    sb->timeout_s = 0;
    sb->insn_count = 0;
    sb->hit = LIMIT_NONE;
    sb->origin_line = 0;
    lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, sb->hook_step);
}

int cr_sandbox_time_left(lua_State *L)
{
    cr_sandbox *sb = sandbox_of(L);
    if (!sb->deadline_ms)
        return 0;
    int64_t left = sb->deadline_ms - cr_now_ms();
    int s = (int)((left + 999) / 1000);
    return s < 1 ? 1 : s;
}

void cr_sandbox_check_deadline(lua_State *L)
{
    cr_sandbox *sb = sandbox_of(L);
    if (sb->hit)
        raise_limit(L, sb, sb->hit);
    if (deadline_passed(sb))
        raise_limit(L, sb, LIMIT_TIME);
}

int cr_sandbox_run_file(cr_sandbox *sb, const char *relpath)
{
    lua_pushcfunction(sb->L, run_file);
    lua_pushlightuserdata(sb->L, (void *)relpath);
    return cr_sandbox_pcall(sb, 1, 0);
}
