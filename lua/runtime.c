/*
 * runtime.c: cr_runtime (runtime.h). One team's scenario state, evaluated
 * once by eval.c exactly as cr_scenario_load evaluates that team, then kept:
 * the functions the scenario declared are pinned with registry references,
 * one per objective check, inject condition and action, and the solution.
 *
 * Each call gets a fresh `ctx` (prelude.lua), the guest operations and its
 * permissions in the registry (guest.h), and the sandbox's per-call limits:
 * a fresh instruction budget and a wall-clock deadline (sandbox.h). Whatever
 * the call does, the stack is restored, the limits are reset and the call
 * context is cleared before returning, so a failed call leaves the runtime
 * usable.
 *
 * Decisions the header leaves open: timeout_s <= 0 means
 * CR_RUNTIME_DEFAULT_TIMEOUT_S; cr_runtime_inject_when on an inject fired by
 * time (no `when`) returns CR_EINVAL; a `run` command that exits non-zero
 * makes cr_runtime_inject_fire fail and skips the action.
 */
#include "runtime.h"

#include "err.h"
#include "eval.h"
#include "guest.h"
#include "lang.h"
#include "sandbox.h"
#include "util.h"

#include <lauxlib.h>
#include <sodium.h>

#include <stdlib.h>
#include <string.h>

#define CR_RUNTIME_DEFAULT_TIMEOUT_S 30

struct cr_runtime {
    cr_sandbox *sb;
    cr_scenario *s; /* the scenario-wide fields; teams[0] is this team (no digest) */
    int *checks;    /* registry references, per objective */
    int *whens;     /* per inject; LUA_NOREF when absent */
    int *actions;   /* per inject; LUA_NOREF when absent */
    int solution;   /* LUA_NOREF when absent */
};

static cr_scenario *new_scenario(const char *dir)
{
    cr_scenario *s = cr_xcalloc(1, sizeof *s);
    s->dir = cr_xstrdup(dir);
    s->teams = cr_xcalloc(1, sizeof *s->teams);
    s->n_teams = 1;
    return s;
}

/* The team count when the caller leaves it to the scenario: what team 1's
 * run says, the way cr_scenario_load learns it. */
static int default_count(int *count, const char *dir, const cr_load_opts *opts)
{
    cr_scenario *probe = new_scenario(dir);
    int rc = cr_eval_team(probe, &probe->teams[0], 1, 0, opts, NULL);
    if (rc == 0)
        *count = probe->default_teams;
    cr_scenario_free(probe);
    return rc;
}

/* Pins decl[list][i][key] for i < n when it is a function. */
static void take_refs(lua_State *L, int decl, const char *list, const char *key, int *refs, size_t n)
{
    lua_getfield(L, decl, list);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, -1, (lua_Integer)i + 1);
        lua_getfield(L, -1, key);
        if (lua_type(L, -1) == LUA_TFUNCTION)
            refs[i] = luaL_ref(L, LUA_REGISTRYINDEX);
        else
            lua_pop(L, 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* collect_refs(rt): a protected C function. */
static int collect_refs(lua_State *L)
{
    cr_runtime *rt = lua_touserdata(L, 1);
    const cr_team_model *t = &rt->s->teams[0];
    cr_lang_push_declarations(L);
    int decl = lua_gettop(L);
    take_refs(L, decl, "objectives", "check", rt->checks, t->n_objectives);
    take_refs(L, decl, "injects", "when", rt->whens, t->n_injects);
    take_refs(L, decl, "injects", "action", rt->actions, t->n_injects);
    lua_getfield(L, decl, "solution");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "fn");
        rt->solution = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    lua_pop(L, 1);
    return 0;
}

static int *new_refs(size_t n)
{
    int *r = cr_xcalloc(n ? n : 1, sizeof *r);
    for (size_t i = 0; i < n; i++)
        r[i] = LUA_NOREF;
    return r;
}

