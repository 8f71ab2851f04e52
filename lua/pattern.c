/*
 * pattern.c: the step-counting pattern matcher of pattern.h.
 *
 * The matcher is a backtracking recursive descent over the pattern, as the
 * reference manual describes patterns (§6.4.1): single-character classes,
 * sets, the quantifiers * + - ?, anchors, captures (position captures too),
 * %b, %f and back-references %1-%9. Recursion depth is bounded (MAX_DEPTH,
 * "pattern too complex") and so is work: every step goes to the budget, and
 * the caller's charge function raises the sandbox's limit errors. Nothing is
 * allocated outside the Lua stack, so an error raised mid-match leaks nothing.
 */
#include "pattern.h"

#include <lauxlib.h>

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define ESC '%'
#define SPECIALS "^$*+?.([%-"
#define MAX_CAPTURES 32
#define MAX_DEPTH 200         /* as Lua's MAXCCALLS for patterns */
#define CHARGE_EVERY 4096     /* steps between two calls of the charge function */
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)

typedef struct match_state {
    const char *src_init;
    const char *src_end;
    const char *p_end;
    lua_State *L;
    const cr_pattern_charge *charge;
    lua_Unsigned steps; /* not yet charged */
    int depth;          /* recursion left */
    int level;          /* captures open or closed */
    struct {
        const char *init;
        ptrdiff_t len; /* or CAP_UNFINISHED, CAP_POSITION */
    } capture[MAX_CAPTURES];
} match_state;

static void step(match_state *ms, lua_Unsigned n)
{
    ms->steps += n;
    if (ms->steps >= CHARGE_EVERY) {
        lua_Unsigned s = ms->steps;
        ms->steps = 0;
        ms->charge->fn(ms->L, s);
    }
}

/* Charges what is left; called once a function has its answer. */
static void settle(match_state *ms)
{
    lua_Unsigned s = ms->steps;
    ms->steps = 0;
    if (s)
        ms->charge->fn(ms->L, s);
}

static void state_init(match_state *ms, lua_State *L, const char *s, size_t ls, const char *p, size_t lp)
{
    ms->L = L;
    ms->charge = lua_touserdata(L, lua_upvalueindex(1));
    ms->steps = 0;
    ms->src_init = s;
    ms->src_end = s + ls;
    ms->p_end = p + lp;
}

static void state_reset(match_state *ms)
{
    ms->level = 0;
    ms->depth = MAX_DEPTH;
}

/* ------------------------------------------------------------ classes */

/* The end of the single-character class starting at p. */
static const char *item_end(match_state *ms, const char *p)
{
    if (*p == ESC) {
        if (p + 1 >= ms->p_end)
            luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 2;
    }
    if (*p++ == '[') {
        if (p < ms->p_end && *p == '^')
            p++;
        do { /* the first ']' right after '[' or '[^' is a member */
            if (p >= ms->p_end)
                luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*p++ == ESC && p < ms->p_end)
                p++;
        } while (p >= ms->p_end || *p != ']');
        return p + 1;
    }
    return p;
}

static int class_match(int c, int cl)
{
    int r;
    switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated in Lua, still there */
    default: return cl == c;
    }
    if (isupper(cl))
        r = !r;
    return r != 0;
}

/* c against the set [ ... ] from p ('[') to ec (its ']'). */
static int set_match(int c, const char *p, const char *ec)
{
    int in = 1;
    if (*(p + 1) == '^') {
        in = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == ESC) {
            p++;
            if (class_match(c, (unsigned char)*p))
                return in;
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if ((unsigned char)*(p - 2) <= c && c <= (unsigned char)*p)
                return in;
        } else if ((unsigned char)*p == c) {
            return in;
        }
    }
    return !in;
}

