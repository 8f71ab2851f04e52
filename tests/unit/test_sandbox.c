/*
 * test_sandbox.c: scenario code cannot reach the host: no io, os, debug or
 * package, no bytecode anywhere, require stays in the folder, and runaway
 * scripts stop at the memory and instruction limits with CR_ELIMIT, C loops
 * and backtracking patterns included.
 * Limits are set small here so that every test stays fast.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "scenario.h"
#include "testutil.h"
#include "util.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char HEAD[] =
    "scenario{ id = \"t\", title = { ja = \"題\", en = \"T\" }, description = { ja = \"説明\", en = \"D\" } }\n";

typedef struct fixture {
    char *dir;
    cr_scenario *s;
    cr_load_opts opts;
} fixture;

static int setup(void **state)
{
    fixture *f = cr_xcalloc(1, sizeof *f);
    f->dir = tu_tmpdir();
    f->opts.memory_limit = 8u * 1024 * 1024;
    f->opts.instruction_limit = 200000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    cr_scenario_free(f->s);
    tu_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Writes HEAD + body and loads it; returns the code, leaves the model in f->s. */
static int run(fixture *f, const char *body)
{
    char *text = cr_xasprintf("%s%s", HEAD, body);
    tu_write(f->dir, "scenario.lua", text);
    free(text);
    cr_scenario_free(f->s);
    f->s = NULL;
    cr_error_clear();
    return cr_scenario_load(&f->s, f->dir, &f->opts);
}

static void run_ok(fixture *f, const char *body)
{
    if (run(f, body) < 0)
        fail_msg("load failed: %s", cr_error_message());
}

static const char *var(fixture *f, const char *name)
{
    const cr_var *v = cr_team_var(&f->s->teams[0], name);
    assert_non_null(v);
    return v->value;
}

/* type(EXPR) as the script sees it. */
static const char *type_of(fixture *f, const char *expr)
{
    char *body = cr_xasprintf("vars{ r = type(%s) }\n", expr);
    run_ok(f, body);
    free(body);
    return var(f, "r");
}

static void test_io_is_nil(void **state)
{
    assert_string_equal(type_of(*state, "io"), "nil");
}

static void test_os_is_nil(void **state)
{
    assert_string_equal(type_of(*state, "os"), "nil");
}

static void test_debug_is_nil(void **state)
{
    assert_string_equal(type_of(*state, "debug"), "nil");
}

static void test_package_is_nil(void **state)
{
    assert_string_equal(type_of(*state, "package"), "nil");
}

static void test_string_dump_is_nil_even_through_the_string_metatable(void **state)
{
    assert_string_equal(type_of(*state, "string.dump"), "nil");
    assert_string_equal(type_of(*state, "(\"\").dump"), "nil");
}

static void test_file_and_random_functions_are_nil(void **state)
{
    fixture *f = *state;
    run_ok(f, "vars{ r = table.concat({ type(dofile), type(loadfile), type(collectgarbage),\n"
              "  type(math.random), type(math.randomseed) }, \",\") }\n");
    assert_string_equal(var(f, "r"), "nil,nil,nil,nil,nil");
}

static void test_globals_are_exactly_the_allow_list(void **state)
{
    fixture *f = *state;
    run_ok(f, "local names = {}\n"
              "for k in pairs(_G) do names[#names + 1] = k end\n"
              "table.sort(names)\n"
              "vars{ r = table.concat(names, \" \") }\n");
    assert_string_equal(var(f, "r"),
                        "_G _VERSION assert coroutine error file flag getmetatable inject ipairs load math "
                        "network next objective pairs pcall print random rawequal rawget rawlen rawset require "
                        "role run scenario select setmetatable solution string table team tonumber tostring type user "
                        "utf8 vars vm xpcall");
}