int cr_runtime_open(cr_runtime **out, const char *path, int team, const cr_load_opts *opts,
                    const cr_team_model **model)
{
    static const cr_load_opts defaults = {0};
    int rc;
    cr_runtime *rt = NULL;
    char *dir = NULL;
    *out = NULL;
    if (model)
        *model = NULL;
    if (!opts)
        opts = &defaults;
    rc = cr_eval_dir(&dir, path, opts);
    if (rc < 0)
        goto cleanup;
    int count = opts->teams;
    if (count == 0 && team > 1) {
        rc = default_count(&count, dir, opts);
        if (rc < 0)
            goto cleanup;
    }
    if (team < 1 || (count > 0 && team > count)) {
        rc = cr_error_set(CR_EINVAL, "%s: no team %d (the range has %d)", path, team, count > 0 ? count : 1);
        goto cleanup;
    }

    rt = cr_xcalloc(1, sizeof *rt);
    rt->solution = LUA_NOREF;
    rt->s = new_scenario(dir);
    rc = cr_eval_team(rt->s, &rt->s->teams[0], team, count, opts, &rt->sb);
    if (rc < 0)
        goto cleanup;
    const cr_team_model *t = &rt->s->teams[0];
    rt->checks = new_refs(t->n_objectives);
    rt->whens = new_refs(t->n_injects);
    rt->actions = new_refs(t->n_injects);
    lua_State *L = cr_sandbox_lua(rt->sb);
    cr_sandbox_call_begin(rt->sb, 0); /* not on the script's budget */
    lua_pushcfunction(L, collect_refs);
    lua_pushlightuserdata(L, rt);
    rc = cr_sandbox_pcall(rt->sb, 1, 0);
    cr_sandbox_call_end(rt->sb);
    if (rc < 0)
        goto cleanup;
    if (model)
        *model = t;
    *out = rt;
    rt = NULL;
cleanup:
    cr_runtime_free(rt);
    free(dir);
    return rc;
}

void cr_runtime_free(cr_runtime *rt)
{
    if (!rt)
        return;
    cr_sandbox_free(rt->sb);
    cr_scenario_free(rt->s);
    free(rt->checks);
    free(rt->whens);
    free(rt->actions);
    free(rt);
}

/* call_fn(ref): a protected C function; returns what the function returned. */
static int call_fn(lua_State *L)
{
    lua_Debug ar;
    lua_rawgeti(L, LUA_REGISTRYINDEX, lua_tointeger(L, 1));
    lua_pushvalue(L, -1);
    if (lua_getinfo(L, ">S", &ar) && ar.source && ar.source[0] == '@')
        cr_sandbox_set_origin(L, ar.source + 1, ar.linedefined);
    cr_lang_push_context(L);
    lua_call(L, 1, 1);
    return 1;
}

/* Why a result other than true does not count. */
static char *returned_text(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL: return cr_xstrdup("returned nil");
    case LUA_TBOOLEAN: return cr_xstrdup("returned false");
    default: return cr_xasprintf("returned a %s (only true counts)", luaL_typename(L, idx));
    }
}

/*
 * Calls the function pinned at REF with a fresh ctx, under the per-call
 * limits. Returns 0 when it returned: *is_true says whether it returned
 * exactly true, and *reason (the caller's to free) why not. Returns a
 * negative code when it failed: *reason is "FILE:LINE: message".
 */
static int call(cr_runtime *rt, int ref, const cr_guest_ops *ops, bool solution, int timeout_s, bool *is_true,
                char **reason)
{
    lua_State *L = cr_sandbox_lua(rt->sb);
    int top = lua_gettop(L);
    cr_guest_call gc = {.ops = ops, .may_submit = solution, .team = rt->s->teams[0].number};
    *is_true = false;
    *reason = NULL;
    cr_guest_set_call(L, &gc);
    int limit_s = timeout_s > 0 ? timeout_s : CR_RUNTIME_DEFAULT_TIMEOUT_S;
    int64_t start = cr_now_ms();
    cr_sandbox_call_begin(rt->sb, limit_s);
    lua_pushcfunction(L, call_fn);
    lua_pushinteger(L, ref);
    int rc = cr_sandbox_pcall_reason(rt->sb, 1, 1, reason);
    if (rc == 0) {
        *is_true = lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1);
        if (!*is_true)
            *reason = returned_text(L, -1);
    }
    /* The hook sees the clock only between Lua instructions: a long C call
     * (a backtracking pattern, say) can run past the limit and return true
     * just after. Measured: `run --once --check-timeout 1` once scored such
     * a check "met" after 101 s. Late is never met. */
    int64_t took = cr_now_ms() - start;
    if (rc == 0 && took > (int64_t)limit_s * 1000) {
        *is_true = false;
        free(*reason);
        *reason = cr_xasprintf("timed out after %d s (it returned after %.1f s)", limit_s, (double)took / 1000.0);
    }
    lua_settop(L, top);
    cr_sandbox_call_end(rt->sb);
    cr_guest_set_call(L, NULL);
    return rc;
}

static const cr_inject *find_inject(const cr_runtime *rt, const char *id, size_t *idx)
{
    const cr_team_model *t = &rt->s->teams[0];
    for (size_t i = 0; i < t->n_injects; i++) {
        if (!strcmp(t->injects[i].id, id)) {
            *idx = i;
            return &t->injects[i];
        }
    }
    return NULL;
}

/* The outcome of a condition: held or not, and why not. */
static void condition(cr_runtime *rt, int ref, const cr_guest_ops *ops, int timeout_s, bool *holds, char **reason)
{
    char *why = NULL;
    call(rt, ref, ops, false, timeout_s, holds, &why);
    if (reason)
        *reason = why;
    else
        free(why);
}