/* Whether the character at s matches the single-character class p..ep. */
static int single_match(match_state *ms, const char *s, const char *p, const char *ep)
{
    step(ms, 1);
    if (s >= ms->src_end)
        return 0;
    int c = (unsigned char)*s;
    switch (*p) {
    case '.': return 1;
    case ESC: return class_match(c, (unsigned char)*(p + 1));
    case '[': step(ms, (lua_Unsigned)(ep - p)); return set_match(c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

/* ------------------------------------------------------------ matching */

static const char *match(match_state *ms, const char *s, const char *p);

static const char *balance(match_state *ms, const char *s, const char *p)
{
    if (p + 1 >= ms->p_end)
        luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->src_end || *s != *p)
        return NULL;
    int open = *p, close = *(p + 1), depth = 1;
    while (++s < ms->src_end) {
        step(ms, 1);
        if (*s == close) {
            if (--depth == 0)
                return s + 1;
        } else if (*s == open) {
            depth++;
        }
    }
    return NULL;
}

/* Greedy: as many as match, then back off one at a time. */
static const char *max_expand(match_state *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (single_match(ms, s + i, p, ep))
        i++;
    for (; i >= 0; i--) {
        const char *r = match(ms, s + i, ep + 1);
        if (r)
            return r;
    }
    return NULL;
}

/* Lazy: as few as let the rest match. */
static const char *min_expand(match_state *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = match(ms, s, ep + 1);
        if (r)
            return r;
        if (!single_match(ms, s, p, ep))
            return NULL;
        s++;
    }
}

static const char *capture_open(match_state *ms, const char *s, const char *p, ptrdiff_t what)
{
    if (ms->level >= MAX_CAPTURES)
        luaL_error(ms->L, "too many captures");
    ms->capture[ms->level].init = s;
    ms->capture[ms->level].len = what;
    ms->level++;
    const char *r = match(ms, s, p);
    if (!r)
        ms->level--;
    return r;
}

static const char *capture_close(match_state *ms, const char *s, const char *p)
{
    int l = ms->level - 1;
    while (l >= 0 && ms->capture[l].len != CAP_UNFINISHED)
        l--;
    if (l < 0)
        luaL_error(ms->L, "invalid pattern capture");
    ms->capture[l].len = s - ms->capture[l].init;
    const char *r = match(ms, s, p);
    if (!r)
        ms->capture[l].len = CAP_UNFINISHED;
    return r;
}

/* %1-%9: the text of a closed capture again. */
static const char *back_reference(match_state *ms, const char *s, int digit)
{
    int l = digit - '1';
    if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
        luaL_error(ms->L, "invalid capture index %%%d", l + 1);
    if (ms->capture[l].len == CAP_POSITION)
        return NULL; /* as in Lua: a position is no text */
    size_t len = (size_t)ms->capture[l].len;
    step(ms, len);
    if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0)
        return s + len;
    return NULL;
}

/* The end of the match of pattern p at s, or NULL. */
static const char *match(match_state *ms, const char *s, const char *p)
{
    if (ms->depth-- == 0)
        luaL_error(ms->L, "pattern too complex");
    for (;;) {
        step(ms, 1);
        if (p == ms->p_end)
            break;
        if (*p == '(') {
            s = *(p + 1) == ')' ? capture_open(ms, s, p + 2, CAP_POSITION) : capture_open(ms, s, p + 1, CAP_UNFINISHED);
            break;
        }
        if (*p == ')') {
            s = capture_close(ms, s, p + 1);
            break;
        }
        if (*p == '$' && p + 1 == ms->p_end) {
            if (s != ms->src_end)
                s = NULL;
            break;
        }
        if (*p == ESC && p + 1 < ms->p_end && *(p + 1) == 'b') {
            s = balance(ms, s, p + 2);
            if (!s)
                break;
            p += 4;
            continue;
        }
        if (*p == ESC && p + 1 < ms->p_end && *(p + 1) == 'f') {
            p += 2;
            if (p >= ms->p_end || *p != '[')
                luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            const char *ep = item_end(ms, p);
            int prev = s == ms->src_init ? 0 : (unsigned char)*(s - 1);
            int cur = s < ms->src_end ? (unsigned char)*s : 0;
            if (!set_match(prev, p, ep - 1) && set_match(cur, p, ep - 1)) {
                p = ep;
                continue;
            }
            s = NULL;
            break;
        }
        if (*p == ESC && p + 1 < ms->p_end && isdigit((unsigned char)*(p + 1))) {
            s = back_reference(ms, s, *(p + 1));
            if (!s)
                break;
            p += 2;
            continue;
        }
        /* A single-character class, maybe with a quantifier. */
        const char *ep = item_end(ms, p);
        step(ms, (lua_Unsigned)(ep - p));
        int q = ep < ms->p_end ? *ep : 0;
        if (!single_match(ms, s, p, ep)) {
            if (q == '*' || q == '?' || q == '-') {
                p = ep + 1;
                continue;
            }
            s = NULL;
            break;
        }
        if (q == '?') {
            const char *r = match(ms, s + 1, ep + 1);
            if (r) {
                s = r;
                break;
            }
            p = ep + 1;
            continue;
        }
        if (q == '+') {
            s = max_expand(ms, s + 1, p, ep);
            break;
        }
        if (q == '*') {
            s = max_expand(ms, s, p, ep);
            break;
        }
        if (q == '-') {
            s = min_expand(ms, s, p, ep);
            break;
        }
        s++;
        p = ep;
    }
    ms->depth++;
    return s;
}