static void test_require_of_a_parent_path_is_refused(void **state)
{
    fixture *f = *state;
    tu_write(f->dir, "../crange-outside.lua", "return {}\n");
    assert_int_equal(run(f, "local x = require \"../crange-outside\"\n"), CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:2: require: bad module name '../crange-outside' (use a dotted name like \"lib.helper\")");
    char *outside = cr_path_join(f->dir, "../crange-outside.lua");
    unlink(outside);
    free(outside);
}

static void test_require_of_a_symlink_leaving_the_folder_is_refused(void **state)
{
    fixture *f = *state;
    char *outside = tu_tmpdir();
    tu_write(outside, "evil.lua", "return { evil = true }\n");
    tu_write(f->dir, "lib/.keep", "");
    char *target = cr_path_join(outside, "evil.lua");
    char *link = cr_path_join(f->dir, "lib/evil.lua");
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(run(f, "local e = require \"lib.evil\"\n"), CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:2: require: module 'lib.evil': lib/evil.lua resolves outside the scenario folder");
    free(link);
    free(target);
    tu_rmtree(outside);
    free(outside);
}

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    (void)L;
    cr_buf_addn(ud, p, n);
    return 0;
}

/* Compiles SRC with a host-side state (which has string.dump's power) and
 * returns the bytecode in b. */
static void bytecode(cr_buf *b, const char *src)
{
    lua_State *L = luaL_newstate();
    assert_int_equal(luaL_loadstring(L, src), LUA_OK);
    assert_int_equal(lua_dump(L, dump_writer, b, 0), 0);
    lua_close(L);
    assert_true(b->len > 4 && b->data[0] == 27);
}

static void write_bytes(const char *dir, const char *rel, const cr_buf *b)
{
    tu_write(dir, rel, "");
    char *path = cr_path_join(dir, rel);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
    fclose(fp);
    free(path);
}

static void test_binary_scenario_lua_is_refused(void **state)
{
    fixture *f = *state;
    cr_buf b = {0};
    bytecode(&b, HEAD);
    write_bytes(f->dir, "scenario.lua", &b);
    cr_error_clear();
    assert_int_equal(cr_scenario_load(&f->s, f->dir, &f->opts), CR_EINVAL);
    assert_string_equal(cr_error_message(), "scenario.lua: attempt to load a binary chunk (mode is 't')");
    cr_buf_free(&b);
}

static void test_binary_module_is_refused(void **state)
{
    fixture *f = *state;
    cr_buf b = {0};
    bytecode(&b, "return {}");
    write_bytes(f->dir, "lib/bin.lua", &b);
    assert_int_equal(run(f, "local m = require \"lib.bin\"\n"), CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:2: require: module 'lib.bin': lib/bin.lua: attempt to load a binary chunk (mode is 't')");
    cr_buf_free(&b);
}

static void test_load_of_a_binary_string_returns_nil_and_an_error(void **state)
{
    fixture *f = *state;
    cr_buf b = {0}, body = {0};
    bytecode(&b, "return 42");
    /* The real bytecode, spelled as a Lua string literal in the script. */
    cr_buf_add(&body, "local code = \"");
    for (size_t i = 0; i < b.len; i++)
        cr_buf_addf(&body, "\\%u", (unsigned char)b.data[i]);
    cr_buf_add(&body, "\"\n"
                      "local f1, e1 = load(code)\n"
                      "local f2, e2 = load(code, \"x\", \"b\")\n"
                      "local f3, e3 = load(string.char(27) .. \"Lua\")\n"
                      "assert(f1 == nil and f2 == nil and f3 == nil)\n"
                      "vars{ e1 = e1, e2 = e2, e3 = e3 }\n");
    run_ok(f, body.data);
    assert_string_equal(var(f, "e1"), "attempt to load a binary chunk (mode is 't')");
    assert_string_equal(var(f, "e2"), "attempt to load a binary chunk (mode is 't')");
    assert_string_equal(var(f, "e3"), "attempt to load a binary chunk (mode is 't')");
    cr_buf_free(&b);
    cr_buf_free(&body);
}

static void test_load_runs_text_in_the_sandbox_environment(void **state)
{
    fixture *f = *state;
    run_ok(f, "local g = load(\"x = 40 + 2; return io, os, vm ~= nil\")\n"
              "local io_, os_, has_vm = g()\n"
              "assert(io_ == nil and os_ == nil and has_vm and x == 42)\n"
              "local own = load(\"return y\", \"chunk\", \"t\", { y = 7 })\n"
              "vars{ y = own() }\n");
    assert_string_equal(var(f, "y"), "7");
}

static void test_loaded_chunk_names_cannot_pose_as_scenario_files(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local g = load(\"error('boom')\", \"@fake.lua\")\n"
                            "g()\n"),
                     CR_EINVAL);
    assert_string_equal(cr_error_message(), "scenario.lua:3: [string \"load: @fake.lua\"]:1: boom");
}

/* "@@/etc/shadow" lost one '@' and became the chunk "@/etc/shadow": errors
 * then named /etc/shadow as the scenario file. A loaded chunk's name always
 * starts with "load: ", so it never reads as a file, and the position is the
 * scenario's. */
static void test_loaded_chunk_names_cannot_name_a_host_path(void **state)
{
    fixture *f = *state;
    /* A runtime error inside the loaded chunk. */
    assert_int_equal(run(f, "local g = load(\"error('boom')\", \"@@/etc/shadow\")\n"
                            "g()\n"),
                     CR_EINVAL);
    assert_string_equal(cr_error_message(), "scenario.lua:3: [string \"load: @@/etc/shadow\"]:1: boom");
    /* A syntax error, passed on by the scenario as its own error. */
    assert_int_equal(run(f, "local g, e = load(\"(\", \"@@/etc/shadow.lua\")\n"
                            "error(e, 0)\n"),
                     CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:3: [string \"load: @@/etc/shadow.lua\"]:1: unexpected symbol near <eof>");
    /* "=" names are the trusted ones; the code itself as the name too. */
    assert_int_equal(run(f, "local g, e = load(\"(\", \"=/etc/shadow.lua\")\n"
                            "error(e, 0)\n"),
                     CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:3: [string \"load: =/etc/shadow.lua\"]:1: unexpected symbol near <eof>");
    assert_int_equal(run(f, "local g, e = load(\"@@/etc/shadow.lua\")\n"
                            "error(e, 0)\n"),
                     CR_EINVAL);
    assert_string_equal(cr_error_message(),
                        "scenario.lua:3: [string \"load: @@/etc/shadow.lua\"]:1: unexpected symbol near '@'");
}

static void test_infinite_loop_hits_the_instruction_limit(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "while true do end\n"), CR_ELIMIT);
    assert_string_equal(cr_error_message(), "scenario.lua:2: instruction limit exceeded");
}

static void test_pcall_cannot_swallow_the_instruction_limit(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local n = 0\n"
                            "while true do\n"
                            "  pcall(function() while true do end end)\n"
                            "  n = n + 1\n"
                            "end\n"),
                     CR_ELIMIT);
    assert_non_null(strstr(cr_error_message(), "instruction limit exceeded"));
}

