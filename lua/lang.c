/*
 * lang.c: runs the embedded prelude in a sandbox (lang.h) and provides the C
 * helpers it receives as its first argument. The helpers are reachable only
 * through the prelude's locals, never from the script's environment.
 *
 * The range secret lives in an upvalue of the derive helpers, so scenario
 * code (which has no debug library) cannot read it. The exercise-time
 * helpers (exec, read_file, submit, log) come from guest.c.
 */
#include "lang.h"

#include "attack.h"
#include "embedded.h"
#include "err.h"
#include "guest.h"
#include "scenario.h"
#include "util.h"
#include "vars.h"

#include <lauxlib.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FINISH_KEY "crange.lang.finish"
#define CONTEXT_KEY "crange.lang.context"

/* where() -> file, line | nil: the innermost scenario position. */
static int l_where(lua_State *L)
{
    char file[256];
    int line = cr_sandbox_where(L, file, sizeof file);
    if (line < 0)
        return 0;
    lua_pushstring(L, file);
    lua_pushinteger(L, line);
    return 2;
}

/* cidr("10.1.0.0/24") -> addr, prefix | nil */
static int l_cidr(lua_State *L)
{
    uint32_t addr;
    int prefix;
    if (cr_cidr_parse(&addr, &prefix, luaL_checkstring(L, 1)) < 0)
        return 0;
    lua_pushinteger(L, (lua_Integer)addr);
    lua_pushinteger(L, prefix);
    return 2;
}

/* ipv4("10.1.0.5") -> integer | nil */
static int l_ipv4(lua_State *L)
{
    uint32_t addr;
    if (cr_ipv4_parse(&addr, luaL_checkstring(L, 1)) < 0)
        return 0;
    lua_pushinteger(L, (lua_Integer)addr);
    return 1;
}

/* name_valid(s, max) -> boolean */
static int l_name_valid(lua_State *L)
{
    lua_pushboolean(L, cr_name_valid(luaL_checkstring(L, 1), (size_t)luaL_checkinteger(L, 2)));
    return 1;
}

/* attack_name("T1133") -> "External Remote Services" | nil */
static int l_attack_name(lua_State *L)
{
    const char *name = cr_attack_name(luaL_checkstring(L, 1));
    if (!name)
        return 0;
    lua_pushstring(L, name);
    return 1;
}

/* The common head of the derive helpers: (tag, name, team, unique, ...). */
static void spec_head(lua_State *L, cr_var_spec *spec, int *team)
{
    memset(spec, 0, sizeof *spec);
    spec->tag = luaL_checkstring(L, 1);
    spec->name = luaL_checkstring(L, 2);
    *team = (int)luaL_checkinteger(L, 3);
    spec->unique = lua_toboolean(L, 4);
}

static void derive(lua_State *L, cr_var_value *v, const cr_var_spec *spec, int team)
{
    const unsigned char *secret = lua_touserdata(L, lua_upvalueindex(1));
    int rc = cr_vars_derive(v, spec, secret, team);
    if (rc == CR_ELIMIT)
        cr_sandbox_error(L, "vars: '%s': no unique value found (use unique = false)", spec->name);
    else if (rc < 0)
        cr_sandbox_error(L, "vars: '%s': bad random spec", spec->name);
}

/* derive_int(tag, name, team, unique, lo, hi) -> integer */
static int l_derive_int(lua_State *L)
{
    cr_var_spec spec;
    cr_var_value v;
    int team;
    spec_head(L, &spec, &team);
    spec.shape = CR_VAR_INT;
    spec.lo = luaL_checkinteger(L, 5);
    spec.hi = luaL_checkinteger(L, 6);
    derive(L, &v, &spec, team);
    lua_pushinteger(L, v.i);
    return 1;
}

/* derive_string(tag, name, team, unique, alphabet, len) -> string */
static int l_derive_string(lua_State *L)
{
    cr_var_spec spec;
    cr_var_value v;
    int team;
    spec_head(L, &spec, &team);
    spec.shape = CR_VAR_STRING;
    spec.alphabet = luaL_checkstring(L, 5);
    spec.len = (size_t)luaL_checkinteger(L, 6);
    derive(L, &v, &spec, team);
    lua_pushstring(L, v.s);
    return 1;
}

/* derive_choice(tag, name, team, unique, texts) -> 1-based index */
static int l_derive_choice(lua_State *L)
{
    cr_var_spec spec;
    cr_var_value v;
    int team;
    spec_head(L, &spec, &team);
    spec.shape = CR_VAR_CHOICE;
    luaL_checktype(L, 5, LUA_TTABLE);
    size_t n = (size_t)lua_rawlen(L, 5);
    /* A userdata, so the array is collected even if an error unwinds. */
    const char **texts = lua_newuserdatauv(L, (n ? n : 1) * sizeof *texts, 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 5, (lua_Integer)i + 1);
        texts[i] = lua_tostring(L, -1); /* kept alive by the table at 5 */
        lua_pop(L, 1);
        if (!texts[i])
            return luaL_argerror(L, 5, "texts must be strings");
    }
    spec.choices = texts;
    spec.n_choices = n;
    derive(L, &v, &spec, team);
    lua_pushinteger(L, v.i + 1);
    return 1;
}