/* ------------------------------------------------------------ results */

/* Pushes capture i (the whole match s..e when there are none and i is 0). */
static void push_capture(match_state *ms, int i, const char *s, const char *e)
{
    if (i >= ms->level) {
        if (i != 0)
            luaL_error(ms->L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(ms->L, s, (size_t)(e - s));
        return;
    }
    ptrdiff_t l = ms->capture[i].len;
    if (l == CAP_UNFINISHED)
        luaL_error(ms->L, "unfinished capture");
    if (l == CAP_POSITION)
        lua_pushinteger(ms->L, (ms->capture[i].init - ms->src_init) + 1);
    else
        lua_pushlstring(ms->L, ms->capture[i].init, (size_t)l);
}

/* Pushes every capture, or the whole match when s is given and there is
 * none; returns how many. */
static int push_captures(match_state *ms, const char *s, const char *e)
{
    int n = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++)
        push_capture(ms, i, s, e);
    return n;
}

/* Lua's position rules: negative counts from the end, 0 is 1. */
static size_t start_index(lua_Integer pos, size_t len)
{
    if (pos > 0)
        return (size_t)pos;
    if (pos == 0 || pos < -(lua_Integer)len)
        return 1;
    return len + (size_t)pos + 1;
}

static int no_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr(SPECIALS, p[i]))
            return 0;
    return 1;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    match_state ms;
    state_init(&ms, L, s, ls, p, lp);
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || no_specials(p, lp))) {
        step(&ms, ls - init);
        settle(&ms);
        const char *f = lp == 0 ? s + init : memmem(s + init, ls - init, p, lp);
        if (f) {
            lua_pushinteger(L, (f - s) + 1);
            lua_pushinteger(L, (lua_Integer)((size_t)(f - s) + lp));
            return 2;
        }
        luaL_pushfail(L);
        return 1;
    }
    int anchor = lp > 0 && *p == '^';
    if (anchor)
        p++;
    const char *s1 = s + init;
    do {
        state_reset(&ms);
        const char *e = match(&ms, s1, p);
        if (e) {
            settle(&ms);
            if (find) {
                lua_pushinteger(L, (s1 - s) + 1);
                lua_pushinteger(L, e - s);
                return push_captures(&ms, NULL, NULL) + 2;
            }
            return push_captures(&ms, s1, e);
        }
    } while (s1++ < ms.src_end && !anchor);
    settle(&ms);
    luaL_pushfail(L);
    return 1;
}

static int p_find(lua_State *L)
{
    return find_aux(L, 1);
}

static int p_match(lua_State *L)
{
    return find_aux(L, 0);
}

/* gmatch's iterator state: a userdata kept as the iterator's upvalue 2,
 * next to the subject (3) and the pattern (4), which keep its pointers
 * valid. */
typedef struct gmatch_state {
    const char *src;
    const char *last; /* end of the last match; an empty match there is skipped */
    const char *p;
    bool done;        /* past the end: no more matches */
    match_state ms;
} gmatch_state;