static void test_coroutines_share_the_instruction_limit(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local co = coroutine.wrap(function() while true do coroutine.yield() end end)\n"
                            "while true do co() end\n"),
                     CR_ELIMIT);
    assert_non_null(strstr(cr_error_message(), "instruction limit exceeded"));
}

static void test_memory_bomb_hits_the_memory_limit(void **state)
{
    fixture *f = *state;
    f->opts.instruction_limit = 0; /* the default: memory must run out first */
    assert_int_equal(run(f, "local t = {} for i = 1, 1e9 do t[i] = string.rep(\"x\", 1000) .. i end\n"), CR_ELIMIT);
    assert_string_equal(cr_error_message(), "scenario.lua:2: memory limit exceeded (8 MiB)");
}

static void test_one_huge_allocation_hits_the_memory_limit(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local s = string.rep(\"x\", 64 * 1024 * 1024)\n"), CR_ELIMIT);
    assert_string_equal(cr_error_message(), "scenario.lua:2: memory limit exceeded (8 MiB)");
}

/* C loops the count hook cannot see: each of these ran for over 60 s
 * before the library functions charged their range to the budget. */
static void test_string_rep_of_nothing_returns_at_once(void **state)
{
    fixture *f = *state;
    run_ok(f, "vars{ r = string.rep(\"\", 1e12) .. (\"\"):rep(1e12, \"\") .. string.rep(\"ab\", 2, \"-\") }\n");
    assert_string_equal(var(f, "r"), "ab-ab");
}

/* Each body stops at the instruction limit, within 5 s. */
static void all_hit_the_instruction_limit(fixture *f, const char *const *bombs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int64_t t0 = cr_now_ms();
        assert_int_equal(run(f, bombs[i]), CR_ELIMIT);
        assert_non_null(strstr(cr_error_message(), "instruction limit exceeded"));
        assert_true(cr_now_ms() - t0 < 5000);
    }
}

static void test_table_loops_over_a_named_range_hit_the_instruction_limit(void **state)
{
    fixture *f = *state;
    static const char *const bombs[] = {
        "local t = table.move({1}, 1, 1e12, 2, {})\n",
        "local t = table.move({}, -1e15, 1e15, 1)\n",
        "local t = setmetatable({}, { __len = function() return 1 << 53 end })\ntable.insert(t, 1, 0)\n",
        "local t = setmetatable({}, { __len = function() return 1 << 53 end })\ntable.remove(t, 1)\n",
        "local t = setmetatable({}, { __len = function() return 1 << 53 end })\ntable.sort(t)\n",
        "local t = setmetatable({}, { __index = function() return \"\" end })\nlocal s = table.concat(t, \"\", 1, 1e12)\n",
        "local t = {} for i = 1, 1000 do t[i] = i end\nfor i = 1, 1e6 do table.insert(t, 1, 0) end\n",
    };
    all_hit_the_instruction_limit(f, bombs, sizeof bombs / sizeof *bombs);
    /* Within the budget they work as Lua's own. */
    run_ok(f, "local t = {3, 1, 2}\ntable.insert(t, 1, 4)\ntable.sort(t)\nlocal m = table.move(t, 1, 4, 2, {})\n"
              "vars{ r = table.concat(t, \",\") .. \"/\" .. table.remove(t, 1) .. \"/\" .. table.concat(m, \",\", 2, 5) }\n");
    assert_string_equal(var(f, "r"), "1,2,3,4/1/1,2,3,4");
}

