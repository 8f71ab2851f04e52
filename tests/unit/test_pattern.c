/*
 * test_pattern.c: pattern.c answers as Lua 5.4's own string.find, match,
 * gmatch and gsub do (results and error messages, compared case by case
 * against the originals in the same state), and its steps reach the charge
 * function, which can stop a runaway match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pattern.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdio.h>
#include <string.h>

/* Steps charged so far, and where charging raises an error. */
static lua_Unsigned charged;
static lua_Unsigned charge_limit;

static void count_steps(lua_State *L, lua_Unsigned n)
{
    charged += n;
    if (charge_limit && charged > charge_limit)
        luaL_error(L, "step limit");
}

static const cr_pattern_charge COUNT = {count_steps};

/* A state whose string table has ours, with Lua's as orig.find etc. */
static lua_State *both(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    if (luaL_dostring(L, "orig = { find = string.find, match = string.match, gmatch = string.gmatch, gsub = string.gsub }"))
        fail_msg("%s", lua_tostring(L, -1));
    lua_getglobal(L, "string");
    cr_pattern_install(L, -1, &COUNT);
    lua_pop(L, 1);
    charged = 0;
    charge_limit = 0;
    return L;
}

/* The comparison, in Lua: every function, on every subject, pattern and
 * start (and replacement for gsub), through pcall, serialised with types;
 * returns the number of cases and the first difference, if any. */
static const char COMPARE[] =
    "local subjects = { '', 'a', 'aaa', 'aab', 'abc', 'a.b', 'x(y(z))w', 'hello world 123',\n"
    "  'THE (quick) fox', 'ab\\0cd', '[]]', '%d', 'xx-yy', '10-10 20-21', '\\255\\128a', 'a-b-c',\n"
    "  'key = value; k2=v2', '  trim me  ', 'THE END', '((a)(b))', 'aaaa' }\n"
    "local patterns = { '', '^', '$', '^$', 'a', '.', '%a+', '%d*', '[%a_][%w_]*', '[^%s]+', '[]]',\n"
    "  '[^]]', '[a-]', '[-a]', '[%]]', '%bxy', '%b()', '%f[%w]%w+', '%f[%W]', '(a)(b)', '()a()', '(a*(.)%w(%s*))',\n"
    "  '%1', '(a)%1', '(%d+)-%1', 'a?b', 'a-b', 'x*$', '^x*', '[a-c]+', '%.', '%%', '%', '[', '[a', '(',\n"
    "  ')', '%b', '%ba', '%f', '%fa', '(()', '%9', 'a$b', '^^a', '[%w-%.]+', '.-%s', '^%s*(.-)%s*$',\n"
    "  '(%w+)%s*=%s*(%w+)', '%z', '\\0', 'a\\0?c', '[\\0-\\1]', '%u+', '%l-', '%x+', '%p', '%c', '%g+', '%S+',\n"
    "  '%D', '%A', '[%D]', '[^%d%s]', '(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)(t)(u)(v)(w)(x)(y)(z)(1)(2)(3)(4)(5)(6)(7)',\n"
    "  '()', '(()())', '%f[a]', '[a-%%]', '[%a-z]', 'a+?', 'a*-', '.+%1', '(.)%1', '(()%1)', '^(a+)$', 'a*a*b' }\n"
    "local inits = { false, 1, 2, -1, -3, -100, 0, 4, 100 }\n"
    "local repls = { '%0', '<%1>', '%%', 'x', '%2', '%', '%z', '[%1%1]',\n"
    "  function(...) return select('#', ...) .. ':' .. table.concat({...}, ',') end,\n"
    "  { a = 'A', ['('] = 1 }, function() return false end, 5, function() return {} end }\n"
    "local function ser(ok, ...)\n"
    "  local t = { tostring(ok) }\n"
    "  for i = 1, select('#', ...) do local v = select(i, ...); t[#t + 1] = type(v) .. ':' .. tostring(v) end\n"
    "  -- Lua names a C function in 'bad argument' by where it finds it: ours\n"
    "  -- are string.*, the originals no longer are.\n"
    "  return (orig.gsub(table.concat(t, '|'), \"to '[^']*' %(\", 'to ? ('))\n"
    "end\n"
    "local function gm(f, s, p, i)\n"
    "  local out = {}\n"
    "  local it = i and f(s, p, i) or f(s, p)\n"
    "  for a, b, c in it do out[#out + 1] = tostring(a) .. ',' .. tostring(b) .. ',' .. tostring(c)\n"
    "    if #out > 50 then break end end\n"
    "  return table.concat(out, ';')\n"
    "end\n"
    "local cases = 0\n"
    "local function check(what, a, b)\n"
    "  cases = cases + 1\n"
    "  if a ~= b then error(string.format('%s: Lua %q, ours %q', what, a, b), 0) end\n"
    "end\n"
    "for _, s in ipairs(subjects) do for _, p in ipairs(patterns) do\n"
    "  for _, i in ipairs(inits) do\n"
    "    local w = string.format('(%q, %q, %s)', s, p, tostring(i))\n"
    "    local i2 = i or nil\n"
    "    check('find' .. w, ser(pcall(orig.find, s, p, i2)), ser(pcall(string.find, s, p, i2)))\n"
    "    check('find plain' .. w, ser(pcall(orig.find, s, p, i2 or 1, true)), ser(pcall(string.find, s, p, i2 or 1, true)))\n"
    "    check('match' .. w, ser(pcall(orig.match, s, p, i2)), ser(pcall(string.match, s, p, i2)))\n"
    "    check('gmatch' .. w, ser(pcall(gm, orig.gmatch, s, p, i2)), ser(pcall(gm, string.gmatch, s, p, i2)))\n"
    "    check('method' .. w, ser(pcall(function() return orig.find(s, p, i2) end)), ser(pcall(function() return s:find(p, i2) end)))\n"
    "  end\n"
    "  for k, r in ipairs(repls) do for _, n in ipairs({ false, 0, 1, 2 }) do\n"
    "    local w = string.format('gsub(%q, %q, repl %d, %s)', s, p, k, tostring(n))\n"
    "    local n2 = n or nil\n"
    "    check(w, ser(pcall(orig.gsub, s, p, r, n2)), ser(pcall(string.gsub, s, p, r, n2)))\n"
    "  end end\n"
    "end end\n"
    "check('gsub bad repl', ser(pcall(orig.gsub, 'a', 'a', true)), ser(pcall(string.gsub, 'a', 'a', true)))\n"
    "check('find no pattern', ser(pcall(orig.find, 'a')), ser(pcall(string.find, 'a')))\n"
    "return cases\n";