static int gmatch_next(lua_State *L)
{
    gmatch_state *gm = lua_touserdata(L, lua_upvalueindex(2));
    gm->ms.L = L;
    for (const char *src = gm->src; !gm->done && src <= gm->ms.src_end; src++) {
        state_reset(&gm->ms);
        const char *e = match(&gm->ms, src, gm->p);
        if (e && e != gm->last) {
            gm->src = gm->last = e;
            settle(&gm->ms);
            return push_captures(&gm->ms, src, e);
        }
    }
    gm->done = true;
    settle(&gm->ms);
    return 0;
}

static int p_gmatch(lua_State *L)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_index(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);
    gmatch_state *gm = lua_newuserdatauv(L, sizeof *gm, 0);
    state_init(&gm->ms, L, s, ls, p, lp);
    gm->done = init > ls; /* an iterator that ends at once */
    gm->src = s + (gm->done ? ls : init);
    gm->last = NULL;
    gm->p = p;
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, -2);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, gmatch_next, 4);
    return 1;
}

/* Appends the replacement string (argument 3) for the match s..e. */
static void add_string(match_state *ms, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    const char *r = lua_tolstring(ms->L, 3, &l);
    const char *end = r + l;
    step(ms, l);
    while (r < end) {
        const char *esc = memchr(r, ESC, (size_t)(end - r));
        if (!esc) {
            luaL_addlstring(b, r, (size_t)(end - r));
            break;
        }
        luaL_addlstring(b, r, (size_t)(esc - r));
        esc++;
        if (esc < end && *esc == ESC) {
            luaL_addchar(b, ESC);
        } else if (esc < end && *esc == '0') {
            step(ms, (lua_Unsigned)(e - s));
            luaL_addlstring(b, s, (size_t)(e - s));
        } else if (esc < end && isdigit((unsigned char)*esc)) {
            push_capture(ms, *esc - '1', s, e);
            luaL_tolstring(ms->L, -1, NULL); /* a position capture is a number */
            lua_remove(ms->L, -2);
            step(ms, (lua_Unsigned)lua_rawlen(ms->L, -1));
            luaL_addvalue(b);
        } else {
            luaL_error(ms->L, "invalid use of '%c' in replacement string", ESC);
        }
        r = esc + 1;
    }
}

/* Appends the replacement for s..e; returns whether the text changed. */
static int add_value(match_state *ms, luaL_Buffer *b, const char *s, const char *e, int type)
{
    lua_State *L = ms->L;
    if (type == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
    } else if (type == LUA_TTABLE) {
        push_capture(ms, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_string(ms, b, s, e);
        return 1;
    }
    if (!lua_toboolean(L, -1)) { /* nil or false: keep the original text */
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
        return 0;
    }
    if (!lua_isstring(L, -1))
        return luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return 1;
}

static int p_gsub(lua_State *L)
{
    size_t ls, lp;
    const char *src = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *last = NULL;
    int type = lua_type(L, 3);
    lua_Integer max = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
    luaL_argexpected(L, type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION || type == LUA_TTABLE, 3,
                     "string/function/table");
    match_state ms;
    state_init(&ms, L, src, ls, p, lp);
    int anchor = lp > 0 && *p == '^';
    if (anchor)
        p++;
    lua_Integer n = 0;
    int changed = 0;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (n < max) {
        state_reset(&ms);
        const char *e = match(&ms, src, p);
        if (e && e != last) {
            n++;
            changed = add_value(&ms, &b, src, e, type) | changed;
            src = last = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor)
            break;
    }
    settle(&ms);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

void cr_pattern_install(lua_State *L, int idx, const cr_pattern_charge *charge)
{
    static const luaL_Reg funcs[] = {
        {"find", p_find}, {"match", p_match}, {"gmatch", p_gmatch}, {"gsub", p_gsub}, {NULL, NULL},
    };
    idx = lua_absindex(L, idx);
    for (const luaL_Reg *f = funcs; f->name; f++) {
        lua_pushlightuserdata(L, (void *)charge);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, idx, f->name);
    }
}