/* Lua's own matcher backtracks in C: ("a"):rep(3000):find("a*a*a*b") ran
 * over 60 s in validate; pattern.c charges its steps. */
static void test_backtracking_patterns_hit_the_instruction_limit(void **state)
{
    fixture *f = *state;
    static const char *const bombs[] = {
        "local r = ((\"a\"):rep(3000)):find(\"a*a*a*b\")\n",
        "local r = string.match(string.rep(\"a\", 3000), \".-.-.-b\")\n",
        "local r = (\"a\"):rep(3000):gsub(\"a*a*a*b\", \"\")\n",
        "for w in (\"a\"):rep(3000):gmatch(\"(.-)%1%1b\") do end\n",
        "local ok = pcall(string.find, (\"a\"):rep(3000), \"a*a*a*b\")\nwhile true do end\n",
    };
    all_hit_the_instruction_limit(f, bombs, sizeof bombs / sizeof *bombs);
    /* Within the budget they answer as Lua's own. */
    run_ok(f, "local a, b, c = (\"key = value\"):find(\"(%w+)%s*=%s*(%w+)\")\n"
              "local n = select(2, (\"a b c\"):gsub(\"%w\", \"%0%0\"))\n"
              "local t = {} for w in string.gmatch(\"one two\", \"%a+\") do t[#t + 1] = w end\n"
              "vars{ r = a .. b .. c .. \"/\" .. n .. \"/\" .. table.concat(t, \",\") .. \"/\" .. (\"(x)\"):match(\"%b()\") }\n");
    assert_string_equal(var(f, "r"), "111key/3/one,two/(x)");
}

static void test_a_gc_finalizer_is_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(run(f, "local t = setmetatable({}, { __gc = function() while true do end end })\n"), CR_EINVAL);
    assert_non_null(strstr(cr_error_message(), "scenario.lua:2: setmetatable: a __gc finalizer is not allowed"));
    /* Added later, __gc does not make a finalizer (Lua 5.4), so it may stay. */
    run_ok(f, "local mt = {}\nlocal t = setmetatable({}, mt)\nmt.__gc = function() while true do end end\nt = nil\n");
}

static void test_print_does_not_crash(void **state)
{
    fixture *f = *state;
    run_ok(f, "print()\n"
              "print(nil, true, 1, 2.5, \"text\", {}, print, team)\n"
              "print(setmetatable({}, { __tostring = function() return \"custom\" end }))\n"
              "print(network{ name = \"lan\", cidr = \"10.1.0.0/24\" })\n");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_io_is_nil),
        T(test_os_is_nil),
        T(test_debug_is_nil),
        T(test_package_is_nil),
        T(test_string_dump_is_nil_even_through_the_string_metatable),
        T(test_file_and_random_functions_are_nil),
        T(test_globals_are_exactly_the_allow_list),
        T(test_require_of_a_parent_path_is_refused),
        T(test_require_of_a_symlink_leaving_the_folder_is_refused),
        T(test_binary_scenario_lua_is_refused),
        T(test_binary_module_is_refused),
        T(test_load_of_a_binary_string_returns_nil_and_an_error),
        T(test_load_runs_text_in_the_sandbox_environment),
        T(test_loaded_chunk_names_cannot_pose_as_scenario_files),
        T(test_loaded_chunk_names_cannot_name_a_host_path),
        T(test_infinite_loop_hits_the_instruction_limit),
        T(test_pcall_cannot_swallow_the_instruction_limit),
        T(test_coroutines_share_the_instruction_limit),
        T(test_memory_bomb_hits_the_memory_limit),
        T(test_one_huge_allocation_hits_the_memory_limit),
        T(test_string_rep_of_nothing_returns_at_once),
        T(test_table_loops_over_a_named_range_hit_the_instruction_limit),
        T(test_backtracking_patterns_hit_the_instruction_limit),
        T(test_a_gc_finalizer_is_refused),
        T(test_print_does_not_crash),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