static const luaL_Reg HOST_FUNCS[] = {
    {"where", l_where},
    {"cidr", l_cidr},
    {"ipv4", l_ipv4},
    {"name_valid", l_name_valid},
    {"attack_name", l_attack_name},
    {NULL, NULL},
};

/* These share one upvalue: the secret. */
static const luaL_Reg DERIVE_FUNCS[] = {
    {"derive_int", l_derive_int},
    {"derive_string", l_derive_string},
    {"derive_choice", l_derive_choice},
    {NULL, NULL},
};

/*
 * The prelude compiled once per process. Every sandbox runs it (two per
 * `validate` of a two-team scenario, one per check call), and compiling its
 * 1,200 lines took 0.8 ms a time against 0.13 ms for loading the compiled
 * form (measured 2026-12-05, liblua5.4 -O2). The bytes come from lua_dump of
 * our own embedded source in this process, never from outside, so loading
 * them in binary mode is safe; line information is kept for error messages.
 * Owned by the process (made once, never freed).
 */
static pthread_once_t compiled_once = PTHREAD_ONCE_INIT;
static char *compiled;
static size_t compiled_len, compiled_cap;

/* lua_dump writes a few bytes at a time: grow by doubling. */
static int grow_compiled(lua_State *L, const void *p, size_t n, void *ud)
{
    (void)L;
    (void)ud;
    if (n > compiled_cap - compiled_len) {
        size_t cap = compiled_cap ? compiled_cap : 64 * 1024;
        while (n > cap - compiled_len)
            cap *= 2;
        char *bigger = realloc(compiled, cap);
        if (!bigger)
            return 1;
        compiled = bigger;
        compiled_cap = cap;
    }
    memcpy(compiled + compiled_len, p, n);
    compiled_len += n;
    return 0;
}

static const cr_embedded_file *find_prelude(void)
{
    for (const cr_embedded_file *f = cr_embedded_files; f->name; f++)
        if (!strcmp(f->name, "prelude"))
            return f;
    return NULL;
}

/* On any failure the cache stays empty and lang_open compiles the text. */
static void compile_prelude(void)
{
    const cr_embedded_file *prelude = find_prelude();
    lua_State *L = prelude ? luaL_newstate() : NULL;
    if (!L)
        return;
    if (luaL_loadbufferx(L, prelude->data, prelude->len, "=crange.prelude", "t") == LUA_OK &&
        lua_dump(L, grow_compiled, NULL, 0) != 0) {
        free(compiled);
        compiled = NULL;
        compiled_len = compiled_cap = 0;
    }
    lua_close(L);
}

static int lang_open(lua_State *L)
{
    const cr_lang_opts *opts = lua_touserdata(L, 1);
    pthread_once(&compiled_once, compile_prelude);
    const cr_embedded_file *prelude = find_prelude();
    if (!prelude)
        return luaL_error(L, "crange was built without lua/prelude.lua");
    if (luaL_loadbufferx(L, compiled ? compiled : prelude->data, compiled ? compiled_len : prelude->len,
                         "=crange.prelude", compiled ? "b" : "t") != LUA_OK)
        return lua_error(L);

    luaL_newlib(L, HOST_FUNCS);
    cr_guest_open(L);
    unsigned char *secret = lua_newuserdatauv(L, CR_SECRET_LEN, 0);
    memcpy(secret, opts->secret, CR_SECRET_LEN);
    luaL_setfuncs(L, DERIVE_FUNCS, 1);

    lua_getfield(L, LUA_REGISTRYINDEX, CR_SANDBOX_ENV);
    lua_pushinteger(L, opts->team);
    if (opts->count > 0)
        lua_pushinteger(L, opts->count);
    else
        lua_pushnil(L);
    lua_call(L, 4, 2);
    lua_setfield(L, LUA_REGISTRYINDEX, CONTEXT_KEY);
    lua_setfield(L, LUA_REGISTRYINDEX, FINISH_KEY);
    return 0;
}

int cr_lang_open(cr_sandbox *sb, const cr_lang_opts *opts)
{
    lua_State *L = cr_sandbox_lua(sb);
    lua_pushcfunction(L, lang_open);
    lua_pushlightuserdata(L, (void *)opts);
    return cr_sandbox_pcall(sb, 1, 0);
}

void cr_lang_push_declarations(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, FINISH_KEY);
    lua_call(L, 0, 1);
}

void cr_lang_push_context(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, CONTEXT_KEY);
    lua_call(L, 0, 1);
}
