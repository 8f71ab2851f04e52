/*
 * pattern.h: Lua 5.4's string patterns (string.find, match, gmatch, gsub)
 * with a step budget.
 *
 * Lua's own matcher backtracks in C, where the sandbox's count hook never
 * runs: ("a"):rep(3000):find("a*a*a*b") ran for over a minute in `validate`
 * (measured; stopped there). This matcher follows the same semantics (the
 * reference manual's §6.4.1, including %b, %f, position captures and
 * back-references) but counts its steps (one a pattern item tried at one
 * position, one a character compared or copied) and hands them to the
 * caller's charge function every few thousand, so the sandbox's instruction
 * limit and deadline end a runaway match like any other script.
 *
 * cr_pattern_install replaces find, match, gmatch and gsub in the table at
 * index idx (the string library). charge is called with the steps spent and
 * may raise a Lua error; it must stay valid as long as the state lives.
 */
#ifndef CRANGE_PATTERN_H
#define CRANGE_PATTERN_H

#include <lua.h>

typedef struct cr_pattern_charge {
    void (*fn)(lua_State *L, lua_Unsigned steps);
} cr_pattern_charge;

void cr_pattern_install(lua_State *L, int idx, const cr_pattern_charge *charge);

#endif