int cr_runtime_check(cr_runtime *rt, const char *id, const cr_guest_ops *ops, int timeout_s, bool *met,
                     char **reason)
{
    const cr_team_model *t = &rt->s->teams[0];
    *met = false;
    if (reason)
        *reason = NULL;
    const cr_objective *o = cr_team_objective(t, id);
    if (!o)
        return cr_error_set(CR_ENOTFOUND, "objective '%s' does not exist", id);
    int ref = rt->checks[o - t->objectives];
    if (ref == LUA_NOREF) {
        if (reason)
            *reason = cr_xstrdup("no check function");
        return 0;
    }
    condition(rt, ref, ops, timeout_s, met, reason);
    return 0;
}

int cr_runtime_inject_when(cr_runtime *rt, const char *id, const cr_guest_ops *ops, int timeout_s, bool *holds,
                           char **reason)
{
    size_t i = 0;
    *holds = false;
    if (reason)
        *reason = NULL;
    const cr_inject *in = find_inject(rt, id, &i);
    if (!in)
        return cr_error_set(CR_ENOTFOUND, "inject '%s' does not exist", id);
    if (rt->whens[i] == LUA_NOREF)
        return cr_error_set(CR_EINVAL, "inject '%s' has no when condition (it fires at %d s)", id, in->at_s);
    condition(rt, rt->whens[i], ops, timeout_s, holds, reason);
    return 0;
}

/* The first line of a command's stderr, shortened, for a message. */
static void first_line(char *out, size_t n, const cr_exec_result *res)
{
    const char *e = res->err ? res->err : "";
    size_t len = strcspn(e, "\n");
    if (len > 200)
        len = 200;
    snprintf(out, n, "%s%.*s", len ? ": " : "", (int)len, e);
}

/* Runs the inject's `run` command; a failure names the inject's declaration. */
static int run_command(const cr_inject *in, const cr_guest_ops *ops, int timeout_s)
{
    int rc;
    cr_exec_result res = {0};
    const char *file = in->where.file ? in->where.file : "scenario.lua";
    char detail[256];
    if (!ops || !ops->exec)
        return cr_error_set(CR_EINVAL, "%s:%d: inject '%s': no guest operations to run its command", file,
                            in->where.line, in->id);
    cr_error_clear(); /* the message read below must be the operation's */
    rc = ops->exec(ops->ctx, in->vm, (const char *const *)in->argv, NULL, 0, timeout_s, &res);
    if (rc < 0) {
        snprintf(detail, sizeof detail, "%s", cr_error_message());
        cr_error_clear();
        rc = cr_error_set(rc, "%s:%d: inject '%s': run on vm '%s': %s", file, in->where.line, in->id, in->vm,
                          detail);
    } else if (res.signal || res.exit_code) {
        first_line(detail, sizeof detail, &res);
        if (res.signal)
            rc = cr_error_set(CR_ERROR, "%s:%d: inject '%s': run on vm '%s' was killed by signal %d%s", file,
                              in->where.line, in->id, in->vm, res.signal, detail);
        else
            rc = cr_error_set(CR_ERROR, "%s:%d: inject '%s': run on vm '%s' exited with code %d%s", file,
                              in->where.line, in->id, in->vm, res.exit_code, detail);
    }
    cr_exec_result_free(&res);
    return rc;
}

int cr_runtime_inject_fire(cr_runtime *rt, const char *id, const cr_guest_ops *ops, int timeout_s)
{
    size_t i = 0;
    int rc = 0;
    const cr_inject *in = find_inject(rt, id, &i);
    if (!in)
        return cr_error_set(CR_ENOTFOUND, "inject '%s' does not exist", id);
    if (timeout_s <= 0)
        timeout_s = CR_RUNTIME_DEFAULT_TIMEOUT_S;
    int64_t start = cr_now_ms();
    if (in->argv) {
        rc = run_command(in, ops, timeout_s);
        if (rc < 0)
            return rc;
    }
    if (rt->actions[i] != LUA_NOREF) {
        /* The command and the action share the inject's time. */
        int left = timeout_s - (int)((cr_now_ms() - start) / 1000);
        bool ignored;
        char *why = NULL;
        rc = call(rt, rt->actions[i], ops, false, left > 0 ? left : 1, &ignored, &why);
        if (rc < 0)
            cr_error_set(rc, "%s", why);
        free(why);
    }
    return rc;
}

int cr_runtime_solution(cr_runtime *rt, const cr_guest_ops *ops, int timeout_s)
{
    if (rt->solution == LUA_NOREF)
        return cr_error_set(CR_ENOTFOUND, "%s: the scenario has no solution", rt->s->id);
    bool ignored;
    char *why = NULL;
    int rc = call(rt, rt->solution, ops, true, timeout_s, &ignored, &why);
    if (rc < 0)
        cr_error_set(rc, "%s", why);
    free(why);
    return rc;
}