static void test_answers_as_lua_does(void **state)
{
    (void)state;
    lua_State *L = both();
    if (luaL_dostring(L, COMPARE) != LUA_OK)
        fail_msg("%s", lua_tostring(L, -1));
    lua_Integer cases = lua_tointeger(L, -1);
    printf("pattern: %lld cases as Lua's own, %llu steps\n", (long long)cases, (unsigned long long)charged);
    assert_true(cases > 100000);
    assert_true(charged > 0);
    lua_close(L);
}

/* Each of these ran for over a minute with Lua's matcher. */
static void test_backtracking_is_charged_and_can_be_stopped(void **state)
{
    (void)state;
    static const char *const bombs[] = {
        "return (('a'):rep(3000)):find('a*a*a*b')",
        "return (('a'):rep(3000)):match('.-.-.-b')",
        "return select(2, (('a'):rep(3000)):gsub('a*a*a*b', ''))",
        "for x in (('a'):rep(3000)):gmatch('a*a*a*b') do end",
        "return (('a'):rep(3000)):find('(.-)%1%1%1b')",
        "return (('a'):rep(3000)):find(('a?'):rep(100) .. 'b')",
        "return (('a'):rep(3000)):find('[' .. ('b'):rep(100000) .. ']+c')",
    };
    for (size_t i = 0; i < sizeof bombs / sizeof *bombs; i++) {
        lua_State *L = both();
        charge_limit = 50u * 1000 * 1000;
        int rc = luaL_dostring(L, bombs[i]);
        if (rc == LUA_OK)
            fail_msg("%s: ended after %llu steps", bombs[i], (unsigned long long)charged);
        if (!strstr(lua_tostring(L, -1), "step limit") && !strstr(lua_tostring(L, -1), "pattern too complex"))
            fail_msg("%s: %s", bombs[i], lua_tostring(L, -1));
        lua_close(L);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_as_lua_does),
        cmocka_unit_test(test_backtracking_is_charged_and_can_be_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
