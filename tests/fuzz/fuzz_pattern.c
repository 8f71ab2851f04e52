/*
 * fuzz_pattern.c: libFuzzer target for lua/pattern.c, differential against
 * Lua 5.4's own matcher. The input is a subject, a pattern and a gsub
 * replacement (split at the first two NULs; a missing part is empty). Each
 * of find, match, gmatch (collected) and gsub runs through both matchers
 * under pcall, and the results and error messages must be the same. Ours
 * runs first with a step limit; an input that reaches it is not given to
 * Lua's, which has none and could run for hours.
 */
#include "pattern.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_LIMIT 2000000u

static lua_Unsigned steps;

static void count(lua_State *L, lua_Unsigned n)
{
    steps += n;
    if (steps > STEP_LIMIT)
        luaL_error(L, "fuzz: step limit");
}

static const cr_pattern_charge COUNT = {count};

/* compare(s, p, r): one string per function and matcher; raises on a
 * difference (returns "limit" when ours hit the step limit). */
static const char CODE[] =
    "local s, p, r = ...\n"
    "local function ser(ok, ...)\n"
    "  local t = { tostring(ok) }\n"
    "  for i = 1, select('#', ...) do local v = select(i, ...); t[#t + 1] = type(v) .. ':' .. tostring(v) end\n"
    "  return (orig.gsub(table.concat(t, '|'), \"to '[^']*' %(\", 'to ? ('))\n"
    "end\n"
    "local function gm(f)\n"
    "  local out, n = {}, 0\n"
    "  for a, b in f(s, p) do n = n + 1; out[n] = tostring(a) .. ',' .. tostring(b); if n > 100 then break end end\n"
    "  return table.concat(out, ';')\n"
    "end\n"
    "local ours = { ser(pcall(string.find, s, p)), ser(pcall(string.match, s, p, 2)),\n"
    "  ser(pcall(gm, string.gmatch)), ser(pcall(string.gsub, s, p, r)) }\n"
    "for _, v in ipairs(ours) do if orig.find(v, 'fuzz: step limit', 1, true) then return 'limit' end end\n"
    "local lua = { ser(pcall(orig.find, s, p)), ser(pcall(orig.match, s, p, 2)),\n"
    "  ser(pcall(gm, orig.gmatch)), ser(pcall(orig.gsub, s, p, r)) }\n"
    "for i = 1, 4 do\n"
    "  if ours[i] ~= lua[i] then error(string.format('function %d: Lua %q, ours %q', i, lua[i], ours[i]), 0) end\n"
    "end\n"
    "return 'same'\n";

/* One Lua state for every input, made at the first: a new state, its
 * libraries and the compiled comparison were most of an input's cost (1,180
 * inputs a second). What an input leaves behind is garbage of its own call:
 * the comparison keeps nothing between calls but orig, which it only reads. */
static lua_State *L;
static int compare_ref;

static void setup(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    if (luaL_dostring(L, "orig = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }"))
        abort();
    lua_getglobal(L, "string");
    cr_pattern_install(L, -1, &COUNT);
    lua_pop(L, 1);
    if (luaL_loadstring(L, CODE) != LUA_OK)
        abort();
    compare_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *parts[3] = {"", "", ""};
    size_t lens[3] = {0, 0, 0};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        const uint8_t *nul = i < 2 ? memchr(data + at, 0, size - at) : NULL;
        size_t end = nul ? (size_t)(nul - data) : size;
        parts[i] = (const char *)data + at;
        lens[i] = end - at;
        at = nul ? end + 1 : size;
    }
    if (!L)
        setup();
    steps = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, compare_ref);
    for (int i = 0; i < 3; i++)
        lua_pushlstring(L, parts[i], lens[i]);
    if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_pattern: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_pop(L, 1);
    /* Now and then a full collection, so that memory use stays that of
     * one input. */
    static unsigned runs;
    if (++runs % 1024 == 0)
        lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
